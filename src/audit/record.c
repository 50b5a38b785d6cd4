/*
 * record.c - the canonical encoding of an audit record, and the content mask.
 */
#include "audit/record.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <string.h>

#include "json/json.h"

static bool valid_utf8(sy_str_t s)
{
    for (size_t i = 0; i < s.len;) {
        size_t l = sy_json_utf8_len(s.p + i, s.len - i);
        if (l == 0)
            return false;
        i += l;
    }
    return true;
}

/* ---- the encoder ----
 *
 * Appends straight into the output buffer: literal keys are copied, numbers
 * and hashes written by hand, strings escaped in runs. Every piece makes
 * room for its worst case first (room()), which is one comparison while the
 * space reserved at the start lasts. */

typedef struct {
    sy_buf_t *b;
    char *p, *end; /* the write position and the end of the reserved room */
    bool fail;
} enc_t;

/* The longest escape of one input byte: \u00XX or \ufffd. */
#define ESC_MAX 6
/* A decimal uint64_t, or an int with its sign. */
#define NUM_MAX 20

static bool grow(enc_t *e, size_t n)
{
    if (e->fail)
        return false;
    sy_buf_commit(e->b, (size_t)(e->p - sy_buf_tail(e->b)));
    if (sy_buf_reserve(e->b, n) != SY_OK) {
        e->fail = true;
        return false;
    }
    e->p = sy_buf_tail(e->b);
    e->end = e->p + sy_buf_room(e->b);
    return true;
}

static inline bool room(enc_t *e, size_t n)
{
    return (size_t)(e->end - e->p) >= n || grow(e, n);
}

static inline char *put_bytes(char *p, const void *s, size_t n)
{
    if (n)
        memcpy(p, s, n);
    return p + n;
}

/* Two decimal digits per entry, "00" to "99". */
static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                  "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                  "8081828384858687888990919293949596979899";

/* v in decimal, written in place from its last digit, two digits a step:
 * most of a record's numbers are a few digits (or zero), and this is the
 * writer's per-record hot path. Needs NUM_MAX bytes. */
static inline char *put_u64(char *p, uint64_t v)
{
    if (v < 10) {
        *p = (char)('0' + v);
        return p + 1;
    }
    size_t n = 2;
    for (uint64_t t = v / 100; t; t /= 10)
        n++;
    char *end = p + n, *q = end;
    while (v >= 100) {
        q -= 2;
        memcpy(q, digit_pairs + 2 * (v % 100), 2);
        v /= 100;
    }
    if (v >= 10) {
        q -= 2;
        memcpy(q, digit_pairs + 2 * v, 2);
    } else {
        *--q = (char)('0' + v);
    }
    return end;
}

static const char hexdig[] = "0123456789abcdef";

/* Every byte as two lower-case hex digits, "00" to "ff". */
#define HEXROW(h)                                                                                  \
    h "0" h "1" h "2" h "3" h "4" h "5" h "6" h "7" h "8" h "9" h "a" h "b" h "c" h "d" h "e" h "f"
static const char hex_pairs[] = HEXROW("0") HEXROW("1") HEXROW("2") HEXROW("3") HEXROW("4")
    HEXROW("5") HEXROW("6") HEXROW("7") HEXROW("8") HEXROW("9") HEXROW("a") HEXROW("b")
        HEXROW("c") HEXROW("d") HEXROW("e") HEXROW("f");
#undef HEXROW

/* A byte that the escaping looks at: '"', '\\', a control byte or the start
 * of a multi-byte (or invalid) sequence. Everything else is copied as it is. */
static inline bool attention(unsigned char c)
{
    return c < 0x20 || c >= 0x80 || c == '"' || c == '\\';
}

/* The bytes of w (eight input bytes) that need attention, as the high bit of
 * each flagged byte. Borrows only run upwards, so the lowest flagged byte is
 * always a true one (json.c scans the same way). */
static inline uint64_t attention8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    return (w & highs) | ((w - ones * 0x20) & ~w & highs) | ((q - ones) & ~q & highs) |
           ((b - ones) & ~b & highs);
}

