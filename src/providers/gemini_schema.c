/*
 * gemini_schema.c - JSON Schema (as clients send it in tool definitions and
 * response formats) to Gemini's Schema object, an OpenAPI 3.0 subset.
 *
 * Gemini rejects keywords it does not know ("Unknown name
 * additionalProperties"), an object type with an empty `properties`, a
 * `required` entry naming no property, string formats other than enum and
 * date-time, and enums on non-string types. So the converter keeps only
 * what Gemini accepts and rewrites what it can express another way:
 *   - local $ref ("#/$defs/X", "#/definitions/X", any "#/..." pointer) is
 *     inlined (expansions capped, so recursive schemas terminate);
 *   - "type": ["string","null"] and anyOf/oneOf branches of type null become
 *     "nullable": true; a single remaining branch is inlined;
 *   - oneOf becomes anyOf (Gemini has no exclusive form);
 *   - "const": "x" becomes "enum": ["x"];
 *   - a missing type is inferred (properties -> object, items -> array);
 *   - tuple "items": [..] keeps its first schema.
 * Dropped: additionalProperties, $schema, $id, $defs, definitions, strict,
 * default, examples, patternProperties, allOf with several members, not,
 * if/then/else and every other keyword outside the subset. The result
 * constrains the model a little less than the original; it never rejects
 * what the original allowed. We chose this over `parametersJsonSchema`,
 * which takes JSON Schema as is but is not accepted by every model and
 * endpoint (Vertex, older Gemini versions); the subset works everywhere.
 */
#include "providers/gemini.h"

#include <string.h>

#define SCHEMA_MAX_DEPTH 64       /* nesting written; deeper levels become {} */
#define SCHEMA_MAX_EXPANSIONS 256 /* $ref inlinings in one schema */

typedef struct {
    const sy_json_t *root;
    unsigned expansions;
} schema_ctx_t;

static void write_keys(sy_json_writer_t *w, const sy_json_t *v, schema_ctx_t *c, unsigned depth,
                       bool nullable);

/* Follow a local JSON pointer ("#/a/b~1c") from the root. */
static const sy_json_t *resolve_ref(const sy_json_t *root, sy_str_t ref)
{
    if (ref.len < 1 || ref.p[0] != '#')
        return NULL;
    const sy_json_t *v = root;
    size_t i = 1;
    while (v && i < ref.len) {
        if (ref.p[i] != '/')
            return NULL;
        i++;
        char key[256];
        size_t n = 0;
        while (i < ref.len && ref.p[i] != '/') {
            char ch = ref.p[i++];
            if (ch == '~' && i < ref.len) {
                ch = ref.p[i] == '1' ? '/' : '~';
                i++;
            }
            if (n + 1 >= sizeof(key))
                return NULL;
            key[n++] = ch;
        }
        key[n] = '\0';
        v = sy_json_get_str(v, sy_str(key, n));
    }
    return v;
}

static bool is_null_schema(const sy_json_t *v)
{
    return sy_str_eq_c(sy_json_str(sy_json_get(v, "type")), "null");
}

static void write_schema(sy_json_writer_t *w, const sy_json_t *v, schema_ctx_t *c, unsigned depth)
{
    sy_json_write_begin_object(w);
    if (sy_json_is(v, SY_JSON_OBJECT) && depth < SCHEMA_MAX_DEPTH)
        write_keys(w, v, c, depth + 1, false);
    sy_json_write_end_object(w);
}

static void copy_str(sy_json_writer_t *w, const sy_json_t *v, const char *key)
{
    const sy_json_t *x = sy_json_get(v, key);
    if (sy_json_is(x, SY_JSON_STRING)) {
        sy_json_write_key(w, sy_str_c(key));
        sy_json_write_value(w, x);
    }
}

static void copy_num(sy_json_writer_t *w, const sy_json_t *v, const char *key)
{
    const sy_json_t *x = sy_json_get(v, key);
    if (sy_json_is(x, SY_JSON_NUMBER)) {
        sy_json_write_key(w, sy_str_c(key));
        sy_json_write_value(w, x);
    }
}

/* anyOf / oneOf: null branches fold into nullable; one branch left is
 * inlined, several become anyOf. */
