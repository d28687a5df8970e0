/*
 * engine_web.c — the engine's operations surface: /metrics in the
 * Prometheus text format and /health, served by nx_web on its own thread,
 * and systemd's notifications (READY, WATCHDOG from the engine thread's
 * loop, STOPPING).
 *
 * What the web thread reads, it reads from counters other threads publish:
 * the feeds' and rings' own relaxed statistics, the cortex's per-strategy
 * counters (any thread), and the engine's atomics (engine.h): the engine
 * thread's heartbeat and histograms, the service thread's counts of what
 * the journal carried (orders, fills, rejections, decisions, closed
 * trades) and its watch of each feed's last event. Nothing here runs on
 * the engine thread but engine_ops_beat (a clock read per pass of its
 * loop, and a datagram to systemd when its watchdog is due) and the
 * tick-to-order observation at an order (a clock read).
 *
 * No label carries a user's name, a chat id or anything secret: venues,
 * feed numbers, strategy names, reasons and modes, all bounded.
 */
#include "engine.h"

#include "nx/clock.h"
#include "nx/error.h"
#include "nx/log.h"
#include "nx/prom.h"
#include "nx/shield.h"
#include "nx/web.h"
#include "nx/web_auth.h"

#include <jansson.h>
#include <sodium.h>
#include <ctype.h>
#include <dirent.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <systemd/sd-daemon.h>

/* Seconds: tick-to-order is microseconds, an order's round trip to a venue
 * milliseconds. */
static const double TTO_LE[] = {1e-6,   2e-6,   5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4,
                                5e-4,   1e-3,   5e-3, 1e-2, 0.1,  1.0};
static const double RTT_LE[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                0.1,    0.2,   0.5,   1.0,   2.0,  5.0};

void engine_ops_init(nx_engine_t *e)
{
    nx_prom_hist_init(&e->tick_to_order, TTO_LE, sizeof TTO_LE / sizeof TTO_LE[0]);
    nx_prom_hist_init(&e->order_rtt, RTT_LE, sizeof RTT_LE / sizeof RTT_LE[0]);
    int64_t now = nx_mono_ns();
    atomic_store_explicit(&e->beat_mono_ns, now, memory_order_relaxed);
    for (uint32_t i = 0; i < NX_CONFIG_MAX_FEEDS; i++)
        atomic_store_explicit(&e->feed_change_ns[i], now, memory_order_relaxed);
    uint64_t usec = 0;
    /* WATCHDOG_USEC from systemd (Type=notify, WatchdogSec=): a ping at
     * half of it */
    if (sd_watchdog_enabled(0, &usec) > 0 && usec)
        e->watchdog_ns = (int64_t)usec * 1000 / 2;
}

/* ---- engine thread ------------------------------------------------------------------- */

void engine_ops_beat(nx_engine_t *e)
{
    int64_t now = nx_mono_ns();
    atomic_store_explicit(&e->beat_mono_ns, now, memory_order_relaxed);
    if (e->watchdog_ns && now >= e->watchdog_next) {
        sd_notify(0, "WATCHDOG=1");
        e->watchdog_next = now + e->watchdog_ns;
    }
}

void engine_ops_order(nx_engine_t *e, const nx_event_t *intent)
{
    /* from the market event being handled to its order, on the engine's
     * real clock (a simulated clock's times are the data's) */
    if (e->clock.kind == NX_CLOCK_LIVE && e->cur_recv_ns > 0 && !intent->u.intent.amend)
        nx_prom_hist_observe(&e->tick_to_order, nx_real_ns() - e->cur_recv_ns);
    if (intent->u.intent.client_id) { /* a live venue's answer closes the round trip */
        engine_rtt_t *r = &e->rtt[e->rtt_next++ % NX_ENGINE_RTT];
        r->clid = intent->u.intent.client_id;
        r->sent_ns = nx_real_ns();
    }
}

void engine_ops_answer(nx_engine_t *e, const nx_ev_order_update_t *u, int64_t recv_ns)
{
    for (uint32_t i = 0; u->client_id && i < NX_ENGINE_RTT; i++) {
        engine_rtt_t *r = &e->rtt[i];
        if (r->clid == u->client_id) {
            if (recv_ns > r->sent_ns)
                nx_prom_hist_observe(&e->order_rtt, recv_ns - r->sent_ns);
            r->clid = 0;
            return;
        }
    }
}

/* ---- service thread ------------------------------------------------------------------ */

void engine_ops_journal(nx_engine_t *e, const nx_event_t *ev)
{
#define BUMP(x) atomic_fetch_add_explicit(&(x), 1, memory_order_relaxed)
    switch (ev->hdr.type) {
    case NX_EV_ORDER_INTENT:
        BUMP(e->ops.orders[ev->u.intent.amend ? 1 : 0]);
        break;
    case NX_EV_ORDER_UPDATE: {
        const nx_ev_order_update_t *u = &ev->u.order;
        if (u->last_qty > 0)
            BUMP(e->ops.fills);
        if (u->status == NX_OS_REJECTED)
            BUMP(e->ops.order_rejects[u->reason < 5 ? u->reason : 0]);
        break;
    }
    case NX_EV_DECISION: {
        const nx_ev_decision_t *d = &ev->u.decision;
        BUMP(e->ops.decisions[d->verdict < NX_OPS_VERDICTS ? d->verdict : 0]);
        if (d->verdict == NX_V_REJECT && d->reason < NX_REJ_COUNT)
            BUMP(e->ops.risk_rejects[d->reason]);
        break;
    }
    case NX_EV_NOTICE:
        if (ev->u.notice.kind == NX_NOTE_CLOSED && ev->u.notice.reason < 16)
            BUMP(e->ops.closed[ev->u.notice.reason]);
        break;
    default:
        break;
    }
#undef BUMP
}

