/*
 * jfields.c — a venue's JSON objects into C records, by table (jfields.h).
 */
#include "jfields.h"

#include <string.h>

#include "nx/clock.h"
#include "nx/event.h"
#include "nx/error.h"
#include "nx/fixed.h"

uint8_t jf_name_find(const names_t *nm, const nx_jspan_t *s)
{
    for (uint8_t i = 1; i < nm->n; i++) {
        const char *v = nm->v[i];
        if (v && strlen(v) == s->n && memcmp(v, s->p, s->n) == 0)
            return i;
    }
    return 0;
}

int jf_fail(jf_ctx_t *x, int rc, const char *key, const char *what)
{
    *x->err_key = key;
    *x->err_what = what;
    return rc;
}

/* Table index of a key, or -1. The search starts after the previous match
 * (*hint), so keys in the table's order match at once. */
int jf_find(const field_t *f, int nf, const nx_jspan_t *k, int *hint)
{
    int j = *hint;
    for (int i = 0; i < nf; i++, j = j + 1 == nf ? 0 : j + 1) {
        if (f[j].klen == k->n && memcmp(f[j].key, k->p, k->n) == 0) {
            *hint = j + 1 == nf ? 0 : j + 1;
            return j;
        }
    }
    return -1;
}

/* Walk the object at the cursor once, keeping the spans of the table's
 * keys (a repeated key: the last one). 0, or -1 if malformed. */
int jf_collect(nx_jcur_t *c, const field_t *f, int nf, obj_t *o)
{
    nx_jspan_t key, skip;
    int hint = 0;
    o->seen = 0;
    if (nx_js_obj_begin(c))
        return -1;
    for (int first = 1;; first = 0) {
        int r = nx_js_obj_key(c, &key, first);
        if (r <= 0)
            return r;
        int i = jf_find(f, nf, &key, &hint);
        if (nx_js_value(c, i >= 0 ? &o->v[i] : &skip))
            return -1;
        if (i >= 0)
            o->seen |= 1ull << i;
    }
}

/* collect() over an object span; `path` names it in errors. */
int jf_collect_span(const nx_jspan_t *v, const char *path, const field_t *f, int nf, obj_t *o,
                    jf_ctx_t *x)
{
    if (v->type != NX_J_OBJ)
        return jf_fail(x, NX_ETYPE, path, "not an object");
    nx_jcur_t c = {v->p, v->p + v->n};
    if (jf_collect(&c, f, nf, o))
        return jf_fail(x, NX_ESYNTAX, path, "malformed JSON");
    return 0;
}

/* A string copied into dst[size], NUL-terminated: whole (or NX_ETOOLONG),
 * or with `cut`, as much as fits. */
int jf_copy_str(const field_t *f, const nx_jspan_t *v, char *dst, size_t size, int cut, jf_ctx_t *x)
{
    if (v->type != NX_J_STR)
        return jf_fail(x, NX_ETYPE, f->path, "not a string");
    size_t n = v->n;
    if (n >= size) {
        if (!cut)
            return jf_fail(x, NX_ETOOLONG, f->path, "too long");
        n = size - 1;
    }
    memcpy(dst, v->p, n);
    dst[n] = '\0';
    return 0;
}

/* A decimal at `scale`. With `rounded`, digits beyond the scale round half
 * away from zero instead of failing: nx_fixed_parse reports NX_EPRECISION
 * only for input it has checked through to the end, so the kept prefix is
 * a valid decimal and the first dropped digit decides. */
static int decimal(const field_t *f, const nx_jspan_t *v, unsigned scale, int rounded, int64_t *out,
                   jf_ctx_t *x)
{
    if (v->type != NX_J_STR && v->type != NX_J_NUM)
        return jf_fail(x, NX_ETYPE, f->path, "not a decimal");
    int rc = nx_fixed_parse(v->p, v->n, scale, out);
    if (rc == NX_EPRECISION && rounded) {
        const char *dot = memchr(v->p, '.', v->n);
        if (!dot) /* cannot be: digits were lost after a '.' */
            return jf_fail(x, NX_ESYNTAX, f->path, "bad decimal");
        size_t drop = (size_t)(dot - v->p) + 1 + scale; /* first dropped digit */
        int64_t r;
        rc = nx_fixed_parse(v->p, scale ? drop : drop - 1, scale, &r);
        if (rc == 0 && v->p[drop] >= '5') {
            if (v->p[0] == '-' ? r == INT64_MIN : r == INT64_MAX)
                rc = NX_EOVERFLOW;
            else
                r += v->p[0] == '-' ? -1 : 1;
        }
        if (rc == 0)
            *out = r;
    }
    switch (rc) {
    case 0:
        return 0;
    case NX_EPRECISION:
        return jf_fail(x, rc, f->path, "more digits than the scale");
    case NX_EOVERFLOW:
        return jf_fail(x, rc, f->path, "out of range");
    default:
        return jf_fail(x, NX_ESYNTAX, f->path, "bad decimal");
    }
}

/* The symbol: copied, looked up. Unknown: an error, or with `optional` an
 * id of NX_SYMBOL_NONE and scales 0. */
static int symbol(const field_t *f, const nx_jspan_t *v, nx_sym_ref_t *s, int optional, jf_ctx_t *x)
{
    int rc = jf_copy_str(f, v, s->name, sizeof s->name, 1, x);
    if (rc)
        return rc;
    const nx_symbol_t *e = nx_symtab_get(x->st, nx_symtab_find(x->st, x->venue, v->p, v->n));
    s->id = e ? e->id : NX_SYMBOL_NONE;
    s->price_scale = e ? e->price_scale : 0;
    s->qty_scale = e ? e->qty_scale : 0;
    if (!e && !optional)
        return jf_fail(x, NX_ENOENT, f->path, "unknown symbol");
    return 0;
}

