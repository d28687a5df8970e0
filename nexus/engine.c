/*
 * engine.c — thread bodies and the ordered shutdown (see engine.h).
 */
#include "engine.h"
#include "bot.h"
#include "desk.h"

#include "nx/error.h"
#include "nx/event_json.h"
#include "nx/log.h"
#include "nx/sched.h"
#include "nx/store.h"
#include "nx/telegram.h"
#include "nx/vault.h"
#include "nx/writer.h"

#include <jansson.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static void sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec ts = {ns / NX_NS_PER_SEC, ns % NX_NS_PER_SEC};
    nanosleep(&ts, NULL);
}

/* The network thread's libwebsockets context, shared by the feeds and the
 * Telegram client: made once, before the threads start. */
static int net_make(nx_engine_t *e)
{
    if (!e->net)
        e->net = nx_net_create(&e->clock);
    return e->net ? 0 : NX_ESYSTEM;
}

/* Create one feed per configured venue connection and subscribe every
 * configured symbol of that venue — before the threads start, so every
 * thread may read e->feeds (their stats); the network thread connects them. */
static int feeds_create(nx_engine_t *e)
{
    const nx_config_t *c = e->cfg;
    if (!c->n_feeds)
        return 0;
    if (net_make(e))
        return NX_ESYSTEM;
    const char *ak = getenv("NEXUS_ALPACA_KEY_ID"), *as = getenv("NEXUS_ALPACA_SECRET_KEY");
    if (ak)
        nx_log_add_secret(ak);
    if (as)
        nx_log_add_secret(as);
    for (uint32_t i = 0; i < c->n_feeds; i++) {
        const nx_config_feed_t *fc = &c->feeds[i];
        nx_feed_opts_t o;
        nx_feed_opts_default(&o);
        o.venue = fc->venue;
        o.ws_url = fc->ws_url;
        o.rest_url = fc->rest_url;
        o.kline_interval = fc->kline_interval;
        o.watchdog_ms = fc->watchdog_ms;
        o.stale_ns = (int64_t)fc->stale_s * NX_NS_PER_SEC;
        o.book_depth = fc->book_depth;
        o.alpaca_key = ak;
        o.alpaca_secret = as;
        nx_feed_t *f = nx_feed_create(e->net, &o, e->symtab, e->market);
        if (!f)
            return NX_EINVAL;
        e->feeds[e->n_feeds++] = f;
        uint32_t subs = 0;
        for (uint32_t s = 0; s < nx_symtab_count(e->symtab); s++) {
            const nx_symbol_t *sym = nx_symtab_get(e->symtab, s);
            if (sym->venue == fc->venue && nx_feed_subscribe(f, s, fc->streams) == 0)
                subs++;
        }
        NX_INFO("feed", "%s: %u symbols, streams 0x%x, ws %s", nx_venue_name(fc->venue), subs,
                fc->streams, fc->ws_url);
    }
    return 0;
}

static void feeds_stop(nx_engine_t *e)
{
    if (!e->net)
        return;
    nx_tg_stop(e->tg); /* its connections close with the context */
    for (uint32_t i = 0; i < e->n_feeds; i++)
        nx_feed_stop(e->feeds[i]);
    int64_t end = nx_mono_ns() + 200 * NX_NS_PER_MS;
    while (nx_mono_ns() < end)
        nx_net_service(e->net, 10);
    for (uint32_t i = 0; i < e->n_feeds; i++) {
        nx_feed_stats_t st;
        nx_feed_stats(e->feeds[i], &st);
        NX_INFO("feed",
                "%s: frames=%llu events=%llu errors=%llu connects=%llu backfilled=%llu "
                "book_gaps=%llu resyncs=%llu",
                nx_venue_name(e->cfg->feeds[i].venue), (unsigned long long)st.frames,
                (unsigned long long)st.events, (unsigned long long)st.errors,
                (unsigned long long)st.connects, (unsigned long long)st.backfill_klines,
                (unsigned long long)st.book_gaps, (unsigned long long)st.book_resyncs);
    }
    nx_net_destroy(e->net);
    e->net = NULL; /* the feeds stay until release(): other threads read their stats */
}

/* Network thread: queued calls become control events on the market ring
 * (a full ring: they wait for the next turn, never dropped). */
static void publish_calls(nx_engine_t *e)
{
    pthread_mutex_lock(&e->call_mu);
    int left = 0;
    for (int i = 0; i < NX_ENGINE_CALLS; i++) {
        nx_engine_call_slot_t *k = &e->calls[i];
        if (k->state != NX_CALL_QUEUED)
            continue;
        uint64_t seq;
        if (nx_bus_claim(e->market, 1, &seq) != 1) {
            left = 1;
            break;
        }
        nx_event_t *ev = nx_bus_event(e->market, seq);
        memset(&ev->u.control, 0, sizeof ev->u.control);
        ev->hdr.type = NX_EV_CONTROL;
        ev->hdr.venue = 0;
        ev->hdr.flags = 0;
        ev->hdr.symbol = NX_SYMBOL_NONE;
        ev->hdr.exch_ns = 0;
        ev->hdr.recv_ns = nx_clock_now(&e->clock);
        ev->u.control = k->c;
        ev->u.control.call = (uint16_t)(i + 1);
        nx_ring_publish(e->market, seq + 1);
        k->state = NX_CALL_PUBLISHED;
    }
    atomic_store_explicit(&e->calls_queued, left, memory_order_release);
    pthread_mutex_unlock(&e->call_mu);
}

