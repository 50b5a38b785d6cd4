/*
 * loop.c - epoll event loop with a binary min-heap of timers.
 */
#include "core/loop.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/log.h"
#include "core/time.h"

#define SY_LOOP_MAX_EVENTS 256

struct sy_loop {
    sy_loop_clock_t clock; /* first: loop.h reads it inline */
    int epfd;
    bool stop;
    uint64_t timer_seq;
    sy_timer_t **heap;
    size_t heap_len, heap_cap;
    sy_defer_t *defer_head, *defer_tail;
    sy_defer_t *batch_end; /* last call of the batch being run */
    /* cross-thread wakeup */
    sy_io_t wake_io;
    int wake_fd;
    _Atomic bool wake_pending;
    sy_wake_cb wake_cb;
    void *wake_data;
};

/* ---- timers: min-heap ordered by (when, seq) ---- */

static bool timer_before(const sy_timer_t *a, const sy_timer_t *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_set(sy_loop_t *l, size_t i, sy_timer_t *t)
{
    l->heap[i] = t;
    t->heap_idx = i + 1;
}

static void heap_up(sy_loop_t *l, size_t i)
{
    sy_timer_t *t = l->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, l->heap[parent]))
            break;
        heap_set(l, i, l->heap[parent]);
        i = parent;
    }
    heap_set(l, i, t);
}

static void heap_down(sy_loop_t *l, size_t i)
{
    sy_timer_t *t = l->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->heap_len)
            break;
        if (c + 1 < l->heap_len && timer_before(l->heap[c + 1], l->heap[c]))
            c++;
        if (!timer_before(l->heap[c], t))
            break;
        heap_set(l, i, l->heap[c]);
        i = c;
    }
    heap_set(l, i, t);
}

void sy_timer_init(sy_timer_t *t, sy_loop_t *loop, sy_timer_cb cb, void *data)
{
    memset(t, 0, sizeof(*t));
    t->loop = loop;
    t->cb = cb;
    t->data = data;
}

void sy_timer_stop(sy_timer_t *t)
{
    if (!t->heap_idx)
        return;
    sy_loop_t *l = t->loop;
    size_t i = t->heap_idx - 1;
    t->heap_idx = 0;
    l->heap_len--;
    if (i == l->heap_len)
        return;
    sy_timer_t *last = l->heap[l->heap_len];
    heap_set(l, i, last);
    if (i > 0 && timer_before(last, l->heap[(i - 1) / 2]))
        heap_up(l, i);
    else
        heap_down(l, i);
}

void sy_timer_start(sy_timer_t *t, uint64_t after_ms)
{
    sy_loop_t *l = t->loop;
    uint64_t when = l->clock.ms + after_ms;
    if (t->heap_idx) {
        /* Re-armed while pending (an I/O timeout pushed back on each read
         * and write): its key changes where it stands, sifted down when
         * later (the new seq makes an equal due time later too), up when
         * earlier. Timers run in (when, seq) order, the same as after a
         * stop and a start, without taking it out and putting it back. */
        size_t i = t->heap_idx - 1;
        bool later = when >= t->when;
        t->when = when;
        t->seq = l->timer_seq++;
        if (later)
            heap_down(l, i);
        else
            heap_up(l, i);
        return;
    }
    t->when = when;
    t->seq = l->timer_seq++;
    if (l->heap_len == l->heap_cap) {
        l->heap_cap = l->heap_cap ? l->heap_cap * 2 : 64;
        l->heap = sy_realloc(l->heap, l->heap_cap * sizeof(*l->heap));
    }
    l->heap[l->heap_len] = t;
    t->heap_idx = ++l->heap_len;
    heap_up(l, l->heap_len - 1);
}

static void run_timers(sy_loop_t *l)
{
    while (l->heap_len && l->heap[0]->when <= l->clock.ms) {
        sy_timer_t *t = l->heap[0];
        sy_timer_stop(t);
        t->cb(t);
    }
}

/* ---- deferred calls ----
 *
 * One doubly-linked queue. A run takes the calls queued when it starts (up
 * to batch_end); calls queued while it runs are appended after them and
 * wait for the next run, which also happens before the loop sleeps. A call
 * may cancel any other, including one later in the batch being run: it is
 * unlinked from the one queue, so the rest of the batch still runs. (With
 * the batch detached into a separate list, a cancel from inside a callback
 * used to cut that list, and the calls behind the cancelled one were lost
 * while still marked queued, so they could never be queued again: a
 * connection's flush could stall for good.) */

static void run_deferred(sy_loop_t *l);

void sy_defer_init(sy_defer_t *d, sy_defer_cb cb, void *data)
{
    d->next = d->prev = NULL;
    d->queued = false;
    d->cb = cb;
    d->data = data;
}

void sy_defer(sy_loop_t *l, sy_defer_t *d)
{
    if (d->queued)
        return;
    d->queued = true;
    d->next = NULL;
    d->prev = l->defer_tail;
    if (l->defer_tail)
        l->defer_tail->next = d;
    else
        l->defer_head = d;
    l->defer_tail = d;
}

static void defer_unlink(sy_loop_t *l, sy_defer_t *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else
        l->defer_head = d->next;
    if (d->next)
        d->next->prev = d->prev;
    else
        l->defer_tail = d->prev;
    d->next = d->prev = NULL;
    d->queued = false;
}

