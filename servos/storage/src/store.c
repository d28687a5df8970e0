/*
 * store.c — the storage interface over its two backends (see store.h):
 * opening, the migrations, users, sessions, audit, and the journal with
 * what each entry means for the orders, fills, signals and approvals tables.
 */
#include "store_int.h"

#include "nx/clock.h"
#include "nx/error.h"
#include "nx/desk_state.h"
#include "nx/event_json.h"
#include "nx/fixed.h"
#include "nx/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define STATE_SESSIONS 256
#define STATE_MAX      (64 * 1024)

/* A saved state being put together from its journal parts. */
typedef struct state_buf {
    char *text;   /* [STATE_MAX + 1] */
    uint32_t got; /* parts so far, in order */
} state_buf_t;

int store_fail(nx_store_t *st, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err, sizeof st->err, fmt, ap);
    va_end(ap);
    return rc;
}

/* A query's rows to the caller's callback, through one of the row
 * functions below (each knows which member of cb it calls). */
typedef struct rows_ctx {
    union {
        nx_user_cb user;
        nx_session_cb session;
        nx_task_cb task;
        nx_state_cb state;
        nx_order_row_cb order;
        nx_fill_row_cb fill;
    } cb;
    void *ctx;
    const nx_symtab_t *t; /* orders and fills: symbols by venue and name */
    int n;                /* rows seen */
} rows_ctx_t;

static int64_t now_ms(void)
{
    return nx_real_ns() / NX_NS_PER_MS;
}

int nx_store_open(nx_store_t **out, const char *url, const char *data_dir, char *err, size_t cap)
{
    *out = NULL;
    nx_store_t *st = calloc(1, sizeof *st);
    if (!st)
        return NX_ENOMEM;
    int rc;
    if (url && *url) {
        rc = store_pg_open(st, url);
    } else {
        char path[4096];
        const char *dir = data_dir && *data_dir ? data_dir : ".";
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            snprintf(err, cap, "cannot create the data directory %s: %s", dir, strerror(errno));
            free(st);
            return NX_EIO;
        }
        snprintf(path, sizeof path, "%s/nexus.db", dir);
        rc = store_sqlite_open(st, path);
    }
    if (rc) {
        snprintf(err, cap, "%s", st->err);
        if (st->ops)
            st->ops->close(st);
        free(st);
        return rc;
    }
    *out = st;
    return 0;
}

void nx_store_close(nx_store_t *st)
{
    if (!st)
        return;
    state_buf_t *b = st->states;
    for (int i = 0; b && i < STATE_SESSIONS; i++)
        free(b[i].text);
    free(st->states);
    free(st->decoded);
    st->ops->close(st);
    free(st);
}

const char *nx_store_kind_name(const nx_store_t *st)
{
    return st->ops->name;
}

const char *nx_store_error(const nx_store_t *st)
{
    return st->err;
}

int nx_store_begin(nx_store_t *st)
{
    int rc = st->ops->script(st, "BEGIN");
    st->in_tx = rc == 0;
    return rc;
}

int nx_store_commit(nx_store_t *st)
{
    st->in_tx = 0;
    return st->ops->script(st, "COMMIT");
}

int nx_store_rollback(nx_store_t *st)
{
    st->in_tx = 0;
    return st->ops->script(st, "ROLLBACK");
}

int nx_store_scrub(nx_store_t *st)
{
    if (st->in_tx)
        return 0;                 /* the caller's commit comes first; it scrubs after */
    if (st->kind == STORE_SQLITE) /* old page images leave the WAL */
        return st->ops->script(st, "PRAGMA wal_checkpoint(TRUNCATE)");
    return st->ops->script(st, "VACUUM FULL sessions"); /* dead row versions rewritten away */
}

/* ---- migrations ------------------------------------------------------- */

typedef struct migration {
    int version;
    const char *name;
    const char *sql;
} migration_t;

/* Forward-only. Never edit a released migration: add one. */
static const migration_t MIGRATIONS[] = {
    {1, "users, sessions, bot state, audit",
     "CREATE TABLE users ("
     " id {PK},"
     " chat_id BIGINT NOT NULL UNIQUE,"
     " name TEXT NOT NULL DEFAULT '',"
     " role TEXT NOT NULL CHECK (role IN ('pending','subscriber','admin','owner','banned')),"
     " sub_expires_ms BIGINT,"
     " tz TEXT NOT NULL DEFAULT 'UTC',"
     " created_ms BIGINT NOT NULL);"
     "CREATE TABLE sessions ("
     " id {PK},"
     " user_id BIGINT NOT NULL REFERENCES users(id),"
     " venue TEXT NOT NULL,"
     " api_key {BLOB},"
     " api_secret {BLOB},"
     " config {JSON} NOT NULL DEFAULT '{}',"
     " mode TEXT NOT NULL DEFAULT 'watcher' CHECK (mode IN ('watcher','copilot','pilot')),"
     " live INTEGER NOT NULL DEFAULT 0,"
     " updated_ms BIGINT NOT NULL,"
     " UNIQUE (user_id, venue));"
     "CREATE TABLE bot_state ("
     " user_id BIGINT PRIMARY KEY REFERENCES users(id),"
     " strategies {JSON} NOT NULL DEFAULT '[]',"
     " group_toggles {JSON} NOT NULL DEFAULT '{}',"
     " disabled_assets {JSON} NOT NULL DEFAULT '[]',"
     " updated_ms BIGINT NOT NULL);"
     "CREATE TABLE audit ("
     " id {PK},"
     " at_ms BIGINT NOT NULL,"
     " user_id BIGINT,"
     " chat_id BIGINT,"
     " action TEXT NOT NULL,"
     " detail TEXT NOT NULL DEFAULT '');"
     "CREATE TABLE meta (key TEXT PRIMARY KEY, value {BLOB} NOT NULL);"},
    {2, "journal, orders, fills, positions, signals, approvals, locks, equity",
     "CREATE TABLE journal ("
     " seq BIGINT PRIMARY KEY,"
     " type SMALLINT NOT NULL,"
     " session BIGINT,"
     " symbol TEXT,"
     " exch_ns BIGINT NOT NULL,"
     " data TEXT NOT NULL);"
     "CREATE TABLE orders ("
     " client_id BIGINT PRIMARY KEY,"
     " session BIGINT NOT NULL,"
     " symbol TEXT NOT NULL,"
     " side TEXT NOT NULL,"
     " type SMALLINT NOT NULL,"
     " price TEXT NOT NULL,"
     " qty TEXT NOT NULL,"
     " reduce_only INTEGER NOT NULL,"
     " status TEXT NOT NULL,"
     " status_rank INTEGER NOT NULL,"
     " created_seq BIGINT NOT NULL,"
     " updated_seq BIGINT NOT NULL);"
     "CREATE INDEX orders_open ON orders (session, status_rank);"
     "CREATE TABLE fills ("
     " session BIGINT NOT NULL,"
     " fill_id BIGINT NOT NULL,"
     " client_id BIGINT NOT NULL,"
     " symbol TEXT NOT NULL,"
     " side TEXT NOT NULL,"
     " price TEXT NOT NULL,"
     " qty TEXT NOT NULL,"
     " fee TEXT NOT NULL,"
     " maker INTEGER NOT NULL,"
     " seq BIGINT NOT NULL,"
     " PRIMARY KEY (session, fill_id));"
     "CREATE TABLE positions ("
     " session BIGINT NOT NULL,"
     " symbol TEXT NOT NULL,"
     " qty TEXT NOT NULL,"
     " avg_px TEXT NOT NULL,"
     " stop_loss TEXT NOT NULL,"
     " take_profit TEXT NOT NULL,"
     " updated_seq BIGINT NOT NULL,"
     " PRIMARY KEY (session, symbol));"
     "CREATE TABLE signals ("
     " seq BIGINT PRIMARY KEY,"
     " strategy INTEGER NOT NULL,"
     " symbol TEXT NOT NULL,"
     " side TEXT NOT NULL,"
     " confidence DOUBLE PRECISION NOT NULL,"
     " reason TEXT NOT NULL,"
     " ref_price TEXT NOT NULL,"
     " exch_ns BIGINT NOT NULL);"
     "CREATE TABLE approvals ("
     " request BIGINT PRIMARY KEY,"
     " session BIGINT NOT NULL,"
     " symbol TEXT NOT NULL,"
     " side TEXT NOT NULL,"
     " qty TEXT NOT NULL,"
     " price TEXT NOT NULL,"
     " status TEXT NOT NULL,"
     " reason INTEGER NOT NULL DEFAULT 0,"
     " asked_ns BIGINT NOT NULL,"
     " expires_ns BIGINT NOT NULL,"
     " asked_seq BIGINT NOT NULL,"
     " decided_seq BIGINT);"
     "CREATE TABLE locks ("
     " session BIGINT NOT NULL,"
     " symbol TEXT NOT NULL,"
     " reason INTEGER NOT NULL,"
     " until_ns BIGINT NOT NULL,"
     " PRIMARY KEY (session, symbol, reason));"
     "CREATE TABLE equity ("
     " session BIGINT NOT NULL,"
     " at_ns BIGINT NOT NULL,"
     " balance TEXT NOT NULL,"
     " equity TEXT NOT NULL,"
     " PRIMARY KEY (session, at_ns));"},
    {3, "scheduled tasks",
     "CREATE TABLE scheduled_tasks ("
     " id {PK},"
     " user_id BIGINT NOT NULL REFERENCES users(id),"
     " cron TEXT NOT NULL,"
     " tz TEXT NOT NULL,"
     " action TEXT NOT NULL,"
     " trading_days_only INTEGER NOT NULL DEFAULT 0,"
     " next_run_ms BIGINT NOT NULL,"
     " last_run_ms BIGINT,"
     " last_result TEXT);"
     "CREATE INDEX scheduled_due ON scheduled_tasks (next_run_ms);"},
    {4, "saved desk state",
     "CREATE TABLE desk_state ("
     " session BIGINT PRIMARY KEY,"
     " seq BIGINT NOT NULL,"
     " state {JSON} NOT NULL,"
     " updated_ms BIGINT NOT NULL);"
     "CREATE INDEX fills_by_session ON fills (session, symbol);"
     "ALTER TABLE orders ADD COLUMN venue SMALLINT NOT NULL DEFAULT 0;"
     "ALTER TABLE fills ADD COLUMN venue SMALLINT NOT NULL DEFAULT 0;"},
    {5, "sessions belong to a user by id and carry their settings; role ceilings",
     "ALTER TABLE sessions ADD COLUMN name TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE users DROP COLUMN sub_expires_ms;"
     "DROP TABLE bot_state;"
     "CREATE TABLE role_limits ("
     " role TEXT PRIMARY KEY CHECK (role IN ('subscriber','admin','owner')),"
     " max_leverage INTEGER NOT NULL CHECK (max_leverage BETWEEN 1 AND 20),"
     " max_sessions INTEGER NOT NULL CHECK (max_sessions BETWEEN 0 AND 64));"
     "INSERT INTO role_limits (role, max_leverage, max_sessions) VALUES"
     " ('subscriber', 5, 1), ('admin', 20, 4), ('owner', 20, 4);"},
    {6, "journal retention; stored fills summed at a checkpoint",
     "CREATE INDEX journal_candles ON journal (exch_ns) WHERE type = 3;"
     "CREATE INDEX approvals_asked ON approvals (asked_seq);"
     "CREATE INDEX approvals_decided ON approvals (decided_seq);"
     "CREATE TABLE marks ("
     " name TEXT PRIMARY KEY,"
     " through_seq BIGINT NOT NULL,"
     " before_ns BIGINT NOT NULL,"
     " entries BIGINT NOT NULL,"
     " at_ms BIGINT NOT NULL);"
     "CREATE TABLE fill_sums ("
     " session BIGINT NOT NULL,"
     " venue SMALLINT NOT NULL,"
     " symbol TEXT NOT NULL,"
     " net TEXT NOT NULL,"
     " last_seq BIGINT NOT NULL,"
     " PRIMARY KEY (session, venue, symbol));"},
};
#define N_MIGRATIONS ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

