/*
 * sim.c - the simulator application: shared state, workers, the request
 * handler that serves /health and /_sim/ endpoints and offers everything else to the
 * provider families, and the small helpers families share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/time.h"
#include "sim/internal.h"

/*
 * The families, in dispatch order. Anthropic comes before OpenAI because
 * GET /v1/models exists in both APIs: Anthropic's handler takes it only
 * when anthropic-version or x-api-key is present.
 */
static const sy_sim_family_t *const families[] = {
    &sy_sim_family_anthropic,
    &sy_sim_family_gemini, /* before OpenAI: /v1/models/{m}:generateContent */
    &sy_sim_family_bedrock,
    &sy_sim_family_openai,
};

/* ---------------------------------------------------------- shared state --- */

sy_sim_t *sy_sim_new(sy_sim_config_t *cfg, const char *version)
{
    sy_sim_t *sim = sy_calloc(1, sizeof(*sim));
    sim->cfg = cfg;
    sim->log = cfg->record ? sy_sim_log_new(cfg->record) : NULL;
    sim->started_ms = sy_wall_ms();
    sim->version = version ? version : "dev";
    return sim;
}

void sy_sim_free(sy_sim_t *sim)
{
    if (sim == NULL)
        return;
    sy_sim_log_free(sim->log);
    sy_sim_config_free(sim->cfg);
    free(sim);
}

void *sy_sim_worker_init(void *simv, int worker_id, sy_loop_t *loop)
{
    sy_sim_worker_t *w = sy_calloc(1, sizeof(*w));
    w->sim = simv;
    w->id = worker_id;
    w->loop = loop;
    sy_buf_init(&w->scratch, SY_SIM_SCRATCH_MAX);
    sy_buf_init(&w->scratch2, SY_SIM_SCRATCH_MAX);
    w->cache = sy_sim_cache_new(w->sim->cfg->answer_cache);
    return w;
}

void sy_sim_worker_fini(void *simv, void *wctx)
{
    SY_UNUSED(simv);
    sy_sim_worker_t *w = wctx;
    sy_buf_free(&w->scratch);
    sy_buf_free(&w->scratch2);
    sy_sim_cache_free(w->cache);
    free(w);
}

/* --------------------------------------------------------------- helpers --- */

sy_str_t sy_sim_header(const sy_sim_call_t *call, const char *name)
{
    const sy_http_header_t *h =
        sy_http_header_find(call->req->head.headers, call->req->head.nheaders, name);
    return h ? h->value : SY_STR_NULL;
}

sy_str_t sy_sim_query(const sy_sim_call_t *call, const char *name)
{
    sy_str_t q = call->req->head.query;
    size_t nl = strlen(name), i = 0;
    while (i < q.len) {
        size_t j = i;
        while (j < q.len && q.p[j] != '&')
            j++;
        sy_str_t kv = sy_str(q.p + i, j - i);
        if (kv.len >= nl && memcmp(kv.p, name, nl) == 0) {
            if (kv.len == nl)
                return sy_str(kv.p + nl, 0);
            if (kv.p[nl] == '=')
                return sy_str(kv.p + nl + 1, kv.len - nl - 1);
        }
        i = j + 1;
    }
    return SY_STR_NULL;
}

bool sy_sim_key_ok(const sy_sim_t *sim, sy_str_t key)
{
    if (key.len == 0)
        return false;
    if (sim->cfg->nkeys == 0)
        return true;
    bool ok = false;
    for (size_t i = 0; i < sim->cfg->nkeys; i++) {
        sy_str_t k = sim->cfg->keys[i];
        unsigned char d = (unsigned char)(k.len != key.len);
        for (size_t j = 0; j < k.len; j++)
            d |= (unsigned char)(k.p[j] ^ (j < key.len ? key.p[j] : 0));
        ok |= d == 0;
    }
    return ok;
}

