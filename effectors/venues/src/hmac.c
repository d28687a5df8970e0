/*
 * hmac.c — HMAC-SHA256 with the pad states computed once per key (see
 * hmac.h). SHA-256 itself is OpenSSL's (SHA-NI / AVX2 assembly where the
 * CPU has it); only the HMAC construction (RFC 2104, a dozen lines) is
 * here, because OpenSSL 3 has no allocation-free way to reuse a keyed
 * context: HMAC_Init_ex with a NULL key, EVP_MAC_init and
 * EVP_MD_CTX_copy_ex all duplicate provider contexts on the heap per call.
 * The SHA256_* calls are deprecated in OpenSSL 3 in favour of EVP, whose
 * context copies allocate; the deprecation is silenced for this file alone.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "nx/hmac.h"
#include "nx/error.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <string.h>

struct nx_hmac_key {
    SHA256_CTX inner; /* after (K ^ ipad) */
    SHA256_CTX outer; /* after (K ^ opad) */
};

int nx_hmac_key_create(nx_hmac_key_t **out, const void *secret, size_t len)
{
    *out = NULL;
    if (!secret || !len)
        return NX_EINVAL;
    if (sodium_init() < 0)
        return NX_ESYSTEM;
    nx_hmac_key_t *k = sodium_malloc(sizeof *k);
    if (!k)
        return NX_ENOMEM;
    uint8_t k0[SHA256_CBLOCK], pad[SHA256_CBLOCK];
    memset(k0, 0, sizeof k0);
    if (len > sizeof k0)
        SHA256(secret, len, k0); /* a key longer than a block is hashed first */
    else
        memcpy(k0, secret, len);
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] = k0[i] ^ 0x36;
    SHA256_Init(&k->inner);
    SHA256_Update(&k->inner, pad, sizeof pad);
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] = k0[i] ^ 0x5c;
    SHA256_Init(&k->outer);
    SHA256_Update(&k->outer, pad, sizeof pad);
    sodium_memzero(k0, sizeof k0);
    sodium_memzero(pad, sizeof pad);
    sodium_mprotect_readonly(k); /* nothing writes a prepared key */
    *out = k;
    return 0;
}

int nx_hmac_key_prefixed(nx_hmac_key_t **out, const nx_hmac_key_t *k, const void *prefix,
                         size_t len)
{
    *out = NULL;
    if (!k || !prefix || !len || len % SHA256_CBLOCK)
        return NX_EINVAL;
    nx_hmac_key_t *p = sodium_malloc(sizeof *p);
    if (!p)
        return NX_ENOMEM;
    *p = *k;
    SHA256_Update(&p->inner, prefix, len); /* whole blocks: nothing left buffered */
    sodium_mprotect_readonly(p);
    *out = p;
    return 0;
}

void nx_hmac_key_free(nx_hmac_key_t *k)
{
    if (k)
        sodium_free(k); /* makes it writable, wipes, unlocks, frees */
}

void nx_hmac_sha256(const nx_hmac_key_t *k, const void *msg, size_t len, uint8_t mac[NX_HMAC_LEN])
{
    SHA256_CTX c = k->inner;
    uint8_t ih[SHA256_DIGEST_LENGTH];
    SHA256_Update(&c, msg, len);
    SHA256_Final(ih, &c);
    c = k->outer;
    SHA256_Update(&c, ih, sizeof ih);
    SHA256_Final(mac, &c);
}

void nx_hmac_sha256_hex(const nx_hmac_key_t *k, const void *msg, size_t len,
                        char hex[NX_HMAC_HEX_LEN])
{
    static const char digits[] = "0123456789abcdef";
    uint8_t mac[NX_HMAC_LEN];
    nx_hmac_sha256(k, msg, len, mac);
    for (int i = 0; i < NX_HMAC_LEN; i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 15];
    }
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int nx_hmac_sha256_verify(const nx_hmac_key_t *k, const void *msg, size_t len, const char *hex,
                          size_t n)
{
    if (!hex || n != NX_HMAC_HEX_LEN)
        return 0;
    uint8_t want[NX_HMAC_LEN], got[NX_HMAC_LEN];
    for (int i = 0; i < NX_HMAC_LEN; i++) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        got[i] = (uint8_t)(hi << 4 | lo);
    }
    nx_hmac_sha256(k, msg, len, want);
    return CRYPTO_memcmp(want, got, sizeof want) == 0;
}
