/*
 * Unit tests for src/config: the YAML tree, ${ENV} expansion, value syntax,
 * the schema's error messages, listen/workers/limits/log, the data files in
 * tests/data/config (bad_X.yaml must fail with exactly bad_X.err), snapshot
 * reference counting, and acquire/publish under concurrent threads.
 */
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"

#define CONFIG_TEST_FILE "t.yaml"
#include "config_test.h"
#include "config/config.h"
#include "core/arena.h"

/* ---- helpers ---- */

static const char *root_dir(void)
{
    const char *r = getenv("SY_ROOT");
    return r && *r ? r : ".";
}

static char *data_path(const char *name)
{
    size_t n = strlen(root_dir()) + strlen(name) + 32;
    char *p = malloc(n);
    snprintf(p, n, "%s/tests/data/config/%s", root_dir(), name);
    return p;
}

/* Read a whole file into a malloc'd string (NULL if missing). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    sy_buf_t b;
    sy_buf_init(&b, 0);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        sy_buf_append(&b, tmp, n);
    fclose(f);
    sy_buf_append(&b, "", 1);
    return b.data;
}

static sy_config_t *parse(const char *yaml, char **err)
{
    return sy_config_parse("t.yaml", yaml, strlen(yaml), err);
}

/* Parse `yaml`, expect success. */
#define EXPECT_OK(yaml) expect_ok(__LINE__, yaml)
static sy_config_t *expect_ok(int line, const char *yaml)
{
    char *err = NULL;
    sy_config_t *c = parse(yaml, &err);
    if (c == NULL) {
        fprintf(stderr, "  line %d: for\n%s\n  unexpected error: %s\n", line, yaml, err);
        unit_cur_failed++;
    }
    free(err);
    return c;
}

/* ---- the YAML tree ---- */

static void test_yaml_tree(void)
{
    sy_arena_t *a = sy_arena_new(0);
    const char *text = "a: 1\n"
                       "b:\n"
                       "  - x\n"
                       "  - 'y'\n"
                       "c: {d: ~, e: \"\"}\n";
    sy_yaml_node_t *root;
    const char *err;
    CHECK_INT(sy_yaml_parse(a, "f.yaml", text, strlen(text), &root, &err), SY_OK);
    CHECK(root && root->kind == SY_YAML_MAP && root->len == 3);
    CHECK_INT(root->line, 1);
    CHECK_INT(root->col, 1);
    CHECK(strcmp(root->file, "f.yaml") == 0);
    sy_yaml_node_t *v = sy_yaml_map_get(root, "a");
    CHECK(v && v->kind == SY_YAML_SCALAR && v->plain && !v->is_null);
    CHECK_STR(v->str, "1");
    CHECK_INT(v->line, 1);
    CHECK_INT(v->col, 4);
    CHECK(v->key && v->key->line == 1 && v->key->col == 1);
    sy_yaml_node_t *b = sy_yaml_map_get(root, "b");
    CHECK(b && b->kind == SY_YAML_SEQ && b->len == 2);
    CHECK_INT(b->line, 3);
    CHECK_INT(b->col, 3);
    CHECK_STR(b->items[0]->str, "x");
    CHECK(b->items[0]->plain);
    CHECK_STR(b->items[1]->str, "y");
    CHECK(!b->items[1]->plain);
    CHECK_INT(b->items[1]->line, 4);
    CHECK_INT(b->items[1]->col, 5);
    CHECK(b->items[1]->key == NULL);
    sy_yaml_node_t *c = sy_yaml_map_get(root, "c");
    CHECK(c && c->kind == SY_YAML_MAP && c->len == 2);
    CHECK_INT(c->col, 4);
    CHECK(sy_yaml_map_get(c, "d")->is_null);
    CHECK(!sy_yaml_map_get(c, "e")->is_null); /* "" quoted is an empty string */
    CHECK(sy_yaml_map_get(root, "zz") == NULL);
    CHECK(strcmp(sy_yaml_describe(c), "a mapping") == 0);
    CHECK(strcmp(sy_yaml_describe(b), "a sequence") == 0);

    /* Empty stream and comments: no document. "---" alone: a null root. */
    CHECK_INT(sy_yaml_parse(a, "f", "", 0, &root, &err), SY_OK);
    CHECK(root == NULL);
    CHECK_INT(sy_yaml_parse(a, "f", "# hi\n", 5, &root, &err), SY_OK);
    CHECK(root == NULL);
    CHECK_INT(sy_yaml_parse(a, "f", "---\n", 4, &root, &err), SY_OK);
    CHECK(root && root->kind == SY_YAML_SCALAR && root->is_null);

    /* Tags: !!str makes a string, !!null a null; standard ones are accepted. */
    text = "a: !!str ~\nb: !!null x\nc: !!int 3\nd: ! 4\ne: !!map {}\nf: !!seq []\n";
    CHECK_INT(sy_yaml_parse(a, "f", text, strlen(text), &root, &err), SY_OK);
    CHECK(!sy_yaml_map_get(root, "a")->is_null && !sy_yaml_map_get(root, "a")->plain);
    CHECK(sy_yaml_map_get(root, "b")->is_null);
    CHECK(sy_yaml_map_get(root, "c")->plain);
    CHECK(!sy_yaml_map_get(root, "d")->plain);
    sy_arena_free(a);
}

#define EXPECT_YAML_ERR(text, want) expect_yaml_err(__LINE__, text, sizeof(text) - 1, want)
static void expect_yaml_err(int line, const char *text, size_t len, const char *want)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_yaml_node_t *root = (sy_yaml_node_t *)1;
    const char *err = NULL;
    int rc = sy_yaml_parse(a, "y.yaml", text, len, &root, &err);
    if (rc != SY_EINVAL || root != NULL || err == NULL || strcmp(err, want) != 0) {
        fprintf(stderr, "  line %d: got rc %d, %s\n  want: %s\n", line, rc, err ? err : "(null)",
                want);
        unit_cur_failed++;
    }
    sy_arena_free(a);
}

static void test_yaml_errors(void)
{
    EXPECT_YAML_ERR("a: 1\nb\nc: 2\n",
                    "y.yaml:3:1: could not find expected ':' (while scanning a simple key at "
                    "line 2, column 1)");
    EXPECT_YAML_ERR("a: [1, 2\n", "y.yaml:2:1: did not find expected ',' or ']' (while parsing "
                                  "a flow sequence at line 1, column 4)");
    EXPECT_YAML_ERR("a: 1\nb: 2\na: 3\n",
                    "y.yaml:3:1: duplicate key \"a\" (first defined at line 1)");
    EXPECT_YAML_ERR("m:\n  x: 1\n  'x': 2\n",
                    "y.yaml:3:3: duplicate key \"x\" (first defined at line 2)");
    /* With several duplicates, the first one in the document is reported. */
    EXPECT_YAML_ERR("b: 1\na: 1\nb: 2\na: 2\nb: 3\n",
                    "y.yaml:3:1: duplicate key \"b\" (first defined at line 1)");
    EXPECT_YAML_ERR("a: &x 1\n",
                    "y.yaml:1:4: anchors (&x) are not supported; repeat the value instead");
    EXPECT_YAML_ERR("a: *x\n",
                    "y.yaml:1:4: aliases (*x) are not supported; repeat the value instead");
    EXPECT_YAML_ERR("a: 1\n---\na: 2\n",
                    "y.yaml:2:1: only one YAML document per file is supported");
    EXPECT_YAML_ERR("a: !foo 1\n", "y.yaml:1:4: tag !foo is not supported");
    EXPECT_YAML_ERR("a: !!binary aGk=\n", "y.yaml:1:4: tag !!binary is not supported here");
    EXPECT_YAML_ERR("a: !!map 1\n", "y.yaml:1:4: tag !!map is not supported here");
    EXPECT_YAML_ERR("a: \"x\\0y\"\n", "y.yaml:1:4: NUL characters are not allowed in values");
    EXPECT_YAML_ERR("? [a]\n: b\n", "y.yaml:1:3: mapping keys must be strings, not a sequence");
    EXPECT_YAML_ERR("a: \"\xff\"\n", "y.yaml:1:5: invalid leading UTF-8 octet (byte 0xff)");
    /* Nesting cap: 65 levels of flow sequences. */
    char deep[200];
    size_t n = 0;
    for (int i = 0; i < 65; i++)
        deep[n++] = '[';
    for (int i = 0; i < 65; i++)
        deep[n++] = ']';
    deep[n] = '\0';
    sy_arena_t *a = sy_arena_new(0);
    sy_yaml_node_t *root;
    const char *err;
    CHECK_INT(sy_yaml_parse(a, "d", deep, n, &root, &err), SY_EINVAL);
    CHECK(err && strcmp(err, "d:1:65: values are nested too deeply (the limit is 64 levels)") == 0);
    CHECK_INT(sy_yaml_parse(a, "d", deep + 1, n - 2, &root, &err), SY_OK); /* 64 is fine */
    sy_arena_free(a);
}

