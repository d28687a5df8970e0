/*
 * test_telegram.c — the Bot API client against the fake server (tg_fake.h)
 * on 127.0.0.1, the client serviced by a network thread as in the engine:
 * long polling with acknowledgement by offset, the repository's sample
 * updates, malformed and unexpected updates, sendMessage with an inline
 * keyboard and its message id, per-chat and global pacing with per-chat
 * order, 429 retry_after (from parameters and from the description),
 * errors and backoff, refusals counted, the webhook's secret-token check,
 * and a token that never reaches the log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <libwebsockets.h>

#include "nx/clock.h"
#include "nx/feed.h"
#include "nx/log.h"
#include "nx/telegram.h"
#include "tg_fake.h"

#define TOKEN "123456:TEST-token_never_logged"

typedef struct rig {
    tgf_t *f;
    nx_clock_t clock;
    nx_net_t *net;
    nx_tg_t *tg;
    pthread_t th;
    _Atomic int stop;
} rig_t;

static void *net_main(void *arg)
{
    rig_t *r = arg;
    while (!r->stop)
        nx_net_service(r->net, 20);
    return NULL;
}

/* The rig around a fake server already made (failures a test wants from
 * the very first request are queued on it before the client starts). */
static void rig_start_on(rig_t *r, tgf_t *f, nx_tg_opts_t *o, int port)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    assert_non_null(r->f);
    nx_clock_init_live(&r->clock);
    r->net = nx_net_create(&r->clock);
    assert_non_null(r->net);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port ? port : r->f->port);
    o->api_url = url;
    o->token = TOKEN;
    if (!o->poll_timeout_s)
        o->poll_timeout_s = 1;
    if (!o->backoff_min_ms)
        o->backoff_min_ms = 100;
    if (!o->backoff_max_ms)
        o->backoff_max_ms = 2000;
    if (getenv("TG_LWS_DEBUG"))
        lws_set_log_level(LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO | LLL_CLIENT, NULL);
    r->tg = nx_tg_create(nx_net_context(r->net), o);
    assert_non_null(r->tg);
    assert_int_equal(nx_tg_start(r->tg), 0);
    pthread_create(&r->th, NULL, net_main, r);
}

static void rig_start(rig_t *r, nx_tg_opts_t *o, int port)
{
    rig_start_on(r, tgf_start(), o, port);
}

static void rig_stop(rig_t *r)
{
    r->stop = 1;
    pthread_join(r->th, NULL);
    nx_tg_stop(r->tg);
    nx_net_destroy(r->net);
    nx_tg_destroy(r->tg);
    tgf_stop(r->f);
}

static int next_update(rig_t *r, nx_tg_update_t *u, int timeout_ms)
{
    for (int i = 0; i < timeout_ms / 10; i++) {
        if (nx_tg_next(r->tg, u))
            return 1;
        usleep(10000);
    }
    return 0;
}

/* Stats once the client has caught up (sent counts every method). */
static nx_tg_stats_t stats_when(rig_t *r, uint64_t sent)
{
    nx_tg_stats_t st;
    for (int i = 0; i < 300; i++) {
        nx_tg_stats(r->tg, &st);
        if (st.sent + st.refused >= sent)
            break;
        usleep(10000);
    }
    return st;
}

