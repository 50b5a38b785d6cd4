/*
 * bedrock.c - the Amazon Bedrock adapter (Converse / ConverseStream): the
 * vtable, the request encoder and its SigV4 signature.
 *
 * The request is POST {base_path}/model/{modelId}/converse (or
 * /converse-stream), the model id URI-encoded as the AWS SDKs send it
 * (':' -> %3A, an inference-profile ARN's '/' -> %2F), signed with SigV4
 * for service "bedrock" in cx->region (or the region in the
 * bedrock-runtime.<region>.amazonaws.com host) with cx's keys, covering
 * host, x-amz-date and, with temporary credentials, x-amz-security-token.
 * A deployment with a Bedrock API key and no AWS keys sends it as a
 * bearer token instead. The body mapping and what cannot be carried are in
 * docs/internals/translation.md ("Bedrock").
 */
#include "providers/bedrock.h"

#include <string.h>

#include "json/json.h"
#include "providers/sigv4.h"
#include "providers/wire.h"

typedef struct {
    sy_arena_t *a;
    const sy_provider_ctx_t *cx;
    const sy_ir_request_t *req;
    sy_json_writer_t *w;
    sy_ir_error_t *err;
    bool claude, nova;
} enc_t;

static int refuse(sy_ir_error_t *err, sy_ir_error_class_t cls, const char *msg)
{
    err->cls = cls;
    err->status = cls == SY_IR_ERR_BAD_REQUEST ? 400 : 0;
    err->message = sy_str_c(msg);
    return SY_EINVAL;
}

/*
 * Converse wants toolUseId to match [a-zA-Z0-9_-]{1,64}; ids from other
 * providers may not. The same rewrite is applied to a call's id and to the
 * result that answers it, so the pair still matches: other bytes become
 * '_', and the id is cut at 64 bytes.
 */
static sy_str_t tool_id(sy_arena_t *a, sy_str_t id)
{
    bool ok = id.len > 0 && id.len <= SY_BEDROCK_MAX_ID;
    for (size_t i = 0; ok && i < id.len; i++) {
        char c = id.p[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-';
    }
    if (ok)
        return id;
    size_t n = SY_MIN(id.len, (size_t)SY_BEDROCK_MAX_ID);
    if (n == 0)
        return SY_STR("tool_call");
    char *p = sy_arena_alloc(a, n + 1);
    for (size_t i = 0; i < n; i++) {
        char c = id.p[i];
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-';
        p[i] = keep ? c : '_';
    }
    p[n] = '\0';
    return sy_str(p, n);
}

/* Bedrock's image formats by media type. */
static const char *image_format(sy_str_t media_type)
{
    if (sy_str_ieq_c(media_type, "image/png"))
        return "png";
    if (sy_str_ieq_c(media_type, "image/jpeg") || sy_str_ieq_c(media_type, "image/jpg"))
        return "jpeg";
    if (sy_str_ieq_c(media_type, "image/gif"))
        return "gif";
    if (sy_str_ieq_c(media_type, "image/webp"))
        return "webp";
    return NULL;
}

static void cache_point(sy_json_writer_t *w)
{
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("cachePoint"));
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("type"));
    sy_json_write_string(w, SY_STR("default"));
    sy_json_write_end_object(w);
    sy_json_write_end_object(w);
}

static void text_block(sy_json_writer_t *w, sy_str_t text)
{
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("text"));
    sy_json_write_string(w, text);
    sy_json_write_end_object(w);
}

/* An image block: inline bytes, or an s3:// location. Bedrock cannot fetch
 * http(s) URLs, and the gateway does no I/O in an adapter: refused. */
