/*
 * openai.h - the OpenAI adapter's helpers beyond its vtable.
 *
 * `sy_provider_openai` (providers/openai.c) speaks /chat/completions to
 * OpenAI and to every OpenAI-compatible host (Mistral, Groq, Together,
 * DeepSeek, vLLM, Ollama, llama.cpp: whatever base_url names), and to Azure
 * OpenAI (cx->azure). The functions here serve what the IR does not model:
 * embeddings, which only OpenAI-kind deployments serve and which the gateway
 * forwards almost as they are.
 */
#ifndef SY_PROVIDERS_OPENAI_H
#define SY_PROVIDERS_OPENAI_H

#include "providers/provider.h"

extern const sy_provider_vt_t sy_provider_openai;

/* Azure OpenAI api-version used when the deployment configures none: the
 * latest GA (non-preview) data-plane inference version. */
#define SY_OPENAI_AZURE_API_VERSION "2024-10-21"

/* Cap on tool-call argument bytes the stream decoder holds back while the
 * upstream interleaves parallel calls (see docs/internals/translation.md). */
#define SY_OPENAI_MAX_HELD_ARGS ((size_t)8 << 20)

/*
 * The upstream request for an embeddings call: POST {base}/embeddings (Azure:
 * /openai/deployments/{model}/embeddings?api-version=...), the client's
 * parsed body `body` forwarded with "model" rewritten to cx->model (every
 * other member byte for byte). `body` must be a JSON object.
 */
int sy_openai_embeddings_encode(sy_arena_t *a, const sy_provider_ctx_t *cx, const sy_json_t *body,
                                sy_upstream_req_t *out);

/* Usage of an embeddings response body (usage.prompt_tokens -> input). */
void sy_openai_embeddings_usage(sy_arena_t *a, sy_str_t body, sy_ir_usage_t *out);

#endif
