/* Unit tests for sy_vsnprintf (src/core/fmt.c): its output and return value
 * must equal the C library's for every format, the ones it formats itself
 * and the ones it hands over, at every buffer size (truncation included);
 * the buffer/arena printf helpers built on it; and sy_log_esc. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/fmt.h"
#include "core/log.h"
#include "unit.h"

/* The formats below are exercised on purpose: truncated outputs, NULL
 * strings, flags the standard leaves to the library. */
#pragma GCC diagnostic ignored "-Wformat"
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#pragma GCC diagnostic ignored "-Wformat-overflow"
#endif

static int mismatches;

/* Compare at several capacities, including 0 and every truncation point of
 * a short output. */
#define SAME(...)                                                                         \
    do {                                                                                  \
        char want_[512], got_[512];                                                       \
        int wn_ = snprintf(want_, sizeof(want_), __VA_ARGS__);                            \
        int gn_ = sy_snprintf(got_, sizeof(got_), __VA_ARGS__);                           \
        if (wn_ != gn_ || strcmp(want_, got_) != 0) {                                     \
            fprintf(stderr, "  line %d: libc \"%s\" (%d), sy \"%s\" (%d)\n", __LINE__, want_, \
                    wn_, got_, gn_);                                                      \
            mismatches++;                                                                 \
        }                                                                                 \
        for (size_t cap_ = 0; cap_ < 12; cap_++) {                                        \
            memset(want_, 'Q', sizeof(want_));                                            \
            memset(got_, 'Q', sizeof(got_));                                              \
            wn_ = snprintf(cap_ ? want_ : NULL, cap_, __VA_ARGS__);                       \
            gn_ = sy_snprintf(cap_ ? got_ : NULL, cap_, __VA_ARGS__);                     \
            if (wn_ != gn_ || memcmp(want_, got_, 16) != 0) {                             \
                fprintf(stderr, "  line %d: cap %zu differs\n", __LINE__, cap_);          \
                mismatches++;                                                             \
            }                                                                             \
        }                                                                                 \
    } while (0)

static void test_fmt_matches_libc(void)
{
    mismatches = 0;
    const char *nul = NULL;
    SAME("plain text, no conversions");
    SAME("%s|%s|%s", "", "a", "hello world");
    SAME("[%5s][%-5s][%2s]", "ab", "ab", "abcdef");
    SAME("[%.3s][%.0s][%.10s]", "abcdef", "abc", "ab");
    SAME("[%*s][%-*s][%*s]", 6, "x", 6, "y", -6, "z");
    SAME("[%.*s][%.*s][%.*s]", 2, "abcdef", 0, "abc", -1, "all of it");
    SAME("[%*.*s]", 8, 3, "abcdef");
    SAME("%s", nul);
    SAME("[%.3s][%.6s][%10s]", nul, nul, nul);
    SAME("%c%c%c [%3c][%-3c]", 'a', 'b', 'c', 'x', 'y');
    SAME("%d %d %d %d", 0, 1, -1, 42);
    SAME("%d %d", INT_MAX, INT_MIN);
    SAME("%i|%5d|%-5d|%05d|%-05d|%05d", 7, 42, 42, 42, 42, -42);
    SAME("%02d:%02d:%02d.%03d %04d", 1, 2, 59, 7, 2026);
    SAME("%u %u %5u %05u", 0u, 4000000000u, 7u, 7u);
    SAME("%x %X %02x %04x %08X", 255u, 255u, 5u, 0xbeefu, 0xdeadbeefu);
    SAME("%ld %lu %lx", -123456789L, 123456789UL, 0xabcUL);
    SAME("%lld %llu %llx", LLONG_MIN, ULLONG_MAX, ULLONG_MAX);
    SAME("%lld %llu", -1LL, 18446744073709551615ULL);
    SAME("%zu %zd %zx", (size_t)12345, (ssize_t)-12345, (size_t)4096);
    SAME("%jd %ju %td", (intmax_t)-5, (uintmax_t)5, (ptrdiff_t)-9);
    SAME("%hhd %hhu %hd %hu %hhx", 300, 300, 70000, 70000, 0x1ff);
    SAME("100%% sure, %d%%", 5);
    SAME("%s=%llu,%s=%.*s;", "n", 18446744073709551615ULL, "k", 3, "value");
    /* handed to the C library */
    SAME("%.3f %g %e %.9f", 3.14159, 0.5, 1e10, 1.0 / 3);
    SAME("%+d % d %#x %#o %o", 5, 5, 255u, 8u, 8u);
    SAME("%.3d %.0d %5.2u", 7, 0, 3u);
    SAME("%p", (void *)0x1234);
    SAME("%s and %.2f", "mixed", 2.5);
    SAME("%05s|%-4s|%*d", "ab", "cd", 4, 9);
    CHECK_INT(mismatches, 0);
}

