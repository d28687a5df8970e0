/*
 * engine_boot.c — the engine's life (see engine.h): init builds the rings,
 * opens storage, creates the cortex with its strategies and the desk, and
 * recovers the saved state; start makes the feeds and the Telegram client
 * on one network context and starts the threads; destroy reports and frees
 * whatever init got to. Everything here runs on the main thread, before the
 * threads start or after they are joined.
 */
#include "engine.h"
#include "parts.h"

#include "nx/error.h"
#include "nx/log.h"
#include "nx/vault.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The network thread's libwebsockets context, shared by the feeds and the
 * Telegram client: made once, before the threads start. */
static int net_make(nx_engine_t *e)
{
    if (!e->net)
        e->net = nx_net_create(&e->clock);
    return e->net ? 0 : NX_ESYSTEM;
}

/* A secret from the environment is used only once the log redacts it: a
 * value it cannot register (shorter than 4 bytes, 256 or longer, a 33rd
 * secret) would be printed in clear by the first message that quotes it.
 * 0 for an unset or empty variable; NX_ECONFIG, logged, naming the variable
 * and never the value. */
static int secret_register(const char *var)
{
    const char *v = getenv(var);
    if (!v || !*v)
        return 0;
    int rc = nx_log_add_secret(v);
    if (rc) {
        NX_ERROR("main",
                 "%s cannot be registered for redaction in the log (%s: it must be 4 to 255 "
                 "bytes, and at most 32 secrets are kept): it is not used, and Nexus does not "
                 "start",
                 var, nx_strerror(rc));
        return NX_ECONFIG;
    }
    return 0;
}

/* The secrets this config uses: Alpaca's keys with an Alpaca feed, the
 * webhook secret with a webhook bot. One it does not use is never read
 * again, so it needs no redaction and stops nothing (it is said). */
static int secrets_register(const nx_config_t *c)
{
    int alpaca = 0;
    for (uint32_t i = 0; i < c->n_feeds; i++)
        alpaca |= c->feeds[i].venue == NX_VENUE_ALPACA;
    const char *token = getenv("NEXUS_TELEGRAM_TOKEN");
    int bot = token && *token, webhook = bot && c->chat.webhook;
    static const char *const vars[] = {"NEXUS_ALPACA_KEY_ID", "NEXUS_ALPACA_SECRET_KEY",
                                       "NEXUS_TELEGRAM_TOKEN", "NEXUS_TELEGRAM_WEBHOOK_SECRET"};
    const int used[] = {alpaca, alpaca, bot, webhook};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v && !used[i]) {
            NX_INFO("main", "%s is set but not used (%s)", vars[i],
                    i < 2 ? "no Alpaca feed" : "the bot polls: no webhook");
            continue;
        }
        int rc = used[i] ? secret_register(vars[i]) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

/* Create one feed per configured venue connection and subscribe every
 * configured symbol of that venue — before the threads start, so every
 * thread may read e->feeds (their stats); the network thread connects them. */
static int feeds_create(nx_engine_t *e)
{
    const nx_config_t *c = e->cfg;
    if (!c->n_feeds)
        return 0;
    if (net_make(e))
        return NX_ESYSTEM;
    /* registered for redaction by nx_engine_start (secrets_register) */
    const char *ak = getenv("NEXUS_ALPACA_KEY_ID"), *as = getenv("NEXUS_ALPACA_SECRET_KEY");
    for (uint32_t i = 0; i < c->n_feeds; i++) {
        const nx_config_feed_t *fc = &c->feeds[i];
        nx_feed_opts_t o;
        nx_feed_opts_default(&o);
        o.venue = fc->venue;
        o.ws_url = fc->ws_url;
        o.rest_url = fc->rest_url;
        o.kline_interval = fc->kline_interval;
        o.watchdog_ms = fc->watchdog_ms;
        o.stale_ns = (int64_t)fc->stale_s * NX_NS_PER_SEC;
        o.book_depth = fc->book_depth;
        o.alpaca_key = ak;
        o.alpaca_secret = as;
        nx_feed_t *f = nx_feed_create(e->net, &o, e->symtab, e->market);
        if (!f)
            return NX_EINVAL;
        e->feeds[e->n_feeds++] = f;
        uint32_t subs = 0;
        for (uint32_t s = 0; s < nx_symtab_count(e->symtab); s++) {
            const nx_symbol_t *sym = nx_symtab_get(e->symtab, s);
            if (sym->venue == fc->venue && nx_feed_subscribe(f, s, fc->streams) == 0)
                subs++;
        }
        NX_INFO("feed", "%s: %u symbols, streams 0x%x, ws %s", nx_venue_name(fc->venue), subs,
                fc->streams, fc->ws_url);
    }
    return 0;
}

