/*
 * fmt.h - vsnprintf for the hot path.
 *
 * sy_vsnprintf() has vsnprintf's contract (writes at most cap bytes
 * including the terminating NUL when cap > 0, returns the length the whole
 * output has, negative on a bad format) and its exact output. It formats the
 * conversions the gateway's per-request code uses itself: %s %c %d %i %u %x
 * %X %% with the flags '-' and '0', a width (digits or *), a precision on
 * %s (digits or *), and the length modifiers hh h l ll z j t; and %f with a
 * precision of at most 9 (exact: see fixed() in fmt.c). Anything else (%e
 * %g, %p, '+', '#', a precision on an integer, ...) is handed to the C
 * library's vsnprintf for that call, so every format still works.
 *
 * Why: glibc's vsnprintf sets up a FILE stream per call and pays about a
 * thousand instructions before the first byte; the access log, the audit
 * record and the response head made ~70 such calls per proxied request,
 * close to a third of the instructions a request cost (docs/internals/perf.md).
 */
#ifndef SY_CORE_FMT_H
#define SY_CORE_FMT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "core/common.h"

int sy_vsnprintf(char *dst, size_t cap, const char *fmt, va_list ap) SY_PRINTF(3, 0);
int sy_snprintf(char *dst, size_t cap, const char *fmt, ...) SY_PRINTF(3, 4);
/* The decimal digits of v at out (no NUL; 20 bytes hold any value). Returns
 * their count. */
size_t sy_fmt_u64(char out[20], uint64_t v);

#endif
