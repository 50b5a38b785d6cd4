/*
 * test_openai.c - the OpenAI adapter and front door pieces the translation
 * cases do not reach (tests/data/translate covers the request/response
 * paths): the IR invariant checker, embeddings, the model list, error
 * bodies, error classification details, Azure paths.
 */
#include <stdlib.h>
#include "unit.h"
#include "api/openai.h"
#include "ir/check.h"
#include "providers/openai.h"
#include "providers/openai_internal.h"

static sy_ir_delta_t D(sy_ir_delta_kind_t k, uint32_t index)
{
    sy_ir_delta_t d;
    memset(&d, 0, sizeof(d));
    d.kind = k;
    d.index = index;
    d.finish = SY_IR_FINISH_STOP;
    d.error.cls = SY_IR_ERR_SERVER;
    return d;
}

/* Run a sequence through the checker: the index of the first delta it
 * refuses, -1 when all pass, -2 when only the end check fails. */
static int check_seq(const sy_ir_delta_t *ds, size_t n)
{
    sy_ir_check_t c;
    sy_ir_check_init(&c);
    for (size_t i = 0; i < n; i++)
        if (sy_ir_check_delta(&c, &ds[i]) != SY_OK)
            return (int)i;
    return sy_ir_check_end(&c) == SY_OK ? -1 : -2;
}

static void test_check_accepts(void)
{
    sy_ir_delta_t ok[] = {D(SY_IR_DELTA_START, 0),      D(SY_IR_DELTA_BLOCK_START, 0),
                          D(SY_IR_DELTA_TEXT, 0),       D(SY_IR_DELTA_BLOCK_STOP, 0),
                          D(SY_IR_DELTA_BLOCK_START, 1), D(SY_IR_DELTA_TOOL_ARGS, 1),
                          D(SY_IR_DELTA_BLOCK_STOP, 1), D(SY_IR_DELTA_USAGE, 0),
                          D(SY_IR_DELTA_FINISH, 0),     D(SY_IR_DELTA_USAGE, 0),
                          D(SY_IR_DELTA_END, 0)};
    ok[4].block = SY_IR_TOOL_CALL;
    CHECK_INT(check_seq(ok, SY_ARRAY_LEN(ok)), -1);
    /* an ERROR may end a stream anywhere, even before START */
    sy_ir_delta_t err_first[] = {D(SY_IR_DELTA_ERROR, 0)};
    CHECK_INT(check_seq(err_first, 1), -1);
    sy_ir_delta_t err_mid[] = {D(SY_IR_DELTA_START, 0), D(SY_IR_DELTA_BLOCK_START, 0),
                               D(SY_IR_DELTA_ERROR, 0)};
    CHECK_INT(check_seq(err_mid, 3), -1);
}

static void test_check_refuses(void)
{
    sy_ir_delta_t no_start[] = {D(SY_IR_DELTA_BLOCK_START, 0)};
    CHECK_INT(check_seq(no_start, 1), 0);
    sy_ir_delta_t overlap[] = {D(SY_IR_DELTA_START, 0), D(SY_IR_DELTA_BLOCK_START, 0),
                               D(SY_IR_DELTA_BLOCK_START, 1)};
    CHECK_INT(check_seq(overlap, 3), 2);
    sy_ir_delta_t skip[] = {D(SY_IR_DELTA_START, 0), D(SY_IR_DELTA_BLOCK_START, 1)};
    CHECK_INT(check_seq(skip, 2), 1);
    sy_ir_delta_t wrong_kind[] = {D(SY_IR_DELTA_START, 0), D(SY_IR_DELTA_BLOCK_START, 0),
                                  D(SY_IR_DELTA_TOOL_ARGS, 0)};
    CHECK_INT(check_seq(wrong_kind, 3), 2);
    sy_ir_delta_t wrong_index[] = {D(SY_IR_DELTA_START, 0), D(SY_IR_DELTA_BLOCK_START, 0),
                                   D(SY_IR_DELTA_TEXT, 1)};
    CHECK_INT(check_seq(wrong_index, 3), 2);
    sy_ir_delta_t finish_open[] = {D(SY_IR_DELTA_START, 0), D(SY_IR_DELTA_BLOCK_START, 0),
                                   D(SY_IR_DELTA_FINISH, 0)};
    CHECK_INT(check_seq(finish_open, 3), 2);
    sy_ir_delta_t two_finish[] = {D(SY_IR_DELTA_START, 0), D(SY_IR_DELTA_FINISH, 0),
                                  D(SY_IR_DELTA_FINISH, 0)};
    CHECK_INT(check_seq(two_finish, 3), 2);
    sy_ir_delta_t end_no_finish[] = {D(SY_IR_DELTA_START, 0), D(SY_IR_DELTA_END, 0)};
    CHECK_INT(check_seq(end_no_finish, 2), 1);
    sy_ir_delta_t after_end[] = {D(SY_IR_DELTA_START, 0), D(SY_IR_DELTA_FINISH, 0),
                                 D(SY_IR_DELTA_END, 0), D(SY_IR_DELTA_USAGE, 0)};
    CHECK_INT(check_seq(after_end, 4), 3);
    sy_ir_delta_t block_after_finish[] = {D(SY_IR_DELTA_START, 0), D(SY_IR_DELTA_FINISH, 0),
                                          D(SY_IR_DELTA_BLOCK_START, 0)};
    CHECK_INT(check_seq(block_after_finish, 3), 2);
    sy_ir_delta_t unfinished[] = {D(SY_IR_DELTA_START, 0), D(SY_IR_DELTA_FINISH, 0)};
    CHECK_INT(check_seq(unfinished, 2), -2);
    sy_ir_delta_t classless[] = {D(SY_IR_DELTA_ERROR, 0)};
    classless[0].error.cls = SY_IR_ERR_NONE;
    CHECK_INT(check_seq(classless, 1), 0);

    sy_ir_check_t c;
    sy_ir_check_init(&c);
    sy_ir_delta_t d = D(SY_IR_DELTA_TEXT, 0);
    CHECK(sy_ir_check_delta(&c, &d) == SY_EINVAL);
    CHECK(strstr(c.why, "before START") != NULL);
}

