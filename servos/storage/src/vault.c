/*
 * vault.c — sealed API keys (see vault.h).
 */
#include "nx/vault.h"

#include "nx/error.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "nxs1"
#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG   crypto_aead_xchacha20poly1305_ietf_ABYTES

_Static_assert(NX_VAULT_OVERHEAD == 4 + NONCE + TAG, "sealed value layout");
_Static_assert(NX_VAULT_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");

struct nx_vault {
    unsigned char key[NX_VAULT_KEY_BYTES];
};

static const char CHECK_KEY[] = "vault.check";
static const char CHECK_TEXT[] = "nexus master key check v1";

static int init(void)
{
    return sodium_init() < 0 ? NX_ESYSTEM : 0;
}

int nx_vault_from_base64(nx_vault_t **out, const char *b64, char *err, size_t cap)
{
    *out = NULL;
    if (init())
        return NX_ESYSTEM;
    nx_vault_t *v = sodium_malloc(sizeof *v); /* guarded, locked, wiped on free */
    if (!v)
        return NX_ENOMEM;
    size_t len = 0;
    size_t n = strlen(b64);
    while (n && (b64[n - 1] == '\n' || b64[n - 1] == '\r' || b64[n - 1] == ' '))
        n--;
    if (sodium_base642bin(v->key, sizeof v->key, b64, n, NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != sizeof v->key) {
        sodium_free(v);
        snprintf(err, cap, "the master key must be base64 of %d bytes (nexus keys genkey makes "
                           "one)", NX_VAULT_KEY_BYTES);
        return NX_EINVAL;
    }
    *out = v;
    return 0;
}

int nx_vault_load(nx_vault_t **out, const char *key_file, char *err, size_t cap)
{
    *out = NULL;
    const char *env = getenv("NEXUS_MASTER_KEY");
    if (env && *env)
        return nx_vault_from_base64(out, env, err, cap);
    if (!key_file || !*key_file) {
        snprintf(err, cap, "no master key: set NEXUS_MASTER_KEY (base64) or give a key file");
        return NX_ENOENT;
    }
    int fd = open(key_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(err, cap, "cannot read the master key file %s: %s", key_file, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NX_ENOENT;
    }
    if (!S_ISREG(sb.st_mode) || (sb.st_mode & 077)) {
        close(fd);
        snprintf(err, cap,
                 "the master key file %s is readable by others (mode %03o): chmod 600 it",
                 key_file, (unsigned)(sb.st_mode & 0777));
        return NX_EPERM;
    }
    if (init()) {
        close(fd);
        return NX_ESYSTEM;
    }
    char *buf = sodium_malloc(256);
    if (!buf) {
        close(fd);
        return NX_ENOMEM;
    }
    ssize_t n = read(fd, buf, 255);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    int rc = nx_vault_from_base64(out, buf, err, cap);
    sodium_free(buf);
    return rc;
}

int nx_vault_generate(char *b64, size_t cap)
{
    if (init())
        return NX_ESYSTEM;
    unsigned char k[NX_VAULT_KEY_BYTES];
    crypto_aead_xchacha20poly1305_ietf_keygen(k);
    if (cap < sodium_base64_ENCODED_LEN(sizeof k, sodium_base64_VARIANT_ORIGINAL))
        return NX_ERANGE;
    sodium_bin2base64(b64, cap, k, sizeof k, sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(k, sizeof k);
    return 0;
}

void nx_vault_free(nx_vault_t *v)
{
    if (v)
        sodium_free(v);
}

int nx_vault_is_sealed(const uint8_t *v, size_t n)
{
    return n >= NX_VAULT_OVERHEAD && !memcmp(v, MAGIC, 4);
}

static size_t ad_of(int64_t user_id, const char *venue, char *ad, size_t cap)
{
    int n = snprintf(ad, cap, "nexus:key:v1:%lld:%s", (long long)user_id, venue);
    return n < 0 ? 0 : (size_t)n;
}

int nx_vault_seal(const nx_vault_t *v, int64_t user_id, const char *venue, const uint8_t *plain,
                  size_t n, uint8_t *out, size_t *out_len)
{
    char ad[128];
    size_t adn = ad_of(user_id, venue, ad, sizeof ad);
    memcpy(out, MAGIC, 4);
    randombytes_buf(out + 4, NONCE);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + 4 + NONCE, &clen, plain, n,
                                               (const unsigned char *)ad, adn, NULL, out + 4,
                                               v->key);
    *out_len = 4 + NONCE + (size_t)clen;
    return 0;
}

nx_secret_t *nx_secret_new(void)
{
    if (init())
        return NULL;
    nx_secret_t *s = sodium_malloc(sizeof *s);
    if (s)
        memset(s, 0, sizeof *s);
    return s;
}

void nx_secret_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

void nx_secret_free(nx_secret_t *s)
{
    if (s)
        sodium_free(s); /* zeroes before it unmaps */
}

int nx_vault_open(const nx_vault_t *v, int64_t user_id, const char *venue, const uint8_t *sealed,
                  size_t n, nx_secret_t **out)
{
    *out = NULL;
    if (!nx_vault_is_sealed(sealed, n) || n - NX_VAULT_OVERHEAD > NX_SECRET_MAX)
        return NX_EINVAL;
    nx_secret_t *s = nx_secret_new();
    if (!s)
        return NX_ENOMEM;
    char ad[128];
    size_t adn = ad_of(user_id, venue, ad, sizeof ad);
    unsigned long long len = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            (unsigned char *)s->bytes, &len, NULL, sealed + 4 + NONCE, n - 4 - NONCE,
            (const unsigned char *)ad, adn, sealed + 4, v->key) != 0) {
        nx_secret_free(s);
        return NX_EPERM;
    }
    s->len = (size_t)len;
    s->bytes[len] = 0;
    *out = s;
    return 0;
}

int nx_vault_needed(nx_store_t *st)
{
    uint8_t buf[256];
    size_t n = sizeof buf;
    return nx_store_meta_get(st, CHECK_KEY, buf, &n) == 0;
}

int nx_vault_unlock(const nx_vault_t *v, nx_store_t *st, char *err, size_t cap)
{
    uint8_t buf[256];
    size_t n = sizeof buf;
    int rc = nx_store_meta_get(st, CHECK_KEY, buf, &n);
    if (rc == NX_ENOENT) { /* first use: this key is the database's key from now on */
        uint8_t out[sizeof CHECK_TEXT + NX_VAULT_OVERHEAD];
        size_t len;
        nx_vault_seal(v, 0, "meta", (const uint8_t *)CHECK_TEXT, sizeof CHECK_TEXT - 1, out,
                      &len);
        rc = nx_store_meta_put(st, CHECK_KEY, out, len);
        if (rc)
            snprintf(err, cap, "cannot store the master key check: %s", nx_store_error(st));
        return rc;
    }
    if (rc) {
        snprintf(err, cap, "cannot read the master key check: %s", nx_store_error(st));
        return rc;
    }
    nx_secret_t *s;
    if (nx_vault_open(v, 0, "meta", buf, n, &s) != 0) {
        snprintf(err, cap, "wrong master key: it does not open this database's keys "
                           "(NEXUS_MASTER_KEY or the key file is not the one they were sealed "
                           "with); nothing was changed");
        return NX_EPERM;
    }
    nx_secret_free(s);
    return 0;
}

int nx_keys_set(const nx_vault_t *v, nx_store_t *st, int64_t user_id, const char *venue,
                const char *key, const char *secret)
{
    size_t kn = strlen(key), sn = strlen(secret);
    if (kn == 0 || sn == 0 || kn > NX_SECRET_MAX || sn > NX_SECRET_MAX)
        return NX_EINVAL;
    uint8_t k[NX_SECRET_MAX + NX_VAULT_OVERHEAD], s[NX_SECRET_MAX + NX_VAULT_OVERHEAD];
    size_t kl, sl;
    nx_vault_seal(v, user_id, venue, (const uint8_t *)key, kn, k, &kl);
    nx_vault_seal(v, user_id, venue, (const uint8_t *)secret, sn, s, &sl);
    return nx_store_session_set_keys(st, user_id, venue, k, kl, s, sl);
}

/* Raw stored values, in locked memory (a plaintext one is a secret too). */
typedef struct raw {
    uint8_t key[NX_SECRET_MAX + NX_VAULT_OVERHEAD], secret[NX_SECRET_MAX + NX_VAULT_OVERHEAD];
    size_t kl, sl;
} raw_t;

int nx_keys_get(const nx_vault_t *v, nx_store_t *st, int64_t user_id, const char *venue,
                nx_secret_t **key, nx_secret_t **secret)
{
    *key = *secret = NULL;
    if (init())
        return NX_ESYSTEM;
    raw_t *r = sodium_malloc(sizeof *r);
    if (!r)
        return NX_ENOMEM;
    r->kl = r->sl = sizeof r->key;
    int rc = nx_store_session_keys(st, user_id, venue, r->key, &r->kl, r->secret, &r->sl);
    if (!rc && (!nx_vault_is_sealed(r->key, r->kl) || !nx_vault_is_sealed(r->secret, r->sl))) {
        /* lazy migration: seal what an older release stored in the clear */
        char k[NX_SECRET_MAX + 1], s[NX_SECRET_MAX + 1];
        if (r->kl > NX_SECRET_MAX || r->sl > NX_SECRET_MAX || nx_vault_is_sealed(r->key, r->kl) ||
            nx_vault_is_sealed(r->secret, r->sl)) {
            rc = NX_EINVAL; /* half sealed: do not guess */
        } else {
            memcpy(k, r->key, r->kl);
            k[r->kl] = 0;
            memcpy(s, r->secret, r->sl);
            s[r->sl] = 0;
            rc = nx_keys_set(v, st, user_id, venue, k, s);
            sodium_memzero(k, sizeof k);
            sodium_memzero(s, sizeof s);
            if (!rc)
                rc = nx_store_scrub(st);
            r->kl = r->sl = sizeof r->key;
            if (!rc)
                rc = nx_store_session_keys(st, user_id, venue, r->key, &r->kl, r->secret, &r->sl);
        }
    }
    if (!rc)
        rc = nx_vault_open(v, user_id, venue, r->key, r->kl, key);
    if (!rc && (rc = nx_vault_open(v, user_id, venue, r->secret, r->sl, secret))) {
        nx_secret_free(*key);
        *key = NULL;
    }
    sodium_free(r);
    return rc;
}

typedef struct rot {
    int64_t user[4096];
    char venue[4096][32];
    int n;
} rot_t;

static int collect(void *ctx, const nx_session_row_t *s)
{
    rot_t *r = ctx;
    if (!s->has_key || r->n == 4096)
        return r->n == 4096;
    r->user[r->n] = s->user_id;
    snprintf(r->venue[r->n], sizeof r->venue[r->n], "%s", s->venue);
    r->n++;
    return 0;
}

int nx_keys_rotate(const nx_vault_t *from, const nx_vault_t *to, nx_store_t *st, int *n,
                   char *err, size_t cap)
{
    *n = 0;
    int rc = nx_vault_unlock(from, st, err, cap);
    if (rc)
        return rc;
    rot_t *r = calloc(1, sizeof *r);
    if (!r)
        return NX_ENOMEM;
    rc = nx_store_sessions(st, 0, collect, r);
    if (!rc && r->n == 4096)
        rc = NX_EFULL;
    if (!rc)
        rc = nx_store_begin(st);
    for (int i = 0; i < r->n && rc == 0; i++) {
        nx_secret_t *k, *s;
        rc = nx_keys_get(from, st, r->user[i], r->venue[i], &k, &s);
        if (!rc) {
            rc = nx_keys_set(to, st, r->user[i], r->venue[i], k->bytes, s->bytes);
            nx_secret_free(k);
            nx_secret_free(s);
        }
        if (rc)
            snprintf(err, cap, "user %lld %s: %s", (long long)r->user[i], r->venue[i],
                     rc == NX_EPERM ? "a key does not open with the current master key"
                                    : nx_store_error(st));
        else
            (*n)++;
    }
    if (!rc) { /* the check value moves to the new key in the same transaction */
        uint8_t out[sizeof CHECK_TEXT + NX_VAULT_OVERHEAD];
        size_t len;
        nx_vault_seal(to, 0, "meta", (const uint8_t *)CHECK_TEXT, sizeof CHECK_TEXT - 1, out,
                      &len);
        rc = nx_store_meta_put(st, CHECK_KEY, out, len);
    }
    if (!rc)
        rc = nx_store_commit(st);
    if (rc) {
        nx_store_rollback(st);
        *n = 0;
    } else {
        rc = nx_store_scrub(st); /* the values sealed under the old key go too */
    }
    free(r);
    return rc;
}
