/*
 * principals.c - specs (reading, checking and writing them) and the
 * directory snapshot of organisations, teams and keys.
 */
#include "harness/principals.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/log.h"
#include "router/catalog.h"

/* ---- amounts ---- */

int sy_gov_usd_parse(sy_str_t s, uint64_t *pico)
{
    s = sy_str_trim(s);
    if (s.len && s.p[0] == '$')
        s = sy_str_sub(s, 1, s.len);
    size_t i = 0;
    uint64_t whole = 0, frac = 0;
    size_t nwhole = 0, nfrac = 0;
    for (; i < s.len && s.p[i] >= '0' && s.p[i] <= '9'; i++, nwhole++) {
        if (whole > (SY_GOV_MAX_USD_PICO / 1000000000000ull))
            return SY_ETOOBIG;
        whole = whole * 10 + (uint64_t)(s.p[i] - '0');
    }
    if (i < s.len && s.p[i] == '.') {
        for (i++; i < s.len && s.p[i] >= '0' && s.p[i] <= '9'; i++, nfrac++) {
            if (nfrac >= 12) {
                if (s.p[i] != '0')
                    return SY_EINVAL; /* finer than a pico-dollar */
                continue;
            }
            frac = frac * 10 + (uint64_t)(s.p[i] - '0');
        }
        if (nfrac == 0)
            return SY_EINVAL;
    }
    if (i != s.len || nwhole + nfrac == 0)
        return SY_EINVAL;
    for (size_t k = nfrac < 12 ? nfrac : 12; k < 12; k++)
        frac *= 10;
    if (whole > SY_GOV_MAX_USD_PICO / 1000000000000ull)
        return SY_ETOOBIG;
    uint64_t v = whole * 1000000000000ull + frac;
    if (v > SY_GOV_MAX_USD_PICO)
        return SY_ETOOBIG;
    *pico = v;
    return SY_OK;
}

static int window_parse(sy_str_t s, sy_window_t *w)
{
    s = sy_str_trim(s);
    static const struct {
        const char *name;
        sy_window_t w;
    } names[] = {{"day", SY_WINDOW_DAY},     {"daily", SY_WINDOW_DAY},   {"d", SY_WINDOW_DAY},
                 {"month", SY_WINDOW_MONTH}, {"monthly", SY_WINDOW_MONTH}, {"mo", SY_WINDOW_MONTH},
                 {"total", SY_WINDOW_TOTAL}, {"all", SY_WINDOW_TOTAL},   {"lifetime", SY_WINDOW_TOTAL}};
    for (size_t i = 0; i < SY_ARRAY_LEN(names); i++)
        if (sy_str_ieq_c(s, names[i].name)) {
            *w = names[i].w;
            return SY_OK;
        }
    return SY_EINVAL;
}

int sy_gov_budget_parse(sy_str_t s, sy_window_t *w, uint64_t *pico)
{
    s = sy_str_trim(s);
    ptrdiff_t slash = sy_str_find_char(s, '/');
    sy_str_t amount, window;
    if (slash >= 0) {
        amount = sy_str_sub(s, 0, (size_t)slash);
        window = sy_str_sub(s, (size_t)slash + 1, s.len);
    } else {
        ptrdiff_t per = sy_str_find(s, SY_STR(" per "));
        if (per < 0)
            return SY_EINVAL;
        amount = sy_str_sub(s, 0, (size_t)per);
        window = sy_str_sub(s, (size_t)per + 5, s.len);
    }
    int rc = sy_gov_usd_parse(amount, pico);
    if (rc != SY_OK)
        return rc;
    return window_parse(window, w);
}

bool sy_gov_models_allow(const sy_str_t *models, size_t n, sy_str_t model)
{
    if (models == NULL)
        return true;
    for (size_t i = 0; i < n; i++)
        if (sy_glob_match(models[i], model))
            return true;
    return false;
}

