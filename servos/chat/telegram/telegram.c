/*
 * telegram.c — the Bot API client (see telegram.h for the contract).
 *
 * Design: one HTTP exchange per connection (a POST with a JSON body), as
 * the feeds' REST requests do; at most one getUpdates and SEND_SLOTS
 * sends in flight. A 100 ms timer and libwebsockets' cancel-service wake
 * (any thread that queues a message calls lws_cancel_service) drive the
 * dispatcher, so a queued message leaves within a poll cycle.
 *
 * Pacing keeps per-chat order: the dispatcher walks the outbox front to
 * back and takes an entry only if no earlier entry of the same chat is
 * waiting or in flight, the chat's last send is 1/chat_per_s ago, and the
 * global gap 1/global_per_s has passed. A 429 puts the message back at the
 * front and holds every send until its retry_after.
 */
#include "nx/telegram.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx/clock.h"
#include "nx/error.h"
#include "nx/log.h"

#define SEND_SLOTS     4
#define OUTBOX_MAX     20000 /* messages waiting at most, then nx_tg_send refuses */
#define INBOX_SIZE     256   /* updates waiting for the bot */
#define SENT_SIZE      256   /* tagged message ids waiting for the bot */
#define RESP_MAX       (1u << 20)
#define CHATS          512 /* chats whose last send time is remembered */
#define TICK_US        (100 * 1000)
#define HOOK_MAX       (256u << 10)
#define OPTIONAL_TRIES 3 /* an optional call that failed this often is given up */

typedef struct tg_req {
    struct tg_req *next;
    char method[24];
    int64_t chat_id; /* paced per chat; 0 = not a chat message */
    uint64_t tag;
    uint32_t attempts;     /* failed tries so far (5xx, network) */
    int64_t not_before_ns; /* after a failure: its own backoff, nobody else's */
    uint8_t optional;      /* nice to have (setMyCommands): given up after OPTIONAL_TRIES */
    uint8_t reply;         /* an answer to a person: ahead of their chat's notices */
    char *body;
    size_t len;
} tg_req_t;

typedef struct tg_conn {
    nx_tg_t *tg;
    struct lws *wsi;
    tg_req_t *req; /* NULL: the getUpdates poll */
    int busy, done, status;
    int64_t deadline_ns;
    int64_t sent_ns; /* when the exchange began */
    int closing;     /* answered, its connection not yet closed: not reused (see tg_cb) */
    char *buf;
    size_t len;
    char *out; /* LWS_PRE + body */
    size_t out_len;
} tg_conn_t;

typedef struct chat_pace {
    int64_t chat_id, last_ns;
} chat_pace_t;

struct nx_tg {
    struct lws_context *ctx;
    struct lws_vhost *vh, *hook_vh;
    char host[128], base[256], token[128];
    int port, ssl;
    nx_tg_opts_t o;
    char webhook_url[256], webhook_secret[257], *commands;
    int started, stopping;
    lws_sorted_usec_list_t tick;

    /* outbox: any thread → network thread */
    pthread_mutex_t mu;
    tg_req_t *head, *tail;
    uint32_t queued;
    /* inbox: network thread → bot */
    nx_tg_update_t *inbox;
    uint32_t in_head, in_tail;
    nx_tg_sent_t sent[SENT_SIZE];
    uint32_t sent_head, sent_tail;
    nx_tg_stats_t st;

    /* network thread only */
    tg_conn_t poll, slots[SEND_SLOTS];
    int64_t offset;
    int64_t next_poll_ns, send_after_ns, last_send_ns;
    uint32_t poll_fails, send_fails; /* in a row: the next wait's nx_backoff_ms attempt */
    chat_pace_t pace[CHATS];
};

static int64_t now_ns(void)
{
    return nx_mono_ns();
}

/* The wait after `fails` failures in a row, in ns. */
static int64_t backoff_ns(const nx_tg_t *tg, uint32_t fails)
{
    return nx_backoff_ms(tg->o.backoff_min_ms, tg->o.backoff_max_ms, fails) * NX_NS_PER_MS;
}

/* ---- outbox ---------------------------------------------------------------- */

static int enqueue_as(nx_tg_t *tg, const char *method, int64_t chat_id, uint64_t tag, json_t *body,
                      int reply)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    tg_req_t *r = text ? calloc(1, sizeof *r) : NULL;
    if (!r) {
        free(text);
        return NX_ENOMEM;
    }
    snprintf(r->method, sizeof r->method, "%s", method);
    r->optional = !strcmp(method, "setMyCommands");
    r->reply = (uint8_t)(reply != 0);
    r->chat_id = chat_id;
    r->tag = tag;
    r->body = text;
    r->len = strlen(text);
    pthread_mutex_lock(&tg->mu);
    if (tg->queued >= OUTBOX_MAX) {
        pthread_mutex_unlock(&tg->mu);
        NX_LOGK(NX_LOG_ERROR, "chat", "chat.full",
                "telegram: %u messages are waiting; %s to chat %lld refused", OUTBOX_MAX, method,
                (long long)chat_id);
        free(r->body);
        free(r);
        return NX_EFULL;
    }
    /* a reply goes before the notices waiting for its chat (after the
     * replies already there): the person who asked hears first, and what
     * each chat is told keeps its order otherwise */
    tg_req_t *prev = NULL, *at = NULL;
    if (r->reply)
        for (tg_req_t *x = tg->head; x; prev = x, x = x->next)
            if (x->chat_id == chat_id && !x->reply) {
                at = x;
                break;
            }
    if (at) {
        r->next = at;
        if (prev)
            prev->next = r;
        else
            tg->head = r;
    } else {
        if (tg->tail)
            tg->tail->next = r;
        else
            tg->head = r;
        tg->tail = r;
    }
    tg->queued++;
    tg->st.queued = tg->queued;
    /* wake the network thread; under mu, so never after nx_tg_stop: the
     * context is destroyed soon after it, while the service thread may
     * still be sending (notifications of the journal's last entries) */
    if (tg->ctx && !tg->stopping)
        lws_cancel_service(tg->ctx);
    pthread_mutex_unlock(&tg->mu);
    return 0;
}

