/*
 * anthropic.c - the Anthropic family: POST /v1/messages (whole and
 * streamed), POST /v1/messages/count_tokens and GET /v1/models (when the
 * request carries Anthropic's headers).
 *
 * Validation follows the real API's rules and wording (tests/data/
 * transcripts/anthropic/): x-api-key and anthropic-version required,
 * max_tokens required, roles user/assistant starting with user and
 * alternating, every tool_result answering a tool_use of the previous
 * assistant turn and every tool_use answered in the next user turn, known
 * block types, image sources, thinking budgets. Errors are
 * {"type":"error","error":{"type","message"},"request_id"}.
 *
 * The stream is message_start, then per block content_block_start, deltas
 * (thinking_delta + signature_delta, text_delta, input_json_delta starting
 * with ""), content_block_stop, a ping after the first block start, then
 * message_delta with the stop reason and cumulative usage, message_stop;
 * each as "event: TYPE\ndata: JSON\n\n".
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sim/sim.h"

#define AN_MAX_STOPS 8
#define AN_ID_LEN 18 /* characters after "msg_01" */
#define AN_ID_SALT 0

enum { BK_THINKING, BK_TEXT, BK_TOOL };

typedef struct {
    uint8_t kind;
    sy_sim_text_t text; /* thinking, text, or the tool input JSON */
    sy_str_t id, name, input, signature;
} an_block_t;

typedef struct {
    sy_str_t id;
    an_block_t *blocks;
    uint32_t nblocks;
    const char *stop_reason;
    sy_str_t stop_sequence; /* p == NULL: null */
    uint32_t input_tokens, output_tokens;
    /* stream position */
    uint8_t step;
    uint32_t bi;
    bool pinged;
} an_msg_t;

enum { S_START, S_BLOCK_START, S_PING, S_BLOCK_FIRST, S_BLOCK_DELTA, S_SIGNATURE, S_BLOCK_STOP,
       S_DELTA, S_STOP, S_DONE };

/* ---------------------------------------------------------------- errors --- */

static const char *error_type(int status)
{
    switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 529: return "overloaded_error";
    default: return "api_error";
    }
}

static void an_headers(sy_sim_call_t *call)
{
    enum { ID_LEN = 8 + 16 };
    char *id = sy_arena_alloc(call->req->arena, ID_LEN);
    sy_buf_t b = {.data = id, .cap = ID_LEN, .max = ID_LEN};
    sy_sim_id(call, "req_011C", 16, 2, &b);
    sy_http_add_header_ref(call->req, SY_STR("request-id"), sy_buf_str(&b));
    sy_http_add_header_ref(call->req, SY_STR("anthropic-organization-id"),
                           SY_STR("00000000-0000-4000-8000-000000000000"));
}

static void write_error(sy_sim_call_t *call, int status, const char *message, sy_buf_t *out,
                        bool request_id)
{
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    sy_json_write_begin_object(&w);
    sy_json_write_key_lit(&w, "type");
    sy_json_write_string_lit(&w, "error");
    sy_json_write_key_lit(&w, "error");
    sy_json_write_begin_object(&w);
    sy_json_write_key_lit(&w, "type");
    sy_json_write_string(&w, sy_str_c(error_type(status)));
    sy_json_write_key_lit(&w, "message");
    sy_json_write_string(&w, sy_str_c(message));
    sy_json_write_end_object(&w);
    if (request_id) {
        char id[64];
        sy_buf_t b = {.data = id, .cap = sizeof(id), .max = sizeof(id)};
        sy_sim_id(call, "req_011C", 16, 2, &b);
        sy_json_write_key_lit(&w, "request_id");
        sy_json_write_string(&w, sy_buf_str(&b));
    }
    sy_json_write_end_object(&w);
    sy_json_write_finish(&w);
}

static const char *an_error_body(sy_sim_call_t *call, int status, const char *message, sy_buf_t *out)
{
    write_error(call, status, message, out, true);
    an_headers(call);
    return "application/json";
}

/* Answer an error now (validation: before any behaviour applies). */
static bool an_fail(sy_sim_call_t *call, int status, const char *message)
{
    sy_buf_t *b = &call->w->scratch;
    sy_buf_clear(b);
    write_error(call, status, message, b, true);
    an_headers(call);
    sy_http_respond(call->req, status, "application/json", sy_buf_ptr(b), b->len);
    sy_buf_clear(b);
    return false;
}

#define BAD(...) an_fail(call, 400, sy_arena_sprintf(call->req->arena, __VA_ARGS__))

/* ------------------------------------------------------------ validation --- */

static bool id_in(const sy_json_t *ids, sy_str_t id)
{
    for (size_t i = 0; i < sy_json_len(ids); i++)
        if (sy_str_eq(sy_json_str(sy_json_index(ids, i)), id))
            return true;
    return false;
}

/* One content block of message mi. tool_uses collects the assistant's
 * tool_use ids (an array built in the arena). */
