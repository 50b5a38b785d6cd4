/*
 * config.c - the simulator's configuration: built-in models, the YAML file,
 * and the x-sim-* behaviour headers.
 *
 * The file format is in docs/sim.md. It goes through the same pipeline as
 * the gateway's configuration (config/yaml.h, ${ENV} expansion, the sy_cfg_*
 * checkers), so errors read "FILE:LINE:COL: key.path: message" and every
 * error in a file is reported at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "config/yaml.h"
#include "sim/sim.h"

/* ---------------------------------------------------------------- faults --- */

static const char *const fault_names[] = {
    [SY_SIM_FAULT_NONE] = "none",          [SY_SIM_FAULT_429] = "429",
    [SY_SIM_FAULT_500] = "500",            [SY_SIM_FAULT_503] = "503",
    [SY_SIM_FAULT_529] = "529",            [SY_SIM_FAULT_HANG] = "hang",
    [SY_SIM_FAULT_HANG_STREAM] = "hang-stream", [SY_SIM_FAULT_RESET] = "reset",
    [SY_SIM_FAULT_TRUNCATE] = "truncate",  [SY_SIM_FAULT_MALFORMED] = "malformed",
    [SY_SIM_FAULT_CONTENT_TYPE] = "content-type",
};

int sy_sim_fault_parse(sy_str_t s)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(fault_names); i++)
        if (sy_str_ieq_c(s, fault_names[i]))
            return (int)i;
    return -1;
}

const char *sy_sim_fault_name(sy_sim_fault_t f)
{
    return (size_t)f < SY_ARRAY_LEN(fault_names) ? fault_names[f] : "?";
}

/* ------------------------------------------------------ behaviour headers --- */

static int parse_u32(sy_str_t v, uint32_t max, uint32_t *out)
{
    uint64_t n;
    if (sy_str_to_u64(sy_str_trim(v), max, &n) != SY_OK)
        return SY_EINVAL;
    *out = (uint32_t)n;
    return SY_OK;
}

static int parse_tools(sy_str_t v, sy_sim_tools_t *mode, uint32_t *count)
{
    v = sy_str_trim(v);
    if (sy_str_ieq_c(v, "auto")) {
        *mode = SY_SIM_TOOLS_AUTO;
        return SY_OK;
    }
    if (sy_str_ieq_c(v, "none")) {
        *mode = SY_SIM_TOOLS_NONE;
        return SY_OK;
    }
    if (sy_str_ieq_c(v, "parallel")) {
        *mode = SY_SIM_TOOLS_COUNT;
        *count = 2;
        return SY_OK;
    }
    uint32_t n;
    if (parse_u32(v, SY_SIM_MAX_TOOL_CALLS, &n) != SY_OK)
        return SY_EINVAL;
    *mode = n ? SY_SIM_TOOLS_COUNT : SY_SIM_TOOLS_NONE;
    *count = n;
    return SY_OK;
}

