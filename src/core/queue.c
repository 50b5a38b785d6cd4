/*
 * queue.c - bounded MPMC ring (sequence-numbered cells).
 */
#include "core/queue.h"

#include <stdlib.h>

void sy_queue_init(sy_queue_t *q, size_t capacity)
{
    size_t cap = 2;
    while (cap < capacity)
        cap *= 2;
    q->cells = sy_calloc(cap, sizeof(*q->cells));
    for (size_t i = 0; i < cap; i++)
        atomic_init(&q->cells[i].seq, i);
    q->mask = cap - 1;
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
}

void sy_queue_free(sy_queue_t *q)
{
    free(q->cells);
    q->cells = NULL;
}

int sy_queue_push(sy_queue_t *q, void *item)
{
    size_t pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
    for (;;) {
        sy_queue_cell_t *c = &q->cells[pos & q->mask];
        size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        intptr_t diff = (intptr_t)seq - (intptr_t)pos;
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(&q->tail, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed)) {
                c->data = item;
                atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
                return SY_OK;
            }
        } else if (diff < 0) {
            return SY_EAGAIN; /* the consumer has not freed this cell yet: full */
        } else {
            pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
        }
    }
}

void *sy_queue_pop(sy_queue_t *q)
{
    size_t pos = atomic_load_explicit(&q->head, memory_order_relaxed);
    for (;;) {
        sy_queue_cell_t *c = &q->cells[pos & q->mask];
        size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        intptr_t diff = (intptr_t)seq - (intptr_t)(pos + 1);
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(&q->head, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed)) {
                void *item = c->data;
                atomic_store_explicit(&c->seq, pos + q->mask + 1, memory_order_release);
                return item;
            }
        } else if (diff < 0) {
            return NULL;
        } else {
            pos = atomic_load_explicit(&q->head, memory_order_relaxed);
        }
    }
}

size_t sy_queue_size(sy_queue_t *q)
{
    size_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    size_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    return t >= h ? t - h : 0;
}

size_t sy_queue_capacity(const sy_queue_t *q) { return q->mask + 1; }
