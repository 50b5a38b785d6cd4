/*
 * Unit tests for the router: the circuit breaker's state machine (on a fake
 * clock), rate windows, backoff and the retry policy, what a request needs,
 * every filter and strategy of the plan, the unmet-constraint answer, the
 * configuration of groups and the router section, wildcard groups and
 * aliases, the shared state table, and explain.
 *
 * Each test uses its own provider names: the deployment state table is
 * process-wide, and tests must not see each other's circuits or latencies.
 */
#include "unit.h"

#include <stdlib.h>

#include "api/frontdoors.h"
#include "config/config.h"
#include "core/arena.h"
#include "json/json.h"
#include "router/policy.h"
#include "router/router.h"

/* ---- helpers ---- */

static sy_config_t *cfg(const char *yaml)
{
    char *err = NULL;
    sy_config_t *c = sy_config_parse("t.yaml", yaml, strlen(yaml), &err);
    if (c == NULL) {
        fprintf(stderr, "  unexpected config error: %s\n", err ? err : "?");
        unit_cur_failed++;
    }
    free(err);
    return c;
}

/* The config's error text (malloc'd), or NULL if it loaded. */
static char *cfg_err(const char *yaml)
{
    char *err = NULL;
    sy_config_t *c = sy_config_parse("t.yaml", yaml, strlen(yaml), &err);
    if (c) {
        sy_config_unref(c);
        return NULL;
    }
    return err;
}

static bool contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

#define EXPECT_CFG_ERR(yaml, want)                                                            \
    do {                                                                                      \
        char *e_ = cfg_err(yaml);                                                             \
        if (!contains(e_, want)) {                                                            \
            fprintf(stderr, "  %s:%d: expected error containing \"%s\", got \"%s\"\n",        \
                    __FILE__, __LINE__, want, e_ ? e_ : "(loaded)");                          \
            unit_cur_failed++;                                                                \
        }                                                                                     \
        free(e_);                                                                             \
    } while (0)

static sy_ir_request_t parse_openai(sy_arena_t *a, const char *body)
{
    sy_ir_request_t ir;
    int status;
    const char *msg = NULL;
    if (sy_frontdoor_openai.parse(a, sy_str_c(body), &ir, &status, &msg) != SY_OK) {
        fprintf(stderr, "  bad test body: %s\n", msg ? msg : "?");
        unit_cur_failed++;
        memset(&ir, 0, sizeof(ir));
    }
    return ir;
}

static const sy_config_model_t *group(const sy_config_t *c, const char *name)
{
    const sy_config_model_t *g = sy_config_find_model(c, sy_str_c(name));
    CHECK(g != NULL);
    return g;
}

/* Plan a request for group `name`. */
static uint32_t plan_for(const sy_config_t *c, const char *name, const sy_route_need_t *need,
                         uint64_t now, uint64_t *rng, sy_route_plan_t *plan)
{
    const sy_config_model_t *g = group(c, name);
    if (g == NULL)
        return 0;
    sy_route_ctx_t rc = {.cfg = &c->router, .now_ms = now, .rng = rng};
    return sy_route_plan(&rc, g, g->deployments, g->ndeployments, need, plan);
}

static const char *first_label(const sy_route_plan_t *p)
{
    return p->norder ? p->cand[p->order[0]].dep->label.p : "";
}

static const char *label_at(const sy_route_plan_t *p, uint32_t k)
{
    return k < p->norder ? p->cand[p->order[k]].dep->label.p : "";
}

/* ---- circuit breaker ---- */

static const sy_circuit_params_t CP = {
    .failures = 3, .ratio_pct = 0, .min_requests = 10, .window_ms = 8000, .cooldown_ms = 1000};

static void test_circuit_consecutive(void)
{
    sy_circuit_t c;
    sy_circuit_init(&c);
    bool probe;
    uint64_t t = 1000000;
    CHECK(sy_circuit_allow(&c, &CP, t, &probe) && !probe);
    sy_circuit_failure(&c, &CP, t, false);
    sy_circuit_failure(&c, &CP, t, false);
    sy_circuit_success(&c, &CP, t, false); /* a success breaks the run */
    sy_circuit_failure(&c, &CP, t, false);
    sy_circuit_failure(&c, &CP, t, false);
    CHECK_INT(sy_circuit_state(&c), SY_CIRCUIT_CLOSED);
    sy_circuit_failure(&c, &CP, t, false); /* third in a row */
    CHECK_INT(sy_circuit_state(&c), SY_CIRCUIT_OPEN);
    CHECK_INT(atomic_load(&c.opened_total), 1);
    uint64_t in = 0;
    CHECK_INT(sy_circuit_peek(&c, &CP, t + 400, &in), SY_CIRCUIT_BLOCKED);
    CHECK_INT(in, 600);
    CHECK(!sy_circuit_allow(&c, &CP, t + 999, &probe));
    /* Cooldown over: exactly one probe. */
    CHECK_INT(sy_circuit_peek(&c, &CP, t + 1000, NULL), SY_CIRCUIT_PROBE);
    CHECK(sy_circuit_allow(&c, &CP, t + 1000, &probe) && probe);
    CHECK_INT(sy_circuit_state(&c), SY_CIRCUIT_HALF_OPEN);
    bool p2;
    CHECK(!sy_circuit_allow(&c, &CP, t + 1001, &p2));
    CHECK(!sy_circuit_allow(&c, &CP, t + 5000, &p2));
    CHECK_INT(sy_circuit_peek(&c, &CP, t + 5000, NULL), SY_CIRCUIT_BLOCKED);
    /* The probe fails: open again for a whole cooldown from now. */
    sy_circuit_failure(&c, &CP, t + 5000, true);
    CHECK_INT(sy_circuit_state(&c), SY_CIRCUIT_OPEN);
    CHECK(!sy_circuit_allow(&c, &CP, t + 5999, &p2));
    CHECK(sy_circuit_allow(&c, &CP, t + 6000, &probe) && probe);
    /* The probe succeeds: closed, counters cleared. */
    sy_circuit_success(&c, &CP, t + 6001, true);
    CHECK_INT(sy_circuit_state(&c), SY_CIRCUIT_CLOSED);
    CHECK(sy_circuit_allow(&c, &CP, t + 6002, &probe) && !probe);
    sy_circuit_failure(&c, &CP, t + 6003, false);
    sy_circuit_failure(&c, &CP, t + 6003, false);
    CHECK_INT(sy_circuit_state(&c), SY_CIRCUIT_CLOSED);
    CHECK_INT(atomic_load(&c.opened_total), 2);
}

static void test_circuit_abandon_and_late_verdicts(void)
{
    sy_circuit_t c;
    sy_circuit_init(&c);
    bool probe;
    uint64_t t = 50000;
    for (int i = 0; i < 3; i++)
        sy_circuit_failure(&c, &CP, t, false);
    CHECK(sy_circuit_allow(&c, &CP, t + 1000, &probe) && probe);
    /* The probe ends without a verdict (client gone): the next request may
     * probe at once, without another cooldown. */
    sy_circuit_abandon(&c, &CP, t + 1100, true);
    CHECK_INT(sy_circuit_state(&c), SY_CIRCUIT_OPEN);
    CHECK_INT(sy_circuit_peek(&c, &CP, t + 1100, NULL), SY_CIRCUIT_PROBE);
    CHECK(sy_circuit_allow(&c, &CP, t + 1100, &probe) && probe);
    /* Verdicts of attempts that started before the circuit opened do not
     * change the state while a probe is out. */
    sy_circuit_failure(&c, &CP, t + 1200, false);
    sy_circuit_success(&c, &CP, t + 1200, false);
    CHECK_INT(sy_circuit_state(&c), SY_CIRCUIT_HALF_OPEN);
    /* A probe lost for good is reclaimed after the safety timeout. */
    CHECK(!sy_circuit_allow(&c, &CP, t + 1300, &probe));
    CHECK(sy_circuit_allow(&c, &CP, t + 1200 + SY_CIRCUIT_PROBE_TIMEOUT_MS, &probe) && probe);
    sy_circuit_success(&c, &CP, t + 2000000, true);
    CHECK_INT(sy_circuit_state(&c), SY_CIRCUIT_CLOSED);
}

