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

/* block_size: size of each chunk (0 -> 4096). Large requests get their own. */
sy_arena_t *sy_arena_new(size_t block_size);
void sy_arena_free(sy_arena_t *a);
/* Run cleanups and forget all allocations; keeps the first block for reuse. */
void sy_arena_reset(sy_arena_t *a);

void *sy_arena_alloc(sy_arena_t *a, size_t n);  /* 16-byte aligned, uninitialised */
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
