/*
 * check.h - a validator for IR stream delta sequences and whole responses.
 *
 * Every stream decoder promises the invariants written at the top of
 * ir/ir.h, and every front-door stream encoder relies on them. This checker
 * states them once, executably, so unit tests, the translation runner and
 * the fuzz targets of every adapter hold decoders to the same contract.
 *
 * The rules it enforces, in order of the stream:
 *   - START first, exactly once. An ERROR may come at any point, START
 *     included (a stream that fails before its first event), and ends it.
 *   - BLOCK_START only after START and before FINISH, with no block open,
 *     its index the next one (0, 1, 2, ...), its kind TEXT, THINKING,
 *     REDACTED_THINKING or TOOL_CALL.
 *   - TEXT inside an open TEXT block, THINKING and SIGNATURE inside an open
 *     THINKING block, TOOL_ARGS inside an open TOOL_CALL block, each with
 *     the open block's index.
 *   - BLOCK_STOP closes the open block (same index).
 *   - USAGE any number of times after START (before END).
 *   - FINISH exactly once, after START, with no block open, with a finish
 *     reason other than UNSET; no BLOCK_START after it.
 *   - END after FINISH, with no block open; nothing after END or ERROR.
 * A complete sequence ends with END or ERROR (sy_ir_check_end).
 */
#ifndef SY_IR_CHECK_H
#define SY_IR_CHECK_H

#include "ir/ir.h"

typedef struct {
    bool started, finished, ended, failed;
    bool open;                 /* a block is open */
    uint32_t open_index;       /* ...this one */
    sy_ir_part_kind_t open_kind;
    uint32_t next_index;       /* the index the next BLOCK_START must carry */
    size_t seen;               /* deltas checked so far */
    char why[160];             /* the first violation, once failed */
} sy_ir_check_t;

void sy_ir_check_init(sy_ir_check_t *c);

/* Check the next delta. SY_OK, or SY_EINVAL with c->why set (sticky: every
 * later call fails too). */
int sy_ir_check_delta(sy_ir_check_t *c, const sy_ir_delta_t *d);

/* A sy_ir_delta_cb wrapper: checks d against the sy_ir_check_t in ctx. */
int sy_ir_check_cb(void *ctx, const sy_ir_delta_t *d);

/* The stream is over: SY_OK when it ended with END or ERROR and broke no
 * rule, else SY_EINVAL with c->why set. */
int sy_ir_check_end(sy_ir_check_t *c);

/* A whole response: parts of the kinds a response may hold (TEXT,
 * THINKING, REDACTED_THINKING, TOOL_CALL), tool calls with a name and
 * arguments, a finish reason set. SY_OK, or SY_EINVAL with *why a static
 * sentence. */
int sy_ir_check_response(const sy_ir_response_t *r, const char **why);

#endif
