/*
 * guard_bench.c - what the guardrails cost on the request path, per KB.
 *
 * Each detector and a whole policy (pii + secrets + injection + deny, as in
 * a strict policy) over:
 *   - chat:  ordinary chat text with no findings (support questions, code
 *            questions, prose), the common case;
 *   - dense: the same with an email, phone, card, IBAN or key every ~150 bytes;
 *   - adversarial inputs built to make a careless scanner go quadratic
 *     (digit runs with separators, '@' runs, base64 runs, repeated prefixes),
 *     at 16 KiB and 1 MiB: the per-KB cost must not grow with size.
 * Also a 2 KB multi-message request through sy_guard_apply_request (with
 * redaction), and a stream scanned in 4-byte deltas with a 128-byte window.
 * For scale, one PCRE2 JIT email regex over the same text (what a
 * regex-based guardrail pays per pattern).
 *
 * Prints ns per KB and MB/s, best of several runs. --smoke: one short run.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "harness/guard.h"

static bool smoke;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *const chat_paras[] = {
    "Hi! I ordered a pair of running shoes last week and they arrived in the wrong size. "
    "Could you tell me how the exchange process works and whether I need to print a label? ",
    "I'm trying to understand why my Python script is slow. It reads a 2 GB CSV file line by "
    "line, parses each row and appends to a list, then sorts it at the end. Any tips? ",
    "Can you summarise the main arguments of the article below in three bullet points, and "
    "then suggest a title that would work for a general audience? ",
    "The meeting moved to Thursday at 3pm. Please bring the quarterly figures and the draft of "
    "the onboarding guide so we can review the open questions together. ",
    "Write a short poem about autumn in the city, with rain on the windows and the smell of "
    "roasted chestnuts at the corner of the street. ",
    "What is the difference between a mutex and a semaphore, and when would I prefer one over "
    "the other in a producer-consumer queue? ",
};
static const char *const pii_items[] = {
    "ann.lee@example.com", "+44 20 7946 0958", "4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00", "AKIAIOSFODNN7EXAMPLE", "(415) 555-0132",
};

static char *make_chat(size_t n, bool dense)
{
    char *t = malloc(n + 1);
    size_t at = 0, i = 0;
    while (at < n) {
        const char *p = chat_paras[i % SY_ARRAY_LEN(chat_paras)];
        size_t l = strlen(p);
        if (at + l > n)
            l = n - at;
        memcpy(t + at, p, l);
        at += l;
        if (dense && at + 40 < n) {
            int w = snprintf(t + at, 40, "%s ", pii_items[i % SY_ARRAY_LEN(pii_items)]);
            at += (size_t)w;
        }
        i++;
    }
    t[n] = '\0';
    return t;
}

static char *make_pattern(size_t n, const char *unit)
{
    char *t = malloc(n + 1);
    size_t l = strlen(unit);
    for (size_t i = 0; i < n; i++)
        t[i] = unit[i % l];
    t[n] = '\0';
    return t;
}

typedef enum { D_PII, D_SECRETS, D_INJECTION, D_DENY, D_POLICY, D_REGEX } det_t;

static const sy_guard_policy_t *policy;
static pcre2_code *email_re;

static void run_once(det_t d, sy_arena_t *a, sy_str_t t)
{
    sy_guard_findings_t f;
    sy_guard_findings_init(&f, a);
    switch (d) {
    case D_PII:
        sy_guard_scan_pii(t, SY_GUARD_PII_KINDS, &f);
        break;
    case D_SECRETS:
        sy_guard_scan_secrets(t, SY_GUARD_SECRET_ALL, &f);
        break;
    case D_INJECTION:
        sy_guard_scan_injection(t, &f);
        break;
    case D_DENY:
        sy_guard_scan_deny(policy->input.deny.deny, t, &f);
        break;
    case D_POLICY:
        sy_guard_scan_side(&policy->input, t, true, &f);
        break;
    case D_REGEX: {
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(email_re, NULL);
        size_t off = 0;
        while (off < t.len && pcre2_match(email_re, (PCRE2_SPTR)t.p, t.len, off, 0, md, NULL) > 0)
            off = pcre2_get_ovector_pointer(md)[1] + 1;
        pcre2_match_data_free(md);
        break;
    }
    }
    sy_arena_reset(a);
}

/* Best ns per KB over `runs` runs of about `secs` seconds each. */
static double measure(det_t d, sy_str_t t)
{
    sy_arena_t *a = sy_arena_new(1 << 16);
    int runs = smoke ? 1 : 5;
    double secs = smoke ? 0.01 : 0.15, best = 1e30;
    for (int r = 0; r < runs; r++) {
        long iters = 0;
        double t0 = now(), el;
        do {
            run_once(d, a, t);
            iters++;
            el = now() - t0;
        } while (el < secs);
        double ns_kb = el * 1e9 / (double)iters / ((double)t.len / 1024.0);
        if (ns_kb < best)
            best = ns_kb;
    }
    sy_arena_free(a);
    return best;
}