static bool check_block(sy_sim_call_t *call, const sy_json_t *b, size_t mi, size_t bi, bool user,
                        sy_json_t *tool_uses)
{
    sy_arena_t *a = call->req->arena;
    if (b->type != SY_JSON_OBJECT)
        return BAD("messages.%zu.content.%zu: Input should be a valid dictionary or object", mi, bi);
    sy_str_t t = sy_json_str(sy_json_get(b, "type"));
    if (t.p == NULL)
        return BAD("messages.%zu.content.%zu: Unable to extract tag using discriminator 'type'", mi, bi);
    if (sy_str_eq_c(t, "text")) {
        if (!sy_json_is(sy_json_get(b, "text"), SY_JSON_STRING))
            return BAD("messages.%zu.content.%zu.text.text: Field required", mi, bi);
        if (sy_json_get(b, "text")->u.str.len == 0)
            return BAD("messages: text content blocks must be non-empty");
        return true;
    }
    if (user && (sy_str_eq_c(t, "image") || sy_str_eq_c(t, "document"))) {
        const sy_json_t *src = sy_json_get(b, "source");
        sy_str_t st = sy_json_str(sy_json_get(src, "type"));
        if (sy_str_eq_c(st, "base64")) {
            sy_str_t mt = sy_json_str(sy_json_get(src, "media_type"));
            if (sy_str_eq_c(t, "image") &&
                !(sy_str_eq_c(mt, "image/jpeg") || sy_str_eq_c(mt, "image/png") ||
                  sy_str_eq_c(mt, "image/gif") || sy_str_eq_c(mt, "image/webp")))
                return BAD("messages.%zu.content.%zu.image.source.base64.media_type: Input should "
                           "be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'",
                           mi, bi);
            if (!sy_json_is(sy_json_get(src, "data"), SY_JSON_STRING))
                return BAD("messages.%zu.content.%zu.%.*s.source.base64.data: Field required", mi,
                           bi, SY_STR_FMT(t));
            return true;
        }
        if (sy_str_eq_c(st, "url")) {
            if (!sy_json_is(sy_json_get(src, "url"), SY_JSON_STRING))
                return BAD("messages.%zu.content.%zu.%.*s.source.url.url: Field required", mi, bi,
                           SY_STR_FMT(t));
            return true;
        }
        if (sy_str_eq_c(st, "text") || sy_str_eq_c(st, "content") || sy_str_eq_c(st, "file"))
            return true;
        return BAD("messages.%zu.content.%zu.%.*s.source: Input tag '%.*s' found using 'type' does "
                   "not match any of the expected tags: 'base64', 'url'",
                   mi, bi, SY_STR_FMT(t), (int)SY_MIN(st.len, (size_t)40), st.p ? st.p : "");
    }
    if (user && sy_str_eq_c(t, "tool_result")) {
        sy_str_t id = sy_json_str(sy_json_get(b, "tool_use_id"));
        if (id.p == NULL)
            return BAD("messages.%zu.content.%zu.tool_result.tool_use_id: Field required", mi, bi);
        return true; /* matched against the previous turn by the caller */
    }
    if (user && sy_str_eq_c(t, "search_result"))
        return true;
    if (!user && sy_str_eq_c(t, "tool_use")) {
        const sy_json_t *id = sy_json_get(b, "id");
        if (!sy_json_is(id, SY_JSON_STRING))
            return BAD("messages.%zu.content.%zu.tool_use.id: Field required", mi, bi);
        if (!sy_json_is(sy_json_get(b, "name"), SY_JSON_STRING))
            return BAD("messages.%zu.content.%zu.tool_use.name: Field required", mi, bi);
        if (!sy_json_is(sy_json_get(b, "input"), SY_JSON_OBJECT))
            return BAD("messages.%zu.content.%zu.tool_use.input: Input should be a valid dictionary",
                       mi, bi);
        sy_json_append(a, tool_uses, id);
        return true;
    }
    if (!user && (sy_str_eq_c(t, "thinking") || sy_str_eq_c(t, "redacted_thinking") ||
                  sy_str_eq_c(t, "server_tool_use") || sy_str_eq_c(t, "web_search_tool_result")))
        return true;
    return BAD("messages.%zu.content.%zu: Input tag '%.*s' found using 'type' does not match any of "
               "the expected tags: %s",
               mi, bi, (int)SY_MIN(t.len, (size_t)40), t.p,
               user ? "'text', 'image', 'document', 'search_result', 'tool_result'"
                    : "'text', 'thinking', 'redacted_thinking', 'tool_use', 'server_tool_use'");
}

static bool check_messages(sy_sim_call_t *call, const sy_json_t *msgs, bool *after_tools)
{
    sy_arena_t *a = call->req->arena;
    if (msgs == NULL || msgs->type == SY_JSON_NULL)
        return an_fail(call, 400, "messages: Field required");
    if (msgs->type != SY_JSON_ARRAY)
        return an_fail(call, 400, "messages: Input should be a valid list");
    if (msgs->u.arr.len == 0)
        return an_fail(call, 400, "messages: at least one message is required");
    sy_json_t *prev_uses = sy_json_new_array(a);
    for (uint32_t i = 0; i < msgs->u.arr.len; i++) {
        const sy_json_t *m = &msgs->u.arr.items[i];
        if (m->type != SY_JSON_OBJECT)
            return BAD("messages.%u: Input should be a valid dictionary", i);
        sy_str_t role = sy_json_str(sy_json_get(m, "role"));
        if (role.p == NULL)
            return BAD("messages.%u.role: Field required", i);
        bool user = sy_str_eq_c(role, "user");
        if (!user && !sy_str_eq_c(role, "assistant"))
            return BAD("messages.%u.role: Input should be 'user' or 'assistant'", i);
        if (i == 0 && !user)
            return an_fail(call, 400, "messages: first message must use the \"user\" role");
        if (i > 0 && sy_str_eq(role, sy_json_str(sy_json_get(&msgs->u.arr.items[i - 1], "role"))))
            return BAD("messages: roles must alternate between \"user\" and \"assistant\", but "
                       "found multiple \"%.*s\" roles in a row",
                       SY_STR_FMT(role));
        const sy_json_t *content = sy_json_get(m, "content");
        if (content == NULL)
            return BAD("messages.%u.content: Field required", i);
        sy_json_t *uses = sy_json_new_array(a);
        bool has_result = false;
        if (content->type == SY_JSON_ARRAY) {
            for (uint32_t k = 0; k < content->u.arr.len; k++) {
                const sy_json_t *b = &content->u.arr.items[k];
                if (!check_block(call, b, i, k, user, uses))
                    return false;
                if (user && sy_str_eq_c(sy_json_str(sy_json_get(b, "type")), "tool_result")) {
                    sy_str_t id = sy_json_str(sy_json_get(b, "tool_use_id"));
                    has_result = true;
                    if (!id_in(prev_uses, id))
                        return BAD("messages.%u.content.%u: unexpected `tool_use_id` found in "
                                   "`tool_result` blocks: %.*s. Each `tool_result` block must "
                                   "have a corresponding `tool_use` block in the previous message.",
                                   i, k, (int)SY_MIN(id.len, (size_t)100), id.p);
                }
            }
        } else if (content->type != SY_JSON_STRING) {
            return BAD("messages.%u.content: Input should be a valid list", i);
        } else if (content->u.str.len == 0 && (i + 1 < msgs->u.arr.len || user)) {
            return BAD("messages.%u: all messages must have non-empty content except for the "
                       "optional final assistant message",
                       i);
        }
        /* Every tool_use of the previous assistant turn needs its result here. */
        if (user && sy_json_len(prev_uses)) {
            for (size_t k = 0; k < sy_json_len(prev_uses); k++) {
                sy_str_t id = sy_json_str(sy_json_index(prev_uses, k));
                bool found = false;
                for (size_t j = 0; content->type == SY_JSON_ARRAY && j < content->u.arr.len; j++) {
                    const sy_json_t *b = &content->u.arr.items[j];
                    found |= sy_str_eq_c(sy_json_str(sy_json_get(b, "type")), "tool_result") &&
                             sy_str_eq(sy_json_str(sy_json_get(b, "tool_use_id")), id);
                }
                if (!found)
                    return BAD("messages.%u: `tool_use` ids were found without `tool_result` "
                               "blocks immediately after: %.*s. Each `tool_use` block must have a "
                               "corresponding `tool_result` block in the next message.",
                               i - 1, (int)SY_MIN(id.len, (size_t)100), id.p);
            }
        }
        prev_uses = user ? sy_json_new_array(a) : uses;
        *after_tools = user && has_result;
    }
    return true;
}