void engine_feeds_stop(nx_engine_t *e)
{
    if (!e->net)
        return;
    nx_tg_stop(e->tg); /* its connections close with the context */
    for (uint32_t i = 0; i < e->n_feeds; i++)
        nx_feed_stop(e->feeds[i]);
    int64_t end = nx_mono_ns() + 200 * NX_NS_PER_MS;
    while (nx_mono_ns() < end)
        nx_net_service(e->net, 10);
    for (uint32_t i = 0; i < e->n_feeds; i++) {
        nx_feed_stats_t st;
        nx_feed_stats(e->feeds[i], &st);
        NX_INFO("feed",
                "%s: frames=%llu events=%llu errors=%llu connects=%llu backfilled=%llu "
                "book_gaps=%llu resyncs=%llu stash_dropped=%llu control_dropped=%llu "
                "rest_oversize=%llu",
                nx_venue_name(e->cfg->feeds[i].venue), (unsigned long long)st.frames,
                (unsigned long long)st.events, (unsigned long long)st.errors,
                (unsigned long long)st.connects, (unsigned long long)st.backfill_klines,
                (unsigned long long)st.book_gaps, (unsigned long long)st.book_resyncs,
                (unsigned long long)st.stash_dropped, (unsigned long long)st.control_dropped,
                (unsigned long long)st.rest_oversize);
    }
    pthread_mutex_lock(&e->call_mu); /* a caller may be waking the network thread */
    nx_net_destroy(e->net);
    e->net = NULL; /* the feeds stay until release(): other threads read their stats */
    pthread_mutex_unlock(&e->call_mu);
}

/* The config's users and sessions are seeds: each is written when the
 * database does not have it yet (a user by id, a session by user and
 * venue), and from then on the database is the truth — a session changed
 * from chat keeps its changes across restarts. */
static int seed(nx_engine_t *e)
{
    const nx_config_t *cfg = e->cfg;
    int rc = 0;
    for (uint32_t i = 0; !rc && i < cfg->n_users; i++) {
        const nx_config_user_t *u = &cfg->users[i];
        if ((rc = nx_store_user_seed(e->store, u->id, u->chat_id, u->name, (nx_role_t)u->role)))
            NX_ERROR("store", "users[%u] (id %lld): %s", i, (long long)u->id,
                     nx_store_error(e->store));
    }
    for (uint32_t i = 0; !rc && i < cfg->trading.n_sessions; i++) {
        const nx_config_session_t *x = &cfg->trading.sessions[i];
        nx_user_t u;
        if ((rc = nx_store_user_get(e->store, 0, x->user, &u))) {
            NX_ERROR("store",
                     "trading.sessions[%u] (%s) belongs to user %lld, who is not in the "
                     "database: add them with `nexus users add` or under \"users\"",
                     i, x->name, (long long)x->user);
            break;
        }
        char json[NX_SESSION_CONFIG_MAX];
        int n = nx_config_session_json(cfg, x, json, sizeof json);
        rc = n < 0 ? n : 0;
        if (!rc) {
            static const char *const modes[] = {"watcher", "copilot", "pilot"};
            rc = nx_store_session_add(e->store, x->user, nx_venue_name(x->venue), x->name,
                                      modes[x->mode <= 2 ? x->mode : 2], 0, json, NULL);
            if (rc == NX_EEXIST)
                rc = 0; /* seeded before: the database's is the session now */
        }
        if (rc)
            NX_ERROR("store", "trading.sessions[%u] (%s): %s", i, x->name,
                     nx_store_error(e->store));
    }
    return rc;
}