static int image_block(enc_t *e, const sy_ir_image_t *img)
{
    sy_json_writer_t *w = e->w;
    sy_str_t type, data;
    bool inl = sy_wire_image_inline(img, &type, &data);
    if (!inl) {
        if (!sy_str_starts_with(img->url, SY_STR("s3://")))
            return refuse(e->err, SY_IR_ERR_BAD_REQUEST,
                          "bedrock takes images as inline base64 data or s3:// locations, not "
                          "http(s) URLs");
        type = sy_wire_image_type_from_url(img->url);
    }
    const char *fmt = image_format(type);
    if (!fmt)
        return refuse(e->err, SY_IR_ERR_BAD_REQUEST,
                      "bedrock takes png, jpeg, gif and webp images only");
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("image"));
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("format"));
    sy_json_write_string(w, sy_str_c(fmt));
    sy_json_write_key(w, SY_STR("source"));
    sy_json_write_begin_object(w);
    if (inl) {
        sy_json_write_key(w, SY_STR("bytes"));
        sy_json_write_string(w, data);
    } else {
        sy_json_write_key(w, SY_STR("s3Location"));
        sy_json_write_begin_object(w);
        sy_json_write_key(w, SY_STR("uri"));
        sy_json_write_string(w, img->url);
        sy_json_write_end_object(w);
    }
    sy_json_write_end_object(w);
    sy_json_write_end_object(w);
    sy_json_write_end_object(w);
    return SY_OK;
}

static int tool_use_block(enc_t *e, const sy_ir_part_t *p)
{
    sy_json_writer_t *w = e->w;
    sy_json_t *args = NULL;
    sy_str_t text = sy_str_trim(p->arguments).len ? p->arguments : SY_STR("{}");
    if (sy_json_parse(e->a, text.p, text.len, NULL, &args, NULL) != SY_OK ||
        !sy_json_is(args, SY_JSON_OBJECT))
        return refuse(e->err, SY_IR_ERR_BAD_REQUEST,
                      "a tool call's arguments are not a JSON object (bedrock takes toolUse input "
                      "as an object)");
    if (p->name.len == 0)
        return refuse(e->err, SY_IR_ERR_BAD_REQUEST, "a tool call in the conversation has no name");
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("toolUse"));
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("toolUseId"));
    sy_json_write_string(w, tool_id(e->a, p->call_id));
    sy_json_write_key(w, SY_STR("name"));
    sy_json_write_string(w, p->name);
    sy_json_write_key(w, SY_STR("input"));
    sy_json_write_value(w, args);
    sy_json_write_end_object(w);
    sy_json_write_end_object(w);
    return SY_OK;
}

static int tool_result_block(enc_t *e, const sy_ir_part_t *p)
{
    sy_json_writer_t *w = e->w;
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("toolResult"));
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("toolUseId"));
    sy_json_write_string(w, tool_id(e->a, p->call_id));
    sy_json_write_key(w, SY_STR("content"));
    sy_json_write_begin_array(w);
    size_t n = 0;
    for (size_t i = 0; i < p->ncontent; i++) {
        const sy_ir_part_t *c = &p->content[i];
        if (c->kind == SY_IR_TEXT && c->text.len) {
            text_block(w, c->text);
            n++;
        } else if (c->kind == SY_IR_IMAGE) {
            int rc = image_block(e, &c->image);
            if (rc != SY_OK)
                return rc;
            n++;
        }
    }
    /* Converse refuses blank text blocks: an empty result is an empty JSON
     * object */
    if (n == 0) {
        sy_json_write_begin_object(w);
        sy_json_write_key(w, SY_STR("json"));
        sy_json_write_begin_object(w);
        sy_json_write_end_object(w);
        sy_json_write_end_object(w);
    }
    sy_json_write_end_array(w);
    if (p->is_error) {
        sy_json_write_key(w, SY_STR("status"));
        sy_json_write_string(w, SY_STR("error"));
    }
    sy_json_write_end_object(w);
    sy_json_write_end_object(w);
    return SY_OK;
}

static void reasoning_block(sy_json_writer_t *w, const sy_ir_part_t *p)
{
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("reasoningContent"));
    sy_json_write_begin_object(w);
    if (p->kind == SY_IR_REDACTED_THINKING) {
        sy_json_write_key(w, SY_STR("redactedContent"));
        sy_json_write_string(w, p->signature);
    } else {
        sy_json_write_key(w, SY_STR("reasoningText"));
        sy_json_write_begin_object(w);
        sy_json_write_key(w, SY_STR("text"));
        sy_json_write_string(w, p->text);
        if (p->signature.len) {
            sy_json_write_key(w, SY_STR("signature"));
            sy_json_write_string(w, p->signature);
        }
        sy_json_write_end_object(w);
    }
    sy_json_write_end_object(w);
    sy_json_write_end_object(w);
}

