/*
 * policy.h - what the attempt loop does after an attempt fails: retry the
 * same deployment (after a backoff), fall back to the next one, or give up.
 *
 * By error class (ir.h), before any byte reached the client:
 *
 *   server (5xx), connection, bad response   retry here (up to router.retries,
 *                                             backoff with full jitter), then fall back
 *   rate limited (429), overloaded, timeout  fall back at once; retry here only
 *                                             when no other deployment is left
 *   auth, not found                           fall back (this deployment's key or
 *                                             model is wrong; another may work)
 *   context too long                          fall back to a larger context window only
 *   bad request, content filter, internal     give up: the answer would be the same
 *
 * A retry here waits a backoff drawn uniformly from [0, min(backoff_max,
 * backoff_base * 2^n)] ("full jitter": retries from many clients spread out
 * instead of arriving together), and at least the provider's Retry-After.
 * When that wait would exceed backoff_max, or end past the request's
 * deadline (router.timeout from the request's start), the deployment is not
 * retried. Nothing is retried once a byte reached the client, and no
 * request makes more than router.max_attempts upstream attempts.
 */
#ifndef SY_ROUTER_POLICY_H
#define SY_ROUTER_POLICY_H

#include "config/config.h"
#include "ir/ir.h"

typedef enum {
    SY_NEXT_RETRY = 0, /* the same deployment again, after *wait_ms */
    SY_NEXT_FALLBACK,  /* the next deployment of the plan */
    SY_NEXT_FAIL,      /* answer the error */
} sy_route_next_t;

/* What the loop knows about a failed attempt. */
typedef struct {
    sy_ir_error_class_t cls;
    uint64_t retry_after_ms; /* the provider's Retry-After, 0 if none */
    bool client_started;     /* bytes already reached the client */
    uint32_t tries_here;     /* attempts made on this deployment, this one included */
    uint32_t attempts;       /* attempts made in all, this one included */
    bool others_left;        /* the plan has another deployment to try */
    uint64_t elapsed_ms;     /* since the request started */
} sy_route_failure_t;

/* Decide. *wait_ms is set for SY_NEXT_RETRY; *why (may be NULL) gets a
 * short reason for logs when giving up ("client_started", "max_attempts",
 * "deadline", "not_retryable", "no_fallback"). */
sy_route_next_t sy_route_decide(const sy_config_router_t *cfg, const sy_route_failure_t *f,
                                uint64_t *rng, uint64_t *wait_ms, const char **why);

/* Full-jitter backoff before retry number `retry` (0 for the first). */
uint64_t sy_route_backoff(const sy_config_router_t *cfg, uint32_t retry, uint64_t *rng);

/* Whether a failure of this class counts against a deployment's circuit
 * (its health), as opposed to the request's fault or a quota. */
bool sy_route_counts_against_circuit(sy_ir_error_class_t cls);

#endif
