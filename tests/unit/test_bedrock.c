/*
 * test_bedrock.c - the Bedrock (Converse) adapter: request encoding and its
 * SigV4 signature (checked with the sigv4 module's verifier), the
 * ConverseStream decoder over the real event-stream captures (.bin, exact
 * wire bytes) and over vercel-ai's decoded events re-framed, whole bodies,
 * exceptions mid-stream and error mapping.
 */
#include "provider_test.h"

#include "http/eventstream.h"
#include "providers/adapters.h"
#include "providers/bedrock.h"
#include "providers/sigv4.h"

static const sy_provider_vt_t *vt = &sy_provider_bedrock;

#define S(lit) SY_STR(lit)

static sy_provider_ctx_t ctx(const char *model)
{
    sy_provider_ctx_t cx;
    memset(&cx, 0, sizeof(cx));
    cx.provider_name = S("bedrock-test");
    cx.base_url = S("https://bedrock-runtime.us-east-1.amazonaws.com");
    cx.base_path = S("");
    cx.model = sy_str_c(model);
    cx.region = S("us-east-1");
    cx.aws_access_key_id = S("AKIDEXAMPLE");
    cx.aws_secret_access_key = S("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    cx.now = 1700000000;
    cx.default_max_tokens = 4096;
    return cx;
}

static sy_str_t header(const sy_upstream_req_t *r, const char *name)
{
    for (const sy_upstream_header_t *h = r->headers; h; h = h->next)
        if (sy_str_ieq_c(h->name, name))
            return h->value;
    return SY_STR_NULL;
}

/* Stream a .bin capture (exact wire bytes) through the decoder. */
static void stream_bin(const char *rel, trace_t *t)
{
    sy_provider_ctx_t cx = ctx("us.anthropic.claude-sonnet-4-20250514-v1:0");
    run_stream_file(vt, &cx, td_read(rel), t);
}

/* vercel-ai's bedrock chunks: one decoded event per line, {"<event-type>":
 * payload}; put each back into an event-stream frame. */
static td_file_t frames_from_chunks(const char *rel)
{
    td_file_t in = td_read(rel), out = {NULL, 0};
    if (!in.p)
        return out;
    sy_arena_t *a = sy_arena_new(0);
    sy_buf_t b;
    sy_buf_init(&b, 0);
    const char *p = in.p, *end = in.p + in.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        sy_json_t *v = NULL;
        if (le > p && sy_json_parse(a, p, (size_t)(le - p), NULL, &v, NULL) == SY_OK &&
            sy_json_is(v, SY_JSON_OBJECT) && v->u.obj.len == 1) {
            sy_buf_t payload;
            sy_buf_init(&payload, 0);
            sy_json_serialize(&v->u.obj.items[0].value, &payload, 0);
            sy_es_encode_event(&b, v->u.obj.items[0].key, sy_buf_str(&payload));
            sy_buf_free(&payload);
        }
        p = nl ? nl + 1 : end;
    }
    out.len = b.len;
    out.p = malloc(b.len + 1);
    memcpy(out.p, sy_buf_ptr(&b), b.len);
    sy_buf_free(&b);
    sy_arena_free(a);
    free(in.p);
    return out;
}

static void stream_chunks(const char *rel, trace_t *t)
{
    sy_provider_ctx_t cx = ctx("us.anthropic.claude-3-7-sonnet-20250219-v1:0");
    run_stream_file(vt, &cx, frames_from_chunks(rel), t);
}

#define AG "amazon-bedrock/agentgateway/"
#define PY "amazon-bedrock/pydantic-ai/event-stream-bin/"
#define VA "amazon-bedrock/vercel-ai/"

/* ------------------------------------------------------------ streams --- */

static void test_stream_basic_capture(void)
{
    trace_t t;
    stream_bin(AG "basic.bin", &t);
    CHECK(trace_has(&t, "START id= model=us.anthropic.claude-sonnet-4-20250514-v1:0\n"
                        "BLOCK_START 0 TEXT\nTEXT 0 \"\\nOnce upon a time"));
    CHECK(trace_has(&t, "BLOCK_STOP 0\nFINISH stop\nUSAGE in=15 out=142\nEND\n"));
    const sy_ir_response_t *r = trace_response(&t);
    CHECK_INT(r->nparts, 1);
    CHECK(sy_str_ends_with(r->parts[0].text, S("about the birds he had helped.")));
    trace_free(&t);
}

