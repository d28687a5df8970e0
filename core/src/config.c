/*
 * config.c — load, validate and extract the configuration (see config.h).
 *
 * Two passes over the jansson DOM. validate() walks the schema and records
 * every structural problem (unknown key, wrong type, out of range, missing)
 * with its position; only if there is none does extract() copy values into
 * nx_config_t and run the cross-field checks (a tick size must be exact at
 * the symbol's price scale, a symbol may appear once). Both passes report
 * through add_error(), which finds the line and column in the raw text.
 */
#include "nx/config.h"
#include "nx/error.h"
#include "nx/fixed.h"

#include "config_paths.h"
#include "config_schema.h"
#include "json_locate.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_DEPTH 16

typedef struct vctx {
    const char *text;
    size_t len;
    nx_config_errors_t *errs;
    nx_jpath_comp_t path[MAX_DEPTH];
    int depth;
    const char *base; /* the config file's folder, for relative paths; NULL: as written */
} vctx_t;

static void path_str(const vctx_t *c, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = 0;
    for (int i = 0; i < c->depth && o < cap; i++) {
        int n;
        if (c->path[i].key)
            n = snprintf(out + o, cap - o, "%s%s", o ? "." : "", c->path[i].key);
        else
            n = snprintf(out + o, cap - o, "[%zu]", c->path[i].index);
        if (n < 0)
            break;
        o += (size_t)n;
    }
    if (o == 0)
        snprintf(out, cap, "(top level)");
}

/* Record an error at the current path; at_key: point at the key rather than
 * its value (unknown keys). */
NX_PRINTF(3, 4) static void add_error(vctx_t *c, int at_key, const char *fmt, ...)
{
    nx_config_errors_t *errs = c->errs;
    if (errs->count >= NX_CONFIG_MAX_ERRORS) {
        errs->truncated = 1;
        return;
    }
    nx_config_error_t *e = &errs->e[errs->count++];
    memset(e, 0, sizeof *e);
    path_str(c, e->path, sizeof e->path);
    long off = c->text ? nx_json_locate(c->text, c->len, c->path, c->depth, at_key) : -1;
    if (off >= 0)
        nx_json_linecol(c->text, c->len, off, &e->line, &e->column);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "something else";
}

static void show_value(const json_t *v, char *out, size_t cap)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s) {
        snprintf(out, cap, "(value)");
        return;
    }
    if (strlen(s) > 40)
        snprintf(out, cap, "%.37s...", s);
    else
        snprintf(out, cap, "%s", s);
    free(s);
}

static void choices_str(const char *const *ch, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = 0;
    for (int i = 0; ch[i] && o < cap; i++) {
        int n = snprintf(out + o, cap - o, "%s\"%s\"", i ? ", " : "", ch[i]);
        if (n < 0)
            break;
        o += (size_t)n;
    }
}

static void members_str(const nx_cnode_t *m, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = 0;
    for (int i = 0; m[i].key && o < cap; i++) {
        int n = snprintf(out + o, cap - o, "%s%s", i ? ", " : "", m[i].key);
        if (n < 0)
            break;
        o += (size_t)n;
    }
}

/* Keys that name secrets are refused outright: secrets come from the
 * environment only. */
static const char *secret_env_hint(const char *key)
{
    static const struct {
        const char *needle, *env;
    } hints[] = {
        {"token", "NEXUS_TELEGRAM_TOKEN"},
        {"secret", "NEXUS_MASTER_KEY or `nexus keys set`"},
        {"password", "DATABASE_URL"},
        {"api_key", "`nexus keys set USER VENUE`"},
        {"apikey", "`nexus keys set USER VENUE`"},
        {"master_key", "NEXUS_MASTER_KEY"},
    };
    for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++)
        if (strstr(key, hints[i].needle))
            return hints[i].env;
    return NULL;
}

static void validate(vctx_t *c, const nx_cnode_t *n, json_t *v);

static void validate_object(vctx_t *c, const nx_cnode_t *n, json_t *v)
{
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
    {
        const nx_cnode_t *child = NULL;
        for (const nx_cnode_t *m = n->children; m->key; m++) {
            if (strcmp(m->key, key) == 0) {
                child = m;
                break;
            }
        }
        if (c->depth >= MAX_DEPTH)
            return;
        c->path[c->depth].key = key;
        c->depth++;
        if (!child) {
            const char *hint = secret_env_hint(key);
            if (hint) {
                add_error(c, 1, "secrets are never read from the config file; use %s", hint);
            } else {
                char allowed[256];
                members_str(n->children, allowed, sizeof allowed);
                add_error(c, 1, "unknown key; allowed keys here: %s", allowed);
            }
        } else {
            validate(c, child, val);
        }
        c->depth--;
    }
    for (const nx_cnode_t *m = n->children; m->key; m++) {
        if ((m->flags & NX_CF_REQUIRED) && !json_object_get(v, m->key))
            add_error(c, 0, "missing required key \"%s\" (%s)", m->key, m->doc);
    }
}

static void validate(vctx_t *c, const nx_cnode_t *n, json_t *v)
{
    char shown[64], allowed[256];
    switch (n->type) {
    case NX_CT_OBJECT:
        if (!json_is_object(v)) {
            add_error(c, 0, "expected an object, got %s", json_type_name(v));
            return;
        }
        validate_object(c, n, v);
        return;
    case NX_CT_ARRAY:
        if (!json_is_array(v)) {
            add_error(c, 0, "expected an array, got %s", json_type_name(v));
            return;
        }
        if ((int64_t)json_array_size(v) < n->min || (int64_t)json_array_size(v) > n->max) {
            add_error(c, 0, "%zu entries; allowed %lld..%lld", json_array_size(v),
                      (long long)n->min, (long long)n->max);
            return;
        }
        for (size_t i = 0; i < json_array_size(v) && c->depth < MAX_DEPTH; i++) {
            c->path[c->depth].key = NULL;
            c->path[c->depth].index = i;
            c->depth++;
            validate(c, n->children, json_array_get(v, i));
            c->depth--;
        }
        return;
    case NX_CT_STRING:
        if (!json_is_string(v)) {
            add_error(c, 0, "expected a string, got %s", json_type_name(v));
            return;
        }
        if ((int64_t)json_string_length(v) < n->min || (int64_t)json_string_length(v) > n->max) {
            show_value(v, shown, sizeof shown);
            add_error(c, 0, "%s has %zu characters; allowed %lld..%lld", shown,
                      json_string_length(v), (long long)n->min, (long long)n->max);
        }
        return;
    case NX_CT_INT: {
        if (!json_is_integer(v)) {
            add_error(c, 0, "expected an integer, got %s", json_type_name(v));
            return;
        }
        json_int_t x = json_integer_value(v);
        int pow2_bad = (n->flags & NX_CF_POW2) && (x <= 0 || (x & (x - 1)));
        if (x < n->min || x > n->max || pow2_bad) {
            add_error(c, 0, "%lld is not allowed; expected %s%lld..%lld", (long long)x,
                      (n->flags & NX_CF_POW2) ? "a power of two in " : "an integer in ",
                      (long long)n->min, (long long)n->max);
        }
        return;
    }
    case NX_CT_BOOL:
        if (!json_is_boolean(v))
            add_error(c, 0, "expected true or false, got %s", json_type_name(v));
        return;
    case NX_CT_ENUM:
        choices_str(n->choices, allowed, sizeof allowed);
        if (!json_is_string(v)) {
            add_error(c, 0, "expected one of %s, got %s", allowed, json_type_name(v));
            return;
        }
        for (int i = 0; n->choices[i]; i++)
            if (strcmp(n->choices[i], json_string_value(v)) == 0)
                return;
        show_value(v, shown, sizeof shown);
        add_error(c, 0, "%s is not allowed; expected one of %s", shown, allowed);
        return;
    case NX_CT_JSON: {
        if (!json_is_object(v)) {
            add_error(c, 0, "expected an object, got %s", json_type_name(v));
            return;
        }
        char *text = json_dumps(v, JSON_COMPACT);
        size_t tl = text ? strlen(text) : 0;
        free(text);
        if ((int64_t)tl > n->max)
            add_error(c, 0, "%zu characters as compact JSON; allowed up to %lld", tl,
                      (long long)n->max);
        return;
    }
    case NX_CT_DECIMAL: {
        if (!json_is_string(v)) {
            add_error(c, 0, "expected a decimal number written as a string (\"0.001\"), got %s",
                      json_type_name(v));
            return;
        }
        int64_t x;
        int rc = nx_fixed_parse(json_string_value(v), json_string_length(v), 8, &x);
        show_value(v, shown, sizeof shown);
        if (rc) {
            add_error(c, 0, "%s is not a decimal with at most 8 fraction digits (%s)", shown,
                      nx_strerror(rc));
            return;
        }
        if ((n->flags & NX_CF_POSITIVE) ? x <= 0 : x < 0)
            add_error(c, 0, "%s is not allowed; expected a decimal %s 0", shown,
                      (n->flags & NX_CF_POSITIVE) ? ">" : ">=");
        return;
    }
    }
}

