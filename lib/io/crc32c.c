/* CRC-32C: slicing-by-8 tables (built once) and the run-time choice of the
 * SSE4.2 instruction, which lives in crc32c_sse42.c (compiled with -msse4.2). */
#include "io/crc32c.h"

#include <pthread.h>
#include <string.h>

#define CRC32C_POLY 0x82F63B78u /* reflected Castagnoli polynomial */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static int crc_hw;

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY : 0);
    crc_table[0][i] = c;
  }
  /* Table k advances a byte that sits k positions before the end of an 8-byte word. */
  for (int k = 1; k < 8; k++)
    for (int i = 0; i < 256; i++)
      crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^ crc_table[0][crc_table[k - 1][i] & 0xFF];
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  crc_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#endif
}

int crc32c_have_hw(void) {
  pthread_once(&crc_once, crc_init);
  return crc_hw;
}

uint32_t crc32c_extend_portable(uint32_t crc, const void *data, size_t n) {
  pthread_once(&crc_once, crc_init);
  const uint8_t *p = data;
  uint32_t c = ~crc;
  while (n > 0 && ((uintptr_t)p & 7) != 0) {
    c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xFF];
    n--;
  }
  while (n >= 8) {
    uint32_t lo, hi;
    memcpy(&lo, p, 4);
    memcpy(&hi, p + 4, 4);
    lo ^= c; /* little-endian hosts only (x86-64) */
    c = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^
        crc_table[5][(lo >> 16) & 0xFF] ^ crc_table[4][lo >> 24] ^
        crc_table[3][hi & 0xFF] ^ crc_table[2][(hi >> 8) & 0xFF] ^
        crc_table[1][(hi >> 16) & 0xFF] ^ crc_table[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xFF];
  return ~c;
}

uint32_t crc32c_extend(uint32_t crc, const void *data, size_t n) {
  if (crc32c_have_hw()) return crc32c_extend_sse42(crc, data, n);
  return crc32c_extend_portable(crc, data, n);
}
