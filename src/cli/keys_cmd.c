/*
 * keys_cmd.c - `switchyard keys|teams|orgs|spend`: the admin API from the
 * command line.
 *
 * Every command is one HTTP request to a running gateway's /admin API
 * (api/admin.c): the base URL comes from --url or SWITCHYARD_ADMIN_URL
 * (default http://127.0.0.1:4000), the master key from --master-key or
 * SWITCHYARD_MASTER_KEY (prefer the variable: a flag is visible in the
 * process list). Answers are printed as a table for people, or as the JSON
 * the API returned with --json. A blocking client is fine here: the CLI has
 * nothing else to do while it waits.
 */
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/arena.h"
#include "core/buf.h"
#include "json/json.h"

#define CLI_MAX_RESPONSE (64u << 20)
#define CLI_TIMEOUT_S 30

/* ---- a small blocking HTTP/1.1 client (Connection: close) ---- */

typedef struct {
    int status;
    sy_buf_t body;
} reply_t;

static int parse_url(const char *url, bool *tls, char *host, size_t hostsz, char *port,
                     size_t portsz, char *prefix, size_t prefixsz)
{
    const char *p = url;
    if (strncmp(p, "http://", 7) == 0) {
        *tls = false;
        p += 7;
    } else if (strncmp(p, "https://", 8) == 0) {
        *tls = true;
        p += 8;
    } else {
        return SY_EINVAL;
    }
    const char *slash = strchr(p, '/');
    size_t hp = slash ? (size_t)(slash - p) : strlen(p);
    snprintf(prefix, prefixsz, "%s", slash ? slash : "");
    size_t plen = strlen(prefix);
    if (plen && prefix[plen - 1] == '/')
        prefix[plen - 1] = '\0';
    const char *colon = NULL;
    if (hp && p[0] == '[') {
        const char *rb = memchr(p, ']', hp);
        if (rb == NULL)
            return SY_EINVAL;
        snprintf(host, hostsz, "%.*s", (int)(rb - p - 1), p + 1);
        colon = rb + 1 < p + hp && rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = memchr(p, ':', hp);
        snprintf(host, hostsz, "%.*s", (int)(colon ? (size_t)(colon - p) : hp), p);
    }
    if (colon)
        snprintf(port, portsz, "%.*s", (int)(p + hp - colon - 1), colon + 1);
    else
        snprintf(port, portsz, "%s", *tls ? "443" : "80");
    return host[0] ? SY_OK : SY_EINVAL;
}

