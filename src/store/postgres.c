/*
 * postgres.c - the PostgreSQL store: the audit log shared by several
 * gateways.
 *
 * The same three tables as SQLite (BYTEA for hashes, signatures and meta
 * values, TEXT for records) plus audit_writers, one row per writer (process
 * start) with the number of the last batch it committed.
 *
 * One tree for every instance. A batch runs in one transaction that first
 * locks the tree: `SELECT ... FROM audit_meta WHERE key = 'frontier' FOR
 * UPDATE` (lock_tree). The row lock is held to COMMIT, so batches of all
 * instances are serialised: each reads the compact range the previous one
 * left, numbers its records after it, and writes records, the new compact
 * range, the writer's batch number and any checkpoint before it commits.
 * Whole batches only, in one order, without gaps, whatever the number of
 * instances. The cost is one lock per batch (a few round trips), not per
 * record.
 *
 * The connection is blocking and belongs to the writer thread: the writer
 * runs off the request path and has nothing else to do while a commit is on
 * its way. A broken connection (the database restarted) is reset before the
 * next statement; the failed call returns an error and the writer keeps its
 * batch and calls again. libpq's connect_timeout, TCP keepalives and
 * tcp_user_timeout bound how long a dead server can hold a call.
 *
 * Values go out and come back in binary form (no escaping, no formatting):
 * BIGINT as 8 bytes big-endian, TEXT and BYTEA as their bytes; a batch's
 * records go in with one binary COPY.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/time.h"
#include "store/store.h"

/* Rows per FETCH while scanning (memory stays bounded on a large log). */
#define PG_FETCH_ROWS "1000"

typedef struct {
    sy_store_t base;
    PGconn *conn;
    bool readonly;
    bool sync_full;
    bool locked; /* inside lock_tree's transaction */
    char host[128];
    int pid;
    uint64_t started_ms;
    sy_buf_t sql;
    sy_buf_t copy; /* a batch's records in COPY's binary format */
    /* parameters of the statement being built */
    const char **vals;
    int *lens, *fmts;
    uint8_t *nums; /* 8 bytes per parameter: BIGINTs in network order */
    int np, pcap;
} pg_store_t;

/* ---- errors, connection ---- */

static int pg_fail(pg_store_t *p, const PGresult *r, const char *what, char *err, size_t errsz)
{
    const char *m = r ? PQresultErrorMessage(r) : NULL;
    if (m == NULL || *m == '\0')
        m = PQerrorMessage(p->conn);
    if (m == NULL || *m == '\0')
        m = "unknown error";
    /* libpq's messages name host and port, never the password. */
    snprintf(err, errsz, "postgres: %s: %.*s", what, (int)strcspn(m, "\n"), m);
    return SY_ERR;
}

