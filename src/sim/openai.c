/*
 * openai.c - the OpenAI family: routing (OpenAI and Azure OpenAI paths),
 * authentication, the error shape, GET /v1/models and POST /v1/embeddings.
 * Chat completions are in openai_chat.c.
 *
 * Error texts follow the real API's wording where it is known (recordings in
 * tests/data/transcripts/openai/), so clients and gateways that match on
 * them behave as they would against OpenAI.
 */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "sim/openai.h"

/* ---------------------------------------------------------------- errors --- */

void oa_error(sy_sim_call_t *call, int status, const char *message, const char *type,
              const char *param, const char *code)
{
    sy_buf_t *b = &call->w->scratch;
    sy_buf_clear(b);
    sy_json_writer_t w;
    sy_json_writer_init(&w, b, 0);
    sy_json_write_begin_object(&w);
    sy_json_write_key_lit(&w, "error");
    sy_json_write_begin_object(&w);
    sy_json_write_key_lit(&w, "message");
    sy_json_write_string(&w, sy_str_c(message));
    sy_json_write_key_lit(&w, "type");
    sy_json_write_string(&w, sy_str_c(type));
    sy_json_write_key_lit(&w, "param");
    if (param)
        sy_json_write_string(&w, sy_str_c(param));
    else
        sy_json_write_null(&w);
    sy_json_write_key_lit(&w, "code");
    if (code)
        sy_json_write_string(&w, sy_str_c(code));
    else
        sy_json_write_null(&w);
    sy_json_write_end_object(&w);
    sy_json_write_end_object(&w);
    sy_json_write_finish(&w);
    oa_headers(call);
    sy_http_respond(call->req, status, "application/json", sy_buf_ptr(b), b->len);
    sy_buf_clear(b);
}

/* The core's errors (faults, bad x-sim-* headers) in OpenAI's shape. */
static const char *oa_error_body(sy_sim_call_t *call, int status, const char *message, sy_buf_t *out)
{
    const char *type = "server_error", *code = NULL;
    if (status == 400) {
        type = "invalid_request_error";
    } else if (status == 429) {
        type = "requests";
        code = "rate_limit_exceeded";
    } else if (status == 503 || status == 529) {
        code = "overloaded";
    }
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    sy_json_write_begin_object(&w);
    sy_json_write_key_lit(&w, "error");
    sy_json_write_begin_object(&w);
    sy_json_write_key_lit(&w, "message");
    sy_json_write_string(&w, sy_str_c(message));
    sy_json_write_key_lit(&w, "type");
    sy_json_write_string(&w, sy_str_c(type));
    sy_json_write_key_lit(&w, "param");
    sy_json_write_null(&w);
    sy_json_write_key_lit(&w, "code");
    if (code)
        sy_json_write_string(&w, sy_str_c(code));
    else
        sy_json_write_null(&w);
    sy_json_write_end_object(&w);
    sy_json_write_end_object(&w);
    sy_json_write_finish(&w);
    oa_headers(call);
    return "application/json";
}

void oa_headers(sy_sim_call_t *call)
{
    enum { ID_LEN = 4 + 32 };
    char *id = sy_arena_alloc(call->req->arena, ID_LEN);
    sy_buf_t b = {.data = id, .cap = ID_LEN, .max = ID_LEN};
    sy_sim_id(call, "req_", 32, 1, &b);
    sy_http_add_header_ref(call->req, SY_STR("x-request-id"), sy_buf_str(&b));
    sy_http_add_header_ref(call->req, SY_STR("openai-version"), SY_STR("2020-10-01"));
    sy_http_add_header_ref(call->req, SY_STR("openai-organization"), SY_STR("switchyard-sim"));
}

const char *oa_type_phrase(const sy_json_t *v)
{
    if (v == NULL)
        return "null";
    switch (v->type) {
    case SY_JSON_NULL: return "null";
    case SY_JSON_TRUE:
    case SY_JSON_FALSE: return "a boolean";
    case SY_JSON_NUMBER: {
        int64_t i;
        return sy_json_as_i64(v, &i) == SY_OK ? "an integer" : "a decimal";
    }
    case SY_JSON_STRING: return "a string";
    case SY_JSON_ARRAY: return "an array";
    case SY_JSON_OBJECT: return "an object";
    }
    return "a value";
}

