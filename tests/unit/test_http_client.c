/* Tests for the upstream HTTP client: URL and origin parsing, pool
 * bookkeeping, and the client end to end against servers in this process
 * (src/http/server.h, and a raw scripted server for response shapes the
 * real server never produces), a TLS server and a CONNECT proxy in Python
 * (tests/unit/http_client_peer.py). Everything talks to 127.0.0.1 or ::1;
 * DNS goes to a closed local port, so no query leaves the machine. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "core/buf.h"
#include "core/loop.h"
#include "core/time.h"
#include "http/client.h"
#include "http/net.h"
#include "http/server.h"

static sy_loop_t *loop;

/* ---- URL and origin parsing (pure) ---- */

static void test_url_parse(void)
{
    sy_http_url_t u;
    const char *err = NULL;
    CHECK_INT(sy_http_url_parse(SY_STR("https://api.openai.com/v1"), &u, &err), SY_OK);
    CHECK(u.tls);
    CHECK_STR(u.host, "api.openai.com");
    CHECK_INT(u.port, 443);
    CHECK_STR(u.path, "/v1");
    CHECK_INT(sy_http_url_parse(SY_STR("http://127.0.0.1:9000"), &u, &err), SY_OK);
    CHECK(!u.tls);
    CHECK_STR(u.host, "127.0.0.1");
    CHECK_INT(u.port, 9000);
    CHECK_INT(u.path.len, 0);
    CHECK_INT(sy_http_url_parse(SY_STR("http://[::1]:8080/a/b/"), &u, &err), SY_OK);
    CHECK_STR(u.host, "::1");
    CHECK_INT(u.port, 8080);
    CHECK_STR(u.path, "/a/b/");
    CHECK_INT(sy_http_url_parse(SY_STR("http://h"), &u, &err), SY_OK);
    CHECK_INT(u.port, 80);
    const char *bad[] = {"ftp://x",        "https://",       "http://:80",     "http://h:0",
                         "http://h:65536", "http://h:1x",    "http://u@h/",    "http://h/?q=1",
                         "http://[::1",    "http://[zz]:1/", "http://h o/",    "http://h#f",
                         "api.openai.com", "http://[::1]x"};
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        err = NULL;
        int rc = sy_http_url_parse(sy_str_c(bad[i]), &u, &err);
        if (rc != SY_EINVAL || !err)
            fprintf(stderr, "  accepted bad URL %s\n", bad[i]);
        CHECK(rc == SY_EINVAL && err);
    }
}

static void test_origin(void)
{
    sy_http_origin_t o;
    const char *err;
    sy_str_t path;
    CHECK_INT(sy_http_origin_from_url(&o, SY_STR("https://API.Anthropic.com"), &path, &err), SY_OK);
    CHECK(strcmp(o.host, "api.anthropic.com") == 0);
    CHECK(strcmp(o.sni, "api.anthropic.com") == 0);
    char buf[SY_POOL_KEY_MAX];
    sy_http_origin_authority(&o, false, buf, sizeof(buf));
    CHECK(strcmp(buf, "api.anthropic.com") == 0);
    sy_http_origin_authority(&o, true, buf, sizeof(buf));
    CHECK(strcmp(buf, "api.anthropic.com:443") == 0);
    char k1[SY_POOL_KEY_MAX], k2[SY_POOL_KEY_MAX];
    sy_http_origin_key(&o, k1, sizeof(k1));
    /* same origin spelled differently: same key; through a proxy: another */
    sy_http_origin_t o2;
    CHECK_INT(sy_http_origin_from_url(&o2, SY_STR("https://api.anthropic.com:443/v1"), NULL, &err),
              SY_OK);
    sy_http_origin_key(&o2, k2, sizeof(k2));
    CHECK(strcmp(k1, k2) == 0);
    CHECK_INT(sy_http_origin_set_proxy(&o2, SY_STR("http://127.0.0.1:3128"), "Basic eA==", &err),
              SY_OK);
    sy_http_origin_key(&o2, k2, sizeof(k2));
    CHECK(strcmp(k1, k2) != 0);
    CHECK(strstr(k2, "eA==") == NULL); /* credentials never appear in the key */
    CHECK_INT(sy_http_origin_set_proxy(&o2, SY_STR("https://p:1"), NULL, &err), SY_EINVAL);
    CHECK_INT(sy_http_origin_set_proxy(&o2, SY_STR("http://p:1"), "a\r\nb", &err), SY_EINVAL);
    /* IP literals: no SNI, bracketed authority */
    CHECK_INT(sy_http_origin_from_url(&o, SY_STR("http://[::1]:81"), NULL, &err), SY_OK);
    CHECK(o.sni[0] == 0);
    sy_http_origin_authority(&o, false, buf, sizeof(buf));
    CHECK(strcmp(buf, "[::1]:81") == 0);
    CHECK(sy_http_is_ip_literal("10.0.0.1") && sy_http_is_ip_literal("fe80::1") &&
          !sy_http_is_ip_literal("localhost"));
}

/* ---- pool bookkeeping (socketpairs stand in for upstream connections) ---- */

static sy_pool_conn_t *fake_conn(sy_pool_origin_t *po, int *peer)
{
    sy_pool_conn_t *c = sy_pool_conn_new(po);
    if (!c)
        return NULL;
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    sy_transport_init_tcp(&c->tr, sv[0]);
    sy_io_start(loop, &c->io, sv[0], 0, NULL, NULL);
    *peer = sv[1];
    return c;
}

static int woken;
static void wake_cb(sy_defer_t *d)
{
    SY_UNUSED(d);
    woken++;
}

static void stop_cb(sy_timer_t *t) { sy_loop_stop(t->loop); }

static void run_for(uint64_t ms)
{
    sy_timer_t t;
    sy_loop_update_time(loop); /* the cached clock is as old as the last turn */
    sy_timer_init(&t, loop, stop_cb, NULL);
    sy_timer_start(&t, ms);
    sy_loop_run(loop);
    sy_timer_stop(&t);
}

