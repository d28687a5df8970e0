/*
 * web.c — the engine's HTTP server on a thread of its own (see web.h).
 */
#include "nx/web.h"

#include "nx/error.h"
#include "nx/log.h"

#include <arpa/inet.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
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
    char *render; /* the render buffer (web thread) */
    struct lws_http_mount mount;
    lws_sorted_usec_list_t tick; /* the live page's look at version() */
    uint64_t version;
};

/* A live page's connection: the Cookie header it came with. */
typedef struct live {
    char cookie[1024];
    int sent_once;
} live_t;

/* One HTTP connection's request (a POST waits for its body's end) and
 * answer, kept until it is written. */
typedef struct pss {
    char *body;
    size_t len;
    int head;     /* HEAD: the headers only */
    int waiting;  /* a POST whose body is still coming */
    size_t taken; /* of that body */
    char method[8], path[256], query[512], cookie[1024], csrf[128];
} pss_t;

static int answer(struct lws *wsi, pss_t *p, int status, const char *type,
                  const char *body, size_t len, const char *extra)
{
    p->body = malloc(LWS_PRE + len + 1);
    if (!p->body)
        return -1;
    memcpy(p->body + LWS_PRE, body, len);
    p->len = len;
    uint8_t hdr[LWS_PRE + 2048], *start = &hdr[LWS_PRE], *q = start, *end = &hdr[sizeof hdr - 1];
    if (lws_add_http_common_headers(wsi, (unsigned)status, type, (lws_filepos_t)len, &q, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &q, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"x-content-type-options:",
                                    (const unsigned char *)"nosniff", 7, &q, end))
        return -1;
    /* the handler's own lines: "Name: value\r\n" each */
    for (const char *l = extra; l && *l;) {
        const char *colon = strchr(l, ':'), *eol = strstr(l, "\r\n");
        if (!colon || !eol || colon > eol)
            break;
        char name[64];
        size_t nl = (size_t)(colon - l) + 1;
        if (nl >= sizeof name)
            break;
        memcpy(name, l, nl);
        name[nl] = 0;
        for (char *c = name; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                        (const unsigned char *)v, (int)(eol - v), &q, end))
            return -1;
        l = eol + 2;
    }
    if (lws_finalize_write_http_header(wsi, start, &q, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

/* The request, answered: a route's render (GET, HEAD) or handler. */
static int serve(nx_web_t *w, struct lws *wsi, pss_t *p)
{
    p->head = !strcmp(p->method, "HEAD");
    for (int i = 0; i < NX_WEB_MAX_ROUTES && w->o.routes[i].path; i++) {
        const nx_web_route_t *r = &w->o.routes[i];
        if (strcmp(p->path, r->path))
            continue;
        w->render[0] = 0;
        if (r->handle) {
            nx_web_req_t rq = {p->method, p->path, p->query, p->cookie, p->csrf};
            nx_web_resp_t rs;
            memset(&rs, 0, sizeof rs);
            rs.type = "text/plain; charset=utf-8";
            rs.body = w->render;
            rs.cap = w->o.body_max;
            int status = r->handle(w->o.ctx, &rq, &rs);
            return answer(wsi, p, status, rs.type, w->render, strlen(w->render), rs.headers);
        }
        if (strcmp(p->method, "GET") && !p->head) {
            static const char m[] = "only GET and HEAD are served here\n";
            return answer(wsi, p, 405, "text/plain", m, sizeof m - 1, NULL);
        }
        const char *type = "text/plain; charset=utf-8";
        int status = r->render(w->o.ctx, w->render, w->o.body_max, &type);
        return answer(wsi, p, status, type, w->render, strlen(w->render), NULL);
    }
    static const char nf[] = "not found\n";
    return answer(wsi, p, 404, "text/plain", nf, sizeof nf - 1, NULL);
}

static int on_request(nx_web_t *w, struct lws *wsi, pss_t *p, const char *path)
{
    snprintf(p->path, sizeof p->path, "%s", path);
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
        snprintf(p->method, sizeof p->method, "GET");
    else if (lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI))
        snprintf(p->method, sizeof p->method, "HEAD");
    else if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
        snprintf(p->method, sizeof p->method, "POST");
    else {
        static const char m[] = "method not served here\n";
        return answer(wsi, p, 405, "text/plain", m, sizeof m - 1, NULL);
    }
    /* the arguments, one fragment each (lws_hdr_copy runs them together
     * with no separator): joined with '&' again */
    size_t qn = 0;
    p->query[0] = 0;
    for (int i = 0; qn + 1 < sizeof p->query; i++) {
        char frag[512];
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n <= 0)
            break;
        qn += (size_t)snprintf(p->query + qn, sizeof p->query - qn, "%s%s", qn ? "&" : "", frag);
    }
    if (qn >= sizeof p->query)
        p->query[0] = 0; /* too long to be one of ours */
    if (lws_hdr_copy(wsi, p->cookie, sizeof p->cookie, WSI_TOKEN_HTTP_COOKIE) < 0)
        p->cookie[0] = 0;
    if (lws_hdr_custom_copy(wsi, p->csrf, sizeof p->csrf, "x-csrf-token:", 13) < 0)
        p->csrf[0] = 0;
    if (!strcmp(p->method, "POST") && lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH)) {
        char cl[24] = "";
        lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH);
        if (atol(cl) > 0) {
            p->waiting = 1; /* answered at the body's end */
            return 0;
        }
    }
    return serve(w, wsi, p);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    nx_web_t *w = lws_context_user(lws_get_context(wsi));
    pss_t *p = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        memset(p, 0, sizeof *p);
        char path[256];
        snprintf(path, sizeof path, "%s", (const char *)in);
        return on_request(w, wsi, p, path);
    }
    case LWS_CALLBACK_HTTP_BODY:
        if (p && p->waiting) {
            p->taken += len;
            if (p->taken > (64u << 10))
                return -1; /* nothing here takes a body that large */
        }
        break;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (p && p->waiting) {
            p->waiting = 0;
            return serve(w, wsi, p);
        }
        break;
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!p || !p->body) /* not an answer of ours: a file being sent */
            return lws_callback_http_dummy(wsi, reason, user, in, len);
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
        /* the file mount's steps (a file sent whole ends its transaction,
         * so the connection serves the next request) are libwebsockets' */
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
    return 0;
}

