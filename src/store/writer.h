/*
 * writer.h - the background writer thread: drains a bounded queue in
 * batches, off the request path.
 *
 * Producers (workers) push items on a sy_queue_t and call sy_writer_wake();
 * the writer pops them and hands them to its sink in batches: a batch closes
 * when it holds `batch_max` items or when `linger_ms` have passed since its
 * oldest item was pushed (sy_writer_item_t.enqueued_ns), whichever comes
 * first. So an item waits at most linger_ms plus one sink call before it is
 * written, as long as the sink keeps up.
 *
 * A failed sink call keeps the batch: the writer waits retry_ms and calls
 * again with the same items. Nothing is dropped; if the store stays down the
 * queue fills and the producers' own policy applies.
 *
 * Waking costs producers nothing while the writer is busy or lingering over
 * an open batch (it keeps the batch's deadline by itself): a push makes a
 * FUTEX_WAKE system call only when the writer sleeps with no batch open, or
 * when the queue holds enough items to fill the open batch. That is about
 * one system call per batch, not one per item.
 */
#ifndef SY_STORE_WRITER_H
#define SY_STORE_WRITER_H

#include "core/queue.h"

/* Every queued item starts with this header. */
typedef struct {
    uint64_t enqueued_ns; /* sy_now_ns() when pushed */
} sy_writer_item_t;

typedef struct {
    /* Write items[0..n) (oldest first) durably: SY_OK, or anything else to
     * have the same batch offered again after retry_ms. On SY_OK the items
     * belong to the sink. */
    int (*write)(void *ctx, sy_writer_item_t **items, size_t n);
    /* Called about every tick_ms on the writer thread (timers such as
     * checkpoints), and once more after the final batch when stopping. */
    void (*tick)(void *ctx, bool final);
    void *ctx;
} sy_writer_sink_t;

typedef struct {
    size_t batch_max;
    uint64_t linger_ms;
    uint64_t tick_ms;
    uint64_t retry_ms;
} sy_writer_opts_t;

typedef struct sy_writer sy_writer_t;

/* Start the thread. The queue must outlive the writer. */
sy_writer_t *sy_writer_start(sy_queue_t *q, const sy_writer_opts_t *opts,
                             const sy_writer_sink_t *sink);
/* After a push: wake the writer if it sleeps. Lock-free; any thread. */
void sy_writer_wake(sy_writer_t *w);
/* FUTEX_WAKE calls producers have made (tests, metrics). */
uint64_t sy_writer_wakeups(const sy_writer_t *w);
/* New batch_max, linger_ms and tick_ms for a running writer (a reload;
 * retry_ms stays): it applies them before its next batch. Any thread. */
void sy_writer_set_opts(sy_writer_t *w, const sy_writer_opts_t *opts);
/* Write everything still queued, call tick(final=true), join, free. */
void sy_writer_stop(sy_writer_t *w);
/* Tests: a paused writer pops nothing (the queue fills). */
void sy_writer_pause(sy_writer_t *w, bool paused);

#endif
