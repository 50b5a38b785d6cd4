/*
 * config.c - Switchyard's configuration schema and building snapshots.
 *
 * The schema is data: one table per section (limits, log) and one callback
 * pair per key whose syntax is its own (listen, workers). Defaults live in
 * those tables and nowhere else; the configuration reference in README.md mirrors them and a
 * unit test checks that every key is documented.
 *
 * Building a snapshot: read the file (capped), parse YAML into a scratch
 * arena, expand ${ENV}, store every default, then let the root table walk
 * the document. Every error is collected; only a check without errors yields
 * a snapshot. The snapshot's arena holds everything it points to, so freeing
 * it is one sy_arena_free when the last reference goes.
 */
#include "config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"

#define KIB    (1ull << 10)
#define MIB    (1ull << 20)
#define GIB    (1ull << 30)
#define SEC    1000ull
#define MINUTE (60 * SEC)
#define HOUR   (60 * MINUTE)

/* ---- listen ---- */

#define SY_CONFIG_DEFAULT_LISTEN "127.0.0.1:4000"

static bool valid_hostname(sy_str_t h)
{
    if (h.len == 0 || h.len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < h.len; i++) {
        char c = h.p[i];
        if (c == '.') {
            if (label == 0 || h.p[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && label > 0))
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0 && h.p[h.len - 1] != '-';
}

static bool all_digits_and_dots(sy_str_t h)
{
    for (size_t i = 0; i < h.len; i++)
        if (!(h.p[i] == '.' || (h.p[i] >= '0' && h.p[i] <= '9')))
            return false;
    return true;
}

/* Parse "host:port" into `out` with canonical spellings (inet_ntop for
 * addresses, lower case for names), so equal addresses compare equal. */
static int parse_addr(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path,
                      sy_config_listen_t *out)
{
    static const char expected[] =
        "an address \"host:port\" such as 127.0.0.1:4000, [::1]:4000 or *:4000";
    if (n == NULL || n->kind != SY_YAML_SCALAR || n->is_null) {
        if (!(n && n->invalid))
            sy_cfg_error(cx, n, path, "expected %s, got %s", expected, sy_cfg_shown(cx, n));
        return SY_EINVAL;
    }
    if (n->invalid)
        return SY_EINVAL;
    sy_str_t s = sy_str_trim(n->str), host, port;
    if (s.len && s.p[0] == '[') {
        ptrdiff_t rb = sy_str_find_char(s, ']');
        if (rb < 0 || (size_t)rb + 1 >= s.len || s.p[rb + 1] != ':')
            goto bad;
        host = sy_str_sub(s, 1, (size_t)rb - 1);
        port = sy_str_sub(s, (size_t)rb + 2, s.len);
        out->kind = SY_CONFIG_ADDR_IPV6;
    } else {
        ptrdiff_t colon = -1;
        for (size_t i = 0; i < s.len; i++)
            if (s.p[i] == ':')
                colon = (ptrdiff_t)i;
        if (colon < 0)
            goto bad;
        host = sy_str_sub(s, 0, (size_t)colon);
        port = sy_str_sub(s, (size_t)colon + 1, s.len);
        if (sy_str_find_char(host, ':') >= 0) {
            sy_cfg_error(cx, n, path, "IPv6 addresses go in brackets, as in [::1]:4000; got %s",
                         sy_cfg_shown(cx, n));
            return SY_EINVAL;
        }
        out->kind = SY_CONFIG_ADDR_IPV4;
        if (sy_str_eq_c(host, "*"))
            host = SY_STR("0.0.0.0");
        else if (!all_digits_and_dots(host))
            out->kind = SY_CONFIG_ADDR_NAME;
    }
    if (host.len == 0 || port.len == 0)
        goto bad;
    uint64_t pv = 0;
    int prc = sy_str_to_u64(port, UINT64_MAX, &pv);
    if (prc == SY_EINVAL)
        goto bad;
    if (prc != SY_OK || pv < 1 || pv > 65535) {
        sy_cfg_error(cx, n, path, "port must be from 1 to 65535, got %s", sy_cfg_shown(cx, n));
        return SY_EINVAL;
    }
    char *h = sy_str_cdup(cx->scratch, host);
    char canon[INET6_ADDRSTRLEN];
    if (out->kind == SY_CONFIG_ADDR_NAME) {
        if (!valid_hostname(host)) {
            sy_cfg_error(cx, n, path, "%s is not a valid host name or address",
                         sy_yaml_quote(cx->scratch, host, 80));
            return SY_EINVAL;
        }
        for (char *q = h; *q; q++)
            if (*q >= 'A' && *q <= 'Z')
                *q = (char)(*q + 32);
        snprintf(canon, sizeof(canon), "%s", h); /* h is <= 253 bytes; canon is the cap */
        out->host = sy_str_dup(cx->arena, sy_str_c(h));
    } else {
        int af = out->kind == SY_CONFIG_ADDR_IPV6 ? AF_INET6 : AF_INET;
        unsigned char bin[16];
        if (inet_pton(af, h, bin) != 1 || inet_ntop(af, bin, canon, sizeof(canon)) == NULL) {
            sy_cfg_error(cx, n, path, "%s is not a valid IPv%d address",
                         sy_yaml_quote(cx->scratch, host, 80), af == AF_INET6 ? 6 : 4);
            return SY_EINVAL;
        }
        out->host = sy_str_dup(cx->arena, sy_str_c(canon));
    }
    out->port = (uint16_t)pv;
    const char *text = out->kind == SY_CONFIG_ADDR_IPV6
                           ? sy_arena_sprintf(cx->arena, "[%s]:%u", out->host.p, out->port)
                           : sy_arena_sprintf(cx->arena, "%s:%u", out->host.p, out->port);
    out->text = sy_str_c(text);
    return SY_OK;
bad:
    sy_cfg_error(cx, n, path, "expected %s, got %s", expected, sy_cfg_shown(cx, n));
    return SY_EINVAL;
}

static int parse_listen(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path, void *field)
{
    sy_config_listen_list_t *out = field;
    if (v == NULL) {
        sy_yaml_node_t def = {
            .kind = SY_YAML_SCALAR, .file = cx->file, .str = SY_STR(SY_CONFIG_DEFAULT_LISTEN)};
        sy_config_listen_t *a = sy_arena_calloc(cx->arena, sizeof(*a));
        if (parse_addr(cx, &def, path, a) != SY_OK)
            return SY_EINVAL;
        *out = (sy_config_listen_list_t){a, 1};
        return SY_OK;
    }
    if (sy_cfg_expect_seq(cx, v, path, true) != SY_OK)
        return SY_EINVAL;
    size_t n = v->kind == SY_YAML_SEQ ? v->len : 1;
    if (n == 0) {
        sy_cfg_error(cx, v, path, "at least one address is required");
        return SY_EINVAL;
    }
    if (n > SY_CONFIG_MAX_LISTEN) {
        sy_cfg_error(cx, v, path, "too many addresses (the limit is %d)", SY_CONFIG_MAX_LISTEN);
        return SY_EINVAL;
    }
    sy_config_listen_t *addrs = sy_arena_calloc(cx->arena, n * sizeof(*addrs));
    int rc = SY_OK;
    for (size_t i = 0; i < n; i++) {
        const sy_yaml_node_t *item = v->kind == SY_YAML_SEQ ? v->items[i] : v;
        const char *ipath = v->kind == SY_YAML_SEQ ? sy_cfg_path_index(cx, path, i) : path;
        if (parse_addr(cx, item, ipath, &addrs[i]) != SY_OK) {
            rc = SY_EINVAL;
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            if (addrs[j].text.p && sy_str_eq(addrs[j].text, addrs[i].text)) {
                sy_cfg_error(cx, item, ipath, "%.*s is listed twice (also at %s)",
                             SY_STR_FMT(addrs[i].text), sy_cfg_path_index(cx, path, j));
                rc = SY_EINVAL;
                break;
            }
        }
    }
    *out = (sy_config_listen_list_t){addrs, n};
    return rc;
}

static void format_listen(const void *field, sy_buf_t *out, bool redact)
{
    SY_UNUSED(redact);
    const sy_config_listen_list_t *l = field;
    sy_buf_append_c(out, "[");
    for (size_t i = 0; i < l->n; i++)
        sy_buf_printf(out, "%s\"%.*s\"", i ? ", " : "", SY_STR_FMT(l->addrs[i].text));
    sy_buf_append_c(out, "]");
}

/* ---- workers ---- */

/* CPUs this process may run on: the affinity mask (containers pinned with
 * cpusets see fewer) and the online count, the smaller of the two. */
static unsigned cpu_count(void)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    long n = online > 0 ? online : 1;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int aff = CPU_COUNT(&set);
        if (aff > 0 && aff < n)
            n = aff;
    }
    return (unsigned)SY_MIN(n, (long)SY_CONFIG_MAX_WORKERS);
}

