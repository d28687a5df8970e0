/*
 * cmd_store.c — the storage commands, on the database `nexus run` uses
 * (DATABASE_URL, else data_dir/nexus.db from --config — a replay config's
 * data_dir/replay/nexus.db, what its last run left — else ./nexus-data):
 *
 *   nexus db migrate | status
 *   nexus users add CHAT_ID [--name N] [--role R] [--tz ZONE] | list
 *               | role CHAT_ID ROLE | ban CHAT_ID
 *   nexus keys set CHAT_ID VENUE   (key and secret read from standard input,
 *                                   one per line: never from the command line)
 *            | rotate [--new-key-file F]   (new key: NEXUS_NEW_MASTER_KEY or F)
 *            | genkey
 *
 * Every change is written to the audit log. No secret is ever printed.
 */
#include "cli.h"
#include "engine.h"

#include "nx/clock.h"
#include "nx/config.h"
#include "nx/error.h"
#include "nx/log.h"
#include "nx/sched.h"
#include "nx/store.h"
#include "nx/vault.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void db_help(FILE *out)
{
    fprintf(out, "usage: nexus db [--config FILE] migrate|status\n\n"
                 "migrate brings the schema to this build's version. status prints the schema\n"
                 "version, the journal (entries, last sequence, gaps), row counts, and runs the\n"
                 "checks start-up runs: the database's integrity, then, with the --config\n"
                 "nexus run uses, recovery itself (each session's saved state and the venue's\n"
                 "book against the stored fills); a session start-up would pause is named.\n"
                 "Exit status: 0 consistent, 1 failure or inconsistent, 2 bad config, 64 usage.\n");
}

static void users_help(FILE *out)
{
    fprintf(out, "usage: nexus users [--config FILE] add CHAT_ID [--name N] [--role R] "
                 "[--tz ZONE]\n"
                 "       nexus users [--config FILE] list\n"
                 "       nexus users [--config FILE] role CHAT_ID "
                 "pending|subscriber|admin|owner|banned\n"
                 "       nexus users [--config FILE] ban CHAT_ID\n");
}

static void tasks_help(FILE *out)
{
    fprintf(out, "usage: nexus tasks [--config FILE] list\n"
                 "       nexus tasks [--config FILE] add CHAT_ID CRON TZ ACTION "
                 "[--trading-days]\n"
                 "  CRON: five fields (minute hour day month weekday) or @daily...; TZ: an "
                 "IANA zone\n"
                 "  (America/New_York); ACTION: daily_report\n");
}

static void keys_help(FILE *out)
{
    fprintf(out, "usage: nexus keys [--config FILE] set CHAT_ID VENUE   (key and secret "
                 "on standard input)\n"
                 "       nexus keys [--config FILE] rotate [--new-key-file FILE]\n"
                 "       nexus keys genkey\n");
}

/* `--help` or `-h` anywhere on the command line: the usage on stdout, exit
 * 0, before any database is opened (asking for help creates nothing). */
static int asks_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return 0;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return 1;
    }
    return 0;
}

typedef struct ctx {
    nx_config_t cfg;
    nx_store_t *st;
} ctx_t;

/* --config FILE (optional) before the action; opens and migrates. */
static int open_store(ctx_t *c, const char *cmd, int *argc, char ***argv)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'}, {0, 0, 0, 0}};
    const char *path = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(*argc, *argv, "+c:", opts, NULL)) != -1) {
        if (o != 'c')
            return NX_EXIT_USAGE;
        path = optarg;
    }
    *argc -= optind;
    *argv += optind;
    nx_config_defaults(&c->cfg);
    if (path) {
        static nx_config_errors_t errs;
        if (nx_config_load(path, &c->cfg, &errs)) {
            nx_config_errors_print(&errs, stderr);
            return NX_EXIT_CONFIG;
        }
    }
    /* a replay's config: the database its last run left (data_dir/replay) */
    int replaying = 0;
    for (uint32_t i = 0; i < c->cfg.n_feeds; i++)
        replaying |= c->cfg.feeds[i].replay[0] != 0;
    char dir[NX_PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s%s", c->cfg.data_dir, replaying ? "/replay" : "");
    char err[512];
    if (nx_store_open(&c->st, getenv("DATABASE_URL"), dir, err, sizeof err)) {
        fprintf(stderr, "nexus %s: %s\n", cmd, err);
        return NX_EXIT_FAIL;
    }
    int applied;
    if (nx_store_migrate(c->st, 0, &applied)) {
        fprintf(stderr, "nexus %s: %s\n", cmd, nx_store_error(c->st));
        return NX_EXIT_FAIL;
    }
    return 0;
}

