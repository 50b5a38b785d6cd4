/*
 * gemini.c - the Gemini family (Google AI Studio, generativelanguage API):
 *   POST /v1beta/models/{model}:generateContent
 *   POST /v1beta/models/{model}:streamGenerateContent[?alt=sse]
 *   POST /v1beta/models/{model}:countTokens
 *   GET  /v1beta/models, /v1beta/models/{model}
 * (and the same under /v1/ for the POST methods).
 *
 * Authentication is the x-goog-api-key header or the key= query parameter.
 * Errors are Google's {"error":{"code","message","status"}} (pretty-printed,
 * as Google sends them), with the real sentences for the common mistakes:
 * missing contents, invalid roles, empty parts, a function response that
 * does not follow a function call (or answers a different number of calls),
 * unknown fields (camelCase and snake_case names are both accepted, as
 * proto-JSON does), an unknown model.
 *
 * The answer follows the recordings in tests/data/transcripts/google/:
 * every stream chunk is a whole GenerateContentResponse (candidates with
 * content.parts and role "model", usageMetadata, modelVersion, responseId);
 * finishReason only in the last chunk; usage cumulative. The details that
 * differ between model generations are kept:
 *   gemini-2.0-*  no candidate "index"; mid-stream usage without
 *                 candidatesTokenCount; candidatesTokensDetails and (whole
 *                 bodies) avgLogprobs at the end; no thinking.
 *   gemini-2.5-*  "index": 0; cumulative candidatesTokenCount on every chunk
 *                 once there is output; thinking on by default
 *                 (thoughtsTokenCount; thinkingBudget 0 turns it off on
 *                 flash models); "thought": true summary parts with
 *                 includeThoughts, the first answer part after them signed
 *                 (thoughtSignature); a thoughtSignature on function calls.
 *   gemini-3*     as 2.5, plus a thoughtSignature on the last text part
 *                 (streams end with an empty text part carrying it, unless
 *                 a function call carried it) and finishMessage on
 *                 function-call bodies.
 * SSE frames are "data: JSON\r\n\r\n" (CRLF, as on the wire); without
 * alt=sse the stream is one JSON array, element by element.
 */
#include <stdio.h>
#include <string.h>

#include "sim/sim.h"

#define GE_MAX_STOPS 5 /* Gemini accepts up to 5 stop sequences */
#define GE_MAX_NAME 64

enum { PT_THOUGHT, PT_TEXT, PT_CALL };

typedef struct {
    uint8_t kind;
    sy_sim_text_t text; /* thought or answer text (or JSON text) */
    sy_str_t name;      /* function call */
    sy_str_t args;      /* function call arguments, a JSON object */
} ge_part_t;

typedef struct {
    ge_part_t *parts;
    uint32_t nparts;
    sy_str_t response_id;
    sy_str_t signature;
    const char *finish;
    uint32_t input_tokens;
    uint32_t output_tokens;  /* candidates (answer + calls) */
    uint32_t thought_tokens;
    bool thinking, show_thoughts;
    uint8_t gen; /* 20, 25 or 30 */
    bool sse;
    /* stream position */
    uint32_t pi;
    uint32_t chunks;
    uint32_t sent_out, sent_thought;
    bool closing;     /* gemini-3: the final empty part is due */
    bool signed_text; /* 2.5: the first answer chunk carried the signature */
} ge_resp_t;

/* ---------------------------------------------------------------- errors --- */

static const char *status_name(int status)
{
    switch (status) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 405: return "METHOD_NOT_ALLOWED";
    case 409: return "ABORTED";
    case 413: return "INVALID_ARGUMENT";
    case 429: return "RESOURCE_EXHAUSTED";
    case 499: return "CANCELLED";
    case 501: return "UNIMPLEMENTED";
    case 503:
    case 529: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default: return "INTERNAL";
    }
}

/* The sentence Google uses for a status the core answers on our behalf
 * (faults); others keep the caller's message. */
static const char *canned_message(int status, const char *message)
{
    switch (status) {
    case 429: return "You exceeded your current quota, please check your plan and billing details. "
                     "For more information on this error, head to: "
                     "https://ai.google.dev/gemini-api/docs/rate-limits.";
    case 500: return "An internal error has occurred. Please retry or report in "
                     "https://developers.generativeai.google/guide/troubleshooting";
    case 503:
    case 529: return "The model is overloaded. Please try again later.";
    default: return message;
    }
}

/* Append Google's pretty-printed error object. details: the extra members
 * for the API-key and quota errors, as the recordings show them. */
static void write_error(sy_sim_call_t *call, int status, const char *message, sy_buf_t *out)
{
    sy_buf_printf(out, "{\n  \"error\": {\n    \"code\": %d,\n    \"message\": ", status);
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    sy_json_write_string(&w, sy_str_c(message));
    sy_json_write_finish(&w);
    sy_buf_printf(out, ",\n    \"status\": \"%s\"", status_name(status));
    if (status == 400 && strncmp(message, "API key not valid", 17) == 0) {
        sy_buf_append_c(out, ",\n    \"details\": [\n      {\n"
                             "        \"@type\": \"type.googleapis.com/google.rpc.ErrorInfo\",\n"
                             "        \"reason\": \"API_KEY_INVALID\",\n"
                             "        \"domain\": \"googleapis.com\",\n"
                             "        \"metadata\": {\n"
                             "          \"service\": \"generativelanguage.googleapis.com\"\n"
                             "        }\n      },\n      {\n"
                             "        \"@type\": \"type.googleapis.com/google.rpc.LocalizedMessage\",\n"
                             "        \"locale\": \"en-US\",\n"
                             "        \"message\": \"API key not valid. Please pass a valid API key.\"\n"
                             "      }\n    ]");
    } else if (status == 429) {
        sy_buf_printf(out,
                      ",\n    \"details\": [\n      {\n"
                      "        \"@type\": \"type.googleapis.com/google.rpc.QuotaFailure\",\n"
                      "        \"violations\": [\n          {\n"
                      "            \"quotaMetric\": \"generativelanguage.googleapis.com/"
                      "generate_content_free_tier_requests\",\n"
                      "            \"quotaId\": \"GenerateRequestsPerMinutePerProjectPerModel-FreeTier\"\n"
                      "          }\n        ]\n      },\n      {\n"
                      "        \"@type\": \"type.googleapis.com/google.rpc.RetryInfo\",\n"
                      "        \"retryDelay\": \"%us\"\n      }\n    ]",
                      call->bhv.retry_after_s ? call->bhv.retry_after_s : SY_SIM_DEFAULT_RETRY_AFTER);
    }
    sy_buf_append_c(out, "\n  }\n}\n");
}

static const char *ge_error_body(sy_sim_call_t *call, int status, const char *message, sy_buf_t *out)
{
    write_error(call, status, canned_message(status, message), out);
    return "application/json; charset=UTF-8";
}

/* Answer an error now (validation, before any behaviour applies). */
static bool ge_fail(sy_sim_call_t *call, int status, const char *message)
{
    sy_buf_t *b = &call->w->scratch;
    sy_buf_clear(b);
    write_error(call, status, message, b);
    sy_http_respond(call->req, status, "application/json; charset=UTF-8", sy_buf_ptr(b), b->len);
    sy_buf_clear(b);
    return false;
}

