/*
 * pool.c - keep-alive pools: per-origin idle lists, caps, wait queues, idle
 * watching, and deferred freeing of closed connections.
 */
#include "http/pool.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/map.h"

#define POOL_RBUF_MAX (1024 * 1024)
/* A drained read buffer this size or under is kept as the pool's spare. */
#define POOL_SPARE_MAX (64 * 1024)

struct sy_pool {
    sy_loop_t *loop;
    sy_pool_options_t opt;
    sy_map_t origins;     /* key -> sy_pool_origin_t */
    sy_pool_conn_t *dead; /* closed, waiting for the deferred free */
    sy_defer_t reap;
    uint64_t next_id;
    sy_pool_stats_t stats;
    sy_pool_origin_t *last; /* the origin looked up last: requests come in runs */
    /* One drained read buffer kept for the next connection that reads:
     * connections give theirs up when drained (an idle or waiting one holds
     * none), and every request would otherwise allocate and free one. */
    char *spare;
    size_t spare_cap;
};

static void reap_cb(sy_defer_t *d)
{
    sy_pool_t *p = d->data;
    while (p->dead) {
        sy_pool_conn_t *c = p->dead;
        p->dead = c->next;
        sy_buf_free(&c->rbuf);
        free(c);
    }
}

sy_pool_t *sy_pool_new(sy_loop_t *loop, const sy_pool_options_t *opt)
{
    sy_pool_t *p = sy_calloc(1, sizeof(*p));
    p->loop = loop;
    if (opt)
        p->opt = *opt;
    if (!p->opt.max_idle_per_origin)
        p->opt.max_idle_per_origin = 32;
    if (!p->opt.max_conns_per_origin)
        p->opt.max_conns_per_origin = 256;
    if (!p->opt.max_waiters_per_origin)
        p->opt.max_waiters_per_origin = 1024;
    if (!p->opt.idle_timeout_ms)
        p->opt.idle_timeout_ms = 30000;
    sy_map_init(&p->origins);
    sy_defer_init(&p->reap, reap_cb, p);
    return p;
}

void sy_pool_free(sy_pool_t *p)
{
    if (!p)
        return;
    size_t it = 0;
    sy_str_t k;
    void *v;
    while (sy_map_next(&p->origins, &it, &k, &v)) {
        sy_pool_origin_t *po = v;
        while (po->idle)
            sy_pool_close(po->idle);
        if (po->nconns)
            sy_warn("upstream pool freed with busy connections", "\"count\":%zu", po->nconns);
        while (po->wait_head)
            sy_pool_wait_cancel(po->wait_head);
        sy_tls_session_free(po->session);
        free(po);
    }
    sy_map_free(&p->origins);
    sy_defer_cancel(p->loop, &p->reap);
    reap_cb(&p->reap);
    free(p->spare);
    free(p);
}

const sy_pool_options_t *sy_pool_options(const sy_pool_t *p) { return &p->opt; }
sy_loop_t *sy_pool_loop(const sy_pool_t *p) { return p->loop; }
sy_pool_stats_t sy_pool_stats(const sy_pool_t *p) { return p->stats; }

/* Two origins with the same pool key: the fields the key is made of, not
 * the ~1.8 KiB of the struct (most of it the string fields' unused tails). */
static bool same_origin(const sy_http_origin_t *a, const sy_http_origin_t *b)
{
    return a->tls == b->tls && a->port == b->port && a->proxy_port == b->proxy_port &&
           strcmp(a->host, b->host) == 0 && strcmp(a->sni, b->sni) == 0 &&
           strcmp(a->proxy_host, b->proxy_host) == 0 && strcmp(a->proxy_auth, b->proxy_auth) == 0;
}

sy_pool_origin_t *sy_pool_origin(sy_pool_t *p, const sy_http_origin_t *o)
{
    if (p->last && same_origin(&p->last->origin, o))
        return p->last;
    char key[SY_POOL_KEY_MAX];
    size_t n = sy_http_origin_key(o, key, sizeof(key));
    sy_pool_origin_t *po = sy_map_get(&p->origins, sy_str(key, n));
    if (!po) {
        po = sy_calloc(1, sizeof(*po));
        po->pool = p;
        po->origin = *o;
        memcpy(po->key, key, n + 1);
        po->host_len = sy_http_origin_authority(o, false, po->host_hdr, sizeof(po->host_hdr));
        sy_map_put(&p->origins, sy_str(po->key, n), po);
    }
    p->last = po;
    return po;
}

/* ---- waiters ---- */

static void wake_one(sy_pool_origin_t *po)
{
    sy_pool_waiter_t *w = po->wait_head;
    if (!w)
        return;
    sy_pool_wait_cancel(w);
    sy_defer(po->pool->loop, &w->wake);
}

int sy_pool_wait(sy_pool_origin_t *po, sy_pool_waiter_t *w, bool front)
{
    if (po->nwait >= po->pool->opt.max_waiters_per_origin) {
        po->pool->stats.exhausted++;
        return SY_ETOOBIG;
    }
    w->origin = po;
    if (front) {
        w->prev = NULL;
        w->next = po->wait_head;
        if (po->wait_head)
            po->wait_head->prev = w;
        else
            po->wait_tail = w;
        po->wait_head = w;
    } else {
        w->next = NULL;
        w->prev = po->wait_tail;
        if (po->wait_tail)
            po->wait_tail->next = w;
        else
            po->wait_head = w;
        po->wait_tail = w;
    }
    po->nwait++;
    po->pool->stats.waits++;
    return SY_OK;
}

