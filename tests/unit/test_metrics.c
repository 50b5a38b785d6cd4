/* Unit tests for the metric shards (src/obs/metrics.c): a label tuple finds
 * the same series every time, whatever memory its labels are in; labels are
 * cut at 95 bytes (so tuples equal up to the cut share a series); families
 * keep their own series; shards add up in the rendering; a full shard counts
 * what it drops; sy_metrics_request renders exactly what the equivalent
 * add/observe/cost calls do. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "obs/metrics.h"
#include "unit.h"

/* The rendered value of the line that starts with `prefix`, or -1. */
static long long value_of(sy_buf_t *out, const char *prefix)
{
    sy_str_t all = sy_buf_str(out);
    size_t pl = strlen(prefix);
    const char *p = all.p, *end = all.p + all.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        if ((size_t)(nl - p) > pl && memcmp(p, prefix, pl) == 0 && p[pl] == ' ')
            return strtoll(p + pl + 1, NULL, 10);
        p = nl + 1;
    }
    return -1;
}

static void test_metrics_series(void)
{
    sy_metrics_shard_t *a = sy_metrics_shard(0), *b = sy_metrics_shard(1);
    CHECK(a == sy_metrics_shard(0));
    char st[8];
    for (int i = 0; i < 1000; i++) {
        /* labels in fresh memory each time: found by content, not address */
        char *prov = strdup("sim-openai");
        snprintf(st, sizeof(st), "%d", i % 3 ? 200 : 429);
        sy_metrics_add(i % 2 ? a : b, SY_M_REQUESTS, 1, SY_STR("openai"), sy_str_c(prov),
                       SY_STR("gpt-4o"), sy_str_c(st));
        free(prov);
    }
    sy_metrics_add(a, SY_M_TOKENS, 5, SY_STR("sim-openai"), SY_STR("gpt-4o"), SY_STR("input"),
                   SY_STR_NULL);
    sy_metrics_add(a, SY_M_TOKENS, 7, SY_STR("sim-openai"), SY_STR("gpt-4o"), SY_STR("output"),
                   SY_STR_NULL);
    /* the same strings in another family are another series */
    sy_metrics_add(a, SY_M_UPSTREAM_ERRORS, 2, SY_STR("sim-openai"), SY_STR("gpt-4o"), SY_STR_NULL,
                   SY_STR_NULL);
    /* two labels equal in their first 95 bytes: one series */
    char l1[200], l2[200];
    memset(l1, 'm', sizeof(l1));
    memset(l2, 'm', sizeof(l2));
    l2[150] = 'x';
    sy_metrics_add(a, SY_M_ROUTE_UNROUTABLE, 1, sy_str(l1, 120), SY_STR("no_deployment"),
                   SY_STR_NULL, SY_STR_NULL);
    sy_metrics_add(b, SY_M_ROUTE_UNROUTABLE, 1, sy_str(l2, 160), SY_STR("no_deployment"),
                   SY_STR_NULL, SY_STR_NULL);
    sy_metrics_observe(a, SY_M_REQUEST_DURATION, 300000, SY_STR("openai"));
    sy_metrics_observe(b, SY_M_REQUEST_DURATION, 70000000000ULL, SY_STR("openai"));
    sy_metrics_cost(a, 1500000000, SY_STR("sim-openai"), SY_STR("gpt-4o"));
    sy_metrics_cost(b, 1500000000, SY_STR("sim-openai"), SY_STR("gpt-4o"));

    sy_buf_t out;
    sy_buf_init(&out, 0);
    sy_metrics_render(&out);
    CHECK_INT(value_of(&out, "switchyard_requests_total{frontdoor=\"openai\",provider=\"sim-openai\","
                             "model=\"gpt-4o\",status=\"200\"}"),
              666);
    CHECK_INT(value_of(&out, "switchyard_requests_total{frontdoor=\"openai\",provider=\"sim-openai\","
                             "model=\"gpt-4o\",status=\"429\"}"),
              334);
    CHECK_INT(value_of(&out, "switchyard_tokens_total{provider=\"sim-openai\",model=\"gpt-4o\","
                             "direction=\"input\"}"),
              5);
    CHECK_INT(value_of(&out, "switchyard_tokens_total{provider=\"sim-openai\",model=\"gpt-4o\","
                             "direction=\"output\"}"),
              7);
    CHECK_INT(value_of(&out, "switchyard_upstream_errors_total{provider=\"sim-openai\",class=\"gpt-4o\"}"),
              2);
    char want[300];
    snprintf(want, sizeof(want), "switchyard_route_unroutable_total{model=\"%.95s\",reason=\"no_deployment\"}",
             l1);
    CHECK_INT(value_of(&out, want), 2);
    CHECK_INT(value_of(&out, "switchyard_request_duration_seconds_bucket{frontdoor=\"openai\",le=\"0.0005\"}"), 1);
    CHECK_INT(value_of(&out, "switchyard_request_duration_seconds_bucket{frontdoor=\"openai\",le=\"60\"}"), 1);
    CHECK_INT(value_of(&out, "switchyard_request_duration_seconds_bucket{frontdoor=\"openai\",le=\"+Inf\"}"), 2);
    CHECK_INT(value_of(&out, "switchyard_request_duration_seconds_count{frontdoor=\"openai\"}"), 2);
    CHECK(strstr(sy_buf_ptr(&out),
                 "switchyard_cost_usd_total{provider=\"sim-openai\",model=\"gpt-4o\"} 0.003\n") != NULL);
    CHECK(strstr(sy_buf_ptr(&out),
                 "switchyard_request_duration_seconds_sum{frontdoor=\"openai\"} 70.000300000\n") != NULL);
    CHECK_INT(value_of(&out, "switchyard_metrics_series_dropped_total"), 0);
    sy_buf_free(&out);

    /* more tuples in turn than a family's recent list holds */
    static const char *const dirs[] = {"input", "output", "cached_input", "reasoning", "in", "out"};
    for (int i = 0; i < 600; i++)
        sy_metrics_add(b, SY_M_TOKENS, 1, SY_STR("rot"), SY_STR("m"), sy_str_c(dirs[i % 6]),
                       SY_STR_NULL);
    for (int i = 0; i < 60; i++) /* and back and forth between two */
        sy_metrics_add(b, SY_M_TOKENS, 1, SY_STR("rot"), SY_STR("m"), sy_str_c(dirs[i % 2 ? 5 : 0]),
                       SY_STR_NULL);
    sy_buf_init(&out, 0);
    sy_metrics_render(&out);
    for (int d = 0; d < 6; d++) {
        char name[128];
        snprintf(name, sizeof(name), "switchyard_tokens_total{provider=\"rot\",model=\"m\",direction=\"%s\"}",
                 dirs[d]);
        CHECK_INT(value_of(&out, name), d == 0 || d == 5 ? 130 : 100);
    }
    sy_buf_free(&out);

    /* a full shard: new tuples are dropped and counted, known ones still count */
    sy_metrics_shard_t *c = sy_metrics_shard(2);
    char name[32];
    for (int i = 0; i < SY_METRICS_MAX_SERIES + 10; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        sy_metrics_add(c, SY_M_ROUTE_HEDGES, 1, sy_str_c(name), SY_STR("primary"), SY_STR_NULL,
                       SY_STR_NULL);
    }
    sy_metrics_add(c, SY_M_ROUTE_HEDGES, 1, SY_STR("m0"), SY_STR("primary"), SY_STR_NULL, SY_STR_NULL);
    sy_buf_init(&out, 0);
    sy_metrics_render(&out);
    CHECK_INT(value_of(&out, "switchyard_metrics_series_dropped_total"), 10);
    CHECK_INT(value_of(&out, "switchyard_route_hedges_total{model=\"m0\",winner=\"primary\"}"), 2);
    CHECK_INT(value_of(&out, "switchyard_route_hedges_total{model=\"m4095\",winner=\"primary\"}"), 1);
    CHECK_INT(value_of(&out, "switchyard_route_hedges_total{model=\"m4096\",winner=\"primary\"}"), -1);
    sy_buf_free(&out);
}

