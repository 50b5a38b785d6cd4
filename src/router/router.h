/*
 * router.h - choosing, per request, where it runs: the plan.
 *
 * A model name clients use is a group of deployments (config.h). For each
 * request the router builds a plan:
 *
 *   candidates  the group's deployments (a wildcard group's completed with
 *               what its `*` matched)
 *   filter      each is kept or dropped with a reason: capabilities the
 *               request needs (tools, image parts, JSON schema, thinking),
 *               its estimated input tokens + max output against the context
 *               window and max output, the caller's constraints (max cost,
 *               regions, excluded providers, latency target), an open
 *               circuit, RPM/TPM headroom
 *   rank        by the group's strategy; preferred providers first; a
 *               deployment that answered 429 recently is kept but tried last
 *   result      the ordered attempt list, or, when nothing is left, the
 *               unmet constraints and the status to answer with
 *
 * The plan is pure apart from reading the shared state (router/state.h):
 * it starts no I/O, takes no lock and allocates nothing, so `route explain`
 * can show exactly what the data path would do. The attempt loop
 * (api/proxy.c) walks the plan with the policy in router/policy.h.
 *
 * Cost: about 40 ns per deployment for priority, a little more for the
 * strategies that read latency or load (bench/route_bench.c, BENCHMARKS.md).
 */
#ifndef SY_ROUTER_ROUTER_H
#define SY_ROUTER_ROUTER_H

#include "config/config.h"
#include "core/buf.h"
#include "http/parse.h"
#include "ir/ir.h"
#include "router/state.h"

#define SY_ROUTE_MAX_DEPLOYMENTS 64 /* per model group (a config error past it) */
#define SY_ROUTE_MAX_LIST 16        /* entries in one constraint header's list */
#define SY_ROUTE_DEFAULT_OUTPUT 1024 /* expected output tokens for latency when max_tokens is unset */

typedef enum {
    SY_STRATEGY_PRIORITY = 0, /* ordered fallback: `priority` ascending, then config order */
    SY_STRATEGY_WEIGHTED,     /* random by `weight`, the rest as fallbacks by weight too */
    SY_STRATEGY_LEAST_LATENCY, /* expected latency from EWMAs, power of two choices */
    SY_STRATEGY_LEAST_BUSY,   /* fewest in-flight requests */
    SY_STRATEGY_CHEAPEST,     /* lowest expected cost for this request */
} sy_route_strategy_t;

/* NULL-terminated, in enum order: the spelling in configuration and logs. */
extern const char *const sy_route_strategy_names[];

/* Why a candidate was dropped (SY_DROP_NONE: kept). */
typedef enum {
    SY_DROP_NONE = 0,
    SY_DROP_TOOLS,
    SY_DROP_VISION,
    SY_DROP_JSON_SCHEMA,
    SY_DROP_THINKING,
    SY_DROP_CONTEXT,      /* input estimate + max output > context window */
    SY_DROP_MAX_OUTPUT,   /* max_tokens > the deployment's max output */
    SY_DROP_COST,         /* expected worst-case cost > x-switchyard-max-cost-usd */
    SY_DROP_PRICE_UNKNOWN, /* a max cost was asked and this price is unknown */
    SY_DROP_REGION,       /* not in x-switchyard-regions */
    SY_DROP_RESIDENCY,    /* jurisdiction not allowed for the request's data (harness/residency.h) */
    SY_DROP_EXCLUDED,     /* provider in x-switchyard-exclude-providers */
    SY_DROP_LATENCY,      /* expected latency > x-switchyard-latency-target-ms */
    SY_DROP_CIRCUIT,      /* circuit open (health) */
    SY_DROP_RPM,          /* no request headroom this minute (health) */
    SY_DROP_TPM,          /* no token headroom this minute (health) */
    SY_DROP_COUNTERS,     /* admission: the shared counters (Redis) could not answer, fail closed */
    SY_DROP_LARGER_CONTEXT, /* attempt loop: after "context too long", only larger windows */
    SY_DROP__COUNT
} sy_route_drop_t;

/* "tools", "context_window", "circuit_open"... for logs, metrics, explain. */
const char *sy_route_drop_name(sy_route_drop_t d);
/* Whether the drop is about health or load (may pass later), not the request. */
bool sy_route_drop_transient(sy_route_drop_t d);

/* What a request needs, from its body and the x-switchyard-* headers. */
typedef struct {
    uint32_t caps;          /* SY_CAP_* the request uses */
    uint64_t input_tokens;  /* estimate (sy_ir_estimate_input_tokens) */
    uint64_t max_tokens;    /* as requested; 0: unset */
    uint64_t max_cost_pico; /* 0: no limit */
    uint64_t latency_target_ms; /* 0: none */
    /* Data residency, set by the governance harness: when `restricted`,
     * only deployments whose jurisdiction is one of `jurisdictions` (or
     * below one: "eu" allows "eu-de") may serve; `residency_why` names the
     * rules for messages and explain. */
    bool restricted;
    uint8_t njurisdictions;
    sy_str_t jurisdictions[SY_ROUTE_MAX_LIST];
    const char *residency_why;
    sy_str_t regions[SY_ROUTE_MAX_LIST];
    sy_str_t prefer[SY_ROUTE_MAX_LIST];
    sy_str_t exclude[SY_ROUTE_MAX_LIST];
    uint8_t nregions, nprefer, nexclude;
} sy_route_need_t;

