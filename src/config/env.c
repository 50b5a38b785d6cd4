/*
 * env.c - ${ENV} expansion in configuration values.
 *
 * Secrets and per-host settings stay out of the file: `api_key:
 * ${OPENAI_API_KEY}`. The rules (stated in config.h, sy_cfg_expand) are the
 * shell's and docker compose's common subset: ${NAME}, ${NAME:-default}, and
 * "$${" for a literal "${". Keys are never expanded, and substituted text is
 * never expanded again, so a value from the environment cannot smuggle in a
 * reference to another variable.
 *
 * An unset ${NAME} is an error, not an empty string: a missing credential is
 * better found at load time than as a 401 from the provider. ${NAME:-} is the
 * explicit way to say "optional, empty if unset".
 */
#include "config/config.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

static bool name_start(char c)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

static const char *lookup(const sy_cfg_ctx_t *cx, const char *name)
{
    return cx->getenv_cb ? cx->getenv_cb(name) : getenv(name);
}

/* Expand one "${...}" whose '$' is at in.p[i]. On success appends to `b`,
 * sets *next past the '}' and returns SY_OK. */
static int expand_one(sy_cfg_ctx_t *cx, const sy_yaml_node_t *at, const char *path, sy_str_t in,
                      size_t i, sy_buf_t *b, size_t *next, bool *from_env)
{
    size_t start = i + 2, j = start;
    ptrdiff_t close = sy_str_find_char(sy_str_sub(in, start, in.len - start), '}');
    if (close < 0) {
        sy_cfg_error(cx, at, path, "unterminated \"${\" (write \"$${\" for a literal \"${\")");
        return SY_EINVAL;
    }
    size_t end = start + (size_t)close; /* index of '}' */
    sy_str_t whole = sy_str_sub(in, i, end + 1 - i);
    if (j < end && name_start(in.p[j]))
        while (j < end && name_char(in.p[j]))
            j++;
    if (j == start) {
        sy_cfg_error(cx, at, path,
                     "invalid variable name in %s (names are letters, digits and _, "
                     "not starting with a digit)",
                     sy_yaml_quote(cx->scratch, whole, 80));
        return SY_EINVAL;
    }
    bool has_default = false;
    sy_str_t def = SY_STR_NULL;
    if (j != end) {
        if (end - j < 2 || in.p[j] != ':' || in.p[j + 1] != '-') {
            sy_cfg_error(cx, at, path, "unsupported expansion %s: use ${NAME} or ${NAME:-default}",
                         sy_yaml_quote(cx->scratch, whole, 80));
            return SY_EINVAL;
        }
        has_default = true;
        def = sy_str_sub(in, j + 2, end - (j + 2));
    }
    char *name = sy_arena_memdup(cx->scratch, in.p + start, j - start);
    const char *val = lookup(cx, name);
    if (has_default && (val == NULL || val[0] == '\0')) {
        sy_buf_append_str(b, def);
    } else if (val == NULL) {
        sy_cfg_error(cx, at, path,
                     "environment variable %s is not set (write ${%s:-} to make it optional)", name,
                     name);
        return SY_EINVAL;
    } else {
        sy_buf_append_c(b, val);
        *from_env = true;
    }
    *next = end + 1;
    return SY_OK;
}

int sy_cfg_expand(sy_cfg_ctx_t *cx, const sy_yaml_node_t *at, const char *path, sy_str_t in,
                  sy_str_t *out, bool *from_env)
{
    *from_env = false;
    if (sy_str_find_char(in, '$') < 0) {
        *out = in;
        return SY_OK;
    }
    sy_buf_t b;
    sy_buf_init(&b, 0);
    int rc = SY_OK;
    size_t i = 0;
    while (i < in.len) {
        char c = in.p[i];
        if (c == '$' && i + 2 < in.len && in.p[i + 1] == '$' && in.p[i + 2] == '{') {
            sy_buf_append_c(&b, "${");
            i += 3;
        } else if (c == '$' && i + 1 < in.len && in.p[i + 1] == '{') {
            rc = expand_one(cx, at, path, in, i, &b, &i, from_env);
            if (rc)
                break;
        } else {
            sy_buf_append(&b, &in.p[i], 1);
            i++;
        }
    }
    if (rc == SY_OK)
        *out = sy_str(sy_arena_memdup(cx->scratch, sy_buf_ptr(&b), b.len), b.len);
    sy_buf_free(&b);
    return rc;
}

static int expand_node(sy_cfg_ctx_t *cx, sy_yaml_node_t *n, const char *path, size_t depth)
{
    int rc = SY_OK;
    if (n == NULL || depth > SY_YAML_MAX_DEPTH)
        return SY_OK;
    switch (n->kind) {
    case SY_YAML_SCALAR: {
        /* is_null stays as the raw text decided: a value with ${...} in
         * it was written, so it is never null, even if it expands to "". */
        if (sy_cfg_expand(cx, n, path, n->raw, &n->str, &n->from_env) != SY_OK)
            return SY_EINVAL;                     /* sy_cfg_error marked the node invalid */
        if (memchr(n->str.p, '\0', n->str.len)) { /* not possible from getenv; be sure */
            sy_cfg_error(cx, n, path, "NUL characters are not allowed in values");
            return SY_EINVAL;
        }
        break;
    }
    case SY_YAML_SEQ:
        for (size_t i = 0; i < n->len; i++)
            if (expand_node(cx, n->items[i], sy_cfg_path_index(cx, path, i), depth + 1))
                rc = SY_EINVAL;
        break;
    case SY_YAML_MAP:
        for (size_t i = 0; i < n->len; i++) {
            const char *p = sy_cfg_path_key(cx, path, n->pairs[i].key->raw);
            if (expand_node(cx, n->pairs[i].value, p, depth + 1))
                rc = SY_EINVAL;
        }
        break;
    }
    return rc;
}

int sy_cfg_expand_tree(sy_cfg_ctx_t *cx, sy_yaml_node_t *root)
{
    return expand_node(cx, root, "", 0);
}
