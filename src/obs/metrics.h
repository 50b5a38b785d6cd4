/*
 * metrics.h - Prometheus metrics without locks on the request path.
 *
 * Each worker owns a shard: a fixed array of series that only that worker
 * writes (plain relaxed stores, no atomic read-modify-write), and that a
 * scrape reads from any thread. A series is found by its label tuple in the
 * worker's own hash map and appended (never moved or freed) the first time
 * it is seen; the append is published with a release store of the count, so
 * a concurrent scrape sees either the whole series or none of it. A scrape
 * adds the shards up.
 *
 * Families (all prefixed switchyard_):
 *   requests_total{frontdoor,provider,model,status}        counter
 *   request_duration_seconds{frontdoor}                    histogram (client-observed)
 *   gateway_overhead_seconds{frontdoor}                     histogram (total minus upstream)
 *   upstream_latency_seconds{provider}                      histogram (request sent -> last byte)
 *   time_to_first_token_seconds{provider}                   histogram (streams)
 *   tokens_total{provider,model,direction}                  counter (input/output/cached_input/reasoning)
 *   cost_usd_total{provider,model}                          counter
 *   upstream_errors_total{provider,class}                   counter
 *   route_retries_total{model,deployment,reason}            counter (same deployment again)
 *   route_fallbacks_total{model,deployment,reason}          counter (left this deployment)
 *   route_skips_total{model,deployment,reason}              counter (not tried: circuit, limits)
 *   route_unroutable_total{model,reason}                    counter (no deployment could serve)
 *   route_hedges_total{model,winner}                        counter (hedged calls: primary/hedge/none)
 *   (router gauges: router/router.h sy_route_metrics_render)
 *   connections_open                                        gauge
 */
#ifndef SY_OBS_METRICS_H
#define SY_OBS_METRICS_H

#include <stdatomic.h>

#include "core/buf.h"
#include "core/str.h"

#define SY_METRICS_MAX_SERIES 4096 /* per worker; further label sets go to an overflow series */
#define SY_METRICS_MAX_WORKERS 256
#define SY_METRICS_BUCKETS 16

typedef enum {
    SY_M_REQUESTS = 0,
    SY_M_REQUEST_DURATION,
    SY_M_OVERHEAD,
    SY_M_UPSTREAM_LATENCY,
    SY_M_TTFT,
    SY_M_TOKENS,
    SY_M_COST,
    SY_M_UPSTREAM_ERRORS,
    SY_M_ROUTE_RETRIES,    /* {model, deployment, reason} */
    SY_M_ROUTE_FALLBACKS,  /* {model, deployment, reason} */
    SY_M_ROUTE_SKIPS,      /* {model, deployment, reason} */
    SY_M_ROUTE_UNROUTABLE, /* {model, reason} */
    SY_M_ROUTE_HEDGES,     /* {model, winner} */
    SY_M__COUNT
} sy_metric_family_t;

typedef struct sy_metrics_shard sy_metrics_shard_t;

/* Create the shard of worker `id` (called on the worker's thread). */
sy_metrics_shard_t *sy_metrics_shard(int id);
/* Counters: add `v` to the series of `fam` whose label values are l1..l4 in
 * the family's label order (unused labels: SY_STR_NULL). */
void sy_metrics_add(sy_metrics_shard_t *s, sy_metric_family_t fam, uint64_t v, sy_str_t l1,
                    sy_str_t l2, sy_str_t l3, sy_str_t l4);
/* Histograms: observe a duration in nanoseconds. */
void sy_metrics_observe(sy_metrics_shard_t *s, sy_metric_family_t fam, uint64_t ns, sy_str_t l1);
/* Cost counters are kept in pico-dollars and shown in dollars. */
void sy_metrics_cost(sy_metrics_shard_t *s, uint64_t pico, sy_str_t provider, sy_str_t model);
/* A finished request, as finish() records it: requests_total{frontdoor,
 * provider, model, status}, the front door's duration and overhead and,
 * when a deployment answered (`has_dep`), its provider's upstream latency and
 * time to first token, the tokens of each direction present and the cost,
 * labelled with the deployment's model. */
enum { SY_MTOK_INPUT, SY_MTOK_OUTPUT, SY_MTOK_CACHED_INPUT, SY_MTOK_REASONING, SY_MTOK__COUNT };
typedef struct {
    sy_str_t frontdoor, provider, model;
    int status; /* the label; below 0 is shown as 0 */
    uint64_t total_ns, overhead_ns;
    bool has_dep;
    sy_str_t dep_model;
    uint64_t upstream_ns; /* 0: no upstream time */
    bool has_ttft;
    uint64_t ttft_ns;
    uint64_t tokens[SY_MTOK__COUNT];
    bool has_tokens[SY_MTOK__COUNT];
    bool priced;
    uint64_t cost_pico;
} sy_metrics_request_t;
/* Record one request. The series of a label tuple are looked up once and
 * kept in a small per-shard cache (the same series, in the same order, as
 * the equivalent sy_metrics_add/observe/cost calls would make). */
void sy_metrics_request(sy_metrics_shard_t *s, const sy_metrics_request_t *r);
/* The open-connections gauge (process-wide, atomic: changes per connection, not per request). */
void sy_metrics_conn_delta(int delta);

/* Render every family in Prometheus text format (version 0.0.4). */
void sy_metrics_render(sy_buf_t *out);

#endif
