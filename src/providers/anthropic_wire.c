/*
 * anthropic_wire.c - the Anthropic Messages vocabulary shared by the
 * adapter and the front door: stop reasons, error types, usage, tool inputs.
 */
#include "providers/anthropic.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- stop reasons --- */

sy_ir_finish_t sy_anthropic_finish(sy_str_t r)
{
    if (r.len == 0)
        return SY_IR_FINISH_UNSET;
    if (sy_str_eq_c(r, "end_turn") || sy_str_eq_c(r, "pause_turn"))
        return SY_IR_FINISH_STOP;
    if (sy_str_eq_c(r, "max_tokens") || sy_str_eq_c(r, "model_context_window_exceeded"))
        return SY_IR_FINISH_LENGTH;
    if (sy_str_eq_c(r, "stop_sequence"))
        return SY_IR_FINISH_STOP_SEQUENCE;
    if (sy_str_eq_c(r, "tool_use"))
        return SY_IR_FINISH_TOOL_CALLS;
    if (sy_str_eq_c(r, "refusal"))
        return SY_IR_FINISH_REFUSAL;
    return SY_IR_FINISH_STOP;
}

const char *sy_anthropic_stop_reason(sy_ir_finish_t f, bool has_tool_call)
{
    switch (f) {
    case SY_IR_FINISH_LENGTH:
        return "max_tokens";
    case SY_IR_FINISH_STOP_SEQUENCE:
        return "stop_sequence";
    case SY_IR_FINISH_TOOL_CALLS:
        return "tool_use";
    case SY_IR_FINISH_CONTENT_FILTER:
    case SY_IR_FINISH_REFUSAL:
        return "refusal";
    case SY_IR_FINISH_UNSET:
    case SY_IR_FINISH_STOP:
    case SY_IR_FINISH_ERROR:
        break;
    }
    return has_tool_call ? "tool_use" : "end_turn";
}

/* ---------------------------------------------------------------- errors --- */

/* Case-insensitive substring test for the few message checks below. */
static bool mentions(sy_str_t s, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= s.len; i++)
        if (sy_str_ieq(sy_str(s.p + i, n), sy_str(needle, n)))
            return true;
    return false;
}

sy_ir_error_class_t sy_anthropic_error_class(sy_str_t type, sy_str_t message, int status)
{
    if (sy_str_eq_c(type, "overloaded_error"))
        return SY_IR_ERR_OVERLOADED;
    if (sy_str_eq_c(type, "rate_limit_error"))
        return SY_IR_ERR_RATE_LIMITED;
    if (sy_str_eq_c(type, "invalid_request_error")) {
        /* "prompt is too long: 210000 tokens > 200000 maximum", and the
         * max_tokens variant "input length and `max_tokens` exceed context limit" */
        if (mentions(message, "prompt is too long") || mentions(message, "exceed context limit") ||
            mentions(message, "context window"))
            return SY_IR_ERR_CONTEXT_LENGTH;
        return SY_IR_ERR_BAD_REQUEST;
    }
    if (sy_str_eq_c(type, "authentication_error") || sy_str_eq_c(type, "permission_error") ||
        sy_str_eq_c(type, "billing_error"))
        return SY_IR_ERR_AUTH;
    if (sy_str_eq_c(type, "not_found_error"))
        return SY_IR_ERR_NOT_FOUND;
    if (sy_str_eq_c(type, "request_too_large"))
        return SY_IR_ERR_BAD_REQUEST;
    if (sy_str_eq_c(type, "timeout_error"))
        return SY_IR_ERR_TIMEOUT;
    if (sy_str_eq_c(type, "api_error"))
        return SY_IR_ERR_SERVER;
    if (status >= 400)
        return sy_provider_status_class(status);
    return SY_IR_ERR_SERVER;
}

