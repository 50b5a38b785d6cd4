/*
 * client.h - the upstream HTTP/1.1 client: one per worker, on its loop.
 *
 * The gateway calls providers through this. A request is started with an
 * origin (origin.h, parsed from a provider's base URL), a method, a target,
 * extra headers and a body, and answers through a chain of typed callbacks,
 * as in h2o's http1client: the head callback returns the body callback, so
 * the compiler enforces the order
 *
 *     on_head(head) ──returns──▶ on_body(data, len) × n ──▶ on_done
 *          └──────────── any stage: on_error(err) ────────────┘
 *
 * Exactly one of on_done / on_error ends a request, unless the caller
 * cancels it first (then nothing more is called). Callbacks always run from
 * the loop, never inside sy_http_client_start(). Inside any callback the
 * caller may cancel, pause, resume, or start other requests.
 *
 * Lifetimes. The handle returned by start is valid until on_done / on_error
 * returns or sy_http_client_cancel() returns. The request copies the origin,
 * method, target and headers at start; the body is NOT copied: the caller
 * keeps it alive and unchanged until the request ends. The head passed to
 * on_head (and every view in it) stays valid until the request ends; the
 * bytes given to on_body are valid during that call only.
 *
 * Framing: Content-Length, chunked (decoded: on_body gets body bytes only),
 * or close-delimited bodies. Pipelining is never used: a connection carries
 * one request at a time. Connections are pooled per origin (pool.h); a
 * request that fails on a reused connection before any response byte came
 * back (the peer closed that keep-alive connection as we sent) is retried
 * once, transparently, on a fresh connection.
 *
 * Backpressure: sy_http_client_pause() stops reading from the upstream
 * (the idle timeout stops counting: the wait is ours), resume() continues;
 * on_body is not called while paused. docs/internals/http-client.md has the
 * state machine, the pool rules and the timeouts.
 */
#ifndef SY_HTTP_CLIENT_H
#define SY_HTTP_CLIENT_H

#include "core/loop.h"
#include "core/str.h"
#include "http/dns.h"
#include "http/origin.h"
#include "http/parse.h"
#include "http/pool.h"
#include "http/tls.h"

typedef struct sy_http_client sy_http_client_t;
typedef struct sy_http_creq sy_http_creq_t;

/* Why a request failed. Each timeout is its own class. */
typedef enum {
    SY_HTTP_CLIENT_EREQUEST = 1,    /* invalid request (bytes not allowed in a header, ...) */
    SY_HTTP_CLIENT_EDNS,            /* the name did not resolve */
    SY_HTTP_CLIENT_ECONNECT,        /* every address refused or was unreachable */
    SY_HTTP_CLIENT_ETLS,            /* handshake failed; the message has the verify error */
    SY_HTTP_CLIENT_EPROXY,          /* the CONNECT proxy failed or refused the tunnel */
    SY_HTTP_CLIENT_EPOOL,           /* the origin's connection cap and wait queue are full */
    SY_HTTP_CLIENT_ETIMEOUT_CONNECT,    /* queue + DNS + TCP + proxy + TLS took too long */
    SY_HTTP_CLIENT_ETIMEOUT_FIRST_BYTE, /* request sent, no response byte in time */
    SY_HTTP_CLIENT_ETIMEOUT_IDLE,       /* too long between bytes (either way) */
    SY_HTTP_CLIENT_ETIMEOUT_TOTAL,      /* the whole request took too long */
    SY_HTTP_CLIENT_ERESET,          /* the connection closed or reset before the response ended */
    SY_HTTP_CLIENT_EPROTOCOL,       /* malformed response, a cap exceeded */
} sy_http_client_err_t;

typedef struct {
    sy_http_client_err_t code;
    const char *message;  /* one sentence, valid during on_error; no secrets */
    bool request_sent;    /* some request bytes may have reached the upstream */
    bool response_started; /* some response bytes arrived (on_head may have run) */
} sy_http_client_error_t;

/* A short stable name for metrics and logs: "dns", "timeout_first_byte"... */
const char *sy_http_client_err_name(sy_http_client_err_t code);

/* The response head. Views are valid until the request ends. */
typedef struct {
    int status;
    int minor_version;
    sy_str_t reason;
    const sy_http_header_t *headers;
    size_t nheaders;
    sy_http_body_t framing;  /* NONE, LENGTH, CHUNKED or CLOSE */
    int64_t content_length;  /* -1 when absent */
    bool keep_alive;         /* the connection may be reused after this response */
} sy_http_client_head_t;

