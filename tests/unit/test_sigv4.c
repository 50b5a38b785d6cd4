/*
 * test_sigv4.c - AWS Signature Version 4 (src/providers/sigv4.c).
 *
 * Signing is checked against AWS's published SigV4 test-suite vectors
 * (example credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
 * us-east-1, service "service", 20150830T123600Z) and the documented
 * signing-key example; verification against what Bedrock answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include "unit.h"
#include "providers/sigv4.h"

static const sy_sigv4_creds_t EXAMPLE = {SY_STR("AKIDEXAMPLE"),
                                         SY_STR("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                                         SY_STR_NULL};

#define H(n, v) {SY_STR(n), SY_STR(v)}

/* Sign with the suite's region, service and date; return the signature. */
static sy_sigv4_result_t sign(sy_arena_t *a, const char *method, const char *path,
                              const char *query, const sy_http_header_t *h, size_t n,
                              const char *body, const sy_sigv4_creds_t *creds)
{
    sy_sigv4_request_t req = {
        .method = sy_str_c(method),
        .path = sy_str_c(path),
        .query = sy_str_c(query),
        .headers = h,
        .nheaders = n,
        .payload = sy_str_c(body),
        .region = SY_STR("us-east-1"),
        .service = SY_STR("service"),
        .amz_date = SY_STR("20150830T123600Z"),
    };
    sy_sigv4_result_t r;
    memset(&r, 0, sizeof(r));
    CHECK_INT(sy_sigv4_sign(a, &req, creds ? creds : &EXAMPLE, &r), SY_OK);
    return r;
}

