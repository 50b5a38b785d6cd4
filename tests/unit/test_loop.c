/* Unit tests for the event loop (timers, deferred calls, I/O, wakeups), the
 * hash map, the bounded queue and the logger. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>

#include "unit.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/map.h"
#include "core/queue.h"
#include "core/time.h"

/* ---- timers ---- */

static int fired[16], nfired;
static void record_cb(sy_timer_t *t)
{
    fired[nfired++] = (int)(intptr_t)t->data;
    if (nfired >= 4)
        sy_loop_stop(t->loop);
}

static void test_timer_order(void)
{
    sy_loop_t *l = sy_loop_new();
    sy_timer_t t[5];
    nfired = 0;
    uint64_t t0 = sy_loop_now(l); /* timers count from the loop's cached clock */
    /* due times 30, 10, 20, 10 (FIFO among equals), and one cancelled */
    sy_timer_init(&t[0], l, record_cb, (void *)0);
    sy_timer_init(&t[1], l, record_cb, (void *)1);
    sy_timer_init(&t[2], l, record_cb, (void *)2);
    sy_timer_init(&t[3], l, record_cb, (void *)3);
    sy_timer_init(&t[4], l, record_cb, (void *)4);
    sy_timer_start(&t[0], 30);
    sy_timer_start(&t[1], 10);
    sy_timer_start(&t[2], 20);
    sy_timer_start(&t[3], 10);
    sy_timer_start(&t[4], 5);
    sy_timer_stop(&t[4]);
    CHECK(!sy_timer_active(&t[4]));
    sy_loop_run(l);
    uint64_t el = sy_now_ms() - t0;
    CHECK_INT(nfired, 4);
    CHECK_INT(fired[0], 1);
    CHECK_INT(fired[1], 3);
    CHECK_INT(fired[2], 2);
    CHECK_INT(fired[3], 0);
    CHECK(el >= 29 && el < 1000);
    sy_loop_free(l);
}

/* Many timers started and stopped at random keep the heap consistent. */
static sy_timer_t many[512];
static uint64_t last_due;
static int many_fired;
static bool order_ok;
static void many_cb(sy_timer_t *t)
{
    if (t->when < last_due)
        order_ok = false;
    last_due = t->when;
    many_fired++;
}

static void stop_loop_cb(sy_timer_t *t) { sy_loop_stop(t->loop); }

static void test_timer_heap_fires_in_order(void)
{
    sy_loop_t *l = sy_loop_new();
    srand(11);
    int active = 0;
    for (int i = 0; i < 512; i++) {
        sy_timer_init(&many[i], l, many_cb, NULL);
        sy_timer_start(&many[i], (uint64_t)(rand() % 40));
    }
    for (int i = 0; i < 512; i += 3)
        sy_timer_stop(&many[i]);
    for (int i = 0; i < 512; i += 7)
        sy_timer_start(&many[i], (uint64_t)(rand() % 40));
    for (int i = 0; i < 512; i++)
        active += sy_timer_active(&many[i]);
    sy_timer_t stopper;
    sy_timer_init(&stopper, l, stop_loop_cb, NULL);
    sy_timer_start(&stopper, 100);
    order_ok = true;
    last_due = 0;
    many_fired = 0;
    sy_loop_run(l);
    CHECK_INT(many_fired, active);
    CHECK(order_ok);
    sy_loop_free(l);
}

/* ---- deferred calls ---- */

static int defer_count;
static sy_defer_t d1, d2;
static void defer_again_cb(sy_defer_t *d)
{
    defer_count++;
    if (defer_count < 3)
        sy_defer((sy_loop_t *)d->data, d); /* re-queue: runs in a later batch */
    else
        sy_loop_stop((sy_loop_t *)d->data);
}
static void defer_never_cb(sy_defer_t *d)
{
    SY_UNUSED(d);
    defer_count += 100;
}

