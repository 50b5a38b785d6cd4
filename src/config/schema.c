/*
 * schema.c - checking YAML values against what Switchyard expects.
 *
 * Three layers, each usable on its own:
 *   1. the error list: messages with FILE:LINE:COL and the dotted key path,
 *      collected (up to a cap) and sorted by position;
 *   2. one checker per value type (size, duration, number, bool, string,
 *      enum, mapping, sequence) that reports in the same words everywhere;
 *   3. table-driven sections: a section is a table of rows (key, type,
 *      offset, bounds, default), and one generic walker parses, defaults and
 *      prints it, so a new section is one table, not new parsing code.
 * Value syntax (sizes, durations) and did-you-mean distances are in values.c.
 */
#include "config/config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

struct sy_cfg_msg {
    uint32_t line, col; /* 0 for file-level errors */
    size_t seq;
    const char *text;
};

void sy_cfg_ctx_init(sy_cfg_ctx_t *cx, sy_arena_t *arena, sy_arena_t *scratch, const char *file)
{
    *cx = (sy_cfg_ctx_t){.arena = arena, .scratch = scratch, .file = file ? file : "<config>"};
}

void sy_cfg_error(sy_cfg_ctx_t *cx, const sy_yaml_node_t *at, const char *path, const char *fmt,
                  ...)
{
    cx->nerrors++;
    /* The tree belongs to the check and is writable; the const in the
     * checkers' signatures is for their callers, not for this flag. */
    if (at)
        ((sy_yaml_node_t *)at)->invalid = true;
    if (cx->nmsgs >= SY_CONFIG_MAX_ERRORS)
        return;
    if (cx->msgs == NULL)
        cx->msgs = sy_arena_alloc(cx->scratch, SY_CONFIG_MAX_ERRORS * sizeof(*cx->msgs));
    const sy_yaml_node_t *loc = at && at->key ? at->key : at;
    sy_buf_t b;
    sy_buf_init(&b, 0);
    if (loc)
        sy_buf_printf(&b, "%s:%u:%u: ", loc->file, loc->line, loc->col);
    else
        sy_buf_printf(&b, "%s: ", cx->file);
    if (path && *path)
        sy_buf_printf(&b, "%s: ", path);
    va_list ap;
    va_start(ap, fmt);
    sy_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    cx->msgs[cx->nmsgs] = (sy_cfg_msg_t){
        .line = loc ? loc->line : 0,
        .col = loc ? loc->col : 0,
        .seq = cx->nmsgs,
        .text = sy_arena_memdup(cx->scratch, sy_buf_ptr(&b), b.len),
    };
    cx->nmsgs++;
    sy_buf_free(&b);
}

static int msg_cmp(const void *pa, const void *pb)
{
    const sy_cfg_msg_t *a = pa, *b = pb;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if (a->col != b->col)
        return a->col < b->col ? -1 : 1;
    return a->seq < b->seq ? -1 : (a->seq > b->seq ? 1 : 0);
}

char *sy_cfg_ctx_errors(const sy_cfg_ctx_t *cx)
{
    if (cx->nerrors == 0)
        return NULL;
    sy_cfg_msg_t *sorted = sy_malloc((cx->nmsgs ? cx->nmsgs : 1) * sizeof(*sorted));
    if (cx->nmsgs)
        memcpy(sorted, cx->msgs, cx->nmsgs * sizeof(*sorted));
    qsort(sorted, cx->nmsgs, sizeof(*sorted), msg_cmp);
    sy_buf_t b;
    sy_buf_init(&b, 0);
    for (size_t i = 0; i < cx->nmsgs; i++)
        sy_buf_printf(&b, "%s%s", i ? "\n" : "", sorted[i].text);
    if (cx->nerrors > cx->nmsgs)
        sy_buf_printf(&b, "\n%s: (%zu more errors not shown)", cx->file, cx->nerrors - cx->nmsgs);
    free(sorted);
    char *out = sy_malloc(b.len + 1);
    memcpy(out, sy_buf_ptr(&b), b.len);
    out[b.len] = '\0';
    sy_buf_free(&b);
    return out;
}

