/*
 * vsim_server.c — the venue simulator's server (venuesim.h): a
 * libwebsockets context on 127.0.0.1 with REST, the WebSocket API and the
 * user-data streams on one port. Here a request is authenticated (API key,
 * signature, timestamp), charged against the quotas, delayed or lost as
 * the faults say, and handed to the trading core (vsim.c); the answer
 * goes back in the venue's envelope with its rate-limit headers.
 *
 * Every connection's state is guarded by the simulator's mutex, because
 * the core pushes user-data events from nx_vsim_on_market's thread: it
 * queues them on the account's stream connections and wakes the loop
 * (lws_cancel_service, the one libwebsockets call any thread may make);
 * the loop then asks each connection with queued frames to write.
 */
#include "vsim_impl.h"

#include "nx/clock.h"
#include "nx/error.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VS_CONNS 256
#define VS_QUEUE 4096 /* frames a slow reader may owe before it is dropped */

enum { C_HTTP = 0, C_API, C_USER };

typedef struct frame {
    char *p;
    size_t n;
    int64_t at_ns; /* not before (fault "slow") */
} frame_t;

typedef struct conn {
    struct lws *wsi;
    int kind, slot, closing;
    uint32_t account;
    /* HTTP */
    char method[8], path[128];
    char query[4096];
    char *body;
    size_t body_n, body_cap;
    char *resp;
    size_t resp_n;
    int status, hang, retry_after_s, handled;
    int64_t resp_at_ns;
    char hdr[3][24]; /* weight, orders 10s, orders 1m */
    /* WebSocket */
    frame_t q[VS_QUEUE];
    uint32_t qh, qt;
    char *rx;
    size_t rx_n, rx_cap;
} conn_t;

typedef struct server {
    struct lws_context *ctx;
    int port;
    atomic_int stop;
    conn_t *conns[VS_CONNS];
    lws_sorted_usec_list_t tick;
    int64_t last_expiry_check;
} server_t;

/* ---------- connections ---------- */

static void conn_add(nx_vsim_t *s, conn_t *c)
{
    server_t *v = s->server;
    for (int i = 0; i < VS_CONNS; i++)
        if (v->conns[i] == c)
            return; /* already listed */
    c->slot = -1;
    for (int i = 0; i < VS_CONNS; i++)
        if (!v->conns[i]) {
            v->conns[i] = c;
            c->slot = i;
            return;
        }
}

static void conn_del(nx_vsim_t *s, conn_t *c)
{
    server_t *v = s->server;
    if (c->slot >= 0 && v->conns[c->slot] == c)
        v->conns[c->slot] = NULL;
    c->slot = -1;
    while (c->qh != c->qt)
        free(c->q[c->qh++ % VS_QUEUE].p);
    free(c->rx);
    c->rx = NULL;
}

static void push(conn_t *c, char *p, size_t n, int64_t at_ns)
{
    if (c->qt - c->qh >= VS_QUEUE) { /* a reader this far behind is cut off */
        free(p);
        c->closing = 2;
        return;
    }
    c->q[c->qt++ % VS_QUEUE] = (frame_t){p, n, at_ns};
}

/* the core's events for an account's streams (mutex held) */
static void user_out(nx_vsim_t *s, uint32_t account, char *frame, size_t len)
{
    server_t *v = s->server;
    int sent = 0;
    for (int i = 0; i < VS_CONNS; i++) {
        conn_t *c = v->conns[i];
        if (!c || c->kind != C_USER || c->account != account || c->closing)
            continue;
        char *p = frame;
        if (sent++) {
            p = malloc(len + 1);
            if (!p)
                continue;
            memcpy(p, frame, len + 1);
        }
        push(c, p, len, 0);
    }
    if (!sent)
        free(frame); /* nobody listening: lost, as on the venue */
    if (v->ctx)
        lws_cancel_service(v->ctx);
}

static void user_close(nx_vsim_t *s, uint32_t account, int at_once)
{
    server_t *v = s->server;
    for (int i = 0; i < VS_CONNS; i++) {
        conn_t *c = v->conns[i];
        if (c && c->kind == C_USER && c->account == account)
            c->closing = at_once ? 2 : 1;
    }
    if (v->ctx)
        lws_cancel_service(v->ctx);
}

/* ---------- quotas ---------- */

static void windows(nx_vsim_t *s, int64_t now)
{
    /* windows open at the first request after the last one closed, so a
     * test's burst never straddles a boundary by chance */
    if (now - s->w_start >= 60000) {
        s->w_start = now;
        s->weight = 0;
    }
}

static void acc_windows(vs_account_t *a, int64_t now)
{
    if (now - a->o10_start >= 10000) {
        a->o10_start = now;
        a->o10 = 0;
    }
    if (now - a->o60_start >= 60000) {
        a->o60_start = now;
        a->o60 = 0;
    }
}

static void pct(uint32_t *max, uint32_t used, uint32_t limit)
{
    uint32_t p = limit ? (uint32_t)((uint64_t)used * 100 / limit) : 0;
    if (p > *max)
        *max = p;
}