bool sy_gov_spec_limited(const sy_gov_spec_t *s)
{
    return s->rpm || s->tpm || s->has_budget[SY_WINDOW_DAY] || s->has_budget[SY_WINDOW_MONTH] ||
           s->has_budget[SY_WINDOW_TOTAL];
}

/* ---- specs ---- */

void sy_gov_spec_init(sy_gov_spec_t *s)
{
    memset(s, 0, sizeof(*s));
    s->enabled = true;
    s->metadata = SY_STR("{}");
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, errsz, __VA_ARGS__);                                                         \
        return SY_EINVAL;                                                                          \
    } while (0)

static bool is_null(const sy_json_t *v) { return v->type == SY_JSON_NULL; }

/* A short printable name or class: letters, digits, '-', '_', '.', ':', '/'. */
static bool token_ok(sy_str_t s, size_t max)
{
    if (s.len == 0 || s.len > max)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c == ':' || c == '/';
        if (!ok)
            return false;
    }
    return true;
}

static int amount_of(const sy_json_t *v, uint64_t *pico)
{
    if (v->type == SY_JSON_NUMBER)
        return sy_gov_usd_parse(v->u.num, pico);
    if (v->type == SY_JSON_STRING)
        return sy_gov_usd_parse(v->u.str, pico);
    return SY_EINVAL;
}

static int parse_budgets(const sy_json_t *v, sy_gov_spec_t *out, const char *member, char *err,
                         size_t errsz)
{
    if (is_null(v)) {
        for (int w = 0; w < SY_WINDOW__COUNT; w++)
            out->has_budget[w] = false;
        return SY_OK;
    }
    if (v->type == SY_JSON_OBJECT) {
        for (uint32_t i = 0; i < v->u.obj.len; i++) {
            const sy_json_member_t *m = &v->u.obj.items[i];
            sy_window_t w;
            if (window_parse(m->key, &w) != SY_OK)
                FAIL("%s: unknown window \"%.*s\" (expected day, month or total)", member,
                     (int)SY_MIN(m->key.len, (size_t)40), m->key.p);
            if (is_null(&m->value)) {
                out->has_budget[w] = false;
                continue;
            }
            uint64_t pico;
            int rc = amount_of(&m->value, &pico);
            if (rc != SY_OK)
                FAIL("%s.%s: expected an amount in USD such as \"50\" or \"0.25\"%s", member,
                     sy_window_names[w], rc == SY_ETOOBIG ? " (at most 9000000)" : "");
            out->has_budget[w] = true;
            out->budget[w] = pico;
        }
        return SY_OK;
    }
    const sy_json_t *items = v;
    uint32_t n = 1;
    if (v->type == SY_JSON_ARRAY) {
        items = v->u.arr.items;
        n = v->u.arr.len;
    }
    for (uint32_t i = 0; i < n; i++) {
        const sy_json_t *e = &items[i];
        sy_window_t w;
        uint64_t pico;
        int rc = e->type == SY_JSON_STRING ? sy_gov_budget_parse(e->u.str, &w, &pico) : SY_EINVAL;
        if (rc != SY_OK)
            FAIL("%s: expected a budget such as \"50/month\", \"5/day\" or \"100/total\"%s", member,
                 rc == SY_ETOOBIG ? " (at most 9000000 USD)" : "");
        out->has_budget[w] = true;
        out->budget[w] = pico;
    }
    return SY_OK;
}

static int parse_str_list(sy_arena_t *a, const sy_json_t *v, size_t max, size_t maxlen,
                          const sy_str_t **items, size_t *n)
{
    const sy_json_t *arr = v;
    uint32_t count = 1;
    if (v->type == SY_JSON_ARRAY) {
        arr = v->u.arr.items;
        count = v->u.arr.len;
    }
    if (count > max)
        return SY_ETOOBIG;
    sy_str_t *out = sy_arena_alloc(a, (count ? count : 1) * sizeof(*out));
    for (uint32_t i = 0; i < count; i++) {
        if (arr[i].type != SY_JSON_STRING || arr[i].u.str.len == 0 || arr[i].u.str.len > maxlen)
            return SY_EINVAL;
        out[i] = sy_str_dup(a, arr[i].u.str);
    }
    *items = out;
    *n = count;
    return SY_OK;
}

