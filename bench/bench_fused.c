/* bigdata-full: loss = mean((y - (m*x + b))^2) and its gradients w.r.t. m and b
 * over all N points (x, y fed as wrapped float32 buffers), one gradient-descent
 * update per step, through a compiled callable. Measured in the same run:
 *   c-fused   a hand-written single pass over x and y (vectorised, same threads);
 *   read-bw   a loop that only reads the same bytes (the memory's limit);
 *   tfmini    the library with fusion, and with TFM_FUSE=0 style unfused plans.
 * Usage: bench_fused [steps] [N]      prints median ms per step over `steps`.
 *        bench_fused --rss [steps]    runs only the fused library path and prints
 *                                     its peak resident memory against the data. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tfmini/tfmini.h>

#include "core/cpu.h"
#include "core/threadpool.h"
#include "runtime/fuse.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void check(tfm_status *st, const char *what) {
  if (tfm_status_code(st) != TFM_OK) {
    fprintf(stderr, "bench_fused: %s: %s\n", what, tfm_status_message(st));
    exit(EXIT_FAILURE);
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- the hand-written baselines (AVX2 vectors: the bench, not the library) ---- */

typedef float v8 __attribute__((vector_size(32)));
#define TARGET __attribute__((target("avx2,fma")))

typedef struct cjob {
  const float *x, *y;
  int64_t n;
  int parts;
  float m, b;
  double loss[64], gm[64], gb[64];
} cjob_t;

static TARGET v8 load8(const float *p) {
  v8 v;
  memcpy(&v, p, sizeof v);
  return v;
}

static TARGET void c_fused_part(void *arg, int64_t t) {
  cjob_t *j = arg;
  int64_t i0 = j->n * t / j->parts, i1 = j->n * (t + 1) / j->parts;
  v8 vm = j->m - (v8){0}, vb = j->b - (v8){0};
  v8 l0 = {0}, l1 = {0}, m0 = {0}, m1 = {0}, b0 = {0}, b1 = {0};
  int64_t i = i0;
  for (; i + 16 <= i1; i += 16) {
    v8 x0 = load8(j->x + i), x1 = load8(j->x + i + 8);
    v8 e0 = load8(j->y + i) - (vm * x0 + vb), e1 = load8(j->y + i + 8) - (vm * x1 + vb);
    l0 += e0 * e0;
    l1 += e1 * e1;
    m0 += e0 * x0;
    m1 += e1 * x1;
    b0 += e0;
    b1 += e1;
  }
  double l = 0, gm = 0, gb = 0;
  for (int k = 0; k < 8; k++) {
    l += (double)l0[k] + l1[k];
    gm += (double)m0[k] + m1[k];
    gb += (double)b0[k] + b1[k];
  }
  for (; i < i1; i++) {
    float e = j->y[i] - (j->m * j->x[i] + j->b);
    l += e * e;
    gm += e * j->x[i];
    gb += e;
  }
  j->loss[t] = l;
  j->gm[t] = gm;
  j->gb[t] = gb;
}

static TARGET void c_read_part(void *arg, int64_t t) {
  cjob_t *j = arg;
  int64_t i0 = j->n * t / j->parts, i1 = j->n * (t + 1) / j->parts;
  v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
  for (int64_t i = i0; i + 16 <= i1; i += 16) {
    a0 += load8(j->x + i);
    a1 += load8(j->x + i + 8);
    a2 += load8(j->y + i);
    a3 += load8(j->y + i + 8);
  }
  v8 s = (a0 + a1) + (a2 + a3);
  j->loss[t] = s[0] + s[7];
}

/* One step of the C baseline: loss, gradients, the update. */
static float c_step(cjob_t *j, float lr) {
  pool_parallel_for(j->parts, c_fused_part, j);
  double l = 0, gm = 0, gb = 0;
  for (int t = 0; t < j->parts; t++) {
    l += j->loss[t];
    gm += j->gm[t];
    gb += j->gb[t];
  }
  double n = (double)j->n;
  j->m -= lr * (float)(-2.0 * gm / n);
  j->b -= lr * (float)(-2.0 * gb / n);
  return (float)(l / n);
}

