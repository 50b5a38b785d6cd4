/*
 * guardrails.c - the `guardrails:` configuration section: a list of named
 * policies (harness/guard.h), each with an input and an output side, each
 * side with up to four detectors (pii, secrets, injection, deny).
 *
 *   guardrails:
 *     - name: strict
 *       input:
 *         pii: {action: redact, kinds: [email, phone, card, iban], actions: {card: block}}
 *         secrets: {action: block}
 *         injection: {action: block, threshold: 0.8}
 *         deny: {action: block, words: [project nightingale], regex: ['\bACME-\d{4}\b']}
 *       output:
 *         pii: {action: redact}
 *         secrets: {action: block}
 *         window: 128
 *
 * A detector that is not written is off; one that is written with no keys
 * runs with its defaults (the tables below, mirrored in README.md). Deny
 * regexes are compiled here, once per snapshot, so a bad one is an error
 * at its file:line and the hot path never compiles anything.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "harness/guard.h"

static const char *const actions[] = {"off", "log", "redact", "restrict", "block", NULL};

/* ---- small value parsers ---- */

/* A list of strings (a lone scalar is a list of one), into cx->arena. */
static int parse_str_list(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                          const sy_str_t **items, size_t *n, const sy_yaml_node_t ***nodes)
{
    *items = NULL;
    *n = 0;
    if (nodes)
        *nodes = NULL;
    if (v == NULL || (v->kind == SY_YAML_SCALAR && v->is_null))
        return SY_OK;
    if (sy_cfg_expect_seq(cx, v, path, true) != SY_OK)
        return SY_EINVAL;
    size_t cnt = v->kind == SY_YAML_SEQ ? v->len : 1;
    sy_str_t *arr = sy_arena_calloc(cx->arena, SY_MAX(cnt, (size_t)1) * sizeof(*arr));
    const sy_yaml_node_t **nd =
        nodes ? sy_arena_calloc(cx->scratch, SY_MAX(cnt, (size_t)1) * sizeof(*nd)) : NULL;
    int rc = SY_OK;
    for (size_t i = 0; i < cnt; i++) {
        const sy_yaml_node_t *item = v->kind == SY_YAML_SEQ ? v->items[i] : v;
        const char *ipath = v->kind == SY_YAML_SEQ ? sy_cfg_path_index(cx, path, i) : path;
        if (sy_cfg_string(cx, item, ipath, &arr[i]) != SY_OK)
            rc = SY_EINVAL;
        if (nd)
            nd[i] = item;
    }
    *items = arr;
    *n = cnt;
    if (nodes)
        *nodes = nd;
    return rc;
}

typedef struct {
    const sy_str_t *items;
    size_t n;
} str_list_t;

static int parse_jurisdictions(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                               void *field)
{
    sy_guard_restrict_t *r = field;
    return parse_str_list(cx, v, path, &r->jurisdictions, &r->njurisdictions, NULL);
}

static int parse_threshold(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                           void *field)
{
    double *out = field;
    if (v == NULL) {
        *out = 0.8;
        return SY_OK;
    }
    if (v->kind == SY_YAML_SCALAR && !v->invalid) {
        char *end = NULL;
        const char *s = v->str.p;
        double d = s ? strtod(s, &end) : NAN;
        if (end && end != s && *end == '\0' && d >= 0.0 && d <= 1.0) {
            *out = d;
            return SY_OK;
        }
    }
    if (!v->invalid)
        sy_cfg_error(cx, v, path, "expected a number from 0 to 1, got %s", sy_cfg_shown(cx, v));
    return SY_EINVAL;
}

/* A list of names, each standing for some bits of a mask; an unknown name is
 * an error that suggests the nearest and lists them all ("expected a, b or c"). */
typedef struct {
    const char *name;
    uint32_t bits;
} name_bits_t;

