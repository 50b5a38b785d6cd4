/*
 * openai.c - the OpenAI adapter: request encoding, error mapping, and the
 * pieces of the wire format the decoders share (openai_decode.c decodes
 * whole bodies and streams).
 *
 * One adapter serves OpenAI, Azure OpenAI and every OpenAI-compatible host.
 * The hosts differ in a few places, handled here by looking at the
 * deployment (never at the request):
 *   - Azure: path /openai/deployments/{model}/chat/completions?api-version=
 *     and an `api-key` header instead of `Authorization: Bearer`.
 *   - Token limit: official OpenAI and Azure get `max_completion_tokens`
 *     (reasoning models reject `max_tokens` there: see the recorded
 *     reasoning-model-legacy-parameter-error.json); every other host gets
 *     `max_tokens`, the one name all compatible servers understand (Mistral
 *     and DeepSeek know only it, and Mistral rejects unknown members).
 *   - Streams always ask for `stream_options.include_usage`: the gateway
 *     must account exact usage; the front door hides the extra chunk from
 *     clients that did not ask for it.
 */
#include "providers/openai_internal.h"
#include "providers/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SY_OPENAI_MAX_BODY ((size_t)64 << 20) /* an encoded request body */

/* ------------------------------------------------------------ encoding --- */

#define KEY(w, k) sy_json_write_key_lit((w), k) /* a literal: no escaping */

/* True for the official API host (and Azure): they get the current
 * parameter names; compatible hosts get the long-standing ones. */
static bool official_host(const sy_provider_ctx_t *cx)
{
    if (cx->azure)
        return true;
    sy_str_t u = cx->base_url;
    ptrdiff_t s = sy_str_find(u, SY_STR("://"));
    sy_str_t host = s < 0 ? u : sy_str_sub(u, (size_t)s + 3, u.len);
    ptrdiff_t slash = sy_str_find_char(host, '/');
    if (slash >= 0)
        host = sy_str_sub(host, 0, (size_t)slash);
    ptrdiff_t colon = sy_str_find_char(host, ':');
    if (colon >= 0)
        host = sy_str_sub(host, 0, (size_t)colon);
    return sy_str_ieq_c(host, "api.openai.com");
}

static void write_text_or_parts(sy_json_writer_t *w, const sy_ir_part_t *parts, size_t n);

/* An image as an image_url content part: the URL, or a data: URL built
 * from inline base64. */
static void write_image(sy_arena_t *a, sy_json_writer_t *w, const sy_ir_image_t *im)
{
    sy_json_write_begin_object(w);
    KEY(w, "type");
    sy_json_write_string_lit(w, "image_url");
    KEY(w, "image_url");
    sy_json_write_begin_object(w);
    KEY(w, "url");
    if (im->url.len)
        sy_json_write_string(w, im->url);
    else {
        sy_str_t mt = im->media_type.len ? im->media_type : SY_STR("image/png");
        char *u = sy_arena_sprintf(a, "data:%.*s;base64,", SY_STR_FMT(mt));
        size_t ul = strlen(u);
        char *full = sy_arena_alloc(a, ul + im->data.len + 1);
        memcpy(full, u, ul);
        if (im->data.len)
            memcpy(full + ul, im->data.p, im->data.len);
        sy_json_write_string(w, sy_str(full, ul + im->data.len));
    }
    if (im->detail.len) {
        KEY(w, "detail");
        sy_json_write_string(w, im->detail);
    }
    sy_json_write_end_object(w);
    sy_json_write_end_object(w);
}

/* Content of text and image parts: a plain string when it is one text part
 * (what every compatible host accepts), else an array of content parts. */
static void write_content(sy_arena_t *a, sy_json_writer_t *w, const sy_ir_part_t *parts, size_t n)
{
    size_t nimg = 0;
    for (size_t i = 0; i < n; i++)
        if (parts[i].kind == SY_IR_IMAGE)
            nimg++;
    if (nimg == 0) {
        write_text_or_parts(w, parts, n);
        return;
    }
    sy_json_write_begin_array(w);
    for (size_t i = 0; i < n; i++) {
        if (parts[i].kind == SY_IR_TEXT) {
            sy_json_write_begin_object(w);
            KEY(w, "type");
            sy_json_write_string_lit(w, "text");
            KEY(w, "text");
            sy_json_write_string(w, parts[i].text);
            sy_json_write_end_object(w);
        } else if (parts[i].kind == SY_IR_IMAGE) {
            write_image(a, w, &parts[i].image);
        }
    }
    sy_json_write_end_array(w);
}

