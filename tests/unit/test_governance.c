/*
 * test_governance.c - virtual keys, amounts and specs, the counters
 * (sliding minute, budget windows, all-or-nothing batches, under threads),
 * residency, the directory, and the governance store on SQLite.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness/counters.h"
#include "harness/counters_redis.h"
#include "harness/gov.h"
#include "harness/govstore.h"
#include "harness/keys.h"
#include "harness/principals.h"
#include "harness/residency.h"
#include "json/json.h"
#include "router/router.h"
#include "unit.h"

/* ---- keys ---- */

static void test_key_generate(void)
{
    char a[SY_KEY_LEN + 1], b[SY_KEY_LEN + 1];
    CHECK_INT(sy_key_generate(a), SY_OK);
    CHECK_INT(sy_key_generate(b), SY_OK);
    CHECK_INT(strlen(a), SY_KEY_LEN);
    CHECK(strncmp(a, "sk-sy-", 6) == 0);
    CHECK(strcmp(a, b) != 0);
    CHECK(sy_key_is_virtual(sy_str_c(a)));
    CHECK(!sy_key_is_virtual(sy_str_c("sk-sy-short")));
    a[20] = '-';
    CHECK(!sy_key_is_virtual(sy_str_c(a)));
    CHECK(!sy_key_is_virtual(sy_str(b, SY_KEY_LEN - 1)));
    /* 43 base62 digits hold 256 bits: the all-ones number fits exactly
     * (the digits as Python's int arithmetic gives them). */
    uint8_t ones[32];
    memset(ones, 0xff, sizeof(ones));
    char d[SY_KEY_BODY_LEN + 1];
    sy_base62_encode(ones, sizeof(ones), d, SY_KEY_BODY_LEN);
    d[SY_KEY_BODY_LEN] = '\0';
    CHECK(memcmp(d, "yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1", SY_KEY_BODY_LEN) == 0);
    uint8_t zero[32] = {0};
    sy_base62_encode(zero, sizeof(zero), d, SY_KEY_BODY_LEN);
    CHECK(strspn(d, "0") == SY_KEY_BODY_LEN);
    uint8_t small[2] = {0x01, 0x00}; /* 256 = 4 * 62 + 8 */
    char e[3];
    sy_base62_encode(small, 2, e, 2);
    CHECK(e[0] == '4' && e[1] == '8');
    char id[32];
    CHECK_INT(sy_key_new_id("key_", 20, id, sizeof(id)), SY_OK);
    CHECK_INT(strlen(id), 24);
    CHECK(strncmp(id, "key_", 4) == 0);
}

