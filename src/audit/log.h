/*
 * log.h - the writer-side half of the audit trail (private to src/audit).
 *
 * It runs on the background writer thread as its sink: numbers each record
 * (seq = leaf index), encodes it canonically, hashes it into the compact
 * range, and appends the batch, the new compact range and, when one is due,
 * a signed checkpoint, in one store transaction. On start it resumes from
 * the store: the compact range comes back from audit_meta, and records that
 * no checkpoint covers yet get one at once.
 */
#ifndef SY_AUDIT_LOG_H
#define SY_AUDIT_LOG_H

#include <stdatomic.h>

#include "audit/record.h"
#include "audit/sign.h"
#include "store/store.h"
#include "store/writer.h"

/* A queued record: one malloc'd block, strings stored after the struct. */
typedef struct {
    sy_writer_item_t hdr;
    sy_audit_record_t rec;
} sy_audit_item_t;

#define SY_AUDIT_BATCH_BUCKETS 8

/* Shared counters: written by the writer thread, read by scrapes. */
typedef struct {
    _Atomic uint64_t written, batches, checkpoints, checkpoint_size, store_errors;
    _Atomic uint64_t lag_last_ns, lag_max_ns, batch_ns_sum;
    _Atomic uint64_t batch_buckets[SY_AUDIT_BATCH_BUCKETS];
} sy_audit_counters_t;

extern const uint64_t sy_audit_batch_bounds_ns[SY_AUDIT_BATCH_BUCKETS];

typedef struct sy_audit_log sy_audit_log_t;

typedef struct {
    uint64_t checkpoint_records;
    uint64_t checkpoint_interval_ms;
    bool sync_full; /* the store's commit durability at open */
    size_t batch_max;
    sy_audit_counters_t *counters;
    /* called after n records were committed (frees their places) */
    void (*release)(void *ctx, size_t n);
    void *release_ctx;
} sy_audit_log_opts_t;

/* Takes ownership of store and signer (also on failure). */
sy_audit_log_t *sy_audit_log_open(sy_store_t *store, sy_signer_t *signer,
                                  const sy_audit_log_opts_t *o, char *err, size_t errsz);
int sy_audit_log_write(void *ctx, sy_writer_item_t **items, size_t n);
void sy_audit_log_tick(void *ctx, bool final);
/* New checkpoint cadence and commit durability (a reload). Any thread: the
 * writer thread takes them before its next batch or tick. */
void sy_audit_log_configure(sy_audit_log_t *l, uint64_t checkpoint_records,
                            uint64_t checkpoint_interval_ms, bool sync_full);
uint64_t sy_audit_log_size(const sy_audit_log_t *l);
void sy_audit_log_close(sy_audit_log_t *l);

#endif
