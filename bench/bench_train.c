/* Cost of one training step through the C API, against a hand-written C loop doing
 * the same arithmetic, measured in the same run:
 *   tensor : the 8-point model, loss = sum((y - (m*x + b))^2), gradient descent;
 *   serial : the same model written as a loop of scalar ops;
 *   sgd    : the bigdata model, a batch of 8 fed from 8M points each step.
 * Prints ns per step and the ratio to the C loop. Usage: bench_train [steps] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <tfmini/tfmini.h>

static const float XS[8] = {0, 1, 2, 3, 4, 5, 6, 7};
static const float YS[8] = {-0.82f, -0.94f, -0.12f, 0.26f, 0.39f, 0.64f, 1.02f, 1.00f};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void check(tfm_status *st, const char *what) {
  if (tfm_status_code(st) != TFM_OK) {
    fprintf(stderr, "bench_train: %s: %s\n", what, tfm_status_message(st));
    exit(EXIT_FAILURE);
  }
}

static uint64_t rng_state = 12345;
static uint64_t rng_next(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* The hand-written baseline: one gradient-descent step on 8 points. */
static void c_step(const float *x, const float *y, float *m, float *b, float lr) {
  float dm = 0, db = 0;
  for (int i = 0; i < 8; i++) {
    float e = y[i] - (*m * x[i] + *b);
    dm += -2.0f * e * x[i];
    db += -2.0f * e;
  }
  *m -= lr * dm;
  *b -= lr * db;
}

/* Builds the 8-point model; scalar_ops selects the serial form. Returns the train op. */
static tfm_op *build_model(tfm_graph *g, tfm_output *x, tfm_output *y, int scalar_ops,
                           tfm_optimizer **opt, tfm_op **init, tfm_status *st) {
  tfm_variable *m = tfm_variable_new(g, tfm_scalar(g, -0.5, TFM_FLOAT, NULL, st), 1, "m", st);
  tfm_variable *b = tfm_variable_new(g, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), 1, "b", st);
  tfm_output *loss;
  if (scalar_ops) {
    loss = tfm_scalar(g, 0.0, TFM_FLOAT, NULL, st);
    for (int i = 0; i < 8; i++) {
      tfm_output *xi = tfm_scalar(g, XS[i], TFM_FLOAT, NULL, st);
      tfm_output *yi = tfm_scalar(g, YS[i], TFM_FLOAT, NULL, st);
      tfm_output *e = tfm_sub(g, yi, tfm_add(g, tfm_mul(g, tfm_variable_value(m), xi, NULL, st),
                                             tfm_variable_value(b), NULL, st), NULL, st);
      loss = tfm_add(g, loss, tfm_square(g, e, NULL, st), NULL, st);
    }
  } else {
    tfm_output *e = tfm_sub(g, y, tfm_add(g, tfm_mul(g, tfm_variable_value(m), x, NULL, st),
                                          tfm_variable_value(b), NULL, st), NULL, st);
    loss = tfm_reduce_sum(g, tfm_square(g, e, NULL, st), NULL, 0, 0, NULL, st);
  }
  *opt = tfm_optimizer_gradient_descent(0.001, st);
  tfm_op *train = tfm_optimizer_minimize(*opt, g, loss, NULL, 0, NULL, "train", st);
  *init = tfm_global_variables_initializer(g, st);
  check(st, "building the model");
  return train;
}

typedef enum { MODEL_TENSOR, MODEL_SERIAL, MODEL_SGD } model_kind;

