/*
 * test_log.c — the logger: records reach the output in order from many
 * threads, keyed repeats are debounced and summarised, registered secrets
 * never reach the output, JSON lines are valid, and a full queue drops
 * (counted) instead of blocking; the tail of a 50 MB log file is its
 * last lines, read with a bounded read from its end (/logs, issue 16).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nx/error.h"
#include "nx/log.h"

static char *slurp(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *buf = calloc(1, (size_t)n + 1);
    rewind(f);
    size_t r = fread(buf, 1, (size_t)n, f);
    buf[r] = 0;
    return buf;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static FILE *start(nx_log_format_t fmt, uint32_t debounce_ms, uint32_t cap)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    nx_log_opts_t o;
    nx_log_opts_default(&o);
    o.fd = fileno(f);
    o.format = fmt;
    o.debounce_ms = debounce_ms;
    o.level = NX_LOG_DEBUG;
    if (cap)
        o.capacity = cap;
    assert_int_equal(nx_log_start(&o), 0);
    return f;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void test_debounce(void **state)
{
    (void)state;
    FILE *f = start(NX_LOG_TEXT, 300, 0);
    for (int i = 0; i < 100; i++)
        NX_LOGK(NX_LOG_WARN, "binance", "binance.malformed", "malformed frame #%d", i);
    NX_INFO("main", "unkeyed line");
    nx_log_flush();
    sleep_ms(450); /* the window closes: the summary is written */
    NX_LOGK(NX_LOG_WARN, "binance", "binance.malformed", "malformed frame #%d", 100);
    nx_log_stop();
    char *out = slurp(f);
    /* First occurrence, one summary naming the last suppressed text and
     * the count, then the next occurrence after the window. */
    assert_int_equal(count(out, "malformed frame #0\n"), 1);
    assert_int_equal(count(out, "malformed frame #99 (repeated 99 times)\n"), 1);
    assert_int_equal(count(out, "malformed frame #100\n"), 1);
    assert_int_equal(count(out, "malformed frame"), 3);
    assert_int_equal(count(out, "unkeyed line"), 1);
    free(out);
    fclose(f);
}

static void test_debounce_summary_at_stop(void **state)
{
    (void)state;
    FILE *f = start(NX_LOG_TEXT, 60000, 0);
    for (int i = 0; i < 5; i++)
        NX_LOGK(NX_LOG_WARN, "bybit", "bybit.reconnect", "reconnecting");
    nx_log_stop();
    char *out = slurp(f);
    assert_int_equal(count(out, "reconnecting\n"), 1);
    assert_int_equal(count(out, "reconnecting (repeated 4 times)\n"), 1);
    free(out);
    fclose(f);
}

static void test_redaction(void **state)
{
    (void)state;
    const char *key = "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83";
    const char *token = "123456789:AAF-test-token-XYZ";
    assert_int_equal(nx_log_add_secret(key), 0);
    assert_int_equal(nx_log_add_secret(token), 0);
    assert_int_equal(nx_log_add_secret("abc"), NX_EINVAL); /* too short to be a secret */
    FILE *f = start(NX_LOG_JSON, 1000, 0);
    NX_ERROR("http", "GET https://api.telegram.org/bot%s/getUpdates failed", token);
    NX_WARN("venue", "key %s rejected; again %s", key, key);
    nx_log_stop();
    /* Synchronous path (no thread) redacts too. */
    NX_WARN("venue", "sync %s", key);
    char *out = slurp(f);
    assert_null(strstr(out, key));
    assert_null(strstr(out, token));
    assert_null(strstr(out, "AAF-test"));
    assert_int_equal(count(out, "[REDACTED]"), 4);
    /* Every line is a JSON object with the documented fields. */
    char *save = NULL;
    int lines = 0;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        assert_non_null(j);
        assert_non_null(json_object_get(j, "ts"));
        assert_non_null(json_object_get(j, "level"));
        assert_non_null(json_object_get(j, "module"));
        assert_non_null(json_object_get(j, "msg"));
        json_decref(j);
        lines++;
    }
    assert_int_equal(lines, 3);
    free(out);
    fclose(f);

    char r1[32], r2[32];
    nx_redact(key, r1, sizeof r1);
    nx_redact(token, r2, sizeof r2);
    assert_null(strstr(r1, "dbef"));
    assert_non_null(strstr(r1, "[REDACTED:"));
    assert_string_not_equal(r1, r2); /* fingerprints tell keys apart */
    nx_log_clear_secrets();
}

typedef struct {
    int id, n;
} th_arg_t;

static void *spam(void *p)
{
    th_arg_t *a = p;
    for (int i = 0; i < a->n; i++)
        NX_INFO("t", "thread %d line %d", a->id, i);
    return NULL;
}

