/* CRC-32C with the SSE4.2 crc32 instruction. This file alone is compiled with
 * -msse4.2; crc32c.c calls it only after checking the CPU. */
#include <nmmintrin.h>
#include <string.h>

#include "io/crc32c.h"

uint32_t crc32c_extend_sse42(uint32_t crc, const void *data, size_t n) {
  const uint8_t *p = data;
  uint64_t c = ~crc & 0xFFFFFFFFu;
  while (n > 0 && ((uintptr_t)p & 7) != 0) {
    c = _mm_crc32_u8((uint32_t)c, *p++);
    n--;
  }
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    c = _mm_crc32_u64(c, w);
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = _mm_crc32_u8((uint32_t)c, *p++);
  return ~(uint32_t)c;
}
