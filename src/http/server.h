/*
 * server.h - the HTTP/1.1 server: connections, request framing, responses.
 *
 * One sy_http_server_t per worker, bound to that worker's loop. It accepts on
 * the listening sockets it is given, reads and frames requests (head, then a
 * Content-Length or chunked body, all within named caps), and hands each
 * complete request to the handler. The handler answers at once or later
 * (after an upstream call): sy_http_respond() for a whole response, or
 * sy_http_stream_*() for a chunked/SSE response written event by event.
 *
 * Request lifetime: a sy_http_req_t is valid from the handler call until
 * the response is complete (sy_http_respond, or sy_http_stream_end) or
 * the client goes away. In the second case the server calls req->on_abort
 * (if set) first; after on_abort returns the handler must not touch req.
 * req->arena is reset when the request ends; req->head and req->body are
 * views into the connection's read buffer, which does not move while the
 * request is being handled (reading stops until it ends; pipelined requests
 * wait in the buffer and are answered in order).
 *
 * Backpressure: sy_http_stream_write() queues bytes and flushes them before
 * the loop sleeps. When more than SY_HTTP_STREAM_HIGH_WATER bytes are
 * queued, sy_http_stream_congested() is true; the producer should stop
 * reading its source and wait for req->on_drain.
 */
#ifndef SY_HTTP_SERVER_H
#define SY_HTTP_SERVER_H

#include "core/arena.h"
#include "core/loop.h"
#include "core/str.h"
#include "http/parse.h"

#define SY_HTTP_STREAM_HIGH_WATER (64 * 1024)
#define SY_HTTP_WBUF_MAX (64 * 1024 * 1024) /* cap on queued response bytes */
#define SY_HTTP_PIPELINE_WBUF_LIMIT (64 * 1024) /* stop taking pipelined requests past this */

typedef struct sy_http_server sy_http_server_t;
typedef struct sy_http_conn sy_http_conn_t;
typedef struct sy_http_req sy_http_req_t;

typedef void (*sy_http_handler_cb)(sy_http_req_t *req, void *ctx);
typedef void (*sy_http_req_cb)(sy_http_req_t *req);
typedef void (*sy_http_server_done_cb)(sy_http_server_t *srv, void *data);
/* Renders an error the server found itself (413 body too large, 408 slow
 * client, 400 bad framing) in the application's format, by calling
 * sy_http_respond on req. req->head holds the parsed head when the error
 * came after it (path and headers usable), else an empty head (path empty).
 * ctx is the handler's ctx. */
typedef void (*sy_http_error_cb)(sy_http_req_t *req, void *ctx, int status, const char *message);

/* The caps and timeouts a connection runs under; copied at accept time, so a
 * configuration reload applies to new connections. */
typedef struct {
    sy_http_limits_t parse;  /* request line, header bytes, header count */
    size_t max_body_bytes;
    uint64_t header_timeout_ms; /* accept or first byte -> complete head */
    uint64_t body_timeout_ms;   /* longest gap while reading a body or writing */
    uint64_t idle_timeout_ms;   /* keep-alive wait for the next request */
} sy_http_server_limits_t;

void sy_http_server_limits_default(sy_http_server_limits_t *l);

/* A response header queued before the head is written. */
typedef struct sy_http_out_header {
    struct sy_http_out_header *next;
    sy_str_t name, value;
} sy_http_out_header_t;

struct sy_http_req {
    sy_http_conn_t *conn;
    sy_http_server_t *server;
    sy_arena_t *arena;        /* per request; reset when the request ends */
    sy_http_request_t head;   /* method, path, headers... (views) */
    sy_str_t body;            /* decoded body (views into the read buffer) */
    uint64_t start_ns;        /* loop clock (ns) when the read that completed the request was seen */
    uint64_t seq;             /* requests served on this connection before this one */
    void *data;               /* the handler's per-request state */
    sy_http_req_cb on_abort;  /* client went away before the response ended */
    sy_http_req_cb on_drain;  /* queued stream bytes fell below the high water mark */
    /* response state (read-only for handlers) */
    int status;
    bool head_sent;
    bool streaming;
    bool done;
    size_t bytes_out; /* body bytes written (before chunk framing) */
    sy_http_out_header_t *out_headers, **out_tail;
};

sy_http_server_t *sy_http_server_new(sy_loop_t *loop, sy_http_handler_cb handler, void *ctx);
/* Frees the server; all connections must be gone (after shutdown completes). */
void sy_http_server_free(sy_http_server_t *srv);
/* Start accepting on a listening socket (non-blocking). The server closes it. */
int sy_http_server_add_listener(sy_http_server_t *srv, int fd);
void sy_http_server_set_limits(sy_http_server_t *srv, const sy_http_server_limits_t *l);
/* Use cb for errors the server answers itself (default: a generic JSON body). */
void sy_http_server_set_error_handler(sy_http_server_t *srv, sy_http_error_cb cb);
/* Stop accepting, close idle connections, let in-flight requests finish, and
 * force-close whatever remains after drain_ms. done(srv, data) is called once
 * no connection remains (possibly before this returns). */
void sy_http_server_shutdown(sy_http_server_t *srv, uint64_t drain_ms,
                             sy_http_server_done_cb done, void *data);
size_t sy_http_server_connections(const sy_http_server_t *srv);
sy_loop_t *sy_http_server_loop(const sy_http_server_t *srv);

/* Queue a response header (name and value are copied into the request arena). */
void sy_http_add_header(sy_http_req_t *req, const char *name, sy_str_t value);
/* The same without copies: name and value must stay valid until the
 * response head is written (literals, or memory of the request arena). */
void sy_http_add_header_ref(sy_http_req_t *req, sy_str_t name, sy_str_t value);
/* n of them in order, their list nodes in one allocation. */
void sy_http_add_headers_ref(sy_http_req_t *req, const sy_http_header_t *hs, size_t n);
/* A whole response with a Content-Length body. content_type may be NULL. */
void sy_http_respond(sy_http_req_t *req, int status, const char *content_type, const void *body,
                     size_t len);
/* A JSON error body {"error":{"type":type,"message":message}}. */
void sy_http_respond_error(sy_http_req_t *req, int status, const char *type, const char *message);

/* Streaming (chunked on HTTP/1.1; close-delimited on HTTP/1.0). */
void sy_http_stream_begin(sy_http_req_t *req, int status, const char *content_type);
/* Returns SY_OK, or SY_ECLOSED if the connection is gone or the queue cap hit. */
int sy_http_stream_write(sy_http_req_t *req, const void *data, size_t len);
bool sy_http_stream_congested(const sy_http_req_t *req);
void sy_http_stream_end(sy_http_req_t *req);

/* Ask the connection to close after this response (no keep-alive). */
void sy_http_req_close_after(sy_http_req_t *req);

/* Drop the connection now, without finishing the response: queued bytes are
 * flushed first when flush is true (best effort, non-blocking); with rst the
 * close sends a TCP reset (SO_LINGER 0) instead of a FIN. on_abort is NOT
 * called (the caller chose this). For fault injection and for giving up on
 * a request whose response can no longer be made well-formed. */
void sy_http_req_abort(sy_http_req_t *req, bool flush, bool rst);

#endif
