/*
 * dns.c - c-ares on the worker's loop, lookup coalescing, TTL cache.
 */
#include "http/dns.h"

#include <arpa/inet.h>
#include <ares.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/map.h"
#include "http/origin.h"

#define DNS_MIN_TTL_MS 1000

/* One c-ares socket being watched. Kept on a free list after c-ares closes
 * it (never freed before the resolver), so a readiness event queued for it
 * in the current epoll batch finds valid memory. */
typedef struct watcher {
    struct watcher *next;
    sy_io_t io;
    int fd;
    bool used;
    struct sy_dns *dns;
} watcher_t;

/* One query in flight, shared by every waiter for the same name. */
typedef struct lookup {
    struct sy_dns *dns;
    char host[SY_HTTP_HOST_MAX + 1];
    sy_dns_query_t *waiters;
} lookup_t;

typedef struct {
    char host[SY_HTTP_HOST_MAX + 1];
    uint64_t expires;
    sy_dns_addrs_t addrs;
} cache_entry_t;

struct sy_dns {
    sy_loop_t *loop;
    ares_channel channel;
    sy_timer_t timer;
    watcher_t *watchers;
    sy_map_t pending; /* host -> lookup_t */
    sy_map_t cache;   /* host -> cache_entry_t */
    sy_dns_options_t opt;
    sy_dns_stats_t stats;
    lookup_t *submitting; /* the lookup being handed to c-ares right now */
    int sync_status;      /* how a lookup answered synchronously ended */
    char sync_err[320];
    bool freeing;
};

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static void ares_init_once(void) { ares_library_init(ARES_LIB_INIT_ALL); }

void sy_sockaddr_set_port(sy_sockaddr_t *a, uint16_t port)
{
    if (a->sa.sa_family == AF_INET6)
        a->in6.sin6_port = htons(port);
    else
        a->in.sin_port = htons(port);
}

void sy_sockaddr_format(const sy_sockaddr_t *a, char *out, size_t outsz)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (a->sa.sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &a->in6.sin6_addr, ip, sizeof(ip));
        snprintf(out, outsz, "[%s]:%u", ip, (unsigned)ntohs(a->in6.sin6_port));
    } else {
        inet_ntop(AF_INET, &a->in.sin_addr, ip, sizeof(ip));
        snprintf(out, outsz, "%s:%u", ip, (unsigned)ntohs(a->in.sin_port));
    }
}

/* ---- c-ares <-> loop ---- */

static void update_timer(sy_dns_t *dns)
{
    struct timeval tv, *tvp = ares_timeout(dns->channel, NULL, &tv);
    if (!tvp) {
        sy_timer_stop(&dns->timer);
        return;
    }
    uint64_t ms = (uint64_t)tvp->tv_sec * 1000 + ((uint64_t)tvp->tv_usec + 999) / 1000;
    sy_timer_start(&dns->timer, ms);
}

static void timer_cb(sy_timer_t *t)
{
    sy_dns_t *dns = t->data;
    ares_process_fd(dns->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    update_timer(dns);
}

static void io_cb(sy_io_t *io, uint32_t events)
{
    watcher_t *w = io->data;
    sy_dns_t *dns = w->dns;
    int fd = w->fd;
    bool rd = events & (SY_IO_READ | SY_IO_ERR);
    bool wr = events & SY_IO_WRITE;
    ares_process_fd(dns->channel, rd ? fd : ARES_SOCKET_BAD, wr ? fd : ARES_SOCKET_BAD);
    update_timer(dns);
}

static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
    sy_dns_t *dns = data;
    watcher_t *w, *free_w = NULL;
    for (w = dns->watchers; w; w = w->next) {
        if (w->used && w->fd == fd)
            break;
        if (!w->used && !free_w)
            free_w = w;
    }
    uint32_t ev = (readable ? SY_IO_READ : 0) | (writable ? SY_IO_WRITE : 0);
    if (!w) {
        if (!ev)
            return;
        w = free_w;
        if (!w) {
            w = sy_calloc(1, sizeof(*w));
            w->dns = dns;
            w->next = dns->watchers;
            dns->watchers = w;
        }
        w->used = true;
        w->fd = fd;
        if (sy_io_start(dns->loop, &w->io, fd, ev, io_cb, w) != SY_OK)
            w->used = false; /* c-ares times the query out */
        return;
    }
    if (!ev) {
        sy_io_stop(&w->io);
        w->used = false;
        return;
    }
    sy_io_set(&w->io, ev);
}

/* ---- cache ---- */

