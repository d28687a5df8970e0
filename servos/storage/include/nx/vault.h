/*
 * vault.h — users' API keys sealed at rest (libsodium).
 *
 * A sealed value is "nxs1" || 24-byte nonce || XChaCha20-Poly1305
 * ciphertext and tag, under a 32-byte master key, with "nexus:key:v1:
 * <user id>:<venue>" as associated data: a value copied to another user's
 * row, or to another venue, fails to open. The master key comes from
 * NEXUS_MASTER_KEY (base64) or from a key file that only its owner may
 * read (mode 0600 or stricter; anything looser is refused). It lives in
 * locked, guarded memory (sodium_malloc) and so does every opened secret,
 * wiped when freed.
 *
 * The database keeps a check value sealed under the master key
 * (meta "vault.check"): a wrong key is found at start-up, before anything
 * is read or written.
 *
 * Threads: a vault belongs to the thread that loaded it (start-up, the CLI,
 * or the service thread when a user sends keys); loading reads a file and
 * allocates locked memory; sealing and opening allocate nothing but the
 * opened secret. Never on the engine or network thread.
 */
#ifndef NX_VAULT_H
#define NX_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include "nx/store.h"

#define NX_VAULT_KEY_BYTES 32
#define NX_VAULT_OVERHEAD  (4 + 24 + 16) /* magic, nonce, tag */
#define NX_SECRET_MAX      512           /* longest key or secret accepted */

typedef struct nx_vault nx_vault_t;

/* A secret opened into locked memory; free with nx_secret_free (wipes). */
typedef struct nx_secret {
    size_t len;
    char bytes[NX_SECRET_MAX + 1]; /* NUL-terminated for convenience */
} nx_secret_t;

/* The master key from NEXUS_MASTER_KEY, else from key_file (NULL = none).
 * NX_ENOENT when neither is set; NX_EPERM for a key file others can read;
 * NX_EINVAL for a value that is not base64 of 32 bytes. err says which,
 * never the key. */
int nx_vault_load(nx_vault_t **out, const char *key_file, char *err, size_t cap);
int nx_vault_from_base64(nx_vault_t **out, const char *b64, char *err, size_t cap);
/* A new random master key, as base64 (for `nexus keys genkey`). */
int nx_vault_generate(char *b64, size_t cap);
void nx_vault_free(nx_vault_t *v);

/* 1 if v is a sealed value (by its magic), 0 if plaintext. */
int nx_vault_is_sealed(const uint8_t *v, size_t n);
/* out must hold n + NX_VAULT_OVERHEAD bytes. */
int nx_vault_seal(const nx_vault_t *v, int64_t user_id, const char *venue, const uint8_t *plain,
                  size_t n, uint8_t *out, size_t *out_len);
/* NX_EPERM if it does not open (wrong key, wrong user or venue, altered). */
int nx_vault_open(const nx_vault_t *v, int64_t user_id, const char *venue, const uint8_t *sealed,
                  size_t n, nx_secret_t **out);
nx_secret_t *nx_secret_new(void);
/* Zero n bytes at p that held a secret (a key, a token, a password), in a
 * way the compiler may not drop as a dead store (sodium_memzero; a plain
 * memset before free() or the end of a buffer's life may vanish). Any
 * thread; no allocation. */
void nx_secret_wipe(void *p, size_t n);
void nx_secret_free(nx_secret_t *s);

/* Start-up: the master key must open the database's check value (stored
 * on first use). NX_EPERM "wrong master key" otherwise; nothing written. */
int nx_vault_unlock(const nx_vault_t *v, nx_store_t *st, char *err, size_t cap);
/* A database holding sealed keys needs a master key: 1 if it holds any. */
int nx_vault_needed(nx_store_t *st);

/* Keys of a session, sealed on the way in. */
int nx_keys_set(const nx_vault_t *v, nx_store_t *st, int64_t user_id, const char *venue,
                const char *key, const char *secret);
/* Opened into locked memory. A plaintext value left by an older release is
 * sealed in place first (lazy migration). */
int nx_keys_get(const nx_vault_t *v, nx_store_t *st, int64_t user_id, const char *venue,
                nx_secret_t **key, nx_secret_t **secret);
/* Every session's keys re-sealed under `to`, and the check value, in one
 * transaction: all or nothing. *n = sessions re-sealed. */
int nx_keys_rotate(const nx_vault_t *from, const nx_vault_t *to, nx_store_t *st, int *n,
                   char *err, size_t cap);

#endif /* NX_VAULT_H */
