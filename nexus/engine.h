/*
 * engine.h — the running engine: three threads wired by three rings, and
 * every biome plugged into them (private to nexus/).
 *
 *   network thread --[market ring, never-block]--> engine thread
 *   engine thread  --[order ring, no-drop]-------> network thread (unused
 *                                                  until live venues)
 *   engine thread  --[journal ring, no-drop]-----> service thread
 *
 * The network thread owns every connection (the feeds, the Telegram client)
 * on one libwebsockets loop (uplink's nx_net) and publishes market events,
 * heartbeats and people's calls; the engine thread runs the desk (fills,
 * stops), the cortex (candles, indicators, strategies) and the desk again
 * for each signal, in that order, per event; the service thread stores the
 * journal, runs the scheduler and the chat layer. Shutdown is ordered so
 * nothing published is lost: the network thread stops producing and closes
 * the market ring; the engine drains it, saves every session and closes
 * the order and journal rings; the service thread drains the journal; then
 * every thread is joined.
 *
 * The engine is split by job:
 *   engine_boot.c      init (rings, storage, cortex, desk), start, stop, destroy
 *   engine_recovery.c  start-up: ids continue, saved state opened, reconciled
 *   engine_threads.c   the three thread bodies and what runs on them
 *   engine_calls.c     calls from the service thread into the engine thread,
 *                      and the chat layer's host (nx_chat_host_t)
 */
#ifndef NX_ENGINE_H
#define NX_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "nx/binance_live.h"
#include "nx/chat.h"
#include "nx/clock.h"
#include "nx/config.h"
#include "nx/cortex.h"
#include "nx/desk.h"
#include "nx/event.h"
#include "nx/feed.h"
#include "nx/prom.h"
#include "nx/ring.h"
#include "nx/store.h"
#include "nx/symtab.h"
#include "nx/telegram.h"
#include "nx/tickguard.h"
#include "nx/writer.h"

#define NX_ENGINE_CALLS 8
typedef enum nx_call_state {
    NX_CALL_FREE = 0,
    NX_CALL_QUEUED,    /* waiting for the network thread to publish it */
    NX_CALL_PUBLISHED, /* on the market ring, for the engine thread */
    NX_CALL_DONE,      /* answered (rc, why): the caller collects it */
} nx_call_state_t;
typedef struct nx_engine_call_slot {
    nx_ev_control_t c;
    nx_chat_call_cb fn;
    void *ctx;
    nx_call_state_t state; /* under call_mu */
    int rc, why;
} nx_engine_call_slot_t;

/* An order sent, for its round trip to a live venue (engine_web.c). */
#define NX_ENGINE_RTT   64
#define NX_OPS_OREJ     8 /* order reject reasons counted (nx_order_reject_t below 8) */
#define NX_OPS_VERDICTS 5
typedef struct engine_rtt {
    uint64_t clid;
    int64_t sent_ns;
} engine_rtt_t;

