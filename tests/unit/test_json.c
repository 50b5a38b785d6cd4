/* Unit tests for src/json: parser, lookups, builder, writer, JSONTestSuite. */
#include "unit.h"

#include <dirent.h>
#include <stdlib.h>
#include "core/arena.h"
#include "core/buf.h"
#include "json/json.h"

static sy_arena_t *A;

/* Parse a C string with default limits; NULL on failure. */
static sy_json_t *P(const char *s)
{
    sy_json_t *v = NULL;
    sy_json_error_t err;
    if (sy_json_parse(A, s, strlen(s), NULL, &v, &err) != SY_OK)
        return NULL;
    return v;
}

/* Parse and return the error code (0 when it parsed). */
static int perr(const char *s, size_t len, const sy_json_limits_t *lim, sy_json_error_t *err)
{
    sy_json_t *v = NULL;
    int rc = sy_json_parse(A, s, len, lim, &v, err);
    if (rc != SY_OK && v != NULL)
        return 99; /* out must be NULL on failure */
    return rc;
}

/* Serialize v into a fresh C string in the arena ("<error N>" on failure). */
static const char *S(const sy_json_t *v, uint32_t flags)
{
    sy_buf_t b;
    sy_buf_init(&b, 0);
    int rc = sy_json_serialize(v, &b, flags);
    const char *s = rc ? sy_arena_sprintf(A, "<error %d>", rc) : sy_str_cdup(A, sy_buf_str(&b));
    sy_buf_free(&b);
    return s;
}

/* Parse, serialize, compare with the expected compact text. */
#define CHECK_RT(in, out)                                                                          \
    do {                                                                                           \
        sy_json_t *rt_v_ = P(in);                                                                  \
        CHECK(rt_v_ != NULL);                                                                      \
        if (rt_v_) {                                                                               \
            const char *rt_s_ = S(rt_v_, 0);                                                       \
            CHECK_MEM(rt_s_, strlen(rt_s_), out);                                                  \
        }                                                                                          \
    } while (0)

static void test_scalars(void)
{
    sy_json_t *v = P(" null ");
    CHECK(v && v->type == SY_JSON_NULL);
    v = P("true");
    CHECK(v && v->type == SY_JSON_TRUE);
    v = P("\tfalse\r\n");
    CHECK(v && v->type == SY_JSON_FALSE);
    bool b = true;
    CHECK_INT(sy_json_as_bool(v, &b), SY_OK);
    CHECK(!b);
    v = P("\"hi\"");
    CHECK(v && v->type == SY_JSON_STRING);
    CHECK_STR(sy_json_str(v), "hi");
    CHECK_INT(sy_json_as_bool(v, &b), SY_EINVAL);
    v = P("[]");
    CHECK(v && v->type == SY_JSON_ARRAY && sy_json_len(v) == 0);
    v = P("{}");
    CHECK(v && v->type == SY_JSON_OBJECT && sy_json_len(v) == 0);
    CHECK(P("nul") == NULL);
    CHECK(P("True") == NULL);
    CHECK(P("") == NULL);
    CHECK(P("   ") == NULL);
    CHECK(strcmp(sy_json_type_name(SY_JSON_OBJECT), "object") == 0);
}

static void test_numbers(void)
{
    /* Exact pass-through of the written text. */
    CHECK_RT("[1.0e+2, -0, 12345678901234567890123, 0.1, -1.5E-3, 0e0, 1E400]",
             "[1.0e+2,-0,12345678901234567890123,0.1,-1.5E-3,0e0,1E400]");
    const char *bad[] = {"01",   "-",    "+1",       "1.",  ".5",  "1e",  "1e+",  "-a",
                         "0x10", "1.e3", "Infinity", "NaN", "--1", "1 2", "[00]", "[-01]"};
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        if (P(bad[i]) != NULL)
            fprintf(stderr, "  accepted bad number %s\n", bad[i]);
        CHECK(P(bad[i]) == NULL);
    }

    int64_t i64 = 0;
    uint64_t u64 = 0;
    double d = 0;
    CHECK_INT(sy_json_as_i64(P("1.0e+2"), &i64), SY_OK);
    CHECK_INT(i64, 100);
    CHECK_INT(sy_json_as_i64(P("-0"), &i64), SY_OK);
    CHECK_INT(i64, 0);
    CHECK_INT(sy_json_as_i64(P("120e-1"), &i64), SY_OK);
    CHECK_INT(i64, 12);
    CHECK_INT(sy_json_as_i64(P("0.000e5"), &i64), SY_OK);
    CHECK_INT(i64, 0);
    CHECK_INT(sy_json_as_i64(P("1.5"), &i64), SY_EINVAL);
    CHECK_INT(sy_json_as_i64(P("1e-1"), &i64), SY_EINVAL);
    CHECK_INT(sy_json_as_i64(P("12345678901234567890123"), &i64), SY_ETOOBIG);
    CHECK_INT(sy_json_as_i64(P("1e400"), &i64), SY_ETOOBIG);
    CHECK_INT(sy_json_as_i64(P("1e999999999999999999999"), &i64), SY_ETOOBIG);
    CHECK_INT(sy_json_as_i64(P("9223372036854775807"), &i64), SY_OK);
    CHECK(i64 == INT64_MAX);
    CHECK_INT(sy_json_as_i64(P("-9223372036854775808"), &i64), SY_OK);
    CHECK(i64 == INT64_MIN);
    CHECK_INT(sy_json_as_i64(P("9223372036854775808"), &i64), SY_ETOOBIG);
    CHECK_INT(sy_json_as_i64(P("-9223372036854775809"), &i64), SY_ETOOBIG);
    CHECK_INT(sy_json_as_u64(P("9223372036854775808"), &u64), SY_OK);
    CHECK(u64 == 9223372036854775808ULL);
    CHECK_INT(sy_json_as_u64(P("18446744073709551615"), &u64), SY_OK);
    CHECK(u64 == UINT64_MAX);
    CHECK_INT(sy_json_as_u64(P("1844674407370955161.5e1"), &u64), SY_OK);
    CHECK(u64 == 18446744073709551615ULL);
    CHECK_INT(sy_json_as_u64(P("18446744073709551616"), &u64), SY_ETOOBIG);
    CHECK_INT(sy_json_as_u64(P("-1"), &u64), SY_ETOOBIG);
    CHECK_INT(sy_json_as_u64(P("-0.0"), &u64), SY_OK);
    CHECK_INT(sy_json_as_u64(P("\"1\""), &u64), SY_EINVAL);
    CHECK_INT(sy_json_as_i64(NULL, &i64), SY_EINVAL);
    CHECK_INT(sy_json_as_double(P("0.1"), &d), SY_OK);
    CHECK(d == 0.1);
    CHECK_INT(sy_json_as_double(P("-2.5E+3"), &d), SY_OK);
    CHECK(d == -2500.0);
    CHECK_INT(sy_json_as_double(P("1e400"), &d), SY_ETOOBIG);
    CHECK_INT(sy_json_as_double(P("1e-400"), &d), SY_OK);
    CHECK(d == 0.0);
    CHECK_INT(sy_json_as_double(P("null"), &d), SY_EINVAL);
    /* A long number goes through the heap path of the strtod copy. */
    char longnum[300];
    memset(longnum, '1', 200);
    strcpy(longnum + 200, ".5");
    CHECK_INT(sy_json_as_double(P(longnum), &d), SY_OK);
    CHECK(d > 1e199 && d < 1e200);

    CHECK(sy_json_number_valid(SY_STR("-0.5e-7")));
    CHECK(!sy_json_number_valid(SY_STR("")));
    CHECK(!sy_json_number_valid(SY_STR("1 ")));
    CHECK(!sy_json_number_valid(SY_STR("00")));
}