static bool check_tools(sy_sim_call_t *call, const sy_json_t *tools)
{
    if (tools == NULL || tools->type == SY_JSON_NULL)
        return true;
    if (tools->type != SY_JSON_ARRAY)
        return an_fail(call, 400, "tools: Input should be a valid list");
    for (uint32_t i = 0; i < tools->u.arr.len; i++) {
        const sy_json_t *t = &tools->u.arr.items[i];
        if (t->type != SY_JSON_OBJECT)
            return BAD("tools.%u: Input should be a valid dictionary", i);
        sy_str_t type = sy_json_str(sy_json_get(t, "type"));
        sy_str_t name = sy_json_str(sy_json_get(t, "name"));
        if (name.p == NULL)
            return BAD("tools.%u.custom.name: Field required", i);
        if (type.p && !sy_str_eq_c(type, "custom"))
            continue; /* a server tool (web_search_20250305, ...): accepted as is */
        if (!sy_sim_tool_name_ok(name, 128))
            return BAD("tools.%u.custom.name: String should match pattern "
                       "'^[a-zA-Z0-9_-]{1,128}$'",
                       i);
        const sy_json_t *schema = sy_json_get(t, "input_schema");
        if (schema == NULL)
            return BAD("tools.%u.custom.input_schema: Field required", i);
        if (schema->type != SY_JSON_OBJECT)
            return BAD("tools.%u.custom.input_schema: Input should be a valid dictionary", i);
        sy_str_t st = sy_json_str(sy_json_get(schema, "type"));
        if (!sy_str_eq_c(st, "object"))
            return BAD("tools.%u.custom.input_schema.type: Input should be 'object'", i);
    }
    return true;
}

static const char *const known_params[] = {
    "model", "messages", "max_tokens", "system", "stop_sequences", "stream", "temperature",
    "top_p", "top_k", "tools", "tool_choice", "thinking", "metadata", "service_tier",
    "container", "mcp_servers", "context_management", "output_format", "betas", NULL};

/* The request's parts shared by /v1/messages and count_tokens. */
typedef struct {
    const sy_sim_model_t *model;
    const sy_json_t *tools;
    bool after_tools;
    uint32_t input_tokens;
} an_req_t;

static bool check_common(sy_sim_call_t *call, an_req_t *r, bool count_only)
{
    sy_arena_t *a = call->req->arena;
    const sy_json_t *body = call->body;
    for (uint32_t i = 0; i < body->u.obj.len; i++) {
        sy_str_t k = body->u.obj.items[i].key;
        bool known = false;
        for (size_t j = 0; known_params[j] && !known; j++)
            known = sy_str_eq_c(k, known_params[j]);
        if (count_only && (sy_str_eq_c(k, "max_tokens") || sy_str_eq_c(k, "stream") ||
                           sy_str_eq_c(k, "stop_sequences") || sy_str_eq_c(k, "temperature")))
            known = false;
        if (!known)
            return BAD("%.*s: Extra inputs are not permitted", (int)SY_MIN(k.len, (size_t)100), k.p);
    }
    const sy_json_t *mv = sy_json_get(body, "model");
    if (mv == NULL)
        return an_fail(call, 400, "model: Field required");
    if (mv->type != SY_JSON_STRING)
        return an_fail(call, 400, "model: Input should be a valid string");
    if (!check_messages(call, sy_json_get(body, "messages"), &r->after_tools))
        return false;
    const sy_json_t *sys = sy_json_get(body, "system");
    if (sys && sys->type != SY_JSON_NULL && sys->type != SY_JSON_STRING) {
        if (sys->type != SY_JSON_ARRAY)
            return an_fail(call, 400, "system: Input should be a valid list");
        for (uint32_t i = 0; i < sys->u.arr.len; i++)
            if (!sy_str_eq_c(sy_json_str(sy_json_get(&sys->u.arr.items[i], "type")), "text") ||
                !sy_json_is(sy_json_get(&sys->u.arr.items[i], "text"), SY_JSON_STRING))
                return BAD("system.%u: Input tag found using 'type' does not match any of the "
                           "expected tags: 'text'",
                           i);
    }
    r->tools = sy_json_get(body, "tools");
    if (!check_tools(call, r->tools))
        return false;
    const sy_json_t *tc = sy_json_get(body, "tool_choice");
    if (tc && tc->type != SY_JSON_NULL) {
        sy_str_t t = sy_json_str(sy_json_get(tc, "type"));
        if (!(sy_str_eq_c(t, "auto") || sy_str_eq_c(t, "any") || sy_str_eq_c(t, "tool") ||
              sy_str_eq_c(t, "none")))
            return an_fail(call, 400,
                           "tool_choice: Input tag found using 'type' does not match any of the "
                           "expected tags: 'auto', 'any', 'tool', 'none'");
        if (sy_str_eq_c(t, "tool") && !sy_json_is(sy_json_get(tc, "name"), SY_JSON_STRING))
            return an_fail(call, 400, "tool_choice.tool.name: Field required");
    }
    r->model = sy_sim_model_find(call->sim, mv->u.str, SY_SIM_FAMILY_ANTHROPIC);
    if (r->model == NULL || r->model->kind != SY_SIM_KIND_CHAT) {
        an_fail(call, 404,
                sy_arena_sprintf(a, "model: %.*s", (int)SY_MIN(mv->u.str.len, (size_t)200),
                                 mv->u.str.p));
        return false;
    }
    r->input_tokens = (uint32_t)(sy_sim_tokens_json(sy_json_get(body, "messages")) +
                                 sy_sim_tokens_json(sys) + sy_sim_tokens_json(r->tools));
    return true;
}

