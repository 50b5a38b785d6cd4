/*
 * access.c - buffered JSON access log lines.
 */
#include "obs/access.h"

#include <string.h>
#include <time.h>

#include "core/fmt.h"
#include "core/log.h"
#include "router/catalog.h"

static void flush_timer_cb(sy_timer_t *t)
{
    sy_access_log_t *l = t->data;
    sy_access_flush(l);
}

void sy_access_init(sy_access_log_t *l, sy_loop_t *loop, bool enabled)
{
    sy_buf_init(&l->buf, 4 * 1024 * 1024);
    sy_timer_init(&l->timer, loop, flush_timer_cb, l);
    l->enabled = enabled;
    l->ts_sec = 0;
    l->ts_len = 0;
}

void sy_access_flush(sy_access_log_t *l)
{
    if (l->buf.len) {
        sy_log_raw(sy_buf_ptr(&l->buf), l->buf.len);
        sy_buf_clear(&l->buf);
    }
    sy_timer_stop(&l->timer);
}

void sy_access_fini(sy_access_log_t *l)
{
    sy_access_flush(l);
    sy_buf_free(&l->buf);
}

/* The line is appended piece by piece: fixed keys as literals, strings
 * escaped straight into the buffer, numbers by hand. One sy_buf_printf per
 * piece cost ~14k instructions per line (docs/internals/perf.md). A failed
 * append (the buffer at its cap, which a flush every 32 KiB never reaches)
 * leaves the line short rather than the process down. */

#define ESC_IN_MAX 200  /* bytes of a value that are logged */
#define ESC_OUT_MAX 511 /* escaped bytes of a value that are logged */

/* ,"key": at t (room reserved by the caller). Returns the bytes written. */
static inline size_t put_key(char *t, const char *key, size_t klen)
{
    t[0] = ',';
    t[1] = '"';
    memcpy(t + 2, key, klen);
    t[2 + klen] = '"';
    t[3 + klen] = ':';
    return klen + 4;
}

/* ,"key":"value" with the value JSON-escaped, cut as described above. */
static void jstr(sy_buf_t *b, const char *key, size_t klen, sy_str_t v)
{
    if (sy_buf_reserve(b, klen + 6 + ESC_OUT_MAX))
        return;
    char *t = sy_buf_tail(b);
    size_t n = put_key(t, key, klen);
    t[n++] = '"';
    if (v.p)
        n += sy_log_esc_to(t + n, ESC_OUT_MAX, v.p, SY_MIN(v.len, (size_t)ESC_IN_MAX));
    t[n++] = '"';
    sy_buf_commit(b, n);
}
#define JSTR(b, key, v) jstr((b), "" key, sizeof(key) - 1, (v))

/* ,"key":N for a count. */
static void jnum(sy_buf_t *b, const char *key, size_t klen, uint64_t v)
{
    if (sy_buf_reserve(b, klen + 4 + 20))
        return;
    char *t = sy_buf_tail(b);
    size_t n = put_key(t, key, klen);
    n += sy_fmt_u64(t + n, v);
    sy_buf_commit(b, n);
}
#define JNUM(b, key, v) jnum((b), "" key, sizeof(key) - 1, (v))

/* ,"key":M.mmm for a duration in nanoseconds, in milliseconds exactly as
 * "%.3f" prints (double)ns / 1e6: the microseconds rounded to nearest. Away
 * from a tie the double's error (far below 1 ns for any duration under a
 * century) cannot move the rounding; a tie (ns % 1000 == 500) goes the way
 * the double's representation says, so those are left to the formatter. */
static void jms(sy_buf_t *b, const char *key, size_t klen, uint64_t ns)
{
    if (ns % 1000 == 500) {
        sy_buf_printf(b, ",\"%.*s\":%.3f", (int)klen, key, (double)ns / 1e6);
        return;
    }
    uint64_t us = ns / 1000 + (ns % 1000 > 500);
    if (sy_buf_reserve(b, klen + 4 + 20 + 4))
        return;
    char *t = sy_buf_tail(b);
    size_t n = put_key(t, key, klen);
    n += sy_fmt_u64(t + n, us / 1000);
    uint64_t frac = us % 1000;
    t[n++] = '.';
    t[n++] = (char)('0' + frac / 100);
    t[n++] = (char)('0' + frac / 10 % 10);
    t[n++] = (char)('0' + frac % 10);
    sy_buf_commit(b, n);
}
#define JMS(b, key, ns) jms((b), "" key, sizeof(key) - 1, (ns))

