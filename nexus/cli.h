/*
 * cli.h — subcommands of the `nexus` binary (private to nexus/).
 */
#ifndef NX_CLI_H
#define NX_CLI_H

#include "nx/config.h"
#include "nx/replay.h"

/* Exit codes shared by every subcommand. */
enum {
    NX_EXIT_OK = 0,
    NX_EXIT_FAIL = 1,   /* runtime failure */
    NX_EXIT_CONFIG = 2, /* invalid configuration or input */
    NX_EXIT_USAGE = 64, /* bad command line (sysexits EX_USAGE) */
};

/* preflight.c: load the config at path and check everything `nexus run`
 * checks before it starts (the file, its paths, each replay's data, the
 * environment). Returns 0, or prints every problem and "PATH: N problems;
 * nothing was started" on stderr and returns NX_EXIT_CONFIG. `run` and
 * `check-config` both start with it. */
int nx_cli_config_load(const char *path, nx_config_t *cfg);
/* How `nexus run` serves a feed's replay file (a *.csv is candles, anything
 * else recorded frames). */
void nx_cli_replay_opts(const nx_config_feed_t *f, nx_replay_opts_t *o);

/* preflight.c: "2021-03-01", "2021-03-01T12:30:00" (UTC) or milliseconds
 * since the epoch, to ns; -1 if it is none of them (backtest, data). */
int64_t nx_cli_parse_time(const char *s);

int nx_cmd_check_config(int argc, char **argv);
int nx_cmd_run(int argc, char **argv);
int nx_cmd_decode(int argc, char **argv);
int nx_cmd_replay(int argc, char **argv);
int nx_cmd_indicators(int argc, char **argv);
int nx_cmd_plugin(int argc, char **argv);
int nx_cmd_db(int argc, char **argv);
int nx_cmd_users(int argc, char **argv);
int nx_cmd_tasks(int argc, char **argv);
int nx_cmd_keys(int argc, char **argv);
int nx_cmd_model(int argc, char **argv);
int nx_cmd_train(int argc, char **argv);
int nx_cmd_backtest(int argc, char **argv);
int nx_cmd_record(int argc, char **argv);
int nx_cmd_data(int argc, char **argv);

/* bt_lookahead.c: `nexus backtest --check-lookahead`. The backtest's own
 * options are passed through to each run; replays[i] holds the messages
 * of inputs[i] as loaded (in time order), which the cut runs are given
 * as recorded frames, or evrs[i] its events (an event file), given as an
 * event file of those up to the cut. Prints each strategy's verdict; returns
 * NX_EXIT_OK when all pass, NX_EXIT_FAIL when one looks ahead (or a run
 * failed, said on stderr). */
#define NX_LOOKAHEAD_MAX_INPUTS 16
typedef struct nx_lookahead_opts {
    const char *config, *venue, *symbol;
    int64_t from_ns, to_ns;
    int cuts, workers; /* cut points (1..64); runs at once */
    const char *const *inputs;
    const nx_replay_t *const *replays; /* or, where NULL, ... */
    struct nx_evr *const *evrs;        /* an event file (cut into event files) */
    const nx_symtab_t *symtab;         /* the config's symbols, for those */
    int ninputs; /* 1..NX_LOOKAHEAD_MAX_INPUTS */
} nx_lookahead_opts_t;
int nx_backtest_lookahead(const nx_lookahead_opts_t *o);

#endif
