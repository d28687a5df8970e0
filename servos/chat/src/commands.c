/*
 * commands.c — the commands people type, and the buttons they press:
 * the command table (name, the role it needs, private chat only or not,
 * its help line), the checks made before any command runs, and each
 * command. Questions about a session are answered by replies.c; commands
 * for the desk go to the engine thread (chat_command).
 *
 * Workload: a few people, a command every few seconds at most.
 */
#include "chat_int.h"

#include "nx/error.h"
#include "nx/log.h"
#include "nx/vault.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*cmd_fn)(nx_chat_t *b, caller_t *who, char *args);

typedef struct cmd {
    const char *name;
    nx_role_t role;   /* the lowest role that may use it */
    int private_only; /* refused (and the message deleted) in a group */
    cmd_fn fn;
    const char *help;
} cmd_t;

static int need_session(nx_chat_t *b, caller_t *who)
{
    if (who->session)
        return 1;
    chat_reply(b, who, "You have no trading session yet: /session new makes one (/help).");
    return 0;
}

static void answer_rc(nx_chat_t *b, caller_t *who, int rc, int why, const char *done)
{
    if (rc == 0)
        chat_reply(b, who, "%s", done);
    else if (rc == NX_ESTATE && why)
        chat_reply(b, who, "Refused: %s.", chat_reject_words(why));
    else if (rc == NX_ENOENT)
        chat_reply(b, who, "Nothing to do: there is no such position, lock or request.");
    else
        chat_reply(b, who, "Refused: %s.", nx_strerror(rc));
}

static void c_help(nx_chat_t *b, caller_t *who, char *args);

static void c_start(nx_chat_t *b, caller_t *who, char *args)
{
    (void)args;
    if (who->known) {
        if (who->u.role == NX_ROLE_PENDING)
            chat_reply(b, who, "Your request is waiting for an admin's approval.");
        else {
            char esc[128];
            nx_tg_escape(who->u.name, esc, sizeof esc);
            chat_reply(b, who, "Welcome back, %s. /help lists what you can do.", esc);
        }
        return;
    }
    if (!who->is_private) {
        chat_reply(b, who, "Please write to me in a private chat to register.");
        return;
    }
    char name[64];
    snprintf(name, sizeof name, "%s", who->u.name);
    int64_t id = 0;
    int rc = nx_store_user_add(b->store, who->user_chat, name, NX_ROLE_PENDING, "UTC", &id);
    if (rc) {
        chat_reply(b, who, "Sorry, I could not register you right now; please try again later.");
        NX_WARN("chat", "registering chat %lld failed: %s", (long long)who->user_chat,
                nx_store_error(b->store));
        return;
    }
    who->known = 1;
    who->u.id = id;
    chat_users_changed(b);
    chat_audit(b, who, "register", name);
    char msg[512], esc[128];
    nx_tg_escape(name, esc, sizeof esc); /* a name is theirs to choose: never markup */
    chat_reply(b, who, "Hello %s! Your request to join is waiting for an admin's approval.", esc);
    snprintf(msg, sizeof msg, "New user <b>%s</b> (id %lld) asks to join: /approve %lld", esc,
             (long long)id, (long long)id);
    chat_tell_admins(b, msg);
}

static void c_query(nx_chat_t *b, caller_t *who, int what, long n)
{
    if (what != Q_STRATEGIES && what != Q_REGIME && what != Q_MODELS && !need_session(b, who))
        return;
    query_t *q = malloc(sizeof *q);
    if (!q)
        return;
    chat_ask(b, q, what, who->session, n);
    chat_say(b, who->chat, q->out.len ? q->out.s : "Nothing yet.", NULL, 0);
    free(q);
}

static long count_arg(const char *a, long def, long max)
{
    long n = a && *a ? strtol(a, NULL, 10) : def;
    return n < 1 ? def : n > max ? max : n;
}

static void c_status(nx_chat_t *b, caller_t *w, char *a)
{
    (void)a;
    c_query(b, w, Q_STATUS, 0);
}
static void c_balance(nx_chat_t *b, caller_t *w, char *a)
{
    (void)a;
    c_query(b, w, Q_BALANCE, 0);
}
static void c_positions(nx_chat_t *b, caller_t *w, char *a)
{
    (void)a;
    c_query(b, w, Q_POSITIONS, 0);
}
static void c_trades(nx_chat_t *b, caller_t *w, char *a)
{
    c_query(b, w, Q_TRADES, count_arg(a, 10, 50));
}
static void c_profit(nx_chat_t *b, caller_t *w, char *a)
{
    (void)a;
    c_query(b, w, Q_PROFIT, 0);
}
static void c_daily(nx_chat_t *b, caller_t *w, char *a)
{
    c_query(b, w, Q_DAILY, count_arg(a, 7, 60));
}
static void c_weekly(nx_chat_t *b, caller_t *w, char *a)
{
    c_query(b, w, Q_WEEKLY, count_arg(a, 4, 52));
}
static void c_perf(nx_chat_t *b, caller_t *w, char *a)
{
    (void)a;
    c_query(b, w, Q_PERF, 0);
}
static void c_locks(nx_chat_t *b, caller_t *w, char *a)
{
    (void)a;
    c_query(b, w, Q_LOCKS, 0);
}
static void c_strategies(nx_chat_t *b, caller_t *w, char *a)
{
    (void)a;
    c_query(b, w, Q_STRATEGIES, 0);
}

