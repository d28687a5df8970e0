/*
 * plugin_sign.h — detached Ed25519 signatures for plugin files (libsodium).
 *
 * Loading a shared object runs its code with the engine's rights, so a
 * plugin is loaded only if FILE.sig holds a valid signature of FILE's exact
 * bytes by a public key in the configured allow-list (cortex.trusted_keys).
 *
 * The signature file is one line of text:
 *
 *   nexus-plugin-sig 1 <public key, base64> <signature, base64>
 *
 * Keys are base64 (standard alphabet, padded): 32-byte public keys, 64-byte
 * secret keys. A secret key file holds the base64 secret key on one line,
 * must be mode 0600 or stricter, and is never printed.
 *
 * Threads: any; no shared state. Functions that read files allocate.
 */
#ifndef NX_PLUGIN_SIGN_H
#define NX_PLUGIN_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define NX_SIGN_PK_B64_MAX 48  /* 44 characters + NUL, rounded */
#define NX_SIGN_SK_B64_MAX 96  /* 88 characters + NUL, rounded */

/* Create a key pair. The public key goes to pk_b64; the secret key is
 * written to sk_path (created 0600, refused if it exists). Returns 0,
 * NX_EEXIST/NX_EIO with a reason in err. */
int nx_sign_keygen(const char *sk_path, char pk_b64[NX_SIGN_PK_B64_MAX], char *err, size_t cap);

/* Sign the file at path with the secret key in sk_path; writes path.sig.
 * Refuses a key file readable by group or others. */
int nx_sign_file(const char *path, const char *sk_path, char *err, size_t cap);

/* Check that `sig_text` signs data[0..len) by one of the `n` trusted keys
 * (base64). Returns 0, or NX_EPERM with the reason in err: malformed
 * signature file, untrusted key (named), or signature mismatch. */
int nx_sign_verify(const void *data, size_t len, const char *sig_text, size_t sig_len,
                   const char *const *trusted, uint32_t n, char *err, size_t cap);

/* Read FILE and FILE.sig and verify as above. NX_EIO if a file is missing. */
int nx_sign_verify_file(const char *path, const char *const *trusted, uint32_t n, char *err,
                        size_t cap);

/* 0 if `b64` is a well-formed base64 Ed25519 public key. */
int nx_sign_pk_check(const char *b64);

/* Read a whole file into a malloc'd buffer (NUL-terminated; *len excludes
 * the NUL). Returns 0 or NX_EIO/NX_ENOMEM. Caller frees. */
int nx_file_read_all(const char *path, char **out, size_t *len);

#endif /* NX_PLUGIN_SIGN_H */
