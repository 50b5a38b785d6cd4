/*
 * governance.c - the `admin`, `counters` and `governance` sections of the
 * configuration.
 *
 * `admin.master_key` guards the admin API and switches virtual keys on
 * (without it only the static `keys` authenticate). `counters` says where
 * rate-limit and budget counters live: `local` (this process, atomics) or
 * `redis://[:PASSWORD@]HOST[:PORT][/DB]` (shared by every instance pointing
 * at the same server). `governance` holds the knobs of the harness; what
 * each one means is in README.md and docs/internals/governance.md.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "core/arena.h"

#define MS  1ull
#define SEC 1000ull
#define MIN (60 * SEC)

/* ---- admin ---- */

static const sy_cfg_field_t admin_fields[] = {
    {.key = "master_key",
     .type = SY_CFG_STRING,
     .offset = offsetof(sy_config_admin_t, master_key),
     .flags = SY_CFG_F_SECRET},
};

const sy_cfg_section_t sy_config_admin_section = {"admin", admin_fields,
                                                  SY_ARRAY_LEN(admin_fields)};

/* ---- counters ---- */

static const char expected_counters[] = "expected local or redis://[:PASSWORD@]HOST[:PORT][/DB]";

/* Parse "redis://[user][:password@]host[:port][/db]". */
static int redis_url(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path, sy_str_t s,
                     sy_config_counters_t *out)
{
    sy_str_t rest = sy_str_sub(s, sizeof("redis://") - 1, s.len);
    ptrdiff_t at = -1;
    for (size_t i = 0; i < rest.len; i++)
        if (rest.p[i] == '@')
            at = (ptrdiff_t)i;
    sy_str_t password = SY_STR("");
    if (at >= 0) {
        sy_str_t userinfo = sy_str_sub(rest, 0, (size_t)at);
        ptrdiff_t colon = sy_str_find_char(userinfo, ':');
        password = colon >= 0 ? sy_str_sub(userinfo, (size_t)colon + 1, userinfo.len) : userinfo;
        rest = sy_str_sub(rest, (size_t)at + 1, rest.len);
    }
    ptrdiff_t slash = sy_str_find_char(rest, '/');
    sy_str_t hostport = slash >= 0 ? sy_str_sub(rest, 0, (size_t)slash) : rest;
    sy_str_t db = slash >= 0 ? sy_str_sub(rest, (size_t)slash + 1, rest.len) : SY_STR("");
    ptrdiff_t colon = -1;
    for (size_t i = 0; i < hostport.len; i++)
        if (hostport.p[i] == ':')
            colon = (ptrdiff_t)i;
    sy_str_t host = colon >= 0 ? sy_str_sub(hostport, 0, (size_t)colon) : hostport;
    uint64_t port = 6379, dbn = 0;
    if (host.len == 0 || host.len > 253 ||
        (colon >= 0 &&
         (sy_str_to_u64(sy_str_sub(hostport, (size_t)colon + 1, hostport.len), 65535, &port) !=
              SY_OK ||
          port == 0)) ||
        (db.len && sy_str_to_u64(db, 1024, &dbn) != SY_OK)) {
        /* The value is not echoed: it may hold a password. */
        sy_cfg_error(cx, n, path, "%s (a port from 1 to 65535, a database number up to 1024)",
                     expected_counters);
        return SY_EINVAL;
    }
    out->kind = SY_CONFIG_COUNTERS_REDIS;
    out->host = sy_str_dup(cx->arena, host);
    out->port = (uint16_t)port;
    out->db = dbn;
    out->password = sy_str_dup(cx->arena, password);
    return SY_OK;
}

int sy_config_parse_counters(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                             void *field)
{
    sy_config_counters_t *out = field;
    memset(out, 0, sizeof(*out));
    out->kind = SY_CONFIG_COUNTERS_LOCAL;
    out->url = SY_STR("local");
    if (v == NULL)
        return SY_OK;
    if (v->invalid)
        return SY_EINVAL;
    if (v->kind != SY_YAML_SCALAR || v->is_null) {
        sy_cfg_error(cx, v, path, "%s, got %s", expected_counters, sy_cfg_shown(cx, v));
        return SY_EINVAL;
    }
    sy_str_t s = sy_str_trim(v->str);
    if (sy_str_ieq_c(s, "local"))
        return SY_OK;
    if (!sy_str_starts_with(s, SY_STR("redis://"))) {
        sy_cfg_error(cx, v, path, "%s, got %s", expected_counters, sy_cfg_shown(cx, v));
        return SY_EINVAL;
    }
    out->url = sy_str_dup(cx->arena, s);
    return redis_url(cx, v, path, s, out);
}

void sy_config_format_counters(const void *field, sy_buf_t *out, bool redact)
{
    const sy_config_counters_t *c = field;
    if (c->kind == SY_CONFIG_COUNTERS_LOCAL) {
        sy_buf_append_c(out, "local");
        return;
    }
    /* Rebuilt from the parts, so the password can be left out. */
    sy_buf_append_c(out, "\"redis://");
    if (c->password.len) {
        sy_buf_append_c(out, ":");
        if (redact) {
            sy_buf_append_c(out, "<redacted>");
        } else {
            for (size_t i = 0; i < c->password.len; i++) {
                char ch = c->password.p[i];
                if (ch == '"' || ch == '\\')
                    sy_buf_printf(out, "\\%c", ch);
                else if (ch == '$' && i + 1 < c->password.len && c->password.p[i + 1] == '{')
                    sy_buf_append_c(out, "$$");
                else
                    sy_buf_append(out, &ch, 1);
            }
        }
        sy_buf_append_c(out, "@");
    }
    sy_buf_printf(out, "%.*s:%u", SY_STR_FMT(c->host), (unsigned)c->port);
    if (c->db)
        sy_buf_printf(out, "/%llu", (unsigned long long)c->db);
    sy_buf_append_c(out, "\"");
}

/* ---- governance ---- */

static const char *const counters_failure_names[] = {"closed", "open", NULL};

#define GOV_UINT(k, lo, hi, d)                                                                     \
    {                                                                                              \
        .key = #k, .type = SY_CFG_UINT, .offset = offsetof(sy_config_governance_t, k),             \
        .min = (lo), .max = (hi), .def = (d)                                                       \
    }
#define GOV_TIME(k, lo, hi, d)                                                                     \
    {                                                                                              \
        .key = #k, .type = SY_CFG_DURATION, .offset = offsetof(sy_config_governance_t, k##_ms),    \
        .min = (lo), .max = (hi), .def = (d)                                                       \
    }

static const sy_cfg_field_t governance_fields[] = {
    GOV_TIME(sync_interval, 10 * MS, 500 * MS, 250 * MS),
    {.key = "counters_failure",
     .type = SY_CFG_ENUM,
     .offset = offsetof(sy_config_governance_t, counters_failure),
     .names = counters_failure_names,
     .def = SY_CONFIG_COUNTERS_FAIL_CLOSED},
    GOV_TIME(counters_timeout, 10 * MS, 10 * SEC, 250 * MS),
    GOV_TIME(reservation_ttl, 10 * SEC, 24 * 60 * MIN, 10 * MIN),
    GOV_UINT(default_max_output, 1, 10000000, 4096),
    GOV_TIME(spend_flush_interval, 1 * MS, 10 * SEC, 100 * MS),
    GOV_UINT(spend_queue_capacity, 16, 1u << 22, 65536),
};

const sy_cfg_section_t sy_config_governance_section = {"governance", governance_fields,
                                                       SY_ARRAY_LEN(governance_fields)};
