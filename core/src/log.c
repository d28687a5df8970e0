/*
 * log.c — NexusLogger (see log.h).
 *
 * Workload: a few records per second in steady state, bursts of thousands
 * when a venue misbehaves. The queue (4096 x 512 B = 2 MiB) absorbs a burst
 * of several seconds; debouncing keeps the output readable; a dropped record
 * costs the caller nothing and is reported by the log thread.
 */
#include "nx/log.h"
#include "nx/clock.h"
#include "nx/error.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MSG_MAX        440
#define MODULE_MAX     16
#define DEBOUNCE_SLOTS 256
#define SECRETS_MAX    32
#define SECRET_LEN_MAX 256

typedef struct rec {
    int64_t real_ns; /* wall-clock time of the call */
    int64_t mono_ns; /* monotonic time of the call (debounce windows) */
    uint64_t key;    /* debounce key hash, 0 = not debounced */
    uint8_t level;
    char module[MODULE_MAX];
    char msg[MSG_MAX];
} rec_t;

typedef struct cell {
    _Atomic uint64_t seq;
    rec_t rec;
} cell_t;

typedef struct debounce {
    uint64_t key;
    int64_t last_emit_ns;
    uint64_t suppressed;
    rec_t last; /* the most recent suppressed record */
} debounce_t;

static struct {
    cell_t *cells;
    uint64_t mask;
    _Atomic uint64_t enq; /* producers' claim position */
    uint64_t deq;         /* log thread only */
    _Atomic uint64_t dropped;
    uint64_t dropped_reported;
    _Atomic uint32_t futex_word;
    _Atomic uint32_t sleeping;
    _Atomic int running;
    _Atomic int stop;
    _Atomic uint64_t written; /* records taken off the queue */
    pthread_t thread;
    _Atomic int fd;
    _Atomic int format;
    uint32_t debounce_ms;
    debounce_t deb[DEBOUNCE_SLOTS];
    pthread_mutex_t out_lock; /* serialises output and the secret list */
    char secrets[SECRETS_MAX][SECRET_LEN_MAX];
    size_t secret_len[SECRETS_MAX];
    int n_secrets;
} L = {.fd = 2, .debounce_ms = 10000, .out_lock = PTHREAD_MUTEX_INITIALIZER};

_Atomic int nx_log__level = NX_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

const char *nx_log_level_name(nx_log_level_t l)
{
    return (unsigned)l <= NX_LOG_OFF ? level_names[l] : "?";
}