#define BAD(...) ge_fail(call, 400, sy_arena_sprintf(call->req->arena, __VA_ARGS__))

/* ----------------------------------------------------------- field names --- */

/* Proto-JSON accepts a field by its lowerCamel JSON name or its original
 * snake_case name. */
static const sy_json_t *field(const sy_json_t *obj, const char *camel, const char *snake)
{
    const sy_json_t *v = sy_json_get(obj, camel);
    return v ? v : snake ? sy_json_get(obj, snake) : NULL;
}

/* Each entry: "camelName" or "camelName|snake_name". */
static bool known_key(sy_str_t k, const char *const *names)
{
    for (size_t i = 0; names[i]; i++) {
        const char *n = names[i];
        const char *bar = strchr(n, '|');
        size_t cl = bar ? (size_t)(bar - n) : strlen(n);
        if (k.len == cl && memcmp(k.p, n, cl) == 0)
            return true;
        if (bar && sy_str_eq_c(k, bar + 1))
            return true;
    }
    return false;
}

/* 'Invalid JSON payload received. Unknown name "x" at 'where': Cannot find field.' */
static bool check_keys(sy_sim_call_t *call, const sy_json_t *obj, const char *const *names,
                       const char *where)
{
    for (uint32_t i = 0; obj && obj->type == SY_JSON_OBJECT && i < obj->u.obj.len; i++) {
        sy_str_t k = obj->u.obj.items[i].key;
        if (known_key(k, names))
            continue;
        if (where)
            return BAD("Invalid JSON payload received. Unknown name \"%.*s\" at '%s': Cannot find "
                       "field.",
                       (int)SY_MIN(k.len, (size_t)100), k.p, where);
        return BAD("Invalid JSON payload received. Unknown name \"%.*s\": Cannot find field.",
                   (int)SY_MIN(k.len, (size_t)100), k.p);
    }
    return true;
}

static const char *const request_keys[] = {
    "contents", "tools", "toolConfig|tool_config", "safetySettings|safety_settings",
    "systemInstruction|system_instruction", "generationConfig|generation_config",
    "cachedContent|cached_content", "labels", "model", NULL};

static const char *const gencfg_keys[] = {
    "stopSequences|stop_sequences", "responseMimeType|response_mime_type",
    "responseSchema|response_schema", "responseJsonSchema|response_json_schema",
    "responseModalities|response_modalities", "candidateCount|candidate_count",
    "maxOutputTokens|max_output_tokens", "temperature", "topP|top_p", "topK|top_k", "seed",
    "presencePenalty|presence_penalty", "frequencyPenalty|frequency_penalty",
    "responseLogprobs|response_logprobs", "logprobs", "enableEnhancedCivicAnswers",
    "speechConfig|speech_config", "thinkingConfig|thinking_config",
    "mediaResolution|media_resolution", "imageConfig|image_config", NULL};

static const char *const part_data_keys[] = {
    "text", "inlineData|inline_data", "fileData|file_data", "functionCall|function_call",
    "functionResponse|function_response", "executableCode|executable_code",
    "codeExecutionResult|code_execution_result", NULL};

/* ------------------------------------------------------------ validation --- */

typedef struct {
    const sy_sim_model_t *model;
    const sy_json_t *contents, *system, *tools, *gencfg;
    uint32_t ndecls;
    bool after_results;
    uint32_t input_tokens;
} ge_req_t;

