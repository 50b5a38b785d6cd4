/*
 * parse.c - HTTP/1.1 request and response heads (RFC 9112), zero-copy.
 *
 * One forward pass over the head. Every byte is judged in order and the caps
 * are checked as soon as the bytes that break them are present, so a prefix
 * of the input either says "incomplete" or already gives the final verdict.
 * The request side is strict about everything that decides where a message
 * ends (see docs/internals/http-parse.md); the response side shares the
 * scanner with a few lenient switches for harmless deviations of real
 * servers.
 */
#include "http/parse.h"

#include <limits.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Character classes, one bit each, for the byte-at-a-time loops. */
enum {
    C_TOKEN = 1,   /* tchar (RFC 9110 5.6.2): methods, field names, codings */
    C_VALUE = 2,   /* field-vchar, SP, HTAB: request field values, reasons */
    C_RVALUE = 4,  /* anything but NUL, CR, LF: response field values */
    C_TARGET = 8,  /* VCHAR except '#': request-target, version tokens */
    C_HOST = 16,   /* reg-name, IP-literal and port characters */
    C_SP = 32,     /* SP alone */
};

static const uint8_t cls[256] = {
     0,  4,  4,  4,  4,  4,  4,  4,  4,  6,  0,  4,  4,  0,  4,  4,
     4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
    38, 31, 14,  7, 31, 31, 31, 31, 30, 30, 31, 31, 30, 31, 31, 14,
    31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 30, 30, 14, 30, 14, 14,
    14, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31,
    31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 30, 14, 30, 15, 31,
    15, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31,
    31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 14, 15, 14, 31,  4,
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,
};

static inline bool is(char c, int k) { return (cls[(unsigned char)c] & k) != 0; }
static inline bool is_ws(char c) { return c == ' ' || c == '\t'; }

/* The first byte in [p, end) that may not appear in a field value (a request's
 * C_VALUE, a response's C_RVALUE), or end. Values are most of a head's bytes,
 * so 16 are judged at once where SSE2 is there (always on x86-64); the byte
 * loop after it is the definition and does the tail. The result is the same
 * either way: tests/unit/test_http_parse.c compares the two. */
static inline size_t value_span_at(const char *b, size_t p, size_t end, bool response)
{
#if defined(__SSE2__)
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
    const __m128i zero = _mm_setzero_si128(), c1f = _mm_set1_epi8(0x1f);
    const __m128i tab = _mm_set1_epi8('\t'), del = _mm_set1_epi8(0x7f);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(b + p));
        __m128i stop;
        if (response) { /* NUL, CR, LF */
            stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)),
                                _mm_cmpeq_epi8(v, zero));
        } else { /* CTL but HTAB (unsigned v <= 0x1f), DEL */
            __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v);
            stop = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, tab), ctl),
                                _mm_cmpeq_epi8(v, del));
        }
        unsigned m = (unsigned)_mm_movemask_epi8(stop);
        if (m)
            return p + (size_t)__builtin_ctz(m);
        p += 16;
    }
#endif
    int k = response ? C_RVALUE : C_VALUE;
    while (p < end && is(b[p], k))
        p++;
    return p;
}

/* A span under 16 bytes (the HTTP client checks each header name and
 * value it sends; most are short) is one 16-byte step over a zero-padded
 * copy instead of the byte loop. NUL ends every class, so the answer is at
 * most the span's length, and the same as the byte loop's. */
#if defined(__SSE2__)
static inline bool short_span(const char *b, size_t p, size_t end, char pad[16])
{
    if (end <= p || end - p >= 16)
        return false;
    memset(pad, 0, 16);
    sy_copy_short(pad, b + p, end - p);
    return true;
}
#endif

size_t sy_http_value_span(const char *b, size_t p, size_t end, bool response)
{
#if defined(__SSE2__)
    char pad[16];
    if (short_span(b, p, end, pad))
        return p + SY_MIN(value_span_at(pad, 0, 16, response), end - p);
    /* Longer: its whole 16-byte steps, then (the bytes before it known to
     * belong) the window of its last 16 bytes instead of the byte loop. */
    size_t full = p + (end - p) / 16 * 16, r = value_span_at(b, p, full, response);
    if (r < full || full == end)
        return r;
    return value_span_at(b, end - 16, end, response);
#else
    return value_span_at(b, p, end, response);
#endif
}

/* The first index in [p, end) of a byte outside C_TARGET (VCHAR but '#'),
 * or end: the request target and the version tokens, 16 bytes at a time. */
