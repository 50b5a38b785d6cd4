/*
 * client.c - the upstream HTTP/1.1 client: request state machine.
 *
 * A request moves through these states (docs/internals/http-client.md):
 *
 *   QUEUED ─▶ WAIT_POOL ─▶ (idle connection) ──────────────────────┐
 *     │                                                             ▼
 *     └──▶ RESOLVING ─▶ CONNECTING ─▶ [PROXY] ─▶ [TLS] ─▶ SENDING ─▶ BODY ─▶ DONE
 *                                                          (head)
 *
 * Any state can fail (on_error) or be cancelled. One stage timer follows the
 * request (connect, then a send gap, then first byte, then the gap between
 * body bytes) and an optional total timer runs from start to end.
 *
 * Re-entrancy: user callbacks may cancel, pause or start requests. A request
 * struct is never freed while its own code is on the stack: finished
 * requests move to a dead list freed by a deferred call, and every caller of
 * a user callback checks r->finished (and that the connection is still its
 * own) before touching anything afterwards.
 */
#include "http/client.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/time.h"
#include "http/net.h"
#include "http/parse.h"

#define CLIENT_BODY_INLINE_MAX (16 * 1024) /* smaller bodies go out with the head, in one write */
#define CLIENT_READ_CHUNK (16 * 1024)
#define CLIENT_READ_BUDGET (256 * 1024)    /* per readiness event, then yield to others */
#define CLIENT_OUT_MAX (1024 * 1024)       /* request head cap (headers are ours, from config) */
#define CLIENT_FREE_MAX 64                  /* recycled request structs kept */
#define CLIENT_HEADERS_INLINE 32            /* response header slots in the request struct */
#define CLIENT_BUF_KEEP (64 * 1024)         /* recycled buffers larger than this are released */
#define MSG_MAX 1024                        /* error sentences (host names and OpenSSL reasons fit) */

typedef enum {
    R_QUEUED,
    R_WAIT_POOL,
    R_RESOLVING,
    R_CONNECTING,
    R_PROXY,
    R_TLS,
    R_SENDING, /* writing the request; no response head yet */
    R_BODY,    /* head received, reading the body */
    R_DONE,
} rstate_t;

typedef enum { T_NONE, T_CONNECT, T_SEND, T_FIRST_BYTE, T_IDLE } tkind_t;

struct sy_http_creq {
    sy_http_client_t *client;
    sy_http_creq_t *prev, *next; /* the client's live list, then its dead/free list */
    rstate_t state;
    sy_pool_origin_t *po;
    sy_pool_conn_t *conn;
    sy_pool_waiter_t waiter;
    sy_dns_query_t dnsq;
    sy_dns_addrs_t addrs;
    size_t addr_idx;
    char conn_err[300];
    sy_timer_t timer;
    tkind_t tkind;
    sy_timer_t total_timer;
    sy_defer_t kick;
    sy_http_client_timeouts_t to;
    /* request bytes */
    sy_buf_t out;
    size_t out_off;
    sy_str_t body;      /* the caller's, not inlined in out */
    size_t body_off;
    bool sent;          /* every request byte written */
    bool sent_any;
    bool send_abandoned; /* the response came before the request was all sent */
    /* proxy tunnel */
    bool proxy_sent;
    size_t proxy_off;
    /* response */
    sy_buf_t headbuf;   /* the response head's bytes; head views point here */
    sy_http_header_t *headers; /* headers_inline, or (a response with more fields) the heap */
    size_t headers_cap;
    sy_http_header_t headers_inline[CLIENT_HEADERS_INLINE];
    sy_http_head_scan_t scan;
    sy_http_client_head_t head;
    sy_http_chunked_t chunked;
    uint64_t remaining;
    bool got_byte;
    bool paused;
    bool finished;
    bool fresh_only;    /* the stale retry: do not take an idle connection */
    bool is_head;       /* a HEAD request: the response has no body */
    sy_http_client_head_cb on_head;
    sy_http_client_body_cb on_body;
    sy_http_client_done_cb on_done;
    sy_http_client_error_cb on_error;
    void *data;
    sy_http_creq_info_t info;
};

struct sy_http_client {
    sy_loop_t *loop;
    sy_http_client_options_t opt;
    sy_pool_t *pool;
    sy_dns_t *dns;
    sy_tls_ctx_t *tls;
    sy_http_creq_t *live, *dead, *free_list;
    size_t nfree;
    sy_defer_t reap;
    sy_http_client_stats_t stats;
};

static void do_read(sy_http_creq_t *r);
static void do_write(sy_http_creq_t *r);
static void acquire(sy_http_creq_t *r, bool woken);
static void process_input(sy_http_creq_t *r);

/* ---- names and defaults ---- */

const char *sy_http_client_err_name(sy_http_client_err_t code)
{
    switch (code) {
    case SY_HTTP_CLIENT_EREQUEST: return "bad_request";
    case SY_HTTP_CLIENT_EDNS: return "dns";
    case SY_HTTP_CLIENT_ECONNECT: return "connect";
    case SY_HTTP_CLIENT_ETLS: return "tls";
    case SY_HTTP_CLIENT_EPROXY: return "proxy";
    case SY_HTTP_CLIENT_EPOOL: return "pool_exhausted";
    case SY_HTTP_CLIENT_ETIMEOUT_CONNECT: return "timeout_connect";
    case SY_HTTP_CLIENT_ETIMEOUT_FIRST_BYTE: return "timeout_first_byte";
    case SY_HTTP_CLIENT_ETIMEOUT_IDLE: return "timeout_idle";
    case SY_HTTP_CLIENT_ETIMEOUT_TOTAL: return "timeout_total";
    case SY_HTTP_CLIENT_ERESET: return "reset";
    case SY_HTTP_CLIENT_EPROTOCOL: return "protocol";
    }
    return "unknown";
}

void sy_http_client_options_default(sy_http_client_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->timeouts.connect_ms = 10000;
    o->timeouts.first_byte_ms = 60000;
    o->timeouts.idle_ms = 60000;
    o->timeouts.total_ms = 0;
    o->head_limits = (sy_http_limits_t)SY_HTTP_LIMITS_INIT;
}

