/*
 * bt_lookahead.c — `nexus backtest --check-lookahead`: does any strategy
 * decide with data it could not have had?
 *
 * The backtest runs once on all the data, then again on the data cut at
 * N points, each cut run a process of its own (this binary, exec'd) given
 * files that end at the cut: nothing after the cut exists anywhere that
 * process could look — not in memory, not on its command line, not in the
 * files it names. Every strategy signal of each run is written as a JSON
 * line (`--signals`); a strategy passes when, at every cut, its signals up
 * to the cut are the same line for line as in the run on all the data. A
 * signal there only with the later data, one that appears only without it,
 * or one whose side, confidence, stop, target or reason changes, means
 * the strategy (or the engine under it) used the future; the first such
 * difference is reported with its time.
 *
 * How a file is cut: the messages the backtest reads from it — a candle
 * CSV's trades and closed klines as `nexus replay` serves them, a
 * recording's frames — are written, one per line, up to the cut's
 * millisecond; an event file's events, to an event file. A cut may so fall inside a candle: the run sees its first
 * trades and not its close, as a live engine would at that moment (a CSV
 * row, cut whole, would hold a candle's close before its time). The
 * signals compared are those made by market events at or before the cut
 * (`at_ms` of each line): those events are the same, in the same order,
 * in both runs.
 */
#include "cli.h"

#include "nx/clock.h"
#include "nx/error.h"
#include "nx/evfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A run's signals: JSON lines, each with its time and strategy name. */
typedef struct la_sig {
    char *line;
    int64_t t_ms; /* the time of the market event that made it */
    char strategy[32];
} la_sig_t;

typedef struct la_run {
    la_sig_t *s;
    size_t n;
} la_run_t;

/* Write the messages of r up to t_ms to path, one per line. */
static int write_cut(const nx_replay_t *r, int64_t t_ms, const char *path)
{
    FILE *o = fopen(path, "w");
    if (!o)
        return NX_EIO;
    uint64_t n = nx_replay_count(r);
    for (uint64_t k = 0; k < n; k++) {
        nx_replay_msg_t m;
        nx_replay_msg(r, k, &m);
        if (m.ts_ms > t_ms)
            break; /* times never go back within a file (checked when loaded) */
        fwrite(m.data, 1, m.len, o);
        fputc('\n', o);
    }
    return fclose(o) ? NX_EIO : 0;
}

/* An event file's events up to t_ms (by the reader's clock, the order the
 * backtest merges in) into a new event file at path. */
static int write_cut_events(nx_evr_t *r, const nx_symtab_t *t, int64_t t_ms, const char *path)
{
    nx_evw_t *w;
    int rc = nx_evw_open(&w, path, t);
    if (rc)
        return rc;
    nx_evr_rewind(r);
    nx_event_t ev;
    while (nx_evr_peek_ns(r) / NX_NS_PER_MS <= t_ms && nx_evr_next(r, &ev))
        if (nx_evw_put(w, &ev) < 0)
            rc = NX_EIO;
    int c = nx_evw_close(w);
    return rc ? rc : c;
}

/* slurp: a whole file, NUL-terminated (a failed run's stderr). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(65537);
    size_t n = buf ? fread(buf, 1, 65536, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = 0;
    *len = n;
    return buf;
}

static void run_free(la_run_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->s[i].line);
    free(r->s);
    memset(r, 0, sizeof *r);
}

static int read_signals(const char *path, la_run_t *r)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NX_EIO;
    char *line = NULL;
    size_t cap = 0, scap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = 0;
        if (r->n == scap) {
            scap = scap ? scap * 2 : 1024;
            la_sig_t *p = realloc(r->s, scap * sizeof *p);
            if (!p) {
                rc = NX_ENOMEM;
                break;
            }
            r->s = p;
        }
        la_sig_t *s = &r->s[r->n];
        memset(s, 0, sizeof *s);
        if (!(s->line = strdup(line))) {
            rc = NX_ENOMEM;
            break;
        }
        r->n++;
        const char *t = strstr(line, "\"at_ms\":"), *n = strstr(line, "\"strategy\":\"");
        if (!t || !n) {
            rc = NX_EINVAL;
            break;
        }
        s->t_ms = strtoll(t + 8, NULL, 10);
        n += 12;
        size_t k = 0;
        while (n[k] && n[k] != '"' && k < sizeof s->strategy - 1)
            s->strategy[k] = n[k], k++;
    }
    free(line);
    fclose(f);
    return rc;
}

/* argv of one run: this binary's backtest with the options passed through,
 * --signals OUT and the inputs. */
typedef struct la_argv {
    char *v[64];
    int n;
    char from[32], to[32];
} la_argv_t;