/* ---- ${ENV} expansion ---- */

static const char *fake_env(const char *name)
{
    static const char *const vars[][2] = {
        {"HOST", "example.com"}, {"PORT", "8080"},      {"EMPTY", ""},
        {"KEY", "sk-secret"},    {"TRICKY", "${HOST}"}, {"_u9", "x"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(vars); i++)
        if (strcmp(name, vars[i][0]) == 0)
            return vars[i][1];
    return NULL;
}

static void test_env_expand(void)
{
    static const struct {
        const char *in, *out;
        bool from_env;
    } ok[] = {
        {"plain", "plain", false},
        {"${HOST}", "example.com", true},
        {"http://${HOST:-localhost}:${PORT}", "http://example.com:8080", true},
        {"http://${NOPE:-localhost}:${NOPE2:-4000}/v1", "http://localhost:4000/v1", false},
        {"${NOPE:-}", "", false},
        {"${EMPTY}", "", true},
        {"${EMPTY:-dflt}", "dflt", false},
        {"$${HOST}", "${HOST}", false},
        {"a$${b}$${", "a${b}${", false},
        {"cost $5 and $$", "cost $5 and $$", false},
        {"a$", "a$", false},
        {"${TRICKY}", "${HOST}", true}, /* never expanded twice */
        {"${NOPE:-a b:c-d}", "a b:c-d", false},
        {"${NOPE:-$x}", "$x", false},
        {"x${HOST}y${PORT}z", "xexample.comy8080z", true},
        {"${_u9}", "x", true},
    };
    sy_arena_t *a = sy_arena_new(0), *s = sy_arena_new(0);
    sy_cfg_ctx_t cx;
    sy_cfg_ctx_init(&cx, a, s, "e.yaml");
    cx.getenv_cb = fake_env;
    for (size_t i = 0; i < SY_ARRAY_LEN(ok); i++) {
        sy_str_t out;
        bool env = !ok[i].from_env;
        int rc = sy_cfg_expand(&cx, NULL, "k", sy_str_c(ok[i].in), &out, &env);
        CHECK_INT(rc, SY_OK);
        if (rc == SY_OK) {
            CHECK_STR(out, ok[i].out);
            if (env != ok[i].from_env)
                fprintf(stderr, "  from_env wrong for %s\n", ok[i].in);
            CHECK(env == ok[i].from_env);
        }
    }
    CHECK_INT(cx.nerrors, 0);

    static const struct {
        const char *in, *err;
    } bad[] = {
        {"${NOPE}", "e.yaml:7:3: k: environment variable NOPE is not set (write ${NOPE:-} to "
                    "make it optional)"},
        {"http://${HOST}:${NOPORT}",
         "e.yaml:7:3: k: environment variable NOPORT is not set (write ${NOPORT:-} to make it "
         "optional)"},
        {"${1X}", "e.yaml:7:3: k: invalid variable name in \"${1X}\" (names are letters, digits "
                  "and _, not starting with a digit)"},
        {"${}", "e.yaml:7:3: k: invalid variable name in \"${}\" (names are letters, digits and "
                "_, not starting with a digit)"},
        {"${HOST", "e.yaml:7:3: k: unterminated \"${\" (write \"$${\" for a literal \"${\")"},
        {"${HOST:?no}", "e.yaml:7:3: k: unsupported expansion \"${HOST:?no}\": use ${NAME} or "
                        "${NAME:-default}"},
        {"${HO ST}", "e.yaml:7:3: k: unsupported expansion \"${HO ST}\": use ${NAME} or "
                     "${NAME:-default}"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        sy_yaml_node_t at = {.kind = SY_YAML_SCALAR, .line = 7, .col = 3, .file = "e.yaml"};
        sy_cfg_ctx_init(&cx, a, s, "e.yaml");
        cx.getenv_cb = fake_env;
        sy_str_t out;
        bool env;
        CHECK_INT(sy_cfg_expand(&cx, &at, "k", sy_str_c(bad[i].in), &out, &env), SY_EINVAL);
        CHECK(at.invalid);
        char *err = sy_cfg_ctx_errors(&cx);
        if (err == NULL || strcmp(err, bad[i].err) != 0) {
            fprintf(stderr, "  for %s\n  got:  %s\n  want: %s\n", bad[i].in, err, bad[i].err);
            unit_cur_failed++;
        }
        free(err);
    }
    sy_arena_free(s);
    sy_arena_free(a);
}

static void test_env_in_config(void)
{
    setenv("SY_T_PORT", "5000", 1);
    setenv("SY_T_SECRET", "sk-live-123", 1);
    setenv("SY_T_KEY", "listen", 1);
    unsetenv("SY_T_UNSET");
    sy_config_t *c = EXPECT_OK("listen: 127.0.0.1:${SY_T_PORT}\n"
                               "limits:\n"
                               "  max_body_bytes: ${SY_T_UNSET:-64m}\n"
                               "log:\n"
                               "  level: \"${SY_T_UNSET:-debug}\"\n");
    if (c) {
        CHECK_INT(c->listen.addrs[0].port, 5000);
        CHECK_INT(c->limits.max_body_bytes, 64u << 20);
        CHECK_INT(c->log.level, SY_CONFIG_LOG_DEBUG);
    }
    sy_config_unref(c);
    /* Keys are never expanded. */
    EXPECT_ERR("${SY_T_KEY}: 127.0.0.1:4000\n",
               "t.yaml:1:1: unknown key \"${SY_T_KEY}\" (expected one of: listen, workers, limits, "
               "log, guardrails, keys, providers, models, router, store, audit, admin, counters, governance)");
    /* An unset variable is one error (not also a type error) with its path. */
    EXPECT_ERR("log:\n  level: ${SY_T_UNSET}\n",
               "t.yaml:2:3: log.level: environment variable SY_T_UNSET is not set (write "
               "${SY_T_UNSET:-} to make it optional)");
    /* A value from the environment is never echoed: it may be a secret. */
    EXPECT_ERR("limits:\n  max_body_bytes: ${SY_T_SECRET}\n",
               "t.yaml:2:3: limits.max_body_bytes: expected a size such as 32k or 1m, got "
               "\"${SY_T_SECRET}\" (from the environment)");
    EXPECT_ERR("log:\n  level: x${SY_T_SECRET}\n",
               "t.yaml:2:3: log.level: expected one of debug, info, warn, error, got "
               "\"x${SY_T_SECRET}\" (from the environment)");
    /* A value made only of defaults came from the file, so it is shown. */
    EXPECT_ERR("limits:\n  max_body_bytes: ${SY_T_UNSET:-}\n",
               "t.yaml:2:3: limits.max_body_bytes: expected a size such as 32k or 1m, got \"\"");
    /* Several unset variables: all reported, in document order. */
    EXPECT_ERR("listen: ${SY_T_A1}\nlimits:\n  max_headers: ${SY_T_A2}\n",
               "t.yaml:1:1: listen: environment variable SY_T_A1 is not set (write ${SY_T_A1:-} "
               "to make it optional)\n"
               "t.yaml:3:3: limits.max_headers: environment variable SY_T_A2 is not set (write "
               "${SY_T_A2:-} to make it optional)");
    unsetenv("SY_T_PORT");
    unsetenv("SY_T_SECRET");
    unsetenv("SY_T_KEY");
}

/* ---- value syntax ---- */

static void test_sizes(void)
{
    static const struct {
        const char *in;
        uint64_t v;
    } ok[] = {
        {"0", 0},
        {"512", 512},
        {"32k", 32768},
        {"32K", 32768},
        {"32kb", 32768},
        {"32KiB", 32768},
        {"1m", 1 << 20},
        {"1 MiB", 1 << 20},
        {"64 MB", 64 << 20},
        {"2g", 2ull << 30},
        {"1b", 1},
        {" 8k ", 8192},
        {"17179869183g", 17179869183ull << 30},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(ok); i++) {
        uint64_t v = 1234;
        CHECK_INT(sy_cfg_parse_size(sy_str_c(ok[i].in), &v), SY_OK);
        CHECK(v == ok[i].v);
    }
    static const char *const bad[] = {"",     "k",    "-1",    "1.5m", "1t", "12 34",
                                      "0x10", "lots", "1 k b", "1kk",  "+1"};
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        uint64_t v;
        CHECK_INT(sy_cfg_parse_size(sy_str_c(bad[i]), &v), SY_EINVAL);
    }
    uint64_t v;
    CHECK_INT(sy_cfg_parse_size(SY_STR("99999999999999999999"), &v), SY_ETOOBIG);
    CHECK_INT(sy_cfg_parse_size(SY_STR("17179869184g"), &v), SY_ETOOBIG); /* 2^64 */
    CHECK_INT(sy_cfg_parse_size(SY_STR("99999999999999999999x"), &v), SY_EINVAL);
    char buf[32];
    CHECK(strcmp(sy_cfg_format_size(32768, buf), "32k") == 0);
    CHECK(strcmp(sy_cfg_format_size(1 << 20, buf), "1m") == 0);
    CHECK(strcmp(sy_cfg_format_size(3ull << 30, buf), "3g") == 0);
    CHECK(strcmp(sy_cfg_format_size(1536, buf), "1536") == 0);
    CHECK(strcmp(sy_cfg_format_size(0, buf), "0") == 0);
    CHECK(strcmp(sy_cfg_format_size(1536ull << 10, buf), "1536k") == 0);
}

static void test_durations(void)
{
    static const struct {
        const char *in;
        uint64_t ms;
    } ok[] = {
        {"10", 10000},    {"10s", 10000},     {"250ms", 250},   {"2m", 120000},    {"1h", 3600000},
        {"1m30s", 90000}, {"1h1ms", 3600001}, {"1d", 86400000}, {"10S", 10000},    {"1M", 60000},
        {"0", 0},         {"0ms", 0},         {" 5s ", 5000},   {"1s500ms", 1500},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(ok); i++) {
        uint64_t v = 1234;
        CHECK_INT(sy_cfg_parse_duration(sy_str_c(ok[i].in), &v), SY_OK);
        if (v != ok[i].ms)
            fprintf(stderr, "  %s -> %llu\n", ok[i].in, (unsigned long long)v);
        CHECK(v == ok[i].ms);
    }
    static const char *const bad[] = {"",     "s",   "10x", "1.5s", "-1s", "10 s",
                                      "1m30", "ms5", "1 h", "soon", "1y",  "+3s"};
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        uint64_t v;
        sy_str_t in = {bad[i], strlen(bad[i])};
        if (sy_cfg_parse_duration(in, &v) != SY_EINVAL)
            fprintf(stderr, "  accepted \"%.*s\"\n", (int)in.len, in.p);
        CHECK_INT(sy_cfg_parse_duration(in, &v), SY_EINVAL);
    }
    uint64_t v;
    CHECK_INT(sy_cfg_parse_duration(SY_STR("99999999999999999999"), &v), SY_ETOOBIG);
    CHECK_INT(sy_cfg_parse_duration(SY_STR("99999999999999999999s"), &v), SY_ETOOBIG);
    CHECK_INT(sy_cfg_parse_duration(SY_STR("999999999999999d"), &v), SY_ETOOBIG);
    CHECK_INT(sy_cfg_parse_duration(SY_STR("18446744073709551615ms1ms"), &v), SY_ETOOBIG);
    char buf[32];
    CHECK(strcmp(sy_cfg_format_duration(10000, buf), "10s") == 0);
    CHECK(strcmp(sy_cfg_format_duration(1500, buf), "1500ms") == 0);
    CHECK(strcmp(sy_cfg_format_duration(90000, buf), "90s") == 0);
    CHECK(strcmp(sy_cfg_format_duration(120000, buf), "2m") == 0);
    CHECK(strcmp(sy_cfg_format_duration(3600000, buf), "1h") == 0);
    CHECK(strcmp(sy_cfg_format_duration(86400000, buf), "24h") == 0);
    CHECK(strcmp(sy_cfg_format_duration(0, buf), "0ms") == 0);
}

