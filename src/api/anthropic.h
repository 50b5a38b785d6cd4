/*
 * anthropic.h - the Anthropic front door's entry points beyond its vtable
 * (sy_frontdoor_anthropic in api/frontdoor.h): POST /v1/messages/count_tokens.
 */
#ifndef SY_API_ANTHROPIC_H
#define SY_API_ANTHROPIC_H

#include "api/frontdoor.h"

/* Parse a count_tokens body: a Messages request without max_tokens (and
 * with stream ignored). Same validation and error contract as the front
 * door's parse(). */
int sy_anthropic_parse_count_tokens(sy_arena_t *a, sy_str_t body, sy_ir_request_t *out,
                                    int *status, const char **message);

/* The count_tokens response body, {"input_tokens":N}, with N from
 * sy_ir_estimate_input_tokens (an estimate: Switchyard does not run the
 * provider's tokenizer). Returns SY_OK or SY_ETOOBIG (out's cap). */
int sy_anthropic_count_tokens_body(const sy_ir_request_t *req, sy_buf_t *out);

/* The front door's response side (its vtable's respond, stream_new,
 * stream_event and error_body), in api/anthropic_out.c. */
int sy_anthropic_fd_respond(sy_arena_t *a, const sy_ir_request_t *req, const sy_ir_response_t *resp,
                            sy_buf_t *out);
void *sy_anthropic_fd_stream_new(sy_arena_t *a, const sy_ir_request_t *req);
int sy_anthropic_fd_stream_event(void *st, const sy_ir_delta_t *d, sy_buf_t *out);
void sy_anthropic_fd_error_body(int status, const char *type, const char *code, const char *message,
                                sy_buf_t *out);

#endif
