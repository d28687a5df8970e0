/*
 * json_locate.h — find where a key path sits in raw JSON text (private).
 */
#ifndef NX_JSON_LOCATE_H
#define NX_JSON_LOCATE_H

#include <stddef.h>

typedef struct nx_jpath_comp {
    const char *key; /* object key, or NULL for an array index */
    size_t index;
} nx_jpath_comp_t;

/* Byte offset of the value at path (or of its key, when want_key and the
 * last component is a key) in text, or -1 if not found. */
long nx_json_locate(const char *text, size_t len, const nx_jpath_comp_t *path, int n, int want_key);

/* 1-based line and column of a byte offset. */
void nx_json_linecol(const char *text, size_t len, long off, int *line, int *col);

#endif