/* ---- request lifetime ---- */

/* A response's header slots start inline (CLIENT_HEADERS_INLINE, enough for
 * the providers' answers); a head with more fields than that gets the
 * configured number on the heap (headers_grow), kept while the struct is
 * recycled. Calloc'ing max_headers slots for every request cost each
 * concurrent stream 3 KiB of resident memory it never used. */
static void headers_free(sy_http_creq_t *r)
{
    if (r->headers != r->headers_inline)
        free(r->headers);
    r->headers = r->headers_inline;
}

static void reap_cb(sy_defer_t *d)
{
    sy_http_client_t *c = d->data;
    while (c->dead) {
        sy_http_creq_t *r = c->dead;
        c->dead = r->next;
        if (c->nfree < CLIENT_FREE_MAX) {
            if (r->out.cap > CLIENT_BUF_KEEP)
                sy_buf_free(&r->out);
            if (r->headbuf.cap > CLIENT_BUF_KEEP)
                sy_buf_free(&r->headbuf);
            r->next = c->free_list;
            c->free_list = r;
            c->nfree++;
        } else {
            sy_buf_free(&r->out);
            sy_buf_free(&r->headbuf);
            headers_free(r);
            free(r);
        }
    }
}

static size_t headers_inline_cap(const sy_http_client_t *c)
{
    return SY_MIN((size_t)CLIENT_HEADERS_INLINE, c->opt.head_limits.max_headers);
}

/* After a parse failed with SY_ETOOBIG, perhaps for want of slots: true
 * when there are more to give (the caller parses again; a head over the
 * byte cap fails the same way twice). */
static bool headers_grow(sy_http_creq_t *r, int rc)
{
    size_t max = r->client->opt.head_limits.max_headers;
    if (rc != SY_ETOOBIG || r->headers_cap >= max)
        return false;
    r->headers = sy_calloc(max, sizeof(*r->headers));
    r->headers_cap = max;
    return true;
}

static sy_http_creq_t *creq_alloc(sy_http_client_t *c)
{
    sy_http_creq_t *r = c->free_list;
    sy_buf_t out, headbuf;
    sy_http_header_t *headers = NULL;
    size_t headers_cap = headers_inline_cap(c);
    if (r) {
        c->free_list = r->next;
        c->nfree--;
        out = r->out;
        headbuf = r->headbuf;
        if (r->headers != r->headers_inline) {
            headers = r->headers;
            headers_cap = r->headers_cap;
        }
        sy_buf_clear(&out);
        sy_buf_clear(&headbuf);
    } else {
        r = sy_malloc(sizeof(*r));
        sy_buf_init(&out, CLIENT_OUT_MAX);
        sy_buf_init(&headbuf, c->opt.head_limits.max_header_bytes + 1);
    }
    /* Zeroed but for the response header slots (the parser writes each one
     * it reports) and the tail of the error text (a string from its first
     * byte): together half of the struct. */
    memset(r, 0, offsetof(sy_http_creq_t, conn_err) + 1);
    memset((char *)r + offsetof(sy_http_creq_t, timer), 0,
           offsetof(sy_http_creq_t, headers_inline) - offsetof(sy_http_creq_t, timer));
    memset((char *)r + offsetof(sy_http_creq_t, scan), 0,
           sizeof(*r) - offsetof(sy_http_creq_t, scan));
    r->out = out;
    r->headbuf = headbuf;
    r->headers = headers ? headers : r->headers_inline;
    r->headers_cap = headers_cap;
    r->client = c;
    return r;
}

/* Detach a finished request from everything that can call it back. */
static void retire(sy_http_creq_t *r)
{
    sy_http_client_t *c = r->client;
    sy_loop_t *loop = c->loop;
    r->finished = true;
    r->state = R_DONE;
    r->info.end = sy_loop_now_ns(r->client->loop);
    sy_timer_stop(&r->timer);
    sy_timer_stop(&r->total_timer);
    sy_defer_cancel(loop, &r->kick);
    sy_defer_cancel(loop, &r->waiter.wake);
    sy_pool_wait_cancel(&r->waiter);
    sy_dns_cancel(&r->dnsq);
    if (r->prev)
        r->prev->next = r->next;
    else if (c->live == r)
        c->live = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = NULL;
    r->next = c->dead;
    c->dead = r;
    sy_defer(loop, &c->reap);
}

static void close_conn(sy_http_creq_t *r)
{
    if (r->conn) {
        sy_pool_close(r->conn);
        r->conn = NULL;
    }
}

static void fail(sy_http_creq_t *r, sy_http_client_err_t code, const char *msg)
{
    if (r->finished)
        return;
    close_conn(r);
    sy_http_client_error_t e = {
        .code = code,
        .message = msg,
        .request_sent = r->sent_any,
        .response_started = r->got_byte,
    };
    r->client->stats.errors++;
    retire(r);
    r->on_error(r, &e);
}

/* The response ended. The connection goes back to the pool before on_done
 * runs, so a request started from on_done can reuse it. */
static void finish(sy_http_creq_t *r, bool notify)
{
    sy_pool_conn_t *conn = r->conn;
    bool reusable = r->head.keep_alive && r->head.framing != SY_HTTP_BODY_CLOSE && r->sent &&
                    !r->send_abandoned && conn->rbuf.len == 0;
    r->conn = NULL;
    if (reusable && conn->tr.ssl)
        sy_pool_keep_session(conn);
    sy_pool_release(conn, reusable);
    if (notify)
        r->client->stats.done++;
    else
        r->client->stats.cancelled++;
    retire(r);
    if (notify)
        r->on_done(r);
}

static void finish_ok(sy_http_creq_t *r) { finish(r, true); }

/* ---- timers and events ---- */

static void arm(sy_http_creq_t *r, tkind_t kind, uint64_t ms)
{
    r->tkind = kind;
    if (ms)
        sy_timer_start(&r->timer, ms);
    else
        sy_timer_stop(&r->timer);
}