int nx_log_level_parse(const char *s)
{
    for (int i = 0; i <= NX_LOG_OFF; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void nx_log_opts_default(nx_log_opts_t *o)
{
    o->level = NX_LOG_INFO;
    o->format = NX_LOG_TEXT;
    o->fd = 2;
    o->debounce_ms = 10000;
    o->capacity = 4096;
}

void nx_log_set_level(nx_log_level_t level)
{
    atomic_store_explicit(&nx_log__level, (int)level, memory_order_relaxed);
}

static void log_set_format(nx_log_format_t f)
{
    atomic_store(&L.format, (int)f);
}

void nx_log_set_fd(int fd)
{
    atomic_store(&L.fd, fd);
}

uint64_t nx_log_dropped(void)
{
    return atomic_load(&L.dropped);
}

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h ? h : 1;
}

int nx_log_add_secret(const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    if (n < 4 || n >= SECRET_LEN_MAX)
        return NX_EINVAL;
    pthread_mutex_lock(&L.out_lock);
    for (int i = 0; i < L.n_secrets; i++) {
        if (L.secret_len[i] == n && memcmp(L.secrets[i], secret, n) == 0) {
            pthread_mutex_unlock(&L.out_lock);
            return 0;
        }
    }
    if (L.n_secrets >= SECRETS_MAX) {
        pthread_mutex_unlock(&L.out_lock);
        return NX_EFULL;
    }
    memcpy(L.secrets[L.n_secrets], secret, n);
    L.secret_len[L.n_secrets++] = n;
    pthread_mutex_unlock(&L.out_lock);
    return 0;
}

void nx_log_clear_secrets(void)
{
    pthread_mutex_lock(&L.out_lock);
    sodium_memzero(L.secrets, sizeof L.secrets); /* never dropped as a dead store */
    sodium_memzero(L.secret_len, sizeof L.secret_len);
    L.n_secrets = 0;
    pthread_mutex_unlock(&L.out_lock);
}

char *nx_redact(const char *secret, char *out, size_t cap)
{
    if (cap == 0)
        return out;
    uint64_t h = fnv(secret ? secret : "");
    snprintf(out, cap, "[REDACTED:%04x]",
             (unsigned)((h ^ (h >> 16) ^ (h >> 32) ^ (h >> 48)) & 0xffff));
    return out;
}

/* Replace every registered secret in s (in place; "[REDACTED]" is never
 * longer than the 4+ byte secret it replaces... it can be, so work in a
 * second buffer). Caller holds out_lock. */
static void scrub(char *s, size_t cap)
{
    static const char mark[] = "[REDACTED]";
    for (int k = 0; k < L.n_secrets; k++) {
        const char *sec = L.secrets[k];
        size_t sl = L.secret_len[k];
        char *p = strstr(s, sec);
        if (!p)
            continue;
        char tmp[2048];
        size_t o = 0;
        const char *r = s;
        while ((p = strstr(r, sec)) != NULL) {
            size_t pre = (size_t)(p - r);
            if (o + pre + sizeof mark >= sizeof tmp)
                break;
            memcpy(tmp + o, r, pre);
            o += pre;
            memcpy(tmp + o, mark, sizeof mark - 1);
            o += sizeof mark - 1;
            r = p + sl;
        }
        size_t rest = strlen(r);
        if (o + rest >= sizeof tmp)
            rest = sizeof tmp - 1 - o;
        memcpy(tmp + o, r, rest);
        o += rest;
        tmp[o] = 0;
        size_t n = o < cap - 1 ? o : cap - 1;
        memcpy(s, tmp, n);
        s[n] = 0;
        sodium_memzero(tmp, sizeof tmp);
    }
}

static size_t json_escape(char *dst, size_t cap, const char *src)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)src; *p && o + 7 < cap; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else if (c == '\n') {
            dst[o++] = '\\';
            dst[o++] = 'n';
        } else if (c < 0x20) {
            o += (size_t)snprintf(dst + o, cap - o, "\\u%04x", c);
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o] = 0;
    return o;
}

/* Format and write one record, with an optional suffix. Caller need not
 * hold the lock. */
static void emit(const rec_t *r, const char *suffix)
{
    char msg[MSG_MAX + 64];
    snprintf(msg, sizeof msg, "%s%s", r->msg, suffix ? suffix : "");
    char ts[40];
    size_t tl = (size_t)nx_utc_format(r->real_ns / 1000000000, ts, sizeof ts);
    snprintf(ts + tl, sizeof ts - tl, ".%06ldZ", (long)((r->real_ns % 1000000000) / 1000));

    char line[2048];
    int n;
    pthread_mutex_lock(&L.out_lock);
    scrub(msg, sizeof msg);
    if (atomic_load(&L.format) == NX_LOG_JSON) {
        char esc[sizeof msg * 2];
        json_escape(esc, sizeof esc, msg);
        char mod[MODULE_MAX * 6 + 1];
        json_escape(mod, sizeof mod, r->module);
        n = snprintf(line, sizeof line,
                     "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"%s\",\"msg\":\"%s\"}\n", ts,
                     level_names[r->level], mod, esc);
    } else {
        n = snprintf(line, sizeof line, "%s %-5s %s: %s\n", ts, level_names[r->level], r->module,
                     msg);
    }
    if (n > (int)sizeof line - 1)
        n = (int)sizeof line - 1;
    int fd = atomic_load(&L.fd);
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(fd, line + off, (size_t)(n - off));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        off += w;
    }
    pthread_mutex_unlock(&L.out_lock);
    sodium_memzero(msg, sizeof msg);
}

