/*
 * test_audit.c - the audit trail: RFC 6962 hashing and proofs, Ed25519
 * checkpoints, the canonical record encoding, the content mask, the store,
 * verification naming a tampered record, and the queue-full policy with a
 * stopped writer.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/log.h"
#include "audit/merkle.h"
#include "audit/record.h"
#include "audit/sign.h"
#include "audit/verify.h"
#include "core/arena.h"
#include "core/crc.h"
#include "core/log.h"
#include "core/time.h"
#include "json/json.h"
#include "store/store.h"
#include "store/writer.h"
#include "unit.h"

static sy_hash_t H(const char *hex)
{
    sy_hash_t h;
    memset(&h, 0, sizeof(h));
    if (sy_unhex(sy_str_c(hex), h.b, SY_HASH_LEN) != SY_OK)
        fprintf(stderr, "  bad hex in test: %s\n", hex);
    return h;
}

static bool heq(const sy_hash_t *a, const sy_hash_t *b)
{
    return memcmp(a->b, b->b, SY_HASH_LEN) == 0;
}

/* ---- RFC 6962 ---- */

/* The inputs and tree heads of the Certificate Transparency reference
 * implementation's Merkle tree tests (also RFC 9162's test data): leaves are
 * these byte strings, roots the MTH of the first n of them. */
