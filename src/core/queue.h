/*
 * queue.h - bounded multi-producer queue of pointers (lock-free).
 *
 * Workers push decision and audit records; the background writer pops them.
 * The ring is a power-of-two array of cells, each with a sequence number
 * (Vyukov's bounded queue): producers claim a slot with one CAS on the tail,
 * the consumer reads in order. Push never blocks: it returns SY_EAGAIN when
 * the queue is full and the caller applies its back-pressure policy, so no
 * record is ever dropped silently. Safe for many producers and one or more
 * consumers.
 */
#ifndef SY_CORE_QUEUE_H
#define SY_CORE_QUEUE_H

#include <stdatomic.h>
#include "core/common.h"

typedef struct {
    _Atomic size_t seq;
    void *data;
} sy_queue_cell_t;

typedef struct {
    sy_queue_cell_t *cells;
    size_t mask;
    _Alignas(64) _Atomic size_t head; /* consumer position */
    _Alignas(64) _Atomic size_t tail; /* producer position */
} sy_queue_t;

/* capacity is rounded up to a power of two (minimum 2). */
void sy_queue_init(sy_queue_t *q, size_t capacity);
void sy_queue_free(sy_queue_t *q);
int sy_queue_push(sy_queue_t *q, void *item); /* SY_OK or SY_EAGAIN when full */
void *sy_queue_pop(sy_queue_t *q);            /* NULL when empty */
size_t sy_queue_size(sy_queue_t *q);          /* approximate */
size_t sy_queue_capacity(const sy_queue_t *q);

#endif
