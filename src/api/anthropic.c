/*
 * anthropic.c - the Anthropic front door's request side: POST /v1/messages
 * (and /v1/messages/count_tokens) bodies into the canonical request.
 *
 * Validation follows the Messages API: what Anthropic rejects is rejected
 * here with a 400 invalid_request_error whose message names the field the
 * way Anthropic does ("max_tokens: Field required", "messages.0.role: Input
 * should be 'user' or 'assistant'"), so a client sees the same failure
 * whichever provider would have served it. The rules enforced:
 *   model and max_tokens (>= 1) required; messages a non-empty list; roles
 *   user/assistant only; the first message from the user; content a string
 *   or a list of blocks; no empty text blocks and no empty messages but a
 *   final assistant one; tool_use/thinking blocks only from the assistant,
 *   tool_result only from the user; every tool_result answers a tool_use of
 *   the previous assistant turn, every tool_use of a turn followed by a user
 *   turn is answered there, tool_use ids unique within a turn; image media
 *   types jpeg/png/gif/webp; thinking budget >= 1024 and below max_tokens;
 *   typed fields of the right JSON type.
 * Accepted but not carried into the IR (docs/internals/translation.md):
 * server tools (tools with a "type" such as web_search_20250305) and the
 * server-tool blocks of earlier assistant turns, citations, cache_control
 * on tool definitions and its ttl, container, mcp_servers, service_tier,
 * context_management, and unknown top-level fields (forward compatible).
 * Refused as unsupported because the IR cannot carry them and dropping them
 * would change the answer: document and search_result blocks, and image
 * sources of type "file".
 *
 * Views in the IR point into the parsed body or the arena (tool inputs are
 * re-serialized compactly into the arena).
 */
#include "api/anthropic.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fmt.h"

#include "providers/anthropic.h"

#define MIN_THINKING_BUDGET 1024
#define ECHO_MAX 64 /* bytes of a client value echoed into an error message */

typedef struct {
    sy_arena_t *a;
    int *status;
    const char **message;
    bool count_tokens;
} pctx_t;

static int bad(pctx_t *p, const char *fmt, ...) SY_PRINTF(2, 3);

static int bad(pctx_t *p, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    sy_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    *p->status = 400;
    *p->message = sy_arena_strdup(p->a, buf);
    return SY_EINVAL;
}

/* For "%.*s" of a client string in a message. */
#define ECHO(s) (int)SY_MIN((s).len, (size_t)ECHO_MAX), (s).p

/* ---------------------------------------------------------- typed reads --- */

/* Each returns SY_OK with the value, SY_ENOTFOUND when absent (or null
 * where null means absent), or SY_EINVAL after reporting the error for
 * `path`, which is a printf-ready field path. */
static int get_str(pctx_t *p, const sy_json_t *obj, const char *key, const char *path, sy_str_t *out)
{
    const sy_json_t *v = sy_json_get(obj, key);
    if (v == NULL)
        return SY_ENOTFOUND;
    if (v->type != SY_JSON_STRING)
        return bad(p, "%s: Input should be a valid string", path);
    *out = v->u.str;
    return SY_OK;
}

static int need_str(pctx_t *p, const sy_json_t *obj, const char *key, const char *path, sy_str_t *out)
{
    int rc = get_str(p, obj, key, path, out);
    return rc == SY_ENOTFOUND ? bad(p, "%s: Field required", path) : rc;
}

static int get_bool(pctx_t *p, const sy_json_t *obj, const char *key, const char *path, bool *out)
{
    const sy_json_t *v = sy_json_get(obj, key);
    if (v == NULL || v->type == SY_JSON_NULL)
        return SY_ENOTFOUND;
    if (sy_json_as_bool(v, out) != SY_OK)
        return bad(p, "%s: Input should be a valid boolean", path);
    return SY_OK;
}

static int get_number(pctx_t *p, const sy_json_t *obj, const char *key, double lo, double hi,
                      bool *has, double *out)
{
    const sy_json_t *v = sy_json_get(obj, key);
    if (v == NULL || v->type == SY_JSON_NULL)
        return SY_OK;
    if (v->type != SY_JSON_NUMBER || sy_json_as_double(v, out) != SY_OK)
        return bad(p, "%s: Input should be a valid number", key);
    if (*out < lo)
        return bad(p, "%s: Input should be greater than or equal to %g", key, lo);
    if (*out > hi)
        return bad(p, "%s: Input should be less than or equal to %g", key, hi);
    *has = true;
    return SY_OK;
}

