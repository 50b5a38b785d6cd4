/*
 * guard_stream.c - output guardrails on a stream of IR deltas.
 *
 * Per content block the scanner keeps one buffer: up to CTX_KEEP bytes
 * already released (left context only, so "call me at" or an email's local
 * part still count) followed by the pending bytes not yet released. When
 * the pending part exceeds the window by a step (a quarter window, at least
 * 16 bytes), or the block ends, the buffer is scanned and a release point R
 * is chosen: the end of the text minus the window (the whole text at the
 * end of a block), moved back to the start of any finding that crosses it
 * and to a UTF-8 character boundary. Findings that end at or before R are
 * acted on (block: end the stream with an error; redact: placeholders in
 * the released text); the bytes up to R go out as one delta; the rest waits
 * for more text. A finding longer than the window is therefore seen whole
 * before any of it is released as long as it is not longer than the hold
 * cap (SY_GUARD_HOLD_FACTOR windows); past the cap the scanner releases
 * anyway, and a redaction still open at that point becomes a block.
 *
 * Latency: in a stream at T tokens/s of about 4 bytes each, the client sees
 * text about (window x 1.25) / (4 T) seconds late: 128 bytes at 50 tokens/s
 * is ~0.8 s; the end of each block flushes at once. A policy whose output
 * side only logs holds nothing back.
 */
#include <string.h>

#include "harness/guard_int.h"

#define CTX_KEEP 80

struct sy_guard_stream {
    const sy_guard_policy_t *policy;
    const sy_guard_side_t *side;
    sy_ir_delta_cb next;
    void *next_ctx;
    sy_arena_t *a;       /* the request's: the verdict's message */
    sy_arena_t *scratch; /* per scan: findings, rewritten text */
    sy_buf_t buf;        /* [0, ctx) released context, [ctx, len) pending */
    size_t ctx;
    size_t window, step, hold_cap;
    bool hold;    /* some action needs text held back (block or redact) */
    bool blocked; /* the client's stream has ended with an error */
    int next_rc;  /* the encoder's last non-OK result, passed back */
    /* the open content block */
    bool in_block;
    uint32_t index;
    sy_ir_delta_kind_t dkind;
    bool json_in, json_esc; /* tool arguments: string state at ctx */
    sy_guard_findings_t fam; /* injection signals over the whole stream */
    sy_guard_verdict_t verdict;
};

static void stream_free(void *p)
{
    sy_guard_stream_t *s = p;
    sy_buf_free(&s->buf);
    sy_arena_free(s->scratch);
}

static bool side_holds(const sy_guard_side_t *side)
{
    for (int k = 0; k < SY_GUARD_KIND_COUNT; k++) {
        sy_guard_action_t a = sy_guard_side_action(side, (sy_guard_kind_t)k);
        if (a == SY_GUARD_BLOCK || a == SY_GUARD_REDACT)
            return true;
    }
    return false;
}

sy_guard_stream_t *sy_guard_stream_new(sy_arena_t *a, const sy_guard_policy_t *policy,
                                       sy_ir_delta_cb next, void *next_ctx)
{
    sy_guard_stream_t *s = sy_arena_calloc(a, sizeof(*s));
    s->policy = policy;
    s->side = policy ? &policy->output : NULL;
    s->next = next;
    s->next_ctx = next_ctx;
    s->a = a;
    s->scratch = sy_arena_new(8192);
    s->window = policy && policy->output.window ? policy->output.window : SY_GUARD_DEFAULT_WINDOW;
    s->step = SY_MAX(s->window / 4, (size_t)16);
    s->hold_cap = s->window * SY_GUARD_HOLD_FACTOR;
    s->hold = policy && side_holds(s->side);
    sy_buf_init(&s->buf, CTX_KEEP + s->hold_cap + s->window);
    sy_guard_findings_init(&s->fam, NULL);
    s->verdict.policy = policy ? policy->name.p : NULL;
    sy_arena_cleanup(a, stream_free, s);
    return s;
}

const sy_guard_verdict_t *sy_guard_stream_verdict(const sy_guard_stream_t *s)
{
    return &s->verdict;
}

static int forward(sy_guard_stream_t *s, const sy_ir_delta_t *d)
{
    int rc = s->next(s->next_ctx, d);
    if (rc != SY_OK)
        s->next_rc = rc;
    return rc;
}

static bool side_active(const sy_guard_side_t *side)
{
    return side && (side->pii.kinds || (side->secrets.action && side->secrets.kinds) ||
                    side->injection.action || (side->deny.action && side->deny.deny));
}

/* Walk tool-argument JSON from the released boundary, answering whether
 * [st, en) lies inside one string without quotes or backslashes. */
static bool json_safe(const sy_guard_stream_t *s, size_t st, size_t en)
{
    if (st < s->ctx)
        return false;
    const char *p = sy_buf_ptr(&s->buf);
    bool in = s->json_in, esc = s->json_esc;
    for (size_t i = s->ctx; i < en; i++) {
        char c = p[i];
        if (esc) {
            esc = false;
            if (i >= st)
                return false;
            continue;
        }
        if (in && c == '\\') {
            if (i >= st)
                return false;
            esc = true;
            continue;
        }
        if (c == '"') {
            if (i >= st)
                return false;
            in = !in;
            continue;
        }
        if (i == st && !in)
            return false;
    }
    return in;
}

