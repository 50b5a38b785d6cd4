/*
 * gov_int.h - what the governance files share: the service, its queue
 * items, the per-worker state. Not for use outside src/harness/gov*.c.
 */
#ifndef SY_HARNESS_GOV_INT_H
#define SY_HARNESS_GOV_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/queue.h"
#include "harness/counters_redis.h"
#include "harness/gov.h"
#include "harness/govstore.h"
#include "store/writer.h"

/* Counters, for metrics. */
typedef struct {
    _Atomic uint64_t auth_fail[6]; /* missing, invalid, revoked, expired, disabled, team gone */
    _Atomic uint64_t refused[SY_GOV_REFUSE_UNAVAILABLE + 1];
    _Atomic uint64_t spend_rows, spend_batches, store_errors, syncs, builds;
    _Atomic uint64_t counters_unavailable, counters_fail_open;
    _Atomic uint64_t jobs;
} gov_stats_t;

extern gov_stats_t sy_gov_stats;

/* The queue's items: a spend row, or a poke that makes the thread run the
 * admin jobs waiting in its list. */
enum { GOV_ITEM_SPEND = 1, GOV_ITEM_POKE };

typedef struct {
    sy_writer_item_t hdr;
    int type;
} gov_item_t;

typedef struct {
    gov_item_t it;
    uint64_t time_ms, tokens_in, tokens_out, cost_pico;
    int status;
    const char *request_id, *key_id, *team_id, *org_id, *model, *provider, *deployment;
    char text[]; /* the strings above, NUL-terminated, one after another */
} gov_spend_t;

/* Per worker: the mailbox admin answers come back through, and the Redis
 * connection. Never freed before sy_gov_stop (a job may still point at it);
 * `closed` once the worker is gone. */
typedef struct gov_worker {
    sy_loop_t *loop;
    int efd;
    sy_io_t io;
    sy_queue_t done; /* finished sy_gov_job_t */
    pthread_mutex_t lock;
    bool closed;
    sy_redis_conn_t *redis;
    struct gov_worker *next;
} gov_worker_t;

typedef struct {
    sy_config_governance_t cfg;
    sy_config_counters_t counters; /* strings copied to the heap */
    char redis_addr[64];
    bool redis;
    sy_gdb_t *db;
    sy_queue_t q;
    size_t capacity;
    _Atomic size_t reserved; /* places: admitted requests' rows not yet written */
    sy_writer_t *writer;
    /* admin jobs waiting for the thread */
    pthread_mutex_t jobs_lock;
    sy_gov_job_t **jobs;
    size_t njobs, jobs_cap;
    gov_worker_t *workers; /* under jobs_lock */
    /* the thread's own state */
    void *rows;           /* gov.c's row tables */
    uint64_t generation;  /* of the published directory */
    uint64_t next_sync_ns, next_seed_ns;
    _Atomic bool sync_asked;
} gov_t;

extern gov_t *_Atomic sy_gov_g;

/* Take / give back a place in the spend queue (gov.c). */
bool sy_gov_place_take(void);
void sy_gov_place_give(void);
/* Queue a spend row (a place is held). */
void sy_gov_spend_push(const sy_gov_usage_t *u, sy_str_t key_id, sy_str_t team_id,
                       sy_str_t org_id);
/* The calling worker's state (NULL outside workers). */
gov_worker_t *sy_gov_worker(void);

#endif