static int get_uint(pctx_t *p, const sy_json_t *v, const char *path, uint64_t min, uint64_t *out)
{
    int64_t n;
    if (v->type != SY_JSON_NUMBER)
        return bad(p, "%s: Input should be a valid integer", path);
    int rc = sy_json_as_i64(v, &n);
    if (rc == SY_ETOOBIG)
        return bad(p, "%s: Input should be less than or equal to %lld", path, (long long)INT64_MAX);
    if (rc != SY_OK)
        return bad(p, "%s: Input should be a valid integer", path);
    if (n < (int64_t)min)
        return bad(p, "%s: Input should be greater than or equal to %llu", path, (unsigned long long)min);
    *out = (uint64_t)n;
    return SY_OK;
}

/* cache_control: {"type":"ephemeral","ttl":...} marks a cache breakpoint. */
static int get_cache(pctx_t *p, const sy_json_t *obj, const char *path, bool *out)
{
    const sy_json_t *v = sy_json_get(obj, "cache_control");
    if (v == NULL || v->type == SY_JSON_NULL)
        return SY_OK;
    if (v->type != SY_JSON_OBJECT)
        return bad(p, "%s.cache_control: Input should be a valid dictionary", path);
    sy_str_t t;
    char sub[128];
    sy_snprintf(sub, sizeof(sub), "%s.cache_control.type", path);
    int rc = need_str(p, v, "type", sub, &t);
    if (rc != SY_OK)
        return rc;
    if (!sy_str_eq_c(t, "ephemeral"))
        return bad(p, "%s: Input should be 'ephemeral'", sub);
    *out = true;
    return SY_OK;
}

/* Compact JSON text of v in the arena (tool inputs). */
static sy_str_t json_text(sy_arena_t *a, const sy_json_t *v)
{
    sy_buf_t b;
    sy_buf_init(&b, 0);
    if (sy_json_serialize(v, &b, 0) != SY_OK) {
        sy_buf_free(&b);
        return SY_STR("{}");
    }
    sy_str_t s = sy_str(sy_arena_memdup(a, sy_buf_ptr(&b), b.len), b.len);
    sy_buf_free(&b);
    return s;
}

/* --------------------------------------------------------------- blocks --- */

static int parse_image(pctx_t *p, const sy_json_t *b, const char *path, sy_ir_part_t *out)
{
    char sub[96];
    const sy_json_t *src = sy_json_get(b, "source");
    if (src == NULL)
        return bad(p, "%s.source: Field required", path);
    if (src->type != SY_JSON_OBJECT)
        return bad(p, "%s.source: Input should be a valid dictionary", path);
    sy_str_t t;
    sy_snprintf(sub, sizeof(sub), "%s.source.type", path);
    int rc = need_str(p, src, "type", sub, &t);
    if (rc != SY_OK)
        return rc;
    out->kind = SY_IR_IMAGE;
    if (sy_str_eq_c(t, "base64")) {
        sy_snprintf(sub, sizeof(sub), "%s.source.media_type", path);
        if ((rc = need_str(p, src, "media_type", sub, &out->image.media_type)) != SY_OK)
            return rc;
        sy_str_t mt = out->image.media_type;
        if (!sy_str_eq_c(mt, "image/jpeg") && !sy_str_eq_c(mt, "image/png") &&
            !sy_str_eq_c(mt, "image/gif") && !sy_str_eq_c(mt, "image/webp"))
            return bad(p, "%s: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'",
                       sub);
        sy_snprintf(sub, sizeof(sub), "%s.source.data", path);
        return need_str(p, src, "data", sub, &out->image.data);
    }
    if (sy_str_eq_c(t, "url")) {
        sy_snprintf(sub, sizeof(sub), "%s.source.url", path);
        return need_str(p, src, "url", sub, &out->image.url);
    }
    if (sy_str_eq_c(t, "file"))
        return bad(p, "%s.source: image sources of type 'file' are not supported by this gateway", path);
    return bad(p,
               "%s: Input tag '%.*s' found using 'type' does not match any of the expected tags: "
               "'base64', 'url', 'file'",
               sub, ECHO(t));
}

static int parse_text(pctx_t *p, const sy_json_t *b, const char *path, sy_ir_part_t *out)
{
    char sub[96];
    sy_snprintf(sub, sizeof(sub), "%s.text", path);
    int rc = need_str(p, b, "text", sub, &out->text);
    if (rc != SY_OK)
        return rc;
    if (out->text.len == 0)
        return bad(p, "%s: text content blocks must be non-empty", sub);
    out->kind = SY_IR_TEXT;
    return get_cache(p, b, path, &out->cache);
}

