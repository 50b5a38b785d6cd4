/*
 * gateway.c - the configuration sections of the gateway's data path:
 * `keys`, `providers` and `models`, and the checks that tie them together
 * (a deployment names a provider that exists; a provider's kind is a
 * registered adapter; names are unique).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "providers/provider.h"

/* ---- lists of sections ---- */

int sy_cfg_section_list(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                        const sy_cfg_section_t *s, size_t elem_size, void **items, size_t *n)
{
    *items = NULL;
    *n = 0;
    if (v == NULL || (v->kind == SY_YAML_SCALAR && v->is_null))
        return SY_OK;
    if (sy_cfg_expect_seq(cx, v, path, false) != SY_OK)
        return SY_EINVAL;
    char *arr = sy_arena_calloc(cx->arena, SY_MAX(v->len, (size_t)1) * elem_size);
    int rc = SY_OK;
    for (size_t i = 0; i < v->len; i++) {
        void *elem = arr + i * elem_size;
        sy_cfg_section_defaults(cx, s, elem);
        if (sy_cfg_section_parse(cx, v->items[i], sy_cfg_path_index(cx, path, i), s, elem) != SY_OK)
            rc = SY_EINVAL;
    }
    *items = arr;
    *n = v->len;
    return rc;
}

/* One section element in YAML flow style: {key: value, ...}. */
static void format_flow(const sy_cfg_section_t *s, const void *elem, sy_buf_t *out, bool redact)
{
    sy_buf_append_c(out, "{");
    for (size_t i = 0; i < s->nfields; i++) {
        const sy_cfg_field_t *f = &s->fields[i];
        const void *field = (const char *)elem + f->offset;
        sy_buf_printf(out, "%s%s: ", i ? ", " : "", f->key);
        switch (f->type) {
        case SY_CFG_STRING: {
            sy_str_t v = *(const sy_str_t *)field;
            if (redact && (f->flags & SY_CFG_F_SECRET) && v.len) {
                sy_buf_append_c(out, "\"<redacted>\"");
                break;
            }
            sy_buf_append_c(out, "\"");
            for (size_t k = 0; k < v.len; k++) {
                char c = v.p[k];
                if (c == '"' || c == '\\')
                    sy_buf_append(out, "\\", 1);
                sy_buf_append(out, &c, 1);
            }
            sy_buf_append_c(out, "\"");
            break;
        }
        case SY_CFG_BOOL:
            sy_buf_append_c(out, *(const bool *)field ? "true" : "false");
            break;
        case SY_CFG_UINT:
        case SY_CFG_SIZE:
            sy_buf_printf(out, "%llu", (unsigned long long)*(const uint64_t *)field);
            break;
        case SY_CFG_DURATION: {
            char b[32];
            sy_buf_append_c(out, sy_cfg_format_duration(*(const uint64_t *)field, b));
            break;
        }
        case SY_CFG_ENUM:
            sy_buf_append_c(out, f->names[*(const int *)field]);
            break;
        case SY_CFG_CUSTOM:
            f->format(field, out, redact);
            break;
        case SY_CFG_SECTION:
            format_flow(f->section, field, out, redact);
            break;
        }
    }
    sy_buf_append_c(out, "}");
}

/* ---- keys ---- */

int sy_config_parse_keys(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path, void *field)
{
    sy_config_key_list_t *out = field;
    out->items = NULL;
    out->n = 0;
    if (v == NULL || (v->kind == SY_YAML_SCALAR && v->is_null))
        return SY_OK;
    if (sy_cfg_expect_seq(cx, v, path, true) != SY_OK)
        return SY_EINVAL;
    size_t n = v->kind == SY_YAML_SEQ ? v->len : 1;
    sy_str_t *keys = sy_arena_calloc(cx->arena, SY_MAX(n, (size_t)1) * sizeof(*keys));
    size_t k = 0;
    int rc = SY_OK;
    for (size_t i = 0; i < n; i++) {
        const sy_yaml_node_t *item = v->kind == SY_YAML_SEQ ? v->items[i] : v;
        const char *ipath = sy_cfg_path_index(cx, path, i);
        sy_str_t s;
        if (sy_cfg_string(cx, item, ipath, &s) != SY_OK) {
            rc = SY_EINVAL;
            continue;
        }
        if (s.len == 0)
            continue; /* ${KEY:-} left empty: no key */
        if (s.len < 8) {
            /* Never echo the value: it is a secret. */
            sy_cfg_error(cx, item, ipath, "a key must be at least 8 characters long");
            rc = SY_EINVAL;
            continue;
        }
        keys[k++] = s;
    }
    out->items = keys;
    out->n = k;
    return rc;
}