/* Copy the run of bytes from *in that stay as they are, eight at a time
 * (each eight stored before they are checked: the room reserved for the
 * string's worst case covers them), up to end or the first byte that needs
 * attention. */
static inline char *copy_plain(char *p, const unsigned char **in, const unsigned char *end)
{
    const unsigned char *s = *in;
    while (end - s >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        memcpy(p, &w, 8);
        uint64_t t = attention8(w);
        if (t) {
            size_t k = (size_t)__builtin_ctzll(t) >> 3;
            *in = s + k;
            return p + k;
        }
        p += 8;
        s += 8;
    }
    while (s < end && !attention(*s))
        *p++ = (char)*s++;
    *in = s;
    return p;
}

/* s as a JSON string, escaped the one canonical way (record.h). Needs
 * 2 + ESC_MAX * s.len bytes. */
static char *put_string(char *p, sy_str_t s)
{
    const unsigned char *in = (const unsigned char *)s.p, *end = in + s.len;
    *p++ = '"';
    while (in < end) {
        p = copy_plain(p, &in, end);
        if (in == end)
            break;
        unsigned char c = *in;
        if (c >= 0x80) {
            size_t l = sy_json_utf8_len((const char *)in, (size_t)(end - in));
            if (l) {
                p = put_bytes(p, in, l);
                in += l;
                continue;
            }
        }
        *p++ = '\\';
        switch (c) {
        case '"':
            *p++ = '"';
            break;
        case '\\':
            *p++ = '\\';
            break;
        case '\b':
            *p++ = 'b';
            break;
        case '\f':
            *p++ = 'f';
            break;
        case '\n':
            *p++ = 'n';
            break;
        case '\r':
            *p++ = 'r';
            break;
        case '\t':
            *p++ = 't';
            break;
        default:
            if (c < 0x20) {
                p = put_bytes(p, "u00", 3);
                *p++ = hexdig[c >> 4];
                *p++ = hexdig[c & 15];
            } else {
                p = put_bytes(p, "ufffd", 5); /* not UTF-8 */
            }
        }
        in++;
    }
    *p++ = '"';
    return p;
}

/* A member: ",\"key\":" as one literal (KEY), then its value. */
#define KEY(k) ",\"" k "\":"
#define KLEN(k) (sizeof(KEY(k)) - 1)

static inline void kstr_(enc_t *e, const char *k, size_t kl, sy_str_t v)
{
    if (room(e, kl + 2 + ESC_MAX * v.len))
        e->p = put_string(put_bytes(e->p, k, kl), v);
}

static inline void kuint_(enc_t *e, const char *k, size_t kl, uint64_t v)
{
    if (room(e, kl + NUM_MAX))
        e->p = put_u64(put_bytes(e->p, k, kl), v);
}