static int failed(ctx_t *c, const char *cmd, int rc)
{
    const char *why = nx_store_error(c->st);
    fprintf(stderr, "nexus %s: %s\n", cmd, *why ? why : nx_strerror(rc));
    nx_store_close(c->st);
    return rc == NX_ENOENT || rc == NX_EEXIST || rc == NX_EINVAL ? NX_EXIT_CONFIG : NX_EXIT_FAIL;
}

static int parse_id(const char *s, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end)
        return -1;
    *out = v;
    return 0;
}

int nx_cmd_db(int argc, char **argv)
{
    if (asks_help(argc, argv)) {
        db_help(stdout);
        return NX_EXIT_OK;
    }
    static ctx_t c;
    int rc = open_store(&c, "db", &argc, &argv);
    if (rc)
        return rc;
    if (argc != 1 || (strcmp(argv[0], "migrate") && strcmp(argv[0], "status"))) {
        db_help(stderr);
        nx_store_close(c.st);
        return NX_EXIT_USAGE;
    }
    int v;
    uint64_t last, entries = 0, gaps = 0, pruned_to = 0, pruned = 0;
    int64_t users = 0, sessions = 0, orders = 0, fills = 0, approvals = 0, cut_ns = 0;
    if ((rc = nx_store_version(c.st, &v)) || (rc = nx_store_journal_last(c.st, &last)) ||
        (rc = nx_store_journal_count(c.st, 0, last, &entries)) ||
        (rc = nx_store_journal_gaps(c.st, &gaps)) ||
        (rc = nx_store_pruned(c.st, &pruned_to, &pruned, &cut_ns)) ||
        (rc = nx_store_scalar(c.st, "SELECT COUNT(*) FROM users", &users)) ||
        (rc = nx_store_scalar(c.st, "SELECT COUNT(*) FROM sessions", &sessions)) ||
        (rc = nx_store_scalar(c.st, "SELECT COUNT(*) FROM orders", &orders)) ||
        (rc = nx_store_scalar(c.st, "SELECT COUNT(*) FROM fills", &fills)) ||
        (rc = nx_store_scalar(c.st, "SELECT COUNT(*) FROM approvals", &approvals)))
        return failed(&c, "db", rc);
    if (!strcmp(argv[0], "migrate")) {
        printf("%s: schema version %d of %d\n", nx_store_kind_name(c.st), v,
               nx_store_latest_version());
        nx_store_close(c.st);
        return NX_EXIT_OK;
    }
    printf("storage: %s\nschema: version %d (this build knows %d)\njournal: %llu entries, "
           "last %llu, %lld gap%s (%llu entries missing)\norders: %lld\nfills: %lld\n"
           "approvals: %lld\nusers: %lld\nsessions: %lld\nmaster key: %s\n",
           nx_store_kind_name(c.st), v, nx_store_latest_version(), (unsigned long long)entries,
           (unsigned long long)last, (long long)gaps, gaps == 1 ? "" : "s",
           (unsigned long long)(last - entries - pruned), (long long)orders, (long long)fills,
           (long long)approvals, (long long)users, (long long)sessions,
           nx_vault_needed(c.st) ? "set (keys are sealed)" : "not set yet");
    if (pruned) {
        char at[32];
        nx_utc_format(cut_ns / NX_NS_PER_SEC, at, sizeof at);
        printf("retention: %llu older entries pruned (market data, candles, signals, heartbeats, "
               "saved states and plain decisions up to entry %llu, before %s UTC)\n",
               (unsigned long long)pruned, (unsigned long long)pruned_to, at);
    }
    if ((rc = nx_store_check(c.st)))
        return failed(&c, "db", rc);
    /* what start-up would find: recovery's own checks, by its own code */
    int held = 0;
    if (c.cfg.n_symbols) {
        static nx_engine_t e;
        nx_log_set_level(NX_LOG_WARN); /* not the desk's start-up chatter */
        rc = nx_engine_verify(&e, &c.cfg, c.st, &held);
        if (!rc) {
            printf("recovery: %u session%s checked, %d would be paused at start\n",
                   nx_desk_sessions(e.desk), nx_desk_sessions(e.desk) == 1 ? "" : "s", held);
            for (const char *l = e.recovery_notes; *l;) {
                size_t n = strcspn(l, "\n");
                printf("  %.*s\n", (int)n, l);
                l += n + (l[n] == '\n');
            }
        }
        int bad_checkpoint = e.checkpoint_bad;
        nx_engine_verify_done(&e);
        if (rc)
            return failed(&c, "db", rc);
        if (bad_checkpoint) {
            nx_store_close(c.st);
            printf("consistency: the stored fills do not add up to their checkpoint (table "
                   "fill_sums): start-up could miss a position that disagrees with its fills\n");
            return NX_EXIT_FAIL;
        }
    } else {
        printf("recovery: not checked (the config names no symbols: pass the --config nexus "
               "run uses)\n");
    }
    nx_store_close(c.st);
    if (held) {
        printf("consistency: %d session%s disagree%s with the stored fills or the venue's "
               "book; start-up pauses %s\n",
               held, held == 1 ? "" : "s", held == 1 ? "s" : "", held == 1 ? "it" : "them");
        return NX_EXIT_FAIL;
    }
    printf("consistency: ok\n");
    return NX_EXIT_OK;
}

