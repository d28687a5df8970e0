/*
 * web_auth.c — one-time login links and cookie sessions (see web_auth.h).
 */
#include "nx/web_auth.h"

#include "nx/clock.h"
#include "nx/error.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define LINKS    64
#define SESSIONS 256

typedef struct entry {
    unsigned char hash[32]; /* BLAKE2b of the token */
    int64_t user, expires_ns, made_ns;
    uint8_t role, used;
    char csrf[NX_WEB_TOKEN_MAX]; /* sessions only */
} entry_t;

struct nx_web_auth {
    pthread_mutex_t mu;
    int64_t link_ttl_ns, session_ttl_ns;
    entry_t link[LINKS], session[SESSIONS];
};

nx_web_auth_t *nx_web_auth_create(uint32_t link_ttl_s, uint32_t session_ttl_s)
{
    if (sodium_init() < 0)
        return NULL;
    nx_web_auth_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    pthread_mutex_init(&a->mu, NULL);
    a->link_ttl_ns = (int64_t)link_ttl_s * NX_NS_PER_SEC;
    a->session_ttl_ns = (int64_t)session_ttl_s * NX_NS_PER_SEC;
    return a;
}

void nx_web_auth_destroy(nx_web_auth_t *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->mu);
    sodium_memzero(a, sizeof *a);
    free(a);
}

static void token(char out[NX_WEB_TOKEN_MAX])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, NX_WEB_TOKEN_MAX, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

static void hash(const char *t, unsigned char out[32])
{
    crypto_generichash(out, 32, (const unsigned char *)t, strlen(t), NULL, 0);
}

/* A free slot, or the oldest. */
static entry_t *slot(entry_t *e, int n)
{
    entry_t *old = &e[0];
    for (int i = 0; i < n; i++) {
        if (!e[i].user)
            return &e[i];
        if (e[i].made_ns < old->made_ns)
            old = &e[i];
    }
    return old;
}

static entry_t *find(entry_t *e, int n, const char *t)
{
    if (!t || strlen(t) >= NX_WEB_TOKEN_MAX || !*t)
        return NULL;
    unsigned char h[32];
    hash(t, h);
    for (int i = 0; i < n; i++)
        if (e[i].user && sodium_memcmp(e[i].hash, h, 32) == 0)
            return &e[i];
    return NULL;
}

int nx_web_auth_link(nx_web_auth_t *a, int64_t user, uint8_t role, int64_t now_ns,
                     char out[NX_WEB_TOKEN_MAX])
{
    if (user <= 0)
        return NX_EINVAL;
    token(out);
    pthread_mutex_lock(&a->mu);
    entry_t *e = slot(a->link, LINKS);
    memset(e, 0, sizeof *e);
    hash(out, e->hash);
    e->user = user;
    e->role = role;
    e->made_ns = now_ns;
    e->expires_ns = now_ns + a->link_ttl_ns;
    pthread_mutex_unlock(&a->mu);
    return 0;
}

int nx_web_auth_login(nx_web_auth_t *a, const char *t, int64_t now_ns, char sid[NX_WEB_TOKEN_MAX],
                      nx_web_identity_t *who)
{
    pthread_mutex_lock(&a->mu);
    entry_t *l = find(a->link, LINKS, t);
    if (!l) {
        pthread_mutex_unlock(&a->mu);
        return NX_ENOENT;
    }
    entry_t link = *l;
    memset(l, 0, sizeof *l); /* used: gone, whatever follows */
    if (now_ns >= link.expires_ns) {
        pthread_mutex_unlock(&a->mu);
        return NX_ETIMEDOUT;
    }
    token(sid);
    entry_t *s = slot(a->session, SESSIONS);
    memset(s, 0, sizeof *s);
    hash(sid, s->hash);
    s->user = link.user;
    s->role = link.role;
    s->made_ns = now_ns;
    s->expires_ns = now_ns + a->session_ttl_ns;
    token(s->csrf);
    who->user = s->user;
    who->role = s->role;
    memcpy(who->csrf, s->csrf, sizeof who->csrf);
    pthread_mutex_unlock(&a->mu);
    return 0;
}

int nx_web_auth_session(nx_web_auth_t *a, const char *sid, int64_t now_ns, nx_web_identity_t *who)
{
    pthread_mutex_lock(&a->mu);
    entry_t *s = find(a->session, SESSIONS, sid);
    if (s && now_ns >= s->expires_ns) {
        memset(s, 0, sizeof *s);
        s = NULL;
    }
    if (!s) {
        pthread_mutex_unlock(&a->mu);
        return NX_ENOENT;
    }
    s->expires_ns = now_ns + a->session_ttl_ns;
    who->user = s->user;
    who->role = s->role;
    memcpy(who->csrf, s->csrf, sizeof who->csrf);
    pthread_mutex_unlock(&a->mu);
    return 0;
}

void nx_web_auth_logout(nx_web_auth_t *a, const char *sid)
{
    pthread_mutex_lock(&a->mu);
    entry_t *s = find(a->session, SESSIONS, sid);
    if (s)
        memset(s, 0, sizeof *s);
    pthread_mutex_unlock(&a->mu);
}
