/*
 * store_pg.c — the PostgreSQL backend (libpq).
 *
 * Statements are prepared on the server once per connection (named after
 * their slot in a small cache keyed by the SQL text's address) and run with
 * PQexecPrepared: parameters travel apart from the SQL, text for numbers
 * and strings, binary for blobs. Journal batches go in with COPY FROM
 * STDIN (text format, escaped here), the fastest way libpq offers to load
 * rows; the caller's transaction makes the batch atomic.
 *
 * A connection the server dropped (it restarted, or was stopped for a
 * while) is made again before the next statement that starts a unit of
 * work — never inside a transaction, nor for its COMMIT, which on a new
 * connection would "succeed" with nothing to commit — at most twice a
 * second while the server stays away.
 */
#include "store_int.h"

#include "nx/clock.h"
#include "nx/error.h"
#include "nx/log.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE       64
#define BYTEA_OID   17
#define INT8_OID    20
#define INT2_OID    21
#define INT4_OID    23
#define FLOAT8_OID  701

typedef struct cached {
    const char *sql;
    char *text; /* a copy, to tell a reused address from the same statement */
} cached_t;

typedef struct pg {
    cached_t c[CACHE];
    int piping; /* in pipeline mode: statements are sent, results read at the sync */
    int64_t next_reset_ns; /* monotonic: no new connection tried before */
    int lost;              /* the connection was lost and not yet made again */
} pg_t;

#define SETUP "SET client_min_messages = warning; SET TIME ZONE 'UTC'"

static void forget(nx_store_t *st);

/* Before a statement outside a transaction: a dropped connection is made
 * again (the prepared statements with it). 0, or NX_EIO while the server
 * stays away. */
static int alive(nx_store_t *st)
{
    pg_t *g = st->cache;
    if (st->in_tx || g->piping || PQstatus(st->db) == CONNECTION_OK)
        return 0;
    if (!g->lost) {
        g->lost = 1;
        NX_LOGK(NX_LOG_WARN, "store", "store.pg_lost", "postgresql: the connection was lost: %.*s",
                (int)strcspn(PQerrorMessage(st->db), "\n"), PQerrorMessage(st->db));
    }
    int64_t now = nx_mono_ns();
    if (now < g->next_reset_ns)
        return store_fail(st, NX_EIO, "postgresql: no connection (the server is away)");
    g->next_reset_ns = now + NX_NS_PER_SEC / 2;
    PQreset(st->db);
    if (PQstatus(st->db) != CONNECTION_OK) {
        const char *m = PQerrorMessage(st->db);
        return store_fail(st, NX_EIO, "postgresql: cannot connect: %.*s", (int)strcspn(m, "\n"), m);
    }
    forget(st);
    PGresult *r = PQexec(st->db, SETUP);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok)
        return store_fail(st, NX_EIO, "postgresql: %s", PQerrorMessage(st->db));
    g->lost = 0;
    NX_INFO("store", "postgresql: connected again");
    return 0;
}

/* Forget every prepared statement (after a failed pipeline, whose
 * preparations may or may not have happened). */
static void forget(nx_store_t *st)
{
    pg_t *g = st->cache;
    for (int i = 0; i < CACHE; i++) {
        free(g->c[i].text);
        g->c[i].text = NULL;
        g->c[i].sql = NULL;
    }
    PQclear(PQexec(st->db, "DEALLOCATE ALL"));
}

static int pg_error(nx_store_t *st, PGresult *r, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    int rc = state && !strcmp(state, "23505") ? NX_EEXIST : NX_EIO;
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(st->db);
    store_fail(st, rc, "postgresql: %s: %.*s", what, (int)strcspn(msg, "\n"), msg);
    PQclear(r);
    return rc;
}