static int print_user(void *ctx, const nx_user_t *u)
{
    (void)ctx;
    printf("%-6lld %-14lld %-11s %-20s %s\n", (long long)u->id, (long long)u->chat_id,
           nx_role_name(u->role), u->tz, u->name);
    return 0;
}

static int users_usage(ctx_t *c)
{
    users_help(stderr);
    nx_store_close(c->st);
    return NX_EXIT_USAGE;
}

int nx_cmd_users(int argc, char **argv)
{
    if (asks_help(argc, argv)) {
        users_help(stdout);
        return NX_EXIT_OK;
    }
    static ctx_t c;
    int rc = open_store(&c, "users", &argc, &argv);
    if (rc)
        return rc;
    if (argc < 1)
        return users_usage(&c);
    const char *act = argv[0];
    int64_t chat;
    if (!strcmp(act, "list") && argc == 1) {
        printf("%-6s %-14s %-11s %-20s %s\n", "id", "chat_id", "role", "timezone", "name");
        rc = nx_store_users(c.st, print_user, NULL);
    } else if (!strcmp(act, "add") && argc >= 2 && parse_id(argv[1], &chat) == 0) {
        static const struct option opts[] = {{"name", required_argument, 0, 'n'},
                                             {"role", required_argument, 0, 'r'},
                                             {"tz", required_argument, 0, 't'},
                                             {0, 0, 0, 0}};
        const char *name = "", *tz = "UTC";
        int role = NX_ROLE_SUBSCRIBER, o;
        optind = 1;
        while ((o = getopt_long(argc - 1, argv + 1, "n:r:t:", opts, NULL)) != -1) {
            if (o == 'n')
                name = optarg;
            else if (o == 't')
                tz = optarg;
            else if (o == 'r' && (role = nx_role_parse(optarg)) >= 0)
                continue;
            else
                return users_usage(&c);
        }
        int64_t id;
        if (!(rc = nx_store_user_add(c.st, chat, name, (nx_role_t)role, tz, &id))) {
            nx_store_audit(c.st, id, 0, "cli users add", nx_role_name((nx_role_t)role));
            printf("user %lld added (chat %lld, %s)\n", (long long)id, (long long)chat,
                   nx_role_name((nx_role_t)role));
        }
    } else if ((!strcmp(act, "role") && argc == 3) || (!strcmp(act, "ban") && argc == 2)) {
        int role = !strcmp(act, "ban") ? NX_ROLE_BANNED : nx_role_parse(argv[2]);
        nx_user_t u;
        if (parse_id(argv[1], &chat) || role < 0)
            return users_usage(&c);
        if (!(rc = nx_store_user_get(c.st, chat, 0, &u)) &&
            !(rc = nx_store_user_set_role(c.st, u.id, (nx_role_t)role))) {
            nx_store_audit(c.st, u.id, 0, "cli users role", nx_role_name((nx_role_t)role));
            printf("user %lld (chat %lld) is now %s\n", (long long)u.id, (long long)chat,
                   nx_role_name((nx_role_t)role));
        } else if (rc == NX_ENOENT) {
            fprintf(stderr, "nexus users: no user with chat id %lld\n", (long long)chat);
            nx_store_close(c.st);
            return NX_EXIT_CONFIG;
        }
    } else {
        return users_usage(&c);
    }
    if (rc)
        return failed(&c, "users", rc);
    nx_store_close(c.st);
    return NX_EXIT_OK;
}

