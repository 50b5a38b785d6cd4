/*
 * access.h - the access log: one JSON line per request.
 *
 * Lines are appended to a per-worker buffer and written with one write(2)
 * when it passes SY_ACCESS_FLUSH_BYTES or when the worker's flush timer fires
 * (every SY_ACCESS_FLUSH_MS), so the request path does not pay a system call
 * per request. A line never holds a secret or prompt text: only ids, names,
 * numbers and error classes.
 */
#ifndef SY_OBS_ACCESS_H
#define SY_OBS_ACCESS_H

#include <time.h>

#include "core/buf.h"
#include "core/loop.h"
#include "ir/ir.h"

#define SY_ACCESS_FLUSH_BYTES (32 * 1024)
#define SY_ACCESS_FLUSH_MS 200

typedef struct {
    sy_str_t request_id;
    sy_str_t frontdoor; /* "openai", "anthropic", or "" */
    sy_str_t method, path;
    sy_str_t model;          /* as the client asked */
    sy_str_t provider;       /* config name of the provider that answered */
    sy_str_t upstream_model; /* the deployment's model id */
    int status;
    bool stream;
    uint32_t attempts;
    sy_str_t attempt_log; /* "openai-main:429,claude:200" style summary, or "" */
    sy_str_t route_json;  /* the router's attempts as a JSON array (written as is), or "" */
    sy_str_t strategy;    /* the group's routing strategy, or "" */
    sy_str_t error_class; /* "" when none */
    uint64_t duration_ns, upstream_ns, ttft_ns;
    sy_ir_usage_t usage;
    uint64_t cost_pico;
    sy_str_t cost_text;   /* sy_cost_fmt(cost_pico) when the caller has it already, or empty */
    bool cost_known;
    bool client_aborted;
    bool usage_estimated; /* the provider's usage never arrived: tokens estimated */
} sy_access_entry_t;

typedef struct {
    sy_buf_t buf;
    sy_timer_t timer;
    bool enabled;
    time_t ts_sec;    /* the second ts_text shows */
    size_t ts_len;    /* 0: not formatted yet */
    char ts_text[24]; /* "YYYY-MM-DDTHH:MM:SS" of ts_sec, UTC */
} sy_access_log_t;

void sy_access_init(sy_access_log_t *l, sy_loop_t *loop, bool enabled);
void sy_access_write(sy_access_log_t *l, const sy_access_entry_t *e);
void sy_access_flush(sy_access_log_t *l);
void sy_access_fini(sy_access_log_t *l);

#endif