/* Random integers and widths against the C library. */
static void test_fmt_random(void)
{
    mismatches = 0;
    srand(7);
    for (int i = 0; i < 20000; i++) {
        long long v = (long long)(((unsigned long long)rand() << 33) ^ ((unsigned long long)rand() << 10) ^
                                  (unsigned long long)rand());
        if (i % 3 == 0)
            v = -v;
        int w = rand() % 24;
        unsigned u = (unsigned)rand();
        SAME("%lld|%*lld|%-*lld|%0*lld", v, w, v, w, v, w, v);
        SAME("%llu|%llx|%*x|%0*X", (unsigned long long)v, (unsigned long long)v, w, u, w, u);
        SAME("%d|%*d|%05d", (int)v, w, (int)u, (int)(v >> 7));
    }
    CHECK_INT(mismatches, 0);
}

/* %f with precisions 0-9 against the C library: hand-picked values (ties
 * that round to even, negative zero, carries into a new digit, the largest
 * handled magnitude, subnormals) and random doubles over a wide range. */
static void test_fmt_fixed(void)
{
    mismatches = 0;
    static const double vals[] = {0.0, -0.0, 0.5, 1.5, 2.5, -2.5, 0.125, 0.375, 9.9995, 0.0005,
                                  1e-10, -1e-10, 999.9999999, 1234567.891, 0.1, 0.2, 0.3,
                                  3.14159265358979, 1e15, 9.223372036854775e18, 4.9e-324,
                                  2.2250738585072014e-308, 1.0 / 3, 2.0 / 3, 123.0005, 0.045};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        double v = vals[i];
        SAME("%f|%.0f|%.1f|%.2f|%.3f", v, v, v, v, v);
        SAME("%.4f|%.5f|%.6f|%.7f|%.8f|%.9f", v, v, v, v, v, v);
        SAME("[%10.3f][%-10.2f][%010.3f][%*.*f]", v, v, v, 12, 4, v);
        SAME("%.10f %.12f %e %g", v, v, v, v); /* handed over */
    }
    SAME("%f %.3f %f", 1.0 / 0.0, -1.0 / 0.0, 0.0 / 0.0); /* handed over */
    srand(11);
    for (int i = 0; i < 20000; i++) {
        double v = ldexp((double)rand() / RAND_MAX + 0.5, rand() % 90 - 45);
        if (i % 2)
            v = -v;
        if (i % 5 == 0)
            v = (double)(rand() % 100000) / 8.0; /* exact binary fractions: ties */
        int pr = rand() % 10;
        SAME("%.*f|%.3f|%f", pr, v, v, v);
    }
    CHECK_INT(mismatches, 0);
}