void engine_ops_watch(nx_engine_t *e)
{
    int64_t now = nx_mono_ns();
    for (uint32_t i = 0; i < e->n_feeds; i++) {
        nx_feed_stats_t st;
        nx_feed_stats(e->feeds[i], &st);
        if (st.events != e->feed_events_seen[i]) {
            e->feed_events_seen[i] = st.events;
            atomic_store_explicit(&e->feed_change_ns[i], now, memory_order_relaxed);
        }
    }
}

/* ---- web thread ---------------------------------------------------------------------- */

static const char *const VERDICTS[NX_OPS_VERDICTS] = {"reject", "approve", "resize", "notify",
                                                      "ask"};
static const char *const MODES[3] = {"watcher", "copilot", "pilot"};
static const char *const RINGS[3] = {"market", "orders", "journal"};
/* label values are identifiers, not the words people are told */
static const char *const BAD[7] = {"none", "price", "qty", "kline", "band", "time", "duplicate"};
static const char *const OREJ[5] = {"other", "no_price", "book_full", "max_open", "venue"};

static int feed_connected(const nx_feed_stats_t *st)
{
    return st->connects > st->disconnects;
}

static double age_s(int64_t since_ns, int64_t now)
{
    return since_ns && now > since_ns ? (double)(now - since_ns) / 1e9 : 0;
}

