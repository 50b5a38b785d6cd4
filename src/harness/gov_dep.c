/*
 * gov_dep.c - deployment RPM/TPM limits shared through Redis (gov.h).
 *
 * A deployment's limits are counters like a principal's: the state is found
 * by the id "d:<provider>/<model>" (the router's identity of the deployment,
 * so a reload keeps counting the same windows), and a reservation is one
 * batch of at most two rate ops run by the reserve script of
 * counters_redis.c. What differs from a principal's batch is what a refusal
 * means: not an answer to the client but a reason for the router to skip
 * this deployment and try the next one; and what was heard is remembered in
 * the router's state (sy_route_counters_heard), so the planner skips a
 * deployment Redis just called full without asking again until it has room.
 */
#include <stdio.h>
#include <string.h>

#include "core/time.h"
#include "harness/gov_int.h"
#include "router/state.h"

struct sy_gov_dep {
    struct sy_route_state *s;
    sy_ctr_batch_t batch;
    sy_redis_op_t *op; /* waiting for Redis */
    gov_worker_t *w;
    sy_gov_dep_cb cb;
    void *ctx;
    sy_gov_dep_outcome_t out;
    bool in_call;  /* inside sy_redis_reserve: a reply now is a synchronous one */
    bool decided;
    bool taken;    /* the batch holds Redis reservations */
    sy_rate_resv_t lrpm, ltpm; /* fail open: this instance's windows */
    bool settled;
};

bool sy_gov_dep_shared(void)
{
    gov_t *g = atomic_load(&sy_gov_g);
    return g && g->redis;
}

/* Fail open: count the attempt in this instance's own windows. */
static void reserve_local(sy_gov_dep_t *d, uint64_t now_ms)
{
    const sy_route_counters_vt_t *ctr = &sy_route_counters_local;
    for (size_t i = 0; i < d->batch.n; i++) {
        const sy_ctr_op_t *o = &d->batch.ops[i];
        sy_rate_kind_t k = o->kind == SY_CTR_RPM ? SY_RATE_RPM : SY_RATE_TPM;
        sy_rate_resv_t *r = k == SY_RATE_RPM ? &d->lrpm : &d->ltpm;
        if (ctr->reserve(d->s, k, o->limit, o->amount, now_ms, r) != SY_OK) {
            ctr->settle(&d->lrpm, 0);
            ctr->settle(&d->ltpm, 0);
            d->out.result = SY_GOV_DEP_REFUSED;
            d->out.kind = k;
            d->out.limit = o->limit;
            d->out.used = ctr->current(d->s, k, now_ms);
            d->out.retry_after_ms = SY_RATE_WINDOW_MS - now_ms % SY_RATE_WINDOW_MS;
            return;
        }
    }
    d->out.result = SY_GOV_DEP_OK;
}

static void decide(sy_gov_dep_t *d, const sy_ctr_batch_t *b)
{
    uint64_t now = sy_now_ms();
    memset(&d->out, 0, sizeof(d->out));
    if (b->result == SY_CTR_UNAVAILABLE) {
        gov_t *g = atomic_load(&sy_gov_g);
        atomic_fetch_add(&sy_gov_stats.counters_unavailable, 1);
        if (g && g->cfg.counters_failure == SY_CONFIG_COUNTERS_FAIL_OPEN) {
            atomic_fetch_add(&sy_gov_stats.counters_fail_open, 1);
            reserve_local(d, sy_wall_ms());
        } else {
            d->out.result = SY_GOV_DEP_UNAVAILABLE;
        }
        return;
    }
    if (b->result == SY_CTR_OK) {
        d->taken = true;
        d->out.result = SY_GOV_DEP_OK;
        for (size_t i = 0; i < b->n; i++)
            sy_route_counters_heard(d->s, b->ops[i].kind == SY_CTR_RPM ? SY_RATE_RPM : SY_RATE_TPM,
                                    0, 0);
        return;
    }
    const sy_ctr_op_t *o = &b->ops[b->failed >= 0 ? b->failed : 0];
    d->out.result = SY_GOV_DEP_REFUSED;
    d->out.kind = o->kind == SY_CTR_RPM ? SY_RATE_RPM : SY_RATE_TPM;
    d->out.limit = o->limit;
    d->out.used = o->used;
    if (b->result == SY_CTR_REFUSED) {
        d->out.retry_after_ms = b->retry_after_ms ? b->retry_after_ms : 1000;
        /* Redis's own clock said when room comes back; this instance's
         * clock only measures the wait from now. */
        sy_route_counters_heard(d->s, d->out.kind, now + d->out.retry_after_ms, o->used);
    }
}

