/*
 * engine_calls.c — calls from the service thread (the chat layer) into the
 * engine thread, and the host the chat layer is given (see engine.h).
 *
 * A person's command must reach the desk in order with the market data, so
 * it travels on the market ring like any event. The market ring has one
 * producer, the network thread: a caller queues its call in a slot, the
 * network thread publishes queued slots as NX_EV_CONTROL events (woken at
 * once through nx_net_wake, or within 10 ms), the engine thread hands each
 * to the desk, runs the caller's callback with the desk and the cortex,
 * and marks the slot done; the caller, meanwhile, keeps storing the
 * journal, since the engine may be waiting for room in it. Workload: a
 * command every few seconds; eight slots, and only the service thread
 * calls.
 */
#include "engine.h"

#include "nx/error.h"

#include <string.h>

/* Network thread: queued calls become control events on the market ring
 * (a full ring: they wait for the next turn, never dropped). */
void engine_publish_calls(nx_engine_t *e)
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
        ev->hdr.venue = 0; /* hdr.flags as nx_bus_claim left it: NX_EVF_GAP after a drop */
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

/* Service thread only: queue the call, wake the network thread, wait for
 * the answer while storing the journal (the engine may be waiting for room
 * in it, so it never waits on us). Returns the desk's result (*why: its
 * nx_reject_t), or NX_ECLOSED once the engine has stopped. */
static int engine_call(nx_engine_t *e, const nx_ev_control_t *c, nx_chat_call_cb fn, void *ctx,
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
            engine_sleep_ns(NX_NS_PER_MS);
            pthread_mutex_lock(&e->call_mu);
        }
    }
    nx_engine_call_slot_t *k = &e->calls[slot];
    k->c = *c;
    k->fn = fn;
    k->ctx = ctx;
    k->state = NX_CALL_QUEUED;
    atomic_store_explicit(&e->calls_queued, 1, memory_order_release);
    /* the network thread publishes it now rather than at its next 10 ms
     * turn; while the threads run, e->net is destroyed only under call_mu
     * (engine_feeds_stop) */
    if (e->net)
        nx_net_wake(e->net);
    pthread_mutex_unlock(&e->call_mu);
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
            engine_sleep_ns(NX_NS_PER_MS);
    }
    return rc;
}

/* Engine thread: a call's command was taken; answer it. */
void engine_answer_call(nx_engine_t *e, const nx_ev_control_t *c, int rc, int why)
{
    int i = c->call - 1;
    if (i < 0 || i >= NX_ENGINE_CALLS)
        return;
    nx_engine_call_slot_t *k = &e->calls[i];
    pthread_mutex_lock(&e->call_mu);
    int live = k->state == NX_CALL_PUBLISHED;
    pthread_mutex_unlock(&e->call_mu);
    if (live && k->fn) {
        nx_chat_view_t v = {e->desk, e->cortex};
        k->fn(&v, k->ctx, rc, why);
    }
    pthread_mutex_lock(&e->call_mu);
    if (k->state == NX_CALL_PUBLISHED) {
        k->rc = rc;
        k->why = why;
        k->state = NX_CALL_DONE;
    }
    pthread_mutex_unlock(&e->call_mu);
}

/* Engine thread, at its end: a call still waiting is told no. */
void engine_calls_close(nx_engine_t *e)
{
    pthread_mutex_lock(&e->call_mu);
    atomic_store(&e->engine_done, 1);
    for (int i = 0; i < NX_ENGINE_CALLS; i++)
        if (e->calls[i].state == NX_CALL_PUBLISHED || e->calls[i].state == NX_CALL_QUEUED) {
            e->calls[i].rc = NX_ECLOSED;
            e->calls[i].state = NX_CALL_DONE;
        }
    pthread_mutex_unlock(&e->call_mu);
}

/* ---- the chat layer's host (service thread) ------------------------------- */

static int host_call(void *ctx, const nx_ev_control_t *c, nx_chat_call_cb fn, void *arg, int *why)
{
    return engine_call(ctx, c, fn, arg, why);
}

static void host_health(void *ctx, nx_chat_health_t *out)
{
    nx_engine_t *e = ctx;
    nx_ring_stats_t m;
    nx_ring_stats(e->market, &m);
    out->up_s = (nx_mono_ns() - e->start_mono_ns) / NX_NS_PER_SEC;
    out->events = atomic_load(&e->engine_events);
    out->market_overruns = m.overruns;
    out->journal_stored = atomic_load(&e->journal_written);
    out->n_feeds = 0;
    for (uint32_t i = 0; i < e->n_feeds && i < NX_CONFIG_MAX_FEEDS; i++) {
        nx_feed_stats_t fs;
        nx_feed_stats(e->feeds[i], &fs); /* any thread: relaxed counters */
        out->feeds[out->n_feeds++] = (nx_chat_feed_health_t){
            e->cfg->feeds[i].venue, fs.frames,        fs.connects,        fs.disconnects,
            fs.errors,              fs.stash_dropped, fs.control_dropped, fs.rest_oversize};
    }
}

static int host_stopping(void *ctx)
{
    nx_engine_t *e = ctx;
    return atomic_load_explicit(&e->stop, memory_order_acquire);
}

static int host_strategy(void *ctx, int i, nx_strategy_info_t *out)
{
    nx_engine_t *e = ctx;
    return e->cortex ? nx_cortex_strategy_info(e->cortex, i, out) : NX_ENOENT;
}

/* A session made at run time joins the desk on the engine thread, between
 * two market events, like any command. */
typedef struct add_call {
    nx_engine_t *e;
    uint32_t id;
    const nx_config_session_t *c;
    uint64_t follow;
    int rc;
} add_call_t;

static void add_on_engine(const nx_chat_view_t *v, void *arg, int rc, int why)
{
    (void)v, (void)rc, (void)why;
    add_call_t *a = arg;
    a->rc = a->e->desk ? nx_desk_add_session(a->e->desk, a->id, a->c, a->follow) : NX_EINVAL;
}

static int host_session_add(void *ctx, uint32_t id, const nx_config_session_t *c)
{
    nx_engine_t *e = ctx;
    add_call_t a = {e, id, c, engine_follow_mask(e, c), NX_ECLOSED};
    nx_ev_control_t q;
    memset(&q, 0, sizeof q);
    q.cmd = NX_CTL_QUERY; /* nothing for the desk itself: the callback adds it */
    int rc = engine_call(e, &q, add_on_engine, &a, NULL);
    return rc ? rc : a.rc;
}

static int host_dashboard_link(void *ctx, int64_t user, int role, char *url, size_t cap)
{
    return engine_web_link(ctx, user, role, url, cap);
}

nx_chat_host_t engine_chat_host(nx_engine_t *e)
{
    return (nx_chat_host_t){e,           host_call,        host_health,        host_stopping,
                            host_strategy, host_session_add, host_dashboard_link};
}