/* Storage: DATABASE_URL (PostgreSQL) or data_dir/nexus.db (SQLite),
 * migrated; the master key checked when there is one, or required when
 * the database holds sealed keys; the owner from the config. */
static int storage_init(nx_engine_t *e)
{
    const nx_config_t *cfg = e->cfg;
    char err[512];
    const char *url = getenv("DATABASE_URL");
    int rc = nx_store_open(&e->store, url, cfg->data_dir, err, sizeof err);
    if (rc) {
        NX_ERROR("store", "cannot open storage: %s", err);
        return rc;
    }
    int applied, version;
    if ((rc = nx_store_migrate(e->store, 0, &applied)) ||
        (rc = nx_store_version(e->store, &version))) {
        NX_ERROR("store",
                 "cannot bring the %s database to schema version %d (%s): Nexus does not trade "
                 "on storage it cannot write",
                 nx_store_kind_name(e->store), nx_store_latest_version(), nx_store_error(e->store));
        return rc;
    }
    /* a database that can be read but not written (read-only, its disk
     * full) would be found out at the first fill: refused now */
    char stamp[32];
    int len = snprintf(stamp, sizeof stamp, "%lld", (long long)(nx_real_ns() / NX_NS_PER_MS));
    if ((rc = nx_store_meta_put(e->store, "last_start_ms", (const uint8_t *)stamp, (size_t)len))) {
        NX_ERROR("store",
                 "cannot write to the %s database (%s): Nexus does not trade on storage it "
                 "cannot write",
                 nx_store_kind_name(e->store), nx_store_error(e->store));
        return rc;
    }
    nx_vault_t *v = NULL;
    rc = nx_vault_load(&v, cfg->storage.key_file, err, sizeof err);
    if (rc == NX_ENOENT && !nx_vault_needed(e->store)) {
        rc = 0; /* no keys stored, none needed: paper trading */
    } else if (rc) {
        NX_ERROR("store", "%s%s", err,
                 rc == NX_ENOENT ? " (this database holds sealed API keys)" : "");
        return rc;
    } else if ((rc = nx_vault_unlock(v, e->store, err, sizeof err))) {
        NX_ERROR("store", "%s", err);
        nx_vault_free(v);
        return rc;
    }
    nx_vault_free(v); /* opened again, into locked memory, when a request must be signed */
    if (cfg->storage.owner_chat_id) {
        nx_user_t u;
        rc = nx_store_user_get(e->store, cfg->storage.owner_chat_id, 0, &u);
        if (rc == NX_ENOENT)
            rc = nx_store_user_add(e->store, cfg->storage.owner_chat_id, cfg->storage.owner_name,
                                   NX_ROLE_OWNER, "UTC", NULL);
        else if (rc == 0 && u.role != NX_ROLE_OWNER)
            rc = nx_store_user_set_role(e->store, u.id, NX_ROLE_OWNER);
        if (rc) {
            NX_ERROR("store", "cannot record the owner: %s", nx_store_error(e->store));
            return rc;
        }
    }
    if ((rc = seed(e)))
        return rc;
    /* where the journal goes while the database does not take it */
    char spill[NX_PATH_MAX + 32];
    const char *dir = cfg->data_dir[0] ? cfg->data_dir : ".";
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        NX_ERROR("store", "cannot create the data directory %s: %s", dir, strerror(errno));
        return NX_EIO;
    }
    snprintf(spill, sizeof spill, "%s/journal.spill", dir);
    nx_writer_opts_t wo = {e->store,           e->symtab, e->journal, 0,
                           cfg->storage.batch, NULL,      e,          engine_journal_stored,
                           spill};
    if ((rc = nx_writer_create(&e->writer, &wo)))
        return rc;
    uint64_t last;
    if ((rc = nx_store_journal_last(e->store, &last))) {
        NX_ERROR("store", "cannot read where the journal ends: %s", nx_store_error(e->store));
        return rc;
    }
    NX_INFO("store",
            "%s storage at schema version %d (%d migration%s applied), journal continues "
            "after entry %llu",
            nx_store_kind_name(e->store), version, applied, applied == 1 ? "" : "s",
            (unsigned long long)last);
    return 0;
}

