/*
 * json_scan.c - the members of a JSON object's text, without a tree.
 *
 * The data path reads or rewrites one or two members of a body it otherwise
 * relays byte for byte (the model of a passthrough request, the usage of a
 * passthrough answer). Building the whole tree for that costs far more than
 * walking the text: a skipped value is only looked at for its string quotes
 * and its brackets. The walk checks the structure (strings closed, brackets
 * matched, members separated by commas, nothing after the object) but not
 * the grammar of numbers and literals, nor UTF-8: callers use it on text the
 * full parser has validated, or treat what it finds as a hint that a full
 * parse confirms when it matters.
 */
#include "json/json.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static inline const char *skip_ws(const char *p, const char *end)
{
    if (p < end && (unsigned char)*p > ' ')
        return p; /* the usual case: no whitespace (one test, not four) */
    while (p < end && is_ws(*p))
        p++;
    return p;
}

/* The first '"' or '\\' in [p, end), or end: 16 bytes at a time with SSE2
 * (baseline on x86-64), a byte loop elsewhere. The last few bytes are the
 * window of the text's last 16 (base <= p: where the text starts; the
 * bytes before p masked off) when the text has that many, else the byte
 * loop's. Unlike the parser's scan it ignores control and non-ASCII bytes:
 * a skip only has to find where a string ends, and the full parser judges
 * the rest when it matters. */
#if defined(__SSE2__)
static inline unsigned quote_mask16(const char *p)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    return (unsigned)_mm_movemask_epi8(
        _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')), _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));
}
#endif

static inline const char *find_quote(const char *base, const char *p, const char *end)
{
    SY_UNUSED(base); /* (the SSE2 path's) */
#if defined(__SSE2__)
    while (end - p >= 16) {
        unsigned mask = quote_mask16(p);
        if (mask)
            return p + __builtin_ctz(mask);
        p += 16;
    }
    if (p < end && end - base >= 16) {
        unsigned mask = quote_mask16(end - 16) >> (p - (end - 16));
        return mask ? p + __builtin_ctz(mask) : end;
    }
#endif
    while (p < end && *p != '"' && *p != '\\')
        p++;
    return p;
}

/* p is just past an opening quote: the position just past the closing one,
 * or NULL. *escaped is set when the string holds a backslash escape (the
 * byte after a backslash never closes the string). */
static const char *skip_string(const char *base, const char *p, const char *end, bool *escaped)
{
    for (;;) {
        p = find_quote(base, p, end);
        if (p >= end)
            return NULL;
        if (*p == '"')
            return p + 1;
        *escaped = true;
        p += 2;
    }
}

/* The bytes that end a number or literal. */
static const bool ends_scalar[256] = {[' '] = true,  ['\t'] = true, ['\n'] = true, ['\r'] = true,
                                      [','] = true,  ['}'] = true,  [']'] = true,  [':'] = true,
                                      ['"'] = true,  ['{'] = true,  ['['] = true};

/* Where the walk through a container stands. */
typedef struct {
    uint64_t kinds[SY_JSON_SCAN_MAX_DEPTH / 64]; /* bit set: an object, clear: an array */
    unsigned depth;
    bool in_str;
} nest_t;

/* One byte of interest c (a quote, a backslash or a bracket). Returns 1
 * when the container closed there, -1 when it is malformed, 0 otherwise;
 * *skip is set when the next byte is escaped (it must not be looked at). */
static inline int nest_byte(nest_t *n, char c, bool *skip)
{
    if (n->in_str) {
        if (c == '"')
            n->in_str = false;
        else if (c == '\\')
            *skip = true;
        return 0; /* brackets inside a string are text */
    }
    if (c == '"') {
        n->in_str = true;
    } else if (c == '{' || c == '[') {
        if (n->depth == SY_JSON_SCAN_MAX_DEPTH)
            return -1;
        uint64_t bit = 1ull << (n->depth % 64);
        if (c == '{')
            n->kinds[n->depth / 64] |= bit;
        else
            n->kinds[n->depth / 64] &= ~bit;
        n->depth++;
    } else if (c == '}' || c == ']') {
        if (n->depth == 0)
            return -1;
        n->depth--;
        bool obj = (n->kinds[n->depth / 64] >> (n->depth % 64)) & 1;
        if (obj != (c == '}'))
            return -1;
        if (n->depth == 0)
            return 1;
    }
    return 0; /* (a backslash outside a string is left to the parser) */
}

#if defined(__SSE2__)
/* The bytes of interest in 64 bytes at p, one bit per byte (bit i: p[i]). */
typedef struct {
    uint64_t quote, bslash, bracket; /* '"'; '\\'; one of "{}[]" */
} block_t;

static inline void block_scan(const char *p, block_t *b)
{
    /* '[' and ']' are '{' and '}' without bit 0x20: one compare each for
     * both after setting that bit (no other byte maps onto either). */
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  open = _mm_set1_epi8('{'), close = _mm_set1_epi8('}'), bit = _mm_set1_epi8(0x20);
    b->quote = b->bslash = b->bracket = 0;
    for (unsigned k = 0; k < 64; k += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + k));
        __m128i y = _mm_or_si128(x, bit);
        __m128i br = _mm_or_si128(_mm_cmpeq_epi8(y, open), _mm_cmpeq_epi8(y, close));
        b->quote |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, quote)) << k;
        b->bslash |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, bslash)) << k;
        b->bracket |= (uint64_t)(unsigned)_mm_movemask_epi8(br) << k;
    }
}

/* Bit i of the result: the XOR of bits 0..i of x (set from an opening
 * quote up to, not including, its closing quote). */
