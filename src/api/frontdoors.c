/*
 * frontdoors.c - the front-door table (see frontdoors.h, frontdoors.def).
 */
#include "api/frontdoors.h"

#include <string.h>

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

sy_str_t sy_frontdoor_response_id(sy_arena_t *a, const char *prefix, sy_str_t request_id)
{
    if (request_id.len == 0)
        return SY_STR_NULL;
    size_t pl = strlen(prefix), n = SY_MIN(request_id.len, (size_t)64);
    char *id = sy_arena_alloc(a, pl + n + 1);
    memcpy(id, prefix, pl);
    for (size_t i = 0; i < n; i++) {
        char c = request_id.p[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        id[pl + i] = ok ? c : '_';
    }
    id[pl + n] = '\0';
    return sy_str(id, pl + n);
}