void nx_config_defaults(nx_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->engine.market_ring = 65536;
    cfg->engine.order_ring = 4096;
    cfg->engine.journal_ring = 65536;
    cfg->engine.wait = NX_WAIT_BLOCK;
    cfg->engine.clock = NX_CLOCK_LIVE;
    cfg->engine.stats_interval_s = 10;
    cfg->engine.heartbeat_ms = 1000;
    cfg->engine.engine_cpu = -1;
    cfg->engine.network_cpu = -1;
    cfg->log.level = NX_LOG_INFO;
    cfg->log.format = NX_LOG_TEXT;
    cfg->log.debounce_s = 10;
    snprintf(cfg->data_dir, sizeof cfg->data_dir, "./nexus-data");
    cfg->recorder.max_mb = 1024;
    cfg->recorder.files = 8;
    snprintf(cfg->web.host, sizeof cfg->web.host, "127.0.0.1");
    cfg->web.port = 8080;
    cfg->web.health_stale_s = 60;
    cfg->web.link_ttl_s = 600;
    cfg->web.session_ttl_s = 8 * 3600;
    cfg->storage.batch = 4096;
    snprintf(cfg->storage.owner_name, sizeof cfg->storage.owner_name, "owner");
    cfg->storage.catch_up_tasks = 1;
    cfg->storage.drain_s = 30;
    cfg->storage.retain_days = 30;
    snprintf(cfg->chat.api_url, sizeof cfg->chat.api_url, "https://api.telegram.org");
    cfg->chat.poll_timeout_s = 25;
    cfg->chat.webhook_port = 8443;
    cfg->chat.chat_per_s = 1;
    cfg->chat.global_per_s = 30;
    cfg->chat.confirm_s = 60;
    cfg->cortex.ntf = 3;
    cfg->cortex.tf_s[0] = 60;
    cfg->cortex.tf_s[1] = 900;
    cfg->cortex.tf_s[2] = 14400;
    cfg->cortex.watch = 1;
    cfg->cortex.regime.tf_s = 900;
    cfg->cortex.regime.threshold_pct = 70;
    static const char *const route[4] = {"trend", "scalping", "mean_reversion", "grid"};
    for (int k = 0; k < 4; k++) {
        cfg->cortex.regime.n_routes[k] = 1;
        snprintf(cfg->cortex.regime.routes[k][0], sizeof cfg->cortex.regime.routes[k][0], "%s",
                 route[k]);
    }
    cfg->cortex.regime.n_always = 1;
    snprintf(cfg->cortex.regime.always[0], sizeof cfg->cortex.regime.always[0], "sentinel");
    cfg->trading.slippage_bp = 2;
    cfg->trading.taker_fee_bp = 4;
    cfg->trading.maker_fee_bp = 2;
    cfg->trading.max_open_orders = 200;
    cfg->trading.sanity_bp = 2500;
    cfg->market.band_bp = 1500;
    cfg->market.band_window = 15;
    cfg->market.confirm = 1;
    cfg->market.backwards_ms = 1000;
}

static int enum_index(json_t *v, const char *const *choices)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], json_string_value(v)) == 0)
            return i;
    return -1;
}

static void get_u32(json_t *o, const char *k, uint32_t *dst)
{
    json_t *v = json_object_get(o, k);
    if (v)
        *dst = (uint32_t)json_integer_value(v);
}

static void get_i32(json_t *o, const char *k, int32_t *dst)
{
    json_t *v = json_object_get(o, k);
    if (v)
        *dst = (int32_t)json_integer_value(v);
}

static void get_str(json_t *o, const char *k, char *dst, size_t cap)
{
    json_t *v = json_object_get(o, k);
    if (v)
        snprintf(dst, cap, "%s", json_string_value(v));
}

/* A path key of the object at c's path: relative to the config file's
 * folder (config_paths.c). Too long once joined is reported at the key. */
static void get_path(vctx_t *c, json_t *o, const char *k, char *dst, size_t cap)
{
    json_t *v = json_object_get(o, k);
    if (!v || nx_config_path_join(c->base, json_string_value(v), dst, cap) == 0)
        return;
    c->path[c->depth].key = k;
    c->depth++;
    add_error(c, 0, "%zu characters once in the config's folder %s; at most %zu",
              strlen(c->base) + 1 + json_string_length(v), c->base, cap - 1);
    c->depth--;
}

/* Parse a validated decimal string at `scale`; report if inexact there. */
static int get_decimal(vctx_t *c, json_t *o, const char *k, unsigned scale, int64_t *dst)
{
    json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    c->path[c->depth].key = k;
    c->depth++;
    int rc = nx_fixed_parse(json_string_value(v), json_string_length(v), scale, dst);
    if (rc)
        add_error(c, 0, "\"%s\" cannot be held exactly at scale %u (%s)", json_string_value(v),
                  scale, nx_strerror(rc));
    c->depth--;
    return rc;
}

static uint32_t tf_seconds(const char *name)
{
    static const struct {
        const char *n;
        uint32_t s;
    } tf[] = {{"1m", 60},   {"3m", 180},  {"5m", 300},   {"15m", 900}, {"30m", 1800},
              {"1h", 3600}, {"2h", 7200}, {"4h", 14400}, {"1d", 86400}};
    for (size_t i = 0; i < sizeof tf / sizeof tf[0]; i++)
        if (!strcmp(tf[i].n, name))
            return tf[i].s;
    return 0;
}

static uint32_t get_timeframes(json_t *arr, uint32_t *out)
{
    uint32_t n = 0;
    for (size_t i = 0; i < json_array_size(arr) && n < 9; i++) {
        uint32_t x = tf_seconds(json_string_value(json_array_get(arr, i)));
        int dup = 0;
        for (uint32_t k = 0; k < n; k++)
            dup |= out[k] == x;
        if (x && !dup)
            out[n++] = x;
    }
    return n;
}

static int base64_key_ok(const char *k)
{
    /* 32 bytes in standard padded base64: 43 characters and one '=' */
    size_t n = strlen(k);
    if (n != 44 || k[43] != '=')
        return 0;
    for (size_t i = 0; i < 43; i++)
        if (!isalnum((unsigned char)k[i]) && k[i] != '+' && k[i] != '/')
            return 0;
    return 1;
}

/* Symbol names (on any venue) to ids; an unknown name is an error at
 * <path>.symbols[k] (the caller's path has depth 3). Returns 1 if any. */
static int symbol_ids(vctx_t *c, const nx_config_t *cfg, json_t *names, uint32_t ids[64],
                      uint32_t *n)
{
    int bad = 0;
    int depth = c->depth; /* the path of the object holding "symbols" */
    for (size_t k = 0; names && k < json_array_size(names); k++) {
        const char *name = json_string_value(json_array_get(names, k));
        int found = 0;
        for (uint32_t j = 0; j < cfg->n_symbols && *n < 64; j++) {
            if (!strcmp(cfg->symbols[j].symbol, name)) {
                ids[(*n)++] = j;
                found = 1;
            }
        }
        if (!found) {
            c->path[depth].key = "symbols";
            c->path[depth + 1].key = NULL;
            c->path[depth + 1].index = k;
            c->depth = depth + 2;
            add_error(c, 0, "\"%s\" is not a configured symbol; add it under \"symbols\"", name);
            c->depth = depth;
            bad = 1;
        }
    }
    return bad;
}