/* ---- the library ---- */

typedef struct model {
  tfm_graph *g;
  tfm_session *s;
  tfm_callable *step;
  tfm_tensor *feed[2];
  tfm_op *init;
} model_t;

static void model_build(model_t *md, const float *x, const float *y, int64_t n, float lr) {
  tfm_status *st = tfm_status_new();
  md->g = tfm_graph_new(st);
  tfm_graph *g = md->g;
  int64_t d[1] = {n};
  tfm_output *px = tfm_placeholder(g, TFM_FLOAT, d, 1, "x", st);
  tfm_output *py = tfm_placeholder(g, TFM_FLOAT, d, 1, "y", st);
  tfm_variable *m = tfm_variable_new(g, tfm_scalar(g, 0.1, TFM_FLOAT, NULL, st), 1, "m", st);
  tfm_variable *b = tfm_variable_new(g, tfm_scalar(g, 0.0, TFM_FLOAT, NULL, st), 1, "b", st);
  tfm_output *pred = tfm_add(g, tfm_mul(g, tfm_variable_value(m), px, NULL, st),
                             tfm_variable_value(b), NULL, st);
  tfm_output *loss =
      tfm_reduce_mean(g, tfm_square(g, tfm_sub(g, py, pred, NULL, st), NULL, st), NULL, 0, 0, "loss", st);
  tfm_optimizer *opt = tfm_optimizer_gradient_descent(lr, st);
  tfm_op *train = tfm_optimizer_minimize(opt, g, loss, NULL, 0, NULL, "train", st);
  tfm_optimizer_delete(opt);
  md->init = tfm_global_variables_initializer(g, st);
  check(st, "building the model");
  md->s = tfm_session_new(g, st);
  tfm_session_run(md->s, NULL, NULL, 0, NULL, NULL, 0, &md->init, 1, st);
  tfm_output *feeds[2] = {px, py};
  md->step = tfm_session_make_callable(md->s, feeds, 2, &loss, 1, &train, 1, st);
  md->feed[0] = tfm_tensor_wrap(TFM_FLOAT, d, 1, (void *)x, sizeof(float) * (size_t)n, NULL, NULL, st);
  md->feed[1] = tfm_tensor_wrap(TFM_FLOAT, d, 1, (void *)y, sizeof(float) * (size_t)n, NULL, NULL, st);
  check(st, "making the step");
  tfm_status_delete(st);
}

static float model_step(model_t *md, tfm_status *st) {
  tfm_tensor *out = NULL;
  tfm_callable_run(md->step, md->feed, &out, st);
  check(st, "running a step");
  float l = *(float *)tfm_tensor_data(out);
  tfm_tensor_release(out);
  return l;
}

static void model_free(model_t *md) {
  tfm_tensor_release(md->feed[0]);
  tfm_tensor_release(md->feed[1]);
  tfm_callable_delete(md->step);
  tfm_session_delete(md->s);
  tfm_graph_delete(md->g);
}

static long peak_rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) kb = strtol(line + 6, NULL, 10);
  if (f) fclose(f);
  return kb;
}

static void make_data(float *x, float *y, int64_t n) {
  uint64_t s = 88172645463325252ull;
  for (int64_t i = 0; i < n; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    x[i] = (float)((double)(s >> 40) / (double)(1 << 24)) * 2.0f - 1.0f;
    y[i] = 0.5f * x[i] + 0.25f + 0.01f * (float)((s & 0xff) / 255.0 - 0.5);
  }
}

