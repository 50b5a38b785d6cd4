/*
 * fuzz_http_response.c - libFuzzer target for sy_http_parse_response.
 *
 * Parses each input whole (as the answer to GET and to HEAD, with default
 * and tiny limits), checks the framing invariants, and checks that two
 * prefixes at pseudo-random split points say SY_EAGAIN or give the same
 * verdict as the whole input.
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

static void check_ok(const char *b, size_t size, int rc, const sy_http_response_t *r,
                     unsigned flags)
{
    size_t head = (size_t)rc;
    check(head <= size && b[head - 1] == '\n');
    check(r->error == NULL && r->status >= 100 && r->status <= 999);
    check(r->reason.len == 0 || (r->reason.p > b && r->reason.p + r->reason.len <= b + head));
    bool nobody = r->status < 200 || r->status == 204 || r->status == 304 ||
                  (flags & SY_HTTP_RESPONSE_TO_HEAD);
    if (nobody)
        check(r->body == SY_HTTP_BODY_NONE);
    else if (r->chunked)
        check(r->body == SY_HTTP_BODY_CHUNKED);
    else if (r->content_length >= 0)
        check(r->body == SY_HTTP_BODY_LENGTH);
    else
        check(r->body == SY_HTTP_BODY_CLOSE && !r->keep_alive);
    check(!(r->chunked && r->content_length >= 0));
    for (size_t i = 0; i < r->nheaders; i++) {
        const sy_http_header_t *h = &r->headers[i];
        check(h->name.len > 0 && h->name.p >= b && h->name.p + h->name.len <= b + head);
        for (size_t j = 0; j < h->value.len; j++)
            check(h->value.p[j] != '\r' && h->value.p[j] != '\n' && h->value.p[j] != '\0');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const sy_http_limits_t lims[2] = {SY_HTTP_LIMITS_INIT, {40, 160, 5}};
    char *whole = malloc(size ? size : 1);
    memcpy(whole, data, size);
    uint64_t seed = sy_hash_bytes(data, size);
    for (int l = 0; l < 2; l++) {
        unsigned flags = l ? SY_HTTP_RESPONSE_TO_HEAD : 0;
        sy_http_header_t hs[MAXH], ph[MAXH];
        sy_http_response_t r, pr;
        int rc = sy_http_parse_response(whole, size, &lims[l], flags, hs, MAXH, &r);
        if (rc > 0)
            check_ok(whole, size, rc, &r, flags);
        else if (rc == SY_EAGAIN)
            check(r.error == NULL);
        else
            check((rc == SY_EINVAL || rc == SY_ETOOBIG) && r.error != NULL);

        for (int s = 0; s < 2; s++) {
            size_t k = size ? (size_t)(seed >> (s * 32)) % size : 0;
            char *part = malloc(k ? k : 1);
            memcpy(part, data, k);
            int prc = sy_http_parse_response(part, k, &lims[l], flags, ph, MAXH, &pr);
            if (prc != SY_EAGAIN) {
                check(prc == rc && pr.error == r.error);
                if (prc > 0)
                    check(pr.status == r.status && pr.body == r.body &&
                          pr.content_length == r.content_length &&
                          pr.keep_alive == r.keep_alive && pr.nheaders == r.nheaders);
            }
            free(part);
        }
    }
    free(whole);
    return 0;
}