static const struct {
    const char *data;
    size_t len;
} ct_leaves[8] = {
    {"", 0},
    {"\x00", 1},
    {"\x10", 1},
    {"\x20\x21", 2},
    {"\x30\x31", 2},
    {"\x40\x41\x42\x43", 4},
    {"\x50\x51\x52\x53\x54\x55\x56\x57", 8},
    {"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16},
};
static const char *const ct_roots[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static void test_merkle_known_roots(void)
{
    sy_hash_t leaves[8];
    for (int i = 0; i < 8; i++)
        sy_merkle_leaf(ct_leaves[i].data, ct_leaves[i].len, &leaves[i]);
    sy_merkle_frontier_t f;
    sy_merkle_frontier_init(&f);
    for (int n = 0; n <= 8; n++) {
        sy_hash_t want = H(ct_roots[n]), got, fr;
        sy_merkle_root(leaves, (uint64_t)n, &got);
        CHECK(heq(&got, &want));
        sy_merkle_frontier_root(&f, &fr);
        CHECK(heq(&fr, &want));
        if (n < 8)
            sy_merkle_frontier_push(&f, &leaves[n]);
    }
    /* By hand, from the definitions: a tree of 3 is node(node(l0, l1), l2). */
    sy_hash_t a, b;
    sy_merkle_node(&leaves[0], &leaves[1], &a);
    sy_merkle_node(&a, &leaves[2], &b);
    sy_hash_t want3 = H(ct_roots[3]);
    CHECK(heq(&b, &want3));
    /* The leaf and node prefixes are what separate them: 0x00 vs 0x01. */
    sy_hash_t direct;
    uint8_t buf[1] = {0x00};
    sy_sha256(buf, 1, &direct);
    CHECK(heq(&direct, &leaves[0]));
}

static void test_merkle_known_paths(void)
{
    sy_hash_t leaves[8], path[SY_MERKLE_MAX_PATH];
    for (int i = 0; i < 8; i++)
        sy_merkle_leaf(ct_leaves[i].data, ct_leaves[i].len, &leaves[i]);
    /* PATH(0, D[8]) = l1, MTH(D[2:4]), MTH(D[4:8]) */
    size_t n = sy_merkle_path(leaves, 8, 0, path);
    CHECK_INT(n, 3);
    sy_hash_t m23, m47;
    sy_merkle_root(leaves + 2, 2, &m23);
    sy_merkle_root(leaves + 4, 4, &m47);
    CHECK(heq(&path[0], &leaves[1]));
    CHECK(heq(&path[1], &m23));
    CHECK(heq(&path[2], &m47));
    /* PATH(6, D[7]) = MTH(D[4:6]), MTH(D[0:4]): the last leaf of an odd tree */
    n = sy_merkle_path(leaves, 7, 6, path);
    CHECK_INT(n, 2);
    sy_hash_t m45, m03;
    sy_merkle_root(leaves + 4, 2, &m45);
    sy_merkle_root(leaves, 4, &m03);
    CHECK(heq(&path[0], &m45));
    CHECK(heq(&path[1], &m03));
    /* a tree of one: empty path, the root is the leaf */
    CHECK_INT(sy_merkle_path(leaves, 1, 0, path), 0);
    CHECK(sy_merkle_verify_path(&leaves[0], 0, 1, path, 0, &leaves[0]));
}

/* Every leaf of every tree of 1..33 leaves: the proof verifies with the
 * RFC 9162 algorithm (written independently of the path builder), and
 * fails for a changed leaf, index, size, path element or root. */
static void test_merkle_inclusion_all(void)
{
    sy_hash_t leaves[33], path[SY_MERKLE_MAX_PATH];
    for (int i = 0; i < 33; i++) {
        char d[16];
        int len = snprintf(d, sizeof(d), "record %d", i);
        sy_merkle_leaf(d, (size_t)len, &leaves[i]);
    }
    int bad = 0;
    for (uint64_t n = 1; n <= 33; n++) {
        sy_hash_t root;
        sy_merkle_root(leaves, n, &root);
        sy_merkle_frontier_t f;
        sy_merkle_frontier_init(&f);
        for (uint64_t i = 0; i < n; i++)
            sy_merkle_frontier_push(&f, &leaves[i]);
        sy_hash_t froot;
        sy_merkle_frontier_root(&f, &froot);
        if (!heq(&froot, &root))
            bad++;
        for (uint64_t m = 0; m < n; m++) {
            size_t np = sy_merkle_path(leaves, n, m, path);
            if (!sy_merkle_verify_path(&leaves[m], m, n, path, np, &root))
                bad++;
            if (n > 1 && sy_merkle_verify_path(&leaves[(m + 1) % n], m, n, path, np, &root))
                bad++;
            if (n > 1 && sy_merkle_verify_path(&leaves[m], (m + 1) % n, n, path, np, &root))
                bad++;
            if (np) {
                path[np - 1].b[5] ^= 1;
                if (sy_merkle_verify_path(&leaves[m], m, n, path, np, &root))
                    bad++;
                path[np - 1].b[5] ^= 1;
                if (sy_merkle_verify_path(&leaves[m], m, n, path, np - 1, &root))
                    bad++;
            }
            sy_hash_t other = root;
            other.b[0] ^= 0x80;
            if (sy_merkle_verify_path(&leaves[m], m, n, path, np, &other))
                bad++;
        }
    }
    CHECK_INT(bad, 0);
}

static void test_frontier_codec(void)
{
    sy_merkle_frontier_t f, g;
    sy_merkle_frontier_init(&f);
    for (int i = 0; i < 13; i++) {
        sy_hash_t l;
        sy_merkle_leaf(&i, sizeof(i), &l);
        sy_merkle_frontier_push(&f, &l);
    }
    CHECK_INT(f.n, 3); /* 13 = 8 + 4 + 1 */
    uint8_t buf[8 + 64 * SY_HASH_LEN];
    size_t n = sy_merkle_frontier_encode(&f, buf);
    CHECK_INT(n, 8 + 3 * SY_HASH_LEN);
    CHECK(sy_merkle_frontier_decode(&g, buf, n) == SY_OK);
    sy_hash_t a, b;
    sy_merkle_frontier_root(&f, &a);
    sy_merkle_frontier_root(&g, &b);
    CHECK(heq(&a, &b) && g.size == 13);
    CHECK(sy_merkle_frontier_decode(&g, buf, n - SY_HASH_LEN) == SY_EINVAL);
}

/* ---- Ed25519 ---- */

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sy-audit-unit-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        sy_panic("mkdtemp");
}

static void test_ed25519(void)
{
    char path[128], pub[160], err[256];
    snprintf(path, sizeof(path), "%s/sign.key", tmpdir);
    bool created = false;
    sy_signer_t *s = sy_signer_open(path, true, &created, err, sizeof(err));
    CHECK(s != NULL && created);
    if (s == NULL)
        return;
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    const char msg[] = "switchyard-audit-checkpoint/v1\ntree_size=1\n";
    uint8_t sig[SY_ED25519_SIG_LEN];
    CHECK(sy_signer_sign(s, msg, sizeof(msg) - 1, sig) == SY_OK);
    CHECK(sy_ed25519_verify(sy_signer_public(s), msg, sizeof(msg) - 1, sig));
    CHECK(!sy_ed25519_verify(sy_signer_public(s), msg, sizeof(msg) - 2, sig));
    sig[10] ^= 4;
    CHECK(!sy_ed25519_verify(sy_signer_public(s), msg, sizeof(msg) - 1, sig));
    /* the same key comes back from the file, and its public half from FILE.pub */
    sy_signer_t *again = sy_signer_open(path, false, &created, err, sizeof(err));
    CHECK(again && !created &&
          memcmp(sy_signer_public(again), sy_signer_public(s), SY_ED25519_PUB_LEN) == 0);
    uint8_t p[SY_ED25519_PUB_LEN];
    snprintf(pub, sizeof(pub), "%s.pub", path);
    CHECK(sy_ed25519_load_public(pub, p, err, sizeof(err)) == SY_OK &&
          memcmp(p, sy_signer_public(s), SY_ED25519_PUB_LEN) == 0);
    memset(p, 0, sizeof(p));
    CHECK(sy_ed25519_load_public(path, p, err, sizeof(err)) == SY_OK &&
          memcmp(p, sy_signer_public(s), SY_ED25519_PUB_LEN) == 0);
    /* a key others can read is refused, and the message never holds key bytes */
    chmod(path, 0644);
    sy_signer_t *open_key = sy_signer_open(path, false, NULL, err, sizeof(err));
    CHECK(open_key == NULL && strstr(err, "chmod 600") != NULL);
    CHECK(strstr(err, "PRIVATE") == NULL);
    chmod(path, 0600);
    /* RFC 8032 section 7.1, TEST 2: a one-byte message under a known key */
    uint8_t pk2[32], sig2[64];
    CHECK(sy_unhex(sy_str_c("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"), pk2,
                   32) == SY_OK);
    CHECK(sy_unhex(sy_str_c("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                            "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
                   sig2, 64) == SY_OK);
    CHECK(sy_ed25519_verify(pk2, "\x72", 1, sig2));
    CHECK(!sy_ed25519_verify(pk2, "\x73", 1, sig2));
    sy_signer_free(s);
    sy_signer_free(again);
}

/* ---- the record ---- */

static sy_audit_record_t sample_record(void)
{
    static const sy_str_t verdicts[] = {{"guardrail:pii:redacted", 22}};
    sy_audit_record_t r;
    memset(&r, 0, sizeof(r));
    r.seq = 41;
    r.time_ms = 1790000000123;
    r.request_id = SY_STR("req_0123456789abcdef01234567");
    r.key_id = SY_STR("key_1");
    r.frontdoor = SY_STR("openai");
    r.endpoint = SY_STR("/v1/chat/completions");
    r.model = SY_STR("gpt \"4o\"\n\x01 caf\xc3\xa9 \xff bad");
    r.provider = SY_STR("openai-main");
    r.upstream_model = SY_STR("gpt-4o-mini");
    r.region = SY_STR("eu-west-1");
    r.route = SY_STR("openai-main:429,openai-main:200");
    r.attempts = 2;
    r.verdicts = verdicts;
    r.nverdicts = 1;
    r.status = 200;
    r.stream = true;
    r.tokens_in = 12;
    r.tokens_out = 34;
    r.cost_pico = 18446744073709551615ull;
    r.cost_known = true;
    r.duration_us = 1500;
    sy_sha256("abc", 3, &r.request_sha256);
    return r;
}

static void test_record_canonical(void)
{
    sy_audit_record_t r = sample_record();
    sy_buf_t a, b;
    sy_buf_init(&a, 0);
    sy_buf_init(&b, 0);
    CHECK(sy_audit_record_encode(&r, &a) == SY_OK);
    CHECK(sy_audit_record_encode(&r, &b) == SY_OK);
    CHECK(a.len == b.len && memcmp(sy_buf_ptr(&a), sy_buf_ptr(&b), a.len) == 0);
    /* valid JSON, keys in strictly increasing byte order, nothing but the fields */
    sy_arena_t *ar = sy_arena_new(0);
    sy_json_t *j = NULL;
    CHECK(sy_json_parse(ar, sy_buf_ptr(&a), a.len, NULL, &j, NULL) == SY_OK);
    if (j) {
        CHECK(j->type == SY_JSON_OBJECT);
        for (uint32_t i = 1; i < j->u.obj.len; i++) {
            sy_str_t p = j->u.obj.items[i - 1].key, q = j->u.obj.items[i].key;
            int c = memcmp(p.p, q.p, SY_MIN(p.len, q.len));
            if (!(c < 0 || (c == 0 && p.len < q.len))) {
                fprintf(stderr, "  key order: %.*s before %.*s\n", SY_STR_FMT(p), SY_STR_FMT(q));
                unit_cur_failed++;
            }
        }
        uint64_t cost = 0, seq = 0;
        CHECK(sy_json_as_u64(sy_json_get(j, "cost_pico"), &cost) == SY_OK &&
              cost == 18446744073709551615ull);
        CHECK(sy_json_as_u64(sy_json_get(j, "seq"), &seq) == SY_OK && seq == 41);
        sy_str_t m = sy_json_str(sy_json_get(j, "model"));
        CHECK_STR(m, "gpt \"4o\"\n\x01 caf\xc3\xa9 \xef\xbf\xbd bad");
        CHECK_STR(sy_json_str(sy_json_get(j, "request_sha256")),
                  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        CHECK(sy_json_len(sy_json_get(j, "verdicts")) == 1);
        CHECK(sy_json_get(j, "request_content") == NULL); /* content: none */
    }
    /* one escape per character, written one way */
    CHECK(strstr(sy_buf_ptr(&a), "\"model\":\"gpt \\\"4o\\\"\\n\\u0001 caf\xc3\xa9 \\ufffd bad\"") !=
          NULL);
    /* a changed field changes the bytes */
    r.tokens_out = 35;
    sy_buf_clear(&b);
    sy_audit_record_encode(&r, &b);
    CHECK(!(a.len == b.len && memcmp(sy_buf_ptr(&a), sy_buf_ptr(&b), a.len) == 0));
    /* content: valid UTF-8 as text, other bytes as base64 */
    r.content = SY_AUDIT_CONTENT_FULL;
    r.request_content = SY_STR("{\"a\":1}");
    r.response_content = SY_STR("\xff\xfe");
    sy_buf_clear(&b);
    sy_audit_record_encode(&r, &b);
    CHECK(strstr(sy_buf_ptr(&b), "\"request_content\":\"{\\\"a\\\":1}\"") != NULL);
    CHECK(strstr(sy_buf_ptr(&b), "\"response_content_b64\":\"//4=\"") != NULL);
    sy_arena_reset(ar);
    CHECK(sy_json_parse(ar, sy_buf_ptr(&b), b.len, NULL, &j, NULL) == SY_OK);
    sy_arena_free(ar);
    sy_buf_free(&a);
    sy_buf_free(&b);
}

/* The encoder as it was first written, with printf: kept here as the
 * reference the append-based encoder must match byte for byte (every record
 * in an existing log was encoded this way). A field added to the record is
 * added here too, at its place in key order, the plain way. */
/* Length of the well-formed UTF-8 sequence at s[0..n), or 0: the Unicode
 * standard's table of well-formed byte sequences (Table 3-7), row by row. */
static size_t ref_utf8_len(const uint8_t *s, size_t n)
{
    static const struct {
        uint8_t lo[4], hi[4];
        size_t len;
    } rows[] = {
        {{0x00}, {0x7f}, 1},
        {{0xc2, 0x80}, {0xdf, 0xbf}, 2},
        {{0xe0, 0xa0, 0x80}, {0xe0, 0xbf, 0xbf}, 3},
        {{0xe1, 0x80, 0x80}, {0xec, 0xbf, 0xbf}, 3},
        {{0xed, 0x80, 0x80}, {0xed, 0x9f, 0xbf}, 3},
        {{0xee, 0x80, 0x80}, {0xef, 0xbf, 0xbf}, 3},
        {{0xf0, 0x90, 0x80, 0x80}, {0xf0, 0xbf, 0xbf, 0xbf}, 4},
        {{0xf1, 0x80, 0x80, 0x80}, {0xf3, 0xbf, 0xbf, 0xbf}, 4},
        {{0xf4, 0x80, 0x80, 0x80}, {0xf4, 0x8f, 0xbf, 0xbf}, 4},
    };
    for (size_t r = 0; r < SY_ARRAY_LEN(rows); r++) {
        size_t k = 0;
        while (k < rows[r].len && k < n && s[k] >= rows[r].lo[k] && s[k] <= rows[r].hi[k])
            k++;
        if (k == rows[r].len)
            return k;
    }
    return 0;
}

static void ref_string(sy_buf_t *b, sy_str_t s)
{
    const uint8_t *p = (const uint8_t *)s.p;
    sy_buf_append_c(b, "\"");
    for (size_t i = 0; i < s.len;) {
        uint8_t c = p[i];
        size_t adv = 1;
        if (c == '"')
            sy_buf_append_c(b, "\\\"");
        else if (c == '\\')
            sy_buf_append_c(b, "\\\\");
        else if (c == '\b')
            sy_buf_append_c(b, "\\b");
        else if (c == '\f')
            sy_buf_append_c(b, "\\f");
        else if (c == '\n')
            sy_buf_append_c(b, "\\n");
        else if (c == '\r')
            sy_buf_append_c(b, "\\r");
        else if (c == '\t')
            sy_buf_append_c(b, "\\t");
        else if (c < 0x20)
            sy_buf_printf(b, "\\u%04x", c);
        else if (c >= 0x80 && (adv = ref_utf8_len(p + i, s.len - i)) == 0) {
            sy_buf_append_c(b, "\\ufffd");
            adv = 1;
        } else {
            sy_buf_append(b, p + i, adv);
        }
        i += adv;
    }
    sy_buf_append_c(b, "\"");
}

static void ref_kstr(sy_buf_t *b, const char *k, sy_str_t v)
{
    sy_buf_printf(b, ",\"%s\":", k);
    ref_string(b, v);
}

static void ref_kcontent(sy_buf_t *b, const char *k, sy_str_t v)
{
    bool valid = true;
    for (size_t i = 0; i < v.len && valid;) {
        size_t l = ref_utf8_len((const uint8_t *)v.p + i, v.len - i);
        valid = l != 0;
        i += l;
    }
    if (valid) {
        ref_kstr(b, k, v);
        return;
    }
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    sy_buf_printf(b, ",\"%s_b64\":\"", k);
    const uint8_t *p = (const uint8_t *)v.p;
    for (size_t i = 0; i < v.len; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16 | (i + 1 < v.len ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < v.len ? p[i + 2] : 0);
        sy_buf_printf(b, "%c%c%c%c", b64[w >> 18], b64[(w >> 12) & 63],
                      i + 1 < v.len ? b64[(w >> 6) & 63] : '=', i + 2 < v.len ? b64[w & 63] : '=');
    }
    sy_buf_append_c(b, "\"");
}

static void ref_encode(const sy_audit_record_t *r, sy_buf_t *b)
{
    static const char *const modes[] = {"none", "redacted", "full"};
    char h1[65], h2[65];
    bool c = r->content != SY_AUDIT_CONTENT_NONE;
    sy_buf_printf(b, "{\"attempts\":%" PRIu32 ",\"client_aborted\":%s", r->attempts,
                  r->client_aborted ? "true" : "false");
    ref_kstr(b, "content_mode", sy_str_c(modes[r->content <= SY_AUDIT_CONTENT_FULL ? r->content : 0]));
    if (c)
        sy_buf_printf(b, ",\"content_truncated\":%s", r->content_truncated ? "true" : "false");
    sy_buf_printf(b, ",\"cost_known\":%s,\"cost_pico\":%" PRIu64 ",\"duration_us\":%" PRIu64,
                  r->cost_known ? "true" : "false", r->cost_pico, r->duration_us);
    ref_kstr(b, "endpoint", r->endpoint);
    ref_kstr(b, "error_class", r->error_class);
    ref_kstr(b, "frontdoor", r->frontdoor);
    ref_kstr(b, "jurisdiction", r->jurisdiction);
    ref_kstr(b, "key_id", r->key_id);
    ref_kstr(b, "model", r->model);
    ref_kstr(b, "org_id", r->org_id);
    ref_kstr(b, "provider", r->provider);
    ref_kstr(b, "region", r->region);
    sy_buf_printf(b, ",\"request_bytes\":%" PRIu64, r->request_bytes);
    if (c)
        ref_kcontent(b, "request_content", r->request_content);
    ref_kstr(b, "request_id", r->request_id);
    sy_buf_printf(b, ",\"request_sha256\":\"%s\",\"response_bytes\":%" PRIu64,
                  sy_hex(r->request_sha256.b, SY_HASH_LEN, h1), r->response_bytes);
    if (c)
        ref_kcontent(b, "response_content", r->response_content);
    sy_buf_printf(b, ",\"response_sha256\":\"%s\"", sy_hex(r->response_sha256.b, SY_HASH_LEN, h2));
    ref_kstr(b, "route", r->route);
    ref_kstr(b, "route_detail", r->route_detail);
    sy_buf_printf(b, ",\"seq\":%" PRIu64 ",\"status\":%d", r->seq, r->status);
    ref_kstr(b, "strategy", r->strategy);
    sy_buf_printf(b, ",\"stream\":%s", r->stream ? "true" : "false");
    ref_kstr(b, "team_id", r->team_id);
    sy_buf_printf(b,
                  ",\"time_ms\":%" PRIu64 ",\"tokens_cache_write\":%" PRIu64
                  ",\"tokens_cached\":%" PRIu64 ",\"tokens_in\":%" PRIu64 ",\"tokens_out\":%" PRIu64
                  ",\"tokens_reasoning\":%" PRIu64 ",\"ttft_us\":%" PRIu64,
                  r->time_ms, r->tokens_cache_write, r->tokens_cached, r->tokens_in, r->tokens_out,
                  r->tokens_reasoning, r->ttft_us);
    ref_kstr(b, "upstream_model", r->upstream_model);
    sy_buf_printf(b, ",\"upstream_us\":%" PRIu64 ",\"usage_estimated\":%s,\"v\":%d,\"verdicts\":[",
                  r->upstream_us, r->usage_estimated ? "true" : "false", SY_AUDIT_RECORD_VERSION);
    for (size_t i = 0; i < r->nverdicts; i++) {
        if (i)
            sy_buf_append_c(b, ",");
        ref_string(b, r->verdicts[i]);
    }
    sy_buf_append_c(b, "]}");
}

/* A small deterministic generator (xorshift64*). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

/* A string mixing what the escaping must tell apart: plain ASCII, quotes,
 * backslashes, every kind of control byte, DEL, valid 2/3/4-byte UTF-8,
 * and invalid sequences (overlong, surrogate, out of range, truncated,
 * stray continuation bytes), or empty with a NULL pointer. */
static sy_str_t random_string(sy_arena_t *ar, size_t maxlen)
{
#define P(s) {s, sizeof(s) - 1}
    static const struct {
        const char *s;
        size_t n;
    } pieces[] = {
        P("a"), P("Z"), P("0"), P(" "), P("model-4o"), P("/v1/chat"), P("\""), P("\\"), P("\b"),
        P("\f"), P("\n"), P("\r"), P("\t"), P("\x01"), P("\x1f"), P("\x00"), P("\x7f"),
        P("\xc3\xa9"), P("\xe2\x82\xac"), P("\xf0\x9f\x98\x80"), P("\xc0\x80"),
        P("\xed\xa0\x80"), P("\xf4\x90\x80\x80"), P("\xf5"), P("\xff"), P("\x80"), P("\xbf"),
        P("\xe2\x82"), P("\xf0\x9f"), P("\xc3"), P("{\"k\":[1,2]}"),
        P("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac"),
    };
#undef P
    if (rng() % 8 == 0)
        return (sy_str_t){NULL, 0};
    size_t want = (size_t)(rng() % (maxlen + 1));
    char *p = sy_arena_alloc(ar, want + 8);
    size_t n = 0;
    while (n < want) {
        size_t k = (size_t)(rng() % SY_ARRAY_LEN(pieces));
        if (n + pieces[k].n > want + 4)
            break;
        memcpy(p + n, pieces[k].s, pieces[k].n);
        n += pieces[k].n;
    }
    return sy_str(p, n);
}

static uint64_t random_u64(void)
{
    switch (rng() % 5) {
    case 0:
        return 0;
    case 1:
        return UINT64_MAX - rng() % 3;
    case 2:
        return rng() % 1000;
    case 3: {
        /* around a power of ten, where the number of digits changes */
        uint64_t p = 1;
        for (uint64_t k = rng() % 20; k; k--)
            p *= 10;
        return p - 1 + rng() % 3;
    }
    default:
        return rng();
    }
}

static void test_record_encoder_matches_reference(void)
{
    sy_arena_t *ar = sy_arena_new(0);
    sy_buf_t a, b;
    sy_buf_init(&a, 0);
    sy_buf_init(&b, 0);
    int mismatches = 0;
    for (int iter = 0; iter < 3000; iter++) {
        sy_arena_reset(ar);
        sy_audit_record_t r;
        memset(&r, 0, sizeof(r));
        sy_str_t *strs[] = {&r.request_id, &r.key_id,         &r.team_id,    &r.org_id,
                            &r.frontdoor,  &r.endpoint,       &r.model,      &r.provider,
                            &r.upstream_model, &r.region,     &r.jurisdiction, &r.route,
                            &r.route_detail, &r.strategy,     &r.error_class};
        for (size_t i = 0; i < SY_ARRAY_LEN(strs); i++)
            *strs[i] = random_string(ar, i == 12 ? 400 : 40);
        size_t nv = (size_t)(rng() % 4);
        sy_str_t *v = sy_arena_alloc(ar, (nv + 1) * sizeof(*v));
        for (size_t i = 0; i < nv; i++)
            v[i] = random_string(ar, 30);
        r.verdicts = v;
        r.nverdicts = nv;
        uint64_t *nums[] = {&r.seq, &r.time_ms, &r.tokens_in, &r.tokens_out, &r.tokens_cached,
                            &r.tokens_cache_write, &r.tokens_reasoning, &r.cost_pico,
                            &r.duration_us, &r.upstream_us, &r.ttft_us, &r.request_bytes,
                            &r.response_bytes};
        for (size_t i = 0; i < SY_ARRAY_LEN(nums); i++)
            *nums[i] = random_u64();
        r.attempts = (uint32_t)random_u64();
        r.status = iter % 7 == 0 ? -(int)(rng() % 1000) : (int)(rng() % 600);
        if (iter % 97 == 0)
            r.status = INT32_MIN;
        r.stream = rng() & 1;
        r.usage_estimated = rng() & 1;
        r.cost_known = rng() & 1;
        r.client_aborted = rng() & 1;
        r.content_truncated = rng() & 1;
        for (size_t i = 0; i < SY_HASH_LEN; i++) {
            r.request_sha256.b[i] = (uint8_t)rng();
            r.response_sha256.b[i] = (uint8_t)rng();
        }
        r.content = (sy_audit_content_t)(rng() % 3);
        if (r.content != SY_AUDIT_CONTENT_NONE) {
            r.request_content = random_string(ar, 300);
            r.response_content = random_string(ar, 300);
        }
        sy_buf_clear(&a);
        sy_buf_clear(&b);
        /* something before the record: the encoder appends */
        sy_buf_append_c(&a, "x");
        sy_buf_append_c(&b, "x");
        int rc = sy_audit_record_encode(&r, &a);
        ref_encode(&r, &b);
        if (rc != SY_OK || a.len != b.len || memcmp(sy_buf_ptr(&a), sy_buf_ptr(&b), a.len) != 0) {
            if (mismatches++ < 3)
                fprintf(stderr, "  record %d differs:\n  got  %.*s\n  want %.*s\n", iter,
                        (int)a.len, sy_buf_ptr(&a), (int)b.len, sy_buf_ptr(&b));
        }
        /* and it is valid JSON */
        sy_json_t *j = NULL;
        if (sy_json_parse(ar, sy_buf_ptr(&a) + 1, a.len - 1, NULL, &j, NULL) != SY_OK &&
            mismatches++ < 3)
            fprintf(stderr, "  record %d is not JSON: %.*s\n", iter, (int)a.len, sy_buf_ptr(&a));
    }
    CHECK_INT(mismatches, 0);
    sy_buf_free(&a);
    sy_buf_free(&b);
    sy_arena_free(ar);
}

/* The exact bytes of one record, as the first version of the log wrote it:
 * a store written then still verifies, and its records read the same. */
static void test_record_golden(void)
{
    sy_audit_record_t r = sample_record();
    sy_buf_t a;
    sy_buf_init(&a, 0);
    CHECK(sy_audit_record_encode(&r, &a) == SY_OK);
    CHECK_MEM(sy_buf_ptr(&a), a.len,
              "{\"attempts\":2,\"client_aborted\":false,\"content_mode\":\"none\","
              "\"cost_known\":true,\"cost_pico\":18446744073709551615,\"duration_us\":1500,"
              "\"endpoint\":\"/v1/chat/completions\",\"error_class\":\"\",\"frontdoor\":\"openai\","
              "\"jurisdiction\":\"\",\"key_id\":\"key_1\","
              "\"model\":\"gpt \\\"4o\\\"\\n\\u0001 caf\xc3\xa9 \\ufffd bad\",\"org_id\":\"\","
              "\"provider\":\"openai-main\",\"region\":\"eu-west-1\",\"request_bytes\":0,"
              "\"request_id\":\"req_0123456789abcdef01234567\","
              "\"request_sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\","
              "\"response_bytes\":0,"
              "\"response_sha256\":\"0000000000000000000000000000000000000000000000000000000000000000\","
              "\"route\":\"openai-main:429,openai-main:200\",\"route_detail\":\"\",\"seq\":41,"
              "\"status\":200,\"strategy\":\"\",\"stream\":true,\"team_id\":\"\","
              "\"time_ms\":1790000000123,\"tokens_cache_write\":0,\"tokens_cached\":0,"
              "\"tokens_in\":12,\"tokens_out\":34,\"tokens_reasoning\":0,\"ttft_us\":0,"
              "\"upstream_model\":\"gpt-4o-mini\",\"upstream_us\":0,\"usage_estimated\":false,"
              "\"v\":1,\"verdicts\":[\"guardrail:pii:redacted\"]}");
    /* a buffer with a cap: a record that does not fit fails whole */
    sy_buf_t small;
    sy_buf_init(&small, 64);
    sy_buf_append_c(&small, "prefix");
    CHECK(sy_audit_record_encode(&r, &small) == SY_ETOOBIG);
    CHECK_MEM(sy_buf_ptr(&small), small.len, "prefix");
    /* content that needs the buffer to grow past the first reservation */
    r.content = SY_AUDIT_CONTENT_FULL;
    size_t big = 200000;
    char *body = malloc(big);
    for (size_t i = 0; i < big; i++)
        body[i] = i % 50 == 0 ? '\n' : (char)('a' + i % 26);
    r.request_content = sy_str(body, big);
    r.response_content = SY_STR("\xff\x00\x01");
    sy_buf_clear(&a);
    CHECK(sy_audit_record_encode(&r, &a) == SY_OK);
    sy_buf_t b;
    sy_buf_init(&b, 0);
    ref_encode(&r, &b);
    CHECK(a.len == b.len && memcmp(sy_buf_ptr(&a), sy_buf_ptr(&b), a.len) == 0);
    CHECK(strstr(sy_buf_ptr(&a), "\"response_content_b64\":\"/wAB\"") != NULL);
    free(body);
    sy_buf_free(&a);
    sy_buf_free(&b);
    sy_buf_free(&small);
}

static void test_redact(void)
{
    sy_buf_t o;
    sy_buf_init(&o, 0);
    sy_audit_redact(SY_STR("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":"
                           "\"my card is 4111 1111 1111 1111\"}],\"stop\":[\"a\",\"b\"],"
                           "\"max_tokens\":5,\"x\":{\"type\":\"text\",\"text\":\"se\\\"cret\"}}"),
                    &o);
    CHECK_MEM(sy_buf_ptr(&o), o.len,
              "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"[redacted]\"}],"
              "\"stop\":[\"[redacted]\",\"[redacted]\"],\"max_tokens\":5,"
              "\"x\":{\"type\":\"text\",\"text\":\"[redacted]\"}}");
    sy_buf_clear(&o);
    sy_audit_redact(SY_STR("event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                           "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"),
                    &o);
    CHECK_MEM(sy_buf_ptr(&o), o.len,
              "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
              "\"delta\":{\"type\":\"text_delta\",\"text\":\"[redacted]\"}}\n\n");
    sy_buf_free(&o);
}

/* ---- the log: store, resume, verify, tamper ---- */

static sy_config_t *audit_config(unsigned capacity, const char *extra)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "store: sqlite:%s/audit.db\n"
             "audit:\n  enabled: true\n  signing_key_file: %s/log.key\n"
             "  flush_interval: 5ms\n  batch_records: 7\n  queue_capacity: %u\n"
             "  queue_full_wait: 20ms\n  checkpoint_records: 10\n  checkpoint_interval: 100ms\n%s",
             tmpdir, tmpdir, capacity, extra ? extra : "");
    char *err = NULL;
    sy_config_t *c = sy_config_parse("<test>", text, strlen(text), &err);
    if (c == NULL)
        fprintf(stderr, "  config: %s\n", err);
    free(err);
    return c;
}

/* ---- the background writer's wake-ups ---- */

typedef struct {
    _Atomic size_t items, batches;
    _Atomic uint64_t last_ns; /* when the last batch was handed over */
    size_t sizes[64];
} sink_log_t;

static int sink_write(void *ctx, sy_writer_item_t **items, size_t n)
{
    sink_log_t *s = ctx;
    size_t b = atomic_load(&s->batches);
    if (b < SY_ARRAY_LEN(s->sizes))
        s->sizes[b] = n;
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    atomic_store(&s->last_ns, sy_now_ns());
    atomic_fetch_add(&s->items, n);
    atomic_fetch_add(&s->batches, 1);
    return SY_OK;
}

static void sink_tick(void *ctx, bool final)
{
    (void)ctx;
    (void)final;
}

/* Push n items, gap_us apart (time for the writer to go back to sleep). */
static void push_items(sy_queue_t *q, sy_writer_t *w, size_t n, unsigned gap_us)
{
    for (size_t i = 0; i < n; i++) {
        if (i && gap_us)
            usleep(gap_us);
        sy_writer_item_t *it = sy_malloc(sizeof(*it));
        it->enqueued_ns = sy_now_ns();
        CHECK(sy_queue_push(q, it) == SY_OK);
        sy_writer_wake(w);
    }
}

static bool wait_items(sink_log_t *s, size_t n, uint64_t max_ms)
{
    for (uint64_t t0 = sy_now_ms(); sy_now_ms() - t0 < max_ms;) {
        if (atomic_load(&s->items) >= n)
            return true;
        usleep(1000);
    }
    return atomic_load(&s->items) >= n;
}

static void test_writer_wakeups(void)
{
    sy_queue_t q;
    sy_queue_init(&q, 256);
    static sink_log_t s;
    sy_writer_opts_t o = {.batch_max = 16, .linger_ms = 1000, .tick_ms = 10000};
    sy_writer_sink_t sink = {sink_write, sink_tick, &s};
    sy_writer_t *w = sy_writer_start(&q, &o, &sink);
    usleep(20000); /* the writer is asleep with no batch open */

    /* Ten items 5 ms apart, fewer than a batch: the first wakes the idle
     * writer (unless it was not asleep yet), the rest find it lingering over
     * the open batch and make no system call. The batch closes at its
     * deadline, not before. */
    uint64_t t0 = sy_now_ns();
    push_items(&q, w, 10, 5000);
    CHECK(sy_writer_wakeups(w) <= 1);
    CHECK(wait_items(&s, 10, 5000));
    uint64_t took_ms = (atomic_load(&s.last_ns) - t0) / 1000000u;
    CHECK(took_ms >= 1000 && took_ms < 4000);
    CHECK_INT(atomic_load(&s.batches), 1);
    CHECK_INT(s.sizes[0], 10);
    uint64_t before = sy_writer_wakeups(w);
    CHECK(before <= 1);

    /* A full batch is written at once: the push that fills it wakes the
     * lingering writer (at most one more wake-up than the idle one). */
    usleep(20000);
    t0 = sy_now_ns();
    push_items(&q, w, 1, 0);
    usleep(20000); /* the writer has opened a batch and lingers */
    push_items(&q, w, 15, 1000);
    CHECK(wait_items(&s, 26, 5000));
    took_ms = (atomic_load(&s.last_ns) - t0) / 1000000u;
    CHECK(took_ms < 700);
    CHECK_INT(atomic_load(&s.batches), 2);
    CHECK_INT(s.sizes[1], 16);
    CHECK(sy_writer_wakeups(w) - before <= 2);

    /* Many items in a row: about one wake-up per batch, never one per item. */
    usleep(20000);
    before = sy_writer_wakeups(w);
    push_items(&q, w, 160, 100);
    CHECK(wait_items(&s, 186, 5000));
    uint64_t wakes = sy_writer_wakeups(w) - before;
    CHECK(wakes >= 1 && wakes <= 20);
    sy_writer_stop(w);
    CHECK_INT(atomic_load(&s.items), 186);
    sy_queue_free(&q);
}

/* Admit and submit one request's record through the public API. */
static int one_request(sy_arena_t *a, int i)
{
    sy_audit_req_t *r = NULL;
    int rc = sy_audit_begin(a, &r);
    if (rc != SY_OK)
        return rc;
    char id[40], body[64];
    snprintf(id, sizeof(id), "req_unit_%04d", i);
    int blen = snprintf(body, sizeof(body), "{\"model\":\"m\",\"n\":%d}", i);
    sy_audit_response_bytes(r, "data: x\n\n", 9);
    sy_audit_response_bytes(r, "data: [DONE]\n\n", 14);
    sy_access_entry_t e;
    memset(&e, 0, sizeof(e));
    e.request_id = sy_str_c(id);
    e.frontdoor = SY_STR("openai");
    e.path = SY_STR("/v1/chat/completions");
    e.model = SY_STR("m");
    e.provider = SY_STR("p");
    e.upstream_model = SY_STR("m-1");
    e.status = 200;
    e.attempts = 1;
    e.attempt_log = SY_STR("p:200");
    e.usage.input = 10;
    e.usage.has_input = true;
    e.usage.output = (uint64_t)i;
    e.usage.has_output = true;
    e.cost_pico = 1000u * (uint64_t)i;
    e.cost_known = true;
    sy_audit_submit(r, &e, NULL, sy_str(body, (size_t)blen));
    return SY_OK;
}

static void wait_written(uint64_t n)
{
    sy_audit_stats_t s;
    for (int i = 0; i < 500; i++) {
        sy_audit_stats(&s);
        if (s.written >= n)
            return;
        usleep(2000);
    }
}

static int verify_db(sy_audit_verify_t *res)
{
    char path[128], err[256], keyp[128];
    snprintf(path, sizeof(path), "%s/audit.db", tmpdir);
    snprintf(keyp, sizeof(keyp), "%s/log.key.pub", tmpdir);
    sy_store_opts_t so = {.readonly = true};
    sy_store_t *s = sy_store_sqlite_open(path, &so, err, sizeof(err));
    uint8_t pub[SY_ED25519_PUB_LEN];
    if (s == NULL || sy_ed25519_load_public(keyp, pub, err, sizeof(err)) != SY_OK) {
        fprintf(stderr, "  %s\n", err);
        sy_store_close(s);
        return SY_ERR;
    }
    int rc = sy_audit_verify(s, pub, res, err, sizeof(err));
    sy_store_close(s);
    return rc;
}

static void test_queue_full_policy(void)
{
    sy_config_t *c = audit_config(16, NULL);
    char err[512];
    CHECK(c && sy_audit_start(c, err, sizeof(err)) == SY_OK);
    if (!sy_audit_enabled()) {
        fprintf(stderr, "  %s\n", err);
        unit_cur_failed++;
        sy_config_unref(c);
        return;
    }
    sy_audit_test_pause(true); /* the writer stops taking records */
    sy_arena_t *a = sy_arena_new(0);
    int admitted = 0;
    for (int i = 0; i < 8; i++)
        admitted += one_request(a, i) == SY_OK;
    /* refusals at authentication may hold only the first half, and never wait */
    sy_audit_req_t *rr = (sy_audit_req_t *)1;
    uint64_t r0 = sy_now_ms();
    CHECK(sy_audit_begin_refusal(a, &rr) == SY_EAGAIN && rr == NULL);
    CHECK(sy_now_ms() - r0 < 15);
    for (int i = 8; i < 16; i++)
        admitted += one_request(a, i) == SY_OK;
    CHECK_INT(admitted, 16);
    sy_audit_stats_t s;
    sy_audit_stats(&s);
    CHECK_INT(s.queued, 16);
    CHECK_INT(s.reserved, 16);
    CHECK_INT(s.written, 0);
    /* full: brief back-pressure (queue_full_wait), then a refusal, counted */
    sy_audit_req_t *r = (sy_audit_req_t *)1;
    uint64_t t0 = sy_now_ms();
    CHECK(sy_audit_begin(a, &r) == SY_EAGAIN && r == NULL);
    uint64_t waited = sy_now_ms() - t0;
    CHECK(waited >= 18 && waited < 1000);
    sy_audit_stats(&s);
    CHECK_INT(s.queue_full, 2);
    /* the writer resumes: everything queued is written, places come back */
    sy_audit_test_pause(false);
    wait_written(16);
    sy_audit_stats(&s);
    CHECK_INT(s.written, 16);
    CHECK_INT(s.reserved, 0);
    /* with places free, a refusal's record is admitted like any other (it
     * is record 16) */
    CHECK(sy_audit_begin_refusal(a, &rr) == SY_OK && rr != NULL);
    sy_access_entry_t re;
    memset(&re, 0, sizeof(re));
    re.request_id = SY_STR("req_unit_refused");
    re.frontdoor = SY_STR("openai");
    re.path = SY_STR("/v1/chat/completions");
    re.status = 401;
    sy_audit_add_verdict(rr, SY_STR("refused:invalid_key"));
    sy_audit_submit(rr, &re, NULL, SY_STR(""));
    /* a request that ends without its record gives its place back, counted */
    sy_audit_req_t *lost = NULL;
    sy_arena_t *b = sy_arena_new(0);
    CHECK(sy_audit_begin(b, &lost) == SY_OK && lost != NULL);
    sy_log_setup(SY_LOG_ERROR, SY_LOG_TEXT, 2); /* the warning is expected */
    sy_arena_free(b);
    sy_log_setup(SY_LOG_WARN, SY_LOG_JSON, 2);
    sy_audit_stats(&s);
    CHECK_INT(s.unsubmitted, 1);
    sy_audit_stop();
    sy_arena_free(a);
    sy_audit_verify_t res;
    CHECK(verify_db(&res) == SY_OK && res.ok && res.records == 17 && res.covered == 17);
    sy_config_unref(c);
}

/* Stop and start again: numbering, tree and checkpoints resume; then one
 * changed byte is named by verify. */
static void test_resume_and_tamper(void)
{
    sy_config_t *c = audit_config(64, NULL);
    char err[512];
    CHECK(c && sy_audit_start(c, err, sizeof(err)) == SY_OK);
    sy_arena_t *a = sy_arena_new(0);
    for (int i = 17; i < 40; i++)
        CHECK(one_request(a, i) == SY_OK);
    sy_audit_stop();
    sy_arena_free(a);
    sy_audit_verify_t res;
    CHECK(verify_db(&res) == SY_OK && res.ok && res.records == 40 && res.covered == 40);
    CHECK(res.checkpoints >= 4);

    /* a different key is refused: one log, one key */
    sy_config_t *other = audit_config(64, "");
    char text[600];
    snprintf(text, sizeof(text),
             "store: sqlite:%s/audit.db\naudit: {enabled: true, signing_key_file: %s/other.key}\n",
             tmpdir, tmpdir);
    sy_config_unref(other);
    other = sy_config_parse("<t>", text, strlen(text), NULL);
    CHECK(other && sy_audit_start(other, err, sizeof(err)) == SY_ERR &&
          strstr(err, "not the key this audit log was started with"));
    sy_config_unref(other);

    /* one byte of record 23 changes */
    char path[128];
    snprintf(path, sizeof(path), "%s/audit.db", tmpdir);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "UPDATE audit_records SET record = replace(record, '\"tokens_out\":23', "
                       "'\"tokens_out\":93') WHERE seq = 23",
                       NULL, NULL, NULL) == SQLITE_OK);
    CHECK_INT(sqlite3_changes(db), 1);
    CHECK(verify_db(&res) == SY_OK && !res.ok);
    CHECK_INT(res.bad_index, 23);
    CHECK(strcmp(res.bad_id, "req_unit_0023") == 0);
    CHECK(strstr(res.first, "req_unit_0023") != NULL);
    /* the leaf hash rewritten to match: the signed checkpoint still catches it */
    CHECK(sqlite3_exec(db,
                       "UPDATE audit_records SET leaf = (SELECT leaf FROM audit_records WHERE seq "
                       "= 22) WHERE seq = 23",
                       NULL, NULL, NULL) == SQLITE_OK);
    CHECK(verify_db(&res) == SY_OK && !res.ok);
    /* the last record removed: the checkpoint covering it says so */
    CHECK(sqlite3_exec(db, "DELETE FROM audit_records WHERE seq >= 23", NULL, NULL, NULL) ==
          SQLITE_OK);
    CHECK(verify_db(&res) == SY_OK && !res.ok && strstr(res.first, "removed") != NULL);
    sqlite3_close(db);
    sy_config_unref(c);
}