static bool valid_function_name(sy_str_t n)
{
    if (n.len == 0 || n.len > GE_MAX_NAME)
        return false;
    char c0 = n.p[0];
    if (!((c0 >= 'a' && c0 <= 'z') || (c0 >= 'A' && c0 <= 'Z') || c0 == '_'))
        return false;
    for (size_t i = 1; i < n.len; i++) {
        char c = n.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

/* The data fields a part sets (text, inlineData, ...). */
static int part_kinds(const sy_json_t *part, const sy_json_t **first)
{
    int n = 0;
    *first = NULL;
    for (uint32_t i = 0; part->type == SY_JSON_OBJECT && i < part->u.obj.len; i++) {
        if (known_key(part->u.obj.items[i].key, part_data_keys)) {
            if (n++ == 0)
                *first = &part->u.obj.items[i].value;
        }
    }
    return n;
}

static uint32_t count_parts(const sy_json_t *content, const char *camel, const char *snake)
{
    uint32_t n = 0;
    const sy_json_t *parts = sy_json_get(content, "parts");
    for (size_t i = 0; i < sy_json_len(parts); i++)
        n += field(sy_json_index(parts, i), camel, snake) != NULL;
    return n;
}

static bool check_parts(sy_sim_call_t *call, const sy_json_t *parts, const char *where)
{
    if (parts == NULL || sy_json_len(parts) == 0 || parts->type != SY_JSON_ARRAY)
        return BAD("* GenerateContentRequest.%s.parts: contents.parts must not be empty.\n", where);
    for (uint32_t k = 0; k < parts->u.arr.len; k++) {
        const sy_json_t *p = &parts->u.arr.items[k], *data;
        if (p->type != SY_JSON_OBJECT)
            return BAD("Invalid JSON payload received. Expected an object for parts[%u].", k);
        int n = part_kinds(p, &data);
        if (n == 0)
            return BAD("* GenerateContentRequest.%s.parts[%u].data: required oneof field 'data' "
                       "must have one initialized field\n",
                       where, k);
        if (n > 1)
            return BAD("Invalid JSON payload received. Oneof field 'data' is already set. Cannot "
                       "set 'parts[%u]'",
                       k);
        const sy_json_t *v;
        if ((v = sy_json_get(p, "text")) != NULL && v->type != SY_JSON_STRING)
            return BAD("Invalid value at '%s.parts[%u].text' (TYPE_STRING)", where, k);
        if ((v = field(p, "inlineData", "inline_data")) != NULL) {
            if (!sy_json_is(field(v, "mimeType", "mime_type"), SY_JSON_STRING))
                return BAD("* GenerateContentRequest.%s.parts[%u].inline_data.mime_type: "
                           "mime_type is not specified\n",
                           where, k);
            if (!sy_json_is(sy_json_get(v, "data"), SY_JSON_STRING))
                return BAD("* GenerateContentRequest.%s.parts[%u].inline_data.data: data is "
                           "not specified\n",
                           where, k);
        }
        if ((v = field(p, "functionCall", "function_call")) != NULL &&
            !sy_json_is(sy_json_get(v, "name"), SY_JSON_STRING))
            return BAD("* GenerateContentRequest.%s.parts[%u].function_call.name: Name cannot be "
                       "empty.\n",
                       where, k);
        if ((v = field(p, "functionResponse", "function_response")) != NULL) {
            if (!sy_json_is(sy_json_get(v, "name"), SY_JSON_STRING))
                return BAD("* GenerateContentRequest.%s.parts[%u].function_response.name: Name "
                           "cannot be empty.\n",
                           where, k);
            const sy_json_t *resp = sy_json_get(v, "response");
            if (resp && resp->type != SY_JSON_OBJECT)
                return BAD("Invalid value at '%s.parts[%u].function_response.response' "
                           "(type.googleapis.com/google.protobuf.Struct)",
                           where, k);
        }
    }
    return true;
}

static bool check_contents(sy_sim_call_t *call, ge_req_t *r)
{
    const sy_json_t *cs = r->contents;
    if (cs == NULL || cs->type == SY_JSON_NULL || (cs->type == SY_JSON_ARRAY && cs->u.arr.len == 0))
        return ge_fail(call, 400, "* GenerateContentRequest.contents: contents is not specified\n");
    if (cs->type != SY_JSON_ARRAY)
        return BAD("Invalid value at 'contents' (type.googleapis.com/google.ai.generativelanguage."
                   "v1beta.Content), expected a list");
    for (uint32_t i = 0; i < cs->u.arr.len; i++) {
        const sy_json_t *c = &cs->u.arr.items[i];
        if (c->type != SY_JSON_OBJECT)
            return BAD("Invalid value at 'contents[%u]' (type.googleapis.com/google.ai."
                       "generativelanguage.v1beta.Content)",
                       i);
        static const char *const content_keys[] = {"parts", "role", NULL};
        char where[32];
        snprintf(where, sizeof(where), "contents[%u]", i);
        if (!check_keys(call, c, content_keys, where))
            return false;
        const sy_json_t *role = sy_json_get(c, "role");
        sy_str_t rs = sy_json_str(role);
        if (role && !(sy_str_eq_c(rs, "user") || sy_str_eq_c(rs, "model")))
            return ge_fail(call, 400, "Please use a valid role: user, model.");
        if (!check_parts(call, sy_json_get(c, "parts"), where))
            return false;
    }
    /* Function calls and their responses pair up turn by turn. */
    for (uint32_t i = 0; i < cs->u.arr.len; i++) {
        const sy_json_t *c = &cs->u.arr.items[i];
        bool model = sy_str_eq_c(sy_json_str(sy_json_get(c, "role")), "model");
        uint32_t calls = count_parts(c, "functionCall", "function_call");
        uint32_t resps = count_parts(c, "functionResponse", "function_response");
        const sy_json_t *prev = i ? &cs->u.arr.items[i - 1] : NULL;
        bool prev_model = prev && sy_str_eq_c(sy_json_str(sy_json_get(prev, "role")), "model");
        uint32_t prev_calls = prev ? count_parts(prev, "functionCall", "function_call") : 0;
        if (model && calls && (prev == NULL || prev_model))
            return ge_fail(call, 400,
                           "Please ensure that function call turn comes immediately after a user "
                           "turn or after a function response turn.");
        if (!model && resps) {
            if (!prev_model || prev_calls == 0)
                return ge_fail(call, 400,
                               "Please ensure that function response turn comes immediately after "
                               "a function call turn.");
            if (resps != prev_calls)
                return ge_fail(call, 400,
                               "Please ensure that the number of function response parts is equal "
                               "to the number of function call parts of the function call turn.");
        }
        r->after_results = !model && resps > 0;
    }
    return true;
}

static bool check_tools(sy_sim_call_t *call, ge_req_t *r)
{
    const sy_json_t *tools = r->tools;
    if (tools == NULL || tools->type == SY_JSON_NULL)
        return true;
    if (tools->type != SY_JSON_ARRAY)
        return BAD("Invalid value at 'tools' (type.googleapis.com/google.ai.generativelanguage."
                   "v1beta.Tool), expected a list");
    static const char *const tool_keys[] = {
        "functionDeclarations|function_declarations", "googleSearch|google_search",
        "googleSearchRetrieval|google_search_retrieval", "codeExecution|code_execution",
        "urlContext|url_context", "googleMaps|google_maps", "computerUse|computer_use",
        "fileSearch|file_search", NULL};
    static const char *const decl_keys[] = {
        "name", "description", "parameters", "parametersJsonSchema|parameters_json_schema",
        "response", "responseJsonSchema|response_json_schema", "behavior", NULL};
    for (uint32_t i = 0; i < tools->u.arr.len; i++) {
        const sy_json_t *t = &tools->u.arr.items[i];
        char where[48];
        snprintf(where, sizeof(where), "tools[%u]", i);
        if (!check_keys(call, t, tool_keys, where))
            return false;
        const sy_json_t *decls = field(t, "functionDeclarations", "function_declarations");
        for (uint32_t k = 0; k < sy_json_len(decls); k++) {
            const sy_json_t *d = sy_json_index(decls, k);
            snprintf(where, sizeof(where), "tools[%u].function_declarations[%u]", i, k);
            if (!check_keys(call, d, decl_keys, where))
                return false;
            sy_str_t name = sy_json_str(sy_json_get(d, "name"));
            if (!valid_function_name(name))
                return BAD("* GenerateContentRequest.tools[%u].function_declarations[%u].name: "
                           "Invalid function name. Must start with a letter or an underscore. Must "
                           "be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), "
                           "or dashes (-), with a maximum length of 64.\n",
                           i, k);
            const sy_json_t *params = sy_json_get(d, "parameters");
            if (params && params->type != SY_JSON_OBJECT && params->type != SY_JSON_NULL)
                return BAD("Invalid value at '%s.parameters' (type.googleapis.com/google.ai."
                           "generativelanguage.v1beta.Schema)",
                           where);
            r->ndecls++;
        }
    }
    return true;
}

static bool check_generation_config(sy_sim_call_t *call, ge_req_t *r)
{
    const sy_json_t *g = r->gencfg;
    if (g == NULL || g->type == SY_JSON_NULL)
        return true;
    if (g->type != SY_JSON_OBJECT)
        return BAD("Invalid value at 'generation_config' (type.googleapis.com/google.ai."
                   "generativelanguage.v1beta.GenerationConfig)");
    if (!check_keys(call, g, gencfg_keys, "generation_config"))
        return false;
    const sy_json_t *v = field(g, "maxOutputTokens", "max_output_tokens");
    int64_t n;
    if (v) {
        if (sy_json_as_i64(v, &n) != SY_OK)
            return BAD("Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32)");
        uint64_t lim = r->model->max_output ? (uint64_t)r->model->max_output + 1 : UINT32_MAX;
        if (n < 1 || (uint64_t)n >= lim)
            return BAD("Unable to submit request because it has a maxOutputTokens value of %lld "
                       "but the supported range is from 1 (inclusive) to %llu (exclusive). Update "
                       "the value and try again.",
                       (long long)n, (unsigned long long)lim);
    }
    double d;
    if ((v = sy_json_get(g, "temperature")) != NULL) {
        if (sy_json_as_double(v, &d) != SY_OK)
            return BAD("Invalid value at 'generation_config.temperature' (TYPE_FLOAT)");
        if (d < 0 || d > 2)
            return BAD("Unable to submit request because it has a temperature value of %g but the "
                       "supported range is from 0 (inclusive) to 2.0001 (exclusive). Update the "
                       "value and try again.",
                       d);
    }
    if ((v = field(g, "topP", "top_p")) != NULL &&
        (sy_json_as_double(v, &d) != SY_OK || d < 0 || d > 1))
        return BAD("Unable to submit request because it has a topP value outside the supported "
                   "range from 0 (inclusive) to 1.0 (inclusive). Update the value and try again.");
    if ((v = field(g, "candidateCount", "candidate_count")) != NULL &&
        (sy_json_as_i64(v, &n) != SY_OK || n != 1))
        return BAD("Only one candidate can be specified in the current model");
    if ((v = field(g, "stopSequences", "stop_sequences")) != NULL) {
        if (v->type != SY_JSON_ARRAY)
            return BAD("Invalid value at 'generation_config.stop_sequences' (TYPE_STRING), "
                       "expected a list");
        if (v->u.arr.len > GE_MAX_STOPS)
            return BAD("* GenerateContentRequest.generation_config.stop_sequences: The number of "
                       "stop sequences (%u) exceeds the maximum allowed (%u).\n",
                       v->u.arr.len, GE_MAX_STOPS);
        for (uint32_t i = 0; i < v->u.arr.len; i++)
            if (v->u.arr.items[i].type != SY_JSON_STRING)
                return BAD("Invalid value at 'generation_config.stop_sequences[%u]' (TYPE_STRING)", i);
    }
    sy_str_t mime = sy_json_str(field(g, "responseMimeType", "response_mime_type"));
    if (mime.p && !(sy_str_eq_c(mime, "text/plain") || sy_str_eq_c(mime, "application/json") ||
                    sy_str_eq_c(mime, "text/x.enum")))
        return BAD("* GenerateContentRequest.generation_config.response_mime_type: allowed "
                   "mimetypes are `text/plain`, `application/json`, `application/xml`, "
                   "`application/yaml` and `text/x.enum`.\n");
    if ((field(g, "responseSchema", "response_schema") ||
         field(g, "responseJsonSchema", "response_json_schema")) &&
        !sy_str_eq_c(mime, "application/json") && !sy_str_eq_c(mime, "text/x.enum"))
        return BAD("* GenerateContentRequest.generation_config.response_mime_type: "
                   "response_mime_type must be set to application/json or text/x.enum when "
                   "response_schema is set.\n");
    const sy_json_t *tc = field(g, "thinkingConfig", "thinking_config");
    if (tc) {
        static const char *const tc_keys[] = {"thinkingBudget|thinking_budget",
                                              "includeThoughts|include_thoughts",
                                              "thinkingLevel|thinking_level", NULL};
        if (!check_keys(call, tc, tc_keys, "generation_config.thinking_config"))
            return false;
        const sy_json_t *b = field(tc, "thinkingBudget", "thinking_budget");
        int64_t budget;
        if (b && sy_json_as_i64(b, &budget) == SY_OK) {
            sy_str_t ver = r->model->version;
            bool thinks = sy_str_starts_with(ver, SY_STR("gemini-2.5")) ||
                          sy_str_starts_with(ver, SY_STR("gemini-3"));
            if (budget == 0 && thinks && sy_str_find(ver, SY_STR("-pro")) >= 0)
                return ge_fail(call, 400,
                               "Budget 0 is invalid. This model only works in thinking mode.");
            if (!thinks && budget != 0)
                return ge_fail(call, 400, "Thinking is not enabled for models/gemini-2.0-flash");
        }
    }
    return true;
}

static bool check_tool_config(sy_sim_call_t *call, const sy_json_t *tc)
{
    if (tc == NULL)
        return true;
    const sy_json_t *fcc = field(tc, "functionCallingConfig", "function_calling_config");
    sy_str_t mode = sy_json_str(sy_json_get(fcc, "mode"));
    if (mode.p && !(sy_str_eq_c(mode, "AUTO") || sy_str_eq_c(mode, "ANY") ||
                    sy_str_eq_c(mode, "NONE") || sy_str_eq_c(mode, "VALIDATED") ||
                    sy_str_eq_c(mode, "MODE_UNSPECIFIED")))
        return BAD("Invalid value at 'tool_config.function_calling_config.mode' "
                   "(type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig."
                   "Mode), \"%.*s\"",
                   (int)SY_MIN(mode.len, (size_t)40), mode.p);
    const sy_json_t *allowed = field(fcc, "allowedFunctionNames", "allowed_function_names");
    if (sy_json_len(allowed) && !sy_str_eq_c(mode, "ANY") && !sy_str_eq_c(mode, "VALIDATED"))
        return ge_fail(call, 400,
                       "* GenerateContentRequest.tool_config.function_calling_config."
                       "allowed_function_names: allowed_function_names should only be set when "
                       "the mode is ANY.\n");
    return true;
}

/* ------------------------------------------------------------------ plan --- */

/* A copy of a Gemini Schema with its OpenAPI type names ("OBJECT",
 * "STRING") lower-cased, so the generator reads it as a JSON Schema. */
static sy_json_t *lower_types(sy_arena_t *a, const sy_json_t *v, int depth)
{
    if (v == NULL || depth > 64)
        return NULL;
    if (v->type == SY_JSON_ARRAY) {
        sy_json_t *arr = sy_json_new_array(a);
        for (uint32_t i = 0; i < v->u.arr.len; i++) {
            sy_json_t *e = lower_types(a, &v->u.arr.items[i], depth + 1);
            sy_json_append(a, arr, e ? e : &v->u.arr.items[i]);
        }
        return arr;
    }
    if (v->type != SY_JSON_OBJECT) {
        sy_json_t *copy = sy_arena_alloc(a, sizeof(*copy));
        *copy = *v;
        return copy;
    }
    sy_json_t *obj = sy_json_new_object(a);
    for (uint32_t i = 0; i < v->u.obj.len; i++) {
        const sy_json_member_t *m = &v->u.obj.items[i];
        sy_json_t *e;
        if (sy_str_eq_c(m->key, "type") && m->value.type == SY_JSON_STRING) {
            char *low = sy_str_cdup(a, m->value.u.str);
            for (char *p = low; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p + 32);
            e = sy_json_new_str(a, sy_str_c(low));
        } else {
            e = lower_types(a, &m->value, depth + 1);
        }
        sy_json_set(a, obj, m->key, e);
    }
    return obj;
}

static const sy_json_t *pick_decl(const sy_json_t *tools, uint32_t i, const sy_json_t *allowed)
{
    /* Declarations in order, restricted to the allowed names if any. */
    uint32_t total = 0;
    for (size_t t = 0; t < sy_json_len(tools); t++)
        total += (uint32_t)sy_json_len(field(sy_json_index(tools, t), "functionDeclarations",
                                             "function_declarations"));
    if (total == 0)
        return NULL;
    for (uint32_t tries = 0; tries < total; tries++) {
        uint32_t want = (i + tries) % total, k = 0;
        for (size_t t = 0; t < sy_json_len(tools); t++) {
            const sy_json_t *decls = field(sy_json_index(tools, t), "functionDeclarations",
                                           "function_declarations");
            for (size_t j = 0; j < sy_json_len(decls); j++, k++) {
                if (k != want)
                    continue;
                const sy_json_t *d = sy_json_index(decls, j);
                if (sy_json_len(allowed) == 0)
                    return d;
                for (size_t a = 0; a < sy_json_len(allowed); a++)
                    if (sy_str_eq(sy_json_str(sy_json_index(allowed, a)),
                                  sy_json_str(sy_json_get(d, "name"))))
                        return d;
            }
        }
    }
    return NULL;
}

static uint8_t generation(sy_str_t version)
{
    if (sy_str_starts_with(version, SY_STR("gemini-3")))
        return 30;
    if (sy_str_starts_with(version, SY_STR("gemini-2.5")))
        return 25;
    return 20;
}

static void plan(sy_sim_call_t *call, ge_resp_t *r, const ge_req_t *q)
{
    sy_arena_t *a = call->req->arena;
    sy_buf_t *tmp = &call->w->scratch2;
    const sy_json_t *g = q->gencfg;
    r->parts = sy_arena_calloc(a, (2 + SY_SIM_MAX_TOOL_CALLS) * sizeof(ge_part_t));
    r->finish = "STOP";
    r->gen = generation(call->model->version);
    uint64_t room = UINT32_MAX;
    uint64_t v;
    if (sy_json_as_u64(field(g, "maxOutputTokens", "max_output_tokens"), &v) == SY_OK)
        room = v;

    /* Thinking: on by default from 2.5 on; a budget caps it, 0 turns it off. */
    const sy_json_t *tc = field(g, "thinkingConfig", "thinking_config");
    int64_t budget = -1;
    sy_json_as_i64(field(tc, "thinkingBudget", "thinking_budget"), &budget);
    r->thinking = r->gen >= 25 && budget != 0;
    const sy_json_t *inc = field(tc, "includeThoughts", "include_thoughts");
    r->show_thoughts = r->thinking && inc && inc->type == SY_JSON_TRUE;
    if (r->thinking) {
        uint32_t n = SY_MAX(8u, call->bhv.output_tokens);
        if (budget > 0)
            n = (uint32_t)SY_MIN((uint64_t)n, (uint64_t)budget);
        r->thought_tokens = n;
        if (r->show_thoughts) {
            ge_part_t *p = &r->parts[r->nparts++];
            p->kind = PT_THOUGHT;
            sy_sim_text_words(&p->text, call->seed ^ 0x74686f75676874ULL, n, NULL, 0, NULL, tmp);
        }
        sy_buf_clear(tmp);
        sy_sim_id_seeded(call, "Cr", 118, 5, tmp);
        sy_buf_append_c(tmp, "==");
        r->signature = sy_str_dup(a, sy_buf_str(tmp));
        sy_buf_clear(tmp);
    }

    /* Function calls, or text. */
    const sy_json_t *fcc = field(field(call->body, "toolConfig", "tool_config"),
                                 "functionCallingConfig", "function_calling_config");
    sy_str_t mode = sy_json_str(sy_json_get(fcc, "mode"));
    sy_sim_choice_t choice = sy_str_eq_c(mode, "NONE")  ? SY_SIM_CHOICE_NONE
                             : sy_str_eq_c(mode, "ANY") ? SY_SIM_CHOICE_REQUIRED
                                                        : SY_SIM_CHOICE_AUTO;
    const sy_json_t *allowed = field(fcc, "allowedFunctionNames", "allowed_function_names");
    uint32_t ncalls = sy_sim_tool_plan(call, q->ndecls, choice, q->after_results);
    for (uint32_t i = 0; i < ncalls; i++) {
        const sy_json_t *d = pick_decl(q->tools, i, allowed);
        if (d == NULL)
            break;
        ge_part_t *p = &r->parts[r->nparts++];
        p->kind = PT_CALL;
        p->name = sy_json_str(sy_json_get(d, "name"));
        const sy_json_t *schema = field(d, "parametersJsonSchema", "parameters_json_schema");
        if (schema == NULL)
            schema = lower_types(a, sy_json_get(d, "parameters"), 0);
        sy_buf_clear(tmp);
        sy_json_writer_t w;
        sy_json_writer_init(&w, tmp, 0);
        if (schema == NULL || sy_json_len(sy_json_get(schema, "properties")) == 0)
            sy_json_write_raw(&w, SY_STR("{}"));
        else
            sy_sim_gen_json(call->seed + 7919u * i, schema, &w);
        sy_json_write_finish(&w);
        p->args = sy_str_dup(a, sy_buf_str(tmp));
        sy_sim_text_fixed(&p->text, p->args);
        r->output_tokens += (uint32_t)sy_sim_tokens(p->name) + sy_sim_text_count(&p->text);
        sy_buf_clear(tmp);
    }
    if (r->nparts && r->parts[r->nparts - 1].kind == PT_CALL)
        return;

    ge_part_t *p = &r->parts[r->nparts++];
    p->kind = PT_TEXT;
    sy_str_t mime = sy_json_str(field(g, "responseMimeType", "response_mime_type"));
    if (sy_str_eq_c(mime, "application/json")) {
        const sy_json_t *schema = field(g, "responseJsonSchema", "response_json_schema");
        if (schema == NULL)
            schema = lower_types(a, field(g, "responseSchema", "response_schema"), 0);
        sy_buf_clear(tmp);
        sy_json_writer_t w;
        sy_json_writer_init(&w, tmp, 0);
        sy_sim_gen_json(call->seed, schema, &w);
        sy_json_write_finish(&w);
        sy_sim_text_fixed(&p->text, sy_str_dup(a, sy_buf_str(tmp)));
        sy_buf_clear(tmp);
    } else {
        sy_str_t stops[GE_MAX_STOPS];
        size_t nstops = 0;
        const sy_json_t *ss = field(g, "stopSequences", "stop_sequences");
        for (size_t k = 0; k < sy_json_len(ss) && nstops < GE_MAX_STOPS; k++)
            stops[nstops++] = sy_json_str(sy_json_index(ss, k));
        sy_sim_text_words(&p->text, call->seed, call->bhv.output_tokens, stops, nstops, NULL, tmp);
        sy_buf_clear(tmp);
    }
    if (p->text.ntokens > room) {
        p->text.ntokens = (uint32_t)room;
        p->text.clip = 0;
        r->finish = "MAX_TOKENS";
    }
    r->output_tokens += sy_sim_text_count(&p->text);
}

/* ------------------------------------------------------------ writing --- */

static void write_usage(sy_json_writer_t *w, const ge_resp_t *r, uint32_t out, uint32_t thoughts,
                        bool final)
{
    sy_json_write_key_lit(w, "usageMetadata");
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "promptTokenCount");
    sy_json_write_u64(w, r->input_tokens);
    /* 2.0 reports candidates only at the end; later models once there are some. */
    bool cand = final || (r->gen >= 25 && out > 0);
    if (cand) {
        sy_json_write_key_lit(w, "candidatesTokenCount");
        sy_json_write_u64(w, out);
    }
    sy_json_write_key_lit(w, "totalTokenCount");
    sy_json_write_u64(w, (uint64_t)r->input_tokens + (cand ? out : 0) + thoughts);
    sy_json_write_key_lit(w, "promptTokensDetails");
    sy_json_write_begin_array(w);
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "modality");
    sy_json_write_string_lit(w, "TEXT");
    sy_json_write_key_lit(w, "tokenCount");
    sy_json_write_u64(w, r->input_tokens);
    sy_json_write_end_object(w);
    sy_json_write_end_array(w);
    if (final && r->gen < 25) {
        sy_json_write_key_lit(w, "candidatesTokensDetails");
        sy_json_write_begin_array(w);
        sy_json_write_begin_object(w);
        sy_json_write_key_lit(w, "modality");
        sy_json_write_string_lit(w, "TEXT");
        sy_json_write_key_lit(w, "tokenCount");
        sy_json_write_u64(w, out);
        sy_json_write_end_object(w);
        sy_json_write_end_array(w);
    }
    if (r->thinking) {
        sy_json_write_key_lit(w, "thoughtsTokenCount");
        sy_json_write_u64(w, thoughts);
    }
    if (r->gen >= 25) {
        sy_json_write_key_lit(w, "serviceTier");
        sy_json_write_string_lit(w, "standard");
    }
    sy_json_write_end_object(w);
}