static int parse_workers(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path, void *field)
{
    sy_config_workers_t *w = field;
    if (v == NULL || (v->kind == SY_YAML_SCALAR && sy_str_ieq_c(sy_str_trim(v->str), "auto"))) {
        *w = (sy_config_workers_t){cpu_count(), true};
        return SY_OK;
    }
    uint64_t n;
    if (v->kind != SY_YAML_SCALAR ||
        sy_str_to_u64(sy_str_trim(v->str), UINT64_MAX, &n) == SY_EINVAL) {
        if (!v->invalid)
            sy_cfg_error(cx, v, path, "expected auto or a number of threads from 1 to %d, got %s",
                         SY_CONFIG_MAX_WORKERS, sy_cfg_shown(cx, v));
        return SY_EINVAL;
    }
    if (sy_cfg_uint(cx, v, path, 1, SY_CONFIG_MAX_WORKERS, &n) != SY_OK)
        return SY_EINVAL;
    *w = (sy_config_workers_t){(unsigned)n, false};
    return SY_OK;
}

static void format_workers(const void *field, sy_buf_t *out, bool redact)
{
    SY_UNUSED(redact);
    const sy_config_workers_t *w = field;
    if (w->is_auto)
        sy_buf_append_c(out, "auto");
    else
        sy_buf_printf(out, "%u", w->count);
}