/* Rows read back from a store. */
typedef struct {
    size_t n;
    bool ok;
} rows_seen_t;

/* Rows seq..seq+n-1 of the store tests: request id, time and record made
 * from the number, the leaf hashed from the record. */
static void make_rows(size_t seq, size_t n, char rids[][32], char recs[][64], sy_store_row_t *rows)
{
    for (size_t i = 0; i < n; i++, seq++) {
        int rl = snprintf(rids[i], 32, "req_%03zu", seq);
        int cl = snprintf(recs[i], 64, "{\"seq\":%zu,\"x\":\"%0*d\"}", seq, (int)(seq % 40), 7);
        rows[i] = (sy_store_row_t){.seq = seq, .request_id = sy_str(rids[i], (size_t)rl),
                                   .time_ms = 1000 + seq, .record = sy_str(recs[i], (size_t)cl)};
        sy_merkle_leaf(recs[i], (size_t)cl, &rows[i].leaf);
    }
}

/* Every row read back is make_rows' row of its place. */
static int check_row(void *ctx, const sy_store_row_t *row)
{
    rows_seen_t *rs = ctx;
    char rid[1][32], rec[1][64];
    sy_store_row_t want;
    make_rows(rs->n, 1, rid, rec, &want);
    if (row->seq != want.seq || row->time_ms != want.time_ms ||
        !sy_str_eq(row->request_id, want.request_id) || !sy_str_eq(row->record, want.record) ||
        memcmp(row->leaf.b, want.leaf.b, SY_HASH_LEN))
        rs->ok = false;
    rs->n++;
    return SY_OK;
}

