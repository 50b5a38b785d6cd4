/*
 * openai_chat.c - POST /v1/chat/completions (and the Azure deployment path):
 * validation as strict as the real API, an output plan (text, JSON for
 * response_format, tool calls whose arguments satisfy the tools' schemas),
 * the whole-body answer and the chunk stream.
 *
 * Stream shape (tests/data/transcripts/openai/): a first chunk with the
 * role (and, for tool calls, the first call's id, type, name and empty
 * arguments), one chunk per content token or argument fragment, a chunk
 * with an empty delta and the finish_reason, with stream_options.
 * include_usage a last chunk with "choices":[] and the usage (and
 * "usage":null on every chunk before it), then "data: [DONE]". Each chunk
 * carries an "obfuscation" padding string unless include_obfuscation is
 * false. Azure adds a first chunk with prompt_filter_results.
 */
#include <stdio.h>
#include <string.h>

#include "core/fmt.h"
#include "sim/openai.h"

#define OA_MAX_STOPS 4
#define OA_ID_LEN 29 /* characters after "chatcmpl-" */
#define OA_ID_SALT 0

typedef struct {
    sy_str_t id, name, args;
    sy_sim_text_t at; /* the arguments, handed out in pieces */
} oa_call_t;

/* Per-request plan and stream state (request arena). */
typedef struct {
    const oa_route_t *rt;
    bool azure;
    sy_str_t id;          /* chatcmpl-... */
    sy_str_t chunk_head;  /* a stream's chunk opening, once formatted (chunk_begin) */
    sy_str_t content_head, content_tail; /* a content chunk around its text (content_chunk) */
    uint64_t created;
    const char *fingerprint;
    sy_sim_text_t text;   /* content */
    bool has_text;
    oa_call_t *calls;
    uint32_t ncalls;
    const char *finish;   /* stop | length | tool_calls */
    uint32_t prompt_tokens, completion_tokens, reasoning_tokens;
    bool include_usage, obfuscation, logprobs_field;
    /* stream position */
    uint8_t step;
    uint32_t ci; /* current call */
} oa_chat_t;

enum { ST_FIRST, ST_AZURE_FILTER, ST_CONTENT, ST_CALL_START, ST_CALL_ARGS, ST_FINISH, ST_USAGE, ST_DONE };

/* ---------------------------------------------------------- validation --- */

static const char *const known_params[] = {
    "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
    "temperature", "top_p", "n", "stop", "presence_penalty", "frequency_penalty", "logit_bias",
    "logprobs", "top_logprobs", "user", "seed", "tools", "tool_choice", "parallel_tool_calls",
    "response_format", "functions", "function_call", "service_tier", "store", "metadata",
    "modalities", "audio", "prediction", "reasoning_effort", "verbosity", "web_search_options",
    "prompt_cache_key", "safety_identifier", "data_sources", NULL};

#define BAD(...) sy_arena_sprintf(a, __VA_ARGS__)

static bool bad(sy_sim_call_t *call, const char *msg, const char *param, const char *code)
{
    oa_error(call, 400, msg, "invalid_request_error", param, code);
    return false;
}

static bool check_number(sy_sim_call_t *call, const char *name, double lo, double hi, bool integer)
{
    sy_arena_t *a = call->req->arena;
    const sy_json_t *v = sy_json_get(call->body, name);
    if (v == NULL || v->type == SY_JSON_NULL)
        return true;
    double d;
    int64_t i;
    if (v->type != SY_JSON_NUMBER || (integer && sy_json_as_i64(v, &i) != SY_OK) ||
        sy_json_as_double(v, &d) != SY_OK)
        return bad(call,
                   BAD("Invalid type for '%s': expected %s, but got %s instead.", name,
                       integer ? "an integer" : "a decimal", oa_type_phrase(v)),
                   name, "invalid_type");
    if (d < lo)
        return bad(call,
                   BAD("Invalid '%s': %s below minimum value. Expected a value >= %g, but got %.*s "
                       "instead.",
                       name, integer ? "integer" : "decimal", lo, SY_STR_FMT(v->u.num)),
                   name, integer ? "integer_below_min_value" : "decimal_below_min_value");
    if (d > hi)
        return bad(call,
                   BAD("Invalid '%s': %s above maximum value. Expected a value <= %g, but got %.*s "
                       "instead.",
                       name, integer ? "integer" : "decimal", hi, SY_STR_FMT(v->u.num)),
                   name, integer ? "integer_above_max_value" : "decimal_above_max_value");
    return true;
}

static bool check_bool(sy_sim_call_t *call, const sy_json_t *obj, const char *name, const char *path)
{
    sy_arena_t *a = call->req->arena;
    const sy_json_t *v = sy_json_get(obj, name);
    if (v == NULL || v->type == SY_JSON_NULL || sy_json_is_bool(v))
        return true;
    return bad(call,
               BAD("Invalid type for '%s': expected a boolean, but got %s instead.", path,
                   oa_type_phrase(v)),
               path, "invalid_type");
}

static bool contains_json_word(const sy_json_t *v)
{
    if (v == NULL)
        return false;
    if (v->type == SY_JSON_STRING) {
        sy_str_t s = v->u.str;
        for (size_t i = 0; i + 4 <= s.len; i++)
            if (sy_str_ieq(sy_str(s.p + i, 4), SY_STR("json")))
                return true;
        return false;
    }
    if (v->type == SY_JSON_ARRAY) {
        for (uint32_t i = 0; i < v->u.arr.len; i++)
            if (contains_json_word(&v->u.arr.items[i]))
                return true;
    } else if (v->type == SY_JSON_OBJECT) {
        for (uint32_t i = 0; i < v->u.obj.len; i++)
            if (contains_json_word(&v->u.obj.items[i].value))
                return true;
    }
    return false;
}

/* The content of a message: a string, null (assistant with tool calls), or
 * an array of typed parts. */