static int parse_residency(sy_arena_t *a, const sy_json_t *v, sy_gov_spec_t *out, char *err,
                           size_t errsz)
{
    out->residency = NULL;
    out->nresidency = 0;
    if (is_null(v))
        return SY_OK;
    if (v->type != SY_JSON_OBJECT)
        FAIL("residency: expected an object of data class -> jurisdictions, as {\"pii\": [\"eu\"]}");
    if (v->u.obj.len > SY_GOV_MAX_CLASSES)
        FAIL("residency: at most %d data classes", SY_GOV_MAX_CLASSES);
    sy_gov_residency_t *r = sy_arena_calloc(a, (v->u.obj.len + 1) * sizeof(*r));
    size_t n = 0;
    for (uint32_t i = 0; i < v->u.obj.len; i++) {
        const sy_json_member_t *m = &v->u.obj.items[i];
        if (!token_ok(m->key, 64))
            FAIL("residency: data class names are 1-64 letters, digits, '-', '_', '.'");
        if (is_null(&m->value))
            continue;
        r[n].data_class = sy_str_dup(a, m->key);
        int rc = parse_str_list(a, &m->value, SY_GOV_MAX_JURISDICTIONS, 64, &r[n].jurisdictions,
                                &r[n].n);
        if (rc != SY_OK)
            FAIL("residency.%.*s: expected a list of jurisdictions such as [\"eu\"] (at most %d)",
                 (int)m->key.len, m->key.p, SY_GOV_MAX_JURISDICTIONS);
        for (size_t j = 0; j < r[n].n; j++)
            if (!token_ok(r[n].jurisdictions[j], 64))
                FAIL("residency.%.*s: a jurisdiction is 1-64 letters, digits, '-', '_', '.'",
                     (int)m->key.len, m->key.p);
        n++;
    }
    out->residency = r;
    out->nresidency = n;
    return SY_OK;
}

static int u64_of(const sy_json_t *v, uint64_t max, uint64_t *out)
{
    if (v->type != SY_JSON_NUMBER)
        return SY_EINVAL;
    return sy_str_to_u64(v->u.num, max, out);
}

