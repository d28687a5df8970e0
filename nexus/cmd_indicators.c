/*
 * cmd_indicators.c — `nexus indicators --csv FILE`: candles in
 * (open_time_ms,open,high,low,close,volume), the standard indicator set out
 * with the reference file's header and columns, computed by the same
 * incremental code the engine uses.
 */
#include "cli.h"

#include "nx/indicators.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out, "usage: nexus indicators --csv FILE\n\n"
                 "Read candles (open_time_ms,open,high,low,close,volume; a header line is\n"
                 "skipped) and print, per candle, EMA 20/50/200, SMA 20, RSI 14, ATR/NATR 14,\n"
                 "ADX/+DI/-DI 14, Bollinger 20,2, MACD 12,26,9, Stochastic 5,3,3 and 14,3,3\n"
                 "and OBV as CSV (empty where there is no value yet), matching TA-Lib.\n");
}

int nx_cmd_indicators(int argc, char **argv)
{
    static const struct option opts[] = {
        {"csv", required_argument, 0, 'c'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c == 'c')
            path = optarg;
        else if (c == 'h') {
            help(stdout);
            return NX_EXIT_OK;
        } else {
            help(stderr);
            return NX_EXIT_USAGE;
        }
    }
    if (!path || optind != argc) {
        help(stderr);
        return NX_EXIT_USAGE;
    }
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        fprintf(stderr, "nexus indicators: cannot open %s: %m\n", path);
        return NX_EXIT_CONFIG;
    }
    static nx_taset_t t;
    nx_taset_init(&t);
    puts(NX_TASET_HEADER);
    char line[512], row[2048];
    long lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (lineno == 1 && strstr(line, "open_time"))
            continue;
        long long ot;
        double o, h, l, cl, v;
        if (sscanf(line, "%lld,%lf,%lf,%lf,%lf,%lf", &ot, &o, &h, &l, &cl, &v) != 6) {
            fprintf(stderr, "nexus indicators: %s:%ld: expected open_time_ms,open,high,low,close,volume\n",
                    path, lineno);
            if (f != stdin)
                fclose(f);
            return NX_EXIT_CONFIG;
        }
        nx_taset_update(&t, o, h, l, cl, v);
        nx_taset_row(&t, ot, row, sizeof row);
        puts(row);
    }
    if (f != stdin)
        fclose(f);
    return NX_EXIT_OK;
}
