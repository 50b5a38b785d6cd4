/*
 * fuzz_json.c - libFuzzer target for the JSON parser and writer.
 *
 * For every input: parse with small caps; when it parses, serialize, parse
 * the output again and require an equal tree and byte-identical second
 * serialization (abort otherwise). Also drives the accessors, the path
 * helper and one rewrite of a "model" field, as the gateway does; and the
 * member walk without a tree (sy_json_members_*), which must agree with the
 * parser on every object it accepts; and the OpenAI usage read from text
 * (sy_openai_usage_text), which may answer only where the parser accepts
 * and must then read what the tree read does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/arena.h"
#include "core/buf.h"
#include "json/json.h"
#include "providers/openai_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_json: %s\n", what);
        abort();
    }
}

/* Exercise the typed reads on every scalar of a tree (bounded walk). */
static void touch(const sy_json_t *v, int depth)
{
    int64_t i;
    uint64_t u;
    double d;
    bool b;
    sy_str_t s;
    if (depth > 64)
        return;
    switch (v->type) {
    case SY_JSON_NUMBER:
        (void)sy_json_as_i64(v, &i);
        (void)sy_json_as_u64(v, &u);
        (void)sy_json_as_double(v, &d);
        must(sy_json_number_valid(v->u.num), "parsed number fails the grammar");
        break;
    case SY_JSON_STRING:
        must(sy_json_as_str(v, &s) == SY_OK, "as_str");
        break;
    case SY_JSON_TRUE:
    case SY_JSON_FALSE:
        must(sy_json_as_bool(v, &b) == SY_OK, "as_bool");
        break;
    case SY_JSON_ARRAY:
        for (size_t k = 0; k < sy_json_len(v) && k < 16; k++)
            touch(sy_json_index(v, k), depth + 1);
        break;
    case SY_JSON_OBJECT:
        for (uint32_t k = 0; k < v->u.obj.len && k < 16; k++) {
            must(sy_json_get_str(v, v->u.obj.items[k].key) != NULL, "get of own key");
            touch(&v->u.obj.items[k].value, depth + 1);
        }
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sy_arena_t *a;
    if (a == NULL)
        a = sy_arena_new(65536);
    sy_json_limits_t lim = {.max_depth = 256, .max_input = 1 << 20};
    sy_json_t *v = NULL, *v2 = NULL;
    sy_json_error_t err;
    sy_buf_t b1, b2;
    sy_buf_init(&b1, 0);
    sy_buf_init(&b2, 0);

    /* The walk without a tree takes any bytes. */
    {
        sy_json_members_t it;
        sy_json_span_t m;
        if (sy_json_members_init(&it, sy_str((const char *)data, size)) == SY_OK)
            while (sy_json_members_next(&it, &m) == SY_OK)
                must(m.member.p >= (const char *)data &&
                         m.value.p + m.value.len <= (const char *)data + size,
                     "walk span outside the input");
    }
    {
        sy_openai_counts_t c;
        if (sy_openai_usage_text(sy_str((const char *)data, size), &c) == SY_OK) {
            sy_json_t *u = NULL;
            sy_ir_usage_t want, got;
            must(sy_json_parse(a, (const char *)data, size, NULL, &u, NULL) == SY_OK &&
                     u->type == SY_JSON_OBJECT,
                 "usage read from text the parser refuses");
            memset(&want, 0, sizeof(want));
            memset(&got, 0, sizeof(got));
            sy_openai_read_usage(u, &want);
            sy_openai_usage_from_counts(&c, &got);
            must(memcmp(&want, &got, sizeof(got)) == 0, "usage read from text differs");
        }
    }
    int rc = sy_json_parse(a, (const char *)data, size, &lim, &v, &err);
    if (rc != SY_OK) {
        must(v == NULL && err.code == rc && err.msg != NULL && err.offset <= size &&
                 err.line >= 1 && err.col >= 1,
             "error record");
        goto out;
    }
    touch(v, 0);
    /* The walk without a tree agrees with the parser on valid objects:
     * the same members in order, each value parsing to the same tree. */
    if (v->type == SY_JSON_OBJECT) {
        sy_json_members_t it;
        sy_json_span_t m;
        uint32_t k = 0;
        int wrc = sy_json_members_init(&it, sy_str((const char *)data, size));
        must(wrc == SY_OK, "walk refused a valid object");
        while ((wrc = sy_json_members_next(&it, &m)) == SY_OK) {
            must(k < v->u.obj.len, "walk found more members");
            if (!m.key_escaped)
                must(sy_str_eq(m.key, v->u.obj.items[k].key), "walk key differs");
            sy_json_t *mv = NULL;
            must(sy_json_parse(a, m.value.p, m.value.len, &lim, &mv, &err) == SY_OK &&
                     sy_json_equal(mv, &v->u.obj.items[k].value),
                 "walk value differs");
            k++;
        }
        must(wrc == SY_ENOTFOUND && k == v->u.obj.len, "walk ended early");
    }
    (void)sy_json_path(v, "choices.0.delta.content");
    (void)sy_json_path(v, "0.a");

    must(sy_json_serialize(v, &b1, 0) == SY_OK, "serialize");
    must(sy_json_parse(a, sy_buf_ptr(&b1), b1.len, &lim, &v2, &err) == SY_OK,
         "re-parse of own output");
    must(sy_json_equal(v, v2), "trees differ after a round trip");
    must(sy_json_serialize(v2, &b2, 0) == SY_OK, "second serialize");
    must(sy_str_eq(sy_buf_str(&b1), sy_buf_str(&b2)), "re-serialization differs");

    /* The U+2028 flag only changes escapes, never validity. */
    sy_buf_clear(&b2);
    must(sy_json_serialize(v, &b2, SY_JSON_WRITE_ESCAPE_LS) == SY_OK, "serialize LS");
    must(sy_json_parse(a, sy_buf_ptr(&b2), b2.len, &lim, &v2, &err) == SY_OK &&
             sy_json_equal(v, v2),
         "LS-escaped output differs");

    /* Rewrite like the gateway does: one "model" member afterwards. */
    if (v->type == SY_JSON_OBJECT) {
        sy_json_set(a, v, SY_STR("model"), sy_json_new_str(a, SY_STR("m\"x")));
        sy_json_remove(v, SY_STR("stream"));
        size_t models = 0;
        for (uint32_t k = 0; k < v->u.obj.len; k++)
            models += sy_str_eq_c(v->u.obj.items[k].key, "model");
        must(models == 1, "set left duplicates");
        sy_buf_clear(&b1);
        must(sy_json_serialize(v, &b1, 0) == SY_OK, "serialize after set");
        must(sy_json_parse(a, sy_buf_ptr(&b1), b1.len, &lim, &v2, &err) == SY_OK &&
                 sy_json_equal(v, v2),
             "rewritten tree does not round-trip");
    }

out:
    sy_buf_free(&b1);
    sy_buf_free(&b2);
    sy_arena_reset(a);
    return 0;
}
