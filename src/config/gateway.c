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
#include "router/router.h"
#include "router/state.h"

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

/* `price: {input: 0.15, output: 0.6, cached_input: ..., cache_write: ...}`,
 * USD per million tokens, each optional: a deployment's overrides of the
 * catalogue's prices. */
static const char *const price_keys[] = {"input", "output", "cached_input", "cache_write", NULL};

static int parse_price(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path, void *field)
{
    sy_config_price_t *p = field;
    memset(p, 0, sizeof(*p));
    if (v == NULL || (v->kind == SY_YAML_SCALAR && v->is_null))
        return SY_OK;
    if (sy_cfg_expect_map(cx, v, path, price_keys) != SY_OK)
        return SY_EINVAL;
    uint64_t *vals[] = {&p->input, &p->output, &p->cached_input, &p->cache_write};
    bool *has[] = {&p->has_input, &p->has_output, &p->has_cached_input, &p->has_cache_write};
    int rc = SY_OK;
    for (size_t i = 0; price_keys[i]; i++) {
        const sy_yaml_node_t *n = sy_yaml_map_get(v, price_keys[i]);
        if (n == NULL || (n->kind == SY_YAML_SCALAR && n->is_null))
            continue;
        const char *kp = sy_cfg_path_key(cx, path, sy_str_c(price_keys[i]));
        int prc = n->kind == SY_YAML_SCALAR ? sy_price_parse(n->str, vals[i]) : SY_EINVAL;
        if (prc != SY_OK) {
            sy_cfg_error(cx, n, kp,
                         "expected a price in USD per million tokens with at most six decimals "
                         "(such as 0.15)%s, got %s",
                         prc == SY_ETOOBIG ? ", at most 1000000" : "", sy_cfg_shown(cx, n));
            rc = SY_EINVAL;
            continue;
        }
        *has[i] = true;
    }
    return rc;
}

static void format_price(const void *field, sy_buf_t *out, bool redact)
{
    SY_UNUSED(redact);
    const sy_config_price_t *p = field;
    const uint64_t vals[] = {p->input, p->output, p->cached_input, p->cache_write};
    const bool has[] = {p->has_input, p->has_output, p->has_cached_input, p->has_cache_write};
    sy_buf_append_c(out, "{");
    bool any = false;
    for (size_t i = 0; price_keys[i]; i++) {
        if (!has[i])
            continue;
        char b[32];
        sy_buf_printf(out, "%s%s: %s", any ? ", " : "", price_keys[i], sy_price_format(vals[i], b));
        any = true;
    }
    sy_buf_append_c(out, "}");
}

#define DUINT(k, lo, hi, d)                                                                        \
    {                                                                                              \
        .key = #k, .type = SY_CFG_UINT, .offset = offsetof(sy_config_deployment_t, k), .min = (lo), \
        .max = (hi), .def = (d)                                                                    \
    }
#define DBOOL(k)                                                                                   \
    {                                                                                              \
        .key = #k, .type = SY_CFG_BOOL, .offset = offsetof(sy_config_deployment_t, k), .def = 1    \
    }
#define DSTR(k, fl)                                                                                \
    {                                                                                              \
        .key = #k, .type = SY_CFG_STRING, .offset = offsetof(sy_config_deployment_t, k),           \
        .flags = (fl)                                                                              \
    }