/* A list of strategy names in cortex.regime (c->path set up to the list,
 * depth d): each a configured strategy's name or plugin, or "sentinel". */
static uint32_t regime_names(vctx_t *c, int d, const nx_config_t *cfg, json_t *arr,
                             char out[][32])
{
    uint32_t n = 0;
    for (size_t k = 0; k < json_array_size(arr) && n < NX_CONFIG_MAX_STRATEGIES; k++) {
        const char *name = json_string_value(json_array_get(arr, k));
        int found = name && !strcmp(name, "sentinel");
        for (uint32_t j = 0; name && j < cfg->cortex.n_strategies && !found; j++)
            found = !strcmp(cfg->cortex.strategies[j].name, name) ||
                    !strcmp(cfg->cortex.strategies[j].plugin, name);
        if (!found) {
            c->path[d].key = NULL;
            c->path[d].index = k;
            c->depth = d + 1;
            add_error(c, 0, "\"%s\" is not a configured strategy (cortex.strategies[].name)",
                      name ? name : "");
            continue;
        }
        snprintf(out[n++], 32, "%s", name);
    }
    return n;
}

static void extract_regime(vctx_t *c, json_t *rg, nx_config_t *cfg)
{
    if (!rg)
        return;
    cfg->cortex.regime.on = 1;
    c->path[0].key = "cortex";
    c->path[1].key = "regime";
    c->depth = 2;
    get_path(c, rg, "model", cfg->cortex.regime.model, sizeof cfg->cortex.regime.model);
    json_t *v;
    if ((v = json_object_get(rg, "timeframe")))
        cfg->cortex.regime.tf_s = tf_seconds(json_string_value(v));
    get_u32(rg, "threshold_pct", &cfg->cortex.regime.threshold_pct);
    if ((v = json_object_get(rg, "on_error")))
        cfg->cortex.regime.rules_on_error = !strcmp(json_string_value(v), "rules");
    json_t *routes = json_object_get(rg, "routes");
    static const char *const cls[4] = {"trend", "scalping", "mean_reversion", "grid"};
    for (int k = 0; routes && k < 4; k++) {
        json_t *a = json_object_get(routes, cls[k]);
        if (!a)
            continue;
        c->path[2].key = "routes";
        c->path[3].key = cls[k];
        cfg->cortex.regime.n_routes[k] = regime_names(c, 4, cfg, a, cfg->cortex.regime.routes[k]);
    }
    if ((v = json_object_get(rg, "always"))) {
        c->path[2].key = "always";
        cfg->cortex.regime.n_always = regime_names(c, 3, cfg, v, cfg->cortex.regime.always);
    }
    c->depth = 0;
}

static void extract_cortex(vctx_t *c, json_t *root, nx_config_t *cfg)
{
    json_t *cx = json_object_get(root, "cortex");
    if (!cx)
        return;
    json_t *v;
    if ((v = json_object_get(cx, "timeframes")))
        cfg->cortex.ntf = get_timeframes(v, cfg->cortex.tf_s);
    if ((v = json_object_get(cx, "candles_from")))
        cfg->cortex.candles_from_trades = !strcmp(json_string_value(v), "trades");
    c->path[0].key = "cortex";
    c->depth = 1;
    get_path(c, cx, "plugin_dir", cfg->cortex.plugin_dir, sizeof cfg->cortex.plugin_dir);
    c->depth = 0;
    if ((v = json_object_get(cx, "allow_unsigned")))
        cfg->cortex.allow_unsigned = json_is_true(v);
    if ((v = json_object_get(cx, "watch")))
        cfg->cortex.watch = json_is_true(v);
    json_t *keys = json_object_get(cx, "trusted_keys");
    for (size_t i = 0; keys && i < json_array_size(keys); i++) {
        const char *k = json_string_value(json_array_get(keys, i));
        if (!base64_key_ok(k)) {
            c->path[0].key = "cortex";
            c->path[1].key = "trusted_keys";
            c->path[2].key = NULL;
            c->path[2].index = i;
            c->depth = 3;
            add_error(c, 0, "\"%s\" is not a base64 Ed25519 public key (44 characters)", k);
            continue;
        }
        snprintf(cfg->cortex.trusted_keys[cfg->cortex.n_keys++], sizeof cfg->cortex.trusted_keys[0],
                 "%s", k);
    }
    json_t *sts = json_object_get(cx, "strategies");
    for (size_t i = 0; sts && i < json_array_size(sts); i++) {
        json_t *sj = json_array_get(sts, i);
        nx_config_strategy_t *st = &cfg->cortex.strategies[cfg->cortex.n_strategies];
        memset(st, 0, sizeof *st);
        c->path[0].key = "cortex";
        c->path[1].key = "strategies";
        c->path[2].key = NULL;
        c->path[2].index = i;
        c->path[3].key = "plugin";
        c->depth = 4;
        get_str(sj, "plugin", st->plugin, sizeof st->plugin);
        int bad = 0;
        for (const char *p = st->plugin; *p; p++)
            if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_' &&
                *p != '-')
                bad = 1;
        if (bad) {
            add_error(c, 0, "\"%s\": plugin names use a-z, 0-9, _ and -", st->plugin);
            continue;
        }
        memcpy(st->name, st->plugin, sizeof st->name); /* same size, NUL-terminated */
        get_str(sj, "name", st->name, sizeof st->name);
        c->depth = 3;
        get_path(c, sj, "path", st->path, sizeof st->path);
        c->depth = 4;
        for (uint32_t k = 0; k < cfg->cortex.n_strategies; k++) {
            if (!strcmp(cfg->cortex.strategies[k].name, st->name)) {
                c->path[3].key = json_object_get(sj, "name") ? "name" : "plugin";
                add_error(c, 0,
                          "a strategy named \"%s\" is already listed at "
                          "cortex.strategies[%u]; give this one another \"name\"",
                          st->name, k);
                bad = 1;
            }
        }
        c->depth = 3;
        bad |= symbol_ids(c, cfg, json_object_get(sj, "symbols"), st->symbols, &st->n_symbols);
        if ((v = json_object_get(sj, "timeframes")))
            st->ntf = get_timeframes(v, st->tf_s);
        json_t *params = json_object_get(sj, "params");
        if (params) {
            char *text = json_dumps(params, JSON_COMPACT);
            snprintf(st->params, sizeof st->params, "%s", text ? text : "{}");
            free(text);
        } else {
            snprintf(st->params, sizeof st->params, "{}");
        }
        if (!bad)
            cfg->cortex.n_strategies++;
    }
    c->depth = 0;
    extract_regime(c, json_object_get(cx, "regime"), cfg);
}

static const char *const session_modes[] = {"watcher", "copilot", "pilot", NULL};
static const char *const executions[] = {"paper", "binance-usdm-testnet", "binance-usdm", NULL};

const char *nx_config_execution_name(uint32_t execution)
{
    return execution <= NX_EXEC_BINANCE ? executions[execution] : "?";
}

/* One session object's values (its structure validated already), with the
 * defaults of what it leaves out, and the checks across keys: its symbols
 * are configured and of its venue, its strategies configured. c->path holds
 * the object's own path (c->depth deep). Returns 1 if it is not usable. */
