/*
 * counters.c - the in-process rate counter backend (see counters.h).
 */
#include "router/counters.h"

#include "router/state.h"

#define MINUTE_BITS 24
#define COUNT_BITS 40
#define COUNT_MASK ((1ull << COUNT_BITS) - 1)
#define MINUTE_MASK ((1ull << MINUTE_BITS) - 1)

static inline uint64_t w_minute(uint64_t w) { return w >> COUNT_BITS; }
static inline uint64_t w_count(uint64_t w) { return w & COUNT_MASK; }
static inline uint64_t w_make(uint64_t minute, uint64_t count)
{
    return ((minute & MINUTE_MASK) << COUNT_BITS) | (count > COUNT_MASK ? COUNT_MASK : count);
}

void sy_rate_window_init(sy_rate_window_t *w)
{
    atomic_init(&w->slot[0], 0);
    atomic_init(&w->slot[1], 0);
}

/* The count a slot word holds for `minute`, or 0 if it belongs to another. */
static inline uint64_t count_for(uint64_t w, uint64_t minute)
{
    return w_minute(w) == (minute & MINUTE_MASK) ? w_count(w) : 0;
}

/* Sliding-minute estimate: this minute's count plus the previous minute's,
 * weighted by the part of it still inside the window. */
static uint64_t estimate(sy_rate_window_t *win, uint64_t now_ms, uint64_t *cur_word)
{
    uint64_t m = now_ms / SY_RATE_WINDOW_MS;
    uint64_t cw = atomic_load_explicit(&win->slot[m & 1], memory_order_relaxed);
    uint64_t pw = atomic_load_explicit(&win->slot[(m + 1) & 1], memory_order_relaxed);
    uint64_t prev = m ? count_for(pw, m - 1) : 0;
    uint64_t into = now_ms % SY_RATE_WINDOW_MS;
    if (cur_word)
        *cur_word = cw;
    return count_for(cw, m) + prev * (SY_RATE_WINDOW_MS - into) / SY_RATE_WINDOW_MS;
}

bool sy_rate_window_fits(sy_rate_window_t *w, uint64_t limit, uint64_t amount, uint64_t now_ms)
{
    return estimate(w, now_ms, NULL) + amount <= limit;
}

uint64_t sy_rate_window_current(sy_rate_window_t *w, uint64_t now_ms)
{
    return estimate(w, now_ms, NULL);
}

int sy_rate_window_reserve(sy_rate_window_t *win, uint64_t limit, uint64_t amount, uint64_t now_ms,
                           uint64_t *minute)
{
    uint64_t m = now_ms / SY_RATE_WINDOW_MS;
    _Atomic uint64_t *slot = &win->slot[m & 1];
    for (;;) {
        uint64_t cw;
        uint64_t est = estimate(win, now_ms, &cw);
        if (est + amount > limit)
            return SY_ETOOBIG;
        /* A slot still holding minute m-2 starts over at this minute. */
        uint64_t nw = w_make(m, count_for(cw, m) + amount);
        if (atomic_compare_exchange_weak_explicit(slot, &cw, nw, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            *minute = m;
            return SY_OK;
        }
    }
}

void sy_rate_window_settle(sy_rate_window_t *win, uint64_t minute, uint64_t reserved, uint64_t used)
{
    if (used == reserved)
        return;
    _Atomic uint64_t *slot = &win->slot[minute & 1];
    uint64_t w = atomic_load_explicit(slot, memory_order_relaxed);
    for (;;) {
        if (w_minute(w) != (minute & MINUTE_MASK))
            return; /* that minute has left the window: nothing to correct */
        uint64_t c = w_count(w);
        c = used > reserved ? c + (used - reserved) : c - SY_MIN(c, reserved - used);
        if (atomic_compare_exchange_weak_explicit(slot, &w, w_make(minute, c),
                                                  memory_order_relaxed, memory_order_relaxed))
            return;
    }
}

/* ---- the local backend: the windows in the deployment's shared state ---- */

static sy_rate_window_t *window_of(struct sy_route_state *s, sy_rate_kind_t kind)
{
    return kind == SY_RATE_RPM ? &s->rpm : &s->tpm;
}

void sy_route_counters_heard(struct sy_route_state *s, sy_rate_kind_t kind, uint64_t until_ms,
                             uint64_t used)
{
    atomic_store_explicit(&s->held_used[kind], used, memory_order_relaxed);
    atomic_store_explicit(&s->held_until_ms[kind], until_ms, memory_order_relaxed);
}

uint64_t sy_route_counters_held(struct sy_route_state *s, sy_rate_kind_t kind, uint64_t limit,
                                uint64_t amount, uint64_t now_ms)
{
    uint64_t until = atomic_load_explicit(&s->held_until_ms[kind], memory_order_relaxed);
    if (until <= now_ms)
        return 0;
    uint64_t used = atomic_load_explicit(&s->held_used[kind], memory_order_relaxed);
    return used + amount > limit ? until : 0;
}

static bool local_fits(struct sy_route_state *s, sy_rate_kind_t kind, uint64_t limit,
                       uint64_t amount, uint64_t now_ms)
{
    return sy_route_counters_held(s, kind, limit, amount, now_ms) == 0 &&
           sy_rate_window_fits(window_of(s, kind), limit, amount, now_ms);
}

static uint64_t local_current(struct sy_route_state *s, sy_rate_kind_t kind, uint64_t now_ms)
{
    return sy_rate_window_current(window_of(s, kind), now_ms);
}

static int local_reserve(struct sy_route_state *s, sy_rate_kind_t kind, uint64_t limit,
                         uint64_t amount, uint64_t now_ms, sy_rate_resv_t *r)
{
    r->state = NULL;
    r->kind = kind;
    r->amount = 0;
    r->minute = 0;
    if (sy_rate_window_reserve(window_of(s, kind), limit, amount, now_ms, &r->minute) != SY_OK)
        return SY_ETOOBIG;
    r->state = s;
    r->amount = amount;
    return SY_OK;
}

static void local_settle(sy_rate_resv_t *r, uint64_t used)
{
    if (r->state)
        sy_rate_window_settle(window_of(r->state, r->kind), r->minute, r->amount, used);
    r->state = NULL;
}

const sy_route_counters_vt_t sy_route_counters_local = {
    .name = "local",
    .fits = local_fits,
    .reserve = local_reserve,
    .settle = local_settle,
    .current = local_current,
};

static const sy_route_counters_vt_t *_Atomic g_counters = &sy_route_counters_local;

const sy_route_counters_vt_t *sy_route_counters(void)
{
    return atomic_load_explicit(&g_counters, memory_order_acquire);
}

void sy_route_counters_use(const sy_route_counters_vt_t *vt)
{
    atomic_store_explicit(&g_counters, vt ? vt : &sy_route_counters_local, memory_order_release);
}
