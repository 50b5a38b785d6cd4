/*
 * guard.c - applying a guardrail policy: which texts of a request or
 * response are scanned, what each finding's action is, the verdict, and
 * rewriting redacted text in place.
 *
 * Applying is two phases so the injection score can combine every text of
 * the request (an attack split over two messages still adds up): first scan
 * every location into one findings list, remembering each location's range;
 * then decide each finding's action, and only if nothing blocks, rewrite
 * the locations that have redactions.
 */
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "harness/guard_int.h"

/* Texts up to this size are tokenized once for injection and the deny list
 * (the word array costs 32 bytes a word in the arena). */
#define SHARED_WORDS_MAX (256u << 10)

/* ---- policies ---- */

const sy_guard_policy_t *sy_guard_policy_find(const sy_config_t *cfg, sy_str_t name)
{
    if (cfg == NULL)
        return NULL;
    for (size_t i = 0; i < cfg->guardrails.n; i++)
        if (sy_str_eq(cfg->guardrails.items[i].name, name))
            return &cfg->guardrails.items[i];
    return NULL;
}

static bool on(const sy_guard_detector_t *d)
{
    return d->action != SY_GUARD_OFF;
}

sy_guard_action_t sy_guard_side_action(const sy_guard_side_t *s, sy_guard_kind_t k)
{
    if ((unsigned)k < SY_GUARD_SECRET) {
        if (!(s->pii.kinds & SY_GUARD_KIND_BIT(k)))
            return SY_GUARD_OFF;
        return (sy_guard_action_t)(s->pii.kind_action[k] ? s->pii.kind_action[k] : s->pii.action);
    }
    switch (k) {
    case SY_GUARD_SECRET:
        return s->secrets.kinds ? (sy_guard_action_t)s->secrets.action : SY_GUARD_OFF;
    case SY_GUARD_INJECTION:
        return (sy_guard_action_t)s->injection.action;
    case SY_GUARD_DENY:
        return s->deny.deny ? (sy_guard_action_t)s->deny.action : SY_GUARD_OFF;
    default:
        return SY_GUARD_OFF;
    }
}

static bool side_active(const sy_guard_side_t *s)
{
    return s->pii.kinds || (on(&s->secrets) && s->secrets.kinds) || on(&s->injection) ||
           (on(&s->deny) && s->deny.deny);
}

void sy_guard_scan_side(const sy_guard_side_t *side, sy_str_t text, bool injection,
                        sy_guard_findings_t *out)
{
    if (text.len == 0)
        return;
    if (side->pii.kinds)
        sy_guard_scan_pii(text, side->pii.kinds, out);
    if (on(&side->secrets) && side->secrets.kinds)
        sy_guard_scan_secrets(text, side->secrets.kinds, out);
    bool inj = injection && on(&side->injection);
    const sy_guard_deny_t *deny = on(&side->deny) ? side->deny.deny : NULL;
    const unsigned char *s = (const unsigned char *)text.p;
    if (inj && deny && out->arena && text.len <= SHARED_WORDS_MAX) {
        /* Both match phrases: tokenize once. */
        sy_guard_word_t *words;
        size_t nw = sy_guard_tokenize(out->arena, s, text.len, &words);
        sy_guard_wsrc_t a = {.arr = words, .narr = nw}, b = a;
        sy_guard_inject_scan_words(s, text.len, &a, out);
        sy_guard_deny_scan_words(deny, &b, out);
        sy_guard_deny_scan_regex(deny, text, out);
        return;
    }
    if (inj)
        sy_guard_scan_injection(text, out);
    if (deny)
        sy_guard_scan_deny(deny, text, out);
}

/* ---- locations ---- */

typedef enum { LOC_SYSTEM, LOC_MESSAGE, LOC_TOOL_RESULT, LOC_TOOL_ARGS, LOC_RESPONSE,
               LOC_THINKING } loc_kind_t;

typedef struct {
    sy_str_t *text;
    loc_kind_t kind;
    size_t msg; /* 1-based message number, for messages */
    bool inject; /* run the injection heuristics */
    size_t first, n; /* its findings in the shared list */
} loc_t;

typedef struct {
    sy_arena_t *a;
    const sy_guard_side_t *side;
    loc_t *locs;
    size_t nlocs, cap;
    sy_guard_findings_t f;
} run_t;

