/*
 * audit_cmd.c - `switchyard audit verify | proof | summary`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/verify.h"
#include "cli/cli.h"

static const char audit_usage[] =
    "usage: switchyard audit verify  [-c FILE | --db PATH] [--public-key FILE]\n"
    "       switchyard audit proof   [-c FILE | --db PATH] REQUEST_ID\n"
    "       switchyard audit summary [-c FILE | --db PATH]\n"
    "\n"
    "verify   recompute every record's hash and the Merkle tree, check every signed\n"
    "         checkpoint against it, and name the first tampered record. Exit 0 when\n"
    "         the log is intact, 1 when it is not.\n"
    "proof    print the inclusion proof of one record against the latest checkpoint\n"
    "         (JSON; docs/internals/audit.md shows how to check it by hand)\n"
    "summary  totals of the records: count, cost and tokens, by model and provider\n"
    "\n"
    "  -c, --config FILE    take the store (audit.store, else store: file:FILE,\n"
    "                       sqlite:FILE or postgres://...) and signing key\n"
    "                       from this configuration\n"
    "  --db PATH            an audit file (file:) or SQLite audit database (instead of -c)\n"
    "  --public-key FILE    the log's public key (PEM or 64 hex digits); by default the\n"
    "                       public half of audit.signing_key_file from -c\n";

typedef struct {
    const char *config, *db, *pubkey, *arg;
} audit_opts_t;

static int open_store(const audit_opts_t *o, sy_config_t **cfg_out, sy_store_t **out)
{
    char err[1024];
    sy_store_opts_t so = {.readonly = true};
    *cfg_out = NULL;
    if (o->db) {
        *out = sy_store_file_sniff(o->db) ? sy_store_file_open(o->db, &so, err, sizeof(err))
                                          : sy_store_sqlite_open(o->db, &so, err, sizeof(err));
    } else {
        char *cerr = NULL;
        sy_config_t *c = sy_config_load(o->config, &cerr);
        if (c == NULL) {
            fprintf(stderr, "%s\n", cerr ? cerr : "cannot load the configuration");
            free(cerr);
            return 1;
        }
        char path[4096];
        const sy_config_store_t *sc = sy_config_audit_store(c);
        if (sy_config_resolve_path(c, sc->path, path, sizeof(path)) != SY_OK) {
            fprintf(stderr, "switchyard audit: the store path is too long\n");
            sy_config_unref(c);
            return 1;
        }
        *out = sy_store_open(sc, path, &so, err, sizeof(err));
        *cfg_out = c;
    }
    if (*out == NULL) {
        fprintf(stderr, "switchyard audit: %s\n", err);
        return 1;
    }
    return 0;
}

static int load_pub(const audit_opts_t *o, const sy_config_t *c, uint8_t pub[SY_ED25519_PUB_LEN])
{
    char err[1024];
    if (o->pubkey) {
        if (sy_ed25519_load_public(o->pubkey, pub, err, sizeof(err)) != SY_OK) {
            fprintf(stderr, "switchyard audit: %s\n", err);
            return 1;
        }
        return 0;
    }
    if (c == NULL) {
        fprintf(stderr, "switchyard audit verify: give the log's public key with --public-key "
                        "FILE (or -c FILE to use the gateway's signing key); the copy inside the "
                        "database cannot vouch for itself\n");
        return 2;
    }
    char path[4096];
    if (sy_config_resolve_path(c, c->audit.signing_key_file, path, sizeof(path)) != SY_OK ||
        sy_ed25519_load_public(path, pub, err, sizeof(err)) != SY_OK) {
        fprintf(stderr, "switchyard audit: %s\n", err);
        return 1;
    }
    return 0;
}

static void fmt_time(uint64_t ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int cmd_verify(const audit_opts_t *o)
{
    sy_config_t *c;
    sy_store_t *s;
    int rc = open_store(o, &c, &s);
    if (rc)
        return rc;
    uint8_t pub[SY_ED25519_PUB_LEN];
    rc = load_pub(o, c, pub);
    if (rc == 0) {
        sy_audit_verify_t res;
        char err[1024];
        if (sy_audit_verify(s, pub, &res, err, sizeof(err)) != SY_OK) {
            fprintf(stderr, "switchyard audit verify: %s\n", err);
            rc = 1;
        } else if (!res.ok) {
            printf("FAILED: %s\n", res.first);
            if (res.bad_index >= 0)
                printf("first tampered record: index %lld%s%s\n", (long long)res.bad_index,
                       res.bad_id[0] ? ", request id " : "", res.bad_id);
            if (res.problems > 1)
                printf("(%llu problems in all)\n", (unsigned long long)res.problems);
            rc = 1;
        } else {
            char when[40] = "-", kid[17];
            if (res.covered_time_ms)
                fmt_time(res.covered_time_ms, when, sizeof(when));
            printf("ok: %llu records and %llu signed checkpoints verified (key id %s); the "
                   "latest checkpoint covers %llu records (signed %s)",
                   (unsigned long long)res.records, (unsigned long long)res.checkpoints,
                   sy_ed25519_key_id(pub, kid), (unsigned long long)res.covered, when);
            if (res.records > res.covered)
                printf("; %llu newer records are not covered by a checkpoint yet",
                       (unsigned long long)(res.records - res.covered));
            printf("\n");
        }
    }
    sy_store_close(s);
    sy_config_unref(c);
    return rc;
}

static int cmd_proof(const audit_opts_t *o)
{
    if (o->arg == NULL) {
        fputs(audit_usage, stderr);
        return 2;
    }
    sy_config_t *c;
    sy_store_t *s;
    int rc = open_store(o, &c, &s);
    if (rc)
        return rc;
    char err[1024];
    if (sy_audit_proof(s, sy_str_c(o->arg), stdout, err, sizeof(err)) != SY_OK) {
        fprintf(stderr, "switchyard audit proof: %s\n", err);
        rc = 1;
    }
    sy_store_close(s);
    sy_config_unref(c);
    return rc;
}

static int cmd_summary(const audit_opts_t *o)
{
    sy_config_t *c;
    sy_store_t *s;
    int rc = open_store(o, &c, &s);
    if (rc)
        return rc;
    char err[1024];
    if (sy_audit_summary(s, stdout, err, sizeof(err)) != SY_OK) {
        fprintf(stderr, "switchyard audit summary: %s\n", err);
        rc = 1;
    }
    sy_store_close(s);
    sy_config_unref(c);
    return rc;
}

int sy_cli_audit(int argc, char **argv)
{
    if (argc < 1 || sy_cli_is_help(argv[0])) {
        fputs(audit_usage, argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    const char *sub = argv[0];
    audit_opts_t o;
    memset(&o, 0, sizeof(o));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (sy_cli_is_help(a)) {
            fputs(audit_usage, stdout);
            return 0;
        } else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc) {
            o.config = argv[++i];
        } else if (strcmp(a, "--db") == 0 && i + 1 < argc) {
            o.db = argv[++i];
        } else if (strcmp(a, "--public-key") == 0 && i + 1 < argc) {
            o.pubkey = argv[++i];
        } else if (a[0] != '-' && o.arg == NULL) {
            o.arg = a;
        } else {
            fprintf(stderr, "switchyard audit: unexpected argument \"%s\"\n\n%s", a, audit_usage);
            return 2;
        }
    }
    if ((o.config == NULL) == (o.db == NULL)) {
        fprintf(stderr, "switchyard audit: give either -c FILE or --db PATH\n\n%s", audit_usage);
        return 2;
    }
    if (strcmp(sub, "verify") == 0 && o.arg == NULL)
        return cmd_verify(&o);
    if (strcmp(sub, "proof") == 0)
        return cmd_proof(&o);
    if (strcmp(sub, "summary") == 0 && o.arg == NULL)
        return cmd_summary(&o);
    fprintf(stderr, "switchyard audit: unknown command \"%s\"\n\n%s", sub, audit_usage);
    return 2;
}