/* Does this part produce a content block? (Converse refuses empty text and
 * empty messages.) A thinking part without text is another provider's
 * signature carrier: nothing Bedrock can use. */
static bool emits(const sy_ir_part_t *p)
{
    switch (p->kind) {
    case SY_IR_TEXT:
    case SY_IR_THINKING:
        return p->text.len > 0;
    case SY_IR_REDACTED_THINKING:
        return p->signature.len > 0;
    default:
        return true;
    }
}

static int content_block(enc_t *e, const sy_ir_part_t *p)
{
    switch (p->kind) {
    case SY_IR_TEXT:
        text_block(e->w, p->text);
        break;
    case SY_IR_IMAGE:
        return image_block(e, &p->image);
    case SY_IR_TOOL_CALL:
        return tool_use_block(e, p);
    case SY_IR_TOOL_RESULT:
        return tool_result_block(e, p);
    case SY_IR_THINKING:
    case SY_IR_REDACTED_THINKING:
        reasoning_block(e->w, p);
        break;
    }
    if (p->cache)
        cache_point(e->w);
    return SY_OK;
}

static const char *role_of(sy_ir_role_t r)
{
    return r == SY_IR_ASSISTANT ? "assistant" : "user";
}

static bool message_emits(const sy_ir_message_t *m)
{
    if (m->role == SY_IR_SYSTEM)
        return false;
    for (size_t i = 0; i < m->nparts; i++)
        if (emits(&m->parts[i]))
            return true;
    return false;
}

/* Consecutive messages of the same Converse role are merged (tool results
 * and the user's next words): Converse requires roles to alternate. */
static int write_messages(enc_t *e)
{
    const sy_ir_request_t *r = e->req;
    sy_json_writer_t *w = e->w;
    sy_json_write_key(w, SY_STR("messages"));
    sy_json_write_begin_array(w);
    size_t m = 0;
    while (m < r->nmessages) {
        if (!message_emits(&r->messages[m])) {
            m++;
            continue;
        }
        const char *role = role_of(r->messages[m].role);
        sy_json_write_begin_object(w);
        sy_json_write_key(w, SY_STR("role"));
        sy_json_write_string(w, sy_str_c(role));
        sy_json_write_key(w, SY_STR("content"));
        sy_json_write_begin_array(w);
        for (; m < r->nmessages; m++) {
            const sy_ir_message_t *msg = &r->messages[m];
            if (!message_emits(msg))
                continue;
            if (strcmp(role_of(msg->role), role) != 0)
                break;
            for (size_t i = 0; i < msg->nparts; i++) {
                if (!emits(&msg->parts[i]))
                    continue;
                int rc = content_block(e, &msg->parts[i]);
                if (rc != SY_OK)
                    return rc;
            }
        }
        sy_json_write_end_array(w);
        sy_json_write_end_object(w);
    }
    sy_json_write_end_array(w);
    return SY_OK;
}

static void write_system(enc_t *e)
{
    const sy_ir_request_t *r = e->req;
    sy_json_writer_t *w = e->w;
    size_t n = 0;
    for (size_t i = 0; i < r->nsystem; i++)
        n += r->system[i].kind == SY_IR_TEXT && r->system[i].text.len;
    for (size_t m = 0; m < r->nmessages; m++)
        if (r->messages[m].role == SY_IR_SYSTEM)
            n += r->messages[m].nparts;
    if (n == 0)
        return;
    sy_json_write_key(w, SY_STR("system"));
    sy_json_write_begin_array(w);
    for (size_t i = 0; i < r->nsystem; i++) {
        const sy_ir_part_t *p = &r->system[i];
        if (p->kind != SY_IR_TEXT || p->text.len == 0)
            continue;
        text_block(w, p->text);
        if (p->cache)
            cache_point(w);
    }
    for (size_t m = 0; m < r->nmessages; m++) {
        const sy_ir_message_t *msg = &r->messages[m];
        if (msg->role != SY_IR_SYSTEM)
            continue;
        for (size_t i = 0; i < msg->nparts; i++)
            if (msg->parts[i].kind == SY_IR_TEXT && msg->parts[i].text.len)
                text_block(w, msg->parts[i].text);
    }
    sy_json_write_end_array(w);
}

