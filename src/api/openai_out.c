/*
 * openai_out.c - the OpenAI front door's output side: chat.completion
 * bodies, chat.completion.chunk streams, error bodies; embeddings and the
 * model list.
 *
 * Stream mapping (docs/internals/translation.md):
 *   START          first chunk, delta {"role":"assistant","content":"","refusal":null}
 *   TEXT           delta {"content": text}
 *   THINKING       delta {"reasoning_content": text} (DeepSeek's field, which
 *                  most OpenAI-compatible clients read); signatures and
 *                  redacted thinking have no OpenAI form and are dropped
 *   BLOCK_START of a tool call
 *                  delta {"tool_calls":[{"index":N,"id","type":"function",
 *                  "function":{"name","arguments":""}}]}, N the ordinal of the
 *                  block among the response's tool-call blocks (0, 1, ...),
 *                  not the IR block index (text and thinking blocks count
 *                  there, OpenAI clients index tool calls alone)
 *   TOOL_ARGS      delta {"tool_calls":[{"index":N,"function":{"arguments"}}]}
 *   FINISH         delta {} with finish_reason
 *   USAGE          remembered; the usage chunk (choices:[]) is written at END
 *                  only when the client asked stream_options.include_usage,
 *                  and then every chunk carries "usage":null as OpenAI's do
 *   END            data: [DONE]
 *   ERROR          data: {"error":{...}} (the openai SDKs throw APIError on
 *                  a chunk with an "error" member), then data: [DONE]
 */
#include "api/openai.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/frontdoors.h"
#include "core/fmt.h"

#define KEY(w, k) sy_json_write_key_lit((w), k) /* a literal: no escaping */

/* ------------------------------------------------------------- errors --- */

