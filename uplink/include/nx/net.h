/*
 * net.h — the process's one network loop: a libwebsockets context and the
 * thread that services it (the network thread).
 *
 * Every outside connection of the process lives on this loop: the venue
 * feeds (feed.h: a few WebSocket legs and REST calls each) and the Telegram
 * client. The loop knows nothing of them. Each client adds its own client
 * vhost to nx_net_context() with its own lws protocols, so a client's
 * callbacks only ever see its own connections and find their state through
 * the connection's `userdata`; the context itself carries only lws's dummy
 * protocol on its default vhost. One context means one poll() for every
 * socket and one thread to reason about: a callback never races another.
 *
 * Workload: tens of sockets, 10^2..10^5 frames/s in bursts; the service
 * call returns after each burst of callbacks or after `timeout_ms`, so the
 * caller can interleave its own work (the engine publishes queued calls
 * between turns).
 *
 * Threads:
 *  - nx_net_create and nx_net_destroy: one thread, while no other thread
 *    uses the net (create before the network thread starts, destroy after
 *    it has stopped or when it never ran).
 *  - nx_net_service, nx_net_context and everything done with the context
 *    (creating vhosts, connecting, lws timers, lws_callback_on_writable):
 *    the network thread only; before that thread starts, the thread that
 *    will start it (feeds and the Telegram client are made at start-up).
 *  - nx_net_wake and nx_net_clock: any thread, any time between create and
 *    destroy. nx_net_wake never blocks and never allocates.
 */
#ifndef NX_NET_H
#define NX_NET_H

#include "nx/clock.h"

typedef struct nx_net nx_net_t;
struct lws_context;

/* Make the loop: one libwebsockets context with OpenSSL initialised, no
 * listening socket, ~1024 descriptors. `clock` stamps receive times on the
 * events of every client and must outlive the net. Start-up: allocates.
 * Returns NULL on failure (logged by libwebsockets). */
nx_net_t *nx_net_create(nx_clock_t *clock);

/* Service sockets and timers: runs every callback that is due, waiting at
 * most `timeout_ms` (0: do not wait) for something to happen. Returns 0,
 * or nonzero when libwebsockets could not service the context (it is
 * being destroyed, or poll() failed).
 * Network thread; blocks up to timeout_ms. */
int nx_net_service(nx_net_t *n, int timeout_ms);

/* The libwebsockets context, for the clients that live on the loop: each
 * adds its own vhost (lws_create_vhost) and connects through it. Network
 * thread. The context and every vhost made on it belong to the net:
 * nx_net_destroy frees them. */
struct lws_context *nx_net_context(nx_net_t *n);

/* The clock the net was made with (receive time stamps). Any thread. */
nx_clock_t *nx_net_clock(nx_net_t *n);

/* Make a blocked or the next nx_net_service return early
 * (lws_cancel_service): on the network thread, every protocol of every
 * vhost then gets LWS_CALLBACK_EVENT_WAIT_CANCELLED, with no connection
 * state (`user` is NULL). For work another thread queued for the network
 * thread. Any thread; does not block or allocate (one write to a pipe). */
void nx_net_wake(nx_net_t *n);

/* Close every connection and free the context with its vhosts. The
 * connections' close callbacks run here, on the calling thread, so the
 * clients' state (feeds, the Telegram client) must still be alive: destroy
 * the clients after the net. NULL is a no-op. */
void nx_net_destroy(nx_net_t *n);

#endif /* NX_NET_H */