static int do_request(const char *url, const char *key, const char *method, const char *path,
                      const char *body, reply_t *out)
{
    bool tls;
    char host[256], port[16], prefix[512];
    if (parse_url(url, &tls, host, sizeof(host), port, sizeof(port), prefix, sizeof(prefix)) !=
        SY_OK) {
        fprintf(stderr, "switchyard: --url must be http://HOST[:PORT] or https://..., got %s\n", url);
        return SY_EINVAL;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        fprintf(stderr, "switchyard: cannot resolve %s: %s\n", host, gai_strerror(gai));
        return SY_ERR;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        struct timeval tv = {CLI_TIMEOUT_S, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "switchyard: cannot connect to %s:%s (is the gateway running?)\n", host,
                port);
        return SY_ERR;
    }
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    if (tls) {
        ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_default_verify_paths(ctx);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        ssl = SSL_new(ctx);
        SSL_set_tlsext_host_name(ssl, host);
        SSL_set1_host(ssl, host);
        SSL_set_fd(ssl, fd);
        if (SSL_connect(ssl) != 1) {
            fprintf(stderr, "switchyard: TLS handshake with %s failed\n", host);
            SSL_free(ssl);
            SSL_CTX_free(ctx);
            close(fd);
            return SY_ERR;
        }
    }
    sy_buf_t req;
    sy_buf_init(&req, 0);
    size_t blen = body ? strlen(body) : 0;
    sy_buf_printf(&req,
                  "%s %s%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                  "Connection: close\r\nUser-Agent: switchyard-cli/%s\r\n",
                  method, prefix, path, host, key, SY_VERSION);
    if (body)
        sy_buf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
    sy_buf_append_c(&req, "\r\n");
    if (body)
        sy_buf_append(&req, body, blen);
    int rc = SY_OK;
    for (size_t off = 0; off < req.len && rc == SY_OK;) {
        ssize_t w = ssl ? SSL_write(ssl, sy_buf_ptr(&req) + off, (int)(req.len - off))
                        : write(fd, sy_buf_ptr(&req) + off, req.len - off);
        if (w <= 0)
            rc = SY_ERR;
        else
            off += (size_t)w;
    }
    sy_buf_free(&req);
    sy_buf_t raw;
    sy_buf_init(&raw, CLI_MAX_RESPONSE);
    while (rc == SY_OK) {
        if (sy_buf_reserve(&raw, 65536) != SY_OK) {
            rc = SY_ETOOBIG;
            break;
        }
        ssize_t r = ssl ? SSL_read(ssl, sy_buf_tail(&raw), 65536) : read(fd, sy_buf_tail(&raw), 65536);
        if (r <= 0)
            break;
        sy_buf_commit(&raw, (size_t)r);
    }
    if (ssl) {
        SSL_free(ssl);
        SSL_CTX_free(ctx);
    }
    close(fd);
    /* The head, then a Content-Length or chunked body. */
    sy_str_t all = sy_buf_str(&raw);
    ptrdiff_t end = sy_str_find(all, SY_STR("\r\n\r\n"));
    if (rc != SY_OK || end < 0 || all.len < 12 || memcmp(all.p, "HTTP/1.", 7) != 0) {
        fprintf(stderr, "switchyard: no valid HTTP answer from %s:%s\n", host, port);
        sy_buf_free(&raw);
        return SY_ERR;
    }
    out->status = atoi(all.p + 9);
    sy_str_t head = sy_str_sub(all, 0, (size_t)end);
    sy_str_t rest = sy_str_sub(all, (size_t)end + 4, all.len);
    sy_buf_init(&out->body, 0);
    bool chunked = false;
    for (size_t i = 0; i + 26 <= head.len; i++)
        if (sy_str_ieq(sy_str_sub(head, i, 26), SY_STR("transfer-encoding: chunked")))
            chunked = true;
    if (!chunked) {
        sy_buf_append_str(&out->body, rest);
    } else {
        while (rest.len) {
            char *e = NULL;
            unsigned long n = strtoul(rest.p, &e, 16);
            ptrdiff_t crlf = sy_str_find(rest, SY_STR("\r\n"));
            if (crlf < 0 || n == 0)
                break;
            rest = sy_str_sub(rest, (size_t)crlf + 2, rest.len);
            sy_buf_append_str(&out->body, sy_str_sub(rest, 0, n));
            rest = sy_str_sub(rest, SY_MIN((size_t)n + 2, rest.len), rest.len);
        }
    }
    sy_buf_free(&raw);
    return SY_OK;
}

/* ---- options shared by every command ---- */

typedef struct {
    const char *url, *key;
    bool json;
    /* spec flags, gathered into a JSON object */
    sy_buf_t spec;
    int nspec;
    sy_buf_t budgets, models, meta, residency;
    int nbudgets, nmodels, nmeta, nresidency;
    const char *team, *org;
    bool cascade;
    /* spend */
    const char *by, *f_key, *f_team, *f_org, *f_model, *f_provider, *since;
} opts_t;

static void opts_init(opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->url = getenv("SWITCHYARD_ADMIN_URL");
    if (o->url == NULL || *o->url == '\0')
        o->url = "http://127.0.0.1:4000";
    o->key = getenv("SWITCHYARD_MASTER_KEY");
    sy_buf_init(&o->spec, 0);
    sy_buf_init(&o->budgets, 0);
    sy_buf_init(&o->models, 0);
    sy_buf_init(&o->meta, 0);
    sy_buf_init(&o->residency, 0);
}

static void opts_free(opts_t *o)
{
    sy_buf_free(&o->spec);
    sy_buf_free(&o->budgets);
    sy_buf_free(&o->models);
    sy_buf_free(&o->meta);
    sy_buf_free(&o->residency);
}

/* Append "s" as a JSON string to b. */
static void jstr(sy_buf_t *b, const char *s)
{
    sy_json_writer_t w;
    sy_json_writer_init(&w, b, 0);
    sy_json_write_string(&w, sy_str_c(s));
    sy_json_write_finish(&w);
}