/* sy_log_esc (core/log.c) against the byte-at-a-time definition it had. */
static char *log_esc_ref(char *out, size_t outsz, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (outsz == 0)
        return out;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[6];
        size_t n;
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            n = 2;
        } else if (c == '\n') {
            memcpy(tmp, "\\n", 2);
            n = 2;
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(tmp, "\\u00", 4);
            tmp[4] = hex[c >> 4];
            tmp[5] = hex[c & 15];
            n = 6;
        } else {
            tmp[0] = (char)c;
            n = 1;
        }
        if (o + n >= outsz)
            break;
        memcpy(out + o, tmp, n);
        o += n;
    }
    out[o] = '\0';
    return out;
}

/* The same string, and nothing written at or after out[outsz] (bytes after
 * the NUL are scratch). */
static bool esc_same(const char *a, const char *b, size_t outsz, size_t size)
{
    if (outsz && strcmp(a, b) != 0)
        return false;
    for (size_t k = outsz; k < size; k++)
        if (b[k] != 'Q')
            return false;
    return true;
}

static void test_log_esc(void)
{
    static const char alphabet[] = "abc \"\\\n\t\x01\x7f\xc3\xa9/xyz";
    char in[64], a[80], b[80];
    srand(5);
    int bad = 0;
    for (int i = 0; i < 50000; i++) {
        size_t len = (size_t)(rand() % 40);
        for (size_t k = 0; k < len; k++)
            in[k] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
        size_t outsz = (size_t)(rand() % 70);
        memset(a, 'Q', sizeof(a));
        memset(b, 'Q', sizeof(b));
        log_esc_ref(a, outsz, in, len);
        sy_log_esc(b, outsz, in, len);
        if (!esc_same(a, b, outsz, sizeof(a)))
            bad++;
    }
    CHECK_INT(bad, 0);
}

/* The same with long plain runs (the vector scan's 16-byte steps) broken
 * now and then by a byte that needs escaping, DEL or UTF-8. */
static void test_log_esc_long(void)
{
    static const char plain[] = "abcdefghijklmnopqrstuvwxyz0123456789-_/.:, ";
    static const char odd[] = "\"\\\n\t\x01\x1f\x7f\x80\xc3\xa9\xff";
    char in[400], a[900], b[900];
    srand(11);
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(rand() % 300);
        int every = 1 + rand() % 60;
        for (size_t k = 0; k < len; k++)
            in[k] = rand() % every == 0 ? odd[rand() % (int)(sizeof(odd) - 1)]
                                        : plain[rand() % (int)(sizeof(plain) - 1)];
        size_t outsz = (size_t)(rand() % 900);
        memset(a, 'Q', sizeof(a));
        memset(b, 'Q', sizeof(b));
        log_esc_ref(a, outsz, in, len);
        sy_log_esc(b, outsz, in, len);
        if (!esc_same(a, b, outsz, sizeof(a)))
            bad++;
    }
    CHECK_INT(bad, 0);
}

/* sy_log_esc_to is sy_log_esc without the NUL, for every bound. */
static void test_log_esc_to(void)
{
    static const char alphabet[] = "ab\"\\\n\x01\x7f";
    char in[64], a[80], b[80];
    srand(9);
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(rand() % 40);
        for (size_t k = 0; k < len; k++)
            in[k] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
        size_t max = (size_t)(rand() % 70);
        sy_log_esc(a, max + 1, in, len);
        size_t n = sy_log_esc_to(b, max, in, len);
        if (n > max || n != strlen(a) || memcmp(a, b, n) != 0)
            bad++;
    }
    CHECK_INT(bad, 0);
}