void sy_config_format_keys(const void *field, sy_buf_t *out, bool redact)
{
    const sy_config_key_list_t *l = field;
    sy_buf_append_c(out, "[");
    for (size_t i = 0; i < l->n; i++) {
        if (redact)
            sy_buf_printf(out, "%s\"<redacted>\"", i ? ", " : "");
        else
            sy_buf_printf(out, "%s\"%.*s\"", i ? ", " : "", SY_STR_FMT(l->items[i]));
    }
    sy_buf_append_c(out, "]");
}

/* ---- providers ---- */

#define PSTR(k, fl)                                                                                \
    {                                                                                              \
        .key = #k, .type = SY_CFG_STRING, .offset = offsetof(sy_config_provider_t, k), .flags = (fl) \
    }

static const sy_cfg_field_t provider_fields[] = {
    PSTR(name, SY_CFG_F_REQUIRED),
    PSTR(kind, SY_CFG_F_REQUIRED),
    PSTR(base_url, 0),
    PSTR(api_key, SY_CFG_F_SECRET),
    PSTR(region, 0),
    PSTR(jurisdiction, 0),
    PSTR(api_version, 0),
    {.key = "azure", .type = SY_CFG_BOOL, .offset = offsetof(sy_config_provider_t, azure)},
    PSTR(aws_access_key_id, 0),
    PSTR(aws_secret_access_key, SY_CFG_F_SECRET),
    PSTR(aws_session_token, SY_CFG_F_SECRET),
    PSTR(proxy, 0),
    {.key = "max_connections",
     .type = SY_CFG_UINT,
     .offset = offsetof(sy_config_provider_t, max_connections),
     .min = 1,
     .max = 100000,
     .def = 512},
};
static const sy_cfg_section_t provider_section = {"providers", provider_fields,
                                                  SY_ARRAY_LEN(provider_fields)};

