/*
 * server.c - HTTP/1.1 server connections.
 *
 * A connection moves through these states:
 *
 *   HEAD ──head complete──▶ BODY ──body complete──▶ HANDLING ──response done──▶ HEAD
 *     │                       │                        │
 *     └─ cap/timeout/error ───┴──▶ error response, close after it
 *
 * While HANDLING, the connection stops reading (only a hang-up is watched),
 * so the request's views into the read buffer stay valid and pipelined
 * requests wait their turn in the buffer. A response that is complete but
 * not yet flushed does not hold its request: the bytes are in the write
 * buffer, the request ends, and the next pipelined request is handled before
 * the loop writes, so several responses leave in one write.
 */
#include "http/server.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "core/buf.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/time.h"

#define SY_HTTP_READ_MIN 4096 /* first read size; later reads grow with the data */
#define SY_HTTP_READ_MAX (256 * 1024)
#define SY_HTTP_IDLE_TRIM_MS 1000 /* give freed memory back this long after the last close */
#define SY_HTTP_RBUF_KEEP (64 * 1024) /* shrink a read buffer bigger than this when idle */
#define SY_HTTP_MAX_LISTENERS 16
#define SY_HTTP_HEADERS_FIRST 32 /* header slots a connection starts with (inline) */
#define SY_HTTP_SCRATCH (64 * 1024) /* a worker's read scratch for the start of a request */

typedef enum { CONN_HEAD, CONN_BODY, CONN_HANDLING, CONN_CLOSED } conn_state_t;

/* What the connection's one timer is measuring. */
typedef enum {
    TIMER_NONE,
    TIMER_IDLE,   /* keep-alive: waiting for the next request's first byte */
    TIMER_HEADER, /* accept or first byte -> complete head (slowloris cap) */
    TIMER_BODY,   /* gap between body reads */
    TIMER_SEND,   /* gap between successful writes while the client is not reading */
} timer_kind_t;

struct sy_http_conn {
    sy_http_server_t *srv;
    sy_http_conn_t *prev, *next; /* the server's connection list */
    int fd;
    conn_state_t state;
    sy_io_t io;
    sy_timer_t timer;
    timer_kind_t timer_kind;
    sy_defer_t resume; /* continue after an async response completed */
    sy_defer_t flush;  /* write queued stream bytes before sleeping */
    sy_defer_t reap;   /* free the struct after the current dispatch */
    sy_buf_t rbuf, wbuf;
    sy_http_server_limits_t lim;
    sy_http_header_t *headers; /* headers_cap slots: headers_first, or the heap */
    size_t headers_cap;
    sy_http_header_t headers_first[SY_HTTP_HEADERS_FIRST];
    size_t head_len;           /* bytes of the current head in rbuf */
    const char *head_base;     /* where rbuf's bytes were when the head was parsed */
    size_t wire_len;           /* head + body bytes on the wire, once framed */
    sy_http_chunked_t chunked;
    sy_http_head_scan_t scan; /* skips re-parsing a head that cannot be complete yet */
    size_t chunk_in, chunk_out; /* raw body bytes consumed, decoded bytes produced */
    bool keep_alive;
    bool close_after;  /* close once the write buffer is flushed */
    bool in_handler;   /* inside the handler call (responses are picked up on return) */
    bool continue_sent;
    bool write_blocked;
    bool req_active;   /* req holds a request that has not ended */
    bool cong_notified;
    bool read_eof;     /* the client sent FIN: read nothing more */
    bool rd_paused;    /* bytes arrived while handling: read interest dropped until it ends */
    uint64_t served;
    sy_http_req_t req;
};

struct sy_http_server {
    sy_loop_t *loop;
    sy_http_handler_cb handler;
    sy_http_error_cb error_handler;
    void *ctx;
    sy_http_server_limits_t lim;
    sy_io_t listeners[SY_HTTP_MAX_LISTENERS];
    size_t nlisteners;
    sy_http_conn_t *conns;
    size_t nconns;
    bool draining;
    sy_timer_t drain_timer;
    sy_timer_t trim_timer;
    sy_http_server_done_cb done;
    void *done_data;
    /* cached Date header value, refreshed once a second */
    time_t date_sec;
    char date[40];
    size_t date_len;
    char *scratch; /* SY_HTTP_SCRATCH bytes: see conn_read */
};

static void conn_close(sy_http_conn_t *c);
static void conn_process(sy_http_conn_t *c);
static void conn_flush(sy_http_conn_t *c);
static void conn_update_events(sy_http_conn_t *c);

