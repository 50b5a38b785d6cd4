/*
 * store.c - the `store` and `audit` sections of the configuration.
 *
 * `store` is one URL naming where the background writers keep records:
 * "sqlite:PATH" (the default, a file beside the configuration) or
 * "postgres://user:password@host/db". `audit.store` may put the audit log
 * elsewhere, including "file:PATH" (an append-only file, store/file.c),
 * which holds nothing but the audit log. `audit` is a table of settings for the
 * tamper-evident decision log; what each one means is in README.md and
 * docs/internals/audit.md.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "core/arena.h"

#define MS  1ull
#define SEC 1000ull
#define KIB (1ull << 10)
#define MIB (1ull << 20)

#define SY_CONFIG_DEFAULT_STORE "sqlite:switchyard.db"

/* ---- store ---- */

/* A store named by a file: "SCHEME:FILE" (also spelled "SCHEME://FILE"). */
static int store_file(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path, sy_str_t s,
                      size_t scheme_len, int kind, const char *example, sy_config_store_t *out)
{
    sy_str_t file = sy_str_sub(s, scheme_len, s.len);
    /* sqlite:///abs/path and sqlite://rel are common spellings elsewhere */
    if (sy_str_starts_with(file, SY_STR("//")))
        file = sy_str_sub(file, 2, file.len);
    if (file.len == 0) {
        sy_cfg_error(cx, n, path, "%.*s needs a file name, as in %s", (int)scheme_len, s.p,
                     example);
        return SY_EINVAL;
    }
    out->kind = kind;
    out->url = sy_str_dup(cx->arena, s);
    out->path = sy_str_dup(cx->arena, file);
    return SY_OK;
}

static int store_from(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path, sy_str_t s,
                      bool audit, sy_config_store_t *out)
{
    if (sy_str_starts_with(s, SY_STR("file:"))) {
        if (!audit) {
            sy_cfg_error(cx, n, path,
                         "file: holds only the audit log: set it as audit.store, and keep store "
                         "as sqlite:FILE or postgres://... for keys, teams and spend");
            return SY_EINVAL;
        }
        return store_file(cx, n, path, s, 5, SY_CONFIG_STORE_FILE, "file:audit.log", out);
    }
    if (sy_str_starts_with(s, SY_STR("sqlite:")))
        return store_file(cx, n, path, s, 7, SY_CONFIG_STORE_SQLITE, "sqlite:switchyard.db", out);
    if (sy_str_starts_with(s, SY_STR("postgres://")) ||
        sy_str_starts_with(s, SY_STR("postgresql://"))) {
        out->kind = SY_CONFIG_STORE_POSTGRES;
        out->url = sy_str_dup(cx->arena, s);
        out->path = SY_STR("");
        return SY_OK;
    }
    sy_cfg_error(cx, n, path, "expected sqlite:FILE%s or postgres://USER@HOST/DB, got %s",
                 audit ? ", file:FILE" : "", sy_cfg_shown(cx, n));
    return SY_EINVAL;
}

int sy_config_parse_store(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path, void *field)
{
    sy_config_store_t *out = field;
    if (v == NULL)
        return store_from(cx, NULL, path, SY_STR(SY_CONFIG_DEFAULT_STORE), false, out);
    if (v->invalid)
        return SY_EINVAL;
    if (v->kind != SY_YAML_SCALAR || v->is_null) {
        sy_cfg_error(cx, v, path, "expected sqlite:FILE or postgres://USER@HOST/DB, got %s",
                     sy_cfg_shown(cx, v));
        return SY_EINVAL;
    }
    return store_from(cx, v, path, sy_str_trim(v->str), false, out);
}

int sy_config_parse_audit_store(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                                void *field)
{
    sy_config_store_t *out = field;
    memset(out, 0, sizeof(*out));
    out->url = SY_STR("");
    out->path = SY_STR("");
    if (v == NULL || v->is_null)
        return SY_OK; /* the top-level store */
    if (v->invalid)
        return SY_EINVAL;
    if (v->kind != SY_YAML_SCALAR) {
        sy_cfg_error(cx, v, path,
                     "expected file:FILE, sqlite:FILE or postgres://USER@HOST/DB, got %s",
                     sy_cfg_shown(cx, v));
        return SY_EINVAL;
    }
    sy_str_t s = sy_str_trim(v->str);
    if (s.len == 0)
        return SY_OK;
    return store_from(cx, v, path, s, true, out);
}

const sy_config_store_t *sy_config_audit_store(const sy_config_t *c)
{
    return c->audit.store.url.len ? &c->audit.store : &c->store;
}

