/*
 * anthropic_out.c - the Anthropic front door's response side: IR responses
 * and stream deltas into Messages API bodies and events, errors in its
 * {"type":"error","error":{...}} shape, and count_tokens answers.
 *
 * The stream is the real API's event sequence, one IR delta at a time:
 *   START       -> message_start (usage as known so far), then ping
 *   BLOCK_START -> content_block_start (tool_use with "input":{}, thinking
 *                  with empty thinking and signature, redacted_thinking whole)
 *   TEXT / THINKING / TOOL_ARGS -> content_block_delta (text_delta,
 *                  thinking_delta, input_json_delta)
 *   SIGNATURE   -> held until the block ends, then one signature_delta: the
 *                  SDK's MessageStream replaces (not appends) the signature
 *                  on each signature_delta, so pieces must be joined first
 *   BLOCK_STOP  -> content_block_stop
 *   USAGE, FINISH -> remembered
 *   END         -> message_delta (stop_reason, stop_sequence, usage) and
 *                  message_stop
 *   ERROR       -> event: error {"type":"error","error":{type, message}},
 *                  which the SDK raises as an APIError; the stream ends there
 * Usage: message_start carries the input figures when the upstream knows
 * them at the start (Anthropic); otherwise zeros. message_delta.usage
 * carries input_tokens, cache_creation_input_tokens and
 * cache_read_input_tokens whenever they are known, and output_tokens always:
 * @anthropic-ai/sdk's MessageStream overwrites each of these from
 * message_delta when present (lib/MessageStream.ts, "message_delta"), so
 * the SDK's final message reports exactly the upstream's usage even when
 * that arrives only at the end (OpenAI's usage chunk).
 */
#include "api/anthropic.h"

#include <stdio.h>
#include <string.h>

#include "api/frontdoors.h"
#include "providers/anthropic.h"

#define K(w, lit) sy_json_write_key_lit((w), lit) /* a literal: no escaping */
#define SY_ANTHROPIC_MAX_SIGNATURE ((size_t)1 << 20) /* joined signature pieces of one block */
#define SY_ANTHROPIC_MAX_STOP_SEQ ((size_t)64 << 10)

static void str_member(sy_json_writer_t *w, const char *key, sy_str_t v)
{
    sy_json_write_key(w, sy_str_c(key));
    sy_json_write_string(w, v);
}

/* Anthropic message ids start with "msg_": an upstream id from another
 * provider is kept behind that prefix; none at all is the gateway's request
 * id (sy_frontdoor_response_id), or for a caller outside the gateway a hash
 * (`fallback`). */
static void write_msg_id(sy_json_writer_t *w, sy_arena_t *a, sy_str_t id,
                         const sy_ir_request_t *req, uint64_t fallback)
{
    char buf[160];
    if (sy_str_starts_with(id, SY_STR("msg_"))) {
        sy_json_write_string(w, id);
        return;
    }
    if (id.len == 0 && req && req->request_id.len) {
        sy_json_write_string(w, sy_frontdoor_response_id(a, "msg_", req->request_id));
        return;
    }
    int n = id.len ? snprintf(buf, sizeof(buf), "msg_%.*s", (int)SY_MIN(id.len, (size_t)150), id.p)
                   : snprintf(buf, sizeof(buf), "msg_%016llx", (unsigned long long)fallback);
    sy_json_write_string(w, sy_str(buf, (size_t)SY_MAX(n, 0)));
}

static void write_stop(sy_json_writer_t *w, sy_ir_finish_t finish, sy_str_t stop_sequence,
                       bool has_tool_call)
{
    K(w, "stop_reason");
    sy_json_write_string(w, sy_str_c(sy_anthropic_stop_reason(finish, has_tool_call)));
    K(w, "stop_sequence");
    if (finish == SY_IR_FINISH_STOP_SEQUENCE && stop_sequence.len)
        sy_json_write_string(w, stop_sequence);
    else
        sy_json_write_null(w);
}

/* -------------------------------------------------------- whole response --- */

