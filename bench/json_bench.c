/*
 * json_bench.c - Switchyard's JSON parser+writer against jansson.
 *
 * Generates three chat-completion request bodies deterministically (small:
 * ~1 KB with a tool definition; medium: ~100 KB multi-turn conversation with
 * tool calls; large: ~5 MB with base64 image parts), then times
 * parse+serialize and parse alone for both libraries, best of several runs.
 *
 *   build/bench/json_bench            full run (about 30 s on 2 cores)
 *   build/bench/json_bench --quick    one short run each (CI smoke check; also --smoke)
 *   build/bench/json_bench --ops N [--doc small|medium|large]
 *                                     N parse+serialize ops of each library
 *                                     per document, untimed: for
 *                                     valgrind --tool=callgrind: inclusive
 *                                     cost of bench_sy_op / bench_jansson_op
 *                                     over N+1 calls (one sanity check)
 *   build/bench/json_bench --dump NAME  write that body to stdout
 *
 * Switchyard's side works like a request does: parse into an arena that is
 * reset after each op, serialize into a reused buffer. jansson's side loads
 * with json_loadb, dumps with json_dumpb(JSON_COMPACT) into a preallocated
 * buffer and frees the tree with json_decref.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/arena.h"
#include "core/buf.h"
#include "json/json.h"

/* ------------------------------------------------------------ documents --- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static const char *words[] = {
    "the",     "gateway",     "routes",    "each",   "request", "to",        "a",
    "model",   "that",        "fits",      "budget", "latency", "and",       "policy",
    "tokens",  "stream",      "é",         "naïve",  "東京",    "🚀",         "\"quoted\"",
    "path/to", "line\nbreak", "tab\there", "cost",   "region",  "eu-west-1", "cache",
};

/* Append about n bytes of prose to buf. */
static void prose(sy_buf_t *b, size_t n)
{
    size_t start = b->len;
    while (b->len - start < n) {
        if (b->len != start)
            sy_buf_append_c(b, " ");
        sy_buf_append_c(b, words[rng() % SY_ARRAY_LEN(words)]);
    }
}

static void kv_str(sy_json_writer_t *w, const char *k, const char *v)
{
    sy_json_write_key(w, sy_str_c(k));
    sy_json_write_string(w, sy_str_c(v));
}

static void message_text(sy_json_writer_t *w, const char *role, size_t n)
{
    sy_buf_t t;
    sy_buf_init(&t, 0);
    prose(&t, n);
    sy_json_write_begin_object(w);
    kv_str(w, "role", role);
    sy_json_write_key(w, SY_STR("content"));
    sy_json_write_string(w, sy_buf_str(&t));
    sy_json_write_end_object(w);
    sy_buf_free(&t);
}

static void tool_def(sy_json_writer_t *w, const char *name)
{
    sy_json_write_begin_object(w);
    kv_str(w, "type", "function");
    sy_json_write_key(w, SY_STR("function"));
    sy_json_write_begin_object(w);
    kv_str(w, "name", name);
    kv_str(w, "description", "Look up the current weather for a city, in the given unit.");
    sy_json_write_key(w, SY_STR("parameters"));
    sy_json_write_raw(w,
                      SY_STR("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\","
                             "\"description\":\"City name, e.g. Paris\"},\"unit\":{\"type\":"
                             "\"string\",\"enum\":[\"celsius\",\"fahrenheit\"]}},\"required\":"
                             "[\"city\"],\"additionalProperties\":false}"));
    sy_json_write_end_object(w);
    sy_json_write_end_object(w);
}

static void request_head(sy_json_writer_t *w, const char *model)
{
    sy_json_write_begin_object(w);
    kv_str(w, "model", model);
    sy_json_write_key(w, SY_STR("temperature"));
    sy_json_write_number_raw(w, SY_STR("0.7"));
    sy_json_write_key(w, SY_STR("stream"));
    sy_json_write_bool(w, true);
    sy_json_write_key(w, SY_STR("stream_options"));
    sy_json_write_raw(w, SY_STR("{\"include_usage\":true}"));
    sy_json_write_key(w, SY_STR("messages"));
    sy_json_write_begin_array(w);
}

static void gen_small(sy_buf_t *out)
{
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    request_head(&w, "gpt-4o-mini");
    message_text(&w, "system", 160);
    message_text(&w, "user", 260);
    sy_json_write_end_array(&w);
    sy_json_write_key(&w, SY_STR("tools"));
    sy_json_write_begin_array(&w);
    tool_def(&w, "get_weather");
    sy_json_write_end_array(&w);
    sy_json_write_key(&w, SY_STR("max_tokens"));
    sy_json_write_i64(&w, 512);
    sy_json_write_end_object(&w);
    if (sy_json_write_finish(&w))
        sy_panic("bench: small document");
}

