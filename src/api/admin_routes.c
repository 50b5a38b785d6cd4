/*
 * admin_routes.c - GET /admin/routes/explain: the router's plan for a
 * request, as JSON, without calling any provider.
 *
 *   GET|POST /admin/routes/explain?model=NAME[&format=openai|anthropic]
 *
 * The body, if any, is a chat request in the format named (OpenAI chat
 * completions by default, or Anthropic messages): its tools, images,
 * response format, thinking and size decide what it needs, and its `model`
 * is used when the query names none. The x-switchyard-* constraint headers
 * of this request apply as they would to a real one. The figures shown
 * (circuits, latency, in-flight, limits) are the live ones of this process.
 *
 * Guarded: admin.master_key or a key from `keys` (the answer reveals
 * deployments and their health); ?key=ID applies that key's residency rules.
 */
#include <stdio.h>
#include <string.h>

#include "api/admin.h"
#include "api/auth.h"
#include "api/frontdoors.h"
#include "api/proxy.h"
#include "harness/gov.h"
#include "json/json.h"


static void answer(sy_http_req_t *req, int status, const char *message)
{
    sy_buf_t b;
    sy_buf_init(&b, 8192);
    sy_frontdoor_openai.error_body(status, NULL, NULL, message, &b);
    sy_http_respond(req, status, "application/json", sy_buf_ptr(&b), b.len);
    sy_buf_free(&b);
}

void sy_admin_routes_explain(sy_http_req_t *req, sy_config_t *cfg)
{
    sy_auth_result_t ar = sy_admin_authorised(cfg, req) ? SY_AUTH_OK : sy_auth_check(cfg, req, NULL);
    if (ar != SY_AUTH_OK) {
        answer(req, 401,
               ar == SY_AUTH_MISSING
                   ? "No API key provided. Send it as `Authorization: Bearer KEY` or `x-api-key: KEY`."
                   : "Invalid API key.");
        return;
    }
    sy_arena_t *a = req->arena;
    sy_str_t model = SY_STR(""), format = SY_STR("openai");
    sy_http_query_param(a, req->head.query, "model", &model);
    sy_http_query_param(a, req->head.query, "format", &format);
    const sy_frontdoor_vt_t *fd = NULL;
    if (sy_str_eq_c(format, "openai"))
        fd = &sy_frontdoor_openai;
    else if (sy_str_eq_c(format, "anthropic"))
        fd = &sy_frontdoor_anthropic;
    if (fd == NULL) {
        answer(req, 400, "format: expected openai or anthropic");
        return;
    }
    sy_ir_request_t ir;
    const sy_ir_request_t *irp = NULL;
    if (req->body.len) {
        /* The request as a front door would read it. A body without a
         * model is accepted when the query names one. */
        sy_json_t *root = NULL;
        sy_json_error_t jerr;
        sy_str_t body = req->body;
        if (model.len && sy_json_parse(a, body.p, body.len, NULL, &root, &jerr) == SY_OK &&
            root->type == SY_JSON_OBJECT) {
            sy_json_set(a, root, SY_STR("model"), sy_json_new_str(a, model));
            sy_buf_t nb;
            sy_buf_init(&nb, 0);
            sy_json_serialize(root, &nb, 0);
            body = sy_str_dup(a, sy_buf_str(&nb));
            sy_buf_free(&nb);
        }
        int status = 400;
        const char *message = NULL;
        if (fd->parse(a, body, &ir, &status, &message) != SY_OK) {
            char msg[400];
            snprintf(msg, sizeof(msg), "the request body is not a valid %s request: %s",
                     fd->name, message ? message : "invalid");
            answer(req, status, msg);
            return;
        }
        irp = &ir;
        if (model.len == 0)
            model = ir.model;
    }
    if (model.len == 0) {
        answer(req, 400, "name the model: ?model=NAME, or a request body with a model");
        return;
    }
    /* Data residency: the rules of the key named by ?key=ID (a key id, not
     * the key) for the data classes of x-switchyard-data-class. */
    sy_str_t key_id = SY_STR("");
    sy_http_query_param(a, req->head.query, "key", &key_id);
    const sy_http_header_t *dc =
        sy_http_header_find(req->head.headers, req->head.nheaders, "x-switchyard-data-class");
    sy_residency_t *res = NULL;
    char err[300];
    if (key_id.len || dc) {
        res = sy_arena_alloc(a, sizeof(*res));
        int rrc = sy_gov_explain_residency(a, key_id, dc ? dc->value : SY_STR(""), res, err,
                                           sizeof(err));
        if (rrc != SY_OK) {
            answer(req, rrc == SY_ENOTFOUND ? 404 : 400, err);
            return;
        }
    }
    sy_buf_t out;
    sy_buf_init(&out, 0);
    int rc = sy_proxy_explain(a, cfg, model, irp, req->head.headers, req->head.nheaders, res, true,
                              &out, err, sizeof(err));
    if (rc != SY_OK)
        answer(req, rc == SY_ENOTFOUND ? 404 : 400, err);
    else
        sy_http_respond(req, 200, "application/json", sy_buf_ptr(&out), out.len);
    sy_buf_free(&out);
}
