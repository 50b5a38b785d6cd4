/*
 * client_bench.c - requests per second through the upstream client and its
 * keep-alive pool, against an in-process HTTP server on its own thread.
 *
 *   build/bench/client_bench [--smoke] [--ops N]
 *
 * Prints, for concurrency 1 and 16: requests/s, the client thread's CPU time
 * per request (CLOCK_THREAD_CPUTIME_ID), instructions per request when the
 * kernel lets us count them (perf_event_open; "n/a" otherwise), and the
 * connections opened. The reference, measured in the same run: a minimal
 * hand-written client on one blocking keep-alive socket (write the request,
 * read the known-length response), the floor any client pays in syscalls.
 * For a per-function profile: valgrind --tool=callgrind build/bench/client_bench --ops 2000
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "core/loop.h"
#include "core/time.h"
#include "http/client.h"
#include "http/net.h"
#include "http/server.h"

static const char body[] = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
                           "\"message\":{\"role\":\"assistant\",\"content\":\"Hello!\"}}]}";

/* ---- the server thread ---- */

static int srv_port;
static sy_loop_t *srv_loop;

static void handler(sy_http_req_t *req, void *ctx)
{
    (void)ctx;
    sy_http_respond(req, 200, "application/json", body, sizeof(body) - 1);
}

static void *server_main(void *arg)
{
    int fd = *(int *)arg;
    sy_http_server_t *srv = sy_http_server_new(srv_loop, handler, NULL);
    sy_http_server_add_listener(srv, fd);
    sy_loop_run(srv_loop);
    sy_http_server_shutdown(srv, 0, NULL, NULL);
    sy_loop_run_deferred(srv_loop);
    sy_http_server_free(srv);
    return NULL;
}

static void wake_stop(sy_loop_t *l, void *d)
{
    (void)d;
    sy_loop_stop(l);
}

/* ---- counting ---- */

static int perf_fd = -1;

static void perf_open(void)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof(a));
    a.type = PERF_TYPE_HARDWARE;
    a.size = sizeof(a);
    a.config = PERF_COUNT_HW_INSTRUCTIONS;
    a.disabled = 1;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    perf_fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

static uint64_t perf_read(void)
{
    uint64_t v = 0;
    if (perf_fd >= 0 && read(perf_fd, &v, sizeof(v)) != sizeof(v))
        v = 0;
    return v;
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct {
    double rps, cpu_us, instr;
    uint64_t conns;
} figures_t;

/* ---- through the client ---- */

static sy_loop_t *loop;
static sy_http_client_t *client;
static sy_http_origin_t origin;
static long remaining, completed, failures;

static void start_one(void);

static void on_body(sy_http_creq_t *r, const char *d, size_t n)
{
    (void)r;
    (void)d;
    (void)n;
}
static sy_http_client_body_cb on_head(sy_http_creq_t *r, const sy_http_client_head_t *h)
{
    (void)r;
    (void)h;
    return on_body;
}
static void on_done(sy_http_creq_t *r)
{
    (void)r;
    completed++;
    start_one();
}
static void on_error(sy_http_creq_t *r, const sy_http_client_error_t *e)
{
    (void)r;
    fprintf(stderr, "request failed: %s\n", e->message);
    failures++;
    completed++;
    start_one();
}

static void start_one(void)
{
    if (remaining <= 0)
        return; /* check_done stops the loop once the last one completed */
    remaining--;
    static const sy_http_header_t hs[] = {
        {{"Authorization", 13}, {"Bearer sk-bench", 15}},
        {{"Content-Type", 12}, {"application/json", 16}},
    };
    static const char req_body[] = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                                   "\"content\":\"Hi\"}]}";
    sy_http_client_req_t q = {
        .origin = &origin, .method = "POST", .target = SY_STR("/v1/chat/completions"),
        .headers = hs, .nheaders = 2, .body = sy_str(req_body, sizeof(req_body) - 1),
        .on_head = on_head, .on_done = on_done, .on_error = on_error,
    };
    sy_http_client_start(client, &q);
}

static long total_target;
static void check_done(sy_timer_t *t)
{
    if (completed >= total_target)
        sy_loop_stop(t->loop);
    else
        sy_timer_start(t, 1);
}

static figures_t run_client(long n, int conc)
{
    sy_http_client_options_t o;
    sy_http_client_options_default(&o);
    o.dns.servers = "127.0.0.1:9"; /* never used: the origin is an IP literal */
    char err[256];
    client = sy_http_client_new(loop, &o, err, sizeof(err));
    if (!client) {
        fprintf(stderr, "client: %s\n", err);
        exit(1);
    }
    remaining = n;
    completed = failures = 0;
    total_target = n;
    sy_timer_t t;
    sy_timer_init(&t, loop, check_done, NULL);
    sy_timer_start(&t, 1);
    uint64_t w0 = sy_now_ns(), c0 = thread_cpu_ns(), i0 = perf_read();
    for (int i = 0; i < conc; i++)
        start_one();
    sy_loop_run(loop);
    uint64_t w1 = sy_now_ns(), c1 = thread_cpu_ns(), i1 = perf_read();
    sy_timer_stop(&t);
    figures_t f;
    f.rps = (double)n / ((double)(w1 - w0) / 1e9);
    f.cpu_us = (double)(c1 - c0) / 1e3 / (double)n;
    f.instr = perf_fd >= 0 ? (double)(i1 - i0) / (double)n : -1;
    f.conns = sy_http_client_stats(client).pool.opened;
    if (failures)
        fprintf(stderr, "%ld failures\n", failures);
    sy_http_client_free(client);
    sy_loop_run_deferred(loop);
    return f;
}

/* ---- the reference: one blocking socket, hand-written ---- */

static figures_t run_raw(long n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("connect");
        exit(1);
    }
    sy_net_set_nodelay(fd);
    static const char req[] =
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
        "sk-bench\r\nContent-Type: application/json\r\nContent-Length: 67\r\n\r\n"
        "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    char buf[4096];
    /* learn the response size once (the Date header keeps it constant) */
    size_t resp_len = 0;
    uint64_t w0 = 0, c0 = 0, i0 = 0;
    for (long k = -1; k < n; k++) {
        if (k == 0) {
            w0 = sy_now_ns();
            c0 = thread_cpu_ns();
            i0 = perf_read();
        }
        if (write(fd, req, sizeof(req) - 1) < 0)
            exit(1);
        size_t got = 0;
        for (;;) {
            ssize_t r = read(fd, buf + got, sizeof(buf) - got);
            if (r <= 0)
                exit(1);
            got += (size_t)r;
            if (resp_len ? got >= resp_len : (strstr(buf, "\r\n\r\n") && got > 200)) {
                char *e = strstr(buf, "\r\n\r\n");
                if (!resp_len && e && (size_t)(e + 4 - buf) + sizeof(body) - 1 <= got)
                    resp_len = (size_t)(e + 4 - buf) + sizeof(body) - 1;
                if (resp_len && got >= resp_len)
                    break;
            }
        }
    }
    uint64_t w1 = sy_now_ns(), c1 = thread_cpu_ns(), i1 = perf_read();
    close(fd);
    figures_t f;
    f.rps = (double)n / ((double)(w1 - w0) / 1e9);
    f.cpu_us = (double)(c1 - c0) / 1e3 / (double)n;
    f.instr = perf_fd >= 0 ? (double)(i1 - i0) / (double)n : -1;
    f.conns = 1;
    return f;
}