static inline uint64_t prefix_xor(uint64_t x)
{
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

/* One 64-byte block of a container's walk: the index just past the
 * container's end, -1 when it continues past the block, -2 when it is
 * malformed. A block without backslashes is done with masks: the bytes
 * inside strings follow from the quotes alone, so only the brackets
 * outside strings are visited; a block with one has every byte of
 * interest visited in order. */
static int block_walk(const char *p, nest_t *n, bool *skip)
{
    block_t b;
    block_scan(p, &b);
    if (b.bslash == 0 && !*skip) {
        uint64_t inside = prefix_xor(b.quote) ^ (n->in_str ? ~0ull : 0);
        uint64_t br = b.bracket & ~inside;
        n->in_str = false; /* at each of those brackets */
        while (br) {
            unsigned i = (unsigned)__builtin_ctzll(br);
            br &= br - 1;
            int r = nest_byte(n, p[i], skip);
            if (r)
                return r > 0 ? (int)i + 1 : -2;
        }
        n->in_str = inside >> 63;
        return -1;
    }
    uint64_t all = b.quote | b.bslash | b.bracket;
    if (*skip) {
        all &= ~1ull;
        *skip = false;
    }
    while (all) {
        unsigned i = (unsigned)__builtin_ctzll(all);
        all &= all - 1;
        int r = nest_byte(n, p[i], skip);
        if (r)
            return r > 0 ? (int)i + 1 : -2;
        if (*skip && i < 63) {
            all &= ~(1ull << (i + 1));
            *skip = false;
        }
    }
    return -1;
}
#endif

/*
 * A container starting at p ('{' or '['): the position just past its end,
 * or NULL. With SSE2 the text goes 64 bytes at a time (block_walk); the
 * last few bytes are copied into a zeroed block (a NUL is of no interest).
 */
static const char *skip_container(const char *p, const char *end)
{
    nest_t n;
    n.depth = 0;
    n.in_str = false;
    bool skip = false;
#if defined(__SSE2__)
    for (; end - p >= 64; p += 64) {
        int r = block_walk(p, &n, &skip);
        if (r >= 0)
            return p + r;
        if (r == -2)
            return NULL;
    }
    if (p < end) {
        char last[64] = {0};
        memcpy(last, p, (size_t)(end - p));
        int r = block_walk(last, &n, &skip);
        return r >= 0 ? p + r : NULL;
    }
    return NULL;
#else
    for (; p < end; p++) {
        if (skip) {
            skip = false;
            continue;
        }
        char c = *p;
        if (c != '"' && c != '\\' && c != '{' && c != '}' && c != '[' && c != ']')
            continue;
        int r = nest_byte(&n, c, &skip);
        if (r)
            return r > 0 ? p + 1 : NULL;
    }
    return NULL;
#endif
}

/* One value starting at p (no leading whitespace): the position just past
 * it, or NULL when it is malformed or nested deeper than
 * SY_JSON_SCAN_MAX_DEPTH. */
static const char *skip_value(const char *base, const char *p, const char *end)
{
    bool esc = false;
    if (p >= end)
        return NULL;
    if (*p == '"')
        return skip_string(base, p + 1, end, &esc);
    if (*p == '{' || *p == '[')
        return skip_container(p, end);
    const char *s = p;
    while (p < end && !ends_scalar[(unsigned char)*p])
        p++;
    return p > s ? p : NULL;
}

int sy_json_members_init(sy_json_members_t *it, sy_str_t text)
{
    const char *p = text.p, *end = text.p + text.len;
    p = skip_ws(p, end);
    if (p == end || *p != '{')
        return SY_EINVAL;
    it->p = p + 1;
    it->start = text.p;
    it->end = end;
    it->first = true;
    it->done = false;
    return SY_OK;
}

int sy_json_members_key(sy_json_members_t *it, sy_json_span_t *m)
{
    if (it->done)
        return SY_ENOTFOUND;
    const char *p = skip_ws(it->p, it->end), *end = it->end;
    if (p == end)
        return SY_EINVAL;
    if (*p == '}') {
        if (skip_ws(p + 1, end) != end)
            return SY_EINVAL; /* something after the object */
        it->done = true;
        it->p = p + 1;
        return SY_ENOTFOUND;
    }
    if (!it->first) {
        if (*p != ',')
            return SY_EINVAL;
        p = skip_ws(p + 1, end);
    }
    if (p == end || *p != '"')
        return SY_EINVAL;
    const char *k = p;
    bool esc = false;
    p = skip_string(it->start, p + 1, end, &esc);
    if (p == NULL)
        return SY_EINVAL;
    m->key = sy_str(k + 1, (size_t)(p - k - 2));
    m->key_escaped = esc;
    p = skip_ws(p, end);
    if (p == end || *p != ':')
        return SY_EINVAL;
    p = skip_ws(p + 1, end);
    if (p == end)
        return SY_EINVAL;
    m->value = sy_str(p, 0);
    m->member = sy_str(k, (size_t)(p - k));
    it->p = p;
    return SY_OK;
}

int sy_json_members_value(sy_json_members_t *it, sy_json_span_t *m, size_t len)
{
    const char *v = it->p;
    const char *p = len ? (len <= (size_t)(it->end - v) ? v + len : NULL) : skip_value(it->start, v, it->end);
    if (p == NULL)
        return SY_EINVAL;
    m->value = sy_str(v, (size_t)(p - v));
    m->member = sy_str(m->member.p, (size_t)(p - m->member.p));
    it->p = p;
    it->first = false;
    return SY_OK;
}

int sy_json_members_next(sy_json_members_t *it, sy_json_span_t *m)
{
    int rc = sy_json_members_key(it, m);
    return rc == SY_OK ? sy_json_members_value(it, m, 0) : rc;
}
