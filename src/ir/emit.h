/*
 * emit.h - the IR stream emitter every provider stream decoder embeds.
 *
 * A stream decoder turns upstream events into IR deltas. Every delta it
 * produces leaves through one sy_ir_emitter_t, which holds the callback and
 * its context and the bookkeeping the stream invariants of ir/ir.h need
 * (stated executably in ir/check.h): whether START, FINISH, END or ERROR
 * went out, the open block (index, kind), the next block index, and the
 * sticky result. The invariants therefore hold by construction:
 *   - block indexes are handed out here, 0, 1, 2, ... without gaps;
 *   - opening a block closes the open one first, and so does FINISH;
 *   - content deltas carry the open block's index;
 *   - START goes out once (later calls do nothing), FINISH once, END only
 *     after FINISH, and nothing at all after END or ERROR;
 *   - the first non-OK value the callback returns is kept: every later call
 *     returns it without calling the callback again.
 * A call that would break a rule all the same (content outside a block of
 * its kind, a block or a FINISH after FINISH, END without FINISH, a block,
 * USAGE or FINISH before START, an ERROR without a class) is a decoder bug.
 * The emitter then ends the stream with an ERROR of class INTERNAL instead
 * of passing on a delta an encoder cannot handle; fuzz builds (SY_FUZZING)
 * abort, so the fuzz targets report the bug rather than a valid stream.
 *
 * Every emitting function returns SY_OK or the sticky result: the
 * callback's first non-OK return, else SY_EINVAL once an ERROR went out
 * (SY_OK after a clean END, when nothing more is emitted). That is what a
 * decoder's stream_feed / stream_end must return (providers/provider.h), so
 * decoders pass it on as it is.
 *
 * Empty content is not passed on: a zero-length TEXT, THINKING, SIGNATURE
 * or TOOL_ARGS fragment emits nothing (and opens nothing). Strings are
 * passed on as views, valid during the callback only, as the IR says.
 *
 * The struct is plain data owned by the decoder's state: all zero is a
 * fresh emitter (sy_ir_emit_init says so explicitly); sy_ir_emit_bind sets
 * the callback each time the decoder is fed. Decoders read its fields
 * (started, finished, open, open_kind, ...) but change them only through
 * these functions.
 */
#ifndef SY_IR_EMIT_H
#define SY_IR_EMIT_H

#include "ir/ir.h"

typedef struct {
    sy_ir_delta_cb cb;
    void *ctx;
    int rc;                      /* the sticky result (above) */
    bool started, finished;      /* START, FINISH went out */
    bool ended, failed;          /* END, ERROR went out */
    bool open;                   /* a block is open... */
    sy_ir_part_kind_t open_kind; /* ...of this kind */
    uint32_t open_index;         /* ...with this index */
    bool open_signed;            /* ...and a SIGNATURE went into it */
    size_t open_bytes;           /* content bytes emitted into it (initial text included) */
    uint32_t next_index;         /* the index the next block gets */
    bool usage_sent;             /* a USAGE delta went out... */
    sy_ir_usage_t last_usage;    /* ...the last one carrying these figures */
} sy_ir_emitter_t;

/* A fresh emitter (the same as all zero). */
void sy_ir_emit_init(sy_ir_emitter_t *e);

/* The callback (and its ctx) the next deltas go to: decoders bind the pair
 * they were given at the top of each stream_feed and stream_end. */
void sy_ir_emit_bind(sy_ir_emitter_t *e, sy_ir_delta_cb cb, void *ctx);

/* Nothing more will be emitted: END or ERROR went out, or the callback
 * asked to stop. The decoder then returns e->rc. */
static inline bool sy_ir_emit_done(const sy_ir_emitter_t *e) { return e->ended || e->rc != SY_OK; }

/* Whether content for a block of this kind continues the open block: one
 * is open, of this kind, and (a thinking block) has not had its signature
 * yet (the signature closes the reasoning it signs; more reasoning starts a
 * new block). */
bool sy_ir_emit_continues(const sy_ir_emitter_t *e, sy_ir_part_kind_t kind);

/* START with the message id, the model and the usage known so far (usage
 * may be NULL). Once only: after the first, a call does nothing. */
int sy_ir_emit_start(sy_ir_emitter_t *e, sy_str_t id, sy_str_t model, const sy_ir_usage_t *usage);

/* BLOCK_START of a TEXT, THINKING, REDACTED_THINKING or TOOL_CALL block,
 * closing the open block first. id and name: a tool call's; text: initial
 * content carried by the BLOCK_START itself (redacted thinking data), or
 * empty. The block gets the next index. */
int sy_ir_emit_open(sy_ir_emitter_t *e, sy_ir_part_kind_t kind, sy_str_t id, sy_str_t name,
                    sy_str_t text);

/* BLOCK_STOP of the open block; nothing when none is open. */
int sy_ir_emit_close(sy_ir_emitter_t *e);

/* A content delta (TEXT, THINKING, SIGNATURE, TOOL_ARGS) into the open
 * block, which must be of the kind the delta belongs in (TEXT: text,
 * THINKING and SIGNATURE: thinking, TOOL_ARGS: tool call). */
int sy_ir_emit_content(sy_ir_emitter_t *e, sy_ir_delta_kind_t kind, sy_str_t text);

/* The same, but where the open block does not continue with this content
 * (sy_ir_emit_continues), a block of the right kind is opened first (the
 * open one closed). Not for TOOL_ARGS: a tool call's block needs its id
 * and name, so sy_ir_emit_open it. */
int sy_ir_emit_append(sy_ir_emitter_t *e, sy_ir_delta_kind_t kind, sy_str_t text);

/* USAGE with cumulative figures. _changed skips it when the last USAGE
 * that went out carried the same figures (upstreams that repeat their
 * usage on every event). */
int sy_ir_emit_usage(sy_ir_emitter_t *e, const sy_ir_usage_t *u);
int sy_ir_emit_usage_changed(sy_ir_emitter_t *e, const sy_ir_usage_t *u);

/* FINISH (a reason other than UNSET; stop_sequence may be empty), closing
 * the open block first. Once only. */
int sy_ir_emit_finish(sy_ir_emitter_t *e, sy_ir_finish_t finish, sy_str_t stop_sequence);

/* END, after FINISH. The stream is over; the result stays SY_OK (or what
 * the callback returned for the END). */
int sy_ir_emit_end(sy_ir_emitter_t *e);

/* ERROR: the stream is over. Returns the callback's non-OK value, or
 * SY_EINVAL, and keeps it. Allowed at any point, before START included. */
int sy_ir_emit_error(sy_ir_emitter_t *e, const sy_ir_error_t *err);

/* ERROR of class cls with this message (a view that must stay valid during
 * the callback) and no status or type. */
int sy_ir_emit_fail(sy_ir_emitter_t *e, sy_ir_error_class_t cls, sy_str_t message);

#endif