/* ------------------------------------------------------------------ plan --- */

static const sy_json_t *pick_tool(const sy_json_t *tools, size_t i, sy_str_t forced)
{
    size_t n = sy_json_len(tools);
    if (forced.p)
        for (size_t k = 0; k < n; k++)
            if (sy_str_eq(sy_json_str(sy_json_get(sy_json_index(tools, k), "name")), forced))
                return sy_json_index(tools, k);
    /* Custom tools only: the simulator does not run server tools. */
    for (size_t k = 0; k < n; k++) {
        const sy_json_t *t = sy_json_index(tools, (i + k) % n);
        sy_str_t type = sy_json_str(sy_json_get(t, "type"));
        if (type.p == NULL || sy_str_eq_c(type, "custom"))
            return t;
    }
    return NULL;
}

static void plan(sy_sim_call_t *call, an_msg_t *msg, const an_req_t *r, uint64_t max_tokens)
{
    sy_arena_t *a = call->req->arena;
    const sy_json_t *body = call->body;
    sy_buf_t *tmp = &call->w->scratch2;
    msg->blocks = sy_arena_calloc(a, (2 + SY_SIM_MAX_TOOL_CALLS) * sizeof(an_block_t));
    msg->stop_reason = "end_turn";
    uint64_t room = max_tokens;
    /* Thinking first, when enabled: half the output, within the budget. */
    const sy_json_t *th = sy_json_get(body, "thinking");
    if (sy_str_eq_c(sy_json_str(sy_json_get(th, "type")), "enabled")) {
        uint64_t budget = 1024;
        sy_json_as_u64(sy_json_get(th, "budget_tokens"), &budget);
        uint32_t n = (uint32_t)SY_MIN(SY_MIN((uint64_t)SY_MAX(call->bhv.output_tokens / 2, 4u), budget), room);
        an_block_t *b = &msg->blocks[msg->nblocks++];
        b->kind = BK_THINKING;
        sy_sim_text_words(&b->text, call->seed ^ 0x7468696e6bULL, n, NULL, 0, NULL, tmp);
        sy_buf_clear(tmp);
        sy_sim_id_seeded(call, "Eq", 200, 3, tmp);
        sy_buf_append_c(tmp, "==");
        b->signature = sy_str_dup(a, sy_buf_str(tmp));
        sy_buf_clear(tmp);
        room -= n;
        msg->output_tokens += n;
    }
    /* Tool calls, or text. */
    sy_sim_choice_t choice = SY_SIM_CHOICE_AUTO;
    sy_str_t forced = SY_STR_NULL;
    const sy_json_t *tc = sy_json_get(body, "tool_choice");
    sy_str_t tct = sy_json_str(sy_json_get(tc, "type"));
    if (sy_str_eq_c(tct, "none"))
        choice = SY_SIM_CHOICE_NONE;
    else if (sy_str_eq_c(tct, "any"))
        choice = SY_SIM_CHOICE_REQUIRED;
    else if (sy_str_eq_c(tct, "tool")) {
        choice = SY_SIM_CHOICE_REQUIRED;
        forced = sy_json_str(sy_json_get(tc, "name"));
    }
    size_t ncustom = 0;
    for (size_t k = 0; k < sy_json_len(r->tools); k++) {
        sy_str_t type = sy_json_str(sy_json_get(sy_json_index(r->tools, k), "type"));
        ncustom += type.p == NULL || sy_str_eq_c(type, "custom");
    }
    uint32_t ncalls = sy_sim_tool_plan(call, ncustom, choice, r->after_tools);
    if (ncalls > 1 && sy_json_get(tc, "disable_parallel_tool_use") &&
        sy_json_get(tc, "disable_parallel_tool_use")->type == SY_JSON_TRUE)
        ncalls = 1;
    if (ncalls) {
        for (uint32_t i = 0; i < ncalls; i++) {
            const sy_json_t *t = pick_tool(r->tools, i, forced);
            an_block_t *b = &msg->blocks[msg->nblocks++];
            b->kind = BK_TOOL;
            b->name = sy_json_str(sy_json_get(t, "name"));
            sy_buf_clear(tmp);
            sy_sim_id_seeded(call, "toolu_01", 22, 200 + i, tmp);
            b->id = sy_str_dup(a, sy_buf_str(tmp));
            sy_buf_clear(tmp);
            sy_json_writer_t w;
            sy_json_writer_init(&w, tmp, 0);
            sy_sim_gen_json(call->seed + 7919u * i, sy_json_get(t, "input_schema"), &w);
            sy_json_write_finish(&w);
            b->input = sy_str_dup(a, sy_buf_str(tmp));
            sy_sim_text_fixed(&b->text, b->input);
            msg->output_tokens += (uint32_t)sy_sim_tokens(b->name) + sy_sim_text_count(&b->text);
        }
        msg->stop_reason = "tool_use";
        sy_buf_clear(tmp);
        return;
    }
    sy_str_t stops[AN_MAX_STOPS];
    size_t nstops = 0;
    const sy_json_t *ss = sy_json_get(body, "stop_sequences");
    for (size_t k = 0; k < sy_json_len(ss) && nstops < AN_MAX_STOPS; k++)
        stops[nstops++] = sy_json_str(sy_json_index(ss, k));
    an_block_t *b = &msg->blocks[msg->nblocks++];
    b->kind = BK_TEXT;
    int which = -1;
    sy_sim_text_words(&b->text, call->seed, call->bhv.output_tokens, stops, nstops, &which, tmp);
    if (which >= 0) {
        msg->stop_reason = "stop_sequence";
        msg->stop_sequence = stops[which];
    }
    if (b->text.ntokens > room) {
        b->text.ntokens = (uint32_t)room;
        b->text.clip = 0;
        msg->stop_reason = "max_tokens";
        msg->stop_sequence = SY_STR_NULL;
    }
    msg->output_tokens += sy_sim_text_count(&b->text);
    sy_buf_clear(tmp);
}