static void test_poll_send_and_acknowledge(void **state)
{
    (void)state;
    char logpath[] = "/tmp/nx_tg_logXXXXXX";
    int lfd = mkstemp(logpath);
    nx_log_set_fd(lfd);
    nx_log_set_level(NX_LOG_DEBUG);
    rig_t r;
    nx_tg_opts_t o = {0};
    o.commands_json = "[{\"command\":\"status\",\"description\":\"Show the session\"}]";
    rig_start(&r, &o, 0);
    int at = 0;
    assert_true(tgf_wait_request(r.f, &at, "setMyCommands", 0, NULL, 3000) >= 0);
    at = 0;
    assert_true(tgf_wait_request(r.f, &at, "deleteWebhook", 0, NULL, 3000) >= 0);

    tgf_push_text(r.f, 42, "ada", 42, "/status BTCUSDT");
    nx_tg_update_t *u = malloc(sizeof *u);
    assert_true(next_update(&r, u, 3000));
    assert_int_equal(u->kind, NX_TG_MESSAGE);
    assert_int_equal(u->user_id, 42);
    assert_int_equal(u->chat_id, 42);
    assert_true(u->is_private);
    assert_string_equal(u->text, "/status BTCUSDT");
    assert_string_equal(u->username, "ada");
    int64_t id = u->update_id;
    /* the next poll acknowledges it: offset = update_id + 1 */
    at = 0;
    int k;
    do {
        k = tgf_wait_request(r.f, &at, "getUpdates", 0, NULL, 3000);
        assert_true(k >= 0);
    } while (json_integer_value(json_object_get(r.f->req[k].body, "offset")) != id + 1);
    assert_false(nx_tg_next(r.tg, u)); /* delivered once */

    /* a message with buttons and a tag: its id comes back */
    const char *kb = "{\"inline_keyboard\":[[{\"text\":\"Approve\",\"callback_data\":\"ap:7\"},"
                     "{\"text\":\"Reject\",\"callback_data\":\"rj:7\"}]]}";
    assert_int_equal(nx_tg_send(r.tg, 42, "<b>BUY</b> BTCUSDT?", kb, 77), 0);
    at = 0;
    k = tgf_wait_request(r.f, &at, "sendMessage", 42, "BTCUSDT", 3000);
    assert_true(k >= 0);
    json_t *b = r.f->req[k].body;
    assert_string_equal(json_string_value(json_object_get(b, "parse_mode")), "HTML");
    json_t *btn = json_array_get(
        json_array_get(json_object_get(json_object_get(b, "reply_markup"), "inline_keyboard"), 0),
        1);
    assert_string_equal(json_string_value(json_object_get(btn, "callback_data")), "rj:7");
    assert_string_equal(r.f->req[k].token, TOKEN);
    nx_tg_sent_t s = {0};
    for (int i = 0; i < 300 && !nx_tg_next_sent(r.tg, &s); i++)
        usleep(10000);
    assert_int_equal(s.tag, 77);
    assert_int_equal(s.chat_id, 42);
    assert_true(s.message_id > 0);

    /* a button press */
    tgf_push_button(r.f, 42, "ada", 42, s.message_id, "ap:7");
    assert_true(next_update(&r, u, 3000));
    assert_int_equal(u->kind, NX_TG_CALLBACK);
    assert_string_equal(u->text, "ap:7");
    assert_int_equal(u->message_id, s.message_id);
    assert_true(u->callback_id[0]);
    assert_int_equal(nx_tg_answer(r.tg, u->callback_id, "Approved"), 0);
    assert_int_equal(nx_tg_edit(r.tg, 42, s.message_id, "approved", NULL), 0);
    at = 0;
    assert_true(tgf_wait_request(r.f, &at, "answerCallbackQuery", 0, NULL, 3000) >= 0);
    at = 0;
    k = tgf_wait_request(r.f, &at, "editMessageText", 42, "approved", 3000);
    assert_true(k >= 0);
    assert_int_equal(json_integer_value(json_object_get(r.f->req[k].body, "message_id")),
                     s.message_id);
    free(u);
    rig_stop(&r);

    /* the token never reached the log */
    nx_log_flush();
    nx_log_set_fd(2);
    char buf[1 << 16];
    ssize_t n = pread(lfd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = 0;
    assert_true(n > 0); /* the client did log (its start line) */
    assert_null(strstr(buf, "TEST-token_never_logged"));
    close(lfd);
    unlink(logpath);
    nx_log_set_level(NX_LOG_INFO);
}

/* The repository's sample getUpdates answers, update by update. */
static void test_sample_updates(void **state)
{
    (void)state;
    rig_t r;
    nx_tg_opts_t o = {0};
    rig_start(&r, &o, 0);
    char path[512];
    const char *src = getenv("NX_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/data/samples/telegram_getUpdates.jsonl",
             src ? src : NX_SOURCE_DIR_DEFAULT);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[8192];
    int pushed = 0;
    while (fgets(line, sizeof line, fp)) {
        json_t *root = json_loads(line, 0, NULL);
        size_t i;
        json_t *up;
        json_array_foreach(json_object_get(root, "result"), i, up)
        {
            char *t = json_dumps(up, JSON_COMPACT);
            tgf_push_raw(r.f, json_integer_value(json_object_get(up, "update_id")), t);
            free(t);
            pushed++;
        }
        json_decref(root);
    }
    fclose(fp);
    assert_int_equal(pushed, 4);
    nx_tg_update_t *u = malloc(sizeof *u);
    assert_true(next_update(&r, u, 3000));
    assert_int_equal(u->kind, NX_TG_MESSAGE);
    assert_string_equal(u->text, "/status BTCUSDT");
    assert_int_equal(u->user_id, 123456789);
    assert_true(next_update(&r, u, 3000));
    assert_int_equal(u->kind, NX_TG_CALLBACK);
    assert_string_equal(u->text, "close:BTCUSDT:yes");
    assert_string_equal(u->callback_id, "4382bf7a1e0c9d21");
    assert_int_equal(u->message_id, 18);
    assert_true(next_update(&r, u, 3000));
    assert_int_equal(u->chat_id, -1001234567890LL); /* a supergroup */
    assert_false(u->is_private);
    assert_string_equal(u->text, "hello");
    nx_tg_stats_t st; /* the edited message was taken, and left for nobody */
    for (int i = 0; i < 300 && (nx_tg_stats(r.tg, &st), st.ignored < 1); i++)
        usleep(10000);
    assert_false(nx_tg_next(r.tg, u)); /* not for the bot */
    nx_tg_stats(r.tg, &st);
    assert_int_equal(st.updates, 3);
    assert_int_equal(st.ignored, 1);
    free(u);
    rig_stop(&r);
}

/* Malformed updates and answers are counted and survived. */
static void test_malformed_survived(void **state)
{
    (void)state;
    rig_t r;
    nx_tg_opts_t o = {0};
    tgf_t *f = tgf_start();
    assert_non_null(f);
    tgf_fail_next(f, "getUpdates", 200, "this is not JSON");
    tgf_fail_next(f, "getUpdates", 200, "{\"ok\":true,\"result\":{\"not\":\"an array\"}}");
    rig_start_on(&r, f, &o, 0); /* the first two getUpdates already fail */
    int64_t a = tgf_next_id(r.f), b = tgf_next_id(r.f), c = tgf_next_id(r.f);
    char t[256];
    snprintf(t, sizeof t, "{\"update_id\":%lld,\"message\":{\"message_id\":1,\"chat\":7}}",
             (long long)a);
    tgf_push_raw(r.f, a, t);
    snprintf(t, sizeof t, "{\"message\":{\"message_id\":2}}");
    tgf_push_raw(r.f, b, t); /* no update_id at all */
    snprintf(t, sizeof t, "{\"update_id\":%lld,\"callback_query\":{\"id\":5}}", (long long)c);
    tgf_push_raw(r.f, c, t);
    tgf_push_text(r.f, 9, "bob", 9, "/help");
    nx_tg_update_t *u = malloc(sizeof *u);
    assert_true(next_update(&r, u, 5000));
    assert_string_equal(u->text, "/help");
    nx_tg_stats_t st;
    nx_tg_stats(r.tg, &st);
    assert_int_equal(st.malformed, 3);
    assert_int_equal(st.poll_errors, 2);
    assert_int_equal(st.updates, 1);
    free(u);
    rig_stop(&r);
}

/* Requests of one method's, in order, with times. */
static int times_of(tgf_t *f, const char *method, int64_t chat, int64_t *at, char texts[][64],
                    int max)
{
    int n = 0;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->nreq && n < max; i++) {
        if (strcmp(f->req[i].method, method))
            continue;
        if (chat && json_integer_value(json_object_get(f->req[i].body, "chat_id")) != chat)
            continue;
        at[n] = f->req[i].at_ns;
        if (texts)
            snprintf(texts[n], 64, "%s",
                     json_string_value(json_object_get(f->req[i].body, "text")));
        n++;
    }
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* 429: nothing is sent before retry_after, then the same message is. */
static void test_429_retry_after(void **state)
{
    (void)state;
    rig_t r;
    nx_tg_opts_t o = {0};
    rig_start(&r, &o, 0);
    tgf_fail_next(r.f, "sendMessage", 429,
                  "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry "
                  "after 1\",\"parameters\":{\"retry_after\":1}}");
    tgf_fail_next(r.f, "sendMessage", 429,
                  "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry "
                  "after 2\"}");
    assert_int_equal(nx_tg_send(r.tg, 5, "first", NULL, 0), 0);
    assert_int_equal(nx_tg_send(r.tg, 6, "second", NULL, 0), 0);
    int at = 0;
    assert_true(tgf_wait_request(r.f, &at, "sendMessage", 6, "second", 8000) >= 0);
    at = 0;
    assert_true(tgf_wait_request(r.f, &at, "sendMessage", 5, "first", 8000) >= 0);
    int64_t t[8];
    char texts[8][64];
    int n = times_of(r.f, "sendMessage", 0, t, texts, 8);
    /* first (429, 1 s), first (429, 2 s), first, second */
    assert_int_equal(n, 4);
    assert_string_equal(texts[0], "first");
    assert_string_equal(texts[1], "first");
    assert_string_equal(texts[2], "first");
    assert_string_equal(texts[3], "second");
    assert_true(t[1] - t[0] >= 1000000000LL);
    assert_true(t[2] - t[1] >= 2000000000LL);
    nx_tg_stats_t st = stats_when(&r, 3);
    assert_int_equal(st.http429, 2);
    assert_int_equal(st.sent, 3); /* deleteWebhook, first, second */
    assert_int_equal(st.queued, 0);
    rig_stop(&r);
}

/* Pacing: per chat in order and at most chat_per_s; one chat's wait does
 * not hold up another's; global_per_s over all. */
static void test_pacing(void **state)
{
    (void)state;
    rig_t r;
    nx_tg_opts_t o = {0};
    o.chat_per_s = 4;
    o.global_per_s = 10;
    rig_start(&r, &o, 0);
    for (int i = 0; i < 5; i++) {
        char m[16];
        snprintf(m, sizeof m, "a%d", i);
        assert_int_equal(nx_tg_send(r.tg, 100, m, NULL, 0), 0);
    }
    for (int i = 0; i < 3; i++) {
        char m[16];
        snprintf(m, sizeof m, "b%d", i);
        assert_int_equal(nx_tg_send(r.tg, 200, m, NULL, 0), 0);
    }
    int at = 0;
    assert_true(tgf_wait_request(r.f, &at, "sendMessage", 100, "a4", 8000) >= 0);
    at = 0;
    assert_true(tgf_wait_request(r.f, &at, "sendMessage", 200, "b2", 8000) >= 0);
    int64_t ta[8], tb[8], all[16];
    char xa[8][64], xb[8][64];
    assert_int_equal(times_of(r.f, "sendMessage", 100, ta, xa, 8), 5);
    assert_int_equal(times_of(r.f, "sendMessage", 200, tb, xb, 8), 3);
    for (int i = 0; i < 5; i++) {
        char m[16];
        snprintf(m, sizeof m, "a%d", i);
        assert_string_equal(xa[i], m);
        if (i)
            assert_true(ta[i] - ta[i - 1] >= 240000000LL); /* 1/4 s, less timer slack */
    }
    for (int i = 1; i < 3; i++)
        assert_true(tb[i] - tb[i - 1] >= 240000000LL);
    assert_true(tb[0] < ta[1]); /* b did not wait for a's queue */
    int n = times_of(r.f, "sendMessage", 0, all, NULL, 16);
    assert_int_equal(n, 8);
    for (int i = 1; i < n; i++)
        assert_true(all[i] - all[i - 1] >= 90000000LL); /* 1/10 s */
    rig_stop(&r);
}

/* Errors: the poller backs off and recovers; a send that failed on the
 * network or with a 5xx is sent again; a 400 is counted, not retried. */
static void test_errors_and_backoff(void **state)
{
    (void)state;
    rig_t r;
    nx_tg_opts_t o = {0};
    o.backoff_min_ms = 200;
    tgf_t *f = tgf_start();
    assert_non_null(f);
    const char *err = "{\"ok\":false,\"error_code\":502,\"description\":\"Bad Gateway\"}";
    for (int i = 0; i < 3; i++)
        tgf_fail_next(f, "getUpdates", 502, err);
    tgf_fail_next(f, "sendMessage", 500, err);
    tgf_fail_next(f, "sendMessage", 400,
                  "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: chat not "
                  "found\"}");
    rig_start_on(&r, f, &o, 0); /* the first getUpdates already fails */
    tgf_push_text(r.f, 9, "bob", 9, "/version");
    nx_tg_update_t *u = malloc(sizeof *u);
    assert_true(next_update(&r, u, 8000));
    assert_string_equal(u->text, "/version");
    int64_t t[8];
    int n = times_of(r.f, "getUpdates", 0, t, NULL, 8);
    assert_true(n >= 4);
    /* 100..200 ms, then 200..400, then 400..800: each wait longer */
    assert_true(t[1] - t[0] >= 100000000LL);
    assert_true(t[2] - t[1] >= 200000000LL);
    assert_true(t[3] - t[2] >= 400000000LL);
    assert_int_equal(nx_tg_send(r.tg, 9, "one", NULL, 0), 0);  /* 500, then sent */
    assert_int_equal(nx_tg_send(r.tg, 10, "two", NULL, 0), 0); /* 400: refused */
    int at = 0;
    assert_true(tgf_wait_request(r.f, &at, "sendMessage", 9, "one", 5000) >= 0);
    assert_true(tgf_wait_request(r.f, &at, "sendMessage", 9, "one", 5000) >= 0);
    nx_tg_stats_t st; /* until both are accounted for: one sent, two refused */
    for (int i = 0; i < 300 && (nx_tg_stats(r.tg, &st), st.sent < 2 || st.refused < 1); i++)
        usleep(10000);
    nx_tg_stats(r.tg, &st);
    assert_int_equal(st.poll_errors, 3);
    assert_int_equal(st.send_errors, 1);
    assert_int_equal(st.refused, 1);
    assert_int_equal(st.sent, 2); /* deleteWebhook, one */
    assert_int_equal(tgf_count(r.f, "sendMessage"), 3);
    free(u);
    rig_stop(&r);
}

/* A loopback port nobody listens on (just now). */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, (struct sockaddr *)&a, sizeof a);
    socklen_t al = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &al);
    close(s);
    return ntohs(a.sin_port);
}