static void timer_cb(sy_timer_t *t)
{
    sy_http_creq_t *r = t->data;
    char msg[MSG_MAX];
    switch (r->tkind) {
    case T_CONNECT:
        snprintf(msg, sizeof(msg), "connect timeout after %llu ms (%s)",
                 (unsigned long long)r->to.connect_ms,
                 r->state == R_WAIT_POOL   ? "waiting for a pooled connection"
                 : r->state == R_RESOLVING ? "resolving the name"
                 : r->state == R_PROXY     ? "opening the proxy tunnel"
                 : r->state == R_TLS       ? "TLS handshake"
                                           : "TCP connect");
        fail(r, SY_HTTP_CLIENT_ETIMEOUT_CONNECT, msg);
        break;
    case T_FIRST_BYTE:
        snprintf(msg, sizeof(msg), "no response byte within %llu ms of sending the request",
                 (unsigned long long)r->to.first_byte_ms);
        fail(r, SY_HTTP_CLIENT_ETIMEOUT_FIRST_BYTE, msg);
        break;
    case T_SEND:
        snprintf(msg, sizeof(msg), "upstream stopped reading the request for %llu ms",
                 (unsigned long long)r->to.idle_ms);
        fail(r, SY_HTTP_CLIENT_ETIMEOUT_IDLE, msg);
        break;
    case T_IDLE:
        snprintf(msg, sizeof(msg), "no response byte for %llu ms mid-response",
                 (unsigned long long)r->to.idle_ms);
        fail(r, SY_HTTP_CLIENT_ETIMEOUT_IDLE, msg);
        break;
    case T_NONE:
        break;
    }
}

static void total_timer_cb(sy_timer_t *t)
{
    sy_http_creq_t *r = t->data;
    char msg[MSG_MAX];
    snprintf(msg, sizeof(msg), "the request took longer than %llu ms",
             (unsigned long long)r->to.total_ms);
    fail(r, SY_HTTP_CLIENT_ETIMEOUT_TOTAL, msg);
}

/* Register the readiness the connection needs in the current state. */
static void update_events(sy_http_creq_t *r)
{
    sy_pool_conn_t *c = r->conn;
    if (!c || c->tr.fd < 0)
        return;
    uint32_t ev = 0;
    switch (r->state) {
    case R_CONNECTING:
        ev = SY_IO_WRITE;
        break;
    case R_PROXY:
        ev = r->proxy_sent ? SY_IO_READ : SY_IO_WRITE;
        break;
    case R_TLS:
        ev = c->tr.hs_on;
        break;
    case R_SENDING:
    case R_BODY:
        ev = sy_transport_events(&c->tr, !r->paused,
                                 !r->sent && !r->send_abandoned);
        /* the same mask the pool watches an idle connection with: no
         * epoll_ctl when a connection goes idle or busy again */
        if (ev & SY_IO_READ)
            ev |= SY_IO_RDHUP;
        break;
    default:
        break;
    }
    if (sy_io_set(&c->io, ev) != SY_OK)
        fail(r, SY_HTTP_CLIENT_ERESET, "cannot watch the upstream socket");
}

/* ---- request bytes ---- */

/* A token (RFC 9110 5.6.2): methods and field names. The parser's scan
 * (16 bytes at a time), not a strchr per byte: every header name of every
 * upstream request goes through here. */
static bool token_ok(const char *p, size_t n) { return n > 0 && sy_http_token_span(p, 0, n) == n; }

/* No CR, LF or NUL: the bytes that would end or cut the line. */
static bool value_ok(sy_str_t v) { return sy_http_value_span(v.p, 0, v.len, true) == v.len; }

#if defined(__SSE2__)
/* Bit k set when p[k] is a space, a control byte or DEL (16 bytes at p).
 * Signed compares: bytes >= 0x80 are negative and allowed. */
static inline unsigned target_bad16(const char *p)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i low = _mm_andnot_si128(_mm_cmplt_epi8(x, _mm_setzero_si128()),
                                   _mm_cmplt_epi8(x, _mm_set1_epi8(33)));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(low, _mm_cmpeq_epi8(x, _mm_set1_epi8(127))));
}
#endif

/* No byte <= 32 or DEL. A target of 16 bytes or more is tested 16 at a time,
 * its last partial step as the window of its last 16 bytes. */
static bool target_ok(sy_str_t t)
{
    if (t.len == 0)
        return false;
#if defined(__SSE2__)
    if (t.len >= 16) {
        size_t i = 0;
        for (; t.len - i >= 16; i += 16)
            if (target_bad16(t.p + i))
                return false;
        return i == t.len || target_bad16(t.p + t.len - 16) == 0;
    }
#endif
    for (size_t i = 0; i < t.len; i++) {
        unsigned char ch = (unsigned char)t.p[i];
        if (ch <= 32 || ch == 127)
            return false;
    }
    return true;
}

static inline char *put(char *w, const char *p, size_t n)
{
    sy_copy_short(w, p, n);
    return w + n;
}
#define PUT_LIT(w, lit) put((w), "" lit, sizeof(lit) - 1)

/* Serialise the request head (and a small body) into r->out. Returns a
 * static reason on invalid input, NULL when fine. Two passes, not printf nor
 * an append per piece (this runs once per upstream request): the first
 * checks the fields and sizes the head, the second copies it into room
 * reserved once. */