/* tool_result content: a string, or a list of text and image blocks. */
static int parse_result_content(pctx_t *p, const sy_json_t *c, const char *path, sy_ir_part_t *out)
{
    if (c == NULL || c->type == SY_JSON_NULL)
        return SY_OK;
    if (c->type == SY_JSON_STRING) {
        out->content = sy_arena_calloc(p->a, sizeof(*out->content));
        out->content[0].kind = SY_IR_TEXT;
        out->content[0].text = c->u.str;
        out->ncontent = 1;
        return SY_OK;
    }
    if (c->type != SY_JSON_ARRAY)
        return bad(p, "%s.content: Input should be a valid list", path);
    size_t n = sy_json_len(c);
    out->content = sy_arena_calloc(p->a, (n + 1) * sizeof(*out->content));
    for (size_t i = 0; i < n; i++) {
        const sy_json_t *b = sy_json_index(c, i);
        char sub[96];
        sy_snprintf(sub, sizeof(sub), "%s.content.%zu", path, i);
        if (b->type != SY_JSON_OBJECT)
            return bad(p, "%s: Input should be a valid dictionary", sub);
        sy_str_t t;
        char tp[112];
        sy_snprintf(tp, sizeof(tp), "%s.type", sub);
        int rc = need_str(p, b, "type", tp, &t);
        if (rc != SY_OK)
            return rc;
        sy_ir_part_t *part = &out->content[out->ncontent++];
        if (sy_str_eq_c(t, "text"))
            rc = parse_text(p, b, sub, part);
        else if (sy_str_eq_c(t, "image"))
            rc = parse_image(p, b, sub, part) != SY_OK ? SY_EINVAL : get_cache(p, b, sub, &part->cache);
        else if (sy_str_eq_c(t, "document") || sy_str_eq_c(t, "search_result"))
            rc = bad(p, "%s: `%.*s` blocks are not supported by this gateway", sub, ECHO(t));
        else
            rc = bad(p,
                     "%s: Input tag '%.*s' found using 'type' does not match any of the expected "
                     "tags: 'text', 'image', 'search_result', 'document'",
                     tp, ECHO(t));
        if (rc != SY_OK)
            return rc;
    }
    return SY_OK;
}

/* Server-tool blocks of earlier assistant turns (server_tool_use,
 * web_search_tool_result, mcp_tool_use, ...): Anthropic ran them; the IR
 * has no form for them, so they are left out of the history. */
static bool server_block(sy_str_t t)
{
    return sy_str_eq_c(t, "server_tool_use") || sy_str_ends_with(t, SY_STR("_tool_result")) ||
           sy_str_starts_with(t, SY_STR("mcp_")) || sy_str_eq_c(t, "container_upload");
}

/* One content block of message mi. *skip is set for a block left out. */
static int parse_block(pctx_t *p, const sy_json_t *b, size_t mi, size_t bi, bool assistant,
                       sy_ir_part_t *out, bool *skip)
{
    char path[64], tp[80], sub[96];
    sy_snprintf(path, sizeof(path), "messages.%zu.content.%zu", mi, bi);
    sy_snprintf(tp, sizeof(tp), "%s.type", path);
    *skip = false;
    if (b->type != SY_JSON_OBJECT)
        return bad(p, "%s: Input should be a valid dictionary", path);
    sy_str_t t;
    int rc = need_str(p, b, "type", tp, &t);
    if (rc != SY_OK)
        return rc;
    memset(out, 0, sizeof(*out));
    bool for_assistant = sy_str_eq_c(t, "tool_use") || sy_str_eq_c(t, "thinking") ||
                         sy_str_eq_c(t, "redacted_thinking") || server_block(t);
    if (for_assistant && !assistant)
        return bad(p, "%s: `%.*s` blocks are only allowed in assistant messages", path, ECHO(t));
    if (sy_str_eq_c(t, "tool_result") && assistant)
        return bad(p, "%s: `tool_result` blocks are only allowed in user messages", path);

    if (sy_str_eq_c(t, "text"))
        return parse_text(p, b, path, out);
    if (sy_str_eq_c(t, "image")) {
        if ((rc = parse_image(p, b, path, out)) != SY_OK)
            return rc;
        return get_cache(p, b, path, &out->cache);
    }
    if (sy_str_eq_c(t, "tool_use")) {
        out->kind = SY_IR_TOOL_CALL;
        sy_snprintf(sub, sizeof(sub), "%s.id", path);
        if ((rc = need_str(p, b, "id", sub, &out->call_id)) != SY_OK)
            return rc;
        sy_snprintf(sub, sizeof(sub), "%s.name", path);
        if ((rc = need_str(p, b, "name", sub, &out->name)) != SY_OK)
            return rc;
        const sy_json_t *in = sy_json_get(b, "input");
        if (in == NULL)
            return bad(p, "%s.input: Field required", path);
        if (in->type != SY_JSON_OBJECT)
            return bad(p, "%s.input: Input should be a valid dictionary", path);
        out->arguments = json_text(p->a, in);
        return get_cache(p, b, path, &out->cache);
    }
    if (sy_str_eq_c(t, "tool_result")) {
        out->kind = SY_IR_TOOL_RESULT;
        sy_snprintf(sub, sizeof(sub), "%s.tool_use_id", path);
        if ((rc = need_str(p, b, "tool_use_id", sub, &out->call_id)) != SY_OK)
            return rc;
        if ((rc = parse_result_content(p, sy_json_get(b, "content"), path, out)) != SY_OK)
            return rc;
        sy_snprintf(sub, sizeof(sub), "%s.is_error", path);
        if ((rc = get_bool(p, b, "is_error", sub, &out->is_error)) == SY_EINVAL)
            return rc;
        return get_cache(p, b, path, &out->cache);
    }
    if (sy_str_eq_c(t, "thinking")) {
        out->kind = SY_IR_THINKING;
        sy_snprintf(sub, sizeof(sub), "%s.thinking", path);
        if ((rc = need_str(p, b, "thinking", sub, &out->text)) != SY_OK)
            return rc;
        sy_snprintf(sub, sizeof(sub), "%s.signature", path);
        return need_str(p, b, "signature", sub, &out->signature);
    }
    if (sy_str_eq_c(t, "redacted_thinking")) {
        out->kind = SY_IR_REDACTED_THINKING;
        sy_snprintf(sub, sizeof(sub), "%s.data", path);
        return need_str(p, b, "data", sub, &out->signature);
    }
    if (server_block(t)) {
        *skip = true;
        return SY_OK;
    }
    if (sy_str_eq_c(t, "document") || sy_str_eq_c(t, "search_result"))
        return bad(p, "%s: `%.*s` blocks are not supported by this gateway", path, ECHO(t));
    return bad(p,
               "%s: Input tag '%.*s' found using 'type' does not match any of the expected tags: "
               "'text', 'image', 'document', 'search_result', 'thinking', 'redacted_thinking', "
               "'tool_use', 'tool_result', 'server_tool_use', 'web_search_tool_result'",
               tp, ECHO(t));
}

