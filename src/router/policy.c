/*
 * policy.c - retry, fall back or fail (see policy.h).
 */
#include "router/policy.h"

#include "router/router.h"

uint64_t sy_route_backoff(const sy_config_router_t *cfg, uint32_t retry, uint64_t *rng)
{
    uint64_t cap = cfg->backoff_max_ms;
    uint64_t ceil = cfg->backoff_base_ms;
    for (uint32_t i = 0; i < retry && ceil < cap; i++)
        ceil *= 2;
    if (ceil > cap)
        ceil = cap;
    return sy_route_rand(rng) % (ceil + 1);
}

bool sy_route_counts_against_circuit(sy_ir_error_class_t cls)
{
    switch (cls) {
    case SY_IR_ERR_SERVER:
    case SY_IR_ERR_OVERLOADED:
    case SY_IR_ERR_TIMEOUT:
    case SY_IR_ERR_CONNECTION:
    case SY_IR_ERR_BAD_RESPONSE:
    case SY_IR_ERR_AUTH:
        return true;
    default:
        /* Rate limits are quotas (the deployment cools down instead), and
         * bad requests, unknown models, long contexts and filtered content
         * say nothing about the deployment's health. */
        return false;
    }
}

/* Classes worth a second try on the same deployment before moving on. */
static bool retry_here_first(sy_ir_error_class_t cls)
{
    return cls == SY_IR_ERR_SERVER || cls == SY_IR_ERR_CONNECTION || cls == SY_IR_ERR_BAD_RESPONSE;
}

/* Classes retried here only when nothing else is left. */
static bool retry_here_last(sy_ir_error_class_t cls)
{
    return cls == SY_IR_ERR_RATE_LIMITED || cls == SY_IR_ERR_OVERLOADED || cls == SY_IR_ERR_TIMEOUT;
}

sy_route_next_t sy_route_decide(const sy_config_router_t *cfg, const sy_route_failure_t *f,
                                uint64_t *rng, uint64_t *wait_ms, const char **why)
{
    const char *dummy;
    if (why == NULL)
        why = &dummy;
    *wait_ms = 0;
    *why = NULL;
    if (f->client_started) {
        *why = "client_started";
        return SY_NEXT_FAIL;
    }
    if (!sy_ir_error_retryable(f->cls)) {
        *why = "not_retryable";
        return SY_NEXT_FAIL;
    }
    if (f->attempts >= cfg->max_attempts) {
        *why = "max_attempts";
        return SY_NEXT_FAIL;
    }
    if (f->elapsed_ms >= cfg->timeout_ms) {
        *why = "deadline";
        return SY_NEXT_FAIL;
    }
    bool here = retry_here_first(f->cls) || (retry_here_last(f->cls) && !f->others_left);
    if (here && f->tries_here >= 1 && f->tries_here - 1 < cfg->retries) {
        uint64_t w = sy_route_backoff(cfg, f->tries_here - 1, rng);
        if (f->retry_after_ms > w)
            w = f->retry_after_ms;
        if (w <= cfg->backoff_max_ms && f->elapsed_ms + w < cfg->timeout_ms) {
            *wait_ms = w;
            return SY_NEXT_RETRY;
        }
    }
    if (f->others_left)
        return SY_NEXT_FALLBACK;
    *why = "no_fallback";
    return SY_NEXT_FAIL;
}