static int exec_simple(pg_store_t *p, const char *sql, const char *what, char *err, size_t errsz)
{
    PGresult *r = PQexec(p->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? SY_OK
                                                             : pg_fail(p, r, what, err, errsz);
    PQclear(r);
    return rc;
}

/* Session settings, again after every reconnection. */
static int session_setup(pg_store_t *p, char *err, size_t errsz)
{
    const char *enc = PQparameterStatus(p->conn, "server_encoding");
    if (enc && strcmp(enc, "UTF8") != 0 && strcmp(enc, "SQL_ASCII") != 0) {
        /* A record's bytes must come back exactly as they were hashed. */
        snprintf(err, errsz,
                 "postgres: the database's encoding is %s; the audit log needs a UTF8 (or "
                 "SQL_ASCII) database",
                 enc);
        return SY_ERR;
    }
    const char *sql = p->readonly ? "SET default_transaction_read_only = on"
                      : p->sync_full ? "SET synchronous_commit = on"
                                     : "SET synchronous_commit = off";
    return exec_simple(p, sql, "session settings", err, errsz);
}

/* Before every call: a connection that broke is reset; a transaction left
 * open by a failed call is rolled back (unless lock_tree opened it). */
static int ensure(pg_store_t *p, char *err, size_t errsz)
{
    if (PQstatus(p->conn) != CONNECTION_OK) {
        p->locked = false;
        PQreset(p->conn);
        if (PQstatus(p->conn) != CONNECTION_OK)
            return pg_fail(p, NULL, "cannot reach the database", err, errsz);
        if (session_setup(p, err, errsz) != SY_OK)
            return SY_ERR;
    }
    if (!p->locked && PQtransactionStatus(p->conn) != PQTRANS_IDLE)
        PQclear(PQexec(p->conn, "ROLLBACK"));
    return SY_OK;
}

/* ---- binary parameters ---- */

static void params_reset(pg_store_t *p)
{
    p->np = 0;
    sy_buf_clear(&p->sql);
}

static void param_reserve(pg_store_t *p)
{
    if (p->np < p->pcap)
        return;
    int cap = p->pcap ? 2 * p->pcap : 64;
    p->vals = sy_realloc(p->vals, (size_t)cap * sizeof(*p->vals));
    p->lens = sy_realloc(p->lens, (size_t)cap * sizeof(*p->lens));
    p->fmts = sy_realloc(p->fmts, (size_t)cap * sizeof(*p->fmts));
    /* vals may point into nums: move those pointers with it */
    uint8_t *old = p->nums;
    p->nums = sy_malloc((size_t)cap * 8);
    if (old) {
        memcpy(p->nums, old, (size_t)p->pcap * 8);
        for (int i = 0; i < p->np; i++)
            if ((const uint8_t *)p->vals[i] >= old && (const uint8_t *)p->vals[i] < old + p->pcap * 8)
                p->vals[i] = (const char *)p->nums + ((const uint8_t *)p->vals[i] - old);
        free(old);
    }
    p->pcap = cap;
}

/* Returns the parameter's number ($n). */
static int param_bytes(pg_store_t *p, const void *v, size_t n)
{
    param_reserve(p);
    p->vals[p->np] = n ? (const char *)v : "";
    p->lens[p->np] = (int)n;
    p->fmts[p->np] = 1;
    return ++p->np;
}

static int param_u64(pg_store_t *p, uint64_t v)
{
    param_reserve(p);
    uint8_t *b = p->nums + (size_t)p->np * 8;
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
    return param_bytes(p, b, 8);
}

static uint64_t get_u64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
        return 0;
    const uint8_t *b = (const uint8_t *)PQgetvalue(r, row, col);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

static sy_str_t get_str(const PGresult *r, int row, int col)
{
    return sy_str(PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}

/* Run p->sql with the collected parameters; binary results. *out (when not
 * NULL) gets the result on success, to PQclear. */
static int run(pg_store_t *p, const char *what, PGresult **out, char *err, size_t errsz)
{
    sy_buf_append(&p->sql, "", 1); /* libpq wants the text NUL-terminated */
    PGresult *r = PQexecParams(p->conn, sy_buf_ptr(&p->sql), p->np, NULL, p->vals, p->lens,
                               p->fmts, 1);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pg_fail(p, r, what, err, errsz);
        PQclear(r);
        return SY_ERR;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return SY_OK;
}

/* ---- the tree's lock and appending ---- */

static int lock_tree(sy_store_t *base, const char *writer, sy_store_tree_t *t, char *err,
                     size_t errsz)
{
    pg_store_t *p = (pg_store_t *)base;
    memset(t, 0, sizeof(*t));
    if (p->locked) {
        PQclear(PQexec(p->conn, "ROLLBACK"));
        p->locked = false;
    }
    if (ensure(p, err, errsz) != SY_OK || exec_simple(p, "BEGIN", "begin", err, errsz) != SY_OK)
        return SY_ERR;
    p->locked = true;
    params_reset(p);
    int w = param_bytes(p, writer ? writer : "", writer ? strlen(writer) : 0);
    sy_buf_printf(&p->sql,
                  "SELECT m.value, (SELECT max(tree_size) FROM audit_checkpoints), "
                  "(SELECT batch FROM audit_writers WHERE id = $%d) "
                  "FROM audit_meta m WHERE m.key = 'frontier' FOR UPDATE OF m",
                  w);
    PGresult *r = NULL;
    if (run(p, "lock the tree", &r, err, errsz) != SY_OK)
        goto fail;
    if (PQntuples(r) != 1 || (size_t)PQgetlength(r, 0, 0) > sizeof(t->frontier)) {
        snprintf(err, errsz, "postgres: audit_meta has no valid frontier row");
        PQclear(r);
        goto fail;
    }
    t->frontier_len = (size_t)PQgetlength(r, 0, 0);
    memcpy(t->frontier, PQgetvalue(r, 0, 0), t->frontier_len);
    t->ckpt_size = get_u64(r, 0, 1);
    t->writer_batch = get_u64(r, 0, 2);
    PQclear(r);
    return SY_OK;
fail:
    PQclear(PQexec(p->conn, "ROLLBACK"));
    p->locked = false;
    return SY_ERR;
}

static void unlock_tree(sy_store_t *base)
{
    pg_store_t *p = (pg_store_t *)base;
    if (!p->locked)
        return;
    PQclear(PQexec(p->conn, "ROLLBACK"));
    p->locked = false;
}

/* Binary COPY: the fastest way into a table (no statement text to parse,
 * no parameters): a header, then per row the field count and each field as
 * a 32-bit length and its bytes, then -1. */
static void put_be(sy_buf_t *b, uint64_t v, int bytes)
{
    uint8_t t[8];
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        t[i] = (uint8_t)v;
    sy_buf_append(b, t, (size_t)bytes);
}

static void put_field(sy_buf_t *b, const void *p, size_t n)
{
    put_be(b, n, 4);
    sy_buf_append(b, p, n);
}

static int insert_rows(pg_store_t *p, const sy_store_row_t *rows, size_t n, char *err,
                       size_t errsz)
{
    sy_buf_t *b = &p->copy;
    sy_buf_clear(b);
    sy_buf_append(b, "PGCOPY\n\377\r\n\0", 11);
    put_be(b, 0, 4); /* flags */
    put_be(b, 0, 4); /* header extension */
    for (size_t i = 0; i < n; i++) {
        const sy_store_row_t *r = &rows[i];
        put_be(b, 5, 2);
        put_be(b, 8, 4);
        put_be(b, r->seq, 8);
        put_field(b, r->request_id.p, r->request_id.len);
        put_be(b, 8, 4);
        put_be(b, r->time_ms, 8);
        put_field(b, r->leaf.b, SY_HASH_LEN);
        put_field(b, r->record.p, r->record.len);
    }
    put_be(b, 0xffff, 2); /* -1: the end */
    PGresult *res = PQexec(p->conn, "COPY audit_records(seq, request_id, time_ms, leaf, record) "
                                    "FROM STDIN (FORMAT binary)");
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        pg_fail(p, res, "insert records", err, errsz);
        PQclear(res);
        return SY_ERR;
    }
    PQclear(res);
    if (PQputCopyData(p->conn, sy_buf_ptr(b), (int)b->len) != 1 || PQputCopyEnd(p->conn, NULL) != 1)
        return pg_fail(p, NULL, "insert records", err, errsz);
    int rc = SY_OK;
    while ((res = PQgetResult(p->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == SY_OK)
            rc = pg_fail(p, res, "insert records", err, errsz);
        PQclear(res);
    }
    return rc;
}

static int append(sy_store_t *base, const sy_store_batch_t *b, char *err, size_t errsz)
{
    pg_store_t *p = (pg_store_t *)base;
    if (!p->locked) {
        /* Appending without the lock would number records blindly. */
        snprintf(err, errsz, "postgres: append without the tree's lock");
        return SY_ERR;
    }
    if (b->nrows && insert_rows(p, b->rows, b->nrows, err, errsz) != SY_OK)
        goto rollback;
    if (b->checkpoint) {
        const sy_store_checkpoint_t *c = b->checkpoint;
        params_reset(p);
        param_u64(p, c->tree_size);
        param_bytes(p, c->root.b, SY_HASH_LEN);
        param_u64(p, c->time_ms);
        param_bytes(p, c->key_id, strlen(c->key_id));
        param_bytes(p, c->sig, SY_ED25519_SIG_LEN);
        sy_buf_append_c(&p->sql, "INSERT INTO audit_checkpoints(tree_size, root, time_ms, key_id, "
                                 "signature) VALUES($1, $2, $3, $4, $5)");
        if (run(p, "insert checkpoint", NULL, err, errsz) != SY_OK)
            goto rollback;
    }
    if (b->frontier_len) {
        params_reset(p);
        param_bytes(p, b->frontier, b->frontier_len);
        sy_buf_append_c(&p->sql, "UPDATE audit_meta SET value = $1 WHERE key = 'frontier'");
        if (run(p, "save frontier", NULL, err, errsz) != SY_OK)
            goto rollback;
    }
    if (b->writer && b->batch) {
        params_reset(p);
        param_bytes(p, b->writer, strlen(b->writer));
        param_u64(p, b->batch);
        param_u64(p, p->started_ms);
        param_u64(p, sy_wall_ms());
        param_bytes(p, p->host, strlen(p->host));
        param_u64(p, (uint64_t)p->pid);
        sy_buf_append_c(&p->sql,
                        "INSERT INTO audit_writers(id, batch, started_ms, last_ms, host, pid) "
                        "VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET "
                        "batch = EXCLUDED.batch, last_ms = EXCLUDED.last_ms");
        if (run(p, "record the batch", NULL, err, errsz) != SY_OK)
            goto rollback;
    }
    PGresult *r = PQexec(p->conn, "COMMIT");
    p->locked = false;
    /* A transaction that failed earlier answers COMMIT with ROLLBACK. */
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "COMMIT") == 0;
    if (!ok)
        pg_fail(p, r, "commit", err, errsz);
    PQclear(r);
    return ok ? SY_OK : SY_ERR;
rollback:
    unlock_tree(base);
    return SY_ERR;
}

/* ---- reading ---- */

/* One-row queries: the first row's result, SY_ENOTFOUND when none. */
static int query_row(pg_store_t *p, const char *what, PGresult **out, char *err, size_t errsz)
{
    if (run(p, what, out, err, errsz) != SY_OK)
        return SY_ERR;
    if (PQntuples(*out) == 0) {
        PQclear(*out);
        *out = NULL;
        return SY_ENOTFOUND;
    }
    return SY_OK;
}

static int load_frontier(sy_store_t *base, uint8_t *out, size_t cap, size_t *len, char *err,
                         size_t errsz)
{
    pg_store_t *p = (pg_store_t *)base;
    *len = 0;
    if (ensure(p, err, errsz) != SY_OK)
        return SY_ERR;
    params_reset(p);
    sy_buf_append_c(&p->sql, "SELECT value FROM audit_meta WHERE key = 'frontier'");
    PGresult *r;
    int rc = query_row(p, "read frontier", &r, err, errsz);
    if (rc == SY_ENOTFOUND)
        return SY_OK;
    if (rc != SY_OK)
        return rc;
    size_t n = (size_t)PQgetlength(r, 0, 0);
    if (n <= cap) {
        memcpy(out, PQgetvalue(r, 0, 0), n);
        *len = n;
    }
    PQclear(r);
    return SY_OK;
}

static void read_checkpoint(const PGresult *r, int row, sy_store_checkpoint_t *c)
{
    memset(c, 0, sizeof(*c));
    c->tree_size = get_u64(r, row, 0);
    if (PQgetlength(r, row, 1) == SY_HASH_LEN)
        memcpy(c->root.b, PQgetvalue(r, row, 1), SY_HASH_LEN);
    c->time_ms = get_u64(r, row, 2);
    sy_str_t kid = get_str(r, row, 3);
    snprintf(c->key_id, sizeof(c->key_id), "%.*s", (int)SY_MIN(kid.len, (size_t)16), kid.p);
    if (PQgetlength(r, row, 4) == SY_ED25519_SIG_LEN)
        memcpy(c->sig, PQgetvalue(r, row, 4), SY_ED25519_SIG_LEN);
}

#define CHECKPOINT_COLS "tree_size, root, time_ms, key_id, signature"

static int last_checkpoint(sy_store_t *base, sy_store_checkpoint_t *out, char *err, size_t errsz)
{
    pg_store_t *p = (pg_store_t *)base;
    if (ensure(p, err, errsz) != SY_OK)
        return SY_ERR;
    params_reset(p);
    sy_buf_append_c(&p->sql, "SELECT " CHECKPOINT_COLS
                             " FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1");
    PGresult *r;
    int rc = query_row(p, "read checkpoint", &r, err, errsz);
    if (rc != SY_OK)
        return rc;
    read_checkpoint(r, 0, out);
    PQclear(r);
    return SY_OK;
}

static int count(sy_store_t *base, uint64_t *n, char *err, size_t errsz)
{
    pg_store_t *p = (pg_store_t *)base;
    *n = 0;
    if (ensure(p, err, errsz) != SY_OK)
        return SY_ERR;
    params_reset(p);
    sy_buf_append_c(&p->sql, "SELECT count(*) FROM audit_records");
    PGresult *r;
    int rc = query_row(p, "count", &r, err, errsz);
    if (rc != SY_OK)
        return rc == SY_ENOTFOUND ? SY_OK : rc;
    *n = get_u64(r, 0, 0);
    PQclear(r);
    return SY_OK;
}

/* A scan through a cursor, PG_FETCH_ROWS at a time, in one read-only
 * snapshot: a log being appended to by running gateways reads as one state. */
typedef int (*scan_row_fn)(void *ctx, const PGresult *r, int row);

static int scan(pg_store_t *p, const char *select, const char *what, scan_row_fn fn, void *ctx,
                char *err, size_t errsz)
{
    if (ensure(p, err, errsz) != SY_OK)
        return SY_ERR;
    bool own = PQtransactionStatus(p->conn) == PQTRANS_IDLE;
    if (own && exec_simple(p, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", what, err,
                           errsz) != SY_OK)
        return SY_ERR;
    params_reset(p);
    sy_buf_printf(&p->sql, "DECLARE sy_scan NO SCROLL CURSOR FOR %s", select);
    int rc = run(p, what, NULL, err, errsz);
    while (rc == SY_OK) {
        params_reset(p);
        sy_buf_append_c(&p->sql, "FETCH " PG_FETCH_ROWS " FROM sy_scan");
        PGresult *r;
        rc = run(p, what, &r, err, errsz);
        if (rc != SY_OK)
            break;
        int rows = PQntuples(r);
        for (int i = 0; i < rows && rc == SY_OK; i++)
            rc = fn(ctx, r, i);
        PQclear(r);
        if (rows == 0)
            break;
    }
    if (PQstatus(p->conn) == CONNECTION_OK) {
        if (own)
            PQclear(PQexec(p->conn, "ROLLBACK"));
        else
            PQclear(PQexec(p->conn, "CLOSE sy_scan"));
    }
    return rc;
}

typedef struct {
    sy_store_row_cb cb;
    void *ctx;
} row_scan_t;

static int row_fn(void *ctx, const PGresult *r, int i)
{
    row_scan_t *s = ctx;
    sy_store_row_t row;
    memset(&row, 0, sizeof(row));
    row.seq = get_u64(r, i, 0);
    row.request_id = get_str(r, i, 1);
    row.time_ms = get_u64(r, i, 2);
    /* A leaf of the wrong length is kept zero: it will not match. */
    if (PQgetlength(r, i, 3) == SY_HASH_LEN)
        memcpy(row.leaf.b, PQgetvalue(r, i, 3), SY_HASH_LEN);
    row.record = get_str(r, i, 4);
    return s->cb(s->ctx, &row);
}

static int scan_records(sy_store_t *base, uint64_t from, sy_store_row_cb cb, void *ctx, char *err,
                        size_t errsz)
{
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT seq, request_id, time_ms, leaf, record FROM audit_records WHERE seq >= %llu "
             "ORDER BY seq",
             (unsigned long long)SY_MIN(from, (uint64_t)INT64_MAX));
    row_scan_t s = {cb, ctx};
    return scan((pg_store_t *)base, sql, "read records", row_fn, &s, err, errsz);
}