static int extract_session(vctx_t *c, const nx_config_t *cfg, json_t *sj, nx_config_session_t *x)
{
    memset(x, 0, sizeof *x);
    get_str(sj, "name", x->name, sizeof x->name);
    json_t *v = json_object_get(sj, "user");
    x->user = json_is_integer(v) ? json_integer_value(v) : 0;
    v = json_object_get(sj, "mode");
    x->mode = v ? (uint32_t)enum_index(v, session_modes) : 2;
    snprintf(x->equity, sizeof x->equity, "10000");
    get_str(sj, "equity", x->equity, sizeof x->equity);
    snprintf(x->daily_loss_stop, sizeof x->daily_loss_stop, "0");
    get_str(sj, "daily_loss_stop", x->daily_loss_stop, sizeof x->daily_loss_stop);
    x->leverage = 1;
    x->size_bp = 500;
    x->max_positions = 5;
    x->breaker_losses = 3;
    x->cooldown_s = 900;
    get_u32(sj, "leverage", &x->leverage);
    get_u32(sj, "size_bp", &x->size_bp);
    get_u32(sj, "risk_bp", &x->risk_bp);
    get_u32(sj, "max_positions", &x->max_positions);
    get_u32(sj, "max_trades_day", &x->max_trades_day);
    get_u32(sj, "weekly_loss_bp", &x->weekly_loss_bp);
    get_u32(sj, "max_drawdown_bp", &x->max_drawdown_bp);
    get_u32(sj, "breaker_losses", &x->breaker_losses);
    get_u32(sj, "breaker_halt_s", &x->breaker_halt_s);
    get_u32(sj, "cooldown_s", &x->cooldown_s);
    get_u32(sj, "trail_bp", &x->trail_bp);
    get_u32(sj, "time_limit_s", &x->time_limit_s);
    x->drawdown_lock_s = 86400;
    x->stale_s = 60;
    x->sl_guard_window_s = 86400;
    x->approval_ttl_s = 300;
    x->approval_drift_bp = 50;
    x->stop_bp = 1000;
    get_u32(sj, "stop_bp", &x->stop_bp);
    get_u32(sj, "breaker_max_halts", &x->breaker_max_halts);
    get_u32(sj, "drawdown_lock_s", &x->drawdown_lock_s);
    get_u32(sj, "stale_s", &x->stale_s);
    get_u32(sj, "sl_guard_stops", &x->sl_guard_stops);
    get_u32(sj, "sl_guard_window_s", &x->sl_guard_window_s);
    get_u32(sj, "sl_guard_lock_s", &x->sl_guard_lock_s);
    get_u32(sj, "low_profit_trades", &x->low_profit_trades);
    get_u32(sj, "low_profit_lock_s", &x->low_profit_lock_s);
    get_u32(sj, "approval_ttl_s", &x->approval_ttl_s);
    get_u32(sj, "approval_drift_bp", &x->approval_drift_bp);
    snprintf(x->max_symbol_exposure, sizeof x->max_symbol_exposure, "0");
    snprintf(x->max_total_exposure, sizeof x->max_total_exposure, "0");
    snprintf(x->low_profit_min, sizeof x->low_profit_min, "0");
    get_str(sj, "max_symbol_exposure", x->max_symbol_exposure, sizeof x->max_symbol_exposure);
    get_str(sj, "max_total_exposure", x->max_total_exposure, sizeof x->max_total_exposure);
    get_str(sj, "low_profit_min", x->low_profit_min, sizeof x->low_profit_min);
    v = json_object_get(sj, "execution");
    x->execution = v ? (uint32_t)enum_index(v, executions) : NX_EXEC_PAPER;
    v = json_object_get(sj, "live_confirmed");
    x->live_confirmed = v && json_is_true(v);
    x->close_buffer_s = 300;
    get_u32(sj, "close_buffer_s", &x->close_buffer_s);
    int depth = c->depth, bad = 0;
    /* the venue first: a symbol's name may be listed on several venues,
     * and the session's are its venue's */
    json_t *names = json_object_get(sj, "symbols");
    v = json_object_get(sj, "venue");
    if (v) {
        const char *vn = json_string_value(v);
        x->venue = nx_venue_parse(vn, strlen(vn));
    } else {
        x->venue = cfg->n_symbols ? cfg->symbols[0].venue : NX_VENUE_PAPER;
        const char *first = json_string_value(json_array_get(names, 0));
        for (uint32_t j = 0; first && j < cfg->n_symbols; j++)
            if (!strcmp(cfg->symbols[j].symbol, first)) {
                x->venue = cfg->symbols[j].venue;
                break;
            }
    }
    /* US stocks keep market hours and the day-trade rule unless told otherwise */
    v = json_object_get(sj, "market_hours");
    x->market_hours = v ? json_is_true(v) : x->venue == NX_VENUE_ALPACA;
    v = json_object_get(sj, "pdt");
    x->pdt = v ? json_is_true(v) : x->venue == NX_VENUE_ALPACA;
    for (size_t k = 0; names && k < json_array_size(names); k++) {
        const char *name = json_string_value(json_array_get(names, k));
        int found = 0, elsewhere = -1;
        for (uint32_t j = 0; j < cfg->n_symbols && x->n_symbols < 64; j++) {
            if (strcmp(cfg->symbols[j].symbol, name))
                continue;
            if (cfg->symbols[j].venue == x->venue) {
                x->symbols[x->n_symbols++] = j;
                found = 1;
            } else {
                elsewhere = (int)j;
            }
        }
        if (found)
            continue;
        c->path[depth].key = "symbols";
        c->path[depth + 1].key = NULL;
        c->path[depth + 1].index = k;
        c->depth = depth + 2;
        if (elsewhere >= 0)
            add_error(c, 0, "%s is on %s; this session trades on %s", name,
                      nx_venue_name(cfg->symbols[elsewhere].venue), nx_venue_name(x->venue));
        else
            add_error(c, 0, "\"%s\" is not a configured symbol; add it under \"symbols\"", name);
        c->depth = depth;
        bad = 1;
    }
    if (x->execution != NX_EXEC_PAPER && x->venue != NX_VENUE_BINANCE_USDM) {
        c->path[depth].key = "execution";
        c->depth = depth + 1;
        add_error(c, 0, "%s trades Binance USD-M symbols; this session's are on %s",
                  executions[x->execution], nx_venue_name(x->venue));
        c->depth = depth;
        bad = 1;
    }
    if (x->execution == NX_EXEC_BINANCE && !x->live_confirmed) {
        c->path[depth].key = "execution";
        c->depth = depth + 1;
        add_error(c, 0,
                  "binance-usdm trades real money: set \"live_confirmed\": true in this session "
                  "to confirm it (or use binance-usdm-testnet)");
        c->depth = depth;
        bad = 1;
    }
    json_t *sts = json_object_get(sj, "strategies");
    for (size_t k = 0; sts && k < json_array_size(sts); k++) {
        const char *name = json_string_value(json_array_get(sts, k));
        int found = !strcmp(name, "sentinel");
        for (uint32_t j = 0; j < cfg->cortex.n_strategies && !found; j++)
            found = !strcmp(cfg->cortex.strategies[j].name, name);
        if (!found) {
            c->path[depth].key = "strategies";
            c->path[depth + 1].key = NULL;
            c->path[depth + 1].index = k;
            c->depth = depth + 2;
            add_error(c, 0, "\"%s\" is not a configured strategy (cortex.strategies[].name)", name);
            c->depth = depth;
            bad = 1;
            continue;
        }
        snprintf(x->strategies[x->n_strategies++], sizeof x->strategies[0], "%s", name);
    }
    return bad;
}

static void endpoints(json_t *o, nx_config_endpoints_t *e, const char *rest, const char *api,
                      const char *stream)
{
    snprintf(e->rest_url, sizeof e->rest_url, "%s", rest);
    snprintf(e->ws_api_url, sizeof e->ws_api_url, "%s", api);
    snprintf(e->stream_url, sizeof e->stream_url, "%s", stream);
    if (!o)
        return;
    get_str(o, "rest_url", e->rest_url, sizeof e->rest_url);
    get_str(o, "ws_api_url", e->ws_api_url, sizeof e->ws_api_url);
    get_str(o, "stream_url", e->stream_url, sizeof e->stream_url);
}