/* ------------------------------------------------------------- messages --- */

/* The tool_use ids of an assistant turn, sorted, with answered flags. */
typedef struct {
    sy_str_t *ids;
    bool *answered;
    size_t n, cap;
    size_t msg; /* index of the assistant message that holds the last of them */
} idset_t;

static int cmp_str(const void *x, const void *y)
{
    const sy_str_t *a = x, *b = y;
    size_t n = SY_MIN(a->len, b->len);
    int c = n ? memcmp(a->p, b->p, n) : 0;
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

static void idset_add(sy_arena_t *a, idset_t *s, sy_str_t id)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 8;
        s->ids = sy_arena_realloc(a, s->ids, s->cap * sizeof(*s->ids), ncap * sizeof(*s->ids));
        s->cap = ncap;
    }
    s->ids[s->n++] = id;
}

static ptrdiff_t idset_find(const idset_t *s, sy_str_t id)
{
    const sy_str_t *hit = s->n ? bsearch(&id, s->ids, s->n, sizeof(*s->ids), cmp_str) : NULL;
    return hit ? hit - s->ids : -1;
}

/* Every tool_use of the previous assistant turn must be answered in the
 * user turn that follows it. */
static int check_answered(pctx_t *p, const idset_t *prev)
{
    for (size_t i = 0; i < prev->n; i++)
        if (!prev->answered[i])
            return bad(p,
                       "messages.%zu: `tool_use` ids were found without `tool_result` blocks "
                       "immediately after: %.*s. Each `tool_use` block must have a corresponding "
                       "`tool_result` block in the next message.",
                       prev->msg, ECHO(prev->ids[i]));
    return SY_OK;
}

