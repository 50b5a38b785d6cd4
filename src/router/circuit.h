/*
 * circuit.h - a circuit breaker per deployment, lock-free.
 *
 * Three states. CLOSED: traffic flows; failures are counted two ways, in a
 * row (`failures`) and as a ratio over a sliding window (`ratio_pct` once
 * the window holds `min_requests` verdicts); either threshold opens it.
 * OPEN: no traffic until `cooldown_ms` has passed. Then the first request to
 * ask claims the single probe (OPEN -> HALF_OPEN, one compare-and-swap, so
 * exactly one request wins however many workers ask at once). HALF_OPEN:
 * nothing else passes until the probe's verdict: success closes the circuit
 * (counters cleared), failure opens it again for another cooldown. A probe
 * that ends without a verdict (client gone, hedge cancelled) hands the probe
 * back, so the next request may probe at once.
 *
 * The whole state is one 64-bit word (state in the top two bits, the time it
 * was entered in milliseconds below), changed only by compare-and-swap; the
 * counters are relaxed atomics. Every function takes the time as an argument
 * (a fake clock in tests) and the thresholds as a parameter block (they come
 * from the configuration snapshot, so a reload changes them without losing
 * the state).
 */
#ifndef SY_ROUTER_CIRCUIT_H
#define SY_ROUTER_CIRCUIT_H

#include <stdatomic.h>

#include "core/common.h"

#define SY_CIRCUIT_BUCKETS 8 /* the window is cut into this many buckets */
/* A probe that has given no verdict after this long is presumed lost and
 * may be claimed again (a safety net: the proxy always reports). */
#define SY_CIRCUIT_PROBE_TIMEOUT_MS (10ull * 60 * 1000)

typedef enum {
    SY_CIRCUIT_CLOSED = 0,
    SY_CIRCUIT_OPEN = 1,
    SY_CIRCUIT_HALF_OPEN = 2,
} sy_circuit_state_t;

typedef struct {
    uint32_t failures;     /* consecutive failures that open it; 0: rule off */
    uint32_t ratio_pct;    /* failure percentage over the window that opens it; 0: rule off */
    uint32_t min_requests; /* verdicts the window must hold before the ratio counts */
    uint64_t window_ms;    /* length of the ratio's sliding window */
    uint64_t cooldown_ms;  /* how long it stays open before a probe */
} sy_circuit_params_t;

typedef struct {
    _Atomic uint64_t word;        /* state << 62 | since (ms) */
    _Atomic uint32_t consecutive; /* failures in a row */
    /* Window buckets: epoch (24 bits) << 40 | ok (20 bits) << 20 | fail (20 bits). */
    _Atomic uint64_t buckets[SY_CIRCUIT_BUCKETS];
    _Atomic uint64_t opened_total; /* times it opened (for metrics) */
} sy_circuit_t;

/* What the planner sees, without changing anything. */
typedef enum {
    SY_CIRCUIT_PASS = 0,  /* closed: traffic flows */
    SY_CIRCUIT_PROBE,     /* open, cooldown over: the next request may probe */
    SY_CIRCUIT_BLOCKED,   /* open and cooling down, or a probe is in flight */
} sy_circuit_view_t;

void sy_circuit_init(sy_circuit_t *c);
sy_circuit_state_t sy_circuit_state(const sy_circuit_t *c);
/* View at `now`; *retry_in_ms (may be NULL) is set, when blocked, to the
 * time until a probe may be claimed (0 if unknown: a probe is in flight). */
sy_circuit_view_t sy_circuit_peek(const sy_circuit_t *c, const sy_circuit_params_t *p,
                                  uint64_t now_ms, uint64_t *retry_in_ms);
/* Ask to send one attempt. True if it may go; *probe is set when this
 * attempt holds the half-open probe (its verdict must be reported). */
bool sy_circuit_allow(sy_circuit_t *c, const sy_circuit_params_t *p, uint64_t now_ms, bool *probe);
/* The attempt's verdict. `probe` as returned by sy_circuit_allow. */
void sy_circuit_success(sy_circuit_t *c, const sy_circuit_params_t *p, uint64_t now_ms, bool probe);
void sy_circuit_failure(sy_circuit_t *c, const sy_circuit_params_t *p, uint64_t now_ms, bool probe);
/* The attempt ended without a verdict: hand the probe back, if it held it. */
void sy_circuit_abandon(sy_circuit_t *c, const sy_circuit_params_t *p, uint64_t now_ms, bool probe);
/* Verdicts in the window at `now` (for explain and tests). */
void sy_circuit_window(const sy_circuit_t *c, const sy_circuit_params_t *p, uint64_t now_ms,
                       uint32_t *ok, uint32_t *fail);
const char *sy_circuit_state_name(sy_circuit_state_t s);

#endif