static void test_strings(void)
{
    const char *src = "[\"plain\",\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\",\"\\u0041\\u00e9\\u20AC\"]";
    sy_json_t *v = P(src);
    CHECK(v && sy_json_len(v) == 3);
    if (!v)
        return;
    sy_str_t s0 = sy_json_str(sy_json_index(v, 0));
    CHECK_STR(s0, "plain");
    CHECK(s0.p == src + 2); /* zero-copy view into the source */
    CHECK(sy_json_index(v, 0)->flags == (SY_JSON_F_UTF8 | SY_JSON_F_VERBATIM | SY_JSON_F_ASCII));
    CHECK_STR(sy_json_str(sy_json_index(v, 1)), "a\"b\\c/d\b\f\n\r\t");
    CHECK(sy_json_index(v, 1)->flags == SY_JSON_F_UTF8); /* decoded */
    CHECK_STR(sy_json_str(sy_json_index(v, 2)), "A\xC3\xA9\xE2\x82\xAC");

    /* Surrogate pairs and the lone-surrogate policy (U+FFFD). */
    v = P("\"\\ud83d\\ude00\"");
    CHECK(v != NULL);
    CHECK_STR(sy_json_str(v), "\xF0\x9F\x98\x80");
    v = P("\"\\uD834\\uDD1E\"");
    CHECK_STR(sy_json_str(v), "\xF0\x9D\x84\x9E");
    v = P("\"\\ud800\"");
    CHECK_STR(sy_json_str(v), "\xEF\xBF\xBD");
    v = P("\"\\udc00x\"");
    CHECK_STR(sy_json_str(v), "\xEF\xBF\xBDx");
    v = P("\"\\ud800\\u0041\"");
    CHECK_STR(sy_json_str(v), "\xEF\xBF\xBD"
                              "A");
    v = P("\"\\ud800\\ud800\\udc00\"");
    CHECK_STR(sy_json_str(v), "\xEF\xBF\xBD\xF0\x90\x80\x80");
    v = P("\"\\ud800\\n\"");
    CHECK_STR(sy_json_str(v), "\xEF\xBF\xBD\n");

    /* \u0000 decodes to a NUL byte inside the view. */
    v = P("\"a\\u0000b\"");
    CHECK(v && v->u.str.len == 3 && memcmp(v->u.str.p, "a\0b", 3) == 0);
    CHECK_STR(sy_json_str(P("\"\"")), "");

    /* Non-ASCII without escapes stays zero-copy, flagged VERBATIM only. */
    v = P("\"caf\xC3\xA9 \xF0\x9F\x98\x80\"");
    CHECK(v && v->flags == (SY_JSON_F_UTF8 | SY_JSON_F_VERBATIM));

    /* A long string crosses the 16-byte scanner blocks at every offset. */
    for (size_t n = 0; n < 40; n++) {
        char buf[64];
        buf[0] = '"';
        memset(buf + 1, 'x', n);
        buf[n + 1] = '"';
        v = NULL;
        CHECK_INT(sy_json_parse(A, buf, n + 2, NULL, &v, NULL), SY_OK);
        CHECK(v && v->u.str.len == n);
        buf[n + 1] = '\n'; /* unescaped control character, then unterminated */
        CHECK_INT(perr(buf, n + 2, NULL, NULL), SY_EINVAL);
    }

    CHECK(P("\"\\x41\"") == NULL);
    CHECK(P("\"\\u12\"") == NULL);
    CHECK(P("\"\\u12G4\"") == NULL);
    CHECK(P("\"\\") == NULL);
    CHECK(P("\"abc") == NULL);
    CHECK(P("\"tab\there\"") == NULL);
    CHECK(P("'single'") == NULL);
    CHECK(P("\"\x7f\"") != NULL); /* DEL needs no escape */
}

static void test_utf8(void)
{
    struct {
        const char *s;
        bool ok;
    } cases[] = {
        {"\"\xC2\x80\"", true},          /* U+0080 */
        {"\"\xDF\xBF\"", true},          /* U+07FF */
        {"\"\xE0\xA0\x80\"", true},      /* U+0800 */
        {"\"\xED\x9F\xBF\"", true},      /* U+D7FF */
        {"\"\xEE\x80\x80\"", true},      /* U+E000 */
        {"\"\xEF\xBF\xBF\"", true},      /* U+FFFF */
        {"\"\xF0\x90\x80\x80\"", true},  /* U+10000 */
        {"\"\xF4\x8F\xBF\xBF\"", true},  /* U+10FFFF */
        {"\"\xC0\x80\"", false},         /* overlong NUL */
        {"\"\xC1\xBF\"", false},         /* overlong */
        {"\"\xE0\x80\x80\"", false},     /* overlong 3-byte */
        {"\"\xE0\x9F\xBF\"", false},     /* overlong 3-byte */
        {"\"\xF0\x80\x80\x80\"", false}, /* overlong 4-byte */
        {"\"\xF0\x8F\xBF\xBF\"", false}, /* overlong 4-byte */
        {"\"\xED\xA0\x80\"", false},     /* UTF-8 encoded surrogate U+D800 */
        {"\"\xED\xBF\xBF\"", false},     /* U+DFFF */
        {"\"\xF4\x90\x80\x80\"", false}, /* U+110000 */
        {"\"\xF5\x80\x80\x80\"", false}, /* lead byte F5 */
        {"\"\xFF\"", false},             /* never valid */
        {"\"\x80\"", false},             /* lone continuation */
        {"\"\xC3\"", false},             /* truncated before the quote */
        {"\"\xE2\x82\"", false},         /* truncated 3-byte */
        {"\"\xF0\x9F\x98\"", false},     /* truncated 4-byte */
        {"\"\xC3\x28\"", false},         /* bad continuation */
        {"\"\xE2\x28\xA1\"", false},     /* bad continuation */
        {"\"\xF0\x9F\x98", false},       /* truncated at end of input */
        {"\xEF\xBB\xBF{}", false},       /* byte-order mark */
        {"[\"\xC3\xA9\", \"\xE2\x82\xAC\"]", true},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        bool ok = P(cases[i].s) != NULL;
        if (ok != cases[i].ok)
            fprintf(stderr, "  utf8 case %zu: got %d\n", i, ok);
        CHECK(ok == cases[i].ok);
    }
    sy_json_error_t err;
    CHECK_INT(perr("[\"ab\xE0\x80\x80\"]", 9, NULL, &err), SY_EINVAL);
    CHECK_INT(err.offset, 4);
    CHECK(strstr(err.msg, "UTF-8") != NULL);

    CHECK_INT(sy_json_utf8_len("a", 1), 1);
    CHECK_INT(sy_json_utf8_len("\xE2\x82\xAC", 3), 3);
    CHECK_INT(sy_json_utf8_len("\xE2\x82\xAC", 2), 0);
    CHECK_INT(sy_json_utf8_len("", 0), 0);
}

/* Check one malformed input's code, position and message. */
static void check_err(const char *s, int code, size_t off, size_t line, size_t col,
                      const char *msg_part)
{
    sy_json_error_t err;
    int rc = perr(s, strlen(s), NULL, &err);
    CHECK_INT(rc, code);
    CHECK_INT(err.code, code);
    CHECK_INT(err.offset, off);
    CHECK_INT(err.line, line);
    CHECK_INT(err.col, col);
    CHECK(err.msg != NULL && strstr(err.msg, msg_part) != NULL);
    if (err.msg && !strstr(err.msg, msg_part))
        fprintf(stderr, "  input %s: message \"%s\"\n", s, err.msg);
}

