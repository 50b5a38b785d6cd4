/*
 * admin.c - the admin API: organisations, teams, virtual keys, spend.
 *
 *   GET    /admin/orgs                 POST /admin/orgs        {"id": ..., spec}
 *   GET    /admin/orgs/ID              PATCH, DELETE /admin/orgs/ID[?cascade=true]
 *   GET    /admin/teams[?org=ID]       POST /admin/teams       {"id": ..., "org": ..., spec}
 *   GET    /admin/teams/ID             PATCH, DELETE /admin/teams/ID[?cascade=true]
 *   GET    /admin/keys[?team=ID]       POST /admin/keys        {"team": ..., spec}
 *   GET    /admin/keys/ID              PATCH /admin/keys/ID, DELETE /admin/keys/ID (revoke)
 *   POST   /admin/keys/ID/rotate       POST /admin/keys/ID/revoke
 *   GET    /admin/spend?by=key|team|org|model|provider|deployment|day
 *          [&from=MS&to=MS&key=&team=&org=&model=&provider=]
 *
 * Every call needs the master key (admin.master_key) as a bearer token or
 * x-api-key. Reads of principals answer from this instance's directory;
 * changes and spend reports run on the governance thread (they touch the
 * store) and answer when done, after this instance's directory reflects
 * them. A new or rotated key is in the answer once and never again.
 * Answers are JSON; errors are {"error": {"type": ..., "message": ...}}.
 */
#include "api/admin.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/time.h"
#include "harness/gov.h"
#include "harness/govstore.h"
#include "harness/guard.h"
#include "json/json.h"
#include "router/catalog.h"

#define ADMIN_MAX_BODY (256u * 1024)

/* ---- answering ---- */

static void answer_error(sy_http_req_t *req, int status, const char *type, const char *message)
{
    sy_http_respond_error(req, status, type, message);
}

static void answer_json(sy_http_req_t *req, int status, sy_buf_t *b)
{
    sy_http_respond(req, status, "application/json", sy_buf_ptr(b), b->len);
}

static void job_error(sy_gov_job_t *job, int status, const char *type, const char *fmt, ...)
    SY_PRINTF(4, 5);

static void job_error(sy_gov_job_t *job, int status, const char *type, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sy_buf_clear(&job->body);
    sy_json_writer_t w;
    sy_json_writer_init(&w, &job->body, 0);
    sy_json_write_begin_object(&w);
    sy_json_write_key(&w, SY_STR("error"));
    sy_json_write_begin_object(&w);
    sy_json_write_key(&w, SY_STR("type"));
    sy_json_write_string(&w, sy_str_c(type));
    sy_json_write_key(&w, SY_STR("message"));
    sy_json_write_string(&w, sy_str_c(msg));
    sy_json_write_end_object(&w);
    sy_json_write_end_object(&w);
    sy_json_write_finish(&w);
    job->status = status;
}

/* ---- request helpers ---- */

/* The percent-decoded value of `key` in the query string ("" when absent). */
static sy_str_t query(sy_arena_t *a, sy_str_t q, const char *key)
{
    sy_str_t v = SY_STR("");
    sy_http_query_param(a, q, key, &v);
    return v;
}