static int parse_messages(pctx_t *p, const sy_json_t *msgs, sy_ir_request_t *r)
{
    if (msgs == NULL)
        return bad(p, "messages: Field required");
    if (msgs->type != SY_JSON_ARRAY)
        return bad(p, "messages: Input should be a valid list");
    size_t n = sy_json_len(msgs);
    if (n == 0)
        return bad(p, "messages: at least one message is required");
    /* a user message may become two IR messages: its tool results, the rest */
    r->messages = sy_arena_calloc(p->a, 2 * n * sizeof(*r->messages));
    idset_t cur, prev; /* tool_use ids of the current / previous assistant turn */
    memset(&cur, 0, sizeof(cur));
    memset(&prev, 0, sizeof(prev));
    bool last_assistant = false;
    int rc;

    for (size_t i = 0; i < n; i++) {
        const sy_json_t *m = sy_json_index(msgs, i);
        if (m->type != SY_JSON_OBJECT)
            return bad(p, "messages.%zu: Input should be a valid dictionary", i);
        const sy_json_t *role = sy_json_get(m, "role");
        if (role == NULL)
            return bad(p, "messages.%zu.role: Field required", i);
        bool assistant = sy_str_eq_c(sy_json_str(role), "assistant");
        if (!assistant && !sy_str_eq_c(sy_json_str(role), "user"))
            return bad(p, "messages.%zu.role: Input should be 'user' or 'assistant'", i);
        if (i == 0 && assistant)
            return bad(p, "messages: the first message must use the \"user\" role");

        /* turn boundaries, for the tool_use / tool_result pairing */
        if (i > 0 && assistant != last_assistant) {
            if (assistant) {
                if ((rc = check_answered(p, &prev)) != SY_OK)
                    return rc;
                prev.n = 0;
            } else {
                if (cur.n)
                    qsort(cur.ids, cur.n, sizeof(*cur.ids), cmp_str);
                for (size_t k = 1; k < cur.n; k++)
                    if (cmp_str(&cur.ids[k - 1], &cur.ids[k]) == 0)
                        return bad(p, "messages.%zu: `tool_use` ids must be unique: %.*s", cur.msg,
                                   ECHO(cur.ids[k]));
                prev = cur;
                prev.answered = sy_arena_calloc(p->a, prev.n + 1);
                memset(&cur, 0, sizeof(cur));
            }
        }
        last_assistant = assistant;

        const sy_json_t *content = sy_json_get(m, "content");
        if (content == NULL)
            return bad(p, "messages.%zu.content: Field required", i);
        bool final_assistant = assistant && i + 1 == n;
        sy_ir_message_t *um = &r->messages[r->nmessages]; /* user / assistant parts */
        if (content->type == SY_JSON_STRING) {
            if (content->u.str.len == 0 && !final_assistant)
                return bad(p,
                           "messages.%zu: all messages must have non-empty content except for "
                           "the optional final assistant message",
                           i);
            um->role = assistant ? SY_IR_ASSISTANT : SY_IR_USER;
            if (content->u.str.len) {
                um->parts = sy_arena_calloc(p->a, sizeof(*um->parts));
                um->parts[0].kind = SY_IR_TEXT;
                um->parts[0].text = content->u.str;
                um->nparts = 1;
            }
            r->nmessages++;
            continue;
        }
        if (content->type != SY_JSON_ARRAY)
            return bad(p, "messages.%zu.content: Input should be a valid list", i);
        size_t nb = sy_json_len(content);
        if (nb == 0 && !final_assistant)
            return bad(p,
                       "messages.%zu: all messages must have non-empty content except for the "
                       "optional final assistant message",
                       i);
        sy_ir_part_t *parts = sy_arena_calloc(p->a, (nb + 1) * sizeof(*parts));
        sy_ir_part_t *results = assistant ? NULL : sy_arena_calloc(p->a, (nb + 1) * sizeof(*results));
        size_t np = 0, nr = 0;
        for (size_t j = 0; j < nb; j++) {
            sy_ir_part_t part;
            bool skip;
            if ((rc = parse_block(p, sy_json_index(content, j), i, j, assistant, &part, &skip)) != SY_OK)
                return rc;
            if (skip)
                continue;
            if (part.kind == SY_IR_TOOL_CALL) {
                idset_add(p->a, &cur, part.call_id);
                cur.msg = i;
            }
            if (part.kind == SY_IR_TOOL_RESULT) {
                ptrdiff_t k = idset_find(&prev, part.call_id);
                if (k < 0)
                    return bad(p,
                               "messages.%zu.content.%zu: unexpected `tool_use_id` found in "
                               "`tool_result` blocks: %.*s. Each `tool_result` block must have a "
                               "corresponding `tool_use` block in the previous message.",
                               i, j, ECHO(part.call_id));
                prev.answered[k] = true;
                results[nr++] = part;
            } else {
                parts[np++] = part;
            }
        }
        /* Tool results travel as a TOOL message ahead of the rest of the
         * user's content (OpenAI's shape; the anthropic adapter merges them
         * back into one user turn, tool_result blocks first). */
        if (nr) {
            r->messages[r->nmessages].role = SY_IR_TOOL;
            r->messages[r->nmessages].parts = results;
            r->messages[r->nmessages].nparts = nr;
            r->nmessages++;
        }
        if (np || nr == 0) {
            um = &r->messages[r->nmessages++];
            um->role = assistant ? SY_IR_ASSISTANT : SY_IR_USER;
            um->parts = parts;
            um->nparts = np;
        }
    }
    /* a last user turn must answer the assistant turn before it */
    return last_assistant ? SY_OK : check_answered(p, &prev);
}

/* ----------------------------------------------------------- the request --- */

