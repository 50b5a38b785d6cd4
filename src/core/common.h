/*
 * common.h - the error convention and small helpers every module shares.
 *
 * Functions that can fail return int: 0 (SY_OK) on success, a negative
 * SY_E* code on failure. SY_EAGAIN is distinct: "not yet, call again when
 * more input arrives" (incremental parsers, non-blocking I/O). Functions that
 * return pointers return NULL only where the contract says so; allocation
 * failure aborts (DESIGN.md section 2: caps make input-driven OOM impossible).
 */
#ifndef SY_CORE_COMMON_H
#define SY_CORE_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

enum {
    SY_OK = 0,
    SY_ERR = -1,       /* generic failure; details logged or in an err string */
    SY_EAGAIN = -2,    /* incomplete input / would block: call again later */
    SY_ETOOBIG = -3,   /* a named cap was exceeded */
    SY_EINVAL = -4,    /* malformed input */
    SY_ENOTFOUND = -5, /* lookup miss */
    SY_ECLOSED = -6,   /* peer closed */
    SY_ETIMEDOUT = -7,
};

#define SY_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SY_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SY_MAX(a, b) ((a) > (b) ? (a) : (b))
#define SY_UNUSED(x) ((void)(x))

#if defined(__GNUC__)
#define SY_LIKELY(x) __builtin_expect(!!(x), 1)
#define SY_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SY_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SY_NORETURN __attribute__((noreturn))
#else
#define SY_LIKELY(x) (x)
#define SY_UNLIKELY(x) (x)
#define SY_PRINTF(f, a)
#define SY_NORETURN
#endif

/* Abort with a message: for programming errors and allocation failure only. */
SY_NORETURN void sy_panic(const char *fmt, ...) SY_PRINTF(1, 2);

/* malloc/calloc/realloc/strdup that abort on failure instead of returning NULL. */
void *sy_malloc(size_t n);
void *sy_calloc(size_t count, size_t n);
void *sy_realloc(void *p, size_t n);
char *sy_strdup(const char *s);

#endif
