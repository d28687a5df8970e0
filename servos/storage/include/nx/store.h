/*
 * store.h — durable storage: one interface, two backends.
 *
 *  - PostgreSQL through libpq when a database URL is given (DATABASE_URL);
 *  - SQLite, one file in the data directory, otherwise (WAL journal,
 *    synchronous=FULL: a committed batch survives a crash of the process
 *    and of the machine).
 *
 * The schema is versioned by forward-only migrations (nx_store_migrate);
 * every statement is parameterised. Money and prices are stored as exact
 * decimal text ("35547.19"), times as int64 (ms or ns since the epoch, UTC,
 * as the column name says).
 *
 * The journal: every entry the engine journals is stored once, under a
 * sequence number that is unique across restarts (the writer continues
 * after nx_store_journal_last()), in one transaction per batch together
 * with what it means for the orders, fills, signals and approvals tables.
 * A batch is acknowledged only when its transaction has committed.
 *
 * Threads: a store handle belongs to one thread at a time (the engine
 * opens one at start-up and hands it to the service thread). Every call
 * blocks on the database: never from the engine or the network thread.
 */
#ifndef NX_STORE_H
#define NX_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "nx/event.h"
#include "nx/symtab.h"

typedef struct nx_store nx_store_t;

/* A user's role (the users table). Chat commands check
 * it: pending users wait for an admin's approval, banned ones are ignored. */
typedef enum nx_role {
    NX_ROLE_PENDING = 0,
    NX_ROLE_SUBSCRIBER,
    NX_ROLE_ADMIN,
    NX_ROLE_OWNER,
    NX_ROLE_BANNED,
} nx_role_t;

/* Open storage: database_url NULL or "" → SQLite at data_dir/nexus.db
 * (the directory is created, mode 0700); otherwise a PostgreSQL URL or
 * conninfo string. Does not migrate. Returns 0, or a negative NX_E… code
 * with the reason in err (a URL's password is never repeated there). */
int nx_store_open(nx_store_t **out, const char *database_url, const char *data_dir, char *err,
                  size_t cap);
void nx_store_close(nx_store_t *st);
const char *nx_store_kind_name(const nx_store_t *st);
/* The last error's text (empty if none). */
const char *nx_store_error(const nx_store_t *st);

/* Migrations. */
int nx_store_latest_version(void);
/* The applied version (0 = empty database). */
int nx_store_version(nx_store_t *st, int *version);
/* Apply every migration up to `target` (0 = latest), each in its own
 * transaction; *applied = how many. A database newer than this build is
 * refused (NX_ESTATE). */
int nx_store_migrate(nx_store_t *st, int target, int *applied);

/* Users. */
typedef struct nx_user {
    int64_t id;
    int64_t chat_id;
    char name[64];
    nx_role_t role;
    char tz[64]; /* IANA zone, "America/New_York" */
    int64_t created_ms;
} nx_user_t;

const char *nx_role_name(nx_role_t r);
/* -1 if not a role name. */
int nx_role_parse(const char *s);

/* A user the config seeds (its users list) under a given id: added when no
 * user has that id (0, and nothing done, when one has: the database wins);
 * NX_EEXIST when the chat id belongs to another user. */
int nx_store_user_seed(nx_store_t *st, int64_t id, int64_t chat_id, const char *name,
                       nx_role_t role);

/* The ceilings of a role, set by the owner or an admin: leverage a session
 * may use, sessions a user may hold. Pending and banned users: 1x, none. */
int nx_store_role_limits(nx_store_t *st, nx_role_t role, int *max_leverage, int *max_sessions);
/* NX_EINVAL for pending or banned, NX_ERANGE outside 1..20 / 0..64. */
int nx_store_role_limits_set(nx_store_t *st, nx_role_t role, int max_leverage, int max_sessions);

/* NX_EEXIST if the chat id is known. */
int nx_store_user_add(nx_store_t *st, int64_t chat_id, const char *name, nx_role_t role,
                      const char *tz, int64_t *id);
/* By chat id, or by user id when chat_id is 0. NX_ENOENT if none. */
int nx_store_user_get(nx_store_t *st, int64_t chat_id, int64_t user_id, nx_user_t *out);
int nx_store_user_set_role(nx_store_t *st, int64_t user_id, nx_role_t role);
typedef int (*nx_user_cb)(void *ctx, const nx_user_t *u);
int nx_store_users(nx_store_t *st, nx_user_cb cb, void *ctx);

/* Trading sessions: each belongs to one user (by id) and one venue account,
 * at most one per user and venue. The row is the session: its id is the
 * desk's session id (client order ids, the journal), config its settings
 * as the JSON of a config session (nx_config_session_parse), name a label
 * for people. Keys are stored as given: the caller seals them (vault.h). */
