/*
 * plan.c - filter a group's deployments for one request and rank the rest
 * by the group's strategy (router.h has the overview).
 *
 * Everything here runs on every request: no allocation, no lock, no I/O;
 * the shared figures are read with relaxed atomic loads. Ranking computes
 * one 64-bit sort key per kept candidate and insertion-sorts the (at most
 * 64, usually a handful) indexes.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "router/router.h"

const char *const sy_route_strategy_names[] = {"priority",   "weighted", "least_latency",
                                               "least_busy", "cheapest", NULL};

static const char *const drop_names[SY_DROP__COUNT] = {
    [SY_DROP_NONE] = "kept",
    [SY_DROP_TOOLS] = "tools",
    [SY_DROP_VISION] = "vision",
    [SY_DROP_JSON_SCHEMA] = "json_schema",
    [SY_DROP_THINKING] = "thinking",
    [SY_DROP_CONTEXT] = "context_window",
    [SY_DROP_MAX_OUTPUT] = "max_output",
    [SY_DROP_COST] = "max_cost",
    [SY_DROP_PRICE_UNKNOWN] = "price_unknown",
    [SY_DROP_REGION] = "region",
    [SY_DROP_RESIDENCY] = "residency",
    [SY_DROP_EXCLUDED] = "excluded",
    [SY_DROP_LATENCY] = "latency_target",
    [SY_DROP_CIRCUIT] = "circuit_open",
    [SY_DROP_RPM] = "rpm_limit",
    [SY_DROP_TPM] = "tpm_limit",
    [SY_DROP_COUNTERS] = "counters_unavailable",
    [SY_DROP_LARGER_CONTEXT] = "smaller_context",
};

const char *sy_route_drop_name(sy_route_drop_t d)
{
    return d < SY_DROP__COUNT && drop_names[d] ? drop_names[d] : "unknown";
}

bool sy_route_drop_transient(sy_route_drop_t d)
{
    return d == SY_DROP_CIRCUIT || d == SY_DROP_RPM || d == SY_DROP_TPM;
}

void sy_route_circuit_params(const sy_config_router_t *cfg, sy_circuit_params_t *p)
{
    p->failures = (uint32_t)cfg->circuit_failures;
    p->ratio_pct = (uint32_t)cfg->circuit_failure_ratio;
    p->min_requests = (uint32_t)cfg->circuit_min_requests;
    p->window_ms = cfg->circuit_window_ms;
    p->cooldown_ms = cfg->circuit_cooldown_ms;
}

/* ---- randomness ---- */

uint64_t sy_route_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

uint64_t *sy_route_rng(void)
{
    static _Thread_local uint64_t state;
    if (SY_UNLIKELY(state == 0)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)&state;
        seed ^= seed >> 31;
        seed *= 0xbf58476d1ce4e5b9ULL;
        state = seed ? seed : 0x9e3779b97f4a7c15ULL;
    }
    return &state;
}

/* Uniform in [0, n), n > 0 (Lemire's multiply-shift; the bias is below 2^-32
 * for the small n used here). */
static inline uint64_t below(uint64_t *rng, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)(sy_route_rand(rng) >> 32) * n) >> 32);
}

/* ---- filters ---- */

/* Whether `want` (from a header) names this provider: its configured name or its kind. */
static bool names_provider(const sy_config_deployment_t *d, const sy_str_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sy_str_ieq(list[i], d->provider) ||
            (d->provider_cfg && sy_str_ieq(list[i], d->provider_cfg->kind)))
            return true;
    return false;
}

/* An allowed region matches a region equal to it or below it ("eu" matches
 * "eu-west-1"), or an equal jurisdiction; case is ignored. */
static bool region_allowed(const sy_config_deployment_t *d, const sy_route_need_t *need)
{
    for (size_t i = 0; i < need->nregions; i++) {
        sy_str_t r = need->regions[i];
        if (d->region.len &&
            (sy_str_ieq(d->region, r) ||
             (d->region.len > r.len && d->region.p[r.len] == '-' &&
              sy_str_ieq(sy_str_sub(d->region, 0, r.len), r))))
            return true;
        if (d->jurisdiction.len && sy_str_ieq(d->jurisdiction, r))
            return true;
    }
    return false;
}

/* Data residency: the deployment's jurisdiction equals an allowed one or
 * lies below it ("eu-de" under "eu"); a deployment without one never
 * serves a restricted request. */