/* A checkpoint (unsigned) over make_rows' first n rows. */
static void covered_checkpoint(size_t n, uint64_t time_ms, sy_store_checkpoint_t *cp)
{
    sy_hash_t *leaves = sy_calloc(n, sizeof(sy_hash_t));
    for (size_t i = 0; i < n; i++) {
        char rid[1][32], rec[1][64];
        sy_store_row_t r;
        make_rows(i, 1, rid, rec, &r);
        leaves[i] = r.leaf;
    }
    *cp = (sy_store_checkpoint_t){.tree_size = n, .time_ms = time_ms, .key_id = "0011223344556677"};
    sy_merkle_root(leaves, n, &cp->root);
    free(leaves);
}

/* Batches of every size from 0 to 40 rows (whole groups of the multi-row
 * insert and the rows left over) read back exactly, in order, and a record
 * is found by its request id. */
static void test_store_batches(void)
{
    char path[128], err[256];
    snprintf(path, sizeof(path), "%s/batches.db", tmpdir);
    sy_store_opts_t so = {.sync_full = false};
    sy_store_t *s = sy_store_sqlite_open(path, &so, err, sizeof(err));
    CHECK(s != NULL);
    if (s == NULL)
        return;
    enum { MAXROWS = 40 };
    char rids[MAXROWS][32], recs[MAXROWS][64];
    sy_store_row_t rows[MAXROWS];
    size_t seq = 0;
    for (size_t size = 0; size <= MAXROWS; size++) {
        make_rows(seq, size, rids, recs, rows);
        seq += size;
        sy_store_batch_t b = {.rows = rows, .nrows = size};
        CHECK(s->vt->append(s, &b, err, sizeof(err)) == SY_OK);
    }
    /* A row that breaks the primary key fails its whole batch: nothing of
     * it is kept. */
    sy_store_row_t dup[23];
    for (size_t i = 0; i < 23; i++)
        dup[i] = (sy_store_row_t){.seq = seq + i, .request_id = SY_STR("req_dup"),
                                  .record = SY_STR("{}")};
    /* 23 rows go in statements of 16, 4, 2 and 1: the duplicate in each */
    sy_store_batch_t bad = {.rows = dup, .nrows = 23};
    static const size_t at_dup[] = {5, 17, 21, 22};
    for (size_t d = 0; d < SY_ARRAY_LEN(at_dup); d++) {
        dup[at_dup[d]].seq = 3;
        CHECK(s->vt->append(s, &bad, err, sizeof(err)) == SY_ERR && strstr(err, "insert record"));
        dup[at_dup[d]].seq = seq + at_dup[d];
    }
    uint64_t n = 0, at = 0;
    CHECK(s->vt->count(s, &n, err, sizeof(err)) == SY_OK && n == seq);
    rows_seen_t rs = {.ok = true};
    CHECK(s->vt->scan_records(s, 0, check_row, &rs, err, sizeof(err)) == SY_OK);
    CHECK(rs.ok && rs.n == seq);
    CHECK(s->vt->find(s, SY_STR("req_777"), &at, err, sizeof(err)) == SY_OK && at == 777);
    CHECK(s->vt->find(s, SY_STR("req_dup"), &at, err, sizeof(err)) == SY_ENOTFOUND);

    /* The store goes on after a failed batch. A proof finds its record in
     * the scan up to the latest checkpoint; a
     * record after it, or none, is named as such. */
    enum { COVERED = 500 };
    sy_store_checkpoint_t cp;
    covered_checkpoint(COVERED, 1, &cp);
    sy_store_batch_t cb = {.checkpoint = &cp};
    CHECK(s->vt->append(s, &cb, err, sizeof(err)) == SY_OK);
    char *text = NULL;
    size_t tlen = 0;
    FILE *out = open_memstream(&text, &tlen);
    CHECK(sy_audit_proof(s, SY_STR("req_123"), out, err, sizeof(err)) == SY_OK);
    fclose(out);
    CHECK(text && strstr(text, "\"leaf_index\": 123,") && strstr(text, "\"tree_size\": 500,") &&
          strstr(text, "{\\\"seq\\\":123,"));
    free(text);
    out = open_memstream(&text, &tlen);
    CHECK(sy_audit_proof(s, SY_STR("req_700"), out, err, sizeof(err)) == SY_ENOTFOUND &&
          strstr(err, "(index 700) is not covered by a signed checkpoint"));
    CHECK(sy_audit_proof(s, SY_STR("req_nope"), out, err, sizeof(err)) == SY_ENOTFOUND &&
          strstr(err, "no audit record has request id req_nope"));
    fclose(out);
    CHECK(tlen == 0);
    free(text);
    sy_store_close(s);

    /* A log made with the request id index loses it when the writer opens
     * it; its records read back the same. */
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK &&
          sqlite3_exec(db, "CREATE INDEX audit_records_request_id ON audit_records(request_id)",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    s = sy_store_sqlite_open(path, &so, err, sizeof(err));
    CHECK(s != NULL);
    if (s == NULL)
        return;
    sy_store_close(s);
    db = NULL;
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK &&
          sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                                 "name = 'audit_records_request_id'",
                             -1, &st, NULL) == SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    so.readonly = true;
    s = sy_store_sqlite_open(path, &so, err, sizeof(err));
    CHECK(s != NULL);
    if (s == NULL)
        return;
    rs = (rows_seen_t){.ok = true};
    CHECK(s->vt->scan_records(s, 0, check_row, &rs, err, sizeof(err)) == SY_OK);
    CHECK(rs.ok && rs.n == seq);
    CHECK(s->vt->find(s, SY_STR("req_777"), &at, err, sizeof(err)) == SY_OK && at == 777);
    sy_store_close(s);
}

