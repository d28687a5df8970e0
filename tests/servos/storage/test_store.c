/*
 * test_store.c — the whole store suite, run on SQLite and on a real
 * PostgreSQL server this test starts itself (pg_fixture.h): migrations
 * from empty and from every earlier version, users with hostile strings
 * stored verbatim, sessions, sealed keys (the stored bytes never hold the
 * plaintext, a sealed value moved to another user does not open, plaintext
 * rows are sealed on first load, a wrong master key changes nothing, key
 * rotation is all or nothing), the journal and what it derives, saved
 * desk states put together from their parts across batches (and a failed
 * batch retried) with the positions/locks/equity rows they mean, what
 * recovery reads back (states, the venue's open orders, fills), and the
 * consistency check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "journal_mix.h"
#include "pg_fixture.h"

#include "nx/error.h"
#include "nx/store.h"
#include "nx/vault.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct backend {
    const char *name;
    int pg;
} backend_t;

static backend_t SQLITE = {"sqlite", 0}, PG = {"postgresql", 1};
static pg_fixture_t PGX;
static int pg_up;
static char DIR_[64];
static nx_symtab_t T;

/* A fresh, empty database of the backend. */
static nx_store_t *fresh(const backend_t *b)
{
    char err[512] = "";
    nx_store_t *st = NULL;
    if (b->pg) {
        assert_true(pg_up);
        assert_int_equal(pgx_reset(&PGX), 0);
        assert_int_equal(nx_store_open(&st, PGX.url, NULL, err, sizeof err), 0);
    } else {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -f %s/nexus.db %s/nexus.db-wal %s/nexus.db-shm", DIR_, DIR_,
                 DIR_);
        assert_int_equal(system(cmd), 0);
        if (nx_store_open(&st, NULL, DIR_, err, sizeof err))
            fail_msg("%s", err);
    }
    return st;
}

static nx_store_t *migrated(const backend_t *b)
{
    nx_store_t *st = fresh(b);
    int applied;
    if (nx_store_migrate(st, 0, &applied))
        fail_msg("%s", nx_store_error(st));
    assert_int_equal(applied, nx_store_latest_version());
    return st;
}

