/*
 * streams.c - many concurrent SSE streams, timed event by event at the client.
 *
 *   build/bench/streams --url http://127.0.0.1:4000/v1/chat/completions
 *        --body-file F [-H 'Name: value']... --streams N [--ramp R]
 *        [--period-ms P] [--sources K] [--pid NAME=PID]... [--timeout S]
 *        [--label L] [--hist FILE]
 *
 * Opens N keep-alive-less HTTP/1.1 connections at R per second (default
 * 2000/s), sends the same streaming request on each, and reads the chunked
 * SSE answers on one epoll loop. For every stream it notes when its first
 * content event arrived (time to first token, from the request's send) and
 * then how late each later content event is against the upstream's own
 * schedule: the simulator paced at T tokens per second sends content event
 * j at first + k(j) * P, where P = 1000/T ms and k(j) is the number of
 * tokens in the content events before j (one per OpenAI chunk, several per
 * Anthropic text_delta; counted with the simulator's tokenizer), so
 *
 *     lateness(j) = arrival(j) - (arrival(first) + k(j) * P)
 *
 * measured at the client. An event more than 10 ms late is a stall. Content
 * events are OpenAI chunks with a non-empty delta.content, or Anthropic
 * text_delta events.
 *
 * Memory: with --pid NAME=PID (repeatable; several PIDs may share a NAME and
 * are added up) it reads VmRSS before the first connection, then every 100
 * ms while streams run; "active" is the RSS once every stream has had its
 * first event, "peak" the highest sample. per_stream = (active - base) / N.
 *
 * --sources K binds the connections round-robin to 127.0.0.1 .. 127.0.0.K,
 * for when N exceeds the ephemeral port range towards one address.
 *
 * CPU: utime+stime of each --pid process over the run, and the client's own,
 * divided by the content events delivered (cpu_us_per_event).
 *
 * Output: a human summary and machine-readable lines:
 *   RESULT label=... streams=... completed=... failed=... ttft_p50_us=...
 *          ttft_p99_us=... ttft_max_us=... events=... late_p50_us=...
 *          late_p99_us=... late_p999_us=... late_max_us=... stalls=...
 *   RSS label=... name=... base_kb=... active_kb=... peak_kb=... per_stream_b=...
 * --hist FILE writes "percentile lateness_us" rows (0 .. 99.999) for plots.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEADERS 32
#define MAX_PIDS 16
#define RBUF 16384
#define HIST_US 10                 /* lateness histogram bucket width */
#define HIST_N (10 * 1000 * 1000 / HIST_US) /* up to 10 s */
#define STALL_US 10000

typedef enum { S_IDLE, S_CONNECTING, S_HEAD, S_BODY, S_DONE, S_FAILED } sstate_t;
typedef enum { K_SIZE, K_DATA, K_CRLF, K_END } kstate_t;

typedef struct {
    int fd;
    sstate_t state;
    kstate_t ks;
    uint64_t chunk_left;
    char *buf; /* raw bytes (head, chunk framing) */
    size_t len;
    char *ev;  /* decoded SSE bytes not yet split into events */
    size_t evlen;
    uint64_t t_send, t_first;
    uint32_t ncontent;
    uint64_t tokens; /* tokens in the content events so far (the schedule) */
    uint32_t max_late_us;
    bool done_marker;
} stream_t;

static struct {
    struct sockaddr_in addr;
    char *req;
    size_t reqlen;
    int n;
    double ramp;
    double period_us;
    int sources;
    double timeout_s;
    const char *label;
    const char *hist;
} opt = {.n = 1000, .ramp = 2000, .period_us = 50000, .sources = 1, .timeout_s = 120,
         .label = "streams"};

static struct {
    const char *name;
    int pid;
    long base, active, peak;
    long long cpu0, cpu1; /* utime+stime ticks at start and end */
} pids[MAX_PIDS];
static int npids;

static stream_t *st;
static int epfd;
static uint32_t *hist;
static uint64_t nevents, nstalls, hist_over;
static uint32_t max_late_all;
static uint64_t *ttfts;
static int nttft, nfirst, ncompleted, nfailed, nconnected;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *m)
{
    fprintf(stderr, "streams: %s\n", m);
    exit(2);
}

static long rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmRSS:", 6)) {
            kb = atol(line + 6);
            break;
        }
    fclose(f);
    return kb;
}

/* utime + stime of a process, in clock ticks (all threads). */
static long long cpu_ticks(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    long long ut = 0, stime = 0;
    /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &ut, &stime) != 2)
        return -1;
    return ut + stime;
}