typedef struct nx_engine {
    const nx_config_t *cfg;
    nx_clock_t clock;
    nx_symtab_t *symtab;
    nx_ring_t *market, *orders, *journal;
    pthread_t th_network, th_engine, th_service;
    int started;
    int print_events; /* --events: the engine prints each event as a JSON line */
    /* --record FILE (engine_record.c): the market events, to an event file */
    const char *record_path;
    struct nx_evw *evw;
    nx_ring_t *rec_ring;
    pthread_t th_rec;
    int rec_failed;
    /* or the config's flight recorder (recorder.dir): rotating files */
    int rec_rotating;
    uint32_t rec_seq, rec_first; /* the next file's number; this run's first */
    uint64_t rec_done; /* events in the files already closed */
    char rec_cur[NX_PATH_MAX + 64];
    nx_net_t *net;    /* network thread: every venue connection */
    nx_feed_t *feeds[NX_CONFIG_MAX_FEEDS];
    nx_tickguard_t *guard; /* the bad-tick filter, engine thread */
    int64_t *bad_told_ns;  /* per symbol: when the owner was last told (engine clock) */
    uint32_t *bad_untold;  /* per symbol: quarantined since then */
    nx_cortex_t *cortex;   /* engine thread after start */
    nx_desk_t *desk;     /* the trading sessions, engine thread */
    nx_desk_market_day_t *market_days; /* the US market's days (parts.h), or NULL */
    /* Live venues (engine_live.c): one Binance USD-M adapter per endpoint
     * set (indexed by nx_config_execution_t; [NX_EXEC_PAPER] unused), on
     * the network thread's loop, and the sessions that trade on them. */
    nx_bnlive_t *live[3];
    struct {
        uint32_t session;
        int64_t user;
        uint8_t exec;
        char name[32];
    } live_sessions[NX_CONFIG_MAX_SESSIONS];
    uint32_t n_live;
    nx_store_t *store;   /* durable state; service thread after start */
    nx_writer_t *writer; /* the journal ring's storage writer, service thread */
    /* Service thread: the newest candle stored (market time), and when
     * retention and the fill checkpoint run next (an hour of it later). */
    int64_t stored_market_ns, next_upkeep_ns;
    uint32_t n_feeds;
    _Atomic int stop;
    int64_t start_mono_ns;
    /* The market time of the restored trading state (0: none). Market data
     * more than NX_ENGINE_BACK_NS before it (a replay started over against
     * a database that traded later) is refused: the engine thread stops
     * trading, says why in halted_why and sets halted; `nexus run` ends. */
    int64_t saved_ns;
    _Atomic int halted;
    char halted_why[512];

    /* Counters, written by one thread each, read by the service thread. */
    _Atomic uint64_t engine_events;
    _Atomic uint64_t engine_by_type[NX_EV_TYPE_COUNT];
    _Atomic uint64_t engine_gaps;            /* events flagged NX_EVF_GAP */
    _Atomic uint64_t quarantined[NX_BAD_COUNT]; /* market events the guard held out, by kind */
    _Atomic uint64_t journal_written;        /* journal entries drained by the service thread */
    _Atomic uint64_t journal_shed;  /* left out while the journal filled up (heartbeats, ...) */
    _Atomic uint64_t journal_lost;  /* essential entries lost to a full journal (storage down) */
    _Atomic int storage_state;      /* nx_writer_state_t, from the service thread */
    _Atomic int give_up;            /* a second stop signal: stop waiting for storage */
    _Atomic int service_done;       /* the service thread has ended */
    _Atomic uint64_t unstored;      /* journal entries not stored when it ended (storage down) */
    _Atomic uint64_t signals;                /* strategy signals emitted by the cortex */
    _Atomic int64_t desk_pnl;                /* every session's balance - starting equity */
    _Atomic uint32_t desk_open, desk_trades; /* open positions, closed trades */

    /* Operations (engine_web.c): the HTTP server and what it reads. */
    struct nx_web *web;
    struct nx_web_auth *web_auth; /* sign-in links and sessions (any thread, its own lock) */
    int web_port;
    struct engine_dash *dash;             /* the dashboard's snapshot and actions (engine_dash.c) */
    char web_files[512];                  /* the folder of its pages, "" if not built */
    int dash_due;                         /* engine thread: a command came, copy for it now */
    _Atomic int64_t beat_mono_ns;         /* engine thread: each pass of its loop */
    int64_t watchdog_ns, watchdog_next;   /* systemd's WATCHDOG=1 period (0: none), engine thread */
    int64_t cur_recv_ns;                  /* engine thread: the market event it is on */
    nx_prom_hist_t tick_to_order, order_rtt; /* engine thread observes */
    engine_rtt_t rtt[NX_ENGINE_RTT];      /* orders sent, waiting for a live venue's answer */
    uint32_t rtt_next;
    _Atomic uint32_t sessions_by_mode[3]; /* engine thread (publish_totals) */
    _Atomic int64_t feed_change_ns[NX_CONFIG_MAX_FEEDS]; /* service thread: a feed's last event */
    uint64_t feed_events_seen[NX_CONFIG_MAX_FEEDS];       /* service thread */
    struct { /* what the journal carried (service thread) */
        _Atomic uint64_t orders[2]; /* new, amend */
        _Atomic uint64_t fills;
        _Atomic uint64_t order_rejects[NX_OPS_OREJ];
        _Atomic uint64_t decisions[NX_OPS_VERDICTS];
        _Atomic uint64_t risk_rejects[NX_REJ_COUNT];
        _Atomic uint64_t closed[16];
    } ops;

    /* Chat: the Telegram client (network thread's context; created before
     * the threads start) and the chat layer (service thread). */
    nx_tg_t *tg;
    nx_chat_t *chat;
    int console;               /* nexus run --console: the owner's commands from stdin */
    char recovery_notes[1024]; /* reconciliation differences found at start, for the owner */
    int recovery_held;         /* sessions recovery paused (the desk disagrees with storage) */
    int verify_only;           /* nx_engine_verify: recovery's checks, nothing written */
    int checkpoint_bad;        /* verify_only: the fill checkpoint disagrees with the fills */
    /* Calls from the service thread to the engine thread: a slot is queued,
     * the network thread (the market ring's one producer) publishes it as a
     * control event, the engine thread answers. */
    pthread_mutex_t call_mu;
    nx_engine_call_slot_t calls[NX_ENGINE_CALLS];
    _Atomic int calls_queued;
    _Atomic int engine_done; /* the engine thread has ended: no call is answered */
} nx_engine_t;