const char *sy_cfg_shown(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n)
{
    if (n == NULL || n->kind != SY_YAML_SCALAR || n->is_null)
        return sy_yaml_describe(n);
    if (n->from_env)
        return sy_arena_sprintf(cx->scratch, "%s (from the environment)",
                                sy_yaml_quote(cx->scratch, n->raw, 60));
    return sy_yaml_quote(cx->scratch, n->str, 60);
}

const char *sy_cfg_path_key(sy_cfg_ctx_t *cx, const char *parent, sy_str_t key)
{
    if (parent == NULL || *parent == '\0')
        return sy_str_cdup(cx->scratch, key);
    return sy_arena_sprintf(cx->scratch, "%s.%.*s", parent, SY_STR_FMT(key));
}

const char *sy_cfg_path_index(sy_cfg_ctx_t *cx, const char *parent, size_t i)
{
    return sy_arena_sprintf(cx->scratch, "%s[%zu]", parent ? parent : "", i);
}

/* ---- value checkers ---- */

/* A usable scalar, or an error "expected WHAT, got ...". */
static bool want_scalar(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path,
                        const char *what)
{
    if (n && n->invalid)
        return false;
    if (n == NULL || n->kind != SY_YAML_SCALAR || n->is_null) {
        sy_cfg_error(cx, n, path, "expected %s, got %s", what, sy_cfg_shown(cx, n));
        return false;
    }
    return true;
}

typedef int (*parse_fn)(sy_str_t s, uint64_t *out);
typedef char *(*format_fn)(uint64_t v, char buf[32]);

static int parse_uint(sy_str_t s, uint64_t *out)
{
    return sy_str_to_u64(sy_str_trim(s), UINT64_MAX, out);
}

static char *format_uint(uint64_t v, char buf[32])
{
    snprintf(buf, 32, "%" PRIu64, v);
    return buf;
}

/* The shared body of the three number-like checkers. */
static int check_number(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path,
                        const char *what, parse_fn parse, format_fn format, uint64_t min,
                        uint64_t max, uint64_t *out)
{
    if (!want_scalar(cx, n, path, what))
        return SY_EINVAL;
    uint64_t v = 0;
    int rc = parse(n->str, &v);
    char lim[32];
    if (rc == SY_EINVAL) {
        sy_cfg_error(cx, n, path, "expected %s, got %s", what, sy_cfg_shown(cx, n));
        return SY_EINVAL;
    }
    if (rc == SY_ETOOBIG || v > max) {
        sy_cfg_error(cx, n, path, "%s is too large (the maximum is %s)", sy_cfg_shown(cx, n),
                     format(max, lim));
        return SY_EINVAL;
    }
    if (v < min) {
        sy_cfg_error(cx, n, path, "%s is too small (the minimum is %s)", sy_cfg_shown(cx, n),
                     format(min, lim));
        return SY_EINVAL;
    }
    *out = v;
    return SY_OK;
}

int sy_cfg_size(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path, uint64_t min,
                uint64_t max, uint64_t *out)
{
    return check_number(cx, n, path, "a size such as 32k or 1m", sy_cfg_parse_size,
                        sy_cfg_format_size, min, max, out);
}

int sy_cfg_duration(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path, uint64_t min,
                    uint64_t max, uint64_t *out_ms)
{
    return check_number(cx, n, path, "a duration such as 10s, 500ms or 2m", sy_cfg_parse_duration,
                        sy_cfg_format_duration, min, max, out_ms);
}

int sy_cfg_uint(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path, uint64_t min,
                uint64_t max, uint64_t *out)
{
    return check_number(cx, n, path, "a whole number", parse_uint, format_uint, min, max, out);
}