static bool jurisdiction_allowed(const sy_config_deployment_t *d, const sy_route_need_t *need)
{
    sy_str_t j = d->jurisdiction;
    for (size_t i = 0; j.len && i < need->njurisdictions; i++) {
        sy_str_t a = need->jurisdictions[i];
        if (a.len && (sy_str_ieq(j, a) || (j.len > a.len && j.p[a.len] == '-' &&
                                          sy_str_ieq(sy_str_sub(j, 0, a.len), a))))
            return true;
    }
    return false;
}

/* Output tokens used for expected cost and latency: max_tokens, or a
 * typical answer when unset; never above the deployment's max output. */
static uint64_t expected_output(const sy_config_deployment_t *d, const sy_route_need_t *need)
{
    uint64_t out = need->max_tokens ? need->max_tokens : SY_ROUTE_DEFAULT_OUTPUT;
    return d->max_out && out > d->max_out ? d->max_out : out;
}

static uint64_t expected_latency_ns(const sy_route_state_t *s, uint64_t out)
{
    uint64_t ttft = atomic_load_explicit(&s->ttft_ns, memory_order_relaxed);
    if (ttft == 0)
        return 0;
    uint64_t tpot = atomic_load_explicit(&s->tpot_ns, memory_order_relaxed);
    return ttft + tpot * (out > 1 ? out - 1 : 0);
}

static sy_route_drop_t filter(const sy_route_ctx_t *rc, const sy_circuit_params_t *cp,
                              const sy_route_need_t *need, sy_route_cand_t *c)
{
    const sy_config_deployment_t *d = c->dep;
    uint32_t missing = need->caps & ~d->caps;
    if (missing) {
        if (missing & SY_CAP_TOOLS)
            return SY_DROP_TOOLS;
        if (missing & SY_CAP_VISION)
            return SY_DROP_VISION;
        if (missing & SY_CAP_JSON_SCHEMA)
            return SY_DROP_JSON_SCHEMA;
        return SY_DROP_THINKING;
    }
    if (d->ctx_window && need->input_tokens + need->max_tokens > d->ctx_window)
        return SY_DROP_CONTEXT;
    if (d->max_out && need->max_tokens > d->max_out)
        return SY_DROP_MAX_OUTPUT;
    if (need->nexclude && names_provider(d, need->exclude, need->nexclude))
        return SY_DROP_EXCLUDED;
    if (need->nregions && !region_allowed(d, need))
        return SY_DROP_REGION;
    if (need->restricted && !jurisdiction_allowed(d, need))
        return SY_DROP_RESIDENCY;
    uint64_t out = expected_output(d, need);
    if (d->priced)
        c->cost_pico = sy_cost_estimate_pico(&d->cost, need->input_tokens, out);
    if (need->max_cost_pico) {
        if (!d->priced)
            return SY_DROP_PRICE_UNKNOWN;
        if (c->cost_pico > need->max_cost_pico)
            return SY_DROP_COST;
    }
    sy_route_state_t *s = c->state;
    if (s == NULL)
        return SY_DROP_NONE;
    c->latency_ns = expected_latency_ns(s, out);
    if (need->latency_target_ms && c->latency_ns > need->latency_target_ms * 1000000ull)
        return SY_DROP_LATENCY;
    switch (sy_circuit_peek(&s->circuit, cp, rc->now_ms, NULL)) {
    case SY_CIRCUIT_BLOCKED:
        return SY_DROP_CIRCUIT;
    case SY_CIRCUIT_PROBE:
        c->probe = true;
        break;
    case SY_CIRCUIT_PASS:
        break;
    }
    if (d->rpm && !sy_route_counters()->fits(s, SY_RATE_RPM, d->rpm, 1, rc->now_ms))
        return SY_DROP_RPM;
    if (d->tpm &&
        !sy_route_counters()->fits(s, SY_RATE_TPM, d->tpm, sy_route_tpm_amount(d, need), rc->now_ms))
        return SY_DROP_TPM;
    c->cooling = atomic_load_explicit(&s->cooldown_until_ms, memory_order_relaxed) > rc->now_ms;
    return SY_DROP_NONE;
}

/* ---- ranking ---- */

#define SCORE_MAX ((1ull << 56) - 1)

static inline uint64_t clamp_score(uint64_t s) { return s > SCORE_MAX ? SCORE_MAX : s; }

/* Least latency: figures older than explore_after are refreshed by sending
 * one request there (claimed by one compare-and-swap, so one request, not
 * every request, does it). Never during explain. */
