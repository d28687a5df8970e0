/*
 * config_paths.h — a config's relative paths joined to its folder (private
 * to core; config_paths.c).
 */
#ifndef NX_CONFIG_PATHS_H
#define NX_CONFIG_PATHS_H

#include <stddef.h>

/* `path` as a config at folder `base` means it, into out: kept as written
 * when base is NULL (no file, or a file in the working directory), when it
 * is absolute or empty; else "base/path", with leading "./" dropped
 * ("./data" in config/ -> "config/data", "." -> "config"). 0, or
 * NX_ETOOLONG when it does not fit in cap. */
int nx_config_path_join(const char *base, const char *path, char *out, size_t cap);

#endif
