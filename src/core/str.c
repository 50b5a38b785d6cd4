/*
 * str.c - string view helpers.
 */
#include "core/str.h"

#include <string.h>
#include "core/arena.h"


bool sy_str_eq(sy_str_t a, sy_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}


static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

bool sy_str_ieq(sy_str_t a, sy_str_t b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++)
        if (lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[i]))
            return false;
    return true;
}

bool sy_str_ieq_c(sy_str_t a, const char *cstr) { return sy_str_ieq(a, sy_str_c(cstr)); }

bool sy_str_starts_with(sy_str_t s, sy_str_t prefix)
{
    return s.len >= prefix.len && (prefix.len == 0 || memcmp(s.p, prefix.p, prefix.len) == 0);
}

bool sy_str_ends_with(sy_str_t s, sy_str_t suffix)
{
    return s.len >= suffix.len &&
           (suffix.len == 0 || memcmp(s.p + s.len - suffix.len, suffix.p, suffix.len) == 0);
}

ptrdiff_t sy_str_find_char(sy_str_t s, char c)
{
    if (s.len == 0)
        return -1;
    const char *hit = memchr(s.p, c, s.len);
    return hit ? hit - s.p : -1;
}

ptrdiff_t sy_str_find(sy_str_t s, sy_str_t needle)
{
    if (needle.len == 0)
        return 0;
    if (s.len < needle.len)
        return -1;
    const char *hit = memmem(s.p, s.len, needle.p, needle.len);
    return hit ? hit - s.p : -1;
}

sy_str_t sy_str_trim(sy_str_t s)
{
    while (s.len && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.len--;
    }
    while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
        s.len--;
    return s;
}

sy_str_t sy_str_sub(sy_str_t s, size_t from, size_t len)
{
    if (from > s.len)
        from = s.len;
    if (len > s.len - from)
        len = s.len - from;
    return (sy_str_t){s.p + from, len};
}

int sy_str_to_u64(sy_str_t s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (s.len == 0)
        return SY_EINVAL;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned)(unsigned char)s.p[i] - '0';
        if (d > 9)
            return SY_EINVAL;
        if (d > max || v > (max - d) / 10)
            return SY_ETOOBIG;
        v = v * 10 + d;
    }
    *out = v;
    return SY_OK;
}

sy_str_t sy_str_dup(sy_arena_t *a, sy_str_t s)
{
    return (sy_str_t){sy_arena_memdup(a, s.p, s.len), s.len};
}

char *sy_str_cdup(sy_arena_t *a, sy_str_t s) { return sy_arena_memdup(a, s.p, s.len); }

uint64_t sy_hash_bytes(const void *p, size_t len)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}