static int render_metrics(void *ctx, char *buf, size_t cap, const char **type)
{
    nx_engine_t *e = ctx;
    *type = "text/plain; version=0.0.4; charset=utf-8";
    nx_prom_t p;
    nx_prom_init(&p, buf, cap);
    int64_t now = nx_mono_ns();
    char num[16];

    nx_prom_family(&p, "nexus_build_info", "gauge", "The running Nexus (always 1).");
    nx_prom_sample(&p, "nexus_build_info", (const char *[]){"version", NX_VERSION_STRING, NULL}, 1);
    nx_prom_family(&p, "nexus_uptime_seconds", "gauge", "Seconds since the engine started.");
    nx_prom_sample(&p, "nexus_uptime_seconds", NULL, age_s(e->start_mono_ns, now));

    /* feeds */
    static const struct {
        const char *name, *type, *help;
    } FEED[] = {
        {"nexus_feed_connected", "gauge", "1 while the feed's connection is up."},
        {"nexus_feed_frames_total", "counter", "WebSocket frames received."},
        {"nexus_feed_events_total", "counter", "Market events decoded from them."},
        {"nexus_feed_parse_errors_total", "counter", "Frames that could not be decoded."},
        {"nexus_feed_connects_total", "counter", "Connections made (the first and reconnects)."},
        {"nexus_feed_disconnects_total", "counter", "Connections lost or closed."},
        {"nexus_feed_backfill_requests_total", "counter", "REST backfill requests after a gap."},
        {"nexus_feed_backfill_klines_total", "counter", "Candles the backfills brought."},
        {"nexus_feed_book_gaps_total", "counter", "Order-book sequence gaps (each resynced)."},
        {"nexus_feed_http_429_total", "counter", "REST answers 429 (slow down)."},
        {"nexus_feed_last_event_age_seconds", "gauge", "Seconds since the feed's last event."},
    };
    nx_feed_stats_t fs[NX_CONFIG_MAX_FEEDS];
    for (uint32_t i = 0; i < e->n_feeds; i++)
        nx_feed_stats(e->feeds[i], &fs[i]);
    for (size_t m = 0; m < sizeof FEED / sizeof FEED[0]; m++) {
        nx_prom_family(&p, FEED[m].name, FEED[m].type, FEED[m].help);
        for (uint32_t i = 0; i < e->n_feeds; i++) {
            const nx_feed_stats_t *st = &fs[i];
            snprintf(num, sizeof num, "%u", i);
            const char *lab[] = {"venue", nx_venue_name(e->cfg->feeds[i].venue), "feed", num,
                                 NULL};
            const double v[] = {
                feed_connected(st),         (double)st->frames,
                (double)st->events,         (double)st->errors,
                (double)st->connects,       (double)st->disconnects,
                (double)st->backfill_requests, (double)st->backfill_klines,
                (double)st->book_gaps,      (double)st->http429,
                age_s(atomic_load_explicit(&e->feed_change_ns[i], memory_order_relaxed), now)};
            _Static_assert(sizeof v / sizeof v[0] == sizeof FEED / sizeof FEED[0],
                           "a value per feed metric");
            nx_prom_sample(&p, FEED[m].name, lab, v[m]);
        }
    }
    nx_prom_family(&p, "nexus_market_quarantined_total", "counter",
                   "Market events the bad-tick filter held out, by why.");
    for (int k = 1; k < NX_BAD_COUNT && k < 7; k++)
        nx_prom_sample(&p, "nexus_market_quarantined_total", (const char *[]){"kind", BAD[k], NULL},
                       (double)atomic_load_explicit(&e->quarantined[k], memory_order_relaxed));

    /* rings */
    nx_ring_t *rings[3] = {e->market, e->orders, e->journal};
    nx_ring_stats_t rs[3];
    for (int r = 0; r < 3; r++)
        nx_ring_stats(rings[r], &rs[r]);
    nx_prom_family(&p, "nexus_ring_published_total", "counter", "Events published on the ring.");
    for (int r = 0; r < 3; r++)
        nx_prom_sample(&p, "nexus_ring_published_total", (const char *[]){"ring", RINGS[r], NULL},
                       (double)rs[r].published);
    nx_prom_family(&p, "nexus_ring_overruns_total", "counter",
                   "Events dropped because the ring was full (market data only).");
    for (int r = 0; r < 3; r++)
        nx_prom_sample(&p, "nexus_ring_overruns_total", (const char *[]){"ring", RINGS[r], NULL},
                       (double)rs[r].overruns);
    nx_prom_family(&p, "nexus_ring_fill_ratio", "gauge",
                   "Events published and not yet consumed, over the ring's capacity.");
    for (int r = 0; r < 3; r++)
        nx_prom_sample(&p, "nexus_ring_fill_ratio", (const char *[]){"ring", RINGS[r], NULL},
                       rs[r].capacity ? (double)rs[r].max_lag / (double)rs[r].capacity : 0);

    /* the engine thread */
    nx_prom_family(&p, "nexus_engine_events_total", "counter",
                   "Market events the engine thread took.");
    nx_prom_sample(&p, "nexus_engine_events_total", NULL,
                   (double)atomic_load_explicit(&e->engine_events, memory_order_relaxed));
    nx_prom_family(&p, "nexus_engine_heartbeat_age_seconds", "gauge",
                   "Seconds since the engine thread's loop last went round.");
    nx_prom_sample(&p, "nexus_engine_heartbeat_age_seconds", NULL,
                   age_s(atomic_load_explicit(&e->beat_mono_ns, memory_order_relaxed), now));
    nx_prom_family(&p, "nexus_tick_to_order_seconds", "histogram",
                   "From a market event's receipt to the order it caused.");
    nx_prom_hist_write(&p, "nexus_tick_to_order_seconds", NULL, &e->tick_to_order);
    nx_prom_family(&p, "nexus_order_round_trip_seconds", "histogram",
                   "From an order sent to a live venue to the venue's first answer.");
    nx_prom_hist_write(&p, "nexus_order_round_trip_seconds", NULL, &e->order_rtt);

    /* live venues (nx_bnlive_stats: any thread) */
    {
        static const struct {
            const char *name, *type, *help;
        } LV[] = {
            {"nexus_venue_orders_sent_total", "counter",
             "Requests sent to a live venue, by path (WebSocket API or REST)."},
            {"nexus_venue_rejects_total", "counter", "Orders a live venue refused."},
            {"nexus_venue_rate_limited_total", "counter", "Answers 429 or 418 from a live venue."},
            {"nexus_venue_held_for_quota_total", "counter",
             "Requests held back to stay within the venue's quotas."},
            {"nexus_venue_request_weight_used", "gauge",
             "The venue's last reported request weight of the minute (X-MBX-USED-WEIGHT-1M)."},
            {"nexus_venue_quota_peak_ratio", "gauge",
             "The highest share of each quota used so far (request weight a minute, orders "
             "per 10 s and per minute)."},
            {"nexus_venue_user_streams_up", "gauge", "Accounts whose user-data stream is up."},
        };
        nx_bnlive_stats_t ls[3];
        int have[3] = {0};
        for (int x = 1; x < 3; x++)
            if (e->live[x]) {
                nx_bnlive_stats(e->live[x], &ls[x]);
                have[x] = 1;
            }
        for (size_t k = 0; k < sizeof LV / sizeof LV[0]; k++) {
            nx_prom_family(&p, LV[k].name, LV[k].type, LV[k].help);
            for (int x = 1; x < 3; x++) {
                if (!have[x])
                    continue;
                const char *v = nx_config_execution_name((uint32_t)x);
                const nx_bnlive_stats_t *st = &ls[x];
                if (k == 0) {
                    nx_prom_sample(&p, LV[k].name, (const char *[]){"venue", v, "path", "ws", NULL},
                                   (double)st->sent_ws);
                    nx_prom_sample(&p, LV[k].name,
                                   (const char *[]){"venue", v, "path", "rest", NULL},
                                   (double)st->sent_rest);
                } else if (k == 5) {
                    nx_prom_sample(&p, LV[k].name,
                                   (const char *[]){"venue", v, "quota", "weight_1m", NULL},
                                   st->max_weight_pct / 100.0);
                    nx_prom_sample(&p, LV[k].name,
                                   (const char *[]){"venue", v, "quota", "orders_10s", NULL},
                                   st->max_orders_10s_pct / 100.0);
                    nx_prom_sample(&p, LV[k].name,
                                   (const char *[]){"venue", v, "quota", "orders_1m", NULL},
                                   st->max_orders_1m_pct / 100.0);
                } else {
                    double val = k == 1   ? (double)st->rejects
                                 : k == 2 ? (double)st->rate_limited
                                 : k == 3 ? (double)st->held_for_quota
                                 : k == 4 ? (double)st->used_weight
                                          : (double)st->streams_up;
                    nx_prom_sample(&p, LV[k].name, (const char *[]){"venue", v, NULL}, val);
                }
            }
        }
    }

    /* strategies (nx_cortex_strategy_info: any thread) */
    if (e->cortex) {
        nx_strategy_info_t in[64];
        int ns = 0;
        while (ns < 64 && !nx_cortex_strategy_info(e->cortex, ns, &in[ns]))
            ns++;
        nx_prom_family(&p, "nexus_signals_total", "counter", "Signals a strategy made.");
        for (int i = 0; i < ns; i++)
            nx_prom_sample(&p, "nexus_signals_total", (const char *[]){"strategy", in[i].name, NULL},
                           (double)in[i].signals);
        nx_prom_family(&p, "nexus_signals_refused_total", "counter",
                       "Signals the cortex refused (malformed, or routed away by regime).");
        for (int i = 0; i < ns; i++)
            nx_prom_sample(&p, "nexus_signals_refused_total",
                           (const char *[]){"strategy", in[i].name, NULL},
                           (double)(in[i].refused_signals + in[i].unrouted));
    }

    /* what the journal carried */
    nx_prom_family(&p, "nexus_orders_total", "counter", "Orders sent, and amends of them.");
    nx_prom_sample(&p, "nexus_orders_total", (const char *[]){"kind", "new", NULL},
                   (double)atomic_load(&e->ops.orders[0]));
    nx_prom_sample(&p, "nexus_orders_total", (const char *[]){"kind", "amend", NULL},
                   (double)atomic_load(&e->ops.orders[1]));
    nx_prom_family(&p, "nexus_fills_total", "counter", "Fills of orders.");
    nx_prom_sample(&p, "nexus_fills_total", NULL, (double)atomic_load(&e->ops.fills));
    nx_prom_family(&p, "nexus_order_rejections_total", "counter",
                   "Orders a venue refused, by why.");
    for (int r = 0; r < 5; r++)
        nx_prom_sample(&p, "nexus_order_rejections_total", (const char *[]){"reason", OREJ[r], NULL},
                       (double)atomic_load(&e->ops.order_rejects[r]));
    nx_prom_family(&p, "nexus_decisions_total", "counter",
                   "The risk shield's decisions on signals, by verdict.");
    for (int v = 0; v < NX_OPS_VERDICTS; v++)
        nx_prom_sample(&p, "nexus_decisions_total", (const char *[]){"verdict", VERDICTS[v], NULL},
                       (double)atomic_load(&e->ops.decisions[v]));
    nx_prom_family(&p, "nexus_risk_rejections_total", "counter",
                   "Signals the risk shield refused, by why.");
    for (int r = 1; r < NX_REJ_COUNT; r++)
        nx_prom_sample(&p, "nexus_risk_rejections_total",
                       (const char *[]){"reason", nx_reject_name((nx_reject_t)r), NULL},
                       (double)atomic_load(&e->ops.risk_rejects[r]));
    nx_prom_family(&p, "nexus_trades_closed_total", "counter", "Trades closed, by exit reason.");
    for (int r = 1; r <= NX_EXIT_ADL; r++)
        nx_prom_sample(&p, "nexus_trades_closed_total",
                       (const char *[]){"reason", nx_exit_reason_name((nx_exit_reason_t)r), NULL},
                       (double)atomic_load(&e->ops.closed[r]));

    /* sessions */
    nx_prom_family(&p, "nexus_sessions", "gauge", "Trading sessions, by mode.");
    for (int m = 0; m < 3; m++)
        nx_prom_sample(&p, "nexus_sessions", (const char *[]){"mode", MODES[m], NULL},
                       (double)atomic_load(&e->sessions_by_mode[m]));
    nx_prom_family(&p, "nexus_open_positions", "gauge", "Positions open, every session.");
    nx_prom_sample(&p, "nexus_open_positions", NULL,
                   (double)atomic_load_explicit(&e->desk_open, memory_order_relaxed));

    /* storage */
    static const char *const ST[3] = {"storing", "spilling", "down"};
    int sst = atomic_load_explicit(&e->storage_state, memory_order_relaxed);
    nx_prom_family(&p, "nexus_storage_state", "gauge",
                   "1 for the storage writer's state: storing, spilling (the store fails, "
                   "entries go to the spill file), down.");
    for (int s = 0; s < 3; s++)
        nx_prom_sample(&p, "nexus_storage_state", (const char *[]){"state", ST[s], NULL},
                       sst == s);
    nx_prom_family(&p, "nexus_journal_written_total", "counter", "Journal entries made durable.");
    nx_prom_sample(&p, "nexus_journal_written_total", NULL,
                   (double)atomic_load(&e->journal_written));
    nx_prom_family(&p, "nexus_journal_queue", "gauge",
                   "Journal entries published and not yet made durable.");
    nx_prom_sample(&p, "nexus_journal_queue", NULL,
                   (double)(rs[2].published - atomic_load(&e->journal_written) > rs[2].published
                                ? 0
                                : rs[2].published - atomic_load(&e->journal_written)));
    nx_prom_family(&p, "nexus_journal_dropped_total", "counter",
                   "Journal entries left out while storage was down: shed (heartbeats, candles) "
                   "or lost (essential).");
    nx_prom_sample(&p, "nexus_journal_dropped_total", (const char *[]){"kind", "shed", NULL},
                   (double)atomic_load(&e->journal_shed));
    nx_prom_sample(&p, "nexus_journal_dropped_total", (const char *[]){"kind", "lost", NULL},
                   (double)atomic_load(&e->journal_lost));
    return p.full ? 500 : 200;
}

