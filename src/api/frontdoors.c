/*
 * frontdoors.c - the front-door table (see frontdoors.h, frontdoors.def).
 */
#include "api/frontdoors.h"

#define SY_FRONTDOOR(name) extern const sy_frontdoor_vt_t sy_frontdoor_##name;
#include "api/frontdoors.def"
#undef SY_FRONTDOOR

static const sy_frontdoor_vt_t *const frontdoors[] = {
#define SY_FRONTDOOR(name) &sy_frontdoor_##name,
#include "api/frontdoors.def"
#undef SY_FRONTDOOR
    NULL,
};

const sy_frontdoor_vt_t *sy_frontdoor_find(sy_str_t name)
{
    for (size_t i = 0; frontdoors[i]; i++)
        if (sy_str_eq_c(name, frontdoors[i]->name))
            return frontdoors[i];
    return NULL;
}

const sy_frontdoor_vt_t *const *sy_frontdoor_all(void) { return frontdoors; }
