/*
 * json_locate.c — positions for configuration errors.
 *
 * jansson builds a DOM without source positions, and no Debian-packaged JSON
 * library keeps them per node, so this small scanner walks the raw text
 * along a key path to report "line:column" for a schema error. It runs only
 * when an error is reported, on text jansson has already accepted as valid
 * JSON, so it only has to skip well-formed values.
 */
#include "json_locate.h"

#include <string.h>

typedef struct scan {
    const char *s;
    size_t n, i;
} scan_t;

static void ws(scan_t *c)
{
    while (c->i < c->n &&
           (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' || c->s[c->i] == '\r'))
        c->i++;
}

/* Skip a string starting at the opening quote; return its raw content span. */
static int skip_string(scan_t *c, size_t *start, size_t *end)
{
    if (c->i >= c->n || c->s[c->i] != '"')
        return -1;
    c->i++;
    *start = c->i;
    while (c->i < c->n && c->s[c->i] != '"') {
        if (c->s[c->i] == '\\')
            c->i++;
        c->i++;
    }
    if (c->i >= c->n)
        return -1;
    *end = c->i;
    c->i++;
    return 0;
}

static int skip_value(scan_t *c)
{
    ws(c);
    if (c->i >= c->n)
        return -1;
    char ch = c->s[c->i];
    if (ch == '"') {
        size_t a, b;
        return skip_string(c, &a, &b);
    }
    if (ch == '{' || ch == '[') {
        int depth = 0;
        while (c->i < c->n) {
            char d = c->s[c->i];
            if (d == '"') {
                size_t a, b;
                if (skip_string(c, &a, &b))
                    return -1;
                continue;
            }
            if (d == '{' || d == '[')
                depth++;
            else if (d == '}' || d == ']') {
                if (--depth == 0) {
                    c->i++;
                    return 0;
                }
            }
            c->i++;
        }
        return -1;
    }
    while (c->i < c->n && !strchr(",}] \t\r\n", c->s[c->i]))
        c->i++;
    return 0;
}

/* Raw key span equals the (unescaped) key: config keys are plain ASCII. */
static int key_eq(const char *s, size_t a, size_t b, const char *key)
{
    size_t kl = strlen(key);
    return b - a == kl && memcmp(s + a, key, kl) == 0;
}

long nx_json_locate(const char *text, size_t len, const nx_jpath_comp_t *path, int n, int want_key)
{
    scan_t c = {text, len, 0};
    ws(&c);
    for (int k = 0; k < n; k++) {
        ws(&c);
        if (c.i >= c.n)
            return -1;
        if (path[k].key) {
            if (c.s[c.i] != '{')
                return -1;
            c.i++;
            for (;;) {
                ws(&c);
                if (c.i >= c.n || c.s[c.i] == '}')
                    return -1;
                size_t key_pos = c.i, a, b;
                if (skip_string(&c, &a, &b))
                    return -1;
                ws(&c);
                if (c.i >= c.n || c.s[c.i] != ':')
                    return -1;
                c.i++;
                ws(&c);
                if (key_eq(c.s, a, b, path[k].key)) {
                    if (k == n - 1 && want_key)
                        return (long)key_pos;
                    break;
                }
                if (skip_value(&c))
                    return -1;
                ws(&c);
                if (c.i < c.n && c.s[c.i] == ',')
                    c.i++;
            }
        } else {
            if (c.s[c.i] != '[')
                return -1;
            c.i++;
            for (size_t idx = 0;; idx++) {
                ws(&c);
                if (c.i >= c.n || c.s[c.i] == ']')
                    return -1;
                if (idx == path[k].index)
                    break;
                if (skip_value(&c))
                    return -1;
                ws(&c);
                if (c.i < c.n && c.s[c.i] == ',')
                    c.i++;
            }
        }
    }
    ws(&c);
    return (long)c.i;
}

void nx_json_linecol(const char *text, size_t len, long off, int *line, int *col)
{
    int l = 1, cl = 1;
    for (size_t i = 0; i < len && (long)i < off; i++) {
        if (text[i] == '\n') {
            l++;
            cl = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            cl++; /* count characters, not UTF-8 continuation bytes (as jansson does) */
        }
    }
    *line = l;
    *col = cl;
}