static int enqueue(nx_tg_t *tg, const char *method, int64_t chat_id, uint64_t tag, json_t *body)
{
    return enqueue_as(tg, method, chat_id, tag, body, 0);
}

/* Back to the front of the outbox (a 429 or a network error). */
static void requeue_front(nx_tg_t *tg, tg_req_t *r)
{
    pthread_mutex_lock(&tg->mu);
    r->next = tg->head;
    tg->head = r;
    if (!tg->tail)
        tg->tail = r;
    tg->queued++;
    tg->st.queued = tg->queued;
    tg->st.retries++;
    pthread_mutex_unlock(&tg->mu);
}

static json_t *markup(const char *keyboard)
{
    return keyboard && *keyboard ? json_loads(keyboard, 0, NULL) : NULL;
}

static int send_as(nx_tg_t *tg, int64_t chat_id, const char *html, const char *keyboard,
                   uint64_t tag, int reply)
{
    json_t *b = json_pack("{s:I, s:s, s:s, s:{s:b}}", "chat_id", (json_int_t)chat_id, "text", html,
                          "parse_mode", "HTML", "link_preview_options", "is_disabled", 1);
    if (!b)
        return NX_EINVAL;
    json_t *k = markup(keyboard);
    if (k)
        json_object_set_new(b, "reply_markup", k);
    return enqueue_as(tg, "sendMessage", chat_id, tag, b, reply);
}

int nx_tg_send(nx_tg_t *tg, int64_t chat_id, const char *html, const char *keyboard, uint64_t tag)
{
    return send_as(tg, chat_id, html, keyboard, tag, 0);
}

int nx_tg_reply(nx_tg_t *tg, int64_t chat_id, const char *html, const char *keyboard, uint64_t tag)
{
    return send_as(tg, chat_id, html, keyboard, tag, 1);
}

int nx_tg_amend_queued(nx_tg_t *tg, uint64_t tag, const char *html)
{
    if (!tag)
        return 0;
    int done = 0;
    pthread_mutex_lock(&tg->mu);
    for (tg_req_t *r = tg->head; r && !done; r = r->next) {
        if (r->tag != tag || strcmp(r->method, "sendMessage"))
            continue;
        json_t *b = json_loadb(r->body, r->len, 0, NULL);
        if (!b)
            break;
        json_object_set_new(b, "text", json_string(html));
        json_object_del(b, "reply_markup"); /* no buttons on what is over */
        char *text = json_dumps(b, JSON_COMPACT);
        json_decref(b);
        if (text) {
            free(r->body);
            r->body = text;
            r->len = strlen(text);
            done = 1;
        }
    }
    pthread_mutex_unlock(&tg->mu);
    return done;
}

int nx_tg_edit(nx_tg_t *tg, int64_t chat_id, int64_t message_id, const char *html,
               const char *keyboard)
{
    json_t *b = json_pack("{s:I, s:I, s:s, s:s}", "chat_id", (json_int_t)chat_id, "message_id",
                          (json_int_t)message_id, "text", html, "parse_mode", "HTML");
    if (!b)
        return NX_EINVAL;
    /* no keyboard: an empty one removes the buttons */
    json_t *k = markup(keyboard);
    json_object_set_new(b, "reply_markup", k ? k : json_pack("{s:[]}", "inline_keyboard"));
    return enqueue(tg, "editMessageText", chat_id, 0, b);
}

int nx_tg_answer(nx_tg_t *tg, const char *callback_id, const char *text)
{
    json_t *b = json_pack("{s:s, s:s}", "callback_query_id", callback_id, "text", text ? text : "");
    return b ? enqueue(tg, "answerCallbackQuery", 0, 0, b) : NX_EINVAL;
}

int nx_tg_delete(nx_tg_t *tg, int64_t chat_id, int64_t message_id)
{
    json_t *b = json_pack("{s:I, s:I}", "chat_id", (json_int_t)chat_id, "message_id",
                          (json_int_t)message_id);
    return b ? enqueue(tg, "deleteMessage", 0, 0, b) : NX_EINVAL;
}

size_t nx_tg_escape(const char *src, char *dst, size_t cap)
{
    size_t o = 0;
    if (!cap)
        return 0;
    for (; src && *src; src++) {
        const char *rep = NULL;
        char one[2] = {*src, 0};
        switch (*src) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        default:
            rep = one;
            break;
        }
        size_t n = strlen(rep);
        if (o + n >= cap)
            break;
        memcpy(dst + o, rep, n);
        o += n;
    }
    dst[o] = 0;
    return o;
}

/* ---- inbox ----------------------------------------------------------------- */

static uint32_t inbox_free(nx_tg_t *tg)
{
    pthread_mutex_lock(&tg->mu);
    uint32_t f = INBOX_SIZE - (tg->in_head - tg->in_tail);
    pthread_mutex_unlock(&tg->mu);
    return f;
}

