/*
 * notify.c — what people are told without asking. From the journal, once
 * an entry is stored (the writer's tap calls nx_chat_on_event): signals
 * for WATCHER sessions and for pairs a user watches, approval requests
 * with Approve / Reject buttons (COPILOT) and their expiry, fills, closed
 * trades with their reason, orders the venue rejected, breaker trips,
 * protection locks and the pattern-day-trader rule holding entries back; to the owner: feed
 * problems (each kind once a minute however often it recurs) and plugins that failed to reload.
 *
 * Workload: a notification per fill or closed trade, a few per minute in a
 * busy replay; each looks its chat up in the users kept in memory.
 */
#include "chat_int.h"

#include "nx/clock.h"
#include "nx/fixed.h"
#include "nx/shield.h"

#include <stdio.h>
#include <string.h>

/* A plugin the watcher could not reload (a bad build, a bad signature):
 * the old version keeps running; the owner is told once per failure. */
void chat_check_plugins(nx_chat_t *b)
{
    int64_t now = nx_mono_ns();
    if (now < b->next_plugin_check_ns)
        return;
    b->next_plugin_check_ns = now + NX_NS_PER_SEC;
    nx_strategy_info_t si; /* the host reads it from the cortex: any thread may */
    for (int i = 0; i < NX_CORTEX_MAX_STRATEGIES && b->host.strategy(b->host.ctx, i, &si) == 0;
         i++) {
        if (si.reload_failures == b->plugin_failures[i])
            continue;
        b->plugin_failures[i] = si.reload_failures;
        char html[900], name[80], why[700];
        nx_tg_escape(si.name, name, sizeof name);
        nx_tg_escape(si.last_error, why, sizeof why);
        snprintf(html, sizeof html,
                 "Strategy plugin <b>%s</b> failed to reload; the running version stays: %s", name,
                 why);
        nx_chat_tell_owner(b, html);
    }
}