/* Text parts only: one part as a string, several as text content parts, none
 * as "". */
static void write_text_or_parts(sy_json_writer_t *w, const sy_ir_part_t *parts, size_t n)
{
    size_t ntext = 0;
    const sy_ir_part_t *only = NULL;
    for (size_t i = 0; i < n; i++)
        if (parts[i].kind == SY_IR_TEXT) {
            ntext++;
            only = &parts[i];
        }
    if (ntext <= 1) {
        sy_json_write_string(w, only ? only->text : SY_STR(""));
        return;
    }
    sy_json_write_begin_array(w);
    for (size_t i = 0; i < n; i++) {
        if (parts[i].kind != SY_IR_TEXT)
            continue;
        sy_json_write_begin_object(w);
        KEY(w, "type");
        sy_json_write_string_lit(w, "text");
        KEY(w, "text");
        sy_json_write_string(w, parts[i].text);
        sy_json_write_end_object(w);
    }
    sy_json_write_end_array(w);
}

/* One role:"tool" message per tool result. OpenAI tool messages hold text
 * only: images in a result go into a user message right after the tool
 * messages (returned through *images so the caller can place it). */
static void write_tool_result(sy_json_writer_t *w, const sy_ir_part_t *p, bool *has_images)
{
    sy_json_write_begin_object(w);
    KEY(w, "role");
    sy_json_write_string_lit(w, "tool");
    KEY(w, "tool_call_id");
    sy_json_write_string(w, p->call_id);
    KEY(w, "content");
    write_text_or_parts(w, p->content, p->ncontent);
    sy_json_write_end_object(w);
    for (size_t i = 0; i < p->ncontent; i++)
        if (p->content[i].kind == SY_IR_IMAGE)
            *has_images = true;
}

/* The user message carrying the images of tool results (see above). */
static void write_tool_images(sy_arena_t *a, sy_json_writer_t *w, const sy_ir_message_t *m)
{
    sy_json_write_begin_object(w);
    KEY(w, "role");
    sy_json_write_string_lit(w, "user");
    KEY(w, "content");
    sy_json_write_begin_array(w);
    for (size_t i = 0; i < m->nparts; i++) {
        const sy_ir_part_t *p = &m->parts[i];
        if (p->kind != SY_IR_TOOL_RESULT)
            continue;
        for (size_t j = 0; j < p->ncontent; j++)
            if (p->content[j].kind == SY_IR_IMAGE)
                write_image(a, w, &p->content[j].image);
    }
    sy_json_write_end_array(w);
    sy_json_write_end_object(w);
}

static void write_message(sy_arena_t *a, sy_json_writer_t *w, const sy_ir_message_t *m)
{
    /* Tool results become role:"tool" messages, whatever message holds
     * them (Anthropic puts them in a user turn), ahead of the rest. */
    size_t nresults = 0, nother = 0;
    bool images = false;
    for (size_t i = 0; i < m->nparts; i++) {
        if (m->parts[i].kind == SY_IR_TOOL_RESULT) {
            write_tool_result(w, &m->parts[i], &images);
            nresults++;
        } else
            nother++;
    }
    if (images)
        write_tool_images(a, w, m);
    if (m->role == SY_IR_TOOL || (nresults && nother == 0))
        return;

    if (m->role == SY_IR_ASSISTANT) {
        size_t ntext = 0, ncalls = 0;
        for (size_t i = 0; i < m->nparts; i++) {
            if (m->parts[i].kind == SY_IR_TEXT)
                ntext++;
            else if (m->parts[i].kind == SY_IR_TOOL_CALL)
                ncalls++;
        }
        sy_json_write_begin_object(w);
        KEY(w, "role");
        sy_json_write_string_lit(w, "assistant");
        KEY(w, "content");
        /* Reasoning from earlier turns is not sent back: Chat Completions
         * has no input field for it (DeepSeek rejects reasoning_content in
         * input). */
        if (ntext == 0 && ncalls)
            sy_json_write_null(w);
        else
            write_text_or_parts(w, m->parts, m->nparts);
        if (m->name.len) {
            KEY(w, "name");
            sy_json_write_string(w, m->name);
        }
        if (ncalls) {
            KEY(w, "tool_calls");
            sy_json_write_begin_array(w);
            for (size_t i = 0; i < m->nparts; i++) {
                const sy_ir_part_t *p = &m->parts[i];
                if (p->kind != SY_IR_TOOL_CALL)
                    continue;
                sy_json_write_begin_object(w);
                KEY(w, "id");
                sy_json_write_string(w, p->call_id);
                KEY(w, "type");
                sy_json_write_string_lit(w, "function");
                KEY(w, "function");
                sy_json_write_begin_object(w);
                KEY(w, "name");
                sy_json_write_string(w, p->name);
                KEY(w, "arguments");
                sy_json_write_string(w, p->arguments.len ? p->arguments : SY_STR("{}"));
                sy_json_write_end_object(w);
                sy_json_write_end_object(w);
            }
            sy_json_write_end_array(w);
        }
        sy_json_write_end_object(w);
        return;
    }

    sy_json_write_begin_object(w);
    KEY(w, "role");
    sy_json_write_string(w, m->role == SY_IR_SYSTEM ? SY_STR("system") : SY_STR("user"));
    KEY(w, "content");
    write_content(a, w, m->parts, m->nparts);
    if (m->name.len) {
        KEY(w, "name");
        sy_json_write_string(w, m->name);
    }
    sy_json_write_end_object(w);
}