static int is_place(const char *op)
{
    return !strcmp(op, "order.place") || !strcmp(op, "algoOrder.place") ||
           !strcmp(op, "order.modify"); /* a modify counts as an order */
}

/* Charge a request: keyed = 0, its IP weight (before anything else);
 * keyed = 1, once the account is known, its order count. 0 to go on, or
 * 1 with the answer (429/418) in out and the seconds to wait. Mutex held. */
static int charge(nx_vsim_t *s, const char *op, const vs_req_t *r, int keyed, vs_resp_t *out,
                  int *retry_s)
{
    int64_t now = vs_now_ms(s);
    if (keyed) {
        if (!is_place(op))
            return 0;
        vs_account_t *a = &s->acc[r->account];
        acc_windows(a, now);
        if (a->o10 + 1 > s->o.orders_10s || a->o60 + 1 > s->o.orders_1m) {
            int ten = a->o10 + 1 > s->o.orders_10s;
            int64_t until = ten ? a->o10_start + 10000 : a->o60_start + 60000;
            s->st.http429++;
            *retry_s = (int)((until - now + 999) / 1000);
            vs_fail(out, 429, -1015, "Too many new orders; current limit is %u orders per %s.",
                    ten ? s->o.orders_10s : s->o.orders_1m, ten ? "TEN_SECONDS" : "MINUTE");
            return 1;
        }
        return 0;
    }
    windows(s, now);
    if (s->banned_until_ms > now) {
        /* still sending after a 429: the venue bans the IP (418), longer each time */
        int64_t ban = (s->banned_until_ms - now) * 2 + 2000;
        s->banned_until_ms = now + ban;
        s->st.http418++;
        *retry_s = (int)((ban + 999) / 1000);
        vs_fail(out, 418, -1003, "Way too many requests; IP(127.0.0.1) banned until %lld. Please "
                "use the websocket for live updates to avoid bans.",
                (long long)s->banned_until_ms);
        return 1;
    }
    if (s->f_429 > 0) {
        s->f_429--;
        s->banned_until_ms = now + s->f_429_ms;
        s->st.http429++;
        *retry_s = (int)((s->f_429_ms + 999) / 1000);
        vs_fail(out, 429, -1003, "Too many requests; current limit of IP(127.0.0.1) request weight "
                "per minute is %u. Please use WebSocket Streams for live updates to avoid polling "
                "the API.",
                s->o.weight_1m);
        return 1;
    }
    uint32_t w = vs_weight(op, r);
    if (s->weight + w > s->o.weight_1m) {
        s->banned_until_ms = s->w_start + 60000;
        s->st.http429++;
        *retry_s = (int)((s->banned_until_ms - now + 999) / 1000);
        vs_fail(out, 429, -1003, "Too many requests; current limit of IP(127.0.0.1) request weight "
                "per minute is %u. Please use WebSocket Streams for live updates to avoid polling "
                "the API.",
                s->o.weight_1m);
        return 1;
    }
    s->weight += w;
    pct(&s->st.max_weight_pct, s->weight, s->o.weight_1m);
    return 0;
}

static void count_order(nx_vsim_t *s, uint32_t account)
{
    vs_account_t *a = &s->acc[account];
    a->o10++;
    a->o60++;
    pct(&s->st.max_orders_10s_pct, a->o10, s->o.orders_10s);
    pct(&s->st.max_orders_1m_pct, a->o60, s->o.orders_1m);
}

/* ---------- authentication ---------- */

static int check_time(nx_vsim_t *s, const vs_req_t *r, vs_resp_t *out)
{
    const vs_param_t *t = vs_param(r, "timestamp"), *w = vs_param(r, "recvWindow");
    if (!t || !t->vn) {
        vs_fail(out, 400, -1102,
                "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.");
        return 0;
    }
    long long ts = strtoll(t->v, NULL, 10), win = w ? strtoll(w->v, NULL, 10) : 5000;
    int64_t now = vs_now_ms(s);
    if (ts >= now + 1000 || now - ts > win) {
        s->st.bad_timestamp++;
        vs_fail(out, 400, -1021, "Timestamp for this request is outside of the recvWindow.");
        return 0;
    }
    return 1;
}

/* ---------- parameters ---------- */

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                               : -1;
}

/* Split "k=v&k=v" in place into r (values percent-decoded in place). */
static void parse_form(char *s, size_t n, vs_req_t *r)
{
    size_t i = 0;
    while (i < n && r->np < VS_PARAMS) {
        size_t j = i;
        while (j < n && s[j] != '&')
            j++;
        char *k = s + i, *eq = memchr(k, '=', j - i);
        if (eq) {
            char *v = eq + 1;
            size_t vn = (size_t)(s + j - v), o = 0;
            for (size_t x = 0; x < vn; x++) {
                if (v[x] == '%' && x + 2 < vn && hexv(v[x + 1]) >= 0 && hexv(v[x + 2]) >= 0) {
                    v[o++] = (char)(hexv(v[x + 1]) * 16 + hexv(v[x + 2]));
                    x += 2;
                } else
                    v[o++] = v[x] == '+' ? ' ' : v[x];
            }
            r->p[r->np++] = (vs_param_t){k, v, (size_t)(eq - k), o};
        }
        i = j + 1;
    }
}

