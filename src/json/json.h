/*
 * json.h - arena JSON parser, tree helpers and writer (RFC 8259).
 *
 * The parser turns a request or response body into a tree that lives in the
 * caller's arena: no per-node malloc, nothing to free but the arena. Strings
 * without escapes are zero-copy views into the source; strings with escapes
 * are decoded into the arena. Numbers keep the exact text they were written
 * with, so a body the gateway rewrites (say, its "model" field) passes every
 * other value through byte for byte. THE SOURCE BUFFER MUST OUTLIVE THE TREE.
 *
 * The writer appends compact JSON to a capped sy_buf_t and has a sticky error
 * (SQLite style): call sites stay linear and check sy_json_write_finish() once.
 *
 * Every input-driven size has a named cap (sy_json_limits_t). Nesting is
 * handled with explicit stacks, so hostile depth cannot exhaust the C stack.
 * See docs/internals/json.md for the design.
 */
#ifndef SY_JSON_JSON_H
#define SY_JSON_JSON_H

#include "core/arena.h"
#include "core/buf.h"
#include "core/common.h"
#include "core/str.h"

/* ---------------------------------------------------------------- tree --- */

typedef enum {
    SY_JSON_NULL,
    SY_JSON_FALSE,
    SY_JSON_TRUE,
    SY_JSON_NUMBER,
    SY_JSON_STRING,
    SY_JSON_ARRAY,
    SY_JSON_OBJECT,
} sy_json_type_t;

typedef struct sy_json sy_json_t;
typedef struct sy_json_member sy_json_member_t;

/*
 * One JSON value. Arrays hold their elements, and objects their members, in
 * one contiguous arena array each (values inline, not pointers), in document
 * order. `cap` is the number of allocated slots (>= len): the parser sizes
 * arrays exactly; the builder functions grow them geometrically.
 *
 * Pointers to elements or members stay valid until the container is grown
 * (sy_json_append / sy_json_set adding a member) or shrunk (sy_json_remove).
 * The arena owns everything the tree allocated; views may also point into the
 * parsed source.
 */
struct sy_json {
    sy_json_type_t type;
    uint32_t flags; /* SY_JSON_F_*: facts about str, for the writer */
    union {
        sy_str_t str; /* SY_JSON_STRING: decoded bytes (valid UTF-8, may hold NUL) */
        sy_str_t num; /* SY_JSON_NUMBER: the raw text exactly as written */
        struct {
            sy_json_t *items;
            uint32_t len, cap;
        } arr; /* SY_JSON_ARRAY */
        struct {
            sy_json_member_t *items;
            uint32_t len, cap;
        } obj; /* SY_JSON_OBJECT */
    } u;
};

/* An object member: its decoded key and its value. Duplicate keys are kept. */
struct sy_json_member {
    sy_str_t key;
    sy_json_t value;
};

/*
 * Facts the parser records about a string so the writer need not re-check
 * them. SY_JSON_F_UTF8: the bytes are valid UTF-8 (every parsed string is).
 * SY_JSON_F_VERBATIM: additionally they need no escaping (no '"', '\\' or
 * control character), so the writer copies them as they are; the parser sets
 * it on strings that had no escapes. SY_JSON_F_ASCII: additionally every
 * byte is < 0x80. Code that assigns u.str by hand must clear the flags (or
 * use sy_json_set_str()), or the writer may emit invalid JSON.
 */
#define SY_JSON_F_VERBATIM 0x1u
#define SY_JSON_F_ASCII    0x2u
#define SY_JSON_F_UTF8     0x4u

/* ------------------------------------------------------------- parsing --- */

/* Default caps. Input bytes: a whole body; string bytes: one string or key
 * as written in the source; number: characters of one number's text. */
#define SY_JSON_MAX_DEPTH       128
#define SY_JSON_MAX_DEPTH_LIMIT 1024 /* hard ceiling on max_depth (writer's too) */
#define SY_JSON_MAX_INPUT       ((size_t)64 << 20)
#define SY_JSON_MAX_STRING      ((size_t)32 << 20)
#define SY_JSON_MAX_NUMBER      512

/*
 * Caps on what one parse accepts. A zero field means its default above, so
 * `(sy_json_limits_t){.max_depth = 16}` changes only the depth. max_depth is
 * clamped to SY_JSON_MAX_DEPTH_LIMIT. Exceeding a cap fails with SY_ETOOBIG.
 */
