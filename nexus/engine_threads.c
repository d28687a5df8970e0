/*
 * engine_threads.c — the three thread bodies (see engine.h) and what runs
 * on each: the network thread's loop (connections, heartbeats, people's
 * calls onto the market ring), the engine thread's per-event sequence
 * (desk, cortex, commands) with the journal it feeds, and the service
 * thread's loop (storage writer, scheduler, chat, the stats line).
 */
#include "engine.h"

#include "nx/error.h"
#include "nx/event_json.h"
#include "nx/fixed.h"
#include "nx/log.h"
#include "nx/sched.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define BATCH 256

static void pin(const char *who, int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    if (rc)
        NX_WARN("engine", "cannot pin %s thread to cpu %d: %s", who, cpu, strerror(rc));
}

void engine_sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec ts = {ns / NX_NS_PER_SEC, ns % NX_NS_PER_SEC};
    nanosleep(&ts, NULL);
}

/* Network thread: every venue connection, and the heartbeat timer. */
void *engine_network_main(void *arg)
{
    nx_engine_t *e = arg;
    pin("network", e->cfg->engine.network_cpu);
    for (uint32_t i = 0; i < e->n_feeds; i++)
        nx_feed_start(e->feeds[i]);
    engine_live_start(e);
    nx_ring_consumer_t *oc = nx_ring_consumer(e->orders, 0);
    int64_t period = (int64_t)e->cfg->engine.heartbeat_ms * NX_NS_PER_MS;
    int64_t next = nx_mono_ns() + period;
    uint64_t tick = 0;
    while (!atomic_load_explicit(&e->stop, memory_order_acquire)) {
        int64_t now = nx_mono_ns();
        if (now >= next) {
            uint64_t seq;
            if (nx_bus_claim(e->market, 1, &seq) == 1) {
                nx_event_t *ev = nx_bus_event(e->market, seq);
                ev->hdr.type = NX_EV_TIMER;
                ev->hdr.venue = 0;
                ev->hdr.symbol = NX_SYMBOL_NONE;
                ev->hdr.exch_ns = 0;
                ev->hdr.recv_ns = nx_clock_now(&e->clock);
                ev->u.timer.deadline_ns = ev->hdr.recv_ns;
                ev->u.timer.tick = tick++;
                ev->u.timer.timer_id = 0;
                nx_ring_publish(e->market, seq + 1);
            }
            next += period;
            if (next < now)
                next = now + period; /* we were descheduled: do not burst */
        }
        if (atomic_load_explicit(&e->calls_queued, memory_order_acquire))
            engine_publish_calls(e);
        /* Drain the order ring: the desk trades on the paper venue inside
         * the engine thread, so nothing is sent from here yet; live venue
         * adapters will send what arrives here. */
        uint64_t s;
        uint32_t n = nx_ring_poll(e->orders, oc, BATCH, &s);
        if (n)
            nx_ring_release(oc, s + n);
        int64_t left = next - nx_mono_ns();
        if (left > 10 * NX_NS_PER_MS)
            left = 10 * NX_NS_PER_MS;
        if (e->net)
            nx_net_service(e->net, left > NX_NS_PER_MS ? (int)(left / NX_NS_PER_MS) : 0);
        else
            engine_sleep_ns(left);
    }
    /* what the chat layer already queued leaves before the context closes (2 s at most) */
    int64_t flush_until = nx_mono_ns() + 2 * NX_NS_PER_SEC;
    while (e->tg && nx_tg_pending(e->tg) && nx_mono_ns() < flush_until)
        nx_net_service(e->net, 50);
    engine_feeds_stop(e);
    nx_ring_close(e->market);
    return NULL;
}

/* What the journal can do without when it fills up while storage is down
 * (the writer cannot empty it): heartbeats, feed status, candles and
 * signals, and rejections. The record of money and of what people are
 * told — orders, fills, requests and their outcomes, notifications, saved
 * states, commands, notices — keeps the second half of the ring to itself. */
static int essential(const nx_event_t *ev)
{
    switch (ev->hdr.type) {
    case NX_EV_TIMER:
    case NX_EV_STATUS:
    case NX_EV_KLINE:
    case NX_EV_SIGNAL:
        return 0;
    case NX_EV_DECISION:
        return ev->u.decision.request || ev->u.decision.verdict != NX_V_REJECT;
    default:
        return 1;
    }
}