static void test_store_url(void)
{
    char *err = NULL;
    sy_config_t *c = sy_config_parse("<t>", "store: mysql://x\n", 17, &err);
    CHECK(c == NULL && err && strstr(err, "store: expected sqlite:FILE"));
    free(err);
    const char pg[] = "store: postgres://sy:hunter2@db.example/audit\n";
    c = sy_config_parse("<t>", pg, sizeof(pg) - 1, &err);
    CHECK(c != NULL && c->store.kind == SY_CONFIG_STORE_POSTGRES);
    if (c) {
        sy_buf_t b;
        sy_buf_init(&b, 0);
        sy_config_format(c, &b, true);
        sy_buf_append(&b, "", 1);
        CHECK(strstr(sy_buf_ptr(&b), "hunter2") == NULL);
        CHECK(strstr(sy_buf_ptr(&b), "postgres://sy:<redacted>@db.example/audit") != NULL);
        sy_buf_free(&b);
        sy_config_unref(c);
    }
    /* file: is for the audit log alone */
    c = sy_config_parse("<t>", "store: file:a.log\n", 18, &err);
    CHECK(c == NULL && err && strstr(err, "set it as audit.store"));
    free(err);
    err = NULL;
    const char fs[] = "audit: {store: \"file:\"}\n";
    c = sy_config_parse("<t>", fs, sizeof(fs) - 1, &err);
    CHECK(c == NULL && err && strstr(err, "file: needs a file name"));
    free(err);
    err = NULL;
    const char fa[] = "audit: {store: file:logs/audit.log}\n";
    c = sy_config_parse("<t>", fa, sizeof(fa) - 1, &err);
    CHECK(c != NULL && c->audit.store.kind == SY_CONFIG_STORE_FILE &&
          sy_config_audit_store(c) == &c->audit.store &&
          sy_str_eq(c->audit.store.path, SY_STR("logs/audit.log")));
    if (c) {
        /* printed, and read back the same */
        sy_buf_t b;
        sy_buf_init(&b, 0);
        sy_config_format(c, &b, true);
        sy_config_t *again = sy_config_parse("<t>", sy_buf_ptr(&b), b.len, &err);
        CHECK(again && sy_str_eq(again->audit.store.url, SY_STR("file:logs/audit.log")));
        sy_config_unref(again);
        sy_buf_free(&b);
        sy_config_unref(c);
    }
    sy_config_t *d = sy_config_default();
    CHECK(d && !d->audit.enabled && d->audit.flush_interval_ms == 50 &&
          d->store.kind == SY_CONFIG_STORE_SQLITE && d->audit.store.url.len == 0 &&
          sy_config_audit_store(d) == &d->store);
    if (d) {
        /* unset prints as "" and reads back unset */
        sy_buf_t b;
        sy_buf_init(&b, 0);
        sy_config_format(d, &b, true);
        sy_config_t *again = sy_config_parse("<t>", sy_buf_ptr(&b), b.len, &err);
        CHECK(again && again->audit.store.url.len == 0);
        if (again == NULL)
            fprintf(stderr, "  %s\n", err ? err : "");
        sy_config_unref(again);
        sy_buf_free(&b);
    }
    char out[64];
    CHECK(sy_config_resolve_path(d, SY_STR("a.db"), out, sizeof(out)) == SY_OK &&
          strcmp(out, "a.db") == 0);
    sy_config_unref(d);
}