static void c_simple(nx_chat_t *b, caller_t *who, int cmd, int64_t arg, const char *done)
{
    if (!need_session(b, who))
        return;
    int why = 0;
    int rc = chat_command(b, who->session, cmd, arg, NULL, &why);
    answer_rc(b, who, rc, why, done);
    if (!rc)
        chat_audit(b, who, done, "");
}

static void c_pause(nx_chat_t *b, caller_t *w, char *a)
{
    (void)a;
    c_simple(b, w, NX_CTL_PAUSE, 0, "Paused: no new entries; exits still run.");
}
static void c_resume(nx_chat_t *b, caller_t *w, char *a)
{
    (void)a;
    c_simple(b, w, NX_CTL_RESUME, 0, "Resumed.");
}
static void c_reset(nx_chat_t *b, caller_t *w, char *a)
{
    (void)a;
    c_simple(b, w, NX_CTL_RESET, 0, "Circuit breaker reset.");
}

static void c_mode(nx_chat_t *b, caller_t *who, char *a)
{
    for (int m = 0; m < 3; m++)
        if (a && !strcmp(a, chat_mode_names[m])) {
            if (!need_session(b, who))
                return;
            char done[64], value[16];
            snprintf(done, sizeof done, "Mode is now %s.", chat_mode_names[m]);
            int why = 0;
            int rc = chat_command(b, who->session, NX_CTL_MODE, m, NULL, &why);
            snprintf(value, sizeof value, "\"%s\"", chat_mode_names[m]);
            if (!rc)
                rc = chat_session_store(b, who->session, "mode", value);
            answer_rc(b, who, rc, why, done);
            if (!rc)
                chat_audit(b, who, done, "");
            return;
        }
    chat_reply(b, who, "Usage: /mode watcher|copilot|pilot");
}

static void c_unlock(nx_chat_t *b, caller_t *who, char *a)
{
    uint32_t s = a && *a && strcmp(a, "all") ? chat_symbol_arg(b, who->session, a) : NX_SYMBOL_NONE;
    if (a && *a && strcmp(a, "all") && s == NX_SYMBOL_NONE) {
        chat_reply(b, who, "Unknown pair. Usage: /unlock PAIR");
        return;
    }
    c_simple(b, who, NX_CTL_UNLOCK, s, "Unlocked.");
}

static void c_forceexit(nx_chat_t *b, caller_t *who, char *a)
{
    if (!need_session(b, who))
        return;
    if (!a || !*a) {
        chat_reply(b, who, "Usage: /forceexit PAIR|all");
        return;
    }
    query_t *q = malloc(sizeof *q);
    if (!q)
        return;
    chat_ask(b, q, Q_OPEN_SYMBOLS, who->session, 0);
    int closed = 0, asked = 0, all = !strcmp(a, "all");
    uint32_t only = all ? NX_SYMBOL_NONE : chat_symbol_arg(b, who->session, a);
    for (int i = 0; i < q->nsyms; i++) {
        if (!all && q->syms[i] != only)
            continue;
        asked++;
        int why = 0;
        if (chat_command(b, who->session, NX_CTL_EXIT, q->syms[i], NULL, &why) == 0)
            closed++;
    }
    free(q);
    if (!asked)
        chat_reply(b, who, "No open position on %s.", a);
    else
        chat_reply(b, who, "Closing %d position%s at market.", closed, closed == 1 ? "" : "s");
    chat_audit(b, who, "forceexit", a);
}

static void c_force(nx_chat_t *b, caller_t *who, char *a, const char *dir)
{
    if (!need_session(b, who))
        return;
    uint32_t s = chat_symbol_arg(b, who->session, a);
    if (s == NX_SYMBOL_NONE) {
        chat_reply(b, who, "Usage: /force%s PAIR", dir);
        return;
    }
    int why = 0;
    int rc = chat_command(b, who->session, NX_CTL_ENTER, s, dir, &why);
    char done[64];
    snprintf(done, sizeof done, "Entering %s %s at market.", dir, chat_sym_name(b, s));
    answer_rc(b, who, rc, why, done);
    chat_audit(b, who, "forceentry", done);
}
static void c_forcelong(nx_chat_t *b, caller_t *w, char *a)
{
    c_force(b, w, a, "long");
}
static void c_forceshort(nx_chat_t *b, caller_t *w, char *a)
{
    c_force(b, w, a, "short");
}