static bool check_content(sy_sim_call_t *call, const sy_json_t *content, size_t mi, sy_str_t role)
{
    sy_arena_t *a = call->req->arena;
    if (content->type == SY_JSON_STRING)
        return true;
    if (content->type != SY_JSON_ARRAY)
        return bad(call,
                   BAD("Invalid type for 'messages[%zu].content': expected one of a string or array "
                       "of objects, but got %s instead.",
                       mi, oa_type_phrase(content)),
                   BAD("messages[%zu].content", mi), "invalid_type");
    for (uint32_t j = 0; j < content->u.arr.len; j++) {
        const sy_json_t *part = &content->u.arr.items[j];
        const char *pp = BAD("messages[%zu].content[%u]", mi, j);
        if (part->type != SY_JSON_OBJECT)
            return bad(call,
                       BAD("Invalid type for '%s': expected an object, but got %s instead.", pp,
                           oa_type_phrase(part)),
                       pp, "invalid_type");
        sy_str_t t = sy_json_str(sy_json_get(part, "type"));
        if (t.p == NULL)
            return bad(call, BAD("Missing required parameter: '%s.type'.", pp), BAD("%s.type", pp),
                       "missing_required_parameter");
        if (sy_str_eq_c(t, "text") || sy_str_eq_c(t, "refusal")) {
            const char *k = sy_str_eq_c(t, "text") ? "text" : "refusal";
            if (!sy_json_is(sy_json_get(part, k), SY_JSON_STRING))
                return bad(call, BAD("Missing required parameter: '%s.%s'.", pp, k),
                           BAD("%s.%s", pp, k), "missing_required_parameter");
        } else if (sy_str_eq_c(t, "image_url") || sy_str_eq_c(t, "input_audio") ||
                   sy_str_eq_c(t, "file")) {
            if (!sy_str_eq_c(role, "user"))
                return bad(call,
                           BAD("Invalid 'messages[%zu]': %.*s content is only supported for "
                               "messages with role 'user'.",
                               mi, SY_STR_FMT(t)),
                           BAD("messages[%zu]", mi), NULL);
            if (sy_str_eq_c(t, "image_url") &&
                !sy_json_is(sy_json_path(part, "image_url.url"), SY_JSON_STRING))
                return bad(call, BAD("Missing required parameter: '%s.image_url.url'.", pp),
                           BAD("%s.image_url.url", pp), "missing_required_parameter");
        } else {
            return bad(call,
                       BAD("Invalid value: '%.*s'. Supported values are: 'text', 'image_url', "
                           "'input_audio', 'refusal', 'audio', and 'file'.",
                           (int)SY_MIN(t.len, (size_t)64), t.p),
                       BAD("%s.type", pp), "invalid_value");
        }
    }
    return true;
}

/*
 * messages: a non-empty array of {role, content, ...}; roles from the
 * supported set; a tool message answers a tool_call_id of the assistant
 * message before it, and every such id gets its answer before the next
 * non-tool message. Sets *after_tools when the last message is a tool
 * result.
 */
static bool check_messages(sy_sim_call_t *call, bool *after_tools)
{
    sy_arena_t *a = call->req->arena;
    const sy_json_t *msgs = sy_json_get(call->body, "messages");
    if (msgs == NULL || msgs->type == SY_JSON_NULL)
        return bad(call, "Missing required parameter: 'messages'.", "messages",
                   "missing_required_parameter");
    if (msgs->type != SY_JSON_ARRAY)
        return bad(call,
                   BAD("Invalid type for 'messages': expected an array of objects, but got %s "
                       "instead.",
                       oa_type_phrase(msgs)),
                   "messages", "invalid_type");
    if (msgs->u.arr.len == 0)
        return bad(call,
                   "Invalid 'messages': empty array. Expected an array with minimum length 1, but "
                   "got an empty array instead.",
                   "messages", "empty_array");
    const sy_json_t *pending = NULL; /* tool_calls of the last assistant message */
    bool *answered = NULL;
    size_t pending_i = 0;
    for (uint32_t i = 0; i < msgs->u.arr.len; i++) {
        const sy_json_t *m = &msgs->u.arr.items[i];
        if (m->type != SY_JSON_OBJECT)
            return bad(call,
                       BAD("Invalid type for 'messages[%u]': expected an object, but got %s "
                           "instead.",
                           i, oa_type_phrase(m)),
                       BAD("messages[%u]", i), "invalid_type");
        const sy_json_t *rv = sy_json_get(m, "role");
        if (rv == NULL)
            return bad(call, BAD("Missing required parameter: 'messages[%u].role'.", i),
                       BAD("messages[%u].role", i), "missing_required_parameter");
        sy_str_t role = sy_json_str(rv);
        if (!(sy_str_eq_c(role, "system") || sy_str_eq_c(role, "developer") ||
              sy_str_eq_c(role, "user") || sy_str_eq_c(role, "assistant") ||
              sy_str_eq_c(role, "tool") || sy_str_eq_c(role, "function")))
            return bad(call,
                       BAD("Invalid value: '%.*s'. Supported values are: 'system', 'assistant', "
                           "'user', 'function', 'tool', and 'developer'.",
                           (int)SY_MIN(role.len, (size_t)64), role.p ? role.p : ""),
                       BAD("messages[%u].role", i), "invalid_value");
        bool is_tool = sy_str_eq_c(role, "tool");
        if (pending && !is_tool) {
            for (size_t k = 0; k < sy_json_len(pending); k++)
                if (!answered[k]) {
                    sy_str_t id = sy_json_str(sy_json_path(sy_json_index(pending, k), "id"));
                    return bad(call,
                               BAD("An assistant message with 'tool_calls' must be followed by "
                                   "tool messages responding to each 'tool_call_id'. The "
                                   "following tool_call_ids did not have response messages: %.*s",
                                   (int)SY_MIN(id.len, (size_t)100), id.p ? id.p : ""),
                               BAD("messages.[%zu].role", pending_i), NULL);
                }
            pending = NULL;
        }
        const sy_json_t *content = sy_json_get(m, "content");
        const sy_json_t *tcs = sy_json_get(m, "tool_calls");
        if (sy_str_eq_c(role, "assistant")) {
            if ((content == NULL || content->type == SY_JSON_NULL) && tcs == NULL &&
                sy_json_get(m, "function_call") == NULL && sy_json_get(m, "audio") == NULL)
                return bad(call, BAD("Missing required parameter: 'messages[%u].content'.", i),
                           BAD("messages[%u].content", i), "missing_required_parameter");
            if (tcs && tcs->type != SY_JSON_NULL) {
                if (tcs->type != SY_JSON_ARRAY)
                    return bad(call,
                               BAD("Invalid type for 'messages[%u].tool_calls': expected an array "
                                   "of objects, but got %s instead.",
                                   i, oa_type_phrase(tcs)),
                               BAD("messages[%u].tool_calls", i), "invalid_type");
                for (uint32_t k = 0; k < tcs->u.arr.len; k++) {
                    const sy_json_t *tc = &tcs->u.arr.items[k];
                    if (!sy_json_is(sy_json_get(tc, "id"), SY_JSON_STRING))
                        return bad(call,
                                   BAD("Missing required parameter: 'messages[%u].tool_calls[%u].id'.", i, k),
                                   BAD("messages[%u].tool_calls[%u].id", i, k),
                                   "missing_required_parameter");
                    if (!sy_json_is(sy_json_path(tc, "function.name"), SY_JSON_STRING) ||
                        !sy_json_is(sy_json_path(tc, "function.arguments"), SY_JSON_STRING))
                        return bad(call,
                                   BAD("Missing required parameter: "
                                       "'messages[%u].tool_calls[%u].function'.", i, k),
                                   BAD("messages[%u].tool_calls[%u].function", i, k),
                                   "missing_required_parameter");
                }
                if (tcs->u.arr.len) {
                    pending = tcs;
                    pending_i = i;
                    answered = sy_arena_calloc(a, tcs->u.arr.len * sizeof(bool));
                }
            }
        } else if (content == NULL || content->type == SY_JSON_NULL) {
            return bad(call, BAD("Missing required parameter: 'messages[%u].content'.", i),
                       BAD("messages[%u].content", i), "missing_required_parameter");
        }
        if (content && content->type != SY_JSON_NULL && !check_content(call, content, i, role))
            return false;
        if (is_tool) {
            const sy_json_t *id = sy_json_get(m, "tool_call_id");
            if (!sy_json_is(id, SY_JSON_STRING))
                return bad(call, BAD("Missing required parameter: 'messages[%u].tool_call_id'.", i),
                           BAD("messages[%u].tool_call_id", i), "missing_required_parameter");
            bool found = false;
            for (size_t k = 0; pending && k < sy_json_len(pending); k++)
                if (sy_str_eq(sy_json_str(sy_json_path(sy_json_index(pending, k), "id")), id->u.str)) {
                    answered[k] = true;
                    found = true;
                }
            if (!found)
                return bad(call,
                           "Invalid parameter: messages with role 'tool' must be a response to a "
                           "preceeding message with 'tool_calls'.",
                           BAD("messages.[%u].role", i), NULL);
        }
        *after_tools = is_tool;
    }
    if (pending) {
        for (size_t k = 0; k < sy_json_len(pending); k++)
            if (!answered[k]) {
                sy_str_t id = sy_json_str(sy_json_path(sy_json_index(pending, k), "id"));
                return bad(call,
                           BAD("An assistant message with 'tool_calls' must be followed by tool "
                               "messages responding to each 'tool_call_id'. The following "
                               "tool_call_ids did not have response messages: %.*s",
                               (int)SY_MIN(id.len, (size_t)100), id.p ? id.p : ""),
                           BAD("messages.[%zu].role", pending_i), NULL);
            }
    }
    return true;
}