static void gen_medium(sy_buf_t *out, size_t target)
{
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    request_head(&w, "gpt-4o");
    message_text(&w, "system", 400);
    for (int turn = 0; out->len < target; turn++) {
        message_text(&w, "user", 200 + rng() % 600);
        if (turn % 3 == 1) {
            /* An assistant tool call and the tool's JSON result. */
            char id[32], args[160], result[400];
            snprintf(id, sizeof(id), "call_%08x", (unsigned)rng());
            snprintf(args, sizeof(args), "{\"city\":\"Paris\",\"unit\":\"celsius\",\"day\":%d}",
                     turn);
            snprintf(result, sizeof(result),
                     "{\"temp\":%d.%d,\"conditions\":\"partly cloudy\",\"wind_kph\":%d,"
                     "\"forecast\":[{\"h\":1,\"t\":20.5},{\"h\":2,\"t\":19.0}]}",
                     (int)(rng() % 35), (int)(rng() % 10), (int)(rng() % 60));
            sy_json_write_begin_object(&w);
            kv_str(&w, "role", "assistant");
            sy_json_write_key(&w, SY_STR("content"));
            sy_json_write_null(&w);
            sy_json_write_key(&w, SY_STR("tool_calls"));
            sy_json_write_begin_array(&w);
            sy_json_write_begin_object(&w);
            kv_str(&w, "id", id);
            kv_str(&w, "type", "function");
            sy_json_write_key(&w, SY_STR("function"));
            sy_json_write_begin_object(&w);
            kv_str(&w, "name", "get_weather");
            kv_str(&w, "arguments", args);
            sy_json_write_end_object(&w);
            sy_json_write_end_object(&w);
            sy_json_write_end_array(&w);
            sy_json_write_end_object(&w);
            sy_json_write_begin_object(&w);
            kv_str(&w, "role", "tool");
            kv_str(&w, "tool_call_id", id);
            kv_str(&w, "content", result);
            sy_json_write_end_object(&w);
        }
        message_text(&w, "assistant", 300 + rng() % 900);
    }
    sy_json_write_end_array(&w);
    sy_json_write_key(&w, SY_STR("tools"));
    sy_json_write_begin_array(&w);
    tool_def(&w, "get_weather");
    tool_def(&w, "get_forecast");
    sy_json_write_end_array(&w);
    sy_json_write_end_object(&w);
    if (sy_json_write_finish(&w))
        sy_panic("bench: medium document");
}

static void gen_large(sy_buf_t *out, size_t target)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    request_head(&w, "gpt-4o");
    message_text(&w, "system", 300);
    size_t per_image = target / 4;
    for (int i = 0; i < 4; i++) {
        sy_buf_t url;
        sy_buf_init(&url, 0);
        sy_buf_append_c(&url, "data:image/png;base64,");
        sy_buf_reserve(&url, per_image);
        while (url.len < per_image - 2)
            sy_buf_append(&url, &b64[rng() % 64], 1);
        sy_buf_append_c(&url, "==");
        sy_json_write_begin_object(&w);
        kv_str(&w, "role", "user");
        sy_json_write_key(&w, SY_STR("content"));
        sy_json_write_begin_array(&w);
        sy_json_write_begin_object(&w);
        kv_str(&w, "type", "text");
        kv_str(&w, "text", "What changed between this screenshot and the previous one?");
        sy_json_write_end_object(&w);
        sy_json_write_begin_object(&w);
        kv_str(&w, "type", "image_url");
        sy_json_write_key(&w, SY_STR("image_url"));
        sy_json_write_begin_object(&w);
        sy_json_write_key(&w, SY_STR("url"));
        sy_json_write_string(&w, sy_buf_str(&url));
        kv_str(&w, "detail", "high");
        sy_json_write_end_object(&w);
        sy_json_write_end_object(&w);
        sy_json_write_end_array(&w);
        sy_json_write_end_object(&w);
        message_text(&w, "assistant", 400);
        sy_buf_free(&url);
    }
    sy_json_write_end_array(&w);
    sy_json_write_end_object(&w);
    if (sy_json_write_finish(&w))
        sy_panic("bench: large document");
}

/* ------------------------------------------------------------------ ops --- */

typedef struct {
    const char *name;
    sy_buf_t doc;
    sy_arena_t *arena;
    sy_buf_t out;
    char *jout;
    size_t jcap;
} doc_t;

/* One Switchyard op; serialize=false measures the parse alone. */
__attribute__((noinline)) static size_t bench_sy_op(doc_t *d, bool serialize)
{
    sy_json_t *v;
    sy_arena_reset(d->arena);
    if (sy_json_parse(d->arena, sy_buf_ptr(&d->doc), d->doc.len, NULL, &v, NULL) != SY_OK)
        sy_panic("bench: switchyard parse failed on %s", d->name);
    if (!serialize)
        return v->type;
    sy_buf_clear(&d->out);
    if (sy_json_serialize(v, &d->out, 0) != SY_OK)
        sy_panic("bench: switchyard serialize failed on %s", d->name);
    return d->out.len;
}

