/*
 * log.c - numbering, hashing, storing and checkpointing audit records.
 */
#include "audit/log.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/time.h"

const uint64_t sy_audit_batch_bounds_ns[SY_AUDIT_BATCH_BUCKETS] = {
    1000000, 5000000, 10000000, 50000000, 100000000, 500000000, 1000000000, 5000000000};

struct sy_audit_log {
    sy_store_t *store;
    sy_signer_t *signer;
    char key_id[17];
    sy_audit_log_opts_t o;
    size_t cap; /* rows and offs hold this many */
    sy_merkle_frontier_t fr;
    uint64_t ckpt_size;    /* tree size of the last checkpoint */
    uint64_t ckpt_mono_ns; /* when it was signed (monotonic) */
    sy_buf_t enc;
    size_t *offs;
    sy_store_row_t *rows;
    uint64_t last_error_log_ns;
    /* A shared store (several gateways, one tree): this process's writer id
     * and the number of batches it committed. */
    bool shared;
    char writer[33];
    uint64_t batch_no;
    /* sy_audit_log_configure (any thread); the writer reads them */
    _Atomic uint64_t ckpt_records, ckpt_interval_ms;
    atomic_bool sync_want;
    bool sync_now; /* what the store was last told (writer thread) */
};

/* Sign a checkpoint of the current tree into *cp. */
static int make_checkpoint(sy_audit_log_t *l, sy_store_checkpoint_t *cp)
{
    memset(cp, 0, sizeof(*cp));
    cp->tree_size = l->fr.size;
    sy_merkle_frontier_root(&l->fr, &cp->root);
    cp->time_ms = sy_wall_ms();
    memcpy(cp->key_id, l->key_id, sizeof(cp->key_id));
    char msg[SY_CHECKPOINT_MAX];
    size_t n = sy_checkpoint_message(cp->tree_size, &cp->root, cp->time_ms, msg);
    return sy_signer_sign(l->signer, msg, n, cp->sig);
}

static void checkpoint_done(sy_audit_log_t *l, const sy_store_checkpoint_t *cp)
{
    l->ckpt_size = cp->tree_size;
    l->ckpt_mono_ns = sy_now_ns();
    atomic_fetch_add(&l->o.counters->checkpoints, 1);
    atomic_store(&l->o.counters->checkpoint_size, cp->tree_size);
}

static void store_error(sy_audit_log_t *l, const char *what, const char *err)
{
    atomic_fetch_add(&l->o.counters->store_errors, 1);
    uint64_t now = sy_now_ns();
    if (now - l->last_error_log_ns > 1000000000u || l->last_error_log_ns == 0) {
        l->last_error_log_ns = now;
        char esc[600];
        sy_error("audit store write failed; retrying", "\"what\":\"%s\",\"error\":\"%s\"", what,
                 sy_log_esc(esc, sizeof(esc), err, strlen(err)));
    }
}

/*
 * A shared store: lock the tree and take what the store holds as the truth,
 * since another instance may have appended since our last batch. *done says
 * that this writer's batch number `pending` is committed already (its commit
 * went through but the answer was lost). The tree stays locked until the
 * next append or unlock_tree.
 */
static int sync_tree(sy_audit_log_t *l, uint64_t pending, bool *done, char *err, size_t errsz)
{
    sy_store_tree_t t;
    *done = false;
    if (l->store->vt->lock_tree(l->store, l->writer, &t, err, errsz) != SY_OK)
        return SY_ERR;
    if (sy_merkle_frontier_decode(&l->fr, t.frontier, t.frontier_len) != SY_OK) {
        l->store->vt->unlock_tree(l->store);
        snprintf(err, errsz, "the stored compact range (audit_meta.frontier) is not valid");
        return SY_ERR;
    }
    if (t.ckpt_size != l->ckpt_size) {
        /* Another instance signed: the interval runs from now. */
        l->ckpt_size = t.ckpt_size;
        l->ckpt_mono_ns = sy_now_ns();
    }
    *done = pending && t.writer_batch >= pending;
    return SY_OK;
}

