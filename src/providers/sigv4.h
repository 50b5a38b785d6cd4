/*
 * sigv4.h - AWS Signature Version 4: signing requests (the Bedrock adapter)
 * and verifying them (the simulator's Bedrock endpoints).
 *
 * The signature covers a canonical request:
 *
 *   METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n
 *   SignedHeaders \n hex(SHA-256(payload))
 *
 * CanonicalURI is the path as sent on the wire, URI-encoded once more
 * (every byte except A-Z a-z 0-9 - . _ ~ and '/'). That second encoding is
 * what AWS SDKs and the service do for every service but S3: a Bedrock model
 * id "anthropic.claude-3-5-sonnet-20240620-v1:0" travels as "...-v1%3A0"
 * and is signed as "...-v1%253A0" (Bedrock's own mismatch message shows
 * that canonical string). A client that sends the ':' raw is signed as
 * "%3A". CanonicalQuery: parameters percent-decoded, re-encoded strictly,
 * sorted by name then value. CanonicalHeaders: names lower-cased and sorted,
 * values trimmed with runs of spaces collapsed, repeated names joined with
 * ','. The string to sign is "AWS4-HMAC-SHA256\n" amz-date "\n" scope
 * "\n" hex(SHA-256(canonical request)), with scope date/region/service/
 * aws4_request, and the key is derived by HMAC-SHA256 from "AWS4" + secret
 * through date, region, service and "aws4_request".
 *
 * Strings returned in results live in the caller's arena. Secrets are never
 * copied into results or error messages. docs/internals/sigv4.md.
 */
#ifndef SY_PROVIDERS_SIGV4_H
#define SY_PROVIDERS_SIGV4_H

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "http/parse.h"

#define SY_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SY_SIGV4_MAX_HEADERS 64      /* headers one signature may cover */
#define SY_SIGV4_MAX_CANONICAL (256 << 10) /* canonical request bytes (the body is hashed, not included) */
#define SY_SIGV4_MAX_SKEW_S (15 * 60) /* AWS's clock-skew window */
#define SY_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

typedef struct {
    sy_str_t access_key_id;
    sy_str_t secret_access_key;
    sy_str_t session_token; /* empty when not temporary credentials */
} sy_sigv4_creds_t;

/*
 * What to sign. headers are the request headers to cover, all of them
 * (the caller includes host and x-amz-date, and x-amz-security-token when
 * the credentials have a session token: sy_sigv4_sign does not add headers
 * to a request it does not own). only: when not empty, a ';'-separated
 * list of lower-case names (SignedHeaders) restricting which of headers
 * are covered; a listed name with no header is signed with an empty value.
 * payload is hashed unless payload_hash (a hex SHA-256 or
 * "UNSIGNED-PAYLOAD") is given. single_encode: the path is used as it is
 * (S3's rule) instead of being encoded once more.
 */
typedef struct {
    sy_str_t method;
    sy_str_t path;  /* as on the wire, without the query; empty means "/" */
    sy_str_t query; /* as on the wire, without '?' */
    const sy_http_header_t *headers;
    size_t nheaders;
    sy_str_t only;
    sy_str_t payload;
    sy_str_t payload_hash;
    sy_str_t region;
    sy_str_t service;
    sy_str_t amz_date; /* "YYYYMMDDTHHMMSSZ" */
    bool single_encode;
} sy_sigv4_request_t;

/* The pieces of a signature, all in the caller's arena. authorization is
 * the whole Authorization header value. */
typedef struct {
    sy_str_t canonical_request;
    sy_str_t string_to_sign;
    sy_str_t scope;          /* date/region/service/aws4_request */
    sy_str_t signed_headers; /* host;x-amz-date;... */
    sy_str_t signature;      /* 64 lower-case hex digits */
    sy_str_t authorization;
} sy_sigv4_result_t;