void nx_chat_on_event(nx_chat_t *b, const nx_event_t *ev)
{
    if (b->handling) { /* told once the person's reply is out (chat.c: handled) */
        if (b->n_deferred < CHAT_DEFERRED)
            b->deferred[b->n_deferred++] = *ev;
        else
            b->deferred_lost++;
        return;
    }
    char html[700], m1[NX_FIXED_FMT_MAX], m2[NX_FIXED_FMT_MAX], m3[NX_FIXED_FMT_MAX],
        m4[NX_FIXED_FMT_MAX];
    uint32_t sym = ev->hdr.symbol;
    switch (ev->hdr.type) {
    case NX_EV_DECISION: {
        const nx_ev_decision_t *d = &ev->u.decision;
        int64_t chat = chat_of_session(b, d->session);
        if (chat < 0)
            return;
        const char *side = d->side == NX_SIDE_BUY ? "BUY" : "SELL";
        chat_px(b, sym, d->price, m1);
        chat_qty(b, sym, d->qty, m2);
        chat_px(b, sym, d->stop_loss, m3);
        if (d->verdict == NX_V_NOTIFY ||
            (d->verdict != NX_V_ASK && !d->request && chat_watching(b, chat, sym))) {
            /* WATCHER: every signal; anyone: every signal on a watched pair,
             * with what the session made of it */
            static const char *const sides[] = {"?", "BUY", "SELL", "EXIT LONG", "EXIT SHORT"};
            char what[96] = "";
            if (d->verdict == NX_V_REJECT)
                snprintf(what, sizeof what, " (not taken: %s)", chat_reject_words(d->reason));
            else if (d->verdict != NX_V_NOTIFY)
                snprintf(what, sizeof what, " (taken: %s %s)", side, m2);
            snprintf(html, sizeof html, "Signal: <b>%s %s</b> at %s, stop %s%s",
                     d->signal_side < 5 ? sides[d->signal_side] : "?", chat_sym_name(b, sym), m1,
                     d->stop_loss ? m3 : "none", what);
            chat_say(b, chat, html, NULL, 0);
        } else if (d->verdict == NX_V_ASK && d->request) { /* ask: COPILOT */
            req_msg_t *r = NULL; /* a free or closed slot; else the one this id maps to */
            for (int i = 0; i < CHAT_REQS && !r; i++)
                if (b->req[i].state != 1)
                    r = &b->req[i];
            if (!r)
                r = &b->req[d->request % CHAT_REQS];
            memset(r, 0, sizeof *r);
            r->request = d->request;
            r->session = d->session;
            r->chat = chat;
            r->state = 1;
            chat_px(b, sym, d->take_profit, m4);
            snprintf(
                r->text, sizeof r->text,
                "Approve <b>%s %s %s</b> at %s?\nStop %s, target %s\nRequest %u expires in %llds",
                side, m2, chat_sym_name(b, sym), m1, d->stop_loss ? m3 : "none",
                d->take_profit ? m4 : "none", d->request,
                (long long)((d->expires_ns - ev->hdr.recv_ns) / NX_NS_PER_SEC));
            char kb[256];
            snprintf(kb, sizeof kb,
                     "{\"inline_keyboard\":[[{\"text\":\"Approve\",\"callback_data\":\"ap:%u\"},"
                     "{\"text\":\"Reject\",\"callback_data\":\"rj:%u\"}]]}",
                     d->request, d->request);
            chat_say(b, chat, r->text, kb, d->request);
        } else if (d->request) { /* the request's outcome */
            req_msg_t *r = chat_req_find(b, d->request);
            if (r && r->state == 1 && d->reason == NX_REJ_EXPIRED) {
                snprintf(html, sizeof html, "%s\n\n<b>Expired</b>: nothing was done.", r->text);
                /* not sent yet (an outage, pacing): it leaves as expired,
                 * without live buttons; sent: edited */
                if (r->message_id || !b->tg || !nx_tg_amend_queued(b->tg, r->request, html))
                    chat_edit(b, r->chat, r->message_id, html);
                r->state = 2;
            }
        }
        break;
    }
    case NX_EV_ORDER_UPDATE: {
        const nx_ev_order_update_t *o = &ev->u.order;
        int64_t chat = chat_of_session(b, o->session);
        if (chat < 0)
            return;
        if (o->last_qty > 0) {
            chat_px(b, sym, o->last_px, m1);
            chat_qty(b, sym, o->last_qty, m2);
            snprintf(html, sizeof html, "Filled: %s %s %s at %s",
                     o->side == NX_SIDE_BUY ? "BUY" : "SELL", m2, chat_sym_name(b, sym), m1);
            chat_say(b, chat, html, NULL, 0);
        } else if (o->status == NX_OS_REJECTED) {
            snprintf(html, sizeof html,
                     "⚠️ An order on %s was rejected by the venue: %s (order %llu).",
                     chat_sym_name(b, sym), nx_order_reject_name((nx_order_reject_t)o->reason),
                     (unsigned long long)o->client_id);
            chat_say(b, chat, html, NULL, 0);
        }
        break;
    }
    case NX_EV_NOTICE: {
        const nx_ev_notice_t *n = &ev->u.notice;
        if (n->kind == NX_NOTE_BADTICK) { /* the engine's: for the owner */
            chat_px(b, sym, n->exit_px, m1);
            chat_px(b, sym, n->entry_px, m2);
            char more[64] = "";
            if (n->qty > 1)
                snprintf(more, sizeof more, " (%lld held out since the last notice)",
                         (long long)n->qty);
            snprintf(html, sizeof html,
                     "⚠️ Bad market data on %s from %s held out%s: a print at %s (%s%s%s). "
                     "Nothing was traded on it.",
                     chat_sym_name(b, sym), nx_venue_name((nx_venue_t)ev->hdr.venue), more, m1,
                     nx_bad_name((nx_bad_kind_t)n->reason),
                     n->entry_px ? "; recent prices near " : "", n->entry_px ? m2 : "");
            nx_chat_tell_owner(b, html);
            break;
        }
        int64_t chat = chat_of_session(b, n->session);
        if (chat < 0)
            return;
        if (n->kind == NX_NOTE_POSITION_MISMATCH) {
            chat_qty(b, sym, n->qty, m1);
            chat_qty(b, sym, n->entry_px, m2);
            snprintf(html, sizeof html,
                     "⚠️ Your %s position at the venue is %s, but Nexus holds %s. Nexus opens "
                     "nothing new in this session until you have looked: check it on the venue, "
                     "then /resume.",
                     chat_sym_name(b, sym), m1, m2);
            chat_say(b, chat, html, NULL, 0);
            break;
        }
        if (n->kind == NX_NOTE_POSITION_ADOPTED) {
            chat_qty(b, sym, n->qty < 0 ? -n->qty : n->qty, m1);
            chat_px(b, sym, n->entry_px, m2);
            chat_px(b, sym, n->exit_px, m3);
            snprintf(html, sizeof html,
                     "Nexus found a %s %s %s position at the venue that it did not open and has "
                     "taken it over: entry %s, stop at %s. It manages it as its own from now.",
                     n->qty > 0 ? "long" : "short", m1, chat_sym_name(b, sym), m2, m3);
            chat_say(b, chat, html, NULL, 0);
            break;
        }
        if (n->kind == NX_NOTE_BALANCE_SHORT) {
            snprintf(html, sizeof html,
                     "⚠️ Your wallet at the venue holds %s USDT, less than this session's "
                     "balance of %s. Nexus opens nothing new in this session until you have "
                     "looked: check the account, then /resume.",
                     chat_money(b, n->qty, m1), chat_money(b, n->entry_px, m2));
            chat_say(b, chat, html, NULL, 0);
            break;
        }
        if (n->kind == NX_NOTE_VENUE) {
            const char *on = sym == NX_SYMBOL_NONE ? "your account" : chat_sym_name(b, sym);
            switch (n->reason) {
            case NX_VN_LIQUIDATED:
                snprintf(html, sizeof html, "⚠️ The venue liquidated your %s position.", on);
                break;
            case NX_VN_ADL:
                snprintf(html, sizeof html,
                         "⚠️ The venue's auto-deleveraging closed your %s position.", on);
                break;
            case NX_VN_MARGIN_KEPT:
                snprintf(html, sizeof html,
                         "The venue kept its own margin type on %s (there was a position or an "
                         "open order on it); Nexus trades on under it.",
                         on);
                break;
            case NX_VN_LEVERAGE_REFUSED:
                snprintf(html, sizeof html,
                         "The venue refused leverage %lldx on %s; its own leverage applies.",
                         (long long)n->qty, on);
                break;
            case NX_VN_SLOWED_DOWN:
                snprintf(html, sizeof html,
                         "The venue asked Nexus to slow down: a new entry on %s was not sent. "
                         "Exits and stops still go.",
                         on);
                break;
            case NX_VN_NOT_PLACED:
                snprintf(html, sizeof html,
                         "⚠️ An order on %s could not be placed after three tries; check the "
                         "position on the venue.",
                         on);
                break;
            case NX_VN_FOREIGN_ORDER:
                if (n->qty)
                    snprintf(html, sizeof html,
                             "⚠️ An order Nexus did not place is open on %s at the venue. Nexus "
                             "opens nothing new in this session until you have looked: cancel "
                             "it or keep it, then /resume.",
                             on);
                else
                    snprintf(html, sizeof html,
                             "An order Nexus did not place is open on %s at the venue. Nexus "
                             "leaves it alone and takes over the position if it fills.",
                             on);
                break;
            case NX_VN_ORPHAN_CANCELLED:
                snprintf(html, sizeof html,
                         "An order Nexus sent on %s just before a restart, and had not saved, "
                         "was still at the venue: Nexus cancelled it (the position keeps its "
                         "own stop).",
                         on);
                break;
            case NX_VN_QUOTA_HELD:
                snprintf(html, sizeof html,
                         "Orders on %s are held back a moment to stay within the venue's "
                         "quotas; they go as the quota frees.",
                         on);
                break;
            default:
                return;
            }
            chat_say(b, chat, html, NULL, 0);
            break;
        }
        if (n->kind == NX_NOTE_CLOSED) {
            chat_px(b, sym, n->entry_px, m1);
            chat_px(b, sym, n->exit_px, m2);
            snprintf(html, sizeof html, "Closed %s %s (%s): %s → %s, P&amp;L <b>%s</b>",
                     n->dir > 0 ? "long" : "short", chat_sym_name(b, sym),
                     chat_exit_words(n->reason), m1, m2, chat_money(b, n->pnl, m3));
        } else if (n->kind == NX_NOTE_BREAKER) {
            snprintf(html, sizeof html,
                     "Circuit breaker tripped after losing trades: no new "
                     "entries %s.",
                     n->until_ns == INT64_MAX ? "until /reset" : "for a while");
        } else if (n->kind == NX_NOTE_REFUSED) {
            snprintf(html, sizeof html, "Not entering %s: %s.",
                     sym == NX_SYMBOL_NONE ? "a pair" : chat_sym_name(b, sym),
                     chat_reject_words(n->reason));
        } else if (n->kind == NX_NOTE_LOCK) {
            snprintf(html, sizeof html, "Protection lock on %s (%s)%s.",
                     sym == NX_SYMBOL_NONE ? "every pair" : chat_sym_name(b, sym),
                     chat_lock_words(n->reason), n->until_ns == INT64_MAX ? " until /unlock" : "");
        } else {
            return;
        }
        chat_say(b, chat, html, NULL, 0);
        break;
    }
    case NX_EV_STATUS: {
        const nx_ev_status_t *s = &ev->u.status;
        if (s->code == NX_ST_CONNECTED || s->code == NX_ST_BOOK_RESYNCED || s->code >= 8 ||
            ev->hdr.venue >= NX_VENUE_COUNT)
            return;
        /* the feeds closing because the engine stops are not a problem */
        if (b->host.stopping(b->host.ctx))
            return;
        /* a flapping feed: the owner hears of each kind of problem once a minute */
        int64_t *told = &b->feed_told_ns[ev->hdr.venue][s->code], now = nx_mono_ns();
        if (*told && now - *told < 60 * NX_NS_PER_SEC)
            return;
        *told = now;
        static const char *const what[] = {"?",        "connected",     "disconnected", "stale",
                                           "book gap", "book resynced", "ring overrun"};
        char esc[128];
        nx_tg_escape(s->detail, esc, sizeof esc);
        snprintf(html, sizeof html, "Feed %s %s: %s", nx_venue_name((nx_venue_t)ev->hdr.venue),
                 s->code < 7 ? what[s->code] : "?", esc);
        nx_chat_tell_owner(b, html);
        break;
    }
    default:
        break;
    }
}