static bool checkpoint_due(const sy_audit_log_t *l, bool final)
{
    if (l->fr.size <= l->ckpt_size)
        return false;
    if (final || l->fr.size - l->ckpt_size >= atomic_load_explicit(&l->ckpt_records,
                                                                   memory_order_relaxed))
        return true;
    return sy_now_ns() - l->ckpt_mono_ns >=
           atomic_load_explicit(&l->ckpt_interval_ms, memory_order_relaxed) * 1000000u;
}

void sy_audit_log_configure(sy_audit_log_t *l, uint64_t checkpoint_records,
                            uint64_t checkpoint_interval_ms, bool sync_full)
{
    atomic_store(&l->ckpt_records, checkpoint_records ? checkpoint_records : 1);
    atomic_store(&l->ckpt_interval_ms, checkpoint_interval_ms);
    atomic_store(&l->sync_want, sync_full);
}

/* A changed audit.synchronous reaches the store between transactions, on
 * the writer thread that owns it. */
static void apply_sync(sy_audit_log_t *l)
{
    bool want = atomic_load_explicit(&l->sync_want, memory_order_relaxed);
    if (want == l->sync_now || l->store->vt->set_sync == NULL)
        return;
    char err[512];
    if (l->store->vt->set_sync(l->store, want, err, sizeof(err)) != SY_OK) {
        store_error(l, "synchronous", err);
        return;
    }
    l->sync_now = want;
}

int sy_audit_log_write(void *ctx, sy_writer_item_t **items, size_t n)
{
    sy_audit_log_t *l = ctx;
    uint64_t t0 = sy_now_ns();
    char err[512];
    apply_sync(l);
    if (n > l->cap) {
        l->cap = n;
        l->offs = sy_realloc(l->offs, n * sizeof(*l->offs));
        l->rows = sy_realloc(l->rows, n * sizeof(*l->rows));
    }
    if (l->shared) {
        bool done;
        if (sync_tree(l, l->batch_no + 1, &done, err, sizeof(err)) != SY_OK) {
            store_error(l, "records", err);
            return SY_ERR;
        }
        if (done) {
            l->store->vt->unlock_tree(l->store);
            l->batch_no++;
            goto written;
        }
    }
    sy_merkle_frontier_t saved = l->fr;
    sy_buf_clear(&l->enc);
    for (size_t i = 0; i < n; i++) {
        sy_audit_item_t *it = (sy_audit_item_t *)items[i];
        it->rec.seq = l->fr.size + i;
        l->offs[i] = l->enc.len;
        sy_audit_record_encode(&it->rec, &l->enc);
    }
    for (size_t i = 0; i < n; i++) {
        sy_audit_item_t *it = (sy_audit_item_t *)items[i];
        size_t end = i + 1 < n ? l->offs[i + 1] : l->enc.len;
        sy_store_row_t *r = &l->rows[i];
        r->seq = it->rec.seq;
        r->request_id = it->rec.request_id;
        r->time_ms = it->rec.time_ms;
        r->record = sy_str(sy_buf_ptr(&l->enc) + l->offs[i], end - l->offs[i]);
        sy_merkle_leaf(r->record.p, r->record.len, &r->leaf);
        sy_merkle_frontier_push(&l->fr, &r->leaf);
    }
    uint8_t fbuf[8 + 64 * SY_HASH_LEN];
    size_t flen = sy_merkle_frontier_encode(&l->fr, fbuf);
    sy_store_checkpoint_t cp;
    bool with_cp = checkpoint_due(l, false) && make_checkpoint(l, &cp) == SY_OK;
    sy_store_batch_t b = {l->rows, n, fbuf, flen, with_cp ? &cp : NULL,
                          l->shared ? l->writer : NULL, l->batch_no + 1};
    if (l->store->vt->append(l->store, &b, err, sizeof(err)) != SY_OK) {
        l->fr = saved;
        store_error(l, "records", err);
        return SY_ERR;
    }
    l->batch_no++;
    if (with_cp)
        checkpoint_done(l, &cp);
written:;
    uint64_t t1 = sy_now_ns(), lag = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t e = items[i]->enqueued_ns;
        if (t1 > e && t1 - e > lag)
            lag = t1 - e;
        free(items[i]);
    }
    sy_audit_counters_t *c = l->o.counters;
    atomic_fetch_add(&c->written, n);
    atomic_fetch_add(&c->batches, 1);
    atomic_fetch_add(&c->batch_ns_sum, t1 - t0);
    for (int k = 0; k < SY_AUDIT_BATCH_BUCKETS; k++)
        if (t1 - t0 <= sy_audit_batch_bounds_ns[k]) {
            atomic_fetch_add(&c->batch_buckets[k], 1);
            break;
        }
    atomic_store(&c->lag_last_ns, lag);
    if (lag > atomic_load(&c->lag_max_ns))
        atomic_store(&c->lag_max_ns, lag);
    if (l->o.release)
        l->o.release(l->o.release_ctx, n);
    return SY_OK;
}