static void write_tools(sy_json_writer_t *w, const sy_ir_request_t *r)
{
    KEY(w, "tools");
    sy_json_write_begin_array(w);
    for (size_t i = 0; i < r->ntools; i++) {
        const sy_ir_tool_t *t = &r->tools[i];
        sy_json_write_begin_object(w);
        KEY(w, "type");
        sy_json_write_string_lit(w, "function");
        KEY(w, "function");
        sy_json_write_begin_object(w);
        KEY(w, "name");
        sy_json_write_string(w, t->name);
        if (t->description.len) {
            KEY(w, "description");
            sy_json_write_string(w, t->description);
        }
        if (t->parameters) {
            KEY(w, "parameters");
            sy_json_write_value(w, t->parameters);
        }
        if (t->strict) {
            KEY(w, "strict");
            sy_json_write_bool(w, true);
        }
        sy_json_write_end_object(w);
        sy_json_write_end_object(w);
    }
    sy_json_write_end_array(w);
}

static const char *effort_name(sy_ir_effort_t e)
{
    switch (e) {
    case SY_IR_EFFORT_MINIMAL:
        return "minimal";
    case SY_IR_EFFORT_LOW:
        return "low";
    case SY_IR_EFFORT_MEDIUM:
        return "medium";
    case SY_IR_EFFORT_HIGH:
        return "high";
    default:
        return NULL;
    }
}

/* A thinking budget (Anthropic, Gemini clients) as an effort level, when no
 * effort was given: under 2k tokens low, under 8k medium, else high. */
static sy_ir_effort_t effort_of(const sy_ir_request_t *r)
{
    if (r->effort != SY_IR_EFFORT_UNSET || r->thinking_budget == 0)
        return r->effort;
    if (r->thinking_budget < 2048)
        return SY_IR_EFFORT_LOW;
    if (r->thinking_budget < 8192)
        return SY_IR_EFFORT_MEDIUM;
    return SY_IR_EFFORT_HIGH;
}

