/*
 * bedrock_decode.c - Converse responses into the IR: the whole body, the
 * ConverseStream event stream (AWS event-stream framing, see
 * http/eventstream.h), and errors (x-amzn-ErrorType and the body's
 * message; exception frames mid-stream).
 *
 * Stream events arrive as frames with :message-type "event" and an
 * :event-type: messageStart, contentBlockStart (a toolUse's id and name),
 * contentBlockDelta (text, toolUse.input fragments, reasoningContent text /
 * signature / redactedContent), contentBlockStop, messageStop (stopReason),
 * metadata (usage, metrics). Text and reasoning blocks get no
 * contentBlockStart: the first delta of an index opens the IR block, a
 * delta of another index (or another kind) closes it, even when Bedrock
 * skipped the contentBlockStop. The IR block indexes count up on their own:
 * Bedrock's indexes of blocks that carry nothing (an empty text block, the
 * server-side tool blocks of Nova's code interpreter) leave no gap.
 * Frames with :message-type "exception" (throttlingException,
 * modelStreamErrorException, ...) or "error" end the stream with an ERROR
 * of the matching class; a frame whose CRC fails ends it with
 * bad_response. InvokeModelWithResponseStream's "chunk" frames (base64 of
 * the same events) are unwrapped too.
 */
#include "providers/bedrock.h"

#include <string.h>

#include "http/eventstream.h"
#include "ir/emit.h"
#include "json/json.h"
#include "providers/wire.h"

typedef struct {
    sy_arena_t *scratch; /* reset per frame */
    sy_es_decoder_t es;
    sy_buf_t es_buf;
    sy_str_t model;

    sy_ir_emitter_t em;
    int64_t up_index;   /* Bedrock's contentBlockIndex of the open block */
    int64_t skip_index; /* a server-side tool block being skipped, or -1 */
    sy_buf_t redacted;  /* redactedContent of one block, until its stop */
    int64_t redacted_index;
} bd_t;

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int try_rc_ = (x);                                                                         \
        if (try_rc_ != SY_OK)                                                                      \
            return try_rc_;                                                                        \
    } while (0)

/* ---------------------------------------------------------------- errors --- */

static bool ci_contains(sy_str_t s, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= s.len; i++)
        if (sy_str_ieq(sy_str(s.p + i, n), sy_str(needle, n)))
            return true;
    return false;
}

sy_ir_error_class_t sy_bedrock_error_class(sy_str_t type, sy_str_t message, int status)
{
    /* "ThrottlingException:http://internal.amazon.com/coral/..." and
     * "com.amazon.coral.validate#ValidationException" name the same type */
    ptrdiff_t colon = sy_str_find_char(type, ':');
    if (colon >= 0)
        type = sy_str_sub(type, 0, (size_t)colon);
    ptrdiff_t hash = sy_str_find_char(type, '#');
    if (hash >= 0)
        type = sy_str_sub(type, (size_t)hash + 1, type.len);
    static const struct {
        const char *type;
        sy_ir_error_class_t cls;
    } map[] = {
        {"ThrottlingException", SY_IR_ERR_RATE_LIMITED},
        {"ServiceQuotaExceededException", SY_IR_ERR_RATE_LIMITED},
        {"TooManyRequestsException", SY_IR_ERR_RATE_LIMITED},
        {"ServiceUnavailableException", SY_IR_ERR_OVERLOADED},
        {"ModelNotReadyException", SY_IR_ERR_OVERLOADED},
        {"AccessDeniedException", SY_IR_ERR_AUTH},
        {"UnrecognizedClientException", SY_IR_ERR_AUTH},
        {"InvalidSignatureException", SY_IR_ERR_AUTH},
        {"IncompleteSignatureException", SY_IR_ERR_AUTH},
        {"MissingAuthenticationTokenException", SY_IR_ERR_AUTH},
        {"ExpiredTokenException", SY_IR_ERR_AUTH},
        {"ResourceNotFoundException", SY_IR_ERR_NOT_FOUND},
        {"ModelTimeoutException", SY_IR_ERR_TIMEOUT},
        {"InternalServerException", SY_IR_ERR_SERVER},
        {"ModelStreamErrorException", SY_IR_ERR_SERVER},
        {"ModelErrorException", SY_IR_ERR_SERVER},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(map); i++)
        if (sy_str_ieq_c(type, map[i].type))
            return map[i].cls;
    bool validation = sy_str_ieq_c(type, "ValidationException");
    if (validation || (type.len == 0 && status == 400)) {
        if (ci_contains(message, "too long") || ci_contains(message, "too many tokens") ||
            ci_contains(message, "context window") || ci_contains(message, "context length"))
            return SY_IR_ERR_CONTEXT_LENGTH;
        /* Bedrock answers an unknown model id with a ValidationException */
        if (ci_contains(message, "model identifier is invalid"))
            return SY_IR_ERR_NOT_FOUND;
        return SY_IR_ERR_BAD_REQUEST;
    }
    return status ? sy_provider_status_class(status) : SY_IR_ERR_SERVER;
}

