/*
 * test_cli.c — the `nexus` binary as a user runs it: --version, --help on
 * each subcommand, check-config exit codes and messages, and `nexus run`
 * starting, logging its start-up summary, and stopping on SIGTERM/SIGINT
 * with exit 0 after draining its rings.
 *
 * argv[1] = path to the nexus binary, argv[2] = the example config.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tg_fake.h"

static const char *nexus_bin, *example_cfg;

#include "proc.h"

static int run_cmd(proc_t *p, const char *a1, const char *a2, const char *a3)
{
    char *argv[] = {(char *)nexus_bin, (char *)a1, (char *)a2, (char *)a3, NULL};
    spawn(p, argv);
    return finish(p);
}

static proc_t P;

static void test_version_and_help(void **state)
{
    (void)state;
    assert_int_equal(run_cmd(&P, "--version", NULL, NULL), 0);
    assert_non_null(strstr(P.obuf, "nexus 0."));
    assert_int_equal(run_cmd(&P, "--help", NULL, NULL), 0);
    assert_non_null(strstr(P.obuf, "check-config"));
    assert_int_equal(run_cmd(&P, "run", "--help", NULL), 0);
    assert_non_null(strstr(P.obuf, "--config"));
    assert_int_equal(run_cmd(&P, "check-config", "--help", NULL), 0);
    assert_non_null(strstr(P.obuf, "FILE:LINE:COLUMN"));
    static const char *const subs[] = {"decode", "replay", "indicators", "plugin"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        assert_int_equal(run_cmd(&P, subs[i], "--help", NULL), 0);
        assert_non_null(strstr(P.obuf, "usage: nexus"));
        assert_int_equal(run_cmd(&P, subs[i], NULL, NULL), 64); /* missing arguments */
    }
    /* Every command `nexus --help` lists, each of its actions too: --help and
     * -h print its usage on stdout, nothing on stderr, and exit 0. */
    assert_int_equal(run_cmd(&P, "--help", NULL, NULL), 0);
    static char listing[sizeof P.obuf];
    snprintf(listing, sizeof listing, "%s", P.obuf);
    const char *cmds = strstr(listing, "commands:\n");
    assert_non_null(cmds);
    int n_cmds = 0;
    for (const char *l = strchr(cmds, '\n') + 1; l[0] == ' ' && l[1] == ' ';
         l = strchr(l, '\n') + 1) {
        char name[32], want[64];
        assert_int_equal(sscanf(l, " %31s", name), 1);
        snprintf(want, sizeof want, "usage: nexus %s", name);
        static const char *const flags[] = {"--help", "-h"};
        for (int f = 0; f < 2; f++) {
            if (run_cmd(&P, name, flags[f], NULL) != 0 || !strstr(P.obuf, want) || P.elen)
                fail_msg("nexus %s %s: want its usage on stdout and exit 0; got stdout \"%s\" "
                         "stderr \"%s\"",
                         name, flags[f], P.obuf, P.ebuf);
        }
        n_cmds++;
    }
    assert_int_equal(n_cmds, 15); /* run .. keys, as main.c lists them */
    static const char *const actions[][2] = {
        {"db", "status"},   {"db", "migrate"},  {"users", "add"},    {"users", "list"},
        {"tasks", "add"},   {"tasks", "list"},  {"keys", "set"},     {"keys", "rotate"},
        {"keys", "genkey"}, {"plugin", "sign"}, {"plugin", "keygen"}, {"model", "features"},
        {"model", "predict"}, {"data", "download"}};
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "usage: nexus %s", actions[i][0]);
        if (run_cmd(&P, actions[i][0], actions[i][1], "--help") != 0 || !strstr(P.obuf, want))
            fail_msg("nexus %s %s --help: want its usage on stdout and exit 0; got stderr \"%s\"",
                     actions[i][0], actions[i][1], P.ebuf);
    }
    assert_int_equal(run_cmd(&P, "frobnicate", NULL, NULL), 64);
    assert_non_null(strstr(P.ebuf, "unknown command 'frobnicate'"));
    assert_int_equal(run_cmd(&P, "run", NULL, NULL), 64);
    assert_int_equal(run_cmd(&P, NULL, NULL, NULL), 64);
}

static char bad_path[64];

static void write_bad_config(void)
{
    snprintf(bad_path, sizeof bad_path, "/tmp/nexus-bad-%d.json", (int)getpid());
    FILE *f = fopen(bad_path, "w");
    assert_non_null(f);
    fputs("{\n  \"engine\": {\n    \"market_ring\": 1000\n  },\n  \"colour\": 1\n}\n", f);
    fclose(f);
}

static void test_check_config(void **state)
{
    (void)state;
    assert_int_equal(run_cmd(&P, "check-config", example_cfg, NULL), 0);
    assert_non_null(strstr(P.obuf, ": OK"));
    assert_non_null(strstr(P.obuf, "symbols:"));
    write_bad_config();
    assert_int_equal(run_cmd(&P, "check-config", bad_path, NULL), 2);
    char want[128];
    snprintf(want, sizeof want, "%s:3:20: engine.market_ring: 1000 is not allowed", bad_path);
    assert_non_null(strstr(P.ebuf, want));
    snprintf(want, sizeof want, "%s:5:3: colour: unknown key", bad_path);
    assert_non_null(strstr(P.ebuf, want));
    assert_non_null(strstr(P.ebuf, "2 problems; nothing was started"));
    assert_int_equal(run_cmd(&P, "check-config", "--describe", NULL), 0);
    assert_non_null(strstr(P.obuf, "`engine.market_ring`"));
    /* config/README.md documents the config key by key: it must hold the
     * schema's description verbatim, so docs and code cannot drift. */
    char readme[512];
    snprintf(readme, sizeof readme, "%s/config/README.md", getenv("NX_SOURCE_DIR"));
    FILE *f = fopen(readme, "r");
    assert_non_null(f);
    static char doc[65536];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    doc[n] = 0;
    fclose(f);
    if (!strstr(doc, P.obuf))
        fail_msg("config/README.md is out of date: regenerate its table with "
                 "`nexus check-config --describe`");
    /* `run` refuses the same file with the same exit code, starting nothing. */
    assert_int_equal(run_cmd(&P, "run", "--config", bad_path), 2);
    assert_null(strstr(P.ebuf, " up: "));
    unlink(bad_path);
}

/* One config that `run` refuses before starting anything: check-config
 * refuses it too (exit 2), both print `problem` word for word, and run
 * starts nothing. cfg may be a folder. */
static void refused_alike(const char *cfg, const char *problem)
{
    assert_int_equal(run_cmd(&P, "check-config", cfg, NULL), 2);
    if (!strstr(P.ebuf, problem))
        fail_msg("check-config %s: wanted \"%s\", got:\n%s", cfg, problem, P.ebuf);
    assert_non_null(strstr(P.ebuf, "1 problem; nothing was started"));
    char *argv[] = {(char *)nexus_bin, "run", "--config", (char *)cfg, "--duration", "1", NULL};
    spawn(&P, argv);
    assert_int_equal(finish(&P), 2);
    if (!strstr(P.ebuf, problem))
        fail_msg("run --config %s: wanted \"%s\", got:\n%s", cfg, problem, P.ebuf);
    assert_null(strstr(P.ebuf, " up: "));
}

/* dir/NAME.json: a data_dir of its own, and `more` keys. */
static void write_cfg(char *out, const char *dir, const char *name, const char *more)
{
    snprintf(out, 160, "%s/%s.json", dir, name);
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"engine\": {\"stats_interval_s\": 0},\n"
            " \"symbols\": [{\"venue\": \"binance-usdm\", \"symbol\": \"BTCUSDT\", "
            "\"tick_size\": \"0.01\", \"lot_size\": \"0.00001\"}],\n"
            " %s}\n",
            more);
    fclose(f);
}

/* A config whose only feed replays `file`, data in dir/data. */
static void replay_cfg(char *out, const char *dir, const char *name, const char *file)
{
    char more[512];
    snprintf(more, sizeof more,
             "\"data_dir\": \"%s/data\",\n \"feeds\": [{\"venue\": \"binance-usdm\", "
             "\"ws_url\": \"wss://fstream.binance.com\", \"rest_url\": "
             "\"https://fapi.binance.com\", \"replay\": \"%s\"}]",
             dir, file);
    write_cfg(out, dir, name, more);
}