int sy_cfg_bool(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    if (!want_scalar(cx, n, path, "true or false"))
        return SY_EINVAL;
    sy_str_t s = sy_str_trim(n->str);
    for (size_t i = 0; i < SY_ARRAY_LEN(yes); i++) {
        if (sy_str_ieq_c(s, yes[i]) || sy_str_ieq_c(s, no[i])) {
            *out = sy_str_ieq_c(s, yes[i]);
            return SY_OK;
        }
    }
    sy_cfg_error(cx, n, path, "expected true or false, got %s", sy_cfg_shown(cx, n));
    return SY_EINVAL;
}

int sy_cfg_string(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path, sy_str_t *out)
{
    if (!want_scalar(cx, n, path, "a string"))
        return SY_EINVAL;
    *out = sy_str_dup(cx->arena, n->str);
    return SY_OK;
}

int sy_cfg_enum(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path,
                const char *const *names, int *out)
{
    sy_buf_t list;
    sy_buf_init(&list, 0);
    size_t count = 0;
    for (; names[count]; count++)
        sy_buf_printf(&list, "%s%s", count ? ", " : "", names[count]);
    int rc = SY_EINVAL;
    char *what = sy_arena_sprintf(cx->scratch, "one of %.*s", (int)list.len, sy_buf_ptr(&list));
    sy_buf_free(&list);
    if (!want_scalar(cx, n, path, what))
        return rc;
    sy_str_t s = sy_str_trim(n->str);
    for (size_t i = 0; i < count; i++) {
        if (sy_str_ieq_c(s, names[i])) {
            *out = (int)i;
            return SY_OK;
        }
    }
    const char *near = n->from_env ? NULL : sy_cfg_suggest(s, names, count);
    if (near)
        sy_cfg_error(cx, n, path, "expected %s, got %s (did you mean \"%s\"?)", what,
                     sy_cfg_shown(cx, n), near);
    else
        sy_cfg_error(cx, n, path, "expected %s, got %s", what, sy_cfg_shown(cx, n));
    return rc;
}

int sy_cfg_expect_seq(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path, bool single_ok)
{
    if (n && n->invalid)
        return SY_EINVAL;
    if (n && (n->kind == SY_YAML_SEQ || (single_ok && n->kind == SY_YAML_SCALAR && !n->is_null)))
        return SY_OK;
    sy_cfg_error(cx, n, path, "expected a sequence, got %s", sy_yaml_describe(n));
    return SY_EINVAL;
}

/* Report unknown key `k` under `path`: a typo suggestion from `cands`, else a
 * key of a nested section of `s` with that exact name, else the valid keys. */
static void unknown_key(sy_cfg_ctx_t *cx, const sy_yaml_node_t *k, const char *path,
                        const char *const *cands, size_t n, const sy_cfg_section_t *s)
{
    const char *full = sy_yaml_quote(cx->scratch, sy_str_c(sy_cfg_path_key(cx, path, k->raw)), 80);
    const char *near = sy_cfg_suggest(k->raw, cands, n);
    if (near) {
        sy_cfg_error(cx, k, NULL, "unknown key %s (did you mean \"%s\"?)", full,
                     sy_cfg_path_key(cx, path, sy_str_c(near)));
        return;
    }
    for (size_t i = 0; s && i < s->nfields; i++) {
        const sy_cfg_field_t *f = &s->fields[i];
        if (f->type != SY_CFG_SECTION)
            continue;
        for (size_t j = 0; j < f->section->nfields; j++) {
            if (sy_str_eq_c(k->raw, f->section->fields[j].key)) {
                const char *in = sy_cfg_path_key(cx, path, sy_str_c(f->key));
                sy_cfg_error(cx, k, NULL, "unknown key %s (did you mean \"%s.%s\"?)", full, in,
                             f->section->fields[j].key);
                return;
            }
        }
    }
    sy_buf_t list;
    sy_buf_init(&list, 0);
    for (size_t i = 0; i < n; i++)
        if (cands[i])
            sy_buf_printf(&list, "%s%s", list.len ? ", " : "", cands[i]);
    sy_cfg_error(cx, k, NULL, "unknown key %s (expected one of: %.*s)", full, (int)list.len,
                 sy_buf_ptr(&list));
    sy_buf_free(&list);
}

