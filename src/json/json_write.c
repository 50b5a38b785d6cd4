/*
 * json_write.c - compact JSON writer into a capped sy_buf_t.
 *
 * The writer keeps a sticky error: once a call fails (buffer cap, nesting
 * cap, misuse) every later call does nothing, and sy_json_write_finish()
 * reports the first error and truncates the buffer back to where it started.
 * Commas and colons come from a tiny state: one "is object" bit per open
 * level plus two flags for the innermost level.
 *
 * Output is always valid UTF-8 JSON: strings are escaped ('"', '\\' and
 * control characters; U+2028/2029 on request) and invalid UTF-8 in strings
 * the caller built becomes U+FFFD. Strings the parser marked VERBATIM are
 * copied without a second look.
 */
#include "json/json.h"

#include "core/fmt.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline void w_fail(sy_json_writer_t *w, int rc)
{
    if (w->err == SY_OK)
        w->err = rc;
}

/* Append n bytes; the common case is one bounds check and a copy. */
static inline void put(sy_json_writer_t *w, const char *p, size_t n)
{
    sy_buf_t *b = w->buf;
    if (SY_UNLIKELY(w->err) || n == 0)
        return;
    if (SY_LIKELY(sy_buf_room(b) >= n && (b->max == 0 || b->len + n <= b->max))) {
        sy_copy_short(sy_buf_tail(b), p, n);
        b->len += n;
        return;
    }
    int rc = sy_buf_append(b, p, n);
    if (rc)
        w_fail(w, rc);
}

static inline void put_c(sy_json_writer_t *w, char c)
{
    put(w, &c, 1);
}

/* Room for n more bytes at the buffer's tail, for a few pieces written with
 * one check (then sy_buf_commit); NULL once the writer has failed. */
static inline char *claim(sy_json_writer_t *w, size_t n)
{
    sy_buf_t *b = w->buf;
    if (SY_UNLIKELY(w->err))
        return NULL;
    if (SY_UNLIKELY(sy_buf_room(b) < n || (b->max != 0 && b->len + n > b->max))) {
        int rc = sy_buf_reserve(b, n);
        if (rc) {
            w_fail(w, rc);
            return NULL;
        }
    }
    return sy_buf_tail(b);
}

/* '"' p[0..n) '"' then `tail` (0 for none) at t; returns the bytes written. */
static inline size_t quoted_at(char *t, const char *p, size_t n, char tail)
{
    t[0] = '"';
    sy_copy_short(t + 1, p, n);
    t[n + 1] = '"';
    if (tail == 0)
        return n + 2;
    t[n + 2] = tail;
    return n + 3;
}

void sy_json_writer_init(sy_json_writer_t *w, sy_buf_t *buf, uint32_t flags)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->flags = flags;
    w->start_len = buf->len;
}

static inline bool top_is_obj(const sy_json_writer_t *w)
{
    uint32_t d = w->depth - 1;
    return (w->is_obj[d >> 3] >> (d & 7)) & 1;
}

/* Before any value: place the comma, check a value is allowed here. */
static bool before_value(sy_json_writer_t *w)
{
    if (w->err)
        return false;
    if (w->depth == 0) {
        if (w->root_done) {
            w_fail(w, SY_EINVAL); /* a second top-level value */
            return false;
        }
        return true;
    }
    if (top_is_obj(w)) {
        if (!w->after_key) {
            w_fail(w, SY_EINVAL); /* a value where a key is due */
            return false;
        }
        w->after_key = false;
        return true;
    }
    if (w->has_items)
        put_c(w, ',');
    w->has_items = true;
    return true;
}

static inline void after_value(sy_json_writer_t *w)
{
    if (w->depth == 0)
        w->root_done = true;
}

/* ------------------------------------------------------------- strings --- */

static const char hex_digits[] = "0123456789abcdef";

/* The escape for one ASCII byte that needs one: '"', '\\' or a control.
 * Short forms come from constant strings (no byte-wise stack buffer to
 * reload, which stalls store forwarding on the hot path). */
