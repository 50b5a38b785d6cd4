/*
 * anthropic.c - the anthropic provider adapter (Messages API): the request
 * encoder, the whole-body decoder and the error classifier. The stream
 * decoder is in anthropic_stream.c, the shared vocabulary in
 * anthropic_wire.c. docs/internals/translation.md ("Anthropic") lists every
 * mapping and what does not survive it.
 */
#include "providers/anthropic.h"
#include "providers/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K(w, lit) sy_json_write_key_lit((w), lit) /* a literal: no escaping */

/* Appended to the system prompt for JSON_OBJECT requests: Anthropic has no
 * "any JSON object" mode (its structured outputs need a schema whose objects
 * forbid extra properties), so this one is best effort. */
#define JSON_OBJECT_INSTRUCTION "Respond with a single valid JSON object and nothing else."

/* Effort -> thinking budget as a share of max_tokens, clamped to
 * [THINKING_MIN, THINKING_MAX]; Anthropic's minimum budget is 1024. */
#define THINKING_MIN 1024
#define THINKING_MAX 32000

/* ------------------------------------------------------------ encoding --- */

static void write_str_member(sy_json_writer_t *w, const char *key, sy_str_t v)
{
    sy_json_write_key_plain(w, sy_str_c(key)); /* (always a literal name) */
    sy_json_write_string(w, v);
}

static void write_cache(sy_json_writer_t *w, bool cache)
{
    if (!cache)
        return;
    K(w, "cache_control");
    sy_json_write_begin_object(w);
    write_str_member(w, "type", SY_STR("ephemeral"));
    sy_json_write_end_object(w);
}

static void write_text_block(sy_json_writer_t *w, sy_str_t text, bool cache)
{
    sy_json_write_begin_object(w);
    write_str_member(w, "type", SY_STR("text"));
    write_str_member(w, "text", text);
    write_cache(w, cache);
    sy_json_write_end_object(w);
}

/* "data:image/png;base64,AAAA" -> media type and data. */
static bool split_data_url(sy_str_t url, sy_str_t *media, sy_str_t *data)
{
    if (!sy_str_starts_with(url, SY_STR("data:")))
        return false;
    ptrdiff_t comma = sy_str_find_char(url, ',');
    if (comma < 0)
        return false;
    sy_str_t head = sy_str(url.p + 5, (size_t)comma - 5);
    if (!sy_str_ends_with(head, SY_STR(";base64")))
        return false;
    *media = sy_str(head.p, head.len - 7);
    *data = sy_str(url.p + comma + 1, url.len - (size_t)comma - 1);
    return true;
}

static void write_image_block(sy_json_writer_t *w, const sy_ir_image_t *im, bool cache)
{
    sy_str_t media = im->media_type, data = im->data;
    sy_json_write_begin_object(w);
    write_str_member(w, "type", SY_STR("image"));
    K(w, "source");
    sy_json_write_begin_object(w);
    if (data.len || split_data_url(im->url, &media, &data)) {
        write_str_member(w, "type", SY_STR("base64"));
        write_str_member(w, "media_type", media);
        write_str_member(w, "data", data);
    } else {
        write_str_member(w, "type", SY_STR("url"));
        write_str_member(w, "url", im->url);
    }
    sy_json_write_end_object(w);
    write_cache(w, cache);
    sy_json_write_end_object(w);
}

static void write_tool_result(sy_json_writer_t *w, const sy_ir_part_t *p)
{
    sy_json_write_begin_object(w);
    write_str_member(w, "type", SY_STR("tool_result"));
    K(w, "tool_use_id");
    sy_anthropic_write_tool_id(w, p->call_id);
    if (p->ncontent == 1 && p->content[0].kind == SY_IR_TEXT && !p->content[0].cache) {
        write_str_member(w, "content", p->content[0].text);
    } else {
        size_t n = 0;
        for (size_t i = 0; i < p->ncontent; i++)
            n += (p->content[i].kind == SY_IR_TEXT && p->content[i].text.len) ||
                 p->content[i].kind == SY_IR_IMAGE;
        if (n) {
            K(w, "content");
            sy_json_write_begin_array(w);
            for (size_t i = 0; i < p->ncontent; i++) {
                const sy_ir_part_t *c = &p->content[i];
                if (c->kind == SY_IR_TEXT && c->text.len)
                    write_text_block(w, c->text, c->cache);
                else if (c->kind == SY_IR_IMAGE)
                    write_image_block(w, &c->image, c->cache);
            }
            sy_json_write_end_array(w);
        }
    }
    if (p->is_error) {
        K(w, "is_error");
        sy_json_write_bool(w, true);
    }
    write_cache(w, p->cache);
    sy_json_write_end_object(w);
}