static void add_loc(run_t *r, sy_str_t *text, loc_kind_t kind, size_t msg, bool inject)
{
    if (text->len == 0)
        return;
    if (r->nlocs == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 16;
        r->locs = sy_arena_realloc(r->a, r->locs, r->cap * sizeof(*r->locs), ncap * sizeof(*r->locs));
        r->cap = ncap;
    }
    r->locs[r->nlocs++] = (loc_t){.text = text, .kind = kind, .msg = msg, .inject = inject};
}

static void scan_all(run_t *r)
{
    for (size_t i = 0; i < r->nlocs; i++) {
        loc_t *l = &r->locs[i];
        l->first = r->f.n;
        sy_guard_scan_side(r->side, *l->text, l->inject, &r->f);
        l->n = r->f.n - l->first;
    }
}

static const char *loc_name(sy_arena_t *a, const loc_t *l, bool input)
{
    switch (l->kind) {
    case LOC_SYSTEM:
        return "the system prompt";
    case LOC_MESSAGE:
        return sy_arena_sprintf(a, "message %zu", l->msg);
    case LOC_TOOL_RESULT:
        return sy_arena_sprintf(a, "a tool result in message %zu", l->msg);
    case LOC_TOOL_ARGS:
        return input ? sy_arena_sprintf(a, "tool call arguments in message %zu", l->msg)
                     : "tool call arguments in the response";
    case LOC_THINKING:
        return "the response's reasoning";
    case LOC_RESPONSE:
        return "the response";
    }
    return "the text";
}

/* Whether every byte of [st, en) of a JSON text lies inside one string and
 * is neither a quote nor a backslash (so a placeholder can replace it). */
static bool json_span_safe(sy_str_t js, size_t st, size_t en)
{
    bool in = false;
    size_t open_at = 0;
    for (size_t i = 0; i < js.len && i < en; i++) {
        char c = js.p[i];
        if (in && c == '\\') {
            size_t esc = (i + 1 < js.len && js.p[i + 1] == 'u') ? 5 : 1;
            if (i + esc >= st)
                return false; /* the span starts inside an escape */
            i += esc;
            continue;
        }
        if (c == '"') {
            if (i >= st)
                return false;
            in = !in;
            open_at = i;
        }
    }
    return in && open_at < st;
}

/* ---- deciding ---- */

static void set_restriction(sy_guard_verdict_t *v, const sy_guard_detector_t *d)
{
    if (v->restricted)
        return;
    v->restricted = true;
    v->restriction = d->restrict_to;
}

static const sy_guard_detector_t *detector_of(const sy_guard_side_t *s, sy_guard_kind_t k)
{
    if ((unsigned)k < SY_GUARD_SECRET)
        return &s->pii;
    if (k == SY_GUARD_SECRET)
        return &s->secrets;
    if (k == SY_GUARD_INJECTION)
        return &s->injection;
    return &s->deny;
}

static void append_kinds(sy_buf_t *b, uint32_t kinds)
{
    unsigned total = 0, done = 0;
    for (int k = 0; k < SY_GUARD_KIND_COUNT; k++)
        total += (kinds >> k) & 1u;
    for (int k = 0; k < SY_GUARD_KIND_COUNT; k++) {
        if (!(kinds & SY_GUARD_KIND_BIT(k)))
            continue;
        if (done)
            sy_buf_append_c(b, done + 1 == total ? " and " : ", ");
        sy_buf_append_c(b, sy_guard_kind_describe((sy_guard_kind_t)k));
        done++;
    }
}

