/*
 * govstore_pg.c - the governance store over PostgreSQL (libpq).
 *
 * One connection, used by the governance thread only. Statements go out
 * with PQexecParams (text parameters, types inferred by the server from the
 * columns). A broken connection is reset before the next statement; the
 * failed one reports an error and its caller retries (the spend writer keeps
 * its batch; a sync tick tries again next time).
 */
#include "harness/govstore.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sy_gdb_schema(void);

typedef struct {
    sy_gdb_t base;
    PGconn *conn;
} pg_t;

static void pg_error(pg_t *p, PGresult *r, char *err, size_t errsz)
{
    const char *m = r ? PQresultErrorMessage(r) : NULL;
    if (m == NULL || *m == '\0')
        m = PQerrorMessage(p->conn);
    snprintf(err, errsz, "postgres: %.*s", (int)strcspn(m, "\n"), m);
}

static bool pg_ready(pg_t *p)
{
    if (PQstatus(p->conn) == CONNECTION_OK)
        return true;
    PQreset(p->conn);
    return PQstatus(p->conn) == CONNECTION_OK;
}

static int pg_exec(sy_gdb_t *db, const char *sql, const char *const *params, int nparams,
                   sy_gdb_row_cb cb, void *ctx, char *err, size_t errsz)
{
    pg_t *p = (pg_t *)db;
    if (!pg_ready(p)) {
        pg_error(p, NULL, err, errsz);
        return SY_ERR;
    }
    PGresult *r = PQexecParams(p->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pg_error(p, r, err, errsz);
        PQclear(r);
        return SY_ERR;
    }
    int rc = SY_OK;
    if (cb && st == PGRES_TUPLES_OK) {
        int rows = PQntuples(r), cols = PQnfields(r);
        if (cols > 32)
            cols = 32;
        for (int i = 0; i < rows && rc == SY_OK; i++) {
            const char *vals[32];
            for (int c = 0; c < cols; c++)
                vals[c] = PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
            rc = cb(ctx, cols, vals);
        }
    }
    PQclear(r);
    return rc;
}

static int pg_script(sy_gdb_t *db, const char *sql, char *err, size_t errsz)
{
    pg_t *p = (pg_t *)db;
    PGresult *r = PQexec(p->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = SY_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pg_error(p, r, err, errsz);
        rc = SY_ERR;
    }
    PQclear(r);
    return rc;
}

static void pg_close(sy_gdb_t *db)
{
    pg_t *p = (pg_t *)db;
    PQfinish(p->conn);
    free(p);
}

static const sy_gdb_vt_t pg_vt = {"postgres", pg_exec, pg_script, pg_close};

static void notice_cb(void *arg, const char *message)
{
    SY_UNUSED(arg);
    SY_UNUSED(message); /* "relation already exists, skipping" and the like */
}

sy_gdb_t *sy_gdb_postgres_open(const char *url, char *err, size_t errsz)
{
    pg_t *p = sy_calloc(1, sizeof(*p));
    p->base.vt = &pg_vt;
    p->conn = PQconnectdb(url);
    if (PQstatus(p->conn) != CONNECTION_OK) {
        /* libpq's message names host and port, never the password. */
        pg_error(p, NULL, err, errsz);
        pg_close(&p->base);
        return NULL;
    }
    PQsetNoticeProcessor(p->conn, notice_cb, NULL);
    /* Several instances may start at once: create the schema under a
     * transaction-scoped advisory lock so only one creates at a time. */
    char sql[4096];
    snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock(7319240501); %s COMMIT;",
             sy_gdb_schema());
    if (pg_script(&p->base, sql, err, errsz) != SY_OK) {
        pg_close(&p->base);
        return NULL;
    }
    return &p->base;
}
