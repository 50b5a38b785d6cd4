/*
 * check.c - the IR stream and response validator (see check.h).
 */
#include "ir/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sy_ir_check_init(sy_ir_check_t *c) { memset(c, 0, sizeof(*c)); }

static const char *delta_name(sy_ir_delta_kind_t k)
{
    static const char *const names[] = {"START",          "BLOCK_START", "TEXT",  "THINKING",
                                        "SIGNATURE",      "TOOL_ARGS",   "BLOCK_STOP",
                                        "USAGE",          "FINISH",      "END",   "ERROR"};
    return (unsigned)k < SY_ARRAY_LEN(names) ? names[k] : "?";
}

static int fail(sy_ir_check_t *c, const sy_ir_delta_t *d, const char *fmt, ...) SY_PRINTF(3, 4);

static int fail(sy_ir_check_t *c, const sy_ir_delta_t *d, const char *fmt, ...)
{
    if (!c->failed) {
        int n = snprintf(c->why, sizeof(c->why), "delta %zu (%s): ", c->seen,
                         d ? delta_name(d->kind) : "end");
        if (n > 0 && (size_t)n < sizeof(c->why)) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->why + n, sizeof(c->why) - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    c->failed = true;
    return SY_EINVAL;
}

/* The open block must be of kind k and carry index i. */
static int in_block(sy_ir_check_t *c, const sy_ir_delta_t *d, sy_ir_part_kind_t k)
{
    if (!c->open)
        return fail(c, d, "content outside any block");
    if (c->open_kind != k)
        return fail(c, d, "content of the wrong kind for open block %u", c->open_index);
    if (d->index != c->open_index)
        return fail(c, d, "index %u but block %u is open", d->index, c->open_index);
    return SY_OK;
}

int sy_ir_check_delta(sy_ir_check_t *c, const sy_ir_delta_t *d)
{
    if (c->failed)
        return SY_EINVAL;
    int rc = SY_OK;
    if (c->ended) {
        rc = fail(c, d, "after the end of the stream");
        goto out;
    }
    if (d->kind == SY_IR_DELTA_ERROR) {
        if (d->error.cls == SY_IR_ERR_NONE)
            rc = fail(c, d, "error without a class");
        c->ended = true;
        goto out;
    }
    if (d->kind != SY_IR_DELTA_START && !c->started) {
        rc = fail(c, d, "before START");
        goto out;
    }
    switch (d->kind) {
    case SY_IR_DELTA_START:
        if (c->started)
            rc = fail(c, d, "a second START");
        c->started = true;
        break;
    case SY_IR_DELTA_BLOCK_START:
        if (c->finished)
            rc = fail(c, d, "a block after FINISH");
        else if (c->open)
            rc = fail(c, d, "block %u opened while block %u is open", d->index, c->open_index);
        else if (d->index != c->next_index)
            rc = fail(c, d, "index %u, expected %u", d->index, c->next_index);
        else if (d->block != SY_IR_TEXT && d->block != SY_IR_THINKING &&
                 d->block != SY_IR_REDACTED_THINKING && d->block != SY_IR_TOOL_CALL)
            rc = fail(c, d, "a block of kind %d", (int)d->block);
        c->open = true;
        c->open_index = d->index;
        c->open_kind = d->block;
        c->next_index = d->index + 1;
        break;
    case SY_IR_DELTA_TEXT:
        rc = in_block(c, d, SY_IR_TEXT);
        break;
    case SY_IR_DELTA_THINKING:
    case SY_IR_DELTA_SIGNATURE:
        rc = in_block(c, d, SY_IR_THINKING);
        break;
    case SY_IR_DELTA_TOOL_ARGS:
        rc = in_block(c, d, SY_IR_TOOL_CALL);
        break;
    case SY_IR_DELTA_BLOCK_STOP:
        if (!c->open)
            rc = fail(c, d, "no block is open");
        else if (d->index != c->open_index)
            rc = fail(c, d, "index %u but block %u is open", d->index, c->open_index);
        c->open = false;
        break;
    case SY_IR_DELTA_USAGE:
        break;
    case SY_IR_DELTA_FINISH:
        if (c->finished)
            rc = fail(c, d, "a second FINISH");
        else if (c->open)
            rc = fail(c, d, "block %u is still open", c->open_index);
        else if (d->finish == SY_IR_FINISH_UNSET)
            rc = fail(c, d, "no finish reason");
        c->finished = true;
        break;
    case SY_IR_DELTA_END:
        if (!c->finished)
            rc = fail(c, d, "END without FINISH");
        else if (c->open)
            rc = fail(c, d, "block %u is still open", c->open_index);
        c->ended = true;
        break;
    case SY_IR_DELTA_ERROR:
        break;
    default:
        rc = fail(c, d, "unknown delta kind %d", (int)d->kind);
        break;
    }
out:
    c->seen++;
    return rc;
}

int sy_ir_check_cb(void *ctx, const sy_ir_delta_t *d)
{
    sy_ir_check_delta(ctx, d);
    return SY_OK;
}

int sy_ir_check_end(sy_ir_check_t *c)
{
    if (c->failed)
        return SY_EINVAL;
    if (!c->ended)
        return fail(c, NULL, "the stream ended without END or ERROR");
    return SY_OK;
}

int sy_ir_check_response(const sy_ir_response_t *r, const char **why)
{
    *why = NULL;
    if (r->nparts && r->parts == NULL)
        *why = "parts missing";
    for (size_t i = 0; *why == NULL && i < r->nparts; i++) {
        const sy_ir_part_t *p = &r->parts[i];
        switch (p->kind) {
        case SY_IR_TEXT:
        case SY_IR_THINKING:
        case SY_IR_REDACTED_THINKING:
            break;
        case SY_IR_TOOL_CALL:
            if (p->name.len == 0)
                *why = "a tool call without a name";
            else if (p->arguments.len == 0)
                *why = "a tool call without arguments (\"{}\" for none)";
            break;
        default:
            *why = "a part of a kind a response cannot hold";
            break;
        }
    }
    if (*why == NULL && r->finish == SY_IR_FINISH_UNSET)
        *why = "no finish reason";
    return *why ? SY_EINVAL : SY_OK;
}