/* check-config accepted configs that run then refused (issue 16): each of
 * run's refusals, found by check-config first, in the same words. */
static void test_check_config_checks_what_run_checks(void **state)
{
    (void)state;
    unsetenv("DATABASE_URL");
    char dir[] = "/tmp/nx-cli-refused-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg[160], file[200], more[400], want[600];

    /* a replay file that is not there, or is a folder */
    snprintf(file, sizeof file, "%s/nope.csv", dir);
    replay_cfg(cfg, dir, "missing", file);
    snprintf(want, sizeof want, "%s: feeds[0].replay: no such file: %s\n", cfg, file);
    refused_alike(cfg, want);
    snprintf(file, sizeof file, "%s/frames", dir);
    assert_int_equal(mkdir(file, 0700), 0);
    replay_cfg(cfg, dir, "folder", file);
    snprintf(want, sizeof want, "%s: feeds[0].replay: %s is a folder, not a file\n", cfg, file);
    refused_alike(cfg, want);
    /* one that cannot be read (root reads every file: only as another user) */
    snprintf(file, sizeof file, "%s/locked.csv", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs("open_time_ms,open,high,low,close,volume\n1,2,3,1,2,5\n2,2,3,1,2,5\n", f);
    fclose(f);
    assert_int_equal(chmod(file, 0), 0);
    if (geteuid() != 0) {
        replay_cfg(cfg, dir, "locked", file);
        snprintf(want, sizeof want, "%s: feeds[0].replay: cannot read %s: Permission denied\n", cfg,
                 file);
        refused_alike(cfg, want);
    } else {
        print_message("# running as root: an unreadable replay file is not tried\n");
    }

    /* garbage in a candle CSV: named by its line */
    snprintf(file, sizeof file, "%s/garbage.csv", dir);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("open_time_ms,open,high,low,close,volume\n"
          "1610409600000,35410.37,35547.19,34702.65,34771.31,2309.12384\n"
          "<html>rate limited</html>\n"
          "1610411400000,34572.5,34700,34500,34600,100\n",
          f);
    fclose(f);
    replay_cfg(cfg, dir, "garbage", file);
    snprintf(want, sizeof want,
             "%s: feeds[0].replay: %s:3: expected open_time_ms,open,high,low,close,volume\n", cfg,
             file);
    refused_alike(cfg, want);
    snprintf(file, sizeof file, "%s/price.csv", dir);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("1610409600000,35410.37,35547.19,34702.65,34771.31,2309.12384\n"
          "1610410500000,34771.31,34961.46,34287.34,34572.5,1902.882555\n"
          "1610411400000,34572.5,-1,34500,34600,100\n",
          f);
    fclose(f);
    replay_cfg(cfg, dir, "price", file);
    snprintf(want, sizeof want, "%s: feeds[0].replay: %s:3: high \"-1\" is not a decimal > 0\n",
             cfg, file);
    refused_alike(cfg, want);

    /* data_dir: a file, a symlink loop */
    snprintf(file, sizeof file, "%s/afile", dir);
    f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(more, sizeof more, "\"data_dir\": \"%s\"", file);
    write_cfg(cfg, dir, "ddfile", more);
    snprintf(want, sizeof want, "%s: data_dir: %s is a file, not a folder\n", cfg, file);
    refused_alike(cfg, want);
    char loop2[200];
    snprintf(file, sizeof file, "%s/loop1", dir);
    snprintf(loop2, sizeof loop2, "%s/loop2", dir);
    assert_int_equal(symlink(loop2, file), 0);
    assert_int_equal(symlink(file, loop2), 0);
    snprintf(more, sizeof more, "\"data_dir\": \"%s\"", file);
    write_cfg(cfg, dir, "ddloop", more);
    snprintf(want, sizeof want, "%s: data_dir: cannot use %s: Too many levels of symbolic links\n",
             cfg, file);
    refused_alike(cfg, want);

    /* a folder as log.file */
    snprintf(more, sizeof more, "\"data_dir\": \"%s/data\", \"log\": {\"file\": \"%s\"}", dir, dir);
    write_cfg(cfg, dir, "logdir", more);
    snprintf(want, sizeof want, "%s: log.file: %s is a folder, not a file\n", cfg, dir);
    refused_alike(cfg, want);

    /* a folder as the config file */
    snprintf(want, sizeof want, "%s: (file): is a folder, not a config file\n", dir);
    refused_alike(dir, want);

    /* a replay with DATABASE_URL set: run refused it, now check-config too */
    snprintf(file, sizeof file, "%s/ok.csv", dir);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("1610409600000,35410.37,35547.19,34702.65,34771.31,2309.12384\n"
          "1610410500000,34771.31,34961.46,34287.34,34572.5,1902.882555\n",
          f);
    fclose(f);
    replay_cfg(cfg, dir, "ok", file);
    assert_int_equal(run_cmd(&P, "check-config", cfg, NULL), 0);
    setenv("DATABASE_URL", "postgresql://127.0.0.1:1/none", 1);
    snprintf(want, sizeof want,
             "%s: feeds[0].replay: a replayed feed with DATABASE_URL set: unset it (a replay "
             "keeps its simulation in data_dir/replay)\n",
             cfg);
    refused_alike(cfg, want);
    unsetenv("DATABASE_URL");
    char rm[96];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    assert_int_equal(system(rm), 0);
}

/* `nexus decode` on the real Binance capture: JSON lines on stdout, one
 * summary object as the last stderr line, counts that agree. */
static void test_decode_cli(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path,
             "%s/tests/data/ws/binance_usdm_futures_combined_20210722_first500.jsonl",
             getenv("NX_SOURCE_DIR"));
    char *argv[] = {(char *)nexus_bin, "decode", "--venue", "binance-usdm", path, NULL};
    spawn(&P, argv);
    assert_int_equal(finish(&P), 0);
    int lines = 0, books = 0;
    for (const char *p = P.obuf; (p = strchr(p, '\n')); p++)
        lines++;
    for (const char *p = P.obuf; (p = strstr(p, "\"type\":\"book\"")); p++)
        books++;
    /* stdout may have been cut at the buffer size; the summary counts all. */
    const char *sum = strstr(P.ebuf, "{\"frames\":");
    assert_non_null(sum);
    unsigned long long frames, events, trade, bbo, kline, book, mark, status, errors;
    assert_int_equal(
        sscanf(sum,
               "{\"frames\":%llu,\"events\":%llu,\"by_type\":{\"trade\":%llu,\"bbo\":%llu,"
               "\"kline\":%llu,\"book\":%llu,\"mark\":%llu,\"status\":%llu},\"errors\":%llu",
               &frames, &events, &trade, &bbo, &kline, &book, &mark, &status, &errors),
        9);
    assert_int_equal(frames, 500);
    assert_int_equal(errors, 0);
    assert_int_equal(trade, 32);
    assert_int_equal(bbo, 154);
    assert_int_equal(kline, 23);
    assert_int_equal(events, trade + bbo + kline + book + mark + status);
    assert_true(lines > 0 && books > 0);
    assert_non_null(strstr(sum, "\"book_gaps\":0"));
    /* Bad input: unknown venue is a usage error. */
    char *bad[] = {(char *)nexus_bin, "decode", "--venue", "kraken", path, NULL};
    spawn(&P, bad);
    assert_int_equal(finish(&P), 64);
}

static int run_argv(proc_t *p, const char *const *args)
{
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)nexus_bin;
    while (*args && n < 15)
        argv[n++] = (char *)*args++;
    argv[n] = NULL;
    spawn(p, argv);
    return finish(p);
}

static void sh(const char *fmt, const char *a, const char *b)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    assert_int_equal(system(cmd), 0);
}

/* keygen, sign, verify; then `run` loads the signed plugin, refuses an
 * unsigned one and a missing one (naming file and reason), and runs on. */