/* {"ts":"YYYY-MM-DDTHH:MM:SS.mmmZ": the calendar part is formatted once per
 * second and kept. */
static void line_start(sy_access_log_t *l, sy_buf_t *b)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != l->ts_sec || l->ts_len == 0) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        int n = sy_snprintf(l->ts_text, sizeof(l->ts_text), "%04d-%02d-%02dT%02d:%02d:%02d",
                            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                            tm.tm_sec);
        l->ts_len = n > 0 ? SY_MIN((size_t)n, sizeof(l->ts_text) - 1) : 0;
        l->ts_sec = ts.tv_sec;
    }
    unsigned ms = (unsigned)(ts.tv_nsec / 1000000);
    char frac[5] = {'.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10),
                    'Z'};
    sy_buf_append_lit(b, "{\"ts\":\"");
    sy_buf_append(b, l->ts_text, l->ts_len);
    sy_buf_append(b, frac, sizeof(frac));
    sy_buf_append_lit(b, "\",\"level\":\"info\",\"msg\":\"access\"");
}

void sy_access_write(sy_access_log_t *l, const sy_access_entry_t *e)
{
    if (!l->enabled)
        return;
    sy_buf_t *b = &l->buf;
    line_start(l, b);
    JSTR(b, "request_id", e->request_id);
    JSTR(b, "method", e->method);
    JSTR(b, "path", e->path);
    if (e->status >= 0)
        JNUM(b, "status", (uint64_t)e->status);
    else
        sy_buf_printf(b, ",\"status\":%d", e->status);
    if (e->frontdoor.len)
        JSTR(b, "frontdoor", e->frontdoor);
    if (e->model.len)
        JSTR(b, "model", e->model);
    if (e->provider.len) {
        JSTR(b, "provider", e->provider);
        JSTR(b, "upstream_model", e->upstream_model);
    }
    if (e->frontdoor.len) {
        if (e->stream)
            sy_buf_append_lit(b, ",\"stream\":true");
        else
            sy_buf_append_lit(b, ",\"stream\":false");
        JNUM(b, "attempts", e->attempts);
        if (e->strategy.len)
            JSTR(b, "strategy", e->strategy);
        if (e->route_json.len) {
            sy_buf_append_lit(b, ",\"route\":");
            sy_buf_append_str(b, e->route_json);
        } else if (e->attempt_log.len) {
            JSTR(b, "route", e->attempt_log);
        }
    }
    if (e->error_class.len)
        JSTR(b, "error_class", e->error_class);
    JMS(b, "duration_ms", e->duration_ns);
    if (e->upstream_ns)
        JMS(b, "upstream_ms", e->upstream_ns);
    if (e->ttft_ns)
        JMS(b, "ttft_ms", e->ttft_ns);
    const sy_ir_usage_t *u = &e->usage;
    if (u->has_input || u->has_output) {
        JNUM(b, "tokens_in", u->input);
        JNUM(b, "tokens_out", u->output);
        if (u->has_cached_input)
            JNUM(b, "tokens_cached", u->cached_input);
        if (u->has_reasoning)
            JNUM(b, "tokens_reasoning", u->reasoning);
    }
    if (e->cost_known) {
        char usd[32];
        sy_buf_append_lit(b, ",\"cost_usd\":");
        sy_buf_append_c(b, sy_cost_format(e->cost_pico, usd));
    }
    if (e->client_aborted)
        sy_buf_append_lit(b, ",\"client_aborted\":true");
    if (e->usage_estimated)
        sy_buf_append_lit(b, ",\"usage_estimated\":true");
    sy_buf_append_lit(b, "}\n");
    if (b->len >= SY_ACCESS_FLUSH_BYTES)
        sy_access_flush(l);
    else if (!sy_timer_active(&l->timer))
        sy_timer_start(&l->timer, SY_ACCESS_FLUSH_MS);
}