void sy_bedrock_map_error(int status, const sy_http_header_t *headers, size_t nheaders,
                          sy_str_t body, sy_ir_error_t *out)
{
    memset(out, 0, sizeof(*out));
    out->status = status;
    const sy_http_header_t *h = sy_http_header_find(headers, nheaders, "x-amzn-ErrorType");
    sy_str_t type = h ? h->value : SY_STR("");
    sy_str_t message = SY_STR("");
    sy_arena_t *tmp = sy_arena_new(0);
    sy_json_t *root = NULL;
    if (sy_json_parse(tmp, body.p, body.len, NULL, &root, NULL) == SY_OK) {
        const char *key = sy_json_get(root, "message") ? "message" : "Message";
        message = sy_wire_body_string(body, sy_json_str(sy_json_get(root, key)), key);
        if (type.len == 0)
            type = sy_wire_body_string(body, sy_json_str(sy_json_get(root, "__type")), "__type");
    }
    sy_arena_free(tmp);
    ptrdiff_t colon = sy_str_find_char(type, ':');
    out->type = colon >= 0 ? sy_str_sub(type, 0, (size_t)colon) : type;
    out->cls = sy_bedrock_error_class(type, message, status);
    out->message = message.len ? message : SY_STR("bedrock: the upstream answered with an error");
    out->retry_after_ms = sy_provider_retry_after_ms(headers, nheaders);
}

/* ----------------------------------------------------------------- emits --- */

/* The deltas go out through s->em (ir/emit.h), which keeps the block
 * indexes, the open block and the sticky result. What is Bedrock's own is
 * the upstream index of the open block, and the "{}" a tool call without
 * input still gets when its block closes. */

static int fail(bd_t *s, sy_str_t msg)
{
    return sy_ir_emit_fail(&s->em, SY_IR_ERR_BAD_RESPONSE, msg);
}

static int start(bd_t *s)
{
    /* Converse has no message id (the request id is a response header) */
    return sy_ir_emit_start(&s->em, SY_STR_NULL, s->model, NULL);
}

static int close_block(bd_t *s)
{
    /* a call without arguments still has an (empty) object */
    if (s->em.open && s->em.open_kind == SY_IR_TOOL_CALL && s->em.open_bytes == 0)
        TRY(sy_ir_emit_content(&s->em, SY_IR_DELTA_TOOL_ARGS, SY_STR("{}")));
    return sy_ir_emit_close(&s->em);
}

static int open_block(bd_t *s, sy_ir_part_kind_t kind, int64_t up, sy_str_t id, sy_str_t name,
                      sy_str_t text)
{
    TRY(close_block(s));
    s->up_index = up;
    return sy_ir_emit_open(&s->em, kind, id, name, text);
}

/* A redacted reasoning block is one BLOCK_START carrying all its data: its
 * pieces are gathered until the block ends. */
static int flush_redacted(bd_t *s)
{
    if (s->redacted_index < 0)
        return SY_OK;
    s->redacted_index = -1;
    TRY(open_block(s, SY_IR_REDACTED_THINKING, -1, SY_STR_NULL, SY_STR_NULL,
                   sy_buf_str(&s->redacted)));
    sy_buf_clear(&s->redacted);
    return close_block(s);
}

/* Make the open block one of this kind for Bedrock's index up. */
static int ensure_block(bd_t *s, sy_ir_part_kind_t kind, int64_t up)
{
    if (s->up_index == up && sy_ir_emit_continues(&s->em, kind))
        return SY_OK;
    if (s->redacted_index >= 0)
        TRY(flush_redacted(s));
    return open_block(s, kind, up, SY_STR_NULL, SY_STR_NULL, SY_STR_NULL);
}