/* Engine thread. While storage works, a full ring makes this thread wait
 * for the writer (a replay faster than the database is slowed to its
 * pace; nothing is lost). While it is down, it never waits: this thread
 * also runs the stops. A full ring then (down for long, new entries
 * already refused) loses the entry, counted and logged: better than stops
 * that no longer run. */
static void journal_put(nx_engine_t *e, const nx_event_t *src)
{
    uint64_t seq, room = nx_ring_free(e->journal), cap = e->journal->mask + 1;
    if (NX_UNLIKELY(room < cap / 2) &&
        atomic_load_explicit(&e->storage_state, memory_order_relaxed) == NX_WRITER_DOWN) {
        int keep = essential(src);
        if (!keep || room == 0) {
            atomic_fetch_add_explicit(keep ? &e->journal_lost : &e->journal_shed, 1,
                                      memory_order_relaxed);
            if (keep)
                NX_LOGK(NX_LOG_ERROR, "engine", "engine.journal_lost",
                        "the journal is full (storage down): an entry of type %s was not "
                        "recorded",
                        nx_event_type_name(src->hdr.type));
            return;
        }
    }
    if (nx_bus_claim(e->journal, 1, &seq) != 1)
        return; /* closed: only happens after shutdown began */
    nx_event_t *dst = nx_bus_event(e->journal, seq);
    uint64_t s = dst->hdr.seq;
    *dst = *src;
    dst->hdr.seq = s;
    nx_ring_publish(e->journal, seq + 1);
}

/* A strategy signal (engine thread, from inside nx_cortex_on_event): to the
 * journal, to stdout with --events, and to the desk: each session's shield
 * decides. */
void engine_on_signal(void *ctx, const nx_event_t *sig)
{
    nx_engine_t *e = ctx;
    atomic_fetch_add_explicit(&e->signals, 1, memory_order_relaxed);
    if (e->print_events) {
        char json[1024];
        if (nx_event_json(sig, e->symtab, json, sizeof json))
            puts(json);
    }
    journal_put(e, sig);
    if (e->desk)
        nx_desk_on_signal(e->desk, sig);
}

/* A candle the cortex closed (any timeframe): to the journal, and to stdout
 * with --events. */
void engine_on_candle(void *ctx, const nx_event_t *kline)
{
    nx_engine_t *e = ctx;
    if (e->print_events) {
        char json[1024];
        if (nx_event_json(kline, e->symtab, json, sizeof json))
            puts(json);
    }
    journal_put(e, kline);
    engine_dash_candle(e, kline); /* the dashboard's chart */
}

/* Orders, fills, decisions and approval requests of the desk: to the
 * journal, and to stdout with --events. */
void engine_desk_journal(void *ctx, const nx_event_t *ev)
{
    nx_engine_t *e = ctx;
    if (ev->hdr.type == NX_EV_ORDER_INTENT)
        engine_ops_order(e, ev);
    if (e->print_events && ev->hdr.type != NX_EV_ORDER_INTENT) {
        char json[1024];
        if (nx_event_json(ev, e->symtab, json, sizeof json))
            puts(json);
    }
    journal_put(e, ev);
}

/* A person's command, between two market events: the desk's answer goes
 * back to the caller (the chat layer) and to the log. */
static void desk_command(nx_engine_t *e, const nx_ev_control_t *c)
{
    nx_reject_t why = NX_REJ_NONE;
    int rc = 0;
    if (c->cmd == NX_CTL_RELOAD || c->cmd == NX_CTL_SHUTDOWN || c->cmd == NX_CTL_QUERY ||
        !e->desk) {
        engine_answer_call(e, c, rc, why); /* the cortex's, the engine's, or a question */
        return;
    }
    rc = nx_desk_control(e->desk, c, &why);
    engine_answer_call(e, c, rc, (int)why);
    if (rc)
        NX_WARN("desk", "command %u for session %u (arg %lld) refused: %s%s%s", c->cmd, c->session,
                (long long)c->arg, nx_strerror(rc), why ? ", " : "",
                why ? nx_reject_name(why) : "");
    else
        NX_INFO("desk", "command %u for session %u (arg %lld) done", c->cmd, c->session,
                (long long)c->arg);
}

