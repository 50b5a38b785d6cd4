/*
 * anthropic_stream.c - the anthropic adapter's stream decoder: Messages API
 * server-sent events in, IR deltas out, one upstream event at a time.
 *
 * Anthropic's stream is already block-structured like the IR, so the
 * mapping is close to one to one:
 *   message_start        -> START (id, model, input usage)
 *   content_block_start  -> BLOCK_START (text, thinking, redacted_thinking
 *                           with its data, tool_use with id and name)
 *   content_block_delta  -> TEXT / THINKING / SIGNATURE / TOOL_ARGS
 *   content_block_stop   -> BLOCK_STOP
 *   message_delta        -> FINISH (stop_reason, stop_sequence), USAGE
 *   message_stop         -> END
 *   error                -> ERROR (class from error.type)
 *   ping, unknown events -> nothing
 * What the decoder adds is robustness against what real upstreams send:
 * JSON padded with blanks before the final '}', "event:x" without a space
 * (both handled by the JSON parser and the SSE reader), a repeated
 * message_start (ignored while no block has begun), input and cache usage
 * repeated or revised in message_delta (cumulative: the last figure wins),
 * and block types the IR has no form for (server tools such as
 * server_tool_use, web_search_tool_result, mcp_tool_use; compaction, ...),
 * which are skipped whole with their deltas. IR block indexes are the
 * decoder's own, counting up from 0 without the gaps skipped blocks leave.
 *
 * Protocol violations that would lose or garble content end the stream
 * with an ERROR delta (class BAD_RESPONSE): content before message_start, a
 * second message_start after content began (two responses spliced), an
 * event that is not JSON, an event over the size cap, and a body that ends
 * before message_stop. Everything after message_stop is ignored.
 *
 * Memory: each event is parsed into a scratch arena reset per event; the
 * deltas' views point into it or into the caller's bytes, valid during the
 * callback only, as the IR contract says. Nothing grows with the stream.
 */
#include "providers/anthropic.h"

#include <string.h>

#include "http/sse.h"
#include "ir/emit.h"

/* Caps on one upstream event. Server-tool results (a fetched web page)
 * arrive whole in one content_block_start, hence the generous line cap. */
#define SY_ANTHROPIC_MAX_EVENT_LINE ((size_t)8 << 20)
#define SY_ANTHROPIC_MAX_EVENT_DATA ((size_t)8 << 20)

/* The stream's phase is the emitter's (ir/emit.h): before message_start
 * until em.started, then the message, until em.ended (message_stop: the
 * rest of the body is ignored) or em.failed (an ERROR went out). */
typedef struct {
    sy_arena_t *scratch; /* one event's parse, reset per event */
    sy_buf_t sse_buf;
    sy_sse_reader_t sse;
    sy_ir_emitter_t em;
    /* the open block (em.open, em.open_kind), if any */
    bool args_from_start; /* tool_use input arrived whole in content_block_start */
    int64_t up_index;     /* its index upstream */
    bool ending;          /* stream_end: an event now is one the body's end cut off */
    sy_anthropic_usage_t usage;
} stream_t;

static void stream_free(void *arg)
{
    stream_t *s = arg;
    sy_buf_free(&s->sse_buf);
    sy_arena_free(s->scratch);
}

void *sy_anthropic_stream_new(sy_arena_t *a, const sy_provider_ctx_t *cx, const sy_ir_request_t *req)
{
    SY_UNUSED(cx);
    SY_UNUSED(req);
    stream_t *s = sy_arena_calloc(a, sizeof(*s));
    s->scratch = sy_arena_new(0);
    sy_buf_init(&s->sse_buf, SY_ANTHROPIC_MAX_EVENT_LINE + SY_ANTHROPIC_MAX_EVENT_DATA + 1);
    sy_sse_reader_init(&s->sse, &s->sse_buf, SY_ANTHROPIC_MAX_EVENT_LINE,
                       SY_ANTHROPIC_MAX_EVENT_DATA, 0);
    sy_arena_cleanup(a, stream_free, s);
    return s;
}

/* ------------------------------------------------------------- emitting --- */