static const char *type_for_status(int status)
{
    switch (status) {
    case 401:
        return "authentication_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 409:
        return "conflict_error";
    case 429:
        return "rate_limit_error";
    case 500:
        return "server_error";
    default:
        return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

/* The quoted parameter after `prefix` at the start of message, if any. */
static bool quoted_after(sy_str_t m, const char *prefix, sy_str_t *param)
{
    sy_str_t pre = sy_str_c(prefix);
    if (!sy_str_starts_with(m, pre))
        return false;
    sy_str_t rest = sy_str_sub(m, pre.len, m.len);
    ptrdiff_t q = sy_str_find_char(rest, '\'');
    if (q < 0)
        return false;
    *param = sy_str_sub(rest, 0, (size_t)q);
    return param->len > 0;
}

/*
 * OpenAI's error.param and error.code, read back from the wording the
 * parser (api/openai.c) and OpenAI itself use:
 *   Missing required parameter: 'X'.  -> X, missing_required_parameter
 *   Invalid type for 'X': ...         -> X, invalid_type
 *   Invalid value for 'X': ...        -> X, invalid_value
 *   Unsupported parameter: 'X' ...    -> X, unsupported_parameter
 *   Invalid 'X': empty array. ...     -> X, empty_array (and the other
 *                                        range phrases below)
 * Errors the gateway makes itself (limits, budgets, unknown models) and
 * upstream failures pass their code to error_body explicitly.
 */
static void param_and_code(sy_str_t m, sy_str_t *param, const char **code)
{
    static const struct {
        const char *phrase, *code;
    } phrases[] = {
        {"empty array", "empty_array"},
        {"decimal below minimum value", "decimal_below_min_value"},
        {"decimal above maximum value", "decimal_above_max_value"},
        {"integer below minimum value", "integer_below_min_value"},
        {"integer above maximum value", "integer_above_max_value"},
        {"array too long", "array_above_max_length"},
        {"string does not match pattern", "invalid_value"},
    };
    *param = SY_STR_NULL;
    *code = NULL;
    if (quoted_after(m, "Missing required parameter: '", param))
        *code = "missing_required_parameter";
    else if (quoted_after(m, "Invalid type for '", param))
        *code = "invalid_type";
    else if (quoted_after(m, "Invalid value for '", param))
        *code = "invalid_value";
    else if (quoted_after(m, "Unsupported parameter: '", param))
        *code = "unsupported_parameter";
    else if (quoted_after(m, "Invalid '", param)) {
        for (size_t i = 0; i < SY_ARRAY_LEN(phrases) && *code == NULL; i++)
            if (sy_str_find(m, sy_str_c(phrases[i].phrase)) >= 0)
                *code = phrases[i].code;
    }
}

static void write_error_object(sy_json_writer_t *w, int status, const char *type, sy_str_t message,
                               sy_str_t code_override)
{
    sy_str_t param;
    const char *code;
    param_and_code(message, &param, &code);
    sy_json_write_begin_object(w);
    KEY(w, "message");
    sy_json_write_string(w, message);
    KEY(w, "type");
    sy_json_write_string(w, sy_str_c(type ? type : type_for_status(status)));
    KEY(w, "param");
    if (param.len)
        sy_json_write_string(w, param);
    else
        sy_json_write_null(w);
    KEY(w, "code");
    if (code_override.len)
        sy_json_write_string(w, code_override);
    else if (code)
        sy_json_write_string(w, sy_str_c(code));
    else
        sy_json_write_null(w);
    sy_json_write_end_object(w);
}

void sy_openai_fd_error_body(int status, const char *type, const char *code, const char *message,
                             sy_buf_t *out)
{
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    sy_json_write_begin_object(&w);
    KEY(&w, "error");
    write_error_object(&w, status, type, sy_str_c(message ? message : ""),
                       code ? sy_str_c(code) : SY_STR_NULL);
    sy_json_write_end_object(&w);
    sy_json_write_finish(&w);
}

/* ---------------------------------------------------- whole responses --- */

static const char *finish_reason(sy_ir_finish_t f)
{
    switch (f) {
    case SY_IR_FINISH_LENGTH:
        return "length";
    case SY_IR_FINISH_TOOL_CALLS:
        return "tool_calls";
    case SY_IR_FINISH_CONTENT_FILTER:
        return "content_filter";
    default:
        return "stop"; /* stop, stop_sequence, refusal (the text is in "refusal"), error */
    }
}

/* An id for a response whose provider gave none: the gateway's request id
 * made into a completion id (sy_frontdoor_response_id). Only a request
 * without one (a caller outside the gateway) gets a process-wide counter
 * and the clock. */
static sy_str_t make_id(sy_arena_t *a, const sy_ir_request_t *req)
{
    if (req && req->request_id.len)
        return sy_frontdoor_response_id(a, "chatcmpl-", req->request_id);
    static atomic_uint_fast64_t counter;
    uint64_t n = atomic_fetch_add(&counter, 1);
    return sy_str_c(sy_arena_sprintf(a, "chatcmpl-sy%llx%06llx", (unsigned long long)time(NULL),
                                     (unsigned long long)(n & 0xffffff)));
}

/* The usage object, OpenAI's fixed shape with five counts: written as one
 * piece of text (its member names are literals and its values integers),
 * not member by member through the writer. */
static void write_usage(sy_json_writer_t *w, const sy_ir_usage_t *u)
{
    /* (lengths known at compile time: no strlen per piece) */
    static const sy_str_t piece[] = {
        SY_STR("{\"prompt_tokens\":"), SY_STR(",\"completion_tokens\":"), SY_STR(",\"total_tokens\":"),
        SY_STR(",\"prompt_tokens_details\":{\"cached_tokens\":"),
        SY_STR(",\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":"),
        SY_STR(",\"audio_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}"),
    };
    const uint64_t num[] = {u->input, u->output, u->input + u->output, u->cached_input,
                            u->reasoning};
    char text[384]; /* the pieces (244 bytes) and five numbers of at most 20 digits */
    size_t n = 0;
    for (size_t i = 0; i < SY_ARRAY_LEN(piece); i++) {
        memcpy(text + n, piece[i].p, piece[i].len);
        n += piece[i].len;
        if (i < SY_ARRAY_LEN(num))
            n += sy_fmt_u64(text + n, num[i]);
    }
    sy_json_write_raw(w, sy_str(text, n));
}

/* The concatenated text of the parts of one kind, or an empty view. */
static sy_str_t joined(sy_arena_t *a, const sy_ir_response_t *r, sy_ir_part_kind_t kind)
{
    size_t n = 0, count = 0;
    const sy_ir_part_t *only = NULL;
    for (size_t i = 0; i < r->nparts; i++)
        if (r->parts[i].kind == kind) {
            n += r->parts[i].text.len;
            count++;
            only = &r->parts[i];
        }
    if (count <= 1)
        return only ? only->text : SY_STR("");
    char *buf = sy_arena_alloc(a, n + 1), *p = buf;
    for (size_t i = 0; i < r->nparts; i++)
        if (r->parts[i].kind == kind && r->parts[i].text.len) {
            memcpy(p, r->parts[i].text.p, r->parts[i].text.len);
            p += r->parts[i].text.len;
        }
    return sy_str(buf, n);
}

int sy_openai_fd_respond(sy_arena_t *a, const sy_ir_request_t *req, const sy_ir_response_t *resp,
                         sy_buf_t *out)
{
    sy_str_t text = joined(a, resp, SY_IR_TEXT);
    sy_str_t thinking = joined(a, resp, SY_IR_THINKING);
    size_t ncalls = 0;
    for (size_t i = 0; i < resp->nparts; i++)
        if (resp->parts[i].kind == SY_IR_TOOL_CALL)
            ncalls++;
    bool refusal = resp->finish == SY_IR_FINISH_REFUSAL;

    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    sy_json_write_begin_object(&w);
    KEY(&w, "id");
    sy_json_write_string(&w, resp->id.len ? resp->id : make_id(a, req));
    KEY(&w, "object");
    sy_json_write_string_lit(&w, "chat.completion");
    KEY(&w, "created");
    sy_json_write_i64(&w, resp->created ? resp->created : (int64_t)time(NULL));
    KEY(&w, "model");
    sy_json_write_string(&w, req->model);
    KEY(&w, "choices");
    sy_json_write_begin_array(&w);
    sy_json_write_begin_object(&w);
    KEY(&w, "index");
    sy_json_write_i64(&w, 0);
    KEY(&w, "message");
    sy_json_write_begin_object(&w);
    KEY(&w, "role");
    sy_json_write_string_lit(&w, "assistant");
    KEY(&w, "content");
    if (refusal || (text.len == 0 && ncalls))
        sy_json_write_null(&w);
    else
        sy_json_write_string(&w, text);
    KEY(&w, "refusal");
    if (refusal)
        sy_json_write_string(&w, text);
    else
        sy_json_write_null(&w);
    if (thinking.len) {
        KEY(&w, "reasoning_content");
        sy_json_write_string(&w, thinking);
    }
    if (ncalls) {
        KEY(&w, "tool_calls");
        sy_json_write_begin_array(&w);
        for (size_t i = 0; i < resp->nparts; i++) {
            const sy_ir_part_t *p = &resp->parts[i];
            if (p->kind != SY_IR_TOOL_CALL)
                continue;
            sy_json_write_begin_object(&w);
            KEY(&w, "id");
            sy_json_write_string(&w, p->call_id);
            KEY(&w, "type");
            sy_json_write_string_lit(&w, "function");
            KEY(&w, "function");
            sy_json_write_begin_object(&w);
            KEY(&w, "name");
            sy_json_write_string(&w, p->name);
            KEY(&w, "arguments");
            sy_json_write_string(&w, p->arguments.len ? p->arguments : SY_STR("{}"));
            sy_json_write_end_object(&w);
            sy_json_write_end_object(&w);
        }
        sy_json_write_end_array(&w);
    }
    KEY(&w, "annotations");
    sy_json_write_begin_array(&w);
    sy_json_write_end_array(&w);
    sy_json_write_end_object(&w);
    KEY(&w, "logprobs");
    sy_json_write_null(&w);
    KEY(&w, "finish_reason");
    sy_json_write_string(&w, sy_str_c(finish_reason(resp->finish)));
    sy_json_write_end_object(&w);
    sy_json_write_end_array(&w);
    KEY(&w, "usage");
    write_usage(&w, &resp->usage);
    KEY(&w, "service_tier");
    sy_json_write_string_lit(&w, "default");
    KEY(&w, "system_fingerprint");
    sy_json_write_null(&w);
    sy_json_write_end_object(&w);
    return sy_json_write_finish(&w);
}

/* ------------------------------------------------------------ streams --- */

typedef struct {
    sy_arena_t *a;
    const sy_ir_request_t *req;
    sy_str_t id; /* arena copy */
    int64_t created;
    bool started;
    uint32_t ntools;  /* tool-call blocks opened so far */
    uint32_t cur_tool; /* ordinal of the open tool-call block */
    sy_ir_usage_t usage;
} fdstream_t;

void *sy_openai_fd_stream_new(sy_arena_t *a, const sy_ir_request_t *req)
{
    fdstream_t *st = sy_arena_calloc(a, sizeof(*st));
    st->a = a;
    st->req = req;
    st->created = (int64_t)time(NULL);
    return st;
}

/* "data: {chunk head ... "choices":[" : the caller writes the choices. */
static void chunk_begin(fdstream_t *st, sy_json_writer_t *w)
{
    sy_json_write_begin_object(w);
    KEY(w, "id");
    sy_json_write_string(w, st->id);
    KEY(w, "object");
    sy_json_write_string_lit(w, "chat.completion.chunk");
    KEY(w, "created");
    sy_json_write_i64(w, st->created);
    KEY(w, "model");
    sy_json_write_string(w, st->req->model);
    KEY(w, "system_fingerprint");
    sy_json_write_null(w);
    KEY(w, "choices");
    sy_json_write_begin_array(w);
}

static void chunk_end(fdstream_t *st, sy_json_writer_t *w)
{
    sy_json_write_end_array(w);
    if (st->req->include_usage) {
        KEY(w, "usage");
        sy_json_write_null(w);
    }
    sy_json_write_end_object(w);
}

/* choices[0] with its delta opened: the caller writes delta members. */
static void choice_begin(sy_json_writer_t *w)
{
    sy_json_write_begin_object(w);
    KEY(w, "index");
    sy_json_write_i64(w, 0);
    KEY(w, "delta");
    sy_json_write_begin_object(w);
}

static void choice_end(sy_json_writer_t *w, const char *finish)
{
    sy_json_write_end_object(w);
    KEY(w, "logprobs");
    sy_json_write_null(w);
    KEY(w, "finish_reason");
    if (finish)
        sy_json_write_string(w, sy_str_c(finish));
    else
        sy_json_write_null(w);
    sy_json_write_end_object(w);
}

/* Frame the JSON written since `mark` as one SSE event, or undo it. */
static int event_end(sy_buf_t *out, size_t mark, sy_json_writer_t *w)
{
    int rc = sy_json_write_finish(w);
    if (rc == SY_OK)
        rc = sy_buf_append(out, "\n\n", 2);
    if (rc != SY_OK)
        out->len = mark;
    return rc;
}

static int event_begin(sy_buf_t *out, sy_json_writer_t *w, size_t *mark)
{
    *mark = out->len;
    int rc = sy_buf_append(out, "data: ", 6);
    sy_json_writer_init(w, out, 0);
    return rc;
}

static void tool_call_delta(sy_json_writer_t *w, uint32_t ordinal, const sy_ir_delta_t *d,
                            bool first)
{
    KEY(w, "tool_calls");
    sy_json_write_begin_array(w);
    sy_json_write_begin_object(w);
    KEY(w, "index");
    sy_json_write_u64(w, ordinal);
    if (first) {
        KEY(w, "id");
        sy_json_write_string(w, d->id);
        KEY(w, "type");
        sy_json_write_string_lit(w, "function");
    }
    KEY(w, "function");
    sy_json_write_begin_object(w);
    if (first) {
        KEY(w, "name");
        sy_json_write_string(w, d->name);
    }
    KEY(w, "arguments");
    sy_json_write_string(w, first ? SY_STR("") : d->text);
    sy_json_write_end_object(w);
    sy_json_write_end_object(w);
    sy_json_write_end_array(w);
}

static int error_event(fdstream_t *st, const sy_ir_delta_t *d, sy_buf_t *out)
{
    size_t mark;
    sy_json_writer_t w;
    if (event_begin(out, &w, &mark) != SY_OK)
        return SY_ETOOBIG;
    sy_json_write_begin_object(&w);
    KEY(&w, "error");
    int status = sy_ir_error_status(d->error.cls);
    /* the upstream's own type when it is one ("server_error"); the code as
     * for a whole response (sy_ir_error_code) */
    sy_str_t up = d->error.type;
    bool is_type = sy_str_ends_with(up, SY_STR("_error"));
    const char *code = sy_ir_error_code(&d->error);
    write_error_object(&w, status, is_type ? sy_str_cdup(st->a, up) : NULL,
                       d->error.message.len ? d->error.message
                                            : SY_STR("the upstream provider failed mid-stream"),
                       code ? sy_str_c(code) : SY_STR_NULL);
    sy_json_write_end_object(&w);
    int rc = event_end(out, mark, &w);
    if (rc == SY_OK)
        rc = sy_buf_append_c(out, "data: [DONE]\n\n");
    return rc;
}

int sy_openai_fd_stream_event(void *vst, const sy_ir_delta_t *d, sy_buf_t *out)
{
    fdstream_t *st = vst;
    size_t mark;
    sy_json_writer_t w;
    switch (d->kind) {
    case SY_IR_DELTA_START:
        st->id = d->id.len ? sy_str_dup(st->a, d->id) : make_id(st->a, st->req);
        st->started = true;
        sy_ir_usage_merge(&st->usage, &d->usage);
        if (event_begin(out, &w, &mark) != SY_OK)
            return SY_ETOOBIG;
        chunk_begin(st, &w);
        choice_begin(&w);
        KEY(&w, "role");
        sy_json_write_string_lit(&w, "assistant");
        KEY(&w, "content");
        sy_json_write_string_lit(&w, "");
        KEY(&w, "refusal");
        sy_json_write_null(&w);
        choice_end(&w, NULL);
        chunk_end(st, &w);
        return event_end(out, mark, &w);
    case SY_IR_DELTA_BLOCK_START:
        if (d->block == SY_IR_TOOL_CALL) {
            st->cur_tool = st->ntools++;
            if (event_begin(out, &w, &mark) != SY_OK)
                return SY_ETOOBIG;
            chunk_begin(st, &w);
            choice_begin(&w);
            tool_call_delta(&w, st->cur_tool, d, true);
            choice_end(&w, NULL);
            chunk_end(st, &w);
            return event_end(out, mark, &w);
        }
        if ((d->block == SY_IR_TEXT || d->block == SY_IR_THINKING) && d->text.len) {
            sy_ir_delta_t t = *d;
            t.kind = d->block == SY_IR_TEXT ? SY_IR_DELTA_TEXT : SY_IR_DELTA_THINKING;
            return sy_openai_fd_stream_event(st, &t, out);
        }
        return SY_OK;
    case SY_IR_DELTA_TEXT:
    case SY_IR_DELTA_THINKING:
    case SY_IR_DELTA_TOOL_ARGS:
        if (d->text.len == 0)
            return SY_OK;
        if (event_begin(out, &w, &mark) != SY_OK)
            return SY_ETOOBIG;
        chunk_begin(st, &w);
        choice_begin(&w);
        if (d->kind == SY_IR_DELTA_TOOL_ARGS)
            tool_call_delta(&w, st->cur_tool, d, false);
        else {
            sy_json_write_key(&w, d->kind == SY_IR_DELTA_TEXT ? SY_STR("content")
                                                              : SY_STR("reasoning_content"));
            sy_json_write_string(&w, d->text);
        }
        choice_end(&w, NULL);
        chunk_end(st, &w);
        return event_end(out, mark, &w);
    case SY_IR_DELTA_SIGNATURE:
    case SY_IR_DELTA_BLOCK_STOP:
        return SY_OK;
    case SY_IR_DELTA_USAGE:
        sy_ir_usage_merge(&st->usage, &d->usage);
        return SY_OK;
    case SY_IR_DELTA_FINISH:
        if (event_begin(out, &w, &mark) != SY_OK)
            return SY_ETOOBIG;
        chunk_begin(st, &w);
        choice_begin(&w);
        choice_end(&w, finish_reason(d->finish));
        chunk_end(st, &w);
        return event_end(out, mark, &w);
    case SY_IR_DELTA_END:
        if (st->req->include_usage) {
            if (event_begin(out, &w, &mark) != SY_OK)
                return SY_ETOOBIG;
            chunk_begin(st, &w);
            sy_json_write_end_array(&w);
            KEY(&w, "usage");
            write_usage(&w, &st->usage);
            sy_json_write_end_object(&w);
            int rc = event_end(out, mark, &w);
            if (rc != SY_OK)
                return rc;
        }
        return sy_buf_append_c(out, "data: [DONE]\n\n");
    case SY_IR_DELTA_ERROR:
        return error_event(st, d, out);
    }
    return SY_OK;
}

/* --------------------------------------------------------- embeddings --- */

static int eerr(sy_arena_t *a, int *status, const char **message, const char *msg)
{
    *status = 400;
    *message = sy_arena_strdup(a, msg);
    return SY_EINVAL;
}

/* Token arrays: every element an integer >= 0. */
static bool token_array(const sy_json_t *v)
{
    if (!sy_json_is(v, SY_JSON_ARRAY) || sy_json_len(v) == 0)
        return false;
    for (size_t i = 0; i < sy_json_len(v); i++) {
        uint64_t t;
        if (sy_json_as_u64(sy_json_index(v, i), &t) != SY_OK)
            return false;
    }
    return true;
}

int sy_openai_embeddings_parse(sy_arena_t *a, sy_str_t body, sy_openai_embeddings_t *out,
                               int *status, const char **message)
{
    memset(out, 0, sizeof(*out));
    sy_json_t *root = NULL;
    if (sy_json_parse(a, body.p ? body.p : "", body.len, NULL, &root, NULL) != SY_OK)
        return eerr(a, status, message,
                    "We could not parse the JSON body of your request. The OpenAI API expects a "
                    "JSON payload, but what was sent was not valid JSON.");
    if (root->type != SY_JSON_OBJECT)
        return eerr(a, status, message, "Invalid type for request body: expected an object.");
    const sy_json_t *model = sy_json_get(root, "model");
    if (!sy_json_is(model, SY_JSON_STRING) || model->u.str.len == 0)
        return eerr(a, status, message,
                    model && model->type != SY_JSON_NULL
                        ? "Invalid type for 'model': expected a string."
                        : "you must provide a model parameter");
    const sy_json_t *input = sy_json_get(root, "input");
    if (input == NULL || input->type == SY_JSON_NULL)
        return eerr(a, status, message, "Missing required parameter: 'input'.");
    uint64_t bytes = 0, tokens = 0;
    if (input->type == SY_JSON_STRING) {
        out->ninputs = 1;
        bytes = input->u.str.len;
    } else if (token_array(input)) {
        out->ninputs = 1;
        tokens = sy_json_len(input);
    } else if (sy_json_is(input, SY_JSON_ARRAY) && sy_json_len(input) > 0) {
        for (size_t i = 0; i < sy_json_len(input); i++) {
            const sy_json_t *e = sy_json_index(input, i);
            if (sy_json_is(e, SY_JSON_STRING))
                bytes += e->u.str.len;
            else if (token_array(e))
                tokens += sy_json_len(e);
            else
                return eerr(a, status, message,
                            "Invalid type for 'input': expected a string, an array of strings, an "
                            "array of integers, or an array of integer arrays.");
        }
        out->ninputs = sy_json_len(input);
    } else {
        return eerr(a, status, message,
                    sy_json_is(input, SY_JSON_ARRAY)
                        ? "Invalid 'input': empty array. Expected an array with minimum length 1, "
                          "but got an empty array instead."
                        : "Invalid type for 'input': expected a string, an array of strings, an "
                          "array of integers, or an array of integer arrays.");
    }
    const sy_json_t *ef = sy_json_get(root, "encoding_format");
    if (ef && ef->type != SY_JSON_NULL &&
        !(sy_json_is(ef, SY_JSON_STRING) &&
          (sy_str_eq_c(ef->u.str, "float") || sy_str_eq_c(ef->u.str, "base64"))))
        return eerr(a, status, message,
                    "Invalid value for 'encoding_format': supported values are: 'float' and "
                    "'base64'.");
    const sy_json_t *dim = sy_json_get(root, "dimensions");
    uint64_t d;
    if (dim && dim->type != SY_JSON_NULL && (sy_json_as_u64(dim, &d) != SY_OK || d == 0))
        return eerr(a, status, message,
                    "Invalid type for 'dimensions': expected a positive integer.");
    const sy_json_t *user = sy_json_get(root, "user");
    if (user && user->type != SY_JSON_NULL && user->type != SY_JSON_STRING)
        return eerr(a, status, message, "Invalid type for 'user': expected a string.");
    out->model = model->u.str;
    out->body = root;
    out->input_tokens = tokens + (bytes + 3) / 4;
    return SY_OK;
}

int sy_openai_embeddings_respond(sy_arena_t *a, sy_str_t body, sy_str_t requested_model,
                                 sy_buf_t *out)
{
    sy_json_t *root = NULL;
    if (sy_json_parse(a, body.p ? body.p : "", body.len, NULL, &root, NULL) != SY_OK ||
        root->type != SY_JSON_OBJECT)
        return SY_EINVAL;
    sy_json_set(a, root, SY_STR("model"), sy_json_new_str(a, requested_model));
    return sy_json_serialize(root, out, 0);
}

/* ------------------------------------------------------------- models --- */

static void model_object(sy_json_writer_t *w, sy_str_t name, int64_t created, const char *owned_by)
{
    sy_json_write_begin_object(w);
    KEY(w, "id");
    sy_json_write_string(w, name);
    KEY(w, "object");
    sy_json_write_string_lit(w, "model");
    KEY(w, "created");
    sy_json_write_i64(w, created);
    KEY(w, "owned_by");
    sy_json_write_string(w, sy_str_c(owned_by ? owned_by : "switchyard"));
    sy_json_write_end_object(w);
}

int sy_openai_models_list(const sy_str_t *names, size_t n, int64_t created, const char *owned_by,
                          sy_buf_t *out)
{
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    sy_json_write_begin_object(&w);
    KEY(&w, "object");
    sy_json_write_string_lit(&w, "list");
    KEY(&w, "data");
    sy_json_write_begin_array(&w);
    for (size_t i = 0; i < n; i++)
        model_object(&w, names[i], created, owned_by);
    sy_json_write_end_array(&w);
    sy_json_write_end_object(&w);
    return sy_json_write_finish(&w);
}

int sy_openai_model_object(sy_str_t name, int64_t created, const char *owned_by, sy_buf_t *out)
{
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    model_object(&w, name, created, owned_by);
    return sy_json_write_finish(&w);
}
