/*
 * anthropic.h - the Anthropic Messages API's vocabulary, shared by the
 * anthropic provider adapter (providers/anthropic*.c) and the Anthropic
 * front door (api/anthropic*.c): stop reasons, error types, usage
 * accounting and tool inputs, each mapped to and from the IR in one place
 * so both directions agree.
 *
 * The accounting rule (docs/internals/translation.md, "Anthropic"):
 * Anthropic's usage.input_tokens EXCLUDES the prompt tokens read from or
 * written to the cache; the IR's input counts every prompt token. So
 *   IR input        = input_tokens + cache_read_input_tokens + cache_creation_input_tokens
 *   IR cached_input = cache_read_input_tokens
 *   IR cache_write  = cache_creation_input_tokens
 * and the reverse when writing Anthropic usage.
 */
#ifndef SY_PROVIDERS_ANTHROPIC_H
#define SY_PROVIDERS_ANTHROPIC_H

#include "ir/ir.h"
#include "json/json.h"
#include "providers/provider.h"

#define SY_ANTHROPIC_VERSION "2023-06-01"   /* anthropic-version when the config sets none */
#define SY_ANTHROPIC_DEFAULT_MAX_TOKENS 4096 /* when neither client nor config sets max_tokens */
#define SY_ANTHROPIC_MAX_BODY ((size_t)64 << 20) /* cap on a request body the adapter writes */
/* The key a tool call's arguments are wrapped under when they are not a JSON
 * object (Anthropic's tool_use.input must be one); see sy_anthropic_write_tool_input. */
#define SY_ANTHROPIC_RAW_ARGS_KEY "_raw_arguments"

/* stop_reason -> IR finish. end_turn, pause_turn (lossy: see the docs) -> STOP;
 * max_tokens, model_context_window_exceeded -> LENGTH; stop_sequence;
 * tool_use -> TOOL_CALLS; refusal -> REFUSAL; null/absent -> UNSET;
 * anything else -> STOP. */
sy_ir_finish_t sy_anthropic_finish(sy_str_t stop_reason);

/* IR finish -> stop_reason. UNSET and ERROR become "tool_use" when the
 * message holds a tool call and "end_turn" otherwise; STOP becomes
 * "tool_use" too when there are tool calls (some OpenAI-compatible servers
 * finish a tool-call turn with "stop"); CONTENT_FILTER -> "refusal". */
const char *sy_anthropic_stop_reason(sy_ir_finish_t f, bool has_tool_call);

/* Anthropic error type (plus its message and the HTTP status, either may be
 * empty/0) -> IR class: overloaded_error -> OVERLOADED, rate_limit_error ->
 * RATE_LIMITED, invalid_request_error -> BAD_REQUEST or CONTEXT_LENGTH when
 * the message says the prompt is too long, authentication_error /
 * permission_error / billing_error -> AUTH, not_found_error -> NOT_FOUND,
 * request_too_large -> BAD_REQUEST, timeout_error -> TIMEOUT, api_error ->
 * SERVER. An unknown type falls back to the status's class, else SERVER. */
sy_ir_error_class_t sy_anthropic_error_class(sy_str_t type, sy_str_t message, int status);

/* The Anthropic error type a gateway status answers with: 400
 * invalid_request_error, 401 authentication_error, 402 billing_error, 403
 * permission_error, 404 not_found_error, 413 request_too_large, 429
 * rate_limit_error, 503/529 overloaded_error, 504 timeout_error, other 5xx
 * api_error, other 4xx invalid_request_error. */
const char *sy_anthropic_error_type(int status);

/* Usage as Anthropic reports it: each field with a has_ flag because
 * message_delta repeats only some of them. */
typedef struct {
    uint64_t input, cache_read, cache_creation, output, thinking;
    bool has_input, has_cache_read, has_cache_creation, has_output, has_thinking;
} sy_anthropic_usage_t;

/* Read a usage object, overwriting the fields it carries (numbers that are
 * not non-negative integers are ignored). NULL is a no-op. */
void sy_anthropic_usage_read(const sy_json_t *usage, sy_anthropic_usage_t *u);

/* The IR usage for what is known so far (the accounting rule above). The
 * input fields are set when any of the three prompt counts is known. */
sy_ir_usage_t sy_anthropic_usage_to_ir(const sy_anthropic_usage_t *u);

/* Write the members of an Anthropic usage object for an IR usage (inside an
 * object the caller opened): input_tokens (cached excluded),
 * cache_creation_input_tokens, cache_read_input_tokens, output_tokens, and
 * output_tokens_details.thinking_tokens when reasoning is known. Unknown
 * input figures are written as 0 when `all` is set, left out otherwise;
 * output_tokens is always written. */
void sy_anthropic_write_usage(sy_json_writer_t *w, const sy_ir_usage_t *u, bool all);

/* Write a tool call's IR arguments (JSON text) as an Anthropic tool_use
 * input. A JSON object is copied byte for byte; empty or blank arguments
 * become {}; anything else (invalid JSON, a truncated call, an array) is
 * wrapped as {"_raw_arguments": "<the text>"} so the conversation can still
 * be sent on (the model sees what it produced before). `a` is scratch for
 * the validation parse. */
void sy_anthropic_write_tool_input(sy_json_writer_t *w, sy_arena_t *a, sy_str_t arguments);

/* Write a tool_use id so that it matches ^[a-zA-Z0-9_-]+$ as the API
 * requires: other bytes become '_' (ids from other providers, e.g.
 * "functions.get:0"); empty becomes "toolu_empty". Deterministic, so a
 * tool_use and the tool_result that names it stay paired. */
void sy_anthropic_write_tool_id(sy_json_writer_t *w, sy_str_t id);

/* The streaming decoder of the anthropic adapter (also its vtable entries;
 * exported for the fuzz target and tests). See provider.h for the contract. */
void *sy_anthropic_stream_new(sy_arena_t *a, const sy_provider_ctx_t *cx, const sy_ir_request_t *req);
int sy_anthropic_stream_feed(void *st, const char *data, size_t len, sy_ir_delta_cb cb, void *cbctx);
int sy_anthropic_stream_end(void *st, sy_ir_delta_cb cb, void *cbctx);

#endif