static void put_escape(sy_json_writer_t *w, unsigned char c)
{
    const char *e;
    switch (c) {
    case '"':
        e = "\\\"";
        break;
    case '\\':
        e = "\\\\";
        break;
    case '\b':
        e = "\\b";
        break;
    case '\f':
        e = "\\f";
        break;
    case '\n':
        e = "\\n";
        break;
    case '\r':
        e = "\\r";
        break;
    case '\t':
        e = "\\t";
        break;
    default: {
        char u[6] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 15]};
        put(w, u, 6);
        return;
    }
    }
    put(w, e, 2);
}

/*
 * Length of the prefix of p[0..n) free of '"', '\\' and bytes < 0x20: the
 * only bytes that need escaping in a string already known to be valid UTF-8
 * (when U+2028/2029 stay as they are). Non-ASCII text is skipped at full speed.
 */
static inline size_t scan_escapable(const char *p, size_t n)
{
    const char *s = p, *end = p + n;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\');
    const __m128i ctl = _mm_set1_epi8(0x1F);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* Unsigned x <= 0x1F exactly when max(x, 0x1F) == 0x1F. */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                                 _mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask)
            return (size_t)(p - s) + (size_t)__builtin_ctz(mask);
        p += 16;
    }
#elif defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* SWAR, as in the parser's scanner, without the non-ASCII test. */
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
        uint64_t t = ((w - ones * 0x20) & ~w & highs) | ((q - ones) & ~q & highs) |
                     ((b - ones) & ~b & highs);
        if (t)
            return (size_t)(p - s) + (size_t)(__builtin_ctzll(t) >> 3);
        p += 8;
    }
#endif
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == '"' || c == '\\')
            break;
        p++;
    }
    return (size_t)(p - s);
}

/*
 * A string known to be valid UTF-8, written with U+2028/2029 as they are (or
 * known to be ASCII): only ASCII escapes can apply, and VERBATIM says there
 * are none, so those strings are a single copy.
 */
static void emit_utf8_string(sy_json_writer_t *w, const char *p, size_t n, uint32_t vflags)
{
    const char *end = p + n;
    put_c(w, '"');
    if (vflags & SY_JSON_F_VERBATIM) {
        put(w, p, n);
        put_c(w, '"');
        return;
    }
    for (;;) {
        size_t k = scan_escapable(p, (size_t)(end - p));
        put(w, p, k);
        p += k;
        if (p == end)
            break;
        put_escape(w, (unsigned char)*p++);
    }
    put_c(w, '"');
}

/*
 * A quoted, escaped string. Runs of bytes that can be copied as they are
 * (plain ASCII and well-formed UTF-8) are flushed with one put each.
 */