const char *oa_fingerprint(sy_sim_call_t *call)
{
    sy_str_t n = call->model->name;
    if (sy_str_starts_with(n, SY_STR("gpt-5")) || sy_str_starts_with(n, SY_STR("o1")))
        return NULL;
    uint64_t h = sy_hash_bytes(call->model->version.p, call->model->version.len);
    return sy_arena_sprintf(call->req->arena, "fp_%010llx", (unsigned long long)(h & 0xffffffffffULL));
}

const sy_sim_model_t *oa_model(sy_sim_call_t *call, const oa_route_t *rt, sy_sim_kind_t kind)
{
    sy_arena_t *a = call->req->arena;
    sy_str_t name;
    if (rt->azure) {
        name = rt->deployment;
    } else {
        const sy_json_t *m = sy_json_get(call->body, "model");
        if (m == NULL || m->type == SY_JSON_NULL) {
            oa_error(call, 400, "you must provide a model parameter", "invalid_request_error", NULL,
                     NULL);
            return NULL;
        }
        if (m->type != SY_JSON_STRING) {
            oa_error(call, 400,
                     sy_arena_sprintf(a, "Invalid type for 'model': expected a string, but got %s instead.",
                                      oa_type_phrase(m)),
                     "invalid_request_error", "model", "invalid_type");
            return NULL;
        }
        name = m->u.str;
    }
    const sy_sim_model_t *model = sy_sim_model_find(call->sim, name, SY_SIM_FAMILY_OPENAI);
    if (model == NULL) {
        if (rt->azure) {
            oa_error(call, 404,
                     "The API deployment for this resource does not exist. If you created the "
                     "deployment within the last 5 minutes, please wait a moment and try again.",
                     "invalid_request_error", NULL, "DeploymentNotFound");
            return NULL;
        }
        oa_error(call, 404,
                 sy_arena_sprintf(a, "The model `%.*s` does not exist or you do not have access to it.",
                                  (int)SY_MIN(name.len, (size_t)200), name.p),
                 "invalid_request_error", NULL, "model_not_found");
        return NULL;
    }
    if (model->kind != kind) {
        if (kind == SY_SIM_KIND_CHAT)
            oa_error(call, 404,
                     "This is not a chat model and thus not supported in the v1/chat/completions "
                     "endpoint. Did you mean to use v1/completions?",
                     "invalid_request_error", "model", NULL);
        else
            oa_error(call, 400,
                     sy_arena_sprintf(a, "The model `%.*s` does not support embeddings.",
                                      (int)SY_MIN(name.len, (size_t)200), name.p),
                     "invalid_request_error", "model", NULL);
        return NULL;
    }
    return model;
}

/* ------------------------------------------------------------------ auth --- */

/* OpenAI: Authorization: Bearer KEY. Azure: api-key: KEY (or a Bearer
 * token from Entra ID). Answers the 401 itself when the key is wrong. */
static bool oa_auth(sy_sim_call_t *call, const oa_route_t *rt)
{
    sy_str_t auth = sy_sim_header(call, "authorization");
    sy_str_t key = SY_STR_NULL;
    if (auth.len > 7 && sy_str_ieq(sy_str_sub(auth, 0, 7), SY_STR("Bearer ")))
        key = sy_str_trim(sy_str_sub(auth, 7, auth.len));
    if (rt->azure) {
        sy_str_t ak = sy_sim_header(call, "api-key");
        if (ak.p)
            key = ak;
        if (!sy_sim_key_ok(call->sim, key)) {
            oa_error(call, 401,
                     "Access denied due to invalid subscription key or wrong API endpoint. Make "
                     "sure to provide a valid key for an active subscription and use a correct "
                     "regional API endpoint for your resource.",
                     "invalid_request_error", NULL, "401");
            return false;
        }
        return true;
    }
    if (key.len == 0) {
        oa_error(call, 401,
                 "You didn't provide an API key. You need to provide your API key in an "
                 "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or "
                 "as the password field (with blank username) if you're accessing the API from "
                 "your browser and are prompted for a username and password. You can obtain an "
                 "API key from https://platform.openai.com/account/api-keys.",
                 "invalid_request_error", NULL, NULL);
        return false;
    }
    if (!sy_sim_key_ok(call->sim, key)) {
        char masked[64];
        sy_buf_t m = {.data = masked, .cap = sizeof(masked) - 1, .max = sizeof(masked) - 1};
        sy_buf_append(&m, key.p, SY_MIN(key.len, (size_t)3));
        sy_buf_append_c(&m, "****");
        if (key.len >= 12)
            sy_buf_append(&m, key.p + key.len - 4, 4);
        masked[m.len] = '\0';
        oa_error(call, 401,
                 sy_arena_sprintf(call->req->arena,
                                  "Incorrect API key provided: %s. You can find your API key at "
                                  "https://platform.openai.com/account/api-keys.",
                                  masked),
                 "invalid_request_error", NULL, "invalid_api_key");
        return false;
    }
    return true;
}