static void spec_member(opts_t *o, const char *name)
{
    sy_buf_printf(&o->spec, "%s\"%s\":", o->nspec++ ? "," : "", name);
}

static void list_item(sy_buf_t *b, int *n, const char *s)
{
    if ((*n)++)
        sy_buf_append_c(b, ",");
    jstr(b, s);
}

/* For an option written NAME=VALUE: append `"NAME":` as the next member of
 * the object being built in b (after a comma when *n members precede it)
 * and return the '=' (the value follows it), or NULL when v has no NAME=. */
static const char *kv_member(sy_buf_t *b, int *n, const char *v)
{
    const char *eq = strchr(v, '=');
    if (eq == NULL || eq == v)
        return NULL;
    if ((*n)++)
        sy_buf_append_c(b, ",");
    sy_json_writer_t w;
    sy_json_writer_init(&w, b, 0);
    sy_json_write_string(&w, sy_str(v, (size_t)(eq - v)));
    sy_json_write_finish(&w);
    sy_buf_append_c(b, ":");
    return eq;
}

static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static const char opts_help[] =
    "  --url URL            the gateway (default $SWITCHYARD_ADMIN_URL or http://127.0.0.1:4000)\n"
    "  --master-key KEY     the admin master key (default $SWITCHYARD_MASTER_KEY)\n"
    "  --json               print the API's JSON instead of a table\n";

static const char spec_help[] =
    "  --name TEXT          a name for people\n"
    "  --budget AMOUNT/WINDOW  a budget in USD per day, month or total (\"50/month\"); repeatable;\n"
    "                       none/WINDOW removes that window's budget\n"
    "  --rpm N, --tpm N     requests / tokens per minute (0: no limit)\n"
    "  --models A,B,...     the model names or patterns allowed (\"gpt-4o*\"; \"*\" for all)\n"
    "  --residency CLASS=J1,J2  where data of CLASS may go (\"pii=eu\"); repeatable\n"
    "  --data-class CLASS   the data class every request is in\n"
    "  --guardrails POLICY  a policy from the configuration's `guardrails`\n"
    "  --meta KEY=VALUE     a metadata tag; repeatable\n"
    "  --enable, --disable  switch on or off\n";

/* Parse the shared options at argv[*i]; returns 1 when consumed, 0 when not
 * an option of ours, -1 on error. */
