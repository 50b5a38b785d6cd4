/*
 * test_sim.c - the simulator's pure parts: tokenizer, generator, schema-
 * conforming JSON, behaviour headers, configuration, secret masking.
 */
#include <stdlib.h>

#include "sim/internal.h"
#include "unit.h"

static size_t toks(const char *s) { return sy_sim_tokens(sy_str_c(s)); }

static void test_tokenizer(void)
{
    CHECK_INT(toks(""), 0);
    CHECK_INT(toks("   "), 0);
    CHECK_INT(toks("hello"), 1);
    CHECK_INT(toks("hello world"), 2);
    CHECK_INT(toks("Hello, world!"), 4);
    CHECK_INT(toks("{\"a\":1}"), 7);
    CHECK_INT(toks("abc123 x_y"), 4); /* abc123, x, _, y */
    CHECK_INT(toks("caf\xc3\xa9 ok"), 2); /* UTF-8 letters join the run */
    CHECK_INT(toks("  leading and trailing  "), 3);
    sy_str_t s = sy_str_c(" foo, bar");
    CHECK_INT(sy_sim_token_len(s, 0), 4);
    CHECK_INT(sy_sim_token_len(s, 4), 1);
    CHECK_INT(sy_sim_token_len(s, 5), 4);
    CHECK_INT(sy_sim_token_len(s, 9), 0);
}

static void test_tokens_json(void)
{
    sy_arena_t *a = sy_arena_new(0);
    const char *src = "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"two words\"},"
                      "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:...\"}}]},{\"n\":5,\"b\":true}]";
    sy_json_t *v;
    CHECK(sy_json_parse(a, src, strlen(src), NULL, &v, NULL) == SY_OK);
    /* user, text, two words + image (85) + 5 + true */
    CHECK_INT(sy_sim_tokens_json(v), 1 + 1 + 2 + SY_SIM_IMAGE_TOKENS + 2);
    sy_arena_free(a);
}

static void test_generator(void)
{
    sy_buf_t a, b, c;
    sy_buf_init(&a, 0);
    sy_buf_init(&b, 0);
    sy_buf_init(&c, 0);
    for (uint32_t i = 0; i < 200; i++) {
        sy_sim_gen_token(42, i, &a);
        sy_sim_gen_token(42, i, &b);
        sy_sim_gen_token(43, i, &c);
    }
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    CHECK(a.len != c.len || memcmp(a.data, c.data, a.len) != 0);
    /* One tokenizer token per generated token; the first is capitalised. */
    CHECK_INT(sy_sim_tokens(sy_buf_str(&a)), 200);
    CHECK(a.data[0] >= 'A' && a.data[0] <= 'Z');
    /* Text cursors hand out the same bytes in pieces as at once. */
    sy_sim_text_t t1, t2;
    sy_buf_t scratch, pieces;
    sy_buf_init(&scratch, 0);
    sy_buf_init(&pieces, 0);
    sy_sim_text_words(&t1, 42, 200, NULL, 0, NULL, &scratch);
    uint32_t n = 0, got;
    while ((got = sy_sim_text_take(&t1, 3, &pieces)) > 0)
        n += got;
    CHECK_INT(n, 200);
    CHECK(pieces.len == a.len && memcmp(pieces.data, a.data, a.len) == 0);
    /* A stop sequence cuts the text before it. */
    sy_str_t stop = sy_str(a.data + 40, 6);
    int which = -2;
    sy_sim_text_words(&t2, 42, 200, &stop, 1, &which, &scratch);
    CHECK_INT(which, 0);
    sy_buf_clear(&pieces);
    sy_sim_text_all(&t2, &pieces);
    CHECK(sy_str_find(sy_buf_str(&pieces), stop) < 0);
    CHECK(pieces.len <= 40 && memcmp(pieces.data, a.data, pieces.len) == 0);
    CHECK_INT(sy_sim_text_count(&t2), sy_sim_tokens(sy_buf_str(&pieces)));
    /* A fixed string in pieces. */
    sy_sim_text_t f;
    sy_sim_text_fixed(&f, sy_str_c("{\"a\": [1, 2]} "));
    CHECK_INT(f.ntokens, 11);
    sy_buf_clear(&pieces);
    while (sy_sim_text_take(&f, 2, &pieces) > 0)
        ;
    CHECK_MEM(pieces.data, pieces.len, "{\"a\": [1, 2]} ");
    sy_buf_free(&a);
    sy_buf_free(&b);
    sy_buf_free(&c);
    sy_buf_free(&scratch);
    sy_buf_free(&pieces);
}

