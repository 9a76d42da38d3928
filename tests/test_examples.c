/* The user's story: each program in examples/ is run as a user runs it, and what it
 * prints is checked against an independent reference computed here (the same
 * gradient descent in float64, least squares, the generating line), and against a
 * second run with the same seed.
 *
 *   test_examples GROUP     GROUP: serial, tensor, bigdata, save_restore, fine_tune
 *
 * Each group is its own meson test. */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tfmini/tfmini.h>

#define OUT_CAP 16384

static const double kX[8] = {0, 1, 2, 3, 4, 5, 6, 7};
static const double kY[8] = {-0.82, -0.94, -0.12, 0.26, 0.39, 0.64, 1.02, 1.00};

/* Runs "<examples dir>/<cmd>" with stderr joined to stdout; returns the exit code
 * (-1 when it did not exit normally). */
static int run_example(char *out, size_t cap, const char *fmt, ...) {
  const char *dir = getenv("TFM_EXAMPLES_DIR");
  char args[2048], cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "'%s'/%s 2>&1", dir ? dir : "examples", args);
  FILE *p = popen(cmd, "r");
  if (!p) {
    snprintf(out, cap, "cannot run %s", cmd);
    return -1;
  }
  size_t len = fread(out, 1, cap - 1, p);
  out[len] = '\0';
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void parse_fit(const char *out, const char *label, double *slope, double *intercept) {
  const char *at = strstr(out, label);
  ck_assert_msg(at != NULL, "no \"%s\" in:\n%s", label, out);
  at = strstr(at, "Slope:");
  ck_assert_msg(at && sscanf(at, "Slope: %lf Intercept: %lf", slope, intercept) == 2, "no fit in:\n%s", out);
}

/* Gradient descent on sum((y - (m x + b))^2), in float64, from m = -0.5, b = 1.0. */
static void reference_descent(long steps, double lr, double *m_out, double *b_out) {
  double m = -0.5, b = 1.0;
  for (long s = 0; s < steps; s++) {
    double gm = 0, gb = 0;
    for (int i = 0; i < 8; i++) {
      double err = kY[i] - (m * kX[i] + b);
      gm += -2.0 * err * kX[i];
      gb += -2.0 * err;
    }
    m -= lr * gm;
    b -= lr * gb;
  }
  *m_out = m;
  *b_out = b;
}

/* Least squares by the normal equations. */
static void least_squares(double *m, double *b) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (int i = 0; i < 8; i++) sx += kX[i], sy += kY[i], sxx += kX[i] * kX[i], sxy += kX[i] * kY[i];
  *m = (8 * sxy - sx * sy) / (8 * sxx - sx * sx);
  *b = (sy - *m * sx) / 8;
}

/* serial and tensor: the fit after `steps` is the float64 descent's, and 10,000
 * steps reach least squares (0.29702, -0.86083). */
static void check_small_fit(const char *program) {
  static char out[OUT_CAP];
  double slope, intercept, m, b;
  const long partial[2] = {300, 10000};
  for (int k = 0; k < 2; k++) {
    ck_assert_int_eq(run_example(out, sizeof out, "%s %ld", program, partial[k]), 0);
    parse_fit(out, "Slope:", &slope, &intercept);
    reference_descent(partial[k], 0.001, &m, &b);
    ck_assert_msg(fabs(slope - m) < 2e-4 && fabs(intercept - b) < 5e-4,
                  "%s after %ld steps: %.5f %.5f, float64 descent %.5f %.5f", program, partial[k], slope, intercept,
                  m, b);
  }
  least_squares(&m, &b);
  ck_assert_msg(fabs(slope - m) < 2e-4 && fabs(intercept - b) < 5e-4, "%s: %.5f %.5f, least squares %.5f %.5f",
                program, slope, intercept, m, b);
}

static void check_same_output_twice(const char *args) {
  static char first[OUT_CAP], second[OUT_CAP];
  ck_assert_int_eq(run_example(first, sizeof first, "%s", args), 0);
  ck_assert_int_eq(run_example(second, sizeof second, "%s", args), 0);
  ck_assert_str_eq(first, second);
}

START_TEST(serial_fits_like_float64_gradient_descent) { check_small_fit("serial"); }
END_TEST
START_TEST(serial_is_reproducible) { check_same_output_twice("serial 2000"); }
END_TEST
START_TEST(tensor_fits_like_float64_gradient_descent) { check_small_fit("tensor"); }
END_TEST
START_TEST(tensor_is_reproducible) { check_same_output_twice("tensor 2000"); }
END_TEST

/* bigdata with 200,000 points and 4,000 steps (CI time): the fit is near the
 * generating line; the same seed gives the same fit; another seed another one. */