/* Every session's open positions and P&L (balance - starting equity), for
 * the progress line (engine thread). */
static void publish_totals(nx_engine_t *e)
{
    int64_t pnl = 0;
    uint32_t open = 0, trades = 0, by_mode[3] = {0};
    for (uint32_t i = 0; i < nx_desk_sessions(e->desk); i++) {
        nx_desk_info_t in;
        if (nx_desk_info(e->desk, nx_desk_session_at(e->desk, i), &in))
            continue;
        if ((unsigned)in.mode < 3)
            by_mode[in.mode]++;
        pnl += in.balance - in.start_equity;
        open += in.open_positions;
        trades += in.trades;
    }
    atomic_store_explicit(&e->desk_pnl, pnl, memory_order_relaxed);
    atomic_store_explicit(&e->desk_open, open, memory_order_relaxed);
    atomic_store_explicit(&e->desk_trades, trades, memory_order_relaxed);
    for (int m = 0; m < 3; m++)
        atomic_store_explicit(&e->sessions_by_mode[m], by_mode[m], memory_order_relaxed);
    engine_dash_publish(e); /* the dashboard's copy */
}

void engine_on_bad_tick(void *ctx, const nx_event_t *ev, nx_bad_kind_t why, int64_t ref_px)
{
    nx_engine_t *e = ctx;
    atomic_fetch_add_explicit(&e->quarantined[why], 1, memory_order_relaxed);
    uint32_t sym = ev->hdr.symbol;
    const nx_symbol_t *y = nx_symtab_get(e->symtab, sym);
    int64_t px = ev->hdr.type == NX_EV_TRADE   ? ev->u.trade.price
                 : ev->hdr.type == NX_EV_KLINE ? ev->u.kline.close
                 : ev->hdr.type == NX_EV_BBO   ? ev->u.bbo.bid_px
                                               : ev->u.mark.mark_px;
    char p[NX_FIXED_FMT_MAX], r[NX_FIXED_FMT_MAX];
    nx_fixed_format(px, y ? y->price_scale : 8, p, sizeof p);
    nx_fixed_format(ref_px, y ? y->price_scale : 8, r, sizeof r);
    NX_LOGK(NX_LOG_WARN, "market", "market.bad",
            "%s %s %s at %s quarantined: %s (recent median %s)",
            nx_venue_name((nx_venue_t)ev->hdr.venue), y ? y->name : "?",
            nx_event_type_name((nx_event_type_t)ev->hdr.type), p, nx_bad_name(why), r);
    /* the owner hears of it at once, then at most once a minute per symbol
     * (engine clock) with how many more there were */
    e->bad_untold[sym]++;
    int64_t now = nx_clock_now(&e->clock);
    if (e->bad_told_ns[sym] && now - e->bad_told_ns[sym] < 60 * NX_NS_PER_SEC)
        return;
    nx_event_t n;
    memset(&n, 0, sizeof n);
    n.hdr.type = NX_EV_NOTICE;
    n.hdr.venue = ev->hdr.venue;
    n.hdr.symbol = sym;
    n.hdr.exch_ns = now;
    n.hdr.recv_ns = now;
    n.u.notice.kind = NX_NOTE_BADTICK;
    n.u.notice.reason = (uint8_t)why;
    n.u.notice.exit_px = px;
    n.u.notice.entry_px = ref_px;
    n.u.notice.qty = e->bad_untold[sym];
    journal_put(e, &n);
    e->bad_told_ns[sym] = now;
    e->bad_untold[sym] = 0;
}

/* One market event the guard let through (or any other event), on the
 * engine thread: the desk (fills, stops, trailing), the cortex (candles,
 * indicators, strategies, whose signals reach the desk through on_signal),
 * then a person's command if the event carries one. */
/* Market data from before the restored state (a replay started over on a
 * database that traded later) would fill saved stops at old prices and
 * move cooldowns backwards: refused once, with what to do, and the engine
 * trades no more. A backfilled candle may be older, a live one never is. */
