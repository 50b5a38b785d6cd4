/*
 * bedrock.h - internals of the Bedrock (Converse API) adapter shared
 * between bedrock.c (vtable, request encoder, SigV4 signing) and
 * bedrock_decode.c (whole responses, the event-stream decoder, errors).
 * The core reaches the adapter only through sy_provider_bedrock;
 * docs/internals/translation.md ("Bedrock") describes the mapping.
 */
#ifndef SY_PROVIDERS_BEDROCK_H
#define SY_PROVIDERS_BEDROCK_H

#include "providers/provider.h"

#define SY_BEDROCK_SERVICE "bedrock" /* the SigV4 service name of bedrock-runtime */
#define SY_BEDROCK_MAX_ID 64         /* toolUseId: [a-zA-Z0-9_-]{1,64} */
#define SY_BEDROCK_MAX_REDACTED ((size_t)4 << 20) /* one redacted reasoning block, buffered */

/* The class of an AWS error type ("ThrottlingException", the stream's
 * "throttlingException", or x-amzn-ErrorType's "ThrottlingException:http://...")
 * with its message (for ValidationException's context-length wording) and
 * the HTTP status (0 mid-stream) as the fallback. */
sy_ir_error_class_t sy_bedrock_error_class(sy_str_t type, sy_str_t message, int status);

void *sy_bedrock_stream_new(sy_arena_t *a, const sy_provider_ctx_t *cx, const sy_ir_request_t *req);
int sy_bedrock_stream_feed(void *st, const char *data, size_t len, sy_ir_delta_cb cb, void *cbctx);
int sy_bedrock_stream_end(void *st, sy_ir_delta_cb cb, void *cbctx);
int sy_bedrock_decode(sy_arena_t *a, const sy_provider_ctx_t *cx, sy_str_t body,
                      sy_ir_response_t *out, sy_ir_error_t *err);
void sy_bedrock_map_error(int status, const sy_http_header_t *headers, size_t nheaders,
                          sy_str_t body, sy_ir_error_t *out);

#endif