static int fail(stream_t *s, sy_ir_error_class_t cls, sy_str_t type, sy_str_t message)
{
    sy_ir_error_t e;
    memset(&e, 0, sizeof(e));
    e.cls = cls;
    e.type = type;
    e.message = message;
    return sy_ir_emit_error(&s->em, &e);
}

static int fail_bad(stream_t *s, const char *message)
{
    return sy_ir_emit_fail(&s->em, SY_IR_ERR_BAD_RESPONSE, sy_str_c(message));
}

/* A content delta for the open block; empty fragments are not passed on. */
static int content(stream_t *s, sy_ir_delta_kind_t kind, sy_str_t text)
{
    return sy_ir_emit_content(&s->em, kind, text);
}

/* --------------------------------------------------------------- events --- */

static int on_message_start(stream_t *s, const sy_json_t *root)
{
    if (s->em.started) {
        /* The same message announced twice (seen from proxies) is harmless
         * while nothing has been said; after that it is a second response
         * spliced into this one, and its content would be garbled. */
        if (s->em.next_index == 0 && !s->em.finished)
            return SY_OK;
        return fail_bad(s, "anthropic: a second message_start arrived before message_stop");
    }
    const sy_json_t *msg = sy_json_get(root, "message");
    sy_anthropic_usage_read(sy_json_get(msg, "usage"), &s->usage);
    sy_ir_usage_t u = sy_anthropic_usage_to_ir(&s->usage);
    /* message_start's output_tokens is a running count (1 or a few tokens)
     * that message_delta replaces; it is not a final figure */
    u.has_output = false;
    u.output = 0;
    return sy_ir_emit_start(&s->em, sy_json_str(sy_json_get(msg, "id")),
                            sy_json_str(sy_json_get(msg, "model")), &u);
}

static int on_block_start(stream_t *s, const sy_json_t *root)
{
    if (s->em.finished)
        return fail_bad(s, "anthropic: content_block_start after message_delta");
    /* blocks never overlap upstream; if one is still open, close it */
    int rc = sy_ir_emit_close(&s->em);
    if (rc != SY_OK)
        return rc;
    const sy_json_t *blk = sy_json_get(root, "content_block");
    sy_str_t type = sy_json_str(sy_json_get(blk, "type"));
    int64_t index = -1;
    (void)sy_json_as_i64(sy_json_get(root, "index"), &index);

    sy_ir_part_kind_t kind;
    sy_str_t id = SY_STR_NULL, name = SY_STR_NULL, data = SY_STR_NULL;
    if (sy_str_eq_c(type, "text")) {
        kind = SY_IR_TEXT;
    } else if (sy_str_eq_c(type, "thinking")) {
        kind = SY_IR_THINKING;
    } else if (sy_str_eq_c(type, "redacted_thinking")) {
        kind = SY_IR_REDACTED_THINKING;
        data = sy_json_str(sy_json_get(blk, "data"));
    } else if (sy_str_eq_c(type, "tool_use")) {
        kind = SY_IR_TOOL_CALL;
        id = sy_json_str(sy_json_get(blk, "id"));
        name = sy_json_str(sy_json_get(blk, "name"));
    } else {
        return SY_OK; /* a block the IR has no form for: skipped with its deltas */
    }
    s->up_index = index;
    s->args_from_start = false;
    if ((rc = sy_ir_emit_open(&s->em, kind, id, name, data)) != SY_OK)
        return rc;

    /* Initial content in the start event: Anthropic sends it empty, but
     * compatible servers may put the whole block there. */
    switch (kind) {
    case SY_IR_TEXT:
        return content(s, SY_IR_DELTA_TEXT, sy_json_str(sy_json_get(blk, "text")));
    case SY_IR_THINKING:
        if ((rc = content(s, SY_IR_DELTA_THINKING, sy_json_str(sy_json_get(blk, "thinking")))) != SY_OK)
            return rc;
        return content(s, SY_IR_DELTA_SIGNATURE, sy_json_str(sy_json_get(blk, "signature")));
    case SY_IR_TOOL_CALL: {
        const sy_json_t *in = sy_json_get(blk, "input");
        if (sy_json_len(in) == 0 || in->type != SY_JSON_OBJECT)
            return SY_OK;
        sy_buf_t b;
        sy_buf_init(&b, SY_ANTHROPIC_MAX_EVENT_DATA);
        rc = sy_json_serialize(in, &b, 0);
        if (rc == SY_OK) {
            s->args_from_start = true;
            rc = content(s, SY_IR_DELTA_TOOL_ARGS, sy_buf_str(&b));
        }
        sy_buf_free(&b);
        return rc;
    }
    default:
        return SY_OK;
    }
}