/* ---- limits ---- */

#define LIMIT_SIZE(k, lo, hi, d)                                                                   \
    {                                                                                              \
        .key = #k, .type = SY_CFG_SIZE, .offset = offsetof(sy_config_limits_t, k), .min = (lo),    \
        .max = (hi), .def = (d)                                                                    \
    }
#define LIMIT_TIME(k, hi, d)                                                                       \
    {                                                                                              \
        .key = #k, .type = SY_CFG_DURATION, .offset = offsetof(sy_config_limits_t, k##_ms),        \
        .min = 10, .max = (hi), .def = (d)                                                         \
    }

/* Bounds keep a typo from disabling a protection: nothing may be 0, and no
 * timeout or cap may be so large it stops protecting anything. */
static const sy_cfg_field_t limits_fields[] = {
    LIMIT_SIZE(max_request_line, 256, 1 * MIB, 8 * KIB),
    LIMIT_SIZE(max_header_bytes, 1 * KIB, 1 * MIB, 32 * KIB),
    {.key = "max_headers",
     .type = SY_CFG_UINT,
     .offset = offsetof(sy_config_limits_t, max_headers),
     .min = 1,
     .max = 10000,
     .def = 100},
    LIMIT_SIZE(max_body_bytes, 1 * KIB, 1 * GIB, 32 * MIB),
    LIMIT_TIME(header_timeout, 1 * HOUR, 10 * SEC),
    LIMIT_TIME(body_timeout, 1 * HOUR, 60 * SEC),
    LIMIT_TIME(idle_timeout, 24 * HOUR, 75 * SEC),
    LIMIT_TIME(upstream_connect_timeout, 10 * MINUTE, 10 * SEC),
    LIMIT_TIME(upstream_first_byte_timeout, 2 * HOUR, 120 * SEC),
    LIMIT_TIME(upstream_idle_timeout, 2 * HOUR, 90 * SEC),
    LIMIT_TIME(drain_timeout, 1 * HOUR, 30 * SEC),
};
static const sy_cfg_section_t limits_section = {"limits", limits_fields,
                                                SY_ARRAY_LEN(limits_fields)};

/* ---- log ---- */

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const log_formats[] = {"json", "text", NULL};
static const sy_cfg_field_t log_fields[] = {
    {.key = "level",
     .type = SY_CFG_ENUM,
     .offset = offsetof(sy_config_log_t, level),
     .names = log_levels,
     .def = SY_CONFIG_LOG_INFO},
    {.key = "format",
     .type = SY_CFG_ENUM,
     .offset = offsetof(sy_config_log_t, format),
     .names = log_formats,
     .def = SY_CONFIG_LOG_JSON},
};
static const sy_cfg_section_t log_section = {"log", log_fields, SY_ARRAY_LEN(log_fields)};

