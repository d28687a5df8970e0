/*
 * config_schema.h — the declarative schema the config is checked against
 * (private to core).
 */
#ifndef NX_CONFIG_SCHEMA_H
#define NX_CONFIG_SCHEMA_H

#include <stdint.h>

typedef enum nx_ctype {
    NX_CT_OBJECT,
    NX_CT_ARRAY,
    NX_CT_STRING,
    NX_CT_INT,
    NX_CT_BOOL,
    NX_CT_ENUM,
    NX_CT_DECIMAL, /* a decimal number written as a JSON string, parsed exactly */
    NX_CT_JSON,    /* any JSON object, passed on as text (plugin parameters) */
} nx_ctype_t;

enum {
    NX_CF_POW2 = 1u << 0,     /* INT must be a power of two */
    NX_CF_REQUIRED = 1u << 1, /* key must be present */
    NX_CF_POSITIVE = 1u << 2, /* DECIMAL must be > 0 (else >= 0) */
};

typedef struct nx_cnode nx_cnode_t;
struct nx_cnode {
    const char *key;
    nx_ctype_t type;
    const char *doc;
    const char *def;            /* default, as shown in the docs */
    int64_t min, max;           /* INT value, STRING length, ARRAY count */
    unsigned flags;             /* NX_CF_* */
    const char *const *choices; /* ENUM: NULL-terminated */
    const nx_cnode_t *children; /* OBJECT: members (key NULL ends); ARRAY: element node */
};

extern const nx_cnode_t nx_config_root;
extern const nx_cnode_t nx_config_session_node; /* one trading session */

#endif