static bool check_tools(sy_sim_call_t *call, const sy_json_t **tools_out, sy_sim_choice_t *choice,
                        sy_str_t *forced)
{
    sy_arena_t *a = call->req->arena;
    const sy_json_t *tools = sy_json_get(call->body, "tools");
    *tools_out = NULL;
    *choice = SY_SIM_CHOICE_AUTO;
    *forced = SY_STR_NULL;
    if (tools && tools->type != SY_JSON_NULL) {
        if (tools->type != SY_JSON_ARRAY)
            return bad(call,
                       BAD("Invalid type for 'tools': expected an array of objects, but got %s "
                           "instead.",
                           oa_type_phrase(tools)),
                       "tools", "invalid_type");
        for (uint32_t i = 0; i < tools->u.arr.len; i++) {
            const sy_json_t *t = &tools->u.arr.items[i];
            sy_str_t type = sy_json_str(sy_json_get(t, "type"));
            if (type.p == NULL)
                return bad(call, BAD("Missing required parameter: 'tools[%u].type'.", i),
                           BAD("tools[%u].type", i), "missing_required_parameter");
            if (!sy_str_eq_c(type, "function") && !sy_str_eq_c(type, "custom"))
                return bad(call,
                           BAD("Invalid value: '%.*s'. Supported values are: 'function' and "
                               "'custom'.",
                               (int)SY_MIN(type.len, (size_t)64), type.p),
                           BAD("tools[%u].type", i), "invalid_value");
            const sy_json_t *fn = sy_json_get(t, sy_str_eq_c(type, "function") ? "function" : "custom");
            sy_str_t name = sy_json_str(sy_json_get(fn, "name"));
            if (name.p == NULL)
                return bad(call, BAD("Missing required parameter: 'tools[%u].function.name'.", i),
                           BAD("tools[%u].function.name", i), "missing_required_parameter");
            if (!sy_sim_tool_name_ok(name, 64))
                return bad(call,
                           BAD("Invalid 'tools[%u].function.name': string does not match pattern. "
                               "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                               i),
                           BAD("tools[%u].function.name", i), "invalid_value");
            const sy_json_t *params = sy_json_get(fn, "parameters");
            if (params && params->type != SY_JSON_OBJECT && params->type != SY_JSON_NULL)
                return bad(call,
                           BAD("Invalid type for 'tools[%u].function.parameters': expected an "
                               "object, but got %s instead.",
                               i, oa_type_phrase(params)),
                           BAD("tools[%u].function.parameters", i), "invalid_type");
        }
        if (tools->u.arr.len)
            *tools_out = tools;
    }
    const sy_json_t *tc = sy_json_get(call->body, "tool_choice");
    if (tc && tc->type != SY_JSON_NULL) {
        if (*tools_out == NULL)
            return bad(call,
                       "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' "
                       "are specified.",
                       "tool_choice", NULL);
        sy_str_t s = sy_json_str(tc);
        if (sy_str_eq_c(s, "none")) {
            *choice = SY_SIM_CHOICE_NONE;
        } else if (sy_str_eq_c(s, "required")) {
            *choice = SY_SIM_CHOICE_REQUIRED;
        } else if (sy_str_eq_c(s, "auto")) {
            *choice = SY_SIM_CHOICE_AUTO;
        } else if (tc->type == SY_JSON_OBJECT) {
            sy_str_t name = sy_json_str(sy_json_path(tc, "function.name"));
            bool found = false;
            for (size_t i = 0; i < sy_json_len(*tools_out); i++)
                found |= sy_str_eq(sy_json_str(sy_json_path(sy_json_index(*tools_out, i), "function.name")), name);
            if (!found)
                return bad(call,
                           BAD("Invalid value for 'tool_choice': tool '%.*s' not found in 'tools' "
                               "list.",
                               (int)SY_MIN(name.len, (size_t)64), name.p ? name.p : ""),
                           "tool_choice", NULL);
            *choice = SY_SIM_CHOICE_REQUIRED;
            *forced = name;
        } else {
            return bad(call,
                       "Invalid value for 'tool_choice': expected one of 'none', 'auto', "
                       "'required', or an object naming a function.",
                       "tool_choice", "invalid_value");
        }
    }
    return true;
}

/* ----------------------------------------------------------------- plan --- */

static const sy_json_t *tool_fn(const sy_json_t *tools, size_t i)
{
    const sy_json_t *t = sy_json_index(tools, i);
    const sy_json_t *fn = sy_json_get(t, "function");
    return fn ? fn : sy_json_get(t, "custom");
}

static void plan_calls(sy_sim_call_t *call, oa_chat_t *st, const sy_json_t *tools, uint32_t n,
                       sy_str_t forced)
{
    sy_arena_t *a = call->req->arena;
    st->calls = sy_arena_calloc(a, n * sizeof(oa_call_t));
    st->ncalls = n;
    size_t ntools = sy_json_len(tools);
    sy_buf_t *tmp = &call->w->scratch2;
    for (uint32_t i = 0; i < n; i++) {
        const sy_json_t *fn = tool_fn(tools, i % ntools);
        if (forced.p) {
            for (size_t k = 0; k < ntools; k++)
                if (sy_str_eq(sy_json_str(sy_json_get(tool_fn(tools, k), "name")), forced))
                    fn = tool_fn(tools, k);
        }
        oa_call_t *c = &st->calls[i];
        c->name = sy_json_str(sy_json_get(fn, "name"));
        sy_buf_clear(tmp);
        sy_sim_id_seeded(call, "call_", 24, 100 + i, tmp);
        c->id = sy_str_dup(a, sy_buf_str(tmp));
        sy_buf_clear(tmp);
        sy_json_writer_t w;
        sy_json_writer_init(&w, tmp, 0);
        sy_sim_gen_json(call->seed + 7919u * i, sy_json_get(fn, "parameters"), &w);
        sy_json_write_finish(&w);
        c->args = sy_str_dup(a, sy_buf_str(tmp));
        sy_sim_text_fixed(&c->at, c->args);
        st->completion_tokens += (uint32_t)sy_sim_tokens(c->name) + sy_sim_text_count(&c->at);
        sy_buf_clear(tmp);
    }
}

/* ----------------------------------------------------------- whole body --- */

static void write_usage(sy_json_writer_t *w, const oa_chat_t *st)
{
    sy_json_write_key_lit(w, "usage");
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "prompt_tokens");
    sy_json_write_u64(w, st->prompt_tokens);
    sy_json_write_key_lit(w, "completion_tokens");
    sy_json_write_u64(w, st->completion_tokens);
    sy_json_write_key_lit(w, "total_tokens");
    sy_json_write_u64(w, (uint64_t)st->prompt_tokens + st->completion_tokens);
    sy_json_write_key_lit(w, "prompt_tokens_details");
    sy_json_write_raw(w, SY_STR("{\"cached_tokens\":0,\"audio_tokens\":0}"));
    sy_json_write_key_lit(w, "completion_tokens_details");
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "reasoning_tokens");
    sy_json_write_u64(w, st->reasoning_tokens);
    sy_json_write_key_lit(w, "audio_tokens");
    sy_json_write_u64(w, 0);
    sy_json_write_key_lit(w, "accepted_prediction_tokens");
    sy_json_write_u64(w, 0);
    sy_json_write_key_lit(w, "rejected_prediction_tokens");
    sy_json_write_u64(w, 0);
    sy_json_write_end_object(w);
    sy_json_write_end_object(w);
}