static void test_signing_key(void)
{
    unsigned char k[32];
    char hex[65];
    /* AWS's documented derivation example (IAM, 20120215) */
    sy_sigv4_signing_key(EXAMPLE.secret_access_key, SY_STR("20120215"), SY_STR("us-east-1"),
                         SY_STR("iam"), k);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", k[i]);
    CHECK_MEM(hex, 64, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
    char d[17];
    sy_sigv4_amz_date(1440938160, d);
    CHECK_MEM(d, strlen(d), "20150830T123600Z");
    sy_sigv4_sha256_hex("", 0, hex);
    CHECK_MEM(hex, 64, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_vanilla(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_http_header_t h[] = {H("Host", "example.amazonaws.com"), H("X-Amz-Date", "20150830T123600Z")};

    /* get-vanilla: every intermediate string */
    sy_sigv4_result_t r = sign(a, "GET", "/", "", h, 2, "", NULL);
    CHECK_STR(r.canonical_request, "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                                   "host;x-amz-date\n"
                                   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK_STR(r.string_to_sign, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                                "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
    CHECK_STR(r.scope, "20150830/us-east-1/service/aws4_request");
    CHECK_STR(r.signed_headers, "host;x-amz-date");
    CHECK_STR(r.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    CHECK_STR(r.authorization,
              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
              "SignedHeaders=host;x-amz-date, "
              "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    /* an empty path is "/" */
    r = sign(a, "GET", "", "", h, 2, "", NULL);
    CHECK_STR(r.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");

    /* get-vanilla-query-order-key-case: parameters sorted */
    r = sign(a, "GET", "/", "Param2=value2&Param1=value1", h, 2, "", NULL);
    CHECK(sy_str_find(r.canonical_request, SY_STR("\n/\nParam1=value1&Param2=value2\n")) >= 0);
    CHECK_STR(r.signature, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");

    /* post-vanilla, post-vanilla-query */
    r = sign(a, "POST", "/", "", h, 2, "", NULL);
    CHECK_STR(r.signature, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
    r = sign(a, "POST", "/", "Param1=value1", h, 2, "", NULL);
    CHECK_STR(r.signature, "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11");

    /* get-utf8: the raw bytes of U+1234 in the path */
    r = sign(a, "GET", "/\xE1\x88\xB4", "", h, 2, "", NULL);
    CHECK(sy_str_starts_with(r.canonical_request, SY_STR("GET\n/%E1%88%B4\n")));
    CHECK_STR(r.signature, "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");

    /* get-unreserved: nothing encoded */
    r = sign(a, "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "",
             h, 2, "", NULL);
    CHECK_STR(r.signature, "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
    sy_arena_free(a);
}

static void test_headers(void)
{
    sy_arena_t *a = sy_arena_new(0);
    /* get-header-value-trim: values trimmed, inner runs of spaces collapsed */
    sy_http_header_t t[] = {H("Host", "example.amazonaws.com"), H("My-Header1", " value1 "),
                            H("My-Header2", "\"a   b   c\""), H("X-Amz-Date", "20150830T123600Z")};
    sy_sigv4_result_t r = sign(a, "GET", "/", "", t, 4, "", NULL);
    CHECK(sy_str_find(r.canonical_request, SY_STR("my-header1:value1\nmy-header2:\"a b c\"\n")) >= 0);
    CHECK_STR(r.signed_headers, "host;my-header1;my-header2;x-amz-date");
    CHECK_STR(r.signature, "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");

    /* get-header-key-duplicate: repeated names joined with ',' in order */
    sy_http_header_t d[] = {H("Host", "example.amazonaws.com"), H("My-Header1", "value2"),
                            H("My-Header1", "value2"), H("My-Header1", "value1"),
                            H("X-Amz-Date", "20150830T123600Z")};
    r = sign(a, "GET", "/", "", d, 5, "", NULL);
    CHECK(sy_str_find(r.canonical_request, SY_STR("\nmy-header1:value2,value2,value1\n")) >= 0);
    CHECK_STR(r.signed_headers, "host;my-header1;x-amz-date");
    CHECK_STR(r.signature, "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea");

    /* post-x-www-form-urlencoded: a signed content type and a hashed body */
    sy_http_header_t f[] = {H("Content-Type", "application/x-www-form-urlencoded"),
                            H("Host", "example.amazonaws.com"), H("X-Amz-Date", "20150830T123600Z")};
    r = sign(a, "POST", "/", "", f, 3, "Param1=value1", NULL);
    CHECK_STR(r.canonical_request,
              "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n"
              "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
              "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
    CHECK_STR(r.signature, "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");

    /* get-vanilla-with-session-token: the token is a signed header */
    sy_sigv4_creds_t tc = EXAMPLE;
    tc.session_token = SY_STR("6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267");
    sy_http_header_t s[] = {H("Host", "example.amazonaws.com"), H("X-Amz-Date", "20150830T123600Z"),
                            H("X-Amz-Security-Token",
                              "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267")};
    r = sign(a, "GET", "/", "", s, 3, "", &tc);
    CHECK_STR(r.signed_headers, "host;x-amz-date;x-amz-security-token");
    CHECK_STR(r.signature, "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");

    /* "only" restricts the covered headers; a listed but absent one is empty */
    sy_sigv4_request_t req = {.method = SY_STR("GET"), .path = SY_STR("/"), .headers = t,
                              .nheaders = 4, .only = SY_STR("host;x-amz-date"),
                              .region = SY_STR("us-east-1"), .service = SY_STR("service"),
                              .amz_date = SY_STR("20150830T123600Z")};
    CHECK_INT(sy_sigv4_sign(a, &req, &EXAMPLE, &r), SY_OK);
    CHECK_STR(r.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    req.only = SY_STR("host;x-amz-date;x-missing");
    CHECK_INT(sy_sigv4_sign(a, &req, &EXAMPLE, &r), SY_OK);
    CHECK(sy_str_find(r.canonical_request, SY_STR("\nx-missing:\n\nhost;x-amz-date;x-missing\n")) >= 0);
    req.only = SY_STR("host;host");
    CHECK_INT(sy_sigv4_sign(a, &req, &EXAMPLE, &r), SY_EINVAL);
    req.only = SY_STR_NULL;
    req.amz_date = SY_STR("2015-08-30T12:36:00Z");
    CHECK_INT(sy_sigv4_sign(a, &req, &EXAMPLE, &r), SY_EINVAL);
    /* a precomputed payload hash is used as given */
    req.amz_date = SY_STR("20150830T123600Z");
    req.payload_hash = SY_STR(SY_SIGV4_UNSIGNED_PAYLOAD);
    CHECK_INT(sy_sigv4_sign(a, &req, &EXAMPLE, &r), SY_OK);
    CHECK(sy_str_ends_with(r.canonical_request, SY_STR("\nUNSIGNED-PAYLOAD")));
    sy_arena_free(a);
}

static void test_query_and_path(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_http_header_t h[] = {H("Host", "example.amazonaws.com"), H("X-Amz-Date", "20150830T123600Z")};
    /* decoded then re-encoded strictly; sorted by name then value; empty value kept */
    sy_sigv4_result_t r = sign(a, "GET", "/", "b=2&a=%7e&A=x+y&a=1&flag&&c=%2F", h, 2, "", NULL);
    CHECK(sy_str_find(r.canonical_request, SY_STR("\nA=x%2By&a=1&a=~&b=2&c=%2F&flag=\n")) >= 0);
    /* Bedrock: the model id's ':' travels as %3A and is signed as %253A */
    r = sign(a, "POST", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", "", h, 2, "{}",
             NULL);
    CHECK(sy_str_starts_with(r.canonical_request,
                             SY_STR("POST\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse\n")));
    /* a client that sends ':' raw is signed as %3A */
    r = sign(a, "POST", "/model/anthropic.claude-3-haiku-20240307-v1:0/converse", "", h, 2, "{}",
             NULL);
    CHECK(sy_str_starts_with(r.canonical_request,
                             SY_STR("POST\n/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse\n")));
    /* S3's rule: the path as it is */
    sy_sigv4_request_t req = {.method = SY_STR("GET"), .path = SY_STR("/a%3Ab"), .headers = h,
                              .nheaders = 2, .region = SY_STR("us-east-1"),
                              .service = SY_STR("s3"), .amz_date = SY_STR("20150830T123600Z"),
                              .single_encode = true};
    CHECK_INT(sy_sigv4_sign(a, &req, &EXAMPLE, &r), SY_OK);
    CHECK(sy_str_starts_with(r.canonical_request, SY_STR("GET\n/a%3Ab\n")));
    /* building a Bedrock path */
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_buf_append_c(&b, "/model/");
    sy_sigv4_uri_encode(&b, SY_STR("us.anthropic.claude-sonnet-4-20250514-v1:0"), false);
    sy_buf_append_c(&b, "/converse-stream");
    CHECK_MEM(sy_buf_ptr(&b), b.len, "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse-stream");
    sy_buf_clear(&b);
    sy_sigv4_uri_encode(&b, SY_STR("a/b c"), true);
    CHECK_MEM(sy_buf_ptr(&b), b.len, "a/b%20c");
    sy_buf_free(&b);
    sy_arena_free(a);
}

static void test_parse_authorization(void)
{
    sy_sigv4_auth_t p;
    const char *why = NULL;
    CHECK_INT(sy_sigv4_parse_authorization(
                  SY_STR("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request,"
                         "   SignedHeaders=host;x-amz-date ,Signature=abc"),
                  &p, &why),
              SY_OK);
    CHECK_STR(p.access_key_id, "AKIDEXAMPLE");
    CHECK_STR(p.date, "20150830");
    CHECK_STR(p.region, "us-east-1");
    CHECK_STR(p.service, "service");
    CHECK_STR(p.terminal, "aws4_request");
    CHECK_STR(p.signed_headers, "host;x-amz-date");
    CHECK_STR(p.signature, "abc");
    CHECK_INT(sy_sigv4_parse_authorization(SY_STR("AWS4-HMAC-SHA256 Credential=A/B/C/D/E"), &p, &why),
              SY_EINVAL);
    CHECK_MEM(why, strlen(why),
              "Authorization header requires 'Signature' parameter. Authorization header requires "
              "'SignedHeaders' parameter.");
    CHECK_INT(sy_sigv4_parse_authorization(SY_STR("Bearer abc"), &p, &why), SY_EINVAL);
    CHECK_INT(sy_sigv4_parse_authorization(
                  SY_STR("AWS4-HMAC-SHA256 Credential=A/B/C/D, SignedHeaders=host, Signature=x"), &p, &why),
              SY_EINVAL);
    CHECK_INT(sy_sigv4_parse_authorization(
                  SY_STR("AWS4-HMAC-SHA256 Credential=A/B/C/D/E/F, SignedHeaders=host, Signature=x"), &p,
                  &why),
              SY_EINVAL);
    CHECK_INT(sy_sigv4_parse_authorization(
                  SY_STR("AWS4-HMAC-SHA256 Credential=A/B/C/D/E, SignedHeaders, Signature=x"), &p, &why),
              SY_EINVAL);
}

/* A signed Bedrock request, then verify it with one thing changed. */
typedef struct {
    sy_http_header_t h[8];
    size_t n;
    char auth[512];
    const char *body;
} signed_req_t;

static void make_request(sy_arena_t *a, signed_req_t *s, const sy_sigv4_creds_t *c, const char *date,
                         const char *region, const char *service)
{
    memset(s, 0, sizeof(*s));
    s->body = "{\"messages\":[]}";
    s->h[s->n++] = (sy_http_header_t)H("Host", "bedrock-runtime.us-east-1.amazonaws.com");
    s->h[s->n++] = (sy_http_header_t){SY_STR("X-Amz-Date"), sy_str_c(date)};
    s->h[s->n++] = (sy_http_header_t)H("Content-Type", "application/json");
    if (c->session_token.len)
        s->h[s->n++] = (sy_http_header_t){SY_STR("X-Amz-Security-Token"), c->session_token};
    sy_sigv4_request_t req = {.method = SY_STR("POST"),
                              .path = SY_STR("/model/amazon.nova-lite-v1%3A0/converse"),
                              .headers = s->h,
                              .nheaders = s->n,
                              .payload = sy_str_c(s->body),
                              .region = sy_str_c(region),
                              .service = sy_str_c(service),
                              .amz_date = sy_str_c(date)};
    sy_sigv4_result_t r;
    CHECK_INT(sy_sigv4_sign(a, &req, c, &r), SY_OK);
    snprintf(s->auth, sizeof(s->auth), "%.*s", SY_STR_FMT(r.authorization));
    /* an unsigned header (user-agent) must not matter */
    s->h[s->n++] = (sy_http_header_t)H("User-Agent", "test");
    s->h[s->n++] = (sy_http_header_t){SY_STR("Authorization"), sy_str_c(s->auth)};
}

static sy_sigv4_verdict_t verify(sy_arena_t *a, signed_req_t *s, const sy_sigv4_creds_t *keys,
                                 size_t nkeys, int64_t now, const char *body)
{
    sy_sigv4_verify_t in = {.method = SY_STR("POST"),
                            .path = SY_STR("/model/amazon.nova-lite-v1%3A0/converse"),
                            .headers = s->h,
                            .nheaders = s->n,
                            .body = sy_str_c(body ? body : s->body),
                            .region = SY_STR("us-east-1"),
                            .service = SY_STR("bedrock"),
                            .keys = keys,
                            .nkeys = nkeys,
                            .now = now};
    sy_sigv4_verdict_t v;
    int rc = sy_sigv4_verify(a, &in, &v);
    CHECK(rc == (v.status == 0 ? SY_OK : SY_ERR));
    return v;
}

#define CHECK_VERDICT(v, st, type, prefix)                                                         \
    do {                                                                                           \
        CHECK_INT((v).status, st);                                                                 \
        CHECK((v).error_type && strcmp((v).error_type, type) == 0);                                \
        CHECK((v).message && strncmp((v).message, prefix, strlen(prefix)) == 0);                   \
    } while (0)

static void test_verify(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_sigv4_creds_t keys[2] = {
        {SY_STR("AKIDOTHER"), SY_STR("other-secret"), SY_STR_NULL},
        {SY_STR("AKIDEXAMPLE"), SY_STR("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), SY_STR_NULL},
    };
    const int64_t when = 1440938160; /* 20150830T123600Z */
    signed_req_t s;
    make_request(a, &s, &keys[1], "20150830T123600Z", "us-east-1", "bedrock");
    sy_sigv4_verdict_t v = verify(a, &s, keys, 2, when, NULL);
    CHECK_INT(v.status, 0);
    CHECK_STR(v.access_key_id, "AKIDEXAMPLE");
    /* clock check off */
    v = verify(a, &s, keys, 2, 0, NULL);
    CHECK_INT(v.status, 0);
    /* within the 15-minute window either way */
    CHECK_INT(verify(a, &s, keys, 2, when + 899, NULL).status, 0);
    CHECK_INT(verify(a, &s, keys, 2, when - 899, NULL).status, 0);

    /* a changed body: the real mismatch answer, with the expected strings */
    v = verify(a, &s, keys, 2, when, "{\"messages\":[1]}");
    CHECK_VERDICT(v, 403, "InvalidSignatureException",
                  "The request signature we calculated does not match the signature you provided. "
                  "Check your AWS Secret Access Key and signing method. Consult the service "
                  "documentation for details.\n\nThe Canonical String for this request should have "
                  "been\n'POST\n/model/amazon.nova-lite-v1%253A0/converse\n\ncontent-type:");
    CHECK(strstr(v.message, "\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n") != NULL);
    CHECK(strstr(v.message, "EXAMPLEKEY") == NULL); /* never the secret */

    /* the wrong secret for a known key */
    sy_sigv4_creds_t wrong = keys[1];
    wrong.secret_access_key = SY_STR("not-the-secret");
    v = verify(a, &s, &wrong, 1, when, NULL);
    CHECK_VERDICT(v, 403, "InvalidSignatureException", "The request signature we calculated");
    /* an unknown key */
    v = verify(a, &s, keys, 1, when, NULL);
    CHECK_VERDICT(v, 403, "UnrecognizedClientException",
                  "The security token included in the request is invalid.");
    /* expired, not yet current */
    v = verify(a, &s, keys, 2, when + 3600, NULL);
    CHECK_VERDICT(v, 403, "InvalidSignatureException",
                  "Signature expired: 20150830T123600Z is now earlier than 20150830T132100Z "
                  "(20150830T133600Z - 15 min.)");
    v = verify(a, &s, keys, 2, when - 3600, NULL);
    CHECK_VERDICT(v, 403, "InvalidSignatureException",
                  "Signature not yet current: 20150830T123600Z is still later than 20150830T115100Z "
                  "(20150830T113600Z + 15 min.)");

    /* scoped to another service / region */
    make_request(a, &s, &keys[1], "20150830T123600Z", "us-east-1", "s3");
    v = verify(a, &s, keys, 2, when, NULL);
    CHECK_VERDICT(v, 403, "InvalidSignatureException",
                  "Credential should be scoped to correct service: 'bedrock'. ");
    make_request(a, &s, &keys[1], "20150830T123600Z", "eu-west-1", "bedrock");
    v = verify(a, &s, keys, 2, when, NULL);
    CHECK_VERDICT(v, 403, "InvalidSignatureException", "Credential should be scoped to a valid region. ");

    /* no Authorization at all */
    make_request(a, &s, &keys[1], "20150830T123600Z", "us-east-1", "bedrock");
    s.n--;
    v = verify(a, &s, keys, 2, when, NULL);
    CHECK_VERDICT(v, 403, "MissingAuthenticationTokenException", "Missing Authentication Token");
    /* malformed Authorization */
    s.h[s.n++] = (sy_http_header_t)H("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/x");
    v = verify(a, &s, keys, 2, when, NULL);
    CHECK_VERDICT(v, 400, "IncompleteSignatureException",
                  "Authorization header requires 'Signature' parameter.");
    /* no X-Amz-Date */
    make_request(a, &s, &keys[1], "20150830T123600Z", "us-east-1", "bedrock");
    s.h[1].name = SY_STR("X-Other");
    v = verify(a, &s, keys, 2, when, NULL);
    CHECK_VERDICT(v, 400, "IncompleteSignatureException",
                  "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    /* the credential date differs from X-Amz-Date */
    make_request(a, &s, &keys[1], "20150830T123600Z", "us-east-1", "bedrock");
    s.h[1].value = SY_STR("20150831T000100Z");
    v = verify(a, &s, keys, 2, 0, NULL);
    CHECK_VERDICT(v, 403, "InvalidSignatureException",
                  "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                  "from HTTP: '20150830' != '20150831', from '20150831T000100Z'.");

    /* session tokens: required when the key has one, must match */
    sy_sigv4_creds_t tk = keys[1];
    tk.session_token = SY_STR("token-1");
    make_request(a, &s, &tk, "20150830T123600Z", "us-east-1", "bedrock");
    CHECK_INT(verify(a, &s, &tk, 1, when, NULL).status, 0);
    sy_sigv4_creds_t tk2 = tk;
    tk2.session_token = SY_STR("token-2");
    v = verify(a, &s, &tk2, 1, when, NULL);
    CHECK_VERDICT(v, 403, "UnrecognizedClientException", "The security token");
    v = verify(a, &s, &keys[1], 1, when, NULL); /* the key has no token, the request has one */
    CHECK_VERDICT(v, 403, "UnrecognizedClientException", "The security token");

    /* host must be signed */
    make_request(a, &s, &keys[1], "20150830T123600Z", "us-east-1", "bedrock");
    char *noh = sy_arena_strdup(a, s.auth);
    char *sh = strstr(noh, ";host;");
    CHECK(sh != NULL);
    if (sh)
        memcpy(sh + 1, "xxxx", 4); /* "host" -> "xxxx" */
    s.h[s.n - 1].value = sy_str_c(noh);
    v = verify(a, &s, keys, 2, when, NULL);
    CHECK_VERDICT(v, 400, "IncompleteSignatureException", "'Host' or ':authority' must be a 'SignedHeader'");
    sy_arena_free(a);
}

int main(void)
{
    RUN(test_signing_key);
    RUN(test_vanilla);
    RUN(test_headers);
    RUN(test_query_and_path);
    RUN(test_parse_authorization);
    RUN(test_verify);
    return unit_done();
}