/* Timers re-armed while pending (sy_timer_start on an active timer changes
 * its key in place) run in the order a stop and a fresh start would give:
 * ascending due time, and among equal due times the order of their last
 * start. Random starts, re-starts (earlier, later, the same due time) and
 * stops against a model of (due time, start order). */
#define REARM_N 64
static sy_timer_t rearm[REARM_N];
static int rearm_fired[REARM_N], rearm_nfired;
static void rearm_cb(sy_timer_t *t) { rearm_fired[rearm_nfired++] = (int)(intptr_t)t->data; }

static void test_timer_rearm_order(void)
{
    for (int round = 0; round < 20; round++) {
        sy_loop_t *l = sy_loop_new();
        uint64_t t0 = sy_loop_now(l);
        uint64_t due[REARM_N], order[REARM_N], seq = 0;
        bool on[REARM_N];
        srand((unsigned)round + 100);
        for (int i = 0; i < REARM_N; i++) {
            sy_timer_init(&rearm[i], l, rearm_cb, (void *)(intptr_t)i);
            on[i] = false;
        }
        for (int op = 0; op < 600; op++) {
            int i = rand() % REARM_N;
            if (rand() % 5 == 0) {
                sy_timer_stop(&rearm[i]);
                on[i] = false;
            } else {
                uint64_t after = (uint64_t)(rand() % 6);
                sy_timer_start(&rearm[i], after);
                on[i] = true;
                due[i] = t0 + after;
                order[i] = seq++;
            }
        }
        /* the model's order: by (due, start order) */
        int want[REARM_N], nwant = 0;
        for (int i = 0; i < REARM_N; i++)
            if (on[i])
                want[nwant++] = i;
        for (int a = 1; a < nwant; a++)
            for (int b = a; b > 0; b--) {
                int x = want[b - 1], y = want[b];
                if (due[x] < due[y] || (due[x] == due[y] && order[x] < order[y]))
                    break;
                want[b - 1] = y;
                want[b] = x;
            }
        sy_timer_t stop;
        sy_timer_init(&stop, l, stop_loop_cb, NULL);
        sy_timer_start(&stop, 20);
        rearm_nfired = 0;
        sy_loop_run(l);
        CHECK_INT(rearm_nfired, nwant);
        int same = 0;
        for (int k = 0; k < nwant && k < rearm_nfired; k++)
            same += rearm_fired[k] == want[k];
        CHECK_INT(same, nwant);
        sy_loop_free(l);
    }
}

static void test_defer(void)
{
    sy_loop_t *l = sy_loop_new();
    defer_count = 0;
    sy_defer_init(&d1, defer_again_cb, l);
    sy_defer_init(&d2, defer_never_cb, l);
    sy_defer(l, &d2);
    sy_defer(l, &d1);
    sy_defer(l, &d1); /* no-op: already queued */
    sy_defer_cancel(l, &d2);
    sy_loop_run(l);
    CHECK_INT(defer_count, 3);
    sy_loop_free(l);
}

/* A call cancels another queued in the same batch (a connection's resume
 * flushing at once and cancelling its own pending flush): the calls queued
 * behind the cancelled one still run, and can be queued again afterwards. */
static sy_defer_t batch[4];
static int batch_ran[4];
static void batch_cb(sy_defer_t *d)
{
    int i = (int)(d - batch);
    batch_ran[i]++;
    if (i == 0)
        sy_defer_cancel((sy_loop_t *)d->data, &batch[1]);
}

static void test_defer_cancel_in_batch(void)
{
    sy_loop_t *l = sy_loop_new();
    memset(batch_ran, 0, sizeof(batch_ran));
    for (int i = 0; i < 4; i++) {
        sy_defer_init(&batch[i], batch_cb, l);
        sy_defer(l, &batch[i]);
    }
    sy_loop_run_deferred(l);
    CHECK_INT(batch_ran[0], 1);
    CHECK_INT(batch_ran[1], 0);
    CHECK_INT(batch_ran[2], 1);
    CHECK_INT(batch_ran[3], 1);
    for (int i = 1; i < 4; i++)
        sy_defer(l, &batch[i]);
    sy_defer_cancel(l, &batch[3]); /* the last of a queue */
    sy_loop_run_deferred(l);
    CHECK_INT(batch_ran[1], 1);
    CHECK_INT(batch_ran[2], 2);
    CHECK_INT(batch_ran[3], 1);
    sy_loop_free(l);
}