int nx_store_latest_version(void)
{
    return MIGRATIONS[N_MIGRATIONS - 1].version;
}

/* {BLOB} {JSON} {PK} → the backend's type names. */
static char *dialect(const nx_store_t *st, const char *sql)
{
    size_t cap = strlen(sql) * 2 + 256, k = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *p = sql; *p;) {
        const char *rep = NULL;
        size_t skip = 0;
        if (!strncmp(p, "{BLOB}", 6))
            rep = st->ops->blob, skip = 6;
        else if (!strncmp(p, "{JSON}", 6))
            rep = st->ops->json, skip = 6;
        else if (!strncmp(p, "{PK}", 4))
            rep = st->ops->pk, skip = 4;
        if (rep) {
            size_t n = strlen(rep);
            if (k + n + 1 >= cap)
                break;
            memcpy(out + k, rep, n);
            k += n;
            p += skip;
        } else {
            if (k + 2 >= cap)
                break;
            out[k++] = *p++;
        }
    }
    out[k] = 0;
    return out;
}

static int get_int(void *ctx, const sqlv_t *c, int n)
{
    if (n > 0 && c[0].type == SQL_INT)
        *(int64_t *)ctx = c[0].i;
    return 1;
}

static const char SQL_VERSION[] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";

int nx_store_version(nx_store_t *st, int *version)
{
    int rc = st->ops->script(st, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                 " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                                 " applied_ms BIGINT NOT NULL)");
    int64_t v = 0;
    if (!rc)
        rc = st->ops->exec(st, SQL_VERSION, NULL, 0, get_int, &v);
    *version = (int)v;
    return rc;
}

static const char SQL_MIGRATED[] =
    "INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)";

int nx_store_migrate(nx_store_t *st, int target, int *applied)
{
    *applied = 0;
    int v, rc = nx_store_version(st, &v);
    if (rc)
        return rc;
    if (target <= 0)
        target = nx_store_latest_version();
    if (v > nx_store_latest_version())
        return store_fail(st, NX_ESTATE,
                          "the database is at schema version %d, newer than this build knows "
                          "(%d): use a newer nexus",
                          v, nx_store_latest_version());
    for (int i = 0; i < N_MIGRATIONS && rc == 0; i++) {
        const migration_t *m = &MIGRATIONS[i];
        if (m->version <= v || m->version > target)
            continue;
        char *sql = dialect(st, m->sql);
        if (!sql)
            return NX_ENOMEM;
        rc = nx_store_begin(st);
        if (!rc)
            rc = st->ops->script(st, sql);
        sqlv_t p[3] = {sql_int(m->version), sql_text(m->name), sql_int(now_ms())};
        if (!rc)
            rc = st->ops->exec(st, SQL_MIGRATED, p, 3, NULL, NULL);
        if (!rc)
            rc = nx_store_commit(st);
        if (rc) {
            char why[512];
            snprintf(why, sizeof why, "%s", st->err);
            nx_store_rollback(st);
            store_fail(st, rc, "migration %d (%s) failed, nothing of it applied: %s", m->version,
                       m->name, why);
        } else {
            (*applied)++;
        }
        free(sql);
    }
    return rc;
}

/* ---- users ------------------------------------------------------------ */

static const char *const ROLES[] = {"pending", "subscriber", "admin", "owner", "banned"};

const char *nx_role_name(nx_role_t r)
{
    return (unsigned)r < 5 ? ROLES[r] : "?";
}

int nx_role_parse(const char *s)
{
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, ROLES[i]))
            return i;
    return -1;
}

static const char SQL_USER_ADD[] =
    "INSERT INTO users (chat_id, name, role, tz, created_ms) VALUES ($1, $2, $3, $4, $5)";
static const char SQL_USER_ID[] = "SELECT id FROM users WHERE chat_id = $1";

int nx_store_user_add(nx_store_t *st, int64_t chat_id, const char *name, nx_role_t role,
                      const char *tz, int64_t *id)
{
    sqlv_t p[5] = {sql_int(chat_id), sql_text(name ? name : ""), sql_text(nx_role_name(role)),
                   sql_text(tz && *tz ? tz : "UTC"), sql_int(now_ms())};
    int rc = st->ops->exec(st, SQL_USER_ADD, p, 5, NULL, NULL);
    if (rc == NX_EEXIST)
        return store_fail(st, rc, "a user with chat id %lld exists", (long long)chat_id);
    int64_t got = 0;
    if (!rc)
        rc = st->ops->exec(st, SQL_USER_ID, p, 1, get_int, &got);
    if (id)
        *id = got;
    return rc;
}

static void copy_text(char *dst, size_t cap, const sqlv_t *v)
{
    size_t n = v->type == SQL_TEXT ? v->n : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, v->p, n);
    dst[n] = 0;
}

static int user_row(void *ctx, const sqlv_t *c, int n)
{
    rows_ctx_t *u = ctx;
    if (n < 6)
        return 1;
    nx_user_t x;
    memset(&x, 0, sizeof x);
    x.id = c[0].i;
    x.chat_id = c[1].i;
    copy_text(x.name, sizeof x.name, &c[2]);
    char role[16];
    copy_text(role, sizeof role, &c[3]);
    int r = nx_role_parse(role);
    x.role = r < 0 ? NX_ROLE_BANNED : (nx_role_t)r; /* unknown: no rights */
    copy_text(x.tz, sizeof x.tz, &c[4]);
    x.created_ms = c[5].i;
    u->n++;
    return u->cb.user(u->ctx, &x);
}

#define USER_COLS "id, chat_id, name, role, tz, created_ms"
static const char SQL_USER_BY_CHAT[] = "SELECT " USER_COLS " FROM users WHERE chat_id = $1";
static const char SQL_USER_BY_ID[] = "SELECT " USER_COLS " FROM users WHERE id = $1";
static const char SQL_USERS[] = "SELECT " USER_COLS " FROM users ORDER BY id";

static int keep_user(void *ctx, const nx_user_t *u)
{
    *(nx_user_t *)ctx = *u;
    return 1;
}

int nx_store_user_get(nx_store_t *st, int64_t chat_id, int64_t user_id, nx_user_t *out)
{
    memset(out, 0, sizeof *out);
    rows_ctx_t u = {.cb.user = keep_user, .ctx = out};
    sqlv_t p = sql_int(chat_id ? chat_id : user_id);
    int rc = st->ops->exec(st, chat_id ? SQL_USER_BY_CHAT : SQL_USER_BY_ID, &p, 1, user_row, &u);
    return rc ? rc : u.n ? 0 : NX_ENOENT;
}

int nx_store_users(nx_store_t *st, nx_user_cb cb, void *ctx)
{
    rows_ctx_t u = {.cb.user = cb, .ctx = ctx};
    return st->ops->exec(st, SQL_USERS, NULL, 0, user_row, &u);
}

static const char SQL_USER_ROLE[] = "UPDATE users SET role = $1 WHERE id = $2";

