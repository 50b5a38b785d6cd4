/*
 * internal.h - what the simulator's core files share with each other and not
 * with the families: the request log and the engine's entry points.
 */
#ifndef SY_SIM_INTERNAL_H
#define SY_SIM_INTERNAL_H

#include "sim/sim.h"

/* The request log behind /_sim/requests (record.c): a ring of the last `cap`
 * requests, each one malloc'd block holding copies of the method, path,
 * query and headers with secrets masked, and the body (capped). One mutex;
 * recording costs one copy and one malloc per request. */
sy_sim_log_t *sy_sim_log_new(uint32_t cap);
void sy_sim_log_free(sy_sim_log_t *log);
/* tmp: a scratch buffer of the caller's (cleared). */
void sy_sim_log_record(sy_sim_log_t *log, const sy_http_req_t *req, int worker, sy_buf_t *tmp);
void sy_sim_log_reset(sy_sim_log_t *log);
/* Append {"total":N,"requests":[...]} (oldest first). `a` holds parsed bodies. */
void sy_sim_log_dump(sy_sim_log_t *log, sy_buf_t *out, sy_arena_t *a);

/* Mask a secret for the log: "****" plus its last 4 characters when it is
 * long enough (12+) for those not to give it away. Appends to out. */
void sy_sim_mask_secret(sy_str_t secret, sy_buf_t *out);
/* Append the masked form of a header value (Authorization schemes, AWS
 * SigV4 credentials and signature) or the value itself when not secret. */
void sy_sim_mask_header(sy_str_t name, sy_str_t value, sy_buf_t *out);
/* Append the query string with secret parameters masked. */
void sy_sim_mask_query(sy_str_t query, sy_buf_t *out);

#endif