static bool explore(const sy_route_ctx_t *rc, sy_route_state_t *s)
{
    uint64_t every = rc->cfg->explore_after_ms;
    if (every == 0 || rc->explain)
        return false;
    uint64_t last = atomic_load_explicit(&s->last_sample_ms, memory_order_relaxed);
    if (last == 0 || rc->now_ms < last + every)
        return false;
    uint64_t claimed = atomic_load_explicit(&s->explore_ms, memory_order_relaxed);
    if (rc->now_ms < claimed + every)
        return false;
    return atomic_compare_exchange_strong_explicit(&s->explore_ms, &claimed, rc->now_ms,
                                                   memory_order_relaxed, memory_order_relaxed);
}

static void score_weighted(const sy_route_ctx_t *rc, sy_route_plan_t *p)
{
    uint64_t total = 0;
    for (uint32_t k = 0; k < p->norder; k++) {
        const sy_route_cand_t *c = &p->cand[p->order[k]];
        if (!c->cooling)
            total += c->dep->weight;
    }
    uint64_t r = total ? below(rc->rng, total) : 0;
    bool picked = total == 0;
    for (uint32_t k = 0; k < p->norder; k++) {
        sy_route_cand_t *c = &p->cand[p->order[k]];
        uint64_t w = c->dep->weight;
        /* Fallbacks after the pick: heavier first; weight 0 only as a last resort. */
        c->score = 2 + (1000000 - SY_MIN(w, (uint64_t)1000000)) + (w == 0 ? 1000001 : 0);
        if (!picked && !c->cooling) {
            if (r < w) {
                c->score = 1;
                picked = true;
            } else {
                r -= w;
            }
        }
    }
}

static void score_least_latency(const sy_route_ctx_t *rc, sy_route_plan_t *p)
{
    uint32_t n = p->norder;
    for (uint32_t k = 0; k < n; k++) {
        sy_route_cand_t *c = &p->cand[p->order[k]];
        /* No figures yet: try it first, so it gets some. Stale: refresh. */
        c->score = c->latency_ns == 0 ? 1 : 3 + clamp_score(c->latency_ns);
        if (c->latency_ns && c->state && explore(rc, c->state))
            c->score = 1;
    }
    if (n < 3)
        return;
    /* Power of two choices: of two random candidates the faster goes
     * first, so the fastest deployment gets most traffic without all of it
     * (a herd on one deployment's stale figure). */
    uint32_t a = (uint32_t)below(rc->rng, n), b = (uint32_t)below(rc->rng, n - 1);
    if (b >= a)
        b++;
    sy_route_cand_t *ca = &p->cand[p->order[a]], *cb = &p->cand[p->order[b]];
    sy_route_cand_t *win = cb->score < ca->score ? cb : ca;
    if (win->score > 1)
        win->score = 2;
}

static void score(const sy_route_ctx_t *rc, sy_route_plan_t *p)
{
    switch (p->strategy) {
    case SY_STRATEGY_PRIORITY:
        for (uint32_t k = 0; k < p->norder; k++) {
            sy_route_cand_t *c = &p->cand[p->order[k]];
            c->score = c->dep->priority;
        }
        break;
    case SY_STRATEGY_WEIGHTED:
        score_weighted(rc, p);
        break;
    case SY_STRATEGY_LEAST_LATENCY:
        score_least_latency(rc, p);
        break;
    case SY_STRATEGY_LEAST_BUSY:
        for (uint32_t k = 0; k < p->norder; k++) {
            sy_route_cand_t *c = &p->cand[p->order[k]];
            int32_t inflight =
                c->state ? atomic_load_explicit(&c->state->inflight, memory_order_relaxed) : 0;
            /* Ties broken at random so equal deployments share the load. */
            c->score = ((uint64_t)(inflight > 0 ? inflight : 0) << 16) |
                       (sy_route_rand(rc->rng) & 0xffff);
        }
        break;
    case SY_STRATEGY_CHEAPEST:
        for (uint32_t k = 0; k < p->norder; k++) {
            sy_route_cand_t *c = &p->cand[p->order[k]];
            c->score = c->dep->priced ? clamp_score(c->cost_pico) : SCORE_MAX;
        }
        break;
    }
}

/* The full sort key: a probe first (so an open circuit gets its one probe
 * as soon as the cooldown ends), then not cooling, then preferred, then
 * the strategy's score; config order breaks ties. */