static int render_health(void *ctx, char *buf, size_t cap, const char **type)
{
    nx_engine_t *e = ctx;
    *type = "application/json";
    int64_t now = nx_mono_ns();
    int64_t stale = (int64_t)e->cfg->web.health_stale_s * NX_NS_PER_SEC;
    int ready = !atomic_load_explicit(&e->stop, memory_order_relaxed) &&
                !atomic_load_explicit(&e->halted, memory_order_relaxed);
    size_t n = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int k_ = snprintf(buf + n, n < cap ? cap - n : 0, __VA_ARGS__);                            \
        n += k_ > 0 ? (size_t)k_ : 0;                                                              \
    } while (0)
    PUT("{\"feeds\":[");
    for (uint32_t i = 0; i < e->n_feeds; i++) {
        nx_feed_stats_t st;
        nx_feed_stats(e->feeds[i], &st);
        double age = age_s(atomic_load_explicit(&e->feed_change_ns[i], memory_order_relaxed), now);
        int up = feed_connected(&st), fresh = age * 1e9 < (double)stale;
        ready &= up && fresh;
        PUT("%s{\"feed\":%u,\"venue\":\"%s\",\"connected\":%s,\"fresh\":%s,"
            "\"last_event_age_s\":%.3f}",
            i ? "," : "", i, nx_venue_name(e->cfg->feeds[i].venue), up ? "true" : "false",
            fresh ? "true" : "false", age);
    }
    int sst = atomic_load_explicit(&e->storage_state, memory_order_relaxed);
    double beat = age_s(atomic_load_explicit(&e->beat_mono_ns, memory_order_relaxed), now);
    int alive = beat < 2.0; /* the loop goes round at least every 100 ms */
    ready &= sst != NX_WRITER_DOWN && alive;
    PUT("],\"storage\":{\"writable\":%s,\"state\":\"%s\"},"
        "\"engine\":{\"alive\":%s,\"heartbeat_age_s\":%.3f,\"halted\":%s},"
        "\"status\":\"%s\"}\n",
        sst != NX_WRITER_DOWN ? "true" : "false",
        sst == NX_WRITER_STORING ? "storing" : sst == NX_WRITER_SPILLING ? "spilling" : "down",
        alive ? "true" : "false", beat,
        atomic_load_explicit(&e->halted, memory_order_relaxed) ? "true" : "false",
        ready ? "ready" : "not_ready");