static void write_part(sy_json_writer_t *w, sy_arena_t *a, const sy_ir_part_t *p)
{
    switch (p->kind) {
    case SY_IR_TEXT:
        write_text_block(w, p->text, p->cache);
        break;
    case SY_IR_IMAGE:
        write_image_block(w, &p->image, p->cache);
        break;
    case SY_IR_TOOL_CALL:
        sy_json_write_begin_object(w);
        write_str_member(w, "type", SY_STR("tool_use"));
        K(w, "id");
        sy_anthropic_write_tool_id(w, p->call_id);
        write_str_member(w, "name", p->name);
        K(w, "input");
        sy_anthropic_write_tool_input(w, a, p->arguments);
        write_cache(w, p->cache);
        sy_json_write_end_object(w);
        break;
    case SY_IR_TOOL_RESULT:
        write_tool_result(w, p);
        break;
    case SY_IR_THINKING:
        sy_json_write_begin_object(w);
        write_str_member(w, "type", SY_STR("thinking"));
        write_str_member(w, "thinking", p->text);
        write_str_member(w, "signature", p->signature);
        sy_json_write_end_object(w);
        break;
    case SY_IR_REDACTED_THINKING:
        sy_json_write_begin_object(w);
        write_str_member(w, "type", SY_STR("redacted_thinking"));
        write_str_member(w, "data", p->signature);
        sy_json_write_end_object(w);
        break;
    }
}

/* Whether a part can go upstream in a turn of this role. Empty text blocks
 * are refused by the API; thinking without a signature (reasoning from
 * another provider) cannot be verified by Anthropic and is refused too, so
 * both are left out rather than failing the request. */
static bool sendable(const sy_ir_part_t *p, bool assistant)
{
    switch (p->kind) {
    case SY_IR_TEXT:
        return p->text.len > 0;
    case SY_IR_IMAGE:
        return true;
    case SY_IR_TOOL_CALL:
        return assistant;
    case SY_IR_TOOL_RESULT:
        return !assistant;
    case SY_IR_THINKING:
    case SY_IR_REDACTED_THINKING:
        return assistant && p->signature.len > 0;
    }
    return false;
}

/* A turn as sent: consecutive IR messages of the same Anthropic role
 * (user and tool messages are both "user") merged, as the API requires. */
typedef struct {
    bool assistant;
    const sy_ir_part_t **parts;
    size_t n;
} turn_t;