/* Sum per NAME of the sampled RSS, into the field chosen by which. */
static void sample_rss(int which)
{
    for (int i = 0; i < npids; i++) {
        long kb = rss_kb(pids[i].pid);
        if (kb < 0)
            continue;
        if (which == 0)
            pids[i].base = kb;
        else if (which == 1)
            pids[i].active = kb;
        if (kb > pids[i].peak)
            pids[i].peak = kb;
    }
}

/* ---- request ---- */

static void build(const char *url, const char *body, size_t bodylen, char **hdrs, int nh)
{
    if (strncmp(url, "http://", 7))
        die("only http:// URLs");
    const char *h = url + 7, *slash = strchr(h, '/');
    char hostport[128], host[64];
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    if (hl >= sizeof(hostport))
        die("bad URL");
    memcpy(hostport, h, hl);
    hostport[hl] = 0;
    const char *colon = strchr(hostport, ':');
    size_t n = colon ? (size_t)(colon - hostport) : strlen(hostport);
    if (n >= sizeof(host))
        die("bad host");
    memcpy(host, hostport, n);
    host[n] = 0;
    opt.addr.sin_family = AF_INET;
    opt.addr.sin_port = htons((uint16_t)(colon ? atoi(colon + 1) : 80));
    if (inet_pton(AF_INET, host, &opt.addr.sin_addr) != 1)
        die("the URL host must be a numeric IPv4 address");
    size_t cap = 4096 + bodylen;
    for (int i = 0; i < nh; i++)
        cap += strlen(hdrs[i]) + 2;
    char *r = malloc(cap);
    size_t k = (size_t)snprintf(r, cap, "POST %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n",
                                slash ? slash : "/", hostport);
    for (int i = 0; i < nh; i++)
        k += (size_t)snprintf(r + k, cap - k, "%s\r\n", hdrs[i]);
    k += (size_t)snprintf(r + k, cap - k, "Content-Length: %zu\r\nConnection: close\r\n\r\n", bodylen);
    memcpy(r + k, body, bodylen);
    opt.req = r;
    opt.reqlen = k + bodylen;
}

/* ---- per stream ---- */

static void fail(stream_t *s)
{
    if (s->state == S_DONE || s->state == S_FAILED)
        return;
    if (s->fd >= 0) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
        close(s->fd);
        s->fd = -1;
    }
    if (s->t_first)
        nfirst--; /* no longer an active stream */
    s->state = S_FAILED;
    nfailed++;
}

static void finish(stream_t *s)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    s->fd = -1;
    if (s->done_marker && s->ncontent > 0) {
        s->state = S_DONE;
        ncompleted++;
    } else {
        if (s->t_first)
            nfirst--;
        s->state = S_FAILED;
        nfailed++;
    }
    free(s->buf);
    free(s->ev);
    s->buf = s->ev = NULL;
}

static void open_stream(stream_t *s, int idx)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket failed (ulimit -n too low?)");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (opt.sources > 1) {
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(idx % opt.sources));
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)
            die("bind to a 127.0.0.x source failed");
    }
    s->fd = fd;
    s->state = S_CONNECTING;
    s->buf = malloc(RBUF);
    s->ev = malloc(RBUF);
    if (connect(fd, (struct sockaddr *)&opt.addr, sizeof(opt.addr)) < 0 && errno != EINPROGRESS) {
        fail(s);
        return;
    }
    struct epoll_event e = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = s};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e);
}

/* The text of a content event (still JSON-escaped), or NULL: an OpenAI
 * chunk's non-empty delta.content, an Anthropic text_delta's text. */
static const char *content_text(const char *d, size_t n, size_t *len)
{
    const char *k = memmem(d, n, "\"content\":\"", 11);
    size_t klen = 11;
    if (!k || (size_t)(k - d) + klen >= n || k[klen] == '"') {
        if (!memmem(d, n, "\"text_delta\"", 12))
            return NULL;
        k = memmem(d, n, "\"text\":\"", 8);
        klen = 8;
        if (!k)
            return NULL;
    }
    const char *t = k + klen, *end = d + n, *q = t;
    while (q < end && *q != '"')
        q += (*q == '\\') ? 2 : 1;
    *len = (size_t)((q < end ? q : end) - t);
    return t;
}

/*
 * Tokens in a text, by the simulator's tokenizer (docs/sim.md): a token is
 * a run of ASCII letters, digits and non-ASCII bytes, or any one other
 * non-space character; whitespace belongs to the token after it. The
 * simulator paces by tokens (an Anthropic text_delta carries several), so
 * content event j is due at first + (tokens before j) / tps.
 */