static void test_pool_bookkeeping(void)
{
    sy_pool_options_t po_opt = {.max_idle_per_origin = 2, .max_conns_per_origin = 3,
                                .max_waiters_per_origin = 1, .idle_timeout_ms = 100};
    sy_pool_t *p = sy_pool_new(loop, &po_opt);
    sy_http_origin_t o;
    const char *err;
    sy_http_origin_from_url(&o, SY_STR("http://127.0.0.1:1"), NULL, &err);
    sy_pool_origin_t *po = sy_pool_origin(p, &o);
    CHECK(po == sy_pool_origin(p, &o));
    int peers[3];
    sy_pool_conn_t *a = fake_conn(po, &peers[0]);
    sy_pool_conn_t *b = fake_conn(po, &peers[1]);
    sy_pool_conn_t *c = fake_conn(po, &peers[2]);
    int dummy;
    CHECK(a && b && c);
    CHECK(fake_conn(po, &dummy) == NULL); /* at max_conns */
    CHECK_INT(po->nconns, 3);
    /* the wait queue holds one */
    sy_pool_waiter_t w1, w2;
    memset(&w1, 0, sizeof(w1));
    memset(&w2, 0, sizeof(w2));
    sy_defer_init(&w1.wake, wake_cb, NULL);
    sy_defer_init(&w2.wake, wake_cb, NULL);
    CHECK_INT(sy_pool_wait(po, &w1, false), SY_OK);
    CHECK_INT(sy_pool_wait(po, &w2, false), SY_ETOOBIG);
    woken = 0;
    /* release: two go idle, the third is over max_idle and closes */
    sy_pool_release(a, true);
    sy_pool_release(b, true);
    sy_pool_release(c, true);
    CHECK_INT(po->nidle, 2);
    CHECK_INT(po->nconns, 2);
    sy_loop_run_deferred(loop);
    CHECK_INT(woken, 1); /* the waiter was woken once (queue now empty) */
    CHECK_INT(po->nwait, 0);
    /* most recently used first */
    CHECK(sy_pool_take_idle(po) == b);
    CHECK_INT(po->nidle, 1);
    sy_pool_release(b, false); /* not reusable: closed */
    CHECK_INT(po->nconns, 1);
    /* the peer closing an idle connection discards it */
    close(peers[0]);
    run_for(30);
    CHECK_INT(po->nidle, 0);
    CHECK_INT(po->nconns, 0);
    CHECK_INT(sy_pool_stats(p).idle_closed_by_peer, 1);
    /* idle timeout */
    sy_pool_conn_t *d = fake_conn(po, &peers[0]);
    sy_pool_release(d, true);
    CHECK_INT(po->nidle, 1);
    run_for(200);
    CHECK_INT(po->nidle, 0);
    CHECK_INT(sy_pool_stats(p).idle_timed_out, 1);
    /* a connection with unread bytes is never pooled */
    sy_pool_conn_t *e = fake_conn(po, &dummy);
    sy_buf_append(&e->rbuf, "x", 1);
    sy_pool_release(e, true);
    CHECK_INT(po->nidle, 0);
    close(dummy);
    /* a drained read buffer is kept as the one spare and taken by the next
     * connection that reads; one too large, or a second, is freed */
    int fpeer, gpeer;
    sy_pool_conn_t *f = fake_conn(po, &fpeer);
    sy_pool_conn_t *g = fake_conn(po, &gpeer);
    CHECK(f && g);
    sy_buf_append(&f->rbuf, "abc", 3);
    sy_buf_consume(&f->rbuf, 3);
    char *kept = f->rbuf.data;
    sy_pool_rbuf_drop(f);
    CHECK(f->rbuf.data == NULL && f->rbuf.cap == 0 && f->rbuf.off == 0 && f->rbuf.len == 0);
    sy_buf_append(&g->rbuf, "x", 1);
    sy_buf_consume(&g->rbuf, 1);
    sy_pool_rbuf_drop(g); /* the spare is taken: freed */
    CHECK(g->rbuf.data == NULL && g->rbuf.cap == 0);
    sy_pool_rbuf_take(g);
    CHECK(g->rbuf.data == kept && g->rbuf.len == 0 && g->rbuf.off == 0);
    sy_pool_rbuf_take(f); /* none left */
    CHECK(f->rbuf.data == NULL);
    CHECK_INT(sy_buf_append(&g->rbuf, "hello", 5), SY_OK);
    CHECK_MEM(sy_buf_ptr(&g->rbuf), g->rbuf.len, "hello");
    sy_buf_reserve(&f->rbuf, 128 * 1024); /* over the spare limit */
    sy_pool_rbuf_drop(f);
    CHECK(f->rbuf.data == NULL);
    sy_pool_rbuf_take(f);
    CHECK(f->rbuf.data == NULL);
    sy_buf_consume(&g->rbuf, 5);
    sy_pool_release(g, true); /* idle: its buffer is the spare again */
    CHECK(g->rbuf.data == NULL);
    sy_pool_release(f, false);
    close(fpeer);
    close(gpeer);
    for (int i = 0; i < 3; i++)
        close(peers[i]);
    sy_pool_free(p); /* frees the spare */
}

/* ---- the test servers ---- */

/* The in-process sy_http_server: /hello, /echo (body length), /stream
 * (chunked, three writes). Counts connections by requests with seq 0. */
static int srv_conns, srv_reqs;
static size_t srv_last_body;
static char srv_last_hdr[64];

static void srv_handler(sy_http_req_t *req, void *ctx)
{
    SY_UNUSED(ctx);
    srv_reqs++;
    if (req->seq == 0)
        srv_conns++;
    const sy_http_header_t *h = sy_http_header_find(req->head.headers, req->head.nheaders, "x-test");
    snprintf(srv_last_hdr, sizeof(srv_last_hdr), "%.*s", h ? (int)h->value.len : 0,
             h ? h->value.p : "");
    if (sy_str_eq_c(req->head.path, "/echo")) {
        srv_last_body = req->body.len;
        char b[64];
        int n = snprintf(b, sizeof(b), "got %zu", req->body.len);
        sy_http_respond(req, 200, "text/plain", b, (size_t)n);
    } else if (sy_str_eq_c(req->head.path, "/stream")) {
        sy_http_stream_begin(req, 200, "text/event-stream");
        sy_http_stream_write(req, "one ", 4);
        sy_http_stream_write(req, "two ", 4);
        sy_http_stream_write(req, "three", 5);
        sy_http_stream_end(req);
    } else {
        sy_http_respond(req, 200, "text/plain", "hello", 5);
    }
}

/* The raw server: answers by path with exact bytes. Per connection it
 * counts requests, so "/stale" can answer the first request on a
 * connection and drop the connection at the second (a keep-alive closed by
 * the peer just as the client reused it). */
typedef struct raw_conn {
    int fd;
    sy_io_t io;
    sy_timer_t timer;
    sy_buf_t in;
    int nreq;
    int mode; /* 1 slowbody: a chunk per tick; 2 idle-close: close after a delay */
    int ticks;
    bool closed;
    struct raw_conn *next;
} raw_conn_t;

static int raw_fd, raw_port, raw_accepts, raw_peer_closed;
static sy_io_t raw_io;
static raw_conn_t *raw_conns;

static void raw_close(raw_conn_t *c)
{
    if (c->closed)
        return;
    c->closed = true;
    sy_io_stop(&c->io);
    sy_timer_stop(&c->timer);
    close(c->fd);
}

static void raw_send(raw_conn_t *c, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}
#define RAW_SEND(c, lit) raw_send(c, lit, sizeof(lit) - 1)

/* The last request the raw server read, head and body, as sent. */
static char raw_last[1024];
static size_t raw_last_len;

static void raw_tick(sy_timer_t *t)
{
    raw_conn_t *c = t->data;
    if (c->mode == 1) {
        if (send(c->fd, "6\r\nchunk \r\n", 11, MSG_NOSIGNAL) < 0) {
            raw_close(c);
            return;
        }
        sy_timer_start(&c->timer, 20);
    } else if (c->mode == 2) {
        raw_close(c);
    }
}