static void write_messages(sy_json_writer_t *w, sy_arena_t *a, const sy_ir_request_t *req)
{
    size_t total = 0;
    for (size_t i = 0; i < req->nmessages; i++)
        total += req->messages[i].nparts;
    const sy_ir_part_t **slots = sy_arena_alloc(a, (total + 1) * sizeof(*slots));
    turn_t *turns = sy_arena_alloc(a, (req->nmessages + 1) * sizeof(*turns));
    size_t nturns = 0, used = 0;
    for (size_t i = 0; i < req->nmessages; i++) {
        const sy_ir_message_t *m = &req->messages[i];
        if (m->role == SY_IR_SYSTEM)
            continue; /* hoisted into "system" */
        bool assistant = m->role == SY_IR_ASSISTANT;
        for (size_t j = 0; j < m->nparts; j++) {
            if (!sendable(&m->parts[j], assistant))
                continue;
            if (nturns == 0 || turns[nturns - 1].assistant != assistant) {
                turns[nturns].assistant = assistant;
                turns[nturns].parts = slots + used;
                turns[nturns].n = 0;
                nturns++;
            }
            slots[used++] = &m->parts[j];
            turns[nturns - 1].n++;
        }
    }
    K(w, "messages");
    sy_json_write_begin_array(w);
    for (size_t t = 0; t < nturns; t++) {
        sy_json_write_begin_object(w);
        write_str_member(w, "role", turns[t].assistant ? SY_STR("assistant") : SY_STR("user"));
        K(w, "content");
        sy_json_write_begin_array(w);
        /* In a user turn the tool_result blocks must come first. */
        for (int pass = 0; pass < 2; pass++)
            for (size_t j = 0; j < turns[t].n; j++) {
                const sy_ir_part_t *p = turns[t].parts[j];
                if (turns[t].assistant ? pass == 0
                                       : (p->kind == SY_IR_TOOL_RESULT) == (pass == 0))
                    write_part(w, a, p);
            }
        sy_json_write_end_array(w);
        sy_json_write_end_object(w);
    }
    sy_json_write_end_array(w);
}

static void write_system(sy_json_writer_t *w, const sy_ir_request_t *req)
{
    size_t n = 0;
    const sy_ir_part_t *only = NULL;
    bool cache = false;
    for (size_t i = 0; i < req->nsystem; i++)
        if (req->system[i].kind == SY_IR_TEXT && req->system[i].text.len) {
            n++;
            only = &req->system[i];
            cache |= req->system[i].cache;
        }
    for (size_t i = 0; i < req->nmessages; i++) {
        const sy_ir_message_t *m = &req->messages[i];
        if (m->role != SY_IR_SYSTEM)
            continue;
        for (size_t j = 0; j < m->nparts; j++)
            if (m->parts[j].kind == SY_IR_TEXT && m->parts[j].text.len) {
                n++;
                only = &m->parts[j];
                cache |= m->parts[j].cache;
            }
    }
    bool json_hint = req->format == SY_IR_FORMAT_JSON_OBJECT;
    if (n == 0 && !json_hint)
        return;
    K(w, "system");
    if (n == 1 && !cache && !json_hint) {
        sy_json_write_string(w, only->text);
        return;
    }
    sy_json_write_begin_array(w);
    for (size_t i = 0; i < req->nsystem; i++)
        if (req->system[i].kind == SY_IR_TEXT && req->system[i].text.len)
            write_text_block(w, req->system[i].text, req->system[i].cache);
    for (size_t i = 0; i < req->nmessages; i++) {
        const sy_ir_message_t *m = &req->messages[i];
        if (m->role != SY_IR_SYSTEM)
            continue;
        for (size_t j = 0; j < m->nparts; j++)
            if (m->parts[j].kind == SY_IR_TEXT && m->parts[j].text.len)
                write_text_block(w, m->parts[j].text, m->parts[j].cache);
    }
    if (json_hint)
        write_text_block(w, SY_STR(JSON_OBJECT_INSTRUCTION), false);
    sy_json_write_end_array(w);
}

