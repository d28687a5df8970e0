/*
 * engine_live.c — the live venues wired into the engine (see engine.h):
 * which sessions trade live, their keys from the vault into the adapter
 * (nx/binance_live.h), the adapter on the network thread's loop, and its
 * order updates onto the market ring, which the network thread alone
 * produces, for the engine thread's desk.
 */
#include "engine.h"

#include "nx/error.h"
#include "nx/log.h"
#include "nx/net.h"
#include "nx/vault.h"

#include <stdio.h>
#include <string.h>

/* Network thread (the adapter's callbacks run on the loop): an order
 * update becomes an NX_EV_ORDER_UPDATE event on the market ring. The ring
 * never blocks its producer; a full one loses the update, and the adapter's
 * reconciliation after a gap, or the next update of the same order (a
 * status only moves forward), carries what it said. */
static void live_update(void *ctx, uint32_t symbol, const nx_ev_order_update_t *u)
{
    nx_engine_t *e = ctx;
    uint64_t seq;
    if (nx_bus_claim(e->market, 1, &seq) != 1) {
        NX_ERROR("binance", "market ring full: an order update for session %u was dropped",
                 u->session);
        return;
    }
    nx_event_t *ev = nx_bus_event(e->market, seq);
    ev->hdr.type = NX_EV_ORDER_UPDATE;
    ev->hdr.venue = NX_VENUE_BINANCE_USDM;
    ev->hdr.symbol = symbol;
    ev->hdr.exch_ns = 0;
    ev->hdr.recv_ns = nx_clock_now(&e->clock);
    ev->u.order = *u;
    nx_ring_publish(e->market, seq + 1);
}

/* Network thread: a notice on the market ring for the engine thread; 0 if
 * the ring is full. */
static int live_publish(nx_engine_t *e, uint32_t session, uint32_t symbol, uint8_t kind,
                        uint8_t reason, int64_t qty, int64_t px)
{
    uint64_t seq;
    if (nx_bus_claim(e->market, 1, &seq) != 1)
        return 0;
    nx_event_t *ev = nx_bus_event(e->market, seq);
    memset(&ev->u, 0, sizeof ev->u);
    ev->hdr.type = NX_EV_NOTICE;
    ev->hdr.venue = NX_VENUE_BINANCE_USDM;
    ev->hdr.symbol = symbol;
    ev->hdr.exch_ns = 0;
    ev->hdr.recv_ns = nx_clock_now(&e->clock);
    ev->u.notice.kind = kind;
    ev->u.notice.reason = reason;
    ev->u.notice.session = session;
    ev->u.notice.qty = qty;
    ev->u.notice.entry_px = px;
    nx_ring_publish(e->market, seq + 1);
    return 1;
}

/* The venue's position of a session and its entry price, for the engine
 * thread's desk to compare (not journaled); lost on a full ring, the next
 * reconnection asks again. */
static void live_position(void *ctx, uint32_t session, uint32_t symbol, int64_t qty,
                          int64_t entry_px)
{
    live_publish(ctx, session, symbol, NX_NOTE_VENUE_POSITION, 0, qty, entry_px);
}

/* The venue's wallet of a session's account, for the desk to compare. */
static void live_balance(void *ctx, uint32_t session, int64_t wallet_e8)
{
    live_publish(ctx, session, NX_SYMBOL_NONE, NX_NOTE_VENUE_BALANCE, 0, wallet_e8, 0);
}

/* Something the session's person should know (the adapter logged it):
 * told in words through the journal. */
static void live_notice(void *ctx, uint32_t session, uint8_t what, uint32_t symbol, int64_t value,
                        const char *text)
{
    if (!live_publish(ctx, session, symbol, NX_NOTE_VENUE, what, value, 0))
        NX_WARN("binance", "session %u: the market ring is full; \"%s\" is only in the log",
                session, text);
}

static const char *exec_name(uint8_t exec)
{
    return nx_config_execution_name(exec);
}

/* Keys live on the user's session row of the venue (one per user and
 * venue): a testnet session's are testnet keys, a real one's real keys. */
#define KEYS_VENUE "binance-usdm"

