/*
 * bench_parse — venue frame parsing on one core, over real captured frames,
 * against jansson parsing the same frames into a DOM and extracting the
 * same fields (converted with the same nx_fixed_parse) in the same process.
 *
 * Per message type (Binance aggTrade, bookTicker, kline, depthUpdate from
 * the USD-M capture; Bybit publicTrade and orderbook deltas from the V5
 * capture): each sample is the mean of 16 back-to-back decodes of one frame
 * (one TSC read pair per 16 to keep timer overhead out), cycled over every
 * frame of that type until 200k samples; p50/p99 reported. msgs_per_s is
 * the whole mix decoded in a loop; ratio_vs_jansson is jansson's total time
 * over ours for the same mix.
 *
 *   bench_parse [DATA_DIR]   (default: the source tree's tests/data)
 */
#include <jansson.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "nx/clock.h"
#include "tsc.h"
#include "nx/decode.h"
#include "nx/fixed.h"

#define REPS     16
#define SAMPLES  200000
#define JSAMPLES 40000 /* jansson is ~10x slower: fewer samples, same percentiles */


typedef struct set {
    const char *name;
    char **f;
    size_t *len;
    size_t n;
} set_t;

static void add(set_t *s, const char *line, size_t len)
{
    s->f = realloc(s->f, (s->n + 1) * sizeof *s->f);
    s->len = realloc(s->len, (s->n + 1) * sizeof *s->len);
    s->f[s->n] = malloc(len + 1);
    memcpy(s->f[s->n], line, len + 1);
    s->len[s->n++] = len;
}

enum { AGG, BBO, KLINE, DEPTH, BY_TRADE, BY_BOOK, NSETS };
static set_t sets[NSETS] = {{"aggTrade"}, {"bookTicker"},  {"kline"},
                            {"depth"},    {"bybit_trade"}, {"bybit_book"}};

static void load(const char *dir)
{
    char path[1024];
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    snprintf(path, sizeof path, "%s/ws/binance_usdm_futures_combined_20210722_first500.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        line[--len] = 0;
        int k = strstr(line, "@aggTrade")     ? AGG
                : strstr(line, "@bookTicker") ? BBO
                : strstr(line, "@kline")      ? KLINE
                : strstr(line, "@depth")      ? DEPTH
                                              : -1;
        if (k >= 0)
            add(&sets[k], line, (size_t)len);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/ws/bybit_v5_linear_public_20260809_first400.jsonl", dir);
    f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        line[--len] = 0;
        if (strstr(line, "\"topic\":\"publicTrade."))
            add(&sets[BY_TRADE], line, (size_t)len);
        else if (strstr(line, "\"topic\":\"orderbook.") && strstr(line, "\"type\":\"delta\""))
            add(&sets[BY_BOOK], line, (size_t)len);
    }
    fclose(f);
    free(line);
}

/* ---------- ours ---------- */

static nx_symtab_t symtab;
static nx_ring_t *ring;
static nx_decoder_t dec_bn, dec_by;

static inline void ours(int set, const char *p, size_t n)
{
    nx_decoder_t *d = set >= BY_TRADE ? &dec_by : &dec_bn;
    uint64_t first;
    int r = nx_decode_frame(d, p, n, &first);
    if (r < 0) {
        fprintf(stderr, "decode error: %s\n", d->last_error);
        exit(1);
    }
    /* Keep the ring from filling: release everything (one store). */
    nx_ring_release(nx_ring_consumer(ring, 0), nx_ring_next(ring));
    nx_ring_consumer(ring, 0)->polled = nx_ring_next(ring);
}

/* ---------- jansson, same fields ---------- */

static volatile int64_t sink;

static int64_t fx(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    int64_t x = 0;
    if (json_is_string(v))
        nx_fixed_parse(json_string_value(v), json_string_length(v), 8, &x);
    return x;
}

static int64_t levels(json_t *arr)
{
    int64_t s = 0;
    size_t i;
    json_t *l;
    json_array_foreach(arr, i, l)
    {
        int64_t p = 0, q = 0;
        json_t *a = json_array_get(l, 0), *b = json_array_get(l, 1);
        nx_fixed_parse(json_string_value(a), json_string_length(a), 8, &p);
        nx_fixed_parse(json_string_value(b), json_string_length(b), 8, &q);
        s += p ^ q;
    }
    return s;
}

static inline void jans(int set, const char *p, size_t n)
{
    json_error_t e;
    json_t *root = json_loadb(p, n, 0, &e);
    if (!root) {
        fprintf(stderr, "jansson: %s\n", e.text);
        exit(1);
    }
    int64_t s = 0;
    if (set < BY_TRADE) {
        json_t *d = json_object_get(root, "data");
        const char *ev = json_string_value(json_object_get(d, "e"));
        const char *sym = json_string_value(json_object_get(d, "s"));
        s += (int64_t)(ev[0] + sym[0]) + json_integer_value(json_object_get(d, "E")) +
             json_integer_value(json_object_get(d, "T"));
        if (set == AGG) {
            s += fx(d, "p") + fx(d, "q") + json_integer_value(json_object_get(d, "a")) +
                 json_is_true(json_object_get(d, "m"));
        } else if (set == BBO) {
            s += fx(d, "b") + fx(d, "B") + fx(d, "a") + fx(d, "A") +
                 json_integer_value(json_object_get(d, "u"));
        } else if (set == KLINE) {
            json_t *k = json_object_get(d, "k");
            s += json_integer_value(json_object_get(k, "t")) + fx(k, "o") + fx(k, "h") +
                 fx(k, "l") + fx(k, "c") + fx(k, "v") + fx(k, "q") +
                 json_integer_value(json_object_get(k, "n")) +
                 json_is_true(json_object_get(k, "x")) +
                 (int64_t)json_string_length(json_object_get(k, "i"));
        } else {
            s += json_integer_value(json_object_get(d, "U")) +
                 json_integer_value(json_object_get(d, "u")) +
                 json_integer_value(json_object_get(d, "pu")) + levels(json_object_get(d, "b")) +
                 levels(json_object_get(d, "a"));
        }
    } else {
        json_t *d = json_object_get(root, "data");
        s += json_integer_value(json_object_get(root, "ts")) +
             (int64_t)json_string_length(json_object_get(root, "topic"));
        if (set == BY_TRADE) {
            size_t i;
            json_t *t;
            json_array_foreach(d, i, t)
            {
                s += fx(t, "p") + fx(t, "v") + json_integer_value(json_object_get(t, "T")) +
                     (int64_t)json_string_length(json_object_get(t, "i")) +
                     (int64_t)json_string_length(json_object_get(t, "S")) +
                     (int64_t)json_string_length(json_object_get(t, "s"));
            }
        } else {
            s += json_integer_value(json_object_get(d, "u")) +
                 json_integer_value(json_object_get(d, "seq")) + levels(json_object_get(d, "b")) +
                 levels(json_object_get(d, "a")) +
                 (int64_t)json_string_length(json_object_get(d, "s"));
        }
    }
    sink = s;
    json_decref(root);
}