/* live: the venues' endpoints (spec/exchanges.md §1.1) and the adapter's limits */
static void extract_live(json_t *root, nx_config_t *cfg)
{
    json_t *lv = json_object_get(root, "live");
    endpoints(json_object_get(lv, "binance_usdm"), &cfg->live.binance_usdm,
              "https://fapi.binance.com", "wss://ws-fapi.binance.com/ws-fapi/v1",
              "wss://fstream.binance.com");
    endpoints(json_object_get(lv, "binance_usdm_testnet"), &cfg->live.binance_usdm_testnet,
              "https://testnet.binancefuture.com", "wss://testnet.binancefuture.com/ws-fapi/v1",
              "wss://fstream.binancefuture.com");
    cfg->live.recv_window_ms = 5000;
    cfg->live.answer_timeout_ms = 5000;
    cfg->live.quota_pct = 80;
    get_u32(lv, "recv_window_ms", &cfg->live.recv_window_ms);
    get_u32(lv, "answer_timeout_ms", &cfg->live.answer_timeout_ms);
    get_u32(lv, "quota_pct", &cfg->live.quota_pct);
    static const char *const margin_types[] = {"keep", "isolated", "cross", NULL};
    json_t *mt = json_object_get(lv, "margin_type");
    int k = mt ? enum_index(mt, margin_types) : 0;
    cfg->live.margin_type = k > 0 ? (uint32_t)k : NX_MARGIN_KEEP;
    static const char *const foreign[] = {"hold", "adopt", NULL};
    json_t *fo = json_object_get(lv, "foreign");
    cfg->live.foreign_adopt = fo && enum_index(fo, foreign) == 1;
}

static void extract_trading(vctx_t *c, json_t *root, nx_config_t *cfg)
{
    extract_live(root, cfg);
    json_t *tr = json_object_get(root, "trading");
    if (!tr)
        return;
    get_u32(tr, "slippage_bp", &cfg->trading.slippage_bp);
    get_u32(tr, "taker_fee_bp", &cfg->trading.taker_fee_bp);
    get_u32(tr, "maker_fee_bp", &cfg->trading.maker_fee_bp);
    get_u32(tr, "max_open_orders", &cfg->trading.max_open_orders);
    get_u32(tr, "latency_ms", &cfg->trading.latency_ms);
    json_t *sp = json_object_get(tr, "sanity_pct");
    if (sp)
        cfg->trading.sanity_bp = (uint32_t)json_integer_value(sp) * 100;
    json_t *ss = json_object_get(tr, "sessions");
    for (size_t i = 0; ss && i < json_array_size(ss); i++) {
        json_t *sj = json_array_get(ss, i);
        nx_config_session_t *x = &cfg->trading.sessions[cfg->trading.n_sessions];
        c->path[0].key = "trading";
        c->path[1].key = "sessions";
        c->path[2].key = NULL;
        c->path[2].index = i;
        c->depth = 3;
        int bad = extract_session(c, cfg, sj, x);
        for (uint32_t k = 0; k < cfg->trading.n_sessions; k++) {
            const nx_config_session_t *o = &cfg->trading.sessions[k];
            if (o->user == x->user && o->venue == x->venue) {
                c->path[3].key = "user";
                c->depth = 4;
                add_error(c, 0,
                          "user %lld already has a session on %s at trading.sessions[%u] (one "
                          "per user and venue)",
                          (long long)x->user, nx_venue_name(x->venue), k);
                c->depth = 3;
                bad = 1;
            }
        }
        if (!bad)
            cfg->trading.n_sessions++;
    }
    c->depth = 0;
}

static void extract_users(vctx_t *c, json_t *root, nx_config_t *cfg)
{
    json_t *us = json_object_get(root, "users");
    for (size_t i = 0; us && i < json_array_size(us); i++) {
        json_t *uj = json_array_get(us, i);
        nx_config_user_t *u = &cfg->users[cfg->n_users];
        memset(u, 0, sizeof *u);
        u->id = json_integer_value(json_object_get(uj, "id"));
        u->chat_id = json_integer_value(json_object_get(uj, "chat_id"));
        snprintf(u->name, sizeof u->name, "user");
        get_str(uj, "name", u->name, sizeof u->name);
        static const char *const roles[] = {"pending", "subscriber", "admin", "owner", NULL};
        json_t *r = json_object_get(uj, "role");
        u->role = r ? (uint32_t)enum_index(r, roles) : 1;
        c->path[0].key = "users";
        c->path[1].key = NULL;
        c->path[1].index = i;
        int bad = 0;
        for (uint32_t k = 0; k < cfg->n_users; k++) {
            const nx_config_user_t *o = &cfg->users[k];
            if (o->id == u->id || o->chat_id == u->chat_id) {
                c->path[2].key = o->id == u->id ? "id" : "chat_id";
                c->depth = 3;
                add_error(c, 0, "users[%u] has the same %s", k, o->id == u->id ? "id" : "chat_id");
                bad = 1;
            }
        }
        if (!bad)
            cfg->n_users++;
    }
    c->depth = 0;
}

/* The regime's candles are built from the feeds' closed klines (unless
 * candles come from trades): coarser klines cannot build them, and the
 * regime would never be read. */
static void check_regime_candles(vctx_t *c, const nx_config_t *cfg)
{
    if (!cfg->cortex.regime.on || cfg->cortex.candles_from_trades)
        return;
    for (uint32_t i = 0; i < cfg->n_feeds; i++) {
        const nx_config_feed_t *f = &cfg->feeds[i];
        uint32_t iv = tf_seconds(f->kline_interval);
        if (!(f->streams & (1u << 2)) || !iv || cfg->cortex.regime.tf_s % iv == 0)
            continue;
        c->path[0].key = "cortex";
        c->path[1].key = "regime";
        c->path[2].key = "timeframe";
        c->depth = 3;
        add_error(c, 0,
                  "%us candles cannot be built from feeds[%u]'s %s klines: use a multiple of "
                  "%s, or candles_from \"trades\"",
                  cfg->cortex.regime.tf_s, i, f->kline_interval, f->kline_interval);
        c->depth = 0;
    }
}

