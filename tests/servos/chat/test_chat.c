/*
 * test_chat.c — `nexus run` driven from Telegram, end to end: the real
 * binary on the bundled BTCUSDT candles (replayed in-process), its bot
 * talking to the fake Bot API server (tests/servos/chat/tg_fake.h) on
 * 127.0.0.1, with scripted people:
 *
 *  - the owner (a user seeded by the config, with his session) approves
 *    alice after her /start, by her user id; she makes her own COPILOT
 *    session from chat, bob a WATCHER one;
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
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "tg_fake.h"
#include "../../http_client.h"
#include "../../effectors/wire.h"

#define OWNER  1000
#define ALICE  2001
#define BOB    2002
#define CAROL  3001
#define ALICE2 2003 /* another person who calls herself alice */
#define DAVE   3002

static const char *nexus_bin;
static pid_t child; /* the nexus under test: killed whatever the outcome */

static int kill_child(void **state)
{
    (void)state;
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    child = 0;
    return 0;
}

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

/* Wait for a reply to chat containing needle, after request *at, up to ms. */
static int expect_within(tgf_t *f, int *at, int64_t chat, const char *needle, int ms)
{
    int k = tgf_wait_request(f, at, "sendMessage", chat, needle, ms);
    if (k < 0) {
        for (int i = 0; i < f->nreq; i++)
            if (json_integer_value(json_object_get(f->req[i].body, "chat_id")) == chat)
                printf("# to %lld: %s: %s\n", (long long)chat, f->req[i].method, text_of(f, i));
    }
    if (k < 0)
        fail_msg("no message to chat %lld containing \"%s\"", (long long)chat, needle);
    return k;
}

static int expect(tgf_t *f, int *at, int64_t chat, const char *needle)
{
    return expect_within(f, at, chat, needle, 30000);
}

/* dir/nexus.json: the bundled candles replayed as Binance USD-M at `speed`
 * (feed_extra: more feed keys), the log in dir/nexus.log, data in dir, and
 * the rest of the config after it (",\"cortex\":...}" with the closing brace);
 * symbols_before (objects, each followed by a comma) listed ahead of BTCUSDT. */
static void replay_config_with(const char *dir, const char *symbols_before, int speed,
                               const char *feed_extra, const char *rest, char *cfg_path, size_t cap)
{
    snprintf(cfg_path, cap, "%s/nexus.json", dir);
    FILE *c = fopen(cfg_path, "w");
    assert_non_null(c);
    fprintf(c,
            "{\"engine\":{\"stats_interval_s\":0},\"log\":{\"file\":\"%s/nexus.log\"},"
            "\"data_dir\":\"%s\",\"symbols\":[%s{\"venue\":\"binance-usdm\",\"symbol\":"
            "\"BTCUSDT\",\"tick_size\":\"0.01\",\"lot_size\":\"0.00001\"}],"
            "\"feeds\":[{\"venue\":\"binance-usdm\",\"ws_url\":\"wss://fstream.binance.com\","
            "\"rest_url\":\"https://fapi.binance.com\",\"streams\":[\"trades\",\"klines\"],"
            "\"kline_interval\":\"15m\",\"stale_s\":0,\"replay_speed\":%d%s,"
            "\"replay\":\"%s/tests/data/candles/binance_spot_BTCUSDT_15m_20210112_20210605.csv\"}]"
            "%s",
            dir, dir, symbols_before, speed, feed_extra, src_dir(), rest);
    fclose(c);
}

static void replay_config(const char *dir, int speed, const char *feed_extra, const char *rest,
                          char *cfg_path, size_t cap)
{
    replay_config_with(dir, "", speed, feed_extra, rest, cfg_path, cap);
}

/* nexus run --console on cfg, its standard output into out_path; returns
 * the fd its standard input reads from (child = its pid). */
