/*
 * emit.c - the IR stream emitter (see emit.h).
 *
 * Each function updates the state first and then calls the callback, so
 * the state says what the receiver has been told even when the callback
 * asks to stop.
 */
#include "ir/emit.h"

#include <string.h>

void sy_ir_emit_init(sy_ir_emitter_t *e) { memset(e, 0, sizeof(*e)); }

void sy_ir_emit_bind(sy_ir_emitter_t *e, sy_ir_delta_cb cb, void *ctx)
{
    e->cb = cb;
    e->ctx = ctx;
}

/* Pass d on and keep the first non-OK answer. */
static int deliver(sy_ir_emitter_t *e, const sy_ir_delta_t *d)
{
    int rc = e->cb(e->ctx, d);
    if (rc != SY_OK && e->rc == SY_OK)
        e->rc = rc;
    return e->rc;
}

/* A call that would break the IR's order: the decoder has a bug. The client
 * still gets a well-formed stream, ended by an ERROR that says so. */
static int misuse(sy_ir_emitter_t *e, const char *what)
{
#ifdef SY_FUZZING
    sy_panic("ir/emit: a stream decoder broke the IR order: %s", what);
#else
    SY_UNUSED(what);
#endif
    sy_ir_error_t err;
    memset(&err, 0, sizeof(err));
    err.cls = SY_IR_ERR_INTERNAL;
    err.message = SY_STR("gateway: the stream decoder broke the order of the stream");
    return sy_ir_emit_error(e, &err);
}

int sy_ir_emit_error(sy_ir_emitter_t *e, const sy_ir_error_t *err)
{
    if (sy_ir_emit_done(e))
        return e->rc;
    if (err->cls == SY_IR_ERR_NONE)
        return misuse(e, "an ERROR without a class");
    sy_ir_delta_t d = {.kind = SY_IR_DELTA_ERROR, .error = *err};
    e->failed = true;
    e->open = false;
    if (deliver(e, &d) == SY_OK)
        e->rc = SY_EINVAL;
    return e->rc;
}

int sy_ir_emit_fail(sy_ir_emitter_t *e, sy_ir_error_class_t cls, sy_str_t message)
{
    sy_ir_error_t err;
    memset(&err, 0, sizeof(err));
    err.cls = cls;
    err.message = message;
    return sy_ir_emit_error(e, &err);
}

bool sy_ir_emit_continues(const sy_ir_emitter_t *e, sy_ir_part_kind_t kind)
{
    return e->open && e->open_kind == kind && !(kind == SY_IR_THINKING && e->open_signed);
}

int sy_ir_emit_start(sy_ir_emitter_t *e, sy_str_t id, sy_str_t model, const sy_ir_usage_t *usage)
{
    if (sy_ir_emit_done(e) || e->started)
        return e->rc;
    sy_ir_delta_t d = {.kind = SY_IR_DELTA_START, .id = id, .model = model};
    if (usage)
        d.usage = *usage;
    e->started = true;
    return deliver(e, &d);
}

int sy_ir_emit_open(sy_ir_emitter_t *e, sy_ir_part_kind_t kind, sy_str_t id, sy_str_t name,
                    sy_str_t text)
{
    if (sy_ir_emit_done(e))
        return e->rc;
    if (!e->started)
        return misuse(e, "a block before START");
    if (e->finished)
        return misuse(e, "a block after FINISH");
    if (kind != SY_IR_TEXT && kind != SY_IR_THINKING && kind != SY_IR_REDACTED_THINKING &&
        kind != SY_IR_TOOL_CALL)
        return misuse(e, "a block of a kind streams do not carry");
    int rc = sy_ir_emit_close(e);
    if (rc != SY_OK)
        return rc;
    sy_ir_delta_t d = {.kind = SY_IR_DELTA_BLOCK_START, .index = e->next_index, .block = kind,
                       .id = id, .name = name, .text = text};
    e->open = true;
    e->open_kind = kind;
    e->open_index = e->next_index++;
    e->open_signed = false;
    e->open_bytes = text.len;
    return deliver(e, &d);
}

int sy_ir_emit_close(sy_ir_emitter_t *e)
{
    if (sy_ir_emit_done(e) || !e->open)
        return e->rc;
    sy_ir_delta_t d = {.kind = SY_IR_DELTA_BLOCK_STOP, .index = e->open_index};
    e->open = false;
    return deliver(e, &d);
}

