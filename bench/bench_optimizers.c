/* Cost of the optimizer update ops (ApplyGradientDescent, ApplyMomentum, ApplyAdam)
 * on a float32 variable of N elements with a constant gradient, each run alone as a
 * pre-compiled callable, against a plain C loop doing the same update, measured in
 * the same run. Prints ns per element and the ratio to the C loop.
 * Usage: bench_optimizers [n] [steps] [threads] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <tfmini/tfmini.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void check(tfm_status *st, const char *what) {
  if (tfm_status_code(st) != TFM_OK) {
    fprintf(stderr, "bench_optimizers: %s: %s\n", what, tfm_status_message(st));
    exit(EXIT_FAILURE);
  }
}

/* The baselines: one update over n elements; volatile-free, compiled with the
 * bench's flags (the compiler may vectorise them too, except through sqrtf). */
static void c_gd(float *w, const float *g, float lr, long n) {
  for (long i = 0; i < n; i++) w[i] -= lr * g[i];
}
static void c_momentum(float *w, float *a, const float *g, float lr, float mu, long n) {
  for (long i = 0; i < n; i++) {
    a[i] = a[i] * mu + g[i];
    w[i] -= lr * a[i];
  }
}
static void c_adam(float *w, float *m, float *v, const float *g, float lr_t, float b1, float b2, float eps, long n) {
  for (long i = 0; i < n; i++) {
    m[i] += (g[i] - m[i]) * (1 - b1);
    v[i] += (g[i] * g[i] - v[i]) * (1 - b2);
    w[i] -= lr_t * m[i] / (sqrtf(v[i]) + eps);
  }
}

/* A float32 variable of n elements set to `value`. */
static tfm_variable *var_of(tfm_graph *g, const char *name, long n, double value, tfm_status *st) {
  int64_t dims[] = {n};
  return tfm_get_variable(g, name, TFM_FLOAT, dims, 1, TFM_INIT_CONSTANT, value, 0, -1, 0, st);
}

/* Runs one Apply op (kind 0 GD, 1 Momentum, 2 Adam) on an n-element variable with
 * a constant gradient; returns seconds per run. */
static double time_tfm(int kind, long n, int steps) {
  static const char *types[] = {"ApplyGradientDescent", "ApplyMomentum", "ApplyAdam"};
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  int64_t dims[] = {n};
  tfm_variable *w = var_of(g, "w", n, 0.5, st);
  tfm_variable *a = var_of(g, "a", n, 0.0, st), *v = var_of(g, "v", n, 0.0, st);
  tfm_output *grad = tfm_ones(g, dims, 1, TFM_FLOAT, "grad", st);
  tfm_output *lr = tfm_scalar(g, kind == 2 ? 0.001 : 0.01, TFM_FLOAT, "lr", st);
  tfm_op_builder *b = tfm_op_builder_new(g, types[kind], NULL, st);
  tfm_op_builder_set_attr_type(b, "T", TFM_FLOAT);
  tfm_op_builder_add_input(b, tfm_variable_ref(w));
  if (kind == 0) {
    tfm_op_builder_add_input(b, lr);
    tfm_op_builder_add_input(b, grad);
  } else if (kind == 1) {
    tfm_op_builder_add_input(b, tfm_variable_ref(a));
    tfm_op_builder_add_input(b, lr);
    tfm_op_builder_add_input(b, grad);
    tfm_op_builder_add_input(b, tfm_scalar(g, 0.9, TFM_FLOAT, "momentum", st));
  } else {
    const double scalars[] = {0.9, 0.999, 0.001, 0.9, 0.999, 1e-8}; /* powers, lr, betas, eps */
    tfm_op_builder_add_input(b, tfm_variable_ref(a));
    tfm_op_builder_add_input(b, tfm_variable_ref(v));
    for (int i = 0; i < 6; i++) tfm_op_builder_add_input(b, tfm_scalar(g, scalars[i], TFM_FLOAT, NULL, st));
    tfm_op_builder_add_input(b, grad);
  }
  tfm_op *update = tfm_op_builder_finish(b, st);
  tfm_op *init = tfm_global_variables_initializer(g, st);
  check(st, "build");
  tfm_session *s = tfm_session_new(g, st);
  tfm_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st);
  tfm_callable *step = tfm_session_make_callable(s, NULL, 0, NULL, 0, &update, 1, st);
  check(st, "init");
  tfm_callable_run(step, NULL, NULL, st);
  double t0 = now();
  for (int k = 0; k < steps; k++) tfm_callable_run(step, NULL, NULL, st);
  double t = now() - t0;
  check(st, "run");
  tfm_callable_delete(step);
  tfm_session_delete(s);
  tfm_graph_delete(g);
  tfm_status_delete(st);
  return t / steps;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1 << 20;
  int steps = argc > 2 ? atoi(argv[2]) : 50;
  float *w = malloc((size_t)n * sizeof *w), *a = calloc((size_t)n, sizeof *a);
  float *v = calloc((size_t)n, sizeof *v), *g = malloc((size_t)n * sizeof *g);
  if (!w || !a || !v || !g) return EXIT_FAILURE;
  for (long i = 0; i < n; i++) w[i] = 0.5f, g[i] = 1.0f;
  tfm_status *st = tfm_status_new();
  if (argc > 3) tfm_set_num_threads(atoi(argv[3]), st);
  printf("optimizer update ops on %ld float32 elements, %d steps\n", n, steps);
  const char *names[] = {"GradientDescent", "Momentum", "Adam"};
  for (int kind = 0; kind < 3; kind++) {
    double t0 = now();
    for (int k = 0; k < steps; k++) {
      if (kind == 0) c_gd(w, g, 0.01f, n);
      else if (kind == 1) c_momentum(w, a, g, 0.01f, 0.9f, n);
      else c_adam(w, a, v, g, 0.001f, 0.9f, 0.999f, 1e-8f, n);
    }
    double c_time = (now() - t0) / steps;
    double tfm_time = time_tfm(kind, n, steps);
    printf("%-16s C loop %7.3f ns/elem   tfmini step %7.3f ns/elem   ratio %.2fx\n", names[kind], c_time * 1e9 / n,
           tfm_time * 1e9 / n, tfm_time / c_time);
  }
  printf("(checksum %g)\n", (double)w[n / 2]);
  tfm_status_delete(st);
  free(w), free(a), free(v), free(g);
  return 0;
}