static int parse_system(pctx_t *p, const sy_json_t *v, sy_ir_request_t *r)
{
    if (v == NULL || v->type == SY_JSON_NULL)
        return SY_OK;
    if (v->type == SY_JSON_STRING) {
        if (v->u.str.len == 0)
            return SY_OK;
        r->system = sy_arena_calloc(p->a, sizeof(*r->system));
        r->system[0].kind = SY_IR_TEXT;
        r->system[0].text = v->u.str;
        r->nsystem = 1;
        return SY_OK;
    }
    if (v->type != SY_JSON_ARRAY)
        return bad(p, "system: Input should be a valid list");
    size_t n = sy_json_len(v);
    r->system = sy_arena_calloc(p->a, (n + 1) * sizeof(*r->system));
    for (size_t i = 0; i < n; i++) {
        const sy_json_t *b = sy_json_index(v, i);
        char path[48], tp[64];
        sy_snprintf(path, sizeof(path), "system.%zu", i);
        sy_snprintf(tp, sizeof(tp), "system.%zu.type", i);
        if (b->type != SY_JSON_OBJECT)
            return bad(p, "%s: Input should be a valid dictionary", path);
        sy_str_t t;
        int rc = need_str(p, b, "type", tp, &t);
        if (rc != SY_OK)
            return rc;
        if (!sy_str_eq_c(t, "text"))
            return bad(p, "%s: Input should be 'text'", tp);
        if ((rc = parse_text(p, b, path, &r->system[r->nsystem])) != SY_OK)
            return rc;
        r->nsystem++;
    }
    return SY_OK;
}

static int parse_tools(pctx_t *p, const sy_json_t *v, sy_ir_request_t *r)
{
    if (v == NULL || v->type == SY_JSON_NULL)
        return SY_OK;
    if (v->type != SY_JSON_ARRAY)
        return bad(p, "tools: Input should be a valid list");
    size_t n = sy_json_len(v);
    r->tools = sy_arena_calloc(p->a, (n + 1) * sizeof(*r->tools));
    for (size_t i = 0; i < n; i++) {
        const sy_json_t *t = sy_json_index(v, i);
        char sub[64];
        if (t->type != SY_JSON_OBJECT)
            return bad(p, "tools.%zu: Input should be a valid dictionary", i);
        sy_str_t type = SY_STR_NULL;
        sy_snprintf(sub, sizeof(sub), "tools.%zu.type", i);
        int rc = get_str(p, t, "type", sub, &type);
        if (rc == SY_EINVAL)
            return rc;
        if (type.len && !sy_str_eq_c(type, "custom"))
            continue; /* a server tool (web_search_..., bash_...): runs at Anthropic only */
        sy_ir_tool_t *tool = &r->tools[r->ntools];
        sy_snprintf(sub, sizeof(sub), "tools.%zu.name", i);
        if ((rc = need_str(p, t, "name", sub, &tool->name)) != SY_OK)
            return rc;
        if (tool->name.len == 0)
            return bad(p, "%s: String should have at least 1 character", sub);
        sy_snprintf(sub, sizeof(sub), "tools.%zu.description", i);
        if ((rc = get_str(p, t, "description", sub, &tool->description)) == SY_EINVAL)
            return rc;
        const sy_json_t *schema = sy_json_get(t, "input_schema");
        if (schema == NULL)
            return bad(p, "tools.%zu.input_schema: Field required", i);
        if (schema->type != SY_JSON_OBJECT)
            return bad(p, "tools.%zu.input_schema: Input should be a valid dictionary", i);
        tool->parameters = schema;
        sy_snprintf(sub, sizeof(sub), "tools.%zu.strict", i);
        if ((rc = get_bool(p, t, "strict", sub, &tool->strict)) == SY_EINVAL)
            return rc;
        bool cache = false; /* accepted; the IR keeps no cache flag on tools */
        sy_snprintf(sub, sizeof(sub), "tools.%zu", i);
        if ((rc = get_cache(p, t, sub, &cache)) != SY_OK)
            return rc;
        r->ntools++;
    }
    return SY_OK;
}

static int parse_tool_choice(pctx_t *p, const sy_json_t *v, sy_ir_request_t *r)
{
    if (v == NULL || v->type == SY_JSON_NULL)
        return SY_OK;
    if (v->type != SY_JSON_OBJECT)
        return bad(p, "tool_choice: Input should be a valid dictionary");
    sy_str_t t;
    int rc = need_str(p, v, "type", "tool_choice.type", &t);
    if (rc != SY_OK)
        return rc;
    if (sy_str_eq_c(t, "auto"))
        r->tool_choice = SY_IR_TOOL_CHOICE_AUTO;
    else if (sy_str_eq_c(t, "any"))
        r->tool_choice = SY_IR_TOOL_CHOICE_REQUIRED;
    else if (sy_str_eq_c(t, "none"))
        r->tool_choice = SY_IR_TOOL_CHOICE_NONE;
    else if (sy_str_eq_c(t, "tool")) {
        r->tool_choice = SY_IR_TOOL_CHOICE_NAMED;
        if ((rc = need_str(p, v, "name", "tool_choice.tool.name", &r->tool_choice_name)) != SY_OK)
            return rc;
    } else
        return bad(p,
                   "tool_choice: Input tag '%.*s' found using 'type' does not match any of the "
                   "expected tags: 'auto', 'any', 'tool', 'none'",
                   ECHO(t));
    bool dis;
    if ((rc = get_bool(p, v, "disable_parallel_tool_use", "tool_choice.disable_parallel_tool_use",
                       &dis)) == SY_EINVAL)
        return rc;
    if (rc == SY_OK)
        r->parallel_tool_calls = dis ? 0 : 1;
    return SY_OK;
}