static void test_stream_tools(void)
{
    trace_t t;
    stream_bin(AG "tool.bin", &t);
    CHECK(trace_has(&t, "BLOCK_START 1 TOOL_CALL tooluse_kZJMlvQmRJ6eAyJE5GIl7Q top_song\n"
                        "ARGS 1 \"{\\\"sign\\\":\"\nARGS 1 \"\\\"WZPZ\\\"}\"\nBLOCK_STOP 1\n"
                        "BLOCK_START 2 TOOL_CALL tooluse_kZJMlvQmRJ6eAyxxx hello\n"));
    CHECK(trace_has(&t, "FINISH tool_calls\nUSAGE in=150 out=45\nEND\n"));
    const sy_ir_response_t *r = trace_response(&t);
    CHECK_INT(r->nparts, 3);
    CHECK_STR(r->parts[2].arguments, "{\"sign\":\"world\"}");
    trace_free(&t);

    /* real: text, then a toolUse, stop tool_use */
    stream_bin(PY "test_bedrock_model_iter_stream.0.response.bin", &t);
    r = trace_response(&t);
    CHECK_INT(r->nparts, 2);
    CHECK_STR(r->parts[1].call_id, "tooluse_lAG_zP8QRHmSYOwZzzaCqA");
    CHECK_STR(r->parts[1].arguments, "{\"city\":\"Paris\"}");
    CHECK(r->finish == SY_IR_FINISH_TOOL_CALLS);
    CHECK_INT(r->usage.input, 471);
    CHECK_INT(r->usage.output, 91);
    trace_free(&t);
    stream_bin(PY "test_bedrock_model_iter_stream.1.response.bin", &t);
    CHECK(trace_has(&t, "FINISH stop\n"));
    trace_free(&t);
}

static void test_stream_reasoning(void)
{
    trace_t t;
    stream_bin(PY "test_bedrock_model_thinking_part_stream.response.bin", &t);
    CHECK(trace_has(&t, "BLOCK_START 0 THINKING\nTHINKING 0 \"The\"\n"));
    CHECK(trace_has(&t, "SIGNATURE 0 \"Eu0CCkgIBxAB"));
    const sy_ir_response_t *r = trace_response(&t);
    CHECK(r->nparts == 2 && r->parts[0].kind == SY_IR_THINKING && r->parts[1].kind == SY_IR_TEXT);
    CHECK(sy_str_starts_with(r->parts[0].text, S("The user has greeted me")));
    trace_free(&t);

    /* hand-built: no :message-type header, no contentBlockStop between blocks */
    stream_bin(AG "reasoning.bin", &t);
    CHECK(trace_has(&t, "BLOCK_START 0 THINKING\nTHINKING 0 \"Two plus two is four.\"\n"
                        "SIGNATURE 0 \"SIG-xyz==\"\nBLOCK_STOP 0\nBLOCK_START 1 TEXT\n"
                        "TEXT 1 \"The answer is 4.\"\nBLOCK_STOP 1\nFINISH stop\n"));
    trace_free(&t);

    /* redacted reasoning: one block carrying its data */
    stream_bin(PY "test_bedrock_model_thinking_part_redacted_stream.response.bin", &t);
    CHECK(trace_has(&t, "BLOCK_START 0 REDACTED \"RXRrRUNrZ0lCeEFC"));
    CHECK(trace_has(&t, "BLOCK_STOP 0\nBLOCK_START 1 REDACTED \"RXFBRENrZ0lCeEFC"));
    r = trace_response(&t);
    CHECK(r->nparts == 3 && r->parts[0].kind == SY_IR_REDACTED_THINKING &&
          r->parts[0].signature.len > 100 && r->parts[2].kind == SY_IR_TEXT);
    trace_free(&t);

    /* gpt-oss: a stop of a block that never started, an empty text delta */
    stream_bin(PY "test_bedrock_model_stream_empty_text_delta.response.bin", &t);
    r = trace_response(&t);
    CHECK(r->nparts == 2 && r->parts[0].kind == SY_IR_THINKING && r->parts[1].kind == SY_IR_TEXT);
    CHECK(trace_has(&t, "USAGE in=70 out=43\nEND\n"));
    trace_free(&t);
}

static void test_stream_other_captures(void)
{
    trace_t t;
    /* Nova's code interpreter: server-side tool blocks are not client calls */
    stream_bin(PY "test_bedrock_model_code_execution_tool_stream.response.bin", &t);
    const sy_ir_response_t *r = trace_response(&t);
    CHECK_INT(r->nparts, 1);
    CHECK_STR(r->parts[0].name, "final_result");
    CHECK(trace_has(&t, "BLOCK_START 0 TOOL_CALL tooluse_ptgCcZ0uQu-UUMz0abqoWw final_result\n"));
    trace_free(&t);

    stream_bin(PY "test_bedrock_model_stream.response.bin", &t);
    CHECK(trace_has(&t, "FINISH stop\n") && trace_has(&t, "END\n"));
    trace_free(&t);
    stream_bin(PY "test_stream_cancel.response.bin", &t);
    CHECK(trace_has(&t, "END\n"));
    trace_free(&t);

    /* InvokeModelWithResponseStream chunks: unwrapped, metrics as usage */
    stream_bin(AG "bedrock-invoke.bin", &t);
    CHECK(trace_has(&t, "BLOCK_START 0 TEXT\nTEXT 0 \"Hello! How can I help\"\nBLOCK_STOP 0\n"
                        "BLOCK_START 1 TEXT\nTEXT 1 \" you today?\"\nBLOCK_STOP 1\n"
                        "FINISH stop\nUSAGE in=47 out=12 cached=0 write=0\nEND\n"));
    trace_free(&t);
}