static void write_tools(sy_json_writer_t *w, const sy_ir_request_t *req)
{
    if (req->ntools == 0)
        return;
    K(w, "tools");
    sy_json_write_begin_array(w);
    for (size_t i = 0; i < req->ntools; i++) {
        const sy_ir_tool_t *t = &req->tools[i];
        sy_json_write_begin_object(w);
        write_str_member(w, "name", t->name);
        if (t->description.len)
            write_str_member(w, "description", t->description);
        K(w, "input_schema");
        if (t->parameters)
            sy_json_write_value(w, t->parameters);
        else
            sy_json_write_raw(w, SY_STR("{\"type\":\"object\",\"properties\":{}}"));
        if (t->strict) {
            K(w, "strict");
            sy_json_write_bool(w, true);
        }
        sy_json_write_end_object(w);
    }
    sy_json_write_end_array(w);

    const char *type = NULL;
    switch (req->tool_choice) {
    case SY_IR_TOOL_CHOICE_UNSET:
        type = req->parallel_tool_calls == 0 ? "auto" : NULL;
        break;
    case SY_IR_TOOL_CHOICE_AUTO:
        type = "auto";
        break;
    case SY_IR_TOOL_CHOICE_NONE:
        type = "none";
        break;
    case SY_IR_TOOL_CHOICE_REQUIRED:
        type = "any";
        break;
    case SY_IR_TOOL_CHOICE_NAMED:
        type = "tool";
        break;
    }
    if (type == NULL)
        return;
    K(w, "tool_choice");
    sy_json_write_begin_object(w);
    write_str_member(w, "type", sy_str_c(type));
    if (req->tool_choice == SY_IR_TOOL_CHOICE_NAMED)
        write_str_member(w, "name", req->tool_choice_name);
    if (req->parallel_tool_calls == 0 && req->tool_choice != SY_IR_TOOL_CHOICE_NONE) {
        K(w, "disable_parallel_tool_use");
        sy_json_write_bool(w, true);
    }
    sy_json_write_end_object(w);
}

/* The thinking budget to send (0: none) and the max_tokens that fits it.
 * An explicit budget (an Anthropic client's thinking.budget_tokens) is sent
 * as asked; an effort level becomes a share of max_tokens (low 20%, medium
 * 50%, high 80%, clamped to [1024, 32000]; minimal: no thinking). When the
 * client set no max_tokens the default is raised above the budget; when it
 * set one too small for the 1024 minimum, an effort is dropped. A forced
 * tool choice wins over an effort: Anthropic refuses both together. */
static uint64_t plan_thinking(const sy_provider_ctx_t *cx, const sy_ir_request_t *req,
                              uint64_t *max_tokens, bool *derived)
{
    *max_tokens = req->max_tokens     ? req->max_tokens
                  : cx->default_max_tokens ? cx->default_max_tokens
                                           : SY_ANTHROPIC_DEFAULT_MAX_TOKENS;
    *derived = false;
    uint64_t budget = req->thinking_budget;
    if (budget == 0 && req->effort > SY_IR_EFFORT_MINIMAL &&
        req->tool_choice != SY_IR_TOOL_CHOICE_REQUIRED &&
        req->tool_choice != SY_IR_TOOL_CHOICE_NAMED) {
        uint64_t pct = req->effort == SY_IR_EFFORT_LOW ? 20 : req->effort == SY_IR_EFFORT_MEDIUM ? 50 : 80;
        budget = *max_tokens / 100 * pct + *max_tokens % 100 * pct / 100;
        budget = SY_MAX(budget, (uint64_t)THINKING_MIN);
        budget = SY_MIN(budget, (uint64_t)THINKING_MAX);
        *derived = true;
    }
    if (budget && *max_tokens <= budget) {
        if (req->max_tokens == 0)
            *max_tokens = budget + *max_tokens;
        else if (*derived)
            budget = *max_tokens > THINKING_MIN ? *max_tokens - 1 : 0;
    }
    if (budget == 0)
        *derived = false;
    return budget;
}

/* Whether base_path already names the API version ("/v1"), so that a
 * base_url of https://api.anthropic.com/v1 works as well as the bare host. */
static bool ends_with_v1(sy_str_t p) { return sy_str_ends_with(p, SY_STR("/v1")); }

/* Method, path, headers of a /v1/messages call (the body is the caller's). */
static void set_target(sy_arena_t *a, const sy_provider_ctx_t *cx, bool stream,
                       sy_upstream_req_t *out)
{
    out->method = "POST";
    sy_str_t base = cx->base_path;
    if (sy_str_ends_with(base, SY_STR("/")))
        base.len--;
    out->path = sy_wire_join(a, base, ends_with_v1(base) ? SY_STR("/messages") : SY_STR("/v1/messages"));
    out->content_type = SY_STR("application/json");
    out->stream = stream;
    /* (the key and the version live in the configuration, which the
     * request holds a reference to: no copies) */
    sy_upstream_add_header_ref(a, out, "x-api-key", cx->api_key);
    sy_upstream_add_header_ref(a, out, "anthropic-version",
                               cx->api_version.len ? cx->api_version : SY_STR(SY_ANTHROPIC_VERSION));
    if (stream)
        sy_upstream_add_header_ref(a, out, "accept", SY_STR("text/event-stream"));
}