/* ---------- measurement ---------- */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct res {
    double p50, p99, total_ns, msgs;
} res_t;

static double samp[SAMPLES];

static res_t measure(int set, int use_jansson)
{
    set_t *s = &sets[set];
    /* warm-up */
    for (size_t i = 0; i < s->n * 4; i++) {
        if (use_jansson)
            jans(set, s->f[i % s->n], s->len[i % s->n]);
        else
            ours(set, s->f[i % s->n], s->len[i % s->n]);
    }
    double total = 0;
    size_t nsamp = use_jansson ? JSAMPLES : SAMPLES;
    for (size_t k = 0; k < nsamp; k++) {
        size_t i = k % s->n;
        uint64_t t0 = ticks();
        for (int r = 0; r < REPS; r++) {
            if (use_jansson)
                jans(set, s->f[i], s->len[i]);
            else
                ours(set, s->f[i], s->len[i]);
        }
        double ns = (double)(ticks() - t0) * ns_per_tick / REPS;
        samp[k] = ns;
        total += ns;
    }
    qsort(samp, nsamp, sizeof samp[0], cmp_d);
    return (res_t){samp[nsamp / 2], samp[nsamp * 99 / 100], total, (double)nsamp};
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : NX_SOURCE_DIR_DEFAULT "/tests/data";
    load(dir);
    calibrate();
    nx_symtab_init(&symtab);
    if (nx_ring_create(&ring, "bench", 1 << 16, sizeof(nx_event_t), 1, NX_RING_NEVER_BLOCK,
                       NX_WAIT_SPIN) ||
        nx_decoder_init(&dec_bn, NX_VENUE_BINANCE_USDM, &symtab, ring) ||
        nx_decoder_init(&dec_by, NX_VENUE_BYBIT_LINEAR, &symtab, ring)) {
        fprintf(stderr, "init failed\n");
        return 1;
    }
    dec_bn.auto_intern = dec_by.auto_intern = 1;
    printf("bench_parse: frames per type:");
    for (int k = 0; k < NSETS; k++)
        printf(" %s=%zu", sets[k].name, sets[k].n);
    printf("\n%-12s %9s %9s %12s | %9s %9s | %6s\n", "type", "p50_ns", "p99_ns", "msgs/s",
           "jns_p50", "jns_p99", "ratio");
    double p50[NSETS], tot_ours = 0, tot_j = 0;
    for (int k = 0; k < NSETS; k++) {
        res_t o = measure(k, 0), j = measure(k, 1);
        p50[k] = o.p50;
        /* mean ns per message, weighted by the type's share of the mix */
        tot_ours += o.total_ns / o.msgs * (double)sets[k].n;
        tot_j += j.total_ns / j.msgs * (double)sets[k].n;
        printf("%-12s %9.0f %9.0f %12.0f | %9.0f %9.0f | %6.2f\n", sets[k].name, o.p50, o.p99,
               1e9 / (o.total_ns / o.msgs), j.p50, j.p99,
               (j.total_ns / j.msgs) / (o.total_ns / o.msgs));
    }
    /* Whole mix on one core, every frame once per round. */
    size_t count = 0;
    int64_t t0 = nx_mono_ns();
    for (int round = 0; round < 400; round++)
        for (int k = 0; k < NSETS; k++)
            for (size_t i = 0; i < sets[k].n; i++, count++)
                ours(k, sets[k].f[i], sets[k].len[i]);
    double mix_ns = (double)(nx_mono_ns() - t0);
    double msgs_per_s = (double)count / (mix_ns / 1e9);
    printf("mix: %zu frames in %.1f ms: %.0f msgs/s on one core; decoder errors %llu\n", count,
           mix_ns / 1e6, msgs_per_s, (unsigned long long)(dec_bn.st.errors + dec_by.st.errors));
    printf("{\"bench\":\"parse\",\"aggTrade_p50_ns\":%.0f,\"bookTicker_p50_ns\":%.0f,"
           "\"kline_p50_ns\":%.0f,\"depth_p50_ns\":%.0f,\"bybit_trade_p50_ns\":%.0f,"
           "\"bybit_book_p50_ns\":%.0f,\"msgs_per_s\":%.0f,\"ratio_vs_jansson\":%.2f}\n",
           p50[AGG], p50[BBO], p50[KLINE], p50[DEPTH], p50[BY_TRADE], p50[BY_BOOK], msgs_per_s,
           tot_j / tot_ours);
    return 0;
}
