/*
 * map.c - linear-probing hash map with backward-shift deletion.
 */
#include "core/map.h"

#include <stdlib.h>
#include <string.h>

static uint64_t key_hash(sy_str_t k)
{
    uint64_t h = sy_hash_bytes(k.p, k.len);
    /* Mix the bits FNV leaves weak, and reserve 0 for empty slots. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h ? h : 1;
}

void sy_map_init(sy_map_t *m)
{
    m->slots = NULL;
    m->cap = m->len = 0;
}

void sy_map_free(sy_map_t *m)
{
    free(m->slots);
    sy_map_init(m);
}

static void insert_slot(sy_map_slot_t *slots, size_t cap, sy_map_slot_t s)
{
    size_t i = s.hash & (cap - 1);
    while (slots[i].hash)
        i = (i + 1) & (cap - 1);
    slots[i] = s;
}

static void grow(sy_map_t *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    sy_map_slot_t *ns = sy_calloc(ncap, sizeof(*ns));
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].hash)
            insert_slot(ns, ncap, m->slots[i]);
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
}

static sy_map_slot_t *find(const sy_map_t *m, sy_str_t key, uint64_t h)
{
    if (m->cap == 0)
        return NULL;
    size_t i = h & (m->cap - 1);
    while (m->slots[i].hash) {
        if (m->slots[i].hash == h && sy_str_eq(m->slots[i].key, key))
            return &m->slots[i];
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

void *sy_map_put(sy_map_t *m, sy_str_t key, void *value)
{
    uint64_t h = key_hash(key);
    sy_map_slot_t *s = find(m, key, h);
    if (s) {
        void *old = s->value;
        s->value = value;
        return old;
    }
    if ((m->len + 1) * 4 > m->cap * 3)
        grow(m);
    insert_slot(m->slots, m->cap, (sy_map_slot_t){key, h, value});
    m->len++;
    return NULL;
}

void *sy_map_get(const sy_map_t *m, sy_str_t key)
{
    sy_map_slot_t *s = find(m, key, key_hash(key));
    return s ? s->value : NULL;
}

void *sy_map_del(sy_map_t *m, sy_str_t key)
{
    sy_map_slot_t *s = find(m, key, key_hash(key));
    if (s == NULL)
        return NULL;
    void *old = s->value;
    size_t mask = m->cap - 1;
    size_t i = (size_t)(s - m->slots);
    /* Backward shift: pull later entries of the probe run into the hole
     * unless their home slot lies cyclically after the hole. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (m->slots[j].hash == 0)
            break;
        size_t home = m->slots[j].hash & mask;
        bool movable = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    memset(&m->slots[i], 0, sizeof(m->slots[i]));
    m->len--;
    return old;
}

bool sy_map_next(const sy_map_t *m, size_t *iter, sy_str_t *key, void **value)
{
    for (size_t i = *iter; i < m->cap; i++) {
        if (m->slots[i].hash) {
            if (key)
                *key = m->slots[i].key;
            if (value)
                *value = m->slots[i].value;
            *iter = i + 1;
            return true;
        }
    }
    *iter = m->cap;
    return false;
}
