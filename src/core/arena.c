/*
 * arena.c - region allocator.
 *
 * Blocks form a singly linked list, newest first. An allocation that does not
 * fit in the current block goes to the first of the next few blocks with room
 * left at its end, else gets a new block of max(block_size, n). Reset keeps
 * the first block; the others go to a small per-thread cache of blocks that
 * the next block_new() takes from, so a per-connection arena that serves many
 * requests settles at zero mallocs per request even when a request outgrows
 * the first block (a proxied request used three more each time: a malloc and
 * a free of each, ~1,500 instructions per request).
 */
#include "core/arena.h"

#include "core/fmt.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_TAIL_SCAN 4 /* older blocks tried before a new one is made */

typedef struct sy_arena_cleanup {
    struct sy_arena_cleanup *next;
    sy_cleanup_cb cb;
    void *arg;
} sy_arena_cleanup_t;

/* The block cache. Bounded in bytes so that what a thread keeps idle stays
 * small next to what its arenas use; a block is taken for a request of up
 * to twice less than its size (a large block is not spent on a small arena
 * that lives long). Freed with the thread (a key's destructor). */
#define BLOCK_CACHE_MAX_BYTES (256 * 1024)
#define BLOCK_CACHE_MAX_BLOCK (32 * 1024)

typedef struct {
    sy_arena_block_t *head;
    size_t bytes;
    bool keyed; /* the destructor is registered for this thread */
    bool dead;  /* the thread is exiting: its cache was freed, keep nothing */
} block_cache_t;

static _Thread_local block_cache_t t_cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_drop(void *arg)
{
    block_cache_t *c = arg;
    while (c->head) {
        sy_arena_block_t *b = c->head;
        c->head = b->next;
        free(b);
    }
    c->bytes = 0;
    /* Destructors of other keys may still free arenas on this thread after
     * this one ran: their blocks are freed, not cached where nobody would
     * free them again. */
    c->dead = true;
}

static void cache_key_make(void)
{
    (void)pthread_key_create(&cache_key, cache_drop);
}