static uint64_t count_tokens(const char *t, size_t n)
{
    uint64_t count = 0;
    bool word = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c == '\\' && i + 1 < n) {
            char e = t[++i];
            if (e == 'n' || e == 't' || e == 'r') {
                word = false; /* whitespace */
            } else if (e == 'u') {
                i += 4; /* a non-ASCII character: part of a word */
                if (!word)
                    count++;
                word = true;
            } else {
                count++; /* an escaped quote, backslash or slash */
                word = false;
            }
            continue;
        }
        if (c == ' ') {
            word = false;
        } else if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   c >= 0x80) {
            if (!word)
                count++;
            word = true;
        } else {
            count++;
            word = false;
        }
    }
    return count;
}

static void on_event(stream_t *s, const char *e, size_t n, uint64_t now)
{
    const char *text;
    size_t tlen;
    /* data lines of one event */
    const char *p = e, *end = e + n;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t ll = eol ? (size_t)(eol - p) : (size_t)(end - p);
        if (ll >= 5 && !memcmp(p, "data:", 5)) {
            const char *d = p + 5;
            size_t dl = ll - 5;
            if (dl && *d == ' ') {
                d++;
                dl--;
            }
            if (dl == 6 && !memcmp(d, "[DONE]", 6)) {
                s->done_marker = true;
            } else if (memmem(d, dl, "\"message_stop\"", 14)) {
                s->done_marker = true;
            } else if ((text = content_text(d, dl, &tlen)) != NULL) {
                if (!s->t_first) {
                    s->t_first = now;
                    ttfts[nttft++] = now - s->t_send;
                    nfirst++;
                } else {
                    double expect = (double)s->t_first + (double)s->tokens * opt.period_us * 1000.0;
                    double late = ((double)now - expect) / 1000.0;
                    uint32_t l = late > 0 ? (uint32_t)late : 0;
                    if (l / HIST_US < HIST_N)
                        hist[l / HIST_US]++;
                    else
                        hist_over++;
                    if (l > s->max_late_us)
                        s->max_late_us = l;
                    if (l > max_late_all)
                        max_late_all = l;
                    if (l > STALL_US)
                        nstalls++;
                    nevents++;
                }
                s->ncontent++;
                s->tokens += count_tokens(text, tlen);
            }
        }
        p += ll + 1;
    }
}

/* Feed decoded body bytes: split into events at blank lines. */
static bool feed_sse(stream_t *s, const char *d, size_t n, uint64_t now)
{
    if (s->evlen + n > RBUF)
        return false;
    memcpy(s->ev + s->evlen, d, n);
    s->evlen += n;
    size_t off = 0;
    for (;;) {
        char *b = s->ev + off;
        size_t left = s->evlen - off;
        char *sep = memmem(b, left, "\n\n", 2);
        if (!sep)
            break;
        on_event(s, b, (size_t)(sep - b) + 1, now);
        off += (size_t)(sep - b) + 2;
    }
    memmove(s->ev, s->ev + off, s->evlen - off);
    s->evlen -= off;
    return true;
}

/* Consume raw bytes in s->buf: the head, then chunked framing. */
static bool process(stream_t *s, uint64_t now)
{
    size_t off = 0;
    if (s->state == S_HEAD) {
        char *e = memmem(s->buf, s->len, "\r\n\r\n", 4);
        if (!e)
            return s->len < RBUF;
        if (s->len < 12 || memcmp(s->buf + 9, "200", 3))
            return false;
        off = (size_t)(e - s->buf) + 4;
        s->state = S_BODY;
        s->ks = K_SIZE;
    }
    while (s->state == S_BODY && off < s->len) {
        char *b = s->buf + off;
        size_t n = s->len - off;
        if (s->ks == K_SIZE) {
            char *eol = memmem(b, n, "\r\n", 2);
            if (!eol)
                break;
            s->chunk_left = strtoull(b, NULL, 16);
            off += (size_t)(eol - b) + 2;
            s->ks = s->chunk_left ? K_DATA : K_END;
        } else if (s->ks == K_DATA) {
            size_t take = s->chunk_left < n ? (size_t)s->chunk_left : n;
            if (!feed_sse(s, b, take, now))
                return false;
            off += take;
            s->chunk_left -= take;
            if (!s->chunk_left)
                s->ks = K_CRLF;
        } else if (s->ks == K_CRLF) {
            if (n < 2)
                break;
            off += 2;
            s->ks = K_SIZE;
        } else {
            off = s->len; /* trailer: the stream is complete */
        }
    }
    memmove(s->buf, s->buf + off, s->len - off);
    s->len -= off;
    return true;
}