/* ------------------------------------------------------------ writing --- */

static void write_usage(sy_json_writer_t *w, const an_msg_t *msg, uint32_t output, bool start)
{
    sy_json_write_key_lit(w, "usage");
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "input_tokens");
    sy_json_write_u64(w, msg->input_tokens);
    sy_json_write_key_lit(w, "cache_creation_input_tokens");
    sy_json_write_u64(w, 0);
    sy_json_write_key_lit(w, "cache_read_input_tokens");
    sy_json_write_u64(w, 0);
    if (start) {
        sy_json_write_key_lit(w, "cache_creation");
        sy_json_write_raw(w, SY_STR("{\"ephemeral_5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":0}"));
    }
    sy_json_write_key_lit(w, "output_tokens");
    sy_json_write_u64(w, output);
    if (start) {
        sy_json_write_key_lit(w, "service_tier");
        sy_json_write_string_lit(w, "standard");
        sy_json_write_key_lit(w, "inference_geo");
        sy_json_write_string_lit(w, "not_available");
    }
    sy_json_write_end_object(w);
}

static void write_stop_sequence(sy_json_writer_t *w, const an_msg_t *msg)
{
    sy_json_write_key_lit(w, "stop_sequence");
    if (msg->stop_sequence.p)
        sy_json_write_string(w, msg->stop_sequence);
    else
        sy_json_write_null(w);
}

/* {"id":..,"type":"message","role":"assistant","model":..,"content":[
 * Returns the buffer length just after the id's closing quote. */
static size_t message_head(sy_sim_call_t *call, const an_msg_t *msg, sy_json_writer_t *w)
{
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "id");
    sy_json_write_string(w, msg->id);
    size_t id_end = w->buf->len;
    sy_json_write_key_lit(w, "type");
    sy_json_write_string_lit(w, "message");
    sy_json_write_key_lit(w, "role");
    sy_json_write_string_lit(w, "assistant");
    sy_json_write_key_lit(w, "model");
    sy_json_write_string(w, call->model->version);
    sy_json_write_key_lit(w, "content");
    sy_json_write_begin_array(w);
    return id_end;
}

static void respond_whole(sy_sim_call_t *call, an_msg_t *msg)
{
    sy_buf_t *out = &call->w->scratch, *tmp = &call->w->scratch2;
    sy_buf_clear(out);
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    size_t id_end = message_head(call, msg, &w);
    /* The id after "msg_01" is the one per-response field (answer cache). */
    sy_sim_slot_t slot = {.kind = SY_SIM_SLOT_ID, .len = AN_ID_LEN, .salt = AN_ID_SALT};
    slot.off = (uint32_t)(id_end - 1 - AN_ID_LEN);
    for (uint32_t i = 0; i < msg->nblocks; i++) {
        an_block_t *b = &msg->blocks[i];
        sy_json_write_begin_object(&w);
        sy_json_write_key_lit(&w, "type");
        if (b->kind == BK_TOOL) {
            sy_json_write_string_lit(&w, "tool_use");
            sy_json_write_key_lit(&w, "id");
            sy_json_write_string(&w, b->id);
            sy_json_write_key_lit(&w, "name");
            sy_json_write_string(&w, b->name);
            sy_json_write_key_lit(&w, "input");
            sy_json_write_raw(&w, b->input);
        } else {
            bool th = b->kind == BK_THINKING;
            sy_json_write_string(&w, th ? SY_STR("thinking") : SY_STR("text"));
            sy_json_write_key(&w, th ? SY_STR("thinking") : SY_STR("text"));
            sy_buf_clear(tmp);
            sy_sim_text_all(&b->text, tmp);
            sy_json_write_string(&w, sy_buf_str(tmp));
            sy_buf_clear(tmp);
            if (th) {
                sy_json_write_key_lit(&w, "signature");
                sy_json_write_string(&w, b->signature);
            }
        }
        sy_json_write_end_object(&w);
    }
    sy_json_write_end_array(&w);
    sy_json_write_key_lit(&w, "stop_reason");
    sy_json_write_string(&w, sy_str_c(msg->stop_reason));
    write_stop_sequence(&w, msg);
    write_usage(&w, msg, msg->output_tokens, true);
    sy_json_write_end_object(&w);
    if (sy_json_write_finish(&w) != SY_OK) {
        sy_sim_respond_error(call, 500, "response too large");
        return;
    }
    sy_sim_cache_put(call, "application/json", sy_buf_ptr(out), out->len, msg->output_tokens, &slot, 1);
    an_headers(call);
    sy_sim_respond_json(call, 200, "application/json", sy_buf_ptr(out), out->len, msg->output_tokens);
    sy_buf_clear(out);
}

/* "event: TYPE\ndata: " ... "\n\n". TYPE is one of the API's event names
 * (plain ASCII, nothing to escape). */
static void ev_begin(sy_buf_t *out, const char *type, sy_json_writer_t *w)
{
    sy_str_t t = sy_str_c(type);
    sy_buf_append_c(out, "event: ");
    sy_buf_append_str(out, t);
    sy_buf_append_c(out, "\ndata: ");
    sy_json_writer_init(w, out, 0);
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "type");
    sy_json_write_string_plain(w, t);
}

static void ev_end(sy_json_writer_t *w)
{
    sy_json_write_end_object(w);
    sy_json_write_finish(w);
    sy_buf_append_c(w->buf, "\n\n");
}

