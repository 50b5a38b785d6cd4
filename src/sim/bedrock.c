/*
 * bedrock.c - the Bedrock runtime family (Converse API):
 *   POST /model/{modelId}/converse
 *   POST /model/{modelId}/converse-stream
 * The model id is percent-decoded from the path ("...-v1%3A0" -> "...-v1:0").
 *
 * Authentication is AWS Signature Version 4 (providers/sigv4.c), checked the
 * way Bedrock checks it and refused with Bedrock's own answers (403
 * InvalidSignatureException with the canonical request it expected, 403
 * UnrecognizedClientException, 403 MissingAuthenticationTokenException, 400
 * IncompleteSignatureException), or a Bedrock API key as a Bearer token.
 * Credentials: every `keys:` entry of the sim's configuration written
 * ACCESS_KEY_ID:SECRET[:SESSION_TOKEN]; when there is none, AWS's two
 * documented example pairs (AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
 * and AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY). The
 * region is the Host's (bedrock-runtime.REGION.amazonaws.com) or, on
 * loopback, whatever the signature's scope names; the service is "bedrock".
 *
 * Errors are {"message": ...} with x-amzn-ErrorType "Type:namespace" and
 * x-amzn-RequestId, as Bedrock sends them. The Converse body is validated as
 * Bedrock does (roles, alternation, non-empty content, one member per
 * content block, toolUse/toolResult pairing, toolConfig, inferenceConfig
 * ranges, the model's output limit).
 *
 * The stream is AWS event-stream framing (http/eventstream.c):
 * messageStart, then per content block contentBlockStart (tool use only: text
 * and reasoning blocks start with their first delta, as recorded),
 * contentBlockDelta (text / reasoningContent text then signature /
 * toolUse.input fragments), contentBlockStop, then messageStop and metadata
 * (usage, metrics) last. Every payload carries the "p" padding field and
 * keys in alphabetical order, as the real captures do. A failure after the
 * head is an exception frame (:message-type exception, :exception-type
 * throttlingException / internalServerException /
 * serviceUnavailableException) with {"message": ...}.
 */
#include <stdio.h>
#include <string.h>

#include "core/time.h"
#include "http/eventstream.h"
#include "providers/sigv4.h"
#include "sim/sim.h"

#define BR_NS_BEDROCK "http://internal.amazon.com/coral/com.amazon.bedrock/"
#define BR_NS_CORAL "http://internal.amazon.com/coral/com.amazon.coral.service/"
#define BR_MAX_STOPS 8
#define BR_MAX_KEYS (SY_SIM_MAX_KEYS + 2)

enum { BK_REASONING, BK_TEXT, BK_TOOL };

typedef struct {
    uint8_t kind;
    sy_sim_text_t text; /* reasoning, text, or the tool input JSON */
    sy_str_t id, name, input, signature;
} br_block_t;

typedef struct {
    br_block_t *blocks;
    uint32_t nblocks;
    const char *stop_reason;
    uint32_t input_tokens, output_tokens;
    uint32_t planned_ms; /* ttft + pacing, for metrics.latencyMs */
    uint64_t start_ns;
    /* stream position */
    uint8_t step;
    uint32_t bi;
    uint32_t frames;
} br_msg_t;

enum { S_START, S_BLOCK_START, S_DELTA, S_SIGNATURE, S_BLOCK_STOP, S_MSG_STOP, S_METADATA, S_DONE };

/* ---------------------------------------------------------------- errors --- */

