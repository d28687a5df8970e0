/*
 * wire.h — a plain HTTP/1.1 and WebSocket client on blocking sockets, for
 * tests that talk to the venue simulator as a venue's client would, with
 * nothing of Nexus's own networking in between (tests only).
 */
#ifndef NX_TEST_WIRE_H
#define NX_TEST_WIRE_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NX_TEST_UNUSED __attribute__((unused))

NX_TEST_UNUSED static int wire_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

NX_TEST_UNUSED static int wire_send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Read exactly n bytes, waiting at most timeout_ms in all; 0 or -1. */
NX_TEST_UNUSED static int wire_read_n(int fd, char *p, size_t n, int timeout_ms)
{
    while (n) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, timeout_ms) <= 0)
            return -1;
        ssize_t k = recv(fd, p, n, 0);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

typedef struct wire_resp {
    int status;
    char head[4096];
    char *body;
    size_t body_n;
} wire_resp_t;

/* The value of a response header, or NULL (into a static buffer). */
NX_TEST_UNUSED static const char *wire_header(const wire_resp_t *r, const char *name)
{
    static char v[128];
    size_t n = strlen(name);
    for (const char *p = r->head; (p = strchr(p, '\n')) != NULL;) {
        p++;
        if (!strncasecmp(p, name, n) && p[n] == ':') {
            const char *s = p + n + 1;
            while (*s == ' ')
                s++;
            size_t k = strcspn(s, "\r\n");
            snprintf(v, sizeof v, "%.*s", (int)k, s);
            return v;
        }
    }
    return NULL;
}

/* One request on a fresh connection: method, path?query, a form body or
 * NULL, the API key header or NULL. Returns 0 with the answer, or -1 when
 * nothing came back within timeout_ms (the answer was lost). */
NX_TEST_UNUSED static int wire_http(int port, const char *method, const char *target, const char *body,
                     const char *api_key, int timeout_ms, wire_resp_t *out)
{
    memset(out, 0, sizeof *out);
    int fd = wire_connect(port);
    if (fd < 0)
        return -1;
    char req[8192];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s"
                     "Content-Type: application/x-www-form-urlencoded\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, target, api_key ? "X-MBX-APIKEY: " : "", api_key ? api_key : "",
                     api_key ? "\r\n" : "", body ? strlen(body) : 0, body ? body : "");
    if (wire_send_all(fd, req, (size_t)n)) {
        close(fd);
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, timeout_ms) <= 0)
            break;
        if (len + 4096 > cap)
            buf = realloc(buf, cap *= 2);
        ssize_t k = recv(fd, buf + len, cap - len - 1, 0);
        if (k <= 0)
            break;
        len += (size_t)k;
        buf[len] = 0;
        char *e = strstr(buf, "\r\n\r\n");
        if (e) {
            const char *cl = NULL;
            size_t hl = (size_t)(e - buf) + 4;
            snprintf(out->head, sizeof out->head, "%.*s", (int)hl, buf);
            cl = wire_header(out, "content-length");
            if (cl && len >= hl + (size_t)atol(cl))
                break;
        }
    }
    close(fd);
    char *e = len ? strstr(buf, "\r\n\r\n") : NULL;
    if (!e) {
        free(buf);
        return -1;
    }
    out->status = atoi(buf + 9);
    out->body_n = len - (size_t)(e + 4 - buf);
    out->body = malloc(out->body_n + 1);
    memcpy(out->body, e + 4, out->body_n);
    out->body[out->body_n] = 0;
    free(buf);
    return 0;
}

/* ---- WebSocket (RFC 6455): client frames masked, text only ---- */

/* The upgrade, with header lines of the caller's (extra: "Name: v\r\n"
 * each, or NULL). */
NX_TEST_UNUSED static int wire_ws_open_with(int port, const char *path, const char *extra)
{
    int fd = wire_connect(port);
    if (fd < 0)
        return -1;
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     path, extra ? extra : "");
    wire_send_all(fd, req, (size_t)n);
    char buf[2048];
    size_t len = 0;
    while (len < sizeof buf - 1) { /* the 101 answer, byte by byte up to its end */
        if (wire_read_n(fd, buf + len, 1, 5000)) {
            close(fd);
            return -1;
        }
        len++;
        buf[len] = 0;
        if (len >= 4 && !memcmp(buf + len - 4, "\r\n\r\n", 4))
            break;
    }
    if (strncmp(buf, "HTTP/1.1 101", 12)) {
        close(fd);
        return -1;
    }
    return fd;
}

NX_TEST_UNUSED static int wire_ws_open(int port, const char *path)
{
    return wire_ws_open_with(port, path, NULL);
}

NX_TEST_UNUSED static int wire_ws_send(int fd, const char *text)
{
    size_t n = strlen(text), h = 2;
    unsigned char *f = malloc(n + 14);
    f[0] = 0x81;
    if (n < 126)
        f[1] = (unsigned char)(0x80 | n);
    else {
        f[1] = 0x80 | 126;
        f[2] = (unsigned char)(n >> 8);
        f[3] = (unsigned char)n;
        h = 4;
    }
    static const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    memcpy(f + h, mask, 4);
    for (size_t i = 0; i < n; i++)
        f[h + 4 + i] = (unsigned char)text[i] ^ mask[i & 3];
    int rc = wire_send_all(fd, (const char *)f, h + 4 + n);
    free(f);
    return rc;
}

/* The next text frame (malloc'd, NUL-terminated), or NULL after
 * timeout_ms, on a close frame or a closed socket (*closed = 1 then). */
NX_TEST_UNUSED static char *wire_ws_recv(int fd, int timeout_ms, int *closed)
{
    if (closed)
        *closed = 0;
    for (;;) {
        unsigned char h[2];
        if (wire_read_n(fd, (char *)h, 2, timeout_ms)) {
            if (closed) {
                struct pollfd pf = {fd, POLLIN, 0};
                char c;
                *closed = poll(&pf, 1, 0) > 0 && recv(fd, &c, 1, MSG_PEEK) <= 0;
            }
            return NULL;
        }
        uint64_t n = h[1] & 0x7f;
        if (n == 126) {
            unsigned char x[2];
            wire_read_n(fd, (char *)x, 2, timeout_ms);
            n = (uint64_t)x[0] << 8 | x[1];
        } else if (n == 127) {
            unsigned char x[8];
            wire_read_n(fd, (char *)x, 8, timeout_ms);
            n = 0;
            for (int i = 0; i < 8; i++)
                n = n << 8 | x[i];
        }
        char *p = malloc(n + 1);
        if (n && wire_read_n(fd, p, n, timeout_ms)) {
            free(p);
            return NULL;
        }
        p[n] = 0;
        int op = h[0] & 0x0f;
        if (op == 0x8) {
            free(p);
            if (closed)
                *closed = 1;
            return NULL;
        }
        if (op == 0x1)
            return p;
        free(p); /* ping, pong, binary: not ours */
    }
}

#endif /* NX_TEST_WIRE_H */