static void push(la_argv_t *a, const char *s)
{
    if (a->n < 62)
        a->v[a->n++] = (char *)s;
}

static pid_t spawn(const nx_lookahead_opts_t *o, la_argv_t *a, const char *out, const char *err,
                   const char *const *inputs)
{
    a->n = 0;
    push(a, "nexus");
    push(a, "backtest");
    push(a, "--config");
    push(a, o->config);
    if (o->from_ns) {
        snprintf(a->from, sizeof a->from, "%lld", (long long)(o->from_ns / NX_NS_PER_MS));
        push(a, "--from");
        push(a, a->from);
    }
    if (o->to_ns) {
        snprintf(a->to, sizeof a->to, "%lld", (long long)(o->to_ns / NX_NS_PER_MS));
        push(a, "--to");
        push(a, a->to);
    }
    if (o->venue) {
        push(a, "--venue");
        push(a, o->venue);
    }
    if (o->symbol) {
        push(a, "--symbol");
        push(a, o->symbol);
    }
    push(a, "--signals");
    push(a, out);
    for (int i = 0; i < o->ninputs; i++)
        push(a, inputs[i]);
    a->v[a->n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY), fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (dn >= 0)
            dup2(dn, 1);
        if (fe >= 0)
            dup2(fe, 2);
        execv("/proc/self/exe", a->v);
        _exit(127);
    }
    return pid;
}

/* Which run k of the pids is; -1 if none. */
static int run_of(const pid_t *pids, int n, pid_t p)
{
    for (int i = 0; i < n; i++)
        if (pids[i] == p)
            return i;
    return -1;
}

static void fmt_time(int64_t t_ms, char *out, size_t cap)
{
    if (nx_utc_format(t_ms / 1000, out, cap) <= 0)
        snprintf(out, cap, "%lld ms", (long long)t_ms);
    else if ((out = strchr(out, 'T')))
        *out = ' ';
}

/* A signal line's side and timeframe, for words. */
static void describe(const char *line, char *out, size_t cap)
{
    const char *s = strstr(line, "\"side\":\""), *tf = strstr(line, "\"tf_s\":");
    char side[16] = "signal";
    if (s) {
        s += 8;
        size_t k = 0;
        while (s[k] && s[k] != '"' && k < sizeof side - 1)
            side[k] = s[k] == '_' ? ' ' : s[k], k++;
        side[k] = 0;
    }
    long tfs = tf ? strtol(tf + 7, NULL, 10) : 0;
    int64_t t = strtoll(strstr(line, "\"t_ms\":") + 7, NULL, 10);
    char when[40];
    fmt_time(t, when, sizeof when);
    if (tfs >= 3600)
        snprintf(out, cap, "the %s at %s UTC (%ldh candle)", side, when, tfs / 3600);
    else if (tfs > 0)
        snprintf(out, cap, "the %s at %s UTC (%ldm candle)", side, when, tfs / 60);
    else
        snprintf(out, cap, "the %s at %s UTC (on a trade)", side, when);
}

#define LA_MAX_STRATEGIES 64
typedef struct la_verdict {
    char name[32];
    size_t compared; /* signals up to the cuts, summed over the cuts */
    int bad_cuts;
    char first[400];
} la_verdict_t;

static la_verdict_t *verdict(la_verdict_t *v, int *nv, const char *name)
{
    for (int i = 0; i < *nv; i++)
        if (!strcmp(v[i].name, name))
            return &v[i];
    if (*nv == LA_MAX_STRATEGIES)
        return NULL;
    la_verdict_t *x = &v[(*nv)++];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", name);
    return x;
}

/* Compare one strategy's signals up to end_ms between the run on all the
 * data and the cut run; 0 same, else the first difference in words. */
static int compare(const la_run_t *full, const la_run_t *cut, const char *name, int64_t end_ms,
                   int64_t cut_ms, size_t *compared, char *why, size_t cap)
{
    size_t i = 0, j = 0;
    char cut_s[40];
    fmt_time(cut_ms, cut_s, sizeof cut_s);
    for (;;) {
        while (i < full->n && (strcmp(full->s[i].strategy, name) || full->s[i].t_ms > end_ms))
            i++;
        while (j < cut->n && (strcmp(cut->s[j].strategy, name) || cut->s[j].t_ms > end_ms))
            j++;
        if (i == full->n && j == cut->n)
            return 0;
        char d[160];
        if (j == cut->n || (i < full->n && full->s[i].t_ms < cut->s[j].t_ms)) {
            describe(full->s[i].line, d, sizeof d);
            snprintf(why, cap, "%s is there only with the data after %s UTC", d, cut_s);
            return 1;
        }
        if (i == full->n || cut->s[j].t_ms < full->s[i].t_ms) {
            describe(cut->s[j].line, d, sizeof d);
            snprintf(why, cap, "%s appears only when the data after %s UTC is removed", d, cut_s);
            return 1;
        }
        if (strcmp(full->s[i].line, cut->s[j].line)) {
            describe(full->s[i].line, d, sizeof d);
            snprintf(why, cap,
                     "%s changes (side, confidence, stop, target or reason) when the data after "
                     "%s UTC is removed",
                     d, cut_s);
            return 1;
        }
        (*compared)++;
        i++, j++;
    }
}