static void kint_(enc_t *e, const char *k, size_t kl, int v)
{
    if (!room(e, kl + NUM_MAX))
        return;
    char *p = put_bytes(e->p, k, kl);
    if (v < 0)
        *p++ = '-';
    e->p = put_u64(p, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
}

static inline void kbool_(enc_t *e, const char *k, size_t kl, bool v)
{
    if (room(e, kl + 5))
        e->p = v ? put_bytes(put_bytes(e->p, k, kl), "true", 4)
                 : put_bytes(put_bytes(e->p, k, kl), "false", 5);
}

static inline void khash_(enc_t *e, const char *k, size_t kl, const sy_hash_t *h)
{
    if (!room(e, kl + 2 + 2 * SY_HASH_LEN))
        return;
    char *p = put_bytes(e->p, k, kl);
    *p++ = '"';
    for (size_t i = 0; i < SY_HASH_LEN; i++, p += 2)
        memcpy(p, hex_pairs + 2 * h->b[i], 2);
    *p++ = '"';
    e->p = p;
}

/* Content as a string when it is valid UTF-8, else base64 under KEY_b64
 * (kb, kbl: that key). */
static void kcontent_(enc_t *e, const char *k, size_t kl, const char *kb, size_t kbl, sy_str_t v)
{
    if (valid_utf8(v)) {
        kstr_(e, k, kl, v);
        return;
    }
    size_t enc = 4 * ((v.len + 2) / 3);
    if (!room(e, kbl + 2 + enc + 1)) /* EVP_EncodeBlock adds a NUL */
        return;
    char *p = put_bytes(e->p, kb, kbl);
    *p++ = '"';
    int n = EVP_EncodeBlock((unsigned char *)p, (const unsigned char *)v.p, (int)v.len);
    p += n > 0 ? n : 0;
    *p++ = '"';
    e->p = p;
}

#define kstr(e, k, v) kstr_((e), KEY(k), KLEN(k), (v))
#define kuint(e, k, v) kuint_((e), KEY(k), KLEN(k), (v))
#define kint(e, k, v) kint_((e), KEY(k), KLEN(k), (v))
#define kbool(e, k, v) kbool_((e), KEY(k), KLEN(k), (v))
#define khash(e, k, v) khash_((e), KEY(k), KLEN(k), (v))
#define kcontent(e, k, v) kcontent_((e), KEY(k), KLEN(k), KEY(k "_b64"), KLEN(k "_b64"), (v))

static const char *const content_names[] = {"none", "redacted", "full"};

int sy_audit_record_encode(const sy_audit_record_t *r, sy_buf_t *out)
{
    size_t start = out->len;
    /* Room for the whole record in the common case: the members, numbers and
     * hashes, and the short strings at their worst escaping. */
    size_t strings = r->request_id.len + r->key_id.len + r->team_id.len + r->org_id.len +
                     r->frontdoor.len + r->endpoint.len + r->model.len + r->provider.len +
                     r->upstream_model.len + r->region.len + r->jurisdiction.len + r->route.len +
                     r->route_detail.len + r->strategy.len + r->error_class.len;
    for (size_t i = 0; i < r->nverdicts; i++)
        strings += r->verdicts[i].len + 3;
    enc_t e = {out, NULL, NULL, false};
    if (sy_buf_reserve(out, 1536 + ESC_MAX * strings) != SY_OK)
        return SY_ETOOBIG;
    e.p = sy_buf_tail(out);
    e.end = e.p + sy_buf_room(out);

    /* Keys in byte order (a unit test parses the output and checks it). A
     * new field is one line here at its place in that order, and the same
     * line in the printf reference encoder of tests/unit/test_audit.c. */
    if (room(&e, 12 + NUM_MAX))
        e.p = put_u64(put_bytes(e.p, "{\"attempts\":", 12), r->attempts);
    kbool(&e, "client_aborted", r->client_aborted);
    kstr(&e, "content_mode",
         sy_str_c(content_names[r->content <= SY_AUDIT_CONTENT_FULL ? r->content : 0]));
    if (r->content != SY_AUDIT_CONTENT_NONE)
        kbool(&e, "content_truncated", r->content_truncated);
    kbool(&e, "cost_known", r->cost_known);
    kuint(&e, "cost_pico", r->cost_pico);
    kuint(&e, "duration_us", r->duration_us);
    kstr(&e, "endpoint", r->endpoint);
    kstr(&e, "error_class", r->error_class);
    kstr(&e, "frontdoor", r->frontdoor);
    kstr(&e, "jurisdiction", r->jurisdiction);
    kstr(&e, "key_id", r->key_id);
    kstr(&e, "model", r->model);
    kstr(&e, "org_id", r->org_id);
    kstr(&e, "provider", r->provider);
    kstr(&e, "region", r->region);
    kuint(&e, "request_bytes", r->request_bytes);
    if (r->content != SY_AUDIT_CONTENT_NONE)
        kcontent(&e, "request_content", r->request_content);
    kstr(&e, "request_id", r->request_id);
    khash(&e, "request_sha256", &r->request_sha256);
    kuint(&e, "response_bytes", r->response_bytes);
    if (r->content != SY_AUDIT_CONTENT_NONE)
        kcontent(&e, "response_content", r->response_content);
    khash(&e, "response_sha256", &r->response_sha256);
    kstr(&e, "route", r->route);
    kstr(&e, "route_detail", r->route_detail);
    kuint(&e, "seq", r->seq);
    kint(&e, "status", r->status);
    kstr(&e, "strategy", r->strategy);
    kbool(&e, "stream", r->stream);
    kstr(&e, "team_id", r->team_id);
    kuint(&e, "time_ms", r->time_ms);
    kuint(&e, "tokens_cache_write", r->tokens_cache_write);
    kuint(&e, "tokens_cached", r->tokens_cached);
    kuint(&e, "tokens_in", r->tokens_in);
    kuint(&e, "tokens_out", r->tokens_out);
    kuint(&e, "tokens_reasoning", r->tokens_reasoning);
    kuint(&e, "ttft_us", r->ttft_us);
    kstr(&e, "upstream_model", r->upstream_model);
    kuint(&e, "upstream_us", r->upstream_us);
    kbool(&e, "usage_estimated", r->usage_estimated);
    kuint(&e, "v", SY_AUDIT_RECORD_VERSION);
    if (room(&e, 13))
        e.p = put_bytes(e.p, ",\"verdicts\":[", 13);
    for (size_t i = 0; i < r->nverdicts; i++)
        if (room(&e, 3 + ESC_MAX * r->verdicts[i].len)) {
            if (i)
                *e.p++ = ',';
            e.p = put_string(e.p, r->verdicts[i]);
        }
    if (room(&e, 2))
        e.p = put_bytes(e.p, "]}", 2);
    if (e.fail) {
        out->len = start;
        return SY_ETOOBIG;
    }
    sy_buf_commit(out, (size_t)(e.p - sy_buf_tail(out)));
    return SY_OK;
}

/* ---- the content mask ---- */

static const char *const kept_keys[] = {
    "model",       "role",    "type", "object",       "id",          "name",  "event",
    "finish_reason", "stop_reason", "tool_call_id", "tool_use_id", "media_type", "stop_sequence",
    "index",
};

static bool kept(sy_str_t k)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(kept_keys); i++)
        if (sy_str_eq_c(k, kept_keys[i]))
            return true;
    return false;
}