static void test_migrations_from_empty(void **state)
{
    const backend_t *b = *state;
    nx_store_t *st = fresh(b);
    int v, applied;
    assert_int_equal(nx_store_version(st, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(nx_store_migrate(st, 0, &applied), 0);
    assert_int_equal(applied, nx_store_latest_version());
    assert_int_equal(nx_store_version(st, &v), 0);
    assert_int_equal(v, nx_store_latest_version());
    assert_int_equal(nx_store_migrate(st, 0, &applied), 0); /* again: nothing to do */
    assert_int_equal(applied, 0);
    assert_int_equal(nx_store_check(st), 0);
    nx_store_close(st);
}

/* From every earlier version, with data written at that version kept. */
static void test_migrations_from_every_version(void **state)
{
    const backend_t *b = *state;
    for (int from = 1; from < nx_store_latest_version(); from++) {
        nx_store_t *st = fresh(b);
        int applied, v;
        assert_int_equal(nx_store_migrate(st, from, &applied), 0);
        assert_int_equal(applied, from);
        int64_t uid;
        assert_int_equal(nx_store_user_add(st, 4242, "early", NX_ROLE_SUBSCRIBER, "UTC", &uid), 0);
        assert_int_equal(nx_store_session_put(st, uid, "binance-usdm", "copilot", 0, "{}", NULL),
                         0);
        assert_int_equal(nx_store_migrate(st, 0, &applied), 0);
        assert_int_equal(applied, nx_store_latest_version() - from);
        assert_int_equal(nx_store_version(st, &v), 0);
        assert_int_equal(v, nx_store_latest_version());
        nx_user_t u;
        assert_int_equal(nx_store_user_get(st, 4242, 0, &u), 0);
        assert_string_equal(u.name, "early");
        assert_int_equal(nx_store_check(st), 0);
        nx_store_close(st);
    }
}

static int count_user(void *ctx, const nx_user_t *u)
{
    (void)u;
    (*(int *)ctx)++;
    return 0;
}

static void test_users_and_hostile_strings(void **state)
{
    const backend_t *b = *state;
    nx_store_t *st = migrated(b);
    static const char *const names[] = {
        "Robert'); DROP TABLE users;--",
        "a \"quoted\" name",
        "back\\slash\ttab\nline",
        "$1 $2 ? :x @y",
        "日本語 émoji 🚀",
        "' OR '1'='1",
    };
    int64_t ids[6];
    for (int i = 0; i < 6; i++)
        assert_int_equal(
            nx_store_user_add(st, 1000 + i, names[i], NX_ROLE_PENDING, "America/New_York", &ids[i]),
            0);
    assert_int_equal(nx_store_user_add(st, 1000, "again", NX_ROLE_PENDING, NULL, NULL), NX_EEXIST);
    for (int i = 0; i < 6; i++) {
        nx_user_t u;
        assert_int_equal(nx_store_user_get(st, 1000 + i, 0, &u), 0);
        assert_string_equal(u.name, names[i]); /* verbatim */
        assert_int_equal(u.id, ids[i]);
        assert_int_equal(u.role, NX_ROLE_PENDING);
        assert_string_equal(u.tz, "America/New_York");
    }
    assert_int_equal(nx_store_user_set_role(st, ids[0], NX_ROLE_ADMIN), 0);
    nx_user_t u;
    assert_int_equal(nx_store_user_get(st, 0, ids[0], &u), 0);
    assert_int_equal(u.role, NX_ROLE_ADMIN);
    assert_int_equal(nx_store_user_set_role(st, 999999, NX_ROLE_ADMIN), NX_ENOENT);
    assert_int_equal(nx_store_user_get(st, 77, 0, &u), NX_ENOENT);
    int n = 0;
    assert_int_equal(nx_store_users(st, count_user, &n), 0);
    assert_int_equal(n, 6);
    assert_int_equal(nx_store_audit(st, ids[1], 1001, "/config set", names[0]), 0);
    int64_t audits;
    assert_int_equal(nx_store_scalar(st, "SELECT COUNT(*) FROM audit", &audits), 0);
    assert_int_equal(audits, 1);
    assert_int_equal(nx_role_parse("owner"), NX_ROLE_OWNER);
    assert_int_equal(nx_role_parse("root"), -1);
    nx_store_close(st);
}

static nx_vault_t *vault(const char *b64)
{
    nx_vault_t *v;
    char err[256];
    assert_int_equal(nx_vault_from_base64(&v, b64, err, sizeof err), 0);
    return v;
}

static const char K1[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
static const char K2[] = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
static const char API_KEY[] = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
static const char API_SECRET[] = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

static int contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(hay + i, needle, k))
            return 1;
    return 0;
}

/* Every byte of the SQLite files. */
static int file_contains(const char *needle)
{
    const char *sfx[] = {"", "-wal"};
    int found = 0;
    for (int i = 0; i < 2; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s/nexus.db%s", DIR_, sfx[i]);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        static uint8_t buf[1 << 22];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        found |= contains(buf, n, needle);
    }
    return found;
}

static int count_session(void *ctx, const nx_session_row_t *r)
{
    int64_t *k = ctx; /* [0] = the user asked for, [1] = rows, [2] = rows of others */
    k[1]++;
    k[2] += r->user_id != k[0];
    return 0;
}

/* A user only ever reads or changes their own sessions: every call is
 * keyed by the user, and one user's call finds nothing of another's. */
static void test_own_sessions_only(void **state)
{
    const backend_t *b = *state;
    nx_store_t *st = migrated(b);
    int64_t alice, bob;
    assert_int_equal(nx_store_user_add(st, 1, "alice", NX_ROLE_SUBSCRIBER, NULL, &alice), 0);
    assert_int_equal(nx_store_user_add(st, 2, "bob", NX_ROLE_SUBSCRIBER, NULL, &bob), 0);
    assert_int_equal(nx_store_session_put(st, alice, "binance-usdm", "pilot", 0, "{}", NULL), 0);
    assert_int_equal(nx_store_session_put(st, alice, "bybit-linear", "watcher", 0, "{}", NULL), 0);
    assert_int_equal(nx_store_session_put(st, bob, "alpaca", "copilot", 0, "{}", NULL), 0);
    int64_t k[3] = {alice, 0, 0};
    assert_int_equal(nx_store_sessions(st, alice, count_session, k), 0);
    assert_int_equal(k[1], 2);
    assert_int_equal(k[2], 0);
    int64_t q[3] = {bob, 0, 0};
    assert_int_equal(nx_store_sessions(st, bob, count_session, q), 0);
    assert_int_equal(q[1], 1);
    assert_int_equal(q[2], 0);
    /* bob cannot put keys on, nor read keys of, alice's venue */
    static const uint8_t key[] = "bob's key";
    assert_int_equal(
        nx_store_session_set_keys(st, bob, "binance-usdm", key, sizeof key, key, sizeof key),
        NX_ENOENT);
    uint8_t kb[64], sb[64];
    size_t kl = sizeof kb, sl = sizeof sb;
    assert_int_equal(nx_store_session_keys(st, bob, "binance-usdm", kb, &kl, sb, &sl), NX_ENOENT);
    int64_t v;
    assert_int_equal(
        nx_store_scalar(st, "SELECT COUNT(*) FROM sessions WHERE api_key IS NOT NULL", &v), 0);
    assert_int_equal(v, 0);
    /* bob's own session changes, alice's stay as they were */
    assert_int_equal(nx_store_session_put(st, bob, "alpaca", "pilot", 0, "{}", NULL), 0);
    assert_int_equal(nx_store_scalar(st, "SELECT COUNT(*) FROM sessions WHERE mode = 'pilot'", &v),
                     0);
    assert_int_equal(v, 2);
    nx_store_close(st);
}

/* Sessions are rows of their user: added once per venue, read by id with
 * their settings, changed in place; keys attach to the existing session
 * without touching its mode or settings. */
static void test_sessions_live_in_the_database(void **state)
{
    const backend_t *b = *state;
    nx_store_t *st = migrated(b);
    int64_t ann, ben, s1, s2, again;
    assert_int_equal(nx_store_user_add(st, 11, "ann", NX_ROLE_SUBSCRIBER, NULL, &ann), 0);
    assert_int_equal(nx_store_user_add(st, 12, "ann", NX_ROLE_SUBSCRIBER, NULL, &ben), 0);
    const char *cfg = "{\"name\":\"ann's\",\"user\":1,\"leverage\":3}";
    assert_int_equal(nx_store_session_add(st, ann, "binance-usdm", "ann's", "copilot", 0, cfg, &s1),
                     0);
    assert_int_equal(nx_store_session_add(st, ben, "binance-usdm", "ann's", "pilot", 0, "{}", &s2),
                     0);
    assert_true(s1 > 0 && s2 > 0 && s1 != s2); /* the same label: two sessions */
    assert_int_equal(nx_store_session_add(st, ann, "binance-usdm", "x", "pilot", 0, "{}", NULL),
                     NX_EEXIST);
    nx_session_row_t r;
    assert_int_equal(nx_store_session_get(st, s1, &r), 0);
    assert_int_equal(r.user_id, ann);
    assert_string_equal(r.name, "ann's");
    assert_string_equal(r.venue, "binance-usdm");
    assert_string_equal(r.mode, "copilot");
    assert_non_null(strstr(r.config, "\"leverage\""));
    assert_non_null(strstr(r.config, "3"));
    assert_int_equal(nx_store_session_update(st, s1, "pilot", "{\"leverage\":5}"), 0);
    assert_int_equal(nx_store_session_get(st, s1, &r), 0);
    assert_string_equal(r.mode, "pilot");
    assert_non_null(strstr(r.config, "5"));
    assert_int_equal(nx_store_session_update(st, 999999, "pilot", "{}"), NX_ENOENT);
    /* keys go to the session that is there, which keeps its mode */
    assert_int_equal(nx_store_session_ensure(st, ann, "binance-usdm", &again), 0);
    assert_int_equal(again, s1);
    assert_int_equal(nx_store_session_get(st, s1, &r), 0);
    assert_string_equal(r.mode, "pilot");
    assert_non_null(strstr(r.config, "5"));
    /* and make a watcher one where there is none */
    assert_int_equal(nx_store_session_ensure(st, ann, "bybit-linear", &again), 0);
    assert_int_equal(nx_store_session_get(st, again, &r), 0);
    assert_string_equal(r.mode, "watcher");
    assert_int_equal(nx_store_session_get(st, 999999, &r), NX_ENOENT);
    nx_store_close(st);
}

/* A seeded user gets the id the config names; a seed never overwrites a
 * stored user, never takes another's chat account, and users added later
 * get new ids (PostgreSQL's identity column moved past the seeds). */
static void test_user_seeds(void **state)
{
    const backend_t *b = *state;
    nx_store_t *st = migrated(b);
    assert_int_equal(nx_store_user_seed(st, 7, 700, "seven", NX_ROLE_ADMIN), 0);
    nx_user_t u;
    assert_int_equal(nx_store_user_get(st, 0, 7, &u), 0);
    assert_int_equal(u.chat_id, 700);
    assert_string_equal(u.name, "seven");
    assert_int_equal(u.role, NX_ROLE_ADMIN);
    assert_int_equal(nx_store_user_set_role(st, 7, NX_ROLE_SUBSCRIBER), 0);
    assert_int_equal(nx_store_user_seed(st, 7, 700, "renamed", NX_ROLE_OWNER), 0);
    assert_int_equal(nx_store_user_get(st, 0, 7, &u), 0);
    assert_string_equal(u.name, "seven"); /* the database wins */
    assert_int_equal(u.role, NX_ROLE_SUBSCRIBER);
    assert_int_equal(nx_store_user_seed(st, 8, 700, "thief", NX_ROLE_OWNER), NX_EEXIST);
    assert_int_equal(nx_store_user_get(st, 0, 8, &u), NX_ENOENT);
    int64_t next;
    assert_int_equal(nx_store_user_add(st, 701, "later", NX_ROLE_PENDING, NULL, &next), 0);
    assert_int_equal(next, 8);
    nx_store_close(st);
}

/* The owner's and admins' ceilings per role, as migrated and as set. */
static void test_role_limits(void **state)
{
    const backend_t *b = *state;
    nx_store_t *st = migrated(b);
    int lev, ses;
    assert_int_equal(nx_store_role_limits(st, NX_ROLE_SUBSCRIBER, &lev, &ses), 0);
    assert_int_equal(lev, 5);
    assert_int_equal(ses, 1);
    assert_int_equal(nx_store_role_limits(st, NX_ROLE_OWNER, &lev, &ses), 0);
    assert_int_equal(lev, 20);
    assert_int_equal(ses, 4);
    assert_int_equal(nx_store_role_limits(st, NX_ROLE_PENDING, &lev, &ses), 0);
    assert_int_equal(lev, 1);
    assert_int_equal(ses, 0);
    assert_int_equal(nx_store_role_limits_set(st, NX_ROLE_SUBSCRIBER, 3, 2), 0);
    assert_int_equal(nx_store_role_limits(st, NX_ROLE_SUBSCRIBER, &lev, &ses), 0);
    assert_int_equal(lev, 3);
    assert_int_equal(ses, 2);
    assert_int_equal(nx_store_role_limits_set(st, NX_ROLE_SUBSCRIBER, 21, 2), NX_ERANGE);
    assert_int_equal(nx_store_role_limits_set(st, NX_ROLE_BANNED, 2, 2), NX_EINVAL);
    assert_int_equal(nx_store_role_limits(st, NX_ROLE_SUBSCRIBER, &lev, &ses), 0);
    assert_int_equal(lev, 3);
    nx_store_close(st);
}

static void test_sealed_keys(void **state)
{
    const backend_t *b = *state;
    nx_store_t *st = migrated(b);
    nx_vault_t *v1 = vault(K1), *v2 = vault(K2);
    char err[512];
    assert_int_equal(nx_vault_needed(st), 0);
    assert_int_equal(nx_vault_unlock(v1, st, err, sizeof err), 0); /* first use */
    assert_int_equal(nx_vault_needed(st), 1);
    int64_t alice, bob;
    assert_int_equal(nx_store_user_add(st, 1, "alice", NX_ROLE_SUBSCRIBER, NULL, &alice), 0);
    assert_int_equal(nx_store_user_add(st, 2, "bob", NX_ROLE_SUBSCRIBER, NULL, &bob), 0);
    assert_int_equal(nx_store_session_put(st, alice, "binance-usdm", "pilot", 1, "{}", NULL), 0);
    assert_int_equal(nx_store_session_put(st, bob, "binance-usdm", "pilot", 1, "{}", NULL), 0);
    assert_int_equal(nx_keys_set(v1, st, alice, "binance-usdm", API_KEY, API_SECRET), 0);

    /* the stored bytes never hold the plaintext */
    uint8_t k[1024], s[1024];
    size_t kl = sizeof k, sl = sizeof s;
    assert_int_equal(nx_store_session_keys(st, alice, "binance-usdm", k, &kl, s, &sl), 0);
    assert_true(nx_vault_is_sealed(k, kl) && nx_vault_is_sealed(s, sl));
    assert_false(contains(k, kl, API_KEY) || contains(s, sl, API_SECRET));
    assert_false(contains(k, kl, "vmPUZE6mv9SD"));
    if (!b->pg)
        assert_false(file_contains(API_KEY) || file_contains(API_SECRET));

    nx_secret_t *ks, *ss;
    assert_int_equal(nx_keys_get(v1, st, alice, "binance-usdm", &ks, &ss), 0);
    assert_string_equal(ks->bytes, API_KEY);
    assert_string_equal(ss->bytes, API_SECRET);
    nx_secret_free(ks);
    nx_secret_free(ss);

    /* alice's sealed value copied into bob's row does not open */
    assert_int_equal(nx_store_session_set_keys(st, bob, "binance-usdm", k, kl, s, sl), 0);
    assert_int_equal(nx_keys_get(v1, st, bob, "binance-usdm", &ks, &ss), NX_EPERM);
    assert_null(ks);
    /* nor for another venue of alice's */
    assert_int_equal(nx_store_session_put(st, alice, "bybit-linear", "pilot", 1, "{}", NULL), 0);
    assert_int_equal(nx_store_session_set_keys(st, alice, "bybit-linear", k, kl, s, sl), 0);
    assert_int_equal(nx_keys_get(v1, st, alice, "bybit-linear", &ks, &ss), NX_EPERM);

    /* a plaintext row left by an older release is sealed on first load */
    static const char OLD_KEY[] = "plaintext-key-from-an-older-release-0123456789";
    static const char OLD_SECRET[] = "plaintext-secret-from-an-older-release-9876543210";
    assert_int_equal(nx_store_session_set_keys(st, bob, "binance-usdm", (const uint8_t *)OLD_KEY,
                                               strlen(OLD_KEY), (const uint8_t *)OLD_SECRET,
                                               strlen(OLD_SECRET)),
                     0);
    assert_int_equal(nx_keys_get(v1, st, bob, "binance-usdm", &ks, &ss), 0);
    assert_string_equal(ks->bytes, OLD_KEY);
    assert_string_equal(ss->bytes, OLD_SECRET);
    nx_secret_free(ks);
    nx_secret_free(ss);
    kl = sizeof k, sl = sizeof s;
    assert_int_equal(nx_store_session_keys(st, bob, "binance-usdm", k, &kl, s, &sl), 0);
    assert_true(nx_vault_is_sealed(k, kl) && nx_vault_is_sealed(s, sl));
    if (!b->pg) /* secure_delete: no copy of the old row left in the file */
        assert_false(file_contains(OLD_KEY) || file_contains(OLD_SECRET));

    /* the wrong master key: refused at unlock, nothing changed */
    uint8_t before[256], after[256];
    size_t bn = sizeof before, an = sizeof after;
    assert_int_equal(nx_store_meta_get(st, "vault.check", before, &bn), 0);
    assert_int_equal(nx_vault_unlock(v2, st, err, sizeof err), NX_EPERM);
    assert_non_null(strstr(err, "wrong master key"));
    assert_int_equal(nx_store_meta_get(st, "vault.check", after, &an), 0);
    assert_memory_equal(before, after, bn);
    assert_int_equal(nx_keys_get(v2, st, alice, "binance-usdm", &ks, &ss), NX_EPERM);

    /* rotation: everything re-sealed under the new key, at once */
    assert_int_equal(nx_store_session_set_keys(st, alice, "bybit-linear", NULL, 0, NULL, 0), 0);
    int n = 0;
    if (nx_keys_rotate(v1, v2, st, &n, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(n, 2);
    assert_int_equal(nx_vault_unlock(v2, st, err, sizeof err), 0);
    assert_int_equal(nx_vault_unlock(v1, st, err, sizeof err), NX_EPERM);
    assert_int_equal(nx_keys_get(v2, st, alice, "binance-usdm", &ks, &ss), 0);
    assert_string_equal(ks->bytes, API_KEY);
    nx_secret_free(ks);
    nx_secret_free(ss);
    assert_int_equal(nx_keys_get(v1, st, alice, "binance-usdm", &ks, &ss), NX_EPERM);
    /* a rotation from the wrong key changes nothing */
    assert_int_equal(nx_keys_rotate(v1, v2, st, &n, err, sizeof err), NX_EPERM);
    assert_int_equal(nx_keys_get(v2, st, bob, "binance-usdm", &ks, &ss), 0);
    nx_secret_free(ks);
    nx_secret_free(ss);
    nx_vault_free(v1);
    nx_vault_free(v2);
    nx_store_close(st);
}

static void test_master_key_sources(void **state)
{
    (void)state;
    char path[160], err[256];
    snprintf(path, sizeof path, "%s/master.key", DIR_);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", K1);
    fclose(f);
    unsetenv("NEXUS_MASTER_KEY");
    nx_vault_t *v;
    chmod(path, 0644);
    assert_int_equal(nx_vault_load(&v, path, err, sizeof err), NX_EPERM);
    assert_non_null(strstr(err, "chmod 600"));
    assert_null(strstr(err, K1)); /* never the key */
    chmod(path, 0600);
    assert_int_equal(nx_vault_load(&v, path, err, sizeof err), 0);
    nx_vault_free(v);
    assert_int_equal(nx_vault_load(&v, NULL, err, sizeof err), NX_ENOENT);
    setenv("NEXUS_MASTER_KEY", "bm90IGEga2V5", 1); /* "not a key" */
    assert_int_equal(nx_vault_load(&v, path, err, sizeof err), NX_EINVAL);
    setenv("NEXUS_MASTER_KEY", K2, 1); /* the environment wins */
    assert_int_equal(nx_vault_load(&v, path, err, sizeof err), 0);
    uint8_t sealed[128];
    size_t n;
    nx_vault_seal(v, 1, "x", (const uint8_t *)"abc", 3, sealed, &n);
    nx_vault_free(v);
    nx_vault_t *v2 = vault(K2);
    nx_secret_t *s;
    assert_int_equal(nx_vault_open(v2, 1, "x", sealed, n, &s), 0);
    assert_string_equal(s->bytes, "abc");
    nx_secret_free(s);
    sealed[n - 1] ^= 1; /* altered */
    assert_int_equal(nx_vault_open(v2, 1, "x", sealed, n, &s), NX_EPERM);
    nx_vault_free(v2);
    unsetenv("NEXUS_MASTER_KEY");
    char b64[64];
    assert_int_equal(nx_vault_generate(b64, sizeof b64), 0);
    assert_int_equal(nx_vault_from_base64(&v, b64, err, sizeof err), 0);
    nx_vault_free(v);
    unlink(path);
}

static void ev_init(nx_event_t *e, uint8_t type, int64_t t)
{
    memset(e, 0, sizeof *e);
    e->hdr.type = type;
    e->hdr.venue = NX_VENUE_PAPER;
    e->hdr.symbol = 0;
    e->hdr.exch_ns = t;
}

static void test_journal_and_what_it_derives(void **state)
{
    const backend_t *b = *state;
    nx_store_t *st = migrated(b);
    nx_event_t ev[8];
    int64_t t = 1621382400000000000LL;
    ev_init(&ev[0], NX_EV_SIGNAL, t);
    ev[0].u.signal.side = NX_SIG_BUY;
    ev[0].u.signal.confidence = 0.8;
    ev[0].u.signal.ref_price = 3554719;
    snprintf(ev[0].u.signal.reason, sizeof ev[0].u.signal.reason, "it's \"quoted\"");
    ev_init(&ev[1], NX_EV_DECISION, t);
    ev[1].u.decision.session = 3;
    ev[1].u.decision.verdict = 4;
    ev[1].u.decision.request = 17;
    ev[1].u.decision.expires_ns = t + 300000000000LL;
    ev[1].u.decision.side = NX_SIDE_BUY;
    ev[1].u.decision.qty = 1000;
    ev[1].u.decision.price = 3554719;
    ev_init(&ev[2], NX_EV_DECISION, t + 1);
    ev[2].u.decision = ev[1].u.decision;
    ev[2].u.decision.verdict = 1; /* approved */
    ev_init(&ev[3], NX_EV_ORDER_INTENT, t + 2);
    ev[3].u.intent.client_id = (3ULL << 40) | 1;
    ev[3].u.intent.session = 3;
    ev[3].u.intent.side = NX_SIDE_BUY;
    ev[3].u.intent.qty = 1000;
    ev[3].u.intent.order_type = NX_ORD_MARKET;
    ev_init(&ev[4], NX_EV_ORDER_UPDATE, t + 3);
    ev[4].u.order.client_id = (3ULL << 40) | 1;
    ev[4].u.order.session = 3;
    ev[4].u.order.status = NX_OS_FILLED;
    ev[4].u.order.side = NX_SIDE_BUY;
    ev[4].u.order.fill_id = 99;
    ev[4].u.order.last_px = 3554720;
    ev[4].u.order.last_qty = 1000;
    ev[4].u.order.fee = 15;
    ev_init(&ev[5], NX_EV_ORDER_UPDATE, t + 4); /* the same fill again, late: once */
    ev[5].u.order = ev[4].u.order;
    ev[5].u.order.status = NX_OS_ACKED; /* and a status that must not move it back */
    ev_init(&ev[6], NX_EV_KLINE, t + 5);
    ev[6].u.kline.close = 3554800;
    ev[6].u.kline.closed = 1;
    ev_init(&ev[7], NX_EV_CONTROL, t + 6);
    ev[7].u.control.cmd = NX_CTL_PAUSE;
    ev[7].u.control.session = 3;
    nx_journal_entry_t je[8];
    for (int i = 0; i < 8; i++)
        je[i] = (nx_journal_entry_t){(uint64_t)(i + 1), &ev[i]};
    if (nx_store_journal_batch(st, &T, je, 8))
        fail_msg("%s", nx_store_error(st));
    uint64_t last, n;
    assert_int_equal(nx_store_journal_last(st, &last), 0);
    assert_int_equal(last, 8);
    assert_int_equal(nx_store_journal_count(st, 1, 8, &n), 0);
    assert_int_equal(n, 8);
    int64_t v;
    assert_int_equal(nx_store_scalar(st, "SELECT COUNT(*) FROM fills", &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(nx_store_scalar(st,
                                     "SELECT COUNT(*) FROM orders WHERE status = 'filled' AND "
                                     "updated_seq = 5 AND price = '0' AND qty = '0.01'",
                                     &v),
                     0);
    assert_int_equal(v, 1);
    assert_int_equal(nx_store_scalar(st,
                                     "SELECT COUNT(*) FROM fills WHERE price = '35547.2' AND fee "
                                     "= '0.15' AND qty = '0.01' AND side = 'buy'",
                                     &v),
                     0);
    assert_int_equal(v, 1);
    assert_int_equal(nx_store_scalar(st,
                                     "SELECT COUNT(*) FROM approvals WHERE request = 17 AND "
                                     "status = 'approved' AND decided_seq = 3",
                                     &v),
                     0);
    assert_int_equal(v, 1);
    assert_int_equal(nx_store_scalar(st,
                                     "SELECT COUNT(*) FROM signals WHERE reason = 'it''s "
                                     "\"quoted\"' AND ref_price = '35547.19'",
                                     &v),
                     0);
    assert_int_equal(v, 1);
    assert_int_equal(nx_store_check(st), 0);

    /* a batch with a sequence already stored fails as a whole */
    nx_journal_entry_t again[2] = {{9, &ev[6]}, {8, &ev[7]}};
    assert_int_not_equal(nx_store_journal_batch(st, &T, again, 2), 0);
    assert_int_equal(nx_store_journal_count(st, 9, 9, &n), 0);
    assert_int_equal(n, 0);
    /* one at a time, too */
    nx_journal_entry_t one = {9, &ev[6]};
    assert_int_equal(nx_store_journal_one(st, &T, &one), 0);
    assert_int_equal(nx_store_journal_last(st, &last), 0);
    assert_int_equal(last, 9);
    nx_store_close(st);
}

/* ---- recovery: saved states, the venue's open orders, the fills ---------- */

typedef struct got_state {
    uint32_t session;
    uint64_t seq;
    char text[4096];
    int n;
} got_state_t;

static int keep_state(void *ctx, uint32_t session, uint64_t seq, const char *text, size_t len)
{
    got_state_t *g = ctx;
    assert_true(len < sizeof g->text);
    g->session = session;
    g->seq = seq;
    memcpy(g->text, text, len);
    g->text[len] = 0;
    g->n++;
    return 0;
}

static int keep_order(void *ctx, const nx_store_order_t *o)
{
    nx_store_order_t *k = ctx;
    assert_int_equal(k[0].in.client_id, 0); /* exactly one */
    k[0] = *o;
    return 0;
}

static int keep_fill(void *ctx, const nx_store_fill_t *f)
{
    nx_store_fill_t *k = ctx;
    k[k[0].seq ? 1 : 0] = *f;
    return 0;
}

/* A saved state as the desk journals it: parts back to back; here the
 * batch boundary falls inside it and the second batch fails once (a
 * sequence already stored) before it is retried. */
static void test_saved_state(void **state)
{
    const backend_t *b = *state;
    nx_store_t *st = migrated(b);
    int64_t t = 1621382400000000000LL;
    char text[1024];
    int len = snprintf(text, sizeof text,
                       "{\"v\":1,\"name\":\"o'brien \\\"x\\\"\",\"now\":%lld,"
                       "\"account\":{\"balance\":1000000,\"balance_dec\":\"10000\","
                       "\"equity_dec\":\"10012.5\"},\"locks\":[[0,14,%lld],[-1,9,%lld]],"
                       "\"positions\":[{\"sym\":0,\"name\":\"BTCUSDT\",\"qty\":1000,"
                       "\"qty_dec\":\"0.01\",\"avg_px\":\"35547.19\",\"sl_dec\":\"35000\","
                       "\"tp_dec\":\"36500.5\",\"pad\":\"%0300d\"}],\"approvals\":[]}",
                       (long long)t, (long long)t + 1, (long long)INT64_MAX, 0);
    int parts = (len + NX_STATE_PART - 1) / NX_STATE_PART;
    assert_true(parts >= 5);
    static nx_event_t ev[32];
    nx_journal_entry_t je[32];
    for (int i = 0; i < parts; i++) {
        ev_init(&ev[i], NX_EV_STATE, t);
        ev[i].hdr.symbol = NX_SYMBOL_NONE;
        ev[i].u.state.session = 3;
        ev[i].u.state.part = (uint16_t)i;
        ev[i].u.state.parts = (uint16_t)parts;
        int n = len - i * NX_STATE_PART < NX_STATE_PART ? len - i * NX_STATE_PART : NX_STATE_PART;
        ev[i].u.state.len = (uint8_t)n;
        memcpy(ev[i].u.state.data, text + i * NX_STATE_PART, (size_t)n);
        je[i] = (nx_journal_entry_t){(uint64_t)(i + 1), &ev[i]};
    }
    int cut = 2;
    if (nx_store_journal_batch(st, &T, je, cut))
        fail_msg("%s", nx_store_error(st));
    got_state_t g = {0};
    assert_int_equal(nx_store_states(st, keep_state, &g), 0);
    assert_int_equal(g.n, 0); /* not whole yet: nothing */
    nx_journal_entry_t bad[32];
    memcpy(bad, je + cut, (size_t)(parts - cut) * sizeof *bad);
    bad[parts - cut - 1].seq = 1; /* stored already: the whole batch fails */
    assert_int_not_equal(nx_store_journal_batch(st, &T, bad, parts - cut), 0);
    assert_int_equal(nx_store_states(st, keep_state, &g), 0);
    assert_int_equal(g.n, 0);
    if (nx_store_journal_batch(st, &T, je + cut, parts - cut)) /* the retry */
        fail_msg("%s", nx_store_error(st));
    assert_int_equal(nx_store_states(st, keep_state, &g), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.session, 3);
    assert_int_equal(g.seq, (uint64_t)parts); /* stored with its last part */
    int64_t v;
    if (!b->pg) {
        assert_string_equal(g.text, text); /* byte for byte */
    } else {
        /* JSONB keeps the values (numbers exactly), not the spelling */
        assert_int_equal(nx_store_scalar(st,
                                         "SELECT COUNT(*) FROM desk_state WHERE session = 3 AND "
                                         "state->>'name' = 'o''brien \"x\"' AND "
                                         "(state->'locks'->1->>2)::bigint = 9223372036854775807 "
                                         "AND (state->>'now')::bigint = 1621382400000000000 AND "
                                         "state->'positions'->0->>'avg_px' = '35547.19'",
                                         &v),
                         0);
        assert_int_equal(v, 1);
    }
    assert_int_equal(nx_store_scalar(st,
                                     "SELECT COUNT(*) FROM positions WHERE session = 3 AND symbol"
                                     " = 'BTCUSDT' AND qty = '0.01' AND avg_px = '35547.19' AND "
                                     "stop_loss = '35000' AND take_profit = '36500.5'",
                                     &v),
                     0);
    assert_int_equal(v, 1);
    assert_int_equal(nx_store_scalar(st,
                                     "SELECT COUNT(*) FROM locks WHERE session = 3 AND ((symbol ="
                                     " 'BTCUSDT' AND reason = 14) OR (symbol = '*' AND reason = 9"
                                     " AND until_ns = 9223372036854775807))",
                                     &v),
                     0);
    assert_int_equal(v, 2);
    assert_int_equal(nx_store_scalar(st,
                                     "SELECT COUNT(*) FROM equity WHERE session = 3 AND balance ="
                                     " '10000' AND equity = '10012.5'",
                                     &v),
                     0);
    assert_int_equal(v, 1);
    /* a newer state replaces it: flat, no locks */
    const char *flat = "{\"v\":1,\"name\":\"x\",\"now\":5,\"positions\":[],\"locks\":[]}";
    ev_init(&ev[0], NX_EV_STATE, t);
    ev[0].u.state = (nx_ev_state_t){3, 0, 1, (uint8_t)strlen(flat), {0}};
    memcpy(ev[0].u.state.data, flat, strlen(flat));
    je[0] = (nx_journal_entry_t){100, &ev[0]};
    assert_int_equal(nx_store_journal_batch(st, &T, je, 1), 0);
    g.n = 0;
    assert_int_equal(nx_store_states(st, keep_state, &g), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.seq, 100);
    assert_true(strstr(g.text, "\"positions\"") != NULL);
    assert_int_equal(nx_store_scalar(st, "SELECT COUNT(*) FROM positions", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(nx_store_scalar(st, "SELECT COUNT(*) FROM locks", &v), 0);
    assert_int_equal(v, 0);

    /* the venue's book: a resting stop; a filled entry is not in it */
    ev_init(&ev[0], NX_EV_ORDER_INTENT, t);
    ev[0].u.intent = (nx_ev_order_intent_t){0};
    ev[0].u.intent.client_id = (3ULL << 40) | 1;
    ev[0].u.intent.session = 3;
    ev[0].u.intent.side = NX_SIDE_BUY;
    ev[0].u.intent.qty = 1000;
    ev[0].u.intent.order_type = NX_ORD_MARKET;
    ev_init(&ev[1], NX_EV_ORDER_UPDATE, t);
    ev[1].u.order.client_id = (3ULL << 40) | 1;
    ev[1].u.order.session = 3;
    ev[1].u.order.status = NX_OS_FILLED;
    ev[1].u.order.side = NX_SIDE_BUY;
    ev[1].u.order.fill_id = 41;
    ev[1].u.order.last_px = 3554720;
    ev[1].u.order.last_qty = 1000;
    ev_init(&ev[2], NX_EV_ORDER_INTENT, t);
    ev[2].u.intent = ev[0].u.intent;
    ev[2].u.intent.client_id = (3ULL << 40) | 2;
    ev[2].u.intent.side = NX_SIDE_SELL;
    ev[2].u.intent.order_type = NX_ORD_STOP_MARKET;
    ev[2].u.intent.price = 3500000;
    ev[2].u.intent.reduce_only = 1;
    ev_init(&ev[3], NX_EV_ORDER_UPDATE, t);
    ev[3].u.order.client_id = (3ULL << 40) | 2;
    ev[3].u.order.session = 3;
    ev[3].u.order.status = NX_OS_ACKED;
    ev_init(&ev[4], NX_EV_ORDER_INTENT, t); /* trailing: the stop amended up */
    ev[4].u.intent = ev[2].u.intent;
    ev[4].u.intent.price = 3510050;
    ev[4].u.intent.amend = 1;
    ev_init(&ev[5], NX_EV_ORDER_UPDATE, t); /* a sell fill of another session */
    ev[5].u.order = ev[1].u.order;
    ev[5].u.order.session = 4;
    ev[5].u.order.client_id = (4ULL << 40) | 1;
    ev[5].u.order.fill_id = 42;
    ev[5].u.order.side = NX_SIDE_SELL;
    for (int i = 0; i < 6; i++)
        je[i] = (nx_journal_entry_t){(uint64_t)(101 + i), &ev[i]};
    assert_int_equal(nx_store_journal_batch(st, &T, je, 6), 0);
    nx_store_order_t o[1];
    memset(o, 0, sizeof o);
    assert_int_equal(nx_store_open_orders(st, &T, keep_order, o), 0);
    assert_true(o[0].ok);
    assert_int_equal(o[0].symbol, 0);
    assert_int_equal(o[0].in.client_id, (3ULL << 40) | 2);
    assert_int_equal(o[0].in.session, 3);
    assert_int_equal(o[0].in.side, NX_SIDE_SELL);
    assert_int_equal(o[0].in.order_type, NX_ORD_STOP_MARKET);
    assert_int_equal(o[0].in.reduce_only, 1);
    assert_int_equal(o[0].in.price, 3510050); /* where the trailing stop stood */
    assert_int_equal(o[0].in.qty, 1000);
    nx_store_fill_t f[2];
    memset(f, 0, sizeof f);
    assert_int_equal(nx_store_fills(st, &T, keep_fill, f), 0);
    assert_true(f[0].ok && f[1].ok);
    assert_int_equal(f[0].session, 3);
    assert_int_equal(f[0].qty, 1000);
    assert_int_equal(f[0].seq, 102);
    assert_int_equal(f[1].session, 4);
    assert_int_equal(f[1].qty, -1000);
    uint64_t last_fill;
    assert_int_equal(nx_store_last_fill_id(st, &last_fill), 0);
    assert_int_equal(last_fill, 42);
    /* a state no reader understands (another format version, with a
     * position) is kept as it came but does not hold the journal back:
     * the batch commits, the derived tables stay as they were */
    const char *other = "{\"v\":2,\"name\":\"x\",\"positions\":[{\"name\":\"BTCUSDT\","
                        "\"qty_dec\":\"1\"}]}";
    ev_init(&ev[0], NX_EV_STATE, t);
    ev[0].u.state = (nx_ev_state_t){3, 0, 1, (uint8_t)strlen(other), {0}};
    memcpy(ev[0].u.state.data, other, strlen(other));
    je[0] = (nx_journal_entry_t){107, &ev[0]};
    if (nx_store_journal_batch(st, &T, je, 1))
        fail_msg("an unreadable state failed its batch: %s", nx_store_error(st));
    g.n = 0;
    assert_int_equal(nx_store_states(st, keep_state, &g), 0);
    assert_int_equal(g.seq, 107);
    assert_true(strstr(g.text, "\"v\"") && strstr(g.text, "2"));
    assert_int_equal(nx_store_scalar(st, "SELECT COUNT(*) FROM positions", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(nx_store_check(st), 0);
    nx_store_close(st);
}

static int keep_task(void *ctx, const nx_store_task_t *t)
{
    nx_store_task_t *k = ctx;
    k[k[0].id ? 1 : 0] = *t;
    return 0;
}

static void test_scheduled_tasks(void **state)
{
    const backend_t *b = *state;
    nx_store_t *st = migrated(b);
    int64_t uid, a, c;
    assert_int_equal(nx_store_user_add(st, 9, "tess", NX_ROLE_SUBSCRIBER, NULL, &uid), 0);
    int64_t t1 = 1795000000000LL, t2 = t1 + 3600000;
    assert_int_equal(
        nx_store_task_add(st, uid, "15 16 * * 1-5", "America/New_York", "daily_report", 1, t2, &a),
        0);
    assert_int_equal(nx_store_task_add(st, uid, "0 * * * *", "UTC", "it's \"hourly\"", 0, t1, &c),
                     0);
    assert_true(a > 0 && c > a);
    nx_store_task_t k[2];
    memset(k, 0, sizeof k);
    assert_int_equal(nx_store_tasks_due(st, t1, keep_task, k), 0);
    assert_int_equal(k[0].id, c); /* only the one due */
    assert_int_equal(k[1].id, 0);
    assert_string_equal(k[0].action, "it's \"hourly\"");
    memset(k, 0, sizeof k);
    assert_int_equal(nx_store_tasks_due(st, INT64_MAX, keep_task, k), 0);
    assert_int_equal(k[0].id, c); /* earliest first */
    assert_int_equal(k[1].id, a);
    assert_int_equal(k[1].trading_days_only, 1);
    assert_string_equal(k[1].tz, "America/New_York");
    assert_int_equal(nx_store_task_done(st, c, t1, "ok", t1 + 3600000), 0);
    assert_int_equal(nx_store_task_done(st, a, 0, "skipped", t2 + 86400000), 0);
    memset(k, 0, sizeof k);
    assert_int_equal(nx_store_tasks_due(st, INT64_MAX, keep_task, k), 0);
    assert_int_equal(k[0].last_run_ms, t1);
    assert_int_equal(k[0].next_run_ms, t1 + 3600000);
    assert_string_equal(k[1].last_result, "skipped");
    assert_int_equal(k[1].last_run_ms, 0);
    nx_store_close(st);
}

/* Small named values (a user's watched pairs): put, read back, replaced,
 * emptied — an empty value reads back as empty, not as missing. */
static void test_meta_values(void **state)
{
    const backend_t *b = *state;
    nx_store_t *st = migrated(b);
    uint8_t v[64];
    size_t n = sizeof v;
    assert_int_equal(nx_store_meta_get(st, "watch:7", v, &n), NX_ENOENT);
    assert_int_equal(nx_store_meta_put(st, "watch:7", (const uint8_t *)"BTCUSDT", 7), 0);
    n = sizeof v;
    assert_int_equal(nx_store_meta_get(st, "watch:7", v, &n), 0);
    assert_int_equal(n, 7);
    assert_memory_equal(v, "BTCUSDT", 7);
    assert_int_equal(nx_store_meta_put(st, "watch:7", (const uint8_t *)"", 0), 0);
    n = sizeof v;
    assert_int_equal(nx_store_meta_get(st, "watch:7", v, &n), 0);
    assert_int_equal(n, 0);
    nx_store_close(st);
}

/* Retention (issue 16): 60 days of a journal, an hour at a time — a
 * candle, a heartbeat, a signal, a refused decision and a part of the
 * desk's saved state — and once a day an approval asked and granted, an
 * order and its fill, a command and a notice; the equity curve hourly. Kept
 * 30 days: everything of the hourly kinds from the candle 30 days before
 * the newest on is kept (hours 719..1439: 721 of each), the daily record
 * stays whole, the equity curve keeps each day's last value before the cut.
 * The counts are worked out by hand from that layout. */
#define HOUR_NS 3600000000000LL
#define T0_NS   1621382400000000000LL /* 2021-05-19 00:00:00 UTC: hours align with days */

static uint64_t journal_days(nx_store_t *st, int from_day, int days, uint64_t seq)
{
    nx_event_t ev[12];
    nx_journal_entry_t je[12];
    for (int h = from_day * 24; h < (from_day + days) * 24; h++) {
        int64_t t = T0_NS + (int64_t)h * HOUR_NS;
        int n = 0;
        ev_init(&ev[n], NX_EV_KLINE, t);
        ev[n].u.kline.close = 3554800;
        ev[n++].u.kline.closed = 1;
        ev_init(&ev[n], NX_EV_TIMER, t);
        ev[n++].u.timer.tick = (uint64_t)h;
        ev_init(&ev[n], NX_EV_SIGNAL, t);
        ev[n].u.signal.side = NX_SIG_BUY;
        ev[n].u.signal.confidence = 0.7;
        snprintf(ev[n++].u.signal.reason, sizeof ev[0].u.signal.reason, "hourly");
        ev_init(&ev[n], NX_EV_DECISION, t);
        ev[n].u.decision.session = 1;
        ev[n++].u.decision.verdict = 0;  /* reject */
        ev_init(&ev[n], NX_EV_STATE, t); /* the desk's own (session 0): one part */
        ev[n].u.state.parts = 1;
        ev[n].u.state.len = 2;
        memcpy(ev[n++].u.state.data, "{}", 2);
        if (h % 24 == 12) { /* the day's record of money and people */
            uint32_t day = (uint32_t)(h / 24) + 1;
            ev_init(&ev[n], NX_EV_DECISION, t);
            ev[n].u.decision.session = 1;
            ev[n].u.decision.verdict = 4; /* ask */
            ev[n].u.decision.request = day;
            ev[n].u.decision.side = NX_SIDE_BUY;
            ev[n++].u.decision.qty = 1000;
            ev_init(&ev[n], NX_EV_DECISION, t);
            ev[n].u.decision = ev[n - 1].u.decision;
            ev[n++].u.decision.verdict = 1; /* approved */
            ev_init(&ev[n], NX_EV_ORDER_INTENT, t);
            ev[n].u.intent.client_id = (1ULL << 40) | day;
            ev[n].u.intent.session = 1;
            ev[n].u.intent.side = NX_SIDE_BUY;
            ev[n].u.intent.qty = 1000;
            ev[n++].u.intent.order_type = NX_ORD_MARKET;
            ev_init(&ev[n], NX_EV_ORDER_UPDATE, t);
            ev[n].u.order.client_id = (1ULL << 40) | day;
            ev[n].u.order.session = 1;
            ev[n].u.order.status = NX_OS_FILLED;
            ev[n].u.order.side = NX_SIDE_BUY;
            ev[n].u.order.fill_id = day;
            ev[n].u.order.last_px = 3554720;
            ev[n++].u.order.last_qty = 1000;
            ev_init(&ev[n], NX_EV_CONTROL, t);
            ev[n].u.control.cmd = NX_CTL_PAUSE;
            ev[n++].u.control.session = 1;
            ev_init(&ev[n], NX_EV_NOTICE, t);
            ev[n++].u.notice.kind = NX_NOTE_CLOSED;
        }
        for (int i = 0; i < n; i++)
            je[i] = (nx_journal_entry_t){++seq, &ev[i]};
        if (nx_store_journal_batch(st, &T, je, n))
            fail_msg("%s", nx_store_error(st));
    }
    return seq;
}

static int64_t rows(nx_store_t *st, const char *sql)
{
    int64_t v = -1;
    if (nx_store_scalar(st, sql, &v))
        fail_msg("%s: %s", sql, nx_store_error(st));
    return v;
}

static void test_retention(void **state)
{
    const backend_t *b = *state;
    nx_store_t *st = migrated(b);
    uint64_t last = journal_days(st, 0, 60, 0);
    assert_int_equal(last, 60 * 24 * 5 + 60 * 6);
    rows(st, "WITH RECURSIVE h(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM h WHERE i < 1439)"
             " INSERT INTO equity (session, at_ns, balance, equity)"
             " SELECT 1, 1621382400000000000 + i * 3600000000000, '100', '100' FROM h");
    assert_int_equal(rows(st, "SELECT COUNT(*) FROM equity"), 1440);

    nx_store_pruned_t p;
    if (nx_store_prune(st, 30 * 24 * HOUR_NS, &p))
        fail_msg("%s", nx_store_error(st));
    /* the cut: the candle of hour 1439 - 720 = 719; hours 0..718 go */
    assert_int_equal(p.before_ns, T0_NS + 719 * HOUR_NS);
    assert_int_equal(p.entries, 719 * 5);
    assert_int_equal(p.signals, 719);
    assert_int_equal(p.equity, 719 - 30); /* days 0..28 keep hour 23, day 29 keeps hour 22 */
    for (int type = NX_EV_KLINE; type <= NX_EV_STATE; type++) {
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM journal WHERE type = %d", type);
        int64_t want =
            type == NX_EV_KLINE || type == NX_EV_TIMER || type == NX_EV_SIGNAL ||
                    type == NX_EV_STATE
                ? 721
            : type == NX_EV_DECISION ? 721 + 60 * 2 /* asks and outcomes stay */
            : type == NX_EV_ORDER_INTENT || type == NX_EV_ORDER_UPDATE || type == NX_EV_CONTROL ? 60
                                                                                                : 0;
        if (rows(st, sql) != want)
            fail_msg("journal type %d: %lld rows, want %lld", type, (long long)rows(st, sql),
                     (long long)want);
    }
    assert_int_equal(rows(st, "SELECT COUNT(*) FROM journal WHERE type = 14"), 60); /* notices */
    assert_int_equal(rows(st, "SELECT COUNT(*) FROM signals"), 721);
    assert_int_equal(rows(st, "SELECT COUNT(*) FROM equity"), 1440 - (719 - 30));
    assert_int_equal(rows(st, "SELECT COUNT(*) FROM equity WHERE at_ns < 1621382400000000000 +"
                              " 24 * 3600000000000"),
                     1); /* day 0: its last value only, */
    assert_int_equal(rows(st, "SELECT COUNT(*) FROM equity WHERE at_ns = 1621382400000000000 +"
                              " 23 * 3600000000000"),
                     1); /* hour 23's */
    assert_int_equal(rows(st, "SELECT COUNT(*) FROM fills"), 60);
    assert_int_equal(rows(st, "SELECT COUNT(*) FROM orders"), 60);
    assert_int_equal(rows(st, "SELECT COUNT(*) FROM approvals WHERE status = 'approved'"), 60);
    assert_int_equal(rows(st, "SELECT COUNT(*) FROM desk_state"), 1); /* the latest state */
    assert_int_equal(nx_store_check(st), 0); /* no order or fill lost its entry */
    uint64_t gaps, through, pruned, n;
    int64_t cut;
    assert_int_equal(nx_store_journal_gaps(st, &gaps), 0);
    assert_int_equal(gaps, 0);
    assert_int_equal(nx_store_pruned(st, &through, &pruned, &cut), 0);
    assert_int_equal(pruned, 719 * 5);
    assert_int_equal(cut, T0_NS + 719 * HOUR_NS);
    assert_int_equal(nx_store_journal_count(st, 0, last, &n), 0);
    assert_int_equal(n + pruned, last); /* every entry either there or pruned */

    /* again at once: nothing more */
    assert_int_equal(nx_store_prune(st, 30 * 24 * HOUR_NS, &p), 0);
    assert_int_equal(p.entries + p.signals + p.equity, 0);
    /* a day later: that day's worth, no more */
    last = journal_days(st, 60, 1, last);
    assert_int_equal(nx_store_prune(st, 30 * 24 * HOUR_NS, &p), 0);
    assert_int_equal(p.entries, 24 * 5);
    assert_int_equal(p.signals, 24);
    assert_int_equal(nx_store_journal_gaps(st, &gaps), 0);
    assert_int_equal(gaps, 0);
    /* a hole after the pruned part is still a gap */
    char sql[96];
    snprintf(sql, sizeof sql, "DELETE FROM journal WHERE seq = %llu", (unsigned long long)last - 2);
    rows(st, sql);
    assert_int_equal(nx_store_journal_gaps(st, &gaps), 0);
    assert_int_equal(gaps, 1);
    assert_int_equal(nx_store_prune(st, 0, &p), NX_EINVAL);
    nx_store_close(st);
}

/* Stored fills summed at a checkpoint (issue 16): start-up reads the sums
 * and only the fills stored after them. Sums worked out by hand. */
typedef struct got_sums {
    nx_store_fill_t row[8];
    int n;
} got_sums_t;

static int got_sum(void *ctx, const nx_store_fill_t *f)
{
    got_sums_t *g = ctx;
    if (g->n < 8)
        g->row[g->n++] = *f;
    return 0;
}

static uint64_t fill(nx_store_t *st, uint64_t seq, uint32_t session, uint32_t symbol, uint8_t side,
                     int64_t qty)
{
    nx_event_t e;
    ev_init(&e, NX_EV_ORDER_UPDATE, T0_NS + (int64_t)seq);
    e.hdr.symbol = symbol;
    e.u.order.client_id = ((uint64_t)session << 40) | seq;
    e.u.order.session = session;
    e.u.order.status = NX_OS_FILLED;
    e.u.order.side = side;
    e.u.order.fill_id = seq;
    e.u.order.last_px = 3554720;
    e.u.order.last_qty = qty;
    nx_journal_entry_t j = {seq, &e};
    if (nx_store_journal_batch(st, &T, &j, 1))
        fail_msg("%s", nx_store_error(st));
    return seq;
}

static void sums(nx_store_t *st, nx_fill_sums_t how, got_sums_t *g, uint64_t *read)
{
    memset(g, 0, sizeof *g);
    if (nx_store_fill_sums(st, &T, how, got_sum, g, read))
        fail_msg("%s", nx_store_error(st));
}

static void test_fill_sums_at_a_checkpoint(void **state)
{
    const backend_t *b = *state;
    nx_store_t *st = migrated(b);
    got_sums_t g;
    uint64_t read;
    /* session 1: +0.01000 +0.02500 -0.00700 (BTCUSDT, qty scale 5); session 2: -0.00300 */
    fill(st, 1, 1, 0, NX_SIDE_BUY, 1000);
    fill(st, 2, 2, 0, NX_SIDE_SELL, 300);
    fill(st, 3, 1, 0, NX_SIDE_BUY, 2500);
    fill(st, 4, 1, 0, NX_SIDE_SELL, 700);
    sums(st, NX_FILLS_SINCE, &g, &read);
    assert_int_equal(read, 4);
    assert_int_equal(g.n, 2);
    for (int i = 0; i < 2; i++) {
        assert_true(g.row[i].ok);
        assert_int_equal(g.row[i].qty, g.row[i].session == 1 ? 2800 : -300);
        assert_int_equal(g.row[i].seq, g.row[i].session == 1 ? 4 : 2);
    }
    assert_int_equal(rows(st, "SELECT COUNT(*) FROM fill_sums"), 0); /* SINCE changes nothing */
    sums(st, NX_FILLS_CHECKPOINT, &g, &read);
    assert_int_equal(read, 4);
    assert_int_equal(rows(st, "SELECT COUNT(*) FROM fill_sums WHERE session = 1 AND net = "
                              "'0.028' AND last_seq = 4"),
                     1);
    assert_int_equal(rows(st, "SELECT COUNT(*) FROM fill_sums WHERE session = 2 AND net = "
                              "'-0.003' AND last_seq = 2"),
                     1);
    /* from the checkpoint: nothing read one by one, the same sums */
    sums(st, NX_FILLS_SINCE, &g, &read);
    assert_int_equal(read, 0);
    assert_int_equal(g.n, 2);
    for (int i = 0; i < 2; i++)
        assert_int_equal(g.row[i].qty, g.row[i].session == 1 ? 2800 : -300);
    /* two more: those two are read, added to the checkpoint's sums */
    fill(st, 5, 1, 0, NX_SIDE_SELL, 2800);
    fill(st, 6, 3, 0, NX_SIDE_BUY, 1);
    sums(st, NX_FILLS_SINCE, &g, &read);
    assert_int_equal(read, 2);
    assert_int_equal(g.n, 3);
    for (int i = 0; i < 3; i++) {
        int64_t want = g.row[i].session == 1 ? 0 : g.row[i].session == 2 ? -300 : 1;
        assert_int_equal(g.row[i].qty, want);
        assert_int_equal(g.row[i].seq, g.row[i].session == 1 ? 5 : g.row[i].session == 2 ? 2 : 6);
    }
    sums(st, NX_FILLS_ALL, &g, &read); /* every fill: the same sums */
    assert_int_equal(read, 6);
    assert_int_equal(g.n, 3);
    /* a fill that cannot be read (a symbol this config lacks) comes on its
     * own, and the checkpoint does not move past it */
    fill(st, 7, 1, 42, NX_SIDE_BUY, 5);
    sums(st, NX_FILLS_CHECKPOINT, &g, &read);
    assert_int_equal(read, 3);
    int bad = 0;
    for (int i = 0; i < g.n; i++)
        bad += !g.row[i].ok && g.row[i].seq == 7;
    assert_int_equal(bad, 1);
    sums(st, NX_FILLS_SINCE, &g, &read);
    assert_int_equal(read, 3); /* still from the old checkpoint */
    nx_store_close(st);
}

/* The server ends the writer's connection at 25 moments of a large batch
 * (the journal's COPY, the pipelined statements after it, the commit): the
 * batch ends with an error every time, never waits for ever (libpq answers
 * "copy in" for ever on a connection lost in a COPY, and a pipeline's sync
 * never comes: both hung the writer, seen when PostgreSQL was stopped
 * mid-run), and the next batch on the same handle is stored once the
 * connection is made again. */
typedef struct batch_job {
    nx_store_t *st;
    const nx_journal_entry_t *je;
    int n, rc;
} batch_job_t;

static void *run_batch(void *arg)
{
    batch_job_t *j = arg;
    j->rc = nx_store_journal_batch(j->st, &T, j->je, j->n);
    return NULL;
}

static void test_connection_killed_mid_batch(void **state)
{
    (void)state;
    assert_true(pg_up);
    assert_int_equal(pgx_reset(&PGX), 0);
    char err[512];
    nx_store_t *st = NULL, *killer = NULL;
    int applied;
    assert_int_equal(nx_store_open(&st, PGX.url, NULL, err, sizeof err), 0);
    assert_int_equal(nx_store_migrate(st, 0, &applied), 0);
    assert_int_equal(nx_store_open(&killer, PGX.url, NULL, err, sizeof err), 0);
    enum { N = 20000 };
    static nx_event_t ev[N];
    static nx_journal_entry_t je[N];
    uint64_t seq = 0;
    int failed = 0;
    for (int k = 0; k < 25; k++) {
        for (int i = 0; i < N; i++) {
            jm_entry(&ev[i], seq + (uint64_t)i, (uint64_t)k);
            je[i] = (nx_journal_entry_t){seq + (uint64_t)i + 1, &ev[i]};
        }
        batch_job_t job = {st, je, N, 0};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, run_batch, &job), 0);
        /* the fault's schedule, not a wait for a result: the end comes k * 12
         * ms into the batch (0..288 ms, across its COPY, pipeline and commit) */
        struct timespec d = {0, (long)k * 12 * 1000000L};
        nanosleep(&d, NULL);
        int64_t killed = 0;
        assert_int_equal(nx_store_scalar(killer,
                                         "SELECT COUNT(pg_terminate_backend(pid)) FROM "
                                         "pg_stat_activity WHERE pid <> pg_backend_pid() AND "
                                         "backend_type = 'client backend'",
                                         &killed),
                         0);
        struct timespec until; /* the batch's end itself, waited for 30 s at most */
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 30;
        if (pthread_timedjoin_np(th, NULL, &until))
            fail_msg("the batch still runs 30 s after its connection was ended %d ms in", k * 12);
        failed += job.rc != 0;
        if (job.rc == 0)
            seq += N; /* stored before the end came */
        /* the same handle stores the next batch once connected again */
        nx_event_t one;
        jm_entry(&one, seq, 200);
        nx_journal_entry_t j1 = {seq + 1, &one};
        int rc = NX_EIO;
        for (int t = 0; t < 20 && rc; t++) { /* one reconnect try per half second */
            rc = nx_store_journal_batch(st, &T, &j1, 1);
            if (rc) {
                struct timespec h = {0, 100 * 1000000L};
                nanosleep(&h, NULL);
            }
        }
        if (rc)
            fail_msg("no batch stored after the end at %d ms: %s", k * 12, nx_store_error(st));
        seq += 1;
    }
    assert_true(failed >= 10); /* most moments fell inside a batch */
    uint64_t n;
    assert_int_equal(nx_store_journal_count(st, 1, seq, &n), 0);
    assert_int_equal(n, seq); /* what was acknowledged is there, once */
    nx_store_close(killer);
    nx_store_close(st);
}

static int setup(void **state)
{
    (void)state;
    snprintf(DIR_, sizeof DIR_, "/tmp/nexus-store-%d", (int)getpid());
    mkdir(DIR_, 0700);
    nx_symtab_init(&T);
    nx_symtab_add(&T, NX_VENUE_PAPER, "BTCUSDT", 2, 5, 1, 1, 0, NULL);
    if (getenv("NX_SKIP_PG"))
        fprintf(stderr, "test_store: NX_SKIP_PG set: the PostgreSQL half is skipped\n");
    else
        pg_up = pgx_start(&PGX) == 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pgx_stop(&PGX);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", DIR_);
    return system(cmd) == 0 ? 0 : -1;
}

#define BOTH(fn) cmocka_unit_test_prestate(fn, &SQLITE), cmocka_unit_test_prestate(fn, &PG)

int main(void)
{
    const struct CMUnitTest all[] = {
        BOTH(test_migrations_from_empty),
        BOTH(test_migrations_from_every_version),
        BOTH(test_users_and_hostile_strings),
        BOTH(test_own_sessions_only),
        BOTH(test_sessions_live_in_the_database),
        BOTH(test_user_seeds),
        BOTH(test_role_limits),
        BOTH(test_sealed_keys),
        BOTH(test_journal_and_what_it_derives),
        BOTH(test_saved_state),
        BOTH(test_scheduled_tasks),
        BOTH(test_meta_values),
        BOTH(test_retention),
        BOTH(test_fill_sums_at_a_checkpoint),
        cmocka_unit_test(test_master_key_sources),
        cmocka_unit_test_prestate(test_connection_killed_mid_batch, &PG),
    };
    if (getenv("NX_SKIP_PG")) {
        struct CMUnitTest some[sizeof all / sizeof all[0]];
        int n = 0;
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            if (all[i].initial_state != &PG)
                some[n++] = all[i];
        return _cmocka_run_group_tests("test_store", some, (size_t)n, setup, teardown);
    }
    return cmocka_run_group_tests(all, setup, teardown);
}
