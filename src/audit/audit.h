/*
 * audit.h - the audit trail: one tamper-evident record per request.
 *
 * The request path's side (this header) never waits for I/O:
 *   1. sy_audit_begin() when a request is admitted reserves a place for its
 *      record among audit.queue_capacity (records admitted and not yet
 *      written). If none is free it retries for at most audit.queue_full_wait
 *      (brief back-pressure), then returns SY_EAGAIN and the caller refuses
 *      the request with 503: a request that could not be recorded is never
 *      served, and the refusal is counted in switchyard_audit_queue_full_total.
 *   2. sy_audit_response_bytes() as response body bytes go to the client
 *      (a stream is hashed as it is sent).
 *   3. sy_audit_submit() when the request finishes: copies the record into
 *      one allocation and pushes it on the lock-free queue. The reserved
 *      place guarantees the push succeeds.
 * The background writer (store/writer.h, audit/log.c) batches records into
 * the store, extends the RFC 6962 tree and signs checkpoints.
 *
 * A handle lives in the request's arena. Every function accepts a NULL
 * handle (audit disabled) and does nothing with it.
 */
#ifndef SY_AUDIT_AUDIT_H
#define SY_AUDIT_AUDIT_H

#include "audit/record.h"
#include "config/config.h"
#include "core/arena.h"
#include "obs/access.h"

typedef struct sy_audit_req sy_audit_req_t;

/*
 * Start the audit log of configuration c (no-op returning SY_OK when
 * audit.enabled is false): open the store, load or create the signing key,
 * resume the tree, start the writer thread. SY_ERR with a message otherwise.
 * sy_audit_reload() applies what may change while running.
 */
int sy_audit_start(const sy_config_t *c, char *err, size_t errsz);
/*
 * A reloaded configuration (SIGHUP): flush_interval, batch_records,
 * checkpoint_records, checkpoint_interval, content, max_content_bytes,
 * queue_full_wait and synchronous apply from now on (request-path settings
 * to requests admitted from now). What cannot change while running (the
 * store, signing_key_file, queue_capacity, enabled) keeps its running value
 * and is refused with a logged error naming the setting.
 */
void sy_audit_reload(const sy_config_t *c);
/* Write every queued record, sign a final checkpoint, stop the writer.
 * Call after the workers have stopped. */
void sy_audit_stop(void);
bool sy_audit_enabled(void);

/* Admission (above). *out is NULL when the audit log is off. */
int sy_audit_begin(sy_arena_t *arena, sy_audit_req_t **out);
/*
 * Admission for a request refused before it reaches a front door's handler
 * (authentication): its record may take a place only while fewer than half
 * of audit.queue_capacity are held, and never waits. The other half stays
 * for authenticated requests, so a flood of unauthenticated requests cannot
 * crowd them out, and the worker never sleeps on their account. SY_EAGAIN
 * when no such place is free: the caller answers 503 with Retry-After (the
 * same answer and the same counter as a full queue) instead of its refusal,
 * so every refusal a client sees has its record.
 */
int sy_audit_begin_refusal(sy_arena_t *arena, sy_audit_req_t **out);
/* Who made the request (copied). Empty views leave a field empty. */
void sy_audit_set_principal(sy_audit_req_t *a, sy_str_t key_id, sy_str_t team_id,
                            sy_str_t org_id);
/* Append a policy verdict such as "guardrail:pii:redacted" (copied). */
void sy_audit_add_verdict(sy_audit_req_t *a, sy_str_t verdict);
/* Response body bytes sent to the client, in order. */
void sy_audit_response_bytes(sy_audit_req_t *a, const void *p, size_t n);
/*
 * The request is finished: record what `e` says (the access-log entry), the
 * deployment's provider (region, jurisdiction; NULL when none was tried) and
 * the request body. Only the first call per handle counts.
 */
void sy_audit_submit(sy_audit_req_t *a, const sy_access_entry_t *e,
                     const sy_config_provider_t *provider, sy_str_t request_body);

/* Append the switchyard_audit_* metric families (Prometheus text). */
void sy_audit_metrics_render(sy_buf_t *out);

/* Counters, for tests and metrics. */
typedef struct {
    uint64_t queue_full, written, batches, checkpoints, checkpoint_size, store_errors,
        unsubmitted;
    uint64_t reserved, queued, capacity;
    uint64_t lag_last_ns, lag_max_ns, batch_ns_sum;
} sy_audit_stats_t;
void sy_audit_stats(sy_audit_stats_t *out);
/* Tests: stop the writer from popping (the queue fills up) or let it go on. */
void sy_audit_test_pause(bool paused);

#endif
