/*
 * openai.c - the OpenAI front door: POST /v1/chat/completions bodies into
 * the canonical request, validated the way OpenAI validates them.
 *
 * Error messages follow OpenAI's wording, which names the offending
 * parameter in quotes ("Invalid type for 'messages[1].content': expected
 * one of a string or array of objects, but got an integer instead."):
 * error_body() (openai_out.c) reads `param` and `code` back from it.
 *
 * Mapping choices (docs/internals/translation.md has the full list):
 *   - system and developer messages, wherever they stand, become the IR's
 *     system prompt, in order (the IR keeps system text apart from turns).
 *   - consecutive tool messages become one IR TOOL message with one
 *     TOOL_RESULT part each; each result also gets the tool's name from the
 *     assistant call it answers (Gemini needs it).
 *   - n > 1 is refused: the gateway serves one choice.
 *   - max_completion_tokens wins over max_tokens when both are sent.
 *   - unknown members are accepted and ignored (newer SDKs send members
 *     this version does not know; refusing them would break those clients).
 */
#include "api/openai.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/fmt.h"

/* OpenAI's own limits, enforced as OpenAI enforces them. */
#define OPENAI_MAX_STOP 4
#define OPENAI_MAX_TOOL_NAME 64

typedef struct {
    sy_arena_t *a;
    int *status;
    const char **message;
} pctx_t;

static int perr(pctx_t *p, const char *fmt, ...) SY_PRINTF(2, 3);

static int perr(pctx_t *p, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    sy_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    *p->status = 400;
    *p->message = sy_arena_strdup(p->a, buf);
    return SY_EINVAL;
}

/* OpenAI's names for JSON types in messages. */
static const char *tname(const sy_json_t *v)
{
    if (v == NULL)
        return "nothing";
    switch (v->type) {
    case SY_JSON_NULL:
        return "null";
    case SY_JSON_TRUE:
    case SY_JSON_FALSE:
        return "a boolean";
    case SY_JSON_NUMBER: {
        int64_t i;
        return sy_json_as_i64(v, &i) == SY_OK ? "an integer" : "a decimal";
    }
    case SY_JSON_STRING:
        return "a string";
    case SY_JSON_ARRAY:
        return "an array";
    case SY_JSON_OBJECT:
        return "an object";
    }
    return "a value";
}

static int bad_type(pctx_t *p, const char *path, const char *want, const sy_json_t *v)
{
    return perr(p, "Invalid type for '%s': expected %s, but got %s instead.", path, want, tname(v));
}

static int missing(pctx_t *p, const char *path)
{
    return perr(p, "Missing required parameter: '%s'.", path);
}

static bool present(const sy_json_t *v) { return v && v->type != SY_JSON_NULL; }

/* An optional string value (v NULL: the member is absent): absent or null
 * leaves *out alone. */
static int opt_str_v(pctx_t *p, const sy_json_t *v, const char *path, sy_str_t *out)
{
    if (!present(v))
        return SY_OK;
    if (v->type != SY_JSON_STRING)
        return bad_type(p, path, "a string", v);
    *out = v->u.str;
    return SY_OK;
}

/* The same for the member `key` of obj. */
static int opt_str(pctx_t *p, const sy_json_t *obj, const char *key, const char *path, sy_str_t *out)
{
    return opt_str_v(p, sy_json_get(obj, key), path, out);
}

/* The optional scalars below take the member's value (NULL when absent)
 * and its name for messages. */
static int opt_bool(pctx_t *p, const sy_json_t *v, const char *key, bool *out, bool *set)
{
    if (!present(v))
        return SY_OK;
    if (!sy_json_is_bool(v))
        return bad_type(p, key, "a boolean", v);
    *out = v->type == SY_JSON_TRUE;
    if (set)
        *set = true;
    return SY_OK;
}

/* An optional number within [lo, hi]. */
static int opt_number(pctx_t *p, const sy_json_t *v, const char *key, double lo, double hi,
                      double *out, bool *set)
{
    if (!present(v))
        return SY_OK;
    double d;
    if (v->type != SY_JSON_NUMBER || sy_json_as_double(v, &d) != SY_OK)
        return bad_type(p, key, "a number", v);
    if (d < lo)
        return perr(p,
                    "Invalid '%s': decimal below minimum value. Expected a value >= %g, but got "
                    "%.*s instead.",
                    key, lo, SY_STR_FMT(v->u.num));
    if (d > hi)
        return perr(p,
                    "Invalid '%s': decimal above maximum value. Expected a value <= %g, but got "
                    "%.*s instead.",
                    key, hi, SY_STR_FMT(v->u.num));
    *out = d;
    *set = true;
    return SY_OK;
}

/* An optional positive integer. */
static int opt_count(pctx_t *p, const sy_json_t *v, const char *key, uint64_t *out, bool *set)
{
    if (!present(v))
        return SY_OK;
    int64_t i;
    int rc = v->type == SY_JSON_NUMBER ? sy_json_as_i64(v, &i) : SY_EINVAL;
    if (rc == SY_ETOOBIG)
        return perr(p, "Invalid '%s': integer above maximum value.", key);
    if (rc != SY_OK)
        return bad_type(p, key, "an integer", v);
    if (i < 1)
        return perr(p,
                    "Invalid '%s': integer below minimum value. Expected a value >= 1, but got "
                    "%lld instead.",
                    key, (long long)i);
    *out = (uint64_t)i;
    if (set)
        *set = true;
    return SY_OK;
}