int sy_config_parse_providers(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                              void *field)
{
    sy_config_provider_list_t *out = field;
    void *items;
    size_t n;
    int rc = sy_cfg_section_list(cx, v, path, &provider_section, sizeof(sy_config_provider_t),
                                 &items, &n);
    out->items = items;
    out->n = n;
    if (v == NULL || rc != SY_OK)
        return rc;
    sy_config_provider_t *p = items;
    for (size_t i = 0; i < n; i++) {
        const sy_yaml_node_t *item = v->items[i];
        const char *ipath = sy_cfg_path_index(cx, path, i);
        if (sy_provider_find(p[i].kind) == NULL) {
            const char *kinds[16];
            size_t nk = 0;
            char list[256] = "";
            size_t ll = 0;
            for (const sy_provider_vt_t *const *a = sy_provider_all(); *a && nk < 16; a++) {
                kinds[nk++] = (*a)->kind;
                ll += (size_t)snprintf(list + ll, sizeof(list) - SY_MIN(ll, sizeof(list)), "%s%s",
                                       nk > 1 ? ", " : "", (*a)->kind);
            }
            const char *sug = sy_cfg_suggest(p[i].kind, kinds, nk);
            const sy_yaml_node_t *kn = sy_yaml_map_get(item, "kind");
            sy_cfg_error(cx, kn ? kn : item, sy_cfg_path_key(cx, ipath, SY_STR("kind")),
                         "unknown provider kind %s%s%s%s (known: %s)",
                         sy_yaml_quote(cx->scratch, p[i].kind, 40), sug ? " (did you mean \"" : "",
                         sug ? sug : "", sug ? "\"?)" : "", list);
            rc = SY_EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (sy_str_eq(p[j].name, p[i].name)) {
                sy_cfg_error(cx, item, ipath, "provider name \"%.*s\" is used twice",
                             SY_STR_FMT(p[i].name));
                rc = SY_EINVAL;
            }
        /* base_url: defaulted per kind, no trailing slash. */
        if (p[i].base_url.len == 0) {
            const char *def = "";
            if (sy_str_eq_c(p[i].kind, "openai"))
                def = "https://api.openai.com/v1";
            else if (sy_str_eq_c(p[i].kind, "anthropic"))
                def = "https://api.anthropic.com";
            else if (sy_str_eq_c(p[i].kind, "gemini"))
                def = "https://generativelanguage.googleapis.com";
            else if (sy_str_eq_c(p[i].kind, "bedrock") && p[i].region.len)
                def = sy_arena_sprintf(cx->arena, "https://bedrock-runtime.%.*s.amazonaws.com",
                                       SY_STR_FMT(p[i].region));
            p[i].base_url = sy_str_c(sy_arena_strdup(cx->arena, def));
        }
        while (p[i].base_url.len && p[i].base_url.p[p[i].base_url.len - 1] == '/')
            p[i].base_url.len--;
        if (p[i].base_url.len == 0 && sy_provider_find(p[i].kind)) {
            sy_cfg_error(cx, item, ipath, "base_url is required for this provider%s",
                         sy_str_eq_c(p[i].kind, "bedrock") ? " (or set region)" : "");
            rc = SY_EINVAL;
        } else if (p[i].base_url.len && !sy_str_starts_with(p[i].base_url, SY_STR("http://")) &&
                   !sy_str_starts_with(p[i].base_url, SY_STR("https://"))) {
            const sy_yaml_node_t *bn = sy_yaml_map_get(item, "base_url");
            sy_cfg_error(cx, bn ? bn : item, sy_cfg_path_key(cx, ipath, SY_STR("base_url")),
                         "expected an http:// or https:// URL, got %s", sy_cfg_shown(cx, bn));
            rc = SY_EINVAL;
        }
    }
    return rc;
}

void sy_config_format_providers(const void *field, sy_buf_t *out, bool redact)
{
    const sy_config_provider_list_t *l = field;
    sy_buf_append_c(out, "[");
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            sy_buf_append_c(out, ", ");
        format_flow(&provider_section, &l->items[i], out, redact);
    }
    sy_buf_append_c(out, "]");
}

/* ---- models ---- */

static const sy_cfg_field_t deployment_fields[] = {
    {.key = "provider",
     .type = SY_CFG_STRING,
     .offset = offsetof(sy_config_deployment_t, provider),
     .flags = SY_CFG_F_REQUIRED},
    {.key = "model",
     .type = SY_CFG_STRING,
     .offset = offsetof(sy_config_deployment_t, model),
     .flags = SY_CFG_F_REQUIRED},
    {.key = "max_tokens_default",
     .type = SY_CFG_UINT,
     .offset = offsetof(sy_config_deployment_t, max_tokens_default),
     .min = 1,
     .max = 10000000,
     .def = 4096},
};
static const sy_cfg_section_t deployment_section = {"deployments", deployment_fields,
                                                    SY_ARRAY_LEN(deployment_fields)};

typedef struct {
    sy_config_deployment_t *items;
    size_t n;
} deployment_list_t;

static int parse_deployments(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                             void *field)
{
    deployment_list_t *out = field;
    void *items;
    size_t n;
    int rc = sy_cfg_section_list(cx, v, path, &deployment_section, sizeof(sy_config_deployment_t),
                                 &items, &n);
    out->items = items;
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        const sy_yaml_node_t *pn = sy_yaml_map_get(v->items[i], "provider");
        out->items[i].node = pn ? pn : v->items[i];
    }
    return rc;
}

static void format_deployments(const void *field, sy_buf_t *out, bool redact)
{
    const deployment_list_t *l = field;
    sy_buf_append_c(out, "[");
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            sy_buf_append_c(out, ", ");
        format_flow(&deployment_section, &l->items[i], out, redact);
    }
    sy_buf_append_c(out, "]");
}

