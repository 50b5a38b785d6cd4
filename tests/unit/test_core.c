/* Unit tests for src/core: arena, string views, buffers. */
#include "unit.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"

static int cleanup_order[4], cleanup_n;
static void cleanup_cb(void *arg) { cleanup_order[cleanup_n++] = (int)(intptr_t)arg; }

static void test_arena_basic(void)
{
    sy_arena_t *a = sy_arena_new(64);
    char *p = sy_arena_alloc(a, 10);
    CHECK(((uintptr_t)p & 15) == 0);
    memset(p, 'x', 10);
    char *big = sy_arena_alloc(a, 1000); /* larger than a block */
    memset(big, 'y', 1000);
    char *s = sy_arena_sprintf(a, "%s-%d", "abc", 42);
    CHECK(strcmp(s, "abc-42") == 0);
    CHECK(sy_arena_used(a) >= 1010);
    sy_arena_cleanup(a, cleanup_cb, (void *)1);
    sy_arena_cleanup(a, cleanup_cb, (void *)2);
    cleanup_n = 0;
    sy_arena_reset(a);
    CHECK_INT(cleanup_n, 2);
    CHECK_INT(cleanup_order[0], 2); /* newest first */
    CHECK_INT(cleanup_order[1], 1);
    CHECK_INT(sy_arena_used(a), 0);
    char *q = sy_arena_calloc(a, 32);
    CHECK(q[0] == 0 && q[31] == 0);
    sy_arena_free(a);
}

static void test_arena_realloc(void)
{
    sy_arena_t *a = sy_arena_new(256);
    char *p = sy_arena_alloc(a, 16);
    memcpy(p, "0123456789abcdef", 16);
    char *q = sy_arena_realloc(a, p, 16, 64);
    CHECK(q == p); /* grown in place: it was the last allocation */
    char *r = sy_arena_realloc(a, q, 64, 4096);
    CHECK(memcmp(r, "0123456789abcdef", 16) == 0);
    sy_arena_free(a);
}

/* Allocations that go back into earlier blocks' tails never overlap, and a
 * tail is used: a request-sized mix fits in fewer bytes than one block per
 * mid-sized allocation would take. */
static void test_arena_tails(void)
{
    sy_arena_t *a = sy_arena_new(4096);
    enum { N = 400 };
    unsigned char *p[N];
    size_t n[N];
    srand(3);
    for (int i = 0; i < N; i++) {
        n[i] = (i % 7 == 0) ? 2000 + (size_t)(rand() % 2000) : 1 + (size_t)(rand() % 200);
        p[i] = sy_arena_alloc(a, n[i]);
        CHECK(((uintptr_t)p[i] & 15) == 0);
        memset(p[i], i & 0xff, n[i]);
    }
    int bad = 0;
    for (int i = 0; i < N; i++)
        for (size_t k = 0; k < n[i]; k++)
            if (p[i][k] != (unsigned char)(i & 0xff))
                bad++;
    CHECK_INT(bad, 0);
    /* in-place growth of the newest allocation still works after a tail was used */
    char *q = sy_arena_alloc(a, 16);
    memcpy(q, "0123456789abcde", 16);
    (void)sy_arena_alloc(a, 3000); /* may go to a new block */
    (void)sy_arena_alloc(a, 8);    /* may go to an older tail */
    char *r = sy_arena_realloc(a, q, 16, 64);
    CHECK(memcmp(r, "0123456789abcde", 16) == 0);
    sy_arena_free(a);
}

static void test_str(void)
{
    sy_str_t s = SY_STR("  Content-Length \t");
    CHECK_STR(sy_str_trim(s), "Content-Length");
    CHECK(sy_str_ieq_c(sy_str_trim(s), "content-length"));
    CHECK(!sy_str_eq_c(sy_str_trim(s), "content-length"));
    CHECK_INT(sy_str_find_char(s, '-'), 9);
    CHECK_INT(sy_str_find(s, SY_STR("Length")), 10);
    CHECK_INT(sy_str_find(s, SY_STR("nope")), -1);
    uint64_t v = 0;
    CHECK_INT(sy_str_to_u64(SY_STR("18446744073709551615"), UINT64_MAX, &v), SY_OK);
    CHECK(v == UINT64_MAX);
    CHECK_INT(sy_str_to_u64(SY_STR("18446744073709551616"), UINT64_MAX, &v), SY_ETOOBIG);
    CHECK_INT(sy_str_to_u64(SY_STR("100"), 99, &v), SY_ETOOBIG);
    CHECK_INT(sy_str_to_u64(SY_STR("1a"), 99, &v), SY_EINVAL);
    CHECK_INT(sy_str_to_u64(SY_STR(""), 99, &v), SY_EINVAL);
    CHECK_INT(sy_str_to_u64(SY_STR("+1"), 99, &v), SY_EINVAL);
    CHECK_INT(sy_str_to_u64(SY_STR("7"), 5, &v), SY_ETOOBIG); /* digit above a small max */
    CHECK_INT(sy_str_to_u64(SY_STR("5"), 5, &v), SY_OK);
    CHECK(sy_str_starts_with(SY_STR("/v1/chat"), SY_STR("/v1/")));
    CHECK(sy_str_ends_with(SY_STR("/v1/chat"), SY_STR("chat")));
    CHECK_STR(sy_str_sub(SY_STR("hello"), 3, 10), "lo");
}