int sy_sim_behaviour_header(sy_sim_behaviour_t *b, sy_str_t name, sy_str_t value,
                            const char **why)
{
    *why = NULL;
    if (name.len < 6 || !sy_str_ieq(sy_str_sub(name, 0, 6), SY_STR("x-sim-")))
        return SY_ENOTFOUND;
    sy_str_t k = sy_str_sub(name, 6, name.len);
    if (sy_str_ieq_c(k, "ttft-ms")) {
        if (parse_u32(value, SY_SIM_MAX_TTFT_MS, &b->ttft_ms) == SY_OK)
            return SY_OK;
        *why = "x-sim-ttft-ms wants milliseconds, 0..600000";
    } else if (sy_str_ieq_c(k, "tps")) {
        if (parse_u32(value, SY_SIM_MAX_TPS, &b->tps) == SY_OK)
            return SY_OK;
        *why = "x-sim-tps wants tokens per second, 0 (no pacing)..1000000";
    } else if (sy_str_ieq_c(k, "output-tokens")) {
        if (parse_u32(value, SY_SIM_MAX_OUTPUT_TOKENS, &b->output_tokens) == SY_OK)
            return SY_OK;
        *why = "x-sim-output-tokens wants 0..100000";
    } else if (sy_str_ieq_c(k, "seed")) {
        uint64_t n;
        if (sy_str_to_u64(sy_str_trim(value), UINT64_MAX, &n) == SY_OK) {
            b->seed = n;
            b->seed_set = true;
            return SY_OK;
        }
        *why = "x-sim-seed wants an unsigned 64-bit integer";
    } else if (sy_str_ieq_c(k, "tools")) {
        if (parse_tools(value, &b->tools, &b->tool_calls) == SY_OK)
            return SY_OK;
        *why = "x-sim-tools wants auto, none, parallel or a count 0..16";
    } else if (sy_str_ieq_c(k, "fault")) {
        int f = sy_sim_fault_parse(sy_str_trim(value));
        if (f >= 0) {
            b->fault = (sy_sim_fault_t)f;
            return SY_OK;
        }
        *why = "x-sim-fault wants one of none, 429, 500, 503, 529, hang, hang-stream, reset, "
               "truncate, malformed, content-type";
    } else if (sy_str_ieq_c(k, "fault-after")) {
        uint32_t n;
        if (parse_u32(value, 1000000, &n) == SY_OK) {
            b->fault_after = (int32_t)n;
            return SY_OK;
        }
        *why = "x-sim-fault-after wants a number of events, 0..1000000";
    } else if (sy_str_ieq_c(k, "retry-after")) {
        if (parse_u32(value, 86400, &b->retry_after_s) == SY_OK)
            return SY_OK;
        *why = "x-sim-retry-after wants seconds, 0..86400";
    } else {
        *why = "unknown x-sim-* header (see docs/sim.md)";
    }
    return SY_EINVAL;
}

/* -------------------------------------------------------- built-in models --- */

typedef struct {
    const char *name, *version;
    sy_sim_family_id_t family;
    sy_sim_kind_t kind;
    uint32_t dims, context, max_output;
    bool reasoning;
    uint64_t created;
    const char *owned_by;
} builtin_t;

