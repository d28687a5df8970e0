/*
 * chat.h — the chat layer: people's commands, what they are told, and the
 * scheduled reports (service thread).
 *
 * The layer is independent of where people type: the Telegram client
 * (telegram.h) and the console (`nexus run --console`, the owner at the
 * terminal) are its transports today. It is split by job, one file each in
 * servos/chat/src: chat.c (lifecycle, who is calling, dispatch),
 * commands.c (the command table, roles and each command), replies.c (the
 * answers about a session, rendered on the engine thread), notify.c (what
 * a person is told: fills, closed trades, approval requests, feed and
 * plugin problems), users.c (the users and their sessions), console.c,
 * transport.c (one reply path for Telegram and the console) and report.c.
 *
 * Who may do what: a chat user is a row in the users table; the owner comes
 * from the config; /start registers a new user as pending until an admin
 * approves. A user's trading session is the configured session with the
 * user's name. Every command checks the caller's role and reads or changes
 * only the caller's own session.
 *
 * Edges: chat uses core, storage (users, audit log, sealed keys), the
 * desk's saved-state codec (reports), the desk (its read calls, on the
 * engine thread), the cortex's read calls (strategies, the market read)
 * and the Telegram client. It never reaches into the engine: what it needs
 * of the running process comes through nx_chat_host_t below, which the
 * executable implements. The desk never knows chat.
 *
 * Threads: every function here runs on the service thread, except
 * nx_chat_commands_json (start-up) and the host's call callbacks (engine
 * thread); nx_chat_destroy after the service thread has ended.
 */
#ifndef NX_CHAT_H
#define NX_CHAT_H

#include <stddef.h>
#include <stdint.h>

#include "nx/config.h"
#include "nx/cortex.h"
#include "nx/desk.h"
#include "nx/event.h"
#include "nx/store.h"
#include "nx/symtab.h"
#include "nx/telegram.h"

typedef struct nx_chat nx_chat_t;

/* What a call's callback may read: the engine thread's desk and cortex,
 * between two market events. */
typedef struct nx_chat_view {
    const nx_desk_t *desk; /* NULL when no trading session is configured */
    nx_cortex_t *cortex;   /* NULL when no symbol is configured */
} nx_chat_view_t;

/* Runs on the engine thread right after the desk took the call's command
 * (rc and why: the desk's answer, why an nx_reject_t), between two market
 * events: it must not block, take a lock or allocate. */
typedef void (*nx_chat_call_cb)(const nx_chat_view_t *v, void *arg, int rc, int why);

/* The engine's health, as /health shows it. */
typedef struct nx_chat_feed_health {
    nx_venue_t venue;
    uint64_t frames, connects, disconnects, errors;
    uint64_t stash_dropped, control_dropped, rest_oversize; /* nx_feed_stats_t's drops */
} nx_chat_feed_health_t;

typedef struct nx_chat_health {
    int64_t up_s;
    uint64_t events, market_overruns, journal_stored;
    uint32_t n_feeds;
    nx_chat_feed_health_t feeds[NX_CONFIG_MAX_FEEDS];
} nx_chat_health_t;

/* The host: what the running process lends the chat layer. Every function
 * is called on the service thread (the chat layer's own). */
typedef struct nx_chat_host {
    void *ctx;
    /* Hand c to the desk in order with the market data, then run fn
     * (optional) on the engine thread with arg; blocks the service thread
     * until both are done (~0.1 ms when the engine is idle). Returns the
     * desk's result (*why: its nx_reject_t), or NX_ECLOSED once the engine
     * has stopped. Keeps storing the journal while it waits, so
     * nx_chat_on_event may run inside it. */
    int (*call)(void *ctx, const nx_ev_control_t *c, nx_chat_call_cb fn, void *arg, int *why);
    void (*health)(void *ctx, nx_chat_health_t *out);
    /* 1 once the process is stopping (feeds closing are then no news). */
    int (*stopping)(void *ctx);
    /* A strategy's description and counters (nx_cortex_strategy_info):
     * 0, or NX_ENOENT past the last (and when there is no cortex). */
    int (*strategy)(void *ctx, int i, nx_strategy_info_t *out);
    /* Put a session just stored (id: its row) on the desk, to trade from
     * the next market event: 0, or NX_EFULL / NX_EEXIST / NX_EINVAL /
     * NX_ECLOSED. */
    int (*session_add)(void *ctx, uint32_t id, const nx_config_session_t *c);
    /* A one-time sign-in link to the web pages for this user (role:
     * nx_role_t) into url: 0, or NX_ENOENT when the engine serves no web
     * pages (web.listen ""). May be NULL. */
    int (*dashboard_link)(void *ctx, int64_t user, int role, char *url, size_t cap);
} nx_chat_host_t;