int sy_gov_spec_parse(sy_arena_t *a, const sy_json_t *obj, sy_principal_kind_t kind,
                      uint64_t now_ms, sy_gov_spec_t *out, char *err, size_t errsz)
{
    if (obj == NULL || obj->type != SY_JSON_OBJECT)
        FAIL("expected a JSON object");
    bool is_key = kind == SY_PRINCIPAL_KEY;
    for (uint32_t i = 0; i < obj->u.obj.len; i++) {
        const sy_json_member_t *m = &obj->u.obj.items[i];
        sy_str_t k = m->key;
        const sy_json_t *v = &m->value;
        if (sy_str_eq_c(k, "id") || sy_str_eq_c(k, "team") || sy_str_eq_c(k, "team_id") ||
            sy_str_eq_c(k, "org") || sy_str_eq_c(k, "org_id")) {
            continue; /* where it belongs: the caller's business */
        } else if (sy_str_eq_c(k, "name")) {
            if (is_null(v)) {
                out->name = SY_STR("");
                continue;
            }
            if (v->type != SY_JSON_STRING || v->u.str.len > SY_GOV_MAX_NAME)
                FAIL("name: expected a string of at most %d bytes", SY_GOV_MAX_NAME);
            out->name = sy_str_dup(a, v->u.str);
        } else if (sy_str_eq_c(k, "enabled")) {
            if (v->type != SY_JSON_TRUE && v->type != SY_JSON_FALSE)
                FAIL("enabled: expected true or false");
            out->enabled = v->type == SY_JSON_TRUE;
        } else if (sy_str_eq_c(k, "budgets") || sy_str_eq_c(k, "budget")) {
            char path[16];
            snprintf(path, sizeof(path), "%.*s", (int)k.len, k.p);
            if (parse_budgets(v, out, path, err, errsz) != SY_OK)
                return SY_EINVAL;
        } else if (sy_str_eq_c(k, "rpm") || sy_str_eq_c(k, "tpm")) {
            uint64_t n = 0;
            if (!is_null(v) && u64_of(v, 10000000000ull, &n) != SY_OK)
                FAIL("%.*s: expected a whole number of %s per minute (0: no limit)", (int)k.len,
                     k.p, k.p[0] == 'r' ? "requests" : "tokens");
            if (k.p[0] == 'r')
                out->rpm = n;
            else
                out->tpm = n;
        } else if (sy_str_eq_c(k, "models")) {
            if (is_null(v)) {
                out->models = NULL;
                out->nmodels = 0;
                continue;
            }
            int rc = parse_str_list(a, v, SY_GOV_MAX_MODELS, 256, &out->models, &out->nmodels);
            if (rc != SY_OK)
                FAIL("models: expected a list of model names or patterns such as \"gpt-4o*\" (at "
                     "most %d)",
                     SY_GOV_MAX_MODELS);
        } else if (sy_str_eq_c(k, "residency")) {
            if (parse_residency(a, v, out, err, errsz) != SY_OK)
                return SY_EINVAL;
        } else if (sy_str_eq_c(k, "default_data_class") || sy_str_eq_c(k, "guardrails")) {
            sy_str_t s = SY_STR("");
            if (!is_null(v)) {
                if (v->type != SY_JSON_STRING || !token_ok(v->u.str, 64))
                    FAIL("%.*s: expected a name of 1-64 letters, digits, '-', '_', '.'",
                         (int)k.len, k.p);
                s = sy_str_dup(a, v->u.str);
            }
            if (k.p[0] == 'd')
                out->default_data_class = s;
            else
                out->guardrails = s;
        } else if (is_key && sy_str_eq_c(k, "expires_at_ms")) {
            uint64_t n = 0;
            if (!is_null(v) && u64_of(v, UINT64_MAX / 2, &n) != SY_OK)
                FAIL("expires_at_ms: expected milliseconds since the Unix epoch (0: never)");
            out->expires_at_ms = n;
        } else if (is_key && sy_str_eq_c(k, "expires_at")) {
            uint64_t n = 0;
            if (!is_null(v) && u64_of(v, UINT64_MAX / 2000, &n) != SY_OK)
                FAIL("expires_at: expected seconds since the Unix epoch (0: never)");
            out->expires_at_ms = n * 1000;
        } else if (is_key && sy_str_eq_c(k, "expires_in")) {
            uint64_t ms = 0;
            if (is_null(v)) {
                out->expires_at_ms = 0;
                continue;
            }
            if (v->type != SY_JSON_STRING || sy_cfg_parse_duration(v->u.str, &ms) != SY_OK ||
                ms == 0)
                FAIL("expires_in: expected a duration such as \"30d\", \"12h\" or \"90m\"");
            out->expires_at_ms = now_ms + ms;
        } else if (sy_str_eq_c(k, "metadata")) {
            if (is_null(v)) {
                out->metadata = SY_STR("{}");
                continue;
            }
            if (v->type != SY_JSON_OBJECT)
                FAIL("metadata: expected an object of your own tags");
            sy_buf_t b;
            sy_buf_init(&b, SY_GOV_MAX_METADATA);
            int rc = sy_json_serialize(v, &b, 0);
            if (rc == SY_OK)
                out->metadata = sy_str_dup(a, sy_buf_str(&b));
            sy_buf_free(&b);
            if (rc != SY_OK)
                FAIL("metadata: at most %d bytes", SY_GOV_MAX_METADATA);
        } else {
            FAIL("unknown member \"%.*s\"%s", (int)SY_MIN(k.len, (size_t)60), k.p,
                 !is_key && sy_str_starts_with(k, SY_STR("expires"))
                     ? " (only keys expire)"
                     : "");
        }
    }
    return SY_OK;
}