static void test_key_hash(void)
{
    sy_key_hash_t h, h2;
    sy_key_hash(SY_STR("abc"), &h);
    char hex[65];
    sy_key_hash_hex(&h, hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    CHECK_INT(sy_key_hash_parse(sy_str_c(hex), &h2), SY_OK);
    CHECK(sy_key_hash_eq(&h, &h2));
    h2.b[31] ^= 1;
    CHECK(!sy_key_hash_eq(&h, &h2));
    CHECK_INT(sy_key_hash_parse(SY_STR("zz"), &h2), SY_EINVAL);
    char hint[SY_KEY_HINT_LEN];
    sy_key_hint(SY_STR("sk-sy-0123456789abcdefWXYZ"), hint);
    CHECK(strcmp(hint, "sk-sy-\xe2\x80\xa6WXYZ") == 0);
}

/* ---- amounts and specs ---- */

static void test_usd(void)
{
    uint64_t p;
    CHECK_INT(sy_gov_usd_parse(SY_STR("50"), &p), SY_OK);
    CHECK(p == 50000000000000ull);
    CHECK_INT(sy_gov_usd_parse(SY_STR("$0.25"), &p), SY_OK);
    CHECK(p == 250000000000ull);
    CHECK_INT(sy_gov_usd_parse(SY_STR("0.000000000001"), &p), SY_OK);
    CHECK(p == 1);
    CHECK_INT(sy_gov_usd_parse(SY_STR("1.5000000000000"), &p), SY_OK); /* zeros past pico */
    CHECK(p == 1500000000000ull);
    CHECK_INT(sy_gov_usd_parse(SY_STR("0.0000000000001"), &p), SY_EINVAL);
    CHECK_INT(sy_gov_usd_parse(SY_STR("1e3"), &p), SY_EINVAL);
    CHECK_INT(sy_gov_usd_parse(SY_STR("-1"), &p), SY_EINVAL);
    CHECK_INT(sy_gov_usd_parse(SY_STR("."), &p), SY_EINVAL);
    CHECK_INT(sy_gov_usd_parse(SY_STR("1."), &p), SY_EINVAL);
    CHECK_INT(sy_gov_usd_parse(SY_STR("9000000"), &p), SY_OK);
    CHECK_INT(sy_gov_usd_parse(SY_STR("9000001"), &p), SY_ETOOBIG);
    CHECK_INT(sy_gov_usd_parse(SY_STR("99999999999999999999"), &p), SY_ETOOBIG);
    sy_window_t w;
    CHECK_INT(sy_gov_budget_parse(SY_STR("50/month"), &w, &p), SY_OK);
    CHECK(w == SY_WINDOW_MONTH && p == 50000000000000ull);
    CHECK_INT(sy_gov_budget_parse(SY_STR("1.5 per day"), &w, &p), SY_OK);
    CHECK(w == SY_WINDOW_DAY && p == 1500000000000ull);
    CHECK_INT(sy_gov_budget_parse(SY_STR("100/total"), &w, &p), SY_OK);
    CHECK(w == SY_WINDOW_TOTAL);
    CHECK_INT(sy_gov_budget_parse(SY_STR("100/week"), &w, &p), SY_EINVAL);
    CHECK_INT(sy_gov_budget_parse(SY_STR("100"), &w, &p), SY_EINVAL);
}

static int parse_spec(sy_arena_t *a, const char *json, sy_principal_kind_t kind, sy_gov_spec_t *s,
                      char *err, size_t errsz)
{
    sy_json_t *root = NULL;
    sy_json_error_t jerr;
    if (sy_json_parse(a, json, strlen(json), NULL, &root, &jerr) != SY_OK)
        return SY_ERR;
    return sy_gov_spec_parse(a, root, kind, 1000000, s, err, errsz);
}

static void test_spec(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_gov_spec_t s;
    sy_gov_spec_init(&s);
    char err[300] = "";
    CHECK_INT(parse_spec(a,
                         "{\"name\":\"ci\",\"team\":\"t\",\"budget\":[\"50/month\",\"2.5/day\"],"
                         "\"rpm\":60,\"tpm\":1000,\"models\":[\"gpt-4o*\",\"claude-x\"],"
                         "\"residency\":{\"pii\":[\"eu\"],\"restricted\":\"ch\"},"
                         "\"default_data_class\":\"pii\",\"guardrails\":\"strict\","
                         "\"expires_in\":\"1h\",\"metadata\":{\"owner\":\"a@b\"}}",
                         SY_PRINCIPAL_KEY, &s, err, sizeof(err)),
              SY_OK);
    CHECK(s.has_budget[SY_WINDOW_MONTH] && s.budget[SY_WINDOW_MONTH] == 50000000000000ull);
    CHECK(s.has_budget[SY_WINDOW_DAY] && s.budget[SY_WINDOW_DAY] == 2500000000000ull);
    CHECK(!s.has_budget[SY_WINDOW_TOTAL]);
    CHECK(s.rpm == 60 && s.tpm == 1000);
    CHECK_INT(s.nmodels, 2);
    CHECK(sy_gov_models_allow(s.models, s.nmodels, SY_STR("gpt-4o-mini")));
    CHECK(!sy_gov_models_allow(s.models, s.nmodels, SY_STR("gpt-5")));
    CHECK(sy_gov_models_allow(NULL, 0, SY_STR("anything")));
    CHECK_INT(s.nresidency, 2);
    CHECK(s.expires_at_ms == 1000000 + 3600000);
    CHECK_STR(s.metadata, "{\"owner\":\"a@b\"}");
    CHECK(sy_gov_spec_limited(&s));
    /* Canonical form, read back, is the same spec. */
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_gov_spec_json(&s, SY_PRINCIPAL_KEY, &b);
    sy_buf_append(&b, "", 1);
    CHECK(strstr(sy_buf_ptr(&b), "\"budgets\":{\"day\":\"2.5\",\"month\":\"50\"}") != NULL);
    sy_gov_spec_t s2;
    sy_gov_spec_init(&s2);
    CHECK_INT(parse_spec(a, sy_buf_ptr(&b), SY_PRINCIPAL_KEY, &s2, err, sizeof(err)), SY_OK);
    sy_buf_t b2;
    sy_buf_init(&b2, 0);
    sy_gov_spec_json(&s2, SY_PRINCIPAL_KEY, &b2);
    sy_buf_append(&b2, "", 1);
    CHECK(strcmp(sy_buf_ptr(&b), sy_buf_ptr(&b2)) == 0);
    /* A patch changes what it names; null clears. */
    CHECK_INT(parse_spec(a, "{\"rpm\":null,\"budgets\":{\"day\":null},\"enabled\":false}",
                         SY_PRINCIPAL_KEY, &s2, err, sizeof(err)),
              SY_OK);
    CHECK(s2.rpm == 0 && s2.tpm == 1000 && !s2.enabled);
    CHECK(!s2.has_budget[SY_WINDOW_DAY] && s2.has_budget[SY_WINDOW_MONTH]);
    /* Errors name the member. */
    CHECK_INT(parse_spec(a, "{\"rpm\":-1}", SY_PRINCIPAL_KEY, &s2, err, sizeof(err)), SY_EINVAL);
    CHECK(strncmp(err, "rpm:", 4) == 0);
    CHECK_INT(parse_spec(a, "{\"budget\":\"5/week\"}", SY_PRINCIPAL_TEAM, &s2, err, sizeof(err)),
              SY_EINVAL);
    CHECK(strncmp(err, "budget:", 7) == 0);
    CHECK_INT(parse_spec(a, "{\"expires_in\":\"1h\"}", SY_PRINCIPAL_TEAM, &s2, err, sizeof(err)),
              SY_EINVAL);
    CHECK(strstr(err, "only keys expire") != NULL);
    CHECK_INT(parse_spec(a, "{\"colour\":1}", SY_PRINCIPAL_ORG, &s2, err, sizeof(err)), SY_EINVAL);
    CHECK_INT(parse_spec(a, "{\"residency\":{\"pii\":[\"e u\"]}}", SY_PRINCIPAL_ORG, &s2, err,
                         sizeof(err)),
              SY_EINVAL);
    sy_buf_free(&b);
    sy_buf_free(&b2);
    sy_arena_free(a);
}

/* ---- windows and counters ---- */

static void test_windows(void)
{
    /* 2026-01-31T23:59:59Z and a second later */
    uint64_t t = 1769903999;
    CHECK(sy_window_index(SY_WINDOW_MONTH, t) == 2026u * 12 + 0);
    CHECK(sy_window_index(SY_WINDOW_MONTH, t + 1) == 2026u * 12 + 1);
    CHECK(sy_window_end(SY_WINDOW_MONTH, 2026u * 12 + 0) == t + 1);
    CHECK(sy_window_end(SY_WINDOW_MONTH, 2026u * 12 + 11) == 1798761600); /* 2027-01-01 */
    CHECK(sy_window_index(SY_WINDOW_DAY, t) + 1 == sy_window_index(SY_WINDOW_DAY, t + 1));
    CHECK(sy_window_end(SY_WINDOW_DAY, sy_window_index(SY_WINDOW_DAY, t)) == t + 1);
    CHECK(sy_window_end(SY_WINDOW_TOTAL, 0) == UINT64_MAX);
}

static void test_rate_window(void)
{
    sy_ctr_rate_t *r = calloc(1, sizeof(*r));
    uint64_t t0 = 1700000000000ull + 250, at, used, retry;
    /* 60 fit; the 61st is refused until the first second has left. */
    for (int i = 0; i < 60; i++)
        CHECK_INT(sy_ctr_rate_reserve(r, 60, 1, t0 + (uint64_t)i * 100, &at, &used, &retry), SY_OK);
    CHECK(used == 60);
    uint64_t now = t0 + 6000;
    CHECK_INT(sy_ctr_rate_reserve(r, 60, 1, now, &at, &used, &retry), SY_ERR);
    /* The first 8 requests were in second t0/1000 (at .25 .. .95): it
     * counts through second +60, so room comes at the start of +61. */
    CHECK(retry == (t0 / 1000 + 61) * 1000 - now);
    CHECK(sy_ctr_rate_reserve(r, 60, 1, t0 + 60000, &at, &used, &retry) == SY_ERR);
    CHECK(sy_ctr_rate_reserve(r, 60, 1, (t0 / 1000 + 61) * 1000, &at, &used, &retry) == SY_OK);
    /* Too large outright. */
    CHECK_INT(sy_ctr_rate_reserve(r, 60, 61, now, &at, &used, &retry), SY_ETOOBIG);
    /* Settling gives back; settling more takes more. */
    sy_ctr_rate_t *q = calloc(1, sizeof(*q));
    CHECK_INT(sy_ctr_rate_reserve(q, 1000, 700, t0, &at, &used, &retry), SY_OK);
    CHECK_INT(sy_ctr_rate_reserve(q, 1000, 400, t0, &at, &used, &retry), SY_ERR);
    sy_ctr_rate_settle(q, at, 700, 100, t0 + 10);
    CHECK(sy_ctr_rate_current(q, t0 + 10, NULL) == 100);
    uint64_t at2;
    CHECK_INT(sy_ctr_rate_reserve(q, 1000, 400, t0 + 20, &at2, &used, &retry), SY_OK);
    sy_ctr_rate_settle(q, at2, 400, 900, t0 + 30);
    CHECK(sy_ctr_rate_current(q, t0 + 30, NULL) == 1000);
    /* A settle after the window does nothing. */
    sy_ctr_rate_settle(q, at2, 900, 0, t0 + 62000);
    /* Everything leaves after 61 s, even with no traffic in between. */
    uint64_t reset;
    CHECK(sy_ctr_rate_current(q, t0 + 30, &reset) == 1000);
    CHECK(reset == (t0 / 1000 + 61) * 1000 - (t0 + 30));
    CHECK_INT(sy_ctr_rate_reserve(q, 1000, 1000, t0 + 200000, &at, &used, &retry), SY_OK);
    /* Long quiet periods (past the 24-bit second tag) do not resurrect old amounts. */
    CHECK_INT(sy_ctr_rate_reserve(q, 1000, 1000, t0 + 200000 + (1ull << 24) * 1000, &at, &used,
                                  &retry),
              SY_OK);
    free(r);
    free(q);
}

static void test_budget_window(void)
{
    sy_ctr_budget_t *b = calloc(1, sizeof(*b));
    uint64_t used;
    /* A new window starts at its seed (the ledger's spend so far). */
    CHECK_INT(sy_ctr_budget_reserve(b, 100, 400, 1000, 500, &used), SY_OK);
    CHECK(used == 900);
    CHECK_INT(sy_ctr_budget_reserve(b, 100, 0, 1000, 101, &used), SY_ERR);
    CHECK(used == 900);
    CHECK_INT(sy_ctr_budget_reserve(b, 100, 0, 1000, 100, &used), SY_OK);
    CHECK(used == 1000);
    /* Settling gives back the over-estimate. */
    sy_ctr_budget_settle(b, 100, 500, 120);
    bool known;
    CHECK(sy_ctr_budget_current(b, 100, &known) == 620 && known);
    /* Actual cost above the reservation is charged in full. */
    sy_ctr_budget_settle(b, 100, 100, 150);
    CHECK(sy_ctr_budget_current(b, 100, NULL) == 670);
    /* The next window starts afresh in the other slot; the old one still settles. */
    CHECK_INT(sy_ctr_budget_reserve(b, 101, 0, 1000, 1000, &used), SY_OK);
    sy_ctr_budget_settle(b, 100, 0, 5);
    CHECK(sy_ctr_budget_current(b, 100, NULL) == 675);
    CHECK(sy_ctr_budget_current(b, 101, NULL) == 1000);
    /* Window 102 reuses 100's slot: 100 is gone, its settle does nothing. */
    CHECK_INT(sy_ctr_budget_reserve(b, 102, 7, 1000, 3, &used), SY_OK);
    CHECK(used == 10);
    sy_ctr_budget_settle(b, 100, 0, 999);
    CHECK(sy_ctr_budget_current(b, 102, NULL) == 10);
    CHECK(sy_ctr_budget_current(b, 100, &known) == 0 && !known);
    free(b);
}

static void test_batch(void)
{
    sy_ctr_state_t *k = sy_ctr_state_get(SY_STR("k:test-batch"));
    sy_ctr_state_t *t = sy_ctr_state_get(SY_STR("t:test-batch"));
    CHECK(k && t && k != t);
    CHECK(sy_ctr_state_get(SY_STR("k:test-batch")) == k);
    CHECK(sy_ctr_state_find(SY_STR("k:test-batch")) == k);
    CHECK(sy_ctr_state_find(SY_STR("k:nobody")) == NULL);
    uint64_t now = 1700000000000ull;
    sy_ctr_batch_t b;
    memset(&b, 0, sizeof(b));
    sy_ctr_add(&b, SY_CTR_RPM, SY_SCOPE_KEY, SY_WINDOW_TOTAL, k, 10, 1);
    sy_ctr_add(&b, SY_CTR_TPM, SY_SCOPE_KEY, SY_WINDOW_TOTAL, k, 1000, 300);
    sy_ctr_add(&b, SY_CTR_BUDGET, SY_SCOPE_TEAM, SY_WINDOW_MONTH, t, 1000000, 600000);
    sy_ctr_local_reserve(&b, now);
    CHECK_INT(b.result, SY_CTR_OK);
    /* The second one fails on the team budget and takes nothing. */
    sy_ctr_batch_t c = b;
    sy_ctr_local_reserve(&c, now);
    CHECK_INT(c.result, SY_CTR_REFUSED);
    CHECK_INT(c.failed, 2);
    CHECK(c.retry_after_ms > 0);
    CHECK(sy_ctr_rate_current(&k->rpm, now, NULL) == 1);
    CHECK(sy_ctr_rate_current(&k->tpm, now, NULL) == 300);
    /* Settle the first: one request, 120 tokens, 150000 pico. */
    sy_ctr_local_settle(&b, 0, 1, now);
    sy_ctr_local_settle(&b, 1, 120, now);
    sy_ctr_local_settle(&b, 2, 150000, now);
    sy_ctr_local_settle(&b, 2, 0, now); /* twice: nothing more */
    CHECK(sy_ctr_rate_current(&k->tpm, now, NULL) == 120);
    uint64_t idx = sy_window_index(SY_WINDOW_MONTH, now / 1000);
    CHECK(sy_ctr_budget_current(&t->budget[SY_WINDOW_MONTH], idx, NULL) == 150000);
    sy_ctr_local_reserve(&c, now);
    CHECK_INT(c.result, SY_CTR_OK);
    /* Too large outright. */
    sy_ctr_batch_t d;
    memset(&d, 0, sizeof(d));
    sy_ctr_add(&d, SY_CTR_BUDGET, SY_SCOPE_KEY, SY_WINDOW_DAY, k, 100, 101);
    sy_ctr_local_reserve(&d, now);
    CHECK_INT(d.result, SY_CTR_TOO_LARGE);
}

/* Threads hammer one window: exactly `limit` reservations succeed, and a
 * budget never holds more than its limit. */
typedef struct {
    sy_ctr_rate_t *r;
    sy_ctr_budget_t *b;
    uint64_t now;
    _Atomic int ok_rate, ok_budget;
    _Atomic uint64_t spent;
} race_t;

static void *race_main(void *arg)
{
    race_t *x = arg;
    for (int i = 0; i < 2000; i++) {
        uint64_t at, used, retry;
        if (sy_ctr_rate_reserve(x->r, 1000, 1, x->now, &at, &used, &retry) == SY_OK)
            atomic_fetch_add(&x->ok_rate, 1);
        if (sy_ctr_budget_reserve(x->b, 7, 0, 1000000, 3000, &used) == SY_OK) {
            atomic_fetch_add(&x->ok_budget, 1);
            /* settle lower half the time: room comes back */
            uint64_t real = (i & 1) ? 3000 : 1000;
            sy_ctr_budget_settle(x->b, 7, 3000, real);
            atomic_fetch_add(&x->spent, real);
        }
    }
    return NULL;
}

static void test_counters_threads(void)
{
    race_t x;
    memset(&x, 0, sizeof(x));
    x.r = calloc(1, sizeof(*x.r));
    x.b = calloc(1, sizeof(*x.b));
    x.now = 1700000000123ull;
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, race_main, &x);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    CHECK_INT(atomic_load(&x.ok_rate), 1000);
    CHECK(atomic_load(&x.spent) <= 1000000);
    CHECK(sy_ctr_budget_current(x.b, 7, NULL) == atomic_load(&x.spent));
    /* It filled up: at most one reservation (3000) short of the limit. */
    CHECK(atomic_load(&x.spent) > 1000000 - 3000);
    free(x.r);
    free(x.b);
}

