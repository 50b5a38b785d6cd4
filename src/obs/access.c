/*
 * access.c - buffered JSON access log lines.
 */
#include "obs/access.h"

#include <stdio.h>
#include <time.h>

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

static void jstr(sy_buf_t *b, const char *key, sy_str_t v)
{
    char esc[512];
    sy_log_esc(esc, sizeof(esc), v.p ? v.p : "", SY_MIN(v.len, (size_t)200));
    sy_buf_printf(b, ",\"%s\":\"%s\"", key, esc);
}

void sy_access_write(sy_access_log_t *l, const sy_access_entry_t *e)
{
    if (!l->enabled)
        return;
    sy_buf_t *b = &l->buf;
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    sy_buf_printf(b, "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"level\":\"info\",\"msg\":\"access\"",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  (int)(ts.tv_nsec / 1000000));
    jstr(b, "request_id", e->request_id);
    jstr(b, "method", e->method);
    jstr(b, "path", e->path);
    sy_buf_printf(b, ",\"status\":%d", e->status);
    if (e->frontdoor.len)
        jstr(b, "frontdoor", e->frontdoor);
    if (e->model.len)
        jstr(b, "model", e->model);
    if (e->provider.len) {
        jstr(b, "provider", e->provider);
        jstr(b, "upstream_model", e->upstream_model);
    }
    if (e->frontdoor.len) {
        sy_buf_printf(b, ",\"stream\":%s,\"attempts\":%u", e->stream ? "true" : "false",
                      e->attempts);
        if (e->strategy.len)
            jstr(b, "strategy", e->strategy);
        if (e->route_json.len) {
            sy_buf_append_c(b, ",\"route\":");
            sy_buf_append_str(b, e->route_json);
        } else if (e->attempt_log.len) {
            jstr(b, "route", e->attempt_log);
        }
    }
    if (e->error_class.len)
        jstr(b, "error_class", e->error_class);
    sy_buf_printf(b, ",\"duration_ms\":%.3f", (double)e->duration_ns / 1e6);
    if (e->upstream_ns)
        sy_buf_printf(b, ",\"upstream_ms\":%.3f", (double)e->upstream_ns / 1e6);
    if (e->ttft_ns)
        sy_buf_printf(b, ",\"ttft_ms\":%.3f", (double)e->ttft_ns / 1e6);
    const sy_ir_usage_t *u = &e->usage;
    if (u->has_input || u->has_output) {
        sy_buf_printf(b, ",\"tokens_in\":%llu,\"tokens_out\":%llu", (unsigned long long)u->input,
                      (unsigned long long)u->output);
        if (u->has_cached_input)
            sy_buf_printf(b, ",\"tokens_cached\":%llu", (unsigned long long)u->cached_input);
        if (u->has_reasoning)
            sy_buf_printf(b, ",\"tokens_reasoning\":%llu", (unsigned long long)u->reasoning);
    }
    if (e->cost_known) {
        char usd[32];
        sy_buf_printf(b, ",\"cost_usd\":%s", sy_cost_format(e->cost_pico, usd));
    }
    if (e->client_aborted)
        sy_buf_append_c(b, ",\"client_aborted\":true");
    if (e->usage_estimated)
        sy_buf_append_c(b, ",\"usage_estimated\":true");
    sy_buf_append_c(b, "}\n");
    if (b->len >= SY_ACCESS_FLUSH_BYTES)
        sy_access_flush(l);
    else if (!sy_timer_active(&l->timer))
        sy_timer_start(&l->timer, SY_ACCESS_FLUSH_MS);
}