/* ---- I/O and wakeups ---- */

static char io_buf[64];
static size_t io_len;
static void pipe_read_cb(sy_io_t *io, uint32_t ev)
{
    SY_UNUSED(ev);
    ssize_t n = read(io->fd, io_buf + io_len, sizeof(io_buf) - io_len);
    if (n > 0)
        io_len += (size_t)n;
    if (io_len >= 5)
        sy_loop_stop(io->loop);
}

static void test_io_pipe(void)
{
    sy_loop_t *l = sy_loop_new();
    int p[2];
    CHECK(pipe2(p, O_NONBLOCK) == 0);
    sy_io_t io;
    io_len = 0;
    CHECK_INT(sy_io_start(l, &io, p[0], SY_IO_READ, pipe_read_cb, NULL), SY_OK);
    CHECK(write(p[1], "hello", 5) == 5);
    sy_loop_run(l);
    CHECK_MEM(io_buf, io_len, "hello");
    sy_io_stop(&io);
    CHECK_INT(io.events, 0);
    close(p[0]);
    close(p[1]);
    sy_loop_free(l);
}

static int wakes;
static void wake_cb(sy_loop_t *l, void *data)
{
    SY_UNUSED(data);
    wakes++;
    sy_loop_stop(l);
}
static void *waker(void *arg)
{
    usleep(20000);
    sy_loop_wake(arg);
    sy_loop_wake(arg); /* coalesces */
    return NULL;
}

static void test_wake_from_thread(void)
{
    sy_loop_t *l = sy_loop_new();
    wakes = 0;
    sy_loop_on_wake(l, wake_cb, NULL);
    pthread_t th;
    pthread_create(&th, NULL, waker, l);
    sy_loop_run(l);
    pthread_join(th, NULL);
    CHECK(wakes >= 1);
    sy_loop_free(l);
}

/* ---- map ---- */

static void test_map(void)
{
    sy_map_t m;
    sy_map_init(&m);
    char keys[2000][16];
    for (int i = 0; i < 2000; i++) {
        snprintf(keys[i], sizeof(keys[i]), "key-%d", i);
        CHECK(sy_map_put(&m, sy_str_c(keys[i]), (void *)(intptr_t)(i + 1)) == NULL);
    }
    CHECK_INT(m.len, 2000);
    CHECK((intptr_t)sy_map_get(&m, SY_STR("key-1234")) == 1235);
    CHECK(sy_map_get(&m, SY_STR("key-2000")) == NULL);
    CHECK((intptr_t)sy_map_put(&m, SY_STR("key-5"), (void *)99) == 6);
    /* delete every other key; the rest must stay reachable (backward shift) */
    for (int i = 0; i < 2000; i += 2)
        CHECK(sy_map_del(&m, sy_str_c(keys[i])) != NULL);
    CHECK(sy_map_del(&m, SY_STR("key-0")) == NULL);
    CHECK_INT(m.len, 1000);
    int found = 0;
    for (int i = 1; i < 2000; i += 2)
        found += sy_map_get(&m, sy_str_c(keys[i])) != NULL;
    CHECK_INT(found, 1000);
    size_t it = 0, n = 0;
    sy_str_t k;
    void *v;
    while (sy_map_next(&m, &it, &k, &v))
        n++;
    CHECK_INT(n, 1000);
    sy_map_free(&m);
}

/* ---- queue ---- */

