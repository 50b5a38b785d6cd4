/*
 * json_util.c - reading and editing parsed trees: lookups, dotted paths,
 * typed accessors, equality, and the builder functions the gateway uses to
 * rewrite a few fields of a request body before re-serializing it.
 */
#include "json/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sy_json_type_name(sy_json_type_t t)
{
    switch (t) {
    case SY_JSON_NULL:
        return "null";
    case SY_JSON_FALSE:
        return "false";
    case SY_JSON_TRUE:
        return "true";
    case SY_JSON_NUMBER:
        return "number";
    case SY_JSON_STRING:
        return "string";
    case SY_JSON_ARRAY:
        return "array";
    case SY_JSON_OBJECT:
        return "object";
    }
    return "?";
}

size_t sy_json_len(const sy_json_t *v)
{
    if (v == NULL)
        return 0;
    if (v->type == SY_JSON_ARRAY)
        return v->u.arr.len;
    if (v->type == SY_JSON_OBJECT)
        return v->u.obj.len;
    return 0;
}

/* ------------------------------------------------------------- lookups --- */

sy_json_t *sy_json_get_str(const sy_json_t *obj, sy_str_t key)
{
    if (obj == NULL || obj->type != SY_JSON_OBJECT)
        return NULL;
    /* Backwards, so the last duplicate wins (see json.h). */
    for (size_t i = obj->u.obj.len; i-- > 0;) {
        sy_json_member_t *m = &obj->u.obj.items[i];
        if (m->key.len == key.len && (key.len == 0 || memcmp(m->key.p, key.p, key.len) == 0))
            return &m->value;
    }
    return NULL;
}

sy_json_t *sy_json_index(const sy_json_t *arr, size_t i)
{
    if (arr == NULL || arr->type != SY_JSON_ARRAY || i >= arr->u.arr.len)
        return NULL;
    return &arr->u.arr.items[i];
}

sy_json_t *sy_json_path(const sy_json_t *v, const char *path)
{
    const char *s = path;
    if (v == NULL || path == NULL)
        return NULL;
    if (*s == '\0')
        return (sy_json_t *)v;
    for (;;) {
        const char *e = strchr(s, '.');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        sy_str_t seg = sy_str(s, n);
        if (v->type == SY_JSON_ARRAY) {
            uint64_t i;
            if (sy_str_to_u64(seg, UINT32_MAX, &i) != SY_OK)
                return NULL;
            v = sy_json_index(v, (size_t)i);
        } else {
            v = sy_json_get_str(v, seg);
        }
        if (v == NULL)
            return NULL;
        if (e == NULL)
            return (sy_json_t *)v;
        s = e + 1;
    }
}

/* ------------------------------------------------------- typed reads --- */

/*
 * A valid number's text seen as digits D (integer digits then fraction
 * digits, possibly in two pieces) times 10^exp, with leading and trailing
 * zeros of D removed. Lets integer reads be exact without strtod.
 */
typedef struct {
    bool neg;
    const char *ip, *fp; /* integer and fraction digits */
    size_t ni, nf;
    size_t skip_lead, drop_trail; /* zeros removed from the front / back of D */
    int64_t exp;
} decimal_t;

static char dec_digit(const decimal_t *d, size_t k)
{
    return k < d->ni ? d->ip[k] : d->fp[k - d->ni];
}

static void decimal_split(sy_str_t s, decimal_t *d)
{
    const char *p = s.p, *end = s.p + s.len;
    memset(d, 0, sizeof(*d));
    if (p < end && *p == '-') {
        d->neg = true;
        p++;
    }
    d->ip = p;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    d->ni = (size_t)(p - d->ip);
    d->fp = p;
    if (p < end && *p == '.') {
        d->fp = ++p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        d->nf = (size_t)(p - d->fp);
    }
    int64_t e = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        bool eneg = false;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        for (; p < end; p++)
            if (e < 1000000) /* saturate: anything this big is out of range anyway */
                e = e * 10 + (*p - '0');
        if (eneg)
            e = -e;
    }
    size_t n = d->ni + d->nf;
    while (d->skip_lead < n && dec_digit(d, d->skip_lead) == '0')
        d->skip_lead++;
    while (d->drop_trail < n - d->skip_lead && dec_digit(d, n - 1 - d->drop_trail) == '0')
        d->drop_trail++;
    d->exp = e - (int64_t)d->nf + (int64_t)d->drop_trail;
}

