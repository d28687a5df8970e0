/*
 * config_paths.c — the config's paths (see config.h): where they point,
 * and whether `nexus run` will be able to use them.
 *
 * A relative path in the file is relative to the file's folder, so a
 * config means the same files whichever folder nexus is started from
 * (`nexus run --config /etc/nexus/x.json` from anywhere). The join is
 * textual: "config/../tests/x.csv" is left for the kernel to resolve, as a
 * symlinked folder means for ".." what the kernel says it does.
 *
 * What `nexus run` will open, make or read is checked before it starts
 * anything, so that `nexus check-config` refuses what `run` would.
 * The checks only look (stat and access): nothing is made or opened. They
 * mirror what start-up does with each path — data_dir is made with one
 * mkdir (not its parents) and written in; log.file is opened for append
 * and made if missing; a replay file is read whole — and each problem is
 * named the way a person would check it ("no such file: PATH", "PATH is a
 * folder, not a file"). A config has a handful of paths: this is a few
 * system calls at start-up.
 */
#include "nx/config.h"
#include "nx/error.h"

#include "config_paths.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int nx_config_path_join(const char *base, const char *path, char *out, size_t cap)
{
    int n;
    if (!base || !*path || path[0] == '/') {
        n = snprintf(out, cap, "%s", path);
    } else {
        while (path[0] == '.' && path[1] == '/') {
            path += 2;
            while (*path == '/')
                path++;
        }
        if (!strcmp(path, "."))
            path = "";
        size_t b = strlen(base);
        if (!*path)
            n = snprintf(out, cap, "%s", base);
        else
            n = snprintf(out, cap, "%s%s%s", base, b && base[b - 1] == '/' ? "" : "/", path);
    }
    return n >= 0 && (size_t)n < cap ? 0 : NX_ETOOLONG;
}

void nx_config_errors_add(nx_config_errors_t *errs, const char *key, const char *fmt, ...)
{
    if (errs->count >= NX_CONFIG_MAX_ERRORS) {
        errs->truncated = 1;
        return;
    }
    nx_config_error_t *e = &errs->e[errs->count++];
    memset(e, 0, sizeof *e);
    snprintf(e->path, sizeof e->path, "%s", key);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

/* The folder a path names its last part in ("a/b" -> "a", "b" -> ".",
 * "/b" -> "/"). */
static void parent_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, cap, ".");
    else if (slash == path)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

/* A path that does not exist yet will be made in its parent: that must be a
 * folder nexus can write in. 0, or 1 with the problem added. */
static int parent_usable(nx_config_errors_t *errs, const char *key, const char *path)
{
    char parent[NX_PATH_MAX];
    struct stat sb;
    parent_of(path, parent, sizeof parent);
    if (stat(parent, &sb) != 0) {
        if (errno == ENOENT)
            nx_config_errors_add(errs, key, "no such folder: %s (to make %s in)", parent, path);
        else
            nx_config_errors_add(errs, key, "cannot use %s: %s", parent, strerror(errno));
        return 1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        nx_config_errors_add(errs, key, "%s is not a folder (to make %s in)", parent, path);
        return 1;
    }
    if (access(parent, W_OK | X_OK) != 0) {
        nx_config_errors_add(errs, key, "cannot make %s: %s", path, strerror(errno));
        return 1;
    }
    return 0;
}

/* data_dir: the folder of the database, the journal's spill file and each
 * replay's own database. */
static int check_dir(nx_config_errors_t *errs, const char *key, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT)
            return parent_usable(errs, key, path);
        nx_config_errors_add(errs, key, "cannot use %s: %s", path, strerror(errno));
        return 1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        nx_config_errors_add(errs, key, "%s is %s, not a folder", path,
                             S_ISREG(sb.st_mode) ? "a file" : "something else");
        return 1;
    }
    if (access(path, W_OK | X_OK) != 0) {
        nx_config_errors_add(errs, key, "cannot write in %s: %s", path, strerror(errno));
        return 1;
    }
    return 0;
}

/* log.file: appended to, made if missing. */
static int check_append(nx_config_errors_t *errs, const char *key, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT)
            return parent_usable(errs, key, path);
        nx_config_errors_add(errs, key, "cannot use %s: %s", path, strerror(errno));
        return 1;
    }
    if (S_ISDIR(sb.st_mode)) {
        nx_config_errors_add(errs, key, "%s is a folder, not a file", path);
        return 1;
    }
    if (access(path, W_OK) != 0) {
        nx_config_errors_add(errs, key, "cannot write %s: %s", path, strerror(errno));
        return 1;
    }
    return 0;
}

/* A file read whole (a replay's data). */
static int check_read(nx_config_errors_t *errs, const char *key, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT)
            nx_config_errors_add(errs, key, "no such file: %s", path);
        else
            nx_config_errors_add(errs, key, "cannot read %s: %s", path, strerror(errno));
        return 1;
    }
    if (S_ISDIR(sb.st_mode)) {
        nx_config_errors_add(errs, key, "%s is a folder, not a file", path);
        return 1;
    }
    if (access(path, R_OK) != 0) {
        nx_config_errors_add(errs, key, "cannot read %s: %s", path, strerror(errno));
        return 1;
    }
    return 0;
}

int nx_config_check_paths(const nx_config_t *cfg, nx_config_errors_t *errs)
{
    int n = check_dir(errs, "data_dir", cfg->data_dir);
    if (cfg->log.file[0])
        n += check_append(errs, "log.file", cfg->log.file);
    for (uint32_t i = 0; i < cfg->n_feeds; i++) {
        if (!cfg->feeds[i].replay[0])
            continue;
        char key[32];
        snprintf(key, sizeof key, "feeds[%u].replay", i);
        n += check_read(errs, key, cfg->feeds[i].replay);
    }
    return n;
}
