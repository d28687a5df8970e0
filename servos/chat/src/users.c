/*
 * users.c — the people the chat layer talks to: the users table, kept in
 * memory (read at most once a second, since the CLI may change it while
 * Nexus runs, and at once after the chat layer changed a user), the
 * sessions and whose each one is (by user id: names are labels), the
 * session a user's commands act on, watch lists and the audit log.
 */
#include "chat_int.h"

#include "nx/clock.h"
#include "nx/error.h"
#include "nx/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The users, read from storage at most once a second (the CLI may change
 * them while Nexus runs) and again at once after the chat layer changed one: a
 * notification looks its chat up here, not in the database. */
static int cache_user(void *ctx, const nx_user_t *u)
{
    nx_chat_t *b = ctx;
    if (b->n_users < CHAT_USERS_MAX)
        b->users[b->n_users++] = *u;
    else
        b->users_dropped++; /* counted; logged and shown in /health */
    return 0;
}

void chat_users_refresh(nx_chat_t *b)
{
    int64_t now = nx_mono_ns();
    if (b->users_at_ns && now - b->users_at_ns < NX_NS_PER_SEC)
        return;
    b->n_users = 0;
    b->users_dropped = 0;
    if (nx_store_users(b->store, cache_user, b))
        NX_LOGK(NX_LOG_WARN, "chat", "chat.users", "cannot read the users: %s",
                nx_store_error(b->store));
    if (b->users_dropped && !b->users_told) {
        b->users_told = 1;
        NX_ERROR("chat",
                 "%llu users past the first %d are not kept in memory: they are not told of "
                 "their fills or reports (shown in /health)",
                 (unsigned long long)b->users_dropped, CHAT_USERS_MAX);
    }
    b->users_at_ns = now;
}

void chat_users_changed(nx_chat_t *b)
{
    b->users_at_ns = 0;
}

/* A user named by a person: by id only ("12"), since names are labels
 * and two people may share one. NX_ENOENT if there is no such user or the
 * text is not an id. */
int chat_user_by_id(nx_chat_t *b, const char *text, nx_user_t *out)
{
    char *end;
    long long id = strtoll(text, &end, 10);
    if (!*text || *end || id <= 0)
        return NX_ENOENT;
    return nx_store_user_get(b->store, 0, id, out);
}

static const nx_user_t *user_of_id(nx_chat_t *b, int64_t id)
{
    chat_users_refresh(b);
    for (int i = 0; i < b->n_users; i++)
        if (b->users[i].id == id)
            return &b->users[i];
    return NULL;
}

/* The owner at the console: the user of the config's owner chat id, else
 * the first owner in the users table; 0 if there is none (the console then
 * speaks for an owner with no session). */
int chat_console_user(nx_chat_t *b, nx_user_t *out)
{
    chat_users_refresh(b);
    const nx_user_t *first = NULL;
    for (int i = 0; i < b->n_users; i++) {
        const nx_user_t *u = &b->users[i];
        if (b->owner_chat && u->chat_id == b->owner_chat) {
            first = u;
            break;
        }
        if (!first && u->role == NX_ROLE_OWNER)
            first = u;
    }
    if (!first)
        return NX_ENOENT;
    *out = *first;
    return 0;
}

/* ---- sessions: whose each one is ------------------------------------------ */

/* The sessions, read like the users (a handful of rows; the desk has the
 * rest): a notification finds the person of its session here. */
static int cache_session(void *ctx, const nx_session_row_t *r)
{
    nx_chat_t *b = ctx;
    if (b->n_sessions < CHAT_SESSIONS_MAX) {
        chat_session_t *s = &b->sessions[b->n_sessions++];
        s->id = r->id;
        s->user = r->user_id;
        snprintf(s->name, sizeof s->name, "%s", r->name);
        snprintf(s->venue, sizeof s->venue, "%s", r->venue);
        snprintf(s->mode, sizeof s->mode, "%s", r->mode);
    }
    return 0;
}

void chat_sessions_refresh(nx_chat_t *b)
{
    int64_t now = nx_mono_ns();
    if (b->sessions_at_ns && now - b->sessions_at_ns < NX_NS_PER_SEC)
        return;
    b->n_sessions = 0;
    if (nx_store_sessions(b->store, 0, cache_session, b))
        NX_LOGK(NX_LOG_WARN, "chat", "chat.sessions", "cannot read the sessions: %s",
                nx_store_error(b->store));
    b->sessions_at_ns = now;
}

void chat_sessions_changed(nx_chat_t *b)
{
    b->sessions_at_ns = 0;
}

