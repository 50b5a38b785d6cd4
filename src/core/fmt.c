/*
 * fmt.c - vsnprintf for the hot path (see fmt.h for the contract).
 *
 * One pass over the format. Output goes through an out_t that writes what
 * fits and counts everything, so truncation and the return value follow
 * vsnprintf. On the first conversion outside the supported set, the pass is
 * abandoned and the C library formats the whole call from a copy of the
 * arguments taken before the pass started.
 */
#include "core/fmt.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

typedef struct {
    char *p;
    size_t cap; /* bytes that may be written, the NUL excluded */
    size_t n;   /* bytes the output has so far (may exceed cap) */
} out_t;

static inline void put(out_t *o, const char *s, size_t len)
{
    if (len && o->n < o->cap) {
        size_t room = o->cap - o->n;
        memcpy(o->p + o->n, s, len < room ? len : room);
    }
    o->n += len;
}

static inline void fill(out_t *o, char c, size_t k)
{
    if (k && o->n < o->cap) {
        size_t room = o->cap - o->n;
        memset(o->p + o->n, c, k < room ? k : room);
    }
    o->n += k;
}

/* Digits of v in base 10 or 16, written backwards ending at end. */
static size_t utoa(char *end, unsigned long long v, unsigned base, bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char *p = end;
    if (base == 10) {
        do {
            *--p = (char)('0' + v % 10);
            v /= 10;
        } while (v);
    } else {
        do {
            *--p = digits[v & 15];
            v >>= 4;
        } while (v);
    }
    return (size_t)(end - p);
}

/* The digits are counted first so they can be written in place, two at a
 * time from a table (half the divisions, no copy): the access log, the
 * route notes and response heads call this ~15 times per proxied request. */
static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324"
                                  "25262728293031323334353637383940414243444546474849"
                                  "50515253545556575859606162636465666768697071727374"
                                  "75767778798081828384858687888990919293949596979899";

size_t sy_fmt_u64(char out[20], uint64_t v)
{
    static const uint64_t pow10[20] = {1ULL,
                                       10ULL,
                                       100ULL,
                                       1000ULL,
                                       10000ULL,
                                       100000ULL,
                                       1000000ULL,
                                       10000000ULL,
                                       100000000ULL,
                                       1000000000ULL,
                                       10000000000ULL,
                                       100000000000ULL,
                                       1000000000000ULL,
                                       10000000000000ULL,
                                       100000000000000ULL,
                                       1000000000000000ULL,
                                       10000000000000000ULL,
                                       100000000000000000ULL,
                                       1000000000000000000ULL,
                                       10000000000000000000ULL};
    size_t n = 1;
    while (n < 20 && v >= pow10[n])
        n++;
    char *p = out + n;
    while (v >= 100) {
        size_t r = (size_t)(v % 100) * 2;
        v /= 100;
        p -= 2;
        p[0] = digit_pairs[r];
        p[1] = digit_pairs[r + 1];
    }
    if (v >= 10) {
        p[-2] = digit_pairs[v * 2];
        p[-1] = digit_pairs[v * 2 + 1];
    } else {
        p[-1] = (char)('0' + v);
    }
    return n;
}

/* A field: sign (may be empty) and body, padded to width. */
static inline void field(out_t *o, const char *sign, size_t slen, const char *body, size_t blen,
                  size_t width, bool left, bool zero)
{
    size_t len = slen + blen;
    size_t padn = width > len ? width - len : 0;
    if (left) {
        put(o, sign, slen);
        put(o, body, blen);
        fill(o, ' ', padn);
    } else if (zero) {
        put(o, sign, slen);
        fill(o, '0', padn);
        put(o, body, blen);
    } else {
        fill(o, ' ', padn);
        put(o, sign, slen);
        put(o, body, blen);
    }
}