static int print_task(void *ctx, const nx_store_task_t *t)
{
    (void)ctx;
    char next[32] = "-", last[32] = "never";
    time_t n = (time_t)(t->next_run_ms / 1000), l = (time_t)(t->last_run_ms / 1000);
    struct tm tm;
    strftime(next, sizeof next, "%Y-%m-%dT%H:%MZ", gmtime_r(&n, &tm));
    if (t->last_run_ms)
        strftime(last, sizeof last, "%Y-%m-%dT%H:%MZ", gmtime_r(&l, &tm));
    printf("%-5lld %-6lld %-18s %-20s %-14s %-3s %-18s %-18s %s\n", (long long)t->id,
           (long long)t->user_id, t->cron, t->tz, t->action, t->trading_days_only ? "yes" : "no",
           next, last, t->last_result);
    return 0;
}

static int tasks_usage(ctx_t *c)
{
    tasks_help(stderr);
    nx_store_close(c->st);
    return NX_EXIT_USAGE;
}

int nx_cmd_tasks(int argc, char **argv)
{
    if (asks_help(argc, argv)) {
        tasks_help(stdout);
        return NX_EXIT_OK;
    }
    static ctx_t c;
    int rc = open_store(&c, "tasks", &argc, &argv);
    if (rc)
        return rc;
    int64_t chat;
    if (argc == 1 && !strcmp(argv[0], "list")) {
        printf("%-5s %-6s %-18s %-20s %-14s %-3s %-18s %-18s %s\n", "id", "user", "cron",
               "timezone", "action", "td", "next run", "last run", "last result");
        rc = nx_store_tasks_due(c.st, INT64_MAX, print_task, NULL);
    } else if ((argc == 5 || argc == 6) && !strcmp(argv[0], "add") &&
               parse_id(argv[1], &chat) == 0) {
        int td = argc == 6 && !strcmp(argv[5], "--trading-days");
        if (argc == 6 && !td)
            return tasks_usage(&c);
        if (strcmp(argv[4], "daily_report") != 0) {
            fprintf(stderr, "nexus tasks: unknown action \"%s\" (daily_report)\n", argv[4]);
            nx_store_close(c.st);
            return NX_EXIT_CONFIG;
        }
        nx_user_t u;
        char err[256] = "";
        int64_t id;
        int64_t now = nx_real_ns() / NX_NS_PER_MS;
        if ((rc = nx_store_user_get(c.st, chat, 0, &u)) == NX_ENOENT) {
            fprintf(stderr, "nexus tasks: no user with chat id %lld\n", (long long)chat);
            nx_store_close(c.st);
            return NX_EXIT_CONFIG;
        }
        if (!rc && (rc = nx_sched_add(c.st, u.id, argv[2], argv[3], argv[4], td, now, &id, err,
                                      sizeof err)) == NX_EINVAL) {
            fprintf(stderr, "nexus tasks: %s\n", err);
            nx_store_close(c.st);
            return NX_EXIT_CONFIG;
        }
        if (!rc) {
            nx_store_audit(c.st, u.id, 0, "cli tasks add", argv[4]);
            printf("task %lld added for user %lld: %s at \"%s\" in %s%s\n", (long long)id,
                   (long long)u.id, argv[4], argv[2], argv[3], td ? ", trading days only" : "");
        }
    } else {
        return tasks_usage(&c);
    }
    if (rc)
        return failed(&c, "tasks", rc);
    nx_store_close(c.st);
    return NX_EXIT_OK;
}

/* One line of standard input, without its newline, into locked memory. */
static nx_secret_t *read_line(void)
{
    nx_secret_t *s = nx_secret_new();
    if (!s)
        return NULL;
    if (!fgets(s->bytes, sizeof s->bytes, stdin)) {
        nx_secret_free(s);
        return NULL;
    }
    s->len = strcspn(s->bytes, "\r\n");
    s->bytes[s->len] = 0;
    return s;
}

static int unlock(ctx_t *c, nx_vault_t **v)
{
    char err[512];
    int rc = nx_vault_load(v, c->cfg.storage.key_file, err, sizeof err);
    if (!rc)
        rc = nx_vault_unlock(*v, c->st, err, sizeof err);
    if (rc) {
        fprintf(stderr, "nexus keys: %s\n", err);
        nx_vault_free(*v);
        *v = NULL;
    }
    return rc;
}

