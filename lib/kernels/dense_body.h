/* The dense kernels of one SIMD level, written once with GCC vector extensions.
 * Included by dense_baseline.c, dense_avx2.c and dense_avx512.c after defining
 * DENSE_VEC_BYTES (16, 32, 64: one machine register) and DENSE_SUFFIX; each of
 * those files is compiled with its level's -m flags and -ffp-contract=fast, so
 * `c += a * b` on vectors becomes an FMA where the level has one. */
#include <string.h>

#include "kernels/dense_levels.h"

#define DENSE_CAT2(a, b) a##_##b
#define DENSE_CAT(a, b) DENSE_CAT2(a, b)
#define DNAME(x) DENSE_CAT(x, DENSE_SUFFIX)
#define DINLINE static inline __attribute__((always_inline))

typedef float vf __attribute__((vector_size(DENSE_VEC_BYTES)));
typedef double vd __attribute__((vector_size(DENSE_VEC_BYTES)));
typedef int32_t vfi __attribute__((vector_size(DENSE_VEC_BYTES)));
typedef int64_t vdi __attribute__((vector_size(DENSE_VEC_BYTES)));
#define VF ((int)(DENSE_VEC_BYTES / sizeof(float)))
#define VD ((int)(DENSE_VEC_BYTES / sizeof(double)))

/* Loads and stores of any alignment (wrapped tensors may be misaligned). */
DINLINE vf vf_load(const float *p) {
  vf v;
  memcpy(&v, p, sizeof v);
  return v;
}
DINLINE vd vd_load(const double *p) {
  vd v;
  memcpy(&v, p, sizeof v);
  return v;
}
DINLINE void vf_store(float *p, vf v) { memcpy(p, &v, sizeof v); }

/* Streaming reductions (sums, dot products) may use narrower vectors than the
 * level's registers: they are bound by memory, and on some CPUs a 512-bit loop
 * streams worse than a 256-bit one (see dense_avx512.c). */
#ifndef DENSE_STREAM_BYTES
#define DENSE_STREAM_BYTES DENSE_VEC_BYTES
#endif
typedef float vsf __attribute__((vector_size(DENSE_STREAM_BYTES)));
typedef double vsd __attribute__((vector_size(DENSE_STREAM_BYTES)));
#define VSF ((int)(DENSE_STREAM_BYTES / sizeof(float)))
#define VSD ((int)(DENSE_STREAM_BYTES / sizeof(double)))
DINLINE vsf vsf_load(const float *p) {
  vsf v;
  memcpy(&v, p, sizeof v);
  return v;
}
DINLINE vsd vsd_load(const double *p) {
  vsd v;
  memcpy(&v, p, sizeof v);
  return v;
}
DINLINE void vd_store(double *p, vd v) { memcpy(p, &v, sizeof v); }

/* ---- sums ------------------------------------------------------------------- */

/* Sums are pairwise over chunks of this many elements; inside a chunk eight vector
 * accumulators each add at most DENSE_SUM_CHUNK / (8 * lanes) values, so the
 * rounding error grows like log2(n) chunks plus a handful of adds per lane. */
#define DENSE_SUM_CHUNK 4096

#define DEFINE_SUM(T, V, W, LOAD, NAME, CHUNK)                                            \
  static T CHUNK(const T *x, int64_t n) {                                   \
    if (n < W) { /* no vector: the lanes below would add up to +0 */              \
      T tail = 0;                                                                  \
      for (int64_t i = 0; i < n; i++) tail += x[i];                               \
      return (T)0 + tail;                                                          \
    }                                                                              \
    V a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0}; \
    int64_t i = 0;                                                                 \
    for (; i + 8 * W <= n; i += 8 * W) {                                           \
      a0 += LOAD(x + i);                                                           \
      a1 += LOAD(x + i + W);                                                       \
      a2 += LOAD(x + i + 2 * W);                                                   \
      a3 += LOAD(x + i + 3 * W);                                                   \
      a4 += LOAD(x + i + 4 * W);                                                   \
      a5 += LOAD(x + i + 5 * W);                                                   \
      a6 += LOAD(x + i + 6 * W);                                                   \
      a7 += LOAD(x + i + 7 * W);                                                   \
    }                                                                              \
    for (; i + W <= n; i += W) a0 += LOAD(x + i);                                  \
    V s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));                       \
    T r = 0;                                                                       \
    for (int l = 0; l < W; l++) r += s[l];                                         \
    T tail = 0;                                                                    \
    for (; i < n; i++) tail += x[i];                                               \
    return r + tail;                                                               \
  }                                                                                \
  static T NAME(const T *x, int64_t n) {                                           \
    if (n <= DENSE_SUM_CHUNK) return CHUNK(x, n);                           \
    int64_t half = (n / 2 + DENSE_SUM_CHUNK - 1) / DENSE_SUM_CHUNK * DENSE_SUM_CHUNK; \
    return NAME(x, half) + NAME(x + half, n - half);                               \
  }

DEFINE_SUM(float, vsf, VSF, vsf_load, DNAME(sum_f32), DNAME(sum_chunk_f32))
DEFINE_SUM(double, vsd, VSD, vsd_load, DNAME(sum_f64), DNAME(sum_chunk_f64))

/* Dot products: the same chunking and accumulators as the sums (fused plans
 * reduce a product without storing it). */