static const char *build_request(sy_http_creq_t *r, const sy_http_client_req_t *q)
{
    const char *method = q->method ? q->method : "GET";
    size_t mlen = strlen(method);
    if (!token_ok(method, mlen))
        return "invalid request method";
    r->is_head = mlen == 4 && memcmp(method, "HEAD", 4) == 0;
    if (!target_ok(q->target))
        return "invalid request target";
    size_t need = mlen + 1 + q->target.len + 17 + r->po->host_len + 2 + 2;
    for (size_t i = 0; i < q->nheaders; i++) {
        const sy_http_header_t *h = &q->headers[i];
        if (!token_ok(h->name.p, h->name.len) || !value_ok(h->value))
            return "invalid request header";
        need += h->name.len + 2 + h->value.len + 2;
    }
    bool needs_len = q->body.len > 0 || (mlen == 4 && memcmp(method, "POST", 4) == 0) ||
                     (mlen == 3 && memcmp(method, "PUT", 3) == 0) ||
                     (mlen == 5 && memcmp(method, "PATCH", 5) == 0);
    char num[24];
    size_t k = sizeof(num);
    if (needs_len) {
        size_t v = q->body.len;
        do {
            num[--k] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        need += 16 + (sizeof(num) - k) + 2;
    }
    bool inline_body = q->body.len && q->body.len <= CLIENT_BODY_INLINE_MAX;
    if (inline_body)
        need += q->body.len;
    sy_buf_t *o = &r->out;
    if (sy_buf_reserve(o, need) != SY_OK)
        return "request head too large";
    char *w0 = sy_buf_tail(o), *w = w0;
    w = put(w, method, mlen);
    *w++ = ' ';
    w = put(w, q->target.p, q->target.len);
    w = PUT_LIT(w, " HTTP/1.1\r\nHost: ");
    w = put(w, r->po->host_hdr, r->po->host_len);
    w = PUT_LIT(w, "\r\n");
    for (size_t i = 0; i < q->nheaders; i++) {
        const sy_http_header_t *h = &q->headers[i];
        w = put(w, h->name.p, h->name.len);
        w = PUT_LIT(w, ": ");
        w = put(w, h->value.p, h->value.len);
        w = PUT_LIT(w, "\r\n");
    }
    if (needs_len) {
        w = PUT_LIT(w, "Content-Length: ");
        /* memcpy, not put(): the length is at most sizeof(num), which gcc
         * cannot see through sy_copy_short's long branch (-Warray-bounds) */
        memcpy(w, num + k, sizeof(num) - k);
        w += sizeof(num) - k;
        w = PUT_LIT(w, "\r\n");
    }
    w = PUT_LIT(w, "\r\n");
    if (inline_body) {
        w = put(w, q->body.p, q->body.len);
        r->body = SY_STR_NULL;
    } else {
        r->body = q->body;
    }
    sy_buf_commit(o, (size_t)(w - w0));
    return NULL;
}

/* ---- establishing a connection ---- */

static void begin_send(sy_http_creq_t *r)
{
    r->state = R_SENDING;
    r->info.conn_ready = sy_loop_now_ns(r->client->loop);
    arm(r, T_SEND, r->to.idle_ms);
    do_write(r);
}

static void req_io_cb(sy_io_t *io, uint32_t events);

static void attach(sy_http_creq_t *r, sy_pool_conn_t *c)
{
    r->conn = c;
    c->io.cb = req_io_cb;
    c->io.data = r;
}

static void conn_ready(sy_http_creq_t *r)
{
    r->info.tls_resumed = sy_tls_session_reused(&r->conn->tr);
    begin_send(r);
}

static void tls_step(sy_http_creq_t *r)
{
    int rc = sy_transport_handshake(&r->conn->tr);
    if (rc == SY_OK) {
        conn_ready(r);
        return;
    }
    if (rc == SY_EAGAIN) {
        update_events(r);
        return;
    }
    char msg[MSG_MAX];
    snprintf(msg, sizeof(msg), "TLS with %s failed: %s", r->po->origin.host, r->conn->tr.err);
    fail(r, SY_HTTP_CLIENT_ETLS, msg);
}

static void start_tls_or_send(sy_http_creq_t *r)
{
    sy_pool_conn_t *c = r->conn;
    if (!r->po->origin.tls) {
        conn_ready(r);
        return;
    }
    if (sy_tls_attach(&c->tr, r->client->tls, r->po->origin.host, r->po->session) != SY_OK) {
        fail(r, SY_HTTP_CLIENT_ETLS, c->tr.err);
        return;
    }
    r->state = R_TLS;
    tls_step(r);
}

/* CONNECT host:port through the proxy; the response head is read into the
 * connection's buffer and must leave nothing behind. */
static void proxy_step(sy_http_creq_t *r)
{
    sy_pool_conn_t *c = r->conn;
    sy_buf_t *pb = &r->headbuf; /* not used for anything else before the response */
    char msg[MSG_MAX];
    while (!r->proxy_sent) {
        ssize_t n = sy_transport_write(&c->tr, sy_buf_ptr(pb) + r->proxy_off,
                                       pb->len - r->proxy_off);
        if (n == SY_EAGAIN) {
            update_events(r);
            return;
        }
        if (n < 0) {
            snprintf(msg, sizeof(msg), "proxy %s: %s", r->po->origin.proxy_host, c->tr.err);
            fail(r, SY_HTTP_CLIENT_EPROXY, msg);
            return;
        }
        r->proxy_off += (size_t)n;
        if (r->proxy_off == pb->len) {
            r->proxy_sent = true;
            sy_buf_clear(pb);
            update_events(r);
        }
    }
    for (;;) {
        if (sy_buf_reserve(&c->rbuf, 4096) != SY_OK) {
            fail(r, SY_HTTP_CLIENT_EPROXY, "proxy response head too large");
            return;
        }
        ssize_t n = sy_transport_read(&c->tr, sy_buf_tail(&c->rbuf), sy_buf_room(&c->rbuf));
        if (n == SY_EAGAIN)
            return;
        if (n <= 0) {
            snprintf(msg, sizeof(msg), "proxy %s closed the connection during CONNECT%s%s",
                     r->po->origin.proxy_host, n < 0 ? ": " : "", n < 0 ? c->tr.err : "");
            fail(r, SY_HTTP_CLIENT_EPROXY, msg);
            return;
        }
        sy_buf_commit(&c->rbuf, (size_t)n);
        sy_http_response_t resp;
        int rc = sy_http_parse_response(sy_buf_ptr(&c->rbuf), c->rbuf.len,
                                        &r->client->opt.head_limits, 0, r->headers,
                                        r->headers_cap, &resp);
        if (headers_grow(r, rc))
            rc = sy_http_parse_response(sy_buf_ptr(&c->rbuf), c->rbuf.len,
                                        &r->client->opt.head_limits, 0, r->headers,
                                        r->headers_cap, &resp);
        if (rc == SY_EAGAIN)
            continue;
        if (rc < 0) {
            snprintf(msg, sizeof(msg), "proxy %s sent a malformed response: %s",
                     r->po->origin.proxy_host, resp.error ? resp.error : "?");
            fail(r, SY_HTTP_CLIENT_EPROXY, msg);
            return;
        }
        if (resp.status < 200 || resp.status > 299) {
            snprintf(msg, sizeof(msg), "proxy %s refused CONNECT to %s:%u with status %d",
                     r->po->origin.proxy_host, r->po->origin.host, (unsigned)r->po->origin.port,
                     resp.status);
            fail(r, SY_HTTP_CLIENT_EPROXY, msg);
            return;
        }
        if ((size_t)rc != c->rbuf.len) {
            fail(r, SY_HTTP_CLIENT_EPROXY, "proxy sent bytes after its CONNECT response");
            return;
        }
        sy_buf_clear(&c->rbuf);
        start_tls_or_send(r);
        return;
    }
}

static void connected(sy_http_creq_t *r)
{
    const sy_http_origin_t *o = &r->po->origin;
    if (!o->proxy_host[0]) {
        start_tls_or_send(r);
        return;
    }
    char auth[SY_HTTP_HOST_MAX + 16];
    sy_http_origin_authority(o, true, auth, sizeof(auth));
    sy_buf_clear(&r->headbuf);
    r->headbuf.max = 0;
    sy_buf_printf(&r->headbuf, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", auth, auth);
    if (o->proxy_auth[0])
        sy_buf_printf(&r->headbuf, "Proxy-Authorization: %s\r\n", o->proxy_auth);
    sy_buf_append(&r->headbuf, "\r\n", 2);
    r->headbuf.max = r->client->opt.head_limits.max_header_bytes + 1;
    r->state = R_PROXY;
    r->proxy_sent = false;
    r->proxy_off = 0;
    proxy_step(r);
}

/* Try the addresses in order from addr_idx until a connect is under way. */
static void connect_next(sy_http_creq_t *r)
{
    sy_pool_conn_t *c = r->conn;
    uint16_t port = r->po->origin.proxy_host[0] ? r->po->origin.proxy_port : r->po->origin.port;
    while (r->addr_idx < r->addrs.n) {
        sy_sockaddr_t *a = &r->addrs.addr[r->addr_idx++];
        sy_sockaddr_set_port(a, port);
        char astr[80];
        sy_sockaddr_format(a, astr, sizeof(astr));
        int fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            snprintf(r->conn_err, sizeof(r->conn_err), "socket for %s: %s", astr,
                     strerror(errno));
            continue;
        }
        sy_net_set_nodelay(fd);
        int rc = connect(fd, &a->sa, sy_sockaddr_len(a));
        if (rc < 0 && errno != EINPROGRESS) {
            snprintf(r->conn_err, sizeof(r->conn_err), "connect to %s: %s", astr,
                     strerror(errno));
            close(fd);
            continue;
        }
        sy_transport_init_tcp(&c->tr, fd);
        if (sy_io_start(r->client->loop, &c->io, fd, rc == 0 ? 0 : SY_IO_WRITE, req_io_cb, r) !=
            SY_OK) {
            snprintf(r->conn_err, sizeof(r->conn_err), "cannot watch socket for %s", astr);
            sy_transport_close(&c->tr);
            continue;
        }
        r->state = R_CONNECTING;
        if (rc == 0)
            connected(r);
        return;
    }
    char msg[MSG_MAX];
    snprintf(msg, sizeof(msg), "cannot connect to %s: %s",
             r->po->origin.proxy_host[0] ? "the proxy" : r->po->origin.host, r->conn_err);
    fail(r, SY_HTTP_CLIENT_ECONNECT, msg);
}

static void connect_check(sy_http_creq_t *r)
{
    sy_pool_conn_t *c = r->conn;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->tr.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err == 0) {
        connected(r);
        return;
    }
    sy_sockaddr_t *a = &r->addrs.addr[r->addr_idx - 1];
    char astr[80];
    sy_sockaddr_format(a, astr, sizeof(astr));
    snprintf(r->conn_err, sizeof(r->conn_err), "connect to %s: %s", astr, strerror(err));
    sy_io_stop(&c->io);
    sy_transport_close(&c->tr);
    connect_next(r);
}