static int before_saved(nx_engine_t *e, const nx_event_t *ev)
{
    if (atomic_load_explicit(&e->halted, memory_order_relaxed))
        return ev->hdr.symbol != NX_SYMBOL_NONE; /* commands and heartbeats still answered */
    int market = ev->hdr.type == NX_EV_TRADE ||
                 (ev->hdr.type == NX_EV_KLINE && ev->u.kline.closed);
    if (!e->saved_ns || !market || (ev->hdr.flags & NX_EVF_BACKFILL) || !ev->hdr.exch_ns ||
        ev->hdr.exch_ns >= e->saved_ns - NX_ENGINE_BACK_NS)
        return 0;
    char at[32], saved[32];
    nx_utc_format(ev->hdr.exch_ns / NX_NS_PER_SEC, at, sizeof at);
    nx_utc_format(e->saved_ns / NX_NS_PER_SEC, saved, sizeof saved);
    snprintf(e->halted_why, sizeof e->halted_why,
             "the market data is at %s UTC, before the saved trading state (%s UTC): a replay "
             "started over cannot trade on state saved later. Replay from after %s, or give "
             "it an empty database (a new data_dir)",
             at, saved, saved);
    NX_ERROR("engine", "refused: %s", e->halted_why);
    atomic_store_explicit(&e->halted, 1, memory_order_release);
    return 1;
}

static void on_event(nx_engine_t *e, const nx_event_t *ev)
{
    if (before_saved(e, ev))
        return;
    if (e->clock.kind == NX_CLOCK_SIM && ev->hdr.exch_ns)
        nx_clock_advance(&e->clock, ev->hdr.exch_ns);
    unsigned t = ev->hdr.type < NX_EV_TYPE_COUNT ? ev->hdr.type : 0;
    if (e->print_events && t != NX_EV_NONE && t != NX_EV_TIMER) {
        char json[1024];
        if (nx_event_json(ev, e->symtab, json, sizeof json))
            puts(json);
    }
    atomic_fetch_add_explicit(&e->engine_by_type[t], 1, memory_order_relaxed);
    e->cur_recv_ns = ev->hdr.recv_ns; /* an order from here: tick-to-order */
    /* a candle backfilled from before the restored state is history for
     * the indicators, not a price the saved stops have not seen */
    int history = (ev->hdr.flags & NX_EVF_BACKFILL) && ev->hdr.exch_ns < e->saved_ns;
    if (e->desk && !history)
        nx_desk_on_market(e->desk, ev); /* fills and stops first, then new signals */
    if (e->cortex)
        nx_cortex_on_event(e->cortex, ev);
    if (t == NX_EV_CONTROL) {
        desk_command(e, &ev->u.control);
        e->dash_due = 1;
    }
    if (t == NX_EV_ORDER_UPDATE && e->desk) { /* a live venue's answer */
        engine_ops_answer(e, &ev->u.order, ev->hdr.recv_ns);
        nx_desk_on_order_update(e->desk, ev->hdr.symbol, &ev->u.order);
    }
    if (t == NX_EV_NOTICE && ev->u.notice.kind == NX_NOTE_VENUE_POSITION && e->desk)
        nx_desk_venue_position(e->desk, ev->u.notice.session, ev->hdr.symbol, ev->u.notice.qty,
                               ev->u.notice.entry_px);
    if (t == NX_EV_NOTICE && ev->u.notice.kind == NX_NOTE_VENUE_BALANCE && e->desk)
        nx_desk_venue_balance(e->desk, ev->u.notice.session, ev->u.notice.qty);
    if (t == NX_EV_NOTICE && ev->u.notice.kind == NX_NOTE_VENUE &&
        ev->u.notice.reason == NX_VN_FOREIGN_ORDER && e->desk) {
        nx_event_t told = *ev; /* whether the session was held, for the words */
        told.u.notice.qty = nx_desk_foreign_order(e->desk, ev->u.notice.session, ev->hdr.symbol);
        journal_put(e, &told);
    } else if (t == NX_EV_NOTICE && ev->u.notice.kind == NX_NOTE_VENUE) {
        journal_put(e, ev); /* for the session's person, in words (chat) */
    }
    /* a heartbeat a minute is kept (the journal shows the engine was alive
     * and when): 1,440 rows a day instead of 86,400 at the default 1 s */
    uint64_t keep_every = 60000 / (e->cfg->engine.heartbeat_ms ? e->cfg->engine.heartbeat_ms : 1);
    if ((t == NX_EV_TIMER && ev->u.timer.tick % (keep_every ? keep_every : 1) == 0) ||
        t == NX_EV_STATUS || (t == NX_EV_CONTROL && ev->u.control.cmd != NX_CTL_QUERY))
        journal_put(e, ev);
}

