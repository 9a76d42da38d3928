/* Training that outlives the process: the tutorial's line fit, saved every few
 * steps (keeping the newest few checkpoints), and resumed by the next run from the
 * newest checkpoint, exactly where it stopped.
 *
 *   save_restore DIR [--steps N] [--every N] [--keep N]
 *
 * A run with no checkpoint in DIR initialises m = -0.5, b = 1.0; a run that finds
 * one (tf.train.latest_checkpoint) restores it, global step included. Each run then
 * trains N more steps (default 5000) of gradient descent at learning rate 0.001,
 * saves DIR/model.ckpt-STEP every `every` global steps (default 1000) keeping the
 * newest `keep` (default 3), and saves the last step with its meta graph
 * (model.ckpt-STEP.meta, which fine_tune imports). Two runs of 5000 steps end where
 * one of 10,000 does: Slope 0.29702, Intercept -0.86083.
 *
 * The model's tensors have names fine_tune looks up: placeholders "x" and "y",
 * variables "m" and "b", the prediction "y_model" and the loss "loss". */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdir */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <tfmini/tfmini.h>

static const float xs[8] = {0, 1, 2, 3, 4, 5, 6, 7};
static const float ys[8] = {-0.82f, -0.94f, -0.12f, 0.26f, 0.39f, 0.64f, 1.02f, 1.00f};

static int fail(const char *what, tfm_status *st) {
  fprintf(stderr, "save_restore: %s: %s: %s\n", what, tfm_code_name(tfm_status_code(st)),
          tfm_status_message(st));
  return EXIT_FAILURE;
}

static float read_f32(tfm_session *sess, tfm_variable *v, tfm_status *st) {
  tfm_tensor *t = tfm_session_variable_value(sess, v, st);
  float value = t ? *(float *)tfm_tensor_data(t) : 0.0f;
  tfm_tensor_release(t);
  return value;
}

static int64_t read_i64(tfm_session *sess, tfm_variable *v, tfm_status *st) {
  tfm_tensor *t = tfm_session_variable_value(sess, v, st);
  int64_t value = t ? *(int64_t *)tfm_tensor_data(t) : 0;
  tfm_tensor_release(t);
  return value;
}