/* The prepared statement's name, preparing it on first use. */
static int prepared(nx_store_t *st, const char *sql, int n, char name[16])
{
    pg_t *g = st->cache;
    cached_t *c = g->c;
    int i = 0;
    for (; i < CACHE && c[i].sql; i++)
        if (c[i].sql == sql) {
            if (strcmp(c[i].text, sql)) {
                name[0] = 0; /* same address, other text (not a constant): unnamed */
                return 0;
            }
            snprintf(name, 16, "s%d", i);
            return 0;
        }
    if (i == CACHE) {
        name[0] = 0; /* full: run unnamed */
        return 0;
    }
    snprintf(name, 16, "s%d", i);
    if (g->piping) { /* its result comes at the sync */
        if (!PQsendPrepare(st->db, name, sql, n, NULL))
            return store_fail(st, NX_EIO, "postgresql: prepare: %s", PQerrorMessage(st->db));
    } else {
        PGresult *r = PQprepare(st->db, name, sql, n, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            return pg_error(st, r, "prepare");
        PQclear(r);
    }
    c[i].text = strdup(sql);
    if (!c[i].text)
        return NX_ENOMEM;
    c[i].sql = sql;
    return 0;
}

static int pg_exec(nx_store_t *st, const char *sql, const sqlv_t *p, int n, row_cb cb, void *ctx)
{
    char name[16];
    int rc = alive(st);
    if (rc)
        return rc;
    rc = prepared(st, sql, n, name);
    if (rc)
        return rc;
    const char *vals[32];
    int lens[32], fmts[32];
    char num[32][32];
    if (n > 32)
        return store_fail(st, NX_EINVAL, "postgresql: too many parameters");
    for (int i = 0; i < n; i++) {
        lens[i] = 0;
        fmts[i] = 0;
        switch (p[i].type) {
        case SQL_INT:
            snprintf(num[i], sizeof num[i], "%lld", (long long)p[i].i);
            vals[i] = num[i];
            break;
        case SQL_REAL:
            snprintf(num[i], sizeof num[i], "%.17g", p[i].d);
            vals[i] = num[i];
            break;
        case SQL_TEXT:
            vals[i] = p[i].p; /* NUL-terminated */
            break;
        case SQL_BLOB:
            vals[i] = p[i].p;
            lens[i] = (int)p[i].n;
            fmts[i] = 1;
            break;
        default:
            vals[i] = NULL;
        }
    }
    if (((pg_t *)st->cache)->piping) {
        if (cb)
            return store_fail(st, NX_EINVAL, "postgresql: no rows in a pipeline");
        int ok = name[0] ? PQsendQueryPrepared(st->db, name, n, vals, lens, fmts, 0)
                         : PQsendQueryParams(st->db, sql, n, NULL, vals, lens, fmts, 0);
        return ok ? 0 : store_fail(st, NX_EIO, "postgresql: send: %s", PQerrorMessage(st->db));
    }
    PGresult *r = name[0] ? PQexecPrepared(st->db, name, n, vals, lens, fmts, 0)
                          : PQexecParams(st->db, sql, n, NULL, vals, lens, fmts, 0);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        return pg_error(st, r, "statement");
    int rows = PQntuples(r), nc = PQnfields(r);
    nc = nc > 32 ? 32 : nc;
    for (int row = 0; cb && row < rows; row++) {
        sqlv_t cols[32];
        unsigned char *un[32] = {0};
        for (int i = 0; i < nc; i++) {
            memset(&cols[i], 0, sizeof cols[i]);
            if (PQgetisnull(r, row, i))
                continue;
            const char *v = PQgetvalue(r, row, i);
            Oid t = PQftype(r, i);
            if (t == INT8_OID || t == INT4_OID || t == INT2_OID) {
                cols[i].type = SQL_INT;
                cols[i].i = strtoll(v, NULL, 10);
            } else if (t == FLOAT8_OID) {
                cols[i].type = SQL_REAL;
                cols[i].d = strtod(v, NULL);
            } else if (t == BYTEA_OID) {
                size_t len = 0;
                un[i] = PQunescapeBytea((const unsigned char *)v, &len);
                cols[i].type = SQL_BLOB;
                cols[i].p = un[i];
                cols[i].n = len;
            } else {
                cols[i].type = SQL_TEXT;
                cols[i].p = v;
                cols[i].n = (size_t)PQgetlength(r, row, i);
            }
        }
        int stop = cb(ctx, cols, nc);
        for (int i = 0; i < nc; i++)
            PQfreemem(un[i]);
        if (stop)
            break;
    }
    PQclear(r);
    return 0;
}

static int pg_script(nx_store_t *st, const char *sql)
{
    /* never for a COMMIT or ROLLBACK: on a new connection there is no
     * transaction, and a COMMIT there "succeeds" with nothing stored */
    if (strcmp(sql, "COMMIT") && strcmp(sql, "ROLLBACK")) {
        int rc = alive(st);
        if (rc)
            return rc;
    }
    PGresult *r = PQexec(st->db, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        return pg_error(st, r, "script");
    PQclear(r);
    return 0;
}

/* COPY text format: backslash, tab, newline and carriage return escaped. */
static size_t copy_text(char *out, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' || c == '\t' || c == '\n' || c == '\r') {
            out[k++] = '\\';
            c = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
        }
        out[k++] = c;
    }
    return k;
}