int nx_store_user_set_role(nx_store_t *st, int64_t user_id, nx_role_t role)
{
    nx_user_t u;
    int rc = nx_store_user_get(st, 0, user_id, &u);
    if (rc)
        return rc;
    sqlv_t p[2] = {sql_text(nx_role_name(role)), sql_int(user_id)};
    return st->ops->exec(st, SQL_USER_ROLE, p, 2, NULL, NULL);
}

/* ---- sessions ---------------------------------------------------------- */

static const char SQL_SESSION_PUT[] =
    "INSERT INTO sessions (user_id, venue, mode, live, config, updated_ms)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
    " ON CONFLICT (user_id, venue) DO UPDATE SET mode = excluded.mode, live = excluded.live,"
    " config = excluded.config, updated_ms = excluded.updated_ms";
static const char SQL_SESSION_PUT_PG[] =
    "INSERT INTO sessions (user_id, venue, mode, live, config, updated_ms)"
    " VALUES ($1, $2, $3, $4, $5::jsonb, $6)"
    " ON CONFLICT (user_id, venue) DO UPDATE SET mode = excluded.mode, live = excluded.live,"
    " config = excluded.config, updated_ms = excluded.updated_ms";
static const char SQL_SESSION_ID[] = "SELECT id FROM sessions WHERE user_id = $1 AND venue = $2";

int nx_store_session_put(nx_store_t *st, int64_t user_id, const char *venue, const char *mode,
                         int live, const char *config_json, int64_t *id)
{
    sqlv_t p[6] = {sql_int(user_id),
                   sql_text(venue),
                   sql_text(mode),
                   sql_int(live != 0),
                   sql_text(config_json && *config_json ? config_json : "{}"),
                   sql_int(now_ms())};
    int rc = st->ops->exec(st, st->kind == STORE_PG ? SQL_SESSION_PUT_PG : SQL_SESSION_PUT, p, 6,
                           NULL, NULL);
    int64_t got = 0;
    if (!rc)
        rc = st->ops->exec(st, SQL_SESSION_ID, p, 2, get_int, &got);
    if (id)
        *id = got;
    return rc;
}

static const char SQL_SESSION_KEYS_SET[] =
    "UPDATE sessions SET api_key = $1, api_secret = $2, updated_ms = $3"
    " WHERE user_id = $4 AND venue = $5";
static const char SQL_SESSION_KEYS[] =
    "SELECT api_key, api_secret FROM sessions WHERE user_id = $1 AND venue = $2";

typedef struct changes {
    int64_t n;
} changes_t;

int nx_store_session_set_keys(nx_store_t *st, int64_t user_id, const char *venue,
                              const uint8_t *key, size_t key_len, const uint8_t *secret,
                              size_t secret_len)
{
    int64_t id = 0;
    sqlv_t q[2] = {sql_int(user_id), sql_text(venue)};
    int rc = st->ops->exec(st, SQL_SESSION_ID, q, 2, get_int, &id);
    if (rc)
        return rc;
    if (!id)
        return store_fail(st, NX_ENOENT, "user %lld has no %s session", (long long)user_id, venue);
    sqlv_t p[5] = {sql_blob(key, key_len), sql_blob(secret, secret_len), sql_int(now_ms()),
                   sql_int(user_id), sql_text(venue)};
    return st->ops->exec(st, SQL_SESSION_KEYS_SET, p, 5, NULL, NULL);
}

typedef struct keys_ctx {
    uint8_t *key, *secret;
    size_t *key_len, *secret_len, key_cap, secret_cap;
    int found, rc;
} keys_ctx_t;

static int copy_blob(const sqlv_t *v, uint8_t *dst, size_t cap, size_t *len)
{
    if (v->type != SQL_BLOB && v->type != SQL_TEXT) {
        *len = 0;
        return NX_ENOENT;
    }
    *len = v->n;
    if (v->n > cap)
        return NX_ERANGE;
    if (v->n) /* an empty value may come as no pointer at all */
        memcpy(dst, v->p, v->n);
    return 0;
}

static int keys_row(void *ctx, const sqlv_t *c, int n)
{
    keys_ctx_t *k = ctx;
    k->found = 1;
    if (n < 2)
        return 1;
    int a = copy_blob(&c[0], k->key, k->key_cap, k->key_len);
    int b = copy_blob(&c[1], k->secret, k->secret_cap, k->secret_len);
    k->rc = a ? a : b;
    return 1;
}

int nx_store_session_keys(nx_store_t *st, int64_t user_id, const char *venue, uint8_t *key,
                          size_t *key_len, uint8_t *secret, size_t *secret_len)
{
    keys_ctx_t k = {key, secret, key_len, secret_len, *key_len, *secret_len, 0, 0};
    sqlv_t p[2] = {sql_int(user_id), sql_text(venue)};
    int rc = st->ops->exec(st, SQL_SESSION_KEYS, p, 2, keys_row, &k);
    if (rc)
        return rc;
    return k.found ? k.rc : NX_ENOENT;
}

static const char SQL_SESSIONS[] =
    "SELECT id, user_id, venue, mode, live, CASE WHEN api_key IS NULL THEN 0 ELSE 1 END,"
    " updated_ms, name, config FROM sessions WHERE CAST($1 AS BIGINT) = 0 OR user_id = $1"
    " ORDER BY id";
static const char SQL_SESSION_GET[] =
    "SELECT id, user_id, venue, mode, live, CASE WHEN api_key IS NULL THEN 0 ELSE 1 END,"
    " updated_ms, name, config FROM sessions WHERE id = $1";

static int session_row(void *ctx, const sqlv_t *c, int n)
{
    rows_ctx_t *s = ctx;
    if (n < 9)
        return 1;
    nx_session_row_t r;
    memset(&r, 0, sizeof r);
    r.id = c[0].i;
    r.user_id = c[1].i;
    copy_text(r.venue, sizeof r.venue, &c[2]);
    copy_text(r.mode, sizeof r.mode, &c[3]);
    r.live = (int)c[4].i;
    r.has_key = (int)c[5].i;
    r.updated_ms = c[6].i;
    copy_text(r.name, sizeof r.name, &c[7]);
    copy_text(r.config, sizeof r.config, &c[8]);
    s->n++;
    return s->cb.session(s->ctx, &r);
}

int nx_store_sessions(nx_store_t *st, int64_t user_id, nx_session_cb cb, void *ctx)
{
    rows_ctx_t s = {.cb.session = cb, .ctx = ctx};
    sqlv_t p = sql_int(user_id);
    return st->ops->exec(st, SQL_SESSIONS, &p, 1, session_row, &s);
}

static int keep_session(void *ctx, const nx_session_row_t *r)
{
    *(nx_session_row_t *)ctx = *r;
    return 1;
}

int nx_store_session_get(nx_store_t *st, int64_t id, nx_session_row_t *out)
{
    memset(out, 0, sizeof *out);
    rows_ctx_t s = {.cb.session = keep_session, .ctx = out};
    sqlv_t p = sql_int(id);
    int rc = st->ops->exec(st, SQL_SESSION_GET, &p, 1, session_row, &s);
    return rc ? rc : s.n ? 0 : NX_ENOENT;
}

static const char SQL_SESSION_ADD[] =
    "INSERT INTO sessions (user_id, venue, name, mode, live, config, updated_ms)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)";
static const char SQL_SESSION_ADD_PG[] =
    "INSERT INTO sessions (user_id, venue, name, mode, live, config, updated_ms)"
    " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)";

int nx_store_session_add(nx_store_t *st, int64_t user_id, const char *venue, const char *name,
                         const char *mode, int live, const char *config_json, int64_t *id)
{
    sqlv_t p[7] = {
        sql_int(user_id),           sql_text(venue),
        sql_text(name ? name : ""), sql_text(mode),
        sql_int(live != 0),         sql_text(config_json && *config_json ? config_json : "{}"),
        sql_int(now_ms())};
    int rc = st->ops->exec(st, st->kind == STORE_PG ? SQL_SESSION_ADD_PG : SQL_SESSION_ADD, p, 7,
                           NULL, NULL);
    if (rc == NX_EEXIST)
        return store_fail(st, rc, "user %lld already has a session on %s", (long long)user_id,
                          venue);
    int64_t got = 0;
    if (!rc)
        rc = st->ops->exec(st, SQL_SESSION_ID, p, 2, get_int, &got);
    if (id)
        *id = got;
    return rc;
}

int nx_store_session_ensure(nx_store_t *st, int64_t user_id, const char *venue, int64_t *id)
{
    int64_t got = 0;
    sqlv_t p[2] = {sql_int(user_id), sql_text(venue)};
    int rc = st->ops->exec(st, SQL_SESSION_ID, p, 2, get_int, &got);
    if (!rc && !got)
        rc = nx_store_session_add(st, user_id, venue, venue, "watcher", 0, "{}", &got);
    if (id)
        *id = got;
    return rc;
}

static const char SQL_SESSION_DELETE[] = "DELETE FROM sessions WHERE id = $1";

int nx_store_session_delete(nx_store_t *st, int64_t id)
{
    sqlv_t p = sql_int(id);
    return st->ops->exec(st, SQL_SESSION_DELETE, &p, 1, NULL, NULL);
}

static const char SQL_SESSION_UPDATE[] =
    "UPDATE sessions SET mode = $1, config = $2, updated_ms = $3 WHERE id = $4";
static const char SQL_SESSION_UPDATE_PG[] =
    "UPDATE sessions SET mode = $1, config = $2::jsonb, updated_ms = $3 WHERE id = $4";

