/*
 * web.h — the engine's HTTP server: a thread of its own with its own
 * libwebsockets context, so nothing it does (a slow client, a hundred
 * scrapes) runs on the network or the engine thread.
 *
 * It serves GET on the routes its caller gives, each answered by a render
 * callback called on the web thread: the callback writes the body into
 * the buffer it is given and returns the HTTP status (the routes read
 * only what other threads publish for them: relaxed counters and
 * snapshots). Anything else is 404 (405 for another method than GET or
 * HEAD). The listen address is loopback unless configured otherwise;
 * a body larger than the buffer is a 500, never a cut answer.
 */
#ifndef NX_WEB_H
#define NX_WEB_H

#include <stddef.h>

typedef struct nx_web nx_web_t;

/* Writes the answer into buf (at most cap bytes, NUL-terminated) and its
 * media type into *type; returns the HTTP status (200, 503, ...), or 500
 * when it did not fit. */
typedef int (*nx_web_render_cb)(void *ctx, char *buf, size_t cap, const char **type);

#define NX_WEB_MAX_ROUTES 8
typedef struct nx_web_route {
    const char *path; /* exact, e.g. "/metrics" */
    nx_web_render_cb render;
} nx_web_route_t;

typedef struct nx_web_opts {
    const char *host;     /* address to bind, "127.0.0.1" */
    int port;             /* 0: any free port (nx_web_port says which) */
    size_t body_max;      /* the render buffer, bytes (0: 1 MiB) */
    nx_web_route_t routes[NX_WEB_MAX_ROUTES]; /* up to the first with path NULL */
    void *ctx;            /* for every render */
} nx_web_opts_t;

/* Binds and starts the thread. 0, or NX_ESYSTEM with the reason in err
 * (an address in use, a bad host). Start-up. */
int nx_web_start(nx_web_t **out, const nx_web_opts_t *o, char *err, size_t cap);
/* The port it listens on. */
int nx_web_port(const nx_web_t *w);
/* Requests answered so far (any thread). */
unsigned long long nx_web_requests(const nx_web_t *w);
/* Stops the thread, closes every connection and frees it (NULL: nothing). */
void nx_web_stop(nx_web_t *w);

#endif /* NX_WEB_H */