/* finish()'s calls before sy_metrics_request: the reference. */
static void request_by_calls(sy_metrics_shard_t *m, const sy_metrics_request_t *r)
{
    static const char *const dirs[SY_MTOK__COUNT] = {"input", "output", "cached_input", "reasoning"};
    char st[24];
    snprintf(st, sizeof(st), "%d", r->status > 0 ? r->status : 0);
    sy_metrics_add(m, SY_M_REQUESTS, 1, r->frontdoor, r->provider, r->model, sy_str_c(st));
    sy_metrics_observe(m, SY_M_REQUEST_DURATION, r->total_ns, r->frontdoor);
    sy_metrics_observe(m, SY_M_OVERHEAD, r->overhead_ns, r->frontdoor);
    if (!r->has_dep)
        return;
    if (r->upstream_ns)
        sy_metrics_observe(m, SY_M_UPSTREAM_LATENCY, r->upstream_ns, r->provider);
    if (r->has_ttft)
        sy_metrics_observe(m, SY_M_TTFT, r->ttft_ns, r->provider);
    for (int k = 0; k < SY_MTOK__COUNT; k++)
        if (r->has_tokens[k])
            sy_metrics_add(m, SY_M_TOKENS, r->tokens[k], r->provider, r->dep_model, sy_str_c(dirs[k]),
                           SY_STR_NULL);
    if (r->priced)
        sy_metrics_cost(m, r->cost_pico, r->provider, r->dep_model);
}