#define NX_SESSION_CONFIG_MAX 4096
typedef struct nx_session_row {
    int64_t id, user_id;
    char name[32];
    char venue[32];
    char mode[12]; /* watcher | copilot | pilot */
    int live;      /* 0 = paper */
    int has_key;
    int64_t updated_ms;
    char config[NX_SESSION_CONFIG_MAX];
} nx_session_row_t;

/* A new session; NX_EEXIST when the user has one on that venue. */
int nx_store_session_add(nx_store_t *st, int64_t user_id, const char *venue, const char *name,
                         const char *mode, int live, const char *config_json, int64_t *id);
/* The user's session on the venue, made (watcher, no settings) if none:
 * where keys go. */
int nx_store_session_ensure(nx_store_t *st, int64_t user_id, const char *venue, int64_t *id);
/* One session by id: 0 or NX_ENOENT. */
int nx_store_session_get(nx_store_t *st, int64_t id, nx_session_row_t *out);
/* Remove a session no order was ever sent for (one the desk could not
 * take): its row only. */
int nx_store_session_delete(nx_store_t *st, int64_t id);
/* Its mode and settings as changed at run time. */
int nx_store_session_update(nx_store_t *st, int64_t id, const char *mode, const char *config_json);
/* Mode, live flag and settings of the user's session on the venue, made if
 * none (tests and tools). */
int nx_store_session_put(nx_store_t *st, int64_t user_id, const char *venue, const char *mode,
                         int live, const char *config_json, int64_t *id);
int nx_store_session_set_keys(nx_store_t *st, int64_t user_id, const char *venue,
                              const uint8_t *key, size_t key_len, const uint8_t *secret,
                              size_t secret_len);
/* The stored key and secret bytes (sealed, or plaintext left by an older
 * release). key_len and secret_len give the capacities and return the sizes; NX_ERANGE if a buffer
 * is too small, NX_ENOENT if there is no such session or no key. */
int nx_store_session_keys(nx_store_t *st, int64_t user_id, const char *venue, uint8_t *key,
                          size_t *key_len, uint8_t *secret, size_t *secret_len);
typedef int (*nx_session_cb)(void *ctx, const nx_session_row_t *s);
/* user_id 0 = every user's. */
int nx_store_sessions(nx_store_t *st, int64_t user_id, nx_session_cb cb, void *ctx);

/* A small key-value table for the engine's own facts (the master key's check value). */
int nx_store_meta_get(nx_store_t *st, const char *key, uint8_t *val, size_t *len);
int nx_store_meta_put(nx_store_t *st, const char *key, const uint8_t *val, size_t len);

/* After a secret was overwritten in place: leave no old copy in the
 * files (SQLite: the WAL is checkpointed and truncated, freed content is
 * zeroed by secure_delete; PostgreSQL: VACUUM FULL rewrites the sessions
 * table without its dead row versions — the server's own WAL segments
 * keep them until it recycles them). A no-op inside a transaction. */
int nx_store_scrub(nx_store_t *st);

/* Append-only audit log: who did what, when, from which chat. */
int nx_store_audit(nx_store_t *st, int64_t user_id, int64_t chat_id, const char *action,
                   const char *detail);

/* Transactions (nest-free): for work that must happen all at once. */
int nx_store_begin(nx_store_t *st);
int nx_store_commit(nx_store_t *st);
int nx_store_rollback(nx_store_t *st);

/* The journal. */
typedef struct nx_journal_entry {
    uint64_t seq; /* unique across restarts, increasing */
    const nx_event_t *ev;
} nx_journal_entry_t;

/* Store n entries in one transaction (PostgreSQL: COPY; SQLite: one
 * prepared statement in one transaction), with their orders/fills/signals/
 * approvals rows. 0 once committed. */
int nx_store_journal_batch(nx_store_t *st, const nx_symtab_t *symtab, const nx_journal_entry_t *e,
                           int n);
/* One entry, one INSERT, its own transaction (the slow way; measured
 * against the batch in bench_store). */
int nx_store_journal_one(nx_store_t *st, const nx_symtab_t *symtab, const nx_journal_entry_t *e);
/* The highest stored sequence (0 if none). */
int nx_store_journal_last(nx_store_t *st, uint64_t *seq);
/* How many entries have seq in [from, to]. */
int nx_store_journal_count(nx_store_t *st, uint64_t from, uint64_t to, uint64_t *n);

/* Scheduled tasks (sched.h runs them). */
typedef struct nx_store_task {
    int64_t id, user_id;
    char cron[128];
    char tz[64];
    char action[64];
    int trading_days_only;
    int64_t next_run_ms, last_run_ms; /* last 0 = never */
    char last_result[256];
} nx_store_task_t;

int nx_store_task_add(nx_store_t *st, int64_t user_id, const char *cron, const char *tz,
                      const char *action, int trading_days_only, int64_t next_run_ms, int64_t *id);
