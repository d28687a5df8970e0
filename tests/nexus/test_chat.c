/*
 * test_chat.c — `nexus run` driven from Telegram, end to end: the real
 * binary on the bundled BTCUSDT candles (replayed in-process), its bot
 * talking to the fake Bot API server (tests/servos/tg_fake.h) on
 * 127.0.0.1, with scripted people:
 *
 *  - the owner (from the config) approves alice after her /start;
 *  - an unregistered user, a pending user and a subscriber calling an admin
 *    command are refused; a malformed update and a 429 are survived;
 *  - alice (COPILOT) gets an approval request with Approve / Reject buttons,
 *    approves it, the order fills on the paper venue, /positions shows it,
 *    /forceexit closes it, /profit reports that trade's P&L;
 *  - bob never sees alice's position; a request that expired is refused;
 *  - a strategy plugin whose file is replaced by a broken build is not
 *    swapped in, and the owner is told.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tg_fake.h"

#define OWNER 1000
#define ALICE 2001
#define BOB   2002
#define CAROL 3001

static const char *nexus_bin;

static const char *src_dir(void)
{
    const char *s = getenv("NX_SOURCE_DIR");
    return s ? s : NX_SOURCE_DIR_DEFAULT;
}

/* The text of request i. */
static const char *text_of(tgf_t *f, int i)
{
    return json_string_value(json_object_get(f->req[i].body, "text"));
}

/* Wait for a reply to chat containing needle, after request *at. */
static int expect(tgf_t *f, int *at, int64_t chat, const char *needle)
{
    int k = tgf_wait_request(f, at, "sendMessage", chat, needle, 30000);
    if (k < 0) {
        for (int i = 0; i < f->nreq; i++)
            if (json_integer_value(json_object_get(f->req[i].body, "chat_id")) == chat)
                printf("# to %lld: %s: %s\n", (long long)chat, f->req[i].method, text_of(f, i));
    }
    if (k < 0)
        fail_msg("no message to chat %lld containing \"%s\"", (long long)chat, needle);
    return k;
}