/* Engine thread: every event of the market ring, through the bad-tick
 * filter, to on_event. */
void *engine_engine_main(void *arg)
{
    nx_engine_t *e = arg;
    pin("engine", e->cfg->engine.engine_cpu);
    nx_ring_consumer_t *c = nx_ring_consumer(e->market, 0);
    int64_t next_totals = 0;
    for (;;) {
        uint64_t seq;
        uint32_t n = nx_ring_wait(e->market, c, BATCH, &seq, 100 * NX_NS_PER_MS);
        engine_ops_beat(e); /* /health's heartbeat, systemd's watchdog */
        if (n == 0) {
            if (nx_ring_is_closed(e->market))
                break;
            if (e->cortex) /* a quiet market still gets its hot swaps */
                nx_cortex_poll(e->cortex);
            if (e->desk && e->dash && nx_mono_ns() >= next_totals) {
                publish_totals(e); /* the dashboard sees a quiet market too */
                next_totals = nx_mono_ns() + 200 * NX_NS_PER_MS;
            }
            continue;
        }
        if (e->desk) /* nothing durable: no new entry (exits and stops run) */
            nx_desk_set_storage_down(e->desk, atomic_load_explicit(&e->storage_state,
                                                                   memory_order_relaxed) ==
                                                  NX_WRITER_DOWN);
        for (uint32_t i = 0; i < n; i++) {
            const nx_event_t *ev = nx_bus_event(e->market, seq + i);
            if (e->rec_ring) /* as it came, before the filter */
                engine_record_put(e, ev);
            if (NX_UNLIKELY(ev->hdr.flags & NX_EVF_GAP)) {
                atomic_fetch_add_explicit(&e->engine_gaps, 1, memory_order_relaxed);
                NX_LOGK(NX_LOG_WARN, "engine", "engine.gap",
                        "market ring overrun: events were dropped before seq %llu",
                        (unsigned long long)ev->hdr.seq);
            }
            const nx_event_t *use[NX_TG_HOLD + 1];
            uint32_t k = nx_tickguard_filter(e->guard, ev, use);
            for (uint32_t j = 0; j < k; j++)
                on_event(e, use[j]);
        }
        if (e->cortex)
            nx_cortex_poll(e->cortex); /* hot swaps happen here, between two batches */
        /* for the progress line and the dashboard; at once after a
         * person's command (an approval shows within the next page push) */
        if (e->desk && (nx_mono_ns() >= next_totals || e->dash_due)) {
            e->dash_due = 0;
            publish_totals(e);
            next_totals = nx_mono_ns() + 200 * NX_NS_PER_MS;
        }
        atomic_fetch_add_explicit(&e->engine_events, n, memory_order_relaxed);
        nx_ring_release(c, seq + n);
    }
    if (e->desk) {
        nx_desk_save_all(e->desk); /* the latest prices and trailing levels */
        publish_totals(e);
    }
    engine_calls_close(e); /* a call still waiting is told no */
    engine_record_close(e);
    nx_ring_close(e->orders);
    nx_ring_close(e->journal);
    return NULL;
}

static void stats_line(nx_engine_t *e)
{
    nx_ring_stats_t m, j;
    nx_ring_stats(e->market, &m);
    nx_ring_stats(e->journal, &j);
    double up = (double)(nx_mono_ns() - e->start_mono_ns) / 1e9;
    static const char *const states[] = {"storing", "spilling", "down"};
    int st = atomic_load(&e->storage_state);
    NX_INFO("stats",
            "up %.0fs | market published=%llu overruns=%llu lag=%llu | engine events=%llu "
            "gaps=%llu signals=%llu | journal written=%llu lag=%llu spilled=%llu shed=%llu "
            "lost=%llu storage=%s",
            up, (unsigned long long)m.published, (unsigned long long)m.overruns,
            (unsigned long long)m.max_lag, (unsigned long long)atomic_load(&e->engine_events),
            (unsigned long long)atomic_load(&e->engine_gaps),
            (unsigned long long)atomic_load(&e->signals),
            (unsigned long long)atomic_load(&e->journal_written), (unsigned long long)j.max_lag,
            (unsigned long long)nx_writer_spill_held(e->writer),
            (unsigned long long)atomic_load(&e->journal_shed),
            (unsigned long long)atomic_load(&e->journal_lost), states[st < 3 ? st : 2]);
}

