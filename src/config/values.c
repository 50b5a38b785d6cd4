/*
 * values.c - the spelling of configuration values, and of near misses.
 *
 * Sizes and durations are read the way operators write them in nginx and
 * Kubernetes files ("32k", "1m", "10s", "1m30s") and printed back in the
 * shortest exact form, so `config check --print` output loads back to the
 * same snapshot. Did-you-mean suggestions rank candidates by
 * Damerau-Levenshtein distance (the optimal-string-alignment variant: a
 * swap of two neighbours counts as one edit, as in "lsiten").
 */
#include "config/config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}
static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Digits at s[*i..]: at least one. */
static int read_digits(sy_str_t s, size_t *i, uint64_t *out)
{
    size_t start = *i;
    while (*i < s.len && is_digit(s.p[*i]))
        (*i)++;
    if (*i == start)
        return SY_EINVAL;
    return sy_str_to_u64(sy_str(s.p + start, *i - start), UINT64_MAX, out);
}

static int mul_check(uint64_t a, uint64_t b, uint64_t *out)
{
    if (b && a > UINT64_MAX / b)
        return SY_ETOOBIG;
    *out = a * b;
    return SY_OK;
}

typedef struct {
    const char *name;
    uint64_t mult;
} unit_t;

static const unit_t size_units[] = {
    {"", 1},
    {"b", 1},
    {"k", 1ull << 10},
    {"kb", 1ull << 10},
    {"kib", 1ull << 10},
    {"m", 1ull << 20},
    {"mb", 1ull << 20},
    {"mib", 1ull << 20},
    {"g", 1ull << 30},
    {"gb", 1ull << 30},
    {"gib", 1ull << 30},
};

static const unit_t duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
};

static const unit_t *find_unit(const unit_t *units, size_t n, sy_str_t name)
{
    for (size_t i = 0; i < n; i++)
        if (sy_str_ieq_c(name, units[i].name))
            return &units[i];
    return NULL;
}

int sy_cfg_parse_size(sy_str_t s, uint64_t *out)
{
    s = sy_str_trim(s);
    size_t i = 0;
    uint64_t v;
    int rc = read_digits(s, &i, &v);
    if (rc == SY_EINVAL)
        return rc;
    sy_str_t unit = sy_str_trim(sy_str_sub(s, i, s.len - i));
    for (size_t j = 0; j < unit.len; j++)
        if (!is_alpha(unit.p[j]))
            return SY_EINVAL;
    const unit_t *u = find_unit(size_units, SY_ARRAY_LEN(size_units), unit);
    if (u == NULL)
        return SY_EINVAL;
    if (rc != SY_OK)
        return rc; /* the number alone overflowed */
    return mul_check(v, u->mult, out);
}

int sy_cfg_parse_duration(sy_str_t s, uint64_t *out_ms)
{
    s = sy_str_trim(s);
    size_t i = 0;
    uint64_t total = 0, v;
    bool too_big = false;
    int rc = read_digits(s, &i, &v);
    if (rc == SY_EINVAL)
        return rc;
    if (i == s.len) { /* a plain number: seconds */
        if (rc != SY_OK || mul_check(v, 1000, out_ms) != SY_OK)
            return SY_ETOOBIG;
        return SY_OK;
    }
    for (;;) {
        too_big |= rc == SY_ETOOBIG;
        size_t u0 = i;
        while (i < s.len && is_alpha(s.p[i]))
            i++;
        const unit_t *u =
            find_unit(duration_units, SY_ARRAY_LEN(duration_units), sy_str(s.p + u0, i - u0));
        if (i == u0 || u == NULL)
            return SY_EINVAL;
        uint64_t part;
        if (!too_big && (mul_check(v, u->mult, &part) != SY_OK || total > UINT64_MAX - part))
            too_big = true;
        if (!too_big)
            total += part;
        if (i == s.len)
            break;
        rc = read_digits(s, &i, &v);
        if (rc == SY_EINVAL)
            return rc;
    }
    if (too_big)
        return SY_ETOOBIG;
    *out_ms = total;
    return SY_OK;
}

/* The largest unit that divides v exactly, from units ordered small to large. */
static char *format_units(uint64_t v, const unit_t *units, size_t n, char buf[32])
{
    const unit_t *best = &units[0];
    for (size_t i = 0; i < n; i++)
        if (v && v % units[i].mult == 0 && units[i].mult > best->mult)
            best = &units[i];
    snprintf(buf, 32, "%" PRIu64 "%s", v / best->mult, best->name);
    return buf;
}

char *sy_cfg_format_size(uint64_t bytes, char buf[32])
{
    static const unit_t units[] = {
        {"", 1}, {"k", 1ull << 10}, {"m", 1ull << 20}, {"g", 1ull << 30}};
    return format_units(bytes, units, SY_ARRAY_LEN(units), buf);
}

char *sy_cfg_format_duration(uint64_t ms, char buf[32])
{
    /* Hours at most: "48h" reads better in a timeout than "2d". */
    return format_units(ms, duration_units, SY_ARRAY_LEN(duration_units) - 1, buf);
}

/* ---- did you mean ---- */

#define SY_CFG_DIST_MAX_LEN 64

static char fold(char c)
{
    if (c >= 'A' && c <= 'Z')
        return (char)(c + 32);
    return c == '-' ? '_' : c;
}

unsigned sy_cfg_distance(sy_str_t a, sy_str_t b)
{
    if (a.len > SY_CFG_DIST_MAX_LEN || b.len > SY_CFG_DIST_MAX_LEN)
        return 255;
    /* Three rows of the edit-distance table: i-2, i-1, i. */
    unsigned rows[3][SY_CFG_DIST_MAX_LEN + 1];
    unsigned *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= b.len; j++)
        prev[j] = (unsigned)j;
    for (size_t i = 1; i <= a.len; i++) {
        cur[0] = (unsigned)i;
        for (size_t j = 1; j <= b.len; j++) {
            unsigned cost = fold(a.p[i - 1]) == fold(b.p[j - 1]) ? 0 : 1;
            unsigned d = SY_MIN(prev[j] + 1, cur[j - 1] + 1);
            d = SY_MIN(d, prev[j - 1] + cost);
            if (i > 1 && j > 1 && fold(a.p[i - 1]) == fold(b.p[j - 2]) &&
                fold(a.p[i - 2]) == fold(b.p[j - 1]))
                d = SY_MIN(d, pp[j - 2] + 1);
            cur[j] = d;
        }
        unsigned *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return SY_MIN(prev[b.len], 255u);
}

const char *sy_cfg_suggest(sy_str_t word, const char *const *cands, size_t n)
{
    unsigned limit = word.len <= 2 ? 0 : (word.len <= 4 ? 1 : 2);
    const char *best = NULL;
    unsigned best_d = limit + 1;
    for (size_t i = 0; i < n; i++) {
        if (cands[i] == NULL)
            continue;
        unsigned d = sy_cfg_distance(word, sy_str_c(cands[i]));
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    return best;
}
