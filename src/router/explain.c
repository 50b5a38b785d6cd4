/*
 * explain.c - a plan shown to people (`switchyard route explain`) and to
 * tools (GET /admin/routes/explain), and the router's Prometheus gauges.
 */
#include <stdio.h>
#include <string.h>

#include "json/json.h"
#include "router/router.h"

static const char *const cap_names[] = {"tools", "vision", "json_schema", "thinking"};

static const char *circuit_view_name(const sy_route_ctx_t *rc, const sy_route_state_t *s)
{
    if (s == NULL)
        return "closed";
    sy_circuit_params_t cp;
    sy_route_circuit_params(rc->cfg, &cp);
    switch (sy_circuit_state(&s->circuit)) {
    case SY_CIRCUIT_CLOSED:
        return "closed";
    case SY_CIRCUIT_HALF_OPEN:
        return "half_open";
    case SY_CIRCUIT_OPEN:
        return sy_circuit_peek(&s->circuit, &cp, rc->now_ms, NULL) == SY_CIRCUIT_PROBE
                   ? "open (probe due)"
                   : "open";
    }
    return "unknown";
}

/* Rank (1-based) of candidate i in the plan's order, 0 if dropped. */
static uint32_t rank_of(const sy_route_plan_t *p, uint32_t i)
{
    for (uint32_t k = 0; k < p->norder; k++)
        if (p->order[k] == i)
            return k + 1;
    return 0;
}

static const char *strategy_note(sy_route_strategy_t s)
{
    switch (s) {
    case SY_STRATEGY_PRIORITY:
        return "by priority (lower first), then configuration order";
    case SY_STRATEGY_WEIGHTED:
        return "first pick at random by weight (this ranking is one draw), then by weight";
    case SY_STRATEGY_LEAST_LATENCY:
        return "by expected latency (EWMA of time to first token + time per output token), "
               "power of two choices; deployments without figures first";
    case SY_STRATEGY_LEAST_BUSY:
        return "by requests in flight, ties at random";
    case SY_STRATEGY_CHEAPEST:
        return "by expected cost for this request (input estimate and max output)";
    }
    return "";
}

static void write_str_list(sy_json_writer_t *w, const sy_str_t *l, size_t n)
{
    sy_json_write_begin_array(w);
    for (size_t i = 0; i < n; i++)
        sy_json_write_string(w, l[i]);
    sy_json_write_end_array(w);
}

static void write_usd(sy_json_writer_t *w, uint64_t pico)
{
    char b[32];
    sy_json_write_number_raw(w, sy_str_c(sy_cost_format(pico, b)));
}