int nx_engine_call(nx_engine_t *e, const nx_ev_control_t *c, nx_engine_call_cb fn, void *ctx,
                   int *why)
{
    pthread_mutex_lock(&e->call_mu);
    int slot = -1;
    while (slot < 0) {
        if (atomic_load(&e->engine_done) || atomic_load(&e->stop)) {
            pthread_mutex_unlock(&e->call_mu);
            return NX_ECLOSED;
        }
        for (int i = 0; i < NX_ENGINE_CALLS && slot < 0; i++)
            if (e->calls[i].state == NX_CALL_FREE)
                slot = i;
        if (slot < 0) { /* eight calls in flight: only the service thread calls, so never */
            pthread_mutex_unlock(&e->call_mu);
            sleep_ns(NX_NS_PER_MS);
            pthread_mutex_lock(&e->call_mu);
        }
    }
    nx_engine_call_slot_t *k = &e->calls[slot];
    k->c = *c;
    k->fn = fn;
    k->ctx = ctx;
    k->state = NX_CALL_QUEUED;
    atomic_store_explicit(&e->calls_queued, 1, memory_order_release);
    pthread_mutex_unlock(&e->call_mu); /* the network thread looks every 10 ms at most */
    int rc = NX_ECLOSED;
    for (;;) {
        pthread_mutex_lock(&e->call_mu);
        if (k->state == NX_CALL_DONE) {
            rc = k->rc;
            if (why)
                *why = k->why;
            k->state = NX_CALL_FREE;
            pthread_mutex_unlock(&e->call_mu);
            break;
        }
        int gone = atomic_load(&e->engine_done);
        if (gone)
            k->state = NX_CALL_FREE; /* the engine thread will never look at it again */
        pthread_mutex_unlock(&e->call_mu);
        if (gone)
            break;
        /* keep the journal moving: the engine may be waiting for room in it */
        int n = e->writer ? nx_writer_step(e->writer, NX_NS_PER_MS) : 0;
        if (n > 0)
            atomic_fetch_add_explicit(&e->journal_written, (uint64_t)n, memory_order_relaxed);
        else if (!e->writer || n < 0)
            sleep_ns(NX_NS_PER_MS);
    }
    return rc;
}

/* Engine thread: a call's command was taken; answer it. */
static void answer_call(nx_engine_t *e, const nx_ev_control_t *c, int rc, int why)
{
    int i = c->call - 1;
    if (i < 0 || i >= NX_ENGINE_CALLS)
        return;
    nx_engine_call_slot_t *k = &e->calls[i];
    pthread_mutex_lock(&e->call_mu);
    int live = k->state == NX_CALL_PUBLISHED;
    pthread_mutex_unlock(&e->call_mu);
    if (live && k->fn)
        k->fn(e, k->ctx, rc, why);
    pthread_mutex_lock(&e->call_mu);
    if (k->state == NX_CALL_PUBLISHED) {
        k->rc = rc;
        k->why = why;
        k->state = NX_CALL_DONE;
    }
    pthread_mutex_unlock(&e->call_mu);
}

/* Network thread: every venue connection, and the heartbeat timer. */
static void *network_main(void *arg)
{
    nx_engine_t *e = arg;
    pin("network", e->cfg->engine.network_cpu);
    for (uint32_t i = 0; i < e->n_feeds; i++)
        nx_feed_start(e->feeds[i]);
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
            publish_calls(e);
        /* Drain orders (none are produced yet; effectors will send them). */
        uint64_t s;
        uint32_t n = nx_ring_poll(e->orders, oc, BATCH, &s);
        if (n) {
            atomic_fetch_add_explicit(&e->orders_seen, n, memory_order_relaxed);
            nx_ring_release(oc, s + n);
        }
        int64_t left = next - nx_mono_ns();
        if (left > 10 * NX_NS_PER_MS)
            left = 10 * NX_NS_PER_MS;
        if (e->net)
            nx_net_service(e->net, left > NX_NS_PER_MS ? (int)(left / NX_NS_PER_MS) : 0);
        else
            sleep_ns(left);
    }
    /* what the bot already queued leaves before the context closes (2 s at most) */
    int64_t flush_until = nx_mono_ns() + 2 * NX_NS_PER_SEC;
    while (e->tg && nx_tg_pending(e->tg) && nx_mono_ns() < flush_until)
        nx_net_service(e->net, 50);
    feeds_stop(e);
    nx_ring_close(e->market);
    return NULL;
}

static void journal_put(nx_engine_t *e, const nx_event_t *src)
{
    uint64_t seq;
    if (nx_bus_claim(e->journal, 1, &seq) != 1)
        return; /* closed: only happens after shutdown began */
    nx_event_t *dst = nx_bus_event(e->journal, seq);
    uint64_t s = dst->hdr.seq;
    *dst = *src;
    dst->hdr.seq = s;
    nx_ring_publish(e->journal, seq + 1);
}