typedef int (*nx_task_cb)(void *ctx, const nx_store_task_t *t);
/* Tasks with next_run_ms <= now_ms, earliest first (now_ms = INT64_MAX: all). */
int nx_store_tasks_due(nx_store_t *st, int64_t now_ms, nx_task_cb cb, void *ctx);
/* After a run (run_ms 0: not run, only moved on): the result and the next time. */
int nx_store_task_done(nx_store_t *st, int64_t id, int64_t run_ms, const char *result,
                       int64_t next_run_ms);

/* Recovery: the highest client-order sequence stored for a session, and
 * the highest approval request id (0 if none). */
int nx_store_last_client_seq(nx_store_t *st, uint32_t session, uint64_t *seq);
int nx_store_last_request(nx_store_t *st, uint32_t *request);

/* Recovery of the desk (desk.h): the latest saved state of each session
 * (0 = the desk's own) with the journal sequence it was stored under; the
 * orders the venue still held (not final), in the symbol's units; every
 * fill as a signed qty (buy > 0), by session, symbol and sequence; the
 * highest fill id. A row whose symbol is not in symtab or whose numbers do
 * not parse comes with ok = 0 (the caller reports it). Rows in text that
 * the store kept: nothing is changed. */
typedef int (*nx_state_cb)(void *ctx, uint32_t session, uint64_t seq, const char *text, size_t len);
int nx_store_states(nx_store_t *st, nx_state_cb cb, void *ctx);

typedef struct nx_store_order {
    nx_ev_order_intent_t in; /* client_id, session, side, order_type, reduce_only, price, qty */
    uint32_t symbol;         /* NX_SYMBOL_NONE if not in symtab */
    int ok;
} nx_store_order_t;
typedef int (*nx_order_row_cb)(void *ctx, const nx_store_order_t *o);
int nx_store_open_orders(nx_store_t *st, const nx_symtab_t *t, nx_order_row_cb cb, void *ctx);

typedef struct nx_store_fill {
    uint32_t session, symbol;
    int64_t qty; /* signed: buy > 0 */
    uint64_t seq;
    int ok;
} nx_store_fill_t;
typedef int (*nx_fill_row_cb)(void *ctx, const nx_store_fill_t *f);
int nx_store_fills(nx_store_t *st, const nx_symtab_t *t, nx_fill_row_cb cb, void *ctx);
int nx_store_last_fill_id(nx_store_t *st, uint64_t *id);

/* The stored fills summed per session and symbol (qty signed, seq the last
 * fill's journal sequence), for start-up's check of the saved positions:
 * the sums kept at the last checkpoint plus each fill stored after it,
 * read one by one, so a start reads what came since the last checkpoint,
 * not every fill ever stored. A fill or sum that cannot be read comes as a
 * row of its own with ok = 0. *read: fills read one by one (optional). */
typedef enum nx_fill_sums {
    NX_FILLS_SINCE = 0,  /* checkpoint + later fills; nothing changed */
    NX_FILLS_CHECKPOINT, /* the same, then stored as the new checkpoint (if every row was read) */
    NX_FILLS_ALL,        /* every fill, the checkpoint ignored (`nexus db status`) */
} nx_fill_sums_t;
int nx_store_fill_sums(nx_store_t *st, const nx_symtab_t *t, nx_fill_sums_t how, nx_fill_row_cb cb,
                       void *ctx, uint64_t *read);

/* Retention: journal entries recovery and the records of money and people
 * never need — market events, candles, signals, heartbeats, feed status,
 * saved states (desk_state keeps each session's latest) and decisions that
 * were no approval request or its outcome — once older than keep_ns of
 * market time (the newest journaled candle's), with their signals rows;
 * the equity curve keeps each session's last value of each UTC day.
 * Orders, fills, commands, notices, approvals are kept. One transaction;
 * idempotent. */
typedef struct nx_store_pruned {
    uint64_t through_seq;              /* prunable entries up to it are gone (all runs) */
    int64_t before_ns;                 /* market time of the cut */
    uint64_t entries, signals, equity; /* rows this call removed */
} nx_store_pruned_t;
int nx_store_prune(nx_store_t *st, int64_t keep_ns, nx_store_pruned_t *out);
/* What retention has removed so far: up to which sequence, how many
 * journal entries, and the cut's market time (all 0: nothing). */
int nx_store_pruned(nx_store_t *st, uint64_t *through_seq, uint64_t *entries, int64_t *before_ns);
/* Holes in the journal's sequence after what retention removed. */
int nx_store_journal_gaps(nx_store_t *st, uint64_t *gaps);

/* One integer from a constant query (tests, `nexus db status`): never
 * pass text that came from a user. */
int nx_store_scalar(nx_store_t *st, const char *sql, int64_t *out);

/* The database is consistent (SQLite: integrity_check; both: no orphan
 * rows). 0 if so, NX_ESTATE with the first problem in the error text. */
int nx_store_check(nx_store_t *st);

#endif /* NX_STORE_H */