/* ---------------------------------------------------------- content --- */

/* Split a base64 data: URL into media type and data; false otherwise. */
static bool data_url(sy_str_t url, sy_str_t *media, sy_str_t *data)
{
    if (!sy_str_starts_with(url, SY_STR("data:")))
        return false;
    ptrdiff_t comma = sy_str_find_char(url, ',');
    if (comma < 0)
        return false;
    sy_str_t head = sy_str_sub(url, 5, (size_t)comma - 5);
    if (!sy_str_ends_with(head, SY_STR(";base64")))
        return false;
    head.len -= 7;
    ptrdiff_t semi = sy_str_find_char(head, ';');
    *media = semi < 0 ? head : sy_str_sub(head, 0, (size_t)semi);
    *data = sy_str_sub(url, (size_t)comma + 1, url.len);
    return true;
}

/* Content parts kinds a role accepts. */
#define ALLOW_TEXT 0x1u
#define ALLOW_IMAGE 0x2u
#define ALLOW_REFUSAL 0x4u

/* message content: a string, or an array of typed parts. Appends TEXT (and
 * IMAGE) parts to parts[*n] (room for max(1, len) parts). */
static int parse_content(pctx_t *p, const sy_json_t *c, const char *path, unsigned allow,
                         sy_ir_part_t *parts, size_t *n)
{
    if (c->type == SY_JSON_STRING) {
        sy_ir_part_t *t = &parts[(*n)++];
        memset(t, 0, sizeof(*t));
        t->kind = SY_IR_TEXT;
        t->text = c->u.str;
        return SY_OK;
    }
    if (c->type != SY_JSON_ARRAY)
        return bad_type(p, path, "one of a string or array of objects", c);
    for (size_t i = 0; i < sy_json_len(c); i++) {
        const sy_json_t *e = sy_json_index(c, i);
        char ep[256];
        sy_snprintf(ep, sizeof(ep), "%s[%zu]", path, i);
        if (!sy_json_is(e, SY_JSON_OBJECT))
            return bad_type(p, ep, "an object", e);
        char tp[300];
        sy_snprintf(tp, sizeof(tp), "%s.type", ep);
        const sy_json_t *type = sy_json_get(e, "type");
        if (!present(type))
            return missing(p, tp);
        if (type->type != SY_JSON_STRING)
            return bad_type(p, tp, "a string", type);
        sy_ir_part_t *t = &parts[*n];
        memset(t, 0, sizeof(*t));
        sy_str_t ty = type->u.str;
        if (sy_str_eq_c(ty, "text") || (sy_str_eq_c(ty, "refusal") && (allow & ALLOW_REFUSAL))) {
            const char *key = sy_str_eq_c(ty, "text") ? "text" : "refusal";
            const sy_json_t *tx = sy_json_get(e, key);
            char xp[320];
            sy_snprintf(xp, sizeof(xp), "%s.%s", ep, key);
            if (!present(tx))
                return missing(p, xp);
            if (tx->type != SY_JSON_STRING)
                return bad_type(p, xp, "a string", tx);
            t->kind = SY_IR_TEXT;
            t->text = tx->u.str;
        } else if (sy_str_eq_c(ty, "image_url") && (allow & ALLOW_IMAGE)) {
            const sy_json_t *iu = sy_json_get(e, "image_url");
            char xp[320];
            sy_snprintf(xp, sizeof(xp), "%s.image_url", ep);
            sy_str_t url = SY_STR_NULL;
            if (!present(iu))
                return missing(p, xp);
            if (iu->type == SY_JSON_STRING)
                url = iu->u.str; /* an older, still-seen shorthand */
            else if (iu->type == SY_JSON_OBJECT) {
                char up[340];
                sy_snprintf(up, sizeof(up), "%s.url", xp);
                const sy_json_t *u = sy_json_get(iu, "url");
                if (!present(u))
                    return missing(p, up);
                if (u->type != SY_JSON_STRING)
                    return bad_type(p, up, "a string", u);
                url = u->u.str;
                sy_snprintf(up, sizeof(up), "%s.detail", xp);
                if (opt_str(p, iu, "detail", up, &t->image.detail) != SY_OK)
                    return SY_EINVAL;
                if (t->image.detail.len && !sy_str_eq_c(t->image.detail, "auto") &&
                    !sy_str_eq_c(t->image.detail, "low") && !sy_str_eq_c(t->image.detail, "high"))
                    return perr(p,
                                "Invalid value for '%s': '%.*s'. Supported values are: 'auto', "
                                "'low', and 'high'.",
                                up, SY_STR_FMT(t->image.detail));
            } else
                return bad_type(p, xp, "an object", iu);
            t->kind = SY_IR_IMAGE;
            if (!data_url(url, &t->image.media_type, &t->image.data))
                t->image.url = url;
        } else {
            const char *allowed = (allow & ALLOW_IMAGE)     ? "'text' and 'image_url'"
                                  : (allow & ALLOW_REFUSAL) ? "'text' and 'refusal'"
                                                            : "'text'";
            if (sy_str_eq_c(ty, "input_audio") || sy_str_eq_c(ty, "file"))
                return perr(p,
                            "Invalid value for '%s': '%.*s' content is not supported by this "
                            "gateway. Supported values are: %s.",
                            tp, SY_STR_FMT(ty), allowed);
            return perr(p, "Invalid value for '%s': '%.*s'. Supported values are: %s.", tp,
                        SY_STR_FMT(ty), allowed);
        }
        (*n)++;
    }
    return SY_OK;
}

