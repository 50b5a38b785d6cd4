/*
 * fuzz_gemini_stream.c - libFuzzer target for the Gemini stream decoder.
 *
 * Each input is an upstream streamGenerateContent?alt=sse body, decoded
 * three times: in one call, one byte per call, and in pseudo-random pieces
 * (each piece in its own heap block freed after the call, so a decoder that
 * keeps a view into old input trips ASan). Every run must produce a delta
 * sequence that passes the IR invariant checker (ir/check.h) and ends with
 * END or ERROR, the three runs the same deltas, and a stream that ended
 * with END a collected response that passes sy_ir_check_response. The same
 * bytes also go to the whole-body decoder, which must not crash and, when
 * it succeeds, return a valid response.
 */
#include <stdlib.h>
#include <string.h>

#include "ir/check.h"
#include "providers/adapters.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

typedef struct {
    sy_ir_check_t chk;
    sy_buf_t trace;
    sy_ir_collector_t *col;
    bool ended;
} run_t;

static int on_delta(void *ctx, const sy_ir_delta_t *d)
{
    run_t *r = ctx;
    check(sy_ir_check_delta(&r->chk, d) == SY_OK);
    sy_buf_printf(&r->trace, "%d:%u:%d:%d:%zu:", (int)d->kind, d->index, (int)d->block,
                  (int)d->error.cls, d->text.len);
    sy_buf_append_str(&r->trace, d->text);
    sy_buf_append_str(&r->trace, d->id);
    sy_buf_append_str(&r->trace, d->name);
    if (d->kind == SY_IR_DELTA_END)
        r->ended = true;
    sy_ir_collect(r->col, d);
    return SY_OK;
}

static void run(const uint8_t *data, size_t size, int mode, uint64_t seed, run_t *r)
{
    const sy_provider_vt_t *vt = &sy_provider_gemini;
    sy_arena_t *a = sy_arena_new(0);
    sy_provider_ctx_t cx;
    memset(&cx, 0, sizeof(cx));
    cx.model = SY_STR("gemini-3-pro-preview");
    sy_ir_request_t req;
    memset(&req, 0, sizeof(req));
    req.stream = true;
    sy_ir_check_init(&r->chk);
    sy_buf_init(&r->trace, 0);
    r->col = sy_ir_collector_new(a);
    r->ended = false;
    void *st = vt->stream_new(a, &cx, &req);
    size_t off = 0;
    int rc = SY_OK;
    while (off < size && rc == SY_OK) {
        size_t n = size - off;
        if (mode == 1)
            n = 1;
        else if (mode == 2) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            n = 1 + (size_t)((seed >> 33) % 97);
            if (n > size - off)
                n = size - off;
        }
        char *piece = malloc(n);
        memcpy(piece, data + off, n);
        rc = vt->stream_feed(st, piece, n, on_delta, r);
        free(piece);
        off += n;
    }
    if (rc == SY_OK)
        vt->stream_end(st, on_delta, r);
    check(sy_ir_check_end(&r->chk) == SY_OK);
    if (r->ended) {
        const char *why = NULL;
        check(sy_ir_check_response(sy_ir_collect_finish(r->col), &why) == SY_OK);
    }
    sy_arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 16))
        return 0;
    run_t r[3];
    uint64_t seed = size;
    for (size_t i = 0; i < size && i < 16; i++)
        seed = seed * 31 + data[i];
    for (int mode = 0; mode < 3; mode++)
        run(data, size, mode, seed, &r[mode]);
    for (int mode = 1; mode < 3; mode++)
        check(sy_str_eq(sy_buf_str(&r[0].trace), sy_buf_str(&r[mode].trace)));
    for (int mode = 0; mode < 3; mode++)
        sy_buf_free(&r[mode].trace);

    /* the same bytes as a whole body */
    sy_arena_t *a = sy_arena_new(0);
    char *copy = malloc(size + 1);
    memcpy(copy, data, size);
    sy_ir_response_t resp;
    sy_ir_error_t err;
    if (sy_provider_gemini.decode(a, NULL, sy_str(copy, size), &resp, &err) == SY_OK) {
        const char *why = NULL;
        check(sy_ir_check_response(&resp, &why) == SY_OK);
    } else {
        check(err.cls != SY_IR_ERR_NONE);
    }
    sy_ir_error_t e;
    sy_provider_gemini.map_error(400, NULL, 0, sy_str(copy, size), &e);
    check(e.cls != SY_IR_ERR_NONE && e.message.len > 0);
    free(copy);
    sy_arena_free(a);
    return 0;
}