static int parse_name_mask(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                           uint32_t *mask, const name_bits_t *names, size_t nnames,
                           const char *what)
{
    const sy_str_t *items;
    size_t n;
    if (parse_str_list(cx, v, path, &items, &n, NULL) != SY_OK)
        return SY_EINVAL;
    *mask = 0;
    int rc = SY_OK;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < nnames && !sy_str_ieq_c(items[i], names[j].name))
            j++;
        if (j < nnames) {
            *mask |= names[j].bits;
            continue;
        }
        const char *cands[SY_GUARD_KIND_COUNT + SY_GUARD_SECRET_RULE_COUNT + 2];
        size_t nc = SY_MIN(nnames, SY_ARRAY_LEN(cands));
        sy_buf_t expected;
        sy_buf_init(&expected, 4096);
        for (size_t c = 0; c < nnames; c++) {
            if (c < nc)
                cands[c] = names[c].name;
            if (c > 0)
                sy_buf_append_c(&expected, c + 1 == nnames ? " or " : ", ");
            sy_buf_append_c(&expected, names[c].name);
        }
        const char *sug = sy_cfg_suggest(items[i], cands, nc);
        const sy_yaml_node_t *item = v->kind == SY_YAML_SEQ ? v->items[i] : v;
        sy_cfg_error(cx, item, sy_cfg_path_index(cx, path, i), "unknown %s %s%s%s%s (expected %.*s)",
                     what, sy_cfg_shown(cx, item), sug ? "; did you mean " : "", sug ? sug : "",
                     sug ? "?" : "", (int)expected.len, sy_buf_ptr(&expected));
        sy_buf_free(&expected);
        rc = SY_EINVAL;
    }
    return rc;
}

/* `kinds` of pii: kind names, "national_id" for all national ids, "all". */
static int parse_pii_kinds(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                           void *field)
{
    uint32_t *mask = field;
    if (v == NULL) {
        *mask = SY_GUARD_PII_KINDS;
        return SY_OK;
    }
    name_bits_t names[SY_GUARD_SECRET + 2];
    for (int c = 0; c < SY_GUARD_SECRET; c++)
        names[c] = (name_bits_t){sy_guard_kind_name((sy_guard_kind_t)c), SY_GUARD_KIND_BIT(c)};
    names[SY_GUARD_SECRET] = (name_bits_t){"national_id", SY_GUARD_NATIONAL_IDS};
    names[SY_GUARD_SECRET + 1] = (name_bits_t){"all", SY_GUARD_PII_KINDS};
    return parse_name_mask(cx, v, path, mask, names, SY_ARRAY_LEN(names), "kind");
}

/* `kinds` of secrets: rule names or "all". */
static int parse_secret_kinds(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                              void *field)
{
    uint32_t *mask = field;
    if (v == NULL) {
        *mask = SY_GUARD_SECRET_ALL;
        return SY_OK;
    }
    name_bits_t names[SY_GUARD_SECRET_RULE_COUNT + 1];
    for (unsigned c = 0; c < SY_GUARD_SECRET_RULE_COUNT; c++)
        names[c] = (name_bits_t){sy_guard_secret_rule_name(c), 1u << c};
    names[SY_GUARD_SECRET_RULE_COUNT] = (name_bits_t){"all", SY_GUARD_SECRET_ALL};
    return parse_name_mask(cx, v, path, mask, names, SY_ARRAY_LEN(names), "secret kind");
}

/* `actions`: {kind: action} overrides for pii. An explicit `off` is kept as
 * -1 until the detector is finished (it removes the kind). */
static int parse_kind_actions(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                              void *field)
{
    int *ka = field;
    memset(ka, 0, SY_GUARD_KIND_COUNT * sizeof(*ka));
    if (v == NULL || (v->kind == SY_YAML_SCALAR && v->is_null))
        return SY_OK;
    if (sy_cfg_expect_map(cx, v, path, NULL) != SY_OK)
        return SY_EINVAL;
    int rc = SY_OK;
    for (size_t i = 0; i < v->len; i++) {
        const sy_yaml_pair_t *p = &v->pairs[i];
        const char *kpath = sy_cfg_path_key(cx, path, p->key->raw);
        int k = sy_guard_kind_parse(p->key->raw);
        if (k < 0 || k >= SY_GUARD_SECRET) {
            sy_cfg_error(cx, p->key, kpath, "unknown kind \"%.*s\" (expected a pii kind)",
                         SY_STR_FMT(p->key->raw));
            rc = SY_EINVAL;
            continue;
        }
        int a;
        if (sy_cfg_enum(cx, p->value, kpath, actions, &a) != SY_OK) {
            rc = SY_EINVAL;
            continue;
        }
        ka[k] = a == SY_GUARD_OFF ? -1 : a;
    }
    return rc;
}

