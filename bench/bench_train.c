/* Cost of one training step through the C API, against a hand-written C loop doing
 * the same arithmetic, measured in the same run:
 *   tensor : the 8-point model, loss = sum((y - (m*x + b))^2), gradient descent;
 *   serial : the same model written as a loop of scalar ops;
 *   sgd    : the bigdata model, a batch of 8 fed from 8M points each step.
 * Prints the median and best ns per step of several batches (API and C batches
 * alternate, so both see the same machine load) and the ratio of the medians.
 * Usage: bench_train [steps per batch] [batches] */
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

/* CPU time of this thread: what a step costs when other processes share the cores. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Wall and CPU seconds per step of one batch. */
typedef struct batch_time {
  double wall, cpu;
} batch_time_t;

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

/* One model run through a callable: built once, then timed in batches of steps. */
typedef struct api_model {
  model_kind kind;
  tfm_status *st;
  tfm_graph *g;
  tfm_optimizer *opt;
  tfm_session *sess;
  tfm_callable *step;
  tfm_tensor *xb, *yb;
} api_model_t;

static void api_open(api_model_t *a, model_kind kind) {
  a->kind = kind;
  tfm_status *st = a->st = tfm_status_new();
  tfm_graph *g = a->g = tfm_graph_new(st);
  const int64_t n = 8;
  tfm_output *x = NULL, *y = NULL;
  if (kind == MODEL_SGD) {
    x = tfm_placeholder(g, TFM_FLOAT, &n, 1, "x", st);
    y = tfm_placeholder(g, TFM_FLOAT, &n, 1, "y", st);
  } else {
    x = tfm_constant_f32(g, XS, &n, 1, "x", st);
    y = tfm_constant_f32(g, YS, &n, 1, "y", st);
  }
  tfm_op *init;
  tfm_op *train = build_model(g, x, y, kind == MODEL_SERIAL, &a->opt, &init, st);
  a->sess = tfm_session_new(g, st);
  tfm_session_run(a->sess, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st);
  check(st, "initialising");
  tfm_output *feeds[2] = {x, y};
  int n_feeds = kind == MODEL_SGD ? 2 : 0;
  a->step = tfm_session_make_callable(a->sess, feeds, n_feeds, NULL, 0, &train, 1, st);
  a->xb = tfm_tensor_new(TFM_FLOAT, &n, 1, st);
  a->yb = tfm_tensor_new(TFM_FLOAT, &n, 1, st);
  check(st, "making the callable");
}

/* Seconds per step over `steps` steps. */
static batch_time_t api_time(api_model_t *a, long steps, const float *x_all, const float *y_all,
                       long points) {
  float *xd = tfm_tensor_data(a->xb), *yd = tfm_tensor_data(a->yb);
  tfm_tensor *vals[2] = {a->xb, a->yb};
  double t0 = now(), c0 = cpu_now();
  for (long i = 0; i < steps; i++) {
    if (a->kind == MODEL_SGD) {
      for (int k = 0; k < 8; k++) {
        long j = (long)(rng_next() % (uint64_t)points);
        xd[k] = x_all[j];
        yd[k] = y_all[j];
      }
    }
    tfm_callable_run(a->step, vals, NULL, a->st);
  }
  batch_time_t t = {(now() - t0) / (double)steps, (cpu_now() - c0) / (double)steps};
  check(a->st, "training");
  return t;
}

static void api_close(api_model_t *a) {
  tfm_tensor_release(a->xb);
  tfm_tensor_release(a->yb);
  tfm_callable_delete(a->step);
  tfm_session_delete(a->sess);
  tfm_optimizer_delete(a->opt);
  tfm_graph_delete(a->g);
  tfm_status_delete(a->st);
}

/* The same steps written by hand (state kept across batches, as the API's). */
typedef struct c_model {
  model_kind kind;
  float m, b;
} c_model_t;

