/*
 * crc.h - CRC-32C (Castagnoli), the checksum of the audit log file's frames.
 *
 * On x86-64 CPUs with SSE4.2 the crc32 instruction does eight bytes per
 * step (about 0.1 us per kilobyte); elsewhere a table does one byte per
 * step. Both give the same value. (The event-stream framing's CRC-32, a
 * different polynomial, is sy_crc32 in http/eventstream.h.)
 */
#ifndef SY_CORE_CRC_H
#define SY_CORE_CRC_H

#include <stddef.h>
#include <stdint.h>

/* Pass 0 to start, the previous result to continue. */
uint32_t sy_crc32c(uint32_t crc, const void *p, size_t n);
/* The table version, for tests to compare against. */
uint32_t sy_crc32c_sw(uint32_t crc, const void *p, size_t n);

#endif