/* The kind of block a content delta belongs in; false for other deltas. */
static bool block_of(sy_ir_delta_kind_t kind, sy_ir_part_kind_t *block)
{
    switch (kind) {
    case SY_IR_DELTA_TEXT:
        *block = SY_IR_TEXT;
        return true;
    case SY_IR_DELTA_THINKING:
    case SY_IR_DELTA_SIGNATURE:
        *block = SY_IR_THINKING;
        return true;
    case SY_IR_DELTA_TOOL_ARGS:
        *block = SY_IR_TOOL_CALL;
        return true;
    default:
        return false;
    }
}

int sy_ir_emit_content(sy_ir_emitter_t *e, sy_ir_delta_kind_t kind, sy_str_t text)
{
    if (sy_ir_emit_done(e))
        return e->rc;
    sy_ir_part_kind_t block;
    if (!block_of(kind, &block))
        return misuse(e, "content of a kind that is not content");
    if (text.len == 0)
        return e->rc;
    if (!e->open || e->open_kind != block)
        return misuse(e, "content outside a block of its kind");
    sy_ir_delta_t d = {.kind = kind, .index = e->open_index, .text = text};
    e->open_bytes += text.len;
    if (kind == SY_IR_DELTA_SIGNATURE)
        e->open_signed = true;
    return deliver(e, &d);
}

int sy_ir_emit_append(sy_ir_emitter_t *e, sy_ir_delta_kind_t kind, sy_str_t text)
{
    /* Only a fragment that will go out needs a block; sy_ir_emit_content
     * answers for the rest (a finished stream, an empty fragment, a delta
     * that is not content) as it would without one. */
    sy_ir_part_kind_t block;
    if (!sy_ir_emit_done(e) && text.len && block_of(kind, &block) &&
        !sy_ir_emit_continues(e, block)) {
        if (block == SY_IR_TOOL_CALL)
            return misuse(e, "tool arguments outside a tool call's block");
        int rc = sy_ir_emit_open(e, block, SY_STR_NULL, SY_STR_NULL, SY_STR_NULL);
        if (rc != SY_OK)
            return rc;
    }
    return sy_ir_emit_content(e, kind, text);
}

static bool usage_eq(const sy_ir_usage_t *a, const sy_ir_usage_t *b)
{
    return a->has_input == b->has_input && a->input == b->input &&
           a->has_output == b->has_output && a->output == b->output &&
           a->has_cached_input == b->has_cached_input && a->cached_input == b->cached_input &&
           a->has_cache_write == b->has_cache_write && a->cache_write == b->cache_write &&
           a->has_reasoning == b->has_reasoning && a->reasoning == b->reasoning;
}

int sy_ir_emit_usage(sy_ir_emitter_t *e, const sy_ir_usage_t *u)
{
    if (sy_ir_emit_done(e))
        return e->rc;
    if (!e->started)
        return misuse(e, "USAGE before START");
    sy_ir_delta_t d = {.kind = SY_IR_DELTA_USAGE, .usage = *u};
    e->usage_sent = true;
    e->last_usage = *u;
    return deliver(e, &d);
}

int sy_ir_emit_usage_changed(sy_ir_emitter_t *e, const sy_ir_usage_t *u)
{
    if (e->usage_sent && usage_eq(u, &e->last_usage))
        return e->rc;
    return sy_ir_emit_usage(e, u);
}

int sy_ir_emit_finish(sy_ir_emitter_t *e, sy_ir_finish_t finish, sy_str_t stop_sequence)
{
    if (sy_ir_emit_done(e))
        return e->rc;
    if (!e->started)
        return misuse(e, "FINISH before START");
    if (e->finished)
        return misuse(e, "a second FINISH");
    if (finish == SY_IR_FINISH_UNSET)
        return misuse(e, "FINISH without a reason");
    int rc = sy_ir_emit_close(e);
    if (rc != SY_OK)
        return rc;
    sy_ir_delta_t d = {.kind = SY_IR_DELTA_FINISH, .finish = finish,
                       .stop_sequence = stop_sequence};
    e->finished = true;
    return deliver(e, &d);
}

int sy_ir_emit_end(sy_ir_emitter_t *e)
{
    if (sy_ir_emit_done(e))
        return e->rc;
    if (!e->finished)
        return misuse(e, "END without FINISH");
    sy_ir_delta_t d = {.kind = SY_IR_DELTA_END};
    e->ended = true;
    return deliver(e, &d);
}