static int inbox_put(nx_tg_t *tg, const nx_tg_update_t *u)
{
    pthread_mutex_lock(&tg->mu);
    int ok = tg->in_head - tg->in_tail < INBOX_SIZE;
    if (ok) {
        tg->inbox[tg->in_head++ % INBOX_SIZE] = *u;
        tg->st.updates++;
    }
    pthread_mutex_unlock(&tg->mu);
    return ok;
}

int nx_tg_next(nx_tg_t *tg, nx_tg_update_t *out)
{
    pthread_mutex_lock(&tg->mu);
    int got = tg->in_tail != tg->in_head;
    if (got)
        *out = tg->inbox[tg->in_tail++ % INBOX_SIZE];
    pthread_mutex_unlock(&tg->mu);
    return got;
}

int nx_tg_next_sent(nx_tg_t *tg, nx_tg_sent_t *out)
{
    pthread_mutex_lock(&tg->mu);
    int got = tg->sent_tail != tg->sent_head;
    if (got)
        *out = tg->sent[tg->sent_tail++ % SENT_SIZE];
    pthread_mutex_unlock(&tg->mu);
    return got;
}

static void sent_put(nx_tg_t *tg, uint64_t tag, int64_t chat, int64_t msg)
{
    pthread_mutex_lock(&tg->mu);
    if (tg->sent_head - tg->sent_tail == SENT_SIZE)
        tg->sent_tail++; /* the bot has not looked for 256 messages: the oldest goes */
    tg->sent[tg->sent_head++ % SENT_SIZE] = (nx_tg_sent_t){tag, chat, msg};
    pthread_mutex_unlock(&tg->mu);
}

void nx_tg_stats(nx_tg_t *tg, nx_tg_stats_t *out)
{
    pthread_mutex_lock(&tg->mu);
    *out = tg->st;
    pthread_mutex_unlock(&tg->mu);
}

uint32_t nx_tg_pending(nx_tg_t *tg)
{
    uint32_t n = 0;
    for (int i = 0; i < SEND_SLOTS; i++)
        n += tg->slots[i].busy;
    pthread_mutex_lock(&tg->mu);
    n += tg->queued;
    pthread_mutex_unlock(&tg->mu);
    return n;
}

#define ST_ADD(tg, f, n)                                                                           \
    do {                                                                                           \
        pthread_mutex_lock(&(tg)->mu);                                                             \
        (tg)->st.f += (n);                                                                         \
        pthread_mutex_unlock(&(tg)->mu);                                                           \
    } while (0)

/* ---- updates ----------------------------------------------------------------- */

static void copy_str(char *dst, size_t cap, json_t *v)
{
    const char *s = json_string_value(v);
    snprintf(dst, cap, "%s", s ? s : "");
}

/* One Update object into u. 1 = a message or a button, 0 = another kind
 * (ignored), -1 = malformed. */
static int parse_update(json_t *up, nx_tg_update_t *u)
{
    memset(u, 0, sizeof *u);
    json_t *id = json_object_get(up, "update_id");
    if (!json_is_integer(id))
        return -1;
    u->update_id = json_integer_value(id);
    json_t *m = json_object_get(up, "message"), *cb = json_object_get(up, "callback_query");
    json_t *from, *chat;
    if (m) {
        from = json_object_get(m, "from");
        chat = json_object_get(m, "chat");
        json_t *text = json_object_get(m, "text"), *mid = json_object_get(m, "message_id");
        if (!json_is_object(chat) || !json_is_integer(json_object_get(chat, "id")) ||
            !json_is_integer(mid))
            return -1;
        if (!json_is_string(text) || !json_is_object(from))
            return 0; /* a photo, a sticker, a channel post: not for the bot */
        u->kind = NX_TG_MESSAGE;
        u->message_id = json_integer_value(mid);
        copy_str(u->text, sizeof u->text, text);
    } else if (cb) {
        from = json_object_get(cb, "from");
        json_t *msg = json_object_get(cb, "message"), *cid = json_object_get(cb, "id");
        chat = json_object_get(msg, "chat");
        if (!json_is_string(cid) || !json_is_object(from) || !json_is_object(chat) ||
            !json_is_integer(json_object_get(chat, "id")))
            return -1;
        u->kind = NX_TG_CALLBACK;
        u->message_id = json_integer_value(json_object_get(msg, "message_id"));
        u->inaccessible = json_integer_value(json_object_get(msg, "date")) == 0;
        copy_str(u->callback_id, sizeof u->callback_id, cid);
        copy_str(u->text, sizeof u->text, json_object_get(cb, "data"));
    } else {
        return 0; /* edited messages, inline queries, member updates */
    }
    json_t *uid = json_object_get(from, "id");
    if (!json_is_integer(uid) || json_is_true(json_object_get(from, "is_bot")))
        return json_is_integer(uid) ? 0 : -1;
    u->user_id = json_integer_value(uid);
    u->chat_id = json_integer_value(json_object_get(chat, "id"));
    const char *type = json_string_value(json_object_get(chat, "type"));
    u->is_private = type && !strcmp(type, "private");
    copy_str(u->username, sizeof u->username, json_object_get(from, "username"));
    copy_str(u->first_name, sizeof u->first_name, json_object_get(from, "first_name"));
    return 1;
}

/* One update (from getUpdates or a webhook POST): into the inbox, or
 * counted. Returns 0 if the inbox was full (not taken). */
