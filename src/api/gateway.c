/*
 * gateway.c - endpoint dispatch for `switchyard serve`.
 */
#include "api/gateway.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/admin.h"
#include "api/anthropic.h"
#include "api/auth.h"
#include "audit/audit.h"
#include "api/frontdoors.h"
#include "api/openai.h"
#include "api/proxy.h"
#include "config/config.h"
#include "core/log.h"
#include "core/time.h"
#include "harness/gov.h"
#include "router/router.h"

void *sy_gateway_worker_init(void *gw, int worker_id, sy_loop_t *loop)
{
    sy_gateway_worker_t *w = sy_calloc(1, sizeof(*w));
    w->gw = gw;
    w->worker_id = worker_id;
    w->loop = loop;
    sy_config_t *c = sy_config_acquire();
    sy_http_client_options_t opt;
    sy_http_client_options_default(&opt);
    if (c) {
        opt.timeouts.connect_ms = c->limits.upstream_connect_timeout_ms;
        opt.timeouts.first_byte_ms = c->limits.upstream_first_byte_timeout_ms;
        opt.timeouts.idle_ms = c->limits.upstream_idle_timeout_ms;
        opt.pool.idle_timeout_ms = c->limits.upstream_idle_timeout_ms;
        /* providers[].max_connections caps each origin's pool (per worker);
         * the pool has one cap for all origins, so take the largest, and
         * let as many requests wait for a connection as may hold one. */
        uint64_t maxc = 0;
        for (size_t i = 0; i < c->providers.n; i++)
            maxc = SY_MAX(maxc, c->providers.items[i].max_connections);
        if (maxc) {
            opt.pool.max_conns_per_origin = (size_t)maxc;
            opt.pool.max_waiters_per_origin = SY_MAX(opt.pool.max_waiters_per_origin, (size_t)maxc);
        }
    }
    sy_config_unref(c);
    char err[256];
    w->client = sy_http_client_new(loop, &opt, err, sizeof(err));
    if (w->client == NULL)
        sy_panic("cannot create the upstream client: %s", err);
    w->metrics = sy_metrics_shard(worker_id);
    sy_access_init(&w->access, loop, true);
    sy_gov_worker_init(loop);
    if (RAND_bytes((unsigned char *)&w->id_prefix, sizeof(w->id_prefix)) != 1)
        w->id_prefix = sy_now_ns() ^ ((uint64_t)worker_id << 56);
    return w;
}

void sy_gateway_worker_fini(void *gw, void *wctx)
{
    SY_UNUSED(gw);
    sy_gateway_worker_t *w = wctx;
    sy_gov_worker_fini();
    sy_access_fini(&w->access);
    sy_http_client_free(w->client);
    free(w);
}

/* ---- endpoints ---- */

typedef void (*endpoint_fn)(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg);

static void handle_health(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg)
{
    SY_UNUSED(cfg);
    char body[256];
    uint64_t up = (sy_wall_ms() - w->gw->started_ms) / 1000;
    int n = snprintf(body, sizeof(body),
                     "{\"status\":\"ok\",\"version\":\"%s\",\"uptime_s\":%llu}", w->gw->version,
                     (unsigned long long)up);
    sy_http_respond(req, 200, "application/json", body, (size_t)n);
}

static void handle_metrics(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg)
{
    SY_UNUSED(w);
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_metrics_render(&b);
    sy_route_metrics_render(cfg, &b);
    sy_audit_metrics_render(&b);
    sy_gov_metrics_render(&b);
    sy_http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", sy_buf_ptr(&b), b.len);
    sy_buf_free(&b);
}

/* Who is calling (harness/gov.h: a static key from `keys` or a virtual
 * key); a refusal is answered in the front door's format and NULL returned.
 * On the front doors that keep audit records (`audited`), a refusal has its
 * record too: status, the refusal's code as a verdict ("refused:revoked_key"),
 * the principal when the key was found, the hashes. It takes its place in
 * the audit queue only from the half unauthenticated requests may use
 * (audit/audit.h): when that is full the client gets 503 instead. */