/* Generate for a schema, parse it back, and return the tree. */
static sy_json_t *gen(sy_arena_t *a, const char *schema_src, uint64_t seed)
{
    sy_json_t *schema = NULL;
    if (schema_src && sy_json_parse(a, schema_src, strlen(schema_src), NULL, &schema, NULL) != SY_OK)
        return NULL;
    sy_buf_t out;
    sy_buf_init(&out, 0);
    sy_json_writer_t w;
    sy_json_writer_init(&w, &out, 0);
    sy_sim_gen_json(seed, schema, &w);
    sy_json_t *v = NULL;
    if (sy_json_write_finish(&w) == SY_OK) {
        char *copy = sy_arena_memdup(a, out.data, out.len);
        if (sy_json_parse(a, copy, out.len, NULL, &v, NULL) != SY_OK)
            v = NULL;
    }
    sy_buf_free(&out);
    return v;
}

static void test_schema_json(void)
{
    sy_arena_t *a = sy_arena_new(0);
    const char *schema =
        "{\"type\":\"object\",\"properties\":{"
        "\"city\":{\"type\":\"string\"},"
        "\"unit\":{\"type\":\"string\",\"enum\":[\"c\",\"f\"]},"
        "\"days\":{\"type\":\"integer\",\"minimum\":3,\"maximum\":5},"
        "\"score\":{\"type\":\"number\",\"minimum\":0.5,\"maximum\":0.75},"
        "\"ok\":{\"type\":\"boolean\"},"
        "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"minItems\":2,\"maxItems\":2},"
        "\"where\":{\"type\":\"object\",\"properties\":{\"lat\":{\"type\":\"number\"}},\"required\":[\"lat\"]},"
        "\"kind\":{\"const\":\"fixed\"},"
        "\"maybe\":{\"anyOf\":[{\"type\":\"null\"},{\"type\":\"integer\"}]},"
        "\"ref\":{\"$ref\":\"#/$defs/Item\"},"
        "\"when\":{\"type\":\"string\",\"format\":\"date-time\"}},"
        "\"required\":[\"city\",\"unit\",\"days\",\"score\",\"ok\",\"tags\",\"where\",\"kind\",\"maybe\",\"ref\",\"when\"],"
        "\"$defs\":{\"Item\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"}},\"required\":[\"id\"]}}}";
    for (uint64_t seed = 1; seed < 40; seed++) {
        sy_json_t *v = gen(a, schema, seed);
        CHECK(v && v->type == SY_JSON_OBJECT);
        if (!v)
            continue;
        CHECK(sy_json_is(sy_json_get(v, "city"), SY_JSON_STRING));
        sy_str_t u = sy_json_str(sy_json_get(v, "unit"));
        CHECK(sy_str_eq_c(u, "c") || sy_str_eq_c(u, "f"));
        int64_t d = 0;
        CHECK(sy_json_as_i64(sy_json_get(v, "days"), &d) == SY_OK && d >= 3 && d <= 5);
        double sc = -1;
        CHECK(sy_json_as_double(sy_json_get(v, "score"), &sc) == SY_OK && sc >= 0.5 && sc <= 0.75);
        CHECK(sy_json_is_bool(sy_json_get(v, "ok")));
        CHECK_INT(sy_json_len(sy_json_get(v, "tags")), 2);
        CHECK(sy_json_is(sy_json_path(v, "where.lat"), SY_JSON_NUMBER));
        CHECK(sy_str_eq_c(sy_json_str(sy_json_get(v, "kind")), "fixed"));
        CHECK(sy_json_is(sy_json_get(v, "maybe"), SY_JSON_NUMBER));
        CHECK(sy_json_is(sy_json_path(v, "ref.id"), SY_JSON_NUMBER));
        CHECK_INT(sy_json_str(sy_json_get(v, "when")).len, 20);
    }
    /* Deterministic per seed. */
    sy_json_t *x = gen(a, schema, 7), *y = gen(a, schema, 7);
    CHECK(x && y && sy_json_equal(x, y));
    /* No schema: a small object. A recursive $ref terminates. */
    sy_json_t *o = gen(a, NULL, 1);
    CHECK(o && o->type == SY_JSON_OBJECT && sy_json_len(o) > 0);
    sy_json_t *r = gen(a, "{\"type\":\"object\",\"properties\":{\"next\":{\"$ref\":\"#\"}},\"required\":[\"next\"]}", 3);
    CHECK(r != NULL);
    sy_arena_free(a);
}