static int spawn_console(const char *cfg_path, const char *out_path)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    child = fork();
    if (child == 0) {
        dup2(fds[0], 0);
        close(fds[1]);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(out, 1);
        unsetenv("NEXUS_TELEGRAM_TOKEN");
        unsetenv("NEXUS_MASTER_KEY");
        execl(nexus_bin, nexus_bin, "run", "--config", cfg_path, "--console", (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    return fds[1];
}

/* The scenario below, against a Bot API server that holds long polls as
 * Telegram does (hold = 1) or answers every getUpdates at once (0). */
static void telegram_session(int hold)
{
    signal(SIGPIPE, SIG_IGN);
    tgf_t *f = tgf_start();
    assert_non_null(f);
    f->hold_polls = hold;
    char dir[] = "/tmp/nx_chat_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg_path[256], log_path[256], cmd[1024], rest[1024];
    /* the plugins run from a folder of their own: the test breaks one later */
    snprintf(cmd, sizeof cmd, "mkdir %s/plugins && cp %s/scalping.so %s/sentinel.so %s/plugins/",
             dir, NX_PLUGIN_DIR, NX_PLUGIN_DIR, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(log_path, sizeof log_path, "%s/nexus.log", dir);
    snprintf(rest, sizeof rest,
             ",\"cortex\":{\"timeframes\":[\"15m\",\"1h\"],\"plugin_dir\":\"%s/plugins\","
             "\"allow_unsigned\":true,\"strategies\":[{\"plugin\":\"scalping\",\"timeframes\":"
             "[\"15m\"],\"params\":{\"sl_atr\":20,\"tp_atr\":30}}]},"
             "\"users\":[{\"id\":1,\"chat_id\":%d,\"name\":\"boss\",\"role\":\"owner\"}],"
             "\"trading\":{\"max_open_orders\":1,\"sessions\":[{\"name\":\"boss\",\"user\":1,"
             "\"mode\":\"pilot\"}]},"
             "\"storage\":{\"owner_chat_id\":%d,\"owner_name\":\"boss\"},"
             "\"chat\":{\"api_url\":\"http://127.0.0.1:%d\",\"poll_timeout_s\":1,\"chat_per_s\":10,"
             "\"global_per_s\":100}}",
             dir, OWNER, OWNER, f->port);
    replay_config(dir, 5000, "", rest, cfg_path, sizeof cfg_path);

    /* a malformed update and a 429 come first */
    int64_t bad = tgf_next_id(f);
    char raw[128];
    snprintf(raw, sizeof raw, "{\"update_id\":%lld,\"message\":{\"chat\":[]}}", (long long)bad);
    tgf_push_raw(f, bad, raw);
    for (int i = 0; i < 3; i++) /* the optional call keeps failing: nobody waits for it */
        tgf_fail_next(f, "setMyCommands", 500,
                      "{\"ok\":false,\"error_code\":500,\"description\":\"Internal Server "
                      "Error\"}");
    tgf_fail_next(f, "sendMessage", 429,
                  "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry "
                  "after 1\",\"parameters\":{\"retry_after\":1}}");

    pid_t pid = fork();
    if (pid == 0) {
        setenv("NEXUS_TELEGRAM_TOKEN", "4242:FAKE-token", 1);
        setenv("NEXUS_MASTER_KEY", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=", 1);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl(nexus_bin, nexus_bin, "run", "--config", cfg_path, (char *)NULL);
        _exit(127);
    }
    child = pid;
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

    /* a name is the person's to choose: it is never markup */
    tgf_push_text(f, DAVE, "<b>dave</b> & co", DAVE, "/start");
    int kd0 = 0;
    expect(f, &kd0, DAVE, "Hello &lt;b&gt;dave&lt;/b&gt; &amp; co! Your request");
    tgf_push_text(f, ALICE, "alice", ALICE, "/start");
    at = 0;
    expect(f, &at, ALICE, "waiting for an admin");
    at = 0;
    int kn = expect(f, &at, OWNER, "New user <b>alice</b>");
    long long alice_id = atoll(strstr(text_of(f, kn), "/approve ") + 9);
    assert_true(alice_id > 1);
    tgf_push_text(f, ALICE, "alice", ALICE, "/positions");
    expect(f, &at, ALICE, "still waiting");
    /* people are named by id: a name is a label, and may be shared */
    tgf_push_text(f, OWNER, "boss", OWNER, "/approve alice");
    int ka = 0;
    expect(f, &ka, OWNER, "give their id");
    char cmd_approve[64];
    snprintf(cmd_approve, sizeof cmd_approve, "/approve %lld", alice_id);
    tgf_push_text(f, OWNER, "boss", OWNER, cmd_approve);
    at = 0;
    expect(f, &at, ALICE, "You are approved");
    tgf_push_text(f, ALICE, "alice", ALICE, "/users");
    expect(f, &at, ALICE, "not available to you");
    /* approved, she has no session until she makes one */
    tgf_push_text(f, ALICE, "alice", ALICE, "/status");
    expect(f, &at, ALICE, "/session new makes one");
    tgf_push_text(f, ALICE, "alice", ALICE, "/session new mode=copilot leverage=9");
    expect(f, &at, ALICE, "leverage above 5x is not available to you");
    tgf_push_text(f, ALICE, "alice", ALICE,
                  "/session new mode=copilot approval_ttl_s=86400 approval_drift_bp=10000 "
                  "cooldown_s=0");
    expect(f, &at, ALICE, "made on binance-usdm");
    tgf_push_text(f, ALICE, "alice", ALICE, "/session new mode=pilot");
    expect(f, &at, ALICE, "as many as your role allows");
    /* bob registers too, is approved and makes a WATCHER session */
    tgf_push_text(f, BOB, "bob", BOB, "/start");
    int kb0 = 0;
    int knb = expect(f, &kb0, OWNER, "New user <b>bob</b>");
    snprintf(cmd_approve, sizeof cmd_approve, "/approve %lld",
             atoll(strstr(text_of(f, knb), "/approve ") + 9));
    tgf_push_text(f, OWNER, "boss", OWNER, cmd_approve);
    int ab = 0;
    expect(f, &ab, BOB, "You are approved");
    tgf_push_text(f, BOB, "bob", BOB, "/session new mode=watcher");
    expect(f, &ab, BOB, "made on binance-usdm");
    /* another person named alice: approved, with a session of her own; she
     * will reach nothing of the first alice's (below: not her button) */
    tgf_push_text(f, ALICE2, "alice", ALICE2, "/start");
    int k2a = kn + 1; /* after the first alice's */
    int kn2 = expect(f, &k2a, OWNER, "New user <b>alice</b>");
    long long alice2_id = atoll(strstr(text_of(f, kn2), "/approve ") + 9);
    assert_true(alice2_id != alice_id);
    snprintf(cmd_approve, sizeof cmd_approve, "/approve %lld", alice2_id);
    tgf_push_text(f, OWNER, "boss", OWNER, cmd_approve);
    int a2 = 0;
    expect(f, &a2, ALICE2, "You are approved");
    tgf_push_text(f, ALICE2, "alice", ALICE2, "/session new mode=copilot");
    expect(f, &a2, ALICE2, "made on binance-usdm");

    /* bob (WATCHER) is told every signal; the owner (PILOT) only those on a
     * pair he watches, with what his session made of each */
    int ks = expect(f, &ab, BOB, "Signal: <b>");
    printf("# %s\n", text_of(f, ks));
    /* the owner's session decided that signal too: once bob has his next
     * one, anything the owner was told of the first would be out */
    int kb2 = ab;
    expect(f, &kb2, BOB, "Signal: <b>");
    int ow = 0;
    assert_true(tgf_wait_request(f, &ow, "sendMessage", OWNER, "Signal: ", 0) < 0);
    tgf_push_text(f, OWNER, "boss", OWNER, "/watch add BTCUSDT");
    expect(f, &ow, OWNER, "Watching: BTCUSDT");
    int kw = expect(f, &ow, OWNER, "Signal: <b>");
    printf("# %s\n", text_of(f, kw));
    const char *said = strstr(text_of(f, kw), "(not taken: ");
    if (said) /* why, in words: no reason code (has_position, kill_switch) */
        assert_null(strchr(said, '_'));
    else
        assert_non_null(strstr(text_of(f, kw), "(taken: "));
    tgf_push_text(f, OWNER, "boss", OWNER, "/watch remove BTCUSDT");
    expect(f, &ow, OWNER, "Watching: nothing");

    /* alice's first approval request: approve it */
    at = 0;
    at = tgf_nreq(f); /* a fresh one: a newer signal replaces an older request */
    int kr = expect(f, &at, ALICE, "Approve <b>");
    json_t *btn = json_array_get(
        json_array_get(
            json_object_get(json_object_get(f->req[kr].body, "reply_markup"), "inline_keyboard"),
            0),
        0);
    const char *data = json_string_value(json_object_get(btn, "callback_data"));
    assert_non_null(data);
    assert_int_equal(strncmp(data, "ap:", 3), 0);
    char approve[32];
    snprintf(approve, sizeof approve, "%s", data);
    int64_t msg = f->req[kr].result_id;
    assert_true(msg > 0);
    tgf_push_button(f, ALICE2, "alice", ALICE2, msg, approve);
    expect(f, &a2, ALICE2, "no longer open");
    tgf_push_button(f, ALICE, "alice", ALICE, msg, approve);
    int ac = 0;
    assert_true(tgf_wait_request(f, &ac, "answerCallbackQuery", 0, NULL, 20000) >= 0);
    /* the answer first, then what it caused */
    int ka2 = expect(f, &at, ALICE, "Approved");
    int af = ka2 + 1;
    int kf = expect(f, &af, ALICE, "Filled:");
    /* the other alice's press had changed nothing: the first edit of this
     * message is the approval's */
    int ed = 0, ke1 = -1;
    while (ke1 < 0) {
        int ke = tgf_wait_request(f, &ed, "editMessageText", ALICE, NULL, 20000);
        assert_true(ke >= 0);
        if (json_integer_value(json_object_get(f->req[ke].body, "message_id")) == msg)
            ke1 = ke;
    }
    assert_non_null(strstr(text_of(f, ke1), "Approved"));
    printf("# %s\n", text_of(f, kf));
    /* one resting order per symbol at this venue: the stop rests, the
     * target is refused, and she is told why */
    int kj = kf;
    kj = expect(f, &kj, ALICE, "rejected by the venue: open-order limit on the symbol reached");
    printf("# %s\n", text_of(f, kj));
    int ke = 0;
    assert_true(tgf_wait_request(f, &ke, "editMessageText", ALICE, "Approved", 20000) >= 0);
    /* buttons nobody made: answered, nothing done */
    tgf_push_button(f, ALICE, "alice", ALICE, msg, "zz:%%%");
    int ag0 = at;
    expect(f, &ag0, ALICE, "This button is no longer valid.");
    tgf_push_button(f, ALICE, "alice", ALICE, msg, "ap:not-a-number");
    expect(f, &ag0, ALICE, "no longer open");
    tgf_push_button(f, ALICE, "alice", ALICE, msg, "ca:yes:99999");
    expect(f, &ag0, ALICE, "This question is no longer valid");
    /* the same button again: the request was decided */
    tgf_push_button(f, ALICE, "alice", ALICE, msg, approve);
    int ad = at;
    expect(f, &ad, ALICE, "no longer open");

    /* stop new requests from piling up while she looks */
    at = kf + 1;
    tgf_push_text(f, ALICE, "alice", ALICE, "/pause");
    expect(f, &at, ALICE, "Paused");
    tgf_push_text(f, ALICE, "alice", ALICE, "/positions");
    int kp = expect(f, &at, ALICE, "BTCUSDT");
    printf("# %s\n", text_of(f, kp));
    const char *pt = text_of(f, kp), *ps = strstr(pt, ", stop "), *pg = strstr(pt, ", target ");
    assert_non_null(ps);
    assert_non_null(pg);
    assert_true(strstr(ps, "(not at the venue)") > pg);            /* the stop rests at the venue */
    assert_non_null(strstr(pg, "(not at the venue), unrealised")); /* the target was refused */
    /* the other alice and bob see none of it */
    tgf_push_text(f, ALICE2, "alice", ALICE2, "/positions");
    expect(f, &a2, ALICE2, "No open positions");
    tgf_push_text(f, BOB, "bob", BOB, "/positions");
    int kb = expect(f, &ab, BOB, "No open positions");
    (void)kb;
    tgf_push_text(f, BOB, "bob", BOB, "/trades");
    expect(f, &ab, BOB, "No closed trades");

    tgf_push_text(f, ALICE, "alice", ALICE, "/forceexit all");
    expect(f, &at, ALICE, "Closing 1 position"); /* the answer, then the close */
    int kc = expect(f, &at, ALICE, "Closed ");
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
    snprintf(want, sizeof want, "<b>Profit</b> %s over 1 closed trade (", pnl);
    assert_non_null(strstr(text_of(f, kq), want));

    /* a request rejected: nothing is done, and its message says so */
    tgf_push_text(f, ALICE, "alice", ALICE, "/resume");
    expect(f, &at, ALICE, "Resumed");
    at = tgf_nreq(f);
    int kj2 = expect(f, &at, ALICE, "Approve <b>");
    json_t *rb = json_array_get(
        json_array_get(
            json_object_get(json_object_get(f->req[kj2].body, "reply_markup"), "inline_keyboard"),
            0),
        1);
    char reject[32];
    snprintf(reject, sizeof reject, "%s", json_string_value(json_object_get(rb, "callback_data")));
    assert_int_equal(strncmp(reject, "rj:", 3), 0);
    tgf_push_button(f, ALICE, "alice", ALICE, f->req[kj2].result_id, reject);
    expect(f, &at, ALICE, "Rejected.");
    tgf_push_text(f, ALICE, "alice", ALICE, "/positions");
    expect(f, &at, ALICE, "No open positions");
    tgf_push_text(f, ALICE, "alice", ALICE, "/pause");
    expect(f, &at, ALICE, "Paused");

    /* the Bot API away for 20 s (once, with polls held): nothing is lost;
     * once it is back, what was said meanwhile arrives, and people are
     * answered again */
    if (hold) {
        int before = tgf_nreq(f);
        tgf_outage(f, 20000);
        tgf_push_text(f, BOB, "bob", BOB, "/version"); /* read only once the API is back */
        int back = before;
        /* the client's backoff reaches 16 s over the 20 s: it is back within 40 */
        expect_within(f, &back, BOB, "Nexus ", 60000);
        int kbs = back;
        /* notices go on after it: the next signal comes when the market
         * gives one (scalping on 15-minute candles at 5000x, one every
         * few seconds to a minute of replay) */
        expect_within(f, &kbs, BOB, "Signal: <b>", 120000);
    }

    /* a request that expired is refused */
    tgf_push_text(f, ALICE, "alice", ALICE, "/config set approval_ttl_s 1");
    expect(f, &at, ALICE, "approval_ttl_s is now 1");
    tgf_push_text(f, ALICE, "alice", ALICE, "/resume");
    expect(f, &at, ALICE, "Resumed");
    int k2 = expect(f, &at, ALICE, "Approve <b>");
    btn = json_array_get(
        json_array_get(
            json_object_get(json_object_get(f->req[k2].body, "reply_markup"), "inline_keyboard"),
            0),
        0);
    snprintf(approve, sizeof approve, "%s",
             json_string_value(json_object_get(btn, "callback_data")));
    /* this request's own "Expired" edit (older requests had theirs) */
    int kx = k2 + 1, kxe = -1;
    while (kxe < 0) {
        int kk = tgf_wait_request(f, &kx, "editMessageText", ALICE, "Expired", 30000);
        assert_true(kk >= 0);
        if (json_integer_value(json_object_get(f->req[kk].body, "message_id")) ==
            f->req[k2].result_id)
            kxe = kk;
    }
    tgf_push_button(f, ALICE, "alice", ALICE, f->req[k2].result_id, approve);
    expect(f, &at, ALICE, "expired");

    /* API keys: never in a group (the message is deleted all the same); in
     * private they are sealed and the message that held them is deleted */
    tgf_push_text(f, CAROL, "carol", -1001234567890LL, "/status"); /* not registered: silence */
    tgf_push_text(f, ALICE, "alice", -1001234567890LL, "/keys binance-usdm KEYgroup SECgroup");
    int kd = 0;
    assert_true(tgf_wait_request(f, &kd, "deleteMessage", -1001234567890LL, NULL, 20000) >= 0);
    int ag = 0;
    expect(f, &ag, -1001234567890LL, "private chat only");
    /* carol, unknown, was answered nothing in the group: the bot takes the
     * group's messages in order, so once alice's later one is answered
     * there, an answer to carol would have come before it */
    tgf_push_text(f, ALICE, "alice", -1001234567890LL, "/version");
    int ga = 0, kv = expect(f, &ga, -1001234567890LL, "Nexus ");
    int gc = 0,
        kcarol = tgf_wait_request(f, &gc, "sendMessage", -1001234567890LL, "do not know", 0);
    (void)kv;
    assert_true(kcarol < 0);
    /* a venue Nexus does not know: deleted all the same, and refused in words */
    tgf_push_text(f, ALICE, "alice", ALICE, "/keys nowhere KEYnowhere SECnowhere");
    kd = 0;
    assert_true(tgf_wait_request(f, &kd, "deleteMessage", ALICE, NULL, 20000) >= 0);
    expect(f, &at, ALICE, "is not a venue Nexus knows");
    tgf_push_text(f, ALICE, "alice", ALICE, "/keys binance-usdm KEYprivate SECprivate");
    kd = 0;
    assert_true(tgf_wait_request(f, &kd, "deleteMessage", ALICE, NULL, 20000) >= 0);
    expect(f, &at, ALICE, "sealed and stored");

    /* a broken build of a running plugin: not swapped in, the owner is told */
    snprintf(cmd, sizeof cmd,
             "echo 'not a shared object' > %s/plugins/scalping.so.new && "
             "mv %s/plugins/scalping.so.new %s/plugins/scalping.so",
             dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    int ko = 0;
    int kpl = expect(f, &ko, OWNER, "failed to reload");
    printf("# %s\n", text_of(f, kpl));
    assert_non_null(strstr(text_of(f, kpl), "scalping"));

    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    child = 0;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* the token never reached the log */
    FILE *lf = fopen(log_path, "r");
    assert_non_null(lf);
    char line[4096];
    while (fgets(line, sizeof line, lf)) {
        assert_null(strstr(line, "FAKE-token"));
        assert_null(strstr(line, "SECprivate"));
        assert_null(strstr(line, "SECgroup"));
    }
    fclose(lf);
    tgf_stop(f);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_telegram_session(void **state)
{
    (void)state;
    telegram_session(1);
}

static void test_telegram_session_answered_at_once(void **state)
{
    (void)state;
    telegram_session(0);
}

/* The console: every other command, as the owner, with its reply. */
typedef struct console {
    pid_t pid;
    int in;
    char out_path[256];
    long seen; /* bytes of output already matched */
} console_t;

/* Type a line (NULL: nothing, only wait); wait for output after what was
 * matched so far holding one of the needles ("|" between). */
static void typed(console_t *c, const char *line, const char *needles)
{
    if (line && (write(c->in, line, strlen(line)) < 0 || write(c->in, "\n", 1) < 0))
        fail_msg("console closed");
    for (int t = 0; t < 2000; t++) {
        FILE *f = fopen(c->out_path, "r");
        static char buf[1 << 20];
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = 0;
        char alt[256];
        snprintf(alt, sizeof alt, "%s", needles);
        char *save = NULL;
        for (char *w = strtok_r(alt, "|", &save); w; w = strtok_r(NULL, "|", &save)) {
            char *hit = (long)n > c->seen ? strstr(buf + c->seen, w) : NULL;
            if (hit) {
                c->seen = (long)(hit - buf) + (long)strlen(w);
                return;
            }
        }
        usleep(10000);
    }
    fail_msg("%s: no reply with \"%s\"", line ? line : "(waiting)", needles);
}

/* /closeall at the console: the question lists what is open; returns the
 * number its buttons carry. */
static unsigned closeall_question(console_t *c)
{
    typed(c, "/closeall", "<b>Close 1 position at market?</b>|Close 1 position at market?");
    typed(c, NULL, "BTCUSDT");
    typed(c, NULL, "type !ca:yes:");
    FILE *f = fopen(c->out_path, "r");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    unsigned nonce = (unsigned)strtoul(buf + c->seen, NULL, 10);
    assert_true(nonce > 0);
    return nonce;
}

/* The console's output from byte `from` to what was matched so far. */
static const char *console_since(console_t *c, long from)
{
    static char buf[1 << 20];
    FILE *f = fopen(c->out_path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    if (c->seen < (long)n)
        buf[c->seen] = 0;
    return from < (long)n ? buf + from : "";
}

/* Type line until its reply (which holds `reply`) also holds `want`: for
 * a state that comes when the engine gets there (a swap, prices), waited
 * for on the state itself. */
static void typed_until(console_t *c, const char *line, const char *reply, const char *want)
{
    for (int i = 0; i < 300; i++) {
        long from = c->seen;
        typed(c, line, reply);
        typed(c, NULL, "\n");
        if (strstr(console_since(c, from), want))
            return;
        usleep(50000);
    }
    fail_msg("%s: never \"%s\"", line, want);
}

/* The events the engine has taken so far, from /health. */
static long console_events(console_t *c)
{
    long from = c->seen;
    typed(c, "/health", "events ");
    typed(c, NULL, ",");
    const char *t = strstr(console_since(c, from), "events ");
    return t ? atol(t + 7) : 0;
}

static void test_console_commands(void **state)
{
    (void)state;
    char dir[] = "/tmp/nx_console_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg_path[256], cmd[512], rest[1024];
    snprintf(rest, sizeof rest,
             ",\"cortex\":{\"timeframes\":[\"15m\"],\"plugin_dir\":\"%s\",\"allow_unsigned\":true,"
             "\"strategies\":[{\"plugin\":\"scalping\",\"timeframes\":[\"15m\"]}]},"
             "\"users\":[{\"id\":1,\"chat_id\":%d,\"name\":\"boss\",\"role\":\"owner\"}],"
             "\"trading\":{\"slippage_bp\":1000,\"sessions\":[{\"name\":\"boss\",\"user\":1,"
             "\"venue\":\"binance-usdm\",\"mode\":\"watcher\",\"cooldown_s\":0,\"stale_s\":0,"
             "\"breaker_losses\":1,"
             "\"low_profit_trades\":1,\"low_profit_min\":\"1\",\"low_profit_lock_s\":3600}]},"
             "\"storage\":{\"owner_chat_id\":%d,\"owner_name\":\"boss\"},"
             "\"chat\":{\"confirm_s\":2}}",
             NX_PLUGIN_DIR, OWNER, OWNER);
    /* BTCUSDT on Binance spot too, listed first: what the session's pair
     * commands name is the session's venue's BTCUSDT */
    replay_config_with(dir,
                       "{\"venue\":\"binance-spot\",\"symbol\":\"BTCUSDT\",\"tick_size\":"
                       "\"0.01\",\"lot_size\":\"0.00001\"},",
                       2000, "", rest, cfg_path, sizeof cfg_path);
    console_t con = {0};
    snprintf(con.out_path, sizeof con.out_path, "%s/out", dir);
    con.in = spawn_console(cfg_path, con.out_path);
    con.pid = child;
    typed(&con, "/help", "/killswitch on|off");
    typed(&con, "/version", "Nexus ");
    typed(&con, "/nonsense", "do not know that command");
    typed(&con, "/status", "boss: watcher");
    typed(&con, "/mode pilot", "Mode is now pilot");
    typed(&con, "/balance", "Started with 10000");
    for (int i = 0; i < 300 && console_events(&con) < 100; i++)
        usleep(50000); /* until prices are flowing */
    /* a command's answer comes first, then what it caused */
    typed(&con, "/forcelong BTCUSDT", "Entering long BTCUSDT");
    typed(&con, NULL, "Filled: BUY");
    typed(&con, "/positions", "BTCUSDT long");
    typed(&con, "/forceexit BTCUSDT", "Closing 1 position");
    /* 10% slippage each way: a loss, which trips the one-loss breaker and
     * locks the pair (its last trade made less than 1) */
    typed(&con, NULL, "Closed long BTCUSDT (manual)");
    typed(&con, NULL, "Circuit breaker tripped after losing trades: no new entries until /reset");
    typed(&con, NULL, "Protection lock on BTCUSDT (after losing trades on it)");
    typed(&con, "/trades 5", "(manual)");
    typed(&con, "/forceshort BTCUSDT",
          "Refused: the circuit breaker tripped after losing trades (/reset).");
    typed(&con, "/locks", "BTCUSDT locked (after losing trades on it)");
    typed(&con, "/unlock BTCUSDT", "Unlocked.");
    typed(&con, "/reset", "Circuit breaker reset.");
    typed(&con, "/forceshort BTCUSDT", "Entering short BTCUSDT");
    /* /closeall asks about what is open; its Yes is its own question's,
     * for confirm_s (2 s here), and closes what it listed */
    char press[64];
    unsigned q1 = closeall_question(&con), q2;
    snprintf(press, sizeof press, "!ca:no:%u", q1);
    typed(&con, press, "Nothing was closed");
    typed(&con, "/positions", "BTCUSDT short");
    q2 = closeall_question(&con);
    snprintf(press, sizeof press, "!ca:yes:%u", q1); /* the first question's Yes */
    typed(&con, press, "This question is no longer valid: nothing was closed");
    usleep(2500000); /* past the 2 s it is good for */
    snprintf(press, sizeof press, "!ca:yes:%u", q2);
    typed(&con, press, "This question expired: nothing was closed");
    typed(&con, "/positions", "BTCUSDT short");
    q2 = closeall_question(&con);
    snprintf(press, sizeof press, "!ca:yes:%u", q2);
    typed(&con, press, "Closing 1 position at market.");
    typed(&con, "/profit", "over 2 closed trades");
    typed(&con, "/daily 2", "Daily P&L");
    typed(&con, "/weekly 2", "Weekly P&L");
    typed(&con, "/performance", "BTCUSDT: ");
    typed(&con, "/locks", "No protection locks|locked");
    typed(&con, "/unlock all", "Unlocked|Nothing to do");
    typed(&con, "/reset", "Circuit breaker reset");
    typed(&con, "/pause", "Paused");
    typed(&con, "/resume", "Resumed");
    typed(&con, "/config set leverage 3", "leverage is now 3");
    typed(&con, "/config set leverage 21", "out of range");
    typed(&con, "/config show", "leverage = 3 (1..20)");
    typed(&con, "/config set cooldown_s 60", "cooldown_s is now 60"); /* seconds, kept in ns */
    typed(&con, "/config set trail_bp 120", "trail_bp is now 120");   /* the session's own */
    typed(&con, "/config show", "trail_bp = 120 (0..5000)");
    typed(&con, NULL, "cooldown_s = 60 (0..604800)");
    typed(&con, "/watch add BTCUSDT", "Watching: BTCUSDT");
    typed(&con, "/watch remove BTCUSDT", "Watching: nothing");
    typed(&con, "/strategies", "scalping (scalping");
    typed(&con, "/plugins list", "scalping (scalping");
    typed(&con, "/plugins reload scalping", "Reload of scalping asked");
    /* the watcher prepares it, the engine swaps it between two events */
    typed_until(&con, "/plugins list", "scalping (scalping", "not routed, 1 swaps");
    typed(&con, "/regime BTCUSDT", "BTCUSDT 15m: ");
    typed(&con, NULL, "of price|not enough candles yet"); /* the read, or its warm-up */
    typed(&con, "/regime NOPE", "NOPE is not a pair this engine follows (BTCUSDT).");
    typed(&con, "/regime", "Usage: /regime PAIR");
    typed(&con, "/config set leverage 3abc", "Usage: /config show | /config set KEY VALUE");
    typed(&con, "/health", "binance-usdm:");
    typed(&con, "/users", "boss: owner");
    typed(&con, "/ban nobody", "No such user");
    typed(&con, "/keys binance-usdm KEY1234 SECRET5678", "not stored: no master key");
    typed(&con, "/logs 5", "console|desk|main");
    typed(&con, "/killswitch on", "Kill switch ON");
    typed(&con, "/forcelong BTCUSDT", "Refused: the kill switch is on: only exits pass.");
    typed(&con, "/killswitch off", "Kill switch off");
    close(con.in);
    kill(con.pid, SIGTERM);
    int st = 0;
    waitpid(con.pid, &st, 0);
    child = 0;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* the key typed at the console is in no log */
    snprintf(cmd, sizeof cmd, "grep -r SECRET5678 %s/nexus.log", dir);
    assert_int_not_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Feed problems reach the owner, each kind once a minute however often it
 * recurs: a feed replayed in real time goes quiet for 15 minutes after
 * each candle, so a 300 ms watchdog fires again and again. */
static void test_feed_problems_to_owner(void **state)
{
    (void)state;
    char dir[] = "/tmp/nx_feedtold_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg_path[256], out_path[256], cmd[512], rest[512];
    snprintf(out_path, sizeof out_path, "%s/out", dir);
    snprintf(rest, sizeof rest,
             ",\"users\":[{\"id\":1,\"chat_id\":%d,\"name\":\"boss\",\"role\":\"owner\"}],"
             "\"trading\":{\"sessions\":[{\"name\":\"boss\",\"user\":1,\"mode\":\"watcher\"}]},"
             "\"storage\":{\"owner_chat_id\":%d,\"owner_name\":\"boss\"}}",
             OWNER, OWNER);
    replay_config(dir, 1, ",\"watchdog_ms\":300", rest, cfg_path, sizeof cfg_path);
    int in = spawn_console(cfg_path, out_path);
    console_t con = {0};
    snprintf(con.out_path, sizeof con.out_path, "%s", out_path);
    con.in = in;
    /* until the watchdog has fired and the feed reconnected ten times over */
    long connects = 0;
    for (int i = 0; i < 400 && connects < 10; i++) {
        long from = con.seen;
        typed(&con, "/health", " connects,");
        const char *t = strstr(console_since(&con, from), "frames, ");
        connects = t ? atol(t + 8) : 0;
        if (connects < 10)
            usleep(50000);
    }
    assert_true(connects >= 10);
    kill(child, SIGTERM);
    int st = 0;
    waitpid(child, &st, 0);
    child = 0;
    close(in);
    assert_int_equal(WEXITSTATUS(st), 0);
    FILE *f = fopen(out_path, "r");
    char line[512];
    int stale = 0, down = 0;
    while (fgets(line, sizeof line, f)) {
        stale += strstr(line, "Feed binance-usdm stale") != NULL;
        down += strstr(line, "Feed binance-usdm disconnected") != NULL;
    }
    fclose(f);
    snprintf(cmd, sizeof cmd, "grep -q 'reconnecting (repeated' %s/nexus.log", dir);
    assert_int_equal(system(cmd), 0); /* the watchdog fired again and again */
    assert_int_equal(stale, 1);
    assert_int_equal(down, 1);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static long summary_of(const char *log, const char *key)
{
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char line[2048], k[40];
    snprintf(k, sizeof k, " %s=", key);
    long v = -1;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "summary: session owner "), *q = p ? strstr(p, k) : NULL;
        if (q)
            v = strtol(q + strlen(k), NULL, 10);
    }
    fclose(f);
    return v;
}

/* The main job at the console, to the end of the data: the owner is told
 * of every fill and every closed trade with its reason, as many of each
 * as the run's summary counts (standard input closed: nobody types). */
static void test_console_tells_every_exit(void **state)
{
    (void)state;
    char dir[] = "/tmp/nx_exits_XXXXXX", cmd[1024], path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof cmd,
             "cd %s && ln -s %s/tests tests && env -u NEXUS_TELEGRAM_TOKEN timeout 200 %s run "
             "--config %s/config/replay.example.json --console < /dev/null > out.txt 2> log.txt",
             dir, src_dir(), nexus_bin, src_dir());
    assert_int_equal(WEXITSTATUS(system(cmd)), 0);
    snprintf(path, sizeof path, "%s/out.txt", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static const char *const reasons[] = {"tp", "sl", "trailing", "time", "sentinel", "signal"};
    static const char *const words[] = {"take-profit",
                                        "stop-loss",
                                        "trailing stop",
                                        "time limit",
                                        "Sentinel's protective exit",
                                        "the strategy's exit"};
    long told[6] = {0}, fills = 0, closed = 0, feed = 0;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        for (char *l = strtok(line, "\r\n"); l; l = strtok(NULL, "\r\n")) {
            fills += !strncmp(l, "Filled: ", 8);
            feed += !strncmp(l, "Feed ", 5);
            if (strncmp(l, "Closed ", 7))
                continue;
            closed++;
            for (int r = 0; r < 6; r++) {
                char tag[24];
                snprintf(tag, sizeof tag, " (%s): ", words[r]);
                told[r] += strstr(l, tag) != NULL;
            }
        }
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/log.txt", dir);
    long trades = summary_of(path, "trades");
    printf("# %ld trades: %ld fills and %ld closes told (tp %ld, sl %ld, trailing %ld, sentinel "
           "%ld)\n",
           trades, fills, closed, told[0], told[1], told[2], told[4]);
    assert_true(trades > 100);
    assert_int_equal(summary_of(path, "open_positions"), 0);
    assert_int_equal(closed, trades);
    assert_int_equal(fills, 2 * trades); /* the paper venue fills whole orders */
    for (int r = 0; r < 6; r++)
        assert_int_equal(told[r], summary_of(path, reasons[r]));
    assert_true(told[0] > 0 && told[1] > 0 && told[2] > 0 && told[4] > 0);
    assert_int_equal(feed, 0); /* the feeds closed at the end are not reported as problems */
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Every command, tried as a pending, banned, subscriber, admin and owner
 * user, each in a private chat: the role's outcome, exactly. A command
 * above a user's role is refused with words that say so; a pending user
 * is told to wait; a banned user is answered nothing at all. */
#define ADMIN   3101
#define SUBSCR  3102
#define PENDING 3103
#define BANNED  3104

typedef struct cmd_case {
    const char *line; /* with harmless arguments */
    int role;         /* the lowest role that may use it: 0 pending .. 3 owner */
} cmd_case_t;

static const cmd_case_t CMDS[] = {
    {"/start", 0},
    {"/help", 0},
    {"/status", 1},
    {"/balance", 1},
    {"/positions", 1},
    {"/trades", 1},
    {"/profit", 1},
    {"/daily", 1},
    {"/weekly", 1},
    {"/performance", 1},
    {"/mode watcher", 1},
    {"/pause", 1},
    {"/resume", 1},
    {"/reset", 1},
    {"/locks", 1},
    {"/unlock all", 1},
    {"/forceexit all", 1},
    {"/forcelong BTCUSDT", 1},
    {"/forceshort BTCUSDT", 1},
    {"/closeall", 1},
    {"/watch list", 1},
    {"/strategies", 1},
    {"/regime BTCUSDT", 1},
    {"/config show", 1},
    {"/sessions", 1},
    {"/session", 1},
    {"/keys", 1},
    {"/health", 1},
    {"/version", 1},
    {"/users", 2},
    {"/approve 999999", 2},
    {"/ban 999999", 2},
    {"/plugins", 2},
    {"/limits", 2},
    {"/logs", 3},
    {"/killswitch off", 3},
};

static void test_roles_and_commands(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    tgf_t *f = tgf_start();
    assert_non_null(f);
    char dir[] = "/tmp/nx_roles_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg_path[256], cmd[256];
    snprintf(cfg_path, sizeof cfg_path, "%s/nexus.json", dir);
    FILE *c = fopen(cfg_path, "w");
    assert_non_null(c);
    fprintf(c,
            "{\"engine\":{\"stats_interval_s\":0},\"data_dir\":\"%s\",\"symbols\":[{\"venue\":"
            "\"binance-usdm\",\"symbol\":\"BTCUSDT\",\"tick_size\":\"0.01\",\"lot_size\":"
            "\"0.00001\"}],\"cortex\":{\"plugin_dir\":\"%s\",\"allow_unsigned\":true},"
            "\"users\":[{\"id\":1,\"chat_id\":%d,\"name\":\"boss\",\"role\":\"owner\"},"
            "{\"id\":2,\"chat_id\":%d,\"name\":\"ada\",\"role\":\"admin\"},"
            "{\"id\":3,\"chat_id\":%d,\"name\":\"sam\",\"role\":\"subscriber\"},"
            "{\"id\":4,\"chat_id\":%d,\"name\":\"pat\",\"role\":\"pending\"},"
            "{\"id\":5,\"chat_id\":%d,\"name\":\"bo\",\"role\":\"subscriber\"}],"
            "\"trading\":{\"sessions\":[{\"name\":\"boss\",\"user\":1,\"mode\":\"watcher\"},"
            "{\"name\":\"ada\",\"user\":2,\"mode\":\"watcher\"},{\"name\":\"sam\",\"user\":3,"
            "\"mode\":\"watcher\"}]},\"storage\":{\"owner_chat_id\":%d,\"owner_name\":\"boss\"},"
            "\"chat\":{\"api_url\":\"http://127.0.0.1:%d\",\"poll_timeout_s\":1,\"chat_per_s\":30,"
            "\"global_per_s\":1000}}",
            dir, NX_PLUGIN_DIR, OWNER, ADMIN, SUBSCR, PENDING, BANNED, OWNER, f->port);
    fclose(c);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("NEXUS_TELEGRAM_TOKEN", "4242:FAKE-token", 1);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(nexus_bin, nexus_bin, "run", "--config", cfg_path, (char *)NULL);
        _exit(127);
    }
    child = pid;
    int at = 0;
    assert_true(tgf_wait_request(f, &at, "setMyCommands", 0, NULL, 20000) >= 0);
    tgf_push_text(f, OWNER, "boss", OWNER, "/ban 5");
    at = 0;
    expect(f, &at, OWNER, "is now banned");
    static const struct {
        int64_t chat;
        const char *name;
        int role; /* 0 pending .. 3 owner */
    } people[] = {{PENDING, "pat", 0}, {SUBSCR, "sam", 1}, {ADMIN, "ada", 2}, {OWNER, "boss", 3}};
    int checked = 0;
    for (size_t p = 0; p < sizeof people / sizeof people[0]; p++) {
        int from = 0;
        while (tgf_wait_request(f, &from, "sendMessage", people[p].chat, NULL, 0) >= 0)
            ; /* what they were told before */
        for (size_t k = 0; k < sizeof CMDS / sizeof CMDS[0]; k++) {
            tgf_push_text(f, people[p].chat, people[p].name, people[p].chat, CMDS[k].line);
            int r = tgf_wait_request(f, &from, "sendMessage", people[p].chat, NULL, 20000);
            if (r < 0)
                fail_msg("%s as %s: no answer", CMDS[k].line, people[p].name);
            const char *t = text_of(f, r);
            int allowed = people[p].role >= CMDS[k].role;
            int refused = strstr(t, "not available to you") != NULL;
            int waiting = strstr(t, "waiting for an admin") != NULL;
            if (allowed && (refused || (people[p].role > 0 && waiting)))
                fail_msg("%s as %s (may): refused: %s", CMDS[k].line, people[p].name, t);
            if (!allowed && people[p].role == 0 && !waiting)
                fail_msg("%s as %s (pending): not told to wait: %s", CMDS[k].line, people[p].name,
                         t);
            if (!allowed && people[p].role > 0 && !refused)
                fail_msg("%s as %s (may not): %s", CMDS[k].line, people[p].name, t);
            checked++;
        }
    }
    /* the banned user: every command, then one from the owner; once the
     * owner's answer is out, anything for the banned would be out too */
    for (size_t k = 0; k < sizeof CMDS / sizeof CMDS[0]; k++)
        tgf_push_text(f, BANNED, "bo", BANNED, CMDS[k].line);
    int ov = 0;
    while (tgf_wait_request(f, &ov, "sendMessage", OWNER, NULL, 0) >= 0)
        ;
    /* the updates are handled in order: once /health, sent after them,
     * finds nothing else waiting in the outbox, whatever was queued for
     * the banned user would have been sent */
    int drained = 0;
    for (int i = 0; i < 50 && !drained; i++) {
        tgf_push_text(f, OWNER, "boss", OWNER, "/health");
        int kh = expect(f, &ov, OWNER, "<b>Health</b>");
        drained = strstr(text_of(f, kh), ", 0 waiting,") != NULL;
    }
    assert_true(drained);
    int bz = 0;
    assert_int_equal(tgf_wait_request(f, &bz, "sendMessage", BANNED, NULL, 0), -1);
    printf("# %d command answers checked for 4 roles; the banned user was answered nothing\n",
           checked);
    assert_int_equal(checked, 4 * (int)(sizeof CMDS / sizeof CMDS[0]));
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    child = 0;
    tgf_stop(f);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* SIGTERM at a random moment of the first seconds, again and again (issue
 * 16: the Telegram client woke the network thread's libwebsockets context
 * after that thread had destroyed it). Each run must end by itself, exit 0
 * and, built with AddressSanitizer (which this test is meant for: 30 runs
 * there), leave no report: ASan ends a process that touches freed memory
 * with a report and a non-zero status. Chat traffic is going on when the
 * signal comes: the owner's "up" notice, replies to people, updates. */
static void test_stop_at_random_moments(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    const int runs = 30;
#else
    const int runs = 8; /* the race itself is ASan's to see */
#endif
    signal(SIGPIPE, SIG_IGN);
    tgf_t *f = tgf_start();
    assert_non_null(f);
    f->hold_polls = 1;
    char dir[] = "/tmp/nx_stop_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg_path[256], err_path[300], rest[1024], cmd[512];
    snprintf(rest, sizeof rest,
             ",\"users\":[{\"id\":1,\"chat_id\":%d,\"name\":\"boss\",\"role\":\"owner\"}],"
             "\"trading\":{\"sessions\":[{\"name\":\"boss\",\"user\":1,\"mode\":\"pilot\"}]},"
             "\"storage\":{\"owner_chat_id\":%d,\"owner_name\":\"boss\"},"
             "\"chat\":{\"api_url\":\"http://127.0.0.1:%d\",\"poll_timeout_s\":1}}",
             OWNER, OWNER, f->port);
    replay_config(dir, 5000, "", rest, cfg_path, sizeof cfg_path);
    unsigned seed = (unsigned)time(NULL);
    print_message("# seed %u\n", seed);
    srand(seed);
    for (int i = 0; i < runs; i++) {
        snprintf(err_path, sizeof err_path, "%s/stderr", dir);
        /* made empty here, not in the child: a SIGTERM that ends the child
         * before it opened the file must find it empty, not missing or
         * holding the last run's lines */
        int trunc = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(trunc >= 0);
        close(trunc);
        pid_t pid = fork();
        if (pid == 0) {
            setenv("NEXUS_TELEGRAM_TOKEN", "4242:FAKE-token", 1);
            int null = open("/dev/null", O_WRONLY), err = open(err_path, O_WRONLY);
            dup2(null, 1);
            dup2(err, 2);
            execl(nexus_bin, nexus_bin, "run", "--config", cfg_path, (char *)NULL);
            _exit(127);
        }
        child = pid;
        /* the moment: at once, or right after the k-th request this run
         * makes to the Bot API (its start, the owner's notice, replies) */
        int from = tgf_nreq(f), k = rand() % 6, ms = k;
        tgf_push_text(f, OWNER, "boss", OWNER, "/status");
        if (k) {
            int at = from;
            for (int j = 0; j < k && tgf_wait_request(f, &at, NULL, 0, NULL, 20000) >= 0; j++)
                ;
            tgf_push_text(f, OWNER, "boss", OWNER, "/version");
        }
        int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
        assert_true(pfd >= 0);
        kill(pid, SIGTERM);
        struct pollfd pl = {pfd, POLLIN, 0};
        int st = 0, done = poll(&pl, 1, 60000) == 1 && waitpid(pid, &st, 0) == pid;
        close(pfd);
        child = done ? 0 : pid;
        struct stat es;
        int silent = stat(err_path, &es) == 0 && es.st_size == 0;
        if (done && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM && silent)
            continue; /* the signal came before nexus was running (a sanitizer's start is slow):
                         its default action, nothing to stop */
        if (!done || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            snprintf(cmd, sizeof cmd, "tail -n 60 %s >&2", err_path);
            (void)system(cmd);
            fail_msg("run %d, SIGTERM after %d Bot API requests: %s %d", i, ms,
                     !done ? "still running after 60 s" : WIFEXITED(st) ? "exit" : "signal",
                     !done ? 0 : WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        }
        FILE *e = fopen(err_path, "r");
        assert_non_null(e);
        char line[1024];
        while (fgets(line, sizeof line, e))
            if (strstr(line, "AddressSanitizer") || strstr(line, "runtime error:"))
                fail_msg("run %d, SIGTERM after %d Bot API requests: %s", i, ms, line);
        fclose(e);
    }
    tgf_stop(f);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* argv[1] = the nexus binary; argv[2], if given, the tests to run, names
 * separated by commas (CTest runs the file as two halves side by side:
 * each test runs a whole engine and mostly waits on it) */
/* The web port from the engine's log (dir/nexus.log), waiting for it. */
static int web_port_of(const char *dir)
{
    char path[300];
    snprintf(path, sizeof path, "%s/nexus.log", dir);
    static const char needle[] = "serving /metrics and /health on http://127.0.0.1:";
    for (int i = 0; i < 6000; i++) { /* 60 s: a sanitizer build starts slowly */
        FILE *f = fopen(path, "r");
        static char buf[1 << 16];
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = 0;
        const char *at = strstr(buf, needle);
        if (at)
            return atoi(at + sizeof needle - 1);
        usleep(10000);
    }
    fail_msg("no web server in %s", path);
    return -1;
}

/* GET /api/overview as cookie: the parsed JSON (the caller frees it). */
static json_t *overview(int port, const char *hdr)
{
    char *b = NULL;
    assert_int_equal(http_full(port, "GET", "/api/overview", hdr, NULL, &b), 200);
    json_t *o = json_loads(b, 0, NULL);
    free(b);
    assert_non_null(o);
    return o;
}

/* The overview's session id: 1 if request req is still waiting, 0 if not. */
static int waiting(json_t *o, json_int_t session, json_int_t req)
{
    size_t i, k;
    json_t *s, *a;
    json_array_foreach(json_object_get(o, "sessions"), i, s)
    {
        if (json_integer_value(json_object_get(s, "id")) != session)
            continue;
        json_array_foreach(json_object_get(s, "approvals"), k,
                           a) if (json_integer_value(json_object_get(a, "id")) == req) return 1;
    }
    return 0;
}

/* The request id its Telegram message's Approve button carries. */
static unsigned request_of(tgf_t *f, int k, int64_t *msg)
{
    json_t *btn = json_array_get(
        json_array_get(
            json_object_get(json_object_get(f->req[k].body, "reply_markup"), "inline_keyboard"), 0),
        0);
    const char *data = json_string_value(json_object_get(btn, "callback_data"));
    assert_non_null(data);
    assert_int_equal(strncmp(data, "ap:", 3), 0);
    *msg = f->req[k].result_id;
    return (unsigned)strtoul(data + 3, NULL, 10);
}

/* The dashboard from Telegram: a subscriber's /dashboard in her private
 * chat gives a one-time link; signed in, she sees her own session only,
 * and another's trades and actions are refused (403) over raw HTTP; a
 * COPILOT request she approves on the web executes and its Telegram
 * message is edited to the outcome; one she approves with the chat's
 * button leaves the web's queue (within 1 s: the live page's bound). */
static void test_dashboard_from_telegram(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    tgf_t *f = tgf_start();
    assert_non_null(f);
    char dir[] = "/tmp/nx_dash_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg_path[256], cmd[1024], rest[2048];
    snprintf(cmd, sizeof cmd, "mkdir %s/plugins && cp %s/scalping.so %s/sentinel.so %s/plugins/",
             dir, NX_PLUGIN_DIR, NX_PLUGIN_DIR, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(rest, sizeof rest,
             ",\"web\":{\"listen\":\"127.0.0.1:0\"},"
             "\"cortex\":{\"timeframes\":[\"15m\",\"1h\"],\"plugin_dir\":\"%s/plugins\","
             "\"allow_unsigned\":true,\"strategies\":[{\"plugin\":\"scalping\",\"timeframes\":"
             "[\"15m\"],\"params\":{\"sl_atr\":20,\"tp_atr\":30}}]},"
             "\"users\":[{\"id\":1,\"chat_id\":%d,\"name\":\"boss\",\"role\":\"owner\"},"
             "{\"id\":2,\"chat_id\":%d,\"name\":\"alice\",\"role\":\"subscriber\"}],"
             "\"trading\":{\"sessions\":[{\"name\":\"boss\",\"user\":1,\"mode\":\"pilot\"},"
             "{\"name\":\"alice\",\"user\":2,\"mode\":\"copilot\",\"approval_ttl_s\":86400,"
             "\"approval_drift_bp\":10000,\"cooldown_s\":0}]},"
             "\"storage\":{\"owner_chat_id\":%d,\"owner_name\":\"boss\"},"
             "\"chat\":{\"api_url\":\"http://127.0.0.1:%d\",\"poll_timeout_s\":1,\"chat_per_s\":30,"
             "\"global_per_s\":1000}}",
             dir, OWNER, ALICE, OWNER, f->port);
    replay_config(dir, 5000, "", rest, cfg_path, sizeof cfg_path);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("NEXUS_TELEGRAM_TOKEN", "4242:FAKE-token", 1);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl(nexus_bin, nexus_bin, "run", "--config", cfg_path, (char *)NULL);
        _exit(127);
    }
    child = pid;
    int at = 0;
    assert_true(tgf_wait_request(f, &at, "setMyCommands", 0, NULL, 20000) >= 0);
    int port = web_port_of(dir);

    /* her link, in her private chat; it becomes her cookie */
    tgf_push_text(f, ALICE, "alice", ALICE, "/dashboard");
    int kl = expect(f, &at, ALICE, "/login?t=");
    const char *l = strstr(text_of(f, kl), "/login?t=");
    char link[128];
    snprintf(link, sizeof link, "%.*s", (int)strcspn(l, " \n\r<\"'"), l);
    char *h = NULL;
    assert_int_equal(http_full(port, "GET", link, NULL, &h, NULL), 303);
    const char *sc = strcasestr(h, "set-cookie: nx_session=");
    assert_non_null(sc);
    char hdr[512], act[700], path[128];
    snprintf(hdr, sizeof hdr, "Cookie: %.*s\r\n", (int)strcspn(sc + 12, ";\r\n"), sc + 12);
    free(h);
    char *b = NULL;
    assert_int_equal(http_full(port, "GET", "/api/me", hdr, NULL, &b), 200);
    json_t *me = json_loads(b, 0, NULL);
    free(b);
    assert_string_equal(json_string_value(json_object_get(me, "role")), "subscriber");
    snprintf(act, sizeof act, "%sX-CSRF-Token: %s\r\n", hdr,
             json_string_value(json_object_get(me, "csrf")));
    json_decref(me);

    /* her own session only; the owner's is not hers to read or touch */
    json_t *o = overview(port, hdr);
    json_t *ss = json_object_get(o, "sessions");
    assert_int_equal(json_array_size(ss), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ss, 0), "name")), "alice");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ss, 0), "id")), 2);
    json_decref(o);
    assert_int_equal(http_full(port, "GET", "/api/trades?session=1", hdr, NULL, NULL), 403);
    assert_int_equal(http_full(port, "GET", "/api/trades?session=2", hdr, NULL, NULL), 200);
    assert_int_equal(http_full(port, "POST", "/api/act?session=1&do=pause", act, NULL, NULL), 403);
    assert_int_equal(http_full(port, "POST", "/api/act?session=1&do=closeall", act, NULL, NULL),
                     403);
    /* her own, without the CSRF token: refused too */
    assert_int_equal(http_full(port, "POST", "/api/act?session=2&do=pause", hdr, NULL, NULL), 403);

    /* a request approved on the web: the order goes, the chat's message says so */
    int ar = 0; /* (it may have come before the link) */
    int kr = expect_within(f, &ar, ALICE, "Approve <b>", 120000);
    int64_t msg;
    unsigned id = request_of(f, kr, &msg);
    snprintf(path, sizeof path, "/api/act?session=2&do=approve&arg=%u", id);
    assert_int_equal(http_full(port, "POST", path, act, NULL, &b), 200);
    assert_non_null(strstr(b, "Approved: the order is on its way"));
    free(b);
    int ke = 0;
    ke = tgf_wait_request(f, &ke, "editMessageText", ALICE, "Approved: the order is on its way",
                          60000);
    assert_true(ke >= 0);
    assert_int_equal(json_integer_value(json_object_get(f->req[ke].body, "message_id")), msg);
    expect_within(f, &at, ALICE, "Filled:", 60000);
    /* the same request again, from the web: the first answer won */
    assert_int_equal(http_full(port, "POST", path, act, NULL, &b), 200);
    assert_non_null(strstr(b, "no longer open"));
    free(b);

    /* approved with the chat's button: gone from the web's queue */
    unsigned id2 = 0;
    for (int tries = 0; tries < 5 && !id2; tries++) {
        int k2 = expect_within(f, &ar, ALICE, "Approve <b>", 120000);
        id2 = request_of(f, k2, &msg);
        o = overview(port, hdr);
        if (!waiting(o, 2, id2)) /* a newer signal took its place: that one */
            id2 = 0;
        json_decref(o);
    }
    assert_true(id2 > 0);
    char data[32], wsh[600];
    snprintf(data, sizeof data, "ap:%u", id2);
    /* the live page, as the dashboard opens it: each push is the event */
    snprintf(wsh, sizeof wsh, "%sSec-WebSocket-Protocol: nx-live\r\n", hdr);
    int ws = wire_ws_open_with(port, "/live", wsh);
    assert_true(ws >= 0);
    int64_t t0 = tgf_now();
    tgf_push_button(f, ALICE, "alice", ALICE, msg, data);
    int still = 1;
    char *frame;
    while (still && tgf_now() - t0 < 10000000000LL &&
           (frame = wire_ws_recv(ws, (int)(10000 - (tgf_now() - t0) / 1000000), NULL))) {
        o = json_loads(frame, 0, NULL);
        free(frame);
        assert_non_null(o);
        still = waiting(o, 2, id2);
        json_decref(o);
    }
    close(ws);
    assert_false(still);
    printf("# approved in chat: off the web's queue %lld ms after the press\n",
           (long long)((tgf_now() - t0) / 1000000));
    kill(child, SIGTERM);
    int st;
    waitpid(child, &st, 0);
    child = 0;
    tgf_stop(f);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv)
{
    static char abs_bin[4096];
    nexus_bin = argc > 1 ? argv[1] : "nexus";
    if (realpath(nexus_bin, abs_bin)) /* a test changes directory */
        nexus_bin = abs_bin;
    static const struct CMUnitTest all[] = {
        cmocka_unit_test_teardown(test_telegram_session, kill_child),
        cmocka_unit_test_teardown(test_telegram_session_answered_at_once, kill_child),
        cmocka_unit_test_teardown(test_roles_and_commands, kill_child),
        cmocka_unit_test_teardown(test_console_commands, kill_child),
        cmocka_unit_test_teardown(test_feed_problems_to_owner, kill_child),
        cmocka_unit_test(test_console_tells_every_exit),
        cmocka_unit_test_teardown(test_stop_at_random_moments, kill_child),
        cmocka_unit_test_teardown(test_dashboard_from_telegram, kill_child),
    };
    struct CMUnitTest tests[sizeof all / sizeof all[0]];
    size_t n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *list = argc > 2 ? argv[2] : NULL, *p = list;
        size_t len = strlen(all[i].name);
        int take = !list;
        while (p && !take) {
            take = !strncmp(p, all[i].name, len) && (p[len] == ',' || p[len] == 0);
            p = strchr(p, ',');
            p = p ? p + 1 : NULL;
        }
        if (take)
            tests[n++] = all[i];
    }
    if (!n) {
        fprintf(stderr, "no test of that name\n");
        return 2;
    }
    return _cmocka_run_group_tests("test_chat", tests, n, NULL, NULL);
}
