/*
 * counters_local.c - the in-process counter backend: sliding one-minute
 * rate windows and calendar budget windows updated with compare-and-swap,
 * and the table of per-principal states.
 */
#include "harness/counters.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"

const char *const sy_window_names[] = {"day", "month", "total", NULL};
const char *const sy_scope_names[] = {"key", "team", "organisation", NULL};

/* ---- windows ---- */

uint64_t sy_window_index(sy_window_t w, uint64_t sec)
{
    switch (w) {
    case SY_WINDOW_DAY:
        return sec / 86400u;
    case SY_WINDOW_MONTH: {
        time_t t = (time_t)sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        return (uint64_t)(tm.tm_year + 1900) * 12u + (uint64_t)tm.tm_mon;
    }
    default:
        return 0;
    }
}

uint64_t sy_window_end(sy_window_t w, uint64_t idx)
{
    switch (w) {
    case SY_WINDOW_DAY:
        return (idx + 1) * 86400u;
    case SY_WINDOW_MONTH: {
        uint64_t next = idx + 1;
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        tm.tm_year = (int)(next / 12u) - 1900;
        tm.tm_mon = (int)(next % 12u);
        tm.tm_mday = 1;
        return (uint64_t)timegm(&tm);
    }
    default:
        return UINT64_MAX;
    }
}

/* ---- the state table ---- */

static _Atomic(sy_ctr_state_t *) g_states[SY_CTR_STATE_MAX];
static atomic_bool g_full_warned;

sy_ctr_state_t *sy_ctr_state_get(sy_str_t id)
{
    uint64_t h = sy_hash_bytes(id.p, id.len);
    sy_ctr_state_t *fresh = NULL;
    for (size_t probe = 0; probe < SY_CTR_STATE_MAX; probe++) {
        size_t i = (size_t)((h + probe) & (SY_CTR_STATE_MAX - 1));
        sy_ctr_state_t *s = atomic_load_explicit(&g_states[i], memory_order_acquire);
        if (s == NULL) {
            if (fresh == NULL) {
                fresh = sy_calloc(1, sizeof(*fresh));
                char *copy = sy_malloc(id.len + 1);
                memcpy(copy, id.p, id.len);
                copy[id.len] = '\0';
                fresh->id = sy_str(copy, id.len);
            }
            sy_ctr_state_t *expect = NULL;
            if (atomic_compare_exchange_strong(&g_states[i], &expect, fresh))
                return fresh;
            s = expect; /* another thread took the slot: look at what it put there */
        }
        if (sy_str_eq(s->id, id)) {
            if (fresh) {
                free((void *)fresh->id.p);
                free(fresh);
            }
            return s;
        }
    }
    if (fresh) {
        free((void *)fresh->id.p);
        free(fresh);
    }
    if (!atomic_exchange(&g_full_warned, true))
        sy_error("counters: the principal table is full; new principals go unlimited", NULL);
    return NULL;
}

sy_ctr_state_t *sy_ctr_state_find(sy_str_t id)
{
    uint64_t h = sy_hash_bytes(id.p, id.len);
    for (size_t probe = 0; probe < SY_CTR_STATE_MAX; probe++) {
        size_t i = (size_t)((h + probe) & (SY_CTR_STATE_MAX - 1));
        sy_ctr_state_t *s = atomic_load_explicit(&g_states[i], memory_order_acquire);
        if (s == NULL)
            return NULL;
        if (sy_str_eq(s->id, id))
            return s;
    }
    return NULL;
}

bool sy_ctr_add(sy_ctr_batch_t *b, sy_ctr_kind_t kind, sy_scope_t scope, sy_window_t window,
                sy_ctr_state_t *st, uint64_t limit, uint64_t amount)
{
    if (b->n >= SY_CTR_MAX_OPS || st == NULL)
        return false;
    sy_ctr_op_t *o = &b->ops[b->n++];
    memset(o, 0, sizeof(*o));
    o->kind = (uint8_t)kind;
    o->scope = (uint8_t)scope;
    o->window = (uint8_t)window;
    o->st = st;
    o->limit = limit;
    o->amount = amount;
    return true;
}

/* ---- rate windows ---- */

