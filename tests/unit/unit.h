/*
 * unit.h - the unit-test harness: one binary per test file, one process each.
 *
 * Write tests as `static void test_x(void)` using CHECK*(); call RUN(test_x)
 * from main and return unit_done(). Each failed check prints file:line and
 * the expression; the binary ends with "N passed, N failed" (a test passes
 * when none of its checks failed), which tests/run.sh adds up.
 */
#ifndef SY_UNIT_H
#define SY_UNIT_H

#include <stdio.h>
#include <string.h>
#include <inttypes.h>

static int unit_passed, unit_failed, unit_cur_failed;

#define CHECK(c)                                                                             \
    do {                                                                                     \
        if (!(c)) {                                                                          \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c);          \
            unit_cur_failed++;                                                               \
        }                                                                                    \
    } while (0)

#define CHECK_INT(a, b)                                                                      \
    do {                                                                                     \
        long long unit_a_ = (long long)(a), unit_b_ = (long long)(b);                        \
        if (unit_a_ != unit_b_) {                                                            \
            fprintf(stderr, "  %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, \
                    #a, unit_a_, #b, unit_b_);                                               \
            unit_cur_failed++;                                                               \
        }                                                                                    \
    } while (0)

/* Compare a pointer+length (or sy_str_t fields) with a C string. */
#define CHECK_MEM(p, n, cstr)                                                                \
    do {                                                                                     \
        const char *unit_p_ = (const char *)(p);                                             \
        size_t unit_n_ = (size_t)(n);                                                        \
        const char *unit_e_ = (cstr);                                                        \
        if (unit_n_ != strlen(unit_e_) || (unit_n_ && memcmp(unit_p_, unit_e_, unit_n_))) {  \
            fprintf(stderr, "  %s:%d: %s is \"%.*s\", expected \"%s\"\n", __FILE__, __LINE__, \
                    #p, (int)unit_n_, unit_p_ ? unit_p_ : "", unit_e_);                      \
            unit_cur_failed++;                                                               \
        }                                                                                    \
    } while (0)
#define CHECK_STR(s, cstr) CHECK_MEM((s).p, (s).len, cstr)

#define RUN(fn) unit_run(#fn, fn)

static inline void unit_run(const char *name, void (*fn)(void))
{
    unit_cur_failed = 0;
    fn();
    if (unit_cur_failed) {
        unit_failed++;
        printf("FAIL %s\n", name);
    } else {
        unit_passed++;
        printf("ok   %s\n", name);
    }
    fflush(stdout);
}

static inline int unit_done(void)
{
    printf("%d passed, %d failed\n", unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}

#endif
