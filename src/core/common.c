/*
 * common.c - abort-on-failure allocation wrappers and sy_panic.
 */
#include "core/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sy_panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("switchyard: fatal: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void *sy_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        sy_panic("out of memory allocating %zu bytes", n);
    return p;
}

void *sy_calloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (p == NULL)
        sy_panic("out of memory allocating %zu x %zu bytes", count, n);
    return p;
}

void *sy_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        sy_panic("out of memory reallocating %zu bytes", n);
    return q;
}

char *sy_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = sy_malloc(n);
    memcpy(d, s, n);
    return d;
}
