/*
 * tg_fake.h — a fake Telegram Bot API server on 127.0.0.1 for the tests.
 *
 * It speaks the wire format of spec/exchanges.md §4: POST /bot<token>/<method>
 * with a JSON body, answers {"ok":true,"result":...} or an error object.
 * The test scripts users by queueing updates (tgf_push_*), and reads what
 * the bot sent (tgf_wait_request). getUpdates is a real long poll: it holds
 * the request until an update with update_id >= offset exists or its
 * timeout passes, and forgets updates below offset (acknowledged). Canned
 * answers (tgf_fail_next) make a method fail once: a 429 with retry_after,
 * a 500, a body that is not JSON.
 *
 * One thread accepts; each connection gets its own thread (a long poll
 * must not hold up a sendMessage). Everything is guarded by one mutex.
 */
#ifndef TG_FAKE_H
#define TG_FAKE_H

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TGF_MAX_REQ 4096
#define TGF_MAX_UPD 1024

typedef struct tgf_req {
    char method[32];
    char token[128];
    json_t *body; /* parsed request body (NULL if it was not JSON) */
    int64_t at_ns;
    int status;        /* what was answered */
    int64_t result_id; /* sendMessage: the message id given */
} tgf_req_t;

typedef struct tgf_canned {
    char method[32];
    int status;
    char body[256];
} tgf_canned_t;

typedef struct tgf {
    int fd, port;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic int stop;
    tgf_req_t req[TGF_MAX_REQ];
    int nreq;
    char *upd[TGF_MAX_UPD]; /* update JSON texts */
    int64_t upd_id[TGF_MAX_UPD];
    int nupd;
    int64_t next_update_id, next_message_id;
    tgf_canned_t canned[16];
    int ncanned;
    int threads;
    int hold_polls; /* 1 (default): getUpdates is held up to its timeout; 0: answered at once */
    int64_t down_until_ns; /* an outage: every call is answered 502 until then (tgf_now) */
} tgf_t;

static inline int64_t tgf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

typedef struct tgf_conn {
    tgf_t *f;
    int fd;
} tgf_conn_t;

static inline void tgf_answer(int fd, int status, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, status == 200 ? "OK" : "Error", strlen(body));
    if (write(fd, head, (size_t)n) < 0 || write(fd, body, strlen(body)) < 0)
        return;
}

/* getUpdates: wait for updates >= offset (at most timeout s), answer them. */
static inline char *tgf_updates(tgf_t *f, json_t *b)
{
    int64_t offset = json_integer_value(json_object_get(b, "offset"));
    int64_t timeout = json_integer_value(json_object_get(b, "timeout"));
    int64_t limit = json_integer_value(json_object_get(b, "limit"));
    if (limit <= 0 || limit > 100)
        limit = 100;
    int64_t until = tgf_now() + (f->hold_polls ? timeout * 1000000000LL : 0);
    pthread_mutex_lock(&f->mu);
    for (;;) {
        /* acknowledged: forget them */
        int k = 0;
        for (int i = 0; i < f->nupd; i++) {
            if (f->upd_id[i] < offset && offset > 0) {
                free(f->upd[i]);
                continue;
            }
            f->upd[k] = f->upd[i];
            f->upd_id[k++] = f->upd_id[i];
        }
        f->nupd = k;
        if (f->nupd || f->stop || tgf_now() >= until)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    }
    size_t cap = 64;
    for (int i = 0; i < f->nupd && i < limit; i++)
        cap += strlen(f->upd[i]) + 1;
    char *out = malloc(cap);
    size_t o = (size_t)snprintf(out, cap, "{\"ok\":true,\"result\":[");
    for (int i = 0; i < f->nupd && i < limit; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? "," : "", f->upd[i]);
    snprintf(out + o, cap - o, "]}");
    pthread_mutex_unlock(&f->mu);
    return out;
}

