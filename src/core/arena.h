/*
 * arena.h - region allocator with cleanup hooks.
 *
 * One arena per request (freed at once at its end), a scratch arena reset per
 * streamed event, and long-lived arenas for configuration snapshots. Objects
 * are never freed one by one. Cleanup hooks run in reverse order of
 * registration when the arena is reset or freed: use them for resources the
 * arena's memory refers to (file descriptors, heap buffers, references).
 *
 * Allocation failure aborts: every input-driven size is capped before it
 * reaches an arena. Not thread-safe: an arena belongs to one thread at a time.
 */
#ifndef SY_CORE_ARENA_H
#define SY_CORE_ARENA_H

#include "core/common.h"

typedef struct sy_arena sy_arena_t;
typedef void (*sy_cleanup_cb)(void *arg);

/* The members below belong to arena.c; they are here so that an allocation
 * that fits the current block (~30 per proxied request) is inlined. */
#define SY_ARENA_ALIGN 16

typedef struct sy_arena_block {
    struct sy_arena_block *next;
    size_t size; /* usable bytes in data */
    size_t used;
    _Alignas(16) unsigned char data[];
} sy_arena_block_t;

struct sy_arena {
    sy_arena_block_t *head;
    struct sy_arena_cleanup *cleanups;
    size_t block_size;
    size_t total; /* bytes handed out */
    void *last;   /* most recent allocation, for in-place realloc */
};

/* block_size: size of each chunk (0 -> 4096). Large requests get their own. */
sy_arena_t *sy_arena_new(size_t block_size);
void sy_arena_free(sy_arena_t *a);
/* Run cleanups and forget all allocations; keeps the first block for reuse. */
void sy_arena_reset(sy_arena_t *a);

/* The allocation that does not fit the current block (arena.c). */
void *sy_arena_alloc_slow(sy_arena_t *a, size_t n);
/* 16-byte aligned, uninitialised. */
static inline void *sy_arena_alloc(sy_arena_t *a, size_t n)
{
    size_t need = (n + (SY_ARENA_ALIGN - 1)) & ~(size_t)(SY_ARENA_ALIGN - 1);
    sy_arena_block_t *b = a->head;
    if (need >= n && b->size - b->used >= need) {
        void *p = b->data + b->used;
        b->used += need;
        a->total += need;
        a->last = p;
        return p;
    }
    return sy_arena_alloc_slow(a, n);
}
void *sy_arena_calloc(sy_arena_t *a, size_t n); /* zeroed */
/* Grow the most recent allocation in place when possible, else copy. */
void *sy_arena_realloc(sy_arena_t *a, void *p, size_t old_n, size_t new_n);
char *sy_arena_strdup(sy_arena_t *a, const char *s);
char *sy_arena_memdup(sy_arena_t *a, const void *p, size_t n); /* adds a NUL */
char *sy_arena_sprintf(sy_arena_t *a, const char *fmt, ...) SY_PRINTF(2, 3);

void sy_arena_cleanup(sy_arena_t *a, sy_cleanup_cb cb, void *arg);

/* Bytes handed out since creation or the last reset (for tests and metrics). */
size_t sy_arena_used(const sy_arena_t *a);

#endif
