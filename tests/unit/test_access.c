/* Unit tests for the access log (src/obs/access.c): every line must be
 * byte-identical to the one the printf-based writer produced (operators and
 * tests parse it), for random entries: escaped and over-long strings, every
 * optional field, durations on and around the %.3f rounding ties, large
 * counts. The reference below is that writer, kept here as the
 * specification of the format. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/log.h"
#include "core/loop.h"
#include "obs/access.h"
#include "router/catalog.h"
#include "unit.h"

static void ref_jstr(sy_buf_t *b, const char *key, sy_str_t v)
{
    char esc[512];
    sy_log_esc(esc, sizeof(esc), v.p ? v.p : "", SY_MIN(v.len, (size_t)200));
    sy_buf_printf(b, ",\"%s\":\"%s\"", key, esc);
}

/* The line after its "ts" value (which depends on the clock). */
static void ref_line(sy_buf_t *b, const sy_access_entry_t *e)
{
    sy_buf_printf(b, "\",\"level\":\"info\",\"msg\":\"access\"");
    ref_jstr(b, "request_id", e->request_id);
    ref_jstr(b, "method", e->method);
    ref_jstr(b, "path", e->path);
    sy_buf_printf(b, ",\"status\":%d", e->status);
    if (e->frontdoor.len)
        ref_jstr(b, "frontdoor", e->frontdoor);
    if (e->model.len)
        ref_jstr(b, "model", e->model);
    if (e->provider.len) {
        ref_jstr(b, "provider", e->provider);
        ref_jstr(b, "upstream_model", e->upstream_model);
    }
    if (e->frontdoor.len) {
        sy_buf_printf(b, ",\"stream\":%s,\"attempts\":%u", e->stream ? "true" : "false",
                      e->attempts);
        if (e->strategy.len)
            ref_jstr(b, "strategy", e->strategy);
        if (e->route_json.len) {
            sy_buf_append_c(b, ",\"route\":");
            sy_buf_append_str(b, e->route_json);
        } else if (e->attempt_log.len) {
            ref_jstr(b, "route", e->attempt_log);
        }
    }
    if (e->error_class.len)
        ref_jstr(b, "error_class", e->error_class);
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
}

static uint64_t rnd64(void)
{
    return ((uint64_t)(unsigned)rand() << 42) ^ ((uint64_t)(unsigned)rand() << 21) ^
           (uint64_t)(unsigned)rand();
}

/* A string of random length (up to 700: past both cuts) from an alphabet
 * with bytes that need escaping, or empty. */
static sy_str_t rnd_str(char *buf, size_t cap)
{
    static const char alphabet[] = "abcXYZ09-_./:\"\\\n\t\x01\x1f\x7f\xc3\xa9 ";
    size_t len = (size_t)rand() % 4 == 0 ? 0 : (size_t)rand() % cap;
    /* mostly plain text (long runs for the escaper's vector scan) or dense */
    int odd = rand() % 2 ? 3 : 40;
    for (size_t i = 0; i < len; i++)
        buf[i] = (rand() % odd) ? "abcdefgh"[rand() % 8]
                                : alphabet[rand() % (int)(sizeof(alphabet) - 1)];
    return sy_str(buf, len);
}

static uint64_t rnd_ns(void)
{
    switch (rand() % 6) {
    case 0: return 0;
    case 1: return (uint64_t)(rand() % 5000) * 1000 + 500; /* a tie */
    case 2: return (uint64_t)(rand() % 5000) * 1000 + 499 + (uint64_t)(rand() % 3);
    case 3: return (uint64_t)rand() % 2000;
    case 4: return rnd64() % 1000000000000000ULL; /* up to 11 days */
    default: return (uint64_t)rand();
    }
}