#define TAG_BITS 28u /* seconds: wraps after 8.5 years */
#define AMT_BITS 36u /* per second: up to 68 billion */
#define TAG_MASK ((1ull << TAG_BITS) - 1)
#define AMT_MASK ((1ull << AMT_BITS) - 1)

static inline uint64_t slot_tag(uint64_t v) { return v >> AMT_BITS; }
static inline uint64_t slot_amt(uint64_t v) { return v & AMT_MASK; }
static inline uint64_t slot_make(uint64_t sec, uint64_t amt)
{
    return ((sec & TAG_MASK) << AMT_BITS) | (amt > AMT_MASK ? AMT_MASK : amt);
}
/* Seconds from the slot's second to now (mod 2^28: a slot is never older
 * than that while it holds an amount, see sweep). */
static inline uint64_t slot_age(uint64_t v, uint64_t now) { return (now - slot_tag(v)) & TAG_MASK; }

/* Move every slot that left the window out of the total. `all`: the last
 * sweep was more than a window ago, so every slot not of this second is
 * old whatever its (wrapped) tag says. */
static void sweep_slots(sy_ctr_rate_t *r, uint64_t now, bool all)
{
    for (size_t i = 0; i < SY_RATE_SLOTS; i++) {
        uint64_t v = atomic_load_explicit(&r->slot[i], memory_order_acquire);
        while (v) {
            bool old = all ? slot_tag(v) != (now & TAG_MASK) : slot_age(v, now) > SY_RATE_WINDOW_S;
            if (!old)
                break;
            if (atomic_compare_exchange_weak(&r->slot[i], &v, 0)) {
                atomic_fetch_sub(&r->total, slot_amt(v));
                break;
            }
        }
    }
}

static void sweep(sy_ctr_rate_t *r, uint64_t now, bool force)
{
    if (force) {
        sweep_slots(r, now, false);
        return;
    }
    uint64_t last = atomic_load_explicit(&r->swept, memory_order_acquire);
    if (last >= now || !atomic_compare_exchange_strong(&r->swept, &last, now))
        return; /* swept this second already, or another thread sweeps it */
    sweep_slots(r, now, now > last + SY_RATE_WINDOW_S);
}

/* When enough of what the window holds will have left for `need` more to
 * fit: the end of the second whose expiry frees it. */
static uint64_t rate_retry_ms(sy_ctr_rate_t *r, uint64_t need, uint64_t now_ms)
{
    uint64_t now = now_ms / 1000, acc = 0;
    for (uint64_t s = now - SY_RATE_WINDOW_S; s <= now; s++) {
        uint64_t v = atomic_load_explicit(&r->slot[s % SY_RATE_SLOTS], memory_order_relaxed);
        if (v && slot_tag(v) == (s & TAG_MASK))
            acc += slot_amt(v);
        if (acc >= need)
            return (s + SY_RATE_WINDOW_S + 1) * 1000 - now_ms;
    }
    return 1000 - now_ms % 1000; /* nothing visible yet: a sweep is due next second */
}

uint64_t sy_ctr_rate_current(sy_ctr_rate_t *r, uint64_t now_ms, uint64_t *reset_ms)
{
    uint64_t now = now_ms / 1000, newest = 0, sum = 0;
    bool any = false;
    for (uint64_t s = now - SY_RATE_WINDOW_S; s <= now; s++) {
        uint64_t v = atomic_load_explicit(&r->slot[s % SY_RATE_SLOTS], memory_order_relaxed);
        if (v && slot_tag(v) == (s & TAG_MASK) && slot_amt(v)) {
            sum += slot_amt(v);
            newest = s;
            any = true;
        }
    }
    if (reset_ms)
        *reset_ms = any ? (newest + SY_RATE_WINDOW_S + 1) * 1000 - now_ms : 0;
    uint64_t total = atomic_load_explicit(&r->total, memory_order_relaxed);
    return total > sum ? total : sum;
}