static const char *const det_names[] = {"pii", "secrets", "injection", "deny", "policy",
                                        "pcre2-email"};

static void row(const char *name, sy_str_t t)
{
    printf("%-22s %8zu", name, t.len);
    for (int d = 0; d <= D_REGEX; d++)
        printf(" %9.0f", measure((det_t)d, t));
    printf("\n");
    fflush(stdout);
}

typedef struct {
    size_t bytes, deltas;
} count_t;

static int count_cb(void *ctx, const sy_ir_delta_t *d)
{
    count_t *c = ctx;
    c->bytes += d->text.len;
    c->deltas++;
    return SY_OK;
}

static void bench_stream(sy_str_t t)
{
    int runs = smoke ? 1 : 5;
    double best = 1e30;
    for (int r = 0; r < runs; r++) {
        sy_arena_t *a = sy_arena_new(1 << 16);
        count_t c = {0};
        double t0 = now();
        sy_guard_stream_t *g = sy_guard_stream_new(a, policy, count_cb, &c);
        sy_ir_delta_t d = {.kind = SY_IR_DELTA_BLOCK_START};
        sy_guard_stream_feed(g, &d);
        for (size_t i = 0; i < t.len; i += 4) {
            d = (sy_ir_delta_t){.kind = SY_IR_DELTA_TEXT,
                                .text = sy_str(t.p + i, SY_MIN((size_t)4, t.len - i))};
            sy_guard_stream_feed(g, &d);
        }
        d = (sy_ir_delta_t){.kind = SY_IR_DELTA_BLOCK_STOP};
        sy_guard_stream_feed(g, &d);
        double el = now() - t0;
        sy_arena_free(a);
        double ns_kb = el * 1e9 / ((double)t.len / 1024.0);
        if (ns_kb < best)
            best = ns_kb;
    }
    printf("stream, 4-byte deltas, output policy (window %llu): %.0f ns/KB of streamed text\n",
           (unsigned long long)policy->output.window, best);
}

static void bench_request(void)
{
    char *texts[6];
    sy_ir_part_t parts[6];
    sy_ir_message_t msgs[6];
    size_t total = 0;
    for (int i = 0; i < 6; i++) {
        texts[i] = make_chat(350, i == 3);
        total += strlen(texts[i]);
    }
    int runs = smoke ? 1 : 5;
    double best = 1e30;
    sy_arena_t *a = sy_arena_new(1 << 16);
    for (int r = 0; r < runs; r++) {
        long iters = 0;
        double t0 = now(), el;
        do {
            for (int i = 0; i < 6; i++) {
                parts[i] = (sy_ir_part_t){.kind = SY_IR_TEXT, .text = sy_str_c(texts[i])};
                msgs[i] = (sy_ir_message_t){.role = i % 2 ? SY_IR_ASSISTANT : SY_IR_USER,
                                            .parts = &parts[i], .nparts = 1};
            }
            sy_ir_request_t req = {.messages = msgs, .nmessages = 6};
            sy_guard_verdict_t v;
            sy_guard_apply_request(a, policy, &req, &v);
            sy_arena_reset(a);
            iters++;
            el = now() - t0;
        } while (el < (smoke ? 0.01 : 0.15));
        double us = el * 1e6 / (double)iters;
        if (us < best)
            best = us;
    }
    printf("apply_request: 6 messages, %zu bytes of text (one message with PII, redacted): "
           "%.2f us per request (%.0f ns/KB)\n",
           total, best, best * 1000.0 / ((double)total / 1024.0));
    sy_arena_free(a);
    for (int i = 0; i < 6; i++)
        free(texts[i]);
}