static void write_fingerprint(sy_json_writer_t *w, const oa_chat_t *st)
{
    sy_json_write_key_lit(w, "system_fingerprint");
    if (st->fingerprint)
        sy_json_write_string(w, sy_str_c(st->fingerprint));
    else
        sy_json_write_null(w);
}

static const char azure_filters[] =
    "{\"hate\":{\"filtered\":false,\"severity\":\"safe\"},\"self_harm\":{\"filtered\":false,"
    "\"severity\":\"safe\"},\"sexual\":{\"filtered\":false,\"severity\":\"safe\"},\"violence\":"
    "{\"filtered\":false,\"severity\":\"safe\"}}";

static void write_prompt_filters(sy_json_writer_t *w, bool full)
{
    sy_json_write_key_lit(w, "prompt_filter_results");
    if (!full) {
        /* Whole responses carry empty filter results (as recorded). */
        sy_json_write_raw(w, SY_STR("[{\"prompt_index\":0,\"content_filter_results\":{}}]"));
        return;
    }
    sy_json_write_raw(w, SY_STR("[{\"prompt_index\":0,\"content_filter_results\":{\"hate\":{"
                                "\"filtered\":false,\"severity\":\"safe\"},\"jailbreak\":{"
                                "\"filtered\":false,\"detected\":false},\"self_harm\":{"
                                "\"filtered\":false,\"severity\":\"safe\"},\"sexual\":{"
                                "\"filtered\":false,\"severity\":\"safe\"},\"violence\":{"
                                "\"filtered\":false,\"severity\":\"safe\"}}}]"));
}

