/*
 * state.c - the process-wide deployment state table (see state.h).
 */
#include "router/state.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static sy_route_state_t *_Atomic g_slots[SY_ROUTE_STATE_MAX];
static sy_route_state_t *_Atomic g_overflow;
static atomic_bool g_warned;

static uint64_t key_hash(sy_str_t provider, sy_str_t model)
{
    uint64_t h = sy_hash_bytes(provider.p, provider.len);
    h ^= sy_hash_bytes(model.p, model.len) * 0x9e3779b97f4a7c15ULL;
    return h | 1; /* never 0 */
}

static void state_init(sy_route_state_t *s, sy_str_t provider, sy_str_t model, uint64_t h)
{
    memset(s, 0, sizeof(*s));
    /* One allocation for the three strings: "provider\0model\0provider/model\0". */
    size_t n = provider.len + 1 + model.len + 1 + provider.len + 1 + model.len + 1;
    char *b = sy_malloc(n);
    memcpy(b, provider.p, provider.len);
    b[provider.len] = '\0';
    char *m = b + provider.len + 1;
    memcpy(m, model.p, model.len);
    m[model.len] = '\0';
    char *l = m + model.len + 1;
    memcpy(l, provider.p, provider.len);
    l[provider.len] = '/';
    memcpy(l + provider.len + 1, model.p, model.len);
    l[provider.len + 1 + model.len] = '\0';
    s->provider = sy_str(b, provider.len);
    s->model = sy_str(m, model.len);
    s->label = sy_str(l, provider.len + 1 + model.len);
    s->hash = h;
    sy_circuit_init(&s->circuit);
    sy_rate_window_init(&s->rpm);
    sy_rate_window_init(&s->tpm);
    atomic_init(&s->cooldown_until_ms, 0);
    atomic_init(&s->ttft_ns, 0);
    atomic_init(&s->tpot_ns, 0);
    atomic_init(&s->last_sample_ms, 0);
    atomic_init(&s->explore_ms, 0);
    atomic_init(&s->inflight, 0);
    atomic_init(&s->attempts, 0);
    atomic_init(&s->failures, 0);
    for (int k = 0; k < 2; k++) {
        atomic_init(&s->held_until_ms[k], 0);
        atomic_init(&s->held_used[k], 0);
    }
}

static sy_route_state_t *state_alloc(sy_str_t provider, sy_str_t model, uint64_t h)
{
    sy_route_state_t *s = aligned_alloc(64, sizeof(sy_route_state_t));
    if (s == NULL)
        sy_panic("out of memory");
    state_init(s, provider, model, h);
    return s;
}

static void state_free(sy_route_state_t *s)
{
    free((void *)s->provider.p);
    free(s);
}

sy_route_state_t *sy_route_state_new_private(sy_str_t provider, sy_str_t model)
{
    return state_alloc(provider, model, key_hash(provider, model));
}

static bool same(const sy_route_state_t *s, uint64_t h, sy_str_t provider, sy_str_t model)
{
    return s->hash == h && sy_str_eq(s->provider, provider) && sy_str_eq(s->model, model);
}

sy_route_state_t *sy_route_state_find(sy_str_t provider, sy_str_t model)
{
    uint64_t h = key_hash(provider, model);
    for (size_t i = 0; i < SY_ROUTE_STATE_MAX; i++) {
        size_t k = (h + i) & (SY_ROUTE_STATE_MAX - 1);
        sy_route_state_t *s = atomic_load_explicit(&g_slots[k], memory_order_acquire);
        if (s == NULL)
            return NULL;
        if (same(s, h, provider, model))
            return s;
    }
    return NULL;
}

sy_route_state_t *sy_route_state_get(sy_str_t provider, sy_str_t model)
{
    _Static_assert((SY_ROUTE_STATE_MAX & (SY_ROUTE_STATE_MAX - 1)) == 0, "power of two");
    uint64_t h = key_hash(provider, model);
    sy_route_state_t *mine = NULL;
    for (size_t i = 0; i < SY_ROUTE_STATE_MAX; i++) {
        size_t k = (h + i) & (SY_ROUTE_STATE_MAX - 1);
        sy_route_state_t *s = atomic_load_explicit(&g_slots[k], memory_order_acquire);
        if (s == NULL) {
            if (mine == NULL)
                mine = state_alloc(provider, model, h);
            if (atomic_compare_exchange_strong_explicit(&g_slots[k], &s, mine,
                                                        memory_order_acq_rel,
                                                        memory_order_acquire))
                return mine;
            /* Another thread filled this slot first: is it the same key? */
        }
        if (same(s, h, provider, model)) {
            if (mine)
                state_free(mine);
            return s;
        }
    }
    if (mine)
        state_free(mine);
    /* The table is full: share one entry rather than fail a request. */
    sy_route_state_t *o = atomic_load_explicit(&g_overflow, memory_order_acquire);
    if (o == NULL) {
        sy_route_state_t *n = state_alloc(SY_STR("overflow"), SY_STR("*"), 1);
        if (atomic_compare_exchange_strong(&g_overflow, &o, n))
            o = n;
        else
            state_free(n);
    }
    if (!atomic_exchange(&g_warned, true))
        sy_warn("router state table full",
                "\"limit\":%d,\"note\":\"further deployments share one health entry\"",
                SY_ROUTE_STATE_MAX);
    return o;
}

sy_route_state_t *sy_route_state_next(size_t *iter)
{
    while (*iter < SY_ROUTE_STATE_MAX) {
        sy_route_state_t *s = atomic_load_explicit(&g_slots[(*iter)++], memory_order_acquire);
        if (s)
            return s;
    }
    return NULL;
}

/* ---- latency ---- */

static void ewma(_Atomic uint64_t *v, uint64_t sample)
{
    if (sample == 0)
        sample = 1; /* 0 means "no sample" */
    uint64_t old = atomic_load_explicit(v, memory_order_relaxed);
    for (;;) {
        uint64_t nv = old == 0 ? sample
                               : old - (old >> SY_ROUTE_EWMA_SHIFT) + (sample >> SY_ROUTE_EWMA_SHIFT);
        if (nv == 0)
            nv = 1;
        if (atomic_compare_exchange_weak_explicit(v, &old, nv, memory_order_relaxed,
                                                  memory_order_relaxed))
            return;
    }
}

void sy_route_state_sample_ttft(sy_route_state_t *s, uint64_t ttft_ns, uint64_t now_ms)
{
    ewma(&s->ttft_ns, ttft_ns);
    atomic_store_explicit(&s->last_sample_ms, now_ms, memory_order_relaxed);
}

void sy_route_state_sample_tpot(sy_route_state_t *s, uint64_t gen_ns, uint64_t out_tokens)
{
    if (out_tokens < 2)
        return;
    ewma(&s->tpot_ns, gen_ns / (out_tokens - 1));
}

void sy_route_state_cool(sy_route_state_t *s, uint64_t until_ms)
{
    uint64_t old = atomic_load_explicit(&s->cooldown_until_ms, memory_order_relaxed);
    while (until_ms > old &&
           !atomic_compare_exchange_weak_explicit(&s->cooldown_until_ms, &old, until_ms,
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}