static void test_check_response(void)
{
    sy_ir_part_t p;
    memset(&p, 0, sizeof(p));
    p.kind = SY_IR_TOOL_CALL;
    p.name = SY_STR("f");
    p.arguments = SY_STR("{}");
    sy_ir_response_t r;
    memset(&r, 0, sizeof(r));
    r.parts = &p;
    r.nparts = 1;
    const char *why;
    CHECK(sy_ir_check_response(&r, &why) == SY_EINVAL); /* no finish */
    r.finish = SY_IR_FINISH_TOOL_CALLS;
    CHECK(sy_ir_check_response(&r, &why) == SY_OK);
    p.name = SY_STR("");
    CHECK(sy_ir_check_response(&r, &why) == SY_EINVAL);
    p.name = SY_STR("f");
    p.kind = SY_IR_TOOL_RESULT;
    CHECK(sy_ir_check_response(&r, &why) == SY_EINVAL);
}

static sy_provider_ctx_t ctx(const char *base, const char *path, bool azure)
{
    sy_provider_ctx_t cx;
    memset(&cx, 0, sizeof(cx));
    cx.base_url = sy_str_c(base);
    cx.base_path = sy_str_c(path);
    cx.api_key = SY_STR("key");
    cx.model = SY_STR("text-embedding-3-small");
    cx.azure = azure;
    return cx;
}

static void test_embeddings(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_openai_embeddings_t e;
    int status = 0;
    const char *msg = NULL;
    sy_str_t body = SY_STR("{\"model\":\"embed\",\"input\":[\"hello world\",\"abcd\"],"
                           "\"encoding_format\":\"float\",\"dimensions\":256,\"user\":\"u\"}");
    CHECK(sy_openai_embeddings_parse(a, body, &e, &status, &msg) == SY_OK);
    CHECK_STR(e.model, "embed");
    CHECK_INT(e.ninputs, 2);
    CHECK_INT(e.input_tokens, 4); /* 15 bytes, 4 a token */

    sy_provider_ctx_t cx = ctx("https://api.openai.com/v1", "/v1", false);
    sy_upstream_req_t u;
    CHECK(sy_openai_embeddings_encode(a, &cx, e.body, &u) == SY_OK);
    CHECK_STR(u.path, "/v1/embeddings");
    CHECK(strcmp(u.method, "POST") == 0);
    CHECK_STR(u.body, "{\"model\":\"text-embedding-3-small\",\"input\":[\"hello world\",\"abcd\"],"
                      "\"encoding_format\":\"float\",\"dimensions\":256,\"user\":\"u\"}");
    CHECK(u.headers && sy_str_eq_c(u.headers->value, "Bearer key"));

    sy_provider_ctx_t az = ctx("https://r.openai.azure.com", "", true);
    CHECK(sy_openai_embeddings_encode(a, &az, e.body, &u) == SY_OK);
    CHECK_STR(u.path, "/openai/deployments/text-embedding-3-small/embeddings?api-version="
                      SY_OPENAI_AZURE_API_VERSION);
    CHECK(u.headers && sy_str_eq_c(u.headers->name, "api-key"));

    /* token arrays count exactly */
    CHECK(sy_openai_embeddings_parse(a, SY_STR("{\"model\":\"m\",\"input\":[[1,2,3],[4]]}"), &e,
                                     &status, &msg) == SY_OK);
    CHECK_INT(e.input_tokens, 4);
    CHECK_INT(e.ninputs, 2);
    CHECK(sy_openai_embeddings_parse(a, SY_STR("{\"model\":\"m\",\"input\":[1,2,3]}"), &e, &status,
                                     &msg) == SY_OK);
    CHECK_INT(e.ninputs, 1);

    static const char *const bad[] = {
        "{\"input\":\"x\"}",
        "{\"model\":\"m\"}",
        "{\"model\":\"m\",\"input\":[]}",
        "{\"model\":\"m\",\"input\":{}}",
        "{\"model\":\"m\",\"input\":[\"a\",3.5]}",
        "{\"model\":\"m\",\"input\":\"a\",\"encoding_format\":\"int8\"}",
        "{\"model\":\"m\",\"input\":\"a\",\"dimensions\":0}",
        "[1]",
        "{",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        status = 0;
        CHECK(sy_openai_embeddings_parse(a, sy_str_c(bad[i]), &e, &status, &msg) == SY_EINVAL);
        CHECK_INT(status, 400);
    }

    sy_buf_t out;
    sy_buf_init(&out, 0);
    CHECK(sy_openai_embeddings_respond(
              a, SY_STR("{\"object\":\"list\",\"data\":[],\"model\":\"text-embedding-3-small\","
                        "\"usage\":{\"prompt_tokens\":5,\"total_tokens\":5}}"),
              SY_STR("embed"), &out) == SY_OK);
    CHECK_STR(sy_buf_str(&out), "{\"object\":\"list\",\"data\":[],\"model\":\"embed\",\"usage\":{"
                                "\"prompt_tokens\":5,\"total_tokens\":5}}");
    sy_ir_usage_t usage;
    sy_openai_embeddings_usage(a, sy_buf_str(&out), &usage);
    CHECK(usage.has_input && usage.input == 5 && usage.has_output && usage.output == 0);
    sy_buf_free(&out);
    sy_arena_free(a);
}

