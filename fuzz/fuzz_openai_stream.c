/*
 * fuzz_openai_stream.c - libFuzzer target for the OpenAI stream decoder.
 *
 * Each input is decoded as an upstream /chat/completions SSE body three
 * times: in one call, one byte per call, and in pseudo-random pieces (each
 * piece in its own heap block freed after the call, so a decoder keeping a
 * view into old input trips ASan). Every run must produce a delta sequence
 * that passes the IR invariant checker (ir/check.h) and ends with END or
 * ERROR, and all three runs must produce the same deltas. The deltas are
 * also encoded by the OpenAI front door (stream, and collected into a whole
 * response): its output must be well-formed SSE whose events are JSON or
 * [DONE], and the whole response must be JSON.
 */
#include <stdlib.h>
#include <string.h>
#include "api/frontdoor.h"
#include "http/sse.h"
#include "ir/check.h"
#include "providers/openai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

typedef struct {
    sy_ir_check_t chk;
    sy_buf_t trace, client;
    void *fst;
    sy_ir_collector_t *col;
    bool errored;
} run_t;

static int on_delta(void *ctx, const sy_ir_delta_t *d)
{
    run_t *r = ctx;
    check(sy_ir_check_delta(&r->chk, d) == SY_OK);
    /* what must be identical across splits: kind, index, block, texts */
    sy_buf_printf(&r->trace, "%d:%u:%d:%zu:", (int)d->kind, d->index, (int)d->block, d->text.len);
    sy_buf_append_str(&r->trace, d->text);
    sy_buf_append_str(&r->trace, d->id);
    sy_buf_append_str(&r->trace, d->name);
    if (d->kind == SY_IR_DELTA_ERROR)
        r->errored = true;
    check(sy_frontdoor_openai.stream_event(r->fst, d, &r->client) == SY_OK);
    sy_ir_collect(r->col, d);
    return SY_OK;
}

/* The front door's stream output: SSE events, each JSON or [DONE]. */
static void check_client(sy_arena_t *a, sy_str_t s)
{
    sy_buf_t buf;
    sy_buf_init(&buf, 0);
    sy_sse_reader_t rd;
    sy_sse_reader_init(&rd, &buf, 0, 0, 0);
    size_t off = 0;
    for (;;) {
        size_t used = 0;
        sy_sse_event_t ev;
        int rc = sy_sse_next(&rd, s.len ? s.p + off : "", s.len - off, &used, &ev);
        off += used;
        if (rc == SY_EAGAIN)
            break;
        check(rc == SY_OK);
        if (sy_str_eq_c(ev.data, "[DONE]"))
            continue;
        sy_json_t *v = NULL;
        check(sy_json_parse(a, ev.data.p, ev.data.len, NULL, &v, NULL) == SY_OK);
    }
    check(!sy_sse_pending(&rd));
    sy_buf_free(&buf);
}

static void run(const uint8_t *data, size_t size, int mode, uint64_t seed, bool usage, run_t *r)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_ir_request_t req;
    memset(&req, 0, sizeof(req));
    req.model = SY_STR("fuzz-model");
    req.stream = true;
    req.include_usage = usage;
    sy_provider_ctx_t cx;
    memset(&cx, 0, sizeof(cx));
    cx.model = SY_STR("gpt-4o-mini");
    memset(r, 0, sizeof(*r));
    sy_ir_check_init(&r->chk);
    sy_buf_init(&r->trace, 0);
    sy_buf_init(&r->client, 0);
    r->fst = sy_frontdoor_openai.stream_new(a, &req);
    r->col = sy_ir_collector_new(a);
    void *st = sy_provider_openai.stream_new(a, &cx, &req);
    size_t pos = 0;
    int rc = SY_OK;
    while (pos < size && rc == SY_OK) {
        size_t n = size - pos;
        if (mode == 1)
            n = 1;
        else if (mode == 2) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            n = SY_MIN(n, 1 + (size_t)(seed >> 33) % 31);
        }
        char *piece = malloc(n);
        memcpy(piece, data + pos, n);
        rc = sy_provider_openai.stream_feed(st, piece, n, on_delta, r);
        free(piece);
        pos += n;
    }
    rc = sy_provider_openai.stream_end(st, on_delta, r);
    check(rc == SY_OK || rc == SY_EINVAL);
    check(sy_ir_check_end(&r->chk) == SY_OK);
    check(r->errored == (rc == SY_EINVAL));
    if (mode == 0) {
        check_client(a, r->client.data ? sy_buf_str(&r->client) : SY_STR(""));
        if (!r->errored) {
            const sy_ir_response_t *resp = sy_ir_collect_finish(r->col);
            const char *why;
            check(sy_ir_check_response(resp, &why) == SY_OK);
            sy_buf_t whole;
            sy_buf_init(&whole, 0);
            check(sy_frontdoor_openai.respond(a, &req, resp, &whole) == SY_OK);
            sy_json_t *v = NULL;
            check(sy_json_parse(a, whole.data, whole.len, NULL, &v, NULL) == SY_OK);
            sy_buf_free(&whole);
        }
    }
    sy_buf_free(&r->client);
    sy_arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t seed = sy_hash_bytes(data, size);
    bool usage = seed & 1;
    run_t ref;
    run(data, size, 0, seed, usage, &ref);
    for (int mode = 1; mode < 3; mode++) {
        run_t r;
        run(data, size, mode, seed, usage, &r);
        check(r.trace.len == ref.trace.len &&
              (r.trace.len == 0 || memcmp(r.trace.data, ref.trace.data, r.trace.len) == 0));
        sy_buf_free(&r.trace);
    }
    sy_buf_free(&ref.trace);
    return 0;
}