static void write_alternatives(sy_json_writer_t *w, const sy_json_t *v, const sy_json_t *alts,
                               schema_ctx_t *c, unsigned depth, bool nullable)
{
    size_t n = sy_json_len(alts), kept = 0;
    const sy_json_t *only = NULL;
    for (size_t i = 0; i < n; i++) {
        const sy_json_t *a = sy_json_index(alts, i);
        if (is_null_schema(a)) {
            nullable = true;
        } else {
            kept++;
            only = a;
        }
    }
    if (kept == 1 && sy_json_is(only, SY_JSON_OBJECT)) {
        /* the outer description wins only when the branch has none */
        if (!sy_json_get(only, "description"))
            copy_str(w, v, "description");
        write_keys(w, only, c, depth, nullable);
        return;
    }
    copy_str(w, v, "description");
    copy_str(w, v, "title");
    if (kept) {
        sy_json_write_key(w, SY_STR("anyOf"));
        sy_json_write_begin_array(w);
        for (size_t i = 0; i < n; i++) {
            const sy_json_t *a = sy_json_index(alts, i);
            if (!is_null_schema(a))
                write_schema(w, a, c, depth);
        }
        sy_json_write_end_array(w);
    }
    if (nullable) {
        sy_json_write_key(w, SY_STR("nullable"));
        sy_json_write_bool(w, true);
    }
}

static bool format_allowed(sy_str_t type, sy_str_t format)
{
    if (sy_str_eq_c(type, "string"))
        return sy_str_eq_c(format, "date-time") || sy_str_eq_c(format, "enum");
    if (sy_str_eq_c(type, "number"))
        return sy_str_eq_c(format, "float") || sy_str_eq_c(format, "double");
    if (sy_str_eq_c(type, "integer"))
        return sy_str_eq_c(format, "int32") || sy_str_eq_c(format, "int64");
    return false;
}

static bool all_strings(const sy_json_t *arr)
{
    if (!sy_json_is(arr, SY_JSON_ARRAY) || sy_json_len(arr) == 0)
        return false;
    for (size_t i = 0; i < sy_json_len(arr); i++)
        if (!sy_json_is(sy_json_index(arr, i), SY_JSON_STRING))
            return false;
    return true;
}

