/* Fine-tuning a saved model: import the newest meta graph that save_restore wrote
 * into a new graph under the scope "pretrained", restore its weights, fetch its
 * tensors by name, freeze them (stop_gradient), and put a small convolutional head
 * on top: conv2d + bias_add + relu, then a 1x1 conv2d + bias_add, its weights made
 * with get_variable under the variable scope "head". Only the head is trained; the
 * pretrained line must come out unchanged. Then everything is saved together.
 *
 *   fine_tune DIR [--steps N]
 *
 * The head learns a target the line alone cannot express: |m*x + b|, the distance
 * of the fitted line from zero at each of the 8 points. Prints the pretrained fit,
 * the head's loss before and after, and the path of DIR/fine_tuned.ckpt. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tfmini/tfmini.h>

#define N_POINTS 8
#define HIDDEN 8

static const float xs[N_POINTS] = {0, 1, 2, 3, 4, 5, 6, 7};

static int fail(const char *what, tfm_status *st) {
  fprintf(stderr, "fine_tune: %s: %s: %s\n", what, tfm_code_name(tfm_status_code(st)),
          tfm_status_message(st));
  return EXIT_FAILURE;
}

/* One fetch of a float tensor into out[0..count). */
static tfm_code fetch_f32(tfm_session *sess, tfm_output *feed, tfm_tensor *feed_value, tfm_output *fetch,
                          float *out, int count, tfm_status *st) {
  tfm_tensor *value = NULL;
  if (tfm_session_run(sess, &feed, &feed_value, feed ? 1 : 0, &fetch, &value, 1, NULL, 0, st) != TFM_OK)
    return tfm_status_code(st);
  memcpy(out, tfm_tensor_data(value), sizeof(float) * (size_t)count);
  tfm_tensor_release(value);
  return TFM_OK;
}