#define OA SY_SIM_FAMILY_OPENAI
#define AN SY_SIM_FAMILY_ANTHROPIC
#define GE SY_SIM_FAMILY_GEMINI
#define BR SY_SIM_FAMILY_BEDROCK
#define CH SY_SIM_KIND_CHAT
#define EM SY_SIM_KIND_EMBEDDING
static const builtin_t builtins[] = {
    {"gpt-4o-mini", "gpt-4o-mini-2024-07-18", OA, CH, 0, 128000, 16384, false, 1721172741, "system"},
    {"gpt-4o", "gpt-4o-2024-08-06", OA, CH, 0, 128000, 16384, false, 1715367049, "system"},
    {"gpt-4.1-nano", "gpt-4.1-nano-2025-04-14", OA, CH, 0, 1047576, 32768, false, 1744321707, "system"},
    {"gpt-4.1-mini", "gpt-4.1-mini-2025-04-14", OA, CH, 0, 1047576, 32768, false, 1744318173, "system"},
    {"gpt-5-nano", "gpt-5-nano-2025-08-07", OA, CH, 0, 400000, 128000, true, 1754426384, "system"},
    {"gpt-5-mini", "gpt-5-mini-2025-08-07", OA, CH, 0, 400000, 128000, true, 1754425928, "system"},
    {"o3-mini", "o3-mini-2025-01-31", OA, CH, 0, 200000, 100000, true, 1737146383, "system"},
    {"text-embedding-3-small", "text-embedding-3-small", OA, EM, 1536, 8191, 0, false, 1705948997, "system"},
    {"text-embedding-3-large", "text-embedding-3-large", OA, EM, 3072, 8191, 0, false, 1705953180, "system"},
    {"text-embedding-ada-002", "text-embedding-ada-002", OA, EM, 1536, 8191, 0, false, 1671217299, "openai-internal"},
    {"claude-sonnet-4-5", "claude-sonnet-4-5-20250929", AN, CH, 0, 200000, 64000, false, 1759104000, "anthropic"},
    {"claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929", AN, CH, 0, 200000, 64000, false, 1759104000, "anthropic"},
    {"claude-haiku-4-5", "claude-haiku-4-5-20251001", AN, CH, 0, 200000, 64000, false, 1760486400, "anthropic"},
    {"claude-haiku-4-5-20251001", "claude-haiku-4-5-20251001", AN, CH, 0, 200000, 64000, false, 1760486400, "anthropic"},
    {"claude-opus-4-1", "claude-opus-4-1-20250805", AN, CH, 0, 200000, 32000, false, 1754352000, "anthropic"},
    {"claude-opus-4-1-20250805", "claude-opus-4-1-20250805", AN, CH, 0, 200000, 32000, false, 1754352000, "anthropic"},
    {"claude-3-5-haiku-20241022", "claude-3-5-haiku-20241022", AN, CH, 0, 200000, 8192, false, 1729555200, "anthropic"},
    {"gemini-2.5-flash", "gemini-2.5-flash", GE, CH, 0, 1048576, 65536, false, 1750118400, "google"},
    {"gemini-2.5-pro", "gemini-2.5-pro", GE, CH, 0, 1048576, 65536, false, 1750118400, "google"},
    {"gemini-2.0-flash", "gemini-2.0-flash", GE, CH, 0, 1048576, 8192, false, 1738713600, "google"},
    {"text-embedding-004", "text-embedding-004", GE, EM, 768, 2048, 0, false, 1715731200, "google"},
    {"anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic.claude-3-5-sonnet-20240620-v1:0", BR, CH, 0, 200000, 8192, false, 1718841600, "anthropic"},
    {"anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic.claude-3-5-sonnet-20241022-v2:0", BR, CH, 0, 200000, 8192, false, 1729555200, "anthropic"},
    {"us.anthropic.claude-3-5-sonnet-20241022-v2:0", "us.anthropic.claude-3-5-sonnet-20241022-v2:0", BR, CH, 0, 200000, 8192, false, 1729555200, "anthropic"},
    {"anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0", BR, CH, 0, 200000, 64000, false, 1759104000, "anthropic"},
    {"amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0", BR, CH, 0, 300000, 5120, false, 1733184000, "amazon"},
    {"amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0", BR, CH, 0, 300000, 5120, false, 1733184000, "amazon"},
    {"meta.llama3-1-70b-instruct-v1:0", "meta.llama3-1-70b-instruct-v1:0", BR, CH, 0, 128000, 2048, false, 1721692800, "meta"},
};

static void behaviour_defaults(sy_sim_behaviour_t *b)
{
    memset(b, 0, sizeof(*b));
    b->output_tokens = SY_SIM_DEFAULT_OUTPUT_TOKENS;
    b->fault_after = -1;
    b->retry_after_s = SY_SIM_DEFAULT_RETRY_AFTER;
}

static void model_from_builtin(sy_arena_t *a, sy_sim_model_t *m, const builtin_t *b,
                               const sy_sim_behaviour_t *defaults)
{
    memset(m, 0, sizeof(*m));
    m->name = sy_str_c(b->name);
    m->version = sy_str_c(b->version);
    m->family = b->family;
    m->kind = b->kind;
    m->dims = b->dims;
    m->context_window = b->context;
    m->max_output = b->max_output;
    m->reasoning = b->reasoning;
    m->created = b->created;
    m->owned_by = sy_str_c(b->owned_by);
    m->bhv = *defaults;
    m->served = sy_arena_calloc(a, sizeof(*m->served));
}

