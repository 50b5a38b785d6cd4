/*
 * counters.h - per-deployment request and token rate counters (RPM, TPM)
 * behind a small reserve/settle interface.
 *
 * A deployment may carry `rpm` and `tpm` limits (the provider's quota for
 * that account). Before an attempt the proxy reserves one request and the
 * request's worst-case tokens (input estimate + max output); when the attempt
 * ends it settles the reservation with what was really used (the provider's
 * usage), so concurrent requests cannot overrun the quota and an estimate
 * that was too high is given back. The planner only asks whether a
 * reservation would fit (`fits`), without taking anything.
 *
 * The interface is a vtable so the backend can change; the in-process one
 * below (atomics, exact for one instance) is the one in use. With
 * `counters: redis://...` the proxy reserves a limited deployment's
 * attempts in Redis instead (harness/gov.h, sy_gov_dep_reserve: exact
 * across instances, one round trip per attempt on a limited deployment and
 * none otherwise), and what Redis said when it refused is kept in the
 * deployment's state (sy_route_counters_heard) so that `fits` - planning
 * and explain - skips it until then. sy_route_counters_use() installs
 * another backend at start.
 *
 * The in-process backend counts a sliding minute as two fixed minutes, the
 * current one and the previous one weighted by how much of it is still
 * inside the sliding window (the usual approximation, within a few percent
 * of an exact log). Each minute is one 64-bit word (minute number, 24 bits;
 * count, 40 bits) in a slot chosen by the minute's parity, updated by
 * compare-and-swap: no locks, and two words per limit.
 */
#ifndef SY_ROUTER_COUNTERS_H
#define SY_ROUTER_COUNTERS_H

#include <stdatomic.h>

#include "core/common.h"

#define SY_RATE_WINDOW_MS 60000ull /* RPM and TPM are per minute */

/* One rate window: two minute words. */
typedef struct {
    _Atomic uint64_t slot[2];
} sy_rate_window_t;

typedef enum {
    SY_RATE_RPM = 0, /* requests */
    SY_RATE_TPM = 1, /* tokens */
} sy_rate_kind_t;

struct sy_route_state; /* router/state.h: the deployment the limit belongs to */

/* A reservation to settle later. */
typedef struct {
    struct sy_route_state *state; /* NULL: nothing was reserved */
    sy_rate_kind_t kind;
    uint64_t amount;
    uint64_t minute; /* the minute it was taken in */
} sy_rate_resv_t;

/* A counter backend. Calls name the deployment (its shared state: identity
 * in state->label, and the in-process windows) and which limit. */
typedef struct sy_route_counters_vt {
    const char *name;
    /* Whether `amount` more fits under `limit` at `now` (reads only). */
    bool (*fits)(struct sy_route_state *s, sy_rate_kind_t kind, uint64_t limit, uint64_t amount,
                 uint64_t now_ms);
    /* Take `amount` if it fits: SY_OK (r filled) or SY_ETOOBIG (r cleared). */
    int (*reserve)(struct sy_route_state *s, sy_rate_kind_t kind, uint64_t limit, uint64_t amount,
                   uint64_t now_ms, sy_rate_resv_t *r);
    /* Replace the reserved amount by `used` (0 gives it all back). Clears r;
     * a cleared r is a no-op. */
    void (*settle)(sy_rate_resv_t *r, uint64_t used);
    /* The sliding-minute count at `now` (for explain and metrics). */
    uint64_t (*current)(struct sy_route_state *s, sy_rate_kind_t kind, uint64_t now_ms);
} sy_route_counters_vt_t;

/* The in-process backend (the default). */
extern const sy_route_counters_vt_t sy_route_counters_local;
/* The backend in use, and replacing it (at start, before any request). */
const sy_route_counters_vt_t *sy_route_counters(void);
void sy_route_counters_use(const sy_route_counters_vt_t *vt);

/* What a shared counter (counters: redis) said about a deployment's limit:
 * refused, holding `used` until `until_ms`; or granted (until_ms 0), which
 * forgets the refusal. The planner's `fits` honours it (state.h). */
void sy_route_counters_heard(struct sy_route_state *s, sy_rate_kind_t kind, uint64_t until_ms,
                             uint64_t used);
/* While a refusal heard from the shared counter stands: when it ends (ms),
 * else 0. */
uint64_t sy_route_counters_held(struct sy_route_state *s, sy_rate_kind_t kind, uint64_t limit,
                                uint64_t amount, uint64_t now_ms);

/* The in-process windows' arithmetic (what the local backend runs). */
void sy_rate_window_init(sy_rate_window_t *w);
bool sy_rate_window_fits(sy_rate_window_t *w, uint64_t limit, uint64_t amount, uint64_t now_ms);
/* Take `amount` if it fits: SY_OK (*minute set) or SY_ETOOBIG. */
int sy_rate_window_reserve(sy_rate_window_t *w, uint64_t limit, uint64_t amount, uint64_t now_ms,
                           uint64_t *minute);
/* Correct a reservation of `reserved` taken in `minute` to `used`. */
void sy_rate_window_settle(sy_rate_window_t *w, uint64_t minute, uint64_t reserved, uint64_t used);
uint64_t sy_rate_window_current(sy_rate_window_t *w, uint64_t now_ms);

#endif