static void test_stream_broken(void)
{
    trace_t t;
    /* a capture damaged by a lossy UTF-8 conversion: the prelude CRC fails */
    stream_bin(AG "bedrock-broken.bin", &t);
    CHECK(t.errors == 1 && t.last_error.cls == SY_IR_ERR_BAD_RESPONSE);
    CHECK(sy_str_starts_with(t.last_error.message, S("bedrock: broken event stream")));
    CHECK(!trace_has(&t, "END"));
    trace_free(&t);

    /* cut off inside a frame */
    td_file_t f = td_read(AG "basic.bin");
    sy_provider_ctx_t cx = ctx("m");
    sy_ir_request_t req;
    memset(&req, 0, sizeof(req));
    trace_init(&t);
    run_stream(vt, &cx, &req, f.p, f.len - 10, SPLIT_RANDOM, &t);
    CHECK(!t.check_failed);
    CHECK(t.errors == 1 && sy_str_eq_c(t.last_error.message,
                                       "bedrock: the event stream was cut off inside a frame"));
    trace_free(&t);
    td_free(&f);

    /* an exception frame mid-stream */
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_es_encode_event(&b, S("messageStart"), S("{\"role\":\"assistant\"}"));
    sy_es_encode_event(&b, S("contentBlockDelta"),
                       S("{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hel\"}}"));
    sy_es_encode_exception(&b, S("throttlingException"),
                           S("{\"message\":\"Too many requests, please wait before trying again.\"}"));
    trace_init(&t);
    run_stream(vt, &cx, &req, sy_buf_ptr(&b), b.len, SPLIT_BYTES, &t);
    CHECK(!t.check_failed);
    CHECK(trace_has(&t, "TEXT 0 \"Hel\"\nERROR rate_limited 0 throttlingException \"Too many "
                        "requests, please wait before trying again.\"\n"));
    trace_free(&t);
    static const struct {
        const char *type;
        sy_ir_error_class_t cls;
    } ex[] = {{"modelStreamErrorException", SY_IR_ERR_SERVER},
              {"serviceUnavailableException", SY_IR_ERR_OVERLOADED},
              {"internalServerException", SY_IR_ERR_SERVER},
              {"validationException", SY_IR_ERR_BAD_REQUEST},
              {"modelTimeoutException", SY_IR_ERR_TIMEOUT}};
    for (size_t i = 0; i < SY_ARRAY_LEN(ex); i++) {
        sy_buf_clear(&b);
        sy_es_encode_exception(&b, sy_str_c(ex[i].type), S("{\"message\":\"x\"}"));
        trace_init(&t);
        run_stream(vt, &cx, &req, sy_buf_ptr(&b), b.len, SPLIT_WHOLE, &t);
        CHECK(!t.check_failed && t.errors == 1 && t.last_error.cls == ex[i].cls);
        trace_free(&t);
    }

    /* no messageStop before the end */
    sy_buf_clear(&b);
    sy_es_encode_event(&b, S("messageStart"), S("{\"role\":\"assistant\"}"));
    trace_init(&t);
    run_stream(vt, &cx, &req, sy_buf_ptr(&b), b.len, SPLIT_WHOLE, &t);
    CHECK(!t.check_failed && t.errors == 1);
    trace_free(&t);

    /* tool input without a toolUse start */
    sy_buf_clear(&b);
    sy_es_encode_event(&b, S("contentBlockDelta"),
                       S("{\"contentBlockIndex\":0,\"delta\":{\"toolUse\":{\"input\":\"{}\"}}}"));
    trace_init(&t);
    run_stream(vt, &cx, &req, sy_buf_ptr(&b), b.len, SPLIT_WHOLE, &t);
    CHECK(!t.check_failed && t.errors == 1 && t.last_error.cls == SY_IR_ERR_BAD_RESPONSE);
    trace_free(&t);
    sy_buf_free(&b);
}