static sy_sim_config_t *config_new(void)
{
    sy_arena_t *a = sy_arena_new(16384);
    sy_sim_config_t *c = sy_arena_calloc(a, sizeof(*c));
    c->arena = a;
    c->record = SY_SIM_DEFAULT_RECORD;
    c->answer_cache = SY_SIM_DEFAULT_ANSWER_CACHE;
    c->models = sy_arena_calloc(a, SY_SIM_MAX_MODELS * sizeof(sy_sim_model_t));
    return c;
}

static void add_builtins(sy_sim_config_t *c, const sy_sim_behaviour_t *defaults)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(builtins) && c->nmodels < SY_SIM_MAX_MODELS; i++) {
        bool taken = false;
        for (size_t j = 0; j < c->nmodels; j++)
            taken |= sy_str_eq_c(c->models[j].name, builtins[i].name);
        if (!taken)
            model_from_builtin(c->arena, &c->models[c->nmodels++], &builtins[i], defaults);
    }
}

sy_sim_config_t *sy_sim_config_default(void)
{
    sy_sim_config_t *c = config_new();
    sy_sim_behaviour_t d;
    behaviour_defaults(&d);
    add_builtins(c, &d);
    return c;
}

void sy_sim_config_free(sy_sim_config_t *c)
{
    if (c)
        sy_arena_free(c->arena);
}

/* ------------------------------------------------------------- the file --- */

static const char *const family_names[] = {"any", "openai", "anthropic", "gemini", "bedrock", NULL};
static const char *const kind_names[] = {"chat", "embedding", NULL};

static const char *const behaviour_keys[] = {
    "ttft", "tps", "output_tokens", "seed", "tools", "fault", "fault_after", "retry_after", NULL,
};

/* Parse one behaviour key (already known to be one) into b. */
static void parse_behaviour_key(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                                sy_str_t key, sy_sim_behaviour_t *b)
{
    uint64_t n;
    if (sy_str_eq_c(key, "ttft")) {
        if (sy_cfg_duration(cx, v, path, 0, SY_SIM_MAX_TTFT_MS, &n) == SY_OK)
            b->ttft_ms = (uint32_t)n;
    } else if (sy_str_eq_c(key, "tps")) {
        if (sy_cfg_uint(cx, v, path, 0, SY_SIM_MAX_TPS, &n) == SY_OK)
            b->tps = (uint32_t)n;
    } else if (sy_str_eq_c(key, "output_tokens")) {
        if (sy_cfg_uint(cx, v, path, 0, SY_SIM_MAX_OUTPUT_TOKENS, &n) == SY_OK)
            b->output_tokens = (uint32_t)n;
    } else if (sy_str_eq_c(key, "seed")) {
        if (sy_cfg_uint(cx, v, path, 0, UINT64_MAX, &n) == SY_OK) {
            b->seed = n;
            b->seed_set = true;
        }
    } else if (sy_str_eq_c(key, "tools")) {
        if (v->kind != SY_YAML_SCALAR || parse_tools(v->str, &b->tools, &b->tool_calls) != SY_OK)
            sy_cfg_error(cx, v, path, "expected auto, none, parallel or a count 0..16, got %s",
                         sy_cfg_shown(cx, v));
    } else if (sy_str_eq_c(key, "fault")) {
        int f = v->kind == SY_YAML_SCALAR ? sy_sim_fault_parse(v->str) : -1;
        if (f < 0)
            sy_cfg_error(cx, v, path,
                         "expected none, 429, 500, 503, 529, hang, hang-stream, reset, truncate, "
                         "malformed or content-type, got %s",
                         sy_cfg_shown(cx, v));
        else
            b->fault = (sy_sim_fault_t)f;
    } else if (sy_str_eq_c(key, "fault_after")) {
        if (sy_cfg_uint(cx, v, path, 0, 1000000, &n) == SY_OK)
            b->fault_after = (int32_t)n;
    } else if (sy_str_eq_c(key, "retry_after")) {
        if (sy_cfg_uint(cx, v, path, 0, 86400, &n) == SY_OK)
            b->retry_after_s = (uint32_t)n;
    }
}

