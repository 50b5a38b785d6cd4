/*
 * json.c - the JSON parser: RFC 8259 text in, arena tree out.
 *
 * One loop, no recursion. Values being built are kept on two scratch stacks
 * (array elements, object members) plus a stack of open containers; when a
 * container closes, its children are copied into one exactly-sized arena
 * array and popped. The scratch stacks start in a few KB on the C stack and
 * move to the heap only for large documents; they are freed before return,
 * so the arena ends up holding the tree and nothing else.
 *
 * Strings are scanned 16 bytes at a time for the bytes that need attention
 * ('"', '\\', control characters, non-ASCII). A string without escapes
 * becomes a view into the source; one with escapes is validated in the same
 * scan and decoded in a second pass into the arena (the decoded form is never
 * longer than the source, so one allocation of the raw length suffices).
 */
#include "json/json.h"

#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------ scanning --- */

/* First byte in [p, end) that is '"', '\\', < 0x20 or >= 0x80, or end.
 * base <= p is where the readable text starts: fewer than 16 bytes before
 * end are tested as the window of the text's last 16 bytes when there are
 * that many (the bytes before p masked off), else by the byte loop, which
 * is the definition (tests/unit/test_json.c compares the two). */
static inline const char *scan_plain(const char *base, const char *p, const char *end)
{
    SY_UNUSED(base); /* (the SSE2 path's) */
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* Signed compare: bytes >= 0x80 are negative, so "< 0x20" catches
         * both control characters and non-ASCII. */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                                 _mm_cmplt_epi8(x, space));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask)
            return p + __builtin_ctz(mask);
        p += 16;
    }
    if (p < end && end - base >= 16) {
        const char *w = end - 16;
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)w);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                                 _mm_cmplt_epi8(x, space));
        unsigned mask = (unsigned)_mm_movemask_epi8(m) >> (p - w);
        return mask ? p + __builtin_ctz(mask) : end;
    }
#elif defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* Eight bytes at a time with the classic "has zero byte" tricks; the
     * lowest flagged byte is always a true hit, so ctz finds the first. */
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
        uint64_t t = (w & highs) | ((w - ones * 0x20) & ~w & highs) | ((q - ones) & ~q & highs) |
                     ((b - ones) & ~b & highs);
        if (t)
            return p + (__builtin_ctzll(t) >> 3);
        p += 8;
    }
#endif
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
            break;
        p++;
    }
    return p;
}

size_t sy_json_plain_prefix(const char *p, size_t n)
{
    if (n == 0)
        return 0;
#if defined(__SSE2__)
    if (n < 16) {
        /* A short text (a model name, a key): one test of a zero-padded
         * copy, the NUL after it stopping the scan at n at the latest. */
        char pad[16] = {0};
        sy_copy_short(pad, p, n);
        return (size_t)(scan_plain(pad, pad, pad + 16) - pad);
    }
#endif
    return (size_t)(scan_plain(p, p, p + n) - p);
}

/*
 * Length of the valid UTF-8 sequence starting at p (whose first byte is >=
 * 0x80), or 0 if invalid: overlong forms, UTF-16 surrogates, code points
 * above U+10FFFF, stray continuation bytes and truncation are all rejected
 * (Unicode's table of well-formed byte sequences).
 */
static inline size_t utf8_valid_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t avail = (size_t)(end - p);
    if (c < 0xC2)
        return 0;
    if (c < 0xE0)
        return (avail >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c < 0xF0) {
        if (avail < 3 || (p[2] & 0xC0) != 0x80)
            return 0;
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return (p[1] >= lo && p[1] <= hi) ? 3 : 0;
    }
    if (c < 0xF5) {
        if (avail < 4 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return (p[1] >= lo && p[1] <= hi) ? 4 : 0;
    }
    return 0;
}

size_t sy_json_utf8_len(const char *p, size_t n)
{
    if (n == 0)
        return 0;
    if ((unsigned char)p[0] < 0x80)
        return 1;
    return utf8_valid_len((const unsigned char *)p, (const unsigned char *)p + n);
}