/* /closeall asks first, listing what is open; the Yes is good for
 * chat.confirm_s and closes what it listed (a position opened since is
 * not touched). */
static void c_closeall(nx_chat_t *b, caller_t *who, char *a)
{
    (void)a;
    if (!need_session(b, who))
        return;
    query_t *q = malloc(sizeof *q);
    if (!q)
        return;
    chat_ask(b, q, Q_OPEN_SYMBOLS, who->session, 0);
    if (!q->nsyms) {
        chat_reply(b, who, "Nothing is open.");
        free(q);
        return;
    }
    int64_t now = nx_mono_ns();
    confirm_t *c = NULL;
    for (int i = 0; i < CHAT_CONFIRMS; i++) { /* theirs, a free one, or the oldest */
        confirm_t *x = &b->confirms[i];
        if (x->nonce && x->user == who->u.id) {
            c = x;
            break;
        }
        if (!c || !x->nonce || x->expires_ns < c->expires_ns)
            c = x;
    }
    memset(c, 0, sizeof *c);
    c->nonce = ++b->next_nonce ? b->next_nonce : ++b->next_nonce;
    c->user = who->u.id;
    c->session = who->session;
    c->expires_ns = now + (int64_t)b->cfg->chat.confirm_s * NX_NS_PER_SEC;
    c->n = q->nsyms;
    memcpy(c->syms, q->syms, (size_t)q->nsyms * sizeof c->syms[0]);
    free(q);
    text_t t = {0};
    chat_put(&t, "<b>Close %d position%s at market?</b>", c->n, chat_plural(c->n, "", "s"));
    for (int i = 0; i < c->n; i++)
        chat_put(&t, "%s%s", i ? ", " : "\n", chat_sym_name(b, c->syms[i]));
    chat_put(&t, "\n(this question is good for %u s)", b->cfg->chat.confirm_s);
    char kb[256];
    snprintf(kb, sizeof kb,
             "{\"inline_keyboard\":[[{\"text\":\"Yes, close them\",\"callback_data\":"
             "\"ca:yes:%u\"},{\"text\":\"No\",\"callback_data\":\"ca:no:%u\"}]]}",
             c->nonce, c->nonce);
    chat_say(b, who->chat, t.s, kb, 0);
}

/* The Yes of a /closeall: its own question's, in time, for its session. */
static void closeall_yes(nx_chat_t *b, caller_t *who, uint32_t nonce, char *ans, size_t cap)
{
    confirm_t *c = NULL;
    for (int i = 0; i < CHAT_CONFIRMS && !c; i++)
        if (b->confirms[i].nonce && b->confirms[i].nonce == nonce &&
            b->confirms[i].user == who->u.id)
            c = &b->confirms[i];
    if (!c || c->session != who->session) {
        snprintf(ans, cap, "This question is no longer valid: nothing was closed (/closeall).");
        return;
    }
    if (nx_mono_ns() > c->expires_ns) {
        c->nonce = 0;
        snprintf(ans, cap, "This question expired: nothing was closed (/closeall asks again).");
        return;
    }
    int closed = 0;
    for (int i = 0; i < c->n; i++) {
        int why = 0;
        closed += chat_command(b, c->session, NX_CTL_EXIT, c->syms[i], NULL, &why) == 0;
    }
    c->nonce = 0;
    snprintf(ans, cap, "Closing %d position%s at market.", closed, chat_plural(closed, "", "s"));
}

static void c_watch(nx_chat_t *b, caller_t *who, char *a)
{
    char key[64], list[512];
    chat_watch_list(b, who->u.id, key, sizeof key, list, sizeof list);
    char verb[16] = "", arg[32] = "";
    if (a)
        sscanf(a, "%15s %31s", verb, arg);
    uint32_t s = chat_symbol_arg(b, who->session, arg);
    if (!strcmp(verb, "list") || !verb[0]) {
        chat_reply(b, who, "Watching: %s", list[0] ? list : "nothing (/watch add PAIR)");
        return;
    }
    if (s == NX_SYMBOL_NONE || (strcmp(verb, "add") && strcmp(verb, "remove"))) {
        chat_reply(b, who, "Usage: /watch add|remove|list PAIR");
        return;
    }
    const char *name = chat_sym_name(b, s);
    char out[512] = "";
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (strcmp(t, name))
            snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", out[0] ? "," : "", t);
    if (!strcmp(verb, "add"))
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", out[0] ? "," : "", name);
    if (nx_store_meta_put(b->store, key, (const uint8_t *)out, strlen(out))) {
        NX_ERROR("chat", "cannot store user %lld's watch list: %s", (long long)who->u.id,
                 nx_store_error(b->store));
        chat_reply(b, who, "Not saved (storage error): still watching %s",
                   list[0] ? list : "nothing");
        return;
    }
    chat_reply(b, who, "Watching: %s", out[0] ? out : "nothing");
}