static bool is_behaviour_key(sy_str_t k)
{
    for (size_t i = 0; behaviour_keys[i]; i++)
        if (sy_str_eq_c(k, behaviour_keys[i]))
            return true;
    return false;
}

static void parse_model(sy_cfg_ctx_t *cx, sy_sim_config_t *c, const sy_yaml_node_t *n,
                        const char *path, const sy_sim_behaviour_t *defaults)
{
    static const char *const allowed[] = {
        "name", "version", "family", "kind", "dims", "context_window", "max_output", "reasoning",
        "created", "owned_by", "fault_first", "fault_rate",
        "ttft", "tps", "output_tokens", "seed", "tools", "fault", "fault_after", "retry_after",
        NULL};
    /* Unknown keys are reported; the known ones are still checked. */
    if (sy_cfg_expect_map(cx, n, path, allowed) != SY_OK && n->kind != SY_YAML_MAP)
        return;
    if (c->nmodels >= SY_SIM_MAX_MODELS) {
        sy_cfg_error(cx, n, path, "too many models (at most %d)", SY_SIM_MAX_MODELS);
        return;
    }
    sy_sim_model_t m;
    memset(&m, 0, sizeof(m));
    m.bhv = *defaults;
    m.created = 1700000000;
    m.owned_by = SY_STR("switchyard-sim");
    bool have_name = false, have_dims = false;
    for (size_t i = 0; i < n->len; i++) {
        sy_str_t k = n->pairs[i].key->str;
        const sy_yaml_node_t *v = n->pairs[i].value;
        const char *p = sy_cfg_path_key(cx, path, k);
        if (v->kind == SY_YAML_SCALAR && v->is_null)
            continue;
        uint64_t u;
        int e;
        if (is_behaviour_key(k)) {
            parse_behaviour_key(cx, v, p, k, &m.bhv);
        } else if (sy_str_eq_c(k, "name")) {
            have_name = sy_cfg_string(cx, v, p, &m.name) == SY_OK && m.name.len > 0;
        } else if (sy_str_eq_c(k, "version")) {
            sy_cfg_string(cx, v, p, &m.version);
        } else if (sy_str_eq_c(k, "owned_by")) {
            sy_cfg_string(cx, v, p, &m.owned_by);
        } else if (sy_str_eq_c(k, "family")) {
            if (sy_cfg_enum(cx, v, p, family_names, &e) == SY_OK)
                m.family = (sy_sim_family_id_t)e;
        } else if (sy_str_eq_c(k, "kind")) {
            if (sy_cfg_enum(cx, v, p, kind_names, &e) == SY_OK)
                m.kind = (sy_sim_kind_t)e;
        } else if (sy_str_eq_c(k, "dims")) {
            if (sy_cfg_uint(cx, v, p, 1, SY_SIM_MAX_EMBED_DIMS, &u) == SY_OK) {
                m.dims = (uint32_t)u;
                have_dims = true;
            }
        } else if (sy_str_eq_c(k, "context_window")) {
            if (sy_cfg_uint(cx, v, p, 0, UINT32_MAX, &u) == SY_OK)
                m.context_window = (uint32_t)u;
        } else if (sy_str_eq_c(k, "max_output")) {
            if (sy_cfg_uint(cx, v, p, 0, UINT32_MAX, &u) == SY_OK)
                m.max_output = (uint32_t)u;
        } else if (sy_str_eq_c(k, "created")) {
            if (sy_cfg_uint(cx, v, p, 0, UINT64_MAX, &u) == SY_OK)
                m.created = u;
        } else if (sy_str_eq_c(k, "reasoning")) {
            sy_cfg_bool(cx, v, p, &m.reasoning);
        } else if (sy_str_eq_c(k, "fault_first")) {
            if (sy_cfg_uint(cx, v, p, 0, UINT32_MAX, &u) == SY_OK)
                m.fault_first = (uint32_t)u;
        } else if (sy_str_eq_c(k, "fault_rate")) {
            char *end = NULL;
            double d = v->kind == SY_YAML_SCALAR ? strtod(v->str.p, &end) : -1;
            if (v->kind != SY_YAML_SCALAR || end == v->str.p || *end != '\0' || !(d >= 0 && d <= 1))
                sy_cfg_error(cx, v, p, "expected a probability between 0 and 1, got %s",
                             sy_cfg_shown(cx, v));
            else
                m.fault_rate = d;
        }
    }
    if (!have_name) {
        if (!n->invalid)
            sy_cfg_error(cx, n, path, "a model needs a name");
        return;
    }
    if (m.version.len == 0)
        m.version = m.name;
    if (m.kind == SY_SIM_KIND_EMBEDDING && !have_dims)
        m.dims = 1536;
    for (size_t j = 0; j < c->nmodels; j++)
        if (sy_str_eq(c->models[j].name, m.name)) {
            sy_cfg_error(cx, n, path, "model \"%.*s\" is defined twice", SY_STR_FMT(m.name));
            return;
        }
    m.served = sy_arena_calloc(c->arena, sizeof(*m.served));
    c->models[c->nmodels++] = m;
}