#undef PUT
    if (n >= cap)
        return 500;
    return ready ? 200 : 503;
}

/* ---- signing in (web thread; the link from chat, service thread) ----------------------- */

/* name=value out of a Cookie header or a URL's arguments (sep ';' or '&'). */
static int pick(const char *s, const char *name, char sep, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = s; p && *p;) {
        while (*p == ' ' || *p == sep)
            p++;
        const char *end = strchr(p, sep);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nl && !strncmp(p, name, nl) && p[nl] == '=') {
            size_t v = len - nl - 1;
            if (v >= cap)
                return -1;
            memcpy(out, p + nl + 1, v);
            out[v] = 0;
            return 0;
        }
        p = end;
    }
    return -1;
}

/* The caller's session from its cookie: 0 with who, or NX_ENOENT. */
static int signed_in(nx_engine_t *e, const nx_web_req_t *rq, nx_web_identity_t *who)
{
    char sid[NX_WEB_TOKEN_MAX];
    if (pick(rq->cookie, "nx_session", ';', sid, sizeof sid))
        return NX_ENOENT;
    return nx_web_auth_session(e->web_auth, sid, nx_mono_ns(), who);
}

static int json_error(nx_web_resp_t *rs, int status, const char *what)
{
    rs->type = "application/json";
    snprintf(rs->body, rs->cap, "{\"error\":\"%s\"}\n", what);
    return status;
}

/* The caller of a route taking method, signed in: 0 with who, or the
 * status of the refusal written into rs (405, 401). */
static int caller(nx_engine_t *e, const nx_web_req_t *rq, nx_web_resp_t *rs, const char *method,
                  nx_web_identity_t *who)
{
    if (strcmp(rq->method, method))
        return json_error(rs, 405, !strcmp(method, "GET") ? "GET only" : "POST only");
    if (signed_in(e, rq, who))
        return json_error(rs, 401, "not signed in");
    return 0;
}

