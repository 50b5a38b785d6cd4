/*
 * auth.h - who is calling: the key a request presents, checked against the
 * configuration's keys.
 *
 * A key arrives as `Authorization: Bearer KEY` (OpenAI clients) or
 * `x-api-key: KEY` (Anthropic clients); either works on every endpoint.
 * Comparison takes the same time whatever the key's content, so a caller
 * cannot discover a key byte by byte from response timing.
 */
#ifndef SY_API_AUTH_H
#define SY_API_AUTH_H

#include "config/config.h"
#include "http/server.h"

typedef enum {
    SY_AUTH_OK = 0,
    SY_AUTH_MISSING, /* no key presented */
    SY_AUTH_INVALID, /* a key that is not configured */
} sy_auth_result_t;

/* The presented key (view into the request head), or empty. */
sy_str_t sy_auth_presented_key(const sy_http_req_t *req);
/* Check the request's key against c->keys; *key_index is set on success. */
sy_auth_result_t sy_auth_check(const sy_config_t *c, const sy_http_req_t *req, size_t *key_index);

#endif
