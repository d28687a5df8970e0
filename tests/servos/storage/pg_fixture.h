/*
 * pg_fixture.h — a real PostgreSQL server for the tests and the benchmark,
 * started in a temporary directory and stopped at the end: initdb, then
 * pg_ctl start listening only on a Unix socket inside that directory (no
 * TCP port, nothing shared with the machine). initdb refuses to run as
 * root, so under root the server runs as the `postgres` user (the Debian
 * package creates it). Header-only.
 */
#ifndef NX_PG_FIXTURE_H
#define NX_PG_FIXTURE_H

#include <dirent.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct pg_fixture {
    char dir[64];
    char bin[256];
    char url[256];
    int running;
} pg_fixture_t;

/* initdb and pg_ctl: pg_config's bindir, else the newest /usr/lib/postgresql/N/bin. */
static inline int pgx_find_bin(char *out, size_t cap)
{
    FILE *p = popen("pg_config --bindir 2>/dev/null", "r");
    if (p) {
        char line[256] = "";
        if (fgets(line, sizeof line, p)) {
            line[strcspn(line, "\n")] = 0;
            char probe[300];
            snprintf(probe, sizeof probe, "%s/initdb", line);
            if (access(probe, X_OK) == 0) {
                snprintf(out, cap, "%s", line);
                pclose(p);
                return 0;
            }
        }
        pclose(p);
    }
    DIR *d = opendir("/usr/lib/postgresql");
    int best = -1;
    for (struct dirent *e; d && (e = readdir(d));) {
        int v = atoi(e->d_name);
        char probe[300];
        snprintf(probe, sizeof probe, "/usr/lib/postgresql/%s/bin/initdb", e->d_name);
        if (v > best && access(probe, X_OK) == 0)
            best = v;
    }
    if (d)
        closedir(d);
    if (best < 0)
        return -1;
    snprintf(out, cap, "/usr/lib/postgresql/%d/bin", best);
    return 0;
}

/* Run argv as the server's user; 0 if it exited 0. */
static inline int pgx_run(const pg_fixture_t *f, char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0) {
            struct passwd *pw = getpwnam("postgres");
            if (!pw || setgid(pw->pw_gid) || setuid(pw->pw_uid))
                _exit(126);
        }
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return -1;
    (void)f;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* 0 and f->url ready, or -1 with the reason on stderr. */
static inline int pgx_start(pg_fixture_t *f)
{
    memset(f, 0, sizeof *f);
    if (pgx_find_bin(f->bin, sizeof f->bin)) {
        fprintf(stderr, "pg_fixture: PostgreSQL server binaries not found "
                        "(apt-get install postgresql)\n");
        return -1;
    }
    snprintf(f->dir, sizeof f->dir, "/tmp/nexus-pg-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("postgres");
        if (!pw || chown(f->dir, pw->pw_uid, pw->pw_gid)) {
            fprintf(stderr, "pg_fixture: running as root needs the postgres user\n");
            return -1;
        }
    }
    char initdb[300], pgctl[300], data[128], log[128], opts[256];
    snprintf(initdb, sizeof initdb, "%s/initdb", f->bin);
    snprintf(pgctl, sizeof pgctl, "%s/pg_ctl", f->bin);
    snprintf(data, sizeof data, "%s/data", f->dir);
    snprintf(log, sizeof log, "%s/log", f->dir);
    char *a1[] = {initdb, "-D", data, "-A", "trust", "-U", "nexus", "-E", "UTF8", "--no-sync",
                  NULL};
    if (pgx_run(f, a1)) {
        fprintf(stderr, "pg_fixture: initdb failed\n");
        return -1;
    }
    snprintf(opts, sizeof opts,
             "-k %s -c listen_addresses='' -c fsync=on -c max_connections=20 -p 5432", f->dir);
    char *a2[] = {pgctl, "-D", data, "-l", log, "-o", opts, "-w", "-t", "60", "start", NULL};
    if (pgx_run(f, a2)) {
        fprintf(stderr, "pg_fixture: pg_ctl start failed (see %s)\n", log);
        return -1;
    }
    f->running = 1;
    snprintf(f->url, sizeof f->url, "host=%s port=5432 user=nexus dbname=postgres", f->dir);
    return 0;
}

/* An empty database again: the public schema dropped and made anew. */
static inline int pgx_reset(const pg_fixture_t *f)
{
    PGconn *c = PQconnectdb(f->url);
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PGresult *r = PQexec(c, "SET client_min_messages = warning;"
                                "DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "pg_fixture: reset: %s", PQerrorMessage(c));
        PQclear(r);
    }
    PQfinish(c);
    return ok ? 0 : -1;
}

/* The server stopped (fast shutdown: connections dropped) with its data
 * kept, and started again: a database that goes away mid-run and comes
 * back. 0 or -1. */
static inline int pgx_halt(pg_fixture_t *f)
{
    char pgctl[300], data[128];
    snprintf(pgctl, sizeof pgctl, "%s/pg_ctl", f->bin);
    snprintf(data, sizeof data, "%s/data", f->dir);
    char *a[] = {pgctl, "-D", data, "-m", "fast", "-w", "stop", NULL};
    if (pgx_run(f, a))
        return -1;
    f->running = 0;
    return 0;
}

static inline int pgx_resume(pg_fixture_t *f)
{
    char pgctl[300], data[128], log[128], opts[256];
    snprintf(pgctl, sizeof pgctl, "%s/pg_ctl", f->bin);
    snprintf(data, sizeof data, "%s/data", f->dir);
    snprintf(log, sizeof log, "%s/log", f->dir);
    snprintf(opts, sizeof opts,
             "-k %s -c listen_addresses='' -c fsync=on -c max_connections=20 -p 5432", f->dir);
    char *a[] = {pgctl, "-D", data, "-l", log, "-o", opts, "-w", "-t", "60", "start", NULL};
    if (pgx_run(f, a))
        return -1;
    f->running = 1;
    return 0;
}

static inline void pgx_stop(pg_fixture_t *f)
{
    if (f->running) {
        char pgctl[300], data[128];
        snprintf(pgctl, sizeof pgctl, "%s/pg_ctl", f->bin);
        snprintf(data, sizeof data, "%s/data", f->dir);
        char *a[] = {pgctl, "-D", data, "-m", "immediate", "-w", "stop", NULL};
        pgx_run(f, a);
        f->running = 0;
    }
    if (f->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "pg_fixture: could not remove %s\n", f->dir);
    }
}

#endif