static int take_update(nx_tg_t *tg, json_t *up)
{
    nx_tg_update_t *u = malloc(sizeof *u);
    if (!u)
        return 0;
    int k = parse_update(up, u), ok = 1;
    if (k == 1)
        ok = inbox_put(tg, u);
    else if (k == 0)
        ST_ADD(tg, ignored, 1);
    else {
        ST_ADD(tg, malformed, 1);
        NX_LOGK(NX_LOG_WARN, "chat", "chat.malformed", "telegram: a malformed update was skipped");
    }
    free(u);
    return ok;
}

/* A \uXXXX escape at p (6 bytes) as its value, or -1. */
static long hex4(const char *p, const char *end)
{
    if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
        return -1;
    long v = 0;
    for (int i = 2; i < 6; i++) {
        char ch = p[i];
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Telegram passes on what people type, and a text may hold half of a
 * UTF-16 surrogate pair ("\ud83d" alone), which no JSON parser accepts:
 * the whole getUpdates answer would be refused, and the update asked for
 * again forever. Each lone half becomes U+FFFD, in place (same length),
 * before parsing. */
static void mend_surrogates(char *buf, size_t len)
{
    char *end = buf + len;
    for (char *p = buf; p < end; p++) {
        if (*p != '\\')
            continue;
        if (p + 1 < end && p[1] != 'u') {
            p++; /* an escaped character: skip it (it may be a backslash) */
            continue;
        }
        long v = hex4(p, end);
        if (v < 0xD800 || v > 0xDFFF) {
            p += v < 0 ? 1 : 5;
            continue;
        }
        long lo = v <= 0xDBFF ? hex4(p + 6, end) : -1;
        if (v <= 0xDBFF && lo >= 0xDC00 && lo <= 0xDFFF) {
            p += 11; /* a whole pair */
            continue;
        }
        memcpy(p, "\\ufffd", 6);
        p += 5;
    }
}

static void on_poll_answer(nx_tg_t *tg, tg_conn_t *c)
{
    if (c->len)
        mend_surrogates(c->buf, c->len);
    json_t *root = c->len ? json_loadb(c->buf, c->len, 0, NULL) : NULL;
    json_t *res = json_object_get(root, "result");
    if (c->status != 200 || !json_is_true(json_object_get(root, "ok")) || !json_is_array(res)) {
        ST_ADD(tg, poll_errors, 1);
        const char *d = json_string_value(json_object_get(root, "description"));
        int64_t wait = backoff_ns(tg, tg->poll_fails++);
        NX_LOGK(NX_LOG_WARN, "chat", "chat.poll",
                "telegram: getUpdates failed (HTTP %d%s%s); retrying in %lld ms", c->status,
                d ? ": " : "", d ? d : "", (long long)(wait / NX_NS_PER_MS));
        tg->next_poll_ns = now_ns() + wait;
        json_decref(root);
        return;
    }
    tg->poll_fails = 0;
    size_t i;
    json_t *up;
    int64_t now = now_ns();
    /* nothing new, at once: a server that does not hold polls (or a
     * timeout of 0) would have us ask hundreds of times a second; ask
     * again a second after this one was sent instead */
    tg->next_poll_ns = !json_array_size(res) && now - c->sent_ns < NX_NS_PER_SEC
                           ? c->sent_ns + NX_NS_PER_SEC
                           : now;
    json_array_foreach(res, i, up)
    {
        json_int_t id = json_integer_value(json_object_get(up, "update_id"));
        if (json_is_integer(json_object_get(up, "update_id")) && id < tg->offset)
            continue; /* already taken */
        if (!take_update(tg, up))
            break; /* inbox full: asked again from here */
        if (json_is_integer(json_object_get(up, "update_id")))
            tg->offset = id + 1;
    }
    json_decref(root);
}

/* ---- sending --------------------------------------------------------------- */

static int retry_after_s(json_t *root)
{
    json_t *p = json_object_get(json_object_get(root, "parameters"), "retry_after");
    if (json_is_integer(p) && json_integer_value(p) > 0)
        return (int)json_integer_value(p);
    const char *d = json_string_value(json_object_get(root, "description"));
    const char *k = d ? strstr(d, "retry after ") : NULL;
    int s = k ? atoi(k + 12) : 0;
    return s > 0 ? s : 1;
}

static void on_send_answer(nx_tg_t *tg, tg_conn_t *c, int failed)
{
    tg_req_t *r = c->req;
    c->req = NULL;
    json_t *root = failed ? NULL : json_loadb(c->buf, c->len, 0, NULL);
    int64_t now = now_ns();
    if (!failed && c->status == 200 && json_is_true(json_object_get(root, "ok"))) {
        ST_ADD(tg, sent, 1);
        tg->send_fails = 0;
        if (r->tag) {
            json_t *mid = json_object_get(json_object_get(root, "result"), "message_id");
            sent_put(tg, r->tag, r->chat_id, json_integer_value(mid));
        }
        goto done;
    }
    if (!failed && c->status == 429) {
        int s = retry_after_s(root);
        pthread_mutex_lock(&tg->mu);
        tg->st.http429++;
        tg->st.last_429_ns = now;
        tg->st.first_send_after_429_ns = 0;
        tg->st.blocked_until_ns = now + (int64_t)s * NX_NS_PER_SEC;
        pthread_mutex_unlock(&tg->mu);
        tg->send_after_ns = now + (int64_t)s * NX_NS_PER_SEC;
        NX_LOGK(NX_LOG_WARN, "chat", "chat.429",
                "telegram: %s answered 429; sending again in %d s (retry_after)", r->method, s);
        requeue_front(tg, r);
        json_decref(root);
        return;
    }
    if (failed || c->status >= 500 || c->status == 0) {
        ST_ADD(tg, send_errors, 1);
        if (r->optional && ++r->attempts >= OPTIONAL_TRIES) {
            NX_LOGK(NX_LOG_WARN, "chat", "chat.optional",
                    "telegram: %s failed %u times (%s %d); given up, the bot works without it",
                    r->method, r->attempts, failed ? "connection" : "HTTP", c->status);
            goto done;
        }
        if (!r->optional)
            r->attempts++;
        /* the wait is this request's own: other chats' messages, and the
         * person's replies, do not queue behind a call that keeps failing */
        int64_t wait = backoff_ns(tg, r->attempts - 1);
        NX_LOGK(NX_LOG_WARN, "chat", "chat.send",
                "telegram: %s failed (%s %d); retrying in %lld ms", r->method,
                failed ? "connection" : "HTTP", c->status, (long long)(wait / NX_NS_PER_MS));
        r->not_before_ns = now + wait;
        requeue_front(tg, r);
        json_decref(root);
        return;
    }
    /* refused for good: say so */
    ST_ADD(tg, refused, 1);
    {
        const char *d = json_string_value(json_object_get(root, "description"));
        int quiet = d && strstr(d, "message is not modified");
        NX_LOGK(quiet ? NX_LOG_DEBUG : NX_LOG_WARN, "chat", "chat.refused",
                "telegram: %s to chat %lld refused (HTTP %d): %s", r->method, (long long)r->chat_id,
                c->status, d ? d : "no description");
        if (r->tag)
            sent_put(tg, r->tag, r->chat_id, 0);
    }
done:
    json_decref(root);
    free(r->body);
    free(r);
}

/* ---- connections ------------------------------------------------------------- */

static void conn_reset(tg_conn_t *c)
{
    free(c->out);
    c->out = NULL;
    c->out_len = 0;
    c->len = 0;
    c->status = 0;
    c->done = 0;
    c->busy = 0;
    c->wsi = NULL;
}

static int conn_open(nx_tg_t *tg, tg_conn_t *c, const char *method, const char *body, size_t len,
                     int64_t timeout_s)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bot%s/%s", tg->base, tg->token, method);
    c->tg = tg;
    c->out = malloc(LWS_PRE + len + 1);
    if (!c->out)
        return NX_ENOMEM;
    memcpy(c->out + LWS_PRE, body, len);
    c->out_len = len;
    c->len = 0;
    c->status = 0;
    c->done = 0;
    c->busy = 1;
    c->sent_ns = now_ns();
    c->deadline_ns = c->sent_ns + timeout_s * NX_NS_PER_SEC;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = tg->ctx;
    ci.vhost = tg->vh;
    ci.address = tg->host;
    ci.port = tg->port;
    ci.path = path;
    ci.host = tg->host;
    ci.origin = tg->host;
    ci.method = "POST";
    ci.ssl_connection = tg->ssl ? LCCSCF_USE_SSL : 0;
    ci.local_protocol_name = "nx-tg";
    ci.userdata = c;
    ci.pwsi = &c->wsi;
    if (!lws_client_connect_via_info(&ci)) {
        conn_reset(c);
        return NX_EIO;
    }
    return 0;
}

static void conn_finished(tg_conn_t *c, int failed)
{
    nx_tg_t *tg = c->tg;
    if (!c->busy)
        return;
    if (tg->stopping) { /* closed by nx_tg_stop: a send goes back to the outbox */
        if (c->req)
            requeue_front(tg, c->req);
        c->req = NULL;
    } else if (c == &tg->poll) {
        if (failed) {
            c->status = 0;
            c->len = 0;
        }
        on_poll_answer(tg, c);
    } else if (c->req) {
        on_send_answer(tg, c, failed);
    }
    conn_reset(c);
}

static void dispatch(nx_tg_t *tg);

static int tg_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    tg_conn_t *c = user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        unsigned char **p = in, *end = *p + len;
        char cl[24];
        snprintf(cl, sizeof cl, "%zu", c->out_len);
        if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                         (const unsigned char *)"application/json", 16, p, end) ||
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
                                         (const unsigned char *)cl, (int)strlen(cl), p, end))
            return -1;
        lws_client_http_body_pending(wsi, 1);
        lws_callback_on_writable(wsi);
        break;
    }
    case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
        if (lws_write(wsi, (unsigned char *)c->out + LWS_PRE, c->out_len, LWS_WRITE_HTTP_FINAL) !=
            (int)c->out_len)
            return -1;
        lws_client_http_body_pending(wsi, 0);
        break;
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        c->status = (int)lws_http_client_http_response(wsi);
        break;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        if (c->len + len < RESP_MAX) {
            char *nb = realloc(c->buf, c->len + len + 1);
            if (!nb)
                return -1;
            c->buf = nb;
            memcpy(c->buf + c->len, in, len);
            c->len += len;
            c->buf[c->len] = 0;
        }
        break;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
        char buffer[4096 + LWS_PRE];
        char *px = buffer + LWS_PRE;
        int lenx = sizeof buffer - LWS_PRE;
        if (lws_http_client_read(wsi, &px, &lenx) < 0)
            return -1;
        return 0;
    }
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
        if (c && c->busy && !c->done) {
            c->done = 1;
            c->wsi = NULL;
            conn_finished(c, 0);
            /* the slot waits for this connection's close before it carries
             * another exchange, so no callback of one lands on the other */
            c->closing = 1;
            dispatch(c->tg);
        }
        return -1; /* one exchange per connection */
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        if (!c)
            break;
        c->closing = 0;
        if (c->busy && !c->done) {
            c->done = 1;
            c->wsi = NULL;
            conn_finished(c, 1);
        }
        dispatch(c->tg);
        break;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
        /* another thread queued something; user is NULL here */
        struct lws_vhost *vh = lws_get_vhost(wsi);
        nx_tg_t *tg = vh ? *(nx_tg_t **)lws_protocol_vh_priv_get(vh, lws_get_protocol(wsi)) : NULL;
        if (tg && tg->started && !tg->stopping)
            dispatch(tg);
        break;
    }
    default:
        break;
    }
    return 0;
}