/* {"candidates":[{"content":{"parts":[  -- the caller writes the parts */
static void response_begin(sy_json_writer_t *w)
{
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "candidates");
    sy_json_write_begin_array(w);
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "content");
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "parts");
    sy_json_write_begin_array(w);
}

/* ],"role":"model"}, finishReason, index, ...}], usage, modelVersion, responseId} */
static void response_end(sy_sim_call_t *call, const ge_resp_t *r, sy_json_writer_t *w, bool final,
                         bool whole, uint32_t out, uint32_t thoughts)
{
    sy_json_write_end_array(w);
    sy_json_write_key_lit(w, "role");
    sy_json_write_string_lit(w, "model");
    sy_json_write_end_object(w);
    if (final) {
        sy_json_write_key_lit(w, "finishReason");
        sy_json_write_string(w, sy_str_c(r->finish));
    }
    if (r->gen >= 25) {
        sy_json_write_key_lit(w, "index");
        sy_json_write_u64(w, 0);
    }
    if (whole && r->gen < 25) {
        /* A small negative number, as the 2.0 bodies carry. */
        sy_json_write_key_lit(w, "avgLogprobs");
        sy_json_write_double(w, -(double)(1 + sy_sim_rand(call->seed, 77, 900)) / 10000.0);
    }
    if (whole && r->gen >= 30 && r->nparts && r->parts[r->nparts - 1].kind == PT_CALL) {
        sy_json_write_key_lit(w, "finishMessage");
        sy_json_write_string_lit(w, "Model generated function call(s).");
    }
    sy_json_write_end_object(w);
    sy_json_write_end_array(w);
    write_usage(w, r, out, thoughts, final);
    sy_json_write_key_lit(w, "modelVersion");
    sy_json_write_string(w, call->model->version);
    sy_json_write_key_lit(w, "responseId");
    sy_json_write_string(w, r->response_id);
    sy_json_write_end_object(w);
}