/*
 * %f with a precision of at most 9, exactly as the C library prints it: the
 * double is m * 2^e exactly, so value * 10^prec = m * 10^prec * 2^e is
 * computed in 128-bit integers and rounded half to even on the exact
 * remainder (the library rounds the exact binary value, to nearest by
 * default). Returns false for what it leaves to the library: infinities,
 * NaN, magnitudes of 2^63 and more.
 */
static bool fixed(out_t *o, double d, size_t prec, size_t width, bool left, bool zero)
{
    static const uint64_t p10[] = {1ull,         10ull,        100ull,        1000ull,
                                   10000ull,     100000ull,    1000000ull,    10000000ull,
                                   100000000ull, 1000000000ull};
    if (prec > 9)
        return false;
    uint64_t bits;
    memcpy(&bits, &d, sizeof(bits));
    bool neg = bits >> 63;
    int bexp = (int)((bits >> 52) & 0x7ff);
    uint64_t mant = bits & ((1ull << 52) - 1);
    if (bexp == 0x7ff)
        return false;
    uint64_t m = bexp ? mant | (1ull << 52) : mant;
    int e = bexp ? bexp - 1075 : -1074;
    if (e > 10)
        return false;
    unsigned __int128 q = (unsigned __int128)m * p10[prec];
    if (e >= 0) {
        q <<= e;
    } else if (-e >= 127) {
        q = 0; /* below half a unit of the last digit */
    } else {
        int k = -e;
        unsigned __int128 rem = q & (((unsigned __int128)1 << k) - 1);
        unsigned __int128 half = (unsigned __int128)1 << (k - 1);
        q >>= k;
        if (rem > half || (rem == half && (q & 1)))
            q++;
    }
    char digits[48];
    char *end = digits + sizeof(digits), *p = end;
    do {
        *--p = (char)('0' + (unsigned)(q % 10));
        q /= 10;
    } while (q);
    while ((size_t)(end - p) < prec + 1)
        *--p = '0';
    char body[64];
    size_t ilen = (size_t)(end - p) - prec;
    memcpy(body, p, ilen);
    size_t blen = ilen;
    if (prec) {
        body[blen++] = '.';
        memcpy(body + blen, p + ilen, prec);
        blen += prec;
    }
    field(o, "-", neg ? 1 : 0, body, blen, width, left, zero && !left);
    return true;
}

enum { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_J, LEN_T };

