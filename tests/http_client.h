/*
 * http_client.h — tests: one HTTP/1.1 request on loopback, read to the
 * connection's close (Connection: close), for the engine's web server.
 */
#ifndef NX_TEST_HTTP_CLIENT_H
#define NX_TEST_HTTP_CLIENT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The request with extra header lines (NULL: none); the status (-1: no
 * connection), the headers and the body in *head and *body (malloc'd;
 * NULL: not wanted). */
static int http_full(int port, const char *method, const char *path, const char *extra, char **head,
                     char **body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "%sContent-Length: 0\r\n\r\n",
                     method, path, extra ? extra : "");
    if (n <= 0 || n >= (int)sizeof req || write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return -1;
    }
    ssize_t k;
    while ((k = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)k;
    close(fd);
    buf[len] = 0;
    int status = 0;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    char *b = strstr(buf, "\r\n\r\n");
    if (body)
        *body = strdup(b ? b + 4 : "");
    if (head)
        *head = strndup(buf, b ? (size_t)(b - buf) : len);
    free(buf);
    return status;
}

/* The same without extra headers; the body in *body (malloc'd). */
static inline int http(int port, const char *method, const char *path, char **body)
{
    return http_full(port, method, path, NULL, NULL, body);
}

#endif /* NX_TEST_HTTP_CLIENT_H */