/* ---- regexes and words ---- */

static int parse_regex(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path, void *field)
{
    sy_guard_detector_t *d = (sy_guard_detector_t *)((char *)field -
                                                     offsetof(sy_guard_detector_t, regex));
    const sy_yaml_node_t **nodes;
    if (parse_str_list(cx, v, path, &d->regex, &d->nregex, &nodes) != SY_OK)
        return SY_EINVAL;
    if (d->nregex > SY_GUARD_MAX_DENY_REGEX) {
        sy_cfg_error(cx, v, path, "too many regexes (the limit is %u)", SY_GUARD_MAX_DENY_REGEX);
        return SY_EINVAL;
    }
    int rc = SY_OK;
    for (size_t i = 0; i < d->nregex; i++) {
        size_t bad = 0;
        const char *err = NULL;
        if (sy_guard_deny_build(cx->scratch, NULL, 0, &d->regex[i], 1, &bad, &err) == NULL) {
            const char *ipath = v->kind == SY_YAML_SEQ ? sy_cfg_path_index(cx, path, i) : path;
            sy_cfg_error(cx, nodes[i], ipath, "invalid regex: %s", err);
            rc = SY_EINVAL;
        }
    }
    return rc;
}

static int parse_words(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path, void *field)
{
    sy_guard_detector_t *d = (sy_guard_detector_t *)((char *)field -
                                                     offsetof(sy_guard_detector_t, words));
    const sy_yaml_node_t **nodes;
    if (parse_str_list(cx, v, path, &d->words, &d->nwords, &nodes) != SY_OK)
        return SY_EINVAL;
    if (d->nwords > SY_GUARD_MAX_DENY_WORDS) {
        sy_cfg_error(cx, v, path, "too many words (the limit is %u)", SY_GUARD_MAX_DENY_WORDS);
        return SY_EINVAL;
    }
    int rc = SY_OK;
    for (size_t i = 0; i < d->nwords; i++) {
        size_t w = sy_guard_phrase_words(d->words[i]);
        const char *ipath = v->kind == SY_YAML_SEQ ? sy_cfg_path_index(cx, path, i) : path;
        if (w == 0) {
            sy_cfg_error(cx, nodes[i], ipath, "has no word to match (letters or digits)");
            rc = SY_EINVAL;
        } else if (w > SY_GUARD_MAX_DENY_PHRASE) {
            sy_cfg_error(cx, nodes[i], ipath, "a phrase may have at most %u words",
                         SY_GUARD_MAX_DENY_PHRASE);
            rc = SY_EINVAL;
        }
    }
    return rc;
}

/* ---- detector tables ---- */

#define ACTION_ROW(dflt)                                                                           \
    {                                                                                              \
        .key = "action", .type = SY_CFG_ENUM, .offset = offsetof(sy_guard_detector_t, action),     \
        .names = actions, .def = (dflt)                                                            \
    }
#define RESTRICT_ROWS(cls)                                                                         \
    {.key = "data_class",                                                                          \
     .type = SY_CFG_STRING,                                                                        \
     .offset = offsetof(sy_guard_detector_t, restrict_to.data_class),                              \
     .def_str = (cls)},                                                                            \
    {                                                                                              \
        .key = "jurisdictions", .type = SY_CFG_CUSTOM,                                             \
        .offset = offsetof(sy_guard_detector_t, restrict_to), .parse = parse_jurisdictions,        \
        .format = NULL                                                                             \
    }

static const sy_cfg_field_t pii_fields[] = {
    ACTION_ROW(SY_GUARD_REDACT),
    {.key = "kinds",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_guard_detector_t, kinds),
     .parse = parse_pii_kinds},
    {.key = "actions",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_guard_detector_t, kind_action),
     .parse = parse_kind_actions},
    RESTRICT_ROWS("pii"),
};
static const sy_cfg_section_t pii_section = {"pii", pii_fields, SY_ARRAY_LEN(pii_fields)};

