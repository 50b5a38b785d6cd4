/*
 * str.h - string views: a pointer and a length into someone else's buffer.
 *
 * A view does not own its bytes and is not NUL-terminated. It lives as long as
 * the buffer it points into (usually the request's read buffer or arena).
 * Copy with sy_str_dup() only what must outlive that buffer.
 */
#ifndef SY_CORE_STR_H
#define SY_CORE_STR_H

#include <string.h>
#include "core/common.h"

typedef struct sy_arena sy_arena_t;

typedef struct {
    const char *p;
    size_t len;
} sy_str_t;

#define SY_STR(lit) ((sy_str_t){(lit), sizeof(lit) - 1})
#define SY_STR_NULL ((sy_str_t){NULL, 0})
/* printf("%.*s", SY_STR_FMT(s)) */
#define SY_STR_FMT(s) (int)(s).len, (s).p

static inline sy_str_t sy_str(const char *p, size_t len) { return (sy_str_t){p, len}; }
/* The value of hexadecimal digit `c` (either case), or -1. */
static inline int sy_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 32);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}
/* View of a C string (NULL -> empty). Inline: with a literal the strlen
 * folds (header names, JSON keys and fixed values go through here). */
static inline sy_str_t sy_str_c(const char *cstr)
{
    if (cstr == NULL)
        return SY_STR_NULL;
    return (sy_str_t){cstr, strlen(cstr)};
}

bool sy_str_eq(sy_str_t a, sy_str_t b);
/* Inline: with a literal the strlen folds and the compare is a few
 * instructions (the request path compares methods, roles and types). */
static inline bool sy_str_eq_c(sy_str_t a, const char *cstr)
{
    if (cstr == NULL) /* as an empty string, like sy_str_c(NULL) */
        return a.len == 0;
    size_t n = strlen(cstr);
    return a.len == n && (n == 0 || memcmp(a.p, cstr, n) == 0);
}
bool sy_str_ieq(sy_str_t a, sy_str_t b);      /* ASCII case-insensitive */
bool sy_str_ieq_c(sy_str_t a, const char *cstr);
bool sy_str_starts_with(sy_str_t s, sy_str_t prefix);
bool sy_str_ends_with(sy_str_t s, sy_str_t suffix);
/* Index of the first c in s, or -1. */
ptrdiff_t sy_str_find_char(sy_str_t s, char c);
/* Index of the first occurrence of needle, or -1. */
ptrdiff_t sy_str_find(sy_str_t s, sy_str_t needle);
sy_str_t sy_str_trim(sy_str_t s); /* strips SP and HTAB on both ends */
sy_str_t sy_str_sub(sy_str_t s, size_t from, size_t len); /* clamped */

/* Parse a non-negative decimal integer, the whole view, no sign, no spaces.
 * Returns SY_OK, SY_EINVAL for non-digits/empty, SY_ETOOBIG past max. */
int sy_str_to_u64(sy_str_t s, uint64_t max, uint64_t *out);

/* Copy into the arena as a NUL-terminated string (the view points at it). */
sy_str_t sy_str_dup(sy_arena_t *a, sy_str_t s);
char *sy_str_cdup(sy_arena_t *a, sy_str_t s);

uint64_t sy_hash_bytes(const void *p, size_t len); /* FNV-1a 64 */

/* Copy n bytes (the buffers do not overlap): up to 32 as two overlapping
 * loads and stores of 4, 8 or 16 bytes (header names and values, member
 * names, short values) rather than a call to memcpy; more through memcpy. */
static inline void sy_copy_short(char *d, const char *s, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n > 16 && n <= 32) {
        struct {
            uint64_t w[2];
        } a, b;
        memcpy(&a, s, 16);
        memcpy(&b, s + n - 16, 16);
        memcpy(d, &a, 16);
        memcpy(d + n - 16, &b, 16);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else if (n > 32) {
        memcpy(d, s, n);
    } else {
        for (size_t i = 0; i < n; i++)
            d[i] = s[i];
    }
}

#endif