void sy_route_explain_json(const sy_route_ctx_t *rc, const sy_route_plan_t *plan,
                           const sy_route_need_t *need, sy_str_t model, sy_buf_t *out)
{
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    sy_json_write_begin_object(&w);
    sy_json_write_key(&w, SY_STR("model"));
    sy_json_write_string(&w, model);
    sy_json_write_key(&w, SY_STR("group"));
    sy_json_write_string(&w, plan->group ? plan->group->name : SY_STR(""));
    sy_json_write_key(&w, SY_STR("strategy"));
    sy_json_write_string(&w, sy_str_c(sy_route_strategy_names[plan->strategy]));
    sy_json_write_key(&w, SY_STR("ranking"));
    sy_json_write_string(&w, sy_str_c(strategy_note(plan->strategy)));

    sy_json_write_key(&w, SY_STR("request"));
    sy_json_write_begin_object(&w);
    sy_json_write_key(&w, SY_STR("needs"));
    sy_json_write_begin_array(&w);
    for (size_t i = 0; i < SY_ARRAY_LEN(cap_names); i++)
        if (need->caps & (1u << i))
            sy_json_write_string(&w, sy_str_c(cap_names[i]));
    sy_json_write_end_array(&w);
    sy_json_write_key(&w, SY_STR("input_tokens_estimate"));
    sy_json_write_u64(&w, need->input_tokens);
    sy_json_write_key(&w, SY_STR("max_tokens"));
    if (need->max_tokens)
        sy_json_write_u64(&w, need->max_tokens);
    else
        sy_json_write_null(&w);
    sy_json_write_key(&w, SY_STR("max_cost_usd"));
    if (need->max_cost_pico)
        write_usd(&w, need->max_cost_pico);
    else
        sy_json_write_null(&w);
    sy_json_write_key(&w, SY_STR("latency_target_ms"));
    if (need->latency_target_ms)
        sy_json_write_u64(&w, need->latency_target_ms);
    else
        sy_json_write_null(&w);
    sy_json_write_key(&w, SY_STR("regions"));
    write_str_list(&w, need->regions, need->nregions);
    sy_json_write_key(&w, SY_STR("residency"));
    if (need->restricted) {
        sy_json_write_begin_object(&w);
        sy_json_write_key(&w, SY_STR("jurisdictions"));
        write_str_list(&w, need->jurisdictions, need->njurisdictions);
        sy_json_write_key(&w, SY_STR("rules"));
        sy_json_write_string(&w, sy_str_c(need->residency_why ? need->residency_why : ""));
        sy_json_write_end_object(&w);
    } else {
        sy_json_write_null(&w);
    }
    sy_json_write_key(&w, SY_STR("prefer_providers"));
    write_str_list(&w, need->prefer, need->nprefer);
    sy_json_write_key(&w, SY_STR("exclude_providers"));
    write_str_list(&w, need->exclude, need->nexclude);
    sy_json_write_end_object(&w);

    sy_json_write_key(&w, SY_STR("candidates"));
    sy_json_write_begin_array(&w);
    for (uint32_t i = 0; i < plan->n; i++) {
        const sy_route_cand_t *c = &plan->cand[i];
        const sy_config_deployment_t *d = c->dep;
        sy_json_write_begin_object(&w);
        sy_json_write_key(&w, SY_STR("deployment"));
        sy_json_write_string(&w, d->label);
        sy_json_write_key(&w, SY_STR("provider"));
        sy_json_write_string(&w, d->provider);
        sy_json_write_key(&w, SY_STR("upstream_model"));
        sy_json_write_string(&w, d->model);
        sy_json_write_key(&w, SY_STR("kept"));
        sy_json_write_bool(&w, c->drop == SY_DROP_NONE);
        sy_json_write_key(&w, SY_STR("reason"));
        if (c->drop == SY_DROP_NONE) {
            sy_json_write_null(&w);
        } else {
            sy_json_write_string(&w, sy_str_c(sy_route_drop_name(c->drop)));
        }
        sy_json_write_key(&w, SY_STR("rank"));
        uint32_t r = rank_of(plan, i);
        if (r)
            sy_json_write_u64(&w, r);
        else
            sy_json_write_null(&w);
        sy_json_write_key(&w, SY_STR("weight"));
        sy_json_write_u64(&w, d->weight);
        sy_json_write_key(&w, SY_STR("priority"));
        sy_json_write_u64(&w, d->priority);
        sy_json_write_key(&w, SY_STR("region"));
        sy_json_write_string(&w, d->region);
        sy_json_write_key(&w, SY_STR("jurisdiction"));
        sy_json_write_string(&w, d->jurisdiction);
        sy_json_write_key(&w, SY_STR("capabilities"));
        sy_json_write_begin_array(&w);
        for (size_t k = 0; k < SY_ARRAY_LEN(cap_names); k++)
            if (d->caps & (1u << k))
                sy_json_write_string(&w, sy_str_c(cap_names[k]));
        sy_json_write_end_array(&w);
        sy_json_write_key(&w, SY_STR("context_window"));
        if (d->ctx_window)
            sy_json_write_u64(&w, d->ctx_window);
        else
            sy_json_write_null(&w);
        sy_json_write_key(&w, SY_STR("max_output"));
        if (d->max_out)
            sy_json_write_u64(&w, d->max_out);
        else
            sy_json_write_null(&w);
        sy_json_write_key(&w, SY_STR("expected_cost_usd"));
        if (d->priced)
            write_usd(&w, sy_route_expected_cost(d, need));
        else
            sy_json_write_null(&w);
        sy_json_write_key(&w, SY_STR("expected_latency_ms"));
        if (c->latency_ns)
            sy_json_write_double(&w, (double)c->latency_ns / 1e6);
        else
            sy_json_write_null(&w);
        sy_json_write_key(&w, SY_STR("circuit"));
        sy_json_write_string(&w, sy_str_c(circuit_view_name(rc, c->state)));
        sy_json_write_key(&w, SY_STR("inflight"));
        sy_json_write_i64(&w, c->state ? atomic_load(&c->state->inflight) : 0);
        sy_json_write_key(&w, SY_STR("rpm"));
        if (d->rpm)
            sy_json_write_u64(&w, d->rpm);
        else
            sy_json_write_null(&w);
        sy_json_write_key(&w, SY_STR("tpm"));
        if (d->tpm)
            sy_json_write_u64(&w, d->tpm);
        else
            sy_json_write_null(&w);
        sy_json_write_key(&w, SY_STR("preferred"));
        sy_json_write_bool(&w, c->preferred);
        sy_json_write_key(&w, SY_STR("cooling_down"));
        sy_json_write_bool(&w, c->cooling);
        sy_json_write_end_object(&w);
    }
    sy_json_write_end_array(&w);

    sy_json_write_key(&w, SY_STR("order"));
    sy_json_write_begin_array(&w);
    for (uint32_t k = 0; k < plan->norder; k++)
        sy_json_write_string(&w, plan->cand[plan->order[k]].dep->label);
    sy_json_write_end_array(&w);
    if (plan->norder == 0) {
        char msg[2048];
        uint64_t ra;
        int status = sy_route_unmet(rc, plan, need, model, msg, sizeof(msg), &ra);
        sy_json_write_key(&w, SY_STR("status"));
        sy_json_write_i64(&w, status);
        sy_json_write_key(&w, SY_STR("error"));
        sy_json_write_string(&w, sy_str_c(msg));
    }
    sy_json_write_end_object(&w);
    sy_json_write_finish(&w);
}

