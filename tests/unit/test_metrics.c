/* Unit tests for the metric shards (src/obs/metrics.c): a label tuple finds
 * the same series every time, whatever memory its labels are in; labels are
 * cut at 95 bytes (so tuples equal up to the cut share a series); families
 * keep their own series; shards add up in the rendering; a full shard counts
 * what it drops. */
#include <stdio.h>
#include <stdlib.h>

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

int main(void)
{
    RUN(test_metrics_series);
    return unit_done();
}
