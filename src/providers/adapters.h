/*
 * adapters.h - declarations of every adapter listed in adapters.def.
 */
#ifndef SY_PROVIDERS_ADAPTERS_H
#define SY_PROVIDERS_ADAPTERS_H

#include "providers/provider.h"

#define SY_ADAPTER(kind) extern const sy_provider_vt_t sy_provider_##kind;
#include "providers/adapters.def"
#undef SY_ADAPTER

#endif