static void write_body(sy_arena_t *a, sy_json_writer_t *w, const sy_provider_ctx_t *cx,
                       const sy_ir_request_t *r)
{
    sy_json_write_begin_object(w);
    KEY(w, "model");
    sy_json_write_string(w, cx->model.len ? cx->model : r->model);
    KEY(w, "messages");
    sy_json_write_begin_array(w);
    if (r->nsystem) {
        sy_json_write_begin_object(w);
        KEY(w, "role");
        sy_json_write_string_lit(w, "system");
        KEY(w, "content");
        write_text_or_parts(w, r->system, r->nsystem);
        sy_json_write_end_object(w);
    }
    for (size_t i = 0; i < r->nmessages; i++)
        write_message(a, w, &r->messages[i]);
    sy_json_write_end_array(w);

    if (r->ntools)
        write_tools(w, r);
    switch (r->tool_choice) {
    case SY_IR_TOOL_CHOICE_AUTO:
        KEY(w, "tool_choice");
        sy_json_write_string_lit(w, "auto");
        break;
    case SY_IR_TOOL_CHOICE_NONE:
        KEY(w, "tool_choice");
        sy_json_write_string_lit(w, "none");
        break;
    case SY_IR_TOOL_CHOICE_REQUIRED:
        KEY(w, "tool_choice");
        sy_json_write_string_lit(w, "required");
        break;
    case SY_IR_TOOL_CHOICE_NAMED:
        KEY(w, "tool_choice");
        sy_json_write_begin_object(w);
        KEY(w, "type");
        sy_json_write_string_lit(w, "function");
        KEY(w, "function");
        sy_json_write_begin_object(w);
        KEY(w, "name");
        sy_json_write_string(w, r->tool_choice_name);
        sy_json_write_end_object(w);
        sy_json_write_end_object(w);
        break;
    case SY_IR_TOOL_CHOICE_UNSET:
        break;
    }
    /* parallel_tool_calls is only meaningful (and only accepted by OpenAI)
     * alongside tools. */
    if (r->parallel_tool_calls >= 0 && r->ntools) {
        KEY(w, "parallel_tool_calls");
        sy_json_write_bool(w, r->parallel_tool_calls == 1);
    }
    if (r->format == SY_IR_FORMAT_JSON_OBJECT) {
        KEY(w, "response_format");
        sy_json_write_begin_object(w);
        KEY(w, "type");
        sy_json_write_string_lit(w, "json_object");
        sy_json_write_end_object(w);
    } else if (r->format == SY_IR_FORMAT_JSON_SCHEMA) {
        KEY(w, "response_format");
        sy_json_write_begin_object(w);
        KEY(w, "type");
        sy_json_write_string_lit(w, "json_schema");
        KEY(w, "json_schema");
        sy_json_write_begin_object(w);
        KEY(w, "name");
        sy_json_write_string(w, r->schema_name.len ? r->schema_name : SY_STR("response"));
        if (r->schema) {
            KEY(w, "schema");
            sy_json_write_value(w, r->schema);
        }
        if (r->schema_strict) {
            KEY(w, "strict");
            sy_json_write_bool(w, true);
        }
        sy_json_write_end_object(w);
        sy_json_write_end_object(w);
    }
    if (r->has_temperature) {
        KEY(w, "temperature");
        sy_json_write_double(w, r->temperature);
    }
    if (r->has_top_p) {
        KEY(w, "top_p");
        sy_json_write_double(w, r->top_p);
    }
    if (r->has_seed) {
        KEY(w, "seed");
        sy_json_write_i64(w, r->seed);
    }
    if (r->has_presence) {
        KEY(w, "presence_penalty");
        sy_json_write_double(w, r->presence_penalty);
    }
    if (r->has_frequency) {
        KEY(w, "frequency_penalty");
        sy_json_write_double(w, r->frequency_penalty);
    }
    if (r->nstop) {
        KEY(w, "stop");
        sy_json_write_begin_array(w);
        for (size_t i = 0; i < r->nstop; i++)
            sy_json_write_string(w, r->stop[i]);
        sy_json_write_end_array(w);
    }
    if (r->max_tokens) {
        if (official_host(cx))
            KEY(w, "max_completion_tokens");
        else
            KEY(w, "max_tokens");
        sy_json_write_u64(w, r->max_tokens);
    }
    const char *effort = effort_name(effort_of(r));
    if (effort) {
        KEY(w, "reasoning_effort");
        sy_json_write_string(w, sy_str_c(effort));
    }
    if (r->user.len) {
        KEY(w, "user");
        sy_json_write_string(w, r->user);
    }
    if (r->stream) {
        KEY(w, "stream");
        sy_json_write_bool(w, true);
        KEY(w, "stream_options");
        sy_json_write_begin_object(w);
        KEY(w, "include_usage");
        sy_json_write_bool(w, true);
        sy_json_write_end_object(w);
    }
    sy_json_write_end_object(w);
}

/* Percent-encode a path segment (RFC 3986 unreserved characters pass). */
static sy_str_t path_segment(sy_arena_t *a, sy_str_t s)
{
    char *o = sy_arena_alloc(a, s.len * 3 + 1);
    size_t n = 0;
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            o[n++] = (char)c;
        else {
            o[n++] = '%';
            o[n++] = hex[c >> 4];
            o[n++] = hex[c & 15];
        }
    }
    o[n] = '\0';
    return sy_str(o, n);
}

/* The path for an endpoint ("chat/completions", "embeddings") on this
 * deployment, and the credentials header. */