static void c_regime(nx_chat_t *b, caller_t *who, char *a)
{
    uint32_t s = chat_symbol_arg(b, who->session, a);
    if (!a || !*a) {
        chat_reply(b, who, "Usage: /regime PAIR");
        return;
    }
    if (s == NX_SYMBOL_NONE) {
        char esc[64], list[256] = "";
        nx_tg_escape(a, esc, sizeof esc);
        for (uint32_t k = 0; k < nx_symtab_count(b->symtab) && strlen(list) < 200; k++) {
            uint32_t j = 0; /* each name once, though several venues list it */
            while (j < k && strcmp(chat_sym_name(b, j), chat_sym_name(b, k)))
                j++;
            if (j == k)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                         list[0] ? ", " : "", chat_sym_name(b, k));
        }
        chat_reply(b, who, "%s is not a pair this engine follows (%s).", esc, list);
        return;
    }
    c_query(b, who, Q_REGIME, (long)s);
}

static void c_config(nx_chat_t *b, caller_t *who, char *a)
{
    if (!need_session(b, who))
        return;
    char verb[8] = "", key[32] = "", val[32] = "", extra[8] = "";
    int k = a ? sscanf(a, "%7s %31s %31s %7s", verb, key, val, extra) : 0;
    if (k <= 0 || !strcmp(verb, "show")) {
        c_query(b, who, Q_CONFIG, 0);
        return;
    }
    char *end = NULL;
    long long v = k >= 3 ? strtoll(val, &end, 10) : 0;
    if (strcmp(verb, "set") || k != 3 || !end || *end || end == val) {
        chat_reply(b, who, "Usage: /config show | /config set KEY VALUE (a whole number)");
        return;
    }
    int lev_max = 20, ses_max = 0;
    if (!strcmp(key, "leverage") && !who->console &&
        nx_store_role_limits(b->store, who->u.role, &lev_max, &ses_max) == 0 && v > lev_max) {
        chat_reply(b, who, "Leverage above %dx is not available to you.", lev_max);
        return;
    }
    int why = 0;
    int rc = chat_command(b, who->session, NX_CTL_SET, v, key, &why);
    char done[96];
    snprintf(done, sizeof done, "%s is now %lld.", key, v);
    if (rc == NX_ERANGE) {
        chat_reply(b, who, "%s: unknown setting or value out of range (/config show lists them).",
                   key);
        return;
    }
    if (!rc) { /* the session's settings live in storage: kept across restarts */
        char canon[32];
        snprintf(canon, sizeof canon, "%lld", v);
        rc = chat_session_store(b, who->session, key, canon);
    }
    answer_rc(b, who, rc, why, done);
    if (!rc)
        chat_audit(b, who, "config", done);
}

static void c_keys(nx_chat_t *b, caller_t *who, char *a)
{
    /* the message holding the key is deleted first, whatever happens next */
    if (b->tg && who->chat && who->message_id)
        nx_tg_delete(b->tg, who->chat, who->message_id);
    char venue[32] = "", key[160] = "", secret[160] = "";
    int k = a ? sscanf(a, "%31s %159s %159s", venue, key, secret) : 0;
    if (k != 3) {
        nx_secret_wipe(key, sizeof key);
        nx_secret_wipe(secret, sizeof secret);
        chat_reply(b, who,
                   "Usage (private chat): /keys VENUE API_KEY API_SECRET — the message is "
                   "deleted after reading.");
        return;
    }
    if (nx_venue_parse(venue, strlen(venue)) == NX_VENUE_NONE) {
        nx_secret_wipe(key, sizeof key);
        nx_secret_wipe(secret, sizeof secret);
        nx_secret_wipe(a, strlen(a));
        chat_reply(b, who, "Your keys were not stored: %s is not a venue Nexus knows (%s).", venue,
                   nx_venue_choices());
        return;
    }
    nx_vault_t *v = NULL;
    char err[256];
    int rc = nx_vault_load(&v, b->cfg->storage.key_file, err, sizeof err);
    uint8_t sk[512], ss[512];
    size_t skn = 0, ssn = 0;
    if (!rc)
        rc = nx_vault_seal(v, who->u.id, venue, (const uint8_t *)key, strlen(key), sk, &skn);
    if (!rc)
        rc = nx_vault_seal(v, who->u.id, venue, (const uint8_t *)secret, strlen(secret), ss, &ssn);
    nx_secret_wipe(key, sizeof key);
    nx_secret_wipe(secret, sizeof secret);
    nx_secret_wipe(a, strlen(a));
    if (!rc)
        rc = nx_store_session_ensure(b->store, who->u.id, venue, NULL);
    if (!rc)
        rc = nx_store_session_set_keys(b->store, who->u.id, venue, sk, skn, ss, ssn);
    nx_vault_free(v);
    if (rc)
        chat_reply(b, who, "Your keys were not stored: %s.",
                   rc == NX_ENOENT ? "no master key is set up (NEXUS_MASTER_KEY)"
                                   : nx_strerror(rc));
    else
        chat_reply(b, who,
                   "Keys for %s sealed and stored. The message that held them is deleted. A live "
                   "session uses them from its next start.",
                   venue);
    chat_audit(b, who, "keys", rc ? "refused" : venue);
}