static const sy_cfg_field_t model_fields[] = {
    {.key = "name",
     .type = SY_CFG_STRING,
     .offset = offsetof(sy_config_model_t, name),
     .flags = SY_CFG_F_REQUIRED},
    {.key = "deployments",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_config_model_t, deployments),
     .flags = SY_CFG_F_REQUIRED,
     .parse = parse_deployments,
     .format = format_deployments},
};
static const sy_cfg_section_t model_section = {"models", model_fields, SY_ARRAY_LEN(model_fields)};

/* The deployments member and ndeployments are laid out as deployment_list_t. */
_Static_assert(offsetof(sy_config_model_t, ndeployments) ==
                   offsetof(sy_config_model_t, deployments) + sizeof(sy_config_deployment_t *),
               "deployment list layout");

int sy_config_parse_models(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                           void *field)
{
    sy_config_model_list_t *out = field;
    void *items;
    size_t n;
    int rc = sy_cfg_section_list(cx, v, path, &model_section, sizeof(sy_config_model_t), &items, &n);
    out->items = items;
    out->n = n;
    if (v == NULL || rc != SY_OK)
        return rc;
    const sy_config_model_t *m = items;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++)
            if (sy_str_eq(m[j].name, m[i].name)) {
                sy_cfg_error(cx, v->items[i], sy_cfg_path_index(cx, path, i),
                             "model name \"%.*s\" is used twice", SY_STR_FMT(m[i].name));
                rc = SY_EINVAL;
            }
        if (m[i].ndeployments == 0) {
            sy_cfg_error(cx, v->items[i], sy_cfg_path_index(cx, path, i),
                         "a model needs at least one deployment");
            rc = SY_EINVAL;
        }
    }
    return rc;
}

void sy_config_format_models(const void *field, sy_buf_t *out, bool redact)
{
    const sy_config_model_list_t *l = field;
    sy_buf_append_c(out, "[");
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            sy_buf_append_c(out, ", ");
        format_flow(&model_section, &l->items[i], out, redact);
    }
    sy_buf_append_c(out, "]");
}

/* ---- cross-checks ---- */

const sy_config_provider_t *sy_config_find_provider(const sy_config_t *c, sy_str_t name)
{
    for (size_t i = 0; i < c->providers.n; i++)
        if (sy_str_eq(c->providers.items[i].name, name))
            return &c->providers.items[i];
    return NULL;
}

const sy_config_model_t *sy_config_find_model(const sy_config_t *c, sy_str_t name)
{
    for (size_t i = 0; i < c->models.n; i++)
        if (sy_str_eq(c->models.items[i].name, name))
            return &c->models.items[i];
    return NULL;
}

int sy_config_link_gateway(sy_cfg_ctx_t *cx, sy_config_t *c)
{
    int rc = SY_OK;
    const char *names[64];
    size_t nn = 0;
    for (size_t i = 0; i < c->providers.n && nn < 64; i++)
        names[nn++] = c->providers.items[i].name.p;
    for (size_t i = 0; i < c->models.n; i++) {
        sy_config_model_t *m = (sy_config_model_t *)&c->models.items[i];
        for (size_t j = 0; j < m->ndeployments; j++) {
            sy_config_deployment_t *d = &m->deployments[j];
            d->provider_cfg = sy_config_find_provider(c, d->provider);
            if (d->provider_cfg == NULL) {
                const char *sug = sy_cfg_suggest(d->provider, names, nn);
                sy_cfg_error(cx, d->node,
                             sy_arena_sprintf(cx->scratch, "models[%zu].deployments[%zu].provider",
                                              i, j),
                             "no provider named \"%.*s\" in providers%s%s%s", SY_STR_FMT(d->provider),
                             sug ? " (did you mean \"" : "", sug ? sug : "", sug ? "\"?)" : "");
                rc = SY_EINVAL;
            }
            d->node = NULL; /* the YAML tree is freed when the build ends */
        }
    }
    return rc;
}