/* An Anthropic client's own body relayed (provider.h: passthrough). */
static int passthrough(sy_arena_t *a, const sy_provider_ctx_t *cx, sy_str_t body, bool stream,
                       sy_upstream_req_t *out)
{
    memset(out, 0, sizeof(*out));
    if (sy_wire_relay_body(a, body, cx->model, false, &out->body) != SY_OK)
        return SY_EAGAIN;
    set_target(a, cx, stream, out);
    return SY_OK;
}

/* The usage of a whole message relayed as it is, without its tree (see
 * sy_openai_passthrough_usage): "type":"message", content an array, and
 * only the usage object parsed. */
static int passthrough_usage(sy_arena_t *a, sy_str_t body, sy_ir_usage_t *out)
{
    sy_json_members_t it;
    sy_json_span_t m;
    sy_str_t usage = SY_STR_NULL;
    bool message = false, content = false;
    int rc = sy_json_members_init(&it, body);
    while (rc == SY_OK && (rc = sy_json_members_next(&it, &m)) == SY_OK) {
        if (m.key_escaped)
            return SY_EAGAIN;
        if (sy_str_eq(m.key, SY_STR("usage"))) {
            if (usage.p)
                return SY_EAGAIN;
            usage = m.value;
        } else if (sy_str_eq(m.key, SY_STR("type"))) {
            message = sy_str_eq(m.value, SY_STR("\"message\""));
        } else if (sy_str_eq(m.key, SY_STR("content"))) {
            content = m.value.p[0] == '[';
        } else if (sy_str_eq(m.key, SY_STR("error"))) {
            return SY_EAGAIN;
        }
    }
    if (rc != SY_ENOTFOUND || !message || !content)
        return SY_EAGAIN;
    sy_anthropic_usage_t u;
    memset(&u, 0, sizeof(u));
    if (usage.p && !sy_str_eq(usage, SY_STR("null"))) {
        sy_json_t *root = NULL;
        if (sy_json_parse(a, usage.p, usage.len, NULL, &root, NULL) != SY_OK ||
            !sy_json_is(root, SY_JSON_OBJECT))
            return SY_EAGAIN;
        sy_anthropic_usage_read(root, &u);
    }
    *out = sy_anthropic_usage_to_ir(&u);
    return SY_OK;
}