/* Create the cortex and load every configured strategy (parts.h). */
static int cortex_init(nx_engine_t *e)
{
    if (!e->cfg->n_symbols)
        return 0;
    return nx_parts_cortex(e->cfg, e->symtab, engine_on_signal, engine_on_candle, e, 1,
                           &e->cortex);
}

/* Sentinel's exits are protective: the desk knows them by strategy id. */
static int desk_sentinel(nx_engine_t *e)
{
    if (e->cortex)
        nx_desk_set_sentinel(e->desk, nx_cortex_strategies_of(e->cortex, "sentinel"));
    uint32_t n;
    e->market_days = nx_parts_market_days(e->cfg, &n);
    nx_desk_set_market_days(e->desk, e->market_days, n);
    return 0;
}

uint64_t engine_follow_mask(nx_engine_t *e, const nx_config_session_t *x)
{
    return nx_parts_follow_mask(e->cortex, x);
}

/* Every stored session onto the desk, by its id. One whose settings can no
 * longer be used (a symbol or strategy removed from the config) is left
 * out with the reason logged; the others trade. */
static int load_session(void *ctx, const nx_session_row_t *r)
{
    nx_engine_t *e = ctx;
    static nx_config_errors_t errs; /* start-up, one thread */
    nx_config_session_t x;
    int rc = nx_config_session_from_row(e->cfg, r->config, r->user_id, r->name, r->venue, r->mode,
                                        &x, &errs);
    if (rc) {
        NX_ERROR("desk", "session %lld (%s) of user %lld not started: its settings %s: %s",
                 (long long)r->id, r->name, (long long)r->user_id, errs.e[0].path,
                 errs.e[0].message);
        return 0;
    }
    if (r->id <= 0 || r->id > UINT32_MAX ||
        (rc = nx_desk_add_session(e->desk, (uint32_t)r->id, &x, engine_follow_mask(e, &x)))) {
        NX_ERROR("desk", "session %lld (%s) of user %lld not started: %s", (long long)r->id,
                 r->name, (long long)r->user_id, nx_strerror(rc ? rc : NX_EINVAL));
        return 0;
    }
    if (x.execution != NX_EXEC_PAPER && e->n_live < NX_CONFIG_MAX_SESSIONS) {
        e->live_sessions[e->n_live].session = (uint32_t)r->id;
        e->live_sessions[e->n_live].user = r->user_id;
        e->live_sessions[e->n_live].exec = (uint8_t)x.execution;
        snprintf(e->live_sessions[e->n_live].name, sizeof e->live_sessions[0].name, "%s", r->name);
        e->n_live++;
    }
    return 0;
}

static int sessions_load(nx_engine_t *e)
{
    int rc = nx_store_sessions(e->store, 0, load_session, e);
    if (rc)
        NX_ERROR("store", "cannot read the sessions: %s", nx_store_error(e->store));
    return rc;
}

/* The bad-tick filter between the market ring and everything that trades. */
static int guard_init(nx_engine_t *e)
{
    nx_tickguard_opts_t o;
    nx_parts_guard_opts(e->cfg, &o);
    o.on_bad = engine_on_bad_tick;
    o.ctx = e;
    uint32_t n = nx_symtab_count(e->symtab);
    e->guard = nx_tickguard_create(&o, n);
    e->bad_told_ns = calloc(n ? n : 1, sizeof *e->bad_told_ns);
    e->bad_untold = calloc(n ? n : 1, sizeof *e->bad_untold);
    return e->guard && e->bad_told_ns && e->bad_untold ? 0 : NX_ENOMEM;
}

/* Everything nx_engine_init made, whatever it got to (each part may be
 * NULL): shared by a failed start and by nx_engine_destroy. */
