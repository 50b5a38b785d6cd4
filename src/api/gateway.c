/*
 * gateway.c - endpoint dispatch for `switchyard serve`.
 */
#include "api/gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/time.h"

void *sy_gateway_worker_init(void *gw, int worker_id, sy_loop_t *loop)
{
    sy_gateway_worker_t *w = sy_calloc(1, sizeof(*w));
    w->gw = gw;
    w->worker_id = worker_id;
    w->loop = loop;
    return w;
}

void sy_gateway_worker_fini(void *gw, void *wctx)
{
    SY_UNUSED(gw);
    free(wctx);
}

static void handle_health(sy_http_req_t *req, sy_gateway_worker_t *w)
{
    char body[256];
    uint64_t up = (sy_wall_ms() - w->gw->started_ms) / 1000;
    int n = snprintf(body, sizeof(body),
                     "{\"status\":\"ok\",\"version\":\"%s\",\"uptime_s\":%llu}", w->gw->version,
                     (unsigned long long)up);
    sy_http_respond(req, 200, "application/json", body, (size_t)n);
}

/* A route: method + exact path -> handler. */
typedef struct {
    const char *method;
    const char *path;
    void (*fn)(sy_http_req_t *req, sy_gateway_worker_t *w);
} route_t;

static const route_t routes[] = {
    {"GET", "/health", handle_health},
};

void sy_gateway_handle(sy_http_req_t *req, void *ctx)
{
    sy_gateway_worker_t *w = ctx;
    sy_str_t path = req->head.path;
    bool path_known = false;
    for (size_t i = 0; i < SY_ARRAY_LEN(routes); i++) {
        if (!sy_str_eq_c(path, routes[i].path))
            continue;
        path_known = true;
        if (sy_str_eq_c(req->head.method, routes[i].method) ||
            (sy_str_eq_c(req->head.method, "HEAD") && strcmp(routes[i].method, "GET") == 0)) {
            routes[i].fn(req, w);
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
