/*
 * report.c — scheduled reports (see chat.h): the scheduler runs a task's
 * action here; "daily_report" sums up each session from its latest saved
 * state, read through the state's codec (desk_state.h), so a report needs
 * neither the engine thread nor a running desk.
 *
 * Workload: one report per user per day; a saved state is decoded per
 * session (~100 µs), on the service thread.
 */
#include "chat_int.h"

#include "nx/desk_state.h"
#include "nx/error.h"
#include "nx/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct report {
    const char *only; /* a session name: only its line; NULL: every session's */
    nx_state_session_t *st;
    char text[1024];
    size_t n;
} report_t;

/* One session's line of a report, from its latest saved state. */
static int report_session(void *ctx, uint32_t session, uint64_t seq, const char *text, size_t len)
{
    (void)seq;
    report_t *r = ctx;
    char err[160];
    if (!session)
        return 0; /* the desk's own state */
    if (nx_state_decode(text, len, r->st, err, sizeof err)) {
        /* whose it is cannot be read: named for an owner or admin, who
         * sees every session, and nobody else */
        int k = r->only
                    ? 0
                    : snprintf(r->text + r->n, sizeof r->text - r->n,
                               "%ssession %u: saved state unreadable", r->n ? "; " : "", session);
        if (k > 0 && (size_t)k < sizeof r->text - r->n)
            r->n += (size_t)k;
        return 0;
    }
    const nx_state_session_t *s = r->st;
    if (r->only && strcmp(s->name, r->only))
        return 0; /* another user's: not theirs to read */
    int k = snprintf(r->text + r->n, sizeof r->text - r->n,
                     "%s%s: balance %s, %lld trades (%lld won), %u open", r->n ? "; " : "",
                     s->name[0] ? s->name : "?",
                     s->account.balance_dec[0] ? s->account.balance_dec : "?",
                     (long long)s->account.trades, (long long)s->account.wins, s->n_positions);
    if (k > 0 && (size_t)k < sizeof r->text - r->n)
        r->n += (size_t)k;
    return 0;
}

int nx_chat_report(nx_chat_t *c, nx_store_t *st, int64_t task_id, int64_t user_id,
                   const char *action, char *result, size_t cap)
{
    if (strcmp(action, "daily_report") != 0) {
        snprintf(result, cap, "unknown action \"%s\"", action);
        return NX_EINVAL;
    }
    nx_user_t u;
    int rc = nx_store_user_get(st, 0, user_id, &u);
    if (rc)
        return rc;
    report_t r = {u.role == NX_ROLE_OWNER || u.role == NX_ROLE_ADMIN ? NULL : u.name, NULL, "", 0};
    if (!(r.st = malloc(sizeof *r.st)))
        return NX_ENOMEM;
    rc = nx_store_states(st, report_session, &r);
    free(r.st);
    if (rc)
        return rc;
    if (!r.n)
        snprintf(r.text, sizeof r.text, "no trading yet");
    snprintf(result, cap, "%s", r.text);
    NX_INFO("sched", "task %lld (%s) for user %lld: %s", (long long)task_id, action,
            (long long)user_id, r.text);
    if (c && u.chat_id && u.role != NX_ROLE_BANNED && u.role != NX_ROLE_PENDING) {
        char html[1200], esc[1100];
        nx_tg_escape(r.text, esc, sizeof esc);
        snprintf(html, sizeof html, "<b>Daily summary</b>\n%s", esc);
        chat_say(c, u.chat_id, html, NULL, 0);
    }
    return nx_store_audit(st, user_id, u.chat_id, "daily_report", r.text);
}