static void test_models(void)
{
    sy_buf_t out;
    sy_buf_init(&out, 0);
    sy_str_t names[] = {SY_STR("gpt-4o-mini"), SY_STR("claude-sonnet")};
    CHECK(sy_openai_models_list(names, 2, 1700000000, NULL, &out) == SY_OK);
    CHECK_STR(sy_buf_str(&out),
              "{\"object\":\"list\",\"data\":[{\"id\":\"gpt-4o-mini\",\"object\":\"model\","
              "\"created\":1700000000,\"owned_by\":\"switchyard\"},{\"id\":\"claude-sonnet\","
              "\"object\":\"model\",\"created\":1700000000,\"owned_by\":\"switchyard\"}]}");
    sy_buf_clear(&out);
    CHECK(sy_openai_models_list(NULL, 0, 0, "acme", &out) == SY_OK);
    CHECK_STR(sy_buf_str(&out), "{\"object\":\"list\",\"data\":[]}");
    sy_buf_clear(&out);
    CHECK(sy_openai_model_object(SY_STR("m"), 1, "acme", &out) == SY_OK);
    CHECK_STR(sy_buf_str(&out), "{\"id\":\"m\",\"object\":\"model\",\"created\":1,\"owned_by\":\"acme\"}");
    sy_buf_free(&out);
}

static void error_body_code(int status, const char *type, const char *code, const char *msg,
                            const char *want)
{
    sy_buf_t out;
    sy_buf_init(&out, 0);
    sy_openai_fd_error_body(status, type, code, msg, &out);
    CHECK_STR(sy_buf_str(&out), want);
    sy_buf_free(&out);
}

static void error_body(int status, const char *type, const char *msg, const char *want)
{
    sy_buf_t out;
    sy_buf_init(&out, 0);
    sy_openai_fd_error_body(status, type, NULL, msg, &out);
    CHECK_STR(sy_buf_str(&out), want);
    sy_buf_free(&out);
}

static void test_error_body(void)
{
    error_body(401, NULL, "Invalid API key.",
               "{\"error\":{\"message\":\"Invalid API key.\",\"type\":\"authentication_error\","
               "\"param\":null,\"code\":null}}");
    error_body(403, NULL, "no", "{\"error\":{\"message\":\"no\",\"type\":\"permission_error\","
                               "\"param\":null,\"code\":null}}");
    error_body_code(404, NULL, "model_not_found",
                    "The model `x` does not exist or you do not have access to it.",
                    "{\"error\":{\"message\":\"The model `x` does not exist or you do not have "
                    "access to it.\",\"type\":\"not_found_error\",\"param\":null,\"code\":"
                    "\"model_not_found\"}}");
    /* the code is what the caller says, never read from the message's words */
    error_body(429, NULL, "Rate limit reached for requests",
               "{\"error\":{\"message\":\"Rate limit reached for requests\",\"type\":"
               "\"rate_limit_error\",\"param\":null,\"code\":null}}");
    error_body_code(429, "requests", "rate_limit_exceeded", "slow down",
                    "{\"error\":{\"message\":\"slow down\",\"type\":\"requests\",\"param\":"
                    "null,\"code\":\"rate_limit_exceeded\"}}");
    error_body(429, NULL, "slow down", "{\"error\":{\"message\":\"slow down\",\"type\":"
                                      "\"rate_limit_error\",\"param\":null,\"code\":null}}");
    error_body(500, NULL, "x", "{\"error\":{\"message\":\"x\",\"type\":\"server_error\","
                              "\"param\":null,\"code\":null}}");
    error_body(502, NULL, "x", "{\"error\":{\"message\":\"x\",\"type\":\"api_error\","
                              "\"param\":null,\"code\":null}}");
    error_body(413, "invalid_request_error", "too big",
               "{\"error\":{\"message\":\"too big\",\"type\":\"invalid_request_error\","
               "\"param\":null,\"code\":null}}");
    error_body(400, NULL, "Invalid 'top_p': decimal below minimum value. Expected...",
               "{\"error\":{\"message\":\"Invalid 'top_p': decimal below minimum value. "
               "Expected...\",\"type\":\"invalid_request_error\",\"param\":\"top_p\",\"code\":"
               "\"decimal_below_min_value\"}}");
    /* a quote that never closes names no parameter */
    error_body(400, NULL, "Invalid type for 'x", "{\"error\":{\"message\":\"Invalid type for 'x\","
                                                "\"type\":\"invalid_request_error\",\"param\":null,"
                                                "\"code\":null}}");
}

static void map(int status, const sy_http_header_t *h, size_t nh, const char *body,
                sy_ir_error_t *e)
{
    sy_provider_openai.map_error(status, h, nh, sy_str_c(body), e);
}