static sy_gov_req_t *authorised(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg,
                                const sy_frontdoor_vt_t *fd, bool audited)
{
    sy_gov_req_t *g = NULL;
    sy_gov_refusal_t ref;
    if (sy_gov_auth(req, cfg, &g, &ref) == SY_OK)
        return g;
    sy_audit_req_t *au = NULL;
    char rid[32];
    if (audited) {
        sy_proxy_request_id(w, rid);
        sy_http_add_header(req, "x-switchyard-request-id", sy_str_c(rid));
        if (sy_audit_begin_refusal(req->arena, &au) != SY_OK) {
            ref.kind = SY_GOV_REFUSE_UNAVAILABLE;
            ref.retry_after_ms = 1000;
            snprintf(ref.message, sizeof(ref.message),
                     "The gateway's audit log is falling behind; retry shortly.");
        }
    }
    const char *type = NULL, *code = NULL;
    int status = sy_gov_refusal_status(&ref, fd->format, &type, &code);
    sy_buf_t b;
    sy_buf_init(&b, 4096);
    fd->error_body(status, type, code, ref.message, &b);
    if (ref.retry_after_ms) {
        char ra[24];
        snprintf(ra, sizeof(ra), "%llu", (unsigned long long)((ref.retry_after_ms + 999) / 1000));
        sy_http_add_header(req, "retry-after", sy_str_c(ra));
    }
    if (au) {
        char v[80];
        int n = snprintf(v, sizeof(v), "refused:%s", ref.reason);
        sy_audit_set_principal(au, ref.key_id, ref.team_id, ref.org_id);
        sy_audit_add_verdict(au, sy_str(v, n > 0 ? SY_MIN((size_t)n, sizeof(v) - 1) : 0));
        sy_audit_response_bytes(au, sy_buf_ptr(&b), b.len);
        sy_access_entry_t e = {
            .request_id = sy_str_c(rid),
            .frontdoor = sy_str_c(fd->name),
            .method = req->head.method,
            .path = req->head.path,
            .model = SY_STR(""),
            .provider = SY_STR(""),
            .upstream_model = SY_STR(""),
            .status = status,
            .error_class = sy_str_c(sy_ir_error_class_name(
                status == 401 ? SY_IR_ERR_AUTH : status == 503 ? SY_IR_ERR_OVERLOADED
                                                               : SY_IR_ERR_BAD_REQUEST)),
            .duration_ns = sy_now_ns() - req->start_ns,
        };
        sy_audit_submit(au, &e, NULL, req->body);
    }
    sy_http_respond(req, status, "application/json", sy_buf_ptr(&b), b.len);
    sy_buf_free(&b);
    return NULL;
}

static void handle_chat(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg)
{
    sy_gov_req_t *g = authorised(req, w, cfg, &sy_frontdoor_openai, true);
    if (g)
        sy_proxy_chat(req, w, cfg, &sy_frontdoor_openai, g);
}

static void handle_messages(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg)
{
    sy_gov_req_t *g = authorised(req, w, cfg, &sy_frontdoor_anthropic, true);
    if (g)
        sy_proxy_chat(req, w, cfg, &sy_frontdoor_anthropic, g);
}

static void handle_embeddings(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg)
{
    sy_gov_req_t *g = authorised(req, w, cfg, &sy_frontdoor_openai, true);
    if (g)
        sy_proxy_embeddings(req, w, cfg, g);
}

static void handle_count_tokens(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg)
{
    const sy_frontdoor_vt_t *fd = &sy_frontdoor_anthropic;
    if (!authorised(req, w, cfg, fd, false))
        return;
    sy_ir_request_t ir;
    int status = 400;
    const char *message = NULL;
    sy_buf_t b;
    sy_buf_init(&b, 64 * 1024);
    if (sy_anthropic_parse_count_tokens(req->arena, req->body, &ir, &status, &message) != SY_OK) {
        fd->error_body(status, NULL, NULL, message ? message : "invalid request body", &b);
    } else if (sy_config_find_model(cfg, ir.model) == NULL) {
        status = 404;
        char msg[300];
        snprintf(msg, sizeof(msg), "model: %.*s", (int)SY_MIN(ir.model.len, (size_t)200), ir.model.p);
        fd->error_body(status, NULL, NULL, msg, &b);
    } else {
        status = 200;
        sy_anthropic_count_tokens_body(&ir, &b);
    }
    sy_http_respond(req, status, "application/json", sy_buf_ptr(&b), b.len);
    sy_buf_free(&b);
}