/* Nothing listens: the poller keeps trying, more and more slowly. */
static void test_server_away(void **state)
{
    (void)state;
    rig_t r;
    nx_tg_opts_t o = {0};
    o.backoff_min_ms = 100;
    o.backoff_max_ms = 800;
    rig_start(&r, &o, free_port()); /* nobody behind it */
    /* each failure as it happens: the wait before the next grows from
     * 50..100 ms (jitter in [d/2, d]) to the cap, 400..800 ms */
    int64_t at[7];
    uint64_t seen = 0;
    nx_tg_stats_t st;
    for (int n = 0; n < 7;) {
        nx_tg_stats(r.tg, &st);
        if (st.poll_errors > seen) {
            seen = st.poll_errors;
            at[n++] = tgf_now();
        }
        assert_true(n == 0 || tgf_now() - at[0] < 20000000000LL);
        usleep(2000);
    }
    static const int64_t lo[] = {50, 100, 200, 400, 400, 400}; /* ms, the least of each wait */
    for (int i = 0; i < 6; i++) {
        int64_t gap = (at[i + 1] - at[i]) / 1000000;
        printf("# wait %d: %lld ms (at least %lld)\n", i + 1, (long long)gap, (long long)lo[i]);
        assert_true(gap >= lo[i] - 5);
        assert_true(gap <= 2 * lo[i] + 400); /* the cap holds (slack: a loaded machine) */
    }
    rig_stop(&r);
}

