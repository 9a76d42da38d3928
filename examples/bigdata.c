/* The tutorial's third fit: 8,000,000 noisy points on y = 0.3x - 0.8, fitted by
 * stochastic gradient descent: placeholders of shape [8] are fed a random batch of
 * 8 points each step. Prints slope, intercept, steps per second and peak memory.
 *
 *   bigdata [--steps N] [--decay] [--seed S] [--points N] [--logdir DIR]
 * --decay uses an exponentially decaying step size driven by global_step.
 * --logdir writes the graph and the loss curve (every 100 steps) to a TensorBoard
 * event file in DIR. On a terminal a progress line shows steps, loss and ETA. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <tfmini/tfmini.h>

#include "progress.h"

#define BATCH 8

/* splitmix64: a small, well-mixed generator for the data and the batches. */
static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double rng_uniform(uint64_t *s) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; }
static double rng_normal(uint64_t *s) {
  double u1 = rng_uniform(s), u2 = rng_uniform(s);
  if (u1 < 1e-300) u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static int fail(const char *what, tfm_status *st) {
  fprintf(stderr, "bigdata: %s: %s: %s\n", what, tfm_code_name(tfm_status_code(st)),
          tfm_status_message(st));
  return EXIT_FAILURE;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  long steps = 10000, points = 8000000;
  uint64_t seed = 42;
  int decay = 0;
  const char *logdir = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) steps = atol(argv[++i]);
    else if (strcmp(argv[i], "--points") == 0 && i + 1 < argc) points = atol(argv[++i]);
    else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--decay") == 0) decay = 1;
    else if (strcmp(argv[i], "--logdir") == 0 && i + 1 < argc) logdir = argv[++i];
    else {
      fprintf(stderr, "usage: bigdata [--steps N] [--points N] [--seed S] [--decay] [--logdir DIR]\n");
      return EXIT_FAILURE;
    }
  }
  if (points < 2 || steps < 0) {
    fprintf(stderr, "bigdata: --points must be >= 2 and --steps >= 0\n");
    return EXIT_FAILURE;
  }

  /* The data: x evenly spaced over [0, 8], y = 0.3x - 0.8 + N(0, 0.25). */
  float *x_all = malloc(sizeof(float) * (size_t)points);
  float *y_all = malloc(sizeof(float) * (size_t)points);
  if (!x_all || !y_all) {
    fprintf(stderr, "bigdata: out of memory for %ld points\n", points);
    return EXIT_FAILURE;
  }
  uint64_t rng = seed;
  for (long i = 0; i < points; i++) {
    x_all[i] = (float)(8.0 * (double)i / (double)(points - 1));
    y_all[i] = (float)(0.3 * x_all[i] - 0.8 + 0.25 * rng_normal(&rng));
  }

  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  const int64_t batch = BATCH;
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, &batch, 1, "x", st);
  tfm_output *y = tfm_placeholder(g, TFM_FLOAT, &batch, 1, "y", st);
  tfm_variable *m = tfm_variable_new(g, tfm_scalar(g, -0.5, TFM_FLOAT, NULL, st), 1, "m", st);
  tfm_variable *b = tfm_variable_new(g, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), 1, "b", st);
  tfm_output *y_model = tfm_add(g, tfm_mul(g, tfm_variable_value(m), x, NULL, st),
                                tfm_variable_value(b), "y_model", st);
  tfm_output *loss = tfm_reduce_sum(g, tfm_square(g, tfm_sub(g, y, y_model, NULL, st), NULL, st),
                                    NULL, 0, 0, "loss", st);
  if (!loss) return fail("building the model", st);

  tfm_optimizer *opt = tfm_optimizer_gradient_descent(0.001, st);
  tfm_variable *global_step = NULL;
  if (decay) {
    global_step = tfm_train_get_or_create_global_step(g, st);
    tfm_output *lr = tfm_train_exponential_decay(g, 0.002, tfm_variable_value(global_step), 1000,
                                                 0.8, 0, "learning_rate", st);
    tfm_optimizer_set_learning_rate_tensor(opt, lr, st);
  }
  tfm_op *train = tfm_optimizer_minimize(opt, g, loss, NULL, 0, global_step, "train", st);
  tfm_op *init = tfm_global_variables_initializer(g, st);
  if (!train || !init) return fail("building the training op", st);

  tfm_session *sess = tfm_session_new(g, st);
  if (tfm_session_run(sess, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st) != TFM_OK)
    return fail("initialising", st);

  /* One compiled step; the feed tensors are refilled in place each step. */
  tfm_output *feeds[2] = {x, y};
  tfm_callable *step = tfm_session_make_callable(sess, feeds, 2, NULL, 0, &train, 1, st);
  tfm_tensor *xb = tfm_tensor_new(TFM_FLOAT, &batch, 1, st);
  tfm_tensor *yb = tfm_tensor_new(TFM_FLOAT, &batch, 1, st);
  if (!step || !xb || !yb) return fail("preparing the step", st);
  float *xd = tfm_tensor_data(xb), *yd = tfm_tensor_data(yb);
  tfm_tensor *feed_values[2] = {xb, yb};
  /* The same step also fetching the loss, for the steps that report it. */
  tfm_callable *step_loss = tfm_session_make_callable(sess, feeds, 2, &loss, 1, &train, 1, st);
  tfm_summary_writer *writer = logdir ? tfm_summary_writer_new(logdir, 0, 0, st) : NULL;
  if (!step_loss || (logdir && (!writer || tfm_summary_writer_add_graph(writer, g, 0, st) != TFM_OK)))
    return fail("preparing the loss curve", st);
  progress_t progress;
  progress_start(&progress, steps);

  double start = now_seconds();
  for (long i = 0; i < steps; i++) {
    for (int k = 0; k < BATCH; k++) {
      long j = (long)(rng_next(&rng) % (uint64_t)points);
      xd[k] = x_all[j];
      yd[k] = y_all[j];
    }
    int log = writer && i % 100 == 0, draw = progress_due(&progress, i + 1);
    if (!log && !draw) {
      if (tfm_callable_run(step, feed_values, NULL, st) != TFM_OK) return fail("training", st);
      continue;
    }
    tfm_tensor *loss_value;
    if (tfm_callable_run(step_loss, feed_values, &loss_value, st) != TFM_OK) return fail("training", st);
    double l = *(float *)tfm_tensor_data(loss_value);
    tfm_tensor_release(loss_value);
    if (log && tfm_summary_writer_add_scalar(writer, "loss", l, i, st) != TFM_OK) return fail("logging", st);
    if (draw) progress_draw(&progress, i + 1, l);
  }
  progress_end(&progress);
  if (writer && tfm_summary_writer_close(writer, st) != TFM_OK) return fail("closing the event file", st);
  double elapsed = now_seconds() - start;

  tfm_output *fetches[2] = {tfm_variable_value(m), tfm_variable_value(b)};
  tfm_tensor *values[2];
  if (tfm_session_run(sess, NULL, NULL, 0, fetches, values, 2, NULL, 0, st) != TFM_OK)
    return fail("fetching", st);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("Slope: %.5f Intercept: %.5f\n", *(float *)tfm_tensor_data(values[0]),
         *(float *)tfm_tensor_data(values[1]));
  printf("Steps: %ld in %.3f s (%.0f steps/s)\n", steps, elapsed,
         elapsed > 0 ? (double)steps / elapsed : 0.0);
  printf("Peak memory: %.1f MB (data: %.1f MB)\n", ru.ru_maxrss / 1024.0,
         2.0 * sizeof(float) * (double)points / 1048576.0);

  tfm_tensor_release(values[0]);
  tfm_tensor_release(values[1]);
  tfm_tensor_release(xb);
  tfm_tensor_release(yb);
  tfm_callable_delete(step);
  tfm_callable_delete(step_loss);
  tfm_summary_writer_delete(writer);
  tfm_session_delete(sess);
  tfm_optimizer_delete(opt);
  tfm_graph_delete(g);
  tfm_status_delete(st);
  free(x_all);
  free(y_all);
  return EXIT_SUCCESS;
}