static void extract(vctx_t *c, json_t *root, nx_config_t *cfg)
{
    static const char *const wait_ch[] = {"spin", "spin_yield", "block", NULL};
    static const char *const clock_ch[] = {"live", "sim", NULL};
    static const char *const level_ch[] = {"debug", "info", "warn", "error", NULL};
    static const char *const fmt_ch[] = {"text", "json", NULL};
    json_t *e = json_object_get(root, "engine");
    if (e) {
        get_u32(e, "market_ring", &cfg->engine.market_ring);
        get_u32(e, "order_ring", &cfg->engine.order_ring);
        get_u32(e, "journal_ring", &cfg->engine.journal_ring);
        get_u32(e, "stats_interval_s", &cfg->engine.stats_interval_s);
        get_u32(e, "heartbeat_ms", &cfg->engine.heartbeat_ms);
        get_i32(e, "engine_cpu", &cfg->engine.engine_cpu);
        get_i32(e, "network_cpu", &cfg->engine.network_cpu);
        json_t *v;
        if ((v = json_object_get(e, "wait")))
            cfg->engine.wait = (nx_wait_t)enum_index(v, wait_ch);
        if ((v = json_object_get(e, "clock")))
            cfg->engine.clock = (nx_clock_kind_t)enum_index(v, clock_ch);
    }
    json_t *l = json_object_get(root, "log");
    if (l) {
        json_t *v;
        if ((v = json_object_get(l, "level")))
            cfg->log.level = (nx_log_level_t)enum_index(v, level_ch);
        if ((v = json_object_get(l, "format")))
            cfg->log.format = (nx_log_format_t)enum_index(v, fmt_ch);
        get_u32(l, "debounce_s", &cfg->log.debounce_s);
        c->path[0].key = "log";
        c->depth = 1;
        get_path(c, l, "file", cfg->log.file, sizeof cfg->log.file);
        c->depth = 0;
    }
    get_path(c, root, "data_dir", cfg->data_dir, sizeof cfg->data_dir);
    json_t *rec = json_object_get(root, "recorder");
    if (rec) {
        c->path[0].key = "recorder";
        c->depth = 1;
        json_t *d = json_object_get(rec, "dir");
        if (d && json_string_length(d))
            get_path(c, rec, "dir", cfg->recorder.dir, sizeof cfg->recorder.dir);
        c->depth = 0;
        get_u32(rec, "max_mb", &cfg->recorder.max_mb);
        get_u32(rec, "files", &cfg->recorder.files);
    }
    json_t *web = json_object_get(root, "web");
    if (web) {
        const char *ls = json_string_value(json_object_get(web, "listen"));
        if (ls && !*ls) {
            cfg->web.host[0] = 0; /* off */
        } else if (ls) {
            const char *colon = strrchr(ls, ':');
            char *end = NULL;
            long port = colon ? strtol(colon + 1, &end, 10) : -1;
            if (!colon || colon == ls || (size_t)(colon - ls) >= sizeof cfg->web.host ||
                !end || *end || colon[1] == 0 || port < 0 || port > 65535) {
                c->path[0].key = "web";
                c->path[1].key = "listen";
                c->depth = 2;
                add_error(c, 0, "\"%s\" is not HOST:PORT (\"127.0.0.1:8080\"; port 0: any free "
                          "port; \"\": no server)", ls);
                c->depth = 0;
            } else {
                snprintf(cfg->web.host, sizeof cfg->web.host, "%.*s", (int)(colon - ls), ls);
                cfg->web.port = (uint32_t)port;
            }
        }
        get_u32(web, "health_stale_s", &cfg->web.health_stale_s);
        get_str(web, "public_url", cfg->web.public_url, sizeof cfg->web.public_url);
        get_u32(web, "link_ttl_s", &cfg->web.link_ttl_s);
        get_u32(web, "session_ttl_s", &cfg->web.session_ttl_s);
        /* paths: a relative one is in the config's folder */
        static const char *const paths[] = {"files", "reports", "tls_cert", "tls_key"};
        char *dst[] = {cfg->web.files, cfg->web.reports, cfg->web.tls_cert, cfg->web.tls_key};
        c->path[0].key = "web";
        c->depth = 1;
        for (int i = 0; i < 4; i++) {
            json_t *v = json_object_get(web, paths[i]);
            if (v && json_string_length(v))
                get_path(c, web, paths[i], dst[i], sizeof cfg->web.files);
        }
        if (!cfg->web.tls_cert[0] != !cfg->web.tls_key[0])
            add_error(c, 0, "tls_cert and tls_key go together: both (HTTPS) or neither");
        c->depth = 0;
    }
    json_t *mk = json_object_get(root, "market");
    if (mk) {
        json_t *bp = json_object_get(mk, "band_pct");
        if (bp)
            cfg->market.band_bp = (uint32_t)json_integer_value(bp) * 100;
        get_u32(mk, "band_window", &cfg->market.band_window);
        get_u32(mk, "confirm_prints", &cfg->market.confirm);
        get_u32(mk, "backwards_ms", &cfg->market.backwards_ms);
    }
    json_t *sto = json_object_get(root, "storage");
    if (sto) {
        c->path[0].key = "storage";
        c->depth = 1;
        get_path(c, sto, "key_file", cfg->storage.key_file, sizeof cfg->storage.key_file);
        c->depth = 0;
        get_u32(sto, "batch", &cfg->storage.batch);
        get_u32(sto, "drain_s", &cfg->storage.drain_s);
        get_u32(sto, "retain_days", &cfg->storage.retain_days);
        json_t *oc = json_object_get(sto, "owner_chat_id");
        if (json_is_integer(oc))
            cfg->storage.owner_chat_id = json_integer_value(oc);
        get_str(sto, "owner_name", cfg->storage.owner_name, sizeof cfg->storage.owner_name);
        json_t *cu = json_object_get(sto, "catch_up_tasks");
        if (cu)
            cfg->storage.catch_up_tasks = json_is_true(cu);
    }
    json_t *chat = json_object_get(root, "chat");
    if (chat) {
        static const char *const chat_ch[] = {"poll", "webhook", NULL};
        json_t *v = json_object_get(chat, "mode");
        if (v)
            cfg->chat.webhook = enum_index(v, chat_ch) == 1;
        get_str(chat, "api_url", cfg->chat.api_url, sizeof cfg->chat.api_url);
        get_u32(chat, "poll_timeout_s", &cfg->chat.poll_timeout_s);
        get_str(chat, "webhook_url", cfg->chat.webhook_url, sizeof cfg->chat.webhook_url);
        get_u32(chat, "webhook_port", &cfg->chat.webhook_port);
        get_u32(chat, "chat_per_s", &cfg->chat.chat_per_s);
        get_u32(chat, "global_per_s", &cfg->chat.global_per_s);
        get_u32(chat, "confirm_s", &cfg->chat.confirm_s);
    }

    json_t *syms = json_object_get(root, "symbols");
    for (size_t i = 0; syms && i < json_array_size(syms); i++) {
        json_t *s = json_array_get(syms, i);
        nx_config_symbol_t *cs = &cfg->symbols[cfg->n_symbols];
        memset(cs, 0, sizeof *cs);
        c->path[0].key = "symbols";
        c->path[1].key = NULL;
        c->path[1].index = i;
        c->depth = 2;
        const char *vn = json_string_value(json_object_get(s, "venue"));
        cs->venue = nx_venue_parse(vn, strlen(vn));
        get_str(s, "symbol", cs->symbol, sizeof cs->symbol);
        uint32_t ps = 8, qs = 8;
        get_u32(s, "price_scale", &ps);
        get_u32(s, "qty_scale", &qs);
        cs->price_scale = (uint8_t)ps;
        cs->qty_scale = (uint8_t)qs;
        int bad = 0;
        bad |= get_decimal(c, s, "tick_size", ps, &cs->tick_size);
        bad |= get_decimal(c, s, "lot_size", qs, &cs->lot_size);
        bad |= get_decimal(c, s, "min_notional", ps, &cs->min_notional);
        /* account money (balances, P&L, fees) is kept at one price scale:
         * a symbol at another would mix units silently */
        if (cfg->n_symbols && ps != cfg->symbols[0].price_scale) {
            c->path[2].key = "price_scale";
            c->depth = json_object_get(s, "price_scale") ? 3 : 2;
            add_error(c, 0,
                      "price_scale %u differs from symbols[0] (%s, price_scale %u): account money "
                      "is kept at one price scale, so every symbol needs the same price_scale",
                      ps, cfg->symbols[0].symbol, cfg->symbols[0].price_scale);
            bad = 1;
            c->depth = 2;
        }
        for (uint32_t j = 0; j < cfg->n_symbols; j++) {
            if (cfg->symbols[j].venue == cs->venue &&
                strcmp(cfg->symbols[j].symbol, cs->symbol) == 0) {
                c->path[2].key = "symbol";
                c->depth = 3;
                add_error(c, 0, "%s on %s is already listed at symbols[%u]", cs->symbol, vn, j);
                bad = 1;
            }
        }
        if (!bad)
            cfg->n_symbols++;
    }
    c->depth = 0;

    static const char *const stream_ch[] = {"trades", "bbo", "klines", "book", "mark", NULL};
    json_t *feeds = json_object_get(root, "feeds");
    for (size_t i = 0; feeds && i < json_array_size(feeds); i++) {
        json_t *fj = json_array_get(feeds, i);
        nx_config_feed_t *fd = &cfg->feeds[cfg->n_feeds++];
        memset(fd, 0, sizeof *fd);
        const char *vn = json_string_value(json_object_get(fj, "venue"));
        fd->venue = nx_venue_parse(vn, strlen(vn));
        get_str(fj, "ws_url", fd->ws_url, sizeof fd->ws_url);
        get_str(fj, "rest_url", fd->rest_url, sizeof fd->rest_url);
        snprintf(fd->kline_interval, sizeof fd->kline_interval, "1m");
        get_str(fj, "kline_interval", fd->kline_interval, sizeof fd->kline_interval);
        fd->watchdog_ms = 10000;
        fd->stale_s = 60;
        fd->book_depth = 1000;
        get_u32(fj, "watchdog_ms", &fd->watchdog_ms);
        get_u32(fj, "stale_s", &fd->stale_s);
        get_u32(fj, "book_depth", &fd->book_depth);
        c->path[0].key = "feeds";
        c->path[1].key = NULL;
        c->path[1].index = i;
        c->depth = 2;
        get_path(c, fj, "replay", fd->replay, sizeof fd->replay);
        c->depth = 0;
        get_u32(fj, "replay_speed", &fd->replay_speed);
        snprintf(fd->replay_symbol, sizeof fd->replay_symbol, "BTCUSDT");
        get_str(fj, "replay_symbol", fd->replay_symbol, sizeof fd->replay_symbol);
        json_t *st = json_object_get(fj, "streams");
        if (!st) {
            fd->streams = 1u | 4u; /* trades, klines */
        } else {
            for (size_t k = 0; k < json_array_size(st); k++)
                fd->streams |= 1u << enum_index(json_array_get(st, k), stream_ch);
        }
        c->path[0].key = "feeds";
        c->path[1].key = NULL;
        c->path[1].index = i;
        c->depth = 2;
        int has_symbol = 0;
        for (uint32_t k = 0; k < cfg->n_symbols; k++)
            has_symbol |= cfg->symbols[k].venue == fd->venue;
        if (!has_symbol)
            add_error(c, 0, "no symbol of venue %s is configured; add one under \"symbols\"", vn);
        if (strncmp(fd->ws_url, "ws://", 5) && strncmp(fd->ws_url, "wss://", 6)) {
            c->path[2].key = "ws_url";
            c->depth = 3;
            add_error(c, 0, "\"%s\" is not a ws:// or wss:// URL", fd->ws_url);
        }
        if (strncmp(fd->rest_url, "http://", 7) && strncmp(fd->rest_url, "https://", 8)) {
            c->path[2].key = "rest_url";
            c->depth = 3;
            add_error(c, 0, "\"%s\" is not an http:// or https:// URL", fd->rest_url);
        }
        c->depth = 0;
    }
    extract_cortex(c, root, cfg);
    check_regime_candles(c, cfg);
    extract_users(c, root, cfg);
    extract_trading(c, root, cfg);
}