static void raw_request(raw_conn_t *c, sy_str_t path, int64_t clen)
{
    c->nreq++;
    if (sy_str_eq_c(path, "/echo")) {
        char b[128];
        int n = snprintf(b, sizeof(b), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\ngot %lld",
                         snprintf(NULL, 0, "got %lld", (long long)clen), (long long)clen);
        raw_send(c, b, (size_t)n);
    } else if (sy_str_eq_c(path, "/cl")) {
        RAW_SEND(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    } else if (sy_str_eq_c(path, "/chunked")) {
        /* split inside a chunk-size line and inside data, with an extension and a trailer */
        RAW_SEND(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhel");
        usleep(2000);
        RAW_SEND(c, "lo\r\n");
        usleep(2000);
        RAW_SEND(c, "6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
    } else if (sy_str_eq_c(path, "/close")) {
        RAW_SEND(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
        raw_close(c);
    } else if (sy_str_eq_c(path, "/http10")) {
        RAW_SEND(c, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
    } else if (sy_str_eq_c(path, "/connclose")) {
        RAW_SEND(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
    } else if (sy_str_eq_c(path, "/continue")) {
        RAW_SEND(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n");
    } else if (sy_str_eq_c(path, "/manyheaders")) {
        /* more fields than the client's inline slots: they grow to the cap */
        char b[4096];
        size_t n = (size_t)snprintf(b, sizeof(b), "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n");
        for (int i = 0; i < 60; i++)
            n += (size_t)snprintf(b + n, sizeof(b) - n, "X-Field-%d: v%d\r\n", i, i);
        n += (size_t)snprintf(b + n, sizeof(b) - n, "X-A: last\r\n\r\nmany");
        raw_send(c, b, n);
    } else if (sy_str_eq_c(path, "/extra")) {
        RAW_SEND(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK");
    } else if (sy_str_eq_c(path, "/bad")) {
        RAW_SEND(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n");
    } else if (sy_str_eq_c(path, "/silent")) {
        /* accept and never answer */
    } else if (sy_str_eq_c(path, "/stall")) {
        RAW_SEND(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
    } else if (sy_str_eq_c(path, "/slowbody")) {
        RAW_SEND(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        c->mode = 1;
        sy_timer_start(&c->timer, 1);
    } else if (sy_str_eq_c(path, "/big")) {
        static char big[1 << 20];
        memset(big, 'b', sizeof(big));
        RAW_SEND(c, "HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n");
        /* blocking send: the test's client drains it from the same thread
         * only when this returns, so send in a non-blocking loop instead */
        sy_buf_t *pend = &c->in; /* reuse: requests are done being parsed */
        sy_buf_clear(pend);
        pend->max = 0;
        sy_buf_append(pend, big, sizeof(big));
        c->mode = 3;
    } else if (sy_str_eq_c(path, "/stale")) {
        if (c->nreq == 1)
            RAW_SEND(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
        else
            raw_close(c); /* read the request, answer nothing */
    } else if (sy_str_eq_c(path, "/idleclose")) {
        RAW_SEND(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        c->mode = 2;
        sy_timer_start(&c->timer, 30);
    } else {
        RAW_SEND(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    }
}

static void raw_io_cb(sy_io_t *io, uint32_t events)
{
    raw_conn_t *c = io->data;
    if (c->mode == 3) { /* pushing /big without blocking */
        if (events & SY_IO_WRITE) {
            ssize_t w = send(c->fd, sy_buf_ptr(&c->in), c->in.len, MSG_NOSIGNAL);
            if (w > 0)
                sy_buf_consume(&c->in, (size_t)w);
            if (c->in.len == 0) {
                c->mode = 0;
                sy_io_set(&c->io, SY_IO_READ);
            }
            return;
        }
    }
    char b[4096];
    ssize_t n = recv(c->fd, b, sizeof(b), 0);
    if (n <= 0) {
        if (n == 0 || errno != EAGAIN) {
            raw_peer_closed++;
            raw_close(c);
        }
        return;
    }
    sy_buf_append(&c->in, b, (size_t)n);
    for (;;) {
        sy_http_header_t hs[32];
        sy_http_request_t rq;
        int rc = sy_http_parse_request(sy_buf_ptr(&c->in), c->in.len, NULL, hs, 32, &rq);
        if (rc <= 0)
            return;
        size_t clen = rq.content_length > 0 ? (size_t)rq.content_length : 0;
        if (c->in.len < (size_t)rc + clen)
            return;
        char path[64];
        snprintf(path, sizeof(path), "%.*s", SY_STR_FMT(rq.path));
        raw_last_len = SY_MIN((size_t)rc + clen, sizeof(raw_last) - 1);
        memcpy(raw_last, sy_buf_ptr(&c->in), raw_last_len);
        raw_last[raw_last_len] = 0;
        sy_buf_consume(&c->in, (size_t)rc + clen);
        raw_request(c, sy_str_c(path), rq.content_length);
        if (c->closed)
            return;
        if (c->mode == 3) {
            sy_io_set(&c->io, SY_IO_READ | SY_IO_WRITE);
            return;
        }
    }
}

static void raw_accept_cb(sy_io_t *io, uint32_t events)
{
    SY_UNUSED(io);
    SY_UNUSED(events);
    int fd = accept4(raw_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    raw_accepts++;
    raw_conn_t *c = sy_calloc(1, sizeof(*c));
    c->fd = fd;
    sy_buf_init(&c->in, 4 << 20);
    sy_timer_init(&c->timer, loop, raw_tick, c);
    c->next = raw_conns;
    raw_conns = c;
    sy_io_start(loop, &c->io, fd, SY_IO_READ, raw_io_cb, c);
}

static void raw_start(void)
{
    char err[128];
    raw_fd = sy_net_listen("127.0.0.1", 0, false, 64, err, sizeof(err));
    raw_port = sy_net_local_port(raw_fd);
    sy_io_start(loop, &raw_io, raw_fd, SY_IO_READ, raw_accept_cb, NULL);
}

static void raw_stop(void)
{
    sy_io_stop(&raw_io);
    close(raw_fd);
    while (raw_conns) {
        raw_conn_t *c = raw_conns;
        raw_conns = c->next;
        raw_close(c);
        sy_buf_free(&c->in);
        free(c);
    }
}

/* ---- driving requests ---- */

typedef struct {
    int status;
    sy_http_body_t framing;
    bool done, failed;
    sy_http_client_err_t code;
    char msg[600];
    char hdr_xa[16];
    sy_buf_t body;
    int body_calls;
    /* behaviours */
    size_t cancel_after;   /* cancel once this many body bytes arrived (0: never) */
    uint64_t pause_ms;     /* pause for this long after the first body run */
    bool paused_once;
    int calls_while_paused;
    bool is_paused;
    sy_timer_t pause_timer;
    sy_http_creq_t *req;
    bool cancelled;
    bool stop_on_head; /* on_head returns NULL */
    sy_http_creq_info_t info; /* copied at the end: the handle dies with the request */
} result_t;

static int pending;
static sy_http_client_t *client;

static void finish_one(void)
{
    if (--pending <= 0)
        sy_loop_stop(loop);
}

static void on_body(sy_http_creq_t *r, const char *data, size_t len)
{
    result_t *res = sy_http_creq_data(r);
    res->body_calls++;
    if (res->is_paused)
        res->calls_while_paused++;
    sy_buf_append(&res->body, data, len);
    if (res->cancel_after && res->body.len >= res->cancel_after) {
        sy_http_client_cancel(r);
        res->cancelled = true;
        finish_one();
        return;
    }
    if (res->pause_ms && !res->paused_once) {
        res->paused_once = true;
        res->is_paused = true;
        sy_http_client_pause(r);
        sy_timer_start(&res->pause_timer, res->pause_ms);
    }
}

static void resume_cb(sy_timer_t *t)
{
    result_t *res = t->data;
    res->is_paused = false;
    sy_http_client_resume(res->req);
}

static sy_http_client_body_cb on_head(sy_http_creq_t *r, const sy_http_client_head_t *h)
{
    result_t *res = sy_http_creq_data(r);
    res->status = h->status;
    res->framing = h->framing;
    const sy_http_header_t *xa = sy_http_header_find(h->headers, h->nheaders, "x-a");
    if (xa)
        snprintf(res->hdr_xa, sizeof(res->hdr_xa), "%.*s", SY_STR_FMT(xa->value));
    if (res->stop_on_head) {
        res->cancelled = true;
        finish_one();
        return NULL;
    }
    return on_body;
}

static void on_done(sy_http_creq_t *r)
{
    result_t *res = sy_http_creq_data(r);
    res->done = true;
    res->info = *sy_http_creq_info(r);
    finish_one();
}

static void on_error(sy_http_creq_t *r, const sy_http_client_error_t *e)
{
    result_t *res = sy_http_creq_data(r);
    res->failed = true;
    res->info = *sy_http_creq_info(r);
    res->code = e->code;
    snprintf(res->msg, sizeof(res->msg), "%s", e->message);
    finish_one();
}

static void res_init(result_t *res)
{
    memset(res, 0, sizeof(*res));
    sy_buf_init(&res->body, 0);
    sy_timer_init(&res->pause_timer, loop, resume_cb, res);
}

static void res_free(result_t *res)
{
    sy_timer_stop(&res->pause_timer);
    sy_buf_free(&res->body);
}

static sy_http_creq_t *start_on(sy_http_client_t *c, const char *base, const char *method,
                                const char *path, sy_str_t body, result_t *res,
                                const sy_http_client_timeouts_t *to)
{
    static sy_http_origin_t o;
    const char *err;
    if (sy_http_origin_from_url(&o, sy_str_c(base), NULL, &err) != SY_OK)
        sy_panic("bad test URL %s", base);
    sy_http_header_t hs[1] = {{SY_STR("X-Test"), SY_STR("yes")}};
    sy_http_client_req_t q = {
        .origin = &o, .method = method, .target = sy_str_c(path), .headers = hs, .nheaders = 1,
        .body = body, .on_head = on_head, .on_done = on_done, .on_error = on_error, .data = res,
    };
    if (to)
        q.timeouts = *to;
    pending++;
    res->req = sy_http_client_start(c, &q);
    return res->req;
}

/* Run the loop until every started request ended, at most max_ms. */
static void wait_all(uint64_t max_ms)
{
    if (pending > 0)
        run_for(max_ms);
    pending = 0;
}

static char raw_base[64], srv_base[64];
static int dns_dead_port;

static sy_http_client_t *new_client(const sy_http_client_options_t *extra)
{
    sy_http_client_options_t o;
    if (extra)
        o = *extra;
    else
        sy_http_client_options_default(&o);
    char servers[64];
    snprintf(servers, sizeof(servers), "127.0.0.1:%d", dns_dead_port);
    o.dns.servers = servers;
    o.dns.timeout_ms = 300;
    o.dns.tries = 1;
    char err[256];
    sy_http_client_t *c = sy_http_client_new(loop, &o, err, sizeof(err));
    if (!c)
        fprintf(stderr, "  client: %s\n", err);
    return c;
}

/* ---- client tests ---- */

static void test_keepalive_reuse(void)
{
    int conns0 = srv_conns;
    result_t res[5];
    for (int i = 0; i < 5; i++) {
        res_init(&res[i]);
        start_on(client, srv_base, "GET", "/hello", SY_STR_NULL, &res[i], NULL);
        wait_all(2000); /* one at a time: each reuses the previous connection */
        CHECK(res[i].done);
        CHECK_INT(res[i].status, 200);
        CHECK_MEM(sy_buf_ptr(&res[i].body), res[i].body.len, "hello");
    }
    CHECK_INT(srv_conns - conns0, 1);
    CHECK(strcmp(srv_last_hdr, "yes") == 0);
    for (int i = 0; i < 5; i++)
        res_free(&res[i]);
    /* concurrent requests are never pipelined: each gets its own connection */
    conns0 = srv_conns;
    result_t cc[3];
    for (int i = 0; i < 3; i++) {
        res_init(&cc[i]);
        start_on(client, srv_base, "GET", "/hello", SY_STR_NULL, &cc[i], NULL);
    }
    wait_all(2000);
    for (int i = 0; i < 3; i++) {
        CHECK(cc[i].done);
        res_free(&cc[i]);
    }
    CHECK_INT(srv_conns - conns0, 2); /* one was pooled already, two more opened */
}

static void test_post_bodies(void)
{
    static char big[200000];
    memset(big, 'p', sizeof(big));
    result_t a, b;
    res_init(&a);
    res_init(&b);
    start_on(client, srv_base, "POST", "/echo", SY_STR("{\"x\":1}"), &a, NULL);
    wait_all(2000);
    CHECK(a.done);
    CHECK_MEM(sy_buf_ptr(&a.body), a.body.len, "got 7");
    /* a body past the inline limit goes out from the caller's memory */
    start_on(client, raw_base, "POST", "/echo", sy_str(big, sizeof(big)), &b, NULL);
    wait_all(2000);
    CHECK(b.done);
    CHECK_MEM(sy_buf_ptr(&b.body), b.body.len, "got 200000");
    res_free(&a);
    res_free(&b);
}

/* The request head byte for byte (the client writes it in one reserved run),
 * and the requests it refuses to write: a method or field name that is not a
 * token, a value with CR, LF or NUL, a target with a space or a control. */
static void test_request_head_bytes(void)
{
    static sy_http_origin_t o;
    const char *err;
    if (sy_http_origin_from_url(&o, sy_str_c(raw_base), NULL, &err) != SY_OK)
        sy_panic("bad test URL %s", raw_base);
    char host[32];
    snprintf(host, sizeof(host), "127.0.0.1:%d", raw_port);
    struct {
        const char *method, *target, *name, *value, *body;
        const char *want; /* NULL: refused as an invalid request */
    } cases[] = {
        {"POST", "/echo", "X-Test", "yes", "{\"x\":1}",
         "POST /echo HTTP/1.1\r\nHost: %s\r\nX-Test: yes\r\nX-Two: b c\r\n"
         "Content-Length: 7\r\n\r\n{\"x\":1}"},
        {"GET", "/echo?a=1", "Accept", "", NULL,
         "GET /echo?a=1 HTTP/1.1\r\nHost: %s\r\nAccept: \r\nX-Two: b c\r\n\r\n"},
        {"PUT", "/echo", "X-Empty-Body", "1", NULL,
         "PUT /echo HTTP/1.1\r\nHost: %s\r\nX-Empty-Body: 1\r\nX-Two: b c\r\n"
         "Content-Length: 0\r\n\r\n"},
        {"POST", "/echo", "Bad Name", "v", "x", NULL},
        {"POST", "/echo", "Bad:Name", "v", "x", NULL},
        {"POST", "/echo", "X-V", "a\r\nInjected: 1", "x", NULL},
        {"POST", "/echo", "X-V", "a\nb", "x", NULL},
        {"GE T", "/echo", "X-V", "v", NULL, NULL},
        {"GET", "/ec ho", "X-V", "v", NULL, NULL},
        {"GET", "", "X-V", "v", NULL, NULL},
        /* targets of 16 bytes and more: tested 16 at a time and as the
         * window of their last 16 bytes */
        {"GET", "/echo?0123456789abcdef/~!$*+,;=", "X-V", "v", NULL,
         "GET /echo?0123456789abcdef/~!$*+,;= HTTP/1.1\r\nHost: %s\r\nX-V: v\r\nX-Two: b c\r\n\r\n"},
        {"GET", "/echo?0123456789", "X-V", "v", NULL,
         "GET /echo?0123456789 HTTP/1.1\r\nHost: %s\r\nX-V: v\r\nX-Two: b c\r\n\r\n"},
        {"GET", "/echo?0123456789abcdefghij/klmnopq", "X-V", "v", NULL,
         "GET /echo?0123456789abcdefghij/klmnopq HTTP/1.1\r\nHost: %s\r\nX-V: v\r\nX-Two: b c\r\n\r\n"},
        {"GET", "/echo/012345678 ", "X-V", "v", NULL, NULL},
        {"GET", " echo/0123456789", "X-V", "v", NULL, NULL},
        {"GET", "/echo/0123456789abc\x7f", "X-V", "v", NULL, NULL},
        {"GET", "/echo/0123456789abcdefghij\tklmnop", "X-V", "v", NULL, NULL},
        {"GET", "/echo/0123456789abcdefghij/klmno\x01", "X-V", "v", NULL, NULL},
        {"GET", "/echo/01234\x1f" "6789abcdefghij/klmnop", "X-V", "v", NULL, NULL},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        result_t res;
        res_init(&res);
        sy_http_header_t hs[2] = {{sy_str_c(cases[i].name), sy_str_c(cases[i].value)},
                                  {SY_STR("X-Two"), SY_STR("b c")}};
        sy_http_client_req_t q = {
            .origin = &o, .method = cases[i].method, .target = sy_str_c(cases[i].target),
            .headers = hs, .nheaders = 2,
            .body = cases[i].body ? sy_str_c(cases[i].body) : SY_STR_NULL,
            .on_head = on_head, .on_done = on_done, .on_error = on_error, .data = &res,
        };
        raw_last_len = 0;
        pending++;
        res.req = sy_http_client_start(client, &q);
        wait_all(2000);
        if (cases[i].want) {
            char want[512];
            snprintf(want, sizeof(want), cases[i].want, host);
            CHECK(res.done);
            CHECK_MEM(raw_last, raw_last_len, want);
        } else {
            CHECK(res.failed && res.code == SY_HTTP_CLIENT_EREQUEST);
            CHECK(strstr(res.msg, "invalid request") != NULL);
            CHECK_INT(raw_last_len, 0);
        }
        res_free(&res);
    }
}

static void test_framings(void)
{
    struct {
        const char *path;
        const char *body;
        sy_http_body_t framing;
    } cases[] = {
        {"/cl", "hello", SY_HTTP_BODY_LENGTH},
        {"/chunked", "hello world", SY_HTTP_BODY_CHUNKED},
        {"/close", "until the end", SY_HTTP_BODY_CLOSE},
        {"/http10", "ok", SY_HTTP_BODY_LENGTH},
        {"/connclose", "ok", SY_HTTP_BODY_LENGTH},
        {"/continue", "", SY_HTTP_BODY_NONE},
        {"/manyheaders", "many", SY_HTTP_BODY_LENGTH},
        {"/manyheaders", "many", SY_HTTP_BODY_LENGTH}, /* a recycled request keeps its slots */
        {"/cl", "hello", SY_HTTP_BODY_LENGTH},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        result_t r;
        res_init(&r);
        start_on(client, raw_base, "GET", cases[i].path, SY_STR_NULL, &r, NULL);
        wait_all(2000);
        if (!r.done)
            fprintf(stderr, "  %s: %s\n", cases[i].path, r.msg);
        CHECK(r.done);
        CHECK_INT(r.framing, cases[i].framing);
        CHECK_MEM(sy_buf_ptr(&r.body), r.body.len, cases[i].body);
        if (i == 5) {
            CHECK_INT(r.status, 204);
            CHECK(strcmp(r.hdr_xa, "b") == 0);
        }
        if (i == 6 || i == 7)
            CHECK(strcmp(r.hdr_xa, "last") == 0);
        res_free(&r);
    }
    /* the in-process server's chunked stream */
    result_t s;
    res_init(&s);
    start_on(client, srv_base, "GET", "/stream", SY_STR_NULL, &s, NULL);
    wait_all(2000);
    CHECK(s.done);
    CHECK_INT(s.framing, SY_HTTP_BODY_CHUNKED);
    CHECK_MEM(sy_buf_ptr(&s.body), s.body.len, "one two three");
    res_free(&s);
}

/* Which responses leave a connection in the pool: count raw accepts. */
static void test_reuse_rules(void)
{
    struct {
        const char *path;
        bool reusable;
    } cases[] = {
        {"/cl", true},        {"/chunked", true},  {"/continue", true},
        {"/close", false},    {"/http10", false},  {"/connclose", false},
        {"/extra", false}, /* bytes after the body: never trust that connection */
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        sy_http_client_t *c = new_client(NULL);
        result_t a, b;
        res_init(&a);
        res_init(&b);
        int acc0 = raw_accepts;
        start_on(c, raw_base, "GET", cases[i].path, SY_STR_NULL, &a, NULL);
        wait_all(2000);
        start_on(c, raw_base, "GET", "/cl", SY_STR_NULL, &b, NULL);
        wait_all(2000);
        CHECK(a.done && b.done);
        int opened = raw_accepts - acc0;
        if (opened != (cases[i].reusable ? 1 : 2))
            fprintf(stderr, "  %s: %d connections\n", cases[i].path, opened);
        CHECK_INT(opened, cases[i].reusable ? 1 : 2);
        res_free(&a);
        res_free(&b);
        sy_http_client_free(c);
    }
}

static void test_protocol_error(void)
{
    result_t r;
    res_init(&r);
    start_on(client, raw_base, "GET", "/bad", SY_STR_NULL, &r, NULL);
    wait_all(2000);
    CHECK(r.failed);
    CHECK_INT(r.code, SY_HTTP_CLIENT_EPROTOCOL);
    res_free(&r);
    /* a header the client will not send */
    sy_http_origin_t o;
    const char *err;
    sy_http_origin_from_url(&o, sy_str_c(raw_base), NULL, &err);
    sy_http_header_t hs[1] = {{SY_STR("X-Evil"), SY_STR("a\r\nInjected: 1")}};
    result_t q;
    res_init(&q);
    sy_http_client_req_t rq = {.origin = &o, .method = "GET", .target = SY_STR("/cl"),
                               .headers = hs, .nheaders = 1, .on_head = on_head,
                               .on_done = on_done, .on_error = on_error, .data = &q};
    pending++;
    sy_http_client_start(client, &rq);
    CHECK(!q.failed); /* never called back from inside start */
    wait_all(1000);
    CHECK(q.failed);
    CHECK_INT(q.code, SY_HTTP_CLIENT_EREQUEST);
    res_free(&q);
}

static void test_stale_retry(void)
{
    sy_http_client_t *c = new_client(NULL);
    result_t a, b;
    res_init(&a);
    res_init(&b);
    int acc0 = raw_accepts;
    start_on(c, raw_base, "GET", "/stale", SY_STR_NULL, &a, NULL);
    wait_all(2000);
    CHECK(a.done);
    CHECK_MEM(sy_buf_ptr(&a.body), a.body.len, "first");
    /* the pooled connection is dropped by the server when reused: the
     * request goes again on a new connection and succeeds */
    start_on(c, raw_base, "GET", "/stale", SY_STR_NULL, &b, NULL);
    wait_all(2000);
    CHECK(b.done);
    CHECK_MEM(sy_buf_ptr(&b.body), b.body.len, "first");
    CHECK_INT(raw_accepts - acc0, 2);
    CHECK(b.info.retried);
    CHECK(!a.info.reused && !a.info.retried);
    sy_http_client_stats_t st = sy_http_client_stats(c);
    CHECK_INT(st.stale_retries, 1);
    res_free(&a);
    res_free(&b);
    sy_http_client_free(c);
}

static void test_idle_closed_by_peer(void)
{
    sy_http_client_t *c = new_client(NULL);
    result_t a, b;
    res_init(&a);
    res_init(&b);
    int acc0 = raw_accepts;
    start_on(c, raw_base, "GET", "/idleclose", SY_STR_NULL, &a, NULL);
    wait_all(2000);
    CHECK(a.done);
    run_for(150); /* the server closes the idle connection after 30 ms */
    sy_http_client_stats_t st = sy_http_client_stats(c);
    CHECK_INT(st.pool.idle_closed_by_peer, 1);
    start_on(c, raw_base, "GET", "/cl", SY_STR_NULL, &b, NULL);
    wait_all(2000);
    CHECK(b.done);
    st = sy_http_client_stats(c);
    CHECK_INT(st.stale_retries, 0); /* detected while idle: no retry needed */
    CHECK_INT(raw_accepts - acc0, 2);
    res_free(&a);
    res_free(&b);
    sy_http_client_free(c);
}

static int closed_port(int type)
{
    int fd = socket(AF_INET, type, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_connect_refused(void)
{
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", closed_port(SOCK_STREAM));
    result_t r;
    res_init(&r);
    start_on(client, base, "GET", "/", SY_STR_NULL, &r, NULL);
    wait_all(2000);
    CHECK(r.failed);
    CHECK_INT(r.code, SY_HTTP_CLIENT_ECONNECT);
    CHECK(strstr(r.msg, "refused") != NULL);
    res_free(&r);
    /* localhost: 127.0.0.1 then ::1, both tried */
    snprintf(base, sizeof(base), "http://localhost:%d", closed_port(SOCK_STREAM));
    res_init(&r);
    start_on(client, base, "GET", "/", SY_STR_NULL, &r, NULL);
    wait_all(2000);
    CHECK(r.failed);
    CHECK_INT(r.code, SY_HTTP_CLIENT_ECONNECT);
    res_free(&r);
}

/* A server on ::1 only: "localhost" fails on 127.0.0.1 and goes on to ::1. */
static void test_ipv6_fallback(void)
{
    char err[128];
    int fd = sy_net_listen("::1", 0, false, 16, err, sizeof(err));
    if (fd < 0) {
        printf("     (no IPv6 loopback here: skipped)\n");
        return;
    }
    int port = sy_net_local_port(fd);
    /* make sure 127.0.0.1:port is closed */
    sy_http_server_t *srv6 = sy_http_server_new(loop, srv_handler, NULL);
    sy_http_server_add_listener(srv6, fd);
    char base[64];
    snprintf(base, sizeof(base), "http://localhost:%d", port);
    result_t r;
    res_init(&r);
    start_on(client, base, "GET", "/hello", SY_STR_NULL, &r, NULL);
    wait_all(2000);
    if (!r.done)
        fprintf(stderr, "  ipv6: %s\n", r.msg);
    CHECK(r.done);
    CHECK_MEM(sy_buf_ptr(&r.body), r.body.len, "hello");
    res_free(&r);
    /* literal IPv6 origin, pooled connection from before */
    snprintf(base, sizeof(base), "http://[::1]:%d", port);
    res_init(&r);
    start_on(client, base, "GET", "/hello", SY_STR_NULL, &r, NULL);
    wait_all(2000);
    CHECK(r.done);
    res_free(&r);
    sy_http_client_t *tmp = client; /* close pooled connections before the server goes */
    SY_UNUSED(tmp);
    sy_http_server_shutdown(srv6, 0, NULL, NULL);
    run_for(20);
    sy_http_server_free(srv6);
}

static void test_dns_failure(void)
{
    result_t r;
    res_init(&r);
    uint64_t t0 = sy_now_ms();
    start_on(client, "http://no-such-host.invalid:80", "GET", "/", SY_STR_NULL, &r, NULL);
    wait_all(5000);
    uint64_t el = sy_now_ms() - t0;
    CHECK(r.failed);
    CHECK_INT(r.code, SY_HTTP_CLIENT_EDNS);
    CHECK(strstr(r.msg, "no-such-host.invalid") != NULL);
    CHECK(el < 3000);
    res_free(&r);
    sy_http_client_stats_t st = sy_http_client_stats(client);
    CHECK(st.dns.queries >= 1);
    CHECK(st.dns.shortcuts >= 1); /* the IP literals and localhost before */
}


/* A tiny DNS server on 127.0.0.1 for the c-ares success path: answers every
 * A question with 127.0.0.1 (TTL 60) and every other type with no records. */
static int dns_fd, dns_port, dns_packets;
static sy_io_t dns_io;

static void dns_io_cb(sy_io_t *io, uint32_t events)
{
    SY_UNUSED(io);
    SY_UNUSED(events);
    unsigned char q[512], a[600];
    struct sockaddr_storage from;
    socklen_t flen = sizeof(from);
    ssize_t n = recvfrom(dns_fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
    if (n < 12)
        return;
    dns_packets++;
    size_t i = 12;
    while (i < (size_t)n && q[i])
        i += (size_t)q[i] + 1;
    i += 5; /* the root label, QTYPE, QCLASS */
    if (i > (size_t)n)
        return;
    int qtype = (q[i - 4] << 8) | q[i - 3];
    memcpy(a, q, i);
    a[2] = 0x81; /* response, recursion desired */
    a[3] = 0x80; /* recursion available, NOERROR */
    a[6] = 0;
    a[7] = qtype == 1 ? 1 : 0; /* ANCOUNT */
    a[8] = a[9] = a[10] = a[11] = 0;
    size_t len = i;
    if (qtype == 1) {
        static const unsigned char rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1};
        memcpy(a + len, rr, sizeof(rr));
        len += sizeof(rr);
    }
    sendto(dns_fd, a, len, 0, (struct sockaddr *)&from, flen);
}

static void test_dns_resolution(void)
{
    dns_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(dns_fd, (struct sockaddr *)&sa, sizeof(sa));
    socklen_t slen = sizeof(sa);
    getsockname(dns_fd, (struct sockaddr *)&sa, &slen);
    dns_port = ntohs(sa.sin_port);
    sy_io_start(loop, &dns_io, dns_fd, SY_IO_READ, dns_io_cb, NULL);

    sy_http_client_options_t o;
    sy_http_client_options_default(&o);
    char servers[64];
    snprintf(servers, sizeof(servers), "127.0.0.1:%d", dns_port);
    o.dns.servers = servers;
    o.dns.timeout_ms = 1000;
    char err[256];
    sy_http_client_t *c = sy_http_client_new(loop, &o, err, sizeof(err));
    CHECK(c != NULL);
    if (!c)
        return;
    char base[64];
    snprintf(base, sizeof(base), "http://upstream.test:%s", strrchr(srv_base, ':') + 1);
    /* two requests at once share one lookup */
    result_t a, b, d;
    res_init(&a);
    res_init(&b);
    res_init(&d);
    start_on(c, base, "GET", "/hello", SY_STR_NULL, &a, NULL);
    start_on(c, base, "GET", "/hello", SY_STR_NULL, &b, NULL);
    wait_all(3000);
    if (!a.done)
        fprintf(stderr, "  dns: %s\n", a.msg);
    CHECK(a.done && b.done);
    CHECK_MEM(sy_buf_ptr(&a.body), a.body.len, "hello");
    sy_http_client_stats_t st = sy_http_client_stats(c);
    CHECK_INT(st.dns.queries, 1);
    int packets = dns_packets;
    CHECK(packets >= 1 && packets <= 2); /* A and AAAA */
    /* three at once: two reuse the pooled connections, the third opens
     * one with the cached answer (TTL 60 s): no new packet */
    result_t e, f;
    res_init(&e);
    res_init(&f);
    start_on(c, base, "GET", "/hello", SY_STR_NULL, &d, NULL);
    start_on(c, base, "GET", "/hello", SY_STR_NULL, &e, NULL);
    start_on(c, base, "GET", "/hello", SY_STR_NULL, &f, NULL);
    wait_all(3000);
    CHECK(d.done && e.done && f.done);
    res_free(&e);
    res_free(&f);
    st = sy_http_client_stats(c);
    CHECK_INT(st.dns.queries, 1);
    CHECK(st.dns.cache_hits >= 1);
    CHECK_INT(dns_packets, packets);
    res_free(&a);
    res_free(&b);
    res_free(&d);
    sy_http_client_free(c);
    sy_io_stop(&dns_io);
    close(dns_fd);
}

static void test_timeouts(void)
{
    sy_http_client_timeouts_t to = {.first_byte_ms = 150};
    result_t r;
    res_init(&r);
    uint64_t t0 = sy_now_ms();
    start_on(client, raw_base, "GET", "/silent", SY_STR_NULL, &r, &to);
    wait_all(3000);
    uint64_t el = sy_now_ms() - t0;
    CHECK(r.failed);
    CHECK_INT(r.code, SY_HTTP_CLIENT_ETIMEOUT_FIRST_BYTE);
    CHECK(el >= 140 && el < 1500);
    res_free(&r);

    to = (sy_http_client_timeouts_t){.idle_ms = 150};
    res_init(&r);
    start_on(client, raw_base, "GET", "/stall", SY_STR_NULL, &r, &to);
    wait_all(3000);
    CHECK(r.failed);
    CHECK_INT(r.code, SY_HTTP_CLIENT_ETIMEOUT_IDLE);
    CHECK_MEM(sy_buf_ptr(&r.body), r.body.len, "partial");
    res_free(&r);

    /* a body that keeps trickling never trips idle, but total ends it */
    to = (sy_http_client_timeouts_t){.idle_ms = 150, .total_ms = 300};
    res_init(&r);
    start_on(client, raw_base, "GET", "/slowbody", SY_STR_NULL, &r, &to);
    wait_all(3000);
    CHECK(r.failed);
    CHECK_INT(r.code, SY_HTTP_CLIENT_ETIMEOUT_TOTAL);
    CHECK(r.body.len > 0);
    res_free(&r);
}

/* The origin's only connection is busy: the next request waits its turn,
 * one more is refused, and a waiter past its connect timeout gives up. */
static void test_pool_limits(void)
{
    sy_http_client_options_t o;
    sy_http_client_options_default(&o);
    o.pool.max_conns_per_origin = 1;
    o.pool.max_waiters_per_origin = 1;
    sy_http_client_t *c = new_client(&o);
    result_t a, b, d;
    res_init(&a);
    res_init(&b);
    res_init(&d);
    int conns0 = srv_conns;
    start_on(c, srv_base, "GET", "/hello", SY_STR_NULL, &a, NULL);
    start_on(c, srv_base, "GET", "/hello", SY_STR_NULL, &b, NULL);
    start_on(c, srv_base, "GET", "/hello", SY_STR_NULL, &d, NULL);
    wait_all(2000);
    CHECK(a.done && b.done);
    CHECK(d.failed);
    CHECK_INT(d.code, SY_HTTP_CLIENT_EPOOL);
    CHECK_INT(srv_conns - conns0, 1);
    res_free(&a);
    res_free(&b);
    res_free(&d);

    sy_http_client_timeouts_t to = {.connect_ms = 100, .first_byte_ms = 2000};
    res_init(&a);
    res_init(&b);
    start_on(c, raw_base, "GET", "/silent", SY_STR_NULL, &a, &to);
    start_on(c, raw_base, "GET", "/cl", SY_STR_NULL, &b, &to);
    run_for(400);
    CHECK(b.failed);
    CHECK_INT(b.code, SY_HTTP_CLIENT_ETIMEOUT_CONNECT);
    CHECK(strstr(b.msg, "pooled") != NULL);
    sy_http_client_cancel(a.req);
    pending = 0;
    res_free(&a);
    res_free(&b);
    sy_http_client_free(c);
}

static void test_cancel_mid_body(void)
{
    result_t r;
    res_init(&r);
    r.cancel_after = 12; /* two chunks */
    run_for(100); /* let closes from earlier tests reach the server first */
    int closed0 = raw_peer_closed;
    start_on(client, raw_base, "GET", "/slowbody", SY_STR_NULL, &r, NULL);
    wait_all(3000);
    CHECK(r.cancelled);
    CHECK(!r.done && !r.failed);
    run_for(100);
    CHECK(!r.done && !r.failed); /* nothing after cancel */
    CHECK_INT(raw_peer_closed - closed0, 1); /* the server saw the close */
    res_free(&r);

    /* cancelling before the connection exists costs nothing */
    res_init(&r);
    sy_http_creq_t *q = start_on(client, raw_base, "GET", "/cl", SY_STR_NULL, &r, NULL);
    sy_http_client_cancel(q);
    pending = 0;
    run_for(50);
    CHECK(!r.done && !r.failed);
    res_free(&r);

    /* on_head returning NULL on a complete response keeps the connection */
    sy_http_client_t *c = new_client(NULL);
    result_t a, b;
    res_init(&a);
    res_init(&b);
    a.stop_on_head = true;
    int acc0 = raw_accepts;
    start_on(c, raw_base, "GET", "/continue", SY_STR_NULL, &a, NULL);
    wait_all(2000);
    start_on(c, raw_base, "GET", "/cl", SY_STR_NULL, &b, NULL);
    wait_all(2000);
    CHECK(a.cancelled && b.done);
    CHECK_INT(raw_accepts - acc0, 1);
    res_free(&a);
    res_free(&b);
    sy_http_client_free(c);
}

static void test_pause_resume(void)
{
    result_t r;
    res_init(&r);
    r.pause_ms = 150;
    uint64_t t0 = sy_now_ms();
    start_on(client, raw_base, "GET", "/big", SY_STR_NULL, &r, NULL);
    wait_all(5000);
    uint64_t el = sy_now_ms() - t0;
    CHECK(r.done);
    CHECK_INT(r.body.len, 1 << 20);
    CHECK(r.paused_once);
    CHECK_INT(r.calls_while_paused, 0);
    CHECK(el >= 140);
    res_free(&r);
    /* a pause longer than the idle timeout does not trip it: the wait is ours */
    sy_http_client_timeouts_t to = {.idle_ms = 80};
    res_init(&r);
    r.pause_ms = 250;
    start_on(client, raw_base, "GET", "/big", SY_STR_NULL, &r, &to);
    wait_all(5000);
    CHECK(r.done);
    CHECK_INT(r.body.len, 1 << 20);
    res_free(&r);
}

/* ---- TLS and the CONNECT proxy (Python peers) ---- */

typedef struct {
    pid_t pid;
    int in_fd;  /* its stdin: closing it stops the peer */
    FILE *out;
    int port;
} peer_t;

static bool peer_start(peer_t *p, char *const argv[])
{
    int in[2], out[2];
    if (pipe(in) < 0 || pipe(out) < 0)
        return false;
    p->pid = fork();
    if (p->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->in_fd = in[1];
    p->out = fdopen(out[0], "r");
    char line[128];
    p->port = 0;
    if (fgets(line, sizeof(line), p->out))
        sscanf(line, "PORT %d", &p->port);
    return p->port > 0;
}

static void peer_stop(peer_t *p)
{
    close(p->in_fd);
    int st;
    waitpid(p->pid, &st, 0);
    fclose(p->out);
}

static char tls_dir[512];

static bool make_certs(void)
{
    const char *root = getenv("SY_ROOT");
    /* one directory per process: several test runs may share the tree */
    snprintf(tls_dir, sizeof(tls_dir), "%s/build/test-tls/%d", root ? root : ".", (int)getpid());
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "set -e; d='%s'; mkdir -p \"$d\"; cd \"$d\";"
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
             " -keyout ca.key -out ca.pem -days 2 -subj /CN=switchyard-test-ca;"
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
             " -keyout srv.key -out srv.csr -subj /CN=localhost;"
             "printf 'subjectAltName=DNS:localhost\\n' > ext;"
             "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
             " -out srv.pem -days 2 -extfile ext",
             tls_dir);
    char full[4200];
    snprintf(full, sizeof(full), "(%s) >/dev/null 2>&1", cmd);
    return system(full) == 0;
}

static void peer_script(char *out, size_t n)
{
    const char *root = getenv("SY_ROOT");
    snprintf(out, n, "%s/tests/unit/http_client_peer.py", root ? root : ".");
}

static void test_tls_and_proxy(void)
{
    if (!make_certs()) {
        fprintf(stderr, "  cannot generate test certificates with openssl\n");
        CHECK(0);
        return;
    }
    char script[600], cert[600], key[600], ca[600];
    peer_script(script, sizeof(script));
    snprintf(cert, sizeof(cert), "%s/srv.pem", tls_dir);
    snprintf(key, sizeof(key), "%s/srv.key", tls_dir);
    snprintf(ca, sizeof(ca), "%s/ca.pem", tls_dir);
    peer_t tls;
    char *targv[] = {"python3", script, "tls", cert, key, NULL};
    if (!peer_start(&tls, targv)) {
        CHECK(0);
        return;
    }
    char good[64], byip[64];
    snprintf(good, sizeof(good), "https://localhost:%d", tls.port);
    snprintf(byip, sizeof(byip), "https://127.0.0.1:%d", tls.port);

    sy_http_client_options_t o;
    sy_http_client_options_default(&o);
    o.tls.ca_file = ca;
    sy_http_client_t *c = new_client(&o);
    sy_http_client_t *plain = new_client(NULL); /* system store only */

    /* verified, then reused */
    result_t a, b;
    res_init(&a);
    res_init(&b);
    start_on(c, good, "GET", "/hello", SY_STR_NULL, &a, NULL);
    wait_all(5000);
    if (!a.done)
        fprintf(stderr, "  tls: %s\n", a.msg);
    CHECK(a.done);
    CHECK_MEM(sy_buf_ptr(&a.body), a.body.len, "hello tls");
    start_on(c, good, "GET", "/close", SY_STR_NULL, &b, NULL);
    wait_all(5000);
    CHECK(b.done);
    CHECK(b.info.reused);
    res_free(&a);
    res_free(&b);
    /* a new connection resumes the session */
    res_init(&a);
    start_on(c, good, "GET", "/hello", SY_STR_NULL, &a, NULL);
    wait_all(5000);
    CHECK(a.done);
    CHECK(!a.info.reused);
    CHECK(a.info.tls_resumed);
    res_free(&a);

    /* without the CA: verification fails, and says why */
    res_init(&a);
    start_on(plain, good, "GET", "/hello", SY_STR_NULL, &a, NULL);
    wait_all(5000);
    CHECK(a.failed);
    CHECK_INT(a.code, SY_HTTP_CLIENT_ETLS);
    CHECK(strstr(a.msg, "certificate verify failed") != NULL);
    res_free(&a);
    /* with the CA but the wrong name (the certificate names localhost only) */
    res_init(&a);
    start_on(c, byip, "GET", "/hello", SY_STR_NULL, &a, NULL);
    wait_all(5000);
    CHECK(a.failed);
    CHECK_INT(a.code, SY_HTTP_CLIENT_ETLS);
    CHECK(strstr(a.msg, "mismatch") != NULL);
    if (!strstr(a.msg, "mismatch"))
        fprintf(stderr, "  wrong name: %s\n", a.msg);
    res_free(&a);

    /* the insecure switch (tests only) accepts anything */
    sy_http_client_options_t io;
    sy_http_client_options_default(&io);
    io.tls.insecure = true;
    sy_http_client_t *insecure = new_client(&io);
    res_init(&a);
    start_on(insecure, byip, "GET", "/hello", SY_STR_NULL, &a, NULL);
    wait_all(5000);
    CHECK(a.done);
    res_free(&a);
    sy_http_client_free(insecure);

    /* through a CONNECT proxy with authentication */
    peer_t px;
    char *pargv[] = {"python3", script, "proxy", "Basic dGVzdDp0ZXN0", NULL};
    if (!peer_start(&px, pargv)) {
        CHECK(0);
    } else {
        char purl[64];
        snprintf(purl, sizeof(purl), "http://127.0.0.1:%d", px.port);
        sy_http_origin_t po;
        const char *err;
        sy_http_origin_from_url(&po, sy_str_c(good), NULL, &err);
        CHECK_INT(sy_http_origin_set_proxy(&po, sy_str_c(purl), "Basic dGVzdDp0ZXN0", &err), SY_OK);
        result_t pr;
        res_init(&pr);
        sy_http_client_req_t q = {.origin = &po, .method = "GET", .target = SY_STR("/hello"),
                                  .on_head = on_head, .on_done = on_done,
                                  .on_error = on_error, .data = &pr};
        pending++;
        pr.req = sy_http_client_start(c, &q);
        wait_all(5000);
        if (!pr.done)
            fprintf(stderr, "  proxy: %s\n", pr.msg);
        CHECK(pr.done);
        CHECK_MEM(sy_buf_ptr(&pr.body), pr.body.len, "hello tls");
        char line[128] = "";
        CHECK(fgets(line, sizeof(line), px.out) != NULL);
        char want[64];
        snprintf(want, sizeof(want), "CONNECT localhost:%d\n", tls.port);
        CHECK(strcmp(line, want) == 0);
        res_free(&pr);
        /* wrong credentials: the proxy answers 407 */
        sy_http_origin_set_proxy(&po, sy_str_c(purl), "Basic d3Jvbmc=", &err);
        res_init(&pr);
        q.data = &pr;
        pending++;
        sy_http_client_start(c, &q);
        wait_all(5000);
        CHECK(pr.failed);
        CHECK_INT(pr.code, SY_HTTP_CLIENT_EPROXY);
        CHECK(strstr(pr.msg, "407") != NULL);
        res_free(&pr);
        peer_stop(&px);
    }
    sy_http_client_free(c);
    sy_http_client_free(plain);
    peer_stop(&tls);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tls_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "  could not remove %s\n", tls_dir);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    loop = sy_loop_new();
    RUN(test_url_parse);
    RUN(test_origin);
    RUN(test_pool_bookkeeping);

    char err[128];
    int fd = sy_net_listen("127.0.0.1", 0, false, 64, err, sizeof(err));
    int srv_port = sy_net_local_port(fd);
    sy_http_server_t *srv = sy_http_server_new(loop, srv_handler, NULL);
    sy_http_server_add_listener(srv, fd);
    snprintf(srv_base, sizeof(srv_base), "http://127.0.0.1:%d", srv_port);
    raw_start();
    snprintf(raw_base, sizeof(raw_base), "http://127.0.0.1:%d", raw_port);
    dns_dead_port = closed_port(SOCK_DGRAM);
    client = new_client(NULL);

    RUN(test_keepalive_reuse);
    RUN(test_post_bodies);
    RUN(test_framings);
    RUN(test_request_head_bytes);
    RUN(test_reuse_rules);
    RUN(test_protocol_error);
    RUN(test_stale_retry);
    RUN(test_idle_closed_by_peer);
    RUN(test_connect_refused);
    RUN(test_ipv6_fallback);
    RUN(test_dns_failure);
    RUN(test_dns_resolution);
    RUN(test_timeouts);
    RUN(test_pool_limits);
    RUN(test_cancel_mid_body);
    RUN(test_pause_resume);
    RUN(test_tls_and_proxy);

    sy_http_client_free(client);
    raw_stop();
    sy_http_server_shutdown(srv, 0, NULL, NULL);
    run_for(20);
    sy_http_server_free(srv);
    sy_loop_run_deferred(loop);
    sy_loop_free(loop);
    return unit_done();
}
