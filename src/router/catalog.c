/*
 * catalog.c - the built-in price catalogue and cost arithmetic.
 */
#include "router/catalog.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "config/yaml.h"
#include "core/arena.h"
#include "core/fmt.h"

/* Generated at build time from data/catalog.yaml (see the Makefile). */
extern const char sy_catalog_yaml[];
extern const size_t sy_catalog_yaml_len;

static sy_catalog_entry_t *g_entries;
static size_t g_count;
static sy_arena_t *g_arena;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

#define PICO_PER_USD_PER_MTOK 1000000ULL /* $1/Mtok = 1e-6 $/token = 1e6 pico$/token */

int sy_price_parse(sy_str_t s, uint64_t *out)
{
    s = sy_str_trim(s);
    ptrdiff_t dot = sy_str_find_char(s, '.');
    sy_str_t whole = dot < 0 ? s : sy_str_sub(s, 0, (size_t)dot);
    sy_str_t frac = dot < 0 ? SY_STR("") : sy_str_sub(s, (size_t)dot + 1, s.len);
    uint64_t w = 0, f = 0;
    if (whole.len == 0 && frac.len == 0)
        return SY_EINVAL;
    if (whole.len && sy_str_to_u64(whole, 1000000, &w) != SY_OK)
        return whole.len && sy_str_to_u64(whole, UINT64_MAX, &w) == SY_OK ? SY_ETOOBIG : SY_EINVAL;
    if (dot >= 0 && frac.len == 0)
        return SY_EINVAL;
    if (frac.len > 6)
        return SY_EINVAL; /* finer than a pico-dollar per token */
    if (frac.len && sy_str_to_u64(frac, UINT64_MAX, &f) != SY_OK)
        return SY_EINVAL;
    for (size_t i = frac.len; i < 6; i++)
        f *= 10;
    *out = w * PICO_PER_USD_PER_MTOK + f;
    return SY_OK;
}

char *sy_price_format(uint64_t pico, char buf[32])
{
    uint64_t whole = pico / PICO_PER_USD_PER_MTOK, frac = pico % PICO_PER_USD_PER_MTOK;
    int n = snprintf(buf, 32, "%llu.%06llu", (unsigned long long)whole, (unsigned long long)frac);
    while (n > 0 && buf[n - 1] == '0')
        buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '.')
        buf[--n] = '\0';
    return buf;
}

bool sy_glob_match(sy_str_t pat, sy_str_t s)
{
    size_t p = 0, i = 0, star = (size_t)-1, mark = 0;
    while (i < s.len) {
        if (p < pat.len && pat.p[p] == '*') {
            star = p++;
            mark = i;
        } else if (p < pat.len && pat.p[p] == s.p[i]) {
            p++;
            i++;
        } else if (star != (size_t)-1) {
            p = star + 1;
            i = ++mark;
        } else {
            return false;
        }
    }
    while (p < pat.len && pat.p[p] == '*')
        p++;
    return p == pat.len;
}

static int price_field(sy_cfg_ctx_t *cx, const sy_yaml_node_t *item, const char *path,
                       const char *key, uint64_t *out, bool *has)
{
    const sy_yaml_node_t *v = sy_yaml_map_get(item, key);
    if (has)
        *has = v != NULL;
    if (v == NULL) {
        *out = 0;
        return SY_OK;
    }
    if (v->kind != SY_YAML_SCALAR || sy_price_parse(v->str, out) != SY_OK) {
        sy_cfg_error(cx, v, sy_cfg_path_key(cx, path, sy_str_c(key)),
                     "expected a price in USD per million tokens, got %s", sy_cfg_shown(cx, v));
        return SY_EINVAL;
    }
    return SY_OK;
}