static void test_errors(void)
{
    check_err("{\"a\":1,}", SY_EINVAL, 7, 1, 8, "expected a string key");
    check_err("[1 2]", SY_EINVAL, 3, 1, 4, "expected ',' or ']' after array element");
    check_err("{\"a\":1 \"b\":2}", SY_EINVAL, 7, 1, 8, "expected ',' or '}' after object member");
    check_err("{\"a\" 1}", SY_EINVAL, 5, 1, 6, "expected ':' after object key");
    check_err("{\n  \"a\": tru\n}", SY_EINVAL, 9, 2, 8, "invalid literal");
    check_err("[1,\n 2,\n ]", SY_EINVAL, 9, 3, 2, "expected a JSON value");
    check_err("", SY_EINVAL, 0, 1, 1, "expected a JSON value");
    check_err("[", SY_EINVAL, 1, 1, 2, "unexpected end of input");
    check_err("[1,", SY_EINVAL, 3, 1, 4, "unexpected end of input");
    check_err("{\"a\":", SY_EINVAL, 5, 1, 6, "unexpected end of input");
    check_err("1 2", SY_EINVAL, 2, 1, 3, "unexpected data after the JSON value");
    check_err("{} x", SY_EINVAL, 3, 1, 4, "unexpected data");
    check_err("  \"abc", SY_EINVAL, 2, 1, 3, "unterminated string");
    check_err("[\"a\\qb\"]", SY_EINVAL, 3, 1, 4, "invalid escape");
    check_err("[\"a\\u12x4\"]", SY_EINVAL, 3, 1, 4, "\\u escape");
    check_err("[\"a\nb\"]", SY_EINVAL, 3, 1, 4, "control character");
    check_err("[1.]", SY_EINVAL, 3, 1, 4, "decimal point");
    check_err("[1e]", SY_EINVAL, 3, 1, 4, "exponent");
    check_err("[-]", SY_EINVAL, 2, 1, 3, "digit");
    check_err("{1:2}", SY_EINVAL, 1, 1, 2, "expected a string key");
    check_err("[1}", SY_EINVAL, 2, 1, 3, "expected ',' or ']'");
    check_err("{\"a\":1]", SY_EINVAL, 6, 1, 7, "expected ',' or '}'");
    /* Success clears the error record. */
    sy_json_error_t err = {SY_ERR, 5, 5, 5, "x"};
    CHECK_INT(perr("[]", 2, NULL, &err), SY_OK);
    CHECK_INT(err.code, 0);
    CHECK(err.msg == NULL);
    /* NUL bytes in the input are data, not terminators. */
    CHECK_INT(perr("[1]\0", 4, NULL, &err), SY_EINVAL);
    CHECK_INT(err.offset, 3);
    CHECK_INT(perr("\"a\0b\"", 5, NULL, &err), SY_EINVAL);
    /* src NULL with len 0 is an empty input, not a crash. */
    CHECK_INT(perr(NULL, 0, NULL, &err), SY_EINVAL);
}

/* n nested arrays: "[[[...]]]". */
static char *nested(size_t n, bool close)
{
    char *s = malloc(2 * n + 1);
    memset(s, '[', n);
    if (close)
        memset(s + n, ']', n);
    s[close ? 2 * n : n] = '\0';
    return s;
}

static void test_depth(void)
{
    sy_json_error_t err;
    char *ok = nested(SY_JSON_MAX_DEPTH, true);
    CHECK_INT(perr(ok, strlen(ok), NULL, &err), SY_OK);
    free(ok);
    char *deep = nested(SY_JSON_MAX_DEPTH + 1, true);
    CHECK_INT(perr(deep, strlen(deep), NULL, &err), SY_ETOOBIG);
    CHECK_INT(err.offset, SY_JSON_MAX_DEPTH);
    CHECK(strstr(err.msg, "nesting") != NULL);
    free(deep);
    /* 100000 opening brackets: rejected at the cap, no recursion. */
    char *huge = nested(100000, false);
    CHECK_INT(perr(huge, strlen(huge), NULL, &err), SY_ETOOBIG);
    /* A caller-raised cap is clamped to the hard ceiling. */
    sy_json_limits_t lim = {.max_depth = 1000000};
    CHECK_INT(perr(huge, strlen(huge), &lim, &err), SY_ETOOBIG);
    CHECK_INT(err.offset, SY_JSON_MAX_DEPTH_LIMIT);
    free(huge);
    /* The full ceiling parses, and serializes. */
    char *max = nested(SY_JSON_MAX_DEPTH_LIMIT, true);
    sy_json_t *v = NULL;
    CHECK_INT(sy_json_parse(A, max, strlen(max), &lim, &v, &err), SY_OK);
    CHECK(strcmp(S(v, 0), max) == 0);
    free(max);
    lim = (sy_json_limits_t){.max_depth = 2};
    CHECK_INT(perr("[{\"a\":1}]", 9, &lim, &err), SY_OK);
    CHECK_INT(perr("[{\"a\":[]}]", 10, &lim, &err), SY_ETOOBIG);
    CHECK_INT(perr("{\"a\":{\"b\":{}}}", 14, &lim, &err), SY_ETOOBIG);
    CHECK_INT(err.offset, 10);
}

static void test_limits(void)
{
    sy_json_error_t err;
    sy_json_limits_t lim = {.max_input = 8};
    CHECK_INT(perr("[1,2,3]", 7, &lim, &err), SY_OK);
    CHECK_INT(perr("[1,2,3,4]", 9, &lim, &err), SY_ETOOBIG);
    CHECK(strstr(err.msg, "input") != NULL);
    lim = (sy_json_limits_t){.max_string = 3};
    CHECK_INT(perr("[\"abc\"]", 7, &lim, &err), SY_OK);
    CHECK_INT(perr("[\"abcd\"]", 8, &lim, &err), SY_ETOOBIG);
    CHECK_INT(err.offset, 1);
    CHECK_INT(perr("{\"abcd\":1}", 10, &lim, &err), SY_ETOOBIG); /* keys too */
    CHECK_INT(perr("[\"\\n\\n\"]", 8, &lim, &err), SY_ETOOBIG);  /* source bytes count */
    lim = (sy_json_limits_t){.max_number = 4};
    CHECK_INT(perr("[-1.5]", 6, &lim, &err), SY_OK);
    CHECK_INT(perr("[-1.55]", 7, &lim, &err), SY_ETOOBIG);
    CHECK(strstr(err.msg, "number") != NULL);
}

static void test_objects(void)
{
    sy_json_t *v = P("{\"a\":1,\"b\":{\"c\":[10,20,{\"d\":\"deep\"}]},\"a\":2,\"\":\"empty\"}");
    CHECK(v && sy_json_len(v) == 4);
    if (!v)
        return;
    int64_t n = 0;
    CHECK_INT(sy_json_as_i64(sy_json_get(v, "a"), &n), SY_OK);
    CHECK_INT(n, 2); /* last duplicate wins */
    CHECK_STR(v->u.obj.items[0].key, "a");
    CHECK_STR(v->u.obj.items[0].value.u.num, "1"); /* both kept, in order */
    CHECK_STR(sy_json_str(sy_json_get(v, "")), "empty");
    CHECK(sy_json_get(v, "zz") == NULL);
    CHECK(sy_json_get(sy_json_get(v, "a"), "x") == NULL);
    CHECK(sy_json_get(NULL, "a") == NULL);
    CHECK_STR(sy_json_str(sy_json_path(v, "b.c.2.d")), "deep");
    CHECK_INT(sy_json_as_i64(sy_json_path(v, "b.c.1"), &n), SY_OK);
    CHECK_INT(n, 20);
    CHECK(sy_json_path(v, "b.c.3") == NULL);
    CHECK(sy_json_path(v, "b.c.x") == NULL);
    CHECK(sy_json_path(v, "b.c.-1") == NULL);
    CHECK(sy_json_path(v, "a.b") == NULL);
    CHECK(sy_json_path(v, "b.") == NULL);
    CHECK(sy_json_path(v, "") == v);
    CHECK(sy_json_index(v, 0) == NULL);
    CHECK(sy_json_index(sy_json_path(v, "b.c"), 3) == NULL);

    /* Keys are decoded; lookups use the decoded form. */
    v = P("{\"a\\u0062\":true,\"\\u00e9\":null}");
    CHECK(sy_json_is(sy_json_get(v, "ab"), SY_JSON_TRUE));
    CHECK(sy_json_is(sy_json_get(v, "\xC3\xA9"), SY_JSON_NULL));

    /* The streaming-delta shape the gateway reads most. */
    v = P("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},"
          "\"finish_reason\":null}]}");
    CHECK_STR(sy_json_str(sy_json_path(v, "choices.0.delta.content")), "Hel");
    CHECK(sy_json_is(sy_json_path(v, "choices.0.finish_reason"), SY_JSON_NULL));
}

