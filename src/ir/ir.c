/*
 * ir.c - helpers over the canonical model: usage merging, names, error
 * policy, input-token estimates, and rebuilding a response from a stream.
 */
#include "ir/ir.h"

#include <string.h>

void sy_ir_usage_merge(sy_ir_usage_t *dst, const sy_ir_usage_t *src)
{
#define MERGE(f)                                                                                   \
    if (src->has_##f) {                                                                            \
        dst->f = src->f;                                                                           \
        dst->has_##f = true;                                                                       \
    }
    MERGE(input)
    MERGE(output)
    MERGE(cached_input)
    MERGE(cache_write)
    MERGE(reasoning)
#undef MERGE
}

const char *sy_ir_finish_name(sy_ir_finish_t f)
{
    static const char *const names[] = {"unset",          "stop",    "length", "tool_calls",
                                        "stop_sequence",  "content_filter", "refusal", "error"};
    return (unsigned)f < SY_ARRAY_LEN(names) ? names[f] : "unknown";
}

const char *sy_ir_error_class_name(sy_ir_error_class_t c)
{
    static const char *const names[] = {
        "none",       "bad_request",    "auth",           "not_found",    "rate_limited",
        "overloaded", "server_error",   "timeout",        "connection",   "context_length",
        "content_filter", "bad_response", "internal"};
    return (unsigned)c < SY_ARRAY_LEN(names) ? names[c] : "unknown";
}

int sy_ir_error_status(sy_ir_error_class_t c)
{
    switch (c) {
    case SY_IR_ERR_NONE:
        return 200;
    case SY_IR_ERR_BAD_REQUEST:
    case SY_IR_ERR_CONTEXT_LENGTH:
    case SY_IR_ERR_CONTENT_FILTER:
        return 400;
    case SY_IR_ERR_NOT_FOUND:
        return 404;
    case SY_IR_ERR_RATE_LIMITED:
        return 429;
    case SY_IR_ERR_OVERLOADED:
        return 503;
    case SY_IR_ERR_TIMEOUT:
        return 504;
    case SY_IR_ERR_AUTH: /* our credentials upstream, not the client's: a gateway fault */
    case SY_IR_ERR_SERVER:
    case SY_IR_ERR_CONNECTION:
    case SY_IR_ERR_BAD_RESPONSE:
        return 502;
    case SY_IR_ERR_INTERNAL:
        return 500;
    }
    return 500;
}

const char *sy_ir_error_code(const sy_ir_error_t *e)
{
    static const char *const codes[] = {
        "insufficient_quota", "rate_limit_exceeded",      "context_length_exceeded",
        "model_not_found",    "content_filter",           "content_policy_violation",
        "invalid_prompt",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(codes); i++)
        if (sy_str_eq_c(e->type, codes[i]))
            return codes[i];
    switch (e->cls) {
    case SY_IR_ERR_RATE_LIMITED:
        return "rate_limit_exceeded";
    case SY_IR_ERR_CONTEXT_LENGTH:
        return "context_length_exceeded";
    case SY_IR_ERR_NOT_FOUND:
        return "model_not_found";
    default:
        return NULL;
    }
}

bool sy_ir_error_retryable(sy_ir_error_class_t c)
{
    switch (c) {
    case SY_IR_ERR_RATE_LIMITED:
    case SY_IR_ERR_OVERLOADED:
    case SY_IR_ERR_SERVER:
    case SY_IR_ERR_TIMEOUT:
    case SY_IR_ERR_CONNECTION:
    case SY_IR_ERR_BAD_RESPONSE:
    case SY_IR_ERR_AUTH:      /* this deployment's key is bad; another may work */
    case SY_IR_ERR_NOT_FOUND: /* this deployment lacks the model; another may have it */
    case SY_IR_ERR_CONTEXT_LENGTH: /* a larger-context deployment may take it */
        return true;
    default:
        return false;
    }
}

/* ---- token estimate ---- */

#define SY_IR_BYTES_PER_TOKEN 4
#define SY_IR_IMAGE_TOKENS 765 /* a 1024x1024 image at high detail in OpenAI's accounting */

static uint64_t text_tokens(sy_str_t s) { return (s.len + SY_IR_BYTES_PER_TOKEN - 1) / SY_IR_BYTES_PER_TOKEN; }

static uint64_t json_bytes(const sy_json_t *v)
{
    if (v == NULL)
        return 0;
    switch (v->type) {
    case SY_JSON_STRING:
    case SY_JSON_NUMBER:
        return (v->type == SY_JSON_STRING ? v->u.str.len : v->u.num.len) + 2;
    case SY_JSON_ARRAY: {
        uint64_t n = 2;
        for (size_t i = 0; i < sy_json_len(v); i++)
            n += json_bytes(sy_json_index(v, i)) + 1;
        return n;
    }
    case SY_JSON_OBJECT: {
        uint64_t n = 2;
        for (size_t i = 0; i < v->u.obj.len; i++)
            n += v->u.obj.items[i].key.len + 4 + json_bytes(&v->u.obj.items[i].value);
        return n;
    }
    default:
        return 4;
    }
}

