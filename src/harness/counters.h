/*
 * counters.h - rate-limit and budget counters behind one reserve/settle
 * interface, with two backends: this process (atomics) and Redis (atomic
 * Lua scripts, shared by every instance).
 *
 * A request reserves, before it is sent anywhere, one batch of amounts: one
 * request against each RPM limit that applies to it (key, team,
 * organisation), its worst-case tokens against each TPM limit, and its
 * worst-case cost against each budget window. The batch is all or nothing:
 * when one counter refuses, nothing stays taken and the batch says which
 * counter refused and when it will have room. After the call the request
 * settles each amount with what was really used (a request that never
 * reached a provider settles its RPM to 0; tokens and cost as the provider
 * reported them), which gives back what the worst case over-estimated.
 *
 * Windows (docs/internals/governance.md has the argument):
 *   rate    a sliding minute counted per whole second: an amount taken in
 *           second s counts while now - s <= 60, i.e. for 60 to 61 seconds.
 *           No 60-second interval ever holds more than the limit; what was
 *           taken is given back up to one second late (never early).
 *   budget  a calendar window in UTC: the day, the month, or all time. The
 *           counter holds what was settled plus what is reserved.
 * Both backends implement exactly these semantics, so one instance and
 * three instances sharing Redis admit the same requests.
 *
 * In-process backend: per principal one state (sy_ctr_state_t) whose words
 * are updated with compare-and-swap only; no lock is taken.
 *   rate:   a total and 61 one-second slots (second tag 28 bits, amount 36
 *           bits). Reserve adds to the total if it stays within the limit,
 *           then to the current second's slot; a sweep (once per second per
 *           window) moves expired slots out of the total.
 *   budget: two slots per window kind, picked by the window index's parity;
 *           the first request of a new window resets the slot (a BUSY bit
 *           held for a few instructions, once per day or month).
 */
#ifndef SY_HARNESS_COUNTERS_H
#define SY_HARNESS_COUNTERS_H

#include <stdatomic.h>

#include "core/common.h"
#include "core/str.h"

#define SY_RATE_SLOTS 61        /* seconds kept: the current one and the 60 before it */
#define SY_RATE_WINDOW_S 60     /* an amount counts while now - second <= this */
#define SY_CTR_MAX_OPS 16       /* counters one request may touch */

typedef enum {
    SY_WINDOW_DAY = 0,
    SY_WINDOW_MONTH,
    SY_WINDOW_TOTAL,
    SY_WINDOW__COUNT
} sy_window_t;

extern const char *const sy_window_names[]; /* "day", "month", "total" */

/* The index of the window holding unix second `sec`: days since the epoch,
 * months since year 0 (year * 12 + month), 0 for total. */
uint64_t sy_window_index(sy_window_t w, uint64_t sec);
/* The unix second at which window `idx` ends (UINT64_MAX for total). */
uint64_t sy_window_end(sy_window_t w, uint64_t idx);

typedef struct {
    _Atomic uint64_t total;
    _Atomic uint64_t swept; /* the last second a sweep ran */
    _Atomic uint64_t slot[SY_RATE_SLOTS];
} sy_ctr_rate_t;

typedef struct {
    _Atomic uint64_t tag[2];  /* window index + 1; 0 empty; bit 63: being reset */
    _Atomic uint64_t used[2]; /* pico-dollars settled + reserved */
} sy_ctr_budget_t;

/* One principal's in-process counters, created by the directory for every
 * principal that has a limit, kept across directory rebuilds (found by id)
 * and never freed while the process runs. */
typedef struct sy_ctr_state {
    sy_str_t id; /* "k:key_...", "t:team", "o:org" (NUL-terminated) */
    sy_ctr_rate_t rpm, tpm;
    sy_ctr_budget_t budget[SY_WINDOW__COUNT];
    /* The ledger's spend per window when the directory last read it: the
     * starting point of a window this process has not counted yet (and, for
     * Redis, of a counter the server lost). */
    _Atomic uint64_t seed[SY_WINDOW__COUNT];
    _Atomic uint64_t seed_idx[SY_WINDOW__COUNT];
} sy_ctr_state_t;

/* The state for `id`, created (zeroed) on first use. Thread-safe; never NULL
 * unless the table is full (SY_CTR_STATE_MAX distinct principals). */