static void test_writer(void)
{
    sy_buf_t b;
    sy_json_writer_t w;
    sy_buf_init(&b, 0);
    sy_json_writer_init(&w, &b, 0);
    sy_json_write_begin_object(&w);
    sy_json_write_key(&w, SY_STR("model"));
    sy_json_write_string(&w, SY_STR("gpt-4o"));
    sy_json_write_key(&w, SY_STR("n"));
    sy_json_write_i64(&w, INT64_MIN);
    sy_json_write_key(&w, SY_STR("u"));
    sy_json_write_u64(&w, UINT64_MAX);
    sy_json_write_key(&w, SY_STR("list"));
    sy_json_write_begin_array(&w);
    sy_json_write_null(&w);
    sy_json_write_bool(&w, true);
    sy_json_write_bool(&w, false);
    sy_json_write_begin_array(&w);
    sy_json_write_end_array(&w);
    sy_json_write_begin_object(&w);
    sy_json_write_end_object(&w);
    sy_json_write_number_raw(&w, SY_STR("1.0e+2"));
    sy_json_write_raw(&w, SY_STR("{\"x\":[1]}"));
    sy_json_write_double(&w, 0.1);
    sy_json_write_i64(&w, 0);
    sy_json_write_end_array(&w);
    sy_json_write_key(&w, SY_STR("t"));
    sy_json_write_value(&w, P("{\"k\":[1,\"s\"]}"));
    sy_json_write_end_object(&w);
    CHECK_INT(sy_json_write_finish(&w), SY_OK);
    CHECK_STR(sy_buf_str(&b),
              "{\"model\":\"gpt-4o\",\"n\":-9223372036854775808,\"u\":18446744073709551615,"
              "\"list\":[null,true,false,[],{},1.0e+2,{\"x\":[1]},0.1,0],\"t\":{\"k\":[1,\"s\"]}}");

    /* Top-level scalars; appending after existing bytes keeps them. */
    sy_buf_clear(&b);
    sy_buf_append_c(&b, "data: ");
    sy_json_writer_init(&w, &b, 0);
    sy_json_write_i64(&w, -42);
    CHECK_INT(sy_json_write_finish(&w), SY_OK);
    CHECK_STR(sy_buf_str(&b), "data: -42");

    /* Misuse: each is sticky and truncates back to the start. */
    struct {
        int step;
        int want;
    } misuse[] = {{0, SY_EINVAL}, {1, SY_EINVAL}, {2, SY_EINVAL}, {3, SY_EINVAL}, {4, SY_EINVAL},
                  {5, SY_EINVAL}, {6, SY_EINVAL}, {7, SY_EINVAL}, {8, SY_EINVAL}, {9, SY_EINVAL}};
    for (size_t i = 0; i < SY_ARRAY_LEN(misuse); i++) {
        sy_buf_clear(&b);
        sy_buf_append_c(&b, "keep");
        sy_json_writer_init(&w, &b, 0);
        switch (misuse[i].step) {
        case 0: /* key in an array */
            sy_json_write_begin_array(&w);
            sy_json_write_key(&w, SY_STR("k"));
            sy_json_write_end_array(&w);
            break;
        case 1: /* value where a key is due */
            sy_json_write_begin_object(&w);
            sy_json_write_i64(&w, 1);
            sy_json_write_end_object(&w);
            break;
        case 2: /* mismatched end */
            sy_json_write_begin_object(&w);
            sy_json_write_end_array(&w);
            break;
        case 3: /* still open */
            sy_json_write_begin_array(&w);
            break;
        case 4: /* nothing written */
            break;
        case 5: /* two top-level values */
            sy_json_write_null(&w);
            sy_json_write_null(&w);
            break;
        case 6: /* key without value */
            sy_json_write_begin_object(&w);
            sy_json_write_key(&w, SY_STR("k"));
            sy_json_write_end_object(&w);
            break;
        case 7: /* NaN */
            sy_json_write_double(&w, 0.0 / 0.0);
            break;
        case 8: /* invalid raw number */
            sy_json_write_number_raw(&w, SY_STR("1e"));
            break;
        case 9: /* end with nothing open */
            sy_json_write_end_object(&w);
            break;
        }
        CHECK_INT(sy_json_write_finish(&w), misuse[i].want);
        CHECK_STR(sy_buf_str(&b), "keep");
    }
    sy_json_writer_init(&w, &b, 0);
    sy_json_write_value(&w, NULL);
    CHECK_INT(sy_json_write_finish(&w), SY_EINVAL);
    sy_buf_free(&b);

    /* The buffer cap: the error sticks, the buffer is left as it was. */
    sy_buf_t small;
    sy_buf_init(&small, 16);
    sy_json_writer_init(&w, &small, 0);
    sy_json_write_begin_array(&w);
    for (int i = 0; i < 100; i++)
        sy_json_write_i64(&w, i);
    sy_json_write_end_array(&w);
    CHECK_INT(w.err, SY_ETOOBIG);
    CHECK_INT(sy_json_write_finish(&w), SY_ETOOBIG);
    CHECK_INT(small.len, 0);
    sy_json_writer_init(&w, &small, 0);
    sy_json_write_string(&w, SY_STR("fits exactly"));
    CHECK_INT(sy_json_write_finish(&w), SY_OK);
    CHECK_STR(sy_buf_str(&small), "\"fits exactly\"");
    sy_buf_free(&small);

    /* The writer's nesting cap. */
    sy_buf_init(&b, 0);
    sy_json_writer_init(&w, &b, 0);
    for (int i = 0; i < SY_JSON_MAX_DEPTH_LIMIT + 1; i++)
        sy_json_write_begin_array(&w);
    CHECK_INT(w.err, SY_ETOOBIG);
    CHECK_INT(sy_json_write_finish(&w), SY_ETOOBIG);
    CHECK_INT(b.len, 0);
    sy_buf_free(&b);
}

static void test_writer_escaping(void)
{
    sy_buf_t b;
    sy_json_writer_t w;
    sy_buf_init(&b, 0);
    sy_json_writer_init(&w, &b, 0);
    sy_json_write_begin_array(&w);
    sy_json_write_string(&w, SY_STR("q\" b\\ / \b\f\n\r\t \x01\x1f\x7f"));
    sy_json_write_string(&w, sy_str("nul\0!", 5));
    sy_json_write_string(&w, SY_STR("\xE2\x80\xA8\xE2\x80\xA9 caf\xC3\xA9"));
    sy_json_write_string(&w, SY_STR("bad \xFF \xC0\x80 \xED\xA0\x80 \xE2\x82"));
    sy_json_write_string(&w, SY_STR(""));
    sy_json_write_string(&w, SY_STR_NULL);
    sy_json_write_end_array(&w);
    CHECK_INT(sy_json_write_finish(&w), SY_OK);
    CHECK_STR(sy_buf_str(&b), "[\"q\\\" b\\\\ / \\b\\f\\n\\r\\t \\u0001\\u001f\x7f\","
                              "\"nul\\u0000!\","
                              "\"\xE2\x80\xA8\xE2\x80\xA9 caf\xC3\xA9\","
                              "\"bad \xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD "
                              "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\","
                              "\"\",\"\"]");
    /* The output of the writer always parses. */
    CHECK(P(sy_str_cdup(A, sy_buf_str(&b))) != NULL);

    /* Optional U+2028/2029 escaping, also for verbatim parsed strings. */
    sy_buf_clear(&b);
    sy_json_writer_init(&w, &b, SY_JSON_WRITE_ESCAPE_LS);
    sy_json_write_value(&w, P("[\"a\xE2\x80\xA8z\",\"\xE2\x80\xA9\",\"\xE2\x80\xAA\"]"));
    CHECK_INT(sy_json_write_finish(&w), SY_OK);
    CHECK_STR(sy_buf_str(&b), "[\"a\\u2028z\",\"\\u2029\",\"\xE2\x80\xAA\"]");
    CHECK_STR(sy_str_c(S(P("[\"a\xE2\x80\xA8z\"]"), 0)), "[\"a\xE2\x80\xA8z\"]");

    /* Decoded (escaped) parsed strings take the known-UTF-8 path. */
    sy_json_t *dec = P("[\"\\u0001\\u00e9\\\"x\xE2\x80\xA8\\n0123456789abcdef\\t\"]");
    CHECK(dec && sy_json_index(dec, 0)->flags == SY_JSON_F_UTF8);
    CHECK_STR(sy_str_c(S(dec, 0)), "[\"\\u0001\xC3\xA9\\\"x\xE2\x80\xA8\\n0123456789abcdef\\t\"]");
    CHECK_STR(sy_str_c(S(dec, SY_JSON_WRITE_ESCAPE_LS)),
              "[\"\\u0001\xC3\xA9\\\"x\\u2028\\n0123456789abcdef\\t\"]");

    /* Keys are escaped too. */
    sy_buf_clear(&b);
    sy_json_writer_init(&w, &b, 0);
    sy_json_write_begin_object(&w);
    sy_json_write_key(&w, SY_STR("a\"b\n"));
    sy_json_write_null(&w);
    sy_json_write_end_object(&w);
    CHECK_INT(sy_json_write_finish(&w), SY_OK);
    CHECK_STR(sy_buf_str(&b), "{\"a\\\"b\\n\":null}");
    sy_buf_free(&b);

    CHECK_INT(sy_json_plain_prefix("abc\"def", 7), 3);
    CHECK_INT(sy_json_plain_prefix("0123456789abcdef0123\\", 21), 20);
    CHECK_INT(sy_json_plain_prefix("0123456789abcdef\x80", 17), 16);
    CHECK_INT(sy_json_plain_prefix("", 0), 0);
}

