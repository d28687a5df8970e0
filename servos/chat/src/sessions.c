/*
 * sessions.c — a person's trading sessions from chat: /sessions lists
 * them, /session new makes a paper session, /session use picks the one the
 * other commands act on, /limits shows and sets what each role may have;
 * and chat_session_store keeps a setting changed on the desk in the
 * session's row, so it survives a restart.
 *
 * A session is a row of the sessions table, owned by one user (by id) on
 * one venue; the desk trades it under that row's id. Its settings are the
 * JSON of a config session, checked by the same schema as the config file
 * (nx_config_session_parse), within the ceilings of the user's role.
 *
 * Workload: a few commands a day per person; each costs a few queries and
 * one call into the engine thread.
 */
#include "chat_int.h"

#include "nx/error.h"
#include "nx/log.h"

#include <jansson.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first problem of a config check, in words. */
static void first_error(const nx_config_errors_t *errs, char *out, size_t cap)
{
    const nx_config_error_t *e = &errs->e[0];
    const char *key = strncmp(e->path, "session.", 8) ? e->path : e->path + 8;
    char esc[400];
    nx_tg_escape(e->message, esc, sizeof esc);
    if (errs->count && *key)
        snprintf(out, cap, "%.60s: %.300s", key, esc);
    else
        snprintf(out, cap, "%.300s", errs->count ? esc : "the settings are not usable");
}

int chat_session_store(nx_chat_t *b, uint32_t session, const char *key, const char *value)
{
    nx_session_row_t *r = malloc(sizeof *r);
    nx_config_errors_t *errs = malloc(sizeof *errs);
    char *full = malloc(NX_SESSION_CONFIG_MAX), *edited = malloc(NX_SESSION_CONFIG_MAX);
    int rc = r && errs && full && edited ? nx_store_session_get(b->store, session, r) : NX_ENOMEM;
    nx_config_session_t x;
    if (!rc)
        rc = nx_config_session_from_row(b->cfg, r->config, r->user_id, r->name, r->venue, r->mode,
                                        &x, errs);
    int n = rc ? rc : nx_config_session_json(b->cfg, &x, full, NX_SESSION_CONFIG_MAX);
    rc = n < 0 ? n : 0;
    if (!rc)
        rc = nx_config_session_edit(b->cfg, full, key, value, edited, NX_SESSION_CONFIG_MAX, errs);
    if (!rc && !strcmp(key, "mode")) {
        snprintf(r->mode, sizeof r->mode, "%.*s", (int)strlen(value) - 2, value + 1);
    }
    if (!rc)
        rc = nx_store_session_update(b->store, session, r->mode, edited);
    if (rc)
        NX_WARN("chat", "session %u: %s=%s is on the desk but not stored: %s", session, key, value,
                rc == NX_ECONFIG ? errs->e[0].message : nx_store_error(b->store));
    else
        chat_sessions_changed(b);
    free(r);
    free(errs);
    free(full);
    free(edited);
    return rc;
}

/* "key=value" words into a session object: integers as numbers, the lists
 * (pairs, symbols, strategies: comma-separated) as arrays, the rest as
 * strings. A word that is not key=value is an error (NX_EINVAL, *bad set). */
static json_t *settings_of(char *args, const char **bad)
{
    json_t *o = json_object();
    char *save = NULL;
    for (char *w = strtok_r(args, " ", &save); w && o; w = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(w, '=');
        if (!eq || eq == w || !eq[1]) {
            *bad = w;
            json_decref(o);
            return NULL;
        }
        *eq = 0;
        const char *key = !strcmp(w, "pairs") ? "symbols" : w, *v = eq + 1;
        if (!strcmp(key, "symbols") || !strcmp(key, "strategies")) {
            json_t *a = json_array();
            char *s2 = NULL, tmp[256];
            snprintf(tmp, sizeof tmp, "%s", v);
            for (char *x = strtok_r(tmp, ",", &s2); x; x = strtok_r(NULL, ",", &s2)) {
                if (!strcmp(key, "symbols"))
                    for (char *c = x; *c; c++)
                        *c = (char)toupper((unsigned char)*c);
                json_array_append_new(a, json_string(x));
            }
            json_object_set_new(o, key, a);
            continue;
        }
        int digits = 1;
        for (const char *c = v; *c; c++)
            digits &= isdigit((unsigned char)*c) != 0;
        int decimal = !strcmp(key, "equity") || !strcmp(key, "daily_loss_stop") ||
                      !strcmp(key, "max_symbol_exposure") || !strcmp(key, "max_total_exposure") ||
                      !strcmp(key, "low_profit_min");
        if (digits && !decimal && strlen(v) < 16)
            json_object_set_new(o, key, json_integer(strtoll(v, NULL, 10)));
        else
            json_object_set_new(o, key, json_string(v));
    }
    return o;
}

