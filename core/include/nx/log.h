/*
 * log.h — NexusLogger: leveled logging that never blocks the hot path.
 *
 * Callers format into a fixed 512-byte record and push it onto a lock-free
 * bounded multi-producer queue (Vyukov's per-cell sequence design); a log
 * thread pops records, applies debouncing and redaction, and writes them.
 * A full queue drops the record and counts it (the log thread reports the
 * count) rather than ever making a caller wait. Cost to the caller: the
 * level check (one load), vsnprintf of the message, one CAS.
 *
 * Debouncing: a record logged with a key (NX_LOGK_*) that was already
 * emitted less than `debounce_ms` ago is suppressed; when the window closes
 * the last suppressed text is written once more with "(repeated K times)".
 * Use keys for anything a venue or a user can trigger repeatedly (malformed
 * frames, reconnects), so a storm becomes one line per window.
 *
 * Redaction: nx_log_add_secret() registers a string (API key, bot token)
 * that must never be printed; the writer replaces every occurrence in every
 * record with "[REDACTED]" before it reaches the output. nx_redact() renders
 * a secret for display as a fingerprint that reveals none of its characters.
 *
 * Before nx_log_start() (and after nx_log_stop()) records are written
 * synchronously by the calling thread, with the same filtering and
 * redaction, so command-line tools and start-up errors need no thread.
 *
 * Threads: every function may be called from any thread.
 */
#ifndef NX_LOG_H
#define NX_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "nx/compiler.h"

typedef enum nx_log_level {
    NX_LOG_DEBUG = 0,
    NX_LOG_INFO = 1,
    NX_LOG_WARN = 2,
    NX_LOG_ERROR = 3,
    NX_LOG_OFF = 4,
} nx_log_level_t;

typedef enum nx_log_format {
    NX_LOG_TEXT = 0,
    NX_LOG_JSON = 1,
} nx_log_format_t;

typedef struct nx_log_opts {
    nx_log_level_t level;
    nx_log_format_t format;
    int fd;               /* output file descriptor (default 2) */
    uint32_t debounce_ms; /* suppression window for keyed records (default 10000) */
    uint32_t capacity;    /* queue records, power of two (default 4096) */
} nx_log_opts_t;

/* Defaults: INFO, text, stderr, 10 s debounce, 4096 records. */
void nx_log_opts_default(nx_log_opts_t *o);

/* Apply options and start the log thread. Returns 0, NX_EINVAL, NX_ENOMEM,
 * NX_ESYSTEM (thread), or NX_ESTATE if already started. */
int nx_log_start(const nx_log_opts_t *o);

/* Drain the queue, flush pending debounce summaries, stop and join the log
 * thread. Safe to call when not started. */
void nx_log_stop(void);

/* Block until every record pushed before the call has been written (tests,
 * shutdown). Returns at once when no thread runs. */
void nx_log_flush(void);

/* Change level/format/fd while running or not (any thread). */
void nx_log_set_level(nx_log_level_t level);
void nx_log_set_fd(int fd);

/* Register a secret that must never be printed (>= 4 bytes; up to 32 are
 * kept; copied into static storage and wiped with sodium-style zeroing by
 * nx_log_clear_secrets). Returns 0, NX_EINVAL or NX_EFULL. */
int nx_log_add_secret(const char *secret);
void nx_log_clear_secrets(void);

/* Render a secret as "[REDACTED:xxxx]" where xxxx is a 16-bit fingerprint,
 * so two keys can be told apart without revealing either. Writes a
 * NUL-terminated string into out (cap >= 20); returns out. */
char *nx_redact(const char *secret, char *out, size_t cap);

/* Records dropped because the queue was full, since start. */
uint64_t nx_log_dropped(void);

/* The most a tail reads from a log file's end (log_tail.c). */
#define NX_LOG_TAIL_BYTES (64 * 1024)

/* The last n (>= 1) lines of the file at path, reading at most
 * NX_LOG_TAIL_BYTES from its end, whatever its size: fewer lines when they
 * do not fit in that block. Copies them into out (NUL-terminated, cut at
 * cap), *nread = bytes read. Returns how many lines, or NX_EINVAL, NX_ENOENT
 * (cannot open), NX_EIO (not a regular file), NX_ENOMEM. Any thread;
 * blocks on one read; allocates the block. */
int nx_log_tail(const char *path, int n, char *out, size_t cap, size_t *nread);

/* "debug" | "info" | "warn" | "error" -> level; -1 if unknown. */
int nx_log_level_parse(const char *s);
const char *nx_log_level_name(nx_log_level_t l);

void nx_log_write(nx_log_level_t level, const char *module, const char *key, const char *fmt, ...)
    NX_PRINTF(4, 5);

extern _Atomic int nx_log__level; /* fast-path filter; use the macros */

#define NX_LOG_(lvl, module, key, ...)                                                             \
    do {                                                                                           \
        if ((int)(lvl) >= atomic_load_explicit(&nx_log__level, memory_order_relaxed))              \
            nx_log_write((lvl), (module), (key), __VA_ARGS__);                                     \
    } while (0)

#define NX_DEBUG(module, ...) NX_LOG_(NX_LOG_DEBUG, module, NULL, __VA_ARGS__)
#define NX_INFO(module, ...)  NX_LOG_(NX_LOG_INFO, module, NULL, __VA_ARGS__)
#define NX_WARN(module, ...)  NX_LOG_(NX_LOG_WARN, module, NULL, __VA_ARGS__)
#define NX_ERROR(module, ...) NX_LOG_(NX_LOG_ERROR, module, NULL, __VA_ARGS__)
/* Debounced variants: `key` names the kind of message ("binance.malformed"). */
#define NX_LOGK(lvl, module, key, ...) NX_LOG_(lvl, module, key, __VA_ARGS__)

#endif /* NX_LOG_H */