static void test_map_error(void)
{
    sy_ir_error_t e;
    /* vLLM / Mistral flat shape */
    map(400, NULL, 0, "{\"object\":\"error\",\"message\":\"bad thing\",\"type\":\"BadRequestError\","
                      "\"code\":400}", &e);
    CHECK_INT(e.cls, SY_IR_ERR_BAD_REQUEST);
    CHECK_STR(e.message, "bad thing");
    CHECK_STR(e.type, "400");
    /* FastAPI detail */
    map(422, NULL, 0, "{\"detail\":\"field required\"}", &e);
    CHECK_INT(e.cls, SY_IR_ERR_BAD_REQUEST);
    CHECK_STR(e.message, "field required");
    /* not JSON at all */
    map(503, NULL, 0, "<html>busy</html>", &e);
    CHECK_INT(e.cls, SY_IR_ERR_OVERLOADED);
    CHECK_STR(e.message, "the upstream provider answered HTTP 503");
    /* context length from the message alone (compatible servers) */
    map(400, NULL, 0, "{\"error\":{\"message\":\"This model's maximum context length is 8192 tokens\"}}",
        &e);
    CHECK_INT(e.cls, SY_IR_ERR_CONTEXT_LENGTH);
    /* Retry-After in seconds; durations from the message */
    sy_http_header_t ra[] = {{SY_STR("Retry-After"), SY_STR("7")}};
    map(429, ra, 1, "{}", &e);
    CHECK_INT(e.retry_after_ms, 7000);
    map(429, NULL, 0, "{\"error\":{\"message\":\"Limit reached. Please try again in 20ms.\"}}", &e);
    CHECK_INT(e.retry_after_ms, 20);
    map(429, NULL, 0, "{\"error\":{\"message\":\"Please try again in 1m30s. Visit ...\"}}", &e);
    CHECK_INT(e.retry_after_ms, 90000);
    /* both limits ran out: the later reset */
    sy_http_header_t both[] = {{SY_STR("x-ratelimit-reset-requests"), SY_STR("2s")},
                               {SY_STR("x-ratelimit-reset-tokens"), SY_STR("500ms")}};
    map(429, both, 2, "{}", &e);
    CHECK_INT(e.retry_after_ms, 2000);
    /* a long message is cut at a UTF-8 boundary, never mid-character */
    char big[3000];
    size_t n = 0;
    n += (size_t)snprintf(big, sizeof(big), "{\"error\":{\"message\":\"");
    while (n < 2900) {
        memcpy(big + n, "\xc3\xa9", 2); /* é */
        n += 2;
    }
    memcpy(big + n, "\"}}", 4);
    map(400, NULL, 0, big, &e);
    CHECK(e.message.len < 1024 && e.message.len % 2 == 0);
}

static void test_encode_paths(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_ir_request_t req;
    int status;
    const char *msg;
    CHECK(sy_openai_fd_parse(a, SY_STR("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"),
                             &req, &status, &msg) == SY_OK);
    sy_upstream_req_t u;
    sy_ir_error_t err;
    /* base_url already ending in /openai; a deployment name that needs escaping */
    sy_provider_ctx_t az = ctx("https://r.openai.azure.com/openai", "/openai/", true);
    az.model = SY_STR("my dep");
    CHECK(sy_provider_openai.encode(a, &az, &req, &u, &err) == SY_OK);
    CHECK_STR(u.path, "/openai/deployments/my%20dep/chat/completions?api-version=" SY_OPENAI_AZURE_API_VERSION);
    /* a keyless local server: no Authorization header */
    sy_provider_ctx_t local = ctx("http://127.0.0.1:11434/v1", "/v1", false);
    local.api_key = SY_STR("");
    CHECK(sy_provider_openai.encode(a, &local, &req, &u, &err) == SY_OK);
    CHECK(u.headers == NULL);
    CHECK_STR(u.path, "/v1/chat/completions");
    sy_arena_free(a);
}

static void test_usage_variants(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_ir_response_t r;
    sy_ir_error_t err;
    sy_provider_ctx_t cx = ctx("https://api.x.ai/v1", "/v1", false);
    /* xAI: completion_tokens excludes reasoning (total says so) */
    CHECK(sy_provider_openai.decode(
              a, &cx,
              SY_STR("{\"id\":\"x\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                     "\"content\":\"4\",\"reasoning_content\":\"2+2\"},\"finish_reason\":\"stop\"}],"
                     "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":2,\"total_tokens\":42,"
                     "\"completion_tokens_details\":{\"reasoning_tokens\":30}}}"),
              &r, &err) == SY_OK);
    CHECK_INT(r.usage.output, 32);
    CHECK_INT(r.usage.reasoning, 30);
    CHECK_INT(r.nparts, 2);
    CHECK_INT(r.parts[0].kind, SY_IR_THINKING);
    /* DeepSeek cache hits; a refusal; tool calls after "stop" */
    CHECK(sy_provider_openai.decode(
              a, &cx,
              SY_STR("{\"choices\":[{\"message\":{\"content\":null,\"refusal\":\"I can't.\"},"
                     "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,"
                     "\"completion_tokens\":2,\"prompt_cache_hit_tokens\":8}}"),
              &r, &err) == SY_OK);
    CHECK_INT(r.usage.cached_input, 8);
    CHECK_INT(r.finish, SY_IR_FINISH_REFUSAL);
    CHECK(sy_provider_openai.decode(
              a, &cx,
              SY_STR("{\"choices\":[{\"message\":{\"tool_calls\":[{\"function\":{\"name\":\"f\","
                     "\"arguments\":{\"a\":1}}}]},\"finish_reason\":\"stop\"}]}"),
              &r, &err) == SY_OK);
    CHECK_INT(r.finish, SY_IR_FINISH_TOOL_CALLS);
    CHECK_STR(r.parts[0].arguments, "{\"a\":1}");
    CHECK(r.parts[0].call_id.len > 5); /* synthesised */
    /* an error object in a 200 body */
    CHECK(sy_provider_openai.decode(a, &cx, SY_STR("{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}"),
                                    &r, &err) == SY_EINVAL);
    CHECK_INT(err.cls, SY_IR_ERR_SERVER);
    CHECK_STR(err.message, "boom");
    sy_arena_free(a);
}

