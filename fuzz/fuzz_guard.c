/*
 * fuzz_guard.c - libFuzzer target for the guardrail detectors, redaction,
 * policies and the streaming scanner.
 *
 * Any bytes: every detector's spans lie inside the text and are non-empty;
 * redaction always yields valid UTF-8 (and the text itself when nothing is
 * redacted and the input was valid); applying a policy to a request and a
 * response leaves every text valid UTF-8 when it rewrote it; the stream
 * scanner, fed the input in pseudo-random pieces, releases only valid UTF-8,
 * never anything after an ERROR, and under a log-only policy releases the
 * input exactly.
 */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/buf.h"
#include "harness/guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static const char policies[] =
    "guardrails:\n"
    "  - name: strict\n"
    "    input:\n"
    "      pii: {action: redact}\n"
    "      secrets: {action: redact}\n"
    "      injection: {action: block, threshold: 0.8}\n"
    "      deny: {action: redact, words: [project nightingale, darn], regex: ['\\bACME-\\d{4}\\b', "
    "'(?i)code\\s*name\\s+\\w+']}\n"
    "    output:\n"
    "      pii: {action: redact}\n"
    "      secrets: {action: block}\n"
    "      deny: {action: redact, words: [darn]}\n"
    "      window: 32\n"
    "  - name: logonly\n"
    "    output:\n"
    "      pii: {action: log}\n"
    "      injection: {action: log}\n";

static sy_config_t *cfg;

static void check_findings(const sy_guard_findings_t *f, size_t n)
{
    for (size_t i = 0; i < f->n; i++)
        check(f->items[i].start < f->items[i].end && f->items[i].end <= n &&
              f->items[i].kind < SY_GUARD_KIND_COUNT && f->items[i].confidence > 0.0f &&
              f->items[i].confidence <= 1.0f);
}

typedef struct {
    bool errored, after_error, valid;
    sy_buf_t text;
} sink_t;

static int sink_cb(void *ctx, const sy_ir_delta_t *d)
{
    sink_t *s = ctx;
    if (s->errored)
        s->after_error = true;
    if (d->kind == SY_IR_DELTA_ERROR)
        s->errored = true;
    if (d->kind == SY_IR_DELTA_TEXT) {
        s->valid = s->valid && sy_guard_utf8_valid(d->text);
        sy_buf_append_str(&s->text, d->text);
    }
    return SY_OK;
}

static void stream(sy_arena_t *a, const sy_guard_policy_t *p, const char *text, size_t n,
                   unsigned seed, sink_t *s)
{
    s->errored = s->after_error = false;
    s->valid = true;
    sy_buf_init(&s->text, 0);
    sy_guard_stream_t *g = sy_guard_stream_new(a, p, sink_cb, s);
    sy_ir_delta_t d = {.kind = SY_IR_DELTA_BLOCK_START, .block = SY_IR_TEXT};
    sy_guard_stream_feed(g, &d);
    for (size_t i = 0; i < n;) {
        seed = seed * 1103515245u + 12345u;
        size_t step = 1 + (seed >> 16) % 40;
        step = SY_MIN(step, n - i);
        d = (sy_ir_delta_t){.kind = SY_IR_DELTA_TEXT, .text = sy_str(text + i, step)};
        sy_guard_stream_feed(g, &d);
        i += step;
    }
    d = (sy_ir_delta_t){.kind = SY_IR_DELTA_BLOCK_STOP};
    sy_guard_stream_feed(g, &d);
    d = (sy_ir_delta_t){.kind = SY_IR_DELTA_END};
    sy_guard_stream_feed(g, &d);
    check(s->valid && !s->after_error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (cfg == NULL) {
        char *err = NULL;
        cfg = sy_config_parse("fuzz.yaml", policies, sizeof(policies) - 1, &err);
        if (cfg == NULL)
            abort();
    }
    if (size > 1 << 16)
        return 0;
    /* An exact-size heap copy, so a read past the end is caught. */
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);
    sy_str_t t = sy_str(text, size);
    bool valid = sy_guard_utf8_valid(t);
    sy_arena_t *a = sy_arena_new(0);

    sy_guard_findings_t f;
    sy_guard_findings_init(&f, a);
    sy_guard_scan_pii(t, SY_GUARD_PII_KINDS, &f);
    sy_guard_scan_secrets(t, SY_GUARD_SECRET_ALL, &f);
    sy_guard_scan_injection(t, &f);
    const sy_guard_policy_t *strict = sy_guard_policy_find(cfg, SY_STR("strict"));
    sy_guard_scan_deny(strict->input.deny.deny, t, &f);
    check_findings(&f, size);
    float score = sy_guard_injection_score(&f);
    check(score >= 0.0f && score <= 1.0f);

    bool all[SY_GUARD_KIND_COUNT];
    for (int k = 0; k < SY_GUARD_KIND_COUNT; k++)
        all[k] = true;
    size_t nrep = 0;
    sy_str_t r = sy_guard_redact(a, t, f.items, f.n, all, &nrep);
    check(sy_guard_utf8_valid(r));
    if (nrep == 0 && valid)
        check(sy_str_eq(r, t));

    /* A request and a response carrying the input. */
    sy_ir_part_t user = {.kind = SY_IR_TEXT, .text = t};
    sy_ir_part_t call = {.kind = SY_IR_TOOL_CALL, .arguments = t};
    sy_ir_message_t msgs[] = {{.role = SY_IR_USER, .parts = &user, .nparts = 1},
                              {.role = SY_IR_ASSISTANT, .parts = &call, .nparts = 1}};
    sy_ir_request_t req = {.messages = msgs, .nmessages = 2};
    sy_guard_verdict_t v;
    check(sy_guard_apply_request(a, strict, &req, &v) == SY_OK);
    if (v.blocked)
        check(v.message != NULL && v.status == 400);
    if (user.text.p != text)
        check(sy_guard_utf8_valid(user.text));
    if (call.arguments.p != text)
        check(sy_guard_utf8_valid(call.arguments));
    sy_ir_part_t out = {.kind = SY_IR_TEXT, .text = t};
    sy_ir_response_t resp = {.parts = &out, .nparts = 1};
    check(sy_guard_apply_response(a, strict, &resp, &v) == SY_OK);
    if (out.text.p != text)
        check(sy_guard_utf8_valid(out.text));

    /* Streams. */
    unsigned seed = size ? data[0] : 0;
    sink_t s;
    stream(a, strict, text, size, seed, &s);
    sy_buf_free(&s.text);
    stream(a, sy_guard_policy_find(cfg, SY_STR("logonly")), text, size, seed, &s);
    if (valid)
        check(sy_str_eq(sy_buf_str(&s.text), t));
    sy_buf_free(&s.text);

    sy_arena_free(a);
    free(text);
    return 0;
}