static int on_block_delta(stream_t *s, const sy_json_t *root)
{
    int64_t index = -1;
    (void)sy_json_as_i64(sy_json_get(root, "index"), &index);
    if (!s->em.open || index != s->up_index)
        return SY_OK; /* a skipped block's delta */
    const sy_json_t *dl = sy_json_get(root, "delta");
    sy_str_t type = sy_json_str(sy_json_get(dl, "type"));
    switch (s->em.open_kind) {
    case SY_IR_TEXT:
        if (sy_str_eq_c(type, "text_delta"))
            return content(s, SY_IR_DELTA_TEXT, sy_json_str(sy_json_get(dl, "text")));
        break; /* citations_delta: the IR has no citations */
    case SY_IR_THINKING:
        if (sy_str_eq_c(type, "thinking_delta"))
            return content(s, SY_IR_DELTA_THINKING, sy_json_str(sy_json_get(dl, "thinking")));
        if (sy_str_eq_c(type, "signature_delta"))
            return content(s, SY_IR_DELTA_SIGNATURE, sy_json_str(sy_json_get(dl, "signature")));
        break;
    case SY_IR_TOOL_CALL:
        if (sy_str_eq_c(type, "input_json_delta") && !s->args_from_start)
            return content(s, SY_IR_DELTA_TOOL_ARGS, sy_json_str(sy_json_get(dl, "partial_json")));
        break;
    default:
        break;
    }
    return SY_OK;
}

static int on_block_stop(stream_t *s, const sy_json_t *root)
{
    int64_t index = -1;
    (void)sy_json_as_i64(sy_json_get(root, "index"), &index);
    if (!s->em.open || index != s->up_index)
        return SY_OK;
    return sy_ir_emit_close(&s->em);
}

static int on_message_delta(stream_t *s, const sy_json_t *root)
{
    int rc = sy_ir_emit_close(&s->em);
    if (rc != SY_OK)
        return rc;
    const sy_json_t *dl = sy_json_get(root, "delta");
    sy_str_t reason = sy_json_str(sy_json_get(dl, "stop_reason"));
    if (reason.len && !s->em.finished) {
        rc = sy_ir_emit_finish(&s->em, sy_anthropic_finish(reason),
                               sy_json_str(sy_json_get(dl, "stop_sequence")));
        if (rc != SY_OK)
            return rc;
    }
    const sy_json_t *u = sy_json_get(root, "usage");
    if (sy_json_len(u) == 0)
        return SY_OK;
    sy_anthropic_usage_read(u, &s->usage);
    sy_ir_usage_t x = sy_anthropic_usage_to_ir(&s->usage);
    return sy_ir_emit_usage(&s->em, &x);
}

static int on_message_stop(stream_t *s)
{
    /* FINISH closes the open block; after message_delta's, none is open */
    if (!s->em.finished) {
        int rc = sy_ir_emit_finish(&s->em, SY_IR_FINISH_STOP, SY_STR_NULL);
        if (rc != SY_OK)
            return rc;
    }
    return sy_ir_emit_end(&s->em);
}

static int on_error(stream_t *s, const sy_json_t *root)
{
    const sy_json_t *e = sy_json_get(root, "error");
    sy_str_t type = sy_json_str(sy_json_get(e, "type"));
    sy_str_t msg = sy_json_str(sy_json_get(e, "message"));
    return fail(s, sy_anthropic_error_class(type, msg, 0), type,
                msg.len ? msg : SY_STR("anthropic: the upstream stream reported an error"));
}