#define NO_ROOM ((size_t)-1)

/* One value in COPY text format, or NO_ROOM. */
static size_t copy_value(char *out, size_t room, const sqlv_t *v)
{
    static const char hex[] = "0123456789abcdef";
    switch (v->type) {
    case SQL_INT:
        return room < 24 ? NO_ROOM : (size_t)snprintf(out, room, "%lld", (long long)v->i);
    case SQL_REAL:
        return room < 32 ? NO_ROOM : (size_t)snprintf(out, room, "%.17g", v->d);
    case SQL_TEXT: {
        size_t n = v->n ? v->n : strlen(v->p);
        return room < 2 * n + 1 ? NO_ROOM : copy_text(out, v->p, n);
    }
    case SQL_BLOB: {
        if (room < 2 * v->n + 4)
            return NO_ROOM;
        size_t k = 0;
        out[k++] = '\\'; /* \x..., the backslash itself escaped for COPY */
        out[k++] = '\\';
        out[k++] = 'x';
        for (size_t i = 0; i < v->n; i++) {
            out[k++] = hex[((const uint8_t *)v->p)[i] >> 4];
            out[k++] = hex[((const uint8_t *)v->p)[i] & 15];
        }
        return k;
    }
    default:
        return room < 3 ? NO_ROOM : (size_t)snprintf(out, room, "\\N");
    }
}

static int pg_bulk(nx_store_t *st, const bulk_t *b, const sqlv_t *vals, int nrows)
{
    if (nrows == 0)
        return 0;
    PGresult *res = PQexec(st->db, b->copy);
    if (PQresultStatus(res) != PGRES_COPY_IN)
        return pg_error(st, res, "copy");
    PQclear(res);
    enum { CHUNK = 1 << 16, ROW = 1 << 14 };
    static __thread char buf[CHUNK + ROW];
    size_t len = 0;
    int rc = 0;
    for (int i = 0; i < nrows && rc == 0; i++) {
        const sqlv_t *row = vals + (size_t)i * (size_t)b->ncols;
        size_t start = len;
        for (int c = 0; c < b->ncols && rc == 0; c++) {
            size_t k = copy_value(buf + len, start + ROW - len - 2, &row[c]);
            if (k == NO_ROOM) {
                rc = store_fail(st, NX_ETOOLONG, "postgresql: a row too long for COPY");
                break;
            }
            len += k;
            buf[len++] = c == b->ncols - 1 ? '\n' : '\t';
        }
        if (!rc && (len >= CHUNK || i == nrows - 1)) {
            if (PQputCopyData(st->db, buf, (int)len) != 1)
                rc = store_fail(st, NX_EIO, "postgresql: copy: %s", PQerrorMessage(st->db));
            len = 0;
        }
    }
    if (PQputCopyEnd(st->db, rc ? "aborted" : NULL) != 1 && !rc)
        rc = store_fail(st, NX_EIO, "postgresql: copy end: %s", PQerrorMessage(st->db));
    while ((res = PQgetResult(st->db))) {
        ExecStatusType s = PQresultStatus(res);
        if (s != PGRES_COMMAND_OK && !rc)
            rc = pg_error(st, res, "copy");
        else
            PQclear(res);
        /* a connection lost in the middle of a COPY answers "copy in" for
         * ever: the COPY is over, failed */
        if (s == PGRES_COPY_IN || PQstatus(st->db) == CONNECTION_BAD) {
            if (!rc)
                rc = store_fail(st, NX_EIO, "postgresql: copy: %s", PQerrorMessage(st->db));
            break;
        }
    }
    return rc;
}