static void write_call_part(sy_json_writer_t *w, const ge_part_t *p, sy_str_t signature)
{
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "functionCall");
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "name");
    sy_json_write_string(w, p->name);
    sy_json_write_key_lit(w, "args");
    sy_json_write_raw(w, p->args);
    sy_json_write_end_object(w);
    if (signature.p) {
        sy_json_write_key_lit(w, "thoughtSignature");
        sy_json_write_string(w, signature);
    }
    sy_json_write_end_object(w);
}

static void write_text_part(sy_json_writer_t *w, sy_str_t text, bool thought, sy_str_t signature)
{
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "text");
    sy_json_write_string(w, text);
    if (thought) {
        sy_json_write_key_lit(w, "thought");
        sy_json_write_bool(w, true);
    }
    if (signature.p) {
        sy_json_write_key_lit(w, "thoughtSignature");
        sy_json_write_string(w, signature);
    }
    sy_json_write_end_object(w);
}

static void respond_whole(sy_sim_call_t *call, ge_resp_t *r)
{
    sy_buf_t *out = &call->w->scratch, *tmp = &call->w->scratch2;
    sy_buf_clear(out);
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    response_begin(&w);
    bool first_call = true;
    for (uint32_t i = 0; i < r->nparts; i++) {
        ge_part_t *p = &r->parts[i];
        if (p->kind == PT_CALL) {
            write_call_part(&w, p, first_call && r->thinking ? r->signature : SY_STR_NULL);
            first_call = false;
            continue;
        }
        sy_buf_clear(tmp);
        sy_sim_text_all(&p->text, tmp);
        bool last_text = p->kind == PT_TEXT && i + 1 == r->nparts;
        bool sign = p->kind == PT_TEXT && ((last_text && r->gen >= 30) ||
                                           (r->gen == 25 && r->show_thoughts));
        write_text_part(&w, sy_buf_str(tmp), p->kind == PT_THOUGHT, sign ? r->signature : SY_STR_NULL);
        sy_buf_clear(tmp);
    }
    response_end(call, r, &w, true, true, r->output_tokens, r->thought_tokens);
    if (sy_json_write_finish(&w) != SY_OK) {
        sy_sim_respond_error(call, 500, "response too large");
        return;
    }
    sy_sim_respond_json(call, 200, "application/json; charset=UTF-8", sy_buf_ptr(out), out->len,
                        r->output_tokens + (r->show_thoughts ? r->thought_tokens : 0));
    sy_buf_clear(out);
}