int main(int argc, char **argv) {
  const char *dir = NULL;
  long steps = 5000, every = 1000, keep = 3;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) steps = atol(argv[++i]);
    else if (strcmp(argv[i], "--every") == 0 && i + 1 < argc) every = atol(argv[++i]);
    else if (strcmp(argv[i], "--keep") == 0 && i + 1 < argc) keep = atol(argv[++i]);
    else if (argv[i][0] != '-' && !dir) dir = argv[i];
    else dir = NULL, i = argc;
  }
  if (!dir || steps < 0 || every < 1 || keep < 1) {
    fprintf(stderr, "usage: save_restore DIR [--steps N] [--every N] [--keep N]\n");
    return EXIT_FAILURE;
  }
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) { /* the Saver writes into an existing directory */
    fprintf(stderr, "save_restore: cannot create %s: %s\n", dir, strerror(errno));
    return EXIT_FAILURE;
  }
  char prefix[4096];
  snprintf(prefix, sizeof prefix, "%s/model.ckpt", dir);

  /* The model: the tensor fit, with the points fed through placeholders. */
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  const int64_t n = 8;
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, &n, 1, "x", st);
  tfm_output *y = tfm_placeholder(g, TFM_FLOAT, &n, 1, "y", st);
  tfm_variable *m = tfm_variable_new(g, tfm_scalar(g, -0.5, TFM_FLOAT, NULL, st), 1, "m", st);
  tfm_variable *b = tfm_variable_new(g, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), 1, "b", st);
  tfm_output *y_model = tfm_add(g, tfm_mul(g, tfm_variable_value(m), x, NULL, st), tfm_variable_value(b),
                                "y_model", st);
  tfm_output *loss = tfm_reduce_sum(g, tfm_square(g, tfm_sub(g, y, y_model, NULL, st), NULL, st), NULL, 0, 0,
                                    "loss", st);
  tfm_variable *global_step = tfm_train_get_or_create_global_step(g, st);
  tfm_optimizer *opt = tfm_optimizer_gradient_descent(0.001, st);
  tfm_op *train = tfm_optimizer_minimize(opt, g, loss, NULL, 0, global_step, "train", st);
  tfm_op *init = tfm_global_variables_initializer(g, st);
  if (!train || !init) return fail("building the model", st);

  /* Saver(max_to_keep=keep) over every variable, and a timer that saves with it. */
  tfm_saver *saver = tfm_saver_new(g, NULL, NULL, 0, (int)keep, 0, st);
  if (!saver) return fail("making the saver", st);
  tfm_checkpoint_timer *timer = tfm_checkpoint_timer_new(saver, prefix, 0, every, st);
  if (!timer) return fail("making the checkpoint timer", st);

  tfm_session *sess = tfm_session_new(g, st);
  if (!sess) return fail("making the session", st);
  char latest[4096];
  if (tfm_latest_checkpoint(dir, latest, sizeof latest, st) == TFM_OK) {
    if (tfm_saver_restore(saver, sess, latest, st) != TFM_OK) return fail("restoring", st);
    printf("Restored %s\n", latest);
  } else if (tfm_status_code(st) == TFM_NOT_FOUND) {
    if (tfm_session_run(sess, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st) != TFM_OK)
      return fail("initialising", st);
    printf("No checkpoint in %s: starting from m = -0.5, b = 1.0\n", dir);
  } else {
    return fail("looking for a checkpoint", st);
  }
  int64_t step = read_i64(sess, global_step, st);
  if (tfm_status_code(st) != TFM_OK) return fail("reading global_step", st);

  tfm_output *feeds[2] = {x, y};
  tfm_tensor *x_val = tfm_tensor_wrap(TFM_FLOAT, &n, 1, (void *)xs, sizeof xs, NULL, NULL, st);
  tfm_tensor *y_val = tfm_tensor_wrap(TFM_FLOAT, &n, 1, (void *)ys, sizeof ys, NULL, NULL, st);
  tfm_callable *train_step = tfm_session_make_callable(sess, feeds, 2, NULL, 0, &train, 1, st);
  if (!x_val || !y_val || !train_step) return fail("preparing the step", st);
  tfm_tensor *feed_values[2] = {x_val, y_val};

  int saved = 0;
  printf("Saved %s-STEP (the newest %ld kept) at steps:", prefix, keep);
  for (long i = 0; i < steps; i++) {
    if (tfm_callable_run(train_step, feed_values, NULL, st) != TFM_OK) return fail("training", st);
    step++; /* the train op increments global_step */
    if (tfm_checkpoint_timer_step(timer, sess, step, &saved, st) != TFM_OK) return fail("saving", st);
    if (saved) printf(" %lld", (long long)step);
  }
  /* The last step, with the meta graph (the graph, the saver, the collections). */
  char path[4096];
  if (tfm_saver_save(saver, sess, prefix, step, 1, path, sizeof path, st) != TFM_OK)
    return fail("saving the last step", st);
  printf(saved ? "\n" : " %lld\n", (long long)step);

  float slope = read_f32(sess, m, st), intercept = read_f32(sess, b, st);
  if (tfm_status_code(st) != TFM_OK) return fail("reading the fit", st);
  printf("Step: %lld Slope: %.5f Intercept: %.5f\n", (long long)step, slope, intercept);

  tfm_callable_delete(train_step);
  tfm_tensor_release(x_val);
  tfm_tensor_release(y_val);
  tfm_session_delete(sess);
  tfm_checkpoint_timer_delete(timer);
  tfm_saver_delete(saver);
  tfm_optimizer_delete(opt);
  tfm_graph_delete(g);
  tfm_status_delete(st);
  return EXIT_SUCCESS;
}