static int parse_effort(pctx_t *p, sy_str_t e, sy_ir_effort_t *out)
{
    if (sy_str_eq_c(e, "low"))
        *out = SY_IR_EFFORT_LOW;
    else if (sy_str_eq_c(e, "medium"))
        *out = SY_IR_EFFORT_MEDIUM;
    else if (sy_str_eq_c(e, "high") || sy_str_eq_c(e, "xhigh") || sy_str_eq_c(e, "max"))
        *out = SY_IR_EFFORT_HIGH;
    else
        return bad(p, "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or "
                      "'max'");
    return SY_OK;
}

/* output_config {format, effort} and the older output_format. */
static int parse_format(pctx_t *p, const sy_json_t *f, const char *path, sy_ir_request_t *r)
{
    if (f == NULL || f->type == SY_JSON_NULL)
        return SY_OK;
    if (f->type != SY_JSON_OBJECT)
        return bad(p, "%s: Input should be a valid dictionary", path);
    sy_str_t t;
    char sub[48];
    sy_snprintf(sub, sizeof(sub), "%s.type", path);
    int rc = need_str(p, f, "type", sub, &t);
    if (rc != SY_OK)
        return rc;
    if (!sy_str_eq_c(t, "json_schema"))
        return bad(p, "%s: Input should be 'json_schema'", sub);
    const sy_json_t *schema = sy_json_get(f, "schema");
    if (schema == NULL)
        return bad(p, "%s.schema: Field required", path);
    if (schema->type != SY_JSON_OBJECT)
        return bad(p, "%s.schema: Input should be a valid dictionary", path);
    r->format = SY_IR_FORMAT_JSON_SCHEMA;
    r->schema = schema;
    r->schema_strict = true; /* Anthropic's structured outputs are always enforced */
    return SY_OK;
}

static int parse_thinking(pctx_t *p, const sy_json_t *v, sy_ir_request_t *r, sy_str_t effort)
{
    if (v == NULL || v->type == SY_JSON_NULL)
        return SY_OK;
    if (v->type != SY_JSON_OBJECT)
        return bad(p, "thinking: Input should be a valid dictionary");
    sy_str_t t;
    int rc = need_str(p, v, "type", "thinking.type", &t);
    if (rc != SY_OK)
        return rc;
    if (sy_str_eq_c(t, "disabled"))
        return SY_OK;
    if (sy_str_eq_c(t, "adaptive")) {
        /* the model decides how much to think; the effort says how hard */
        r->effort = SY_IR_EFFORT_MEDIUM;
        return effort.len ? parse_effort(p, effort, &r->effort) : SY_OK;
    }
    if (!sy_str_eq_c(t, "enabled"))
        return bad(p,
                   "thinking: Input tag '%.*s' found using 'type' does not match any of the "
                   "expected tags: 'enabled', 'disabled', 'adaptive'",
                   ECHO(t));
    const sy_json_t *b = sy_json_get(v, "budget_tokens");
    if (b == NULL)
        return bad(p, "thinking.enabled.budget_tokens: Field required");
    if ((rc = get_uint(p, b, "thinking.enabled.budget_tokens", MIN_THINKING_BUDGET,
                       &r->thinking_budget)) != SY_OK)
        return rc;
    if (!p->count_tokens && r->max_tokens <= r->thinking_budget)
        return bad(p, "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult "
                      "our documentation at https://docs.claude.com/en/docs/build-with-claude/"
                      "extended-thinking#max-tokens-and-context-window-size");
    return SY_OK;
}

