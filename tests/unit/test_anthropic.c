/*
 * test_anthropic.c - the Anthropic vocabulary helpers, count_tokens, and
 * adapter paths the translation cases (tests/data/translate/anthropic-*)
 * cannot express: error messages with escapes, usage arithmetic at the
 * edges, id and argument rewriting, decoding after the stream is over.
 */
#include <stdlib.h>
#include "unit.h"
#include "api/anthropic.h"
#include "ir/check.h"
#include "providers/adapters.h"
#include "providers/anthropic.h"

static sy_str_t bstr(const sy_buf_t *b) { return b->data ? sy_buf_str(b) : SY_STR(""); }

/* Run a writer callback and return what it wrote (static storage). */
static const char *written(void (*fn)(sy_json_writer_t *w, void *arg), void *arg)
{
    static char out[1024];
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_json_writer_t w;
    sy_json_writer_init(&w, &b, 0);
    fn(&w, arg);
    int rc = sy_json_write_finish(&w);
    snprintf(out, sizeof(out), "%.*s", rc == SY_OK ? (int)b.len : 0, rc == SY_OK ? sy_buf_ptr(&b) : "");
    sy_buf_free(&b);
    return out;
}

static void w_input(sy_json_writer_t *w, void *arg)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_anthropic_write_tool_input(w, a, sy_str_c(arg));
    sy_arena_free(a);
}

static void test_tool_input(void)
{
    CHECK(strcmp(written(w_input, "{\"a\": 1}"), "{\"a\": 1}") == 0); /* bytes kept */
    CHECK(strcmp(written(w_input, "  {\"a\":1}\n"), "{\"a\":1}") == 0);
    CHECK(strcmp(written(w_input, ""), "{}") == 0);
    CHECK(strcmp(written(w_input, " \n"), "{}") == 0);
    CHECK(strcmp(written(w_input, "{\"city\": \"Ro"), "{\"_raw_arguments\":\"{\\\"city\\\": \\\"Ro\"}") == 0);
    CHECK(strcmp(written(w_input, "[1,2]"), "{\"_raw_arguments\":\"[1,2]\"}") == 0);
    CHECK(strcmp(written(w_input, "{\"a\":1} x"), "{\"_raw_arguments\":\"{\\\"a\\\":1} x\"}") == 0);
}

static void w_id(sy_json_writer_t *w, void *arg) { sy_anthropic_write_tool_id(w, sy_str_c(arg)); }

static void test_tool_id(void)
{
    CHECK(strcmp(written(w_id, "toolu_01A-b"), "\"toolu_01A-b\"") == 0);
    CHECK(strcmp(written(w_id, "functions.get_weather:0"), "\"functions_get_weather_0\"") == 0);
    CHECK(strcmp(written(w_id, ""), "\"toolu_empty\"") == 0);
    char longid[400];
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    longid[7] = ' ';
    const char *out = written(w_id, longid); /* longer than the stack copy */
    CHECK(strlen(out) == sizeof(longid) + 1 && out[8] == '_');
}

static void w_usage(sy_json_writer_t *w, void *arg)
{
    sy_json_write_begin_object(w);
    sy_anthropic_write_usage(w, arg, false);
    sy_json_write_end_object(w);
}