static void test_embedding(void)
{
    sy_buf_t out;
    sy_buf_init(&out, 0);
    sy_json_writer_t w;
    sy_json_writer_init(&w, &out, 0);
    sy_sim_gen_embedding(9, 3, true, &w);
    CHECK(sy_json_write_finish(&w) == SY_OK);
    CHECK_INT(out.len, 2 + 16); /* 12 bytes -> 16 base64 characters, quoted */
    sy_buf_clear(&out);
    sy_json_writer_init(&w, &out, 0);
    sy_sim_gen_embedding(9, 8, false, &w);
    CHECK(sy_json_write_finish(&w) == SY_OK && out.data[0] == '[');
    sy_buf_free(&out);
}

static int hdr(sy_sim_behaviour_t *b, const char *n, const char *v)
{
    const char *why;
    return sy_sim_behaviour_header(b, sy_str_c(n), sy_str_c(v), &why);
}

static void test_behaviour_headers(void)
{
    sy_sim_behaviour_t b;
    memset(&b, 0, sizeof(b));
    b.fault_after = -1;
    CHECK_INT(hdr(&b, "X-Sim-TTFT-Ms", "250"), SY_OK);
    CHECK_INT(b.ttft_ms, 250);
    CHECK_INT(hdr(&b, "x-sim-tps", "40"), SY_OK);
    CHECK_INT(b.tps, 40);
    CHECK_INT(hdr(&b, "x-sim-output-tokens", "7"), SY_OK);
    CHECK_INT(b.output_tokens, 7);
    CHECK_INT(hdr(&b, "x-sim-seed", "18446744073709551615"), SY_OK);
    CHECK(b.seed_set && b.seed == UINT64_MAX);
    CHECK_INT(hdr(&b, "x-sim-tools", "3"), SY_OK);
    CHECK(b.tools == SY_SIM_TOOLS_COUNT && b.tool_calls == 3);
    CHECK_INT(hdr(&b, "x-sim-tools", "none"), SY_OK);
    CHECK(b.tools == SY_SIM_TOOLS_NONE);
    CHECK_INT(hdr(&b, "x-sim-fault", "hang-stream"), SY_OK);
    CHECK(b.fault == SY_SIM_FAULT_HANG_STREAM);
    CHECK_INT(hdr(&b, "x-sim-fault", "529"), SY_OK);
    CHECK(b.fault == SY_SIM_FAULT_529);
    CHECK_INT(hdr(&b, "x-sim-fault-after", "4"), SY_OK);
    CHECK_INT(b.fault_after, 4);
    CHECK_INT(hdr(&b, "x-sim-retry-after", "9"), SY_OK);
    CHECK_INT(b.retry_after_s, 9);
    CHECK_INT(hdr(&b, "content-type", "x"), SY_ENOTFOUND);
    CHECK_INT(hdr(&b, "x-sim-tps", "-1"), SY_EINVAL);
    CHECK_INT(hdr(&b, "x-sim-ttft-ms", "9999999"), SY_EINVAL);
    CHECK_INT(hdr(&b, "x-sim-fault", "explode"), SY_EINVAL);
    CHECK_INT(hdr(&b, "x-sim-tools", "17"), SY_EINVAL);
    CHECK_INT(hdr(&b, "x-sim-nope", "1"), SY_EINVAL);
    for (int f = 0; f <= SY_SIM_FAULT_CONTENT_TYPE; f++)
        CHECK_INT(sy_sim_fault_parse(sy_str_c(sy_sim_fault_name((sy_sim_fault_t)f))), f);
}

