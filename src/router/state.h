/*
 * state.h - what the router knows about each deployment's health and load,
 * shared by every worker and kept across configuration reloads.
 *
 * A deployment's identity is its provider name and upstream model
 * ("openai-main" + "gpt-4o-mini"): two model groups that list the same pair
 * share one entry, and a reload that keeps the pair keeps its latency
 * figures, circuit and rate windows. Entries live in one process-wide table
 * and are never freed (there are as many as distinct deployments ever
 * configured, bounded by SY_ROUTE_STATE_MAX; past that, deployments share
 * one overflow entry and a warning is logged once).
 *
 * Concurrency: the table is open addressing over atomic pointers; an entry
 * is inserted with one compare-and-swap into an empty slot, and found
 * without any lock. Each entry's figures are atomics updated with relaxed
 * operations (compare-and-swap where a value is derived from the old one);
 * no lock is taken on the request path. Entries are cache-line aligned so
 * workers updating different deployments do not share lines.
 *
 * A snapshot resolves each of its fixed deployments to its entry once, when
 * it is built (config/gateway.c); wildcard deployments look theirs up per
 * request (one hash probe).
 */
#ifndef SY_ROUTER_STATE_H
#define SY_ROUTER_STATE_H

#include <stdatomic.h>

#include "core/str.h"
#include "router/circuit.h"
#include "router/counters.h"

#define SY_ROUTE_STATE_MAX 16384    /* distinct deployments per process (table slots) */
#define SY_ROUTE_EWMA_SHIFT 2       /* EWMA weight of a new sample: 1/4 */

typedef struct sy_route_state {
    /* identity (immutable, NUL-terminated, never freed) */
    sy_str_t provider, model;
    sy_str_t label; /* "provider/model" */
    uint64_t hash;
    /* health */
    sy_circuit_t circuit;
    _Atomic uint64_t cooldown_until_ms; /* rate limited with Retry-After: tried last until then */
    /* latency: EWMAs in nanoseconds, 0 = no sample yet */
    _Atomic uint64_t ttft_ns;  /* attempt start -> first token (streams) or response head */
    _Atomic uint64_t tpot_ns;  /* per output token after the first (streams) */
    _Atomic uint64_t last_sample_ms;
    _Atomic uint64_t explore_ms; /* last time a request was sent to refresh stale figures */
    /* load */
    _Atomic int32_t inflight;
    sy_rate_window_t rpm, tpm;
    /* Shared limits (counters: redis): what the shared counter last said
     * when it refused, per sy_rate_kind_t: it held `held_used` until
     * `held_until_ms` at the earliest. The planner skips the deployment
     * while a request would not fit that, without asking Redis; a granted
     * reservation clears it. Zero when limits are counted here. */
    _Atomic uint64_t held_until_ms[2], held_used[2];
    /* totals for metrics and explain */
    _Atomic uint64_t attempts, failures;
} __attribute__((aligned(64))) sy_route_state_t;

/* The entry for provider + model, created if absent. Never NULL. Any thread. */
sy_route_state_t *sy_route_state_get(sy_str_t provider, sy_str_t model);
/* Lookup without creating: NULL if absent. */
sy_route_state_t *sy_route_state_find(sy_str_t provider, sy_str_t model);
/* A fresh, unshared entry (tests and benchmarks); caller frees with free(). */
sy_route_state_t *sy_route_state_new_private(sy_str_t provider, sy_str_t model);

/* Record latency samples (ns). TPOT is skipped when out_tokens < 2. */
void sy_route_state_sample_ttft(sy_route_state_t *s, uint64_t ttft_ns, uint64_t now_ms);
void sy_route_state_sample_tpot(sy_route_state_t *s, uint64_t gen_ns, uint64_t out_tokens);
/* A deployment answered 429 with Retry-After: try it last until then. */
void sy_route_state_cool(sy_route_state_t *s, uint64_t until_ms);

/* Iterate over every entry: for (size_t i = 0; (s = sy_route_state_next(&i));) */
sy_route_state_t *sy_route_state_next(size_t *iter);

#endif