/* ----------------------------------------------------------------- usage --- */

/* Converse's inputTokens counts only the tokens neither read from nor
 * written to the prompt cache (AWS: "total input tokens = inputTokens +
 * cacheReadInputTokens + cacheWriteInputTokens"; totalTokens adds them
 * all). The IR's input counts every prompt token, so the cache figures are
 * added back; cached_input and cache_write are those parts. Reasoning is
 * inside outputTokens and not broken out. InvokeModel's metrics name the
 * same figures *TokenCount. */
static bool read_count(const sy_json_t *u, const char *a, const char *b, uint64_t *out)
{
    *out = 0;
    return sy_json_as_u64(sy_json_get(u, a), out) == SY_OK ||
           (b && sy_json_as_u64(sy_json_get(u, b), out) == SY_OK);
}

static bool usage_from(const sy_json_t *u, sy_ir_usage_t *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t in, o, cr, cw;
    bool hi = read_count(u, "inputTokens", "inputTokenCount", &in);
    bool ho = read_count(u, "outputTokens", "outputTokenCount", &o);
    bool hr = read_count(u, "cacheReadInputTokens", "cacheReadInputTokenCount", &cr);
    bool hw = read_count(u, "cacheWriteInputTokens", "cacheWriteInputTokenCount", &cw);
    out->has_input = hi;
    out->input = in + cr + cw;
    out->has_output = ho;
    out->output = o;
    out->has_cached_input = hr;
    out->cached_input = cr;
    out->has_cache_write = hw;
    out->cache_write = cw;
    return hi || ho;
}

static int usage(bd_t *s, const sy_json_t *u)
{
    sy_ir_usage_t x;
    if (!usage_from(u, &x))
        return SY_OK;
    return sy_ir_emit_usage_changed(&s->em, &x);
}

static sy_ir_finish_t map_stop(sy_str_t r)
{
    if (sy_str_eq_c(r, "tool_use"))
        return SY_IR_FINISH_TOOL_CALLS;
    if (sy_str_eq_c(r, "max_tokens") || sy_str_eq_c(r, "model_context_window_exceeded"))
        return SY_IR_FINISH_LENGTH;
    if (sy_str_eq_c(r, "stop_sequence"))
        return SY_IR_FINISH_STOP_SEQUENCE;
    if (sy_str_eq_c(r, "guardrail_intervened") || sy_str_eq_c(r, "content_filtered"))
        return SY_IR_FINISH_CONTENT_FILTER;
    if (sy_str_eq_c(r, "malformed_model_output") || sy_str_eq_c(r, "malformed_tool_use"))
        return SY_IR_FINISH_ERROR;
    return SY_IR_FINISH_STOP; /* end_turn and values not known yet */
}

/* The stop sequence that matched: Anthropic models report it in the
 * additional response fields ({"stop_sequence": ...}, or under "delta" in
 * a stream). */
static sy_str_t stop_sequence(const sy_json_t *v)
{
    const sy_json_t *f = sy_json_get(v, "additionalModelResponseFields");
    sy_str_t s = sy_json_str(sy_json_get(f, "stop_sequence"));
    return s.len ? s : sy_json_str(sy_json_path(f, "delta.stop_sequence"));
}

/* ---------------------------------------------------------------- events --- */

static int64_t block_index(const sy_json_t *v)
{
    int64_t i = -1;
    sy_json_as_i64(sy_json_get(v, "contentBlockIndex"), &i);
    return i;
}

static int block_start(bd_t *s, const sy_json_t *v)
{
    int64_t idx = block_index(v);
    const sy_json_t *st = sy_json_get(v, "start");
    const sy_json_t *tu = sy_json_get(st, "toolUse");
    if (sy_json_is(tu, SY_JSON_OBJECT)) {
        /* Nova's built-in tools run on the server: not a call for the client */
        if (sy_str_eq_c(sy_json_str(sy_json_get(tu, "type")), "server_tool_use")) {
            s->skip_index = idx;
            return SY_OK;
        }
        sy_str_t name = sy_json_str(sy_json_get(tu, "name"));
        if (name.len == 0)
            return fail(s, SY_STR("bedrock: a toolUse block without a name"));
        if (s->redacted_index >= 0)
            TRY(flush_redacted(s));
        return open_block(s, SY_IR_TOOL_CALL, idx, sy_json_str(sy_json_get(tu, "toolUseId")), name,
                          SY_STR_NULL);
    }
    if (sy_json_get(st, "toolResult"))
        s->skip_index = idx;
    return SY_OK;
}

