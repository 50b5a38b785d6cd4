/*
 * fuzz_bedrock_stream.c - libFuzzer target for the Bedrock ConverseStream
 * decoder.
 *
 * Random bytes rarely pass an event-stream frame's two CRCs, so an input
 * is read in one of two ways, chosen by its first byte:
 *   - raw ('R' or anything else): the bytes are the upstream body as is
 *     (framing, CRCs, truncation and damage exercised);
 *   - framed ('F'): the rest is lines "TYPE PAYLOAD" (or "!TYPE PAYLOAD" for
 *     an exception), each encoded into a valid frame first, so the fuzzer
 *     reaches the event handling (block ordering, tool input, reasoning,
 *     usage, exceptions).
 * The body is then decoded three times (whole, one byte per call, random
 * pieces in their own heap blocks): every run's deltas must pass the IR
 * invariant checker and end with END or ERROR, the three runs must agree,
 * and a stream that ended with END must collect into a valid response.
 * The payload bytes also go to the whole-body decoder and map_error.
 */
#include <stdlib.h>
#include <string.h>

#include "http/eventstream.h"
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

static void run(const char *data, size_t size, int mode, uint64_t seed, run_t *r)
{
    const sy_provider_vt_t *vt = &sy_provider_bedrock;
    sy_arena_t *a = sy_arena_new(0);
    sy_provider_ctx_t cx;
    memset(&cx, 0, sizeof(cx));
    cx.model = SY_STR("us.anthropic.claude-sonnet-4-20250514-v1:0");
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

/* "TYPE PAYLOAD\n..." into frames; "!TYPE" makes an exception frame. */
static void frame_lines(const uint8_t *p, size_t n, sy_buf_t *out)
{
    size_t i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && p[e] != '\n')
            e++;
        sy_str_t line = sy_str((const char *)p + i, e - i);
        ptrdiff_t sp = sy_str_find_char(line, ' ');
        sy_str_t type = sp < 0 ? line : sy_str_sub(line, 0, (size_t)sp);
        sy_str_t payload = sp < 0 ? SY_STR("") : sy_str_sub(line, (size_t)sp + 1, line.len);
        if (type.len && type.p[0] == '!')
            sy_es_encode_exception(out, sy_str_sub(type, 1, type.len - 1), payload);
        else if (type.len)
            sy_es_encode_event(out, type, payload);
        i = e + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > (1u << 16))
        return 0;
    sy_buf_t body;
    sy_buf_init(&body, 0);
    if (data[0] == 'F')
        frame_lines(data + 1, size - 1, &body);
    else
        sy_buf_append(&body, data + 1, size - 1);
    sy_str_t b = sy_buf_str(&body);

    run_t r[3];
    uint64_t seed = size;
    for (size_t i = 0; i < size && i < 16; i++)
        seed = seed * 31 + data[i];
    for (int mode = 0; mode < 3; mode++)
        run(b.len ? b.p : "", b.len, mode, seed, &r[mode]);
    for (int mode = 1; mode < 3; mode++)
        check(sy_str_eq(sy_buf_str(&r[0].trace), sy_buf_str(&r[mode].trace)));
    for (int mode = 0; mode < 3; mode++)
        sy_buf_free(&r[mode].trace);
    sy_buf_free(&body);

    /* the input after the mode byte as a whole Converse body and an error body */
    sy_arena_t *a = sy_arena_new(0);
    char *copy = malloc(size);
    memcpy(copy, data + 1, size - 1);
    sy_str_t whole = sy_str(copy, size - 1);
    sy_ir_response_t resp;
    sy_ir_error_t err;
    if (sy_provider_bedrock.decode(a, NULL, whole, &resp, &err) == SY_OK) {
        const char *why = NULL;
        check(sy_ir_check_response(&resp, &why) == SY_OK);
    } else {
        check(err.cls != SY_IR_ERR_NONE);
    }
    sy_http_header_t h = {SY_STR("x-amzn-ErrorType"), whole};
    sy_ir_error_t e;
    sy_provider_bedrock.map_error(400, &h, 1, whole, &e);
    check(e.cls != SY_IR_ERR_NONE && e.message.len > 0);
    free(copy);
    sy_arena_free(a);
    return 0;
}