static void write_keys(sy_json_writer_t *w, const sy_json_t *v, schema_ctx_t *c, unsigned depth,
                       bool nullable)
{
    if (depth >= SCHEMA_MAX_DEPTH)
        return;
    const sy_json_t *ref = sy_json_get(v, "$ref");
    if (sy_json_is(ref, SY_JSON_STRING)) {
        const sy_json_t *target = resolve_ref(c->root, sy_json_str(ref));
        if (sy_json_is(target, SY_JSON_OBJECT) && c->expansions < SCHEMA_MAX_EXPANSIONS) {
            c->expansions++;
            if (!sy_json_get(target, "description"))
                copy_str(w, v, "description");
            write_keys(w, target, c, depth + 1, nullable);
        }
        return;
    }
    const sy_json_t *alts = sy_json_get(v, "anyOf");
    if (!sy_json_is(alts, SY_JSON_ARRAY))
        alts = sy_json_get(v, "oneOf");
    if (sy_json_is(alts, SY_JSON_ARRAY) && sy_json_len(alts)) {
        write_alternatives(w, v, alts, c, depth, nullable);
        return;
    }
    const sy_json_t *all = sy_json_get(v, "allOf");
    if (sy_json_is(all, SY_JSON_ARRAY) && sy_json_len(all) == 1 &&
        sy_json_is(sy_json_index(all, 0), SY_JSON_OBJECT)) {
        write_keys(w, sy_json_index(all, 0), c, depth + 1, nullable);
        return;
    }

    const sy_json_t *props = sy_json_get(v, "properties");
    const sy_json_t *items = sy_json_get(v, "items");
    const sy_json_t *t = sy_json_get(v, "type");
    sy_str_t type = SY_STR("");
    if (sy_json_is(t, SY_JSON_STRING)) {
        type = sy_json_str(t);
    } else if (sy_json_is(t, SY_JSON_ARRAY)) {
        for (size_t i = 0; i < sy_json_len(t); i++) {
            sy_str_t s = sy_json_str(sy_json_index(t, i));
            if (sy_str_eq_c(s, "null"))
                nullable = true;
            else if (!type.len && s.len)
                type = s;
        }
    }
    if (!type.len && sy_json_is(props, SY_JSON_OBJECT))
        type = SY_STR("object");
    if (!type.len && items)
        type = SY_STR("array");
    if (sy_str_eq_c(type, "null")) {
        type = SY_STR("");
        nullable = true;
    }
    if (type.len) {
        sy_json_write_key(w, SY_STR("type"));
        sy_json_write_string(w, type);
    }
    const sy_json_t *nl = sy_json_get(v, "nullable");
    if (nullable || (nl && nl->type == SY_JSON_TRUE)) {
        sy_json_write_key(w, SY_STR("nullable"));
        sy_json_write_bool(w, true);
    }
    copy_str(w, v, "title");
    copy_str(w, v, "description");
    const sy_json_t *fmt = sy_json_get(v, "format");
    if (sy_json_is(fmt, SY_JSON_STRING) && format_allowed(type, sy_json_str(fmt))) {
        sy_json_write_key(w, SY_STR("format"));
        sy_json_write_value(w, fmt);
    }
    const sy_json_t *en = sy_json_get(v, "enum");
    const sy_json_t *cn = sy_json_get(v, "const");
    if (all_strings(en)) {
        sy_json_write_key(w, SY_STR("enum"));
        sy_json_write_value(w, en);
    } else if (sy_json_is(cn, SY_JSON_STRING)) {
        sy_json_write_key(w, SY_STR("enum"));
        sy_json_write_begin_array(w);
        sy_json_write_value(w, cn);
        sy_json_write_end_array(w);
    }
    static const char *const nums[] = {"minimum",   "maximum",   "minItems",      "maxItems",
                                       "minLength", "maxLength", "minProperties", "maxProperties"};
    for (size_t i = 0; i < SY_ARRAY_LEN(nums); i++)
        copy_num(w, v, nums[i]);
    copy_str(w, v, "pattern");

    if (sy_json_is(props, SY_JSON_OBJECT) && sy_json_len(props)) {
        sy_json_write_key(w, SY_STR("properties"));
        sy_json_write_begin_object(w);
        for (size_t i = 0; i < props->u.obj.len; i++) {
            sy_json_write_key(w, props->u.obj.items[i].key);
            write_schema(w, &props->u.obj.items[i].value, c, depth);
        }
        sy_json_write_end_object(w);
        const sy_json_t *req = sy_json_get(v, "required");
        size_t nreq = 0;
        for (size_t i = 0; i < sy_json_len(req); i++)
            if (sy_json_get_str(props, sy_json_str(sy_json_index(req, i))))
                nreq++;
        if (nreq) {
            sy_json_write_key(w, SY_STR("required"));
            sy_json_write_begin_array(w);
            for (size_t i = 0; i < sy_json_len(req); i++) {
                const sy_json_t *r = sy_json_index(req, i);
                if (sy_json_get_str(props, sy_json_str(r)))
                    sy_json_write_value(w, r);
            }
            sy_json_write_end_array(w);
        }
    }
    if (sy_json_is(items, SY_JSON_ARRAY))
        items = sy_json_index(items, 0);
    if (sy_json_is(items, SY_JSON_OBJECT)) {
        sy_json_write_key(w, SY_STR("items"));
        write_schema(w, items, c, depth);
    }
}

void sy_gemini_write_schema(sy_json_writer_t *w, const sy_json_t *schema)
{
    schema_ctx_t c = {schema, 0};
    write_schema(w, schema, &c, 0);
}

bool sy_gemini_schema_is_empty_object(const sy_json_t *schema)
{
    if (!sy_json_is(schema, SY_JSON_OBJECT))
        return true;
    if (sy_json_get(schema, "$ref") || sy_json_get(schema, "anyOf") || sy_json_get(schema, "oneOf") ||
        sy_json_get(schema, "allOf"))
        return false;
    sy_str_t type = sy_json_str(sy_json_get(schema, "type"));
    if (type.len && !sy_str_eq_c(type, "object"))
        return false;
    return sy_json_len(sy_json_get(schema, "properties")) == 0;
}
