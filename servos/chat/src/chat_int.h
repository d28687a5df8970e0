/*
 * chat_int.h — the chat layer's insides, shared by its files (see chat.h
 * for which file does which job). Private to servos/chat.
 */
#ifndef NX_CHAT_INT_H
#define NX_CHAT_INT_H

#include "nx/chat.h"

#include <pthread.h>
#include <stdatomic.h>

#define CHAT_REQS         512  /* approval requests remembered with their message */
#define CHAT_LINES        64   /* console lines waiting */
#define CHAT_OUT          3800 /* one reply, bytes (Telegram takes 4096 characters) */
#define CHAT_USERS_MAX    1024 /* users kept in memory */
#define CHAT_SESSIONS_MAX 256  /* sessions kept in memory (whose each is) */

/* What the chat layer keeps of a session: whose it is, and its labels. */
typedef struct chat_session {
    int64_t id, user;
    char name[32], venue[32], mode[12];
} chat_session_t;

/* An approval request's message, to edit once it is decided or expires. */
typedef struct req_msg {
    uint32_t request, session;
    int64_t chat, message_id;
    int state; /* 0 free, 1 open, 2 decided/expired */
    char text[512];
} req_msg_t;

#define CHAT_CONFIRMS 64 /* /closeall confirmations waiting */

/* A /closeall waiting for its Yes: bound to the person, the session and
 * the positions it listed; a Yes closes those, nothing opened since. */
typedef struct confirm {
    uint32_t nonce; /* in the button's data; 0 = free */
    int64_t user;
    uint32_t session;
    int64_t expires_ns; /* monotonic */
    int n;
    uint32_t syms[64];
} confirm_t;

struct nx_chat {
    const nx_config_t *cfg;
    const nx_symtab_t *symtab;
    nx_store_t *store;
    nx_tg_t *tg;
    nx_chat_host_t host;
    int console;
    pthread_t th_console;
    int console_started;
    _Atomic int console_stop;
    pthread_mutex_t mu; /* console lines */
    char *lines[CHAT_LINES];
    uint32_t l_head, l_tail;
    req_msg_t req[CHAT_REQS];
    int64_t owner_chat;
    nx_user_t *users; /* chat_users_refresh */
    int n_users;
    uint64_t users_dropped; /* at the last refresh: users past CHAT_USERS_MAX, not kept */
    int users_told;         /* the first such drop was logged */
    int64_t users_at_ns;
    chat_session_t *sessions; /* chat_sessions_refresh */
    int n_sessions;
    int64_t sessions_at_ns;
    int64_t feed_told_ns[NX_VENUE_COUNT][8]; /* last feed problem told, per venue and status */
    uint64_t plugin_failures[NX_CORTEX_MAX_STRATEGIES]; /* reload failures told so far */
    int64_t next_plugin_check_ns;
    /* while a person's message is handled: their chat (replies go ahead of
     * notices), and the journal entries stored meanwhile, told after the
     * reply so that "Filled" never comes before "Entering long" */
    int handling;
    int64_t reply_chat;
    confirm_t confirms[CHAT_CONFIRMS];
    uint32_t next_nonce;
    nx_event_t *deferred; /* [CHAT_DEFERRED] */
    uint32_t n_deferred;
    uint64_t deferred_lost;
    /* a web page's action: what would go to the person's chat, as text */
    char *web_out;
    size_t web_cap, web_len;
};

/* the chat a web page's action answers to (never a Telegram chat id) */
#define CHAT_WEB INT64_MIN

#define CHAT_DEFERRED 1024

/* Who sent a command or pressed a button. */
typedef struct caller {
    int64_t chat, user_chat; /* reply to chat; user_chat = the user's own id */
    int is_private, console;
    int known;
    nx_user_t u;
    uint32_t session; /* the session the user's commands act on, 0 = none */
    int64_t message_id;
} caller_t;

/* A reply being built: appended to, cut (never overrun) when full. */
typedef struct text {
    char s[CHAT_OUT];
    size_t len;
} text_t;

