/*
 * test_gemini.c - the Gemini adapter: request encoding (contents, tools and
 * schema conversion, generation settings, signatures, tool-result names),
 * stream and whole-body decoding over real recordings (vercel-ai chunks
 * with their SSE framing restored, raw Firebase/Vertex SSE), and errors.
 */
#include "provider_test.h"

#include "providers/adapters.h"
#include "providers/gemini.h"

static const sy_provider_vt_t *vt = &sy_provider_gemini;

static sy_provider_ctx_t ctx(const char *model)
{
    sy_provider_ctx_t cx;
    memset(&cx, 0, sizeof(cx));
    cx.provider_name = SY_STR("gemini-test");
    cx.base_url = SY_STR("https://generativelanguage.googleapis.com");
    cx.base_path = SY_STR("");
    cx.api_key = SY_STR("AIza-test-key");
    cx.model = sy_str_c(model);
    return cx;
}

#define S(lit) SY_STR(lit)

/* Run a chunks.txt recording through the stream decoder (three splits). */
static void stream_chunks(const char *rel, trace_t *t)
{
    sy_provider_ctx_t cx = ctx("gemini-3-pro-preview");
    run_stream_file(vt, &cx, td_sse_from_chunks(rel), t);
}

static void stream_raw(const char *rel, trace_t *t)
{
    sy_provider_ctx_t cx = ctx("gemini-2.5-flash");
    run_stream_file(vt, &cx, td_read(rel), t);
}

#define GC "google/vercel-ai/generate-content/"
#define FB "google/firebase-vertexai-sdk-test-data/"

/* ------------------------------------------------------------ streams --- */

static void test_stream_text(void)
{
    trace_t t;
    stream_chunks(GC "google-text.chunks.txt", &t);
    CHECK(trace_has(&t, "START id=bH6LaZW8Fp_3nsEPqtaSwQ4 model=gemini-3-pro-preview\n"
                        "BLOCK_START 0 TEXT\nTEXT 0 \"There are **3**\"\n"));
    CHECK(trace_has(&t, "USAGE in=9 out=190 reasoning=185\n"));
    /* the signature on the final empty text part: a thinking block after the text */
    CHECK(trace_has(&t, "BLOCK_STOP 0\nBLOCK_START 1 THINKING\nSIGNATURE 1 \"EqsFCqgFAb4"));
    CHECK(trace_has(&t, "USAGE in=9 out=208 reasoning=185\nBLOCK_STOP 0\n"));
    CHECK(trace_has(&t, "BLOCK_STOP 1\nFINISH stop\nEND\n"));
    const sy_ir_response_t *r = trace_response(&t);
    CHECK_INT(r->nparts, 2);
    CHECK_STR(r->parts[0].text, "There are **3** \"r\"s in strawberry.\n\nst**r**awbe**rr**y");
    CHECK(r->parts[1].kind == SY_IR_THINKING && r->parts[1].text.len == 0 &&
          r->parts[1].signature.len > 100);
    CHECK_INT(r->usage.input, 9);
    CHECK_INT(r->usage.output, 208); /* 23 candidates + 185 thoughts */
    CHECK_INT(r->usage.reasoning, 185);
    CHECK(r->finish == SY_IR_FINISH_STOP);
    trace_free(&t);
}

static void test_stream_tool_call_gemini3(void)
{
    trace_t t;
    stream_chunks(GC "google-tool-call-gemini3.chunks.txt", &t);
    CHECK(trace_has(&t, "BLOCK_START 0 THINKING\nSIGNATURE 0 \"EpEgCo4gAb4"));
    CHECK(trace_has(&t, "BLOCK_STOP 0\nBLOCK_START 1 TOOL_CALL call_QHiLaa6LBrb8vdIPoNztsAg_0 "
                        "weather\nARGS 1 \"{\\\"location\\\":\\\"San Francisco\\\"}\"\n"
                        "BLOCK_STOP 1\n"));
    CHECK(trace_has(&t, "FINISH tool_calls\nEND\n"));
    const sy_ir_response_t *r = trace_response(&t);
    CHECK_INT(r->nparts, 2);
    CHECK(r->parts[1].kind == SY_IR_TOOL_CALL);
    CHECK_STR(r->parts[1].arguments, "{\"location\":\"San Francisco\"}");
    CHECK_INT(r->usage.output, 15 + 804);
    trace_free(&t);
}

static void test_stream_reasoning(void)
{
    trace_t t;
    stream_chunks(GC "google-reasoning.chunks.txt", &t);
    const sy_ir_response_t *r = trace_response(&t);
    CHECK_INT(r->nparts, 2);
    CHECK_STR(r->parts[0].text,
              "There are **3** \"r\"s in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y.");
    CHECK(r->parts[1].kind == SY_IR_THINKING && r->parts[1].signature.len > 0);
    CHECK_INT(r->usage.output, 29 + 256);
    trace_free(&t);
    stream_chunks(GC "google-reasoning-gemini3.chunks.txt", &t);
    CHECK(trace_has(&t, "FINISH stop\nEND\n"));
    trace_free(&t);
}

