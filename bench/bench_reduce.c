/* Benchmark of the dense kernels: float32 sum of 8M and 64M elements with 1 and 2
 * threads beside a plain C read-bandwidth loop over the same buffer and the same
 * pool (64-bit integer sums, which the compiler vectorises freely, so the loop is
 * bound by memory, not by float-add latency), and matmul GFLOP/s at 256 and 512
 * beside a plain i-k-j loop. Prints figures and ratios; best of several runs. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/cpu.h"
#include "core/mem.h"
#include "core/shape.h"
#include "core/tensor.h"
#include "core/threadpool.h"
#include "kernels/kernels.h"

typedef uint64_t u64_alias __attribute__((may_alias));

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define BASE_BLOCK ((int64_t)1 << 15) /* 64-bit words per task (256 KiB) */

typedef struct base_ctx {
  const u64_alias *w;
  int64_t nwords;
  uint64_t partial[8192];
} base_ctx_t;

static void base_task(void *arg, int64_t t) {
  base_ctx_t *c = arg;
  int64_t i0 = t * BASE_BLOCK, i1 = i0 + BASE_BLOCK < c->nwords ? i0 + BASE_BLOCK : c->nwords;
  uint64_t a[8] = {0};
  for (int64_t i = i0; i + 8 <= i1; i += 8)
    for (int j = 0; j < 8; j++) a[j] += c->w[i + j];
  c->partial[t] = a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

static uint64_t base_sum(base_ctx_t *c) {
  int64_t ntasks = (c->nwords + BASE_BLOCK - 1) / BASE_BLOCK;
  pool_parallel_for(ntasks, base_task, c);
  uint64_t s = 0;
  for (int64_t t = 0; t < ntasks; t++) s += c->partial[t];
  return s;
}

static void bench_sum(tensor_t *big, int64_t n, int threads, int reps) {
  static base_ctx_t bc;
  pool_set_num_threads(threads, NULL);
  shape_t sc = shape_scalar();
  /* a header over the first n elements (never released: it borrows big's buffer) */
  tensor_t hdr = *big;
  hdr.shape = shape_vector(n);
  hdr.num_elements = n;
  hdr.nbytes = (size_t)n * sizeof(float);
  const tensor_t *view = &hdr;
  tensor_t *out = tensor_new(TFM_FLOAT, &sc, NULL);
  bool axes[1] = {true};
  bc.w = (const u64_alias *)big->data;
  bc.nwords = n / 2;
  double best_k = 1e30, best_b = 1e30;
  volatile uint64_t sink = 0;
  /* alternate which one runs first, so neither always finds the other's tail in cache */
  for (int r = 0; r < reps; r++) {
    for (int which = 0; which < 2; which++) {
      bool kernel = (which ^ (r & 1)) != 0;
      double t0 = now();
      if (kernel) kern_reduce(REDUCE_SUM, view, axes, out, NULL);
      else sink += base_sum(&bc);
      double t = now() - t0;
      if (kernel && t < best_k) best_k = t;
      if (!kernel && t < best_b) best_b = t;
    }
  }
  double gb = (double)n * sizeof(float) / 1e9;
  printf("sum f32 %3lldM  threads %d  %-8s kernel %6.2f GB/s  baseline %6.2f GB/s  ratio %.3f\n",
         (long long)(n >> 20), threads, cpu_level_name(cpu_level()), gb / best_k, gb / best_b,
         best_b / best_k);
  tensor_unref(out);
}

static void naive_ikj(const float *a, const float *b, float *c, int n) {
  memset(c, 0, sizeof(float) * (size_t)n * (size_t)n);
  for (int i = 0; i < n; i++)
    for (int k = 0; k < n; k++) {
      float av = a[i * n + k];
      for (int j = 0; j < n; j++) c[i * n + j] += av * b[k * n + j];
    }
}

static void bench_matmul(int n, tfm_dtype dt, int threads) {
  pool_set_num_threads(threads, NULL);
  int64_t d[2] = {n, n};
  shape_t s;
  shape_make(d, 2, false, &s, "bench", NULL);
  tensor_t *a = tensor_new_zeros(dt, &s, NULL), *b = tensor_new_zeros(dt, &s, NULL);
  tensor_t *c = tensor_new_zeros(dt, &s, NULL);
  for (int64_t i = 0; i < a->num_elements; i++) {
    if (dt == TFM_FLOAT) {
      TENSOR_F32(a)[i] = (float)(i % 7) - 3;
      TENSOR_F32(b)[i] = (float)(i % 5) - 2;
    } else {
      TENSOR_F64(a)[i] = (double)(i % 7) - 3;
      TENSOR_F64(b)[i] = (double)(i % 5) - 2;
    }
  }
  double best = 1e30, best_naive = 1e30;
  for (int r = 0; r < 5; r++) {
    double t0 = now();
    kern_matmul(a, b, false, false, c, NULL);
    double t1 = now();
    if (t1 - t0 < best) best = t1 - t0;
  }
  if (dt == TFM_FLOAT)
    for (int r = 0; r < 2; r++) {
      double t0 = now();
      naive_ikj(a->data, b->data, c->data, n);
      double t1 = now();
      if (t1 - t0 < best_naive) best_naive = t1 - t0;
    }
  double flops = 2.0 * n * n * n;
  if (dt == TFM_FLOAT)
    printf("matmul %s %4d  threads %d  %-8s %7.1f GFLOP/s  (plain i-k-j loop, 1 thread: %6.1f GFLOP/s, ratio %.1f)\n",
           dtype_name(dt), n, threads, cpu_level_name(cpu_level()), flops / best / 1e9,
           flops / best_naive / 1e9, best_naive / best);
  else
    printf("matmul %s %4d  threads %d  %-8s %7.1f GFLOP/s\n", dtype_name(dt), n, threads,
           cpu_level_name(cpu_level()), flops / best / 1e9);
  tensor_unref(a);
  tensor_unref(b);
  tensor_unref(c);
}

/* The per-call cost on a tiny input (the 8-point model's reductions). */
static void bench_tiny(void) {
  int64_t d[2] = {8, 1};
  shape_t s, sc = shape_scalar();
  shape_make(d, 2, false, &s, "bench", NULL);
  tensor_t *x = tensor_new_zeros(TFM_FLOAT, &s, NULL), *out = tensor_new(TFM_FLOAT, &sc, NULL);
  bool axes[2] = {true, true};
  double best = 1e30;
  for (int r = 0; r < 20; r++) {
    double t0 = now();
    for (int i = 0; i < 10000; i++) kern_reduce(REDUCE_MEAN, x, axes, out, NULL);
    double t = (now() - t0) / 10000;
    if (t < best) best = t;
  }
  printf("mean of [8,1] float32: %.1f ns per call\n", best * 1e9);
  tensor_unref(x);
  tensor_unref(out);
}

int main(void) {
  int64_t nmax = (int64_t)64 << 20;
  shape_t s = shape_vector(nmax);
  tensor_t *big = tensor_new(TFM_FLOAT, &s, NULL);
  if (!big) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  for (int64_t i = 0; i < nmax; i++) TENSOR_F32(big)[i] = (float)(i & 1023) * (1.0f / 1024);
  printf("cpu level %s\n", cpu_level_name(cpu_level()));
  bench_tiny();
  for (int threads = 1; threads <= 2; threads++) {
    bench_sum(big, (int64_t)8 << 20, threads, 40);
    bench_sum(big, (int64_t)64 << 20, threads, 15);
  }
  for (int threads = 1; threads <= 2; threads++) {
    bench_matmul(256, TFM_FLOAT, threads);
    bench_matmul(512, TFM_FLOAT, threads);
    bench_matmul(512, TFM_DOUBLE, threads);
  }
  tensor_unref(big);
  return 0;
}
