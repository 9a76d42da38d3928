/* CRC-32C with the SSE4.2 crc32 instruction. This file alone is compiled with
 * -msse4.2; crc32c.c calls it only after checking the CPU.
 *
 * The instruction has a latency of 3 cycles and a throughput of 1, so one chain
 * of dependent crc32 steps runs at a third of the possible speed. Long buffers
 * are therefore cut into blocks of three lanes computed side by side, the lanes
 * being joined with the CRC's linearity: the register after lane A then lane B
 * equals shift(A) ^ B, where shift(s) is s followed by LANE zero bytes, a linear
 * map of the 32-bit state applied here through four 256-entry tables. */
#include <nmmintrin.h>
#include <pthread.h>
#include <string.h>

#include "io/crc32c.h"

#define LANE 2048 /* bytes per lane; a block is 3 lanes */

static uint32_t shift_table[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

/* The state s after LANE zero bytes (the crc32 instruction has no pre/post
 * inversion, so this is exactly the linear map M^(8*LANE) s). */
static uint32_t zeros_after(uint32_t s) {
  uint64_t c = s;
  for (int i = 0; i < LANE / 8; i++) c = _mm_crc32_u64(c, 0);
  return (uint32_t)c;
}

static void shift_init(void) {
  uint32_t basis[32];
  for (int j = 0; j < 32; j++) basis[j] = zeros_after(1u << j);
  for (int k = 0; k < 4; k++)
    for (int b = 0; b < 256; b++) {
      uint32_t v = 0;
      for (int j = 0; j < 8; j++)
        if (b & (1 << j)) v ^= basis[8 * k + j];
      shift_table[k][b] = v;
    }
}

static inline uint32_t shift(uint32_t s) {
  return shift_table[0][s & 0xFF] ^ shift_table[1][(s >> 8) & 0xFF] ^ shift_table[2][(s >> 16) & 0xFF] ^
         shift_table[3][s >> 24];
}

static inline uint64_t load64(const uint8_t *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  return w;
}

uint32_t crc32c_extend_sse42(uint32_t crc, const void *data, size_t n) {
  const uint8_t *p = data;
  uint64_t c = ~crc & 0xFFFFFFFFu;
  while (n > 0 && ((uintptr_t)p & 7) != 0) {
    c = _mm_crc32_u8((uint32_t)c, *p++);
    n--;
  }
  if (n >= 3 * LANE) {
    pthread_once(&shift_once, shift_init);
    do {
      uint64_t c1 = 0, c2 = 0;
      for (size_t i = 0; i < LANE; i += 8) {
        c = _mm_crc32_u64(c, load64(p + i));
        c1 = _mm_crc32_u64(c1, load64(p + LANE + i));
        c2 = _mm_crc32_u64(c2, load64(p + 2 * LANE + i));
      }
      c = shift(shift((uint32_t)c) ^ (uint32_t)c1) ^ (uint32_t)c2;
      p += 3 * LANE;
      n -= 3 * LANE;
    } while (n >= 3 * LANE);
  }
  while (n >= 8) {
    c = _mm_crc32_u64(c, load64(p));
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = _mm_crc32_u8((uint32_t)c, *p++);
  return ~(uint32_t)c;
}
