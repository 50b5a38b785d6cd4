/*
 * residency.c - resolving a request's data classes into the jurisdictions
 * it may be sent to.
 */
#include "harness/residency.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const level_names[3] = {"key", "team", "organisation"};

bool sy_jurisdiction_match(sy_str_t allowed, sy_str_t j)
{
    if (allowed.len == 0 || j.len == 0)
        return false;
    if (sy_str_ieq(allowed, j))
        return true;
    return j.len > allowed.len && j.p[allowed.len] == '-' &&
           sy_str_ieq(sy_str_sub(j, 0, allowed.len), allowed);
}

bool sy_residency_allows(const sy_residency_t *r, sy_str_t jurisdiction)
{
    if (r == NULL || !r->restricted)
        return true;
    for (size_t i = 0; i < r->nallowed; i++)
        if (sy_jurisdiction_match(r->allowed[i], jurisdiction))
            return true;
    return false;
}

static bool add_class(sy_residency_t *r, sy_str_t c)
{
    for (size_t i = 0; i < r->nclasses; i++)
        if (sy_str_ieq(r->classes[i], c))
            return true;
    if (r->nclasses >= SY_RESIDENCY_MAX_CLASSES)
        return false;
    r->classes[r->nclasses++] = c;
    return true;
}

static bool class_ok(sy_str_t s)
{
    if (s.len == 0 || s.len > 64)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* Keep in r->allowed only what `list` also allows. The first list sets it. */
static void narrow(sy_residency_t *r, const sy_str_t *list, size_t n)
{
    if (!r->restricted) {
        r->restricted = true;
        r->nallowed = 0;
        for (size_t i = 0; i < n && r->nallowed < SY_GOV_MAX_JURISDICTIONS; i++)
            r->allowed[r->nallowed++] = list[i];
        return;
    }
    size_t keep = 0;
    for (size_t i = 0; i < r->nallowed; i++) {
        sy_str_t a = r->allowed[i];
        sy_str_t narrowest = SY_STR_NULL;
        for (size_t j = 0; j < n && narrowest.p == NULL; j++) {
            if (sy_jurisdiction_match(list[j], a))
                narrowest = a; /* a is inside list[j] */
            else if (sy_jurisdiction_match(a, list[j]))
                narrowest = list[j]; /* list[j] is inside a */
        }
        if (narrowest.p)
            r->allowed[keep++] = narrowest;
    }
    r->nallowed = keep;
}

static void why_append(sy_residency_t *r, const char *fmt, ...) SY_PRINTF(2, 3);
static void why_append(sy_residency_t *r, const char *fmt, ...)
{
    size_t len = strlen(r->why);
    if (len + 1 >= sizeof(r->why))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why + len, sizeof(r->why) - len, fmt, ap);
    va_end(ap);
}

static void why_list(sy_residency_t *r, const sy_str_t *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        why_append(r, "%s%.*s", i ? ", " : "", (int)SY_MIN(l[i].len, (size_t)64), l[i].p);
    if (n == 0)
        why_append(r, "nowhere");
}

int sy_residency_resolve(const sy_gov_spec_t *const levels[3], sy_str_t header,
                         sy_str_t guard_class, const sy_str_t *guard_juris, size_t nguard_juris,
                         sy_residency_t *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof(*out));
    /* The header: a comma-separated list of classes. */
    sy_str_t h = sy_str_trim(header);
    while (h.len) {
        ptrdiff_t comma = sy_str_find_char(h, ',');
        sy_str_t c = sy_str_trim(comma < 0 ? h : sy_str_sub(h, 0, (size_t)comma));
        h = comma < 0 ? SY_STR("") : sy_str_sub(h, (size_t)comma + 1, h.len);
        if (!class_ok(c) || !add_class(out, c)) {
            snprintf(err, errsz,
                     "x-switchyard-data-class: expected up to %d data class names of letters, "
                     "digits, '-', '_', '.', separated by commas",
                     SY_RESIDENCY_MAX_CLASSES);
            return SY_EINVAL;
        }
    }
    for (int l = 0; l < 3; l++)
        if (levels[l] && levels[l]->default_data_class.len) {
            add_class(out, levels[l]->default_data_class);
            break;
        }
    if (guard_class.len)
        add_class(out, guard_class);
    for (size_t c = 0; c < out->nclasses; c++) {
        bool any = false;
        for (int l = 0; l < 3; l++) {
            const sy_gov_spec_t *s = levels[l];
            if (s == NULL)
                continue;
            for (size_t i = 0; i < s->nresidency; i++) {
                const sy_gov_residency_t *rule = &s->residency[i];
                if (!sy_str_ieq(rule->data_class, out->classes[c]))
                    continue;
                if (!any)
                    why_append(out, "%sdata class %.*s (", out->why[0] ? "; " : "",
                               (int)out->classes[c].len, out->classes[c].p);
                else
                    why_append(out, "; ");
                any = true;
                why_append(out, "%s: ", level_names[l]);
                why_list(out, rule->jurisdictions, rule->n);
                narrow(out, rule->jurisdictions, rule->n);
            }
        }
        if (any)
            why_append(out, ")");
    }
    if (nguard_juris) {
        why_append(out, "%sguardrail: ", out->why[0] ? "; " : "");
        why_list(out, guard_juris, nguard_juris);
        narrow(out, guard_juris, nguard_juris);
    }
    return SY_OK;
}