/* ---- the append-only audit file (store/file.c) ---- */

static void test_crc32c(void)
{
    CHECK(sy_crc32c(0, "123456789", 9) == 0xE3069283u);
    CHECK(sy_crc32c_sw(0, "123456789", 9) == 0xE3069283u);
    CHECK(sy_crc32c(0, "", 0) == 0);
    unsigned char buf[600];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
    /* every length and alignment; a value continued equals one pass */
    for (size_t at = 0; at < 8; at++)
        for (size_t n = 0; n + at <= 300; n++) {
            uint32_t a = sy_crc32c(0, buf + at, n), b = sy_crc32c_sw(0, buf + at, n);
            if (a != b || sy_crc32c(sy_crc32c(0, buf + at, n / 3), buf + at + n / 3,
                                    n - n / 3) != a) {
                CHECK(a == b);
                return;
            }
        }
}

static sy_store_t *file_open(const char *path, bool readonly, char *err, size_t errsz)
{
    sy_store_opts_t so = {.readonly = readonly, .sync_full = false};
    return sy_store_file_open(path, &so, err, errsz);
}

static size_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (size_t)sb.st_size : 0;
}

/* The file's frames: their offsets (from the 16-byte file header on). */
static size_t file_frames(const unsigned char *p, size_t size, size_t *offs, size_t max)
{
    size_t n = 0;
    for (size_t off = 16; off + 24 <= size && n < max;) {
        uint64_t len = 0;
        for (int i = 7; i >= 0; i--)
            len = len << 8 | p[off + 8 + (size_t)i];
        offs[n++] = off;
        off += 24 + (size_t)len;
    }
    return n;
}