int sy_ctr_rate_reserve(sy_ctr_rate_t *r, uint64_t limit, uint64_t amount, uint64_t now_ms,
                        uint64_t *at, uint64_t *used, uint64_t *retry_after_ms)
{
    uint64_t now = now_ms / 1000;
    sweep(r, now, false);
    if (amount > limit) {
        *used = atomic_load(&r->total);
        *retry_after_ms = 0;
        return SY_ETOOBIG;
    }
    for (int pass = 0;; pass++) {
        uint64_t t = atomic_load(&r->total);
        while (t + amount <= limit) {
            if (atomic_compare_exchange_weak(&r->total, &t, t + amount))
                goto taken;
        }
        if (pass == 0) {
            /* Perhaps a sweep of this second is still running on another
             * thread: do one ourselves before refusing. */
            sweep(r, now, true);
            continue;
        }
        *used = t;
        *retry_after_ms = rate_retry_ms(r, t + amount - limit, now_ms);
        return SY_ERR;
    }
taken:;
    _Atomic uint64_t *slot = &r->slot[now % SY_RATE_SLOTS];
    uint64_t v = atomic_load(slot), expired;
    for (;;) {
        uint64_t nv;
        expired = 0;
        if (v && slot_tag(v) == (now & TAG_MASK)) {
            nv = slot_make(now, slot_amt(v) + amount);
        } else {
            expired = slot_amt(v); /* the slot's last use was 61 seconds ago or more */
            nv = slot_make(now, amount);
        }
        if (atomic_compare_exchange_weak(slot, &v, nv))
            break;
    }
    if (expired)
        atomic_fetch_sub(&r->total, expired);
    *at = now;
    *used = atomic_load(&r->total);
    return SY_OK;
}

void sy_ctr_rate_settle(sy_ctr_rate_t *r, uint64_t at, uint64_t reserved, uint64_t used,
                        uint64_t now_ms)
{
    if (used == reserved || (now_ms / 1000) > at + SY_RATE_WINDOW_S)
        return; /* nothing to change, or it has left the window already */
    _Atomic uint64_t *slot = &r->slot[at % SY_RATE_SLOTS];
    if (used > reserved) {
        /* The total first, so no instant undercounts. */
        uint64_t more = used - reserved;
        atomic_fetch_add(&r->total, more);
        uint64_t v = atomic_load(slot);
        for (;;) {
            if (!v || slot_tag(v) != (at & TAG_MASK)) {
                atomic_fetch_sub(&r->total, more); /* swept meanwhile */
                return;
            }
            if (atomic_compare_exchange_weak(slot, &v, slot_make(at, slot_amt(v) + more)))
                return;
        }
    }
    uint64_t less = reserved - used;
    uint64_t v = atomic_load(slot);
    for (;;) {
        if (!v || slot_tag(v) != (at & TAG_MASK))
            return;
        uint64_t give = slot_amt(v) < less ? slot_amt(v) : less;
        if (atomic_compare_exchange_weak(slot, &v, slot_make(at, slot_amt(v) - give))) {
            atomic_fetch_sub(&r->total, give);
            return;
        }
    }
}

/* ---- budget windows ---- */

#define BUSY (1ull << 63)

/* The slot of window idx, reset to `seed` if it still holds an older
 * window. Returns its index. */
static int budget_slot(sy_ctr_budget_t *b, uint64_t idx, uint64_t seed)
{
    int s = (int)(idx & 1u);
    uint64_t want = idx + 1;
    for (;;) {
        uint64_t tag = atomic_load(&b->tag[s]);
        if (tag == want)
            return s;
        if (tag & BUSY) {
            continue; /* another thread is resetting it: a few instructions */
        }
        if (tag > want)
            return -1; /* the slot has moved two windows past ours: too late */
        if (atomic_compare_exchange_strong(&b->tag[s], &tag, want | BUSY)) {
            atomic_store(&b->used[s], seed);
            atomic_store(&b->tag[s], want);
            return s;
        }
    }
}

int sy_ctr_budget_reserve(sy_ctr_budget_t *b, uint64_t idx, uint64_t seed, uint64_t limit,
                          uint64_t amount, uint64_t *used)
{
    int s = budget_slot(b, idx, seed);
    if (s < 0) {
        *used = 0;
        return SY_ERR;
    }
    uint64_t u = atomic_load(&b->used[s]);
    for (;;) {
        if (u > limit || amount > limit - u) {
            *used = u;
            return SY_ERR;
        }
        if (atomic_compare_exchange_weak(&b->used[s], &u, u + amount)) {
            *used = u + amount;
            return SY_OK;
        }
    }
}