static void c_health(nx_chat_t *b, caller_t *who, char *a)
{
    (void)a;
    nx_chat_health_t h;
    memset(&h, 0, sizeof h);
    b->host.health(b->host.ctx, &h);
    text_t t = {0};
    chat_put(&t,
             "<b>Health</b>\nup %llds, events %llu, market overruns %llu, journal stored %llu\n",
             (long long)h.up_s, (unsigned long long)h.events, (unsigned long long)h.market_overruns,
             (unsigned long long)h.journal_stored);
    for (uint32_t i = 0; i < h.n_feeds; i++) {
        const nx_chat_feed_health_t *f = &h.feeds[i];
        chat_put(&t, "%s: %llu frames, %llu connects, %llu disconnects, %llu errors\n",
                 nx_venue_name(f->venue), (unsigned long long)f->frames,
                 (unsigned long long)f->connects, (unsigned long long)f->disconnects,
                 (unsigned long long)f->errors);
        if (f->stash_dropped || f->control_dropped || f->rest_oversize)
            chat_put(&t,
                     "  dropped: %llu klines (stash full), %llu subscription changes, %llu REST "
                     "answers over 4 MiB\n",
                     (unsigned long long)f->stash_dropped, (unsigned long long)f->control_dropped,
                     (unsigned long long)f->rest_oversize);
    }
    if (b->users_dropped)
        chat_put(&t, "users: %llu past the %d kept in memory are not told anything\n",
                 (unsigned long long)b->users_dropped, CHAT_USERS_MAX);
    if (b->tg) {
        nx_tg_stats_t ts;
        nx_tg_stats(b->tg, &ts);
        chat_put(&t, "chat: %llu sent, %llu waiting, %llu 429s\n", (unsigned long long)ts.sent,
                 (unsigned long long)ts.queued, (unsigned long long)ts.http429);
    }
    chat_say(b, who->chat, t.s, NULL, 0);
}

static void c_version(nx_chat_t *b, caller_t *who, char *a)
{
    (void)a;
    chat_reply(b, who, "Nexus %s", NX_VERSION_STRING);
}

/* A sign-in link for the web pages, in private chat only: whoever has it
 * is this user until it is used (once) or expires. */
static void c_dashboard(nx_chat_t *b, caller_t *who, char *a)
{
    (void)a;
    char url[512], esc[600];
    if (!b->host.dashboard_link ||
        b->host.dashboard_link(b->host.ctx, who->u.id, (int)who->u.role, url, sizeof url)) {
        chat_reply(b, who, "This engine serves no web pages (web.listen is off).");
        return;
    }
    nx_tg_escape(url, esc, sizeof esc);
    chat_reply(b, who,
               "Your sign-in link for the web pages — it works once, for %u minutes, and signs in "
               "whoever opens it, so keep it to yourself:\n%s",
               b->cfg->web.link_ttl_s / 60 ? b->cfg->web.link_ttl_s / 60 : 1, esc);
    chat_audit(b, who, "dashboard", "link");
}

static void c_users(nx_chat_t *b, caller_t *who, char *a)
{
    (void)a;
    text_t t = {0};
    char esc[128];
    chat_users_changed(b); /* an admin asking wants the table as it is now */
    chat_users_refresh(b);
    for (int i = 0; i < b->n_users; i++) {
        nx_tg_escape(b->users[i].name, esc, sizeof esc);
        chat_put(&t, "%lld %s: %s\n", (long long)b->users[i].id, esc,
                 nx_role_name(b->users[i].role));
    }
    chat_say(b, who->chat, t.len ? t.s : "No users.", NULL, 0);
}

static void set_role(nx_chat_t *b, caller_t *who, char *a, nx_role_t role)
{
    nx_user_t u;
    if (!a || !*a || chat_user_by_id(b, a, &u)) {
        chat_reply(b, who, "No such user: give their id, a number (/users lists them).");
        return;
    }
    if (u.role == NX_ROLE_OWNER || (u.role == NX_ROLE_ADMIN && who->u.role != NX_ROLE_OWNER)) {
        chat_reply(b, who, "Only the owner changes an admin's role; nobody changes the owner's.");
        return;
    }
    if (nx_store_user_set_role(b->store, u.id, role)) {
        chat_reply(b, who, "Could not change the role right now.");
        return;
    }
    chat_users_changed(b);
    chat_audit(b, who, role == NX_ROLE_BANNED ? "ban" : "approve", u.name);
    char esc[128];
    nx_tg_escape(u.name, esc, sizeof esc);
    chat_reply(b, who, "%s is now %s.", esc, nx_role_name(role));
    if (role == NX_ROLE_SUBSCRIBER && u.chat_id)
        chat_say(b, u.chat_id, "You are approved. /help lists what you can do.", NULL, 0);
}