static void dns_cb(sy_dns_query_t *q, int status, const sy_dns_addrs_t *addrs, const char *err)
{
    sy_http_creq_t *r = q->data;
    if (status != SY_OK) {
        fail(r, SY_HTTP_CLIENT_EDNS, err);
        return;
    }
    r->addrs = *addrs;
    r->addr_idx = 0;
    connect_next(r);
}

static void begin_connect(sy_http_creq_t *r)
{
    const sy_http_origin_t *o = &r->po->origin;
    const char *host = o->proxy_host[0] ? o->proxy_host : o->host;
    r->state = R_RESOLVING;
    int rc = sy_dns_resolve(r->client->dns, host, &r->addrs, &r->dnsq, dns_cb, r);
    if (rc == SY_OK) {
        r->addr_idx = 0;
        connect_next(r);
    } else if (rc != SY_EAGAIN) {
        fail(r, SY_HTTP_CLIENT_EDNS, r->dnsq.err);
    }
}

static void waiter_wake_cb(sy_defer_t *d)
{
    sy_http_creq_t *r = d->data;
    if (!r->finished && r->state == R_WAIT_POOL)
        acquire(r, true);
}

static void acquire(sy_http_creq_t *r, bool woken)
{
    sy_pool_conn_t *c = r->fresh_only ? NULL : sy_pool_take_idle(r->po);
    if (c) {
        attach(r, c);
        r->info.reused = true;
        sy_timer_stop(&r->timer);
        begin_send(r);
        return;
    }
    c = sy_pool_conn_new(r->po);
    if (c) {
        attach(r, c);
        begin_connect(r);
        return;
    }
    r->state = R_WAIT_POOL;
    if (sy_pool_wait(r->po, &r->waiter, woken) != SY_OK) {
        char msg[MSG_MAX];
        snprintf(msg, sizeof(msg), "upstream pool exhausted for %s:%u (%zu connections, %zu waiting)",
                 r->po->origin.host, (unsigned)r->po->origin.port, r->po->nconns, r->po->nwait);
        fail(r, SY_HTTP_CLIENT_EPOOL, msg);
    }
}