void chat_put(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* transport.c: one way out. chat 0 is the console; keyboard is an
 * InlineKeyboardMarkup JSON or NULL; tag comes back with the sent message's
 * id (nx_tg_next_sent). */
void chat_say(nx_chat_t *b, int64_t chat, const char *html, const char *keyboard, uint64_t tag);
void chat_edit(nx_chat_t *b, int64_t chat, int64_t msg, const char *html);
void chat_reply(nx_chat_t *b, const caller_t *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* users.c */
void chat_users_refresh(nx_chat_t *b);
void chat_users_changed(nx_chat_t *b);
int chat_user_by_id(nx_chat_t *b, const char *text, nx_user_t *out);
int chat_console_user(nx_chat_t *b, nx_user_t *out);
void chat_sessions_refresh(nx_chat_t *b);
void chat_sessions_changed(nx_chat_t *b);
const chat_session_t *chat_session_get(nx_chat_t *b, int64_t id);
int chat_sessions_of(nx_chat_t *b, int64_t user, const chat_session_t **out, int max);
uint32_t chat_active_session(nx_chat_t *b, int64_t user);
/* Stores the session a user's commands act on (meta "active:USER"). 0, or
 * the store's error: the choice in force is then unchanged. */
int chat_set_active(nx_chat_t *b, int64_t user, int64_t session);
int64_t chat_of_session(nx_chat_t *b, uint32_t session);
void chat_tell_admins(nx_chat_t *b, const char *html);
void chat_watch_list(nx_chat_t *b, int64_t user_id, char *key, size_t key_cap, char *list,
                     size_t cap);
int chat_watching(nx_chat_t *b, int64_t chat, uint32_t sym);
void chat_audit(nx_chat_t *b, const caller_t *who, const char *action, const char *detail);

/* replies.c: questions about a session, answered on the engine thread. */
enum {
    Q_STATUS = 1,
    Q_BALANCE,
    Q_POSITIONS,
    Q_TRADES,
    Q_PROFIT,
    Q_DAILY,
    Q_WEEKLY,
    Q_PERF,
    Q_LOCKS,
    Q_STRATEGIES,
    Q_CONFIG,
    Q_OPEN_SYMBOLS,
    Q_REGIME,
    Q_MODELS, /* n = 1: reload the regime model first */
};

typedef struct query {
    nx_chat_t *b;
    int what;
    uint32_t session;
    long n; /* a count (trades, days), or the symbol of Q_REGIME */
    text_t out;
    uint32_t syms[64]; /* Q_OPEN_SYMBOLS */
    int nsyms;
} query_t;

extern const char *const chat_mode_names[3];
const char *chat_reject_words(int why);
const char *chat_exit_words(int reason);
const char *chat_lock_words(int why);
const char *chat_plural(long n, const char *one, const char *many);
int chat_ask(nx_chat_t *b, query_t *q, int what, uint32_t session, long n);
int chat_command(nx_chat_t *b, uint32_t session, int cmd, int64_t arg, const char *text, int *why);
const char *chat_sym_name(const nx_chat_t *b, uint32_t s);
/* The symbol a person typed (any case): the one on the session's venue
 * when several venues list the name; NX_SYMBOL_NONE if none does. */
uint32_t chat_symbol_arg(nx_chat_t *b, int64_t session, const char *s);
void chat_px(const nx_chat_t *b, uint32_t sym, int64_t v, char *buf);
void chat_qty(const nx_chat_t *b, uint32_t sym, int64_t v, char *buf);
const char *chat_money(const nx_chat_t *b, int64_t v, char *buf);

/* commands.c */
void chat_on_text(nx_chat_t *b, caller_t *who, char *text);
void chat_on_button(nx_chat_t *b, caller_t *who, const char *cb_id, const char *data);
req_msg_t *chat_req_find(nx_chat_t *b, uint32_t request);

/* sessions.c: /sessions, /session new|use, /limits; a setting changed on
 * the desk kept in the session's row (value: the key's JSON text). */
void c_sessions(nx_chat_t *b, caller_t *who, char *a);
void c_session(nx_chat_t *b, caller_t *who, char *a);
void c_limits(nx_chat_t *b, caller_t *who, char *a);
int chat_session_store(nx_chat_t *b, uint32_t session, const char *key, const char *value);

/* notify.c */
void chat_check_plugins(nx_chat_t *b);

/* console.c */
int chat_console_start(nx_chat_t *b);
void chat_console_stop(nx_chat_t *b);
/* The next line typed, or NULL; the caller frees it. */
char *chat_console_line(nx_chat_t *b);
/* HTML as plain text: tags dropped, the four entities undone. */
void chat_plain(const char *html, char *out, size_t cap);
void chat_print_plain(const char *html);

#endif /* NX_CHAT_INT_H */
