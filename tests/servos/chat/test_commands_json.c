/*
 * test_commands_json.c — the bot's command list for setMyCommands
 * (nx_chat_commands_json_of, servos/chat/src/commands.c): descriptions with
 * quotes, backslashes, newlines, control characters and a text longer than
 * the old 8 KB buffer come back unchanged when parsed with jansson; the
 * real list parses too (issue 16: it was built with unbounded snprintf and
 * no escaping).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "nx/chat.h"
#include "nx/shield.h"

#include "chat_int.h" /* chat_reject_words */

static void test_escaped(void **state)
{
    (void)state;
    static char big[20001];
    memset(big, 'x', sizeof big - 1);
    const nx_chat_command_desc_t d[] = {
        {"quote", "say \"hi\" and leave"},
        {"slash", "C:\\path\\ and a trailing \\"},
        {"lines", "first\nsecond\r\n\ttabbed \x01 bell"},
        {"unicode", "caf\xc3\xa9 \xe2\x82\xac"},
        {"big", big},
    };
    size_t n = sizeof d / sizeof d[0];
    char *s = nx_chat_commands_json_of(d, n);
    assert_non_null(s);
    json_error_t err;
    json_t *a = json_loads(s, 0, &err);
    if (!a)
        fail_msg("not JSON: %s", err.text);
    assert_true(json_is_array(a));
    assert_int_equal(json_array_size(a), n);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(a, i);
        assert_int_equal(json_object_size(o), 2);
        assert_string_equal(json_string_value(json_object_get(o, "command")), d[i].command);
        assert_string_equal(json_string_value(json_object_get(o, "description")), d[i].description);
    }
    json_decref(a);
    free(s);
    /* not UTF-8: refused, not sent half-escaped */
    const nx_chat_command_desc_t bad[] = {{"bad", "\xff\xfe"}};
    assert_null(nx_chat_commands_json_of(bad, 1));
    s = nx_chat_commands_json_of(NULL, 0);
    assert_string_equal(s, "[]");
    free(s);
}

static void test_real_list(void **state)
{
    (void)state;
    const char *s = nx_chat_commands_json();
    assert_non_null(s);
    assert_ptr_equal(nx_chat_commands_json(), s); /* built once */
    json_t *a = json_loads(s, 0, NULL);
    assert_non_null(a);
    /* servos/chat/src/commands.c lists 38 commands */
    assert_int_equal(json_array_size(a), 38);
    json_t *first = json_array_get(a, 0);
    assert_string_equal(json_string_value(json_object_get(first, "command")), "start");
    assert_string_equal(json_string_value(json_object_get(first, "description")), "register");
    json_decref(a);
}

/* Every reason the shield can refuse with has words for people: the
 * fallback ("a limit applies") is for a code from a newer engine only. */
static void test_every_refusal_has_words(void **state)
{
    (void)state;
    for (int r = 1; r < NX_REJ_COUNT; r++)
        if (!strcmp(chat_reject_words(r), "a limit applies"))
            fail_msg("refusal %d (%s) has no words", r, nx_reject_name((nx_reject_t)r));
    assert_string_equal(chat_reject_words(NX_REJ_COUNT), "a limit applies");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaped),
        cmocka_unit_test(test_real_list),
        cmocka_unit_test(test_every_refusal_has_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