/* POST an update to the webhook listener with a secret header (or none). */
static int hook_post(int port, const char *secret, const char *body)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 50 && connect(s, (struct sockaddr *)&a, sizeof a); i++)
        usleep(20000);
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "POST /telegram HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     "application/json\r\n%s%s%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     secret ? "X-Telegram-Bot-Api-Secret-Token: " : "", secret ? secret : "",
                     secret ? "\r\n" : "", strlen(body), body);
    assert_int_equal(write(s, req, (size_t)n), n);
    char ans[1024] = "";
    ssize_t k = read(s, ans, sizeof ans - 1);
    close(s);
    int status = 0;
    if (k > 12)
        sscanf(ans, "HTTP/1.%*d %d", &status);
    return status;
}

static void test_webhook_secret(void **state)
{
    (void)state;
    rig_t r;
    nx_tg_opts_t o = {0};
    int port = free_port(); /* for the listener */
    o.webhook_url = "https://bot.example.org/telegram";
    o.webhook_port = (uint32_t)port;
    o.webhook_secret = "s3cret_Token-1";
    rig_start(&r, &o, 0);
    int at = 0;
    int k = tgf_wait_request(r.f, &at, "setWebhook", 0, NULL, 3000);
    assert_true(k >= 0);
    assert_string_equal(json_string_value(json_object_get(r.f->req[k].body, "secret_token")),
                        "s3cret_Token-1");
    assert_string_equal(json_string_value(json_object_get(r.f->req[k].body, "url")),
                        "https://bot.example.org/telegram");
    const char *up = "{\"update_id\":7,\"message\":{\"message_id\":1,\"from\":{\"id\":3,"
                     "\"is_bot\":false,\"first_name\":\"Eve\"},\"chat\":{\"id\":3,\"type\":"
                     "\"private\"},\"date\":1735689600,\"text\":\"/start\"}}";
    assert_int_equal(hook_post(port, NULL, up), 403);
    assert_int_equal(hook_post(port, "wrong", up), 403);
    nx_tg_update_t *u = malloc(sizeof *u);
    /* a refused POST is decided before its 403 is answered: nothing came in */
    assert_false(nx_tg_next(r.tg, u));
    assert_int_equal(hook_post(port, "s3cret_Token-1", up), 200);
    assert_true(next_update(&r, u, 2000));
    assert_string_equal(u->text, "/start");
    assert_int_equal(u->user_id, 3);
    assert_int_equal(tgf_count(r.f, "getUpdates"), 0); /* no polling in webhook mode */
    nx_tg_stats_t st;
    nx_tg_stats(r.tg, &st);
    assert_int_equal(st.webhook_refused, 2);
    assert_int_equal(st.webhook_posts, 3);
    free(u);
    rig_stop(&r);
}

