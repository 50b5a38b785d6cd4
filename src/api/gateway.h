/*
 * gateway.h - the gateway application: routes requests to their endpoint.
 *
 * This is what `switchyard serve` runs in each worker. Endpoints so far:
 *   GET /health    200 {"status":"ok", ...}
 *   anything else  404 (or 405 for a known path with the wrong method),
 *                  as a JSON error.
 */
#ifndef SY_API_GATEWAY_H
#define SY_API_GATEWAY_H

#include "http/server.h"

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
} sy_gateway_worker_t;

void *sy_gateway_worker_init(void *gw, int worker_id, sy_loop_t *loop);
void sy_gateway_worker_fini(void *gw, void *wctx);
void sy_gateway_handle(sy_http_req_t *req, void *ctx);

#endif