static void release(nx_engine_t *e)
{
    nx_chat_destroy(e->chat);
    e->chat = NULL;
    nx_tg_destroy(e->tg); /* stopped with the network thread's context */
    e->tg = NULL;
    nx_net_destroy(e->net); /* when the network thread never ran */
    e->net = NULL;
    engine_live_release(e); /* after the loop: its connections' callbacks ran on close */
    for (uint32_t i = 0; i < e->n_feeds; i++)
        nx_feed_destroy(e->feeds[i]);
    e->n_feeds = 0;
    nx_desk_destroy(e->desk);
    free(e->market_days);
    e->market_days = NULL;
    e->desk = NULL;
    nx_tickguard_destroy(e->guard);
    e->guard = NULL;
    free(e->bad_told_ns);
    free(e->bad_untold);
    e->bad_told_ns = NULL;
    e->bad_untold = NULL;
    nx_cortex_destroy(e->cortex);
    e->cortex = NULL;
    nx_writer_destroy(e->writer);
    e->writer = NULL;
    nx_store_close(e->store);
    e->store = NULL;
    nx_ring_destroy(e->journal);
    nx_ring_destroy(e->orders);
    nx_ring_destroy(e->market);
    e->journal = e->orders = e->market = NULL;
    free(e->symtab);
    e->symtab = NULL;
}

int nx_engine_init(nx_engine_t *e, const nx_config_t *cfg)
{
    memset(e, 0, sizeof *e);
    e->cfg = cfg;
    pthread_mutex_init(&e->call_mu, NULL);
    if (cfg->engine.clock == NX_CLOCK_SIM)
        nx_clock_init_sim(&e->clock, 0);
    else
        nx_clock_init_live(&e->clock);
    int rc;
    e->symtab = malloc(sizeof *e->symtab);
    if (!e->symtab)
        return NX_ENOMEM;
    nx_symtab_init(e->symtab);
    if ((rc = nx_config_symbols_intern(cfg, e->symtab)) ||
        (rc = nx_ring_create(&e->market, "market", cfg->engine.market_ring, sizeof(nx_event_t), 1,
                             NX_RING_NEVER_BLOCK, cfg->engine.wait)) ||
        (rc = nx_ring_create(&e->orders, "orders", cfg->engine.order_ring, sizeof(nx_event_t), 1,
                             NX_RING_NO_DROP, NX_WAIT_SPIN_YIELD)) ||
        (rc = nx_ring_create(&e->journal, "journal", cfg->engine.journal_ring, sizeof(nx_event_t),
                             1, NX_RING_NO_DROP, NX_WAIT_BLOCK)) ||
        (rc = guard_init(e)) || (rc = storage_init(e)) || (rc = cortex_init(e)) ||
        (cfg->n_symbols &&
         ((rc = nx_desk_create(&e->desk, cfg, e->symtab, engine_desk_journal, e)) ||
          (rc = desk_sentinel(e)) || (rc = sessions_load(e)) || (rc = engine_live_init(e)) ||
          (rc = engine_resume_ids(e)) || (rc = engine_recover(e))))) {
        release(e); /* the desk too, when recovery failed after creating it */
        return rc;
    }
    if (e->n_live)
        engine_live_protect(e);
    return 0;
}

/* nx_engine_verify's desk journals nowhere: nothing is written. */
static void journal_nowhere(void *ctx, const nx_event_t *ev)
{
    (void)ctx;
    (void)ev;
}

int nx_engine_verify(nx_engine_t *e, const nx_config_t *cfg, nx_store_t *st, int *held)
{
    memset(e, 0, sizeof *e);
    e->cfg = cfg;
    e->store = st; /* the caller's: not closed by nx_engine_verify_done */
    e->verify_only = 1;
    pthread_mutex_init(&e->call_mu, NULL);
    *held = 0;
    if (!cfg->n_symbols)
        return NX_EINVAL;
    int rc;
    e->symtab = malloc(sizeof *e->symtab);
    if (!e->symtab)
        return NX_ENOMEM;
    nx_symtab_init(e->symtab);
    /* the same steps as nx_engine_init, from the desk on (no Sentinel: it
     * names protective exits, which recovery does not look at) */
    if ((rc = nx_config_symbols_intern(cfg, e->symtab)) ||
        (rc = nx_desk_create(&e->desk, cfg, e->symtab, journal_nowhere, e)) ||
        (rc = sessions_load(e)) || (rc = engine_resume_ids(e)) || (rc = engine_recover(e)))
        return rc;
    *held = e->recovery_held;
    return 0;
}

