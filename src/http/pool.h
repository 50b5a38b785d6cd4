/*
 * pool.h - per-worker keep-alive pools of upstream connections, one per
 * origin (origin.h: scheme, host, port, TLS name, proxy).
 *
 * The pool does bookkeeping and idle care; the HTTP client (client.c) opens
 * connections and runs requests on them. Rules:
 *   - at most max_conns_per_origin connections exist per origin (connecting,
 *     busy and idle together); a request that finds the origin full waits in
 *     a FIFO queue of at most max_waiters_per_origin, and past that gets a
 *     "pool exhausted" error;
 *   - a finished connection goes back idle only if it is clean (the client
 *     decides: response complete, keep-alive, nothing extra read) and fewer
 *     than max_idle_per_origin are idle; otherwise it is closed;
 *   - idle connections are reused most recently used first (the warmest
 *     one, and the cold ones at the tail age out);
 *   - an idle connection is watched: readable (an EOF, a reset, stray bytes)
 *     or hung up means the peer is gone or confused, so it is discarded at
 *     once; after idle_timeout_ms it is closed;
 *   - each origin keeps the last resumable TLS session for new connections.
 *
 * Connection structs are freed through a deferred call, never inside an I/O
 * callback, so an event already queued for a closed connection finds valid
 * memory with its handle stopped (the loop skips it).
 */
#ifndef SY_HTTP_POOL_H
#define SY_HTTP_POOL_H

#include "core/buf.h"
#include "core/loop.h"
#include "http/origin.h"
#include "http/tls.h"
#include "http/transport.h"

#define SY_POOL_KEY_MAX 600

typedef struct sy_pool sy_pool_t;
typedef struct sy_pool_origin sy_pool_origin_t;
typedef struct sy_pool_conn sy_pool_conn_t;
typedef struct sy_pool_waiter sy_pool_waiter_t;

typedef struct {
    size_t max_idle_per_origin;    /* 0: 32 */
    size_t max_conns_per_origin;   /* 0: 256 */
    size_t max_waiters_per_origin; /* 0: 1024 */
    uint64_t idle_timeout_ms;      /* 0: 30 s (limits.upstream_idle_timeout) */
} sy_pool_options_t;

/* One upstream connection. While busy, its user owns io.cb/io.data and the
 * registered events; the transport and the read buffer belong to the conn. */
struct sy_pool_conn {
    sy_pool_conn_t *prev, *next; /* the origin's idle list, or the dead list */
    sy_pool_origin_t *origin;
    sy_transport_t tr;
    sy_io_t io;           /* registered once the socket exists */
    sy_timer_t idle_timer;
    sy_buf_t rbuf;        /* bytes read and not yet consumed */
    uint64_t requests;    /* requests completed on it; > 0 means "reused" */
    uint64_t id;          /* per pool, for logs and tests */
    bool idle;
    bool closed;
};

/* A request waiting for a connection slot. wake(w) is called (from a
 * deferred call, never inside a pool function) when a connection of the
 * origin went idle or closed; the waiter then tries again. */
struct sy_pool_waiter {
    sy_pool_waiter_t *prev, *next;
    sy_pool_origin_t *origin; /* non-NULL while queued */
    sy_defer_t wake;
};

struct sy_pool_origin {
    sy_pool_t *pool;
    sy_http_origin_t origin;
    char key[SY_POOL_KEY_MAX];
    sy_pool_conn_t *idle; /* most recently used first */
    size_t nidle;
    size_t nconns;        /* all open connections: connecting, busy, idle */
    sy_pool_waiter_t *wait_head, *wait_tail;
    size_t nwait;
    sy_tls_session_t *session; /* last resumable TLS session, or NULL */
    char host_hdr[SY_HTTP_HOST_MAX + 16]; /* the Host header value for requests */
    size_t host_len;
};

typedef struct {
    uint64_t opened;     /* connection structs created */
    uint64_t reused;     /* idle connections handed out */
    uint64_t closed;
    uint64_t idle_closed_by_peer; /* idle ones found closed or readable */
    uint64_t idle_timed_out;
    uint64_t waits;      /* requests that had to queue */
    uint64_t exhausted;  /* requests refused: queue full */
} sy_pool_stats_t;

sy_pool_t *sy_pool_new(sy_loop_t *loop, const sy_pool_options_t *opt);
/* Closes idle connections; busy ones must have been released or closed. */
void sy_pool_free(sy_pool_t *p);
const sy_pool_options_t *sy_pool_options(const sy_pool_t *p);
sy_loop_t *sy_pool_loop(const sy_pool_t *p);

/* The record for an origin, created on first use (origins are few and come
 * from configuration; they live as long as the pool). */
sy_pool_origin_t *sy_pool_origin(sy_pool_t *p, const sy_http_origin_t *o);

/* Take the most recently used idle connection (its io is still registered;
 * the caller sets io.cb, io.data and the events). NULL if none. */
sy_pool_conn_t *sy_pool_take_idle(sy_pool_origin_t *po);

/* A new connection struct counted against the origin's cap (transport fd
 * -1, io not registered), or NULL when the origin is at max_conns. */
sy_pool_conn_t *sy_pool_conn_new(sy_pool_origin_t *po);

/* Give back a busy connection: idle when reusable and room is left, else
 * closed. Either way a waiter of the origin is woken. */
void sy_pool_release(sy_pool_conn_t *c, bool reusable);
/* Close now (stops io, closes the transport); the struct is freed later. */
void sy_pool_close(sy_pool_conn_t *c);

/* Queue w for the origin (front: ahead of the others, for a waiter that was
 * woken but lost the race). Returns SY_OK, or SY_ETOOBIG when the queue is
 * full ("pool exhausted"). The caller must have called sy_defer_init on
 * w->wake with its callback. */
int sy_pool_wait(sy_pool_origin_t *po, sy_pool_waiter_t *w, bool front);
void sy_pool_wait_cancel(sy_pool_waiter_t *w);

/* The read buffer of a drained connection (rbuf.len 0) given up: kept as
 * the pool's one spare when there is none yet, else freed. */
void sy_pool_rbuf_drop(sy_pool_conn_t *c);
/* A connection about to read with no read buffer takes the spare, if any. */
void sy_pool_rbuf_take(sy_pool_conn_t *c);

/* Store the connection's TLS session for the origin if it is resumable. */
void sy_pool_keep_session(sy_pool_conn_t *c);

sy_pool_stats_t sy_pool_stats(const sy_pool_t *p);

#endif
