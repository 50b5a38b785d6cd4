/*
 * metrics.c - per-worker metric shards and their Prometheus rendering.
 */
#include "obs/metrics.h"

#include <stdio.h>
#include <string.h>

#include "core/fmt.h"
#include "router/catalog.h"

typedef struct {
    const char *name;
    const char *help;
    const char *type; /* "counter" or "histogram" */
    const char *labels[4];
    bool cost;
} family_t;

static const family_t families[SY_M__COUNT] = {
    [SY_M_REQUESTS] = {"switchyard_requests_total", "Requests answered, by front door, provider, model and HTTP status.", "counter", {"frontdoor", "provider", "model", "status"}, false},
    [SY_M_REQUEST_DURATION] = {"switchyard_request_duration_seconds", "Time from a complete request to the end of its response, as the client sees it.", "histogram", {"frontdoor", NULL, NULL, NULL}, false},
    [SY_M_OVERHEAD] = {"switchyard_gateway_overhead_seconds", "Time spent in the gateway: request duration minus upstream time.", "histogram", {"frontdoor", NULL, NULL, NULL}, false},
    [SY_M_UPSTREAM_LATENCY] = {"switchyard_upstream_latency_seconds", "Time from sending a request upstream to the end of its response.", "histogram", {"provider", NULL, NULL, NULL}, false},
    [SY_M_TTFT] = {"switchyard_time_to_first_token_seconds", "Time from a complete request to the first streamed token sent to the client.", "histogram", {"provider", NULL, NULL, NULL}, false},
    [SY_M_TOKENS] = {"switchyard_tokens_total", "Tokens accounted from provider usage, by direction.", "counter", {"provider", "model", "direction", NULL}, false},
    [SY_M_COST] = {"switchyard_cost_usd_total", "Cost in USD from provider usage and catalogue prices.", "counter", {"provider", "model", NULL, NULL}, true},
    [SY_M_UPSTREAM_ERRORS] = {"switchyard_upstream_errors_total", "Failed upstream attempts, by error class.", "counter", {"provider", "class", NULL, NULL}, false},
    [SY_M_ROUTE_RETRIES] = {"switchyard_route_retries_total", "Attempts retried on the same deployment, by the error that caused it.", "counter", {"model", "deployment", "reason", NULL}, false},
    [SY_M_ROUTE_FALLBACKS] = {"switchyard_route_fallbacks_total", "Requests that left a deployment for the next one, by the error that caused it.", "counter", {"model", "deployment", "reason", NULL}, false},
    [SY_M_ROUTE_SKIPS] = {"switchyard_route_skips_total", "Deployments of a plan not tried when their turn came (circuit open, RPM/TPM limit, context too small).", "counter", {"model", "deployment", "reason", NULL}, false},
    [SY_M_ROUTE_UNROUTABLE] = {"switchyard_route_unroutable_total", "Requests no deployment could serve, by the first unmet constraint.", "counter", {"model", "reason", NULL, NULL}, false},
    [SY_M_ROUTE_HEDGES] = {"switchyard_route_hedges_total", "Hedged requests (a second deployment asked after the hedge delay), by which answered.", "counter", {"model", "winner", NULL, NULL}, false},
};

/* Bucket upper bounds in nanoseconds: 100us .. 60s. */
static const uint64_t bounds_ns[SY_METRICS_BUCKETS] = {
    100000,    250000,    500000,     1000000,    2500000,    5000000,     10000000,   25000000,
    50000000,  100000000, 250000000,  500000000,  1000000000, 5000000000,  30000000000, 60000000000};

#define LABEL_MAX 96

typedef struct {
    sy_metric_family_t fam;
    char labels[4][LABEL_MAX];
    uint8_t lens[4];
    _Atomic uint64_t value; /* counter value, or histogram sum (ns) */
    _Atomic uint64_t count; /* histogram observation count */
    _Atomic uint64_t buckets[SY_METRICS_BUCKETS];
} series_t;

/* The index: open addressing over series numbers (+1; 0 is empty), twice
 * as many slots as series so probes stay short. A label tuple is hashed a
 * word at a time and compared with the series' own copy of its labels, so
 * a request's lookups neither build a key nor allocate. */
#define INDEX_SLOTS (2 * SY_METRICS_MAX_SERIES)
#define RECENT 4

