/*
 * group.c - the deployments of a group for one request: a wildcard group's
 * completed with what its `*` matched.
 */
#include <string.h>

#include "core/arena.h"
#include "router/router.h"

/* `pattern` with its first `*` replaced by `capture`, in the arena. */
static sy_str_t substitute(sy_arena_t *a, sy_str_t pattern, sy_str_t capture)
{
    ptrdiff_t star = sy_str_find_char(pattern, '*');
    if (star < 0)
        return pattern;
    size_t n = pattern.len - 1 + capture.len;
    char *b = sy_arena_alloc(a, n + 1);
    memcpy(b, pattern.p, (size_t)star);
    memcpy(b + star, capture.p, capture.len);
    memcpy(b + (size_t)star + capture.len, pattern.p + star + 1, pattern.len - (size_t)star - 1);
    b[n] = '\0';
    return sy_str(b, n);
}

const sy_config_deployment_t *sy_route_deployments(sy_arena_t *a, const sy_config_model_t *group,
                                                   sy_str_t capture, size_t *n)
{
    *n = group->ndeployments;
    if (!group->wildcard)
        return group->deployments;
    sy_config_deployment_t *out = sy_arena_alloc(a, SY_MAX(group->ndeployments, (size_t)1) *
                                                        sizeof(*out));
    for (size_t i = 0; i < group->ndeployments; i++) {
        const sy_config_deployment_t *src = &group->deployments[i];
        out[i] = *src;
        if (!src->wildcard)
            continue;
        /* The upstream model is the completed name; its catalogue figures are
         * that model's. Health is shared by the whole pattern (the state of
         * "provider/pattern"), so names clients invent cannot grow the
         * process-wide table. */
        out[i].model = substitute(a, src->model, capture);
        sy_config_resolve_deployment(a, &out[i], false);
        out[i].state = src->state;
    }
    return out;
}
