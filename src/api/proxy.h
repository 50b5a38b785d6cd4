/*
 * proxy.h - one request through the data path: front door -> deployment ->
 * adapter -> upstream -> adapter -> front door, with accounting.
 */
#ifndef SY_API_PROXY_H
#define SY_API_PROXY_H

#include "api/frontdoor.h"
#include "api/gateway.h"
#include "config/config.h"

/* Serve a chat request in the format of `fd` (OpenAI chat completions or
 * Anthropic messages). Takes a reference on cfg for the request's life. */
void sy_proxy_chat(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg,
                   const sy_frontdoor_vt_t *fd);
/* POST /v1/embeddings (OpenAI-kind deployments only). */
void sy_proxy_embeddings(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg);

/* Write the request id ("req_" + 24 hex digits) for a new request. */
void sy_proxy_request_id(sy_gateway_worker_t *w, char out[32]);

#endif