static const char config_yaml[] =
    "guardrails:\n"
    "  - name: strict\n"
    "    input:\n"
    "      pii: {action: redact}\n"
    "      secrets: {action: block}\n"
    "      injection: {action: block}\n"
    "      deny:\n"
    "        action: block\n"
    "        regex: ['\\bACME-\\d{4}\\b', '(?i)codename\\s+\\w+']\n"
    "        words: [WORDS]\n"
    "    output:\n"
    "      pii: {action: redact}\n"
    "      secrets: {action: block}\n";

int main(int argc, char **argv)
{
    smoke = argc > 1 && strcmp(argv[1], "--smoke") == 0;
    /* A deny list of 100 words and phrases. */
    char words[4096] = "";
    for (int i = 0; i < 100; i++)
        snprintf(words + strlen(words), sizeof(words) - strlen(words), "%sproject%03d phrase",
                 i ? ", " : "", i);
    char yaml[8192];
    const char *w = strstr(config_yaml, "WORDS");
    snprintf(yaml, sizeof(yaml), "%.*s%s%s", (int)(w - config_yaml), config_yaml, words, w + 5);
    char *err = NULL;
    sy_config_t *cfg = sy_config_parse("bench.yaml", yaml, strlen(yaml), &err);
    if (cfg == NULL) {
        fprintf(stderr, "config: %s\n", err);
        return 1;
    }
    policy = sy_guard_policy_find(cfg, SY_STR("strict"));
    int ec;
    PCRE2_SIZE eo;
    email_re = pcre2_compile((PCRE2_SPTR) "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}",
                             PCRE2_ZERO_TERMINATED, 0, &ec, &eo, NULL);
    pcre2_jit_compile(email_re, PCRE2_JIT_COMPLETE);

    printf("ns per KB (lower is better); best of %d runs\n", smoke ? 1 : 5);
    printf("%-22s %8s", "input", "bytes");
    for (int d = 0; d <= D_REGEX; d++)
        printf(" %9s", det_names[d]);
    printf("\n");
    size_t sizes[] = {1024, 16384};
    for (size_t i = 0; i < SY_ARRAY_LEN(sizes); i++) {
        char *t = make_chat(sizes[i], false);
        char name[32];
        snprintf(name, sizeof(name), "chat %zuK", sizes[i] / 1024);
        row(name, sy_str_c(t));
        free(t);
        t = make_chat(sizes[i], true);
        snprintf(name, sizeof(name), "dense %zuK", sizes[i] / 1024);
        row(name, sy_str_c(t));
        free(t);
    }
    static const struct {
        const char *name, *unit;
    } adv[] = {
        {"digits+spaces", "1 2 3 4 5 6 7 8 9 0 "},
        {"at-signs", "a@b@c.d@"},
        {"base64 run", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo"},
        {"key prefixes", "sk-ghp_xoxb-AKIA-eyJ."},
        {"pem begins", "-----BEGIN RSA PRIVATE KEY-----\n"},
        {"words", "ignore all previous "},
    };
    size_t adv_sizes[] = {16384, (size_t)1 << 20};
    for (size_t i = 0; i < SY_ARRAY_LEN(adv); i++) {
        for (size_t k = 0; k < SY_ARRAY_LEN(adv_sizes); k++) {
            if (smoke && k)
                continue;
            char *t = make_pattern(adv_sizes[k], adv[i].unit);
            char name[48];
            snprintf(name, sizeof(name), "%s %zuK", adv[i].name, adv_sizes[k] / 1024);
            row(name, sy_str_c(t));
            free(t);
        }
    }
    char *t = make_chat(65536, false);
    bench_stream(sy_str_c(t));
    free(t);
    bench_request();
    pcre2_code_free(email_re);
    sy_config_unref(cfg);
    return 0;
}