typedef struct {
    sy_store_checkpoint_cb cb;
    void *ctx;
} cp_scan_t;

static int cp_fn(void *ctx, const PGresult *r, int i)
{
    cp_scan_t *s = ctx;
    sy_store_checkpoint_t c;
    read_checkpoint(r, i, &c);
    return s->cb(s->ctx, &c);
}

static int scan_checkpoints(sy_store_t *base, sy_store_checkpoint_cb cb, void *ctx, char *err,
                            size_t errsz)
{
    cp_scan_t s = {cb, ctx};
    return scan((pg_store_t *)base,
                "SELECT " CHECKPOINT_COLS " FROM audit_checkpoints ORDER BY tree_size",
                "read checkpoints", cp_fn, &s, err, errsz);
}

static int find(sy_store_t *base, sy_str_t request_id, uint64_t *seq, char *err, size_t errsz)
{
    pg_store_t *p = (pg_store_t *)base;
    if (ensure(p, err, errsz) != SY_OK)
        return SY_ERR;
    params_reset(p);
    param_bytes(p, request_id.p, request_id.len);
    sy_buf_append_c(&p->sql,
                    "SELECT seq FROM audit_records WHERE request_id = $1 ORDER BY seq LIMIT 1");
    PGresult *r;
    int rc = query_row(p, "find record", &r, err, errsz);
    if (rc != SY_OK)
        return rc;
    *seq = get_u64(r, 0, 0);
    PQclear(r);
    return SY_OK;
}

