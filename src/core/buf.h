/*
 * buf.h - growable byte buffer with a named cap.
 *
 * Every buffer that outside input can grow has a maximum size; appending past
 * it fails with SY_ETOOBIG instead of growing, so input can never exhaust
 * memory. Data is heap-allocated; the buffer owns it. A read offset lets a
 * consumer drop bytes from the front cheaply (sy_buf_consume); the storage is
 * compacted lazily when more room is needed.
 */
#ifndef SY_CORE_BUF_H
#define SY_CORE_BUF_H

#include <stdarg.h>
#include <string.h>
#include "core/common.h"
#include "core/str.h"

typedef struct {
    char *data;  /* storage; bytes in use are data[off .. off+len) */
    size_t off;  /* consumed prefix */
    size_t len;  /* bytes in use after off */
    size_t cap;  /* allocated bytes */
    size_t max;  /* cap on off+len growth (in-use bytes); 0 = unlimited */
} sy_buf_t;

void sy_buf_init(sy_buf_t *b, size_t max);
void sy_buf_free(sy_buf_t *b);
/* (No arithmetic on a NULL pointer: a never-grown buffer has data NULL, off 0.) */
static inline char *sy_buf_ptr(const sy_buf_t *b) { return b->off ? b->data + b->off : b->data; }
static inline sy_str_t sy_buf_str(const sy_buf_t *b) { return (sy_str_t){b->data ? sy_buf_ptr(b) : "", b->len}; }
/* The out-of-line part of sy_buf_reserve: the cap check, compaction, growth. */
int sy_buf_grow(sy_buf_t *b, size_t n);
/* Ensure room for n more bytes after the data (may compact or grow). The
 * common case (room left, under the cap) is a few inline compares: buffers
 * take dozens of small appends per proxied request. */
static inline int sy_buf_reserve(sy_buf_t *b, size_t n)
{
    if (b->cap - b->off - b->len >= n && (b->max == 0 || (n <= b->max && b->len <= b->max - n)))
        return SY_OK;
    return sy_buf_grow(b, n);
}
/* Writable tail after sy_buf_reserve(); commit what was written with sy_buf_commit. */
static inline char *sy_buf_tail(sy_buf_t *b) { return b->data + b->off + b->len; }
static inline size_t sy_buf_room(const sy_buf_t *b) { return b->cap - b->off - b->len; }
static inline void sy_buf_commit(sy_buf_t *b, size_t n) { b->len += n; }
/* Inline so that a literal's or a known length's copy is inlined too. */
static inline int sy_buf_append(sy_buf_t *b, const void *p, size_t n)
{
    if (n == 0)
        return SY_OK;
    int rc = sy_buf_reserve(b, n);
    if (rc)
        return rc;
    memcpy(sy_buf_tail(b), p, n);
    b->len += n;
    return SY_OK;
}
static inline int sy_buf_append_str(sy_buf_t *b, sy_str_t s) { return sy_buf_append(b, s.p, s.len); }
/* (strlen of a literal is folded where this is inlined) */
static inline int sy_buf_append_c(sy_buf_t *b, const char *cstr)
{
    return sy_buf_append(b, cstr, strlen(cstr));
}
/* v in decimal. */
int sy_buf_append_u64(sy_buf_t *b, uint64_t v);
/* A string literal, its length known at compile time. */
#define sy_buf_append_lit(b, lit) sy_buf_append((b), "" lit, sizeof(lit) - 1)
int sy_buf_printf(sy_buf_t *b, const char *fmt, ...) SY_PRINTF(2, 3);
int sy_buf_vprintf(sy_buf_t *b, const char *fmt, va_list ap);
/* Drop n bytes from the front. */
void sy_buf_consume(sy_buf_t *b, size_t n);
void sy_buf_clear(sy_buf_t *b);

#endif