/* vercel-ai's decoded events, framed again */
static void test_stream_vercel_chunks(void)
{
    trace_t t;
    stream_chunks(VA "amazon-bedrock-text.chunks.txt", &t);
    CHECK(trace_has(&t, "FINISH stop\nUSAGE in=22 out=55\nEND\n"));
    const sy_ir_response_t *r = trace_response(&t);
    CHECK_STR(r->parts[0].text, "Let me count the \"r\"s in \"strawberry\":\n\ns-t-**r**-a-w-b-e-**r**-"
                                "**r**-y\n\nThere are **3** r's in \"strawberry.\"");
    trace_free(&t);

    stream_chunks(VA "amazon-bedrock-reasoning.chunks.txt", &t);
    r = trace_response(&t);
    CHECK(r->nparts == 2 && r->parts[0].kind == SY_IR_THINKING && r->parts[0].signature.len > 0);
    CHECK_INT(r->usage.output, 94);
    trace_free(&t);

    /* hand-made order: metadata before messageStop, no messageStart */
    stream_chunks(VA "amazon-bedrock-tool-call.1.chunks.txt", &t);
    CHECK(trace_has(&t, "START id= model=us.anthropic.claude-3-7-sonnet-20250219-v1:0\n"
                        "BLOCK_START 0 TOOL_CALL tool-use-id test-tool\n"));
    CHECK(trace_has(&t, "BLOCK_STOP 0\nUSAGE in=125 out=45\nFINISH tool_calls\nEND\n"));
    CHECK_STR(trace_response(&t)->parts[0].arguments, "{\"value\":\"Sparkle Day\"}");
    trace_free(&t);

    /* a call without arguments gets "{}" */
    stream_chunks(VA "amazon-bedrock-tool-no-args.chunks.txt", &t);
    r = trace_response(&t);
    CHECK_INT(r->nparts, 2);
    CHECK_STR(r->parts[1].arguments, "{}");
    CHECK(trace_has(&t, "ARGS 1 \"{}\"\nBLOCK_STOP 1\n"));
    trace_free(&t);

    stream_chunks(VA "amazon-bedrock-json-tool.1.chunks.txt", &t);
    CHECK_STR(trace_response(&t)->parts[0].name, "json");
    trace_free(&t);
}

/* -------------------------------------------------------- whole bodies --- */

static void decode_file(const char *rel, sy_arena_t *a, sy_ir_response_t *r, int *rc)
{
    td_file_t f = td_read(rel);
    CHECK(f.p != NULL);
    sy_provider_ctx_t cx = ctx("us.anthropic.claude-sonnet-4-20250514-v1:0");
    sy_ir_error_t err;
    /* the body outlives the response: copy it into the arena */
    sy_str_t body = sy_str_dup(a, sy_str(f.p ? f.p : "", f.len));
    td_free(&f);
    *rc = vt->decode(a, &cx, body, r, &err);
    const char *why = NULL;
    if (*rc == SY_OK)
        CHECK(sy_ir_check_response(r, &why) == SY_OK);
}

static void test_decode(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_ir_response_t r;
    int rc;
    decode_file(VA "amazon-bedrock-text.json", a, &r, &rc);
    CHECK_INT(rc, SY_OK);
    CHECK(r.nparts == 1 && r.finish == SY_IR_FINISH_STOP);
    CHECK_INT(r.usage.input, 22);
    CHECK_INT(r.usage.output, 57);
    CHECK(r.usage.has_cached_input && r.usage.cached_input == 0);
    CHECK_STR(r.model, "us.anthropic.claude-sonnet-4-20250514-v1:0");

    /* inputTokens excludes the cache: 16 + 0 read + 2387 written */
    decode_file(AG "cache_write.json", a, &r, &rc);
    CHECK_INT(rc, SY_OK);
    CHECK_INT(r.usage.input, 16 + 2387);
    CHECK_INT(r.usage.cache_write, 2387);
    CHECK_INT(r.usage.cached_input, 0);
    CHECK_INT(r.usage.output, 9);

    decode_file(AG "max_tokens.json", a, &r, &rc);
    CHECK(rc == SY_OK && r.finish == SY_IR_FINISH_LENGTH);

    decode_file(AG "reasoning.json", a, &r, &rc);
    CHECK(rc == SY_OK && r.nparts == 2 && r.parts[0].kind == SY_IR_THINKING);
    CHECK_STR(r.parts[0].signature, "SIG-xyz==");
    decode_file(AG "reasoning_unsigned.json", a, &r, &rc);
    CHECK(rc == SY_OK && r.parts[0].signature.len == 0);
    decode_file(VA "amazon-bedrock-reasoning.json", a, &r, &rc);
    CHECK(rc == SY_OK && r.parts[0].signature.len > 0);

    decode_file(AG "tool.json", a, &r, &rc);
    CHECK(rc == SY_OK && r.nparts == 2 && r.finish == SY_IR_FINISH_TOOL_CALLS);
    CHECK_STR(r.parts[0].call_id, "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q");
    CHECK_STR(r.parts[1].arguments, "{\"sign\":\"world\"}");

    decode_file(VA "amazon-bedrock-json-with-tool.1.json", a, &r, &rc);
    CHECK(rc == SY_OK && r.nparts == 4);

    decode_file(VA "amazon-bedrock-tool-no-args.json", a, &r, &rc);
    CHECK(rc == SY_OK);

    sy_ir_error_t err;
    CHECK_INT(vt->decode(a, NULL, S("{\"message\":\"x\"}"), &r, &err), SY_EINVAL);
    CHECK(err.cls == SY_IR_ERR_BAD_RESPONSE);
    CHECK_INT(vt->decode(a, NULL,
                         S("{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":"
                           "\"a\"}]}},\"stopReason\":\"stop_sequence\",\"additionalModelResponseFields"
                           "\":{\"stop_sequence\":\"END\"},\"usage\":{\"inputTokens\":3,"
                           "\"outputTokens\":1,\"cacheReadInputTokens\":10,\"totalTokens\":14}}"),
                         &r, &err),
              SY_OK);
    CHECK(r.finish == SY_IR_FINISH_STOP_SEQUENCE);
    CHECK_STR(r.stop_sequence, "END");
    CHECK_INT(r.usage.input, 13);
    CHECK_INT(r.usage.cached_input, 10);
    sy_arena_free(a);
}

