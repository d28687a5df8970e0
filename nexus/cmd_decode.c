/*
 * cmd_decode.c — `nexus decode --venue V FILE`: raw venue frames (one per
 * line) to normalised events as JSON lines, through the same decoder and
 * book code the live feeds use. The last line on stderr is one JSON object
 * of counts.
 */
#include "cli.h"

#include "nx/book.h"
#include "nx/decode.h"
#include "nx/error.h"
#include "nx/event_json.h"
#include "nx/ring.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out,
            "usage: nexus decode --venue VENUE [--quiet] [--depth N] FILE\n\n"
            "Decode raw frames (one per line; Binance combined-stream envelopes accepted) and\n"
            "print the normalised events as JSON lines, prices as exact decimal strings, keeping\n"
            "order books as the live path does. The last line on stderr is a JSON summary:\n"
            "{\"frames\":..,\"events\":..,\"by_type\":{..},\"errors\":..,\"book_gaps\":..,"
            "\"book_resyncs\":..}\n\n"
            "  --venue   binance-usdm | binance-spot | bybit-linear | bybit-spot | alpaca\n"
            "  --quiet   print only the summary\n"
            "  --depth   book levels kept per side (default 1000)\n"
            "  FILE      path, or - for standard input\n");
}

int nx_cmd_decode(int argc, char **argv)
{
    static const struct option opts[] = {{"venue", required_argument, 0, 'v'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"depth", required_argument, 0, 'd'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *venue_name = NULL;
    int quiet = 0, c;
    long depth = 1000;
    optind = 1;
    while ((c = getopt_long(argc, argv, "v:qd:h", opts, NULL)) != -1) {
        switch (c) {
        case 'v':
            venue_name = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'd':
            depth = strtol(optarg, NULL, 10);
            break;
        case 'h':
            help(stdout);
            return NX_EXIT_OK;
        default:
            help(stderr);
            return NX_EXIT_USAGE;
        }
    }
    if (!venue_name || optind != argc - 1 || depth <= 0 || depth > 100000) {
        help(stderr);
        return NX_EXIT_USAGE;
    }
    nx_venue_t venue = nx_venue_parse(venue_name, strlen(venue_name));
    if (venue == NX_VENUE_NONE || venue == NX_VENUE_PAPER) {
        fprintf(stderr, "nexus decode: unknown venue '%s' (one of %s)\n", venue_name,
                "binance-usdm|binance-spot|bybit-linear|bybit-spot|alpaca");
        return NX_EXIT_USAGE;
    }
    const char *path = argv[optind];
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!in) {
        fprintf(stderr, "nexus decode: cannot open %s: %m\n", path);
        return NX_EXIT_CONFIG;
    }

    static nx_symtab_t symtab;
    nx_symtab_init(&symtab);
    nx_ring_t *ring;
    nx_decoder_t dec;
    static nx_bookset_t books;
    if (nx_ring_create(&ring, "decode", 1 << 16, sizeof(nx_event_t), 1, NX_RING_NEVER_BLOCK,
                       NX_WAIT_SPIN) ||
        nx_decoder_init(&dec, venue, &symtab, ring)) {
        fprintf(stderr, "nexus decode: out of memory\n");
        return NX_EXIT_FAIL;
    }
    dec.auto_intern = 1;
    nx_bookset_init(&books, venue, (uint32_t)depth, 1 << 16);
    /* A capture has no REST snapshot: Binance books start from the first
     * diff and the update-id chain is checked from there. */
    books.assume_empty = venue == NX_VENUE_BINANCE_USDM || venue == NX_VENUE_BINANCE_SPOT;
    nx_ring_consumer_t *cons = nx_ring_consumer(ring, 0);

    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t lineno = 0, shown_errors = 0;
    char json[1024];
    while ((len = getline(&line, &cap, in)) > 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        uint64_t first;
        int n = nx_decode_frame(&dec, line, (size_t)len, &first);
        if (n < 0) {
            if (shown_errors++ < 20)
                fprintf(stderr, "nexus decode: line %llu: %s\n", (unsigned long long)lineno,
                        dec.last_error);
            continue;
        }
        nx_bookset_apply(&books, &dec, first, (uint32_t)n);
        uint64_t seq;
        uint32_t k;
        while ((k = nx_ring_poll(ring, cons, 4096, &seq)) > 0) {
            for (uint32_t i = 0; i < k && !quiet; i++) {
                if (nx_event_json(nx_bus_event(ring, seq + i), &symtab, json, sizeof json))
                    puts(json);
            }
            nx_ring_release(cons, seq + k);
        }
    }
    free(line);
    if (in != stdin)
        fclose(in);
    fflush(stdout);

    const nx_decoder_stats_t *st = &dec.st;
    fprintf(
        stderr,
        "{\"frames\":%llu,\"events\":%llu,\"by_type\":{\"trade\":%llu,\"bbo\":%llu,\"kline\":%llu,"
        "\"book\":%llu,\"mark\":%llu,\"status\":%llu},\"errors\":%llu,\"control\":%llu,"
        "\"ignored\":%llu,\"dropped\":%llu,\"book_gaps\":%llu,\"book_resyncs\":%llu,"
        "\"book_crossed\":%llu}\n",
        (unsigned long long)st->frames, (unsigned long long)st->events,
        (unsigned long long)st->by_type[NX_EV_TRADE], (unsigned long long)st->by_type[NX_EV_BBO],
        (unsigned long long)st->by_type[NX_EV_KLINE], (unsigned long long)st->by_type[NX_EV_BOOK],
        (unsigned long long)st->by_type[NX_EV_MARK], (unsigned long long)st->by_type[NX_EV_STATUS],
        (unsigned long long)st->errors, (unsigned long long)st->control,
        (unsigned long long)st->ignored, (unsigned long long)st->dropped,
        (unsigned long long)books.gaps, (unsigned long long)books.resyncs,
        (unsigned long long)books.crossed);
    nx_bookset_free(&books);
    nx_decoder_fini(&dec);
    nx_ring_destroy(ring);
    return NX_EXIT_OK;
}