/* Content-Type application/json (or none). Answers the 400 itself. */
static bool oa_content_type(sy_sim_call_t *call)
{
    sy_str_t ct = sy_sim_header(call, "content-type");
    ptrdiff_t semi = sy_str_find_char(ct, ';');
    sy_str_t mime = sy_str_trim(semi >= 0 ? sy_str_sub(ct, 0, (size_t)semi) : ct);
    if (ct.p && !sy_str_ieq_c(mime, "application/json")) {
        oa_error(call, 400,
                 sy_arena_sprintf(call->req->arena,
                                  "Unsupported content type: '%.*s'. This API method only accepts "
                                  "'application/json' requests, but you specified the header "
                                  "'Content-Type: %.*s'. Please try again with a supported "
                                  "content type.",
                                  (int)SY_MIN(mime.len, (size_t)100), mime.p,
                                  (int)SY_MIN(ct.len, (size_t)100), ct.p),
                 "invalid_request_error", NULL, "unsupported_content_type");
        return false;
    }
    return true;
}

/* The request body: a parseable JSON object. Answers the 400 itself. */
static bool oa_body(sy_sim_call_t *call)
{
    const char *msg;
    if (sy_sim_parse_body(call, &msg) != SY_OK) {
        oa_error(call, 400, msg, "invalid_request_error", NULL, NULL);
        return false;
    }
    if (call->body->type != SY_JSON_OBJECT) {
        oa_error(call, 400,
                 sy_arena_sprintf(call->req->arena,
                                  "Invalid type for 'body': expected an object, but got %s instead.",
                                  oa_type_phrase(call->body)),
                 "invalid_request_error", NULL, "invalid_type");
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- models --- */

static void write_model(sy_json_writer_t *w, const sy_sim_model_t *m)
{
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "id");
    sy_json_write_string(w, m->name);
    sy_json_write_key_lit(w, "object");
    sy_json_write_string_lit(w, "model");
    sy_json_write_key_lit(w, "created");
    sy_json_write_u64(w, m->created);
    sy_json_write_key_lit(w, "owned_by");
    sy_json_write_string(w, m->owned_by);
    sy_json_write_end_object(w);
}

static void oa_models(sy_sim_call_t *call, sy_str_t one)
{
    sy_buf_t *b = &call->w->scratch;
    sy_buf_clear(b);
    sy_json_writer_t w;
    sy_json_writer_init(&w, b, 0);
    const sy_sim_config_t *c = call->sim->cfg;
    if (one.p) {
        const sy_sim_model_t *m = sy_sim_model_find(call->sim, one, SY_SIM_FAMILY_OPENAI);
        if (m == NULL) {
            oa_error(call, 404,
                     sy_arena_sprintf(call->req->arena, "The model '%.*s' does not exist",
                                      (int)SY_MIN(one.len, (size_t)200), one.p),
                     "invalid_request_error", "model", "model_not_found");
            return;
        }
        write_model(&w, m);
    } else {
        sy_json_write_begin_object(&w);
        sy_json_write_key_lit(&w, "object");
        sy_json_write_string_lit(&w, "list");
        sy_json_write_key_lit(&w, "data");
        sy_json_write_begin_array(&w);
        for (size_t i = 0; i < c->nmodels; i++)
            if (c->models[i].family == SY_SIM_FAMILY_OPENAI || c->models[i].family == SY_SIM_FAMILY_ANY)
                write_model(&w, &c->models[i]);
        sy_json_write_end_array(&w);
        sy_json_write_end_object(&w);
    }
    sy_json_write_finish(&w);
    oa_headers(call);
    sy_http_respond(call->req, 200, "application/json", sy_buf_ptr(b), b->len);
    sy_buf_clear(b);
}

/* ------------------------------------------------------------ embeddings --- */

/* One input's text or token list: its tokens and its vector's seed. */
static bool embed_input(const sy_json_t *v, uint32_t *tokens, uint64_t *seed)
{
    if (v->type == SY_JSON_STRING) {
        if (v->u.str.len == 0)
            return false;
        *tokens = (uint32_t)sy_sim_tokens(v->u.str);
        *seed = sy_sim_mix(sy_hash_bytes(v->u.str.p, v->u.str.len));
        return true;
    }
    if (v->type == SY_JSON_ARRAY && v->u.arr.len > 0) {
        uint64_t h = 0x1234;
        for (uint32_t i = 0; i < v->u.arr.len; i++) {
            int64_t t;
            if (sy_json_as_i64(&v->u.arr.items[i], &t) != SY_OK || t < 0)
                return false;
            h = sy_sim_mix(h ^ (uint64_t)t);
        }
        *tokens = v->u.arr.len;
        *seed = h;
        return true;
    }
    return false;
}

static void oa_embeddings(sy_sim_call_t *call, const oa_route_t *rt)
{
    sy_arena_t *a = call->req->arena;
    const sy_sim_model_t *model = oa_model(call, rt, SY_SIM_KIND_EMBEDDING);
    if (model == NULL)
        return;
    const sy_json_t *input = sy_json_get(call->body, "input");
    if (input == NULL) {
        oa_error(call, 400, "Missing required parameter: 'input'.", "invalid_request_error",
                 "input", "missing_required_parameter");
        return;
    }
    /* input: a string, an array of strings, an array of token ids, or an
     * array of token-id arrays. */
    const sy_json_t *items = input;
    size_t n = 1;
    bool single = input->type == SY_JSON_STRING ||
                  (input->type == SY_JSON_ARRAY && input->u.arr.len > 0 &&
                   input->u.arr.items[0].type == SY_JSON_NUMBER);
    if (!single) {
        if (input->type != SY_JSON_ARRAY || input->u.arr.len == 0 || input->u.arr.len > 2048) {
            oa_error(call, 400,
                     "'$.input' is invalid. Please check the API reference: "
                     "https://platform.openai.com/docs/api-reference.",
                     "invalid_request_error", NULL, NULL);
            return;
        }
        n = input->u.arr.len;
    }
    uint32_t *toks = sy_arena_calloc(a, n * sizeof(uint32_t));
    uint64_t *seeds = sy_arena_calloc(a, n * sizeof(uint64_t));
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const sy_json_t *v = single ? items : &items->u.arr.items[i];
        if (!embed_input(v, &toks[i], &seeds[i])) {
            oa_error(call, 400,
                     "'$.input' is invalid. Please check the API reference: "
                     "https://platform.openai.com/docs/api-reference.",
                     "invalid_request_error", NULL, NULL);
            return;
        }
        total += toks[i];
    }
    bool b64 = false;
    const sy_json_t *fmt = sy_json_get(call->body, "encoding_format");
    if (fmt && fmt->type != SY_JSON_NULL) {
        if (sy_str_eq_c(sy_json_str(fmt), "base64")) {
            b64 = true;
        } else if (!sy_str_eq_c(sy_json_str(fmt), "float")) {
            oa_error(call, 400,
                     "Invalid value for 'encoding_format': expected one of 'float' or 'base64'.",
                     "invalid_request_error", "encoding_format", "invalid_value");
            return;
        }
    }
    uint32_t dims = model->dims;
    const sy_json_t *d = sy_json_get(call->body, "dimensions");
    if (d && d->type != SY_JSON_NULL) {
        uint64_t want;
        if (sy_json_as_u64(d, &want) != SY_OK || want < 1 || want > model->dims ||
            sy_str_eq_c(model->name, "text-embedding-ada-002")) {
            oa_error(call, 400,
                     sy_arena_sprintf(a, "This model does not support specifying dimensions, or "
                                         "the value is out of range 1..%u.",
                                      model->dims),
                     "invalid_request_error", "dimensions", NULL);
            return;
        }
        dims = (uint32_t)want;
    }
    if (sy_sim_prepare(call, model) != SY_OK)
        return;
    sy_buf_t *b = &call->w->scratch;
    sy_buf_clear(b);
    sy_json_writer_t w;
    sy_json_writer_init(&w, b, 0);
    sy_json_write_begin_object(&w);
    sy_json_write_key_lit(&w, "object");
    sy_json_write_string_lit(&w, "list");
    sy_json_write_key_lit(&w, "data");
    sy_json_write_begin_array(&w);
    for (size_t i = 0; i < n; i++) {
        sy_json_write_begin_object(&w);
        sy_json_write_key_lit(&w, "object");
        sy_json_write_string_lit(&w, "embedding");
        sy_json_write_key_lit(&w, "index");
        sy_json_write_u64(&w, i);
        sy_json_write_key_lit(&w, "embedding");
        sy_sim_gen_embedding(seeds[i], dims, b64, &w);
        sy_json_write_end_object(&w);
    }
    sy_json_write_end_array(&w);
    sy_json_write_key_lit(&w, "model");
    sy_json_write_string(&w, model->version);
    sy_json_write_key_lit(&w, "usage");
    sy_json_write_begin_object(&w);
    sy_json_write_key_lit(&w, "prompt_tokens");
    sy_json_write_u64(&w, total);
    sy_json_write_key_lit(&w, "total_tokens");
    sy_json_write_u64(&w, total);
    sy_json_write_end_object(&w);
    sy_json_write_end_object(&w);
    if (sy_json_write_finish(&w) != SY_OK) {
        sy_sim_respond_error(call, 500, "embedding response too large");
        return;
    }
    oa_headers(call);
    sy_sim_respond_json(call, 200, "application/json", sy_buf_ptr(b), b->len, 0);
    sy_buf_clear(b);
}