static void test_circuit_ratio_window(void)
{
    sy_circuit_params_t p = {.failures = 0, .ratio_pct = 50, .min_requests = 10, .window_ms = 8000,
                             .cooldown_ms = 1000};
    sy_circuit_t c;
    sy_circuit_init(&c);
    uint64_t t = 800000;
    /* 4 failures out of 9: under the minimum volume, and under 50%. */
    for (int i = 0; i < 5; i++)
        sy_circuit_success(&c, &p, t, false);
    for (int i = 0; i < 4; i++)
        sy_circuit_failure(&c, &p, t + (uint64_t)i, false);
    CHECK_INT(sy_circuit_state(&c), SY_CIRCUIT_CLOSED);
    uint32_t ok, fail;
    sy_circuit_window(&c, &p, t + 10, &ok, &fail);
    CHECK_INT(ok, 5);
    CHECK_INT(fail, 4);
    /* Old verdicts leave the window. */
    sy_circuit_window(&c, &p, t + 9000, &ok, &fail);
    CHECK_INT(ok + fail, 0);
    /* 10 verdicts, 5 failed (50%): open. */
    sy_circuit_failure(&c, &p, t + 20, false);
    CHECK_INT(sy_circuit_state(&c), SY_CIRCUIT_OPEN);

    /* Interleaved successes keep a run from forming, but the ratio sees it. */
    sy_circuit_t d;
    sy_circuit_init(&d);
    sy_circuit_params_t q = p;
    q.failures = 3;
    for (int i = 0; i < 12; i++) {
        if (i % 2)
            sy_circuit_success(&d, &q, t, false);
        else
            sy_circuit_failure(&d, &q, t, false);
    }
    CHECK_INT(sy_circuit_state(&d), SY_CIRCUIT_OPEN);
    /* With both rules off it never opens. */
    sy_circuit_params_t off = {.failures = 0, .ratio_pct = 0, .min_requests = 1, .window_ms = 1000,
                               .cooldown_ms = 1000};
    sy_circuit_t e;
    sy_circuit_init(&e);
    for (int i = 0; i < 100; i++)
        sy_circuit_failure(&e, &off, t, false);
    CHECK_INT(sy_circuit_state(&e), SY_CIRCUIT_CLOSED);
}

/* ---- rate windows ---- */

static void test_rate_window(void)
{
    sy_rate_window_t w;
    sy_rate_window_init(&w);
    uint64_t m[4];
    uint64_t t = 600000; /* the start of minute 10 */
    CHECK(sy_rate_window_fits(&w, 3, 3, t));
    CHECK_INT(sy_rate_window_reserve(&w, 3, 2, t, &m[0]), SY_OK);
    CHECK_INT(m[0], 10);
    CHECK_INT(sy_rate_window_reserve(&w, 3, 1, t + 10, &m[1]), SY_OK);
    CHECK(!sy_rate_window_fits(&w, 3, 1, t + 20));
    CHECK_INT(sy_rate_window_reserve(&w, 3, 1, t + 20, &m[2]), SY_ETOOBIG);
    /* Settling with less gives the difference back. */
    sy_rate_window_settle(&w, m[0], 2, 1);
    CHECK_INT(sy_rate_window_current(&w, t + 30), 2);
    CHECK_INT(sy_rate_window_reserve(&w, 3, 1, t + 30, &m[2]), SY_OK);
    /* Next minute, half way: the previous minute counts for half. */
    CHECK_INT(sy_rate_window_current(&w, t + 60000 + 30000), 1);
    CHECK(sy_rate_window_fits(&w, 3, 2, t + 90000));
    CHECK(!sy_rate_window_fits(&w, 3, 3, t + 90000));
    /* Two minutes on: all gone; a late settle of an old minute is ignored. */
    CHECK_INT(sy_rate_window_current(&w, t + 120000), 0);
    sy_rate_window_settle(&w, m[1], 1, 100);
    CHECK_INT(sy_rate_window_current(&w, t + 120000), 0);
    CHECK_INT(sy_rate_window_reserve(&w, 3, 3, t + 120000, &m[3]), SY_OK);
    sy_rate_window_settle(&w, m[3], 3, 0);
    CHECK_INT(sy_rate_window_current(&w, t + 120000), 0);

    /* The backend interface: by deployment and limit, a cleared reservation is a no-op. */
    const sy_route_counters_vt_t *v = sy_route_counters();
    CHECK(v == &sy_route_counters_local);
    sy_route_state_t *s = sy_route_state_get(SY_STR("rw-p"), SY_STR("m"));
    sy_rate_resv_t r, none;
    CHECK_INT(v->reserve(s, SY_RATE_TPM, 100, 60, t, &r), SY_OK);
    CHECK(r.state == s && r.kind == SY_RATE_TPM && r.amount == 60);
    CHECK_INT(v->current(s, SY_RATE_TPM, t), 60);
    CHECK_INT(v->current(s, SY_RATE_RPM, t), 0);
    CHECK_INT(v->reserve(s, SY_RATE_TPM, 100, 50, t, &none), SY_ETOOBIG);
    CHECK(none.state == NULL);
    v->settle(&none, 7);
    v->settle(&r, 45);
    CHECK(r.state == NULL);
    CHECK_INT(v->current(s, SY_RATE_TPM, t), 45);
    v->settle(&r, 0); /* settled already: nothing happens */
    CHECK_INT(v->current(s, SY_RATE_TPM, t), 45);

    /* What a shared counter said when it refused: the planner's fits holds
     * to it until it ends, for any amount that would not fit what it held;
     * a grant forgets it. */
    sy_route_state_t *h = sy_route_state_get(SY_STR("rw-held"), SY_STR("m"));
    CHECK(v->fits(h, SY_RATE_RPM, 30, 1, t));
    sy_route_counters_heard(h, SY_RATE_RPM, t + 12000, 30);
    CHECK(!v->fits(h, SY_RATE_RPM, 30, 1, t));
    CHECK_INT(sy_route_counters_held(h, SY_RATE_RPM, 30, 1, t + 500), t + 12000);
    CHECK(v->fits(h, SY_RATE_RPM, 30, 1, t + 12000)); /* over: ask again */
    CHECK_INT(sy_route_counters_held(h, SY_RATE_RPM, 30, 1, t + 12000), 0);
    sy_route_counters_heard(h, SY_RATE_TPM, t + 5000, 900);
    CHECK(!v->fits(h, SY_RATE_TPM, 1000, 200, t));
    CHECK(v->fits(h, SY_RATE_TPM, 1000, 100, t)); /* a smaller request may still fit */
    sy_route_state_t *h2 = sy_route_state_get(SY_STR("rw-held2"), SY_STR("m"));
    sy_route_counters_heard(h2, SY_RATE_TPM, t + 5000, 1000);
    CHECK(v->fits(h2, SY_RATE_RPM, 30, 1, t)); /* the kinds are apart */
    sy_route_counters_heard(h, SY_RATE_RPM, t + 12000, 30);
    sy_route_counters_heard(h, SY_RATE_RPM, 0, 0);
    CHECK(v->fits(h, SY_RATE_RPM, 30, 1, t));
}

/* ---- backoff and the policy ---- */

static const sy_config_router_t RCFG = {
    .retries = 2,
    .backoff_base_ms = 100,
    .backoff_max_ms = 2000,
    .timeout_ms = 60000,
    .max_attempts = 6,
};