__attribute__((noinline)) static size_t bench_jansson_op(doc_t *d, bool serialize)
{
    json_error_t jerr;
    json_t *j = json_loadb(sy_buf_ptr(&d->doc), d->doc.len, 0, &jerr);
    if (j == NULL)
        sy_panic("bench: jansson failed on %s: %s", d->name, jerr.text);
    size_t n = 0;
    if (serialize) {
        n = json_dumpb(j, d->jout, d->jcap, JSON_COMPACT);
        if (n == 0 || n > d->jcap)
            sy_panic("bench: jansson dump failed on %s", d->name);
    }
    json_decref(j);
    return n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile size_t sink;

/* Best seconds per op over `runs` runs of about `run_s` seconds each. */
static double time_op(doc_t *d, bool jansson, bool serialize, int runs, double run_s)
{
    size_t iters = 1;
    for (;;) { /* calibrate */
        double t0 = now_s();
        for (size_t i = 0; i < iters; i++)
            sink += jansson ? bench_jansson_op(d, serialize) : bench_sy_op(d, serialize);
        double dt = now_s() - t0;
        if (dt >= run_s / 4 || iters >= ((size_t)1 << 30)) {
            iters = (size_t)((double)iters * run_s / (dt > 1e-9 ? dt : 1e-9)) + 1;
            break;
        }
        iters *= 4;
    }
    double best = 1e30;
    for (int r = 0; r < runs; r++) {
        double t0 = now_s();
        for (size_t i = 0; i < iters; i++)
            sink += jansson ? bench_jansson_op(d, serialize) : bench_sy_op(d, serialize);
        double per = (now_s() - t0) / (double)iters;
        if (per < best)
            best = per;
    }
    return best;
}

int main(int argc, char **argv)
{
    int runs = 7;
    double run_s = 0.25;
    long ops = 0;
    const char *only = NULL;
    bool dump = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0 || strcmp(argv[i], "--smoke") == 0) {
            runs = 1;
            run_s = 0.01;
        } else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc) {
            ops = atol(argv[++i]);
        } else if (strcmp(argv[i], "--doc") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc) {
            only = argv[++i];
            dump = true;
        } else {
            fprintf(stderr, "usage: %s [--quick|--smoke | --ops N [--doc NAME] | --dump NAME]\n", argv[0]);
            return 2;
        }
    }

    doc_t docs[3] = {{.name = "small"}, {.name = "medium"}, {.name = "large"}};
    for (int i = 0; i < 3; i++) {
        sy_buf_init(&docs[i].doc, 0);
        sy_buf_init(&docs[i].out, 0);
        docs[i].arena = sy_arena_new(65536);
    }
    gen_small(&docs[0].doc);
    gen_medium(&docs[1].doc, 100 * 1024);
    gen_large(&docs[2].doc, 5 * 1024 * 1024);

    for (int i = 0; i < 3 && dump; i++)
        if (strcmp(only, docs[i].name) == 0)
            fwrite(sy_buf_ptr(&docs[i].doc), 1, docs[i].doc.len, stdout);

    for (int i = 0; i < 3; i++) {
        doc_t *d = &docs[i];
        d->jcap = d->doc.len * 2 + 4096;
        d->jout = sy_malloc(d->jcap);
        if (only && strcmp(only, d->name) != 0)
            continue;
        /* Sanity: ours reproduces the compact input byte for byte; jansson
         * reads it and writes something of similar size. */
        bench_sy_op(d, true);
        if (!sy_str_eq(sy_buf_str(&d->out), sy_buf_str(&d->doc)))
            sy_panic("bench: %s does not round-trip byte for byte", d->name);
        size_t jn = bench_jansson_op(d, true);
        if (jn + jn / 10 < d->doc.len || jn > d->doc.len + d->doc.len / 10)
            sy_panic("bench: jansson output of %s is %zu bytes, input %zu", d->name, jn,
                     d->doc.len);
    }

    if (dump)
        goto out;
    if (ops > 0) {
        for (int i = 0; i < 3; i++)
            for (long k = 0; k < ops && (!only || strcmp(only, docs[i].name) == 0); k++) {
                sink += bench_sy_op(&docs[i], true);
                sink += bench_jansson_op(&docs[i], true);
            }
        printf("ran %ld ops of each kind per document\n", ops);
        goto out;
    }

    for (int mode = 0; mode < 2; mode++) {
        bool ser = mode == 0;
        printf("\n%s (best of %d runs)\n", ser ? "parse+serialize" : "parse only", runs);
        printf("%-7s %10s | %12s %10s | %12s %10s | %8s\n", "body", "bytes", "switchyard", "us/op",
               "jansson", "us/op", "ratio");
        for (int i = 0; i < 3; i++) {
            doc_t *d = &docs[i];
            double ts = time_op(d, false, ser, runs, run_s);
            double tj = time_op(d, true, ser, runs, run_s);
            double mb = (double)d->doc.len / 1e6;
            printf("%-7s %10zu | %7.0f MB/s %10.2f | %7.0f MB/s %10.2f | %7.1fx\n", d->name,
                   d->doc.len, mb / ts, ts * 1e6, mb / tj, tj * 1e6, tj / ts);
        }
    }
    printf("\nratio = jansson time / switchyard time (higher: switchyard faster)\n");

out:
    for (int i = 0; i < 3; i++) {
        sy_buf_free(&docs[i].doc);
        sy_buf_free(&docs[i].out);
        sy_arena_free(docs[i].arena);
        free(docs[i].jout);
    }
    return 0;
}