START_TEST(bigdata_recovers_the_generating_line) {
  static char out[OUT_CAP];
  double slope, intercept;
  ck_assert_int_eq(run_example(out, sizeof out, "bigdata --points 200000 --steps 4000 --seed 7"), 0);
  parse_fit(out, "Slope:", &slope, &intercept);
  ck_assert_msg(fabs(slope - 0.3) < 0.03 && fabs(intercept + 0.8) < 0.15, "fit %.5f %.5f, line 0.3 -0.8", slope,
                intercept);
  ck_assert_msg(strstr(out, "steps/s") && strstr(out, "Peak memory:"), "no speed or memory in:\n%s", out);
  ck_assert_int_eq(run_example(out, sizeof out, "bigdata --points 200000 --steps 4000 --seed 7 --decay"), 0);
  parse_fit(out, "Slope:", &slope, &intercept);
  ck_assert_msg(fabs(slope - 0.3) < 0.03 && fabs(intercept + 0.8) < 0.15, "decayed fit %.5f %.5f", slope, intercept);
}
END_TEST

START_TEST(bigdata_same_seed_same_fit) {
  static char a[OUT_CAP], b[OUT_CAP], c[OUT_CAP];
  double s1, i1, s2, i2, s3, i3;
  ck_assert_int_eq(run_example(a, sizeof a, "bigdata --points 100000 --steps 2000 --seed 11"), 0);
  ck_assert_int_eq(run_example(b, sizeof b, "bigdata --points 100000 --steps 2000 --seed 11"), 0);
  ck_assert_int_eq(run_example(c, sizeof c, "bigdata --points 100000 --steps 2000 --seed 12"), 0);
  parse_fit(a, "Slope:", &s1, &i1);
  parse_fit(b, "Slope:", &s2, &i2);
  parse_fit(c, "Slope:", &s3, &i3);
  ck_assert_msg(s1 == s2 && i1 == i2, "seed 11 twice: %.5f %.5f vs %.5f %.5f", s1, i1, s2, i2);
  ck_assert_msg(s1 != s3 || i1 != i3, "seeds 11 and 12 gave the same fit: the seed is not used");
}
END_TEST

/* ---- saving, restoring, fine-tuning ---- */

static char g_dir[256];

static void make_temp_dir(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(g_dir, sizeof g_dir, "%s/tfm_examples_XXXXXX", tmp && *tmp ? tmp : "/tmp");
  ck_assert_msg(mkdtemp(g_dir) != NULL, "mkdtemp %s", g_dir);
}

static void remove_temp_dir(void) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
}

