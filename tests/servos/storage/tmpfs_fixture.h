/*
 * tmpfs_fixture.h — a full disk for the storage tests: a small tmpfs (a few
 * MiB) mounted on a fresh directory under /tmp, which the test fills up
 * with a ballast file when it wants the disk full and empties again when it
 * wants space back. Real ENOSPC from the kernel, no mock. Mounting needs
 * root: without it the test is skipped, saying why (CI runs as root).
 * Used by tests/servos/storage/test_writer_spill.c and
 * tests/nexus/test_storage_faults.c. Header-only; include after cmocka.
 */
#ifndef NX_TMPFS_FIXTURE_H
#define NX_TMPFS_FIXTURE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

/* Make a directory from the mkdtemp template dir (changed in place) and
 * mount a tmpfs of size ("1m", "8m") on it. Skips the test when not root,
 * fails it when the mount fails for another reason. */
static inline void tmpfs_mount(char *dir, const char *size)
{
    assert_non_null(mkdtemp(dir));
    char opts[32];
    snprintf(opts, sizeof opts, "size=%s", size);
    if (mount("tmpfs", dir, "tmpfs", 0, opts) != 0) {
        int e = errno;
        rmdir(dir);
        if (geteuid() != 0) { /* a full disk is made with a small tmpfs: root only */
            print_message("# SKIPPED: a full disk needs a tmpfs mount, which needs root (CI has "
                          "it)\n");
            skip();
        }
        fail_msg("cannot mount a tmpfs of %s on %s: %s", size, dir, strerror(e));
    }
}

/* Fill what is left of the file system at dir: dir/ballast grows until a
 * write or its flush fails. */
static inline void tmpfs_fill_up(const char *dir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/ballast", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    static char block[4096];
    while (fwrite(block, 1, sizeof block, f) == sizeof block && fflush(f) == 0)
        ;
    fclose(f);
}

/* Space again: the ballast of tmpfs_fill_up removed. */
static inline void tmpfs_free_up(const char *dir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/ballast", dir);
    assert_int_equal(unlink(path), 0);
}

/* Unmount the tmpfs at dir (with all it holds) and remove the directory. */
static inline void tmpfs_unmount(const char *dir)
{
    assert_int_equal(umount(dir), 0);
    assert_int_equal(rmdir(dir), 0);
}

#endif
