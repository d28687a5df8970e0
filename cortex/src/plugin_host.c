/*
 * plugin_host.c — loading strategy plugins safely, and swapping them live.
 *
 * Loading one version (nx_pver_load; start-up or the watcher thread):
 *   1. read the file into memory once; unless cortex.allow_unsigned is set,
 *      check FILE.sig against those exact bytes (plugin_sign.c);
 *   2. write those bytes to a private 0700 directory under a unique name and
 *      dlopen(RTLD_NOW | RTLD_LOCAL) that copy, so what runs is what was
 *      verified (no window to swap the file in between) and so glibc, which
 *      returns the already-loaded object for a path it has seen, really loads
 *      the new version; the copy is unlinked once mapped;
 *   3. look up the entry, check the ABI major version, the descriptor's size
 *      and its required callbacks, and that a reload is the same plugin;
 *   4. give it zeroed state memory and call init, which reads parameters and
 *      asks for indicators through nx_host_api.
 * Any failure unloads what was loaded and reports "FILE: reason".
 *
 * Hot swap: the watcher thread (inotify on the plugin directories, plus an
 * eventfd for reload commands) prepares the new version beside the running
 * one and publishes it in strategy->pending; the engine thread, between two
 * events (nx_cortex_poll), activates it, hands the state over with
 * snapshot/restore and flips strategy->cur; the old version goes to
 * strategy->retired, and the watcher finalises and dlcloses it — nothing can
 * still be running in it, since only the engine thread calls plugins and it
 * has moved on. A broken new version never replaces a working one.
 */
#include "cortex_int.h"

#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/log.h"
#include "nx/plugin_sign.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#define MAX_STATE (64u << 20)

void nx_strategy_set_error(nx_strategy_t *st, const char *msg)
{
    pthread_mutex_lock(&st->err_mu);
    snprintf(st->last_error, sizeof st->last_error, "%s", msg);
    pthread_mutex_unlock(&st->err_mu);
}

void nx_strategy_set_running(nx_strategy_t *st, const nx_pver_t *v)
{
    pthread_mutex_lock(&st->err_mu);
    snprintf(st->version, sizeof st->version, "%s", v->desc->version);
    st->cur_generation = v->generation;
    pthread_mutex_unlock(&st->err_mu);
}

/* ---- the host API a plugin sees ------------------------------------------ */