int nx_store_session_update(nx_store_t *st, int64_t id, const char *mode, const char *config_json)
{
    nx_session_row_t r;
    int rc = nx_store_session_get(st, id, &r);
    if (rc)
        return rc == NX_ENOENT ? store_fail(st, rc, "no session %lld", (long long)id) : rc;
    sqlv_t p[4] = {sql_text(mode), sql_text(config_json), sql_int(now_ms()), sql_int(id)};
    return st->ops->exec(st, st->kind == STORE_PG ? SQL_SESSION_UPDATE_PG : SQL_SESSION_UPDATE, p,
                         4, NULL, NULL);
}

/* ---- users seeded with their id; role ceilings ----------------------------- */

static const char SQL_USER_SEED[] = "INSERT INTO users (id, chat_id, name, role, tz, created_ms) "
                                    "VALUES ($1, $2, $3, $4, 'UTC', $5)";
/* an identity column does not move past ids given by hand: the next user
 * added would collide without this */
static const char SQL_USER_SEQ_PG[] =
    "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT MAX(id) FROM users))";

int nx_store_user_seed(nx_store_t *st, int64_t id, int64_t chat_id, const char *name,
                       nx_role_t role)
{
    nx_user_t u;
    int rc = nx_store_user_get(st, 0, id, &u);
    if (rc != NX_ENOENT)
        return rc; /* there already (0), or the store failed */
    if (nx_store_user_get(st, chat_id, 0, &u) == 0)
        return store_fail(st, NX_EEXIST, "chat id %lld belongs to user %lld, not %lld",
                          (long long)chat_id, (long long)u.id, (long long)id);
    sqlv_t p[5] = {sql_int(id), sql_int(chat_id), sql_text(name ? name : ""),
                   sql_text(nx_role_name(role)), sql_int(now_ms())};
    rc = st->ops->exec(st, SQL_USER_SEED, p, 5, NULL, NULL);
    if (!rc && st->kind == STORE_PG) {
        int64_t ignored;
        rc = st->ops->exec(st, SQL_USER_SEQ_PG, NULL, 0, get_int, &ignored);
    }
    return rc;
}

static const char SQL_LIMITS_GET[] =
    "SELECT max_leverage, max_sessions FROM role_limits WHERE role = $1";
static const char SQL_LIMITS_SET[] =
    "UPDATE role_limits SET max_leverage = $1, max_sessions = $2 WHERE role = $3";

static int get_two(void *ctx, const sqlv_t *c, int n)
{
    int64_t *v = ctx;
    if (n >= 2) {
        v[0] = c[0].i;
        v[1] = c[1].i;
        v[2] = 1;
    }
    return 1;
}

int nx_store_role_limits(nx_store_t *st, nx_role_t role, int *max_leverage, int *max_sessions)
{
    if (role == NX_ROLE_PENDING || role == NX_ROLE_BANNED) {
        *max_leverage = 1;
        *max_sessions = 0;
        return 0;
    }
    int64_t v[3] = {0, 0, 0};
    sqlv_t p = sql_text(nx_role_name(role));
    int rc = st->ops->exec(st, SQL_LIMITS_GET, &p, 1, get_two, v);
    if (rc)
        return rc;
    if (!v[2])
        return store_fail(st, NX_ENOENT, "no ceilings for role %s", nx_role_name(role));
    *max_leverage = (int)v[0];
    *max_sessions = (int)v[1];
    return 0;
}

int nx_store_role_limits_set(nx_store_t *st, nx_role_t role, int max_leverage, int max_sessions)
{
    if (role != NX_ROLE_SUBSCRIBER && role != NX_ROLE_ADMIN && role != NX_ROLE_OWNER)
        return store_fail(st, NX_EINVAL, "roles with ceilings: subscriber, admin, owner");
    if (max_leverage < 1 || max_leverage > 20 || max_sessions < 0 || max_sessions > 64)
        return store_fail(st, NX_ERANGE, "leverage 1..20, sessions 0..64");
    sqlv_t p[3] = {sql_int(max_leverage), sql_int(max_sessions), sql_text(nx_role_name(role))};
    return st->ops->exec(st, SQL_LIMITS_SET, p, 3, NULL, NULL);
}

/* ---- meta, audit ------------------------------------------------------- */

static const char SQL_META_GET[] = "SELECT value FROM meta WHERE key = $1";
static const char SQL_META_PUT[] =
    "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = "
    "excluded.value";

typedef struct blob_ctx {
    uint8_t *dst;
    size_t cap, *len;
    int found, rc;
} blob_ctx_t;

static int blob_row(void *ctx, const sqlv_t *c, int n)
{
    blob_ctx_t *b = ctx;
    b->found = 1;
    b->rc = n > 0 ? copy_blob(&c[0], b->dst, b->cap, b->len) : NX_ENOENT;
    return 1;
}

int nx_store_meta_get(nx_store_t *st, const char *key, uint8_t *val, size_t *len)
{
    blob_ctx_t b = {val, *len, len, 0, 0};
    sqlv_t p = sql_text(key);
    int rc = st->ops->exec(st, SQL_META_GET, &p, 1, blob_row, &b);
    return rc ? rc : b.found ? b.rc : NX_ENOENT;
}

int nx_store_meta_put(nx_store_t *st, const char *key, const uint8_t *val, size_t len)
{
    sqlv_t p[2] = {sql_text(key), sql_blob(val, len)};
    return st->ops->exec(st, SQL_META_PUT, p, 2, NULL, NULL);
}

static const char SQL_AUDIT[] =
    "INSERT INTO audit (at_ms, user_id, chat_id, action, detail) VALUES ($1, $2, $3, $4, $5)";

int nx_store_audit(nx_store_t *st, int64_t user_id, int64_t chat_id, const char *action,
                   const char *detail)
{
    sqlv_t p[5] = {sql_int(now_ms()), user_id ? sql_int(user_id) : sql_null(),
                   chat_id ? sql_int(chat_id) : sql_null(), sql_text(action),
                   sql_text(detail ? detail : "")};
    return st->ops->exec(st, SQL_AUDIT, p, 5, NULL, NULL);
}

/* ---- scheduled tasks ------------------------------------------------------ */

static const char SQL_TASK_ADD[] =
    "INSERT INTO scheduled_tasks (user_id, cron, tz, action, trading_days_only, next_run_ms)"
    " VALUES ($1, $2, $3, $4, $5, $6)";
static const char SQL_TASK_LAST_ID[] = "SELECT MAX(id) FROM scheduled_tasks WHERE user_id = $1";
static const char SQL_TASKS_DUE[] =
    "SELECT id, user_id, cron, tz, action, trading_days_only, next_run_ms,"
    " COALESCE(last_run_ms, 0), COALESCE(last_result, '') FROM scheduled_tasks"
    " WHERE next_run_ms <= $1 ORDER BY next_run_ms, id";
static const char SQL_TASK_DONE[] =
    "UPDATE scheduled_tasks SET next_run_ms = $1, last_run_ms = CASE WHEN CAST($2 AS BIGINT) = 0"
    " THEN last_run_ms ELSE CAST($2 AS BIGINT) END, last_result = $3 WHERE id = $4";

int nx_store_task_add(nx_store_t *st, int64_t user_id, const char *cron, const char *tz,
                      const char *action, int trading_days_only, int64_t next_run_ms, int64_t *id)
{
    sqlv_t p[6] = {sql_int(user_id),
                   sql_text(cron),
                   sql_text(tz),
                   sql_text(action),
                   sql_int(trading_days_only != 0),
                   sql_int(next_run_ms)};
    int rc = st->ops->exec(st, SQL_TASK_ADD, p, 6, NULL, NULL);
    int64_t got = 0;
    if (!rc)
        rc = st->ops->exec(st, SQL_TASK_LAST_ID, p, 1, get_int, &got);
    if (id)
        *id = got;
    return rc;
}

static int task_row(void *ctx, const sqlv_t *c, int n)
{
    rows_ctx_t *k = ctx;
    if (n < 9)
        return 1;
    nx_store_task_t t;
    memset(&t, 0, sizeof t);
    t.id = c[0].i;
    t.user_id = c[1].i;
    copy_text(t.cron, sizeof t.cron, &c[2]);
    copy_text(t.tz, sizeof t.tz, &c[3]);
    copy_text(t.action, sizeof t.action, &c[4]);
    t.trading_days_only = (int)c[5].i;
    t.next_run_ms = c[6].i;
    t.last_run_ms = c[7].i;
    copy_text(t.last_result, sizeof t.last_result, &c[8]);
    return k->cb.task(k->ctx, &t);
}

int nx_store_tasks_due(nx_store_t *st, int64_t now_ms, nx_task_cb cb, void *ctx)
{
    rows_ctx_t k = {.cb.task = cb, .ctx = ctx};
    sqlv_t p = sql_int(now_ms);
    return st->ops->exec(st, SQL_TASKS_DUE, &p, 1, task_row, &k);
}

int nx_store_task_done(nx_store_t *st, int64_t id, int64_t run_ms, const char *result,
                       int64_t next_run_ms)
{
    sqlv_t p[4] = {sql_int(next_run_ms), sql_int(run_ms), sql_text(result ? result : ""),
                   sql_int(id)};
    return st->ops->exec(st, SQL_TASK_DONE, p, 4, NULL, NULL);
}

/* ---- the journal -------------------------------------------------------- */

static const char *side_name(uint8_t s)
{
    return s == NX_SIDE_BUY ? "buy" : s == NX_SIDE_SELL ? "sell" : "none";
}