static void json_advance(sy_guard_stream_t *s, size_t to)
{
    const char *p = sy_buf_ptr(&s->buf);
    for (size_t i = s->ctx; i < to; i++) {
        if (s->json_esc) {
            s->json_esc = false;
            continue;
        }
        if (s->json_in && p[i] == '\\')
            s->json_esc = true;
        else if (p[i] == '"')
            s->json_in = !s->json_in;
    }
}

static int block(sy_guard_stream_t *s, uint32_t kinds)
{
    sy_guard_verdict_t *v = &s->verdict;
    v->blocked = true;
    v->action = SY_GUARD_BLOCK;
    v->block_kinds |= kinds;
    v->status = 400;
    v->error_class = SY_IR_ERR_CONTENT_FILTER;
    sy_buf_t b;
    sy_buf_init(&b, 4096);
    sy_buf_printf(&b, "response blocked by guardrail policy \"%s\": the response contains ",
                  s->policy->name.p);
    unsigned total = 0, done = 0;
    for (int k = 0; k < SY_GUARD_KIND_COUNT; k++)
        total += (v->block_kinds >> k) & 1u;
    for (int k = 0; k < SY_GUARD_KIND_COUNT; k++) {
        if (!(v->block_kinds & SY_GUARD_KIND_BIT(k)))
            continue;
        if (done)
            sy_buf_append_c(&b, done + 1 == total ? " and " : ", ");
        sy_buf_append_c(&b, sy_guard_kind_describe((sy_guard_kind_t)k));
        done++;
    }
    if (total == 0)
        sy_buf_append_c(&b, "too many findings to inspect");
    v->message = sy_arena_memdup(s->a, sy_buf_ptr(&b), b.len);
    sy_buf_free(&b);
    s->blocked = true;
    sy_ir_delta_t d = {.kind = SY_IR_DELTA_ERROR,
                       .error = {.cls = SY_IR_ERR_CONTENT_FILTER,
                                 .status = 400,
                                 .message = sy_str_c(v->message),
                                 .type = SY_STR("content_filter")}};
    int rc = forward(s, &d);
    return rc == SY_OK ? SY_OK : rc;
}