/* ---- tools ---- */

static bool history_has_tools(const sy_ir_request_t *r)
{
    for (size_t m = 0; m < r->nmessages; m++)
        for (size_t i = 0; i < r->messages[m].nparts; i++) {
            sy_ir_part_kind_t k = r->messages[m].parts[i].kind;
            if (k == SY_IR_TOOL_CALL || k == SY_IR_TOOL_RESULT)
                return true;
        }
    return false;
}

static void tool_spec(sy_json_writer_t *w, sy_str_t name, sy_str_t description,
                      const sy_json_t *schema)
{
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("toolSpec"));
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("name"));
    sy_json_write_string(w, name);
    if (description.len) {
        sy_json_write_key(w, SY_STR("description"));
        sy_json_write_string(w, description);
    }
    sy_json_write_key(w, SY_STR("inputSchema"));
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("json"));
    if (schema)
        sy_json_write_value(w, schema);
    else
        sy_json_write_raw(w, SY_STR("{\"type\":\"object\",\"properties\":{}}"));
    sy_json_write_end_object(w);
    sy_json_write_end_object(w);
    sy_json_write_end_object(w);
}

/* Converse refuses toolUse/toolResult blocks in the history unless
 * toolConfig is defined. With no tools in the request (or tool_choice
 * none, which Converse cannot express), the tools named in the history are
 * declared with an open schema so the conversation can continue. */
static void write_history_tools(enc_t *e)
{
    const sy_ir_request_t *r = e->req;
    for (size_t m = 0; m < r->nmessages; m++)
        for (size_t i = 0; i < r->messages[m].nparts; i++) {
            const sy_ir_part_t *p = &r->messages[m].parts[i];
            if (p->kind != SY_IR_TOOL_CALL || p->name.len == 0)
                continue;
            bool seen = false;
            for (size_t mm = 0; mm <= m && !seen; mm++)
                for (size_t j = 0; j < r->messages[mm].nparts && !seen; j++) {
                    const sy_ir_part_t *q = &r->messages[mm].parts[j];
                    if (q == p)
                        break;
                    seen = q->kind == SY_IR_TOOL_CALL && sy_str_eq(q->name, p->name);
                }
            if (!seen)
                tool_spec(e->w, p->name, SY_STR(""), NULL);
        }
}

static void write_tools(enc_t *e)
{
    const sy_ir_request_t *r = e->req;
    sy_json_writer_t *w = e->w;
    bool history = history_has_tools(r);
    bool declare = r->ntools && r->tool_choice != SY_IR_TOOL_CHOICE_NONE;
    if (!declare && !history)
        return;
    sy_json_write_key(w, SY_STR("toolConfig"));
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("tools"));
    sy_json_write_begin_array(w);
    if (r->ntools) {
        for (size_t i = 0; i < r->ntools; i++)
            tool_spec(w, r->tools[i].name, r->tools[i].description, r->tools[i].parameters);
    } else {
        write_history_tools(e);
    }
    sy_json_write_end_array(w);
    const char *choice = NULL;
    if (declare && r->tool_choice == SY_IR_TOOL_CHOICE_AUTO)
        choice = "auto";
    else if (declare && r->tool_choice == SY_IR_TOOL_CHOICE_REQUIRED)
        choice = "any";
    else if (declare && r->tool_choice == SY_IR_TOOL_CHOICE_NAMED)
        choice = "tool";
    if (choice) {
        sy_json_write_key(w, SY_STR("toolChoice"));
        sy_json_write_begin_object(w);
        sy_json_write_key(w, sy_str_c(choice));
        sy_json_write_begin_object(w);
        if (r->tool_choice == SY_IR_TOOL_CHOICE_NAMED) {
            sy_json_write_key(w, SY_STR("name"));
            sy_json_write_string(w, r->tool_choice_name);
        }
        sy_json_write_end_object(w);
        sy_json_write_end_object(w);
    }
    sy_json_write_end_object(w);
}

/* ---- inference settings ---- */

/* Claude's thinking budget for a reasoning effort. */
static uint64_t effort_budget(sy_ir_effort_t effort)
{
    static const uint64_t budgets[] = {0, 1024, 2048, 8192, 24576};
    return (unsigned)effort < SY_ARRAY_LEN(budgets) ? budgets[effort] : 0;
}

