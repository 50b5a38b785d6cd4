/*
 * json_scan.c - the members of a JSON object's text, without a tree.
 *
 * The data path reads or rewrites one or two members of a body it otherwise
 * relays byte for byte (the model of a passthrough request, the usage of a
 * passthrough answer). Building the whole tree for that costs far more than
 * walking the text: a skipped value is only looked at for its string quotes
 * and its brackets. The walk checks the structure (strings closed, brackets
 * matched, members separated by commas, nothing after the object) but not
 * the grammar of numbers and literals, nor UTF-8: callers use it on text the
 * full parser has validated, or treat what it finds as a hint that a full
 * parse confirms when it matters.
 */
#include "json/json.h"

#include <string.h>

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && is_ws(*p))
        p++;
    return p;
}

/* p is just past an opening quote: the position just past the closing one,
 * or NULL. *escaped is set when the string holds a backslash escape (the
 * byte after a backslash never closes the string). Runs of plain bytes are
 * skipped by the parser's vectorised scan; the rest one at a time. */
static const char *skip_string(const char *p, const char *end, bool *escaped)
{
    while (p < end) {
        p += sy_json_plain_prefix(p, (size_t)(end - p));
        if (p >= end)
            break;
        char c = *p;
        if (c == '"')
            return p + 1;
        if (c == '\\') {
            *escaped = true;
            p += 2;
            continue;
        }
        p++; /* a control byte or one above 0x7f: the full parser judges those */
    }
    return NULL;
}

/* The bytes a skipped container's walk stops at. */
static const bool stop_byte[256] = {['"'] = true, ['{'] = true, ['}'] = true, ['['] = true,
                                    [']'] = true};

/* One value starting at p (no leading whitespace): the position just past
 * it, or NULL when it is malformed or nested deeper than
 * SY_JSON_SCAN_MAX_DEPTH. */
static const char *skip_value(const char *p, const char *end)
{
    uint64_t kinds[SY_JSON_SCAN_MAX_DEPTH / 64]; /* bit set: an object, clear: an array */
    unsigned depth = 0;
    bool esc = false;
    if (p >= end)
        return NULL;
    if (*p == '"')
        return skip_string(p + 1, end, &esc);
    if (*p != '{' && *p != '[') {
        const char *s = p;
        while (p < end && !is_ws(*p) && *p != ',' && *p != '}' && *p != ']' && *p != ':' &&
               *p != '"' && *p != '{' && *p != '[')
            p++;
        return p > s ? p : NULL;
    }
    while (p < end) {
        while (p < end && !stop_byte[(unsigned char)*p])
            p++;
        if (p == end)
            break;
        char c = *p;
        if (c == '"') {
            p = skip_string(p + 1, end, &esc);
            if (p == NULL)
                return NULL;
            continue;
        }
        if (c == '{' || c == '[') {
            if (depth == SY_JSON_SCAN_MAX_DEPTH)
                return NULL;
            uint64_t bit = 1ull << (depth % 64);
            if (c == '{')
                kinds[depth / 64] |= bit;
            else
                kinds[depth / 64] &= ~bit;
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return NULL;
            depth--;
            bool obj = (kinds[depth / 64] >> (depth % 64)) & 1;
            if (obj != (c == '}'))
                return NULL;
            if (depth == 0)
                return p + 1;
        }
        p++;
    }
    return NULL;
}

int sy_json_members_init(sy_json_members_t *it, sy_str_t text)
{
    const char *p = text.p, *end = text.p + text.len;
    p = skip_ws(p, end);
    if (p == end || *p != '{')
        return SY_EINVAL;
    it->p = p + 1;
    it->end = end;
    it->first = true;
    it->done = false;
    return SY_OK;
}

int sy_json_members_next(sy_json_members_t *it, sy_json_span_t *m)
{
    if (it->done)
        return SY_ENOTFOUND;
    const char *p = skip_ws(it->p, it->end), *end = it->end;
    if (p == end)
        return SY_EINVAL;
    if (*p == '}') {
        if (skip_ws(p + 1, end) != end)
            return SY_EINVAL; /* something after the object */
        it->done = true;
        it->p = p + 1;
        return SY_ENOTFOUND;
    }
    if (!it->first) {
        if (*p != ',')
            return SY_EINVAL;
        p = skip_ws(p + 1, end);
    }
    if (p == end || *p != '"')
        return SY_EINVAL;
    const char *k = p;
    bool esc = false;
    p = skip_string(p + 1, end, &esc);
    if (p == NULL)
        return SY_EINVAL;
    m->key = sy_str(k + 1, (size_t)(p - k - 2));
    m->key_escaped = esc;
    p = skip_ws(p, end);
    if (p == end || *p != ':')
        return SY_EINVAL;
    p = skip_ws(p + 1, end);
    const char *v = p;
    p = skip_value(p, end);
    if (p == NULL)
        return SY_EINVAL;
    m->value = sy_str(v, (size_t)(p - v));
    m->member = sy_str(k, (size_t)(p - k));
    it->p = p;
    it->first = false;
    return SY_OK;
}
