/* Unit tests for the built-in price catalogue and exact cost accounting. */
#include <stdio.h>

#include "unit.h"
#include "router/catalog.h"

static void test_catalog_loads(void)
{
    CHECK(sy_catalog_count() >= 20);
    for (size_t i = 0; i < sy_catalog_count(); i++) {
        const sy_catalog_entry_t *e = sy_catalog_at(i);
        CHECK(e->source.len > 0 && e->checked.len == 10); /* every entry dated and sourced */
        CHECK(e->price.input > 0);
    }
}

static void test_catalog_match_order(void)
{
    const sy_catalog_entry_t *e = sy_catalog_find(SY_STR("openai"), SY_STR("gpt-4o-mini-2024-07-18"));
    CHECK(e && sy_str_eq_c(e->pattern, "gpt-4o-mini*")); /* not the broader gpt-4o* */
    e = sy_catalog_find(SY_STR("openai"), SY_STR("gpt-4o"));
    CHECK(e && e->price.input == 2500000 && e->price.output == 10000000);
    e = sy_catalog_find(SY_STR("bedrock"), SY_STR("us.anthropic.claude-sonnet-4-5-20250929-v1:0"));
    CHECK(e && e->price.input == 3000000 && e->context_window == 200000);
    e = sy_catalog_find(SY_STR("anthropic"), SY_STR("claude-haiku-4-5"));
    CHECK(e && e->price.cached_input == 100000 && e->price.cache_write == 1250000);
    CHECK(sy_catalog_find(SY_STR("openai"), SY_STR("claude-haiku-4-5")) == NULL); /* kind matters */
    CHECK(sy_catalog_find(SY_STR("openai"), SY_STR("no-such-model")) == NULL);
}

static void test_price_parse(void)
{
    uint64_t v;
    CHECK(sy_price_parse(SY_STR("0.15"), &v) == SY_OK && v == 150000);
    CHECK(sy_price_parse(SY_STR("10"), &v) == SY_OK && v == 10000000);
    CHECK(sy_price_parse(SY_STR("0.00875"), &v) == SY_OK && v == 8750);
    CHECK(sy_price_parse(SY_STR(".5"), &v) == SY_OK && v == 500000);
    CHECK(sy_price_parse(SY_STR("0.0000001"), &v) == SY_EINVAL); /* below a pico-dollar */
    CHECK(sy_price_parse(SY_STR("1."), &v) == SY_EINVAL);
    CHECK(sy_price_parse(SY_STR("-1"), &v) == SY_EINVAL);
    CHECK(sy_price_parse(SY_STR("abc"), &v) == SY_EINVAL);
    CHECK(sy_price_parse(SY_STR(""), &v) == SY_EINVAL);
}

static void test_cost_exact(void)
{
    const sy_catalog_entry_t *e = sy_catalog_find(SY_STR("openai"), SY_STR("gpt-4o-mini"));
    sy_ir_usage_t u = {.input = 1000, .cached_input = 200, .output = 500,
                       .has_input = true, .has_cached_input = true, .has_output = true};
    /* 800 x 0.15 + 200 x 0.075 + 500 x 0.60, per million tokens */
    uint64_t c = sy_cost_pico(&e->price, &u);
    CHECK_INT(c, 800ULL * 150000 + 200ULL * 75000 + 500ULL * 600000);
    char buf[32];
    CHECK(strcmp(sy_cost_format(c, buf), "0.000435") == 0);
    CHECK(strcmp(sy_cost_format(0, buf), "0") == 0);
    CHECK(strcmp(sy_cost_format(12000000000000ULL, buf), "12") == 0);
    CHECK(strcmp(sy_cost_format(1, buf), "0.000000000001") == 0);
    CHECK(strcmp(sy_cost_format(UINT64_MAX, buf), "18446744.073709551615") == 0);
    /* the printf definition, trimmed, over values of every magnitude */
    int bad = 0;
    uint64_t v = 1;
    for (int i = 0; i < 200000; i++) {
        v = v * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t x = v >> (i % 64);
        if (i % 3 == 0)
            x -= x % 1000; /* trailing zeros */
        char want[40];
        int n = snprintf(want, sizeof(want), "%llu.%012llu", (unsigned long long)(x / 1000000000000ULL),
                         (unsigned long long)(x % 1000000000000ULL));
        while (n > 0 && want[n - 1] == '0')
            want[--n] = '\0';
        if (n > 0 && want[n - 1] == '.')
            want[--n] = '\0';
        if (strcmp(sy_cost_format(x, buf), want) != 0)
            bad++;
    }
    CHECK_INT(bad, 0);
    /* Anthropic: cache writes billed at their own price */
    e = sy_catalog_find(SY_STR("anthropic"), SY_STR("claude-sonnet-4-5"));
    sy_ir_usage_t a = {.input = 3000, .cached_input = 1000, .cache_write = 1500, .output = 10,
                       .has_input = true, .has_cached_input = true, .has_cache_write = true,
                       .has_output = true};
    CHECK_INT(sy_cost_pico(&e->price, &a),
              500ULL * 3000000 + 1000ULL * 300000 + 1500ULL * 3750000 + 10ULL * 15000000);
    /* worst case before the call */
    CHECK_INT(sy_cost_estimate_pico(&e->price, 100, 1000), 100ULL * 3750000 + 1000ULL * 15000000);
}

static void test_glob(void)
{
    CHECK(sy_glob_match(SY_STR("gpt-4o*"), SY_STR("gpt-4o")));
    CHECK(sy_glob_match(SY_STR("*anthropic.claude*"), SY_STR("eu.anthropic.claude-x")));
    CHECK(!sy_glob_match(SY_STR("gpt-4o"), SY_STR("gpt-4o-mini")));
    CHECK(sy_glob_match(SY_STR("a*b*c"), SY_STR("aXXbYYc")));
    CHECK(!sy_glob_match(SY_STR("a*b*c"), SY_STR("aXXbYY")));
    CHECK(sy_glob_match(SY_STR("*"), SY_STR("")));
}

int main(void)
{
    RUN(test_catalog_loads);
    RUN(test_catalog_match_order);
    RUN(test_price_parse);
    RUN(test_cost_exact);
    RUN(test_glob);
    return unit_done();
}
