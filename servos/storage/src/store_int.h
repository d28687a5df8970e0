/*
 * store_int.h — what the two storage backends implement (private to servos/storage).
 *
 * SQL is written once, its parameters written $1, $2, … and numbered in order of
 * first use: PostgreSQL reads them natively, and SQLite binds "$N" by
 * position when they appear in that order. DDL differs only in type names,
 * written {BLOB} {JSON} {PK} in the migrations and substituted per backend.
 */
#ifndef NX_STORE_INT_H
#define NX_STORE_INT_H

#include "nx/store.h"

enum { SQL_NULL = 0, SQL_INT, SQL_TEXT, SQL_BLOB, SQL_REAL };

typedef struct sqlv {
    uint8_t type;
    int64_t i;
    double d;
    const void *p; /* text (NUL-terminated when n is 0) or blob */
    size_t n;
} sqlv_t;

static inline sqlv_t sql_int(int64_t i)
{
    return (sqlv_t){SQL_INT, i, 0, NULL, 0};
}
static inline sqlv_t sql_text(const char *s)
{
    return s ? (sqlv_t){SQL_TEXT, 0, 0, s, 0} : (sqlv_t){SQL_NULL, 0, 0, NULL, 0};
}
static inline sqlv_t sql_blob(const void *p, size_t n)
{
    return p ? (sqlv_t){SQL_BLOB, 0, 0, p, n} : (sqlv_t){SQL_NULL, 0, 0, NULL, 0};
}
static inline sqlv_t sql_real(double d)
{
    return (sqlv_t){SQL_REAL, 0, d, NULL, 0};
}
static inline sqlv_t sql_null(void)
{
    return (sqlv_t){SQL_NULL, 0, 0, NULL, 0};
}

/* One result row; values valid only during the call. Return non-zero to stop. */
typedef int (*row_cb)(void *ctx, const sqlv_t *cols, int ncols);

/* Many rows into one table, inside the caller's transaction: PostgreSQL
 * sends them with `copy` (COPY ... FROM STDIN), SQLite runs `insert` (the
 * same columns as $1..$ncols) once per row. Values are row-major. */
typedef struct bulk {
    const char *copy;
    const char *insert;
    int ncols;
} bulk_t;

typedef enum store_kind { STORE_SQLITE = 0, STORE_PG = 1 } store_kind_t;

typedef struct store_ops {
    const char *name;
    /* one statement; cb sees each row (may be NULL) */
    int (*exec)(nx_store_t *st, const char *sql, const sqlv_t *params, int n, row_cb cb,
                void *ctx);
    /* several statements, no parameters (DDL) */
    int (*script)(nx_store_t *st, const char *sql);
    int (*bulk)(nx_store_t *st, const bulk_t *b, const sqlv_t *vals, int nrows);
    /* on = 1: statements without rows may be queued; on = 0: run what is
     * queued and return the first error */
    int (*pipe)(nx_store_t *st, int on);
    void (*close)(nx_store_t *st);
    /* type names for {BLOB} {JSON} {PK} */
    const char *blob, *json, *pk;
} store_ops_t;

struct nx_store {
    const store_ops_t *ops;
    store_kind_t kind; /* where the SQL dialects differ */
    char err[512];
    void *db; /* sqlite3 * or PGconn * */
    void *cache; /* backend's prepared statements */
    int in_tx;   /* between nx_store_begin and commit/rollback */
    void *states; /* saved-state parts being put together, per session (store.c) */
    void *decoded; /* nx_state_session_t: a whole saved state read back (store.c) */
};

/* Record an error text (printf style) and return rc. */
int store_fail(nx_store_t *st, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int store_sqlite_open(nx_store_t *st, const char *path);
int store_pg_open(nx_store_t *st, const char *url);

#endif