static int block_delta(bd_t *s, const sy_json_t *v)
{
    int64_t idx = block_index(v);
    if (idx == s->skip_index)
        return SY_OK;
    const sy_json_t *d = sy_json_get(v, "delta");
    const sy_json_t *x;
    if ((x = sy_json_get(d, "text"))) {
        sy_str_t t = sy_json_str(x);
        if (t.len == 0)
            return SY_OK;
        TRY(ensure_block(s, SY_IR_TEXT, idx));
        return sy_ir_emit_content(&s->em, SY_IR_DELTA_TEXT, t);
    }
    if ((x = sy_json_get(d, "toolUse"))) {
        if (!s->em.open || s->em.open_kind != SY_IR_TOOL_CALL || s->up_index != idx)
            return fail(s, SY_STR("bedrock: tool input for a block that did not start as a "
                                  "toolUse"));
        sy_str_t t = sy_json_str(sy_json_get(x, "input"));
        return sy_ir_emit_content(&s->em, SY_IR_DELTA_TOOL_ARGS, t);
    }
    if ((x = sy_json_get(d, "reasoningContent"))) {
        const sy_json_t *y;
        if ((y = sy_json_get(x, "redactedContent"))) {
            if (s->redacted_index != idx) {
                TRY(flush_redacted(s));
                TRY(close_block(s));
                s->redacted_index = idx;
            }
            if (sy_buf_append_str(&s->redacted, sy_json_str(y)) != SY_OK)
                return fail(s, SY_STR("bedrock: a redacted reasoning block is too large"));
            return SY_OK;
        }
        sy_str_t t = sy_json_str(sy_json_get(x, "text"));
        if (t.len) {
            TRY(ensure_block(s, SY_IR_THINKING, idx));
            TRY(sy_ir_emit_content(&s->em, SY_IR_DELTA_THINKING, t));
        }
        sy_str_t sig = sy_json_str(sy_json_get(x, "signature"));
        if (sig.len) {
            TRY(ensure_block(s, SY_IR_THINKING, idx));
            TRY(sy_ir_emit_content(&s->em, SY_IR_DELTA_SIGNATURE, sig));
        }
        return SY_OK;
    }
    return SY_OK; /* citations, server tool results: no IR block */
}

static int block_stop(bd_t *s, const sy_json_t *v)
{
    int64_t idx = block_index(v);
    if (s->redacted_index == idx)
        return flush_redacted(s);
    if (s->em.open && s->up_index == idx)
        return close_block(s);
    return SY_OK;
}

static int message_stop(bd_t *s, const sy_json_t *v)
{
    TRY(flush_redacted(s));
    TRY(close_block(s));
    return sy_ir_emit_finish(&s->em, map_stop(sy_json_str(sy_json_get(v, "stopReason"))),
                             stop_sequence(v));
}

static int dispatch(bd_t *s, sy_str_t type, const sy_json_t *v)
{
    if (sy_str_eq_c(type, "metadata")) {
        TRY(start(s));
        return usage(s, sy_json_get(v, "usage"));
    }
    if (s->em.finished)
        return SY_OK; /* nothing may follow FINISH but usage */
    if (sy_str_eq_c(type, "messageStart"))
        return start(s);
    if (sy_str_eq_c(type, "contentBlockStart")) {
        TRY(start(s));
        return block_start(s, v);
    }
    if (sy_str_eq_c(type, "contentBlockDelta")) {
        TRY(start(s));
        return block_delta(s, v);
    }
    if (sy_str_eq_c(type, "contentBlockStop"))
        return block_stop(s, v);
    if (sy_str_eq_c(type, "messageStop")) {
        TRY(start(s));
        return message_stop(s, v);
    }
    return SY_OK;
}

