/* The tutorial's second fit: the same line, with the error as tensor ops:
 * loss = reduce_sum(square(y - (m*x + b))) over the 8 points at once. */
#include <stdio.h>
#include <stdlib.h>

#include <tfmini/tfmini.h>

static const float xs[8] = {0, 1, 2, 3, 4, 5, 6, 7};
static const float ys[8] = {-0.82f, -0.94f, -0.12f, 0.26f, 0.39f, 0.64f, 1.02f, 1.00f};

static int fail(const char *what, tfm_status *st) {
  fprintf(stderr, "tensor: %s: %s: %s\n", what, tfm_code_name(tfm_status_code(st)),
          tfm_status_message(st));
  return EXIT_FAILURE;
}

int main(int argc, char **argv) {
  long steps = argc > 1 ? atol(argv[1]) : 10000;
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  const int64_t n = 8;

  tfm_output *x = tfm_constant_f32(g, xs, &n, 1, "x", st);
  tfm_output *y = tfm_constant_f32(g, ys, &n, 1, "y", st);
  tfm_variable *m = tfm_variable_new(g, tfm_scalar(g, -0.5, TFM_FLOAT, NULL, st), 1, "m", st);
  tfm_variable *b = tfm_variable_new(g, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), 1, "b", st);

  tfm_graph_push_name_scope(g, "loss", st);
  tfm_output *y_model = tfm_add(g, tfm_mul(g, tfm_variable_value(m), x, NULL, st),
                                tfm_variable_value(b), "y_model", st);
  tfm_output *error = tfm_sub(g, y, y_model, "error", st);
  tfm_output *loss = tfm_reduce_sum(g, tfm_square(g, error, NULL, st), NULL, 0, 0, "loss", st);
  tfm_graph_pop_name_scope(g, st);
  if (!loss) return fail("building the loss", st);

  tfm_optimizer *opt = tfm_optimizer_gradient_descent(0.001, st);
  tfm_op *train = tfm_optimizer_minimize(opt, g, loss, NULL, 0, NULL, "train", st);
  tfm_op *init = tfm_global_variables_initializer(g, st);
  if (!train || !init) return fail("building the training op", st);

  tfm_session *sess = tfm_session_new(g, st);
  if (tfm_session_run(sess, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st) != TFM_OK)
    return fail("initialising", st);
  for (long i = 0; i < steps; i++)
    if (tfm_session_run(sess, NULL, NULL, 0, NULL, NULL, 0, &train, 1, st) != TFM_OK)
      return fail("training", st);

  tfm_output *fetches[3] = {tfm_variable_value(m), tfm_variable_value(b), loss};
  tfm_tensor *values[3];
  if (tfm_session_run(sess, NULL, NULL, 0, fetches, values, 3, NULL, 0, st) != TFM_OK)
    return fail("fetching", st);
  printf("Slope: %.5f Intercept: %.5f\n", *(float *)tfm_tensor_data(values[0]),
         *(float *)tfm_tensor_data(values[1]));
  printf("Loss: %.5f\n", *(float *)tfm_tensor_data(values[2]));

  for (int i = 0; i < 3; i++) tfm_tensor_release(values[i]);
  tfm_session_delete(sess);
  tfm_optimizer_delete(opt);
  tfm_graph_delete(g);
  tfm_status_delete(st);
  return EXIT_SUCCESS;
}