int main(int argc, char **argv) {
  bool rss = argc > 1 && strcmp(argv[1], "--rss") == 0;
  int steps = argc > 1 + rss ? atoi(argv[1 + rss]) : 100;
  int64_t n = argc > 2 + rss ? atoll(argv[2 + rss]) : 8 << 20;
  if (steps < 3) steps = 3;
  float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
  if (!x || !y) return 1;
  make_data(x, y, n);
  double mb = 2.0 * (double)n * sizeof(float) / 1e6;
  tfm_status *st = tfm_status_new();
  const float lr = 0.1f;
  if (rss) {
    long before = peak_rss_kb();
    model_t md;
    model_build(&md, x, y, n, lr);
    for (int i = 0; i < steps; i++) model_step(&md, st);
    long peak = peak_rss_kb();
    printf("bigdata-full peak RSS %.1f MB (data %.1f MB, process before the model %.1f MB): "
           "%.3f x data\n",
           peak / 1e3 * 1.024, mb, before / 1e3 * 1.024, peak * 1024.0 / 1e6 / mb);
    model_free(&md);
    tfm_status_delete(st);
    return 0;
  }
  double *t = malloc(sizeof(double) * (size_t)steps);
  double *c_t = malloc(sizeof(double) * (size_t)steps), *bw_t = malloc(sizeof(double) * (size_t)steps);
  printf("bigdata-full: %lld points, %d steps, SIMD %s, medians\n", (long long)n, steps,
         cpu_level_name(cpu_level()));
  double *r = malloc(sizeof(double) * (size_t)steps);
  for (int threads = 1; threads <= 2; threads++) {
    tfm_set_num_threads(threads, st);
    cjob_t job = {.x = x, .y = y, .n = n, .parts = threads, .m = 0.1f, .b = 0};
    /* The machine may be shared: each library step runs right after a C step and
     * the ratio of the pair is kept, so both see the same load. */
    model_t md[2];
    fuse_set_enabled(true);
    model_build(&md[1], x, y, n, lr);
    fuse_set_enabled(false);
    model_build(&md[0], x, y, n, lr);
    fuse_set_enabled(true);
    double c_ms, bw_ms, lib_ms[2], ratio[2], bw_ratio;
    float lib_loss[2] = {0, 0};
    for (int fused = 1; fused >= 0; fused--) {
      int reps = fused ? steps : (steps < 10 ? steps : 10);
      for (int i = 0; i < reps; i++) {
        double t0 = now();
        c_step(&job, lr);
        double t1 = now();
        float l = model_step(&md[fused], st);
        if (i == 0) lib_loss[fused] = l; /* from the same start: fused and unfused agree */
        double t2 = now();
        t[i] = t2 - t1;
        r[i] = (t2 - t1) / (t1 - t0);
        if (fused) {
          double t3 = now();
          pool_parallel_for(job.parts, c_read_part, &job);
          bw_t[i] = now() - t3;
          c_t[i] = t1 - t0;
        }
      }
      lib_ms[fused] = median(t, reps) * 1e3;
      ratio[fused] = median(r, reps);
    }
    c_ms = median(c_t, steps) * 1e3;
    bw_ms = median(bw_t, steps) * 1e3;
    bw_ratio = lib_ms[1] / bw_ms;
    model_free(&md[0]);
    model_free(&md[1]);
    printf("threads %d  c-fused %7.2f ms (%5.1f GB/s)  read-bw %7.2f ms (%5.1f GB/s)\n", threads,
           c_ms, mb / c_ms, bw_ms, mb / bw_ms);
    printf("threads %d  tfmini fused %7.2f ms (%5.1f GB/s)  %.2fx c-fused (median of paired "
           "ratios), %.2fx read-bw\n",
           threads, lib_ms[1], mb / lib_ms[1], ratio[1], bw_ratio);
    printf("threads %d  tfmini unfused %7.2f ms  %.2fx c-fused;  first-step loss: fused "
           "%.7f unfused %.7f\n",
           threads, lib_ms[0], ratio[0], lib_loss[1], lib_loss[0]);
  }
  free(r);
  free(c_t);
  free(bw_t);
  free(t);
  free(x);
  free(y);
  tfm_status_delete(st);
  return 0;
}