static void test_usage(void)
{
    /* the accounting rule, both ways */
    sy_anthropic_usage_t u;
    memset(&u, 0, sizeof(u));
    sy_arena_t *a = sy_arena_new(0);
    sy_json_t *v;
    const char *j = "{\"input_tokens\":6,\"cache_creation_input_tokens\":3337,"
                    "\"cache_read_input_tokens\":6289,\"output_tokens\":198,"
                    "\"output_tokens_details\":{\"thinking_tokens\":12}}";
    CHECK(sy_json_parse(a, j, strlen(j), NULL, &v, NULL) == SY_OK);
    sy_anthropic_usage_read(v, &u);
    sy_ir_usage_t ir = sy_anthropic_usage_to_ir(&u);
    CHECK(ir.has_input && ir.input == 9632);
    CHECK(ir.has_cached_input && ir.cached_input == 6289);
    CHECK(ir.has_cache_write && ir.cache_write == 3337);
    CHECK(ir.has_output && ir.output == 198 && ir.has_reasoning && ir.reasoning == 12);
    CHECK(strcmp(written(w_usage, &ir),
                 "{\"input_tokens\":6,\"cache_creation_input_tokens\":3337,"
                 "\"cache_read_input_tokens\":6289,\"output_tokens\":198,"
                 "\"output_tokens_details\":{\"thinking_tokens\":12}}") == 0);

    /* only output known: input figures left out (message_delta) */
    sy_ir_usage_t o;
    memset(&o, 0, sizeof(o));
    o.has_output = true;
    o.output = 5;
    CHECK(strcmp(written(w_usage, &o), "{\"output_tokens\":5}") == 0);

    /* an upstream reporting more cached than prompt tokens: saturates */
    sy_ir_usage_t odd;
    memset(&odd, 0, sizeof(odd));
    odd.has_input = odd.has_cached_input = odd.has_cache_write = true;
    odd.input = 10;
    odd.cached_input = 8;
    odd.cache_write = 7;
    CHECK(strcmp(written(w_usage, &odd),
                 "{\"input_tokens\":0,\"cache_creation_input_tokens\":7,"
                 "\"cache_read_input_tokens\":8,\"output_tokens\":0}") == 0);

    /* huge counts do not wrap */
    memset(&u, 0, sizeof(u));
    const char *big = "{\"input_tokens\":18446744073709551615,\"cache_read_input_tokens\":5}";
    CHECK(sy_json_parse(a, big, strlen(big), NULL, &v, NULL) == SY_OK);
    sy_anthropic_usage_read(v, &u);
    ir = sy_anthropic_usage_to_ir(&u);
    CHECK(ir.input == UINT64_MAX);
    /* negative and fractional counts are ignored */
    memset(&u, 0, sizeof(u));
    const char *bad = "{\"input_tokens\":-3,\"output_tokens\":1.5}";
    CHECK(sy_json_parse(a, bad, strlen(bad), NULL, &v, NULL) == SY_OK);
    sy_anthropic_usage_read(v, &u);
    CHECK(!u.has_input && !u.has_output);
    /* a repeated key: the last one counts (as a lookup finds it), even
     * when it is not a count and an earlier one was */
    memset(&u, 0, sizeof(u));
    const char *dup = "{\"input_tokens\":4,\"output_tokens\":2,\"input_tokens\":7,"
                      "\"output_tokens\":\"x\",\"output_tokens_details\":{\"thinking_tokens\":1},"
                      "\"output_tokens_details\":{}}";
    CHECK(sy_json_parse(a, dup, strlen(dup), NULL, &v, NULL) == SY_OK);
    sy_anthropic_usage_read(v, &u);
    CHECK(u.has_input && u.input == 7);
    CHECK(!u.has_output && !u.has_thinking);
    sy_arena_free(a);
}

static void test_names(void)
{
    CHECK(sy_anthropic_finish(SY_STR("end_turn")) == SY_IR_FINISH_STOP);
    CHECK(sy_anthropic_finish(SY_STR("pause_turn")) == SY_IR_FINISH_STOP);
    CHECK(sy_anthropic_finish(SY_STR("max_tokens")) == SY_IR_FINISH_LENGTH);
    CHECK(sy_anthropic_finish(SY_STR("model_context_window_exceeded")) == SY_IR_FINISH_LENGTH);
    CHECK(sy_anthropic_finish(SY_STR("stop_sequence")) == SY_IR_FINISH_STOP_SEQUENCE);
    CHECK(sy_anthropic_finish(SY_STR("tool_use")) == SY_IR_FINISH_TOOL_CALLS);
    CHECK(sy_anthropic_finish(SY_STR("refusal")) == SY_IR_FINISH_REFUSAL);
    CHECK(sy_anthropic_finish(SY_STR("")) == SY_IR_FINISH_UNSET);
    CHECK(strcmp(sy_anthropic_stop_reason(SY_IR_FINISH_STOP, true), "tool_use") == 0);
    CHECK(strcmp(sy_anthropic_stop_reason(SY_IR_FINISH_UNSET, false), "end_turn") == 0);
    CHECK(strcmp(sy_anthropic_stop_reason(SY_IR_FINISH_CONTENT_FILTER, false), "refusal") == 0);

    CHECK(sy_anthropic_error_class(SY_STR("overloaded_error"), SY_STR(""), 529) == SY_IR_ERR_OVERLOADED);
    CHECK(sy_anthropic_error_class(SY_STR("invalid_request_error"),
                                   SY_STR("input length and `max_tokens` exceed context limit: 1 + 2 > 3"),
                                   400) == SY_IR_ERR_CONTEXT_LENGTH);
    CHECK(sy_anthropic_error_class(SY_STR("billing_error"), SY_STR(""), 402) == SY_IR_ERR_AUTH);
    CHECK(sy_anthropic_error_class(SY_STR("timeout_error"), SY_STR(""), 504) == SY_IR_ERR_TIMEOUT);
    CHECK(sy_anthropic_error_class(SY_STR("something_new"), SY_STR(""), 429) == SY_IR_ERR_RATE_LIMITED);
    CHECK(sy_anthropic_error_class(SY_STR(""), SY_STR(""), 0) == SY_IR_ERR_SERVER);
    static const struct {
        int status;
        const char *type;
    } types[] = {{400, "invalid_request_error"}, {401, "authentication_error"},
                 {403, "permission_error"},      {404, "not_found_error"},
                 {413, "request_too_large"},     {429, "rate_limit_error"},
                 {500, "api_error"},             {502, "api_error"},
                 {503, "overloaded_error"},      {529, "overloaded_error"},
                 {504, "timeout_error"},         {422, "invalid_request_error"}};
    for (size_t i = 0; i < SY_ARRAY_LEN(types); i++)
        CHECK(strcmp(sy_anthropic_error_type(types[i].status), types[i].type) == 0);
}