/* ---- residency ---- */

static sy_gov_spec_t spec_of(sy_arena_t *a, const char *json)
{
    sy_gov_spec_t s;
    sy_gov_spec_init(&s);
    char err[200];
    if (parse_spec(a, json, SY_PRINCIPAL_TEAM, &s, err, sizeof(err)) != SY_OK)
        fprintf(stderr, "spec: %s\n", err);
    return s;
}

static void test_residency(void)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_gov_spec_t key = spec_of(a, "{\"residency\":{\"pii\":[\"eu\",\"us\"]}}");
    sy_gov_spec_t team = spec_of(a, "{\"residency\":{\"pii\":[\"eu\",\"ch\"],\"hr\":[\"de\"]},"
                                    "\"default_data_class\":\"internal\"}");
    sy_gov_spec_t org = spec_of(a, "{\"residency\":{\"internal\":[\"eu\",\"us\",\"ch\"]}}");
    const sy_gov_spec_t *lv[3] = {&key, &team, &org};
    sy_residency_t r;
    char err[200];
    /* No class given: the team's default applies (internal: org's rule). */
    CHECK_INT(sy_residency_resolve(lv, SY_STR(""), SY_STR(""), NULL, 0, &r, err, sizeof(err)),
              SY_OK);
    CHECK(r.restricted);
    CHECK_INT(r.nallowed, 3);
    CHECK(sy_residency_allows(&r, SY_STR("US")));
    CHECK(!sy_residency_allows(&r, SY_STR("apac")));
    /* pii: key (eu, us) and team (eu, ch) intersect to eu; internal narrows nothing more. */
    CHECK_INT(sy_residency_resolve(lv, SY_STR("pii"), SY_STR(""), NULL, 0, &r, err, sizeof(err)),
              SY_OK);
    CHECK_INT(r.nallowed, 1);
    CHECK(sy_residency_allows(&r, SY_STR("eu")));
    CHECK(sy_residency_allows(&r, SY_STR("eu-de")));
    CHECK(!sy_residency_allows(&r, SY_STR("us")));
    CHECK(!sy_residency_allows(&r, SY_STR("")));
    CHECK(!sy_residency_allows(&r, SY_STR("europe")));
    CHECK(strstr(r.why, "data class pii (key: eu, us; team: eu, ch)") != NULL);
    /* hr: only de, which lies inside eu: de stays. pii + hr -> de. */
    CHECK_INT(sy_residency_resolve(lv, SY_STR("pii, hr"), SY_STR(""), NULL, 0, &r, err,
                                   sizeof(err)),
              SY_OK);
    CHECK_INT(r.nallowed, 0); /* eu ∩ de: "de" is not under "eu" by name */
    /* A guardrail's class and its own list narrow further. */
    sy_str_t gj[] = {SY_STR("ch")};
    CHECK_INT(sy_residency_resolve(lv, SY_STR(""), SY_STR("pii"), gj, 1, &r, err, sizeof(err)),
              SY_OK);
    CHECK_INT(r.nallowed, 0);
    /* Hierarchy: an allowed "eu" and a rule "eu-de" narrow to eu-de. */
    sy_gov_spec_t k2 = spec_of(a, "{\"residency\":{\"x\":[\"eu\"]}}");
    sy_gov_spec_t t2 = spec_of(a, "{\"residency\":{\"x\":[\"eu-de\",\"us\"]}}");
    const sy_gov_spec_t *lv2[3] = {&k2, &t2, NULL};
    CHECK_INT(sy_residency_resolve(lv2, SY_STR("x"), SY_STR(""), NULL, 0, &r, err, sizeof(err)),
              SY_OK);
    CHECK_INT(r.nallowed, 1);
    CHECK(sy_residency_allows(&r, SY_STR("eu-de")));
    CHECK(!sy_residency_allows(&r, SY_STR("eu-fr")));
    /* A class nobody has a rule for restricts nothing. */
    const sy_gov_spec_t *none[3] = {&k2, NULL, NULL};
    CHECK_INT(sy_residency_resolve(none, SY_STR("public"), SY_STR(""), NULL, 0, &r, err,
                                   sizeof(err)),
              SY_OK);
    CHECK(!r.restricted);
    CHECK(sy_residency_allows(&r, SY_STR("anywhere")));
    /* Malformed headers. */
    CHECK_INT(sy_residency_resolve(none, SY_STR("a b"), SY_STR(""), NULL, 0, &r, err, sizeof(err)),
              SY_EINVAL);
    CHECK_INT(sy_residency_resolve(none, SY_STR("a,,b"), SY_STR(""), NULL, 0, &r, err, sizeof(err)),
              SY_EINVAL);
    sy_arena_free(a);
}