static inline size_t target_span_at(const char *b, size_t p, size_t end)
{
#if defined(__SSE2__)
    const __m128i bang = _mm_set1_epi8('!'), span = _mm_set1_epi8('~' - '!');
    const __m128i hash = _mm_set1_epi8('#');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(b + p));
        __m128i t = _mm_sub_epi8(v, bang); /* VCHAR: 0..0x5d unsigned */
        __m128i ok = _mm_andnot_si128(_mm_cmpeq_epi8(v, hash),
                                      _mm_cmpeq_epi8(_mm_min_epu8(t, span), t));
        unsigned m = ~(unsigned)_mm_movemask_epi8(ok) & 0xffffu;
        if (m)
            return p + (size_t)__builtin_ctz(m);
        p += 16;
    }
#endif
    while (p < end && is(b[p], C_TARGET))
        p++;
    return p;
}

size_t sy_http_target_span(const char *b, size_t p, size_t end)
{
    return target_span_at(b, p, end);
}

/* The first index in [p, end) of a byte that is not a tchar, or end. Field
 * names are letters, digits and '-' nearly always: 16 bytes at a time skip a
 * run of those (each one a tchar), and the class loop decides the rest, so
 * the answer is the class loop's. */
static inline size_t token_span_at(const char *b, size_t p, size_t end)
{
#if defined(__SSE2__)
    const __m128i a = _mm_set1_epi8('a'), d0 = _mm_set1_epi8('0'), dash = _mm_set1_epi8('-');
    const __m128i low = _mm_set1_epi8(0x20), n25 = _mm_set1_epi8(25), n9 = _mm_set1_epi8(9);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(b + p));
        __m128i al = _mm_sub_epi8(_mm_or_si128(v, low), a); /* letter: 0..25 unsigned */
        __m128i dg = _mm_sub_epi8(v, d0);                    /* digit: 0..9 unsigned */
        __m128i ok = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(al, n25), al),
                                  _mm_cmpeq_epi8(_mm_min_epu8(dg, n9), dg));
        ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, dash));
        unsigned m = ~(unsigned)_mm_movemask_epi8(ok) & 0xffffu;
        if (m) {
            p += (size_t)__builtin_ctz(m);
            break;
        }
        p += 16;
    }
#endif
    while (p < end && is(b[p], C_TOKEN))
        p++;
    return p;
}

size_t sy_http_token_span(const char *b, size_t p, size_t end)
{
#if defined(__SSE2__)
    char pad[16];
    if (short_span(b, p, end, pad))
        return p + SY_MIN(token_span_at(pad, 0, 16), end - p);
    size_t full = p + (end - p) / 16 * 16, r = token_span_at(b, p, full);
    if (r < full || full == end)
        return r;
    return token_span_at(b, end - 16, end);
#else
    return token_span_at(b, p, end);
#endif
}

/* n bytes at p equal the lower-case literal lit, ASCII case-insensitively:
 * the few names and values the parser acts on, without a strlen or a call. */
static inline bool ieq_lit(const char *p, const char *lit, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if ((unsigned)(c - 'A') < 26u)
            c = (unsigned char)(c | 0x20);
        if (c != (unsigned char)lit[i])
            return false;
    }
    return true;
}
/* A field name (tchars only: the caller scanned it) of n bytes equals the
 * lower-case literal lit, made of letters and '-'. OR-ing 0x20 into a byte
 * lower-cases a letter and leaves '-' alone; the only other byte it maps
 * onto one of those is CR (onto '-'), not a tchar, so 8 bytes compare at
 * once without a false match. */
static inline bool name_is(const char *p, const char *lit, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t a, b;
        memcpy(&a, p + i, 8);
        memcpy(&b, lit + i, 8);
        if ((a | 0x2020202020202020ull) != b)
            return false;
    }
    for (; i < n; i++)
        if (((unsigned char)p[i] | 0x20) != (unsigned char)lit[i])
            return false;
    return true;
}

/* 8 bytes of a and b equal ASCII case-insensitively: where they differ,
 * only in bit 0x20 (x), and there a's byte, lower-cased, is a letter. The
 * letter test per byte, on its low 7 bits t: t + 0x1f reaches 0x80 when
 * t >= 'a', t + 0x05 when t > 'z' (no carry leaves a byte), and the byte's
 * own top bit must be clear. */
static inline bool ieq8(uint64_t a, uint64_t b)
{
    const uint64_t k20 = 0x2020202020202020ull, k7f = 0x7f7f7f7f7f7f7f7full;
    const uint64_t k80 = 0x8080808080808080ull;
    uint64_t x = a ^ b;
    if (x == 0)
        return true;
    if (x & ~k20)
        return false;
    uint64_t c = a | k20, t = c & k7f;
    uint64_t letter = (t + 0x1f1f1f1f1f1f1f1full) & ~(t + 0x0505050505050505ull) & ~c & k80;
    return ((x << 2) & ~letter) == 0; /* bit 0x20 moved onto 0x80 */
}

/* The same with both sides in any case: 8 bytes at a time (the last 8
 * overlapping), byte by byte below 8. */
