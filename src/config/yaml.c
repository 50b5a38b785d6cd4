/*
 * yaml.c - libyaml events -> an arena tree of positioned nodes.
 *
 * The builder keeps a stack of open sequences and mappings. Each open one
 * collects its children in a heap vector (so siblings can be appended while
 * deeper nodes are allocated in the arena); when it closes, the children are
 * copied into the arena once, and for a mapping the keys are checked: scalar,
 * and no key twice. Everything else libyaml does not check itself (aliases,
 * tags, documents, NUL bytes, the caps in yaml.h) is refused here.
 */
#include "config/yaml.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/arena.h"
#include "core/buf.h"

typedef struct {
    sy_yaml_node_t *node;
    sy_yaml_node_t **kids; /* heap; for a mapping: key, value, key, value... */
    size_t n, cap;
} frame_t;

typedef struct {
    sy_arena_t *a;
    const char *file;
    const char *text;
    size_t text_len;
    frame_t stack[SY_YAML_MAX_DEPTH];
    size_t depth;
    size_t nodes;
    sy_yaml_node_t *root;
    const char *err;
} builder_t;

/* Record the first error as "FILE:LINE:COL: message" (0-based mark in). */
static void fail(builder_t *b, size_t line0, size_t col0, const char *fmt, ...) SY_PRINTF(4, 5);
static void fail(builder_t *b, size_t line0, size_t col0, const char *fmt, ...)
{
    if (b->err)
        return;
    sy_buf_t msg;
    sy_buf_init(&msg, 0);
    sy_buf_printf(&msg, "%s:%zu:%zu: ", b->file, line0 + 1, col0 + 1);
    va_list ap;
    va_start(ap, fmt);
    sy_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    b->err = sy_arena_memdup(b->a, sy_buf_ptr(&msg), msg.len);
    sy_buf_free(&msg);
}

/* libyaml reports reader errors (bad UTF-8, control characters) as a byte
 * offset, not a mark: count lines up to it. */
static void offset_to_mark(const builder_t *b, size_t off, size_t *line0, size_t *col0)
{
    size_t line = 0, col = 0;
    for (size_t i = 0; i < off && i < b->text_len; i++) {
        if (b->text[i] == '\n') {
            line++;
            col = 0;
        } else if (((unsigned char)b->text[i] & 0xC0) != 0x80) {
            col++;
        }
    }
    *line0 = line;
    *col0 = col;
}

static void syntax_error(builder_t *b, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (p->error == YAML_MEMORY_ERROR)
        sy_panic("libyaml: out of memory");
    if (p->error == YAML_READER_ERROR) {
        size_t line0, col0;
        offset_to_mark(b, p->problem_offset, &line0, &col0);
        if (p->problem_value >= 0)
            fail(b, line0, col0, "%s (byte 0x%02x)", problem, (unsigned)p->problem_value);
        else
            fail(b, line0, col0, "%s", problem);
        return;
    }
    if (p->context) {
        fail(b, p->problem_mark.line, p->problem_mark.column, "%s (%s at line %zu, column %zu)",
             problem, p->context, p->context_mark.line + 1, p->context_mark.column + 1);
    } else {
        fail(b, p->problem_mark.line, p->problem_mark.column, "%s", problem);
    }
}

#define YAML_TAG_PREFIX "tag:yaml.org,2002:"

/* Accept the standard tags that fit the node's kind. Returns false after
 * reporting an error. Sets *force_str for !!str and "!", *force_null for
 * !!null (scalars only). */
static bool check_tag(builder_t *b, const yaml_char_t *tag, sy_yaml_kind_t kind,
                      const yaml_mark_t *m, bool *force_str, bool *force_null)
{
    *force_str = *force_null = false;
    if (tag == NULL)
        return true;
    const char *t = (const char *)tag;
    if (kind == SY_YAML_SCALAR && strcmp(t, "!") == 0) {
        *force_str = true;
        return true;
    }
    size_t plen = sizeof(YAML_TAG_PREFIX) - 1;
    if (strncmp(t, YAML_TAG_PREFIX, plen) == 0) {
        const char *s = t + plen;
        if (kind == SY_YAML_SEQ && strcmp(s, "seq") == 0)
            return true;
        if (kind == SY_YAML_MAP && strcmp(s, "map") == 0)
            return true;
        if (kind == SY_YAML_SCALAR) {
            if (strcmp(s, "str") == 0) {
                *force_str = true;
                return true;
            }
            if (strcmp(s, "null") == 0) {
                *force_null = true;
                return true;
            }
            if (strcmp(s, "int") == 0 || strcmp(s, "float") == 0 || strcmp(s, "bool") == 0)
                return true;
        }
        fail(b, m->line, m->column, "tag !!%s is not supported here", s);
        return false;
    }
    fail(b, m->line, m->column, "tag %s is not supported", t);
    return false;
}