/* Vertex partialArgs: two calls, each rebuilt into its JSON arguments. */
static void test_stream_partial_args(void)
{
    trace_t t;
    stream_chunks(GC "google-stream-tool-call-arguments.chunks.txt", &t);
    const sy_ir_response_t *r = trace_response(&t);
    CHECK_INT(r->nparts, 3);
    CHECK(r->parts[0].kind == SY_IR_THINKING && r->parts[0].signature.len > 0);
    CHECK(r->parts[1].kind == SY_IR_TOOL_CALL && r->parts[2].kind == SY_IR_TOOL_CALL);
    CHECK_STR(r->parts[1].name, "getWeather");
    CHECK_STR(r->parts[1].arguments, "{\"location\":\"Boston\"}");
    CHECK_STR(r->parts[2].arguments, "{\"location\":\"San Francisco\"}");
    CHECK(!sy_str_eq(r->parts[1].call_id, r->parts[2].call_id));
    CHECK(r->finish == SY_IR_FINISH_TOOL_CALLS);
    CHECK_INT(r->usage.input, 26);
    CHECK_INT(r->usage.output, 23 + 132);
    /* the arguments stream: a fragment per partialArgs event */
    CHECK(trace_has(&t, "ARGS 1 \"{\\\"location\\\":\\\"Boston\"\nARGS 1 \"\\\"\"\nARGS 1 \"}\"\n"
                        "BLOCK_STOP 1\n"));
    trace_free(&t);
}

static void test_stream_partial_args_nested(void)
{
    trace_t t;
    stream_chunks(GC "google-vertex-stream-tool-call-arguments-nested.1.chunks.txt", &t);
    const sy_ir_response_t *r = trace_response(&t);
    CHECK_INT(r->nparts, 2);
    CHECK(r->parts[1].kind == SY_IR_TOOL_CALL);
    CHECK_STR(r->parts[1].name, "cookRecipe");
    sy_arena_t *a = sy_arena_new(0);
    sy_str_t args = r->parts[1].arguments;
    CHECK_STR(json_at(a, args, "recipe.name"), "\"Lasagna\"");
    CHECK_STR(json_at(a, args, "recipe.ingredients.0"),
              "{\"amount\":\"16 oz\",\"name\":\"Lasagna noodles\"}");
    CHECK_STR(json_at(a, args, "recipe.ingredients.9.name"), "\"Pepper\"");
    CHECK_STR(json_at(a, args, "recipe.ingredients.10"), "<missing>");
    CHECK_STR(json_at(a, args, "recipe.steps.1"),
              "\"Cook lasagna noodles according to package directions, drain and set aside.\"");
    CHECK_STR(json_at(a, args, "recipe.steps.4"),
              "\"In a 9x13 baking dish, spread a thin layer of meat sauce.\"");
    CHECK_STR(json_at(a, args, "recipe.steps.9"), "\"Let stand for 15 minutes before serving.\"");
    sy_arena_free(a);
    CHECK_INT(r->usage.output, 684 + 1026);
    trace_free(&t);
}

static void test_stream_partial_args_no_terminator(void)
{
    trace_t t;
    stream_chunks(GC "google-stream-tool-call-array-arguments-missing-terminal-function-call.chunks.txt",
                  &t);
    const sy_ir_response_t *r = trace_response(&t);
    CHECK_INT(r->nparts, 2);
    CHECK_STR(r->parts[1].arguments,
              "{\"operations\":[{\"action\":\"add\",\"description\":\"Fresh red apple\",\"itemid\":"
              "\"apple_001\",\"price\":0.5},{\"action\":\"add\",\"description\":\"Ripe yellow "
              "banana\",\"itemid\":\"banana_001\",\"price\":0.3}]}");
    CHECK(r->finish == SY_IR_FINISH_TOOL_CALLS);
    trace_free(&t);
}

/* A thought summary, a whole call without args, then three streamed calls. */
static void test_stream_no_args_and_parallel(void)
{
    trace_t t;
    stream_chunks(GC "google-stream-no-args-tool-call.chunks.txt", &t);
    const sy_ir_response_t *r = trace_response(&t);
    CHECK_INT(r->nparts, 6);
    CHECK(r->parts[0].kind == SY_IR_THINKING && r->parts[0].text.len > 0);
    CHECK(r->parts[1].kind == SY_IR_THINKING && r->parts[1].text.len == 0 &&
          r->parts[1].signature.len > 0);
    CHECK_STR(r->parts[2].name, "read_theme");
    CHECK_STR(r->parts[2].arguments, "{}");
    CHECK_STR(r->parts[3].arguments, "{\"id\":\"A\"}");
    CHECK_STR(r->parts[4].arguments, "{\"id\":\"B\"}");
    CHECK_STR(r->parts[5].arguments, "{\"id\":\"C\"}");
    CHECK_STR(r->parts[5].call_id, "call__vr4aYiWEJnYodAPkujX0QM_3");
    CHECK(r->finish == SY_IR_FINISH_TOOL_CALLS);
    CHECK_INT(r->usage.input, 249);
    CHECK_INT(r->usage.output, 58 + 183);
    CHECK_INT(r->usage.reasoning, 183);
    trace_free(&t);
}

/* Gemini 2.5 raw wire (CRLF): thought summaries, then a signed call. */
static void test_stream_thinking_function_call(void)
{
    trace_t t;
    stream_raw(FB "googleai/streaming-success-thinking-function-call-thought-summary-signature.txt",
               &t);
    CHECK(trace_has(&t, "START id=48SHaPHpHKbG-8YPtZCawAk model=gemini-2.5-flash\n"
                        "BLOCK_START 0 THINKING\nTHINKING 0 \"**Calculating the Days**"));
    CHECK(trace_has(&t, "USAGE in=38 out=68 reasoning=68\n"));
    CHECK(trace_has(&t, "BLOCK_STOP 0\nBLOCK_START 1 THINKING\nSIGNATURE 1 "));
    CHECK(trace_has(&t, "BLOCK_START 2 TOOL_CALL call_48SHaPHpHKbG-8YPtZCawAk_0 now\n"
                        "ARGS 2 \"{}\"\nBLOCK_STOP 2\nUSAGE in=38 out=174 reasoning=168\n"
                        "FINISH tool_calls\nEND\n"));
    trace_free(&t);
}