int sy_anthropic_fd_respond(sy_arena_t *a, const sy_ir_request_t *req, const sy_ir_response_t *resp,
                            sy_buf_t *out)
{
    bool has_tool_call = false;
    uint64_t h = 0;
    for (size_t i = 0; i < resp->nparts; i++) {
        has_tool_call |= resp->parts[i].kind == SY_IR_TOOL_CALL;
        h ^= sy_hash_bytes(resp->parts[i].text.p, resp->parts[i].text.len) + i;
    }
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    sy_json_write_begin_object(&w);
    K(&w, "id");
    write_msg_id(&w, a, resp->id, req, h);
    str_member(&w, "type", SY_STR("message"));
    str_member(&w, "role", SY_STR("assistant"));
    str_member(&w, "model", req && req->model.len ? req->model : resp->model);
    K(&w, "content");
    sy_json_write_begin_array(&w);
    for (size_t i = 0; i < resp->nparts; i++) {
        const sy_ir_part_t *p = &resp->parts[i];
        switch (p->kind) {
        case SY_IR_TEXT:
            if (p->text.len == 0)
                break; /* the API never answers with an empty text block */
            sy_json_write_begin_object(&w);
            str_member(&w, "type", SY_STR("text"));
            str_member(&w, "text", p->text);
            sy_json_write_end_object(&w);
            break;
        case SY_IR_THINKING:
            sy_json_write_begin_object(&w);
            str_member(&w, "type", SY_STR("thinking"));
            str_member(&w, "thinking", p->text);
            str_member(&w, "signature", p->signature);
            sy_json_write_end_object(&w);
            break;
        case SY_IR_REDACTED_THINKING:
            sy_json_write_begin_object(&w);
            str_member(&w, "type", SY_STR("redacted_thinking"));
            str_member(&w, "data", p->signature);
            sy_json_write_end_object(&w);
            break;
        case SY_IR_TOOL_CALL:
            sy_json_write_begin_object(&w);
            str_member(&w, "type", SY_STR("tool_use"));
            str_member(&w, "id", p->call_id);
            str_member(&w, "name", p->name);
            K(&w, "input");
            sy_anthropic_write_tool_input(&w, a, p->arguments);
            sy_json_write_end_object(&w);
            break;
        case SY_IR_IMAGE:
        case SY_IR_TOOL_RESULT:
            break; /* not assistant output */
        }
    }
    sy_json_write_end_array(&w);
    write_stop(&w, resp->finish, resp->stop_sequence, has_tool_call);
    K(&w, "usage");
    sy_json_write_begin_object(&w);
    sy_anthropic_write_usage(&w, &resp->usage, true);
    sy_json_write_end_object(&w);
    sy_json_write_end_object(&w);
    return sy_json_write_finish(&w);
}

/* --------------------------------------------------------------- stream --- */

typedef struct {
    sy_arena_t *a;
    const sy_ir_request_t *req;
    bool started, ended, open, has_tool_call;
    sy_ir_part_kind_t kind; /* of the open block */
    uint32_t nblocks;       /* blocks started: the open one's index is nblocks - 1 */
    sy_buf_t sig;           /* the open thinking block's signature so far */
    sy_buf_t stop_seq;
    sy_ir_usage_t usage;
    sy_ir_finish_t finish;
} fd_stream_t;

static void fd_stream_free(void *arg)
{
    fd_stream_t *s = arg;
    sy_buf_free(&s->sig);
    sy_buf_free(&s->stop_seq);
}

void *sy_anthropic_fd_stream_new(sy_arena_t *a, const sy_ir_request_t *req)
{
    fd_stream_t *s = sy_arena_calloc(a, sizeof(*s));
    s->a = a;
    s->req = req;
    sy_buf_init(&s->sig, SY_ANTHROPIC_MAX_SIGNATURE);
    sy_buf_init(&s->stop_seq, SY_ANTHROPIC_MAX_STOP_SEQ);
    sy_arena_cleanup(a, fd_stream_free, s);
    return s;
}

/* One SSE event: "event: NAME\ndata: " + JSON + "\n\n", all or nothing. */
typedef struct {
    sy_buf_t *out;
    size_t mark;
    sy_json_writer_t w;
    int rc;
} ev_t;

static sy_json_writer_t *ev_open(ev_t *e, sy_buf_t *out, const char *name)
{
    e->out = out;
    e->mark = out->len;
    e->rc = sy_buf_printf(out, "event: %s\ndata: ", name);
    sy_json_writer_init(&e->w, out, 0);
    sy_json_write_begin_object(&e->w);
    str_member(&e->w, "type", sy_str_c(name));
    return &e->w;
}

static int ev_close(ev_t *e)
{
    sy_json_write_end_object(&e->w);
    int rc = sy_json_write_finish(&e->w);
    if (e->rc == SY_OK && rc == SY_OK)
        rc = sy_buf_append(e->out, "\n\n", 2);
    else if (rc == SY_OK)
        rc = e->rc;
    if (rc != SY_OK)
        e->out->len = e->mark;
    return rc;
}

/* A stand-in for a message id the upstream did not give, for a request
 * without a gateway request id: derived from the request (stable for the
 * same request, different across conversations). */
