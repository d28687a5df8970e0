/*
 * jfields.h — a venue's JSON objects into C records, by table (internal to
 * nx_venues: the user-data decoders of Binance and Bybit share it).
 *
 * Each JSON object a venue sends has a table of fields: the key, how its
 * value converts (decimal at the price, quantity or money scale, integer,
 * boolean, enumeration, bounded string) and where it goes in the record.
 * Decoding an object is two steps: jf_collect() walks it once with the
 * scanner (nx/jscan.h) and keeps the span of every key in the table, then
 * jf_convert() fills the record: the symbol first, because key order is not
 * assumed and prices need its scales, then every other field, checking
 * that the required ones were sent. Keys a venue sends but Nexus does not
 * use are listed as C_SKIP so that a table follows the venue's own key
 * order; jf_find() starts after the previous match, so a frame in that
 * order finds each key at the first compare, and any other order costs at
 * most one lap of the table per key. Nothing allocates or locks.
 */
#ifndef NX_JFIELDS_H
#define NX_JFIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "nx/jscan.h"
#include "nx/symtab.h"
#include "nx/venue.h"

/* How a field's value converts. */
enum conv {
    C_SKIP,  /* a key the venue sends that Nexus does not use (keeps find() in step) */
    C_SPAN,  /* kept as a span for the code that reads the object (top-level e, o, a, ...) */
    C_SYM,   /* the symbol: copied, looked up, and its scales used by the fields below */
    C_ID,    /* string copied whole into char[size]; a longer one is an error */
    C_TEXT,  /* string copied into char[size], cut to fit */
    C_PRICE, /* decimal at the symbol's price scale, exact */
    C_AVG,   /* decimal at the price scale, rounded (an average the venue computed) */
    C_QTY,   /* decimal at the symbol's quantity scale, exact */
    C_MONEY, /* decimal at the context's money scale, exact */
    C_U64,   /* unsigned integer, a number or a string of digits */
    C_MS,    /* epoch milliseconds, int64 */
    C_BOOL,  /* true or false, to uint8 1 or 0 */
    C_ENUM,  /* a string from a name list, to uint8 (its index) */
    C_TIME,  /* an RFC 3339 string ("2022-04-19T13:45:04.98-04:00"), ns since the epoch */
};

/* Names of an enumeration, by value; v[0] is unused (0 = unknown). With
 * `strict`, an unknown name is an error (a value Nexus acts on); without,
 * it reads as 0, the enumeration's OTHER. */
typedef struct names {
    const char *const *v;
    uint8_t n;
    uint8_t strict;
} names_t;

typedef struct field {
    const char *key;      /* as on the wire */
    const char *path;     /* the key as errors name it: "o.X", "a.P[].pa" */
    uint8_t klen;         /* strlen(key) */
    uint8_t conv;         /* enum conv */
    uint8_t required;     /* 1 = a frame without it is an error */
    uint16_t off;         /* destination: byte offset in the record */
    uint16_t size;        /* destination's size in bytes (char[] capacity) */
    const names_t *names; /* C_ENUM only */
} field_t;

#define NF(table) ((int)(sizeof(table) / sizeof((table)[0])))

/* A field of record type `rec` stored in `member`; `pfx` is the path of
 * the object that holds the key ("o.", "a.B[]."). */
#define FLD(pfx, k, conv, req, rec, member, nm)                                                    \
    {                                                                                              \
        k, pfx k, sizeof(k) - 1, conv, req, offsetof(rec, member), sizeof(((rec *)0)->member), nm  \
    }
#define SKIP(k)                                                                                    \
    {                                                                                              \
        k, k, sizeof(k) - 1, C_SKIP, 0, 0, 0, NULL                                                 \
    }
#define SPAN(pfx, k)                                                                               \
    {                                                                                              \
        k, pfx k, sizeof(k) - 1, C_SPAN, 0, 0, 0, NULL                                             \
    }

/* Spans of one object, by the index of their field in its table; only the
 * entries with their bit in `seen` are valid (clearing 40 spans per object
 * would cost more than the bit test at each read). */
#define OBJ_FIELDS_MAX 40
typedef struct obj {
    nx_jspan_t v[OBJ_FIELDS_MAX];
    uint64_t seen;
} obj_t;

#define HAS(o, i) (((o)->seen >> (i)) & 1u)

/* A list of objects of one table (a.B or a.P) into records of `stride`
 * bytes at `first`, at most `cap`; *n gets the count kept, *cut the count
 * beyond cap (walked over, not decoded). */
typedef struct list {
    const char *path; /* "a.B" */
    const char *elem; /* "a.B[]" */
    const field_t *f;
    int nf;
    size_t stride;
    uint32_t cap;
} list_t;
/* Where the decode runs: the symbol table and the venue its symbols are
 * looked up under, the scale of money, and where a failure is told (the
 * key at fault as a path, and what was wrong: both static strings). */
typedef struct jf_ctx {
    const nx_symtab_t *st;
    nx_venue_t venue;
    unsigned money_scale;
    const char **err_key;
    const char **err_what;
} jf_ctx_t;

/* Tell a failure (key, what) and return rc. */
int jf_fail(jf_ctx_t *x, int rc, const char *key, const char *what);
/* Index of the name equal to the span, 0 if none. */
uint8_t jf_name_find(const names_t *nm, const nx_jspan_t *s);
/* Table index of a key, or -1; the search starts after the previous match
 * (*hint). */
int jf_find(const field_t *f, int nf, const nx_jspan_t *k, int *hint);
/* Walk the object at the cursor once, keeping the spans of the table's
 * keys (a repeated key: the last one). 0, or -1 if malformed. */
int jf_collect(nx_jcur_t *c, const field_t *f, int nf, obj_t *o);
/* jf_collect() over an object span; `path` names it in errors. */
int jf_collect_span(const nx_jspan_t *v, const char *path, const field_t *f, int nf, obj_t *o,
                    jf_ctx_t *x);
/* A string copied into dst[size], NUL-terminated: whole (or NX_ETOOLONG),
 * or with `cut`, as much as fits. */
int jf_copy_str(const field_t *f, const nx_jspan_t *v, char *dst, size_t size, int cut,
                jf_ctx_t *x);
/* One field's span into its place dst; prices and quantities at sym's
 * scales (NULL for a field that has none). */
int jf_convert_one(const field_t *f, const nx_jspan_t *v, char *dst, const nx_sym_ref_t *sym,
                   jf_ctx_t *x);
/* Fill the record at `rec` from an object's spans: the symbol first, then
 * every field in table order. An optional field absent, null or "" stays
 * as the record was (zeroed by the caller). With `sym_optional`, a symbol
 * not in the table is kept by name and the fields at its scales are left
 * 0. */
int jf_convert(const field_t *f, int nf, const obj_t *o, void *rec, int sym_optional, jf_ctx_t *x);
/* A list of objects of one table into records of l->stride bytes at
 * `first`, at most l->cap; *n gets the count kept, *cut the count beyond
 * cap (walked over, not decoded). */
int jf_list_decode(const list_t *l, const nx_jspan_t *arr, void *first, uint8_t *n, uint32_t *cut,
                   jf_ctx_t *x);

#endif /* NX_JFIELDS_H */