static void test_distance(void)
{
    CHECK_INT(sy_cfg_distance(SY_STR("listen"), SY_STR("lisen")), 1);
    CHECK_INT(sy_cfg_distance(SY_STR("lsiten"), SY_STR("listen")), 1); /* a swap is one edit */
    CHECK_INT(sy_cfg_distance(SY_STR("kitten"), SY_STR("sitting")), 3);
    CHECK_INT(sy_cfg_distance(SY_STR(""), SY_STR("abc")), 3);
    CHECK_INT(sy_cfg_distance(SY_STR("LISTEN"), SY_STR("listen")), 0);
    CHECK_INT(sy_cfg_distance(SY_STR("max-body"), SY_STR("max_body")), 0);
    static const char *const keys[] = {"listen", "workers", "limits", "log"};
    CHECK(strcmp(sy_cfg_suggest(SY_STR("lisen"), keys, 4), "listen") == 0);
    CHECK(strcmp(sy_cfg_suggest(SY_STR("wrokers"), keys, 4), "workers") == 0);
    CHECK(strcmp(sy_cfg_suggest(SY_STR("lgo"), keys, 4), "log") == 0);
    CHECK(strcmp(sy_cfg_suggest(SY_STR("limit"), keys, 4), "limits") == 0);
    CHECK(sy_cfg_suggest(SY_STR("providers"), keys, 4) == NULL);
    CHECK(sy_cfg_suggest(SY_STR("lo"), keys, 4) == NULL); /* too short to guess */
    CHECK(sy_cfg_suggest(SY_STR("zzz"), keys, 4) == NULL);
}

/* ---- error messages of the schema ---- */

static void test_unknown_keys(void)
{
    EXPECT_ERR("lisen: 127.0.0.1:4000\n",
               "t.yaml:1:1: unknown key \"lisen\" (did you mean \"listen\"?)");
    EXPECT_ERR("limits:\n  max_bdy_bytes: 1m\n",
               "t.yaml:2:3: unknown key \"limits.max_bdy_bytes\" (did you mean "
               "\"limits.max_body_bytes\"?)");
    EXPECT_ERR(
        "max_body_bytes: 1m\n",
        "t.yaml:1:1: unknown key \"max_body_bytes\" (did you mean \"limits.max_body_bytes\"?)");
    EXPECT_ERR("Workers: 2\n", "t.yaml:1:1: unknown key \"Workers\" (did you mean \"workers\"?)");
    EXPECT_ERR("log:\n  levle: info\n",
               "t.yaml:2:3: unknown key \"log.levle\" (did you mean \"log.level\"?)");
    EXPECT_ERR("zzz: 1\n",
               "t.yaml:1:1: unknown key \"zzz\" (expected one of: listen, workers, limits, log, guardrails, keys, providers, models, router, store, audit, admin, counters, governance)");
    EXPECT_ERR("log:\n  level: inf\n",
               "t.yaml:2:3: log.level: expected one of debug, info, warn, error, got \"inf\" (did "
               "you mean \"info\"?)");
    EXPECT_ERR("\"a\\nb\": 1\n", "t.yaml:1:1: unknown key \"a\\nb\" (expected one of: listen, "
                                 "workers, limits, log, guardrails, keys, providers, models, router, store, audit, admin, counters, governance)");
}