static void cache_put(sy_dns_t *dns, const char *host, const sy_dns_addrs_t *a, uint64_t ttl_ms)
{
    uint64_t now = sy_loop_now(dns->loop);
    cache_entry_t *e = sy_map_get(&dns->cache, sy_str_c(host));
    if (!e) {
        if (dns->cache.len >= dns->opt.cache_max_entries) {
            /* Full: drop an expired entry, or else the first one found. The
             * cache only saves queries; any eviction order is correct. */
            size_t it = 0;
            sy_str_t k;
            void *v;
            cache_entry_t *victim = NULL;
            while (sy_map_next(&dns->cache, &it, &k, &v)) {
                cache_entry_t *c = v;
                if (!victim || c->expires <= now) {
                    victim = c;
                    if (c->expires <= now)
                        break;
                }
            }
            if (victim) {
                sy_map_del(&dns->cache, sy_str_c(victim->host));
                free(victim);
            }
        }
        e = sy_calloc(1, sizeof(*e));
        snprintf(e->host, sizeof(e->host), "%s", host);
        sy_map_put(&dns->cache, sy_str_c(e->host), e);
    }
    e->addrs = *a;
    e->expires = now + ttl_ms;
}

static bool cache_get(sy_dns_t *dns, const char *host, sy_dns_addrs_t *out)
{
    cache_entry_t *e = sy_map_get(&dns->cache, sy_str_c(host));
    if (!e)
        return false;
    if (e->expires <= sy_loop_now(dns->loop)) {
        sy_map_del(&dns->cache, sy_str_c(e->host));
        free(e);
        return false;
    }
    *out = e->addrs;
    return true;
}

/* ---- lookups ---- */

static void waiters_finish(lookup_t *l, int status, const sy_dns_addrs_t *a, const char *err)
{
    /* Callbacks may cancel other waiters or start new lookups: take one at
     * a time from the list head. */
    while (l->waiters) {
        sy_dns_query_t *q = l->waiters;
        l->waiters = q->next;
        if (l->waiters)
            l->waiters->prev = NULL;
        q->next = q->prev = NULL;
        q->lookup = NULL;
        q->cb(q, status, a, err);
    }
}

static void addrinfo_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    SY_UNUSED(timeouts);
    lookup_t *l = arg;
    sy_dns_t *dns = l->dns;
    if (status == ARES_EDESTRUCTION || dns->freeing) {
        if (res)
            ares_freeaddrinfo(res);
        free(l);
        return;
    }
    sy_map_del(&dns->pending, sy_str_c(l->host));
    if (l == dns->submitting)
        dns->submitting = NULL; /* answered inside ares_getaddrinfo (hosts file, error) */
    sy_dns_addrs_t a;
    memset(&a, 0, sizeof(a));
    int min_ttl = -1;
    if (status == ARES_SUCCESS && res) {
        for (struct ares_addrinfo_node *n = res->nodes; n && a.n < SY_DNS_MAX_ADDRS;
             n = n->ai_next) {
            if (n->ai_family == AF_INET && n->ai_addrlen >= sizeof(struct sockaddr_in))
                memcpy(&a.addr[a.n].in, n->ai_addr, sizeof(struct sockaddr_in));
            else if (n->ai_family == AF_INET6 && n->ai_addrlen >= sizeof(struct sockaddr_in6))
                memcpy(&a.addr[a.n].in6, n->ai_addr, sizeof(struct sockaddr_in6));
            else
                continue;
            sy_sockaddr_set_port(&a.addr[a.n], 0);
            a.n++;
            if (min_ttl < 0 || n->ai_ttl < min_ttl)
                min_ttl = n->ai_ttl;
        }
    }
    if (res)
        ares_freeaddrinfo(res);
    char err[320];
    if (a.n) {
        uint64_t ttl = min_ttl < 0 ? 0 : (uint64_t)min_ttl * 1000;
        ttl = SY_MAX(ttl, (uint64_t)DNS_MIN_TTL_MS);
        ttl = SY_MIN(ttl, (uint64_t)dns->opt.cache_max_ttl_ms);
        cache_put(dns, l->host, &a, ttl);
        dns->sync_status = SY_OK;
        waiters_finish(l, SY_OK, &a, NULL);
    } else {
        int st = SY_ERR;
        if (status == ARES_ENOTFOUND || status == ARES_ENODATA || status == ARES_ENONAME ||
            status == ARES_SUCCESS)
            st = SY_ENOTFOUND;
        else if (status == ARES_ETIMEOUT)
            st = SY_ETIMEDOUT;
        snprintf(err, sizeof(err), "cannot resolve %s: %s", l->host,
                 status == ARES_SUCCESS ? "no addresses" : ares_strerror(status));
        dns->sync_status = st;
        snprintf(dns->sync_err, sizeof(dns->sync_err), "%s", err);
        waiters_finish(l, st, NULL, err);
    }
    free(l);
}

static bool shortcut(const char *host, sy_dns_addrs_t *out)
{
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, host, &out->addr[0].in.sin_addr) == 1) {
        out->addr[0].in.sin_family = AF_INET;
        out->n = 1;
        return true;
    }
    if (inet_pton(AF_INET6, host, &out->addr[0].in6.sin6_addr) == 1) {
        out->addr[0].in6.sin6_family = AF_INET6;
        out->n = 1;
        return true;
    }
    if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0) {
        out->addr[0].in.sin_family = AF_INET;
        out->addr[0].in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        out->addr[1].in6.sin6_family = AF_INET6;
        out->addr[1].in6.sin6_addr = in6addr_loopback;
        out->n = 2;
        return true;
    }
    return false;
}