static bool want_map(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path)
{
    if (n && n->invalid)
        return false;
    if (n && n->kind == SY_YAML_MAP)
        return true;
    if (path == NULL || *path == '\0')
        sy_cfg_error(cx, n, NULL, "expected a mapping of settings at the top level, got %s",
                     sy_yaml_describe(n));
    else
        sy_cfg_error(cx, n, path, "expected a mapping, got %s", sy_yaml_describe(n));
    return false;
}

int sy_cfg_expect_map(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path,
                      const char *const *allowed)
{
    if (!want_map(cx, n, path))
        return SY_EINVAL;
    if (allowed == NULL)
        return SY_OK;
    size_t count = 0;
    while (allowed[count])
        count++;
    int rc = SY_OK;
    for (size_t i = 0; i < n->len; i++) {
        const sy_yaml_node_t *k = n->pairs[i].key;
        bool ok = false;
        for (size_t j = 0; j < count && !ok; j++)
            ok = sy_str_eq_c(k->raw, allowed[j]);
        if (!ok) {
            unknown_key(cx, k, path, allowed, count, NULL);
            rc = SY_EINVAL;
        }
    }
    return rc;
}

/* ---- table-driven sections ---- */

static const sy_cfg_field_t *find_field(const sy_cfg_section_t *s, sy_str_t key)
{
    for (size_t i = 0; i < s->nfields; i++)
        if (sy_str_eq_c(key, s->fields[i].key))
            return &s->fields[i];
    return NULL;
}

static int parse_field(sy_cfg_ctx_t *cx, const sy_cfg_field_t *f, const sy_yaml_node_t *v,
                       const char *path, void *field)
{
    switch (f->type) {
    case SY_CFG_SIZE:
        return sy_cfg_size(cx, v, path, f->min, f->max, field);
    case SY_CFG_DURATION:
        return sy_cfg_duration(cx, v, path, f->min, f->max, field);
    case SY_CFG_UINT:
        return sy_cfg_uint(cx, v, path, f->min, f->max, field);
    case SY_CFG_BOOL:
        return sy_cfg_bool(cx, v, path, field);
    case SY_CFG_STRING:
        return sy_cfg_string(cx, v, path, field);
    case SY_CFG_ENUM:
        return sy_cfg_enum(cx, v, path, f->names, field);
    case SY_CFG_SECTION:
        return sy_cfg_section_parse(cx, v, path, f->section, field);
    case SY_CFG_CUSTOM:
        return f->parse(cx, v, path, field);
    }
    sy_panic("config: bad field type %d", (int)f->type);
}

void sy_cfg_section_defaults(sy_cfg_ctx_t *cx, const sy_cfg_section_t *s, void *target)
{
    for (size_t i = 0; i < s->nfields; i++) {
        const sy_cfg_field_t *f = &s->fields[i];
        void *field = (char *)target + f->offset;
        switch (f->type) {
        case SY_CFG_SIZE:
        case SY_CFG_DURATION:
        case SY_CFG_UINT:
            *(uint64_t *)field = f->def;
            break;
        case SY_CFG_BOOL:
            *(bool *)field = f->def != 0;
            break;
        case SY_CFG_ENUM:
            *(int *)field = (int)f->def;
            break;
        case SY_CFG_STRING:
            *(sy_str_t *)field = sy_str_dup(cx->arena, sy_str_c(f->def_str ? f->def_str : ""));
            break;
        case SY_CFG_SECTION:
            sy_cfg_section_defaults(cx, f->section, field);
            break;
        case SY_CFG_CUSTOM:
            if (f->parse(cx, NULL, f->key, field) != SY_OK)
                sy_panic("config: default for %s does not parse", f->key);
            break;
        }
    }
}