static inline int hex_val(unsigned char c)
{
    if ((unsigned)(c - '0') < 10)
        return c - '0';
    c |= 0x20;
    if ((unsigned)(c - 'a') < 6)
        return c - 'a' + 10;
    return -1;
}

/* Four hex digits at p as a number, or -1. */
static inline int32_t hex4(const char *p)
{
    int a = hex_val((unsigned char)p[0]), b = hex_val((unsigned char)p[1]);
    int c = hex_val((unsigned char)p[2]), d = hex_val((unsigned char)p[3]);
    if ((a | b | c | d) < 0)
        return -1;
    return (int32_t)((a << 12) | (b << 8) | (c << 4) | d);
}

static inline size_t utf8_encode(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Decode the body of a string already validated by parse_string (escapes
 * well-formed, UTF-8 valid) into the arena. Surrogate pairs combine; a lone
 * surrogate becomes U+FFFD (documented policy: output stays valid UTF-8).
 */
static sy_str_t decode_string(sy_arena_t *a, const char *s, size_t n)
{
    char *d = sy_arena_alloc(a, n), *o = d;
    const char *p = s, *e = s + n;
    while (p < e) {
        const char *bs = memchr(p, '\\', (size_t)(e - p));
        if (bs == NULL) {
            memcpy(o, p, (size_t)(e - p));
            o += e - p;
            break;
        }
        memcpy(o, p, (size_t)(bs - p));
        o += bs - p;
        char c = bs[1];
        p = bs + 2;
        switch (c) {
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            uint32_t cp = (uint32_t)hex4(p);
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                int32_t lo = -1;
                if (e - p >= 6 && p[0] == '\\' && p[1] == 'u')
                    lo = hex4(p + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
                    p += 6;
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            o += utf8_encode(o, cp);
            break;
        }
        default:
            *o++ = c;
            break; /* '"', '\\', '/' */
        }
    }
    return (sy_str_t){d, (size_t)(o - d)};
}

/* -------------------------------------------------------------- parser --- */

#define INLINE_VALS   64
#define INLINE_MEMS   64
#define INLINE_FRAMES 32

/* An open container: where its children start on their scratch stack. */
typedef struct {
    size_t start;
    bool is_obj;
} frame_t;

typedef struct {
    sy_arena_t *a;
    const char *src, *end;
    size_t max_depth, max_string, max_number;
    const char *err_at;
    const char *err_msg;
    int err_code;
    sy_json_t *vals;
    size_t nvals, capvals;
    sy_json_member_t *mems;
    size_t nmems, capmems;
    frame_t *frames;
    size_t nframes, capframes;
    sy_json_t vals_inline[INLINE_VALS];
    sy_json_member_t mems_inline[INLINE_MEMS];
    frame_t frames_inline[INLINE_FRAMES];
} parser_t;

/* Double a scratch stack; the first growth moves it off the C stack. */
static void *stack_grow(void *p, size_t *cap, size_t elem, const void *inline_buf)
{
    size_t ncap = *cap * 2;
    if (ncap < *cap || ncap > SIZE_MAX / elem)
        sy_panic("json: scratch stack overflow");
    void *q;
    if (p == inline_buf) {
        q = sy_malloc(ncap * elem);
        memcpy(q, p, *cap * elem);
    } else {
        q = sy_realloc(p, ncap * elem);
    }
    *cap = ncap;
    return q;
}

static const char *fail(parser_t *ps, const char *at, int code, const char *msg)
{
    ps->err_at = at;
    ps->err_code = code;
    ps->err_msg = msg;
    return NULL;
}

static inline bool is_digit(char c)
{
    return (unsigned)(c - '0') < 10;
}

/*
 * Parse a string whose opening quote is at p[-1]. On success stores the
 * value and returns the position after the closing quote; on failure
 * returns NULL with the error recorded.
 */
static const char *parse_string(parser_t *ps, const char *p, sy_str_t *out, uint32_t *flags)
{
    const char *start = p, *end = ps->end;
    bool esc = false, high = false;
    for (;;) {
        p = scan_plain(ps->src, p, end);
        if (SY_UNLIKELY(p == end))
            return fail(ps, start - 1, SY_EINVAL, "unterminated string");
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c == '\\') {
            esc = true;
            if (end - p < 2)
                return fail(ps, start - 1, SY_EINVAL, "unterminated string");
            switch (p[1]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                p += 2;
                continue;
            case 'u':
                if (end - p < 6 || hex4(p + 2) < 0)
                    return fail(ps, p, SY_EINVAL, "invalid \\u escape (expected four hex digits)");
                p += 6;
                continue;
            default:
                return fail(ps, p, SY_EINVAL, "invalid escape sequence in string");
            }
        }
        if (c < 0x20)
            return fail(ps, p, SY_EINVAL, "unescaped control character in string");
        size_t n = utf8_valid_len((const unsigned char *)p, (const unsigned char *)end);
        if (n == 0)
            return fail(ps, p, SY_EINVAL, "invalid UTF-8 in string");
        high = true;
        p += n;
    }
    size_t raw = (size_t)(p - start);
    if (SY_UNLIKELY(raw > ps->max_string))
        return fail(ps, start - 1, SY_ETOOBIG, "string longer than the limit");
    if (!esc) {
        *out = (sy_str_t){start, raw};
        *flags = SY_JSON_F_UTF8 | SY_JSON_F_VERBATIM | (high ? 0 : SY_JSON_F_ASCII);
    } else {
        *out = decode_string(ps->a, start, raw);
        *flags = SY_JSON_F_UTF8;
    }
    return p + 1;
}

