/*
 * test_engine_calls.c — the publish path of a person's call onto the market
 * ring (nexus/engine_calls.c): after the ring overran, the control event
 * that is the first event past the drop keeps the NX_EVF_GAP flag the bus
 * set, so the engine thread counts and reports the gap (issue 16: the
 * publish path used to clear it).
 *
 * The engine is a zeroed nx_engine_t with a real 8-slot market ring; this
 * test is the ring's one producer, as the network thread would be.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine.h"
#include "nx/error.h"

#include <stdlib.h>

/* engine_calls.c's neighbours in the executable, not under test here. */
void engine_sleep_ns(int64_t ns)
{
    (void)ns;
}

int engine_web_link(nx_engine_t *e, int64_t user, int role, char *url, size_t cap)
{
    (void)e, (void)user, (void)role, (void)url, (void)cap;
    return NX_ENOENT;
}

uint64_t engine_follow_mask(nx_engine_t *e, const nx_config_session_t *x)
{
    (void)e, (void)x;
    return 0;
}

static void test_gap_flag_kept(void **state)
{
    (void)state;
    nx_engine_t *e = calloc(1, sizeof *e);
    assert_non_null(e);
    pthread_mutex_init(&e->call_mu, NULL);
    nx_clock_init_sim(&e->clock, 1000 * NX_NS_PER_SEC);
    assert_int_equal(nx_ring_create(&e->market, "market", 8, sizeof(nx_event_t), 1,
                                    NX_RING_NEVER_BLOCK, NX_WAIT_SPIN),
                     0);
    nx_ring_consumer_t *c = nx_ring_consumer(e->market, 0);
    uint64_t seq, s;
    /* fill the ring, then two more events are dropped */
    assert_int_equal(nx_bus_claim(e->market, 8, &seq), 8);
    nx_ring_publish(e->market, seq + 8);
    assert_int_equal(nx_bus_claim(e->market, 2, &s), 0);
    /* the engine drains it */
    assert_int_equal(nx_ring_poll(e->market, c, 8, &s), 8);
    nx_ring_release(c, s + 8);
    /* a call is queued; the network thread publishes it */
    e->calls[3].state = NX_CALL_QUEUED;
    e->calls[3].c.cmd = 7;
    atomic_store(&e->calls_queued, 1);
    engine_publish_calls(e);
    assert_int_equal(e->calls[3].state, NX_CALL_PUBLISHED);
    assert_int_equal(atomic_load(&e->calls_queued), 0);
    assert_int_equal(nx_ring_poll(e->market, c, 8, &s), 1);
    const nx_event_t *ev = nx_bus_event(e->market, s);
    assert_int_equal(ev->hdr.type, NX_EV_CONTROL);
    assert_int_equal(ev->u.control.call, 4);
    assert_int_equal(ev->hdr.flags, NX_EVF_GAP); /* the bus's flag, kept */
    assert_int_equal(ev->hdr.seq, 8 + 2);        /* slot 8, two dropped before it */
    nx_ring_release(c, s + 1);
    /* the next call has no gap before it */
    e->calls[0].state = NX_CALL_QUEUED;
    engine_publish_calls(e);
    assert_int_equal(nx_ring_poll(e->market, c, 8, &s), 1);
    assert_int_equal(nx_bus_event(e->market, s)->hdr.flags, 0);
    assert_int_equal(nx_bus_event(e->market, s)->hdr.seq, 9 + 2);
    nx_ring_destroy(e->market);
    pthread_mutex_destroy(&e->call_mu);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gap_flag_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