static const sy_cfg_field_t secrets_fields[] = {
    ACTION_ROW(SY_GUARD_BLOCK),
    {.key = "kinds",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_guard_detector_t, kinds),
     .parse = parse_secret_kinds},
    RESTRICT_ROWS("secret"),
};
static const sy_cfg_section_t secrets_section = {"secrets", secrets_fields,
                                                 SY_ARRAY_LEN(secrets_fields)};

static const sy_cfg_field_t injection_fields[] = {
    ACTION_ROW(SY_GUARD_BLOCK),
    {.key = "threshold",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_guard_detector_t, threshold),
     .parse = parse_threshold},
};
static const sy_cfg_section_t injection_section = {"injection", injection_fields,
                                                   SY_ARRAY_LEN(injection_fields)};

static const sy_cfg_field_t deny_fields[] = {
    ACTION_ROW(SY_GUARD_BLOCK),
    {.key = "words",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_guard_detector_t, words),
     .parse = parse_words},
    {.key = "regex",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_guard_detector_t, regex),
     .parse = parse_regex},
    RESTRICT_ROWS("restricted"),
};
static const sy_cfg_section_t deny_section = {"deny", deny_fields, SY_ARRAY_LEN(deny_fields)};

/* Parse one detector: absent -> off; present -> its table's defaults, then
 * what is written. `output`: the restrict action is refused (the route is
 * already chosen when output is scanned). */
static int parse_detector(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path, void *field,
                          const sy_cfg_section_t *sec, bool output)
{
    sy_guard_detector_t *d = field;
    memset(d, 0, sizeof(*d));
    if (v == NULL)
        return SY_OK;
    sy_cfg_section_defaults(cx, sec, d);
    int rc = sy_cfg_section_parse(cx, v, path, sec, d);
    if (rc != SY_OK)
        return rc;
    const sy_yaml_node_t *an = sy_yaml_map_get(v, "action");
    bool restricts = d->action == SY_GUARD_RESTRICT;
    for (int k = 0; k < SY_GUARD_KIND_COUNT; k++)
        restricts = restricts || d->kind_action[k] == SY_GUARD_RESTRICT;
    if (restricts && (output || sec == &injection_section)) {
        sy_cfg_error(cx, an ? an : v, path,
                     output ? "restrict applies to input only (output is scanned after routing)"
                            : "restrict is not an action for injection (use block or log)");
        return SY_EINVAL;
    }
    if (sec == &pii_section) {
        uint32_t kinds = d->action == SY_GUARD_OFF ? 0 : d->kinds;
        for (int k = 0; k < SY_GUARD_SECRET; k++) {
            if (d->kind_action[k] > 0)
                kinds |= SY_GUARD_KIND_BIT(k);
            else if (d->kind_action[k] < 0) {
                kinds &= ~SY_GUARD_KIND_BIT(k);
                d->kind_action[k] = 0;
            }
        }
        d->kinds = kinds;
    }
    if (sec == &deny_section && d->action != SY_GUARD_OFF && (d->nwords || d->nregex)) {
        size_t bad = 0;
        const char *err = NULL;
        d->deny = sy_guard_deny_build(cx->arena, d->words, d->nwords, d->regex, d->nregex, &bad,
                                      &err);
        if (d->deny == NULL) { /* checked per regex already; keep the snapshot consistent */
            sy_cfg_error(cx, v, path, "invalid regex %zu: %s", bad, err);
            return SY_EINVAL;
        }
    }
    return SY_OK;
}

#define DETECTOR_PARSER(name, sec, out)                                                            \
    static int parse_##name(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,          \
                            void *field)                                                           \
    {                                                                                              \
        return parse_detector(cx, v, path, field, &(sec), (out));                                  \
    }
DETECTOR_PARSER(in_pii, pii_section, false)
DETECTOR_PARSER(in_secrets, secrets_section, false)
DETECTOR_PARSER(in_injection, injection_section, false)
DETECTOR_PARSER(in_deny, deny_section, false)
DETECTOR_PARSER(out_pii, pii_section, true)
DETECTOR_PARSER(out_secrets, secrets_section, true)
DETECTOR_PARSER(out_injection, injection_section, true)
DETECTOR_PARSER(out_deny, deny_section, true)

