/* Unit tests for src/http/parse.c and src/http/chunked.c: request heads,
 * response heads, the chunked coding, helpers. Every input is copied into a
 * heap buffer of its exact size so ASan catches any read past the end. */
#include "unit.h"
#include <stdlib.h>
#include "http/parse.h"

#define MAXH 128

typedef struct {
    const char *in;
    size_t len;
    int status; /* 0: a valid head that spans the whole input */
} req_case_t;
#define C(lit, st) {lit, sizeof(lit) - 1, st}

static char *dup_exact(const char *p, size_t n)
{
    char *b = malloc(n ? n : 1);
    if (n)
        memcpy(b, p, n);
    return b;
}

static int parse_req(const char *in, size_t len, const sy_http_limits_t *lim, size_t cap,
                     sy_http_header_t *hs, sy_http_request_t *r, char **keep)
{
    char *b = dup_exact(in, len);
    int rc = sy_http_parse_request(b, len, lim, hs, cap, r);
    if (keep)
        *keep = b;
    else
        free(b);
    return rc;
}

/* Every proper prefix either says SY_EAGAIN or already has the verdict the
 * whole input gets (same code, status and message). Returns the number of
 * prefixes that broke the rule. */
static int prefix_violations(const char *in, size_t len, const sy_http_limits_t *lim, size_t cap,
                             int rc, const sy_http_request_t *full)
{
    int bad = 0;
    for (size_t k = 0; k < len; k++) {
        sy_http_header_t hs[MAXH];
        sy_http_request_t r;
        int prc = parse_req(in, k, lim, cap, hs, &r, NULL);
        if (prc == SY_EAGAIN)
            continue;
        if (prc != rc || (prc < 0 && (r.status != full->status || r.error != full->error))) {
            fprintf(stderr, "  prefix %zu of \"%.*s\": rc %d status %d, full rc %d status %d\n",
                    k, (int)len, in, prc, r.status, rc, full->status);
            bad++;
        }
    }
    return bad;
}

/* Feed byte by byte, parsing only when sy_http_head_ready says so. A verdict
 * must be the whole input's; completion and every cap must be reported at
 * the same byte as with a parse on every byte. Returns the violations. */
static int ready_violations(const char *in, size_t len, const sy_http_limits_t *lim, size_t cap,
                            int rc, const sy_http_request_t *full)
{
    sy_http_head_scan_t st = {0};
    size_t first = len + 1, first_ready = len + 1;
    int bad = 0;
    for (size_t k = 1; k <= len; k++) {
        sy_http_header_t hs[MAXH];
        sy_http_request_t r;
        char *b = dup_exact(in, k);
        bool ready = sy_http_head_ready(&st, b, k, lim);
        int prc = sy_http_parse_request(b, k, lim, hs, cap, &r);
        free(b);
        if (prc != SY_EAGAIN && first > len)
            first = k;
        if (ready && prc != SY_EAGAIN) {
            if (first_ready > len)
                first_ready = k;
            if (prc != rc || r.status != full->status)
                bad++;
        }
    }
    if (rc > 0 || rc == SY_ETOOBIG)
        bad += first_ready != first;
    if (bad)
        fprintf(stderr, "  ready: \"%.*s\": verdict at %zu, with the hint at %zu\n", (int)len, in,
                first, first_ready);
    return bad;
}

static void run_req_cases(const req_case_t *cases, size_t n, const sy_http_limits_t *lim,
                          size_t cap)
{
    for (size_t i = 0; i < n; i++) {
        const req_case_t *c = &cases[i];
        sy_http_header_t hs[MAXH];
        sy_http_request_t r;
        int rc = parse_req(c->in, c->len, lim, cap, hs, &r, NULL);
        int want = c->status == 0                           ? (int)c->len
                   : c->status == 414 || c->status == 431 ? SY_ETOOBIG
                                                          : SY_EINVAL;
        if (rc != want || r.status != c->status || (rc < 0) != (r.error != NULL)) {
            fprintf(stderr, "  case %zu \"%.*s\": rc %d status %d (%s), expected rc %d status %d\n",
                    i, (int)c->len, c->in, rc, r.status, r.error ? r.error : "-", want, c->status);
            unit_cur_failed++;
        }
        CHECK_INT(prefix_violations(c->in, c->len, lim, cap, rc, &r), 0);
        CHECK_INT(ready_violations(c->in, c->len, lim, cap, rc, &r), 0);
    }
}

/* ---- valid requests -------------------------------------------------- */

