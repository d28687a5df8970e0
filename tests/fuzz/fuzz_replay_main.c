/*
 * fuzz_replay_main.c — runs a fuzz target's saved inputs without libFuzzer,
 * so that every build replays them as a plain CTest test, not only the
 * clang fuzz build.
 *
 * Linked with one target's LLVMFuzzerTestOneInput (tests/fuzz/fuzz_*.c),
 * it feeds every regular file of each directory given (or each file given)
 * to the target once, in one process, as libFuzzer does when it runs over
 * a corpus: the target's static state carries from one input to the next.
 * Files go in name order, so a run repeats exactly. The inputs are the
 * seed corpus and the crash inputs found once (crash-<sha1>), kept in
 * tests/fuzz/corpus/<target>/: a crash, an abort or a sanitizer report on
 * any of them fails the test. Each input's path is printed before it runs,
 * so the log names the one that crashed.
 *
 *   corpus_run_<target> DIR|FILE...
 *
 * Exits 0 after the last input, 1 when there was no input at all (a moved
 * or emptied corpus must not pass as "nothing crashed") or a file could not
 * be read.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feed one file to the target, from an exact-size heap copy (as libFuzzer
 * hands it). Returns 0, or -1 if the file cannot be read. */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    uint8_t *buf = NULL;
    size_t len = 0;
    int ok = f && !fstat(fileno(f), &st);
    if (ok) {
        len = (size_t)st.st_size;
        buf = malloc(len ? len : 1);
        ok = buf && fread(buf, 1, len, f) == len;
    }
    if (f)
        fclose(f);
    if (!ok) {
        fprintf(stderr, "cannot read %s\n", path);
        free(buf);
        return -1;
    }
    printf("# %s (%zu bytes)\n", path, len);
    fflush(stdout); /* before the target runs: a crash must not lose the name */
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

/* Directory entries worth a look: not ".", "..", or hidden files. */
static int visible(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

int main(int argc, char **argv)
{
    unsigned inputs = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st)) {
            fprintf(stderr, "no such input: %s\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]))
                return 1;
            inputs++;
            continue;
        }
        struct dirent **names;
        int n = scandir(argv[i], &names, visible, alphasort);
        if (n < 0) {
            fprintf(stderr, "cannot list %s\n", argv[i]);
            return 1;
        }
        int rc = 0;
        for (int k = 0; k < n; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], names[k]->d_name);
            if (!rc && !stat(path, &st) && S_ISREG(st.st_mode)) {
                rc = run_file(path);
                inputs += rc == 0;
            }
            free(names[k]);
        }
        free(names);
        if (rc)
            return 1;
    }
    if (!inputs) {
        fprintf(stderr, "no input found\n");
        return 1;
    }
    printf("# %u inputs, no crash\n", inputs);
    return 0;
}
