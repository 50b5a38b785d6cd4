/*
 * fuzz_openai_request.c - libFuzzer target for the OpenAI front door's
 * request parser and the OpenAI adapter's encoder.
 *
 * Each input is a POST /v1/chat/completions body. parse() must either
 * refuse it with a 4xx and a message (written as an error body that is
 * JSON), or produce a request that the adapter encodes, for the official
 * API, a compatible host and Azure, into a body that is JSON and names the
 * deployment's model. The token estimate must not crash either.
 */
#include <stdlib.h>
#include <string.h>
#include "api/frontdoor.h"
#include "providers/openai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sy_arena_t *a = sy_arena_new(0);
    /* a heap copy of exactly size bytes: reads past the end trip ASan */
    char *body = malloc(size ? size : 1);
    if (size)
        memcpy(body, data, size);
    sy_ir_request_t req;
    int status = 0;
    const char *message = NULL;
    int rc = sy_frontdoor_openai.parse(a, sy_str(body, size), &req, &status, &message);
    if (rc != SY_OK) {
        check(status >= 400 && status < 500 && message != NULL);
        sy_buf_t eb;
        sy_buf_init(&eb, 0);
        sy_frontdoor_openai.error_body(status, NULL, NULL, message, &eb);
        sy_json_t *v = NULL;
        check(eb.len && sy_json_parse(a, eb.data, eb.len, NULL, &v, NULL) == SY_OK);
        sy_buf_free(&eb);
        goto out;
    }
    sy_ir_estimate_input_tokens(&req);
    static const char *const bases[] = {"https://api.openai.com/v1", "http://127.0.0.1:8000/v1",
                                        "https://res.openai.azure.com"};
    for (size_t i = 0; i < 3; i++) {
        sy_provider_ctx_t cx;
        memset(&cx, 0, sizeof(cx));
        cx.base_url = sy_str_c(bases[i]);
        cx.base_path = i == 2 ? SY_STR("") : SY_STR("/v1");
        cx.api_key = SY_STR("k");
        cx.model = SY_STR("deploy/ment 1");
        cx.azure = i == 2;
        sy_upstream_req_t u;
        sy_ir_error_t err;
        rc = sy_provider_openai.encode(a, &cx, &req, &u, &err);
        check(rc == SY_OK);
        sy_json_t *v = NULL;
        check(sy_json_parse(a, u.body.p, u.body.len, NULL, &v, NULL) == SY_OK);
        check(sy_str_eq_c(sy_json_str(sy_json_get(v, "model")), "deploy/ment 1"));
        check(u.stream == req.stream);
    }
out:
    free(body);
    sy_arena_free(a);
    return 0;
}