static int parse_opt(opts_t *o, int argc, char **argv, int *i, bool spec_ok)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
#define NEED_VALUE()                                                                               \
    do {                                                                                           \
        if (v == NULL) {                                                                           \
            fprintf(stderr, "switchyard: %s needs a value\n", a);                                  \
            return -1;                                                                             \
        }                                                                                          \
        (*i)++;                                                                                    \
    } while (0)
    if (strcmp(a, "--url") == 0) {
        NEED_VALUE();
        o->url = v;
    } else if (strcmp(a, "--master-key") == 0) {
        NEED_VALUE();
        o->key = v;
    } else if (strcmp(a, "--json") == 0) {
        o->json = true;
    } else if (!spec_ok) {
        return 0;
    } else if (strcmp(a, "--name") == 0) {
        NEED_VALUE();
        spec_member(o, "name");
        jstr(&o->spec, v);
    } else if (strcmp(a, "--budget") == 0) {
        NEED_VALUE();
        const char *slash = strchr(v, '/');
        if (slash && strncmp(v, "none/", 5) == 0) {
            /* none/month: remove that window */
            if (o->nbudgets++)
                sy_buf_append_c(&o->budgets, ",");
            sy_buf_printf(&o->budgets, "\"%s\":null", slash + 1);
        } else if (slash) {
            if (o->nbudgets++)
                sy_buf_append_c(&o->budgets, ",");
            char win[32];
            snprintf(win, sizeof(win), "%s", slash + 1);
            jstr(&o->budgets, win);
            sy_buf_append_c(&o->budgets, ":");
            char amount[64];
            snprintf(amount, sizeof(amount), "%.*s", (int)(slash - v), v);
            jstr(&o->budgets, amount);
        } else {
            fprintf(stderr, "switchyard: --budget expects AMOUNT/WINDOW such as 50/month\n");
            return -1;
        }
    } else if (strcmp(a, "--rpm") == 0 || strcmp(a, "--tpm") == 0) {
        NEED_VALUE();
        if (!all_digits(v)) {
            fprintf(stderr, "switchyard: %s expects a whole number\n", a);
            return -1;
        }
        spec_member(o, a + 2);
        sy_buf_append_c(&o->spec, v);
    } else if (strcmp(a, "--models") == 0) {
        NEED_VALUE();
        if (strcmp(v, "*") == 0) {
            spec_member(o, "models");
            sy_buf_append_c(&o->spec, "null");
        } else {
            char *copy = sy_strdup(v), *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                list_item(&o->models, &o->nmodels, t);
            free(copy);
        }
    } else if (strcmp(a, "--residency") == 0) {
        NEED_VALUE();
        const char *eq = kv_member(&o->residency, &o->nresidency, v);
        if (eq == NULL) {
            fprintf(stderr, "switchyard: --residency expects CLASS=J1,J2 such as pii=eu\n");
            return -1;
        }
        sy_buf_append_c(&o->residency, "[");
        int n = 0;
        char *copy = sy_strdup(eq + 1), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
            list_item(&o->residency, &n, t);
        free(copy);
        sy_buf_append_c(&o->residency, "]");
    } else if (strcmp(a, "--data-class") == 0 || strcmp(a, "--guardrails") == 0) {
        NEED_VALUE();
        spec_member(o, strcmp(a, "--data-class") == 0 ? "default_data_class" : "guardrails");
        if (strcmp(v, "none") == 0)
            sy_buf_append_c(&o->spec, "null");
        else
            jstr(&o->spec, v);
    } else if (strcmp(a, "--meta") == 0) {
        NEED_VALUE();
        const char *eq = kv_member(&o->meta, &o->nmeta, v);
        if (eq == NULL) {
            fprintf(stderr, "switchyard: --meta expects KEY=VALUE\n");
            return -1;
        }
        jstr(&o->meta, eq + 1);
    } else if (strcmp(a, "--enable") == 0 || strcmp(a, "--disable") == 0) {
        spec_member(o, "enabled");
        sy_buf_append_c(&o->spec, a[2] == 'e' ? "true" : "false");
    } else if (strcmp(a, "--expires") == 0) {
        NEED_VALUE();
        spec_member(o, strcmp(v, "never") == 0 ? "expires_at_ms" : "expires_in");
        if (strcmp(v, "never") == 0)
            sy_buf_append_c(&o->spec, "0");
        else
            jstr(&o->spec, v);
    } else if (strcmp(a, "--team") == 0) {
        NEED_VALUE();
        o->team = v;
    } else if (strcmp(a, "--org") == 0) {
        NEED_VALUE();
        o->org = v;
    } else if (strcmp(a, "--cascade") == 0) {
        o->cascade = true;
    } else {
        return 0;
    }
    return 1;
#undef NEED_VALUE
}

/* The spec document from the flags (plus the parent member, if any). */
static void spec_document(opts_t *o, const char *parent_key, const char *parent, const char *id,
                          sy_buf_t *out)
{
    sy_buf_append_c(out, "{");
    int n = 0;
    if (id) {
        sy_buf_append_c(out, "\"id\":");
        jstr(out, id);
        n++;
    }
    if (parent) {
        sy_buf_printf(out, "%s\"%s\":", n++ ? "," : "", parent_key);
        jstr(out, parent);
    }
    if (o->nspec) {
        sy_buf_printf(out, "%s", n++ ? "," : "");
        sy_buf_append_str(out, sy_buf_str(&o->spec));
    }
    if (o->nbudgets)
        sy_buf_printf(out, "%s\"budgets\":{%.*s}", n++ ? "," : "", (int)o->budgets.len,
                      sy_buf_ptr(&o->budgets));
    if (o->nmodels)
        sy_buf_printf(out, "%s\"models\":[%.*s]", n++ ? "," : "", (int)o->models.len,
                      sy_buf_ptr(&o->models));
    if (o->nresidency)
        sy_buf_printf(out, "%s\"residency\":{%.*s}", n++ ? "," : "", (int)o->residency.len,
                      sy_buf_ptr(&o->residency));
    if (o->nmeta)
        sy_buf_printf(out, "%s\"metadata\":{%.*s}", n++ ? "," : "", (int)o->meta.len,
                      sy_buf_ptr(&o->meta));
    sy_buf_append_c(out, "}");
    sy_buf_append(out, "", 1);
    out->len--;
}