static void parse_root(sy_cfg_ctx_t *cx, sy_sim_config_t *c, const sy_yaml_node_t *root)
{
    static const char *const allowed[] = {"listen",         "workers",  "record_requests",
                                          "answer_cache",   "keys",     "builtin_models",
                                          "defaults",       "models",   NULL};
    if (root == NULL)
        goto builtins_only;
    if (sy_cfg_expect_map(cx, root, "", allowed) != SY_OK && root->kind != SY_YAML_MAP)
        return;
    sy_sim_behaviour_t defaults;
    behaviour_defaults(&defaults);
    bool builtin = true;
    const sy_yaml_node_t *v;
    uint64_t u;
    if ((v = sy_yaml_map_get(root, "listen")) != NULL && !v->is_null) {
        sy_str_t s;
        if (sy_cfg_string(cx, v, "listen", &s) == SY_OK) {
            if (s.len >= sizeof(c->listen) || sy_str_find_char(s, ':') < 0)
                sy_cfg_error(cx, v, "listen", "expected HOST:PORT, got %s", sy_cfg_shown(cx, v));
            else
                memcpy(c->listen, s.p, s.len + 1);
        }
    }
    if ((v = sy_yaml_map_get(root, "workers")) != NULL && !v->is_null &&
        sy_cfg_uint(cx, v, "workers", 1, 256, &u) == SY_OK)
        c->workers = (int)u;
    if ((v = sy_yaml_map_get(root, "record_requests")) != NULL && !v->is_null &&
        sy_cfg_uint(cx, v, "record_requests", 0, SY_SIM_MAX_RECORD, &u) == SY_OK)
        c->record = (uint32_t)u;
    if ((v = sy_yaml_map_get(root, "answer_cache")) != NULL && !v->is_null &&
        sy_cfg_uint(cx, v, "answer_cache", 0, SY_SIM_MAX_ANSWER_CACHE, &u) == SY_OK)
        c->answer_cache = (uint32_t)u;
    if ((v = sy_yaml_map_get(root, "builtin_models")) != NULL && !v->is_null)
        sy_cfg_bool(cx, v, "builtin_models", &builtin);
    if ((v = sy_yaml_map_get(root, "keys")) != NULL && !v->is_null &&
        sy_cfg_expect_seq(cx, v, "keys", true) == SY_OK) {
        size_t nk = v->kind == SY_YAML_SEQ ? v->len : 1;
        if (nk > SY_SIM_MAX_KEYS) {
            sy_cfg_error(cx, v, "keys", "too many keys (at most %d)", SY_SIM_MAX_KEYS);
        } else {
            c->keys = sy_arena_calloc(c->arena, (nk ? nk : 1) * sizeof(sy_str_t));
            for (size_t i = 0; i < nk; i++) {
                const sy_yaml_node_t *kn = v->kind == SY_YAML_SEQ ? v->items[i] : v;
                const char *p = sy_cfg_path_index(cx, "keys", i);
                if (sy_cfg_string(cx, kn, p, &c->keys[c->nkeys]) == SY_OK) {
                    if (c->keys[c->nkeys].len == 0)
                        sy_cfg_error(cx, kn, p, "a key cannot be empty");
                    else
                        c->nkeys++;
                }
            }
        }
    }
    if ((v = sy_yaml_map_get(root, "defaults")) != NULL && !v->is_null &&
        (sy_cfg_expect_map(cx, v, "defaults", behaviour_keys) == SY_OK || v->kind == SY_YAML_MAP)) {
        for (size_t i = 0; i < v->len; i++) {
            const sy_yaml_node_t *bv = v->pairs[i].value;
            if (bv->kind == SY_YAML_SCALAR && bv->is_null)
                continue;
            sy_str_t k = v->pairs[i].key->str;
            parse_behaviour_key(cx, bv, sy_cfg_path_key(cx, "defaults", k), k, &defaults);
        }
    }
    if ((v = sy_yaml_map_get(root, "models")) != NULL && !v->is_null &&
        sy_cfg_expect_seq(cx, v, "models", false) == SY_OK) {
        for (size_t i = 0; i < v->len; i++)
            parse_model(cx, c, v->items[i], sy_cfg_path_index(cx, "models", i), &defaults);
    }
    if (builtin)
        add_builtins(c, &defaults);
    return;
builtins_only: {
    sy_sim_behaviour_t d;
    behaviour_defaults(&d);
    add_builtins(c, &d);
}
}