/* Scan the buffer and release what is safe; `final` at the end of a block. */
static int process(sy_guard_stream_t *s, bool final)
{
    size_t E = s->buf.len, c0 = s->ctx;
    if (E == c0)
        return SY_OK;
    const unsigned char *p = (const unsigned char *)sy_buf_ptr(&s->buf);
    sy_str_t text = sy_str((const char *)p, E);
    sy_arena_reset(s->scratch);
    sy_guard_findings_t f;
    sy_guard_findings_init(&f, s->scratch);
    bool inject = s->dkind != SY_IR_DELTA_TOOL_ARGS;
    sy_guard_scan_side(s->side, text, inject, &f);

    /* The release point. */
    size_t R = E;
    bool forced = false;
    if (s->hold && !final) {
        R = E - c0 > s->window ? E - s->window : c0;
        if (E - c0 > s->hold_cap) {
            forced = true;
        } else {
            for (bool moved = true; moved;) {
                moved = false;
                for (size_t i = 0; i < f.n; i++) {
                    if (f.items[i].start < R && f.items[i].end > R) {
                        R = SY_MAX(f.items[i].start, c0);
                        moved = R > c0;
                    }
                }
            }
        }
    }
    while (R > c0 && R < E && (p[R] & 0xC0) == 0x80)
        R--;
    if (!final && R > c0) {
        /* Nor at the end of a character still arriving ("\xc3" | "\xa9"). */
        size_t k = R;
        while (k > c0 && R - k < 3 && (p[k - 1] & 0xC0) == 0x80)
            k--;
        if (k > c0 && p[k - 1] >= 0xC2) {
            size_t want = p[k - 1] >= 0xF0 ? 4 : p[k - 1] >= 0xE0 ? 3 : 2;
            if (R - (k - 1) < want)
                R = k - 1;
        }
    }

    /* Act on findings that end in the part being released (and, when
     * forced, on those crossing R). */
    sy_guard_verdict_t *v = &s->verdict;
    const sy_guard_side_t *side = s->side;
    bool mask[SY_GUARD_KIND_COUNT] = {0};
    uint32_t block_kinds = 0;
    bool any_redact = false;
    for (size_t i = 0; i < f.n; i++) {
        const sy_guard_finding_t *x = &f.items[i];
        bool crossing = x->start < R && x->end > R;
        if (x->end <= c0 || (x->end > R && !(forced && crossing)))
            continue;
        v->counts[x->kind]++;
        sy_guard_action_t act = sy_guard_side_action(side, x->kind);
        if (x->kind == SY_GUARD_INJECTION) {
            unsigned sig = SY_GUARD_INJ_SIGNAL(x->rule);
            if (sig < SY_GUARD_INJ_SIGNALS && x->confidence > s->fam.signal[sig])
                s->fam.signal[sig] = x->confidence;
            v->injection_score = sy_guard_injection_score(&s->fam);
            if ((double)v->injection_score < side->injection.threshold)
                act = SY_GUARD_LOG;
        }
        if (act == SY_GUARD_REDACT) {
            if (s->dkind == SY_IR_DELTA_THINKING)
                act = SY_GUARD_LOG;
            else if (crossing && forced)
                act = SY_GUARD_BLOCK;
            else if (s->dkind == SY_IR_DELTA_TOOL_ARGS && !json_safe(s, x->start, x->end))
                act = SY_GUARD_BLOCK;
        }
        if (act > v->action)
            v->action = act;
        if (act == SY_GUARD_BLOCK)
            block_kinds |= SY_GUARD_KIND_BIT(x->kind);
        else if (act == SY_GUARD_REDACT) {
            mask[x->kind] = true;
            any_redact = true;
        }
    }
    if (f.truncated)
        return block(s, 0);
    if (block_kinds)
        return block(s, block_kinds);

    /* Release [c0, R). */
    if (R > c0) {
        sy_str_t out;
        size_t nrep = 0;
        if (any_redact) {
            /* Clip the redacted findings to the released part. */
            sy_guard_finding_t *clip = sy_arena_alloc(s->scratch, f.n * sizeof(*clip));
            size_t m = 0;
            for (size_t i = 0; i < f.n; i++) {
                if (!mask[f.items[i].kind] || f.items[i].end <= c0 || f.items[i].start >= R)
                    continue;
                clip[m] = f.items[i];
                clip[m].start = SY_MAX(clip[m].start, c0) - c0;
                clip[m].end = SY_MIN(clip[m].end, R) - c0;
                m++;
            }
            out = sy_guard_redact(s->scratch, sy_str((const char *)p + c0, R - c0), clip, m, mask,
                                  &nrep);
            v->redactions += (uint32_t)nrep;
            v->modified = v->modified || nrep > 0;
        } else {
            out = sy_guard_redact(s->scratch, sy_str((const char *)p + c0, R - c0), NULL, 0, mask,
                                  NULL);
        }
        if (s->dkind == SY_IR_DELTA_TOOL_ARGS)
            json_advance(s, R);
        sy_ir_delta_t d = {.kind = s->dkind, .index = s->index, .text = out};
        int rc = forward(s, &d);
        if (rc != SY_OK)
            return rc;
    }
    /* Keep CTX_KEEP released bytes of context. */
    size_t keep_from = R > CTX_KEEP ? R - CTX_KEEP : 0;
    sy_buf_consume(&s->buf, keep_from);
    s->ctx = R - keep_from;
    return SY_OK;
}

static bool content_delta(sy_ir_delta_kind_t k)
{
    return k == SY_IR_DELTA_TEXT || k == SY_IR_DELTA_THINKING || k == SY_IR_DELTA_TOOL_ARGS;
}

static int flush_block(sy_guard_stream_t *s)
{
    int rc = SY_OK;
    if (s->in_block)
        rc = process(s, true);
    sy_buf_clear(&s->buf);
    s->ctx = 0;
    s->in_block = false;
    s->json_in = s->json_esc = false;
    return rc;
}

int sy_guard_stream_feed(void *stream, const sy_ir_delta_t *d)
{
    sy_guard_stream_t *s = stream;
    if (s->next_rc != SY_OK)
        return s->next_rc;
    if (s->blocked)
        return SY_OK; /* keep the decoder reading so usage is still accounted */
    if (!side_active(s->side))
        return forward(s, d);
    if (content_delta(d->kind)) {
        if (!s->in_block || s->dkind != d->kind || s->index != d->index) {
            int rc = flush_block(s);
            if (rc != SY_OK || s->blocked)
                return rc;
            s->in_block = true;
            s->dkind = d->kind;
            s->index = d->index;
        }
        size_t off = 0;
        while (off < d->text.len) {
            size_t room = s->buf.max - s->buf.len;
            size_t chunk = SY_MIN(room, d->text.len - off);
            if (chunk == 0)
                sy_panic("guard: stream buffer has no room");
            sy_buf_append(&s->buf, d->text.p + off, chunk);
            off += chunk;
            size_t pending = s->buf.len - s->ctx;
            if (!s->hold || pending >= s->window + s->step || s->buf.len == s->buf.max) {
                int rc = process(s, false);
                if (rc != SY_OK || s->blocked)
                    return rc;
            }
        }
        return SY_OK;
    }
    if (d->kind != SY_IR_DELTA_START && d->kind != SY_IR_DELTA_USAGE &&
        d->kind != SY_IR_DELTA_BLOCK_START) {
        /* BLOCK_STOP, FINISH, END, ERROR, SIGNATURE: release what is held first. */
        int rc = flush_block(s);
        if (rc != SY_OK || s->blocked)
            return rc;
    }
    return forward(s, d);
}