/* At shutdown the network thread stops the client and destroys its
 * context while the service thread may still send (notifications of the
 * journal's last entries): a send after the stop is queued, or refused,
 * and never touches the destroyed context (ASan saw a use after free in
 * lws_cancel_service before). */
/* lws_cancel_service is wrapped at link time (CMakeLists: --wrap): once the
 * test has destroyed the context, a call would touch freed memory inside
 * libwebsockets, which no sanitizer sees (lws is not instrumented), so the
 * wrapper counts such calls instead of making them. */
void __real_lws_cancel_service(struct lws_context *ctx);
void __wrap_lws_cancel_service(struct lws_context *ctx);
static _Atomic int ctx_gone, woken_after_gone;
void __wrap_lws_cancel_service(struct lws_context *ctx)
{
    if (atomic_load(&ctx_gone)) {
        atomic_fetch_add(&woken_after_gone, 1);
        return;
    }
    __real_lws_cancel_service(ctx);
}

static void test_send_after_stop(void **state)
{
    (void)state;
    rig_t r;
    nx_tg_opts_t o = {0};
    rig_start(&r, &o, 0);
    r.stop = 1;
    pthread_join(r.th, NULL);
    nx_tg_stop(r.tg);
    nx_net_destroy(r.net); /* the context is gone */
    atomic_store(&ctx_gone, 1);
    nx_tg_stats_t before, after;
    nx_tg_stats(r.tg, &before);
    assert_int_equal(nx_tg_send(r.tg, 42, "late notice", NULL, 0), 0);
    nx_tg_stats(r.tg, &after);
    atomic_store(&ctx_gone, 0);
    assert_int_equal(atomic_load(&woken_after_gone), 0); /* the dead context untouched */
    assert_int_equal(after.queued, before.queued + 1);   /* kept: nothing can send it now */
    nx_tg_destroy(r.tg);
    tgf_stop(r.f);
}