void sy_gov_spec_write(const sy_gov_spec_t *s, sy_principal_kind_t kind, sy_json_writer_t *w)
{
    sy_json_write_key(w, SY_STR("name"));
    sy_json_write_string(w, s->name);
    sy_json_write_key(w, SY_STR("enabled"));
    sy_json_write_bool(w, s->enabled);
    sy_json_write_key(w, SY_STR("budgets"));
    sy_json_write_begin_object(w);
    for (int i = 0; i < SY_WINDOW__COUNT; i++) {
        if (!s->has_budget[i])
            continue;
        char usd[32];
        sy_json_write_key(w, sy_str_c(sy_window_names[i]));
        sy_json_write_string(w, sy_str_c(sy_cost_format(s->budget[i], usd)));
    }
    sy_json_write_end_object(w);
    sy_json_write_key(w, SY_STR("rpm"));
    sy_json_write_u64(w, s->rpm);
    sy_json_write_key(w, SY_STR("tpm"));
    sy_json_write_u64(w, s->tpm);
    sy_json_write_key(w, SY_STR("models"));
    if (s->models) {
        sy_json_write_begin_array(w);
        for (size_t i = 0; i < s->nmodels; i++)
            sy_json_write_string(w, s->models[i]);
        sy_json_write_end_array(w);
    } else {
        sy_json_write_null(w);
    }
    sy_json_write_key(w, SY_STR("residency"));
    sy_json_write_begin_object(w);
    for (size_t i = 0; i < s->nresidency; i++) {
        sy_json_write_key(w, s->residency[i].data_class);
        sy_json_write_begin_array(w);
        for (size_t j = 0; j < s->residency[i].n; j++)
            sy_json_write_string(w, s->residency[i].jurisdictions[j]);
        sy_json_write_end_array(w);
    }
    sy_json_write_end_object(w);
    sy_json_write_key(w, SY_STR("default_data_class"));
    if (s->default_data_class.len)
        sy_json_write_string(w, s->default_data_class);
    else
        sy_json_write_null(w);
    sy_json_write_key(w, SY_STR("guardrails"));
    if (s->guardrails.len)
        sy_json_write_string(w, s->guardrails);
    else
        sy_json_write_null(w);
    if (kind == SY_PRINCIPAL_KEY) {
        sy_json_write_key(w, SY_STR("expires_at_ms"));
        sy_json_write_u64(w, s->expires_at_ms);
    }
    sy_json_write_key(w, SY_STR("metadata"));
    sy_json_write_raw(w, s->metadata.len ? s->metadata : SY_STR("{}"));
}

void sy_gov_spec_json(const sy_gov_spec_t *s, sy_principal_kind_t kind, sy_buf_t *out)
{
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    sy_json_write_begin_object(&w);
    sy_gov_spec_write(s, kind, &w);
    sy_json_write_end_object(&w);
    sy_json_write_finish(&w);
}

/* ---- the directory ---- */

