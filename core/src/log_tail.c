/*
 * log_tail.c — the last lines of a log file, read from its end.
 *
 * The owner's /logs asks for up to 100 lines of a file that grows for as
 * long as Nexus runs (tens of MB after weeks). Reading it from the start
 * on the service thread took time proportional to the whole file; this
 * reads one bounded block from the end (NX_LOG_TAIL_BYTES, 64 KiB: 100
 * lines of a few hundred bytes fit many times over), so the cost is the
 * same for a 1 KB and a 50 MB log. Lines longer than the block are cut.
 */
#include "nx/log.h"

#include "nx/error.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int nx_log_tail(const char *path, int n, char *out, size_t cap, size_t *nread)
{
    if (nread)
        *nread = 0;
    if (!path || n < 1 || !out || cap == 0)
        return NX_EINVAL;
    out[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NX_ENOENT;
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return NX_EIO;
    }
    off_t size = st.st_size;
    size_t want = size < (off_t)NX_LOG_TAIL_BYTES ? (size_t)size : NX_LOG_TAIL_BYTES;
    off_t from = size - (off_t)want;
    char *buf = malloc(want + 1);
    if (!buf) {
        close(fd);
        return NX_ENOMEM;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(fd, buf + got, want - got, from + (off_t)got);
        if (r <= 0)
            break; /* shorter than it was a moment ago: what was read */
        got += (size_t)r;
    }
    close(fd);
    if (nread)
        *nread = got;
    size_t start = 0;
    if (from > 0) { /* the first line is a part of a line: skip it */
        char *nl = memchr(buf, '\n', got);
        start = nl ? (size_t)(nl - buf) + 1 : got;
    }
    /* back from the end over n line ends (a last line need not end in one) */
    size_t end = got, p = end;
    if (p > start && buf[p - 1] == '\n')
        p--;
    int lines = 0;
    while (p > start) {
        if (buf[p - 1] == '\n' && ++lines == n)
            break;
        p--;
    }
    if (p == start && end > start)
        lines++; /* the first line of what was read counts too */
    if (lines > n)
        lines = n;
    size_t len = end - p < cap - 1 ? end - p : cap - 1;
    memcpy(out, buf + p, len);
    out[len] = 0;
    free(buf);
    return lines;
}