static void test_doubles(void)
{
    struct {
        double d;
        const char *s;
    } cases[] = {
        {0.0, "0"},
        {-0.0, "-0"},
        {0.1, "0.1"},
        {1.5, "1.5"},
        {100.0, "100"},
        {1e21, "1e+21"},
        {1e-7, "1e-7"},
        {5e-324, "5e-324"},
        {-2.5e-5, "-2.5e-5"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {0.30000000000000004, "0.30000000000000004"},
        {123456789.0, "123456789"},
        {1e15, "1e+15"},
        {1234e10, "1.234e+13"},
        {1234e3, "1234000"},
        {1e16, "1e+16"},
        {-100.0, "-100"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        char buf[32];
        size_t n = sy_json_format_double(buf, cases[i].d);
        CHECK_MEM(buf, n, cases[i].s);
        CHECK(sy_json_number_valid(sy_str(buf, n)));
    }
    char buf[32];
    CHECK_INT(sy_json_format_double(buf, 1.0 / 0.0), 0);
    /* Round trip of many doubles through text. */
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 2000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double d;
        memcpy(&d, &x, sizeof(d));
        if (d != d || d - d != 0) /* NaN or infinite */
            continue;
        size_t n = sy_json_format_double(buf, d);
        CHECK(n > 0);
        buf[n] = '\0';
        CHECK(strtod(buf, NULL) == d);
        sy_json_t *v = P(buf);
        double back = 0;
        CHECK(v && sy_json_as_double(v, &back) == SY_OK && back == d);
    }
}

static void test_round_trip(void)
{
    CHECK_RT(" { \"a\" : [ 1 , 2.50 , -0.0e-0 , true , false , null ] ,\n\t\"b\" : { } , "
             "\"c\" : [ ] , \"d\" : \"\\u00e9\\n\\/\" } ",
             "{\"a\":[1,2.50,-0.0e-0,true,false,null],\"b\":{},\"c\":[],\"d\":\"\xC3\xA9\\n/\"}");
    CHECK_RT("\"\\ud83d\\ude00\"", "\"\xF0\x9F\x98\x80\"");
    CHECK_RT("\"\\u001F\\u007f\"", "\"\\u001f\x7f\"");
    CHECK_RT("{\"a\":1,\"a\":2}", "{\"a\":1,\"a\":2}");
    CHECK_RT("[[[[]]],{\"\":{\"\":[]}}]", "[[[[]]],{\"\":{\"\":[]}}]");

    /* A bigger document: scratch stacks move to the heap; equal after a trip. */
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_buf_append_c(&b, "{\"items\":[");
    for (int i = 0; i < 3000; i++)
        sy_buf_printf(&b,
                      "%s{\"id\":%d,\"name\":\"item \\\"%d\\\"\",\"tags\":[\"a\",\"b\",%d.5],"
                      "\"nested\":{\"k%d\":{\"x\":[%d,[%d]]}}}",
                      i ? "," : "", i, i, i, i, i, i);
    sy_buf_append_c(&b, "]}");
    sy_json_t *v = NULL;
    CHECK_INT(sy_json_parse(A, sy_buf_ptr(&b), b.len, NULL, &v, NULL), SY_OK);
    CHECK_INT(sy_json_len(sy_json_get(v, "items")), 3000);
    CHECK_STR(sy_json_str(sy_json_path(v, "items.2999.name")), "item \"2999\"");
    sy_buf_t out;
    sy_buf_init(&out, 0);
    CHECK_INT(sy_json_serialize(v, &out, 0), SY_OK);
    CHECK(sy_str_eq(sy_buf_str(&out), sy_buf_str(&b))); /* already compact */
    sy_json_t *v2 = NULL;
    CHECK_INT(sy_json_parse(A, sy_buf_ptr(&out), out.len, NULL, &v2, NULL), SY_OK);
    CHECK(sy_json_equal(v, v2));
    sy_json_set(A, sy_json_path(v2, "items.5"), SY_STR("id"), sy_json_new_i64(A, 6));
    CHECK(!sy_json_equal(v, v2));
    sy_buf_free(&out);
    sy_buf_free(&b);

    CHECK(sy_json_equal(P("[1,{\"a\":\"x\"}]"), P(" [ 1 , { \"a\" : \"\\u0078\" } ] ")));
    CHECK(!sy_json_equal(P("1.0"), P("1")));
    CHECK(!sy_json_equal(P("{\"a\":1}"), P("{\"b\":1}")));
    CHECK(!sy_json_equal(P("[1]"), P("[1,2]")));
    CHECK(!sy_json_equal(P("true"), P("false")));
    CHECK(sy_json_equal(NULL, NULL));
    CHECK(!sy_json_equal(P("null"), NULL));
}

static void test_modify(void)
{
    const char *body = "{\"model\":\"fast\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                       "\"temperature\":0.70,\"model\":\"cheap\",\"stream\":true,"
                       "\"stream_options\":{\"include_usage\":false}}";
    sy_json_t *v = P(body);
    CHECK(v != NULL);
    if (!v)
        return;
    CHECK_STR(sy_json_str(sy_json_get(v, "model")), "cheap");
    /* Rewrite the model: one member remains, at the last duplicate's place. */
    sy_json_t *m = sy_json_set(A, v, SY_STR("model"), sy_json_new_str(A, SY_STR("gpt-4o-mini")));
    CHECK(m && sy_json_is(m, SY_JSON_STRING));
    CHECK_INT(sy_json_remove(v, SY_STR("stream_options")), 1);
    CHECK_INT(sy_json_remove(v, SY_STR("absent")), 0);
    sy_json_t *so = sy_json_new_object(A);
    sy_json_set(A, so, SY_STR("include_usage"), sy_json_new_bool(A, true));
    sy_json_set(A, v, SY_STR("stream_options"), so);
    sy_json_t *msg = sy_json_new_object(A);
    sy_json_set(A, msg, SY_STR("role"), sy_json_new_str(A, SY_STR("assistant")));
    sy_json_set(A, msg, SY_STR("content"), sy_json_new_str_copy(A, SY_STR("Hello \"you\"")));
    CHECK(sy_json_append(A, sy_json_get(v, "messages"), msg) != NULL);
    sy_json_set(A, v, SY_STR("max_tokens"), sy_json_new_u64(A, 256));
    sy_json_set(A, v, SY_STR("seed"), sy_json_new_i64(A, -7));
    sy_json_set(A, v, SY_STR("top_p"), sy_json_new_double(A, 0.25));
    sy_json_set(A, v, SY_STR("user"), sy_json_new_null(A));
    sy_json_set(A, v, SY_STR("n"), sy_json_new_number(A, SY_STR("1e0")));
    CHECK_STR(sy_str_c(S(v, 0)),
              "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\","
              "\"content\":\"Hello \\\"you\\\"\"}],\"temperature\":0.70,\"model\":\"gpt-4o-mini\","
              "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"max_tokens\":256,"
              "\"seed\":-7,\"top_p\":0.25,\"user\":null,\"n\":1e0}");

    /* Overwrite an existing value in place; set_str clears the flags. */
    sy_json_t *temp = sy_json_get(v, "temperature");
    sy_json_set_str(temp, SY_STR("a\"b"));
    CHECK(temp->flags == 0);
    sy_json_t *role = sy_json_path(v, "messages.0.role");
    CHECK(role && role->flags != 0);
    sy_json_set_str(role, SY_STR("x\ny"));
    const char *s = S(v, 0);
    CHECK(strstr(s, "\"temperature\":\"a\\\"b\"") != NULL);
    CHECK(strstr(s, "\"role\":\"x\\ny\"") != NULL);

    /* Invalid builder input is refused. */
    CHECK(sy_json_new_number(A, SY_STR("0x1F")) == NULL);
    CHECK(sy_json_new_double(A, 1.0 / 0.0) == NULL);
    CHECK(sy_json_set(A, v, SY_STR("x"), NULL) == NULL);
    CHECK(sy_json_set(A, sy_json_get(v, "messages"), SY_STR("x"), so) == NULL);
    CHECK(sy_json_append(A, v, so) == NULL);
    CHECK_INT(sy_json_remove(sy_json_get(v, "messages"), SY_STR("x")), 0);

    /* Many appends grow geometrically; self-append copies before growing. */
    sy_json_t *arr = sy_json_new_array(A);
    for (int i = 0; i < 1000; i++)
        sy_json_append(A, arr, sy_json_new_i64(A, i));
    sy_json_append(A, arr, sy_json_index(arr, 999));
    CHECK_INT(sy_json_len(arr), 1001);
    int64_t n = 0;
    CHECK_INT(sy_json_as_i64(sy_json_index(arr, 1000), &n), SY_OK);
    CHECK_INT(n, 999);
    /* Appending to a parsed (exactly sized) array also works. */
    sy_json_t *parsed = P("[1,2]");
    sy_json_append(A, parsed, sy_json_new_str(A, SY_STR("3")));
    CHECK_STR(sy_str_c(S(parsed, 0)), "[1,2,\"3\"]");

    /* Removal keeps order, with duplicates all removed. */
    sy_json_t *o = P("{\"a\":1,\"b\":2,\"a\":3,\"c\":4}");
    CHECK_INT(sy_json_remove(o, SY_STR("a")), 2);
    CHECK_STR(sy_str_c(S(o, 0)), "{\"b\":2,\"c\":4}");

    /* A hand-built invalid number is caught by the writer. */
    sy_json_t bad = {.type = SY_JSON_NUMBER};
    bad.u.num = SY_STR("12abc");
    CHECK_STR(sy_str_c(S(&bad, 0)), "<error -4>");
}

/* ------------------------------------------------------- JSONTestSuite --- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    sy_buf_t b;
    sy_buf_init(&b, 0);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        sy_buf_append(&b, tmp, n);
    fclose(f);
    *len = b.len;
    char *s = sy_malloc(b.len + 1);
    if (b.len)
        memcpy(s, b.data, b.len);
    s[b.len] = '\0';
    sy_buf_free(&b);
    return s;
}

/* parse -> serialize -> parse gives an equal tree and identical text. */
static bool round_trips(sy_json_t *v)
{
    sy_buf_t b1, b2;
    sy_buf_init(&b1, 0);
    sy_buf_init(&b2, 0);
    sy_json_t *v2 = NULL;
    bool ok = sy_json_serialize(v, &b1, 0) == SY_OK &&
              sy_json_parse(A, sy_buf_ptr(&b1), b1.len, NULL, &v2, NULL) == SY_OK &&
              sy_json_equal(v, v2) && sy_json_serialize(v2, &b2, 0) == SY_OK &&
              sy_str_eq(sy_buf_str(&b1), sy_buf_str(&b2));
    sy_buf_free(&b1);
    sy_buf_free(&b2);
    return ok;
}

static void test_jsontestsuite(void)
{
    const char *root = getenv("SY_ROOT");
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/tests/data/jsontestsuite/test_parsing", root ? root : ".");
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (!d) {
        fprintf(stderr, "  cannot open %s (set SY_ROOT)\n", dir);
        return;
    }
    int y = 0, y_ok = 0, n = 0, n_ok = 0, i = 0, i_acc = 0, rt = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        size_t nl = strlen(name);
        if (nl < 7 || strcmp(name + nl - 5, ".json") != 0 || name[1] != '_')
            continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        size_t len = 0;
        char *src = read_file(path, &len);
        CHECK(src != NULL);
        if (!src)
            continue;
        sy_json_t *v = NULL;
        sy_json_error_t err;
        int rc = sy_json_parse(A, src, len, NULL, &v, &err);
        if (name[0] == 'y') {
            y++;
            if (rc == SY_OK)
                y_ok++;
            else
                fprintf(stderr, "  rejected %s: %s at %zu\n", name, err.msg, err.offset);
            if (rc == SY_OK && round_trips(v))
                rt++;
            else if (rc == SY_OK)
                fprintf(stderr, "  round trip failed: %s\n", name);
        } else if (name[0] == 'n') {
            n++;
            if (rc != SY_OK && err.msg != NULL && err.offset <= len)
                n_ok++;
            else
                fprintf(stderr, "  accepted %s\n", name);
        } else if (name[0] == 'i') {
            i++;
            if (rc == SY_OK) {
                i_acc++;
                CHECK(round_trips(v));
            }
        }
        free(src);
        sy_arena_reset(A);
    }
    closedir(d);
    printf("jsontestsuite: y %d/%d accepted, n %d/%d rejected, i %d ran (%d accepted), "
           "y round trips %d/%d\n",
           y_ok, y, n_ok, n, i, i_acc, rt, y);
    CHECK(y >= 95 && y_ok == y && rt == y);
    CHECK(n >= 188 && n_ok == n);
    CHECK(i >= 35);
}