#define SY_CTR_STATE_MAX 262144
sy_ctr_state_t *sy_ctr_state_get(sy_str_t id);
/* The state for `id` if one exists, else NULL. */
sy_ctr_state_t *sy_ctr_state_find(sy_str_t id);

typedef enum { SY_CTR_RPM = 0, SY_CTR_TPM, SY_CTR_BUDGET } sy_ctr_kind_t;
typedef enum { SY_SCOPE_KEY = 0, SY_SCOPE_TEAM, SY_SCOPE_ORG } sy_scope_t;

extern const char *const sy_scope_names[]; /* "key", "team", "organisation" */

/* One counter of a batch. The caller fills the first block; reserve fills
 * the second. */
typedef struct {
    uint8_t kind;   /* sy_ctr_kind_t */
    uint8_t scope;  /* sy_scope_t: for messages and headers */
    uint8_t window; /* budget: sy_window_t */
    sy_ctr_state_t *st;
    uint64_t limit, amount;
    /* filled by reserve */
    bool taken;
    uint64_t at;        /* rate: the second it was counted in; budget: window index */
    uint64_t used;      /* after this reservation (or, refused, before it) */
    uint64_t reset_ms;  /* rate: when everything counted now has left the window;
                           budget: when the window ends (0: never) */
} sy_ctr_op_t;

typedef enum {
    SY_CTR_OK = 0,
    SY_CTR_REFUSED,     /* ops[failed] has no room; retry_after_ms says when */
    SY_CTR_TOO_LARGE,   /* ops[failed].amount exceeds its limit outright */
    SY_CTR_UNAVAILABLE, /* the backend could not answer (Redis down or slow) */
} sy_ctr_result_t;

typedef struct {
    sy_ctr_op_t ops[SY_CTR_MAX_OPS];
    size_t n;
    char id[32]; /* the reservation's id (Redis keeps it until settled or expired) */
    int result;  /* sy_ctr_result_t */
    int failed;  /* index of the refusing op, -1 */
    uint64_t retry_after_ms;
    uint64_t now_ms; /* the backend's clock when it decided (Redis: the server's) */
    bool local;      /* taken from the in-process counters */
} sy_ctr_batch_t;

/* Append an op; false when the batch is full. */
bool sy_ctr_add(sy_ctr_batch_t *b, sy_ctr_kind_t kind, sy_scope_t scope, sy_window_t window,
                sy_ctr_state_t *st, uint64_t limit, uint64_t amount);

/* ---- the in-process backend ---- */

/* Reserve every op of b at unix time now_ms, all or nothing. Sets
 * b->result, b->failed, b->retry_after_ms and each op's results. */
void sy_ctr_local_reserve(sy_ctr_batch_t *b, uint64_t now_ms);
/* Settle op i with what was used (kind's unit); `used` may exceed the
 * amount reserved. Nothing happens for an op that was not taken. */
void sy_ctr_local_settle(sy_ctr_batch_t *b, size_t i, uint64_t used, uint64_t now_ms);

/* Single counters, for tests and for reading figures. */
int sy_ctr_rate_reserve(sy_ctr_rate_t *r, uint64_t limit, uint64_t amount, uint64_t now_ms,
                        uint64_t *at, uint64_t *used, uint64_t *retry_after_ms);
void sy_ctr_rate_settle(sy_ctr_rate_t *r, uint64_t at, uint64_t reserved, uint64_t used,
                        uint64_t now_ms);
/* What the window holds at now, and when all of it will have left (ms). */
uint64_t sy_ctr_rate_current(sy_ctr_rate_t *r, uint64_t now_ms, uint64_t *reset_ms);
int sy_ctr_budget_reserve(sy_ctr_budget_t *b, uint64_t idx, uint64_t seed, uint64_t limit,
                          uint64_t amount, uint64_t *used);
void sy_ctr_budget_settle(sy_ctr_budget_t *b, uint64_t idx, uint64_t reserved, uint64_t used);
/* What window idx holds (0 when this process has not counted it yet: the
 * caller uses the seed then). */
uint64_t sy_ctr_budget_current(sy_ctr_budget_t *b, uint64_t idx, bool *known);

#endif