/* ---- webhook ------------------------------------------------------------------ */

typedef struct hook_pss {
    char *buf;
    size_t len;
    int authorized;
} hook_pss_t;

static int hook_reply(struct lws *wsi, unsigned status)
{
    return lws_return_http_status(wsi, status, NULL) || lws_http_transaction_completed(wsi) ? -1
                                                                                            : 0;
}

static int hook_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    hook_pss_t *p = user;
    struct lws_vhost *vh = lws_get_vhost(wsi);
    void *priv = vh ? lws_protocol_vh_priv_get(vh, lws_get_protocol(wsi)) : NULL;
    nx_tg_t *tg = priv ? *(nx_tg_t **)priv : NULL;
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        if (!tg || lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) <= 0)
            return hook_reply(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED);
        char got[300];
        int n = lws_hdr_custom_copy(wsi, got, sizeof got, "x-telegram-bot-api-secret-token:", 32);
        p->authorized = n > 0 && !strcmp(got, tg->webhook_secret);
        p->len = 0;
        return 0; /* the body follows */
    }
    case LWS_CALLBACK_HTTP_BODY:
        if (p->len + len > HOOK_MAX)
            return -1;
        {
            char *nb = realloc(p->buf, p->len + len + 1);
            if (!nb)
                return -1;
            p->buf = nb;
            memcpy(p->buf + p->len, in, len);
            p->len += len;
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
        ST_ADD(tg, webhook_posts, 1);
        if (!p->authorized) {
            ST_ADD(tg, webhook_refused, 1);
            NX_LOGK(NX_LOG_WARN, "chat", "chat.hook",
                    "telegram webhook: a POST without the right secret token was refused");
            return hook_reply(wsi, HTTP_STATUS_FORBIDDEN);
        }
        if (p->buf)
            mend_surrogates(p->buf, p->len);
        json_t *up = p->buf ? json_loadb(p->buf, p->len, 0, NULL) : NULL;
        unsigned status = HTTP_STATUS_OK;
        if (!up) {
            ST_ADD(tg, malformed, 1);
        } else if (!take_update(tg, up)) {
            status = HTTP_STATUS_SERVICE_UNAVAILABLE; /* inbox full: Telegram sends it again */
        }
        json_decref(up);
        p->len = 0;
        return hook_reply(wsi, status);
    }
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (p) {
            free(p->buf);
            p->buf = NULL;
            p->len = 0;
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols tg_protocols[] = {
    {"nx-tg", tg_cb, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static const struct lws_protocols hook_protocols[] = {
    {"nx-tg-hook", hook_cb, sizeof(hook_pss_t), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- the dispatcher --------------------------------------------------------------- */

static chat_pace_t *pace_of(nx_tg_t *tg, int64_t chat, int create)
{
    chat_pace_t *oldest = &tg->pace[0];
    for (int i = 0; i < CHATS; i++) {
        if (tg->pace[i].chat_id == chat && tg->pace[i].last_ns)
            return &tg->pace[i];
        if (tg->pace[i].last_ns < oldest->last_ns)
            oldest = &tg->pace[i];
    }
    if (!create)
        return NULL;
    oldest->chat_id = chat;
    oldest->last_ns = 0;
    return oldest;
}

static int chat_in_flight(nx_tg_t *tg, int64_t chat)
{
    for (int i = 0; i < SEND_SLOTS; i++)
        if (tg->slots[i].busy && tg->slots[i].req && tg->slots[i].req->chat_id == chat)
            return 1;
    return 0;
}

/* The first outbox entry that may leave now, unlinked; NULL if none.
 * An entry of a chat that must wait holds back the chat's later ones. */
static tg_req_t *take_sendable(nx_tg_t *tg, int64_t now)
{
    int64_t chat_gap = NX_NS_PER_SEC / tg->o.chat_per_s;
    int64_t held[16];
    int nheld = 0;
    tg_req_t *prev = NULL, *r = tg->head;
    for (; r; prev = r, r = r->next) {
        if (!r->chat_id) {
            if (now >= r->not_before_ns)
                break; /* not a chat message: not paced per chat */
            continue;  /* backing off after a failure: the others go meanwhile */
        }
        int wait = 0;
        for (int k = 0; k < nheld; k++)
            wait |= held[k] == r->chat_id;
        if (!wait) {
            chat_pace_t *pc = pace_of(tg, r->chat_id, 0);
            wait = chat_in_flight(tg, r->chat_id) || (pc && now - pc->last_ns < chat_gap) ||
                   now < r->not_before_ns;
            if (!wait)
                break;
            if (nheld == 16)
                return NULL; /* sixteen chats waiting: enough looking */
            held[nheld++] = r->chat_id;
        }
    }
    if (!r)
        return NULL;
    if (prev)
        prev->next = r->next;
    else
        tg->head = r->next;
    if (tg->tail == r)
        tg->tail = prev;
    r->next = NULL;
    tg->queued--;
    tg->st.queued = tg->queued;
    if (tg->st.last_429_ns && !tg->st.first_send_after_429_ns)
        tg->st.first_send_after_429_ns = now;
    return r;
}

static void dispatch_sends(nx_tg_t *tg, int64_t now)
{
    int64_t global_gap = NX_NS_PER_SEC / tg->o.global_per_s;
    for (int s = 0; s < SEND_SLOTS; s++) {
        tg_conn_t *c = &tg->slots[s];
        if (c->busy || c->closing)
            continue;
        if (now < tg->send_after_ns || now - tg->last_send_ns < global_gap)
            return;
        pthread_mutex_lock(&tg->mu);
        tg_req_t *r = take_sendable(tg, now);
        pthread_mutex_unlock(&tg->mu);
        if (!r)
            return;
        if (r->chat_id)
            pace_of(tg, r->chat_id, 1)->last_ns = now;
        tg->last_send_ns = now;
        c->req = r;
        if (conn_open(tg, c, r->method, r->body, r->len, 30)) {
            c->req = NULL;
            requeue_front(tg, r);
            tg->send_after_ns = now + backoff_ns(tg, tg->send_fails);
            return;
        }
    }
}

static void dispatch_poll(nx_tg_t *tg, int64_t now)
{
    if (tg->hook_vh || tg->poll.busy || tg->poll.closing || now < tg->next_poll_ns)
        return;
    uint32_t room = inbox_free(tg);
    if (room == 0) {
        tg->next_poll_ns = now + 100 * NX_NS_PER_MS;
        return;
    }
    char body[160];
    int n = snprintf(body, sizeof body,
                     "{\"offset\":%lld,\"limit\":%u,\"timeout\":%u,"
                     "\"allowed_updates\":[\"message\",\"callback_query\"]}",
                     (long long)tg->offset, room < 100 ? room : 100, tg->o.poll_timeout_s);
    ST_ADD(tg, polls, 1);
    if (conn_open(tg, &tg->poll, "getUpdates", body, (size_t)n, tg->o.poll_timeout_s + 15)) {
        ST_ADD(tg, poll_errors, 1);
        tg->next_poll_ns = now + backoff_ns(tg, tg->poll_fails);
    }
}

static void dispatch(nx_tg_t *tg)
{
    if (!tg->started || tg->stopping)
        return;
    int64_t now = now_ns();
    dispatch_sends(tg, now);
    dispatch_poll(tg, now);
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
    nx_tg_t *tg = lws_container_of(sul, nx_tg_t, tick);
    int64_t now = now_ns();
    /* a connection past its time is closed (and retried) */
    tg_conn_t *all[SEND_SLOTS + 1] = {&tg->poll};
    for (int i = 0; i < SEND_SLOTS; i++)
        all[i + 1] = &tg->slots[i];
    for (int i = 0; i <= SEND_SLOTS; i++)
        if (all[i]->busy && all[i]->wsi && now > all[i]->deadline_ns)
            lws_set_timeout(all[i]->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    /* libwebsockets gives an answer its context's few seconds (5 here),
     * arming that once the request is sent; a long poll is answered when
     * an update comes or after poll_timeout_s: each tick puts the wait
     * back to the poll's own deadline (the connection's other timeouts,
     * to connect, are the context's) */
    tg_conn_t *p = &tg->poll;
    if (p->busy && p->wsi && !p->done && now < p->deadline_ns) {
        int left = (int)((p->deadline_ns - now) / NX_NS_PER_SEC);
        lws_set_timeout(p->wsi, PENDING_TIMEOUT_AWAITING_SERVER_RESPONSE, left > 1 ? left : 1);
    }
    dispatch(tg);
    if (!tg->stopping)
        lws_sul_schedule(tg->ctx, 0, &tg->tick, on_tick, TICK_US);
}

/* ---- lifecycle ---------------------------------------------------------------- */

static struct lws_vhost *make_vhost(nx_tg_t *tg, const char *name, int port,
                                    const struct lws_protocols *protocols)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.vhost_name = name;
    info.port = port;
    info.iface = port != CONTEXT_PORT_NO_LISTEN ? "127.0.0.1" : NULL;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    struct lws_vhost *vh = lws_create_vhost(tg->ctx, &info);
    if (!vh)
        return NULL;
    nx_tg_t **priv = lws_protocol_vh_priv_zalloc(vh, &protocols[0], sizeof(nx_tg_t *));
    if (!priv)
        return NULL;
    *priv = tg;
    return vh;
}

nx_tg_t *nx_tg_create(struct lws_context *ctx, const nx_tg_opts_t *o)
{
    if (!ctx || !o || !o->token || !*o->token || !o->api_url) {
        NX_ERROR("chat", "telegram: no token (NEXUS_TELEGRAM_TOKEN) or API URL");
        return NULL;
    }
    if (strlen(o->token) >= 128 ||
        strspn(o->token, "0123456789abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ:_-") != strlen(o->token)) {
        NX_ERROR("chat", "telegram: the token in NEXUS_TELEGRAM_TOKEN is not a bot token");
        return NULL;
    }
    nx_tg_t *tg = calloc(1, sizeof *tg);
    if (!tg)
        return NULL;
    tg->inbox = calloc(INBOX_SIZE, sizeof *tg->inbox);
    pthread_mutex_init(&tg->mu, NULL);
    tg->ctx = ctx;
    tg->o = *o;
    if (!tg->o.chat_per_s)
        tg->o.chat_per_s = 1;
    if (!tg->o.global_per_s)
        tg->o.global_per_s = 30;
    if (!tg->o.backoff_min_ms)
        tg->o.backoff_min_ms = 500;
    if (!tg->o.backoff_max_ms)
        tg->o.backoff_max_ms = 30000;
    snprintf(tg->token, sizeof tg->token, "%s", o->token);
    /* belt and braces: the log redacts it too; a token the log cannot
     * redact is not used */
    int src = nx_log_add_secret(tg->token);
    if (src) {
        NX_ERROR("chat", "telegram: the bot token cannot be registered for redaction in the log "
                         "(%s): it is not used",
                 nx_strerror(src));
        goto fail;
    }
    snprintf(tg->webhook_url, sizeof tg->webhook_url, "%s", o->webhook_url ? o->webhook_url : "");
    snprintf(tg->webhook_secret, sizeof tg->webhook_secret, "%s",
             o->webhook_secret ? o->webhook_secret : "");
    tg->commands = o->commands_json ? strdup(o->commands_json) : NULL;
    tg->o.token = tg->o.webhook_secret = tg->o.webhook_url = tg->o.commands_json = NULL;
    char tmp[512];
    const char *prot, *addr, *path;
    snprintf(tmp, sizeof tmp, "%s", o->api_url);
    if (!tg->inbox || lws_parse_uri(tmp, &prot, &addr, &tg->port, &path) ||
        (strcmp(prot, "https") && strcmp(prot, "http"))) {
        NX_ERROR("chat", "telegram: api_url \"%s\" is not an http(s) URL", o->api_url);
        goto fail;
    }
    tg->ssl = !strcmp(prot, "https");
    snprintf(tg->host, sizeof tg->host, "%s", addr);
    while (*path == '/')
        path++;
    snprintf(tg->base, sizeof tg->base, "%s%s", *path ? "/" : "", path);
    size_t bl = strlen(tg->base);
    while (bl && tg->base[bl - 1] == '/')
        tg->base[--bl] = 0;
    if (tg->webhook_url[0] && !tg->webhook_secret[0]) {
        NX_ERROR("chat", "telegram: webhook mode needs NEXUS_TELEGRAM_WEBHOOK_SECRET "
                         "(1-256 of A-Z a-z 0-9 _ -)");
        goto fail;
    }
    tg->vh = make_vhost(tg, "nx-tg", CONTEXT_PORT_NO_LISTEN, tg_protocols);
    if (!tg->vh) {
        NX_ERROR("chat", "telegram: cannot create the client vhost");
        goto fail;
    }
    if (tg->webhook_url[0]) {
        tg->hook_vh = make_vhost(tg, "nx-tg-hook", (int)o->webhook_port, hook_protocols);
        if (!tg->hook_vh) {
            NX_ERROR("chat", "telegram: cannot listen for the webhook on 127.0.0.1:%u",
                     o->webhook_port);
            goto fail;
        }
    }
    return tg;
fail:
    nx_tg_destroy(tg);
    return NULL;
}

int nx_tg_start(nx_tg_t *tg)
{
    if (tg->commands) {
        json_t *cmds = json_loads(tg->commands, 0, NULL);
        if (cmds)
            enqueue(tg, "setMyCommands", 0, 0, json_pack("{s:o}", "commands", cmds));
    }
    if (tg->hook_vh)
        enqueue(tg, "setWebhook", 0, 0,
                json_pack("{s:s, s:s, s:[s,s]}", "url", tg->webhook_url, "secret_token",
                          tg->webhook_secret, "allowed_updates", "message", "callback_query"));
    else
        enqueue(tg, "deleteWebhook", 0, 0, json_pack("{s:b}", "drop_pending_updates", 0));
    tg->started = 1;
    lws_sul_schedule(tg->ctx, 0, &tg->tick, on_tick, TICK_US);
    NX_INFO("chat", "telegram: %s at %s%s", tg->hook_vh ? "webhook" : "long polling", tg->host,
            tg->base);
    dispatch(tg);
    return 0;
}

void nx_tg_stop(nx_tg_t *tg)
{
    if (!tg || tg->stopping)
        return;
    pthread_mutex_lock(&tg->mu); /* enqueue() wakes the context only before this */
    tg->stopping = 1;
    pthread_mutex_unlock(&tg->mu);
    lws_sul_cancel(&tg->tick);
    tg_conn_t *all[SEND_SLOTS + 1] = {&tg->poll};
    for (int i = 0; i < SEND_SLOTS; i++)
        all[i + 1] = &tg->slots[i];
    for (int i = 0; i <= SEND_SLOTS; i++)
        if (all[i]->busy && all[i]->wsi)
            lws_set_timeout(all[i]->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
}

void nx_tg_destroy(nx_tg_t *tg)
{
    if (!tg)
        return;
    tg_conn_t *all[SEND_SLOTS + 1] = {&tg->poll};
    for (int i = 0; i < SEND_SLOTS; i++)
        all[i + 1] = &tg->slots[i];
    for (int i = 0; i <= SEND_SLOTS; i++) {
        if (all[i]->req) {
            free(all[i]->req->body);
            free(all[i]->req);
        }
        free(all[i]->buf);
        free(all[i]->out);
    }
    for (tg_req_t *r = tg->head, *n; r; r = n) {
        n = r->next;
        free(r->body);
        free(r);
    }
    if (tg->queued)
        NX_WARN("chat", "telegram: %u messages were not sent before exit", tg->queued);
    sodium_memzero(tg->token, sizeof tg->token);
    sodium_memzero(tg->webhook_secret, sizeof tg->webhook_secret);
    free(tg->commands);
    free(tg->inbox);
    pthread_mutex_destroy(&tg->mu);
    free(tg);
}
