/*
 * engine_record.c — the market recorder of `nexus run --record FILE` and
 * `nexus record`, and the flight recorder (the config's `recorder`):
 * every market event the engine thread takes off the market ring, as it
 * came (before the bad-tick filter, so a backtest of the file filters it
 * the same way), in an event file (nx/evfile.h) that `nexus backtest`
 * reads.
 *
 * The flight recorder writes recorder.dir/market-<n>-<UTC start>.nxev,
 * each up to max_mb / files megabytes; when one is full it is closed (with
 * its end mark) and the next begun, and the oldest beyond `files` are
 * deleted: the last stretch of market input is always on disk, bounded.
 * n continues after the highest in the folder, across runs, so the names
 * sort in the order the files were written (two runs in the same second
 * included).
 *
 * The engine thread copies each market event into a ring of the
 * recorder's own (128 bytes, a few ns); a thread of its own writes them.
 * The engine never waits for the disk: if the recorder falls a whole ring
 * behind, events are left out of the file, counted and said at the end
 * (the file then differs from what the engine saw, and the log says so).
 */
#include "engine.h"

#include "nx/error.h"
#include "nx/evfile.h"
#include "nx/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REC_RING (1u << 16) /* 8 MiB: seconds of a busy feed */

static int is_market(const nx_event_t *ev)
{
    switch (ev->hdr.type) {
    case NX_EV_TRADE:
    case NX_EV_BBO:
    case NX_EV_KLINE:
    case NX_EV_BOOK:
    case NX_EV_MARK:
        return 1;
    default:
        return 0;
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Delete the oldest recordings beyond recorder.files (names sort by time). */
static void prune(nx_engine_t *e)
{
    DIR *d = opendir(e->cfg->recorder.dir);
    if (!d)
        return;
    char *names[1024];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 1024) {
        size_t l = strlen(de->d_name);
        if (!strncmp(de->d_name, "market-", 7) && l > 12 && !strcmp(de->d_name + l - 5, ".nxev"))
            if ((names[n] = strdup(de->d_name)))
                n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        if (i + e->cfg->recorder.files < n) {
            char p[NX_PATH_MAX + 300];
            snprintf(p, sizeof p, "%s/%s", e->cfg->recorder.dir, names[i]);
            if (unlink(p) && errno != ENOENT)
                NX_WARN("record", "cannot delete the old recording %s: %s", p, strerror(errno));
        }
        free(names[i]);
    }
}

/* The flight recorder's next file. */
static int open_next(nx_engine_t *e)
{
    char at[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(at, sizeof at, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(e->rec_cur, sizeof e->rec_cur, "%s/market-%06u-%s.nxev", e->cfg->recorder.dir,
             e->rec_seq++, at);
    int rc = nx_evw_open(&e->evw, e->rec_cur, e->symtab);
    if (rc)
        NX_ERROR("record", "cannot write %s: %s", e->rec_cur, nx_strerror(rc));
    else
        prune(e);
    return rc;
}

/* The flight recorder: the file is full, the next one begins. */
static void rotate(nx_engine_t *e)
{
    e->rec_done += nx_evw_count(e->evw);
    if (nx_evw_close(e->evw))
        NX_ERROR("record", "%s is not complete: writing it failed", e->rec_cur);
    e->evw = NULL;
    if (open_next(e))
        e->rec_failed = 1;
}

static void *recorder_main(void *arg)
{
    nx_engine_t *e = arg;
    nx_ring_consumer_t *c = nx_ring_consumer(e->rec_ring, 0);
    int64_t flush_at = nx_mono_ns() + NX_NS_PER_SEC;
    for (;;) {
        uint64_t seq;
        uint32_t n = nx_ring_wait(e->rec_ring, c, 256, &seq, 200 * NX_NS_PER_MS);
        uint64_t per_file = (uint64_t)e->cfg->recorder.max_mb * 1048576u /
                            (e->cfg->recorder.files ? e->cfg->recorder.files : 1);
        for (uint32_t i = 0; i < n && !e->rec_failed; i++) {
            if (nx_evw_put(e->evw, nx_bus_event(e->rec_ring, seq + i)) < 0) {
                e->rec_failed = 1;
                NX_ERROR("record", "cannot write %s: the recording stops here", e->record_path);
            } else if (e->rec_rotating && nx_evw_bytes(e->evw) >= per_file) {
                rotate(e);
            }
        }
        if (n)
            nx_ring_release(c, seq + n);
        else if (nx_ring_is_closed(e->rec_ring))
            break;
        if (nx_mono_ns() >= flush_at && e->evw) { /* a crash loses at most about a second */
            nx_evw_flush(e->evw);
            flush_at = nx_mono_ns() + NX_NS_PER_SEC;
        }
    }
    return NULL;
}

int engine_record_start(nx_engine_t *e)
{
    int rc;
    if (!e->record_path && e->cfg->recorder.dir[0]) {
        if (mkdir(e->cfg->recorder.dir, 0755) && errno != EEXIST) {
            NX_ERROR("record", "cannot make the recorder's folder %s: %s", e->cfg->recorder.dir,
                     strerror(errno));
            return NX_EIO;
        }
        e->rec_rotating = 1;
        e->record_path = e->rec_cur;
        DIR *d = opendir(e->cfg->recorder.dir); /* the numbers go on after the highest */
        struct dirent *de;
        while (d && (de = readdir(d))) {
            unsigned n;
            if (sscanf(de->d_name, "market-%6u-", &n) == 1 && n >= e->rec_seq)
                e->rec_seq = n + 1;
        }
        if (d)
            closedir(d);
        e->rec_first = e->rec_seq;
        if ((rc = open_next(e)))
            return rc;
    } else if (!e->record_path) {
        return 0;
    } else if ((rc = nx_evw_open(&e->evw, e->record_path, e->symtab))) {
        NX_ERROR("record", "cannot write %s: %s", e->record_path, nx_strerror(rc));
        return rc;
    }
    if ((rc = nx_ring_create(&e->rec_ring, "record", REC_RING, sizeof(nx_event_t), 1,
                             NX_RING_NEVER_BLOCK, NX_WAIT_BLOCK))) {
        nx_evw_close(e->evw);
        e->evw = NULL;
        return rc;
    }
    if (pthread_create(&e->th_rec, NULL, recorder_main, e)) {
        nx_ring_destroy(e->rec_ring);
        e->rec_ring = NULL;
        nx_evw_close(e->evw);
        e->evw = NULL;
        return NX_ESYSTEM;
    }
    if (e->rec_rotating)
        NX_INFO("record", "flight recorder: every market event into %s, the newest %u files of "
                "%.1f MB at most",
                e->cfg->recorder.dir, e->cfg->recorder.files,
                (double)e->cfg->recorder.max_mb /
                    (e->cfg->recorder.files ? e->cfg->recorder.files : 1));
    else
        NX_INFO("record", "recording every market event to %s", e->record_path);
    return 0;
}

void engine_record_put(nx_engine_t *e, const nx_event_t *ev)
{
    if (!is_market(ev))
        return;
    uint64_t seq;
    if (nx_ring_claim(e->rec_ring, 1, &seq) != 1)
        return; /* counted by the ring as an overrun */
    memcpy(nx_bus_event(e->rec_ring, seq), ev, sizeof *ev);
    nx_ring_publish(e->rec_ring, seq + 1);
}

void engine_record_close(nx_engine_t *e)
{
    if (e->rec_ring)
        nx_ring_close(e->rec_ring);
}

void engine_record_join(nx_engine_t *e)
{
    if (!e->rec_ring)
        return;
    nx_ring_close(e->rec_ring); /* the engine thread closed it, unless it never ran */
    pthread_join(e->th_rec, NULL);
    nx_ring_stats_t st;
    nx_ring_stats(e->rec_ring, &st);
    uint64_t n = e->evw ? nx_evw_count(e->evw) : 0, bytes = e->evw ? nx_evw_bytes(e->evw) : 0;
    int rc = nx_evw_close(e->evw);
    e->evw = NULL;
    if (e->rec_rotating) {
        n += e->rec_done;
        bytes = 0;
    }
    if (rc || e->rec_failed)
        NX_ERROR("record", "%s is not complete: writing it failed", e->record_path);
    else if (st.overruns)
        NX_WARN("record", "%s: %llu events, %llu bytes; %llu left out (the disk fell behind)",
                e->record_path, (unsigned long long)n, (unsigned long long)bytes,
                (unsigned long long)st.overruns);
    else if (e->rec_rotating)
        NX_INFO("record", "flight recorder: %llu events in %u files (the newest %u kept), the "
                "last %s: every market event the engine took",
                (unsigned long long)n, e->rec_seq - e->rec_first, e->cfg->recorder.files,
                e->rec_cur);
    else
        NX_INFO("record", "%s: %llu events, %llu bytes, every market event the engine took",
                e->record_path, (unsigned long long)n, (unsigned long long)bytes);
    nx_ring_destroy(e->rec_ring);
    e->rec_ring = NULL;
}
