/*
 * govstore.c - the governance store's schema, helpers, and its SQLite
 * backend (the PostgreSQL one is in govstore_pg.c).
 */
#include "harness/govstore.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The schema, in SQL both engines accept. BIGINT columns hold pico-dollars
 * and milliseconds (SQLite stores them as 64-bit integers). */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS sy_gov_meta (k TEXT PRIMARY KEY, v BIGINT NOT NULL);"
    "INSERT INTO sy_gov_meta (k, v) VALUES ('generation', 0) ON CONFLICT (k) DO NOTHING;"
    "CREATE TABLE IF NOT EXISTS sy_orgs (id TEXT PRIMARY KEY, spec TEXT NOT NULL,"
    " removed INTEGER NOT NULL DEFAULT 0, gen BIGINT NOT NULL, created_ms BIGINT NOT NULL,"
    " updated_ms BIGINT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS sy_orgs_gen ON sy_orgs (gen);"
    "CREATE TABLE IF NOT EXISTS sy_teams (id TEXT PRIMARY KEY, org_id TEXT NOT NULL,"
    " spec TEXT NOT NULL, removed INTEGER NOT NULL DEFAULT 0, gen BIGINT NOT NULL,"
    " created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS sy_teams_gen ON sy_teams (gen);"
    "CREATE TABLE IF NOT EXISTS sy_keys (id TEXT PRIMARY KEY, team_id TEXT NOT NULL,"
    " hash TEXT NOT NULL UNIQUE, hint TEXT NOT NULL, spec TEXT NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0, gen BIGINT NOT NULL, created_ms BIGINT NOT NULL,"
    " updated_ms BIGINT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS sy_keys_gen ON sy_keys (gen);"
    "CREATE TABLE IF NOT EXISTS sy_spend (request_id TEXT PRIMARY KEY, time_ms BIGINT NOT NULL,"
    " key_id TEXT NOT NULL, team_id TEXT NOT NULL, org_id TEXT NOT NULL, model TEXT NOT NULL,"
    " provider TEXT NOT NULL, deployment TEXT NOT NULL, tokens_in BIGINT NOT NULL,"
    " tokens_out BIGINT NOT NULL, cost_pico BIGINT NOT NULL, status INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS sy_spend_time ON sy_spend (time_ms);"
    "CREATE INDEX IF NOT EXISTS sy_spend_key ON sy_spend (key_id, time_ms);"
    "CREATE INDEX IF NOT EXISTS sy_spend_team ON sy_spend (team_id, time_ms);"
    "CREATE TABLE IF NOT EXISTS sy_spend_windows (principal TEXT NOT NULL, win TEXT NOT NULL,"
    " idx BIGINT NOT NULL, cost_pico BIGINT NOT NULL, requests BIGINT NOT NULL,"
    " PRIMARY KEY (principal, win, idx));";

int sy_gdb_begin(sy_gdb_t *db, char *err, size_t errsz)
{
    return sy_gdb_exec(db, "BEGIN", NULL, 0, NULL, NULL, err, errsz);
}

int sy_gdb_commit(sy_gdb_t *db, char *err, size_t errsz)
{
    return sy_gdb_exec(db, "COMMIT", NULL, 0, NULL, NULL, err, errsz);
}

void sy_gdb_rollback(sy_gdb_t *db)
{
    char err[64];
    sy_gdb_exec(db, "ROLLBACK", NULL, 0, NULL, NULL, err, sizeof(err));
}

typedef struct {
    uint64_t v;
    bool found;
} u64_ctx_t;

static int u64_cb(void *ctx, int ncols, const char *const *vals)
{
    u64_ctx_t *c = ctx;
    if (!c->found && ncols > 0 && vals[0]) {
        c->v = strtoull(vals[0], NULL, 10);
        c->found = true;
    }
    return SY_OK;
}

int sy_gdb_query_u64(sy_gdb_t *db, const char *sql, const char *const *params, int nparams,
                     uint64_t *out, char *err, size_t errsz)
{
    u64_ctx_t c = {0, false};
    int rc = sy_gdb_exec(db, sql, params, nparams, u64_cb, &c, err, errsz);
    if (rc != SY_OK)
        return rc;
    if (!c.found)
        return SY_ENOTFOUND;
    *out = c.v;
    return SY_OK;
}

