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

/* The line is written straight into room reserved once for its longest
 * possible form: fixed keys as literals (constant-size copies), strings
 * escaped in place, numbers by hand. One sy_buf_printf per piece cost ~14k
 * instructions per line, one append per piece ~4.7k (docs/internals/perf.md).
 * A failed reservation (the buffer at its cap, which a flush every 32 KiB
 * never reaches) drops the line rather than the process. */

#define ESC_IN_MAX 200  /* bytes of a value that are logged */
#define ESC_OUT_MAX 511 /* escaped bytes of a value that are logged */
#define LINE_STRINGS 10  /* string members a line can have */
/* Everything but the route array: the strings at their longest (key, quotes
 * and escaped value) and a generous bound on the rest (timestamp, numbers,
 * flags; about 400 bytes at most). */
#define LINE_MAX_BESIDES_ROUTE (LINE_STRINGS * (24 + ESC_OUT_MAX) + 1024)

/* s at t; with a literal the length is a constant and the copy inlined. */
static inline size_t put_lit(char *t, const char *s, size_t n)
{
    memcpy(t, s, n);
    return n;
}
#define LIT(t, s) put_lit((t), "" s, sizeof(s) - 1)

/* A value JSON-escaped (cut as described above) and its closing quote. */
static size_t put_esc(char *t, sy_str_t v)
{
    size_t n = v.p ? sy_log_esc_to(t, ESC_OUT_MAX, v.p, SY_MIN(v.len, (size_t)ESC_IN_MAX)) : 0;
    t[n] = '"';
    return n + 1;
}

/* ,"key":"value" */
#define JSTR(t, n, key, v)                                                                         \
    do {                                                                                           \
        (n) += LIT((t) + (n), ",\"" key "\":\"");                                                  \
        (n) += put_esc((t) + (n), (v));                                                            \
    } while (0)

/* ,"key":N for a count. */
#define JNUM(t, n, key, v)                                                                         \
    do {                                                                                           \
        (n) += LIT((t) + (n), ",\"" key "\":");                                                    \
        (n) += sy_fmt_u64((t) + (n), (v));                                                         \
    } while (0)

/* A duration in nanoseconds as milliseconds, exactly as "%.3f" prints
 * (double)ns / 1e6: the microseconds rounded to nearest. Away from a tie
 * the double's error (far below 1 ns for any duration under a century)
 * cannot move the rounding; a tie (ns % 1000 == 500) goes the way the
 * double's representation says, so those are left to the formatter (at
 * most 18 bytes: 14 digits, the point, 3 decimals). */
static size_t put_ms(char *t, uint64_t ns)
{
    if (ns % 1000 == 500) {
        int k = sy_snprintf(t, 32, "%.3f", (double)ns / 1e6);
        return k > 0 ? SY_MIN((size_t)k, (size_t)31) : 0;
    }
    uint64_t us = ns / 1000 + (ns % 1000 > 500);
    size_t n = sy_fmt_u64(t, us / 1000);
    uint64_t frac = us % 1000;
    t[n++] = '.';
    t[n++] = (char)('0' + frac / 100);
    t[n++] = (char)('0' + frac / 10 % 10);
    t[n++] = (char)('0' + frac % 10);
    return n;
}

/* ,"key":M.mmm */
#define JMS(t, n, key, ns)                                                                         \
    do {                                                                                           \
        (n) += LIT((t) + (n), ",\"" key "\":");                                                    \
        (n) += put_ms((t) + (n), (ns));                                                            \
    } while (0)

/* {"ts":"YYYY-MM-DDTHH:MM:SS.mmmZ","level":"info","msg":"access": the
 * calendar part is formatted once per second and kept. */
static size_t put_start(sy_access_log_t *l, char *t)
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
    size_t n = LIT(t, "{\"ts\":\"");
    n += put_lit(t + n, l->ts_text, l->ts_len);
    t[n++] = '.';
    t[n++] = (char)('0' + ms / 100);
    t[n++] = (char)('0' + ms / 10 % 10);
    t[n++] = (char)('0' + ms % 10);
    t[n++] = 'Z';
    n += LIT(t + n, "\",\"level\":\"info\",\"msg\":\"access\"");
    return n;
}

void sy_access_write(sy_access_log_t *l, const sy_access_entry_t *e)
{
    if (!l->enabled)
        return;
    sy_buf_t *b = &l->buf;
    if (sy_buf_reserve(b, LINE_MAX_BESIDES_ROUTE + e->route_json.len))
        return;
    char *t = sy_buf_tail(b);
    size_t n = put_start(l, t);
    JSTR(t, n, "request_id", e->request_id);
    JSTR(t, n, "method", e->method);
    JSTR(t, n, "path", e->path);
    n += LIT(t + n, ",\"status\":");
    if (e->status < 0)
        t[n++] = '-';
    n += sy_fmt_u64(t + n, e->status < 0 ? 0 - (uint64_t)(int64_t)e->status : (uint64_t)e->status);
    if (e->frontdoor.len)
        JSTR(t, n, "frontdoor", e->frontdoor);
    if (e->model.len)
        JSTR(t, n, "model", e->model);
    if (e->provider.len) {
        JSTR(t, n, "provider", e->provider);
        JSTR(t, n, "upstream_model", e->upstream_model);
    }
    if (e->frontdoor.len) {
        if (e->stream)
            n += LIT(t + n, ",\"stream\":true");
        else
            n += LIT(t + n, ",\"stream\":false");
        JNUM(t, n, "attempts", e->attempts);
        if (e->strategy.len)
            JSTR(t, n, "strategy", e->strategy);
        if (e->route_json.len) {
            n += LIT(t + n, ",\"route\":");
            n += put_lit(t + n, e->route_json.p, e->route_json.len);
        } else if (e->attempt_log.len) {
            JSTR(t, n, "route", e->attempt_log);
        }
    }
    if (e->error_class.len)
        JSTR(t, n, "error_class", e->error_class);
    JMS(t, n, "duration_ms", e->duration_ns);
    if (e->upstream_ns)
        JMS(t, n, "upstream_ms", e->upstream_ns);
    if (e->ttft_ns)
        JMS(t, n, "ttft_ms", e->ttft_ns);
    const sy_ir_usage_t *u = &e->usage;
    if (u->has_input || u->has_output) {
        JNUM(t, n, "tokens_in", u->input);
        JNUM(t, n, "tokens_out", u->output);
        if (u->has_cached_input)
            JNUM(t, n, "tokens_cached", u->cached_input);
        if (u->has_reasoning)
            JNUM(t, n, "tokens_reasoning", u->reasoning);
    }
    if (e->cost_known) {
        n += LIT(t + n, ",\"cost_usd\":");
        if (e->cost_text.len && e->cost_text.len <= 32)
            n += put_lit(t + n, e->cost_text.p, e->cost_text.len);
        else
            n += sy_cost_fmt(t + n, e->cost_pico);
    }
    if (e->client_aborted)
        n += LIT(t + n, ",\"client_aborted\":true");
    if (e->usage_estimated)
        n += LIT(t + n, ",\"usage_estimated\":true");
    n += LIT(t + n, "}\n");
    sy_buf_commit(b, n);
    if (b->len >= SY_ACCESS_FLUSH_BYTES)
        sy_access_flush(l);
    else if (!sy_timer_active(&l->timer))
        sy_timer_start(&l->timer, SY_ACCESS_FLUSH_MS);
}