static inline uint64_t key_of(const sy_route_cand_t *c)
{
    return ((uint64_t)!c->probe << 63) | ((uint64_t)c->cooling << 62) |
           ((uint64_t)!c->preferred << 61) | clamp_score(c->score);
}

uint32_t sy_route_plan(const sy_route_ctx_t *rc, const sy_config_model_t *group,
                       const sy_config_deployment_t *deps, size_t n, const sy_route_need_t *need,
                       sy_route_plan_t *plan)
{
    sy_circuit_params_t cp;
    sy_route_circuit_params(rc->cfg, &cp);
    if (n > SY_ROUTE_MAX_DEPLOYMENTS)
        n = SY_ROUTE_MAX_DEPLOYMENTS;
    plan->group = group;
    plan->strategy = (sy_route_strategy_t)group->strategy;
    plan->n = (uint32_t)n;
    plan->norder = 0;
    for (size_t i = 0; i < n; i++) {
        sy_route_cand_t *c = &plan->cand[i];
        memset(c, 0, sizeof(*c));
        c->dep = &deps[i];
        c->state = deps[i].state;
        c->drop = filter(rc, &cp, need, c);
        if (c->drop != SY_DROP_NONE)
            continue;
        c->preferred = need->nprefer && names_provider(c->dep, need->prefer, need->nprefer);
        plan->order[plan->norder++] = (uint8_t)i;
    }
    if (plan->norder == 0)
        return 0;
    score(rc, plan);
    /* Insertion sort by key, stable (config order on ties). */
    for (uint32_t k = 1; k < plan->norder; k++) {
        uint8_t v = plan->order[k];
        uint64_t kv = key_of(&plan->cand[v]);
        uint32_t j = k;
        while (j > 0 && key_of(&plan->cand[plan->order[j - 1]]) > kv) {
            plan->order[j] = plan->order[j - 1];
            j--;
        }
        plan->order[j] = v;
    }
    return plan->norder;
}

/* ---- nothing to try ---- */

uint64_t sy_route_tpm_amount(const sy_config_deployment_t *d, const sy_route_need_t *need)
{
    return need->input_tokens + expected_output(d, need);
}

uint64_t sy_route_expected_cost(const sy_config_deployment_t *d, const sy_route_need_t *need)
{
    return d->priced ? sy_cost_estimate_pico(&d->cost, need->input_tokens, expected_output(d, need))
                     : 0;
}

void sy_route_drop_describe(const sy_route_ctx_t *rc, const sy_route_cand_t *c,
                            const sy_route_need_t *need, char *b, size_t bs)
{
    const sy_config_deployment_t *d = c->dep;
    char x[32], y[32];
    switch (c->drop) {
    case SY_DROP_TOOLS:
        snprintf(b, bs, "does not support tools");
        break;
    case SY_DROP_VISION:
        snprintf(b, bs, "does not support images");
        break;
    case SY_DROP_JSON_SCHEMA:
        snprintf(b, bs, "does not support JSON-schema output");
        break;
    case SY_DROP_THINKING:
        snprintf(b, bs, "does not support thinking");
        break;
    case SY_DROP_CONTEXT:
        snprintf(b, bs, "context window %llu < %llu tokens (input estimate %llu + max_tokens %llu)",
                 (unsigned long long)d->ctx_window,
                 (unsigned long long)(need->input_tokens + need->max_tokens),
                 (unsigned long long)need->input_tokens, (unsigned long long)need->max_tokens);
        break;
    case SY_DROP_MAX_OUTPUT:
        snprintf(b, bs, "max output %llu < max_tokens %llu", (unsigned long long)d->max_out,
                 (unsigned long long)need->max_tokens);
        break;
    case SY_DROP_COST:
        snprintf(b, bs, "expected cost $%s > x-switchyard-max-cost-usd $%s",
                 sy_cost_format(c->cost_pico, x), sy_cost_format(need->max_cost_pico, y));
        break;
    case SY_DROP_PRICE_UNKNOWN:
        snprintf(b, bs, "price unknown, so x-switchyard-max-cost-usd cannot be checked");
        break;
    case SY_DROP_REGION:
        snprintf(b, bs, "region \"%.*s\" (jurisdiction \"%.*s\") not in x-switchyard-regions",
                 (int)SY_MIN(d->region.len, (size_t)40), d->region.p ? d->region.p : "",
                 (int)SY_MIN(d->jurisdiction.len, (size_t)40),
                 d->jurisdiction.p ? d->jurisdiction.p : "");
        break;
    case SY_DROP_RESIDENCY:
        snprintf(b, bs, "jurisdiction \"%.*s\" is not allowed for this request's data: %s",
                 (int)SY_MIN(d->jurisdiction.len, (size_t)40),
                 d->jurisdiction.p ? d->jurisdiction.p : "",
                 need->residency_why ? need->residency_why : "restricted");
        break;
    case SY_DROP_EXCLUDED:
        snprintf(b, bs, "provider excluded by x-switchyard-exclude-providers");
        break;
    case SY_DROP_LATENCY:
        snprintf(b, bs, "expected latency %llu ms > x-switchyard-latency-target-ms %llu",
                 (unsigned long long)(c->latency_ns / 1000000),
                 (unsigned long long)need->latency_target_ms);
        break;
    case SY_DROP_CIRCUIT: {
        uint64_t in = 0;
        sy_circuit_params_t cp;
        sy_route_circuit_params(rc->cfg, &cp);
        if (c->state)
            sy_circuit_peek(&c->state->circuit, &cp, rc->now_ms, &in);
        if (in)
            snprintf(b, bs, "circuit open (retry in %llu ms)", (unsigned long long)in);
        else
            snprintf(b, bs, "circuit half-open (a probe is in flight)");
        break;
    }
    case SY_DROP_RPM:
        snprintf(b, bs, "requests-per-minute limit %llu reached", (unsigned long long)d->rpm);
        break;
    case SY_DROP_TPM:
        snprintf(b, bs, "tokens-per-minute limit %llu reached", (unsigned long long)d->tpm);
        break;
    case SY_DROP_LARGER_CONTEXT:
        snprintf(b, bs, "context window not larger than the one that was too small");
        break;
    default:
        snprintf(b, bs, "%s", sy_route_drop_name(c->drop));
        break;
    }
}