void nx_engine_verify_done(nx_engine_t *e)
{
    e->store = NULL; /* the caller's */
    release(e);
    pthread_mutex_destroy(&e->call_mu);
}

/* The Telegram bot, when NEXUS_TELEGRAM_TOKEN is set: on the network
 * thread's libwebsockets context, made before the thread runs. */
static int chat_start(nx_engine_t *e)
{
    const char *token = getenv("NEXUS_TELEGRAM_TOKEN");
    if (!token || !*token)
        return 0;
    /* both registered for redaction by nx_engine_start (secrets_register);
     * the secret only in webhook mode, the only one that reads it */
    const char *secret = e->cfg->chat.webhook ? getenv("NEXUS_TELEGRAM_WEBHOOK_SECRET") : NULL;
    if (net_make(e))
        return NX_ESYSTEM;
    const nx_config_t *c = e->cfg;
    nx_tg_opts_t o = {0};
    o.api_url = c->chat.api_url;
    o.token = token;
    o.poll_timeout_s = c->chat.poll_timeout_s;
    o.webhook_url = c->chat.webhook ? c->chat.webhook_url : NULL;
    o.webhook_port = c->chat.webhook_port;
    o.webhook_secret = secret;
    o.chat_per_s = c->chat.chat_per_s;
    o.global_per_s = c->chat.global_per_s;
    o.commands_json = nx_chat_commands_json();
    e->tg = nx_tg_create(nx_net_context(e->net), &o);
    if (!e->tg)
        return NX_EINVAL;
    return nx_tg_start(e->tg);
}

int nx_engine_start(nx_engine_t *e)
{
    e->start_mono_ns = nx_mono_ns();
    engine_ops_init(e);
    int src = secrets_register(e->cfg);
    if (src)
        return src;
    int frc = feeds_create(e);
    if (frc)
        NX_ERROR("feed", "cannot start the market-data feeds: %s", nx_strerror(frc));
    int crc = chat_start(e);
    if (crc) {
        NX_ERROR("chat", "cannot start the Telegram bot: %s", nx_strerror(crc));
        return crc;
    }
    if (e->cortex) {
        int rc = nx_cortex_start(e->cortex);
        if (rc) {
            NX_ERROR("cortex", "cannot start the cortex: %s", nx_strerror(rc));
            return rc;
        }
    }
    int rrc = engine_record_start(e);
    if (rrc)
        return rrc;
    /* before the threads: the chat layer's /dashboard reads what it makes */
    engine_web_start(e);
    if (pthread_create(&e->th_service, NULL, engine_service_main, e)) {
        engine_record_join(e);
        engine_web_stop(e);
        return NX_ESYSTEM;
    }
    if (pthread_create(&e->th_engine, NULL, engine_engine_main, e))
        goto fail_engine;
    if (pthread_create(&e->th_network, NULL, engine_network_main, e))
        goto fail_network;
    e->started = 1;
    engine_ops_ready(e);
    return 0;

fail_network:
    nx_ring_close(e->market);
    pthread_join(e->th_engine, NULL);
fail_engine:
    nx_ring_close(e->journal);
    pthread_join(e->th_service, NULL);
    engine_record_join(e);
    engine_web_stop(e);
    return NX_ESYSTEM;
}

void nx_engine_request_stop(nx_engine_t *e)
{
    if (!atomic_exchange_explicit(&e->stop, 1, memory_order_acq_rel))
        engine_ops_stopping(e);
}

void nx_engine_join(nx_engine_t *e)
{
    if (!e->started)
        return;
    pthread_join(e->th_network, NULL);
    pthread_join(e->th_engine, NULL);
    engine_record_join(e);
    pthread_join(e->th_service, NULL);
    engine_web_stop(e);
    e->started = 0;
}

/* What the decoders refused and the guard quarantined, by kind, for the
 * end-of-run summary. */