static void set_target(sy_arena_t *a, const sy_provider_ctx_t *cx, const char *endpoint,
                       sy_upstream_req_t *out)
{
    sy_str_t base = cx->base_path;
    while (base.len && base.p[base.len - 1] == '/')
        base.len--;
    if (cx->azure) {
        /* base_url may or may not already end in /openai */
        const char *pre = sy_str_ends_with(base, SY_STR("/openai")) ? "" : "/openai";
        sy_str_t ver = cx->api_version.len ? cx->api_version : SY_STR(SY_OPENAI_AZURE_API_VERSION);
        sy_str_t dep = path_segment(a, cx->model);
        out->path = sy_str_c(sy_arena_sprintf(a, "%.*s%s/deployments/%.*s/%s?api-version=%.*s",
                                              SY_STR_FMT(base), pre, SY_STR_FMT(dep), endpoint,
                                              SY_STR_FMT(ver)));
        if (cx->api_key.len)
            sy_upstream_add_header(a, out, "api-key", cx->api_key);
    } else {
        char ep[32];
        size_t n = strlen(endpoint);
        if (n + 1 >= sizeof(ep))
            n = sizeof(ep) - 2; /* (the endpoints are this file's own short names) */
        ep[0] = '/';
        memcpy(ep + 1, endpoint, n);
        out->path = sy_wire_join(a, base, sy_str(ep, n + 1));
        if (cx->api_key.len) {
            /* local servers (Ollama, llama.cpp, vLLM) often run keyless */
            sy_upstream_add_header_ref(a, out, "Authorization",
                                       sy_wire_join(a, SY_STR("Bearer "), cx->api_key));
        }
    }
}

static int openai_encode(sy_arena_t *a, const sy_provider_ctx_t *cx, const sy_ir_request_t *req,
                         sy_upstream_req_t *out, sy_ir_error_t *err)
{
    memset(out, 0, sizeof(*out));
    sy_buf_t buf;
    sy_buf_init(&buf, SY_OPENAI_MAX_BODY);
    sy_json_writer_t w;
    sy_json_writer_init(&w, &buf, 0);
    write_body(a, &w, cx, req);
    int rc = sy_json_write_finish(&w);
    if (rc != SY_OK) {
        sy_buf_free(&buf);
        memset(err, 0, sizeof(*err));
        err->cls = rc == SY_ETOOBIG ? SY_IR_ERR_BAD_REQUEST : SY_IR_ERR_INTERNAL;
        err->message = rc == SY_ETOOBIG ? SY_STR("the request is too large to send upstream")
                                        : SY_STR("the request could not be encoded for openai");
        return SY_EINVAL;
    }
    out->method = "POST";
    out->body = sy_str_dup(a, sy_buf_str(&buf));
    sy_buf_free(&buf);
    out->stream = req->stream;
    set_target(a, cx, "chat/completions", out);
    if (req->stream)
        sy_upstream_add_header_ref(a, out, "Accept", SY_STR("text/event-stream"));
    return SY_OK;
}

/* A client's own chat body relayed (provider.h: passthrough). */
static int openai_passthrough(sy_arena_t *a, const sy_provider_ctx_t *cx, sy_str_t body,
                              bool stream, sy_upstream_req_t *out)
{
    memset(out, 0, sizeof(*out));
    if (sy_wire_relay_body(a, body, cx->model, stream, &out->body) != SY_OK)
        return SY_EAGAIN;
    out->method = "POST";
    out->stream = stream;
    set_target(a, cx, "chat/completions", out);
    if (stream)
        sy_upstream_add_header_ref(a, out, "Accept", SY_STR("text/event-stream"));
    return SY_OK;
}

/* ------------------------------------------------------- embeddings --- */

int sy_openai_embeddings_encode(sy_arena_t *a, const sy_provider_ctx_t *cx, const sy_json_t *body,
                                sy_upstream_req_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!sy_json_is(body, SY_JSON_OBJECT))
        return SY_EINVAL;
    /* a shallow copy of the members, with model replaced */
    sy_json_t *copy = sy_json_new_object(a);
    for (size_t i = 0; i < body->u.obj.len; i++)
        sy_json_set(a, copy, body->u.obj.items[i].key, &body->u.obj.items[i].value);
    if (cx->model.len)
        sy_json_set(a, copy, SY_STR("model"), sy_json_new_str(a, cx->model));
    sy_buf_t buf;
    sy_buf_init(&buf, SY_OPENAI_MAX_BODY);
    int rc = sy_json_serialize(copy, &buf, 0);
    if (rc != SY_OK) {
        sy_buf_free(&buf);
        return rc;
    }
    out->method = "POST";
    out->body = sy_str_dup(a, sy_buf_str(&buf));
    sy_buf_free(&buf);
    set_target(a, cx, "embeddings", out);
    return SY_OK;
}