/* The request body into b; the writer's result (SY_ETOOBIG: past b's cap). */
static int write_request(sy_buf_t *b, sy_arena_t *a, const sy_provider_ctx_t *cx,
                         const sy_ir_request_t *req)
{
    uint64_t max_tokens;
    bool derived;
    uint64_t budget = plan_thinking(cx, req, &max_tokens, &derived);

    sy_json_writer_t w;
    sy_json_writer_init(&w, b, 0);
    sy_json_write_begin_object(&w);
    write_str_member(&w, "model", cx->model.len ? cx->model : req->model);
    K(&w, "max_tokens");
    sy_json_write_u64(&w, max_tokens);
    write_system(&w, req);
    write_messages(&w, a, req);
    write_tools(&w, req);
    /* Extended thinking refuses a temperature other than 1, top_k, and a
     * top_p below 0.95; when thinking comes from an effort level (a client
     * of another API), its sampling parameters are left out rather than
     * failing the request. An Anthropic client's own mix is sent as is. */
    if (req->has_temperature && !derived) {
        K(&w, "temperature");
        sy_json_write_double(&w, req->temperature);
    }
    if (req->has_top_p && !derived) {
        K(&w, "top_p");
        sy_json_write_double(&w, req->top_p);
    }
    if (req->has_top_k && !derived) {
        K(&w, "top_k");
        sy_json_write_i64(&w, req->top_k);
    }
    if (req->nstop) {
        K(&w, "stop_sequences");
        sy_json_write_begin_array(&w);
        for (size_t i = 0; i < req->nstop && i < SY_IR_MAX_STOP; i++)
            sy_json_write_string(&w, req->stop[i]);
        sy_json_write_end_array(&w);
    }
    if (budget) {
        K(&w, "thinking");
        sy_json_write_begin_object(&w);
        write_str_member(&w, "type", SY_STR("enabled"));
        K(&w, "budget_tokens");
        sy_json_write_u64(&w, budget);
        sy_json_write_end_object(&w);
    }
    if (req->format == SY_IR_FORMAT_JSON_SCHEMA && req->schema) {
        /* Anthropic's structured outputs: the reply is the JSON as text. */
        K(&w, "output_config");
        sy_json_write_begin_object(&w);
        K(&w, "format");
        sy_json_write_begin_object(&w);
        write_str_member(&w, "type", SY_STR("json_schema"));
        K(&w, "schema");
        sy_json_write_value(&w, req->schema);
        sy_json_write_end_object(&w);
        sy_json_write_end_object(&w);
    }
    if (req->user.len) {
        K(&w, "metadata");
        sy_json_write_begin_object(&w);
        write_str_member(&w, "user_id", req->user);
        sy_json_write_end_object(&w);
    }
    if (req->stream) {
        K(&w, "stream");
        sy_json_write_bool(&w, true);
    }
    sy_json_write_end_object(&w);
    return sy_json_write_finish(&w);
}

static int encode(sy_arena_t *a, const sy_provider_ctx_t *cx, const sy_ir_request_t *req,
                  sy_upstream_req_t *out, sy_ir_error_t *err)
{
    /* First into request arena memory of about the client's body's size (a
     * buffer whose cap is its limit: it refuses, never grows, and needs no
     * heap buffer nor a copy out of it); a body that does not fit is
     * written again into a heap buffer that grows up to the limit. */
    size_t room = SY_MIN(cx->body_hint + 512, (size_t)SY_ANTHROPIC_MAX_BODY);
    sy_str_t body = SY_STR_NULL;
    int rc = SY_ETOOBIG;
    if (cx->body_hint) {
        char *mem = sy_arena_alloc(a, room + 1);
        sy_buf_t ab = {mem, 0, 0, room, room};
        rc = write_request(&ab, a, cx, req);
        if (rc == SY_OK) {
            mem[ab.len] = '\0';
            body = sy_str(mem, ab.len);
        }
    }
    if (rc != SY_OK) {
        sy_buf_t b;
        sy_buf_init(&b, SY_ANTHROPIC_MAX_BODY);
        rc = write_request(&b, a, cx, req);
        if (rc == SY_OK)
            body = sy_str(sy_arena_memdup(a, sy_buf_ptr(&b), b.len), b.len);
        sy_buf_free(&b);
    }
    if (rc != SY_OK) {
        memset(err, 0, sizeof(*err));
        err->cls = SY_IR_ERR_BAD_REQUEST;
        err->status = 400;
        err->message = rc == SY_ETOOBIG ? SY_STR("request too large for the anthropic provider")
                                        : SY_STR("request cannot be encoded for the anthropic provider");
        return rc;
    }
    memset(out, 0, sizeof(*out));
    out->body = body;
    set_target(a, cx, req->stream, out);
    return SY_OK;
}

/* ------------------------------------------------------------ decoding --- */

/* Compact JSON text of v, in the arena. */
static sy_str_t json_text(sy_arena_t *a, const sy_json_t *v)
{
    sy_buf_t b;
    sy_buf_init(&b, SY_ANTHROPIC_MAX_BODY);
    if (sy_json_serialize(v, &b, 0) != SY_OK || b.len == 0) {
        sy_buf_free(&b);
        return SY_STR("{}");
    }
    sy_str_t s = sy_str(sy_arena_memdup(a, sy_buf_ptr(&b), b.len), b.len);
    sy_buf_free(&b);
    return s;
}