static debounce_t *deb_find(uint64_t key)
{
    for (unsigned i = 0; i < DEBOUNCE_SLOTS; i++) {
        debounce_t *d = &L.deb[(key + i) & (DEBOUNCE_SLOTS - 1)];
        if (d->key == key || d->key == 0) {
            d->key = key;
            return d;
        }
    }
    /* Table full (256 distinct keys inside one window): reuse the home slot. */
    debounce_t *d = &L.deb[key & (DEBOUNCE_SLOTS - 1)];
    d->key = key;
    d->suppressed = 0;
    d->last_emit_ns = 0;
    return d;
}

/* Write the suppressed count; the caller decides when the next window
 * starts. */
static void summarise(debounce_t *d)
{
    char suffix[48];
    snprintf(suffix, sizeof suffix, " (repeated %llu times)", (unsigned long long)d->suppressed);
    emit(&d->last, suffix);
    d->suppressed = 0;
}

static void handle(const rec_t *r)
{
    if (r->key == 0) {
        emit(r, NULL);
        return;
    }
    int64_t window = (int64_t)L.debounce_ms * 1000000;
    debounce_t *d = deb_find(r->key);
    if (d->last_emit_ns != 0 && r->mono_ns - d->last_emit_ns < window) {
        d->suppressed++;
        d->last = *r;
        return;
    }
    if (d->suppressed)
        summarise(d);
    emit(r, NULL);
    d->last_emit_ns = r->mono_ns;
}

/* Close debounce windows whose time is up (force: all of them). */
static void deb_sweep(int force)
{
    int64_t now = nx_mono_ns();
    int64_t window = (int64_t)L.debounce_ms * 1000000;
    for (unsigned i = 0; i < DEBOUNCE_SLOTS; i++) {
        debounce_t *d = &L.deb[i];
        if (d->key && d->suppressed && (force || now - d->last_emit_ns >= window)) {
            summarise(d);
            d->last_emit_ns = 0; /* window closed: the next occurrence is written */
        }
    }
}

static void report_drops(void)
{
    uint64_t dr = atomic_load(&L.dropped);
    if (dr != L.dropped_reported) {
        rec_t r = {.real_ns = nx_real_ns(), .mono_ns = nx_mono_ns(), .level = NX_LOG_WARN};
        snprintf(r.module, sizeof r.module, "log");
        snprintf(r.msg, sizeof r.msg, "log queue full: %llu records dropped",
                 (unsigned long long)(dr - L.dropped_reported));
        L.dropped_reported = dr;
        emit(&r, NULL);
    }
}

static int drain(void)
{
    int n = 0;
    for (;;) {
        cell_t *c = &L.cells[L.deq & L.mask];
        uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        if (seq != L.deq + 1)
            break;
        rec_t r = c->rec;
        atomic_store_explicit(&c->seq, L.deq + L.mask + 1, memory_order_release);
        L.deq++;
        handle(&r);
        atomic_fetch_add_explicit(&L.written, 1, memory_order_release);
        n++;
    }
    return n;
}

static long futex(_Atomic uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, (uint32_t *)addr, op, val, ts, NULL, 0);
}

static void *log_thread(void *arg)
{
    (void)arg;
    int64_t last_sweep = nx_mono_ns();
    for (;;) {
        int n = drain();
        report_drops();
        int64_t now = nx_mono_ns();
        if (now - last_sweep >= 50000000) {
            deb_sweep(0);
            last_sweep = now;
        }
        if (n)
            continue;
        if (atomic_load(&L.stop)) {
            drain();
            deb_sweep(1);
            report_drops();
            return NULL;
        }
        uint32_t key = atomic_load(&L.futex_word);
        atomic_store(&L.sleeping, 1);
        /* Re-check after announcing sleep (pairs with the producer's
         * seq_cst load of `sleeping` after its release of the cell). */
        cell_t *c = &L.cells[L.deq & L.mask];
        if (atomic_load(&c->seq) != L.deq + 1 && !atomic_load(&L.stop)) {
            struct timespec ts = {0, 50000000};
            futex(&L.futex_word, FUTEX_WAIT_PRIVATE, key, &ts);
        }
        atomic_store(&L.sleeping, 0);
    }
}