/* Exact magnitude of an integral number, or SY_EINVAL / SY_ETOOBIG. */
static int number_magnitude(const sy_json_t *v, bool *neg, uint64_t *mag)
{
    decimal_t d;
    if (v == NULL || v->type != SY_JSON_NUMBER)
        return SY_EINVAL;
    /* Plain digits of at most 19 (below 10^19 < 2^64), the common case
     * (counts, max_tokens), read directly. */
    const char *p = v->u.num.p;
    size_t len = v->u.num.len;
    bool minus = len && *p == '-';
    p += minus;
    len -= minus;
    if (len && len <= 19) {
        uint64_t m = 0;
        size_t i = 0;
        for (; i < len; i++) {
            unsigned dig = (unsigned)((unsigned char)p[i] - '0');
            if (dig > 9)
                break;
            m = m * 10 + dig;
        }
        if (i == len) {
            *neg = minus;
            *mag = m;
            return SY_OK;
        }
    }
    decimal_split(v->u.num, &d);
    *neg = d.neg;
    size_t n = d.ni + d.nf, from = d.skip_lead, to = n - d.drop_trail;
    if (from >= to) { /* all zeros */
        *mag = 0;
        return SY_OK;
    }
    if (d.exp < 0)
        return SY_EINVAL;
    if ((int64_t)(to - from) + d.exp > 20)
        return SY_ETOOBIG;
    uint64_t m = 0;
    for (size_t k = from; k < to; k++) {
        unsigned dig = (unsigned)(dec_digit(&d, k) - '0');
        if (m > (UINT64_MAX - dig) / 10)
            return SY_ETOOBIG;
        m = m * 10 + dig;
    }
    for (int64_t i = 0; i < d.exp; i++) {
        if (m > UINT64_MAX / 10)
            return SY_ETOOBIG;
        m *= 10;
    }
    *mag = m;
    return SY_OK;
}

int sy_json_as_i64(const sy_json_t *v, int64_t *out)
{
    bool neg;
    uint64_t m;
    int rc = number_magnitude(v, &neg, &m);
    if (rc)
        return rc;
    if (neg) {
        if (m > (uint64_t)INT64_MAX + 1)
            return SY_ETOOBIG;
        *out = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
    } else {
        if (m > (uint64_t)INT64_MAX)
            return SY_ETOOBIG;
        *out = (int64_t)m;
    }
    return SY_OK;
}

int sy_json_as_u64(const sy_json_t *v, uint64_t *out)
{
    bool neg;
    uint64_t m;
    int rc = number_magnitude(v, &neg, &m);
    if (rc)
        return rc;
    if (neg && m != 0)
        return SY_ETOOBIG;
    *out = m;
    return SY_OK;
}

/* strtod on a view: copies to a NUL-terminated buffer first, since the view
 * is not terminated and strtod's grammar is wider than JSON's. */
static double view_strtod(sy_str_t s)
{
    char small[64], *buf = small;
    if (s.len >= sizeof(small))
        buf = sy_malloc(s.len + 1);
    memcpy(buf, s.p, s.len);
    buf[s.len] = '\0';
    double d = strtod(buf, NULL);
    if (buf != small)
        free(buf);
    return d;
}

int sy_json_as_double(const sy_json_t *v, double *out)
{
    if (v == NULL || v->type != SY_JSON_NUMBER)
        return SY_EINVAL;
    double d = view_strtod(v->u.num);
    if (isinf(d))
        return SY_ETOOBIG;
    *out = d;
    return SY_OK;
}

int sy_json_as_bool(const sy_json_t *v, bool *out)
{
    if (!sy_json_is_bool(v))
        return SY_EINVAL;
    *out = v->type == SY_JSON_TRUE;
    return SY_OK;
}

int sy_json_as_str(const sy_json_t *v, sy_str_t *out)
{
    if (v == NULL || v->type != SY_JSON_STRING)
        return SY_EINVAL;
    *out = v->u.str;
    return SY_OK;
}

sy_str_t sy_json_str(const sy_json_t *v)
{
    if (v == NULL || v->type != SY_JSON_STRING)
        return SY_STR_NULL;
    return v->u.str;
}

