/* exp for float32 in plain arithmetic, so that loops calling it vectorise
 * (libm's expf is one call per element). Part of the ew_loops.h template.
 *
 * exp(x) = 2^n * e^r with n = round(x / ln 2) and |r| <= ln(2)/2; r comes from a
 * two-part ln 2 (the high part has few bits, so n * LN2_HI is exact), e^r from
 * its Taylor series to r^7 (truncation error < 1e-8 relative), and 2^n is
 * applied as two exact powers of two so that results in the subnormal range
 * round once. x is clamped to [-104, 88.75] first: beyond those exp is 0 or
 * overflows to +inf anyway. NaN propagates through the arithmetic. Accurate to
 * about 2 ulp; the same code runs at every SIMD level, so levels agree exactly. */
#ifndef TFM_KERNELS_EW_EXP_F32_H
#define TFM_KERNELS_EW_EXP_F32_H

#include <stdint.h>
#include <string.h>

static inline uint32_t ew_f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static inline float ew_f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static inline float ew_exp_f32(float x) {
  const float log2e = 1.44269504088896341f;
  const float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
  const float round_magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
  float xc = x > 88.75f ? 88.75f : x;
  xc = xc < -104.0f ? -104.0f : xc;
  const float t = xc * log2e + round_magic;
  const int32_t n = (int32_t)(ew_f32_bits(t) - ew_f32_bits(round_magic));
  const float k = t - round_magic;
  const float r = (xc - k * ln2_hi) - k * ln2_lo;
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t n1 = n / 2, n2 = n - n1; /* each within [-75, 64]: a normal power of two */
  const float s1 = ew_f32_from_bits((uint32_t)(n1 + 127) << 23);
  const float s2 = ew_f32_from_bits((uint32_t)(n2 + 127) << 23);
  return (p * s1) * s2;
}

#endif