void sy_route_explain_text(const sy_route_ctx_t *rc, const sy_route_plan_t *plan,
                           const sy_route_need_t *need, sy_str_t model, sy_buf_t *out)
{
    sy_buf_printf(out, "model       %.*s", SY_STR_FMT(model));
    if (plan->group && !sy_str_eq(plan->group->name, model))
        sy_buf_printf(out, " (group %.*s)", SY_STR_FMT(plan->group->name));
    sy_buf_printf(out, "\nstrategy    %s: %s\n", sy_route_strategy_names[plan->strategy],
                  strategy_note(plan->strategy));
    sy_buf_append_c(out, "request     needs:");
    bool any = false;
    for (size_t i = 0; i < SY_ARRAY_LEN(cap_names); i++)
        if (need->caps & (1u << i)) {
            sy_buf_printf(out, " %s", cap_names[i]);
            any = true;
        }
    if (!any)
        sy_buf_append_c(out, " nothing special");
    sy_buf_printf(out, "; input ~%llu tokens", (unsigned long long)need->input_tokens);
    if (need->max_tokens)
        sy_buf_printf(out, "; max_tokens %llu", (unsigned long long)need->max_tokens);
    sy_buf_append_c(out, "\n");
    if (need->max_cost_pico) {
        char b[32];
        sy_buf_printf(out, "constraint  max cost $%s\n", sy_cost_format(need->max_cost_pico, b));
    }
    if (need->latency_target_ms)
        sy_buf_printf(out, "constraint  latency target %llu ms\n",
                      (unsigned long long)need->latency_target_ms);
    const struct {
        const char *what;
        const sy_str_t *l;
        size_t n;
    } lists[] = {{"regions", need->regions, need->nregions},
                 {"jurisdictions", need->jurisdictions, need->njurisdictions},
                 {"prefer", need->prefer, need->nprefer},
                 {"exclude", need->exclude, need->nexclude}};
    if (need->restricted)
        sy_buf_printf(out, "constraint  residency: %s%s\n",
                      need->residency_why ? need->residency_why : "restricted",
                      need->njurisdictions ? "" : " (nowhere allowed)");
    for (size_t i = 0; i < SY_ARRAY_LEN(lists); i++) {
        if (lists[i].n == 0)
            continue;
        sy_buf_printf(out, "constraint  %s:", lists[i].what);
        for (size_t k = 0; k < lists[i].n; k++)
            sy_buf_printf(out, "%s%.*s", k ? ", " : " ", SY_STR_FMT(lists[i].l[k]));
        sy_buf_append_c(out, "\n");
    }
    sy_buf_append_c(out, "\ncandidates\n");
    for (uint32_t i = 0; i < plan->n; i++) {
        const sy_route_cand_t *c = &plan->cand[i];
        const sy_config_deployment_t *d = c->dep;
        uint32_t r = rank_of(plan, i);
        char b[32];
        sy_buf_printf(out, "  %-4s %.*s", c->drop == SY_DROP_NONE ? "keep" : "drop",
                      SY_STR_FMT(d->label));
        if (c->drop != SY_DROP_NONE) {
            char why[256];
            sy_route_drop_describe(rc, c, need, why, sizeof(why));
            sy_buf_printf(out, "  [%s] %s\n", sy_route_drop_name(c->drop), why);
            continue;
        }
        sy_buf_printf(out, "  rank %u", r);
        sy_buf_printf(out, "  region %.*s", SY_STR_FMT(d->region.len ? d->region : SY_STR("-")));
        if (plan->strategy == SY_STRATEGY_WEIGHTED)
            sy_buf_printf(out, "  weight %llu", (unsigned long long)d->weight);
        if (plan->strategy == SY_STRATEGY_PRIORITY)
            sy_buf_printf(out, "  priority %llu", (unsigned long long)d->priority);
        if (d->ctx_window)
            sy_buf_printf(out, "  context %llu", (unsigned long long)d->ctx_window);
        if (d->priced)
            sy_buf_printf(out, "  cost ~$%s", sy_cost_format(sy_route_expected_cost(d, need), b));
        else
            sy_buf_append_c(out, "  cost unknown");
        if (c->latency_ns)
            sy_buf_printf(out, "  latency ~%.1f ms", (double)c->latency_ns / 1e6);
        sy_buf_printf(out, "  circuit %s", circuit_view_name(rc, c->state));
        if (c->preferred)
            sy_buf_append_c(out, "  preferred");
        if (c->cooling)
            sy_buf_append_c(out, "  cooling down (429), tried last");
        sy_buf_append_c(out, "\n");
    }
    if (plan->norder == 0) {
        char msg[2048];
        uint64_t ra;
        int status = sy_route_unmet(rc, plan, need, model, msg, sizeof(msg), &ra);
        sy_buf_printf(out, "\nno deployment can serve it: the gateway answers %d\n  %s\n", status,
                      msg);
        return;
    }
    sy_buf_append_c(out, "\nattempt order\n");
    for (uint32_t k = 0; k < plan->norder; k++)
        sy_buf_printf(out, "  %u. %.*s\n", k + 1, SY_STR_FMT(plan->cand[plan->order[k]].dep->label));
}

