/*
 * crc.c - CRC-32C (reflected polynomial 0x82F63B78), see crc.h.
 */
#include "core/crc.h"

#include <pthread.h>
#include <string.h>

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
}

uint32_t sy_crc32c_sw(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&table_once, table_init);
    const unsigned char *s = p;
    crc = ~crc;
    while (n--)
        crc = table[(crc ^ *s++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *p,
                                                            size_t n)
{
    const unsigned char *s = p;
    uint64_t c = ~crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        c = __builtin_ia32_crc32di(c, w);
        s += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *s++);
    return ~c32;
}

uint32_t sy_crc32c(uint32_t crc, const void *p, size_t n)
{
    /* __builtin_cpu_supports reads what libgcc found at start-up: a load
     * and a test, no shared state of ours to race on. */
    return __builtin_cpu_supports("sse4.2") ? crc32c_hw(crc, p, n) : sy_crc32c_sw(crc, p, n);
}
#else
uint32_t sy_crc32c(uint32_t crc, const void *p, size_t n)
{
    return sy_crc32c_sw(crc, p, n);
}
#endif