int nx_cmd_keys(int argc, char **argv)
{
    if (asks_help(argc, argv)) {
        keys_help(stdout);
        return NX_EXIT_OK;
    }
    if (argc == 2 && !strcmp(argv[1], "genkey")) {
        char b64[64];
        if (nx_vault_generate(b64, sizeof b64))
            return NX_EXIT_FAIL;
        printf("%s\n", b64); /* what was asked for: a new key, shown once */
        return NX_EXIT_OK;
    }
    static ctx_t c;
    int rc = open_store(&c, "keys", &argc, &argv);
    if (rc)
        return rc;
    nx_vault_t *v = NULL;
    int64_t chat;
    if (argc == 3 && !strcmp(argv[0], "set") && parse_id(argv[1], &chat) == 0) {
        nx_user_t u;
        const char *venue = argv[2];
        if ((rc = nx_store_user_get(c.st, chat, 0, &u))) {
            fprintf(stderr, "nexus keys: no user with chat id %lld\n", (long long)chat);
            nx_store_close(c.st);
            return NX_EXIT_CONFIG;
        }
        if (nx_venue_parse(venue, strlen(venue)) == NX_VENUE_NONE) {
            fprintf(stderr, "nexus keys: unknown venue %s (%s)\n", venue, nx_venue_choices());
            nx_store_close(c.st);
            return NX_EXIT_CONFIG;
        }
        if (unlock(&c, &v)) {
            nx_store_close(c.st);
            return NX_EXIT_CONFIG;
        }
        if (isatty(0))
            fprintf(stderr, "API key, then secret, one per line (not echoed to the log):\n");
        nx_secret_t *key = read_line(), *secret = key ? read_line() : NULL;
        if (!key || !secret || !key->len || !secret->len) {
            fprintf(stderr, "nexus keys: expected the API key and the secret on standard input, "
                            "one per line\n");
            rc = NX_EINVAL;
        }
        if (!rc)
            rc = nx_store_session_ensure(c.st, u.id, venue, NULL);
        if (!rc)
            rc = nx_keys_set(v, c.st, u.id, venue, key->bytes, secret->bytes);
        nx_secret_free(key);
        nx_secret_free(secret);
        if (!rc) {
            nx_store_audit(c.st, u.id, 0, "cli keys set", venue);
            printf("keys for user %lld on %s sealed and stored\n", (long long)u.id, venue);
        }
    } else if (argc >= 1 && !strcmp(argv[0], "rotate")) {
        static const struct option opts[] = {{"new-key-file", required_argument, 0, 'n'},
                                             {0, 0, 0, 0}};
        const char *file = NULL;
        int o;
        optind = 1;
        while ((o = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
            if (o != 'n') {
                nx_store_close(c.st);
                return NX_EXIT_USAGE;
            }
            file = optarg;
        }
        if (unlock(&c, &v)) {
            nx_store_close(c.st);
            return NX_EXIT_CONFIG;
        }
        char err[512];
        nx_vault_t *to = NULL;
        const char *env = getenv("NEXUS_NEW_MASTER_KEY");
        if (env && *env)
            rc = nx_vault_from_base64(&to, env, err, sizeof err);
        else if (file) {
            /* the file loader reads NEXUS_MASTER_KEY first: not here */
            char *old_key = getenv("NEXUS_MASTER_KEY") ? strdup(getenv("NEXUS_MASTER_KEY")) : NULL;
            unsetenv("NEXUS_MASTER_KEY");
            rc = nx_vault_load(&to, file, err, sizeof err);
            if (old_key) {
                setenv("NEXUS_MASTER_KEY", old_key, 1);
                nx_secret_wipe(old_key, strlen(old_key));
                free(old_key);
            }
        } else {
            snprintf(err, sizeof err, "the new key: set NEXUS_NEW_MASTER_KEY or --new-key-file");
            rc = NX_EINVAL;
        }
        int n = 0;
        if (!rc && (rc = nx_keys_rotate(v, to, c.st, &n, err, sizeof err)) == 0) {
            nx_store_audit(c.st, 0, 0, "cli keys rotate", "");
            printf("%d session%s re-sealed under the new master key\n", n, n == 1 ? "" : "s");
        } else if (rc) {
            fprintf(stderr, "nexus keys rotate: %s; nothing was changed\n", err);
            nx_vault_free(to);
            nx_vault_free(v);
            nx_store_close(c.st);
            return NX_EXIT_CONFIG;
        }
        nx_vault_free(to);
    } else {
        keys_help(stderr);
        nx_store_close(c.st);
        return NX_EXIT_USAGE;
    }
    nx_vault_free(v);
    if (rc)
        return failed(&c, "keys", rc);
    nx_store_close(c.st);
    return NX_EXIT_OK;
}