/* The front door finds the members it reads in one pass over the body and
 * over each message: a repeated key keeps its last value (as sy_json_get
 * and the providers' parsers do), and each error still names its path. */
static void test_fd_members(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_ir_request_t r;
    int status = 0;
    const char *msg = NULL;
    CHECK_INT(sy_openai_fd_parse(a,
                                 SY_STR("{\"model\":\"first\",\"max_tokens\":5,\"messages\":[{\"role\":"
                                        "\"user\",\"content\":\"a\",\"content\":\"b\",\"name\":\"n\"}],"
                                        "\"model\":\"last\",\"max_tokens\":7,\"temperature\":null,"
                                        "\"top_p\":0.5,\"stream\":false,\"user\":\"u\",\"seed\":3,"
                                        "\"unknown\":{\"model\":\"x\"}}"),
                                 &r, &status, &msg),
              SY_OK);
    CHECK_STR(r.model, "last");
    CHECK_INT(r.max_tokens, 7);
    CHECK(!r.has_temperature && r.has_top_p && r.top_p == 0.5);
    CHECK_STR(r.user, "u");
    CHECK(r.has_seed && r.seed == 3);
    CHECK_INT(r.nmessages, 1);
    CHECK_STR(r.messages[0].parts[0].text, "b");
    CHECK_STR(r.messages[0].name, "n");
    struct {
        const char *body, *message;
    } bad[] = {
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"model\":\"m\",\"model\":\"\"}",
         "you must provide a model parameter"},
        {"{\"model\":\"m\",\"messages\":[{\"content\":\"a\"}]}",
         "Missing required parameter: 'messages[0].role'."},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":1}]}",
         "Invalid type for 'messages[1].role': expected a string, but got an integer instead."},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\",\"name\":[]}]}",
         "Invalid type for 'messages[0].name': expected a string, but got an array instead."},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\",\"content\":null}]}",
         "Missing required parameter: 'messages[0].content'."},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"a\"}]}",
         "Missing required parameter: 'messages[0].tool_call_id'."},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"n\":2,\"n\":1,"
         "\"max_tokens\":0}",
         "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead."},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"top_p\":2}",
         "Invalid 'top_p': decimal above maximum value. Expected a value <= 1, but got 2 instead."},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"stream\":1}",
         "Invalid type for 'stream': expected a boolean, but got an integer instead."},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        msg = NULL;
        CHECK_INT(sy_openai_fd_parse(a, sy_str_c(bad[i].body), &r, &status, &msg), SY_EINVAL);
        CHECK_INT(status, 400);
        CHECK(msg && strcmp(msg, bad[i].message) == 0);
        if (msg && strcmp(msg, bad[i].message) != 0)
            fprintf(stderr, "  got: %s\n", msg);
    }
    sy_arena_free(a);
}

/* The usage of a relayed answer, found without decoding it. */
static int pt_usage(sy_arena_t *a, const char *body, sy_ir_usage_t *u)
{
    memset(u, 0xab, sizeof(*u)); /* untouched on SY_EAGAIN */
    return sy_provider_openai.passthrough_usage(a, sy_str_c(body), u);
}