static void print_row(const char *name, figures_t f)
{
    char instr[32];
    if (f.instr >= 0)
        snprintf(instr, sizeof(instr), "%.0f", f.instr);
    else
        snprintf(instr, sizeof(instr), "n/a");
    printf("%-34s %10.0f %12.2f %12s %6llu\n", name, f.rps, f.cpu_us, instr,
           (unsigned long long)f.conns);
}

int main(int argc, char **argv)
{
    long n = 100000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0)
            n = 2000;
        else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
            n = atol(argv[++i]);
    }
    char err[128];
    int fd = sy_net_listen("127.0.0.1", 0, false, 1024, err, sizeof(err));
    if (fd < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    srv_port = sy_net_local_port(fd);
    srv_loop = sy_loop_new();
    sy_loop_on_wake(srv_loop, wake_stop, NULL);
    pthread_t th;
    pthread_create(&th, NULL, server_main, &fd);

    loop = sy_loop_new();
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv_port);
    const char *perr;
    sy_http_origin_from_url(&origin, sy_str_c(url), NULL, &perr);
    perf_open();
    if (perf_fd >= 0) {
        ioctl(perf_fd, PERF_EVENT_IOC_RESET, 0);
        ioctl(perf_fd, PERF_EVENT_IOC_ENABLE, 0);
    }

    printf("%ld POST requests (67-byte body, %zu-byte JSON response) per row, server on its own thread\n",
           n, sizeof(body) - 1);
    printf("%-34s %10s %12s %12s %6s\n", "client", "req/s", "cpu us/req", "instr/req", "conns");
    figures_t raw = run_raw(n);
    print_row("reference: blocking raw socket", raw);
    figures_t c1 = run_client(n, 1);
    print_row("sy_http_client, concurrency 1", c1);
    figures_t c16 = run_client(n, 16);
    print_row("sy_http_client, concurrency 16", c16);
    printf("ratio client/reference at concurrency 1: %.2fx req/s, %.2fx cpu per request\n",
           c1.rps / raw.rps, c1.cpu_us / raw.cpu_us);

    sy_loop_wake(srv_loop);
    pthread_join(th, NULL);
    sy_loop_free(srv_loop);
    sy_loop_free(loop);
    return (c1.conns == 1 && c16.conns <= 16) ? 0 : 1;
}