/* ---- printing ---- */

/* A member as text (parsed strings are views, not NUL-terminated: copied). */
static const char *cstr(sy_arena_t *a, const sy_json_t *o, const char *k)
{
    const sy_json_t *v = sy_json_get(o, k);
    if (v == NULL || v->type == SY_JSON_NULL)
        return "-";
    if (v->type == SY_JSON_STRING)
        return sy_str_cdup(a, v->u.str);
    if (v->type == SY_JSON_NUMBER)
        return sy_str_cdup(a, v->u.num);
    return v->type == SY_JSON_TRUE ? "yes" : v->type == SY_JSON_FALSE ? "no" : "...";
}

static const char *budgets_text(sy_arena_t *a, const sy_json_t *o)
{
    const sy_json_t *b = sy_json_get(o, "budgets");
    if (b == NULL || b->type != SY_JSON_OBJECT || b->u.obj.len == 0)
        return "-";
    sy_buf_t t;
    sy_buf_init(&t, 0);
    for (uint32_t i = 0; i < b->u.obj.len; i++) {
        const sy_json_member_t *m = &b->u.obj.items[i];
        sy_buf_printf(&t, "%s$%.*s/%.*s", i ? " " : "", SY_STR_FMT(m->value.u.str),
                      SY_STR_FMT(m->key));
    }
    const char *r = sy_str_cdup(a, sy_buf_str(&t));
    sy_buf_free(&t);
    return r;
}

static const char *state_of(const sy_json_t *o)
{
    const sy_json_t *rv = sy_json_get(o, "revoked");
    if (rv && rv->type == SY_JSON_TRUE)
        return "revoked";
    const sy_json_t *en = sy_json_get(o, "enabled");
    if (en && en->type == SY_JSON_FALSE)
        return "disabled";
    uint64_t exp = 0;
    if (sy_json_as_u64(sy_json_get(o, "expires_at_ms"), &exp) == SY_OK && exp) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        if ((uint64_t)ts.tv_sec * 1000 >= exp)
            return "expired";
    }
    return "active";
}

static void print_principal(sy_arena_t *a, const char *what, const sy_json_t *o, bool header)
{
    bool key = strcmp(what, "key") == 0;
    if (header) {
        if (key)
            printf("%-26s %-16s %-16s %-14s %-8s %-22s %-6s %-8s\n", "ID", "TEAM", "NAME", "KEY",
                   "STATE", "BUDGETS", "RPM", "TPM");
        else
            printf("%-24s %-16s %-20s %-8s %-22s %-6s %-8s\n", "ID",
                   strcmp(what, "team") == 0 ? "ORG" : "", "NAME", "STATE", "BUDGETS", "RPM", "TPM");
    }
    const char *rpm = cstr(a, o, "rpm"), *tpm = cstr(a, o, "tpm");
    if (strcmp(rpm, "0") == 0)
        rpm = "-";
    if (strcmp(tpm, "0") == 0)
        tpm = "-";
    const char *name = cstr(a, o, "name");
    if (*name == '\0')
        name = "-";
    if (key) {
        /* The hint holds a three-byte ellipsis: pad by characters, not bytes. */
        const char *hint = cstr(a, o, "hint");
        int extra = 0;
        for (const char *c = hint; *c; c++)
            extra += ((unsigned char)*c & 0xC0) == 0x80;
        printf("%-26s %-16s %-16s %-*s %-8s %-22s %-6s %-8s\n", cstr(a, o, "id"),
               cstr(a, o, "team"), name, 14 + extra, hint, state_of(o), budgets_text(a, o), rpm,
               tpm);
    } else {
        printf("%-24s %-16s %-20s %-8s %-22s %-6s %-8s\n", cstr(a, o, "id"),
               strcmp(what, "team") == 0 ? cstr(a, o, "org") : "", name, state_of(o),
               budgets_text(a, o), rpm, tpm);
    }
}

/* Send, check, print. `what` names the object for tables ("key", "team",
 * "organisation"). Returns the exit status. */
