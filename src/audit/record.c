/*
 * record.c - the canonical encoding of an audit record, and the content mask.
 */
#include "audit/record.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is not one. */
static size_t utf8_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

static bool valid_utf8(sy_str_t s)
{
    const uint8_t *p = (const uint8_t *)s.p;
    for (size_t i = 0; i < s.len;) {
        size_t l = utf8_len(p + i, s.len - i);
        if (l == 0)
            return false;
        i += l;
    }
    return true;
}

static void put_string(sy_buf_t *b, sy_str_t s)
{
    const uint8_t *p = (const uint8_t *)s.p;
    sy_buf_append_c(b, "\"");
    size_t run = 0; /* start of bytes not yet copied */
    for (size_t i = 0; i < s.len;) {
        uint8_t c = p[i];
        const char *esc = NULL;
        char u[8];
        size_t adv = 1;
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20) {
            snprintf(u, sizeof(u), "\\u%04x", c);
            esc = u;
        } else if (c >= 0x80) {
            adv = utf8_len(p + i, s.len - i);
            if (adv == 0) {
                esc = "\\ufffd";
                adv = 1;
            }
        }
        if (esc) {
            sy_buf_append(b, p + run, i - run);
            sy_buf_append_c(b, esc);
            run = i + adv;
        }
        i += adv;
    }
    sy_buf_append(b, p + run, s.len - run);
    sy_buf_append_c(b, "\"");
}

static void key(sy_buf_t *b, const char *k, bool first)
{
    sy_buf_printf(b, "%s\"%s\":", first ? "" : ",", k);
}

static void kstr(sy_buf_t *b, const char *k, sy_str_t v)
{
    key(b, k, false);
    put_string(b, v);
}

static void kuint(sy_buf_t *b, const char *k, uint64_t v)
{
    sy_buf_printf(b, ",\"%s\":%" PRIu64, k, v);
}

static void kbool(sy_buf_t *b, const char *k, bool v)
{
    sy_buf_printf(b, ",\"%s\":%s", k, v ? "true" : "false");
}

static void khash(sy_buf_t *b, const char *k, const sy_hash_t *h)
{
    char hex[2 * SY_HASH_LEN + 1];
    sy_buf_printf(b, ",\"%s\":\"%s\"", k, sy_hex(h->b, SY_HASH_LEN, hex));
}

/* Content as a string when it is valid UTF-8, else base64 under KEY_b64. */
static void kcontent(sy_buf_t *b, const char *k, sy_str_t v)
{
    if (valid_utf8(v)) {
        kstr(b, k, v);
        return;
    }
    sy_buf_printf(b, ",\"%s_b64\":\"", k);
    size_t enc = 4 * ((v.len + 2) / 3);
    if (sy_buf_reserve(b, enc + 1) == SY_OK) {
        int n = EVP_EncodeBlock((unsigned char *)sy_buf_tail(b), (const unsigned char *)v.p,
                                (int)v.len);
        if (n > 0)
            sy_buf_commit(b, (size_t)n);
    }
    sy_buf_append_c(b, "\"");
}

static const char *const content_names[] = {"none", "redacted", "full"};

int sy_audit_record_encode(const sy_audit_record_t *r, sy_buf_t *out)
{
    sy_buf_t *b = out;
    size_t start = b->len;
    /* Keys in byte order (a unit test parses the output and checks it). */
    sy_buf_append_c(b, "{");
    key(b, "attempts", true);
    sy_buf_printf(b, "%" PRIu32, r->attempts);
    kbool(b, "client_aborted", r->client_aborted);
    kstr(b, "content_mode", sy_str_c(content_names[r->content <= SY_AUDIT_CONTENT_FULL ? r->content : 0]));
    if (r->content != SY_AUDIT_CONTENT_NONE)
        kbool(b, "content_truncated", r->content_truncated);
    kbool(b, "cost_known", r->cost_known);
    kuint(b, "cost_pico", r->cost_pico);
    kuint(b, "duration_us", r->duration_us);
    kstr(b, "endpoint", r->endpoint);
    kstr(b, "error_class", r->error_class);
    kstr(b, "frontdoor", r->frontdoor);
    kstr(b, "jurisdiction", r->jurisdiction);
    kstr(b, "key_id", r->key_id);
    kstr(b, "model", r->model);
    kstr(b, "org_id", r->org_id);
    kstr(b, "provider", r->provider);
    kstr(b, "region", r->region);
    kuint(b, "request_bytes", r->request_bytes);
    if (r->content != SY_AUDIT_CONTENT_NONE)
        kcontent(b, "request_content", r->request_content);
    kstr(b, "request_id", r->request_id);
    khash(b, "request_sha256", &r->request_sha256);
    kuint(b, "response_bytes", r->response_bytes);
    if (r->content != SY_AUDIT_CONTENT_NONE)
        kcontent(b, "response_content", r->response_content);
    khash(b, "response_sha256", &r->response_sha256);
    kstr(b, "route", r->route);
    kstr(b, "route_detail", r->route_detail);
    kuint(b, "seq", r->seq);
    sy_buf_printf(b, ",\"status\":%d", r->status);
    kstr(b, "strategy", r->strategy);
    kbool(b, "stream", r->stream);
    kstr(b, "team_id", r->team_id);
    kuint(b, "time_ms", r->time_ms);
    kuint(b, "tokens_cache_write", r->tokens_cache_write);
    kuint(b, "tokens_cached", r->tokens_cached);
    kuint(b, "tokens_in", r->tokens_in);
    kuint(b, "tokens_out", r->tokens_out);
    kuint(b, "tokens_reasoning", r->tokens_reasoning);
    kuint(b, "ttft_us", r->ttft_us);
    kstr(b, "upstream_model", r->upstream_model);
    kuint(b, "upstream_us", r->upstream_us);
    kbool(b, "usage_estimated", r->usage_estimated);
    kuint(b, "v", SY_AUDIT_RECORD_VERSION);
    sy_buf_append_c(b, ",\"verdicts\":[");
    for (size_t i = 0; i < r->nverdicts; i++) {
        if (i)
            sy_buf_append_c(b, ",");
        put_string(b, r->verdicts[i]);
    }
    if (sy_buf_append_c(b, "]}") != SY_OK) {
        b->len = start;
        return SY_ETOOBIG;
    }
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