void sy_openai_embeddings_usage(sy_arena_t *a, sy_str_t body, sy_ir_usage_t *out)
{
    memset(out, 0, sizeof(*out));
    sy_json_t *root = NULL;
    if (sy_json_parse(a, body.p ? body.p : "", body.len, NULL, &root, NULL) != SY_OK)
        return;
    uint64_t v;
    if (sy_json_as_u64(sy_json_path(root, "usage.prompt_tokens"), &v) == SY_OK) {
        out->input = v;
        out->has_input = true;
        out->output = 0;
        out->has_output = true;
    }
}

/* ------------------------------------------------- shared wire pieces --- */

void sy_openai_read_usage(const sy_json_t *u, sy_ir_usage_t *out)
{
    if (!sy_json_is(u, SY_JSON_OBJECT))
        return;
    sy_openai_counts_t c;
    memset(&c, 0, sizeof(c));
    c.has[SY_OPENAI_PROMPT] = sy_json_as_u64(sy_json_get(u, "prompt_tokens"),
                                             &c.n[SY_OPENAI_PROMPT]) == SY_OK;
    c.has[SY_OPENAI_COMPLETION] = sy_json_as_u64(sy_json_get(u, "completion_tokens"),
                                                 &c.n[SY_OPENAI_COMPLETION]) == SY_OK;
    c.has[SY_OPENAI_TOTAL] = sy_json_as_u64(sy_json_get(u, "total_tokens"),
                                            &c.n[SY_OPENAI_TOTAL]) == SY_OK;
    c.has[SY_OPENAI_CACHED] =
        sy_json_as_u64(sy_json_path(u, "prompt_tokens_details.cached_tokens"),
                       &c.n[SY_OPENAI_CACHED]) == SY_OK;
    c.has[SY_OPENAI_CACHE_HIT] = sy_json_as_u64(sy_json_get(u, "prompt_cache_hit_tokens"),
                                                &c.n[SY_OPENAI_CACHE_HIT]) == SY_OK;
    c.has[SY_OPENAI_REASONING] =
        sy_json_as_u64(sy_json_path(u, "completion_tokens_details.reasoning_tokens"),
                       &c.n[SY_OPENAI_REASONING]) == SY_OK;
    sy_openai_usage_from_counts(&c, out);
}

void sy_openai_usage_from_counts(const sy_openai_counts_t *c, sy_ir_usage_t *out)
{
    if (c->has[SY_OPENAI_PROMPT]) {
        out->input = c->n[SY_OPENAI_PROMPT];
        out->has_input = true;
    }
    if (c->has[SY_OPENAI_COMPLETION]) {
        out->output = c->n[SY_OPENAI_COMPLETION];
        out->has_output = true;
    }
    if (c->has[SY_OPENAI_CACHED]) {
        out->cached_input = c->n[SY_OPENAI_CACHED];
        out->has_cached_input = true;
    } else if (c->has[SY_OPENAI_CACHE_HIT]) {
        /* DeepSeek */
        out->cached_input = c->n[SY_OPENAI_CACHE_HIT];
        out->has_cached_input = true;
    }
    uint64_t reasoning = 0;
    if (c->has[SY_OPENAI_REASONING]) {
        reasoning = c->n[SY_OPENAI_REASONING];
        out->reasoning = reasoning;
        out->has_reasoning = true;
    }
    /* OpenAI counts reasoning inside completion_tokens; xAI does not (its
     * total = prompt + completion + reasoning). The IR's output includes
     * reasoning, so add it back when the total says it was left out. */
    if (c->has[SY_OPENAI_TOTAL] && reasoning && out->has_input && out->has_output &&
        c->n[SY_OPENAI_TOTAL] == out->input + out->output + reasoning)
        out->output += reasoning;
}

sy_ir_finish_t sy_openai_read_finish(sy_str_t r)
{
    if (sy_str_eq_c(r, "length"))
        return SY_IR_FINISH_LENGTH;
    if (sy_str_eq_c(r, "tool_calls") || sy_str_eq_c(r, "function_call"))
        return SY_IR_FINISH_TOOL_CALLS;
    if (sy_str_eq_c(r, "content_filter"))
        return SY_IR_FINISH_CONTENT_FILTER;
    return SY_IR_FINISH_STOP; /* "stop", "eos" (some compatible servers), anything else */
}