bool sy_json_number_valid(sy_str_t s)
{
    if (s.len == 0)
        return false;
    const char *p = s.p, *end = s.p + s.len;
    if (*p == '-')
        p++;
    if (p == end || *p < '0' || *p > '9')
        return false;
    if (*p++ != '0')
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    if (p < end && *p == '.') {
        p++;
        if (p == end || *p < '0' || *p > '9')
            return false;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || *p < '0' || *p > '9')
            return false;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    return p == end;
}

/* "%.*g" of d, with the exponent's leading zeros dropped ("1e-07" -> "1e-7"). */
static size_t format_g(char buf[32], int prec, double d)
{
    /* At most 24 bytes for prec <= 17; the big scratch only keeps the
     * compiler's format-truncation analysis, which cannot know that, quiet. */
    char tmp[320];
    int n = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
    if (n <= 0 || n >= 32)
        return 0;
    memcpy(buf, tmp, (size_t)n + 1);
    char *e = strchr(buf, 'e');
    if (e) {
        char *digits = e + 2, *q = digits; /* past 'e' and its sign */
        while (q[0] == '0' && q[1] != '\0')
            q++;
        memmove(digits, q, strlen(q) + 1);
        n -= (int)(q - digits);
    }
    return (size_t)n;
}

size_t sy_json_format_double(char buf[32], double d)
{
    if (!isfinite(d))
        return 0;
    /* Round-tripping is monotone in the precision, so binary-search the
     * fewest significant digits (1..17) that read back as the same double. */
    int lo = 1, hi = 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (format_g(buf, mid, d) && strtod(buf, NULL) == d)
            hi = mid;
        else
            lo = mid + 1;
    }
    size_t n = format_g(buf, lo, d);
    /* %g picks exponent form when the exponent reaches the precision (100
     * at one digit is "1e+02"); plain digits may be shorter, so try them. */
    char *e = strchr(buf, 'e');
    if (e && e[1] == '+') {
        int exp10 = atoi(e + 2);
        if (exp10 + 1 <= 17) {
            char alt[32];
            size_t an = format_g(alt, exp10 + 1, d);
            if (an && an <= n) {
                memcpy(buf, alt, an + 1);
                n = an;
            }
        }
    }
    return n;
}

/* ------------------------------------------------------------ equality --- */

static bool equal_at(const sy_json_t *a, const sy_json_t *b, int depth)
{
    if (a->type != b->type || depth > SY_JSON_MAX_DEPTH_LIMIT)
        return false;
    switch (a->type) {
    case SY_JSON_NUMBER:
    case SY_JSON_STRING:
        return sy_str_eq(a->u.str, b->u.str);
    case SY_JSON_ARRAY:
        if (a->u.arr.len != b->u.arr.len)
            return false;
        for (uint32_t i = 0; i < a->u.arr.len; i++)
            if (!equal_at(&a->u.arr.items[i], &b->u.arr.items[i], depth + 1))
                return false;
        return true;
    case SY_JSON_OBJECT:
        if (a->u.obj.len != b->u.obj.len)
            return false;
        for (uint32_t i = 0; i < a->u.obj.len; i++) {
            const sy_json_member_t *ma = &a->u.obj.items[i], *mb = &b->u.obj.items[i];
            if (!sy_str_eq(ma->key, mb->key) || !equal_at(&ma->value, &mb->value, depth + 1))
                return false;
        }
        return true;
    default:
        return true;
    }
}

bool sy_json_equal(const sy_json_t *a, const sy_json_t *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return equal_at(a, b, 0);
}

/* ------------------------------------------------------------ building --- */

static sy_json_t *new_value(sy_arena_t *a, sy_json_type_t t)
{
    sy_json_t *v = sy_arena_calloc(a, sizeof(*v));
    v->type = t;
    return v;
}

sy_json_t *sy_json_new_null(sy_arena_t *a)
{
    return new_value(a, SY_JSON_NULL);
}

sy_json_t *sy_json_new_bool(sy_arena_t *a, bool b)
{
    return new_value(a, b ? SY_JSON_TRUE : SY_JSON_FALSE);
}

sy_json_t *sy_json_new_str(sy_arena_t *a, sy_str_t s)
{
    sy_json_t *v = new_value(a, SY_JSON_STRING);
    v->u.str = s;
    return v;
}

sy_json_t *sy_json_new_str_copy(sy_arena_t *a, sy_str_t s)
{
    return sy_json_new_str(a, sy_str_dup(a, s));
}