/* ---------------------------------------------------------- messages --- */

typedef struct {
    sy_ir_part_t *sys;
    size_t nsys, syscap;
} sys_acc_t;

static void sys_add(sy_arena_t *a, sys_acc_t *s, const sy_ir_part_t *parts, size_t n)
{
    if (s->nsys + n > s->syscap) {
        size_t ncap = SY_MAX(s->syscap * 2, s->nsys + n + 2);
        s->sys = sy_arena_realloc(a, s->sys, s->syscap * sizeof(*s->sys), ncap * sizeof(*s->sys));
        s->syscap = ncap;
    }
    memcpy(s->sys + s->nsys, parts, n * sizeof(*parts));
    s->nsys += n;
}

static int parse_tool_calls(pctx_t *p, const sy_json_t *tcs, const char *mp, sy_ir_part_t *parts,
                            size_t *n)
{
    char path[256];
    sy_snprintf(path, sizeof(path), "%s.tool_calls", mp);
    if (tcs->type != SY_JSON_ARRAY)
        return bad_type(p, path, "an array", tcs);
    for (size_t i = 0; i < sy_json_len(tcs); i++) {
        const sy_json_t *tc = sy_json_index(tcs, i);
        char tp[300], fp[340];
        sy_snprintf(tp, sizeof(tp), "%s[%zu]", path, i);
        if (!sy_json_is(tc, SY_JSON_OBJECT))
            return bad_type(p, tp, "an object", tc);
        sy_ir_part_t *t = &parts[*n];
        memset(t, 0, sizeof(*t));
        t->kind = SY_IR_TOOL_CALL;
        sy_snprintf(fp, sizeof(fp), "%s.id", tp);
        const sy_json_t *id = sy_json_get(tc, "id");
        if (!present(id))
            return missing(p, fp);
        if (id->type != SY_JSON_STRING)
            return bad_type(p, fp, "a string", id);
        t->call_id = id->u.str;
        sy_snprintf(fp, sizeof(fp), "%s.type", tp);
        sy_str_t type = SY_STR("function");
        if (opt_str(p, tc, "type", fp, &type) != SY_OK)
            return SY_EINVAL;
        if (!sy_str_eq_c(type, "function"))
            return perr(p, "Invalid value for '%s': '%.*s'. Supported values are: 'function'.", fp,
                        SY_STR_FMT(type));
        sy_snprintf(fp, sizeof(fp), "%s.function", tp);
        const sy_json_t *fn = sy_json_get(tc, "function");
        if (!present(fn))
            return missing(p, fp);
        if (fn->type != SY_JSON_OBJECT)
            return bad_type(p, fp, "an object", fn);
        char np[380];
        sy_snprintf(np, sizeof(np), "%s.name", fp);
        const sy_json_t *name = sy_json_get(fn, "name");
        if (!present(name))
            return missing(p, np);
        if (name->type != SY_JSON_STRING)
            return bad_type(p, np, "a string", name);
        t->name = name->u.str;
        sy_snprintf(np, sizeof(np), "%s.arguments", fp);
        const sy_json_t *args = sy_json_get(fn, "arguments");
        if (!present(args))
            return missing(p, np);
        if (args->type != SY_JSON_STRING)
            return bad_type(p, np, "a string", args);
        t->arguments = args->u.str;
        (*n)++;
    }
    return SY_OK;
}

/* The name of the tool an earlier assistant call with this id asked for. */
static sy_str_t call_name(const sy_ir_request_t *r, sy_str_t id)
{
    for (size_t i = r->nmessages; i-- > 0;) {
        const sy_ir_message_t *m = &r->messages[i];
        if (m->role != SY_IR_ASSISTANT)
            continue;
        for (size_t j = 0; j < m->nparts; j++)
            if (m->parts[j].kind == SY_IR_TOOL_CALL && sy_str_eq(m->parts[j].call_id, id))
                return m->parts[j].name;
    }
    return SY_STR("");
}

/* k is the literal `lit` (whose length the caller's switch has matched). */
#define KEY_IS(k, lit) (memcmp((k).p, lit, sizeof(lit) - 1) == 0)

/* The members of a message the front door reads, found in one pass (the
 * last of a repeated key wins, as with sy_json_get). */
typedef struct {
    const sy_json_t *role, *content, *name, *tool_calls, *tool_call_id;
} msg_fields_t;

