/*
 * gemini.h - internals of the Gemini adapter shared between its files:
 * gemini.c (vtable, request encoder), gemini_schema.c (JSON Schema to
 * Gemini's OpenAPI subset) and gemini_decode.c (whole and streamed
 * responses, errors). Not a public interface: the core reaches the adapter
 * only through sy_provider_gemini. docs/internals/translation.md ("Gemini")
 * describes the mapping.
 */
#ifndef SY_PROVIDERS_GEMINI_H
#define SY_PROVIDERS_GEMINI_H

#include "json/json.h"
#include "providers/provider.h"

/* The dummy thought signature Google documents for function calls the
 * model did not produce itself (history from another model, or a client
 * that could not keep the signature): Gemini 3 answers 400 when the first
 * functionCall of a model turn carries no signature at all. */
#define SY_GEMINI_DUMMY_SIGNATURE "skip_thought_signature_validator"

/* Caps on a streamed function call's arguments rebuilt from Vertex
 * partialArgs: nesting, and bytes of the keys on the open path. */
#define SY_GEMINI_MAX_ARG_DEPTH 32
#define SY_GEMINI_MAX_ARG_PATH 4096
#define SY_GEMINI_MAX_ARRAY_GAP 1024 /* nulls filled for a skipped array index */

/*
 * Write `schema` (a JSON Schema object from a tool definition or a
 * response format) as Gemini's Schema (an OpenAPI 3.0 subset): local $refs
 * inlined, type lists and null branches turned into nullable, const into a
 * one-value enum, unsupported keywords dropped. Writes exactly one value.
 */
void sy_gemini_write_schema(sy_json_writer_t *w, const sy_json_t *schema);

/* True when the converted schema of a tool's parameters would be an object
 * without properties, which Gemini rejects: the declaration then carries no
 * parameters at all. */
bool sy_gemini_schema_is_empty_object(const sy_json_t *schema);

/* Stream decoder and whole-body decoder (gemini_decode.c). */
void *sy_gemini_stream_new(sy_arena_t *a, const sy_provider_ctx_t *cx, const sy_ir_request_t *req);
int sy_gemini_stream_feed(void *st, const char *data, size_t len, sy_ir_delta_cb cb, void *cbctx);
int sy_gemini_stream_end(void *st, sy_ir_delta_cb cb, void *cbctx);
int sy_gemini_decode(sy_arena_t *a, const sy_provider_ctx_t *cx, sy_str_t body,
                     sy_ir_response_t *out, sy_ir_error_t *err);
void sy_gemini_map_error(int status, const sy_http_header_t *headers, size_t nheaders,
                         sy_str_t body, sy_ir_error_t *out);

#endif
