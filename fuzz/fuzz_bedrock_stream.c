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
 * The body is then decoded three ways and held to the rules of stream_fuzz.h;
 * the input after the mode byte also goes to the whole-body decoder and
 * map_error (as the x-amzn-ErrorType header too).
 */
#include "http/eventstream.h"
#include "stream_fuzz.h"

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
    sf_stream(&sy_provider_bedrock, SY_STR("us.anthropic.claude-sonnet-4-20250514-v1:0"),
              body.len ? sy_buf_str(&body) : SY_STR(""), data, size);
    sy_buf_free(&body);

    sy_http_header_t h = {SY_STR("x-amzn-ErrorType"),
                          sy_str(size > 1 ? (const char *)data + 1 : "", size - 1)};
    sf_whole(&sy_provider_bedrock, data + 1, size - 1, &h, 1);
    return 0;
}