static void test_stream_failures(void)
{
    trace_t t;
    /* two events, then a bare pretty-printed error object */
    stream_raw(FB "vertexai/streaming-failure-error-mid-stream.txt", &t);
    CHECK(trace_has(&t, "TEXT 0 \"First \"\nTEXT 0 \"Second \"\n"
                        "ERROR server_error 499 CANCELLED \"The operation was cancelled.\"\n"));
    CHECK(!trace_has(&t, "END"));
    trace_free(&t);

    /* valid JSON that is no response: no finish reason ever */
    stream_raw(FB "vertexai/streaming-failure-invalid-json.txt", &t);
    CHECK(trace_has(&t, "ERROR bad_response 0  \"gemini: the response ended without a finish "
                        "reason\"\n"));
    trace_free(&t);

    stream_raw(FB "googleai/streaming-failure-prompt-blocked-safety.txt", &t);
    CHECK(trace_has(&t, "FINISH content_filter\nEND\n"));
    trace_free(&t);

    stream_raw(FB "googleai/streaming-failure-recitation-no-content.txt", &t);
    CHECK(trace_has(&t, "TEXT 0 \"text8\"\nUSAGE in=9 out=261\nBLOCK_STOP 0\n"
                        "FINISH content_filter\nEND\n"));
    trace_free(&t);

    /* FAKE_ENUM: an unknown finish reason reads as stop */
    stream_raw(FB "vertexai/streaming-failure-unknown-finish-enum.txt", &t);
    CHECK(trace_has(&t, "FINISH stop\nEND\n"));
    trace_free(&t);

    stream_raw("malformed/agentgateway/broken-sse", &t);
    CHECK(t.errors == 1 && t.last_error.cls == SY_IR_ERR_BAD_RESPONSE);
    trace_free(&t);

    /* a body cut off mid-event */
    sy_provider_ctx_t cx = ctx("gemini-2.5-flash");
    sy_ir_request_t req;
    memset(&req, 0, sizeof(req));
    const char cut[] = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]}}]}\n\n"
                       "data: {\"candidates\":[{\"content\":{\"par";
    trace_init(&t);
    run_stream(vt, &cx, &req, cut, sizeof(cut) - 1, SPLIT_WHOLE, &t);
    CHECK(!t.check_failed);
    CHECK(trace_has(&t, "TEXT 0 \"Hi\"\nERROR bad_response"));
    trace_free(&t);

    /* an error event mid-stream ({"error":...} as data) */
    const char err[] = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]}}]}\n\n"
                       "data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\","
                       "\"status\":\"UNAVAILABLE\"}}\n\n";
    trace_init(&t);
    run_stream(vt, &cx, &req, err, sizeof(err) - 1, SPLIT_WHOLE, &t);
    CHECK(trace_has(&t, "ERROR overloaded 503 UNAVAILABLE \"The model is overloaded.\"\n"));
    CHECK(!t.check_failed);
    trace_free(&t);

    /* an empty body */
    trace_init(&t);
    run_stream(vt, &cx, &req, "", 0, SPLIT_WHOLE, &t);
    CHECK(t.errors == 1 && !t.check_failed);
    trace_free(&t);
}

static void test_stream_utf8_and_repeated_finish(void)
{
    trace_t t;
    stream_raw(FB "vertexai/streaming-success-utf8.txt", &t);
    const sy_ir_response_t *r = trace_response(&t);
    CHECK_INT(r->nparts, 1);
    CHECK(sy_str_starts_with(r->parts[0].text, S("秋风瑟瑟，叶落纷纷，\n西风残照，寒")));
    CHECK(trace_has(&t, "FINISH stop\nEND\n"));
    trace_free(&t);
    stream_raw(FB "googleai/streaming-success-thinking-reply-thought-summary.txt", &t);
    r = trace_response(&t);
    CHECK(r->nparts >= 2 && r->parts[0].kind == SY_IR_THINKING);
    trace_free(&t);
}

/* Partial-args paths that cannot be rebuilt front to back fail cleanly. */
static void test_stream_partial_args_edges(void)
{
    sy_provider_ctx_t cx = ctx("gemini-3-pro-preview");
    sy_ir_request_t req;
    memset(&req, 0, sizeof(req));
    trace_t t;
    const char gap[] =
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\","
        "\"willContinue\":true}}]}}]}\n\n"
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"partialArgs\":["
        "{\"jsonPath\":\"$.a[2]\",\"numberValue\":1},{\"jsonPath\":\"$['b c'].d\",\"boolValue\":"
        "true},{\"jsonPath\":\"$.e\",\"nullValue\":\"NULL_VALUE\"},{\"jsonPath\":\"$.s\","
        "\"stringValue\":\"x\\\"\",\"willContinue\":true}],\"willContinue\":true}}]}}]}\n\n"
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{}}]},"
        "\"finishReason\":\"STOP\"}]}\n\n";
    trace_init(&t);
    run_stream(vt, &cx, &req, gap, sizeof(gap) - 1, SPLIT_WHOLE, &t);
    CHECK(!t.check_failed);
    CHECK_STR(trace_response(&t)->parts[0].arguments,
              "{\"a\":[null,null,1],\"b c\":{\"d\":true},\"e\":null,\"s\":\"x\\\"\"}");
    trace_free(&t);

    const char back[] =
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\","
        "\"willContinue\":true}}]}}]}\n\n"
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"partialArgs\":["
        "{\"jsonPath\":\"$.a[1]\",\"numberValue\":1},{\"jsonPath\":\"$.a[0]\",\"numberValue\":2}"
        "],\"willContinue\":true}}]}}]}\n\n";
    trace_init(&t);
    run_stream(vt, &cx, &req, back, sizeof(back) - 1, SPLIT_WHOLE, &t);
    CHECK(!t.check_failed);
    CHECK(t.errors == 1 && t.last_error.cls == SY_IR_ERR_BAD_RESPONSE);
    trace_free(&t);

    const char orphan[] = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{"
                          "\"partialArgs\":[{\"jsonPath\":\"$.a\",\"numberValue\":1}]}}]}}]}\n\n";
    trace_init(&t);
    run_stream(vt, &cx, &req, orphan, sizeof(orphan) - 1, SPLIT_WHOLE, &t);
    CHECK(!t.check_failed && t.errors == 1);
    trace_free(&t);
}

