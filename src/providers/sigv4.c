/*
 * sigv4.c - AWS Signature Version 4 signing and verification (sigv4.h).
 *
 * SHA-256 and HMAC come from OpenSSL 3 (EVP_Digest and HMAC); everything
 * else is string work into a capped buffer, copied into the caller's arena
 * at the end. The verifier recomputes the signature with the same code the
 * signer uses, so the two cannot drift apart.
 */
#include "providers/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char HEX[] = "0123456789abcdef";

static void hex_encode(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = HEX[p[i] >> 4];
        out[2 * i + 1] = HEX[p[i] & 15];
    }
    out[2 * n] = 0;
}

void sy_sigv4_sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    if (!EVP_Digest(n ? p : "", n, md, &len, EVP_sha256(), NULL) || len != 32)
        sy_panic("sigv4: SHA-256 failed");
    hex_encode(md, 32, out);
}

static void hmac(const void *key, size_t klen, const void *msg, size_t n, unsigned char out[32])
{
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), key, (int)klen, n ? msg : (const void *)"", n, out, &len) || len != 32)
        sy_panic("sigv4: HMAC-SHA256 failed");
}

void sy_sigv4_signing_key(sy_str_t secret, sy_str_t date8, sy_str_t region, sy_str_t service,
                          unsigned char out[32])
{
    /* "AWS4" + secret, built on the stack and wiped: the secret is copied
     * nowhere else. Secrets are short (AWS: 40 bytes); longer ones are
     * hashed through a heap copy. */
    unsigned char k[32];
    size_t klen = 4 + secret.len;
    unsigned char small[256];
    unsigned char *key = klen <= sizeof(small) ? small : sy_malloc(klen);
    memcpy(key, "AWS4", 4);
    if (secret.len)
        memcpy(key + 4, secret.p, secret.len);
    hmac(key, klen, date8.p, date8.len, k);
    OPENSSL_cleanse(key, klen);
    if (key != small)
        free(key);
    hmac(k, 32, region.p, region.len, k);
    hmac(k, 32, service.p, service.len, k);
    hmac(k, 32, "aws4_request", 12, out);
    OPENSSL_cleanse(k, sizeof(k));
}

void sy_sigv4_amz_date(int64_t unix_seconds, char out[17])
{
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

int sy_sigv4_uri_encode(sy_buf_t *b, sy_str_t s, bool keep_slash)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        int rc;
        if (unreserved(c) || (keep_slash && c == '/')) {
            rc = sy_buf_append(b, &s.p[i], 1);
        } else {
            char e[3] = {'%', "0123456789ABCDEF"[c >> 4], "0123456789ABCDEF"[c & 15]};
            rc = sy_buf_append(b, e, 3);
        }
        if (rc != SY_OK)
            return rc;
    }
    return SY_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

/* Percent-decode s into the arena ('%' not followed by two hex digits is
 * kept as it is; '+' stays '+', as AWS SDKs treat it). */
static sy_str_t pct_decode(sy_arena_t *a, sy_str_t s)
{
    char *out = sy_arena_alloc(a, s.len + 1);
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        int h, l;
        if (s.p[i] == '%' && i + 2 < s.len && (h = hexval(s.p[i + 1])) >= 0 &&
            (l = hexval(s.p[i + 2])) >= 0) {
            out[n++] = (char)(h << 4 | l);
            i += 2;
        } else {
            out[n++] = s.p[i];
        }
    }
    out[n] = 0;
    return sy_str(out, n);
}

/* ------------------------------------------------ canonical request --- */

typedef struct {
    sy_str_t key; /* encoded name (query) or lower-case name (headers) */
    sy_str_t val;
    size_t order;
} pair_t;

static int pair_cmp(const void *x, const void *y)
{
    const pair_t *a = x, *b = y;
    size_t n = SY_MIN(a->key.len, b->key.len);
    int c = n ? memcmp(a->key.p, b->key.p, n) : 0;
    if (c == 0 && a->key.len != b->key.len)
        c = a->key.len < b->key.len ? -1 : 1;
    if (c == 0) {
        n = SY_MIN(a->val.len, b->val.len);
        c = n ? memcmp(a->val.p, b->val.p, n) : 0;
        if (c == 0 && a->val.len != b->val.len)
            c = a->val.len < b->val.len ? -1 : 1;
    }
    return c;
}

