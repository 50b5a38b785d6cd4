/*
 * loop.h - the per-worker event loop: epoll, timers, deferred calls, wakeups.
 *
 * One loop per worker thread; nothing in it is thread-safe except
 * sy_loop_wake(). Handles (sy_io_t, sy_timer_t, sy_defer_t) are owned by the
 * caller, usually embedded in a connection struct; the loop only links them.
 * Close contract: stop a handle before freeing the memory that holds it.
 *
 * One turn of sy_loop_run(), written out in that function in this order:
 *   1. run expired timers;
 *   2. run deferred calls (work queued for "before sleeping", such as
 *      flushing responses batched from pipelined requests);
 *   3. wait in epoll_wait until the next timer is due (or forever);
 *   4. update the cached clock (the turn's one clock read);
 *   5. dispatch I/O callbacks; wakeups from other threads arrive here too.
 *
 * Time. The cached clock is what the loop read after its last wait (or what
 * the last sy_loop_update_time() read, whichever is later): "when the event
 * being handled was seen". Marks that only need that (timers, circuit and
 * rate windows, when a response arrived) read it for free; a mark that
 * closes a duration whose length matters (when a request left for its
 * upstream, when the answer was done) calls sy_loop_update_time(), which
 * also moves the cache on for the marks after it. The cache never goes
 * back: every reading is CLOCK_MONOTONIC on the loop's one thread.
 */
#ifndef SY_CORE_LOOP_H
#define SY_CORE_LOOP_H

#include <sys/epoll.h>
#include "core/common.h"

typedef struct sy_loop sy_loop_t;
typedef struct sy_io sy_io_t;
typedef struct sy_timer sy_timer_t;
typedef struct sy_defer sy_defer_t;

enum {
    SY_IO_READ = EPOLLIN,
    SY_IO_WRITE = EPOLLOUT,
    SY_IO_RDHUP = EPOLLRDHUP, /* peer closed its writing side */
    SY_IO_ERR = EPOLLERR | EPOLLHUP,
};

typedef void (*sy_io_cb)(sy_io_t *io, uint32_t events);
typedef void (*sy_timer_cb)(sy_timer_t *t);
typedef void (*sy_defer_cb)(sy_defer_t *d);
typedef void (*sy_wake_cb)(sy_loop_t *loop, void *data);

/* A file descriptor watched for readiness (level-triggered). */
struct sy_io {
    sy_loop_t *loop;
    int fd;
    uint32_t events; /* currently registered SY_IO_* mask; 0 = not registered */
    sy_io_cb cb;
    void *data;
};

/* A one-shot timer; restart it from its callback for periodic work. */
struct sy_timer {
    sy_loop_t *loop;
    uint64_t when;    /* due time, loop clock (ms) */
    uint64_t seq;     /* FIFO order among equal due times */
    size_t heap_idx;  /* position in the heap + 1; 0 = not active */
    sy_timer_cb cb;
    void *data;
};

/* A call to make once, before the loop next sleeps. */
struct sy_defer {
    sy_defer_t *next, *prev; /* the loop's queue (O(1) cancel) */
    bool queued;
    sy_defer_cb cb;
    void *data;
};

sy_loop_t *sy_loop_new(void);
void sy_loop_free(sy_loop_t *loop);
/* Run until sy_loop_stop(). Returns 0, or a negative error if epoll fails. */
int sy_loop_run(sy_loop_t *loop);
void sy_loop_stop(sy_loop_t *loop);
/* The cached monotonic clock (see "Time" above). Every loop starts with
 * one, so these read it inline. */
typedef struct {
    uint64_t ms, ns;
} sy_loop_clock_t;
static inline uint64_t sy_loop_now(const sy_loop_t *loop)
{
    return ((const sy_loop_clock_t *)(const void *)loop)->ms;
}
static inline uint64_t sy_loop_now_ns(const sy_loop_t *loop)
{
    return ((const sy_loop_clock_t *)(const void *)loop)->ns;
}
/* Read the clock now into the cache; returns it in nanoseconds. */
uint64_t sy_loop_update_time(sy_loop_t *loop);

/* Thread-safe: make the loop call cb(loop, data) from its own thread soon.
 * Several wakes before the loop runs coalesce into one call. */
void sy_loop_on_wake(sy_loop_t *loop, sy_wake_cb cb, void *data);
void sy_loop_wake(sy_loop_t *loop);

int sy_io_start(sy_loop_t *loop, sy_io_t *io, int fd, uint32_t events, sy_io_cb cb, void *data);
int sy_io_set(sy_io_t *io, uint32_t events); /* change the mask; 0 unregisters */
void sy_io_stop(sy_io_t *io);                /* unregisters; does not close fd */

void sy_timer_init(sy_timer_t *t, sy_loop_t *loop, sy_timer_cb cb, void *data);
void sy_timer_start(sy_timer_t *t, uint64_t after_ms); /* (re)arms */
void sy_timer_stop(sy_timer_t *t);
static inline bool sy_timer_active(const sy_timer_t *t) { return t->heap_idx != 0; }

void sy_defer_init(sy_defer_t *d, sy_defer_cb cb, void *data);
void sy_defer(sy_loop_t *loop, sy_defer_t *d); /* no-op if already queued */
void sy_defer_cancel(sy_loop_t *loop, sy_defer_t *d);
/* Run queued deferred calls now (used at teardown, after the loop stopped). */
void sy_loop_run_deferred(sy_loop_t *loop);

#endif