static void msg_fields(const sy_json_t *m, msg_fields_t *f)
{
    memset(f, 0, sizeof(*f));
    for (uint32_t i = 0; i < m->u.obj.len; i++) {
        const sy_json_member_t *mb = &m->u.obj.items[i];
        sy_str_t k = mb->key;
        if (k.len == 4 && KEY_IS(k, "role"))
            f->role = &mb->value;
        else if (k.len == 7 && KEY_IS(k, "content"))
            f->content = &mb->value;
        else if (k.len == 4 && KEY_IS(k, "name"))
            f->name = &mb->value;
        else if (k.len == 10 && KEY_IS(k, "tool_calls"))
            f->tool_calls = &mb->value;
        else if (k.len == 12 && KEY_IS(k, "tool_call_id"))
            f->tool_call_id = &mb->value;
    }
}

/* dst = a then b, cut to fit (a field path: cheaper than a formatted print,
 * and built for every message whether or not an error names it). */
static void path_cat(char *dst, size_t cap, const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    na = SY_MIN(na, cap - 1);
    nb = SY_MIN(nb, cap - 1 - na);
    memcpy(dst, a, na);
    memcpy(dst + na, b, nb);
    dst[na + nb] = '\0';
}

/* "messages[i]" into mp, the base of a message's field paths: built where
 * a path is used (an error, a content that is not a string, tool calls),
 * not for every message. */
static const char *msg_path(char *mp, size_t cap, size_t i)
{
    char num[24];
    size_t nl = sy_fmt_u64(num, i);
    num[nl] = ']';
    num[nl + 1] = '\0';
    path_cat(mp, cap, "messages[", num);
    return mp;
}

static int parse_messages(pctx_t *p, const sy_json_t *msgs, sy_ir_request_t *r)
{
    sy_arena_t *a = p->a;
    if (!present(msgs))
        return missing(p, "messages");
    if (msgs->type != SY_JSON_ARRAY)
        return bad_type(p, "messages", "an array", msgs);
    size_t n = sy_json_len(msgs);
    if (n == 0)
        return perr(p, "Invalid 'messages': empty array. Expected an array with minimum length 1, "
                       "but got an empty array instead.");
    r->messages = sy_arena_calloc(a, n * sizeof(*r->messages));
    sys_acc_t sys = {0};
    for (size_t i = 0; i < n; i++) {
        const sy_json_t *m = sy_json_index(msgs, i);
        char mp[64], fp[128];
        if (!sy_json_is(m, SY_JSON_OBJECT))
            return bad_type(p, msg_path(mp, sizeof(mp), i), "an object", m);
        msg_fields_t mf;
        msg_fields(m, &mf);
        const sy_json_t *role = mf.role;
        if (!present(role) || role->type != SY_JSON_STRING) {
            path_cat(fp, sizeof(fp), msg_path(mp, sizeof(mp), i), ".role");
            return present(role) ? bad_type(p, fp, "a string", role) : missing(p, fp);
        }
        sy_str_t rs = role->u.str;
        const sy_json_t *content = mf.content;
        /* The paths of the content and the name, built only when an error
         * could name them (a string content or name never is). */
        if (present(content) && content->type == SY_JSON_STRING)
            fp[0] = '\0';
        else
            path_cat(fp, sizeof(fp), msg_path(mp, sizeof(mp), i), ".content");
        sy_str_t name = SY_STR_NULL;
        if (present(mf.name) && mf.name->type != SY_JSON_STRING) {
            char np[128];
            path_cat(np, sizeof(np), msg_path(mp, sizeof(mp), i), ".name");
            return bad_type(p, np, "a string", mf.name);
        }
        if (present(mf.name))
            name = mf.name->u.str;
        size_t cap = 1 + sy_json_len(content) + sy_json_len(mf.tool_calls);
        sy_ir_part_t *parts = sy_arena_calloc(a, cap * sizeof(*parts));
        size_t np_ = 0;

        if (sy_str_eq_c(rs, "system") || sy_str_eq_c(rs, "developer")) {
            if (!present(content))
                return missing(p, fp);
            if (parse_content(p, content, fp, ALLOW_TEXT, parts, &np_) != SY_OK)
                return SY_EINVAL;
            sys_add(a, &sys, parts, np_);
            continue;
        }
        sy_ir_message_t *im = &r->messages[r->nmessages];
        im->name = name;
        if (sy_str_eq_c(rs, "user")) {
            if (!present(content))
                return missing(p, fp);
            if (parse_content(p, content, fp, ALLOW_TEXT | ALLOW_IMAGE, parts, &np_) != SY_OK)
                return SY_EINVAL;
            im->role = SY_IR_USER;
        } else if (sy_str_eq_c(rs, "assistant")) {
            if (present(content) &&
                parse_content(p, content, fp, ALLOW_TEXT | ALLOW_REFUSAL, parts, &np_) != SY_OK)
                return SY_EINVAL;
            const sy_json_t *tcs = mf.tool_calls;
            if (present(tcs) && parse_tool_calls(p, tcs, msg_path(mp, sizeof(mp), i), parts, &np_) != SY_OK)
                return SY_EINVAL;
            im->role = SY_IR_ASSISTANT;
        } else if (sy_str_eq_c(rs, "tool")) {
            char ip[128];
            sy_snprintf(ip, sizeof(ip), "%s.tool_call_id", msg_path(mp, sizeof(mp), i));
            const sy_json_t *id = mf.tool_call_id;
            if (!present(id))
                return missing(p, ip);
            if (id->type != SY_JSON_STRING)
                return bad_type(p, ip, "a string", id);
            if (!present(content))
                return missing(p, fp);
            sy_ir_part_t *inner = sy_arena_calloc(a, SY_MAX(1, sy_json_len(content)) * sizeof(*inner));
            size_t ninner = 0;
            if (parse_content(p, content, fp, ALLOW_TEXT, inner, &ninner) != SY_OK)
                return SY_EINVAL;
            sy_ir_part_t res;
            memset(&res, 0, sizeof(res));
            res.kind = SY_IR_TOOL_RESULT;
            res.call_id = id->u.str;
            res.name = call_name(r, id->u.str);
            res.content = inner;
            res.ncontent = ninner;
            /* consecutive tool messages: one IR message, one part each */
            if (r->nmessages && r->messages[r->nmessages - 1].role == SY_IR_TOOL) {
                sy_ir_message_t *prev = &r->messages[r->nmessages - 1];
                sy_ir_part_t *grown = sy_arena_alloc(a, (prev->nparts + 1) * sizeof(*grown));
                memcpy(grown, prev->parts, prev->nparts * sizeof(*grown));
                grown[prev->nparts++] = res;
                prev->parts = grown;
                continue;
            }
            parts[np_++] = res;
            im->role = SY_IR_TOOL;
            im->name = SY_STR_NULL;
        } else if (sy_str_eq_c(rs, "function")) {
            return perr(p,
                        "Invalid value for '%s.role': 'function' messages are deprecated and not "
                        "supported by this gateway; use 'tool' messages.",
                        msg_path(mp, sizeof(mp), i));
        } else {
            return perr(p,
                        "Invalid value for '%s.role': '%.*s'. Supported values are: 'system', "
                        "'assistant', 'user', 'function', 'tool', and 'developer'.",
                        msg_path(mp, sizeof(mp), i), SY_STR_FMT(rs));
        }
        im->parts = parts;
        im->nparts = np_;
        r->nmessages++;
    }
    r->system = sys.sys;
    r->nsystem = sys.nsys;
    return SY_OK;
}

