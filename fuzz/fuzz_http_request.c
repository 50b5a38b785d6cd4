/*
 * fuzz_http_request.c - libFuzzer target for sy_http_parse_request.
 *
 * For each input and two sets of limits (the defaults and tiny ones that
 * make the caps fire): parse it whole, check the result's invariants (views
 * inside the head, no smuggling shape accepted, a status for every error),
 * then parse two prefixes at pseudo-random split points, the way the server
 * re-parses as bytes arrive: each prefix must say SY_EAGAIN or give exactly
 * the whole input's verdict. Also checks that sy_http_head_ready never
 * hides a completed head or a crossed cap, and compares the parser's
 * vector scans of names, values and targets with their byte loops.
 */
#include <stdlib.h>
#include <string.h>
#include "http/parse.h"

#define MAXH 64

static void check(bool ok)
{
    if (!ok)
        abort();
}

static bool inside(sy_str_t v, const char *base, size_t n)
{
    return v.len == 0 || (v.p >= base && v.p + v.len <= base + n);
}

static void check_ok(const char *b, size_t size, int rc, const sy_http_request_t *r,
                     const sy_http_limits_t *lim, size_t cap)
{
    size_t head = (size_t)rc;
    check(head <= size && head <= lim->max_header_bytes);
    check(r->status == 0 && r->error == NULL);
    check(r->nheaders <= cap && r->nheaders <= lim->max_headers);
    check(r->method.len > 0 && inside(r->method, b, head));
    check(r->target.len > 0 && inside(r->target, b, head));
    check(inside(r->path, b, head) || sy_str_eq_c(r->path, "/"));
    check(inside(r->query, b, head + 1) && inside(r->host, b, head));
    check(r->minor_version == 0 || r->minor_version == 1);
    check(b[head - 1] == '\n' && b[head - 2] == '\r');
    size_t ncl = 0, nte = 0, nhost = 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        const sy_http_header_t *h = &r->headers[i];
        check(h->name.len > 0 && inside(h->name, b, head) && inside(h->value, b, head));
        for (size_t j = 0; j < h->value.len; j++)
            check(h->value.p[j] != '\r' && h->value.p[j] != '\n' && h->value.p[j] != '\0');
        check(h->value.len == 0 ||
              (h->value.p[0] != ' ' && h->value.p[h->value.len - 1] != '\t'));
        ncl += sy_str_ieq_c(h->name, "content-length");
        nte += sy_str_ieq_c(h->name, "transfer-encoding");
        nhost += sy_str_ieq_c(h->name, "host");
    }
    /* the smuggling shapes never get through */
    check(ncl <= 1 && !(ncl && nte) && nhost <= 1);
    check(r->minor_version == 0 || nhost == 1);
    check(r->chunked == (nte > 0));
    check(r->chunked ? r->body == SY_HTTP_BODY_CHUNKED && r->content_length == -1
                     : r->body == (ncl ? SY_HTTP_BODY_LENGTH : SY_HTTP_BODY_NONE));
    check(ncl == 0 || r->content_length >= 0);
}

static void check_err(int rc, const sy_http_request_t *r)
{
    check(r->error != NULL);
    if (rc == SY_ETOOBIG)
        check(r->status == 414 || r->status == 431);
    else
        check(rc == SY_EINVAL && (r->status == 400 || r->status == 417 || r->status == 501 ||
                                  r->status == 505));
}

static void same(const char *a, const sy_http_request_t *x, const char *b,
                 const sy_http_request_t *y)
{
#define SAME_VIEW(f) check(x->f.len == y->f.len && (x->f.len == 0 || x->f.p - a == y->f.p - b))
    SAME_VIEW(method);
    SAME_VIEW(target);
    SAME_VIEW(query);
    SAME_VIEW(host);
    check(x->path.len == y->path.len);
    check(x->minor_version == y->minor_version && x->nheaders == y->nheaders);
    check(x->content_length == y->content_length && x->body == y->body);
    check(x->keep_alive == y->keep_alive && x->expect_continue == y->expect_continue);
    for (size_t i = 0; i < x->nheaders; i++) {
        SAME_VIEW(headers[i].name);
        SAME_VIEW(headers[i].value);
    }
#undef SAME_VIEW
}

/* The parser's vector scans against their byte-at-a-time definitions, from
 * every start offset of the input (the differential half of this target). */
static void check_spans(const char *b, size_t size)
{
    for (size_t p = 0; p < size && p < 64; p++) {
        size_t v = p, r = p, t = p, g = p;
        while (v < size && ((unsigned char)b[v] == '\t' ||
                            ((unsigned char)b[v] >= 0x20 && (unsigned char)b[v] != 0x7f)))
            v++;
        while (r < size && b[r] != 0 && b[r] != '\r' && b[r] != '\n')
            r++;
        while (t < size && (unsigned char)b[t] > 0x20 && (unsigned char)b[t] < 0x7f &&
               !strchr("\"(),/:;<=>?@[\\]{}", b[t]))
            t++;
        check(sy_http_value_span(b, p, size, false) == v);
        check(sy_http_value_span(b, p, size, true) == r);
        while (g < size && (unsigned char)b[g] > 0x20 && (unsigned char)b[g] < 0x7f && b[g] != '#')
            g++;
        check(sy_http_token_span(b, p, size) == t);
        check(sy_http_target_span(b, p, size) == g);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const sy_http_limits_t lims[2] = {SY_HTTP_LIMITS_INIT, {48, 200, 6}};
    char *whole = malloc(size ? size : 1);
    memcpy(whole, data, size);
    uint64_t seed = sy_hash_bytes(data, size);
    check_spans(whole, size);
    for (int l = 0; l < 2; l++) {
        const sy_http_limits_t *lim = &lims[l];
        size_t cap = l ? 5 : MAXH; /* also exercise a caller array below max_headers */
        sy_http_header_t hs[MAXH], ph[MAXH];
        sy_http_request_t r, pr;
        int rc = sy_http_parse_request(whole, size, lim, hs, cap, &r);
        if (rc > 0)
            check_ok(whole, size, rc, &r, lim, cap);
        else if (rc == SY_EAGAIN)
            check(r.status == 0 && r.error == NULL && size < lim->max_header_bytes);
        else
            check_err(rc, &r);

        for (int s = 0; s < 2; s++) {
            size_t k = size ? (size_t)(seed >> (s * 32)) % size : 0;
            char *part = malloc(k ? k : 1);
            memcpy(part, data, k);
            int prc = sy_http_parse_request(part, k, lim, ph, cap, &pr);
            if (prc != SY_EAGAIN) {
                check(prc == rc);
                if (prc > 0)
                    same(whole, &r, part, &pr);
                else
                    check(pr.status == r.status && pr.error == r.error);
            }
            free(part);
        }

        /* sy_http_head_ready at three growing cut points: when it says "not
         * yet", a parse can neither complete nor hit a cap */
        sy_http_head_scan_t st = {0};
        size_t cuts[3] = {size ? (size_t)(seed >> 8) % size : 0, 0, size};
        cuts[1] = cuts[0] + (size > cuts[0] ? (size_t)(seed >> 40) % (size - cuts[0]) : 0);
        for (int s = 0; s < 3; s++) {
            bool ready = sy_http_head_ready(&st, whole, cuts[s], lim);
            int prc = sy_http_parse_request(whole, cuts[s], lim, ph, cap, &pr);
            check(ready || prc == SY_EAGAIN || prc == SY_EINVAL);
            if (prc != SY_EAGAIN)
                break; /* a verdict: the caller stops asking for this message */
        }
    }
    free(whole);
    return 0;
}
