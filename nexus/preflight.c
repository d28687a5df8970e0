/*
 * preflight.c — what `nexus run` checks before it starts anything, and
 * `nexus check-config` with it: one code path, so a config that one
 * accepts the other does not refuse, and both name a problem in the same
 * words.
 *
 * Beyond the file itself (nx_config_load: syntax, schema, keys that must
 * agree) that is the world the config points at: its paths
 * (nx_config_check_paths: data_dir, log.file, each replay file), each
 * replayed feed's data read and checked as the replay server will read it
 * (nx_replay_check: a bad line of a candle CSV is named by its number),
 * a replay not pointed at a shared database (DATABASE_URL), and the regime
 * model loaded and checked as the cortex will (unless on_error is "rules",
 * where the run goes on without it). Checking
 * reads each replay file once more than the run does: a few milliseconds
 * for the bundled 13,843 candles.
 */
#include "cli.h"

#include "nx/clock.h"
#include "nx/config.h"
#include "nx/regime.h"
#include "nx/replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

void nx_cli_replay_opts(const nx_config_feed_t *f, nx_replay_opts_t *o)
{
    nx_replay_opts_default(o);
    o->venue = f->venue;
    if (ends_with(f->replay, ".csv"))
        o->candles_path = f->replay;
    else
        o->frames_path = f->replay;
    o->symbol = f->replay_symbol;
    o->speed = f->replay_speed;
    o->quiet = 1;
    /* the feed fetches each hole in the candles over REST: the stream waits
     * for it, so every run trades the same */
    o->wait_backfill_ms = 10000;
}

static int has_problem(const nx_config_errors_t *errs, const char *key)
{
    for (int i = 0; i < errs->count; i++)
        if (!strcmp(errs->e[i].path, key))
            return 1;
    return 0;
}

/* Everything after the file itself; problems into errs. */
static void preflight(const nx_config_t *cfg, nx_config_errors_t *errs)
{
    nx_config_check_paths(cfg, errs);
    const char *url = getenv("DATABASE_URL");
    for (uint32_t i = 0; i < cfg->n_feeds; i++) {
        const nx_config_feed_t *f = &cfg->feeds[i];
        if (!f->replay[0])
            continue;
        char key[32], why[320];
        snprintf(key, sizeof key, "feeds[%u].replay", i);
        int file_said = has_problem(errs, key); /* the file itself: said already */
        if (url && *url)
            nx_config_errors_add(errs, key,
                                 "a replayed feed with DATABASE_URL set: unset it (a replay "
                                 "keeps its simulation in data_dir/replay)");
        if (file_said)
            continue;
        nx_replay_opts_t o;
        nx_cli_replay_opts(f, &o);
        if (nx_replay_check(&o, why, sizeof why))
            nx_config_errors_add(errs, key, "%s", why);
    }
    const char *model = cfg->cortex.regime.model;
    if (cfg->cortex.regime.on && model[0] && !cfg->cortex.regime.rules_on_error) {
        nx_regime_model_t *m = NULL;
        char why[600];
        if (nx_regime_model_load(&m, model, 1, why, sizeof why))
            nx_config_errors_add(errs, "cortex.regime.model", "%s", why);
        nx_regime_model_free(m);
    }
}

int nx_cli_config_load(const char *path, nx_config_t *cfg)
{
    static nx_config_errors_t errs; /* start-up, main thread */
    if (nx_config_load(path, cfg, &errs) == 0)
        preflight(cfg, &errs);
    if (!errs.count)
        return 0;
    nx_config_errors_print(&errs, stderr);
    fprintf(stderr, "%s: %d problem%s; nothing was started\n", path, errs.count,
            errs.count == 1 ? "" : "s");
    return NX_EXIT_CONFIG;
}

/* "2021-03-01", "2021-03-01T12:30:00" (UTC) or milliseconds since the
 * epoch, to ns; -1 if it is none of them. */
int64_t nx_cli_parse_time(const char *s)
{
    int y, mo, d, h = 0, mi = 0, se = 0;
    char tail;
    if (sscanf(s, "%d-%d-%dT%d:%d:%d%c", &y, &mo, &d, &h, &mi, &se, &tail) == 6 ||
        sscanf(s, "%d-%d-%d%c", &y, &mo, &d, &tail) == 3) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
        tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = se;
        if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
            return -1;
        return (int64_t)timegm(&tm) * NX_NS_PER_SEC;
    }
    char *end;
    long long ms = strtoll(s, &end, 10);
    return *s && !*end && ms >= 0 ? (int64_t)ms * NX_NS_PER_MS : -1;
}
