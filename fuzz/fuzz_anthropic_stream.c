/*
 * fuzz_anthropic_stream.c - libFuzzer target for the anthropic adapter's
 * response decoders and the Anthropic front door's stream encoder.
 *
 * Each input is decoded as a stream three ways: in one call, a byte at a
 * time (3 bytes past 8 KiB), and in pseudo-random pieces, each piece in its
 * own heap block freed after the call so a view kept into old input trips
 * ASan. Every delta sequence must satisfy the IR invariants (ir/check.h)
 * and end with END or ERROR; the three must give the same deltas. The
 * deltas are re-encoded by the Anthropic front door, whose output must read
 * back as SSE events with JSON data. The input is also decoded as a whole
 * body and through map_error.
 */
#include <stdlib.h>
#include <string.h>

#include "api/anthropic.h"
#include "http/sse.h"
#include "ir/check.h"
#include "providers/adapters.h"
#include "providers/anthropic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A buffer's bytes ("" for one never written to). */
static sy_str_t bstr(const sy_buf_t *b) { return b->data ? sy_buf_str(b) : SY_STR(""); }

#include <stdio.h>

/* abort() with the failed condition, so a crash names its rule */
#define check(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct {
    sy_ir_check_t check;
    sy_buf_t trace;  /* a digest of every delta, to compare the splits */
    sy_buf_t client; /* the front door's SSE */
    void *fd;
} run_t;

static int on_delta(void *ctx, const sy_ir_delta_t *d)
{
    run_t *r = ctx;
    check(sy_ir_check_delta(&r->check, d) == SY_OK);
    sy_buf_printf(&r->trace, "%d:%u:%d:%d:%zu:", (int)d->kind, d->index, (int)d->block,
                  (int)d->finish, d->text.len);
    sy_buf_append_str(&r->trace, d->text);
    sy_buf_append_str(&r->trace, d->id);
    sy_buf_printf(&r->trace, "%llu/%llu/%llu/%llu|", (unsigned long long)d->usage.input,
                  (unsigned long long)d->usage.output, (unsigned long long)d->usage.cached_input,
                  (unsigned long long)d->usage.cache_write);
    check(sy_anthropic_fd_stream_event(r->fd, d, &r->client) == SY_OK);
    return SY_OK;
}

/* mode 0: one call; 1: a byte per call; 2: random pieces */
static void run(sy_arena_t *a, const uint8_t *data, size_t size, int mode, uint64_t seed, run_t *r)
{
    memset(r, 0, sizeof(*r));
    sy_ir_check_init(&r->check);
    sy_buf_init(&r->trace, 0);
    sy_buf_init(&r->client, 0);
    sy_ir_request_t req;
    memset(&req, 0, sizeof(req));
    req.model = SY_STR("claude-test");
    req.stream = true;
    r->fd = sy_anthropic_fd_stream_new(a, &req);
    sy_provider_ctx_t cx;
    memset(&cx, 0, sizeof(cx));
    void *st = sy_provider_anthropic.stream_new(a, &cx, &req);
    size_t pos = 0;
    int rc = SY_OK;
    while (pos < size && rc == SY_OK) {
        size_t n = size - pos;
        if (mode == 1)
            n = SY_MIN(n, size <= 8192 ? (size_t)1 : 3); /* big seeds a byte at a time crawl */
        else if (mode == 2) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            n = SY_MIN(n, 1 + (size_t)(seed >> 33) % 61);
        }
        char *piece = malloc(n ? n : 1);
        memcpy(piece, data + pos, n);
        rc = sy_provider_anthropic.stream_feed(st, piece, n, on_delta, r);
        free(piece);
        pos += n;
    }
    if (rc == SY_OK)
        rc = sy_provider_anthropic.stream_end(st, on_delta, r);
    check(sy_ir_check_end(&r->check) == SY_OK);
    /* once done, more input changes nothing */
    size_t before = r->trace.len;
    check(sy_provider_anthropic.stream_feed(st, "event: ping\ndata: {}\n\n", 22, on_delta, r) == rc);
    check(r->trace.len == before);
}

/* The front door's output: SSE events whose data is JSON. */
static void check_client(sy_arena_t *a, sy_str_t s)
{
    sy_buf_t buf;
    sy_buf_init(&buf, 0);
    sy_sse_reader_t rd;
    sy_sse_reader_init(&rd, &buf, 0, 0, 0);
    size_t off = 0;
    for (;;) {
        size_t used;
        sy_sse_event_t ev;
        int rc = sy_sse_next(&rd, s.p + off, s.len - off, &used, &ev);
        off += used;
        if (rc != SY_OK) {
            check(rc == SY_EAGAIN && !sy_sse_pending(&rd));
            break;
        }
        sy_json_t *v;
        check(sy_json_parse(a, ev.data.p, ev.data.len, NULL, &v, NULL) == SY_OK);
    }
    sy_buf_free(&buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t seed = sy_hash_bytes(data, size);
    sy_arena_t *a = sy_arena_new(0);
    run_t ref;
    run(a, data, size, 0, seed, &ref);
    check_client(a, bstr(&ref.client));
    for (int mode = 1; mode < 3; mode++) {
        run_t r;
        run(a, data, size, mode, seed, &r);
        check(sy_str_eq(bstr(&r.trace), bstr(&ref.trace)));
        check(sy_str_eq(bstr(&r.client), bstr(&ref.client)));
        sy_buf_free(&r.trace);
        sy_buf_free(&r.client);
    }
    sy_buf_free(&ref.trace);
    sy_buf_free(&ref.client);

    /* the same bytes as a whole body, and as an error body */
    sy_provider_ctx_t cx;
    memset(&cx, 0, sizeof(cx));
    sy_ir_response_t resp;
    sy_ir_error_t err;
    if (sy_provider_anthropic.decode(a, &cx, sy_str((const char *)data, size), &resp, &err) == SY_OK) {
        const char *why;
        check(sy_ir_check_response(&resp, &why) == SY_OK);
        sy_buf_t out;
        sy_buf_init(&out, 0);
        sy_ir_request_t req;
        memset(&req, 0, sizeof(req));
        check(sy_anthropic_fd_respond(a, &req, &resp, &out) == SY_OK);
        sy_json_t *v;
        check(sy_json_parse(a, sy_buf_ptr(&out), out.len, NULL, &v, NULL) == SY_OK);
        sy_buf_free(&out);
    } else {
        check(err.cls != SY_IR_ERR_NONE);
    }
    sy_provider_anthropic.map_error(500, NULL, 0, sy_str((const char *)data, size), &err);
    check(err.cls != SY_IR_ERR_NONE && err.message.len > 0);
    sy_arena_free(a);
    return 0;
}