#define NX_ENGINE_BACK_NS (60 * NX_NS_PER_SEC)
/* Order ids a live session skips at each start: more than it can send
 * between storing its last order and a crash (the journal is stored within
 * milliseconds; a session sends a few orders a second). */
#define NX_ENGINE_LIVE_ID_GAP 4096

/* Build rings, storage, the cortex and the desk from a validated config,
 * and recover the saved state (start-up: allocates). Returns 0 or a
 * negative NX_E… code; on failure everything made is released. */
int nx_engine_init(nx_engine_t *e, const nx_config_t *cfg);

/* Start-up's recovery on an open store, for `nexus db status`: the stored
 * sessions onto a desk, the order and request ids, the venue's book and each
 * session's saved state against the stored fills, by the same code
 * nx_engine_init runs, but with no rings, threads or plugins, and nothing
 * written (no journal entry, no audit row). *held is the number of sessions
 * start-up would pause, their reasons in e->recovery_notes (one per line).
 * Needs the config's symbols (cfg->n_symbols > 0). Returns 0 or a negative
 * NX_E… code; call nx_engine_verify_done(e) after either. Allocates. */
int nx_engine_verify(nx_engine_t *e, const nx_config_t *cfg, nx_store_t *st, int *held);
void nx_engine_verify_done(nx_engine_t *e);

/* Make the feeds and the Telegram client, start the cortex and the network,
 * engine and service threads. */
int nx_engine_start(nx_engine_t *e);

/* Ask every thread to finish (any thread, async-signal-safe). */
void nx_engine_request_stop(nx_engine_t *e);

/* Wait for the threads to drain and exit. */
void nx_engine_join(nx_engine_t *e);

void nx_engine_destroy(nx_engine_t *e);

/* One condensed line describing the running engine (start-up summary). */
void nx_engine_summary(const nx_engine_t *e, char *buf, size_t cap);

/* ---- inside the engine (nexus/engine_*.c only) ---------------------------- */

/* engine_threads.c */
void *engine_network_main(void *arg);
void *engine_engine_main(void *arg);
void *engine_service_main(void *arg);
void engine_sleep_ns(int64_t ns);

/* engine_record.c: start the recorder (record_path set; before the
 * engine thread), one event from the engine thread, the engine thread's
 * end, and the recorder's (after the engine thread is joined). */
int engine_record_start(nx_engine_t *e);
void engine_record_put(nx_engine_t *e, const nx_event_t *ev);
void engine_record_close(nx_engine_t *e);
void engine_record_join(nx_engine_t *e);
/* Engine thread: a strategy signal, a closed candle (the cortex's
 * callbacks) and the desk's orders, fills and decisions, into the journal. */
void engine_on_signal(void *ctx, const nx_event_t *sig);
void engine_on_candle(void *ctx, const nx_event_t *kline);
void engine_desk_journal(void *ctx, const nx_event_t *ev);
/* Engine thread: the guard quarantined a market event (count, log, and
 * tell the owner at most once a minute per symbol). */
void engine_on_bad_tick(void *ctx, const nx_event_t *ev, nx_bad_kind_t why, int64_t ref_px);
/* Service thread: a journal entry was stored (the writer's tap): the chat
 * layer tells whoever must know. */
void engine_journal_stored(void *ctx, const nx_event_t *ev);

/* engine_web.c: operations — /metrics, /health, systemd's notifications.
 *   engine_ops_init      start-up: histograms, clocks, systemd's watchdog period
 *   engine_web_start/stop  the HTTP server (main thread, around the threads)
 *   engine_ops_ready / engine_ops_stopping   READY=1 / STOPPING=1 to systemd
 *   engine_ops_beat      engine thread, each pass of its loop: the heartbeat
 *                        /health reads, and WATCHDOG=1 when due
 *   engine_ops_order     engine thread: an order intent (tick-to-order; its
 *                        send time for the round trip)
 *   engine_ops_answer    engine thread: a live venue's order update
 *   engine_ops_journal   service thread: a stored journal entry, counted
 *   engine_ops_watch     service thread: each feed's last event, watched */