/* One field's span into its place in the record. */
int jf_convert_one(const field_t *f, const nx_jspan_t *v, char *dst, const nx_sym_ref_t *sym,
                   jf_ctx_t *x)
{
    switch (f->conv) {
    case C_ID:
    case C_TEXT:
        return jf_copy_str(f, v, dst, f->size, f->conv == C_TEXT, x);
    case C_PRICE:
    case C_AVG:
        return decimal(f, v, sym->price_scale, f->conv == C_AVG, (int64_t *)(void *)dst, x);
    case C_QTY:
        return decimal(f, v, sym->qty_scale, 0, (int64_t *)(void *)dst, x);
    case C_MONEY:
        return decimal(f, v, x->money_scale, 0, (int64_t *)(void *)dst, x);
    case C_U64:
        if (nx_js_u64(v, (uint64_t *)(void *)dst))
            return jf_fail(x, v->type == NX_J_NUM || v->type == NX_J_STR ? NX_ESYNTAX : NX_ETYPE,
                           f->path, "bad integer");
        return 0;
    case C_MS:
        if ((v->type != NX_J_NUM && v->type != NX_J_STR) || nx_js_i64(v, (int64_t *)(void *)dst))
            return jf_fail(x, NX_ESYNTAX, f->path, "bad time");
        return 0;
    case C_TIME:
        if (v->type != NX_J_STR || nx_rfc3339_ns(v->p, v->n, (int64_t *)(void *)dst))
            return jf_fail(x, v->type == NX_J_STR ? NX_ESYNTAX : NX_ETYPE, f->path, "bad time");
        return 0;
    case C_BOOL:
        if (v->type != NX_J_TRUE && v->type != NX_J_FALSE)
            return jf_fail(x, NX_ETYPE, f->path, "not true or false");
        *(uint8_t *)dst = v->type == NX_J_TRUE;
        return 0;
    case C_ENUM:
        if (v->type != NX_J_STR)
            return jf_fail(x, NX_ETYPE, f->path, "not a string");
        *(uint8_t *)dst = jf_name_find(f->names, v);
        if (*dst == 0 && f->names->strict)
            return jf_fail(x, NX_ERANGE, f->path, "unknown value");
        return 0;
    default: /* C_SKIP, C_SPAN: read by the caller; C_SYM: done first */
        return 0;
    }
}

/* Fill the record at `rec` from an object's spans: the symbol first (its
 * scales serve the prices and quantities), then every field in table
 * order. An optional field absent, null or "" stays as the record was
 * (zeroed by the caller). With `sym_optional`, a symbol not in the table
 * is kept by name and the fields at its scales are left 0. */
int jf_convert(const field_t *f, int nf, const obj_t *o, void *rec, int sym_optional, jf_ctx_t *x)
{
    char *base = rec;
    /* Tables without a symbol (balances, "a") have no price or quantity. */
    nx_sym_ref_t none = {.id = NX_SYMBOL_NONE}, *sym = &none;
    for (int i = 0; i < nf; i++) {
        if (f[i].conv != C_SYM)
            continue;
        if (!HAS(o, i))
            return jf_fail(x, NX_ESYNTAX, f[i].path, "missing");
        sym = (nx_sym_ref_t *)(void *)(base + f[i].off);
        int rc = symbol(&f[i], &o->v[i], sym, sym_optional, x);
        if (rc)
            return rc;
    }
    for (int i = 0; i < nf; i++) {
        if (f[i].conv <= C_SYM)
            continue;
        const nx_jspan_t *v = &o->v[i];
        if (!HAS(o, i) ||
            (!f[i].required && (v->type == NX_J_NULL || (v->type == NX_J_STR && v->n == 0)))) {
            if (f[i].required)
                return jf_fail(x, NX_ESYNTAX, f[i].path, "missing");
            continue;
        }
        if (sym->id == NX_SYMBOL_NONE &&
            (f[i].conv == C_PRICE || f[i].conv == C_AVG || f[i].conv == C_QTY))
            continue; /* no scale to read it at (sym_optional) */
        int rc = jf_convert_one(&f[i], v, base + f[i].off, sym, x);
        if (rc)
            return rc;
    }
    return 0;
}

int jf_list_decode(const list_t *l, const nx_jspan_t *arr, void *first, uint8_t *n, uint32_t *cut,
                   jf_ctx_t *x)
{
    if (arr->type != NX_J_ARR)
        return jf_fail(x, NX_ETYPE, l->path, "not an array");
    nx_jcur_t c = {arr->p, arr->p + arr->n};
    if (nx_js_arr_begin(&c))
        return jf_fail(x, NX_ESYNTAX, l->path, "malformed JSON");
    for (int start = 1;; start = 0) {
        int r = nx_js_arr_next(&c, start);
        if (r < 0)
            return jf_fail(x, NX_ESYNTAX, l->path, "malformed JSON");
        if (r == 0)
            return 0;
        nx_jspan_t el;
        if (nx_js_value(&c, &el))
            return jf_fail(x, NX_ESYNTAX, l->path, "malformed JSON");
        if (el.type != NX_J_OBJ)
            return jf_fail(x, NX_ETYPE, l->elem, "not an object");
        if (*n >= l->cap) {
            (*cut)++;
            continue;
        }
        void *rec = (char *)first + *n * l->stride;
        obj_t o;
        memset(rec, 0, l->stride);
        int rc = jf_collect_span(&el, l->elem, l->f, l->nf, &o, x);
        if (rc || (rc = jf_convert(l->f, l->nf, &o, rec, 1, x)))
            return rc;
        (*n)++;
    }
}
