/*
 * log.h - levelled logging, one line per record, JSON lines by default.
 *
 * Each record is formatted into a stack buffer and written with one write(2)
 * so lines from different threads never interleave. Callers pass a message
 * and optional key/value fields; values are JSON-escaped here. Never log a
 * secret: the log has no redaction pass, the call sites must not pass them.
 */
#ifndef SY_CORE_LOG_H
#define SY_CORE_LOG_H

#include "core/common.h"
#include "core/str.h"

typedef enum { SY_LOG_DEBUG = 0, SY_LOG_INFO, SY_LOG_WARN, SY_LOG_ERROR } sy_log_level_t;
typedef enum { SY_LOG_JSON = 0, SY_LOG_TEXT } sy_log_format_t;

void sy_log_setup(sy_log_level_t level, sy_log_format_t format, int fd);
sy_log_level_t sy_log_level(void);
static inline bool sy_log_enabled(sy_log_level_t l) { return l >= sy_log_level(); }
/* Name <-> level; returns -1 for an unknown name. */
int sy_log_level_parse(const char *name);
const char *sy_log_level_name(sy_log_level_t l);

/*
 * sy_log(level, msg, fmt_fields, ...): fmt_fields is a printf format whose
 * expansion is a list of extra fields written verbatim after "msg", e.g.
 *   sy_log(SY_LOG_INFO, "listening", "\"addr\":\"%s\",\"worker\":%d", addr, id);
 * Pass NULL for no fields. Use sy_log_esc() to embed untrusted strings.
 */
void sy_log(sy_log_level_t level, const char *msg, const char *fmt_fields, ...) SY_PRINTF(3, 4);

/* Write an already-built JSON object line (used by the access log). */
void sy_log_raw(const char *line, size_t len);

/* JSON-escape s into out (NUL-terminated, truncated to fit; bytes of out
 * after the NUL may be overwritten). Returns out. */
char *sy_log_esc(char *out, size_t outsz, const char *s, size_t len);
/* JSON-escape s into out, at most max bytes (an escape sequence is never cut:
 * the output stops before one that does not fit), no NUL. Returns the bytes
 * written. For writers that escape straight into their own buffer: out has
 * room for max bytes, and bytes of it after the returned length may be
 * overwritten too (a short value is stored 16 bytes at a time). */
size_t sy_log_esc_to(char *out, size_t max, const char *s, size_t len);

#define sy_debug(msg, ...) \
    do { if (sy_log_enabled(SY_LOG_DEBUG)) sy_log(SY_LOG_DEBUG, msg, __VA_ARGS__); } while (0)
#define sy_info(msg, ...) sy_log(SY_LOG_INFO, msg, __VA_ARGS__)
#define sy_warn(msg, ...) sy_log(SY_LOG_WARN, msg, __VA_ARGS__)
#define sy_error(msg, ...) sy_log(SY_LOG_ERROR, msg, __VA_ARGS__)

#endif