/* GET /login?t=TOKEN: a one-time link becomes a session cookie. */
static int h_login(void *ctx, const nx_web_req_t *rq, nx_web_resp_t *rs)
{
    nx_engine_t *e = ctx;
    rs->type = "text/plain; charset=utf-8";
    if (strcmp(rq->method, "GET")) {
        snprintf(rs->body, rs->cap, "open the link you were sent\n");
        return 405;
    }
    char t[NX_WEB_TOKEN_MAX], sid[NX_WEB_TOKEN_MAX];
    nx_web_identity_t who;
    int rc = pick(rq->query, "t", '&', t, sizeof t)
                 ? NX_ENOENT
                 : nx_web_auth_login(e->web_auth, t, nx_mono_ns(), sid, &who);
    if (rc == NX_ETIMEDOUT) {
        snprintf(rs->body, rs->cap,
                 "This sign-in link has expired. Ask for a new one with /dashboard in chat.\n");
        return 403;
    }
    if (rc) {
        snprintf(rs->body, rs->cap,
                 "This sign-in link is not valid: it was used already, or never made. Ask for a "
                 "new one with /dashboard in chat.\n");
        return 403;
    }
    snprintf(rs->headers, sizeof rs->headers,
             "Set-Cookie: nx_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%u%s\r\n"
             "Location: /ui/\r\n",
             sid, e->cfg->web.session_ttl_s,
             !strncmp(e->cfg->web.public_url, "https:", 6) || e->cfg->web.tls_cert[0] ? "; Secure"
                                                                                      : "");
    snprintf(rs->body, rs->cap, "Signed in.\n");
    NX_INFO("web", "user %lld signed in to the web pages", (long long)who.user);
    return 303;
}

/* GET /api/me: who is signed in, and the CSRF token its actions carry. */
static int h_me(void *ctx, const nx_web_req_t *rq, nx_web_resp_t *rs)
{
    nx_engine_t *e = ctx;
    nx_web_identity_t who;
    int refused = caller(e, rq, rs, "GET", &who);
    if (refused)
        return refused;
    rs->type = "application/json";
    snprintf(rs->body, rs->cap, "{\"user\":%lld,\"role\":\"%s\",\"csrf\":\"%s\"}\n",
             (long long)who.user, nx_role_name((nx_role_t)who.role), who.csrf);
    return 200;
}

/* POST /logout, with the session's X-CSRF-Token: the session ends. */
static int h_logout(void *ctx, const nx_web_req_t *rq, nx_web_resp_t *rs)
{
    nx_engine_t *e = ctx;
    nx_web_identity_t who;
    int refused = caller(e, rq, rs, "POST", &who);
    if (refused)
        return refused;
    if (!rq->csrf[0] || strlen(rq->csrf) != strlen(who.csrf) ||
        sodium_memcmp(rq->csrf, who.csrf, strlen(who.csrf)))
        return json_error(rs, 403, "the X-CSRF-Token header is missing or wrong");
    char sid[NX_WEB_TOKEN_MAX];
    if (!pick(rq->cookie, "nx_session", ';', sid, sizeof sid))
        nx_web_auth_logout(e->web_auth, sid);
    snprintf(rs->headers, sizeof rs->headers,
             "Set-Cookie: nx_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0\r\n");
    rs->type = "application/json";
    snprintf(rs->body, rs->cap, "{\"signed_out\":true}\n");
    return 200;
}

/* GET /api/overview: the caller's sessions (owner and admins: everyone's)
 * with their positions and pending requests, as JSON. */
static int h_overview(void *ctx, const nx_web_req_t *rq, nx_web_resp_t *rs)
{
    nx_engine_t *e = ctx;
    nx_web_identity_t who;
    int refused = caller(e, rq, rs, "GET", &who);
    if (refused)
        return refused;
    rs->type = "application/json";
    return engine_dash_overview(e, &who, rs->body, rs->cap) < 0 ? 500 : 200;
}

/* POST /api/act?session=S&do=ACTION[&arg=WORD], with the session's
 * X-CSRF-Token: an action on one of the caller's own sessions, as their
 * chat command would do it; the answer is what chat would have said. */
static int h_act(void *ctx, const nx_web_req_t *rq, nx_web_resp_t *rs)
{
    nx_engine_t *e = ctx;
    nx_web_identity_t who;
    int refused = caller(e, rq, rs, "POST", &who);
    if (refused)
        return refused;
    if (!rq->csrf[0] || strlen(rq->csrf) != strlen(who.csrf) ||
        sodium_memcmp(rq->csrf, who.csrf, strlen(who.csrf)))
        return json_error(rs, 403, "the X-CSRF-Token header is missing or wrong");
    char sess[16] = "", act[16] = "", arg[32] = "";
    pick(rq->query, "session", '&', sess, sizeof sess);
    pick(rq->query, "arg", '&', arg, sizeof arg);
    if (pick(rq->query, "do", '&', act, sizeof act))
        return json_error(rs, 400, "say what to do: do=approve, reject, pause, ...");
    static char said[16384]; /* the web thread's, one request at a time */
    said[0] = 0;
    int rc =
        engine_dash_act(e, &who, (uint32_t)strtoul(sess, NULL, 10), act, arg, said, sizeof said);
    if (rc == NX_EPERM)
        return json_error(rs, 403, "that session is not yours");
    if (rc == NX_EINVAL)
        return json_error(rs, 400, "no such action, or its argument is not one word");
    if (rc)
        return json_error(rs, 503, "the engine did not answer; try again");
    rs->type = "application/json";
    return engine_json_text(json_pack("{s:b, s:s}", "done", 1, "said", said), JSON_COMPACT,
                            rs->body, rs->cap) < 0
               ? 500
               : 200;
}

/* GET /api/chart?symbol=S: candles, EMAs and the caller's trade marks. */
static int h_chart(void *ctx, const nx_web_req_t *rq, nx_web_resp_t *rs)
{
    nx_engine_t *e = ctx;
    nx_web_identity_t who;
    int refused = caller(e, rq, rs, "GET", &who);
    if (refused)
        return refused;
    char sym[32] = "";
    pick(rq->query, "symbol", '&', sym, sizeof sym);
    rs->type = "application/json";
    int n = engine_dash_chart(e, &who, sym, rs->body, rs->cap);
    return n == -2 ? json_error(rs, 404, "no such symbol") : n < 0 ? 500 : 200;
}