static void c_approve(nx_chat_t *b, caller_t *w, char *a)
{
    set_role(b, w, a, NX_ROLE_SUBSCRIBER);
}
static void c_ban(nx_chat_t *b, caller_t *w, char *a)
{
    set_role(b, w, a, NX_ROLE_BANNED);
}

static void c_plugins(nx_chat_t *b, caller_t *who, char *a)
{
    if (a && !strncmp(a, "reload", 6)) {
        const char *name = a[6] == ' ' ? a + 7 : "";
        int why = 0;
        chat_command(b, 0, NX_CTL_RELOAD, 0, name, &why);
        chat_reply(b, who, "Reload of %s asked; a failure is reported here.",
                   *name ? name : "every plugin");
        chat_audit(b, who, "plugins reload", name);
        return;
    }
    c_query(b, who, Q_STRATEGIES, 0);
}

static void c_models(nx_chat_t *b, caller_t *who, char *a)
{
    int reload = a && !strcmp(a, "reload");
    if (a && *a && !reload) {
        chat_reply(b, who, "Usage: /models, or /models reload");
        return;
    }
    if (reload)
        chat_audit(b, who, "models reload", "");
    c_query(b, who, Q_MODELS, reload);
}

/* The latest lines of the log file: one bounded read from its end
 * (nx_log_tail), never the whole file on the service thread. Of those
 * lines, the latest that fit in one reply. */
static void c_logs(nx_chat_t *b, caller_t *who, char *a)
{
    long n = count_arg(a, 20, 100);
    const char *path = b->cfg->log.file;
    if (!path[0]) {
        chat_reply(b, who,
                   "The log goes to standard error; set log.file in the config to read it here.");
        return;
    }
    static char tail[NX_LOG_TAIL_BYTES], esc[2 * CHAT_OUT];
    int lines = nx_log_tail(path, (int)n, tail, sizeof tail, NULL);
    if (lines < 0) {
        chat_reply(b, who, "The log file cannot be read: %s.", nx_strerror(lines));
        return;
    }
    /* escape from the end back, line by line, while the reply has room */
    size_t used = 0, len = strlen(tail);
    const char *from = tail + len;
    while (from > tail) {
        const char *line = from - 1;
        if (line > tail && *line == '\n')
            line--;
        while (line > tail && line[-1] != '\n')
            line--;
        char one[1024], e[2048];
        size_t k = (size_t)(from - line) < sizeof one ? (size_t)(from - line) : sizeof one - 1;
        memcpy(one, line, k);
        one[k] = 0;
        if (k == sizeof one - 1)
            one[k - 1] = '\n'; /* a very long line, cut */
        size_t m = nx_tg_escape(one, e, sizeof e);
        if (used + m >= CHAT_OUT - 1)
            break;
        memmove(esc + m, esc, used);
        memcpy(esc, e, m);
        used += m;
        from = line;
    }
    esc[used] = 0;
    chat_say(b, who->chat, used ? esc : "The log is empty.", NULL, 0);
}

static void c_killswitch(nx_chat_t *b, caller_t *who, char *a)
{
    int on = a && !strcmp(a, "on"), off = a && !strcmp(a, "off");
    if (!on && !off) {
        chat_reply(b, who, "Usage: /killswitch on|off");
        return;
    }
    int why = 0;
    int rc = chat_command(b, 0, NX_CTL_KILL, on, NULL, &why);
    answer_rc(b, who, rc, why,
              on ? "Kill switch ON: only exits pass, for everyone." : "Kill switch off.");
    chat_audit(b, who, "killswitch", on ? "on" : "off");
}