int nx_log_start(const nx_log_opts_t *o)
{
    nx_log_opts_t d;
    if (!o) {
        nx_log_opts_default(&d);
        o = &d;
    }
    if (atomic_load(&L.running))
        return NX_ESTATE;
    uint32_t cap = o->capacity ? o->capacity : 4096;
    if (cap & (cap - 1) || (unsigned)o->level > NX_LOG_OFF)
        return NX_EINVAL;
    L.cells = calloc(cap, sizeof(cell_t));
    if (!L.cells)
        return NX_ENOMEM;
    for (uint32_t i = 0; i < cap; i++)
        atomic_init(&L.cells[i].seq, i);
    L.mask = cap - 1;
    atomic_store(&L.enq, 0);
    L.deq = 0;
    atomic_store(&L.written, 0);
    atomic_store(&L.dropped, 0);
    L.dropped_reported = 0;
    atomic_store(&L.stop, 0);
    L.debounce_ms = o->debounce_ms;
    memset(L.deb, 0, sizeof L.deb);
    nx_log_set_level(o->level);
    log_set_format(o->format);
    nx_log_set_fd(o->fd);
    atomic_store(&L.running, 1);
    if (pthread_create(&L.thread, NULL, log_thread, NULL) != 0) {
        atomic_store(&L.running, 0);
        free(L.cells);
        L.cells = NULL;
        return NX_ESYSTEM;
    }
    return 0;
}

static void wake(void)
{
    if (atomic_load(&L.sleeping)) {
        atomic_fetch_add(&L.futex_word, 1);
        futex(&L.futex_word, FUTEX_WAKE_PRIVATE, 1, NULL);
    }
}

void nx_log_stop(void)
{
    if (!atomic_load(&L.running))
        return;
    atomic_store(&L.stop, 1);
    atomic_fetch_add(&L.futex_word, 1);
    futex(&L.futex_word, FUTEX_WAKE_PRIVATE, 1, NULL);
    pthread_join(L.thread, NULL);
    atomic_store(&L.running, 0);
    free(L.cells);
    L.cells = NULL;
}

void nx_log_flush(void)
{
    if (!atomic_load(&L.running))
        return;
    uint64_t target = atomic_load(&L.enq);
    while (atomic_load_explicit(&L.written, memory_order_acquire) + atomic_load(&L.dropped) <
           target) {
        wake();
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
}

static void log_vwrite(nx_log_level_t level, const char *module, const char *key, const char *fmt,
                       va_list ap)
{
    if ((int)level < atomic_load_explicit(&nx_log__level, memory_order_relaxed) ||
        level >= NX_LOG_OFF)
        return;
    if (!atomic_load_explicit(&L.running, memory_order_acquire)) {
        /* Synchronous path: no thread yet (CLI tools, start-up errors). */
        rec_t r = {.real_ns = nx_real_ns(), .mono_ns = nx_mono_ns(), .level = (uint8_t)level};
        snprintf(r.module, sizeof r.module, "%s", module ? module : "-");
        vsnprintf(r.msg, sizeof r.msg, fmt, ap);
        emit(&r, NULL);
        sodium_memzero(r.msg, sizeof r.msg);
        return;
    }
    uint64_t pos = atomic_load_explicit(&L.enq, memory_order_relaxed);
    cell_t *c;
    for (;;) {
        c = &L.cells[pos & L.mask];
        uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        int64_t dif = (int64_t)(seq - pos);
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&L.enq, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed))
                break;
        } else if (dif < 0) {
            atomic_fetch_add_explicit(&L.dropped, 1, memory_order_relaxed);
            return; /* full: never block the caller */
        } else {
            pos = atomic_load_explicit(&L.enq, memory_order_relaxed);
        }
    }
    rec_t *r = &c->rec;
    r->real_ns = nx_real_ns();
    r->mono_ns = nx_mono_ns();
    r->level = (uint8_t)level;
    r->key = key ? fnv(key) : 0;
    size_t ml = 0;
    if (module) {
        ml = strlen(module);
        if (ml >= MODULE_MAX)
            ml = MODULE_MAX - 1;
        memcpy(r->module, module, ml);
    }
    r->module[ml] = 0;
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    atomic_store_explicit(&c->seq, pos + 1, memory_order_seq_cst);
    wake();
}

void nx_log_write(nx_log_level_t level, const char *module, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, module, key, fmt, ap);
    va_end(ap);
}