/* GET /api/trades[?session=S][&q=TEXT][&format=csv]: the trade journal. */
static int h_trades(void *ctx, const nx_web_req_t *rq, nx_web_resp_t *rs)
{
    nx_engine_t *e = ctx;
    nx_web_identity_t who;
    int refused = caller(e, rq, rs, "GET", &who);
    if (refused)
        return refused;
    char sess[16] = "", q[64] = "", fmt[8] = "";
    pick(rq->query, "session", '&', sess, sizeof sess);
    pick(rq->query, "q", '&', q, sizeof q);
    pick(rq->query, "format", '&', fmt, sizeof fmt);
    int csv = !strcmp(fmt, "csv");
    rs->type = csv ? "text/csv; charset=utf-8" : "application/json";
    if (csv)
        snprintf(rs->headers, sizeof rs->headers,
                 "Content-Disposition: attachment; filename=\"nexus-trades.csv\"\r\n");
    int n =
        engine_dash_trades(e, &who, (uint32_t)strtoul(sess, NULL, 10), q, csv, rs->body, rs->cap);
    if (n == -2) {
        rs->headers[0] = 0;
        return json_error(rs, 403, "that session is not yours");
    }
    return n < 0 ? 500 : 200;
}

/* A report's file name as the dashboard may open it: letters, digits,
 * '.', '-' and '_', ending .html, not starting with '.'. */
static int report_name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len < 6 || len > 200 || n[0] == '.' || strcmp(n + len - 5, ".html"))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)n[i]) && !strchr(".-_", n[i]))
            return 0;
    return 1;
}

/* GET /api/reports: the backtest reports of web.reports, newest first.
 * GET /api/reports?name=N.html: that report (signed in, either). */
static int h_reports(void *ctx, const nx_web_req_t *rq, nx_web_resp_t *rs)
{
    nx_engine_t *e = ctx;
    nx_web_identity_t who;
    int refused = caller(e, rq, rs, "GET", &who);
    if (refused)
        return refused;
    const char *dir = e->cfg->web.reports;
    char name[256] = "";
    pick(rq->query, "name", '&', name, sizeof name);
    if (name[0]) {
        if (!dir[0] || !report_name_ok(name))
            return json_error(rs, 404, "no such report");
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        FILE *f = fopen(path, "r");
        if (!f)
            return json_error(rs, 404, "no such report");
        size_t n = fread(rs->body, 1, rs->cap - 1, f);
        int whole = feof(f);
        fclose(f);
        if (!whole)
            return json_error(rs, 500, "the report is larger than the server sends");
        rs->body[n] = 0;
        rs->type = "text/html; charset=utf-8";
        return 200;
    }
    json_t *arr = json_array();
    DIR *d = dir[0] ? opendir(dir) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (!report_name_ok(de->d_name))
            continue;
        char path[600];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (stat(path, &st) || !S_ISREG(st.st_mode))
            continue;
        char at[32];
        nx_utc_format((int64_t)st.st_mtime, at, sizeof at);
        json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:I}", "name", de->d_name, "bytes",
                                             (json_int_t)st.st_size, "written", at, "t",
                                             (json_int_t)st.st_mtime));
    }
    if (d)
        closedir(d);
    /* newest first */
    size_t n = json_array_size(arr);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0; j--) {
            json_t *a = json_array_get(arr, j - 1), *b = json_array_get(arr, j);
            if (json_integer_value(json_object_get(a, "t")) >=
                json_integer_value(json_object_get(b, "t")))
                break;
            json_incref(a);
            json_array_set(arr, j - 1, b);
            json_array_set_new(arr, j, a);
        }
    rs->type = "application/json";
    return engine_json_text(json_pack("{s:o}", "reports", arr), JSON_COMPACT, rs->body, rs->cap) < 0
               ? 500
               : 200;
}

/* GET /: the dashboard. */
static int h_root(void *ctx, const nx_web_req_t *rq, nx_web_resp_t *rs)
{
    (void)ctx, (void)rq;
    snprintf(rs->headers, sizeof rs->headers, "Location: /ui/\r\n");
    snprintf(rs->body, rs->cap, "The dashboard is at /ui/\n");
    return 302;
}

/* The live page (WebSocket): the overview again whenever it changes. */
static int live_overview(void *ctx, const char *cookie, char *buf, size_t cap)
{
    nx_engine_t *e = ctx;
    nx_web_req_t rq = {"GET", "/live", "", cookie, ""};
    nx_web_identity_t who;
    if (signed_in(e, &rq, &who))
        return -1;
    return engine_dash_overview(e, &who, buf, cap);
}

static uint64_t live_version(void *ctx)
{
    return engine_dash_version(ctx);
}