static unsigned char *slurp(const char *path, size_t *size)
{
    *size = file_size(path);
    unsigned char *p = sy_malloc(*size + 1);
    FILE *f = fopen(path, "rb");
    if (f == NULL || fread(p, 1, *size, f) != *size)
        *size = 0;
    if (f)
        fclose(f);
    return p;
}

static void spit(const char *path, const unsigned char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(p, 1, n, f) == n);
    if (f)
        fclose(f);
}

/* The frame at off gets the CRCs of what it now holds (a forger's move). */
static void refresh_crc(unsigned char *p, size_t off)
{
    uint64_t len = 0;
    for (int i = 7; i >= 0; i--)
        len = len << 8 | p[off + 8 + (size_t)i];
    uint32_t c = sy_crc32c(sy_crc32c(0, p + off + 4, 12), p + off + 24, (size_t)len);
    for (int i = 0; i < 4; i++)
        p[off + 16 + (size_t)i] = (unsigned char)(c >> (8 * i));
    c = sy_crc32c(0, p + off, 20);
    for (int i = 0; i < 4; i++)
        p[off + 20 + (size_t)i] = (unsigned char)(c >> (8 * i));
}

/* The same contract as the SQLite store's test: batches of 0 to 40 rows
 * read back exactly, a batch that breaks the numbering is refused whole,
 * a record is found by its request id, a proof is served; the writer's
 * state comes back on reopening; a read-only handle sees later appends. */
static void test_store_file(void)
{
    char path[128], err[512];
    snprintf(path, sizeof(path), "%s/batches.log", tmpdir);
    sy_store_t *s = file_open(path, false, err, sizeof(err));
    CHECK(s != NULL);
    if (s == NULL) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    sy_store_t *ro = file_open(path, true, err, sizeof(err));
    CHECK(ro != NULL);
    /* one writer per file */
    CHECK(file_open(path, false, err, sizeof(err)) == NULL &&
          strstr(err, "being written by another process"));
    enum { MAXROWS = 40 };
    char rids[MAXROWS][32], recs[MAXROWS][64];
    sy_store_row_t rows[MAXROWS];
    size_t seq = 0;
    sy_merkle_frontier_t fr;
    sy_merkle_frontier_init(&fr);
    uint8_t fb[SY_STORE_FRONTIER_MAX];
    size_t flen = 0;
    for (size_t size = 0; size <= MAXROWS; size++) {
        make_rows(seq, size, rids, recs, rows);
        for (size_t i = 0; i < size; i++)
            sy_merkle_frontier_push(&fr, &rows[i].leaf);
        flen = sy_merkle_frontier_encode(&fr, fb);
        sy_store_batch_t b = {.rows = rows, .nrows = size, .frontier = fb, .frontier_len = flen};
        CHECK(s->vt->append(s, &b, err, sizeof(err)) == SY_OK);
        seq += size;
    }
    size_t before = file_size(path);
    make_rows(seq + 1, 5, rids, recs, rows); /* one number skipped */
    sy_store_batch_t bad = {.rows = rows, .nrows = 5};
    CHECK(s->vt->append(s, &bad, err, sizeof(err)) == SY_ERR && strstr(err, "insert record"));
    CHECK(file_size(path) == before);
    CHECK(s->vt->meta_add(s, "public_key", "k1", 2, err, sizeof(err)) == SY_OK);
    CHECK(s->vt->meta_add(s, "public_key", "k2", 2, err, sizeof(err)) == SY_OK);
    sy_buf_t mv;
    sy_buf_init(&mv, 0);
    CHECK(s->vt->meta_get(s, "public_key", &mv, err, sizeof(err)) == SY_OK &&
          sy_str_eq(sy_buf_str(&mv), SY_STR("k1")));
    CHECK(s->vt->meta_get(s, "nope", &mv, err, sizeof(err)) == SY_ENOTFOUND);

    enum { COVERED = 500 };
    sy_store_checkpoint_t cp;
    covered_checkpoint(COVERED, 77, &cp);
    memset(cp.sig, 0xab, sizeof(cp.sig));
    sy_store_batch_t cb = {.checkpoint = &cp};
    CHECK(s->vt->append(s, &cb, err, sizeof(err)) == SY_OK);

    for (int pass = 0; pass < 2; pass++) {
        sy_store_t *h = pass ? ro : s; /* the writer's memory, then the file */
        uint64_t n = 0, at = 0;
        CHECK(h->vt->count(h, &n, err, sizeof(err)) == SY_OK && n == seq);
        rows_seen_t rs = {.ok = true};
        CHECK(h->vt->scan_records(h, 0, check_row, &rs, err, sizeof(err)) == SY_OK);
        CHECK(rs.ok && rs.n == seq);
        CHECK(h->vt->find(h, SY_STR("req_777"), &at, err, sizeof(err)) == SY_OK && at == 777);
        CHECK(h->vt->find(h, SY_STR("req_nope"), &at, err, sizeof(err)) == SY_ENOTFOUND);
        sy_store_checkpoint_t got;
        CHECK(h->vt->last_checkpoint(h, &got, err, sizeof(err)) == SY_OK &&
              got.tree_size == COVERED && got.time_ms == 77 &&
              strcmp(got.key_id, "0011223344556677") == 0 &&
              memcmp(got.root.b, cp.root.b, SY_HASH_LEN) == 0 &&
              memcmp(got.sig, cp.sig, sizeof(cp.sig)) == 0);
        uint8_t gb[SY_STORE_FRONTIER_MAX];
        size_t glen = 0;
        CHECK(h->vt->load_frontier(h, gb, sizeof(gb), &glen, err, sizeof(err)) == SY_OK &&
              glen == flen && memcmp(gb, fb, flen) == 0);
        sy_buf_clear(&mv);
        CHECK(h->vt->meta_get(h, "public_key", &mv, err, sizeof(err)) == SY_OK &&
              sy_str_eq(sy_buf_str(&mv), SY_STR("k1")));
        char *text = NULL;
        size_t tlen = 0;
        FILE *out = open_memstream(&text, &tlen);
        CHECK(sy_audit_proof(h, SY_STR("req_123"), out, err, sizeof(err)) == SY_OK);
        fclose(out);
        CHECK(text && strstr(text, "\"leaf_index\": 123,") && strstr(text, "\"tree_size\": 500,"));
        free(text);
    }
    sy_buf_free(&mv);
    sy_store_close(s);
    sy_store_close(ro);

    /* reopened, the writer goes on where it stopped */
    s = file_open(path, false, err, sizeof(err));
    CHECK(s != NULL);
    if (s == NULL)
        return;
    uint64_t n = 0;
    CHECK(s->vt->count(s, &n, err, sizeof(err)) == SY_OK && n == seq);
    make_rows(seq, 3, rids, recs, rows);
    sy_store_batch_t more = {.rows = rows, .nrows = 3};
    CHECK(s->vt->append(s, &more, err, sizeof(err)) == SY_OK);
    seq += 3;
    sy_store_close(s);
    ro = file_open(path, true, err, sizeof(err));
    rows_seen_t rs = {.ok = true};
    CHECK(ro && ro->vt->scan_records(ro, 0, check_row, &rs, err, sizeof(err)) == SY_OK &&
          rs.ok && rs.n == seq);
    sy_store_close(ro);

    /* not an audit file */
    char other[160];
    snprintf(other, sizeof(other), "%s/not-a-log", tmpdir);
    spit(other, (const unsigned char *)"SQLite format 3", 15);
    CHECK(file_open(other, true, err, sizeof(err)) == NULL &&
          strstr(err, "is not a Switchyard audit file"));
    CHECK(!sy_store_file_sniff(other) && sy_store_file_sniff(path));
}

/* A crash leaves the end of the last batch unwritten: readers stop before
 * it, the writer moves it aside and appends after the last whole batch.
 * A damaged frame with more after it is an error for a reader. */
