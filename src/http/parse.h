/*
 * parse.h - HTTP/1.1 message parsers as pure functions: request heads,
 * response heads, and the chunked transfer coding. No I/O, no allocation.
 *
 * Every parser works on bytes the caller already holds and returns views
 * (sy_str_t) that point into those bytes: nothing is copied, so the views
 * live exactly as long as the caller's buffer. The request parser is strict
 * on purpose (RFC 9112 and the strictest servers): any framing ambiguity a
 * front proxy and a back end could read differently is an error, because
 * that ambiguity is what request smuggling exploits. The response parser is a
 * little more lenient where real servers deviate harmlessly, but never about
 * body framing. docs/internals/http-parse.md explains the rules.
 *
 * Return convention (core/common.h): a head parser returns the head length
 * (> 0, bytes up to and including the empty line) when a complete head is in
 * the buffer, SY_EAGAIN when the head is incomplete but still within the
 * caps (call again with more bytes: the result is the same however the bytes
 * were split), or a negative error (SY_EINVAL malformed, SY_ETOOBIG over a
 * cap). An error found in a prefix of the input is the error the whole input
 * gets: bytes are judged in order, caps as soon as they are exceeded.
 */
#ifndef SY_HTTP_PARSE_H
#define SY_HTTP_PARSE_H

#include "core/common.h"
#include "core/str.h"
#include "core/arena.h"
#include "core/buf.h"

/* One header field line: name as sent (compare case-insensitively) and the
 * value with leading and trailing whitespace (OWS) removed. */
typedef struct {
    sy_str_t name, value;
} sy_http_header_t;

/* Caps on a message head, enforced as the bytes arrive.
 * max_request_line: bytes of the request line (status line for responses),
 *   CRLF not counted; past it a request gets 414.
 * max_header_bytes: the whole head, from the first byte (leading empty lines
 *   included) to the final CRLF; past it 431. Clamped to INT_MAX.
 * max_headers: header field lines; past it 431. The caller's array capacity
 *   is a cap too: the smaller of the two applies. */
typedef struct {
    size_t max_request_line;
    size_t max_header_bytes;
    size_t max_headers;
} sy_http_limits_t;

#define SY_HTTP_DEFAULT_MAX_REQUEST_LINE 8192
#define SY_HTTP_DEFAULT_MAX_HEADER_BYTES 32768
#define SY_HTTP_DEFAULT_MAX_HEADERS      100
/* sy_http_limits_t lim = SY_HTTP_LIMITS_INIT; (a NULL limits pointer means the same) */
#define SY_HTTP_LIMITS_INIT                                                                        \
    {SY_HTTP_DEFAULT_MAX_REQUEST_LINE, SY_HTTP_DEFAULT_MAX_HEADER_BYTES, SY_HTTP_DEFAULT_MAX_HEADERS}

/* How the body after a head is delimited. */
typedef enum {
    SY_HTTP_BODY_NONE = 0, /* no body: the next message starts right after the head */
    SY_HTTP_BODY_LENGTH,   /* exactly content_length bytes (may be 0) */
    SY_HTTP_BODY_CHUNKED,  /* chunked transfer coding: feed sy_http_chunked_* */
    SY_HTTP_BODY_CLOSE,    /* responses only: everything until the peer closes */
} sy_http_body_t;

/* A parsed request head. All views point into the caller's buffer.
 * On success: method, target (as sent), path and query (target split at the
 * first '?', query without it; for absolute-form targets path is the path
 * part after the authority), minor_version (0 or 1), headers/nheaders (the
 * caller's array), content_length (-1 when absent), chunked, body (the
 * framing to use), keep_alive (HTTP/1.1: unless "Connection: close";
 * HTTP/1.0: only with "Connection: keep-alive"), expect_continue
 * ("Expect: 100-continue" on HTTP/1.1) and host (the Host header, or the
 * authority of an absolute-form target).
 * On error: status is the HTTP status to answer (400, 414, 417, 431, 501,
 * 505) and error a short static sentence for the response body and the log;
 * the other fields are unspecified. After any error the connection must be
 * closed: the framing of what follows is unknown. */
typedef struct {
    sy_str_t method;
    sy_str_t target;
    sy_str_t path;
    sy_str_t query;
    sy_str_t host;
    int minor_version;
    sy_http_header_t *headers;
    size_t nheaders;
    int64_t content_length;
    sy_http_body_t body;
    bool chunked;
    bool keep_alive;
    bool expect_continue;
    int status;
    const char *error;
} sy_http_request_t;