static bool str_has(sy_str_t s, const char *needle) { return sy_str_find(s, sy_str_c(needle)) >= 0; }

void sy_openai_read_error(const sy_json_t *e, int status, sy_ir_error_t *out)
{
    sy_str_t message = SY_STR_NULL, type = SY_STR_NULL, code = SY_STR_NULL;
    if (sy_json_is(e, SY_JSON_STRING)) {
        message = e->u.str; /* Ollama: {"error":"model 'x' not found"} */
    } else if (sy_json_is(e, SY_JSON_OBJECT)) {
        message = sy_json_str(sy_json_get(e, "message"));
        type = sy_json_str(sy_json_get(e, "type"));
        const sy_json_t *c = sy_json_get(e, "code");
        code = sy_json_is(c, SY_JSON_NUMBER) ? c->u.num : sy_json_str(c);
    }
    out->status = status;
    out->cls = status ? sy_provider_status_class(status) : SY_IR_ERR_SERVER;
    out->message = message;
    out->type = code.len ? code : type;
    if (sy_str_eq_c(code, "context_length_exceeded") || sy_str_eq_c(type, "context_length_exceeded") ||
        (out->cls == SY_IR_ERR_BAD_REQUEST && (str_has(message, "maximum context length") ||
                                               str_has(message, "context_length_exceeded"))))
        out->cls = SY_IR_ERR_CONTEXT_LENGTH;
    else if (sy_str_eq_c(code, "content_filter") || sy_str_eq_c(code, "content_policy_violation") ||
             sy_str_eq_c(code, "ResponsibleAIPolicyViolation"))
        out->cls = SY_IR_ERR_CONTENT_FILTER;
    else if (sy_str_eq_c(code, "insufficient_quota") || sy_str_eq_c(type, "insufficient_quota") ||
             sy_str_eq_c(code, "rate_limit_exceeded") || sy_str_eq_c(type, "rate_limit_exceeded"))
        /* insufficient_quota is a 429 too: the account behind this
         * deployment is out of credit. Rate-limited (not auth) keeps
         * OpenAI's own status for the client and lets the router fall back
         * to another deployment; retry_after stays 0. */
        out->cls = SY_IR_ERR_RATE_LIMITED;
    else if (status == 0 && (sy_str_eq_c(type, "server_error") || type.len == 0))
        out->cls = SY_IR_ERR_SERVER;
    else if (status == 0 && (sy_str_eq_c(type, "invalid_request_error")))
        out->cls = SY_IR_ERR_BAD_REQUEST;
}

/* ----------------------------------------------------------- map_error --- */

/* "6m0s", "1s", "20ms", "1.5s", "2h3m" (OpenAI x-ratelimit-reset-*) in ms;
 * 0 when it does not read as a duration. */
static uint64_t parse_duration_ms(sy_str_t s)
{
    uint64_t total = 0;
    size_t i = 0;
    bool any = false;
    while (i < s.len) {
        double v = 0, scale = 1;
        bool digits = false, frac = false;
        while (i < s.len && ((s.p[i] >= '0' && s.p[i] <= '9') || (s.p[i] == '.' && !frac))) {
            if (s.p[i] == '.')
                frac = true;
            else if (frac) {
                scale /= 10;
                v += (s.p[i] - '0') * scale;
                digits = true;
            } else {
                if (v > 1e9)
                    return 0;
                v = v * 10 + (s.p[i] - '0');
                digits = true;
            }
            i++;
        }
        if (!digits)
            return 0;
        double unit;
        if (i + 1 < s.len && s.p[i] == 'm' && s.p[i + 1] == 's') {
            unit = 1;
            i += 2;
        } else if (i < s.len && s.p[i] == 'h') {
            unit = 3600000;
            i++;
        } else if (i < s.len && s.p[i] == 'm') {
            unit = 60000;
            i++;
        } else if (i < s.len && s.p[i] == 's') {
            unit = 1000;
            i++;
        } else
            return 0;
        total += (uint64_t)(v * unit + 0.5);
        any = true;
    }
    return any ? total : 0;
}

/* "Please try again in 1.5s." / "in 20ms" in an OpenAI 429 message. */
static uint64_t message_retry_ms(sy_str_t m)
{
    ptrdiff_t at = sy_str_find(m, SY_STR("try again in "));
    if (at < 0)
        return 0;
    sy_str_t rest = sy_str_sub(m, (size_t)at + 13, 32);
    size_t n = 0;
    while (n < rest.len && rest.p[n] != ' ' && rest.p[n] != ',' &&
           !(rest.p[n] == '.' && (n + 1 == rest.len || rest.p[n + 1] == ' ')))
        n++;
    return parse_duration_ms(sy_str_sub(rest, 0, n));
}

