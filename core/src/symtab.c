/*
 * symtab.c — the symbol table (see symtab.h).
 */
#include "nx/symtab.h"
#include "nx/error.h"
#include "nx/event.h"
#include "nx/fixed.h"

#include <string.h>

#define NSLOTS (NX_SYMTAB_MAX * 2)

static uint64_t hash(nx_venue_t venue, const char *s, size_t len)
{
    /* FNV-1a over venue byte + name: names are 3-20 bytes, so a fancier hash
     * would not pay for itself. */
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)venue;
    h *= 1099511628211ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void nx_symtab_init(nx_symtab_t *t)
{
    memset(t, 0, sizeof *t);
}

static int name_eq(const nx_symbol_t *s, nx_venue_t venue, const char *name, size_t len)
{
    return s->venue == venue && s->name[len] == 0 && memcmp(s->name, name, len) == 0;
}

uint32_t nx_symtab_find(const nx_symtab_t *t, nx_venue_t venue, const char *name, size_t len)
{
    if (len == 0 || len > NX_SYMBOL_NAME_MAX)
        return NX_SYMBOL_NONE;
    nx_symtab_t *m = (nx_symtab_t *)t;
    for (uint64_t i = hash(venue, name, len);; i++) {
        uint32_t v = atomic_load_explicit(&m->slots[i & (NSLOTS - 1)], memory_order_acquire);
        if (v == 0)
            return NX_SYMBOL_NONE;
        if (name_eq(&t->syms[v - 1], venue, name, len))
            return v - 1;
    }
}

int nx_symtab_add(nx_symtab_t *t, nx_venue_t venue, const char *name, unsigned price_scale,
                  unsigned qty_scale, int64_t tick_size, int64_t lot_size, int64_t min_notional,
                  uint32_t *existing)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > NX_SYMBOL_NAME_MAX || venue <= NX_VENUE_NONE || venue >= NX_VENUE_COUNT ||
        price_scale > NX_FIXED_MAX_SCALE || qty_scale > NX_FIXED_MAX_SCALE || tick_size <= 0 ||
        lot_size <= 0 || min_notional < 0)
        return NX_EINVAL;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '/' || c == '.'))
            return NX_EINVAL;
    }
    uint32_t found = nx_symtab_find(t, venue, name, len);
    if (found != NX_SYMBOL_NONE) {
        if (existing)
            *existing = found;
        return NX_EEXIST;
    }
    uint32_t n = atomic_load_explicit(&t->count, memory_order_relaxed);
    if (n >= NX_SYMTAB_MAX)
        return NX_EFULL;
    nx_symbol_t *s = &t->syms[n];
    memset(s, 0, sizeof *s);
    memcpy(s->name, name, len);
    s->id = n;
    s->venue = (uint8_t)venue;
    s->price_scale = (uint8_t)price_scale;
    s->qty_scale = (uint8_t)qty_scale;
    s->tick_size = tick_size;
    s->lot_size = lot_size;
    s->min_notional = min_notional;
    for (uint64_t i = hash(venue, name, len);; i++) {
        _Atomic uint32_t *slot = &t->slots[i & (NSLOTS - 1)];
        if (atomic_load_explicit(slot, memory_order_relaxed) == 0) {
            /* The entry is complete before its slot appears. */
            atomic_store_explicit(slot, n + 1, memory_order_release);
            break;
        }
    }
    atomic_store_explicit(&t->count, n + 1, memory_order_release);
    return (int)n;
}

const nx_symbol_t *nx_symtab_get(const nx_symtab_t *t, uint32_t id)
{
    if (id >= atomic_load_explicit(&((nx_symtab_t *)t)->count, memory_order_acquire))
        return NULL;
    return &t->syms[id];
}

uint32_t nx_symtab_count(const nx_symtab_t *t)
{
    return atomic_load_explicit(&((nx_symtab_t *)t)->count, memory_order_acquire);
}
