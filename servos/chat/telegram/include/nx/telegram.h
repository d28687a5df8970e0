/*
 * telegram.h — a Telegram Bot API client on libwebsockets.
 *
 * The client lives on the network thread, on the same libwebsockets
 * context as the venue connections (its own vhost), so it needs no thread
 * of its own; other threads talk to it through two mutex-guarded queues:
 *
 *   any thread ── nx_tg_send/edit/answer/delete ──► outbox ──► HTTPS POST
 *   getUpdates / webhook POST ──► inbox ──► nx_tg_next (the chat layer)
 *
 * Workload: a handful of chats, a few messages per second at peak (fills,
 * approval requests); nothing here is on the trading hot path.
 *
 *  - Updates: long polling (getUpdates with offset = last update_id + 1,
 *    which acknowledges everything before it) or, with a webhook URL,
 *    Telegram's POSTs to a local port, accepted only with the
 *    X-Telegram-Bot-Api-Secret-Token header that setWebhook registered. An
 *    update is acknowledged only once it is in the inbox: when the inbox is
 *    full the poller waits (a webhook POST is answered 503, so Telegram
 *    sends it again) — nothing is lost. Updates that are not a message or
 *    a callback query, and malformed ones, are counted and skipped.
 *  - Sending: every method is a JSON POST. The outbox keeps each chat's
 *    order and paces it: at most chat_per_s messages per second to one
 *    chat and global_per_s over all, and after a 429 nothing is sent until
 *    its retry_after (from `parameters`, or the number in `description`)
 *    has passed; the message is sent again then. Network errors and 5xx
 *    answers retry with exponential backoff; another refusal (a 400, a chat
 *    that blocked the bot) is logged with the method and Telegram's
 *    description and counted — never dropped silently.
 *  - The token is part of every request path and nowhere else: it is never
 *    logged, and errors name only the method.
 */
#ifndef NX_TELEGRAM_H
#define NX_TELEGRAM_H

#include <stddef.h>
#include <stdint.h>

struct lws_context;
typedef struct nx_tg nx_tg_t;

typedef struct nx_tg_opts {
    const char *api_url;        /* "https://api.telegram.org", or a local test server */
    const char *token;          /* from NEXUS_TELEGRAM_TOKEN; copied, never logged */
    uint32_t poll_timeout_s;    /* getUpdates timeout, 0..50 */
    const char *webhook_url;    /* non-empty: webhook mode (setWebhook at start) */
    uint32_t webhook_port;      /* webhook: local port updates arrive on (127.0.0.1) */
    const char *webhook_secret; /* webhook: the secret token (NEXUS_TELEGRAM_WEBHOOK_SECRET) */
    uint32_t chat_per_s, global_per_s; /* pacing; defaults 1 and 30 */
    uint32_t backoff_min_ms, backoff_max_ms; /* defaults 500 and 30000 */
    const char *commands_json; /* setMyCommands' "commands" array, sent at start (optional) */
} nx_tg_opts_t;

typedef enum nx_tg_kind {
    NX_TG_MESSAGE = 1, /* a text message */
    NX_TG_CALLBACK,    /* an inline-keyboard button press */
} nx_tg_kind_t;

typedef struct nx_tg_update {
    nx_tg_kind_t kind;
    int64_t update_id;
    int64_t user_id;       /* from.id */
    int64_t chat_id;       /* chat.id (negative for groups) */
    int64_t message_id;    /* the message, or the one the button was on */
    int is_private;        /* chat.type == "private" */
    int inaccessible;      /* callback on a message the bot can no longer see */
    char username[64];     /* from.username, may be empty */
    char first_name[64];   /* from.first_name */
    char callback_id[80];  /* callback query id */
    char text[4100];       /* message text (cut at 4099 bytes), or the button's data */
} nx_tg_update_t;