void sy_http_server_limits_default(sy_http_server_limits_t *l)
{
    l->parse.max_request_line = 8192;
    l->parse.max_header_bytes = 32 * 1024;
    l->parse.max_headers = 100;
    l->max_body_bytes = 32 * 1024 * 1024;
    l->header_timeout_ms = 10000;
    l->body_timeout_ms = 60000;
    l->idle_timeout_ms = 75000;
}

/* ---- response writing ---- */

/* The Date header's text (its length in *len), formatted once per second. */
static const char *date_header(sy_http_server_t *srv, size_t *len)
{
    time_t now = time(NULL);
    if (now != srv->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        srv->date_len = strftime(srv->date, sizeof(srv->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        srv->date_sec = now;
    }
    *len = srv->date_len;
    return srv->date;
}

void sy_http_add_headers_ref(sy_http_req_t *req, const sy_http_header_t *hs, size_t n)
{
    if (n == 0)
        return;
    sy_http_out_header_t *h = sy_arena_alloc(req->arena, n * sizeof(*h));
    for (size_t i = 0; i < n; i++) {
        h[i].next = NULL;
        h[i].name = hs[i].name;
        h[i].value = hs[i].value;
        *req->out_tail = &h[i];
        req->out_tail = &h[i].next;
    }
}

void sy_http_add_header_ref(sy_http_req_t *req, sy_str_t name, sy_str_t value)
{
    sy_http_header_t h = {name, value};
    sy_http_add_headers_ref(req, &h, 1);
}

void sy_http_add_header(sy_http_req_t *req, const char *name, sy_str_t value)
{
    sy_http_add_header_ref(req, sy_str_dup(req->arena, sy_str_c(name)),
                           sy_str_dup(req->arena, value));
}

void sy_http_req_close_after(sy_http_req_t *req)
{
    if (req->conn)
        req->conn->close_after = true;
}

static inline char *put_bytes(char *p, const char *s, size_t n)
{
    sy_copy_short(p, s, n);
    return p + n;
}
#define PUT_LIT(p, lit) put_bytes((p), (lit), sizeof(lit) - 1)

/* Append the status line and headers. body_len < 0 means streaming.
 * The head is measured, reserved once and copied in piece by piece: this
 * runs for every response, and formatting it through printf cost several
 * thousand instructions. */
static int write_head(sy_http_conn_t *c, sy_http_req_t *req, int status, const char *ctype,
                      long long body_len)
{
    sy_buf_t *w = &c->wbuf;
    if (c->srv->draining)
        c->close_after = true;
    bool http10 = req->head.minor_version == 0;
    if (body_len < 0 && http10)
        c->close_after = true; /* HTTP/1.0 has no chunked coding: close delimits */
    char code[20];
    size_t codelen = 3;
    if (status >= 100 && status <= 999) { /* every status there is: three digits */
        code[0] = (char)('0' + status / 100);
        code[1] = (char)('0' + status / 10 % 10);
        code[2] = (char)('0' + status % 10);
    } else {
        codelen = sy_fmt_u64(code, status > 0 ? (uint64_t)status : 0);
    }
    const char *reason = sy_http_reason(status);
    size_t dlen;
    const char *date = date_header(c->srv, &dlen);
    size_t rlen = strlen(reason), clen = ctype ? strlen(ctype) : 0;
    size_t need = 128 + codelen + rlen + dlen + clen;
    for (sy_http_out_header_t *h = req->out_headers; h; h = h->next)
        need += h->name.len + h->value.len + 4;
    req->status = status;
    req->head_sent = true;
    if (sy_buf_reserve(w, need) != SY_OK)
        return SY_ETOOBIG;
    char *start = sy_buf_tail(w), *p = start;
    p = PUT_LIT(p, "HTTP/1.1 ");
    memcpy(p, code, codelen);
    p += codelen;
    *p++ = ' ';
    p = put_bytes(p, reason, rlen);
    p = PUT_LIT(p, "\r\nServer: switchyard\r\nDate: ");
    p = put_bytes(p, date, dlen);
    p = PUT_LIT(p, "\r\n");
    if (ctype) {
        p = PUT_LIT(p, "Content-Type: ");
        p = put_bytes(p, ctype, clen);
        p = PUT_LIT(p, "\r\n");
    }
    for (sy_http_out_header_t *h = req->out_headers; h; h = h->next) {
        p = put_bytes(p, h->name.p, h->name.len);
        p = PUT_LIT(p, ": ");
        p = put_bytes(p, h->value.p, h->value.len);
        p = PUT_LIT(p, "\r\n");
    }
    if (body_len >= 0) {
        p = PUT_LIT(p, "Content-Length: ");
        p += sy_fmt_u64(p, (uint64_t)body_len);
        p = PUT_LIT(p, "\r\n");
    } else if (!http10) {
        p = PUT_LIT(p, "Transfer-Encoding: chunked\r\n");
    }
    if (c->close_after)
        p = PUT_LIT(p, "Connection: close\r\n\r\n");
    else if (http10)
        p = PUT_LIT(p, "Connection: keep-alive\r\n\r\n");
    else
        p = PUT_LIT(p, "\r\n");
    sy_buf_commit(w, (size_t)(p - start));
    return SY_OK;
}

/* The response is complete: let the connection move on. */
static void req_completed(sy_http_conn_t *c)
{
    c->req.done = true;
    if (!c->in_handler)
        sy_defer(c->srv->loop, &c->resume);
}

void sy_http_respond(sy_http_req_t *req, int status, const char *content_type, const void *body,
                     size_t len)
{
    sy_http_conn_t *c = req->conn;
    if (c == NULL || req->done || req->head_sent)
        return;
    /* HEAD and bodiless statuses announce the length but send no body. */
    bool no_body = (req->head.method.len == 4 && memcmp(req->head.method.p, "HEAD", 4) == 0) ||
                   status == 204 || status == 304;
    if (write_head(c, req, status, content_type, (long long)len) != SY_OK ||
        (!no_body && sy_buf_append(&c->wbuf, body, len) != SY_OK)) {
        sy_warn("response exceeds the write buffer cap", "\"status\":%d", status);
        c->close_after = true;
    }
    req->bytes_out = len;
    req_completed(c);
}

void sy_http_respond_error(sy_http_req_t *req, int status, const char *type, const char *message)
{
    char esc[1024], body[1200];
    sy_log_esc(esc, sizeof(esc), message, strlen(message));
    int n = snprintf(body, sizeof(body), "{\"error\":{\"type\":\"%s\",\"message\":\"%s\"}}", type,
                     esc);
    sy_http_respond(req, status, "application/json", body, (size_t)n);
}

void sy_http_stream_begin(sy_http_req_t *req, int status, const char *content_type)
{
    sy_http_conn_t *c = req->conn;
    if (c == NULL || req->done || req->head_sent)
        return;
    req->streaming = true;
    write_head(c, req, status, content_type, -1);
    sy_defer(c->srv->loop, &c->flush);
}

int sy_http_stream_write(sy_http_req_t *req, const void *data, size_t len)
{
    sy_http_conn_t *c = req->conn;
    if (c == NULL || req->done || !req->streaming)
        return SY_ECLOSED;
    if (len == 0)
        return SY_OK;
    int rc = 0;
    if (req->head.minor_version == 0) {
        rc = sy_buf_append(&c->wbuf, data, len);
    } else {
        rc = sy_http_chunk_append(&c->wbuf, data, len);
    }
    if (rc) {
        /* The client stopped reading long ago: give up on it. */
        sy_warn("stream write queue cap reached; closing", NULL);
        return SY_ECLOSED;
    }
    req->bytes_out += len;
    c->cong_notified = false;
    sy_defer(c->srv->loop, &c->flush);
    return SY_OK;
}

bool sy_http_stream_congested(const sy_http_req_t *req)
{
    return req->conn == NULL || req->conn->wbuf.len > SY_HTTP_STREAM_HIGH_WATER;
}

void sy_http_stream_end(sy_http_req_t *req)
{
    sy_http_conn_t *c = req->conn;
    if (c == NULL || req->done || !req->streaming)
        return;
    if (req->head.minor_version == 0)
        c->close_after = true;
    else if (sy_http_chunk_append_last(&c->wbuf) != SY_OK)
        c->close_after = true;
    req_completed(c);
}

void sy_http_req_abort(sy_http_req_t *req, bool flush, bool rst)
{
    sy_http_conn_t *c = req->conn;
    if (c == NULL || c->state == CONN_CLOSED)
        return;
    req->on_abort = NULL;
    if (flush && c->wbuf.len)
        (void)!send(c->fd, sy_buf_ptr(&c->wbuf), c->wbuf.len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (rst) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    conn_close(c);
}

/* ---- request lifecycle ---- */

static void req_reset(sy_http_conn_t *c)
{
    sy_http_req_t *r = &c->req;
    sy_arena_t *a = r->arena;
    if (a)
        sy_arena_reset(a);
    else
        a = sy_arena_new(4096);
    memset(r, 0, sizeof(*r));
    r->arena = a;
    r->conn = c;
    r->server = c->srv;
    r->out_tail = &r->out_headers;
}

/* Answer a framing error ourselves and close after it. */
static void conn_fail(sy_http_conn_t *c, int status, const char *message)
{
    sy_debug("http request rejected", "\"status\":%d", status);
    c->close_after = true;
    if (!c->req_active) {
        req_reset(c);
        c->req.head.minor_version = 1;
        c->req_active = true;
    }
    c->state = CONN_HANDLING;
    c->in_handler = true;
    if (c->srv->error_handler)
        c->srv->error_handler(&c->req, c->srv->ctx, status, message);
    if (!c->req.done) /* no handler, or it did not answer */
        sy_http_respond_error(&c->req, status,
                              status == 408 ? "timeout" : "invalid_request_error", message);
    c->in_handler = false;
}

static void timer_cb(sy_timer_t *t)
{
    sy_http_conn_t *c = t->data;
    timer_kind_t kind = c->timer_kind;
    c->timer_kind = TIMER_NONE;
    switch (kind) {
    case TIMER_HEADER:
        if (c->rbuf.len > 0) {
            conn_fail(c, 408, "request headers were not received in time");
            conn_flush(c);
            return;
        }
        conn_close(c); /* connected and never sent a byte */
        return;
    case TIMER_BODY:
        conn_fail(c, 408, "request body was not received in time");
        conn_flush(c);
        return;
    case TIMER_IDLE: /* keep-alive idle: nothing to say */
    case TIMER_SEND: /* the client stopped reading its response */
        conn_close(c);
        return;
    case TIMER_NONE:
        return;
    }
}

/* Arm the timer for what the connection waits for now. progress: bytes just
 * moved, so gap timers (body, send) start over. */
static void conn_arm_timer(sy_http_conn_t *c, bool progress)
{
    timer_kind_t want = TIMER_NONE;
    uint64_t ms = 0;
    if (c->write_blocked) {
        want = TIMER_SEND;
        ms = c->lim.body_timeout_ms;
    } else if (c->state == CONN_HEAD) {
        bool idle = c->rbuf.len == 0 && c->served > 0;
        want = idle ? TIMER_IDLE : TIMER_HEADER;
        ms = idle ? c->lim.idle_timeout_ms : c->lim.header_timeout_ms;
    } else if (c->state == CONN_BODY) {
        want = TIMER_BODY;
        ms = c->lim.body_timeout_ms;
    }
    if (want == TIMER_NONE) {
        sy_timer_stop(&c->timer);
    } else if (want != c->timer_kind || !sy_timer_active(&c->timer) ||
               (progress && (want == TIMER_BODY || want == TIMER_SEND))) {
        sy_timer_start(&c->timer, ms);
    }
    c->timer_kind = want;
}

/* End the current request: drop its bytes, reset its arena, wait for the next. */
static void conn_finish_request(sy_http_conn_t *c)
{
    sy_buf_consume(&c->rbuf, c->wire_len);
    c->head_len = c->wire_len = 0;
    c->head_base = NULL;
    c->req_active = false;
    c->served++;
    req_reset(c);
    c->state = CONN_HEAD;
    c->continue_sent = false;
    c->rd_paused = false;
    if (c->rbuf.len == 0 && c->rbuf.cap > SY_HTTP_RBUF_KEEP) {
        sy_buf_free(&c->rbuf);
        sy_buf_init(&c->rbuf, c->lim.parse.max_header_bytes + c->lim.max_body_bytes + 4096);
    }
}

static int body_framing(sy_http_conn_t *c)
{
    sy_http_request_t *h = &c->req.head;
    if (h->chunked) {
        sy_http_chunked_init(&c->chunked, 0, 0);
        c->chunk_in = c->chunk_out = 0;
        return SY_OK;
    }
    if (h->content_length > 0 && (uint64_t)h->content_length > c->lim.max_body_bytes) {
        conn_fail(c, 413, "request body is larger than the configured limit (limits.max_body_bytes)");
        return SY_ERR;
    }
    return SY_OK;
}

/* Try to complete the body; SY_OK when complete, SY_EAGAIN for more, SY_ERR on failure. */
static int body_progress(sy_http_conn_t *c)
{
    sy_http_request_t *h = &c->req.head;
    char *base = sy_buf_ptr(&c->rbuf) + c->head_len;
    size_t avail = c->rbuf.len - c->head_len;
    if (!h->chunked) {
        size_t need = h->content_length > 0 ? (size_t)h->content_length : 0;
        if (avail < need)
            return SY_EAGAIN;
        c->req.body = sy_str(base, need);
        c->wire_len = c->head_len + need;
        return SY_OK;
    }
    /* Decode in place: decoded bytes are packed at base[0..chunk_out), then
     * the undecoded rest moves down over the framing bytes just removed, so
     * the buffer holds only body bytes plus what is still to decode (and the
     * body cap, not the wire size, decides 413). */
    size_t in = avail - c->chunk_in;
    size_t out = 0;
    int rc = sy_http_chunked_decode(&c->chunked, base + c->chunk_in, in, &in, base + c->chunk_out,
                                    &out);
    c->chunk_in += in;
    c->chunk_out += out;
    if (c->chunk_in > c->chunk_out) {
        size_t rest = avail - c->chunk_in;
        memmove(base + c->chunk_out, base + c->chunk_in, rest);
        c->rbuf.len -= c->chunk_in - c->chunk_out;
        c->chunk_in = c->chunk_out;
    }
    if (c->chunk_out > c->lim.max_body_bytes) {
        conn_fail(c, 413, "request body is larger than the configured limit (limits.max_body_bytes)");
        return SY_ERR;
    }
    if (rc == SY_EAGAIN)
        return SY_EAGAIN;
    if (rc < 0) {
        conn_fail(c, 400, c->chunked.error ? c->chunked.error : "malformed chunked request body");
        return SY_ERR;
    }
    c->req.body = sy_str(base, c->chunk_out);
    c->wire_len = c->head_len + c->chunk_out;
    return SY_OK;
}

static void send_continue(sy_http_conn_t *c)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (c->continue_sent || c->rbuf.len > c->head_len)
        return;
    c->continue_sent = true;
    sy_buf_append(&c->wbuf, cont, sizeof(cont) - 1);
}

/*
 * Handle everything the read buffer holds: finish a request whose response
 * is complete, frame the next head and body, call the handler. Stops when it
 * needs more input, when a handler answers asynchronously, or when enough
 * pipelined responses are queued. Ends by flushing.
 */
static void conn_process(sy_http_conn_t *c)
{
    sy_http_server_t *srv = c->srv;
    for (;;) {
        if (c->state == CONN_CLOSED)
            return;
        if (c->state == CONN_HANDLING) {
            if (!c->req.done)
                break; /* waiting for an asynchronous response */
            if (c->close_after)
                break;
            conn_finish_request(c);
            if (srv->draining && c->rbuf.len == 0) {
                c->close_after = true;
                break;
            }
            if (c->wbuf.len > SY_HTTP_PIPELINE_WBUF_LIMIT)
                break;
        }
        if (c->state == CONN_HEAD) {
            if (c->rbuf.len == 0)
                break;
            sy_http_request_t *h = &c->req.head;
            if (!sy_http_head_ready(&c->scan, sy_buf_ptr(&c->rbuf), c->rbuf.len, &c->lim.parse))
                break;
            int n = sy_http_parse_request(sy_buf_ptr(&c->rbuf), c->rbuf.len, &c->lim.parse,
                                          c->headers, c->headers_cap, h);
            if (n < 0 && h->status == 431 && c->headers_cap < c->lim.parse.max_headers) {
                /* More fields than the inline slots: the configured number,
                 * on the heap, kept for the connection's later requests. */
                c->headers = sy_calloc(c->lim.parse.max_headers, sizeof(*c->headers));
                c->headers_cap = c->lim.parse.max_headers;
                n = sy_http_parse_request(sy_buf_ptr(&c->rbuf), c->rbuf.len, &c->lim.parse,
                                          c->headers, c->headers_cap, h);
            }
            if (n == SY_EAGAIN)
                break;
            if (n < 0) {
                conn_fail(c, h->status ? h->status : 400,
                          h->error ? h->error : "malformed request");
                break;
            }
            c->head_len = (size_t)n;
            c->head_base = sy_buf_ptr(&c->rbuf);
            memset(&c->scan, 0, sizeof(c->scan));
            c->req_active = true;
            c->keep_alive = h->keep_alive;
            if (!c->keep_alive)
                c->close_after = true;
            c->state = CONN_BODY;
            if (body_framing(c) != SY_OK)
                break;
            if (h->expect_continue)
                send_continue(c);
        }
        if (c->state == CONN_BODY) {
            int rc = body_progress(c);
            if (rc == SY_EAGAIN)
                break;
            if (rc != SY_OK)
                break;
            c->state = CONN_HANDLING;
            conn_arm_timer(c, false);
            c->req.start_ns = sy_loop_now_ns(c->srv->loop);
            c->req.seq = c->served;
            c->in_handler = true;
            srv->handler(&c->req, srv->ctx);
            c->in_handler = false;
            if (c->state == CONN_CLOSED)
                return;
        }
    }
    conn_flush(c);
}

/* ---- socket I/O ---- */

/*
 * While a request is handled the connection reads nothing (the request's
 * views point into the read buffer) and watches only for the client going
 * away. Most clients send nothing more until they have their answer, so the
 * read interest stays registered through the handling: dropping it and
 * restoring it would cost two epoll_ctl calls per request (a fifth of the
 * gateway's system calls). Only when bytes do arrive while handling (a
 * pipelined request) is the interest narrowed to the hang-up (rd_paused),
 * until the request ends.
 */
static void conn_update_events(sy_http_conn_t *c)
{
    uint32_t ev = 0;
    if (c->state == CONN_HANDLING)
        ev |= c->rd_paused ? SY_IO_RDHUP : SY_IO_READ | SY_IO_RDHUP;
    else if (!c->read_eof && c->wbuf.len <= SY_HTTP_PIPELINE_WBUF_LIMIT)
        ev |= SY_IO_READ | SY_IO_RDHUP; /* (a client that does not read its responses is not read) */
    if (c->write_blocked)
        ev |= SY_IO_WRITE;
    if (sy_io_set(&c->io, ev) != SY_OK)
        conn_close(c);
}

static void conn_flush(sy_http_conn_t *c)
{
    if (c->state == CONN_CLOSED)
        return;
    sy_defer_cancel(c->srv->loop, &c->flush);
    bool progress = false;
    while (c->wbuf.len) {
        ssize_t n = send(c->fd, sy_buf_ptr(&c->wbuf), c->wbuf.len, MSG_NOSIGNAL);
        if (n > 0) {
            sy_buf_consume(&c->wbuf, (size_t)n);
            progress = true;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->write_blocked = true;
            break;
        }
        conn_close(c); /* EPIPE, ECONNRESET: the client is gone */
        return;
    }
    if (c->wbuf.len == 0) {
        c->write_blocked = false;
        /* A stream's events are far apart: between them its buffer goes back
         * to the allocator (shared by all streams) instead of staying with
         * each of thousands of mostly idle streams. */
        if (c->wbuf.cap > SY_HTTP_RBUF_KEEP ||
            (c->wbuf.cap && c->req_active && c->req.streaming && !c->req.done)) {
            sy_buf_free(&c->wbuf);
            sy_buf_init(&c->wbuf, SY_HTTP_WBUF_MAX);
        }
        /* Close only with nothing in flight: a finished response, or an idle
         * connection. Never while a request's head or body is still arriving
         * (Connection: close is known from the head, long before the end). */
        if (c->close_after && ((c->state == CONN_HANDLING && c->req.done) ||
                               (c->state == CONN_HEAD && c->rbuf.len == 0))) {
            conn_close(c);
            return;
        }
        if (c->req_active && c->req.streaming && !c->req.done && c->req.on_drain &&
            !c->cong_notified) {
            c->cong_notified = true;
            c->req.on_drain(&c->req);
            if (c->state == CONN_CLOSED)
                return;
        }
    }
    conn_arm_timer(c, progress);
    conn_update_events(c);
}

/* The read buffer moved (grown or compacted while a body arrives): every view
 * of the parsed head points into it, so shift them all by the same amount. */
static void conn_rebase(sy_http_conn_t *c)
{
    const char *now = sy_buf_ptr(&c->rbuf);
    if (!c->req_active || c->head_base == NULL || now == c->head_base)
        return;
    const char *old = c->head_base;
    sy_http_request_t *h = &c->req.head;
#define REBASE(v)                                                                                  \
    do {                                                                                           \
        if ((v).p && (v).p >= old && (v).p <= old + c->head_len)                                  \
            (v).p = now + ((v).p - old);                                                           \
    } while (0)
    REBASE(h->method);
    REBASE(h->target);
    REBASE(h->path);
    REBASE(h->query);
    REBASE(h->host);
    for (size_t i = 0; i < h->nheaders; i++) {
        REBASE(h->headers[i].name);
        REBASE(h->headers[i].value);
    }
#undef REBASE
    c->head_base = now;
}

/*
 * Reading. When the buffer is empty (a request starts, the common case) the
 * bytes are read into the worker's scratch and copied into a buffer of their
 * own size: a request of a few hundred bytes then holds a few hundred bytes
 * for as long as it is handled (a stream: minutes), not a page sized for a
 * read that might have been larger. A read that fills the scratch, or any
 * read once bytes are buffered, goes straight into the connection's buffer.
 */
static void conn_read(sy_http_conn_t *c)
{
    if (c->rbuf.len == 0) {
        size_t want = SY_MIN((size_t)SY_HTTP_SCRATCH, c->rbuf.max);
        ssize_t n;
        do
            n = recv(c->fd, c->srv->scratch, want, 0);
        while (n < 0 && errno == EINTR);
        if (n > 0) {
            if (sy_buf_append(&c->rbuf, c->srv->scratch, (size_t)n) != SY_OK) {
                conn_close(c);
                return;
            }
            if ((size_t)n < want) {
                conn_arm_timer(c, true);
                conn_process(c);
                return;
            }
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        /* EOF and errors: the loop below sees them again */
    }
    for (;;) {
        /* Small first: most requests are a few hundred bytes and idle
         * keep-alive connections should cost little; big bodies grow it. */
        size_t want = SY_MIN(SY_MAX((size_t)SY_HTTP_READ_MIN, c->rbuf.len), (size_t)SY_HTTP_READ_MAX);
        if (sy_buf_reserve(&c->rbuf, want) != SY_OK) {
            /* Only reachable mid-body: the head cap is enforced by the parser. */
            size_t room = c->rbuf.max - c->rbuf.len;
            if (room == 0 || sy_buf_reserve(&c->rbuf, room) != SY_OK) {
                conn_rebase(c);
                conn_fail(c, 413, "request body is larger than the configured limit (limits.max_body_bytes)");
                conn_flush(c);
                return;
            }
            want = room;
        }
        conn_rebase(c); /* sy_buf_reserve may have moved the bytes */
        ssize_t n = recv(c->fd, sy_buf_tail(&c->rbuf), SY_MIN(want, sy_buf_room(&c->rbuf)), 0);
        if (n > 0) {
            sy_buf_commit(&c->rbuf, (size_t)n);
            if ((size_t)n < want)
                break;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            conn_close(c); /* ECONNRESET and friends */
            return;
        }
        /* EOF: the client sent FIN. Answer what is complete; a partial request
         * can no longer complete; queued responses are still delivered. */
        c->read_eof = true;
        conn_process(c);
        if (c->state == CONN_CLOSED)
            return;
        c->close_after = true;
        if (c->state == CONN_HEAD && c->rbuf.len > 0)
            conn_fail(c, 400, "connection closed before the request was complete");
        else if (c->state == CONN_BODY)
            conn_fail(c, 400, "connection closed before the request body was complete");
        else if (c->state == CONN_HEAD && c->wbuf.len == 0) {
            conn_close(c);
            return;
        }
        conn_flush(c);
        return;
    }
    conn_arm_timer(c, true);
    conn_process(c);
}

static void conn_io_cb(sy_io_t *io, uint32_t events)
{
    sy_http_conn_t *c = io->data;
    if ((events & SY_IO_ERR) || ((events & SY_IO_RDHUP) && c->state == CONN_HANDLING)) {
        conn_close(c);
        return;
    }
    if (events & SY_IO_WRITE) {
        conn_flush(c);
        if (c->state == CONN_CLOSED)
            return;
        if (!c->write_blocked)
            conn_process(c); /* pipelined requests may be waiting for room */
    }
    if (c->state == CONN_CLOSED)
        return;
    if (c->state == CONN_HANDLING) {
        if ((events & SY_IO_READ) && !c->rd_paused) {
            c->rd_paused = true; /* the bytes wait in the socket until the request ends */
            conn_update_events(c);
        }
        return;
    }
    if (events & (SY_IO_READ | SY_IO_RDHUP))
        conn_read(c);
}

static void resume_cb(sy_defer_t *d)
{
    sy_http_conn_t *c = d->data;
    conn_process(c);
}

static void flush_cb(sy_defer_t *d) { conn_flush(d->data); }

static void reap_cb(sy_defer_t *d)
{
    sy_http_conn_t *c = d->data;
    sy_buf_free(&c->rbuf);
    sy_buf_free(&c->wbuf);
    sy_arena_free(c->req.arena);
    if (c->headers != c->headers_first)
        free(c->headers);
    free(c);
}

static void server_check_drained(sy_http_server_t *srv)
{
    if (srv->draining && srv->nconns == 0 && srv->done) {
        sy_http_server_done_cb done = srv->done;
        srv->done = NULL;
        sy_timer_stop(&srv->drain_timer);
        done(srv, srv->done_data);
    }
}

static void trim_cb(sy_timer_t *t)
{
    sy_http_server_t *srv = t->data;
    if (srv->nconns == 0)
        malloc_trim(0); /* glibc keeps freed per-thread arenas otherwise */
}

static void conn_close(sy_http_conn_t *c)
{
    if (c->state == CONN_CLOSED)
        return;
    sy_http_server_t *srv = c->srv;
    bool aborted = c->req_active && !c->req.done;
    c->state = CONN_CLOSED;
    if (aborted && c->req.on_abort) {
        sy_http_req_cb cb = c->req.on_abort;
        c->req.on_abort = NULL;
        cb(&c->req);
    }
    c->req.conn = NULL;
    sy_io_stop(&c->io);
    sy_timer_stop(&c->timer);
    sy_defer_cancel(srv->loop, &c->resume);
    sy_defer_cancel(srv->loop, &c->flush);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    sy_defer(srv->loop, &c->reap);
    if (srv->nconns == 0 && !srv->draining)
        sy_timer_start(&srv->trim_timer, SY_HTTP_IDLE_TRIM_MS);
    server_check_drained(srv);
}

static void conn_new(sy_http_server_t *srv, int fd)
{
    sy_http_conn_t *c = sy_calloc(1, sizeof(*c));
    c->srv = srv;
    c->fd = fd;
    c->lim = srv->lim;
    c->headers = c->headers_first;
    c->headers_cap = SY_MIN(c->lim.parse.max_headers, (size_t)SY_HTTP_HEADERS_FIRST);
    sy_buf_init(&c->rbuf, c->lim.parse.max_header_bytes + c->lim.max_body_bytes + 4096);
    sy_buf_init(&c->wbuf, SY_HTTP_WBUF_MAX);
    sy_timer_init(&c->timer, srv->loop, timer_cb, c);
    sy_defer_init(&c->resume, resume_cb, c);
    sy_defer_init(&c->flush, flush_cb, c);
    sy_defer_init(&c->reap, reap_cb, c);
    req_reset(c);
    c->state = CONN_HEAD;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    if (sy_io_start(srv->loop, &c->io, fd, SY_IO_READ | SY_IO_RDHUP, conn_io_cb, c) != SY_OK) {
        conn_close(c);
        return;
    }
    conn_arm_timer(c, false);
}

static void accept_cb(sy_io_t *io, uint32_t events)
{
    SY_UNUSED(events);
    sy_http_server_t *srv = io->data;
    for (int i = 0; i < 64; i++) {
        int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                sy_warn("accept failed", "\"errno\":%d", errno);
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        conn_new(srv, fd);
    }
}

/* ---- server ---- */

sy_http_server_t *sy_http_server_new(sy_loop_t *loop, sy_http_handler_cb handler, void *ctx)
{
    sy_http_server_t *srv = sy_calloc(1, sizeof(*srv));
    srv->loop = loop;
    srv->handler = handler;
    srv->ctx = ctx;
    sy_http_server_limits_default(&srv->lim);
    srv->scratch = sy_malloc(SY_HTTP_SCRATCH);
    sy_timer_init(&srv->trim_timer, loop, trim_cb, srv);
    sy_timer_init(&srv->drain_timer, loop, NULL, srv);
    return srv;
}

void sy_http_server_free(sy_http_server_t *srv)
{
    if (!srv)
        return;
    while (srv->conns)
        conn_close(srv->conns);
    for (size_t i = 0; i < srv->nlisteners; i++) {
        sy_io_stop(&srv->listeners[i]);
        if (srv->listeners[i].fd >= 0)
            close(srv->listeners[i].fd);
    }
    sy_timer_stop(&srv->drain_timer);
    sy_timer_stop(&srv->trim_timer);
    free(srv->scratch);
    free(srv);
}

int sy_http_server_add_listener(sy_http_server_t *srv, int fd)
{
    if (srv->nlisteners == SY_HTTP_MAX_LISTENERS)
        return SY_ETOOBIG;
    sy_io_t *io = &srv->listeners[srv->nlisteners];
    if (sy_io_start(srv->loop, io, fd, SY_IO_READ, accept_cb, srv) != SY_OK)
        return SY_ERR;
    srv->nlisteners++;
    return SY_OK;
}

void sy_http_server_set_error_handler(sy_http_server_t *srv, sy_http_error_cb cb)
{
    srv->error_handler = cb;
}

void sy_http_server_set_limits(sy_http_server_t *srv, const sy_http_server_limits_t *l)
{
    srv->lim = *l;
}

static void drain_timer_cb(sy_timer_t *t)
{
    sy_http_server_t *srv = t->data;
    if (srv->nconns)
        sy_warn("drain timeout: closing remaining connections", "\"connections\":%zu",
                srv->nconns);
    while (srv->conns)
        conn_close(srv->conns);
}

void sy_http_server_shutdown(sy_http_server_t *srv, uint64_t drain_ms,
                             sy_http_server_done_cb done, void *data)
{
    srv->draining = true;
    srv->done = done;
    srv->done_data = data;
    for (size_t i = 0; i < srv->nlisteners; i++) {
        sy_io_stop(&srv->listeners[i]);
        close(srv->listeners[i].fd);
        srv->listeners[i].fd = -1;
    }
    /* Idle keep-alive connections have nothing in flight: close them now. */
    sy_http_conn_t *c = srv->conns;
    while (c) {
        sy_http_conn_t *next = c->next;
        if (c->state == CONN_HEAD && c->rbuf.len == 0)
            conn_close(c);
        else
            c->close_after = true;
        c = next;
    }
    sy_timer_init(&srv->drain_timer, srv->loop, drain_timer_cb, srv);
    sy_timer_start(&srv->drain_timer, drain_ms);
    server_check_drained(srv);
}

size_t sy_http_server_connections(const sy_http_server_t *srv) { return srv->nconns; }

sy_loop_t *sy_http_server_loop(const sy_http_server_t *srv) { return srv->loop; }