/* Members walked without a tree: "k=value|k=value|" and the final code. */
static const char *members(const char *text, int *rc)
{
    static char out[512];
    size_t n = 0;
    sy_json_members_t it;
    sy_json_span_t m;
    out[0] = '\0';
    *rc = sy_json_members_init(&it, sy_str_c(text));
    while (*rc == SY_OK && (*rc = sy_json_members_next(&it, &m)) == SY_OK)
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%.*s%s=%.*s|", (int)m.key.len, m.key.p,
                              m.key_escaped ? "(esc)" : "", (int)m.value.len, m.value.p);
    return out;
}

static void test_members(void)
{
    int rc;
    CHECK(strcmp(members("{}", &rc), "") == 0);
    CHECK_INT(rc, SY_ENOTFOUND);
    CHECK(strcmp(members(" {\"a\" : 1 ,\"b\":\"x\\\"}\\\\\",\"c\":{\"d\":[1,{\"e\":\"]\"}]},\"f\":null}\n", &rc),
                 "a=1|b=\"x\\\"}\\\\\"|c={\"d\":[1,{\"e\":\"]\"}]}|f=null|") == 0);
    CHECK_INT(rc, SY_ENOTFOUND);
    CHECK(strcmp(members("{\"k\\u0031\":true}", &rc), "k\\u0031(esc)=true|") == 0);
    CHECK_INT(rc, SY_ENOTFOUND);
    /* the member span runs from the key's quote to the value's end */
    sy_json_members_t it;
    sy_json_span_t m;
    CHECK_INT(sy_json_members_init(&it, SY_STR("{\"a\" :  [ 1 ] }")), SY_OK);
    CHECK_INT(sy_json_members_next(&it, &m), SY_OK);
    CHECK_STR(m.member, "\"a\" :  [ 1 ]");
    CHECK_INT(sy_json_members_next(&it, &m), SY_ENOTFOUND);
    CHECK_INT(sy_json_members_next(&it, &m), SY_ENOTFOUND);
    /* in two steps: the value's start, then its length from the caller */
    CHECK_INT(sy_json_members_init(&it, SY_STR("{\"a\": {\"b\":1} , \"c\":2}")), SY_OK);
    CHECK_INT(sy_json_members_key(&it, &m), SY_OK);
    CHECK_STR(m.key, "a");
    CHECK(m.value.len == 0 && *m.value.p == '{');
    CHECK_INT(sy_json_members_value(&it, &m, 7), SY_OK);
    CHECK_STR(m.value, "{\"b\":1}");
    CHECK_STR(m.member, "\"a\": {\"b\":1}");
    CHECK_INT(sy_json_members_key(&it, &m), SY_OK);
    CHECK_INT(sy_json_members_value(&it, &m, 0), SY_OK);
    CHECK_STR(m.member, "\"c\":2");
    CHECK_INT(sy_json_members_key(&it, &m), SY_ENOTFOUND);
    CHECK_INT(sy_json_members_init(&it, SY_STR("{\"a\":1}")), SY_OK);
    CHECK_INT(sy_json_members_key(&it, &m), SY_OK);
    CHECK_INT(sy_json_members_value(&it, &m, 3), SY_EINVAL); /* past the end */
    CHECK_INT(sy_json_members_init(&it, SY_STR("{\"a\": ")), SY_OK);
    CHECK_INT(sy_json_members_key(&it, &m), SY_EINVAL); /* no value */
    /* malformed: the walk says so (at the latest at the member it cannot read) */
    const char *bad[] = {"", "[1]", "{", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":1,}", "{\"a\" 1}",
                         "{a:1}", "{\"a\":[1}", "{\"a\":{]}", "{\"a\":\"x}", "{\"a\":1}}", "{\"a\":1} 2",
                         "{\"a\":1 \"b\":2}", "{\"a\":]}", "{\"a\":\"x\\\"}"};
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        members(bad[i], &rc);
        CHECK_INT(rc, SY_EINVAL);
    }
    /* nesting: up to the cap, not beyond */
    for (int depth = SY_JSON_SCAN_MAX_DEPTH; depth <= SY_JSON_SCAN_MAX_DEPTH + 1; depth++) {
        char deep[2 * SY_JSON_SCAN_MAX_DEPTH + 16];
        size_t n = 0;
        memcpy(deep, "{\"a\":", 5);
        n = 5;
        for (int i = 0; i < depth; i++)
            deep[n++] = '[';
        for (int i = 0; i < depth; i++)
            deep[n++] = ']';
        deep[n++] = '}';
        deep[n] = '\0';
        members(deep, &rc);
        CHECK_INT(rc, depth <= SY_JSON_SCAN_MAX_DEPTH ? SY_ENOTFOUND : SY_EINVAL);
    }
}