static void test_telegram_session(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    tgf_t *f = tgf_start();
    assert_non_null(f);
    char dir[] = "/tmp/nx_chat_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg_path[256], log_path[256], cmd[1024];
    snprintf(cfg_path, sizeof cfg_path, "%s/nexus.json", dir);
    /* the plugins run from a folder of their own: the test breaks one later */
    snprintf(cmd, sizeof cmd, "mkdir %s/plugins && cp %s/scalping.so %s/sentinel.so %s/plugins/", dir,
             NX_PLUGIN_DIR, NX_PLUGIN_DIR, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(log_path, sizeof log_path, "%s/nexus.log", dir);
    FILE *c = fopen(cfg_path, "w");
    fprintf(c,
            "{\"engine\":{\"stats_interval_s\":0},\"log\":{\"file\":\"%s\"},\"data_dir\":\"%s\","
            "\"symbols\":[{\"venue\":\"binance-usdm\",\"symbol\":\"BTCUSDT\",\"tick_size\":\"0.01\","
            "\"lot_size\":\"0.00001\"}],"
            "\"feeds\":[{\"venue\":\"binance-usdm\",\"ws_url\":\"wss://fstream.binance.com\","
            "\"rest_url\":\"https://fapi.binance.com\",\"streams\":[\"trades\",\"klines\"],"
            "\"kline_interval\":\"15m\",\"stale_s\":0,\"replay_speed\":5000,"
            "\"replay\":\"%s/tests/data/candles/binance_spot_BTCUSDT_15m_20210112_20210605.csv\"}],"
            "\"cortex\":{\"timeframes\":[\"15m\",\"1h\"],\"plugin_dir\":\"%s/%s\",\"allow_unsigned\":true,"
            "\"strategies\":[{\"plugin\":\"scalping\",\"timeframes\":[\"15m\"],\"params\":{\"sl_atr\":20,\"tp_atr\":30}}]},"
            "\"trading\":{\"sessions\":[{\"name\":\"boss\",\"mode\":\"pilot\"},"
            "{\"name\":\"alice\",\"mode\":\"copilot\",\"approval_ttl_s\":86400,\"approval_drift_bp\":10000,\"cooldown_s\":0},"
            "{\"name\":\"bob\",\"mode\":\"watcher\"}]},"
            "\"storage\":{\"owner_chat_id\":%d,\"owner_name\":\"boss\"},"
            "\"chat\":{\"api_url\":\"http://127.0.0.1:%d\",\"poll_timeout_s\":1,\"chat_per_s\":10,"
            "\"global_per_s\":100}}",
            log_path, dir, src_dir(), dir, "plugins", OWNER, f->port);
    fclose(c);

    /* a malformed update and a 429 come first */
    int64_t bad = tgf_next_id(f);
    char raw[128];
    snprintf(raw, sizeof raw, "{\"update_id\":%lld,\"message\":{\"chat\":[]}}", (long long)bad);
    tgf_push_raw(f, bad, raw);
    tgf_fail_next(f, "sendMessage", 429,
                  "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry "
                  "after 1\",\"parameters\":{\"retry_after\":1}}");

    pid_t pid = fork();
    if (pid == 0) {
        setenv("NEXUS_TELEGRAM_TOKEN", "4242:FAKE-token", 1);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl(nexus_bin, nexus_bin, "run", "--config", cfg_path, (char *)NULL);
        _exit(127);
    }
    int at = 0;
    assert_true(tgf_wait_request(f, &at, "setMyCommands", 0, NULL, 20000) >= 0);

    /* strangers and the not-yet-approved are refused */
    tgf_push_text(f, CAROL, "carol", CAROL, "/status");
    at = 0;
    int k429 = tgf_wait_request(f, &at, "sendMessage", CAROL, NULL, 20000);
    assert_true(k429 >= 0);
    assert_int_equal(f->req[k429].status, 429);
    int k = expect(f, &at, CAROL, "do not know you");
    assert_true(f->req[k].at_ns - f->req[k429].at_ns >= 1000000000LL); /* retry_after honoured */

    tgf_push_text(f, ALICE, "alice", ALICE, "/start");
    at = 0;
    expect(f, &at, ALICE, "waiting for an admin");
    at = 0;
    expect(f, &at, OWNER, "/approve alice");
    tgf_push_text(f, ALICE, "alice", ALICE, "/positions");
    expect(f, &at, ALICE, "still waiting");
    tgf_push_text(f, OWNER, "boss", OWNER, "/approve alice");
    at = 0;
    expect(f, &at, ALICE, "You are approved");
    tgf_push_text(f, ALICE, "alice", ALICE, "/users");
    expect(f, &at, ALICE, "not available to you");
    /* bob registers too and is approved */
    tgf_push_text(f, BOB, "bob", BOB, "/start");
    tgf_push_text(f, OWNER, "boss", OWNER, "/approve bob");
    int ab = 0;
    expect(f, &ab, BOB, "You are approved");

    /* alice's first approval request: approve it */
    at = 0;
    int kr = expect(f, &at, ALICE, "Approve <b>");
    json_t *btn = json_array_get(json_array_get(json_object_get(json_object_get(f->req[kr].body,
                                                                                "reply_markup"),
                                                                "inline_keyboard"),
                                                0),
                                 0);
    const char *data = json_string_value(json_object_get(btn, "callback_data"));
    assert_non_null(data);
    assert_int_equal(strncmp(data, "ap:", 3), 0);
    char approve[32];
    snprintf(approve, sizeof approve, "%s", data);
    int64_t msg = f->req[kr].result_id;
    assert_true(msg > 0);
    tgf_push_button(f, ALICE, "alice", ALICE, msg, approve);
    int ac = 0;
    assert_true(tgf_wait_request(f, &ac, "answerCallbackQuery", 0, NULL, 20000) >= 0);
    int af = at; /* the fill and the answer may come in either order */
    expect(f, &at, ALICE, "Approved");
    int kf = expect(f, &af, ALICE, "Filled:");
    printf("# %s\n", text_of(f, kf));
    int ke = 0;
    assert_true(tgf_wait_request(f, &ke, "editMessageText", ALICE, "Approved", 20000) >= 0);

    /* stop new requests from piling up while she looks */
    at = kf + 1;
    tgf_push_text(f, ALICE, "alice", ALICE, "/pause");
    expect(f, &at, ALICE, "Paused");
    tgf_push_text(f, ALICE, "alice", ALICE, "/positions");
    int kp = expect(f, &at, ALICE, "BTCUSDT");
    printf("# %s\n", text_of(f, kp));
    assert_non_null(strstr(text_of(f, kp), "stop"));
    /* bob sees none of it */
    tgf_push_text(f, BOB, "bob", BOB, "/positions");
    int kb = expect(f, &ab, BOB, "No open positions");
    (void)kb;
    tgf_push_text(f, BOB, "bob", BOB, "/trades");
    expect(f, &ab, BOB, "No closed trades");

    tgf_push_text(f, ALICE, "alice", ALICE, "/forceexit all");
    int ax = at; /* the close and the answer may come in either order */
    expect(f, &at, ALICE, "Closing 1 position");
    int kc = expect(f, &ax, ALICE, "Closed ");
    at = at > ax ? at : ax;
    const char *closed = text_of(f, kc);
    printf("# %s\n", closed);
    assert_non_null(strstr(closed, "(manual)"));
    const char *p = strstr(closed, "P&amp;L <b>");
    assert_non_null(p);
    char pnl[32];
    sscanf(p + 11, "%31[^<]", pnl);
    tgf_push_text(f, ALICE, "alice", ALICE, "/profit");
    int kq = expect(f, &at, ALICE, "Profit");
    printf("# %s\n", text_of(f, kq));
    char want[128];
    snprintf(want, sizeof want, "<b>Profit</b> %s over 1 closed trades", pnl);
    assert_non_null(strstr(text_of(f, kq), want));

    /* a request that expired is refused */
    tgf_push_text(f, ALICE, "alice", ALICE, "/config set approval_ttl_s 1");
    expect(f, &at, ALICE, "approval_ttl_s is now 1");
    tgf_push_text(f, ALICE, "alice", ALICE, "/resume");
    expect(f, &at, ALICE, "Resumed");
    int k2 = expect(f, &at, ALICE, "Approve <b>");
    btn = json_array_get(json_array_get(json_object_get(json_object_get(f->req[k2].body,
                                                                        "reply_markup"),
                                                        "inline_keyboard"),
                                        0),
                         0);
    snprintf(approve, sizeof approve, "%s", json_string_value(json_object_get(btn, "callback_data")));
    int kx = 0;
    assert_true(tgf_wait_request(f, &kx, "editMessageText", ALICE, "Expired", 30000) >= 0);
    tgf_push_button(f, ALICE, "alice", ALICE, f->req[k2].result_id, approve);
    expect(f, &at, ALICE, "expired");

    /* a broken build of a running plugin: not swapped in, the owner is told */
    snprintf(cmd, sizeof cmd, "echo 'not a shared object' > %s/plugins/scalping.so.new && "
                              "mv %s/plugins/scalping.so.new %s/plugins/scalping.so", dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    int ko = 0;
    int kpl = expect(f, &ko, OWNER, "failed to reload");
    printf("# %s\n", text_of(f, kpl));
    assert_non_null(strstr(text_of(f, kpl), "scalping"));

    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* the token never reached the log */
    FILE *lf = fopen(log_path, "r");
    assert_non_null(lf);
    char line[4096];
    while (fgets(line, sizeof line, lf))
        assert_null(strstr(line, "FAKE-token"));
    fclose(lf);
    tgf_stop(f);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv)
{
    nexus_bin = argc > 1 ? argv[1] : "nexus";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_telegram_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
