/*
 * test_eventstream.c - AWS event-stream framing (src/http/eventstream.c).
 *
 * The real Bedrock captures in tests/data/transcripts/amazon-bedrock are
 * decoded in one shot, a byte at a time and split at every position; the
 * encoder must reproduce a real frame byte for byte; damaged streams must
 * fail at the frame that is damaged.
 */
#include <stdio.h>
#include <stdlib.h>
#include "unit.h"
#include "http/eventstream.h"

static char *slurp(const char *rel, size_t *len)
{
    const char *root = getenv("SY_ROOT");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/data/transcripts/%s", root ? root : ".", rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "  cannot open %s (set SY_ROOT)\n", path);
        unit_cur_failed++;
        *len = 0;
        return calloc(1, 1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    *len = fread(p, 1, (size_t)n, f);
    fclose(f);
    return p;
}

typedef struct {
    int rc; /* SY_EAGAIN at a clean end, else the error */
    int messages;
    bool pending;
    uint64_t err_offset;
    const char *error;
    sy_buf_t out; /* "event-type|message-type|payload\n" per message */
} run_t;

/* piece 0: one shot; else piece bytes per call, the first call cut at
 * `first` when > 0. Each piece lives in its own heap block, freed after the
 * call, so a view kept into old input trips ASan. */
static run_t run(const char *src, size_t len, size_t piece, size_t first, size_t max)
{
    run_t r;
    memset(&r, 0, sizeof(r));
    sy_buf_init(&r.out, 0);
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_es_decoder_t d;
    sy_es_decoder_init(&d, &b, max);
    size_t pos = 0;
    r.rc = SY_EAGAIN;
    while (pos < len && r.rc == SY_EAGAIN) {
        size_t n = len - pos;
        if (first && pos == 0)
            n = SY_MIN(n, first);
        else if (piece)
            n = SY_MIN(n, piece);
        char *chunk = malloc(n);
        memcpy(chunk, src + pos, n);
        size_t off = 0;
        for (;;) {
            size_t used;
            sy_es_message_t m;
            int rc = sy_es_next(&d, chunk + off, n - off, &used, &m);
            off += used;
            if (rc != SY_OK) {
                r.rc = rc;
                break;
            }
            r.messages++;
            sy_buf_printf(&r.out, "%.*s|%.*s|%.*s\n", SY_STR_FMT(m.event_type),
                          SY_STR_FMT(m.message_type), SY_STR_FMT(m.payload));
        }
        free(chunk);
        pos += n;
    }
    r.pending = sy_es_pending(&d);
    r.err_offset = d.offset;
    r.error = d.error;
    CHECK_INT(d.messages, r.messages);
    sy_buf_free(&b);
    return r;
}

static run_t run_all(const char *src, size_t len, size_t max)
{
    run_t ref = run(src, len, 0, 0, max);
    run_t one = run(src, len, 1, 0, max);
    CHECK_INT(one.rc, ref.rc);
    CHECK_INT(one.messages, ref.messages);
    CHECK(one.pending == ref.pending);
    CHECK(one.err_offset == ref.err_offset);
    CHECK(sy_str_eq(sy_buf_str(&one.out), sy_buf_str(&ref.out)));
    sy_buf_free(&one.out);
    size_t step = len > 600 ? len / 151 + 1 : 1;
    for (size_t cut = 1; cut < len; cut += step) {
        run_t two = run(src, len, 7, cut, max);
        if (two.rc != ref.rc || !sy_str_eq(sy_buf_str(&two.out), sy_buf_str(&ref.out))) {
            fprintf(stderr, "  split at %zu differs\n", cut);
            unit_cur_failed++;
            sy_buf_free(&two.out);
            break;
        }
        sy_buf_free(&two.out);
    }
    return ref;
}

static void test_crc32(void)
{
    CHECK(sy_crc32(0, "123456789", 9) == 0xCBF43926u); /* the CRC-32 check value */
    CHECK(sy_crc32(0, "", 0) == 0);
    CHECK(sy_crc32(sy_crc32(0, "1234", 4), "56789", 5) == 0xCBF43926u);
}

/* The first frame of each real capture, re-encoded, must match byte for byte. */
static void test_encode_matches_capture(void)
{
    size_t len;
    char *src = slurp("amazon-bedrock/agentgateway/tool.bin", &len);
    sy_buf_t b;
    sy_buf_init(&b, 0);
    CHECK_INT(sy_es_encode_event(&b, SY_STR("messageStart"), SY_STR("{\"role\":\"assistant\"}")), SY_OK);
    CHECK(b.len == 118 && len >= 118 && memcmp(sy_buf_ptr(&b), src, 118) == 0);
    free(src);
    sy_buf_clear(&b);
    src = slurp("amazon-bedrock/agentgateway/basic.bin", &len);
    CHECK_INT(sy_es_encode_event(&b, SY_STR("messageStart"),
                                 SY_STR("{\"p\":\"abcdefghij\",\"role\":\"assistant\"}")),
              SY_OK);
    CHECK(b.len == 135 && len >= 135 && memcmp(sy_buf_ptr(&b), src, 135) == 0);
    free(src);
    sy_buf_free(&b);
}

static void test_header_types(void)
{
    static const char uuid[16] = "0123456789abcdef";
    sy_es_header_t h[] = {
        {SY_STR("t"), SY_ES_BOOL_TRUE, 1, SY_STR_NULL},
        {SY_STR("f"), SY_ES_BOOL_FALSE, 0, SY_STR_NULL},
        {SY_STR("b"), SY_ES_BYTE, -5, SY_STR_NULL},
        {SY_STR("s"), SY_ES_SHORT, -30000, SY_STR_NULL},
        {SY_STR("i"), SY_ES_INT, -2000000000, SY_STR_NULL},
        {SY_STR("l"), SY_ES_LONG, INT64_MIN + 7, SY_STR_NULL},
        {SY_STR("a"), SY_ES_BYTES, 0, {"\0\1\2", 3}},
        {SY_STR(":event-type"), SY_ES_STRING, 0, SY_STR("chunk")},
        {SY_STR("ts"), SY_ES_TIMESTAMP, 1700000000123, SY_STR_NULL},
        {SY_STR("u"), SY_ES_UUID, 0, {uuid, 16}},
        {SY_STR("e"), SY_ES_STRING, 0, SY_STR("")},
    };
    sy_buf_t b;
    sy_buf_init(&b, 0);
    CHECK_INT(sy_es_encode(&b, h, SY_ARRAY_LEN(h), "{}", 2), SY_OK);
    sy_es_message_t m;
    const char *why = NULL;
    CHECK_INT(sy_es_parse(sy_buf_ptr(&b), b.len, 0, &m, &why), (int)b.len);
    CHECK_STR(m.payload, "{}");
    CHECK_STR(m.event_type, "chunk");
    CHECK_INT(m.message_type.len, 0);
    sy_es_header_iter_t it;
    sy_es_header_iter(&it, &m);
    sy_es_header_t got;
    size_t k = 0;
    while (sy_es_header_next(&it, &got)) {
        CHECK(k < SY_ARRAY_LEN(h));
        if (k >= SY_ARRAY_LEN(h))
            break;
        CHECK(sy_str_eq(got.name, h[k].name));
        CHECK_INT(got.type, h[k].type);
        CHECK(got.i == h[k].i);
        CHECK(sy_str_eq(got.bytes, h[k].bytes));
        k++;
    }
    CHECK_INT(k, SY_ARRAY_LEN(h));
    CHECK(sy_es_header_find(&m, "ts", &got) && got.i == 1700000000123);
    CHECK(!sy_es_header_find(&m, "TS", &got));
    /* encoder refusals */
    sy_buf_clear(&b);
    sy_es_header_t bad[] = {{SY_STR(""), SY_ES_BOOL_TRUE, 1, SY_STR_NULL}};
    CHECK_INT(sy_es_encode(&b, bad, 1, NULL, 0), SY_EINVAL);
    sy_es_header_t bad2[] = {{SY_STR("u"), SY_ES_UUID, 0, SY_STR("short")}};
    CHECK_INT(sy_es_encode(&b, bad2, 1, NULL, 0), SY_EINVAL);
    sy_es_header_t bad3[] = {{SY_STR("x"), (sy_es_type_t)10, 0, SY_STR_NULL}};
    CHECK_INT(sy_es_encode(&b, bad3, 1, NULL, 0), SY_EINVAL);
    CHECK_INT(b.len, 0);
    sy_buf_free(&b);
    /* all or nothing against the buffer's cap */
    sy_buf_init(&b, 40);
    CHECK_INT(sy_es_encode_event(&b, SY_STR("x"), SY_STR("{}")), SY_ETOOBIG);
    CHECK_INT(b.len, 0);
    sy_buf_free(&b);
    /* exception frames */
    sy_buf_init(&b, 0);
    CHECK_INT(sy_es_encode_exception(&b, SY_STR("throttlingException"),
                                     SY_STR("{\"message\":\"slow down\"}")),
              SY_OK);
    CHECK(sy_es_parse(sy_buf_ptr(&b), b.len, 0, &m, NULL) > 0);
    CHECK_STR(m.message_type, "exception");
    CHECK_STR(m.exception_type, "throttlingException");
    CHECK_STR(m.content_type, "application/json");
    sy_buf_free(&b);
}

/* Build a frame from raw header bytes and a payload with valid CRCs. */
static size_t raw_frame(char *out, const char *hdr, size_t hlen, const char *pl, size_t plen)
{
    size_t total = 16 + hlen + plen;
    uint32_t v[2] = {(uint32_t)total, (uint32_t)hlen};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            out[i * 4 + j] = (char)(v[i] >> (24 - 8 * j));
    uint32_t c = sy_crc32(0, out, 8);
    for (int j = 0; j < 4; j++)
        out[8 + j] = (char)(c >> (24 - 8 * j));
    memcpy(out + 12, hdr, hlen);
    memcpy(out + 12 + hlen, pl, plen);
    c = sy_crc32(0, out, total - 4);
    for (int j = 0; j < 4; j++)
        out[total - 4 + (size_t)j] = (char)(c >> (24 - 8 * j));
    return total;
}

static void test_malformed(void)
{
    char f[256];
    sy_es_message_t m;
    const char *why;
    size_t n;
    /* minimal message: no headers, no payload */
    n = raw_frame(f, "", 0, "", 0);
    CHECK_INT(sy_es_parse(f, n, 0, &m, &why), 16);
    CHECK_INT(m.payload.len, 0);
    /* header with an empty name, unknown type, value cut off, length prefix cut off */
    n = raw_frame(f, "\0\0", 2, "", 0);
    CHECK_INT(sy_es_parse(f, n, 0, &m, &why), SY_EINVAL);
    n = raw_frame(f, "\1x\12", 3, "", 0);
    CHECK_INT(sy_es_parse(f, n, 0, &m, &why), SY_EINVAL);
    CHECK_MEM(why, strlen(why), "event-stream header of unknown type");
    n = raw_frame(f, "\1x\4\0\0", 5, "", 0);
    CHECK_INT(sy_es_parse(f, n, 0, &m, &why), SY_EINVAL);
    n = raw_frame(f, "\1x\7\0", 4, "", 0);
    CHECK_INT(sy_es_parse(f, n, 0, &m, &why), SY_EINVAL);
    n = raw_frame(f, "\1x\7\0\5abc", 8, "", 0);
    CHECK_INT(sy_es_parse(f, n, 0, &m, &why), SY_EINVAL);
    n = raw_frame(f, "\5x", 2, "", 0);
    CHECK_INT(sy_es_parse(f, n, 0, &m, &why), SY_EINVAL);
    /* message CRC */
    n = raw_frame(f, "\1x\0", 3, "{}", 2);
    CHECK_INT(sy_es_parse(f, n, 0, &m, &why), (int)n);
    f[n - 5] ^= 1;
    CHECK_INT(sy_es_parse(f, n, 0, &m, &why), SY_EINVAL);
    CHECK_MEM(why, strlen(why), "event-stream message CRC mismatch");
    /* total length below 16, headers longer than the message (prelude CRC valid) */
    n = raw_frame(f, "", 0, "", 0);
    f[3] = 15;
    uint32_t c = sy_crc32(0, f, 8);
    for (int j = 0; j < 4; j++)
        f[8 + j] = (char)(c >> (24 - 8 * j));
    CHECK_INT(sy_es_parse(f, 12, 0, &m, &why), SY_EINVAL);
    n = raw_frame(f, "", 0, "abcd", 4);
    f[7] = 5;
    c = sy_crc32(0, f, 8);
    for (int j = 0; j < 4; j++)
        f[8 + j] = (char)(c >> (24 - 8 * j));
    CHECK_INT(sy_es_parse(f, 12, 0, &m, &why), SY_EINVAL);
    /* size cap: known from the prelude alone */
    n = raw_frame(f, "", 0, "0123456789", 10);
    CHECK_INT(sy_es_parse(f, 12, 20, &m, &why), SY_ETOOBIG);
    CHECK_INT(sy_es_parse(f, 12, 26, &m, &why), SY_EAGAIN);
    CHECK_INT(sy_es_parse(f, 11, 20, &m, &why), SY_EAGAIN);
    run_t r = run_all(f, n, 20);
    CHECK_INT(r.rc, SY_ETOOBIG);
    sy_buf_free(&r.out);
}

static void test_captures(void)
{
    static const struct {
        const char *file;
        int messages;
        const char *first, *last;
    } caps[] = {
        {"amazon-bedrock/agentgateway/basic.bin", 7, "messageStart|event|", "metadata|event|"},
        {"amazon-bedrock/agentgateway/tool.bin", 12, "messageStart|event|", "metadata|event|"},
        {"amazon-bedrock/agentgateway/reasoning.bin", 6, "messageStart||", "metadata||"},
        {"amazon-bedrock/agentgateway/bedrock-invoke.bin", 9, "chunk|event|{\"bytes\":", "chunk|event|"},
        {"amazon-bedrock/pydantic-ai/event-stream-bin/test_bedrock_model_stream.response.bin", -1,
         "messageStart|event|", "metadata|event|"},
        {"amazon-bedrock/pydantic-ai/event-stream-bin/test_bedrock_model_iter_stream.0.response.bin",
         26, "messageStart|event|", "metadata|event|"},
        {"amazon-bedrock/pydantic-ai/event-stream-bin/test_bedrock_model_iter_stream.1.response.bin",
         -1, "messageStart|event|", "metadata|event|"},
        {"amazon-bedrock/pydantic-ai/event-stream-bin/"
         "test_bedrock_model_code_execution_tool_stream.response.bin",
         12, "messageStart|event|", "metadata|event|"},
        {"amazon-bedrock/pydantic-ai/event-stream-bin/test_bedrock_model_thinking_part_stream.response.bin",
         -1, "messageStart|event|", "metadata|event|"},
        {"amazon-bedrock/pydantic-ai/event-stream-bin/"
         "test_bedrock_model_thinking_part_redacted_stream.response.bin",
         -1, "messageStart|event|", "metadata|event|"},
        {"amazon-bedrock/pydantic-ai/event-stream-bin/"
         "test_bedrock_model_stream_empty_text_delta.response.bin",
         -1, "messageStart|event|", "metadata|event|"},
        {"amazon-bedrock/pydantic-ai/event-stream-bin/test_stream_cancel.response.bin", -1,
         "messageStart|event|", "metadata|event|"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(caps); i++) {
        size_t len;
        char *src = slurp(caps[i].file, &len);
        run_t r = run_all(src, len, 0);
        if (r.rc != SY_EAGAIN || r.pending)
            fprintf(stderr, "  %s: rc %d (%s)\n", caps[i].file, r.rc, r.error ? r.error : "");
        CHECK_INT(r.rc, SY_EAGAIN);
        CHECK(!r.pending);
        CHECK(r.err_offset == len);
        if (caps[i].messages >= 0)
            CHECK_INT(r.messages, caps[i].messages);
        sy_str_t out = sy_buf_str(&r.out);
        CHECK(sy_str_starts_with(out, sy_str_c(caps[i].first)));
        /* the last line starts with caps[i].last */
        size_t k = out.len ? out.len - 1 : 0;
        while (k > 0 && out.p[k - 1] != '\n')
            k--;
        CHECK(sy_str_starts_with(sy_str_sub(out, k, out.len - k), sy_str_c(caps[i].last)));
        /* every payload is a JSON object */
        CHECK(sy_str_find(out, SY_STR("|\n")) < 0);
        sy_buf_free(&r.out);

        /* cut short: the decoder says so */
        if (len > 10) {
            r = run_all(src, len - 3, 0);
            CHECK(r.rc == SY_EAGAIN && r.pending);
            sy_buf_free(&r.out);
        }
        free(src);
    }
}

static void test_damaged(void)
{
    size_t len;
    /* The capture damaged by a lossy UTF-8 conversion: EF BF BD in the
     * length prelude. Fails at the first frame, on the prelude CRC. */
    char *src = slurp("amazon-bedrock/agentgateway/bedrock-broken.bin", &len);
    run_t r = run_all(src, len, 0);
    CHECK_INT(r.rc, SY_EINVAL);
    CHECK_INT(r.messages, 0);
    CHECK(r.err_offset == 0);
    CHECK(r.error && strcmp(r.error, "event-stream prelude CRC mismatch") == 0);
    sy_buf_free(&r.out);
    free(src);

    /* One payload byte flipped in frame 3 of basic.bin: three good frames,
     * then the message CRC fails at frame 3's offset. */
    src = slurp("amazon-bedrock/agentgateway/basic.bin", &len);
    size_t off3 = 135 + 403 + 508; /* frame sizes from the capture */
    src[off3 + 200] ^= 0x20;
    r = run_all(src, len, 0);
    CHECK_INT(r.rc, SY_EINVAL);
    CHECK_INT(r.messages, 3);
    CHECK(r.err_offset == off3);
    CHECK(r.error && strcmp(r.error, "event-stream message CRC mismatch") == 0);
    sy_buf_free(&r.out);
    src[off3 + 200] ^= 0x20;
    /* a flipped length byte in frame 5's prelude */
    size_t off5 = off3 + 324 + 182;
    src[off5 + 2] ^= 1;
    r = run_all(src, len, 0);
    CHECK_INT(r.rc, SY_EINVAL);
    CHECK_INT(r.messages, 5);
    CHECK(r.err_offset == off5);
    sy_buf_free(&r.out);
    free(src);

    /* errors are sticky */
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_es_decoder_t d;
    sy_es_decoder_init(&d, &b, 0);
    size_t used;
    sy_es_message_t m;
    CHECK_INT(sy_es_next(&d, "\0\0\0\x10\0\0\0\0\0\0\0\0", 12, &used, &m), SY_EINVAL);
    char ok[16];
    raw_frame(ok, "", 0, "", 0);
    CHECK_INT(sy_es_next(&d, ok, 16, &used, &m), SY_EINVAL);
    CHECK_INT(used, 0);
    sy_buf_free(&b);
}

/* Messages back to back in one buffer, some split: zero-copy when whole. */
static void test_zero_copy(void)
{
    sy_buf_t w;
    sy_buf_init(&w, 0);
    for (int i = 0; i < 3; i++)
        sy_es_encode_event(&w, SY_STR("contentBlockDelta"), SY_STR("{\"contentBlockIndex\":0}"));
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_es_decoder_t d;
    sy_es_decoder_init(&d, &b, 0);
    const char *p = sy_buf_ptr(&w);
    size_t used, n = w.len;
    sy_es_message_t m;
    CHECK_INT(sy_es_next(&d, p, n, &used, &m), SY_OK);
    CHECK(m.payload.p > p && m.payload.p < p + n);
    CHECK_INT(b.len, 0);
    /* feed the rest minus 5 bytes: one whole message, then a partial */
    size_t pos = used;
    CHECK_INT(sy_es_next(&d, p + pos, n - pos - 5, &used, &m), SY_OK);
    CHECK(m.payload.p > p && m.payload.p < p + n);
    pos += used;
    CHECK_INT(sy_es_next(&d, p + pos, n - pos - 5, &used, &m), SY_EAGAIN);
    CHECK(sy_es_pending(&d));
    pos += used;
    CHECK_INT(sy_es_next(&d, p + pos, 5, &used, &m), SY_OK);
    CHECK_INT(used, 5);
    CHECK(m.payload.p >= sy_buf_ptr(&b) && m.payload.p < sy_buf_ptr(&b) + b.len);
    CHECK_STR(m.payload, "{\"contentBlockIndex\":0}");
    CHECK(!sy_es_pending(&d));
    CHECK(d.messages == 3 && d.offset == n);
    sy_buf_free(&b);
    sy_buf_free(&w);
}

/* `test_eventstream --decode FILE`: decode FILE (fed in 7-byte pieces) and
 * print one line per message, "EVENT-TYPE<TAB>MESSAGE-TYPE<TAB>EXCEPTION-TYPE
 * <TAB>PAYLOAD", then "END <messages> <offset> <verdict>". The end-to-end
 * tests decode the simulator's Bedrock streams with it. */
static int decode_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return 2;
    }
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_es_decoder_t d;
    sy_es_decoder_init(&d, &b, 0);
    char piece[7];
    size_t n;
    int rc = SY_EAGAIN;
    while (rc == SY_EAGAIN && (n = fread(piece, 1, sizeof(piece), f)) > 0) {
        size_t off = 0, used;
        sy_es_message_t m;
        while ((rc = sy_es_next(&d, piece + off, n - off, &used, &m)) == SY_OK) {
            off += used;
            printf("%.*s\t%.*s\t%.*s\t%.*s\n", SY_STR_FMT(m.event_type), SY_STR_FMT(m.message_type),
                   SY_STR_FMT(m.exception_type), SY_STR_FMT(m.payload));
        }
    }
    fclose(f);
    const char *verdict = rc == SY_EAGAIN ? (sy_es_pending(&d) ? "cut-short" : "ok") : d.error;
    printf("END %llu %llu %s\n", (unsigned long long)d.messages, (unsigned long long)d.offset, verdict);
    sy_buf_free(&b);
    return rc == SY_EAGAIN && !sy_es_pending(&d) ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--decode") == 0)
        return decode_file(argv[2]);
    RUN(test_crc32);
    RUN(test_encode_matches_capture);
    RUN(test_header_types);
    RUN(test_malformed);
    RUN(test_captures);
    RUN(test_damaged);
    RUN(test_zero_copy);
    return unit_done();
}