static inline bool ieq_any(const char *a, const char *b, size_t n)
{
    uint64_t x, y;
    if (n >= 8) {
        for (size_t i = 0; i + 8 < n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (!ieq8(x, y))
                return false;
        }
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return ieq8(x, y);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char p = (unsigned char)a[i], q = (unsigned char)b[i];
        if ((unsigned)(p - 'A') < 26u)
            p = (unsigned char)(p | 0x20);
        if ((unsigned)(q - 'A') < 26u)
            q = (unsigned char)(q | 0x20);
        if (p != q)
            return false;
    }
    return true;
}

#define IS(s, lit) ((s).len == sizeof(lit) - 1 && ieq_lit((s).p, lit, sizeof(lit) - 1))

/* RFC 9112 2.2 asks servers to ignore at least one empty line before the
 * request line (clients once sent a CRLF after POST bodies); a few more are
 * harmless, an endless stream of them is not. */
#define MAX_LEADING_EMPTY_LINES 4

/* The scanner: the caller's bytes, how far we may look, where we are, and
 * the verdict once there is one. end is min(len, max_head): a byte at or
 * past the head cap is never examined, which is what keeps the verdict on a
 * prefix equal to the verdict on the whole input. */
typedef struct {
    const char *b;
    size_t len;      /* bytes the caller has */
    size_t max_head; /* head cap */
    size_t end;      /* min(len, max_head) */
    size_t wend;     /* end of the start-line window: min(end, line start + line cap) */
    size_t pos;
    int minor;       /* HTTP minor version once the start line is read */
    bool response;   /* lenient switches on */
    int status;      /* request errors: the status to answer */
    const char *error;
} scan_t;

/* What the field lines said about framing and the connection. */
typedef struct {
    uint64_t cl;
    sy_str_t host;
    bool has_cl, has_te, te_chunked, has_host;
    bool conn_close, conn_keep_alive, expect_continue, expect_other;
} fields_t;

static int fail(scan_t *s, int rc, int status, const char *msg)
{
    s->status = status;
    s->error = msg;
    return rc;
}

static int bad(scan_t *s, const char *msg) { return fail(s, SY_EINVAL, 400, msg); }

/* A byte broke the grammar: NUL gets its own message wherever it is. */
static int bad_char(scan_t *s, char c, const char *msg)
{
    return bad(s, c == '\0' ? "NUL byte in the message head" : msg);
}

/* No more bytes may be examined. Below the head cap that means "call again";
 * at the cap it is final: 414 while still in the start line (the line alone
 * used up the budget), 431 after it. */
static int ran_out(scan_t *s, bool start_line)
{
    if (s->len < s->max_head)
        return SY_EAGAIN;
    if (start_line)
        return fail(s, SY_ETOOBIG, 414,
                    s->response ? "status line too long" : "request line too long");
    return fail(s, SY_ETOOBIG, 431, "header section too large");
}

/* A start-line loop stopped at s->wend. If a byte is there, the window ended
 * at the line cap and only the line's CR (or LF, in lenient mode) may sit
 * on it: anything else makes the line longer than the cap. */
static int line_edge(scan_t *s)
{
    if (s->pos < s->end) {
        char c = s->b[s->pos];
        if (c == '\r' || (s->response && c == '\n'))
            return SY_OK;
        return fail(s, SY_ETOOBIG, 414,
                    s->response ? "status line too long" : "request line too long");
    }
    return ran_out(s, true);
}

/* Skip empty lines before a start line; set up the line window. */
static int start_line(scan_t *s, size_t max_line)
{
    const char *b = s->b;
    for (int i = 0;; i++) {
        if (s->pos >= s->end)
            return ran_out(s, true);
        if (b[s->pos] == '\n') {
            if (!s->response)
                return bad(s, "bare LF line terminator (CRLF required)");
            if (i == MAX_LEADING_EMPTY_LINES)
                return bad(s, "too many empty lines before the status line");
            s->pos++;
            continue;
        }
        if (b[s->pos] != '\r')
            break;
        if (i == MAX_LEADING_EMPTY_LINES)
            return bad(s, s->response ? "too many empty lines before the status line"
                                      : "too many empty lines before the request line");
        if (s->pos + 1 >= s->end)
            return ran_out(s, true);
        if (b[s->pos + 1] != '\n')
            return bad(s, "CR not followed by LF");
        s->pos += 2;
    }
    s->wend = s->end - s->pos > max_line ? s->pos + max_line : s->end;
    return SY_OK;
}

/* Advance s->pos over bytes of class k inside the start-line window. On
 * SY_OK the byte at s->pos exists and is not of class k (or is the line's
 * terminator sitting exactly on the cap). */