/*
 * The scans' last partial step (fewer than 16 bytes before the end of the
 * text), which looks at the window of the text's last 16 bytes, against the
 * byte loop (a text under 16 bytes) and the 16-byte steps (the same value
 * followed by 16 spaces): a string of random bytes (plain, quotes,
 * backslashes and escapes, control and non-ASCII bytes) ending at every
 * distance from the end, parsed, and walked as an object's member. The
 * three must agree on the outcome, the string and its flags. Also
 * sy_json_plain_prefix on every prefix of the string (under 16 bytes: a
 * zero-padded copy) against the byte loop.
 */
static void test_scan_tails(void)
{
    static const char *pieces[] = {"a", "Z", " ", "\"", "\\", "\\n", "\\u00e9", "\x01",
                                   "\x1f", "\x7f", "\xc3\xa9", "\xff", "\\\"", "{", "]"};
    uint64_t x = 0x2545f4914f6cdd1dull;
    size_t mismatches = 0, cases = 0;
    sy_arena_t *a = sy_arena_new(0);
    for (int round = 0; round < 4000; round++) {
        char str[40];
        size_t n = 0;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        unsigned len = (unsigned)(x % 6);
        for (unsigned i = 0; i < len; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            const char *piece = pieces[(x >> 8) % SY_ARRAY_LEN(pieces)];
            size_t pl = strlen(piece);
            memcpy(str + n, piece, pl);
            n += pl;
        }
        /* sy_json_plain_prefix (a zero-padded copy under 16 bytes) against
         * the byte loop, for every length of the string's text */
        for (size_t k = 0; k <= n; k++) {
            size_t want = 0;
            while (want < k && (unsigned char)str[want] >= 0x20 &&
                   (unsigned char)str[want] < 0x80 && str[want] != '"' && str[want] != '\\')
                want++;
            mismatches += sy_json_plain_prefix(str, k) != want;
        }
        /* {"k":"<str>"} with 0..20 spaces before it (the string's end moves
         * through the last 16 bytes), and with 16 spaces after it */
        for (size_t lead = 0; lead <= 20; lead++) {
            char text[128], ref[128];
            size_t t = 0;
            memset(text, ' ', lead);
            t = lead;
            memcpy(text + t, "{\"k\":\"", 6);
            t += 6;
            memcpy(text + t, str, n);
            t += n;
            memcpy(text + t, "\"}", 2);
            t += 2;
            memcpy(ref, text, t);
            memset(ref + t, ' ', 16);
            size_t rlen = t + 16;
            sy_json_t *v1 = NULL, *v2 = NULL;
            int r1 = sy_json_parse(a, text, t, NULL, &v1, NULL);
            int r2 = sy_json_parse(a, ref, rlen, NULL, &v2, NULL);
            cases++;
            if (r1 != r2) {
                mismatches++;
                continue;
            }
            if (r1 == SY_OK) {
                const sy_json_t *s1 = sy_json_get(v1, "k"), *s2 = sy_json_get(v2, "k");
                if (!s1 || !s2 || s1->flags != s2->flags || !sy_str_eq(s1->u.str, s2->u.str))
                    mismatches++;
            }
            /* the walk: the same members, the same outcome */
            sy_json_members_t i1, i2;
            sy_json_span_t m1, m2;
            int w1 = sy_json_members_init(&i1, sy_str(text, t));
            int w2 = sy_json_members_init(&i2, sy_str(ref, rlen));
            while (w1 == SY_OK && w2 == SY_OK) {
                w1 = sy_json_members_next(&i1, &m1);
                w2 = sy_json_members_next(&i2, &m2);
                if (w1 == SY_OK && w2 == SY_OK &&
                    (!sy_str_eq(m1.key, m2.key) || !sy_str_eq(m1.value, m2.value)))
                    mismatches++;
            }
            mismatches += w1 != w2;
        }
    }
    sy_arena_free(a);
    printf("scan_tails: %zu cases\n", cases);
    CHECK_INT(mismatches, 0);
}

/*
 * The walk against the parser on random objects: long strings with and
 * without escapes (so the 64-byte blocks of the container skip meet
 * escapes, quotes and brackets at every offset, block edges included),
 * nesting, whitespace; then the same text cut short or with one byte
 * changed. On every object the parser accepts, the walk must give the same
 * members with values that parse to the same trees; on any text the walk
 * stays inside it.
 */
static uint64_t walk_rng = 0x9e3779b97f4a7c15ull;
static unsigned walk_rand(unsigned n)
{
    walk_rng ^= walk_rng << 13;
    walk_rng ^= walk_rng >> 7;
    walk_rng ^= walk_rng << 17;
    return (unsigned)(walk_rng % n);
}

typedef struct {
    char *p, *end;
} gen_t;

static void gen_put(gen_t *g, char c)
{
    if (g->p < g->end)
        *g->p++ = c;
}

static void gen_ws(gen_t *g)
{
    if (walk_rand(6) == 0)
        gen_put(g, " \n\t\r"[walk_rand(4)]);
}

