/*
 * fuzz_check.h — what the fuzz targets assert of a decoded record: CHECK
 * aborts (the fuzzer's crash) when a promise is broken; TERMINATED, that
 * a char array holds its NUL; check_sym, that a symbol the decoder
 * resolved is the table's, with its scales.
 */
#ifndef NX_FUZZ_CHECK_H
#define NX_FUZZ_CHECK_H

#include <stdlib.h>
#include <string.h>

#include "nx/symtab.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

#define TERMINATED(a) CHECK(memchr((a), '\0', sizeof(a)) != NULL)

static inline void check_sym(const nx_symtab_t *t, const nx_sym_ref_t *s)
{
    TERMINATED(s->name);
    const nx_symbol_t *e = nx_symtab_get(t, s->id);
    CHECK(s->id == NX_SYMBOL_NONE ||
          (e && e->price_scale == s->price_scale && e->qty_scale == s->qty_scale &&
           strcmp(e->name, s->name) == 0));
}

#endif
