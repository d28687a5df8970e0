/*
 * nexus_plugin.h — the strategy plugin ABI. The only header a plugin sees.
 *
 * A plugin is a shared object exporting one symbol, NEXUS_PLUGIN_ENTRY,
 * which returns its descriptor. The host loads it with
 * dlopen(RTLD_NOW | RTLD_LOCAL), refuses a different major ABI version with
 * a message naming the file, and calls the descriptor's functions on the
 * engine thread only. Callbacks must not allocate: the host hands out the
 * plugin's state memory at init.
 *
 * Compatibility rules: every struct that crosses the boundary begins with
 * `abi_version` and `struct_size`; fields are only ever appended, so a
 * reader checks struct_size before touching a newer field. Handles are
 * opaque.
 *
 * Self-contained: includes only <stdint.h> and <stddef.h>.
 */
#ifndef NEXUS_PLUGIN_H
#define NEXUS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define NEXUS_PLUGIN_ABI_MAJOR   1
#define NEXUS_PLUGIN_ABI_MINOR   0
#define NEXUS_PLUGIN_ABI_VERSION ((NEXUS_PLUGIN_ABI_MAJOR << 16) | NEXUS_PLUGIN_ABI_MINOR)
#define NEXUS_PLUGIN_ENTRY       nexus_plugin_entry
#define NEXUS_PLUGIN_ENTRY_NAME  "nexus_plugin_entry"

#if defined(__GNUC__)
#define NEXUS_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define NEXUS_PLUGIN_EXPORT
#endif

/* Opaque handles owned by the host. */
typedef struct nexus_host nexus_host_t;
typedef struct nexus_series nexus_series_t;

/* Signal sides, as the shield understands them. */
enum {
    NEXUS_BUY = 1,
    NEXUS_SELL = 2,
    NEXUS_EXIT_LONG = 3,
    NEXUS_EXIT_SHORT = 4,
};

/* How a stop-loss or take-profit level is expressed. */
enum {
    NEXUS_LEVEL_NONE = 0,
    NEXUS_LEVEL_ATR = 1,   /* value = multiple of ATR from the entry */
    NEXUS_LEVEL_PRICE = 2, /* value = absolute price */
};

typedef struct nexus_signal {
    uint32_t abi_version, struct_size;
    uint32_t symbol;   /* symbol id the signal is about */
    int32_t side;      /* NEXUS_BUY ... NEXUS_EXIT_SHORT */
    double confidence; /* 0..1 */
    int32_t sl_kind;   /* NEXUS_LEVEL_* */
    int32_t tp_kind;   /* NEXUS_LEVEL_* */
    double sl_value;
    double tp_value;
    char reason[24]; /* short tag, NUL-terminated */
} nexus_signal_t;

/* What the host offers a plugin (grows only at the end). */
typedef struct nexus_host_api {
    uint32_t abi_version, struct_size;
    /* Emit a signal; returns 0, or < 0 if the host refused it. */
    int (*emit)(nexus_host_t *host, const nexus_signal_t *sig);
    /* Log a line through the host's logger (level 0 debug .. 3 error). */
    void (*log)(nexus_host_t *host, int level, const char *msg);
} nexus_host_api_t;

/* What a plugin provides (grows only at the end). */
typedef struct nexus_plugin {
    uint32_t abi_version, struct_size;
    const char *name;    /* "trend" */
    const char *version; /* "1.0.0" */
    /* Bytes of state memory the plugin wants for these parameters (JSON). */
    size_t (*state_size)(const char *params_json);
    /* Initialise state in host memory; 0 or < 0 with *err set to a reason. */
    int (*init)(void *state, const char *params_json, const nexus_host_api_t *api,
                nexus_host_t *host, const char **err);
    /* A candle closed on one of the plugin's series. */
    void (*on_candle)(void *state, const nexus_series_t *series);
    /* Optional state hand-over for hot swap: NULL if not supported. */
    size_t (*snapshot)(const void *state, void *buf, size_t cap);
    int (*restore)(void *state, const void *buf, size_t len);
    void (*fini)(void *state);
} nexus_plugin_t;

typedef const nexus_plugin_t *(*nexus_plugin_entry_fn)(void);

#endif /* NEXUS_PLUGIN_H */
