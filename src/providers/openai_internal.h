/*
 * openai_internal.h - pieces the OpenAI adapter's files share (not public).
 */
#ifndef SY_PROVIDERS_OPENAI_INTERNAL_H
#define SY_PROVIDERS_OPENAI_INTERNAL_H

#include "providers/openai.h"

/* Read an OpenAI usage object into IR usage (see openai.c for the xAI and
 * DeepSeek variants it understands). A NULL or non-object usage sets nothing. */
void sy_openai_read_usage(const sy_json_t *u, sy_ir_usage_t *out);

/* The counts a usage object reports, however they were read: from a tree
 * (sy_openai_read_usage) or from the text of a relayed answer
 * (sy_openai_usage_text). n[k] is meaningful when has[k]. */
enum {
    SY_OPENAI_PROMPT,     /* prompt_tokens */
    SY_OPENAI_COMPLETION, /* completion_tokens */
    SY_OPENAI_TOTAL,      /* total_tokens */
    SY_OPENAI_CACHED,     /* prompt_tokens_details.cached_tokens */
    SY_OPENAI_CACHE_HIT,  /* prompt_cache_hit_tokens (DeepSeek) */
    SY_OPENAI_REASONING,  /* completion_tokens_details.reasoning_tokens */
    SY_OPENAI_NCOUNTS
};
typedef struct {
    uint64_t n[SY_OPENAI_NCOUNTS];
    bool has[SY_OPENAI_NCOUNTS];
} sy_openai_counts_t;

/* Store the counts into IR usage as sy_openai_read_usage does (only the
 * fields reported are set). */
void sy_openai_usage_from_counts(const sy_openai_counts_t *c, sy_ir_usage_t *out);

/* The counts of a usage object's text (openai_decode.c) without a tree,
 * when every member is one it can judge exactly as sy_json_parse and
 * sy_openai_read_usage would: SY_OK with *c filled, or SY_EAGAIN when
 * unsure (then parse the text and read the tree). */
int sy_openai_usage_text(sy_str_t text, sy_openai_counts_t *c);

/* "stop", "length", ... -> IR finish (unknown names are STOP). */
sy_ir_finish_t sy_openai_read_finish(sy_str_t reason);

/* Classify an OpenAI-style error object ({"message","type","param","code"},
 * or a bare string) given the HTTP status (0 mid-stream). Views point into
 * the tree. */
void sy_openai_read_error(const sy_json_t *err, int status, sy_ir_error_t *out);

/* The decoder entry points (openai_decode.c). */
int sy_openai_decode(sy_arena_t *a, const sy_provider_ctx_t *cx, sy_str_t body,
                     sy_ir_response_t *out, sy_ir_error_t *err);
void *sy_openai_stream_new(sy_arena_t *a, const sy_provider_ctx_t *cx, const sy_ir_request_t *req);
int sy_openai_stream_feed(void *st, const char *data, size_t len, sy_ir_delta_cb cb, void *cbctx);
int sy_openai_stream_end(void *st, sy_ir_delta_cb cb, void *cbctx);
int sy_openai_passthrough_usage(sy_arena_t *a, sy_str_t body, sy_ir_usage_t *out);

#endif