/* map_error has no arena: a message with escapes is copied into a
 * per-thread buffer, one without stays a view into the body. */
static void test_map_error_escapes(void)
{
    const char *body = "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                       "\"message\":\"messages.0: \\\"tool_use\\\" ids\\n\"}}";
    sy_ir_error_t e;
    sy_http_header_t h = {SY_STR("retry-after"), SY_STR("3")};
    sy_provider_anthropic.map_error(400, &h, 1, sy_str_c(body), &e);
    CHECK(e.cls == SY_IR_ERR_BAD_REQUEST && e.status == 400 && e.retry_after_ms == 3000);
    CHECK_STR(e.message, "messages.0: \"tool_use\" ids\n");
    CHECK_STR(e.type, "invalid_request_error");
    CHECK(!(e.message.p >= body && e.message.p < body + strlen(body)));
    const char *plain = "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Internal server error\"}}";
    sy_provider_anthropic.map_error(500, NULL, 0, sy_str_c(plain), &e);
    CHECK(e.cls == SY_IR_ERR_SERVER);
    CHECK(e.message.p >= plain && e.message.p < plain + strlen(plain));
    sy_provider_anthropic.map_error(529, NULL, 0, SY_STR(""), &e);
    CHECK(e.cls == SY_IR_ERR_OVERLOADED);
    CHECK_STR(e.message, "anthropic: upstream answered HTTP 529");
}

static void test_count_tokens(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_ir_request_t r;
    int status = 0;
    const char *msg = NULL;
    const char *body = "{\"model\":\"claude-sonnet-4-5\",\"system\":\"Be brief.\",\"stream\":true,"
                       "\"messages\":[{\"role\":\"user\",\"content\":\"Hello, world\"}],"
                       "\"tools\":[{\"name\":\"t\",\"input_schema\":{\"type\":\"object\"}}]}";
    CHECK(sy_anthropic_parse_count_tokens(a, sy_str_c(body), &r, &status, &msg) == SY_OK);
    CHECK(!r.stream && r.max_tokens == 0 && r.ntools == 1);
    /* the same body is not a valid Messages request: max_tokens is missing */
    CHECK(sy_frontdoor_anthropic.parse(a, sy_str_c(body), &r, &status, &msg) == SY_EINVAL);
    CHECK(status == 400 && strcmp(msg, "max_tokens: Field required") == 0);
    CHECK(sy_anthropic_parse_count_tokens(a, sy_str_c(body), &r, &status, &msg) == SY_OK);
    sy_buf_t b;
    sy_buf_init(&b, 0);
    CHECK(sy_anthropic_count_tokens_body(&r, &b) == SY_OK);
    char want[64];
    snprintf(want, sizeof(want), "{\"input_tokens\":%llu}",
             (unsigned long long)sy_ir_estimate_input_tokens(&r));
    CHECK_STR(bstr(&b), want);
    CHECK(sy_ir_estimate_input_tokens(&r) > 0);
    sy_buf_free(&b);
    /* still validated like a Messages request otherwise */
    CHECK(sy_anthropic_parse_count_tokens(a, SY_STR("{\"model\":\"m\",\"messages\":[]}"), &r, &status,
                                          &msg) == SY_EINVAL);
    CHECK(strcmp(msg, "messages: at least one message is required") == 0);
    sy_arena_free(a);
}