static void ev_index(sy_json_writer_t *w, uint32_t i)
{
    sy_json_write_key_lit(w, "index");
    sy_json_write_u64(w, i);
}

static uint32_t an_next(sy_sim_call_t *call, sy_buf_t *out, bool *last)
{
    an_msg_t *msg = call->fstate;
    sy_buf_t *tmp = &call->w->scratch2;
    sy_json_writer_t w;
    an_block_t *b = msg->bi < msg->nblocks ? &msg->blocks[msg->bi] : NULL;
    switch (msg->step) {
    case S_START:
        ev_begin(out, "message_start", &w);
        sy_json_write_key_lit(&w, "message");
        message_head(call, msg, &w);
        sy_json_write_end_array(&w);
        sy_json_write_key_lit(&w, "stop_reason");
        sy_json_write_null(&w);
        sy_json_write_key_lit(&w, "stop_sequence");
        sy_json_write_null(&w);
        write_usage(&w, msg, 1, true);
        sy_json_write_end_object(&w);
        ev_end(&w);
        msg->step = msg->nblocks ? S_BLOCK_START : S_DELTA;
        return 0;
    case S_BLOCK_START:
        ev_begin(out, "content_block_start", &w);
        ev_index(&w, msg->bi);
        sy_json_write_key_lit(&w, "content_block");
        sy_json_write_begin_object(&w);
        sy_json_write_key_lit(&w, "type");
        if (b->kind == BK_TOOL) {
            sy_json_write_string_lit(&w, "tool_use");
            sy_json_write_key_lit(&w, "id");
            sy_json_write_string(&w, b->id);
            sy_json_write_key_lit(&w, "name");
            sy_json_write_string(&w, b->name);
            sy_json_write_key_lit(&w, "input");
            sy_json_write_raw(&w, SY_STR("{}"));
        } else if (b->kind == BK_THINKING) {
            sy_json_write_string_lit(&w, "thinking");
            sy_json_write_key_lit(&w, "thinking");
            sy_json_write_string_lit(&w, "");
            sy_json_write_key_lit(&w, "signature");
            sy_json_write_string_lit(&w, "");
        } else {
            sy_json_write_string_lit(&w, "text");
            sy_json_write_key_lit(&w, "text");
            sy_json_write_string_lit(&w, "");
        }
        sy_json_write_end_object(&w);
        ev_end(&w);
        msg->step = !msg->pinged ? S_PING : b->kind == BK_TOOL ? S_BLOCK_FIRST : S_BLOCK_DELTA;
        return b->kind == BK_TOOL ? (uint32_t)sy_sim_tokens(b->name) : 0;
    case S_PING:
        /* One ping after the first block starts, where the API sends it. */
        sy_buf_append_c(out, "event: ping\ndata: {\"type\": \"ping\"}\n\n");
        msg->pinged = true;
        msg->step = b->kind == BK_TOOL ? S_BLOCK_FIRST : S_BLOCK_DELTA;
        return 0;
    case S_BLOCK_FIRST:
        /* A tool's input starts with an empty fragment, as the API sends it. */
        ev_begin(out, "content_block_delta", &w);
        ev_index(&w, msg->bi);
        sy_json_write_key_lit(&w, "delta");
        sy_json_write_raw(&w, SY_STR("{\"type\":\"input_json_delta\",\"partial_json\":\"\"}"));
        ev_end(&w);
        msg->step = S_BLOCK_DELTA;
        return 0;
    case S_BLOCK_DELTA: {
        sy_buf_clear(tmp);
        uint32_t cost = sy_sim_text_take(&b->text, 1 + (uint32_t)sy_sim_rand(call->seed, b->text.pos + msg->bi, 4), tmp);
        if (sy_sim_text_done(&b->text))
            msg->step = b->kind == BK_THINKING ? S_SIGNATURE : S_BLOCK_STOP;
        if (tmp->len == 0 && b->kind != BK_TOOL)
            return an_next(call, out, last);
        ev_begin(out, "content_block_delta", &w);
        ev_index(&w, msg->bi);
        sy_json_write_key_lit(&w, "delta");
        sy_json_write_begin_object(&w);
        sy_json_write_key_lit(&w, "type");
        if (b->kind == BK_TOOL) {
            sy_json_write_string_lit(&w, "input_json_delta");
            sy_json_write_key_lit(&w, "partial_json");
        } else if (b->kind == BK_THINKING) {
            sy_json_write_string_lit(&w, "thinking_delta");
            sy_json_write_key_lit(&w, "thinking");
        } else {
            sy_json_write_string_lit(&w, "text_delta");
            sy_json_write_key_lit(&w, "text");
        }
        sy_json_write_string(&w, sy_buf_str(tmp));
        sy_json_write_end_object(&w);
        ev_end(&w);
        sy_buf_clear(tmp);
        return cost;
    }
    case S_SIGNATURE:
        ev_begin(out, "content_block_delta", &w);
        ev_index(&w, msg->bi);
        sy_json_write_key_lit(&w, "delta");
        sy_json_write_begin_object(&w);
        sy_json_write_key_lit(&w, "type");
        sy_json_write_string_lit(&w, "signature_delta");
        sy_json_write_key_lit(&w, "signature");
        sy_json_write_string(&w, b->signature);
        sy_json_write_end_object(&w);
        ev_end(&w);
        msg->step = S_BLOCK_STOP;
        return 0;
    case S_BLOCK_STOP:
        ev_begin(out, "content_block_stop", &w);
        ev_index(&w, msg->bi);
        ev_end(&w);
        msg->bi++;
        msg->step = msg->bi < msg->nblocks ? S_BLOCK_START : S_DELTA;
        return 0;
    case S_DELTA:
        ev_begin(out, "message_delta", &w);
        sy_json_write_key_lit(&w, "delta");
        sy_json_write_begin_object(&w);
        sy_json_write_key_lit(&w, "stop_reason");
        sy_json_write_string(&w, sy_str_c(msg->stop_reason));
        write_stop_sequence(&w, msg);
        sy_json_write_end_object(&w);
        write_usage(&w, msg, msg->output_tokens, false);
        ev_end(&w);
        msg->step = S_STOP;
        return 0;
    case S_STOP:
    default:
        ev_begin(out, "message_stop", &w);
        ev_end(&w);
        msg->step = S_DONE;
        *last = true;
        return 0;
    }
}