static void test_type_errors(void)
{
    EXPECT_ERR(
        "limits:\n"
        "  max_header_bytes: lots\n"
        "  max_body_bytes: 5g\n"
        "  header_timeout: 0\n"
        "  max_headers: 0\n"
        "  body_timeout: soon\n"
        "  idle_timeout: 99999999999999999999h\n"
        "  max_request_line: [1]\n",
        "t.yaml:2:3: limits.max_header_bytes: expected a size such as 32k or 1m, got \"lots\"\n"
        "t.yaml:3:3: limits.max_body_bytes: \"5g\" is too large (the maximum is 1g)\n"
        "t.yaml:4:3: limits.header_timeout: \"0\" is too small (the minimum is 10ms)\n"
        "t.yaml:5:3: limits.max_headers: \"0\" is too small (the minimum is 1)\n"
        "t.yaml:6:3: limits.body_timeout: expected a duration such as 10s, 500ms or 2m, got "
        "\"soon\"\n"
        "t.yaml:7:3: limits.idle_timeout: \"99999999999999999999h\" is too large (the "
        "maximum is 24h)\n"
        "t.yaml:8:3: limits.max_request_line: expected a size such as 32k or 1m, got a "
        "sequence");
    EXPECT_ERR("limits: 5\n", "t.yaml:1:1: limits: expected a mapping, got a string");
    EXPECT_ERR("log: [debug]\n", "t.yaml:1:1: log: expected a mapping, got a sequence");
    EXPECT_ERR("- a\n- b\n", "t.yaml:1:1: expected a mapping of settings at the top level, got a "
                             "sequence");
    EXPECT_ERR("hello\n", "t.yaml:1:1: expected a mapping of settings at the top level, got a "
                          "string");
    /* Flow style: the position is still the key's. */
    EXPECT_ERR("limits: {max_headers: -1}\n",
               "t.yaml:1:10: limits.max_headers: expected a whole number, got \"-1\"");
    /* A very long value is cut in the message. */
    char yaml[300];
    snprintf(yaml, sizeof(yaml), "log:\n  format: %0200d\n", 7);
    char want[400];
    snprintf(want, sizeof(want),
             "t.yaml:2:3: log.format: expected one of json, text, got \"%060d\"...", 0);
    EXPECT_ERR(yaml, want);
}

static void test_error_cap(void)
{
    sy_buf_t b;
    sy_buf_init(&b, 0);
    for (int i = 0; i < 60; i++)
        sy_buf_printf(&b, "k%02d: 1\n", i);
    sy_buf_append(&b, "", 1);
    char *err = NULL;
    CHECK(parse(b.data, &err) == NULL);
    size_t lines = 1;
    for (char *p = err; p && *p; p++)
        lines += *p == '\n';
    CHECK_INT(lines, SY_CONFIG_MAX_ERRORS + 1);
    CHECK(err && strstr(err, "t.yaml:1:1: unknown key \"k00\"") == err);
    CHECK(err && strstr(err, "\nt.yaml: (10 more errors not shown)") != NULL);
    free(err);
    sy_buf_free(&b);
}

/* ---- the sections ---- */

static void test_defaults(void)
{
    size_t live = sy_config_live();
    sy_config_t *c = sy_config_default();
    CHECK_INT(sy_config_live(), live + 1);
    CHECK(c->path == NULL);
    CHECK_INT(c->listen.n, 1);
    CHECK_STR(c->listen.addrs[0].text, "127.0.0.1:4000");
    CHECK_STR(c->listen.addrs[0].host, "127.0.0.1");
    CHECK_INT(c->listen.addrs[0].port, 4000);
    CHECK_INT(c->listen.addrs[0].kind, SY_CONFIG_ADDR_IPV4);
    CHECK(c->workers.is_auto);
    CHECK(c->workers.count >= 1 && c->workers.count <= SY_CONFIG_MAX_WORKERS);
    CHECK_INT(c->limits.max_request_line, 8 << 10);
    CHECK_INT(c->limits.max_header_bytes, 32 << 10);
    CHECK_INT(c->limits.max_headers, 100);
    CHECK_INT(c->limits.max_body_bytes, 32 << 20);
    CHECK_INT(c->limits.header_timeout_ms, 10000);
    CHECK_INT(c->limits.body_timeout_ms, 60000);
    CHECK_INT(c->limits.idle_timeout_ms, 75000);
    CHECK_INT(c->limits.upstream_connect_timeout_ms, 10000);
    CHECK_INT(c->limits.upstream_first_byte_timeout_ms, 120000);
    CHECK_INT(c->limits.upstream_idle_timeout_ms, 90000);
    CHECK_INT(c->limits.drain_timeout_ms, 30000);
    CHECK_INT(c->log.level, SY_CONFIG_LOG_INFO);
    CHECK_INT(c->log.format, SY_CONFIG_LOG_JSON);
    /* A 5 MB image, base64-encoded in a JSON body, fits the default. */
    CHECK(c->limits.max_body_bytes > (5u << 20) * 4 / 3 + 4096);

    /* Empty, comments-only, "---" and all-null documents are all defaults. */
    static const char *const empties[] = {"",
                                          "# nothing\n",
                                          "---\n",
                                          "~\n",
                                          "listen:\nworkers:\nlimits:\nlog:\n",
                                          "limits: {}\nlog: {}\n"};
    for (size_t i = 0; i < SY_ARRAY_LEN(empties); i++) {
        sy_config_t *d = EXPECT_OK(empties[i]);
        CHECK(d && sy_config_equal(c, d));
        CHECK(d && d->generation != c->generation);
        sy_config_unref(d);
    }
    sy_buf_t b;
    sy_buf_init(&b, 0);
    CHECK_INT(sy_config_format(c, &b, true), SY_OK);
    sy_buf_append(&b, "", 1);
    CHECK(strcmp(b.data, "listen: [\"127.0.0.1:4000\"]\n"
                         "workers: auto\n"
                         "limits:\n"
                         "  max_request_line: 8k\n"
                         "  max_header_bytes: 32k\n"
                         "  max_headers: 100\n"
                         "  max_body_bytes: 32m\n"
                         "  header_timeout: 10s\n"
                         "  body_timeout: 1m\n"
                         "  idle_timeout: 75s\n"
                         "  upstream_connect_timeout: 10s\n"
                         "  upstream_first_byte_timeout: 2m\n"
                         "  upstream_idle_timeout: 90s\n"
                         "  drain_timeout: 30s\n"
                         "log:\n"
                         "  level: info\n"
                         "  format: json\n"
                         "guardrails: []\n"
                         "keys: []\n"
                         "providers: []\n"
                         "models: []\n"
                         "router:\n"
                         "  retries: 1\n"
                         "  backoff_base: 100ms\n"
                         "  backoff_max: 2s\n"
                         "  timeout: 10m\n"
                         "  max_attempts: 10\n"
                         "  circuit_failures: 10\n"
                         "  circuit_failure_ratio: 50\n"
                         "  circuit_min_requests: 20\n"
                         "  circuit_window: 1m\n"
                         "  circuit_cooldown: 30s\n"
                         "  hedge_after: 0ms\n"
                         "  explore_after: 30s\n"
                         "store: \"sqlite:switchyard.db\"\n"
                         "audit:\n"
                         "  enabled: false\n"
                         "  content: none\n"
                         "  max_content_bytes: 64k\n"
                         "  flush_interval: 50ms\n"
                         "  batch_records: 1000\n"
                         "  queue_capacity: 65536\n"
                         "  queue_full_wait: 5ms\n"
                         "  checkpoint_records: 1000\n"
                         "  checkpoint_interval: 10s\n"
                         "  signing_key_file: \"audit-signing.key\"\n"
                         "  synchronous: full\n"
                         "  store: \"\"\n"
                         "admin:\n"
                         "  master_key: \"\"\n"
                         "counters: local\n"
                         "governance:\n"
                         "  sync_interval: 250ms\n"
                         "  counters_failure: closed\n"
                         "  counters_timeout: 250ms\n"
                         "  reservation_ttl: 10m\n"
                         "  default_max_output: 4096\n"
                         "  spend_flush_interval: 100ms\n"
                         "  spend_queue_capacity: 65536\n") == 0);
    sy_buf_free(&b);
    sy_config_unref(c);
    CHECK_INT(sy_config_live(), live);
}

