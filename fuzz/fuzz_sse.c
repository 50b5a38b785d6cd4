/*
 * fuzz_sse.c - libFuzzer target for the SSE reader and writer.
 *
 * Reads each input in one shot, a byte at a time and in pseudo-random
 * pieces (each piece in its own heap block, freed after the call, so a view
 * kept into old input is caught by ASan): all three must give the same
 * events, the same verdict and the same pending state. Every event read is
 * written back with the writer and must read back identical. Half of the
 * runs use tiny caps so the cap paths fire too, and half report comments.
 */
#include <stdlib.h>
#include <string.h>
#include "http/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

typedef struct {
    int rc;
    bool pending;
    sy_buf_t out; /* events serialised: lengths and bytes */
} result_t;

static void record(sy_buf_t *out, const sy_sse_event_t *ev)
{
    check(ev->event.len <= SY_SSE_MAX_EVENT && ev->id.len <= SY_SSE_MAX_ID);
    check(memchr(ev->data.p ? ev->data.p : "", '\r', ev->data.len) == NULL);
    sy_buf_printf(out, "%zu:%zu:%zu:%lld:%d:", ev->event.len, ev->data.len, ev->id.len,
                  (long long)ev->retry, (int)ev->comment);
    sy_buf_append_str(out, ev->event);
    sy_buf_append_str(out, ev->data);
    sy_buf_append_str(out, ev->id);
}

/* Write ev and read it back: the same type and data must come out. */
static void round_trip(const sy_sse_event_t *ev)
{
    if (ev->comment)
        return;
    sy_buf_t w, a;
    sy_buf_init(&w, 0);
    sy_buf_init(&a, 0);
    check(sy_sse_write(&w, ev->event, ev->data) == SY_OK);
    sy_sse_reader_t r;
    sy_sse_reader_init(&r, &a, w.len + 1, ev->data.len + 1, 0);
    size_t used;
    sy_sse_event_t back;
    check(sy_sse_next(&r, sy_buf_ptr(&w), w.len, &used, &back) == SY_OK && used == w.len);
    check(sy_str_eq(back.event, ev->event) && sy_str_eq(back.data, ev->data));
    sy_buf_free(&w);
    sy_buf_free(&a);
}

/* mode 0: one shot; 1: byte at a time; 2: random pieces */
static result_t run(const uint8_t *data, size_t size, int mode, size_t cap, unsigned flags,
                    uint64_t seed)
{
    result_t res = {SY_EAGAIN, false, {0}};
    sy_buf_init(&res.out, 0);
    sy_buf_t asm_buf;
    sy_buf_init(&asm_buf, 0);
    sy_sse_reader_t r;
    sy_sse_reader_init(&r, &asm_buf, cap, cap, flags);
    size_t pos = 0;
    while (res.rc == SY_EAGAIN && pos < size) {
        size_t piece = size - pos;
        if (mode == 1)
            piece = 1;
        else if (mode == 2) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            piece = SY_MIN(piece, 1 + (size_t)(seed >> 33) % 13);
        }
        char *p = malloc(piece);
        memcpy(p, data + pos, piece);
        size_t off = 0;
        for (;;) {
            size_t used = 99;
            sy_sse_event_t ev;
            int rc = sy_sse_next(&r, p + off, piece - off, &used, &ev);
            check(used <= piece - off);
            off += used;
            if (rc != SY_OK) {
                check(rc == SY_EAGAIN || rc == SY_ETOOBIG);
                check(rc != SY_EAGAIN || off == piece);
                res.rc = rc;
                break;
            }
            record(&res.out, &ev);
            if (mode == 0)
                round_trip(&ev);
        }
        free(p);
        pos += piece;
    }
    /* the buffer stays within the documented bound */
    check(asm_buf.len <= (cap ? 2 * cap : SY_SSE_DEFAULT_MAX_LINE + SY_SSE_DEFAULT_MAX_DATA) + 1);
    if (res.rc == SY_EAGAIN) {
        res.pending = sy_sse_pending(&r);
        sy_sse_event_t ev;
        int rc;
        int n = 0;
        while ((rc = sy_sse_finish(&r, &ev)) == SY_OK) {
            check(++n <= 2);
            record(&res.out, &ev);
        }
        check(rc == SY_EAGAIN || rc == SY_ETOOBIG);
        res.rc = rc == SY_EAGAIN ? SY_EAGAIN : rc;
        check(!sy_sse_pending(&r) || rc != SY_EAGAIN);
    } else {
        size_t used = 1;
        sy_sse_event_t ev;
        check(sy_sse_next(&r, "data: x\n\n", 9, &used, &ev) == res.rc && used == 0);
        check(r.error != NULL);
    }
    sy_buf_free(&asm_buf);
    return res;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t seed = sy_hash_bytes(data, size);
    size_t cap = (seed & 1) ? 24 : 0;
    unsigned flags = (seed & 2) ? SY_SSE_COMMENTS : 0;
    result_t ref = run(data, size, 0, cap, flags, seed);
    for (int mode = 1; mode < 3; mode++) {
        result_t r = run(data, size, mode, cap, flags, seed);
        check(r.rc == ref.rc);
        check(r.rc != SY_EAGAIN || r.pending == ref.pending);
        /* a cap is exceeded by the same line however it arrives, so even
         * after an error the events before it agree */
        check(sy_str_eq(sy_buf_str(&r.out), sy_buf_str(&ref.out)));
        sy_buf_free(&r.out);
    }
    sy_buf_free(&ref.out);
    return 0;
}
