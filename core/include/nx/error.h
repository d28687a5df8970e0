/*
 * error.h — every error Nexus can report, in one X-macro table.
 *
 * Functions that can fail return int: 0 on success, a negative NX_E… code on
 * failure (libuv's UV_ERRNO_MAP pattern). nx_strerror() turns any code into
 * a stable, human sentence; nx_errname() gives the symbolic name for logs and
 * JSON. The table only grows at the end so numbers stay stable across
 * versions (they appear in journals and chat messages).
 */
#ifndef NX_ERROR_H
#define NX_ERROR_H

#include <stddef.h>

#include "nx/compiler.h"

#define NX_ERRNO_MAP(X)                                                                            \
    X(EINVAL, 1, "invalid argument")                                                               \
    X(ENOMEM, 2, "out of memory")                                                                  \
    X(ERANGE, 3, "value out of range")                                                             \
    X(EOVERFLOW, 4, "numeric overflow")                                                            \
    X(EEMPTY, 5, "empty input")                                                                    \
    X(ESYNTAX, 6, "malformed input")                                                               \
    X(EPRECISION, 7, "more fraction digits than the scale allows")                                 \
    X(EFULL, 8, "ring or table full")                                                              \
    X(EAGAIN, 9, "resource temporarily unavailable")                                               \
    X(ENOENT, 10, "not found")                                                                     \
    X(EEXIST, 11, "already exists")                                                                \
    X(EIO, 12, "input/output error")                                                               \
    X(ECONFIG, 13, "invalid configuration")                                                        \
    X(ETYPE, 14, "wrong type")                                                                     \
    X(EUNKNOWNKEY, 15, "unknown key")                                                              \
    X(ESTATE, 16, "operation not valid in the current state")                                      \
    X(ETIMEDOUT, 17, "timed out")                                                                  \
    X(ESYSTEM, 18, "system call failed")                                                           \
    X(ECLOSED, 19, "closed or shutting down")                                                      \
    X(ETOOLONG, 20, "input too long")                                                              \
    X(EPERM, 21, "not permitted")                                                                  \
    X(EABI, 22, "incompatible plugin ABI")

enum {
#define NX_ERR_ENUM(name, num, text) NX_##name = -(num),
    NX_ERRNO_MAP(NX_ERR_ENUM)
#undef NX_ERR_ENUM
        NX_OK = 0
};

/* Sentence for an error code (0 gives "success"). Never NULL; unknown codes
 * give "unknown error". Thread-safe, no allocation. */
const char *nx_strerror(int err);

/* Symbolic name ("NX_EINVAL"), or "NX_UNKNOWN". Thread-safe, no allocation. */
const char *nx_errname(int err);

/* Write a reason into the caller's buffer (if any) and return rc: for
 * functions that report "what went wrong" as text beside their code. */
int nx_errorf(char *buf, size_t cap, int rc, const char *fmt, ...) NX_PRINTF(4, 5);

#endif /* NX_ERROR_H */
