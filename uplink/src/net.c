/*
 * net.c — the process-wide libwebsockets loop (see net.h).
 *
 * A thin wrapper: the context is made with no protocols of its own (lws
 * puts its dummy "http-only" protocol on the default vhost) and every
 * client brings its own vhost, so nothing here changes when a client is
 * added. What the wrapper adds is the wait: libwebsockets 4.x ignores
 * lws_service()'s timeout and sleeps until its next scheduled timer (up to
 * ~30 s when none is left), so each service call arms a one-shot timer for
 * the time the caller asked for.
 */
#include "nx/net.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

struct nx_net {
    struct lws_context *ctx;
    nx_clock_t *clock;
    lws_sorted_usec_list_t wake; /* bounds one nx_net_service() wait */
};

nx_net_t *nx_net_create(nx_clock_t *clock)
{
    nx_net_t *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->clock = clock;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.fd_limit_per_thread = 1024;
    lws_set_log_level(LLL_ERR, NULL);
    n->ctx = lws_create_context(&info);
    if (!n->ctx) {
        free(n);
        return NULL;
    }
    return n;
}

static void on_wake(lws_sorted_usec_list_t *sul)
{
    (void)sul; /* only there to end the poll */
}

int nx_net_service(nx_net_t *n, int timeout_ms)
{
    lws_sul_schedule(n->ctx, 0, &n->wake, on_wake,
                     (lws_usec_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000);
    return lws_service(n->ctx, 0);
}

struct lws_context *nx_net_context(nx_net_t *n)
{
    return n->ctx;
}

nx_clock_t *nx_net_clock(nx_net_t *n)
{
    return n->clock;
}

void nx_net_wake(nx_net_t *n)
{
    lws_cancel_service(n->ctx);
}

void nx_net_destroy(nx_net_t *n)
{
    if (!n)
        return;
    lws_sul_cancel(&n->wake);
    lws_context_destroy(n->ctx);
    free(n);
}