/* Long polling as Telegram does it: the server holds an idle getUpdates
 * for the poll's timeout (7 s here, longer than any fixed HTTP timeout
 * a client might use). The held poll ends normally and the next follows at
 * once: no error, no backoff. */
static void test_long_poll_held(void **state)
{
    (void)state;
    rig_t r;
    nx_tg_opts_t o = {0};
    o.poll_timeout_s = 7;
    rig_start(&r, &o, 0);
    int at = 0;
    /* the fake logs a request when it answers it: after its hold */
    int k1 = tgf_wait_request(r.f, &at, "getUpdates", 0, NULL, 12000);
    assert_true(k1 >= 0);
    int k2 = tgf_wait_request(r.f, &at, "getUpdates", 0, NULL, 12000);
    assert_true(k2 >= 0);
    int64_t held = r.f->req[k2].at_ns - r.f->req[k1].at_ns;
    nx_tg_stats_t st;
    nx_tg_stats(r.tg, &st);
    printf("# second poll %.2f s after the first; poll errors %llu\n", (double)held / 1e9,
           (unsigned long long)st.poll_errors);
    assert_int_equal(st.poll_errors, 0);
    assert_true(held >= 6900000000LL); /* the second was held its whole timeout */
    assert_true(held < 9000000000LL);  /* and was asked at once after the first */
    rig_stop(&r);
}

/* A server that answers every getUpdates at once with nothing (no long
 * polling): the client does not spin. */
static void test_poll_not_spinning(void **state)
{
    (void)state;
    rig_t r;
    nx_tg_opts_t o = {0};
    o.poll_timeout_s = 5;
    tgf_t *f = tgf_start();
    assert_non_null(f);
    f->hold_polls = 0; /* answer at once */
    rig_start_on(&r, f, &o, 0);
    int at = 0;
    assert_true(tgf_wait_request(f, &at, "getUpdates", 0, NULL, 5000) >= 0);
    int64_t t0 = tgf_now();
    int n0 = tgf_count(f, "getUpdates");
    /* over three seconds, at most one empty answer a second comes back:
     * a client that spins asks hundreds of times */
    while (tgf_now() - t0 < 3000000000LL)
        usleep(50000);
    int polls = tgf_count(f, "getUpdates") - n0;
    printf("# %d polls in 3 s against a server that does not hold them\n", polls);
    assert_true(polls >= 2 && polls <= 5);
    /* an update is still taken at once */
    tgf_push_text(f, 77, "u", 77, "/ping");
    nx_tg_update_t u;
    assert_true(next_update(&r, &u, 3000));
    rig_stop(&r);
}