int engine_live_init(nx_engine_t *e)
{
    if (!e->n_live || e->verify_only)
        return 0;
    const nx_config_t *cfg = e->cfg;
    char err[512];
    nx_vault_t *v = NULL;
    int rc = nx_vault_load(&v, cfg->storage.key_file, err, sizeof err);
    if (rc) {
        NX_ERROR("binance", "live sessions need their users' keys, and the keys need the master "
                 "key: %s", err);
        return rc;
    }
    if (!e->net && !(e->net = nx_net_create(&e->clock))) {
        nx_vault_free(v);
        return NX_ESYSTEM;
    }
    nx_desk_set_foreign(e->desk, (int)cfg->live.foreign_adopt);
    for (uint32_t i = 0; i < e->n_live && !rc; i++) {
        uint8_t x = e->live_sessions[i].exec;
        if (!e->live[x]) {
            const nx_config_endpoints_t *ep =
                x == NX_EXEC_BINANCE ? &cfg->live.binance_usdm : &cfg->live.binance_usdm_testnet;
            nx_bnlive_opts_t o;
            memset(&o, 0, sizeof o);
            o.symtab = e->symtab;
            o.ctx = nx_net_context(e->net);
            o.rest_url = ep->rest_url;
            o.ws_api_url = ep->ws_api_url[0] ? ep->ws_api_url : NULL;
            o.stream_url = ep->stream_url;
            o.recv_window_ms = cfg->live.recv_window_ms;
            o.answer_timeout_ms = cfg->live.answer_timeout_ms;
            o.quota_pct = cfg->live.quota_pct;
            o.margin_type = cfg->live.margin_type == NX_MARGIN_ISOLATED ? "ISOLATED"
                            : cfg->live.margin_type == NX_MARGIN_CROSS  ? "CROSSED"
                                                                        : NULL;
            o.on_update = live_update;
            o.on_notice = live_notice;
            o.on_position = live_position;
            o.on_balance = live_balance;
            o.ctx_cb = e;
            if (!(e->live[x] = nx_bnlive_create(&o))) {
                NX_ERROR("binance", "cannot make the %s adapter (endpoints %s, %s)",
                         exec_name(x), ep->rest_url, ep->stream_url);
                rc = NX_ECONFIG;
                break;
            }
        }
        nx_secret_t *key = NULL, *secret = NULL;
        rc = nx_keys_get(v, e->store, e->live_sessions[i].user, KEYS_VENUE, &key, &secret);
        if (rc) {
            NX_ERROR("binance",
                     "session %u (%s) trades on %s but user %lld has no Binance keys stored: "
                     "store them with `nexus keys set CHAT_ID binance-usdm` (the user's chat "
                     "id; key and secret on standard input), or /keys in a private chat",
                     e->live_sessions[i].session, e->live_sessions[i].name, exec_name(x),
                     (long long)e->live_sessions[i].user);
            rc = NX_ECONFIG;
            break;
        }
        rc = nx_bnlive_add_account(e->live[x], e->live_sessions[i].session, key->bytes,
                                   secret->bytes, secret->len);
        nx_secret_free(key);
        nx_secret_free(secret);
        if (rc || (rc = nx_desk_set_venue(e->desk, e->live_sessions[i].session,
                                          nx_bnlive_bridge(e->live[x])))) {
            NX_ERROR("binance", "session %u (%s): %s", e->live_sessions[i].session,
                     e->live_sessions[i].name, nx_strerror(rc));
            break;
        }
        NX_INFO("binance", "session %u (%s, user %lld) trades on %s with its user's own keys",
                e->live_sessions[i].session, e->live_sessions[i].name,
                (long long)e->live_sessions[i].user, exec_name(x));
    }
    nx_vault_free(v);
    return rc;
}

int engine_live_adopt(nx_engine_t *e, const nx_ev_order_intent_t *in, uint32_t symbol)
{
    for (uint32_t i = 0; i < e->n_live; i++)
        if (e->live_sessions[i].session == in->session)
            return e->live[e->live_sessions[i].exec]
                       ? nx_bnlive_adopt(e->live[e->live_sessions[i].exec], in, symbol)
                       : 0;
    return NX_ENOENT;
}

void engine_live_protect(nx_engine_t *e)
{
    uint32_t nsym = nx_symtab_count(e->symtab);
    for (uint32_t i = 0; i < e->n_live; i++) {
        nx_bnlive_t *b = e->live[e->live_sessions[i].exec];
        uint32_t session = e->live_sessions[i].session;
        for (uint32_t y = 0; b && y < nsym; y++) {
            nx_oms_pos_state_t p;
            if (nx_desk_position_state(e->desk, session, y, &p) || !p.qty)
                continue;
            for (int k = 0; k < 2; k++) {
                uint64_t clid = k ? p.tp_clid : p.sl_clid;
                int64_t level = k ? p.tp : (p.trail_stop ? p.trail_stop : p.sl);
                if (!clid || !level)
                    continue;
                nx_ev_order_intent_t in;
                memset(&in, 0, sizeof in);
                in.client_id = clid;
                in.session = session;
                in.side = p.qty > 0 ? NX_SIDE_SELL : NX_SIDE_BUY;
                in.order_type = k ? NX_ORD_TAKE_PROFIT_MARKET : NX_ORD_STOP_MARKET;
                in.price = level;
                in.qty = p.qty < 0 ? -p.qty : p.qty;
                in.reduce_only = 1;
                in.leverage = p.leverage;
                if (nx_bnlive_adopt(b, &in, y) == 0)
                    NX_WARN("binance",
                            "session %u: the %s of a restored position was not stored as an "
                            "order; the venue is asked about it and it is placed if missing",
                            session, k ? "take-profit" : "stop-loss");
            }
        }
    }
}

void engine_live_start(nx_engine_t *e)
{
    for (int x = 0; x < 3; x++)
        if (e->live[x])
            nx_bnlive_start(e->live[x]);
}

void engine_live_release(nx_engine_t *e)
{
    for (int x = 0; x < 3; x++) {
        if (!e->live[x])
            continue;
        nx_bnlive_stats_t st;
        nx_bnlive_stats(e->live[x], &st);
        NX_INFO("binance",
                "%s: sent ws=%llu rest=%llu, answers=%llu, refused=%llu (venue) %llu (local), "
                "unknown=%llu, resent=%llu, stream events=%llu gaps=%llu, max weight %u%%, max "
                "orders %u%%/10s %u%%/1m",
                exec_name((uint8_t)x), (unsigned long long)st.sent_ws,
                (unsigned long long)st.sent_rest, (unsigned long long)st.answers,
                (unsigned long long)st.rejects, (unsigned long long)st.local_refusals,
                (unsigned long long)st.unknown, (unsigned long long)st.resent,
                (unsigned long long)st.stream_events, (unsigned long long)st.stream_gaps,
                st.max_weight_pct, st.max_orders_10s_pct, st.max_orders_1m_pct);
        nx_bnlive_destroy(e->live[x]);
        e->live[x] = NULL;
    }
}