static int decide(run_t *r, const char *policy, bool input, sy_guard_verdict_t *v)
{
    const sy_guard_side_t *s = r->side;
    float score = on(&s->injection) ? sy_guard_injection_score(&r->f) : 0.0f;
    bool inj_hit = on(&s->injection) && (double)score >= s->injection.threshold;
    v->injection_score = score;
    const loc_t *block_loc = NULL;
    bool *redact_any = sy_arena_calloc(r->a, SY_MAX(r->nlocs, (size_t)1));
    for (size_t li = 0; li < r->nlocs; li++) {
        const loc_t *l = &r->locs[li];
        for (size_t fi = l->first; fi < l->first + l->n; fi++) {
            const sy_guard_finding_t *f = &r->f.items[fi];
            v->counts[f->kind]++;
            sy_guard_action_t act = sy_guard_side_action(s, f->kind);
            if (f->kind == SY_GUARD_INJECTION && !inj_hit)
                act = SY_GUARD_LOG;
            if (act == SY_GUARD_REDACT) {
                if (l->kind == LOC_THINKING)
                    act = SY_GUARD_LOG; /* signed by the provider: never rewritten */
                else if (l->kind == LOC_TOOL_ARGS && !json_span_safe(*l->text, f->start, f->end))
                    act = SY_GUARD_BLOCK;
            }
            if (act > v->action)
                v->action = act;
            switch (act) {
            case SY_GUARD_BLOCK:
                v->blocked = true;
                v->block_kinds |= SY_GUARD_KIND_BIT(f->kind);
                if (block_loc == NULL)
                    block_loc = l;
                break;
            case SY_GUARD_REDACT:
                redact_any[li] = true;
                break;
            case SY_GUARD_RESTRICT:
                set_restriction(v, detector_of(s, f->kind));
                break;
            default:
                break;
            }
        }
    }
    if (r->f.truncated) {
        v->truncated = true;
        v->blocked = true;
        v->action = SY_GUARD_BLOCK;
    }
    if (v->blocked) {
        v->status = 400;
        v->error_class = SY_IR_ERR_CONTENT_FILTER;
        sy_buf_t b;
        sy_buf_init(&b, 4096);
        sy_buf_printf(&b, "%s blocked by guardrail policy \"%s\": ", input ? "request" : "response",
                      policy);
        if (block_loc) {
            sy_buf_printf(&b, "%s contains ", loc_name(r->a, block_loc, input));
            append_kinds(&b, v->block_kinds);
            if (v->block_kinds & SY_GUARD_KIND_BIT(SY_GUARD_INJECTION))
                sy_buf_printf(&b, " (score %.2f, threshold %.2f)", (double)score,
                              s->injection.threshold);
        } else {
            sy_buf_append_c(&b, "too many findings to inspect");
        }
        v->message = sy_arena_memdup(r->a, sy_buf_ptr(&b), b.len);
        sy_buf_free(&b);
        return SY_OK;
    }
    for (size_t li = 0; li < r->nlocs; li++) {
        if (!redact_any[li])
            continue;
        loc_t *l = &r->locs[li];
        bool mask[SY_GUARD_KIND_COUNT] = {0};
        for (int k = 0; k < SY_GUARD_KIND_COUNT; k++)
            mask[k] = sy_guard_side_action(s, (sy_guard_kind_t)k) == SY_GUARD_REDACT &&
                      (k != SY_GUARD_INJECTION || inj_hit);
        size_t nrep = 0;
        *l->text = sy_guard_redact(r->a, *l->text, r->f.items + l->first, l->n, mask, &nrep);
        v->redactions += (uint32_t)nrep;
        v->modified = true;
    }
    return SY_OK;
}

static void verdict_init(sy_guard_verdict_t *v, const sy_guard_policy_t *p)
{
    memset(v, 0, sizeof(*v));
    v->policy = p ? p->name.p : NULL;
}

/* ---- requests ---- */

int sy_guard_apply_request(sy_arena_t *a, const sy_guard_policy_t *policy, sy_ir_request_t *req,
                           sy_guard_verdict_t *out)
{
    verdict_init(out, policy);
    if (policy == NULL || !side_active(&policy->input))
        return SY_OK;
    run_t r = {.a = a, .side = &policy->input};
    sy_guard_findings_init(&r.f, a);
    for (size_t i = 0; i < req->nsystem; i++)
        if (req->system[i].kind == SY_IR_TEXT)
            add_loc(&r, &req->system[i].text, LOC_SYSTEM, 0, false);
    for (size_t m = 0; m < req->nmessages; m++) {
        sy_ir_message_t *msg = &req->messages[m];
        bool untrusted = msg->role == SY_IR_USER || msg->role == SY_IR_TOOL;
        for (size_t p = 0; p < msg->nparts; p++) {
            sy_ir_part_t *part = &msg->parts[p];
            switch (part->kind) {
            case SY_IR_TEXT:
                add_loc(&r, &part->text, msg->role == SY_IR_SYSTEM ? LOC_SYSTEM : LOC_MESSAGE,
                        m + 1, untrusted);
                break;
            case SY_IR_TOOL_CALL:
                add_loc(&r, &part->arguments, LOC_TOOL_ARGS, m + 1, false);
                break;
            case SY_IR_TOOL_RESULT:
                for (size_t c = 0; c < part->ncontent; c++)
                    if (part->content[c].kind == SY_IR_TEXT)
                        add_loc(&r, &part->content[c].text, LOC_TOOL_RESULT, m + 1, true);
                break;
            default:
                break; /* images; thinking the model produced earlier is signed */
            }
        }
    }
    scan_all(&r);
    return decide(&r, policy->name.p, true, out);
}