static inline void *tgf_conn_main(void *arg)
{
    tgf_conn_t *c = arg;
    tgf_t *f = c->f;
    char buf[65536];
    size_t len = 0;
    char *body = NULL;
    size_t clen = 0;
    for (;;) {
        ssize_t n = read(c->fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            goto out;
        len += (size_t)n;
        buf[len] = 0;
        char *eoh = strstr(buf, "\r\n\r\n");
        if (!eoh)
            continue;
        char *cl = strcasestr(buf, "content-length:");
        clen = cl && cl < eoh ? (size_t)atol(cl + 15) : 0;
        if (len >= (size_t)(eoh + 4 - buf) + clen) {
            body = eoh + 4;
            break;
        }
    }
    char method[32] = "", token[128] = "";
    const char *p = strstr(buf, " /bot");
    if (p) {
        p += 5;
        const char *sl = strchr(p, '/');
        const char *sp = sl ? strchr(sl, ' ') : NULL;
        if (sl && sp && sl - p < 127 && sp - sl - 1 < 31) {
            memcpy(token, p, (size_t)(sl - p));
            memcpy(method, sl + 1, (size_t)(sp - sl - 1));
        }
    }
    json_t *b = json_loadb(body, clen, 0, NULL);
    int status = 200;
    char *answer = NULL;
    pthread_mutex_lock(&f->mu);
    if (tgf_now() < f->down_until_ns) { /* the Bot API is away */
        status = 502;
        answer = strdup("{\"ok\":false,\"error_code\":502,\"description\":\"Bad Gateway\"}");
    }
    for (int i = 0; i < f->ncanned && !answer; i++) {
        if (!strcmp(f->canned[i].method, method)) {
            status = f->canned[i].status;
            answer = strdup(f->canned[i].body);
            memmove(&f->canned[i], &f->canned[i + 1],
                    sizeof f->canned[0] * (size_t)(f->ncanned - i - 1));
            f->ncanned--;
            break;
        }
    }
    pthread_mutex_unlock(&f->mu);
    if (!answer) {
        if (!strcmp(method, "getUpdates")) {
            answer = tgf_updates(f, b);
        } else if (!strcmp(method, "sendMessage") || !strcmp(method, "editMessageText")) {
            pthread_mutex_lock(&f->mu);
            int64_t mid = !strcmp(method, "sendMessage")
                              ? ++f->next_message_id
                              : json_integer_value(json_object_get(b, "message_id"));
            pthread_mutex_unlock(&f->mu);
            json_t *r = json_pack("{s:b, s:{s:I, s:I, s:{s:I, s:s}, s:O?}}", "ok", 1, "result",
                                  "message_id", (json_int_t)mid, "date", (json_int_t)1735689600,
                                  "chat", "id", json_integer_value(json_object_get(b, "chat_id")),
                                  "type", "private", "text", json_object_get(b, "text"));
            answer = json_dumps(r, JSON_COMPACT);
            json_decref(r);
        } else if (method[0]) {
            answer = strdup("{\"ok\":true,\"result\":true}");
        } else {
            status = 404;
            answer = strdup("{\"ok\":false,\"error_code\":404,\"description\":\"Not Found\"}");
        }
    }
    json_t *ans = json_loads(answer, 0, NULL);
    int64_t rid = json_integer_value(json_object_get(json_object_get(ans, "result"), "message_id"));
    json_decref(ans);
    pthread_mutex_lock(&f->mu);
    if (f->nreq < TGF_MAX_REQ) {
        tgf_req_t *r = &f->req[f->nreq++];
        snprintf(r->method, sizeof r->method, "%s", method);
        snprintf(r->token, sizeof r->token, "%s", token);
        r->body = b;
        b = NULL;
        r->at_ns = tgf_now();
        r->status = status;
        r->result_id = rid;
    }
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    json_decref(b);
    tgf_answer(c->fd, status, answer);
    free(answer);
out:
    close(c->fd);
    pthread_mutex_lock(&f->mu);
    f->threads--;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    free(c);
    return NULL;
}

static inline void *tgf_accept_main(void *arg)
{
    tgf_t *f = arg;
    while (!f->stop) {
        int fd = accept(f->fd, NULL, NULL);
        if (fd < 0)
            continue;
        if (f->stop) {
            close(fd);
            break;
        }
        tgf_conn_t *c = malloc(sizeof *c);
        c->f = f;
        c->fd = fd;
        pthread_mutex_lock(&f->mu);
        f->threads++;
        pthread_mutex_unlock(&f->mu);
        pthread_t t;
        pthread_create(&t, NULL, tgf_conn_main, c);
        pthread_detach(t);
    }
    return NULL;
}

/* Listen on an ephemeral loopback port. */
static inline tgf_t *tgf_start(void)
{
    tgf_t *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->next_update_id = 500000000;
    f->hold_polls = 1;
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(f->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(f->fd, (struct sockaddr *)&a, sizeof a) || listen(f->fd, 64))
        return NULL;
    socklen_t al = sizeof a;
    getsockname(f->fd, (struct sockaddr *)&a, &al);
    f->port = ntohs(a.sin_port);
    pthread_create(&f->th, NULL, tgf_accept_main, f);
    return f;
}

static inline void tgf_stop(tgf_t *f)
{
    pthread_mutex_lock(&f->mu);
    f->stop = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    shutdown(f->fd, SHUT_RDWR);
    close(f->fd);
    pthread_join(f->th, NULL);
    pthread_mutex_lock(&f->mu);
    while (f->threads > 0)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
    for (int i = 0; i < f->nreq; i++)
        json_decref(f->req[i].body);
    for (int i = 0; i < f->nupd; i++)
        free(f->upd[i]);
    free(f);
}

/* Queue one raw update text (its update_id must be id). */
static inline void tgf_push_raw(tgf_t *f, int64_t id, const char *json)
{
    pthread_mutex_lock(&f->mu);
    f->upd[f->nupd] = strdup(json);
    f->upd_id[f->nupd++] = id;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static inline int64_t tgf_next_id(tgf_t *f)
{
    pthread_mutex_lock(&f->mu);
    int64_t id = ++f->next_update_id;
    pthread_mutex_unlock(&f->mu);
    return id;
}

/* A user types text in a chat (private when chat == user). */
static inline void tgf_push_text(tgf_t *f, int64_t user, const char *name, int64_t chat,
                                 const char *text)
{
    int64_t id = tgf_next_id(f);
    json_t *u =
        json_pack("{s:I, s:{s:I, s:{s:I, s:b, s:s, s:s}, s:{s:I, s:s}, s:I, s:s}}", "update_id",
                  (json_int_t)id, "message", "message_id", (json_int_t)(id % 100000), "from", "id",
                  (json_int_t)user, "is_bot", 0, "first_name", name, "username", name, "chat", "id",
                  (json_int_t)chat, "type", chat == user ? "private" : "supergroup", "date",
                  (json_int_t)1735689600, "text", text);
    char *s = json_dumps(u, JSON_COMPACT);
    tgf_push_raw(f, id, s);
    free(s);
    json_decref(u);
}

/* A user presses a button carrying data on message msg of chat. */
static inline void tgf_push_button(tgf_t *f, int64_t user, const char *name, int64_t chat,
                                   int64_t msg, const char *data)
{
    int64_t id = tgf_next_id(f);
    char cbid[32];
    snprintf(cbid, sizeof cbid, "cb%lld", (long long)id);
    json_t *u = json_pack(
        "{s:I, s:{s:s, s:{s:I, s:b, s:s}, s:{s:I, s:{s:I, s:s}, s:I, s:s}, s:s, s:s}}", "update_id",
        (json_int_t)id, "callback_query", "id", cbid, "from", "id", (json_int_t)user, "is_bot", 0,
        "first_name", name, "message", "message_id", (json_int_t)msg, "chat", "id",
        (json_int_t)chat, "type", "private", "date", (json_int_t)1735689605, "text", "request",
        "chat_instance", "-5120993721839281337", "data", data);
    char *s = json_dumps(u, JSON_COMPACT);
    tgf_push_raw(f, id, s);
    free(s);
    json_decref(u);
}

/* The next method call fails once with this status and body. */
static inline void tgf_fail_next(tgf_t *f, const char *method, int status, const char *body)
{
    pthread_mutex_lock(&f->mu);
    tgf_canned_t *c = &f->canned[f->ncanned++];
    snprintf(c->method, sizeof c->method, "%s", method);
    c->status = status;
    snprintf(c->body, sizeof c->body, "%s", body);
    pthread_mutex_unlock(&f->mu);
}

/* Index of the first request at or after *from for method (and chat_id if
 * chat != 0) whose text contains needle (NULL: any), waiting up to
 * timeout_ms; -1 if none came. *from moves past it. */
static inline int tgf_wait_request(tgf_t *f, int *from, const char *method, int64_t chat,
                                   const char *needle, int timeout_ms)
{
    int64_t until = tgf_now() + (int64_t)timeout_ms * 1000000;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        for (int i = *from; i < f->nreq; i++) {
            tgf_req_t *r = &f->req[i];
            if (method && strcmp(r->method, method)) /* NULL: any method */
                continue;
            if (chat && json_integer_value(json_object_get(r->body, "chat_id")) != chat)
                continue;
            const char *t = json_string_value(json_object_get(r->body, "text"));
            if (needle && (!t || !strstr(t, needle)))
                continue;
            *from = i + 1;
            pthread_mutex_unlock(&f->mu);
            return i;
        }
        if (tgf_now() >= until) {
            pthread_mutex_unlock(&f->mu);
            return -1;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    }
}

/* The Bot API away for ms milliseconds from now: every call answered 502. */
static inline void tgf_outage(tgf_t *f, int ms)
{
    pthread_mutex_lock(&f->mu);
    f->down_until_ns = tgf_now() + (int64_t)ms * 1000000;
    pthread_mutex_unlock(&f->mu);
}

/* How many requests so far (an index: what comes next is at or after it). */
static inline int tgf_nreq(tgf_t *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->nreq;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* How many requests of a method so far. */
static inline int tgf_count(tgf_t *f, const char *method)
{
    int n = 0;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->nreq; i++)
        n += !strcmp(f->req[i].method, method);
    pthread_mutex_unlock(&f->mu);
    return n;
}

#endif /* TG_FAKE_H */
