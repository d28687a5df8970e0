/*
 * plugin_sign.c — Ed25519 detached signatures of plugin files (see
 * plugin_sign.h). libsodium does the cryptography (crypto_sign_detached,
 * crypto_sign_verify_detached, constant-time base64); this file only reads
 * and writes the one-line signature format and keeps secret keys out of
 * logs and out of memory once used.
 */
#include "nx/plugin_sign.h"
#include "nx/error.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIG_MAGIC "nexus-plugin-sig 1 "

int nx_file_read_all(const char *path, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NX_EIO;
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return NX_EIO;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return NX_ENOMEM;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got != (size_t)st.st_size) {
        free(buf);
        return NX_EIO;
    }
    buf[got] = 0;
    *out = buf;
    *len = got;
    return 0;
}

static int sodium_ready(void)
{
    return sodium_init() < 0 ? NX_ESYSTEM : 0;
}

static int b64_decode(const char *b64, size_t b64_len, unsigned char *bin, size_t want)
{
    size_t n = 0;
    if (sodium_base642bin(bin, want, b64, b64_len, NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return NX_ESYNTAX;
    return n == want ? 0 : NX_ESYNTAX;
}

int nx_sign_pk_check(const char *b64)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    if (sodium_ready())
        return NX_ESYSTEM;
    return b64_decode(b64, strlen(b64), pk, sizeof pk);
}

int nx_sign_keygen(const char *sk_path, char pk_b64[NX_SIGN_PK_B64_MAX], char *err, size_t cap)
{
    if (sodium_ready())
        return nx_errorf(err, cap, NX_ESYSTEM, "libsodium failed to initialise");
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    char sk_b64[NX_SIGN_SK_B64_MAX];
    int fd = open(sk_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return nx_errorf(err, cap, errno == EEXIST ? NX_EEXIST : NX_EIO, "%s: %s%s", sk_path,
                         strerror(errno), errno == EEXIST ? " (refusing to overwrite a key)" : "");
    crypto_sign_keypair(pk, sk);
    sodium_bin2base64(sk_b64, sizeof sk_b64, sk, sizeof sk, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(pk_b64, NX_SIGN_PK_B64_MAX, pk, sizeof pk, sodium_base64_VARIANT_ORIGINAL);
    size_t len = strlen(sk_b64);
    sk_b64[len++] = '\n';
    int rc = write(fd, sk_b64, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : NX_EIO;
    close(fd);
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(sk_b64, sizeof sk_b64);
    if (rc) {
        unlink(sk_path);
        return nx_errorf(err, cap, rc, "%s: cannot write the key", sk_path);
    }
    return 0;
}

static int read_secret_key(const char *sk_path, unsigned char sk[crypto_sign_SECRETKEYBYTES],
                           char *err, size_t cap)
{
    struct stat st;
    if (stat(sk_path, &st))
        return nx_errorf(err, cap, NX_EIO, "%s: %s", sk_path, strerror(errno));
    if (st.st_mode & 077)
        return nx_errorf(err, cap, NX_EPERM,
                         "%s: mode %03o lets others read the secret key; chmod 600 it", sk_path,
                         (unsigned)(st.st_mode & 0777));
    char *text;
    size_t len;
    if (nx_file_read_all(sk_path, &text, &len))
        return nx_errorf(err, cap, NX_EIO, "%s: cannot read", sk_path);
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    int rc = b64_decode(text, len, sk, crypto_sign_SECRETKEYBYTES);
    sodium_memzero(text, len);
    free(text);
    if (rc)
        return nx_errorf(err, cap, NX_ESYNTAX, "%s: not a base64 Ed25519 secret key", sk_path);
    return 0;
}

int nx_sign_file(const char *path, const char *sk_path, char *err, size_t cap)
{
    if (sodium_ready())
        return nx_errorf(err, cap, NX_ESYSTEM, "libsodium failed to initialise");
    unsigned char sk[crypto_sign_SECRETKEYBYTES], sig[crypto_sign_BYTES];
    int rc = read_secret_key(sk_path, sk, err, cap);
    if (rc)
        return rc;
    char *data;
    size_t len;
    if ((rc = nx_file_read_all(path, &data, &len))) {
        sodium_memzero(sk, sizeof sk);
        return nx_errorf(err, cap, rc, "%s: cannot read", path);
    }
    crypto_sign_detached(sig, NULL, (const unsigned char *)data, len, sk);
    free(data);
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    crypto_sign_ed25519_sk_to_pk(pk, sk);
    sodium_memzero(sk, sizeof sk);

    char pk_b64[NX_SIGN_PK_B64_MAX],
        sig_b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(pk_b64, sizeof pk_b64, pk, sizeof pk, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(sig_b64, sizeof sig_b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
    char sig_path[4096], tmp_path[4112];
    snprintf(sig_path, sizeof sig_path, "%s.sig", path);
    snprintf(tmp_path, sizeof tmp_path, "%s.tmp", sig_path);
    FILE *f = fopen(tmp_path, "w");
    if (!f)
        return nx_errorf(err, cap, NX_EIO, "%s: %s", tmp_path, strerror(errno));
    int ok = fprintf(f, SIG_MAGIC "%s %s\n", pk_b64, sig_b64) > 0;
    ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok &= fclose(f) == 0;
    /* rename: a watcher never sees a half-written signature */
    if (!ok || rename(tmp_path, sig_path)) {
        unlink(tmp_path);
        return nx_errorf(err, cap, NX_EIO, "%s: cannot write", sig_path);
    }
    return 0;
}

int nx_sign_verify(const void *data, size_t len, const char *sig_text, size_t sig_len,
                   const char *const *trusted, uint32_t n, char *err, size_t cap)
{
    if (sodium_ready())
        return nx_errorf(err, cap, NX_ESYSTEM, "libsodium failed to initialise");
    size_t ml = strlen(SIG_MAGIC);
    if (sig_len < ml || memcmp(sig_text, SIG_MAGIC, ml))
        return nx_errorf(err, cap, NX_EPERM, "malformed signature file (expected \"%s...\")",
                         SIG_MAGIC);
    const char *p = sig_text + ml, *end = sig_text + sig_len;
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    if (!sp)
        return nx_errorf(err, cap, NX_EPERM, "malformed signature file (no signature field)");
    size_t pk_len = (size_t)(sp - p);
    const char *s = sp + 1;
    size_t s_len = (size_t)(end - s);
    while (s_len && (s[s_len - 1] == '\n' || s[s_len - 1] == '\r' || s[s_len - 1] == ' '))
        s_len--;
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
    if (b64_decode(p, pk_len, pk, sizeof pk) || b64_decode(s, s_len, sig, sizeof sig))
        return nx_errorf(err, cap, NX_EPERM, "malformed signature file (bad base64)");
    int is_trusted = 0;
    for (uint32_t i = 0; i < n && !is_trusted; i++) {
        unsigned char t[crypto_sign_PUBLICKEYBYTES];
        if (b64_decode(trusted[i], strlen(trusted[i]), t, sizeof t) == 0 &&
            sodium_memcmp(t, pk, sizeof t) == 0)
            is_trusted = 1;
    }
    if (!is_trusted)
        return nx_errorf(err, cap, NX_EPERM,
                         "signed by key %.*s, which is not in cortex.trusted_keys", (int)pk_len, p);
    if (crypto_sign_verify_detached(sig, data, len, pk) != 0)
        return nx_errorf(err, cap, NX_EPERM, "bad signature: the file is not what key %.*s signed",
                         (int)pk_len, p);
    return 0;
}

int nx_sign_verify_file(const char *path, const char *const *trusted, uint32_t n, char *err,
                        size_t cap)
{
    char sig_path[4096];
    snprintf(sig_path, sizeof sig_path, "%s.sig", path);
    char *data, *sig;
    size_t len, sig_len;
    if (nx_file_read_all(path, &data, &len))
        return nx_errorf(err, cap, NX_EIO, "cannot read %s", path);
    if (nx_file_read_all(sig_path, &sig, &sig_len)) {
        free(data);
        return nx_errorf(err, cap, NX_EIO, "not signed: %s is missing", sig_path);
    }
    int rc = nx_sign_verify(data, len, sig, sig_len, trusted, n, err, cap);
    free(data);
    free(sig);
    return rc;
}