/* ---- sending ---- */

/* The peer dropped a reused keep-alive connection before answering: the
 * request cannot have been processed, so it goes again, once, on a new
 * connection. */
static bool stale_retry(sy_http_creq_t *r)
{
    if (!r->info.reused || r->info.retried || r->got_byte)
        return false;
    close_conn(r);
    r->info.retried = true;
    r->info.reused = false;
    r->fresh_only = true;
    r->client->stats.stale_retries++;
    r->out_off = r->body_off = 0;
    r->sent = r->sent_any = r->send_abandoned = false;
    memset(&r->scan, 0, sizeof(r->scan));
    arm(r, T_CONNECT, r->to.connect_ms);
    r->state = R_QUEUED;
    acquire(r, true);
    return true;
}

static void conn_broken(sy_http_creq_t *r, ssize_t rc, const char *what)
{
    if ((rc == SY_ECLOSED || rc == 0) && stale_retry(r))
        return;
    char msg[MSG_MAX];
    if (rc == 0)
        snprintf(msg, sizeof(msg), "upstream closed the connection %s", what);
    else
        snprintf(msg, sizeof(msg), "upstream connection failed %s: %s", what,
                 r->conn->tr.err);
    fail(r, SY_HTTP_CLIENT_ERESET, msg);
}

static void do_write(sy_http_creq_t *r)
{
    sy_pool_conn_t *c = r->conn;
    bool progress = false;
    while (!r->sent && !r->send_abandoned) {
        const char *p;
        size_t n;
        if (r->out_off < r->out.len) {
            p = sy_buf_ptr(&r->out) + r->out_off;
            n = r->out.len - r->out_off;
        } else {
            p = r->body.p + r->body_off;
            n = r->body.len - r->body_off;
        }
        if (n == 0) {
            r->sent = true;
            r->info.sent = sy_loop_now_ns(r->client->loop);
            if (!r->got_byte && r->state == R_SENDING)
                arm(r, T_FIRST_BYTE, r->to.first_byte_ms);
            break;
        }
        ssize_t w = sy_transport_write(&c->tr, p, n);
        if (w == SY_EAGAIN)
            break;
        if (w < 0) {
            conn_broken(r, w, "while sending the request");
            return;
        }
        progress = true;
        r->sent_any = true;
        if (r->out_off < r->out.len)
            r->out_off += (size_t)w;
        else
            r->body_off += (size_t)w;
    }
    if (progress && !r->sent && !r->got_byte)
        arm(r, T_SEND, r->to.idle_ms);
    update_events(r);
}

/* ---- receiving ---- */

static void rebase(sy_str_t *s, const char *from, size_t n, const char *to)
{
    if (s->p >= from && s->p <= from + n)
        s->p = to + (s->p - from);
}

/* A complete head of n bytes is at the front of the read buffer: copy it
 * where it stays put until the request ends, and hand it to on_head. */
static void got_head(sy_http_creq_t *r, const sy_http_response_t *resp, size_t n)
{
    sy_pool_conn_t *c = r->conn;
    const char *from = sy_buf_ptr(&c->rbuf);
    sy_buf_clear(&r->headbuf);
    sy_buf_append(&r->headbuf, from, n); /* n <= max_header_bytes: fits */
    const char *to = sy_buf_ptr(&r->headbuf);
    r->head.status = resp->status;
    r->head.minor_version = resp->minor_version;
    r->head.reason = resp->reason;
    rebase(&r->head.reason, from, n, to);
    for (size_t i = 0; i < resp->nheaders; i++) {
        rebase(&r->headers[i].name, from, n, to);
        rebase(&r->headers[i].value, from, n, to);
    }
    r->head.headers = r->headers;
    r->head.nheaders = resp->nheaders;
    r->head.framing = resp->body;
    r->head.content_length = resp->content_length;
    r->head.keep_alive = resp->keep_alive;
    sy_buf_consume(&c->rbuf, n);
    r->info.head = sy_loop_now_ns(r->client->loop);
    if (!r->sent) {
        /* An early answer (413, 401...): stop sending; the connection is
         * not reusable with half a request on it. */
        r->send_abandoned = true;
    }
    if (resp->body == SY_HTTP_BODY_CHUNKED)
        sy_http_chunked_init(&r->chunked, 0, 0);
    r->remaining = resp->body == SY_HTTP_BODY_LENGTH ? (uint64_t)resp->content_length : 0;
    r->state = R_BODY;
    arm(r, T_IDLE, r->paused ? 0 : r->to.idle_ms);
    sy_http_client_body_cb cb = r->on_head(r, &r->head);
    if (r->finished)
        return;
    bool complete = resp->body == SY_HTTP_BODY_NONE ||
                    (resp->body == SY_HTTP_BODY_LENGTH && r->remaining == 0);
    if (!cb) {
        /* the caller wants no body: a complete response leaves the
         * connection clean, anything else closes it */
        if (complete)
            finish(r, false);
        else
            sy_http_client_cancel(r);
        return;
    }
    r->on_body = cb;
    if (complete) {
        finish_ok(r);
        return;
    }
    update_events(r);
}

/* Consume what the read buffer holds: a head, then body bytes, until the
 * buffer is empty, the request pauses or ends. */