void sy_pool_wait_cancel(sy_pool_waiter_t *w)
{
    sy_pool_origin_t *po = w->origin;
    if (!po)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        po->wait_head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        po->wait_tail = w->prev;
    w->prev = w->next = NULL;
    w->origin = NULL;
    po->nwait--;
}

/* ---- connections ---- */

static void idle_unlink(sy_pool_conn_t *c)
{
    sy_pool_origin_t *po = c->origin;
    if (c->prev)
        c->prev->next = c->next;
    else
        po->idle = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    c->idle = false;
    po->nidle--;
    sy_timer_stop(&c->idle_timer);
}

static void idle_timer_cb(sy_timer_t *t)
{
    sy_pool_conn_t *c = t->data;
    c->origin->pool->stats.idle_timed_out++;
    sy_pool_close(c);
}

/* An idle connection should be silent. A TLS one may still receive a
 * post-handshake message (a session ticket): reading it yields no data and
 * the connection stays. Anything else (EOF, reset, bytes) ends it. */
static void idle_io_cb(sy_io_t *io, uint32_t events)
{
    sy_pool_conn_t *c = io->data;
    if (!(events & (SY_IO_ERR | SY_IO_RDHUP))) {
        char b[64];
        ssize_t n = sy_transport_read(&c->tr, b, sizeof(b));
        if (n == SY_EAGAIN && !(c->tr.read_on & SY_IO_WRITE))
            return;
    }
    c->origin->pool->stats.idle_closed_by_peer++;
    sy_pool_close(c);
}

sy_pool_conn_t *sy_pool_take_idle(sy_pool_origin_t *po)
{
    sy_pool_conn_t *c = po->idle;
    if (!c)
        return NULL;
    idle_unlink(c);
    po->pool->stats.reused++;
    return c;
}

sy_pool_conn_t *sy_pool_conn_new(sy_pool_origin_t *po)
{
    sy_pool_t *p = po->pool;
    if (po->nconns >= p->opt.max_conns_per_origin)
        return NULL;
    sy_pool_conn_t *c = sy_calloc(1, sizeof(*c));
    c->origin = po;
    c->id = ++p->next_id;
    sy_transport_init_tcp(&c->tr, -1);
    sy_timer_init(&c->idle_timer, p->loop, idle_timer_cb, c);
    sy_buf_init(&c->rbuf, POOL_RBUF_MAX);
    po->nconns++;
    p->stats.opened++;
    return c;
}

void sy_pool_close(sy_pool_conn_t *c)
{
    if (c->closed)
        return;
    sy_pool_origin_t *po = c->origin;
    sy_pool_t *p = po->pool;
    if (c->idle)
        idle_unlink(c);
    sy_timer_stop(&c->idle_timer);
    sy_io_stop(&c->io);
    c->io.events = 0;
    sy_transport_close(&c->tr);
    c->closed = true;
    po->nconns--;
    p->stats.closed++;
    c->next = p->dead;
    c->prev = NULL;
    p->dead = c;
    sy_defer(p->loop, &p->reap);
    wake_one(po);
}

void sy_pool_release(sy_pool_conn_t *c, bool reusable)
{
    sy_pool_origin_t *po = c->origin;
    sy_pool_t *p = po->pool;
    if (c->closed)
        return;
    if (!reusable || c->tr.fd < 0 || c->rbuf.len != 0 || po->nidle >= p->opt.max_idle_per_origin) {
        sy_pool_close(c);
        return;
    }
    sy_pool_rbuf_drop(c); /* empty (checked above): an idle connection holds no read buffer */
    c->requests++;
    c->idle = true;
    c->prev = NULL;
    c->next = po->idle;
    if (po->idle)
        po->idle->prev = c;
    po->idle = c;
    po->nidle++;
    c->io.cb = idle_io_cb;
    c->io.data = c;
    if (sy_io_set(&c->io, SY_IO_READ | SY_IO_RDHUP) != SY_OK) {
        sy_pool_close(c);
        return;
    }
    sy_timer_start(&c->idle_timer, p->opt.idle_timeout_ms);
    wake_one(po);
}

void sy_pool_rbuf_drop(sy_pool_conn_t *c)
{
    sy_pool_t *p = c->origin->pool;
    sy_buf_t *b = &c->rbuf;
    if (b->data && b->len == 0 && p->spare == NULL && b->cap <= POOL_SPARE_MAX) {
        p->spare = b->data;
        p->spare_cap = b->cap;
        b->data = NULL;
        b->off = 0;
        b->cap = 0;
        return;
    }
    sy_buf_free(b);
}

void sy_pool_rbuf_take(sy_pool_conn_t *c)
{
    sy_pool_t *p = c->origin->pool;
    sy_buf_t *b = &c->rbuf;
    if (b->data == NULL && p->spare) {
        b->data = p->spare;
        b->cap = p->spare_cap;
        b->off = 0;
        b->len = 0;
        p->spare = NULL;
    }
}

void sy_pool_keep_session(sy_pool_conn_t *c)
{
    sy_tls_session_t *s = sy_tls_session_get(&c->tr);
    if (!s)
        return;
    sy_tls_session_free(c->origin->session);
    c->origin->session = s;
}
