/*
 * bot.h — the chat bot: people's commands and their notifications
 * (service thread; private to nexus/).
 *
 * The commands are a view over every biome (the desk, the cortex, the
 * feeds, storage), so the bot lives beside main, the one place that knows
 * them all; the Telegram wire is servos/telegram.h, and the console
 * (`nexus run --console`) is the same bot with the owner at the terminal.
 *
 * Who may do what: a chat user is a row in the users table (storage); the
 * owner comes from the config; /start registers a new user as pending
 * until an admin approves. A user's trading session is the configured
 * session with the user's name. Every command checks the caller's role and
 * reads or changes only the caller's own session; questions about the desk
 * and commands for it go to the engine thread (nx_engine_call), in order
 * with the market data.
 *
 * Notifications come from the journal after it is stored (the writer's
 * on_entry): signals for WATCHER sessions, approval requests with Approve /
 * Reject buttons (COPILOT), fills, closed trades with their reason,
 * rejected orders, breaker trips and locks; to the owner: feed problems,
 * plugin reload failures (watched on the cortex's counters once a second),
 * reconciliation mismatches. A request's buttons answer
 * "expired" or "already decided" once it is no longer open.
 */
#ifndef NX_BOT_H
#define NX_BOT_H

#include "engine.h"

typedef struct nx_bot nx_bot_t;

/* Service thread, after the store is open. tg may be NULL (console only). */
nx_bot_t *nx_bot_create(nx_engine_t *e, struct nx_tg *tg, int console);
/* Take what arrived (chat updates, console lines, sent message ids) and
 * answer it. Service thread. */
void nx_bot_poll(nx_bot_t *b);
/* A stored journal entry: what a person must be told. Service thread. */
void nx_bot_on_event(nx_bot_t *b, const nx_event_t *ev);
/* Something for the owner (reconciliation at start), or for one chat (a
 * scheduled report). Service thread. */
void nx_bot_tell_owner(nx_bot_t *b, const char *html);
void nx_bot_tell_chat(nx_bot_t *b, int64_t chat, const char *html);
void nx_bot_destroy(nx_bot_t *b);

/* The bot's commands as setMyCommands' JSON array (static storage). */
const char *nx_bot_commands_json(void);

#endif
