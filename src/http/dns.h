/*
 * dns.h - asynchronous name resolution for upstream connections (c-ares),
 * driven by the worker's event loop, with a small per-worker cache.
 *
 * c-ares owns its sockets; it tells us which ones to watch (its socket-state
 * callback) and we watch them with sy_io_t, feeding readiness back through
 * ares_process_fd(). Its retransmission timeouts run on one sy_timer_t.
 * No thread, no blocking call: resolution costs the worker nothing while it
 * waits.
 *
 * Short cuts that send no query: IP literals and "localhost" (127.0.0.1,
 * then ::1), and names in the cache. The cache keeps answers for their TTL,
 * clamped to [1 s, cache_max_ttl_ms]. Lookups for the same name at the same
 * time share one query. Both IPv4 and IPv6 are asked for; addresses come in
 * c-ares's preference order (RFC 6724), and the caller tries them in turn.
 */
#ifndef SY_HTTP_DNS_H
#define SY_HTTP_DNS_H

#include <netinet/in.h>
#include <sys/socket.h>
#include "core/common.h"
#include "core/loop.h"

#define SY_DNS_MAX_ADDRS 8

typedef union {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
} sy_sockaddr_t;

typedef struct {
    sy_sockaddr_t addr[SY_DNS_MAX_ADDRS]; /* port 0: the caller sets it */
    size_t n;
} sy_dns_addrs_t;

static inline socklen_t sy_sockaddr_len(const sy_sockaddr_t *a)
{
    return a->sa.sa_family == AF_INET6 ? (socklen_t)sizeof(a->in6) : (socklen_t)sizeof(a->in);
}
void sy_sockaddr_set_port(sy_sockaddr_t *a, uint16_t port);
/* "1.2.3.4:80" or "[::1]:80" into out (NUL-terminated). */
void sy_sockaddr_format(const sy_sockaddr_t *a, char *out, size_t outsz);

typedef struct sy_dns sy_dns_t;
typedef struct sy_dns_query sy_dns_query_t;

/* status: SY_OK with addrs (n >= 1), or SY_ENOTFOUND / SY_ETIMEDOUT / SY_ERR
 * with err, a sentence valid during the call. */
typedef void (*sy_dns_cb)(sy_dns_query_t *q, int status, const sy_dns_addrs_t *addrs,
                          const char *err);

/* A caller-owned pending lookup (embed it in the request). */
struct sy_dns_query {
    sy_dns_query_t *prev, *next; /* waiters of the same lookup */
    void *lookup;                /* internal; NULL when not pending */
    sy_dns_cb cb;
    void *data;
    char err[320]; /* why a lookup failed at once (sy_dns_resolve < 0) */
};

typedef struct {
    const char *servers;       /* "127.0.0.1:53,[::1]:5353"; NULL: the system's resolv.conf */
    uint32_t timeout_ms;       /* first retransmission timeout; 0: 1500 */
    int tries;                 /* 0: 2 */
    uint32_t cache_max_ttl_ms; /* 0: 60 s */
    size_t cache_max_entries;  /* 0: 256 */
} sy_dns_options_t;

sy_dns_t *sy_dns_new(sy_loop_t *loop, const sy_dns_options_t *opt, char *err, size_t errsz);
/* Pending lookups must have been cancelled first. */
void sy_dns_free(sy_dns_t *dns);

/* Resolve host. Returns SY_OK with *out filled at once (literal, localhost,
 * cache hit, hosts file: cb is not called); SY_EAGAIN: cb(q, ...) is called
 * later, from the loop, exactly once unless sy_dns_cancel(q) comes first; or
 * a negative error at once (q->err says why; cb is not called). */
int sy_dns_resolve(sy_dns_t *dns, const char *host, sy_dns_addrs_t *out, sy_dns_query_t *q,
                   sy_dns_cb cb, void *data);
void sy_dns_cancel(sy_dns_query_t *q);

/* Counters for tests and metrics. */
typedef struct {
    uint64_t queries;  /* sent to c-ares */
    uint64_t cache_hits;
    uint64_t shortcuts; /* literals and localhost */
} sy_dns_stats_t;
sy_dns_stats_t sy_dns_stats(const sy_dns_t *dns);

#endif