static void test_listen(void)
{
    sy_config_t *c = EXPECT_OK("listen: 0.0.0.0:8080\n");
    if (c) {
        CHECK_INT(c->listen.n, 1);
        CHECK_STR(c->listen.addrs[0].host, "0.0.0.0");
        CHECK_INT(c->listen.addrs[0].port, 8080);
    }
    sy_config_unref(c);
    c = EXPECT_OK("listen:\n"
                  "  - 127.0.0.1:4000\n"
                  "  - \"[::1]:4000\"\n"
                  "  - localhost:4001\n"
                  "  - \"*:4002\"\n"
                  "  - \"[::]:4003\"\n"
                  "  - Example.COM:80\n"
                  "  - \"[0:0:0:0:0:0:0:1]:4004\"\n"
                  "  - 10.0.0.1:65535\n");
    if (c) {
        static const struct {
            const char *text, *host;
            int port;
            sy_config_addr_kind_t kind;
        } want[] = {
            {"127.0.0.1:4000", "127.0.0.1", 4000, SY_CONFIG_ADDR_IPV4},
            {"[::1]:4000", "::1", 4000, SY_CONFIG_ADDR_IPV6},
            {"localhost:4001", "localhost", 4001, SY_CONFIG_ADDR_NAME},
            {"0.0.0.0:4002", "0.0.0.0", 4002, SY_CONFIG_ADDR_IPV4},
            {"[::]:4003", "::", 4003, SY_CONFIG_ADDR_IPV6},
            {"example.com:80", "example.com", 80, SY_CONFIG_ADDR_NAME},
            {"[::1]:4004", "::1", 4004, SY_CONFIG_ADDR_IPV6},
            {"10.0.0.1:65535", "10.0.0.1", 65535, SY_CONFIG_ADDR_IPV4},
        };
        CHECK_INT(c->listen.n, SY_ARRAY_LEN(want));
        for (size_t i = 0; i < SY_ARRAY_LEN(want) && i < c->listen.n; i++) {
            CHECK_STR(c->listen.addrs[i].text, want[i].text);
            CHECK_STR(c->listen.addrs[i].host, want[i].host);
            CHECK_INT(c->listen.addrs[i].port, want[i].port);
            CHECK_INT(c->listen.addrs[i].kind, want[i].kind);
            CHECK(c->listen.addrs[i].host.p[c->listen.addrs[i].host.len] == '\0');
        }
    }
    sy_config_unref(c);
    c = EXPECT_OK("listen: [\"[::1]:1\"]\n");
    CHECK(c && c->listen.n == 1 && c->listen.addrs[0].port == 1);
    sy_config_unref(c);

    static const char ex[] = "expected an address \"host:port\" such as 127.0.0.1:4000, [::1]:4000 "
                             "or *:4000, got ";
    EXPECT_ERR(
        "listen: ::1:4000\n",
        "t.yaml:1:1: listen: IPv6 addresses go in brackets, as in [::1]:4000; got \"::1:4000\"");
    EXPECT_ERR("listen: 127.0.0.1:70000\n",
               "t.yaml:1:1: listen: port must be from 1 to 65535, got \"127.0.0.1:70000\"");
    EXPECT_ERR("listen: 127.0.0.1:0\n",
               "t.yaml:1:1: listen: port must be from 1 to 65535, got \"127.0.0.1:0\"");
    EXPECT_ERR("listen: 127.0.0.1:99999999999999999999999\n",
               "t.yaml:1:1: listen: port must be from 1 to 65535, got "
               "\"127.0.0.1:99999999999999999999999\"");
    char want[300];
    snprintf(want, sizeof(want), "t.yaml:1:1: listen: %s\"4000\"", ex);
    EXPECT_ERR("listen: 4000\n", want);
    snprintf(want, sizeof(want), "t.yaml:1:1: listen: %s\":4000\"", ex);
    EXPECT_ERR("listen: \":4000\"\n", want);
    snprintf(want, sizeof(want), "t.yaml:1:1: listen: %s\"127.0.0.1\"", ex);
    EXPECT_ERR("listen: 127.0.0.1\n", want);
    snprintf(want, sizeof(want), "t.yaml:1:1: listen: %s\"[::1]4000\"", ex);
    EXPECT_ERR("listen: \"[::1]4000\"\n", want);
    snprintf(want, sizeof(want), "t.yaml:1:1: listen: %s\"127.0.0.1:http\"", ex);
    EXPECT_ERR("listen: 127.0.0.1:http\n", want);
    snprintf(want, sizeof(want), "t.yaml:2:5: listen[0]: %sa mapping", ex);
    EXPECT_ERR("listen:\n  - a: b\n", want);
    snprintf(want, sizeof(want), "t.yaml:2:4: listen[0]: %snothing", ex);
    EXPECT_ERR("listen:\n  -\n", want);
    EXPECT_ERR("listen: \"[zz]:1\"\n", "t.yaml:1:1: listen: \"zz\" is not a valid IPv6 address");
    EXPECT_ERR("listen: 300.1.1.1:1\n",
               "t.yaml:1:1: listen: \"300.1.1.1\" is not a valid IPv4 address");
    EXPECT_ERR("listen: bad_host:1\n",
               "t.yaml:1:1: listen: \"bad_host\" is not a valid host name or address");
    EXPECT_ERR("listen: -a.com:1\n",
               "t.yaml:1:1: listen: \"-a.com\" is not a valid host name or address");
    EXPECT_ERR("listen: []\n", "t.yaml:1:1: listen: at least one address is required");
    EXPECT_ERR("listen: {a: 1}\n", "t.yaml:1:1: listen: expected a sequence, got a mapping");
    EXPECT_ERR("listen: [127.0.0.1:1, 127.0.0.2:1, 127.0.0.1:1]\n",
               "t.yaml:1:36: listen[2]: 127.0.0.1:1 is listed twice (also at listen[0])");
    EXPECT_ERR("listen: [\"[::1]:1\", \"[0::1]:1\"]\n",
               "t.yaml:1:21: listen[1]: [::1]:1 is listed twice (also at listen[0])");
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_buf_append_c(&b, "listen:\n");
    for (int i = 0; i < SY_CONFIG_MAX_LISTEN + 1; i++)
        sy_buf_printf(&b, "  - 127.0.0.1:%d\n", 1000 + i);
    sy_buf_append(&b, "", 1);
    EXPECT_ERR(b.data, "t.yaml:1:1: listen: too many addresses (the limit is 64)");
    sy_buf_free(&b);
}

static void test_workers(void)
{
    sy_config_t *c = EXPECT_OK("workers: 4\n");
    CHECK(c && c->workers.count == 4 && !c->workers.is_auto);
    sy_config_unref(c);
    c = EXPECT_OK("workers: AUTO\n");
    CHECK(c && c->workers.is_auto && c->workers.count >= 1);
    sy_config_unref(c);
    c = EXPECT_OK("workers: 256\n");
    CHECK(c && c->workers.count == 256);
    sy_config_unref(c);
    EXPECT_ERR("workers: 0\n", "t.yaml:1:1: workers: \"0\" is too small (the minimum is 1)");
    EXPECT_ERR("workers: 1000\n",
               "t.yaml:1:1: workers: \"1000\" is too large (the maximum is 256)");
    EXPECT_ERR(
        "workers: many\n",
        "t.yaml:1:1: workers: expected auto or a number of threads from 1 to 256, got \"many\"");
    EXPECT_ERR("workers: [1]\n",
               "t.yaml:1:1: workers: expected auto or a number of threads from 1 to 256, got a "
               "sequence");
}

/* A section with every field type, to test the table machinery itself. */
typedef struct {
    uint64_t a;
} demo_sub_t;
typedef struct {
    uint64_t size, timeout, count;
    bool enabled;
    sy_str_t name, api_key;
    int color;
    demo_sub_t sub;
} demo_t;
static const char *const demo_colors[] = {"red", "green", "blue", NULL};
static const sy_cfg_field_t demo_sub_fields[] = {
    {.key = "a", .type = SY_CFG_UINT, .offset = offsetof(demo_sub_t, a), .max = 9, .def = 1},
};
static const sy_cfg_section_t demo_sub = {"sub", demo_sub_fields, 1};
static const sy_cfg_field_t demo_fields[] = {
    {.key = "size",
     .type = SY_CFG_SIZE,
     .offset = offsetof(demo_t, size),
     .min = 1,
     .max = 1 << 20,
     .def = 4096},
    {.key = "timeout",
     .type = SY_CFG_DURATION,
     .offset = offsetof(demo_t, timeout),
     .min = 1,
     .max = 60000,
     .def = 1500},
    {.key = "count", .type = SY_CFG_UINT, .offset = offsetof(demo_t, count), .max = 10, .def = 3},
    {.key = "enabled", .type = SY_CFG_BOOL, .offset = offsetof(demo_t, enabled), .def = 1},
    {.key = "name",
     .type = SY_CFG_STRING,
     .offset = offsetof(demo_t, name),
     .flags = SY_CFG_F_REQUIRED},
    {.key = "api_key",
     .type = SY_CFG_STRING,
     .offset = offsetof(demo_t, api_key),
     .flags = SY_CFG_F_SECRET},
    {.key = "color",
     .type = SY_CFG_ENUM,
     .offset = offsetof(demo_t, color),
     .names = demo_colors,
     .def = 2},
    {.key = "sub", .type = SY_CFG_SECTION, .offset = offsetof(demo_t, sub), .section = &demo_sub},
};
static const sy_cfg_section_t demo = {"demo", demo_fields, SY_ARRAY_LEN(demo_fields)};