/* ---- metrics ---- */

void sy_route_metrics_render(const sy_config_t *c, sy_buf_t *out)
{
    sy_buf_append_c(out,
                    "# HELP switchyard_circuit_state Circuit breaker of a deployment: 0 closed, 1 "
                    "open, 2 half-open (a probe in flight).\n"
                    "# TYPE switchyard_circuit_state gauge\n");
    /* Each state once, even when several groups list the same deployment. */
    const sy_route_state_t *seen[256];
    size_t nseen = 0;
    sy_buf_t rest;
    sy_buf_init(&rest, 0);
    sy_buf_append_c(&rest, "# HELP switchyard_circuit_opened_total Times a deployment's circuit "
                           "opened since the process started.\n"
                           "# TYPE switchyard_circuit_opened_total counter\n");
    sy_buf_t infl;
    sy_buf_init(&infl, 0);
    sy_buf_append_c(&infl, "# HELP switchyard_deployment_inflight Requests in flight to a "
                           "deployment, all workers.\n"
                           "# TYPE switchyard_deployment_inflight gauge\n");
    sy_buf_t ttft;
    sy_buf_init(&ttft, 0);
    sy_buf_append_c(&ttft, "# HELP switchyard_deployment_ttft_seconds Moving average of a "
                           "deployment's time to first token, as the router sees it.\n"
                           "# TYPE switchyard_deployment_ttft_seconds gauge\n");
    for (size_t i = 0; c && i < c->models.n; i++) {
        const sy_config_model_t *m = &c->models.items[i];
        for (size_t j = 0; j < m->ndeployments; j++) {
            const sy_route_state_t *s = m->deployments[j].state;
            if (s == NULL)
                continue;
            bool dup = false;
            for (size_t k = 0; k < nseen && !dup; k++)
                dup = seen[k] == s;
            if (dup)
                continue;
            if (nseen < SY_ARRAY_LEN(seen))
                seen[nseen++] = s;
            char labels[440];
            char esc_p[200], esc_m[200];
            size_t a = 0, b = 0;
            for (size_t k = 0; k < s->provider.len && a + 2 < sizeof(esc_p); k++) {
                char ch = s->provider.p[k];
                if (ch == '"' || ch == '\\')
                    esc_p[a++] = '\\';
                esc_p[a++] = ch;
            }
            esc_p[a] = '\0';
            for (size_t k = 0; k < s->model.len && b + 2 < sizeof(esc_m); k++) {
                char ch = s->model.p[k];
                if (ch == '"' || ch == '\\')
                    esc_m[b++] = '\\';
                esc_m[b++] = ch;
            }
            esc_m[b] = '\0';
            snprintf(labels, sizeof(labels), "{provider=\"%s\",model=\"%s\"}", esc_p, esc_m);
            sy_buf_printf(out, "switchyard_circuit_state%s %d\n", labels,
                          (int)sy_circuit_state(&s->circuit));
            sy_buf_printf(&rest, "switchyard_circuit_opened_total%s %llu\n", labels,
                          (unsigned long long)atomic_load(&s->circuit.opened_total));
            sy_buf_printf(&infl, "switchyard_deployment_inflight%s %d\n", labels,
                          (int)atomic_load(&s->inflight));
            uint64_t t = atomic_load(&s->ttft_ns);
            if (t)
                sy_buf_printf(&ttft, "switchyard_deployment_ttft_seconds%s %.6f\n", labels,
                              (double)t / 1e9);
        }
    }
    sy_buf_append_str(out, sy_buf_str(&rest));
    sy_buf_append_str(out, sy_buf_str(&infl));
    sy_buf_append_str(out, sy_buf_str(&ttft));
    sy_buf_free(&rest);
    sy_buf_free(&infl);
    sy_buf_free(&ttft);
}
