/*
 * stream_fuzz.h - what the Gemini and Bedrock stream fuzz targets share:
 * decode one upstream body three times through an adapter's stream decoder
 * (in one call, one byte per call, and in pseudo-random pieces, each piece in
 * its own heap block freed after the call, so a decoder that keeps a view
 * into old input trips ASan) and hold every run to the same rules: its deltas
 * pass the IR invariant checker (ir/check.h) and end with END or ERROR, the
 * three runs give the same deltas, and a run that ended with END collects
 * into a response that passes sy_ir_check_response. Then the same bytes go
 * to the whole-body decoder (a valid response or a classified error) and to
 * map_error (always a classified error with a message).
 *
 * Included by exactly one fuzz target each: the functions are static.
 */
#ifndef SY_FUZZ_STREAM_FUZZ_H
#define SY_FUZZ_STREAM_FUZZ_H

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
    sy_buf_t trace; /* a digest of every delta, to compare the three runs */
    sy_ir_collector_t *col;
    bool ended;
} sf_run_t;

static int sf_on_delta(void *ctx, const sy_ir_delta_t *d)
{
    sf_run_t *r = ctx;
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

/* mode 0: one call; 1: a byte per call; 2: pseudo-random pieces from `seed` */
static void sf_run(const sy_provider_vt_t *vt, sy_str_t model, sy_str_t body, int mode,
                   uint64_t seed, sf_run_t *r)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_provider_ctx_t cx;
    memset(&cx, 0, sizeof(cx));
    cx.model = model;
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
    while (off < body.len && rc == SY_OK) {
        size_t n = body.len - off;
        if (mode == 1)
            n = 1;
        else if (mode == 2) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            n = SY_MIN(1 + (size_t)((seed >> 33) % 97), body.len - off);
        }
        char *piece = malloc(n);
        memcpy(piece, body.p + off, n);
        rc = vt->stream_feed(st, piece, n, sf_on_delta, r);
        free(piece);
        off += n;
    }
    if (rc == SY_OK)
        vt->stream_end(st, sf_on_delta, r);
    check(sy_ir_check_end(&r->chk) == SY_OK);
    if (r->ended) {
        const char *why = NULL;
        check(sy_ir_check_response(sy_ir_collect_finish(r->col), &why) == SY_OK);
    }
    sy_arena_free(a);
}

/* The three runs of `body` (seeded from the fuzzer's input) agree. */
static void sf_stream(const sy_provider_vt_t *vt, sy_str_t model, sy_str_t body,
                      const uint8_t *data, size_t size)
{
    sf_run_t r[3];
    uint64_t seed = size;
    for (size_t i = 0; i < size && i < 16; i++)
        seed = seed * 31 + data[i];
    for (int mode = 0; mode < 3; mode++)
        sf_run(vt, model, body, mode, seed, &r[mode]);
    for (int mode = 1; mode < 3; mode++)
        check(sy_str_eq(sy_buf_str(&r[0].trace), sy_buf_str(&r[mode].trace)));
    for (int mode = 0; mode < 3; mode++)
        sy_buf_free(&r[mode].trace);
}

/* `whole` as a whole response body and as an error body (with `hdrs`). */
static void sf_whole(const sy_provider_vt_t *vt, const uint8_t *data, size_t size,
                     const sy_http_header_t *hdrs, size_t nhdrs)
{
    sy_arena_t *a = sy_arena_new(0);
    char *copy = malloc(size + 1); /* a heap block of exactly the input (+1 for size 0) */
    memcpy(copy, data, size);
    sy_str_t whole = sy_str(copy, size);
    sy_ir_response_t resp;
    sy_ir_error_t err;
    if (vt->decode(a, NULL, whole, &resp, &err) == SY_OK) {
        const char *why = NULL;
        check(sy_ir_check_response(&resp, &why) == SY_OK);
    } else {
        check(err.cls != SY_IR_ERR_NONE);
    }
    sy_ir_error_t e;
    vt->map_error(400, hdrs, nhdrs, whole, &e);
    check(e.cls != SY_IR_ERR_NONE && e.message.len > 0);
    free(copy);
    sy_arena_free(a);
}

#endif