/* What sy_metrics_request resolved for one label tuple (front door,
 * provider, model, deployment model, status): the series of every family a
 * request records, each found on first use (NULL until then, and again while
 * the shard is full, so every lost increment is still counted). */
enum { RQ_REQUESTS, RQ_DURATION, RQ_OVERHEAD, RQ_UPSTREAM, RQ_TTFT, RQ_TOKENS, RQ_COST = RQ_TOKENS + SY_MTOK__COUNT, RQ__COUNT };
#define RQ_CACHE 8

typedef struct {
    bool used;
    int status;
    char labels[4][LABEL_MAX]; /* frontdoor, provider, model, deployment model; as stored */
    uint8_t lens[4];
    series_t *se[RQ__COUNT];
} rq_entry_t;

struct sy_metrics_shard {
    uint32_t index[INDEX_SLOTS];
    rq_entry_t rq[RQ_CACHE]; /* worker only */
    unsigned rq_next;        /* the entry replaced next */
    /* The series of each family found last (+1; 0 is none), most recent
     * first, tried before the index: a worker's requests mostly repeat
     * their label tuples (a request adds up to four token directions), and
     * comparing labels costs a fraction of hashing them. Read and written
     * by the worker only. */
    uint32_t recent[SY_M__COUNT][RECENT];
    series_t *series;
    _Atomic size_t n;
};

static sy_metrics_shard_t *_Atomic shards[SY_METRICS_MAX_WORKERS];
static _Atomic long g_conns;
static _Atomic uint64_t g_dropped; /* increments lost to a full shard */

sy_metrics_shard_t *sy_metrics_shard(int id)
{
    if (id < 0 || id >= SY_METRICS_MAX_WORKERS)
        sy_panic("metrics: worker id %d out of range", id);
    sy_metrics_shard_t *s = atomic_load(&shards[id]);
    if (s)
        return s;
    s = sy_calloc(1, sizeof(*s));
    s->series = sy_calloc(SY_METRICS_MAX_SERIES, sizeof(series_t));
    atomic_store(&shards[id], s);
    return s;
}

/* Single writer: a relaxed load and store, not an atomic add. */
static inline void bump(_Atomic uint64_t *c, uint64_t v)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v, memory_order_relaxed);
}

static inline uint64_t mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 32);
}

/* Labels as stored: cut to LABEL_MAX - 1 bytes; a missing one is "". */
static inline sy_str_t label_of(sy_str_t l)
{
    return l.p ? sy_str(l.p, SY_MIN(l.len, (size_t)LABEL_MAX - 1)) : sy_str("", 0);
}

static uint64_t labels_hash(sy_metric_family_t fam, const sy_str_t ls[4])
{
    uint64_t h = mix(0x243f6a8885a308d3ULL, (uint64_t)fam);
    for (int i = 0; i < 4; i++) {
        const char *p = ls[i].p;
        size_t n = ls[i].len;
        h = mix(h, n);
        for (; n >= 8; p += 8, n -= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            h = mix(h, w);
        }
        if (n && ls[i].len >= 8) { /* the last 8 bytes, overlapping */
            uint64_t w;
            memcpy(&w, ls[i].p + ls[i].len - 8, 8);
            h = mix(h, w);
        } else if (n) {
            uint64_t w = 0;
            for (size_t k = 0; k < n; k++)
                w = (w << 8) | (unsigned char)p[k];
            h = mix(h, w);
        }
    }
    return h;
}

/* Labels are short (names, a status): compared inline, a word at a time,
 * instead of a memcmp call each. */
