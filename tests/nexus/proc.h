/*
 * proc.h — the `nexus` binary run as a child process by the CLI tests:
 * spawn with its stdout and stderr on pipes, read them while waiting for a
 * line, wait for its end (tests only).
 */
#ifndef NX_TEST_PROC_H
#define NX_TEST_PROC_H

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct proc {
    pid_t pid;
    int out, err; /* read ends */
    char obuf[65536], ebuf[65536];
    size_t olen, elen;
} proc_t;

__attribute__((unused)) static void spawn(proc_t *p, char *const argv[])
{
    int o[2], e[2];
    assert_int_equal(pipe(o), 0);
    assert_int_equal(pipe(e), 0);
    memset(p, 0, sizeof *p);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        dup2(o[1], 1);
        dup2(e[1], 2);
        close(o[0]);
        close(e[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(o[1]);
    close(e[1]);
    p->out = o[0];
    p->err = e[0];
}

/* Read whatever is available for up to timeout_ms; returns 1 if `needle`
 * has appeared on stderr (NULL: read until both pipes close). */
__attribute__((unused)) static int pump(proc_t *p, const char *needle, int timeout_ms)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (needle && strstr(p->ebuf, needle))
            return 1;
        struct pollfd fds[2] = {{p->out, POLLIN, 0}, {p->err, POLLIN, 0}};
        int open_fds = (p->out >= 0) + (p->err >= 0);
        if (!open_fds)
            return needle ? strstr(p->ebuf, needle) != NULL : 1;
        int r = poll(fds, 2, 50);
        if (r > 0) {
            for (int i = 0; i < 2; i++) {
                int *fd = i ? &p->err : &p->out;
                char *buf = i ? p->ebuf : p->obuf;
                size_t *len = i ? &p->elen : &p->olen;
                if (*fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP))) {
                    if (*len > sizeof p->obuf * 3 / 4) {
                        /* Keep draining a long output (never close the pipe
                         * on the child): keep its last quarter. */
                        size_t keep = sizeof p->obuf / 4;
                        memmove(buf, buf + *len - keep, keep);
                        *len = keep;
                        buf[*len] = 0;
                    }
                    ssize_t n = read(*fd, buf + *len, sizeof p->obuf - 1 - *len);
                    if (n <= 0) {
                        close(*fd);
                        *fd = -1;
                    } else {
                        *len += (size_t)n;
                        buf[*len] = 0;
                    }
                }
            }
        }
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms > timeout_ms)
            return needle ? strstr(p->ebuf, needle) != NULL : 0;
    }
}

__attribute__((unused)) static int finish(proc_t *p)
{
    pump(p, NULL, 20000);
    int st;
    assert_int_equal(waitpid(p->pid, &st, 0), p->pid);
    if (!WIFEXITED(st))
        fail_msg("nexus did not exit normally (signal %d)", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return WEXITSTATUS(st);
}

#endif /* NX_TEST_PROC_H */