static uint64_t claude_budget(const enc_t *e)
{
    if (!e->claude)
        return 0;
    return e->req->thinking_budget ? e->req->thinking_budget : effort_budget(e->req->effort);
}

static void write_inference(enc_t *e)
{
    const sy_ir_request_t *r = e->req;
    sy_json_writer_t *w = e->w;
    uint64_t max_tokens = r->max_tokens;
    uint64_t budget = claude_budget(e);
    /* Claude needs max_tokens above the thinking budget */
    if (max_tokens == 0 && budget)
        max_tokens = budget + (e->cx->default_max_tokens ? e->cx->default_max_tokens : 4096);
    if (!max_tokens && !r->has_temperature && !r->has_top_p && !r->nstop)
        return;
    sy_json_write_key(w, SY_STR("inferenceConfig"));
    sy_json_write_begin_object(w);
    if (max_tokens) {
        sy_json_write_key(w, SY_STR("maxTokens"));
        sy_json_write_u64(w, max_tokens);
    }
    if (r->has_temperature) {
        sy_json_write_key(w, SY_STR("temperature"));
        sy_json_write_double(w, r->temperature);
    }
    if (r->has_top_p) {
        sy_json_write_key(w, SY_STR("topP"));
        sy_json_write_double(w, r->top_p);
    }
    if (r->nstop) {
        sy_json_write_key(w, SY_STR("stopSequences"));
        sy_json_write_begin_array(w);
        for (size_t i = 0; i < r->nstop && i < SY_IR_MAX_STOP; i++)
            sy_json_write_string(w, r->stop[i]);
        sy_json_write_end_array(w);
    }
    sy_json_write_end_object(w);
}

/*
 * Model-specific fields Converse passes through untouched:
 *   top_k: {"top_k": N} (Anthropic, Meta, Mistral and most models), Nova's
 *     {"inferenceConfig": {"topK": N}};
 *   thinking: Claude's {"thinking": {"type": "enabled", "budget_tokens": N}}
 *     from the budget (or the effort: 1024/2048/8192/24576 for
 *     minimal/low/medium/high); OpenAI gpt-oss's {"reasoning_effort": ...};
 *     Nova 2's {"reasoningConfig": {"type": "enabled", "maxReasoningEffort":
 *     ...}}. Other models get no reasoning field (those that reason always
 *     do, those that cannot would refuse an unknown field).
 */
static void write_additional(enc_t *e)
{
    const sy_ir_request_t *r = e->req;
    sy_json_writer_t *w = e->w;
    sy_str_t model = e->cx->model;
    uint64_t budget = claude_budget(e);
    bool gpt_oss = sy_str_find(model, SY_STR("openai.")) >= 0;
    bool nova2 = sy_str_find(model, SY_STR("nova-2")) >= 0;
    bool effort = r->effort != SY_IR_EFFORT_UNSET && (gpt_oss || nova2);
    if (!r->has_top_k && !budget && !effort)
        return;
    static const char *const levels[] = {"", "low", "low", "medium", "high"};
    sy_json_write_key(w, SY_STR("additionalModelRequestFields"));
    sy_json_write_begin_object(w);
    if (r->has_top_k && e->nova) {
        sy_json_write_key(w, SY_STR("inferenceConfig"));
        sy_json_write_begin_object(w);
        sy_json_write_key(w, SY_STR("topK"));
        sy_json_write_i64(w, r->top_k);
        sy_json_write_end_object(w);
    } else if (r->has_top_k) {
        sy_json_write_key(w, SY_STR("top_k"));
        sy_json_write_i64(w, r->top_k);
    }
    if (budget) {
        sy_json_write_key(w, SY_STR("thinking"));
        sy_json_write_begin_object(w);
        sy_json_write_key(w, SY_STR("type"));
        sy_json_write_string(w, SY_STR("enabled"));
        sy_json_write_key(w, SY_STR("budget_tokens"));
        sy_json_write_u64(w, budget);
        sy_json_write_end_object(w);
    } else if (effort && gpt_oss) {
        sy_json_write_key(w, SY_STR("reasoning_effort"));
        sy_json_write_string(w, sy_str_c(levels[r->effort]));
    } else if (effort && nova2) {
        sy_json_write_key(w, SY_STR("reasoningConfig"));
        sy_json_write_begin_object(w);
        sy_json_write_key(w, SY_STR("type"));
        sy_json_write_string(w, SY_STR("enabled"));
        sy_json_write_key(w, SY_STR("maxReasoningEffort"));
        sy_json_write_string(w, sy_str_c(levels[r->effort]));
        sy_json_write_end_object(w);
    }
    sy_json_write_end_object(w);
}