/* Parse a request head from buf[0..len). headers[0..headers_cap) receives
 * the field lines. Returns the head length, SY_EAGAIN, SY_EINVAL (status
 * 400/417/501/505) or SY_ETOOBIG (status 414/431); see the top of this file.
 * lim NULL selects SY_HTTP_LIMITS_INIT.
 * Up to 4 empty lines (CRLF) before the request line are skipped and counted
 * in the head length. Cost: one pass over the head; after SY_EAGAIN the
 * caller re-parses from the start when more bytes arrive (heads are capped;
 * sy_http_head_ready below avoids the quadratic worst case). */
int sy_http_parse_request(const char *buf, size_t len, const sy_http_limits_t *lim,
                          sy_http_header_t *headers, size_t headers_cap, sy_http_request_t *out);

/* Optional pre-check for a head that arrives in many small reads. The
 * parsers alone are correct, but re-parsing from the start on every read
 * costs O(n^2) for a client that sends one byte at a time. This state lets
 * the caller skip parses that cannot change the answer: it tells when a new
 * line end arrived, a new line began or a cap may have been crossed (so the
 * end of the head and every cap are still reported as soon as the bytes are
 * in). A grammar error inside a line that
 * has not ended yet is then reported when the line ends or the head cap is
 * reached, instead of at once. Zero it for each new message. */
typedef struct {
    size_t scanned;    /* bytes already searched for LF */
    size_t line_start; /* where the line being received starts */
    bool line_seen;    /* a parse already saw this line's first byte */
    bool line_checked; /* a parse already ran with this line over the line cap */
} sy_http_head_scan_t;

/* True when the caller should run the head parser on buf[0..len) (a
 * superset of the buffer seen by the previous call: same message, bytes
 * appended; the buffer may have moved). False: the head cannot be complete
 * and no cap can have been crossed since the last parse; a parse now would
 * say SY_EAGAIN or at most find a grammar error (SY_EINVAL) in the line
 * still arriving. O(bytes added since the last call). */
bool sy_http_head_ready(sy_http_head_scan_t *st, const char *buf, size_t len,
                        const sy_http_limits_t *lim);

/* A parsed response head (from an upstream). status is the status code
 * (100..999), reason the reason phrase (may be empty), body the framing:
 * NONE for 1xx, 204, 304 and responses to HEAD; else CHUNKED, else LENGTH,
 * else CLOSE (keep_alive is then false). content_length is -1 when absent.
 * On error, error is a short static sentence (the gateway answers 502). */
typedef struct {
    int status;
    sy_str_t reason;
    int minor_version;
    sy_http_header_t *headers;
    size_t nheaders;
    int64_t content_length;
    sy_http_body_t body;
    bool chunked;
    bool keep_alive;
    const char *error;
} sy_http_response_t;

/* Flags for sy_http_parse_response. */
enum {
    SY_HTTP_RESPONSE_TO_HEAD = 1, /* the request was HEAD: the response has no body */
};

/* Parse a response head from buf[0..len); same return convention as the
 * request parser, with max_request_line applying to the status line.
 * Lenient where harmless: bare LF line ends, a missing reason phrase,
 * whitespace before a header colon, control characters other than NUL in
 * values, repeated identical Content-Length values. Still errors: Content-
 * Length with Transfer-Encoding, invalid or conflicting Content-Length,
 * transfer codings other than chunked, obs-fold, NUL, bare CR. */
int sy_http_parse_response(const char *buf, size_t len, const sy_http_limits_t *lim,
                           unsigned flags, sy_http_header_t *headers, size_t headers_cap,
                           sy_http_response_t *out);

/* The first index in [p, end) of buf whose byte may not appear in a field
 * value (request: CTL other than HTAB, and DEL; response: NUL, CR, LF), or
 * end. The head parsers' value scan (16 bytes at a time where SSE2 is
 * available), exposed for the differential tests against the byte loop. */
size_t sy_http_value_span(const char *buf, size_t p, size_t end, bool response);

/* The same for a field name: the first byte that is not a tchar. */
size_t sy_http_token_span(const char *buf, size_t p, size_t end);

/* The same for a request target or version: the first byte that is not a
 * VCHAR, or is '#'. */
size_t sy_http_target_span(const char *buf, size_t p, size_t end);

/* The first header named name (ASCII case-insensitive), or NULL. */
const sy_http_header_t *sy_http_header_find(const sy_http_header_t *headers, size_t n,
                                            const char *name);

/* The next header named name after *prev (NULL: from the start), or NULL.
 * for (h = NULL; (h = sy_http_header_next(hs, n, "via", h)) != NULL;) ... */
const sy_http_header_t *sy_http_header_next(const sy_http_header_t *headers, size_t n,
                                            const char *name, const sy_http_header_t *prev);

/* Iterate the elements of a comma-separated field value (RFC 9110 5.6.1):
 * stores the next non-empty element, OWS-trimmed, in *elem, advances *list
 * past it and returns true; false when no element is left. */