static int spec_from_text(sy_arena_t *a, sy_str_t text, sy_principal_kind_t kind, sy_str_t id,
                          sy_gov_spec_t *out)
{
    sy_gov_spec_init(out);
    sy_json_t *root = NULL;
    sy_json_error_t jerr;
    char err[256];
    sy_str_t copy = sy_str_dup(a, text); /* the tree keeps views into its source */
    if (sy_json_parse(a, copy.p, copy.len, NULL, &root, &jerr) != SY_OK ||
        sy_gov_spec_parse(a, root, kind, 0, out, err, sizeof(err)) != SY_OK) {
        char esc[160];
        sy_warn("governance: a stored spec does not parse; the principal is disabled",
                "\"kind\":\"%s\",\"id\":\"%s\"", sy_scope_names[kind],
                sy_log_esc(esc, sizeof(esc), id.p, SY_MIN(id.len, (size_t)64)));
        sy_gov_spec_init(out);
        out->enabled = false;
        return SY_EINVAL;
    }
    return SY_OK;
}

static sy_ctr_state_t *state_for(const sy_gov_spec_t *s, char prefix, sy_str_t id)
{
    if (!sy_gov_spec_limited(s))
        return NULL;
    char buf[SY_GOV_MAX_ID + 8];
    int n = snprintf(buf, sizeof(buf), "%c:%.*s", prefix, (int)SY_MIN(id.len, (size_t)SY_GOV_MAX_ID),
                     id.p);
    return sy_ctr_state_get(sy_str(buf, (size_t)n));
}

static _Atomic size_t g_dir_live;

sy_gov_dir_t *sy_gov_dir_build(uint64_t generation, const sy_gov_row_t *orgs, size_t norgs,
                               const sy_gov_row_t *teams, size_t nteams, const sy_gov_row_t *keys,
                               size_t nkeys)
{
    sy_arena_t *a = sy_arena_new(64 * 1024);
    sy_gov_dir_t *d = sy_arena_calloc(a, sizeof(*d));
    d->arena = a;
    d->generation = generation;
    atomic_init(&d->refs, 1u);
    sy_map_init(&d->by_hash);
    sy_map_init(&d->org_index);
    sy_map_init(&d->team_index);
    sy_map_init(&d->key_index);
    d->orgs = sy_arena_calloc(a, (norgs + 1) * sizeof(*d->orgs));
    for (size_t i = 0; i < norgs; i++) {
        if (orgs[i].removed)
            continue;
        sy_gov_org_t *o = &d->orgs[d->norgs++];
        o->id = sy_str_dup(a, orgs[i].id);
        o->created_ms = orgs[i].created_ms;
        o->updated_ms = orgs[i].updated_ms;
        spec_from_text(a, orgs[i].spec, SY_PRINCIPAL_ORG, o->id, &o->spec);
        o->st = state_for(&o->spec, 'o', o->id);
        sy_map_put(&d->org_index, o->id, o);
    }
    d->teams = sy_arena_calloc(a, (nteams + 1) * sizeof(*d->teams));
    for (size_t i = 0; i < nteams; i++) {
        if (teams[i].removed)
            continue;
        sy_gov_team_t *t = &d->teams[d->nteams++];
        t->id = sy_str_dup(a, teams[i].id);
        t->org_id = sy_str_dup(a, teams[i].parent);
        t->created_ms = teams[i].created_ms;
        t->updated_ms = teams[i].updated_ms;
        spec_from_text(a, teams[i].spec, SY_PRINCIPAL_TEAM, t->id, &t->spec);
        t->org = sy_map_get(&d->org_index, t->org_id);
        t->st = state_for(&t->spec, 't', t->id);
        sy_map_put(&d->team_index, t->id, t);
    }
    d->keys = sy_arena_calloc(a, (nkeys + 1) * sizeof(*d->keys));
    for (size_t i = 0; i < nkeys; i++) {
        sy_gov_key_t *k = &d->keys[d->nkeys];
        if (sy_key_hash_parse(keys[i].hash_hex, &k->hash) != SY_OK) {
            memset(k, 0, sizeof(*k));
            continue;
        }
        d->nkeys++;
        k->id = sy_str_dup(a, keys[i].id);
        k->team_id = sy_str_dup(a, keys[i].parent);
        k->hint = sy_str_dup(a, keys[i].hint);
        k->revoked = keys[i].removed;
        k->created_ms = keys[i].created_ms;
        k->updated_ms = keys[i].updated_ms;
        spec_from_text(a, keys[i].spec, SY_PRINCIPAL_KEY, k->id, &k->spec);
        k->team = sy_map_get(&d->team_index, k->team_id);
        k->st = k->revoked ? NULL : state_for(&k->spec, 'k', k->id);
        sy_map_put(&d->key_index, k->id, k);
        sy_str_t prefix = sy_str((const char *)k->hash.b, 8);
        k->next = sy_map_put(&d->by_hash, prefix, k);
    }
    atomic_fetch_add(&g_dir_live, 1);
    return d;
}