int sy_route_unmet(const sy_route_ctx_t *rc, const sy_route_plan_t *plan,
                   const sy_route_need_t *need, sy_str_t model, char *msg, size_t msgsz,
                   uint64_t *retry_after_ms)
{
    size_t len = 0;
    bool transient = false, all_rate = true;
    uint64_t wait = 0;
    sy_circuit_params_t cp;
    sy_route_circuit_params(rc->cfg, &cp);
    int w = snprintf(msg, msgsz, "no deployment of model \"%.*s\" can serve this request: ",
                     (int)SY_MIN(model.len, (size_t)100), model.p ? model.p : "");
    len = w > 0 ? (size_t)w : 0;
    unsigned listed = 0;
    for (uint32_t i = 0; i < plan->n; i++) {
        const sy_route_cand_t *c = &plan->cand[i];
        if (c->drop == SY_DROP_NONE)
            continue;
        char why[200];
        sy_route_drop_describe(rc, c, need, why, sizeof(why));
        if (len < msgsz) {
            w = snprintf(msg + len, msgsz - len, "%s%.*s: %s", listed++ ? "; " : "",
                         (int)SY_MIN(c->dep->label.len, (size_t)120), c->dep->label.p, why);
            len += w > 0 ? (size_t)w : 0;
        }
        if (sy_route_drop_transient(c->drop)) {
            transient = true;
            uint64_t in = 0;
            if (c->drop == SY_DROP_CIRCUIT) {
                all_rate = false;
                if (c->state)
                    sy_circuit_peek(&c->state->circuit, &cp, rc->now_ms, &in);
            } else {
                /* the shared counter's own answer when it refused, else
                 * this instance's window: the end of the minute */
                sy_rate_kind_t k = c->drop == SY_DROP_RPM ? SY_RATE_RPM : SY_RATE_TPM;
                uint64_t held = c->state ? sy_route_counters_held(
                                               c->state, k, k == SY_RATE_RPM ? c->dep->rpm : c->dep->tpm,
                                               k == SY_RATE_RPM ? 1 : sy_route_tpm_amount(c->dep, need),
                                               rc->now_ms)
                                         : 0;
                in = held ? held - rc->now_ms : SY_RATE_WINDOW_MS - rc->now_ms % SY_RATE_WINDOW_MS;
            }
            if (in && (wait == 0 || in < wait))
                wait = in;
        }
    }
    if (len >= msgsz && msgsz > 4)
        memcpy(msg + msgsz - 4, "...", 4);
    *retry_after_ms = transient ? wait : 0;
    if (!transient)
        return 400;
    return all_rate ? 429 : 503;
}
