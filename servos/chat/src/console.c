/*
 * console.c — `nexus run --console`: the owner at the terminal. A reader
 * thread takes lines from standard input into a small queue the chat layer
 * drains on the service thread (a line is a command, or "!data" for a
 * button); replies are printed as plain text.
 */
#include "chat_int.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Console: HTML to plain text (tags dropped, entities back). */
void chat_plain(const char *html, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = html; cap && *p && o < cap - 2; p++) {
        if (*p == '<') {
            const char *q = strchr(p, '>');
            if (q) {
                p = q;
                continue;
            }
        }
        if (*p == '&') {
            static const struct {
                const char *ent;
                char c;
            } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}};
            int hit = 0;
            for (size_t k = 0; k < 4 && !hit; k++)
                if (!strncmp(p, ents[k].ent, strlen(ents[k].ent))) {
                    out[o++] = ents[k].c;
                    p += strlen(ents[k].ent) - 1;
                    hit = 1;
                }
            if (hit)
                continue;
        }
        out[o++] = *p;
    }
    if (cap)
        out[o] = 0;
}

void chat_print_plain(const char *html)
{
    char out[CHAT_OUT * 2];
    chat_plain(html, out, sizeof out);
    printf("%s\n", out);
    fflush(stdout);
}

/* The console's reader: lines from standard input into the chat layer's queue.
 * It polls so that it can be told to stop (a thread blocked in fgets
 * could not be joined). */
static void *console_main(void *arg)
{
    nx_chat_t *b = arg;
    char buf[1024];
    size_t n = 0;
    while (!atomic_load(&b->console_stop)) {
        struct pollfd pfd = {0, POLLIN, 0};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        ssize_t k = read(0, buf + n, sizeof buf - 1 - n);
        if (k <= 0)
            break; /* end of input */
        n += (size_t)k;
        char *nl;
        while ((nl = memchr(buf, '\n', n)) || n == sizeof buf - 1) {
            size_t len = nl ? (size_t)(nl - buf) : n; /* an over-long line is cut */
            buf[len] = 0;
            if (len && buf[len - 1] == '\r')
                buf[len - 1] = 0;
            pthread_mutex_lock(&b->mu);
            if (buf[0] && b->l_head - b->l_tail < CHAT_LINES)
                b->lines[b->l_head++ % CHAT_LINES] = strdup(buf);
            pthread_mutex_unlock(&b->mu);
            size_t used = nl ? len + 1 : n;
            memmove(buf, buf + used, n - used);
            n -= used;
        }
    }
    return NULL;
}

int chat_console_start(nx_chat_t *b)
{
    b->console_started = pthread_create(&b->th_console, NULL, console_main, b) == 0;
    return b->console_started ? 0 : -1;
}

void chat_console_stop(nx_chat_t *b)
{
    if (b->console_started) {
        atomic_store(&b->console_stop, 1);
        pthread_join(b->th_console, NULL);
        b->console_started = 0;
    }
    pthread_mutex_lock(&b->mu);
    while (b->l_tail != b->l_head)
        free(b->lines[b->l_tail++ % CHAT_LINES]);
    pthread_mutex_unlock(&b->mu);
}

char *chat_console_line(nx_chat_t *b)
{
    char *line = NULL;
    pthread_mutex_lock(&b->mu);
    if (b->l_tail != b->l_head)
        line = b->lines[b->l_tail++ % CHAT_LINES];
    pthread_mutex_unlock(&b->mu);
    return line;
}