/* Returns false when the format needs the C library. */
static bool format(out_t *o, const char *fmt, va_list ap)
{
    const char *f = fmt;
    for (;;) {
        const char *pct = strchr(f, '%');
        if (pct == NULL) {
            put(o, f, strlen(f));
            return true;
        }
        put(o, f, (size_t)(pct - f));
        f = pct + 1;
        bool left = false, zero = false;
        for (;; f++) {
            if (*f == '-')
                left = true;
            else if (*f == '0')
                zero = true;
            else if (*f == '+' || *f == ' ' || *f == '#' || *f == '\'' || *f == 'I')
                return false;
            else
                break;
        }
        size_t width = 0;
        if (*f == '*') {
            int w = va_arg(ap, int);
            if (w < 0) {
                left = true;
                width = (size_t)-(long long)w;
            } else {
                width = (size_t)w;
            }
            f++;
        } else {
            while (*f >= '0' && *f <= '9') {
                width = width * 10 + (size_t)(*f - '0');
                if (width > INT_MAX)
                    return false;
                f++;
            }
        }
        bool has_prec = false;
        size_t prec = 0;
        if (*f == '.') {
            f++;
            has_prec = true;
            if (*f == '*') {
                int pr = va_arg(ap, int);
                if (pr < 0)
                    has_prec = false;
                else
                    prec = (size_t)pr;
                f++;
            } else {
                while (*f >= '0' && *f <= '9') {
                    prec = prec * 10 + (size_t)(*f - '0');
                    if (prec > INT_MAX)
                        return false;
                    f++;
                }
            }
        }
        int len = LEN_NONE;
        switch (*f) {
        case 'h':
            len = f[1] == 'h' ? LEN_HH : LEN_H;
            f += len == LEN_HH ? 2 : 1;
            break;
        case 'l':
            len = f[1] == 'l' ? LEN_LL : LEN_L;
            f += len == LEN_LL ? 2 : 1;
            break;
        case 'z': len = LEN_Z; f++; break;
        case 'j': len = LEN_J; f++; break;
        case 't': len = LEN_T; f++; break;
        default: break;
        }
        char conv = *f++;
        char num[24];
        char *end = num + sizeof(num);
        switch (conv) {
        case '%':
            if (width || has_prec || left || zero || len != LEN_NONE)
                return false;
            put(o, "%", 1);
            break;
        case 's': {
            if (len != LEN_NONE || zero)
                return false;
            const char *s = va_arg(ap, const char *);
            if (s == NULL) {
                /* glibc prints "(null)", or nothing when the precision is
                 * too short for it */
                s = (has_prec && prec < 6) ? "" : "(null)";
            }
            size_t sl = has_prec ? strnlen(s, prec) : strlen(s);
            if (width <= sl)
                put(o, s, sl);
            else
                field(o, "", 0, s, sl, width, left, false);
            break;
        }
        case 'c': {
            if (len != LEN_NONE || zero || has_prec)
                return false;
            char c = (char)va_arg(ap, int);
            field(o, "", 0, &c, 1, width, left, false);
            break;
        }
        case 'd':
        case 'i': {
            if (has_prec)
                return false;
            long long v;
            switch (len) {
            case LEN_HH: v = (signed char)va_arg(ap, int); break;
            case LEN_H: v = (short)va_arg(ap, int); break;
            case LEN_L: v = va_arg(ap, long); break;
            case LEN_LL: v = va_arg(ap, long long); break;
            case LEN_Z: v = va_arg(ap, ssize_t); break;
            case LEN_J: v = va_arg(ap, intmax_t); break;
            case LEN_T: v = va_arg(ap, ptrdiff_t); break;
            default: v = va_arg(ap, int); break;
            }
            unsigned long long mag = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            size_t nl = utoa(end, mag, 10, false);
            field(o, "-", v < 0 ? 1 : 0, end - nl, nl, width, left, zero && !left);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            if (has_prec)
                return false;
            unsigned long long v;
            switch (len) {
            case LEN_HH: v = (unsigned char)va_arg(ap, unsigned); break;
            case LEN_H: v = (unsigned short)va_arg(ap, unsigned); break;
            case LEN_L: v = va_arg(ap, unsigned long); break;
            case LEN_LL: v = va_arg(ap, unsigned long long); break;
            case LEN_Z: v = va_arg(ap, size_t); break;
            case LEN_J: v = va_arg(ap, uintmax_t); break;
            case LEN_T: v = (unsigned long long)va_arg(ap, ptrdiff_t); break;
            default: v = va_arg(ap, unsigned); break;
            }
            size_t nl = utoa(end, v, conv == 'u' ? 10 : 16, conv == 'X');
            field(o, "", 0, end - nl, nl, width, left, zero && !left);
            break;
        }
        case 'f':
            if (len != LEN_NONE)
                return false;
            if (!fixed(o, va_arg(ap, double), has_prec ? prec : 6, width, left, zero))
                return false;
            break;
        default:
            return false; /* %e %g %a, %p, %n, wide characters, '\0' ... */
        }
    }
}

int sy_vsnprintf(char *dst, size_t cap, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    out_t o = {.p = dst, .cap = cap ? cap - 1 : 0, .n = 0};
    int rc;
    if (format(&o, fmt, ap) && o.n <= INT_MAX) {
        if (cap)
            dst[o.n < o.cap ? o.n : o.cap] = '\0';
        rc = (int)o.n;
    } else {
        rc = vsnprintf(dst, cap, fmt, copy);
    }
    va_end(copy);
    return rc;
}

int sy_snprintf(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sy_vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
    return rc;
}