static int count_cb(void *ctx, const sy_ir_delta_t *d)
{
    sy_ir_check_t *c = ctx;
    return sy_ir_check_delta(c, d);
}

/* A callback that refuses (the client went away): decoding stops and the
 * refusal is returned, now and on every later call. */
static int refuse_cb(void *ctx, const sy_ir_delta_t *d)
{
    int *n = ctx;
    (*n)++;
    return d->kind == SY_IR_DELTA_BLOCK_START ? SY_ECLOSED : SY_OK;
}

static void test_stream_contract(void)
{
    const char *s = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\","
                    "\"model\":\"c\",\"usage\":{\"input_tokens\":3}}}\n\n"
                    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
                    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
                    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
                    "\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n"
                    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    sy_arena_t *a = sy_arena_new(0);
    sy_provider_ctx_t cx;
    memset(&cx, 0, sizeof(cx));
    sy_ir_request_t req;
    memset(&req, 0, sizeof(req));

    /* message_stop without message_delta: the open block is closed, FINISH stop */
    sy_ir_check_t c;
    sy_ir_check_init(&c);
    void *st = sy_provider_anthropic.stream_new(a, &cx, &req);
    CHECK(sy_provider_anthropic.stream_feed(st, s, strlen(s), count_cb, &c) == SY_OK);
    CHECK(sy_provider_anthropic.stream_end(st, count_cb, &c) == SY_OK);
    CHECK(sy_ir_check_end(&c) == SY_OK);
    CHECK(c.seen == 6); /* START BLOCK_START TEXT BLOCK_STOP FINISH END */

    int n = 0;
    st = sy_provider_anthropic.stream_new(a, &cx, &req);
    CHECK(sy_provider_anthropic.stream_feed(st, s, strlen(s), refuse_cb, &n) == SY_ECLOSED);
    CHECK(n == 2);
    CHECK(sy_provider_anthropic.stream_feed(st, s, strlen(s), refuse_cb, &n) == SY_ECLOSED);
    CHECK(sy_provider_anthropic.stream_end(st, refuse_cb, &n) == SY_ECLOSED);
    CHECK(n == 2);

    /* an empty body: one ERROR, then SY_EINVAL from every call */
    sy_ir_check_init(&c);
    st = sy_provider_anthropic.stream_new(a, &cx, &req);
    CHECK(sy_provider_anthropic.stream_end(st, count_cb, &c) == SY_EINVAL);
    CHECK(c.ended && c.seen == 1 && sy_ir_check_end(&c) == SY_OK);
    CHECK(sy_provider_anthropic.stream_feed(st, s, strlen(s), count_cb, &c) == SY_EINVAL);
    CHECK(c.seen == 1);
    sy_arena_free(a);
}

/* The front door's stream encoder on deltas no adapter sends in this order:
 * content before START gets a message_start first; signature pieces are
 * joined into one signature_delta; nothing after END. */
static void test_fd_stream_edges(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_ir_request_t req;
    memset(&req, 0, sizeof(req));
    req.model = SY_STR("claude-x");
    void *st = sy_anthropic_fd_stream_new(a, &req);
    sy_buf_t out;
    sy_buf_init(&out, 0);
    sy_ir_delta_t d;
    memset(&d, 0, sizeof(d));
    d.kind = SY_IR_DELTA_BLOCK_START;
    d.block = SY_IR_THINKING;
    CHECK(sy_anthropic_fd_stream_event(st, &d, &out) == SY_OK);
    d.kind = SY_IR_DELTA_SIGNATURE;
    d.text = SY_STR("abc");
    CHECK(sy_anthropic_fd_stream_event(st, &d, &out) == SY_OK);
    d.text = SY_STR("def");
    CHECK(sy_anthropic_fd_stream_event(st, &d, &out) == SY_OK);
    d.kind = SY_IR_DELTA_END;
    CHECK(sy_anthropic_fd_stream_event(st, &d, &out) == SY_OK);
    size_t len = out.len;
    d.kind = SY_IR_DELTA_TEXT;
    d.text = SY_STR("late");
    CHECK(sy_anthropic_fd_stream_event(st, &d, &out) == SY_OK);
    CHECK(out.len == len);
    sy_str_t o = bstr(&out);
    CHECK(sy_str_starts_with(o, SY_STR("event: message_start\n")));
    CHECK(sy_str_find(o, SY_STR("\"signature\":\"abcdef\"")) > 0);
    CHECK(sy_str_find(o, SY_STR("\"stop_reason\":\"end_turn\"")) > 0);
    CHECK(sy_str_ends_with(o, SY_STR("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")));
    sy_buf_free(&out);
    sy_arena_free(a);
}

