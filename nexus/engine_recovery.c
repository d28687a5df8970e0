/*
 * engine_recovery.c — what start-up does with the saved state, before any
 * thread runs (see desk.h for the steps): client-order and approval ids
 * continue after the stored ones; the venue's book, each session's saved
 * state and the stored fills are read from storage and handed to the desk,
 * which reconciles them; every difference goes to the audit log and, once
 * the chat layer runs, to the owner.
 */
#include "engine.h"

#include "nx/error.h"
#include "nx/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Client-order and approval ids continue after the stored ones. */
int engine_resume_ids(nx_engine_t *e)
{
    uint32_t req = 0;
    int rc = nx_store_last_request(e->store, &req);
    if (!rc)
        nx_desk_resume_requests(e->desk, req);
    for (uint32_t i = 0; !rc && i < nx_desk_sessions(e->desk); i++) {
        uint32_t s = nx_desk_session_at(e->desk, i);
        uint64_t seq = 0;
        if (!(rc = nx_store_last_client_seq(e->store, s, &seq))) {
            /* a live session's last orders may have reached the venue and
             * not the database (a crash between the two): its ids continue
             * after a gap, so no id the venue may hold is used again */
            for (uint32_t k = 0; k < e->n_live; k++)
                if (e->live_sessions[k].session == s)
                    seq += NX_ENGINE_LIVE_ID_GAP;
            rc = nx_desk_resume_ids(e->desk, s, seq);
        }
    }
    if (rc)
        NX_ERROR("store", "cannot read the last order and request ids: %s",
                 nx_store_error(e->store));
    return rc;
}

typedef struct recovery {
    nx_engine_t *e;
    nx_desk_fills_t *f;
    int n, cap, held;
} recovery_t;

static void recovery_report(void *ctx, uint32_t session, const char *text)
{
    recovery_t *r = ctx;
    char detail[320];
    snprintf(detail, sizeof detail, "session %u: %s", session, text);
    size_t used = strlen(r->e->recovery_notes);
    snprintf(r->e->recovery_notes + used, sizeof r->e->recovery_notes - used, "%s\n", detail);
    /* the owner reads it in the audit log (and from the chat layer) */
    if (!r->e->verify_only && nx_store_audit(r->e->store, 0, r->e->cfg->storage.owner_chat_id,
                                             "reconcile_mismatch", detail))
        NX_ERROR("store", "cannot record a reconciliation report: %s", nx_store_error(r->e->store));
}

static int recover_order(void *ctx, const nx_store_order_t *o)
{
    recovery_t *r = ctx;
    /* a live session's order rests at its venue: its adapter follows it;
     * a paper session's rests at the paper venue again */
    int rc = !o->ok ? NX_EINVAL : engine_live_adopt(r->e, &o->in, o->symbol);
    if (rc == NX_ENOENT)
        rc = nx_desk_restore_order(r->e->desk, &o->in, o->symbol);
    if (rc) /* the venue lacks it: reconciliation holds its session */
        NX_ERROR("recovery", "stored order %llu (session %u) cannot rest at the venue again: %s",
                 (unsigned long long)o->in.client_id, o->in.session, nx_strerror(rc));
    return 0;
}

static int recover_fill(void *ctx, const nx_store_fill_t *f)
{
    recovery_t *r = ctx;
    /* an unreadable fill proves nothing: its session is held (nx_desk_reconcile) */
    uint32_t symbol = f->ok ? f->symbol : NX_SYMBOL_NONE;
    nx_desk_fills_t *last = r->n ? &r->f[r->n - 1] : NULL;
    if (f->ok && last && last->session == f->session && last->symbol == f->symbol) {
        last->net_qty += f->qty;
        if (f->seq > last->last_seq)
            last->last_seq = f->seq;
        return 0;
    }
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 64;
        nx_desk_fills_t *g = realloc(r->f, (size_t)cap * sizeof *g);
        if (!g)
            return 1;
        r->f = g;
        r->cap = cap;
    }
    r->f[r->n++] = (nx_desk_fills_t){f->session, symbol, f->ok ? f->qty : 0, f->seq};
    return 0;
}

/* Two readings of the stored fills give the same sums (rows may come in
 * another order; a sum of zero is the same as none). */
static int same_sums(const recovery_t *a, const recovery_t *b)
{
    for (int pass = 0; pass < 2; pass++) {
        const recovery_t *x = pass ? b : a, *y = pass ? a : b;
        for (int i = 0; i < x->n; i++) {
            const nx_desk_fills_t *f = &x->f[i];
            int64_t mine = 0, other = 0;
            for (int k = 0; k < x->n; k++)
                if (x->f[k].session == f->session && x->f[k].symbol == f->symbol)
                    mine += x->f[k].net_qty;
            for (int k = 0; k < y->n; k++)
                if (y->f[k].session == f->session && y->f[k].symbol == f->symbol)
                    other += y->f[k].net_qty;
            if (other != mine)
                return 0;
        }
    }
    return 1;
}

static int recover_state(void *ctx, uint32_t session, uint64_t seq, const char *text, size_t len)
{
    recovery_t *r = ctx;
    nx_desk_restore(r->e->desk, session, seq, text, len); /* a failure holds the session */
    return 0;
}

/* The venue's book, then each session's saved state, then both against
 * the stored fills: a session that does not agree stays paused. */
int engine_recover(nx_engine_t *e)
{
    recovery_t r = {e, NULL, 0, 0, 0};
    uint64_t last_fill = 0;
    int rc = nx_store_last_fill_id(e->store, &last_fill);
    if (!rc) {
        nx_desk_resume_fills(e->desk, last_fill);
        rc = nx_store_open_orders(e->store, e->symtab, recover_order, &r);
    }
    if (!rc)
        rc = nx_store_states(e->store, recover_state, &r);
    /* the fills since the last checkpoint, and a new checkpoint; `nexus db
     * status` (verify_only) changes nothing, reads every fill and checks the
     * checkpoint against them */
    uint64_t read = 0;
    if (!rc)
        rc = nx_store_fill_sums(e->store, e->symtab,
                                e->verify_only ? NX_FILLS_ALL : NX_FILLS_CHECKPOINT, recover_fill,
                                &r, &read);
    recovery_t c = {e, NULL, 0, 0, 0};
    if (!rc && e->verify_only)
        rc = nx_store_fill_sums(e->store, e->symtab, NX_FILLS_SINCE, recover_fill, &c, NULL);
    if (rc) {
        NX_ERROR("store", "cannot read the saved state: %s", nx_store_error(e->store));
        free(r.f);
        free(c.f);
        return rc;
    }
    if (e->verify_only && !same_sums(&r, &c)) {
        NX_ERROR("recovery", "the stored fills do not add up to their checkpoint (fill_sums): "
                             "start-up would miss a difference between fills and positions");
        e->checkpoint_bad = 1;
    }
    free(c.f);
    if (!e->verify_only)
        NX_INFO("recovery", "stored fills checked: %llu read since the last checkpoint, %d sum%s",
                (unsigned long long)read, r.n, r.n == 1 ? "" : "s");
    r.held = nx_desk_reconcile(e->desk, r.f, r.n, recovery_report, &r);
    free(r.f);
    e->saved_ns = nx_desk_now(e->desk); /* the latest restored state's market time */
    e->recovery_held = r.held;
    if (r.held && !e->verify_only)
        NX_ERROR("recovery",
                 "%d session%s paused: the saved state and the venue disagree (see above and "
                 "the audit log); resume each after checking it",
                 r.held, r.held == 1 ? "" : "s");
    return 0;
}