int engine_web_link(nx_engine_t *e, int64_t user, int role, char *url, size_t cap)
{
    if (!e->web_auth || !e->web)
        return NX_ENOENT;
    char t[NX_WEB_TOKEN_MAX];
    int rc = nx_web_auth_link(e->web_auth, user, (uint8_t)role, nx_mono_ns(), t);
    if (rc)
        return rc;
    if (e->cfg->web.public_url[0]) {
        size_t n = strlen(e->cfg->web.public_url);
        snprintf(url, cap, "%.*s/login?t=%s", (int)(n && e->cfg->web.public_url[n - 1] == '/'
                                                        ? n - 1
                                                        : n),
                 e->cfg->web.public_url, t);
    } else {
        snprintf(url, cap, "%s://%s:%d/login?t=%s", e->cfg->web.tls_cert[0] ? "https" : "http",
                 e->cfg->web.host, e->web_port, t);
    }
    sodium_memzero(t, sizeof t);
    return 0;
}

/* ---- life cycle (main thread) ---------------------------------------------------------- */

/* The dashboard's built pages: web.files, else the build's (the source
 * tree's web/dist), else an installation's (../share/nexus/web beside the
 * binary). NULL, logged, when none holds index.html. */
static const char *web_files(const nx_config_t *cfg, char *out, size_t cap)
{
    char exe[512] = "", cand[3][512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = 0;
    snprintf(cand[0], sizeof cand[0], "%s", cfg->web.files);
    snprintf(cand[1], sizeof cand[1], "%s", cfg->web.files[0] ? "" : NX_WEB_FILES_DIR);
    snprintf(cand[2], sizeof cand[2], "%s", cfg->web.files[0] ? "" : exe);
    if (!cfg->web.files[0])
        snprintf(cand[2] + strlen(cand[2]), sizeof cand[2] - strlen(cand[2]),
                 "/../share/nexus/web");
    for (int i = 0; i < 3; i++) {
        char index[600];
        if (!cand[i][0] || strlen(cand[i]) >= cap ||
            (size_t)snprintf(index, sizeof index, "%.*s/index.html", (int)(sizeof index - 12),
                             cand[i]) >= sizeof index)
            continue;
        if (access(index, R_OK) == 0) {
            memcpy(out, cand[i], strlen(cand[i]) + 1);
            return out;
        }
    }
    NX_WARN("web",
            "the dashboard's pages are not built (%s has no index.html): scripts/dev "
            "builds them with npm; /metrics, /health and the API are served",
            cfg->web.files[0] ? cfg->web.files : NX_WEB_FILES_DIR);
    return NULL;
}

void engine_web_start(nx_engine_t *e)
{
    if (!e->cfg->web.host[0])
        return;
    nx_web_opts_t o;
    memset(&o, 0, sizeof o);
    o.host = e->cfg->web.host;
    o.port = (int)e->cfg->web.port;
    o.routes[0] = (nx_web_route_t){"/metrics", render_metrics, NULL};
    o.routes[1] = (nx_web_route_t){"/health", render_health, NULL};
    o.routes[2] = (nx_web_route_t){"/login", NULL, h_login};
    o.routes[3] = (nx_web_route_t){"/api/me", NULL, h_me};
    o.routes[4] = (nx_web_route_t){"/logout", NULL, h_logout};
    o.routes[5] = (nx_web_route_t){"/api/overview", NULL, h_overview};
    o.routes[6] = (nx_web_route_t){"/api/act", NULL, h_act};
    o.routes[7] = (nx_web_route_t){"/", NULL, h_root};
    o.routes[8] = (nx_web_route_t){"/api/chart", NULL, h_chart};
    o.routes[9] = (nx_web_route_t){"/api/trades", NULL, h_trades};
    o.routes[10] = (nx_web_route_t){"/api/reports", NULL, h_reports};
    o.body_max = 8u << 20; /* a backtest report whole */
    o.tls_cert = e->cfg->web.tls_cert;
    o.tls_key = e->cfg->web.tls_key;
    o.ctx = e;
    o.files_dir = web_files(e->cfg, e->web_files, sizeof e->web_files);
    o.live = live_overview;
    o.version = live_version;
    e->dash = engine_dash_create(nx_symtab_count(e->symtab));
    e->web_auth = nx_web_auth_create(e->cfg->web.link_ttl_s, e->cfg->web.session_ttl_s);
    char err[256];
    if (!e->web_auth || !e->dash || nx_web_start(&e->web, &o, err, sizeof err)) {
        if (!e->web_auth || !e->dash)
            snprintf(err, sizeof err, "out of memory");
        engine_dash_destroy(e->dash);
        e->dash = NULL;
        NX_WARN("web", "no /metrics and /health: %s (web.listen); the engine trades on", err);
        nx_web_auth_destroy(e->web_auth);
        e->web_auth = NULL;
        e->web = NULL;
        return;
    }
    e->web_port = nx_web_port(e->web);
    NX_INFO("web", "serving /metrics and /health on %s://%s:%d (and the dashboard at /ui/)",
            e->cfg->web.tls_cert[0] ? "https" : "http", o.host, nx_web_port(e->web));
}

void engine_web_stop(nx_engine_t *e)
{
    nx_web_stop(e->web);
    e->web = NULL;
    nx_web_auth_destroy(e->web_auth);
    e->web_auth = NULL;
    engine_dash_destroy(e->dash);
    e->dash = NULL;
}

void engine_ops_ready(nx_engine_t *e)
{
    (void)e;
    sd_notify(0, "READY=1");
}

void engine_ops_stopping(nx_engine_t *e)
{
    (void)e;
    sd_notify(0, "STOPPING=1");
}