static int api_emit(nexus_host_t *h, const nexus_signal_t *sig)
{
    nx_strategy_t *st = h->st;
    struct nx_cortex *cx = st->cx;
    const nx_cseries_t *cs = st->ctx_series;
    int ok = sig && sig->struct_size >= sizeof *sig && sig->side >= NEXUS_BUY &&
             sig->side <= NEXUS_EXIT_SHORT && sig->confidence >= 0 && sig->confidence <= 1 &&
             (sig->symbol < cx->nsym || sig->symbol == NEXUS_ALL_SYMBOLS) &&
             sig->sl_kind >= NEXUS_LEVEL_NONE && sig->sl_kind <= NEXUS_LEVEL_PRICE &&
             sig->tp_kind >= NEXUS_LEVEL_NONE && sig->tp_kind <= NEXUS_LEVEL_PRICE &&
             (sig->sl_kind == NEXUS_LEVEL_NONE || sig->sl_value > 0) &&
             (sig->tp_kind == NEXUS_LEVEL_NONE || sig->tp_value > 0) && !h->in_init;
    if (!ok) {
        atomic_fetch_add_explicit(&st->refused, 1, memory_order_relaxed);
        NX_LOGK(NX_LOG_WARN, "cortex", "cortex.bad_signal",
                "strategy %s emitted an invalid signal (side, confidence, symbol or level out of "
                "range); dropped",
                st->name);
        return NX_EINVAL;
    }
    uint32_t first = sig->symbol == NEXUS_ALL_SYMBOLS ? 0 : sig->symbol;
    uint32_t last = sig->symbol == NEXUS_ALL_SYMBOLS ? cx->nsym - 1 : sig->symbol;
    for (uint32_t sym = first; sym <= last; sym++) {
        if (nx_route_blocks(cx, st, sym, sig->side))
            continue; /* the regime keeps this entry from the sessions (counted) */
        const nx_symbol_t *s = nx_symtab_get(cx->o.symtab, sym);
        /* the series of this symbol at the firing timeframe gives the ATR */
        const nx_cseries_t *as = NULL;
        if (cs)
            for (uint32_t t = 0; t < cx->ntf; t++)
                if (cx->tf_s[t] == cs->tf_s)
                    as = &cx->series[(size_t)sym * cx->ntf + t];
        double scale = (double)nx_pow10[s->price_scale]; /* price units per price */
        nx_event_t ev;
        memset(&ev, 0, sizeof ev);
        ev.hdr.type = NX_EV_SIGNAL;
        ev.hdr.venue = s->venue;
        ev.hdr.symbol = sym;
        ev.hdr.exch_ns = st->ctx_exch_ns;
        nx_ev_signal_t *g = &ev.u.signal;
        g->confidence = sig->confidence;
        g->side = (uint8_t)sig->side;
        g->strategy = st->id;
        g->tf_s = cs ? cs->tf_s : 0;
        g->ref_price = cx->last_px[sym];
        double atr = as ? as->ind[NX_ATR_SLOT]->out[0] : NAN;
        g->atr = isfinite(atr) ? llround(atr * scale) : 0;
        g->sl_kind = (uint8_t)sig->sl_kind;
        g->tp_kind = (uint8_t)sig->tp_kind;
        if (sig->sl_kind == NEXUS_LEVEL_ATR)
            g->sl_value = sig->sl_value;
        else if (sig->sl_kind == NEXUS_LEVEL_PRICE)
            g->sl_price = llround(sig->sl_value * scale);
        if (sig->tp_kind == NEXUS_LEVEL_ATR)
            g->tp_value = sig->tp_value;
        else if (sig->tp_kind == NEXUS_LEVEL_PRICE)
            g->tp_price = llround(sig->tp_value * scale);
        size_t rl = strnlen(sig->reason, sizeof sig->reason);
        if (rl >= sizeof g->reason)
            rl = sizeof g->reason - 1;
        memcpy(g->reason, sig->reason, rl);
        atomic_fetch_add_explicit(&st->signals, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&cx->signals, 1, memory_order_relaxed);
        if (cx->o.on_signal)
            cx->o.on_signal(cx->o.ctx, &ev);
    }
    return 0;
}

static void api_log(nexus_host_t *h, int level, const char *msg)
{
    nx_log_level_t l = level <= 0   ? NX_LOG_DEBUG
                       : level == 1 ? NX_LOG_INFO
                       : level == 2 ? NX_LOG_WARN
                                    : NX_LOG_ERROR;
    nx_log_write(l, "plugin", NULL, "%s: %s", h->st->name, msg ? msg : "");
}

static json_t *param(nexus_host_t *h, const char *key)
{
    return h->in_init && h->params && key ? json_object_get(h->params, key) : NULL;
}

static double api_param_f64(nexus_host_t *h, const char *key, double def)
{
    json_t *v = param(h, key);
    return v && json_is_number(v) ? json_number_value(v) : def;
}

static int api_param_str(nexus_host_t *h, const char *key, char *buf, size_t cap)
{
    json_t *v = param(h, key);
    if (cap)
        buf[0] = 0;
    if (!v || !json_is_string(v))
        return -1;
    if (cap)
        snprintf(buf, cap, "%s", json_string_value(v));
    return (int)json_string_length(v);
}

static int api_param_has(nexus_host_t *h, const char *key, const char *value)
{
    json_t *v = param(h, key);
    if (!v || !value)
        return 0;
    if (json_is_string(v))
        return strcmp(json_string_value(v), value) == 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) if (json_is_string(e) &&
                                    strcmp(json_string_value(e), value) == 0) return 1;
    return 0;
}

