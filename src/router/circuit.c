/*
 * circuit.c - the per-deployment circuit breaker (see circuit.h).
 */
#include "router/circuit.h"

#define STATE_SHIFT 62
#define READY_BIT (1ull << 61) /* OPEN: a probe may be claimed now (a probe was handed back) */
#define TIME_MASK (READY_BIT - 1)

#define EPOCH_BITS 24
#define COUNT_BITS 20
#define COUNT_MAX ((1u << COUNT_BITS) - 1)
#define EPOCH_MASK ((1u << EPOCH_BITS) - 1)

static inline uint64_t mk(sy_circuit_state_t s, uint64_t since_ms, bool ready)
{
    return ((uint64_t)s << STATE_SHIFT) | (ready ? READY_BIT : 0) | (since_ms & TIME_MASK);
}
static inline sy_circuit_state_t st_of(uint64_t w) { return (sy_circuit_state_t)(w >> STATE_SHIFT); }
static inline uint64_t since_of(uint64_t w) { return w & TIME_MASK; }

void sy_circuit_init(sy_circuit_t *c)
{
    atomic_init(&c->word, mk(SY_CIRCUIT_CLOSED, 0, false));
    atomic_init(&c->consecutive, 0u);
    for (int i = 0; i < SY_CIRCUIT_BUCKETS; i++)
        atomic_init(&c->buckets[i], 0);
    atomic_init(&c->opened_total, 0);
}

const char *sy_circuit_state_name(sy_circuit_state_t s)
{
    switch (s) {
    case SY_CIRCUIT_CLOSED:
        return "closed";
    case SY_CIRCUIT_OPEN:
        return "open";
    case SY_CIRCUIT_HALF_OPEN:
        return "half_open";
    }
    return "unknown";
}

sy_circuit_state_t sy_circuit_state(const sy_circuit_t *c)
{
    return st_of(atomic_load_explicit(&c->word, memory_order_acquire));
}

/* Whether an OPEN word's cooldown is over (or a probe was handed back). */
static bool probe_due(uint64_t w, const sy_circuit_params_t *p, uint64_t now, uint64_t *retry_in)
{
    if (w & READY_BIT)
        return true;
    uint64_t until = since_of(w) + p->cooldown_ms;
    if (now >= until)
        return true;
    if (retry_in)
        *retry_in = until - now;
    return false;
}

static bool probe_lost(uint64_t w, uint64_t now)
{
    return now >= since_of(w) && now - since_of(w) >= SY_CIRCUIT_PROBE_TIMEOUT_MS;
}

sy_circuit_view_t sy_circuit_peek(const sy_circuit_t *c, const sy_circuit_params_t *p,
                                  uint64_t now_ms, uint64_t *retry_in_ms)
{
    uint64_t w = atomic_load_explicit(&c->word, memory_order_acquire);
    if (retry_in_ms)
        *retry_in_ms = 0;
    switch (st_of(w)) {
    case SY_CIRCUIT_CLOSED:
        return SY_CIRCUIT_PASS;
    case SY_CIRCUIT_OPEN:
        return probe_due(w, p, now_ms, retry_in_ms) ? SY_CIRCUIT_PROBE : SY_CIRCUIT_BLOCKED;
    case SY_CIRCUIT_HALF_OPEN:
        return probe_lost(w, now_ms) ? SY_CIRCUIT_PROBE : SY_CIRCUIT_BLOCKED;
    }
    return SY_CIRCUIT_BLOCKED;
}

bool sy_circuit_allow(sy_circuit_t *c, const sy_circuit_params_t *p, uint64_t now_ms, bool *probe)
{
    *probe = false;
    uint64_t w = atomic_load_explicit(&c->word, memory_order_acquire);
    for (;;) {
        switch (st_of(w)) {
        case SY_CIRCUIT_CLOSED:
            return true;
        case SY_CIRCUIT_OPEN:
            if (!probe_due(w, p, now_ms, NULL))
                return false;
            break;
        case SY_CIRCUIT_HALF_OPEN:
            if (!probe_lost(w, now_ms))
                return false;
            break;
        }
        /* Claim the probe: only one compare-and-swap can win. */
        if (atomic_compare_exchange_weak_explicit(&c->word, &w,
                                                  mk(SY_CIRCUIT_HALF_OPEN, now_ms, false),
                                                  memory_order_acq_rel, memory_order_acquire)) {
            *probe = true;
            return true;
        }
    }
}

/* ---- the sliding window ---- */

static uint64_t bucket_ms(const sy_circuit_params_t *p)
{
    uint64_t b = p->window_ms / SY_CIRCUIT_BUCKETS;
    return b ? b : 1;
}

