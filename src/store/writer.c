/*
 * writer.c - the batching loop of the background writer.
 *
 * Sleep/wake protocol. The futex word says what the writer is doing:
 *   AWAKE   working; producers do nothing.
 *   IDLE    no batch open: sleeping until a producer wakes it (or the next
 *           tick). The first push after a batch wakes it.
 *   LINGER  a batch is open and the writer sleeps until its deadline, which
 *           it will keep by itself; a producer wakes it only when the queue
 *           holds enough items to fill the batch (`want`).
 * So a producer makes a system call about once per batch, not per item.
 * No lost wake-ups: the writer publishes its state, then looks at the queue
 * once more, then waits on the futex only while the word still holds that
 * state. A producer pushes, then reads the word (and, lingering, the queue
 * size) and swaps it to AWAKE to wake the writer. Both sides order their
 * store before their load with a sequentially consistent fence, so at least
 * one of them sees the other. A wake-up lost in LINGER (two producers racing
 * over the last places of a batch) costs only latency: the deadline still
 * closes the batch.
 */
#include "store/writer.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/time.h"

struct sy_writer {
    sy_queue_t *q;
    sy_writer_opts_t o;
    sy_writer_sink_t sink;
    pthread_t thread;
    _Atomic uint32_t sleeping; /* the futex word: AWAKE, IDLE or LINGER */
    _Atomic size_t want;       /* LINGER: items that would fill the open batch */
    _Atomic uint64_t wakeups;  /* FUTEX_WAKE calls made by producers */
    atomic_bool stopping;
    atomic_bool paused;
    sy_writer_item_t **batch;
    size_t batch_cap;
    /* sy_writer_set_opts: the next options, taken by the writer thread */
    pthread_mutex_t next_lock;
    sy_writer_opts_t next;
    atomic_bool reconfigure;
};

enum { AWAKE = 0, IDLE = 1, LINGER = 2 };