/* Both loads: base is the file's folder (NULL: paths as written). */
static int load_text(const char *text, size_t len, const char *name, const char *base,
                     nx_config_t *cfg, nx_config_errors_t *errs)
{
    memset(errs, 0, sizeof *errs);
    snprintf(errs->file, sizeof errs->file, "%s", name ? name : "(config)");
    nx_config_defaults(cfg);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        nx_config_error_t *e = &errs->e[errs->count++];
        e->line = jerr.line > 0 ? jerr.line : 0;
        e->column = jerr.column > 0 ? jerr.column : 0;
        if (strstr(jerr.text, "duplicate object key") && jerr.position > 0 &&
            (size_t)jerr.position <= len) {
            /* jansson points past the key; point at its opening quote. */
            long p = (long)jerr.position - 1;
            while (p > 0 && text[p] != '"')
                p--;
            p--;
            while (p > 0 && !(text[p] == '"' && text[p - 1] != '\\'))
                p--;
            nx_json_linecol(text, len, p, &e->line, &e->column);
        }
        snprintf(e->path, sizeof e->path, "(syntax)");
        snprintf(e->message, sizeof e->message, "invalid JSON: %s", jerr.text);
        return NX_ECONFIG;
    }
    vctx_t c = {.text = text, .len = len, .errs = errs, .base = base};
    validate(&c, &nx_config_root, root);
    if (errs->count == 0) {
        nx_config_t tmp;
        nx_config_defaults(&tmp);
        extract(&c, root, &tmp);
        if (errs->count == 0) {
            snprintf(tmp.path, sizeof tmp.path, "%s", errs->file);
            *cfg = tmp;
        }
    }
    json_decref(root);
    return errs->count ? NX_ECONFIG : 0;
}

int nx_config_load_string(const char *text, size_t len, const char *name, nx_config_t *cfg,
                          nx_config_errors_t *errs)
{
    return load_text(text, len, name, NULL, cfg, errs);
}

