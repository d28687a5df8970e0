/*
 * web.h — the engine's HTTP server: a thread of its own with its own
 * libwebsockets context, so nothing it does (a slow client, a hundred
 * scrapes) runs on the network or the engine thread.
 *
 * It serves the routes its caller gives, each answered on the web thread by
 * a render callback (GET and HEAD: the body and the status) or a handler
 * (any method, with the request's arguments, cookie and X-CSRF-Token
 * header, and header lines of its own in the answer), files from a folder,
 * and a live page over WebSocket. The routes read only
 * what other threads publish for them: relaxed counters, snapshots, tables
 * under their own lock. Anything else is 404. A POST's body is read and
 * left aside (at most 64 KiB; actions carry their arguments in the URL).
 * The listen address is loopback unless configured otherwise; a body
 * larger than the buffer is a 500, never a cut answer.
 */
#ifndef NX_WEB_H
#define NX_WEB_H

#include <stddef.h>
#include <stdint.h>

typedef struct nx_web nx_web_t;

/* Writes the answer into buf (at most cap bytes, NUL-terminated) and its
 * media type into *type; returns the HTTP status (200, 503, ...), or 500
 * when it did not fit. */
typedef int (*nx_web_render_cb)(void *ctx, char *buf, size_t cap, const char **type);

/* A request, for a handler: what it may read of it. */
typedef struct nx_web_req {
    const char *method; /* "GET", "HEAD" or "POST" */
    const char *path;
    const char *query;  /* the URL's arguments, "a=1&b=2" ("" if none) */
    const char *cookie; /* the Cookie header ("" if none) */
    const char *csrf;   /* the X-CSRF-Token header ("" if none) */
} nx_web_req_t;

/* The answer a handler writes: the body into body (at most cap bytes,
 * NUL-terminated), its media type, and header lines of its own
 * ("Name: value\r\n" each: Set-Cookie, Location). */
typedef struct nx_web_resp {
    const char *type;
    char *body;
    size_t cap;
    char headers[1024];
} nx_web_resp_t;

/* Returns the HTTP status. */
typedef int (*nx_web_handler_cb)(void *ctx, const nx_web_req_t *rq, nx_web_resp_t *rs);

#define NX_WEB_MAX_ROUTES 12
typedef struct nx_web_route {
    const char *path;         /* exact, e.g. "/metrics" */
    nx_web_render_cb render;  /* GET and HEAD only (405 for the rest), or: */
    nx_web_handler_cb handle; /* any method, with the request's details */
} nx_web_route_t;

/* A live page over WebSocket (subprotocol "nx-live"): its text for the
 * connection whose upgrade request carried this Cookie header; the length
 * written, or -1 (not signed in, or no longer: the connection closes). */
typedef int (*nx_web_live_cb)(void *ctx, const char *cookie, char *buf, size_t cap);

typedef struct nx_web_opts {
    const char *host;     /* address to bind, "127.0.0.1" */
    int port;             /* 0: any free port (nx_web_port says which) */
    size_t body_max;      /* the render buffer, bytes (0: 1 MiB) */
    nx_web_route_t routes[NX_WEB_MAX_ROUTES]; /* up to the first with path NULL */
    void *ctx;            /* for every render */
    /* files (a built front end) served as they are under /ui/, index.html
     * for /ui/ itself (libwebsockets' file mount); NULL: none */
    const char *files_dir;
    /* the live page: each connection is sent live()'s text when it opens
     * and again whenever version() changes (looked at every 100 ms) */
    nx_web_live_cb live;
    uint64_t (*version)(void *ctx);
    /* HTTPS with the project's OpenSSL: a PEM certificate (chain) and its
     * key; NULL or "": plain HTTP */
    const char *tls_cert, *tls_key;
} nx_web_opts_t;

/* Binds and starts the thread. 0, or NX_ESYSTEM with the reason in err
 * (an address in use, a bad host). Start-up. */
int nx_web_start(nx_web_t **out, const nx_web_opts_t *o, char *err, size_t cap);
/* The port it listens on. */
int nx_web_port(const nx_web_t *w);
/* Stops the thread, closes every connection and frees it (NULL: nothing). */
void nx_web_stop(nx_web_t *w);

#endif /* NX_WEB_H */