static int api_indicator(nexus_host_t *h, int kind, double p1, double p2, double p3)
{
    int nout = nx_ind_outputs(kind);
    if (!h->in_init || nout == 0 || h->n_req >= NX_MAX_REQ ||
        h->n_slots + (uint32_t)nout > NX_MAX_SLOTS)
        return NX_EINVAL;
    double p[3] = {p1, p2, p3};
    /* integer periods where the kind takes them; Bollinger's p2 is a real */
    int nint = kind == NEXUS_IND_OBV                               ? 0
               : kind == NEXUS_IND_MACD || kind == NEXUS_IND_STOCH ? 3
                                                                   : 1;
    for (int i = 0; i < nint; i++)
        if (!(p[i] >= 1 && p[i] <= NX_IND_MAX_PERIOD) || p[i] != floor(p[i]))
            return NX_EINVAL;
    if (kind == NEXUS_IND_BBANDS && !(p2 > 0 && p2 <= 10))
        return NX_EINVAL;
    if (kind != NEXUS_IND_BBANDS)
        for (int i = nint; i < 3; i++)
            p[i] = 0;
    else
        p[2] = 0;
    for (uint32_t i = 0; i < h->n_req; i++) /* same request twice: same slots */
        if (h->req[i].kind == kind && !memcmp(h->req[i].p, p, sizeof p))
            return (int)h->req[i].slot;
    nx_ind_req_t *r = &h->req[h->n_req++];
    r->kind = kind;
    memcpy(r->p, p, sizeof p);
    r->nout = (uint32_t)nout;
    r->slot = h->n_slots;
    h->n_slots += (uint32_t)nout;
    return (int)r->slot;
}

static int api_series_info(nexus_host_t *h, uint32_t i, nexus_series_info_t *out)
{
    nx_strategy_t *st = h->st;
    if (!out || i >= st->n_series || out->struct_size < sizeof *out)
        return NX_EINVAL;
    uint32_t sym = st->symbols[i / st->ntf];
    out->abi_version = NEXUS_PLUGIN_ABI_VERSION;
    out->symbol = sym;
    out->tf_s = st->tf_s[i % st->ntf];
    out->symbol_name = nx_symtab_get(st->cx->o.symtab, sym)->name;
    return 0;
}

const nexus_host_api_t nx_host_api = {
    NEXUS_PLUGIN_ABI_VERSION,
    sizeof(nexus_host_api_t),
    api_emit,
    api_log,
    api_param_f64,
    api_param_str,
    api_param_has,
    api_indicator,
    api_series_info,
};

/* ---- loading one version ------------------------------------------------------ */

void nx_pver_free(nx_pver_t *v)
{
    if (!v)
        return;
    if (v->desc && v->desc->fini && v->state)
        v->desc->fini(v->state);
    free(v->state);
    free(v->src);
    free(v->vals);
    if (v->params)
        json_decref(v->params);
    if (v->dl)
        dlclose(v->dl);
    free(v);
}

