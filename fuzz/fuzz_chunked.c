/*
 * fuzz_chunked.c - libFuzzer target for the chunked decoder.
 *
 * Decodes each input in one shot, then a byte at a time, then in pseudo-
 * random pieces, then through the zero-copy sy_http_chunked_next: all four
 * must agree on the verdict, the body bytes and where the message ended.
 * Half of the runs use tiny extension and trailer caps so those fire too.
 */
#include <stdlib.h>
#include <string.h>
#include "http/parse.h"

static void check(bool ok)
{
    if (!ok)
        abort();
}

typedef struct {
    int rc;
    size_t used;
    size_t out_len;
    char *out;
} result_t;

/* mode 0: one shot; 1: byte at a time; 2: random pieces; 3: zero-copy next */
static result_t run(const uint8_t *data, size_t size, int mode, size_t cap, uint64_t seed)
{
    sy_http_chunked_t d;
    sy_http_chunked_init(&d, cap, cap);
    result_t res = {SY_EAGAIN, 0, 0, malloc(size ? size : 1)};
    while (res.rc == SY_EAGAIN && res.used < size) {
        size_t piece = size - res.used;
        if (mode == 1)
            piece = 1;
        else if (mode == 2) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            piece = SY_MIN(piece, 1 + (size_t)(seed >> 33) % 9);
        }
        char *p = malloc(piece);
        memcpy(p, data + res.used, piece);
        size_t u = 0, n = 0;
        if (mode == 3) {
            sy_str_t span;
            res.rc = sy_http_chunked_next(&d, p, piece, &u, &span);
            check(u > 0 && u <= piece);
            check(span.len == 0 || (span.p >= p && span.p + span.len <= p + u));
            memcpy(res.out + res.out_len, span.p, span.len);
            n = span.len;
        } else {
            res.rc = sy_http_chunked_decode(&d, p, piece, &u, p, &n);
            check(u <= piece && n <= u);
            check(res.rc != SY_EAGAIN || u == piece);
            memcpy(res.out + res.out_len, p, n);
        }
        res.out_len += n;
        res.used += u;
        free(p);
    }
    check(sy_http_chunked_done(&d) == (res.rc == SY_OK));
    if (res.rc != SY_OK && res.rc != SY_EAGAIN) {
        check((res.rc == SY_EINVAL || res.rc == SY_ETOOBIG) && d.error != NULL);
        size_t u = 1;
        sy_str_t span;
        check(sy_http_chunked_next(&d, "0\r\n\r\n", 5, &u, &span) == res.rc && u == 0);
    }
    return res;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t seed = sy_hash_bytes(data, size);
    size_t cap = (seed & 1) ? 24 : 0;
    result_t ref = run(data, size, 0, cap, seed);
    check(ref.out_len <= ref.used && ref.used <= size);
    if (ref.rc == SY_OK || ref.rc == SY_EAGAIN) /* an error may stop mid-chunk */
        check(ref.rc == SY_OK || ref.used == size);
    for (int mode = 1; mode < 4; mode++) {
        result_t r = run(data, size, mode, cap, seed);
        check(r.rc == ref.rc && r.out_len == ref.out_len);
        check(r.out_len == 0 || memcmp(r.out, ref.out, r.out_len) == 0);
        /* an error is detected at a byte position: the same for all feeds */
        check(r.used == ref.used);
        free(r.out);
    }
    free(ref.out);
    return 0;
}