static void market_summary(const nx_engine_t *e)
{
    uint64_t dec[NX_BAD_COUNT] = {0};
    for (uint32_t i = 0; i < e->n_feeds; i++) {
        nx_feed_stats_t st;
        nx_feed_stats(e->feeds[i], &st);
        for (int k = 0; k < NX_BAD_COUNT; k++)
            dec[k] += st.bad[k];
    }
    nx_tickguard_stats_t g = {0};
    if (e->guard)
        nx_tickguard_stats(e->guard, &g);
    NX_INFO("market",
            "refused by the decoders: price=%llu qty=%llu kline=%llu | quarantined by the guard: "
            "band=%llu time=%llu dup=%llu price=%llu qty=%llu kline=%llu | suspects=%llu "
            "let_through=%llu",
            (unsigned long long)dec[NX_BAD_PRICE], (unsigned long long)dec[NX_BAD_QTY],
            (unsigned long long)dec[NX_BAD_KLINE], (unsigned long long)g.quarantined[NX_BAD_BAND],
            (unsigned long long)g.quarantined[NX_BAD_TIME],
            (unsigned long long)g.quarantined[NX_BAD_DUP],
            (unsigned long long)g.quarantined[NX_BAD_PRICE],
            (unsigned long long)g.quarantined[NX_BAD_QTY],
            (unsigned long long)g.quarantined[NX_BAD_KLINE], (unsigned long long)g.suspects,
            (unsigned long long)g.let_through);
}

void nx_engine_destroy(nx_engine_t *e)
{
    if (e->start_mono_ns && e->guard) /* it ran */
        market_summary(e);
    nx_desk_summary(e->desk);
    if (e->cortex) {
        nx_cortex_stats_t cs;
        nx_cortex_stats(e->cortex, &cs);
        NX_INFO("cortex",
                "events=%llu candles=%llu gaps=%llu signals=%llu swaps=%llu reload_failures=%llu",
                (unsigned long long)cs.events, (unsigned long long)cs.candles_closed,
                (unsigned long long)cs.candle_gaps, (unsigned long long)cs.signals,
                (unsigned long long)cs.swaps, (unsigned long long)cs.reload_failures);
        if (e->cfg->cortex.regime.on)
            NX_INFO("regime",
                    "candles read: %llu decided by the model, %llu by the rules; %llu entry "
                    "signals not routed; model reloads %llu (refused %llu)",
                    (unsigned long long)cs.regime_by_model, (unsigned long long)cs.regime_by_rules,
                    (unsigned long long)cs.unrouted, (unsigned long long)cs.model_reloads,
                    (unsigned long long)cs.model_reload_failures);
        for (uint32_t i = 0; i < cs.strategies; i++) {
            nx_strategy_info_t in;
            if (nx_cortex_strategy_info(e->cortex, (int)i, &in) == 0)
                NX_INFO("cortex",
                        "strategy %s (%s %s): candles=%llu signals=%llu not_routed=%llu swaps=%llu",
                        in.name, in.plugin, in.version, (unsigned long long)in.calls,
                        (unsigned long long)in.signals, (unsigned long long)in.unrouted,
                        (unsigned long long)in.swaps);
        }
    }
    release(e);
}

void nx_engine_summary(const nx_engine_t *e, char *buf, size_t cap)
{
    const nx_config_t *c = e->cfg;
    char syms[256];
    size_t o = 0;
    syms[0] = 0;
    for (uint32_t i = 0; i < c->n_symbols && o < sizeof syms - 32; i++)
        o += (size_t)snprintf(syms + o, sizeof syms - o, "%s%s:%s", i ? "," : "",
                              nx_venue_name(c->symbols[i].venue), c->symbols[i].symbol);
    snprintf(buf, cap,
             "nexus %s up: config=%s clock=%s wait=%s rings market=%u(never-block) "
             "orders=%u(no-drop) journal=%u(no-drop) event=%zuB symbols=%u[%s] "
             "threads=network,engine,service cpus=%ld log=%s/%s",
             NX_VERSION_STRING, c->path, c->engine.clock == NX_CLOCK_SIM ? "sim" : "live",
             nx_wait_name(c->engine.wait), c->engine.market_ring, c->engine.order_ring,
             c->engine.journal_ring, sizeof(nx_event_t), c->n_symbols, syms,
             sysconf(_SC_NPROCESSORS_ONLN), nx_log_level_name(c->log.level),
             c->log.format == NX_LOG_JSON ? "json" : "text");
}