static void emit_string(sy_json_writer_t *w, const char *p, size_t n, uint32_t vflags)
{
    bool escape_ls = (w->flags & SY_JSON_WRITE_ESCAPE_LS) != 0;
    if (n == 0) {
        put(w, "\"\"", 2);
        return;
    }
    if ((vflags & SY_JSON_F_UTF8) && !escape_ls) {
        emit_utf8_string(w, p, n, vflags);
        return;
    }
    if ((vflags & SY_JSON_F_VERBATIM) && (vflags & SY_JSON_F_ASCII)) {
        emit_utf8_string(w, p, n, vflags);
        return;
    }
    put_c(w, '"');
    const char *end = p + n, *run = p;
    while (p < end) {
        p += sy_json_plain_prefix(p, (size_t)(end - p));
        if (p == end)
            break;
        unsigned char c = (unsigned char)*p;
        if (c >= 0x80) {
            size_t len = sy_json_utf8_len(p, (size_t)(end - p));
            bool ls = len == 3 && escape_ls && c == 0xE2 && (unsigned char)p[1] == 0x80 &&
                      ((unsigned char)p[2] == 0xA8 || (unsigned char)p[2] == 0xA9);
            if (len && !ls) {
                p += len;
                continue;
            }
            put(w, run, (size_t)(p - run));
            if (ls) {
                put(w, (unsigned char)p[2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
                p += 3;
            } else {
                put(w, "\xEF\xBF\xBD", 3); /* U+FFFD for an invalid byte */
                p++;
            }
        } else {
            put(w, run, (size_t)(p - run));
            put_escape(w, c);
            p++;
        }
        run = p;
    }
    put(w, run, (size_t)(p - run));
    put_c(w, '"');
}

/* ------------------------------------------------------------- numbers --- */

/* ---------------------------------------------------------- containers --- */

static void begin(sy_json_writer_t *w, bool is_obj)
{
    if (!before_value(w))
        return;
    if (w->depth >= SY_JSON_MAX_DEPTH_LIMIT) {
        w_fail(w, SY_ETOOBIG);
        return;
    }
    put_c(w, is_obj ? '{' : '[');
    uint32_t d = w->depth++;
    if (is_obj)
        w->is_obj[d >> 3] = (uint8_t)(w->is_obj[d >> 3] | (1u << (d & 7)));
    else
        w->is_obj[d >> 3] = (uint8_t)(w->is_obj[d >> 3] & ~(1u << (d & 7)));
    w->has_items = false;
    w->after_key = false;
}

static void end(sy_json_writer_t *w, bool is_obj)
{
    if (w->err)
        return;
    if (w->depth == 0 || top_is_obj(w) != is_obj || w->after_key) {
        w_fail(w, SY_EINVAL);
        return;
    }
    put_c(w, is_obj ? '}' : ']');
    w->depth--;
    w->has_items = true; /* the parent now holds this container */
    after_value(w);
}

void sy_json_write_begin_object(sy_json_writer_t *w)
{
    begin(w, true);
}
void sy_json_write_end_object(sy_json_writer_t *w)
{
    end(w, true);
}
void sy_json_write_begin_array(sy_json_writer_t *w)
{
    begin(w, false);
}
void sy_json_write_end_array(sy_json_writer_t *w)
{
    end(w, false);
}

void sy_json_write_key(sy_json_writer_t *w, sy_str_t key)
{
    if (w->err)
        return;
    if (w->depth == 0 || !top_is_obj(w) || w->after_key) {
        w_fail(w, SY_EINVAL);
        return;
    }
    if (w->has_items)
        put_c(w, ',');
    w->has_items = true;
    emit_string(w, key.p, key.len, 0);
    put_c(w, ':');
    w->after_key = true;
}

void sy_json_write_key_plain(sy_json_writer_t *w, sy_str_t key)
{
    if (w->err)
        return;
    if (w->depth == 0 || !top_is_obj(w) || w->after_key) {
        w_fail(w, SY_EINVAL);
        return;
    }
    size_t comma = w->has_items ? 1 : 0;
    char *t = claim(w, comma + key.len + 3);
    if (t == NULL)
        return;
    if (comma)
        t[0] = ',';
    sy_buf_commit(w->buf, comma + quoted_at(t + comma, key.p, key.len, ':'));
    w->has_items = true;
    w->after_key = true;
}

/* -------------------------------------------------------------- scalars --- */

void sy_json_write_string(sy_json_writer_t *w, sy_str_t s)
{
    if (!before_value(w))
        return;
    emit_string(w, s.p, s.len, 0);
    after_value(w);
}

void sy_json_write_string_plain(sy_json_writer_t *w, sy_str_t s)
{
    if (!before_value(w))
        return;
    char *t = claim(w, s.len + 2);
    if (t == NULL)
        return;
    sy_buf_commit(w->buf, quoted_at(t, s.p, s.len, 0));
    after_value(w);
}

void sy_json_write_number_raw(sy_json_writer_t *w, sy_str_t raw)
{
    if (!before_value(w))
        return;
    if (!sy_json_number_valid(raw)) {
        w_fail(w, SY_EINVAL);
        return;
    }
    put(w, raw.p, raw.len);
    after_value(w);
}

void sy_json_write_i64(sy_json_writer_t *w, int64_t n)
{
    char buf[21];
    size_t len = 0;
    if (!before_value(w))
        return;
    if (n < 0)
        buf[len++] = '-';
    /* Negate in unsigned arithmetic so INT64_MIN works. */
    uint64_t mag = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    len += sy_fmt_u64(buf + len, mag);
    put(w, buf, len);
    after_value(w);
}

void sy_json_write_u64(sy_json_writer_t *w, uint64_t n)
{
    char buf[20];
    if (!before_value(w))
        return;
    put(w, buf, sy_fmt_u64(buf, n));
    after_value(w);
}

void sy_json_write_double(sy_json_writer_t *w, double d)
{
    char buf[32];
    if (!before_value(w))
        return;
    size_t n = sy_json_format_double(buf, d);
    if (n == 0) {
        w_fail(w, SY_EINVAL);
        return;
    }
    put(w, buf, n);
    after_value(w);
}

void sy_json_write_bool(sy_json_writer_t *w, bool b)
{
    if (!before_value(w))
        return;
    if (b)
        put(w, "true", 4);
    else
        put(w, "false", 5);
    after_value(w);
}

void sy_json_write_null(sy_json_writer_t *w)
{
    if (!before_value(w))
        return;
    put(w, "null", 4);
    after_value(w);
}

void sy_json_write_raw(sy_json_writer_t *w, sy_str_t json)
{
    if (!before_value(w))
        return;
    put(w, json.p, json.len);
    after_value(w);
}

/* ---------------------------------------------------------------- trees --- */

/*
 * Emit a tree without the per-call state machine: separators are known from
 * the loop. Recursion depth is capped at SY_JSON_MAX_DEPTH_LIMIT levels in
 * total (the parser never builds deeper trees).
 */
static void emit_value(sy_json_writer_t *w, const sy_json_t *v, uint32_t depth)
{
    switch (v->type) {
    case SY_JSON_NULL:
        put(w, "null", 4);
        return;
    case SY_JSON_FALSE:
        put(w, "false", 5);
        return;
    case SY_JSON_TRUE:
        put(w, "true", 4);
        return;
    case SY_JSON_NUMBER:
        if (!sy_json_number_valid(v->u.num)) {
            w_fail(w, SY_EINVAL);
            return;
        }
        put(w, v->u.num.p, v->u.num.len);
        return;
    case SY_JSON_STRING:
        emit_string(w, v->u.str.p, v->u.str.len, v->flags);
        return;
    case SY_JSON_ARRAY:
        if (depth >= SY_JSON_MAX_DEPTH_LIMIT) {
            w_fail(w, SY_ETOOBIG);
            return;
        }
        put_c(w, '[');
        for (uint32_t i = 0; i < v->u.arr.len && !w->err; i++) {
            if (i)
                put_c(w, ',');
            emit_value(w, &v->u.arr.items[i], depth + 1);
        }
        put_c(w, ']');
        return;
    case SY_JSON_OBJECT:
        if (depth >= SY_JSON_MAX_DEPTH_LIMIT) {
            w_fail(w, SY_ETOOBIG);
            return;
        }
        put_c(w, '{');
        for (uint32_t i = 0; i < v->u.obj.len && !w->err; i++) {
            const sy_json_member_t *m = &v->u.obj.items[i];
            if (i)
                put_c(w, ',');
            emit_string(w, m->key.p, m->key.len, 0);
            put_c(w, ':');
            emit_value(w, &m->value, depth + 1);
        }
        put_c(w, '}');
        return;
    }
    w_fail(w, SY_EINVAL); /* not a valid type */
}

void sy_json_write_value(sy_json_writer_t *w, const sy_json_t *v)
{
    if (v == NULL) {
        w_fail(w, SY_EINVAL);
        return;
    }
    if (!before_value(w))
        return;
    emit_value(w, v, w->depth);
    after_value(w);
}

int sy_json_write_finish(sy_json_writer_t *w)
{
    int rc = w->err;
    if (rc == SY_OK && (w->depth != 0 || !w->root_done))
        rc = SY_EINVAL;
    if (rc != SY_OK) {
        w->err = rc;
        if (w->buf->len > w->start_len)
            w->buf->len = w->start_len;
    }
    return rc;
}

int sy_json_serialize(const sy_json_t *v, sy_buf_t *buf, uint32_t flags)
{
    sy_json_writer_t w;
    sy_json_writer_init(&w, buf, flags);
    sy_json_write_value(&w, v);
    return sy_json_write_finish(&w);
}