static void test_backoff_bounds(void)
{
    uint64_t rng = 12345;
    for (uint32_t n = 0; n < 8; n++) {
        uint64_t ceil = SY_MIN(100ull << n, 2000ull), lo = UINT64_MAX, hi = 0;
        for (int i = 0; i < 4000; i++) {
            uint64_t b = sy_route_backoff(&RCFG, n, &rng);
            lo = SY_MIN(lo, b);
            hi = SY_MAX(hi, b);
            CHECK(b <= ceil);
        }
        /* Full jitter: the whole range is used, from near 0 to near the ceiling. */
        CHECK(lo <= ceil / 20);
        CHECK(hi >= ceil - ceil / 20);
    }
    /* The ceiling stops growing at backoff_max even for absurd retry counts. */
    CHECK(sy_route_backoff(&RCFG, 1000, &rng) <= 2000);
}

static sy_route_next_t decide(sy_ir_error_class_t cls, uint32_t tries, bool others,
                              uint64_t retry_after, uint64_t *wait)
{
    uint64_t rng = 99;
    sy_route_failure_t f = {.cls = cls, .retry_after_ms = retry_after, .tries_here = tries,
                            .attempts = tries, .others_left = others, .elapsed_ms = 10};
    return sy_route_decide(&RCFG, &f, &rng, wait, NULL);
}

static void test_policy(void)
{
    uint64_t w;
    /* 5xx: retried here (up to `retries`), then fall back. */
    CHECK_INT(decide(SY_IR_ERR_SERVER, 1, true, 0, &w), SY_NEXT_RETRY);
    CHECK(w <= 100);
    CHECK_INT(decide(SY_IR_ERR_SERVER, 2, true, 0, &w), SY_NEXT_RETRY);
    CHECK(w <= 200);
    CHECK_INT(decide(SY_IR_ERR_SERVER, 3, true, 0, &w), SY_NEXT_FALLBACK);
    CHECK_INT(decide(SY_IR_ERR_SERVER, 3, false, 0, &w), SY_NEXT_FAIL);
    CHECK_INT(decide(SY_IR_ERR_CONNECTION, 1, false, 0, &w), SY_NEXT_RETRY);
    /* 429, overloaded, timeout: fall back at once when there is somewhere to go. */
    CHECK_INT(decide(SY_IR_ERR_RATE_LIMITED, 1, true, 1000, &w), SY_NEXT_FALLBACK);
    CHECK_INT(decide(SY_IR_ERR_OVERLOADED, 1, true, 0, &w), SY_NEXT_FALLBACK);
    CHECK_INT(decide(SY_IR_ERR_TIMEOUT, 1, true, 0, &w), SY_NEXT_FALLBACK);
    /* ...and retry here only when alone, honouring Retry-After up to backoff_max. */
    CHECK_INT(decide(SY_IR_ERR_RATE_LIMITED, 1, false, 1500, &w), SY_NEXT_RETRY);
    CHECK_INT(w, 1500);
    CHECK_INT(decide(SY_IR_ERR_RATE_LIMITED, 1, false, 7000, &w), SY_NEXT_FAIL);
    CHECK_INT(decide(SY_IR_ERR_SERVER, 1, true, 7000, &w), SY_NEXT_FALLBACK);
    /* Fall back, never retry here: auth, not found, context too long. */
    CHECK_INT(decide(SY_IR_ERR_AUTH, 1, true, 0, &w), SY_NEXT_FALLBACK);
    CHECK_INT(decide(SY_IR_ERR_NOT_FOUND, 1, true, 0, &w), SY_NEXT_FALLBACK);
    CHECK_INT(decide(SY_IR_ERR_CONTEXT_LENGTH, 1, true, 0, &w), SY_NEXT_FALLBACK);
    CHECK_INT(decide(SY_IR_ERR_CONTEXT_LENGTH, 1, false, 0, &w), SY_NEXT_FAIL);
    /* The client's fault: never retried anywhere. */
    CHECK_INT(decide(SY_IR_ERR_BAD_REQUEST, 1, true, 0, &w), SY_NEXT_FAIL);
    CHECK_INT(decide(SY_IR_ERR_CONTENT_FILTER, 1, true, 0, &w), SY_NEXT_FAIL);
    /* Nothing after a byte reached the client. */
    uint64_t rng = 1;
    const char *why;
    sy_route_failure_t f = {.cls = SY_IR_ERR_SERVER, .client_started = true, .tries_here = 1,
                            .attempts = 1, .others_left = true};
    CHECK_INT(sy_route_decide(&RCFG, &f, &rng, &w, &why), SY_NEXT_FAIL);
    CHECK(strcmp(why, "client_started") == 0);
    /* Attempt cap and deadline. */
    f.client_started = false;
    f.attempts = 6;
    CHECK_INT(sy_route_decide(&RCFG, &f, &rng, &w, &why), SY_NEXT_FAIL);
    CHECK(strcmp(why, "max_attempts") == 0);
    f.attempts = 1;
    f.elapsed_ms = 60000;
    CHECK_INT(sy_route_decide(&RCFG, &f, &rng, &w, &why), SY_NEXT_FAIL);
    CHECK(strcmp(why, "deadline") == 0);
    /* A backoff that would end past the deadline: fall back instead. */
    f.elapsed_ms = 59999;
    f.retry_after_ms = 1000;
    CHECK_INT(sy_route_decide(&RCFG, &f, &rng, &w, &why), SY_NEXT_FALLBACK);
    /* What counts against a circuit. */
    CHECK(sy_route_counts_against_circuit(SY_IR_ERR_SERVER));
    CHECK(sy_route_counts_against_circuit(SY_IR_ERR_TIMEOUT));
    CHECK(sy_route_counts_against_circuit(SY_IR_ERR_CONNECTION));
    CHECK(!sy_route_counts_against_circuit(SY_IR_ERR_RATE_LIMITED));
    CHECK(!sy_route_counts_against_circuit(SY_IR_ERR_BAD_REQUEST));
    CHECK(!sy_route_counts_against_circuit(SY_IR_ERR_NOT_FOUND));
    CHECK(!sy_route_counts_against_circuit(SY_IR_ERR_CONTEXT_LENGTH));
}

/* ---- needs ---- */

static void test_need_from_request(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_route_need_t n;
    sy_ir_request_t ir = parse_openai(a, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}");
    sy_route_need_from_ir(&ir, &n);
    CHECK_INT(n.caps, 0);
    CHECK(n.input_tokens > 0 && n.input_tokens < 20);
    CHECK_INT(n.max_tokens, 0);
    ir = parse_openai(a, "{\"model\":\"m\",\"max_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"what?\"},"
                         "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/y.png\"}}]}],"
                         "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}}],"
                         "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"s\",\"schema\":{\"type\":\"object\"}}},"
                         "\"reasoning_effort\":\"low\"}");
    sy_route_need_from_ir(&ir, &n);
    CHECK_INT(n.caps, SY_CAP_TOOLS | SY_CAP_VISION | SY_CAP_JSON_SCHEMA | SY_CAP_THINKING);
    CHECK_INT(n.max_tokens, 50);
    sy_arena_free(a);
}