static bool id_ok(sy_str_t s)
{
    if (s.len == 0 || s.len > SY_GOV_MAX_ID)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static bool master_ok(const sy_config_t *cfg, const sy_http_req_t *req)
{
    sy_str_t k = SY_STR("");
    const sy_http_header_t *h =
        sy_http_header_find(req->head.headers, req->head.nheaders, "authorization");
    if (h) {
        sy_str_t v = sy_str_trim(h->value);
        if (v.len > 7 && sy_str_ieq(sy_str_sub(v, 0, 7), SY_STR("Bearer ")))
            k = sy_str_trim(sy_str_sub(v, 7, v.len));
    }
    if (k.len == 0) {
        h = sy_http_header_find(req->head.headers, req->head.nheaders, "x-api-key");
        if (h)
            k = sy_str_trim(h->value);
    }
    sy_str_t m = cfg->admin.master_key;
    return m.len && k.len == m.len && CRYPTO_memcmp(k.p, m.p, m.len) == 0;
}

bool sy_admin_authorised(const sy_config_t *cfg, const sy_http_req_t *req)
{
    return master_ok(cfg, req);
}

/* ---- writing principals ---- */

static void write_common(sy_json_writer_t *w, const char *object, sy_str_t id, uint64_t created,
                         uint64_t updated)
{
    sy_json_write_key(w, SY_STR("id"));
    sy_json_write_string(w, id);
    sy_json_write_key(w, SY_STR("object"));
    sy_json_write_string(w, sy_str_c(object));
    sy_json_write_key(w, SY_STR("created_at_ms"));
    sy_json_write_u64(w, created);
    sy_json_write_key(w, SY_STR("updated_at_ms"));
    sy_json_write_u64(w, updated);
}

static void write_org(sy_json_writer_t *w, const sy_gov_org_t *o)
{
    sy_json_write_begin_object(w);
    write_common(w, "organisation", o->id, o->created_ms, o->updated_ms);
    sy_gov_spec_write(&o->spec, SY_PRINCIPAL_ORG, w);
    sy_json_write_end_object(w);
}

static void write_team(sy_json_writer_t *w, const sy_gov_team_t *t)
{
    sy_json_write_begin_object(w);
    write_common(w, "team", t->id, t->created_ms, t->updated_ms);
    sy_json_write_key(w, SY_STR("org"));
    sy_json_write_string(w, t->org_id);
    sy_gov_spec_write(&t->spec, SY_PRINCIPAL_TEAM, w);
    sy_json_write_end_object(w);
}

static void write_key(sy_json_writer_t *w, const sy_gov_key_t *k)
{
    sy_json_write_begin_object(w);
    write_common(w, "key", k->id, k->created_ms, k->updated_ms);
    sy_json_write_key(w, SY_STR("team"));
    sy_json_write_string(w, k->team_id);
    sy_json_write_key(w, SY_STR("hint"));
    sy_json_write_string(w, k->hint);
    sy_json_write_key(w, SY_STR("revoked"));
    sy_json_write_bool(w, k->revoked);
    sy_gov_spec_write(&k->spec, SY_PRINCIPAL_KEY, w);
    sy_json_write_end_object(w);
}

/* ---- reads from the directory ---- */

typedef enum { R_ORGS = 0, R_TEAMS, R_KEYS } resource_t;

static void list_resource(sy_http_req_t *req, resource_t r, sy_str_t filter)
{
    sy_gov_dir_t *d = sy_gov_dir_acquire();
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_json_writer_t w;
    sy_json_writer_init(&w, &b, 0);
    sy_json_write_begin_object(&w);
    sy_json_write_key(&w, SY_STR("object"));
    sy_json_write_string(&w, SY_STR("list"));
    sy_json_write_key(&w, SY_STR("data"));
    sy_json_write_begin_array(&w);
    if (d) {
        if (r == R_ORGS)
            for (size_t i = 0; i < d->norgs; i++)
                write_org(&w, &d->orgs[i]);
        if (r == R_TEAMS)
            for (size_t i = 0; i < d->nteams; i++)
                if (filter.len == 0 || sy_str_eq(d->teams[i].org_id, filter))
                    write_team(&w, &d->teams[i]);
        if (r == R_KEYS)
            for (size_t i = 0; i < d->nkeys; i++)
                if (filter.len == 0 || sy_str_eq(d->keys[i].team_id, filter))
                    write_key(&w, &d->keys[i]);
    }
    sy_json_write_end_array(&w);
    sy_json_write_end_object(&w);
    sy_json_write_finish(&w);
    sy_gov_dir_unref(d);
    answer_json(req, 200, &b);
    sy_buf_free(&b);
}

static void get_resource(sy_http_req_t *req, resource_t r, sy_str_t id)
{
    sy_gov_dir_t *d = sy_gov_dir_acquire();
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_json_writer_t w;
    sy_json_writer_init(&w, &b, 0);
    bool found = true;
    if (r == R_ORGS && sy_gov_dir_org(d, id))
        write_org(&w, sy_gov_dir_org(d, id));
    else if (r == R_TEAMS && sy_gov_dir_team(d, id))
        write_team(&w, sy_gov_dir_team(d, id));
    else if (r == R_KEYS && sy_gov_dir_key(d, id))
        write_key(&w, sy_gov_dir_key(d, id));
    else
        found = false;
    sy_json_write_finish(&w);
    sy_gov_dir_unref(d);
    if (found)
        answer_json(req, 200, &b);
    else
        answer_error(req, 404, "not_found_error", "no such id");
    sy_buf_free(&b);
}

/* ---- changes, run on the governance thread ---- */

typedef enum {
    OP_CREATE,
    OP_UPDATE,
    OP_DELETE,
    OP_ROTATE,
    OP_REVOKE,
    OP_SPEND,
} op_t;

typedef struct {
    op_t op;
    resource_t r;
    char id[SY_GOV_MAX_ID + 1];
    char parent[SY_GOV_MAX_ID + 1];
    bool parent_given;
    bool cascade;
    char *body; /* the request's JSON (NUL-terminated), or NULL */
    size_t body_len;
    /* spend */
    int by;
    uint64_t from_ms, to_ms;
    char filter[5][SY_GOV_MAX_ID * 4 + 1]; /* key, team, org, model, provider */
} admin_arg_t;

static void arg_free(void *p)
{
    admin_arg_t *a = p;
    if (a) {
        free(a->body);
        free(a);
    }
}

static const char *const object_of[3] = {"organisation", "team", "key"};

static const sy_principal_kind_t kind_of[3] = {SY_PRINCIPAL_ORG, SY_PRINCIPAL_TEAM,
                                               SY_PRINCIPAL_KEY};

/* Parse `text` (a JSON object) over `spec` in arena a. */
static int spec_apply(sy_arena_t *a, const char *text, size_t len, resource_t r, sy_gov_spec_t *spec,
                      char *err, size_t errsz)
{
    sy_json_t *root = NULL;
    sy_json_error_t jerr;
    if (sy_json_parse(a, text, len, NULL, &root, &jerr) != SY_OK) {
        snprintf(err, errsz, "the body is not valid JSON: %s at line %zu, column %zu",
                 jerr.msg ? jerr.msg : "error", jerr.line, jerr.col);
        return SY_EINVAL;
    }
    return sy_gov_spec_parse(a, root, kind_of[r], sy_wall_ms(), spec, err, errsz);
}

typedef struct {
    char *text;
    bool found;
    bool removed;
    char parent[SY_GOV_MAX_ID + 1];
} spec_row_t;

static int spec_row_cb(void *ctx, int ncols, const char *const *v)
{
    spec_row_t *s = ctx;
    if (ncols < 3 || s->found)
        return SY_OK;
    s->found = true;
    s->text = sy_strdup(v[0] ? v[0] : "{}");
    s->removed = v[1] && atoi(v[1]) != 0;
    snprintf(s->parent, sizeof(s->parent), "%s", v[2] ? v[2] : "");
    return SY_OK;
}

static const char *const select_spec[3] = {
    "SELECT spec, removed, '' FROM sy_orgs WHERE id = $1",
    "SELECT spec, removed, org_id FROM sy_teams WHERE id = $1",
    "SELECT spec, revoked, team_id FROM sy_keys WHERE id = $1",
};

static int read_row(sy_gdb_t *db, resource_t r, const char *id, spec_row_t *out, char *err,
                    size_t errsz)
{
    memset(out, 0, sizeof(*out));
    const char *p[] = {id};
    return sy_gdb_exec(db, select_spec[r], p, 1, spec_row_cb, out, err, errsz);
}

static bool exists_live(sy_gdb_t *db, resource_t r, const char *id, char *err, size_t errsz,
                        int *rc)
{
    spec_row_t row;
    *rc = read_row(db, r, id, &row, err, errsz);
    free(row.text);
    return *rc == SY_OK && row.found && !row.removed;
}

/* Write the principal as the directory will show it (fresh from the row). */
static void answer_principal(sy_gov_job_t *job, resource_t r, const char *id, const char *parent,
                             const sy_gov_spec_t *spec, uint64_t created, uint64_t updated,
                             const char *key, const char *hint, int status)
{
    sy_buf_clear(&job->body);
    sy_json_writer_t w;
    sy_json_writer_init(&w, &job->body, 0);
    sy_json_write_begin_object(&w);
    write_common(&w, object_of[r], sy_str_c(id), created, updated);
    if (r == R_TEAMS) {
        sy_json_write_key(&w, SY_STR("org"));
        sy_json_write_string(&w, sy_str_c(parent));
    }
    if (r == R_KEYS) {
        sy_json_write_key(&w, SY_STR("team"));
        sy_json_write_string(&w, sy_str_c(parent));
        sy_json_write_key(&w, SY_STR("hint"));
        sy_json_write_string(&w, sy_str_c(hint));
        sy_json_write_key(&w, SY_STR("revoked"));
        sy_json_write_bool(&w, false);
        if (key) {
            /* The only time the key is ever shown. */
            sy_json_write_key(&w, SY_STR("key"));
            sy_json_write_string(&w, sy_str_c(key));
        }
    }
    if (spec)
        sy_gov_spec_write(spec, kind_of[r], &w);
    sy_json_write_end_object(&w);
    sy_json_write_finish(&w);
    job->status = status;
}

static const char *const insert_sql[3] = {
    ("INSERT INTO sy_orgs (id, spec, removed, gen, created_ms, updated_ms) VALUES ($1, $2, 0, $3,"
     " $4, $4) ON CONFLICT (id) DO UPDATE SET spec = excluded.spec, removed = 0, gen ="
     " excluded.gen, created_ms = excluded.created_ms, updated_ms = excluded.updated_ms"),
    ("INSERT INTO sy_teams (id, org_id, spec, removed, gen, created_ms, updated_ms) VALUES ($1,"
     " $5, $2, 0, $3, $4, $4) ON CONFLICT (id) DO UPDATE SET org_id = excluded.org_id, spec ="
     " excluded.spec, removed = 0, gen = excluded.gen, created_ms = excluded.created_ms,"
     " updated_ms = excluded.updated_ms"),
    ("INSERT INTO sy_keys (id, team_id, spec, revoked, gen, created_ms, updated_ms, hash, hint)"
     " VALUES ($1, $5, $2, 0, $3, $4, $4, $6, $7)"),
};

static void run_create(sy_gov_job_t *job, sy_gdb_t *db, admin_arg_t *a)
{
    char err[600];
    sy_arena_t *ar = sy_arena_new(0);
    sy_gov_spec_t spec;
    sy_gov_spec_init(&spec);
    if (spec_apply(ar, a->body, a->body_len, a->r, &spec, err, sizeof(err)) != SY_OK) {
        job_error(job, 400, "invalid_request_error", "%s", err);
        goto out;
    }
    if (sy_gdb_begin(db, err, sizeof(err)) != SY_OK)
        goto store_error;
    int rc;
    /* Parents must exist; a missing "default" organisation is created. */
    if (a->r == R_TEAMS) {
        bool ok = exists_live(db, R_ORGS, a->parent, err, sizeof(err), &rc);
        if (rc != SY_OK)
            goto rollback;
        if (!ok && strcmp(a->parent, "default") == 0) {
            uint64_t gen, now = sy_wall_ms();
            if (sy_gov_bump(db, &gen, err, sizeof(err)) != SY_OK)
                goto rollback;
            char g[24], t[24];
            snprintf(g, sizeof(g), "%llu", (unsigned long long)gen);
            snprintf(t, sizeof(t), "%llu", (unsigned long long)now);
            const char *p[] = {"default", "{\"name\":\"default\"}", g, t};
            if (sy_gdb_exec(db, insert_sql[R_ORGS], p, 4, NULL, NULL, err, sizeof(err)) != SY_OK)
                goto rollback;
        } else if (!ok) {
            sy_gdb_rollback(db);
            job_error(job, 404, "not_found_error",
                      "organisation `%s` does not exist: create it first (POST /admin/orgs)",
                      a->parent);
            goto out;
        }
    }
    if (a->r == R_KEYS) {
        bool ok = exists_live(db, R_TEAMS, a->parent, err, sizeof(err), &rc);
        if (rc != SY_OK)
            goto rollback;
        if (!ok) {
            sy_gdb_rollback(db);
            job_error(job, 404, "not_found_error",
                      "team `%s` does not exist: create it first (POST /admin/teams)", a->parent);
            goto out;
        }
    }
    if (a->r != R_KEYS) {
        bool live = exists_live(db, a->r, a->id, err, sizeof(err), &rc);
        if (rc != SY_OK)
            goto rollback;
        if (live) {
            sy_gdb_rollback(db);
            job_error(job, 409, "conflict_error", "%s `%s` already exists (PATCH changes it)",
                      object_of[a->r], a->id);
            goto out;
        }
    }
    char key[SY_KEY_LEN + 1] = "", hint[SY_KEY_HINT_LEN] = "", hash[2 * SY_KEY_HASH_LEN + 1] = "";
    if (a->r == R_KEYS) {
        if (sy_key_generate(key) != SY_OK || sy_key_new_id("key_", 20, a->id, sizeof(a->id)) != SY_OK) {
            sy_gdb_rollback(db);
            job_error(job, 500, "api_error", "the random generator failed");
            goto out;
        }
        sy_key_hash_t h;
        sy_key_hash(sy_str_c(key), &h);
        sy_key_hash_hex(&h, hash);
        sy_key_hint(sy_str_c(key), hint);
    }
    uint64_t gen, now = sy_wall_ms();
    if (sy_gov_bump(db, &gen, err, sizeof(err)) != SY_OK)
        goto rollback;
    sy_buf_t sb;
    sy_buf_init(&sb, SY_GOV_MAX_SPEC);
    sy_gov_spec_json(&spec, kind_of[a->r], &sb);
    sy_buf_append(&sb, "", 1);
    char g[24], t[24];
    snprintf(g, sizeof(g), "%llu", (unsigned long long)gen);
    snprintf(t, sizeof(t), "%llu", (unsigned long long)now);
    const char *p[] = {a->id, sy_buf_ptr(&sb), g, t, a->parent, hash, hint};
    rc = sy_gdb_exec(db, insert_sql[a->r], p, a->r == R_ORGS ? 4 : a->r == R_TEAMS ? 5 : 7, NULL,
                     NULL, err, sizeof(err));
    sy_buf_free(&sb);
    if (rc != SY_OK || sy_gdb_commit(db, err, sizeof(err)) != SY_OK)
        goto rollback;
    job->changed = true;
    answer_principal(job, a->r, a->id, a->parent, &spec, now, now, a->r == R_KEYS ? key : NULL,
                     hint, 201);
    OPENSSL_cleanse(key, sizeof(key));
    if (a->r == R_KEYS)
        sy_info("admin: key created", "\"key_id\":\"%s\",\"team\":\"%s\"", a->id, a->parent);
    else
        sy_info("admin: created", "\"%s\":\"%s\"", object_of[a->r], a->id);
    goto out;
rollback:
    sy_gdb_rollback(db);
store_error:
    job_error(job, 503, "api_error", "the store failed: %s", err);
out:
    sy_arena_free(ar);
}

static const char *const update_sql[3] = {
    "UPDATE sy_orgs SET spec = $2, gen = $3, updated_ms = $4 WHERE id = $1",
    "UPDATE sy_teams SET spec = $2, gen = $3, updated_ms = $4 WHERE id = $1",
    "UPDATE sy_keys SET spec = $2, gen = $3, updated_ms = $4 WHERE id = $1",
};

static void run_update(sy_gov_job_t *job, sy_gdb_t *db, admin_arg_t *a)
{
    char err[600];
    sy_arena_t *ar = sy_arena_new(0);
    spec_row_t row;
    memset(&row, 0, sizeof(row));
    if (sy_gdb_begin(db, err, sizeof(err)) != SY_OK)
        goto store_error;
    if (read_row(db, a->r, a->id, &row, err, sizeof(err)) != SY_OK)
        goto rollback;
    if (!row.found || row.removed) {
        sy_gdb_rollback(db);
        job_error(job, 404, "not_found_error", "%s `%s` does not exist%s", object_of[a->r], a->id,
                  row.found ? " any more" : "");
        goto out;
    }
    sy_gov_spec_t spec;
    sy_gov_spec_init(&spec);
    /* The stored spec, then the patch over it. */
    if (spec_apply(ar, row.text, strlen(row.text), a->r, &spec, err, sizeof(err)) != SY_OK ||
        spec_apply(ar, a->body, a->body_len, a->r, &spec, err, sizeof(err)) != SY_OK) {
        sy_gdb_rollback(db);
        job_error(job, 400, "invalid_request_error", "%s", err);
        goto out;
    }
    uint64_t gen, now = sy_wall_ms();
    if (sy_gov_bump(db, &gen, err, sizeof(err)) != SY_OK)
        goto rollback;
    sy_buf_t sb;
    sy_buf_init(&sb, SY_GOV_MAX_SPEC);
    sy_gov_spec_json(&spec, kind_of[a->r], &sb);
    sy_buf_append(&sb, "", 1);
    char g[24], t[24];
    snprintf(g, sizeof(g), "%llu", (unsigned long long)gen);
    snprintf(t, sizeof(t), "%llu", (unsigned long long)now);
    const char *p[] = {a->id, sy_buf_ptr(&sb), g, t};
    int rc = sy_gdb_exec(db, update_sql[a->r], p, 4, NULL, NULL, err, sizeof(err));
    sy_buf_free(&sb);
    if (rc != SY_OK || sy_gdb_commit(db, err, sizeof(err)) != SY_OK)
        goto rollback;
    job->changed = true;
    job->status = 200;
    sy_buf_clear(&job->body);
    sy_info("admin: updated", "\"%s\":\"%s\"", object_of[a->r], a->id);
    goto out;
rollback:
    sy_gdb_rollback(db);
store_error:
    job_error(job, 503, "api_error", "the store failed: %s", err);
out:
    free(row.text);
    sy_arena_free(ar);
}

static int count_cb(void *ctx, int ncols, const char *const *v)
{
    if (ncols > 0 && v[0])
        *(uint64_t *)ctx = strtoull(v[0], NULL, 10);
    return SY_OK;
}

/* Revoke keys / remove teams or organisations, with what hangs below them
 * when `cascade` (refused with 409 otherwise). */
static void run_remove(sy_gov_job_t *job, sy_gdb_t *db, admin_arg_t *a)
{
    char err[600];
    if (sy_gdb_begin(db, err, sizeof(err)) != SY_OK)
        goto store_error;
    int rc;
    spec_row_t row;
    rc = read_row(db, a->r, a->id, &row, err, sizeof(err));
    free(row.text);
    if (rc != SY_OK)
        goto rollback;
    if (!row.found || row.removed) {
        sy_gdb_rollback(db);
        if (!row.found) {
            job_error(job, 404, "not_found_error", "%s `%s` does not exist", object_of[a->r],
                      a->id);
            return;
        }
        /* Already done: the same answer again. */
        sy_buf_clear(&job->body);
        sy_buf_printf(&job->body, "{\"id\":\"%s\",\"object\":\"%s\",\"%s\":true}", a->id,
                      object_of[a->r], a->r == R_KEYS ? "revoked" : "deleted");
        job->status = 200;
        return;
    }
    const char *p1[] = {a->id};
    uint64_t below = 0;
    if (a->r == R_TEAMS)
        rc = sy_gdb_exec(db, "SELECT COUNT(*) FROM sy_keys WHERE team_id = $1 AND revoked = 0", p1,
                         1, count_cb, &below, err, sizeof(err));
    else if (a->r == R_ORGS)
        rc = sy_gdb_exec(db, "SELECT COUNT(*) FROM sy_teams WHERE org_id = $1 AND removed = 0", p1,
                         1, count_cb, &below, err, sizeof(err));
    if (rc != SY_OK)
        goto rollback;
    if (below && !a->cascade) {
        sy_gdb_rollback(db);
        job_error(job, 409, "conflict_error",
                  "%s `%s` has %llu active %s; remove them first or pass ?cascade=true",
                  object_of[a->r], a->id, (unsigned long long)below,
                  a->r == R_TEAMS ? "keys" : "teams");
        return;
    }
    uint64_t gen, now = sy_wall_ms();
    if (sy_gov_bump(db, &gen, err, sizeof(err)) != SY_OK)
        goto rollback;
    char g[24], t[24];
    snprintf(g, sizeof(g), "%llu", (unsigned long long)gen);
    snprintf(t, sizeof(t), "%llu", (unsigned long long)now);
    const char *p[] = {a->id, g, t};
    static const char *const remove_sql[3] = {
        "UPDATE sy_orgs SET removed = 1, gen = $2, updated_ms = $3 WHERE id = $1",
        "UPDATE sy_teams SET removed = 1, gen = $2, updated_ms = $3 WHERE id = $1",
        "UPDATE sy_keys SET revoked = 1, gen = $2, updated_ms = $3 WHERE id = $1",
    };
    if (sy_gdb_exec(db, remove_sql[a->r], p, 3, NULL, NULL, err, sizeof(err)) != SY_OK)
        goto rollback;
    if (a->r == R_ORGS &&
        (sy_gdb_exec(db,
                     "UPDATE sy_keys SET revoked = 1, gen = $2, updated_ms = $3 WHERE revoked = 0"
                     " AND team_id IN (SELECT id FROM sy_teams WHERE org_id = $1 AND removed = 0)",
                     p, 3, NULL, NULL, err, sizeof(err)) != SY_OK ||
         sy_gdb_exec(db,
                     "UPDATE sy_teams SET removed = 1, gen = $2, updated_ms = $3 WHERE org_id = $1"
                     " AND removed = 0",
                     p, 3, NULL, NULL, err, sizeof(err)) != SY_OK))
        goto rollback;
    if (a->r == R_TEAMS &&
        sy_gdb_exec(db,
                    "UPDATE sy_keys SET revoked = 1, gen = $2, updated_ms = $3 WHERE team_id = $1"
                    " AND revoked = 0",
                    p, 3, NULL, NULL, err, sizeof(err)) != SY_OK)
        goto rollback;
    if (sy_gdb_commit(db, err, sizeof(err)) != SY_OK)
        goto rollback;
    job->changed = true;
    sy_buf_clear(&job->body);
    sy_buf_printf(&job->body, "{\"id\":\"%s\",\"object\":\"%s\",\"%s\":true}", a->id,
                  object_of[a->r], a->r == R_KEYS ? "revoked" : "deleted");
    job->status = 200;
    sy_info(a->r == R_KEYS ? "admin: key revoked" : "admin: deleted", "\"%s\":\"%s\"",
            object_of[a->r], a->id);
    return;
rollback:
    sy_gdb_rollback(db);
store_error:
    job_error(job, 503, "api_error", "the store failed: %s", err);
}

static void run_rotate(sy_gov_job_t *job, sy_gdb_t *db, admin_arg_t *a)
{
    char err[600];
    spec_row_t row;
    memset(&row, 0, sizeof(row));
    sy_arena_t *ar = sy_arena_new(0);
    if (sy_gdb_begin(db, err, sizeof(err)) != SY_OK)
        goto store_error;
    if (read_row(db, R_KEYS, a->id, &row, err, sizeof(err)) != SY_OK)
        goto rollback;
    if (!row.found || row.removed) {
        sy_gdb_rollback(db);
        job_error(job, 404, "not_found_error", "key `%s` does not exist%s", a->id,
                  row.found ? " any more (revoked keys cannot be rotated)" : "");
        goto out;
    }
    char key[SY_KEY_LEN + 1], hint[SY_KEY_HINT_LEN], hash[2 * SY_KEY_HASH_LEN + 1];
    if (sy_key_generate(key) != SY_OK) {
        sy_gdb_rollback(db);
        job_error(job, 500, "api_error", "the random generator failed");
        goto out;
    }
    sy_key_hash_t h;
    sy_key_hash(sy_str_c(key), &h);
    sy_key_hash_hex(&h, hash);
    sy_key_hint(sy_str_c(key), hint);
    uint64_t gen, now = sy_wall_ms();
    if (sy_gov_bump(db, &gen, err, sizeof(err)) != SY_OK)
        goto rollback;
    char g[24], t[24];
    snprintf(g, sizeof(g), "%llu", (unsigned long long)gen);
    snprintf(t, sizeof(t), "%llu", (unsigned long long)now);
    const char *p[] = {a->id, hash, hint, g, t};
    if (sy_gdb_exec(db,
                    "UPDATE sy_keys SET hash = $2, hint = $3, gen = $4, updated_ms = $5 WHERE id = $1",
                    p, 5, NULL, NULL, err, sizeof(err)) != SY_OK ||
        sy_gdb_commit(db, err, sizeof(err)) != SY_OK)
        goto rollback;
    job->changed = true;
    sy_gov_spec_t spec;
    sy_gov_spec_init(&spec);
    spec_apply(ar, row.text, strlen(row.text), R_KEYS, &spec, err, sizeof(err));
    answer_principal(job, R_KEYS, a->id, row.parent, &spec, 0, now, key, hint, 200);
    OPENSSL_cleanse(key, sizeof(key));
    sy_info("admin: key rotated", "\"key_id\":\"%s\"", a->id);
    goto out;
rollback:
    sy_gdb_rollback(db);
store_error:
    job_error(job, 503, "api_error", "the store failed: %s", err);
out:
    free(row.text);
    sy_arena_free(ar);
}

/* ---- spend ---- */

#define SPEND_SQL(col)                                                                             \
    "SELECT " col ", COUNT(*), SUM(cost_pico), SUM(tokens_in), SUM(tokens_out) FROM sy_spend"     \
    " WHERE time_ms >= $1 AND time_ms < $2 AND ($3 = '' OR key_id = $3) AND ($4 = '' OR team_id"   \
    " = $4) AND ($5 = '' OR org_id = $5) AND ($6 = '' OR model = $6) AND ($7 = '' OR provider ="  \
    " $7) GROUP BY " col " ORDER BY 1"

static const struct {
    const char *name, *sql;
} spend_by[] = {
    {"key", SPEND_SQL("key_id")},         {"team", SPEND_SQL("team_id")},
    {"org", SPEND_SQL("org_id")},         {"model", SPEND_SQL("model")},
    {"provider", SPEND_SQL("provider")},  {"deployment", SPEND_SQL("deployment")},
    {"day", SPEND_SQL("time_ms / 86400000")},
};

typedef struct {
    sy_json_writer_t *w;
    const char *by;
    uint64_t requests, tin, tout;
    unsigned __int128 cost;
} spend_ctx_t;

static void write_usd(sy_json_writer_t *w, unsigned __int128 pico)
{
    /* Sums can pass 2^64 pico-dollars ($18M): print them exactly anyway. */
    char digits[48];
    int n = 0;
    do {
        digits[n++] = (char)('0' + (int)(pico % 10));
        pico /= 10;
    } while (pico && n < 47);
    while (n < 13)
        digits[n++] = '0';
    char out[64];
    size_t k = 0;
    for (int i = n - 1; i >= 12; i--)
        out[k++] = digits[i];
    int last = 0;
    for (int i = 0; i < 12; i++)
        if (digits[i] != '0') {
            last = i;
            break;
        } else {
            last = i + 1;
        }
    if (last < 12) {
        out[k++] = '.';
        for (int i = 11; i >= last; i--)
            out[k++] = digits[i];
    }
    sy_json_write_string(w, sy_str(out, k));
}

static int spend_cb(void *ctx, int ncols, const char *const *v)
{
    spend_ctx_t *s = ctx;
    if (ncols < 5)
        return SY_OK;
    uint64_t req = v[1] ? strtoull(v[1], NULL, 10) : 0;
    uint64_t cost = v[2] ? strtoull(v[2], NULL, 10) : 0;
    uint64_t tin = v[3] ? strtoull(v[3], NULL, 10) : 0, tout = v[4] ? strtoull(v[4], NULL, 10) : 0;
    s->requests += req;
    s->cost += cost;
    s->tin += tin;
    s->tout += tout;
    sy_json_writer_t *w = s->w;
    sy_json_write_begin_object(w);
    sy_json_write_key(w, sy_str_c(s->by));
    if (strcmp(s->by, "day") == 0) {
        char day[16];
        time_t t = (time_t)(strtoull(v[0] ? v[0] : "0", NULL, 10) * 86400);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(day, sizeof(day), "%Y-%m-%d", &tm);
        sy_json_write_string(w, sy_str_c(day));
    } else {
        sy_json_write_string(w, sy_str_c(v[0] ? v[0] : ""));
    }
    sy_json_write_key(w, SY_STR("requests"));
    sy_json_write_u64(w, req);
    sy_json_write_key(w, SY_STR("cost_usd"));
    write_usd(w, cost);
    sy_json_write_key(w, SY_STR("cost_pico"));
    sy_json_write_u64(w, cost);
    sy_json_write_key(w, SY_STR("tokens_in"));
    sy_json_write_u64(w, tin);
    sy_json_write_key(w, SY_STR("tokens_out"));
    sy_json_write_u64(w, tout);
    sy_json_write_end_object(w);
    return SY_OK;
}

static void run_spend(sy_gov_job_t *job, sy_gdb_t *db, admin_arg_t *a)
{
    char err[600], from[24], to[24];
    snprintf(from, sizeof(from), "%llu", (unsigned long long)a->from_ms);
    snprintf(to, sizeof(to), "%llu", (unsigned long long)a->to_ms);
    const char *p[] = {from, to, a->filter[0], a->filter[1], a->filter[2], a->filter[3], a->filter[4]};
    sy_buf_clear(&job->body);
    sy_json_writer_t w;
    sy_json_writer_init(&w, &job->body, 0);
    sy_json_write_begin_object(&w);
    sy_json_write_key(&w, SY_STR("object"));
    sy_json_write_string(&w, SY_STR("spend"));
    sy_json_write_key(&w, SY_STR("by"));
    sy_json_write_string(&w, sy_str_c(spend_by[a->by].name));
    sy_json_write_key(&w, SY_STR("from_ms"));
    sy_json_write_u64(&w, a->from_ms);
    sy_json_write_key(&w, SY_STR("to_ms"));
    sy_json_write_u64(&w, a->to_ms);
    sy_json_write_key(&w, SY_STR("data"));
    sy_json_write_begin_array(&w);
    spend_ctx_t sc = {&w, spend_by[a->by].name, 0, 0, 0, 0};
    if (sy_gdb_exec(db, spend_by[a->by].sql, p, 7, spend_cb, &sc, err, sizeof(err)) != SY_OK) {
        job_error(job, 503, "api_error", "the store failed: %s", err);
        return;
    }
    sy_json_write_end_array(&w);
    sy_json_write_key(&w, SY_STR("total"));
    sy_json_write_begin_object(&w);
    sy_json_write_key(&w, SY_STR("requests"));
    sy_json_write_u64(&w, sc.requests);
    sy_json_write_key(&w, SY_STR("cost_usd"));
    write_usd(&w, sc.cost);
    sy_json_write_key(&w, SY_STR("cost_pico"));
    if (sc.cost > UINT64_MAX)
        write_usd(&w, sc.cost * 1000000000000ull); /* past 2^64: the exact digits as a string */
    else
        sy_json_write_u64(&w, (uint64_t)sc.cost);
    sy_json_write_key(&w, SY_STR("tokens_in"));
    sy_json_write_u64(&w, sc.tin);
    sy_json_write_key(&w, SY_STR("tokens_out"));
    sy_json_write_u64(&w, sc.tout);
    sy_json_write_end_object(&w);
    sy_json_write_end_object(&w);
    sy_json_write_finish(&w);
    job->status = 200;
}

static void run_job(sy_gov_job_t *job, sy_gdb_t *db)
{
    admin_arg_t *a = job->arg;
    switch (a->op) {
    case OP_CREATE:
        run_create(job, db, a);
        break;
    case OP_UPDATE:
        run_update(job, db, a);
        break;
    case OP_DELETE:
    case OP_REVOKE:
        run_remove(job, db, a);
        break;
    case OP_ROTATE:
        run_rotate(job, db, a);
        break;
    case OP_SPEND:
        run_spend(job, db, a);
        break;
    }
}

/* After an update the answer is the principal as the directory now has it
 * (the thread refreshed it before handing the job back). */
static void write_updated(sy_gov_job_t *job)
{
    admin_arg_t *a = job->arg;
    if (a->op != OP_UPDATE || job->status != 200)
        return;
    sy_gov_dir_t *d = sy_gov_dir_acquire();
    sy_json_writer_t w;
    sy_buf_clear(&job->body);
    sy_json_writer_init(&w, &job->body, 0);
    sy_str_t id = sy_str_c(a->id);
    if (a->r == R_ORGS && sy_gov_dir_org(d, id))
        write_org(&w, sy_gov_dir_org(d, id));
    else if (a->r == R_TEAMS && sy_gov_dir_team(d, id))
        write_team(&w, sy_gov_dir_team(d, id));
    else if (a->r == R_KEYS && sy_gov_dir_key(d, id))
        write_key(&w, sy_gov_dir_key(d, id));
    else
        sy_buf_printf(&job->body, "{\"id\":\"%s\",\"object\":\"%s\"}", a->id, object_of[a->r]);
    sy_json_write_finish(&w);
    sy_gov_dir_unref(d);
}

static void on_abort(sy_http_req_t *req)
{
    sy_gov_job_t *job = req->data;
    if (job)
        job->req = NULL; /* the answer goes nowhere */
}

static void submit(sy_http_req_t *req, admin_arg_t *a)
{
    sy_gov_job_t *job = sy_gov_job_new(req, run_job, a, arg_free);
    job->on_worker = write_updated;
    req->data = job;
    req->on_abort = on_abort;
    int rc = sy_gov_job_submit(job);
    if (rc != SY_OK) {
        req->data = NULL;
        req->on_abort = NULL;
        sy_buf_free(&job->body);
        arg_free(a);
        free(job);
        answer_error(req, 503, "api_error", "the governance queue is full; retry shortly");
    }
}

/* ---- dispatch ---- */

static admin_arg_t *new_arg(op_t op, resource_t r, sy_str_t id)
{
    admin_arg_t *a = sy_calloc(1, sizeof(*a));
    a->op = op;
    a->r = r;
    snprintf(a->id, sizeof(a->id), "%.*s", (int)SY_MIN(id.len, (size_t)SY_GOV_MAX_ID), id.p);
    return a;
}

/* A guardrail policy a spec names must exist in the running configuration
 * (a request of a key whose policy is missing is refused: fail closed). */
static bool policy_ok(sy_http_req_t *req, const sy_config_t *cfg, const sy_gov_spec_t *spec)
{
    if (spec->guardrails.len == 0 || sy_guard_policy_find(cfg, spec->guardrails))
        return true;
    char msg[200];
    snprintf(msg, sizeof(msg), "guardrails: no policy named \"%.*s\" in the configuration",
             (int)SY_MIN(spec->guardrails.len, (size_t)64), spec->guardrails.p);
    answer_error(req, 400, "invalid_request_error", msg);
    return false;
}

/* Check the body is a JSON object and copy it for the job. */
static bool take_body(sy_http_req_t *req, admin_arg_t *a, sy_json_t **root)
{
    sy_str_t body = req->body.len ? req->body : SY_STR("{}");
    sy_json_error_t jerr;
    if (body.len > ADMIN_MAX_BODY ||
        sy_json_parse(req->arena, body.p, body.len, NULL, root, &jerr) != SY_OK ||
        (*root)->type != SY_JSON_OBJECT) {
        answer_error(req, 400, "invalid_request_error", "the body must be a JSON object");
        return false;
    }
    a->body = sy_malloc(body.len + 1);
    memcpy(a->body, body.p, body.len);
    a->body[body.len] = '\0';
    a->body_len = body.len;
    return true;
}

static bool member_str(const sy_json_t *root, const char *k1, const char *k2, sy_str_t *out)
{
    const sy_json_t *v = sy_json_get(root, k1);
    if (v == NULL && k2)
        v = sy_json_get(root, k2);
    if (v == NULL)
        return false;
    *out = v->type == SY_JSON_STRING ? v->u.str : SY_STR("\x01");
    return true;
}

static void handle_create(sy_http_req_t *req, const sy_config_t *cfg, resource_t r)
{
    admin_arg_t *a = new_arg(OP_CREATE, r, SY_STR(""));
    sy_json_t *root = NULL;
    if (!take_body(req, a, &root)) {
        arg_free(a);
        return;
    }
    /* Validate the spec here too, so a bad body is answered at once. */
    char err[600];
    sy_gov_spec_t spec;
    sy_gov_spec_init(&spec);
    if (sy_gov_spec_parse(req->arena, root, kind_of[r], sy_wall_ms(), &spec, err, sizeof(err)) !=
        SY_OK) {
        arg_free(a);
        answer_error(req, 400, "invalid_request_error", err);
        return;
    }
    if (!policy_ok(req, cfg, &spec)) {
        arg_free(a);
        return;
    }
    sy_str_t id = SY_STR(""), parent = SY_STR("");
    if (r != R_KEYS) {
        if (!member_str(root, "id", NULL, &id) || !id_ok(id)) {
            arg_free(a);
            answer_error(req, 400, "invalid_request_error",
                         "id: expected 1-64 letters, digits, '-', '_' or '.'");
            return;
        }
        snprintf(a->id, sizeof(a->id), "%.*s", (int)id.len, id.p);
    }
    if (r == R_TEAMS) {
        if (!member_str(root, "org", "org_id", &parent))
            parent = SY_STR("default");
        if (!id_ok(parent)) {
            arg_free(a);
            answer_error(req, 400, "invalid_request_error", "org: expected an organisation id");
            return;
        }
    }
    if (r == R_KEYS) {
        if (!member_str(root, "team", "team_id", &parent) || !id_ok(parent)) {
            arg_free(a);
            answer_error(req, 400, "invalid_request_error",
                         "team: every key belongs to a team; name it (\"team\": \"research\")");
            return;
        }
    }
    snprintf(a->parent, sizeof(a->parent), "%.*s", (int)parent.len, parent.p);
    submit(req, a);
}

static void handle_change(sy_http_req_t *req, const sy_config_t *cfg, op_t op, resource_t r,
                          sy_str_t id)
{
    admin_arg_t *a = new_arg(op, r, id);
    if (op == OP_UPDATE) {
        sy_json_t *root = NULL;
        if (!take_body(req, a, &root)) {
            arg_free(a);
            return;
        }
        char err[600];
        sy_gov_spec_t spec;
        sy_gov_spec_init(&spec);
        if (sy_gov_spec_parse(req->arena, root, kind_of[r], sy_wall_ms(), &spec, err,
                              sizeof(err)) != SY_OK) {
            arg_free(a);
            answer_error(req, 400, "invalid_request_error", err);
            return;
        }
        if (!policy_ok(req, cfg, &spec)) {
            arg_free(a);
            return;
        }
        sy_str_t moved;
        if (member_str(root, r == R_KEYS ? "team" : "org", NULL, &moved)) {
            arg_free(a);
            answer_error(req, 400, "invalid_request_error",
                         "a principal cannot move: create a new one under the other parent");
            return;
        }
    }
    a->cascade = sy_str_eq_c(query(req->arena, req->head.query, "cascade"), "true");
    submit(req, a);
}

static void handle_spend(sy_http_req_t *req)
{
    sy_arena_t *ar = req->arena;
    sy_str_t q = req->head.query;
    sy_str_t by = query(ar, q, "by");
    if (by.len == 0)
        by = SY_STR("key");
    int which = -1;
    for (size_t i = 0; i < SY_ARRAY_LEN(spend_by); i++)
        if (sy_str_eq_c(by, spend_by[i].name))
            which = (int)i;
    if (which < 0) {
        answer_error(req, 400, "invalid_request_error",
                     "by: expected key, team, org, model, provider, deployment or day");
        return;
    }
    admin_arg_t *a = new_arg(OP_SPEND, R_KEYS, SY_STR(""));
    a->by = which;
    a->from_ms = 0;
    a->to_ms = INT64_MAX;
    sy_str_t from = query(ar, q, "from"), to = query(ar, q, "to");
    if ((from.len && sy_str_to_u64(from, INT64_MAX, &a->from_ms) != SY_OK) ||
        (to.len && sy_str_to_u64(to, INT64_MAX, &a->to_ms) != SY_OK)) {
        arg_free(a);
        answer_error(req, 400, "invalid_request_error",
                     "from, to: expected milliseconds since the Unix epoch");
        return;
    }
    static const char *const filters[5] = {"key", "team", "org", "model", "provider"};
    for (int i = 0; i < 5; i++) {
        sy_str_t v = query(ar, q, filters[i]);
        snprintf(a->filter[i], sizeof(a->filter[i]), "%.*s",
                 (int)SY_MIN(v.len, sizeof(a->filter[i]) - 1), v.p);
    }
    submit(req, a);
}

void sy_admin_handle(sy_http_req_t *req, sy_config_t *cfg)
{
    if (cfg->admin.master_key.len == 0 || !sy_gov_enabled()) {
        answer_error(req, 404, "not_found_error",
                     "the admin API is off: set admin.master_key in the configuration");
        return;
    }
    if (!master_ok(cfg, req)) {
        answer_error(req, 401, "authentication_error",
                     "the admin API needs the master key (Authorization: Bearer MASTER_KEY)");
        return;
    }
    sy_str_t path = req->head.path, method = req->head.method;
    sy_str_t rest = sy_str_sub(path, sizeof("/admin/") - 1, path.len);
    if (rest.len && rest.p[rest.len - 1] == '/')
        rest.len--;
    bool get = sy_str_eq_c(method, "GET") || sy_str_eq_c(method, "HEAD");
    if (sy_str_eq_c(rest, "spend")) {
        if (get)
            handle_spend(req);
        else
            answer_error(req, 405, "method_not_allowed", "GET /admin/spend");
        return;
    }
    static const char *const names[3] = {"orgs", "teams", "keys"};
    for (int r = 0; r < 3; r++) {
        size_t nl = strlen(names[r]);
        if (rest.len < nl || memcmp(rest.p, names[r], nl) != 0 ||
            (rest.len > nl && rest.p[nl] != '/'))
            continue;
        sy_str_t tail = sy_str_sub(rest, nl + 1, rest.len);
        if (rest.len == nl) {
            if (get)
                list_resource(req, (resource_t)r,
                              query(req->arena, req->head.query, r == R_KEYS ? "team" : "org"));
            else if (sy_str_eq_c(method, "POST"))
                handle_create(req, cfg, (resource_t)r);
            else
                answer_error(req, 405, "method_not_allowed", "GET or POST");
            return;
        }
        ptrdiff_t slash = sy_str_find_char(tail, '/');
        sy_str_t id = slash < 0 ? tail : sy_str_sub(tail, 0, (size_t)slash);
        sy_str_t action = slash < 0 ? SY_STR("") : sy_str_sub(tail, (size_t)slash + 1, tail.len);
        if (!id_ok(id)) {
            answer_error(req, 404, "not_found_error", "no such id");
            return;
        }
        if (action.len) {
            if (r == R_KEYS && sy_str_eq_c(method, "POST") && sy_str_eq_c(action, "rotate"))
                handle_change(req, cfg, OP_ROTATE, R_KEYS, id);
            else if (r == R_KEYS && sy_str_eq_c(method, "POST") && sy_str_eq_c(action, "revoke"))
                handle_change(req, cfg, OP_REVOKE, R_KEYS, id);
            else
                answer_error(req, 404, "not_found_error", "no such action");
            return;
        }
        if (get)
            get_resource(req, (resource_t)r, id);
        else if (sy_str_eq_c(method, "PATCH"))
            handle_change(req, cfg, OP_UPDATE, (resource_t)r, id);
        else if (sy_str_eq_c(method, "DELETE"))
            handle_change(req, cfg, r == R_KEYS ? OP_REVOKE : OP_DELETE, (resource_t)r, id);
        else
            answer_error(req, 405, "method_not_allowed", "GET, PATCH or DELETE");
        return;
    }
    answer_error(req, 404, "not_found_error", "no admin endpoint here");
}