/* Check `yaml` against the demo table: returns errors (malloc'd) or NULL. */
static char *demo_check(const char *yaml, demo_t *out, sy_arena_t *a, bool format_it)
{
    sy_arena_t *s = sy_arena_new(0);
    sy_cfg_ctx_t cx;
    sy_cfg_ctx_init(&cx, a, s, "d.yaml");
    sy_yaml_node_t *root;
    const char *yerr;
    CHECK_INT(sy_yaml_parse(s, "d.yaml", yaml, strlen(yaml), &root, &yerr), SY_OK);
    sy_cfg_expand_tree(&cx, root);
    sy_cfg_section_defaults(&cx, &demo, out);
    sy_cfg_section_parse(&cx, root, "", &demo, out);
    char *err = sy_cfg_ctx_errors(&cx);
    if (format_it && err == NULL) {
        sy_buf_t b;
        sy_buf_init(&b, 0);
        sy_cfg_section_format(&demo, out, &b, 0, true);
        sy_buf_append(&b, "", 1);
        err = b.data; /* the formatted text, for the caller to compare */
    }
    sy_arena_free(s);
    return err;
}

static void test_table_machinery(void)
{
    sy_arena_t *a = sy_arena_new(0);
    demo_t d;
    char *out = demo_check("name: demo\napi_key: sk-123\nenabled: off\ncolor: Green\n"
                           "sub:\n  a: 7\ntimeout: 2s\nsize: 2k\n",
                           &d, a, true);
    CHECK_STR(d.name, "demo");
    CHECK_STR(d.api_key, "sk-123");
    CHECK(!d.enabled);
    CHECK_INT(d.color, 1);
    CHECK_INT(d.sub.a, 7);
    CHECK_INT(d.timeout, 2000);
    CHECK_INT(d.size, 2048);
    CHECK_INT(d.count, 3); /* default */
    CHECK(out && strcmp(out, "size: 2k\ntimeout: 2s\ncount: 3\nenabled: false\nname: \"demo\"\n"
                             "api_key: \"<redacted>\"\ncolor: green\nsub:\n  a: 7\n") == 0);
    free(out);
    /* Strings that need quoting round-trip, including a literal "${". */
    out = demo_check("name: \"q\\\"uo\\\\te $${x} \\t\"\n", &d, a, true);
    CHECK_STR(d.name, "q\"uo\\te ${x} \t");
    CHECK(out && strstr(out, "name: \"q\\\"uo\\\\te $${x} \\x09\"\n") != NULL);
    free(out);

    static const struct {
        const char *yaml, *err;
    } bad[] = {
        {"count: 1\n", "d.yaml:1:1: missing required key \"name\""},
        {"name:\n", "d.yaml:1:1: name: a value is required"},
        {"name: x\nenabled: maybe\n", "d.yaml:2:1: enabled: expected true or false, got \"maybe\""},
        {"name: {a: 1}\n", "d.yaml:1:1: name: expected a string, got a mapping"},
        {"name: x\ncount: 11\n", "d.yaml:2:1: count: \"11\" is too large (the maximum is 10)"},
        {"name: x\nsub:\n  a: x\n  b: 1\n",
         "d.yaml:3:3: sub.a: expected a whole number, got \"x\"\n"
         "d.yaml:4:3: unknown key \"sub.b\" (expected one of: a)"},
        {"name: x\ncolour: red\n", "d.yaml:2:1: unknown key \"colour\" (did you mean \"color\"?)"},
        {"name: x\na: 1\n", "d.yaml:2:1: unknown key \"a\" (did you mean \"sub.a\"?)"},
        {"name: x\ncolor: purple\n",
         "d.yaml:2:1: color: expected one of red, green, blue, got \"purple\""},
        {"name: x\nsize: 0\n", "d.yaml:2:1: size: \"0\" is too small (the minimum is 1)"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        char *err = demo_check(bad[i].yaml, &d, a, false);
        if (err == NULL || strcmp(err, bad[i].err) != 0) {
            fprintf(stderr, "  for %s  got:  %s\n  want: %s\n", bad[i].yaml, err, bad[i].err);
            unit_cur_failed++;
        }
        free(err);
    }
    /* The one-value checkers on their own. */
    sy_arena_t *s = sy_arena_new(0);
    sy_cfg_ctx_t cx;
    sy_cfg_ctx_init(&cx, a, s, "x.yaml");
    sy_yaml_node_t *root;
    const char *yerr;
    const char *y = "t: yes\nf: OFF\nm: {a: 1, bb: 2}\n";
    CHECK_INT(sy_yaml_parse(s, "x.yaml", y, strlen(y), &root, &yerr), SY_OK);
    bool bv = false;
    CHECK_INT(sy_cfg_bool(&cx, sy_yaml_map_get(root, "t"), "t", &bv), SY_OK);
    CHECK(bv);
    CHECK_INT(sy_cfg_bool(&cx, sy_yaml_map_get(root, "f"), "f", &bv), SY_OK);
    CHECK(!bv);
    static const char *const allowed[] = {"a", "b", NULL};
    CHECK_INT(sy_cfg_expect_map(&cx, sy_yaml_map_get(root, "m"), "m", NULL), SY_OK);
    CHECK_INT(cx.nerrors, 0);
    CHECK_INT(sy_cfg_expect_map(&cx, sy_yaml_map_get(root, "m"), "m", allowed), SY_EINVAL);
    CHECK_INT(sy_cfg_expect_map(&cx, sy_yaml_map_get(root, "t"), "t", allowed), SY_EINVAL);
    CHECK_INT(sy_cfg_expect_seq(&cx, sy_yaml_map_get(root, "m"), "m", true), SY_EINVAL);
    char *err = sy_cfg_ctx_errors(&cx);
    CHECK(err && strcmp(err, "x.yaml:1:1: t: expected a mapping, got a string\n"
                             "x.yaml:3:1: m: expected a sequence, got a mapping\n"
                             "x.yaml:3:11: unknown key \"m.bb\" (expected one of: a, b)") == 0);
    free(err);
    sy_arena_free(s);
    sy_arena_free(a);
}

/* ---- files ---- */

static void test_missing_file(void)
{
    char *err = NULL;
    CHECK(sy_config_load("/nonexistent/switchyard.yaml", &err) == NULL);
    CHECK(err &&
          strcmp(err, "cannot open /nonexistent/switchyard.yaml: No such file or directory") == 0);
    free(err);
    err = NULL;
    CHECK(sy_config_load("/", &err) == NULL);
    CHECK(err && strcmp(err, "cannot read /: Is a directory") == 0);
    free(err);
    err = NULL;
    CHECK(sy_config_load("", &err) == NULL);
    CHECK(err && strcmp(err, "no configuration file given") == 0);
    free(err);
    CHECK(sy_config_load("/nonexistent", NULL) == NULL); /* err_out is optional */
}

/* Replace every occurrence of `from` in s (malloc'd) with `to`. */
static char *replace_all(const char *s, const char *from, const char *to)
{
    sy_buf_t b;
    sy_buf_init(&b, 0);
    size_t fl = strlen(from);
    const char *p;
    while ((p = strstr(s, from)) != NULL) {
        sy_buf_append(&b, s, (size_t)(p - s));
        sy_buf_append_c(&b, to);
        s = p + fl;
    }
    sy_buf_append_c(&b, s);
    sy_buf_append(&b, "", 1);
    return b.data;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every .yaml file in tests/data/config: good ones load, bad_X.yaml fails with the
 * text of bad_X.err (file names shown as the base name). */
static void test_data_files(void)
{
    setenv("SY_TEST_PORT", "5000", 1);
    unsetenv("SY_TEST_HOST");
    unsetenv("SY_TEST_UNSET");
    char *dir = data_path("");
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    char *names[256];
    size_t n = 0, good = 0, bad = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL && n < SY_ARRAY_LEN(names)) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".yaml") == 0)
            names[n++] = strdup(e->d_name);
    }
    if (d)
        closedir(d);
    qsort(names, n, sizeof(names[0]), name_cmp);
    for (size_t i = 0; i < n; i++) {
        char *path = data_path(names[i]);
        char *err = NULL;
        sy_config_t *c = sy_config_load(path, &err);
        if (strncmp(names[i], "bad_", 4) == 0) {
            bad++;
            char errname[300];
            snprintf(errname, sizeof(errname), "%.*s.err", (int)(strlen(names[i]) - 5), names[i]);
            char *errpath = data_path(errname);
            char *want = slurp(errpath);
            char *dirslash = replace_all(path, names[i], "");
            char *got = err ? replace_all(err, dirslash, "") : NULL;
            if (want) {
                size_t wl = strlen(want);
                while (wl && want[wl - 1] == '\n')
                    want[--wl] = '\0';
            }
            if (c || !want || !got || strcmp(got, want) != 0) {
                fprintf(stderr, "  %s:\n  got:  %s\n  want: %s\n", names[i], got ? got : "(ok)",
                        want ? want : "(no .err file)");
                unit_cur_failed++;
            }
            free(got);
            free(dirslash);
            free(want);
            free(errpath);
        } else {
            good++;
            if (c == NULL) {
                fprintf(stderr, "  %s: %s\n", names[i], err);
                unit_cur_failed++;
            } else {
                CHECK(strcmp(c->path, path) == 0);
            }
        }
        sy_config_unref(c);
        free(err);
        free(path);
        free(names[i]);
    }
    CHECK(good >= 5);
    CHECK(bad >= 10);
    free(dir);
    unsetenv("SY_TEST_PORT");
}