/* -------------------------------------------------------- whole bodies --- */

static void decode_file(const char *rel, sy_arena_t *a, sy_ir_response_t *r, int *rc,
                        sy_ir_error_t *err, td_file_t *f)
{
    *f = td_read(rel);
    CHECK(f->p != NULL);
    sy_provider_ctx_t cx = ctx("gemini-2.5-flash");
    *rc = vt->decode(a, &cx, sy_str(f->p ? f->p : "", f->len), r, err);
}

static void test_decode(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_ir_response_t r;
    sy_ir_error_t err;
    int rc;
    td_file_t f;
    const char *why = NULL;

    decode_file(GC "google-text.json", a, &r, &rc, &err, &f);
    CHECK_INT(rc, SY_OK);
    CHECK(sy_ir_check_response(&r, &why) == SY_OK);
    CHECK(r.finish == SY_IR_FINISH_STOP);
    CHECK_STR(r.model, "gemini-3-pro-preview");
    CHECK(r.nparts >= 1 && r.parts[0].kind == SY_IR_TEXT);
    td_free(&f);

    decode_file(GC "google-tool-call.json", a, &r, &rc, &err, &f);
    CHECK_INT(rc, SY_OK);
    CHECK_INT(r.nparts, 2);
    CHECK(r.parts[0].kind == SY_IR_THINKING && r.parts[0].signature.len > 0);
    CHECK_STR(r.parts[1].name, "weather");
    CHECK_STR(r.parts[1].arguments, "{\"location\":\"San Francisco\"}");
    CHECK_STR(r.parts[1].call_id, "call_m36LaZGyCLz1xs0PtNSB-QU_0");
    CHECK(r.finish == SY_IR_FINISH_TOOL_CALLS);
    CHECK_INT(r.usage.input, 29);
    CHECK_INT(r.usage.output, 15 + 893);
    CHECK_INT(r.usage.reasoning, 893);
    td_free(&f);

    /* implicit caching: the prompt count includes the cached tokens */
    decode_file(FB "vertexai/unary-success-implicit-caching.json", a, &r, &rc, &err, &f);
    CHECK_INT(rc, SY_OK);
    CHECK_INT(r.usage.input, 12013);
    CHECK_INT(r.usage.cached_input, 11243);
    CHECK_INT(r.usage.output, 15 + 73);
    CHECK_INT(r.usage.reasoning, 73);
    td_free(&f);

    decode_file(FB "vertexai/unary-success-function-call-parallel-calls.json", a, &r, &rc, &err, &f);
    CHECK_INT(rc, SY_OK);
    CHECK_INT(r.nparts, 3);
    CHECK_STR(r.parts[0].call_id, "call_0");
    CHECK_STR(r.parts[2].call_id, "call_2");
    CHECK_STR(r.parts[2].arguments, "{\"y\":5,\"x\":6}");
    CHECK(r.finish == SY_IR_FINISH_TOOL_CALLS);
    td_free(&f);

    decode_file(FB "vertexai/unary-success-function-call-null.json", a, &r, &rc, &err, &f);
    CHECK_INT(rc, SY_OK);
    CHECK_STR(r.parts[0].arguments, "{\"original_title\":\"String\",\"season\":null}");
    td_free(&f);

    decode_file(FB "googleai/unary-success-thinking-function-call-thought-summary-signature.json", a,
                &r, &rc, &err, &f);
    CHECK_INT(rc, SY_OK);
    CHECK(r.nparts == 3 && r.parts[0].kind == SY_IR_THINKING && r.parts[1].kind == SY_IR_THINKING &&
          r.parts[2].kind == SY_IR_TOOL_CALL);
    td_free(&f);

    /* not JSON at all */
    CHECK(vt->decode(a, NULL, S("<html>"), &r, &err) == SY_EINVAL);
    CHECK(err.cls == SY_IR_ERR_BAD_RESPONSE);
    sy_arena_free(a);
}

/* ------------------------------------------------------------- errors --- */

static void map_file(const char *rel, int status, sy_ir_error_t *e, td_file_t *f)
{
    *f = td_read(rel);
    CHECK(f->p != NULL);
    vt->map_error(status, NULL, 0, sy_str(f->p ? f->p : "", f->len), e);
}

