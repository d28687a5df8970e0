/*
 * web.c — the engine's HTTP server on a thread of its own (see web.h).
 */
#include "nx/web.h"

#include "nx/error.h"
#include "nx/log.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nx_web {
    nx_web_opts_t o;
    struct lws_context *ctx;
    pthread_t th;
    int started;
    int port;
    _Atomic int stop;
    _Atomic unsigned long long requests;
    char *render; /* the render buffer (web thread) */
};

/* One HTTP connection's answer, kept until it is written. */
typedef struct pss {
    char *body;
    size_t len;
    int head; /* HEAD: the headers only */
} pss_t;

static int answer(nx_web_t *w, struct lws *wsi, pss_t *p, int status, const char *type,
                  const char *body, size_t len)
{
    p->body = malloc(LWS_PRE + len + 1);
    if (!p->body)
        return -1;
    memcpy(p->body + LWS_PRE, body, len);
    p->len = len;
    uint8_t hdr[LWS_PRE + 512], *start = &hdr[LWS_PRE], *q = start, *end = &hdr[sizeof hdr - 1];
    if (lws_add_http_common_headers(wsi, (unsigned)status, type, (lws_filepos_t)len, &q, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &q, end) ||
        lws_finalize_write_http_header(wsi, start, &q, end))
        return -1;
    atomic_fetch_add_explicit(&w->requests, 1, memory_order_relaxed);
    lws_callback_on_writable(wsi);
    return 0;
}

static int on_request(nx_web_t *w, struct lws *wsi, pss_t *p, const char *path)
{
    int get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
    int head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
    if (!get && !head) {
        static const char m[] = "only GET and HEAD are served here\n";
        return answer(w, wsi, p, 405, "text/plain", m, sizeof m - 1);
    }
    p->head = head;
    for (int i = 0; i < NX_WEB_MAX_ROUTES && w->o.routes[i].path; i++) {
        if (strcmp(path, w->o.routes[i].path))
            continue;
        const char *type = "text/plain; charset=utf-8";
        w->render[0] = 0;
        int status = w->o.routes[i].render(w->o.ctx, w->render, w->o.body_max, &type);
        return answer(w, wsi, p, status, type, w->render, strlen(w->render));
    }
    static const char nf[] = "not found\n";
    return answer(w, wsi, p, 404, "text/plain", nf, sizeof nf - 1);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    nx_web_t *w = lws_context_user(lws_get_context(wsi));
    pss_t *p = user;
    (void)len;
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        memset(p, 0, sizeof *p);
        char path[256];
        snprintf(path, sizeof path, "%s", (const char *)in);
        return on_request(w, wsi, p, path);
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!p || !p->body)
            return -1;
        int n = p->head || !p->len
                    ? 0
                    : lws_write(wsi, (unsigned char *)p->body + LWS_PRE, p->len,
                                LWS_WRITE_HTTP_FINAL);
        free(p->body);
        p->body = NULL;
        if (n < 0)
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        if (p) {
            free(p->body);
            p->body = NULL;
        }
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"http", callback, sizeof(pss_t), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *web_main(void *arg)
{
    nx_web_t *w = arg;
    while (!atomic_load_explicit(&w->stop, memory_order_acquire))
        if (lws_service(w->ctx, 0) < 0)
            break;
    return NULL;
}

int nx_web_start(nx_web_t **out, const nx_web_opts_t *o, char *err, size_t cap)
{
    *out = NULL;
    nx_web_t *w = calloc(1, sizeof *w);
    if (!w)
        return NX_ENOMEM;
    w->o = *o;
    if (!w->o.body_max)
        w->o.body_max = 1u << 20;
    if (!(w->render = malloc(w->o.body_max))) {
        free(w);
        return NX_ENOMEM;
    }
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = o->port; /* 0: lws binds any free port */
    info.iface = o->host && *o->host ? o->host : "127.0.0.1";
    info.protocols = protocols;
    info.user = w;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    w->ctx = lws_create_context(&info);
    struct lws_vhost *vh = w->ctx ? lws_get_vhost_by_name(w->ctx, "default") : NULL;
    w->port = vh ? lws_get_vhost_listen_port(vh) : 0;
    if (!w->ctx || w->port <= 0) {
        snprintf(err, cap, "cannot listen on %s:%d (in use, or not an address of this machine)",
                 info.iface, o->port);
        nx_web_stop(w);
        return NX_ESYSTEM;
    }
    if (pthread_create(&w->th, NULL, web_main, w)) {
        snprintf(err, cap, "cannot start its thread");
        nx_web_stop(w);
        return NX_ESYSTEM;
    }
    w->started = 1;
    *out = w;
    return 0;
}

int nx_web_port(const nx_web_t *w)
{
    return w->port;
}

unsigned long long nx_web_requests(const nx_web_t *w)
{
    return atomic_load_explicit(&((nx_web_t *)w)->requests, memory_order_relaxed);
}

void nx_web_stop(nx_web_t *w)
{
    if (!w)
        return;
    atomic_store_explicit(&w->stop, 1, memory_order_release);
    if (w->ctx)
        lws_cancel_service(w->ctx);
    if (w->started)
        pthread_join(w->th, NULL);
    if (w->ctx)
        lws_context_destroy(w->ctx);
    free(w->render);
    free(w);
}