static int call(opts_t *o, const char *method, const char *path, const char *body,
                const char *what)
{
    if (o->key == NULL || *o->key == '\0') {
        fprintf(stderr, "switchyard: no master key: set SWITCHYARD_MASTER_KEY (or --master-key)\n");
        return 2;
    }
    reply_t r;
    if (do_request(o->url, o->key, method, path, body, &r) != SY_OK)
        return 1;
    sy_arena_t *a = sy_arena_new(0);
    sy_str_t text = sy_str_dup(a, sy_buf_str(&r.body)); /* NUL-terminated copy */
    sy_json_t *root = NULL;
    sy_json_error_t jerr;
    bool parsed = sy_json_parse(a, text.p, text.len, NULL, &root, &jerr) == SY_OK;
    int rc = 0;
    if (r.status >= 400 || !parsed) {
        const sy_json_t *e = parsed ? sy_json_get(root, "error") : NULL;
        fprintf(stderr, "switchyard: %d: %s\n", r.status,
                e ? cstr(a, e, "message") : (text.len ? text.p : "no answer"));
        rc = 1;
    } else if (o->json) {
        printf("%.*s\n", SY_STR_FMT(text));
    } else if (what == NULL) {
        printf("%.*s\n", SY_STR_FMT(text));
    } else if (strcmp(what, "spend") == 0) {
        const sy_json_t *data = sy_json_get(root, "data");
        const char *by = cstr(a, root, "by");
        printf("%-32s %10s %18s %12s %12s\n", by, "REQUESTS", "COST_USD", "TOKENS_IN", "TOKENS_OUT");
        for (size_t i = 0; data && i < sy_json_len(data); i++) {
            const sy_json_t *row = sy_json_index(data, i);
            const char *name = cstr(a, row, by);
            printf("%-32s %10s %18s %12s %12s\n", *name ? name : "(static key)",
                   cstr(a, row, "requests"), cstr(a, row, "cost_usd"), cstr(a, row, "tokens_in"),
                   cstr(a, row, "tokens_out"));
        }
        const sy_json_t *t = sy_json_get(root, "total");
        if (t)
            printf("%-32s %10s %18s %12s %12s\n", "TOTAL", cstr(a, t, "requests"),
                   cstr(a, t, "cost_usd"), cstr(a, t, "tokens_in"), cstr(a, t, "tokens_out"));
    } else {
        const sy_json_t *data = sy_json_get(root, "data");
        if (data) {
            for (size_t i = 0; i < sy_json_len(data); i++)
                print_principal(a, what, sy_json_index(data, i), i == 0);
            if (sy_json_len(data) == 0)
                printf("no %ss\n", what);
        } else if (sy_json_get(root, "created_at_ms") == NULL) {
            /* a revocation or deletion: {"id", "object", "revoked"|"deleted": true} */
            printf("%s %s %s\n", cstr(a, root, "object"), cstr(a, root, "id"),
                   sy_json_get(root, "revoked") ? "revoked" : "deleted");
        } else {
            print_principal(a, what, root, true);
            const sy_json_t *k = sy_json_get(root, "key");
            if (k && k->type == SY_JSON_STRING) {
                printf("\nkey: %s\n", cstr(a, root, "key"));
                fprintf(stderr, "This key is shown once and never again: store it now.\n");
            }
        }
    }
    sy_arena_free(a);
    sy_buf_free(&r.body);
    return rc;
}

/* ---- commands ---- */

static const char keys_usage[] =
    "usage: switchyard keys create --team TEAM [options]\n"
    "       switchyard keys list [--team TEAM]\n"
    "       switchyard keys show ID\n"
    "       switchyard keys update ID [options]\n"
    "       switchyard keys rotate ID       a new key replaces the old one at once\n"
    "       switchyard keys revoke ID\n"
    "\n"
    "Virtual keys of a running gateway, through its admin API. A created or rotated\n"
    "key is printed once; only its hint (the last four characters) can be read back.\n"
    "\n"
    "options:\n";

static const char principals_usage[] =
    "usage: switchyard %1$ss create ID [options]%2$s\n"
    "       switchyard %1$ss list%3$s\n"
    "       switchyard %1$ss show ID\n"
    "       switchyard %1$ss update ID [options]\n"
    "       switchyard %1$ss delete ID [--cascade]   (--cascade also removes what is under it)\n"
    "\n"
    "%4$s of a running gateway, through its admin API.\n"
    "\n"
    "options:\n";