/* The writer's tap: a stored journal entry may be something a person is
 * told (service thread). */
void engine_journal_stored(void *ctx, const nx_event_t *ev)
{
    nx_engine_t *e = ctx;
    if (ev->hdr.type == NX_EV_KLINE && ev->hdr.exch_ns > e->stored_market_ns)
        e->stored_market_ns = ev->hdr.exch_ns;
    engine_ops_journal(e, ev);
    if (e->chat)
        nx_chat_on_event(e->chat, ev);
}

/* The scheduler's action: the chat layer's reports (service thread). */
static int run_task(void *ctx, int64_t task_id, int64_t user_id, const char *action, char *result,
                    size_t cap)
{
    nx_engine_t *e = ctx;
    return nx_chat_report(e->chat, e->store, task_id, user_id, action, result, cap);
}

/* Service thread: storage's state to the engine thread (no entry while
 * nothing is durable), and to the owner when it changes. */
static void storage_watch(nx_engine_t *e)
{
    int now = (int)nx_writer_state(e->writer);
    int was = atomic_exchange_explicit(&e->storage_state, now, memory_order_relaxed);
    if (now == was || !e->chat)
        return;
    char esc[600], html[900];
    nx_tg_escape(nx_writer_error(e->writer), esc, sizeof esc);
    if (now == NX_WRITER_SPILLING)
        snprintf(html, sizeof html,
                 "<b>Storage</b>: the database does not take the journal (%s). Entries go to a "
                 "local file and will be stored once it is back; trading goes on.",
                 esc);
    else if (now == NX_WRITER_DOWN)
        snprintf(html, sizeof html,
                 "<b>Storage is down</b>: neither the database nor the local file takes the "
                 "journal (%s). No new position is opened; exits and stops still run.",
                 esc);
    else
        snprintf(html, sizeof html, "<b>Storage is back</b>: the journal is stored again.");
    nx_chat_tell_owner(e->chat, html);
}

/* Service thread, once an hour of market time (the candles stored) while
 * the database takes the journal: retention removes what recovery never
 * needs once older than storage.retain_days, and the stored fills' sums
 * become the new checkpoint, so neither the database nor a start-up's
 * reading grows with the engine's age. A failure is logged and tried
 * again an hour later: nothing depends on it at once. */
static void storage_upkeep(nx_engine_t *e)
{
    if (e->stored_market_ns < e->next_upkeep_ns || nx_writer_state(e->writer) != NX_WRITER_STORING)
        return;
    e->next_upkeep_ns = e->stored_market_ns + 3600 * NX_NS_PER_SEC;
    int64_t t0 = nx_mono_ns();
    nx_store_pruned_t p = {0};
    uint32_t days = e->cfg->storage.retain_days;
    if (days && nx_store_prune(e->store, (int64_t)days * 86400 * NX_NS_PER_SEC, &p))
        NX_LOGK(NX_LOG_WARN, "store", "store.retention", "retention did not run: %s",
                nx_store_error(e->store));
    uint64_t read = 0;
    if (nx_store_fill_sums(e->store, e->symtab, NX_FILLS_CHECKPOINT, NULL, NULL, &read))
        NX_LOGK(NX_LOG_WARN, "store", "store.checkpoint", "%s", nx_store_error(e->store));
    if (p.entries || p.signals || p.equity)
        NX_INFO("store",
                "retention: %llu journal entries, %llu signals and %llu equity points older than "
                "%u days removed (%lld ms)",
                (unsigned long long)p.entries, (unsigned long long)p.signals,
                (unsigned long long)p.equity, days,
                (long long)((nx_mono_ns() - t0) / NX_NS_PER_MS));
}