static void test_load_twice_equal(void)
{
    char *path = data_path("good_full.yaml");
    char *err = NULL;
    sy_config_t *a = sy_config_load(path, &err);
    sy_config_t *b = sy_config_load(path, &err);
    sy_config_t *def = sy_config_default();
    CHECK(a && b);
    if (a && b) {
        CHECK(sy_config_equal(a, b));
        CHECK(a != b && a->generation != b->generation);
        CHECK(!sy_config_equal(a, def));
        CHECK_INT(a->listen.n, 3);
        CHECK_STR(a->listen.addrs[1].text, "[::1]:8081");
        CHECK_INT(a->workers.count, 4);
        CHECK_INT(a->limits.max_header_bytes, 64 << 10);
        CHECK_INT(a->limits.max_body_bytes, 64 << 20);
        CHECK_INT(a->limits.idle_timeout_ms, 90000);
        CHECK_INT(a->limits.upstream_connect_timeout_ms, 2500);
        CHECK_INT(a->limits.upstream_first_byte_timeout_ms, 300000);
        CHECK_INT(a->log.level, SY_CONFIG_LOG_DEBUG);
        CHECK_INT(a->log.format, SY_CONFIG_LOG_TEXT);
        /* The printed form loads back to an equal snapshot. */
        sy_buf_t t;
        sy_buf_init(&t, 0);
        CHECK_INT(sy_config_format(a, &t, false), SY_OK);
        sy_config_t *r = sy_config_parse("printed", t.data, t.len, &err);
        CHECK(r && sy_config_equal(a, r));
        sy_config_unref(r);
        sy_buf_free(&t);
        /* One changed value makes them differ. */
        sy_config_t *m = EXPECT_OK("listen: [0.0.0.0:8080, \"[::1]:8081\", localhost:8082]\n"
                                   "workers: 4\nlog: {level: debug, format: text}\n");
        CHECK(m && !sy_config_equal(a, m));
        sy_config_unref(m);
    }
    sy_config_unref(a);
    sy_config_unref(b);
    sy_config_unref(def);
    free(err);
    free(path);
}

/* Whether `tok` (a backticked word of a reference row) spells field f's default. */
static bool spells_default(const sy_cfg_field_t *f, sy_str_t tok)
{
    uint64_t v;
    switch (f->type) {
    case SY_CFG_SIZE:
        return sy_cfg_parse_size(tok, &v) == SY_OK && v == f->def;
    case SY_CFG_DURATION:
        return sy_cfg_parse_duration(tok, &v) == SY_OK && v == f->def;
    case SY_CFG_UINT:
        return sy_str_to_u64(tok, UINT64_MAX, &v) == SY_OK && v == f->def;
    case SY_CFG_ENUM:
        return sy_str_eq_c(tok, f->names[f->def]);
    default:
        return true; /* custom keys: documented by hand */
    }
}

/* Every key of the schema appears in README.md (configuration reference) as `path`,
 * and the table row that names it spells its default. */
static void check_doc_section(const char *doc, const sy_cfg_section_t *s, const char *prefix)
{
    for (size_t i = 0; i < s->nfields; i++) {
        const sy_cfg_field_t *f = &s->fields[i];
        char path[128], needle[140];
        snprintf(path, sizeof(path), "%s%s", prefix, f->key);
        if (f->type == SY_CFG_SECTION) {
            char sub[130];
            snprintf(sub, sizeof(sub), "%s.", path);
            check_doc_section(doc, f->section, sub);
            continue;
        }
        snprintf(needle, sizeof(needle), "| `%s` |", path);
        const char *at = strstr(doc, needle);
        if (at == NULL) {
            fprintf(stderr, "  README.md (configuration reference) has no row for %s\n", path);
            unit_cur_failed++;
            continue;
        }
        /* The default column is the third: | key | type | default | meaning | */
        const char *eol = strchr(at, '\n');
        sy_str_t row = sy_str(at, eol ? (size_t)(eol - at) : strlen(at));
        sy_str_t col = SY_STR_NULL;
        for (int bar = 0, k = 0; k < (int)row.len; k++) {
            if (row.p[k] != '|')
                continue;
            if (++bar == 3)
                col.p = row.p + k + 1;
            if (bar == 4) {
                col.len = (size_t)(row.p + k - col.p);
                break;
            }
        }
        bool ok = false;
        for (size_t k = 0; col.p && k < col.len && !ok; k++) {
            if (col.p[k] != '`')
                continue;
            ptrdiff_t e = sy_str_find_char(sy_str_sub(col, k + 1, col.len), '`');
            if (e < 0)
                break;
            ok = spells_default(f, sy_str_sub(col, k + 1, (size_t)e));
            k += (size_t)e + 1;
        }
        if (!ok) {
            fprintf(stderr, "  README.md: the %s row does not give its default\n",
                    path);
            unit_cur_failed++;
        }
    }
}

static void test_reference_doc(void)
{
    size_t n = strlen(root_dir()) + 64;
    char *path = malloc(n);
    snprintf(path, n, "%s/README.md", root_dir());
    char *doc = slurp(path);
    CHECK(doc != NULL);
    if (doc)
        check_doc_section(doc, sy_config_schema(), "");
    free(doc);
    free(path);
}

/* ---- snapshots ---- */

