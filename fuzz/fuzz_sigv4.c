/*
 * fuzz_sigv4.c - libFuzzer target for SigV4 parsing, signing and
 * verification (the simulator verifies signatures of requests that come
 * from the network).
 *
 * Three checks per input:
 *   1. the input as an Authorization value: parse must not crash, its views
 *      must lie inside the input, and verify must answer 400 or 403 with a
 *      message (the key material is unknown to the input);
 *   2. a request built from the input (method, path, query, headers with
 *      arbitrary values, body), signed and then verified: always accepted;
 *   3. the same request with one body byte changed: always refused with 403
 *      InvalidSignatureException.
 */
#include <stdlib.h>
#include <string.h>
#include "core/arena.h"
#include "providers/sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static bool inside(sy_str_t v, const char *p, size_t n)
{
    return v.len == 0 || (v.p >= p && v.p + v.len <= p + n);
}

/* Take the next field of the input: bytes up to a NUL (or the end). */
static sy_str_t take(const char **p, const char *end)
{
    const char *s = *p, *z = memchr(s, 0, (size_t)(end - s));
    const char *e = z ? z : end;
    *p = z ? z + 1 : end;
    return sy_str(s, (size_t)(e - s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sy_arena_t *a;
    if (a == NULL)
        a = sy_arena_new(65536);
    const char *in = (const char *)data;
    static const sy_sigv4_creds_t keys[1] = {
        {SY_STR("AKIDEXAMPLE"), SY_STR("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), SY_STR_NULL}};

    /* 1. parse and verify the raw input as an Authorization header */
    sy_sigv4_auth_t auth;
    const char *why = NULL;
    sy_str_t whole = sy_str(in, size);
    if (sy_sigv4_parse_authorization(whole, &auth, &why) == SY_OK) {
        check(inside(auth.access_key_id, in, size) && inside(auth.signature, in, size) &&
              inside(auth.signed_headers, in, size) && inside(auth.region, in, size));
    } else {
        check(why != NULL);
    }
    sy_http_header_t raw[3] = {{SY_STR("Host"), SY_STR("h")},
                               {SY_STR("X-Amz-Date"), SY_STR("20150830T123600Z")},
                               {SY_STR("Authorization"), whole}};
    sy_sigv4_verify_t v = {.method = SY_STR("POST"), .path = SY_STR("/"), .headers = raw,
                           .nheaders = 3, .region = SY_STR("us-east-1"),
                           .service = SY_STR("service"), .keys = keys, .nkeys = 1};
    sy_sigv4_verdict_t verdict;
    if (sy_sigv4_verify(a, &v, &verdict) != SY_OK)
        check((verdict.status == 400 || verdict.status == 403) && verdict.message && verdict.error_type);

    /* 2. sign a request made of the input's fields, then verify it */
    const char *p = in, *end = in + size;
    sy_str_t path = take(&p, end), query = take(&p, end), body = take(&p, end);
    sy_http_header_t h[12];
    size_t n = 0;
    h[n++] = (sy_http_header_t){SY_STR("Host"), SY_STR("bedrock-runtime.us-east-1.amazonaws.com")};
    h[n++] = (sy_http_header_t){SY_STR("X-Amz-Date"), SY_STR("20150830T123600Z")};
    static const char *const names[] = {"x-a", "X-B", "x-a", "content-type", "x-c-d"};
    while (p < end && n < 8) {
        sy_str_t val = take(&p, end);
        h[n] = (sy_http_header_t){sy_str_c(names[n % 5]), val};
        n++;
    }
    sy_sigv4_request_t req = {.method = SY_STR("POST"), .path = path, .query = query, .headers = h,
                              .nheaders = n, .payload = body, .region = SY_STR("us-east-1"),
                              .service = SY_STR("bedrock"), .amz_date = SY_STR("20150830T123600Z")};
    sy_sigv4_result_t r;
    check(sy_sigv4_sign(a, &req, &keys[0], &r) == SY_OK);
    check(r.signature.len == 64 && r.authorization.len > 64);
    h[n++] = (sy_http_header_t){SY_STR("Authorization"), r.authorization};
    sy_sigv4_verify_t v2 = {.method = SY_STR("POST"), .path = path, .query = query, .headers = h,
                            .nheaders = n, .body = body, .region = SY_STR("us-east-1"),
                            .service = SY_STR("bedrock"), .keys = keys, .nkeys = 1};
    check(sy_sigv4_verify(a, &v2, &verdict) == SY_OK && verdict.status == 0);

    /* 3. one body byte changed: refused */
    char *copy = malloc(body.len + 1);
    if (body.len)
        memcpy(copy, body.p, body.len);
    copy[body.len] = 0;
    v2.body = sy_str(copy, body.len + 1); /* one byte longer, and that byte NUL */
    check(sy_sigv4_verify(a, &v2, &verdict) == SY_ERR && verdict.status == 403 &&
          strcmp(verdict.error_type, "InvalidSignatureException") == 0);
    free(copy);
    sy_arena_reset(a);
    return 0;
}
