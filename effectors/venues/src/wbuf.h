/*
 * wbuf.h — writing a request into the caller's buffer (internal to
 * nx_venues: the request builders of Binance, Bybit and Alpaca). Appends
 * stop at the first that would not fit, with the buffer still NUL-
 * terminated and `over` set: the builder then returns NX_ETOOLONG. No
 * allocation.
 */
#ifndef NX_VENUES_WBUF_H
#define NX_VENUES_WBUF_H

#include <stddef.h>
#include <string.h>

#include "nx/compiler.h"

typedef struct out {
    char *p;
    size_t cap, n;
    int over;
} out_t;

NX_INLINE void put(out_t *o, const char *s, size_t len)
{
    if (o->over || o->n + len >= o->cap) {
        o->over = 1;
        return;
    }
    memcpy(o->p + o->n, s, len);
    o->n += len;
    o->p[o->n] = 0;
}

#define PUT_LIT(o, lit) put((o), (lit), sizeof(lit) - 1)

NX_INLINE void put_s(out_t *o, const char *s)
{
    put(o, s, strlen(s));
}

#endif