/* Sign. Returns SY_OK, SY_EINVAL (amz_date malformed, a header name
 * repeated in only, empty region/service/key) or SY_ETOOBIG (more than
 * SY_SIGV4_MAX_HEADERS headers, canonical request over its cap). */
int sy_sigv4_sign(sy_arena_t *a, const sy_sigv4_request_t *req, const sy_sigv4_creds_t *creds,
                  sy_sigv4_result_t *out);

/* "YYYYMMDDTHHMMSSZ" for a Unix time (UTC) into out[17] (NUL-terminated). */
void sy_sigv4_amz_date(int64_t unix_seconds, char out[17]);

/* Append s URI-encoded the SigV4 way (unreserved bytes kept, the rest as
 * %XX upper-case); '/' kept when keep_slash. For building paths:
 * "/model/" + encode(model id) + "/converse". */
int sy_sigv4_uri_encode(sy_buf_t *b, sy_str_t s, bool keep_slash);

/* Lower-case hex SHA-256 of p[0..n) into out[65] (NUL-terminated). */
void sy_sigv4_sha256_hex(const void *p, size_t n, char out[65]);

/* The signing key: HMAC chain from "AWS4" + secret. For callers that cache
 * it per day, region and service. */
void sy_sigv4_signing_key(sy_str_t secret, sy_str_t date8, sy_str_t region, sy_str_t service,
                          unsigned char out[32]);

/* ------------------------------------------------------- verification --- */

/* A parsed Authorization header. Views into the header value. */
typedef struct {
    sy_str_t access_key_id;
    sy_str_t date;    /* YYYYMMDD from the credential scope */
    sy_str_t region;
    sy_str_t service;
    sy_str_t terminal; /* "aws4_request" */
    sy_str_t signed_headers;
    sy_str_t signature;
} sy_sigv4_auth_t;

/*
 * Parse "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
 * SignedHeaders=a;b, Signature=hex". Returns SY_OK or SY_EINVAL with *why
 * set to the sentence AWS answers with (IncompleteSignatureException).
 */
int sy_sigv4_parse_authorization(sy_str_t value, sy_sigv4_auth_t *out, const char **why);

/*
 * What the verifier knows about the request and the endpoint. headers are
 * all the request headers. keys[0..nkeys) are the known credentials (a key
 * with a session token requires x-amz-security-token to equal it). now:
 * Unix seconds, or 0 to skip the clock-skew check (tests replaying a fixed
 * date).
 */
typedef struct {
    sy_str_t method;
    sy_str_t path;
    sy_str_t query;
    const sy_http_header_t *headers;
    size_t nheaders;
    sy_str_t body;
    sy_str_t region;  /* the endpoint's region */
    sy_str_t service; /* "bedrock" for bedrock-runtime */
    const sy_sigv4_creds_t *keys;
    size_t nkeys;
    int64_t now;
} sy_sigv4_verify_t;

/* The answer AWS gives when verification fails: HTTP status, the error
 * type for x-amzn-ErrorType, and the message for {"message": ...}. */
typedef struct {
    int status;              /* 0 when the signature is good */
    const char *error_type;  /* static */
    const char *message;     /* arena string */
    sy_str_t access_key_id;  /* the signer, when good */
} sy_sigv4_verdict_t;

/*
 * Verify a request's signature the way AWS does, in AWS's order: no
 * Authorization -> 403 MissingAuthenticationTokenException; malformed ->
 * 400 IncompleteSignatureException; unknown key or wrong session token ->
 * 403 UnrecognizedClientException; scope of another service or region,
 * date mismatch, clock skew, wrong signature -> 403
 * InvalidSignatureException (the mismatch message carries the canonical
 * request and string to sign AWS expected, as AWS's does; they hold no
 * secret). Signatures are compared in constant time. Returns SY_OK when
 * good (verdict status 0), SY_ERR when refused (verdict filled).
 */
int sy_sigv4_verify(sy_arena_t *a, const sy_sigv4_verify_t *in, sy_sigv4_verdict_t *out);

#endif