static const cmd_t cmds[] = {
    {"start", NX_ROLE_PENDING, 0, c_start, "register"},
    {"help", NX_ROLE_PENDING, 0, c_help, "what you can do"},
    {"status", NX_ROLE_SUBSCRIBER, 0, c_status, "your session"},
    {"balance", NX_ROLE_SUBSCRIBER, 0, c_balance, "balance and drawdown"},
    {"positions", NX_ROLE_SUBSCRIBER, 0, c_positions, "open positions"},
    {"trades", NX_ROLE_SUBSCRIBER, 0, c_trades, "[n] latest closed trades"},
    {"profit", NX_ROLE_SUBSCRIBER, 0, c_profit, "P&L and win rate"},
    {"daily", NX_ROLE_SUBSCRIBER, 0, c_daily, "[n] P&L per day"},
    {"weekly", NX_ROLE_SUBSCRIBER, 0, c_weekly, "[n] P&L per week"},
    {"performance", NX_ROLE_SUBSCRIBER, 0, c_perf, "P&L per pair"},
    {"mode", NX_ROLE_SUBSCRIBER, 0, c_mode, "watcher|copilot|pilot"},
    {"pause", NX_ROLE_SUBSCRIBER, 0, c_pause, "no new entries"},
    {"resume", NX_ROLE_SUBSCRIBER, 0, c_resume, "entries again"},
    {"reset", NX_ROLE_SUBSCRIBER, 0, c_reset, "reset the circuit breaker"},
    {"locks", NX_ROLE_SUBSCRIBER, 0, c_locks, "protection locks"},
    {"unlock", NX_ROLE_SUBSCRIBER, 0, c_unlock, "PAIR remove a lock"},
    {"forceexit", NX_ROLE_SUBSCRIBER, 0, c_forceexit, "PAIR|all close at market"},
    {"forcelong", NX_ROLE_SUBSCRIBER, 0, c_forcelong, "PAIR enter long"},
    {"forceshort", NX_ROLE_SUBSCRIBER, 0, c_forceshort, "PAIR enter short"},
    {"closeall", NX_ROLE_SUBSCRIBER, 0, c_closeall, "close everything (asks first)"},
    {"watch", NX_ROLE_SUBSCRIBER, 0, c_watch, "add|remove|list PAIR"},
    {"strategies", NX_ROLE_SUBSCRIBER, 0, c_strategies, "strategies and their signals"},
    {"regime", NX_ROLE_SUBSCRIBER, 0, c_regime, "PAIR market regime"},
    {"config", NX_ROLE_SUBSCRIBER, 0, c_config, "show | set KEY VALUE"},
    {"sessions", NX_ROLE_SUBSCRIBER, 0, c_sessions, "your sessions (all: everyone's, admin)"},
    {"session", NX_ROLE_SUBSCRIBER, 0, c_session, "new [KEY=VALUE ...] | use ID"},
    {"keys", NX_ROLE_SUBSCRIBER, 1, c_keys, "VENUE KEY SECRET (private chat)"},
    {"health", NX_ROLE_SUBSCRIBER, 0, c_health, "feeds and engine"},
    {"version", NX_ROLE_SUBSCRIBER, 0, c_version, "version"},
    {"dashboard", NX_ROLE_SUBSCRIBER, 1, c_dashboard, "a sign-in link to the web pages"},
    {"users", NX_ROLE_ADMIN, 0, c_users, "every user (admin)"},
    {"approve", NX_ROLE_ADMIN, 0, c_approve, "USER_ID let a user in (admin)"},
    {"ban", NX_ROLE_ADMIN, 0, c_ban, "USER_ID (admin)"},
    {"limits", NX_ROLE_ADMIN, 0, c_limits, "[ROLE leverage N sessions M] ceilings (admin)"},
    {"plugins", NX_ROLE_ADMIN, 0, c_plugins, "list|reload [NAME] (admin)"},
    {"models", NX_ROLE_ADMIN, 0, c_models, "the regime model; reload it (admin)"},
    {"logs", NX_ROLE_OWNER, 0, c_logs, "[n] latest log lines (owner)"},
    {"killswitch", NX_ROLE_OWNER, 0, c_killswitch, "on|off for everyone (owner)"},
    {NULL, 0, 0, NULL, NULL},
};

static void c_help(nx_chat_t *b, caller_t *who, char *args)
{
    (void)args;
    text_t t = {0};
    char esc[128];
    chat_put(&t, "<b>Commands</b>\n");
    for (const cmd_t *c = cmds; c->name; c++) {
        if (c->role > who->u.role)
            continue;
        nx_tg_escape(c->help, esc, sizeof esc);
        chat_put(&t, "/%s %s\n", c->name, esc);
    }
    chat_say(b, who->chat, t.s, NULL, 0);
}

char *nx_chat_commands_json_of(const nx_chat_command_desc_t *c, size_t n)
{
    /* jansson escapes quotes, backslashes and control characters, and
     * sizes the text itself */
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *o = json_pack("{s:s, s:s}", "command", c[i].command, "description",
                              c[i].description);
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    char *out = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    return out;
}

const char *nx_chat_commands_json(void)
{
    static char *json; /* kept for the process's life: Telegram re-sends it */
    if (json)
        return json;
    nx_chat_command_desc_t d[sizeof cmds / sizeof cmds[0]];
    size_t n = 0;
    for (const cmd_t *c = cmds; c->name; c++)
        d[n++] = (nx_chat_command_desc_t){c->name, c->help};
    json = nx_chat_commands_json_of(d, n);
    if (!json)
        NX_LOGK(NX_LOG_ERROR, "chat", "chat.commands_json",
                "the command list for Telegram could not be built (out of memory, or a "
                "description that is not UTF-8): the menu is left as it was");
    return json;
}