/* A checkpoint on its own, when its time has come without a batch. */
static void checkpoint_now(sy_audit_log_t *l, bool final)
{
    if (!checkpoint_due(l, final))
        return;
    char err[512];
    if (l->shared) {
        /* What is due is decided on the stored tree: another instance may
         * have covered these records, or added more. */
        bool done;
        if (sync_tree(l, 0, &done, err, sizeof(err)) != SY_OK) {
            store_error(l, "checkpoint", err);
            return;
        }
        if (!checkpoint_due(l, final)) {
            l->store->vt->unlock_tree(l->store);
            return;
        }
    }
    sy_store_checkpoint_t cp;
    if (make_checkpoint(l, &cp) != SY_OK) {
        if (l->shared)
            l->store->vt->unlock_tree(l->store);
        store_error(l, "checkpoint", "signing failed");
        return;
    }
    sy_store_batch_t b = {NULL, 0, NULL, 0, &cp, NULL, 0};
    if (l->store->vt->append(l->store, &b, err, sizeof(err)) != SY_OK) {
        store_error(l, "checkpoint", err);
        return;
    }
    checkpoint_done(l, &cp);
}

void sy_audit_log_tick(void *ctx, bool final)
{
    apply_sync(ctx);
    checkpoint_now(ctx, final);
}

uint64_t sy_audit_log_size(const sy_audit_log_t *l)
{
    return l->fr.size;
}

/* The compact range from the stored leaves, when the saved one is missing
 * or does not match the record count (a store written by hand, say). */
static int rebuild_cb(void *ctx, const sy_store_row_t *row)
{
    sy_audit_log_t *l = ctx;
    if (row->seq != l->fr.size)
        return SY_EINVAL;
    sy_merkle_frontier_push(&l->fr, &row->leaf);
    return SY_OK;
}