static uint64_t parts_tokens(const sy_ir_part_t *p, size_t n)
{
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++) {
        switch (p[i].kind) {
        case SY_IR_TEXT:
        case SY_IR_THINKING:
            t += text_tokens(p[i].text);
            break;
        case SY_IR_IMAGE:
            t += SY_IR_IMAGE_TOKENS;
            break;
        case SY_IR_TOOL_CALL:
            t += text_tokens(p[i].name) + text_tokens(p[i].arguments) + 3;
            break;
        case SY_IR_TOOL_RESULT:
            t += parts_tokens(p[i].content, p[i].ncontent) + 3;
            break;
        case SY_IR_REDACTED_THINKING:
            t += text_tokens(p[i].signature) / 4;
            break;
        }
    }
    return t;
}

uint64_t sy_ir_estimate_input_tokens(const sy_ir_request_t *r)
{
    uint64_t t = parts_tokens(r->system, r->nsystem);
    for (size_t i = 0; i < r->nmessages; i++)
        t += 4 + parts_tokens(r->messages[i].parts, r->messages[i].nparts);
    for (size_t i = 0; i < r->ntools; i++)
        t += text_tokens(r->tools[i].name) + text_tokens(r->tools[i].description) +
             (json_bytes(r->tools[i].parameters) + SY_IR_BYTES_PER_TOKEN - 1) / SY_IR_BYTES_PER_TOKEN + 8;
    if (r->schema)
        t += (json_bytes(r->schema) + SY_IR_BYTES_PER_TOKEN - 1) / SY_IR_BYTES_PER_TOKEN;
    return t + 3;
}

/* ---- collector ---- */

struct sy_ir_collector {
    sy_arena_t *arena;
    sy_ir_response_t resp;
    size_t cap;
    /* the open block's accumulated text / arguments / signature */
    char *acc;
    size_t acc_len, acc_cap;
    char *sig;
    size_t sig_len, sig_cap;
    bool open;
};

sy_ir_collector_t *sy_ir_collector_new(sy_arena_t *a)
{
    sy_ir_collector_t *c = sy_arena_calloc(a, sizeof(*c));
    c->arena = a;
    return c;
}

static void grow_append(sy_arena_t *a, char **buf, size_t *len, size_t *cap, sy_str_t s)
{
    if (s.len == 0)
        return;
    if (*len + s.len > *cap) {
        size_t ncap = *cap ? *cap * 2 : 256;
        while (ncap < *len + s.len)
            ncap *= 2;
        *buf = sy_arena_realloc(a, *buf, *cap, ncap);
        *cap = ncap;
    }
    memcpy(*buf + *len, s.p, s.len);
    *len += s.len;
}

int sy_ir_collect(void *collector, const sy_ir_delta_t *d)
{
    sy_ir_collector_t *c = collector;
    sy_ir_response_t *r = &c->resp;
    switch (d->kind) {
    case SY_IR_DELTA_START:
        r->id = sy_str_dup(c->arena, d->id);
        r->model = sy_str_dup(c->arena, d->model);
        sy_ir_usage_merge(&r->usage, &d->usage);
        break;
    case SY_IR_DELTA_BLOCK_START: {
        if (r->nparts == c->cap) {
            size_t ncap = c->cap ? c->cap * 2 : 4;
            r->parts = sy_arena_realloc(c->arena, r->parts, c->cap * sizeof(*r->parts),
                                        ncap * sizeof(*r->parts));
            c->cap = ncap;
        }
        sy_ir_part_t *p = &r->parts[r->nparts++];
        memset(p, 0, sizeof(*p));
        p->kind = d->block;
        p->call_id = sy_str_dup(c->arena, d->id);
        p->name = sy_str_dup(c->arena, d->name);
        c->acc = c->sig = NULL;
        c->acc_len = c->acc_cap = c->sig_len = c->sig_cap = 0;
        if (d->block == SY_IR_REDACTED_THINKING)
            grow_append(c->arena, &c->sig, &c->sig_len, &c->sig_cap, d->text);
        else
            grow_append(c->arena, &c->acc, &c->acc_len, &c->acc_cap, d->text);
        c->open = true;
        break;
    }
    case SY_IR_DELTA_TEXT:
    case SY_IR_DELTA_THINKING:
    case SY_IR_DELTA_TOOL_ARGS:
        if (c->open)
            grow_append(c->arena, &c->acc, &c->acc_len, &c->acc_cap, d->text);
        break;
    case SY_IR_DELTA_SIGNATURE:
        if (c->open)
            grow_append(c->arena, &c->sig, &c->sig_len, &c->sig_cap, d->text);
        break;
    case SY_IR_DELTA_BLOCK_STOP:
        if (c->open && r->nparts) {
            sy_ir_part_t *p = &r->parts[r->nparts - 1];
            sy_str_t acc = sy_str(c->acc ? c->acc : "", c->acc_len);
            if (p->kind == SY_IR_TOOL_CALL)
                p->arguments = acc.len ? acc : SY_STR("{}");
            else
                p->text = acc;
            p->signature = sy_str(c->sig ? c->sig : "", c->sig_len);
        }
        c->open = false;
        break;
    case SY_IR_DELTA_USAGE:
        sy_ir_usage_merge(&r->usage, &d->usage);
        break;
    case SY_IR_DELTA_FINISH:
        r->finish = d->finish;
        r->stop_sequence = sy_str_dup(c->arena, d->stop_sequence);
        break;
    case SY_IR_DELTA_END:
    case SY_IR_DELTA_ERROR:
        break;
    }
    return SY_OK;
}

const sy_ir_response_t *sy_ir_collect_finish(sy_ir_collector_t *c) { return &c->resp; }