static void test_map_error(void)
{
    sy_ir_error_t e;
    td_file_t f;
    map_file(GC "google-429-retry-info.json", 429, &e, &f);
    CHECK(e.cls == SY_IR_ERR_RATE_LIMITED);
    CHECK_INT(e.retry_after_ms, 34400);
    CHECK_STR(e.message, "You exceeded your current quota, please check your plan.");
    CHECK_STR(e.type, "RESOURCE_EXHAUSTED");
    CHECK_INT(e.status, 429);
    td_free(&f);

    map_file(FB "googleai/unary-failure-api-key.json", 400, &e, &f);
    CHECK(e.cls == SY_IR_ERR_AUTH);
    td_free(&f);
    map_file(FB "vertexai/unary-failure-quota-exceeded.json", 429, &e, &f);
    CHECK(e.cls == SY_IR_ERR_RATE_LIMITED);
    td_free(&f);
    map_file(FB "vertexai/unary-failure-model-not-found.json", 404, &e, &f);
    CHECK(e.cls == SY_IR_ERR_NOT_FOUND);
    td_free(&f);
    map_file(FB "vertexai/unary-failure-iam-permission-denied.json", 403, &e, &f);
    CHECK(e.cls == SY_IR_ERR_AUTH);
    CHECK(sy_str_starts_with(e.message, S("Permission 'aiplatform.endpoints.predict' denied")));
    td_free(&f);
    map_file(FB "vertexai/unary-failure-unsupported-user-location.json", 400, &e, &f);
    CHECK(e.cls == SY_IR_ERR_BAD_REQUEST);
    td_free(&f);
    map_file(FB "vertexai/unary-failure-invalid-location-url-not-found.html", 404, &e, &f);
    CHECK(e.cls == SY_IR_ERR_NOT_FOUND && e.message.len > 0);
    td_free(&f);

    const char ctxlen[] = "{\"error\":{\"code\":400,\"message\":\"The input token count (1200000) "
                          "exceeds the maximum number of tokens allowed (1048576).\","
                          "\"status\":\"INVALID_ARGUMENT\"}}";
    vt->map_error(400, NULL, 0, S(ctxlen), &e);
    CHECK(e.cls == SY_IR_ERR_CONTEXT_LENGTH);
    const char bad[] = "{\"error\":{\"code\":400,\"message\":\"Invalid JSON payload received. "
                       "Unknown name \\\"foo\\\": Cannot find field.\",\"status\":\"INVALID_ARGUMENT\"}}";
    vt->map_error(400, NULL, 0, S(bad), &e);
    CHECK(e.cls == SY_IR_ERR_BAD_REQUEST);
    /* an escaped message keeps a view into the body */
    CHECK(e.message.p >= bad && e.message.p < bad + sizeof(bad));
    CHECK(sy_str_starts_with(e.message, S("Invalid JSON payload received.")));
    vt->map_error(503, NULL, 0,
                  S("{\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":"
                    "\"UNAVAILABLE\"}}"),
                  &e);
    CHECK(e.cls == SY_IR_ERR_OVERLOADED);
    sy_http_header_t h[] = {{S("Retry-After"), S("7")}};
    vt->map_error(429, h, 1, S("[{\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\"}}]"), &e);
    CHECK(e.cls == SY_IR_ERR_RATE_LIMITED);
    CHECK_INT(e.retry_after_ms, 7000);
    vt->map_error(500, NULL, 0, S(""), &e);
    CHECK(e.cls == SY_IR_ERR_SERVER && e.message.len > 0);
}

/* ------------------------------------------------------------ encoding --- */

static void test_encode_basic(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_provider_ctx_t cx = ctx("gemini-2.5-flash");
    sy_ir_part_t sys = text_part("Be brief.");
    sy_ir_part_t u[3];
    u[0] = text_part("Describe these.");
    memset(&u[1], 0, sizeof(u[1]));
    u[1].kind = SY_IR_IMAGE;
    u[1].image.media_type = S("image/png");
    u[1].image.data = S("iVBORw0KGgo=");
    memset(&u[2], 0, sizeof(u[2]));
    u[2].kind = SY_IR_IMAGE;
    u[2].image.url = S("https://example.com/cat.JPG?size=large");
    sy_ir_part_t u2[1];
    memset(&u2[0], 0, sizeof(u2[0]));
    u2[0].kind = SY_IR_IMAGE;
    u2[0].image.url = S("data:image/webp;base64,UklGRg==");
    sy_ir_part_t as = text_part("Two images.");
    sy_ir_message_t m[] = {msg(SY_IR_USER, u, 3), msg(SY_IR_USER, u2, 1), msg(SY_IR_ASSISTANT, &as, 1)};
    sy_ir_request_t req;
    memset(&req, 0, sizeof(req));
    req.system = &sys;
    req.nsystem = 1;
    req.messages = m;
    req.nmessages = 3;
    req.max_tokens = 256;
    req.has_temperature = true;
    req.temperature = 0.5;
    req.has_top_p = true;
    req.top_p = 0.9;
    req.has_top_k = true;
    req.top_k = 40;
    req.has_seed = true;
    req.seed = 7;
    req.stop[0] = S("END");
    req.nstop = 1;
    sy_upstream_req_t out;
    sy_ir_error_t err;
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);
    CHECK_STR(out.path, "/v1beta/models/gemini-2.5-flash:generateContent");
    CHECK(strcmp(out.method, "POST") == 0 && !out.stream);
    CHECK(out.headers && sy_str_eq_c(out.headers->name, "x-goog-api-key") &&
          sy_str_eq_c(out.headers->value, "AIza-test-key"));
    CHECK_JSON(out.body,
               "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Describe these.\"},"
               "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"iVBORw0KGgo=\"}},"
               "{\"fileData\":{\"mimeType\":\"image/jpeg\",\"fileUri\":"
               "\"https://example.com/cat.JPG?size=large\"}},"
               "{\"inlineData\":{\"mimeType\":\"image/webp\",\"data\":\"UklGRg==\"}}]},"
               "{\"role\":\"model\",\"parts\":[{\"text\":\"Two images.\"}]}],"
               "\"systemInstruction\":{\"parts\":[{\"text\":\"Be brief.\"}]},"
               "\"generationConfig\":{\"maxOutputTokens\":256,\"temperature\":0.5,\"topP\":0.9,"
               "\"topK\":40,\"seed\":7,\"stopSequences\":[\"END\"]}}");

    /* streaming path, a base path that names its version (Vertex) */
    req.stream = true;
    cx.base_path = S("/v1/projects/p/locations/us-central1/publishers/google");
    cx.model = S("models/gemini-2.5-pro");
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);
    CHECK_STR(out.path, "/v1/projects/p/locations/us-central1/publishers/google/models/"
                        "gemini-2.5-pro:streamGenerateContent?alt=sse");
    CHECK(out.stream);
    sy_arena_free(a);
}