/* JSON-schema output: Converse's outputConfig.textFormat (the schema as a
 * JSON string). A bare JSON-object format has no Converse equivalent and
 * is not sent (the client's prompt asks for JSON; nothing enforces it). */
static void write_output(enc_t *e)
{
    const sy_ir_request_t *r = e->req;
    sy_json_writer_t *w = e->w;
    if (r->format != SY_IR_FORMAT_JSON_SCHEMA || !r->schema)
        return;
    sy_buf_t s;
    sy_buf_init(&s, SY_WIRE_MAX_BODY);
    sy_json_serialize(r->schema, &s, 0);
    sy_json_write_key(w, SY_STR("outputConfig"));
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("textFormat"));
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("type"));
    sy_json_write_string(w, SY_STR("json_schema"));
    sy_json_write_key(w, SY_STR("structure"));
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("jsonSchema"));
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("schema"));
    sy_json_write_string(w, sy_buf_str(&s));
    sy_json_write_key(w, SY_STR("name"));
    sy_json_write_string(w, r->schema_name.len ? r->schema_name : SY_STR("response"));
    sy_json_write_end_object(w);
    sy_json_write_end_object(w);
    sy_json_write_end_object(w);
    sy_json_write_end_object(w);
    sy_buf_free(&s);
}

/* ---- signing ---- */

/* The Host header the upstream client will send: the host lower-cased,
 * with the port unless it is the scheme's default. */