static float DNAME(dot_chunk_f32)(const float *a, const float *b, int64_t n) {
  vsf a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
  int64_t i = 0;
  for (; i + 4 * VSF <= n; i += 4 * VSF) {
    a0 += vsf_load(a + i) * vsf_load(b + i);
    a1 += vsf_load(a + i + VSF) * vsf_load(b + i + VSF);
    a2 += vsf_load(a + i + 2 * VSF) * vsf_load(b + i + 2 * VSF);
    a3 += vsf_load(a + i + 3 * VSF) * vsf_load(b + i + 3 * VSF);
  }
  for (; i + VSF <= n; i += VSF) a0 += vsf_load(a + i) * vsf_load(b + i);
  vsf s = (a0 + a1) + (a2 + a3);
  float r = 0;
  for (int l = 0; l < VSF; l++) r += s[l];
  float tail = 0;
  for (; i < n; i++) tail += a[i] * b[i];
  return r + tail;
}
static float DNAME(dot_f32)(const float *a, const float *b, int64_t n) {
  if (n <= DENSE_SUM_CHUNK) return DNAME(dot_chunk_f32)(a, b, n);
  int64_t half = (n / 2 + DENSE_SUM_CHUNK - 1) / DENSE_SUM_CHUNK * DENSE_SUM_CHUNK;
  return DNAME(dot_f32)(a, b, half) + DNAME(dot_f32)(a + half, b + half, n - half);
}

/* ---- max / min -------------------------------------------------------------- */

/* Lane-wise select of the larger (IS_MAX) or smaller value; NaNs are tracked in a
 * separate mask because comparisons with NaN are false. */
#define DEFINE_EXTREMUM(T, V, VI, W, LOAD, NAME, CMP)                              \
  static T NAME(const T *x, int64_t n) {                                           \
    T r = x[0];                                                                    \
    int nan = r != r;                                                              \
    int64_t i = 1;                                                                 \
    if (n >= 4 * W) {                                                              \
      V m0 = LOAD(x), m1 = LOAD(x + W), m2 = LOAD(x + 2 * W), m3 = LOAD(x + 3 * W); \
      VI bad = (m0 != m0) | (m1 != m1) | (m2 != m2) | (m3 != m3);                  \
      for (i = 4 * W; i + 4 * W <= n; i += 4 * W) {                                \
        V v0 = LOAD(x + i), v1 = LOAD(x + i + W);                                  \
        V v2 = LOAD(x + i + 2 * W), v3 = LOAD(x + i + 3 * W);                      \
        VI g0 = v0 CMP m0, g1 = v1 CMP m1, g2 = v2 CMP m2, g3 = v3 CMP m3;         \
        m0 = (V)(((VI)v0 & g0) | ((VI)m0 & ~g0));                                  \
        m1 = (V)(((VI)v1 & g1) | ((VI)m1 & ~g1));                                  \
        m2 = (V)(((VI)v2 & g2) | ((VI)m2 & ~g2));                                  \
        m3 = (V)(((VI)v3 & g3) | ((VI)m3 & ~g3));                                  \
        bad |= (v0 != v0) | (v1 != v1) | (v2 != v2) | (v3 != v3);                  \
      }                                                                            \
      for (int l = 0; l < W; l++) {                                                \
        nan |= bad[l] != 0;                                                        \
        if (m0[l] CMP r) r = m0[l];                                                \
        if (m1[l] CMP r) r = m1[l];                                                \
        if (m2[l] CMP r) r = m2[l];                                                \
        if (m3[l] CMP r) r = m3[l];                                                \
      }                                                                            \
    }                                                                              \
    for (; i < n; i++) {                                                           \
      nan |= x[i] != x[i];                                                         \
      if (x[i] CMP r) r = x[i];                                                    \
    }                                                                              \
    return nan ? (T)__builtin_nan("") : r;                                         \
  }

DEFINE_EXTREMUM(float, vf, vfi, VF, vf_load, DNAME(max_f32), >)
DEFINE_EXTREMUM(float, vf, vfi, VF, vf_load, DNAME(min_f32), <)
DEFINE_EXTREMUM(double, vd, vdi, VD, vd_load, DNAME(max_f64), >)
DEFINE_EXTREMUM(double, vd, vdi, VD, vd_load, DNAME(min_f64), <)

static void DNAME(add_f32)(float *restrict acc, const float *restrict x, int64_t n) {
  for (int64_t j = 0; j < n; j++) acc[j] += x[j];
}
static void DNAME(add_f64)(double *restrict acc, const double *restrict x, int64_t n) {
  for (int64_t j = 0; j < n; j++) acc[j] += x[j];
}

/* ---- GEMM ------------------------------------------------------------------- */

#define GEMM_T float
#define GEMM_V vf
#define GEMM_W VF
#define GEMM_LOAD vf_load
#define GEMM_STORE vf_store
#define GEMM_FN(x) DENSE_CAT(DNAME(x), f32)
#include "kernels/dense_gemm_body.h"
#undef GEMM_T
#undef GEMM_V
#undef GEMM_W
#undef GEMM_LOAD
#undef GEMM_STORE
#undef GEMM_FN

#define GEMM_T double
#define GEMM_V vd
#define GEMM_W VD
#define GEMM_LOAD vd_load
#define GEMM_STORE vd_store
#define GEMM_FN(x) DENSE_CAT(DNAME(x), f64)
#include "kernels/dense_gemm_body.h"

const dense_ops_t DNAME(dense_ops) = {
    .name = DENSE_NAME_STRING,
    .sum_f32 = DNAME(sum_f32),
    .sum_f64 = DNAME(sum_f64),
    .dot_f32 = DNAME(dot_f32),
    .max_f32 = DNAME(max_f32),
    .min_f32 = DNAME(min_f32),
    .max_f64 = DNAME(max_f64),
    .min_f64 = DNAME(min_f64),
    .add_f32 = DNAME(add_f32),
    .add_f64 = DNAME(add_f64),
    .gemm_f32 = DENSE_CAT(DNAME(gemm), f32),
    .gemm_f64 = DENSE_CAT(DNAME(gemm), f64),
};