/* Cut "signature=<hex>" out of a query or body; the hex into sig. */
static void cut_signature(char *s, size_t *n, char *sig, size_t cap)
{
    char *p = s;
    while ((p = strstr(p, "signature=")) != NULL) {
        if (p == s || p[-1] == '&')
            break;
        p++;
    }
    if (!p)
        return;
    char *e = p + 10;
    size_t k = 0;
    while (e < s + *n && *e != '&') {
        if (k + 1 < cap)
            sig[k++] = *e;
        e++;
    }
    sig[k] = 0;
    char *from = p > s ? p - 1 : p; /* with the '&' before it */
    if (from == s && e < s + *n && *e == '&')
        e++; /* first parameter: drop the '&' after it instead */
    memmove(from, e, (size_t)(s + *n - e) + 1);
    *n -= (size_t)(e - from);
}

/* ---------- HTTP ---------- */

/* The query string: libwebsockets keeps its arguments as fragments
 * (percent-decoded), joined here with '&' as they were sent. */
static void copy_query(struct lws *wsi, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (int i = 0;; i++) {
        char frag[2048];
        int k = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (k < 0)
            break;
        if (n + (size_t)k + 2 > cap)
            break;
        if (i)
            out[n++] = '&';
        memcpy(out + n, frag, (size_t)k);
        n += (size_t)k;
        out[n] = 0;
    }
}