typedef struct nx_chat_opts {
    const nx_config_t *cfg;    /* owner, sessions, log file, key file */
    const nx_symtab_t *symtab; /* names and scales */
    nx_store_t *store;         /* the service thread's store handle */
    nx_tg_t *tg;               /* NULL: no Telegram */
    int console;               /* 1: the owner's commands from standard input */
    nx_chat_host_t host;
} nx_chat_opts_t;

/* Service thread, after the store is open. NULL if out of memory. With
 * console set, a reader thread takes lines from standard input. */
nx_chat_t *nx_chat_create(const nx_chat_opts_t *o);
/* Take what arrived (chat updates, console lines, sent message ids) and
 * answer it; tell the owner of a plugin that failed to reload. */
void nx_chat_poll(nx_chat_t *c);
/* A stored journal entry: what a person must be told. */
void nx_chat_on_event(nx_chat_t *c, const nx_event_t *ev);
/* A web page's action for a signed-in user on one of their sessions
 * (service thread): approve or reject (arg: the request id), pause,
 * resume, reset (the breaker), mode (arg: watcher, copilot or pilot),
 * close (arg: the pair), closeall, unlock (arg: the pair), locks; and
 * what is not a session's: killswitch (arg: on or off; the owner's),
 * health, users (admins), logs (the owner's latest 40 lines). It runs as
 * the person's own chat command or button would,
 * with the same checks; an approval request's chat message is edited to
 * show the outcome (the first answer, from either place, wins); what the
 * chat would have replied goes into said as plain text. 0, NX_EPERM (not
 * a user who may act), NX_EINVAL (no such action, or an argument that is
 * not one word). */
int nx_chat_web_act(nx_chat_t *c, int64_t user, uint32_t session, const char *act, const char *arg,
                    char *said, size_t cap);
/* Something for the owner (reconciliation differences found at start). */
void nx_chat_tell_owner(nx_chat_t *c, const char *html);
void nx_chat_destroy(nx_chat_t *c);

/* The commands as setMyCommands' JSON array (static storage, built by
 * the first call: start-up, one thread). NULL if it could not be built
 * (logged); Telegram then keeps the bot's menu as it was. */
const char *nx_chat_commands_json(void);

/* One entry of that array: a command name without its slash, and the text
 * shown beside it (UTF-8, any characters: they are escaped). */
typedef struct nx_chat_command_desc {
    const char *command;
    const char *description;
} nx_chat_command_desc_t;

/* n entries as a JSON array [{"command":..,"description":..},...], built
 * with jansson (escaped, no fixed size). The caller frees the string with
 * free(). NULL when out of memory or a string is not valid UTF-8. Any
 * thread; allocates. */
char *nx_chat_commands_json_of(const nx_chat_command_desc_t *c, size_t n);

/*
 * Scheduled reports (report.c), the scheduler's action for a task
 * (nx_sched_run_due's callback shape). "daily_report": each session's
 * balance, trades and open positions from its latest saved state — the
 * task's user's own session, or every session for an owner or admin —
 * to the user's chat (when chat runs: c may be NULL), the audit log and,
 * shortened, the task's result. Returns 0 or a negative NX_E… code
 * (NX_EINVAL for an unknown action, with the reason in result). Service
 * thread; blocks on storage; allocates (one decoded state, ~100 KB).
 */
int nx_chat_report(nx_chat_t *c, nx_store_t *st, int64_t task_id, int64_t user_id,
                   const char *action, char *result, size_t cap);

#endif /* NX_CHAT_H */