void sy_config_format_store(const void *field, sy_buf_t *out, bool redact)
{
    const sy_config_store_t *s = field;
    sy_str_t u = s->url;
    sy_buf_append_c(out, "\"");
    /* postgres://user:password@host/db: the password is a secret. */
    ptrdiff_t at = s->kind == SY_CONFIG_STORE_POSTGRES ? sy_str_find_char(u, '@') : -1;
    ptrdiff_t scheme = sy_str_find(u, SY_STR("://"));
    ptrdiff_t colon = -1;
    if (redact && at > 0 && scheme > 0) {
        for (ptrdiff_t i = scheme + 3; i < at; i++)
            if (u.p[i] == ':') {
                colon = i;
                break;
            }
    }
    for (size_t i = 0; i < u.len; i++) {
        if (colon >= 0 && (ptrdiff_t)i == colon + 1) {
            sy_buf_append_c(out, "<redacted>");
            i = (size_t)at - 1;
            continue;
        }
        char c = u.p[i];
        if (c == '"' || c == '\\')
            sy_buf_printf(out, "\\%c", c);
        else if (c == '$' && i + 1 < u.len && u.p[i + 1] == '{')
            sy_buf_append_c(out, "$$");
        else
            sy_buf_append(out, &c, 1);
    }
    sy_buf_append_c(out, "\"");
}

/* ---- audit ---- */

static const char *const audit_content_names[] = {"none", "redacted", "full", NULL};
static const char *const audit_sync_names[] = {"full", "normal", NULL};

#define AUDIT_UINT(k, lo, hi, d)                                                                   \
    {                                                                                              \
        .key = #k, .type = SY_CFG_UINT, .offset = offsetof(sy_config_audit_t, k), .min = (lo),     \
        .max = (hi), .def = (d)                                                                    \
    }
#define AUDIT_TIME(k, lo, hi, d)                                                                   \
    {                                                                                              \
        .key = #k, .type = SY_CFG_DURATION, .offset = offsetof(sy_config_audit_t, k##_ms),         \
        .min = (lo), .max = (hi), .def = (d)                                                       \
    }

static const sy_cfg_field_t audit_fields[] = {
    {.key = "enabled", .type = SY_CFG_BOOL, .offset = offsetof(sy_config_audit_t, enabled)},
    {.key = "content",
     .type = SY_CFG_ENUM,
     .offset = offsetof(sy_config_audit_t, content),
     .names = audit_content_names,
     .def = SY_CONFIG_AUDIT_CONTENT_NONE},
    {.key = "max_content_bytes",
     .type = SY_CFG_SIZE,
     .offset = offsetof(sy_config_audit_t, max_content_bytes),
     .min = 0,
     .max = 16 * MIB,
     .def = 64 * KIB},
    AUDIT_TIME(flush_interval, 1 * MS, 10 * SEC, 50 * MS),
    AUDIT_UINT(batch_records, 1, 100000, 1000),
    AUDIT_UINT(queue_capacity, 16, 1u << 22, 65536),
    AUDIT_TIME(queue_full_wait, 0, 1 * SEC, 5 * MS),
    AUDIT_UINT(checkpoint_records, 1, 10000000, 1000),
    AUDIT_TIME(checkpoint_interval, 100 * MS, 24 * 3600 * SEC, 10 * SEC),
    {.key = "signing_key_file",
     .type = SY_CFG_STRING,
     .offset = offsetof(sy_config_audit_t, signing_key_file),
     .def_str = "audit-signing.key"},
    {.key = "synchronous",
     .type = SY_CFG_ENUM,
     .offset = offsetof(sy_config_audit_t, synchronous),
     .names = audit_sync_names,
     .def = SY_CONFIG_AUDIT_SYNC_FULL},
    {.key = "store",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_config_audit_t, store),
     .parse = sy_config_parse_audit_store,
     .format = sy_config_format_store},
};

const sy_cfg_section_t sy_config_audit_section = {"audit", audit_fields,
                                                  SY_ARRAY_LEN(audit_fields)};

/* ---- paths ---- */

int sy_config_resolve_path(const sy_config_t *c, sy_str_t rel, char *out, size_t outsz)
{
    const char *slash = c && c->path ? strrchr(c->path, '/') : NULL;
    int n;
    if (rel.len && rel.p[0] == '/')
        slash = NULL;
    if (slash)
        n = snprintf(out, outsz, "%.*s/%.*s", (int)(slash - c->path), c->path, SY_STR_FMT(rel));
    else
        n = snprintf(out, outsz, "%.*s", SY_STR_FMT(rel));
    return n < 0 || (size_t)n >= outsz ? SY_ETOOBIG : SY_OK;
}