static void an_stream_error(sy_sim_call_t *call, int status, sy_buf_t *out)
{
    sy_buf_append_c(out, "event: error\ndata: ");
    write_error(call, status, status == 529 ? "Overloaded" : status == 429 ? "Rate limited" : "Internal server error",
                out, false);
    sy_buf_append_c(out, "\n\n");
}

static void an_stream_malformed(sy_sim_call_t *call, sy_buf_t *out)
{
    SY_UNUSED(call);
    sy_buf_append_c(out, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\n\n");
}

static const sy_sim_stream_ops_t an_stream_ops = {
    .content_type = "text/event-stream; charset=utf-8",
    .next = an_next,
    .error_event = an_stream_error,
    .malformed_event = an_stream_malformed,
};

/* ----------------------------------------------------------- endpoints --- */

static void an_messages(sy_sim_call_t *call)
{
    sy_arena_t *a = call->req->arena;
    an_req_t r;
    memset(&r, 0, sizeof(r));
    const sy_json_t *body = call->body;
    const sy_json_t *mt = sy_json_get(body, "max_tokens");
    if (!check_common(call, &r, false))
        return;
    if (mt == NULL) {
        an_fail(call, 400, "max_tokens: Field required");
        return;
    }
    int64_t max;
    if (sy_json_as_i64(mt, &max) != SY_OK) {
        an_fail(call, 400, "max_tokens: Input should be a valid integer");
        return;
    }
    if (max < 1) {
        an_fail(call, 400, "max_tokens: Input should be greater than or equal to 1");
        return;
    }
    if (r.model->max_output && (uint64_t)max > r.model->max_output) {
        BAD("max_tokens: %lld > %u, which is the maximum allowed number of output tokens for %.*s",
            (long long)max, r.model->max_output, SY_STR_FMT(r.model->version));
        return;
    }
    const sy_json_t *v = sy_json_get(body, "temperature");
    double d;
    if (v && v->type != SY_JSON_NULL) {
        if (sy_json_as_double(v, &d) != SY_OK) {
            an_fail(call, 400, "temperature: Input should be a valid number");
            return;
        }
        if (d < 0 || d > 1) {
            an_fail(call, 400, d < 0 ? "temperature: Input should be greater than or equal to 0"
                                     : "temperature: Input should be less than or equal to 1");
            return;
        }
    }
    v = sy_json_get(body, "stream");
    if (v && v->type != SY_JSON_NULL && !sy_json_is_bool(v)) {
        an_fail(call, 400, "stream: Input should be a valid boolean");
        return;
    }
    bool stream = v && v->type == SY_JSON_TRUE;
    v = sy_json_get(body, "stop_sequences");
    if (v && v->type != SY_JSON_NULL) {
        if (v->type != SY_JSON_ARRAY) {
            an_fail(call, 400, "stop_sequences: Input should be a valid list");
            return;
        }
        for (uint32_t i = 0; i < v->u.arr.len; i++)
            if (v->u.arr.items[i].type != SY_JSON_STRING) {
                BAD("stop_sequences.%u: Input should be a valid string", i);
                return;
            }
    }
    const sy_json_t *th = sy_json_get(body, "thinking");
    if (th && th->type != SY_JSON_NULL) {
        sy_str_t t = sy_json_str(sy_json_get(th, "type"));
        if (sy_str_eq_c(t, "enabled")) {
            int64_t budget;
            if (sy_json_as_i64(sy_json_get(th, "budget_tokens"), &budget) != SY_OK) {
                an_fail(call, 400, "thinking.enabled.budget_tokens: Field required");
                return;
            }
            if (budget < 1024) {
                an_fail(call, 400,
                        "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024");
                return;
            }
            if (budget >= max) {
                an_fail(call, 400, "`max_tokens` must be greater than `thinking.budget_tokens`. "
                                   "Please consult our documentation at "
                                   "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size");
                return;
            }
        } else if (!sy_str_eq_c(t, "disabled")) {
            an_fail(call, 400,
                    "thinking: Input tag found using 'type' does not match any of the expected "
                    "tags: 'disabled', 'enabled'");
            return;
        }
    }
    if (r.model->context_window && r.input_tokens + (uint64_t)max > r.model->context_window) {
        BAD("prompt is too long: %u tokens > %u maximum", r.input_tokens,
            r.model->context_window - (uint32_t)SY_MIN((uint64_t)max, (uint64_t)r.model->context_window));
        return;
    }
    call->stream = stream;
    if (sy_sim_prepare(call, r.model) != SY_OK)
        return;
    an_msg_t *msg = sy_arena_calloc(a, sizeof(*msg));
    call->fstate = msg;
    msg->input_tokens = r.input_tokens;
    sy_buf_t *tmp = &call->w->scratch2;
    sy_buf_clear(tmp);
    sy_sim_id(call, "msg_01", AN_ID_LEN, AN_ID_SALT, tmp);
    msg->id = sy_str_dup(a, sy_buf_str(tmp));
    sy_buf_clear(tmp);
    plan(call, msg, &r, (uint64_t)max);
    if (stream) {
        an_headers(call);
        sy_sim_stream(call, &an_stream_ops);
    } else {
        respond_whole(call, msg);
    }
}

static void an_count_tokens(sy_sim_call_t *call)
{
    an_req_t r;
    memset(&r, 0, sizeof(r));
    if (!check_common(call, &r, true))
        return;
    char body[64];
    int n = snprintf(body, sizeof(body), "{\"input_tokens\":%u}", r.input_tokens);
    an_headers(call);
    sy_http_respond(call->req, 200, "application/json", body, (size_t)n);
}

static void write_model(sy_json_writer_t *w, const sy_sim_model_t *m, sy_arena_t *a)
{
    time_t t = (time_t)m->created;
    struct tm tm;
    gmtime_r(&t, &tm);
    char when[32];
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "type");
    sy_json_write_string_lit(w, "model");
    sy_json_write_key_lit(w, "id");
    sy_json_write_string(w, m->name);
    sy_json_write_key_lit(w, "display_name");
    sy_json_write_string(w, sy_str_c(sy_arena_sprintf(a, "%.*s", SY_STR_FMT(m->name))));
    sy_json_write_key_lit(w, "created_at");
    sy_json_write_string(w, sy_str_c(when));
    sy_json_write_end_object(w);
}

