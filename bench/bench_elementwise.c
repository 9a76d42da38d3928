/* Element-wise kernel throughput: y = a*x + b on float32 (a scalar, x and b
 * vectors) three ways, beside a plain C loop doing the same in the same run:
 *   two kernels   kern_binary(Mul) then kern_binary(Add), as a graph would run it
 *   fused         kern_axpy, one pass
 * GB/s counts the 12 bytes per element the computation needs (read x, read b,
 * write y) for every variant, so the figures compare times directly. Also the
 * cost of one small call (the size a training step of a tiny model makes).
 * Usage: bench_elementwise [repeats]   (TFM_SIMD=baseline|avx2 caps the level) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/cpu.h"
#include "core/tensor.h"
#include "core/threadpool.h"
#include "kernels/kernels.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The baseline: what a user would write, compiled like the rest of bench/. */
static void __attribute__((noinline)) plain_axpb(float a, const float *x, const float *b, float *y,
                                                 int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = a * x[i] + b[i];
}

static tensor_t *vector(int64_t n) {
  shape_t s = shape_vector(n);
  tensor_t *t = tensor_new(TFM_FLOAT, &s, NULL);
  if (!t) {
    fprintf(stderr, "out of memory for %lld floats\n", (long long)n);
    exit(1);
  }
  return t;
}

static void check(tfm_code code, const char *what) {
  if (code != TFM_OK) {
    fprintf(stderr, "%s failed\n", what);
    exit(1);
  }
}

typedef struct sizes_run {
  tensor_t *x, *b, *y, *tmp, *a;
  int64_t n;
} run_t;

/* One y = a*x + b: 0 plain loop, 1 Mul then Add, 2 axpy. */
static void run_variant(run_t *r, int v) {
  switch (v) {
    case 0: plain_axpb(2.5f, r->x->data, r->b->data, r->y->data, r->n); break;
    case 1:
      check(kern_binary(EW_MUL, r->a, r->x, r->tmp, NULL), "Mul");
      check(kern_binary(EW_ADD, r->tmp, r->b, r->y, NULL), "Add");
      break;
    default: check(kern_axpy(2.5, r->x, r->b, r->y, NULL), "axpy"); break;
  }
}

/* Best of `repeats` seconds for variant v. */
static double time_variant(run_t *r, int v, int repeats) {
  double best = 1e30;
  for (int k = 0; k < repeats; k++) {
    const double t0 = now();
    run_variant(r, v);
    const double dt = now() - t0;
    if (dt < best) best = dt;
  }
  return best;
}

static void bench_size(int64_t n, int repeats) {
  run_t r = {vector(n), vector(n), vector(n), vector(n), tensor_scalar_f32(2.5f, NULL), n};
  float *x = r.x->data, *b = r.b->data;
  for (int64_t i = 0; i < n; i++) {
    x[i] = (float)(i % 1000) * 0.001f;
    b[i] = 1.0f - (float)(i % 7);
  }
  time_variant(&r, 0, 1); /* touch every page once */
  time_variant(&r, 1, 1);
  const double gb = 12.0 * (double)n / 1e9;
  const double plain = time_variant(&r, 0, repeats);
  printf("  n=%-9lld plain C loop (1 thread) %7.2f GB/s\n", (long long)n, gb / plain);
  const int threads[] = {1, 0};
  for (int ti = 0; ti < 2; ti++) {
    pool_set_num_threads(threads[ti], NULL);
    const double two = time_variant(&r, 1, repeats), fused = time_variant(&r, 2, repeats);
    printf("  n=%-9lld %d thread(s): Mul+Add %7.2f GB/s (x%.2f of plain)   axpy %7.2f GB/s (x%.2f)\n",
           (long long)n, pool_num_threads(), gb / two, plain / two, gb / fused, plain / fused);
  }
  tensor_unref(r.x);
  tensor_unref(r.b);
  tensor_unref(r.y);
  tensor_unref(r.tmp);
  tensor_unref(r.a);
}

/* Nanoseconds per kern_binary call on a [8,1] + [1] add, and per [8,1] * [8,1]. */
static void bench_small_calls(void) {
  int64_t dims[] = {8, 1};
  shape_t s;
  shape_make(dims, 2, false, &s, "x", NULL);
  tensor_t *x = tensor_new_zeros(TFM_FLOAT, &s, NULL), *y = tensor_new_zeros(TFM_FLOAT, &s, NULL);
  tensor_t *c = tensor_scalar_f32(1.5f, NULL);
  const int calls = 2000000;
  double t0 = now();
  for (int i = 0; i < calls; i++) kern_binary(EW_ADD, x, c, y, NULL);
  const double scalar_ns = (now() - t0) / calls * 1e9;
  t0 = now();
  for (int i = 0; i < calls; i++) kern_binary(EW_MUL, x, y, y, NULL);
  const double same_ns = (now() - t0) / calls * 1e9;
  t0 = now();
  for (int i = 0; i < calls; i++) kern_unary(EW_SIGMOID, x, y, NULL);
  const double sig_ns = (now() - t0) / calls * 1e9;
  printf("  small calls: Add [8,1]+[] %.1f ns, Mul [8,1]*[8,1] %.1f ns, Sigmoid [8,1] %.1f ns\n",
         scalar_ns, same_ns, sig_ns);
  tensor_unref(x);
  tensor_unref(y);
  tensor_unref(c);
}

/* In-cache throughput (where the SIMD level matters): 2K floats (24 KB, in L1), many passes. */
static void bench_in_cache(void) {
  const int64_t n = 2048;
  run_t r = {vector(n), vector(n), vector(n), vector(n), tensor_scalar_f32(2.5f, NULL), n};
  for (int64_t i = 0; i < n; i++) {
    ((float *)r.x->data)[i] = (float)i;
    ((float *)r.b->data)[i] = 1;
  }
  const int passes = 100000;
  double t[3] = {1e30, 1e30, 1e30};
  for (int round = 0; round < 3; round++) /* best of 3 rounds, variants interleaved */
    for (int v = 0; v < 3; v++) {
      const double t0 = now();
      for (int k = 0; k < passes; k++) run_variant(&r, v);
      const double dt = (now() - t0) / passes;
      if (dt < t[v]) t[v] = dt;
    }
  const double gb = 12.0 * (double)n / 1e9;
  printf("  in cache n=%lld: plain %.1f GB/s, Mul+Add %.1f GB/s (x%.2f), axpy %.1f GB/s (x%.2f)\n",
         (long long)n, gb / t[0], gb / t[1], t[0] / t[1], gb / t[2], t[0] / t[2]);
  tensor_unref(r.x);
  tensor_unref(r.b);
  tensor_unref(r.y);
  tensor_unref(r.tmp);
  tensor_unref(r.a);
}

int main(int argc, char **argv) {
  const int repeats = argc > 1 ? atoi(argv[1]) : 5;
  printf("bench_elementwise: y = a*x + b, float32, SIMD level %s, best of %d\n",
         cpu_level_name(cpu_level()), repeats);
  bench_small_calls();
  bench_in_cache();
  bench_size((int64_t)8 << 20, repeats);
  bench_size((int64_t)64 << 20, repeats);
  return 0;
}