int sy_sim_parse_body(sy_sim_call_t *call, const char **msg)
{
    sy_str_t body = call->req->body;
    if (body.len == 0) {
        *msg = "We could not parse the JSON body of your request. (HINT: This likely means you "
               "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
               "but what was sent was not valid JSON.)";
        return SY_EINVAL;
    }
    sy_json_error_t err;
    if (sy_json_parse(call->req->arena, body.p, body.len, NULL, &call->body, &err) != SY_OK) {
        *msg = sy_arena_sprintf(call->req->arena,
                                "We could not parse the JSON body of your request: %s at line "
                                "%zu column %zu.",
                                err.msg ? err.msg : "invalid JSON", err.line, err.col);
        return SY_EINVAL;
    }
    return SY_OK;
}

const sy_sim_model_t *sy_sim_model_find(const sy_sim_t *sim, sy_str_t name,
                                        sy_sim_family_id_t family)
{
    const sy_sim_config_t *c = sim->cfg;
    for (size_t i = 0; i < c->nmodels; i++) {
        const sy_sim_model_t *m = &c->models[i];
        if (sy_str_eq(m->name, name) &&
            (m->family == family || m->family == SY_SIM_FAMILY_ANY || family == SY_SIM_FAMILY_ANY))
            return m;
    }
    return NULL;
}

