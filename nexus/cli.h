/*
 * cli.h — subcommands of the `nexus` binary (private to nexus/).
 */
#ifndef NX_CLI_H
#define NX_CLI_H

/* Exit codes shared by every subcommand. */
enum {
    NX_EXIT_OK = 0,
    NX_EXIT_FAIL = 1,   /* runtime failure */
    NX_EXIT_CONFIG = 2, /* invalid configuration or input */
    NX_EXIT_USAGE = 64, /* bad command line (sysexits EX_USAGE) */
};

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

#endif
