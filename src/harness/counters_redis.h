/*
 * counters_redis.h - the shared counter backend: the same windows as the
 * in-process one (harness/counters.h), kept in Redis and changed only by two
 * Lua scripts, so every instance pointing at the server sees one exact count.
 *
 * Each worker has its own connection (hiredis's asynchronous API driven by
 * the worker's epoll loop): a reservation is one EVALSHA whose reply resumes
 * the request; nothing ever blocks the loop. Time comes from the server
 * (TIME inside the script), so instances with skewed clocks still share one
 * sliding minute.
 *
 * Keys (docs/internals/governance.md):
 *   sy:{<principal>}:rpm, :tpm        hash: unix second -> amount, expiring
 *                                     62 s after the last write
 *   sy:{<principal>}:b:<win>:<idx>    hash: settled spend and outstanding
 *                                     reservations (pico-dollars as a pair of
 *                                     millions and units: Lua numbers are
 *                                     doubles, exact only to 2^53), one field
 *                                     per open reservation
 *   ...:b:<win>:<idx>:e               sorted set: open reservations by expiry
 * A reservation nobody settles (its instance died) is released by the next
 * reserve after governance.reservation_ttl.
 *
 * Failure: a reply slower than governance.counters_timeout, or a broken
 * connection, makes the batch UNAVAILABLE (the caller applies the
 * counters_failure mode) and the connection is dropped and reopened with
 * backoff (100 ms doubling to 5 s). A reservation whose reply arrives after
 * its request gave up on it is released at once.
 */
#ifndef SY_HARNESS_COUNTERS_REDIS_H
#define SY_HARNESS_COUNTERS_REDIS_H

#include "config/config.h"
#include "core/loop.h"
#include "harness/counters.h"

typedef struct sy_redis_conn sy_redis_conn_t;
typedef struct sy_redis_op sy_redis_op_t;

/* Connect (asynchronously) to the server of `c`; `addr` is its resolved
 * numeric address. */
sy_redis_conn_t *sy_redis_conn_new(sy_loop_t *loop, const sy_config_counters_t *c, const char *addr,
                                   uint64_t timeout_ms, uint64_t reservation_ttl_ms);
void sy_redis_conn_free(sy_redis_conn_t *rc);
bool sy_redis_conn_up(const sy_redis_conn_t *rc);

/* Called once with the batch's results filled in (b->result), unless the
 * op was cancelled first. */
typedef void (*sy_redis_done_cb)(void *ctx, sy_ctr_batch_t *b);

/* Start reserving b (its ops and id filled). Returns the op (to cancel),
 * or NULL after calling cb synchronously (not connected: UNAVAILABLE). */
sy_redis_op_t *sy_redis_reserve(sy_redis_conn_t *rc, sy_ctr_batch_t *b, uint64_t now_ms,
                                sy_redis_done_cb cb, void *ctx);
/* The request no longer waits: cb will not be called; whatever the reply
 * took is given back when it arrives. */
void sy_redis_cancel(sy_redis_op_t *op);
/* Settle every taken op of b with used[i] (fire and forget). */
void sy_redis_settle(sy_redis_conn_t *rc, const sy_ctr_batch_t *b, const uint64_t *used);

/* The scripts' SHA-1 (for tests) and the key name of op i of b. */
const char *sy_redis_script_text(int which); /* 0 reserve, 1 settle */
int sy_redis_key_name(const sy_ctr_op_t *o, char *out, size_t outsz);

#endif