static uint64_t request_hash(const sy_ir_request_t *req)
{
    if (req == NULL)
        return 0;
    uint64_t h = sy_hash_bytes(req->model.p, req->model.len) ^ req->nmessages;
    if (req->nmessages) {
        const sy_ir_message_t *m = &req->messages[req->nmessages - 1];
        for (size_t i = 0; i < m->nparts; i++)
            h = h * 31 + sy_hash_bytes(m->parts[i].text.p, m->parts[i].text.len);
    }
    return h;
}

static int message_start(fd_stream_t *s, const sy_ir_delta_t *d, sy_buf_t *out)
{
    s->started = true;
    ev_t e;
    sy_json_writer_t *w = ev_open(&e, out, "message_start");
    K(w, "message");
    sy_json_write_begin_object(w);
    K(w, "id");
    write_msg_id(w, s->a, d ? d->id : SY_STR_NULL, s->req, request_hash(s->req));
    str_member(w, "type", SY_STR("message"));
    str_member(w, "role", SY_STR("assistant"));
    str_member(w, "model", s->req && s->req->model.len ? s->req->model : d ? d->model : SY_STR_NULL);
    K(w, "content");
    sy_json_write_begin_array(w);
    sy_json_write_end_array(w);
    K(w, "stop_reason");
    sy_json_write_null(w);
    K(w, "stop_sequence");
    sy_json_write_null(w);
    K(w, "usage");
    sy_json_write_begin_object(w);
    sy_anthropic_write_usage(w, &s->usage, true);
    sy_json_write_end_object(w);
    sy_json_write_end_object(w);
    int rc = ev_close(&e);
    if (rc != SY_OK)
        return rc;
    /* the real API sends a ping right after message_start, spaced like this */
    return sy_buf_append_c(out, "event: ping\ndata: {\"type\": \"ping\"}\n\n");
}

static int block_start(fd_stream_t *s, const sy_ir_delta_t *d, sy_buf_t *out)
{
    uint32_t index = s->nblocks++;
    s->open = true;
    s->kind = d->block;
    sy_buf_clear(&s->sig);
    ev_t e;
    sy_json_writer_t *w = ev_open(&e, out, "content_block_start");
    K(w, "index");
    sy_json_write_u64(w, index);
    K(w, "content_block");
    sy_json_write_begin_object(w);
    switch (d->block) {
    case SY_IR_THINKING:
        str_member(w, "type", SY_STR("thinking"));
        str_member(w, "thinking", SY_STR(""));
        str_member(w, "signature", SY_STR(""));
        break;
    case SY_IR_REDACTED_THINKING:
        str_member(w, "type", SY_STR("redacted_thinking"));
        str_member(w, "data", d->text);
        break;
    case SY_IR_TOOL_CALL: {
        s->has_tool_call = true;
        str_member(w, "type", SY_STR("tool_use"));
        char idbuf[32];
        sy_str_t id = d->id;
        if (id.len == 0) { /* an upstream without call ids: the client needs one to answer */
            int n = snprintf(idbuf, sizeof(idbuf), "toolu_%u", index);
            id = sy_str(idbuf, (size_t)SY_MAX(n, 0));
        }
        str_member(w, "id", id);
        str_member(w, "name", d->name);
        K(w, "input");
        sy_json_write_begin_object(w);
        sy_json_write_end_object(w);
        break;
    }
    default:
        s->kind = SY_IR_TEXT;
        str_member(w, "type", SY_STR("text"));
        str_member(w, "text", SY_STR(""));
        break;
    }
    sy_json_write_end_object(w);
    return ev_close(&e);
}

static int block_delta(fd_stream_t *s, const char *type, const char *field, sy_str_t text,
                       sy_buf_t *out)
{
    ev_t e;
    sy_json_writer_t *w = ev_open(&e, out, "content_block_delta");
    K(w, "index");
    sy_json_write_u64(w, s->nblocks - 1);
    K(w, "delta");
    sy_json_write_begin_object(w);
    str_member(w, "type", sy_str_c(type));
    str_member(w, field, text);
    sy_json_write_end_object(w);
    return ev_close(&e);
}

static int block_stop(fd_stream_t *s, sy_buf_t *out)
{
    int rc;
    s->open = false;
    if (s->kind == SY_IR_THINKING && s->sig.len &&
        (rc = block_delta(s, "signature_delta", "signature", sy_buf_str(&s->sig), out)) != SY_OK)
        return rc;
    ev_t e;
    sy_json_writer_t *w = ev_open(&e, out, "content_block_stop");
    K(w, "index");
    sy_json_write_u64(w, s->nblocks - 1);
    return ev_close(&e);
}

