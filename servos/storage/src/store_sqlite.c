/*
 * store_sqlite.c — the embedded backend (SQLite 3).
 *
 * One file, WAL journal, synchronous=FULL (a commit is on disk before it is
 * acknowledged), foreign keys on, secure_delete on (a row overwritten, such
 * as a plaintext key sealed in place, leaves no copy in free pages).
 * Statements are prepared once and kept, keyed by their SQL text's address
 * (every statement is a string constant).
 */
#include "store_int.h"

#include "nx/error.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define CACHE 64

typedef struct cached {
    const char *sql;
    sqlite3_stmt *stmt;
} cached_t;

static sqlite3_stmt *prepare(nx_store_t *st, const char *sql)
{
    cached_t *c = st->cache;
    int i = 0;
    for (; i < CACHE && c[i].sql; i++)
        if (c[i].sql == sql) {
            if (!strcmp(sqlite3_sql(c[i].stmt), sql))
                return c[i].stmt;
            i = CACHE; /* same address, other text (not a constant): run it uncached */
            break;
        }
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(st->db, sql, -1, i < CACHE ? SQLITE_PREPARE_PERSISTENT : 0, &s,
                           NULL) != SQLITE_OK) {
        store_fail(st, NX_EIO, "sqlite: %s", sqlite3_errmsg(st->db));
        return NULL;
    }
    if (i < CACHE)
        c[i] = (cached_t){sql, s};
    return s;
}

static void release(nx_store_t *st, const char *sql, sqlite3_stmt *s)
{
    cached_t *c = st->cache;
    for (int i = 0; i < CACHE && c[i].sql; i++)
        if (c[i].stmt == s) {
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            return;
        }
    (void)sql;
    sqlite3_finalize(s); /* the cache was full: not kept */
}

static int bind(nx_store_t *st, sqlite3_stmt *s, const sqlv_t *p, int n)
{
    if (sqlite3_bind_parameter_count(s) != n)
        return store_fail(st, NX_EINVAL, "sqlite: %d parameters given, statement has %d", n,
                          sqlite3_bind_parameter_count(s));
    for (int i = 0; i < n; i++) {
        int rc;
        switch (p[i].type) {
        case SQL_INT:
            rc = sqlite3_bind_int64(s, i + 1, p[i].i);
            break;
        case SQL_REAL:
            rc = sqlite3_bind_double(s, i + 1, p[i].d);
            break;
        case SQL_TEXT:
            rc = sqlite3_bind_text(s, i + 1, p[i].p, p[i].n ? (int)p[i].n : -1, SQLITE_STATIC);
            break;
        case SQL_BLOB:
            rc = sqlite3_bind_blob(s, i + 1, p[i].p, (int)p[i].n, SQLITE_STATIC);
            break;
        default:
            rc = sqlite3_bind_null(s, i + 1);
        }
        if (rc != SQLITE_OK)
            return store_fail(st, NX_EIO, "sqlite: bind: %s", sqlite3_errmsg(st->db));
    }
    return 0;
}

static int sl_exec(nx_store_t *st, const char *sql, const sqlv_t *params, int n, row_cb cb,
                   void *ctx)
{
    sqlite3_stmt *s = prepare(st, sql);
    if (!s)
        return NX_EIO;
    int rc = bind(st, s, params, n);
    while (rc == 0) {
        int step = sqlite3_step(s);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = store_fail(st, step == SQLITE_CONSTRAINT ? NX_EEXIST : NX_EIO, "sqlite: %s",
                            sqlite3_errmsg(st->db));
            break;
        }
        if (!cb)
            continue;
        sqlv_t cols[32];
        int nc = sqlite3_column_count(s);
        nc = nc > 32 ? 32 : nc;
        for (int i = 0; i < nc; i++) {
            memset(&cols[i], 0, sizeof cols[i]);
            switch (sqlite3_column_type(s, i)) {
            case SQLITE_INTEGER:
                cols[i].type = SQL_INT;
                cols[i].i = sqlite3_column_int64(s, i);
                break;
            case SQLITE_FLOAT:
                cols[i].type = SQL_REAL;
                cols[i].d = sqlite3_column_double(s, i);
                break;
            case SQLITE_TEXT:
                cols[i].type = SQL_TEXT;
                cols[i].p = sqlite3_column_text(s, i);
                cols[i].n = (size_t)sqlite3_column_bytes(s, i);
                break;
            case SQLITE_BLOB:
                cols[i].type = SQL_BLOB;
                cols[i].p = sqlite3_column_blob(s, i);
                cols[i].n = (size_t)sqlite3_column_bytes(s, i);
                break;
            default:
                cols[i].type = SQL_NULL;
            }
        }
        if (cb(ctx, cols, nc))
            break;
    }
    release(st, sql, s);
    return rc;
}

static int sl_script(nx_store_t *st, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = store_fail(st, NX_EIO, "sqlite: %s", msg ? msg : "?");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

static int sl_bulk(nx_store_t *st, const bulk_t *b, const sqlv_t *vals, int nrows)
{
    for (int i = 0; i < nrows; i++) {
        int rc = sl_exec(st, b->insert, vals + (size_t)i * (size_t)b->ncols, b->ncols, NULL, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

static void sl_close(nx_store_t *st)
{
    cached_t *c = st->cache;
    for (int i = 0; c && i < CACHE && c[i].sql; i++)
        sqlite3_finalize(c[i].stmt);
    free(c);
    sqlite3_close(st->db);
}

static int sl_pipe(nx_store_t *st, int on)
{
    (void)st, (void)on; /* in-process: every statement is already a function call */
    return 0;
}

static const store_ops_t sqlite_ops = {
    "sqlite", sl_exec, sl_script, sl_bulk, sl_pipe, sl_close,
    "BLOB",   "TEXT",  "INTEGER PRIMARY KEY AUTOINCREMENT",
};

int store_sqlite_open(nx_store_t *st, const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        int rc = store_fail(st, NX_EIO, "sqlite: cannot open %s: %s", path,
                            db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return rc;
    }
    st->db = db;
    st->ops = &sqlite_ops;
    st->kind = STORE_SQLITE;
    st->cache = calloc(CACHE, sizeof(cached_t));
    if (!st->cache)
        return NX_ENOMEM;
    sqlite3_busy_timeout(db, 5000);
    return sl_script(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                         "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;");
}