static int line_scan(scan_t *s, int k)
{
    if (k == C_TARGET)
        s->pos = target_span_at(s->b, s->pos, s->wend);
    while (s->pos < s->wend && is(s->b[s->pos], k))
        s->pos++;
    return s->pos == s->wend ? line_edge(s) : SY_OK;
}

/* The start line's terminator at s->pos: CRLF (or a lone LF when lenient). */
static int line_end(scan_t *s)
{
    if (s->b[s->pos] == '\n') {
        if (!s->response)
            return bad(s, "bare LF line terminator (CRLF required)");
        s->pos++;
        return SY_OK;
    }
    if (s->pos + 1 >= s->end)
        return ran_out(s, true);
    if (s->b[s->pos + 1] != '\n')
        return bad(s, "CR not followed by LF");
    s->pos += 2;
    return SY_OK;
}

/* "HTTP/" DIGIT "." DIGIT: 1 on syntax, with the digits in *major, *minor. */
static bool version_syntax(sy_str_t v, int *major, int *minor)
{
    if (v.len != 8 || memcmp(v.p, "HTTP/", 5) != 0 || v.p[6] != '.')
        return false;
    if (v.p[5] < '0' || v.p[5] > '9' || v.p[7] < '0' || v.p[7] > '9')
        return false;
    *major = v.p[5] - '0';
    *minor = v.p[7] - '0';
    return true;
}

