/*
 * fuzz_evfile — libFuzzer target for the event-file reader (nx/evfile.h):
 * any bytes are either refused with a reason or read to their end, every
 * event inside its record, never a crash or a read out of bounds.
 *
 * The reader maps a file, so each input is written to a memory file and
 * opened by its /proc/self/fd path.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nx/evfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    static nx_symtab_t t;
    if (fd < 0) {
        fd = memfd_create("nx-fuzz-evfile", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        nx_symtab_init(&t);
        nx_symtab_add(&t, NX_VENUE_BINANCE_USDM, "BTCUSDT", 2, 3, 1, 1, 0, NULL);
        nx_symtab_add(&t, NX_VENUE_BYBIT_LINEAR, "ETHUSDT", 2, 2, 1, 1, 0, NULL);
    }
    if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
        abort();
    nx_evr_t *r;
    char why[256];
    if (nx_evr_open(&r, path, &t, why, sizeof why) == 0) {
        nx_event_t ev;
        uint64_t n = 0;
        int64_t last = 0;
        while (nx_evr_peek_ns(r) != INT64_MAX) {
            int64_t at = nx_evr_peek_ns(r);
            if (at < last) /* the reader's clock never goes back */
                abort();
            last = at;
            if (!nx_evr_next(r, &ev) || ev.hdr.symbol >= nx_symtab_count(&t))
                abort();
            n++;
        }
        if (n + nx_evr_unknown(r) != nx_evr_count(r))
            abort();
        nx_evr_close(r);
    }
    return 0;
}
