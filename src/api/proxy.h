/*
 * proxy.h - one request through the data path: front door -> deployment ->
 * adapter -> upstream -> adapter -> front door, with accounting.
 */
#ifndef SY_API_PROXY_H
#define SY_API_PROXY_H

#include "api/frontdoor.h"
#include "api/gateway.h"
#include "config/config.h"
#include "harness/gov.h"

/* Serve a chat request in the format of `fd` (OpenAI chat completions or
 * Anthropic messages). Takes a reference on cfg for the request's life.
 * `gov` is the caller's principal from sy_gov_auth (harness/gov.h). */
void sy_proxy_chat(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg,
                   const sy_frontdoor_vt_t *fd, sy_gov_req_t *gov);
/* POST /v1/embeddings (OpenAI-kind deployments only). */
void sy_proxy_embeddings(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg,
                         sy_gov_req_t *gov);

/* The router's plan for a request to `model` without calling anyone: the
 * candidates, why each was kept or dropped, and the ranking, as JSON (GET
 * /admin/routes/explain) or text (`switchyard route explain`). `ir` may be
 * NULL (a request that needs nothing special); `headers` carry the
 * x-switchyard-* constraints; `residency` (may be NULL) the jurisdictions
 * a principal's rules allow (harness/residency.h). Returns SY_OK, SY_ENOTFOUND (no such model)
 * or SY_EINVAL (a malformed constraint header), with a message in err. */
int sy_proxy_explain(sy_arena_t *a, const sy_config_t *cfg, sy_str_t model,
                     const sy_ir_request_t *ir, const sy_http_header_t *headers, size_t nheaders,
                     const sy_residency_t *residency, bool json, sy_buf_t *out, char *err,
                     size_t errsz);

/* Write the request id ("req_" + 24 hex digits) for a new request. */
void sy_proxy_request_id(sy_gateway_worker_t *w, char out[32]);

#endif