static int meta_get(sy_store_t *base, const char *key, sy_buf_t *out, char *err, size_t errsz)
{
    pg_store_t *p = (pg_store_t *)base;
    if (ensure(p, err, errsz) != SY_OK)
        return SY_ERR;
    params_reset(p);
    param_bytes(p, key, strlen(key));
    sy_buf_append_c(&p->sql, "SELECT value FROM audit_meta WHERE key = $1");
    PGresult *r;
    int rc = query_row(p, "read meta", &r, err, errsz);
    if (rc != SY_OK)
        return rc;
    sy_buf_append(out, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
    PQclear(r);
    return SY_OK;
}

static int meta_put(sy_store_t *base, const char *key, const void *v, size_t n, bool replace,
                    char *err, size_t errsz)
{
    pg_store_t *p = (pg_store_t *)base;
    if (ensure(p, err, errsz) != SY_OK)
        return SY_ERR;
    params_reset(p);
    param_bytes(p, key, strlen(key));
    param_bytes(p, v, n);
    sy_buf_printf(&p->sql, "INSERT INTO audit_meta(key, value) VALUES($1, $2) ON CONFLICT (key) %s",
                  replace ? "DO UPDATE SET value = EXCLUDED.value" : "DO NOTHING");
    return run(p, "write meta", NULL, err, errsz);
}

static int meta_set(sy_store_t *base, const char *key, const void *v, size_t n, char *err,
                    size_t errsz)
{
    return meta_put(base, key, v, n, true, err, errsz);
}

static int meta_add(sy_store_t *base, const char *key, const void *v, size_t n, char *err,
                    size_t errsz)
{
    return meta_put(base, key, v, n, false, err, errsz);
}

static int set_sync(sy_store_t *base, bool full, char *err, size_t errsz)
{
    pg_store_t *p = (pg_store_t *)base;
    p->sync_full = full;
    if (ensure(p, err, errsz) != SY_OK)
        return SY_ERR;
    return session_setup(p, err, errsz);
}

static void pg_close(sy_store_t *base)
{
    pg_store_t *p = (pg_store_t *)base;
    PQfinish(p->conn);
    sy_buf_free(&p->sql);
    sy_buf_free(&p->copy);
    free(p->vals);
    free(p->lens);
    free(p->fmts);
    free(p->nums);
    free(p);
}

static const sy_store_vt_t pg_vt = {
    .name = "postgres",
    .append = append,
    .load_frontier = load_frontier,
    .last_checkpoint = last_checkpoint,
    .count = count,
    .scan_records = scan_records,
    .scan_checkpoints = scan_checkpoints,
    .find = find,
    .meta_get = meta_get,
    .meta_set = meta_set,
    .meta_add = meta_add,
    .set_sync = set_sync,
    .lock_tree = lock_tree,
    .unlock_tree = unlock_tree,
    .close = pg_close,
};

/* Created under a transaction-scoped advisory lock: several instances may
 * start at once. The frontier row exists from the start (the empty tree:
 * size 0, no nodes) because lock_tree locks it. */
static const char schema[] =
    "BEGIN;"
    "SELECT pg_advisory_xact_lock(7319240502);"
    "CREATE TABLE IF NOT EXISTS audit_meta(key TEXT PRIMARY KEY, value BYTEA NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_records("
    " seq BIGINT PRIMARY KEY, request_id TEXT NOT NULL, time_ms BIGINT NOT NULL,"
    " leaf BYTEA NOT NULL, record TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_records_request_id ON audit_records(request_id);"
    "CREATE TABLE IF NOT EXISTS audit_checkpoints("
    " tree_size BIGINT PRIMARY KEY, root BYTEA NOT NULL, time_ms BIGINT NOT NULL,"
    " key_id TEXT NOT NULL, signature BYTEA NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_writers("
    " id TEXT PRIMARY KEY, batch BIGINT NOT NULL, started_ms BIGINT NOT NULL,"
    " last_ms BIGINT NOT NULL, host TEXT NOT NULL, pid BIGINT NOT NULL);"
    "INSERT INTO audit_meta(key, value) VALUES"
    " ('format', convert_to('switchyard-audit/v1', 'UTF8')),"
    " ('frontier', '\\x0000000000000000'::bytea)"
    " ON CONFLICT (key) DO NOTHING;"
    "COMMIT;";

static void notice_cb(void *arg, const char *message)
{
    SY_UNUSED(arg);
    SY_UNUSED(message); /* "relation already exists, skipping" and the like */
}

sy_store_t *sy_store_postgres_open(const char *url, const sy_store_opts_t *opts, char *err,
                                   size_t errsz)
{
    pg_store_t *p = sy_calloc(1, sizeof(*p));
    p->base.vt = &pg_vt;
    p->readonly = opts->readonly;
    p->sync_full = opts->sync_full;
    p->pid = (int)getpid();
    p->started_ms = sy_wall_ms();
    if (gethostname(p->host, sizeof(p->host) - 1) != 0)
        snprintf(p->host, sizeof(p->host), "?");
    sy_buf_init(&p->sql, 0);
    sy_buf_init(&p->copy, 0);
    /* Defaults first: what the URL says overrides them (expand_dbname). */
    const char *keys[] = {"connect_timeout",   "keepalives",          "keepalives_idle",
                          "keepalives_interval", "keepalives_count",  "tcp_user_timeout",
                          "application_name",  "client_encoding",     "dbname",
                          NULL};
    const char *vals[] = {"5", "1", "10", "5", "3", "10000", "switchyard-audit", "UTF8", url, NULL};
    p->conn = PQconnectdbParams(keys, vals, 1);
    if (p->conn == NULL) {
        snprintf(err, errsz, "postgres: out of memory");
        goto fail;
    }
    if (PQstatus(p->conn) != CONNECTION_OK) {
        pg_fail(p, NULL, "cannot connect", err, errsz);
        goto fail;
    }
    PQsetNoticeProcessor(p->conn, notice_cb, NULL);
    if (session_setup(p, err, errsz) != SY_OK)
        goto fail;
    if (!p->readonly) {
        if (exec_simple(p, schema, "create the audit tables", err, errsz) != SY_OK)
            goto fail;
    } else {
        PGresult *r = PQexec(p->conn, "SELECT to_regclass('audit_records') IS NOT NULL");
        bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                  strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        PQclear(r);
        if (!ok) {
            snprintf(err, errsz, "postgres: the database holds no Switchyard audit log");
            goto fail;
        }
    }
    return &p->base;
fail:
    pg_close(&p->base);
    return NULL;
}
