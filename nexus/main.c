/*
 * main.c — `nexus`: dispatch to a subcommand.
 *
 *   nexus --version | --help
 *   nexus check-config FILE [--describe]
 *   nexus run --config FILE [--duration SECONDS]
 *
 * and decode, replay, backtest, indicators, model, train, plugin, db,
 * users, keys (the table below).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

typedef struct subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} subcommand_t;

static const subcommand_t commands[] = {
    {"run", nx_cmd_run, "start the engine with a config file"},
    {"check-config", nx_cmd_check_config, "validate a config file and summarise it"},
    {"decode", nx_cmd_decode, "decode raw venue frames into normalised events (JSON lines)"},
    {"replay", nx_cmd_replay, "serve recorded data on 127.0.0.1 in a venue's wire format"},
    {"backtest", nx_cmd_backtest, "history through the engine in process, the same every run"},
    {"record", nx_cmd_record, "write the feeds' market events to an event file for backtests"},
    {"data", nx_cmd_data, "download candles from a venue's REST klines into a CSV"},
    {"indicators", nx_cmd_indicators, "candles CSV in, TA-Lib-exact indicators CSV out"},
    {"model", nx_cmd_model, "regime classifier: features per candle, predict from a model"},
    {"train", nx_cmd_train, "train the regime classifier on candle files (XGBoost)"},
    {"plugin", nx_cmd_plugin, "sign strategy plugins: keygen, sign, verify"},
    {"db", nx_cmd_db, "storage: migrate, status"},
    {"users", nx_cmd_users, "users and roles: add, list, role, ban"},
    {"tasks", nx_cmd_tasks, "scheduled tasks: add, list"},
    {"keys", nx_cmd_keys, "sealed API keys: set (from stdin), rotate, genkey"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: nexus <command> [options]\n"
                 "       nexus --version\n\n"
                 "Nexus is a low-latency algorithmic trading engine.\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun `nexus <command> --help` for the options of a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return NX_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("nexus %s\n", NX_VERSION_STRING);
        return NX_EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return NX_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "nexus: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return NX_EXIT_USAGE;
}