sy_audit_log_t *sy_audit_log_open(sy_store_t *store, sy_signer_t *signer,
                                  const sy_audit_log_opts_t *o, char *err, size_t errsz)
{
    if (errsz)
        err[0] = '\0';
    sy_audit_log_t *l = sy_calloc(1, sizeof(*l));
    l->store = store;
    l->signer = signer;
    l->o = *o;
    if (l->o.batch_max == 0)
        l->o.batch_max = 1;
    sy_buf_init(&l->enc, 0);
    l->cap = l->o.batch_max;
    atomic_init(&l->ckpt_records, l->o.checkpoint_records ? l->o.checkpoint_records : 1);
    atomic_init(&l->ckpt_interval_ms, l->o.checkpoint_interval_ms);
    atomic_init(&l->sync_want, l->o.sync_full);
    l->sync_now = l->o.sync_full;
    l->offs = sy_calloc(l->cap, sizeof(*l->offs));
    l->rows = sy_calloc(l->cap, sizeof(*l->rows));
    sy_ed25519_key_id(sy_signer_public(signer), l->key_id);
    const sy_store_vt_t *vt = store->vt;
    l->shared = vt->lock_tree != NULL;
    uint8_t wid[8];
    if (RAND_bytes(wid, sizeof(wid)) != 1) {
        snprintf(err, errsz, "cannot draw a random writer id");
        goto fail;
    }
    sy_hex(wid, sizeof(wid), l->writer);

    /* One log, one key: checkpoints signed by two keys could not be checked
     * against one public key. Several instances on one log share the key.
     * The first writer binds it (meta_add: two starting at once cannot both
     * bind theirs); everyone then compares with what is stored. */
    sy_buf_t pk;
    sy_buf_init(&pk, 0);
    int rc = vt->meta_add(store, "public_key", sy_signer_public(signer), SY_ED25519_PUB_LEN, err,
                          errsz);
    if (rc == SY_OK)
        rc = vt->meta_get(store, "public_key", &pk, err, errsz);
    if (rc == SY_OK && (pk.len != SY_ED25519_PUB_LEN ||
                        memcmp(sy_buf_ptr(&pk), sy_signer_public(signer), SY_ED25519_PUB_LEN))) {
        char kid[17] = "?";
        if (pk.len == SY_ED25519_PUB_LEN)
            sy_ed25519_key_id((const uint8_t *)sy_buf_ptr(&pk), kid);
        snprintf(err, errsz,
                 "the signing key (key id %s) is not the key this audit log was started with "
                 "(key id %s): restore that key file or start a new log%s",
                 l->key_id, kid,
                 l->shared ? "; every instance writing to one log needs the same key file" : "");
        rc = SY_ERR;
    }
    sy_buf_free(&pk);
    if (rc != SY_OK)
        goto fail;
    if (l->shared) {
        /* The stored compact range is always the one its records left
         * (written in their transaction); the lock gives a consistent view. */
        bool done;
        if (sync_tree(l, 0, &done, err, errsz) != SY_OK)
            goto fail;
        vt->unlock_tree(store);
        l->ckpt_mono_ns = sy_now_ns();
        checkpoint_now(l, true);
        return l;
    }

    uint8_t fbuf[8 + 64 * SY_HASH_LEN];
    size_t flen = 0;
    uint64_t count = 0;
    if (vt->load_frontier(store, fbuf, sizeof(fbuf), &flen, err, errsz) != SY_OK ||
        vt->count(store, &count, err, errsz) != SY_OK)
        goto fail;
    sy_merkle_frontier_init(&l->fr);
    if (flen == 0 || sy_merkle_frontier_decode(&l->fr, fbuf, flen) != SY_OK ||
        l->fr.size != count) {
        sy_merkle_frontier_init(&l->fr);
        if (count) {
            sy_warn("audit: rebuilding the tree state from the stored leaves",
                    "\"records\":%llu", (unsigned long long)count);
            if (vt->scan_records(store, 0, rebuild_cb, l, err, errsz) != SY_OK ||
                l->fr.size != count) {
                if (!*err)
                    snprintf(err, errsz, "the audit log's records are not numbered 0..%llu",
                             (unsigned long long)count - 1);
                goto fail;
            }
        }
    }
    sy_store_checkpoint_t last;
    rc = vt->last_checkpoint(store, &last, err, errsz);
    if (rc == SY_OK)
        l->ckpt_size = last.tree_size;
    else if (rc != SY_ENOTFOUND)
        goto fail;
    l->ckpt_mono_ns = sy_now_ns();
    /* Records no checkpoint covers (the process stopped before signing):
     * sign them now, so the log resumes fully covered. */
    checkpoint_now(l, true);
    return l;
fail:
    sy_audit_log_close(l);
    return NULL;
}

void sy_audit_log_close(sy_audit_log_t *l)
{
    if (l == NULL)
        return;
    sy_store_close(l->store);
    sy_signer_free(l->signer);
    sy_buf_free(&l->enc);
    free(l->offs);
    free(l->rows);
    free(l);
}