/* ---- root ---- */

static const sy_cfg_field_t root_fields[] = {
    {.key = "listen",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_config_t, listen),
     .parse = parse_listen,
     .format = format_listen},
    {.key = "workers",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_config_t, workers),
     .parse = parse_workers,
     .format = format_workers},
    {.key = "limits",
     .type = SY_CFG_SECTION,
     .offset = offsetof(sy_config_t, limits),
     .section = &limits_section},
    {.key = "log",
     .type = SY_CFG_SECTION,
     .offset = offsetof(sy_config_t, log),
     .section = &log_section},
    {.key = "guardrails",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_config_t, guardrails),
     .parse = sy_config_parse_guardrails,
     .format = sy_config_format_guardrails},
    {.key = "keys",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_config_t, keys),
     .flags = SY_CFG_F_SECRET,
     .parse = sy_config_parse_keys,
     .format = sy_config_format_keys},
    {.key = "providers",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_config_t, providers),
     .parse = sy_config_parse_providers,
     .format = sy_config_format_providers},
    {.key = "models",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_config_t, models),
     .parse = sy_config_parse_models,
     .format = sy_config_format_models},
    {.key = "router",
     .type = SY_CFG_SECTION,
     .offset = offsetof(sy_config_t, router),
     .section = &sy_config_router_section},
    {.key = "store",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_config_t, store),
     .parse = sy_config_parse_store,
     .format = sy_config_format_store},
    {.key = "audit",
     .type = SY_CFG_SECTION,
     .offset = offsetof(sy_config_t, audit),
     .section = &sy_config_audit_section},
    {.key = "admin",
     .type = SY_CFG_SECTION,
     .offset = offsetof(sy_config_t, admin),
     .section = &sy_config_admin_section},
    {.key = "counters",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_config_t, counters),
     .flags = SY_CFG_F_SECRET,
     .parse = sy_config_parse_counters,
     .format = sy_config_format_counters},
    {.key = "governance",
     .type = SY_CFG_SECTION,
     .offset = offsetof(sy_config_t, governance),
     .section = &sy_config_governance_section},
};
static const sy_cfg_section_t root_section = {"", root_fields, SY_ARRAY_LEN(root_fields)};

const sy_cfg_section_t *sy_config_schema(void)
{
    return &root_section;
}

/* ---- building and freeing snapshots ---- */

static atomic_uint_fast64_t g_generation;
static atomic_size_t g_live;

/* A malloc'd copy of a formatted message, for err_out. */
static char *message(const char *fmt, ...) SY_PRINTF(1, 2);
static char *message(const char *fmt, ...)
{
    sy_buf_t b;
    sy_buf_init(&b, 0);
    va_list ap;
    va_start(ap, fmt);
    sy_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    char *s = sy_malloc(b.len + 1);
    memcpy(s, sy_buf_ptr(&b), b.len);
    s[b.len] = '\0';
    sy_buf_free(&b);
    return s;
}

static void set_err(char **err_out, char *msg)
{
    if (err_out)
        *err_out = msg;
    else
        free(msg);
}

static sy_config_t *build(const char *name, const char *path, const char *text, size_t len,
                          char **err_out)
{
    sy_arena_t *arena = sy_arena_new(8192), *scratch = sy_arena_new(16384);
    sy_config_t *c = sy_arena_calloc(arena, sizeof(*c));
    c->arena = arena;
    atomic_init(&c->refs, 1u);
    sy_cfg_ctx_t cx;
    sy_cfg_ctx_init(&cx, arena, scratch, name);
    sy_cfg_section_defaults(&cx, &root_section, c);
    if (text) {
        sy_yaml_node_t *root;
        const char *yerr;
        if (sy_yaml_parse(scratch, name, text, len, &root, &yerr) != SY_OK) {
            set_err(err_out, message("%s", yerr));
            goto fail;
        }
        sy_cfg_expand_tree(&cx, root);
        sy_cfg_section_parse(&cx, root, "", &root_section, c);
        if (cx.nerrors == 0)
            sy_config_link_gateway(&cx, c);
        if (cx.nerrors) {
            set_err(err_out, sy_cfg_ctx_errors(&cx));
            goto fail;
        }
    }
    c->path = path ? sy_arena_strdup(arena, path) : NULL;
    c->generation = atomic_fetch_add(&g_generation, 1) + 1;
    atomic_fetch_add(&g_live, 1);
    sy_arena_free(scratch);
    return c;
fail:
    sy_arena_free(scratch);
    sy_arena_free(arena);
    return NULL;
}

