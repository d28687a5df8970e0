/*
 * fuzz_venue — libFuzzer target for one venue parser (NX_FUZZ_VENUE picks
 * it at compile time: fuzz_binance, fuzz_bybit, fuzz_alpaca). Any byte
 * string must decode or be rejected cleanly: no crash, no read outside the
 * frame (the frame is copied to an exact-size heap buffer for ASan), and a
 * rejected frame publishes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nx/book.h"
#include "nx/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static nx_symtab_t symtab;
    static nx_ring_t *ring;
    static nx_decoder_t dec;
    static nx_bookset_t books;
    if (!ring) {
        nx_symtab_init(&symtab);
        nx_ring_create(&ring, "fuzz", 1 << 14, sizeof(nx_event_t), 1, NX_RING_NEVER_BLOCK,
                       NX_WAIT_SPIN);
        nx_decoder_init(&dec, NX_FUZZ_VENUE, &symtab, ring);
        dec.auto_intern = 1;
        nx_bookset_init(&books, NX_FUZZ_VENUE, 64, 256);
    }
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    uint64_t before = nx_ring_next(ring), first;
    int n = nx_decode_frame(&dec, buf, size, &first);
    if (n < 0 && nx_ring_next(ring) != before)
        abort(); /* a rejected frame must not leave claimed slots */
    if (n > 0)
        nx_bookset_apply(&books, &dec, first, (uint32_t)n);
    nx_ring_consumer_t *c = nx_ring_consumer(ring, 0);
    nx_ring_release(c, nx_ring_next(ring));
    c->polled = nx_ring_next(ring);
    free(buf);
    return 0;
}