/* A relayed message: the usage read without decoding it, the same figures
 * as the whole decode; the body relayed with only the model rewritten. */
static void test_passthrough(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_provider_ctx_t cx;
    memset(&cx, 0, sizeof(cx));
    const char *msg = "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"c\","
                      "\"content\":[{\"type\":\"text\",\"text\":\"\\\"usage\\\":{\\\"input_tokens\\\":99}\"}],"
                      "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":4,"
                      "\"cache_read_input_tokens\":6,\"output_tokens\":9}}";
    sy_ir_usage_t u;
    CHECK_INT(sy_provider_anthropic.passthrough_usage(a, sy_str_c(msg), &u), SY_OK);
    sy_ir_response_t r;
    sy_ir_error_t e;
    CHECK(sy_provider_anthropic.decode(a, &cx, sy_str_c(msg), &r, &e) == SY_OK);
    CHECK(memcmp(&u, &r.usage, sizeof(u)) == 0);
    CHECK_INT(u.input, 10);
    CHECK_INT(u.output, 9);
    /* repeated members: the decode reads the last of each, as a lookup does */
    const char *dup = "{\"id\":\"a\",\"model\":\"m1\",\"type\":\"message\",\"content\":[],"
                      "\"stop_reason\":\"max_tokens\",\"id\":\"b\",\"model\":\"m2\","
                      "\"content\":[{\"type\":\"text\",\"text\":\"t\"}],\"stop_reason\":\"end_turn\","
                      "\"usage\":{\"output_tokens\":1},\"usage\":{\"output_tokens\":2}}";
    CHECK(sy_provider_anthropic.decode(a, &cx, sy_str_c(dup), &r, &e) == SY_OK);
    CHECK(sy_str_eq_c(r.id, "b") && sy_str_eq_c(r.model, "m2"));
    CHECK(r.nparts == 1 && r.finish == SY_IR_FINISH_STOP && r.usage.output == 2);
    for (size_t i = 0; i < strlen(msg); i++)
        CHECK_INT(sy_provider_anthropic.passthrough_usage(a, sy_str(msg, i), &u), SY_EAGAIN);
    CHECK_INT(sy_provider_anthropic.passthrough_usage(
                  a, SY_STR("{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}"), &u),
              SY_EAGAIN);
    CHECK_INT(sy_provider_anthropic.passthrough_usage(a, SY_STR("{\"type\":\"message\"}"), &u), SY_EAGAIN);

    cx.model = SY_STR("claude-x");
    cx.base_path = SY_STR("/v1");
    cx.api_key = SY_STR("k");
    sy_upstream_req_t up;
    CHECK_INT(sy_provider_anthropic.passthrough(
                  a, &cx, SY_STR("{\"model\":\"claude\", \"max_tokens\":5,\"stream\":true}"), true, &up),
              SY_OK);
    CHECK_STR(up.body, "{\"model\":\"claude-x\",\"max_tokens\":5,\"stream\":true}");
    CHECK_STR(up.path, "/v1/messages");
    CHECK(up.stream);
    sy_arena_free(a);
}

int main(void)
{
    RUN(test_tool_input);
    RUN(test_tool_id);
    RUN(test_usage);
    RUN(test_names);
    RUN(test_map_error_escapes);
    RUN(test_count_tokens);
    RUN(test_stream_contract);
    RUN(test_fd_stream_edges);
    RUN(test_passthrough);
    return unit_done();
}