static sy_arena_block_t *block_new(size_t size)
{
    block_cache_t *c = &t_cache;
    for (sy_arena_block_t **pp = &c->head; *pp; pp = &(*pp)->next) {
        sy_arena_block_t *b = *pp;
        if (b->size >= size && b->size / 2 <= size) {
            *pp = b->next;
            c->bytes -= b->size;
            b->next = NULL;
            b->used = 0;
            return b;
        }
    }
    sy_arena_block_t *b = sy_malloc(sizeof(*b) + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

/* A block the arena no longer needs: to the cache when it fits, else freed. */
static void block_release(sy_arena_block_t *b)
{
    block_cache_t *c = &t_cache;
    if (c->dead || b->size > BLOCK_CACHE_MAX_BLOCK ||
        c->bytes + b->size > BLOCK_CACHE_MAX_BYTES) {
        free(b);
        return;
    }
    if (!c->keyed) {
        /* Once per thread: its cache is freed when it exits. */
        if (pthread_once(&cache_once, cache_key_make) != 0 ||
            pthread_setspecific(cache_key, c) != 0) {
            free(b);
            return;
        }
        c->keyed = true;
    }
    b->next = c->head;
    c->head = b;
    c->bytes += b->size;
}

sy_arena_t *sy_arena_new(size_t block_size)
{
    sy_arena_t *a = sy_calloc(1, sizeof(*a));
    a->block_size = block_size ? block_size : 4096;
    a->head = block_new(a->block_size);
    return a;
}

static void run_cleanups(sy_arena_t *a)
{
    /* Hooks were pushed on a list head, so this runs them newest first. */
    while (a->cleanups) {
        sy_arena_cleanup_t *c = a->cleanups;
        a->cleanups = c->next;
        c->cb(c->arg);
    }
}

void sy_arena_free(sy_arena_t *a)
{
    if (a == NULL)
        return;
    run_cleanups(a);
    sy_arena_block_t *b = a->head;
    while (b) {
        sy_arena_block_t *n = b->next;
        block_release(b);
        b = n;
    }
    free(a);
}

void sy_arena_reset(sy_arena_t *a)
{
    run_cleanups(a);
    /* Keep the oldest block (the tail of the list): it has the base size. */
    sy_arena_block_t *b = a->head;
    while (b->next) {
        sy_arena_block_t *n = b->next;
        block_release(b);
        b = n;
    }
    b->used = 0;
    a->head = b;
    a->total = 0;
    a->last = NULL;
}

void *sy_arena_alloc_slow(sy_arena_t *a, size_t n)
{
    size_t need = (n + (SY_ARENA_ALIGN - 1)) & ~(size_t)(SY_ARENA_ALIGN - 1);
    if (need < n)
        sy_panic("arena allocation size overflow");
    sy_arena_block_t *b = a->head;
    if (b->size - b->used < need) {
        /* The tails that earlier blocks were left with when an allocation
         * did not fit: first fit among the few newest. Without it a request
         * arena of ~14 KiB used held 20 KiB in five blocks (the proxy, audit
         * and routing state each opened a block and left the last one's
         * tail unused), and that is most of a concurrent stream's memory. */
        int k = 0;
        for (sy_arena_block_t *o = b->next; o && k < ARENA_TAIL_SCAN; o = o->next, k++)
            if (o->size - o->used >= need) {
                void *p = o->data + o->used;
                o->used += need;
                a->total += need;
                return p; /* a->last stays: it is in the head block */
            }
        size_t size = need > a->block_size ? need : a->block_size;
        sy_arena_block_t *nb = block_new(size);
        if (need > a->block_size && b->used < b->size / 2) {
            /* A big one-off allocation: slot it behind the current block so
             * the current block's free space stays usable. */
            nb->next = b->next;
            b->next = nb;
            nb->used = need;
            a->total += need;
            a->last = NULL;
            return nb->data;
        }
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->total += need;
    a->last = p;
    return p;
}

void *sy_arena_calloc(sy_arena_t *a, size_t n)
{
    void *p = sy_arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

void *sy_arena_realloc(sy_arena_t *a, void *p, size_t old_n, size_t new_n)
{
    if (p == NULL)
        return sy_arena_alloc(a, new_n);
    if (new_n <= old_n)
        return p;
    sy_arena_block_t *b = a->head;
    if (p == a->last) {
        size_t off = (size_t)((unsigned char *)p - b->data);
        size_t need = (new_n + (SY_ARENA_ALIGN - 1)) & ~(size_t)(SY_ARENA_ALIGN - 1);
        if (off + need <= b->size) {
            a->total += need - (b->used - off);
            b->used = off + need;
            return p;
        }
    }
    void *q = sy_arena_alloc(a, new_n);
    memcpy(q, p, old_n);
    return q;
}

char *sy_arena_memdup(sy_arena_t *a, const void *p, size_t n)
{
    char *d = sy_arena_alloc(a, n + 1);
    if (n)
        memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

char *sy_arena_strdup(sy_arena_t *a, const char *s) { return sy_arena_memdup(a, s, strlen(s)); }

char *sy_arena_sprintf(sy_arena_t *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    char small[256]; /* most results fit: one formatting pass */
    int n = sy_vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        sy_panic("arena sprintf: bad format");
    char *d = sy_arena_alloc(a, (size_t)n + 1);
    if ((size_t)n < sizeof(small))
        memcpy(d, small, (size_t)n + 1);
    else
        sy_vsnprintf(d, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return d;
}

void sy_arena_cleanup(sy_arena_t *a, sy_cleanup_cb cb, void *arg)
{
    sy_arena_cleanup_t *c = sy_arena_alloc(a, sizeof(*c));
    c->cb = cb;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
    a->last = NULL;
}

size_t sy_arena_used(const sy_arena_t *a) { return a->total; }