static void test_store_file_torn(void)
{
    char path[128], err[512], aside[200];
    snprintf(path, sizeof(path), "%s/torn.log", tmpdir);
    sy_store_t *s = file_open(path, false, err, sizeof(err));
    CHECK(s != NULL);
    if (s == NULL)
        return;
    char rids[10][32], recs[10][64];
    sy_store_row_t rows[10];
    for (size_t k = 0; k < 3; k++) {
        make_rows(10 * k, 10, rids, recs, rows);
        sy_store_batch_t b = {.rows = rows, .nrows = 10};
        CHECK(s->vt->append(s, &b, err, sizeof(err)) == SY_OK);
    }
    sy_store_close(s);
    size_t size;
    unsigned char *p = slurp(path, &size);
    size_t offs[8];
    CHECK(file_frames(p, size, offs, 8) == 3);
    /* the third batch cut short, as by a crash */
    size_t cut = offs[2] + 100;
    spit(path, p, cut);
    sy_store_t *ro = file_open(path, true, err, sizeof(err));
    rows_seen_t rs = {.ok = true};
    CHECK(ro && ro->vt->scan_records(ro, 0, check_row, &rs, err, sizeof(err)) == SY_OK &&
          rs.ok && rs.n == 20);
    sy_store_close(ro);
    s = file_open(path, false, err, sizeof(err));
    CHECK(s != NULL);
    if (s == NULL) {
        free(p);
        return;
    }
    snprintf(aside, sizeof(aside), "%s.damaged-%zu", path, offs[2]);
    CHECK(file_size(aside) == 100 && file_size(path) == offs[2]);
    uint64_t n = 0;
    CHECK(s->vt->count(s, &n, err, sizeof(err)) == SY_OK && n == 20);
    make_rows(20, 10, rids, recs, rows);
    sy_store_batch_t b = {.rows = rows, .nrows = 10};
    CHECK(s->vt->append(s, &b, err, sizeof(err)) == SY_OK);
    sy_store_close(s);
    ro = file_open(path, true, err, sizeof(err));
    rs = (rows_seen_t){.ok = true};
    CHECK(ro && ro->vt->scan_records(ro, 0, check_row, &rs, err, sizeof(err)) == SY_OK &&
          rs.ok && rs.n == 30);
    sy_store_close(ro);
    free(p);

    /* One byte changed in the second of three batches (its payload), then
     * one bit of its length (its header): whole frames follow the damage, so
     * a reader reports it and the writer refuses to append (that would
     * renumber the records after it and fork the log). */
    for (int what = 0; what < 2; what++) {
        unsigned char *q = slurp(path, &size);
        CHECK(file_frames(q, size, offs, 8) == 3);
        q[what == 0 ? offs[1] + 200 : offs[1] + 10] ^= 4;
        char broken[160];
        snprintf(broken, sizeof(broken), "%s.broken", path);
        spit(broken, q, size);
        char want[64];
        snprintf(want, sizeof(want), "is damaged at byte %zu", offs[1]);
        ro = file_open(broken, true, err, sizeof(err));
        uint64_t c = 0;
        CHECK(ro && ro->vt->count(ro, &c, err, sizeof(err)) == SY_ERR && strstr(err, want));
        sy_store_close(ro);
        CHECK(file_open(broken, false, err, sizeof(err)) == NULL && strstr(err, want) &&
              strstr(err, "Nothing is appended"));
        CHECK(file_size(broken) == size);
        unlink(broken);
        free(q);
    }

    /* Leftovers of a crash (zeros where the next frame was going): readers
     * stop before them; the writer moves them aside, twice at the same
     * offset without losing the first copy. */
    size = file_size(path);
    for (int k = 0; k < 2; k++) {
        unsigned char *q = slurp(path, &size);
        q = sy_realloc(q, size + 30);
        memset(q + size, 0, 30);
        spit(path, q, size + 30);
        free(q);
        ro = file_open(path, true, err, sizeof(err));
        rs = (rows_seen_t){.ok = true};
        CHECK(ro && ro->vt->scan_records(ro, 0, check_row, &rs, err, sizeof(err)) == SY_OK &&
              rs.ok && rs.n == 30);
        sy_store_close(ro);
        s = file_open(path, false, err, sizeof(err));
        CHECK(s && s->vt->count(s, &n, err, sizeof(err)) == SY_OK && n == 30);
        sy_store_close(s);
        CHECK(file_size(path) == size);
    }
    snprintf(aside, sizeof(aside), "%s.damaged-%zu", path, size);
    CHECK(file_size(aside) == 30);
    snprintf(aside, sizeof(aside), "%s.damaged-%zu.1", path, size);
    CHECK(file_size(aside) == 30);

    /* Cut at every byte: the writer opens and keeps exactly the whole
     * batches before the cut. */
    unsigned char *whole = slurp(path, &size);
    size_t nf = file_frames(whole, size, offs, 8);
    CHECK(nf == 3);
    char cutp[160];
    snprintf(cutp, sizeof(cutp), "%s.cut", path);
    for (size_t at = 16; at <= size; at++) {
        spit(cutp, whole, at);
        size_t keep = 0;
        for (size_t f = 0; f < nf; f++)
            if ((f + 1 < nf ? offs[f + 1] : size) <= at)
                keep += 10;
        sy_store_t *w = file_open(cutp, false, err, sizeof(err));
        uint64_t c = 0;
        if (w == NULL || w->vt->count(w, &c, err, sizeof(err)) != SY_OK || c != keep) {
            CHECK(w != NULL && c == keep);
            sy_store_close(w);
            break;
        }
        sy_store_close(w);
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -f %s.damaged-*", cutp);
        if (system(cmd) != 0)
            break;
    }
    unlink(cutp);
    free(whole);
}

/* A forged checkpoint cannot make a proof allocate its tree size. */
static void test_store_file_forged_size(void)
{
    char path[128], err[512];
    snprintf(path, sizeof(path), "%s/forged.log", tmpdir);
    sy_store_t *s = file_open(path, false, err, sizeof(err));
    CHECK(s != NULL);
    if (s == NULL)
        return;
    char rids[4][32], recs[4][64];
    sy_store_row_t rows[4];
    make_rows(0, 4, rids, recs, rows);
    sy_store_checkpoint_t cp = {.tree_size = (uint64_t)1 << 50, .key_id = "0011223344556677"};
    sy_store_batch_t b = {.rows = rows, .nrows = 4, .checkpoint = &cp};
    CHECK(s->vt->append(s, &b, err, sizeof(err)) == SY_OK);
    FILE *out = fopen("/dev/null", "w");
    CHECK(out && sy_audit_proof(s, SY_STR("req_001"), out, err, sizeof(err)) == SY_ERR &&
          strstr(err, "covers 1125899906842624 records but the log holds 4"));
    if (out)
        fclose(out);
    sy_store_close(s);
}

/* The gateway on an audit file: records verify; a record changed with its
 * frame's CRC made to match is named by verify, as in SQLite. */
static void test_audit_file_tamper(void)
{
    char extra[256], path[160], err[512];
    snprintf(path, sizeof(path), "%s/gw-audit.log", tmpdir);
    snprintf(extra, sizeof(extra), "  store: file:%s\n", path);
    sy_config_t *c = audit_config(64, extra);
    CHECK(c && sy_audit_start(c, err, sizeof(err)) == SY_OK);
    if (!sy_audit_enabled()) {
        fprintf(stderr, "  %s\n", err);
        sy_config_unref(c);
        return;
    }
    sy_arena_t *a = sy_arena_new(0);
    for (int i = 0; i < 30; i++)
        CHECK(one_request(a, i) == SY_OK);
    sy_audit_stop();
    sy_arena_free(a);
    sy_config_unref(c);

    char keyp[128];
    snprintf(keyp, sizeof(keyp), "%s/log.key.pub", tmpdir);
    uint8_t pub[SY_ED25519_PUB_LEN];
    CHECK(sy_ed25519_load_public(keyp, pub, err, sizeof(err)) == SY_OK);
    sy_store_t *s = file_open(path, true, err, sizeof(err));
    sy_audit_verify_t res;
    CHECK(s && sy_audit_verify(s, pub, &res, err, sizeof(err)) == SY_OK && res.ok &&
          res.records == 30 && res.covered == 30);
    sy_store_close(s);

    size_t size;
    unsigned char *p = slurp(path, &size);
    unsigned char *hit = memmem(p, size, "\"tokens_out\":23", 15);
    CHECK(hit != NULL);
    if (hit) {
        hit[14] = '9';
        size_t offs[64], nf = file_frames(p, size, offs, 64), f = 0;
        while (f + 1 < nf && offs[f + 1] < (size_t)(hit - p))
            f++;
        refresh_crc(p, offs[f]);
        spit(path, p, size);
        s = file_open(path, true, err, sizeof(err));
        CHECK(s && sy_audit_verify(s, pub, &res, err, sizeof(err)) == SY_OK && !res.ok);
        CHECK(strcmp(res.bad_id, "req_unit_0023") == 0);
        sy_store_close(s);
    }
    free(p);
}

int main(void)
{
    sy_log_setup(SY_LOG_WARN, SY_LOG_JSON, 2);
    make_tmpdir();
    RUN(test_merkle_known_roots);
    RUN(test_merkle_known_paths);
    RUN(test_merkle_inclusion_all);
    RUN(test_frontier_codec);
    RUN(test_ed25519);
    RUN(test_record_canonical);
    RUN(test_record_encoder_matches_reference);
    RUN(test_record_golden);
    RUN(test_redact);
    RUN(test_store_url);
    RUN(test_store_batches);
    RUN(test_writer_wakeups);
    RUN(test_queue_full_policy);
    RUN(test_resume_and_tamper);
    RUN(test_crc32c);
    RUN(test_store_file);
    RUN(test_store_file_torn);
    RUN(test_store_file_forged_size);
    RUN(test_audit_file_tamper);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return unit_done();
}