static double time_api(model_kind kind, long steps, const float *x_all, const float *y_all,
                       long points) {
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  const int64_t n = 8;
  tfm_output *x = NULL, *y = NULL;
  if (kind == MODEL_SGD) {
    x = tfm_placeholder(g, TFM_FLOAT, &n, 1, "x", st);
    y = tfm_placeholder(g, TFM_FLOAT, &n, 1, "y", st);
  } else {
    x = tfm_constant_f32(g, XS, &n, 1, "x", st);
    y = tfm_constant_f32(g, YS, &n, 1, "y", st);
  }
  tfm_optimizer *opt;
  tfm_op *init;
  tfm_op *train = build_model(g, x, y, kind == MODEL_SERIAL, &opt, &init, st);
  tfm_session *sess = tfm_session_new(g, st);
  tfm_session_run(sess, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st);
  check(st, "initialising");
  tfm_output *feeds[2] = {x, y};
  int n_feeds = kind == MODEL_SGD ? 2 : 0;
  tfm_callable *step = tfm_session_make_callable(sess, feeds, n_feeds, NULL, 0, &train, 1, st);
  tfm_tensor *xb = tfm_tensor_new(TFM_FLOAT, &n, 1, st), *yb = tfm_tensor_new(TFM_FLOAT, &n, 1, st);
  check(st, "making the callable");
  float *xd = tfm_tensor_data(xb), *yd = tfm_tensor_data(yb);
  tfm_tensor *vals[2] = {xb, yb};
  double best = 1e30;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = now();
    for (long i = 0; i < steps; i++) {
      if (kind == MODEL_SGD) {
        for (int k = 0; k < 8; k++) {
          long j = (long)(rng_next() % (uint64_t)points);
          xd[k] = x_all[j];
          yd[k] = y_all[j];
        }
      }
      tfm_callable_run(step, vals, NULL, st);
    }
    double t = (now() - t0) / (double)steps;
    if (t < best) best = t;
  }
  check(st, "training");
  tfm_tensor_release(xb);
  tfm_tensor_release(yb);
  tfm_callable_delete(step);
  tfm_session_delete(sess);
  tfm_optimizer_delete(opt);
  tfm_graph_delete(g);
  tfm_status_delete(st);
  return best;
}

static double time_c(model_kind kind, long steps, const float *x_all, const float *y_all,
                     long points) {
  float m = -0.5f, b = 1.0f, xb[8], yb[8];
  double best = 1e30;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = now();
    for (long i = 0; i < steps; i++) {
      if (kind == MODEL_SGD) {
        for (int k = 0; k < 8; k++) {
          long j = (long)(rng_next() % (uint64_t)points);
          xb[k] = x_all[j];
          yb[k] = y_all[j];
        }
        c_step(xb, yb, &m, &b, 0.001f);
      } else {
        c_step(XS, YS, &m, &b, 0.001f);
      }
      __asm__ volatile("" : : "r"(&m), "r"(&b) : "memory"); /* keep every step */
    }
    double t = (now() - t0) / (double)steps;
    if (t < best) best = t;
  }
  if (!isfinite(m + b)) fprintf(stderr, "bench_train: the C loop diverged\n");
  return best;
}

int main(int argc, char **argv) {
  long steps = argc > 1 ? atol(argv[1]) : 200000;
  const long points = 8000000;
  float *x_all = malloc(sizeof(float) * points), *y_all = malloc(sizeof(float) * points);
  if (!x_all || !y_all) return EXIT_FAILURE;
  for (long i = 0; i < points; i++) {
    x_all[i] = (float)(8.0 * i / (points - 1));
    y_all[i] = 0.3f * x_all[i] - 0.8f + 0.25f * (float)((double)(rng_next() >> 11) * 0x1.0p-53 - 0.5);
  }
  printf("libtfmini %s, %d threads, %ld steps per measurement (best of 3)\n", tfm_version(),
         tfm_get_num_threads(), steps);
  printf("%-8s %14s %14s %8s\n", "model", "api ns/step", "C ns/step", "ratio");
  const char *names[] = {"tensor", "serial", "sgd"};
  for (int k = 0; k < 3; k++) {
    double api = time_api((model_kind)k, steps, x_all, y_all, points);
    double c = time_c((model_kind)k, steps, x_all, y_all, points);
    printf("%-8s %14.1f %14.1f %8.1f\n", names[k], api * 1e9, c * 1e9, api / c);
  }
  printf("sgd steps/s through the API: %.0f\n", 1.0 / time_api(MODEL_SGD, steps, x_all, y_all, points));
  free(x_all);
  free(y_all);
  return EXIT_SUCCESS;
}
