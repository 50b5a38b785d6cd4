/*
 * fuzz_anthropic_request.c - libFuzzer target for the Anthropic front door's
 * request parser and the anthropic adapter's request encoder.
 *
 * Each input is parsed as a /v1/messages body and as a count_tokens body. A
 * rejection must come with a 4xx status and a message, and the error body
 * written for it must be JSON. An accepted request must encode for the
 * anthropic adapter (streamed or not, with and without a default
 * max_tokens) into a JSON body, and its count_tokens answer must be JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "api/anthropic.h"
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

static void check_json(sy_arena_t *a, sy_str_t s)
{
    sy_json_t *v;
    check(sy_json_parse(a, s.p, s.len, NULL, &v, NULL) == SY_OK);
}

static void one(sy_arena_t *a, sy_str_t body, bool count_tokens)
{
    sy_ir_request_t req;
    int status = 0;
    const char *message = NULL;
    int rc = count_tokens ? sy_anthropic_parse_count_tokens(a, body, &req, &status, &message)
                          : sy_frontdoor_anthropic.parse(a, body, &req, &status, &message);
    sy_buf_t out;
    sy_buf_init(&out, 0);
    if (rc != SY_OK) {
        check(rc == SY_EINVAL && status >= 400 && status < 500 && message && *message);
        sy_frontdoor_anthropic.error_body(status, NULL, NULL, message, &out);
        check_json(a, bstr(&out));
        sy_buf_free(&out);
        return;
    }
    check(req.model.len > 0 && req.nmessages > 0);
    check(count_tokens || req.max_tokens > 0);
    check(sy_anthropic_count_tokens_body(&req, &out) == SY_OK);
    check_json(a, bstr(&out));
    sy_buf_free(&out);

    sy_provider_ctx_t cx;
    memset(&cx, 0, sizeof(cx));
    cx.model = SY_STR("claude-fuzz");
    cx.api_key = SY_STR("k");
    for (int i = 0; i < 2; i++) {
        req.stream = i == 1;
        cx.default_max_tokens = i == 1 ? 0 : 333;
        sy_upstream_req_t up;
        sy_ir_error_t err;
        check(sy_provider_anthropic.encode(a, &cx, &req, &up, &err) == SY_OK);
        check(up.stream == req.stream && up.path.len > 0);
        check_json(a, up.body);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sy_arena_t *a = sy_arena_new(0);
    /* a private copy, so views the parser keeps are checked against its end */
    char *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    one(a, sy_str(copy, size), false);
    one(a, sy_str(copy, size), true);
    free(copy);
    sy_arena_free(a);
    return 0;
}