int sy_dns_resolve(sy_dns_t *dns, const char *host, sy_dns_addrs_t *out, sy_dns_query_t *q,
                   sy_dns_cb cb, void *data)
{
    if (shortcut(host, out)) {
        dns->stats.shortcuts++;
        return SY_OK;
    }
    if (cache_get(dns, host, out)) {
        dns->stats.cache_hits++;
        return SY_OK;
    }
    q->cb = cb;
    q->data = data;
    q->prev = NULL;
    lookup_t *l = sy_map_get(&dns->pending, sy_str_c(host));
    if (!l) {
        l = sy_calloc(1, sizeof(*l));
        l->dns = dns;
        snprintf(l->host, sizeof(l->host), "%s", host);
        sy_map_put(&dns->pending, sy_str_c(l->host), l);
        dns->stats.queries++;
        struct ares_addrinfo_hints hints;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        /* c-ares may answer inside this call (hosts file, bad name): the
         * waiter is linked only after it, so a callback never runs inside
         * sy_dns_resolve. */
        dns->submitting = l;
        ares_getaddrinfo(dns->channel, l->host, NULL, &hints, addrinfo_cb, l);
        if (dns->submitting == NULL) { /* answered (and l freed) already */
            if (dns->sync_status == SY_OK && cache_get(dns, host, out))
                return SY_OK;
            snprintf(q->err, sizeof(q->err), "%s", dns->sync_err);
            return dns->sync_status == SY_OK ? SY_ERR : dns->sync_status;
        }
        dns->submitting = NULL;
        update_timer(dns);
    }
    q->next = l->waiters;
    if (l->waiters)
        l->waiters->prev = q;
    l->waiters = q;
    q->lookup = l;
    return SY_EAGAIN;
}

void sy_dns_cancel(sy_dns_query_t *q)
{
    lookup_t *l = q->lookup;
    if (!l)
        return;
    if (q->prev)
        q->prev->next = q->next;
    else
        l->waiters = q->next;
    if (q->next)
        q->next->prev = q->prev;
    q->next = q->prev = NULL;
    q->lookup = NULL;
    /* The query itself runs on; its answer fills the cache. */
}

sy_dns_stats_t sy_dns_stats(const sy_dns_t *dns) { return dns->stats; }

sy_dns_t *sy_dns_new(sy_loop_t *loop, const sy_dns_options_t *opt, char *err, size_t errsz)
{
    pthread_once(&ares_once, ares_init_once);
    sy_dns_t *dns = sy_calloc(1, sizeof(*dns));
    dns->loop = loop;
    if (opt)
        dns->opt = *opt;
    if (!dns->opt.timeout_ms)
        dns->opt.timeout_ms = 1500;
    if (!dns->opt.tries)
        dns->opt.tries = 2;
    if (!dns->opt.cache_max_ttl_ms)
        dns->opt.cache_max_ttl_ms = 60000;
    if (!dns->opt.cache_max_entries)
        dns->opt.cache_max_entries = 256;
    sy_map_init(&dns->pending);
    sy_map_init(&dns->cache);
    sy_timer_init(&dns->timer, loop, timer_cb, dns);
    struct ares_options ao;
    memset(&ao, 0, sizeof(ao));
    ao.sock_state_cb = sock_state_cb;
    ao.sock_state_cb_data = dns;
    ao.timeout = (int)dns->opt.timeout_ms;
    ao.tries = dns->opt.tries;
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    int rc = ares_init_options(&dns->channel, &ao, mask);
    if (rc == ARES_SUCCESS && opt && opt->servers && opt->servers[0])
        rc = ares_set_servers_ports_csv(dns->channel, opt->servers);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errsz, "cannot start the DNS resolver: %s", ares_strerror(rc));
        if (dns->channel)
            ares_destroy(dns->channel);
        sy_map_free(&dns->pending);
        sy_map_free(&dns->cache);
        free(dns);
        return NULL;
    }
    return dns;
}

void sy_dns_free(sy_dns_t *dns)
{
    if (!dns)
        return;
    dns->freeing = true;
    ares_destroy(dns->channel); /* calls back every lookup with ARES_EDESTRUCTION */
    sy_timer_stop(&dns->timer);
    while (dns->watchers) {
        watcher_t *w = dns->watchers;
        dns->watchers = w->next;
        if (w->used)
            sy_io_stop(&w->io);
        free(w);
    }
    size_t it = 0;
    sy_str_t k;
    void *v;
    while (sy_map_next(&dns->cache, &it, &k, &v))
        free(v);
    sy_map_free(&dns->cache);
    sy_map_free(&dns->pending);
    free(dns);
}
