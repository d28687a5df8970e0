/* peek.c — test fixture: a strategy that looks ahead, on purpose, for the
 * look-ahead check to catch. At init it reads the data file named last on
 * its own process's command line (as a strategy reading a file made from
 * the whole history would): a candle CSV, or Binance frames whose closed
 * klines it takes; on each closed candle it buys when the NEXT candle of
 * that file closes higher, and exits when it closes lower. Run on data
 * cut inside a candle, the candle before has no close after it in the
 * file, so its signal differs from the run on all the data.
 *
 * It breaks the plugin rules (file I/O, memory of its own) because it is
 * meant to: nothing else should ever be written like it. */
#include "nexus_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEEK_MAX 20000

static long long open_ms[PEEK_MAX];
static double close_px[PEEK_MAX];
static int n_rows;

typedef struct peek_state {
    const nexus_host_api_t *api;
    nexus_host_t *host;
} peek_state_t;

static size_t state_size(const nexus_init_t *in)
{
    (void)in;
    return sizeof(peek_state_t);
}

/* The last argument of this process. */
static int data_path(char *out, size_t cap)
{
    FILE *f = fopen("/proc/self/cmdline", "rb");
    if (!f)
        return -1;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    int found = -1;
    for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
        size_t l = strlen(buf + i);
        if (l < cap) {
            memcpy(out, buf + i, l + 1);
            found = 0;
        }
    }
    return found;
}

static int init(void *p, const nexus_init_t *in, const char **err)
{
    peek_state_t *s = p;
    s->api = in->api;
    s->host = in->host;
    char path[4096], line[512];
    if (data_path(path, sizeof path)) {
        *err = "no data file on the command line to peek at";
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        *err = "cannot read the data file";
        return -1;
    }
    n_rows = 0;
    while (n_rows < PEEK_MAX && fgets(line, sizeof line, f)) {
        const char *k = strstr(line, "\"k\":{");
        if (k && strstr(k, "\"x\":true")) { /* a closed kline: "t" its open, "c" its close */
            const char *t = strstr(k, "\"t\":"), *c = strstr(k, "\"c\":\"");
            if (t && c) {
                open_ms[n_rows] = strtoll(t + 4, NULL, 10);
                close_px[n_rows++] = strtod(c + 5, NULL);
            }
            continue;
        }
        if (line[0] < '0' || line[0] > '9')
            continue;
        char *c = line;
        open_ms[n_rows] = strtoll(c, &c, 10);
        for (int col = 0; col < 3 && c; col++) /* at the comma before open: past open, high, low */
            c = strchr(c + 1, ',');
        if (!c)
            continue;
        close_px[n_rows++] = strtod(c + 1, NULL);
    }
    fclose(f);
    return 0;
}

static void emit(peek_state_t *s, uint32_t symbol, int32_t side)
{
    nexus_signal_t g;
    memset(&g, 0, sizeof g);
    g.abi_version = NEXUS_PLUGIN_ABI_VERSION;
    g.struct_size = sizeof g;
    g.symbol = symbol;
    g.side = side;
    g.confidence = 0.9;
    memcpy(g.reason, "peek", 5);
    s->api->emit(s->host, &g);
}

static void on_candle(void *p, const nexus_view_t *v)
{
    peek_state_t *s = p;
    /* the row of this candle, then the one after it */
    int lo = 0, hi = n_rows - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (open_ms[mid] < v->bar.open_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo + 1 >= n_rows || open_ms[lo] != v->bar.open_ms)
        return;
    if (close_px[lo + 1] > v->bar.close)
        emit(s, v->symbol, NEXUS_BUY);
    else if (close_px[lo + 1] < v->bar.close)
        emit(s, v->symbol, NEXUS_EXIT_LONG);
}

static const nexus_plugin_t desc = {
    .abi_version = NEXUS_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(nexus_plugin_t),
    .name = "peek",
    .version = "1.0.0",
    .timeframes = "15m",
    .state_size = state_size,
    .init = init,
    .on_candle = on_candle,
};

NEXUS_PLUGIN_EXPORT const nexus_plugin_t *NEXUS_PLUGIN_ENTRY(void);
const nexus_plugin_t *NEXUS_PLUGIN_ENTRY(void)
{
    return &desc;
}