/* --------------------------------------------------------------- routing --- */

static bool method_is(const sy_sim_call_t *call, const char *m)
{
    return sy_str_eq_c(call->req->head.method, m);
}

static void wrong_method(sy_sim_call_t *call)
{
    oa_error(call, 405,
             sy_arena_sprintf(call->req->arena, "Invalid method for URL (%.*s %.*s)",
                              (int)SY_MIN(call->req->head.method.len, (size_t)16),
                              call->req->head.method.p,
                              (int)SY_MIN(call->req->head.path.len, (size_t)200),
                              call->req->head.path.p),
             "invalid_request_error", NULL, NULL);
}

static bool oa_handle(sy_sim_call_t *call)
{
    sy_str_t path = call->req->head.path;
    oa_route_t rt = {0};
    enum { R_CHAT, R_EMBED, R_MODELS, R_MODEL } route;
    sy_str_t model_id = SY_STR_NULL;
    if (sy_str_eq_c(path, "/v1/chat/completions")) {
        route = R_CHAT;
    } else if (sy_str_eq_c(path, "/v1/embeddings")) {
        route = R_EMBED;
    } else if (sy_str_eq_c(path, "/v1/models")) {
        route = R_MODELS;
    } else if (sy_str_starts_with(path, SY_STR("/v1/models/")) && path.len > 11) {
        route = R_MODEL;
        model_id = sy_str_sub(path, 11, path.len);
    } else if (sy_str_starts_with(path, SY_STR("/openai/deployments/"))) {
        sy_str_t rest = sy_str_sub(path, 20, path.len);
        ptrdiff_t slash = sy_str_find_char(rest, '/');
        if (slash <= 0)
            return false;
        rt.azure = true;
        rt.deployment = sy_str_sub(rest, 0, (size_t)slash);
        sy_str_t op = sy_str_sub(rest, (size_t)slash, rest.len);
        if (sy_str_eq_c(op, "/chat/completions"))
            route = R_CHAT;
        else if (sy_str_eq_c(op, "/embeddings"))
            route = R_EMBED;
        else
            return false;
    } else {
        return false;
    }
    sy_sim_claim(call, &sy_sim_family_openai);
    if (rt.azure && sy_sim_query(call, "api-version").len == 0) {
        /* Azure answers a missing api-version with a bare 404. */
        oa_error(call, 404, "Resource not found", "invalid_request_error", NULL, "404");
        return true;
    }
    if (route == R_MODELS || route == R_MODEL) {
        if (!method_is(call, "GET") && !method_is(call, "HEAD")) {
            wrong_method(call);
            return true;
        }
        if (oa_auth(call, &rt))
            oa_models(call, model_id);
        return true;
    }
    if (!method_is(call, "POST")) {
        wrong_method(call);
        return true;
    }
    if (!oa_auth(call, &rt) || !oa_content_type(call))
        return true;
    /* Everything else a chat answer depends on is in the cache key. */
    if (route == R_CHAT && sy_sim_cache_lookup(call)) {
        oa_headers(call);
        sy_sim_cache_respond(call);
        return true;
    }
    if (!oa_body(call))
        return true;
    if (route == R_CHAT)
        oa_chat(call, &rt);
    else
        oa_embeddings(call, &rt);
    return true;
}

const sy_sim_family_t sy_sim_family_openai = {
    .name = "openai",
    .id = SY_SIM_FAMILY_OPENAI,
    .handle = oa_handle,
    .error_body = oa_error_body,
};