static void test_map_error(void)
{
    sy_ir_error_t e;
    sy_http_header_t h[] = {
        {S("x-amzn-ErrorType"), S("ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/")},
        {S("Retry-After"), S("3")}};
    vt->map_error(429, h, 2, S("{\"message\":\"Too many requests, please wait before trying again.\"}"),
                  &e);
    CHECK(e.cls == SY_IR_ERR_RATE_LIMITED);
    CHECK_STR(e.type, "ThrottlingException");
    CHECK_STR(e.message, "Too many requests, please wait before trying again.");
    CHECK_INT(e.retry_after_ms, 3000);

    static const struct {
        const char *type, *message;
        int status;
        sy_ir_error_class_t cls;
    } cases[] = {
        {"ServiceUnavailableException", "Bedrock is unable to process your request.", 503,
         SY_IR_ERR_OVERLOADED},
        {"ModelNotReadyException", "Model is not ready", 429, SY_IR_ERR_OVERLOADED},
        {"ValidationException", "Input is too long for requested model.", 400,
         SY_IR_ERR_CONTEXT_LENGTH},
        {"ValidationException", "prompt is too long: 215000 tokens > 200000 maximum", 400,
         SY_IR_ERR_CONTEXT_LENGTH},
        {"ValidationException", "Malformed input request: #: extraneous key [foo]", 400,
         SY_IR_ERR_BAD_REQUEST},
        {"AccessDeniedException", "You don't have access to the model.", 403, SY_IR_ERR_AUTH},
        {"UnrecognizedClientException", "The security token included in the request is invalid.",
         403, SY_IR_ERR_AUTH},
        {"InvalidSignatureException", "The request signature we calculated does not match.", 403,
         SY_IR_ERR_AUTH},
        {"ResourceNotFoundException", "Model not found.", 404, SY_IR_ERR_NOT_FOUND},
        {"ModelTimeoutException", "Model timed out.", 408, SY_IR_ERR_TIMEOUT},
        {"InternalServerException", "Internal error.", 500, SY_IR_ERR_SERVER},
        {"ModelErrorException", "The model failed.", 424, SY_IR_ERR_SERVER},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        sy_http_header_t hh = {S("x-amzn-ErrorType"), sy_str_c(cases[i].type)};
        char body[256];
        snprintf(body, sizeof(body), "{\"message\":\"%s\"}", cases[i].message);
        vt->map_error(cases[i].status, &hh, 1, sy_str_c(body), &e);
        if (e.cls != cases[i].cls)
            fprintf(stderr, "  %s / %s -> %s\n", cases[i].type, cases[i].message,
                    sy_ir_error_class_name(e.cls));
        CHECK(e.cls == cases[i].cls);
    }
    /* recorded (pydantic-ai test_bedrock_error.yaml): the recorder dropped
     * x-amzn-ErrorType; an unknown model id */
    vt->map_error(400, NULL, 0, S("{\"message\":\"The provided model identifier is invalid.\"}"), &e);
    CHECK(e.cls == SY_IR_ERR_NOT_FOUND);
    CHECK_STR(e.message, "The provided model identifier is invalid.");
    /* the AWS JSON-1.1 form */
    vt->map_error(400, NULL, 0,
                  S("{\"__type\":\"com.amazon.coral.validate#ValidationException\",\"Message\":"
                    "\"bad \\\"thing\\\"\"}"),
                  &e);
    CHECK(e.cls == SY_IR_ERR_BAD_REQUEST);
    CHECK_STR(e.message, "bad \\\"thing\\\"");
    vt->map_error(502, NULL, 0, S("<html>bad gateway</html>"), &e);
    CHECK(e.cls == SY_IR_ERR_SERVER && e.message.len > 0);
}