/* Headers keep their order of appearance among equal names. */
static int header_cmp(const void *x, const void *y)
{
    const pair_t *a = x, *b = y;
    size_t n = SY_MIN(a->key.len, b->key.len);
    int c = n ? memcmp(a->key.p, b->key.p, n) : 0;
    if (c == 0 && a->key.len != b->key.len)
        c = a->key.len < b->key.len ? -1 : 1;
    if (c == 0)
        c = a->order < b->order ? -1 : a->order > b->order;
    return c;
}

static void canonical_query(sy_arena_t *a, sy_buf_t *cr, sy_str_t q)
{
    size_t n = 1;
    for (size_t i = 0; i < q.len; i++)
        n += q.p[i] == '&';
    pair_t *ps = sy_arena_alloc(a, n * sizeof(*ps));
    size_t np = 0;
    sy_str_t rest = q;
    while (rest.len) {
        ptrdiff_t amp = sy_str_find_char(rest, '&');
        sy_str_t item = amp < 0 ? rest : sy_str(rest.p, (size_t)amp);
        rest = amp < 0 ? SY_STR_NULL : sy_str(rest.p + amp + 1, rest.len - (size_t)amp - 1);
        if (item.len == 0)
            continue;
        ptrdiff_t eq = sy_str_find_char(item, '=');
        sy_str_t k = eq < 0 ? item : sy_str(item.p, (size_t)eq);
        sy_str_t v = eq < 0 ? SY_STR_NULL : sy_str(item.p + eq + 1, item.len - (size_t)eq - 1);
        sy_buf_t e;
        sy_buf_init(&e, 0); /* bounded by the query's length (x3) */
        sy_sigv4_uri_encode(&e, pct_decode(a, k), false);
        size_t klen = e.len;
        sy_sigv4_uri_encode(&e, pct_decode(a, v), false);
        char *copy = sy_arena_memdup(a, sy_buf_ptr(&e), e.len);
        ps[np].key = sy_str(copy, klen);
        ps[np].val = sy_str(copy + klen, e.len - klen);
        ps[np].order = np;
        np++;
        sy_buf_free(&e);
    }
    qsort(ps, np, sizeof(*ps), pair_cmp);
    for (size_t i = 0; i < np; i++) {
        if (i)
            sy_buf_append(cr, "&", 1);
        sy_buf_append_str(cr, ps[i].key);
        sy_buf_append(cr, "=", 1);
        sy_buf_append_str(cr, ps[i].val);
    }
}

/* Append a header value trimmed, with runs of SP/HTAB collapsed to one SP. */
static void append_trimall(sy_buf_t *b, sy_str_t v)
{
    v = sy_str_trim(v);
    bool space = false;
    for (size_t i = 0; i < v.len; i++) {
        char c = v.p[i];
        if (c == ' ' || c == '\t') {
            space = true;
            continue;
        }
        if (space)
            sy_buf_append(b, " ", 1);
        space = false;
        sy_buf_append(b, &c, 1);
    }
}