static bool is_alpha(char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

static bool all_host_chars(sy_str_t v)
{
    for (size_t i = 0; i < v.len; i++)
        if (!is(v.p[i], C_HOST))
            return false;
    return true;
}

/* Split the request-target into path and query and check its form (RFC 9112
 * 3.2): origin-form "/p?q", asterisk-form "*" (OPTIONS only), authority-form
 * "host:port" (CONNECT only), absolute-form "scheme://authority/p?q". */
static int split_target(scan_t *s, sy_http_request_t *r)
{
    sy_str_t t = r->target;
    size_t i = 0;
    if (sy_str_eq_c(r->method, "CONNECT")) {
        if (!all_host_chars(t))
            return bad(s, "CONNECT needs a host:port request target");
        r->host = t;
        return SY_OK;
    }
    if (t.p[0] != '/') {
        if (t.len == 1 && t.p[0] == '*') {
            if (!sy_str_eq_c(r->method, "OPTIONS"))
                return bad(s, "the * request target is only allowed with OPTIONS");
            r->path = t;
            return SY_OK;
        }
        /* absolute-form: the authority replaces the Host header (RFC 9112 3.2.2) */
        bool ok = is_alpha(t.p[0]);
        for (i = 1; ok && i < t.len && t.p[i] != ':'; i++)
            ok = is_alpha(t.p[i]) || (t.p[i] >= '0' && t.p[i] <= '9') || t.p[i] == '+' ||
                 t.p[i] == '-' || t.p[i] == '.';
        if (!ok || t.len - i < 3 || memcmp(t.p + i, "://", 3) != 0)
            return bad(s, "request target must start with / or be an absolute URI");
        size_t a = i + 3;
        for (i = a; i < t.len && t.p[i] != '/' && t.p[i] != '?'; i++)
            ;
        r->host = sy_str(t.p + a, i - a);
        if (r->host.len == 0 || !all_host_chars(r->host))
            return bad(s, "invalid authority in the request target");
    }
    /* (memchr: the path of every request is scanned for its query) */
    const char *qm = i < t.len ? memchr(t.p + i, '?', t.len - i) : NULL;
    size_t q = qm ? (size_t)(qm - t.p) : t.len;
    r->path = q > i ? sy_str(t.p + i, q - i) : SY_STR("/");
    r->query = q < t.len ? sy_str(t.p + q + 1, t.len - q - 1) : sy_str(t.p + t.len, 0);
    return SY_OK;
}

/* method SP request-target SP HTTP-version CRLF, single spaces, no leniency. */
static int request_line(scan_t *s, size_t max_line, sy_http_request_t *r)
{
    const char *b = s->b;
    int rc, major = 0, minor = 0;
    if ((rc = start_line(s, max_line)) != SY_OK)
        return rc;

    size_t ms = s->pos;
    if ((rc = line_scan(s, C_TOKEN)) != SY_OK)
        return rc;
    if (s->pos == ms || b[s->pos] != ' ')
        return b[s->pos] == '\r' && s->pos > ms
                   ? bad(s, "malformed request line (expected method, target and version)")
                   : bad_char(s, b[s->pos], "invalid character in request method");
    r->method = sy_str(b + ms, s->pos - ms);

    size_t ts = ++s->pos;
    if ((rc = line_scan(s, C_TARGET)) != SY_OK)
        return rc;
    if (s->pos == ts)
        return b[s->pos] == ' ' ? bad(s, "malformed request line (more than one space)")
                                : bad_char(s, b[s->pos], "invalid character in request target");
    if (b[s->pos] == '\r')
        return bad(s, "request line without an HTTP version (HTTP/0.9 is not supported)");
    if (b[s->pos] != ' ')
        return bad_char(s, b[s->pos], "invalid character in request target");
    r->target = sy_str(b + ts, s->pos - ts);

    size_t vs = ++s->pos;
    if ((rc = line_scan(s, C_TARGET)) != SY_OK)
        return rc;
    if (b[s->pos] != '\r')
        return b[s->pos] == ' ' || b[s->pos] == '\n'
                   ? bad(s, b[s->pos] == ' ' ? "malformed request line (extra space)"
                                             : "bare LF line terminator (CRLF required)")
                   : bad_char(s, b[s->pos], "invalid character in HTTP version");
    if (!version_syntax(sy_str(b + vs, s->pos - vs), &major, &minor))
        return bad(s, "malformed HTTP version");
    if (major != 1 || minor > 1)
        return fail(s, SY_EINVAL, 505, "unsupported HTTP version (HTTP/1.0 and HTTP/1.1 only)");
    r->minor_version = s->minor = minor;
    if ((rc = line_end(s)) != SY_OK)
        return rc;
    return split_target(s, r);
}

/* HTTP-version SP 3DIGIT [SP reason] CRLF; lenient about extra spaces, a
 * missing reason and bare LF. */
static int status_line(scan_t *s, size_t max_line, sy_http_response_t *r)
{
    const char *b = s->b;
    int rc, major = 0, minor = 0;
    if ((rc = start_line(s, max_line)) != SY_OK)
        return rc;
    size_t vs = s->pos;
    if ((rc = line_scan(s, C_TARGET)) != SY_OK)
        return rc;
    if (!version_syntax(sy_str(b + vs, s->pos - vs), &major, &minor) || b[s->pos] != ' ')
        return bad_char(s, b[s->pos], "malformed status line (expected HTTP/1.x)");
    if (major != 1)
        return bad(s, "unsupported HTTP version in the status line");
    r->minor_version = s->minor = minor;

    if ((rc = line_scan(s, C_SP)) != SY_OK)
        return rc;
    size_t cs = s->pos;
    if ((rc = line_scan(s, C_TARGET)) != SY_OK)
        return rc;
    if (s->pos - cs != 3 || b[cs] < '1' || b[cs] > '9' || b[cs + 1] < '0' || b[cs + 1] > '9' ||
        b[cs + 2] < '0' || b[cs + 2] > '9')
        return bad_char(s, b[s->pos], "invalid status code");
    r->status = (b[cs] - '0') * 100 + (b[cs + 1] - '0') * 10 + (b[cs + 2] - '0');
    size_t rs = s->pos;
    if (b[s->pos] == ' ') {
        rs = ++s->pos;
        if ((rc = line_scan(s, C_RVALUE)) != SY_OK)
            return rc;
    }
    if (b[s->pos] != '\r' && b[s->pos] != '\n')
        return bad_char(s, b[s->pos], "invalid character in the status line");
    r->reason = sy_str_trim(sy_str(b + rs, s->pos - rs));
    return line_end(s);
}

/* Transfer-Encoding: a comma list of codings, applied in order. We decode
 * only chunked, and it must come last and once (RFC 9112 6.1): a body whose
 * end cannot be found reliably is the classic smuggling vector. Empty list
 * elements and coding parameters are rejected rather than guessed at. */
static int transfer_encoding(scan_t *s, fields_t *f, sy_str_t v)
{
    size_t i = 0;
    for (;;) {
        while (i < v.len && is_ws(v.p[i]))
            i++;
        size_t st = i;
        while (i < v.len && is(v.p[i], C_TOKEN))
            i++;
        sy_str_t coding = sy_str(v.p + st, i - st);
        while (i < v.len && is_ws(v.p[i]))
            i++;
        if (coding.len == 0 || (i < v.len && v.p[i] != ','))
            return bad(s, "malformed Transfer-Encoding value");
        bool chunked = IS(coding, "chunked");
        if (f->te_chunked)
            return bad(s, chunked ? "chunked transfer coding applied more than once"
                                  : "chunked must be the final transfer coding");
        if (!chunked)
            return fail(s, SY_EINVAL, 501,
                        s->response ? "unsupported transfer coding in the response"
                                    : "unsupported transfer coding (only chunked is supported)");
        f->te_chunked = true;
        if (i == v.len)
            return SY_OK;
        i++; /* the comma */
    }
}

/* Content-Length. A request must carry exactly one, a plain decimal number.
 * A response may repeat the same number ("5, 5" or twice), which RFC 9110
 * 8.6 lets a recipient accept; different numbers are an error. */
static int content_length(scan_t *s, fields_t *f, sy_str_t v)
{
    if (f->has_te)
        return bad(s, "Content-Length and Transfer-Encoding together are not allowed");
    if (!s->response && f->has_cl)
        return bad(s, "duplicate Content-Length header");
    if (v.len && v.len <= 18) {
        /* The usual value, digits alone (below 10^18, so within INT64_MAX):
         * what the list walk below gives for it, without the walk. */
        uint64_t n = 0;
        size_t k = 0;
        for (; k < v.len && (unsigned)(unsigned char)v.p[k] - '0' < 10; k++)
            n = n * 10 + (unsigned)(unsigned char)v.p[k] - '0';
        if (k == v.len) {
            if (f->has_cl && n != f->cl)
                return bad(s, "conflicting Content-Length values");
            f->has_cl = true;
            f->cl = n;
            return SY_OK;
        }
    }
    size_t i = 0;
    for (;;) {
        size_t j = i;
        while (j < v.len && !(s->response && v.p[j] == ','))
            j++;
        uint64_t n = 0;
        if (sy_str_to_u64(sy_str_trim(sy_str(v.p + i, j - i)), INT64_MAX, &n) != SY_OK)
            return bad(s, "invalid Content-Length value");
        if (f->has_cl && n != f->cl)
            return bad(s, "conflicting Content-Length values");
        f->has_cl = true;
        f->cl = n;
        if (j == v.len)
            return SY_OK;
        i = j + 1;
    }
}

/* Act on the field lines that decide framing, the connection and routing. */
static int on_field(scan_t *s, fields_t *f, sy_str_t name, sy_str_t v)
{
    sy_str_t elem;
    switch (name.len) {
    case 4:
        if (s->response || !name_is(name.p, "host", 4))
            break;
        if (f->has_host)
            return bad(s, "multiple Host headers");
        if (!all_host_chars(v))
            return bad(s, "invalid Host header value");
        f->has_host = true;
        f->host = v;
        break;
    case 6:
        if (s->response || s->minor == 0 || !name_is(name.p, "expect", 6))
            break;
        if (IS(v, "100-continue"))
            f->expect_continue = true;
        else
            f->expect_other = true;
        break;
    case 10:
        if (!name_is(name.p, "connection", 10))
            break;
        while (sy_http_list_next(&v, &elem)) {
            if (IS(elem, "close"))
                f->conn_close = true;
            else if (IS(elem, "keep-alive"))
                f->conn_keep_alive = true;
        }
        break;
    case 14:
        if (name_is(name.p, "content-length", 14))
            return content_length(s, f, v);
        break;
    case 17:
        if (!name_is(name.p, "transfer-encoding", 17))
            break;
        if (f->has_cl)
            return bad(s, "Content-Length and Transfer-Encoding together are not allowed");
        if (!s->response && s->minor == 0)
            return bad(s, "Transfer-Encoding is not allowed in HTTP/1.0 requests");
        f->has_te = true;
        return transfer_encoding(s, f, v);
    }
    return SY_OK;
}

/* The field lines up to and including the empty line. Each line is
 * name ":" OWS value OWS CRLF; the value is stored OWS-trimmed. */
static int fields(scan_t *s, sy_http_header_t *hs, size_t maxh, size_t *nh, fields_t *f)
{
    const char *b = s->b;
    size_t n = 0;
    *nh = 0;
    for (;;) {
        size_t p = s->pos;
        if (p >= s->end)
            return ran_out(s, false);
        char c = b[p];
        if (c == '\r' || c == '\n') { /* the empty line: end of the head */
            if (c == '\n' && !s->response)
                return bad(s, "bare LF line terminator (CRLF required)");
            if (c == '\r' && p + 1 >= s->end)
                return ran_out(s, false);
            if (c == '\r' && b[p + 1] != '\n')
                return bad(s, "CR not followed by LF");
            s->pos = p + (c == '\r' ? 2 : 1);
            *nh = n;
            return SY_OK;
        }
        if (is_ws(c))
            return bad(s, "header line starting with whitespace (obs-fold) is not allowed");
        if (n >= maxh)
            return fail(s, SY_ETOOBIG, 431, "too many header fields");

        size_t ns = p;
        p = token_span_at(b, p, s->end);
        size_t ne = p;
        while (s->response && p < s->end && is_ws(b[p]))
            p++;
        if (p >= s->end)
            return ran_out(s, false);
        if (b[p] != ':') {
            if (is_ws(b[p]))
                return bad(s, "whitespace between header field name and colon is not allowed");
            if (b[p] == '\r' || b[p] == '\n')
                return bad(s, "header line without a colon");
            return bad_char(s, b[p], "invalid character in header field name");
        }
        if (ns == ne)
            return bad(s, "empty header field name");
        p++;
        while (p < s->end && is_ws(b[p]))
            p++;
        size_t vs = p;
        p = value_span_at(b, p, s->end, s->response);
        if (p >= s->end)
            return ran_out(s, false);
        size_t ve = p;
        if (b[p] == '\r') {
            if (p + 1 >= s->end)
                return ran_out(s, false);
            if (b[p + 1] != '\n')
                return bad(s, "CR not followed by LF");
            p += 2;
        } else if (b[p] == '\n') {
            if (!s->response)
                return bad(s, "bare LF line terminator (CRLF required)");
            p++;
        } else {
            return bad_char(s, b[p], "control character in header field value");
        }
        while (ve > vs && is_ws(b[ve - 1]))
            ve--;
        hs[n].name = sy_str(b + ns, ne - ns);
        hs[n].value = sy_str(b + vs, ve - vs);
        int rc = on_field(s, f, hs[n].name, hs[n].value);
        if (rc != SY_OK)
            return rc;
        n++;
        s->pos = p;
    }
}

static void scan_init(scan_t *s, const char *buf, size_t len, const sy_http_limits_t *lim,
                      bool response)
{
    memset(s, 0, sizeof(*s));
    s->b = buf;
    s->len = len;
    s->max_head = SY_MIN(lim->max_header_bytes, (size_t)INT_MAX);
    s->end = SY_MIN(len, s->max_head);
    s->response = response;
}

int sy_http_parse_request(const char *buf, size_t len, const sy_http_limits_t *lim,
                          sy_http_header_t *headers, size_t headers_cap, sy_http_request_t *out)
{
    static const sy_http_limits_t defaults = SY_HTTP_LIMITS_INIT;
    scan_t s;
    fields_t f = {0};
    if (lim == NULL)
        lim = &defaults;
    scan_init(&s, buf, len, lim, false);
    memset(out, 0, sizeof(*out));
    out->headers = headers;
    out->content_length = -1;

    int rc = request_line(&s, lim->max_request_line, out);
    if (rc == SY_OK)
        rc = fields(&s, headers, SY_MIN(lim->max_headers, headers_cap), &out->nheaders, &f);
    if (rc == SY_OK) {
        if (s.minor == 1 && !f.has_host)
            rc = bad(&s, "missing Host header (required in HTTP/1.1)");
        else if (f.expect_other)
            rc = fail(&s, SY_EINVAL, 417, "unsupported Expect value (only 100-continue)");
    }
    if (rc != SY_OK) {
        out->status = rc == SY_EAGAIN ? 0 : s.status;
        out->error = rc == SY_EAGAIN ? NULL : s.error;
        return rc;
    }
    if (out->host.p == NULL) /* absolute- and authority-form set it from the target */
        out->host = f.host;
    out->chunked = f.te_chunked;
    out->content_length = f.has_cl ? (int64_t)f.cl : -1;
    out->body = f.te_chunked ? SY_HTTP_BODY_CHUNKED
                : f.has_cl   ? SY_HTTP_BODY_LENGTH
                             : SY_HTTP_BODY_NONE;
    out->keep_alive = s.minor == 1 ? !f.conn_close : f.conn_keep_alive && !f.conn_close;
    out->expect_continue = f.expect_continue;
    return (int)s.pos;
}

int sy_http_parse_response(const char *buf, size_t len, const sy_http_limits_t *lim,
                           unsigned flags, sy_http_header_t *headers, size_t headers_cap,
                           sy_http_response_t *out)
{
    static const sy_http_limits_t defaults = SY_HTTP_LIMITS_INIT;
    scan_t s;
    fields_t f = {0};
    if (lim == NULL)
        lim = &defaults;
    scan_init(&s, buf, len, lim, true);
    memset(out, 0, sizeof(*out));
    out->headers = headers;
    out->content_length = -1;

    int rc = status_line(&s, lim->max_request_line, out);
    if (rc == SY_OK)
        rc = fields(&s, headers, SY_MIN(lim->max_headers, headers_cap), &out->nheaders, &f);
    if (rc != SY_OK) {
        out->error = rc == SY_EAGAIN ? NULL : s.error;
        return rc;
    }
    out->chunked = f.te_chunked;
    out->content_length = f.has_cl ? (int64_t)f.cl : -1;
    out->keep_alive = s.minor >= 1 ? !f.conn_close : f.conn_keep_alive && !f.conn_close;
    if (f.has_te && s.minor == 0) /* RFC 9112 6.1: framing is suspect, close after */
        out->keep_alive = false;
    if (out->status < 200 || out->status == 204 || out->status == 304 ||
        (flags & SY_HTTP_RESPONSE_TO_HEAD)) {
        out->body = SY_HTTP_BODY_NONE;
    } else if (f.te_chunked) {
        out->body = SY_HTTP_BODY_CHUNKED;
    } else if (f.has_cl) {
        out->body = SY_HTTP_BODY_LENGTH;
    } else {
        out->body = SY_HTTP_BODY_CLOSE;
        out->keep_alive = false;
    }
    return (int)s.pos;
}

/* ---- incremental pre-check ------------------------------------------- */

/* A new LF may end the head (or a line with an error in it): parse. The
 * first byte of a line decides between the end of the head and one more
 * field (the count cap): parse. The head cap is a pure length check: parse.
 * The line cap matters only for the start line, which cannot be told apart
 * from a header line here without parsing, so parse once when the line
 * being received crosses it: if that says SY_EAGAIN, only an LF or the head
 * cap can change the answer for this line. */
bool sy_http_head_ready(sy_http_head_scan_t *st, const char *buf, size_t len,
                        const sy_http_limits_t *lim)
{
    static const sy_http_limits_t defaults = SY_HTTP_LIMITS_INIT;
    if (lim == NULL)
        lim = &defaults;
    if (len < st->scanned) { /* not the same message: start over */
        memset(st, 0, sizeof(*st));
        return true;
    }
    if (len >= SY_MIN(lim->max_header_bytes, (size_t)INT_MAX))
        return true;
    const char *lf =
        len > st->scanned ? memrchr(buf + st->scanned, '\n', len - st->scanned) : NULL;
    st->scanned = len;
    if (lf != NULL) {
        st->line_start = (size_t)(lf - buf) + 1;
        st->line_seen = len > st->line_start;
        st->line_checked = false;
        return true;
    }
    if (!st->line_seen && len > st->line_start) {
        st->line_seen = true;
        return true;
    }
    if (!st->line_checked && len - st->line_start > lim->max_request_line) {
        st->line_checked = true;
        return true;
    }
    return false;
}

/* ---- header and list helpers ------------------------------------------ */

const sy_http_header_t *sy_http_header_next(const sy_http_header_t *headers, size_t n,
                                            const char *name, const sy_http_header_t *prev)
{
    size_t len = strlen(name);
    size_t i = prev ? (size_t)(prev - headers) + 1 : 0;
    for (; i < n; i++) /* lengths first: most names differ there, without a call */
        if (headers[i].name.len == len && ieq_any(headers[i].name.p, name, len))
            return &headers[i];
    return NULL;
}

const sy_http_header_t *sy_http_header_find(const sy_http_header_t *headers, size_t n,
                                            const char *name)
{
    return sy_http_header_next(headers, n, name, NULL);
}

bool sy_http_list_next(sy_str_t *list, sy_str_t *elem)
{
    while (list->len) {
        ptrdiff_t comma = sy_str_find_char(*list, ',');
        size_t take = comma < 0 ? list->len : (size_t)comma;
        sy_str_t e = sy_str_trim(sy_str(list->p, take));
        size_t skip = comma < 0 ? take : take + 1;
        list->p += skip;
        list->len -= skip;
        if (e.len) {
            *elem = e;
            return true;
        }
    }
    return false;
}

bool sy_http_list_has(sy_str_t list, const char *token)
{
    sy_str_t elem;
    while (sy_http_list_next(&list, &elem))
        if (sy_str_ieq_c(elem, token))
            return true;
    return false;
}

/* ---- reason phrases (RFC 9110 section 15, plus 429 from RFC 6585) ------- */

const char *sy_http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    case 511: return "Network Authentication Required";
    }
    switch (status / 100) {
    case 1: return "Informational";
    case 2: return "Success";
    case 3: return "Redirection";
    case 4: return "Client Error";
    case 5: return "Server Error";
    }
    return "Unknown";
}