static int parse_request(pctx_t *p, sy_str_t body, sy_ir_request_t *r)
{
    memset(r, 0, sizeof(*r));
    r->parallel_tool_calls = -1;
    sy_json_t *root = NULL;
    sy_json_error_t jerr;
    int rc = sy_json_parse(p->a, body.p, body.len, NULL, &root, &jerr);
    if (rc == SY_ETOOBIG) {
        *p->status = 413;
        *p->message = "Request exceeds the maximum allowed number of bytes.";
        return SY_EINVAL;
    }
    if (rc != SY_OK)
        return bad(p, "The request body is not valid JSON: %s (line %zu, column %zu)", jerr.msg,
                   jerr.line, jerr.col);
    if (root->type != SY_JSON_OBJECT)
        return bad(p, "The request body must be a JSON object");

    if ((rc = need_str(p, root, "model", "model", &r->model)) != SY_OK)
        return rc;
    if (r->model.len == 0)
        return bad(p, "model: String should have at least 1 character");
    const sy_json_t *mt = sy_json_get(root, "max_tokens");
    if (mt == NULL && !p->count_tokens)
        return bad(p, "max_tokens: Field required");
    if (mt && (rc = get_uint(p, mt, "max_tokens", 1, &r->max_tokens)) != SY_OK)
        return rc;
    if ((rc = parse_system(p, sy_json_get(root, "system"), r)) != SY_OK)
        return rc;
    if ((rc = parse_messages(p, sy_json_get(root, "messages"), r)) != SY_OK)
        return rc;
    if ((rc = parse_tools(p, sy_json_get(root, "tools"), r)) != SY_OK)
        return rc;
    if ((rc = parse_tool_choice(p, sy_json_get(root, "tool_choice"), r)) != SY_OK)
        return rc;
    if ((rc = get_number(p, root, "temperature", 0, 1, &r->has_temperature, &r->temperature)) != SY_OK)
        return rc;
    if ((rc = get_number(p, root, "top_p", 0, 1, &r->has_top_p, &r->top_p)) != SY_OK)
        return rc;
    const sy_json_t *tk = sy_json_get(root, "top_k");
    if (tk && tk->type != SY_JSON_NULL) {
        uint64_t k;
        if ((rc = get_uint(p, tk, "top_k", 0, &k)) != SY_OK)
            return rc;
        r->top_k = (int64_t)k;
        r->has_top_k = true;
    }
    const sy_json_t *stop = sy_json_get(root, "stop_sequences");
    if (stop && stop->type != SY_JSON_NULL) {
        if (stop->type != SY_JSON_ARRAY)
            return bad(p, "stop_sequences: Input should be a valid list");
        if (sy_json_len(stop) > SY_IR_MAX_STOP)
            return bad(p, "stop_sequences: at most %d stop sequences are supported by this gateway",
                       SY_IR_MAX_STOP);
        for (size_t i = 0; i < sy_json_len(stop); i++) {
            const sy_json_t *s = sy_json_index(stop, i);
            if (s->type != SY_JSON_STRING)
                return bad(p, "stop_sequences.%zu: Input should be a valid string", i);
            r->stop[r->nstop++] = s->u.str;
        }
    }
    if ((rc = get_bool(p, root, "stream", "stream", &r->stream)) == SY_EINVAL)
        return rc;
    if (p->count_tokens)
        r->stream = false;
    const sy_json_t *md = sy_json_get(root, "metadata");
    if (md && md->type != SY_JSON_NULL) {
        if (md->type != SY_JSON_OBJECT)
            return bad(p, "metadata: Input should be a valid dictionary");
        const sy_json_t *uid = sy_json_get(md, "user_id");
        if (uid && uid->type != SY_JSON_NULL) {
            if (uid->type != SY_JSON_STRING)
                return bad(p, "metadata.user_id: Input should be a valid string");
            r->user = uid->u.str;
        }
    }
    const sy_json_t *oc = sy_json_get(root, "output_config");
    sy_str_t effort = SY_STR_NULL;
    if (oc && oc->type != SY_JSON_NULL) {
        if (oc->type != SY_JSON_OBJECT)
            return bad(p, "output_config: Input should be a valid dictionary");
        if ((rc = parse_format(p, sy_json_get(oc, "format"), "output_config.format", r)) != SY_OK)
            return rc;
        if ((rc = get_str(p, oc, "effort", "output_config.effort", &effort)) == SY_EINVAL)
            return rc;
        sy_ir_effort_t e;
        if (effort.len && (rc = parse_effort(p, effort, &e)) != SY_OK)
            return rc;
    }
    if (r->format == SY_IR_FORMAT_TEXT &&
        (rc = parse_format(p, sy_json_get(root, "output_format"), "output_format", r)) != SY_OK)
        return rc;
    return parse_thinking(p, sy_json_get(root, "thinking"), r, effort);
}

static int parse(sy_arena_t *a, sy_str_t body, sy_ir_request_t *out, int *status, const char **message)
{
    pctx_t p = {a, status, message, false};
    return parse_request(&p, body, out);
}

int sy_anthropic_parse_count_tokens(sy_arena_t *a, sy_str_t body, sy_ir_request_t *out, int *status,
                                    const char **message)
{
    pctx_t p = {a, status, message, true};
    return parse_request(&p, body, out);
}

/* The response side (respond, stream, errors) is in anthropic_out.c. */
const sy_frontdoor_vt_t sy_frontdoor_anthropic = {
    .name = "anthropic",
    .format = SY_FORMAT_ANTHROPIC,
    .parse = parse,
    .respond = sy_anthropic_fd_respond,
    .stream_new = sy_anthropic_fd_stream_new,
    .stream_event = sy_anthropic_fd_stream_event,
    .error_body = sy_anthropic_fd_error_body,
};