sy_json_t *sy_json_new_number(sy_arena_t *a, sy_str_t raw)
{
    if (!sy_json_number_valid(raw))
        return NULL;
    sy_json_t *v = new_value(a, SY_JSON_NUMBER);
    v->u.num = raw;
    return v;
}

sy_json_t *sy_json_new_i64(sy_arena_t *a, int64_t n)
{
    sy_json_t *v = new_value(a, SY_JSON_NUMBER);
    v->u.num = sy_str_c(sy_arena_sprintf(a, "%" PRId64, n));
    return v;
}

sy_json_t *sy_json_new_u64(sy_arena_t *a, uint64_t n)
{
    sy_json_t *v = new_value(a, SY_JSON_NUMBER);
    v->u.num = sy_str_c(sy_arena_sprintf(a, "%" PRIu64, n));
    return v;
}

sy_json_t *sy_json_new_double(sy_arena_t *a, double d)
{
    char buf[32];
    size_t n = sy_json_format_double(buf, d);
    if (n == 0)
        return NULL;
    sy_json_t *v = new_value(a, SY_JSON_NUMBER);
    v->u.num = sy_str_dup(a, sy_str(buf, n));
    return v;
}

sy_json_t *sy_json_new_array(sy_arena_t *a)
{
    return new_value(a, SY_JSON_ARRAY);
}
sy_json_t *sy_json_new_object(sy_arena_t *a)
{
    return new_value(a, SY_JSON_OBJECT);
}

void sy_json_set_str(sy_json_t *v, sy_str_t s)
{
    v->type = SY_JSON_STRING;
    v->flags = 0;
    v->u.str = s;
}

/* Make room for one more slot in a container's item array. */
static void *grow_items(sy_arena_t *a, void *items, uint32_t len, uint32_t *cap, size_t elem)
{
    if (len < *cap)
        return items;
    if (len == UINT32_MAX)
        return NULL;
    uint32_t ncap = len < 4 ? 4 : (len > UINT32_MAX / 2 ? UINT32_MAX : len * 2);
    void *n = sy_arena_realloc(a, items, (size_t)*cap * elem, (size_t)ncap * elem);
    *cap = ncap;
    return n;
}

sy_json_t *sy_json_append(sy_arena_t *a, sy_json_t *arr, const sy_json_t *v)
{
    if (arr == NULL || v == NULL || arr->type != SY_JSON_ARRAY)
        return NULL;
    sy_json_t copy = *v; /* v may point into arr's own items */
    sy_json_t *items =
        grow_items(a, arr->u.arr.items, arr->u.arr.len, &arr->u.arr.cap, sizeof(sy_json_t));
    if (items == NULL)
        return NULL;
    arr->u.arr.items = items;
    items[arr->u.arr.len] = copy;
    return &items[arr->u.arr.len++];
}

sy_json_t *sy_json_set(sy_arena_t *a, sy_json_t *obj, sy_str_t key, const sy_json_t *v)
{
    if (obj == NULL || v == NULL || obj->type != SY_JSON_OBJECT)
        return NULL;
    sy_json_t copy = *v;
    sy_json_member_t *items = obj->u.obj.items;
    uint32_t n = obj->u.obj.len, last = UINT32_MAX, out = 0;
    for (uint32_t i = 0; i < n; i++)
        if (sy_str_eq(items[i].key, key))
            last = i;
    if (last != UINT32_MAX) {
        /* Keep only the last duplicate, in its place; drop the earlier ones. */
        uint32_t pos = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (i != last && sy_str_eq(items[i].key, key))
                continue;
            if (i == last)
                pos = out;
            items[out++] = items[i];
        }
        obj->u.obj.len = out;
        items[pos].value = copy;
        return &items[pos].value;
    }
    items = grow_items(a, items, n, &obj->u.obj.cap, sizeof(sy_json_member_t));
    if (items == NULL)
        return NULL;
    obj->u.obj.items = items;
    items[n].key = key;
    items[n].value = copy;
    obj->u.obj.len = n + 1;
    return &items[n].value;
}

size_t sy_json_remove(sy_json_t *obj, sy_str_t key)
{
    if (obj == NULL || obj->type != SY_JSON_OBJECT)
        return 0;
    sy_json_member_t *items = obj->u.obj.items;
    uint32_t n = obj->u.obj.len, out = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (sy_str_eq(items[i].key, key))
            continue;
        if (out != i)
            items[out] = items[i];
        out++;
    }
    obj->u.obj.len = out;
    return n - out;
}