static bool check_anchor(builder_t *b, const yaml_char_t *anchor, const yaml_mark_t *m)
{
    if (anchor == NULL)
        return true;
    fail(b, m->line, m->column, "anchors (&%s) are not supported; repeat the value instead",
         (const char *)anchor);
    return false;
}

static sy_yaml_node_t *new_node(builder_t *b, sy_yaml_kind_t kind, const yaml_mark_t *m)
{
    if (++b->nodes > SY_YAML_MAX_NODES) {
        fail(b, m->line, m->column, "too many values in one file (the limit is %u)",
             SY_YAML_MAX_NODES);
        return NULL;
    }
    sy_yaml_node_t *n = sy_arena_calloc(b->a, sizeof(*n));
    n->kind = kind;
    n->line = (uint32_t)SY_MIN(m->line + 1, (size_t)UINT32_MAX);
    n->col = (uint32_t)SY_MIN(m->column + 1, (size_t)UINT32_MAX);
    n->file = b->file;
    return n;
}

/* Append a finished (or just opened) node to its parent, or make it the root. */
static void attach(builder_t *b, sy_yaml_node_t *n)
{
    if (b->depth == 0) {
        b->root = n;
        return;
    }
    frame_t *f = &b->stack[b->depth - 1];
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->kids = sy_realloc(f->kids, f->cap * sizeof(*f->kids));
    }
    f->kids[f->n++] = n;
}

static bool is_null_text(sy_str_t s)
{
    return s.len == 0 || sy_str_eq_c(s, "~") || sy_str_eq_c(s, "null") || sy_str_eq_c(s, "Null") ||
           sy_str_eq_c(s, "NULL");
}

static void on_scalar(builder_t *b, const yaml_event_t *ev)
{
    const yaml_mark_t *m = &ev->start_mark;
    bool force_str, force_null;
    if (!check_anchor(b, ev->data.scalar.anchor, m) ||
        !check_tag(b, ev->data.scalar.tag, SY_YAML_SCALAR, m, &force_str, &force_null))
        return;
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (memchr(v, '\0', len)) {
        fail(b, m->line, m->column, "NUL characters are not allowed in values");
        return;
    }
    sy_yaml_node_t *n = new_node(b, SY_YAML_SCALAR, m);
    if (n == NULL)
        return;
    n->raw = sy_str(sy_arena_memdup(b->a, v, len), len);
    n->str = n->raw;
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !force_str;
    n->is_null = force_null || (n->plain && is_null_text(n->raw));
    attach(b, n);
}

static void on_start(builder_t *b, const yaml_event_t *ev, sy_yaml_kind_t kind)
{
    const yaml_mark_t *m = &ev->start_mark;
    bool force_str, force_null;
    const yaml_char_t *anchor =
        kind == SY_YAML_SEQ ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
    const yaml_char_t *tag =
        kind == SY_YAML_SEQ ? ev->data.sequence_start.tag : ev->data.mapping_start.tag;
    if (!check_anchor(b, anchor, m) || !check_tag(b, tag, kind, m, &force_str, &force_null))
        return;
    if (b->depth == SY_YAML_MAX_DEPTH) {
        fail(b, m->line, m->column, "values are nested too deeply (the limit is %d levels)",
             SY_YAML_MAX_DEPTH);
        return;
    }
    sy_yaml_node_t *n = new_node(b, kind, m);
    if (n == NULL)
        return;
    attach(b, n);
    b->stack[b->depth++] = (frame_t){.node = n};
}

typedef struct {
    const sy_yaml_node_t *key;
    size_t index;
} key_ref_t;

static int key_ref_cmp(const void *pa, const void *pb)
{
    const key_ref_t *a = pa, *b = pb;
    size_t n = SY_MIN(a->key->raw.len, b->key->raw.len);
    int c = n ? memcmp(a->key->raw.p, b->key->raw.p, n) : 0;
    if (c == 0 && a->key->raw.len != b->key->raw.len)
        c = a->key->raw.len < b->key->raw.len ? -1 : 1;
    if (c == 0)
        c = a->index < b->index ? -1 : (a->index > b->index ? 1 : 0);
    return c;
}

/* Report the duplicate key that comes first in the document. Sorting makes
 * this O(n log n) so a huge mapping cannot make loading quadratic. */
static void check_duplicates(builder_t *b, const sy_yaml_node_t *map)
{
    if (map->len < 2)
        return;
    key_ref_t *refs = sy_malloc(map->len * sizeof(*refs));
    for (size_t i = 0; i < map->len; i++)
        refs[i] = (key_ref_t){map->pairs[i].key, i};
    qsort(refs, map->len, sizeof(*refs), key_ref_cmp);
    const key_ref_t *first = NULL, *dup = NULL;
    for (size_t i = 1; i < map->len; i++) {
        if (!sy_str_eq(refs[i].key->raw, refs[i - 1].key->raw))
            continue;
        if (i >= 2 && sy_str_eq(refs[i].key->raw, refs[i - 2].key->raw))
            continue; /* third or later copy: the second one is earlier */
        if (dup == NULL || refs[i].index < dup->index) {
            dup = &refs[i];
            first = &refs[i - 1];
        }
    }
    if (dup) {
        fail(b, dup->key->line - 1u, dup->key->col - 1u,
             "duplicate key %s (first defined at line %u)", sy_yaml_quote(b->a, dup->key->raw, 80),
             (unsigned)first->key->line);
    }
    free(refs);
}