/* One SSE event. The JSON "type" names the event (the event: line says the
 * same on Anthropic's wire, but not every compatible server sends it). */
static int on_event(stream_t *s, sy_str_t name, sy_str_t data)
{
    if (s->em.ended || s->em.failed)
        return SY_OK;
    sy_arena_reset(s->scratch);
    sy_json_t *root = NULL;
    sy_str_t type = name;
    if (sy_json_parse(s->scratch, data.p, data.len, NULL, &root, NULL) == SY_OK &&
        root->type == SY_JSON_OBJECT) {
        sy_str_t t = sy_json_str(sy_json_get(root, "type"));
        if (t.len)
            type = t;
    } else {
        root = NULL;
    }
    bool known = sy_str_eq_c(type, "message_start") || sy_str_eq_c(type, "content_block_start") ||
                 sy_str_eq_c(type, "content_block_delta") || sy_str_eq_c(type, "content_block_stop") ||
                 sy_str_eq_c(type, "message_delta") || sy_str_eq_c(type, "message_stop") ||
                 sy_str_eq_c(type, "error");
    if (!known)
        return SY_OK; /* ping, and event types this decoder does not know */
    if (root == NULL) {
        if (sy_str_eq_c(type, "error"))
            return fail(s, SY_IR_ERR_SERVER, SY_STR_NULL,
                        SY_STR("anthropic: the upstream stream reported an error"));
        if (s->ending) /* the last event, cut off by the end of the body */
            return fail_bad(s, !s->em.started
                                   ? "anthropic: the upstream stream ended before message_start"
                                   : "anthropic: the upstream stream ended before message_stop");
        return fail_bad(s, "anthropic: a stream event is not a JSON object");
    }
    if (sy_str_eq_c(type, "error"))
        return on_error(s, root);
    if (sy_str_eq_c(type, "message_start"))
        return on_message_start(s, root);
    if (!s->em.started)
        return fail_bad(s, "anthropic: stream content before message_start");
    if (sy_str_eq_c(type, "content_block_start"))
        return on_block_start(s, root);
    if (sy_str_eq_c(type, "content_block_delta"))
        return on_block_delta(s, root);
    if (sy_str_eq_c(type, "content_block_stop"))
        return on_block_stop(s, root);
    if (sy_str_eq_c(type, "message_delta"))
        return on_message_delta(s, root);
    return on_message_stop(s);
}

int sy_anthropic_stream_feed(void *st, const char *data, size_t len, sy_ir_delta_cb cb, void *cbctx)
{
    stream_t *s = st;
    if (sy_ir_emit_done(&s->em))
        return s->em.rc;
    sy_ir_emit_bind(&s->em, cb, cbctx);
    size_t off = 0;
    for (;;) {
        size_t used = 0;
        sy_sse_event_t ev;
        int rc = sy_sse_next(&s->sse, data + off, len - off, &used, &ev);
        off += used;
        if (rc == SY_EAGAIN)
            return SY_OK;
        if (rc != SY_OK)
            return fail_bad(s, "anthropic: a stream event exceeds the size cap");
        if ((rc = on_event(s, ev.event, ev.data)) != SY_OK)
            return rc;
        if (s->em.ended)
            return SY_OK;
    }
}

int sy_anthropic_stream_end(void *st, sy_ir_delta_cb cb, void *cbctx)
{
    stream_t *s = st;
    if (sy_ir_emit_done(&s->em))
        return s->em.rc;
    sy_ir_emit_bind(&s->em, cb, cbctx);
    /* a last event without its blank line still counts */
    s->ending = true;
    sy_sse_event_t ev;
    int rc;
    while ((rc = sy_sse_finish(&s->sse, &ev)) == SY_OK) {
        if ((rc = on_event(s, ev.event, ev.data)) != SY_OK)
            return rc;
        if (s->em.ended)
            return SY_OK;
    }
    if (rc != SY_EAGAIN)
        return fail_bad(s, "anthropic: a stream event exceeds the size cap");
    if (!s->em.started)
        return fail_bad(s, "anthropic: the upstream stream ended before message_start");
    return fail_bad(s, "anthropic: the upstream stream ended before message_stop");
}