/* One chunk: a whole GenerateContentResponse. */
static uint32_t ge_next(sy_sim_call_t *call, sy_buf_t *out, bool *last)
{
    ge_resp_t *r = call->fstate;
    sy_buf_t *tmp = &call->w->scratch2;
    if (r->sse)
        sy_buf_append_c(out, "data: ");
    else
        sy_buf_append_c(out, r->chunks ? ",\r\n" : "[");
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    response_begin(&w);
    uint32_t cost = 0;
    ge_part_t *p = r->pi < r->nparts ? &r->parts[r->pi] : NULL;
    if (p == NULL) {
        /* gemini-3's closing chunk: an empty text part, with the signature
         * unless a function call already carried it. */
        bool calls = r->nparts && r->parts[r->nparts - 1].kind == PT_CALL;
        write_text_part(&w, SY_STR(""), false, r->gen >= 30 && !calls ? r->signature : SY_STR_NULL);
        r->closing = false;
    } else if (p->kind == PT_CALL) {
        /* Function calls arrive whole, the parallel ones in one chunk. */
        bool first = true;
        while (r->pi < r->nparts && r->parts[r->pi].kind == PT_CALL) {
            ge_part_t *c = &r->parts[r->pi++];
            write_call_part(&w, c, first && r->thinking ? r->signature : SY_STR_NULL);
            first = false;
            cost += (uint32_t)sy_sim_tokens(c->name) + sy_sim_text_count(&c->text);
        }
        r->sent_out += cost;
    } else {
        /* Gemini streams text in larger pieces than other providers. */
        sy_buf_clear(tmp);
        cost = sy_sim_text_take(&p->text, 3 + (uint32_t)sy_sim_rand(call->seed, r->chunks, 8), tmp);
        if (p->kind == PT_THOUGHT)
            r->sent_thought += cost;
        else
            r->sent_out += cost;
        if (sy_sim_text_done(&p->text))
            r->pi++;
        /* 2.5 signs the first answer chunk after shown thoughts. */
        bool sign = p->kind == PT_TEXT && r->gen == 25 && r->show_thoughts && !r->signed_text;
        if (sign)
            r->signed_text = true;
        write_text_part(&w, sy_buf_str(tmp), p->kind == PT_THOUGHT, sign ? r->signature : SY_STR_NULL);
        sy_buf_clear(tmp);
    }
    bool final = r->pi >= r->nparts && !r->closing;
    if (r->pi >= r->nparts && r->gen >= 30 && p != NULL) {
        /* More to come: the closing chunk carries finishReason. */
        r->closing = true;
        final = false;
    }
    uint32_t thoughts = r->show_thoughts ? r->sent_thought : r->thought_tokens;
    response_end(call, r, &w, final, false, r->sent_out, thoughts);
    sy_json_write_finish(&w);
    r->chunks++;
    if (r->sse) {
        sy_buf_append_c(out, "\r\n\r\n");
    } else if (final) {
        sy_buf_append_c(out, "]");
    }
    *last = final;
    return cost;
}

