/*
 * postgres.c - the PostgreSQL store: not built yet.
 *
 * `store: postgres://...` is accepted by the configuration so a deployment
 * can be written for it, but opening it fails with a clear message until the
 * backend exists. It will implement sy_store_vt_t over libpq with the same
 * three tables (BYTEA for hashes and signatures, TEXT for records) and one
 * transaction per batch, exactly as sqlite.c does.
 */
#include <stdio.h>

#include "store/store.h"

sy_store_t *sy_store_postgres_open(const char *url, const sy_store_opts_t *opts, char *err,
                                   size_t errsz)
{
    SY_UNUSED(url);
    SY_UNUSED(opts);
    snprintf(err, errsz,
             "the PostgreSQL store is not available in this build yet; use store: sqlite:FILE");
    return NULL;
}