static const char *route(const char *m, const char *path)
{
    static const struct {
        const char *m, *path, *op;
    } t[] = {
        {"POST", "/fapi/v1/order", "order.place"},
        {"DELETE", "/fapi/v1/order", "order.cancel"},
        {"PUT", "/fapi/v1/order", "order.modify"},
        {"GET", "/fapi/v1/order", "order.status"},
        {"GET", "/fapi/v1/openOrders", "openOrders"},
        {"DELETE", "/fapi/v1/allOpenOrders", "allOpenOrders.cancel"},
        {"POST", "/fapi/v1/algoOrder", "algoOrder.place"},
        {"DELETE", "/fapi/v1/algoOrder", "algoOrder.cancel"},
        {"GET", "/fapi/v1/algoOrder", "algoOrder.status"},
        {"GET", "/fapi/v1/openAlgoOrders", "openAlgoOrders"},
        {"DELETE", "/fapi/v1/algoOpenOrders", "algoOpenOrders.cancel"},
        {"GET", "/fapi/v3/positionRisk", "positionRisk"},
        {"GET", "/fapi/v2/positionRisk", "positionRisk"},
        {"GET", "/fapi/v3/balance", "balance"},
        {"GET", "/fapi/v2/balance", "balance"},
        {"POST", "/fapi/v1/leverage", "leverage"},
        {"POST", "/fapi/v1/marginType", "marginType"},
        {"GET", "/fapi/v1/userTrades", "userTrades"},
        {"GET", "/fapi/v1/allOrders", "allOrders"},
        {"GET", "/fapi/v1/forceOrders", "forceOrders"},
        {"POST", "/fapi/v1/listenKey", "listenKey.create"},
        {"PUT", "/fapi/v1/listenKey", "listenKey.keepalive"},
        {"DELETE", "/fapi/v1/listenKey", "listenKey.close"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(t[i].m, m) && !strcmp(t[i].path, path))
            return t[i].op;
    return NULL;
}

static void answer(conn_t *c, int status, char *body, size_t n)
{
    c->status = status;
    c->resp = body;
    c->resp_n = n;
}

static void answer_error(conn_t *c, vs_resp_t *r)
{
    free(r->result.p);
    r->result.p = NULL;
    vs_sb_t b = {0};
    vs_sbf(&b, "{\"code\":%d,\"msg\":\"%s\"}", r->code, r->msg);
    answer(c, r->status, b.p, b.n);
}

static int64_t mono_ns(void)
{
    return nx_mono_ns();
}

/* A whole HTTP request is in: route, authenticate, charge, run, answer.
 * Mutex held. */
static void http_request(nx_vsim_t *s, conn_t *c)
{
    vs_sb_t b = {0};
    if (c->handled++)
        return; /* libwebsockets may report the end of an empty body too */
    s->st.requests++;
    if (!strcmp(c->path, "/_sim/status")) {
        nx_vsim_stats_t *t = &s->st;
        vs_sbf(&b, "{\"requests\":%llu,\"orders\":%llu,\"algo_orders\":%llu,\"fills\":%llu,"
               "\"rejects\":%llu,\"http429\":%llu,\"http418\":%llu,\"max_weight_pct\":%u,"
               "\"max_orders_10s_pct\":%u,\"max_orders_1m_pct\":%u,\"user_events\":%llu,"
               "\"bad_key\":%llu,\"bad_signature\":%llu,\"bad_timestamp\":%llu,"
               "\"venue_cancels\":%llu,\"liquidations\":%llu,\"scheduled_faults\":%llu}",
               (unsigned long long)t->requests, (unsigned long long)t->orders,
               (unsigned long long)t->algo_orders, (unsigned long long)t->fills,
               (unsigned long long)t->rejects, (unsigned long long)t->http429,
               (unsigned long long)t->http418, t->max_weight_pct, t->max_orders_10s_pct,
               t->max_orders_1m_pct, (unsigned long long)t->user_events,
               (unsigned long long)t->bad_key, (unsigned long long)t->bad_signature,
               (unsigned long long)t->bad_timestamp, (unsigned long long)t->venue_cancels,
               (unsigned long long)t->liquidations, (unsigned long long)t->scheduled_faults);
        answer(c, 200, b.p, b.n);
        return;
    }
    if (!strcmp(c->path, "/_sim/fault")) {
        vs_req_t r;
        memset(&r, 0, sizeof r);
        parse_form(c->query, strlen(c->query), &r);
        const vs_param_t *k = vs_param(&r, "kind"), *n = vs_param(&r, "n"),
                         *ms = vs_param(&r, "ms"), *code = vs_param(&r, "code"),
                         *every = vs_param(&r, "every");
        char kind[32] = "", why[256] = "";
        if (k)
            snprintf(kind, sizeof kind, "%.*s", (int)k->vn, k->v);
        pthread_mutex_unlock(&s->mu); /* nx_vsim_fault takes it */
        int64_t nn = n ? strtoll(n->v, NULL, 10) : 1, mm = ms ? strtoll(ms->v, NULL, 10) : 0;
        int cc = code ? (int)strtol(code->v, NULL, 10) : 0;
        int rc = every ? nx_vsim_schedule(s, kind, strtoll(every->v, NULL, 10), nn, mm, cc, why,
                                          sizeof why)
                       : nx_vsim_fault(s, kind, nn, mm, cc, why, sizeof why);
        pthread_mutex_lock(&s->mu);
        if (rc)
            vs_sbf(&b, "{\"code\":-1,\"msg\":\"%s\"}", why);
        else
            vs_sbf(&b, "{\"fault\":\"%s\"}", kind);
        answer(c, rc ? 400 : 200, b.p, b.n);
        return;
    }
    vs_req_t r;
    memset(&r, 0, sizeof r);
    vs_resp_t out;
    memset(&out, 0, sizeof out);
    out.status = 200;
    const char *op = route(c->method, c->path);
    int public_ = !strcmp(c->path, "/fapi/v1/time") || !strcmp(c->path, "/fapi/v1/exchangeInfo");
    int retry = 0;
    if (!op && !public_) {
        vs_sbf(&b, "{\"code\":-5000,\"msg\":\"Path %s, Method %s is invalid\"}", c->path,
               c->method);
        answer(c, 404, b.p, b.n);
        return;
    }
    /* the signature covers the query, then the body, exactly as sent */
    char sig[80] = "";
    size_t qn = strlen(c->query), bn = c->body_n;
    cut_signature(c->query, &qn, sig, sizeof sig);
    if (c->body)
        cut_signature(c->body, &bn, sig, sizeof sig);
    char *total = malloc(qn + bn + 1);
    if (!total)
        return;
    memcpy(total, c->query, qn);
    if (bn)
        memcpy(total + qn, c->body, bn);
    total[qn + bn] = 0;
    char *form = malloc(qn + bn + 2); /* the parameters of both, parsed */
    if (!form) {
        free(total);
        return;
    }
    memcpy(form, c->query, qn);
    form[qn] = '&';
    if (bn)
        memcpy(form + qn + 1, c->body, bn);
    form[qn + 1 + bn] = 0;
    parse_form(form, qn + 1 + bn, &r);
    r.op = op ? op : c->path;
    char key[VS_KEY_MAX] = "";
    int kn = lws_hdr_custom_copy(c->wsi, key, sizeof key, "x-mbx-apikey:", 13);
    if (charge(s, r.op, &r, 0, &out, &retry)) {
        c->retry_after_s = retry;
        answer_error(c, &out);
        goto done;
    }
    if (public_) {
        if (!strcmp(c->path, "/fapi/v1/time"))
            vs_sbf(&b, "{\"serverTime\":%lld}", (long long)vs_now_ms(s));
        else
            vs_sbf(&b, "%.*s", (int)s->exchange_info_len, s->exchange_info);
        answer(c, 200, b.p, b.n);
        goto done;
    }
    int a = kn > 0 ? vs_account_find(s, key, (size_t)kn) : -1;
    if (kn <= 0 || a < 0) {
        s->st.bad_key++;
        vs_fail(&out, 401, kn <= 0 ? -2014 : -2015,
                kn <= 0 ? "API-key format invalid." : "Invalid API-key, IP, or permissions for action.");
        answer_error(c, &out);
        goto done;
    }
    r.account = (uint32_t)a;
    if (strncmp(r.op, "listenKey.", 10)) { /* SIGNED */
        if (!sig[0]) {
            vs_fail(&out, 400, -1102,
                    "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.");
            answer_error(c, &out);
            goto done;
        }
        if (!nx_hmac_sha256_verify(s->acc[a].key, total, qn + bn, sig, strlen(sig))) {
            s->st.bad_signature++;
            vs_fail(&out, 400, -1022, "Signature for this request is not valid.");
            answer_error(c, &out);
            goto done;
        }
        if (!check_time(s, &r, &out)) {
            answer_error(c, &out);
            goto done;
        }
        if (charge(s, r.op, &r, 1, &out, &retry) && out.code) {
            c->retry_after_s = retry;
            answer_error(c, &out);
            goto done;
        }
    }
    if ((is_place(r.op) && s->f_timeout > 0) ||
        (!strcmp(r.op, "algoOrder.place") && s->f_timeout_algo > 0)) {
        if (!strcmp(r.op, "algoOrder.place") && s->f_timeout_algo > 0)
            s->f_timeout_algo--;
        else
            s->f_timeout--;
        s->st.timeouts++;
        c->hang = 1;
        goto done;
    }
    vs_handle(s, &r, &out);
    if (out.is_order && !out.code && is_place(r.op))
        count_order(s, r.account);
    vs_account_t *acc = &s->acc[r.account];
    snprintf(c->hdr[0], sizeof c->hdr[0], "%u", s->weight);
    if (is_place(r.op)) {
        snprintf(c->hdr[1], sizeof c->hdr[1], "%u", acc->o10);
        snprintf(c->hdr[2], sizeof c->hdr[2], "%u", acc->o60);
    }
    if (is_place(r.op) && !out.code && s->f_unknown > 0) {
        s->f_unknown--;
        s->st.unknown_answers++;
        free(out.result.p);
        vs_sbf(&b, "{\"code\":-1000,\"msg\":\"Unknown error, please check your request or try "
               "again later.\"}");
        answer(c, 503, b.p, b.n);
        goto done;
    }
    if (out.code)
        answer_error(c, &out);
    else
        answer(c, out.status, out.result.p, out.result.n);
done:
    if (!c->hdr[0][0])
        snprintf(c->hdr[0], sizeof c->hdr[0], "%u", s->weight);
    if (s->f_slow > 0 && !c->hang) {
        s->f_slow--;
        c->resp_at_ns = mono_ns() + s->f_slow_ms * 1000000;
    }
    free(total);
    free(form);
}

static int http_write(nx_vsim_t *s, conn_t *c)
{
    (void)s;
    if (c->hang || !c->resp)
        return 0;
    if (c->resp_at_ns && mono_ns() < c->resp_at_ns)
        return 0; /* the tick asks again */
    uint8_t hbuf[LWS_PRE + 1024], *start = &hbuf[LWS_PRE], *p = start, *end = &hbuf[sizeof hbuf - 1];
    if (lws_add_http_common_headers(c->wsi, (unsigned)c->status, "application/json",
                                    (lws_filepos_t)c->resp_n, &p, end))
        return -1;
    static const char *const names[3] = {"X-MBX-USED-WEIGHT-1M:", "X-MBX-ORDER-COUNT-10S:",
                                         "X-MBX-ORDER-COUNT-1M:"};
    for (int i = 0; i < 3; i++)
        if (c->hdr[i][0] &&
            lws_add_http_header_by_name(c->wsi, (const unsigned char *)names[i],
                                        (const unsigned char *)c->hdr[i], (int)strlen(c->hdr[i]),
                                        &p, end))
            return -1;
    if (c->retry_after_s) {
        char ra[16];
        int n = snprintf(ra, sizeof ra, "%d", c->retry_after_s);
        if (lws_add_http_header_by_name(c->wsi, (const unsigned char *)"Retry-After:",
                                        (const unsigned char *)ra, n, &p, end))
            return -1;
    }
    if (lws_finalize_write_http_header(c->wsi, start, &p, end))
        return -1;
    unsigned char *buf = malloc(LWS_PRE + c->resp_n + 1);
    if (!buf)
        return -1;
    memcpy(buf + LWS_PRE, c->resp, c->resp_n);
    int n = lws_write(c->wsi, buf + LWS_PRE, c->resp_n, LWS_WRITE_HTTP_FINAL);
    free(buf);
    free(c->resp);
    c->resp = NULL;
    if (n < 0)
        return -1;
    return lws_http_transaction_completed(c->wsi) ? -1 : 0;
}

/* ---------- the WebSocket API ---------- */

static int cmp_param(const void *a, const void *b)
{
    const vs_param_t *x = a, *y = b;
    size_t n = x->kn < y->kn ? x->kn : y->kn;
    int c = memcmp(x->k, y->k, n);
    return c ? c : (x->kn > y->kn) - (x->kn < y->kn);
}

static void rate_limits(nx_vsim_t *s, vs_sb_t *b, int account)
{
    uint32_t o10 = account >= 0 ? s->acc[account].o10 : 0, o60 = account >= 0 ? s->acc[account].o60 : 0;
    vs_sbf(b, ",\"rateLimits\":[{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"MINUTE\","
           "\"intervalNum\":1,\"limit\":%u,\"count\":%u},{\"rateLimitType\":\"ORDERS\","
           "\"interval\":\"SECOND\",\"intervalNum\":10,\"limit\":%u,\"count\":%u},"
           "{\"rateLimitType\":\"ORDERS\",\"interval\":\"MINUTE\",\"intervalNum\":1,\"limit\":%u,"
           "\"count\":%u}]}",
           s->o.weight_1m, s->weight, s->o.orders_10s, o10, s->o.orders_1m, o60);
}

static void ws_api(nx_vsim_t *s, conn_t *c, const char *text, size_t len)
{
    s->st.ws_requests++;
    s->st.requests++;
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    json_t *jid = root ? json_object_get(root, "id") : NULL;
    char *id = jid ? json_dumps(jid, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    const char *method = root ? json_string_value(json_object_get(root, "method")) : NULL;
    json_t *params = root ? json_object_get(root, "params") : NULL;
    vs_req_t r;
    memset(&r, 0, sizeof r);
    vs_resp_t out;
    memset(&out, 0, sizeof out);
    out.status = 200;
    char scratch[VS_PARAMS][32];
    char sig[80] = "";
    int account = -1, retry = 0, lost = 0;
    if (!root || !method) {
        vs_fail(&out, 400, -1102, "Invalid JSON request.");
        goto reply;
    }
    r.ws = 1;
    r.op = method;
    const char *k;
    json_t *v;
    json_object_foreach(params, k, v)
    {
        if (r.np == VS_PARAMS)
            break;
        const char *val = NULL;
        if (json_is_string(v))
            val = json_string_value(v);
        else if (json_is_integer(v)) {
            snprintf(scratch[r.np], sizeof scratch[r.np], "%lld", (long long)json_integer_value(v));
            val = scratch[r.np];
        } else if (json_is_boolean(v))
            val = json_is_true(v) ? "true" : "false";
        else
            continue;
        if (!strcmp(k, "signature")) {
            snprintf(sig, sizeof sig, "%s", val);
            continue;
        }
        r.p[r.np++] = (vs_param_t){k, val, strlen(k), strlen(val)};
    }
    if (strcmp(method, "order.place") && strcmp(method, "order.cancel") &&
        strcmp(method, "order.modify") &&
        strcmp(method, "order.status") && strcmp(method, "algoOrder.place") &&
        strcmp(method, "algoOrder.cancel")) {
        vs_fail(&out, 400, -1, "Unknown method.");
        goto reply;
    }
    if (charge(s, method, &r, 0, &out, &retry))
        goto reply;
    const vs_param_t *ak = vs_param(&r, "apiKey");
    account = ak ? vs_account_find(s, ak->v, ak->vn) : -1;
    if (account < 0) {
        s->st.bad_key++;
        vs_fail(&out, 401, ak ? -2015 : -2014,
                ak ? "Invalid API-key, IP, or permissions for action." : "API-key format invalid.");
        goto reply;
    }
    r.account = (uint32_t)account;
    /* the signed payload: every parameter but signature, sorted by name */
    qsort(r.p, (size_t)r.np, sizeof r.p[0], cmp_param);
    vs_sb_t pl = {0};
    for (int i = 0; i < r.np; i++)
        vs_sbf(&pl, "%s%.*s=%.*s", i ? "&" : "", (int)r.p[i].kn, r.p[i].k, (int)r.p[i].vn,
               r.p[i].v);
    int sig_ok = sig[0] && pl.p && nx_hmac_sha256_verify(s->acc[account].key, pl.p, pl.n, sig,
                                                          strlen(sig));
    free(pl.p);
    if (!sig[0]) {
        vs_fail(&out, 400, -1102,
                "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.");
        goto reply;
    }
    if (!sig_ok) {
        s->st.bad_signature++;
        vs_fail(&out, 400, -1022, "Signature for this request is not valid.");
        goto reply;
    }
    if (!check_time(s, &r, &out))
        goto reply;
    if (charge(s, method, &r, 1, &out, &retry) && out.code)
        goto reply;
    if (!strcmp(method, "algoOrder.place") && s->f_timeout_algo > 0) {
        s->f_timeout_algo--;
        s->st.timeouts++;
        goto end;
    }
    if (is_place(method) && s->f_timeout > 0) { /* never reaches the matching engine */
        s->f_timeout--;
        s->st.timeouts++;
        goto end;
    }
    vs_handle(s, &r, &out);
    if (out.is_order && !out.code && is_place(method))
        count_order(s, r.account);
    if (is_place(method) && !out.code && s->f_unknown > 0) {
        s->f_unknown--;
        s->st.unknown_answers++;
        lost = 1; /* executed; the answer never comes */
    }
reply:
    if (!lost) {
        vs_sb_t b = {0};
        vs_sbf(&b, "{\"id\":%s,\"status\":%d", id ? id : "null", out.code ? out.status : 200);
        if (out.code) {
            vs_sbf(&b, ",\"error\":{\"code\":%d,\"msg\":\"%s\"", out.code, out.msg);
            if (retry)
                vs_sbf(&b, ",\"data\":{\"retryAfter\":%lld}",
                       (long long)(vs_now_ms(s) + (int64_t)retry * 1000));
            vs_sbf(&b, "}");
        } else
            vs_sbf(&b, ",\"result\":%.*s", (int)out.result.n, out.result.p ? out.result.p : "{}");
        rate_limits(s, &b, account);
        int64_t at = 0;
        if (s->f_slow > 0) {
            s->f_slow--;
            at = mono_ns() + s->f_slow_ms * 1000000;
        }
        if (b.p)
            push(c, b.p, b.n, at);
        lws_callback_on_writable(c->wsi);
    }
end:
    free(out.result.p);
    free(id);
    json_decref(root);
}

/* ---------- WebSocket connections ---------- */

static int ws_write(conn_t *c)
{
    /* closing 1: after what is queued (an expired key's event); 2: at
     * once, the queue lost (a dropped stream) */
    if (c->closing == 2 || (c->closing && c->qh == c->qt)) {
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1;
    }
    if (c->qh == c->qt)
        return 0;
    frame_t *f = &c->q[c->qh % VS_QUEUE];
    if (f->at_ns && mono_ns() < f->at_ns)
        return 0; /* delayed: the tick asks again */
    unsigned char *buf = malloc(LWS_PRE + f->n + 1);
    if (!buf)
        return -1;
    memcpy(buf + LWS_PRE, f->p, f->n);
    int n = lws_write(c->wsi, buf + LWS_PRE, f->n, LWS_WRITE_TEXT);
    free(buf);
    free(f->p);
    c->qh++;
    if (n < (int)f->n)
        return -1;
    if (c->qh != c->qt || c->closing)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static int established(nx_vsim_t *s, struct lws *wsi, conn_t *c)
{
    memset(c, 0, sizeof *c);
    c->wsi = wsi;
    char uri[256] = "", args[512] = "";
    lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
    copy_query(wsi, args, sizeof args);
    vs_resp_t out;
    int retry;
    memset(&out, 0, sizeof out);
    vs_req_t r;
    memset(&r, 0, sizeof r);
    if (charge(s, "ws.connect", &r, 0, &out, &retry))
        return -1; /* the handshake itself costs weight (5 on the venue; 1 here) */
    if (!strcmp(uri, "/ws-fapi/v1")) {
        c->kind = C_API;
        s->st.api_connections++;
        conn_add(s, c);
        return 0;
    }
    const char *key = NULL;
    if (!strncmp(uri, "/ws/", 4))
        key = uri + 4;
    else if (!strcmp(uri, "/private/ws") || !strcmp(uri, "/ws")) {
        char *k = strstr(args, "listenKey=");
        if (k) {
            key = k + 10;
            char *amp = strchr(k, '&');
            if (amp)
                *amp = 0;
        }
    }
    int64_t now = vs_now_ms(s);
    if (key && s->user_down_until_ms && now < s->user_down_until_ms)
        return -1; /* fault "drop_user" with a time: the stream stays down until then */
    for (int i = 0; key && i < VS_ACCOUNTS; i++) {
        vs_account_t *a = &s->acc[i];
        if (a->used && a->listen_expiry_ms > now && !strcmp(a->listen_key, key)) {
            c->kind = C_USER;
            c->account = (uint32_t)i;
            s->st.user_connections++;
            conn_add(s, c);
            return 0;
        }
    }
    return -1; /* no such listen key */
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    nx_vsim_t *s = lws_context_user(lws_get_context(wsi));
    server_t *v = s ? s->server : NULL;
    conn_t *c = user;
    int rc = 0;
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        memset(c, 0, sizeof *c);
        c->wsi = wsi;
        c->kind = C_HTTP;
        snprintf(c->path, sizeof c->path, "%s", (const char *)in);
        const char *m = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI)     ? "POST"
                        : lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI)    ? "PUT"
                        : lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI) ? "DELETE"
                                                                          : "GET";
        snprintf(c->method, sizeof c->method, "%s", m);
        copy_query(wsi, c->query, sizeof c->query);
        char cl[24] = "";
        lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH);
        if (strcmp(m, "GET") && atol(cl) > 0)
            return 0; /* the body follows */
        pthread_mutex_lock(&s->mu);
        conn_add(s, c);
        http_request(s, c);
        pthread_mutex_unlock(&s->mu);
        lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_HTTP_BODY:
        if (!len)
            return 0;
        if (c->body_n + len + 1 > c->body_cap) {
            size_t cap = (c->body_n + len + 1) * 2;
            char *b = realloc(c->body, cap);
            if (!b)
                return -1;
            c->body = b;
            c->body_cap = cap;
        }
        memcpy(c->body + c->body_n, in, len);
        c->body_n += len;
        c->body[c->body_n] = 0;
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        pthread_mutex_lock(&s->mu);
        conn_add(s, c);
        http_request(s, c);
        pthread_mutex_unlock(&s->mu);
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        pthread_mutex_lock(&s->mu);
        rc = http_write(s, c);
        pthread_mutex_unlock(&s->mu);
        return rc;
    case LWS_CALLBACK_CLOSED_HTTP:
        if (!c || !s)
            break;
        pthread_mutex_lock(&s->mu);
        conn_del(s, c);
        free(c->body);
        free(c->resp);
        c->body = c->resp = NULL;
        pthread_mutex_unlock(&s->mu);
        break;
    case LWS_CALLBACK_ESTABLISHED:
        pthread_mutex_lock(&s->mu);
        rc = established(s, wsi, c);
        pthread_mutex_unlock(&s->mu);
        return rc;
    case LWS_CALLBACK_RECEIVE: {
        pthread_mutex_lock(&s->mu);
        if (c->kind == C_API) {
            if (c->rx_n + len + 1 > c->rx_cap) {
                size_t cap = (c->rx_n + len + 1) * 2;
                char *b = realloc(c->rx, cap);
                if (!b) {
                    pthread_mutex_unlock(&s->mu);
                    return -1;
                }
                c->rx = b;
                c->rx_cap = cap;
            }
            memcpy(c->rx + c->rx_n, in, len);
            c->rx_n += len;
            if (lws_is_final_fragment(wsi)) {
                ws_api(s, c, c->rx, c->rx_n);
                c->rx_n = 0;
            }
        }
        pthread_mutex_unlock(&s->mu);
        break;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE:
        pthread_mutex_lock(&s->mu);
        rc = ws_write(c);
        pthread_mutex_unlock(&s->mu);
        return rc;
    case LWS_CALLBACK_CLOSED:
        pthread_mutex_lock(&s->mu);
        if (c->kind == C_USER && s->st.user_connections)
            s->st.user_connections--;
        if (c->kind == C_API && s->st.api_connections)
            s->st.api_connections--;
        conn_del(s, c);
        pthread_mutex_unlock(&s->mu);
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        /* every connection ends here, whether or not a CLOSED callback
         * came first: its state leaves the list before lws frees it */
        if (!c || !s)
            break;
        pthread_mutex_lock(&s->mu);
        for (int i = 0; i < VS_CONNS; i++)
            if (v->conns[i] == c)
                v->conns[i] = NULL;
        if (c->kind == C_HTTP) {
            free(c->body);
            free(c->resp);
            c->body = c->resp = NULL;
        }
        pthread_mutex_unlock(&s->mu);
        break;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (!v)
            break;
        pthread_mutex_lock(&s->mu);
        for (int i = 0; i < VS_CONNS; i++) {
            conn_t *x = v->conns[i];
            if (x && x->kind != C_HTTP && (x->qh != x->qt || x->closing))
                lws_callback_on_writable(x->wsi);
        }
        pthread_mutex_unlock(&s->mu);
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"venuesim", callback, sizeof(conn_t), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Every 5 ms: delayed answers coming due, listen keys running out. */
static void on_tick(lws_sorted_usec_list_t *sul)
{
    server_t *v = lws_container_of(sul, server_t, tick);
    nx_vsim_t *s = lws_context_user(v->ctx);
    pthread_mutex_lock(&s->mu);
    int64_t now = mono_ns();
    for (int i = 0; i < VS_CONNS; i++) {
        conn_t *c = v->conns[i];
        if (!c)
            continue;
        if ((c->kind == C_HTTP && c->resp && !c->hang && c->resp_at_ns) ||
            (c->kind != C_HTTP && c->qh != c->qt && c->q[c->qh % VS_QUEUE].at_ns))
            lws_callback_on_writable(c->wsi);
    }
    if (now - v->last_expiry_check > 200 * NX_NS_PER_MS) {
        v->last_expiry_check = now;
        vs_expire_keys(s, 0);
    }
    vs_run_schedule(s);
    pthread_mutex_unlock(&s->mu);
    lws_sul_schedule(v->ctx, 0, &v->tick, on_tick, 5000);
}

int vs_server_create(nx_vsim_t *s)
{
    server_t *v = calloc(1, sizeof *v);
    if (!v)
        return NX_ENOMEM;
    s->server = v;
    s->user_out = user_out;
    s->user_close = user_close;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = s->o.port;
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.user = s;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    lws_set_log_level(s->o.quiet ? 0 : LLL_ERR, NULL);
    v->ctx = lws_create_context(&info);
    if (!v->ctx)
        return NX_ESYSTEM;
    struct lws_vhost *vh = lws_get_vhost_by_name(v->ctx, "default");
    v->port = vh ? lws_get_vhost_listen_port(vh) : s->o.port;
    lws_sul_schedule(v->ctx, 0, &v->tick, on_tick, 5000);
    return 0;
}

void vs_server_destroy(nx_vsim_t *s)
{
    server_t *v = s->server;
    if (!v)
        return;
    if (v->ctx)
        lws_context_destroy(v->ctx);
    free(v);
    s->server = NULL;
}

int nx_vsim_port(const nx_vsim_t *s)
{
    return ((const server_t *)s->server)->port;
}

int nx_vsim_run(nx_vsim_t *s)
{
    server_t *v = s->server;
    while (!atomic_load(&v->stop))
        if (lws_service(v->ctx, 0) < 0)
            return NX_ESYSTEM;
    return 0;
}

void nx_vsim_stop(nx_vsim_t *s)
{
    server_t *v = s->server;
    atomic_store(&v->stop, 1);
    if (v->ctx)
        lws_cancel_service(v->ctx);
}