static const char base62[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static void put_id(uint64_t base, const char *prefix, size_t n, uint64_t salt, sy_buf_t *out)
{
    sy_buf_append_c(out, prefix);
    if (sy_buf_reserve(out, n) != SY_OK)
        return;
    char *p = sy_buf_tail(out);
    /* x / 2^64 written in base 62, one digit per multiplication (the high
     * word of x * 62); ten digits use up about 60 bits, then x is remixed. */
    uint64_t x = sy_sim_mix(base ^ sy_sim_mix(salt));
    size_t left = 10;
    for (size_t i = 0; i < n; i++) {
        if (left-- == 0) {
            x = sy_sim_mix(x + i);
            left = 9;
        }
        unsigned __int128 m = (unsigned __int128)x * 62u;
        p[i] = base62[(size_t)(m >> 64)];
        x = (uint64_t)m;
    }
    sy_buf_commit(out, n);
}

void sy_sim_id(const sy_sim_call_t *call, const char *prefix, size_t n, uint64_t salt, sy_buf_t *out)
{
    put_id(call->nonce, prefix, n, salt, out);
}

void sy_sim_id_seeded(const sy_sim_call_t *call, const char *prefix, size_t n, uint64_t salt,
                      sy_buf_t *out)
{
    put_id(call->seed, prefix, n, salt ^ 0xA5A5A5A5u, out);
}

uint64_t sy_sim_unix_now(void) { return sy_wall_ms() / 1000; }

uint32_t sy_sim_tool_plan(const sy_sim_call_t *call, size_t ntools, sy_sim_choice_t choice,
                          bool after_tool_result)
{
    if (ntools == 0 || choice == SY_SIM_CHOICE_NONE)
        return 0;
    switch (call->bhv.tools) {
    case SY_SIM_TOOLS_NONE:
        return 0;
    case SY_SIM_TOOLS_COUNT:
        return SY_MIN(call->bhv.tool_calls, SY_SIM_MAX_TOOL_CALLS);
    case SY_SIM_TOOLS_AUTO:
    default:
        if (after_tool_result && choice != SY_SIM_CHOICE_REQUIRED)
            return 0;
        return 1;
    }
}

bool sy_sim_tool_name_ok(sy_str_t n, size_t max)
{
    if (n.len == 0 || n.len > max)
        return false;
    for (size_t i = 0; i < n.len; i++) {
        char c = n.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* ------------------------------------------------------- core endpoints --- */

static void respond_json_buf(sy_http_req_t *req, int status, sy_buf_t *b)
{
    sy_http_respond(req, status, "application/json", sy_buf_ptr(b), b->len);
}

static void handle_health(sy_http_req_t *req, sy_sim_worker_t *w)
{
    char body[512];
    sy_sim_cache_stats_t cs;
    sy_sim_cache_stats(w->cache, &cs);
    int n = snprintf(body, sizeof(body),
                     "{\"status\":\"ok\",\"service\":\"switchyard-sim\",\"version\":\"%s\","
                     "\"uptime_s\":%llu,\"models\":%zu,\"worker\":%d,\"answer_cache\":{"
                     "\"capacity\":%zu,\"entries\":%zu,\"bytes\":%zu,\"hits\":%llu,"
                     "\"misses\":%llu,\"stores\":%llu}}",
                     w->sim->version, (unsigned long long)((sy_wall_ms() - w->sim->started_ms) / 1000),
                     w->sim->cfg->nmodels, w->id, cs.capacity, cs.entries, cs.bytes,
                     (unsigned long long)cs.hits, (unsigned long long)cs.misses,
                     (unsigned long long)cs.stores);
    sy_http_respond(req, 200, "application/json", body, (size_t)n);
}

static void handle_sim_api(sy_http_req_t *req, sy_sim_worker_t *w)
{
    sy_str_t path = req->head.path, m = req->head.method;
    sy_sim_t *sim = w->sim;
    sy_buf_t *b = &w->scratch;
    sy_buf_clear(b);
    if (sy_str_eq_c(path, "/_sim/requests")) {
        if (!sy_str_eq_c(m, "GET") && !sy_str_eq_c(m, "HEAD")) {
            sy_http_respond_error(req, 405, "method_not_allowed", "use GET /_sim/requests");
            return;
        }
        if (sim->log == NULL) {
            sy_buf_append_c(b, "{\"total\":0,\"requests\":[],\"recording\":false}");
        } else {
            sy_sim_log_dump(sim->log, b, req->arena);
        }
        respond_json_buf(req, 200, b);
    } else if (sy_str_eq_c(path, "/_sim/reset")) {
        if (!sy_str_eq_c(m, "POST")) {
            sy_http_respond_error(req, 405, "method_not_allowed", "use POST /_sim/reset");
            return;
        }
        if (sim->log)
            sy_sim_log_reset(sim->log);
        sy_buf_append_c(b, "{\"reset\":true}");
        respond_json_buf(req, 200, b);
    } else {
        sy_http_respond_error(req, 404, "not_found_error",
                              "unknown simulator endpoint (see docs/sim.md: /_sim/requests, "
                              "/_sim/reset)");
    }
    sy_buf_clear(b);
}

/* An unclaimed path: OpenAI's answer for an unknown URL. */
static void handle_unknown(sy_http_req_t *req)
{
    char msg[400], esc[600], body[800];
    snprintf(msg, sizeof(msg), "Invalid URL (%.*s %.*s)", (int)SY_MIN(req->head.method.len, (size_t)16),
             req->head.method.p, (int)SY_MIN(req->head.path.len, (size_t)300), req->head.path.p);
    sy_log_esc(esc, sizeof(esc), msg, strlen(msg));
    int n = snprintf(body, sizeof(body),
                     "{\"error\":{\"message\":\"%s\",\"type\":\"invalid_request_error\","
                     "\"param\":null,\"code\":null}}",
                     esc);
    sy_http_respond(req, 404, "application/json", body, (size_t)n);
}

void sy_sim_handle(sy_http_req_t *req, void *wctx)
{
    sy_sim_worker_t *w = wctx;
    sy_str_t path = req->head.path;
    if (sy_str_eq_c(path, "/health")) {
        handle_health(req, w);
        return;
    }
    if (sy_str_starts_with(path, SY_STR("/_sim/"))) {
        handle_sim_api(req, w);
        return;
    }
    if (w->sim->log)
        sy_sim_log_record(w->sim->log, req, w->id, &w->scratch);
    sy_sim_call_t *call = sy_arena_calloc(req->arena, sizeof(*call));
    call->req = req;
    call->w = w;
    call->sim = w->sim;
    call->nonce = ((uint64_t)(unsigned)w->id << 48) ^ (++w->seq) ^ (w->sim->started_ms << 20);
    req->data = call;
    for (size_t i = 0; i < SY_ARRAY_LEN(families); i++)
        if (families[i]->handle(call))
            return;
    handle_unknown(req);
}