static void test_refcount_and_publish(void)
{
    size_t live = sy_config_live();
    CHECK(sy_config_acquire() == NULL);
    sy_config_t *a = sy_config_default();
    sy_config_ref(a);
    sy_config_unref(a);
    CHECK_INT(sy_config_live(), live + 1);
    sy_config_publish(a); /* takes our reference */
    sy_config_t *got = sy_config_acquire();
    CHECK(got == a);
    sy_config_t *b = sy_config_default();
    sy_config_publish(b);
    /* `got` still holds a: it is alive and intact until we let go. */
    CHECK_INT(sy_config_live(), live + 2);
    CHECK_STR(got->listen.addrs[0].text, "127.0.0.1:4000");
    sy_config_unref(got);
    CHECK_INT(sy_config_live(), live + 1);
    got = sy_config_acquire();
    CHECK(got == b);
    sy_config_unref(got);
    sy_config_unref(NULL);
    char *err = NULL;
    CHECK_INT(sy_config_reload(&err), SY_EINVAL); /* b has no file */
    CHECK(err && strcmp(err, "the current configuration was not loaded from a file") == 0);
    free(err);
    sy_config_publish(NULL);
    CHECK(sy_config_acquire() == NULL);
    CHECK_INT(sy_config_live(), live);
    CHECK_INT(sy_config_reload(&err), SY_EINVAL);
    CHECK(err && strcmp(err, "no configuration has been published") == 0);
    free(err);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_reload(void)
{
    char path[] = "/tmp/sy-config-test-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    write_file(path, "listen: 127.0.0.1:4100\n");
    char *err = NULL;
    sy_config_t *c = sy_config_load(path, &err);
    CHECK(c != NULL);
    sy_config_publish(c);
    write_file(path, "listen: 127.0.0.1:4101\n");
    CHECK_INT(sy_config_reload(&err), SY_OK);
    CHECK(err == NULL);
    sy_config_t *cur = sy_config_acquire();
    CHECK(cur && cur->listen.addrs[0].port == 4101);
    /* A bad file keeps the running snapshot and says why. */
    write_file(path, "listen: 127.0.0.1:4102\nworkers: lots\n");
    CHECK_INT(sy_config_reload(&err), SY_EINVAL);
    CHECK(err && strstr(err, ":2:1: workers: expected auto or a number") != NULL);
    free(err);
    sy_config_t *still = sy_config_acquire();
    CHECK(still == cur);
    sy_config_unref(still);
    sy_config_unref(cur);
    sy_config_publish(NULL);
    unlink(path);
}

/* Readers acquire, check the snapshot is whole, keep one across several
 * publishes, and unref; a writer publishes snapshot after snapshot. Under
 * ASan or valgrind a reference taken too late shows as a use after free. */
#define STRESS_READERS   4
#define STRESS_ITERS     75000 /* acquires per reader, at least */
#define STRESS_PUBLISHES 2000  /* publishes the readers must overlap, at least */

static atomic_int stress_done;
static atomic_int stress_bad;
static atomic_int stress_published;

/* Every 64th acquire of a thread dawdles between loading the pointer and
 * taking its reference: if publish did not wait for it, the snapshot would
 * be freed under it and ASan would report the reference count's update. */
static void stress_hook(void)
{
    static _Thread_local unsigned n;
    if (++n % 64 == 0)
        for (volatile int i = 0; i < 2000; i++)
            ;
    if (n % 1024 == 0)
        sched_yield();
}

static void *stress_reader(void *arg)
{
    SY_UNUSED(arg);
    uint64_t last = 0;
    sy_config_t *held = NULL;
    for (int i = 0; i < STRESS_ITERS || atomic_load(&stress_published) < STRESS_PUBLISHES; i++) {
        sy_config_t *c = sy_config_acquire();
        if (c == NULL) {
            atomic_fetch_add(&stress_bad, 1);
            continue;
        }
        /* The writer sets both to the same number before publishing. */
        uint64_t v = c->limits.max_headers;
        if (v != c->limits.max_request_line || v < last || c->listen.addrs[0].port != 4000)
            atomic_fetch_add(&stress_bad, 1);
        last = v;
        if (i % 512 == 0) {
            if (held && held->limits.max_headers != held->limits.max_request_line)
                atomic_fetch_add(&stress_bad, 1);
            sy_config_unref(held);
            sy_config_ref(c);
            held = c;
        }
        sy_config_unref(c);
    }
    if (held && held->limits.max_headers != held->limits.max_request_line)
        atomic_fetch_add(&stress_bad, 1);
    sy_config_unref(held);
    return NULL;
}

static void *stress_writer(void *arg)
{
    SY_UNUSED(arg);
    for (uint64_t i = 2; !atomic_load(&stress_done); i++) {
        sy_config_t *c = sy_config_default();
        c->limits.max_headers = c->limits.max_request_line = i;
        sy_config_publish(c);
        atomic_fetch_add(&stress_published, 1);
    }
    return NULL;
}

static void test_acquire_publish_stress(void)
{
    size_t live = sy_config_live();
    sy_config_t *first = sy_config_default();
    first->limits.max_headers = first->limits.max_request_line = 1;
    sy_config_publish(first);
    sy_config_set_acquire_hook(stress_hook);
    pthread_t readers[STRESS_READERS], writer;
    atomic_store(&stress_done, 0);
    atomic_store(&stress_bad, 0);
    atomic_store(&stress_published, 0);
    CHECK_INT(pthread_create(&writer, NULL, stress_writer, NULL), 0);
    for (int i = 0; i < STRESS_READERS; i++)
        CHECK_INT(pthread_create(&readers[i], NULL, stress_reader, NULL), 0);
    for (int i = 0; i < STRESS_READERS; i++)
        pthread_join(readers[i], NULL);
    atomic_store(&stress_done, 1);
    pthread_join(writer, NULL);
    sy_config_set_acquire_hook(NULL);
    CHECK_INT(atomic_load(&stress_bad), 0);
    CHECK(atomic_load(&stress_published) >= STRESS_PUBLISHES);
    printf("     (%d readers x >= %d acquires against %d publishes)\n", STRESS_READERS,
           STRESS_ITERS, atomic_load(&stress_published));
    sy_config_publish(NULL);
    CHECK_INT(sy_config_live(), live); /* every snapshot was freed exactly once */
}

/* A provider's base URL (and proxy) is parsed once with the configuration:
 * the origin the upstream client connects to and the path requests start
 * with; a URL that does not parse is left unresolved (each attempt then
 * fails with the parser's reason, tests/e2e). */
static void test_provider_origin(void)
{
    sy_config_t *c = EXPECT_OK("providers:\n"
                               "  - {name: a, kind: openai, base_url: 'http://127.0.0.1:9000/v1/'}\n"
                               "  - {name: b, kind: anthropic, base_url: 'https://API.example.com',\n"
                               "     proxy: 'http://proxy.local:3129'}\n"
                               "  - {name: c, kind: openai, base_url: 'http://bad host/v1'}\n"
                               "  - {name: d, kind: openai, base_url: 'http://h:99999'}\n"
                               "models: []\n");
    if (!c)
        return;
    const sy_config_provider_t *a = sy_config_find_provider(c, SY_STR("a"));
    const sy_config_provider_t *b = sy_config_find_provider(c, SY_STR("b"));
    CHECK(a && a->origin && b && b->origin);
    if (a && a->origin) {
        CHECK(!a->origin->tls && a->origin->port == 9000);
        CHECK(strcmp(a->origin->host, "127.0.0.1") == 0 && a->origin->sni[0] == 0);
        CHECK(a->origin->proxy_host[0] == 0);
        CHECK_STR(a->base_path, "/v1"); /* the trailing slash is dropped with the URL's */
    }
    if (b && b->origin) {
        CHECK(b->origin->tls && b->origin->port == 443);
        CHECK(strcmp(b->origin->host, "api.example.com") == 0);
        CHECK(strcmp(b->origin->sni, "api.example.com") == 0);
        CHECK(strcmp(b->origin->proxy_host, "proxy.local") == 0 && b->origin->proxy_port == 3129);
        CHECK_INT(b->base_path.len, 0);
    }
    CHECK(sy_config_find_provider(c, SY_STR("c"))->origin == NULL);
    CHECK(sy_config_find_provider(c, SY_STR("d"))->origin == NULL);
    sy_config_unref(c);
}

int main(void)
{
    RUN(test_yaml_tree);
    RUN(test_yaml_errors);
    RUN(test_env_expand);
    RUN(test_env_in_config);
    RUN(test_sizes);
    RUN(test_durations);
    RUN(test_distance);
    RUN(test_unknown_keys);
    RUN(test_type_errors);
    RUN(test_error_cap);
    RUN(test_defaults);
    RUN(test_listen);
    RUN(test_workers);
    RUN(test_table_machinery);
    RUN(test_missing_file);
    RUN(test_data_files);
    RUN(test_load_twice_equal);
    RUN(test_reference_doc);
    RUN(test_refcount_and_publish);
    RUN(test_reload);
    RUN(test_acquire_publish_stress);
    RUN(test_provider_origin);
    return unit_done();
}