static int file_exists(const char *fmt, ...) {
  char path[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(path, sizeof path, fmt, ap);
  va_end(ap);
  struct stat sb;
  return stat(path, &sb) == 0;
}

/* Two processes of 150 steps each end where one descent of 300 does (far from
 * converged, so a resume that restarted or lost a step would show); of the
 * checkpoints saved every 50 steps, the newest 3 are kept. */
START_TEST(save_restore_resumes_in_a_fresh_process) {
  static char out[OUT_CAP];
  double slope, intercept, m, b;
  make_temp_dir();
  ck_assert_int_eq(run_example(out, sizeof out, "save_restore '%s' --steps 150 --every 50 --keep 3", g_dir), 0);
  ck_assert_msg(strstr(out, "No checkpoint") != NULL, "first run should start fresh:\n%s", out);
  parse_fit(out, "Step: 150", &slope, &intercept);
  reference_descent(150, 0.001, &m, &b);
  ck_assert_msg(fabs(slope - m) < 2e-4 && fabs(intercept - b) < 5e-4, "150 steps: %.5f %.5f, reference %.5f %.5f",
                slope, intercept, m, b);

  ck_assert_int_eq(run_example(out, sizeof out, "save_restore '%s' --steps 150 --every 50 --keep 3", g_dir), 0);
  ck_assert_msg(strstr(out, "Restored") && strstr(out, "model.ckpt-150"), "second run should resume:\n%s", out);
  parse_fit(out, "Step: 300", &slope, &intercept);
  reference_descent(300, 0.001, &m, &b);
  ck_assert_msg(fabs(slope - m) < 2e-4 && fabs(intercept - b) < 5e-4, "300 steps: %.5f %.5f, reference %.5f %.5f",
                slope, intercept, m, b);

  /* The timer saves on its first step and then every 50 (as TF's CheckpointSaverHook);
   * with the last save, the newest 3 are kept. */
  char cmd[512];
  snprintf(cmd, sizeof cmd, "ls '%s' | grep -c '^model\\.ckpt-[0-9]*\\.index$'", g_dir);
  FILE *p = popen(cmd, "r");
  int kept = -1;
  ck_assert(p && fscanf(p, "%d", &kept) == 1);
  pclose(p);
  ck_assert_msg(kept == 3, "%d checkpoints kept, max_to_keep 3", kept);
  ck_assert(file_exists("%s/model.ckpt-300.index", g_dir));
  ck_assert(!file_exists("%s/model.ckpt-150.index", g_dir));
  ck_assert(file_exists("%s/model.ckpt-300.meta", g_dir));
  ck_assert(file_exists("%s/checkpoint", g_dir));
  remove_temp_dir();
}
END_TEST

/* The head learns |line|, the pretrained line is left as restored, and the saved
 * file holds both: restored here into variables of the same names. */
START_TEST(fine_tune_trains_only_the_new_head) {
  static char out[OUT_CAP];
  double slope, intercept, loss0, loss1;
  make_temp_dir();
  ck_assert_int_eq(run_example(out, sizeof out, "save_restore '%s' --steps 10000", g_dir), 0);
  ck_assert_int_eq(run_example(out, sizeof out, "fine_tune '%s' --steps 3000", g_dir), 0);
  parse_fit(out, "Pretrained after", &slope, &intercept);
  ck_assert_msg(strstr(out, "(unchanged)") != NULL, "the pretrained variables moved:\n%s", out);
  ck_assert_msg(fabs(slope - 0.29702) < 2e-4 && fabs(intercept + 0.86083) < 5e-4, "pretrained %.5f %.5f", slope,
                intercept);
  const char *at0 = strstr(out, "Head loss at step 0:"), *at1 = strstr(out, "Head loss at step 3000:");
  ck_assert_msg(at0 && at1, "no losses in:\n%s", out);
  ck_assert(sscanf(at0, "Head loss at step 0: %lf", &loss0) == 1 && sscanf(at1, "Head loss at step 3000: %lf", &loss1) == 1);
  ck_assert_msg(loss1 < 1e-3 && loss1 < loss0 / 20, "head loss %.6f -> %.6f", loss0, loss1);

  /* Everything was saved: the pretrained variables under their new names, the head. */
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  const int64_t k2[4] = {1, 1, 8, 1};
  tfm_variable *vars[3] = {
      tfm_variable_new(g, tfm_scalar(g, 0, TFM_FLOAT, NULL, st), 1, "pretrained/m", st),
      tfm_variable_new(g, tfm_scalar(g, 0, TFM_FLOAT, NULL, st), 1, "pretrained/b", st),
      tfm_get_variable(g, "head/conv2/kernel", TFM_FLOAT, k2, 4, TFM_INIT_ZEROS, 0, 0, 0, 1, st)};
  tfm_saver *saver = tfm_saver_new(g, vars, NULL, 3, -1, 0, st);
  tfm_session *sess = tfm_session_new(g, st);
  char prefix[512];
  snprintf(prefix, sizeof prefix, "%s/fine_tuned.ckpt", g_dir);
  ck_assert_msg(saver && sess && tfm_saver_restore(saver, sess, prefix, st) == TFM_OK, "%s",
                tfm_status_message(st));
  tfm_tensor *m = tfm_session_variable_value(sess, vars[0], st), *k = tfm_session_variable_value(sess, vars[2], st);
  ck_assert_msg(m && k, "%s", tfm_status_message(st));
  ck_assert_msg(fabs(*(float *)tfm_tensor_data(m) - slope) < 1e-5, "saved m %.5f", *(float *)tfm_tensor_data(m));
  double norm = 0;
  for (int i = 0; i < 8; i++) norm += fabs(((float *)tfm_tensor_data(k))[i]);
  ck_assert_msg(norm > 0, "the head's kernel was not saved");
  tfm_tensor_release(m);
  tfm_tensor_release(k);
  tfm_session_delete(sess);
  tfm_saver_delete(saver);
  tfm_graph_delete(g);
  tfm_status_delete(st);
  remove_temp_dir();
}
END_TEST

int main(int argc, char **argv) {
  const char *group = argc > 1 ? argv[1] : NULL;
  Suite *s = suite_create("examples");
  struct {
    const char *name;
    const TTest *tests[3];
  } groups[] = {
      {"serial", {serial_fits_like_float64_gradient_descent, serial_is_reproducible}},
      {"tensor", {tensor_fits_like_float64_gradient_descent, tensor_is_reproducible}},
      {"bigdata", {bigdata_recovers_the_generating_line, bigdata_same_seed_same_fit}},
      {"save_restore", {save_restore_resumes_in_a_fresh_process}},
      {"fine_tune", {fine_tune_trains_only_the_new_head}},
  };
  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
    TCase *tc = tcase_create(groups[i].name);
    tcase_set_timeout(tc, 300);
    for (int t = 0; t < 3 && groups[i].tests[t]; t++) tcase_add_test(tc, groups[i].tests[t]);
    suite_add_tcase(s, tc);
  }
  SRunner *sr = srunner_create(s);
  srunner_run(sr, NULL, group, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