static void test_plugin_signing_cli(void **state)
{
    (void)state;
    char dir[] = "/tmp/nx-cli-plugins-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char key[128], so[128], unsigned_so[128], cfg[128];
    snprintf(key, sizeof key, "%s/dev.key", dir);
    snprintf(so, sizeof so, "%s/trend.so", dir);
    snprintf(unsigned_so, sizeof unsigned_so, "%s/scalping.so", dir);
    snprintf(cfg, sizeof cfg, "%s/nexus.json", dir);
    sh("cp %s/trend.so %s", NX_PLUGIN_DIR, so);
    sh("cp %s/scalping.so %s", NX_PLUGIN_DIR, unsigned_so);

    const char *keygen[] = {"plugin", "keygen", "--key", key, NULL};
    assert_int_equal(run_argv(&P, keygen), 0);
    char pk[64];
    snprintf(pk, sizeof pk, "%.44s", P.obuf);
    assert_int_equal(strlen(pk), 44);
    assert_null(strstr(P.ebuf, "PRIVATE"));    /* nothing secret printed */
    assert_int_equal(run_argv(&P, keygen), 1); /* never overwrites a key */
    assert_non_null(strstr(P.ebuf, "refusing to overwrite"));

    const char *sign[] = {"plugin", "sign", "--key", key, so, NULL};
    assert_int_equal(run_argv(&P, sign), 0);
    const char *verify[] = {"plugin", "verify", "--trust", pk, so, NULL};
    assert_int_equal(run_argv(&P, verify), 0);
    assert_non_null(strstr(P.obuf, "signature OK"));
    const char *verify_unsigned[] = {"plugin", "verify", "--trust", pk, unsigned_so, NULL};
    assert_int_equal(run_argv(&P, verify_unsigned), 1);
    assert_non_null(strstr(P.ebuf, "not signed"));

    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"engine\": {\"stats_interval_s\": 0},\n"
            " \"symbols\": [{\"venue\": \"binance-usdm\", \"symbol\": \"BTCUSDT\", "
            "\"tick_size\": \"0.1\", \"lot_size\": \"0.001\"}],\n"
            " \"cortex\": {\"plugin_dir\": \"%s\", \"trusted_keys\": [\"%s\"],\n"
            "   \"strategies\": [{\"plugin\": \"trend\"}, {\"plugin\": \"scalping\"}]}}\n",
            dir, pk);
    fclose(f);
    const char *verify_cfg[] = {"plugin", "verify", "--config", cfg, so, NULL};
    assert_int_equal(run_argv(&P, verify_cfg), 0);
    const char *run[] = {"run", "--config", cfg, "--duration", "1", NULL};
    assert_int_equal(run_argv(&P, run), 0);
    assert_non_null(strstr(P.ebuf, "strategy trend: plugin trend 1.0.0 from"));
    char want[256];
    snprintf(want, sizeof want, "strategy scalping not loaded: %s: not signed", unsigned_so);
    assert_non_null(strstr(P.ebuf, want));
    snprintf(want, sizeof want, "strategy sentinel not loaded: %s/sentinel.so: cannot read", dir);
    assert_non_null(strstr(P.ebuf, want));
    assert_non_null(strstr(P.ebuf, "stopped cleanly"));

    /* tampered after signing: verify fails, naming the reason */
    sh("printf x >> %s%s", so, "");
    assert_int_equal(run_argv(&P, verify), 1);
    assert_non_null(strstr(P.ebuf, "bad signature"));
    sh("rm -rf %s%s", dir, "");
}

/* Exit status of a shell command line; its stderr into err (if not NULL). */
/* The whole of a file (up to cap - 1 bytes), NUL-terminated; its length. */
static size_t slurp(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(out, 1, cap - 1, f) : 0;
    out[n] = 0;
    if (f)
        fclose(f);
    return n;
}