static void test_passthrough_usage(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_ir_usage_t u;
    /* the simulator's answer: usage is not the last member */
    const char *sim =
        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o-mini\","
        "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\","
        "\"refusal\":null,\"annotations\":[]},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
        "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":16,\"total_tokens\":23,"
        "\"prompt_tokens_details\":{\"cached_tokens\":3,\"audio_tokens\":0},"
        "\"completion_tokens_details\":{\"reasoning_tokens\":0}},"
        "\"service_tier\":\"default\",\"system_fingerprint\":\"fp_d0a4931525\"}";
    CHECK_INT(pt_usage(a, sim, &u), SY_OK);
    /* the same figures as the whole decode */
    sy_provider_ctx_t cx = ctx("https://api.openai.com/v1", "/v1", false);
    sy_ir_response_t r;
    sy_ir_error_t err;
    CHECK(sy_provider_openai.decode(a, &cx, sy_str_c(sim), &r, &err) == SY_OK);
    CHECK(memcmp(&u, &r.usage, sizeof(u)) == 0);
    CHECK_INT(u.input, 7);
    CHECK_INT(u.output, 16);
    CHECK_INT(u.cached_input, 3);
    /* cut anywhere (a body read in pieces and not yet whole): never taken */
    size_t n = strlen(sim);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(sy_provider_openai.passthrough_usage(a, sy_str(sim, i), &u), SY_EAGAIN);
    /* strings and nested objects that mention usage do not fool it */
    CHECK_INT(pt_usage(a,
                       "{\"choices\":[{\"message\":{\"content\":\"x\\\",\\\"usage\\\":{\\\"prompt_tokens\\\":999}}\","
                       "\"usage\":{\"prompt_tokens\":998}}}],\"usage\":{\"prompt_tokens\":5,"
                       "\"completion_tokens\":6},\"x\":\"\\\\\"}",
                       &u),
              SY_OK);
    CHECK_INT(u.input, 5);
    CHECK_INT(u.output, 6);
    /* usage first; whitespace everywhere */
    CHECK_INT(pt_usage(a, " { \"usage\" : { \"prompt_tokens\" : 1 , \"completion_tokens\" : 2 } ,"
                          " \"choices\" : [ { \"message\" : { } } ] } \n", &u),
              SY_OK);
    CHECK_INT(u.input, 1);
    CHECK_INT(u.output, 2);
    /* no usage at all (only inside a string): nothing reported */
    CHECK_INT(pt_usage(a, "{\"choices\":[{\"message\":{\"content\":\"\\\"usage\\\":{\\\"prompt_tokens\\\":9}\"}}]}", &u),
              SY_OK);
    CHECK(!u.has_input && !u.has_output && u.input == 0);
    CHECK_INT(pt_usage(a, "{\"choices\":[{}],\"usage\":null}", &u), SY_OK);
    CHECK(!u.has_input && !u.has_output);
    /* read as the whole decode reads it: usage variants give the same figures */
    const char *variants[] = {
        "{\"prompt_tokens\":10,\"completion_tokens\":2,\"total_tokens\":42,"
        "\"completion_tokens_details\":{\"reasoning_tokens\":30}}", /* xAI: reasoning outside */
        "{\"prompt_tokens\":10,\"completion_tokens\":32,\"total_tokens\":42,"
        "\"completion_tokens_details\":{\"reasoning_tokens\":30}}", /* OpenAI: inside */
        "{\"prompt_tokens\":10,\"completion_tokens\":2,\"prompt_cache_hit_tokens\":8}", /* DeepSeek */
        "{\"prompt_tokens\":10,\"prompt_tokens_details\":{\"cached_tokens\":4},"
        "\"prompt_cache_hit_tokens\":8}",
        "{\"prompt_tokens\":1,\"prompt_tokens\":2,\"completion_tokens\":3.5,\"total_tokens\":-1}",
        "{\"prompt_tokens\":\"7\",\"completion_tokens\":null,\"prompt_tokens_details\":null,"
        "\"completion_tokens_details\":{\"reasoning_tokens\":1,\"reasoning_tokens\":2}}",
        "{\"prompt_tokens\":1e2,\"completion_tokens\":0,\"x\":[{\"prompt_tokens\":5}]}",
        "{\"pro\\u006dpt_tokens\":1}", /* an escaped key inside usage: parsed */
        "{}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(variants); i++) {
        const char *body = sy_arena_sprintf(a, "{\"choices\":[{\"message\":{\"content\":\"x\"}}],\"usage\":%s}",
                                            variants[i]);
        CHECK_INT(pt_usage(a, body, &u), SY_OK);
        CHECK(sy_provider_openai.decode(a, &cx, sy_str_c(body), &r, &err) == SY_OK);
        CHECK(memcmp(&u, &r.usage, sizeof(u)) == 0);
    }
    /* unsure: the whole decode decides */
    const char *unsure[] = {
        "{\"error\":{\"message\":\"boom\"},\"choices\":[{}]}",              /* an error member */
        "{\"usage\":{\"prompt_tokens\":1}}",                                /* no choices */
        "{\"choices\":[],\"usage\":{\"prompt_tokens\":1}}",                 /* no choice */
        "{\"choices\":{},\"usage\":{\"prompt_tokens\":1}}",                 /* not an array */
        "{\"choices\":[{}],\"us\\u0061ge\":{\"prompt_tokens\":1}}",         /* a key with escapes */
        "{\"choices\":[{}],\"usage\":{\"prompt_tokens\":1},\"usage\":{}}",  /* usage twice */
        "{\"choices\":[{}],\"usage\":{\"prompt_tokens\":}}",                /* malformed usage */
        "{\"choices\":[{}],\"usage\":{\"prompt_tokens\":01}}",              /* not a number */
        "{\"choices\":[{}],\"usage\":[1]}",                                 /* not an object */
        "{\"choices\":[{]},\"usage\":{\"prompt_tokens\":1}}",               /* brackets crossed */
        "{\"choices\":[{}],\"usage\":{\"prompt_tokens\":1}} x",             /* text after */
        "[{\"choices\":[{}]}]",                                             /* not an object */
        "",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(unsure); i++) {
        CHECK_INT(pt_usage(a, unsure[i], &u), SY_EAGAIN);
        CHECK(u.input == 0xababababababababull); /* left as it was */
    }
    sy_arena_free(a);
}

/*
 * The usage read from its text (sy_openai_usage_text) against the parse
 * and tree read it stands in for, on random usage objects: known and
 * unknown keys, repeated and escaped keys, counts written plainly and not
 * (1e2, 1.0, -3, 01, 20 digits), literals, strings, arrays, the details
 * objects and scalars in their place, whitespace; then cut short or with
 * a byte changed. Whenever the text reader answers, the parse must accept
 * the text and give the same usage; and through the whole passthrough
 * read, the answer must be what the parse alone gives (SY_EAGAIN when it
 * refuses).
 */
static uint64_t usage_rng = 88172645463325252ull;
static unsigned usage_rand(unsigned n)
{
    usage_rng ^= usage_rng << 13;
    usage_rng ^= usage_rng >> 7;
    usage_rng ^= usage_rng << 17;
    return (unsigned)(usage_rng % n);
}