/* A run of body bytes (decoded if chunked), valid during the call. */
typedef void (*sy_http_client_body_cb)(sy_http_creq_t *r, const char *data, size_t len);
/* The head arrived. Return the body callback, or NULL to stop here (as
 * sy_http_client_cancel: nothing more is called). */
typedef sy_http_client_body_cb (*sy_http_client_head_cb)(sy_http_creq_t *r,
                                                         const sy_http_client_head_t *head);
/* The body ended; the connection is already back in the pool. */
typedef void (*sy_http_client_done_cb)(sy_http_creq_t *r);
typedef void (*sy_http_client_error_cb)(sy_http_creq_t *r, const sy_http_client_error_t *err);

/* Timeouts in milliseconds; 0 in a request means "the client's default",
 * and 0 as the client's total default means no total limit. */
typedef struct {
    uint64_t connect_ms;    /* start -> connection ready (waiting for a slot, DNS, TCP, proxy, TLS) */
    uint64_t first_byte_ms; /* request fully sent -> first response byte */
    uint64_t idle_ms;       /* longest gap between bytes once the response started (or while sending) */
    uint64_t total_ms;      /* start -> end */
} sy_http_client_timeouts_t;

typedef struct {
    const sy_http_origin_t *origin; /* copied */
    const char *method;             /* "POST"; copied */
    sy_str_t target;                /* origin-form, "/v1/chat/completions"; copied */
    /* Extra headers, copied. Host and Content-Length are added here; do not
     * pass Host, Content-Length, Transfer-Encoding or Connection. */
    const sy_http_header_t *headers;
    size_t nheaders;
    sy_str_t body;                  /* NOT copied: keep it alive until the request ends */
    sy_http_client_timeouts_t timeouts;
    sy_http_client_head_cb on_head;
    sy_http_client_done_cb on_done;
    sy_http_client_error_cb on_error;
    void *data;                     /* the caller's, see sy_http_creq_data() */
} sy_http_client_req_t;

typedef struct {
    sy_pool_options_t pool;
    sy_http_client_timeouts_t timeouts; /* defaults for requests */
    sy_http_limits_t head_limits;       /* response head caps */
    sy_tls_options_t tls;               /* extra CA file; insecure (TESTS ONLY) */
    sy_dns_options_t dns;               /* servers (tests point these at 127.0.0.1) */
} sy_http_client_options_t;

/* Defaults: connect 10 s, first byte 60 s, idle 60 s, no total; response
 * heads capped at 32 KiB and 100 fields; pool defaults from pool.h. */
void sy_http_client_options_default(sy_http_client_options_t *o);

/* Returns NULL with a message in err when TLS or DNS cannot be set up. */
sy_http_client_t *sy_http_client_new(sy_loop_t *loop, const sy_http_client_options_t *opt,
                                     char *err, size_t errsz);
/* Cancels every request still running (no callbacks), closes pooled
 * connections, frees everything. */
void sy_http_client_free(sy_http_client_t *c);

/* Start a request. Never calls back before returning; never returns NULL. */
sy_http_creq_t *sy_http_client_start(sy_http_client_t *c, const sy_http_client_req_t *req);

/* Stop a request at once; no callback follows. Its connection goes back to
 * the pool only when it is clean (nothing half-sent, nothing half-read),
 * otherwise it is closed, which the upstream sees. */
void sy_http_client_cancel(sy_http_creq_t *r);
/* Backpressure: stop / restart reading the response. */
void sy_http_client_pause(sy_http_creq_t *r);
void sy_http_client_resume(sy_http_creq_t *r);

void *sy_http_creq_data(const sy_http_creq_t *r);
/* Nanosecond stamps (0: not reached) from the loop's cached clock (loop.h,
 * "Time"): when the loop saw the event that reached each. */
typedef struct {
    uint64_t start, conn_ready, sent, first_byte, head, end;
    bool reused;       /* served on a pooled connection */
    bool retried;      /* the stale-connection retry happened */
    bool tls_resumed;  /* the TLS handshake resumed a session */
} sy_http_creq_info_t;
const sy_http_creq_info_t *sy_http_creq_info(const sy_http_creq_t *r);

typedef struct {
    uint64_t requests, done, errors, cancelled, stale_retries;
    sy_pool_stats_t pool;
    sy_dns_stats_t dns;
} sy_http_client_stats_t;
sy_http_client_stats_t sy_http_client_stats(const sy_http_client_t *c);

#endif