void sy_gov_dir_ref(sy_gov_dir_t *d)
{
    if (d)
        atomic_fetch_add_explicit(&d->refs, 1u, memory_order_relaxed);
}

void sy_gov_dir_unref(sy_gov_dir_t *d)
{
    if (d == NULL || atomic_fetch_sub_explicit(&d->refs, 1u, memory_order_acq_rel) != 1u)
        return;
    sy_map_free(&d->by_hash);
    sy_map_free(&d->org_index);
    sy_map_free(&d->team_index);
    sy_map_free(&d->key_index);
    atomic_fetch_sub(&g_dir_live, 1);
    sy_arena_free(d->arena);
}

const sy_gov_key_t *sy_gov_dir_find_key(const sy_gov_dir_t *d, const sy_key_hash_t *h)
{
    if (d == NULL)
        return NULL;
    const sy_gov_key_t *k = sy_map_get(&d->by_hash, sy_str((const char *)h->b, 8));
    for (; k; k = k->next)
        if (sy_key_hash_eq(&k->hash, h))
            return k;
    return NULL;
}

const sy_gov_key_t *sy_gov_dir_key(const sy_gov_dir_t *d, sy_str_t id)
{
    return d ? sy_map_get(&d->key_index, id) : NULL;
}

const sy_gov_team_t *sy_gov_dir_team(const sy_gov_dir_t *d, sy_str_t id)
{
    return d ? sy_map_get(&d->team_index, id) : NULL;
}

const sy_gov_org_t *sy_gov_dir_org(const sy_gov_dir_t *d, sy_str_t id)
{
    return d ? sy_map_get(&d->org_index, id) : NULL;
}

/* ---- the current directory ----
 * The same protocol as the configuration snapshot (config/snapshot.c): two
 * reader counters picked by an epoch's low bit, so a reader never takes a
 * reference on a directory the publisher has already let go of. */

static _Atomic(sy_gov_dir_t *) g_current;
static atomic_uint g_epoch;
static atomic_size_t g_readers[2];
static pthread_mutex_t g_publish_lock = PTHREAD_MUTEX_INITIALIZER;

sy_gov_dir_t *sy_gov_dir_acquire(void)
{
    unsigned e;
    for (;;) {
        e = atomic_load(&g_epoch) & 1u;
        atomic_fetch_add(&g_readers[e], 1);
        if ((atomic_load(&g_epoch) & 1u) == e)
            break;
        atomic_fetch_sub(&g_readers[e], 1);
    }
    sy_gov_dir_t *d = atomic_load(&g_current);
    if (d)
        sy_gov_dir_ref(d);
    atomic_fetch_sub(&g_readers[e], 1);
    return d;
}

void sy_gov_dir_publish(sy_gov_dir_t *d)
{
    pthread_mutex_lock(&g_publish_lock);
    sy_gov_dir_t *old = atomic_exchange(&g_current, d);
    unsigned e = atomic_fetch_add(&g_epoch, 1u) & 1u;
    for (unsigned spins = 0; atomic_load(&g_readers[e]) != 0; spins++)
        if (spins >= 100)
            sched_yield();
    pthread_mutex_unlock(&g_publish_lock);
    sy_gov_dir_unref(old);
}
