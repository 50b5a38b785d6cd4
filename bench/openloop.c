/*
 * openloop.c - an open-loop HTTP/1.1 load generator that measures latency
 * the way a user sees it.
 *
 *   build/bench/openloop --url http://127.0.0.1:4000/v1/chat/completions
 *        [--rate R] [--duration S] [--warmup S] [--connections C]
 *        [--requests N] [--body-file F | --body S] [-H 'Name: value']...
 *        [--timeout MS] [--hist FILE] [--label NAME]
 *
 * Open loop (--rate R > 0): request i is due at t0 + i/R whatever happened
 * to the requests before it. A due request goes out on the first idle
 * keep-alive connection; when every connection is busy it waits, and its
 * latency still counts from the time it was due. That is the correction for
 * coordinated omission: a closed-loop tool (wrk) stops sending while the
 * server stalls, so the stall never shows in its percentiles; here a 50 ms
 * stall shows as the 50 ms (and the 49 ms, 48 ms ...) the requests due
 * during it waited. The schedule is arithmetic (due time of request i), so
 * the timer is one timerfd armed at the next due time, with 1 ns timer
 * slack; each request is one send() of prebuilt bytes.
 *
 * Closed loop (--rate 0): every connection sends its next request as soon
 * as the previous answer is complete, until --requests N are done (or the
 * duration passes). Used for fixed-count runs (instructions per request
 * under callgrind) where the rate does not matter.
 *
 * Requests due in the first --warmup seconds are sent but not recorded.
 * Requests still unsent when the run ends (the server could not keep up)
 * are recorded with the time they had waited so far, a lower bound, and
 * reported as "backlog": a run with a backlog was above saturation.
 *
 * Output: a human summary, then one machine-readable line:
 *   RESULT label=... sent=... ok=... errors=... backlog=... rate=...
 *          p50_us=... p90_us=... p99_us=... p999_us=... p9999_us=... max_us=... mean_us=...
 * --hist FILE writes "percentile latency_us" rows (0 .. 99.999) for plots.
 *
 * Only plain HTTP to a numeric IPv4 or [IPv6] address (benchmarks run on
 * loopback). Responses are framed by Content-Length or chunked coding.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 4096
#define MAX_HEADERS 32
#define RBUF_SIZE (256 * 1024) /* a response head plus a body chunk at a time */

typedef enum { C_CONNECTING, C_IDLE, C_BUSY, C_DEAD } cstate_t;

/* Response framing, fed incrementally. */
typedef enum { R_HEAD, R_BODY_LEN, R_CHUNK_SIZE, R_CHUNK_DATA, R_CHUNK_CRLF, R_TRAILER } rstate_t;

typedef struct {
    int fd;
    cstate_t state;
    rstate_t rs;
    char *rbuf;
    size_t rlen;
    uint64_t remaining; /* body bytes left (length or current chunk) */
    int status;
    bool close_after;
    uint64_t due_ns;  /* when the request in flight was due (latency origin) */
    uint64_t sent_ns; /* when it was written (for the timeout) */
    bool record;
} conn_t;

static struct {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char *req;
    size_t reqlen;
    double rate;
    double duration, warmup;
    uint64_t max_requests;
    int nconns;
    uint64_t timeout_ns;
    const char *hist;
    const char *label;
    bool quiet;
} opt = {.rate = 0, .duration = 10, .warmup = 0, .nconns = 16, .timeout_ns = 10000000000ull,
         .label = "run"};

static conn_t conns[MAX_CONNS];
static int epfd, tfd;
static uint64_t t0;
static uint64_t next_idx;      /* open loop: next request index to send */
static uint64_t sent, ok, ok_recorded, errors, non2xx, timeouts, conn_errors, reconnects;
static uint64_t *lat;          /* recorded latencies, ns */
static size_t nlat, caplat;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *msg)
{
    fprintf(stderr, "openloop: %s\n", msg);
    exit(2);
}

static void record(uint64_t ns)
{
    if (nlat == caplat) {
        caplat = caplat ? caplat * 2 : 65536;
        lat = realloc(lat, caplat * sizeof(*lat));
        if (!lat)
            die("out of memory");
    }
    lat[nlat++] = ns;
}

/* ---- setup ---- */