int nx_backtest_lookahead(const nx_lookahead_opts_t *o)
{
    int rc = NX_EXIT_FAIL;
    int n = o->ninputs, cuts = o->cuts;
    pid_t *pids = calloc((size_t)cuts + 1, sizeof *pids);
    int64_t *cut_ms = calloc((size_t)cuts + 1, sizeof *cut_ms);
    char *names = calloc((size_t)(cuts + 1) * (size_t)n, PATH_MAX);
    la_run_t full;
    memset(&full, 0, sizeof full);
    char dpath[256];
    int have_dir = 0;
    if (!pids || !cut_ms || !names) {
        fprintf(stderr, "nexus backtest: out of memory\n");
        goto out;
    }
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) > 200)
        tmp = "/tmp";
    snprintf(dpath, sizeof dpath, "%s/nexus-lookahead-XXXXXX", tmp);
    if (!mkdtemp(dpath)) {
        fprintf(stderr, "nexus backtest: cannot make a directory for the cut data: %s\n",
                strerror(errno));
        goto out;
    }
    have_dir = 1;

    /* the span to cut in: the data's, within --from and --to */
    int64_t t0 = INT64_MAX, t1 = INT64_MIN;
    for (int i = 0; i < n; i++) {
        if (!o->replays[i]) { /* an event file */
            int64_t a, z;
            if (!nx_evr_count(o->evrs[i]))
                continue;
            nx_evr_span(o->evrs[i], &a, &z);
            if (a / NX_NS_PER_MS < t0)
                t0 = a / NX_NS_PER_MS;
            if (z / NX_NS_PER_MS > t1)
                t1 = z / NX_NS_PER_MS;
            continue;
        }
        uint64_t c = nx_replay_count(o->replays[i]);
        nx_replay_msg_t m;
        if (!c)
            continue;
        nx_replay_msg(o->replays[i], 0, &m);
        if (m.ts_ms < t0)
            t0 = m.ts_ms;
        nx_replay_msg(o->replays[i], c - 1, &m);
        if (m.ts_ms > t1)
            t1 = m.ts_ms;
    }
    if (o->from_ns && o->from_ns / NX_NS_PER_MS > t0)
        t0 = o->from_ns / NX_NS_PER_MS;
    if (o->to_ns && o->to_ns / NX_NS_PER_MS < t1)
        t1 = o->to_ns / NX_NS_PER_MS;
    if (t0 == INT64_MAX || t1 <= t0) {
        fprintf(stderr, "nexus backtest: no data to cut between --from and --to\n");
        rc = NX_EXIT_CONFIG;
        goto out;
    }

    /* the cut files: run k (1..cuts) gets the data up to cut_ms[k]; run 0
     * all of it, as given */
    for (int k = 1; k <= cuts; k++) {
        cut_ms[k] = t0 + (int64_t)((double)(t1 - t0) * k / (cuts + 1));
        for (int i = 0; i < n; i++) {
            char *p = names + ((size_t)k * (size_t)n + (size_t)i) * PATH_MAX;
            const char *base = strrchr(o->inputs[i], '/');
            snprintf(p, PATH_MAX, "%s/cut%d_%d_%.200s.%s", dpath, k, i,
                     base ? base + 1 : o->inputs[i], o->replays[i] ? "jsonl" : "nxev");
            if (o->replays[i] ? write_cut(o->replays[i], cut_ms[k], p)
                              : write_cut_events(o->evrs[i], o->symtab, cut_ms[k], p)) {
                fprintf(stderr, "nexus backtest: cannot write %s: %s\n", p, strerror(errno));
                goto out;
            }
        }
    }

    /* the runs, o->workers at a time */
    int next = 0, running = 0, failed = 0;
    la_argv_t av;
    while (next <= cuts || running) {
        while (next <= cuts && running < o->workers) {
            const char *in[NX_LOOKAHEAD_MAX_INPUTS];
            for (int i = 0; i < n; i++)
                in[i] = next ? names + ((size_t)next * (size_t)n + (size_t)i) * PATH_MAX
                             : o->inputs[i];
            char out[PATH_MAX], err[PATH_MAX];
            snprintf(out, sizeof out, "%s/signals%d.jsonl", dpath, next);
            snprintf(err, sizeof err, "%s/run%d.err", dpath, next);
            if ((pids[next] = spawn(o, &av, out, err, in)) < 0) {
                fprintf(stderr, "nexus backtest: cannot start a run: %s\n", strerror(errno));
                failed = 1;
                break;
            }
            next++, running++;
        }
        if (!running)
            break;
        int st;
        pid_t p = wait(&st);
        if (p < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        int k = run_of(pids, cuts + 1, p);
        if (k < 0)
            continue;
        running--;
        if (!WIFEXITED(st) || WEXITSTATUS(st)) {
            char err[PATH_MAX];
            snprintf(err, sizeof err, "%s/run%d.err", dpath, k);
            size_t len;
            char *e = slurp(err, &len);
            fprintf(stderr, "nexus backtest: the run %s failed (%s %d):\n%s", k ? "on cut data" : "on all the data",
                    WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
                    e ? e : "");
            free(e);
            failed = 1;
        }
        if (failed)
            break;
    }
    if (failed) {
        while (running > 0 && wait(NULL) > 0)
            running--;
        goto out;
    }

    /* the verdicts */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/signals0.jsonl", dpath);
    if (read_signals(path, &full)) {
        fprintf(stderr, "nexus backtest: cannot read %s\n", path);
        goto out;
    }
    la_verdict_t v[LA_MAX_STRATEGIES];
    int nv = 0;
    for (size_t i = 0; i < full.n; i++)
        verdict(v, &nv, full.s[i].strategy);
    for (int k = 1; k <= cuts; k++) {
        la_run_t cut;
        memset(&cut, 0, sizeof cut);
        snprintf(path, sizeof path, "%s/signals%d.jsonl", dpath, k);
        if (read_signals(path, &cut)) {
            fprintf(stderr, "nexus backtest: cannot read %s\n", path);
            run_free(&cut);
            goto out;
        }
        for (size_t i = 0; i < cut.n; i++)
            verdict(v, &nv, cut.s[i].strategy);
        for (int s = 0; s < nv; s++) {
            char why[400];
            if (compare(&full, &cut, v[s].name, cut_ms[k], cut_ms[k], &v[s].compared, why,
                        sizeof why)) {
                if (!v[s].bad_cuts++)
                    snprintf(v[s].first, sizeof v[s].first, "%s", why);
            }
        }
        run_free(&cut);
    }
    char a[40], b[40];
    fmt_time(t0, a, sizeof a);
    fmt_time(t1, b, sizeof b);
    printf("look-ahead check: %d cuts between %s and %s UTC, each a run on the data up to the "
           "cut alone\n",
           cuts, a, b);
    int bad = 0;
    for (int s = 0; s < nv; s++) {
        if (!v[s].bad_cuts) {
            printf("  %-16s passes: its signals up to each cut (%zu compared) are the same without "
                   "the data after it\n",
                   v[s].name, v[s].compared);
            continue;
        }
        bad++;
        printf("  %-16s LOOKS AHEAD: its signals change at %d of %d cuts when the data after the "
               "cut is removed; the first: %s\n",
               v[s].name, v[s].bad_cuts, cuts, v[s].first);
    }
    if (!nv)
        printf("  no strategy signalled in the data: nothing to compare\n");
    printf("look-ahead check: %s\n",
           bad ? "FAILED" : nv ? "every strategy passes" : "nothing to compare");
    rc = bad ? NX_EXIT_FAIL : NX_EXIT_OK;
out:
    /* NX_LOOKAHEAD_KEEP=1 keeps the cut files and each run's signals and
     * log, to see what a verdict was made of */
    if (have_dir && !getenv("NX_LOOKAHEAD_KEEP")) {
        for (int k = 0; k <= cuts && names; k++) {
            char p[PATH_MAX];
            snprintf(p, sizeof p, "%s/signals%d.jsonl", dpath, k);
            unlink(p);
            snprintf(p, sizeof p, "%s/run%d.err", dpath, k);
            unlink(p);
            for (int i = 0; i < n && k; i++)
                unlink(names + ((size_t)k * (size_t)n + (size_t)i) * PATH_MAX);
        }
        rmdir(dpath);
    } else if (have_dir) {
        fprintf(stderr, "nexus backtest: the runs' files are kept in %s\n", dpath);
    }
    run_free(&full);
    free(pids);
    free(cut_ms);
    free(names);
    return rc;
}