static const char *const STATUS[] = {"?",      "new",       "acked",    "partial",
                                     "filled", "cancelled", "rejected", "expired"};

static int status_rank(uint8_t s)
{
    return s == NX_OS_NEW ? 0 : s == NX_OS_ACKED ? 1 : s == NX_OS_PARTIAL ? 2 : 3;
}

static uint32_t session_of(const nx_event_t *e)
{
    switch (e->hdr.type) {
    case NX_EV_ORDER_INTENT:
        return e->u.intent.session;
    case NX_EV_ORDER_UPDATE:
        return e->u.order.session;
    case NX_EV_DECISION:
        return e->u.decision.session;
    case NX_EV_CONTROL:
        return e->u.control.session;
    default:
        return 0;
    }
}

static const char SQL_ORDER_NEW[] =
    "INSERT INTO orders (client_id, session, symbol, side, type, price, qty, reduce_only, status,"
    " status_rank, created_seq, updated_seq, venue) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'new',"
    " 0, $9, $9, $10) ON CONFLICT (client_id) DO NOTHING";
static const char SQL_ORDER_AMEND[] =
    "UPDATE orders SET price = $1, updated_seq = $2 WHERE client_id = $3";
/* a status only moves forward; final is final */
static const char SQL_ORDER_STATUS[] =
    "UPDATE orders SET status = $1, status_rank = $2, updated_seq = $3"
    " WHERE client_id = $4 AND status_rank < $2";
static const char SQL_FILL[] =
    "INSERT INTO fills (session, fill_id, client_id, symbol, side, price, qty, fee, maker, seq,"
    " venue) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    " ON CONFLICT (session, fill_id) DO NOTHING";