static void usage_put(sy_buf_t *b, const char *s)
{
    sy_buf_append_c(b, s);
    if (usage_rand(8) == 0)
        sy_buf_append_c(b, usage_rand(2) ? " " : "\n\t");
}

static void usage_value(sy_buf_t *b, int depth);

/* An object of n members, each a key drawn from keys and a random value. */
static void usage_members(sy_buf_t *b, const char *const *keys, size_t nkeys, unsigned n,
                          int depth)
{
    usage_put(b, "{");
    for (unsigned i = 0; i < n; i++) {
        if (i)
            usage_put(b, ",");
        usage_put(b, "\"");
        sy_buf_append_c(b, keys[usage_rand((unsigned)nkeys)]);
        usage_put(b, "\":");
        usage_value(b, depth);
    }
    usage_put(b, "}");
}

static void usage_value(sy_buf_t *b, int depth)
{
    static const char *counts[] = {"0", "7", "16", "123456789", "9999999999999999999",
                                   "18446744073709551615", "18446744073709551616", "1e2",
                                   "1.0", "1.5", "-3", "-0", "01", "2E+1", "null", "true", "false",
                                   "\"7\"", "[1]", "[]", "{}", "nul", "1.", "-", "tru"};
    /* mostly plain counts, so whole objects often take the text reader */
    unsigned k = usage_rand(3) ? usage_rand(4) : usage_rand(depth < 2 ? 30 : SY_ARRAY_LEN(counts));
    if (depth < 2 && usage_rand(6) == 0)
        k = SY_ARRAY_LEN(counts); /* an object */
    if (k >= SY_ARRAY_LEN(counts)) {
        static const char *const keys[] = {"cached_tokens", "reasoning_tokens",
                                           "audio_tokens", "accepted_prediction_tokens",
                                           "prompt_tokens"};
        usage_members(b, keys, SY_ARRAY_LEN(keys), usage_rand(4), depth + 1);
        return;
    }
    usage_put(b, counts[k]);
}

static void usage_object(sy_buf_t *b)
{
    static const char *const keys[] = {"prompt_tokens", "completion_tokens", "total_tokens",
                                       "prompt_cache_hit_tokens", "prompt_tokens_details",
                                       "completion_tokens_details", "cached_tokens", "x", "",
                                       "pro\\u006dpt_tokens", "\xc3\xa9", "queue_time"};
    usage_members(b, keys, SY_ARRAY_LEN(keys), usage_rand(8), 0);
}

static void test_usage_text_random(void)
{
    sy_arena_t *a = sy_arena_new(0);
    size_t fast = 0, total = 0;
    for (int iter = 0; iter < 30000; iter++) {
        sy_buf_t b;
        sy_buf_init(&b, 0);
        usage_object(&b);
        size_t len = b.len;
        char *text = sy_arena_alloc(a, len + 1);
        memcpy(text, sy_buf_ptr(&b), len);
        sy_buf_free(&b);
        if (iter % 5 == 3)
            len = usage_rand((unsigned)len + 1);
        else if (iter % 5 == 4 && len)
            text[usage_rand((unsigned)len)] = "{}:,\"\\01-e."[usage_rand(11)];
        sy_str_t t = sy_str(text, len);
        /* the reference: parse, then read the tree */
        sy_json_t *u = NULL;
        bool parses = sy_json_parse(a, t.p, t.len, NULL, &u, NULL) == SY_OK &&
                      sy_json_is(u, SY_JSON_OBJECT);
        sy_ir_usage_t want, got;
        memset(&want, 0, sizeof(want));
        if (parses)
            sy_openai_read_usage(u, &want);
        sy_openai_counts_t c;
        if (sy_openai_usage_text(t, &c) == SY_OK) {
            fast++;
            memset(&got, 0, sizeof(got));
            sy_openai_usage_from_counts(&c, &got);
            CHECK(parses);
            CHECK(memcmp(&got, &want, sizeof(got)) == 0);
        }
        /* the whole passthrough read of an answer holding it */
        char *body = sy_arena_sprintf(a, "{\"choices\":[{}],\"usage\":%.*s}", (int)t.len, t.p);
        memset(&got, 0xab, sizeof(got));
        int rc = sy_provider_openai.passthrough_usage(a, sy_str_c(body), &got);
        if (parses) {
            CHECK_INT(rc, SY_OK);
            CHECK(memcmp(&got, &want, sizeof(got)) == 0);
        } else {
            CHECK_INT(rc, SY_EAGAIN);
        }
        total++;
        sy_arena_reset(a);
    }
    printf("usage_text_random: %zu of %zu read from the text\n", fast, total);
    CHECK(fast > total / 10); /* the text reader answers often, not only its fall-back */
    /* the simulator's usage, and OpenAI's, are read from the text */
    sy_openai_counts_t c;
    CHECK_INT(sy_openai_usage_text(
                  SY_STR("{\"prompt_tokens\":7,\"completion_tokens\":16,\"total_tokens\":23,"
                         "\"prompt_tokens_details\":{\"cached_tokens\":3,\"audio_tokens\":0},"
                         "\"completion_tokens_details\":{\"reasoning_tokens\":4,\"audio_tokens\":0,"
                         "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}"),
                  &c),
              SY_OK);
    CHECK(c.has[SY_OPENAI_PROMPT] && c.n[SY_OPENAI_PROMPT] == 7);
    CHECK(c.has[SY_OPENAI_COMPLETION] && c.n[SY_OPENAI_COMPLETION] == 16);
    CHECK(c.has[SY_OPENAI_TOTAL] && c.n[SY_OPENAI_TOTAL] == 23);
    CHECK(c.has[SY_OPENAI_CACHED] && c.n[SY_OPENAI_CACHED] == 3);
    CHECK(c.has[SY_OPENAI_REASONING] && c.n[SY_OPENAI_REASONING] == 4);
    CHECK(!c.has[SY_OPENAI_CACHE_HIT]);
    sy_arena_free(a);
}

