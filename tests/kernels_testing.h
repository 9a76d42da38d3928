/* Helpers shared by the kernel suites: tensors of any dtype filled from a fixed
 * pseudo-random sequence, misaligned wrapped tensors, element access as double. */
#ifndef TFM_TESTS_KERNELS_TESTING_H
#define TFM_TESTS_KERNELS_TESTING_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/tensor.h"
#include "core/threadpool.h"
#include "tfmini/tfmini.h"

static const cpu_level_t kt_levels[] = {CPU_BASELINE, CPU_AVX2, CPU_AVX512};
#define KT_NLEVELS 3

static inline tensor_t *kt_new(tfm_dtype dt, const int64_t *dims, int rank) {
  shape_t s;
  ck_assert_int_eq(shape_make(dims, rank, false, &s, "test", NULL), TFM_OK);
  tensor_t *t = tensor_new_zeros(dt, &s, NULL);
  ck_assert_ptr_nonnull(t);
  return t;
}

static void kt_free_raw(void *data, size_t len, void *arg) {
  (void)data;
  (void)len;
  free(arg);
}

/* A tensor over a malloc'ed buffer one element past a 64-byte boundary: aligned
 * for its elements (as C and tfm_tensor_wrap require), misaligned for every vector
 * load. */
static inline tensor_t *kt_new_misaligned(tfm_dtype dt, const int64_t *dims, int rank) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++) n *= dims[i];
  size_t len = (size_t)n * tfm_dtype_size(dt);
  size_t elem = tfm_dtype_size(dt);
  char *raw = aligned_alloc(64, (len + elem + 64) / 64 * 64);
  ck_assert_ptr_nonnull(raw);
  memset(raw, 0, len + elem);
  tfm_tensor *t = tfm_tensor_wrap(dt, dims, rank, raw + elem, len, kt_free_raw, raw, NULL);
  ck_assert_ptr_nonnull(t);
  return (tensor_t *)t;
}

static inline double kt_get(const tensor_t *t, int64_t i) {
  switch (t->dtype) {
    case TFM_FLOAT: { float v; memcpy(&v, (const char *)t->data + 4 * i, 4); return v; }
    case TFM_DOUBLE: { double v; memcpy(&v, (const char *)t->data + 8 * i, 8); return v; }
    case TFM_INT32: { int32_t v; memcpy(&v, (const char *)t->data + 4 * i, 4); return v; }
    case TFM_INT64: { int64_t v; memcpy(&v, (const char *)t->data + 8 * i, 8); return (double)v; }
    default: return ((const uint8_t *)t->data)[i];
  }
}

static inline void kt_set(tensor_t *t, int64_t i, double v) {
  switch (t->dtype) {
    case TFM_FLOAT: { float f = (float)v; memcpy((char *)t->data + 4 * i, &f, 4); break; }
    case TFM_DOUBLE: memcpy((char *)t->data + 8 * i, &v, 8); break;
    case TFM_INT32: { int32_t x = (int32_t)v; memcpy((char *)t->data + 4 * i, &x, 4); break; }
    case TFM_INT64: { int64_t x = (int64_t)v; memcpy((char *)t->data + 8 * i, &x, 8); break; }
    default: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
  }
}

/* Uniform in [lo, hi) from a fixed 64-bit LCG (the same sequence on every run). */
static inline double kt_rand(uint64_t *s, double lo, double hi) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return lo + (hi - lo) * (double)(*s >> 11) * (1.0 / 9007199254740992.0);
}

static inline void kt_fill(tensor_t *t, uint64_t seed, double lo, double hi) {
  for (int64_t i = 0; i < t->num_elements; i++) {
    double v = kt_rand(&seed, lo, hi);
    if (t->dtype != TFM_FLOAT && t->dtype != TFM_DOUBLE) v = (double)(int64_t)v;
    kt_set(t, i, v);
  }
}

static inline void kt_set_threads(int n) {
  ck_assert_int_eq(tfm_set_num_threads(n, NULL), TFM_OK);
}

#endif