sy_gdb_t *sy_gdb_open(const sy_config_store_t *cfg, const char *sqlite_path, char *err,
                      size_t errsz)
{
    if (cfg->kind == SY_CONFIG_STORE_POSTGRES) {
        char url[2048];
        snprintf(url, sizeof(url), "%.*s", SY_STR_FMT(cfg->url));
        return sy_gdb_postgres_open(url, err, errsz);
    }
    return sy_gdb_sqlite_open(sqlite_path, err, errsz);
}

/* ---- SQLite ---- */

#define STMT_CACHE 32

typedef struct {
    sy_gdb_t base;
    sqlite3 *db;
    struct {
        const char *sql; /* statements are static strings: cached by address */
        sqlite3_stmt *st;
    } cache[STMT_CACHE];
    size_t ncache;
} sq_t;

static sqlite3_stmt *sq_prepare(sq_t *s, const char *sql, char *err, size_t errsz)
{
    for (size_t i = 0; i < s->ncache; i++)
        if (s->cache[i].sql == sql)
            return s->cache[i].st;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errsz, "sqlite: %s", sqlite3_errmsg(s->db));
        return NULL;
    }
    if (s->ncache < STMT_CACHE) {
        s->cache[s->ncache].sql = sql;
        s->cache[s->ncache].st = st;
        s->ncache++;
    }
    return st;
}

static bool sq_cached(const sq_t *s, const sqlite3_stmt *st)
{
    for (size_t i = 0; i < s->ncache; i++)
        if (s->cache[i].st == st)
            return true;
    return false;
}

static int sq_exec(sy_gdb_t *db, const char *sql, const char *const *params, int nparams,
                   sy_gdb_row_cb cb, void *ctx, char *err, size_t errsz)
{
    sq_t *s = (sq_t *)db;
    sqlite3_stmt *st = sq_prepare(s, sql, err, errsz);
    if (st == NULL)
        return SY_ERR;
    int rc = SY_OK;
    for (int i = 0; i < nparams; i++) {
        char name[16];
        snprintf(name, sizeof(name), "$%d", i + 1);
        int at = sqlite3_bind_parameter_index(st, name);
        if (at == 0)
            continue;
        int brc = params[i] ? sqlite3_bind_text(st, at, params[i], -1, SQLITE_TRANSIENT)
                            : sqlite3_bind_null(st, at);
        if (brc != SQLITE_OK) {
            snprintf(err, errsz, "sqlite: %s", sqlite3_errmsg(s->db));
            rc = SY_ERR;
            goto out;
        }
    }
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            snprintf(err, errsz, "sqlite: %s", sqlite3_errmsg(s->db));
            rc = SY_ERR;
            break;
        }
        if (cb == NULL)
            continue;
        int n = sqlite3_column_count(st);
        const char *vals[32];
        if (n > 32)
            n = 32;
        for (int i = 0; i < n; i++)
            vals[i] = (const char *)sqlite3_column_text(st, i);
        int crc = cb(ctx, n, vals);
        if (crc != SY_OK) {
            rc = crc;
            break;
        }
    }
out:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (!sq_cached(s, st))
        sqlite3_finalize(st);
    return rc;
}

static int sq_script(sy_gdb_t *db, const char *sql, char *err, size_t errsz)
{
    sq_t *s = (sq_t *)db;
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errsz, "sqlite: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return SY_ERR;
    }
    return SY_OK;
}

static void sq_close(sy_gdb_t *db)
{
    sq_t *s = (sq_t *)db;
    for (size_t i = 0; i < s->ncache; i++)
        sqlite3_finalize(s->cache[i].st);
    sqlite3_close(s->db);
    free(s);
}

static const sy_gdb_vt_t sq_vt = {"sqlite", sq_exec, sq_script, sq_close};

sy_gdb_t *sy_gdb_sqlite_open(const char *path, char *err, size_t errsz)
{
    sq_t *s = sy_calloc(1, sizeof(*s));
    s->base.vt = &sq_vt;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(err, errsz, "sqlite: cannot open %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sqlite3_close(s->db);
        free(s);
        return NULL;
    }
    /* The audit log may share the file: wait for its writer rather than fail. */
    sqlite3_busy_timeout(s->db, 5000);
    if (sq_script(&s->base, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", err, errsz) !=
            SY_OK ||
        sq_script(&s->base, schema, err, errsz) != SY_OK) {
        sq_close(&s->base);
        return NULL;
    }
    return &s->base;
}

/* Shared with govstore_pg.c. */
const char *sy_gdb_schema(void);
const char *sy_gdb_schema(void)
{
    return schema;
}