static void test_config(void)
{
    sy_sim_config_t *c = sy_sim_config_default();
    CHECK(c->nmodels > 10);
    CHECK(c->record == SY_SIM_DEFAULT_RECORD);
    sy_sim_config_free(c);
    const char *ok = "record_requests: 5\nkeys: [a, b]\nbuiltin_models: false\n"
                     "defaults: {tps: 10}\n"
                     "models:\n  - name: m1\n    family: anthropic\n    ttft: 1500ms\n"
                     "    fault: 429\n    fault_rate: 0.25\n  - name: e1\n    kind: embedding\n";
    char *err = NULL;
    c = sy_sim_config_parse("t.yaml", ok, strlen(ok), &err);
    CHECK(c != NULL && err == NULL);
    if (c) {
        CHECK_INT(c->nmodels, 2);
        CHECK_INT(c->nkeys, 2);
        CHECK_INT(c->record, 5);
        CHECK_INT(c->models[0].bhv.ttft_ms, 1500);
        CHECK_INT(c->models[0].bhv.tps, 10);
        CHECK(c->models[0].family == SY_SIM_FAMILY_ANTHROPIC);
        CHECK(c->models[0].bhv.fault == SY_SIM_FAULT_429 && c->models[0].fault_rate == 0.25);
        CHECK_INT(c->models[1].dims, 1536);
        sy_sim_config_free(c);
    }
    const char *bad = "models:\n  - name: m\n    tps: fast\n  - family: openai\nworkerz: 2\n";
    c = sy_sim_config_parse("bad.yaml", bad, strlen(bad), &err);
    CHECK(c == NULL && err != NULL);
    if (err) {
        CHECK(strstr(err, "bad.yaml:3:") != NULL);
        CHECK(strstr(err, "bad.yaml:4:") != NULL);
        CHECK(strstr(err, "workerz") != NULL);
        free(err);
    }
}

/* The tool-name rule the OpenAI, Anthropic and Bedrock families share. */
static void test_tool_names(void)
{
    CHECK(sy_sim_tool_name_ok(SY_STR("get_weather-2"), 64));
    CHECK(sy_sim_tool_name_ok(SY_STR("x"), 64));
    CHECK(!sy_sim_tool_name_ok(SY_STR(""), 64));
    CHECK(!sy_sim_tool_name_ok(SY_STR("bad name!"), 64));
    CHECK(!sy_sim_tool_name_ok(SY_STR("a.b"), 64));
    CHECK(!sy_sim_tool_name_ok(SY_STR("caf\xc3\xa9"), 64));
    char long_name[129];
    memset(long_name, 'a', sizeof(long_name));
    CHECK(sy_sim_tool_name_ok(sy_str(long_name, 64), 64));
    CHECK(!sy_sim_tool_name_ok(sy_str(long_name, 65), 64));
    CHECK(sy_sim_tool_name_ok(sy_str(long_name, 128), 128)); /* Anthropic's limit */
    CHECK(!sy_sim_tool_name_ok(sy_str(long_name, 129), 128));
}

static void test_masking(void)
{
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_sim_mask_header(sy_str_c("Authorization"), sy_str_c("Bearer sk-abcdefghijklmnop"), &b);
    CHECK_MEM(b.data, b.len, "Bearer ****mnop");
    sy_buf_clear(&b);
    sy_sim_mask_header(sy_str_c("x-api-key"), sy_str_c("short"), &b);
    CHECK_MEM(b.data, b.len, "****");
    sy_buf_clear(&b);
    sy_sim_mask_header(sy_str_c("content-type"), sy_str_c("application/json"), &b);
    CHECK_MEM(b.data, b.len, "application/json");
    sy_buf_clear(&b);
    sy_sim_mask_header(sy_str_c("authorization"),
                       sy_str_c("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE1234567/20250101/us-east-1/"
                                "bedrock/aws4_request, SignedHeaders=host, Signature=deadbeef"),
                       &b);
    CHECK_MEM(b.data, b.len,
              "AWS4-HMAC-SHA256 Credential=****4567/20250101/us-east-1/bedrock/aws4_request, "
              "SignedHeaders=host, Signature=****");
    sy_buf_clear(&b);
    sy_sim_mask_query(sy_str_c("alt=sse&key=AIzaSyEXAMPLEKEY123&x"), &b);
    CHECK_MEM(b.data, b.len, "alt=sse&key=****Y123&x");
    sy_buf_free(&b);
}

int main(void)
{
    RUN(test_tokenizer);
    RUN(test_tokens_json);
    RUN(test_generator);
    RUN(test_schema_json);
    RUN(test_embedding);
    RUN(test_behaviour_headers);
    RUN(test_config);
    RUN(test_masking);
    RUN(test_tool_names);
    return unit_done();
}