static void test_request_valid_table(void)
{
    static const req_case_t cases[] = {
        C("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0),
        C("GET /v1/models?x=1&y HTTP/1.1\r\nHost: api.example.com:8080\r\n\r\n", 0),
        C("POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 0),
        C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n", 0),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 0),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED \r\n\r\n", 0),
        C("GET / HTTP/1.0\r\n\r\n", 0),
        C("GET / HTTP/1.0\r\nExpect: something\r\n\r\n", 0), /* ignored in 1.0 */
        C("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0),
        C("\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0),
        C("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 0),
        C("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 0),
        C("GET http://example.com/p?q HTTP/1.1\r\nHost: other\r\n\r\n", 0),
        C("GET https://[::1]:8443 HTTP/1.1\r\nHost: x\r\n\r\n", 0),
        C("GET / HTTP/1.1\r\nHost:\r\n\r\n", 0), /* empty Host is allowed */
        C("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n", 0),
        C("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9 obs-text\r\n\r\n", 0),
        C("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n", 0),
        C("M-SEARCH!#$%&'*+.^_`|~ / HTTP/1.1\r\nHost: a\r\n\r\n", 0),
        C("GET /a/b;c=d/%7Euser!$&'()*+,;=:@-._~? HTTP/1.1\r\nHost: a\r\n\r\n", 0),
    };
    run_req_cases(cases, SY_ARRAY_LEN(cases), NULL, MAXH);
}

static void test_request_fields(void)
{
    sy_http_header_t hs[MAXH];
    sy_http_request_t r;
    const char *in = "GET /v1/models?limit=5&x HTTP/1.1\r\n"
                     "Host: api.example.com\r\n"
                     "User-Agent:   curl/8   \r\n"
                     "Connection: Upgrade, Keep-Alive\r\n\r\n";
    char *b;
    int rc = parse_req(in, strlen(in), NULL, MAXH, hs, &r, &b);
    CHECK_INT(rc, (int)strlen(in));
    CHECK_STR(r.method, "GET");
    CHECK_STR(r.target, "/v1/models?limit=5&x");
    CHECK_STR(r.path, "/v1/models");
    CHECK_STR(r.query, "limit=5&x");
    CHECK_STR(r.host, "api.example.com");
    CHECK_INT(r.minor_version, 1);
    CHECK_INT(r.nheaders, 3);
    CHECK(r.headers == hs);
    CHECK_STR(hs[1].name, "User-Agent");
    CHECK_STR(hs[1].value, "curl/8");
    CHECK(hs[1].value.p >= b && hs[1].value.p < b + rc); /* zero copy */
    CHECK_INT(r.content_length, -1);
    CHECK_INT(r.body, SY_HTTP_BODY_NONE);
    CHECK(!r.chunked && r.keep_alive && !r.expect_continue);
    CHECK(r.error == NULL && r.status == 0);
    free(b);

    in = "POST /v1/chat/completions HTTP/1.1\r\nhost: a\r\ncontent-length: 12\r\n"
         "expect: 100-continue\r\nconnection: close\r\n\r\n{\"model\":1}";
    rc = parse_req(in, strlen(in), NULL, MAXH, hs, &r, &b);
    CHECK_INT(rc, (int)strlen(in) - 11);
    CHECK_STR(r.path, "/v1/chat/completions");
    CHECK_INT(r.query.len, 0);
    CHECK_INT(r.content_length, 12);
    CHECK_INT(r.body, SY_HTTP_BODY_LENGTH);
    CHECK(r.expect_continue && !r.keep_alive);
    free(b);

    in = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nHost: a\r\n\r\n5\r\nhello\r\n";
    rc = parse_req(in, strlen(in), NULL, MAXH, hs, &r, &b);
    CHECK_INT(rc, (int)strlen(in) - 10);
    CHECK(r.chunked);
    CHECK_INT(r.body, SY_HTTP_BODY_CHUNKED);
    CHECK_INT(r.content_length, -1);
    free(b);

    in = "GET http://Example.com:80?q=1 HTTP/1.1\r\nHost: ignored\r\n\r\n";
    rc = parse_req(in, strlen(in), NULL, MAXH, hs, &r, &b);
    CHECK_INT(rc, (int)strlen(in));
    CHECK_STR(r.host, "Example.com:80");
    CHECK_STR(r.path, "/");
    CHECK_STR(r.query, "q=1");
    free(b);

    in = "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n";
    CHECK_INT(parse_req(in, strlen(in), NULL, MAXH, hs, &r, &b), (int)strlen(in));
    CHECK_STR(r.path, "*");
    CHECK_STR(r.host, "h");
    free(b);
}

static void test_request_keep_alive(void)
{
    static const struct {
        const char *in;
        bool keep_alive;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: CLOSE\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: te,,close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nConnection: close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", true},
        {"GET / HTTP/1.0\r\n\r\n", false},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
        {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
        {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        sy_http_header_t hs[MAXH];
        sy_http_request_t r;
        int rc = parse_req(cases[i].in, strlen(cases[i].in), NULL, MAXH, hs, &r, NULL);
        CHECK_INT(rc, (int)strlen(cases[i].in));
        if (r.keep_alive != cases[i].keep_alive) {
            fprintf(stderr, "  keep-alive case %zu: got %d\n", i, r.keep_alive);
            unit_cur_failed++;
        }
    }
}

static void test_request_pipelined(void)
{
    const char *in = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
                     "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                     "GET /c HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t len = strlen(in), off = 0;
    const char *paths[] = {"/a", "/b", "/c"};
    char *b = dup_exact(in, len);
    for (int i = 0; i < 3; i++) {
        sy_http_header_t hs[MAXH];
        sy_http_request_t r;
        int rc = sy_http_parse_request(b + off, len - off, NULL, hs, MAXH, &r);
        CHECK(rc > 0);
        if (rc <= 0)
            break;
        CHECK_STR(r.path, paths[i]);
        off += (size_t)rc + (r.content_length > 0 ? (size_t)r.content_length : 0);
    }
    CHECK_INT(off, len);
    free(b);
}

static void test_request_many_headers(void)
{
    char in[8192];
    size_t n = (size_t)snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 1; i < 100; i++)
        n += (size_t)snprintf(in + n, sizeof(in) - n, "X-H%d: value %d\r\n", i, i);
    n += (size_t)snprintf(in + n, sizeof(in) - n, "\r\n");
    sy_http_header_t hs[MAXH];
    sy_http_request_t r;
    char *b;
    CHECK_INT(parse_req(in, n, NULL, MAXH, hs, &r, &b), (int)n); /* exactly the default 100 */
    CHECK_INT(r.nheaders, 100);
    CHECK_STR(hs[99].name, "X-H99");
    CHECK_STR(hs[99].value, "value 99");
    free(b);
    /* the caller's array is a cap too */
    CHECK_INT(parse_req(in, n, NULL, 50, hs, &r, NULL), SY_ETOOBIG);
    CHECK_INT(r.status, 431);
    /* one more than max_headers */
    memcpy(in + n - 2, "X-Z: 1\r\n\r\n", 10);
    CHECK_INT(parse_req(in, n + 8, NULL, MAXH, hs, &r, NULL), SY_ETOOBIG);
    CHECK_INT(r.status, 431);
    CHECK(strstr(r.error, "too many") != NULL);
}

/* Feed a request one byte at a time, the way a slow client sends it. */
static void test_request_byte_by_byte(void)
{
    const char *in = "\r\nPOST /v1/messages?beta=true HTTP/1.1\r\nHost: gw\r\n"
                     "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n";
    size_t len = strlen(in);
    sy_http_header_t hs[MAXH];
    sy_http_request_t whole, r;
    int rc = parse_req(in, len, NULL, MAXH, hs, &whole, NULL);
    CHECK_INT(rc, (int)len);
    int eagains = 0;
    for (size_t k = 0; k <= len; k++) {
        sy_http_header_t h2[MAXH];
        char *b;
        int prc = parse_req(in, k, NULL, MAXH, h2, &r, &b);
        if (k < len) {
            eagains += prc == SY_EAGAIN;
        } else {
            CHECK_INT(prc, rc);
            CHECK_STR(r.path, "/v1/messages");
            CHECK_STR(r.query, "beta=true");
            CHECK_INT(r.content_length, 2);
            CHECK_INT(r.nheaders, 3);
            CHECK_STR(h2[1].value, "application/json");
        }
        free(b);
    }
    CHECK_INT(eagains, (int)len);
}

/* With sy_http_head_ready a byte-at-a-time sender costs about one parse per
 * line, not one per byte. */
static void test_request_ready_cost(void)
{
    const char *in = "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n"
                     "Authorization: Bearer sk-0123456789abcdef0123456789abcdef\r\n"
                     "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n";
    size_t len = strlen(in);
    sy_http_head_scan_t st = {0};
    int parses = 0, rc = SY_EAGAIN;
    for (size_t k = 1; k <= len && rc == SY_EAGAIN; k++) {
        if (!sy_http_head_ready(&st, in, k, NULL))
            continue;
        sy_http_header_t hs[MAXH];
        sy_http_request_t r;
        parses++;
        rc = sy_http_parse_request(in, k, NULL, hs, MAXH, &r);
    }
    CHECK_INT(rc, (int)len);
    CHECK(parses <= 2 * 6 + 1); /* 6 lines: one parse at each LF, one at each line's start */
    /* a buffer that shrank is a new message: start over */
    CHECK(sy_http_head_ready(&st, in, 3, NULL));
    CHECK_INT(st.scanned, 0);
}

/* ---- smuggling shapes and malformed requests -------------------------- */

static void test_request_smuggling(void)
{
    static const req_case_t cases[] = {
        /* Content-Length and Transfer-Encoding together */
        C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
          400),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
          400),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n",
          501), /* the coding is refused first */
        /* duplicate and invalid Content-Length */
        C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5a\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5.0\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \xd9\xa5\r\n\r\n", 400),
        /* Transfer-Encoding shapes */
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
          "Transfer-Encoding: chunked\r\n\r\n",
          400),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
          "Transfer-Encoding: identity\r\n\r\n",
          400),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chun ked\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 501),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 501),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunkedx\r\n\r\n", 501),
        C("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x0b"
          "chunked\r\n\r\n",
          400),
        /* obs-fold and whitespace at line starts */
        C("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  folded\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tfolded\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n", 400),
        /* line terminators */
        C("GET / HTTP/1.1\nHost: a\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\r\n\n", 400),
        C("GET / HTTP/1.1\rHost: a\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\r\n\rX", 400),
        C("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400),
        C("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        /* field names */
        C("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\r\nHo(st: a\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\r\nX/Y: 1\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\r\nX@Y: 1\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\r\nX\"Y: 1\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\r\n\xc3\xa9: 1\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\r\nNo Colon\r\n\r\n", 400),
        /* field values */
        C("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fz\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\r\nX: \x1b[31m\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\r\nX: a\x0bz\r\n\r\n", 400),
        /* NUL anywhere */
        C("G\0T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("GET / HTTP/1.1\0\r\nHost: a\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHo\0st: a\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\0\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\r\n\0\r\n\r\n", 400),
        C("\0GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        /* request line */
        C("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400),
        C("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("G(ET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("GET\r\nHost: a\r\n\r\n", 400),
        C("GET /\r\n\r\n", 400), /* HTTP/0.9 */
        C("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("GET example.com HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("GET http:/x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("GET http://user@evil/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("GET 1http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        C("CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        /* versions */
        C("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505),
        C("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        C("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
        C("GET / HTTP/9.9\r\n", 505), /* decided at the end of the request line */
        C("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400),
        C("GET / HTTP/1\r\nHost: a\r\n\r\n", 400),
        C("GET / http/1.1\r\nHost: a\r\n\r\n", 400),
        C("GET / HTTPS/1.1\r\nHost: a\r\n\r\n", 400),
        C("GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400),
        /* Host */
        C("GET / HTTP/1.1\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nX: a\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400),
        C("GET http://a/ HTTP/1.1\r\n\r\n", 400), /* absolute-form still needs Host */
        /* Expect */
        C("GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 417),
        C("GET / HTTP/1.1\r\nHost: a\r\nExpect:\r\n\r\n", 417),
        C("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, x\r\n\r\n", 417),
        C("GET / HTTP/1.1\r\nExpect: x\r\n\r\n", 400), /* framing/Host errors first */
    };
    run_req_cases(cases, SY_ARRAY_LEN(cases), NULL, MAXH);

    /* the messages a person reads */
    sy_http_header_t hs[MAXH];
    sy_http_request_t r;
    const char *in =
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
    CHECK_INT(parse_req(in, strlen(in), NULL, MAXH, hs, &r, NULL), SY_EINVAL);
    CHECK(strcmp(r.error, "Content-Length and Transfer-Encoding together are not allowed") == 0);
    static const char nul[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
    CHECK_INT(parse_req(nul, sizeof(nul) - 1, NULL, MAXH, hs, &r, NULL), SY_EINVAL);
    CHECK(strstr(r.error, "NUL") != NULL);
    static const char rnul[] = "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n";
    sy_http_response_t resp;
    CHECK_INT(sy_http_parse_response(rnul, sizeof(rnul) - 1, NULL, 0, hs, MAXH, &resp),
              SY_EINVAL);
    CHECK(strstr(resp.error, "NUL") != NULL);
    in = "GET / HTTP/2.0\r\nHost: a\r\n\r\n";
    CHECK_INT(parse_req(in, strlen(in), NULL, MAXH, hs, &r, NULL), SY_EINVAL);
    CHECK_INT(r.status, 505);
    CHECK(strstr(r.error, "version") != NULL);
}

/* ---- caps ------------------------------------------------------------- */

static void test_request_caps(void)
{
    /* request line cap 32: "GET /" + 18 x + " HTTP/1.1" is 32 bytes */
    const sy_http_limits_t lim = {32, 128, 4};
    static const req_case_t cases[] = {
        C("GET /xxxxxxxxxxxxxxxxxx HTTP/1.1\r\nHost: a\r\n\r\n", 0),
        C("GET /xxxxxxxxxxxxxxxxxxx HTTP/1.1\r\nHost: a\r\n\r\n", 414),
        C("GET /xxxxxxxxxxxxxxxxxxx HTTP/1.1", 414),              /* no CRLF yet */
        C("GET /xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 414), /* no version yet */
        C("GETTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT", 414),
        C("\r\n\r\nGET /xxxxxxxxxxxxxxxxxxx HTTP/1.1\r\n", 414),  /* empty lines don't count */
        /* header count cap 4 */
        C("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 0),
        C("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431),
        C("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD", 431),
    };
    run_req_cases(cases, SY_ARRAY_LEN(cases), &lim, MAXH);

    /* whole head cap 128: exactly at the cap, one over, and over while incomplete */
    char big[256];
    static const char pre[] = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
    for (size_t extra = 0; extra < 3; extra++) {
        size_t n = sizeof(pre) - 1;
        memcpy(big, pre, n);
        size_t vlen = 128 - n - 4 + (extra == 1);
        memset(big + n, 'v', vlen);
        n += vlen;
        if (extra < 2) {
            memcpy(big + n, "\r\n\r\n", 4);
            n += 4;
        } else {
            memset(big + n, 'v', 10); /* no line end yet, already past 128 */
            n += 10;
        }
        req_case_t c = {big, n, extra == 0 ? 0 : 431};
        run_req_cases(&c, 1, &lim, MAXH);
    }

    /* a line longer than the head cap is reported as 414 */
    const sy_http_limits_t tight = {8192, 64, 10};
    static const req_case_t tight_cases[] = {
        C("GET /xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 414),
    };
    run_req_cases(tight_cases, 1, &tight, MAXH);

    /* incomplete but under the caps: wait */
    sy_http_header_t hs[MAXH];
    sy_http_request_t r;
    CHECK_INT(parse_req("GET /xxxxxxxxxxxxxxxxxx HTTP/1.1", 32, &lim, MAXH, hs, &r, NULL),
              SY_EAGAIN);
    CHECK_INT(parse_req("GET /xxxxxxxxxxxxxxxxxx HTTP/1.1\r", 33, &lim, MAXH, hs, &r, NULL),
              SY_EAGAIN);
    CHECK_INT(parse_req("", 0, &lim, MAXH, hs, &r, NULL), SY_EAGAIN);
    CHECK(r.status == 0 && r.error == NULL);
}

/* ---- responses -------------------------------------------------------- */

typedef struct {
    const char *in;
    unsigned flags;
    int rc;           /* 0: valid head spanning the input; else the error */
    int status;
    sy_http_body_t body;
    int64_t content_length;
    bool keep_alive;
} resp_case_t;

static void test_response_table(void)
{
    static const resp_case_t cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 0, 0, 200, SY_HTTP_BODY_LENGTH, 5, true},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 0, 200, SY_HTTP_BODY_CHUNKED,
         -1, true},
        {"HTTP/1.1 200 OK\r\n\r\n", 0, 0, 200, SY_HTTP_BODY_CLOSE, -1, false},
        {"HTTP/1.1 204 No Content\r\n\r\n", 0, 0, 204, SY_HTTP_BODY_NONE, -1, true},
        {"HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", 0, 0, 304,
         SY_HTTP_BODY_NONE, 100, true},
        {"HTTP/1.1 100 Continue\r\n\r\n", 0, 0, 100, SY_HTTP_BODY_NONE, -1, true},
        {"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", 0, 0, 103, SY_HTTP_BODY_NONE, -1,
         true},
        {"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", SY_HTTP_RESPONSE_TO_HEAD, 0, 200,
         SY_HTTP_BODY_NONE, 50, true},
        {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", 0, 0, 200,
         SY_HTTP_BODY_LENGTH, 1, false},
        {"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", 0, 0, 200, SY_HTTP_BODY_LENGTH, 1, false},
        {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", 0, 0, 200,
         SY_HTTP_BODY_LENGTH, 1, true},
        {"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n", 0, 0,
         200, SY_HTTP_BODY_CHUNKED, -1, false},
        {"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 0\r\n\r\n", 0, 0,
         429, SY_HTTP_BODY_LENGTH, 0, true},
        /* lenient */
        {"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 0, 0, 200, SY_HTTP_BODY_LENGTH, 0, true},
        {"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", 0, 0, 200, SY_HTTP_BODY_LENGTH, 0, true},
        {"HTTP/1.1  200  OK\r\nContent-Length: 0\r\n\r\n", 0, 0, 200, SY_HTTP_BODY_LENGTH, 0,
         true},
        {"HTTP/1.1 200 OK\nContent-Length: 2\n\n", 0, 0, 200, SY_HTTP_BODY_LENGTH, 2, true},
        {"\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", 0, 0, 200, SY_HTTP_BODY_LENGTH, 2,
         true},
        {"HTTP/1.1 200 OK\r\nContent-Length : 3\r\n\r\n", 0, 0, 200, SY_HTTP_BODY_LENGTH, 3,
         true},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n", 0, 0, 200, SY_HTTP_BODY_LENGTH, 3,
         true},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 0, 0, 200,
         SY_HTTP_BODY_LENGTH, 3, true},
        {"HTTP/1.1 200 OK\r\nX: a\x01z\r\nContent-Length: 0\r\n\r\n", 0, 0, 200,
         SY_HTTP_BODY_LENGTH, 0, true},
        {"HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 0, 200, SY_HTTP_BODY_LENGTH, 0, true},
        {"HTTP/1.1 599 Whatever\r\nContent-Length: 0\r\n\r\n", 0, 0, 599, SY_HTTP_BODY_LENGTH, 0,
         true},
        /* errors */
        {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
         SY_EINVAL, 0, 0, 0, 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 0,
         SY_EINVAL, 0, 0, 0, 0},
        {"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", 0,
         SY_EINVAL, 0, 0, 0, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 0, SY_EINVAL, 0, 0,
         0, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n", 0, SY_EINVAL, 0, 0, 0, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3,\r\n\r\n", 0, SY_EINVAL, 0, 0, 0, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, SY_EINVAL, 0, 0, 0, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", 0, SY_EINVAL, 0, 0, 0, 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0, SY_EINVAL, 0, 0, 0, 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 0, SY_EINVAL, 0, 0, 0, 0},
        {"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", 0, SY_EINVAL, 0, 0, 0, 0},
        {"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", 0, SY_EINVAL, 0, 0, 0, 0},
        {"HTTP/1.1 20 OK\r\n\r\n", 0, SY_EINVAL, 0, 0, 0, 0},
        {"HTTP/1.1 2000 OK\r\n\r\n", 0, SY_EINVAL, 0, 0, 0, 0},
        {"HTTP/1.1 099 OK\r\n\r\n", 0, SY_EINVAL, 0, 0, 0, 0},
        {"HTTP/1.1 abc OK\r\n\r\n", 0, SY_EINVAL, 0, 0, 0, 0},
        {"HTTP/2 200 OK\r\n\r\n", 0, SY_EINVAL, 0, 0, 0, 0},
        {"HTTP/2.0 200 OK\r\n\r\n", 0, SY_EINVAL, 0, 0, 0, 0},
        {"ICY 200 OK\r\n\r\n", 0, SY_EINVAL, 0, 0, 0, 0},
        {"HTTP/1.1\r\n\r\n", 0, SY_EINVAL, 0, 0, 0, 0},
        {"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", 0, SY_EINVAL, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        const resp_case_t *c = &cases[i];
        size_t len = strlen(c->in);
        char *b = dup_exact(c->in, len);
        sy_http_header_t hs[MAXH];
        sy_http_response_t r;
        int rc = sy_http_parse_response(b, len, NULL, c->flags, hs, MAXH, &r);
        int want = c->rc ? c->rc : (int)len;
        bool ok = rc == want;
        if (ok && c->rc == 0)
            ok = r.status == c->status && r.body == c->body &&
                 r.content_length == c->content_length && r.keep_alive == c->keep_alive &&
                 r.error == NULL;
        if (ok && c->rc != 0)
            ok = r.error != NULL;
        if (!ok) {
            fprintf(stderr, "  response case %zu: rc %d status %d body %d cl %lld ka %d (%s)\n", i,
                    rc, r.status, r.body, (long long)r.content_length, r.keep_alive,
                    r.error ? r.error : "-");
            unit_cur_failed++;
        }
        /* prefixes: SY_EAGAIN or the same verdict */
        for (size_t k = 0; k < len; k++) {
            char *pb = dup_exact(b, k);
            sy_http_response_t pr;
            int prc = sy_http_parse_response(pb, k, NULL, c->flags, hs, MAXH, &pr);
            if (prc != SY_EAGAIN && (prc != rc || pr.error != r.error)) {
                fprintf(stderr, "  response case %zu prefix %zu: rc %d\n", i, k, prc);
                unit_cur_failed++;
            }
            free(pb);
        }
        free(b);
    }
}

static void test_response_fields(void)
{
    const char *in = "HTTP/1.1 100 Continue\r\n\r\n"
                     "HTTP/1.1 404 Not  Found \r\nContent-Type: application/json\r\n"
                     "Content-Length: 2\r\n\r\n{}";
    size_t len = strlen(in);
    sy_http_header_t hs[MAXH];
    sy_http_response_t r;
    int rc = sy_http_parse_response(in, len, NULL, 0, hs, MAXH, &r);
    CHECK_INT(rc, 25);
    CHECK_INT(r.status, 100);
    CHECK_STR(r.reason, "Continue");
    rc = sy_http_parse_response(in + 25, len - 25, NULL, 0, hs, MAXH, &r);
    CHECK_INT(rc, (int)len - 25 - 2);
    CHECK_INT(r.status, 404);
    CHECK_STR(r.reason, "Not  Found");
    CHECK_INT(r.minor_version, 1);
    CHECK_INT(r.nheaders, 2);
    const sy_http_header_t *ct = sy_http_header_find(r.headers, r.nheaders, "content-type");
    CHECK(ct != NULL);
    if (ct)
        CHECK_STR(ct->value, "application/json");

    const sy_http_limits_t lim = {16, 64, 2};
    CHECK_INT(sy_http_parse_response("HTTP/1.1 200 OKAY!!!\r\n\r\n", 24, &lim, 0, hs, MAXH, &r),
              SY_ETOOBIG);
    in = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    CHECK_INT(sy_http_parse_response(in, strlen(in), &lim, 0, hs, MAXH, &r), SY_ETOOBIG);
    CHECK(strstr(r.error, "too many") != NULL);
    in = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 01234567890123456789012345678901234567890";
    CHECK_INT(sy_http_parse_response(in, strlen(in), &lim, 0, hs, MAXH, &r), SY_ETOOBIG);
}

/* ---- helpers ------------------------------------------------------------ */

static void test_header_helpers(void)
{
    const char *in = "GET / HTTP/1.1\r\nHost: a\r\nVia: 1.1 x\r\nX-Y: z\r\nvia: 1.1 y\r\n"
                     "Accept: text/html, application/json;q=0.9 ,, */*\r\n\r\n";
    sy_http_header_t hs[MAXH];
    sy_http_request_t r;
    CHECK_INT(sy_http_parse_request(in, strlen(in), NULL, hs, MAXH, &r), (int)strlen(in));
    CHECK(sy_http_header_find(hs, r.nheaders, "HOST") == &hs[0]);
    CHECK(sy_http_header_find(hs, r.nheaders, "missing") == NULL);
    int n = 0;
    for (const sy_http_header_t *h = NULL; (h = sy_http_header_next(hs, r.nheaders, "Via", h));)
        n++;
    CHECK_INT(n, 2);
    const sy_http_header_t *acc = sy_http_header_find(hs, r.nheaders, "accept");
    CHECK(acc != NULL);
    if (!acc)
        return;
    sy_str_t list = acc->value, e;
    const char *want[] = {"text/html", "application/json;q=0.9", "*/*"};
    int i = 0;
    while (sy_http_list_next(&list, &e) && i < 3)
        CHECK_STR(e, want[i++]);
    CHECK_INT(i, 3);
    CHECK(!sy_http_list_next(&list, &e));
    CHECK(sy_http_list_has(SY_STR("Upgrade, Close"), "close"));
    CHECK(!sy_http_list_has(SY_STR("closed, x"), "close"));
    CHECK(!sy_http_list_has(SY_STR(""), "close"));
}

static void test_reason(void)
{
    CHECK(strcmp(sy_http_reason(200), "OK") == 0);
    CHECK(strcmp(sy_http_reason(404), "Not Found") == 0);
    CHECK(strcmp(sy_http_reason(414), "URI Too Long") == 0);
    CHECK(strcmp(sy_http_reason(429), "Too Many Requests") == 0);
    CHECK(strcmp(sy_http_reason(431), "Request Header Fields Too Large") == 0);
    CHECK(strcmp(sy_http_reason(505), "HTTP Version Not Supported") == 0);
    CHECK(strcmp(sy_http_reason(499), "Client Error") == 0);
    CHECK(strcmp(sy_http_reason(42), "Unknown") == 0);
}

/* ---- chunked ------------------------------------------------------------ */

/* Decode in[0..len) fed in pieces: split == 0 one shot, 1 a byte at a time,
 * otherwise random pieces from the seed. Output into *out (malloc'd). */
static int chunked_feed(const char *in, size_t len, unsigned split, char **out, size_t *out_len,
                        size_t *used)
{
    sy_http_chunked_t d;
    sy_http_chunked_init(&d, 64, 64);
    char *o = malloc(len + 1);
    size_t i = 0, n = 0;
    int rc = SY_EAGAIN;
    unsigned seed = split;
    while (rc == SY_EAGAIN && i < len) {
        size_t piece = len - i;
        if (split == 1)
            piece = 1;
        else if (split > 1) {
            seed = seed * 1103515245u + 12345u;
            piece = SY_MIN(piece, 1 + (seed >> 16) % 7);
        }
        char *p = dup_exact(in + i, piece); /* exact buffers: ASan sees over-reads */
        size_t u = 0, on = 0;
        rc = sy_http_chunked_decode(&d, p, piece, &u, p, &on); /* in place */
        memcpy(o + n, p, on);
        n += on;
        i += u;
        free(p);
        if (rc == SY_EAGAIN && u != piece) {
            free(o);
            return -100; /* contract: EAGAIN consumes everything */
        }
    }
    *out = o;
    *out_len = n;
    *used = i;
    if (rc < 0 && rc != SY_EAGAIN) {
        size_t u2 = 1;
        sy_str_t data;
        if (sy_http_chunked_next(&d, "0", 1, &u2, &data) != rc || u2 != 0 || d.error == NULL)
            return -101; /* errors are sticky */
    }
    return rc;
}

typedef struct {
    const char *in;
    int rc;            /* SY_OK, SY_EAGAIN, SY_EINVAL, SY_ETOOBIG */
    const char *body;  /* expected body when rc is SY_OK or SY_EAGAIN */
    size_t rest;       /* bytes after the end (rc SY_OK) */
} chunk_case_t;

static void test_chunked_table(void)
{
    static const chunk_case_t cases[] = {
        {"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", SY_OK, "hello world", 0},
        {"5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n", SY_OK, "hello", 16},
        {"A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", SY_OK, "0123456789abcdefghij", 0},
        {"0005\r\nhello\r\n000\r\n\r\n", SY_OK, "hello", 0},
        {"0000000000000005\r\nhello\r\n0\r\n\r\n", SY_OK, "hello", 0},
        {"5;ext\r\nhello\r\n0;last=1\r\n\r\n", SY_OK, "hello", 0},
        {"5 ; a = b ;c=\"q \\\" ;x\"\r\nhello\r\n0\r\n\r\n", SY_OK, "hello", 0},
        {"5;a=\"\"\r\nhello\r\n0\r\n\r\n", SY_OK, "hello", 0},
        {"0\r\nX-Checksum: abc\r\nY:\r\n\r\n", SY_OK, "", 0},
        {"0\r\n\r\n\r\n", SY_OK, "", 2},
        {"3\r\n\r\n\r\r\n0\r\n\r\n", SY_OK, "\r\n\r", 0},
        /* incomplete */
        {"5\r\nhel", SY_EAGAIN, "hel", 0},
        {"5\r\nhello\r\n0\r\n", SY_EAGAIN, "hello", 0},
        {"5\r\nhello\r\n0\r\nX: 1\r\n", SY_EAGAIN, "hello", 0},
        {"ffffffffffffffff\r\nabc", SY_EAGAIN, "abc", 0},
        /* bad sizes */
        {"0x5\r\nhello\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {" 5\r\nhello\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"\r\nhello\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"-5\r\nhello\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"+5\r\nhello\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"g\r\n", SY_EINVAL, NULL, 0},
        {"5 \r\nhello\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"5\nhello\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"5\rhello\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"00000000000000005\r\nhello\r\n0\r\n\r\n", SY_ETOOBIG, NULL, 0},
        {"10000000000000000\r\n", SY_ETOOBIG, NULL, 0},
        /* data not followed by CRLF */
        {"5\r\nhelloX\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"5\r\nhello\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"5\r\nhello\r0\r\n\r\n", SY_EINVAL, NULL, 0},
        /* extensions */
        {"5;\r\nhello\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"5;a=\r\nhello\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"5;a=\"x\r\nhello\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"5;a\nhello\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"5;a\rhello\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"5;a \r\nhello\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"5;a=b=c\r\nhello\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"5;a\x01\r\nhello\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"5;a=\"x\"y\r\nhello\r\n0\r\n\r\n", SY_EINVAL, NULL, 0},
        {"5;0123456789012345678901234567890123456789012345678901234567890123456789\r\n",
         SY_ETOOBIG, NULL, 0},
        {"1;0123456789012345678901234567890\r\nx\r\n1;0123456789012345678901234567890\r\nx\r\n"
         "1;0123456789012345678901234567890\r\n",
         SY_ETOOBIG, NULL, 0}, /* the cap is per message, not per chunk */
        /* trailers */
        {"0\r\n X: 1\r\n\r\n", SY_EINVAL, NULL, 0},
        {"0\r\nX 1\r\n\r\n", SY_EINVAL, NULL, 0},
        {"0\r\nX: 1\n\r\n", SY_EINVAL, NULL, 0},
        {"0\r\nX: a\x01\r\n\r\n", SY_EINVAL, NULL, 0},
        {"0\r\n\r\r", SY_EINVAL, NULL, 0},
        {"0\r\n\n", SY_EINVAL, NULL, 0},
        {"0\r\nX: 0123456789012345678901234567890123456789012345678901234567890123456789\r\n",
         SY_ETOOBIG, NULL, 0},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        const chunk_case_t *c = &cases[i];
        size_t len = strlen(c->in);
        char *ref = NULL;
        size_t ref_len = 0, ref_used = 0;
        int rc = chunked_feed(c->in, len, 0, &ref, &ref_len, &ref_used);
        bool ok = rc == c->rc;
        if (ok && (rc == SY_OK || rc == SY_EAGAIN))
            ok = ref_len == strlen(c->body) && memcmp(ref, c->body, ref_len) == 0;
        if (ok && rc == SY_OK)
            ok = ref_used == len - c->rest;
        if (!ok) {
            fprintf(stderr, "  chunked case %zu: rc %d, body %zu bytes, used %zu\n", i, rc,
                    ref_len, ref_used);
            unit_cur_failed++;
        }
        /* byte at a time and random splits: the same everything */
        for (unsigned split = 1; split < 40; split++) {
            char *o = NULL;
            size_t ol = 0, ou = 0;
            int src = chunked_feed(c->in, len, split, &o, &ol, &ou);
            if (src != rc || ol != ref_len || memcmp(o, ref, ol) != 0 ||
                (rc == SY_OK && ou != ref_used)) {
                fprintf(stderr, "  chunked case %zu split %u: rc %d vs %d\n", i, split, src, rc);
                unit_cur_failed++;
            }
            free(o);
        }
        free(ref);
    }
}

static void test_chunked_zero_copy(void)
{
    const char *in = "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\nNEXT";
    size_t len = strlen(in), i = 0;
    sy_http_chunked_t d;
    sy_http_chunked_init(&d, 0, 0);
    char body[16];
    size_t bl = 0;
    int rc = SY_EAGAIN, calls = 0;
    while (rc == SY_EAGAIN && i < len) {
        size_t u = 0;
        sy_str_t data;
        rc = sy_http_chunked_next(&d, in + i, len - i, &u, &data);
        CHECK(u > 0);
        if (data.len) {
            CHECK(data.p >= in + i && data.p + data.len <= in + i + u); /* a view into the input */
            memcpy(body + bl, data.p, data.len);
            bl += data.len;
        }
        i += u;
        calls++;
    }
    CHECK_INT(rc, SY_OK);
    CHECK(sy_http_chunked_done(&d));
    CHECK_MEM(body, bl, "abcde");
    CHECK_MEM(in + i, len - i, "NEXT");
    CHECK_INT(calls, 3);
    /* once done, it stays done and consumes nothing */
    size_t u = 9;
    sy_str_t data;
    CHECK_INT(sy_http_chunked_next(&d, "5\r\n", 3, &u, &data), SY_OK);
    CHECK_INT(u, 0);
}

static void test_chunked_encode(void)
{
    char h[SY_HTTP_CHUNK_HEADER_MAX];
    CHECK_MEM(h, sy_http_chunk_header(h, 1), "1\r\n");
    CHECK_MEM(h, sy_http_chunk_header(h, 255), "ff\r\n");
    CHECK_MEM(h, sy_http_chunk_header(h, 4096), "1000\r\n");
    CHECK_MEM(h, sy_http_chunk_header(h, SIZE_MAX), "ffffffffffffffff\r\n");

    sy_buf_t b;
    sy_buf_init(&b, 0);
    CHECK_INT(sy_http_chunk_append(&b, "hello", 5), SY_OK);
    CHECK_INT(sy_http_chunk_append(&b, "", 0), SY_OK); /* no accidental last chunk */
    CHECK_INT(sy_http_chunk_append(&b, " world, this is seventeen+", 26), SY_OK);
    CHECK_INT(sy_http_chunk_append_last(&b), SY_OK);
    CHECK_STR(sy_buf_str(&b), "5\r\nhello\r\n1a\r\n world, this is seventeen+\r\n0\r\n\r\n");

    /* round trip through the decoder, in place */
    sy_http_chunked_t d;
    sy_http_chunked_init(&d, 0, 0);
    size_t used = 0, out = 0;
    CHECK_INT(sy_http_chunked_decode(&d, sy_buf_ptr(&b), b.len, &used, sy_buf_ptr(&b), &out),
              SY_OK);
    CHECK_INT(used, b.len);
    CHECK_MEM(sy_buf_ptr(&b), out, "hello world, this is seventeen+");
    sy_buf_free(&b);

    sy_buf_t capped;
    sy_buf_init(&capped, 8);
    CHECK_INT(sy_http_chunk_append(&capped, "hello", 5), SY_ETOOBIG); /* 3 + 5 + 2 > 8 */
    CHECK_INT(capped.len, 0);                                         /* all or nothing */
    CHECK_INT(sy_http_chunk_append(&capped, "hel", 3), SY_OK);
    CHECK_INT(sy_http_chunk_append_last(&capped), SY_ETOOBIG);
    sy_buf_free(&capped);
}

static void test_query_param(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_str_t q = SY_STR("by=team&from=2026-11-01&model=gpt%2D4o+mini&bad=%4&odd=%zz&empty=&by=key");
    sy_str_t v;
    CHECK(sy_http_query_param(a, q, "by", &v));
    CHECK_STR(v, "team"); /* the first occurrence wins */
    CHECK(sy_http_query_param(a, q, "model", &v));
    CHECK_STR(v, "gpt-4o mini");
    CHECK(sy_http_query_param(a, q, "bad", &v));
    CHECK_STR(v, "%4"); /* a '%' without two hex digits is kept */
    CHECK(sy_http_query_param(a, q, "odd", &v));
    CHECK_STR(v, "%zz");
    CHECK(sy_http_query_param(a, q, "empty", &v));
    CHECK_INT(v.len, 0);
    CHECK(!sy_http_query_param(a, q, "fro", &v)); /* a prefix of a key is not the key */
    CHECK(!sy_http_query_param(a, q, "to", &v));
    CHECK(!sy_http_query_param(a, SY_STR(""), "by", &v));
    CHECK_INT(sy_hex_digit('7'), 7);
    CHECK_INT(sy_hex_digit('B'), 11);
    CHECK_INT(sy_hex_digit('f'), 15);
    CHECK_INT(sy_hex_digit('g'), -1);
    CHECK_INT(sy_hex_digit('/'), -1);
    sy_arena_free(a);
}

/* The vector scans of field names, values and request targets against the byte-at-a-time
 * definitions, for every start and end offset over buffers that mix the
 * bytes each class stops at with runs of ordinary text, so the stopping byte
 * lands in every lane of a 16-byte block and in the scalar tail. */
static bool ref_value(unsigned char c, bool response)
{
    if (response)
        return c != 0 && c != '\r' && c != '\n';
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool ref_tchar(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

static bool ref_target(unsigned char c) { return c > 0x20 && c < 0x7f && c != '#'; }

static void test_span_differential(void)
{
    static const char text[] = "Content-Type: application/json; charset=utf-8 x_Y~1 /v1/c?q=#";
    char buf[96];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    size_t mismatches = 0;
    for (int round = 0; round < 3000; round++) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* mostly text, now and then any byte at all */
            buf[i] = (x & 31) == 0 ? (char)(x >> 24) : text[(x >> 8) % (sizeof(text) - 1)];
        }
        for (size_t p = 0; p < 40; p++)
            for (size_t end = p; end <= sizeof(buf); end += 1 + (end & 3)) {
                for (int resp = 0; resp < 2; resp++) {
                    size_t want = p;
                    while (want < end && ref_value((unsigned char)buf[want], resp))
                        want++;
                    mismatches += sy_http_value_span(buf, p, end, resp) != want;
                }
                size_t want = p;
                while (want < end && ref_tchar((unsigned char)buf[want]))
                    want++;
                mismatches += sy_http_token_span(buf, p, end) != want;
                want = p;
                while (want < end && ref_target((unsigned char)buf[want]))
                    want++;
                mismatches += sy_http_target_span(buf, p, end) != want;
            }
    }
    /* every byte value in every lane */
    for (int c = 0; c < 256; c++)
        for (size_t lane = 0; lane < 20; lane++) {
            memset(buf, 'a', sizeof(buf));
            buf[lane] = (char)c;
            size_t wv = ref_value((unsigned char)c, false) ? sizeof(buf) : lane;
            size_t wr = ref_value((unsigned char)c, true) ? sizeof(buf) : lane;
            size_t wt = ref_tchar((unsigned char)c) ? sizeof(buf) : lane;
            size_t wg = ref_target((unsigned char)c) ? sizeof(buf) : lane;
            mismatches += sy_http_target_span(buf, 0, sizeof(buf)) != wg;
            mismatches += sy_http_value_span(buf, 0, sizeof(buf), false) != wv;
            mismatches += sy_http_value_span(buf, 0, sizeof(buf), true) != wr;
            mismatches += sy_http_token_span(buf, 0, sizeof(buf)) != wt;
        }
    CHECK_INT(mismatches, 0);
}

/* sy_http_header_find compares names 8 bytes at a time: against sy_str_ieq
 * over pairs that differ by case, by the bytes next to the letters ('@',
 * '[', '`', '{'), by bit 0x20 on non-letters, and by non-ASCII bytes. */
static void test_header_find_case(void)
{
    static const char alphabet[] = "aAzZmM@[`{-_09\xc1\xe1 !";
    char a[32], b[32];
    uint64_t x = 0x2545f4914f6cdd1dull;
    size_t mismatches = 0, equal = 0;
    for (int round = 0; round < 200000; round++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = 1 + (size_t)(x % 24);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            a[i] = alphabet[x % (sizeof(alphabet) - 1)];
            /* mostly the same letter in either case, else any byte, or a flipped 0x20 bit */
            unsigned sel = (unsigned)(x >> 32) % 8;
            unsigned char c = (unsigned char)a[i];
            bool letter = (unsigned)(c | 0x20) - 'a' < 26u;
            if (sel < 5)
                b[i] = letter ? (char)(c ^ ((x >> 40) & 0x20)) : a[i];
            else if (sel < 7)
                b[i] = (char)(c ^ 0x20);
            else
                b[i] = alphabet[(x >> 20) % (sizeof(alphabet) - 1)];
        }
        a[n] = b[n] = 0;
        sy_http_header_t h = {sy_str(a, n), SY_STR("v")};
        bool want = sy_str_ieq(sy_str(a, n), sy_str(b, n));
        equal += want;
        mismatches += (sy_http_header_find(&h, 1, b) != NULL) != want;
    }
    CHECK_INT(mismatches, 0);
    CHECK(equal > 1000); /* both outcomes were exercised */
}

int main(void)
{
    RUN(test_request_valid_table);
    RUN(test_request_fields);
    RUN(test_request_keep_alive);
    RUN(test_request_pipelined);
    RUN(test_request_many_headers);
    RUN(test_request_byte_by_byte);
    RUN(test_request_ready_cost);
    RUN(test_request_smuggling);
    RUN(test_request_caps);
    RUN(test_response_table);
    RUN(test_response_fields);
    RUN(test_header_helpers);
    RUN(test_reason);
    RUN(test_chunked_table);
    RUN(test_chunked_zero_copy);
    RUN(test_chunked_encode);
    RUN(test_query_param);
    RUN(test_span_differential);
    RUN(test_header_find_case);
    return unit_done();
}
