/*
 * error.c — nx_strerror() and nx_errname() generated from NX_ERRNO_MAP.
 */
#include "nx/error.h"

#include <stdarg.h>
#include <stdio.h>

const char *nx_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define NX_ERR_TEXT(name, num, text)                                                               \
    case -(num):                                                                                   \
        return text;
        NX_ERRNO_MAP(NX_ERR_TEXT)
#undef NX_ERR_TEXT
    default:
        return "unknown error";
    }
}

const char *nx_errname(int err)
{
    switch (err) {
    case 0:
        return "NX_OK";
#define NX_ERR_NAME(name, num, text)                                                               \
    case -(num):                                                                                   \
        return "NX_" #name;
        NX_ERRNO_MAP(NX_ERR_NAME)
#undef NX_ERR_NAME
    default:
        return "NX_UNKNOWN";
    }
}

int nx_errorf(char *buf, size_t cap, int rc, const char *fmt, ...)
{
    if (buf && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}