/* A mix of requests over more label tuples than the cache holds, on two
 * shards and on the full one; `direct`: through sy_metrics_request. */
static void request_mix(bool direct)
{
    static char longp[130], longm[140];
    memset(longp, 'p', sizeof(longp) - 1);
    memset(longm, 'm', sizeof(longm) - 1);
    const char *fds[] = {"openai", "anthropic"};
    const char *provs[] = {"sim-openai", "sim-anthropic", "", longp};
    const char *models[] = {"gpt-4o", "claude", longm};
    const int statuses[] = {200, 200, 429, 502, 499, -1, 200, 0};
    sy_metrics_shard_t *sh[] = {sy_metrics_shard(3), sy_metrics_shard(4), sy_metrics_shard(2)};
    for (int i = 0; i < 300; i++) {
        const char *prov = provs[(i / 3) % 4];
        sy_metrics_request_t r = {
            .frontdoor = sy_str_c(fds[i % 2]),
            .provider = sy_str_c(prov),
            .model = sy_str_c(models[(i / 5) % 3]),
            .status = statuses[(i * 7) % 8],
            .total_ns = (uint64_t)i * 997003,
            .overhead_ns = (uint64_t)i * 1013,
            .has_dep = prov[0] != 0,
            .dep_model = sy_str_c(models[(i / 2) % 3]),
            .upstream_ns = i % 4 ? (uint64_t)i * 900001 : 0,
            .has_ttft = i % 3 == 0,
            .ttft_ns = (uint64_t)(i % 6) * 400000,
            .tokens = {(uint64_t)i, (uint64_t)i * 2, 3, 4},
            .has_tokens = {i % 5 != 0, i % 2 == 0, i % 7 == 0, i % 11 == 0},
            .priced = i % 3 != 1,
            .cost_pico = (uint64_t)i * 1234567,
        };
        sy_metrics_shard_t *m = sh[i % 7 == 6 ? 2 : (i / 4) % 2];
        if (direct)
            sy_metrics_request(m, &r);
        else
            request_by_calls(m, &r);
    }
}

/* The rendering after request_mix(direct), made in a child process so both
 * start from the same shards. */
static char *mix_rendered(bool direct, size_t *len)
{
    int fds[2];
    if (pipe(fds) != 0)
        return NULL;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        request_mix(direct);
        sy_buf_t out;
        sy_buf_init(&out, 0);
        sy_metrics_render(&out);
        sy_str_t all = sy_buf_str(&out);
        size_t off = 0;
        while (off < all.len) {
            ssize_t w = write(fds[1], all.p + off, all.len - off);
            if (w <= 0)
                _exit(1);
            off += (size_t)w;
        }
        _exit(0);
    }
    close(fds[1]);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n == cap)
            buf = realloc(buf, cap *= 2);
        ssize_t r = read(fds[0], buf + n, cap - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static bool contains(const char *h, size_t n, const char *needle)
{
    return memmem(h, n, needle, strlen(needle)) != NULL;
}

static void test_metrics_request(void)
{
    size_t la = 0, lb = 0;
    char *a = mix_rendered(false, &la);
    char *b = mix_rendered(true, &lb);
    CHECK(a != NULL && b != NULL);
    if (a && b) {
        CHECK_INT(la, lb);
        CHECK(la == lb && memcmp(a, b, la) == 0);
        CHECK(contains(a, la, ",status=\"0\"} ") && contains(a, la, ",status=\"499\"} "));
        CHECK(contains(a, la, "switchyard_tokens_total{provider=\"sim-anthropic\""));
        CHECK(contains(a, la, "switchyard_time_to_first_token_seconds_count{provider=\"sim-openai\"}"));
        CHECK(contains(a, la, "switchyard_cost_usd_total{provider=\"sim-openai\""));
    }
    free(a);
    free(b);
}

int main(void)
{
    RUN(test_metrics_series);
    RUN(test_metrics_request);
    return unit_done();
}
