/*
 * map.h - open-addressing hash map from string views to pointers.
 *
 * Linear probing with backward-shift deletion (no tombstones), load factor
 * kept under 3/4. Keys are views the caller keeps alive (intern them in an
 * arena); values are opaque pointers. Not thread-safe: the shared tables are
 * built once and published read-only inside an immutable snapshot.
 */
#ifndef SY_CORE_MAP_H
#define SY_CORE_MAP_H

#include "core/common.h"
#include "core/str.h"

typedef struct {
    sy_str_t key;
    uint64_t hash; /* 0 marks an empty slot */
    void *value;
} sy_map_slot_t;

typedef struct {
    sy_map_slot_t *slots;
    size_t cap; /* power of two, or 0 */
    size_t len;
} sy_map_t;

void sy_map_init(sy_map_t *m);
void sy_map_free(sy_map_t *m);
/* Insert or replace. Returns the previous value or NULL. */
void *sy_map_put(sy_map_t *m, sy_str_t key, void *value);
void *sy_map_get(const sy_map_t *m, sy_str_t key);
/* Remove; returns the removed value or NULL. */
void *sy_map_del(sy_map_t *m, sy_str_t key);
/* Iterate: for (size_t i = 0; sy_map_next(m, &i, &k, &v);) */
bool sy_map_next(const sy_map_t *m, size_t *iter, sy_str_t *key, void **value);

#endif