int main(int argc, char **argv) {
  const char *dir = NULL;
  long steps = 3000;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) steps = atol(argv[++i]);
    else if (argv[i][0] != '-' && !dir) dir = argv[i];
    else dir = NULL, i = argc;
  }
  if (!dir || steps < 0) {
    fprintf(stderr, "usage: fine_tune DIR [--steps N]   (DIR holds save_restore's checkpoints)\n");
    return EXIT_FAILURE;
  }
  tfm_status *st = tfm_status_new();
  char latest[4096], meta[4200];
  if (tfm_latest_checkpoint(dir, latest, sizeof latest, st) != TFM_OK) return fail("finding a checkpoint", st);
  snprintf(meta, sizeof meta, "%s.meta", latest);

  /* The pretrained model, in a new graph under "pretrained/". */
  tfm_graph *g = tfm_graph_new(st);
  tfm_saver *pretrained_saver = tfm_import_meta_graph(g, meta, "pretrained", st);
  if (!pretrained_saver) {
    if (tfm_status_code(st) != TFM_OK) return fail("importing the meta graph", st);
    fprintf(stderr, "fine_tune: %s has no saver to restore the weights with\n", meta);
    return EXIT_FAILURE;
  }
  tfm_output *x = tfm_graph_get_tensor_by_name(g, "pretrained/x:0", st);
  tfm_output *y_model = tfm_graph_get_tensor_by_name(g, "pretrained/y_model:0", st);
  tfm_output *m = tfm_graph_get_tensor_by_name(g, "pretrained/m/read:0", st);
  tfm_output *b = tfm_graph_get_tensor_by_name(g, "pretrained/b/read:0", st);
  if (!x || !y_model || !m || !b) return fail("looking up the pretrained tensors", st);

  /* The head: the frozen predictions as an NHWC image [1, 8, 1, 1]. */
  const int64_t image[4] = {1, N_POINTS, 1, 1}, flat = N_POINTS;
  const int64_t k1[4] = {3, 1, 1, HIDDEN}, b1[1] = {HIDDEN}, k2[4] = {1, 1, HIDDEN, 1}, b2[1] = {1};
  tfm_output *features = tfm_reshape(g, tfm_stop_gradient(g, y_model, "frozen", st), image, 4, "features", st);
  tfm_graph_push_variable_scope(g, "head", 0, st);
  tfm_variable *head[4] = {
      tfm_get_variable(g, "conv1/kernel", TFM_FLOAT, k1, 4, TFM_INIT_GLOROT_UNIFORM, 0, 0, 7, 1, st),
      tfm_get_variable(g, "conv1/bias", TFM_FLOAT, b1, 1, TFM_INIT_CONSTANT, 0.1, 0, 0, 1, st),
      tfm_get_variable(g, "conv2/kernel", TFM_FLOAT, k2, 4, TFM_INIT_GLOROT_UNIFORM, 0, 0, 8, 1, st),
      tfm_get_variable(g, "conv2/bias", TFM_FLOAT, b2, 1, TFM_INIT_ZEROS, 0, 0, 0, 1, st)};
  if (!head[0] || !head[1] || !head[2] || !head[3]) return fail("making the head's variables", st);
  tfm_output *hidden = tfm_relu(
      g, tfm_bias_add(g, tfm_conv2d(g, features, tfm_variable_value(head[0]), 1, 1, "SAME", "conv1", st),
                      tfm_variable_value(head[1]), NULL, st),
      "relu1", st);
  tfm_output *out = tfm_bias_add(g, tfm_conv2d(g, hidden, tfm_variable_value(head[2]), 1, 1, "SAME", "conv2", st),
                                 tfm_variable_value(head[3]), NULL, st);
  tfm_output *prediction = tfm_reshape(g, out, &flat, 1, "prediction", st);
  tfm_graph_pop_variable_scope(g, st);
  tfm_output *target = tfm_placeholder(g, TFM_FLOAT, &flat, 1, "target", st);
  tfm_output *loss = tfm_reduce_mean(g, tfm_square(g, tfm_sub(g, prediction, target, NULL, st), NULL, st), NULL, 0,
                                     0, "head_loss", st);
  tfm_optimizer *opt = tfm_optimizer_adam(0.01, 0.9, 0.999, 1e-8, st);
  tfm_op *train = tfm_optimizer_minimize(opt, g, loss, head, 4, NULL, "head_train", st);
  tfm_op *init = tfm_global_variables_initializer(g, st);
  if (!train || !init) return fail("building the head", st);

  /* Initialise everything, then overwrite the pretrained variables from the checkpoint. */
  tfm_session *sess = tfm_session_new(g, st);
  if (!sess || tfm_session_run(sess, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st) != TFM_OK)
    return fail("initialising", st);
  if (tfm_saver_restore(pretrained_saver, sess, latest, st) != TFM_OK) return fail("restoring", st);

  const int64_t n = N_POINTS;
  tfm_tensor *x_val = tfm_tensor_wrap(TFM_FLOAT, &n, 1, (void *)xs, sizeof xs, NULL, NULL, st);
  float line[N_POINTS], wanted[N_POINTS], m0, b0;
  if (!x_val || fetch_f32(sess, x, x_val, y_model, line, N_POINTS, st) != TFM_OK ||
      fetch_f32(sess, NULL, NULL, m, &m0, 1, st) != TFM_OK || fetch_f32(sess, NULL, NULL, b, &b0, 1, st) != TFM_OK)
    return fail("reading the pretrained model", st);
  printf("Pretrained (from %s): Slope: %.5f Intercept: %.5f\n", latest, m0, b0);
  for (int i = 0; i < N_POINTS; i++) wanted[i] = fabsf(line[i]);
  tfm_tensor *t_val = tfm_tensor_wrap(TFM_FLOAT, &n, 1, wanted, sizeof wanted, NULL, NULL, st);

  tfm_output *feeds[2] = {x, target};
  tfm_tensor *feed_values[2] = {x_val, t_val};
  tfm_callable *step = tfm_session_make_callable(sess, feeds, 2, &loss, 1, &train, 1, st);
  if (!t_val || !step) return fail("preparing the step", st);
  for (long i = 0; i <= steps; i++) {
    tfm_tensor *loss_val = NULL;
    if (tfm_callable_run(step, feed_values, &loss_val, st) != TFM_OK) return fail("training the head", st);
    if (i == 0 || i == steps) printf("Head loss at step %ld: %.6f\n", i, *(float *)tfm_tensor_data(loss_val));
    tfm_tensor_release(loss_val);
  }

  float m1, b1v;
  if (fetch_f32(sess, NULL, NULL, m, &m1, 1, st) != TFM_OK || fetch_f32(sess, NULL, NULL, b, &b1v, 1, st) != TFM_OK)
    return fail("reading the pretrained model", st);
  printf("Pretrained after: Slope: %.5f Intercept: %.5f (%s)\n", m1, b1v,
         m1 == m0 && b1v == b0 ? "unchanged" : "CHANGED");

  /* Everything together: the pretrained variables, the head, Adam's slots. */
  char prefix[4096], path[4096];
  snprintf(prefix, sizeof prefix, "%s/fine_tuned.ckpt", dir);
  tfm_saver *saver = tfm_saver_new(g, NULL, NULL, 0, -1, 0, st);
  if (!saver || tfm_saver_save(saver, sess, prefix, -1, 1, path, sizeof path, st) != TFM_OK)
    return fail("saving the fine-tuned model", st);
  printf("Saved %s\n", path);

  tfm_callable_delete(step);
  tfm_tensor_release(x_val);
  tfm_tensor_release(t_val);
  tfm_session_delete(sess);
  tfm_saver_delete(saver);
  tfm_saver_delete(pretrained_saver);
  tfm_optimizer_delete(opt);
  tfm_graph_delete(g);
  tfm_status_delete(st);
  return m1 == m0 && b1v == b0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