static batch_time_t c_time(c_model_t *cm, long steps, const float *x_all, const float *y_all,
                           long points) {
  float xb[8], yb[8];
  double t0 = now(), c0 = cpu_now();
  for (long i = 0; i < steps; i++) {
    if (cm->kind == MODEL_SGD) {
      for (int k = 0; k < 8; k++) {
        long j = (long)(rng_next() % (uint64_t)points);
        xb[k] = x_all[j];
        yb[k] = y_all[j];
      }
      c_step(xb, yb, &cm->m, &cm->b, 0.001f);
    } else {
      c_step(XS, YS, &cm->m, &cm->b, 0.001f);
    }
    __asm__ volatile("" : : "r"(&cm->m), "r"(&cm->b) : "memory"); /* keep every step */
  }
  return (batch_time_t){(now() - t0) / (double)steps, (cpu_now() - c0) / (double)steps};
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double minimum(const double *v, int n) {
  double m = v[0];
  for (int i = 1; i < n; i++) m = v[i] < m ? v[i] : m;
  return m;
}

#define MAX_REPS 64

#define MAX_REPS 64

int main(int argc, char **argv) {
  long steps = argc > 1 ? atol(argv[1]) : 100000;
  int reps = argc > 2 ? atoi(argv[2]) : 7;
  if (steps < 1 || reps < 1 || reps > MAX_REPS) {
    fprintf(stderr, "usage: bench_train [steps per batch] [batches, 1..%d]\n", MAX_REPS);
    return EXIT_FAILURE;
  }
  const long points = 8000000;
  float *x_all = malloc(sizeof(float) * points), *y_all = malloc(sizeof(float) * points);
  if (!x_all || !y_all) return EXIT_FAILURE;
  for (long i = 0; i < points; i++) {
    x_all[i] = (float)(8.0 * i / (points - 1));
    y_all[i] = 0.3f * x_all[i] - 0.8f + 0.25f * (float)((double)(rng_next() >> 11) * 0x1.0p-53 - 0.5);
  }
  printf("libtfmini %s, %d threads; %d batches of %ld steps, API and C batches alternating\n",
         tfm_version(), tfm_get_num_threads(), reps, steps);
  printf("ns per step: median of the batches (best); wall clock, and this thread's CPU time\n");
  printf("%-12s %17s %17s %6s   %17s %17s %6s\n", "model", "API wall", "C wall", "ratio",
         "API cpu", "C cpu", "ratio");
  const char *names[] = {"tensor", "serial", "bigdata-sgd"};
  double sgd[4] = {0};
  for (int k = 0; k < 3; k++) {
    api_model_t a;
    api_open(&a, (model_kind)k);
    c_model_t cm = {(model_kind)k, -0.5f, 1.0f};
    api_time(&a, steps / 10 + 1, x_all, y_all, points); /* warm up */
    double aw[MAX_REPS], cw[MAX_REPS], ac[MAX_REPS], cc[MAX_REPS];
    for (int r = 0; r < reps; r++) {
      batch_time_t ta = api_time(&a, steps, x_all, y_all, points);
      batch_time_t tc = c_time(&cm, steps, x_all, y_all, points);
      aw[r] = ta.wall * 1e9, ac[r] = ta.cpu * 1e9, cw[r] = tc.wall * 1e9, cc[r] = tc.cpu * 1e9;
    }
    api_close(&a);
    if (!isfinite(cm.m + cm.b)) fprintf(stderr, "bench_train: the C loop diverged\n");
    double b[4] = {minimum(aw, reps), minimum(cw, reps), minimum(ac, reps), minimum(cc, reps)};
    double m[4] = {median(aw, reps), median(cw, reps), median(ac, reps), median(cc, reps)};
    printf("%-12s %8.1f (%6.1f) %8.1f (%6.1f) %6.1f   %8.1f (%6.1f) %8.1f (%6.1f) %6.1f\n",
           names[k], m[0], b[0], m[1], b[1], m[0] / m[1], m[2], b[2], m[3], b[3], m[2] / m[3]);
    if (k == MODEL_SGD)
      for (int i = 0; i < 4; i++) sgd[i] = m[i];
  }
  printf("bigdata-sgd steps/s (medians): API %.2f M wall, %.2f M cpu; C %.2f M wall, %.2f M cpu\n",
         1e3 / sgd[0], 1e3 / sgd[2], 1e3 / sgd[1], 1e3 / sgd[3]);
  free(x_all);
  free(y_all);
  return EXIT_SUCCESS;
}