static void test_fmt_u64(void)
{
    uint64_t vals[] = {0, 1, 9, 10, 99, 100, 4294967295u, 4294967296u, 999999999999999999u,
                       10000000000000000000u, UINT64_MAX};
    sy_buf_t b;
    sy_buf_init(&b, 0);
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        char want[32], got[20];
        snprintf(want, sizeof(want), "%llu", (unsigned long long)vals[i]);
        CHECK_MEM(got, sy_fmt_u64(got, vals[i]), want);
        sy_buf_clear(&b);
        CHECK_INT(sy_buf_append_u64(&b, vals[i]), SY_OK);
        CHECK_STR(sy_buf_str(&b), want);
    }
    sy_buf_free(&b);
    /* every digit count's ends, and random values of every magnitude */
    int bad = 0;
    uint64_t p10 = 1;
    for (int k = 0; k < 20; k++, p10 *= 10) {
        uint64_t edge[] = {p10 - 1, p10, p10 + 1, p10 * 9 + (p10 - 1)};
        for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
            char want[32], got[20];
            int wn = snprintf(want, sizeof(want), "%llu", (unsigned long long)edge[i]);
            size_t n = sy_fmt_u64(got, edge[i]);
            if (n != (size_t)wn || memcmp(got, want, n) != 0)
                bad++;
        }
    }
    srand(13);
    for (int i = 0; i < 100000; i++) {
        uint64_t v = ((uint64_t)(unsigned)rand() << 42) ^ ((uint64_t)(unsigned)rand() << 21) ^
                     (uint64_t)(unsigned)rand();
        v >>= rand() % 64;
        char want[32], got[20];
        int wn = snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
        size_t n = sy_fmt_u64(got, v);
        if (n != (size_t)wn || memcmp(got, want, n) != 0)
            bad++;
    }
    CHECK_INT(bad, 0);
    sy_buf_t c;
    sy_buf_init(&c, 8);
    CHECK_INT(sy_buf_append_u64(&c, 7), SY_OK);
    CHECK_INT(sy_buf_append_u64(&c, 1234567), SY_OK);
    CHECK_INT(sy_buf_append_u64(&c, 8), SY_ETOOBIG); /* past the cap: nothing written */
    CHECK_STR(sy_buf_str(&c), "71234567");
    sy_buf_free(&c);
}

static void test_buf_and_arena_printf(void)
{
    sy_buf_t b;
    sy_buf_init(&b, 0);
    /* longer than any first guess at the room: the second pass */
    char big[3000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    CHECK_INT(sy_buf_printf(&b, "<%s>", big), SY_OK);
    CHECK_INT(b.len, sizeof(big) + 1);
    CHECK(b.data[0] == '<' && b.data[b.len - 1] == '>');
    sy_buf_clear(&b);
    for (int i = 0; i < 5000; i++)
        CHECK_INT(sy_buf_printf(&b, "%d,", i), SY_OK);
    CHECK_MEM(b.data, 8, "0,1,2,3,");
    CHECK_MEM(b.data + b.len - 5, 5, "4999,");
    sy_buf_free(&b);

    /* exactly at the cap, then one past it */
    sy_buf_t c;
    sy_buf_init(&c, 8);
    CHECK_INT(sy_buf_printf(&c, "%s%d", "abcd", 123), SY_OK);
    CHECK_INT(sy_buf_printf(&c, "%c", 'x'), SY_OK);
    CHECK_STR(sy_buf_str(&c), "abcd123x");
    CHECK_INT(sy_buf_printf(&c, "%c", 'y'), SY_ETOOBIG);
    CHECK_INT(c.len, 8);
    sy_buf_free(&c);

    sy_arena_t *a = sy_arena_new(1024);
    char *s = sy_arena_sprintf(a, "%s-%05d-%.2f", "id", 42, 1.5);
    CHECK(strcmp(s, "id-00042-1.50") == 0);
    char *l = sy_arena_sprintf(a, "%s%s", big, big);
    CHECK_INT(strlen(l), 2 * (sizeof(big) - 1));
    sy_arena_free(a);
}

int main(void)
{
    RUN(test_fmt_matches_libc);
    RUN(test_fmt_random);
    RUN(test_fmt_fixed);
    RUN(test_log_esc);
    RUN(test_log_esc_long);
    RUN(test_log_esc_to);
    RUN(test_fmt_u64);
    RUN(test_buf_and_arena_printf);
    return unit_done();
}
