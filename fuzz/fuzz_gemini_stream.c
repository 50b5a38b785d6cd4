/*
 * fuzz_gemini_stream.c - libFuzzer target for the Gemini stream decoder.
 *
 * Each input is an upstream streamGenerateContent?alt=sse body, decoded three
 * ways and held to the rules of stream_fuzz.h; the same bytes then go to the
 * whole-body decoder and map_error.
 */
#include "stream_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 16))
        return 0;
    sf_stream(&sy_provider_gemini, SY_STR("gemini-3-pro-preview"),
              sy_str(size ? (const char *)data : "", size), data, size);
    sf_whole(&sy_provider_gemini, data, size, NULL, 0);
    return 0;
}