/* ------------------------------------------------------------ encoding --- */

static void test_encode_and_sign(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_provider_ctx_t cx = ctx("us.anthropic.claude-sonnet-4-20250514-v1:0");
    cx.aws_session_token = S("FQoGZXIvYXdzEXAMPLETOKEN");
    sy_ir_part_t sys[2] = {text_part("You are terse."), text_part("Cache me.")};
    sys[1].cache = true;
    sy_ir_part_t u[2] = {text_part("What is in this image?"), {0}};
    u[1].kind = SY_IR_IMAGE;
    u[1].image.media_type = S("image/png");
    u[1].image.data = S("iVBORw0KGgo=");
    sy_ir_part_t as[3];
    memset(as, 0, sizeof(as));
    as[0].kind = SY_IR_THINKING;
    as[0].text = S("Look first.");
    as[0].signature = S("SIG");
    as[1] = text_part("");
    as[2].kind = SY_IR_TOOL_CALL;
    as[2].call_id = S("call.1/x");
    as[2].name = S("zoom");
    as[2].arguments = S("{\"factor\":2}");
    sy_ir_part_t c = text_part("zoomed"), res;
    memset(&res, 0, sizeof(res));
    res.kind = SY_IR_TOOL_RESULT;
    res.call_id = S("call.1/x");
    res.content = &c;
    res.ncontent = 1;
    sy_ir_part_t u2 = text_part("And now?");
    sy_ir_message_t m[] = {msg(SY_IR_USER, u, 2), msg(SY_IR_ASSISTANT, as, 3),
                           msg(SY_IR_TOOL, &res, 1), msg(SY_IR_USER, &u2, 1)};
    sy_json_t *params = parse(a, "{\"type\":\"object\",\"properties\":{\"factor\":{\"type\":"
                                 "\"number\"}},\"additionalProperties\":false}");
    sy_ir_tool_t tools[] = {{S("zoom"), S("Zoom in"), params, false}};
    sy_ir_request_t req;
    memset(&req, 0, sizeof(req));
    req.system = sys;
    req.nsystem = 2;
    req.messages = m;
    req.nmessages = 4;
    req.tools = tools;
    req.ntools = 1;
    req.tool_choice = SY_IR_TOOL_CHOICE_NAMED;
    req.tool_choice_name = S("zoom");
    req.has_temperature = true;
    req.temperature = 1;
    req.has_top_k = true;
    req.top_k = 5;
    req.stop[0] = S("###");
    req.nstop = 1;
    req.thinking_budget = 2048;
    req.stream = true;
    sy_upstream_req_t out;
    sy_ir_error_t err;
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);
    CHECK_STR(out.path, "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse-stream");
    CHECK(out.stream);
    CHECK_JSON(out.body,
               "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"What is in this image?\"},"
               "{\"image\":{\"format\":\"png\",\"source\":{\"bytes\":\"iVBORw0KGgo=\"}}}]},"
               "{\"role\":\"assistant\",\"content\":[{\"reasoningContent\":{\"reasoningText\":{"
               "\"text\":\"Look first.\",\"signature\":\"SIG\"}}},{\"toolUse\":{\"toolUseId\":"
               "\"call_1_x\",\"name\":\"zoom\",\"input\":{\"factor\":2}}}]},"
               "{\"role\":\"user\",\"content\":[{\"toolResult\":{\"toolUseId\":\"call_1_x\","
               "\"content\":[{\"text\":\"zoomed\"}]}},{\"text\":\"And now?\"}]}],"
               "\"system\":[{\"text\":\"You are terse.\"},{\"text\":\"Cache me.\"},"
               "{\"cachePoint\":{\"type\":\"default\"}}],"
               "\"inferenceConfig\":{\"maxTokens\":6144,\"temperature\":1,\"stopSequences\":"
               "[\"###\"]},"
               "\"toolConfig\":{\"tools\":[{\"toolSpec\":{\"name\":\"zoom\",\"description\":"
               "\"Zoom in\",\"inputSchema\":{\"json\":{\"type\":\"object\",\"properties\":{"
               "\"factor\":{\"type\":\"number\"}},\"additionalProperties\":false}}}}],"
               "\"toolChoice\":{\"tool\":{\"name\":\"zoom\"}}},"
               "\"additionalModelRequestFields\":{\"top_k\":5,\"thinking\":{\"type\":\"enabled\","
               "\"budget_tokens\":2048}}}");
    CHECK_STR(header(&out, "x-amz-date"), "20231114T221320Z");
    CHECK_STR(header(&out, "x-amz-security-token"), "FQoGZXIvYXdzEXAMPLETOKEN");
    sy_str_t auth = header(&out, "Authorization");
    CHECK(sy_str_starts_with(auth, S("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/"
                                     "bedrock/aws4_request, SignedHeaders=host;x-amz-date;"
                                     "x-amz-security-token, Signature=")));

    /* the sigv4 module's verifier accepts what the upstream will receive */
    sy_http_header_t hs[] = {
        {S("Host"), S("bedrock-runtime.us-east-1.amazonaws.com")},
        {S("Content-Type"), S("application/json")},
        {S("x-amz-date"), header(&out, "x-amz-date")},
        {S("x-amz-security-token"), header(&out, "x-amz-security-token")},
        {S("Authorization"), auth},
    };
    sy_sigv4_creds_t keys = {cx.aws_access_key_id, cx.aws_secret_access_key, cx.aws_session_token};
    sy_sigv4_verify_t v = {.method = S("POST"), .path = out.path, .headers = hs,
                           .nheaders = SY_ARRAY_LEN(hs), .body = out.body, .region = S("us-east-1"),
                           .service = S("bedrock"), .keys = &keys, .nkeys = 1, .now = cx.now};
    sy_sigv4_verdict_t verdict;
    CHECK_INT(sy_sigv4_verify(a, &v, &verdict), SY_OK);
    /* a changed body does not verify */
    v.body = S("{}");
    CHECK(sy_sigv4_verify(a, &v, &verdict) != SY_OK && verdict.status == 403);
    sy_arena_free(a);
}