/* ---- the directory ---- */

static void test_directory(void)
{
    char key[SY_KEY_LEN + 1];
    sy_key_generate(key);
    sy_key_hash_t h;
    sy_key_hash(sy_str_c(key), &h);
    char hex[65];
    sy_key_hash_hex(&h, hex);
    sy_gov_row_t orgs[] = {{.id = SY_STR("acme"), .spec = SY_STR("{\"budgets\":{\"month\":\"100\"}}")}};
    sy_gov_row_t teams[] = {
        {.id = SY_STR("research"), .parent = SY_STR("acme"), .spec = SY_STR("{\"rpm\":5}")},
        {.id = SY_STR("gone"), .parent = SY_STR("acme"), .spec = SY_STR("{}"), .removed = true},
    };
    sy_gov_row_t keys[] = {
        {.id = SY_STR("key_a"), .parent = SY_STR("research"), .hash_hex = sy_str_c(hex),
         .hint = SY_STR("h"), .spec = SY_STR("{\"name\":\"ci\"}")},
        {.id = SY_STR("key_b"), .parent = SY_STR("gone"),
         .hash_hex = SY_STR("00000000000000000000000000000000000000000000000000000000000000ff"),
         .hint = SY_STR("h"), .spec = SY_STR("not json")},
    };
    sy_gov_dir_t *d = sy_gov_dir_build(7, orgs, 1, teams, 2, keys, 2);
    CHECK_INT(d->nteams, 1);
    CHECK_INT(d->nkeys, 2);
    const sy_gov_key_t *k = sy_gov_dir_find_key(d, &h);
    CHECK(k && sy_str_eq_c(k->id, "key_a"));
    CHECK(k && k->team && k->team->org && sy_str_eq_c(k->team->org->id, "acme"));
    CHECK(k && k->st == NULL);              /* no limits of its own */
    CHECK(k && k->team->st != NULL);         /* rpm */
    CHECK(k && k->team->org->st != NULL);    /* budget */
    const sy_gov_key_t *kb = sy_gov_dir_key(d, SY_STR("key_b"));
    CHECK(kb && kb->team == NULL && !kb->spec.enabled); /* bad spec: disabled */
    sy_key_hash_t other;
    sy_key_hash(SY_STR("sk-sy-nope"), &other);
    CHECK(sy_gov_dir_find_key(d, &other) == NULL);
    sy_gov_dir_publish(d);
    sy_gov_dir_t *cur = sy_gov_dir_acquire();
    CHECK(cur == d && cur->generation == 7);
    sy_gov_dir_publish(NULL);
    CHECK(cur->nkeys == 2); /* still ours */
    sy_gov_dir_unref(cur);
    CHECK(sy_gov_dir_acquire() == NULL);
}

