/*
 * buf.c - capped growable buffers.
 */
#include "core/buf.h"

#include "core/fmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sy_buf_init(sy_buf_t *b, size_t max)
{
    b->data = NULL;
    b->off = b->len = b->cap = 0;
    b->max = max;
}

void sy_buf_free(sy_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->off = b->len = b->cap = 0;
}

int sy_buf_grow(sy_buf_t *b, size_t n)
{
    if (b->max && (n > b->max || b->len > b->max - n))
        return SY_ETOOBIG;
    if (b->cap - b->off - b->len >= n)
        return SY_OK;
    /* Compact first when the consumed prefix alone makes room. */
    if (b->off && b->cap - b->len >= n) {
        memmove(b->data, b->data + b->off, b->len);
        b->off = 0;
        return SY_OK;
    }
    if (b->off) {
        memmove(b->data, b->data + b->off, b->len);
        b->off = 0;
    }
    size_t want = b->len + n;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < want)
        ncap *= 2;
    if (b->max && ncap > b->max && want <= b->max)
        ncap = b->max;
    b->data = sy_realloc(b->data, ncap);
    b->cap = ncap;
    return SY_OK;
}

int sy_buf_append_u64(sy_buf_t *b, uint64_t v)
{
    char d[20];
    return sy_buf_append(b, d, sy_fmt_u64(d, v));
}

/* Formats straight into the free tail (sy_vsnprintf: no FILE stream per call);
 * only output longer than the tail is formatted a second time, after growing. */
int sy_buf_vprintf(sy_buf_t *b, const char *fmt, va_list ap)
{
    if (sy_buf_room(b) < 128)
        (void)sy_buf_reserve(b, 128); /* at the cap: the first pass just measures */
    size_t room = b->data ? sy_buf_room(b) : 0;
    va_list ap2;
    va_copy(ap2, ap);
    int n = sy_vsnprintf(room ? sy_buf_tail(b) : NULL, room, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return SY_EINVAL;
    if ((size_t)n < room) {
        if (b->max && b->len + (size_t)n > b->max)
            return SY_ETOOBIG;
        b->len += (size_t)n;
        return SY_OK;
    }
    if ((size_t)n < 256) { /* (n + 1 might not fit under the cap where n does) */
        char small[256];
        sy_vsnprintf(small, sizeof(small), fmt, ap);
        return sy_buf_append(b, small, (size_t)n);
    }
    int rc = sy_buf_reserve(b, (size_t)n + 1);
    if (rc)
        return rc;
    sy_vsnprintf(sy_buf_tail(b), (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return SY_OK;
}

int sy_buf_printf(sy_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sy_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void sy_buf_consume(sy_buf_t *b, size_t n)
{
    if (n >= b->len) {
        b->off = b->len = 0;
        return;
    }
    b->off += n;
    b->len -= n;
}

void sy_buf_clear(sy_buf_t *b) { b->off = b->len = 0; }
