/*
 * chat.c — the chat layer's life and its front door (see chat.h): made
 * on the service thread, polled there for what arrived (Telegram updates,
 * console lines, the ids of sent messages), each message turned into a
 * caller (who wrote, with which role and session) and handed to the
 * commands or the buttons.
 */
#include "chat_int.h"

#include "nx/error.h"
#include "nx/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Who wrote: a known user (by their chat user id) and their session, or a
 * stranger named by their Telegram name. */
static void identify(nx_chat_t *b, caller_t *who, int64_t user, const char *uname,
                     const char *first)
{
    who->user_chat = user;
    who->known = nx_store_user_get(b->store, user, 0, &who->u) == 0;
    if (!who->known) {
        memset(&who->u, 0, sizeof who->u);
        who->u.role = NX_ROLE_PENDING;
        snprintf(who->u.name, sizeof who->u.name, "%s",
                 uname && *uname   ? uname
                 : first && *first ? first
                                   : "user");
    }
    who->session = who->known && who->u.role != NX_ROLE_PENDING && who->u.role != NX_ROLE_BANNED
                       ? chat_active_session(b, who->u.id)
                       : 0;
}

/* A person's message, answered before what it caused is told: the
 * journal entries stored while it was handled wait (nx_chat_on_event),
 * then go out in order. */
static void handled(nx_chat_t *b)
{
    b->handling = 0;
    for (uint32_t i = 0; i < b->n_deferred; i++)
        nx_chat_on_event(b, &b->deferred[i]);
    b->n_deferred = 0;
    if (b->deferred_lost) {
        NX_WARN("chat", "%llu notices were not told: too many came during one command",
                (unsigned long long)b->deferred_lost);
        b->deferred_lost = 0;
    }
}

static void handle_text(nx_chat_t *b, caller_t *who, char *text)
{
    b->handling = 1;
    b->reply_chat = who->chat;
    chat_on_text(b, who, text);
    handled(b);
}

static void handle_button(nx_chat_t *b, caller_t *who, const char *cb_id, const char *data)
{
    b->handling = 1;
    b->reply_chat = who->chat;
    chat_on_button(b, who, cb_id, data);
    handled(b);
}

void nx_chat_poll(nx_chat_t *b)
{
    chat_check_plugins(b);
    if (b->tg) {
        nx_tg_sent_t s;
        while (nx_tg_next_sent(b->tg, &s)) {
            req_msg_t *r = chat_req_find(b, (uint32_t)s.tag);
            if (r && r->chat == s.chat_id)
                r->message_id = s.message_id;
        }
        nx_tg_update_t *u = malloc(sizeof *u);
        while (u && nx_tg_next(b->tg, u)) {
            caller_t who = {0};
            who.chat = u->chat_id;
            who.is_private = u->is_private;
            who.message_id = u->kind == NX_TG_MESSAGE ? u->message_id : 0;
            identify(b, &who, u->user_id, u->username, u->first_name);
            if (u->kind == NX_TG_MESSAGE)
                handle_text(b, &who, u->text);
            else
                handle_button(b, &who, u->callback_id, u->text);
        }
        free(u);
    }
    char *line;
    while ((line = chat_console_line(b))) {
        caller_t who = {0};
        who.chat = 0;
        who.console = who.is_private = who.known = 1;
        if (chat_console_user(b, &who.u)) { /* no owner in the users table yet */
            who.u.role = NX_ROLE_OWNER;
            snprintf(who.u.name, sizeof who.u.name, "%s", b->cfg->storage.owner_name);
        }
        who.u.role = NX_ROLE_OWNER; /* whoever is at the terminal runs the process */
        who.user_chat = who.u.chat_id;
        who.session = who.u.id ? chat_active_session(b, who.u.id) : 0;
        if (line[0] == '!')
            handle_button(b, &who, NULL, line + 1);
        else
            handle_text(b, &who, line);
        free(line);
    }
}