/* ---- the store (SQLite) ---- */

typedef struct {
    int rows;
    char last[128];
} rows_ctx_t;

static int rows_cb(void *ctx, int ncols, const char *const *v)
{
    rows_ctx_t *r = ctx;
    r->rows++;
    snprintf(r->last, sizeof(r->last), "%s|%s", ncols > 0 && v[0] ? v[0] : "NULL",
             ncols > 1 && v[1] ? v[1] : "NULL");
    return SY_OK;
}

static void test_store_sqlite(void)
{
    char path[] = "/tmp/sy-gov-test-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    char err[300] = "";
    sy_gdb_t *db = sy_gdb_sqlite_open(path, err, sizeof(err));
    CHECK(db != NULL);
    if (db == NULL) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    uint64_t gen = 0;
    CHECK_INT(sy_gov_bump(db, &gen, err, sizeof(err)), SY_OK);
    CHECK(gen == 1);
    CHECK_INT(sy_gov_bump(db, &gen, err, sizeof(err)), SY_OK);
    CHECK(gen == 2);
    /* $N parameters bind by number, in any order of appearance. */
    const char *p[] = {"o1", "{}", "2", "5"};
    CHECK_INT(sy_gdb_exec(db,
                          "INSERT INTO sy_orgs (id, spec, removed, gen, created_ms, updated_ms)"
                          " VALUES ($1, $2, 0, $3, $4, $4)",
                          p, 4, NULL, NULL, err, sizeof(err)),
              SY_OK);
    rows_ctx_t rc = {0, ""};
    const char *q[] = {"1"};
    CHECK_INT(sy_gdb_exec(db, "SELECT id, created_ms FROM sy_orgs WHERE gen > $1", q, 1, rows_cb,
                          &rc, err, sizeof(err)),
              SY_OK);
    CHECK_INT(rc.rows, 1);
    CHECK(strcmp(rc.last, "o1|5") == 0);
    /* Reopening keeps the data and the schema creation is idempotent. */
    sy_gdb_close(db);
    db = sy_gdb_sqlite_open(path, err, sizeof(err));
    CHECK(db != NULL);
    uint64_t v = 0;
    CHECK_INT(sy_gdb_query_u64(db, "SELECT v FROM sy_gov_meta WHERE k = 'generation'", NULL, 0, &v,
                               err, sizeof(err)),
              SY_OK);
    CHECK(v == 2);
    CHECK_INT(sy_gdb_exec(db, "SELECT nonsense FROM nowhere", NULL, 0, NULL, NULL, err,
                          sizeof(err)),
              SY_ERR);
    CHECK(strstr(err, "sqlite:") == err);
    sy_gdb_close(db);
    unlink(path);
    char wal[64];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof(wal), "%s-shm", path);
    unlink(wal);
}