static void session_line(text_t *t, const chat_session_t *s, int active, int show_user)
{
    char esc[96];
    nx_tg_escape(s->name, esc, sizeof esc);
    chat_put(t, "%lld <b>%s</b> on %s, %s", (long long)s->id, esc, s->venue, s->mode);
    if (show_user)
        chat_put(t, ", user %lld", (long long)s->user);
    chat_put(t, "%s\n", active ? " (your commands act on it)" : "");
}

void c_sessions(nx_chat_t *b, caller_t *who, char *a)
{
    text_t t = {0};
    chat_sessions_changed(b); /* the person asking wants the table as it is now */
    int all = a && !strcmp(a, "all");
    if (all && who->u.role != NX_ROLE_OWNER && who->u.role != NX_ROLE_ADMIN) {
        chat_reply(b, who, "Only the owner and admins see everyone's sessions.");
        return;
    }
    const chat_session_t *list[CHAT_SESSIONS_MAX];
    int n = 0;
    if (all) {
        chat_sessions_refresh(b);
        for (int i = 0; i < b->n_sessions; i++)
            list[n++] = &b->sessions[i];
    } else {
        n = chat_sessions_of(b, who->u.id, list, CHAT_SESSIONS_MAX);
    }
    chat_put(&t, "<b>Sessions</b>\n");
    for (int i = 0; i < n; i++)
        session_line(&t, list[i], !all && list[i]->id == who->session, all);
    if (!n)
        chat_put(&t, "None yet: /session new makes one.");
    chat_say(b, who->chat, t.s, NULL, 0);
}

static void session_new(nx_chat_t *b, caller_t *who, char *args)
{
    int max_lev = 1, max_ses = 0;
    if (nx_store_role_limits(b->store, who->u.role, &max_lev, &max_ses)) {
        chat_reply(b, who, "Sorry, sessions cannot be made right now; please try again later.");
        return;
    }
    const chat_session_t *mine[CHAT_SESSIONS_MAX];
    int have = chat_sessions_of(b, who->u.id, mine, CHAT_SESSIONS_MAX);
    if (have >= max_ses) {
        chat_reply(b, who, "You have %d session%s, as many as your role allows (%d).", have,
                   have == 1 ? "" : "s", max_ses);
        return;
    }
    const char *bad = NULL;
    json_t *o = settings_of(args, &bad);
    if (!o) {
        char esc[64];
        nx_tg_escape(bad ? bad : "", esc, sizeof esc);
        chat_reply(b, who,
                   "\"%s\" is not KEY=VALUE. Usage: /session new [venue=V] [equity=N] "
                   "[leverage=N] [size_bp=N] [mode=watcher|copilot|pilot] "
                   "[pairs=A,B] [strategies=a,b]",
                   esc);
        return;
    }
    char label[32]; /* the user's name, cut to a label's length */
    snprintf(label, sizeof label, "%.31s", who->u.name[0] ? who->u.name : "session");
    if (!json_object_get(o, "name"))
        json_object_set_new(o, "name", json_string(label));
    json_object_set_new(o, "user", json_integer(who->u.id));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    nx_config_errors_t *errs = malloc(sizeof *errs);
    nx_config_session_t x;
    char msg[512];
    int rc =
        text && errs ? nx_config_session_parse(b->cfg, text, strlen(text), &x, errs) : NX_ENOMEM;
    free(text);
    if (rc == NX_ECONFIG) {
        first_error(errs, msg, sizeof msg);
        chat_reply(b, who, "Not made: %s.", msg);
        free(errs);
        return;
    }
    free(errs);
    if (!rc && x.leverage > (uint32_t)max_lev) {
        chat_reply(b, who, "Not made: leverage above %dx is not available to you.", max_lev);
        return;
    }
    char json[NX_SESSION_CONFIG_MAX];
    int n = rc ? rc : nx_config_session_json(b->cfg, &x, json, sizeof json);
    rc = n < 0 ? n : 0;
    int64_t id = 0;
    if (!rc)
        rc = nx_store_session_add(b->store, who->u.id, nx_venue_name(x.venue), x.name,
                                  chat_mode_names[x.mode <= 2 ? x.mode : 2], 0, json, &id);
    if (rc == NX_EEXIST) {
        chat_reply(b, who, "You already have a session on %s: /sessions lists yours.",
                   nx_venue_name(x.venue));
        return;
    }
    if (!rc && (id <= 0 || id > UINT32_MAX))
        rc = NX_ERANGE;
    if (!rc && (rc = b->host.session_add(b->host.ctx, (uint32_t)id, &x)))
        nx_store_session_delete(b->store, id); /* the desk could not take it: no half session */
    if (rc) {
        chat_reply(b, who, "Sorry, the session could not be made: %s.",
                   rc == NX_EFULL ? "the engine runs as many sessions as it can"
                                  : "storage or the engine is not available");
        NX_WARN("chat", "user %lld: a new session failed: %s", (long long)who->u.id,
                nx_strerror(rc));
        return;
    }
    /* The session exists either way; only which one the person's commands
     * act on depends on this write, and they are told which it is. */
    int set = chat_set_active(b, who->u.id, id);
    if (set)
        NX_ERROR("chat",
                 "user %lld: session %lld was made, but cannot be stored as the one their "
                 "commands act on: %s",
                 (long long)who->u.id, (long long)id, nx_store_error(b->store));
    chat_sessions_changed(b);
    uint32_t active = chat_active_session(b, who->u.id);
    char esc[96], acts[160];
    nx_tg_escape(x.name, esc, sizeof esc);
    if (active == (uint32_t)id)
        snprintf(acts, sizeof acts, "Your commands now act on it.");
    else
        snprintf(acts, sizeof acts,
                 "Your commands still act on session %u (storage error: /session use %lld "
                 "to try again).",
                 active, (long long)id);
    chat_reply(b, who,
               "Session %lld <b>%s</b> made on %s: paper equity %s, leverage %ux, size %u bp, %s, "
               "%s. %s",
               (long long)id, esc, nx_venue_name(x.venue), x.equity, x.leverage, x.size_bp,
               chat_mode_names[x.mode <= 2 ? x.mode : 2],
               x.n_strategies ? "the strategies you chose" : "every strategy", acts);
    snprintf(msg, sizeof msg, "session %lld on %s", (long long)id, nx_venue_name(x.venue));
    chat_audit(b, who, "session_new", msg);
}