int nx_chat_web_act(nx_chat_t *b, int64_t user, uint32_t session, const char *act, const char *arg,
                    char *said, size_t cap)
{
    caller_t who = {0};
    who.chat = CHAT_WEB;
    who.is_private = 1;
    who.known = nx_store_user_get(b->store, 0, user, &who.u) == 0;
    if (!who.known || who.u.role == NX_ROLE_PENDING || who.u.role == NX_ROLE_BANNED)
        return NX_EPERM;
    who.user_chat = who.u.chat_id;
    who.session = session;
    /* the argument is a word (a request id, a mode, a pair, on/off): no
     * way to slip another command in */
    size_t n = arg ? strlen(arg) : 0;
    if (n > 23)
        return NX_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!((arg[i] >= 'a' && arg[i] <= 'z') || (arg[i] >= 'A' && arg[i] <= 'Z') ||
              (arg[i] >= '0' && arg[i] <= '9')))
            return NX_EINVAL;
    static const struct {
        const char *act, *line;
        int takes; /* 1: the argument is needed */
    } acts[] = {{"approve", "ap:", 1},
                {"reject", "rj:", 1},
                {"pause", "/pause", 0},
                {"resume", "/resume", 0},
                {"reset", "/reset", 0},
                {"mode", "/mode ", 1},
                {"close", "/forceexit ", 1},
                {"closeall", "/forceexit all", 0},
                {"killswitch", "/killswitch ", 1},
                {"unlock", "/unlock ", 1},
                {"locks", "/locks", 0},
                {"health", "/health", 0},
                {"users", "/users", 0},
                {"logs", "/logs 40", 0}};
    char line[64] = "";
    for (size_t i = 0; i < sizeof acts / sizeof acts[0] && !line[0]; i++)
        if (!strcmp(act, acts[i].act) && (!acts[i].takes || n))
            snprintf(line, sizeof line, "%s%s", acts[i].line, acts[i].takes ? arg : "");
    if (!line[0])
        return NX_EINVAL;
    b->web_out = said;
    b->web_cap = cap;
    b->web_len = 0;
    if (cap)
        said[0] = 0;
    if (line[0] == '/')
        handle_text(b, &who, line);
    else
        handle_button(b, &who, NULL, line);
    b->web_out = NULL;
    b->web_cap = b->web_len = 0;
    return 0;
}

nx_chat_t *nx_chat_create(const nx_chat_opts_t *o)
{
    nx_chat_t *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->cfg = o->cfg;
    b->symtab = o->symtab;
    b->store = o->store;
    b->tg = o->tg;
    b->host = o->host;
    b->console = o->console;
    b->owner_chat = o->cfg->storage.owner_chat_id;
    b->users = calloc(CHAT_USERS_MAX, sizeof *b->users);
    b->sessions = calloc(CHAT_SESSIONS_MAX, sizeof *b->sessions);
    b->deferred = calloc(CHAT_DEFERRED, sizeof *b->deferred);
    if (!b->users || !b->sessions || !b->deferred) {
        free(b->users);
        free(b->sessions);
        free(b->deferred);
        free(b);
        return NULL;
    }
    pthread_mutex_init(&b->mu, NULL);
    if (b->console) {
        chat_console_start(b);
        nx_user_t u;
        uint32_t s = chat_console_user(b, &u) == 0 ? chat_active_session(b, u.id) : 0;
        const chat_session_t *cs = s ? chat_session_get(b, s) : NULL;
        if (cs)
            printf("console: type /help (you are the owner, %s (user %lld), session %u \"%s\")\n",
                   u.name, (long long)u.id, s, cs->name);
        else
            printf("console: type /help (you are the owner; no trading session yet)\n");
        fflush(stdout);
    }
    return b;
}

void nx_chat_destroy(nx_chat_t *b)
{
    if (!b)
        return;
    chat_console_stop(b);
    free(b->users);
    free(b->sessions);
    free(b->deferred);
    pthread_mutex_destroy(&b->mu);
    free(b);
}