/* Tool calls, results, signatures and the tool-result name lookup. */
static void test_encode_tools_round_trip(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_provider_ctx_t cx = ctx("gemini-3-pro-preview");
    sy_ir_part_t u = text_part("Weather in SF and Paris?");
    sy_ir_part_t as[4];
    memset(as, 0, sizeof(as));
    as[0].kind = SY_IR_THINKING;
    as[0].signature = S("SIG-1");
    as[1].kind = SY_IR_TOOL_CALL;
    as[1].call_id = S("call_r_0");
    as[1].name = S("weather");
    as[1].arguments = S("{\"location\":\"SF\"}");
    as[2].kind = SY_IR_TOOL_CALL;
    as[2].call_id = S("call_r_1");
    as[2].name = S("weather");
    as[2].arguments = S("");
    as[3].kind = SY_IR_REDACTED_THINKING;
    as[3].signature = S("opaque");
    sy_ir_part_t c1 = text_part("18C"), c2 = text_part("boom");
    sy_ir_part_t res[2];
    memset(res, 0, sizeof(res));
    res[0].kind = SY_IR_TOOL_RESULT;
    res[0].call_id = S("call_r_0");
    res[0].content = &c1;
    res[0].ncontent = 1;
    res[1].kind = SY_IR_TOOL_RESULT;
    res[1].call_id = S("call_r_1");
    res[1].content = &c2;
    res[1].ncontent = 1;
    res[1].is_error = true;
    sy_ir_part_t u2 = text_part("Thanks");
    /* OpenAI shape: one tool message per result, then the user */
    sy_ir_message_t m[] = {msg(SY_IR_USER, &u, 1), msg(SY_IR_ASSISTANT, as, 4),
                           msg(SY_IR_TOOL, &res[0], 1), msg(SY_IR_TOOL, &res[1], 1),
                           msg(SY_IR_USER, &u2, 1)};
    sy_json_t *params = parse(a, "{\"type\":\"object\",\"properties\":{\"location\":{\"type\":"
                                 "\"string\"}},\"required\":[\"location\"],"
                                 "\"additionalProperties\":false}");
    sy_ir_tool_t tools[] = {{S("weather"), S("Get the weather"), params, true},
                            {S("now"), S(""), NULL, false}};
    sy_ir_request_t req;
    memset(&req, 0, sizeof(req));
    req.messages = m;
    req.nmessages = 5;
    req.tools = tools;
    req.ntools = 2;
    req.tool_choice = SY_IR_TOOL_CHOICE_NAMED;
    req.tool_choice_name = S("weather");
    req.thinking_budget = 1024;
    sy_upstream_req_t out;
    sy_ir_error_t err;
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);
    CHECK_JSON(out.body,
               "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Weather in SF and Paris?\"}]},"
               "{\"role\":\"model\",\"parts\":["
               "{\"functionCall\":{\"id\":\"call_r_0\",\"name\":\"weather\",\"args\":{"
               "\"location\":\"SF\"}},\"thoughtSignature\":\"SIG-1\"},"
               "{\"functionCall\":{\"id\":\"call_r_1\",\"name\":\"weather\",\"args\":{}}}]},"
               "{\"role\":\"user\",\"parts\":["
               "{\"functionResponse\":{\"id\":\"call_r_0\",\"name\":\"weather\",\"response\":{"
               "\"result\":\"18C\"}}},"
               "{\"functionResponse\":{\"id\":\"call_r_1\",\"name\":\"weather\",\"response\":{"
               "\"error\":\"boom\"}}},"
               "{\"text\":\"Thanks\"}]}],"
               "\"tools\":[{\"functionDeclarations\":[{\"name\":\"weather\",\"description\":"
               "\"Get the weather\",\"parameters\":{\"type\":\"object\",\"properties\":{"
               "\"location\":{\"type\":\"string\"}},\"required\":[\"location\"]}},"
               "{\"name\":\"now\"}]}],"
               "\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"ANY\","
               "\"allowedFunctionNames\":[\"weather\"]}},"
               "\"generationConfig\":{\"thinkingConfig\":{\"thinkingBudget\":1024,"
               "\"includeThoughts\":true}}}");

    /* no signature on the first call of a Gemini 3 turn: the documented dummy */
    as[0].kind = SY_IR_TEXT;
    as[0].text = S("Checking.");
    as[0].signature = SY_STR_NULL;
    req.tool_choice = SY_IR_TOOL_CHOICE_REQUIRED;
    req.thinking_budget = 0;
    req.effort = SY_IR_EFFORT_MEDIUM;
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);
    sy_arena_t *b = sy_arena_new(0);
    CHECK_STR(json_at(b, out.body, "contents.1.parts"),
              "[{\"text\":\"Checking.\"},{\"functionCall\":{\"id\":\"call_r_0\",\"name\":"
              "\"weather\",\"args\":{\"location\":\"SF\"}},\"thoughtSignature\":"
              "\"skip_thought_signature_validator\"},{\"functionCall\":{\"id\":\"call_r_1\","
              "\"name\":\"weather\",\"args\":{}}}]");
    CHECK_STR(json_at(b, out.body, "generationConfig.thinkingConfig"),
              "{\"thinkingLevel\":\"high\",\"includeThoughts\":true}");
    CHECK_STR(json_at(b, out.body, "toolConfig"), "{\"functionCallingConfig\":{\"mode\":\"ANY\"}}");
    /* Gemini 2.5: no dummy, effort as a budget */
    cx.model = S("gemini-2.5-flash");
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);
    CHECK_STR(json_at(b, out.body, "contents.1.parts.1.thoughtSignature"), "<missing>");
    CHECK_STR(json_at(b, out.body, "generationConfig.thinkingConfig"),
              "{\"thinkingBudget\":8192,\"includeThoughts\":true}");
    sy_arena_free(b);

    /* a result for an unknown call id and no name: refused */
    res[0].call_id = S("call_unknown");
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_EINVAL);
    CHECK(err.cls == SY_IR_ERR_BAD_REQUEST);
    res[0].name = S("weather"); /* ... unless the front door knew the name */
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);

    /* arguments that are not an object */
    as[1].arguments = S("[1,2]");
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_EINVAL);
    sy_arena_free(a);
}

