/*
 * store.h - where the background writer keeps the audit log: one small
 * interface, SQLite, PostgreSQL and an append-only file (file.c) behind it.
 *
 * In SQLite and PostgreSQL the log is three tables (docs/internals/audit.md;
 * the file store keeps the same things as frames, see file.c):
 *   audit_records      seq (leaf index, 0..n-1), request_id, time_ms,
 *                      leaf (SHA-256 leaf hash, 32 bytes), record (the
 *                      canonical JSON that was hashed)
 *   audit_checkpoints  tree_size, root, time_ms, key_id, signature
 *   audit_meta         key -> value: format version, public key, the
 *                      writer's compact range ("frontier")
 * A batch (records, the frontier after them, an optional checkpoint) is
 * written in one transaction: after a crash the store holds whole batches
 * only, and the frontier always matches the records.
 *
 * A store handle belongs to one thread at a time. Errors come back as
 * SY_ERR with a message in err (no secrets: a URL's password never appears).
 *
 * Shared stores. Several gateways may append to one PostgreSQL log: there is
 * still one tree, one sequence of leaves. Such a store has lock_tree(): it
 * opens the batch's transaction, takes the tree's lock (held to commit) and
 * says what the store holds now (sy_store_tree_t), so the writer numbers its
 * records after whatever another instance appended. The append that follows
 * commits the transaction; unlock_tree() rolls it back instead. A store only
 * this process writes (SQLite) has no lock_tree: the writer's own state is
 * the truth.
 */
#ifndef SY_STORE_STORE_H
#define SY_STORE_STORE_H

#include "audit/merkle.h"
#include "audit/sign.h"
#include "config/config.h"

typedef struct {
    uint64_t seq;
    sy_str_t request_id;
    uint64_t time_ms;
    sy_hash_t leaf;
    sy_str_t record;
} sy_store_row_t;

typedef struct {
    uint64_t tree_size;
    sy_hash_t root;
    uint64_t time_ms;
    char key_id[17];
    uint8_t sig[SY_ED25519_SIG_LEN];
} sy_store_checkpoint_t;

typedef struct {
    const sy_store_row_t *rows;
    size_t nrows;
    const uint8_t *frontier; /* sy_merkle_frontier_encode() after the rows */
    size_t frontier_len;
    const sy_store_checkpoint_t *checkpoint; /* NULL: none in this batch */
    /* Shared stores record, in the same transaction, that writer `writer`
     * (one id per process start) committed its batch number `batch`, so a
     * batch whose commit went through but whose answer was lost (the
     * connection broke) is recognised and not written twice. */
    const char *writer;
    uint64_t batch;
} sy_store_batch_t;

/* The largest encoded compact range: the size and 64 nodes. */
#define SY_STORE_FRONTIER_MAX (8 + 64 * SY_HASH_LEN)

/* What a shared store holds when the writer takes the tree's lock. */
typedef struct {
    uint8_t frontier[SY_STORE_FRONTIER_MAX]; /* the stored compact range */
    size_t frontier_len;
    uint64_t ckpt_size;     /* the largest checkpoint's tree size (0: none) */
    uint64_t writer_batch;  /* the last batch this writer committed (0: none) */
} sy_store_tree_t;

typedef struct sy_store sy_store_t;

/* Row and checkpoint visitors: return SY_OK to go on, anything else stops the
 * scan and is returned by it. Views are valid during the call only. */
typedef int (*sy_store_row_cb)(void *ctx, const sy_store_row_t *row);
typedef int (*sy_store_checkpoint_cb)(void *ctx, const sy_store_checkpoint_t *cp);

typedef struct {
    const char *name;
    int (*append)(sy_store_t *s, const sy_store_batch_t *b, char *err, size_t errsz);
    /* The stored frontier (*len 0 when the log is empty or has none) */
    int (*load_frontier)(sy_store_t *s, uint8_t *out, size_t cap, size_t *len, char *err,
                         size_t errsz);
    /* The checkpoint with the largest tree size; SY_ENOTFOUND when there is none */
    int (*last_checkpoint)(sy_store_t *s, sy_store_checkpoint_t *out, char *err, size_t errsz);
    int (*count)(sy_store_t *s, uint64_t *n, char *err, size_t errsz);
    /* Records with seq >= from, by seq */
    int (*scan_records)(sy_store_t *s, uint64_t from, sy_store_row_cb cb, void *ctx, char *err,
                        size_t errsz);
    /* Checkpoints by tree size */
    int (*scan_checkpoints)(sy_store_t *s, sy_store_checkpoint_cb cb, void *ctx, char *err,
                            size_t errsz);
    /* The seq of the record with this request id; SY_ENOTFOUND */
    int (*find)(sy_store_t *s, sy_str_t request_id, uint64_t *seq, char *err, size_t errsz);
    /* audit_meta; get returns SY_ENOTFOUND for a missing key */
    int (*meta_get)(sy_store_t *s, const char *key, sy_buf_t *out, char *err, size_t errsz);
    int (*meta_set)(sy_store_t *s, const char *key, const void *v, size_t n, char *err,
                    size_t errsz);
    /* Set the key unless it is set already (SY_OK either way): two writers
     * starting at once on an empty log cannot both bind their key to it. */
    int (*meta_add)(sy_store_t *s, const char *key, const void *v, size_t n, char *err,
                    size_t errsz);
    /* Apply a changed commit durability (audit.synchronous) from now on. */
    int (*set_sync)(sy_store_t *s, bool full, char *err, size_t errsz);
    /* Shared stores only (NULL otherwise; see the top of this file). `writer`
     * is the id the batches of this process carry. */
    int (*lock_tree)(sy_store_t *s, const char *writer, sy_store_tree_t *out, char *err,
                     size_t errsz);
    void (*unlock_tree)(sy_store_t *s);
    void (*close)(sy_store_t *s);
} sy_store_vt_t;

struct sy_store {
    const sy_store_vt_t *vt;
};

typedef struct {
    bool readonly;   /* the CLI's verify/proof/summary: never creates or writes */
    bool sync_full;  /* fsync at every commit (audit.synchronous: full) */
} sy_store_opts_t;

/*
 * Open the store named by `cfg` (a SQLite path is resolved against the
 * configuration file's directory by the caller: `path`). Creates the tables
 * unless readonly. NULL with err on failure.
 */
sy_store_t *sy_store_open(const sy_config_store_t *cfg, const char *path,
                          const sy_store_opts_t *opts, char *err, size_t errsz);
sy_store_t *sy_store_sqlite_open(const char *path, const sy_store_opts_t *opts, char *err,
                                 size_t errsz);
sy_store_t *sy_store_postgres_open(const char *url, const sy_store_opts_t *opts, char *err,
                                   size_t errsz);
sy_store_t *sy_store_file_open(const char *path, const sy_store_opts_t *opts, char *err,
                               size_t errsz);
/* Whether the file at path begins as an audit file (file.c) does. */
bool sy_store_file_sniff(const char *path);

static inline void sy_store_close(sy_store_t *s)
{
    if (s)
        s->vt->close(s);
}

#endif
