/*
 * snapshot.c - the process-wide current configuration and its swap.
 *
 * Readers on every worker thread call sy_config_acquire() once per request;
 * a reload calls sy_config_publish() rarely. The hard part is the gap
 * between a reader loading the pointer and incrementing the snapshot's
 * reference count: if the publisher dropped the last reference inside that
 * gap, the increment would touch freed memory.
 *
 * The fix, in the manner of sleepable RCU: two reader counters and an epoch
 * whose low bit picks one. A reader announces itself in the counter of the
 * current epoch (re-checking the epoch after, so it never sits in a counter
 * the publisher has stopped watching), loads the pointer, takes its
 * reference, and leaves. The publisher swaps the pointer, flips the epoch
 * (new readers now use the other counter, so this one can only fall), waits
 * for the old epoch's counter to reach zero, and only then drops the old
 * snapshot's reference. Every reader that could have seen the old pointer
 * was counted, so it has its own reference by then.
 *
 * Readers never block or take a lock (a retry happens only if a publish
 * flips the epoch in the few instructions between its two loads). The
 * publisher's wait is bounded by readers already inside acquire. All atomics
 * here are sequentially consistent: the argument above relies on one total
 * order of the pointer swap, the epoch flip and the counter updates.
 */
#include "config/config.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

static _Atomic(sy_config_t *) g_current;
static atomic_uint g_epoch;
static atomic_size_t g_readers[2];
static pthread_mutex_t g_publish_lock = PTHREAD_MUTEX_INITIALIZER; /* publishers only */
static _Atomic(sy_config_hook_cb) g_acquire_hook;

void sy_config_set_acquire_hook(sy_config_hook_cb hook)
{
    atomic_store(&g_acquire_hook, hook);
}

sy_config_t *sy_config_acquire(void)
{
    unsigned e;
    for (;;) {
        e = atomic_load(&g_epoch) & 1u;
        atomic_fetch_add(&g_readers[e], 1);
        if ((atomic_load(&g_epoch) & 1u) == e)
            break;
        atomic_fetch_sub(&g_readers[e], 1); /* a publish flipped it: use the new one */
    }
    sy_config_t *c = atomic_load(&g_current);
    sy_config_hook_cb hook = atomic_load_explicit(&g_acquire_hook, memory_order_relaxed);
    if (SY_UNLIKELY(hook != NULL))
        hook(); /* tests widen the gap the epoch counters protect */
    if (c)
        sy_config_ref(c);
    atomic_fetch_sub(&g_readers[e], 1);
    return c;
}

void sy_config_publish(sy_config_t *c)
{
    pthread_mutex_lock(&g_publish_lock);
    sy_config_t *old = atomic_exchange(&g_current, c);
    unsigned e = atomic_fetch_add(&g_epoch, 1u) & 1u;
    for (unsigned spins = 0; atomic_load(&g_readers[e]) != 0; spins++)
        if (spins >= 100)
            sched_yield(); /* a reader was preempted inside acquire */
    pthread_mutex_unlock(&g_publish_lock);
    sy_config_unref(old);
}

int sy_config_reload(char **err_out)
{
    if (err_out)
        *err_out = NULL;
    sy_config_t *cur = sy_config_acquire();
    if (cur == NULL || cur->path == NULL) {
        if (err_out)
            *err_out = sy_strdup(cur ? "the current configuration was not loaded from a file"
                                     : "no configuration has been published");
        sy_config_unref(cur);
        return SY_EINVAL;
    }
    sy_config_t *next = sy_config_load(cur->path, err_out);
    sy_config_unref(cur);
    if (next == NULL)
        return SY_EINVAL;
    sy_config_publish(next);
    return SY_OK;
}
