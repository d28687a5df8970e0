/*
 * users.c — the people the chat layer talks to: the users table, kept in
 * memory (read at most once a second, since the CLI may change it while
 * Nexus runs, and at once after the chat layer changed a user), a user's
 * session (the configured session with the user's name), watch lists and
 * the audit log.
 */
#include "chat_int.h"

#include "nx/clock.h"
#include "nx/error.h"
#include "nx/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The configured session with this name (1..n), 0 if none. */
uint32_t chat_session_of_name(const nx_chat_t *b, const char *name)
{
    const nx_config_t *c = b->cfg;
    for (uint32_t i = 0; i < c->trading.n_sessions; i++)
        if (!strcmp(c->trading.sessions[i].name, name))
            return i + 1;
    return 0;
}

static const char *session_name(const nx_chat_t *b, uint32_t s)
{
    const nx_config_t *c = b->cfg;
    return s >= 1 && s <= c->trading.n_sessions ? c->trading.sessions[s - 1].name : "?";
}

/* The users, read from storage at most once a second (the CLI may change
 * them while Nexus runs) and again at once after the chat layer changed one: a
 * notification looks its chat up here, not in the database. */
static int cache_user(void *ctx, const nx_user_t *u)
{
    nx_chat_t *b = ctx;
    if (b->n_users < CHAT_USERS_MAX)
        b->users[b->n_users++] = *u;
    return 0;
}

void chat_users_refresh(nx_chat_t *b)
{
    int64_t now = nx_mono_ns();
    if (b->users_at_ns && now - b->users_at_ns < NX_NS_PER_SEC)
        return;
    b->n_users = 0;
    if (nx_store_users(b->store, cache_user, b))
        NX_LOGK(NX_LOG_WARN, "chat", "chat.users", "cannot read the users: %s",
                nx_store_error(b->store));
    b->users_at_ns = now;
}

void chat_users_changed(nx_chat_t *b)
{
    b->users_at_ns = 0;
}

/* By name, user id or chat id. */
int chat_user_named(nx_chat_t *b, const char *name, nx_user_t *out)
{
    char *end;
    long long id = strtoll(name, &end, 10);
    if (*name && !*end &&
        (nx_store_user_get(b->store, id, 0, out) == 0 ||
         nx_store_user_get(b->store, 0, id, out) == 0))
        return 0;
    chat_users_refresh(b);
    for (int i = 0; i < b->n_users; i++)
        if (!strcmp(b->users[i].name, name)) {
            *out = b->users[i];
            return 0;
        }
    return NX_ENOENT;
}

/* The chat of the user whose name is the session's; 0 = the console, -1 =
 * nobody to tell. */
int64_t chat_of_session(nx_chat_t *b, uint32_t session)
{
    if (session == 0)
        return b->owner_chat;
    int owners = session == chat_session_of_name(b, b->cfg->storage.owner_name);
    if (owners && b->console && !b->tg)
        return 0; /* no Telegram: the owner is at the console */
    nx_user_t u;
    if (chat_user_named(b, session_name(b, session), &u) || u.role == NX_ROLE_PENDING ||
        u.role == NX_ROLE_BANNED)
        return owners && b->console ? 0 : -1;
    return u.chat_id;
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
 * is the owner, whose user id is 0 there. */
int chat_watching(nx_chat_t *b, int64_t chat, uint32_t sym)
{
    int64_t id = chat == 0 ? 0 : -1;
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
