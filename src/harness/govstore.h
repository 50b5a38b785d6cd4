/*
 * govstore.h - where keys, teams, organisations and the spend ledger are
 * kept: SQLite (one instance, the default) or PostgreSQL (shared by several
 * instances), behind one small SQL interface.
 *
 * Statements are written once, in the SQL both understand, with $1, $2...
 * parameters; every parameter and every result value travels as text (NULL
 * for SQL NULL), which both engines convert by the column's type. So the
 * governance code above this file never asks which database it talks to.
 *
 * Tables (created if missing; docs/internals/governance.md):
 *   sy_gov_meta        k -> v: "generation", bumped by every change to the
 *                      three tables below in the same transaction
 *   sy_orgs, sy_teams, sy_keys
 *                      one row per principal: its spec (JSON text), its
 *                      parent, removed/revoked, the generation of its last
 *                      change; keys also the SHA-256 of the key (hex) and
 *                      its hint - never the key
 *   sy_spend           one row per served request: who, which model and
 *                      deployment, tokens, exact cost (pico-dollars)
 *   sy_spend_windows   the ledger's sum per principal and budget window,
 *                      kept in the same transaction as sy_spend
 *
 * A handle belongs to one thread at a time (the governance thread). Errors
 * come back as SY_ERR with a message; a URL's password never appears in it.
 */
#ifndef SY_HARNESS_GOVSTORE_H
#define SY_HARNESS_GOVSTORE_H

#include "config/config.h"

typedef struct sy_gdb sy_gdb_t;

/* Called once per result row: vals[i] is NUL-terminated text or NULL.
 * Return SY_OK to go on; anything else stops and is returned. */
typedef int (*sy_gdb_row_cb)(void *ctx, int ncols, const char *const *vals);

typedef struct {
    const char *name; /* "sqlite", "postgres" */
    int (*exec)(sy_gdb_t *db, const char *sql, const char *const *params, int nparams,
                sy_gdb_row_cb cb, void *ctx, char *err, size_t errsz);
    /* Several statements without parameters (schema). */
    int (*script)(sy_gdb_t *db, const char *sql, char *err, size_t errsz);
    void (*close)(sy_gdb_t *db);
} sy_gdb_vt_t;

struct sy_gdb {
    const sy_gdb_vt_t *vt;
};

/*
 * Open the store named by `cfg` (`sqlite_path`: the SQLite file, already
 * resolved against the configuration's directory) and create the tables.
 * NULL with a message on failure.
 */
sy_gdb_t *sy_gdb_open(const sy_config_store_t *cfg, const char *sqlite_path, char *err,
                      size_t errsz);
sy_gdb_t *sy_gdb_sqlite_open(const char *path, char *err, size_t errsz);
sy_gdb_t *sy_gdb_postgres_open(const char *url, char *err, size_t errsz);

static inline int sy_gdb_exec(sy_gdb_t *db, const char *sql, const char *const *params,
                              int nparams, sy_gdb_row_cb cb, void *ctx, char *err, size_t errsz)
{
    return db->vt->exec(db, sql, params, nparams, cb, ctx, err, errsz);
}
static inline void sy_gdb_close(sy_gdb_t *db)
{
    if (db)
        db->vt->close(db);
}

/* BEGIN / COMMIT / ROLLBACK (rollback never fails loudly). */
int sy_gdb_begin(sy_gdb_t *db, char *err, size_t errsz);
int sy_gdb_commit(sy_gdb_t *db, char *err, size_t errsz);
void sy_gdb_rollback(sy_gdb_t *db);

/* The first column of the first row as an unsigned number (SY_ENOTFOUND
 * when there is no row). */
int sy_gdb_query_u64(sy_gdb_t *db, const char *sql, const char *const *params, int nparams,
                     uint64_t *out, char *err, size_t errsz);

#endif
