/*
 * need.c - what a request needs from a deployment: capabilities and sizes
 * read from its body, constraints read from its x-switchyard-* headers.
 */
#include <stdio.h>
#include <string.h>

#include "router/router.h"

static bool parts_have_image(const sy_ir_part_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i].kind == SY_IR_IMAGE)
            return true;
        if (p[i].kind == SY_IR_TOOL_RESULT && parts_have_image(p[i].content, p[i].ncontent))
            return true;
    }
    return false;
}

void sy_route_need_from_ir(const sy_ir_request_t *ir, sy_route_need_t *n)
{
    memset(n, 0, sizeof(*n));
    if (ir->ntools)
        n->caps |= SY_CAP_TOOLS;
    if (ir->format == SY_IR_FORMAT_JSON_SCHEMA)
        n->caps |= SY_CAP_JSON_SCHEMA;
    if (ir->thinking_budget || ir->effort != SY_IR_EFFORT_UNSET)
        n->caps |= SY_CAP_THINKING;
    for (size_t i = 0; i < ir->nmessages && !(n->caps & SY_CAP_VISION); i++)
        if (parts_have_image(ir->messages[i].parts, ir->messages[i].nparts))
            n->caps |= SY_CAP_VISION;
    n->input_tokens = sy_ir_estimate_input_tokens(ir);
    n->max_tokens = ir->max_tokens;
}

/* "0.05" USD -> pico-dollars (at most 12 decimals). */
static int parse_usd(sy_str_t s, uint64_t *out)
{
    ptrdiff_t dot = sy_str_find_char(s, '.');
    sy_str_t whole = dot < 0 ? s : sy_str_sub(s, 0, (size_t)dot);
    sy_str_t frac = dot < 0 ? SY_STR("") : sy_str_sub(s, (size_t)dot + 1, s.len);
    uint64_t w = 0, f = 0;
    if ((whole.len == 0 && frac.len == 0) || (dot >= 0 && frac.len == 0) || frac.len > 12)
        return SY_EINVAL;
    if (whole.len && sy_str_to_u64(whole, 1000000, &w) != SY_OK)
        return SY_EINVAL;
    if (frac.len && sy_str_to_u64(frac, UINT64_MAX, &f) != SY_OK)
        return SY_EINVAL;
    for (size_t i = frac.len; i < 12; i++)
        f *= 10;
    *out = w * 1000000000000ULL + f;
    return SY_OK;
}

/* A comma-separated list into out[0..max); empty items are skipped. */
static int parse_list(sy_str_t v, sy_str_t *out, uint8_t *n)
{
    *n = 0;
    while (v.len) {
        ptrdiff_t c = sy_str_find_char(v, ',');
        sy_str_t item = sy_str_trim(c < 0 ? v : sy_str_sub(v, 0, (size_t)c));
        v = c < 0 ? SY_STR("") : sy_str_sub(v, (size_t)c + 1, v.len);
        if (item.len == 0)
            continue;
        if (*n == SY_ROUTE_MAX_LIST)
            return SY_ETOOBIG;
        out[(*n)++] = item;
    }
    return SY_OK;
}

int sy_route_need_from_headers(sy_route_need_t *n, const sy_http_header_t *h, size_t nh,
                               char *err, size_t errsz)
{
    for (size_t i = 0; i < nh; i++) {
        sy_str_t name = h[i].name;
        if (name.len < 13 || !sy_str_ieq(sy_str_sub(name, 0, 13), SY_STR("x-switchyard-")))
            continue;
        sy_str_t v = sy_str_trim(h[i].value);
        int rc = SY_OK;
        const char *want = NULL;
        if (sy_str_ieq_c(name, "x-switchyard-max-cost-usd")) {
            want = "a dollar amount such as 0.05";
            rc = parse_usd(v, &n->max_cost_pico);
            if (rc == SY_OK && n->max_cost_pico == 0)
                rc = SY_EINVAL;
        } else if (sy_str_ieq_c(name, "x-switchyard-latency-target-ms")) {
            want = "a number of milliseconds (1-3600000)";
            rc = sy_str_to_u64(v, 3600000, &n->latency_target_ms);
            if (rc == SY_OK && n->latency_target_ms == 0)
                rc = SY_EINVAL;
        } else if (sy_str_ieq_c(name, "x-switchyard-regions")) {
            want = "a comma-separated list of regions or jurisdictions";
            rc = parse_list(v, n->regions, &n->nregions);
            if (rc == SY_OK && n->nregions == 0)
                rc = SY_EINVAL;
        } else if (sy_str_ieq_c(name, "x-switchyard-prefer-providers")) {
            want = "a comma-separated list of provider names";
            rc = parse_list(v, n->prefer, &n->nprefer);
        } else if (sy_str_ieq_c(name, "x-switchyard-exclude-providers")) {
            want = "a comma-separated list of provider names";
            rc = parse_list(v, n->exclude, &n->nexclude);
        } else {
            continue; /* other x-switchyard-* headers are not constraints */
        }
        if (rc != SY_OK) {
            snprintf(err, errsz, "invalid %.*s header: expected %s%s", SY_STR_FMT(name), want,
                     rc == SY_ETOOBIG ? " (at most 16 entries)" : "");
            return SY_EINVAL;
        }
    }
    return SY_OK;
}