bool sy_http_list_next(sy_str_t *list, sy_str_t *elem);

/* True when the comma-separated list value contains token (case-insensitive),
 * e.g. sy_http_list_has(connection_value, "close"). */
bool sy_http_list_has(sy_str_t list, const char *token);

/* The reason phrase for a status code ("Not Found"); for codes without a
 * registered phrase, a generic one for the class ("Client Error"). Static. */
const char *sy_http_reason(int status);

/*
 * Chunked transfer coding (chunked.c).
 *
 * The decoder is a byte-at-a-time state machine, so the caller may feed the
 * wire bytes split anywhere (one byte per call works) and gets the same body
 * bytes and the same verdict. It validates chunk sizes (1 to 16 hex digits,
 * nothing else), chunk extensions (RFC 9112 grammar, accepted and ignored,
 * bounded in total), the CRLF after each chunk's data, and the trailer
 * section (field lines, parsed and ignored, bounded). The body size cap is
 * the caller's: count the bytes it produces.
 */
typedef struct {
    uint8_t state;
    uint8_t digits;      /* hex digits of the current chunk size */
    int8_t err;          /* the error code once failed (sticky) */
    uint64_t size;       /* current chunk size while reading it */
    uint64_t remaining;  /* data bytes left in the current chunk */
    size_t ext_bytes;    /* chunk-extension bytes so far (whole message) */
    size_t trailer_bytes;
    size_t max_ext;
    size_t max_trailer;
    const char *error;   /* static message once an error was returned */
} sy_http_chunked_t;

#define SY_HTTP_DEFAULT_MAX_CHUNK_EXT 4096
#define SY_HTTP_DEFAULT_MAX_TRAILER   8192

/* Start decoding a new chunked body. 0 for a cap selects its default. */
void sy_http_chunked_init(sy_http_chunked_t *d, size_t max_ext, size_t max_trailer);

/* Advance over in[0..len) up to the next run of body bytes, zero-copy.
 * Sets *used to the input bytes consumed and *data to a view (inside in) of
 * the body bytes among them, possibly empty. Returns SY_EAGAIN while the body
 * is not finished (call again with in + *used; when *used == len, wait for
 * more bytes), SY_OK once the last chunk and the trailers were consumed
 * (in[*used..len) belongs to the next message), SY_EINVAL or SY_ETOOBIG on
 * bad framing (d->error says why; sticky: later calls return it again).
 * Each call with len > 0 consumes at least one byte or finishes. */
int sy_http_chunked_next(sy_http_chunked_t *d, const char *in, size_t len, size_t *used,
                         sy_str_t *data);

/* Decode as much of in[0..len) as possible, writing the body bytes to out
 * (out may equal in, or point before it in the same buffer: decoding in
 * place; out needs room for len bytes). Sets *used (input consumed) and
 * *out_len (body bytes written). Returns SY_EAGAIN (all input consumed, body
 * not finished), SY_OK (finished; in[*used..len) is the next message) or an
 * error as sy_http_chunked_next. */
int sy_http_chunked_decode(sy_http_chunked_t *d, const char *in, size_t len, size_t *used,
                           char *out, size_t *out_len);

/* True once the final chunk and trailer section have been consumed. */
bool sy_http_chunked_done(const sy_http_chunked_t *d);

/* Encoding. A chunk header is the size in lower-case hex and CRLF; the data
 * follows, then CRLF. The body ends with SY_HTTP_CHUNK_LAST. */
#define SY_HTTP_CHUNK_HEADER_MAX 18 /* 16 hex digits + CRLF */
#define SY_HTTP_CHUNK_LAST       "0\r\n\r\n"

/* Write the header of an n-byte chunk (n > 0) to out, which has room for
 * SY_HTTP_CHUNK_HEADER_MAX bytes; returns its length. For writev users. */
size_t sy_http_chunk_header(char *out, size_t n);

/* Append one whole chunk (header, data, CRLF) to b; nothing for n == 0 (an
 * empty chunk would end the body). All or nothing: SY_ETOOBIG past b's cap. */
int sy_http_chunk_append(sy_buf_t *b, const void *data, size_t n);

/* Append the last chunk and an empty trailer section ("0\r\n\r\n"). */
int sy_http_chunk_append_last(sy_buf_t *b);

/* The value of `key` in a query string (`a=1&b=x%20y`), percent-decoded
 * ('+' is a space) into `a`; false when the key is not there. The first
 * occurrence wins; a '%' not followed by two hex digits is kept as is. */
bool sy_http_query_param(sy_arena_t *a, sy_str_t query, const char *key, sy_str_t *out);

#endif
