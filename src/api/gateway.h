/*
 * gateway.h - the gateway application: routes requests to their endpoint.
 *
 * This is what `switchyard serve` runs in each worker:
 *   POST /v1/chat/completions      OpenAI front door (api/proxy.c)
 *   POST /v1/messages              Anthropic front door
 *   POST /v1/messages/count_tokens an estimate, Anthropic's shape
 *   POST /v1/embeddings            OpenAI embeddings (OpenAI-kind providers)
 *   GET  /v1/models[/{id}]         the model names this key may use
 *   GET  /metrics                  Prometheus text format
 *   GET  /health                   200 {"status":"ok", ...}
 *   anything else                  404 (405 for a known path, wrong method)
 */
#ifndef SY_API_GATEWAY_H
#define SY_API_GATEWAY_H

#include "http/client.h"
#include "http/server.h"
#include "obs/access.h"
#include "obs/metrics.h"

/* Process-wide gateway state shared by the workers (read-only after start). */
typedef struct {
    const char *version;
    uint64_t started_ms; /* wall clock */
} sy_gateway_t;

/* Per-worker state: the handler's ctx. */
typedef struct {
    sy_gateway_t *gw;
    int worker_id;
    sy_loop_t *loop;
    sy_http_client_t *client;  /* upstream connections of this worker */
    sy_metrics_shard_t *metrics;
    sy_access_log_t access;
    uint64_t id_prefix; /* random per worker and start, for request ids */
    uint64_t id_seq;
} sy_gateway_worker_t;

void *sy_gateway_worker_init(void *gw, int worker_id, sy_loop_t *loop);
void sy_gateway_worker_fini(void *gw, void *wctx);
void sy_gateway_handle(sy_http_req_t *req, void *ctx);
/* Errors found by the HTTP layer (413, 408, 400), in the format of the API
 * the path belongs to: Anthropic's on /v1/messages, OpenAI's on other /v1/. */
void sy_gateway_error(sy_http_req_t *req, void *ctx, int status, const char *message);

#endif