#define DETECTOR_ROW(k, fn)                                                                        \
    {                                                                                              \
        .key = #k, .type = SY_CFG_CUSTOM, .offset = offsetof(sy_guard_side_t, k), .parse = (fn)    \
    }

static const sy_cfg_field_t input_fields[] = {
    DETECTOR_ROW(pii, parse_in_pii),
    DETECTOR_ROW(secrets, parse_in_secrets),
    DETECTOR_ROW(injection, parse_in_injection),
    DETECTOR_ROW(deny, parse_in_deny),
};
static const sy_cfg_section_t input_section = {"input", input_fields, SY_ARRAY_LEN(input_fields)};

static const sy_cfg_field_t output_fields[] = {
    DETECTOR_ROW(pii, parse_out_pii),
    DETECTOR_ROW(secrets, parse_out_secrets),
    DETECTOR_ROW(injection, parse_out_injection),
    DETECTOR_ROW(deny, parse_out_deny),
    {.key = "window",
     .type = SY_CFG_SIZE,
     .offset = offsetof(sy_guard_side_t, window),
     .min = SY_GUARD_MIN_WINDOW,
     .max = SY_GUARD_MAX_WINDOW,
     .def = SY_GUARD_DEFAULT_WINDOW},
};
static const sy_cfg_section_t output_section = {"output", output_fields,
                                                SY_ARRAY_LEN(output_fields)};

static int parse_side(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path, void *field,
                      const sy_cfg_section_t *sec)
{
    sy_guard_side_t *s = field;
    memset(s, 0, sizeof(*s));
    sy_cfg_section_defaults(cx, sec, s);
    if (v == NULL)
        return SY_OK;
    return sy_cfg_section_parse(cx, v, path, sec, s);
}

static int parse_input(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path, void *field)
{
    return parse_side(cx, v, path, field, &input_section);
}

static int parse_output(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path, void *field)
{
    return parse_side(cx, v, path, field, &output_section);
}

static const sy_cfg_field_t policy_fields[] = {
    {.key = "name",
     .type = SY_CFG_STRING,
     .offset = offsetof(sy_guard_policy_t, name),
     .flags = SY_CFG_F_REQUIRED},
    {.key = "input",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_guard_policy_t, input),
     .parse = parse_input},
    {.key = "output",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_guard_policy_t, output),
     .parse = parse_output},
};
static const sy_cfg_section_t policy_section = {"guardrails", policy_fields,
                                                SY_ARRAY_LEN(policy_fields)};

int sy_config_parse_guardrails(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                               void *field)
{
    sy_config_guardrails_t *out = field;
    void *items = NULL;
    size_t n = 0;
    int rc = sy_cfg_section_list(cx, v, path, &policy_section, sizeof(sy_guard_policy_t), &items,
                                 &n);
    out->items = items;
    out->n = n;
    const sy_guard_policy_t *p = items;
    for (size_t i = 0; i < n; i++) {
        const sy_yaml_node_t *nn = sy_yaml_map_get(v->items[i], "name");
        if (p[i].name.len == 0) {
            if (nn && !nn->invalid)
                sy_cfg_error(cx, nn, sy_cfg_path_index(cx, path, i), "a policy needs a name");
            rc = SY_EINVAL;
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            if (sy_str_eq(p[j].name, p[i].name)) {
                sy_cfg_error(cx, nn, sy_cfg_path_key(cx, sy_cfg_path_index(cx, path, i), SY_STR("name")),
                             "policy \"%.*s\" is defined twice (also at %s)", SY_STR_FMT(p[i].name),
                             sy_cfg_path_index(cx, path, j));
                rc = SY_EINVAL;
                break;
            }
        }
    }
    return rc;
}

/* ---- printing (loads back to an equal snapshot) ---- */

static void fmt_list(sy_buf_t *out, const sy_str_t *items, size_t n)
{
    sy_buf_append_c(out, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sy_buf_append_c(out, ", ");
        sy_cfg_format_quoted(out, items[i]);
    }
    sy_buf_append_c(out, "]");
}