/* InvokeModelWithResponseStream: {"bytes": base64 of {"<event>": {...}}}. */
static int chunk(bd_t *s, const sy_json_t *v)
{
    sy_str_t b64 = sy_json_str(sy_json_get(v, "bytes"));
    char *raw = sy_arena_alloc(s->scratch, (b64.len / 4 + 1) * 3 + 1);
    size_t n = 0;
    sy_json_t *inner = NULL;
    if (sy_wire_base64_decode(b64.p, b64.len, raw, &n) != SY_OK ||
        sy_json_parse(s->scratch, raw, n, NULL, &inner, NULL) != SY_OK ||
        !sy_json_is(inner, SY_JSON_OBJECT))
        return fail(s, SY_STR("bedrock: a stream chunk does not hold a JSON event"));
    for (size_t i = 0; i < inner->u.obj.len; i++) {
        sy_str_t key = inner->u.obj.items[i].key;
        const sy_json_t *val = &inner->u.obj.items[i].value;
        if (sy_str_eq_c(key, "amazon-bedrock-invocationMetrics")) {
            if (!s->em.usage_sent) {
                TRY(start(s));
                TRY(usage(s, val));
            }
            continue;
        }
        TRY(dispatch(s, key, val));
    }
    return SY_OK;
}

static int message(bd_t *s, const sy_es_message_t *m)
{
    sy_arena_reset(s->scratch);
    sy_json_t *v = NULL;
    bool json = sy_json_parse(s->scratch, m->payload.p, m->payload.len, NULL, &v, NULL) == SY_OK;
    if (sy_str_eq_c(m->message_type, "exception")) {
        sy_ir_error_t e;
        memset(&e, 0, sizeof(e));
        sy_str_t type = m->exception_type.len ? m->exception_type : m->event_type;
        sy_str_t msg = json ? sy_json_str(sy_json_get(v, "message")) : SY_STR("");
        if (json && msg.len == 0)
            msg = sy_json_str(sy_json_get(v, "Message"));
        e.cls = sy_bedrock_error_class(type, msg, 0);
        e.type = type;
        e.message = msg.len ? msg : type;
        int64_t code = 0;
        if (json && sy_json_as_i64(sy_json_get(v, "originalStatusCode"), &code) == SY_OK &&
            code > 0 && code < 1000)
            e.status = (int)code;
        return sy_ir_emit_error(&s->em, &e);
    }
    if (sy_str_eq_c(m->message_type, "error")) {
        sy_ir_error_t e;
        memset(&e, 0, sizeof(e));
        e.cls = sy_bedrock_error_class(m->error_code, m->error_message, 0);
        e.type = m->error_code;
        e.message = m->error_message.len ? m->error_message : SY_STR("bedrock: stream error");
        return sy_ir_emit_error(&s->em, &e);
    }
    if (!json || !sy_json_is(v, SY_JSON_OBJECT))
        return fail(s, SY_STR("bedrock: a stream event is not a JSON object"));
    if (sy_str_eq_c(m->event_type, "chunk"))
        return chunk(s, v);
    return dispatch(s, m->event_type, v);
}

/* ---------------------------------------------------------------- stream --- */

static void cleanup(void *arg)
{
    bd_t *s = arg;
    sy_buf_free(&s->es_buf);
    sy_buf_free(&s->redacted);
    sy_arena_free(s->scratch);
}

void *sy_bedrock_stream_new(sy_arena_t *a, const sy_provider_ctx_t *cx, const sy_ir_request_t *req)
{
    SY_UNUSED(req);
    bd_t *s = sy_arena_calloc(a, sizeof(*s));
    s->scratch = sy_arena_new(0);
    s->model = cx ? sy_str_dup(a, cx->model) : SY_STR("");
    s->skip_index = s->redacted_index = -1;
    sy_buf_init(&s->es_buf, SY_ES_DEFAULT_MAX_MESSAGE);
    sy_buf_init(&s->redacted, SY_BEDROCK_MAX_REDACTED);
    sy_es_decoder_init(&s->es, &s->es_buf, 0);
    sy_arena_cleanup(a, cleanup, s);
    return s;
}

int sy_bedrock_stream_feed(void *st, const char *data, size_t len, sy_ir_delta_cb cb, void *cbctx)
{
    bd_t *s = st;
    if (sy_ir_emit_done(&s->em))
        return s->em.rc;
    sy_ir_emit_bind(&s->em, cb, cbctx);
    size_t off = 0;
    for (;;) {
        size_t used = 0;
        sy_es_message_t m;
        int rc = sy_es_next(&s->es, data + off, len - off, &used, &m);
        off += used;
        if (rc == SY_EAGAIN)
            return SY_OK;
        if (rc != SY_OK) {
            char *msg = sy_arena_sprintf(s->scratch, "bedrock: broken event stream: %s",
                                         s->es.error ? s->es.error : "invalid frame");
            return fail(s, sy_str_c(msg));
        }
        TRY(message(s, &m));
    }
}