static void parse_url(const char *url, char **hostport, char **path)
{
    if (strncmp(url, "http://", 7) != 0)
        die("only http:// URLs are supported");
    const char *h = url + 7;
    const char *slash = strchr(h, '/');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    *hostport = strndup(h, hl);
    *path = strdup(slash ? slash : "/");
    char host[256];
    int port = 80;
    const char *hp = *hostport;
    if (hp[0] == '[') {
        const char *end = strchr(hp, ']');
        if (!end || (size_t)(end - hp - 1) >= sizeof(host))
            die("bad IPv6 address in URL");
        memcpy(host, hp + 1, (size_t)(end - hp - 1));
        host[end - hp - 1] = 0;
        if (end[1] == ':')
            port = atoi(end + 2);
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&opt.addr;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
            die("URL host must be a numeric address");
        opt.addrlen = sizeof(*s6);
    } else {
        const char *colon = strchr(hp, ':');
        size_t n = colon ? (size_t)(colon - hp) : strlen(hp);
        if (n >= sizeof(host))
            die("host too long");
        memcpy(host, hp, n);
        host[n] = 0;
        if (colon)
            port = atoi(colon + 1);
        struct sockaddr_in *s4 = (struct sockaddr_in *)&opt.addr;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
            die("URL host must be a numeric address");
        opt.addrlen = sizeof(*s4);
    }
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open body file");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
        die("cannot read body file");
    fclose(f);
    b[n] = 0;
    *len = (size_t)n;
    return b;
}

static void build_request(const char *url, const char *method, const char *body, size_t bodylen,
                          char **hdrs, int nhdrs)
{
    char *hostport, *path;
    parse_url(url, &hostport, &path);
    size_t cap = 4096 + bodylen + strlen(path);
    for (int i = 0; i < nhdrs; i++)
        cap += strlen(hdrs[i]) + 2;
    char *r = malloc(cap);
    size_t n = (size_t)snprintf(r, cap, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, hostport);
    for (int i = 0; i < nhdrs; i++)
        n += (size_t)snprintf(r + n, cap - n, "%s\r\n", hdrs[i]);
    if (body)
        n += (size_t)snprintf(r + n, cap - n, "Content-Length: %zu\r\n", bodylen);
    n += (size_t)snprintf(r + n, cap - n, "\r\n");
    if (body) {
        memcpy(r + n, body, bodylen);
        n += bodylen;
    }
    opt.req = r;
    opt.reqlen = n;
    free(hostport);
    free(path);
}

/* ---- connections ---- */