/* A strategy signal (engine thread, from inside nx_cortex_on_event): to the
 * journal, and to stdout with --events. The shield will take it here. */
static void on_signal(void *ctx, const nx_event_t *sig)
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
static void on_candle(void *ctx, const nx_event_t *kline)
{
    nx_engine_t *e = ctx;
    if (e->print_events) {
        char json[1024];
        if (nx_event_json(kline, e->symtab, json, sizeof json))
            puts(json);
    }
    journal_put(e, kline);
}

/* Orders, fills, decisions and approval requests of the desk: to the
 * journal, and to stdout with --events. */
static void desk_journal(void *ctx, const nx_event_t *ev)
{
    nx_engine_t *e = ctx;
    if (e->print_events && ev->hdr.type != NX_EV_ORDER_INTENT) {
        char json[1024];
        if (nx_event_json(ev, e->symtab, json, sizeof json))
            puts(json);
    }
    journal_put(e, ev);
}

/* A person's command, between two market events: the desk's answer goes
 * back to the caller (the chat bot) and to the log. */
static void desk_command(nx_engine_t *e, const nx_ev_control_t *c)
{
    nx_reject_t why = NX_REJ_NONE;
    int rc = 0;
    if (c->cmd == NX_CTL_RELOAD || c->cmd == NX_CTL_SHUTDOWN || c->cmd == NX_CTL_QUERY || !e->desk) {
        answer_call(e, c, rc, why); /* the cortex's, the engine's, or a question */
        return;
    }
    rc = nx_desk_control(e->desk, c, &why);
    answer_call(e, c, rc, (int)why);
    if (rc)
        NX_WARN("desk", "command %u for session %u (arg %lld) refused: %s%s%s", c->cmd,
                c->session, (long long)c->arg, nx_strerror(rc), why ? ", " : "",
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
    uint32_t open = 0, trades = 0;
    for (uint32_t s = 1; s <= nx_desk_sessions(e->desk); s++) {
        nx_desk_info_t in;
        if (nx_desk_info(e->desk, s, &in))
            continue;
        pnl += in.balance - in.start_equity;
        open += in.open_positions;
        trades += in.trades;
    }
    atomic_store_explicit(&e->desk_pnl, pnl, memory_order_relaxed);
    atomic_store_explicit(&e->desk_open, open, memory_order_relaxed);
    atomic_store_explicit(&e->desk_trades, trades, memory_order_relaxed);
}

/* Engine thread: cortex, then (next issues) shield and order manager, per event. */
static void *engine_main(void *arg)
{
    nx_engine_t *e = arg;
    pin("engine", e->cfg->engine.engine_cpu);
    nx_ring_consumer_t *c = nx_ring_consumer(e->market, 0);
    int64_t next_totals = 0;
    for (;;) {
        uint64_t seq;
        uint32_t n = nx_ring_wait(e->market, c, BATCH, &seq, 100 * NX_NS_PER_MS);
        if (n == 0) {
            if (nx_ring_is_closed(e->market))
                break;
            continue;
        }
        for (uint32_t i = 0; i < n; i++) {
            const nx_event_t *ev = nx_bus_event(e->market, seq + i);
            if (e->clock.kind == NX_CLOCK_SIM && ev->hdr.exch_ns)
                nx_clock_advance(&e->clock, ev->hdr.exch_ns);
            if (NX_UNLIKELY(ev->hdr.flags & NX_EVF_GAP)) {
                atomic_fetch_add_explicit(&e->engine_gaps, 1, memory_order_relaxed);
                NX_LOGK(NX_LOG_WARN, "engine", "engine.gap",
                        "market ring overrun: events were dropped before seq %llu",
                        (unsigned long long)ev->hdr.seq);
            }
            unsigned t = ev->hdr.type < NX_EV_TYPE_COUNT ? ev->hdr.type : 0;
            if (e->print_events && t != NX_EV_NONE && t != NX_EV_TIMER) {
                char json[1024];
                if (nx_event_json(ev, e->symtab, json, sizeof json))
                    puts(json);
            }
            atomic_fetch_add_explicit(&e->engine_by_type[t], 1, memory_order_relaxed);
            if (e->desk)
                nx_desk_on_market(e->desk, ev); /* fills and stops first, then new signals */
            if (e->cortex)
                nx_cortex_on_event(e->cortex, ev);
            if (t == NX_EV_CONTROL)
                desk_command(e, &ev->u.control);
            if (t == NX_EV_TIMER || t == NX_EV_STATUS ||
                (t == NX_EV_CONTROL && ev->u.control.cmd != NX_CTL_QUERY))
                journal_put(e, ev);
        }
        if (e->cortex)
            nx_cortex_poll(e->cortex); /* hot swaps happen here, between two batches */
        if (e->desk && nx_mono_ns() >= next_totals) { /* for the progress line */
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
    pthread_mutex_lock(&e->call_mu); /* a call still waiting is told no */
    atomic_store(&e->engine_done, 1);
    for (int i = 0; i < NX_ENGINE_CALLS; i++)
        if (e->calls[i].state == NX_CALL_PUBLISHED || e->calls[i].state == NX_CALL_QUEUED) {
            e->calls[i].rc = NX_ECLOSED;
            e->calls[i].state = NX_CALL_DONE;
        }
    pthread_mutex_unlock(&e->call_mu);
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
    NX_INFO("stats",
            "up %.0fs | market published=%llu overruns=%llu lag=%llu | engine events=%llu "
            "gaps=%llu signals=%llu | journal written=%llu lag=%llu",
            up, (unsigned long long)m.published, (unsigned long long)m.overruns,
            (unsigned long long)m.max_lag, (unsigned long long)atomic_load(&e->engine_events),
            (unsigned long long)atomic_load(&e->engine_gaps),
            (unsigned long long)atomic_load(&e->signals),
            (unsigned long long)atomic_load(&e->journal_written), (unsigned long long)j.max_lag);
}

/* ---- scheduled tasks (service thread) ------------------------------------ */

typedef struct report {
    const char *only; /* a session name: only its line; NULL: every session's */
    char text[1024];
    size_t n;
} report_t;

/* One session's line of a report, from its latest saved state. */
static int report_session(void *ctx, uint32_t session, uint64_t seq, const char *text,
                          size_t len)
{
    (void)seq;
    report_t *r = ctx;
    json_t *root = session ? json_loadb(text, len, 0, NULL) : NULL;
    if (!root)
        return 0;
    json_t *acc = json_object_get(root, "account");
    const char *name = json_string_value(json_object_get(root, "name"));
    const char *bal = json_string_value(json_object_get(acc, "balance_dec"));
    int k = r->only && (!name || strcmp(name, r->only))
                ? 0 /* another user's: not theirs to read */
                : snprintf(r->text + r->n, sizeof r->text - r->n,
                           "%s%s: balance %s, %lld trades (%lld won), %zu open",
                           r->n ? "; " : "", name ? name : "?", bal ? bal : "?",
                           (long long)json_integer_value(json_object_get(acc, "trades")),
                           (long long)json_integer_value(json_object_get(acc, "wins")),
                           json_array_size(json_object_get(root, "positions")));
    if (k > 0 && (size_t)k < sizeof r->text - r->n)
        r->n += (size_t)k;
    json_decref(root);
    return 0;
}

/* A task's action. The report covers the task's user's own session (an
 * owner's or admin's: every session); it goes to the user's chat (the
 * bot), the audit log and, shortened, the task's last result. */
static int run_task(void *ctx, int64_t task_id, int64_t user_id, const char *action,
                    char *result, size_t cap)
{
    nx_engine_t *e = ctx;
    if (strcmp(action, "daily_report") != 0) {
        snprintf(result, cap, "unknown action \"%s\"", action);
        return NX_EINVAL;
    }
    nx_user_t u;
    int rc = nx_store_user_get(e->store, 0, user_id, &u);
    if (rc)
        return rc;
    report_t r = {u.role == NX_ROLE_OWNER || u.role == NX_ROLE_ADMIN ? NULL : u.name, "", 0};
    if ((rc = nx_store_states(e->store, report_session, &r)))
        return rc;
    if (!r.n)
        snprintf(r.text, sizeof r.text, "no trading yet");
    snprintf(result, cap, "%s", r.text);
    NX_INFO("sched", "task %lld (%s) for user %lld: %s", (long long)task_id, action,
            (long long)user_id, r.text);
    if (e->bot && u.chat_id && u.role != NX_ROLE_BANNED && u.role != NX_ROLE_PENDING) {
        char html[1200], esc[1100];
        nx_tg_escape(r.text, esc, sizeof esc);
        snprintf(html, sizeof html, "<b>Daily summary</b>\n%s", esc);
        nx_bot_tell_chat(e->bot, u.chat_id, html);
    }
    return nx_store_audit(e->store, user_id, u.chat_id, "daily_report", r.text);
}

/* The writer's tap: a stored journal entry may be something a person is
 * told (service thread). */
static void bot_entry(void *ctx, const nx_event_t *ev)
{
    nx_engine_t *e = ctx;
    if (e->bot)
        nx_bot_on_event(e->bot, ev);
}

/* Service thread: the storage writer, the scheduler and the chat bot. At
 * shutdown the journal ring is closed after the engine thread's last
 * entry; everything in it is stored before the thread ends. */
static void *service_main(void *arg)
{
    nx_engine_t *e = arg;
    if (e->tg || e->console) {
        e->bot = nx_bot_create(e, e->tg, e->console);
        if (e->bot && e->recovery_notes[0]) {
            char html[1200], esc[1100];
            nx_tg_escape(e->recovery_notes, esc, sizeof esc);
            snprintf(html, sizeof html, "<b>Held at start</b>: saved state and venue disagree\n%s", esc);
            nx_bot_tell_owner(e->bot, html);
        }
    }
    int64_t every = (int64_t)e->cfg->engine.stats_interval_s * NX_NS_PER_SEC;
    int64_t next_stats = nx_mono_ns() + every, next_sched = 0;
    for (;;) {
        if (nx_mono_ns() >= next_sched) { /* due tasks, once a second */
            int ran = nx_sched_run_due(e->store, nx_real_ns() / NX_NS_PER_MS, e->cfg->storage.catch_up_tasks,
                                       run_task, e);
            if (ran < 0)
                NX_LOGK(NX_LOG_WARN, "sched", "sched.run", "scheduled tasks not run: %s",
                        nx_store_error(e->store));
            next_sched = nx_mono_ns() + NX_NS_PER_SEC;
        }
        if (e->bot)
            nx_bot_poll(e->bot);
        int n = nx_writer_step(e->writer, (e->bot ? 20 : 100) * NX_NS_PER_MS);
        if (n > 0)
            atomic_fetch_add_explicit(&e->journal_written, (uint64_t)n, memory_order_relaxed);
        else if (n == 0 && nx_ring_is_closed(e->journal))
            break;
        else if (n < 0)
            sleep_ns(100 * NX_NS_PER_MS); /* the database is away: the ring holds the entries */
        if (every && nx_mono_ns() >= next_stats) {
            stats_line(e);
            next_stats += every;
        }
    }
    uint64_t before = nx_writer_written(e->writer);
    int rc = nx_writer_drain(e->writer, 50);
    atomic_fetch_add_explicit(&e->journal_written, nx_writer_written(e->writer) - before,
                              memory_order_relaxed);
    if (rc)
        NX_ERROR("store", "journal entries could not be stored before exit: %s",
                 nx_store_error(e->store));
    return NULL;
}

/* Client-order and approval ids continue after the stored ones. */
static int resume_ids(nx_engine_t *e)
{
    uint32_t req = 0;
    int rc = nx_store_last_request(e->store, &req);
    if (!rc)
        nx_desk_resume_requests(e->desk, req);
    for (uint32_t s = 1; !rc && s <= nx_desk_sessions(e->desk); s++) {
        uint64_t seq = 0;
        if (!(rc = nx_store_last_client_seq(e->store, s, &seq)))
            rc = nx_desk_resume_ids(e->desk, s, seq);
    }
    if (rc)
        NX_ERROR("store", "cannot read the last order and request ids: %s",
                 nx_store_error(e->store));
    return rc;
}

/* ---- recovery (start-up, before any thread) ------------------------------ */

typedef struct recovery {
    nx_engine_t *e;
    nx_desk_fills_t *f;
    int n, cap, held;
} recovery_t;

static void recovery_report(void *ctx, uint32_t session, const char *text)
{
    recovery_t *r = ctx;
    char detail[320];
    snprintf(detail, sizeof detail, "session %u: %s", session, text);
    size_t used = strlen(r->e->recovery_notes);
    snprintf(r->e->recovery_notes + used, sizeof r->e->recovery_notes - used, "%s\n", detail);
    /* the owner reads it in the audit log (and from the chat bot) */
    if (nx_store_audit(r->e->store, 0, r->e->cfg->storage.owner_chat_id, "reconcile_mismatch",
                       detail))
        NX_ERROR("store", "cannot record a reconciliation report: %s",
                 nx_store_error(r->e->store));
}

static int recover_order(void *ctx, const nx_store_order_t *o)
{
    recovery_t *r = ctx;
    int rc = o->ok ? nx_desk_restore_order(r->e->desk, &o->in, o->symbol) : NX_EINVAL;
    if (rc) /* the venue lacks it: reconciliation holds its session */
        NX_ERROR("recovery", "stored order %llu (session %u) cannot rest at the venue again: %s",
                 (unsigned long long)o->in.client_id, o->in.session, nx_strerror(rc));
    return 0;
}

static int recover_fill(void *ctx, const nx_store_fill_t *f)
{
    recovery_t *r = ctx;
    /* an unreadable fill proves nothing: its session is held (nx_desk_reconcile) */
    uint32_t symbol = f->ok ? f->symbol : NX_SYMBOL_NONE;
    nx_desk_fills_t *last = r->n ? &r->f[r->n - 1] : NULL;
    if (f->ok && last && last->session == f->session && last->symbol == f->symbol) {
        last->net_qty += f->qty;
        if (f->seq > last->last_seq)
            last->last_seq = f->seq;
        return 0;
    }
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 64;
        nx_desk_fills_t *g = realloc(r->f, (size_t)cap * sizeof *g);
        if (!g)
            return 1;
        r->f = g;
        r->cap = cap;
    }
    r->f[r->n++] = (nx_desk_fills_t){f->session, symbol, f->ok ? f->qty : 0, f->seq};
    return 0;
}

static int recover_state(void *ctx, uint32_t session, uint64_t seq, const char *text, size_t len)
{
    recovery_t *r = ctx;
    nx_desk_restore(r->e->desk, session, seq, text, len); /* a failure holds the session */
    return 0;
}

/* The venue's book, then each session's saved state, then both against
 * the stored fills: a session that does not agree stays paused. */
static int recover(nx_engine_t *e)
{
    recovery_t r = {e, NULL, 0, 0, 0};
    uint64_t last_fill = 0;
    int rc = nx_store_last_fill_id(e->store, &last_fill);
    if (!rc) {
        nx_desk_resume_fills(e->desk, last_fill);
        rc = nx_store_open_orders(e->store, e->symtab, recover_order, &r);
    }
    if (!rc)
        rc = nx_store_states(e->store, recover_state, &r);
    if (!rc)
        rc = nx_store_fills(e->store, e->symtab, recover_fill, &r);
    if (rc) {
        NX_ERROR("store", "cannot read the saved state: %s", nx_store_error(e->store));
        free(r.f);
        return rc;
    }
    r.held = nx_desk_reconcile(e->desk, r.f, r.n, recovery_report, &r);
    free(r.f);
    if (r.held)
        NX_ERROR("recovery",
                 "%d session%s paused: the saved state and the venue disagree (see above and "
                 "the audit log); resume each after checking it",
                 r.held, r.held == 1 ? "" : "s");
    return 0;
}

/* Storage: DATABASE_URL (PostgreSQL) or data_dir/nexus.db (SQLite),
 * migrated; the master key checked when there is one, or required when
 * the database holds sealed keys; the owner from the config. */
static int storage_init(nx_engine_t *e)
{
    const nx_config_t *cfg = e->cfg;
    char err[512];
    const char *url = getenv("DATABASE_URL");
    int rc = nx_store_open(&e->store, url, cfg->data_dir, err, sizeof err);
    if (rc) {
        NX_ERROR("store", "cannot open storage: %s", err);
        return rc;
    }
    int applied, version;
    if ((rc = nx_store_migrate(e->store, 0, &applied)) ||
        (rc = nx_store_version(e->store, &version))) {
        NX_ERROR("store", "%s", nx_store_error(e->store));
        return rc;
    }
    nx_vault_t *v = NULL;
    rc = nx_vault_load(&v, cfg->storage.key_file, err, sizeof err);
    if (rc == NX_ENOENT && !nx_vault_needed(e->store)) {
        rc = 0; /* no keys stored, none needed: paper trading */
    } else if (rc) {
        NX_ERROR("store", "%s%s", err,
                 rc == NX_ENOENT ? " (this database holds sealed API keys)" : "");
        return rc;
    } else if ((rc = nx_vault_unlock(v, e->store, err, sizeof err))) {
        NX_ERROR("store", "%s", err);
        nx_vault_free(v);
        return rc;
    }
    nx_vault_free(v); /* opened again, into locked memory, when a request must be signed */
    if (cfg->storage.owner_chat_id) {
        nx_user_t u;
        rc = nx_store_user_get(e->store, cfg->storage.owner_chat_id, 0, &u);
        if (rc == NX_ENOENT)
            rc = nx_store_user_add(e->store, cfg->storage.owner_chat_id, cfg->storage.owner_name,
                                   NX_ROLE_OWNER, "UTC", NULL);
        else if (rc == 0 && u.role != NX_ROLE_OWNER)
            rc = nx_store_user_set_role(e->store, u.id, NX_ROLE_OWNER);
        if (rc) {
            NX_ERROR("store", "cannot record the owner: %s", nx_store_error(e->store));
            return rc;
        }
    }
    nx_writer_opts_t wo = {e->store, e->symtab, e->journal, 0, cfg->storage.batch, NULL, e,
                           bot_entry};
    if ((rc = nx_writer_create(&e->writer, &wo)))
        return rc;
    uint64_t last;
    nx_store_journal_last(e->store, &last);
    NX_INFO("store", "%s storage at schema version %d (%d migration%s applied), journal continues "
            "after entry %llu",
            nx_store_kind_name(e->store), version, applied, applied == 1 ? "" : "s",
            (unsigned long long)last);
    return 0;
}

/* Where the built-in plugins live when the config does not say: next to
 * the binary (build/bin/../plugins, or an install's ../lib/nexus/plugins). */
static void plugin_dir(const nx_config_t *cfg, char *out, size_t cap)
{
    if (cfg->cortex.plugin_dir[0]) {
        snprintf(out, cap, "%s", cfg->cortex.plugin_dir);
        return;
    }
    char exe[200];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(out, cap, "plugins");
        return;
    }
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = 0;
    snprintf(out, cap, "%s/../plugins", exe);
    if (access(out, F_OK) != 0)
        snprintf(out, cap, "%s/../lib/nexus/plugins", exe);
}

/* Create the cortex and load every configured strategy, Sentinel always.
 * A plugin that is refused is logged with its file and reason; the engine
 * runs on the others. Only a failure to create the cortex is fatal. */
static int cortex_init(nx_engine_t *e)
{
    const nx_config_t *c = e->cfg;
    if (!c->n_symbols)
        return 0;
    const char *keys[NX_CONFIG_MAX_KEYS];
    for (uint32_t i = 0; i < c->cortex.n_keys; i++)
        keys[i] = c->cortex.trusted_keys[i];
    nx_cortex_opts_t o = {0};
    o.symtab = e->symtab;
    o.tf_s = c->cortex.tf_s;
    o.ntf = c->cortex.ntf;
    o.candles_from_trades = c->cortex.candles_from_trades;
    o.allow_unsigned = c->cortex.allow_unsigned;
    o.trusted_keys = keys;
    o.n_trusted = c->cortex.n_keys;
    o.watch = c->cortex.watch;
    o.on_signal = on_signal;
    o.on_candle = on_candle;
    o.ctx = e;
    o.market_read = 1; /* what /regime shows */
    int rc = nx_cortex_create(&e->cortex, &o);
    if (rc)
        return rc;
    if (c->cortex.allow_unsigned)
        NX_WARN("cortex", "cortex.allow_unsigned is on: plugins load without a signature check "
                          "(development only)");
    char dir[NX_PATH_MAX], path[NX_PATH_MAX + 64], err[512];
    plugin_dir(c, dir, sizeof dir);
    int have_sentinel = 0;
    for (uint32_t i = 0; i <= c->cortex.n_strategies; i++) {
        nx_config_strategy_t sentinel;
        const nx_config_strategy_t *s = &c->cortex.strategies[i];
        if (i == c->cortex.n_strategies) {
            if (have_sentinel)
                break;
            memset(&sentinel, 0, sizeof sentinel); /* always on, with its defaults */
            snprintf(sentinel.plugin, sizeof sentinel.plugin, "sentinel");
            snprintf(sentinel.name, sizeof sentinel.name, "sentinel");
            snprintf(sentinel.params, sizeof sentinel.params, "{}");
            s = &sentinel;
        }
        have_sentinel |= !strcmp(s->plugin, "sentinel");
        if (s->path[0])
            snprintf(path, sizeof path, "%s", s->path);
        else
            snprintf(path, sizeof path, "%s/%s.so", dir, s->plugin);
        nx_strategy_conf_t sc = {0};
        sc.name = s->name;
        sc.path = path;
        sc.params_json = s->params;
        sc.symbols = s->symbols;
        sc.nsym = s->n_symbols;
        sc.tf_s = s->tf_s;
        sc.ntf = s->ntf;
        if (nx_cortex_add_strategy(e->cortex, &sc, err, sizeof err) < 0)
            NX_ERROR("cortex", "strategy %s not loaded: %s", s->name, err);
    }
    return 0;
}

/* Everything nx_engine_init made, whatever it got to (each part may be
 * NULL): shared by a failed start and by nx_engine_destroy. */
static void release(nx_engine_t *e)
{
    nx_bot_destroy(e->bot);
    e->bot = NULL;
    nx_tg_destroy(e->tg); /* stopped with the network thread's context */
    e->tg = NULL;
    nx_net_destroy(e->net); /* when the network thread never ran */
    e->net = NULL;
    for (uint32_t i = 0; i < e->n_feeds; i++)
        nx_feed_destroy(e->feeds[i]);
    e->n_feeds = 0;
    nx_desk_destroy(e->desk);
    e->desk = NULL;
    nx_cortex_destroy(e->cortex);
    e->cortex = NULL;
    nx_writer_destroy(e->writer);
    e->writer = NULL;
    nx_store_close(e->store);
    e->store = NULL;
    nx_ring_destroy(e->journal);
    nx_ring_destroy(e->orders);
    nx_ring_destroy(e->market);
    e->journal = e->orders = e->market = NULL;
    free(e->symtab);
    e->symtab = NULL;
}

int nx_engine_init(nx_engine_t *e, const nx_config_t *cfg)
{
    memset(e, 0, sizeof *e);
    e->cfg = cfg;
    pthread_mutex_init(&e->call_mu, NULL);
    if (cfg->engine.clock == NX_CLOCK_SIM)
        nx_clock_init_sim(&e->clock, 0);
    else
        nx_clock_init_live(&e->clock);
    int rc;
    e->symtab = malloc(sizeof *e->symtab);
    if (!e->symtab)
        return NX_ENOMEM;
    nx_symtab_init(e->symtab);
    if ((rc = nx_config_symbols_intern(cfg, e->symtab)) ||
        (rc = nx_ring_create(&e->market, "market", cfg->engine.market_ring, sizeof(nx_event_t), 1,
                             NX_RING_NEVER_BLOCK, cfg->engine.wait)) ||
        (rc = nx_ring_create(&e->orders, "orders", cfg->engine.order_ring, sizeof(nx_event_t), 1,
                             NX_RING_NO_DROP, NX_WAIT_SPIN_YIELD)) ||
        (rc = nx_ring_create(&e->journal, "journal", cfg->engine.journal_ring, sizeof(nx_event_t),
                             1, NX_RING_NO_DROP, NX_WAIT_BLOCK)) ||
        (rc = storage_init(e)) || (rc = cortex_init(e)) ||
        (rc = nx_desk_create(&e->desk, cfg, e->symtab, desk_journal, e)) ||
        (e->desk && ((rc = resume_ids(e)) || (rc = recover(e))))) {
        release(e); /* the desk too, when recovery failed after creating it */
        return rc;
    }
    return 0;
}

/* The Telegram bot, when NEXUS_TELEGRAM_TOKEN is set: on the network
 * thread's libwebsockets context, made before the thread runs. */
static int chat_start(nx_engine_t *e)
{
    const char *token = getenv("NEXUS_TELEGRAM_TOKEN");
    if (!token || !*token)
        return 0;
    nx_log_add_secret(token);
    const char *secret = getenv("NEXUS_TELEGRAM_WEBHOOK_SECRET");
    if (secret && *secret)
        nx_log_add_secret(secret);
    if (net_make(e))
        return NX_ESYSTEM;
    const nx_config_t *c = e->cfg;
    nx_tg_opts_t o = {0};
    o.api_url = c->chat.api_url;
    o.token = token;
    o.poll_timeout_s = c->chat.poll_timeout_s;
    o.webhook_url = c->chat.webhook ? c->chat.webhook_url : NULL;
    o.webhook_port = c->chat.webhook_port;
    o.webhook_secret = secret;
    o.chat_per_s = c->chat.chat_per_s;
    o.global_per_s = c->chat.global_per_s;
    o.commands_json = nx_bot_commands_json();
    e->tg = nx_tg_create(nx_net_context(e->net), &o);
    if (!e->tg)
        return NX_EINVAL;
    return nx_tg_start(e->tg);
}

int nx_engine_start(nx_engine_t *e)
{
    e->start_mono_ns = nx_mono_ns();
    int frc = feeds_create(e);
    if (frc)
        NX_ERROR("feed", "cannot start the market-data feeds: %s", nx_strerror(frc));
    int crc = chat_start(e);
    if (crc) {
        NX_ERROR("chat", "cannot start the Telegram bot: %s", nx_strerror(crc));
        return crc;
    }
    if (e->cortex) {
        int rc = nx_cortex_start(e->cortex);
        if (rc) {
            NX_ERROR("cortex", "cannot start the cortex: %s", nx_strerror(rc));
            return rc;
        }
    }
    if (pthread_create(&e->th_service, NULL, service_main, e))
        return NX_ESYSTEM;
    if (pthread_create(&e->th_engine, NULL, engine_main, e))
        goto fail_engine;
    if (pthread_create(&e->th_network, NULL, network_main, e))
        goto fail_network;
    e->started = 1;
    return 0;

fail_network:
    nx_ring_close(e->market);
    pthread_join(e->th_engine, NULL);
fail_engine:
    nx_ring_close(e->journal);
    pthread_join(e->th_service, NULL);
    return NX_ESYSTEM;
}

void nx_engine_request_stop(nx_engine_t *e)
{
    atomic_store_explicit(&e->stop, 1, memory_order_release);
}

void nx_engine_join(nx_engine_t *e)
{
    if (!e->started)
        return;
    pthread_join(e->th_network, NULL);
    pthread_join(e->th_engine, NULL);
    pthread_join(e->th_service, NULL);
    e->started = 0;
}

void nx_engine_destroy(nx_engine_t *e)
{
    nx_desk_summary(e->desk);
    if (e->cortex) {
        nx_cortex_stats_t cs;
        nx_cortex_stats(e->cortex, &cs);
        NX_INFO("cortex",
                "events=%llu candles=%llu gaps=%llu signals=%llu swaps=%llu reload_failures=%llu",
                (unsigned long long)cs.events, (unsigned long long)cs.candles_closed,
                (unsigned long long)cs.candle_gaps, (unsigned long long)cs.signals,
                (unsigned long long)cs.swaps, (unsigned long long)cs.reload_failures);
        for (uint32_t i = 0; i < cs.strategies; i++) {
            nx_strategy_info_t in;
            if (nx_cortex_strategy_info(e->cortex, (int)i, &in) == 0)
                NX_INFO("cortex", "strategy %s (%s %s): candles=%llu signals=%llu swaps=%llu",
                        in.name, in.plugin, in.version, (unsigned long long)in.calls,
                        (unsigned long long)in.signals, (unsigned long long)in.swaps);
        }
    }
    release(e);
}

void nx_engine_summary(const nx_engine_t *e, char *buf, size_t cap)
{
    const nx_config_t *c = e->cfg;
    char syms[256];
    size_t o = 0;
    syms[0] = 0;
    for (uint32_t i = 0; i < c->n_symbols && o < sizeof syms - 32; i++)
        o += (size_t)snprintf(syms + o, sizeof syms - o, "%s%s:%s", i ? "," : "",
                              nx_venue_name(c->symbols[i].venue), c->symbols[i].symbol);
    snprintf(buf, cap,
             "nexus %s up: config=%s clock=%s wait=%s rings market=%u(never-block) "
             "orders=%u(no-drop) journal=%u(no-drop) event=%zuB symbols=%u[%s] "
             "threads=network,engine,service cpus=%ld log=%s/%s",
             NX_VERSION_STRING, c->path, c->engine.clock == NX_CLOCK_SIM ? "sim" : "live",
             nx_wait_name(c->engine.wait), c->engine.market_ring, c->engine.order_ring,
             c->engine.journal_ring, sizeof(nx_event_t), c->n_symbols, syms,
             sysconf(_SC_NPROCESSORS_ONLN), nx_log_level_name(c->log.level),
             c->log.format == NX_LOG_JSON ? "json" : "text");
}