static int live_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    (void)in, (void)len;
    nx_web_t *w = lws_context_user(lws_get_context(wsi));
    live_t *l = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        if (!w->o.live)
            return -1;
        memset(l, 0, sizeof *l);
        if (lws_hdr_copy(wsi, l->cookie, sizeof l->cookie, WSI_TOKEN_HTTP_COOKIE) < 0)
            l->cookie[0] = 0;
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        /* the web thread's buffer: connections are written one at a time */
        char *buf = w->render;
        int n = w->o.live(w->o.ctx, l->cookie, buf + LWS_PRE, w->o.body_max - LWS_PRE);
        if (n < 0)
            return -1; /* not signed in (any more) */
        l->sent_once = 1;
        if (lws_write(wsi, (unsigned char *)buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
            return -1;
        break;
    }
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"http", callback, sizeof(pss_t), 4096, 0, NULL, 0},
    {"nx-live", live_cb, sizeof(live_t), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Every 100 ms: something new for the live pages? */
static void on_tick(lws_sorted_usec_list_t *sul)
{
    nx_web_t *w = lws_container_of(sul, nx_web_t, tick);
    uint64_t v = w->o.version ? w->o.version(w->o.ctx) : 0;
    if (v != w->version) {
        w->version = v;
        lws_callback_on_writable_all_protocol(w->ctx, &protocols[1]);
    }
    lws_sul_schedule(w->ctx, 0, &w->tick, on_tick, 100 * LWS_US_PER_MS);
}

static void *web_main(void *arg)
{
    nx_web_t *w = arg;
    while (!atomic_load_explicit(&w->stop, memory_order_acquire))
        if (lws_service(w->ctx, 0) < 0)
            break;
    return NULL;
}

/* Whether host:port can be bound now. libwebsockets leaks a little of a
 * context whose listening socket cannot be bound (72 bytes, ASan shows it):
 * a port in use (another engine on the machine) is found here first. An
 * address that is not an IPv4 literal is left to libwebsockets. */
static int bindable(const char *host, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (port <= 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
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
    if (!bindable(info.iface, o->port)) {
        snprintf(err, cap, "cannot listen on %s:%d: the port is in use", info.iface, o->port);
        nx_web_stop(w);
        return NX_ESYSTEM;
    }
    info.protocols = protocols;
    info.user = w;
    if (o->tls_cert && *o->tls_cert && o->tls_key && *o->tls_key) {
        /* a server: no client certificates to check against the OS's CA
         * store, so it need not be loaded */
        info.options |=
            LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
        info.ssl_cert_filepath = o->tls_cert;
        info.ssl_private_key_filepath = o->tls_key;
    }
    if (o->files_dir && *o->files_dir) {
        w->mount.mountpoint = "/ui";
        w->mount.mountpoint_len = 3;
        w->mount.origin = o->files_dir;
        w->mount.def = "index.html";
        w->mount.origin_protocol = LWSMPRO_FILE;
        info.mounts = &w->mount;
    }
    info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    w->ctx = lws_create_context(&info);
    struct lws_vhost *vh = w->ctx ? lws_get_vhost_by_name(w->ctx, "default") : NULL;
    w->port = vh ? lws_get_vhost_listen_port(vh) : 0;
    if (!w->ctx || w->port <= 0) {
        snprintf(err, cap, "cannot listen on %s:%d (in use, or not an address of this machine)",
                 info.iface, o->port);
        nx_web_stop(w);
        return NX_ESYSTEM;
    }
    if (o->live)
        lws_sul_schedule(w->ctx, 0, &w->tick, on_tick, 100 * LWS_US_PER_MS);
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