/* The client's body relayed: only the model (and stream usage) rewritten. */
static void test_passthrough_body(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_provider_ctx_t cx = ctx("http://127.0.0.1:9/v1", "/v1", false);
    cx.model = SY_STR("up\"model");
    sy_upstream_req_t u;
    const char *body = "{ \"model\" : \"gpt\", \"messages\":[{\"role\":\"user\",\"content\":\"{\\\"model\\\":1}\"}],"
                       "\"temperature\":0.70, \"x_unknown\":{\"a\":[1,2]},\"model\":\"again\"}";
    CHECK_INT(sy_provider_openai.passthrough(a, &cx, sy_str_c(body), false, &u), SY_OK);
    CHECK_STR(u.body, "{\"model\":\"up\\\"model\",\"messages\":[{\"role\":\"user\",\"content\":\"{\\\"model\\\":1}\"}],"
                      "\"temperature\":0.70,\"x_unknown\":{\"a\":[1,2]},\"model\":\"up\\\"model\"}");
    CHECK_STR(u.path, "/v1/chat/completions");
    CHECK(!u.stream);
    /* streams ask for usage: stream_options merged or added */
    CHECK_INT(sy_provider_openai.passthrough(
                  a, &cx,
                  SY_STR("{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":false,\"x\":1}}"),
                  true, &u),
              SY_OK);
    CHECK_STR(u.body, "{\"model\":\"up\\\"model\",\"stream\":true,\"stream_options\":{\"include_usage\":true,\"x\":1}}");
    CHECK(u.stream);
    CHECK_INT(sy_provider_openai.passthrough(a, &cx, SY_STR("{\"model\":\"m\",\"stream\":true}"), true, &u),
              SY_OK);
    CHECK_STR(u.body, "{\"model\":\"up\\\"model\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
    CHECK_INT(sy_provider_openai.passthrough(a, &cx, SY_STR("{\"model\":\"m\",\"stream_options\":null}"), true, &u),
              SY_OK);
    CHECK_STR(u.body, "{\"model\":\"up\\\"model\",\"stream_options\":{\"include_usage\":true}}");
    /* a key written with escapes may spell "model": not relayed */
    CHECK_INT(sy_provider_openai.passthrough(a, &cx, SY_STR("{\"mod\\u0065l\":\"m\"}"), false, &u), SY_EAGAIN);
    CHECK_INT(sy_provider_openai.passthrough(a, &cx, SY_STR("{\"model\":\"m\""), false, &u), SY_EAGAIN);
    /* a duplicate stream_options: one merged member */
    CHECK_INT(sy_provider_openai.passthrough(
                  a, &cx, SY_STR("{\"stream_options\":{\"x\":1},\"model\":\"m\",\"stream_options\":{}}"),
                  true, &u),
              SY_OK);
    CHECK_STR(u.body, "{\"stream_options\":{\"include_usage\":true,\"x\":1},\"model\":\"up\\\"model\"}");
    sy_arena_free(a);
}

/* A body that grows past the room tried first in the arena (many model
 * members, each rewritten longer): relayed the same through the growing
 * buffer. */
static void test_passthrough_body_grows(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_provider_ctx_t cx = ctx("http://127.0.0.1:9/v1", "/v1", false);
    cx.model = SY_STR("a-rather-long-upstream-model-name\x01");
    for (int members = 1; members <= 40; members++) {
        char body[1024], want[8192];
        size_t bn = 0, wn = 0;
        body[bn++] = '{';
        wn += (size_t)snprintf(want + wn, sizeof(want) - wn, "{");
        for (int i = 0; i < members; i++) {
            bn += (size_t)snprintf(body + bn, sizeof(body) - bn, "%s\"model\":%d", i ? "," : "", i);
            wn += (size_t)snprintf(want + wn, sizeof(want) - wn,
                                   "%s\"model\":\"a-rather-long-upstream-model-name\\u0001\"", i ? "," : "");
        }
        body[bn++] = '}';
        want[wn++] = '}';
        want[wn] = '\0';
        sy_upstream_req_t u;
        CHECK_INT(sy_provider_openai.passthrough(a, &cx, sy_str(body, bn), false, &u), SY_OK);
        CHECK_STR(u.body, want);
        CHECK(u.body.p[u.body.len] == '\0');
    }
    sy_arena_free(a);
}

int main(void)
{
    RUN(test_check_accepts);
    RUN(test_check_refuses);
    RUN(test_check_response);
    RUN(test_embeddings);
    RUN(test_models);
    RUN(test_error_body);
    RUN(test_map_error);
    RUN(test_encode_paths);
    RUN(test_usage_variants);
    RUN(test_fd_members);
    RUN(test_passthrough_usage);
    RUN(test_usage_text_random);
    RUN(test_passthrough_body);
    RUN(test_passthrough_body_grows);
    return unit_done();
}