static void respond_whole(sy_sim_call_t *call, oa_chat_t *st)
{
    sy_buf_t *b = &call->w->scratch;
    sy_buf_t *tmp = &call->w->scratch2;
    sy_buf_clear(b);
    sy_json_writer_t w;
    sy_json_writer_init(&w, b, 0);
    sy_json_write_begin_object(&w);
    /* The two per-response fields, for the answer cache. */
    sy_sim_slot_t slots[2] = {{.kind = SY_SIM_SLOT_ID, .len = OA_ID_LEN, .salt = OA_ID_SALT},
                              {.kind = SY_SIM_SLOT_CREATED}};
    sy_json_write_key_lit(&w, "id");
    sy_json_write_string(&w, st->id);
    slots[0].off = (uint32_t)(b->len - 1 - OA_ID_LEN);
    sy_json_write_key_lit(&w, "object");
    sy_json_write_string_lit(&w, "chat.completion");
    sy_json_write_key_lit(&w, "created");
    sy_json_write_u64(&w, st->created);
    char digits[20];
    slots[1].len = (uint32_t)sy_fmt_u64(digits, st->created);
    slots[1].off = (uint32_t)(b->len - slots[1].len);
    sy_json_write_key_lit(&w, "model");
    sy_json_write_string(&w, call->model->version);
    sy_json_write_key_lit(&w, "choices");
    sy_json_write_begin_array(&w);
    sy_json_write_begin_object(&w);
    sy_json_write_key_lit(&w, "index");
    sy_json_write_u64(&w, 0);
    if (st->azure) {
        sy_json_write_key_lit(&w, "content_filter_results");
        sy_json_write_raw(&w, SY_STR("{}"));
    }
    sy_json_write_key_lit(&w, "message");
    sy_json_write_begin_object(&w);
    sy_json_write_key_lit(&w, "role");
    sy_json_write_string_lit(&w, "assistant");
    sy_json_write_key_lit(&w, "content");
    if (st->has_text) {
        sy_buf_clear(tmp);
        sy_sim_text_all(&st->text, tmp);
        sy_json_write_string(&w, sy_buf_str(tmp));
    } else {
        sy_json_write_null(&w);
    }
    if (st->ncalls) {
        sy_json_write_key_lit(&w, "tool_calls");
        sy_json_write_begin_array(&w);
        for (uint32_t i = 0; i < st->ncalls; i++) {
            sy_json_write_begin_object(&w);
            sy_json_write_key_lit(&w, "id");
            sy_json_write_string(&w, st->calls[i].id);
            sy_json_write_key_lit(&w, "type");
            sy_json_write_string_lit(&w, "function");
            sy_json_write_key_lit(&w, "function");
            sy_json_write_begin_object(&w);
            sy_json_write_key_lit(&w, "name");
            sy_json_write_string(&w, st->calls[i].name);
            sy_json_write_key_lit(&w, "arguments");
            sy_json_write_string(&w, st->calls[i].args);
            sy_json_write_end_object(&w);
            sy_json_write_end_object(&w);
        }
        sy_json_write_end_array(&w);
    }
    sy_json_write_key_lit(&w, "refusal");
    sy_json_write_null(&w);
    sy_json_write_key_lit(&w, "annotations");
    sy_json_write_raw(&w, SY_STR("[]"));
    sy_json_write_end_object(&w);
    if (st->logprobs_field) {
        sy_json_write_key_lit(&w, "logprobs");
        sy_json_write_null(&w);
    }
    sy_json_write_key_lit(&w, "finish_reason");
    sy_json_write_string(&w, sy_str_c(st->finish));
    sy_json_write_end_object(&w);
    sy_json_write_end_array(&w);
    if (st->azure)
        write_prompt_filters(&w, false);
    write_usage(&w, st);
    if (!st->azure) {
        sy_json_write_key_lit(&w, "service_tier");
        sy_json_write_string_lit(&w, "default");
    }
    write_fingerprint(&w, st);
    sy_json_write_end_object(&w);
    if (sy_json_write_finish(&w) != SY_OK) {
        sy_sim_respond_error(call, 500, "response too large");
        return;
    }
    sy_buf_clear(tmp);
    sy_sim_cache_put(call, "application/json", sy_buf_ptr(b), b->len, st->completion_tokens, slots,
                     2);
    oa_headers(call);
    sy_sim_respond_json(call, 200, "application/json", sy_buf_ptr(b), b->len,
                        st->completion_tokens);
    sy_buf_clear(b);
}

/* --------------------------------------------------------------- stream --- */

/* Open a chunk: {"id":..,"object":..,"created":..,"model":..,
 * ["service_tier":..,]"system_fingerprint":..,"choices":[
 * The opening is the same in every chunk of a stream: formatted for the
 * first one, kept (st->chunk_head), then copied. The writer is brought to
 * the state the opening leaves (inside an object, then an empty array) by
 * writing {"choices":[ and replacing those bytes with the kept ones. */
static void chunk_begin(sy_sim_call_t *call, oa_chat_t *st, sy_json_writer_t *w, sy_buf_t *out)
{
    sy_buf_append_c(out, "data: ");
    sy_json_writer_init(w, out, 0);
    size_t at = out->len;
    if (st->chunk_head.p) {
        sy_json_write_begin_object(w);
        sy_json_write_key_lit(w, "choices");
        sy_json_write_begin_array(w);
        out->len = at;
        sy_buf_append(out, st->chunk_head.p, st->chunk_head.len);
        return;
    }
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "id");
    sy_json_write_string(w, st->id);
    sy_json_write_key_lit(w, "object");
    sy_json_write_string_lit(w, "chat.completion.chunk");
    sy_json_write_key_lit(w, "created");
    sy_json_write_u64(w, st->created);
    sy_json_write_key_lit(w, "model");
    sy_json_write_string(w, call->model->version);
    if (!st->azure) {
        sy_json_write_key_lit(w, "service_tier");
        sy_json_write_string_lit(w, "default");
    }
    write_fingerprint(w, st);
    sy_json_write_key_lit(w, "choices");
    sy_json_write_begin_array(w);
    if (w->err == SY_OK)
        st->chunk_head = sy_str_dup(call->req->arena, sy_str(sy_buf_ptr(out) + at, out->len - at));
}

/* The choice's opening: {"index":0,["content_filter_results":..,]"delta":{ */
static void choice_begin(oa_chat_t *st, sy_json_writer_t *w, bool filters)
{
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "index");
    sy_json_write_u64(w, 0);
    if (st->azure) {
        sy_json_write_key_lit(w, "content_filter_results");
        sy_json_write_raw(w, filters ? sy_str_c(azure_filters) : SY_STR("{}"));
    }
    sy_json_write_key_lit(w, "delta");
    sy_json_write_begin_object(w);
}

static void choice_end(oa_chat_t *st, sy_json_writer_t *w, const char *finish)
{
    sy_json_write_end_object(w); /* delta */
    if (st->logprobs_field) {
        sy_json_write_key_lit(w, "logprobs");
        sy_json_write_null(w);
    }
    sy_json_write_key_lit(w, "finish_reason");
    if (finish)
        sy_json_write_string(w, sy_str_c(finish));
    else
        sy_json_write_null(w);
    sy_json_write_end_object(w);
}

/* The obfuscation padding of the chunk being written: 1 to 16 characters. */
static void obfuscation_pad(sy_sim_call_t *call, sy_buf_t *out)
{
    sy_sim_id(call, "", 1 + (size_t)sy_sim_rand(call->nonce, call->events, 15), 1000 + call->events, out);
}