#define REDACT_MAX_DEPTH 64

void sy_audit_redact(sy_str_t in, sy_buf_t *out)
{
    /* The key each open container's values belong to: a string value inside
     * an array belongs to the key of the array. */
    sy_str_t stack[REDACT_MAX_DEPTH] = {{NULL, 0}};
    size_t depth = 0;
    sy_str_t cur = SY_STR_NULL; /* the key of the value being read */
    size_t run = 0;
    for (size_t i = 0; i < in.len; i++) {
        char c = in.p[i];
        if (c == '{' || c == '[') {
            if (depth < REDACT_MAX_DEPTH)
                stack[depth] = cur;
            depth++;
            if (c == '{')
                cur = SY_STR_NULL;
            continue;
        }
        if (c == '}' || c == ']') {
            /* back in the parent: an array's values belong to its key again */
            if (depth > 0)
                depth--;
            cur = depth < REDACT_MAX_DEPTH ? stack[depth] : SY_STR_NULL;
            continue;
        }
        if (c == '\n') {
            depth = 0; /* an SSE line ends: the next data line is a new document */
            cur = SY_STR_NULL;
            continue;
        }
        if (c != '"')
            continue;
        size_t j = i + 1;
        while (j < in.len && in.p[j] != '"' && in.p[j] != '\n')
            j += in.p[j] == '\\' ? 2 : 1;
        if (j >= in.len || in.p[j] != '"') {
            i = j < in.len ? j - 1 : in.len; /* unterminated: leave it */
            continue;
        }
        sy_str_t s = sy_str(in.p + i + 1, j - i - 1);
        size_t k = j + 1;
        while (k < in.len && (in.p[k] == ' ' || in.p[k] == '\t' || in.p[k] == '\r'))
            k++;
        if (k < in.len && in.p[k] == ':') {
            cur = s; /* an object key: kept */
        } else if (!(depth <= REDACT_MAX_DEPTH && kept(cur))) {
            sy_buf_append(out, in.p + run, i - run);
            sy_buf_append_c(out, "\"[redacted]\"");
            run = j + 1;
        }
        i = j;
    }
    sy_buf_append(out, in.p + run, in.len - run);
}