static void conn_open(conn_t *c)
{
    int fd = socket(opt.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket failed (raise ulimit -n?)");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&opt.addr, opt.addrlen) < 0 && errno != EINPROGRESS)
        die("connect failed");
    c->fd = fd;
    c->state = C_CONNECTING;
    c->rs = R_HEAD;
    c->rlen = 0;
    c->close_after = false;
    if (!c->rbuf)
        c->rbuf = malloc(RBUF_SIZE);
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void conn_watch(conn_t *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* The connection failed or was closed: count the request in flight as an
 * error (its latency is not recorded) and open a new one. */
static void conn_reset(conn_t *c, bool error)
{
    if (c->state == C_BUSY && error) {
        errors++;
        conn_errors++;
    }
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    reconnects++;
    conn_open(c);
}

static bool send_request(conn_t *c, uint64_t due, bool rec)
{
    ssize_t n = send(c->fd, opt.req, opt.reqlen, MSG_NOSIGNAL);
    if (n != (ssize_t)opt.reqlen) {
        /* A keep-alive socket with an empty send buffer takes a small
         * request whole; anything else means the connection is broken. */
        conn_reset(c, false);
        return false;
    }
    c->state = C_BUSY;
    c->due_ns = due;
    c->sent_ns = now_ns();
    c->record = rec;
    c->rs = R_HEAD;
    sent++;
    return true;
}

static uint64_t due_of(uint64_t i) { return t0 + (uint64_t)((double)i * 1e9 / opt.rate); }

static uint64_t end_ns(void) { return t0 + (uint64_t)((opt.warmup + opt.duration) * 1e9); }

static uint64_t warm_ns(void) { return t0 + (uint64_t)(opt.warmup * 1e9); }

static bool finished_sending(uint64_t now)
{
    if (opt.rate > 0)
        return due_of(next_idx) >= end_ns() || (opt.max_requests && next_idx >= opt.max_requests);
    return now >= end_ns() || (opt.max_requests && sent >= opt.max_requests);
}

/* Send every due request that has an idle connection to go on. */
static void dispatch(uint64_t now)
{
    for (int i = 0; i < opt.nconns; i++) {
        conn_t *c = &conns[i];
        if (c->state != C_IDLE)
            continue;
        if (opt.rate > 0) {
            if (finished_sending(now))
                return;
            uint64_t due = due_of(next_idx);
            if (due > now)
                return;
            if (send_request(c, due, due >= warm_ns()))
                next_idx++;
        } else {
            if (finished_sending(now))
                return;
            send_request(c, now, now >= warm_ns());
        }
    }
}

static void arm_timer(uint64_t now)
{
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    uint64_t at;
    bool idle = false;
    for (int i = 0; i < opt.nconns && !idle; i++)
        idle = conns[i].state == C_IDLE;
    /* With every connection busy the next send waits for an answer, not for
     * the clock (arming the timer for a due time already past would spin). */
    if (opt.rate > 0 && idle && !finished_sending(now))
        at = due_of(next_idx);
    else
        at = now + 100000000ull; /* a periodic check for the end and timeouts */
    if (at <= now)
        at = now + 1000;
    its.it_value.tv_sec = (time_t)(at / 1000000000ull);
    its.it_value.tv_nsec = (long)(at % 1000000000ull);
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* ---- response framing ---- */

static void complete(conn_t *c, uint64_t now)
{
    if (c->status >= 200 && c->status < 300) {
        ok++;
        if (c->record) {
            ok_recorded++;
            record(now - c->due_ns);
        }
    } else {
        errors++;
        non2xx++;
    }
    c->state = C_IDLE;
    c->rs = R_HEAD;
    if (c->close_after)
        conn_reset(c, false);
}

static bool header_is(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);
    return len > n && line[n] == ':' && strncasecmp(line, name, n) == 0;
}

/* Parse a complete head in c->rbuf[0..hl). Returns false on garbage. */
static bool parse_head(conn_t *c, size_t hl)
{
    const char *p = c->rbuf;
    if (hl < 12 || memcmp(p, "HTTP/1.", 7) != 0)
        return false;
    c->status = atoi(p + 9);
    bool chunked = false, have_len = false;
    uint64_t len = 0;
    c->close_after = p[7] == '0';
    const char *line = memchr(p, '\n', hl);
    while (line && (size_t)(line + 1 - p) < hl) {
        line++;
        const char *eol = memchr(line, '\n', hl - (size_t)(line - p));
        if (!eol)
            break;
        size_t ll = (size_t)(eol - line);
        if (header_is(line, ll, "content-length")) {
            len = strtoull(line + 15, NULL, 10);
            have_len = true;
        } else if (header_is(line, ll, "transfer-encoding")) {
            chunked = memmem(line, ll, "chunked", 7) != NULL;
        } else if (header_is(line, ll, "connection")) {
            if (memmem(line, ll, "close", 5))
                c->close_after = true;
        }
        line = eol;
    }
    if (chunked) {
        c->rs = R_CHUNK_SIZE;
    } else if (have_len) {
        c->rs = R_BODY_LEN;
        c->remaining = len;
    } else {
        return false; /* close-delimited bodies are not used by the servers under test */
    }
    return true;
}

/* Consume what the buffer holds; returns false if the connection must go. */
static bool process(conn_t *c, uint64_t now)
{
    size_t off = 0;
    for (;;) {
        char *b = c->rbuf + off;
        size_t n = c->rlen - off;
        if (c->state != C_BUSY) {
            if (n)
                return false; /* bytes nobody asked for */
            break;
        }
        if (c->rs == R_HEAD) {
            char *e = memmem(b, n, "\r\n\r\n", 4);
            if (!e) {
                if (n > RBUF_SIZE / 2)
                    return false;
                break;
            }
            size_t hl = (size_t)(e - b) + 4;
            if (!parse_head(c, hl))
                return false;
            off += hl;
            if (c->rs == R_BODY_LEN && c->remaining == 0)
                complete(c, now);
            continue;
        }
        if (c->rs == R_BODY_LEN || c->rs == R_CHUNK_DATA) {
            uint64_t take = c->remaining < n ? c->remaining : n;
            off += take;
            c->remaining -= take;
            if (c->remaining)
                break;
            if (c->rs == R_BODY_LEN)
                complete(c, now);
            else
                c->rs = R_CHUNK_CRLF;
            continue;
        }
        if (c->rs == R_CHUNK_CRLF) {
            if (n < 2)
                break;
            off += 2;
            c->rs = R_CHUNK_SIZE;
            continue;
        }
        /* R_CHUNK_SIZE and R_TRAILER: line based */
        char *eol = memmem(b, n, "\r\n", 2);
        if (!eol)
            break;
        size_t ll = (size_t)(eol - b);
        off += ll + 2;
        if (c->rs == R_CHUNK_SIZE) {
            uint64_t sz = strtoull(b, NULL, 16);
            if (sz == 0)
                c->rs = R_TRAILER;
            else {
                c->rs = R_CHUNK_DATA;
                c->remaining = sz;
            }
        } else if (ll == 0) {
            complete(c, now);
        }
    }
    if (c->state == C_DEAD)
        return true;
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
    return true;
}

static void on_conn(conn_t *c, uint32_t events, uint64_t now)
{
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err || (events & (EPOLLERR | EPOLLHUP))) {
            conn_errors++;
            errors++;
            usleep(10000);
            conn_reset(c, false);
            return;
        }
        c->state = C_IDLE;
        conn_watch(c, EPOLLIN);
        return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        for (;;) {
            ssize_t n = recv(c->fd, c->rbuf + c->rlen, RBUF_SIZE - c->rlen, 0);
            if (n > 0) {
                c->rlen += (size_t)n;
                int fd = c->fd;
                if (!process(c, now)) {
                    conn_reset(c, true);
                    return;
                }
                if (c->fd != fd) /* reconnected after Connection: close */
                    return;
                if (c->rlen == RBUF_SIZE)
                    continue;
                if ((size_t)n < RBUF_SIZE - c->rlen)
                    break;
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                break;
            conn_reset(c, true); /* EOF or error */
            return;
        }
    }
}

/* ---- results ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(double p)
{
    if (nlat == 0)
        return 0;
    size_t i = (size_t)ceil(p / 100.0 * (double)nlat);
    if (i > 0)
        i--;
    if (i >= nlat)
        i = nlat - 1;
    return (double)lat[i] / 1000.0;
}

static void report(uint64_t elapsed_ns, uint64_t backlog)
{
    qsort(lat, nlat, sizeof(*lat), cmp_u64);
    double sum = 0;
    for (size_t i = 0; i < nlat; i++)
        sum += (double)lat[i];
    double mean = nlat ? sum / (double)nlat / 1000.0 : 0;
    double secs = (double)elapsed_ns / 1e9;
    double rate = secs > 0 ? (double)ok_recorded / secs : 0;
    if (!opt.quiet) {
        printf("%s: %llu sent, %llu ok, %llu errors (%llu non-2xx, %llu timeouts, %llu connection), "
               "backlog %llu, %.0f req/s over %.2fs\n",
               opt.label, (unsigned long long)sent, (unsigned long long)ok,
               (unsigned long long)errors, (unsigned long long)non2xx,
               (unsigned long long)timeouts, (unsigned long long)conn_errors,
               (unsigned long long)backlog, rate, secs);
        printf("  latency (us, from the scheduled send time): p50 %.1f  p90 %.1f  p99 %.1f  "
               "p99.9 %.1f  p99.99 %.1f  max %.1f  mean %.1f  (%zu recorded)\n",
               pct(50), pct(90), pct(99), pct(99.9), pct(99.99), pct(100), mean, nlat);
    }
    printf("RESULT label=%s sent=%llu ok=%llu errors=%llu backlog=%llu rate=%.1f recorded=%zu "
           "p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f p9999_us=%.1f max_us=%.1f "
           "mean_us=%.1f\n",
           opt.label, (unsigned long long)sent, (unsigned long long)ok,
           (unsigned long long)errors, (unsigned long long)backlog, rate, nlat, pct(50), pct(90),
           pct(99), pct(99.9), pct(99.99), pct(100), mean);
    if (opt.hist) {
        FILE *f = fopen(opt.hist, "w");
        if (!f)
            die("cannot write --hist file");
        fprintf(f, "# %s: percentile latency_us (coordinated-omission corrected)\n", opt.label);
        for (double q = 0; q < 99.9991;) {
            fprintf(f, "%.4f %.1f\n", q, pct(q > 0 ? q : 0.0001));
            /* log-spaced in 1/(1-q): fine resolution in the tail */
            double tail = 100.0 - q;
            q += tail * 0.05 > 0.0005 ? tail * 0.05 : 0.0005;
        }
        fprintf(f, "%.4f %.1f\n", 99.999, pct(99.999));
        fclose(f);
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: openloop --url http://ADDR:PORT/PATH [--rate R] [--duration S] [--warmup S]\n"
            "                [--connections C] [--requests N] [--body-file F | --body S]\n"
            "                [-H 'Name: value']... [--method M] [--timeout MS] [--hist FILE]\n"
            "                [--label NAME] [--quiet]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *url = NULL, *method = NULL;
    char *body = NULL;
    size_t bodylen = 0;
    char *hdrs[MAX_HEADERS];
    int nhdrs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quiet")) {
            opt.quiet = true;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (!strcmp(a, "--url"))
            url = v;
        else if (!strcmp(a, "--rate"))
            opt.rate = atof(v);
        else if (!strcmp(a, "--duration"))
            opt.duration = atof(v);
        else if (!strcmp(a, "--warmup"))
            opt.warmup = atof(v);
        else if (!strcmp(a, "--connections") || !strcmp(a, "-c"))
            opt.nconns = atoi(v);
        else if (!strcmp(a, "--requests"))
            opt.max_requests = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--body-file"))
            body = read_file(v, &bodylen);
        else if (!strcmp(a, "--body")) {
            body = strdup(v);
            bodylen = strlen(v);
        } else if (!strcmp(a, "-H")) {
            if (nhdrs == MAX_HEADERS)
                die("too many headers");
            hdrs[nhdrs++] = (char *)v;
        } else if (!strcmp(a, "--method"))
            method = v;
        else if (!strcmp(a, "--timeout"))
            opt.timeout_ns = strtoull(v, NULL, 10) * 1000000ull;
        else if (!strcmp(a, "--hist"))
            opt.hist = v;
        else if (!strcmp(a, "--label"))
            opt.label = v;
        else
            usage();
    }
    if (!url || opt.nconns < 1 || opt.nconns > MAX_CONNS || opt.rate < 0 || opt.duration <= 0)
        usage();
    if (opt.max_requests && opt.rate == 0 && opt.duration == 10)
        opt.duration = 3600; /* a fixed count: the count ends the run */
    build_request(url, method ? method : (body ? "POST" : "GET"), body, bodylen, hdrs, nhdrs);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

    epfd = epoll_create1(EPOLL_CLOEXEC);
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &tev);
    for (int i = 0; i < opt.nconns; i++)
        conn_open(&conns[i]);
    /* Wait until every connection is up, so connecting is not measured. */
    uint64_t deadline = now_ns() + 5000000000ull;
    for (;;) {
        int up = 0;
        for (int i = 0; i < opt.nconns; i++)
            up += conns[i].state == C_IDLE;
        if (up == opt.nconns)
            break;
        if (now_ns() > deadline)
            die("could not connect");
        struct epoll_event evs[256];
        int n = epoll_wait(epfd, evs, 256, 100);
        for (int k = 0; k < n; k++)
            if (evs[k].data.ptr)
                on_conn(evs[k].data.ptr, evs[k].events, now_ns());
    }

    t0 = now_ns();
    uint64_t stop_at = 0;
    for (;;) {
        uint64_t now = now_ns();
        dispatch(now);
        bool done_sending = finished_sending(now);
        bool inflight = false;
        for (int i = 0; i < opt.nconns; i++) {
            conn_t *c = &conns[i];
            if (c->state == C_BUSY) {
                inflight = true;
                if (now > c->sent_ns && now - c->sent_ns > opt.timeout_ns) {
                    timeouts++;
                    conn_reset(c, true);
                }
            }
        }
        if (done_sending && !inflight)
            break;
        if (done_sending && !stop_at)
            stop_at = now + opt.timeout_ns;
        if (stop_at && now > stop_at)
            break;
        arm_timer(now);
        struct epoll_event evs[512];
        int n = epoll_wait(epfd, evs, 512, -1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait failed");
        now = now_ns();
        for (int k = 0; k < n; k++) {
            if (evs[k].data.ptr == NULL) {
                uint64_t exp;
                (void)!read(tfd, &exp, sizeof(exp));
                continue;
            }
            on_conn(evs[k].data.ptr, evs[k].events, now);
        }
    }
    uint64_t end = now_ns();
    /* Requests that were due but never sent (the server could not keep up):
     * record what they waited so far, a lower bound on their latency. */
    uint64_t backlog = 0;
    if (opt.rate > 0) {
        uint64_t last = end < end_ns() ? end : end_ns();
        for (uint64_t i = next_idx; due_of(i) < last; i++, backlog++)
            if (due_of(i) >= warm_ns())
                record(end - due_of(i));
    }
    uint64_t measured = end - warm_ns();
    if (opt.rate > 0 && end > end_ns())
        measured = end_ns() - warm_ns();
    report(measured, backlog);
    return 0;
}