static void chunk_end(sy_sim_call_t *call, oa_chat_t *st, sy_json_writer_t *w, bool usage)
{
    sy_json_write_end_array(w); /* choices */
    if (usage)
        write_usage(w, st);
    else if (st->include_usage) {
        sy_json_write_key_lit(w, "usage");
        sy_json_write_null(w);
    }
    if (st->obfuscation) {
        char pad[24];
        sy_buf_t p = {.data = pad, .cap = sizeof(pad), .max = sizeof(pad)};
        obfuscation_pad(call, &p);
        sy_json_write_key_lit(w, "obfuscation");
        sy_json_write_string(w, sy_buf_str(&p));
    }
    sy_json_write_end_object(w);
    sy_json_write_finish(w);
    sy_buf_append_c(w->buf, "\n\n");
}

/*
 * A content chunk, the event a text stream is made of. Everything but the
 * text and the padding is the same in each: the chunk is formatted once with
 * an empty text and kept in two pieces around it (content_head, ending in
 * "content":, and content_tail, from the end of the delta up to the
 * padding); later chunks are the head, the text as a JSON string, the tail
 * and the padding.
 */
static void content_chunk(sy_sim_call_t *call, oa_chat_t *st, sy_str_t text, sy_buf_t *out)
{
    sy_json_writer_t w;
    if (st->content_head.p == NULL) {
        size_t at = out->len;
        chunk_begin(call, st, &w, out);
        choice_begin(st, &w, true);
        sy_json_write_key_lit(&w, "content");
        size_t head_end = out->len;
        sy_json_write_string_lit(&w, "");
        size_t tail_at = out->len;
        choice_end(st, &w, NULL);
        sy_json_write_end_array(&w); /* choices */
        if (st->include_usage) {
            sy_json_write_key_lit(&w, "usage");
            sy_json_write_null(&w);
        }
        if (w.err != SY_OK) {
            /* Out of buffer: the pieces were not kept; this chunk the long way. */
            out->len = at;
            chunk_begin(call, st, &w, out);
            choice_begin(st, &w, true);
            sy_json_write_key_lit(&w, "content");
            sy_json_write_string(&w, text);
            choice_end(st, &w, NULL);
            chunk_end(call, st, &w, false);
            return;
        }
        const char *p = sy_buf_ptr(out);
        st->content_head = sy_str_dup(call->req->arena, sy_str(p + at, head_end - at));
        st->content_tail = sy_str_dup(call->req->arena, sy_str(p + tail_at, out->len - tail_at));
        out->len = at;
    }
    sy_buf_append(out, st->content_head.p, st->content_head.len);
    sy_json_writer_init(&w, out, 0);
    sy_json_write_string(&w, text);
    sy_buf_append(out, st->content_tail.p, st->content_tail.len);
    if (st->obfuscation) {
        sy_buf_append_c(out, ",\"obfuscation\":\"");
        obfuscation_pad(call, out);
        sy_buf_append_c(out, "\"");
    }
    sy_buf_append_c(out, "}\n\n");
}

static void write_call_head(sy_json_writer_t *w, const oa_call_t *c, uint32_t index)
{
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "index");
    sy_json_write_u64(w, index);
    sy_json_write_key_lit(w, "id");
    sy_json_write_string(w, c->id);
    sy_json_write_key_lit(w, "type");
    sy_json_write_string_lit(w, "function");
    sy_json_write_key_lit(w, "function");
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "name");
    sy_json_write_string(w, c->name);
    sy_json_write_key_lit(w, "arguments");
    sy_json_write_string_lit(w, "");
    sy_json_write_end_object(w);
    sy_json_write_end_object(w);
}

static uint32_t oa_next(sy_sim_call_t *call, sy_buf_t *out, bool *last)
{
    oa_chat_t *st = call->fstate;
    sy_buf_t *tmp = &call->w->scratch2;
    sy_json_writer_t w;
    uint32_t cost = 0;
    switch (st->step) {
    case ST_FIRST:
        if (st->azure) {
            /* Azure's first chunk: no choices, the prompt filter results. */
            sy_buf_append_c(out, "data: ");
            sy_json_writer_init(&w, out, 0);
            sy_json_write_begin_object(&w);
            sy_json_write_key_lit(&w, "choices");
            sy_json_write_raw(&w, SY_STR("[]"));
            sy_json_write_key_lit(&w, "created");
            sy_json_write_u64(&w, 0);
            sy_json_write_key_lit(&w, "id");
            sy_json_write_string_lit(&w, "");
            sy_json_write_key_lit(&w, "model");
            sy_json_write_string_lit(&w, "");
            sy_json_write_key_lit(&w, "object");
            sy_json_write_string_lit(&w, "");
            write_prompt_filters(&w, true);
            sy_json_write_end_object(&w);
            sy_json_write_finish(&w);
            sy_buf_append_c(out, "\n\n");
            st->step = ST_AZURE_FILTER;
            return 0;
        }
        /* fall through */
    case ST_AZURE_FILTER:
        chunk_begin(call, st, &w, out);
        choice_begin(st, &w, false);
        sy_json_write_key_lit(&w, "role");
        sy_json_write_string_lit(&w, "assistant");
        sy_json_write_key_lit(&w, "content");
        if (st->ncalls) {
            sy_json_write_null(&w);
            sy_json_write_key_lit(&w, "tool_calls");
            sy_json_write_begin_array(&w);
            write_call_head(&w, &st->calls[0], 0);
            sy_json_write_end_array(&w);
            cost = (uint32_t)sy_sim_tokens(st->calls[0].name);
            st->step = ST_CALL_ARGS;
        } else {
            sy_json_write_string_lit(&w, "");
            st->step = st->has_text && st->text.ntokens ? ST_CONTENT : ST_FINISH;
        }
        sy_json_write_key_lit(&w, "refusal");
        sy_json_write_null(&w);
        choice_end(st, &w, NULL);
        chunk_end(call, st, &w, false);
        return cost + st->reasoning_tokens;
    case ST_CONTENT: {
        sy_buf_clear(tmp);
        cost = sy_sim_text_take(&st->text, 1, tmp);
        if (sy_sim_text_done(&st->text))
            st->step = st->ncalls ? ST_CALL_START : ST_FINISH;
        content_chunk(call, st, sy_buf_str(tmp), out);
        sy_buf_clear(tmp);
        return cost;
    }
    case ST_CALL_START: {
        /* The next parallel call's head. */
        oa_call_t *c = &st->calls[st->ci];
        chunk_begin(call, st, &w, out);
        choice_begin(st, &w, false);
        sy_json_write_key_lit(&w, "tool_calls");
        sy_json_write_begin_array(&w);
        write_call_head(&w, c, st->ci);
        sy_json_write_end_array(&w);
        choice_end(st, &w, NULL);
        chunk_end(call, st, &w, false);
        st->step = ST_CALL_ARGS;
        return (uint32_t)sy_sim_tokens(c->name);
    }
    case ST_CALL_ARGS: {
        oa_call_t *c = &st->calls[st->ci];
        sy_buf_clear(tmp);
        /* Fragments of one to three tokens, as the real API streams them. */
        cost = sy_sim_text_take(&c->at, 1 + (uint32_t)sy_sim_rand(call->seed, c->at.pos, 3), tmp);
        if (sy_sim_text_done(&c->at)) {
            st->ci++;
            st->step = st->ci < st->ncalls ? ST_CALL_START : ST_FINISH;
        }
        if (tmp->len == 0)
            return oa_next(call, out, last);
        chunk_begin(call, st, &w, out);
        choice_begin(st, &w, false);
        sy_json_write_key_lit(&w, "tool_calls");
        sy_json_write_begin_array(&w);
        sy_json_write_begin_object(&w);
        sy_json_write_key_lit(&w, "index");
        sy_json_write_u64(&w, st->ci - (st->step == ST_CALL_ARGS ? 0 : 1));
        sy_json_write_key_lit(&w, "function");
        sy_json_write_begin_object(&w);
        sy_json_write_key_lit(&w, "arguments");
        sy_json_write_string(&w, sy_buf_str(tmp));
        sy_json_write_end_object(&w);
        sy_json_write_end_object(&w);
        sy_json_write_end_array(&w);
        choice_end(st, &w, NULL);
        chunk_end(call, st, &w, false);
        sy_buf_clear(tmp);
        return cost;
    }
    case ST_FINISH:
        chunk_begin(call, st, &w, out);
        choice_begin(st, &w, false);
        choice_end(st, &w, st->finish);
        chunk_end(call, st, &w, false);
        st->step = st->include_usage ? ST_USAGE : ST_DONE;
        if (st->step == ST_DONE) {
            sy_buf_append_c(out, "data: [DONE]\n\n");
            *last = true;
        }
        return 0;
    case ST_USAGE:
    default:
        chunk_begin(call, st, &w, out);
        chunk_end(call, st, &w, true);
        sy_buf_append_c(out, "data: [DONE]\n\n");
        *last = true;
        st->step = ST_DONE;
        return 0;
    }
}

