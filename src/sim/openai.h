/*
 * openai.h - what the OpenAI family's files share (openai.c: routing, auth,
 * errors, models, embeddings; openai_chat.c: chat completions).
 */
#ifndef SY_SIM_OPENAI_H
#define SY_SIM_OPENAI_H

#include "sim/sim.h"

/* Per request: which flavour of the API was called. */
typedef struct {
    bool azure;
    sy_str_t deployment; /* Azure: the {deployment} path segment */
} oa_route_t;

/* Answer an OpenAI-shaped error: {"error":{"message","type","param","code"}}.
 * param and code may be NULL (JSON null). Azure errors use the same shape. */
void oa_error(sy_sim_call_t *call, int status, const char *message, const char *type,
              const char *param, const char *code);
/* Common response headers (x-request-id, openai-version, ...). */
void oa_headers(sy_sim_call_t *call);
/* The model for a request body's "model" (or the Azure deployment): answers
 * the 400/404 itself and returns NULL when there is none. */
const sy_sim_model_t *oa_model(sy_sim_call_t *call, const oa_route_t *rt, sy_sim_kind_t kind);
/* "fp_" + 10 hex digits for the model, or NULL for models that report null. */
const char *oa_fingerprint(sy_sim_call_t *call);

/* A JSON type name as OpenAI's messages say it: "a string", "an integer"... */
const char *oa_type_phrase(const sy_json_t *v);

void oa_chat(sy_sim_call_t *call, const oa_route_t *rt);

#endif