/* ---- responses ---- */

int sy_guard_apply_response(sy_arena_t *a, const sy_guard_policy_t *policy, sy_ir_response_t *resp,
                            sy_guard_verdict_t *out)
{
    verdict_init(out, policy);
    if (policy == NULL || !side_active(&policy->output))
        return SY_OK;
    run_t r = {.a = a, .side = &policy->output};
    sy_guard_findings_init(&r.f, a);
    for (size_t p = 0; p < resp->nparts; p++) {
        sy_ir_part_t *part = &resp->parts[p];
        if (part->kind == SY_IR_TEXT)
            add_loc(&r, &part->text, LOC_RESPONSE, 0, true);
        else if (part->kind == SY_IR_THINKING)
            add_loc(&r, &part->text, LOC_THINKING, 0, true);
        else if (part->kind == SY_IR_TOOL_CALL)
            add_loc(&r, &part->arguments, LOC_TOOL_ARGS, 0, false);
    }
    scan_all(&r);
    return decide(&r, policy->name.p, false, out);
}

/* ---- verdict records ---- */

static void json_str(sy_buf_t *out, sy_str_t s)
{
    sy_buf_append_c(out, "\"");
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\')
            sy_buf_printf(out, "\\%c", c);
        else if (c < 0x20)
            sy_buf_printf(out, "\\u%04x", c);
        else
            sy_buf_append(out, &s.p[i], 1);
    }
    sy_buf_append_c(out, "\"");
}

size_t sy_guard_verdict_tag(const sy_guard_verdict_t *v, bool output, char *out, size_t outsz)
{
    if (outsz == 0)
        return 0;
    out[0] = '\0';
    size_t len = 0;
    /* Appends one component whole, or nothing when it would not fit. */
#define TAG_PUT(...)                                                                               \
    do {                                                                                           \
        int n_ = snprintf(out + len, outsz - len, __VA_ARGS__);                                    \
        if (n_ < 0 || (size_t)n_ >= outsz - len) {                                                 \
            out[len] = '\0';                                                                       \
            return len;                                                                            \
        }                                                                                          \
        len += (size_t)n_;                                                                         \
    } while (0)
    TAG_PUT("%s:%s:%s", output ? "guardrail-output" : "guardrail", v->policy ? v->policy : "",
            sy_guard_action_name(v->action));
    if (v->restricted)
        TAG_PUT(":%.*s", (int)SY_MIN(v->restriction.data_class.len, (size_t)64),
                v->restriction.data_class.p ? v->restriction.data_class.p : "");
    bool first = true;
    for (int k = 0; k < SY_GUARD_KIND_COUNT; k++) {
        if (!v->counts[k])
            continue;
        TAG_PUT("%s%s=%u", first ? ":" : ",", sy_guard_kind_name((sy_guard_kind_t)k), v->counts[k]);
        first = false;
    }
#undef TAG_PUT
    return len;
}

void sy_guard_verdict_json(const sy_guard_verdict_t *v, sy_buf_t *out)
{
    sy_buf_append_c(out, "{\"policy\":");
    if (v->policy)
        json_str(out, sy_str_c(v->policy));
    else
        sy_buf_append_c(out, "null");
    sy_buf_printf(out, ",\"action\":\"%s\",\"blocked\":%s,\"found\":{",
                  sy_guard_action_name(v->action), v->blocked ? "true" : "false");
    bool first = true;
    for (int k = 0; k < SY_GUARD_KIND_COUNT; k++) {
        if (!v->counts[k])
            continue;
        sy_buf_printf(out, "%s\"%s\":%u", first ? "" : ",", sy_guard_kind_name((sy_guard_kind_t)k),
                      v->counts[k]);
        first = false;
    }
    sy_buf_printf(out, "},\"redacted\":%u,\"injection\":%.3f", v->redactions,
                  (double)v->injection_score);
    if (v->restricted) {
        sy_buf_append_c(out, ",\"data_class\":");
        json_str(out, v->restriction.data_class);
        sy_buf_append_c(out, ",\"jurisdictions\":[");
        for (size_t i = 0; i < v->restriction.njurisdictions; i++) {
            if (i)
                sy_buf_append_c(out, ",");
            json_str(out, v->restriction.jurisdictions[i]);
        }
        sy_buf_append_c(out, "]");
    }
    if (v->truncated)
        sy_buf_append_c(out, ",\"truncated\":true");
    sy_buf_append_c(out, "}");
}