bool sy_http_query_param(sy_arena_t *a, sy_str_t query, const char *key, sy_str_t *out)
{
    size_t kl = strlen(key);
    while (query.len) {
        ptrdiff_t amp = sy_str_find_char(query, '&');
        sy_str_t kv = amp < 0 ? query : sy_str_sub(query, 0, (size_t)amp);
        query = amp < 0 ? SY_STR("") : sy_str_sub(query, (size_t)amp + 1, query.len);
        if (kv.len <= kl || kv.p[kl] != '=' || memcmp(kv.p, key, kl) != 0)
            continue;
        sy_str_t v = sy_str_sub(kv, kl + 1, kv.len);
        char *b = sy_arena_alloc(a, v.len + 1);
        size_t n = 0;
        for (size_t i = 0; i < v.len; i++) {
            char c = v.p[i];
            int hi, lo;
            if (c == '+') {
                c = ' ';
            } else if (c == '%' && i + 2 < v.len && (hi = sy_hex_digit(v.p[i + 1])) >= 0 &&
                       (lo = sy_hex_digit(v.p[i + 2])) >= 0) {
                c = (char)(hi * 16 + lo);
                i += 2;
            }
            b[n++] = c;
        }
        b[n] = '\0';
        *out = sy_str(b, n);
        return true;
    }
    return false;
}