/* ---- dispatch ------------------------------------------------------------ */

/* A line of text: a command, checked against the caller's role. */
void chat_on_text(nx_chat_t *b, caller_t *who, char *text)
{
    if (text[0] != '/') {
        if (who->is_private && who->known)
            chat_reply(b, who, "I understand commands only: /help lists them.");
        else if (who->is_private)
            chat_reply(b, who, "Hello! Send /start to register.");
        return;
    }
    char *args = strchr(text, ' ');
    if (args) {
        *args++ = 0;
        while (*args == ' ')
            args++;
    }
    char *at = strchr(text, '@'); /* /cmd@botname in groups */
    if (at)
        *at = 0;
    const cmd_t *c = cmds;
    while (c->name && strcmp(c->name, text + 1))
        c++;
    if (!who->is_private && !who->known)
        return; /* in a group only registered users are answered */
    if (who->known && who->u.role == NX_ROLE_BANNED)
        return;
    if (!c->name) {
        chat_reply(b, who, "Sorry, I do not know that command. /help lists what you can do.");
        return;
    }
    if (c->role > NX_ROLE_PENDING && !who->known) {
        chat_reply(b, who, "Sorry, I do not know you yet. Send /start to register.");
        return;
    }
    if (c->role > who->u.role) {
        chat_reply(b, who, "%s",
                   who->u.role == NX_ROLE_PENDING
                       ? "Your request is still waiting for an admin's approval."
                       : "Sorry, that command is not available to you.");
        chat_audit(b, who, "refused", c->name);
        return;
    }
    if (c->private_only && !who->is_private) {
        if (b->tg && who->message_id)
            nx_tg_delete(b->tg, who->chat, who->message_id);
        chat_reply(b, who,
                   "For your safety /%s works in a private chat only; the message was deleted.",
                   c->name);
        return;
    }
    c->fn(b, who, args ? args : (char *)"");
}

req_msg_t *chat_req_find(nx_chat_t *b, uint32_t request)
{
    for (int i = 0; i < CHAT_REQS; i++)
        if (b->req[i].state && b->req[i].request == request)
            return &b->req[i];
    return NULL;
}

/* A button: approve / reject a request, or confirm /closeall. */
void chat_on_button(nx_chat_t *b, caller_t *who, const char *cb_id, const char *data)
{
    char ans[200] = "";
    if (!who->known || who->u.role == NX_ROLE_PENDING || who->u.role == NX_ROLE_BANNED) {
        snprintf(ans, sizeof ans, "Sorry, I do not know you.");
    } else if (!strncmp(data, "ap:", 3) || !strncmp(data, "rj:", 3)) {
        uint32_t id = (uint32_t)strtoul(data + 3, NULL, 10);
        int approve = data[0] == 'a';
        int why = 0;
        int rc = who->session
                     ? chat_command(b, who->session, approve ? NX_CTL_APPROVE : NX_CTL_REJECT, id,
                                    NULL, &why)
                     : NX_ENOENT;
        req_msg_t *r = chat_req_find(b, id);
        if (rc == 0)
            snprintf(ans, sizeof ans, "%s.",
                     approve ? "Approved: the order is on its way" : "Rejected");
        else if (rc == NX_ESTATE && why == NX_REJ_EXPIRED)
            snprintf(ans, sizeof ans, "This request expired; nothing was done.");
        else if (rc == NX_ESTATE && why)
            snprintf(ans, sizeof ans, "Refused: %s.", chat_reject_words(why));
        else
            snprintf(ans, sizeof ans, "This request is no longer open (expired or decided).");
        if (r && r->session == who->session && r->state == 1) {
            char html[800];
            snprintf(html, sizeof html, "%s\n\n<b>%s</b>", r->text, ans);
            chat_edit(b, r->chat, r->message_id, html);
            r->state = 2;
        }
        chat_audit(b, who, approve ? "approve_request" : "reject_request", ans);
    } else if (!strncmp(data, "ca:yes:", 7)) {
        closeall_yes(b, who, (uint32_t)strtoul(data + 7, NULL, 10), ans, sizeof ans);
        chat_audit(b, who, "closeall", ans);
    } else if (!strncmp(data, "ca:no:", 6)) {
        uint32_t nonce = (uint32_t)strtoul(data + 6, NULL, 10);
        for (int i = 0; i < CHAT_CONFIRMS; i++)
            if (b->confirms[i].nonce == nonce && b->confirms[i].user == who->u.id)
                b->confirms[i].nonce = 0;
        snprintf(ans, sizeof ans, "Nothing was closed.");
    } else {
        snprintf(ans, sizeof ans, "This button is no longer valid.");
    }
    if (cb_id && b->tg)
        nx_tg_answer(b->tg, cb_id, ans);
    chat_say(b, who->chat, ans, NULL, 0);
}