/* setMyCommands is nice to have: when the server keeps failing it (HTTP
 * 500), replies still go out at once, and it is given up after three
 * tries instead of being retried forever ahead of everything. */
static void test_optional_call_fails(void **state)
{
    (void)state;
    tgf_t *f = tgf_start();
    assert_non_null(f);
    for (int i = 0; i < 5; i++)
        tgf_fail_next(
            f, "setMyCommands", 500,
            "{\"ok\":false,\"error_code\":500,\"description\":\"Internal Server Error\"}");
    rig_t r;
    nx_tg_opts_t o = {0};
    o.commands_json = "[{\"command\":\"help\",\"description\":\"what you can do\"}]";
    o.backoff_min_ms = 1500; /* a failing call's wait: longer than a reply may take */
    o.backoff_max_ms = 3000;
    rig_start_on(&r, f, &o, 0);
    int at = 0;
    assert_true(tgf_wait_request(f, &at, "setMyCommands", 0, NULL, 5000) >= 0); /* failed once */
    int64_t t0 = tgf_now();
    assert_int_equal(nx_tg_send(r.tg, 42, "a reply", NULL, 0), 0);
    at = 0;
    int k = tgf_wait_request(f, &at, "sendMessage", 42, "a reply", 5000);
    assert_true(k >= 0);
    printf("# the reply left %.0f ms after it was queued, setMyCommands failing\n",
           (double)(f->req[k].at_ns - t0) / 1e6);
    assert_true(f->req[k].at_ns - t0 < 1000000000LL); /* not behind the failing call's backoff */
    int c = 0, n = 0;
    while (n < 3 && tgf_wait_request(f, &c, "setMyCommands", 0, NULL, 10000) >= 0)
        n++;
    assert_int_equal(n, 3);
    nx_tg_stats_t st;
    for (int i = 0; i < 100 && (nx_tg_stats(r.tg, &st), st.queued); i++)
        usleep(20000);
    assert_int_equal(st.queued, 0); /* given up: nothing waits for it */
    rig_stop(&r);
}

/* A person's reply goes ahead of the notices already waiting for their
 * chat (one message a second to a chat): they hear the answer to what
 * they asked first; the notices keep their order after it. */
static void test_reply_first(void **state)
{
    (void)state;
    rig_t r;
    nx_tg_opts_t o = {0};
    o.chat_per_s = 1;
    rig_start(&r, &o, 0);
    for (int i = 1; i <= 4; i++) {
        char t[32];
        snprintf(t, sizeof t, "notice %d", i);
        assert_int_equal(nx_tg_send(r.tg, 42, t, NULL, 0), 0);
    }
    assert_int_equal(nx_tg_reply(r.tg, 42, "the answer", NULL, 0), 0);
    int at = 0, order[5] = {0};
    for (int i = 0; i < 5; i++) {
        int k = tgf_wait_request(r.f, &at, "sendMessage", 42, NULL, 10000);
        assert_true(k >= 0);
        const char *t = json_string_value(json_object_get(r.f->req[k].body, "text"));
        order[i] = !strcmp(t, "the answer") ? 0 : atoi(t + 7);
    }
    printf("# sent: %d %d %d %d %d (0 = the answer)\n", order[0], order[1], order[2], order[3],
           order[4]);
    /* the first notice may have left already; the answer is next at the latest */
    assert_true(order[0] == 0 || (order[0] == 1 && order[1] == 0));
    int last = 0;
    for (int i = 0; i < 5; i++)
        if (order[i]) {
            assert_true(order[i] > last);
            last = order[i];
        }
    rig_stop(&r);
}

/* A text holding half of a UTF-16 surrogate pair, as people manage to
 * type: the update arrives (the half as U+FFFD), nothing before or after
 * it is lost, and no poll fails. */
