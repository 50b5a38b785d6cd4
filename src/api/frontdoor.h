/*
 * frontdoor.h - the client-facing API formats (OpenAI, Anthropic).
 *
 * A front door turns a client's request body into the canonical request
 * (parse), and the canonical response or stream back into the client's format
 * (respond, stream_*), including errors in that API's own error shape. It is
 * the mirror image of a provider adapter and, like one, pure: no I/O.
 */
#ifndef SY_API_FRONTDOOR_H
#define SY_API_FRONTDOOR_H

#include "core/arena.h"
#include "core/buf.h"
#include "ir/ir.h"
#include "providers/provider.h"

typedef struct sy_frontdoor_vt {
    const char *name;   /* "openai", "anthropic" */
    sy_format_t format;

    /* Parse and validate a request body. On failure returns SY_EINVAL and sets
     * *status and a message a person can act on ("messages: expected an array,
     * got an object"); the caller answers with error_body(). */
    int (*parse)(sy_arena_t *a, sy_str_t body, sy_ir_request_t *out, int *status,
                 const char **message);

    /* Write a whole response body. `requested_model` is the name the client
     * asked for (echoed in the response, as providers do). */
    int (*respond)(sy_arena_t *a, const sy_ir_request_t *req, const sy_ir_response_t *resp,
                   sy_buf_t *out);

    /* Stream encoder: stream_event appends the client bytes (whole SSE events)
     * for one IR delta; an ERROR delta becomes this API's error event and ends
     * the stream well-formed. Content-Type of the stream: text/event-stream. */
    void *(*stream_new)(sy_arena_t *a, const sy_ir_request_t *req);
    int (*stream_event)(void *st, const sy_ir_delta_t *d, sy_buf_t *out);

    /* An error response body in this API's shape for an HTTP status. `type`
     * may be NULL (derived from status). `code` is the machine-readable code
     * of APIs that have one (OpenAI's error.code: "rate_limit_exceeded",
     * "insufficient_quota", "invalid_api_key", "model_not_found"); NULL when
     * there is none, or for a parse() message, whose wording the front door
     * reads its parameter and code back from. APIs without codes ignore it. */
    void (*error_body)(int status, const char *type, const char *code, const char *message,
                       sy_buf_t *out);
} sy_frontdoor_vt_t;

extern const sy_frontdoor_vt_t sy_frontdoor_openai;
extern const sy_frontdoor_vt_t sy_frontdoor_anthropic;

#endif