static void ge_stream_error(sy_sim_call_t *call, int status, sy_buf_t *out)
{
    ge_resp_t *r = call->fstate;
    /* What Google sends when a stream fails after it started (the Vertex
     * recording): the error object itself, pretty-printed, after the last
     * event; inside the array for the non-SSE form. */
    if (!r->sse)
        sy_buf_append_c(out, r->chunks ? ",\r\n" : "[");
    write_error(call, status, canned_message(status, "Internal error"), out);
    if (!r->sse)
        sy_buf_append_c(out, "]");
}

static void ge_stream_malformed(sy_sim_call_t *call, sy_buf_t *out)
{
    ge_resp_t *r = call->fstate;
    if (r->sse)
        sy_buf_append_c(out, "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \r\n\r\n");
    else
        sy_buf_append_c(out, r->chunks ? ",\r\n{\"candidates\": [{\"content\": " : "[{\"candidates\": [");
    r->chunks++;
}

static const sy_sim_stream_ops_t ge_sse_ops = {
    .content_type = "text/event-stream",
    .next = ge_next,
    .error_event = ge_stream_error,
    .malformed_event = ge_stream_malformed,
};

static const sy_sim_stream_ops_t ge_array_ops = {
    .content_type = "application/json; charset=UTF-8",
    .next = ge_next,
    .error_event = ge_stream_error,
    .malformed_event = ge_stream_malformed,
};

/* ----------------------------------------------------------- endpoints --- */

/* Validate the request body of generateContent (or the generateContentRequest
 * inside countTokens). */
static bool check_request(sy_sim_call_t *call, const sy_json_t *body, ge_req_t *r)
{
    if (!check_keys(call, body, request_keys, NULL))
        return false;
    r->contents = sy_json_get(body, "contents");
    r->system = field(body, "systemInstruction", "system_instruction");
    r->tools = sy_json_get(body, "tools");
    r->gencfg = field(body, "generationConfig", "generation_config");
    if (!check_contents(call, r))
        return false;
    if (r->system && r->system->type != SY_JSON_NULL) {
        if (r->system->type != SY_JSON_OBJECT)
            return BAD("Invalid value at 'system_instruction' (type.googleapis.com/google.ai."
                       "generativelanguage.v1beta.Content)");
        if (!check_parts(call, sy_json_get(r->system, "parts"), "system_instruction"))
            return false;
    }
    if (!check_tools(call, r) || !check_generation_config(call, r) ||
        !check_tool_config(call, field(body, "toolConfig", "tool_config")))
        return false;
    r->input_tokens = (uint32_t)(sy_sim_tokens_json(r->contents) + sy_sim_tokens_json(r->system) +
                                 sy_sim_tokens_json(r->tools));
    if (r->model->context_window && r->input_tokens > r->model->context_window)
        return BAD("The input token count (%u) exceeds the maximum number of tokens allowed (%u).",
                   r->input_tokens, r->model->context_window);
    return true;
}

static bool model_missing(sy_sim_call_t *call, sy_str_t model, sy_str_t version, const char *method)
{
    return ge_fail(call, 404,
                   sy_arena_sprintf(call->req->arena,
                                    "models/%.*s is not found for API version %.*s, or is not "
                                    "supported for %s. Call ListModels to see the list of "
                                    "available models and their supported methods.",
                                    (int)SY_MIN(model.len, (size_t)200), model.p,
                                    SY_STR_FMT(version), method));
}

static void ge_generate(sy_sim_call_t *call, sy_str_t model_name, sy_str_t version, bool stream)
{
    ge_req_t q;
    memset(&q, 0, sizeof(q));
    q.model = sy_sim_model_find(call->sim, model_name, SY_SIM_FAMILY_GEMINI);
    if (q.model == NULL || q.model->kind != SY_SIM_KIND_CHAT) {
        model_missing(call, model_name, version, "generateContent");
        return;
    }
    if (!check_request(call, call->body, &q))
        return;
    call->stream = stream;
    if (sy_sim_prepare(call, q.model) != SY_OK)
        return;
    sy_arena_t *a = call->req->arena;
    ge_resp_t *r = sy_arena_calloc(a, sizeof(*r));
    call->fstate = r;
    r->input_tokens = q.input_tokens;
    sy_buf_t *tmp = &call->w->scratch2;
    sy_buf_clear(tmp);
    sy_sim_id(call, "", 23, 11, tmp);
    r->response_id = sy_str_dup(a, sy_buf_str(tmp));
    sy_buf_clear(tmp);
    plan(call, r, &q);
    if (!stream) {
        respond_whole(call, r);
        return;
    }
    r->sse = sy_str_eq_c(sy_sim_query(call, "alt"), "sse");
    sy_sim_stream(call, r->sse ? &ge_sse_ops : &ge_array_ops);
}

static void ge_count_tokens(sy_sim_call_t *call, sy_str_t model_name, sy_str_t version)
{
    ge_req_t q;
    memset(&q, 0, sizeof(q));
    q.model = sy_sim_model_find(call->sim, model_name, SY_SIM_FAMILY_GEMINI);
    if (q.model == NULL) {
        model_missing(call, model_name, version, "countTokens");
        return;
    }
    const sy_json_t *inner = field(call->body, "generateContentRequest", "generate_content_request");
    static const char *const ct_keys[] = {"contents", "generateContentRequest|generate_content_request",
                                          NULL};
    if (!check_keys(call, call->body, ct_keys, NULL))
        return;
    if (inner) {
        if (!check_request(call, inner, &q))
            return;
    } else {
        q.contents = sy_json_get(call->body, "contents");
        if (!check_contents(call, &q))
            return;
        q.input_tokens = (uint32_t)sy_sim_tokens_json(q.contents);
    }
    char body[160];
    int n = snprintf(body, sizeof(body),
                     "{\n  \"totalTokens\": %u,\n  \"promptTokensDetails\": [\n    {\n      "
                     "\"modality\": \"TEXT\",\n      \"tokenCount\": %u\n    }\n  ]\n}\n",
                     q.input_tokens, q.input_tokens);
    sy_http_respond(call->req, 200, "application/json; charset=UTF-8", body, (size_t)n);
}

