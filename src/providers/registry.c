/*
 * registry.c - the table of provider adapters. Adding a provider: write
 * providers/<kind>.c defining `const sy_provider_vt_t sy_provider_<kind>`,
 * and add it to the list below. Nothing else in the core changes.
 */
#include "providers/provider.h"

#include "providers/adapters.h"

static const sy_provider_vt_t *const adapters[] = {
#define SY_ADAPTER(kind) &sy_provider_##kind,
#include "providers/adapters.def"
#undef SY_ADAPTER
    NULL,
};

const sy_provider_vt_t *sy_provider_find(sy_str_t kind)
{
    for (size_t i = 0; adapters[i]; i++)
        if (sy_str_eq_c(kind, adapters[i]->kind))
            return adapters[i];
    return NULL;
}

const sy_provider_vt_t *const *sy_provider_all(void) { return adapters; }