/* The reset time of the rate limit that ran out: requests or tokens
 * (whichever has 0 remaining; the later one when neither says). */
static uint64_t ratelimit_reset_ms(const sy_http_header_t *h, size_t n)
{
    const sy_http_header_t *rr = sy_http_header_find(h, n, "x-ratelimit-reset-requests");
    const sy_http_header_t *rt = sy_http_header_find(h, n, "x-ratelimit-reset-tokens");
    const sy_http_header_t *lr = sy_http_header_find(h, n, "x-ratelimit-remaining-requests");
    const sy_http_header_t *lt = sy_http_header_find(h, n, "x-ratelimit-remaining-tokens");
    uint64_t req = rr ? parse_duration_ms(rr->value) : 0;
    uint64_t tok = rt ? parse_duration_ms(rt->value) : 0;
    bool req_out = lr && sy_str_eq_c(lr->value, "0");
    bool tok_out = lt && sy_str_eq_c(lt->value, "0");
    if (req_out && !tok_out)
        return req;
    if (tok_out && !req_out)
        return tok;
    return SY_MAX(req, tok);
}

/* map_error's message and type outlive the call (the caller keeps the IR
 * error) but the vtable gives no arena: they are copied into per-thread
 * storage, valid until this thread's next map_error call. */
#define SY_OPENAI_ERRMSG_MAX 1024
static _Thread_local char err_message[SY_OPENAI_ERRMSG_MAX];
static _Thread_local char err_type[128];

/* Copy s into buf (cap bytes), cut at a UTF-8 character boundary. */
static sy_str_t keep(char *buf, size_t cap, sy_str_t s)
{
    size_t n = SY_MIN(s.len, cap - 1);
    if (n < s.len)
        while (n > 0 && ((unsigned char)s.p[n] & 0xC0) == 0x80)
            n--;
    if (n)
        memcpy(buf, s.p, n);
    buf[n] = '\0';
    return sy_str(buf, n);
}

static void openai_map_error(int status, const sy_http_header_t *headers, size_t nheaders,
                             sy_str_t body, sy_ir_error_t *out)
{
    memset(out, 0, sizeof(*out));
    sy_arena_t *a = sy_arena_new(0);
    sy_json_t *root = NULL;
    sy_json_parse(a, body.p ? body.p : "", body.len, NULL, &root, NULL);
    const sy_json_t *e = sy_json_get(root, "error");
    if (e == NULL && sy_json_is(root, SY_JSON_OBJECT) &&
        (sy_json_get(root, "message") || sy_json_get(root, "detail")))
        e = root; /* vLLM / Mistral {"object":"error","message",...}; FastAPI {"detail"} */
    sy_openai_read_error(e, status, out);
    if (out->message.len == 0 && e == root && root)
        out->message = sy_json_str(sy_json_get(root, "detail"));
    if (out->cls == SY_IR_ERR_AUTH) {
        /* OpenAI echoes part of the rejected key: never pass it on */
        out->message = SY_STR("the upstream provider rejected the gateway's credentials");
    } else if (out->message.len == 0) {
        out->message = sy_str_c(sy_arena_sprintf(a, "the upstream provider answered HTTP %d", status));
    }
    out->message = keep(err_message, sizeof(err_message), out->message);
    out->type = keep(err_type, sizeof(err_type), out->type);
    out->retry_after_ms = sy_provider_retry_after_ms(headers, nheaders);
    if (out->retry_after_ms == 0 && status == 429) {
        out->retry_after_ms = ratelimit_reset_ms(headers, nheaders);
        if (out->retry_after_ms == 0)
            out->retry_after_ms = message_retry_ms(out->message);
    }
    sy_arena_free(a);
}

/* ----------------------------------------------------------- the vtable --- */

const sy_provider_vt_t sy_provider_openai = {
    .kind = "openai",
    .native = SY_FORMAT_OPENAI,
    .encode = openai_encode,
    .decode = sy_openai_decode,
    .stream_new = sy_openai_stream_new,
    .stream_feed = sy_openai_stream_feed,
    .stream_end = sy_openai_stream_end,
    .map_error = openai_map_error,
    .passthrough = openai_passthrough,
    .passthrough_usage = sy_openai_passthrough_usage,
};