static void test_lone_surrogate(void **state)
{
    (void)state;
    rig_t r;
    nx_tg_opts_t o = {0};
    rig_start(&r, &o, 0);
    const char *texts[] = {"before", "half \\ud83d of a smile", "\\udc00 low first",
                           "whole \\ud83d\\ude00 smile", "after \\\\ud83d kept as typed"};
    for (int i = 0; i < 5; i++) {
        int64_t id = tgf_next_id(r.f);
        char raw[512];
        snprintf(raw, sizeof raw,
                 "{\"update_id\":%lld,\"message\":{\"message_id\":%d,\"date\":1735689600,"
                 "\"chat\":{\"id\":42,\"type\":\"private\"},\"from\":{\"id\":42,\"is_bot\":false,"
                 "\"first_name\":\"u\"},\"text\":\"%s\"}}",
                 (long long)id, i + 1, texts[i]);
        tgf_push_raw(r.f, id, raw);
    }
    static const char *const want[] = {"before", "half \xef\xbf\xbd of a smile",
                                       "\xef\xbf\xbd low first", "whole \xf0\x9f\x98\x80 smile",
                                       "after \\ud83d kept as typed"};
    for (int i = 0; i < 5; i++) {
        nx_tg_update_t u;
        assert_true(next_update(&r, &u, 5000));
        assert_string_equal(u.text, want[i]);
    }
    nx_tg_stats_t st;
    nx_tg_stats(r.tg, &st);
    assert_int_equal(st.poll_errors, 0);
    assert_int_equal(st.malformed, 0);
    rig_stop(&r);
}

/* An approval request queued while the Bot API is away, which expires
 * before it could be sent, leaves as expired and without its buttons. */
static void test_expired_before_sent(void **state)
{
    (void)state;
    tgf_t *f = tgf_start();
    assert_non_null(f);
    for (int i = 0; i < 3; i++)
        tgf_fail_next(f, "sendMessage", 502,
                      "{\"ok\":false,\"error_code\":502,\"description\":\"Bad Gateway\"}");
    rig_t r;
    nx_tg_opts_t o = {0};
    o.backoff_min_ms = 1000;
    o.backoff_max_ms = 2000;
    rig_start_on(&r, f, &o, 0);
    assert_int_equal(nx_tg_send(r.tg, 42, "Approve <b>BUY</b>?",
                                "{\"inline_keyboard\":[[{\"text\":\"Approve\",\"callback_data\":"
                                "\"ap:7\"}]]}",
                                7),
                     0);
    int at = 0;
    assert_true(tgf_wait_request(f, &at, "sendMessage", 42, NULL, 5000) >= 0); /* 502 */
    nx_tg_stats_t st;
    for (int i = 0; i < 500 && (nx_tg_stats(r.tg, &st), st.retries < 1); i++)
        usleep(10000); /* until the client has it back in its outbox, waiting a second */
    assert_int_equal(st.retries, 1);
    assert_int_equal(nx_tg_amend_queued(r.tg, 7, "Approve <b>BUY</b>?\n\n<b>Expired</b>"), 1);
    assert_int_equal(nx_tg_amend_queued(r.tg, 8, "no such message"), 0);
    int k = -1;
    for (int i = 0; i < 3 && k < 0; i++) { /* the two other failures, then it leaves */
        int j = tgf_wait_request(f, &at, "sendMessage", 42, NULL, 10000);
        assert_true(j >= 0);
        if (f->req[j].status == 200)
            k = j;
    }
    assert_true(k >= 0);
    const char *t = json_string_value(json_object_get(f->req[k].body, "text"));
    assert_string_equal(t, "Approve <b>BUY</b>?\n\n<b>Expired</b>");
    assert_null(json_object_get(f->req[k].body, "reply_markup"));
    rig_stop(&r);
}

static void test_escape(void **state)
{
    (void)state;
    char out[64];
    nx_tg_escape("<b>a & \"b\"</b>", out, sizeof out);
    assert_string_equal(out, "&lt;b&gt;a &amp; &quot;b&quot;&lt;/b&gt;");
    nx_tg_escape("<<<<", out, 9);
    assert_string_equal(out, "&lt;&lt;");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* the fake answers clients that already left */
    nx_log_opts_t lo;
    nx_log_opts_default(&lo);
    nx_log_start(&lo);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_poll_send_and_acknowledge),
        cmocka_unit_test(test_sample_updates),
        cmocka_unit_test(test_malformed_survived),
        cmocka_unit_test(test_429_retry_after),
        cmocka_unit_test(test_pacing),
        cmocka_unit_test(test_errors_and_backoff),
        cmocka_unit_test(test_server_away),
        cmocka_unit_test(test_webhook_secret),
        cmocka_unit_test(test_send_after_stop),
        cmocka_unit_test(test_long_poll_held),
        cmocka_unit_test(test_poll_not_spinning),
        cmocka_unit_test(test_optional_call_fails),
        cmocka_unit_test(test_reply_first),
        cmocka_unit_test(test_lone_surrogate),
        cmocka_unit_test(test_expired_before_sent),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    nx_log_stop();
    return rc;
}