void c_session(nx_chat_t *b, caller_t *who, char *a)
{
    char verb[8] = "";
    int off = 0;
    if (a)
        sscanf(a, "%7s %n", verb, &off);
    if (!strcmp(verb, "new")) {
        session_new(b, who, a + off);
        return;
    }
    if (!strcmp(verb, "use")) {
        char *end;
        long long id = strtoll(a + off, &end, 10);
        const chat_session_t *s = *(a + off) && !*end ? chat_session_get(b, id) : NULL;
        if (!s || s->user != who->u.id) {
            chat_reply(b, who, "You have no session %s: /sessions lists yours.", a + off);
            return;
        }
        if (chat_set_active(b, who->u.id, id)) {
            /* saying "now act on" here would send the next order to another session */
            NX_ERROR("chat",
                     "user %lld: cannot store session %lld as the one their commands "
                     "act on: %s",
                     (long long)who->u.id, id, nx_store_error(b->store));
            chat_reply(b, who,
                       "Not switched (storage error): your commands still act on session %u.",
                       who->session);
            return;
        }
        char esc[96];
        nx_tg_escape(s->name, esc, sizeof esc);
        chat_reply(b, who, "Your commands now act on session %lld <b>%s</b> (%s).", id, esc,
                   s->venue);
        return;
    }
    chat_reply(b, who,
               "Usage: /session new [KEY=VALUE ...] | /session use ID (/sessions lists "
               "yours)");
}

void c_limits(nx_chat_t *b, caller_t *who, char *a)
{
    char role[16] = "", k1[16] = "", k2[16] = "";
    int v1 = 0, v2 = 0;
    int k = a ? sscanf(a, "%15s %15s %d %15s %d", role, k1, &v1, k2, &v2) : 0;
    if (k > 0) {
        int r = nx_role_parse(role), lev, ses;
        if (r < 0 || k != 5 || strcmp(k1, "leverage") || strcmp(k2, "sessions") ||
            nx_store_role_limits(b->store, (nx_role_t)r, &lev, &ses)) {
            chat_reply(b, who,
                       "Usage: /limits ROLE leverage N sessions M (roles: subscriber, "
                       "admin, owner)");
            return;
        }
        if ((r == NX_ROLE_OWNER || r == NX_ROLE_ADMIN) && who->u.role != NX_ROLE_OWNER) {
            chat_reply(b, who, "Only the owner changes the ceilings of admins and the owner.");
            return;
        }
        int rc = nx_store_role_limits_set(b->store, (nx_role_t)r, v1, v2);
        if (rc) {
            chat_reply(b, who, "Not changed: leverage goes from 1 to 20, sessions from 0 to 64.");
            return;
        }
        char done[96];
        snprintf(done, sizeof done, "%s: leverage %dx, %d sessions", role, v1, v2);
        chat_audit(b, who, "limits", done);
    }
    text_t t = {0};
    chat_put(&t, "<b>Ceilings per role</b>\n");
    static const nx_role_t roles[] = {NX_ROLE_SUBSCRIBER, NX_ROLE_ADMIN, NX_ROLE_OWNER};
    for (int i = 0; i < 3; i++) {
        int lev, ses;
        if (nx_store_role_limits(b->store, roles[i], &lev, &ses) == 0)
            chat_put(&t, "%s: leverage up to %dx, %d session%s\n", nx_role_name(roles[i]), lev, ses,
                     ses == 1 ? "" : "s");
    }
    chat_say(b, who->chat, t.s, NULL, 0);
}