/* ---- Redis keys and scripts (no server needed) ---- */

static void test_redis_names(void)
{
    sy_ctr_state_t *st = sy_ctr_state_get(SY_STR("k:key_abc"));
    sy_ctr_op_t o;
    memset(&o, 0, sizeof(o));
    o.st = st;
    o.kind = SY_CTR_RPM;
    char name[128];
    CHECK(sy_redis_key_name(&o, name, sizeof(name)) > 0);
    CHECK(strcmp(name, "sy:{k:key_abc}:rpm") == 0);
    o.kind = SY_CTR_BUDGET;
    o.window = SY_WINDOW_MONTH;
    o.at = 24313;
    sy_redis_key_name(&o, name, sizeof(name));
    CHECK(strcmp(name, "sy:{k:key_abc}:b:month:24313") == 0);
    CHECK(strstr(sy_redis_script_text(0), "redis.call('TIME')") != NULL);
    CHECK(strstr(sy_redis_script_text(1), "HINCRBY") != NULL);
}

/* ---- the router's residency filter ---- */

static void test_route_residency(void)
{
    char *err = NULL;
    static const char yaml[] =
        "providers:\n"
        "  - { name: us, kind: openai, api_key: k, jurisdiction: us }\n"
        "  - { name: eu, kind: openai, api_key: k, region: eu-west-1, jurisdiction: eu-de }\n"
        "  - { name: nowhere, kind: openai, api_key: k }\n"
        "models:\n"
        "  - name: m\n"
        "    deployments:\n"
        "      - { provider: us, model: gpt-4o-mini }\n"
        "      - { provider: eu, model: gpt-4o-mini, priority: 1 }\n"
        "      - { provider: nowhere, model: gpt-4o-mini, priority: 2 }\n";
    sy_config_t *c = sy_config_parse("t.yaml", yaml, strlen(yaml), &err);
    CHECK(c != NULL);
    if (c == NULL) {
        fprintf(stderr, "  %s\n", err ? err : "?");
        free(err);
        return;
    }
    const sy_config_model_t *g = sy_config_find_model(c, SY_STR("m"));
    uint64_t rng = 42;
    sy_route_ctx_t rc = {.cfg = &c->router, .now_ms = 1000, .rng = &rng, .explain = true};
    sy_route_need_t need;
    memset(&need, 0, sizeof(need));
    sy_route_plan_t plan;
    /* Unrestricted: all three, the US one first. */
    CHECK_INT(sy_route_plan(&rc, g, g->deployments, g->ndeployments, &need, &plan), 3);
    /* Restricted to eu: only eu-de (below eu); the unlabelled one never serves. */
    need.restricted = true;
    need.njurisdictions = 1;
    need.jurisdictions[0] = SY_STR("EU");
    need.residency_why = "data class pii (key: eu)";
    CHECK_INT(sy_route_plan(&rc, g, g->deployments, g->ndeployments, &need, &plan), 1);
    CHECK(sy_str_eq_c(plan.cand[plan.order[0]].dep->provider, "eu"));
    CHECK(plan.cand[0].drop == SY_DROP_RESIDENCY && plan.cand[2].drop == SY_DROP_RESIDENCY);
    CHECK(strcmp(sy_route_drop_name(SY_DROP_RESIDENCY), "residency") == 0);
    char why[300];
    sy_route_drop_describe(&rc, &plan.cand[0], &need, why, sizeof(why));
    CHECK(strstr(why, "jurisdiction \"us\" is not allowed") && strstr(why, "data class pii"));
    /* Nothing allowed: nothing left, a 400 naming the rule. */
    need.njurisdictions = 0;
    CHECK_INT(sy_route_plan(&rc, g, g->deployments, g->ndeployments, &need, &plan), 0);
    char msg[1024];
    uint64_t ra = 7;
    CHECK_INT(sy_route_unmet(&rc, &plan, &need, SY_STR("m"), msg, sizeof(msg), &ra), 400);
    CHECK(ra == 0 && strstr(msg, "not allowed for this request's data") != NULL);
    /* Explain shows the rule. */
    sy_buf_t out;
    sy_buf_init(&out, 0);
    sy_route_explain_json(&rc, &plan, &need, SY_STR("m"), &out);
    sy_buf_append(&out, "", 1);
    CHECK(strstr(sy_buf_ptr(&out), "\"residency\":{\"jurisdictions\":[],\"rules\":\"data class pii (key: eu)\"}") != NULL);
    sy_buf_free(&out);
    sy_config_unref(c);
}

int main(void)
{
    RUN(test_key_generate);
    RUN(test_key_hash);
    RUN(test_usd);
    RUN(test_spec);
    RUN(test_windows);
    RUN(test_rate_window);
    RUN(test_budget_window);
    RUN(test_batch);
    RUN(test_counters_threads);
    RUN(test_residency);
    RUN(test_directory);
    RUN(test_store_sqlite);
    RUN(test_redis_names);
    RUN(test_route_residency);
    return unit_done();
}