static void oa_stream_error(sy_sim_call_t *call, int status, sy_buf_t *out)
{
    const char *type = status == 429 ? "requests" : "server_error";
    const char *msg = status == 429 ? "Rate limit reached for requests (simulated)."
                                    : "The server had an error while processing your request. "
                                      "Sorry about that! (simulated)";
    sy_buf_printf(out,
                  "data: {\"error\":{\"message\":\"%s\",\"type\":\"%s\",\"param\":null,"
                  "\"code\":%s}}\n\n",
                  msg, type, status == 429 ? "\"rate_limit_exceeded\"" : "null");
    SY_UNUSED(call);
}

static void oa_stream_malformed(sy_sim_call_t *call, sy_buf_t *out)
{
    oa_chat_t *st = call->fstate;
    sy_buf_printf(out, "data: {\"id\":\"%.*s\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":\n\n",
                  SY_STR_FMT(st->id));
}

static const sy_sim_stream_ops_t oa_stream_ops = {
    .content_type = "text/event-stream; charset=utf-8",
    .next = oa_next,
    .error_event = oa_stream_error,
    .malformed_event = oa_stream_malformed,
};

/* ----------------------------------------------------------------- entry --- */

void oa_chat(sy_sim_call_t *call, const oa_route_t *rt)
{
    sy_arena_t *a = call->req->arena;
    const sy_json_t *body = call->body;
    for (uint32_t i = 0; i < body->u.obj.len; i++) {
        sy_str_t k = body->u.obj.items[i].key;
        bool known = false;
        for (size_t j = 0; known_params[j] && !known; j++)
            known = sy_str_eq_c(k, known_params[j]);
        if (!known) {
            bad(call,
                BAD("Unrecognized request argument supplied: %.*s", (int)SY_MIN(k.len, (size_t)100), k.p),
                NULL, NULL);
            return;
        }
    }
    const sy_sim_model_t *model = oa_model(call, rt, SY_SIM_KIND_CHAT);
    if (model == NULL)
        return;
    bool after_tools = false;
    if (!check_messages(call, &after_tools))
        return;
    const sy_json_t *v;
    /* Reasoning models refuse max_tokens, as in the recordings. */
    v = sy_json_get(body, "max_tokens");
    if (model->reasoning && v && v->type != SY_JSON_NULL) {
        bad(call,
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
            "'max_completion_tokens' instead.",
            "max_tokens", "unsupported_parameter");
        return;
    }
    if (!check_number(call, "max_tokens", 1, 1e9, true) ||
        !check_number(call, "max_completion_tokens", 1, 1e9, true) ||
        !check_number(call, "temperature", 0, 2, false) || !check_number(call, "top_p", 0, 1, false) ||
        !check_number(call, "n", 1, 128, true) ||
        !check_number(call, "presence_penalty", -2, 2, false) ||
        !check_number(call, "frequency_penalty", -2, 2, false) ||
        !check_bool(call, body, "stream", "stream") ||
        !check_bool(call, body, "parallel_tool_calls", "parallel_tool_calls"))
        return;
    bool stream = sy_json_get(body, "stream") && sy_json_get(body, "stream")->type == SY_JSON_TRUE;
    const sy_json_t *so = sy_json_get(body, "stream_options");
    if (so && so->type != SY_JSON_NULL) {
        if (!stream) {
            bad(call, "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                "stream_options", NULL);
            return;
        }
        if (so->type != SY_JSON_OBJECT) {
            bad(call,
                BAD("Invalid type for 'stream_options': expected an object, but got %s instead.",
                    oa_type_phrase(so)),
                "stream_options", "invalid_type");
            return;
        }
        if (!check_bool(call, so, "include_usage", "stream_options.include_usage") ||
            !check_bool(call, so, "include_obfuscation", "stream_options.include_obfuscation"))
            return;
    }
    const sy_json_t *tools;
    sy_sim_choice_t choice;
    sy_str_t forced;
    if (!check_tools(call, &tools, &choice, &forced))
        return;
    /* stop: a string or up to 4 strings. */
    sy_str_t stops[OA_MAX_STOPS];
    size_t nstops = 0;
    v = sy_json_get(body, "stop");
    if (v && v->type == SY_JSON_STRING) {
        stops[nstops++] = v->u.str;
    } else if (v && v->type == SY_JSON_ARRAY) {
        if (v->u.arr.len > OA_MAX_STOPS) {
            bad(call,
                BAD("Invalid 'stop': array too long. Expected an array with maximum length 4, but "
                    "got an array with length %u instead.",
                    v->u.arr.len),
                "stop", "array_above_max_length");
            return;
        }
        for (uint32_t i = 0; i < v->u.arr.len; i++) {
            if (v->u.arr.items[i].type != SY_JSON_STRING) {
                bad(call, "Invalid type for 'stop': expected a string or an array of strings.",
                    "stop", "invalid_type");
                return;
            }
            stops[nstops++] = v->u.arr.items[i].u.str;
        }
    } else if (v && v->type != SY_JSON_NULL) {
        bad(call,
            BAD("Invalid type for 'stop': expected one of a string or array of strings, but got %s "
                "instead.",
                oa_type_phrase(v)),
            "stop", "invalid_type");
        return;
    }
    /* response_format */
    const sy_json_t *schema = NULL;
    bool json_mode = false;
    v = sy_json_get(body, "response_format");
    if (v && v->type != SY_JSON_NULL) {
        sy_str_t t = sy_json_str(sy_json_get(v, "type"));
        if (sy_str_eq_c(t, "json_object")) {
            json_mode = true;
            if (!contains_json_word(sy_json_get(body, "messages"))) {
                bad(call,
                    "'messages' must contain the word 'json' in some form, to use "
                    "'response_format' of type 'json_object'.",
                    "messages", NULL);
                return;
            }
        } else if (sy_str_eq_c(t, "json_schema")) {
            const sy_json_t *js = sy_json_get(v, "json_schema");
            if (!sy_json_is(js, SY_JSON_OBJECT)) {
                bad(call, "Missing required parameter: 'response_format.json_schema'.",
                    "response_format.json_schema", "missing_required_parameter");
                return;
            }
            if (!sy_json_is(sy_json_get(js, "name"), SY_JSON_STRING)) {
                bad(call, "Missing required parameter: 'response_format.json_schema.name'.",
                    "response_format.json_schema.name", "missing_required_parameter");
                return;
            }
            json_mode = true;
            schema = sy_json_get(js, "schema");
        } else if (!sy_str_eq_c(t, "text")) {
            bad(call,
                BAD("Invalid value: '%.*s'. Supported values are: 'json_object', 'json_schema', "
                    "and 'text'.",
                    (int)SY_MIN(t.len, (size_t)64), t.p ? t.p : ""),
                "response_format.type", "invalid_value");
            return;
        }
    }
    /* Prompt size against the context window. */
    uint32_t prompt = (uint32_t)(sy_sim_tokens_json(sy_json_get(body, "messages")) +
                                 sy_sim_tokens_json(tools));
    if (model->context_window && prompt > model->context_window) {
        bad(call,
            BAD("This model's maximum context length is %u tokens. However, your messages "
                "resulted in %u tokens. Please reduce the length of the messages.",
                model->context_window, prompt),
            "messages", "context_length_exceeded");
        return;
    }

    call->stream = stream;
    if (sy_sim_prepare(call, model) != SY_OK)
        return;

    oa_chat_t *st = sy_arena_calloc(a, sizeof(*st));
    call->fstate = st;
    st->rt = rt;
    st->azure = rt->azure;
    st->created = sy_sim_unix_now();
    st->fingerprint = oa_fingerprint(call);
    st->prompt_tokens = prompt;
    st->logprobs_field = rt->azure || !sy_str_starts_with(model->name, SY_STR("gpt-5"));
    st->include_usage = stream && sy_json_get(so, "include_usage") &&
                        sy_json_get(so, "include_usage")->type == SY_JSON_TRUE;
    const sy_json_t *obf = sy_json_get(so, "include_obfuscation");
    st->obfuscation = stream && !(obf && obf->type == SY_JSON_FALSE);
    sy_buf_t *tmp = &call->w->scratch2;
    sy_buf_clear(tmp);
    sy_sim_id(call, "chatcmpl-", OA_ID_LEN, OA_ID_SALT, tmp);
    st->id = sy_str_dup(a, sy_buf_str(tmp));

    uint64_t max = 0;
    if (sy_json_as_u64(sy_json_get(body, "max_completion_tokens"), &max) != SY_OK)
        sy_json_as_u64(sy_json_get(body, "max_tokens"), &max);
    /* Reasoning models spend hidden tokens first; they count against
     * max_completion_tokens and may use all of it (finish_reason length). */
    if (model->reasoning)
        st->reasoning_tokens = SY_MIN(call->bhv.output_tokens, 64u);
    if (max && st->reasoning_tokens > max)
        st->reasoning_tokens = (uint32_t)max;
    st->completion_tokens = st->reasoning_tokens;
    uint32_t ncalls = sy_sim_tool_plan(call, sy_json_len(tools), choice, after_tools);
    const sy_json_t *ptc = sy_json_get(body, "parallel_tool_calls");
    if (ncalls > 1 && ptc && ptc->type == SY_JSON_FALSE)
        ncalls = 1;
    st->finish = "stop";
    if (ncalls) {
        plan_calls(call, st, tools, ncalls, forced);
        st->finish = "tool_calls";
    } else {
        st->has_text = true;
        if (json_mode) {
            sy_buf_clear(tmp);
            sy_json_writer_t w;
            sy_json_writer_init(&w, tmp, 0);
            sy_sim_gen_json(call->seed, schema, &w);
            sy_json_write_finish(&w);
            sy_sim_text_fixed(&st->text, sy_str_dup(a, sy_buf_str(tmp)));
        } else {
            sy_sim_text_words(&st->text, call->seed, call->bhv.output_tokens, stops, nstops, NULL,
                              tmp);
        }
        uint32_t room = max ? (uint32_t)SY_MIN(max, (uint64_t)UINT32_MAX) : UINT32_MAX;
        room = room > st->reasoning_tokens ? room - st->reasoning_tokens : 0;
        if (st->text.ntokens > room) {
            st->text.ntokens = room;
            st->text.clip = 0;
            st->finish = "length";
        }
        st->completion_tokens += sy_sim_text_count(&st->text);
    }
    sy_buf_clear(tmp);
    if (stream) {
        oa_headers(call);
        sy_sim_stream(call, &oa_stream_ops);
    } else {
        respond_whole(call, st);
    }
}