static void an_models(sy_sim_call_t *call, sy_str_t one)
{
    sy_buf_t *b = &call->w->scratch;
    sy_buf_clear(b);
    sy_json_writer_t w;
    sy_json_writer_init(&w, b, 0);
    const sy_sim_config_t *c = call->sim->cfg;
    if (one.p) {
        const sy_sim_model_t *m = sy_sim_model_find(call->sim, one, SY_SIM_FAMILY_ANTHROPIC);
        if (m == NULL) {
            an_fail(call, 404, sy_arena_sprintf(call->req->arena, "model: %.*s",
                                                (int)SY_MIN(one.len, (size_t)200), one.p));
            return;
        }
        write_model(&w, m, call->req->arena);
    } else {
        sy_json_write_begin_object(&w);
        sy_json_write_key_lit(&w, "data");
        sy_json_write_begin_array(&w);
        const sy_sim_model_t *first = NULL, *lastm = NULL;
        for (size_t i = 0; i < c->nmodels; i++) {
            const sy_sim_model_t *m = &c->models[i];
            if (m->family != SY_SIM_FAMILY_ANTHROPIC && m->family != SY_SIM_FAMILY_ANY)
                continue;
            write_model(&w, m, call->req->arena);
            if (!first)
                first = m;
            lastm = m;
        }
        sy_json_write_end_array(&w);
        sy_json_write_key_lit(&w, "has_more");
        sy_json_write_bool(&w, false);
        sy_json_write_key_lit(&w, "first_id");
        if (first)
            sy_json_write_string(&w, first->name);
        else
            sy_json_write_null(&w);
        sy_json_write_key_lit(&w, "last_id");
        if (lastm)
            sy_json_write_string(&w, lastm->name);
        else
            sy_json_write_null(&w);
        sy_json_write_end_object(&w);
    }
    sy_json_write_finish(&w);
    an_headers(call);
    sy_http_respond(call->req, 200, "application/json", sy_buf_ptr(b), b->len);
    sy_buf_clear(b);
}

static bool an_auth(sy_sim_call_t *call)
{
    sy_str_t key = sy_sim_header(call, "x-api-key");
    if (key.p == NULL) {
        sy_str_t auth = sy_sim_header(call, "authorization");
        if (auth.len > 7 && sy_str_ieq(sy_str_sub(auth, 0, 7), SY_STR("Bearer ")))
            key = sy_str_trim(sy_str_sub(auth, 7, auth.len));
        else
            return an_fail(call, 401, "x-api-key header is required");
    }
    if (!sy_sim_key_ok(call->sim, key))
        return an_fail(call, 401, "invalid x-api-key");
    return true;
}

static bool an_handle(sy_sim_call_t *call)
{
    sy_str_t path = call->req->head.path, m = call->req->head.method;
    bool models = sy_str_eq_c(path, "/v1/models") || sy_str_starts_with(path, SY_STR("/v1/models/"));
    if (models) {
        /* Shared with OpenAI: Anthropic's when its headers are there. */
        if (!sy_sim_header(call, "anthropic-version").p && !sy_sim_header(call, "x-api-key").p)
            return false;
    } else if (!sy_str_eq_c(path, "/v1/messages") && !sy_str_eq_c(path, "/v1/messages/count_tokens")) {
        return false;
    }
    sy_sim_claim(call, &sy_sim_family_anthropic);
    bool get = models;
    if (!sy_str_eq_c(m, get ? "GET" : "POST") && !(get && sy_str_eq_c(m, "HEAD"))) {
        an_fail(call, 405, sy_arena_sprintf(call->req->arena, "Method Not Allowed: %.*s %.*s",
                                            (int)SY_MIN(m.len, (size_t)16), m.p,
                                            (int)SY_MIN(path.len, (size_t)200), path.p));
        return true;
    }
    if (!an_auth(call))
        return true;
    if (sy_sim_header(call, "anthropic-version").len == 0) {
        an_fail(call, 400, "anthropic-version: header is required");
        return true;
    }
    if (models) {
        an_models(call, path.len > 11 ? sy_str_sub(path, 11, path.len) : SY_STR_NULL);
        return true;
    }
    sy_str_t ct = sy_sim_header(call, "content-type");
    ptrdiff_t semi = sy_str_find_char(ct, ';');
    sy_str_t mime = sy_str_trim(semi >= 0 ? sy_str_sub(ct, 0, (size_t)semi) : ct);
    if (ct.p && !sy_str_ieq_c(mime, "application/json")) {
        an_fail(call, 400, "Invalid request: the Content-Type header must be application/json");
        return true;
    }
    /* Everything else a message answer depends on is in the cache key. */
    if (sy_str_eq_c(path, "/v1/messages") && sy_sim_cache_lookup(call)) {
        an_headers(call);
        sy_sim_cache_respond(call);
        return true;
    }
    const char *msg;
    if (sy_sim_parse_body(call, &msg) != SY_OK) {
        an_fail(call, 400, call->req->body.len ? "Invalid JSON in request body" : "Request body is empty");
        return true;
    }
    if (call->body->type != SY_JSON_OBJECT) {
        an_fail(call, 400, "Input should be a valid dictionary or object to extract fields from");
        return true;
    }
    if (sy_str_eq_c(path, "/v1/messages"))
        an_messages(call);
    else
        an_count_tokens(call);
    return true;
}

const sy_sim_family_t sy_sim_family_anthropic = {
    .name = "anthropic",
    .id = SY_SIM_FAMILY_ANTHROPIC,
    .handle = an_handle,
    .error_body = an_error_body,
};