static const sy_cfg_field_t deployment_fields[] = {
    DSTR(provider, SY_CFG_F_REQUIRED),
    DSTR(model, SY_CFG_F_REQUIRED),
    DUINT(max_tokens_default, 1, 10000000, 4096),
    DUINT(weight, 0, 1000000, 1),
    DUINT(priority, 0, 1000000, 0),
    DSTR(region, 0),
    DSTR(jurisdiction, 0),
    DBOOL(tools),
    DBOOL(vision),
    DBOOL(json_schema),
    DBOOL(thinking),
    DUINT(context_window, 0, 100000000, 0),
    DUINT(max_output, 0, 100000000, 0),
    {.key = "price",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_config_deployment_t, price),
     .parse = parse_price,
     .format = format_price},
    DUINT(rpm, 0, 1000000000, 0),
    DUINT(tpm, 0, 1000000000000ull, 0),
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
    if (n > SY_ROUTE_MAX_DEPLOYMENTS) {
        sy_cfg_error(cx, v, path, "a model has at most %d deployments, this one has %zu",
                     SY_ROUTE_MAX_DEPLOYMENTS, n);
        rc = SY_EINVAL;
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

/* `aliases`: more names for the same group. */
static int parse_aliases(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path, void *field)
{
    sy_config_str_list_t *out = field;
    out->items = NULL;
    out->n = 0;
    if (v == NULL || (v->kind == SY_YAML_SCALAR && v->is_null))
        return SY_OK;
    if (sy_cfg_expect_seq(cx, v, path, true) != SY_OK)
        return SY_EINVAL;
    size_t n = v->kind == SY_YAML_SEQ ? v->len : 1;
    sy_str_t *items = sy_arena_calloc(cx->arena, SY_MAX(n, (size_t)1) * sizeof(*items));
    int rc = SY_OK;
    for (size_t i = 0; i < n; i++) {
        const sy_yaml_node_t *it = v->kind == SY_YAML_SEQ ? v->items[i] : v;
        const char *ip = sy_cfg_path_index(cx, path, i);
        if (sy_cfg_string(cx, it, ip, &items[i]) != SY_OK) {
            rc = SY_EINVAL;
            continue;
        }
        if (items[i].len == 0 || sy_str_find_char(items[i], '*') >= 0) {
            sy_cfg_error(cx, it, ip, "an alias is a plain model name (not empty, no `*`)");
            rc = SY_EINVAL;
        }
    }
    out->items = items;
    out->n = n;
    return rc;
}

static void format_str_list(const void *field, sy_buf_t *out, bool redact)
{
    SY_UNUSED(redact);
    const sy_config_str_list_t *l = field;
    sy_buf_append_c(out, "[");
    for (size_t i = 0; i < l->n; i++)
        sy_buf_printf(out, "%s\"%.*s\"", i ? ", " : "", SY_STR_FMT(l->items[i]));
    sy_buf_append_c(out, "]");
}

/* A group's `hedge_after`: a duration, or absent/null for router.hedge_after. */
static int parse_inherit_duration(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                                  void *field)
{
    uint64_t *out = field;
    if (v == NULL || (v->kind == SY_YAML_SCALAR && v->is_null)) {
        *out = SY_CONFIG_INHERIT;
        return SY_OK;
    }
    return sy_cfg_duration(cx, v, path, 0, 10 * 60 * 1000, out);
}

static void format_inherit_duration(const void *field, sy_buf_t *out, bool redact)
{
    SY_UNUSED(redact);
    uint64_t v = *(const uint64_t *)field;
    char b[32];
    sy_buf_append_c(out, v == SY_CONFIG_INHERIT ? "null" : sy_cfg_format_duration(v, b));
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
    {.key = "strategy",
     .type = SY_CFG_ENUM,
     .offset = offsetof(sy_config_model_t, strategy),
     .names = sy_route_strategy_names,
     .def = SY_STRATEGY_PRIORITY},
    {.key = "aliases",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_config_model_t, aliases),
     .parse = parse_aliases,
     .format = format_str_list},
    {.key = "hedge_after",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_config_model_t, hedge_after_ms),
     .parse = parse_inherit_duration,
     .format = format_inherit_duration},
};
static const sy_cfg_section_t model_section = {"models", model_fields, SY_ARRAY_LEN(model_fields)};

/* The deployments member and ndeployments are laid out as deployment_list_t. */
_Static_assert(offsetof(sy_config_model_t, ndeployments) ==
                   offsetof(sy_config_model_t, deployments) + sizeof(sy_config_deployment_t *),
               "deployment list layout");