static void window_add(sy_circuit_t *c, const sy_circuit_params_t *p, uint64_t now, bool ok)
{
    uint64_t e = now / bucket_ms(p);
    uint64_t tag = e & EPOCH_MASK;
    _Atomic uint64_t *b = &c->buckets[e % SY_CIRCUIT_BUCKETS];
    uint64_t w = atomic_load_explicit(b, memory_order_relaxed);
    for (;;) {
        uint64_t okc = 0, failc = 0;
        if ((w >> (2 * COUNT_BITS)) == tag) {
            okc = (w >> COUNT_BITS) & COUNT_MAX;
            failc = w & COUNT_MAX;
        }
        if (ok && okc < COUNT_MAX)
            okc++;
        else if (!ok && failc < COUNT_MAX)
            failc++;
        uint64_t nw = (tag << (2 * COUNT_BITS)) | (okc << COUNT_BITS) | failc;
        if (atomic_compare_exchange_weak_explicit(b, &w, nw, memory_order_relaxed,
                                                  memory_order_relaxed))
            return;
    }
}

void sy_circuit_window(const sy_circuit_t *c, const sy_circuit_params_t *p, uint64_t now_ms,
                       uint32_t *ok, uint32_t *fail)
{
    uint64_t e = (now_ms / bucket_ms(p)) & EPOCH_MASK;
    uint32_t o = 0, f = 0;
    for (int i = 0; i < SY_CIRCUIT_BUCKETS; i++) {
        uint64_t w = atomic_load_explicit(&c->buckets[i], memory_order_relaxed);
        uint64_t tag = w >> (2 * COUNT_BITS);
        if (((e - tag) & EPOCH_MASK) >= SY_CIRCUIT_BUCKETS)
            continue; /* older than the window */
        o += (uint32_t)((w >> COUNT_BITS) & COUNT_MAX);
        f += (uint32_t)(w & COUNT_MAX);
    }
    *ok = o;
    *fail = f;
}

static void window_clear(sy_circuit_t *c)
{
    for (int i = 0; i < SY_CIRCUIT_BUCKETS; i++)
        atomic_store_explicit(&c->buckets[i], 0, memory_order_relaxed);
}

/* ---- verdicts ---- */

void sy_circuit_success(sy_circuit_t *c, const sy_circuit_params_t *p, uint64_t now_ms, bool probe)
{
    if (probe) {
        uint64_t w = atomic_load_explicit(&c->word, memory_order_acquire);
        if (st_of(w) == SY_CIRCUIT_HALF_OPEN &&
            atomic_compare_exchange_strong_explicit(&c->word, &w,
                                                    mk(SY_CIRCUIT_CLOSED, now_ms, false),
                                                    memory_order_acq_rel, memory_order_acquire)) {
            /* A fresh start: the failures that opened it are history. */
            window_clear(c);
            atomic_store_explicit(&c->consecutive, 0u, memory_order_relaxed);
        }
        return;
    }
    atomic_store_explicit(&c->consecutive, 0u, memory_order_relaxed);
    window_add(c, p, now_ms, true);
}

static void open_from(sy_circuit_t *c, uint64_t w, uint64_t now_ms)
{
    if (atomic_compare_exchange_strong_explicit(&c->word, &w, mk(SY_CIRCUIT_OPEN, now_ms, false),
                                                memory_order_acq_rel, memory_order_acquire)) {
        atomic_fetch_add_explicit(&c->opened_total, 1, memory_order_relaxed);
        atomic_store_explicit(&c->consecutive, 0u, memory_order_relaxed);
    }
}

void sy_circuit_failure(sy_circuit_t *c, const sy_circuit_params_t *p, uint64_t now_ms, bool probe)
{
    uint64_t w = atomic_load_explicit(&c->word, memory_order_acquire);
    if (probe) {
        if (st_of(w) == SY_CIRCUIT_HALF_OPEN)
            open_from(c, w, now_ms);
        return;
    }
    uint32_t n = atomic_fetch_add_explicit(&c->consecutive, 1u, memory_order_relaxed) + 1;
    window_add(c, p, now_ms, false);
    if (st_of(w) != SY_CIRCUIT_CLOSED)
        return; /* an attempt that started before the circuit opened */
    bool trip = p->failures && n >= p->failures;
    if (!trip && p->ratio_pct) {
        uint32_t ok, fail;
        sy_circuit_window(c, p, now_ms, &ok, &fail);
        uint64_t total = (uint64_t)ok + fail;
        trip = total >= SY_MAX(p->min_requests, 1u) && (uint64_t)fail * 100 >= (uint64_t)p->ratio_pct * total;
    }
    if (trip)
        open_from(c, w, now_ms);
}

void sy_circuit_abandon(sy_circuit_t *c, const sy_circuit_params_t *p, uint64_t now_ms, bool probe)
{
    SY_UNUSED(p);
    if (!probe)
        return;
    uint64_t w = atomic_load_explicit(&c->word, memory_order_acquire);
    if (st_of(w) == SY_CIRCUIT_HALF_OPEN)
        atomic_compare_exchange_strong_explicit(&c->word, &w, mk(SY_CIRCUIT_OPEN, now_ms, true),
                                                memory_order_acq_rel, memory_order_acquire);
}
