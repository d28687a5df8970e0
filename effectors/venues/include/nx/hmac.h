/*
 * hmac.h — HMAC-SHA256 under a key prepared once, for signing venue
 * requests on the engine thread and checking them in the venue simulator.
 *
 * HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)). The two pad blocks
 * depend on the key alone, so their SHA-256 states are computed once per
 * key and each message costs two state copies and the compression of the
 * message plus two final blocks — instead of OpenSSL's one-shot HMAC(),
 * which derives the pads, builds two digest contexts from the provider and
 * frees them on every call (bench_tick_to_order measures both).
 * The prepared states are as good as the secret (they sign anything), so
 * a key lives in locked, guarded memory (libsodium's sodium_malloc: never
 * swapped, never in a core dump, guard pages around it) and is wiped when
 * freed.
 */
#ifndef NX_HMAC_H
#define NX_HMAC_H

#include <stddef.h>
#include <stdint.h>

#define NX_HMAC_LEN     32 /* bytes of a SHA-256 MAC */
#define NX_HMAC_HEX_LEN 64 /* lower-case hex digits of one */

typedef struct nx_hmac_key nx_hmac_key_t;

/* Prepare a key from `len` bytes of secret (read, not kept). 0, NX_EINVAL
 * (no secret), NX_ENOMEM (no locked memory left: RLIMIT_MEMLOCK). Any
 * thread; allocates. */
int nx_hmac_key_create(nx_hmac_key_t **out, const void *secret, size_t len);
/* A key for messages that all begin with the same `len` bytes (a multiple
 * of 64, SHA-256's block): the prefix is absorbed once, so
 * nx_hmac_sha256(*out, rest) = nx_hmac_sha256(k, prefix || rest), one
 * compression less per block of prefix. 0, NX_EINVAL, NX_ENOMEM. */
int nx_hmac_key_prefixed(nx_hmac_key_t **out, const nx_hmac_key_t *k, const void *prefix,
                         size_t len);
/* Wipe and free (NULL is fine). */
void nx_hmac_key_free(nx_hmac_key_t *k);

/* The MAC of msg[0..len). Any thread (the key is only read); no
 * allocation, no lock. */
void nx_hmac_sha256(const nx_hmac_key_t *k, const void *msg, size_t len,
                    uint8_t mac[NX_HMAC_LEN]);
/* The same as 64 lower-case hex digits (not NUL-terminated). */
void nx_hmac_sha256_hex(const nx_hmac_key_t *k, const void *msg, size_t len,
                        char hex[NX_HMAC_HEX_LEN]);
/* 1 if `hex` (n digits, either case: Binance signatures are not case
 * sensitive) is the MAC of msg, else 0; compares in constant time. */
int nx_hmac_sha256_verify(const nx_hmac_key_t *k, const void *msg, size_t len, const char *hex,
                          size_t n);

#endif /* NX_HMAC_H */