static void redis_done(void *ctx, sy_ctr_batch_t *b)
{
    sy_gov_dep_t *d = ctx;
    d->op = NULL;
    decide(d, b);
    d->decided = true;
    if (!d->in_call)
        d->cb(d->ctx, &d->out);
}

int sy_gov_dep_reserve(sy_arena_t *a, struct sy_route_state *s, uint64_t rpm, uint64_t tpm,
                       uint64_t tokens, sy_gov_dep_cb cb, void *ctx, sy_gov_dep_t **out,
                       sy_gov_dep_outcome_t *now)
{
    sy_gov_dep_t *d = sy_arena_calloc(a, sizeof(*d));
    *out = d;
    d->s = s;
    d->cb = cb;
    d->ctx = ctx;
    d->w = sy_gov_worker();
    char id[300];
    int n = snprintf(id, sizeof(id), "d:%.*s", (int)SY_MIN(s->label.len, (size_t)280), s->label.p);
    sy_ctr_state_t *st = sy_ctr_state_get(sy_str(id, (size_t)SY_MIN(n, (int)sizeof(id) - 1)));
    sy_ctr_batch_t *b = &d->batch;
    b->failed = -1;
    if (st && rpm)
        sy_ctr_add(b, SY_CTR_RPM, SY_SCOPE_KEY, SY_WINDOW_TOTAL, st, rpm, 1);
    if (st && tpm)
        sy_ctr_add(b, SY_CTR_TPM, SY_SCOPE_KEY, SY_WINDOW_TOTAL, st, tpm, tokens);
    static _Atomic uint64_t seq;
    snprintf(b->id, sizeof(b->id), "d%llx.%llx",
             (unsigned long long)(sy_now_ns() ^ (uint64_t)(uintptr_t)d->w),
             (unsigned long long)atomic_fetch_add(&seq, 1));
    if (b->n == 0 || d->w == NULL || d->w->redis == NULL) {
        /* No shared state to ask (the counter table is full, or this is not
         * a worker): the limit is counted here. */
        reserve_local(d, sy_wall_ms());
        d->decided = true;
        *now = d->out;
        return SY_OK;
    }
    d->in_call = true;
    d->op = sy_redis_reserve(d->w->redis, b, sy_wall_ms(), redis_done, d);
    d->in_call = false;
    if (d->decided) {
        *now = d->out;
        return SY_OK;
    }
    return SY_EAGAIN;
}

void sy_gov_dep_settle(sy_gov_dep_t *d, uint64_t requests, uint64_t tokens)
{
    if (d == NULL || d->settled)
        return;
    d->settled = true;
    if (d->op) {
        sy_redis_cancel(d->op); /* its reply gives back what it took */
        d->op = NULL;
    }
    const sy_route_counters_vt_t *ctr = &sy_route_counters_local;
    ctr->settle(&d->lrpm, requests);
    ctr->settle(&d->ltpm, tokens);
    if (!d->taken)
        return;
    d->taken = false;
    uint64_t used[SY_CTR_MAX_OPS];
    for (size_t i = 0; i < d->batch.n; i++)
        used[i] = d->batch.ops[i].kind == SY_CTR_RPM ? requests : tokens;
    gov_worker_t *w = sy_gov_worker();
    if (w && w->redis)
        sy_redis_settle(w->redis, &d->batch, used);
}