const char *sy_anthropic_error_type(int status)
{
    switch (status) {
    case 400:
        return "invalid_request_error";
    case 401:
        return "authentication_error";
    case 402:
        return "billing_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 413:
        return "request_too_large";
    case 429:
        return "rate_limit_error";
    case 503:
    case 529:
        return "overloaded_error";
    case 504:
        return "timeout_error";
    default:
        return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

/* ----------------------------------------------------------------- usage --- */

static void read_count(const sy_json_t *obj, const char *key, uint64_t *v, bool *has)
{
    uint64_t n;
    if (sy_json_as_u64(sy_json_get(obj, key), &n) == SY_OK) {
        *v = n;
        *has = true;
    }
}

/* v as a count into *n / *has, when it is one. */
static void take_count(const sy_json_t *v, uint64_t *n, bool *has)
{
    uint64_t x;
    if (sy_json_as_u64(v, &x) == SY_OK) {
        *n = x;
        *has = true;
    }
}

void sy_anthropic_usage_read(const sy_json_t *usage, sy_anthropic_usage_t *u)
{
    if (!sy_json_is(usage, SY_JSON_OBJECT))
        return;
    /* The members in one pass, the last of a repeated key kept (what
     * sy_json_get finds), instead of a lookup per count. */
    const sy_json_t *in = NULL, *cread = NULL, *ccreate = NULL, *out = NULL, *details = NULL;
    for (size_t i = 0; i < usage->u.obj.len; i++) {
        const sy_json_member_t *m = &usage->u.obj.items[i];
        sy_str_t k = m->key;
        if (k.len == 12 && memcmp(k.p, "input_tokens", 12) == 0)
            in = &m->value;
        else if (k.len == 13 && memcmp(k.p, "output_tokens", 13) == 0)
            out = &m->value;
        else if (k.len == 23 && memcmp(k.p, "cache_read_input_tokens", 23) == 0)
            cread = &m->value;
        else if (k.len == 27 && memcmp(k.p, "cache_creation_input_tokens", 27) == 0)
            ccreate = &m->value;
        else if (k.len == 21 && memcmp(k.p, "output_tokens_details", 21) == 0)
            details = &m->value;
    }
    take_count(in, &u->input, &u->has_input);
    take_count(cread, &u->cache_read, &u->has_cache_read);
    take_count(ccreate, &u->cache_creation, &u->has_cache_creation);
    take_count(out, &u->output, &u->has_output);
    if (details)
        read_count(details, "thinking_tokens", &u->thinking, &u->has_thinking);
}

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

sy_ir_usage_t sy_anthropic_usage_to_ir(const sy_anthropic_usage_t *u)
{
    sy_ir_usage_t r;
    memset(&r, 0, sizeof(r));
    if (u->has_input || u->has_cache_read || u->has_cache_creation) {
        r.input = sat_add(sat_add(u->input, u->cache_read), u->cache_creation);
        r.has_input = true;
        r.cached_input = u->cache_read;
        r.has_cached_input = u->has_cache_read;
        r.cache_write = u->cache_creation;
        r.has_cache_write = u->has_cache_creation;
    }
    r.output = u->output;
    r.has_output = u->has_output;
    r.reasoning = u->thinking;
    r.has_reasoning = u->has_thinking;
    return r;
}

void sy_anthropic_write_usage(sy_json_writer_t *w, const sy_ir_usage_t *u, bool all)
{
    uint64_t cached = u->has_cached_input ? u->cached_input : 0;
    uint64_t written = u->has_cache_write ? u->cache_write : 0;
    if (u->has_input || all) {
        uint64_t in = u->has_input ? u->input : 0;
        /* input_tokens excludes both cache figures; saturate against an
         * upstream that reports more cached tokens than prompt tokens */
        uint64_t fresh = in >= cached ? in - cached : 0;
        fresh = fresh >= written ? fresh - written : 0;
        sy_json_write_key_lit(w, "input_tokens");
        sy_json_write_u64(w, fresh);
        sy_json_write_key_lit(w, "cache_creation_input_tokens");
        sy_json_write_u64(w, written);
        sy_json_write_key_lit(w, "cache_read_input_tokens");
        sy_json_write_u64(w, cached);
    }
    sy_json_write_key_lit(w, "output_tokens");
    sy_json_write_u64(w, u->has_output ? u->output : 0);
    if (u->has_reasoning) {
        sy_json_write_key_lit(w, "output_tokens_details");
        sy_json_write_begin_object(w);
        sy_json_write_key_lit(w, "thinking_tokens");
        sy_json_write_u64(w, u->reasoning);
        sy_json_write_end_object(w);
    }
}

/* ------------------------------------------------------------ tool calls --- */

void sy_anthropic_write_tool_input(sy_json_writer_t *w, sy_arena_t *a, sy_str_t arguments)
{
    sy_str_t t = arguments;
    while (t.len && (t.p[0] == ' ' || t.p[0] == '\t' || t.p[0] == '\n' || t.p[0] == '\r')) {
        t.p++;
        t.len--;
    }
    while (t.len && (t.p[t.len - 1] == ' ' || t.p[t.len - 1] == '\t' || t.p[t.len - 1] == '\n' ||
                     t.p[t.len - 1] == '\r'))
        t.len--;
    if (t.len == 0) {
        sy_json_write_begin_object(w);
        sy_json_write_end_object(w);
        return;
    }
    sy_json_t *v = NULL;
    if (t.p[0] == '{' && sy_json_parse(a, t.p, t.len, NULL, &v, NULL) == SY_OK &&
        v->type == SY_JSON_OBJECT) {
        sy_json_write_raw(w, t);
        return;
    }
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, SY_ANTHROPIC_RAW_ARGS_KEY);
    sy_json_write_string(w, arguments);
    sy_json_write_end_object(w);
}

void sy_anthropic_write_tool_id(sy_json_writer_t *w, sy_str_t id)
{
    if (id.len == 0) {
        sy_json_write_string(w, SY_STR("toolu_empty"));
        return;
    }
    size_t i = 0;
    while (i < id.len && ((id.p[i] >= 'a' && id.p[i] <= 'z') || (id.p[i] >= 'A' && id.p[i] <= 'Z') ||
                          (id.p[i] >= '0' && id.p[i] <= '9') || id.p[i] == '_' || id.p[i] == '-'))
        i++;
    if (i == id.len) {
        sy_json_write_string(w, id);
        return;
    }
    /* Rare: the id has bytes the API refuses; write a cleaned copy. */
    char small[256];
    char *buf = id.len <= sizeof(small) ? small : sy_malloc(id.len);
    for (size_t k = 0; k < id.len; k++) {
        char c = id.p[k];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        buf[k] = ok ? c : '_';
    }
    sy_json_write_string(w, sy_str(buf, id.len));
    if (buf != small)
        free(buf);
}
