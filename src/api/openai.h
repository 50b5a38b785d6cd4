/*
 * openai.h - the OpenAI front door's entry points beyond its vtable
 * (sy_frontdoor_openai in api/frontdoor.h): embeddings and the model list.
 *
 * The vtable's parse() reads POST /v1/chat/completions bodies the way
 * OpenAI does: wrong types, missing members and out-of-range values get a
 * 400 whose message follows OpenAI's wording ("Invalid type for
 * 'messages[0].content': expected ..."), and error_body() derives the
 * error's `param` and `code` from that wording, so SDKs see the same
 * error.param/error.code they would from OpenAI. Members the IR does not
 * model (logprobs, metadata, store, ...) are accepted and not forwarded;
 * the passthrough path (same format both sides) forwards them verbatim.
 */
#ifndef SY_API_OPENAI_H
#define SY_API_OPENAI_H

#include "api/frontdoor.h"

/* The front door's halves (api/openai.c parses, api/openai_out.c writes). */
int sy_openai_fd_parse(sy_arena_t *a, sy_str_t body, sy_ir_request_t *out, int *status,
                       const char **message);
int sy_openai_fd_respond(sy_arena_t *a, const sy_ir_request_t *req, const sy_ir_response_t *resp,
                         sy_buf_t *out);
void *sy_openai_fd_stream_new(sy_arena_t *a, const sy_ir_request_t *req);
int sy_openai_fd_stream_event(void *st, const sy_ir_delta_t *d, sy_buf_t *out);
void sy_openai_fd_error_body(int status, const char *type, const char *code, const char *message,
                             sy_buf_t *out);

/* A parsed POST /v1/embeddings body. */
typedef struct {
    sy_str_t model;       /* the name the client asked for */
    const sy_json_t *body; /* the whole body, for sy_openai_embeddings_encode */
    size_t ninputs;       /* strings or token arrays to embed */
    uint64_t input_tokens; /* estimate (4 bytes a token; token arrays exactly) */
} sy_openai_embeddings_t;

/* Parse and validate an embeddings body: model (string), input (a string,
 * an array of strings, an array of token integers, or an array of such
 * arrays; not empty), encoding_format ("float" or "base64"), dimensions (a
 * positive integer), user (string). Same error contract as parse(). */
int sy_openai_embeddings_parse(sy_arena_t *a, sy_str_t body, sy_openai_embeddings_t *out,
                               int *status, const char **message);

/* Rewrite an upstream embeddings response for the client: "model" becomes
 * the name the client asked for; everything else passes as it is. SY_OK,
 * SY_EINVAL when body is not a JSON object, SY_ETOOBIG (out's cap). */
int sy_openai_embeddings_respond(sy_arena_t *a, sy_str_t body, sy_str_t requested_model,
                                 sy_buf_t *out);

/* GET /v1/models: {"object":"list","data":[{"id","object":"model",
 * "created","owned_by"}...]} for the given names, in order. owned_by NULL
 * means "switchyard". */
int sy_openai_models_list(const sy_str_t *names, size_t n, int64_t created, const char *owned_by,
                          sy_buf_t *out);

/* GET /v1/models/{id}: one model object. */
int sy_openai_model_object(sy_str_t name, int64_t created, const char *owned_by, sy_buf_t *out);

#endif