/* Service thread: the storage writer, the scheduler and the chat layer. At
 * shutdown the journal ring is closed after the engine thread's last
 * entry; everything in it is stored before the thread ends. */
void *engine_service_main(void *arg)
{
    nx_engine_t *e = arg;
    if (e->tg || e->console || e->dash) { /* the web pages' actions run as chat commands */
        nx_chat_opts_t o = {e->cfg, e->symtab, e->store, e->tg, e->console, engine_chat_host(e)};
        e->chat = nx_chat_create(&o);
        if (e->chat && e->recovery_notes[0]) {
            char html[1200], esc[1100];
            nx_tg_escape(e->recovery_notes, esc, sizeof esc);
            snprintf(html, sizeof html, "<b>Held at start</b>: saved state and venue disagree\n%s",
                     esc);
            nx_chat_tell_owner(e->chat, html);
        }
    }
    int64_t every = (int64_t)e->cfg->engine.stats_interval_s * NX_NS_PER_SEC;
    int64_t next_stats = nx_mono_ns() + every, next_sched = 0, closed_at = 0;
    for (;;) {
        if (nx_mono_ns() >= next_sched) { /* due tasks, once a second */
            int ran = nx_sched_run_due(e->store, nx_real_ns() / NX_NS_PER_MS,
                                       e->cfg->storage.catch_up_tasks, run_task, e);
            if (ran < 0)
                NX_LOGK(NX_LOG_WARN, "sched", "sched.run", "scheduled tasks not run: %s",
                        nx_store_error(e->store));
            next_sched = nx_mono_ns() + NX_NS_PER_SEC;
        }
        if (e->chat)
            nx_chat_poll(e->chat);
        engine_dash_jobs(e); /* the web pages' actions */
        int n = nx_writer_step(e->writer, (e->chat ? 20 : 100) * NX_NS_PER_MS);
        storage_watch(e);
        storage_upkeep(e);
        engine_ops_watch(e);
        if (n > 0)
            atomic_fetch_add_explicit(&e->journal_written, (uint64_t)n, memory_order_relaxed);
        else if (n == 0 && nx_ring_is_closed(e->journal))
            break;
        if (!closed_at && nx_ring_is_closed(e->journal))
            closed_at = nx_mono_ns();
        if (n < 0 && closed_at &&
            (atomic_load(&e->give_up) ||
             nx_mono_ns() - closed_at >= (int64_t)e->cfg->storage.drain_s * NX_NS_PER_SEC))
            break; /* stopping, and storage stays away: not for ever */
        if (n < 0) /* nothing takes the entries: the ring holds them */
            engine_sleep_ns(100 * NX_NS_PER_MS);
        if (every && nx_mono_ns() >= next_stats) {
            stats_line(e);
            next_stats += every;
        }
    }
    uint64_t before = nx_writer_written(e->writer);
    int rc = atomic_load(&e->give_up) || (closed_at && nx_writer_state(e->writer) == NX_WRITER_DOWN)
                 ? NX_EIO
                 : nx_writer_drain(e->writer, 50);
    atomic_fetch_add_explicit(&e->journal_written, nx_writer_written(e->writer) - before,
                              memory_order_relaxed);
    if (rc) {
        nx_ring_stats_t j;
        nx_ring_stats(e->journal, &j);
        uint64_t left = j.published - atomic_load(&e->journal_written);
        atomic_store(&e->unstored, left);
        NX_ERROR("store",
                 "%llu journal entr%s could not be stored before exit (%s): never acknowledged, "
                 "they are lost",
                 (unsigned long long)left, left == 1 ? "y" : "ies", nx_writer_error(e->writer));
    }
    uint64_t spilled, moved;
    nx_writer_spill_totals(e->writer, &spilled, &moved);
    if (spilled || nx_writer_spill_held(e->writer))
        NX_INFO("store",
                "journal spill file: %llu entries went there this run, %llu moved into the store, "
                "%llu wait there for the next start",
                (unsigned long long)spilled, (unsigned long long)moved,
                (unsigned long long)nx_writer_spill_held(e->writer));
    atomic_store(&e->service_done, 1);
    return NULL;
}