static sy_str_t host_of(sy_arena_t *a, sy_str_t base_url)
{
    sy_str_t auth = sy_wire_url_authority(base_url);
    bool https = !sy_str_starts_with(base_url, SY_STR("http://"));
    char *p = sy_arena_alloc(a, auth.len + 1);
    size_t n = 0;
    for (size_t i = 0; i < auth.len; i++) {
        char c = auth.p[i];
        p[n++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    p[n] = '\0';
    sy_str_t host = sy_str(p, n);
    if (sy_str_ends_with(host, https ? SY_STR(":443") : SY_STR(":80")))
        host.len -= https ? 4 : 3;
    return host;
}

/* "bedrock-runtime.us-east-1.amazonaws.com" -> "us-east-1" */
static sy_str_t region_from_host(sy_str_t host)
{
    sy_str_t prefix = SY_STR("bedrock-runtime.");
    if (!sy_str_starts_with(host, prefix))
        return SY_STR("");
    sy_str_t rest = sy_str_sub(host, prefix.len, host.len - prefix.len);
    ptrdiff_t dot = sy_str_find_char(rest, '.');
    return dot > 0 ? sy_str_sub(rest, 0, (size_t)dot) : SY_STR("");
}

static int sign(sy_arena_t *a, const sy_provider_ctx_t *cx, sy_upstream_req_t *out,
                sy_ir_error_t *err)
{
    if (cx->aws_access_key_id.len == 0 || cx->aws_secret_access_key.len == 0) {
        if (cx->api_key.len == 0)
            return refuse(err, SY_IR_ERR_AUTH,
                          "bedrock: the deployment has no AWS credentials (access key id and "
                          "secret) and no Bedrock API key");
        char *v = sy_arena_sprintf(a, "Bearer %.*s", SY_STR_FMT(cx->api_key));
        sy_upstream_add_header(a, out, "Authorization", sy_str_c(v));
        return SY_OK;
    }
    sy_str_t host = host_of(a, cx->base_url);
    sy_str_t region = cx->region.len ? cx->region : region_from_host(host);
    if (region.len == 0)
        return refuse(err, SY_IR_ERR_INTERNAL,
                      "bedrock: no region to sign for (set the provider's region)");
    char date[17];
    sy_sigv4_amz_date(cx->now, date);
    sy_str_t amz_date = sy_str_dup(a, sy_str(date, 16));
    sy_http_header_t h[3] = {{SY_STR("host"), host}, {SY_STR("x-amz-date"), amz_date}};
    size_t nh = 2;
    if (cx->aws_session_token.len)
        h[nh++] = (sy_http_header_t){SY_STR("x-amz-security-token"), cx->aws_session_token};
    ptrdiff_t q = sy_str_find_char(out->path, '?');
    sy_sigv4_request_t sr = {
        .method = sy_str_c(out->method),
        .path = q < 0 ? out->path : sy_str_sub(out->path, 0, (size_t)q),
        .query = q < 0 ? SY_STR("") : sy_str_sub(out->path, (size_t)q + 1, out->path.len),
        .headers = h,
        .nheaders = nh,
        .payload = out->body,
        .region = region,
        .service = SY_STR(SY_BEDROCK_SERVICE),
        .amz_date = amz_date,
    };
    sy_sigv4_creds_t creds = {cx->aws_access_key_id, cx->aws_secret_access_key,
                              cx->aws_session_token};
    sy_sigv4_result_t res;
    if (sy_sigv4_sign(a, &sr, &creds, &res) != SY_OK)
        return refuse(err, SY_IR_ERR_INTERNAL, "bedrock: the request could not be signed");
    sy_upstream_add_header(a, out, "x-amz-date", amz_date);
    if (cx->aws_session_token.len)
        sy_upstream_add_header(a, out, "x-amz-security-token", cx->aws_session_token);
    sy_upstream_add_header(a, out, "Authorization", res.authorization);
    return SY_OK;
}

/* ---- the request ---- */

static int bedrock_encode(sy_arena_t *a, const sy_provider_ctx_t *cx, const sy_ir_request_t *req,
                          sy_upstream_req_t *out, sy_ir_error_t *err)
{
    memset(out, 0, sizeof(*out));
    if (cx->model.len == 0)
        return refuse(err, SY_IR_ERR_BAD_REQUEST, "bedrock: the deployment names no model id");
    sy_buf_t body;
    sy_buf_init(&body, SY_WIRE_MAX_BODY);
    sy_json_writer_t w;
    sy_json_writer_init(&w, &body, 0);
    enc_t e = {.a = a, .cx = cx, .req = req, .w = &w, .err = err};
    e.claude = sy_str_find(cx->model, SY_STR("anthropic.")) >= 0 ||
               sy_str_find(cx->model, SY_STR("claude")) >= 0;
    e.nova = sy_str_find(cx->model, SY_STR("amazon.nova")) >= 0;

    sy_json_write_begin_object(&w);
    int rc = write_messages(&e);
    if (rc == SY_OK) {
        write_system(&e);
        write_inference(&e);
        write_tools(&e);
        write_additional(&e);
        write_output(&e);
        sy_json_write_end_object(&w);
        if (sy_json_write_finish(&w) != SY_OK) {
            refuse(err, SY_IR_ERR_BAD_REQUEST, "bedrock: the request is too large to encode");
            err->status = 413;
            rc = SY_ETOOBIG;
        }
    }
    if (rc != SY_OK) {
        sy_buf_free(&body);
        return rc;
    }
    out->body = sy_wire_buf_to_arena(a, &body);

    sy_buf_t path;
    sy_buf_init(&path, 8192);
    sy_buf_append_str(&path, cx->base_path);
    sy_buf_append_c(&path, "/model/");
    sy_sigv4_uri_encode(&path, cx->model, false);
    sy_buf_append_c(&path, req->stream ? "/converse-stream" : "/converse");
    out->path = sy_wire_buf_to_arena(a, &path);
    out->method = "POST";
    out->content_type = SY_STR("application/json");
    out->stream = req->stream;
    return sign(a, cx, out, err);
}

const sy_provider_vt_t sy_provider_bedrock = {
    .kind = "bedrock",
    .native = SY_FORMAT_NONE,
    .encode = bedrock_encode,
    .decode = sy_bedrock_decode,
    .stream_new = sy_bedrock_stream_new,
    .stream_feed = sy_bedrock_stream_feed,
    .stream_end = sy_bedrock_stream_end,
    .map_error = sy_bedrock_map_error,
};