/* Whether two names of the groups (names or aliases) collide. */
static bool name_taken(const sy_config_model_t *m, size_t upto, sy_str_t name)
{
    for (size_t j = 0; j < upto; j++) {
        if (sy_str_eq(m[j].name, name))
            return true;
        for (size_t a = 0; a < m[j].aliases.n; a++)
            if (sy_str_eq(m[j].aliases.items[a], name))
                return true;
    }
    return false;
}

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
    sy_config_model_t *m = items;
    for (size_t i = 0; i < n; i++) {
        const sy_yaml_node_t *item = v->items[i];
        const char *ipath = sy_cfg_path_index(cx, path, i);
        if (name_taken(m, i, m[i].name)) {
            sy_cfg_error(cx, item, ipath, "model name \"%.*s\" is used twice",
                         SY_STR_FMT(m[i].name));
            rc = SY_EINVAL;
        }
        for (size_t a = 0; a < m[i].aliases.n; a++) {
            sy_str_t al = m[i].aliases.items[a];
            bool dup = name_taken(m, i, al) || sy_str_eq(al, m[i].name);
            for (size_t b = 0; b < a && !dup; b++)
                dup = sy_str_eq(m[i].aliases.items[b], al);
            if (dup) {
                const sy_yaml_node_t *an = sy_yaml_map_get(item, "aliases");
                sy_cfg_error(cx, an ? an : item, sy_cfg_path_key(cx, ipath, SY_STR("aliases")),
                             "model name \"%.*s\" is used twice", SY_STR_FMT(al));
                rc = SY_EINVAL;
            }
        }
        if (m[i].ndeployments == 0) {
            sy_cfg_error(cx, item, ipath, "a model needs at least one deployment");
            rc = SY_EINVAL;
        }
        /* Wildcard groups: one `*` in the name; a deployment's `*` takes
         * what it matched. */
        ptrdiff_t star = sy_str_find_char(m[i].name, '*');
        if (star >= 0) {
            m[i].wildcard = true;
            m[i].prefix = sy_str_sub(m[i].name, 0, (size_t)star);
            m[i].suffix = sy_str_sub(m[i].name, (size_t)star + 1, m[i].name.len);
            if (sy_str_find_char(m[i].suffix, '*') >= 0) {
                const sy_yaml_node_t *nn = sy_yaml_map_get(item, "name");
                sy_cfg_error(cx, nn ? nn : item, sy_cfg_path_key(cx, ipath, SY_STR("name")),
                             "a wildcard model name has one `*`, got %s",
                             sy_yaml_quote(cx->scratch, m[i].name, 60));
                rc = SY_EINVAL;
            }
        }
        bool any_weight = false;
        for (size_t j = 0; j < m[i].ndeployments; j++) {
            sy_config_deployment_t *d = &m[i].deployments[j];
            any_weight |= d->weight > 0;
            d->wildcard = sy_str_find_char(d->model, '*') >= 0;
            if (d->wildcard && !m[i].wildcard) {
                const sy_yaml_node_t *dl = sy_yaml_map_get(item, "deployments");
                const sy_yaml_node_t *dn =
                    dl && dl->kind == SY_YAML_SEQ && j < dl->len ? sy_yaml_map_get(dl->items[j], "model")
                                                                : NULL;
                sy_cfg_error(cx, dn ? dn : item,
                             sy_arena_sprintf(cx->scratch, "%s.deployments[%zu].model", ipath, j),
                             "`*` in a deployment's model needs a wildcard model name (such as "
                             "\"openai/*\")");
                rc = SY_EINVAL;
            }
        }
        if (m[i].strategy == SY_STRATEGY_WEIGHTED && !any_weight) {
            sy_cfg_error(cx, item, ipath, "strategy weighted needs a deployment with weight > 0");
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

/* ---- router ---- */

#define MS_SEC 1000ull
#define MS_MIN (60 * MS_SEC)
#define RUINT(k, lo, hi, d)                                                                        \
    {                                                                                              \
        .key = #k, .type = SY_CFG_UINT, .offset = offsetof(sy_config_router_t, k), .min = (lo),    \
        .max = (hi), .def = (d)                                                                    \
    }
#define RTIME(k, lo, hi, d)                                                                        \
    {                                                                                              \
        .key = #k, .type = SY_CFG_DURATION, .offset = offsetof(sy_config_router_t, k##_ms),        \
        .min = (lo), .max = (hi), .def = (d)                                                       \
    }

static const sy_cfg_field_t router_fields[] = {
    RUINT(retries, 0, 10, 1),
    RTIME(backoff_base, 1, MS_MIN, 100),
    RTIME(backoff_max, 1, 10 * MS_MIN, 2 * MS_SEC),
    RTIME(timeout, MS_SEC, 24 * 60 * MS_MIN, 10 * MS_MIN),
    RUINT(max_attempts, 1, 100, 10),
    RUINT(circuit_failures, 0, 100000, 10),
    RUINT(circuit_failure_ratio, 0, 100, 50),
    RUINT(circuit_min_requests, 1, 1000000, 20),
    RTIME(circuit_window, MS_SEC, 60 * MS_MIN, MS_MIN),
    RTIME(circuit_cooldown, 10, 60 * MS_MIN, 30 * MS_SEC),
    RTIME(hedge_after, 0, 10 * MS_MIN, 0),
    RTIME(explore_after, 0, 60 * MS_MIN, 30 * MS_SEC),
};
const sy_cfg_section_t sy_config_router_section = {"router", router_fields,
                                                   SY_ARRAY_LEN(router_fields)};

/* ---- cross-checks ---- */

const sy_config_provider_t *sy_config_find_provider(const sy_config_t *c, sy_str_t name)
{
    for (size_t i = 0; i < c->providers.n; i++)
        if (sy_str_eq(c->providers.items[i].name, name))
            return &c->providers.items[i];
    return NULL;
}

static bool wildcard_match(const sy_config_model_t *m, sy_str_t name, sy_str_t *capture)
{
    if (name.len < m->prefix.len + m->suffix.len || !sy_str_starts_with(name, m->prefix) ||
        !sy_str_ends_with(name, m->suffix))
        return false;
    *capture = sy_str_sub(name, m->prefix.len, name.len - m->prefix.len - m->suffix.len);
    return capture->len > 0;
}

const sy_config_model_t *sy_config_match_model(const sy_config_t *c, sy_str_t name,
                                               sy_str_t *capture)
{
    *capture = SY_STR("");
    const sy_config_model_t *m = sy_map_get(&c->model_index, name);
    if (m)
        return m;
    if (c->model_index.cap == 0) /* a snapshot whose links were not built */
        for (size_t i = 0; i < c->models.n; i++) {
            const sy_config_model_t *g = &c->models.items[i];
            if (!g->wildcard && sy_str_eq(g->name, name))
                return g;
            for (size_t a = 0; a < g->aliases.n; a++)
                if (sy_str_eq(g->aliases.items[a], name))
                    return g;
        }
    for (size_t i = 0; i < c->models.n; i++)
        if (c->models.items[i].wildcard && wildcard_match(&c->models.items[i], name, capture))
            return &c->models.items[i];
    return NULL;
}

const sy_config_model_t *sy_config_find_model(const sy_config_t *c, sy_str_t name)
{
    sy_str_t capture;
    return sy_config_match_model(c, name, &capture);
}

static void index_free_cb(void *arg)
{
    sy_map_free(arg);
}

/* The figures the router needs of one deployment, resolved once: label,
 * capabilities, context window, max output and prices (overrides over the
 * catalogue), shared state. Also used per request for wildcard deployments
 * (router/group.c), with `model` already completed. */
void sy_config_resolve_deployment(sy_arena_t *a, sy_config_deployment_t *d, bool with_state)
{
    const sy_config_provider_t *pc = d->provider_cfg;
    d->label = sy_str_c(sy_arena_sprintf(a, "%.*s/%.*s", SY_STR_FMT(d->provider), SY_STR_FMT(d->model)));
    d->caps = (d->tools ? SY_CAP_TOOLS : 0) | (d->vision ? SY_CAP_VISION : 0) |
              (d->json_schema ? SY_CAP_JSON_SCHEMA : 0) | (d->thinking ? SY_CAP_THINKING : 0);
    const sy_catalog_entry_t *e = pc ? sy_catalog_find(pc->kind, d->model) : NULL;
    d->ctx_window = d->context_window ? d->context_window : e ? e->context_window : 0;
    d->max_out = d->max_output ? d->max_output : e ? e->max_output : 0;
    memset(&d->cost, 0, sizeof(d->cost));
    if (e)
        d->cost = e->price;
    const sy_config_price_t *o = &d->price;
    if (o->has_input)
        d->cost.input = o->input;
    if (o->has_output)
        d->cost.output = o->output;
    if (o->has_cached_input) {
        d->cost.cached_input = o->cached_input;
        d->cost.has_cached_input = true;
    }
    if (o->has_cache_write) {
        d->cost.cache_write = o->cache_write;
        d->cost.has_cache_write = true;
    }
    d->priced = e != NULL || (o->has_input && o->has_output);
    d->state = with_state ? sy_route_state_get(d->provider, d->model) : NULL;
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
    if (rc != SY_OK)
        return rc;
    /* Where each provider lives, parsed once instead of per upstream request;
     * a URL that does not parse stays unresolved and each attempt says why. */
    for (size_t i = 0; i < c->providers.n; i++) {
        sy_config_provider_t *p = (sy_config_provider_t *)&c->providers.items[i];
        sy_http_origin_t *o = sy_arena_alloc(c->arena, sizeof(*o));
        const char *oerr = NULL;
        if (sy_http_origin_from_url(o, p->base_url, &p->base_path, &oerr) == SY_OK &&
            (p->proxy.len == 0 || sy_http_origin_set_proxy(o, p->proxy, NULL, &oerr) == SY_OK))
            p->origin = o;
    }
    /* Resolve what the router reads on every request, and index the names. */
    sy_map_init(&c->model_index);
    sy_arena_cleanup(c->arena, index_free_cb, &c->model_index);
    for (size_t i = 0; i < c->models.n; i++) {
        sy_config_model_t *m = (sy_config_model_t *)&c->models.items[i];
        for (size_t j = 0; j < m->ndeployments; j++) {
            sy_config_deployment_t *d = &m->deployments[j];
            if (d->region.len == 0)
                d->region = d->provider_cfg->region;
            if (d->jurisdiction.len == 0)
                d->jurisdiction = d->provider_cfg->jurisdiction;
            sy_config_resolve_deployment(c->arena, d, true);
        }
        if (!m->wildcard)
            sy_map_put(&c->model_index, m->name, m);
        for (size_t a = 0; a < m->aliases.n; a++)
            sy_map_put(&c->model_index, m->aliases.items[a], m);
    }
    return rc;
}