typedef struct {
    size_t max_depth;  /* arrays/objects open at once */
    size_t max_input;  /* total input bytes */
    size_t max_string; /* source bytes of one string or key */
    size_t max_number; /* characters of one number */
} sy_json_limits_t;

/*
 * Where and why a parse failed. offset is the byte offset of the offending
 * byte; line and col are 1-based (col counts bytes). msg is a static string
 * such as "expected ',' or '}' after object member".
 */
typedef struct {
    int code; /* the SY_E* the parse returned */
    size_t offset, line, col;
    const char *msg;
} sy_json_error_t;

/*
 * Parse src[0..len) (one JSON text, surrounding whitespace allowed; no BOM)
 * into a tree allocated in `a`. On success *out is the root and 0 returned.
 * On failure returns SY_EINVAL (malformed: bad syntax, invalid UTF-8, bad
 * escape) or SY_ETOOBIG (a cap in `lim` exceeded), leaves *out NULL and fills
 * *err when err is not NULL. lim NULL means all defaults. The tree keeps
 * views into src: src must outlive it. A lone UTF-16 surrogate escape
 * (e.g. "\ud800" not followed by a low surrogate) decodes to U+FFFD.
 */
int sy_json_parse(sy_arena_t *a, const char *src, size_t len, const sy_json_limits_t *lim,
                  sy_json_t **out, sy_json_error_t *err);

/* ------------------------------------------------------ lookups, access --- */

/* Name of a type for messages: "null", "false", "true", "number", ... */
const char *sy_json_type_name(sy_json_type_t t);

/* Elements of an array or members of an object; 0 for anything else or NULL. */
size_t sy_json_len(const sy_json_t *v);

/*
 * Member lookup in an object (NULL if v is not an object, or no such key).
 * With duplicate keys the LAST one wins, as in JavaScript's JSON.parse and
 * Python's json: the providers behind the gateway parse that way, so the
 * value the gateway checks is the value the provider acts on.
 * The result points into the tree (non-const for editing, like strchr).
 */
sy_json_t *sy_json_get_str(const sy_json_t *obj, sy_str_t key);
/* Inline, so that a literal key's length is folded. */
static inline sy_json_t *sy_json_get(const sy_json_t *obj, const char *key)
{
    return sy_json_get_str(obj, sy_str_c(key));
}

/* Element i of an array, or NULL (not an array, out of range). */
sy_json_t *sy_json_index(const sy_json_t *arr, size_t i);

/*
 * Follow a dotted path: each segment is an object key, or a decimal index
 * when the value at that point is an array: "choices.0.delta.content".
 * The empty path returns v. NULL on any miss. Keys containing '.' cannot be
 * addressed this way (use sy_json_get_str).
 */
sy_json_t *sy_json_path(const sy_json_t *v, const char *path);

/*
 * Typed reads. Each returns 0 and stores the value, SY_EINVAL when v is NULL
 * or of another type (or, for numbers, not an integer), SY_ETOOBIG when an
 * integer does not fit. Integer reads are exact: 1.0e+2 reads as 100, 1.5
 * is SY_EINVAL, 1e400 SY_ETOOBIG. sy_json_as_double rounds like strtod and
 * fails with SY_ETOOBIG on overflow to infinity.
 */
int sy_json_as_i64(const sy_json_t *v, int64_t *out);
int sy_json_as_u64(const sy_json_t *v, uint64_t *out);
int sy_json_as_double(const sy_json_t *v, double *out);
int sy_json_as_bool(const sy_json_t *v, bool *out);
int sy_json_as_str(const sy_json_t *v, sy_str_t *out);

/* The string's view, or SY_STR_NULL when v is NULL or not a string. */
sy_str_t sy_json_str(const sy_json_t *v);

static inline bool sy_json_is(const sy_json_t *v, sy_json_type_t t)
{
    return v && v->type == t;
}
static inline bool sy_json_is_bool(const sy_json_t *v)
{
    return v && (v->type == SY_JSON_TRUE || v->type == SY_JSON_FALSE);
}

/*
 * Structural equality: same types; strings and keys byte-equal; numbers by
 * their raw text (so 1.0 != 1); arrays element-wise; objects member-wise in
 * order (duplicates included). Trees deeper than SY_JSON_MAX_DEPTH_LIMIT
 * compare unequal.
 */
bool sy_json_equal(const sy_json_t *a, const sy_json_t *b);

/* True when s is exactly one JSON number per RFC 8259's grammar. */
bool sy_json_number_valid(sy_str_t s);

