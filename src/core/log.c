/*
 * log.c - JSON-lines (or plain text) logger.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static _Atomic int g_level = SY_LOG_INFO;
static _Atomic int g_format = SY_LOG_JSON;
static _Atomic int g_fd = 2;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void sy_log_setup(sy_log_level_t level, sy_log_format_t format, int fd)
{
    atomic_store(&g_level, (int)level);
    atomic_store(&g_format, (int)format);
    atomic_store(&g_fd, fd);
}

sy_log_level_t sy_log_level(void) { return (sy_log_level_t)atomic_load_explicit(&g_level, memory_order_relaxed); }

int sy_log_level_parse(const char *name)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(level_names); i++)
        if (strcmp(name, level_names[i]) == 0)
            return (int)i;
    if (strcmp(name, "warning") == 0)
        return SY_LOG_WARN;
    return -1;
}

const char *sy_log_level_name(sy_log_level_t l)
{
    return (unsigned)l < SY_ARRAY_LEN(level_names) ? level_names[l] : "info";
}

/* Bytes the log escapes: control characters, '"', '\\' and DEL. Bytes >= 0x80
 * go out as they are. */
static inline bool log_plain(unsigned char c) { return c >= 0x20 && c != '"' && c != '\\' && c != 0x7f; }

#if defined(__SSE2__)
/* Bit k set when s[k] is escaped (16 bytes at s). Signed compares: bytes
 * >= 0x80 are negative, so "< 0x20 and not negative" is a control byte. */
static inline unsigned esc_mask16(const char *s)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
    __m128i ctl = _mm_andnot_si128(_mm_cmplt_epi8(x, _mm_setzero_si128()),
                                   _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)));
    __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                          _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
                             _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)), ctl));
    return (unsigned)_mm_movemask_epi8(m);
}
#endif

/* The first byte at or after j that is escaped, or len. A log line's values
 * are mostly ids and names of 4 to 40 bytes and its route member is JSON
 * with a quote every few bytes, so the cost that matters is per run, not
 * per byte: one 16-byte test finds a run's end (DEL and bytes >= 0x80 in
 * the same test), the last partial step is an overlapping window of the
 * value's last 16 bytes (its bytes before j shifted out), and a value under
 * 16 bytes is scanned a byte at a time. */
static inline size_t run_end(const char *s, size_t j, size_t len)
{
#if defined(__SSE2__)
    if (len >= 16) {
        while (len - j >= 16) {
            unsigned m = esc_mask16(s + j);
            if (m)
                return j + (size_t)__builtin_ctz(m);
            j += 16;
        }
        if (j == len)
            return len;
        unsigned m = esc_mask16(s + len - 16) >> (16 - (len - j));
        return m ? j + (size_t)__builtin_ctz(m) : len;
    }
#endif
    while (j < len && log_plain((unsigned char)s[j]))
        j++;
    return j;
}

size_t sy_log_esc_to(char *out, size_t max, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    size_t i = 0;
#if defined(__SSE2__)
    /* A value under 16 bytes that needs no escape (most of a log line's):
     * one test of a zero-padded copy, and when the output has room for 16
     * bytes one store (the bytes after len are scratch the caller overwrites
     * or ignores: it gave max bytes). */
    if (len < 16 && max >= 16) {
        char pad[16] = {0};
        sy_copy_short(pad, s, len);
        if ((esc_mask16(pad) & ((1u << len) - 1)) == 0) {
            _mm_storeu_si128((__m128i *)(void *)out,
                             _mm_loadu_si128((const __m128i *)(const void *)pad));
            return len;
        }
    }
    /* 16 to 32 bytes (ids, paths, model names) with none to escape: two
     * overlapping 16-byte tests and copies. */
    if (len >= 16 && len <= 32 && max >= len &&
        (esc_mask16(s) | esc_mask16(s + len - 16)) == 0) {
        __m128i head = _mm_loadu_si128((const __m128i *)(const void *)s);
        __m128i tail = _mm_loadu_si128((const __m128i *)(const void *)(s + len - 16));
        _mm_storeu_si128((__m128i *)(void *)out, head);
        _mm_storeu_si128((__m128i *)(void *)(out + len - 16), tail);
        return len;
    }
#endif
    while (i < len) {
        /* A run of bytes that go out as they are: one copy. */
        size_t j = run_end(s, i, len);
        size_t run = j - i;
        if (run) {
            if (run > max - o) {
                memcpy(out + o, s + i, max - o);
                return max; /* out of room */
            }
            memcpy(out + o, s + i, run);
            o += run;
            if (j == len)
                break;
        }
        unsigned char c = (unsigned char)s[j];
        i = j + 1;
        char tmp[6];
        size_t n;
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            n = 2;
        } else if (c == '\n') {
            memcpy(tmp, "\\n", 2);
            n = 2;
        } else {
            memcpy(tmp, "\\u00", 4);
            tmp[4] = hex[c >> 4];
            tmp[5] = hex[c & 15];
            n = 6;
        }
        if (n > max - o)
            break; /* an escape is never cut */
        memcpy(out + o, tmp, n);
        o += n;
    }
    return o;
}

char *sy_log_esc(char *out, size_t outsz, const char *s, size_t len)
{
    if (outsz == 0)
        return out;
    out[sy_log_esc_to(out, outsz - 1, s, len)] = '\0';
    return out;
}

void sy_log_raw(const char *line, size_t len)
{
    int fd = atomic_load_explicit(&g_fd, memory_order_relaxed);
    while (len) {
        ssize_t w = write(fd, line, len);
        if (w <= 0)
            return; /* nowhere better to report a failing log fd */
        line += w;
        len -= (size_t)w;
    }
}

void sy_log(sy_log_level_t level, const char *msg, const char *fmt_fields, ...)
{
    if (level < sy_log_level())
        return;
    char line[4096];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char when[64];
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000));
    char emsg[1024];
    sy_log_esc(emsg, sizeof(emsg), msg, strlen(msg));
    size_t n;
    bool json = atomic_load_explicit(&g_format, memory_order_relaxed) == SY_LOG_JSON;
    if (json)
        n = (size_t)snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"",
                             when, level_names[level], emsg);
    else
        n = (size_t)snprintf(line, sizeof(line), "%s %-5s %s", when, level_names[level], msg);
    if (n >= sizeof(line))
        n = sizeof(line) - 1;
    if (fmt_fields && *fmt_fields && n < sizeof(line) - 3) {
        line[n++] = json ? ',' : ' ';
        va_list ap;
        va_start(ap, fmt_fields);
        int k = vsnprintf(line + n, sizeof(line) - n - 2, fmt_fields, ap);
        va_end(ap);
        if (k > 0)
            n += SY_MIN((size_t)k, sizeof(line) - n - 3);
    }
    if (json)
        line[n++] = '}';
    line[n++] = '\n';
    sy_log_raw(line, n);
}