#define Q_PRODUCERS 4
#define Q_PER 50000
static sy_queue_t q;
static void *producer(void *arg)
{
    intptr_t base = (intptr_t)arg * Q_PER;
    for (intptr_t i = 0; i < Q_PER; i++)
        while (sy_queue_push(&q, (void *)(base + i + 1)) != SY_OK)
            sched_yield(); /* full: the consumer will make room */
    return NULL;
}

static void test_queue_mpsc(void)
{
    sy_queue_init(&q, 1000);
    CHECK_INT(sy_queue_capacity(&q), 1024);
    CHECK(sy_queue_pop(&q) == NULL);
    pthread_t th[Q_PRODUCERS];
    for (intptr_t i = 0; i < Q_PRODUCERS; i++)
        pthread_create(&th[i], NULL, producer, (void *)i);
    static unsigned char seen[Q_PRODUCERS * Q_PER + 1];
    memset(seen, 0, sizeof(seen));
    intptr_t last[Q_PRODUCERS] = {0};
    size_t got = 0;
    bool fifo = true;
    while (got < Q_PRODUCERS * Q_PER) {
        void *p = sy_queue_pop(&q);
        if (!p) {
            sched_yield();
            continue;
        }
        intptr_t v = (intptr_t)p;
        seen[v]++;
        intptr_t who = (v - 1) / Q_PER;
        if (v <= last[who])
            fifo = false; /* each producer's items arrive in its order */
        last[who] = v;
        got++;
    }
    for (int i = 0; i < Q_PRODUCERS; i++)
        pthread_join(th[i], NULL);
    int dup = 0, miss = 0;
    for (size_t i = 1; i <= Q_PRODUCERS * Q_PER; i++) {
        dup += seen[i] > 1;
        miss += seen[i] == 0;
    }
    CHECK_INT(dup, 0);
    CHECK_INT(miss, 0);
    CHECK(fifo);
    /* full queue refuses instead of blocking or dropping */
    for (int i = 0; i < 1024; i++)
        CHECK_INT(sy_queue_push(&q, (void *)1), SY_OK);
    CHECK_INT(sy_queue_push(&q, (void *)1), SY_EAGAIN);
    CHECK_INT(sy_queue_size(&q), 1024);
    sy_queue_free(&q);
}

/* ---- log ---- */

static void test_log_json(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    sy_log_setup(SY_LOG_INFO, SY_LOG_JSON, p[1]);
    sy_debug("hidden", NULL);
    char esc[64];
    sy_log(SY_LOG_WARN, "a \"quoted\"\nmsg", "\"n\":%d,\"s\":\"%s\"", 7,
           sy_log_esc(esc, sizeof(esc), "x\"y\\z\x01", 6));
    sy_log_setup(SY_LOG_INFO, SY_LOG_JSON, 2);
    close(p[1]);
    char buf[1024];
    ssize_t n = read(p[0], buf, sizeof(buf) - 1);
    close(p[0]);
    CHECK(n > 0);
    buf[n > 0 ? n : 0] = 0;
    CHECK(strstr(buf, "hidden") == NULL);
    CHECK(strstr(buf, "\"level\":\"warn\"") != NULL);
    CHECK(strstr(buf, "\"msg\":\"a \\\"quoted\\\"\\nmsg\"") != NULL);
    CHECK(strstr(buf, "\"n\":7,\"s\":\"x\\\"y\\\\z\\u0001\"}") != NULL);
    CHECK(buf[n - 1] == '\n' && strchr(buf, '\n') == buf + n - 1); /* one line */
    CHECK_INT(sy_log_level_parse("warning"), SY_LOG_WARN);
    CHECK_INT(sy_log_level_parse("nope"), -1);
}

int main(void)
{
    RUN(test_timer_order);
    RUN(test_timer_heap_fires_in_order);
    RUN(test_timer_rearm_order);
    RUN(test_defer);
    RUN(test_defer_cancel_in_batch);
    RUN(test_io_pipe);
    RUN(test_wake_from_thread);
    RUN(test_map);
    RUN(test_queue_mpsc);
    RUN(test_log_json);
    return unit_done();
}