/* A decoded response sent back as history: signatures land on their parts. */
static void test_signature_round_trip(void)
{
    sy_arena_t *a = sy_arena_new(0);
    trace_t t;
    stream_chunks(GC "google-text.chunks.txt", &t);
    const sy_ir_response_t *r1 = trace_response(&t);
    trace_t t2;
    stream_chunks(GC "google-tool-call-gemini3.chunks.txt", &t2);
    const sy_ir_response_t *r2 = trace_response(&t2);
    sy_ir_part_t u = text_part("q");
    sy_ir_part_t res;
    memset(&res, 0, sizeof(res));
    sy_ir_part_t c = text_part("{\"temp\":18}");
    res.kind = SY_IR_TOOL_RESULT;
    res.call_id = r2->parts[1].call_id;
    res.content = &c;
    res.ncontent = 1;
    sy_ir_message_t m[] = {msg(SY_IR_USER, &u, 1), msg(SY_IR_ASSISTANT, r1->parts, r1->nparts),
                           msg(SY_IR_USER, &u, 1), msg(SY_IR_ASSISTANT, r2->parts, r2->nparts),
                           msg(SY_IR_TOOL, &res, 1)};
    sy_ir_request_t req;
    memset(&req, 0, sizeof(req));
    req.messages = m;
    req.nmessages = 5;
    sy_provider_ctx_t cx = ctx("gemini-3-pro-preview");
    sy_upstream_req_t out;
    sy_ir_error_t err;
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);
    /* text signature back on the text part; call signature on the call */
    CHECK(sy_str_starts_with(json_at(a, out.body, "contents.1.parts.0.thoughtSignature"),
                             S("\"EqsFCqgFAb4")));
    CHECK_INT(sy_json_len(sy_json_path(parse(a, sy_str_cdup(a, out.body)), "contents.1.parts")), 1);
    CHECK(sy_str_starts_with(json_at(a, out.body, "contents.3.parts.0.thoughtSignature"),
                             S("\"EpEgCo4gAb4")));
    CHECK_STR(json_at(a, out.body, "contents.3.parts.0.functionCall"),
              "{\"id\":\"call_QHiLaa6LBrb8vdIPoNztsAg_0\",\"name\":\"weather\",\"args\":{"
              "\"location\":\"San Francisco\"}}");
    CHECK_STR(json_at(a, out.body, "contents.4.parts.0"),
              "{\"functionResponse\":{\"id\":\"call_QHiLaa6LBrb8vdIPoNztsAg_0\",\"name\":"
              "\"weather\",\"response\":{\"result\":\"{\\\"temp\\\":18}\"}}}");
    trace_free(&t);
    trace_free(&t2);
    sy_arena_free(a);
}

