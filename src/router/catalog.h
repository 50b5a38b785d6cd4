/*
 * catalog.h - model prices and capabilities, and exact cost accounting.
 *
 * The catalogue ships inside the binary (data/catalog.yaml, compiled in at
 * build time) and is read once at start. Prices are kept as integer
 * pico-dollars (1e-12 USD) per token, so that a cost is an exact integer sum
 * of tokens x price: $0.15 per million tokens is 150000 pico-dollars a token.
 * Costs are formatted in dollars only at the edges (headers, logs, metrics).
 */
#ifndef SY_ROUTER_CATALOG_H
#define SY_ROUTER_CATALOG_H

#include "core/common.h"
#include "core/str.h"
#include "ir/ir.h"

/* Prices of one model, pico-dollars per token. */
typedef struct {
    uint64_t input;        /* uncached prompt token */
    uint64_t cached_input; /* prompt token read from the provider's cache */
    uint64_t cache_write;  /* prompt token written to the cache */
    uint64_t output;       /* completion token (reasoning included) */
    bool has_cached_input, has_cache_write;
} sy_price_t;

typedef struct {
    sy_str_t kind;    /* provider kind */
    sy_str_t pattern; /* upstream model id pattern, `*` wildcards */
    sy_price_t price;
    uint64_t context_window; /* tokens, 0 if unknown */
    uint64_t max_output;     /* tokens, 0 if unknown */
    sy_str_t source, checked;
} sy_catalog_entry_t;

/* Load the built-in catalogue (idempotent, thread-safe). Panics if the
 * compiled-in data is invalid: that is a build defect, caught by the tests. */
void sy_catalog_init(void);
/* The first entry whose kind equals `kind` and whose pattern matches `model`. */
const sy_catalog_entry_t *sy_catalog_find(sy_str_t kind, sy_str_t model);
size_t sy_catalog_count(void);
const sy_catalog_entry_t *sy_catalog_at(size_t i);

/* Parse a price in USD per million tokens ("0.15", "10", "0.00875"; at most
 * six decimals) into pico-dollars per token. SY_OK, SY_EINVAL or SY_ETOOBIG. */
int sy_price_parse(sy_str_t usd_per_mtok, uint64_t *pico_per_token);

/* The inverse: pico-dollars per token as USD per million tokens, shortest
 * exact decimal ("0.15", "10", "0.000001"). buf needs 32 bytes; returns buf. */
char *sy_price_format(uint64_t pico_per_token, char buf[32]);

/* Exact cost of a usage in pico-dollars. The IR's input counts every prompt
 * token; cached_input and cache_write are the parts billed at their own
 * prices (when the price has none, at the input price). */
uint64_t sy_cost_pico(const sy_price_t *p, const sy_ir_usage_t *u);
/* Worst-case cost before a call: every input token uncached, max_output out. */
uint64_t sy_cost_estimate_pico(const sy_price_t *p, uint64_t input_tokens, uint64_t max_output);
/* Format pico-dollars as a decimal dollar amount without trailing zeros
 * ("0.00015", "12", "0"). buf needs 32 bytes; returns buf. */
char *sy_cost_format(uint64_t pico, char buf[32]);
/* The same text without the NUL, at buf (32 bytes of room); returns its
 * length (for writers that know where it goes). */
size_t sy_cost_fmt(char *buf, uint64_t pico);

/* Glob match with `*` only (for model patterns). */
bool sy_glob_match(sy_str_t pattern, sy_str_t s);

#endif