static void test_encode_variants(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_provider_ctx_t cx = ctx("amazon.nova-pro-v1:0");
    sy_ir_part_t u = text_part("hi");
    sy_ir_part_t as;
    memset(&as, 0, sizeof(as));
    as.kind = SY_IR_TOOL_CALL;
    as.call_id = S("tooluse_1");
    as.name = S("lookup");
    sy_ir_part_t res, c = text_part("");
    memset(&res, 0, sizeof(res));
    res.kind = SY_IR_TOOL_RESULT;
    res.call_id = S("tooluse_1");
    res.content = &c;
    res.ncontent = 1;
    res.is_error = true;
    sy_ir_message_t m[] = {msg(SY_IR_USER, &u, 1), msg(SY_IR_ASSISTANT, &as, 1),
                           msg(SY_IR_TOOL, &res, 1)};
    sy_ir_request_t req;
    memset(&req, 0, sizeof(req));
    req.messages = m;
    req.nmessages = 3;
    req.has_top_k = true;
    req.top_k = 3;
    req.format = SY_IR_FORMAT_JSON_SCHEMA;
    req.schema_name = S("answer");
    req.schema = parse(a, "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}");
    sy_upstream_req_t out;
    sy_ir_error_t err;
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);
    CHECK_STR(out.path, "/model/amazon.nova-pro-v1%3A0/converse");
    /* no tools in the request but tool blocks in the history: declared */
    CHECK_STR(json_at(a, out.body, "toolConfig"),
              "{\"tools\":[{\"toolSpec\":{\"name\":\"lookup\",\"inputSchema\":{\"json\":{\"type\":"
              "\"object\",\"properties\":{}}}}}]}");
    CHECK_STR(json_at(a, out.body, "messages.2.content.0.toolResult"),
              "{\"toolUseId\":\"tooluse_1\",\"content\":[{\"json\":{}}],\"status\":\"error\"}");
    CHECK_STR(json_at(a, out.body, "messages.1.content.0.toolUse.input"), "{}");
    CHECK_STR(json_at(a, out.body, "additionalModelRequestFields"),
              "{\"inferenceConfig\":{\"topK\":3}}");
    CHECK_STR(json_at(a, out.body, "outputConfig"),
              "{\"textFormat\":{\"type\":\"json_schema\",\"structure\":{\"jsonSchema\":{\"schema\":"
              "\"{\\\"type\\\":\\\"object\\\",\\\"properties\\\":{\\\"a\\\":{\\\"type\\\":"
              "\\\"string\\\"}}}\",\"name\":\"answer\"}}}}");
    CHECK_STR(json_at(a, out.body, "inferenceConfig"), "<missing>");

    /* gpt-oss effort; a Bedrock API key instead of AWS keys */
    cx = ctx("openai.gpt-oss-120b-1:0");
    cx.aws_access_key_id = SY_STR_NULL;
    cx.api_key = S("ABSK-test");
    req.effort = SY_IR_EFFORT_HIGH;
    req.has_top_k = false;
    req.format = SY_IR_FORMAT_TEXT;
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);
    CHECK_STR(json_at(a, out.body, "additionalModelRequestFields"), "{\"reasoning_effort\":\"high\"}");
    CHECK_STR(header(&out, "Authorization"), "Bearer ABSK-test");
    CHECK(header(&out, "x-amz-date").p == NULL);
    /* no credentials at all */
    cx.api_key = SY_STR_NULL;
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_EINVAL);
    CHECK(err.cls == SY_IR_ERR_AUTH);

    /* tool_choice none with tools and no history: tools left out */
    cx = ctx("us.anthropic.claude-sonnet-4-20250514-v1:0");
    sy_ir_tool_t tools[] = {{S("lookup"), S(""), NULL, false}};
    req.messages = m;
    req.nmessages = 1;
    req.tools = tools;
    req.ntools = 1;
    req.tool_choice = SY_IR_TOOL_CHOICE_NONE;
    req.effort = SY_IR_EFFORT_LOW;
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);
    CHECK_STR(json_at(a, out.body, "toolConfig"), "<missing>");
    CHECK_STR(json_at(a, out.body, "additionalModelRequestFields.thinking.budget_tokens"), "2048");
    CHECK_STR(json_at(a, out.body, "inferenceConfig.maxTokens"), "6144");
    req.tool_choice = SY_IR_TOOL_CHOICE_REQUIRED;
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);
    CHECK_STR(json_at(a, out.body, "toolConfig.toolChoice"), "{\"any\":{}}");

    /* images: http URLs refused, s3 taken */
    sy_ir_part_t img;
    memset(&img, 0, sizeof(img));
    img.kind = SY_IR_IMAGE;
    img.image.url = S("https://example.com/a.png");
    sy_ir_message_t mi = msg(SY_IR_USER, &img, 1);
    req.messages = &mi;
    req.ntools = 0;
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_EINVAL);
    CHECK(err.cls == SY_IR_ERR_BAD_REQUEST);
    img.image.url = S("s3://bucket/a.jpeg");
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);
    CHECK_STR(json_at(a, out.body, "messages.0.content.0.image"),
              "{\"format\":\"jpeg\",\"source\":{\"s3Location\":{\"uri\":\"s3://bucket/a.jpeg\"}}}");
    img.image.url = S("data:image/gif;base64,R0lGOD==");
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);
    CHECK_STR(json_at(a, out.body, "messages.0.content.0.image"),
              "{\"format\":\"gif\",\"source\":{\"bytes\":\"R0lGOD==\"}}");
    img.image.url = S("data:image/tiff;base64,AAAA");
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_EINVAL);

    /* an inference-profile ARN: '/' encoded too; region from the host */
    cx.model = S("arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.x");
    cx.region = SY_STR_NULL;
    cx.base_url = S("https://bedrock-runtime.eu-west-1.amazonaws.com");
    img.image.url = S("data:image/gif;base64,R0lGOD==");
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);
    CHECK_STR(out.path, "/model/arn%3Aaws%3Abedrock%3Aeu-west-1%3A123456789012%3Ainference-profile"
                        "%2Feu.anthropic.x/converse");
    CHECK(sy_str_find(header(&out, "Authorization"), S("/eu-west-1/bedrock/")) > 0);
    sy_arena_free(a);
}