/*
 * Write the shortest text (at most 17 significant digits, "%g" style, so
 * valid JSON) that reads back as exactly d; returns its length, or 0 for NaN
 * and infinities. Assumes the "C" locale for LC_NUMERIC, as does strtod in
 * sy_json_as_double: Switchyard never calls setlocale.
 */
size_t sy_json_format_double(char buf[32], double d);

/* ------------------------------------------------------------ building --- */

/*
 * Constructors allocate one value in the arena. String constructors keep a
 * view (sy_json_new_str) or copy the bytes (sy_json_new_str_copy); either
 * way the writer escapes them and replaces invalid UTF-8 with U+FFFD.
 * sy_json_new_number returns NULL unless raw is a valid JSON number (it keeps
 * a view); sy_json_new_double returns NULL for NaN and infinities.
 */
sy_json_t *sy_json_new_null(sy_arena_t *a);
sy_json_t *sy_json_new_bool(sy_arena_t *a, bool b);
sy_json_t *sy_json_new_str(sy_arena_t *a, sy_str_t s);
sy_json_t *sy_json_new_str_copy(sy_arena_t *a, sy_str_t s);
sy_json_t *sy_json_new_number(sy_arena_t *a, sy_str_t raw);
sy_json_t *sy_json_new_i64(sy_arena_t *a, int64_t n);
sy_json_t *sy_json_new_u64(sy_arena_t *a, uint64_t n);
sy_json_t *sy_json_new_double(sy_arena_t *a, double d);
sy_json_t *sy_json_new_array(sy_arena_t *a);
sy_json_t *sy_json_new_object(sy_arena_t *a);

/* Make v a string view of s (clears the writer's flags). */
void sy_json_set_str(sy_json_t *v, sy_str_t s);

/*
 * Append a shallow copy of *v to an array (children are shared, not copied).
 * Returns the stored element, or NULL if arr is not an array or v is NULL.
 */
sy_json_t *sy_json_append(sy_arena_t *a, sy_json_t *arr, const sy_json_t *v);

/*
 * Set obj[key] to a shallow copy of *v and return the stored value (NULL if
 * obj is not an object or v is NULL). Afterwards exactly one member has that
 * key: the last duplicate is overwritten in place and earlier ones removed,
 * so no upstream parser, first-wins or last-wins, sees a value the gateway
 * did not write. A new key is appended at the end. The key is not copied.
 */
sy_json_t *sy_json_set(sy_arena_t *a, sy_json_t *obj, sy_str_t key, const sy_json_t *v);

/* Remove every member with this key, keeping the others' order. Returns the
 * number removed (0 if none or obj is not an object). */
size_t sy_json_remove(sy_json_t *obj, sy_str_t key);

/* ------------------------------------------------------------- writing --- */

/* Writer options. */
#define SY_JSON_WRITE_ESCAPE_LS 0x1u /* write U+2028/U+2029 as \u2028/\u2029 */

/*
 * Streaming writer state. Initialise with sy_json_writer_init(); it appends
 * to buf (what was there before is kept). The first error sticks in err and
 * turns every later call into a no-op: SY_ETOOBIG when the buffer's cap or
 * the nesting cap is hit, SY_EINVAL on misuse (a key outside an object, a
 * value where a key is due, an unbalanced end, NaN, an invalid raw number).
 * Commas and colons are placed automatically; output is compact.
 */
typedef struct {
    sy_buf_t *buf;
    int err;
    uint32_t flags;
    uint32_t depth;   /* containers open */
    bool has_items;   /* the innermost container already holds something */
    bool after_key;   /* a key was written; its value is due */
    bool root_done;   /* the top-level value is complete */
    size_t start_len; /* buf->len at init, restored when finish fails */
    uint8_t is_obj[SY_JSON_MAX_DEPTH_LIMIT / 8]; /* one bit per open level */
} sy_json_writer_t;

void sy_json_writer_init(sy_json_writer_t *w, sy_buf_t *buf, uint32_t flags);
void sy_json_write_begin_object(sy_json_writer_t *w);
void sy_json_write_end_object(sy_json_writer_t *w);
void sy_json_write_begin_array(sy_json_writer_t *w);
void sy_json_write_end_array(sy_json_writer_t *w);
/* An object member's key; the next write is its value. */
void sy_json_write_key(sy_json_writer_t *w, sy_str_t key);
void sy_json_write_string(sy_json_writer_t *w, sy_str_t s);
/* The same for text known to need no escaping (printable ASCII other than
 * '"' and '\\'), written without being scanned: for the C literals an
 * encoder writes by the dozen (member names, "assistant", "stop"). The _lit
 * forms take the literal itself. */