static int shell(char *err, size_t cap, const char *fmt, ...)
{
    char cmd[2048], path[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(path, sizeof path, "/tmp/nx-cli-err-%d", (int)getpid());
    char full[2200];
    snprintf(full, sizeof full, "%s 2>%s", cmd, path);
    int st = system(full);
    if (err)
        slurp(path, err, cap);
    unlink(path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* db, users and keys on the SQLite file `nexus run` uses; keys read from
 * standard input, sealed, never in the file; a wrong master key stops
 * `nexus run` before anything changes; the run's journal is stored. */
static void test_storage_cli(void **state)
{
    (void)state;
    char dir[] = "/tmp/nx-cli-store-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg[128], db[128], out[4096], err[4096];
    snprintf(cfg, sizeof cfg, "%s/nexus.json", dir);
    snprintf(db, sizeof db, "%s/data/nexus.db", dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"engine\": {\"stats_interval_s\": 0, \"heartbeat_ms\": 10}, \"data_dir\": "
            "\"%s/data\",\n \"storage\": {\"owner_chat_id\": 42, \"owner_name\": \"Olga\"}}\n",
            dir);
    fclose(f);
    const char *N = nexus_bin;
    unsetenv("NEXUS_MASTER_KEY");
    unsetenv("DATABASE_URL");
    assert_int_equal(shell(NULL, 0, "%s db --config %s migrate >/dev/null", N, cfg), 0);
    assert_int_equal(shell(err, sizeof err,
                           "%s users --config %s add 7 --name \"Robert'); DROP TABLE users;--\" "
                           "--role subscriber --tz America/New_York >/dev/null",
                           N, cfg),
                     0);
    assert_int_equal(shell(err, sizeof err, "%s users --config %s add 7 >/dev/null", N, cfg), 2);
    assert_non_null(strstr(err, "exists"));
    assert_int_equal(shell(err, sizeof err, "%s users --config %s role 99 admin", N, cfg), 2);
    assert_non_null(strstr(err, "no user with chat id 99"));
    assert_int_equal(shell(NULL, 0, "%s users --config %s role 7 admin >/dev/null", N, cfg), 0);
    assert_int_equal(shell(NULL, 0, "%s users --config %s list > %s/list", N, cfg, dir), 0);
    char lpath[160];
    snprintf(lpath, sizeof lpath, "%s/list", dir);
    assert_true(slurp(lpath, out, sizeof out) > 0);
    assert_non_null(strstr(out, "admin"));
    assert_non_null(strstr(out, "Robert'); DROP TABLE users;--")); /* verbatim */

    /* keys: no master key, refused; then sealed from stdin */
    assert_int_equal(shell(err, sizeof err,
                           "printf 'key-PLAIN-1234\\nsecret-PLAIN-5678\\n' | %s keys --config %s "
                           "set 7 binance-usdm",
                           N, cfg),
                     2);
    assert_non_null(strstr(err, "no master key"));
    char k1[64], k2[64];
    assert_int_equal(shell(NULL, 0, "%s keys genkey > %s/k1", N, dir), 0);
    assert_int_equal(shell(NULL, 0, "%s keys genkey > %s/k2", N, dir), 0);
    snprintf(lpath, sizeof lpath, "%s/k1", dir);
    f = fopen(lpath, "r");
    assert_non_null(fgets(k1, sizeof k1, f));
    fclose(f);
    k1[strcspn(k1, "\n")] = 0;
    snprintf(lpath, sizeof lpath, "%s/k2", dir);
    f = fopen(lpath, "r");
    assert_non_null(fgets(k2, sizeof k2, f));
    fclose(f);
    k2[strcspn(k2, "\n")] = 0;
    assert_int_equal(shell(err, sizeof err,
                           "printf 'key-PLAIN-1234\\nsecret-PLAIN-5678\\n' | NEXUS_MASTER_KEY=%s "
                           "%s keys --config %s set 7 binance-usdm > %s/set",
                           k1, N, cfg, dir),
                     0);
    assert_int_equal(shell(NULL, 0, "grep -q -a PLAIN %s/data/nexus.db*", dir), 1);
    assert_int_equal(shell(NULL, 0, "grep -q -a PLAIN %s/set", dir), 1); /* not echoed */

    /* the wrong master key stops `nexus run` and changes nothing */
    long before = file_size(db);
    assert_true(before > 0);
    assert_int_equal(shell(err, sizeof err,
                           "NEXUS_MASTER_KEY=%s %s run --config %s --duration 1 >/dev/null", k2, N,
                           cfg),
                     1);
    assert_non_null(strstr(err, "wrong master key"));
    assert_int_equal(file_size(db), before);
    /* ... and none at all, too, now that keys are stored */
    assert_int_equal(shell(err, sizeof err, "%s run --config %s --duration 1 >/dev/null", N, cfg),
                     1);
    assert_non_null(strstr(err, "holds sealed API keys"));

    /* rotation, then a run with the new key: the journal is stored */
    assert_int_equal(shell(err, sizeof err,
                           "NEXUS_MASTER_KEY=%s NEXUS_NEW_MASTER_KEY=%s %s keys --config %s rotate",
                           k1, k2, N, cfg),
                     0);
    assert_int_equal(shell(err, sizeof err,
                           "NEXUS_MASTER_KEY=%s %s run --config %s --duration 1 >/dev/null", k2, N,
                           cfg),
                     0);
    assert_non_null(strstr(err, "sqlite storage at schema version"));
    assert_int_equal(
        shell(NULL, 0, "NEXUS_MASTER_KEY=%s %s db --config %s status > %s/status", k2, N, cfg, dir),
        0);
    snprintf(lpath, sizeof lpath, "%s/status", dir);
    assert_true(slurp(lpath, out, sizeof out) > 0);
    unsigned long long entries = 0;
    const char *j = strstr(out, "journal: ");
    assert_non_null(j);
    assert_int_equal(sscanf(j, "journal: %llu entries", &entries), 1);
    assert_true(entries >= 1); /* a one-second run: its first heartbeat (one a minute is kept) */
    assert_non_null(strstr(out, "users: 2")); /* Robert and the owner from the config */
    assert_non_null(strstr(out, "consistency: ok"));
    sh("rm -rf %s%s", dir, "");
}

/* Exit status of `cd dir && nexus ARGS` (stdout and stderr into out, if
 * not NULL). */
static int nexus_in(const char *dir, char *out, size_t cap, const char *args)
{
    char cmd[2048], path[64];
    snprintf(path, sizeof path, "/tmp/nx-cli-in-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "cd %s && %s %s > %s 2>&1", dir, nexus_bin, args, path);
    int st = system(cmd);
    FILE *f = fopen(path, "r");
    size_t n = f && out ? fread(out, 1, cap - 1, f) : 0;
    if (out)
        out[n] = 0;
    if (f)
        fclose(f);
    unlink(path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Paths in a config are relative to the config's folder, wherever nexus
 * is started (issue 16: `nexus run --config /abs/x.json` from another
 * folder looked for its candles there and failed with "input/output
 * error"); a missing one is named "no such file: PATH". */
static void test_paths_relative_to_the_config(void **state)
{
    (void)state;
    unsetenv("DATABASE_URL");
    char dir[] = "/tmp/nx-cli-rel-XXXXXX", elsewhere[] = "/tmp/nx-cli-away-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_non_null(mkdtemp(elsewhere));
    char conf[160], path[200], args[512], out[65536], want[512];
    snprintf(conf, sizeof conf, "%s/conf", dir);
    assert_int_equal(mkdir(conf, 0700), 0);
    snprintf(path, sizeof path, "%s/candles", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    /* the first 120 candles of the bundled file, next to the config's folder */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "head -n 121 %s/tests/data/candles/binance_spot_BTCUSDT_15m_20210112_20210605.csv > "
             "%s/candles/btc.csv",
             getenv("NX_SOURCE_DIR"), dir);
    assert_int_equal(system(cmd), 0);
    char more[512];
    snprintf(more, sizeof more,
             "\"data_dir\": \"state\", \"log\": {\"file\": \"logs/nexus.log\"},\n"
             " \"feeds\": [{\"venue\": \"binance-usdm\", \"ws_url\": \"wss://fstream.binance.com\","
             " \"rest_url\": \"https://fapi.binance.com\", \"streams\": [\"trades\", \"klines\"],"
             " \"kline_interval\": \"15m\", \"stale_s\": 0, \"replay\": \"../candles/btc.csv\"}]");
    char cfg[160];
    write_cfg(cfg, conf, "x", more);
    snprintf(path, sizeof path, "%s/logs", conf);
    assert_int_equal(mkdir(path, 0700), 0);

    /* from another folder: checked, then run to the end of the data, its
     * state and log in the config's folder, nothing where it was started */
    snprintf(args, sizeof args, "check-config %s", cfg);
    if (nexus_in(elsewhere, out, sizeof out, args) != 0)
        fail_msg("check-config from %s:\n%s", elsewhere, out);
    snprintf(args, sizeof args, "run --config %s --duration 60", cfg);
    if (nexus_in(elsewhere, out, sizeof out, args) != 0)
        fail_msg("run from %s:\n%s", elsewhere, out);
    snprintf(path, sizeof path, "%s/logs/nexus.log", conf);
    static char log[1 << 20];
    assert_true(slurp(path, log, sizeof log) > 0);
    assert_non_null(strstr(log, "stopping (end of the replayed data)"));
    snprintf(want, sizeof want, "replay: %s/../candles/btc.csv served on 127.0.0.1:", conf);
    assert_non_null(strstr(log, want));
    snprintf(path, sizeof path, "%s/state/replay/nexus.db", conf);
    assert_true(file_size(path) > 0);
    assert_true(strstr(out, "candles 120") != NULL); /* the summary: every candle traded */
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s)\"", elsewhere);
    assert_int_equal(system(cmd), 0); /* nothing made where it was started */

    /* a missing file is named by where the config says it is */
    snprintf(more, sizeof more,
             "\"data_dir\": \"state\",\n \"feeds\": [{\"venue\": \"binance-usdm\", \"ws_url\": "
             "\"wss://fstream.binance.com\", \"rest_url\": \"https://fapi.binance.com\", "
             "\"replay\": \"btc-2024.csv\"}]");
    write_cfg(cfg, conf, "y", more);
    snprintf(want, sizeof want, "%s: feeds[0].replay: no such file: %s/btc-2024.csv\n", cfg, conf);
    static const char *const cmds[] = {"check-config %s", "run --config %s"};
    for (int k = 0; k < 2; k++) {
        snprintf(args, sizeof args, cmds[k], cfg);
        assert_int_equal(nexus_in(elsewhere, out, sizeof out, args), 2);
        if (!strstr(out, want))
            fail_msg("%s from %s: wanted \"%s\", got:\n%s", args, elsewhere, want, out);
        assert_null(strstr(out, "input/output error"));
    }

    /* the bundled configs, from the project's folder and from another */
    const char *src = getenv("NX_SOURCE_DIR");
    static const char *const bundled[] = {"config/replay.example.json",
                                          "config/nexus.example.json"};
    for (int k = 0; k < 2; k++) {
        snprintf(args, sizeof args, "check-config %s", bundled[k]);
        if (nexus_in(src, out, sizeof out, args) != 0)
            fail_msg("%s in %s:\n%s", args, src, out);
        snprintf(args, sizeof args, "check-config %s/%s", src, bundled[k]);
        if (nexus_in(elsewhere, out, sizeof out, args) != 0)
            fail_msg("%s in %s:\n%s", args, elsewhere, out);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir, elsewhere);
    assert_int_equal(system(cmd), 0);
}

static void stop_with(int sig)
{
    char *argv[] = {(char *)nexus_bin, "run", "--config", (char *)example_cfg, NULL};
    spawn(&P, argv);
    if (!pump(&P, " up: ", 10000))
        fail_msg("no start-up summary; stderr:\n%s", P.ebuf);
    /* Let a few heartbeats flow through the rings first. */
    pump(&P, "stats:", 3000);
    kill(P.pid, sig);
    assert_int_equal(finish(&P), 0);
    assert_non_null(strstr(P.ebuf, sig == SIGTERM ? "stopping (SIGTERM)" : "stopping (SIGINT)"));
    const char *s = strstr(P.ebuf, "stopped cleanly: market published=");
    assert_non_null(s);
    unsigned long long pub, cons, ovr, jp, jw;
    assert_int_equal(sscanf(s,
                            "stopped cleanly: market published=%llu consumed=%llu overruns=%llu; "
                            "journal published=%llu written=%llu",
                            &pub, &cons, &ovr, &jp, &jw),
                     5);
    assert_true(pub > 0);
    assert_int_equal(pub, cons); /* drained: every published event consumed */
    assert_int_equal(ovr, 0);
    assert_int_equal(jp, jw);
    /* Exactly one start-up summary line. */
    assert_int_equal(strstr(strstr(P.ebuf, " up: ") + 1, " up: "), NULL);
}

static void test_run_stops_on_sigterm(void **state)
{
    (void)state;
    stop_with(SIGTERM);
}

static void test_run_stops_on_sigint(void **state)
{
    (void)state;
    stop_with(SIGINT);
}

/* One integer (or text into txt) from the SQLite file of a data directory. */
static int64_t sql1(const char *db, const char *sql, char *txt, size_t cap)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    int64_t v = 0;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
        if (txt)
            snprintf(txt, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    } else {
        assert_int_equal(rc, SQLITE_DONE);
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* nexus tasks add/list, with every refusal; then the engine's service
 * thread runs what is due: a task whose time passed while Nexus was down
 * runs once at start (catch_up_tasks, the default) or waits for its next
 * time (catch_up_tasks false), and is scheduled again in its own zone. */
static void test_scheduled_tasks_cli_and_engine(void **state)
{
    (void)state;
    char dir[] = "/tmp/nx-cli-tasks-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg[128], cfg2[128], db[128], out[4096], err[4096], txt[512];
    snprintf(cfg, sizeof cfg, "%s/nexus.json", dir);
    snprintf(cfg2, sizeof cfg2, "%s/nexus2.json", dir);
    snprintf(db, sizeof db, "%s/data/nexus.db", dir);
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen(k ? cfg2 : cfg, "w");
        assert_non_null(f);
        fprintf(f,
                "{\"engine\": {\"stats_interval_s\": 0, \"heartbeat_ms\": 10}, \"data_dir\": "
                "\"%s/data\", \"storage\": {\"owner_chat_id\": 42%s}}\n",
                dir, k ? ", \"catch_up_tasks\": false" : "");
        fclose(f);
    }
    const char *N = nexus_bin;
    unsetenv("NEXUS_MASTER_KEY");
    unsetenv("DATABASE_URL");
    assert_int_equal(shell(NULL, 0, "%s run --config %s --duration 1 >/dev/null", N, cfg), 0);
    assert_int_equal(shell(err, sizeof err,
                           "%s tasks --config %s add 42 '15 16 * * 1-5' America/New_York "
                           "daily_report --trading-days > %s/out",
                           N, cfg, dir),
                     0);
    assert_int_equal(
        shell(err, sizeof err, "%s tasks --config %s add 99 @daily UTC daily_report", N, cfg), 2);
    assert_non_null(strstr(err, "no user with chat id 99"));
    assert_int_equal(shell(err, sizeof err,
                           "%s tasks --config %s add 42 '61 * * * *' UTC "
                           "daily_report",
                           N, cfg),
                     2);
    assert_int_equal(shell(err, sizeof err,
                           "%s tasks --config %s add 42 @daily Mars/Olympus "
                           "daily_report",
                           N, cfg),
                     2);
    assert_int_equal(
        shell(err, sizeof err, "%s tasks --config %s add 42 @daily UTC wash_car", N, cfg), 2);
    assert_non_null(strstr(err, "unknown action"));
    assert_int_equal(sql1(db, "SELECT COUNT(*) FROM scheduled_tasks", NULL, 0), 1);
    assert_int_equal(shell(NULL, 0, "%s tasks --config %s list > %s/list", N, cfg, dir), 0);
    char lpath[160];
    snprintf(lpath, sizeof lpath, "%s/list", dir);
    assert_true(slurp(lpath, out, sizeof out) > 0);
    assert_non_null(strstr(out, "America/New_York"));
    assert_non_null(strstr(out, "daily_report"));
    assert_non_null(strstr(out, "never"));
    /* 16:15 in New York is 20:15 or 21:15 UTC, on a weekday */
    int64_t next = sql1(db, "SELECT next_run_ms FROM scheduled_tasks", NULL, 0);
    time_t ns = (time_t)(next / 1000);
    struct tm tm;
    gmtime_r(&ns, &tm);
    assert_true(tm.tm_min == 15 && (tm.tm_hour == 20 || tm.tm_hour == 21));
    assert_true(tm.tm_wday >= 1 && tm.tm_wday <= 5);

    /* Nexus was down when it was due: it runs once at start */
    sql1(db, "UPDATE scheduled_tasks SET next_run_ms = 1000", NULL, 0);
    assert_int_equal(shell(NULL, 0, "%s run --config %s --duration 1 >/dev/null", N, cfg), 0);
    assert_true(sql1(db, "SELECT last_run_ms FROM scheduled_tasks", NULL, 0) > 1000);
    sql1(db, "SELECT last_result FROM scheduled_tasks", txt, sizeof txt);
    assert_string_equal(txt, "no trading yet");
    assert_int_equal(sql1(db, "SELECT next_run_ms FROM scheduled_tasks", NULL, 0), next);
    assert_int_equal(sql1(db, "SELECT COUNT(*) FROM audit WHERE action = 'daily_report'", NULL, 0),
                     1);
    /* with catch_up_tasks false it waits for its next time */
    sql1(db, "UPDATE scheduled_tasks SET next_run_ms = 1000, last_run_ms = NULL", NULL, 0);
    assert_int_equal(shell(NULL, 0, "%s run --config %s --duration 1 >/dev/null", N, cfg2), 0);
    assert_int_equal(
        sql1(db, "SELECT COUNT(*) FROM scheduled_tasks WHERE last_run_ms IS NULL", NULL, 0), 1);
    sql1(db, "SELECT last_result FROM scheduled_tasks", txt, sizeof txt);
    assert_string_equal(txt, "skipped: missed while down");
    assert_int_equal(sql1(db, "SELECT next_run_ms FROM scheduled_tasks", NULL, 0), next);
    assert_int_equal(sql1(db, "SELECT COUNT(*) FROM audit WHERE action = 'daily_report'", NULL, 0),
                     1);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* dir/nexus.json with one symbol, these sessions (JSON objects), the users
 * boss (id 1, the owner at chat 42) and alice (id 2, chat 7), and `more` keys; one run of nexus
 * saves every session's state into dir/data/nexus.db. No key, database URL or token in the
 * environment. */
static void saved_sessions(const char *dir, const char *sessions, const char *more, char *cfg,
                           char *db)
{
    snprintf(cfg, 128, "%s/nexus.json", dir);
    snprintf(db, 128, "%s/data/nexus.db", dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"engine\": {\"stats_interval_s\": 0}, \"data_dir\": \"%s/data\","
            " \"symbols\": [{\"venue\": \"binance-usdm\", \"symbol\": \"BTCUSDT\","
            " \"tick_size\": \"0.01\", \"lot_size\": \"0.001\"}],"
            " \"users\": [{\"id\": 1, \"chat_id\": 42, \"name\": \"boss\", \"role\": \"owner\"},"
            " {\"id\": 2, \"chat_id\": 7, \"name\": \"alice\"}],"
            " \"trading\": {\"sessions\": [%s]},"
            " \"storage\": {\"owner_chat_id\": 42, \"owner_name\": \"boss\"}%s}\n",
            dir, sessions, more);
    fclose(f);
    unsetenv("NEXUS_MASTER_KEY");
    unsetenv("DATABASE_URL");
    unsetenv("NEXUS_TELEGRAM_TOKEN");
    assert_int_equal(shell(NULL, 0, "%s run --config %s --duration 1 >/dev/null", nexus_bin, cfg),
                     0);
}

/* Start-up reads the stored fills since the last checkpoint, not every
 * fill ever stored (issue 16): a replay of the bundled 144 days trades and
 * checkpoints the fills' sums as it goes; a start on its database reads
 * only the fills after that checkpoint (counted here in SQL) and leaves a
 * new one, so the start after it reads none. */
static void test_start_reads_fills_since_checkpoint(void **state)
{
    (void)state;
    char dir[] = "/tmp/nx-cli-ckpt-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *src = getenv("NX_SOURCE_DIR"), *N = nexus_bin;
    unsetenv("DATABASE_URL");
    assert_int_equal(shell(NULL, 0,
                           "sed 's#\"\\.\\./#\"%s/#; s#\"engine\": {#\"data_dir\": "
                           "\"%s\", \"engine\": {#' %s/config/replay.example.json > %s/replay.json",
                           src, dir, src, dir),
                     0);
    assert_int_equal(shell(NULL, 0, "%s run --config %s/replay.json > /dev/null", N, dir), 0);
    char db[128], cfg[128], out[1 << 16], want[128];
    snprintf(db, sizeof db, "%s/replay/nexus.db", dir);
    int64_t total = sql1(db, "SELECT COUNT(*) FROM fills", NULL, 0);
    int64_t since = sql1(db,
                         "SELECT COUNT(*) FROM fills WHERE seq > (SELECT through_seq FROM marks"
                         " WHERE name = 'fills')",
                         NULL, 0);
    assert_true(total > 500);
    assert_true(since < total / 10);
    /* the same users and sessions on that database, without a feed */
    snprintf(cfg, sizeof cfg, "%s/again.json", dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"engine\": {\"stats_interval_s\": 0}, \"data_dir\": \"%s/replay\","
            " \"symbols\": [{\"venue\": \"binance-usdm\", \"symbol\": \"BTCUSDT\","
            " \"tick_size\": \"0.01\", \"lot_size\": \"0.00001\"}],"
            " \"users\": [{\"id\": 1, \"chat_id\": 1001, \"name\": \"owner\", \"role\": \"owner\"},"
            " {\"id\": 2, \"chat_id\": 1002, \"name\": \"alice\"},"
            " {\"id\": 3, \"chat_id\": 1003, \"name\": \"bob\"}],"
            " \"trading\": {\"sessions\": [{\"name\": \"owner\", \"user\": 1},"
            " {\"name\": \"alice\", \"user\": 2}, {\"name\": \"bob\", \"user\": 3}]}}\n",
            dir);
    fclose(f);
    for (int run = 0; run < 2; run++) {
        assert_int_equal(
            shell(out, sizeof out, "%s run --config %s --duration 1 > /dev/null", N, cfg), 0);
        snprintf(want, sizeof want, "stored fills checked: %lld read since the last checkpoint",
                 run ? 0LL : (long long)since);
        if (!strstr(out, want))
            fail_msg("run %d: wanted \"%s\" in:\n%s", run, want, out);
        assert_int_equal(sql1(db, "SELECT through_seq FROM marks WHERE name = 'fills'", NULL, 0),
                         sql1(db, "SELECT MAX(seq) FROM fills", NULL, 0));
    }
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* /regime and /models with a regime model configured (issue 17): before
 * any candle the pair has no regime, nothing is filtered and every
 * strategy is active; /models names the shipped model; a reload asked
 * from chat is done (the engine swaps it while the market is quiet). */
static void test_regime_in_chat(void **state)
{
    (void)state;
    char dir[] = "/tmp/nx-cli-regime-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *src = getenv("NX_SOURCE_DIR");
    char cfg[128], out[16384];
    snprintf(cfg, sizeof cfg, "%s/regime.json", dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"engine\": {\"stats_interval_s\": 0}, \"data_dir\": \"%s/data\","
            " \"symbols\": [{\"venue\": \"binance-usdm\", \"symbol\": \"BTCUSDT\","
            " \"tick_size\": \"0.01\", \"lot_size\": \"0.00001\"}],"
            " \"cortex\": {\"plugin_dir\": \"%s\", \"allow_unsigned\": true,"
            " \"strategies\": [{\"plugin\": \"trend\"}, {\"plugin\": \"grid\"}],"
            " \"regime\": {\"model\": \"%s/models/regime-btc-15m\"}},"
            " \"users\": [{\"id\": 1, \"chat_id\": 42, \"name\": \"boss\", \"role\": \"owner\"}],"
            " \"trading\": {\"sessions\": [{\"name\": \"boss\", \"user\": 1}]},"
            " \"storage\": {\"owner_chat_id\": 42, \"owner_name\": \"boss\"}}\n",
            dir, NX_PLUGIN_DIR, src);
    fclose(f);
    unsetenv("DATABASE_URL");
    snprintf(out, sizeof out, "%s/out", dir);
    static char err[1 << 16];
    assert_int_equal(shell(err, sizeof err,
                           "printf '/regime BTCUSDT\\n/models reload\\n/models\\n' | %s run "
                           "--config %s --console --duration 3 > %s",
                           nexus_bin, cfg, out),
                     0);
    if (!strstr(err, "regime: model reloaded from"))
        fail_msg("the model was not reloaded; stderr:\n%s", err);
    char path[160];
    snprintf(path, sizeof path, "%s/out", dir);
    assert_true(slurp(path, out, sizeof out) > 0);
    /* a model that does not load: run refuses to start, naming it; with
     * on_error "rules" it starts, says so, and the rules decide */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/bad", dir);
    assert_int_equal(mkdir(bad, 0700), 0);
    assert_int_equal(
        shell(NULL, 0,
              "cp %s/models/regime-btc-15m/meta.json %s/ && echo '{\"learner\"' > %s/model.json",
              src, bad, bad),
        0);
    for (int rules = 0; rules < 2; rules++) {
        char c2[160];
        snprintf(c2, sizeof c2, "%s/bad%d.json", dir, rules);
        assert_int_equal(shell(NULL, 0,
                               "sed 's#\"model\": \"[^\"]*\"#\"model\": \"%s\"%s#' %s > %s", bad,
                               rules ? ", \"on_error\": \"rules\"" : "", cfg, c2),
                         0);
        int rc =
            shell(err, sizeof err, "%s run --config %s --duration 1 > /dev/null", nexus_bin, c2);
        char want_err[200];
        snprintf(want_err, sizeof want_err, "%s/model.json: not the model its meta.json", bad);
        if (rc != (rules ? 0 : 2) || !strstr(err, want_err))
            fail_msg("on_error %s: exit %d; stderr:\n%s", rules ? "rules" : "fail", rc, err);
        if (rules)
            assert_non_null(strstr(err, "the rule-based read decides"));
    }
    static const char *const want[] = {
        "BTCUSDT 15m: not enough candles yet (0 closed",
        "Model: no prediction yet (its features are still warming up).",
        "Regime (15m): none yet, so no strategy is filtered.",
        "Active strategies: trend, grid, sentinel.",
        "Reload of the regime model asked",
        "models/regime-btc-15m/model.json",
        "Threshold 70%; candles decided by the model 0, by the rules 0; entries not routed 0",
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        if (!strstr(out, want[k]))
            fail_msg("no \"%s\" in:\n%s", want[k], out);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A daily report reaches the task's user in chat, and holds only that
 * user's own session (the owner's holds every session). */
static void test_daily_report_in_chat(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    tgf_t *tg = tgf_start();
    assert_non_null(tg);
    char dir[] = "/tmp/nx-cli-report-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg[128], db[128], txt[512], chat[128];
    snprintf(chat, sizeof chat,
             ", \"chat\": {\"api_url\": \"http://127.0.0.1:%d\", \"poll_timeout_s\": 1}", tg->port);
    saved_sessions(dir, "{\"name\": \"boss\", \"user\": 1}, {\"name\": \"alice\", \"user\": 2}",
                   chat, cfg, db);
    const char *N = nexus_bin;
    assert_int_equal(shell(NULL, 0, "%s tasks --config %s add 7 @daily UTC daily_report", N, cfg),
                     0);
    assert_int_equal(shell(NULL, 0, "%s tasks --config %s add 42 @daily UTC daily_report", N, cfg),
                     0);
    sql1(db, "UPDATE scheduled_tasks SET next_run_ms = 1000", NULL, 0); /* missed while down */
    assert_int_equal(shell(NULL, 0,
                           "NEXUS_TELEGRAM_TOKEN=77:cli-test %s run --config %s --duration 2 "
                           ">/dev/null",
                           N, cfg),
                     0);
    int at = 0;
    int k = tgf_wait_request(tg, &at, "sendMessage", 7, "Daily summary", 5000);
    assert_true(k >= 0);
    const char *t = json_string_value(json_object_get(tg->req[k].body, "text"));
    assert_non_null(strstr(t, "alice: balance 10000"));
    assert_null(strstr(t, "boss")); /* never another user's session */
    at = 0;
    k = tgf_wait_request(tg, &at, "sendMessage", 42, "Daily summary", 5000);
    assert_true(k >= 0);
    t = json_string_value(json_object_get(tg->req[k].body, "text"));
    assert_non_null(strstr(t, "boss: balance"));
    assert_non_null(strstr(t, "alice: balance"));
    sql1(db,
         "SELECT last_result FROM scheduled_tasks WHERE user_id = (SELECT id FROM users "
         "WHERE chat_id = 7)",
         txt, sizeof txt);
    assert_null(strstr(txt, "boss"));
    tgf_stop(tg);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A session whose saved state and stored fills disagree at start is held,
 * and the owner is told in chat (here the console) what differs. */
static void held_case(const char *fill_sql, const char *why)
{
    char dir[] = "/tmp/nx-cli-held-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg[128], db[128], out[8192];
    saved_sessions(dir, "{\"name\": \"boss\", \"user\": 1}", "", cfg, db);
    const char *N = nexus_bin;
    sql1(db, fill_sql, NULL, 0);
    assert_int_equal(shell(NULL, 0,
                           "echo /status | %s run --config %s --console --duration 2 > %s/out", N,
                           cfg, dir),
                     0);
    char path[160];
    snprintf(path, sizeof path, "%s/out", dir);
    assert_true(slurp(path, out, sizeof out) > 0);
    assert_non_null(strstr(out, "Held at start"));
    assert_non_null(strstr(out, why));
    assert_non_null(strstr(out, "held (check /health, then /resume)")); /* /status says so */
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_reconcile_told_to_owner(void **state)
{
    (void)state;
    /* a fill the saved state never saw */
    held_case("INSERT INTO fills (session, fill_id, client_id, symbol, side, price, qty, fee, "
              "maker, seq, venue) VALUES (1, 999, 1, 'BTCUSDT', 'buy', '30000', '0.001', '0', 0, "
              "999999999, 1)",
              "fills were stored after its saved state");
    /* a fill that cannot be read proves nothing: held too */
    held_case("INSERT INTO fills (session, fill_id, client_id, symbol, side, price, qty, fee, "
              "maker, seq, venue) VALUES (1, 999, 1, 'NOPEUSDT', 'buy', '30000', '0.001', '0', 0, "
              "5, 1)",
              "a stored fill (journal 5) could not be read");
}

/* `nexus db status` runs start-up's own checks: the journal's entries and
 * gaps are counted, not taken from the last sequence, and a session whose
 * saved state disagrees with its stored fills (which start-up pauses) makes
 * it say so and exit 1, where it used to say "consistency: ok" (issue 16). */
static void test_db_status_runs_recovery_checks(void **state)
{
    (void)state;
    char dir[] = "/tmp/nx-cli-dbstatus-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg[128], db[128], out[8192], path[160], want[160];
    saved_sessions(dir, "{\"name\": \"boss\", \"user\": 1}", "", cfg, db);
    const char *N = nexus_bin;
    snprintf(path, sizeof path, "%s/out", dir);
    int64_t entries = sql1(db, "SELECT COUNT(*) FROM journal", NULL, 0);
    int64_t last = sql1(db, "SELECT MAX(seq) FROM journal", NULL, 0);
    assert_int_equal(entries, last); /* a clean run journals 1, 2, .. last */
    assert_true(last >= 6);
    assert_int_equal(shell(NULL, 0, "%s db --config %s status > %s/out", N, cfg, dir), 0);
    assert_true(slurp(path, out, sizeof out) > 0);
    snprintf(want, sizeof want, "journal: %lld entries, last %lld, 0 gaps (0 entries missing)\n",
             (long long)entries, (long long)last);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "recovery: 1 session checked, 0 would be paused at start\n"));
    assert_non_null(strstr(out, "consistency: ok\n"));

    /* two holes: seq 2..3 and seq 5 */
    sql1(db, "DELETE FROM journal WHERE seq IN (2, 3, 5)", NULL, 0);
    assert_int_equal(shell(NULL, 0, "%s db --config %s status > %s/out", N, cfg, dir), 0);
    assert_true(slurp(path, out, sizeof out) > 0);
    snprintf(want, sizeof want, "journal: %lld entries, last %lld, 2 gaps (3 entries missing)\n",
             (long long)(entries - 3), (long long)last);
    if (!strstr(out, want))
        fail_msg("want \"%s\" in:\n%s", want, out);

    /* a fill the saved state never saw, with its journal entry (so the
     * database itself is consistent): start-up would pause the session */
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO journal (seq, type, exch_ns, data) VALUES (%lld, 13, 0, '{}')",
             (long long)last + 1);
    sql1(db, sql, NULL, 0);
    snprintf(sql, sizeof sql,
             "INSERT INTO fills (session, fill_id, client_id, symbol, side, price, qty, fee, "
             "maker, seq, venue) VALUES (1, 999, 1, 'BTCUSDT', 'buy', '30000', '0.001', '0', 0, "
             "%lld, 1)",
             (long long)last + 1);
    sql1(db, sql, NULL, 0);
    assert_int_equal(shell(NULL, 0, "%s db --config %s status > %s/out", N, cfg, dir), 1);
    assert_true(slurp(path, out, sizeof out) > 0);
    assert_non_null(strstr(out, "recovery: 1 session checked, 1 would be paused at start\n"));
    assert_non_null(strstr(out, "fills were stored after its saved state"));
    assert_non_null(strstr(out, "consistency: 1 session disagrees with the stored fills or the "
                                "venue's book; start-up pauses it\n"));
    assert_null(strstr(out, "consistency: ok"));
    /* a fill that cannot be read proves nothing: the same */
    sql1(db, "DELETE FROM fills", NULL, 0);
    sql1(db,
         "INSERT INTO fills (session, fill_id, client_id, symbol, side, price, qty, fee, maker, "
         "seq, venue) VALUES (1, 999, 1, 'NOPEUSDT', 'buy', '30000', '0.001', '0', 0, 4, 1)",
         NULL, 0);
    assert_int_equal(shell(NULL, 0, "%s db --config %s status > %s/out", N, cfg, dir), 1);
    assert_true(slurp(path, out, sizeof out) > 0);
    assert_non_null(strstr(out, "a stored fill (journal 4) could not be read"));
    assert_null(strstr(out, "consistency: ok"));
    /* and start-up agrees: it holds the session */
    assert_int_equal(shell(NULL, 0,
                           "echo /status | %s run --config %s --console --duration 2 > %s/out", N,
                           cfg, dir),
                     0);
    assert_true(slurp(path, out, sizeof out) > 0);
    assert_non_null(strstr(out, "a stored fill (journal 4) could not be read"));
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A session made from chat, and changed there, is the database's: a
 * restart trades it as it was left (issue 15). */
static void test_session_from_chat_survives_restart(void **state)
{
    (void)state;
    char dir[] = "/tmp/nx-cli-session-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg[128], db[128], out[16384], path[160];
    saved_sessions(dir, "", "", cfg, db); /* the owner, no session yet */
    const char *N = nexus_bin;
    assert_int_equal(shell(NULL, 0,
                           "printf '/session new mode=copilot leverage=3 equity=2500\\n"
                           "/config set leverage 4\\n/mode pilot\\n' | %s run --config %s "
                           "--console --duration 3 > %s/out1",
                           N, cfg, dir),
                     0);
    snprintf(path, sizeof path, "%s/out1", dir);
    assert_true(slurp(path, out, sizeof out) > 0);
    assert_non_null(strstr(out, "Session 1 boss made on binance-usdm: paper equity 2500, "
                                "leverage 3x"));
    assert_non_null(strstr(out, "leverage is now 4."));
    assert_non_null(strstr(out, "Mode is now pilot."));
    assert_int_equal(shell(NULL, 0,
                           "printf '/sessions\\n/config show\\n/status\\n' | %s run --config %s "
                           "--console --duration 3 > %s/out2",
                           N, cfg, dir),
                     0);
    snprintf(path, sizeof path, "%s/out2", dir);
    assert_true(slurp(path, out, sizeof out) > 0);
    assert_non_null(strstr(out, "1 boss on binance-usdm, pilot (your commands act on it)"));
    assert_non_null(strstr(out, "leverage = 4 (1..20)"));
    assert_non_null(strstr(out, "boss: pilot"));
    assert_non_null(strstr(out, "Balance 2500"));
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Users past the 1024 the chat layer keeps in memory are counted, logged
 * once and shown in /health (issue 16: they were left out silently). The
 * database holds the config's 2 users and 1028 more: 1030, so 6 past. */
static void test_users_past_limit_reported(void **state)
{
    (void)state;
    char dir[] = "/tmp/nx-cli-users-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg[128], db[128], out[65536], path[160];
    saved_sessions(dir, "", "", cfg, db);
    sql1(db,
         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1028) "
         "INSERT INTO users (chat_id, name, role, created_ms) "
         "SELECT 100000 + i, 'u' || i, 'subscriber', 0 FROM n",
         NULL, 0);
    assert_int_equal(sql1(db, "SELECT COUNT(*) FROM users", NULL, 0), 1030);
    static char errs[65536];
    assert_int_equal(shell(errs, sizeof errs,
                           "printf '/health\\n' | %s run --config %s --console --duration 3 "
                           "> %s/out",
                           nexus_bin, cfg, dir),
                     0);
    snprintf(path, sizeof path, "%s/out", dir);
    assert_true(slurp(path, out, sizeof out) > 0);
    if (!strstr(out, "users: 6 past the 1024 kept in memory are not told anything"))
        fail_msg("/health does not report the 6 users; output:\n%s", out);
    if (!strstr(errs, "6 users past the first 1024 are not kept in memory"))
        fail_msg("no log line for the 6 users; log:\n%s", errs);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Which session a person's commands act on is a meta row ("active:ID");
 * when storing it fails, nobody is told their commands moved (issue 16:
 * the write's result was ignored, so /session use said "now act on" while
 * the next order went to the old session). A trigger refuses the row's
 * writes on the second run: making session 2 leaves session 1 active and
 * says so, /session use 2 is refused, and /sessions shows session 1
 * active. */
static void test_active_session_not_stored(void **state)
{
    (void)state;
    char dir[] = "/tmp/nx-cli-active-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg[128], db[128], out[16384], path[160];
    saved_sessions(dir, "", "", cfg, db);
    /* the same config with a second venue, so the owner may have a second session */
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"engine\": {\"stats_interval_s\": 0}, \"data_dir\": \"%s/data\","
            " \"symbols\": [{\"venue\": \"binance-usdm\", \"symbol\": \"BTCUSDT\","
            " \"tick_size\": \"0.01\", \"lot_size\": \"0.001\"},"
            " {\"venue\": \"bybit-linear\", \"symbol\": \"BTCUSDT\","
            " \"tick_size\": \"0.1\", \"lot_size\": \"0.001\"}],"
            " \"users\": [{\"id\": 1, \"chat_id\": 42, \"name\": \"boss\", \"role\": \"owner\"},"
            " {\"id\": 2, \"chat_id\": 7, \"name\": \"alice\"}],"
            " \"storage\": {\"owner_chat_id\": 42, \"owner_name\": \"boss\"}}\n",
            dir);
    fclose(f);
    const char *N = nexus_bin;
    assert_int_equal(shell(NULL, 0,
                           "printf '/session new mode=copilot equity=2500\\n' | %s run --config "
                           "%s --console --duration 3 > %s/out1",
                           N, cfg, dir),
                     0);
    snprintf(path, sizeof path, "%s/out1", dir);
    assert_true(slurp(path, out, sizeof out) > 0);
    if (!strstr(out, "Session 1 boss made on binance-usdm: paper equity 2500, leverage 1x"))
        fail_msg("session 1 not made; output:\n%s", out);
    if (!strstr(out, "Your commands now act on it."))
        fail_msg("session 1 not active; output:\n%s", out);
    assert_int_equal(sql1(db, "SELECT value FROM meta WHERE key = 'active:1'", out, sizeof out), 1);
    sql1(db,
         "CREATE TRIGGER no_active BEFORE INSERT ON meta WHEN NEW.key LIKE 'active:%' "
         "BEGIN SELECT RAISE(ABORT, 'refused by test_cli'); END",
         NULL, 0);
    static char errs[65536];
    assert_int_equal(shell(errs, sizeof errs,
                           "printf '/session new venue=bybit-linear mode=copilot equity=1000\\n"
                           "/session use 2\\n/sessions\\n' | %s run --config %s --console "
                           "--duration 3 > %s/out2",
                           N, cfg, dir),
                     0);
    snprintf(path, sizeof path, "%s/out2", dir);
    assert_true(slurp(path, out, sizeof out) > 0);
    if (!strstr(out, "Session 2 boss made on bybit-linear: paper equity 1000, leverage 1x"))
        fail_msg("session 2 not made; output:\n%s", out);
    if (!strstr(out, "Your commands still act on session 1 (storage error: /session use 2 to "
                     "try again)."))
        fail_msg("no word that session 1 stays active; output:\n%s", out);
    if (!strstr(out, "Not switched (storage error): your commands still act on session 1."))
        fail_msg("/session use 2 not refused; output:\n%s", out);
    assert_null(strstr(out, "now act on"));
    if (!strstr(out, "1 <b>boss</b> on binance-usdm, copilot (your commands act on it)") &&
        !strstr(out, "1 boss on binance-usdm, copilot (your commands act on it)"))
        fail_msg("/sessions does not show session 1 active; output:\n%s", out);
    if (!strstr(errs, "user 1: cannot store session 2 as the one their commands act on"))
        fail_msg("the failed switch is not logged; log:\n%s", errs);
    assert_int_equal(sql1(db, "SELECT value FROM meta WHERE key = 'active:1'", out, sizeof out), 1);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A secret the log cannot register for redaction is never used: the run
 * refuses to start, naming the variable, never the value (issue 16). */
static void refused_secret(const char *cfg, const char *var, const char *value)
{
    setenv(var, value, 1);
    char *argv[] = {(char *)nexus_bin, "run",       "--config", (char *)cfg,
                    "--duration",      (char *)"5", NULL};
    spawn(&P, argv);
    int rc = finish(&P);
    unsetenv(var);
    char want[160];
    snprintf(want, sizeof want, "%s cannot be registered for redaction in the log", var);
    if (!strstr(P.ebuf, want))
        fail_msg("no \"%s\"; stderr:\n%s", want, P.ebuf);
    assert_int_equal(rc, 1); /* NX_EXIT_FAIL */
    assert_null(strstr(P.ebuf, " up: "));
}

/* A secret the log cannot redact stops a start that would use it; one
 * this config does not use (Alpaca's keys without an Alpaca feed) is
 * said and stops nothing. */
static void test_unredactable_secret_refused(void **state)
{
    (void)state;
    refused_secret(example_cfg, "NEXUS_TELEGRAM_TOKEN", "1:x"); /* 3 bytes: under the log's 4 */
    char dir[] = "/tmp/nx-cli-secret-XXXXXX", cfg[64];
    assert_non_null(mkdtemp(dir));
    snprintf(cfg, sizeof cfg, "%s/alpaca.json", dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"data_dir\": \"%s/data\", \"symbols\": [{\"venue\": \"alpaca\", \"symbol\": "
            "\"AAPL\", \"tick_size\": \"0.01\", \"lot_size\": \"1\"}], \"feeds\": [{\"venue\": "
            "\"alpaca\", \"ws_url\": \"ws://127.0.0.1:9\", \"rest_url\": \"http://127.0.0.1:9\","
            " \"streams\": [\"trades\"]}]}\n",
            dir);
    fclose(f);
    refused_secret(cfg, "NEXUS_ALPACA_SECRET_KEY", "abc");

    setenv("NEXUS_ALPACA_SECRET_KEY", "abc", 1);
    char *argv[] = {(char *)nexus_bin, "run",       "--config", (char *)example_cfg,
                    "--duration",      (char *)"1", NULL};
    spawn(&P, argv);
    int rc = finish(&P);
    unsetenv("NEXUS_ALPACA_SECRET_KEY");
    if (rc != 0 || !strstr(P.ebuf, "NEXUS_ALPACA_SECRET_KEY is set but not used (no Alpaca feed)"))
        fail_msg("exit %d; stderr:\n%s", rc, P.ebuf);
    assert_null(strstr(P.ebuf, "abc"));
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_cli NEXUS_BINARY EXAMPLE_CONFIG\n");
        return 2;
    }
    nexus_bin = argv[1];
    example_cfg = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_and_help),
        cmocka_unit_test(test_check_config),
        cmocka_unit_test(test_check_config_checks_what_run_checks),
        cmocka_unit_test(test_paths_relative_to_the_config),
        cmocka_unit_test(test_decode_cli),
        cmocka_unit_test(test_run_stops_on_sigterm),
        cmocka_unit_test(test_run_stops_on_sigint),
        cmocka_unit_test(test_plugin_signing_cli),
        cmocka_unit_test(test_storage_cli),
        cmocka_unit_test(test_scheduled_tasks_cli_and_engine),
        cmocka_unit_test(test_daily_report_in_chat),
        cmocka_unit_test(test_reconcile_told_to_owner),
        cmocka_unit_test(test_db_status_runs_recovery_checks),
        cmocka_unit_test(test_start_reads_fills_since_checkpoint),
        cmocka_unit_test(test_regime_in_chat),
        cmocka_unit_test(test_session_from_chat_survives_restart),
        cmocka_unit_test(test_unredactable_secret_refused),
        cmocka_unit_test(test_users_past_limit_reported),
        cmocka_unit_test(test_active_session_not_stored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