/* ts is "YYYY-MM-DDTHH:MM:SS.mmmZ" and matches the clock around the call. */
static bool ts_ok(const char *line, size_t len, time_t before, time_t after)
{
    if (len < 32 || memcmp(line, "{\"ts\":\"", 7) != 0)
        return false;
    const char *t = line + 7;
    for (int i = 0; i < 24; i++) {
        char c = t[i];
        bool digit = c >= '0' && c <= '9';
        if (i == 4 || i == 7) {
            if (c != '-') return false;
        } else if (i == 10) {
            if (c != 'T') return false;
        } else if (i == 13 || i == 16) {
            if (c != ':') return false;
        } else if (i == 19) {
            if (c != '.') return false;
        } else if (i == 23) {
            if (c != 'Z') return false;
        } else if (!digit) {
            return false;
        }
    }
    for (time_t s = before; s <= after; s++) {
        struct tm tm;
        char want[64];
        gmtime_r(&s, &tm);
        snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (memcmp(t, want, 19) == 0)
            return true;
    }
    return false;
}

static void test_access_lines_match_reference(void)
{
    sy_loop_t *loop = sy_loop_new();
    sy_access_log_t l;
    sy_access_init(&l, loop, true);
    sy_buf_t ref;
    sy_buf_init(&ref, 0);
    srand(7);
    int bad = 0, badts = 0;
    static char s[12][700];
    for (int i = 0; i < 20000; i++) {
        sy_access_entry_t e = {
            .request_id = rnd_str(s[0], 80),
            .method = rnd_str(s[1], 12),
            .path = rnd_str(s[2], 700),
            .status = rand() % 8 == 0 ? -1 : rand() % 600,
            .frontdoor = rnd_str(s[3], 12),
            .model = rnd_str(s[4], 300),
            .provider = rnd_str(s[5], 40),
            .upstream_model = rnd_str(s[6], 60),
            .stream = rand() % 2,
            .attempts = (uint32_t)rand(),
            .strategy = rnd_str(s[7], 20),
            .route_json = rand() % 2 ? rnd_str(s[8], 100) : SY_STR(""),
            .attempt_log = rnd_str(s[9], 300),
            .error_class = rnd_str(s[10], 30),
            .duration_ns = rnd_ns(),
            .upstream_ns = rnd_ns(),
            .ttft_ns = rnd_ns(),
            .usage = {.input = rnd64(), .output = (uint64_t)rand(), .cached_input = rnd64(),
                      .reasoning = rand() % 2 ? UINT64_MAX : 0, .has_input = rand() % 2,
                      .has_output = rand() % 2, .has_cached_input = rand() % 2,
                      .has_reasoning = rand() % 2},
            .cost_pico = rnd64(),
            .cost_known = rand() % 2,
            .client_aborted = rand() % 2,
            .usage_estimated = rand() % 2,
        };
        if (e.request_id.len == 0)
            e.request_id = (sy_str_t){NULL, 0}; /* a view without storage */
        sy_buf_clear(&l.buf);
        struct timespec t0, t1; /* the writer's clock (time() may lag it by a tick) */
        clock_gettime(CLOCK_REALTIME, &t0);
        sy_access_write(&l, &e);
        clock_gettime(CLOCK_REALTIME, &t1);
        time_t before = t0.tv_sec, after = t1.tv_sec;
        sy_buf_clear(&ref);
        ref_line(&ref, &e);
        sy_str_t got = sy_buf_str(&l.buf);
        if (!ts_ok(got.p, got.len, before, after))
            badts++;
        /* after "{"ts":"YYYY-MM-DDTHH:MM:SS.mmmZ */
        if (got.len < 31 || got.len - 31 != ref.len || memcmp(got.p + 31, sy_buf_ptr(&ref), ref.len)) {
            if (bad++ < 3)
                fprintf(stderr, "  got  %.*s\n  want %.*s\n", (int)got.len, got.p, (int)ref.len,
                        sy_buf_ptr(&ref));
        }
    }
    CHECK_INT(bad, 0);
    CHECK_INT(badts, 0);
    sy_buf_clear(&l.buf);
    sy_buf_free(&ref);
    sy_access_fini(&l);
    sy_loop_free(loop);
}

int main(void)
{
    RUN(test_access_lines_match_reference);
    return unit_done();
}