static const char spend_usage[] =
    "usage: switchyard spend [--by key|team|org|model|provider|deployment|day]\n"
    "                        [--key ID] [--team ID] [--org ID] [--model M] [--provider P]\n"
    "                        [--since DURATION]\n"
    "\n"
    "Spend from the gateway's ledger (exact, in USD), grouped as asked (default: by key).\n"
    "\n"
    "options:\n";

static void usage_spec(FILE *f, bool expires)
{
    fputs(spec_help, f);
    if (expires)
        fputs("  --expires DURATION   expire after this long (\"30d\"), or never\n", f);
    fputs(opts_help, f);
}

static int parse_all(opts_t *o, int argc, char **argv, int from, bool spec_ok, const char **pos,
                     int npos_max, int *npos)
{
    *npos = 0;
    for (int i = from; i < argc; i++) {
        int r = parse_opt(o, argc, argv, &i, spec_ok);
        if (r < 0)
            return -1;
        if (r == 1)
            continue;
        if (argv[i][0] == '-' || *npos >= npos_max) {
            fprintf(stderr, "switchyard: unexpected argument \"%s\"\n", argv[i]);
            return -1;
        }
        pos[(*npos)++] = argv[i];
    }
    return 0;
}

int sy_cli_keys(int argc, char **argv)
{
    if (argc < 1 || sy_cli_is_help(argv[0])) {
        FILE *f = argc < 1 ? stderr : stdout;
        fputs(keys_usage, f);
        fputs("  --team TEAM          (create) the team the key belongs to\n", f);
        usage_spec(f, true);
        return argc < 1 ? 2 : 0;
    }
    opts_t o;
    opts_init(&o);
    const char *verb = argv[0];
    const char *pos[2];
    int npos = 0, rc = 2;
    bool spec_ok = strcmp(verb, "create") == 0 || strcmp(verb, "update") == 0;
    if (parse_all(&o, argc, argv, 1, spec_ok || strcmp(verb, "list") == 0, pos, 1, &npos) != 0)
        goto out;
    char path[256];
    sy_buf_t body;
    sy_buf_init(&body, 0);
    if (strcmp(verb, "create") == 0 && npos == 0) {
        if (o.team == NULL) {
            fprintf(stderr, "switchyard: keys create needs --team TEAM\n");
        } else {
            spec_document(&o, "team", o.team, NULL, &body);
            rc = call(&o, "POST", "/admin/keys", sy_buf_ptr(&body), "key");
        }
    } else if (strcmp(verb, "list") == 0 && npos == 0) {
        if (o.team)
            snprintf(path, sizeof(path), "/admin/keys?team=%s", o.team);
        else
            snprintf(path, sizeof(path), "/admin/keys");
        rc = call(&o, "GET", path, NULL, "key");
    } else if (npos == 1 && (strcmp(verb, "show") == 0 || strcmp(verb, "update") == 0 ||
                             strcmp(verb, "rotate") == 0 || strcmp(verb, "revoke") == 0)) {
        snprintf(path, sizeof(path), "/admin/keys/%s%s", pos[0],
                 strcmp(verb, "rotate") == 0   ? "/rotate"
                 : strcmp(verb, "revoke") == 0 ? "/revoke"
                                               : "");
        if (strcmp(verb, "update") == 0) {
            spec_document(&o, NULL, NULL, NULL, &body);
            rc = call(&o, "PATCH", path, sy_buf_ptr(&body), "key");
        } else {
            rc = call(&o, strcmp(verb, "show") == 0 ? "GET" : "POST", path, NULL, "key");
        }
    } else {
        fprintf(stderr, "switchyard: see `switchyard keys --help`\n");
    }
    sy_buf_free(&body);
out:
    opts_free(&o);
    return rc;
}

