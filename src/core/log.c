/*
 * log.c - JSON-lines (or plain text) logger.
 */
#include "core/log.h"

#include "json/json.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* sy_json_plain_prefix in whole 16-byte steps only. Its byte-at-a-time tail
 * is most of what a short value costs (a log line's values are mostly ids
 * and names of 4 to 40 bytes), so the last partial step is scanned as an
 * overlapping window of the last 16 bytes (bytes before it in the window are
 * known plain), and a value under 16 bytes from a copy padded with plain
 * bytes. */
static size_t plain_prefix(const char *s, size_t n)
{
    if (n >= 16) {
        size_t whole = n & ~(size_t)15;
        size_t k = sy_json_plain_prefix(s, whole);
        if (k < whole || whole == n)
            return k;
        return n - 16 + sy_json_plain_prefix(s + n - 16, 16);
    }
    char pad[16];
    memset(pad, 'a', sizeof(pad));
    memcpy(pad, s, n);
    size_t k = sy_json_plain_prefix(pad, sizeof(pad));
    return k < n ? k : n;
}

size_t sy_log_esc_to(char *out, size_t max, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    size_t i = 0;
    while (i < len) {
        /* A run of bytes that go out as they are: one copy. The JSON scanner
         * finds plain ASCII 16 bytes at a time; it stops at bytes >= 0x80 too,
         * which the log keeps as they are (so they extend the run), and lets
         * DEL through, which the log escapes (so the run ends before one). */
        size_t j = i + plain_prefix(s + i, len - i);
        while (j < len && (unsigned char)s[j] >= 0x80) {
            j++;
            j += plain_prefix(s + j, len - j);
        }
        const char *del = j > i ? memchr(s + i, 0x7f, j - i) : NULL;
        if (del)
            j = (size_t)(del - s);
        size_t run = j - i;
        if (run) {
            if (run > max - o)
                run = max - o;
            memcpy(out + o, s + i, run);
            o += run;
            if (i + run < j)
                break; /* out of room */
            i = j;
            continue;
        }
        unsigned char c = (unsigned char)s[i++];
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
