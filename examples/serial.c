/* The tutorial's first fit: y = m*x + b over 8 points, with the error written as a
 * loop of scalar ops (one graph node per point and per operation), minimised by
 * gradient descent. Prints "Slope: ... Intercept: ...". */
#include <stdio.h>
#include <stdlib.h>

#include <tfmini/tfmini.h>

static const float xs[8] = {0, 1, 2, 3, 4, 5, 6, 7};
static const float ys[8] = {-0.82f, -0.94f, -0.12f, 0.26f, 0.39f, 0.64f, 1.02f, 1.00f};

static int fail(const char *what, tfm_status *st) {
  fprintf(stderr, "serial: %s: %s: %s\n", what, tfm_code_name(tfm_status_code(st)),
          tfm_status_message(st));
  return EXIT_FAILURE;
}

int main(int argc, char **argv) {
  long steps = argc > 1 ? atol(argv[1]) : 10000;
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);

  tfm_variable *m = tfm_variable_new(g, tfm_scalar(g, -0.5, TFM_FLOAT, NULL, st), 1, "m", st);
  tfm_variable *b = tfm_variable_new(g, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), 1, "b", st);
  if (tfm_status_code(st) != TFM_OK) return fail("variables", st);

  /* total = sum over points of (y - (m*x + b))^2, one scalar op at a time */
  tfm_output *total = tfm_scalar(g, 0.0, TFM_FLOAT, "total", st);
  for (int i = 0; i < 8; i++) {
    tfm_output *x = tfm_scalar(g, xs[i], TFM_FLOAT, "x", st);
    tfm_output *y = tfm_scalar(g, ys[i], TFM_FLOAT, "y", st);
    tfm_output *y_model = tfm_add(g, tfm_mul(g, tfm_variable_value(m), x, NULL, st),
                                  tfm_variable_value(b), NULL, st);
    tfm_output *err = tfm_sub(g, y, y_model, NULL, st);
    total = tfm_add(g, total, tfm_square(g, err, NULL, st), NULL, st);
  }
  if (!total) return fail("building the error", st);

  tfm_optimizer *opt = tfm_optimizer_gradient_descent(0.001, st);
  tfm_op *train = tfm_optimizer_minimize(opt, g, total, NULL, 0, NULL, "train", st);
  tfm_op *init = tfm_global_variables_initializer(g, st);
  if (!train || !init) return fail("building the training op", st);

  tfm_session *sess = tfm_session_new(g, st);
  if (tfm_session_run(sess, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st) != TFM_OK)
    return fail("initialising", st);
  for (long i = 0; i < steps; i++)
    if (tfm_session_run(sess, NULL, NULL, 0, NULL, NULL, 0, &train, 1, st) != TFM_OK)
      return fail("training", st);

  tfm_output *fetches[2] = {tfm_variable_value(m), tfm_variable_value(b)};
  tfm_tensor *values[2];
  if (tfm_session_run(sess, NULL, NULL, 0, fetches, values, 2, NULL, 0, st) != TFM_OK)
    return fail("fetching", st);
  printf("Slope: %.5f Intercept: %.5f\n", *(float *)tfm_tensor_data(values[0]),
         *(float *)tfm_tensor_data(values[1]));

  tfm_tensor_release(values[0]);
  tfm_tensor_release(values[1]);
  tfm_session_delete(sess);
  tfm_optimizer_delete(opt);
  tfm_graph_delete(g);
  tfm_status_delete(st);
  return EXIT_SUCCESS;
}