/* ------------------------------------------------------- tools, format --- */

static bool valid_name(sy_str_t s)
{
    if (s.len == 0 || s.len > OPENAI_MAX_TOOL_NAME)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int parse_tools(pctx_t *p, const sy_json_t *tools, sy_ir_request_t *r)
{
    if (!present(tools))
        return SY_OK;
    if (tools->type != SY_JSON_ARRAY)
        return bad_type(p, "tools", "an array", tools);
    size_t n = sy_json_len(tools);
    r->tools = sy_arena_calloc(p->a, SY_MAX(1, n) * sizeof(*r->tools));
    for (size_t i = 0; i < n; i++) {
        const sy_json_t *t = sy_json_index(tools, i);
        char tp[64], fp[128];
        sy_snprintf(tp, sizeof(tp), "tools[%zu]", i);
        if (!sy_json_is(t, SY_JSON_OBJECT))
            return bad_type(p, tp, "an object", t);
        sy_snprintf(fp, sizeof(fp), "%s.type", tp);
        const sy_json_t *type = sy_json_get(t, "type");
        if (!present(type))
            return missing(p, fp);
        if (type->type != SY_JSON_STRING)
            return bad_type(p, fp, "a string", type);
        if (!sy_str_eq_c(type->u.str, "function"))
            return perr(p,
                        "Invalid value for '%s': '%.*s'. Supported values are: 'function' (custom "
                        "tools are not supported by this gateway).",
                        fp, SY_STR_FMT(type->u.str));
        sy_snprintf(fp, sizeof(fp), "%s.function", tp);
        const sy_json_t *fn = sy_json_get(t, "function");
        if (!present(fn))
            return missing(p, fp);
        if (fn->type != SY_JSON_OBJECT)
            return bad_type(p, fp, "an object", fn);
        sy_ir_tool_t *it = &r->tools[r->ntools];
        char np[160];
        sy_snprintf(np, sizeof(np), "%s.name", fp);
        const sy_json_t *name = sy_json_get(fn, "name");
        if (!present(name))
            return missing(p, np);
        if (name->type != SY_JSON_STRING)
            return bad_type(p, np, "a string", name);
        if (!valid_name(name->u.str))
            return perr(p,
                        "Invalid '%s': string does not match pattern. Expected a string that "
                        "matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.",
                        np);
        it->name = name->u.str;
        sy_snprintf(np, sizeof(np), "%s.description", fp);
        if (opt_str(p, fn, "description", np, &it->description) != SY_OK)
            return SY_EINVAL;
        const sy_json_t *params = sy_json_get(fn, "parameters");
        if (present(params)) {
            sy_snprintf(np, sizeof(np), "%s.parameters", fp);
            if (params->type != SY_JSON_OBJECT)
                return bad_type(p, np, "an object", params);
            it->parameters = params;
        }
        const sy_json_t *strict = sy_json_get(fn, "strict");
        if (present(strict)) {
            sy_snprintf(np, sizeof(np), "%s.strict", fp);
            if (!sy_json_is_bool(strict))
                return bad_type(p, np, "a boolean", strict);
            it->strict = strict->type == SY_JSON_TRUE;
        }
        r->ntools++;
    }
    return SY_OK;
}

static int parse_tool_choice(pctx_t *p, const sy_json_t *tc, sy_ir_request_t *r)
{
    if (!present(tc))
        return SY_OK;
    if (tc->type == SY_JSON_STRING) {
        if (sy_str_eq_c(tc->u.str, "auto"))
            r->tool_choice = SY_IR_TOOL_CHOICE_AUTO;
        else if (sy_str_eq_c(tc->u.str, "none"))
            r->tool_choice = SY_IR_TOOL_CHOICE_NONE;
        else if (sy_str_eq_c(tc->u.str, "required"))
            r->tool_choice = SY_IR_TOOL_CHOICE_REQUIRED;
        else
            return perr(p,
                        "Invalid value for 'tool_choice': '%.*s'. Supported values are: 'none', "
                        "'auto', and 'required'.",
                        SY_STR_FMT(tc->u.str));
        return SY_OK;
    }
    if (tc->type != SY_JSON_OBJECT)
        return bad_type(p, "tool_choice", "one of a string or object", tc);
    sy_str_t type = SY_STR_NULL;
    if (opt_str(p, tc, "type", "tool_choice.type", &type) != SY_OK)
        return SY_EINVAL;
    if (type.p == NULL)
        return missing(p, "tool_choice.type");
    if (!sy_str_eq_c(type, "function"))
        return perr(p,
                    "Invalid value for 'tool_choice.type': '%.*s'. Supported values are: "
                    "'function'.",
                    SY_STR_FMT(type));
    const sy_json_t *fn = sy_json_get(tc, "function");
    if (!present(fn))
        return missing(p, "tool_choice.function");
    if (fn->type != SY_JSON_OBJECT)
        return bad_type(p, "tool_choice.function", "an object", fn);
    sy_str_t name = SY_STR_NULL;
    if (opt_str(p, fn, "name", "tool_choice.function.name", &name) != SY_OK)
        return SY_EINVAL;
    if (name.p == NULL)
        return missing(p, "tool_choice.function.name");
    r->tool_choice = SY_IR_TOOL_CHOICE_NAMED;
    r->tool_choice_name = name;
    return SY_OK;
}

static int parse_response_format(pctx_t *p, const sy_json_t *rf, sy_ir_request_t *r)
{
    if (!present(rf))
        return SY_OK;
    if (rf->type != SY_JSON_OBJECT)
        return bad_type(p, "response_format", "an object", rf);
    sy_str_t type = SY_STR_NULL;
    if (opt_str(p, rf, "type", "response_format.type", &type) != SY_OK)
        return SY_EINVAL;
    if (type.p == NULL)
        return missing(p, "response_format.type");
    if (sy_str_eq_c(type, "text"))
        return SY_OK;
    if (sy_str_eq_c(type, "json_object")) {
        r->format = SY_IR_FORMAT_JSON_OBJECT;
        return SY_OK;
    }
    if (!sy_str_eq_c(type, "json_schema"))
        return perr(p,
                    "Invalid value for 'response_format.type': '%.*s'. Supported values are: "
                    "'text', 'json_object', and 'json_schema'.",
                    SY_STR_FMT(type));
    const sy_json_t *js = sy_json_get(rf, "json_schema");
    if (!present(js))
        return missing(p, "response_format.json_schema");
    if (js->type != SY_JSON_OBJECT)
        return bad_type(p, "response_format.json_schema", "an object", js);
    sy_str_t name = SY_STR_NULL;
    if (opt_str(p, js, "name", "response_format.json_schema.name", &name) != SY_OK)
        return SY_EINVAL;
    if (name.p == NULL)
        return missing(p, "response_format.json_schema.name");
    if (!valid_name(name))
        return perr(p,
                    "Invalid 'response_format.json_schema.name': string does not match pattern. "
                    "Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.");
    const sy_json_t *schema = sy_json_get(js, "schema");
    if (present(schema) && schema->type != SY_JSON_OBJECT)
        return bad_type(p, "response_format.json_schema.schema", "an object", schema);
    const sy_json_t *strict = sy_json_get(js, "strict");
    if (present(strict)) {
        if (!sy_json_is_bool(strict))
            return bad_type(p, "response_format.json_schema.strict", "a boolean", strict);
        r->schema_strict = strict->type == SY_JSON_TRUE;
    }
    r->format = SY_IR_FORMAT_JSON_SCHEMA;
    r->schema_name = name;
    r->schema = present(schema) ? schema : NULL;
    return SY_OK;
}

static int parse_stop(pctx_t *p, const sy_json_t *s, sy_ir_request_t *r)
{
    if (!present(s))
        return SY_OK;
    if (s->type == SY_JSON_STRING) {
        if (s->u.str.len)
            r->stop[r->nstop++] = s->u.str;
        return SY_OK;
    }
    if (s->type != SY_JSON_ARRAY)
        return bad_type(p, "stop", "one of a string or array of strings", s);
    size_t n = sy_json_len(s);
    if (n > OPENAI_MAX_STOP)
        return perr(p,
                    "Invalid 'stop': array too long. Expected an array with maximum length %d, "
                    "but got an array with length %zu instead.",
                    OPENAI_MAX_STOP, n);
    for (size_t i = 0; i < n; i++) {
        const sy_json_t *e = sy_json_index(s, i);
        char sp[32];
        sy_snprintf(sp, sizeof(sp), "stop[%zu]", i);
        if (!sy_json_is(e, SY_JSON_STRING))
            return bad_type(p, sp, "a string", e);
        if (e->u.str.len)
            r->stop[r->nstop++] = e->u.str;
    }
    return SY_OK;
}

static int parse_effort(pctx_t *p, const sy_json_t *e, sy_ir_request_t *r)
{
    if (!present(e))
        return SY_OK;
    if (e->type != SY_JSON_STRING)
        return bad_type(p, "reasoning_effort", "a string", e);
    sy_str_t s = e->u.str;
    if (sy_str_eq_c(s, "minimal") || sy_str_eq_c(s, "none"))
        r->effort = SY_IR_EFFORT_MINIMAL; /* the IR has no "none": the least there is */
    else if (sy_str_eq_c(s, "low"))
        r->effort = SY_IR_EFFORT_LOW;
    else if (sy_str_eq_c(s, "medium"))
        r->effort = SY_IR_EFFORT_MEDIUM;
    else if (sy_str_eq_c(s, "high"))
        r->effort = SY_IR_EFFORT_HIGH;
    else
        return perr(p,
                    "Invalid value for 'reasoning_effort': '%.*s'. Supported values are: "
                    "'minimal', 'low', 'medium', and 'high'.",
                    SY_STR_FMT(s));
    return SY_OK;
}

/* ------------------------------------------------------------- parse --- */

/* The body members the front door reads. They are found in one pass over
 * the body's members instead of one lookup each (most are absent from a
 * given request, and each lookup would walk every member); a repeated key
 * keeps its last value, as sy_json_get does. */
enum {
    F_MODEL,
    F_MESSAGES,
    F_N,
    F_STREAM,
    F_STREAM_OPTIONS,
    F_TOOLS,
    F_TOOL_CHOICE,
    F_RESPONSE_FORMAT,
    F_STOP,
    F_REASONING_EFFORT,
    F_PARALLEL_TOOL_CALLS,
    F_TEMPERATURE,
    F_TOP_P,
    F_PRESENCE_PENALTY,
    F_FREQUENCY_PENALTY,
    F_SEED,
    F_MAX_TOKENS,
    F_MAX_COMPLETION_TOKENS,
    F_USER,
    F_COUNT
};

static int field_of(sy_str_t k)
{
    switch (k.len) {
    case 1:
        return k.p[0] == 'n' ? F_N : -1;
    case 4:
        return KEY_IS(k, "stop") ? F_STOP
               : KEY_IS(k, "seed") ? F_SEED
               : KEY_IS(k, "user") ? F_USER
                                   : -1;
    case 5:
        return KEY_IS(k, "model") ? F_MODEL
               : KEY_IS(k, "tools") ? F_TOOLS
               : KEY_IS(k, "top_p") ? F_TOP_P
                                    : -1;
    case 6:
        return KEY_IS(k, "stream") ? F_STREAM : -1;
    case 8:
        return KEY_IS(k, "messages") ? F_MESSAGES : -1;
    case 10:
        return KEY_IS(k, "max_tokens") ? F_MAX_TOKENS : -1;
    case 11:
        return KEY_IS(k, "temperature") ? F_TEMPERATURE
               : KEY_IS(k, "tool_choice") ? F_TOOL_CHOICE
                                          : -1;
    case 14:
        return KEY_IS(k, "stream_options") ? F_STREAM_OPTIONS : -1;
    case 15:
        return KEY_IS(k, "response_format") ? F_RESPONSE_FORMAT : -1;
    case 16:
        return KEY_IS(k, "reasoning_effort") ? F_REASONING_EFFORT
               : KEY_IS(k, "presence_penalty") ? F_PRESENCE_PENALTY
                                               : -1;
    case 17:
        return KEY_IS(k, "frequency_penalty") ? F_FREQUENCY_PENALTY : -1;
    case 19:
        return KEY_IS(k, "parallel_tool_calls") ? F_PARALLEL_TOOL_CALLS : -1;
    case 21:
        return KEY_IS(k, "max_completion_tokens") ? F_MAX_COMPLETION_TOKENS : -1;
    default:
        return -1;
    }
}

int sy_openai_fd_parse(sy_arena_t *a, sy_str_t body, sy_ir_request_t *r, int *status,
                       const char **message)
{
    pctx_t pc = {a, status, message};
    pctx_t *p = &pc;
    memset(r, 0, sizeof(*r));
    r->parallel_tool_calls = -1;
    sy_json_t *root = NULL;
    sy_json_error_t je;
    int rc = sy_json_parse(a, body.p ? body.p : "", body.len, NULL, &root, &je);
    if (rc != SY_OK)
        return perr(p,
                    "We could not parse the JSON body of your request. (HINT: This likely means "
                    "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                    "payload, but what was sent was not valid JSON: %s at line %zu, column %zu.)",
                    je.msg ? je.msg : "malformed", je.line, je.col);
    if (root->type != SY_JSON_OBJECT)
        return perr(p, "Invalid type for request body: expected an object, but got %s instead.",
                    tname(root));

    const sy_json_t *f[F_COUNT] = {NULL};
    for (uint32_t i = 0; i < root->u.obj.len; i++) {
        const sy_json_member_t *mb = &root->u.obj.items[i];
        int k = field_of(mb->key);
        if (k >= 0)
            f[k] = &mb->value;
    }

    const sy_json_t *model = f[F_MODEL];
    if (!present(model) || (model->type == SY_JSON_STRING && model->u.str.len == 0))
        return perr(p, "you must provide a model parameter");
    if (model->type != SY_JSON_STRING)
        return bad_type(p, "model", "a string", model);
    r->model = model->u.str;

    if (parse_messages(p, f[F_MESSAGES], r) != SY_OK)
        return SY_EINVAL;

    uint64_t n = 1;
    if (opt_count(p, f[F_N], "n", &n, NULL) != SY_OK)
        return SY_EINVAL;
    if (n > 1)
        return perr(p, "Invalid value for 'n': n > 1 is not supported by this gateway; send one "
                       "request per choice.");

    bool set = false, b = false;
    if (opt_bool(p, f[F_STREAM], "stream", &b, NULL) != SY_OK)
        return SY_EINVAL;
    r->stream = b;
    const sy_json_t *so = f[F_STREAM_OPTIONS];
    if (present(so)) {
        if (so->type != SY_JSON_OBJECT)
            return bad_type(p, "stream_options", "an object", so);
        if (!r->stream)
            return perr(p, "The 'stream_options' parameter is only allowed when 'stream' is "
                           "enabled.");
        const sy_json_t *iu = sy_json_get(so, "include_usage");
        if (present(iu)) {
            if (!sy_json_is_bool(iu))
                return bad_type(p, "stream_options.include_usage", "a boolean", iu);
            r->include_usage = iu->type == SY_JSON_TRUE;
        }
    }

    if (parse_tools(p, f[F_TOOLS], r) != SY_OK ||
        parse_tool_choice(p, f[F_TOOL_CHOICE], r) != SY_OK ||
        parse_response_format(p, f[F_RESPONSE_FORMAT], r) != SY_OK ||
        parse_stop(p, f[F_STOP], r) != SY_OK || parse_effort(p, f[F_REASONING_EFFORT], r) != SY_OK)
        return SY_EINVAL;
    if (opt_bool(p, f[F_PARALLEL_TOOL_CALLS], "parallel_tool_calls", &b, &set) != SY_OK)
        return SY_EINVAL;
    if (set)
        r->parallel_tool_calls = b ? 1 : 0;

    if (opt_number(p, f[F_TEMPERATURE], "temperature", 0, 2, &r->temperature,
                   &r->has_temperature) != SY_OK ||
        opt_number(p, f[F_TOP_P], "top_p", 0, 1, &r->top_p, &r->has_top_p) != SY_OK ||
        opt_number(p, f[F_PRESENCE_PENALTY], "presence_penalty", -2, 2, &r->presence_penalty,
                   &r->has_presence) != SY_OK ||
        opt_number(p, f[F_FREQUENCY_PENALTY], "frequency_penalty", -2, 2, &r->frequency_penalty,
                   &r->has_frequency) != SY_OK)
        return SY_EINVAL;
    const sy_json_t *seed = f[F_SEED];
    if (present(seed)) {
        if (seed->type != SY_JSON_NUMBER || sy_json_as_i64(seed, &r->seed) != SY_OK)
            return bad_type(p, "seed", "an integer", seed);
        r->has_seed = true;
    }
    uint64_t mt = 0;
    if (opt_count(p, f[F_MAX_TOKENS], "max_tokens", &mt, NULL) != SY_OK ||
        opt_count(p, f[F_MAX_COMPLETION_TOKENS], "max_completion_tokens", &mt, NULL) != SY_OK)
        return SY_EINVAL;
    r->max_tokens = mt;
    if (opt_str_v(p, f[F_USER], "user", &r->user) != SY_OK)
        return SY_EINVAL;
    return SY_OK;
}

/* ------------------------------------------------------------ vtable --- */

const sy_frontdoor_vt_t sy_frontdoor_openai = {
    .name = "openai",
    .format = SY_FORMAT_OPENAI,
    .parse = sy_openai_fd_parse,
    .respond = sy_openai_fd_respond,
    .stream_new = sy_openai_fd_stream_new,
    .stream_event = sy_openai_fd_stream_event,
    .error_body = sy_openai_fd_error_body,
};
