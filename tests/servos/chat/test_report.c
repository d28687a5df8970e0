/*
 * test_report.c — the scheduled daily report (servos/chat/src/report.c)
 * read from saved states in a real SQLite store: an owner sees every
 * session, a subscriber only their own, and a state no reader understands
 * is named for the owner instead of silently left out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nx/chat.h"
#include "nx/error.h"
#include "nx/store.h"

static nx_symtab_t T;

static void put_state(nx_store_t *st, uint64_t seq, uint32_t session, const char *text)
{
    size_t len = strlen(text);
    assert_true(len <= NX_STATE_PART * 8);
    nx_event_t ev[8];
    nx_journal_entry_t je[8];
    int parts = (int)((len + NX_STATE_PART - 1) / NX_STATE_PART);
    for (int i = 0; i < parts; i++) {
        memset(&ev[i], 0, sizeof ev[i]);
        ev[i].hdr.type = NX_EV_STATE;
        ev[i].hdr.symbol = NX_SYMBOL_NONE;
        size_t at = (size_t)i * NX_STATE_PART,
               n = len - at < NX_STATE_PART ? len - at : NX_STATE_PART;
        ev[i].u.state = (nx_ev_state_t){session, (uint16_t)i, (uint16_t)parts, (uint8_t)n, {0}};
        memcpy(ev[i].u.state.data, text + at, n);
        je[i] = (nx_journal_entry_t){seq + (uint64_t)i, &ev[i]};
    }
    if (nx_store_journal_batch(st, &T, je, parts))
        fail_msg("%s", nx_store_error(st));
}

static void test_daily_report(void **state)
{
    (void)state;
    char dir[] = "/tmp/nx_report_XXXXXX";
    assert_non_null(mkdtemp(dir));
    nx_store_t *st;
    char err[256];
    int applied;
    assert_int_equal(nx_store_open(&st, NULL, dir, err, sizeof err), 0);
    assert_int_equal(nx_store_migrate(st, 0, &applied), 0);
    int64_t owner, sub;
    assert_int_equal(nx_store_user_add(st, 100, "olga", NX_ROLE_OWNER, "UTC", &owner), 0);
    assert_int_equal(nx_store_user_add(st, 200, "alice", NX_ROLE_SUBSCRIBER, "UTC", &sub), 0);
    put_state(st, 1, 1,
              "{\"v\":1,\"name\":\"olga\",\"account\":{\"balance_dec\":\"10250.5\",\"trades\":12,"
              "\"wins\":7},\"positions\":[{\"name\":\"BTCUSDT\"}]}");
    put_state(st, 10, 2,
              "{\"v\":1,\"name\":\"alice\",\"account\":{\"balance_dec\":\"4990\",\"trades\":3,"
              "\"wins\":1},\"positions\":[]}");
    put_state(st, 20, 3, "{\"v\":2,\"name\":\"bob\"}"); /* a format no reader knows */
    put_state(st, 30, 0, "{\"v\":1,\"global_kill\":0,\"atr\":[]}");
    char result[256];
    assert_int_equal(nx_chat_report(NULL, st, 1, owner, "daily_report", result, sizeof result), 0);
    assert_string_equal(result, "olga: balance 10250.5, 12 trades (7 won), 1 open; "
                                "alice: balance 4990, 3 trades (1 won), 0 open; "
                                "session 3: saved state unreadable");
    assert_int_equal(nx_chat_report(NULL, st, 2, sub, "daily_report", result, sizeof result), 0);
    assert_string_equal(result, "alice: balance 4990, 3 trades (1 won), 0 open");
    assert_int_equal(nx_chat_report(NULL, st, 3, sub, "reboot", result, sizeof result), NX_EINVAL);
    assert_string_equal(result, "unknown action \"reboot\"");
    int64_t audited;
    assert_int_equal(
        nx_store_scalar(st, "SELECT COUNT(*) FROM audit WHERE action = 'daily_report'", &audited),
        0);
    assert_int_equal(audited, 2);
    nx_store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    nx_symtab_init(&T);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daily_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
