/*
 * cmd_check_config.c — `nexus check-config FILE`: validate completely and
 * either summarise (exit 0) or list every error with file:line:column
 * (exit 2). Completely means what `nexus run` checks before it starts, by
 * the same code (preflight.c): the file, the paths it names, each replay's
 * data. `--describe` prints the schema instead.
 */
#include "cli.h"

#include "nx/config.h"
#include "nx/error.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out, "usage: nexus check-config FILE\n"
                 "       nexus check-config --describe\n\n"
                 "Validate a Nexus config file as `nexus run` does before it starts: the file,\n"
                 "the folders and files it names (data_dir, log.file, each feed's replay data).\n"
                 "Exit 0 and print a summary when it is valid; exit 2 and print every problem\n"
                 "as FILE:LINE:COLUMN: KEY.PATH: message (FILE: KEY.PATH: message when it is\n"
                 "about a path, not a place in the file).\n\n"
                 "  --describe   print every config key with its type, allowed values,\n"
                 "               default and meaning (Markdown)\n"
                 "  -h, --help   this text\n");
}

int nx_cmd_check_config(int argc, char **argv)
{
    static const struct option opts[] = {
        {"describe", no_argument, 0, 'd'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c, describe = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            describe = 1;
            break;
        case 'h':
            help(stdout);
            return NX_EXIT_OK;
        default:
            help(stderr);
            return NX_EXIT_USAGE;
        }
    }
    if (describe) {
        nx_config_describe(stdout);
        return NX_EXIT_OK;
    }
    if (optind != argc - 1) {
        help(stderr);
        return NX_EXIT_USAGE;
    }
    static nx_config_t cfg;
    int bad = nx_cli_config_load(argv[optind], &cfg); /* what `run` checks before it starts */
    if (bad)
        return bad;
    printf("%s: OK\n", argv[optind]);
    printf("  engine: clock=%s wait=%s rings market=%u order=%u journal=%u heartbeat=%ums "
           "stats=%us\n",
           cfg.engine.clock == NX_CLOCK_SIM ? "sim" : "live", nx_wait_name(cfg.engine.wait),
           cfg.engine.market_ring, cfg.engine.order_ring, cfg.engine.journal_ring,
           cfg.engine.heartbeat_ms, cfg.engine.stats_interval_s);
    printf("  log: level=%s format=%s debounce=%us output=%s\n", nx_log_level_name(cfg.log.level),
           cfg.log.format == NX_LOG_JSON ? "json" : "text", cfg.log.debounce_s,
           cfg.log.file[0] ? cfg.log.file : "stderr");
    printf("  data_dir: %s\n", cfg.data_dir);
    printf("  symbols: %u\n", cfg.n_symbols);
    for (uint32_t i = 0; i < cfg.n_symbols; i++) {
        const nx_config_symbol_t *s = &cfg.symbols[i];
        printf("    %s:%s price_scale=%u qty_scale=%u\n", nx_venue_name(s->venue), s->symbol,
               s->price_scale, s->qty_scale);
    }
    printf("  cortex: timeframes=");
    for (uint32_t i = 0; i < cfg.cortex.ntf; i++)
        printf("%s%us", i ? "," : "", cfg.cortex.tf_s[i]);
    printf(" candles_from=%s signatures=%s (%u trusted key%s) watch=%s\n",
           cfg.cortex.candles_from_trades ? "trades" : "klines",
           cfg.cortex.allow_unsigned ? "NOT CHECKED (allow_unsigned)" : "required", cfg.cortex.n_keys,
           cfg.cortex.n_keys == 1 ? "" : "s", cfg.cortex.watch ? "on" : "off");
    for (uint32_t i = 0; i < cfg.cortex.n_strategies; i++) {
        const nx_config_strategy_t *s = &cfg.cortex.strategies[i];
        printf("    strategy %s: plugin %s, %u symbol%s, params %s\n", s->name, s->plugin,
               s->n_symbols, s->n_symbols == 1 ? "" : "s (0 = all)", s->params);
    }
    return NX_EXIT_OK;
}