int nx_config_load(const char *path, nx_config_t *cfg, nx_config_errors_t *errs)
{
    memset(errs, 0, sizeof *errs);
    snprintf(errs->file, sizeof errs->file, "%s", path);
    /* a folder opens for reading and reads as nothing: say what it is */
    struct stat sb;
    int folder = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
    FILE *f = folder ? NULL : fopen(path, "rb");
    if (!f) {
        int err = errno;
        nx_config_defaults(cfg);
        errs->count = 1;
        snprintf(errs->e[0].path, sizeof errs->e[0].path, "(file)");
        if (folder)
            snprintf(errs->e[0].message, sizeof errs->e[0].message,
                     "is a folder, not a config file");
        else
            snprintf(errs->e[0].message, sizeof errs->e[0].message, "cannot open: %s",
                     strerror(err));
        return NX_EIO;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (64u << 20)) {
                free(buf);
                fclose(f);
                errs->count = 1;
                snprintf(errs->e[0].path, sizeof errs->e[0].path, "(file)");
                snprintf(errs->e[0].message, sizeof errs->e[0].message, "file larger than 64 MiB");
                return NX_EIO;
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NX_ENOMEM;
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    fclose(f);
    /* the folder relative paths in the file are relative to: none when the
     * file is in the working directory ("nexus.json"), which is the same */
    char base[4096];
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(base, sizeof base, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    int rc = load_text(buf, len, path, slash ? base : NULL, cfg, errs);
    free(buf);
    return rc;
}

void nx_config_errors_print(const nx_config_errors_t *errs, FILE *out)
{
    for (int i = 0; i < errs->count; i++) {
        const nx_config_error_t *e = &errs->e[i];
        if (e->line)
            fprintf(out, "%s:%d:%d: %s: %s\n", errs->file, e->line, e->column, e->path, e->message);
        else
            fprintf(out, "%s: %s: %s\n", errs->file, e->path, e->message);
    }
    if (errs->truncated)
        fprintf(out, "%s: (more errors not shown)\n", errs->file);
}

static const char *type_doc(const nx_cnode_t *n, char *buf, size_t cap)
{
    switch (n->type) {
    case NX_CT_OBJECT:
        return "object";
    case NX_CT_ARRAY:
        snprintf(buf, cap, "array of 0..%lld", (long long)n->max);
        return buf;
    case NX_CT_STRING:
        snprintf(buf, cap, "string, %lld..%lld chars", (long long)n->min, (long long)n->max);
        return buf;
    case NX_CT_INT:
        snprintf(buf, cap, "%s %lld..%lld", (n->flags & NX_CF_POW2) ? "power of two" : "integer",
                 (long long)n->min, (long long)n->max);
        return buf;
    case NX_CT_BOOL:
        return "boolean";
    case NX_CT_ENUM: {
        size_t o = (size_t)snprintf(buf, cap, "one of ");
        for (int i = 0; n->choices[i] && o < cap; i++)
            o += (size_t)snprintf(buf + o, cap - o, "%s`%s`", i ? ", " : "", n->choices[i]);
        return buf;
    }
    case NX_CT_DECIMAL:
        snprintf(buf, cap, "decimal string, %s 0", (n->flags & NX_CF_POSITIVE) ? ">" : ">=");
        return buf;
    case NX_CT_JSON:
        snprintf(buf, cap, "object, up to %lld chars as JSON", (long long)n->max);
        return buf;
    }
    return "?";
}

static void describe(FILE *out, const nx_cnode_t *n, const char *prefix)
{
    for (const nx_cnode_t *m = n->children; m->key; m++) {
        char path[160], tbuf[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", m->key);
        fprintf(out, "| `%s` | %s | %s | %s |\n", path, type_doc(m, tbuf, sizeof tbuf),
                m->def ? m->def : "", m->doc);
        if (m->type == NX_CT_OBJECT)
            describe(out, m, path);
        else if (m->type == NX_CT_ARRAY && m->children->type == NX_CT_OBJECT) {
            char sub[170];
            snprintf(sub, sizeof sub, "%s[]", path);
            describe(out, m->children, sub);
        }
    }
}

void nx_config_describe(FILE *out)
{
    fprintf(out, "| key | type and allowed values | default | meaning |\n|---|---|---|---|\n");
    describe(out, &nx_config_root, "");
}

int nx_config_symbols_intern(const nx_config_t *cfg, nx_symtab_t *t)
{
    for (uint32_t i = 0; i < cfg->n_symbols; i++) {
        const nx_config_symbol_t *s = &cfg->symbols[i];
        int rc = nx_symtab_add(t, s->venue, s->symbol, s->price_scale, s->qty_scale, s->tick_size,
                               s->lot_size, s->min_notional, NULL);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- one session as JSON ------------------------------------------------- */

/* Check root as one session object and extract it into *out. */
static int session_of(const nx_config_t *cfg, const char *text, size_t len, json_t *root,
                      nx_config_session_t *out, nx_config_errors_t *errs)
{
    vctx_t c = {.text = text, .len = len, .errs = errs};
    c.path[0].key = "session";
    c.depth = 1;
    validate(&c, &nx_config_session_node, root);
    if (errs->count == 0) {
        nx_config_session_t tmp;
        c.depth = 1;
        if (!extract_session(&c, cfg, root, &tmp) && errs->count == 0)
            *out = tmp;
    }
    return errs->count ? NX_ECONFIG : 0;
}

int nx_config_session_from_row(const nx_config_t *cfg, const char *text, int64_t user,
                               const char *name, const char *venue, const char *mode,
                               nx_config_session_t *out, nx_config_errors_t *errs)
{
    memset(errs, 0, sizeof *errs);
    snprintf(errs->file, sizeof errs->file, "session");
    json_t *root = json_loads(text && *text ? text : "{}", 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        nx_config_error_t *e = &errs->e[errs->count++];
        snprintf(e->path, sizeof e->path, "session");
        snprintf(e->message, sizeof e->message, "the stored settings are not a JSON object");
        return NX_ECONFIG;
    }
    /* the row's columns are the truth for who, where and how */
    json_object_set_new(root, "user", json_integer(user));
    json_object_set_new(root, "name", json_string(name && *name ? name : "session"));
    json_object_set_new(root, "venue", json_string(venue));
    json_object_set_new(root, "mode", json_string(mode));
    int rc = session_of(cfg, NULL, 0, root, out, errs);
    json_decref(root);
    return rc;
}

int nx_config_session_parse(const nx_config_t *cfg, const char *text, size_t len,
                            nx_config_session_t *out, nx_config_errors_t *errs)
{
    memset(errs, 0, sizeof *errs);
    snprintf(errs->file, sizeof errs->file, "session");
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        nx_config_error_t *e = &errs->e[errs->count++];
        e->line = jerr.line > 0 ? jerr.line : 0;
        e->column = jerr.column > 0 ? jerr.column : 0;
        snprintf(e->path, sizeof e->path, "session");
        snprintf(e->message, sizeof e->message, "invalid JSON: %s", jerr.text);
        return NX_ECONFIG;
    }
    int rc = session_of(cfg, text, len, root, out, errs);
    json_decref(root);
    return rc;
}

int nx_config_session_json(const nx_config_t *cfg, const nx_config_session_t *x, char *buf,
                           size_t cap)
{
    json_t *o = json_object();
    json_t *syms = json_array(), *sts = json_array();
    if (!o || !syms || !sts) {
        json_decref(o);
        json_decref(syms);
        json_decref(sts);
        return NX_ENOMEM;
    }
    for (uint32_t k = 0; k < x->n_symbols; k++)
        json_array_append_new(syms, json_string(cfg->symbols[x->symbols[k]].symbol));
    for (uint32_t k = 0; k < x->n_strategies; k++)
        json_array_append_new(sts, json_string(x->strategies[k]));
    json_object_set_new(o, "name", json_string(x->name));
    json_object_set_new(o, "user", json_integer(x->user));
    json_object_set_new(o, "venue", json_string(nx_venue_name(x->venue)));
    json_object_set_new(o, "mode", json_string(session_modes[x->mode <= 2 ? x->mode : 2]));
    json_object_set_new(o, "equity", json_string(x->equity));
    json_object_set_new(o, "symbols", syms);
    json_object_set_new(o, "strategies", sts);
    const struct {
        const char *key;
        uint32_t v;
    } ints[] = {
        {"leverage", x->leverage},
        {"size_bp", x->size_bp},
        {"risk_bp", x->risk_bp},
        {"max_positions", x->max_positions},
        {"max_trades_day", x->max_trades_day},
        {"weekly_loss_bp", x->weekly_loss_bp},
        {"max_drawdown_bp", x->max_drawdown_bp},
        {"breaker_losses", x->breaker_losses},
        {"breaker_halt_s", x->breaker_halt_s},
        {"cooldown_s", x->cooldown_s},
        {"trail_bp", x->trail_bp},
        {"time_limit_s", x->time_limit_s},
        {"stop_bp", x->stop_bp},
        {"breaker_max_halts", x->breaker_max_halts},
        {"drawdown_lock_s", x->drawdown_lock_s},
        {"stale_s", x->stale_s},
        {"sl_guard_stops", x->sl_guard_stops},
        {"sl_guard_window_s", x->sl_guard_window_s},
        {"sl_guard_lock_s", x->sl_guard_lock_s},
        {"low_profit_trades", x->low_profit_trades},
        {"low_profit_lock_s", x->low_profit_lock_s},
        {"approval_ttl_s", x->approval_ttl_s},
        {"approval_drift_bp", x->approval_drift_bp},
        {"close_buffer_s", x->close_buffer_s},
    };
    for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++)
        json_object_set_new(o, ints[k].key, json_integer(ints[k].v));
    json_object_set_new(o, "daily_loss_stop", json_string(x->daily_loss_stop));
    json_object_set_new(o, "max_symbol_exposure", json_string(x->max_symbol_exposure));
    json_object_set_new(o, "max_total_exposure", json_string(x->max_total_exposure));
    json_object_set_new(o, "low_profit_min", json_string(x->low_profit_min));
    json_object_set_new(o, "execution", json_string(nx_config_execution_name(x->execution)));
    json_object_set_new(o, "live_confirmed", json_boolean(x->live_confirmed));
    json_object_set_new(o, "market_hours", json_boolean(x->market_hours));
    json_object_set_new(o, "pdt", json_boolean(x->pdt));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        return NX_ENOMEM;
    size_t n = strlen(text);
    int rc = n < cap ? (int)n : NX_ETOOLONG;
    if (n < cap)
        memcpy(buf, text, n + 1);
    free(text);
    return rc;
}

int nx_config_session_edit(const nx_config_t *cfg, const char *text, const char *key,
                           const char *value, char *out, size_t cap, nx_config_errors_t *errs)
{
    memset(errs, 0, sizeof *errs);
    snprintf(errs->file, sizeof errs->file, "session");
    json_t *root = json_loads(text, 0, NULL);
    json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
    if (!json_is_object(root) || !v) {
        json_decref(root);
        json_decref(v);
        nx_config_error_t *e = &errs->e[errs->count++];
        snprintf(e->path, sizeof e->path, "session.%s", key);
        snprintf(e->message, sizeof e->message, "not a value: %s", value);
        return NX_ECONFIG;
    }
    json_object_set_new(root, key, v);
    char *edited = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!edited)
        return NX_ENOMEM;
    nx_config_session_t x;
    int rc = nx_config_session_parse(cfg, edited, strlen(edited), &x, errs);
    if (!rc) {
        size_t n = strlen(edited);
        rc = n < cap ? 0 : NX_ETOOLONG;
        if (!rc)
            memcpy(out, edited, n + 1);
    }
    free(edited);
    return rc;
}