static void set_error(sy_ir_error_t *err, sy_ir_error_class_t cls, int status, sy_str_t type,
                      sy_str_t message)
{
    memset(err, 0, sizeof(*err));
    err->cls = cls;
    err->status = status;
    err->type = type;
    err->message = message;
}

static int decode(sy_arena_t *a, const sy_provider_ctx_t *cx, sy_str_t body, sy_ir_response_t *out,
                  sy_ir_error_t *err)
{
    SY_UNUSED(cx);
    memset(out, 0, sizeof(*out));
    sy_json_t *root = NULL;
    if (sy_json_parse(a, body.p, body.len, NULL, &root, NULL) != SY_OK ||
        root->type != SY_JSON_OBJECT) {
        set_error(err, SY_IR_ERR_BAD_RESPONSE, 0, SY_STR_NULL,
                  SY_STR("anthropic: the response body is not a JSON object"));
        return SY_EINVAL;
    }
    /* The root's members in one pass, the last of a repeated key kept
     * (what sy_json_get finds), instead of a lookup per member. */
    const sy_json_t *jtype = NULL, *jerror = NULL, *content = NULL, *jid = NULL, *jmodel = NULL,
                    *jstop = NULL, *jstopseq = NULL, *jusage = NULL;
    for (size_t i = 0; i < root->u.obj.len; i++) {
        const sy_json_member_t *m = &root->u.obj.items[i];
        sy_str_t k = m->key;
        switch (k.len) {
        case 2:
            if (memcmp(k.p, "id", 2) == 0)
                jid = &m->value;
            break;
        case 4:
            if (memcmp(k.p, "type", 4) == 0)
                jtype = &m->value;
            break;
        case 5:
            if (memcmp(k.p, "model", 5) == 0)
                jmodel = &m->value;
            else if (memcmp(k.p, "usage", 5) == 0)
                jusage = &m->value;
            else if (memcmp(k.p, "error", 5) == 0)
                jerror = &m->value;
            break;
        case 7:
            if (memcmp(k.p, "content", 7) == 0)
                content = &m->value;
            break;
        case 11:
            if (memcmp(k.p, "stop_reason", 11) == 0)
                jstop = &m->value;
            break;
        case 13:
            if (memcmp(k.p, "stop_sequence", 13) == 0)
                jstopseq = &m->value;
            break;
        default:
            break;
        }
    }
    sy_str_t type = sy_json_str(jtype);
    if (sy_str_eq_c(type, "error")) {
        const sy_json_t *e = jerror;
        sy_str_t et = sy_json_str(sy_json_get(e, "type"));
        sy_str_t msg = sy_json_str(sy_json_get(e, "message"));
        set_error(err, sy_anthropic_error_class(et, msg, 0), 0, et,
                  msg.len ? msg : SY_STR("anthropic: upstream error"));
        return SY_EINVAL;
    }
    if ((type.len && !sy_str_eq_c(type, "message")) || !sy_json_is(content, SY_JSON_ARRAY)) {
        set_error(err, SY_IR_ERR_BAD_RESPONSE, 0, SY_STR_NULL,
                  SY_STR("anthropic: the response is not a message"));
        return SY_EINVAL;
    }
    out->id = sy_json_str(jid);
    out->model = sy_json_str(jmodel);
    size_t n = sy_json_len(content);
    out->parts = sy_arena_calloc(a, (n + 1) * sizeof(*out->parts));
    for (size_t i = 0; i < n; i++) {
        const sy_json_t *blk = sy_json_index(content, i);
        sy_str_t bt = sy_json_str(sy_json_get(blk, "type"));
        sy_ir_part_t *p = &out->parts[out->nparts];
        if (sy_str_eq_c(bt, "text")) {
            p->kind = SY_IR_TEXT;
            p->text = sy_json_str(sy_json_get(blk, "text"));
        } else if (sy_str_eq_c(bt, "thinking")) {
            p->kind = SY_IR_THINKING;
            p->text = sy_json_str(sy_json_get(blk, "thinking"));
            p->signature = sy_json_str(sy_json_get(blk, "signature"));
        } else if (sy_str_eq_c(bt, "redacted_thinking")) {
            p->kind = SY_IR_REDACTED_THINKING;
            p->signature = sy_json_str(sy_json_get(blk, "data"));
        } else if (sy_str_eq_c(bt, "tool_use")) {
            p->kind = SY_IR_TOOL_CALL;
            p->call_id = sy_json_str(sy_json_get(blk, "id"));
            p->name = sy_json_str(sy_json_get(blk, "name"));
            if (p->name.len == 0) {
                set_error(err, SY_IR_ERR_BAD_RESPONSE, 0, SY_STR_NULL,
                          SY_STR("anthropic: a tool_use block without a name"));
                return SY_EINVAL;
            }
            const sy_json_t *in = sy_json_get(blk, "input");
            p->arguments = sy_json_is(in, SY_JSON_OBJECT) ? json_text(a, in) : SY_STR("{}");
        } else {
            /* server tools (server_tool_use, web_search_tool_result, ...)
             * and other block types run or live on Anthropic's side: they
             * have no IR form and are left out */
            continue;
        }
        out->nparts++;
    }
    out->finish = sy_anthropic_finish(sy_json_str(jstop));
    if (out->finish == SY_IR_FINISH_UNSET) /* a compatible server that leaves it out */
        out->finish = SY_IR_FINISH_STOP;
    out->stop_sequence = sy_json_str(jstopseq);
    sy_anthropic_usage_t u;
    memset(&u, 0, sizeof(u));
    sy_anthropic_usage_read(jusage, &u);
    out->usage = sy_anthropic_usage_to_ir(&u);
    return SY_OK;
}