static sy_str_t lower_dup(sy_arena_t *a, sy_str_t s)
{
    char *p = sy_arena_alloc(a, s.len + 1);
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        p[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    p[s.len] = 0;
    return sy_str(p, s.len);
}

/* Collect the headers to sign, sorted. */
static int collect_headers(sy_arena_t *a, const sy_sigv4_request_t *req, pair_t *ps, size_t *np)
{
    size_t n = 0;
    if (req->only.len == 0) {
        for (size_t i = 0; i < req->nheaders; i++) {
            if (n == SY_SIGV4_MAX_HEADERS)
                return SY_ETOOBIG;
            ps[n] = (pair_t){lower_dup(a, req->headers[i].name), req->headers[i].value, n};
            n++;
        }
    } else {
        sy_str_t rest = req->only;
        while (rest.len) {
            ptrdiff_t semi = sy_str_find_char(rest, ';');
            sy_str_t name = semi < 0 ? rest : sy_str(rest.p, (size_t)semi);
            rest = semi < 0 ? SY_STR_NULL : sy_str(rest.p + semi + 1, rest.len - (size_t)semi - 1);
            if (name.len == 0)
                return SY_EINVAL;
            sy_str_t lname = lower_dup(a, name);
            for (size_t k = 0; k < n; k++)
                if (sy_str_eq(ps[k].key, lname))
                    return SY_EINVAL;
            bool found = false;
            for (size_t i = 0; i < req->nheaders; i++) {
                if (!sy_str_ieq(req->headers[i].name, name))
                    continue;
                if (n == SY_SIGV4_MAX_HEADERS)
                    return SY_ETOOBIG;
                ps[n] = (pair_t){lname, req->headers[i].value, n};
                n++;
                found = true;
            }
            if (!found) {
                if (n == SY_SIGV4_MAX_HEADERS)
                    return SY_ETOOBIG;
                ps[n] = (pair_t){lname, SY_STR_NULL, n};
                n++;
            }
        }
    }
    qsort(ps, n, sizeof(*ps), header_cmp);
    *np = n;
    return SY_OK;
}

static bool valid_amz_date(sy_str_t d)
{
    if (d.len != 16 || d.p[8] != 'T' || d.p[15] != 'Z')
        return false;
    for (size_t i = 0; i < 15; i++)
        if (i != 8 && (d.p[i] < '0' || d.p[i] > '9'))
            return false;
    return true;
}

int sy_sigv4_sign(sy_arena_t *a, const sy_sigv4_request_t *req, const sy_sigv4_creds_t *creds,
                  sy_sigv4_result_t *out)
{
    int rc = SY_EINVAL;
    /* Uncapped while building (growth is bounded by the request's own
     * size), checked against the cap once at the end. */
    sy_buf_t cr, sts;
    sy_buf_init(&cr, 0);
    sy_buf_init(&sts, 0);
    memset(out, 0, sizeof(*out));
    if (!valid_amz_date(req->amz_date) || req->region.len == 0 || req->service.len == 0 ||
        creds->access_key_id.len == 0 || req->method.len == 0)
        goto out;

    pair_t ps[SY_SIGV4_MAX_HEADERS];
    size_t np = 0;
    if ((rc = collect_headers(a, req, ps, &np)) != SY_OK)
        goto out;

    /* method, canonical URI, canonical query */
    sy_buf_append_str(&cr, req->method);
    sy_buf_append(&cr, "\n", 1);
    sy_str_t path = req->path.len ? req->path : SY_STR("/");
    if (req->single_encode)
        sy_buf_append_str(&cr, path);
    else
        sy_sigv4_uri_encode(&cr, path, true);
    sy_buf_append(&cr, "\n", 1);
    canonical_query(a, &cr, req->query);
    sy_buf_append(&cr, "\n", 1);

    /* canonical headers: repeated names joined with ',' */
    for (size_t i = 0; i < np; i++) {
        if (i == 0 || !sy_str_eq(ps[i].key, ps[i - 1].key)) {
            if (i)
                sy_buf_append(&cr, "\n", 1);
            sy_buf_append_str(&cr, ps[i].key);
            sy_buf_append(&cr, ":", 1);
        } else {
            sy_buf_append(&cr, ",", 1);
        }
        append_trimall(&cr, ps[i].val);
    }
    sy_buf_append(&cr, "\n\n", 2);
    size_t sh_start = cr.len;
    for (size_t i = 0; i < np; i++) {
        if (i && sy_str_eq(ps[i].key, ps[i - 1].key))
            continue;
        if (i)
            sy_buf_append(&cr, ";", 1);
        sy_buf_append_str(&cr, ps[i].key);
    }
    size_t sh_end = cr.len;
    sy_buf_append(&cr, "\n", 1);
    char phash[65];
    if (req->payload_hash.len) {
        sy_buf_append_str(&cr, req->payload_hash);
    } else {
        sy_sigv4_sha256_hex(req->payload.p, req->payload.len, phash);
        sy_buf_append(&cr, phash, 64);
    }
    if (cr.len > SY_SIGV4_MAX_CANONICAL) {
        rc = SY_ETOOBIG;
        goto out;
    }

    /* string to sign */
    sy_str_t date8 = sy_str(req->amz_date.p, 8);
    char crhash[65];
    sy_sigv4_sha256_hex(sy_buf_ptr(&cr), cr.len, crhash);
    sy_buf_printf(&sts, "%s\n%.*s\n", SY_SIGV4_ALGORITHM, SY_STR_FMT(req->amz_date));
    size_t scope_start = sts.len;
    sy_buf_printf(&sts, "%.*s/%.*s/%.*s/aws4_request", SY_STR_FMT(date8), SY_STR_FMT(req->region),
                  SY_STR_FMT(req->service));
    size_t scope_end = sts.len;
    sy_buf_printf(&sts, "\n%s", crhash);

    unsigned char key[32], sig[32];
    char sighex[65];
    sy_sigv4_signing_key(creds->secret_access_key, date8, req->region, req->service, key);
    hmac(key, 32, sy_buf_ptr(&sts), sts.len, sig);
    OPENSSL_cleanse(key, sizeof(key));
    hex_encode(sig, 32, sighex);

    sy_str_t crs = sy_str_dup(a, sy_buf_str(&cr));
    sy_str_t stss = sy_str_dup(a, sy_buf_str(&sts));
    out->canonical_request = crs;
    out->string_to_sign = stss;
    out->scope = sy_str(stss.p + scope_start, scope_end - scope_start);
    out->signed_headers = sy_str(crs.p + sh_start, sh_end - sh_start);
    out->signature = sy_str_dup(a, sy_str(sighex, 64));
    out->authorization = sy_str_c(sy_arena_sprintf(
        a, "%s Credential=%.*s/%.*s, SignedHeaders=%.*s, Signature=%s", SY_SIGV4_ALGORITHM,
        SY_STR_FMT(creds->access_key_id), SY_STR_FMT(out->scope), SY_STR_FMT(out->signed_headers),
        sighex));
    rc = SY_OK;
out:
    sy_buf_free(&cr);
    sy_buf_free(&sts);
    return rc;
}

/* ------------------------------------------------------- verification --- */

int sy_sigv4_parse_authorization(sy_str_t value, sy_sigv4_auth_t *out, const char **why)
{
    static const char *const missing[8] = {
        NULL,
        "Authorization header requires 'Credential' parameter.",
        "Authorization header requires 'SignedHeaders' parameter.",
        "Authorization header requires 'Credential' parameter. Authorization header requires "
        "'SignedHeaders' parameter.",
        "Authorization header requires 'Signature' parameter.",
        "Authorization header requires 'Credential' parameter. Authorization header requires "
        "'Signature' parameter.",
        "Authorization header requires 'Signature' parameter. Authorization header requires "
        "'SignedHeaders' parameter.",
        "Authorization header requires 'Credential' parameter. Authorization header requires "
        "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.",
    };
    memset(out, 0, sizeof(*out));
    value = sy_str_trim(value);
    sy_str_t alg = SY_STR(SY_SIGV4_ALGORITHM);
    if (!sy_str_starts_with(value, alg) || value.len == alg.len ||
        (value.p[alg.len] != ' ' && value.p[alg.len] != '\t')) {
        *why = "Authorization header requires 'Credential' parameter. Authorization header "
               "requires 'Signature' parameter. Authorization header requires 'SignedHeaders' "
               "parameter.";
        return SY_EINVAL;
    }
    sy_str_t rest = sy_str_trim(sy_str_sub(value, alg.len, value.len));
    sy_str_t cred = SY_STR_NULL;
    unsigned have = 0;
    sy_str_t item;
    while (sy_http_list_next(&rest, &item)) {
        ptrdiff_t eq = sy_str_find_char(item, '=');
        if (eq < 0) {
            *why = "A parameter in the Authorization header is not a valid key=value pair "
                   "(missing equal-sign).";
            return SY_EINVAL;
        }
        sy_str_t k = sy_str_trim(sy_str(item.p, (size_t)eq));
        sy_str_t v = sy_str_trim(sy_str(item.p + eq + 1, item.len - (size_t)eq - 1));
        if (sy_str_eq_c(k, "Credential")) {
            cred = v;
            have |= 1;
        } else if (sy_str_eq_c(k, "SignedHeaders")) {
            out->signed_headers = v;
            have |= 2;
        } else if (sy_str_eq_c(k, "Signature")) {
            out->signature = v;
            have |= 4;
        }
    }
    if (have != 7) {
        *why = missing[7 & ~have];
        return SY_EINVAL;
    }
    sy_str_t parts[5];
    size_t np = 0;
    sy_str_t c = cred;
    while (np < 5) {
        ptrdiff_t slash = sy_str_find_char(c, '/');
        if (slash < 0 || np == 4) {
            parts[np++] = c;
            if (slash >= 0)
                np = 6; /* too many parts */
            break;
        }
        parts[np++] = sy_str(c.p, (size_t)slash);
        c = sy_str(c.p + slash + 1, c.len - (size_t)slash - 1);
    }
    if (np != 5) {
        *why = "Credential must have exactly 5 slash-delimited elements, e.g. "
               "keyid/date/region/service/term.";
        return SY_EINVAL;
    }
    out->access_key_id = parts[0];
    out->date = parts[1];
    out->region = parts[2];
    out->service = parts[3];
    out->terminal = parts[4];
    return SY_OK;
}

static const sy_http_header_t *find_header(const sy_sigv4_verify_t *in, const char *name)
{
    return sy_http_header_find(in->headers, in->nheaders, name);
}

/* Unix seconds of a valid amz-date (UTC). */
static int64_t amz_date_seconds(sy_str_t d)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int v[6] = {0};
    static const int pos[6][2] = {{0, 4}, {4, 2}, {6, 2}, {9, 2}, {11, 2}, {13, 2}};
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < pos[i][1]; k++)
            v[i] = v[i] * 10 + (d.p[pos[i][0] + k] - '0');
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    return (int64_t)timegm(&tm);
}

