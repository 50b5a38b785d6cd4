/*
 * frontdoors.h - the table of front doors, by name.
 *
 * Adding a front door: define `const sy_frontdoor_vt_t sy_frontdoor_<name>`
 * in api/<name>.c and add SY_FRONTDOOR(<name>) to api/frontdoors.def.
 */
#ifndef SY_API_FRONTDOORS_H
#define SY_API_FRONTDOORS_H

#include "api/frontdoor.h"

/* The front door with this name ("openai", "anthropic"), or NULL. */
const sy_frontdoor_vt_t *sy_frontdoor_find(sy_str_t name);
/* Every registered front door, NULL-terminated. */
const sy_frontdoor_vt_t *const *sy_frontdoor_all(void);

/* A response id for an answer whose provider gave none (Bedrock has no
 * message id, some Gemini streams no responseId): `prefix` ("chatcmpl-",
 * "msg_") and the gateway's request id, its characters outside [A-Za-z0-9_-]
 * made '_' and cut at 64, so it is unique across requests, the same however
 * the upstream's bytes were split, and findable in the gateway's logs. Empty
 * when there is no request id (a caller outside the gateway). In `a`. */
sy_str_t sy_frontdoor_response_id(sy_arena_t *a, const char *prefix, sy_str_t request_id);

#endif