nx_pver_t *nx_pver_load(nx_strategy_t *st, char *err, size_t cap)
{
    struct nx_cortex *cx = st->cx;
    char *data = NULL;
    size_t len = 0;
    char why[300];
    nx_pver_t *v = NULL;
    int fd = -1;
    if (nx_file_read_all(st->path, &data, &len)) {
        nx_errorf(err, cap, NX_EIO, "%s: cannot read the plugin file: %s", st->path,
                  strerror(errno));
        return NULL;
    }
    if (!cx->o.allow_unsigned) {
        char sig_path[300], *sig = NULL;
        size_t sig_len = 0;
        snprintf(sig_path, sizeof sig_path, "%s.sig", st->path);
        if (nx_file_read_all(sig_path, &sig, &sig_len)) {
            nx_errorf(err, cap, NX_EPERM,
                      "%s: not signed (%s is missing); sign it with `nexus plugin sign`, or set "
                      "cortex.allow_unsigned for development",
                      st->path, sig_path);
            goto fail_data;
        }
        int rc = nx_sign_verify(data, len, sig, sig_len, cx->o.trusted_keys, cx->o.n_trusted, why,
                                sizeof why);
        free(sig);
        if (rc) {
            nx_errorf(err, cap, NX_EPERM, "%s: %s", st->path, why);
            goto fail_data;
        }
    } else {
        NX_LOGK(NX_LOG_WARN, "cortex", st->path,
                "loading %s without checking its signature: cortex.allow_unsigned is on "
                "(development only)",
                st->path);
    }

    v = calloc(1, sizeof *v);
    if (!v) {
        nx_errorf(err, cap, NX_ENOMEM, "%s: out of memory", st->path);
        goto fail_data;
    }
    v->st = st;
    v->generation = ++st->generation;
    char copy[320];
    snprintf(copy, sizeof copy, "%s/strategy%u.%u.so", cx->cache_dir, st->id, v->generation);
    fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
    size_t off = 0;
    while (fd >= 0 && off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    if (fd < 0 || off != len || close(fd)) {
        nx_errorf(err, cap, NX_EIO, "%s: cannot stage a private copy in %s", st->path,
                  cx->cache_dir);
        if (fd >= 0)
            unlink(copy);
        goto fail_v;
    }
    free(data);
    data = NULL;
    v->dl = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
    unlink(copy);
    if (!v->dl) {
        const char *de = dlerror();
        /* dlerror names the private copy; name the user's file instead */
        const char *colon = de ? strstr(de, ".so: ") : NULL;
        nx_errorf(err, cap, NX_EINVAL, "%s: not loadable: %s", st->path,
                  colon ? colon + 5
                  : de  ? de
                        : "dlopen failed");
        goto fail_v;
    }
    dlerror();
    nexus_plugin_entry_fn entry;
    *(void **)&entry = dlsym(v->dl, NEXUS_PLUGIN_ENTRY_NAME);
    if (!entry) {
        nx_errorf(err, cap, NX_EABI, "%s: no entry point: the plugin does not export %s()",
                  st->path, NEXUS_PLUGIN_ENTRY_NAME);
        goto fail_v;
    }
    const nexus_plugin_t *d = entry();
    if (!d) {
        nx_errorf(err, cap, NX_EABI, "%s: %s() returned no descriptor", st->path,
                  NEXUS_PLUGIN_ENTRY_NAME);
        goto fail_v;
    }
    if ((d->abi_version >> 16) != NEXUS_PLUGIN_ABI_MAJOR) {
        nx_errorf(err, cap, NX_EABI,
                  "%s: wrong ABI: built for plugin ABI %u.%u, this host speaks %u.x", st->path,
                  d->abi_version >> 16, d->abi_version & 0xffff, NEXUS_PLUGIN_ABI_MAJOR);
        goto fail_v;
    }
    if (d->struct_size < sizeof(nexus_plugin_t)) {
        nx_errorf(err, cap, NX_EABI, "%s: wrong ABI: descriptor is %u bytes, at least %zu expected",
                  st->path, d->struct_size, sizeof(nexus_plugin_t));
        goto fail_v;
    }
    const char *missing = !d->name || !d->name[0]           ? "name"
                          : !d->version                     ? "version"
                          : !d->state_size                  ? "state_size"
                          : !d->init                        ? "init"
                          : !d->on_candle                   ? "on_candle"
                          : (!d->snapshot) != (!d->restore) ? "snapshot/restore pair"
                                                            : NULL;
    if (missing) {
        nx_errorf(err, cap, NX_EABI, "%s: missing entry in the descriptor: %s", st->path, missing);
        goto fail_v;
    }
    if (st->plugin[0] && strcmp(st->plugin, d->name)) {
        nx_errorf(err, cap, NX_EINVAL, "%s: is plugin \"%s\", but this strategy runs \"%s\"",
                  st->path, d->name, st->plugin);
        goto fail_v;
    }
    v->desc = d;
    if (!st->ntf) { /* first load without configured timeframes: the plugin's own */
        int n =
            nx_timeframes_parse(d->timeframes ? d->timeframes : "15m", st->tf_s, NX_MAX_TIMEFRAMES);
        if (n <= 0) {
            nx_errorf(err, cap, NX_EINVAL, "%s: bad default timeframes \"%s\"", st->path,
                      d->timeframes);
            v->desc = NULL;
            goto fail_v;
        }
        st->ntf = (uint32_t)n;
        st->n_series = st->nsym * st->ntf;
    }
    json_error_t je;
    v->params = json_loads(st->params_json ? st->params_json : "{}", 0, &je);
    v->init.abi_version = NEXUS_PLUGIN_ABI_VERSION;
    v->init.struct_size = sizeof v->init;
    v->init.n_series = st->n_series;
    v->init.params_json = st->params_json ? st->params_json : "{}";
    v->init.api = &nx_host_api;
    v->init.host = v;
    v->in_init = 1;
    size_t ss = d->state_size(&v->init);
    if (ss == 0 || ss > MAX_STATE) {
        v->in_init = 0;
        nx_errorf(err, cap, NX_EINVAL, "%s: asks for %zu bytes of state (allowed 1..%u)", st->path,
                  ss, MAX_STATE);
        v->desc = NULL; /* init never ran: no fini */
        goto fail_v;
    }
    /* 64-byte aligned, zeroed */
    size_t rounded = (ss + 63) & ~(size_t)63;
    v->state = aligned_alloc(64, rounded);
    if (!v->state) {
        v->in_init = 0;
        v->desc = NULL;
        nx_errorf(err, cap, NX_ENOMEM, "%s: out of memory for %zu bytes of state", st->path, ss);
        goto fail_v;
    }
    memset(v->state, 0, rounded);
    v->state_size = ss;
    const char *ierr = NULL;
    int irc = d->init(v->state, &v->init, &ierr);
    v->in_init = 0;
    if (irc < 0) {
        nx_errorf(err, cap, NX_EINVAL, "%s: init failed: %s", st->path,
                  ierr ? ierr : "(no reason given)");
        v->desc = NULL; /* a failed init owns nothing to finalise */
        goto fail_v;
    }
    v->vals = calloc(v->n_slots ? v->n_slots : 1, sizeof *v->vals);
    if (!v->vals) {
        nx_errorf(err, cap, NX_ENOMEM, "%s: out of memory", st->path);
        goto fail_v;
    }
    if (!st->plugin[0])
        snprintf(st->plugin, sizeof st->plugin, "%s", d->name);
    return v;

fail_v:
    nx_pver_free(v);
fail_data:
    free(data);
    return NULL;
}

/* ---- start-up -------------------------------------------------------------------------- */

int nx_cortex_add_strategy(nx_cortex_t *cx, const nx_strategy_conf_t *sc, char *err, size_t cap)
{
    if (cx->started)
        return nx_errorf(err, cap, NX_ESTATE, "%s: strategies are added before the cortex starts",
                         sc->path ? sc->path : "?");
    if (!sc->path || !sc->path[0])
        return nx_errorf(err, cap, NX_EINVAL, "a strategy needs a plugin path");
    if (strlen(sc->path) >= sizeof(((nx_strategy_t *)0)->path))
        return nx_errorf(err, cap, NX_ETOOLONG, "%s: path too long", sc->path);
    if (cx->n_st >= NX_CORTEX_MAX_STRATEGIES)
        return nx_errorf(err, cap, NX_EFULL, "%s: more than %d strategies", sc->path,
                         NX_CORTEX_MAX_STRATEGIES);
    if (sc->name && nx_cortex_strategy_find(cx, sc->name) >= 0)
        return nx_errorf(err, cap, NX_EEXIST, "%s: a strategy named \"%s\" already runs", sc->path,
                         sc->name);
    nx_strategy_t *st = calloc(1, sizeof *st);
    if (!st)
        return nx_errorf(err, cap, NX_ENOMEM, "out of memory");
    pthread_mutex_init(&st->err_mu, NULL);
    st->cx = cx;
    st->id = (uint16_t)cx->n_st;
    snprintf(st->path, sizeof st->path, "%s", sc->path);
    const char *slash = strrchr(st->path, '/');
    snprintf(st->base, sizeof st->base, "%s", slash ? slash + 1 : st->path);
    if (slash)
        snprintf(st->dir, sizeof st->dir, "%.*s", (int)(slash - st->path), st->path);
    else
        snprintf(st->dir, sizeof st->dir, ".");
    if (!st->dir[0])
        snprintf(st->dir, sizeof st->dir, "/");
    st->params_json = strdup(sc->params_json ? sc->params_json : "{}");
    st->nsym = sc->nsym ? sc->nsym : cx->nsym;
    st->symbols = calloc(st->nsym, sizeof *st->symbols);
    int rc = NX_ENOMEM;
    if (!st->params_json || !st->symbols) {
        nx_errorf(err, cap, rc, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < st->nsym; i++) {
        st->symbols[i] = sc->nsym ? sc->symbols[i] : i;
        if (st->symbols[i] >= cx->nsym) {
            rc = nx_errorf(err, cap, NX_EINVAL, "%s: unknown symbol id %u", sc->path,
                           st->symbols[i]);
            goto fail;
        }
    }
    /* Timeframes: from the config, or (first load) the plugin's default. */
    if (sc->ntf) {
        for (uint32_t i = 0; i < sc->ntf && st->ntf < NX_MAX_TIMEFRAMES; i++)
            st->tf_s[st->ntf++] = sc->tf_s[i];
    }
    st->n_series = st->nsym * st->ntf;
    nx_pver_t *v = nx_pver_load(st, err, cap); /* sets the default timeframes if none */
    if (!v) {
        rc = NX_EINVAL;
        goto fail;
    }
    snprintf(st->name, sizeof st->name, "%s", sc->name && sc->name[0] ? sc->name : v->desc->name);
    if (nx_cortex_strategy_find(cx, st->name) >= 0) {
        rc = nx_errorf(err, cap, NX_EEXIST, "%s: a strategy named \"%s\" already runs", sc->path,
                       st->name);
        nx_pver_free(v);
        goto fail;
    }
    /* the cortex builds candles for every timeframe a strategy uses */
    for (uint32_t i = 0; i < st->ntf; i++) {
        uint32_t k = 0;
        while (k < cx->ntf && cx->tf_s[k] != st->tf_s[i])
            k++;
        if (k == cx->ntf) {
            if (cx->ntf >= NX_MAX_TIMEFRAMES) {
                rc = nx_errorf(err, cap, NX_EFULL, "%s: too many timeframes", sc->path);
                nx_pver_free(v);
                goto fail;
            }
            cx->tf_s[cx->ntf++] = st->tf_s[i];
        }
    }
    st->cur = v;
    nx_strategy_set_running(st, v);
    cx->st[cx->n_st++] = st;
    NX_INFO("cortex", "strategy %s: plugin %s %s from %s, %u series", st->name, v->desc->name,
            v->desc->version, st->path, st->n_series);
    return st->id;

fail:
    free(st->symbols);
    free(st->params_json);
    pthread_mutex_destroy(&st->err_mu);
    free(st);
    return rc;
}

int nx_cortex_reload(nx_cortex_t *cx, const char *name)
{
    int any = 0;
    for (uint32_t i = 0; i < cx->n_st; i++) {
        if (strcmp(name, "*") && strcmp(name, cx->st[i]->name))
            continue;
        atomic_store_explicit(&cx->st[i]->reload_req, 1, memory_order_release);
        any = 1;
    }
    if (!any)
        return NX_ENOENT;
    if (cx->ev_fd >= 0) {
        uint64_t one = 1;
        ssize_t w = write(cx->ev_fd, &one, sizeof one);
        (void)w;
    }
    return 0;
}

/* ---- the watcher thread ------------------------------------------------------------------------
 */

static void collect_retired(nx_strategy_t *st)
{
    /* A1: pairs with the engine's release store (R1) */
    nx_pver_t *old = atomic_exchange_explicit(&st->retired, NULL, memory_order_acquire);
    if (old)
        nx_pver_free(old);
}

static void *watch_main(void *arg)
{
    struct nx_cortex *cx = arg;
    int64_t debounce = (int64_t)(cx->o.watch_debounce_ms ? cx->o.watch_debounce_ms : 200) * 1000000;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    while (!atomic_load_explicit(&cx->stop, memory_order_acquire)) {
        struct pollfd p[2];
        int n = 0;
        p[n].fd = cx->ev_fd;
        p[n++].events = POLLIN;
        if (cx->ino_fd >= 0) {
            p[n].fd = cx->ino_fd;
            p[n++].events = POLLIN;
        }
        int timeout = 100;
        int64_t now = nx_mono_ns();
        for (uint32_t i = 0; i < cx->n_st; i++) {
            int64_t at = cx->st[i]->reload_at_ns;
            if (at) {
                int64_t ms = (at - now) / 1000000;
                if (ms < timeout)
                    timeout = ms < 1 ? 1 : (int)ms;
            }
        }
        poll(p, (nfds_t)n, timeout);
        now = nx_mono_ns();
        if (p[0].revents & POLLIN) {
            uint64_t x;
            ssize_t r = read(cx->ev_fd, &x, sizeof x);
            (void)r;
        }
        if (n > 1 && (p[1].revents & POLLIN)) {
            ssize_t len = read(cx->ino_fd, buf, sizeof buf);
            for (ssize_t off = 0; len > 0 && off < len;) {
                const struct inotify_event *ie = (const struct inotify_event *)(buf + off);
                off += (ssize_t)(sizeof *ie + ie->len);
                if (!ie->len)
                    continue;
                for (uint32_t i = 0; i < cx->n_st; i++) {
                    nx_strategy_t *st = cx->st[i];
                    size_t bl = strlen(st->base);
                    if (strncmp(ie->name, st->base, bl) == 0 &&
                        (ie->name[bl] == 0 || strcmp(ie->name + bl, ".sig") == 0))
                        st->reload_at_ns = now + debounce;
                }
            }
        }
        nx_route_watch(cx);
        for (uint32_t i = 0; i < cx->n_st; i++) {
            nx_strategy_t *st = cx->st[i];
            collect_retired(st);
            if (atomic_exchange_explicit(&st->reload_req, 0, memory_order_acq_rel))
                st->reload_at_ns = now;
            if (!st->reload_at_ns || now < st->reload_at_ns)
                continue;
            /* one version in flight at a time: wait until the engine took
             * (or refused) the previous one and we freed what it retired */
            if (atomic_load_explicit(&st->pending, memory_order_acquire) ||
                atomic_load_explicit(&st->retired, memory_order_acquire))
                continue;
            st->reload_at_ns = 0;
            char err[320];
            nx_pver_t *v = nx_pver_load(st, err, sizeof err);
            if (!v) {
                NX_ERROR("cortex", "strategy %s: reload refused, the running version stays: %s",
                         st->name, err);
                nx_strategy_set_error(st, err);
                atomic_fetch_add_explicit(&st->reload_failures, 1, memory_order_relaxed);
                atomic_fetch_add_explicit(&cx->reload_failures, 1, memory_order_relaxed);
                continue;
            }
            /* R0: publish the fully initialised version to the engine */
            atomic_store_explicit(&st->pending, v, memory_order_release);
        }
    }
    return NULL;
}

int nx_watch_start(struct nx_cortex *cx)
{
    cx->ev_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (cx->ev_fd < 0)
        return NX_ESYSTEM;
    if (cx->o.watch && cx->n_st) {
        cx->ino_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (cx->ino_fd < 0) {
            NX_WARN("cortex", "inotify unavailable (%s): plugins reload on command only",
                    strerror(errno));
        } else {
            for (uint32_t i = 0; i < cx->n_st; i++)
                if (inotify_add_watch(cx->ino_fd, cx->st[i]->dir,
                                      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0)
                    NX_WARN("cortex", "cannot watch %s: %s", cx->st[i]->dir, strerror(errno));
        }
    }
    if (pthread_create(&cx->th, NULL, watch_main, cx)) {
        close(cx->ev_fd);
        cx->ev_fd = -1;
        return NX_ESYSTEM;
    }
    cx->th_started = 1;
    return 0;
}

void nx_watch_stop(struct nx_cortex *cx)
{
    if (cx->th_started) {
        atomic_store_explicit(&cx->stop, 1, memory_order_release);
        uint64_t one = 1;
        ssize_t w = write(cx->ev_fd, &one, sizeof one);
        (void)w;
        pthread_join(cx->th, NULL);
        cx->th_started = 0;
    }
    if (cx->ino_fd >= 0)
        close(cx->ino_fd);
    if (cx->ev_fd >= 0)
        close(cx->ev_fd);
    cx->ino_fd = cx->ev_fd = -1;
}