void sy_ctr_budget_settle(sy_ctr_budget_t *b, uint64_t idx, uint64_t reserved, uint64_t used)
{
    int s = (int)(idx & 1u);
    if (atomic_load(&b->tag[s]) != idx + 1 || used == reserved)
        return; /* that window is over: its counter no longer matters */
    if (used > reserved) {
        atomic_fetch_add(&b->used[s], used - reserved);
        return;
    }
    uint64_t less = reserved - used, u = atomic_load(&b->used[s]);
    while (!atomic_compare_exchange_weak(&b->used[s], &u, u > less ? u - less : 0))
        ;
}

uint64_t sy_ctr_budget_current(sy_ctr_budget_t *b, uint64_t idx, bool *known)
{
    int s = (int)(idx & 1u);
    bool k = atomic_load(&b->tag[s]) == idx + 1;
    if (known)
        *known = k;
    return k ? atomic_load(&b->used[s]) : 0;
}

/* ---- batches ---- */

static uint64_t seed_for(sy_ctr_state_t *st, sy_window_t w, uint64_t idx)
{
    return atomic_load(&st->seed_idx[w]) == idx ? atomic_load(&st->seed[w]) : 0;
}

static void release(sy_ctr_batch_t *b, size_t upto, uint64_t now_ms)
{
    for (size_t i = 0; i < upto; i++)
        sy_ctr_local_settle(b, i, 0, now_ms);
}

void sy_ctr_local_reserve(sy_ctr_batch_t *b, uint64_t now_ms)
{
    b->result = SY_CTR_OK;
    b->failed = -1;
    b->retry_after_ms = 0;
    b->now_ms = now_ms;
    b->local = true;
    uint64_t sec = now_ms / 1000;
    for (size_t i = 0; i < b->n; i++) {
        sy_ctr_op_t *o = &b->ops[i];
        o->taken = false;
        int rc;
        uint64_t retry = 0;
        if (o->kind == SY_CTR_BUDGET) {
            sy_window_t w = (sy_window_t)o->window;
            o->at = sy_window_index(w, sec);
            rc = sy_ctr_budget_reserve(&o->st->budget[w], o->at, seed_for(o->st, w, o->at),
                                       o->limit, o->amount, &o->used);
            uint64_t end = sy_window_end(w, o->at);
            o->reset_ms = end == UINT64_MAX ? 0 : end * 1000 - now_ms;
            if (rc != SY_OK) {
                b->result = o->amount > o->limit ? SY_CTR_TOO_LARGE : SY_CTR_REFUSED;
                retry = o->reset_ms;
            }
        } else {
            sy_ctr_rate_t *r = o->kind == SY_CTR_RPM ? &o->st->rpm : &o->st->tpm;
            rc = sy_ctr_rate_reserve(r, o->limit, o->amount, now_ms, &o->at, &o->used, &retry);
            if (rc == SY_ETOOBIG)
                b->result = SY_CTR_TOO_LARGE;
            else if (rc != SY_OK)
                b->result = SY_CTR_REFUSED;
            if (rc == SY_OK)
                sy_ctr_rate_current(r, now_ms, &o->reset_ms);
        }
        if (rc != SY_OK) {
            b->failed = (int)i;
            b->retry_after_ms = retry;
            release(b, i, now_ms);
            return;
        }
        o->taken = true;
    }
}

void sy_ctr_local_settle(sy_ctr_batch_t *b, size_t i, uint64_t used, uint64_t now_ms)
{
    sy_ctr_op_t *o = &b->ops[i];
    if (!o->taken)
        return;
    o->taken = false;
    if (o->kind == SY_CTR_BUDGET)
        sy_ctr_budget_settle(&o->st->budget[o->window], o->at, o->amount, used);
    else
        sy_ctr_rate_settle(o->kind == SY_CTR_RPM ? &o->st->rpm : &o->st->tpm, o->at, o->amount,
                           used, now_ms);
}
