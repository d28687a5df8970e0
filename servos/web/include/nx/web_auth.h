/*
 * web_auth.h — log-in to the web pages without passwords: a one-time link
 * a person asks for in chat, which becomes a session cookie.
 *
 *  - A link token is 32 random bytes (libsodium's randombytes), written
 *    base64url; the table keeps only its BLAKE2b hash, the user it is for
 *    and when it expires (link_ttl_s). It is good once: the first use
 *    takes it out. Nobody can make one without the process's own table:
 *    that is what "signed" buys elsewhere, and here nothing of it can be
 *    replayed after use or restart.
 *  - Using it opens a session: another 32 random bytes, the cookie's value
 *    (HttpOnly, SameSite=Strict, Path=/; Secure behind TLS), kept hashed
 *    with the user, their role, a CSRF token (sent with every action in an
 *    X-CSRF-Token header) and when it expires (session_ttl_s, renewed by
 *    use). Logging out ends it.
 *  - Any thread: one mutex; fixed tables, no allocation after create. A
 *    full table drops its oldest entry. Comparisons of hashes are
 *    constant-time (sodium_memcmp).
 */
#ifndef NX_WEB_AUTH_H
#define NX_WEB_AUTH_H

#include <stdint.h>

#define NX_WEB_TOKEN_MAX 64 /* a token as text, with its NUL (43 characters) */

typedef struct nx_web_auth nx_web_auth_t;

typedef struct nx_web_identity {
    int64_t user;
    uint8_t role; /* nx_role_t (storage): owner 3, admin 2, subscriber 1 */
    char csrf[NX_WEB_TOKEN_MAX];
} nx_web_identity_t;

/* NULL if out of memory or libsodium cannot start. */
nx_web_auth_t *nx_web_auth_create(uint32_t link_ttl_s, uint32_t session_ttl_s);
void nx_web_auth_destroy(nx_web_auth_t *a);

/* A one-time link token for user (role) into out. 0 or NX_ESYSTEM. */
int nx_web_auth_link(nx_web_auth_t *a, int64_t user, uint8_t role, int64_t now_ns,
                     char out[NX_WEB_TOKEN_MAX]);
/* Use a link token: 0 with a new session's cookie value in sid and who it
 * is; NX_ENOENT (never made, or used already), NX_ETIMEDOUT (expired:
 * also taken out). */
int nx_web_auth_login(nx_web_auth_t *a, const char *token, int64_t now_ns,
                      char sid[NX_WEB_TOKEN_MAX], nx_web_identity_t *who);
/* The session of a cookie value: 0 with who (its expiry renewed), or
 * NX_ENOENT (none, or expired). */
int nx_web_auth_session(nx_web_auth_t *a, const char *sid, int64_t now_ns, nx_web_identity_t *who);
/* End a session (nothing if there is none). */
void nx_web_auth_logout(nx_web_auth_t *a, const char *sid);

#endif /* NX_WEB_AUTH_H */
