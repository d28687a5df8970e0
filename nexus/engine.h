/*
 * engine.h — the running engine: three threads wired by three rings
 * (private to nexus/).
 *
 *   network thread --[market ring, never-block]--> engine thread
 *   engine thread  --[order ring, no-drop]-------> network thread
 *   engine thread  --[journal ring, no-drop]-----> service thread
 *
 * Today the network thread's only source is the heartbeat timer; feeds
 * (uplink), the cortex, shield and effectors, and storage (servos) plug into
 * these same loops in later work. Shutdown is ordered so nothing published
 * is lost: the network thread stops producing and closes the market ring;
 * the engine drains it, then closes the order and journal rings; the
 * service thread drains the journal; then every thread is joined.
 */
#ifndef NX_ENGINE_H
#define NX_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "nx/clock.h"
#include "nx/feed.h"
#include "nx/config.h"
#include "nx/cortex.h"
#include "nx/event.h"
#include "nx/ring.h"
#include "nx/symtab.h"

struct nx_engine;
struct nx_tg;
struct nx_bot;

/* Runs on the engine thread right after the desk took a call's command
 * (rc and why: the desk's answer), between two market events. */
typedef void (*nx_engine_call_cb)(struct nx_engine *e, void *ctx, int rc, int why);

#define NX_ENGINE_CALLS 8
typedef enum nx_call_state {
    NX_CALL_FREE = 0,
    NX_CALL_QUEUED,    /* waiting for the network thread to publish it */
    NX_CALL_PUBLISHED, /* on the market ring, for the engine thread */
    NX_CALL_DONE,      /* answered (rc, why): the caller collects it */
} nx_call_state_t;
typedef struct nx_engine_call_slot {
    nx_ev_control_t c;
    nx_engine_call_cb fn;
    void *ctx;
    nx_call_state_t state; /* under call_mu */
    int rc, why;
} nx_engine_call_slot_t;

typedef struct nx_engine {
    const nx_config_t *cfg;
    nx_clock_t clock;
    nx_symtab_t *symtab;
    nx_ring_t *market, *orders, *journal;
    pthread_t th_network, th_engine, th_service;
    int started;
    int print_events; /* --events: the engine prints each event as a JSON line */
    nx_net_t *net;    /* network thread: every venue connection */
    nx_feed_t *feeds[NX_CONFIG_MAX_FEEDS];
    nx_cortex_t *cortex; /* engine thread after start */
    struct nx_desk *desk; /* paper trading sessions, engine thread */
    struct nx_store *store;   /* durable state; service thread after start */
    struct nx_writer *writer; /* the journal ring's storage writer, service thread */
    uint32_t n_feeds;
    _Atomic int stop;
    int64_t start_mono_ns;

    /* Counters, written by one thread each, read by the service thread. */
    _Atomic uint64_t engine_events;
    _Atomic uint64_t engine_by_type[NX_EV_TYPE_COUNT];
    _Atomic uint64_t engine_gaps;     /* events flagged NX_EVF_GAP */
    _Atomic uint64_t journal_written; /* journal entries drained by the service thread */
    _Atomic uint64_t orders_seen;     /* order ring entries drained by the network thread */
    _Atomic uint64_t signals;         /* strategy signals emitted by the cortex */
    _Atomic int64_t desk_pnl;         /* every session's balance - starting equity */
    _Atomic uint32_t desk_open, desk_trades; /* open positions, closed trades */

    /* Chat: the Telegram client (network thread's context; created before
     * the threads start) and the bot (service thread). */
    struct nx_tg *tg;
    struct nx_bot *bot;
    int console; /* nexus run --console: the owner's commands from stdin */
    char recovery_notes[1024]; /* reconciliation differences found at start, for the owner */
    /* Calls from the service thread to the engine thread: a slot is queued,
     * the network thread (the market ring's one producer) publishes it as a
     * control event, the engine thread answers. */
    pthread_mutex_t call_mu;
    nx_engine_call_slot_t calls[NX_ENGINE_CALLS];
    _Atomic int calls_queued;
    _Atomic int engine_done; /* the engine thread has ended: no call is answered */
} nx_engine_t;

/* Build rings and the symbol table from a validated config (start-up:
 * allocates). Returns 0 or a negative NX_E… code. */
int nx_engine_init(nx_engine_t *e, const nx_config_t *cfg);

/* Start the network, engine and service threads. */
int nx_engine_start(nx_engine_t *e);

/* Ask every thread to finish (any thread, async-signal-safe). */
void nx_engine_request_stop(nx_engine_t *e);

/* Wait for the threads to drain and exit. */
void nx_engine_join(nx_engine_t *e);

void nx_engine_destroy(nx_engine_t *e);

/* A person's command or question for the desk, carried in order with the
 * market data: c goes to the desk, then fn (optional) runs on the engine
 * thread with the result — it may read the desk and the cortex and write
 * into ctx. Service thread only (it keeps storing the journal while it
 * waits, so the engine never waits on it). Returns the desk's result
 * (*why: its nx_reject_t), or NX_ECLOSED if the engine has stopped. */
int nx_engine_call(nx_engine_t *e, const nx_ev_control_t *c, nx_engine_call_cb fn, void *ctx,
                   int *why);

/* One condensed line describing the running engine (start-up summary). */
void nx_engine_summary(const nx_engine_t *e, char *buf, size_t cap);

#endif