int sy_bedrock_stream_end(void *st, sy_ir_delta_cb cb, void *cbctx)
{
    bd_t *s = st;
    if (sy_ir_emit_done(&s->em))
        return s->em.rc;
    sy_ir_emit_bind(&s->em, cb, cbctx);
    if (sy_es_pending(&s->es))
        return fail(s, SY_STR("bedrock: the event stream was cut off inside a frame"));
    if (!s->em.finished)
        return fail(s, SY_STR("bedrock: the event stream ended without messageStop"));
    return sy_ir_emit_end(&s->em);
}

/* ------------------------------------------------------------ whole body --- */

static sy_str_t serialize(sy_arena_t *a, const sy_json_t *v)
{
    if (!sy_json_is(v, SY_JSON_OBJECT))
        return SY_STR("{}");
    sy_buf_t b;
    sy_buf_init(&b, SY_WIRE_MAX_BODY);
    sy_json_serialize(v, &b, 0);
    return sy_wire_buf_to_arena(a, &b);
}

int sy_bedrock_decode(sy_arena_t *a, const sy_provider_ctx_t *cx, sy_str_t body,
                      sy_ir_response_t *out, sy_ir_error_t *err)
{
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    sy_json_t *root = NULL;
    if (sy_json_parse(a, body.p, body.len, NULL, &root, NULL) != SY_OK ||
        !sy_json_is(root, SY_JSON_OBJECT)) {
        err->cls = SY_IR_ERR_BAD_RESPONSE;
        err->message = SY_STR("bedrock: the response body is not a JSON object");
        return SY_EINVAL;
    }
    const sy_json_t *content = sy_json_path(root, "output.message.content");
    sy_str_t stop = sy_json_str(sy_json_get(root, "stopReason"));
    if (!sy_json_is(content, SY_JSON_ARRAY) || stop.len == 0) {
        err->cls = SY_IR_ERR_BAD_RESPONSE;
        err->message = SY_STR("bedrock: the response has no output message or stop reason");
        return SY_EINVAL;
    }
    size_t n = sy_json_len(content);
    out->parts = sy_arena_calloc(a, (n ? n : 1) * sizeof(*out->parts));
    for (size_t i = 0; i < n; i++) {
        const sy_json_t *b = sy_json_index(content, i);
        sy_ir_part_t *p = &out->parts[out->nparts];
        const sy_json_t *x;
        if ((x = sy_json_get(b, "text"))) {
            if (sy_json_str(x).len == 0)
                continue;
            p->kind = SY_IR_TEXT;
            p->text = sy_json_str(x);
        } else if ((x = sy_json_get(b, "toolUse"))) {
            if (sy_str_eq_c(sy_json_str(sy_json_get(x, "type")), "server_tool_use"))
                continue;
            p->kind = SY_IR_TOOL_CALL;
            p->call_id = sy_json_str(sy_json_get(x, "toolUseId"));
            p->name = sy_json_str(sy_json_get(x, "name"));
            if (p->name.len == 0) {
                err->cls = SY_IR_ERR_BAD_RESPONSE;
                err->message = SY_STR("bedrock: a toolUse block without a name");
                return SY_EINVAL;
            }
            p->arguments = serialize(a, sy_json_get(x, "input"));
        } else if ((x = sy_json_get(b, "reasoningContent"))) {
            const sy_json_t *rt = sy_json_get(x, "reasoningText");
            const sy_json_t *rd = sy_json_get(x, "redactedContent");
            if (rd) {
                p->kind = SY_IR_REDACTED_THINKING;
                p->signature = sy_json_str(rd);
            } else {
                p->kind = SY_IR_THINKING;
                p->text = sy_json_str(sy_json_get(rt, "text"));
                p->signature = sy_json_str(sy_json_get(rt, "signature"));
            }
        } else {
            continue; /* toolResult of server tools, citations, images out */
        }
        out->nparts++;
    }
    out->finish = map_stop(stop);
    out->stop_sequence = stop_sequence(root);
    usage_from(sy_json_get(root, "usage"), &out->usage);
    out->model = cx ? cx->model : SY_STR("");
    return SY_OK;
}