/* Fill `n` from a parsed request (zeroes it first). */
void sy_route_need_from_ir(const sy_ir_request_t *ir, sy_route_need_t *n);
/* Add the constraints of the x-switchyard-* request headers. Views point
 * into the headers. On a malformed header returns SY_EINVAL with a message
 * naming it in err (errsz bytes). */
int sy_route_need_from_headers(sy_route_need_t *n, const sy_http_header_t *h, size_t nh,
                               char *err, size_t errsz);

/* One candidate of a plan, in the group's order. */
typedef struct {
    const sy_config_deployment_t *dep;
    sy_route_state_t *state;
    sy_route_drop_t drop;
    bool preferred;    /* named in x-switchyard-prefer-providers */
    bool cooling;      /* answered 429 with Retry-After recently: tried last */
    bool probe;        /* circuit open, cooldown over: the next attempt probes it */
    uint64_t cost_pico; /* expected worst-case cost (0 if unpriced) */
    uint64_t latency_ns; /* expected latency (0 if no figures) */
    uint64_t score;    /* the strategy's sort key, lower first */
} sy_route_cand_t;

typedef struct {
    const sy_config_model_t *group;
    sy_route_strategy_t strategy;
    uint32_t n, norder;
    uint8_t order[SY_ROUTE_MAX_DEPLOYMENTS]; /* indexes into cand, attempt order */
    sy_route_cand_t cand[SY_ROUTE_MAX_DEPLOYMENTS];
} sy_route_plan_t;

/* Inputs of one planning: the snapshot's router settings, the clock, and
 * the random state (a worker's own; tests seed their own). */
typedef struct {
    const sy_config_router_t *cfg;
    uint64_t now_ms;
    uint64_t *rng;
    bool explain; /* only looking: claim nothing (no exploration) */
} sy_route_ctx_t;

/*
 * Build the plan for a request needing `need` among deps[0..n) of `group`
 * (deps is group->deployments, or a wildcard group's completed copy).
 * Returns the number of deployments to try (plan->norder).
 */
uint32_t sy_route_plan(const sy_route_ctx_t *rc, const sy_config_model_t *group,
                       const sy_config_deployment_t *deps, size_t n, const sy_route_need_t *need,
                       sy_route_plan_t *plan);

/*
 * When a plan is empty: the HTTP status to answer with and a message naming
 * every unmet constraint ("no deployment of model \"m\" can serve this
 * request: openai/gpt-4o-mini: context window 128000 < 150012 tokens; ...").
 * 400 when every drop is about the request; 503 (circuit open) or 429 (rate
 * limits) when some deployment could serve it later; *retry_after_ms then
 * says when (0 if unknown).
 */
int sy_route_unmet(const sy_route_ctx_t *rc, const sy_route_plan_t *plan,
                   const sy_route_need_t *need, sy_str_t model, char *msg, size_t msgsz,
                   uint64_t *retry_after_ms);

/* One candidate's drop in words ("context window 128000 < 150012 tokens ..."). */
void sy_route_drop_describe(const sy_route_ctx_t *rc, const sy_route_cand_t *c,
                            const sy_route_need_t *need, char *buf, size_t bufsz);
/* Expected cost of the request on a deployment, pico-dollars (0 if unpriced):
 * input estimate at the input price + max_tokens (or SY_ROUTE_DEFAULT_OUTPUT,
 * at most the max output) at the output price. */
uint64_t sy_route_expected_cost(const sy_config_deployment_t *d, const sy_route_need_t *need);

/* Tokens a request reserves against a deployment's TPM limit: the input
 * estimate and the expected output as above (settled with the real usage). */
uint64_t sy_route_tpm_amount(const sy_config_deployment_t *d, const sy_route_need_t *need);

/* The deployments of `group` for a request naming `name`: the group's own,
 * or for a wildcard group a copy in arena `a` with each `*` in the upstream
 * model replaced by `capture`, its catalogue data and shared state looked
 * up. Returns the array; *n its length. */
const sy_config_deployment_t *sy_route_deployments(sy_arena_t *a, const sy_config_model_t *group,
                                                   sy_str_t capture, size_t *n);

/* Circuit thresholds of a snapshot's router section. */
void sy_route_circuit_params(const sy_config_router_t *cfg, sy_circuit_params_t *p);

/* A worker's random state, seeded once per thread. */
uint64_t *sy_route_rng(void);
/* xorshift64*: the next 64 random bits. */
uint64_t sy_route_rand(uint64_t *s);

/*
 * Explain a plan: the request's needs and constraints, every candidate with
 * its figures and why it was kept or dropped, and the ranking. As JSON (one
 * object, GET /admin/routes/explain) or as text for people (`switchyard
 * route explain`).
 */
void sy_route_explain_json(const sy_route_ctx_t *rc, const sy_route_plan_t *plan,
                           const sy_route_need_t *need, sy_str_t model, sy_buf_t *out);
void sy_route_explain_text(const sy_route_ctx_t *rc, const sy_route_plan_t *plan,
                           const sy_route_need_t *need, sy_str_t model, sy_buf_t *out);

/* Append the router's gauges for the deployments of `c` in Prometheus text
 * format: switchyard_circuit_state, switchyard_deployment_inflight,
 * switchyard_deployment_ttft_seconds, switchyard_circuit_opened_total. */
void sy_route_metrics_render(const sy_config_t *c, sy_buf_t *out);

#endif