const chat_session_t *chat_session_get(nx_chat_t *b, int64_t id)
{
    chat_sessions_refresh(b);
    for (int i = 0; i < b->n_sessions; i++)
        if (b->sessions[i].id == id)
            return &b->sessions[i];
    return NULL;
}

int chat_sessions_of(nx_chat_t *b, int64_t user, const chat_session_t **out, int max)
{
    chat_sessions_refresh(b);
    int n = 0;
    for (int i = 0; i < b->n_sessions && n < max; i++)
        if (b->sessions[i].user == user)
            out[n++] = &b->sessions[i];
    return n;
}

/* The session a user's commands act on: the one they chose (/session use),
 * else their first; 0 if they have none. */
uint32_t chat_active_session(nx_chat_t *b, int64_t user)
{
    const chat_session_t *mine[CHAT_SESSIONS_MAX];
    int n = chat_sessions_of(b, user, mine, CHAT_SESSIONS_MAX);
    if (!n)
        return 0;
    char key[48], val[32];
    size_t len = sizeof val - 1;
    snprintf(key, sizeof key, "active:%lld", (long long)user);
    if (nx_store_meta_get(b->store, key, (uint8_t *)val, &len) == 0) {
        val[len] = 0;
        long long want = strtoll(val, NULL, 10);
        for (int i = 0; i < n; i++)
            if (mine[i]->id == want)
                return (uint32_t)want;
    }
    return (uint32_t)mine[0]->id;
}

int chat_set_active(nx_chat_t *b, int64_t user, int64_t session)
{
    char key[48], val[32];
    snprintf(key, sizeof key, "active:%lld", (long long)user);
    int n = snprintf(val, sizeof val, "%lld", (long long)session);
    return nx_store_meta_put(b->store, key, (const uint8_t *)val, (size_t)n);
}

/* The chat of the person whose session it is: looked up by the session's
 * user id, never by a name. 0 = the console, -1 = nobody to tell. */
int64_t chat_of_session(nx_chat_t *b, uint32_t session)
{
    if (session == 0)
        return b->owner_chat;
    const chat_session_t *s = chat_session_get(b, session);
    if (!s)
        return -1;
    nx_user_t owner;
    int owners = b->console && chat_console_user(b, &owner) == 0 && owner.id == s->user;
    if (owners && !b->tg)
        return 0; /* no Telegram: the owner is at the console */
    const nx_user_t *u = user_of_id(b, s->user);
    if (!u || !u->chat_id || u->role == NX_ROLE_PENDING || u->role == NX_ROLE_BANNED)
        return owners ? 0 : -1;
    return u->chat_id;
}

void chat_tell_admins(nx_chat_t *b, const char *html)
{
    chat_users_refresh(b);
    for (int i = 0; i < b->n_users; i++) {
        const nx_user_t *u = &b->users[i];
        if ((u->role == NX_ROLE_ADMIN || u->role == NX_ROLE_OWNER) && u->chat_id)
            chat_say(b, u->chat_id, html, NULL, 0);
    }
    if (b->console)
        chat_say(b, 0, html, NULL, 0);
}

/* Every change a person makes goes to the audit log. */
void chat_audit(nx_chat_t *b, const caller_t *who, const char *action, const char *detail)
{
    nx_store_audit(b->store, who->known ? who->u.id : 0, who->user_chat, action, detail);
}

/* A user's watched pairs, "BTCUSDT,ETHUSDT" ("" if none), kept in the
 * store's meta table under key (filled in too). */
void chat_watch_list(nx_chat_t *b, int64_t user_id, char *key, size_t key_cap, char *list,
                     size_t cap)
{
    snprintf(key, key_cap, "watch:%lld", (long long)user_id);
    size_t n = cap - 1;
    if (nx_store_meta_get(b->store, key, (uint8_t *)list, &n) == 0)
        list[n] = 0;
    else
        list[0] = 0;
}

/* Whether the user of this chat watches the pair (/watch). The console
 * is the owner. */
int chat_watching(nx_chat_t *b, int64_t chat, uint32_t sym)
{
    int64_t id = -1;
    nx_user_t owner;
    if (chat == 0)
        id = chat_console_user(b, &owner) == 0 ? owner.id : 0;
    chat_users_refresh(b);
    for (int i = 0; i < b->n_users && id < 0; i++)
        if (b->users[i].chat_id == chat)
            id = b->users[i].id;
    if (id < 0)
        return 0;
    char key[64], list[512];
    chat_watch_list(b, id, key, sizeof key, list, sizeof list);
    const char *name = chat_sym_name(b, sym);
    for (char *p = strstr(list, name); p; p = strstr(p + 1, name))
        if ((p == list || p[-1] == ',') && (p[strlen(name)] == 0 || p[strlen(name)] == ','))
            return 1;
    return 0;
}