static void on_io(stream_t *s, uint32_t events, uint64_t now)
{
    if (s->state == S_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            fail(s);
            return;
        }
        if (send(s->fd, opt.req, opt.reqlen, MSG_NOSIGNAL) != (ssize_t)opt.reqlen) {
            fail(s);
            return;
        }
        s->t_send = now_ns();
        s->state = S_HEAD;
        nconnected++;
        struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = s};
        epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &e);
        return;
    }
    for (;;) {
        ssize_t r = recv(s->fd, s->buf + s->len, RBUF - s->len, 0);
        if (r > 0) {
            s->len += (size_t)r;
            if (!process(s, now)) {
                fail(s);
                return;
            }
            if (s->len == RBUF) {
                fail(s);
                return;
            }
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        finish(s); /* EOF (the request asked for Connection: close) or error */
        return;
    }
    (void)events;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double hist_pct(double p)
{
    uint64_t total = nevents;
    if (!total)
        return 0;
    uint64_t want = (uint64_t)((double)total * p / 100.0);
    if (want >= total)
        want = total - 1;
    uint64_t acc = 0;
    for (size_t i = 0; i < HIST_N; i++) {
        acc += hist[i];
        if (acc > want)
            return (double)(i * HIST_US);
    }
    return (double)max_late_all;
}

static void usage(void)
{
    fprintf(stderr, "usage: streams --url URL --body-file F [-H H]... --streams N [--ramp R]\n"
                    "               [--period-ms P] [--sources K] [--pid NAME=PID]... [--timeout S]\n"
                    "               [--label L] [--hist FILE]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    char *body = NULL;
    size_t bodylen = 0;
    char *hdrs[MAX_HEADERS];
    int nh = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--url"))
            url = v;
        else if (!strcmp(a, "--body-file")) {
            FILE *f = fopen(v, "rb");
            if (!f)
                die("cannot open body file");
            body = malloc(1 << 20);
            bodylen = fread(body, 1, 1 << 20, f);
            fclose(f);
        } else if (!strcmp(a, "-H")) {
            if (nh == MAX_HEADERS)
                die("too many headers");
            hdrs[nh++] = (char *)v;
        } else if (!strcmp(a, "--streams"))
            opt.n = atoi(v);
        else if (!strcmp(a, "--ramp"))
            opt.ramp = atof(v);
        else if (!strcmp(a, "--period-ms"))
            opt.period_us = atof(v) * 1000.0;
        else if (!strcmp(a, "--sources"))
            opt.sources = atoi(v);
        else if (!strcmp(a, "--timeout"))
            opt.timeout_s = atof(v);
        else if (!strcmp(a, "--label"))
            opt.label = v;
        else if (!strcmp(a, "--hist"))
            opt.hist = v;
        else if (!strcmp(a, "--pid")) {
            const char *eq = strchr(v, '=');
            if (!eq || npids == MAX_PIDS)
                usage();
            pids[npids].name = strndup(v, (size_t)(eq - v));
            pids[npids].pid = atoi(eq + 1);
            npids++;
        } else
            usage();
    }
    if (!url || !body || opt.n < 1 || opt.ramp <= 0 || opt.sources < 1 || opt.sources > 250)
        usage();
    build(url, body, bodylen, hdrs, nh);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)opt.n + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)opt.n + 64)
            die("RLIMIT_NOFILE is below the number of streams");
    }

    st = calloc((size_t)opt.n, sizeof(*st));
    hist = calloc(HIST_N, sizeof(*hist));
    ttfts = calloc((size_t)opt.n, sizeof(*ttfts));
    epfd = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec its = {.it_interval = {0, 1000000}, .it_value = {0, 1000000}};
    timerfd_settime(tfd, 0, &its, NULL);
    struct epoll_event te = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &te);
    for (int i = 0; i < opt.n; i++)
        st[i].fd = -1;

    sample_rss(0);
    for (int i = 0; i < npids; i++)
        pids[i].cpu0 = cpu_ticks(pids[i].pid);
    uint64_t t0 = now_ns(), last_sample = t0, all_active_at = 0;
    uint64_t deadline = t0 + (uint64_t)(opt.timeout_s * 1e9);
    int opened = 0;
    struct epoll_event evs[1024];
    while (ncompleted + nfailed < opt.n) {
        int k = epoll_wait(epfd, evs, 1024, 100);
        uint64_t now = now_ns();
        for (int i = 0; i < k; i++) {
            if (evs[i].data.ptr == NULL) {
                uint64_t x;
                (void)!read(tfd, &x, sizeof(x));
                continue;
            }
            on_io(evs[i].data.ptr, evs[i].events, now);
        }
        /* ramp: open what the schedule allows by now */
        int due = (int)((double)(now - t0) / 1e9 * opt.ramp) + 1;
        if (due > opt.n)
            due = opt.n;
        while (opened < due) {
            open_stream(&st[opened], opened);
            opened++;
        }
        if (opened == opt.n && opened == 0)
            break;
        if (now - last_sample >= 100000000ull) {
            last_sample = now;
            sample_rss(2);
            if (!all_active_at && nfirst + nfailed >= opt.n) {
                all_active_at = now;
                sample_rss(1);
                fprintf(stderr, "streams: all %d streams active after %.1fs (%d failed)\n", opt.n,
                        (double)(now - t0) / 1e9, nfailed);
            }
        }
        if (now > deadline) {
            fprintf(stderr, "streams: timeout: %d completed, %d failed, %d still open\n",
                    ncompleted, nfailed, opt.n - ncompleted - nfailed);
            for (int i = 0; i < opt.n; i++)
                if (st[i].state != S_DONE && st[i].state != S_FAILED && st[i].fd >= 0)
                    fail(&st[i]);
            break;
        }
    }
    for (int i = 0; i < npids; i++)
        pids[i].cpu1 = cpu_ticks(pids[i].pid);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double self_cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                        (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    uint64_t all_events = nevents + (uint64_t)nfirst;
    qsort(ttfts, (size_t)nttft, sizeof(*ttfts), cmp_u64);
#define TT(p) (nttft ? (double)ttfts[(size_t)((double)(nttft - 1) * (p) / 100.0)] / 1000.0 : 0)
    printf("%s: %d streams, %d completed, %d failed; time to first token p50 %.0f us, p99 %.0f "
           "us, max %.0f us\n",
           opt.label, opt.n, ncompleted, nfailed, TT(50), TT(99), TT(100));
    printf("  %llu later events: lateness p50 %.0f us, p99 %.0f us, p99.9 %.0f us, max %u us; "
           "%llu events more than %d ms late\n",
           (unsigned long long)nevents, hist_pct(50), hist_pct(99), hist_pct(99.9), max_late_all,
           (unsigned long long)nstalls, STALL_US / 1000);
    printf("RESULT label=%s streams=%d completed=%d failed=%d ttft_p50_us=%.0f ttft_p99_us=%.0f "
           "ttft_max_us=%.0f events=%llu late_p50_us=%.0f late_p99_us=%.0f late_p999_us=%.0f "
           "late_max_us=%u stalls=%llu client_cpu_us_per_event=%.1f\n",
           opt.label, opt.n, ncompleted, nfailed, TT(50), TT(99), TT(100),
           (unsigned long long)nevents, hist_pct(50), hist_pct(99), hist_pct(99.9), max_late_all,
           (unsigned long long)nstalls, all_events ? self_cpu_s * 1e6 / (double)all_events : 0);
    if (opt.hist) {
        FILE *f = fopen(opt.hist, "w");
        if (!f)
            die("cannot write --hist file");
        fprintf(f, "# %s: percentile lateness_us of content events after the first\n", opt.label);
        for (double q = 0; q < 99.9991;) {
            fprintf(f, "%.4f %.0f\n", q, hist_pct(q));
            double tail = 100.0 - q;
            q += tail * 0.05 > 0.0005 ? tail * 0.05 : 0.0005;
        }
        fclose(f);
    }
    /* per NAME: sums over its PIDs */
    for (int i = 0; i < npids; i++) {
        bool first = true;
        for (int j = 0; j < i; j++)
            if (!strcmp(pids[j].name, pids[i].name))
                first = false;
        if (!first)
            continue;
        long base = 0, active = 0, peak = 0;
        for (int j = i; j < npids; j++)
            if (!strcmp(pids[j].name, pids[i].name)) {
                base += pids[j].base;
                active += pids[j].active;
                peak += pids[j].peak;
            }
        double per = (double)(active - base) * 1024.0 / opt.n;
        long long ticks = 0;
        for (int j = i; j < npids; j++)
            if (!strcmp(pids[j].name, pids[i].name))
                ticks += pids[j].cpu1 - pids[j].cpu0;
        double cpu_us = all_events ? (double)ticks * 1e6 / (double)sysconf(_SC_CLK_TCK) / (double)all_events : 0;
        printf("RSS label=%s name=%s base_kb=%ld active_kb=%ld peak_kb=%ld per_stream_b=%.0f "
               "cpu_us_per_event=%.1f\n",
               opt.label, pids[i].name, base, active, peak, per, cpu_us);
    }
    return nfailed ? 1 : 0;
}