sy_sim_config_t *sy_sim_config_parse(const char *name, const char *text, size_t len, char **err)
{
    if (err)
        *err = NULL;
    sy_sim_config_t *c = config_new();
    sy_arena_t *scratch = sy_arena_new(16384);
    sy_cfg_ctx_t cx;
    sy_cfg_ctx_init(&cx, c->arena, scratch, name);
    sy_yaml_node_t *root = NULL;
    const char *yerr = NULL;
    if (sy_yaml_parse(scratch, name, text, len, &root, &yerr) != SY_OK) {
        if (err)
            *err = sy_strdup(yerr);
        goto fail;
    }
    if (root)
        sy_cfg_expand_tree(&cx, root);
    parse_root(&cx, c, root);
    if (cx.nerrors) {
        if (err)
            *err = sy_cfg_ctx_errors(&cx);
        goto fail;
    }
    sy_arena_free(scratch);
    return c;
fail:
    sy_arena_free(scratch);
    sy_sim_config_free(c);
    return NULL;
}

sy_sim_config_t *sy_sim_config_load(const char *path, char **err)
{
    if (err)
        *err = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char msg[600];
    if (fd < 0) {
        snprintf(msg, sizeof(msg), "cannot open %s: %s", path, strerror(errno));
        if (err)
            *err = sy_strdup(msg);
        return NULL;
    }
    sy_buf_t b;
    sy_buf_init(&b, SY_CONFIG_MAX_FILE_BYTES);
    for (;;) {
        if (sy_buf_reserve(&b, 65536) != SY_OK) {
            snprintf(msg, sizeof(msg), "%s: the file is larger than the limit for a configuration file", path);
            goto fail;
        }
        ssize_t n = read(fd, sy_buf_tail(&b), sy_buf_room(&b));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(msg, sizeof(msg), "cannot read %s: %s", path, strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        sy_buf_commit(&b, (size_t)n);
    }
    close(fd);
    sy_sim_config_t *c = sy_sim_config_parse(path, b.data ? b.data : "", b.len, err);
    sy_buf_free(&b);
    if (c)
        c->path = sy_arena_strdup(c->arena, path);
    return c;
fail:
    close(fd);
    sy_buf_free(&b);
    if (err)
        *err = sy_strdup(msg);
    return NULL;
}