/* Pipeline mode: statements go out back to back and their results are read
 * once at the end, one round trip for the lot instead of one each. */
static int pg_pipe(nx_store_t *st, int on)
{
    pg_t *g = st->cache;
    if (on) {
        if (!PQenterPipelineMode(st->db))
            return store_fail(st, NX_EIO, "postgresql: pipeline: %s", PQerrorMessage(st->db));
        g->piping = 1;
        return 0;
    }
    g->piping = 0;
    int rc = 0;
    if (!PQpipelineSync(st->db))
        rc = store_fail(st, NX_EIO, "postgresql: sync: %s", PQerrorMessage(st->db));
    for (int synced = rc != 0; !synced;) {
        PGresult *r = PQgetResult(st->db);
        if (!r && PQstatus(st->db) == CONNECTION_BAD) {
            /* the server went away: no sync will ever come */
            if (!rc)
                rc = store_fail(st, NX_EIO, "postgresql: pipeline: %.*s",
                                (int)strcspn(PQerrorMessage(st->db), "\n"),
                                PQerrorMessage(st->db));
            break;
        }
        if (!r)
            continue; /* the end of one statement's results */
        ExecStatusType t = PQresultStatus(r);
        if (t == PGRES_PIPELINE_SYNC) {
            synced = 1;
            PQclear(r);
        } else if (t == PGRES_FATAL_ERROR && !rc) {
            rc = pg_error(st, r, "pipelined statement");
        } else {
            PQclear(r); /* ok, or aborted after the first error */
        }
    }
    PQexitPipelineMode(st->db);
    if (rc)
        forget(st);
    return rc;
}

static void pg_close(nx_store_t *st)
{
    pg_t *g = st->cache;
    for (int i = 0; g && i < CACHE; i++)
        free(g->c[i].text);
    free(g);
    PQfinish(st->db);
}

static const store_ops_t pg_ops = {
    "postgresql", pg_exec,  pg_script, pg_bulk, pg_pipe, pg_close,
    "BYTEA",      "JSONB", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
};

static void quiet(void *arg, const char *msg)
{
    (void)arg, (void)msg; /* NOTICEs ("relation exists, skipping") are not errors */
}

int store_pg_open(nx_store_t *st, const char *url)
{
    PGconn *c = PQconnectdb(url);
    st->ops = &pg_ops;
    st->kind = STORE_PG;
    st->db = c;
    if (!c || PQstatus(c) != CONNECTION_OK) {
        const char *m = c ? PQerrorMessage(c) : "out of memory";
        return store_fail(st, NX_EIO, "postgresql: cannot connect: %.*s", (int)strcspn(m, "\n"),
                          m);
    }
    PQsetNoticeProcessor(c, quiet, NULL);
    st->cache = calloc(1, sizeof(pg_t));
    if (!st->cache)
        return NX_ENOMEM;
    return pg_script(st, SETUP);
}