/* teams and organisations share everything but names and the parent. */
static int principals(int argc, char **argv, bool team)
{
    const char *word = team ? "team" : "org";
    if (argc < 1 || sy_cli_is_help(argv[0])) {
        FILE *f = argc < 1 ? stderr : stdout;
        fprintf(f, principals_usage, word, team ? " [--org ORG]" : "",
                team ? " [--org ORG]" : "", team ? "Teams (under organisations)" : "Organisations");
        if (team)
            fputs("  --org ORG            (create) the organisation (default: default, created if "
                  "missing)\n",
                  f);
        usage_spec(f, false);
        return argc < 1 ? 2 : 0;
    }
    opts_t o;
    opts_init(&o);
    const char *verb = argv[0];
    const char *pos[2];
    int npos = 0, rc = 2;
    if (parse_all(&o, argc, argv, 1, true, pos, 1, &npos) != 0)
        goto out;
    const char *base = team ? "/admin/teams" : "/admin/orgs";
    const char *what = team ? "team" : "organisation";
    char path[256];
    sy_buf_t body;
    sy_buf_init(&body, 0);
    if (strcmp(verb, "create") == 0 && npos == 1) {
        spec_document(&o, "org", team ? o.org : NULL, pos[0], &body);
        rc = call(&o, "POST", base, sy_buf_ptr(&body), what);
    } else if (strcmp(verb, "list") == 0 && npos == 0) {
        if (team && o.org)
            snprintf(path, sizeof(path), "%s?org=%s", base, o.org);
        else
            snprintf(path, sizeof(path), "%s", base);
        rc = call(&o, "GET", path, NULL, what);
    } else if (npos == 1 && (strcmp(verb, "show") == 0 || strcmp(verb, "update") == 0 ||
                             strcmp(verb, "delete") == 0)) {
        snprintf(path, sizeof(path), "%s/%s%s", base, pos[0],
                 strcmp(verb, "delete") == 0 && o.cascade ? "?cascade=true" : "");
        if (strcmp(verb, "update") == 0) {
            spec_document(&o, NULL, NULL, NULL, &body);
            rc = call(&o, "PATCH", path, sy_buf_ptr(&body), what);
        } else if (strcmp(verb, "delete") == 0) {
            rc = call(&o, "DELETE", path, NULL, what);
        } else {
            rc = call(&o, "GET", path, NULL, what);
        }
    } else {
        fprintf(stderr, "switchyard: see `switchyard %ss --help`\n", word);
    }
    sy_buf_free(&body);
out:
    opts_free(&o);
    return rc;
}

int sy_cli_teams(int argc, char **argv)
{
    return principals(argc, argv, true);
}

int sy_cli_orgs(int argc, char **argv)
{
    return principals(argc, argv, false);
}

int sy_cli_spend(int argc, char **argv)
{
    if (argc >= 1 && sy_cli_is_help(argv[0])) {
        fputs(spend_usage, stdout);
        fputs(opts_help, stdout);
        return 0;
    }
    opts_t o;
    opts_init(&o);
    int rc = 2;
    const char *by = "key", *since = NULL;
    const char *filters[5] = {NULL, NULL, NULL, NULL, NULL};
    static const char *const fnames[5] = {"key", "team", "org", "model", "provider"};
    for (int i = 0; i < argc; i++) {
        int r = parse_opt(&o, argc, argv, &i, false);
        if (r < 0)
            goto out;
        if (r == 1)
            continue;
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool known = false;
        if (strcmp(argv[i], "--by") == 0 && v) {
            by = v;
            known = true;
        } else if (strcmp(argv[i], "--since") == 0 && v) {
            since = v;
            known = true;
        }
        for (int f = 0; f < 5 && !known; f++)
            if (strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, fnames[f]) == 0 && v) {
                filters[f] = v;
                known = true;
            }
        if (!known) {
            fprintf(stderr, "switchyard: unexpected argument \"%s\" (see switchyard spend --help)\n",
                    argv[i]);
            goto out;
        }
        i++;
    }
    sy_buf_t path;
    sy_buf_init(&path, 0);
    sy_buf_printf(&path, "/admin/spend?by=%s", by);
    for (int f = 0; f < 5; f++)
        if (filters[f])
            sy_buf_printf(&path, "&%s=%s", fnames[f], filters[f]);
    if (since) {
        uint64_t ms = 0;
        if (sy_cfg_parse_duration(sy_str_c(since), &ms) != SY_OK) {
            fprintf(stderr, "switchyard: --since expects a duration such as 24h or 30d\n");
            sy_buf_free(&path);
            goto out;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
        sy_buf_printf(&path, "&from=%llu", (unsigned long long)(now > ms ? now - ms : 0));
    }
    sy_buf_append(&path, "", 1);
    rc = call(&o, "GET", sy_buf_ptr(&path), NULL, "spend");
    sy_buf_free(&path);
out:
    opts_free(&o);
    return rc;
}
