/*
 * yaml.h - a YAML file as a small tree of nodes that remember where they were.
 *
 * libyaml's event parser feeds a builder that makes scalar, sequence and
 * mapping nodes in an arena. Every node keeps the file name and the 1-based
 * line and column of its start, so later checks can say "FILE:LINE:COL: ...".
 *
 * Deliberately refused (each with a clear error): anchors and aliases (they
 * make one node appear in many places, so positions and error paths lie, and
 * they allow "billion laughs" blow-ups), more than one document per file,
 * duplicate keys in a mapping, keys that are not scalars, NUL characters in
 * scalars, tags other than the standard !!str !!int !!float !!bool !!null
 * !!map !!seq and the non-specific "!" (which, like !!str, marks a string).
 */
#ifndef SY_CONFIG_YAML_H
#define SY_CONFIG_YAML_H

#include "core/common.h"
#include "core/str.h"

/* Caps on what one file can make the builder allocate. */
#define SY_YAML_MAX_DEPTH 64      /* nested sequences/mappings */
#define SY_YAML_MAX_NODES 500000u /* nodes per file */

typedef enum {
    SY_YAML_SCALAR = 1,
    SY_YAML_SEQ,
    SY_YAML_MAP,
} sy_yaml_kind_t;

typedef struct sy_yaml_node sy_yaml_node_t;

/* One key/value pair of a mapping, in document order. */
typedef struct {
    sy_yaml_node_t *key; /* always a scalar */
    sy_yaml_node_t *value;
} sy_yaml_pair_t;

/*
 * A node. All memory (the node, its strings and child arrays) is in the arena
 * given to sy_yaml_parse and lives as long as it. Scalar strings are
 * NUL-terminated and never contain NUL bytes.
 *
 * `raw` is the scalar as written (after YAML unquoting); `str` is the value to
 * use, equal to `raw` until sy_cfg_expand_tree() replaces it with the
 * ${ENV}-expanded text and sets `from_env` if an environment variable's value
 * went into it. `is_null` marks a plain "", "~",
 * "null" (any case) or a !!null-tagged scalar: an absent value. `key` points
 * at the key node when this node is a mapping's value (NULL otherwise), so an
 * error about a value can point at the line that names it.
 */
struct sy_yaml_node {
    sy_yaml_kind_t kind;
    uint32_t line, col; /* 1-based position of the node's first character */
    const char *file;   /* as given to sy_yaml_parse; shared by all nodes */
    const sy_yaml_node_t *key;
    /* SY_YAML_SCALAR */
    sy_str_t raw;
    sy_str_t str;
    bool plain;    /* written without quotes or block style, and not !!str */
    bool is_null;  /* an absent value (see above) */
    bool from_env; /* str holds the value of at least one ${VAR} */
    bool invalid;  /* an error was already reported for this value */
    /* SY_YAML_SEQ: items[0..len); SY_YAML_MAP: pairs[0..len) */
    size_t len;
    sy_yaml_node_t **items;
    sy_yaml_pair_t *pairs;
};

/*
 * Parse `len` bytes of YAML text into a tree allocated in `a`. `file` names
 * the input in messages and in every node (it is copied into the arena).
 *
 * Returns SY_OK and sets *root (NULL when the stream holds no document: an
 * empty or comments-only file). On error returns SY_EINVAL and sets *err to a
 * one-line message "FILE:LINE:COL: problem" allocated in `a`; *root is NULL.
 */
int sy_yaml_parse(sy_arena_t *a, const char *file, const char *text, size_t len,
                  sy_yaml_node_t **root, const char **err);

/* The value of `key` in mapping `map`, or NULL (also when map is not a mapping). */
sy_yaml_node_t *sy_yaml_map_get(const sy_yaml_node_t *map, const char *key);

/* "a mapping", "a sequence", "a string" or "nothing" (null): for messages. */
const char *sy_yaml_describe(const sy_yaml_node_t *n);

/* `s` in double quotes for a message, arena-allocated: quotes, backslashes
 * and control characters escaped, and cut to `max` bytes with "..." after. */
const char *sy_yaml_quote(sy_arena_t *a, sy_str_t s, size_t max);

#endif