void engine_ops_init(nx_engine_t *e);
void engine_web_start(nx_engine_t *e);
void engine_web_stop(nx_engine_t *e);
void engine_ops_ready(nx_engine_t *e);
void engine_ops_stopping(nx_engine_t *e);
void engine_ops_beat(nx_engine_t *e);
void engine_ops_order(nx_engine_t *e, const nx_event_t *intent);
void engine_ops_answer(nx_engine_t *e, const nx_ev_order_update_t *u, int64_t recv_ns);
void engine_ops_journal(nx_engine_t *e, const nx_event_t *ev);
void engine_ops_watch(nx_engine_t *e);
/* engine_dash.c: the dashboard's data and actions.
 *   engine_dash_publish  engine thread (publish_totals): the sessions' state
 *   engine_dash_overview web thread: those who may see, as JSON (length or -1)
 *   engine_dash_act      web thread: an action, run by the service thread
 *                        as the person's chat command; waits for its answer
 *   engine_dash_jobs     service thread, each pass: the queued actions */
typedef struct engine_dash engine_dash_t;
struct json_t;
/* JSON text of root into buf (root released): its length, or -1 (too large) */
int engine_json_text(struct json_t *root, size_t flags, char *buf, size_t cap);
struct nx_web_identity;
engine_dash_t *engine_dash_create(uint32_t nsym);
void engine_dash_destroy(engine_dash_t *d);
void engine_dash_publish(nx_engine_t *e);
uint64_t engine_dash_version(nx_engine_t *e);
int engine_dash_overview(nx_engine_t *e, const struct nx_web_identity *who, char *buf, size_t cap);
int engine_dash_act(nx_engine_t *e, const struct nx_web_identity *who, uint32_t session,
                    const char *act, const char *arg, char *said, size_t cap);
void engine_dash_jobs(nx_engine_t *e);
/*   engine_dash_candle   engine thread: a closed candle, for the chart
 *   engine_dash_chart    web thread: a symbol's candles, EMAs, trade marks
 *   engine_dash_trades   web thread: the closed trades, JSON or CSV */
void engine_dash_candle(nx_engine_t *e, const nx_event_t *kline);
int engine_dash_chart(nx_engine_t *e, const struct nx_web_identity *who, const char *symbol,
                      char *buf, size_t cap);
int engine_dash_trades(nx_engine_t *e, const struct nx_web_identity *who, uint32_t session,
                       const char *q, int csv, char *buf, size_t cap);

/* A one-time sign-in link for user (role) into url (the chat layer's
 * /dashboard, service thread): 0 or NX_ENOENT (no web server). */
int engine_web_link(nx_engine_t *e, int64_t user, int role, char *url, size_t cap);

/* engine_calls.c: a person's command or question for the desk, carried in
 * order with the market data (the chat host's call). The network thread
 * publishes queued calls (engine_publish_calls); the engine thread answers
 * each after the desk took its command (engine_answer_call); at its end it
 * tells every call still waiting no (engine_calls_close). */
void engine_publish_calls(nx_engine_t *e);
void engine_answer_call(nx_engine_t *e, const nx_ev_control_t *c, int rc, int why);
void engine_calls_close(nx_engine_t *e);
/* The chat layer's host: calls, health, stopping, strategies. */
nx_chat_host_t engine_chat_host(nx_engine_t *e);

/* engine_boot.c: the strategy ids a session follows (bit i = strategy i;
 * Sentinel's always), for nx_desk_add_session; 0 = every strategy. */
uint64_t engine_follow_mask(nx_engine_t *e, const nx_config_session_t *x);
/* engine_boot.c: the feeds close with the network thread's context
 * (network thread, at its end; destroys the context under call_mu). */
void engine_feeds_stop(nx_engine_t *e);

/* engine_live.c: the live venues. init (main thread, after the sessions
 * are loaded, before recovery): each live session's keys opened from the
 * vault into its adapter, the session routed to it; adopt (recovery): an
 * order stored as open at a live venue; start (network thread); release
 * (after the network loop is gone). */
int engine_live_init(nx_engine_t *e);
int engine_live_adopt(nx_engine_t *e, const nx_ev_order_intent_t *in, uint32_t symbol);
/* After recovery: a restored position's stop and target that storage did
 * not hold as open orders (a crash between the desk's saved state and the
 * order's row) are adopted from the position itself, so the adapter asks
 * the venue about them and places what it lacks. */
void engine_live_protect(nx_engine_t *e);
void engine_live_start(nx_engine_t *e);
void engine_live_release(nx_engine_t *e);

/* engine_recovery.c: client-order and approval ids continue after the
 * stored ones; then the venue's book, each session's saved state and the
 * stored fills are opened and reconciled (start-up, before any thread). */
int engine_resume_ids(nx_engine_t *e);
int engine_recover(nx_engine_t *e);

#endif