/* A number per RFC 8259 section 6, kept as raw text. */
static const char *parse_number(parser_t *ps, const char *p, sy_json_t *slot)
{
    const char *s = p, *end = ps->end;
    if (*p == '-')
        p++;
    if (p == end || !is_digit(*p))
        return fail(ps, p, SY_EINVAL, "expected a digit in number");
    if (*p == '0') {
        p++;
    } else {
        do
            p++;
        while (p < end && is_digit(*p));
    }
    if (p < end && *p == '.') {
        p++;
        if (p == end || !is_digit(*p))
            return fail(ps, p, SY_EINVAL, "expected a digit after the decimal point");
        do
            p++;
        while (p < end && is_digit(*p));
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || !is_digit(*p))
            return fail(ps, p, SY_EINVAL, "expected a digit in the exponent");
        do
            p++;
        while (p < end && is_digit(*p));
    }
    size_t n = (size_t)(p - s);
    if (SY_UNLIKELY(n > ps->max_number))
        return fail(ps, s, SY_ETOOBIG, "number longer than the limit");
    slot->type = SY_JSON_NUMBER;
    slot->flags = 0;
    slot->u.num = (sy_str_t){s, n};
    return p;
}

static inline bool is_ws(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

#define SKIP_WS()                                                                                  \
    do {                                                                                           \
        while (p < end && is_ws(*p))                                                               \
            p++;                                                                                   \
    } while (0)

static inline sy_json_t *push_val(parser_t *ps)
{
    if (SY_UNLIKELY(ps->nvals == ps->capvals))
        ps->vals = stack_grow(ps->vals, &ps->capvals, sizeof(sy_json_t), ps->vals_inline);
    return &ps->vals[ps->nvals++];
}

static inline sy_json_member_t *push_mem(parser_t *ps)
{
    if (SY_UNLIKELY(ps->nmems == ps->capmems))
        ps->mems = stack_grow(ps->mems, &ps->capmems, sizeof(sy_json_member_t), ps->mems_inline);
    return &ps->mems[ps->nmems++];
}

/* Pop the innermost container, copying its children into the arena. */
static const char *close_container(parser_t *ps, const char *p, sy_json_t *dst)
{
    frame_t f = ps->frames[--ps->nframes];
    size_t n;
    dst->flags = 0;
    if (f.is_obj) {
        n = ps->nmems - f.start;
        dst->type = SY_JSON_OBJECT;
        dst->u.obj.items = NULL;
        if (n) {
            if (n > UINT32_MAX)
                return fail(ps, p, SY_ETOOBIG, "too many members in object");
            dst->u.obj.items = sy_arena_alloc(ps->a, n * sizeof(sy_json_member_t));
            memcpy(dst->u.obj.items, ps->mems + f.start, n * sizeof(sy_json_member_t));
        }
        dst->u.obj.len = dst->u.obj.cap = (uint32_t)n;
        ps->nmems = f.start;
    } else {
        n = ps->nvals - f.start;
        dst->type = SY_JSON_ARRAY;
        dst->u.arr.items = NULL;
        if (n) {
            if (n > UINT32_MAX)
                return fail(ps, p, SY_ETOOBIG, "too many elements in array");
            dst->u.arr.items = sy_arena_alloc(ps->a, n * sizeof(sy_json_t));
            memcpy(dst->u.arr.items, ps->vals + f.start, n * sizeof(sy_json_t));
        }
        dst->u.arr.len = dst->u.arr.cap = (uint32_t)n;
        ps->nvals = f.start;
    }
    return p;
}

/* Where the value being completed goes: the last slot of the parent. */
static inline sy_json_t *parent_slot(parser_t *ps, sy_json_t *root)
{
    if (ps->nframes == 0)
        return root;
    if (ps->frames[ps->nframes - 1].is_obj)
        return &ps->mems[ps->nmems - 1].value;
    return &ps->vals[ps->nvals - 1];
}

static bool open_container(parser_t *ps, bool is_obj)
{
    if (SY_UNLIKELY(ps->nframes >= ps->max_depth))
        return false;
    if (SY_UNLIKELY(ps->nframes == ps->capframes))
        ps->frames = stack_grow(ps->frames, &ps->capframes, sizeof(frame_t), ps->frames_inline);
    ps->frames[ps->nframes].is_obj = is_obj;
    ps->frames[ps->nframes].start = is_obj ? ps->nmems : ps->nvals;
    ps->nframes++;
    return true;
}

static size_t limit_or(size_t v, size_t def)
{
    return v ? v : def;
}

static void fill_error(sy_json_error_t *err, const char *src, const char *at, int code,
                       const char *msg)
{
    size_t off = (size_t)(at - src), line = 1, line_start = 0;
    for (size_t i = 0; i < off; i++) {
        if (src[i] == '\n') {
            line++;
            line_start = i + 1;
        }
    }
    err->code = code;
    err->offset = off;
    err->line = line;
    err->col = off - line_start + 1;
    err->msg = msg;
}

int sy_json_parse(sy_arena_t *a, const char *src, size_t len, const sy_json_limits_t *lim,
                  sy_json_t **out, sy_json_error_t *err)
{
    static const sy_json_limits_t defaults = {0, 0, 0, 0};
    parser_t ps_storage, *ps = &ps_storage;
    sy_json_t root, *slot = &root;
    const char *p, *end;
    size_t max_input;
    int rc = SY_EINVAL;

    if (lim == NULL)
        lim = &defaults;
    if (src == NULL)
        src = "";
    *out = NULL;
    ps->a = a;
    ps->src = src;
    ps->end = end = src + len;
    ps->max_depth = SY_MIN(limit_or(lim->max_depth, SY_JSON_MAX_DEPTH), SY_JSON_MAX_DEPTH_LIMIT);
    ps->max_string = limit_or(lim->max_string, SY_JSON_MAX_STRING);
    ps->max_number = limit_or(lim->max_number, SY_JSON_MAX_NUMBER);
    max_input = limit_or(lim->max_input, SY_JSON_MAX_INPUT);
    ps->vals = ps->vals_inline;
    ps->capvals = INLINE_VALS;
    ps->mems = ps->mems_inline;
    ps->capmems = INLINE_MEMS;
    ps->frames = ps->frames_inline;
    ps->capframes = INLINE_FRAMES;
    ps->nvals = ps->nmems = ps->nframes = 0;
    p = src;

    if (len > max_input) {
        fail(ps, src + max_input, SY_ETOOBIG, "input larger than the limit");
        goto out;
    }

value:
    SKIP_WS();
    if (SY_UNLIKELY(p == end)) {
        fail(ps, p, SY_EINVAL, ps->nframes ? "unexpected end of input" : "expected a JSON value");
        goto out;
    }
    switch (*p) {
    case '"':
        p = parse_string(ps, p + 1, &slot->u.str, &slot->flags);
        if (p == NULL)
            goto out;
        slot->type = SY_JSON_STRING;
        goto after;
    case '{':
        if (!open_container(ps, true)) {
            fail(ps, p, SY_ETOOBIG, "nesting deeper than the limit");
            goto out;
        }
        p++;
        SKIP_WS();
        if (p < end && *p == '}') {
            p++;
            goto close;
        }
        goto key;
    case '[':
        if (!open_container(ps, false)) {
            fail(ps, p, SY_ETOOBIG, "nesting deeper than the limit");
            goto out;
        }
        p++;
        SKIP_WS();
        if (p < end && *p == ']') {
            p++;
            goto close;
        }
        slot = push_val(ps);
        goto value;
    case 't':
        if (end - p < 4 || memcmp(p, "true", 4) != 0)
            goto bad_literal;
        slot->type = SY_JSON_TRUE;
        slot->flags = 0;
        p += 4;
        goto after;
    case 'f':
        if (end - p < 5 || memcmp(p, "false", 5) != 0)
            goto bad_literal;
        slot->type = SY_JSON_FALSE;
        slot->flags = 0;
        p += 5;
        goto after;
    case 'n':
        if (end - p < 4 || memcmp(p, "null", 4) != 0)
            goto bad_literal;
        slot->type = SY_JSON_NULL;
        slot->flags = 0;
        p += 4;
        goto after;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        p = parse_number(ps, p, slot);
        if (p == NULL)
            goto out;
        goto after;
    default:
        fail(ps, p, SY_EINVAL, "expected a JSON value");
        goto out;
    }

bad_literal:
    fail(ps, p, SY_EINVAL, "invalid literal (expected true, false or null)");
    goto out;

after:
    if (ps->nframes == 0)
        goto done;
    SKIP_WS();
    if (ps->frames[ps->nframes - 1].is_obj) {
        if (p < end && *p == ',') {
            p++;
            SKIP_WS();
            goto key;
        }
        if (p < end && *p == '}') {
            p++;
            goto close;
        }
        fail(ps, p, SY_EINVAL, "expected ',' or '}' after object member");
        goto out;
    }
    if (p < end && *p == ',') {
        p++;
        slot = push_val(ps);
        goto value;
    }
    if (p < end && *p == ']') {
        p++;
        goto close;
    }
    fail(ps, p, SY_EINVAL, "expected ',' or ']' after array element");
    goto out;

key : {
    if (p == end || *p != '"') {
        fail(ps, p, SY_EINVAL, "expected a string key");
        goto out;
    }
    sy_json_member_t *m = push_mem(ps);
    uint32_t kflags;
    p = parse_string(ps, p + 1, &m->key, &kflags);
    if (p == NULL)
        goto out;
    SKIP_WS();
    if (p == end || *p != ':') {
        fail(ps, p, SY_EINVAL, "expected ':' after object key");
        goto out;
    }
    p++;
    slot = &m->value;
    goto value;
}

close : {
    sy_json_t done_val;
    if (close_container(ps, p, &done_val) == NULL)
        goto out;
    *parent_slot(ps, &root) = done_val;
    goto after;
}

done:
    SKIP_WS();
    if (p != end) {
        fail(ps, p, SY_EINVAL, "unexpected data after the JSON value");
        goto out;
    }
    *out = sy_arena_alloc(a, sizeof(sy_json_t));
    **out = root;
    rc = SY_OK;

out:
    if (rc != SY_OK) {
        rc = ps->err_code;
        if (err)
            fill_error(err, src, ps->err_at, ps->err_code, ps->err_msg);
    } else if (err) {
        *err = (sy_json_error_t){0, 0, 0, 0, NULL};
    }
    if (ps->vals != ps->vals_inline)
        free(ps->vals);
    if (ps->mems != ps->mems_inline)
        free(ps->mems);
    if (ps->frames != ps->frames_inline)
        free(ps->frames);
    return rc;
}