static void handle_models(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg)
{
    sy_gov_req_t *g = authorised(req, w, cfg, &sy_frontdoor_openai, false);
    if (g == NULL)
        return;
    /* Only the models this key may use. */
    sy_str_t *names = sy_arena_alloc(req->arena, (cfg->models.n + 1) * sizeof(*names));
    size_t nnames = 0;
    for (size_t i = 0; i < cfg->models.n; i++)
        if (sy_gov_model_allowed(g, cfg->models.items[i].name))
            names[nnames++] = cfg->models.items[i].name;
    sy_buf_t b;
    sy_buf_init(&b, 0);
    int64_t created = (int64_t)(w->gw->started_ms / 1000);
    sy_str_t path = req->head.path;
    int status = 200;
    if (path.len > sizeof("/v1/models/") - 1) {
        sy_str_t id = sy_str_sub(path, sizeof("/v1/models/") - 1, path.len);
        if (sy_config_find_model(cfg, id) && sy_gov_model_allowed(g, id))
            sy_openai_model_object(id, created, NULL, &b);
        else {
            status = 404;
            char msg[300];
            snprintf(msg, sizeof(msg), "The model `%.*s` does not exist or you do not have access to it.",
                     (int)SY_MIN(id.len, (size_t)200), id.p);
            sy_frontdoor_openai.error_body(404, NULL, "model_not_found", msg, &b);
        }
    } else {
        sy_openai_models_list(names, nnames, created, NULL, &b);
    }
    sy_http_respond(req, status, "application/json", sy_buf_ptr(&b), b.len);
    sy_buf_free(&b);
}

static void handle_routes_explain(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg)
{
    SY_UNUSED(w);
    sy_admin_routes_explain(req, cfg);
}

/* Organisations, teams, keys, spend (api/admin.c). */
static void handle_admin(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg)
{
    SY_UNUSED(w);
    sy_admin_handle(req, cfg);
}

/* A route: method + path (exact, or a prefix ending in '/') -> endpoint. */
typedef struct {
    const char *method;
    const char *path;
    bool prefix;
    endpoint_fn fn;
} route_t;

static const route_t routes[] = {
    {"POST", "/v1/chat/completions", false, handle_chat},
    {"POST", "/v1/messages", false, handle_messages},
    {"POST", "/v1/messages/count_tokens", false, handle_count_tokens},
    {"POST", "/v1/embeddings", false, handle_embeddings},
    {"GET", "/v1/models", false, handle_models},
    {"GET", "/v1/models/", true, handle_models},
    {"GET", "/health", false, handle_health},
    {"GET", "/metrics", false, handle_metrics},
    {"GET", "/admin/routes/explain", false, handle_routes_explain},
    {"POST", "/admin/routes/explain", false, handle_routes_explain},
    {"GET", "/admin/", true, handle_admin},
    {"POST", "/admin/", true, handle_admin},
    {"PATCH", "/admin/", true, handle_admin},
    {"DELETE", "/admin/", true, handle_admin},
};

void sy_gateway_handle(sy_http_req_t *req, void *ctx)
{
    sy_gateway_worker_t *w = ctx;
    sy_str_t path = req->head.path;
    bool path_known = false;
    for (size_t i = 0; i < SY_ARRAY_LEN(routes); i++) {
        const route_t *r = &routes[i];
        bool match = r->prefix ? sy_str_starts_with(path, sy_str_c(r->path)) && path.len > strlen(r->path)
                               : sy_str_eq_c(path, r->path);
        if (!match)
            continue;
        path_known = true;
        if (sy_str_eq_c(req->head.method, r->method) ||
            (sy_str_eq_c(req->head.method, "HEAD") && strcmp(r->method, "GET") == 0)) {
            /* One snapshot per request: a reload never changes the rules
             * under a request already being served. */
            sy_config_t *cfg = sy_config_acquire();
            r->fn(req, w, cfg);
            sy_config_unref(cfg);
            return;
        }
    }
    /* sy_http_respond_error escapes the message for JSON. */
    char msg[512];
    int plen = (int)SY_MIN(path.len, (size_t)200);
    if (path_known) {
        snprintf(msg, sizeof(msg), "method %.*s is not allowed on %.*s",
                 (int)SY_MIN(req->head.method.len, (size_t)20), req->head.method.p, plen, path.p);
        sy_http_respond_error(req, 405, "method_not_allowed", msg);
        return;
    }
    snprintf(msg, sizeof(msg), "no endpoint at %.*s %.*s",
             (int)SY_MIN(req->head.method.len, (size_t)20), req->head.method.p, plen, path.p);
    sy_http_respond_error(req, 404, "not_found_error", msg);
}

void sy_gateway_error(sy_http_req_t *req, void *ctx, int status, const char *message)
{
    SY_UNUSED(ctx);
    sy_str_t path = req->head.path;
    const sy_frontdoor_vt_t *fd = NULL;
    if (sy_str_starts_with(path, SY_STR("/v1/messages")))
        fd = &sy_frontdoor_anthropic;
    else if (sy_str_starts_with(path, SY_STR("/v1/")))
        fd = &sy_frontdoor_openai;
    if (fd == NULL)
        return; /* the server's generic JSON error */
    sy_buf_t b;
    sy_buf_init(&b, 8192);
    fd->error_body(status, NULL, NULL, message, &b);
    sy_http_respond(req, status, "application/json", sy_buf_ptr(&b), b.len);
    sy_buf_free(&b);
}
