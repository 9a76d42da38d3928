/* The SIMD-level variants of the dense kernels (reductions and the GEMM core).
 *
 * dense_body.h is written once with GCC vector extensions and compiled three
 * times: dense_baseline.c (16-byte vectors, SSE2), dense_avx2.c (32-byte, AVX2+FMA)
 * and dense_avx512.c (64-byte, AVX-512). dense_ops() picks the table for the
 * level core/cpu.h reports. Every function here is single-threaded: reduce.c,
 * matmul.c and conv.c split the work into tasks and call these from them.
 */
#ifndef TFM_KERNELS_DENSE_LEVELS_H
#define TFM_KERNELS_DENSE_LEVELS_H

#include <stdbool.h>
#include <stdint.h>

/* One C = op(A) x op(B) (+ C when accumulate) over strided row-major matrices.
 * Element (i, p) of op(A) is a[p*lda + i] when trans_a, else a[i*lda + p]; the
 * same for B with (p, j). The k-order of the accumulation is fixed (blocks of
 * dense_kc() from p = 0), so a sub-block of C computes bit-identical values to the
 * whole problem: callers may split M and N freely, never K. */
typedef struct gemm_args {
  int64_t m, n, k;
  const void *a;
  int64_t lda;
  bool trans_a;
  const void *b;
  int64_t ldb;
  bool trans_b;
  void *c;
  int64_t ldc;
  bool accumulate;
} gemm_args_t;

typedef struct dense_ops {
  const char *name;
  /* Pairwise sums (chunks of DENSE_SUM_CHUNK elements, vector accumulators). */
  float (*sum_f32)(const float *x, int64_t n);
  double (*sum_f64)(const double *x, int64_t n);
  /* Sum of a[i] * b[i] (chunked like the sums; FMA where the level has one). */
  float (*dot_f32)(const float *a, const float *b, int64_t n);
  /* Max / min of n >= 1 elements; NaN if any element is NaN. */
  float (*max_f32)(const float *x, int64_t n);
  float (*min_f32)(const float *x, int64_t n);
  double (*max_f64)(const double *x, int64_t n);
  double (*min_f64)(const double *x, int64_t n);
  /* acc[j] += x[j] for j < n (column sums of row-major blocks). */
  void (*add_f32)(float *acc, const float *x, int64_t n);
  void (*add_f64)(double *acc, const double *x, int64_t n);
  void (*gemm_f32)(const gemm_args_t *g);
  void (*gemm_f64)(const gemm_args_t *g);
} dense_ops_t;

extern const dense_ops_t dense_ops_baseline;
extern const dense_ops_t dense_ops_avx2;
extern const dense_ops_t dense_ops_avx512;

/* The table for the level in force (cpu_level()). */
const dense_ops_t *dense_ops(void);

/* One GEMM on the calling thread, float32 or float64: a plain loop for tiny
 * products (m*n*k <= DENSE_GEMM_TINY), the level's packed GEMM otherwise. The
 * choice depends only on the sizes. (matmul.c) */
#define DENSE_GEMM_TINY 16384
void dense_gemm(bool is_f64, const dense_ops_t *ops, const gemm_args_t *g);

#endif