static void futex_wait(_Atomic uint32_t *word, uint32_t expect, uint64_t timeout_ns)
{
    struct timespec ts = {(time_t)(timeout_ns / 1000000000u), (long)(timeout_ns % 1000000000u)};
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expect, &ts, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void sy_writer_wake(sy_writer_t *w)
{
    atomic_thread_fence(memory_order_seq_cst);
    uint32_t s = atomic_load_explicit(&w->sleeping, memory_order_relaxed);
    if (s == AWAKE)
        return;
    if (s == LINGER &&
        sy_queue_size(w->q) < atomic_load_explicit(&w->want, memory_order_relaxed))
        return; /* the batch's deadline will wake it */
    if (atomic_exchange(&w->sleeping, (uint32_t)AWAKE) != AWAKE) {
        atomic_fetch_add_explicit(&w->wakeups, 1, memory_order_relaxed);
        futex_wake(&w->sleeping);
    }
}

uint64_t sy_writer_wakeups(const sy_writer_t *w)
{
    return atomic_load_explicit(&w->wakeups, memory_order_relaxed);
}

static sy_writer_item_t *pop(sy_writer_t *w)
{
    if (atomic_load_explicit(&w->paused, memory_order_relaxed))
        return NULL;
    return sy_queue_pop(w->q);
}

/* Sleep in `state` (IDLE or LINGER) until a producer wakes us or timeout_ns
 * pass, unless an item arrived meanwhile: returns it (popped) in that case. */
static sy_writer_item_t *wait_for_item(sy_writer_t *w, uint32_t state, uint64_t timeout_ns)
{
    atomic_store(&w->sleeping, state);
    atomic_thread_fence(memory_order_seq_cst);
    sy_writer_item_t *it = pop(w);
    if (it == NULL && !atomic_load(&w->stopping))
        futex_wait(&w->sleeping, state, timeout_ns);
    atomic_store(&w->sleeping, (uint32_t)AWAKE);
    return it;
}

static void write_batch(sy_writer_t *w, size_t n)
{
    while (w->sink.write(w->sink.ctx, w->batch, n) != SY_OK) {
        /* Keep the batch and try again; the queue absorbs what arrives. */
        struct timespec ts = {(time_t)(w->o.retry_ms / 1000), (long)(w->o.retry_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
}

static void apply_opts(sy_writer_t *w)
{
    pthread_mutex_lock(&w->next_lock);
    atomic_store(&w->reconfigure, false);
    w->o.batch_max = w->next.batch_max ? w->next.batch_max : 1;
    w->o.linger_ms = w->next.linger_ms;
    if (w->next.tick_ms)
        w->o.tick_ms = w->next.tick_ms;
    pthread_mutex_unlock(&w->next_lock);
    if (w->o.batch_max > w->batch_cap) {
        w->batch = sy_realloc(w->batch, w->o.batch_max * sizeof(*w->batch));
        w->batch_cap = w->o.batch_max;
    }
}

void sy_writer_set_opts(sy_writer_t *w, const sy_writer_opts_t *opts)
{
    pthread_mutex_lock(&w->next_lock);
    w->next = *opts;
    atomic_store(&w->reconfigure, true);
    pthread_mutex_unlock(&w->next_lock);
}

static void *writer_main(void *arg)
{
    sy_writer_t *w = arg;
    uint64_t tick_ns = w->o.tick_ms * 1000000u, linger_ns = w->o.linger_ms * 1000000u;
    uint64_t next_tick = sy_now_ns() + tick_ns;
    for (;;) {
        if (atomic_load_explicit(&w->reconfigure, memory_order_relaxed)) {
            apply_opts(w);
            tick_ns = w->o.tick_ms * 1000000u;
            linger_ns = w->o.linger_ms * 1000000u;
            next_tick = SY_MIN(next_tick, sy_now_ns() + tick_ns);
        }
        bool stopping = atomic_load(&w->stopping);
        sy_writer_item_t *first = pop(w);
        uint64_t now = sy_now_ns();
        if (now >= next_tick) {
            w->sink.tick(w->sink.ctx, false);
            next_tick = now + tick_ns;
        }
        if (first == NULL) {
            if (stopping && sy_queue_size(w->q) == 0)
                break;
            first = wait_for_item(w, IDLE, next_tick > now ? next_tick - now : 1000000u);
            if (first == NULL)
                continue;
        }
        /* A batch: until batch_max items, or linger after the oldest. */
        size_t n = 0;
        w->batch[n++] = first;
        uint64_t deadline = first->enqueued_ns + linger_ns;
        while (n < w->o.batch_max) {
            sy_writer_item_t *it = pop(w);
            if (it) {
                w->batch[n++] = it;
                continue;
            }
            now = sy_now_ns();
            if (now >= deadline || atomic_load(&w->stopping))
                break;
            atomic_store_explicit(&w->want, w->o.batch_max - n, memory_order_relaxed);
            it = wait_for_item(w, LINGER, deadline - now);
            if (it)
                w->batch[n++] = it;
        }
        write_batch(w, n);
    }
    w->sink.tick(w->sink.ctx, true);
    return NULL;
}

sy_writer_t *sy_writer_start(sy_queue_t *q, const sy_writer_opts_t *opts,
                             const sy_writer_sink_t *sink)
{
    sy_writer_t *w = sy_calloc(1, sizeof(*w));
    w->q = q;
    w->o = *opts;
    if (w->o.batch_max == 0)
        w->o.batch_max = 1;
    if (w->o.tick_ms == 0)
        w->o.tick_ms = 1000;
    if (w->o.retry_ms == 0)
        w->o.retry_ms = 1000;
    w->sink = *sink;
    w->batch = sy_calloc(w->o.batch_max, sizeof(*w->batch));
    w->batch_cap = w->o.batch_max;
    pthread_mutex_init(&w->next_lock, NULL);
    atomic_init(&w->reconfigure, false);
    atomic_init(&w->sleeping, (uint32_t)AWAKE);
    atomic_init(&w->want, w->o.batch_max);
    atomic_init(&w->wakeups, 0u);
    atomic_init(&w->stopping, false);
    atomic_init(&w->paused, false);
    int rc = pthread_create(&w->thread, NULL, writer_main, w);
    if (rc != 0)
        sy_panic("writer: cannot start the thread (%d)", rc);
    return w;
}

void sy_writer_pause(sy_writer_t *w, bool paused)
{
    atomic_store(&w->paused, paused);
    if (!paused) {
        atomic_store(&w->sleeping, (uint32_t)IDLE); /* force a wake */
        sy_writer_wake(w);
    }
}

void sy_writer_stop(sy_writer_t *w)
{
    if (w == NULL)
        return;
    atomic_store(&w->paused, false); /* stopping always drains */
    atomic_store(&w->stopping, true);
    atomic_store(&w->sleeping, (uint32_t)IDLE);
    sy_writer_wake(w);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->next_lock);
    free(w->batch);
    free(w);
}