static void load(void)
{
    static const char *const keys[] = {"kind",   "model",          "input",      "cached_input",
                                       "cache_write", "output",    "context_window", "max_output",
                                       "source", "checked",        NULL};
    g_arena = sy_arena_new(16384);
    sy_arena_t *scratch = sy_arena_new(16384);
    sy_cfg_ctx_t cx;
    sy_cfg_ctx_init(&cx, g_arena, scratch, "data/catalog.yaml");
    sy_yaml_node_t *root;
    const char *err;
    if (sy_yaml_parse(scratch, "data/catalog.yaml", sy_catalog_yaml, sy_catalog_yaml_len, &root,
                      &err) != SY_OK)
        sy_panic("built-in catalogue: %s", err);
    if (sy_cfg_expect_seq(&cx, root, "", false) != SY_OK)
        sy_panic("built-in catalogue: expected a list");
    g_entries = sy_arena_calloc(g_arena, SY_MAX(root->len, (size_t)1) * sizeof(*g_entries));
    for (size_t i = 0; i < root->len; i++) {
        const sy_yaml_node_t *it = root->items[i];
        const char *path = sy_cfg_path_index(&cx, "", i);
        sy_catalog_entry_t *e = &g_entries[g_count++];
        if (sy_cfg_expect_map(&cx, it, path, keys) != SY_OK)
            continue;
        const sy_yaml_node_t *n;
        if ((n = sy_yaml_map_get(it, "kind")))
            sy_cfg_string(&cx, n, path, &e->kind);
        if ((n = sy_yaml_map_get(it, "model")))
            sy_cfg_string(&cx, n, path, &e->pattern);
        if ((n = sy_yaml_map_get(it, "source")))
            sy_cfg_string(&cx, n, path, &e->source);
        if ((n = sy_yaml_map_get(it, "checked")))
            sy_cfg_string(&cx, n, path, &e->checked);
        if ((n = sy_yaml_map_get(it, "context_window")))
            sy_cfg_uint(&cx, n, path, 0, 100000000, &e->context_window);
        if ((n = sy_yaml_map_get(it, "max_output")))
            sy_cfg_uint(&cx, n, path, 0, 100000000, &e->max_output);
        bool has_in, has_out;
        price_field(&cx, it, path, "input", &e->price.input, &has_in);
        price_field(&cx, it, path, "output", &e->price.output, &has_out);
        price_field(&cx, it, path, "cached_input", &e->price.cached_input,
                    &e->price.has_cached_input);
        price_field(&cx, it, path, "cache_write", &e->price.cache_write,
                    &e->price.has_cache_write);
        if (!e->kind.len || !e->pattern.len || !has_in || !has_out || !e->source.len ||
            !e->checked.len)
            sy_cfg_error(&cx, it, path, "an entry needs kind, model, input, output, source, checked");
    }
    char *errs = sy_cfg_ctx_errors(&cx);
    if (errs)
        sy_panic("built-in catalogue is invalid:\n%s", errs);
    sy_arena_free(scratch);
}

void sy_catalog_init(void) { pthread_once(&g_once, load); }

const sy_catalog_entry_t *sy_catalog_find(sy_str_t kind, sy_str_t model)
{
    sy_catalog_init();
    for (size_t i = 0; i < g_count; i++)
        if (sy_str_eq(g_entries[i].kind, kind) && sy_glob_match(g_entries[i].pattern, model))
            return &g_entries[i];
    return NULL;
}

size_t sy_catalog_count(void)
{
    sy_catalog_init();
    return g_count;
}

const sy_catalog_entry_t *sy_catalog_at(size_t i)
{
    sy_catalog_init();
    return i < g_count ? &g_entries[i] : NULL;
}

uint64_t sy_cost_pico(const sy_price_t *p, const sy_ir_usage_t *u)
{
    uint64_t cached = u->has_cached_input ? u->cached_input : 0;
    uint64_t written = u->has_cache_write ? u->cache_write : 0;
    uint64_t input = u->has_input ? u->input : 0;
    uint64_t special = cached + written;
    uint64_t plain = input > special ? input - special : 0;
    uint64_t c = plain * p->input;
    c += cached * (p->has_cached_input ? p->cached_input : p->input);
    c += written * (p->has_cache_write ? p->cache_write : p->input);
    c += (u->has_output ? u->output : 0) * p->output;
    return c;
}

uint64_t sy_cost_estimate_pico(const sy_price_t *p, uint64_t input_tokens, uint64_t max_output)
{
    uint64_t in = SY_MAX(p->input, p->has_cache_write ? p->cache_write : 0);
    return input_tokens * in + max_output * p->output;
}

/* Dollars with up to 12 decimals, trailing zeros dropped ("%llu.%012llu"
 * trimmed), digit by digit: it is written into every access line, audit
 * record and priced response, and printf cost ~1,400 instructions a call. */
/* Two decimal digits at a time for the fraction below (each call site logs
 * a cost per request: the byte-at-a-time loop was ~180 instructions). */
static const char cost_pairs[] = "00010203040506070809101112131415161718192021222324"
                                 "25262728293031323334353637383940414243444546474849"
                                 "50515253545556575859606162636465666768697071727374"
                                 "75767778798081828384858687888990919293949596979899";

/* v < 10^6 as exactly six digits at d. */
static void six_digits(char *d, uint32_t v)
{
    for (int i = 4; i >= 0; i -= 2) {
        memcpy(d + i, cost_pairs + 2 * (v % 100), 2);
        v /= 100;
    }
}

size_t sy_cost_fmt(char *buf, uint64_t pico)
{
    uint64_t whole = pico / 1000000000000ULL, frac = pico % 1000000000000ULL;
    size_t n = sy_fmt_u64(buf, whole);
    if (frac) {
        buf[n++] = '.';
        /* all twelve digits, then the trailing zeros dropped (frac is not 0,
         * so one digit at least stays) */
        six_digits(buf + n, (uint32_t)(frac / 1000000));
        six_digits(buf + n + 6, (uint32_t)(frac % 1000000));
        size_t digits = 12;
        while (buf[n + digits - 1] == '0')
            digits--;
        n += digits;
    }
    return n;
}

char *sy_cost_format(uint64_t pico, char buf[32])
{
    buf[sy_cost_fmt(buf, pico)] = '\0';
    return buf;
}