static void process_input(sy_http_creq_t *r)
{
    while (!r->finished && !r->paused && r->conn) {
        sy_pool_conn_t *c = r->conn;
        sy_buf_t *b = &c->rbuf;
        if (b->len == 0)
            return;
        if (r->state == R_SENDING) {
            const sy_http_limits_t *lim = &r->client->opt.head_limits;
            if (!sy_http_head_ready(&r->scan, sy_buf_ptr(b), b->len, lim))
                return;
            sy_http_response_t resp;
            int rc = sy_http_parse_response(sy_buf_ptr(b), b->len, lim,
                                            r->is_head ? SY_HTTP_RESPONSE_TO_HEAD : 0, r->headers,
                                            r->headers_cap, &resp);
            if (headers_grow(r, rc))
                rc = sy_http_parse_response(sy_buf_ptr(b), b->len, lim,
                                            r->is_head ? SY_HTTP_RESPONSE_TO_HEAD : 0, r->headers,
                                            r->headers_cap, &resp);
            if (rc == SY_EAGAIN)
                return;
            if (rc < 0) {
                char msg[MSG_MAX];
                snprintf(msg, sizeof(msg), "bad response head from upstream: %s",
                         resp.error ? resp.error : "malformed");
                fail(r, SY_HTTP_CLIENT_EPROTOCOL, msg);
                return;
            }
            if (resp.status < 200) {
                if (resp.status == 101) {
                    fail(r, SY_HTTP_CLIENT_EPROTOCOL, "upstream switched protocols unasked");
                    return;
                }
                sy_buf_consume(b, (size_t)rc); /* interim 1xx: wait for the final head */
                memset(&r->scan, 0, sizeof(r->scan));
                continue;
            }
            got_head(r, &resp, (size_t)rc);
            continue;
        }
        if (r->state != R_BODY)
            return;
        const char *p = sy_buf_ptr(b);
        size_t n = b->len;
        switch (r->head.framing) {
        case SY_HTTP_BODY_LENGTH: {
            size_t take = (size_t)SY_MIN((uint64_t)n, r->remaining);
            r->remaining -= take;
            sy_buf_consume(b, take); /* the bytes stay in place until the next read */
            r->on_body(r, p, take);
            if (r->finished)
                return;
            if (r->remaining == 0) {
                finish_ok(r);
                return;
            }
            break;
        }
        case SY_HTTP_BODY_CHUNKED: {
            size_t used = 0;
            sy_str_t data = SY_STR_NULL;
            int rc = sy_http_chunked_next(&r->chunked, p, n, &used, &data);
            if (rc < 0 && rc != SY_EAGAIN) {
                char msg[MSG_MAX];
                snprintf(msg, sizeof(msg), "bad chunked body from upstream: %s",
                         r->chunked.error ? r->chunked.error : "malformed");
                fail(r, SY_HTTP_CLIENT_EPROTOCOL, msg);
                return;
            }
            sy_buf_consume(b, used);
            if (data.len) {
                r->on_body(r, data.p, data.len);
                if (r->finished)
                    return;
            }
            if (rc == SY_OK) {
                finish_ok(r);
                return;
            }
            break;
        }
        case SY_HTTP_BODY_CLOSE:
            sy_buf_consume(b, n);
            r->on_body(r, p, n);
            if (r->finished)
                return;
            break;
        default:
            return;
        }
    }
}

static void got_eof(sy_http_creq_t *r)
{
    if (r->state == R_BODY && r->head.framing == SY_HTTP_BODY_CLOSE) {
        r->head.keep_alive = false;
        finish_ok(r);
        return;
    }
    conn_broken(r, 0, r->got_byte ? "before the response ended" : "without responding");
}

static void kick_cb(sy_defer_t *d);

static void do_read(sy_http_creq_t *r)
{
    size_t budget = CLIENT_READ_BUDGET;
    while (!r->finished && !r->paused && r->conn) {
        sy_pool_conn_t *c = r->conn;
        if (c->rbuf.data == NULL)
            sy_pool_rbuf_take(c);
        if (sy_buf_reserve(&c->rbuf, CLIENT_READ_CHUNK) != SY_OK) {
            fail(r, SY_HTTP_CLIENT_EPROTOCOL, "upstream read buffer cap exceeded");
            return;
        }
        ssize_t n = sy_transport_read(&c->tr, sy_buf_tail(&c->rbuf), sy_buf_room(&c->rbuf));
        if (n == SY_EAGAIN) {
            /* Drained: a stream waits here between events, so its 16 KiB
             * goes back to the allocator (and to the next connection that
             * has bytes) instead of staying with every open stream. */
            if (c->rbuf.len == 0)
                sy_pool_rbuf_drop(c);
            update_events(r);
            return;
        }
        if (n == 0) {
            got_eof(r);
            return;
        }
        if (n < 0) {
            conn_broken(r, n, r->got_byte ? "mid-response" : "before responding");
            return;
        }
        sy_buf_commit(&c->rbuf, (size_t)n);
        if (!r->got_byte) {
            r->got_byte = true;
            r->info.first_byte = sy_loop_now_ns(r->client->loop);
        }
        if (r->sent || r->state == R_BODY)
            arm(r, T_IDLE, r->to.idle_ms);
        process_input(r);
        if ((size_t)n >= budget) {
            /* Yield to other connections; TLS may hold decrypted bytes that
             * epoll cannot signal, so come back before sleeping. */
            if (!r->finished && !r->paused && r->conn)
                sy_defer(r->client->loop, &r->kick);
            return;
        }
        budget -= (size_t)n;
    }
}

static void req_io_cb(sy_io_t *io, uint32_t events)
{
    sy_http_creq_t *r = io->data;
    SY_UNUSED(events);
    switch (r->state) {
    case R_CONNECTING:
        connect_check(r);
        break;
    case R_PROXY:
        proxy_step(r);
        break;
    case R_TLS:
        tls_step(r);
        break;
    case R_SENDING:
    case R_BODY: {
        sy_pool_conn_t *c = r->conn;
        if (!r->sent && !r->send_abandoned)
            do_write(r);
        /* a stale retry may have moved the request to a new connection */
        if (!r->finished && !r->paused && r->conn == c)
            do_read(r);
        break;
    }
    default:
        break;
    }
}

static void kick_cb(sy_defer_t *d)
{
    sy_http_creq_t *r = d->data;
    if (r->finished)
        return;
    switch (r->state) {
    case R_QUEUED:
        acquire(r, false);
        break;
    case R_SENDING:
    case R_BODY: {
        sy_pool_conn_t *c = r->conn;
        process_input(r);
        if (!r->finished && !r->paused && r->conn == c && c)
            do_read(r);
        break;
    }
    default:
        break;
    }
}