static void on_end(builder_t *b)
{
    frame_t *f = &b->stack[--b->depth];
    sy_yaml_node_t *n = f->node;
    if (n->kind == SY_YAML_SEQ) {
        n->len = f->n;
        n->items = sy_arena_alloc(b->a, (f->n ? f->n : 1) * sizeof(*n->items));
        if (f->n)
            memcpy(n->items, f->kids, f->n * sizeof(*n->items));
    } else {
        n->len = f->n / 2;
        n->pairs = sy_arena_alloc(b->a, (n->len ? n->len : 1) * sizeof(*n->pairs));
        for (size_t i = 0; i < n->len; i++) {
            sy_yaml_node_t *k = f->kids[2 * i], *v = f->kids[2 * i + 1];
            if (k->kind != SY_YAML_SCALAR)
                fail(b, k->line - 1u, k->col - 1u, "mapping keys must be strings, not %s",
                     sy_yaml_describe(k));
            v->key = k;
            n->pairs[i] = (sy_yaml_pair_t){k, v};
        }
        if (!b->err)
            check_duplicates(b, n);
    }
    free(f->kids);
    *f = (frame_t){0};
}

int sy_yaml_parse(sy_arena_t *a, const char *file, const char *text, size_t len,
                  sy_yaml_node_t **root, const char **err)
{
    builder_t b = {.a = a, .text = text, .text_len = len};
    b.file = sy_arena_strdup(a, file ? file : "<config>");
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        sy_panic("libyaml: cannot initialise a parser");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
    int docs = 0;
    bool done = false;
    while (!done && !b.err) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            syntax_error(&b, &p);
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (docs++ > 0)
                fail(&b, ev.start_mark.line, ev.start_mark.column,
                     "only one YAML document per file is supported");
            break;
        case YAML_ALIAS_EVENT:
            fail(&b, ev.start_mark.line, ev.start_mark.column,
                 "aliases (*%s) are not supported; repeat the value instead",
                 (const char *)ev.data.alias.anchor);
            break;
        case YAML_SCALAR_EVENT:
            on_scalar(&b, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            on_start(&b, &ev, SY_YAML_SEQ);
            break;
        case YAML_MAPPING_START_EVENT:
            on_start(&b, &ev, SY_YAML_MAP);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            on_end(&b);
            break;
        default: /* stream start, document end, no event */
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    while (b.depth > 0)
        free(b.stack[--b.depth].kids);
    if (b.err) {
        *root = NULL;
        *err = b.err;
        return SY_EINVAL;
    }
    *root = b.root;
    *err = NULL;
    return SY_OK;
}

sy_yaml_node_t *sy_yaml_map_get(const sy_yaml_node_t *map, const char *key)
{
    if (map == NULL || map->kind != SY_YAML_MAP)
        return NULL;
    for (size_t i = 0; i < map->len; i++)
        if (sy_str_eq_c(map->pairs[i].key->raw, key))
            return map->pairs[i].value;
    return NULL;
}

const char *sy_yaml_describe(const sy_yaml_node_t *n)
{
    if (n == NULL || (n->kind == SY_YAML_SCALAR && n->is_null))
        return "nothing";
    switch (n->kind) {
    case SY_YAML_SEQ:
        return "a sequence";
    case SY_YAML_MAP:
        return "a mapping";
    default:
        return "a string";
    }
}

const char *sy_yaml_quote(sy_arena_t *a, sy_str_t s, size_t max)
{
    sy_buf_t q;
    sy_buf_init(&q, 0);
    sy_buf_append_c(&q, "\"");
    size_t n = s.len > max ? max : s.len;
    while (n > 0 && n < s.len && ((unsigned char)s.p[n] & 0xC0) == 0x80)
        n--; /* do not cut a UTF-8 sequence in half */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\')
            sy_buf_printf(&q, "\\%c", c);
        else if (c == '\n')
            sy_buf_append_c(&q, "\\n");
        else if (c == '\t')
            sy_buf_append_c(&q, "\\t");
        else if (c < 0x20 || c == 0x7f)
            sy_buf_printf(&q, "\\x%02x", c);
        else
            sy_buf_append(&q, &s.p[i], 1);
    }
    sy_buf_append_c(&q, n < s.len ? "\"..." : "\"");
    const char *out = sy_arena_memdup(a, sy_buf_ptr(&q), q.len);
    sy_buf_free(&q);
    return out;
}