static void test_many_threads_in_order(void **state)
{
    (void)state;
    FILE *f = start(NX_LOG_TEXT, 1000, 1 << 16);
    pthread_t th[4];
    th_arg_t args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (th_arg_t){i, 5000};
        pthread_create(&th[i], NULL, spam, &args[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    nx_log_stop();
    char *out = slurp(f);
    uint64_t dropped = nx_log_dropped();
    /* Each thread's lines appear in its own order; every line is either
     * written or counted as dropped. */
    int written = 0;
    for (int t = 0; t < 4; t++) {
        int last = -1;
        char pat[32];
        snprintf(pat, sizeof pat, "thread %d line ", t);
        for (const char *p = out; (p = strstr(p, pat)); p += strlen(pat)) {
            int k = atoi(p + strlen(pat));
            assert_true(k > last);
            last = k;
            written++;
        }
    }
    assert_int_equal((uint64_t)written + dropped, 20000);
    free(out);
    fclose(f);
}

static void test_full_queue_never_blocks(void **state)
{
    (void)state;
    FILE *f = start(NX_LOG_TEXT, 1000, 8);
    /* 10^5 records into an 8-slot queue must return promptly. */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 100000; i++)
        NX_DEBUG("burst", "record %d", i);
    clock_gettime(CLOCK_MONOTONIC, &b);
    nx_log_stop();
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    assert_true(secs < 5.0);
    assert_true(nx_log_dropped() > 0);
    char *out = slurp(f);
    assert_non_null(strstr(out, "records dropped"));
    free(out);
    fclose(f);
}

static void test_level_filter(void **state)
{
    (void)state;
    FILE *f = start(NX_LOG_TEXT, 1000, 0);
    nx_log_set_level(NX_LOG_WARN);
    NX_INFO("x", "hidden");
    NX_WARN("x", "shown");
    nx_log_stop();
    char *out = slurp(f);
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, "warn  x: shown"));
    assert_int_equal(nx_log_level_parse("error"), NX_LOG_ERROR);
    assert_int_equal(nx_log_level_parse("loud"), -1);
    free(out);
    fclose(f);
}

/* Bytes this process has read so far (/proc/self/io rchar). */
static long long bytes_read(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    assert_non_null(f);
    long long v = -1;
    char key[64];
    long long x;
    while (fscanf(f, "%63[^:]: %lld\n", key, &x) == 2)
        if (!strcmp(key, "rchar"))
            v = x;
    fclose(f);
    assert_true(v >= 0);
    return v;
}

#define TAIL_LINE  100                      /* bytes a line, with its newline */
#define TAIL_LINES (50 * 1024 * 1024 / 100) /* a 50 MB file */

static void test_tail_of_a_large_file(void **state)
{
    (void)state;
    char path[] = "/tmp/nx-logtail-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    char line[TAIL_LINE + 1];
    for (int i = 0; i < TAIL_LINES; i++) {
        int k = snprintf(line, sizeof line, "line %08d ", i);
        memset(line + k, 'x', TAIL_LINE - 1 - (size_t)k);
        line[TAIL_LINE - 1] = '\n';
        assert_int_equal(fwrite(line, 1, TAIL_LINE, f), TAIL_LINE);
    }
    assert_int_equal(fclose(f), 0);
    /* what the last 20 lines are, from how the file was written */
    static char want[20 * TAIL_LINE + 1], got[NX_LOG_TAIL_BYTES];
    for (int i = 0; i < 20; i++) {
        int k = snprintf(want + i * TAIL_LINE, TAIL_LINE + 1, "line %08d ", TAIL_LINES - 20 + i);
        memset(want + i * TAIL_LINE + k, 'x', TAIL_LINE - 1 - (size_t)k);
        want[i * TAIL_LINE + TAIL_LINE - 1] = '\n';
    }
    long long before = bytes_read();
    size_t nread = 0;
    assert_int_equal(nx_log_tail(path, 20, got, sizeof got, &nread), 20);
    long long after = bytes_read();
    assert_string_equal(got, want);
    assert_int_equal(nread, NX_LOG_TAIL_BYTES);
    /* the kernel's count: the block, and the one read of /proc/self/io
     * (under 4 KiB) before it; the whole file would be 52,428,800 */
    assert_true(after - before <= NX_LOG_TAIL_BYTES + 4096);
    /* more lines than fit in the block: as many whole ones as do */
    assert_int_equal(nx_log_tail(path, 100000, got, sizeof got, &nread),
                     NX_LOG_TAIL_BYTES / TAIL_LINE);
    assert_int_equal(strlen(got), (NX_LOG_TAIL_BYTES / TAIL_LINE) * TAIL_LINE);
    assert_int_equal(strncmp(got, "line 00523633 ", 14), 0); /* 524288 - 655 */
    unlink(path);

    /* a short file, its last line without a newline */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("one\ntwo\nthree", f);
    fclose(f);
    assert_int_equal(nx_log_tail(path, 2, got, sizeof got, &nread), 2);
    assert_string_equal(got, "two\nthree");
    assert_int_equal(nread, 13);
    assert_int_equal(nx_log_tail(path, 10, got, sizeof got, NULL), 3);
    assert_string_equal(got, "one\ntwo\nthree");
    unlink(path);
    assert_int_equal(nx_log_tail(path, 10, got, sizeof got, NULL), NX_ENOENT);
    assert_int_equal(nx_log_tail("/tmp", 10, got, sizeof got, NULL), NX_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debounce),
        cmocka_unit_test(test_debounce_summary_at_stop),
        cmocka_unit_test(test_redaction),
        cmocka_unit_test(test_many_threads_in_order),
        cmocka_unit_test(test_full_queue_never_blocks),
        cmocka_unit_test(test_level_filter),
        cmocka_unit_test(test_tail_of_a_large_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