static void test_schema_conversion(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_json_t *s = parse(
        a, "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"object\","
           "\"properties\":{\"when\":{\"type\":\"string\",\"format\":\"date-time\"},"
           "\"email\":{\"type\":\"string\",\"format\":\"email\"},"
           "\"tag\":{\"type\":[\"string\",\"null\"],\"enum\":[\"a\",\"b\"]},"
           "\"kind\":{\"const\":\"fixed\"},"
           "\"n\":{\"type\":\"integer\",\"minimum\":1,\"default\":3},"
           "\"ref\":{\"$ref\":\"#/$defs/Item\"},"
           "\"maybe\":{\"anyOf\":[{\"type\":\"number\"},{\"type\":\"null\"}],\"description\":\"d\"},"
           "\"either\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]},"
           "\"list\":{\"items\":{\"type\":\"string\"},\"maxItems\":3},"
           "\"empty\":{\"type\":\"object\",\"properties\":{}},"
           "\"self\":{\"$ref\":\"#/$defs/Node\"}},"
           "\"required\":[\"when\",\"ghost\"],\"additionalProperties\":false,"
           "\"$defs\":{\"Item\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"}}},"
           "\"Node\":{\"type\":\"object\",\"properties\":{\"next\":{\"$ref\":\"#/$defs/Node\"}}}}}");
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_json_writer_t w;
    sy_json_writer_init(&w, &b, 0);
    sy_gemini_write_schema(&w, s);
    CHECK_INT(sy_json_write_finish(&w), SY_OK);
    sy_str_t got = sy_buf_str(&b);
    CHECK_STR(json_at(a, got, "properties.when"), "{\"type\":\"string\",\"format\":\"date-time\"}");
    CHECK_STR(json_at(a, got, "properties.email"), "{\"type\":\"string\"}");
    CHECK_STR(json_at(a, got, "properties.tag"),
              "{\"type\":\"string\",\"nullable\":true,\"enum\":[\"a\",\"b\"]}");
    CHECK_STR(json_at(a, got, "properties.kind"), "{\"enum\":[\"fixed\"]}");
    CHECK_STR(json_at(a, got, "properties.n"), "{\"type\":\"integer\",\"minimum\":1}");
    CHECK_STR(json_at(a, got, "properties.ref"),
              "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"}}}");
    CHECK_STR(json_at(a, got, "properties.maybe"),
              "{\"description\":\"d\",\"type\":\"number\",\"nullable\":true}");
    CHECK_STR(json_at(a, got, "properties.either"),
              "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}");
    CHECK_STR(json_at(a, got, "properties.list"),
              "{\"type\":\"array\",\"maxItems\":3,\"items\":{\"type\":\"string\"}}");
    CHECK_STR(json_at(a, got, "properties.empty"), "{\"type\":\"object\"}");
    CHECK_STR(json_at(a, got, "required"), "[\"when\"]");
    CHECK_STR(json_at(a, got, "additionalProperties"), "<missing>");
    CHECK_STR(json_at(a, got, "$schema"), "<missing>");
    /* a recursive $ref terminates */
    CHECK(json_at(a, got, "properties.self.properties.next.type").len > 0);
    sy_buf_free(&b);
    CHECK(sy_gemini_schema_is_empty_object(NULL));
    CHECK(sy_gemini_schema_is_empty_object(parse(a, "{\"type\":\"object\",\"properties\":{}}")));
    CHECK(!sy_gemini_schema_is_empty_object(parse(a, "{\"type\":\"string\"}")));

    /* JSON formats */
    sy_provider_ctx_t cx = ctx("gemini-2.5-flash");
    sy_ir_part_t u = text_part("x");
    sy_ir_message_t m = msg(SY_IR_USER, &u, 1);
    sy_ir_request_t req;
    memset(&req, 0, sizeof(req));
    req.messages = &m;
    req.nmessages = 1;
    req.format = SY_IR_FORMAT_JSON_SCHEMA;
    req.schema = parse(a, "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},"
                          "\"additionalProperties\":false}");
    sy_upstream_req_t out;
    sy_ir_error_t err;
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);
    CHECK_STR(json_at(a, out.body, "generationConfig"),
              "{\"responseMimeType\":\"application/json\",\"responseSchema\":{\"type\":\"object\","
              "\"properties\":{\"a\":{\"type\":\"string\"}}}}");
    req.format = SY_IR_FORMAT_JSON_OBJECT;
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);
    CHECK_STR(json_at(a, out.body, "generationConfig"), "{\"responseMimeType\":\"application/json\"}");
    sy_arena_free(a);
}

/* Messages that give Gemini nothing do not split a turn in two. */
static void test_encode_skips_empty_messages(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_provider_ctx_t cx = ctx("gemini-2.5-flash");
    sy_ir_part_t u1 = text_part("one"), u2 = text_part("two"), sys = text_part("be kind");
    sy_ir_part_t red;
    memset(&red, 0, sizeof(red));
    red.kind = SY_IR_REDACTED_THINKING;
    red.signature = S("opaque");
    sy_ir_message_t m[] = {msg(SY_IR_USER, &u1, 1), msg(SY_IR_ASSISTANT, &red, 1),
                           msg(SY_IR_SYSTEM, &sys, 1), msg(SY_IR_USER, &u2, 1)};
    sy_ir_request_t req;
    memset(&req, 0, sizeof(req));
    req.messages = m;
    req.nmessages = 4;
    sy_upstream_req_t out;
    sy_ir_error_t err;
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);
    CHECK_JSON(out.body, "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"one\"},"
                         "{\"text\":\"two\"}]}],\"systemInstruction\":{\"parts\":[{\"text\":"
                         "\"be kind\"}]}}");
    sy_arena_free(a);
}

int main(void)
{
    RUN(test_stream_text);
    RUN(test_stream_tool_call_gemini3);
    RUN(test_stream_reasoning);
    RUN(test_stream_partial_args);
    RUN(test_stream_partial_args_nested);
    RUN(test_stream_partial_args_no_terminator);
    RUN(test_stream_no_args_and_parallel);
    RUN(test_stream_thinking_function_call);
    RUN(test_stream_failures);
    RUN(test_stream_utf8_and_repeated_finish);
    RUN(test_stream_partial_args_edges);
    RUN(test_decode);
    RUN(test_map_error);
    RUN(test_encode_basic);
    RUN(test_encode_tools_round_trip);
    RUN(test_signature_round_trip);
    RUN(test_schema_conversion);
    RUN(test_encode_skips_empty_messages);
    return unit_done();
}