static const bulk_t BULK_SIGNALS = {
    "COPY signals (seq, strategy, symbol, side, confidence, reason, ref_price, exch_ns) FROM "
    "STDIN",
    "INSERT INTO signals (seq, strategy, symbol, side, confidence, reason, ref_price, exch_ns)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    8};
static const bulk_t BULK_JOURNAL = {
    "COPY journal (seq, type, session, symbol, exch_ns, data) FROM STDIN",
    "INSERT INTO journal (seq, type, session, symbol, exch_ns, data) VALUES ($1, $2, $3, $4, $5,"
    " $6)",
    6};
static const char SQL_ASK[] =
    "INSERT INTO approvals (request, session, symbol, side, qty, price, status, asked_ns,"
    " expires_ns, asked_seq) VALUES ($1, $2, $3, $4, $5, $6, 'asked', $7, $8, $9)"
    " ON CONFLICT (request) DO NOTHING";
static const char SQL_DECIDED[] = "UPDATE approvals SET status = $1, reason = $2, decided_seq = $3"
                                  " WHERE request = $4 AND status = 'asked'";

/* ---- saved state: parts put together, then stored whole ------------------ */

static const char SQL_STATE_PUT[] =
    "INSERT INTO desk_state (session, seq, state, updated_ms) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (session) DO UPDATE SET seq = excluded.seq, state = excluded.state,"
    " updated_ms = excluded.updated_ms";
static const char SQL_STATE_PUT_PG[] =
    "INSERT INTO desk_state (session, seq, state, updated_ms) VALUES ($1, $2, $3::jsonb, $4)"
    " ON CONFLICT (session) DO UPDATE SET seq = excluded.seq, state = excluded.state,"
    " updated_ms = excluded.updated_ms";
static const char SQL_POSITIONS_CLEAR[] = "DELETE FROM positions WHERE session = $1";
static const char SQL_POSITION_PUT[] =
    "INSERT INTO positions (session, symbol, qty, avg_px, stop_loss, take_profit, updated_seq)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (session, symbol) DO UPDATE SET"
    " qty = excluded.qty, avg_px = excluded.avg_px, stop_loss = excluded.stop_loss,"
    " take_profit = excluded.take_profit, updated_seq = excluded.updated_seq";
static const char SQL_LOCKS_CLEAR[] = "DELETE FROM locks WHERE session = $1";
static const char SQL_LOCK_PUT[] =
    "INSERT INTO locks (session, symbol, reason, until_ns) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (session, symbol, reason) DO UPDATE SET until_ns = excluded.until_ns";
static const char SQL_EQUITY_PUT[] =
    "INSERT INTO equity (session, at_ns, balance, equity) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (session, at_ns) DO UPDATE SET balance = excluded.balance,"
    " equity = excluded.equity";

/* What a whole saved state means for the positions, locks and equity
 * tables (people and dashboards read those; recovery reads desk_state).
 * The text is read through its one codec (desk_state.h); the decoded
 * state is large (~100 KB), so one is kept per store, made at first use. */
static int state_rows(nx_store_t *st, const nx_symtab_t *t, uint32_t session, const char *text,
                      size_t len, sqlv_t seq)
{
    if (!st->decoded && !(st->decoded = malloc(sizeof(nx_state_session_t))))
        return store_fail(st, NX_ENOMEM, "out of memory for a saved state");
    nx_state_session_t *x = st->decoded;
    char err[160];
    if (nx_state_decode(text, len, x, err, sizeof err)) {
        /* a state no reader understands must not hold the journal back
         * (a failed batch is retried forever): the text is kept as it
         * came, the tables derived from it are left as they were */
        NX_LOGK(NX_LOG_ERROR, "store", "store.state",
                "session %u: saved state unreadable (%s): its positions, locks and equity rows "
                "are not updated",
                session, err);
        return 0;
    }
    sqlv_t who = sql_int(session);
    int rc = st->ops->exec(st, SQL_POSITIONS_CLEAR, &who, 1, NULL, NULL);
    if (!rc)
        rc = st->ops->exec(st, SQL_LOCKS_CLEAR, &who, 1, NULL, NULL);
    for (uint32_t i = 0; !rc && i < x->n_positions; i++) {
        const nx_state_position_t *v = &x->positions[i];
        sqlv_t p[7] = {who,
                       sql_text(v->name),
                       sql_text(v->qty_dec),
                       sql_text(v->avg_px),
                       sql_text(v->sl_dec),
                       sql_text(v->tp_dec),
                       seq};
        rc = st->ops->exec(st, SQL_POSITION_PUT, p, 7, NULL, NULL);
    }
    for (uint32_t i = 0; !rc && i < x->n_locks; i++) {
        const nx_state_lock_t *l = &x->locks[i];
        const nx_symbol_t *sy = l->symbol >= 0 ? nx_symtab_get(t, (uint32_t)l->symbol) : NULL;
        sqlv_t p[4] = {who, sql_text(sy ? sy->name : "*"), sql_int(l->reason),
                       sql_int(l->until_ns)};
        rc = st->ops->exec(st, SQL_LOCK_PUT, p, 4, NULL, NULL);
    }
    if (!rc && x->has_account) {
        sqlv_t p[4] = {who, sql_int(x->now), sql_text(x->account.balance_dec),
                       sql_text(x->account.equity_dec)};
        rc = st->ops->exec(st, SQL_EQUITY_PUT, p, 4, NULL, NULL);
    }
    return rc;
}

/* One part of a saved state. Parts come in order, back to back; a part
 * seen again (a batch retried after a failure) lands where it was. The
 * whole text is stored in the transaction of its last part. */
static int state_part(nx_store_t *st, const nx_symtab_t *t, const nx_journal_entry_t *j)
{
    const nx_ev_state_t *x = &j->ev->u.state;
    if (x->session >= STATE_SESSIONS || x->part >= x->parts || x->len > NX_STATE_PART ||
        (size_t)x->parts * NX_STATE_PART > STATE_MAX)
        return store_fail(st, NX_EINVAL, "saved state part %u/%u of session %u is malformed",
                          x->part, x->parts, x->session);
    if (!st->states) {
        st->states = calloc(STATE_SESSIONS, sizeof(state_buf_t));
        if (!st->states)
            return NX_ENOMEM;
    }
    state_buf_t *b = &((state_buf_t *)st->states)[x->session];
    if (!b->text && !(b->text = malloc(STATE_MAX + 1)))
        return NX_ENOMEM;
    if (x->part == 0)
        b->got = 0;
    if (x->part != b->got)
        return 0; /* the start of this text was not seen (stored before a restart): skip */
    memcpy(b->text + (size_t)x->part * NX_STATE_PART, x->data, x->len);
    b->got++;
    if (x->part + 1 < x->parts)
        return 0;
    size_t len = (size_t)x->part * NX_STATE_PART + x->len;
    b->got = 0;
    sqlv_t seq = sql_int((int64_t)j->seq);
    b->text[len] = 0;
    sqlv_t p[4] = {sql_int(x->session), seq, sql_text(b->text), sql_int(now_ms())};
    int rc = st->ops->exec(st, st->kind == STORE_PG ? SQL_STATE_PUT_PG : SQL_STATE_PUT, p, 4, NULL,
                           NULL);
    if (!rc && x->session)
        rc = state_rows(st, t, x->session, b->text, len, seq);
    return rc;
}

/* What one entry means beyond the journal row. */
static int derive(nx_store_t *st, const nx_symtab_t *t, const nx_journal_entry_t *j)
{
    const nx_event_t *e = j->ev;
    const nx_symbol_t *y = nx_symtab_get(t, e->hdr.symbol);
    const char *sym = y ? y->name : "";
    sqlv_t venue = sql_int(y ? y->venue : 0);
    unsigned ps = y ? y->price_scale : 8, qs = y ? y->qty_scale : 8;
    char a[NX_FIXED_FMT_MAX], b[NX_FIXED_FMT_MAX], c[NX_FIXED_FMT_MAX];
    sqlv_t seq = sql_int((int64_t)j->seq);
    switch (e->hdr.type) {
    case NX_EV_ORDER_INTENT: {
        const nx_ev_order_intent_t *in = &e->u.intent;
        nx_fixed_format(in->price, ps, a, sizeof a);
        if (in->amend) {
            sqlv_t p[3] = {sql_text(a), seq, sql_int((int64_t)in->client_id)};
            return st->ops->exec(st, SQL_ORDER_AMEND, p, 3, NULL, NULL);
        }
        nx_fixed_format(in->qty, qs, b, sizeof b);
        sqlv_t p[10] = {sql_int((int64_t)in->client_id),
                        sql_int(in->session),
                        sql_text(sym),
                        sql_text(side_name(in->side)),
                        sql_int(in->order_type),
                        sql_text(a),
                        sql_text(b),
                        sql_int(in->reduce_only),
                        seq,
                        venue};
        return st->ops->exec(st, SQL_ORDER_NEW, p, 10, NULL, NULL);
    }
    case NX_EV_ORDER_UPDATE: {
        const nx_ev_order_update_t *u = &e->u.order;
        int rc = 0;
        if (u->fill_id && u->last_qty) {
            nx_fixed_format(u->last_px, ps, a, sizeof a);
            nx_fixed_format(u->last_qty, qs, b, sizeof b);
            nx_fixed_format(u->fee, ps, c, sizeof c);
            sqlv_t p[11] = {sql_int(u->session),
                            sql_int((int64_t)u->fill_id),
                            sql_int((int64_t)u->client_id),
                            sql_text(sym),
                            sql_text(side_name(u->side)),
                            sql_text(a),
                            sql_text(b),
                            sql_text(c),
                            sql_int(u->maker),
                            seq,
                            venue};
            rc = st->ops->exec(st, SQL_FILL, p, 11, NULL, NULL);
        }
        if (!rc && u->status >= NX_OS_NEW && u->status <= NX_OS_EXPIRED) {
            sqlv_t p[4] = {sql_text(STATUS[u->status]), sql_int(status_rank(u->status)), seq,
                           sql_int((int64_t)u->client_id)};
            rc = st->ops->exec(st, SQL_ORDER_STATUS, p, 4, NULL, NULL);
        }
        return rc;
    }
    case NX_EV_DECISION: {
        const nx_ev_decision_t *d = &e->u.decision;
        if (!d->request)
            return 0;
        if (d->verdict == 4 /* ask */) {
            nx_fixed_format(d->qty, qs, a, sizeof a);
            nx_fixed_format(d->price, ps, b, sizeof b);
            sqlv_t p[9] = {sql_int(d->request),
                           sql_int(d->session),
                           sql_text(sym),
                           sql_text(side_name(d->side)),
                           sql_text(a),
                           sql_text(b),
                           sql_int(e->hdr.exch_ns),
                           sql_int(d->expires_ns),
                           seq};
            return st->ops->exec(st, SQL_ASK, p, 9, NULL, NULL);
        }
        /* the outcome: approved (1, 2), or refused with its reason; 17 = expired */
        const char *status = d->verdict == 1 || d->verdict == 2 ? "approved"
                             : d->reason == 17                  ? "expired"
                                                                : "declined";
        sqlv_t p[4] = {sql_text(status), sql_int(d->reason), seq, sql_int(d->request)};
        return st->ops->exec(st, SQL_DECIDED, p, 4, NULL, NULL);
    }
    case NX_EV_STATE:
        return state_part(st, t, j);
    default:
        return 0;
    }
}

/* The journal row of an entry (6 values); json holds the text. */
static int journal_row(const nx_symtab_t *t, const nx_journal_entry_t *j, sqlv_t *v, char *json,
                       size_t cap)
{
    const nx_event_t *e = j->ev;
    const nx_symbol_t *y = nx_symtab_get(t, e->hdr.symbol);
    uint32_t session = session_of(e);
    v[0] = sql_int((int64_t)j->seq);
    v[1] = sql_int(e->hdr.type);
    v[2] = session ? sql_int(session) : sql_null();
    v[3] = sql_text(y ? y->name : NULL);
    v[4] = sql_int(e->hdr.exch_ns ? e->hdr.exch_ns : e->hdr.recv_ns);
    v[5] = sql_text(json);
    return nx_event_json(e, t, json, cap) ? 0 : NX_ETOOLONG;
}

/* A signal's row (8 values); txt holds its decimal and reason. */
typedef struct sigtext {
    char reason[32], ref[NX_FIXED_FMT_MAX];
} sigtext_t;

static void signal_row(const nx_symtab_t *t, const nx_journal_entry_t *j, sqlv_t *v, sigtext_t *x)
{
    static const char *const sides[] = {"?", "buy", "sell", "exit_long", "exit_short"};
    const nx_event_t *e = j->ev;
    const nx_ev_signal_t *g = &e->u.signal;
    const nx_symbol_t *y = nx_symtab_get(t, e->hdr.symbol);
    memcpy(x->reason, g->reason, sizeof g->reason);
    x->reason[sizeof g->reason] = 0;
    nx_fixed_format(g->ref_price, y ? y->price_scale : 8, x->ref, sizeof x->ref);
    v[0] = sql_int((int64_t)j->seq);
    v[1] = sql_int(g->strategy);
    v[2] = sql_text(y ? y->name : "");
    v[3] = sql_text(g->side < 5 ? sides[g->side] : "?");
    v[4] = sql_real(g->confidence);
    v[5] = sql_text(x->reason);
    v[6] = sql_text(x->ref);
    v[7] = sql_int(e->hdr.exch_ns);
}

#define BATCH_ROWS 1024

/* One chunk: its journal rows and signals in bulk, the rest pipelined. */
static int store_chunk(nx_store_t *st, const nx_symtab_t *t, const nx_journal_entry_t *e, int k)
{
    static __thread char json[BATCH_ROWS][1024];
    static __thread sqlv_t jv[BATCH_ROWS * 6], sv[BATCH_ROWS * 8];
    static __thread sigtext_t sx[BATCH_ROWS];
    int rc = 0, ns = 0;
    for (int i = 0; i < k && rc == 0; i++) {
        rc = journal_row(t, &e[i], &jv[i * 6], json[i], sizeof json[i]);
        if (e[i].ev->hdr.type == NX_EV_SIGNAL) {
            signal_row(t, &e[i], &sv[ns * 8], &sx[ns]);
            ns++;
        }
    }
    if (!rc)
        rc = st->ops->bulk(st, &BULK_JOURNAL, jv, k);
    if (!rc)
        rc = st->ops->bulk(st, &BULK_SIGNALS, sv, ns);
    if (!rc && (rc = st->ops->pipe(st, 1)) == 0) {
        for (int i = 0; i < k && rc == 0; i++)
            rc = derive(st, t, &e[i]);
        int end = st->ops->pipe(st, 0); /* always leave the pipeline */
        if (!rc)
            rc = end;
    }
    return rc;
}

int nx_store_journal_batch(nx_store_t *st, const nx_symtab_t *t, const nx_journal_entry_t *e, int n)
{
    int rc = nx_store_begin(st);
    for (int at = 0; at < n && rc == 0; at += BATCH_ROWS)
        rc = store_chunk(st, t, e + at, n - at < BATCH_ROWS ? n - at : BATCH_ROWS);
    if (!rc)
        rc = nx_store_commit(st);
    if (rc) {
        char why[512];
        snprintf(why, sizeof why, "%s", st->err);
        nx_store_rollback(st);
        snprintf(st->err, sizeof st->err, "%s", why);
    }
    return rc;
}

int nx_store_journal_one(nx_store_t *st, const nx_symtab_t *t, const nx_journal_entry_t *e)
{
    char json[1024];
    sqlv_t v[8];
    sigtext_t x;
    int rc = journal_row(t, e, v, json, sizeof json);
    if (!rc)
        rc = st->ops->exec(st, BULK_JOURNAL.insert, v, 6, NULL, NULL);
    if (!rc && e->ev->hdr.type == NX_EV_SIGNAL) {
        signal_row(t, e, v, &x);
        rc = st->ops->exec(st, BULK_SIGNALS.insert, v, 8, NULL, NULL);
    }
    if (!rc)
        rc = derive(st, t, e);
    return rc;
}

static const char SQL_LAST_CLIENT[] = "SELECT COALESCE(MAX(client_id), 0) FROM orders WHERE"
                                      " session = $1";
static const char SQL_LAST_REQUEST[] = "SELECT COALESCE(MAX(request), 0) FROM approvals";

int nx_store_last_client_seq(nx_store_t *st, uint32_t session, uint64_t *seq)
{
    int64_t v = 0;
    sqlv_t p = sql_int(session);
    int rc = st->ops->exec(st, SQL_LAST_CLIENT, &p, 1, get_int, &v);
    *seq = (uint64_t)v & ((1ULL << 40) - 1); /* bridge.h: session << 40 | sequence */
    return rc;
}

int nx_store_last_request(nx_store_t *st, uint32_t *request)
{
    int64_t v = 0;
    int rc = st->ops->exec(st, SQL_LAST_REQUEST, NULL, 0, get_int, &v);
    *request = (uint32_t)v;
    return rc;
}

/* ---- recovery ------------------------------------------------------------ */

static const char SQL_STATES[] = "SELECT session, seq, state FROM desk_state ORDER BY session";

static int state_row(void *ctx, const sqlv_t *c, int n)
{
    rows_ctx_t *k = ctx;
    if (n < 3 || c[2].type != SQL_TEXT)
        return 1;
    size_t len = c[2].n ? c[2].n : strlen(c[2].p);
    return k->cb.state(k->ctx, (uint32_t)c[0].i, (uint64_t)c[1].i, c[2].p, len);
}

int nx_store_states(nx_store_t *st, nx_state_cb cb, void *ctx)
{
    rows_ctx_t k = {.cb.state = cb, .ctx = ctx};
    return st->ops->exec(st, SQL_STATES, NULL, 0, state_row, &k);
}

/* Text to the symbol's integer units, NX_EINVAL if it is not one. */
static int units(const sqlv_t *v, unsigned scale, int64_t *out)
{
    if (v->type != SQL_TEXT)
        return NX_EINVAL;
    size_t n = v->n ? v->n : strlen(v->p);
    return nx_fixed_parse(v->p, n, scale, out);
}

static const char SQL_OPEN_ORDERS[] =
    "SELECT client_id, session, venue, symbol, side, type, price, qty, reduce_only FROM orders"
    " WHERE status_rank < 3 ORDER BY client_id";

static uint32_t symbol_of(const nx_symtab_t *t, const sqlv_t *venue, const sqlv_t *name)
{
    if (name->type != SQL_TEXT)
        return NX_SYMBOL_NONE;
    size_t n = name->n ? name->n : strlen(name->p);
    return nx_symtab_find(t, (nx_venue_t)venue->i, name->p, n);
}

static int order_row(void *ctx, const sqlv_t *c, int n)
{
    rows_ctx_t *k = ctx;
    if (n < 9)
        return 1;
    nx_store_order_t o;
    memset(&o, 0, sizeof o);
    o.symbol = symbol_of(k->t, &c[2], &c[3]);
    const nx_symbol_t *y = nx_symtab_get(k->t, o.symbol);
    o.in.client_id = (uint64_t)c[0].i;
    o.in.session = (uint32_t)c[1].i;
    o.in.side = c[4].type == SQL_TEXT && !strcmp(c[4].p, "buy") ? NX_SIDE_BUY : NX_SIDE_SELL;
    o.in.order_type = (uint8_t)c[5].i;
    o.in.reduce_only = (uint8_t)c[8].i;
    o.ok = y && units(&c[6], y->price_scale, &o.in.price) == 0 &&
           units(&c[7], y->qty_scale, &o.in.qty) == 0;
    return k->cb.order(k->ctx, &o);
}

int nx_store_open_orders(nx_store_t *st, const nx_symtab_t *t, nx_order_row_cb cb, void *ctx)
{
    rows_ctx_t k = {.cb.order = cb, .ctx = ctx, .t = t};
    return st->ops->exec(st, SQL_OPEN_ORDERS, NULL, 0, order_row, &k);
}

static const char SQL_FILLS[] =
    "SELECT session, venue, symbol, side, qty, seq FROM fills ORDER BY session, symbol, seq";

static int fill_row(void *ctx, const sqlv_t *c, int n)
{
    rows_ctx_t *k = ctx;
    if (n < 6)
        return 1;
    nx_store_fill_t f;
    memset(&f, 0, sizeof f);
    f.session = (uint32_t)c[0].i;
    f.symbol = symbol_of(k->t, &c[1], &c[2]);
    const nx_symbol_t *y = nx_symtab_get(k->t, f.symbol);
    int64_t q = 0;
    f.ok = y && units(&c[4], y->qty_scale, &q) == 0;
    f.qty = c[3].type == SQL_TEXT && !strcmp(c[3].p, "buy") ? q : -q;
    f.seq = (uint64_t)c[5].i;
    return k->cb.fill(k->ctx, &f);
}

int nx_store_fills(nx_store_t *st, const nx_symtab_t *t, nx_fill_row_cb cb, void *ctx)
{
    rows_ctx_t k = {.cb.fill = cb, .ctx = ctx, .t = t};
    return st->ops->exec(st, SQL_FILLS, NULL, 0, fill_row, &k);
}

static const char SQL_LAST_FILL[] = "SELECT COALESCE(MAX(fill_id), 0) FROM fills";

int nx_store_last_fill_id(nx_store_t *st, uint64_t *id)
{
    int64_t v = 0;
    int rc = st->ops->exec(st, SQL_LAST_FILL, NULL, 0, get_int, &v);
    *id = (uint64_t)v;
    return rc;
}

static const char SQL_JOURNAL_LAST[] = "SELECT COALESCE(MAX(seq), 0) FROM journal";
static const char SQL_JOURNAL_COUNT[] =
    "SELECT COUNT(*) FROM journal WHERE seq >= $1 AND seq <= $2";

int nx_store_journal_last(nx_store_t *st, uint64_t *seq)
{
    int64_t v = 0;
    int rc = st->ops->exec(st, SQL_JOURNAL_LAST, NULL, 0, get_int, &v);
    *seq = (uint64_t)v;
    return rc;
}

int nx_store_journal_count(nx_store_t *st, uint64_t from, uint64_t to, uint64_t *n)
{
    int64_t v = 0;
    sqlv_t p[2] = {sql_int((int64_t)from), sql_int((int64_t)to)};
    int rc = st->ops->exec(st, SQL_JOURNAL_COUNT, p, 2, get_int, &v);
    *n = (uint64_t)v;
    return rc;
}

int nx_store_scalar(nx_store_t *st, const char *sql, int64_t *out)
{
    *out = 0;
    return st->ops->exec(st, sql, NULL, 0, get_int, out);
}

typedef struct check_ctx {
    char first[256];
    int bad;
} check_ctx_t;

static int check_row(void *ctx, const sqlv_t *c, int n)
{
    check_ctx_t *k = ctx;
    if (n < 1 || c[0].type != SQL_TEXT)
        return 1;
    if (c[0].n == 2 && !memcmp(c[0].p, "ok", 2))
        return 0;
    k->bad = 1;
    snprintf(k->first, sizeof k->first, "%.*s", (int)c[0].n, (const char *)c[0].p);
    return 1;
}

static const char SQL_INTEGRITY[] = "PRAGMA integrity_check";
static const char SQL_ORPHANS[] =
    "SELECT 'order without journal entry ' || o.client_id FROM orders o"
    " LEFT JOIN journal j ON j.seq = o.created_seq WHERE j.seq IS NULL"
    " UNION ALL SELECT 'fill without journal entry ' || f.fill_id FROM fills f"
    " LEFT JOIN journal j ON j.seq = f.seq WHERE j.seq IS NULL";

int nx_store_check(nx_store_t *st)
{
    check_ctx_t k = {{0}, 0};
    int rc = 0;
    if (st->kind == STORE_SQLITE)
        rc = st->ops->exec(st, SQL_INTEGRITY, NULL, 0, check_row, &k);
    if (!rc && !k.bad)
        rc = st->ops->exec(st, SQL_ORPHANS, NULL, 0, check_row, &k);
    if (rc)
        return rc;
    return k.bad ? store_fail(st, NX_ESTATE, "inconsistent: %s", k.first) : 0;
}

/* ---- marks: how far retention and the fill checkpoint have come --------- */

static const char SQL_MARK_GET[] =
    "SELECT through_seq, entries, before_ns FROM marks WHERE name = $1";
static const char SQL_MARK_PUT[] =
    "INSERT INTO marks (name, through_seq, before_ns, entries, at_ms) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (name) DO UPDATE SET through_seq = excluded.through_seq,"
    " before_ns = excluded.before_ns, entries = excluded.entries, at_ms = excluded.at_ms";

typedef struct mark {
    uint64_t through, entries;
    int64_t before_ns;
} mark_t;

static int mark_row(void *ctx, const sqlv_t *c, int n)
{
    mark_t *m = ctx;
    if (n >= 3) {
        m->through = (uint64_t)c[0].i;
        m->entries = (uint64_t)c[1].i;
        m->before_ns = c[2].i;
    }
    return 1;
}

static int mark_get(nx_store_t *st, const char *name, mark_t *m)
{
    memset(m, 0, sizeof *m);
    sqlv_t p = sql_text(name);
    return st->ops->exec(st, SQL_MARK_GET, &p, 1, mark_row, m);
}

static int mark_put(nx_store_t *st, const char *name, const mark_t *m)
{
    sqlv_t p[5] = {sql_text(name), sql_int((int64_t)m->through), sql_int(m->before_ns),
                   sql_int((int64_t)m->entries), sql_int(now_ms())};
    return st->ops->exec(st, SQL_MARK_PUT, p, 5, NULL, NULL);
}

/* ---- retention ------------------------------------------------------------ */

/* The market's time in the journal is that of its newest candle (every
 * timeframe's close is journaled); the cut is the earliest candle at that
 * time less keep_ns: what was journaled before it is older. Both queries
 * walk the partial index journal_candles (a few rows, not the journal). */
static const char SQL_NEWEST_CANDLE[] =
    "SELECT COALESCE(MAX(exch_ns), 0) FROM journal WHERE type = 3";
static const char SQL_FIRST_KEPT[] = "SELECT seq FROM journal WHERE type = 3 AND exch_ns >= $1"
                                     " ORDER BY exch_ns, seq LIMIT 1";
/* What recovery and the records of money and people never need once old:
 * market events, candles, signals, heartbeats, feed status, saved states
 * (desk_state keeps each session's latest) and decisions that were no
 * approval request or its outcome. Orders, fills, commands, notices and
 * approvals stay. */
static const char SQL_PRUNE_JOURNAL[] =
    "DELETE FROM journal WHERE seq > $1 AND seq < $2 AND (type IN (1, 2, 3, 4, 5, 6, 10, 11, 13)"
    " OR (type = 12 AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.asked_seq = journal.seq"
    " OR a.decided_seq = journal.seq))) RETURNING seq";
static const char SQL_PRUNE_SIGNALS[] =
    "DELETE FROM signals WHERE seq > $1 AND seq < $2 RETURNING seq";
/* the equity curve keeps each session's last value of each UTC day */
static const char SQL_PRUNE_EQUITY[] =
    "DELETE FROM equity WHERE at_ns < $1 AND (session, at_ns) NOT IN (SELECT session,"
    " MAX(at_ns) FROM equity WHERE at_ns < $1 GROUP BY session, at_ns / 86400000000000)"
    " RETURNING at_ns";

static int count_row(void *ctx, const sqlv_t *c, int n)
{
    (void)c;
    (void)n;
    (*(uint64_t *)ctx)++;
    return 0;
}

int nx_store_prune(nx_store_t *st, int64_t keep_ns, nx_store_pruned_t *out)
{
    memset(out, 0, sizeof *out);
    if (keep_ns <= 0)
        return store_fail(st, NX_EINVAL, "retention must be positive");
    int64_t newest = 0, first_kept = 0;
    mark_t m;
    int rc = st->ops->exec(st, SQL_NEWEST_CANDLE, NULL, 0, get_int, &newest);
    if (!rc)
        rc = mark_get(st, "journal", &m);
    if (rc)
        return rc;
    out->through_seq = m.through;
    out->before_ns = m.before_ns;
    if (newest <= keep_ns)
        return 0; /* nothing that old yet */
    sqlv_t cut = sql_int(newest - keep_ns);
    if ((rc = st->ops->exec(st, SQL_FIRST_KEPT, &cut, 1, get_int, &first_kept)))
        return rc;
    if (first_kept <= 1 || (uint64_t)first_kept - 1 <= m.through)
        return 0; /* pruned up to there already */
    sqlv_t range[2] = {sql_int((int64_t)m.through), sql_int(first_kept)};
    if ((rc = nx_store_begin(st)))
        return rc;
    rc = st->ops->exec(st, SQL_PRUNE_JOURNAL, range, 2, count_row, &out->entries);
    if (!rc)
        rc = st->ops->exec(st, SQL_PRUNE_SIGNALS, range, 2, count_row, &out->signals);
    if (!rc)
        rc = st->ops->exec(st, SQL_PRUNE_EQUITY, &cut, 1, count_row, &out->equity);
    mark_t now = {(uint64_t)first_kept - 1, m.entries + out->entries, cut.i};
    if (!rc)
        rc = mark_put(st, "journal", &now);
    if (!rc)
        rc = nx_store_commit(st);
    if (rc) {
        char why[512];
        snprintf(why, sizeof why, "%s", st->err);
        nx_store_rollback(st);
        memset(out, 0, sizeof *out);
        return store_fail(st, rc, "pruning the journal failed, nothing removed: %s", why);
    }
    out->through_seq = now.through;
    out->before_ns = now.before_ns;
    return 0;
}

int nx_store_pruned(nx_store_t *st, uint64_t *through_seq, uint64_t *entries, int64_t *before_ns)
{
    mark_t m;
    int rc = mark_get(st, "journal", &m);
    *through_seq = m.through;
    *entries = m.entries;
    *before_ns = m.before_ns;
    return rc;
}

/* Holes after what retention removed: each entry whose predecessor is
 * missing starts one. */
static const char SQL_JOURNAL_GAPS[] =
    "SELECT COUNT(*) FROM journal j WHERE j.seq > $1 AND NOT EXISTS "
    "(SELECT 1 FROM journal k WHERE k.seq = j.seq - 1)";

int nx_store_journal_gaps(nx_store_t *st, uint64_t *gaps)
{
    mark_t m;
    int64_t v = 0;
    int rc = mark_get(st, "journal", &m);
    sqlv_t after = sql_int((int64_t)m.through + 1);
    if (!rc)
        rc = st->ops->exec(st, SQL_JOURNAL_GAPS, &after, 1, get_int, &v);
    *gaps = (uint64_t)v;
    return rc;
}

/* ---- stored fills, summed at a checkpoint --------------------------------- */

/* Start-up checks each session's saved positions against its stored fills.
 * Reading every fill ever stored would make every start slower than the
 * last; instead the sums per session and symbol are kept at a checkpoint
 * (fill_sums, and the mark "fills": the highest fill sequence they hold),
 * and only the fills stored after it are read one by one. */
static const char SQL_SUMS[] = "SELECT session, venue, symbol, net, last_seq FROM fill_sums"
                               " ORDER BY session, venue, symbol";
static const char SQL_FILLS_AFTER[] =
    "SELECT session, venue, symbol, side, qty, seq FROM fills WHERE seq > $1"
    " ORDER BY session, symbol, seq";
static const char SQL_SUMS_CLEAR[] = "DELETE FROM fill_sums";
static const char SQL_SUM_PUT[] =
    "INSERT INTO fill_sums (session, venue, symbol, net, last_seq) VALUES ($1, $2, $3, $4, $5)";

typedef struct sums {
    nx_store_fill_t *row;
    int n, cap;
    uint64_t through, read;
    int bad; /* a row that could not be read: no new checkpoint */
    const nx_symtab_t *t;
} sums_t;

static int sums_add(sums_t *s, const nx_store_fill_t *f)
{
    for (int i = 0; f->ok && i < s->n; i++) {
        nx_store_fill_t *r = &s->row[i];
        if (r->ok && r->session == f->session && r->symbol == f->symbol) {
            if (__builtin_add_overflow(r->qty, f->qty, &r->qty))
                r->ok = 0, s->bad = 1;
            if (f->seq > r->seq)
                r->seq = f->seq;
            return 0;
        }
    }
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        nx_store_fill_t *g = realloc(s->row, (size_t)cap * sizeof *g);
        if (!g)
            return 1;
        s->row = g;
        s->cap = cap;
    }
    s->row[s->n++] = *f;
    s->bad |= !f->ok;
    return 0;
}