/* What became of a sent message the caller tagged (for editing it later). */
typedef struct nx_tg_sent {
    uint64_t tag;
    int64_t chat_id, message_id; /* message_id 0: it could not be sent */
} nx_tg_sent_t;

typedef struct nx_tg_stats {
    uint64_t polls, poll_errors, updates, malformed, ignored;
    uint64_t webhook_posts, webhook_refused;
    uint64_t sent, send_errors, retries, http429, refused;
    uint64_t queued;            /* in the outbox now */
    int64_t blocked_until_ns;   /* a 429's retry_after, monotonic */
    int64_t last_429_ns, first_send_after_429_ns;
} nx_tg_stats_t;

/* Create on ctx: start-up, on the thread that will start the network
 * thread, before that loop services the context. Allocates. Returns NULL
 * with the reason logged (bad URL, no token, vhost refused). */
nx_tg_t *nx_tg_create(struct lws_context *ctx, const nx_tg_opts_t *o);
/* Begin: setMyCommands, then deleteWebhook + polling, or setWebhook and
 * the local listener (start-up, like nx_tg_create; the network thread then
 * carries it on). */
int nx_tg_start(nx_tg_t *tg);
/* Close every connection and stop (network thread). After it, sends are
 * still queued but no longer wake the context, which may then be destroyed
 * while other threads send. The context must be serviced or destroyed
 * after this, before nx_tg_destroy. */
void nx_tg_stop(nx_tg_t *tg);
/* Free it and whatever is still queued: after the context is destroyed and
 * no thread uses the client any more. */
void nx_tg_destroy(nx_tg_t *tg);

/* Outbox — any thread; copies its arguments (allocates), takes the
 * client's mutex for a moment, never blocks on the network.
 * html: text in Telegram's HTML parse mode (the caller escapes with
 * nx_tg_escape); keyboard: an InlineKeyboardMarkup JSON object or NULL;
 * tag != 0: the message id comes back through nx_tg_next_sent. Returns 0,
 * or NX_EFULL when the outbox holds too many messages (logged). */
int nx_tg_send(nx_tg_t *tg, int64_t chat_id, const char *html, const char *keyboard,
               uint64_t tag);
/* The same, for an answer to what a person just sent: it goes ahead of the
 * notices already waiting for that chat (replies keep their own order). */
int nx_tg_reply(nx_tg_t *tg, int64_t chat_id, const char *html, const char *keyboard,
                uint64_t tag);
/* A message still waiting in the outbox (never sent: during an outage, or
 * paced) gets a new text and loses its buttons: what was asked is over
 * (a request expired) before the person could see it. Returns 1 if one
 * with this tag was waiting, 0 if it had left already (edit it then).
 * Any thread; takes the client's mutex; allocates. */
int nx_tg_amend_queued(nx_tg_t *tg, uint64_t tag, const char *html);
int nx_tg_edit(nx_tg_t *tg, int64_t chat_id, int64_t message_id, const char *html,
               const char *keyboard);
int nx_tg_answer(nx_tg_t *tg, const char *callback_id, const char *text);
int nx_tg_delete(nx_tg_t *tg, int64_t chat_id, int64_t message_id);

/* Inbox — the service thread (the chat layer). 1 and *out filled, or 0
 * when empty. Takes the client's mutex; no allocation. */
int nx_tg_next(nx_tg_t *tg, nx_tg_update_t *out);
int nx_tg_next_sent(nx_tg_t *tg, nx_tg_sent_t *out);

/* Any thread; takes the client's mutex for a copy. */
void nx_tg_stats(nx_tg_t *tg, nx_tg_stats_t *out);
/* Messages waiting or in flight (network thread: at shutdown, to let them leave). */
uint32_t nx_tg_pending(nx_tg_t *tg);

/* HTML-escape src into dst (&, <, >, "), always NUL-terminated; returns
 * the length written. */
size_t nx_tg_escape(const char *src, char *dst, size_t cap);

#endif /* NX_TELEGRAM_H */
