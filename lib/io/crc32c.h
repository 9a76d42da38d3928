/* CRC-32C (Castagnoli), the checksum of every TensorFlow file format: SSTable block
 * trailers, tensor-bundle entries, TFRecord framing. Files store it "masked"
 * (rotated and offset) because a CRC computed over data that itself contains CRCs
 * is weak; crc32c_mask/unmask convert. The SSE4.2 crc32 instruction is used when
 * the CPU has it (checked once at run time), else a slicing-by-8 table. */
#ifndef TFM_IO_CRC32C_H
#define TFM_IO_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: crc32c_extend(crc32c(a), b) == crc32c(a || b). Start with 0. */
uint32_t crc32c_extend(uint32_t crc, const void *data, size_t n);

static inline uint32_t crc32c(const void *data, size_t n) { return crc32c_extend(0, data, n); }

#define CRC32C_MASK_DELTA 0xA282EAD8u

static inline uint32_t crc32c_mask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + CRC32C_MASK_DELTA;
}
static inline uint32_t crc32c_unmask(uint32_t masked) {
  uint32_t rot = masked - CRC32C_MASK_DELTA;
  return (rot >> 17) | (rot << 15);
}

/* The portable path, whatever the CPU (for tests and benchmarks of both paths). */
uint32_t crc32c_extend_portable(uint32_t crc, const void *data, size_t n);
/* The hardware path; only valid when crc32c_have_hw() is true. */
uint32_t crc32c_extend_sse42(uint32_t crc, const void *data, size_t n);
int crc32c_have_hw(void);

#endif