static int sum_row(void *ctx, const sqlv_t *c, int n)
{
    sums_t *s = ctx;
    if (n < 5)
        return 1;
    nx_store_fill_t f;
    memset(&f, 0, sizeof f);
    f.session = (uint32_t)c[0].i;
    f.symbol = symbol_of(s->t, &c[1], &c[2]);
    const nx_symbol_t *y = nx_symtab_get(s->t, f.symbol);
    f.ok = y && units(&c[3], y->qty_scale, &f.qty) == 0;
    f.seq = (uint64_t)c[4].i;
    return sums_add(s, &f);
}

static int sum_fill(void *ctx, const nx_store_fill_t *f)
{
    sums_t *s = ctx;
    s->read++;
    if (f->seq > s->through)
        s->through = f->seq;
    return sums_add(s, f);
}

/* The sums as the new checkpoint, in one transaction. */
static int sums_store(nx_store_t *st, const sums_t *s)
{
    int rc = nx_store_begin(st);
    if (!rc)
        rc = st->ops->exec(st, SQL_SUMS_CLEAR, NULL, 0, NULL, NULL);
    for (int i = 0; !rc && i < s->n; i++) {
        const nx_store_fill_t *r = &s->row[i];
        const nx_symbol_t *y = nx_symtab_get(s->t, r->symbol);
        char net[NX_FIXED_FMT_MAX];
        nx_fixed_format(r->qty, y->qty_scale, net, sizeof net);
        sqlv_t p[5] = {sql_int(r->session), sql_int(y->venue), sql_text(y->name), sql_text(net),
                       sql_int((int64_t)r->seq)};
        rc = st->ops->exec(st, SQL_SUM_PUT, p, 5, NULL, NULL);
    }
    mark_t m = {s->through, (uint64_t)s->n, 0};
    if (!rc)
        rc = mark_put(st, "fills", &m);
    if (!rc)
        rc = nx_store_commit(st);
    if (rc) {
        char why[512];
        snprintf(why, sizeof why, "%s", st->err);
        nx_store_rollback(st);
        store_fail(st, rc, "the fill checkpoint was not stored: %s", why);
    }
    return rc;
}

int nx_store_fill_sums(nx_store_t *st, const nx_symtab_t *t, nx_fill_sums_t how, nx_fill_row_cb cb,
                       void *ctx, uint64_t *read)
{
    sums_t s = {.t = t};
    mark_t m = {0, 0, 0};
    int rc = 0;
    if (how != NX_FILLS_ALL) { /* the checkpoint, then what came after it */
        rc = mark_get(st, "fills", &m);
        if (!rc)
            rc = st->ops->exec(st, SQL_SUMS, NULL, 0, sum_row, &s);
    }
    s.through = m.through;
    rows_ctx_t k = {.cb.fill = sum_fill, .ctx = &s, .t = t};
    sqlv_t after = sql_int((int64_t)m.through);
    if (!rc)
        rc = st->ops->exec(st, SQL_FILLS_AFTER, &after, 1, fill_row, &k);
    if (!rc && how == NX_FILLS_CHECKPOINT && !s.bad && (s.read || s.through != m.through))
        rc = sums_store(st, &s);
    for (int i = 0; !rc && cb && i < s.n; i++)
        if (cb(ctx, &s.row[i]))
            break;
    if (read)
        *read = s.read;
    free(s.row);
    return rc;
}