static void fmt_restrict(sy_buf_t *out, const sy_guard_detector_t *d)
{
    sy_buf_append_c(out, ", data_class: ");
    sy_cfg_format_quoted(out, d->restrict_to.data_class);
    sy_buf_append_c(out, ", jurisdictions: ");
    fmt_list(out, d->restrict_to.jurisdictions, d->restrict_to.njurisdictions);
}

static void fmt_side(sy_buf_t *out, const sy_guard_side_t *s, bool output)
{
    sy_buf_append_c(out, "{");
    const char *sep = "";
    const sy_guard_detector_t *d = &s->pii;
    if (d->kinds) {
        sy_buf_printf(out, "pii: {action: %s, kinds: [", actions[d->action]);
        const char *ks = "";
        for (int k = 0; k < SY_GUARD_SECRET; k++) {
            if (d->kinds & SY_GUARD_KIND_BIT(k)) {
                sy_buf_printf(out, "%s%s", ks, sy_guard_kind_name((sy_guard_kind_t)k));
                ks = ", ";
            }
        }
        sy_buf_append_c(out, "], actions: {");
        ks = "";
        for (int k = 0; k < SY_GUARD_SECRET; k++) {
            if (d->kind_action[k] > 0) {
                sy_buf_printf(out, "%s%s: %s", ks, sy_guard_kind_name((sy_guard_kind_t)k),
                              actions[d->kind_action[k]]);
                ks = ", ";
            }
        }
        sy_buf_append_c(out, "}");
        fmt_restrict(out, d);
        sy_buf_append_c(out, "}");
        sep = ", ";
    }
    d = &s->secrets;
    if (d->action != SY_GUARD_OFF) {
        sy_buf_printf(out, "%ssecrets: {action: %s, kinds: [", sep, actions[d->action]);
        const char *ks = "";
        for (unsigned r = 0; r < SY_GUARD_SECRET_RULE_COUNT; r++) {
            if (d->kinds & (1u << r)) {
                sy_buf_printf(out, "%s%s", ks, sy_guard_secret_rule_name(r));
                ks = ", ";
            }
        }
        sy_buf_append_c(out, "]");
        fmt_restrict(out, d);
        sy_buf_append_c(out, "}");
        sep = ", ";
    }
    d = &s->injection;
    if (d->action != SY_GUARD_OFF) {
        char num[40];
        snprintf(num, sizeof(num), "%.15g", d->threshold);
        if (strtod(num, NULL) != d->threshold)
            snprintf(num, sizeof(num), "%.17g", d->threshold);
        sy_buf_printf(out, "%sinjection: {action: %s, threshold: %s}", sep, actions[d->action], num);
        sep = ", ";
    }
    d = &s->deny;
    if (d->action != SY_GUARD_OFF) {
        sy_buf_printf(out, "%sdeny: {action: %s, words: ", sep, actions[d->action]);
        fmt_list(out, d->words, d->nwords);
        sy_buf_append_c(out, ", regex: ");
        fmt_list(out, d->regex, d->nregex);
        fmt_restrict(out, d);
        sy_buf_append_c(out, "}");
        sep = ", ";
    }
    if (output) {
        char tmp[32];
        sy_buf_printf(out, "%swindow: %s", sep, sy_cfg_format_size(s->window, tmp));
    }
    sy_buf_append_c(out, "}");
}

void sy_config_format_guardrails(const void *field, sy_buf_t *out, bool redact)
{
    SY_UNUSED(redact); /* nothing secret: policies hold no credentials */
    const sy_config_guardrails_t *g = field;
    sy_buf_append_c(out, "[");
    for (size_t i = 0; i < g->n; i++) {
        const sy_guard_policy_t *p = &g->items[i];
        sy_buf_append_c(out, i ? ", {name: " : "{name: ");
        sy_cfg_format_quoted(out, p->name);
        sy_buf_append_c(out, ", input: ");
        fmt_side(out, &p->input, false);
        sy_buf_append_c(out, ", output: ");
        fmt_side(out, &p->output, true);
        sy_buf_append_c(out, "}");
    }
    sy_buf_append_c(out, "]");
}
