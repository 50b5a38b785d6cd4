/*
 * store.c - choosing a store backend from the `store` (or `audit.store`) URL.
 */
#include "store/store.h"

#include <stdio.h>

sy_store_t *sy_store_open(const sy_config_store_t *cfg, const char *path,
                          const sy_store_opts_t *opts, char *err, size_t errsz)
{
    switch (cfg->kind) {
    case SY_CONFIG_STORE_SQLITE:
        return sy_store_sqlite_open(path, opts, err, errsz);
    case SY_CONFIG_STORE_FILE:
        return sy_store_file_open(path, opts, err, errsz);
    case SY_CONFIG_STORE_POSTGRES: {
        char url[2048];
        snprintf(url, sizeof(url), "%.*s", SY_STR_FMT(cfg->url));
        return sy_store_postgres_open(url, opts, err, errsz);
    }
    default:
        snprintf(err, errsz, "unknown store kind");
        return NULL;
    }
}