/* A decoded stream sent back as history keeps reasoning signatures and
 * tool ids. */
static void test_round_trip(void)
{
    sy_arena_t *a = sy_arena_new(0);
    trace_t t;
    stream_bin(PY "test_bedrock_model_thinking_part_stream.response.bin", &t);
    const sy_ir_response_t *r = trace_response(&t);
    sy_ir_part_t u = text_part("Hello");
    sy_ir_message_t m[] = {msg(SY_IR_USER, &u, 1), msg(SY_IR_ASSISTANT, r->parts, r->nparts),
                           msg(SY_IR_USER, &u, 1)};
    sy_ir_request_t req;
    memset(&req, 0, sizeof(req));
    req.messages = m;
    req.nmessages = 3;
    sy_provider_ctx_t cx = ctx("us.anthropic.claude-sonnet-4-20250514-v1:0");
    sy_upstream_req_t out;
    sy_ir_error_t err;
    CHECK_INT(vt->encode(a, &cx, &req, &out, &err), SY_OK);
    CHECK(sy_str_starts_with(json_at(a, out.body, "messages.1.content.0.reasoningContent."
                                                  "reasoningText.signature"),
                             S("\"Eu0CCkgIBxAB")));
    trace_free(&t);
    sy_arena_free(a);
}

int main(void)
{
    RUN(test_stream_basic_capture);
    RUN(test_stream_tools);
    RUN(test_stream_reasoning);
    RUN(test_stream_other_captures);
    RUN(test_stream_broken);
    RUN(test_stream_vercel_chunks);
    RUN(test_decode);
    RUN(test_map_error);
    RUN(test_encode_and_sign);
    RUN(test_encode_variants);
    RUN(test_round_trip);
    return unit_done();
}