void sy_json_write_key_plain(sy_json_writer_t *w, sy_str_t key);
void sy_json_write_string_plain(sy_json_writer_t *w, sy_str_t s);
#define sy_json_write_key_lit(w, lit) sy_json_write_key_plain((w), SY_STR(lit))
#define sy_json_write_string_lit(w, lit) sy_json_write_string_plain((w), SY_STR(lit))
/* A number given as text; it must match the JSON number grammar. */
void sy_json_write_number_raw(sy_json_writer_t *w, sy_str_t raw);
void sy_json_write_i64(sy_json_writer_t *w, int64_t n);
void sy_json_write_u64(sy_json_writer_t *w, uint64_t n);
/* Shortest text that reads back as the same double; NaN/inf -> SY_EINVAL. */
void sy_json_write_double(sy_json_writer_t *w, double d);
void sy_json_write_bool(sy_json_writer_t *w, bool b);
void sy_json_write_null(sy_json_writer_t *w);
/* A complete JSON value given as text, copied as is (NOT validated). */
void sy_json_write_raw(sy_json_writer_t *w, sy_str_t json);
/* A whole tree (or subtree) as one value. */
void sy_json_write_value(sy_json_writer_t *w, const sy_json_t *v);

/*
 * Finish: returns the sticky error, or SY_EINVAL if containers are still open
 * or no value was written. On any error the buffer is truncated back to its
 * length at init, so no half-written JSON escapes.
 */
int sy_json_write_finish(sy_json_writer_t *w);

/* Serialize a tree into buf (appending), with writer flags. Returns as finish. */
int sy_json_serialize(const sy_json_t *v, sy_buf_t *buf, uint32_t flags);

/*
 * Length of the longest prefix of p[0..n) made of printable ASCII that needs
 * no escaping inside a JSON string (no '"', '\\', byte < 0x20 or >= 0x80).
 * Vectorised; used by the parser and the writer, handy for other encoders.
 */
size_t sy_json_plain_prefix(const char *p, size_t n);

/* Length of the well-formed UTF-8 sequence at p[0..n), n > 0 (1 for ASCII),
 * or 0 if it is not well-formed (overlong, surrogate, > U+10FFFF, cut off). */
size_t sy_json_utf8_len(const char *p, size_t n);

/*
 * The members of an object's text, one by one, without building a tree
 * (json_scan.c): for reading or rewriting a few members of a body that is
 * otherwise relayed as it is. Views point into the text. The walk checks the
 * structure (strings closed, brackets matched, commas, nothing after the
 * object) but not the grammar of numbers and literals: use it on text the
 * parser validated, or confirm what it finds with a parse of that value.
 *
 *   sy_json_members_t it; sy_json_span_t m;
 *   if (sy_json_members_init(&it, body) == SY_OK)
 *       while ((rc = sy_json_members_next(&it, &m)) == SY_OK) ...
 *   rc: SY_ENOTFOUND at the end of a well-formed object, SY_EINVAL if malformed.
 */
#define SY_JSON_SCAN_MAX_DEPTH 256 /* nesting a skipped value may have */

typedef struct {
    sy_str_t key;     /* between the quotes, escapes as written */
    bool key_escaped; /* the key holds a backslash escape (compare decoded) */
    sy_str_t value;   /* the value's text */
    sy_str_t member;  /* "key": value, the key's opening quote to the value's end */
} sy_json_span_t;

typedef struct {
    const char *p, *end;
    const char *start; /* the text's first byte (bytes from here on may be read) */
    bool first, done;
} sy_json_members_t;

/* SY_EINVAL unless the text is an object (leading whitespace allowed). */
int sy_json_members_init(sy_json_members_t *it, sy_str_t text);
int sy_json_members_next(sy_json_members_t *it, sy_json_span_t *m);

/*
 * sy_json_members_next in two steps, for a caller that reads a value
 * itself instead of having the walk skip it: _key stops at the value's
 * first byte (m->key and key_escaped set, m->value empty at that byte,
 * same codes as _next); then _value completes the member, skipping the
 * value as _next would (len 0), or taking the caller's word that it is
 * len bytes long (len > 0: the caller has checked it is one whole value).
 */
int sy_json_members_key(sy_json_members_t *it, sy_json_span_t *m);
int sy_json_members_value(sy_json_members_t *it, sy_json_span_t *m, size_t len);

#endif