int sy_cfg_section_parse(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path,
                         const sy_cfg_section_t *s, void *target)
{
    if (n && n->kind == SY_YAML_SCALAR && n->is_null && !n->invalid)
        n = NULL;
    if (n && !want_map(cx, n, path))
        return SY_EINVAL;
    int rc = SY_OK;
    bool *seen = sy_arena_calloc(cx->scratch, s->nfields ? s->nfields : 1);
    const char **names =
        sy_arena_alloc(cx->scratch, (s->nfields ? s->nfields : 1) * sizeof(*names));
    for (size_t i = 0; i < s->nfields; i++)
        names[i] = s->fields[i].key;
    for (size_t i = 0; n && i < n->len; i++) {
        const sy_yaml_pair_t *p = &n->pairs[i];
        const sy_cfg_field_t *f = find_field(s, p->key->raw);
        if (f == NULL) {
            unknown_key(cx, p->key, path, names, s->nfields, s);
            rc = SY_EINVAL;
            continue;
        }
        seen[f - s->fields] = true;
        const char *fpath = sy_cfg_path_key(cx, path, p->key->raw);
        if (p->value->kind == SY_YAML_SCALAR && p->value->is_null && !p->value->invalid) {
            if (f->flags & SY_CFG_F_REQUIRED) {
                sy_cfg_error(cx, p->value, fpath, "a value is required");
                rc = SY_EINVAL;
            }
            continue; /* absent: keep the default */
        }
        if (parse_field(cx, f, p->value, fpath, (char *)target + f->offset) != SY_OK)
            rc = SY_EINVAL;
    }
    for (size_t i = 0; i < s->nfields; i++) {
        if ((s->fields[i].flags & SY_CFG_F_REQUIRED) && !seen[i]) {
            sy_cfg_error(cx, n, path, "missing required key \"%s\"", s->fields[i].key);
            rc = SY_EINVAL;
        }
    }
    return rc;
}

void sy_cfg_format_quoted(sy_buf_t *out, sy_str_t s)
{
    sy_buf_append_c(out, "\"");
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\')
            sy_buf_printf(out, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            sy_buf_printf(out, "\\x%02x", c);
        else if (c == '$' && i + 1 < s.len && s.p[i + 1] == '{')
            sy_buf_append_c(out, "$$");
        else
            sy_buf_append(out, &s.p[i], 1);
    }
    sy_buf_append_c(out, "\"");
}

void sy_cfg_section_format(const sy_cfg_section_t *s, const void *target, sy_buf_t *out, int indent,
                           bool redact)
{
    char tmp[32];
    for (size_t i = 0; i < s->nfields; i++) {
        const sy_cfg_field_t *f = &s->fields[i];
        const void *field = (const char *)target + f->offset;
        sy_buf_printf(out, "%*s%s:", indent, "", f->key);
        switch (f->type) {
        case SY_CFG_SIZE:
            sy_buf_printf(out, " %s\n", sy_cfg_format_size(*(const uint64_t *)field, tmp));
            break;
        case SY_CFG_DURATION:
            sy_buf_printf(out, " %s\n", sy_cfg_format_duration(*(const uint64_t *)field, tmp));
            break;
        case SY_CFG_UINT:
            sy_buf_printf(out, " %" PRIu64 "\n", *(const uint64_t *)field);
            break;
        case SY_CFG_BOOL:
            sy_buf_printf(out, " %s\n", *(const bool *)field ? "true" : "false");
            break;
        case SY_CFG_ENUM:
            sy_buf_printf(out, " %s\n", f->names[*(const int *)field]);
            break;
        case SY_CFG_STRING: {
            sy_str_t v = *(const sy_str_t *)field;
            sy_buf_append_c(out, " ");
            if (redact && (f->flags & SY_CFG_F_SECRET) && v.len)
                sy_buf_append_c(out, "\"<redacted>\"");
            else
                sy_cfg_format_quoted(out, v);
            sy_buf_append_c(out, "\n");
            break;
        }
        case SY_CFG_SECTION:
            sy_buf_append_c(out, "\n");
            sy_cfg_section_format(f->section, field, out, indent + 2, redact);
            break;
        case SY_CFG_CUSTOM:
            sy_buf_append_c(out, " ");
            f->format(field, out, redact);
            sy_buf_append_c(out, "\n");
            break;
        }
    }
}
