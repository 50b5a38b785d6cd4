/*
 * fuzz_eventstream.c - libFuzzer target for the AWS event-stream decoder
 * and encoder.
 *
 * Decodes each input in one shot, a byte at a time and in pseudo-random
 * pieces (each piece its own heap block, freed after the call): all three
 * must agree on the messages, the verdict, the failing offset and the
 * pending state. Every decoded message is re-encoded from its headers and
 * payload and must come out byte-identical. Inputs are mostly garbage to a
 * CRC check, so half of the runs first rewrite the input's CRCs to be
 * valid (frame by frame, as far as the lengths allow) to reach the header
 * and payload logic.
 */
#include <stdlib.h>
#include <string.h>
#include "http/eventstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

typedef struct {
    int rc;
    bool pending;
    uint64_t offset, messages;
    sy_buf_t out;
} result_t;

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Make the CRCs of the frames in d valid where the lengths fit. */
static void fix_crcs(uint8_t *d, size_t size)
{
    size_t off = 0;
    while (size - off >= 16) {
        uint8_t *f = d + off;
        uint32_t total = get_u32(f);
        if (total < 16 || total > size - off)
            break;
        put_u32(f + 8, sy_crc32(0, f, 8));
        put_u32(f + total - 4, sy_crc32(0, f, total - 4));
        off += total;
    }
}

/* Re-encode m from its parts: must give the same bytes. */
static void re_encode(const sy_es_message_t *m, const char *orig)
{
    sy_es_header_t h[64];
    size_t n = 0;
    sy_es_header_iter_t it;
    sy_es_header_iter(&it, m);
    while (n < SY_ARRAY_LEN(h) && sy_es_header_next(&it, &h[n]))
        n++;
    if (n == SY_ARRAY_LEN(h))
        return;
    sy_buf_t b;
    sy_buf_init(&b, 0);
    check(sy_es_encode(&b, h, n, m->payload.p, m->payload.len) == SY_OK);
    check(b.len == m->total_len && memcmp(sy_buf_ptr(&b), orig, b.len) == 0);
    sy_buf_free(&b);
}

/* mode 0: one shot; 1: byte at a time; 2: random pieces */
static result_t run(const uint8_t *data, size_t size, int mode, size_t cap, uint64_t seed)
{
    result_t res = {SY_EAGAIN, false, 0, 0, {0}};
    sy_buf_init(&res.out, 0);
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_es_decoder_t d;
    sy_es_decoder_init(&d, &b, cap);
    size_t pos = 0;
    while (res.rc == SY_EAGAIN && pos < size) {
        size_t piece = size - pos;
        if (mode == 1)
            piece = 1;
        else if (mode == 2) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            piece = SY_MIN(piece, 1 + (size_t)(seed >> 33) % 23);
        }
        char *p = malloc(piece);
        memcpy(p, data + pos, piece);
        size_t off = 0;
        for (;;) {
            size_t used = 99;
            sy_es_message_t m;
            uint64_t before = d.offset;
            int rc = sy_es_next(&d, p + off, piece - off, &used, &m);
            check(used <= piece - off);
            off += used;
            if (rc != SY_OK) {
                check(rc == SY_EAGAIN || rc == SY_EINVAL || rc == SY_ETOOBIG);
                check(rc != SY_EAGAIN || off == piece);
                check(rc == SY_EAGAIN || d.error != NULL);
                res.rc = rc;
                break;
            }
            check(m.total_len >= 16 && m.total_len <= (cap ? cap : SY_ES_DEFAULT_MAX_MESSAGE));
            check(d.offset == before + m.total_len);
            check(m.payload.len + m.headers.len + 16 == m.total_len);
            sy_buf_printf(&res.out, "%u:", m.total_len);
            sy_buf_append_str(&res.out, m.headers);
            sy_buf_append_str(&res.out, m.payload);
            if (mode == 0)
                re_encode(&m, (const char *)data + before);
        }
        free(p);
        pos += piece;
    }
    check(b.len <= (cap ? cap : SY_ES_DEFAULT_MAX_MESSAGE));
    res.pending = sy_es_pending(&d);
    res.offset = d.offset;
    res.messages = d.messages;
    sy_buf_free(&b);
    return res;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t seed = sy_hash_bytes(data, size);
    size_t cap = (seed & 1) ? 64 : 0;
    uint8_t *copy = malloc(size ? size : 1);
    if (size)
        memcpy(copy, data, size);
    if (seed & 2)
        fix_crcs(copy, size);
    result_t ref = run(copy, size, 0, cap, seed);
    for (int mode = 1; mode < 3; mode++) {
        result_t r = run(copy, size, mode, cap, seed);
        check(r.rc == ref.rc && r.pending == ref.pending);
        check(r.offset == ref.offset && r.messages == ref.messages);
        check(sy_str_eq(sy_buf_str(&r.out), sy_buf_str(&ref.out)));
        sy_buf_free(&r.out);
    }
    sy_buf_free(&ref.out);
    free(copy);
    return 0;
}