static void write_model(sy_json_writer_t *w, const sy_sim_model_t *m)
{
    sy_json_write_begin_object(w);
    sy_json_write_key_lit(w, "name");
    char name[300];
    int n = snprintf(name, sizeof(name), "models/%.*s", (int)SY_MIN(m->name.len, (size_t)280), m->name.p);
    sy_json_write_string(w, sy_str(name, (size_t)n));
    sy_json_write_key_lit(w, "version");
    sy_json_write_string_lit(w, "001");
    sy_json_write_key_lit(w, "displayName");
    sy_json_write_string(w, m->name);
    sy_json_write_key_lit(w, "inputTokenLimit");
    sy_json_write_u64(w, m->context_window);
    sy_json_write_key_lit(w, "outputTokenLimit");
    sy_json_write_u64(w, m->kind == SY_SIM_KIND_CHAT ? m->max_output : 1);
    sy_json_write_key_lit(w, "supportedGenerationMethods");
    sy_json_write_raw(w, m->kind == SY_SIM_KIND_CHAT
                             ? SY_STR("[\"generateContent\",\"countTokens\"]")
                             : SY_STR("[\"embedContent\"]"));
    bool thinks = generation(m->version) >= 25 && m->kind == SY_SIM_KIND_CHAT;
    if (thinks) {
        sy_json_write_key_lit(w, "thinking");
        sy_json_write_bool(w, true);
    }
    sy_json_write_end_object(w);
}

static void ge_models(sy_sim_call_t *call, sy_str_t one, sy_str_t version)
{
    sy_buf_t *b = &call->w->scratch;
    sy_buf_clear(b);
    sy_json_writer_t w;
    sy_json_writer_init(&w, b, 0);
    if (one.p) {
        const sy_sim_model_t *m = sy_sim_model_find(call->sim, one, SY_SIM_FAMILY_GEMINI);
        if (m == NULL || (m->family != SY_SIM_FAMILY_GEMINI && m->family != SY_SIM_FAMILY_ANY)) {
            model_missing(call, one, version, "GetModel");
            return;
        }
        write_model(&w, m);
    } else {
        sy_json_write_begin_object(&w);
        sy_json_write_key_lit(&w, "models");
        sy_json_write_begin_array(&w);
        const sy_sim_config_t *c = call->sim->cfg;
        for (size_t i = 0; i < c->nmodels; i++)
            if (c->models[i].family == SY_SIM_FAMILY_GEMINI || c->models[i].family == SY_SIM_FAMILY_ANY)
                write_model(&w, &c->models[i]);
        sy_json_write_end_array(&w);
        sy_json_write_end_object(&w);
    }
    sy_json_write_finish(&w);
    sy_http_respond(call->req, 200, "application/json; charset=UTF-8", sy_buf_ptr(b), b->len);
    sy_buf_clear(b);
}

/* x-goog-api-key, or ?key= (the query value, percent-encoding left as is:
 * keys are URL-safe). */
static bool ge_auth(sy_sim_call_t *call)
{
    sy_str_t key = sy_sim_header(call, "x-goog-api-key");
    if (key.p == NULL)
        key = sy_sim_query(call, "key");
    if (key.len == 0)
        return ge_fail(call, 403,
                       "Method doesn't allow unregistered callers (callers without established "
                       "identity). Please use API Key or other form of API consumer identity to "
                       "call this API.");
    if (!sy_sim_key_ok(call->sim, key))
        return ge_fail(call, 400, "API key not valid. Please pass a valid API key.");
    return true;
}

static bool ge_handle(sy_sim_call_t *call)
{
    sy_str_t path = call->req->head.path, m = call->req->head.method;
    sy_str_t version, rest;
    if (sy_str_starts_with(path, SY_STR("/v1beta/models"))) {
        version = SY_STR("v1beta");
        rest = sy_str_sub(path, 14, path.len);
    } else if (sy_str_starts_with(path, SY_STR("/v1/models/")) &&
               (sy_str_ends_with(path, SY_STR(":generateContent")) ||
                sy_str_ends_with(path, SY_STR(":streamGenerateContent")) ||
                sy_str_ends_with(path, SY_STR(":countTokens")))) {
        /* /v1/models (no method) is OpenAI's; only Gemini's methods here. */
        version = SY_STR("v1");
        rest = sy_str_sub(path, 10, path.len);
    } else {
        return false;
    }
    sy_sim_claim(call, &sy_sim_family_gemini);
    /* rest: "" (list), "/NAME" (get), "/NAME:METHOD" */
    sy_str_t name = SY_STR_NULL, method = SY_STR_NULL;
    if (rest.len > 1 && rest.p[0] == '/') {
        name = sy_str_sub(rest, 1, rest.len);
        ptrdiff_t colon = -1;
        for (size_t i = name.len; i-- > 0;)
            if (name.p[i] == ':') {
                colon = (ptrdiff_t)i;
                break;
            }
        if (colon >= 0) {
            method = sy_str_sub(name, (size_t)colon + 1, name.len);
            name = sy_str_sub(name, 0, (size_t)colon);
        }
    } else if (rest.len > 0) {
        ge_fail(call, 404, "Requested entity was not found.");
        return true;
    }
    bool post = sy_str_eq_c(m, "POST");
    bool get = sy_str_eq_c(m, "GET") || sy_str_eq_c(m, "HEAD");
    if (method.p == NULL) {
        if (!get) {
            ge_fail(call, 405, "Method Not Allowed");
            return true;
        }
        if (!ge_auth(call))
            return true;
        ge_models(call, name, version);
        return true;
    }
    bool gen = sy_str_eq_c(method, "generateContent");
    bool sgen = sy_str_eq_c(method, "streamGenerateContent");
    bool count = sy_str_eq_c(method, "countTokens");
    if (!gen && !sgen && !count) {
        ge_fail(call, 404, "Requested entity was not found.");
        return true;
    }
    if (!post) {
        ge_fail(call, 405, "Method Not Allowed");
        return true;
    }
    if (!ge_auth(call))
        return true;
    sy_str_t ct = sy_sim_header(call, "content-type");
    ptrdiff_t semi = sy_str_find_char(ct, ';');
    sy_str_t mime = sy_str_trim(semi >= 0 ? sy_str_sub(ct, 0, (size_t)semi) : ct);
    if (ct.p && !sy_str_ieq_c(mime, "application/json")) {
        ge_fail(call, 400,
                sy_arena_sprintf(call->req->arena,
                                 "Invalid JSON payload received. Unexpected Content-Type: %.*s",
                                 (int)SY_MIN(ct.len, (size_t)100), ct.p));
        return true;
    }
    const char *why;
    if (sy_sim_parse_body(call, &why) != SY_OK || call->body->type != SY_JSON_OBJECT) {
        ge_fail(call, 400,
                call->req->body.len ? "Invalid JSON payload received. Unexpected token."
                                    : "* GenerateContentRequest.contents: contents is not "
                                      "specified\n");
        return true;
    }
    if (count)
        ge_count_tokens(call, name, version);
    else
        ge_generate(call, name, version, sgen);
    return true;
}

const sy_sim_family_t sy_sim_family_gemini = {
    .name = "gemini",
    .id = SY_SIM_FAMILY_GEMINI,
    .handle = ge_handle,
    .error_body = ge_error_body,
};