static int message_end(fd_stream_t *s, sy_buf_t *out)
{
    int rc;
    if (s->open && (rc = block_stop(s, out)) != SY_OK)
        return rc;
    s->ended = true;
    ev_t e;
    sy_json_writer_t *w = ev_open(&e, out, "message_delta");
    K(w, "delta");
    sy_json_write_begin_object(w);
    write_stop(w, s->finish, s->stop_seq.data ? sy_buf_str(&s->stop_seq) : SY_STR(""),
               s->has_tool_call);
    sy_json_write_end_object(w);
    K(w, "usage");
    sy_json_write_begin_object(w);
    sy_anthropic_write_usage(w, &s->usage, false);
    sy_json_write_end_object(w);
    if ((rc = ev_close(&e)) != SY_OK)
        return rc;
    w = ev_open(&e, out, "message_stop");
    return ev_close(&e);
}

static int stream_error(fd_stream_t *s, const sy_ir_error_t *err, sy_buf_t *out)
{
    s->ended = true;
    ev_t e;
    sy_json_writer_t *w = ev_open(&e, out, "error");
    K(w, "error");
    sy_json_write_begin_object(w);
    str_member(w, "type", sy_str_c(sy_anthropic_error_type(sy_ir_error_status(err->cls))));
    str_member(w, "message", err->message.len ? err->message : SY_STR("Upstream error"));
    sy_json_write_end_object(w);
    return ev_close(&e);
}

int sy_anthropic_fd_stream_event(void *st, const sy_ir_delta_t *d, sy_buf_t *out)
{
    fd_stream_t *s = st;
    int rc;
    if (s->ended)
        return SY_OK;
    if (d->kind == SY_IR_DELTA_ERROR)
        return stream_error(s, &d->error, out);
    if (d->kind == SY_IR_DELTA_START) {
        if (s->started)
            return SY_OK;
        sy_ir_usage_merge(&s->usage, &d->usage);
        return message_start(s, d, out);
    }
    /* every other event belongs inside a message */
    if (!s->started && (rc = message_start(s, NULL, out)) != SY_OK)
        return rc;
    switch (d->kind) {
    case SY_IR_DELTA_BLOCK_START:
        if (s->open && (rc = block_stop(s, out)) != SY_OK)
            return rc;
        if ((rc = block_start(s, d, out)) != SY_OK)
            return rc;
        if (d->block == SY_IR_TEXT && d->text.len)
            return block_delta(s, "text_delta", "text", d->text, out);
        return SY_OK;
    case SY_IR_DELTA_TEXT:
        if (s->open && s->kind == SY_IR_TEXT && d->text.len)
            return block_delta(s, "text_delta", "text", d->text, out);
        return SY_OK;
    case SY_IR_DELTA_THINKING:
        if (s->open && s->kind == SY_IR_THINKING && d->text.len)
            return block_delta(s, "thinking_delta", "thinking", d->text, out);
        return SY_OK;
    case SY_IR_DELTA_TOOL_ARGS:
        if (s->open && s->kind == SY_IR_TOOL_CALL && d->text.len)
            return block_delta(s, "input_json_delta", "partial_json", d->text, out);
        return SY_OK;
    case SY_IR_DELTA_SIGNATURE:
        if (s->open && s->kind == SY_IR_THINKING)
            return sy_buf_append_str(&s->sig, d->text);
        return SY_OK;
    case SY_IR_DELTA_BLOCK_STOP:
        return s->open ? block_stop(s, out) : SY_OK;
    case SY_IR_DELTA_USAGE:
        sy_ir_usage_merge(&s->usage, &d->usage);
        return SY_OK;
    case SY_IR_DELTA_FINISH:
        s->finish = d->finish;
        sy_buf_clear(&s->stop_seq);
        (void)sy_buf_append_str(&s->stop_seq, d->stop_sequence); /* past the cap: left out */
        return SY_OK;
    case SY_IR_DELTA_END:
        return message_end(s, out);
    default:
        return SY_OK;
    }
}

/* --------------------------------------------------------------- errors --- */

void sy_anthropic_fd_error_body(int status, const char *type, const char *code, const char *message,
                                sy_buf_t *out)
{
    SY_UNUSED(code); /* Anthropic's errors have a type and a message only */
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    sy_json_write_begin_object(&w);
    str_member(&w, "type", SY_STR("error"));
    K(&w, "error");
    sy_json_write_begin_object(&w);
    str_member(&w, "type", sy_str_c(type ? type : sy_anthropic_error_type(status)));
    str_member(&w, "message", sy_str_c(message ? message : "Error"));
    sy_json_write_end_object(&w);
    sy_json_write_end_object(&w);
    (void)sy_json_write_finish(&w);
}

int sy_anthropic_count_tokens_body(const sy_ir_request_t *req, sy_buf_t *out)
{
    return sy_buf_printf(out, "{\"input_tokens\":%llu}",
                         (unsigned long long)sy_ir_estimate_input_tokens(req));
}