void sy_defer_cancel(sy_loop_t *l, sy_defer_t *d)
{
    if (!d->queued)
        return;
    if (l->batch_end == d)
        l->batch_end = d->prev; /* an earlier call of the batch, or none left */
    defer_unlink(l, d);
}

void sy_loop_run_deferred(sy_loop_t *l)
{
    while (l->defer_head)
        run_deferred(l);
}

static void run_deferred(sy_loop_t *l)
{
    l->batch_end = l->defer_tail;
    while (l->batch_end) {
        sy_defer_t *d = l->defer_head;
        if (d == l->batch_end)
            l->batch_end = NULL;
        defer_unlink(l, d);
        d->cb(d);
    }
}

/* ---- I/O ---- */

int sy_io_start(sy_loop_t *loop, sy_io_t *io, int fd, uint32_t events, sy_io_cb cb, void *data)
{
    io->loop = loop;
    io->fd = fd;
    io->events = 0;
    io->cb = cb;
    io->data = data;
    return sy_io_set(io, events);
}

int sy_io_set(sy_io_t *io, uint32_t events)
{
    if (events == io->events)
        return SY_OK;
    struct epoll_event ev = {.events = events, .data.ptr = io};
    int op = io->events == 0 ? EPOLL_CTL_ADD : (events == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD);
    if (epoll_ctl(io->loop->epfd, op, io->fd, &ev) < 0)
        return SY_ERR;
    io->events = events;
    return SY_OK;
}

void sy_io_stop(sy_io_t *io)
{
    if (io->loop && io->events)
        sy_io_set(io, 0);
}

/* ---- the loop ---- */

static void wake_read_cb(sy_io_t *io, uint32_t events)
{
    SY_UNUSED(events);
    sy_loop_t *l = io->data;
    uint64_t v;
    while (read(l->wake_fd, &v, sizeof(v)) > 0) {
    }
    atomic_store(&l->wake_pending, false);
    if (l->wake_cb)
        l->wake_cb(l, l->wake_data);
}

sy_loop_t *sy_loop_new(void)
{
    sy_loop_t *l = sy_calloc(1, sizeof(*l));
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->epfd < 0 || l->wake_fd < 0)
        sy_panic("cannot create event loop: %s", strerror(errno));
    sy_loop_update_time(l);
    if (sy_io_start(l, &l->wake_io, l->wake_fd, SY_IO_READ, wake_read_cb, l) != SY_OK)
        sy_panic("cannot register wakeup fd: %s", strerror(errno));
    return l;
}

void sy_loop_free(sy_loop_t *l)
{
    if (!l)
        return;
    sy_io_stop(&l->wake_io);
    close(l->wake_fd);
    close(l->epfd);
    free(l->heap);
    free(l);
}

void sy_loop_on_wake(sy_loop_t *l, sy_wake_cb cb, void *data)
{
    l->wake_cb = cb;
    l->wake_data = data;
}

void sy_loop_wake(sy_loop_t *l)
{
    if (atomic_exchange(&l->wake_pending, true))
        return;
    uint64_t one = 1;
    ssize_t w = write(l->wake_fd, &one, sizeof(one));
    SY_UNUSED(w); /* a full eventfd counter still wakes the loop */
}

void sy_loop_stop(sy_loop_t *l) { l->stop = true; }

uint64_t sy_loop_update_time(sy_loop_t *l)
{
    uint64_t ns = sy_now_ns();
    l->clock.ns = ns;
    l->clock.ms = ns / 1000000u;
    return ns;
}

int sy_loop_run(sy_loop_t *l)
{
    struct epoll_event events[SY_LOOP_MAX_EVENTS];
    l->stop = false;
    /* The clock is read once per turn, right after the wait, as nginx does:
     * timers, the sleep's length and the callbacks' marks all use that
     * reading, and a mark that must be exact reads it afresh with
     * sy_loop_update_time(). So a timer armed during a turn counts from
     * the turn's start, and one that falls due during a turn's work runs
     * at the next turn: either way it is off by at most one turn's work
     * (microseconds; timeouts are in milliseconds and more), as in nginx. */
    sy_loop_update_time(l);
    while (!l->stop) {
        run_timers(l);
        run_deferred(l);
        if (l->stop)
            break;
        int timeout = -1;
        if (l->defer_head)
            timeout = 0;
        else if (l->heap_len) {
            uint64_t due = l->heap[0]->when;
            timeout = due <= l->clock.ms ? 0 : (int)SY_MIN(due - l->clock.ms, (uint64_t)60000);
        }
        int n = epoll_wait(l->epfd, events, SY_LOOP_MAX_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR) {
                sy_loop_update_time(l);
                continue;
            }
            sy_error("epoll_wait failed", "\"errno\":%d", errno);
            return SY_ERR;
        }
        sy_loop_update_time(l);
        for (int i = 0; i < n; i++) {
            sy_io_t *io = events[i].data.ptr;
            /* A callback earlier in this batch may have stopped this handle. */
            if (io->events == 0)
                continue;
            io->cb(io, events[i].events);
        }
    }
    return SY_OK;
}