static inline uint64_t word_at(const char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

static inline bool same_bytes(const char *a, const char *b, size_t n)
{
    if (n < 8) {
        for (size_t k = 0; k < n; k++)
            if (a[k] != b[k])
                return false;
        return true;
    }
    for (size_t k = 0; k + 8 < n; k += 8)
        if (word_at(a + k) != word_at(b + k))
            return false;
    return word_at(a + n - 8) == word_at(b + n - 8); /* the tail, overlapping */
}

static inline bool series_is(const series_t *se, sy_metric_family_t fam, const sy_str_t ls[4])
{
    if (se->fam != fam)
        return false;
    /* last label first: where tuples of one family differ (status, direction) */
    for (int i = 3; i >= 0; i--)
        if (se->lens[i] != ls[i].len || !same_bytes(se->labels[i], ls[i].p, ls[i].len))
            return false;
    return true;
}

/* Put a series found through the index at the front of its family's recent list. */
static inline void remember(uint32_t *recent, uint32_t at)
{
    memmove(recent + 1, recent, (RECENT - 1) * sizeof(*recent));
    recent[0] = at;
}

static series_t *find(sy_metrics_shard_t *s, sy_metric_family_t fam, sy_str_t l1, sy_str_t l2,
                      sy_str_t l3, sy_str_t l4)
{
    sy_str_t ls[4] = {label_of(l1), label_of(l2), label_of(l3), label_of(l4)};
    uint32_t *recent = s->recent[fam];
    for (int k = 0; k < RECENT && recent[k]; k++)
        if (series_is(&s->series[recent[k] - 1], fam, ls)) {
            uint32_t at = recent[k];
            for (; k > 0; k--) /* to the front */
                recent[k] = recent[k - 1];
            recent[0] = at;
            return &s->series[at - 1];
        }
    size_t i = (size_t)labels_hash(fam, ls) & (INDEX_SLOTS - 1);
    for (;; i = (i + 1) & (INDEX_SLOTS - 1)) {
        uint32_t at = s->index[i];
        if (at == 0)
            break;
        series_t *se = &s->series[at - 1];
        if (series_is(se, fam, ls)) {
            remember(recent, at);
            return se;
        }
    }
    size_t n = atomic_load_explicit(&s->n, memory_order_relaxed);
    if (n == SY_METRICS_MAX_SERIES) {
        /* Too many label sets (a label fed from unbounded input?): count the
         * loss where an operator sees it instead of misattributing it. */
        atomic_fetch_add_explicit(&g_dropped, 1, memory_order_relaxed);
        return NULL;
    }
    series_t *se = &s->series[n];
    se->fam = fam;
    for (int k = 0; k < 4; k++) {
        memcpy(se->labels[k], ls[k].p, ls[k].len);
        se->lens[k] = (uint8_t)ls[k].len;
    }
    s->index[i] = (uint32_t)n + 1;
    remember(recent, (uint32_t)n + 1);
    atomic_store_explicit(&s->n, n + 1, memory_order_release);
    return se;
}

void sy_metrics_add(sy_metrics_shard_t *s, sy_metric_family_t fam, uint64_t v, sy_str_t l1,
                    sy_str_t l2, sy_str_t l3, sy_str_t l4)
{
    series_t *se = find(s, fam, l1, l2, l3, l4);
    if (se)
        bump(&se->value, v);
}

void sy_metrics_cost(sy_metrics_shard_t *s, uint64_t pico, sy_str_t provider, sy_str_t model)
{
    series_t *se = find(s, SY_M_COST, provider, model, SY_STR_NULL, SY_STR_NULL);
    if (se)
        bump(&se->value, pico);
}

static void hist_add(series_t *se, uint64_t ns);

void sy_metrics_observe(sy_metrics_shard_t *s, sy_metric_family_t fam, uint64_t ns, sy_str_t l1)
{
    hist_add(find(s, fam, l1, SY_STR_NULL, SY_STR_NULL, SY_STR_NULL), ns);
}

static const char *const tok_dirs[SY_MTOK__COUNT] = {"input", "output", "cached_input", "reasoning"};

static rq_entry_t *rq_entry(sy_metrics_shard_t *s, const sy_str_t ls[4], int status)
{
    for (int k = 0; k < RQ_CACHE; k++) {
        rq_entry_t *e = &s->rq[k];
        if (!e->used || e->status != status)
            continue;
        int i = 0;
        for (; i < 4; i++)
            if (e->lens[i] != ls[i].len || !same_bytes(e->labels[i], ls[i].p, ls[i].len))
                break;
        if (i == 4)
            return e;
    }
    rq_entry_t *e = &s->rq[s->rq_next];
    s->rq_next = (s->rq_next + 1) % RQ_CACHE;
    memset(e, 0, sizeof(*e));
    e->used = true;
    e->status = status;
    for (int i = 0; i < 4; i++) {
        memcpy(e->labels[i], ls[i].p, ls[i].len);
        e->lens[i] = (uint8_t)ls[i].len;
    }
    return e;
}

/* The entry's series `k`, found (and kept) on first use. */
static inline series_t *rq_series(sy_metrics_shard_t *s, rq_entry_t *e, int k)
{
    if (e->se[k])
        return e->se[k];
    sy_str_t fd = sy_str(e->labels[0], e->lens[0]), prov = sy_str(e->labels[1], e->lens[1]);
    sy_str_t model = sy_str(e->labels[2], e->lens[2]), dmodel = sy_str(e->labels[3], e->lens[3]);
    series_t *se = NULL;
    switch (k) {
    case RQ_REQUESTS: {
        char st[20];
        size_t n = sy_fmt_u64(st, (uint64_t)(e->status > 0 ? e->status : 0));
        se = find(s, SY_M_REQUESTS, fd, prov, model, sy_str(st, n));
        break;
    }
    case RQ_DURATION:
        se = find(s, SY_M_REQUEST_DURATION, fd, SY_STR_NULL, SY_STR_NULL, SY_STR_NULL);
        break;
    case RQ_OVERHEAD:
        se = find(s, SY_M_OVERHEAD, fd, SY_STR_NULL, SY_STR_NULL, SY_STR_NULL);
        break;
    case RQ_UPSTREAM:
        se = find(s, SY_M_UPSTREAM_LATENCY, prov, SY_STR_NULL, SY_STR_NULL, SY_STR_NULL);
        break;
    case RQ_TTFT:
        se = find(s, SY_M_TTFT, prov, SY_STR_NULL, SY_STR_NULL, SY_STR_NULL);
        break;
    case RQ_COST:
        se = find(s, SY_M_COST, prov, dmodel, SY_STR_NULL, SY_STR_NULL);
        break;
    default:
        se = find(s, SY_M_TOKENS, prov, dmodel, sy_str_c(tok_dirs[k - RQ_TOKENS]), SY_STR_NULL);
        break;
    }
    e->se[k] = se;
    return se;
}

static void hist_add(series_t *se, uint64_t ns)
{
    if (se == NULL)
        return;
    bump(&se->value, ns);
    bump(&se->count, 1);
    for (int i = 0; i < SY_METRICS_BUCKETS; i++)
        if (ns <= bounds_ns[i]) {
            bump(&se->buckets[i], 1);
            break;
        }
}

static inline void counter_add(series_t *se, uint64_t v)
{
    if (se)
        bump(&se->value, v);
}

void sy_metrics_request(sy_metrics_shard_t *s, const sy_metrics_request_t *r)
{
    sy_str_t ls[4] = {label_of(r->frontdoor), label_of(r->provider), label_of(r->model),
                      label_of(r->has_dep ? r->dep_model : SY_STR_NULL)};
    rq_entry_t *e = rq_entry(s, ls, r->status);
    counter_add(rq_series(s, e, RQ_REQUESTS), 1);
    hist_add(rq_series(s, e, RQ_DURATION), r->total_ns);
    hist_add(rq_series(s, e, RQ_OVERHEAD), r->overhead_ns);
    if (!r->has_dep)
        return;
    if (r->upstream_ns)
        hist_add(rq_series(s, e, RQ_UPSTREAM), r->upstream_ns);
    if (r->has_ttft)
        hist_add(rq_series(s, e, RQ_TTFT), r->ttft_ns);
    for (int k = 0; k < SY_MTOK__COUNT; k++)
        if (r->has_tokens[k])
            counter_add(rq_series(s, e, RQ_TOKENS + k), r->tokens[k]);
    if (r->priced)
        counter_add(rq_series(s, e, RQ_COST), r->cost_pico);
}

void sy_metrics_conn_delta(int delta) { atomic_fetch_add(&g_conns, delta); }

/* ---- rendering ---- */

static void label_set(sy_buf_t *out, const family_t *f, const series_t *se, const char *extra)
{
    bool any = false;
    sy_buf_append_c(out, "{");
    for (int i = 0; i < 4; i++) {
        if (!f->labels[i])
            continue;
        sy_buf_printf(out, "%s%s=\"", any ? "," : "", f->labels[i]);
        for (size_t k = 0; k < se->lens[i]; k++) {
            char c = se->labels[i][k];
            if (c == '"' || c == '\\')
                sy_buf_append(out, "\\", 1);
            if (c == '\n')
                sy_buf_append_c(out, "\\n");
            else
                sy_buf_append(out, &c, 1);
        }
        sy_buf_append_c(out, "\"");
        any = true;
    }
    if (extra)
        sy_buf_printf(out, "%s%s", any ? "," : "", extra);
    sy_buf_append_c(out, "}");
}

static bool same_labels(const series_t *a, const series_t *b)
{
    for (int i = 0; i < 4; i++)
        if (a->lens[i] != b->lens[i] || memcmp(a->labels[i], b->labels[i], a->lens[i]))
            return false;
    return true;
}

void sy_metrics_render(sy_buf_t *out)
{
    size_t nshards = 0;
    sy_metrics_shard_t *sh[SY_METRICS_MAX_WORKERS];
    size_t counts[SY_METRICS_MAX_WORKERS];
    for (int i = 0; i < SY_METRICS_MAX_WORKERS; i++) {
        sy_metrics_shard_t *s = atomic_load(&shards[i]);
        if (s) {
            counts[nshards] = atomic_load_explicit(&s->n, memory_order_acquire);
            sh[nshards++] = s;
        }
    }
    for (int fam = 0; fam < SY_M__COUNT; fam++) {
        const family_t *f = &families[fam];
        sy_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
        /* Merge equal label sets across shards; the first shard holding one prints it. */
        for (size_t a = 0; a < nshards; a++) {
            for (size_t i = 0; i < counts[a]; i++) {
                const series_t *se = &sh[a]->series[i];
                if ((int)se->fam != fam)
                    continue;
                bool seen = false;
                for (size_t b = 0; b < a && !seen; b++)
                    for (size_t j = 0; j < counts[b] && !seen; j++)
                        seen = (int)sh[b]->series[j].fam == fam && same_labels(&sh[b]->series[j], se);
                if (seen)
                    continue;
                uint64_t value = 0, count = 0, buckets[SY_METRICS_BUCKETS] = {0};
                for (size_t b = a; b < nshards; b++)
                    for (size_t j = 0; j < counts[b]; j++) {
                        const series_t *o = &sh[b]->series[j];
                        if ((int)o->fam != fam || !same_labels(o, se))
                            continue;
                        value += atomic_load_explicit(&o->value, memory_order_relaxed);
                        count += atomic_load_explicit(&o->count, memory_order_relaxed);
                        for (int k = 0; k < SY_METRICS_BUCKETS; k++)
                            buckets[k] += atomic_load_explicit(&o->buckets[k], memory_order_relaxed);
                    }
                if (f->type[0] == 'c') {
                    sy_buf_append_c(out, f->name);
                    label_set(out, f, se, NULL);
                    if (f->cost) {
                        char usd[32];
                        sy_buf_printf(out, " %s\n", sy_cost_format(value, usd));
                    } else {
                        sy_buf_printf(out, " %llu\n", (unsigned long long)value);
                    }
                    continue;
                }
                uint64_t cum = 0;
                for (int k = 0; k < SY_METRICS_BUCKETS; k++) {
                    char le[48];
                    cum += buckets[k];
                    snprintf(le, sizeof(le), "le=\"%g\"", (double)bounds_ns[k] / 1e9);
                    sy_buf_printf(out, "%s_bucket", f->name);
                    label_set(out, f, se, le);
                    sy_buf_printf(out, " %llu\n", (unsigned long long)cum);
                }
                sy_buf_printf(out, "%s_bucket", f->name);
                label_set(out, f, se, "le=\"+Inf\"");
                sy_buf_printf(out, " %llu\n%s_sum", (unsigned long long)count, f->name);
                label_set(out, f, se, NULL);
                sy_buf_printf(out, " %.9f\n%s_count", (double)value / 1e9, f->name);
                label_set(out, f, se, NULL);
                sy_buf_printf(out, " %llu\n", (unsigned long long)count);
            }
        }
    }
    sy_buf_printf(out,
                  "# HELP switchyard_connections_open Client connections open now.\n"
                  "# TYPE switchyard_connections_open gauge\nswitchyard_connections_open %ld\n"
                  "# HELP switchyard_metrics_series_dropped_total Metric increments dropped because a "
                  "worker's series table was full.\n"
                  "# TYPE switchyard_metrics_series_dropped_total counter\n"
                  "switchyard_metrics_series_dropped_total %llu\n",
                  atomic_load(&g_conns), (unsigned long long)atomic_load(&g_dropped));
}