sy_config_t *sy_config_default(void)
{
    return build("<defaults>", NULL, NULL, 0, NULL);
}

sy_config_t *sy_config_parse(const char *name, const char *text, size_t len, char **err_out)
{
    if (err_out)
        *err_out = NULL;
    return build(name ? name : "<config>", NULL, text ? text : "", text ? len : 0, err_out);
}

/* Read all of `path` (at most SY_CONFIG_MAX_FILE_BYTES) into a malloc'd buffer. */
static char *read_file(const char *path, size_t *len, char **err_out)
{
    char ebuf[128];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_err(err_out,
                message("cannot open %s: %s", path, strerror_r(errno, ebuf, sizeof(ebuf))));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        set_err(err_out,
                message("cannot read %s: %s", path, strerror_r(EISDIR, ebuf, sizeof(ebuf))));
        close(fd);
        return NULL;
    }
    sy_buf_t b;
    sy_buf_init(&b, 0); /* capped by the check below: at most the cap + 64k */
    for (;;) {
        if (b.len > SY_CONFIG_MAX_FILE_BYTES) {
            char lim[32];
            set_err(err_out, message("%s: the file is larger than %s, the limit for a "
                                     "configuration file",
                                     path, sy_cfg_format_size(SY_CONFIG_MAX_FILE_BYTES, lim)));
            goto fail;
        }
        sy_buf_reserve(&b, 65536);
        ssize_t n = read(fd, sy_buf_tail(&b), sy_buf_room(&b));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            set_err(err_out,
                    message("cannot read %s: %s", path, strerror_r(errno, ebuf, sizeof(ebuf))));
            goto fail;
        }
        if (n == 0)
            break;
        sy_buf_commit(&b, (size_t)n);
    }
    close(fd);
    *len = b.len;
    return b.data ? b.data : sy_calloc(1, 1);
fail:
    close(fd);
    sy_buf_free(&b);
    return NULL;
}

sy_config_t *sy_config_load(const char *path, char **err_out)
{
    if (err_out)
        *err_out = NULL;
    if (path == NULL || *path == '\0') {
        set_err(err_out, message("no configuration file given"));
        return NULL;
    }
    size_t len = 0;
    char *text = read_file(path, &len, err_out);
    if (text == NULL)
        return NULL;
    sy_config_t *c = build(path, path, text, len, err_out);
    free(text);
    return c;
}

void sy_config_ref(sy_config_t *c)
{
    if (atomic_fetch_add_explicit(&c->refs, 1u, memory_order_relaxed) == 0)
        sy_panic("config: sy_config_ref on a freed snapshot");
}

void sy_config_unref(sy_config_t *c)
{
    if (c == NULL)
        return;
    unsigned old = atomic_fetch_sub_explicit(&c->refs, 1u, memory_order_acq_rel);
    if (old == 0)
        sy_panic("config: sy_config_unref on a freed snapshot");
    if (old == 1) {
        atomic_fetch_sub(&g_live, 1);
        sy_arena_free(c->arena);
    }
}

size_t sy_config_live(void)
{
    return atomic_load(&g_live);
}

int sy_config_format(const sy_config_t *c, sy_buf_t *out, bool redact)
{
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_cfg_section_format(&root_section, c, &b, 0, redact);
    int rc = sy_buf_append(out, sy_buf_ptr(&b), b.len);
    if (!redact && b.data)
        explicit_bzero(b.data, b.cap); /* it may hold secrets */
    sy_buf_free(&b);
    return rc;
}

bool sy_config_equal(const sy_config_t *a, const sy_config_t *b)
{
    sy_buf_t x, y;
    sy_buf_init(&x, 0);
    sy_buf_init(&y, 0);
    sy_config_format(a, &x, false);
    sy_config_format(b, &y, false);
    bool eq = sy_str_eq(sy_buf_str(&x), sy_buf_str(&y));
    if (x.data)
        explicit_bzero(x.data, x.cap);
    if (y.data)
        explicit_bzero(y.data, y.cap);
    sy_buf_free(&x);
    sy_buf_free(&y);
    return eq;
}