/* ---- public API ---- */

static void invalid_cb(sy_defer_t *d)
{
    sy_http_creq_t *r = d->data;
    fail(r, SY_HTTP_CLIENT_EREQUEST, r->conn_err);
}

sy_http_creq_t *sy_http_client_start(sy_http_client_t *c, const sy_http_client_req_t *q)
{
    if (!q->origin || !q->on_head || !q->on_done || !q->on_error)
        sy_panic("sy_http_client_start: origin and callbacks are required");
    sy_http_creq_t *r = creq_alloc(c);
    r->po = sy_pool_origin(c->pool, q->origin);
    r->on_head = q->on_head;
    r->on_done = q->on_done;
    r->on_error = q->on_error;
    r->data = q->data;
    r->to = q->timeouts;
    const sy_http_client_timeouts_t *d = &c->opt.timeouts;
    if (!r->to.connect_ms)
        r->to.connect_ms = d->connect_ms;
    if (!r->to.first_byte_ms)
        r->to.first_byte_ms = d->first_byte_ms;
    if (!r->to.idle_ms)
        r->to.idle_ms = d->idle_ms;
    if (!r->to.total_ms)
        r->to.total_ms = d->total_ms;
    r->info.start = sy_loop_now_ns(c->loop);
    sy_timer_init(&r->timer, c->loop, timer_cb, r);
    sy_timer_init(&r->total_timer, c->loop, total_timer_cb, r);
    sy_defer_init(&r->kick, kick_cb, r);
    sy_defer_init(&r->waiter.wake, waiter_wake_cb, r);
    r->state = R_QUEUED;
    r->next = c->live;
    if (c->live)
        c->live->prev = r;
    c->live = r;
    c->stats.requests++;
    const char *bad = build_request(r, q);
    if (bad) {
        snprintf(r->conn_err, sizeof(r->conn_err), "%s", bad);
        r->kick.cb = invalid_cb;
    } else {
        arm(r, T_CONNECT, r->to.connect_ms);
        if (r->to.total_ms)
            sy_timer_start(&r->total_timer, r->to.total_ms);
    }
    sy_defer(c->loop, &r->kick);
    return r;
}

void sy_http_client_cancel(sy_http_creq_t *r)
{
    if (r->finished)
        return;
    sy_pool_conn_t *c = r->conn;
    r->conn = NULL;
    if (c) {
        /* Clean: established and nothing written yet. Anything else leaves
         * the connection mid-message, so it is closed (the upstream sees the
         * close and can stop generating). */
        bool clean = r->state == R_SENDING && !r->sent_any && c->rbuf.len == 0;
        if (clean)
            sy_pool_release(c, true);
        else
            sy_pool_close(c);
    }
    r->client->stats.cancelled++;
    retire(r);
}

void sy_http_client_pause(sy_http_creq_t *r)
{
    if (r->finished || r->paused)
        return;
    r->paused = true;
    if (r->tkind == T_IDLE)
        arm(r, T_NONE, 0);
    if (r->state == R_SENDING || r->state == R_BODY)
        update_events(r);
}

void sy_http_client_resume(sy_http_creq_t *r)
{
    if (r->finished || !r->paused)
        return;
    r->paused = false;
    if (r->state == R_BODY || (r->state == R_SENDING && r->got_byte))
        arm(r, T_IDLE, r->to.idle_ms);
    if (r->state == R_SENDING || r->state == R_BODY) {
        update_events(r);
        /* bytes already buffered (ours or TLS's) raise no readiness event */
        sy_defer(r->client->loop, &r->kick);
    }
}

void *sy_http_creq_data(const sy_http_creq_t *r) { return r->data; }
const sy_http_creq_info_t *sy_http_creq_info(const sy_http_creq_t *r) { return &r->info; }

sy_http_client_stats_t sy_http_client_stats(const sy_http_client_t *c)
{
    sy_http_client_stats_t s = c->stats;
    s.pool = sy_pool_stats(c->pool);
    s.dns = sy_dns_stats(c->dns);
    return s;
}

sy_http_client_t *sy_http_client_new(sy_loop_t *loop, const sy_http_client_options_t *opt,
                                     char *err, size_t errsz)
{
    sy_http_client_t *c = sy_calloc(1, sizeof(*c));
    c->loop = loop;
    if (opt)
        c->opt = *opt;
    else
        sy_http_client_options_default(&c->opt);
    sy_http_limits_t dl = SY_HTTP_LIMITS_INIT;
    if (!c->opt.head_limits.max_header_bytes)
        c->opt.head_limits.max_header_bytes = dl.max_header_bytes;
    if (!c->opt.head_limits.max_headers)
        c->opt.head_limits.max_headers = dl.max_headers;
    if (!c->opt.head_limits.max_request_line)
        c->opt.head_limits.max_request_line = dl.max_request_line;
    /* OpenSSL writes with write(2): a peer reset must be EPIPE, not a
     * signal. The runtime blocks SIGPIPE in workers; a process that left it
     * at its default (tests, tools) gets it ignored here. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    c->tls = sy_tls_ctx_new(&c->opt.tls, err, errsz);
    if (c->tls)
        c->dns = sy_dns_new(loop, &c->opt.dns, err, errsz);
    if (!c->tls || !c->dns) {
        sy_tls_ctx_free(c->tls);
        free(c);
        return NULL;
    }
    c->pool = sy_pool_new(loop, &c->opt.pool);
    sy_defer_init(&c->reap, reap_cb, c);
    return c;
}

void sy_http_client_free(sy_http_client_t *c)
{
    if (!c)
        return;
    while (c->live)
        sy_http_client_cancel(c->live);
    sy_defer_cancel(c->loop, &c->reap);
    reap_cb(&c->reap);
    while (c->free_list) {
        sy_http_creq_t *r = c->free_list;
        c->free_list = r->next;
        sy_buf_free(&r->out);
        sy_buf_free(&r->headbuf);
        headers_free(r);
        free(r);
    }
    sy_pool_free(c->pool);
    sy_dns_free(c->dns);
    sy_tls_ctx_free(c->tls);
    free(c);
}