static void add_request_id(sy_sim_call_t *call)
{
    char id[40];
    uint64_t a = sy_sim_mix(call->nonce ^ 0x52455149ULL), b = sy_sim_mix(a);
    int n = snprintf(id, sizeof(id), "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
                     (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
                     0x8000u | ((unsigned)(b >> 48) & 0x3fff),
                     (unsigned long long)(b & 0xffffffffffffULL));
    sy_http_add_header(call->req, "x-amzn-RequestId", sy_str(id, (size_t)n));
}

/* {"message":"..."} plus the x-amzn-ErrorType and request id headers. */
static void write_error(sy_sim_call_t *call, const char *type, const char *ns, const char *message,
                        sy_buf_t *out)
{
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    sy_json_write_begin_object(&w);
    sy_json_write_key_lit(&w, "message");
    sy_json_write_string(&w, sy_str_c(message));
    sy_json_write_end_object(&w);
    sy_json_write_finish(&w);
    char v[160];
    int n = snprintf(v, sizeof(v), "%s:%s", type, ns);
    sy_http_add_header(call->req, "x-amzn-ErrorType", sy_str(v, (size_t)n));
    add_request_id(call);
}

/* What Bedrock answers for a status the core produces (faults). 529 is not
 * a Bedrock status: it goes out as asked, in the overload exception's shape. */
static void status_error(int status, const char **type, const char **message)
{
    switch (status) {
    case 429:
        *type = "ThrottlingException";
        *message = "Too many requests, please wait before trying again.";
        return;
    case 503:
    case 529:
        *type = "ServiceUnavailableException";
        *message = "Bedrock is unable to process your request.";
        return;
    case 400:
        *type = "ValidationException";
        *message = NULL;
        return;
    default:
        *type = "InternalServerException";
        *message = "The system encountered an unexpected error during processing. Try your "
                   "request again.";
        return;
    }
}

static const char *br_error_body(sy_sim_call_t *call, int status, const char *message, sy_buf_t *out)
{
    const char *type, *canned;
    status_error(status, &type, &canned);
    write_error(call, type, BR_NS_BEDROCK, canned ? canned : message, out);
    return "application/json";
}

/* Answer an error now (authentication and validation). */
static bool br_fail_ns(sy_sim_call_t *call, int status, const char *type, const char *ns,
                       const char *message)
{
    sy_buf_t *b = &call->w->scratch;
    sy_buf_clear(b);
    write_error(call, type, ns, message, b);
    sy_http_respond(call->req, status, "application/json", sy_buf_ptr(b), b->len);
    sy_buf_clear(b);
    return false;
}

static bool br_fail(sy_sim_call_t *call, const char *message)
{
    return br_fail_ns(call, 400, "ValidationException", BR_NS_BEDROCK, message);
}

#define BAD(...) br_fail(call, sy_arena_sprintf(call->req->arena, __VA_ARGS__))

/* -------------------------------------------------------- authentication --- */

/* Credentials: ACCESS:SECRET[:TOKEN] entries of the config's keys, or AWS's
 * documented example pairs. */
static size_t load_keys(const sy_sim_t *sim, sy_sigv4_creds_t *keys)
{
    size_t n = 0;
    for (size_t i = 0; i < sim->cfg->nkeys && n < BR_MAX_KEYS; i++) {
        sy_str_t k = sim->cfg->keys[i];
        ptrdiff_t c1 = sy_str_find_char(k, ':');
        if (c1 <= 0)
            continue;
        sy_str_t rest = sy_str_sub(k, (size_t)c1 + 1, k.len);
        ptrdiff_t c2 = sy_str_find_char(rest, ':');
        keys[n].access_key_id = sy_str(k.p, (size_t)c1);
        keys[n].secret_access_key = c2 < 0 ? rest : sy_str(rest.p, (size_t)c2);
        keys[n].session_token = c2 < 0 ? SY_STR_NULL : sy_str_sub(rest, (size_t)c2 + 1, rest.len);
        n++;
    }
    if (n == 0) {
        keys[n++] = (sy_sigv4_creds_t){SY_STR("AKIDEXAMPLE"),
                                       SY_STR("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                                       SY_STR_NULL};
        keys[n++] = (sy_sigv4_creds_t){SY_STR("AKIAIOSFODNN7EXAMPLE"),
                                       SY_STR("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                                       SY_STR_NULL};
    }
    return n;
}

static bool br_auth(sy_sim_call_t *call)
{
    sy_http_req_t *req = call->req;
    sy_str_t auth = sy_sim_header(call, "authorization");
    if (auth.len > 7 && sy_str_ieq(sy_str_sub(auth, 0, 7), SY_STR("Bearer "))) {
        /* A Bedrock API key. */
        if (sy_sim_key_ok(call->sim, sy_str_trim(sy_str_sub(auth, 7, auth.len))))
            return true;
        return br_fail_ns(call, 403, "UnrecognizedClientException", BR_NS_CORAL,
                          "The security token included in the request is invalid.");
    }
    sy_sigv4_creds_t keys[BR_MAX_KEYS];
    size_t nkeys = load_keys(call->sim, keys);
    /* The region: the Host's when it names one, else the scope's. */
    sy_str_t region = SY_STR("us-east-1");
    sy_str_t host = sy_sim_header(call, "host");
    sy_str_t pre = SY_STR("bedrock-runtime.");
    ptrdiff_t dot;
    sy_sigv4_auth_t parsed;
    const char *why;
    if (sy_str_starts_with(host, pre) &&
        (dot = sy_str_find_char(sy_str_sub(host, pre.len, host.len), '.')) > 0) {
        region = sy_str(host.p + pre.len, (size_t)dot);
    } else if (auth.p && sy_sigv4_parse_authorization(auth, &parsed, &why) == SY_OK &&
               parsed.region.len) {
        region = parsed.region;
    }
    sy_sigv4_verify_t in = {
        .method = req->head.method,
        .path = req->head.path,
        .query = req->head.query,
        .headers = req->head.headers,
        .nheaders = req->head.nheaders,
        .body = req->body,
        .region = region,
        .service = SY_STR("bedrock"),
        .keys = keys,
        .nkeys = nkeys,
        .now = (int64_t)(sy_wall_ms() / 1000),
    };
    sy_sigv4_verdict_t v;
    if (sy_sigv4_verify(req->arena, &in, &v) == SY_OK)
        return true;
    return br_fail_ns(call, v.status, v.error_type, BR_NS_CORAL, v.message);
}

/* ------------------------------------------------------------ validation --- */

typedef struct {
    const sy_sim_model_t *model;
    const sy_json_t *messages, *system, *tool_config, *inference;
    uint32_t ntools;
    bool after_results;
    uint64_t max_tokens;
    uint32_t input_tokens;
} br_req_t;

static const char *const block_members[] = {"text", "image", "document", "video", "toolUse",
                                            "toolResult", "guardContent", "cachePoint",
                                            "reasoningContent", "citationsContent", NULL};

/* The one member a content block sets, or NULL (none or several). */
static const sy_json_member_t *block_member(const sy_json_t *b, int *count)
{
    const sy_json_member_t *m = NULL;
    *count = 0;
    for (uint32_t i = 0; b->type == SY_JSON_OBJECT && i < b->u.obj.len; i++) {
        for (size_t k = 0; block_members[k]; k++)
            if (sy_str_eq_c(b->u.obj.items[i].key, block_members[k])) {
                if ((*count)++ == 0)
                    m = &b->u.obj.items[i];
            }
    }
    return *count == 1 ? m : NULL;
}

static bool check_block(sy_sim_call_t *call, const sy_json_t *b, uint32_t mi, uint32_t bi, bool user,
                        sy_json_t *ids)
{
    sy_arena_t *a = call->req->arena;
    int count;
    const sy_json_member_t *m = block_member(b, &count);
    if (m == NULL)
        return BAD("Invalid content block at messages.%u.content.%u: a ContentBlock must set "
                   "exactly one member (%s).",
                   mi, bi, count ? "several were set" : "none was set");
    sy_str_t k = m->key;
    const sy_json_t *v = &m->value;
    if (sy_str_eq_c(k, "text")) {
        if (v->type != SY_JSON_STRING)
            return BAD("1 validation error detected: Value at 'messages.%u.member.content.%u."
                       "member.text' failed to satisfy constraint: Member must be a string",
                       mi + 1, bi + 1);
        if (sy_str_trim(v->u.str).len == 0)
            return BAD("The text field in the ContentBlock object at messages.%u.content.%u is "
                       "blank. Add text to the text field, and try again.",
                       mi, bi);
        return true;
    }
    if (sy_str_eq_c(k, "image")) {
        sy_str_t fmt = sy_json_str(sy_json_get(v, "format"));
        if (!(sy_str_eq_c(fmt, "png") || sy_str_eq_c(fmt, "jpeg") || sy_str_eq_c(fmt, "gif") ||
              sy_str_eq_c(fmt, "webp")))
            return BAD("1 validation error detected: Value '%.*s' at 'messages.%u.member.content.%u."
                       "member.image.format' failed to satisfy constraint: Member must satisfy "
                       "enum value set: [gif, jpeg, png, webp]",
                       (int)SY_MIN(fmt.len, (size_t)40), fmt.p ? fmt.p : "null", mi + 1, bi + 1);
        const sy_json_t *src = sy_json_get(v, "source");
        if (!sy_json_is(sy_json_get(src, "bytes"), SY_JSON_STRING) && !sy_json_get(src, "s3Location"))
            return BAD("1 validation error detected: Value null at 'messages.%u.member.content.%u."
                       "member.image.source' failed to satisfy constraint: Member must not be null",
                       mi + 1, bi + 1);
        return true;
    }
    if (sy_str_eq_c(k, "toolUse")) {
        if (user)
            return BAD("The toolUse content block at messages.%u.content.%u is not allowed in a "
                       "user message. Only assistant messages can contain toolUse blocks.",
                       mi, bi);
        const sy_json_t *id = sy_json_get(v, "toolUseId");
        if (!sy_json_is(id, SY_JSON_STRING) || !sy_json_is(sy_json_get(v, "name"), SY_JSON_STRING))
            return BAD("1 validation error detected: Value null at 'messages.%u.member.content.%u."
                       "member.toolUse.%s' failed to satisfy constraint: Member must not be null",
                       mi + 1, bi + 1, sy_json_is(id, SY_JSON_STRING) ? "name" : "toolUseId");
        if (sy_json_get(v, "input") == NULL)
            return BAD("1 validation error detected: Value null at 'messages.%u.member.content.%u."
                       "member.toolUse.input' failed to satisfy constraint: Member must not be null",
                       mi + 1, bi + 1);
        sy_json_append(a, ids, id);
        return true;
    }
    if (sy_str_eq_c(k, "toolResult")) {
        if (!user)
            return BAD("The toolResult content block at messages.%u.content.%u is not allowed in an "
                       "assistant message. Only user messages can contain toolResult blocks.",
                       mi, bi);
        const sy_json_t *id = sy_json_get(v, "toolUseId");
        if (!sy_json_is(id, SY_JSON_STRING))
            return BAD("1 validation error detected: Value null at 'messages.%u.member.content.%u."
                       "member.toolResult.toolUseId' failed to satisfy constraint: Member must not "
                       "be null",
                       mi + 1, bi + 1);
        const sy_json_t *c = sy_json_get(v, "content");
        if (!sy_json_is(c, SY_JSON_ARRAY))
            return BAD("1 validation error detected: Value null at 'messages.%u.member.content.%u."
                       "member.toolResult.content' failed to satisfy constraint: Member must not be "
                       "null",
                       mi + 1, bi + 1);
        sy_str_t st = sy_json_str(sy_json_get(v, "status"));
        if (st.p && !sy_str_eq_c(st, "success") && !sy_str_eq_c(st, "error"))
            return BAD("1 validation error detected: Value '%.*s' at 'messages.%u.member.content.%u."
                       "member.toolResult.status' failed to satisfy constraint: Member must satisfy "
                       "enum value set: [success, error]",
                       (int)SY_MIN(st.len, (size_t)40), st.p, mi + 1, bi + 1);
        sy_json_append(a, ids, id);
        return true;
    }
    return true; /* document, video, guardContent, cachePoint, reasoningContent, citations */
}

static bool id_in(const sy_json_t *ids, sy_str_t id)
{
    for (size_t i = 0; i < sy_json_len(ids); i++)
        if (sy_str_eq(sy_json_str(sy_json_index(ids, i)), id))
            return true;
    return false;
}

static bool check_messages(sy_sim_call_t *call, br_req_t *r, bool *uses_tools)
{
    sy_arena_t *a = call->req->arena;
    const sy_json_t *msgs = r->messages;
    if (msgs == NULL || msgs->type == SY_JSON_NULL)
        return br_fail(call, "1 validation error detected: Value null at 'messages' failed to "
                             "satisfy constraint: Member must not be null");
    if (msgs->type != SY_JSON_ARRAY)
        return br_fail(call, "Unexpected value type in payload: 'messages' must be a list");
    if (msgs->u.arr.len == 0)
        return br_fail(call, "A conversation must start with a user message. Try again with a "
                             "conversation that starts with a user message.");
    sy_json_t *prev_uses = sy_json_new_array(a);
    for (uint32_t i = 0; i < msgs->u.arr.len; i++) {
        const sy_json_t *m = &msgs->u.arr.items[i];
        sy_str_t role = sy_json_str(sy_json_get(m, "role"));
        if (role.p == NULL)
            return BAD("1 validation error detected: Value null at 'messages.%u.member.role' failed "
                       "to satisfy constraint: Member must not be null",
                       i + 1);
        bool user = sy_str_eq_c(role, "user");
        if (!user && !sy_str_eq_c(role, "assistant"))
            return BAD("1 validation error detected: Value '%.*s' at 'messages.%u.member.role' "
                       "failed to satisfy constraint: Member must satisfy enum value set: [user, "
                       "assistant]",
                       (int)SY_MIN(role.len, (size_t)40), role.p, i + 1);
        if (i == 0 && !user)
            return br_fail(call, "A conversation must start with a user message. Try again with a "
                                 "conversation that starts with a user message.");
        if (i > 0 && sy_str_eq(role, sy_json_str(sy_json_get(&msgs->u.arr.items[i - 1], "role"))))
            return br_fail(call, "A conversation must alternate between user and assistant roles. "
                                 "Make sure the conversation alternates between user and assistant "
                                 "roles and try again.");
        const sy_json_t *content = sy_json_get(m, "content");
        if (content == NULL || content->type == SY_JSON_NULL)
            return BAD("1 validation error detected: Value null at 'messages.%u.member.content' "
                       "failed to satisfy constraint: Member must not be null",
                       i + 1);
        if (content->type != SY_JSON_ARRAY)
            return BAD("Unexpected value type in payload: 'messages.%u.content' must be a list", i);
        if (content->u.arr.len == 0)
            return BAD("The content field in the Message object at messages.%u is empty. Add a "
                       "ContentBlock object to the content field and try again.",
                       i);
        sy_json_t *ids = sy_json_new_array(a);
        for (uint32_t k = 0; k < content->u.arr.len; k++)
            if (!check_block(call, &content->u.arr.items[k], i, k, user, ids))
                return false;
        if (sy_json_len(ids))
            *uses_tools = true;
        if (user) {
            /* Results must answer the previous turn's tool uses, all of them. */
            if (sy_json_len(ids) > sy_json_len(prev_uses))
                return BAD("The number of toolResult blocks at messages.%u.content exceeds the "
                           "number of toolUse blocks of previous turn.",
                           i);
            sy_buf_t *tmp = &call->w->scratch2;
            sy_buf_clear(tmp);
            for (size_t k = 0; k < sy_json_len(prev_uses); k++) {
                sy_str_t id = sy_json_str(sy_json_index(prev_uses, k));
                if (!id_in(ids, id)) {
                    if (tmp->len)
                        sy_buf_append_c(tmp, ", ");
                    sy_buf_append_str(tmp, sy_str_sub(id, 0, 100));
                }
            }
            for (size_t k = 0; k < sy_json_len(ids) && tmp->len == 0; k++)
                if (!id_in(prev_uses, sy_json_str(sy_json_index(ids, k))))
                    sy_buf_append_str(tmp, sy_str_sub(sy_json_str(sy_json_index(prev_uses, 0)), 0, 100));
            if (tmp->len) {
                const char *msg = sy_arena_sprintf(a,
                                                   "Expected toolResult blocks at messages.%u.content "
                                                   "for the following Ids: %.*s",
                                                   i, SY_STR_FMT(sy_buf_str(tmp)));
                sy_buf_clear(tmp);
                return br_fail(call, msg);
            }
            r->after_results = sy_json_len(ids) > 0;
            prev_uses = sy_json_new_array(a);
        } else {
            prev_uses = ids;
            r->after_results = false;
        }
    }
    return true;
}

static bool check_tool_config(sy_sim_call_t *call, br_req_t *r, bool uses_tools)
{
    const sy_json_t *tc = r->tool_config;
    if (tc == NULL || tc->type == SY_JSON_NULL) {
        if (uses_tools)
            return br_fail(call, "The toolConfig field must be defined when using toolUse and "
                                 "toolResult content blocks.");
        return true;
    }
    const sy_json_t *tools = sy_json_get(tc, "tools");
    if (!sy_json_is(tools, SY_JSON_ARRAY) || tools->u.arr.len == 0)
        return br_fail(call, "1 validation error detected: Value '[]' at 'toolConfig.tools' failed "
                             "to satisfy constraint: Member must have length greater than or equal "
                             "to 1");
    for (uint32_t i = 0; i < tools->u.arr.len; i++) {
        const sy_json_t *t = &tools->u.arr.items[i];
        const sy_json_t *spec = sy_json_get(t, "toolSpec");
        if (spec == NULL) {
            if (sy_json_get(t, "cachePoint") || sy_json_get(t, "systemTool"))
                continue;
            return BAD("1 validation error detected: Value null at 'toolConfig.tools.%u.member."
                       "toolSpec' failed to satisfy constraint: Member must not be null",
                       i + 1);
        }
        sy_str_t name = sy_json_str(sy_json_get(spec, "name"));
        if (!sy_sim_tool_name_ok(name, 64))
            return BAD("1 validation error detected: Value '%.*s' at 'toolConfig.tools.%u.member."
                       "toolSpec.name' failed to satisfy constraint: Member must satisfy regular "
                       "expression pattern: [a-zA-Z0-9_-]+",
                       (int)SY_MIN(name.len, (size_t)80), name.p ? name.p : "null", i + 1);
        const sy_json_t *js = sy_json_get(sy_json_get(spec, "inputSchema"), "json");
        if (js == NULL)
            return BAD("1 validation error detected: Value null at 'toolConfig.tools.%u.member."
                       "toolSpec.inputSchema' failed to satisfy constraint: Member must not be null",
                       i + 1);
        if (js->type != SY_JSON_OBJECT)
            return BAD("The value at toolConfig.tools.%u.toolSpec.inputSchema.json is not a valid "
                       "JSON object.",
                       i);
        r->ntools++;
    }
    const sy_json_t *choice = sy_json_get(tc, "toolChoice");
    if (choice) {
        if (!(sy_json_get(choice, "auto") || sy_json_get(choice, "any") ||
              sy_json_get(choice, "tool")))
            return br_fail(call, "Invalid toolChoice: set exactly one of auto, any or tool.");
        const sy_json_t *t = sy_json_get(choice, "tool");
        if (t && !sy_json_is(sy_json_get(t, "name"), SY_JSON_STRING))
            return br_fail(call, "1 validation error detected: Value null at 'toolConfig.toolChoice."
                                 "tool.name' failed to satisfy constraint: Member must not be null");
    }
    return true;
}

static bool check_inference(sy_sim_call_t *call, br_req_t *r)
{
    const sy_json_t *ic = r->inference;
    r->max_tokens = r->model->max_output ? r->model->max_output : 4096;
    if (ic == NULL || ic->type == SY_JSON_NULL)
        return true;
    if (ic->type != SY_JSON_OBJECT)
        return br_fail(call, "Unexpected value type in payload: 'inferenceConfig' must be an object");
    const sy_json_t *v = sy_json_get(ic, "maxTokens");
    int64_t n;
    double d;
    if (v) {
        if (sy_json_as_i64(v, &n) != SY_OK)
            return br_fail(call, "Unexpected value type in payload: 'inferenceConfig.maxTokens' "
                                 "must be an integer");
        if (n < 1)
            return BAD("1 validation error detected: Value '%lld' at 'inferenceConfig.maxTokens' "
                       "failed to satisfy constraint: Member must have value greater than or equal "
                       "to 1",
                       (long long)n);
        if (r->model->max_output && (uint64_t)n > r->model->max_output)
            return BAD("The maximum tokens you requested exceeds the model limit of %u. Try again "
                       "with a maximum tokens value that is lower than %u.",
                       r->model->max_output, r->model->max_output);
        r->max_tokens = (uint64_t)n;
    }
    static const char *const unit[] = {"temperature", "topP", NULL};
    for (size_t i = 0; unit[i]; i++) {
        v = sy_json_get(ic, unit[i]);
        if (v == NULL)
            continue;
        if (sy_json_as_double(v, &d) != SY_OK)
            return BAD("Unexpected value type in payload: 'inferenceConfig.%s' must be a number",
                       unit[i]);
        if (d < 0 || d > 1)
            return BAD("1 validation error detected: Value '%g' at 'inferenceConfig.%s' failed to "
                       "satisfy constraint: Member must have value %s",
                       d, unit[i], d < 0 ? "greater than or equal to 0" : "less than or equal to 1");
    }
    v = sy_json_get(ic, "stopSequences");
    if (v) {
        if (v->type != SY_JSON_ARRAY)
            return br_fail(call, "Unexpected value type in payload: 'inferenceConfig.stopSequences' "
                                 "must be a list");
        for (uint32_t i = 0; i < v->u.arr.len; i++)
            if (v->u.arr.items[i].type != SY_JSON_STRING || v->u.arr.items[i].u.str.len == 0)
                return BAD("1 validation error detected: Value at 'inferenceConfig.stopSequences.%u."
                           "member' failed to satisfy constraint: Member must have length greater "
                           "than or equal to 1",
                           i + 1);
    }
    return true;
}

static bool check_request(sy_sim_call_t *call, br_req_t *r)
{
    const sy_json_t *body = call->body;
    r->messages = sy_json_get(body, "messages");
    r->system = sy_json_get(body, "system");
    r->tool_config = sy_json_get(body, "toolConfig");
    r->inference = sy_json_get(body, "inferenceConfig");
    bool uses_tools = false;
    if (!check_messages(call, r, &uses_tools))
        return false;
    if (r->system && r->system->type != SY_JSON_NULL) {
        if (r->system->type != SY_JSON_ARRAY)
            return br_fail(call, "Unexpected value type in payload: 'system' must be a list");
        for (uint32_t i = 0; i < r->system->u.arr.len; i++) {
            const sy_json_t *s = &r->system->u.arr.items[i];
            const sy_json_t *t = sy_json_get(s, "text");
            if (t == NULL && !sy_json_get(s, "cachePoint") && !sy_json_get(s, "guardContent"))
                return BAD("Invalid SystemContentBlock at system.%u: set one of text, guardContent "
                           "or cachePoint.",
                           i);
            if (t && (t->type != SY_JSON_STRING || sy_str_trim(t->u.str).len == 0))
                return BAD("The text field in the SystemContentBlock object at system.%u is blank. "
                           "Add text to the text field, and try again.",
                           i);
        }
    }
    if (!check_tool_config(call, r, uses_tools) || !check_inference(call, r))
        return false;
    r->input_tokens = (uint32_t)(sy_sim_tokens_json(r->messages) + sy_sim_tokens_json(r->system) +
                                 sy_sim_tokens_json(sy_json_get(r->tool_config, "tools")));
    if (r->model->context_window && r->input_tokens + r->max_tokens > r->model->context_window)
        return BAD("Input is too long for requested model.");
    return true;
}

/* ------------------------------------------------------------------ plan --- */

static const sy_json_t *pick_tool(const sy_json_t *tools, uint32_t i, sy_str_t forced)
{
    size_t n = sy_json_len(tools);
    if (forced.p)
        for (size_t k = 0; k < n; k++)
            if (sy_str_eq(sy_json_str(sy_json_get(sy_json_get(sy_json_index(tools, k), "toolSpec"),
                                                  "name")),
                          forced))
                return sy_json_get(sy_json_index(tools, k), "toolSpec");
    for (size_t k = 0; k < n; k++) {
        const sy_json_t *spec = sy_json_get(sy_json_index(tools, (i + k) % n), "toolSpec");
        if (spec)
            return spec;
    }
    return NULL;
}

static void plan(sy_sim_call_t *call, br_msg_t *msg, const br_req_t *r)
{
    sy_arena_t *a = call->req->arena;
    const sy_json_t *body = call->body;
    sy_buf_t *tmp = &call->w->scratch2;
    msg->blocks = sy_arena_calloc(a, (2 + SY_SIM_MAX_TOOL_CALLS) * sizeof(br_block_t));
    msg->stop_reason = "end_turn";
    uint64_t room = r->max_tokens;

    /* Reasoning: Claude's thinking (or reasoning_config) passed through
     * additionalModelRequestFields. */
    const sy_json_t *amrf = sy_json_get(body, "additionalModelRequestFields");
    const sy_json_t *th = sy_json_get(amrf, "thinking");
    if (th == NULL)
        th = sy_json_get(amrf, "reasoning_config");
    if (sy_str_eq_c(sy_json_str(sy_json_get(th, "type")), "enabled")) {
        uint64_t budget = 1024;
        sy_json_as_u64(sy_json_get(th, "budget_tokens"), &budget);
        uint32_t n = (uint32_t)SY_MIN(SY_MIN((uint64_t)SY_MAX(call->bhv.output_tokens / 2, 4u), budget), room);
        br_block_t *b = &msg->blocks[msg->nblocks++];
        b->kind = BK_REASONING;
        sy_sim_text_words(&b->text, call->seed ^ 0x7265617365ULL, n, NULL, 0, NULL, tmp);
        sy_buf_clear(tmp);
        sy_sim_id_seeded(call, "Er", 180, 3, tmp);
        sy_buf_append_c(tmp, "==");
        b->signature = sy_str_dup(a, sy_buf_str(tmp));
        sy_buf_clear(tmp);
        room -= n;
        msg->output_tokens += n;
    }

    sy_sim_choice_t choice = SY_SIM_CHOICE_AUTO;
    sy_str_t forced = SY_STR_NULL;
    const sy_json_t *tc = sy_json_get(r->tool_config, "toolChoice");
    if (sy_json_get(tc, "any")) {
        choice = SY_SIM_CHOICE_REQUIRED;
    } else if (sy_json_get(tc, "tool")) {
        choice = SY_SIM_CHOICE_REQUIRED;
        forced = sy_json_str(sy_json_get(sy_json_get(tc, "tool"), "name"));
    }
    const sy_json_t *tools = sy_json_get(r->tool_config, "tools");
    uint32_t ncalls = sy_sim_tool_plan(call, r->ntools, choice, r->after_results);
    for (uint32_t i = 0; i < ncalls; i++) {
        const sy_json_t *spec = pick_tool(tools, i, forced);
        if (spec == NULL)
            break;
        br_block_t *b = &msg->blocks[msg->nblocks++];
        b->kind = BK_TOOL;
        b->name = sy_json_str(sy_json_get(spec, "name"));
        sy_buf_clear(tmp);
        sy_sim_id_seeded(call, "tooluse_", 22, 300 + i, tmp);
        b->id = sy_str_dup(a, sy_buf_str(tmp));
        sy_buf_clear(tmp);
        sy_json_writer_t w;
        sy_json_writer_init(&w, tmp, 0);
        const sy_json_t *schema = sy_json_get(sy_json_get(spec, "inputSchema"), "json");
        if (sy_json_len(sy_json_get(schema, "properties")) == 0 && !sy_json_get(schema, "$ref") &&
            !sy_json_get(schema, "anyOf") && !sy_json_get(schema, "oneOf"))
            sy_json_write_raw(&w, SY_STR("{}")); /* a tool without parameters */
        else
            sy_sim_gen_json(call->seed + 7919u * i, schema, &w);
        sy_json_write_finish(&w);
        b->input = sy_str_dup(a, sy_buf_str(tmp));
        sy_sim_text_fixed(&b->text, b->input);
        msg->output_tokens += (uint32_t)sy_sim_tokens(b->name) + sy_sim_text_count(&b->text);
        sy_buf_clear(tmp);
    }
    if (msg->nblocks && msg->blocks[msg->nblocks - 1].kind == BK_TOOL) {
        msg->stop_reason = "tool_use";
        return;
    }
    sy_str_t stops[BR_MAX_STOPS];
    size_t nstops = 0;
    const sy_json_t *ss = sy_json_get(r->inference, "stopSequences");
    for (size_t k = 0; k < sy_json_len(ss) && nstops < BR_MAX_STOPS; k++)
        stops[nstops++] = sy_json_str(sy_json_index(ss, k));
    br_block_t *b = &msg->blocks[msg->nblocks++];
    b->kind = BK_TEXT;
    int which = -1;
    sy_sim_text_words(&b->text, call->seed, call->bhv.output_tokens, stops, nstops, &which, tmp);
    sy_buf_clear(tmp);
    if (which >= 0)
        msg->stop_reason = "stop_sequence";
    if (b->text.ntokens > room) {
        b->text.ntokens = (uint32_t)room;
        b->text.clip = 0;
        msg->stop_reason = "max_tokens";
    }
    msg->output_tokens += sy_sim_text_count(&b->text);
}

/* ------------------------------------------------------------ writing --- */

static uint32_t latency_ms(const sy_sim_call_t *call, const br_msg_t *msg)
{
    uint64_t ms = (sy_now_ns() - call->req->start_ns) / 1000000u;
    return (uint32_t)SY_MAX(SY_MAX(ms, (uint64_t)msg->planned_ms), (uint64_t)1);
}

/* "p": letters and digits in order, a seeded length: Bedrock pads every
 * event so that payload sizes do not give the token lengths away. */
static void write_padding(sy_sim_call_t *call, br_msg_t *msg, sy_json_writer_t *w)
{
    static const char pad[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    size_t n = 1 + (size_t)sy_sim_rand(call->seed, 0x70000u + msg->frames, sizeof(pad) - 1);
    sy_json_write_key_lit(w, "p");
    sy_json_write_string(w, sy_str(pad, n));
}

static void write_usage_fields(sy_json_writer_t *w, const br_msg_t *msg, bool cache)
{
    if (cache) {
        static const char *const keys[] = {"cacheReadInputTokenCount", "cacheReadInputTokens",
                                           "cacheWriteInputTokenCount", "cacheWriteInputTokens"};
        for (size_t i = 0; i < SY_ARRAY_LEN(keys); i++) {
            sy_json_write_key(w, sy_str_c(keys[i]));
            sy_json_write_u64(w, 0);
        }
    }
    sy_json_write_key_lit(w, "inputTokens");
    sy_json_write_u64(w, msg->input_tokens);
    sy_json_write_key_lit(w, "outputTokens");
    sy_json_write_u64(w, msg->output_tokens);
    sy_json_write_key_lit(w, "serverToolUsage");
    sy_json_write_raw(w, SY_STR("{}"));
    sy_json_write_key_lit(w, "totalTokens");
    sy_json_write_u64(w, (uint64_t)msg->input_tokens + msg->output_tokens);
}

static void respond_whole(sy_sim_call_t *call, br_msg_t *msg)
{
    sy_buf_t *out = &call->w->scratch, *tmp = &call->w->scratch2;
    sy_buf_clear(out);
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    sy_json_write_begin_object(&w);
    sy_json_write_key_lit(&w, "metrics");
    sy_json_write_begin_object(&w);
    sy_json_write_key_lit(&w, "latencyMs");
    sy_json_write_u64(&w, latency_ms(call, msg));
    sy_json_write_end_object(&w);
    sy_json_write_key_lit(&w, "output");
    sy_json_write_begin_object(&w);
    sy_json_write_key_lit(&w, "message");
    sy_json_write_begin_object(&w);
    sy_json_write_key_lit(&w, "content");
    sy_json_write_begin_array(&w);
    for (uint32_t i = 0; i < msg->nblocks; i++) {
        br_block_t *b = &msg->blocks[i];
        sy_json_write_begin_object(&w);
        if (b->kind == BK_TOOL) {
            sy_json_write_key_lit(&w, "toolUse");
            sy_json_write_begin_object(&w);
            sy_json_write_key_lit(&w, "input");
            sy_json_write_raw(&w, b->input);
            sy_json_write_key_lit(&w, "name");
            sy_json_write_string(&w, b->name);
            sy_json_write_key_lit(&w, "toolUseId");
            sy_json_write_string(&w, b->id);
            sy_json_write_end_object(&w);
        } else {
            sy_buf_clear(tmp);
            sy_sim_text_all(&b->text, tmp);
            if (b->kind == BK_REASONING) {
                sy_json_write_key_lit(&w, "reasoningContent");
                sy_json_write_begin_object(&w);
                sy_json_write_key_lit(&w, "reasoningText");
                sy_json_write_begin_object(&w);
                sy_json_write_key_lit(&w, "signature");
                sy_json_write_string(&w, b->signature);
                sy_json_write_key_lit(&w, "text");
                sy_json_write_string(&w, sy_buf_str(tmp));
                sy_json_write_end_object(&w);
                sy_json_write_end_object(&w);
            } else {
                sy_json_write_key_lit(&w, "text");
                sy_json_write_string(&w, sy_buf_str(tmp));
            }
            sy_buf_clear(tmp);
        }
        sy_json_write_end_object(&w);
    }
    sy_json_write_end_array(&w);
    sy_json_write_key_lit(&w, "role");
    sy_json_write_string_lit(&w, "assistant");
    sy_json_write_end_object(&w);
    sy_json_write_end_object(&w);
    sy_json_write_key_lit(&w, "stopReason");
    sy_json_write_string(&w, sy_str_c(msg->stop_reason));
    sy_json_write_key_lit(&w, "usage");
    sy_json_write_begin_object(&w);
    write_usage_fields(&w, msg, true);
    sy_json_write_end_object(&w);
    sy_json_write_end_object(&w);
    if (sy_json_write_finish(&w) != SY_OK) {
        sy_sim_respond_error(call, 500, "response too large");
        return;
    }
    add_request_id(call);
    sy_sim_respond_json(call, 200, "application/json", sy_buf_ptr(out), out->len, msg->output_tokens);
    sy_buf_clear(out);
}

/* Frame the payload built in pay as event `type` into out. */
static void emit(sy_buf_t *out, const char *type, sy_buf_t *pay)
{
    if (sy_es_encode_event(out, sy_str_c(type), sy_buf_str(pay)) != SY_OK)
        sy_buf_clear(out);
    sy_buf_clear(pay);
}

static void index_key(sy_json_writer_t *w, uint32_t i)
{
    sy_json_write_key_lit(w, "contentBlockIndex");
    sy_json_write_u64(w, i);
}

static uint32_t br_next(sy_sim_call_t *call, sy_buf_t *out, bool *last)
{
    br_msg_t *msg = call->fstate;
    sy_buf_t *pay = &call->w->scratch2;
    sy_buf_clear(pay);
    sy_json_writer_t w;
    sy_json_writer_init(&w, pay, 0);
    br_block_t *b = msg->bi < msg->nblocks ? &msg->blocks[msg->bi] : NULL;
    uint32_t cost = 0;
    const char *type = "metadata";
    sy_json_write_begin_object(&w);
    switch (msg->step) {
    case S_START:
        type = "messageStart";
        write_padding(call, msg, &w);
        sy_json_write_key_lit(&w, "role");
        sy_json_write_string_lit(&w, "assistant");
        msg->step = msg->nblocks == 0 ? S_MSG_STOP : b->kind == BK_TOOL ? S_BLOCK_START : S_DELTA;
        break;
    case S_BLOCK_START:
        type = "contentBlockStart";
        index_key(&w, msg->bi);
        write_padding(call, msg, &w);
        sy_json_write_key_lit(&w, "start");
        sy_json_write_begin_object(&w);
        sy_json_write_key_lit(&w, "toolUse");
        sy_json_write_begin_object(&w);
        sy_json_write_key_lit(&w, "name");
        sy_json_write_string(&w, b->name);
        sy_json_write_key_lit(&w, "toolUseId");
        sy_json_write_string(&w, b->id);
        sy_json_write_end_object(&w);
        sy_json_write_end_object(&w);
        cost = (uint32_t)sy_sim_tokens(b->name);
        msg->step = S_DELTA;
        break;
    case S_DELTA: {
        type = "contentBlockDelta";
        /* The piece of text goes through `out` (empty on entry) while
         * the payload is built in `pay`; out is cleared before framing. */
        cost = sy_sim_text_take(&b->text, 1 + (uint32_t)sy_sim_rand(call->seed, b->text.pos + msg->bi, 4), out);
        sy_str_t piece = sy_buf_str(out);
        if (sy_sim_text_done(&b->text))
            msg->step = b->kind == BK_REASONING ? S_SIGNATURE : S_BLOCK_STOP;
        index_key(&w, msg->bi);
        sy_json_write_key_lit(&w, "delta");
        sy_json_write_begin_object(&w);
        if (b->kind == BK_TOOL) {
            sy_json_write_key_lit(&w, "toolUse");
            sy_json_write_begin_object(&w);
            sy_json_write_key_lit(&w, "input");
            sy_json_write_string(&w, piece);
            sy_json_write_end_object(&w);
        } else if (b->kind == BK_REASONING) {
            sy_json_write_key_lit(&w, "reasoningContent");
            sy_json_write_begin_object(&w);
            sy_json_write_key_lit(&w, "text");
            sy_json_write_string(&w, piece);
            sy_json_write_end_object(&w);
        } else {
            sy_json_write_key_lit(&w, "text");
            sy_json_write_string(&w, piece);
        }
        sy_json_write_end_object(&w);
        write_padding(call, msg, &w);
        sy_buf_clear(out);
        break;
    }
    case S_SIGNATURE:
        type = "contentBlockDelta";
        index_key(&w, msg->bi);
        sy_json_write_key_lit(&w, "delta");
        sy_json_write_begin_object(&w);
        sy_json_write_key_lit(&w, "reasoningContent");
        sy_json_write_begin_object(&w);
        sy_json_write_key_lit(&w, "signature");
        sy_json_write_string(&w, b->signature);
        sy_json_write_end_object(&w);
        sy_json_write_end_object(&w);
        write_padding(call, msg, &w);
        msg->step = S_BLOCK_STOP;
        break;
    case S_BLOCK_STOP:
        type = "contentBlockStop";
        index_key(&w, msg->bi);
        write_padding(call, msg, &w);
        msg->bi++;
        msg->step = msg->bi >= msg->nblocks                          ? S_MSG_STOP
                    : msg->blocks[msg->bi].kind == BK_TOOL ? S_BLOCK_START
                                                                     : S_DELTA;
        break;
    case S_MSG_STOP:
        type = "messageStop";
        write_padding(call, msg, &w);
        sy_json_write_key_lit(&w, "stopReason");
        sy_json_write_string(&w, sy_str_c(msg->stop_reason));
        msg->step = S_METADATA;
        break;
    case S_METADATA:
    default:
        type = "metadata";
        sy_json_write_key_lit(&w, "metrics");
        sy_json_write_begin_object(&w);
        sy_json_write_key_lit(&w, "latencyMs");
        sy_json_write_u64(&w, latency_ms(call, msg));
        sy_json_write_end_object(&w);
        write_padding(call, msg, &w);
        sy_json_write_key_lit(&w, "usage");
        sy_json_write_begin_object(&w);
        write_usage_fields(&w, msg, false);
        sy_json_write_end_object(&w);
        msg->step = S_DONE;
        *last = true;
        break;
    }
    sy_json_write_end_object(&w);
    sy_json_write_finish(&w);
    emit(out, type, pay);
    msg->frames++;
    return cost;
}

static void br_stream_error(sy_sim_call_t *call, int status, sy_buf_t *out)
{
    const char *type, *message;
    status_error(status, &type, &message);
    if (message == NULL)
        message = "The request could not be processed.";
    /* The stream's exception members are lower camel case. */
    char name[64];
    snprintf(name, sizeof(name), "%s", type);
    name[0] = (char)(name[0] - 'A' + 'a');
    sy_buf_t *pay = &call->w->scratch2;
    sy_buf_clear(pay);
    sy_json_writer_t w;
    sy_json_writer_init(&w, pay, 0);
    sy_json_write_begin_object(&w);
    sy_json_write_key_lit(&w, "message");
    sy_json_write_string(&w, sy_str_c(message));
    sy_json_write_end_object(&w);
    sy_json_write_finish(&w);
    sy_es_encode_exception(out, sy_str_c(name), sy_buf_str(pay));
    sy_buf_clear(pay);
}

/* A frame whose message CRC is wrong: decoders must refuse it. */
static void br_stream_malformed(sy_sim_call_t *call, sy_buf_t *out)
{
    br_msg_t *msg = call->fstate;
    size_t start = out->len;
    sy_es_encode_event(out, SY_STR("contentBlockDelta"),
                       SY_STR("{\"contentBlockIndex\":0,\"delta\":{\"text\":\"\"},\"p\":\"abc\"}"));
    if (out->len > start)
        sy_buf_ptr(out)[out->len - 1] ^= 0x5a;
    msg->frames++;
}

static const sy_sim_stream_ops_t br_stream_ops = {
    .content_type = "application/vnd.amazon.eventstream",
    .next = br_next,
    .error_event = br_stream_error,
    .malformed_event = br_stream_malformed,
};

/* ----------------------------------------------------------- endpoints --- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

static sy_str_t pct_decode(sy_arena_t *a, sy_str_t s)
{
    char *o = sy_arena_alloc(a, s.len + 1);
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        int h, l;
        if (s.p[i] == '%' && i + 2 < s.len && (h = hexval(s.p[i + 1])) >= 0 &&
            (l = hexval(s.p[i + 2])) >= 0) {
            o[n++] = (char)(h << 4 | l);
            i += 2;
        } else {
            o[n++] = s.p[i];
        }
    }
    o[n] = 0;
    return sy_str(o, n);
}

static void br_converse(sy_sim_call_t *call, sy_str_t model_id, bool stream)
{
    br_req_t r;
    memset(&r, 0, sizeof(r));
    r.model = sy_sim_model_find(call->sim, model_id, SY_SIM_FAMILY_BEDROCK);
    if (r.model == NULL || r.model->kind != SY_SIM_KIND_CHAT) {
        br_fail(call, "The provided model identifier is invalid.");
        return;
    }
    if (!check_request(call, &r))
        return;
    call->stream = stream;
    if (sy_sim_prepare(call, r.model) != SY_OK)
        return;
    br_msg_t *msg = sy_arena_calloc(call->req->arena, sizeof(*msg));
    call->fstate = msg;
    msg->input_tokens = r.input_tokens;
    plan(call, msg, &r);
    msg->planned_ms = call->bhv.ttft_ms;
    if (call->bhv.tps)
        msg->planned_ms += (uint32_t)((uint64_t)msg->output_tokens * 1000u / call->bhv.tps);
    if (stream) {
        add_request_id(call);
        sy_sim_stream(call, &br_stream_ops);
    } else {
        respond_whole(call, msg);
    }
}

static bool br_handle(sy_sim_call_t *call)
{
    sy_str_t path = call->req->head.path, m = call->req->head.method;
    if (!sy_str_starts_with(path, SY_STR("/model/")))
        return false;
    sy_sim_claim(call, &sy_sim_family_bedrock);
    sy_str_t rest = sy_str_sub(path, 7, path.len);
    ptrdiff_t slash = -1;
    for (size_t i = rest.len; i-- > 0;)
        if (rest.p[i] == '/') {
            slash = (ptrdiff_t)i;
            break;
        }
    sy_str_t op = slash >= 0 ? sy_str_sub(rest, (size_t)slash + 1, rest.len) : SY_STR_NULL;
    sy_str_t id = slash > 0 ? sy_str(rest.p, (size_t)slash) : SY_STR_NULL;
    bool converse = sy_str_eq_c(op, "converse"), stream = sy_str_eq_c(op, "converse-stream");
    if (!br_auth(call))
        return true;
    if ((!converse && !stream) || id.len == 0 || !sy_str_eq_c(m, "POST")) {
        br_fail_ns(call, 400, "UnknownOperationException", BR_NS_CORAL,
                   "The requested operation is not recognized by the service.");
        return true;
    }
    const char *why;
    if (sy_sim_parse_body(call, &why) != SY_OK || call->body->type != SY_JSON_OBJECT) {
        br_fail_ns(call, 400, "SerializationException", BR_NS_CORAL,
                   call->req->body.len ? "Start of structure or map found where not expected, or "
                                         "the request body is not valid JSON."
                                       : "The request body is empty.");
        return true;
    }
    br_converse(call, pct_decode(call->req->arena, id), stream);
    return true;
}

const sy_sim_family_t sy_sim_family_bedrock = {
    .name = "bedrock",
    .id = SY_SIM_FAMILY_BEDROCK,
    .handle = br_handle,
    .error_body = br_error_body,
};