/* --------------------------------------------------------------- errors --- */

/* map_error gets no arena: the message and type it returns are views into
 * the body when the JSON string had no escapes, else copies in these
 * per-thread buffers, valid until the next map_error on the thread. */
static _Thread_local char err_message[1024];
static _Thread_local char err_type[64];

static sy_str_t stable(sy_str_t s, sy_str_t body, char *buf, size_t cap)
{
    if (s.len == 0)
        return SY_STR_NULL;
    if (s.p >= body.p && s.p + s.len <= body.p + body.len)
        return s;
    size_t n = SY_MIN(s.len, cap - 1);
    memcpy(buf, s.p, n);
    buf[n] = '\0';
    return sy_str(buf, n);
}

static void map_error(int status, const sy_http_header_t *headers, size_t nheaders, sy_str_t body,
                      sy_ir_error_t *out)
{
    memset(out, 0, sizeof(*out));
    out->status = status;
    out->retry_after_ms = sy_provider_retry_after_ms(headers, nheaders);
    sy_arena_t *tmp = sy_arena_new(0);
    sy_json_t *root = NULL;
    sy_str_t type = SY_STR_NULL, msg = SY_STR_NULL;
    if (sy_json_parse(tmp, body.p, body.len, NULL, &root, NULL) == SY_OK) {
        const sy_json_t *e = sy_json_get(root, "error");
        type = sy_json_str(sy_json_get(e, "type"));
        msg = sy_json_str(sy_json_get(e, "message"));
    }
    out->cls = sy_anthropic_error_class(type, msg, status);
    out->type = stable(type, body, err_type, sizeof(err_type));
    out->message = stable(msg, body, err_message, sizeof(err_message));
    if (out->message.len == 0) {
        int n = snprintf(err_message, sizeof(err_message), "anthropic: upstream answered HTTP %d",
                         status);
        out->message = sy_str(err_message, (size_t)SY_MAX(n, 0));
    }
    sy_arena_free(tmp);
}

const sy_provider_vt_t sy_provider_anthropic = {
    .kind = "anthropic",
    .native = SY_FORMAT_ANTHROPIC,
    .encode = encode,
    .decode = decode,
    .stream_new = sy_anthropic_stream_new,
    .stream_feed = sy_anthropic_stream_feed,
    .stream_end = sy_anthropic_stream_end,
    .map_error = map_error,
    .passthrough = passthrough,
    .passthrough_usage = passthrough_usage,
};