static void gen_string(gen_t *g)
{
    static const char *plain[] = {"a", "b", "{", "}", "[", "]", ":", ",", " ", "\x7f", "\xc3\xa9"};
    static const char *esc[] = {"\\\"", "\\\\", "\\/", "\\n", "\\u00e9", "\\ud83d\\ude00", "\\\\\\\""};
    bool escapes = walk_rand(2);
    unsigned n = walk_rand(100);
    gen_put(g, '"');
    for (unsigned i = 0; i < n; i++) {
        const char *e = escapes && walk_rand(8) == 0 ? esc[walk_rand(SY_ARRAY_LEN(esc))]
                                                     : plain[walk_rand(SY_ARRAY_LEN(plain))];
        for (; *e; e++)
            gen_put(g, *e);
    }
    gen_put(g, '"');
}

static void gen_value(gen_t *g, int depth)
{
    static const char *scalars[] = {"0", "-12", "3.5e+7", "true", "false", "null", "123456789"};
    unsigned kind = depth > 5 ? walk_rand(2) : walk_rand(5);
    if (kind == 0) {
        gen_string(g);
    } else if (kind == 1) {
        for (const char *s = scalars[walk_rand(SY_ARRAY_LEN(scalars))]; *s; s++)
            gen_put(g, *s);
    } else {
        bool obj = kind == 4 || walk_rand(2);
        unsigned n = walk_rand(6);
        gen_put(g, obj ? '{' : '[');
        for (unsigned i = 0; i < n; i++) {
            if (i)
                gen_put(g, ',');
            gen_ws(g);
            if (obj) {
                gen_string(g);
                gen_ws(g);
                gen_put(g, ':');
                gen_ws(g);
            }
            gen_value(g, depth + 1);
            gen_ws(g);
        }
        gen_put(g, obj ? '}' : ']');
    }
}

static void test_members_random(void)
{
    static char buf[8192];
    sy_arena_t *a = sy_arena_new(0);
    size_t objects = 0, walked = 0;
    for (int iter = 0; iter < 20000; iter++) {
        gen_t g = {buf, buf + sizeof(buf)};
        gen_ws(&g);
        gen_put(&g, '{');
        unsigned n = walk_rand(8);
        for (unsigned i = 0; i < n; i++) {
            if (i)
                gen_put(&g, ',');
            gen_ws(&g);
            gen_string(&g);
            gen_put(&g, ':');
            gen_ws(&g);
            gen_value(&g, 0);
        }
        gen_put(&g, '}');
        gen_ws(&g);
        size_t len = (size_t)(g.p - buf);
        if (iter % 4 == 1)
            len = walk_rand((unsigned)len + 1); /* cut short */
        else if (iter % 4 == 2 && len)
            buf[walk_rand((unsigned)len)] = "\"\\{}[],:\x01"[walk_rand(9)];
        /* an exact-size copy, so a read past the end shows under ASan */
        char *text = sy_arena_alloc(a, len + 1);
        memcpy(text, buf, len);
        sy_json_t *v = NULL;
        bool valid = sy_json_parse(a, text, len, NULL, &v, NULL) == SY_OK &&
                     v->type == SY_JSON_OBJECT;
        sy_json_members_t it;
        sy_json_span_t m;
        uint32_t k = 0;
        int rc = sy_json_members_init(&it, sy_str(text, len));
        /* every other text in two steps: _key, then _value skipping it */
        bool two = iter & 8;
        while (rc == SY_OK &&
               (rc = two ? sy_json_members_key(&it, &m) : sy_json_members_next(&it, &m)) == SY_OK &&
               (!two || (rc = sy_json_members_value(&it, &m, 0)) == SY_OK)) {
            CHECK(m.member.p >= text && m.value.p + m.value.len <= text + len);
            if (!valid)
                continue;
            if (k >= v->u.obj.len) {
                CHECK(k < v->u.obj.len);
                break;
            }
            if (!m.key_escaped)
                CHECK(sy_str_eq(m.key, v->u.obj.items[k].key));
            sy_json_t *mv = NULL;
            CHECK(sy_json_parse(a, m.value.p, m.value.len, NULL, &mv, NULL) == SY_OK &&
                  sy_json_equal(mv, &v->u.obj.items[k].value));
            k++;
            walked++;
        }
        if (valid) {
            objects++;
            CHECK(rc == SY_ENOTFOUND && k == v->u.obj.len);
        }
        sy_arena_reset(a);
    }
    printf("members_random: %zu valid objects, %zu members compared\n", objects, walked);
    CHECK(objects > 5000 && walked > 15000); /* the generator makes what it should */
    sy_arena_free(a);
}

/* The plain writers (text known to need no escaping) write what the
 * escaping ones do: keys first and later in an object, strings in arrays and
 * as members, empty ones; and on a buffer at its limit they fail, sticky,
 * and leave the buffer as it was. */
static void write_plain_doc(sy_json_writer_t *w, bool plain)
{
    void (*key)(sy_json_writer_t *, sy_str_t) = plain ? sy_json_write_key_plain : sy_json_write_key;
    void (*str)(sy_json_writer_t *, sy_str_t) = plain ? sy_json_write_string_plain : sy_json_write_string;
    sy_json_write_begin_object(w);
    key(w, SY_STR("role"));
    str(w, SY_STR("assistant"));
    key(w, SY_STR(""));
    str(w, SY_STR(""));
    key(w, SY_STR("content"));
    sy_json_write_begin_array(w);
    str(w, SY_STR("a"));
    str(w, SY_STR("a longer text of some forty bytes or so!!"));
    sy_json_write_begin_object(w);
    key(w, SY_STR("type"));
    str(w, SY_STR("text"));
    sy_json_write_end_object(w);
    sy_json_write_end_array(w);
    key(w, SY_STR("finish_reason"));
    str(w, SY_STR("stop"));
    sy_json_write_end_object(w);
}

static void test_writer_plain(void)
{
    sy_buf_t a, b;
    sy_json_writer_t w;
    sy_buf_init(&a, 0);
    sy_buf_init(&b, 0);
    sy_json_writer_init(&w, &a, 0);
    write_plain_doc(&w, false);
    CHECK_INT(sy_json_write_finish(&w), SY_OK);
    sy_json_writer_init(&w, &b, 0);
    write_plain_doc(&w, true);
    CHECK_INT(sy_json_write_finish(&w), SY_OK);
    CHECK_STR(sy_buf_str(&b), "{\"role\":\"assistant\",\"\":\"\",\"content\":[\"a\",\"a longer text of some "
                              "forty bytes or so!!\",{\"type\":\"text\"}],\"finish_reason\":\"stop\"}");
    CHECK(a.len == b.len && memcmp(sy_buf_ptr(&a), sy_buf_ptr(&b), a.len) == 0);
    /* every limit short of the whole document fails and keeps the prefix */
    size_t whole = b.len;
    for (size_t max = 8; max < 8 + whole; max++) {
        sy_buf_t c;
        sy_buf_init(&c, max);
        sy_buf_append_c(&c, "data: ");
        sy_json_writer_init(&w, &c, 0);
        write_plain_doc(&w, true);
        CHECK_INT(sy_json_write_finish(&w), max < 6 + whole ? SY_ETOOBIG : SY_OK);
        if (max < 6 + whole)
            CHECK_STR(sy_buf_str(&c), "data: ");
        sy_buf_free(&c);
    }
    sy_buf_free(&a);
    sy_buf_free(&b);
}

int main(void)
{
    A = sy_arena_new(16384);
    RUN(test_scalars);
    RUN(test_numbers);
    RUN(test_strings);
    RUN(test_utf8);
    RUN(test_errors);
    RUN(test_depth);
    RUN(test_limits);
    RUN(test_objects);
    RUN(test_writer);
    RUN(test_writer_escaping);
    RUN(test_writer_plain);
    RUN(test_doubles);
    RUN(test_round_trip);
    RUN(test_modify);
    RUN(test_members);
    RUN(test_members_random);
    RUN(test_scan_tails);
    RUN(test_jsontestsuite);
    sy_arena_free(A);
    return unit_done();
}