static void test_buf_cap(void)
{
    sy_buf_t b;
    sy_buf_init(&b, 16);
    CHECK_INT(sy_buf_append_c(&b, "0123456789"), SY_OK);
    CHECK_INT(sy_buf_append_c(&b, "0123456789"), SY_ETOOBIG);
    CHECK_INT(b.len, 10);
    sy_buf_consume(&b, 8);
    CHECK_STR(sy_buf_str(&b), "89");
    CHECK_INT(sy_buf_append_c(&b, "abcdefghijklmn"), SY_OK); /* compacts */
    CHECK_STR(sy_buf_str(&b), "89abcdefghijklmn");
    CHECK_INT(sy_buf_printf(&b, "x"), SY_ETOOBIG);
    sy_buf_clear(&b);
    CHECK_INT(sy_buf_printf(&b, "%d-%s", 7, "ok"), SY_OK);
    CHECK_STR(sy_buf_str(&b), "7-ok");
    sy_buf_free(&b);

    sy_buf_t u;
    sy_buf_init(&u, 0);
    for (int i = 0; i < 1000; i++)
        CHECK_INT(sy_buf_printf(&u, "%04d", i), SY_OK);
    CHECK_INT(u.len, 4000);
    CHECK_MEM(u.data + 3996, 4, "0999");
    sy_buf_free(&u);
}

/* The blocks an arena gives back at reset (all but its first) are handed to
 * the next arena that needs one on the same thread: a request arena that
 * outgrows its first block does not malloc again on the next request. */
static void test_arena_block_reuse(void)
{
    sy_arena_t *a = sy_arena_new(4096);
    (void)sy_arena_alloc(a, 4000);              /* the first block */
    unsigned char *x = sy_arena_alloc(a, 4000); /* a second block */
    memset(x, 1, 4000);
    sy_arena_reset(a);
    (void)sy_arena_alloc(a, 4000);
    unsigned char *y = sy_arena_alloc(a, 4000);
    CHECK(y == x); /* the same block again */
    memset(y, 2, 4000);
    /* a freed arena's block goes to the next arena of its size, but is not
     * spent on one that needs less than half of it */
    sy_arena_t *b = sy_arena_new(16 * 1024);
    unsigned char *pb = sy_arena_alloc(b, 100);
    sy_arena_free(b);
    sy_arena_t *c = sy_arena_new(1024);
    unsigned char *pc = sy_arena_alloc(c, 100);
    CHECK(pc != pb);
    sy_arena_t *d = sy_arena_new(16 * 1024);
    unsigned char *pd = sy_arena_alloc(d, 100);
    CHECK(pd == pb);
    memset(pd, 3, 16 * 1024);
    sy_arena_free(d);
    sy_arena_free(c);
    sy_arena_free(a);
}

/* An arena used and freed on a thread that then exits: its cached blocks go
 * with it (ASan's leak check runs the asan build of this test). */
static void *arena_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        sy_arena_t *a = sy_arena_new(4096);
        for (int k = 0; k < 10; k++)
            memset(sy_arena_alloc(a, 3000), k, 3000);
        sy_arena_reset(a);
        memset(sy_arena_alloc(a, 5000), 0, 5000);
        sy_arena_free(a);
    }
    return NULL;
}

static void test_arena_block_cache_thread(void)
{
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, arena_thread, NULL), 0);
    CHECK_INT(pthread_join(t, NULL), 0);
}

/* A destructor of another thread-specific key that runs after the cache's
 * own (keys are destroyed in creation order, and the cache's key exists by
 * now) and frees an arena: its blocks must be freed, not cached where no one
 * frees them (ASan's leak check in the asan build). */
static pthread_key_t late_key;

static void late_free(void *arg)
{
    sy_arena_t *a = arg;
    for (int k = 0; k < 4; k++)
        memset(sy_arena_alloc(a, 3000), k, 3000);
    sy_arena_reset(a);
    sy_arena_free(a);
}

static void *late_thread(void *arg)
{
    (void)arg;
    sy_arena_t *warm = sy_arena_new(4096);
    memset(sy_arena_alloc(warm, 5000), 1, 5000); /* this thread's cache in use */
    sy_arena_free(warm);
    (void)pthread_setspecific(late_key, sy_arena_new(4096));
    return NULL;
}

static void test_arena_block_cache_late_free(void)
{
    CHECK_INT(pthread_key_create(&late_key, late_free), 0);
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, late_thread, NULL), 0);
    CHECK_INT(pthread_join(t, NULL), 0);
    CHECK_INT(pthread_key_delete(late_key), 0);
}

int main(void)
{
    RUN(test_arena_basic);
    RUN(test_arena_realloc);
    RUN(test_arena_tails);
    RUN(test_arena_block_reuse);
    RUN(test_arena_block_cache_thread);
    RUN(test_arena_block_cache_late_free);
    RUN(test_str);
    RUN(test_buf_cap);
    return unit_done();
}