static int refuse(sy_sigv4_verdict_t *out, int status, const char *type, const char *msg)
{
    out->status = status;
    out->error_type = type;
    out->message = msg;
    return SY_ERR;
}

int sy_sigv4_verify(sy_arena_t *a, const sy_sigv4_verify_t *in, sy_sigv4_verdict_t *out)
{
    memset(out, 0, sizeof(*out));
    const sy_http_header_t *auth = find_header(in, "authorization");
    if (auth == NULL)
        return refuse(out, 403, "MissingAuthenticationTokenException",
                      "Missing Authentication Token");
    sy_sigv4_auth_t p;
    const char *why = NULL;
    if (sy_sigv4_parse_authorization(auth->value, &p, &why) != SY_OK)
        return refuse(out, 400, "IncompleteSignatureException", why);
    const sy_http_header_t *date = find_header(in, "x-amz-date");
    if (date == NULL)
        return refuse(out, 400, "IncompleteSignatureException",
                      "Authorization header requires existence of either a 'X-Amz-Date' or a "
                      "'Date' header.");
    if (!valid_amz_date(date->value))
        return refuse(out, 400, "IncompleteSignatureException",
                      sy_arena_sprintf(a,
                                       "Date must be in ISO-8601 'basic format'. Got '%.*s'. See "
                                       "http://en.wikipedia.org/wiki/ISO_8601",
                                       SY_STR_FMT(date->value)));
    sy_str_t lower_signed = lower_dup(a, p.signed_headers);
    bool host_signed = false;
    sy_str_t names = lower_signed, name;
    while (names.len) {
        ptrdiff_t semi = sy_str_find_char(names, ';');
        name = semi < 0 ? names : sy_str(names.p, (size_t)semi);
        names = semi < 0 ? SY_STR_NULL : sy_str(names.p + semi + 1, names.len - (size_t)semi - 1);
        if (sy_str_eq_c(name, "host") || sy_str_eq_c(name, ":authority"))
            host_signed = true;
    }
    if (!host_signed)
        return refuse(out, 400, "IncompleteSignatureException",
                      "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");

    const sy_sigv4_creds_t *key = NULL;
    for (size_t i = 0; i < in->nkeys; i++)
        if (sy_str_eq(in->keys[i].access_key_id, p.access_key_id))
            key = &in->keys[i];
    const sy_http_header_t *tok = find_header(in, "x-amz-security-token");
    if (key == NULL || (key->session_token.len != 0) != (tok != NULL) ||
        (tok && CRYPTO_memcmp(tok->value.p, key->session_token.p,
                              SY_MIN(tok->value.len, key->session_token.len)) != 0) ||
        (tok && tok->value.len != key->session_token.len))
        return refuse(out, 403, "UnrecognizedClientException",
                      "The security token included in the request is invalid.");

    if (!sy_str_eq(p.service, in->service))
        return refuse(out, 403, "InvalidSignatureException",
                      sy_arena_sprintf(a, "Credential should be scoped to correct service: '%.*s'. ",
                                       SY_STR_FMT(in->service)));
    if (!sy_str_eq(p.region, in->region))
        return refuse(out, 403, "InvalidSignatureException",
                      "Credential should be scoped to a valid region. ");
    if (!sy_str_eq_c(p.terminal, "aws4_request"))
        return refuse(out, 403, "InvalidSignatureException",
                      sy_arena_sprintf(a,
                                       "Credential should be scoped with a valid terminator: "
                                       "'aws4_request', not '%.*s'. ",
                                       SY_STR_FMT(p.terminal)));
    sy_str_t d8 = sy_str(date->value.p, 8);
    if (!sy_str_eq(p.date, d8))
        return refuse(out, 403, "InvalidSignatureException",
                      sy_arena_sprintf(a,
                                       "Date in Credential scope does not match YYYYMMDD from "
                                       "ISO-8601 version of date from HTTP: '%.*s' != '%.*s', "
                                       "from '%.*s'.",
                                       SY_STR_FMT(p.date), SY_STR_FMT(d8),
                                       SY_STR_FMT(date->value)));
    if (in->now) {
        int64_t t = amz_date_seconds(date->value);
        char now_s[17], edge[17];
        sy_sigv4_amz_date(in->now, now_s);
        if (t < in->now - SY_SIGV4_MAX_SKEW_S) {
            sy_sigv4_amz_date(in->now - SY_SIGV4_MAX_SKEW_S, edge);
            return refuse(out, 403, "InvalidSignatureException",
                          sy_arena_sprintf(a,
                                           "Signature expired: %.*s is now earlier than %s (%s - "
                                           "15 min.)",
                                           SY_STR_FMT(date->value), edge, now_s));
        }
        if (t > in->now + SY_SIGV4_MAX_SKEW_S) {
            sy_sigv4_amz_date(in->now + SY_SIGV4_MAX_SKEW_S, edge);
            return refuse(out, 403, "InvalidSignatureException",
                          sy_arena_sprintf(a,
                                           "Signature not yet current: %.*s is still later than "
                                           "%s (%s + 15 min.)",
                                           SY_STR_FMT(date->value), edge, now_s));
        }
    }

    sy_sigv4_request_t req = {
        .method = in->method,
        .path = in->path,
        .query = in->query,
        .headers = in->headers,
        .nheaders = in->nheaders,
        .only = lower_signed,
        .payload = in->body,
        .region = in->region,
        .service = in->service,
        .amz_date = date->value,
    };
    sy_sigv4_result_t r;
    int rc = sy_sigv4_sign(a, &req, key, &r);
    if (rc != SY_OK)
        return refuse(out, 400, "IncompleteSignatureException",
                      rc == SY_ETOOBIG ? "The request signs too many headers."
                                       : "The SignedHeaders parameter is malformed.");
    bool same = p.signature.len == r.signature.len &&
                CRYPTO_memcmp(p.signature.p, r.signature.p, r.signature.len) == 0;
    if (!same)
        return refuse(out, 403, "InvalidSignatureException",
                      sy_arena_sprintf(a,
                                       "The request signature we calculated does not match the "
                                       "signature you provided. Check your AWS Secret Access Key "
                                       "and signing method. Consult the service documentation for "
                                       "details.\n\nThe Canonical String for this request should "
                                       "have been\n'%.*s'\n\nThe String-to-Sign should have "
                                       "been\n'%.*s'\n",
                                       SY_STR_FMT(r.canonical_request),
                                       SY_STR_FMT(r.string_to_sign)));
    out->access_key_id = p.access_key_id;
    return SY_OK;
}
