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

#endif