static void test_need_from_headers(void)
{
    sy_route_need_t n;
    memset(&n, 0, sizeof(n));
    sy_http_header_t h[] = {
        {SY_STR("X-Switchyard-Max-Cost-USD"), SY_STR(" 0.05 ")},
        {SY_STR("x-switchyard-regions"), SY_STR("eu, us-east ,")},
        {SY_STR("x-switchyard-prefer-providers"), SY_STR("claude")},
        {SY_STR("x-switchyard-exclude-providers"), SY_STR("openai-main,gemini")},
        {SY_STR("x-switchyard-latency-target-ms"), SY_STR("250")},
        {SY_STR("x-switchyard-something-else"), SY_STR("ignored")},
        {SY_STR("content-type"), SY_STR("application/json")},
    };
    char err[200] = "";
    CHECK_INT(sy_route_need_from_headers(&n, h, SY_ARRAY_LEN(h), err, sizeof(err)), SY_OK);
    CHECK_INT(n.max_cost_pico, 50000000000ull);
    CHECK_INT(n.nregions, 2);
    CHECK_STR(n.regions[1], "us-east");
    CHECK_INT(n.nprefer, 1);
    CHECK_INT(n.nexclude, 2);
    CHECK_STR(n.exclude[1], "gemini");
    CHECK_INT(n.latency_target_ms, 250);
    static const char *const bad[][2] = {
        {"x-switchyard-max-cost-usd", "cheap"},   {"x-switchyard-max-cost-usd", "-1"},
        {"x-switchyard-max-cost-usd", "0"},       {"x-switchyard-max-cost-usd", "0.0000000000001"},
        {"x-switchyard-latency-target-ms", "fast"}, {"x-switchyard-latency-target-ms", "0"},
        {"x-switchyard-regions", " , "},
        {"x-switchyard-regions", "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        sy_http_header_t one = {sy_str_c(bad[i][0]), sy_str_c(bad[i][1])};
        memset(&n, 0, sizeof(n));
        err[0] = '\0';
        CHECK_INT(sy_route_need_from_headers(&n, &one, 1, err, sizeof(err)), SY_EINVAL);
        CHECK(strstr(err, bad[i][0]) != NULL); /* the message names the header */
    }
}

/* ---- configuration ---- */

static const char *const PROVIDERS =
    "providers:\n"
    "  - { name: %s-a, kind: openai, base_url: \"http://127.0.0.1:9/v1\", region: us-east-1, jurisdiction: US }\n"
    "  - { name: %s-b, kind: anthropic, base_url: \"http://127.0.0.1:9\", region: eu-west-1, jurisdiction: EU }\n"
    "  - { name: %s-c, kind: openai, base_url: \"http://127.0.0.1:9/v1\" }\n";

/* A config with providers <tag>-a (openai, us), <tag>-b (anthropic, eu),
 * <tag>-c (openai, no region), then `models` (printf with tag repeated). */
static sy_config_t *cfg_tagged(const char *tag, const char *models_fmt)
{
    char buf[8192];
    int n = snprintf(buf, sizeof(buf), PROVIDERS, tag, tag, tag);
    char *p = buf + n;
    /* models_fmt uses %1$s for the tag */
    snprintf(p, sizeof(buf) - (size_t)n, models_fmt, tag, tag, tag, tag, tag, tag);
    return cfg(buf);
}

static void test_config_groups(void)
{
    sy_config_t *c = cfg_tagged("cg",
                                "models:\n"
                                "  - name: smart\n"
                                "    strategy: weighted\n"
                                "    aliases: [clever, bright]\n"
                                "    hedge_after: 250ms\n"
                                "    deployments:\n"
                                "      - { provider: %s-a, model: gpt-4o-mini, weight: 3, priority: 2, rpm: 100, tpm: 50000 }\n"
                                "      - provider: %s-b\n"
                                "        model: claude-sonnet-4-5\n"
                                "        weight: 1\n"
                                "        region: eu-central-1\n"
                                "        tools: false\n"
                                "        thinking: false\n"
                                "        context_window: 50000\n"
                                "        price: {input: 2.5, output: \"12\", cached_input: 0.25}\n"
                                "  - name: \"%s/*\"\n"
                                "    deployments: [{ provider: %s-c, model: \"*\" }]\n"
                                "router:\n"
                                "  retries: 3\n"
                                "  backoff_base: 50ms\n"
                                "  hedge_after: 1s\n"
                                "  circuit_cooldown: 5s\n");
    if (c == NULL)
        return;
    const sy_config_model_t *g = group(c, "smart");
    CHECK(g == sy_config_find_model(c, SY_STR("clever")));
    CHECK(g == sy_config_find_model(c, SY_STR("bright")));
    CHECK(sy_config_find_model(c, SY_STR("dull")) == NULL);
    CHECK_INT(g->strategy, SY_STRATEGY_WEIGHTED);
    CHECK_INT(g->hedge_after_ms, 250);
    CHECK_INT(c->router.retries, 3);
    CHECK_INT(c->router.backoff_base_ms, 50);
    CHECK_INT(c->router.hedge_after_ms, 1000);
    CHECK_INT(c->router.circuit_cooldown_ms, 5000);
    CHECK_INT(c->router.circuit_failures, 10); /* default */
    const sy_config_deployment_t *a = &g->deployments[0], *b = &g->deployments[1];
    CHECK_STR(a->label, "cg-a/gpt-4o-mini");
    CHECK_INT(a->weight, 3);
    CHECK_INT(a->priority, 2);
    CHECK_INT(a->rpm, 100);
    CHECK_INT(a->tpm, 50000);
    CHECK_STR(a->region, "us-east-1"); /* from the provider */
    CHECK_STR(a->jurisdiction, "US");
    CHECK_INT(a->caps, SY_CAP_TOOLS | SY_CAP_VISION | SY_CAP_JSON_SCHEMA | SY_CAP_THINKING);
    CHECK_INT(a->ctx_window, 128000); /* from the catalogue */
    CHECK_INT(a->max_out, 16384);
    CHECK(a->priced && a->cost.input == 150000 && a->cost.output == 600000);
    CHECK(a->state != NULL);
    CHECK_STR(b->region, "eu-central-1"); /* its own */
    CHECK_STR(b->jurisdiction, "EU");
    CHECK_INT(b->caps, SY_CAP_VISION | SY_CAP_JSON_SCHEMA);
    CHECK_INT(b->ctx_window, 50000);
    CHECK(b->priced && b->cost.input == 2500000 && b->cost.output == 12000000 &&
          b->cost.cached_input == 250000);
    CHECK(b->cost.has_cache_write && b->cost.cache_write == 3750000); /* kept from the catalogue */
    /* The same deployment in another snapshot shares its state. */
    sy_config_t *c2 = cfg_tagged("cg", "models:\n  - { name: other, deployments: [{ provider: %s-a, model: gpt-4o-mini }] }\n");
    if (c2) {
        CHECK(group(c2, "other")->deployments[0].state == a->state);
        sy_config_unref(c2);
    }
    /* Wildcards: "cg/<x>" -> provider cg-c with upstream model <x>. */
    sy_str_t cap;
    const sy_config_model_t *wg = sy_config_match_model(c, SY_STR("cg/gpt-4.1-mini"), &cap);
    CHECK(wg != NULL && wg->wildcard);
    CHECK_STR(cap, "gpt-4.1-mini");
    CHECK(sy_config_match_model(c, SY_STR("cg/"), &cap) == NULL); /* `*` matches something */
    CHECK(sy_config_match_model(c, SY_STR("xcg/a"), &cap) == NULL);
    sy_arena_t *ar = sy_arena_new(0);
    size_t n;
    const sy_config_deployment_t *d = sy_route_deployments(ar, wg, SY_STR("gpt-4.1-mini"), &n);
    CHECK_INT(n, 1);
    CHECK_STR(d[0].model, "gpt-4.1-mini");
    CHECK_STR(d[0].label, "cg-c/gpt-4.1-mini");
    CHECK_INT(d[0].ctx_window, 1047576); /* the completed model's catalogue entry */
    CHECK(d[0].priced && d[0].cost.input == 400000);
    CHECK(d[0].state == wg->deployments[0].state); /* health per pattern */
    sy_arena_free(ar);
    /* The effective configuration loads back to an equal one. */
    sy_buf_t t;
    sy_buf_init(&t, 0);
    sy_config_format(c, &t, false);
    char *err = NULL;
    sy_config_t *r = sy_config_parse("again.yaml", sy_buf_ptr(&t), t.len, &err);
    if (r == NULL)
        fprintf(stderr, "  reload of the formatted config failed: %s\n%.*s\n", err, (int)t.len,
                sy_buf_ptr(&t));
    CHECK(r && sy_config_equal(c, r));
    free(err);
    sy_config_unref(r);
    sy_buf_free(&t);
    sy_config_unref(c);
}

static void test_config_errors(void)
{
    const char *P = "providers: [{ name: p, kind: openai, base_url: \"http://127.0.0.1:9/v1\" }]\n";
    char y[4096];
#define WITH(models) (snprintf(y, sizeof(y), "%s%s", P, models), y)
    EXPECT_CFG_ERR(WITH("models:\n  - name: m\n    strategy: fastest\n    deployments: [{provider: p, model: x}]\n"),
                   "t.yaml:4:5: models[0].strategy: expected one of priority, weighted, least_latency, least_busy, cheapest, got \"fastest\"");
    EXPECT_CFG_ERR(WITH("models:\n  - name: m\n    deployments:\n      - { provider: p, model: x, price: {input: cheap} }\n"),
                   "t.yaml:5:42: models[0].deployments[0].price.input: expected a price in USD per million tokens");
    EXPECT_CFG_ERR(WITH("models:\n  - name: m\n    deployments:\n      - { provider: p, model: x, price: {inptu: 1} }\n"),
                   "t.yaml:5:42: unknown key \"models[0].deployments[0].price.inptu\" (did you mean \"models[0].deployments[0].price.input\"?)");
    EXPECT_CFG_ERR(WITH("models:\n  - name: m\n    deployments:\n      - { provider: p, model: x, wieght: 2 }\n"),
                   "t.yaml:5:34: unknown key \"models[0].deployments[0].wieght\" (did you mean \"models[0].deployments[0].weight\"?)");
    EXPECT_CFG_ERR(WITH("models:\n  - name: m\n    deployments:\n      - { provider: p, model: x, rpm: lots }\n"),
                   "t.yaml:5:34: models[0].deployments[0].rpm: expected a whole number, got \"lots\"");
    EXPECT_CFG_ERR(WITH("models:\n  - name: m\n    strategy: weighted\n    deployments:\n      - { provider: p, model: x, weight: 0 }\n"),
                   "t.yaml:3:5: models[0]: strategy weighted needs a deployment with weight > 0");
    EXPECT_CFG_ERR(WITH("models:\n  - { name: m, deployments: [{provider: p, model: x}] }\n"
                        "  - { name: n, aliases: [m], deployments: [{provider: p, model: x}] }\n"),
                   "model name \"m\" is used twice");
    EXPECT_CFG_ERR(WITH("models:\n  - { name: m, aliases: [a, a], deployments: [{provider: p, model: x}] }\n"),
                   "model name \"a\" is used twice");
    EXPECT_CFG_ERR(WITH("models:\n  - { name: \"a/*/b*\", deployments: [{provider: p, model: x}] }\n"),
                   "a wildcard model name has one `*`");
    EXPECT_CFG_ERR(WITH("models:\n  - name: m\n    deployments:\n      - { provider: p, model: \"gpt-*\" }\n"),
                   "t.yaml:5:24: models[0].deployments[0].model: `*` in a deployment's model needs a wildcard model name");
    EXPECT_CFG_ERR(WITH("models:\n  - { name: m, aliases: [\"x*\"], deployments: [{provider: p, model: x}] }\n"),
                   "an alias is a plain model name");
    EXPECT_CFG_ERR("router:\n  retries: 11\n", "t.yaml:2:3: router.retries: \"11\" is too large (the maximum is 10)");
    EXPECT_CFG_ERR("router:\n  circuit_failure_ratio: 101\n", "router.circuit_failure_ratio");
    EXPECT_CFG_ERR("router:\n  backoff_base: soon\n", "router.backoff_base");
    EXPECT_CFG_ERR("router:\n  retires: 1\n", "(did you mean \"router.retries\"?)");
    /* More than SY_ROUTE_MAX_DEPLOYMENTS deployments. */
    size_t k = (size_t)snprintf(y, sizeof(y), "%smodels:\n  - name: big\n    deployments:\n", P);
    for (int i = 0; i < SY_ROUTE_MAX_DEPLOYMENTS + 1 && k < sizeof(y) - 64; i++)
        k += (size_t)snprintf(y + k, sizeof(y) - k, "      - {provider: p, model: m%d}\n", i);
    EXPECT_CFG_ERR(y, "a model has at most 64 deployments");
#undef WITH
}

/* ---- the plan: filters ---- */

static sy_route_need_t need0(void)
{
    sy_route_need_t n;
    memset(&n, 0, sizeof(n));
    n.input_tokens = 100;
    return n;
}

static void test_filters(void)
{
    sy_config_t *c = cfg_tagged("flt",
                                "models:\n"
                                "  - name: g\n"
                                "    deployments:\n"
                                "      - { provider: %s-a, model: gpt-4o-mini, vision: false }\n"
                                "      - { provider: %s-b, model: claude-sonnet-4-5, tools: false, json_schema: false }\n"
                                "      - { provider: %s-c, model: mystery-model, thinking: false, context_window: 1000, max_output: 100 }\n");
    if (c == NULL)
        return;
    uint64_t rng = 7, now = 10000000;
    sy_route_plan_t p;
    sy_route_need_t n = need0();
    CHECK_INT(plan_for(c, "g", &n, now, &rng, &p), 3);
    /* capabilities */
    n.caps = SY_CAP_TOOLS;
    CHECK_INT(plan_for(c, "g", &n, now, &rng, &p), 2);
    CHECK_INT(p.cand[1].drop, SY_DROP_TOOLS);
    n.caps = SY_CAP_VISION;
    plan_for(c, "g", &n, now, &rng, &p);
    CHECK_INT(p.cand[0].drop, SY_DROP_VISION);
    n.caps = SY_CAP_JSON_SCHEMA;
    plan_for(c, "g", &n, now, &rng, &p);
    CHECK_INT(p.cand[1].drop, SY_DROP_JSON_SCHEMA);
    n.caps = SY_CAP_THINKING;
    plan_for(c, "g", &n, now, &rng, &p);
    CHECK_INT(p.cand[2].drop, SY_DROP_THINKING);
    /* context window and max output */
    n = need0();
    n.input_tokens = 950;
    n.max_tokens = 60;
    CHECK_INT(plan_for(c, "g", &n, now, &rng, &p), 2);
    CHECK_INT(p.cand[2].drop, SY_DROP_CONTEXT);
    n.input_tokens = 150000; /* past gpt-4o-mini's 128k, within claude's 200k */
    n.max_tokens = 0;
    CHECK_INT(plan_for(c, "g", &n, now, &rng, &p), 1);
    CHECK_STR(p.cand[p.order[0]].dep->provider, "flt-b");
    CHECK_INT(p.cand[0].drop, SY_DROP_CONTEXT);
    n = need0();
    n.max_tokens = 500;
    plan_for(c, "g", &n, now, &rng, &p);
    CHECK_INT(p.cand[2].drop, SY_DROP_MAX_OUTPUT);
    /* excluded and preferred providers: by name or by kind */
    n = need0();
    n.exclude[n.nexclude++] = SY_STR("anthropic");
    CHECK_INT(plan_for(c, "g", &n, now, &rng, &p), 2);
    CHECK_INT(p.cand[1].drop, SY_DROP_EXCLUDED);
    n = need0();
    n.exclude[n.nexclude++] = SY_STR("FLT-A");
    plan_for(c, "g", &n, now, &rng, &p);
    CHECK_INT(p.cand[0].drop, SY_DROP_EXCLUDED);
    n = need0();
    n.prefer[n.nprefer++] = SY_STR("flt-c");
    plan_for(c, "g", &n, now, &rng, &p);
    CHECK(strcmp(first_label(&p), "flt-c/mystery-model") == 0);
    CHECK(p.cand[2].preferred);
    /* regions: a prefix of the region, or the jurisdiction */
    n = need0();
    n.regions[n.nregions++] = SY_STR("eu");
    CHECK_INT(plan_for(c, "g", &n, now, &rng, &p), 1);
    CHECK_STR(p.cand[p.order[0]].dep->provider, "flt-b");
    CHECK_INT(p.cand[0].drop, SY_DROP_REGION);
    CHECK_INT(p.cand[2].drop, SY_DROP_REGION); /* no region at all never matches */
    n.regions[0] = SY_STR("us");
    plan_for(c, "g", &n, now, &rng, &p);
    CHECK(p.cand[0].drop == SY_DROP_NONE && p.cand[1].drop == SY_DROP_REGION);
    n.regions[0] = SY_STR("us-east-1");
    plan_for(c, "g", &n, now, &rng, &p);
    CHECK(p.cand[0].drop == SY_DROP_NONE);
    n.regions[0] = SY_STR("us-e"); /* a prefix must end at a '-' */
    plan_for(c, "g", &n, now, &rng, &p);
    CHECK(p.cand[0].drop == SY_DROP_REGION);
    n.regions[0] = SY_STR("eu");
    n.regions[n.nregions++] = SY_STR("US");
    CHECK_INT(plan_for(c, "g", &n, now, &rng, &p), 2);
    /* max cost: priced ones compared, unpriced dropped */
    n = need0();
    n.input_tokens = 10000;
    n.max_tokens = 1000;
    /* gpt-4o-mini: 10000 x 0.15 + 1000 x 0.60 = $0.0021; claude: 10000 x 3.75 (cache write) + 1000 x 15 = $0.0525 */
    n.max_cost_pico = 10000000000ull; /* $0.01 */
    CHECK_INT(plan_for(c, "g", &n, now, &rng, &p), 1);
    CHECK_INT(p.cand[0].cost_pico, 10000ull * 150000 + 1000ull * 600000);
    CHECK_INT(p.cand[1].drop, SY_DROP_COST);
    CHECK_INT(p.cand[2].drop, SY_DROP_CONTEXT);
    n.input_tokens = 500;
    n.max_tokens = 10;
    plan_for(c, "g", &n, now, &rng, &p);
    CHECK_INT(p.cand[2].drop, SY_DROP_PRICE_UNKNOWN);
    /* latency target: only deployments with figures can miss it */
    n = need0();
    n.latency_target_ms = 100;
    sy_route_state_sample_ttft(group(c, "g")->deployments[0].state, 500000000, now);
    CHECK_INT(plan_for(c, "g", &n, now, &rng, &p), 2);
    CHECK_INT(p.cand[0].drop, SY_DROP_LATENCY);
    sy_config_unref(c);
}

static void test_filter_health(void)
{
    sy_config_t *c = cfg_tagged("hl",
                                "models:\n"
                                "  - name: g\n"
                                "    deployments:\n"
                                "      - { provider: %s-a, model: gpt-4o-mini, rpm: 2, tpm: 5000 }\n"
                                "      - { provider: %s-b, model: claude-haiku-4-5 }\n"
                                "router: { circuit_failures: 2, circuit_cooldown: 10s }\n");
    if (c == NULL)
        return;
    const sy_config_model_t *g = group(c, "g");
    sy_route_state_t *sa = g->deployments[0].state, *sb = g->deployments[1].state;
    uint64_t rng = 3, now = 1000 * 60000 + 5;
    sy_route_plan_t p;
    sy_route_need_t n = need0();
    sy_circuit_params_t cp;
    sy_route_circuit_params(&c->router, &cp);
    /* RPM and TPM headroom */
    sy_rate_resv_t r1, r2;
    CHECK_INT(sy_route_counters()->reserve(sa, SY_RATE_RPM, 2, 2, now, &r1), SY_OK);
    CHECK_INT(plan_for(c, "g", &n, now, &rng, &p), 1);
    CHECK_INT(p.cand[0].drop, SY_DROP_RPM);
    sy_route_counters()->settle(&r1, 0);
    CHECK_INT(sy_route_counters()->reserve(sa, SY_RATE_TPM, 5000, 4850, now, &r2), SY_OK);
    n.max_tokens = 100; /* 100 in + 100 out > 150 left */
    plan_for(c, "g", &n, now, &rng, &p);
    CHECK_INT(p.cand[0].drop, SY_DROP_TPM);
    sy_route_counters()->settle(&r2, 0);
    n = need0();
    CHECK_INT(plan_for(c, "g", &n, now, &rng, &p), 2);
    /* An open circuit drops; its cooldown over, it is kept and goes first (the probe). */
    sy_circuit_failure(&sb->circuit, &cp, now, false);
    sy_circuit_failure(&sb->circuit, &cp, now, false);
    CHECK_INT(plan_for(c, "g", &n, now + 1, &rng, &p), 1);
    CHECK_INT(p.cand[1].drop, SY_DROP_CIRCUIT);
    CHECK_INT(plan_for(c, "g", &n, now + 10000, &rng, &p), 2);
    CHECK(p.cand[1].probe);
    CHECK(strcmp(first_label(&p), "hl-b/claude-haiku-4-5") == 0);
    bool probe;
    CHECK(sy_circuit_allow(&sb->circuit, &cp, now + 10000, &probe) && probe);
    CHECK_INT(plan_for(c, "g", &n, now + 10001, &rng, &p), 1); /* half-open: the probe is out */
    sy_circuit_success(&sb->circuit, &cp, now + 10002, true);
    /* A deployment that answered 429 with Retry-After is kept but tried last. */
    sy_route_state_cool(sa, now + 15000);
    CHECK_INT(plan_for(c, "g", &n, now + 10003, &rng, &p), 2);
    CHECK(p.cand[0].cooling);
    CHECK(strcmp(first_label(&p), "hl-b/claude-haiku-4-5") == 0);
    CHECK_INT(plan_for(c, "g", &n, now + 20000, &rng, &p), 2);
    CHECK(strcmp(first_label(&p), "hl-a/gpt-4o-mini") == 0); /* cooled down */
    sy_config_unref(c);
}

/* ---- the plan: strategies ---- */

static void test_strategy_priority(void)
{
    sy_config_t *c = cfg_tagged("pri",
                                "models:\n"
                                "  - name: g\n"
                                "    deployments:\n"
                                "      - { provider: %s-a, model: m1, priority: 5 }\n"
                                "      - { provider: %s-a, model: m2, priority: 1 }\n"
                                "      - { provider: %s-a, model: m3 }\n"
                                "      - { provider: %s-a, model: m4, priority: 1 }\n");
    if (c == NULL)
        return;
    uint64_t rng = 1;
    sy_route_plan_t p;
    sy_route_need_t n = need0();
    CHECK_INT(plan_for(c, "g", &n, 1000, &rng, &p), 4);
    CHECK(strcmp(label_at(&p, 0), "pri-a/m3") == 0);
    CHECK(strcmp(label_at(&p, 1), "pri-a/m2") == 0); /* ties in config order */
    CHECK(strcmp(label_at(&p, 2), "pri-a/m4") == 0);
    CHECK(strcmp(label_at(&p, 3), "pri-a/m1") == 0);
    sy_config_unref(c);
}

static void test_strategy_weighted(void)
{
    sy_config_t *c = cfg_tagged("wt",
                                "models:\n"
                                "  - name: g\n"
                                "    strategy: weighted\n"
                                "    deployments:\n"
                                "      - { provider: %s-a, model: m1, weight: 3 }\n"
                                "      - { provider: %s-a, model: m2, weight: 1 }\n"
                                "      - { provider: %s-a, model: m3, weight: 0 }\n");
    if (c == NULL)
        return;
    uint64_t rng = 0x1234567;
    sy_route_plan_t p;
    sy_route_need_t n = need0();
    int first[3] = {0, 0, 0};
    const int N = 40000;
    for (int i = 0; i < N; i++) {
        CHECK_INT(plan_for(c, "g", &n, 1000, &rng, &p), 3);
        first[p.order[0]]++;
        /* weight 0: only ever the last resort */
        if (p.order[2] != 2)
            unit_cur_failed++;
    }
    double share = (double)first[0] / N;
    CHECK(share > 0.74 && share < 0.76);
    CHECK_INT(first[2], 0);
    /* The fallback after the pick is the other weighted one. */
    plan_for(c, "g", &n, 1000, &rng, &p);
    CHECK(p.order[1] != 2);
    sy_config_unref(c);
}

static void test_strategy_least_latency(void)
{
    sy_config_t *c = cfg_tagged("ll",
                                "models:\n"
                                "  - name: two\n"
                                "    strategy: least_latency\n"
                                "    deployments:\n"
                                "      - { provider: %s-a, model: slow }\n"
                                "      - { provider: %s-a, model: fast }\n"
                                "  - name: four\n"
                                "    strategy: least_latency\n"
                                "    deployments:\n"
                                "      - { provider: %s-b, model: d1 }\n"
                                "      - { provider: %s-b, model: d2 }\n"
                                "      - { provider: %s-b, model: d3 }\n"
                                "      - { provider: %s-b, model: d4 }\n"
                                "router: { explore_after: 0s }\n");
    if (c == NULL)
        return;
    uint64_t rng = 42, now = 500000;
    sy_route_plan_t p;
    sy_route_need_t n = need0();
    const sy_config_model_t *two = group(c, "two");
    /* Cold: a deployment without figures goes first, to get some. */
    sy_route_state_sample_ttft(two->deployments[1].state, 10000000, now);
    plan_for(c, "two", &n, now, &rng, &p);
    CHECK(strcmp(first_label(&p), "ll-a/slow") == 0);
    /* Warm: the faster one, every time with two candidates. */
    sy_route_state_sample_ttft(two->deployments[0].state, 50000000, now);
    for (int i = 0; i < 100; i++) {
        plan_for(c, "two", &n, now, &rng, &p);
        if (strcmp(first_label(&p), "ll-a/fast") != 0)
            unit_cur_failed++;
    }
    CHECK_INT(p.cand[1].latency_ns, 10000000);
    /* Time per output token counts with the expected output. */
    sy_route_state_sample_tpot(two->deployments[1].state, 999 * 1000000ull, 1000); /* 1 ms/token */
    n.max_tokens = 100; /* fast: 10 + 99 ms > slow: 50 ms */
    plan_for(c, "two", &n, now, &rng, &p);
    CHECK(strcmp(first_label(&p), "ll-a/slow") == 0);
    /* EWMA: samples move the figure a quarter of the way. */
    sy_route_state_t *s = two->deployments[0].state;
    sy_route_state_sample_ttft(s, 10000000, now);
    CHECK_INT(atomic_load(&s->ttft_ns), 50000000 - 12500000 + 2500000);
    /* Power of two choices over four: the fastest wins most first picks but
     * not all (the slowest never, as it loses every pair it is in). */
    const sy_config_model_t *four = group(c, "four");
    static const uint64_t ms[4] = {10, 20, 30, 40};
    for (int i = 0; i < 4; i++)
        sy_route_state_sample_ttft(four->deployments[i].state, ms[i] * 1000000, now);
    int first[4] = {0, 0, 0, 0};
    n = need0();
    for (int i = 0; i < 12000; i++) {
        plan_for(c, "four", &n, now, &rng, &p);
        first[p.order[0]]++;
    }
    /* P(first) = pairs it wins / 6: 3/6, 2/6, 1/6, 0. */
    CHECK(first[0] > 5600 && first[0] < 6400);
    CHECK(first[1] > 3600 && first[1] < 4400);
    CHECK(first[2] > 1700 && first[2] < 2300);
    CHECK_INT(first[3], 0);
    sy_config_unref(c);
}

static void test_least_latency_explores(void)
{
    sy_config_t *c = cfg_tagged("lx",
                                "models:\n"
                                "  - name: two\n"
                                "    strategy: least_latency\n"
                                "    deployments:\n"
                                "      - { provider: %s-a, model: slow }\n"
                                "      - { provider: %s-a, model: fast }\n"
                                "router: { explore_after: 10s }\n");
    if (c == NULL)
        return;
    const sy_config_model_t *two = group(c, "two");
    uint64_t rng = 5, t0 = 1000000;
    sy_route_state_sample_ttft(two->deployments[0].state, 50000000, t0);
    sy_route_state_sample_ttft(two->deployments[1].state, 10000000, t0);
    sy_route_plan_t p;
    sy_route_need_t n = need0();
    plan_for(c, "two", &n, t0 + 5000, &rng, &p);
    CHECK(strcmp(first_label(&p), "lx-a/fast") == 0);
    /* The slow one's figures are stale: exactly one request refreshes them. */
    sy_route_state_sample_ttft(two->deployments[1].state, 10000000, t0 + 10500);
    plan_for(c, "two", &n, t0 + 10500, &rng, &p);
    CHECK(strcmp(first_label(&p), "lx-a/slow") == 0);
    plan_for(c, "two", &n, t0 + 10501, &rng, &p);
    CHECK(strcmp(first_label(&p), "lx-a/fast") == 0);
    /* Explain never claims an exploration. */
    sy_route_ctx_t rc = {.cfg = &c->router, .now_ms = t0 + 30000, .rng = &rng, .explain = true};
    sy_route_plan(&rc, two, two->deployments, two->ndeployments, &n, &p);
    CHECK(strcmp(first_label(&p), "lx-a/fast") == 0);
    sy_config_unref(c);
}

static void test_strategy_least_busy(void)
{
    sy_config_t *c = cfg_tagged("lb",
                                "models:\n"
                                "  - name: g\n"
                                "    strategy: least_busy\n"
                                "    deployments:\n"
                                "      - { provider: %s-a, model: m1 }\n"
                                "      - { provider: %s-a, model: m2 }\n"
                                "      - { provider: %s-a, model: m3 }\n");
    if (c == NULL)
        return;
    const sy_config_model_t *g = group(c, "g");
    atomic_store(&g->deployments[0].state->inflight, 5);
    atomic_store(&g->deployments[1].state->inflight, 1);
    atomic_store(&g->deployments[2].state->inflight, 3);
    uint64_t rng = 9;
    sy_route_plan_t p;
    sy_route_need_t n = need0();
    plan_for(c, "g", &n, 1000, &rng, &p);
    CHECK(strcmp(label_at(&p, 0), "lb-a/m2") == 0);
    CHECK(strcmp(label_at(&p, 1), "lb-a/m3") == 0);
    CHECK(strcmp(label_at(&p, 2), "lb-a/m1") == 0);
    /* Equal loads share: ties are broken at random. */
    atomic_store(&g->deployments[0].state->inflight, 1);
    atomic_store(&g->deployments[2].state->inflight, 1);
    int first[3] = {0, 0, 0};
    for (int i = 0; i < 3000; i++) {
        plan_for(c, "g", &n, 1000, &rng, &p);
        first[p.order[0]]++;
    }
    for (int i = 0; i < 3; i++)
        CHECK(first[i] > 800 && first[i] < 1200);
    for (int i = 0; i < 3; i++)
        atomic_store(&g->deployments[i].state->inflight, 0);
    sy_config_unref(c);
}

static void test_strategy_cheapest(void)
{
    sy_config_t *c = cfg_tagged("ch",
                                "models:\n"
                                "  - name: g\n"
                                "    strategy: cheapest\n"
                                "    deployments:\n"
                                "      - { provider: %s-a, model: unknown-model }\n"
                                "      - { provider: %s-a, model: big, context_window: 1000000, price: {input: 2, output: 8} }\n"
                                "      - { provider: %s-a, model: gpt-4o-mini }\n"
                                "      - { provider: %s-b, model: claude-haiku-4-5 }\n");
    if (c == NULL)
        return;
    uint64_t rng = 2;
    sy_route_plan_t p;
    sy_route_need_t n = need0();
    CHECK_INT(plan_for(c, "g", &n, 1000, &rng, &p), 4);
    CHECK(strcmp(label_at(&p, 0), "ch-a/gpt-4o-mini") == 0);
    CHECK(strcmp(label_at(&p, 1), "ch-b/claude-haiku-4-5") == 0);
    CHECK(strcmp(label_at(&p, 2), "ch-a/big") == 0);
    CHECK(strcmp(label_at(&p, 3), "ch-a/unknown-model") == 0); /* unpriced: last */
    /* A 150k-token prompt: only the large window fits (the unknown model has no window known). */
    n.input_tokens = 150000;
    CHECK_INT(plan_for(c, "g", &n, 1000, &rng, &p), 3);
    CHECK(strcmp(label_at(&p, 0), "ch-b/claude-haiku-4-5") == 0); /* 200k window */
    n.input_tokens = 300000;
    CHECK_INT(plan_for(c, "g", &n, 1000, &rng, &p), 2);
    CHECK(strcmp(label_at(&p, 0), "ch-a/big") == 0);
    sy_config_unref(c);
}

/* ---- nothing can serve it ---- */

static void test_unmet(void)
{
    sy_config_t *c = cfg_tagged("um",
                                "models:\n"
                                "  - name: g\n"
                                "    deployments:\n"
                                "      - { provider: %s-a, model: gpt-4o-mini }\n"
                                "      - { provider: %s-b, model: claude-haiku-4-5, tools: false }\n"
                                "router: { circuit_failures: 1, circuit_cooldown: 7s }\n");
    if (c == NULL)
        return;
    const sy_config_model_t *g = group(c, "g");
    uint64_t rng = 2, now = 4000000;
    sy_route_ctx_t rc = {.cfg = &c->router, .now_ms = now, .rng = &rng};
    sy_route_plan_t p;
    sy_route_need_t n = need0();
    n.input_tokens = 150000;
    n.caps = SY_CAP_TOOLS;
    CHECK_INT(sy_route_plan(&rc, g, g->deployments, g->ndeployments, &n, &p), 0);
    char msg[1024];
    uint64_t ra = 99;
    CHECK_INT(sy_route_unmet(&rc, &p, &n, SY_STR("g"), msg, sizeof(msg), &ra), 400);
    CHECK_INT(ra, 0);
    CHECK(strstr(msg, "no deployment of model \"g\" can serve this request: ") == msg);
    CHECK(strstr(msg, "um-a/gpt-4o-mini: context window 128000 < 150000 tokens") != NULL);
    CHECK(strstr(msg, "; um-b/claude-haiku-4-5: does not support tools") != NULL);
    /* Health drops: 503 with the time until a probe. */
    sy_circuit_params_t cp;
    sy_route_circuit_params(&c->router, &cp);
    sy_circuit_failure(&g->deployments[0].state->circuit, &cp, now - 2000, false);
    n = need0();
    n.caps = SY_CAP_TOOLS;
    CHECK_INT(sy_route_plan(&rc, g, g->deployments, g->ndeployments, &n, &p), 0);
    CHECK_INT(sy_route_unmet(&rc, &p, &n, SY_STR("g"), msg, sizeof(msg), &ra), 503);
    CHECK_INT(ra, 5000);
    CHECK(strstr(msg, "circuit open (retry in 5000 ms)") != NULL);
    /* Explain shows the same in JSON. */
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_route_explain_json(&rc, &p, &n, SY_STR("g"), &b);
    sy_arena_t *a = sy_arena_new(0);
    sy_json_t *j = NULL;
    sy_json_error_t je;
    CHECK_INT(sy_json_parse(a, sy_buf_ptr(&b), b.len, NULL, &j, &je), SY_OK);
    if (j) {
        CHECK_STR(sy_json_str(sy_json_get(j, "strategy")), "priority");
        CHECK_INT(sy_json_len(sy_json_get(j, "candidates")), 2);
        CHECK_STR(sy_json_str(sy_json_path(j, "candidates.0.reason")), "circuit_open");
        CHECK_STR(sy_json_str(sy_json_path(j, "candidates.1.reason")), "tools");
        CHECK_STR(sy_json_str(sy_json_path(j, "request.needs.0")), "tools");
        int64_t st = 0;
        CHECK(sy_json_as_i64(sy_json_get(j, "status"), &st) == SY_OK && st == 503);
    }
    sy_buf_clear(&b);
    sy_route_explain_text(&rc, &p, &n, SY_STR("g"), &b);
    sy_buf_append(&b, "", 1);
    CHECK(strstr(sy_buf_ptr(&b), "drop um-b/claude-haiku-4-5  [tools] does not support tools") != NULL);
    CHECK(strstr(sy_buf_ptr(&b), "the gateway answers 503") != NULL);
    sy_buf_free(&b);
    sy_arena_free(a);
    sy_config_unref(c);
}

/* ---- the state table ---- */

static void test_state_table(void)
{
    sy_route_state_t *a = sy_route_state_get(SY_STR("st-p"), SY_STR("m"));
    sy_route_state_t *b = sy_route_state_get(SY_STR("st-p"), SY_STR("m"));
    sy_route_state_t *c = sy_route_state_get(SY_STR("st-p"), SY_STR("n"));
    sy_route_state_t *d = sy_route_state_get(SY_STR("st-pm"), SY_STR(""));
    CHECK(a == b && a != c && a != d && c != d);
    CHECK(sy_route_state_find(SY_STR("st-p"), SY_STR("m")) == a);
    CHECK(sy_route_state_find(SY_STR("st-q"), SY_STR("m")) == NULL);
    CHECK_STR(a->label, "st-p/m");
    CHECK(((uintptr_t)a & 63) == 0); /* one cache line each */
    size_t it = 0, seen = 0;
    for (sy_route_state_t *s; (s = sy_route_state_next(&it));)
        seen += s == a || s == c;
    CHECK_INT(seen, 2);
    /* Cooling only moves forward. */
    sy_route_state_cool(a, 5000);
    sy_route_state_cool(a, 3000);
    CHECK_INT(atomic_load(&a->cooldown_until_ms), 5000);
}

int main(void)
{
    RUN(test_circuit_consecutive);
    RUN(test_circuit_abandon_and_late_verdicts);
    RUN(test_circuit_ratio_window);
    RUN(test_rate_window);
    RUN(test_backoff_bounds);
    RUN(test_policy);
    RUN(test_need_from_request);
    RUN(test_need_from_headers);
    RUN(test_config_groups);
    RUN(test_config_errors);
    RUN(test_filters);
    RUN(test_filter_health);
    RUN(test_strategy_priority);
    RUN(test_strategy_weighted);
    RUN(test_strategy_least_latency);
    RUN(test_least_latency_explores);
    RUN(test_strategy_least_busy);
    RUN(test_strategy_cheapest);
    RUN(test_unmet);
    RUN(test_state_table);
    return unit_done();
}
