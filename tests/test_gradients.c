/* tf.gradients: symbolic gradients checked against hand-derived formulas and central
 * finite differences in float64; broadcasting undone; StopGradient; several paths
 * summed; variables; TensorFlow's names; the error for an op without a gradient. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tfmini/tfmini.h"

/* ---- helpers ---- */

static tfm_status *st;

static void setup(void) { st = tfm_status_new(); }
static void teardown(void) { tfm_status_delete(st); }

#define OK() ck_assert_msg(tfm_status_code(st) == TFM_OK, "%s", tfm_status_message(st))

static tfm_tensor *tensor_f64(const double *vals, const int64_t *dims, int rank) {
  tfm_tensor *t = tfm_tensor_new(TFM_DOUBLE, dims, rank, st);
  OK();
  memcpy(tfm_tensor_data(t), vals, tfm_tensor_nbytes(t));
  return t;
}

static tfm_output *const_f64(tfm_graph *g, const double *vals, const int64_t *dims, int rank, const char *name) {
  tfm_tensor *t = tensor_f64(vals, dims, rank);
  tfm_output *o = tfm_constant(g, t, name, st);
  tfm_tensor_release(t);
  OK();
  return o;
}

/* Runs `fetch` with one optional feed and copies its n float64 values to out. */
static void eval(tfm_session *s, tfm_output *feed, tfm_tensor *value, tfm_output *fetch, double *out, int64_t n) {
  tfm_tensor *r = NULL;
  tfm_code rc = tfm_session_run(s, feed ? &feed : NULL, feed ? &value : NULL, feed ? 1 : 0, &fetch, &r, 1, NULL, 0, st);
  ck_assert_msg(rc == TFM_OK, "%s", tfm_status_message(st));
  ck_assert_int_eq(tfm_tensor_dtype(r), TFM_DOUBLE);
  ck_assert_int_eq(tfm_tensor_num_elements(r), n);
  memcpy(out, tfm_tensor_data(r), (size_t)n * sizeof(double));
  tfm_tensor_release(r);
}

static double eval_scalar(tfm_session *s, tfm_output *feed, tfm_tensor *value, tfm_output *fetch) {
  double v;
  eval(s, feed, value, fetch, &v, 1);
  return v;
}

static void assert_close(double got, double want, double tol, const char *what) {
  ck_assert_msg(fabs(got - want) <= tol * (1.0 + fabs(want)), "%s: got %.12g, want %.12g", what, got, want);
}

/* ---- cases ---- */

/* loss = sum((m*x + b - y)^2): dloss/dm = sum(2 r x), dloss/db = sum(2 r), r = m x + b - y. */
START_TEST(linear_model_gradient_matches_hand_derivation) {
  tfm_graph *g = tfm_graph_new(st);
  const double xs[] = {0, 1, 2, 3, 4, 5, 6, 7};
  const double ys[] = {-0.82, -0.94, -0.12, 0.26, 0.39, 0.64, 1.02, 1.00};
  int64_t n8[] = {8};
  tfm_output *x = const_f64(g, xs, n8, 1, "x");
  tfm_output *y = const_f64(g, ys, n8, 1, "y");
  tfm_output *m = tfm_placeholder(g, TFM_DOUBLE, NULL, 0, "m", st);
  tfm_output *b = tfm_scalar(g, 1.0, TFM_DOUBLE, "b", st);
  tfm_output *pred = tfm_add(g, tfm_mul(g, m, x, NULL, st), b, NULL, st);
  tfm_output *loss = tfm_reduce_sum(g, tfm_square(g, tfm_sub(g, pred, y, NULL, st), NULL, st), NULL, 0, 0, "loss", st);
  OK();
  tfm_output *wrt[] = {m, b}, *d[2];
  ck_assert_int_eq(tfm_gradients(g, &loss, 1, wrt, 2, NULL, d, st), TFM_OK);
  ck_assert_ptr_nonnull(d[0]);
  ck_assert_ptr_nonnull(d[1]);
  ck_assert_int_eq(tfm_output_rank(d[0]), 0);
  tfm_session *s = tfm_session_new(g, st);
  for (double mv = -0.5; mv <= 1.0; mv += 0.75) {
    tfm_tensor *mt = tensor_f64(&mv, NULL, 0);
    double dm_want = 0, db_want = 0;
    for (int i = 0; i < 8; i++) {
      double r = mv * xs[i] + 1.0 - ys[i];
      dm_want += 2 * r * xs[i];
      db_want += 2 * r;
    }
    assert_close(eval_scalar(s, m, mt, d[0]), dm_want, 1e-12, "dloss/dm");
    assert_close(eval_scalar(s, m, mt, d[1]), db_want, 1e-12, "dloss/db");
    tfm_tensor_release(mt);
  }
  tfm_session_delete(s);
  tfm_graph_delete(g);
}
END_TEST

/* A composite expression through MatMul, Sqrt, Exp, Log, RealDiv, Mean and
 * broadcasting, against central differences at every element of X:
 * h = z / sqrt(1 + z^2) with z = A X + c (a smooth squash), then
 * f = sum(h * exp(-h^2) / (1 + exp(-h))) + mean(log(1 + X^2)) + sum(X / (1 + c^2)). */
START_TEST(composite_gradient_matches_finite_differences) {
  tfm_graph *g = tfm_graph_new(st);
  const double a_vals[] = {0.3, -0.7, 1.1, 0.5, 0.2, -0.4, -1.3, 0.8, 0.6, 0.9, -0.2, 0.1};
  int64_t a_dims[] = {4, 3}, x_dims[] = {3, 2}, c_dims[] = {2};
  const double c_vals[] = {0.5, -1.5};
  tfm_output *a = const_f64(g, a_vals, a_dims, 2, "A");
  tfm_output *c = const_f64(g, c_vals, c_dims, 1, "c");
  tfm_output *X = tfm_placeholder(g, TFM_DOUBLE, x_dims, 2, "X", st);
  tfm_output *one = tfm_scalar(g, 1.0, TFM_DOUBLE, "one", st);
  tfm_output *z = tfm_add(g, tfm_matmul(g, a, X, 0, 0, NULL, st), c, NULL, st);
  tfm_output *h = tfm_div(g, z, tfm_sqrt(g, tfm_add(g, one, tfm_square(g, z, NULL, st), NULL, st), NULL, st), NULL, st);
  tfm_output *gate = tfm_div(g, one, tfm_add(g, one, tfm_exp(g, tfm_neg(g, h, NULL, st), NULL, st), NULL, st), NULL, st);
  tfm_output *bump = tfm_exp(g, tfm_neg(g, tfm_square(g, h, NULL, st), NULL, st), NULL, st);
  tfm_output *t1 = tfm_reduce_sum(g, tfm_mul(g, tfm_mul(g, h, bump, NULL, st), gate, NULL, st), NULL, 0, 0, NULL, st);
  tfm_output *t2 = tfm_reduce_mean(g, tfm_log(g, tfm_add(g, one, tfm_square(g, X, NULL, st), NULL, st), NULL, st), NULL, 0, 0, NULL, st);
  tfm_output *t3 = tfm_reduce_sum(g, tfm_div(g, X, tfm_add(g, one, tfm_square(g, c, NULL, st), NULL, st), NULL, st), NULL, 0, 0, NULL, st);
  tfm_output *f = tfm_add(g, tfm_add(g, t1, t2, NULL, st), t3, "f", st);
  OK();
  tfm_output *dX;
  ck_assert_int_eq(tfm_gradients(g, &f, 1, &X, 1, NULL, &dX, st), TFM_OK);
  ck_assert_int_eq(tfm_output_rank(dX), 2);
  tfm_session *s = tfm_session_new(g, st);
  double x0[] = {0.2, -0.5, 0.7, 0.1, -0.3, 0.4}, grad[6];
  tfm_tensor *xt = tensor_f64(x0, x_dims, 2);
  eval(s, X, xt, dX, grad, 6);
  tfm_tensor_release(xt);
  const double eps = 1e-6;
  for (int i = 0; i < 6; i++) {
    double xp[6], xm[6];
    memcpy(xp, x0, sizeof xp);
    memcpy(xm, x0, sizeof xm);
    xp[i] += eps;
    xm[i] -= eps;
    tfm_tensor *tp = tensor_f64(xp, x_dims, 2), *tm = tensor_f64(xm, x_dims, 2);
    double fd = (eval_scalar(s, X, tp, f) - eval_scalar(s, X, tm, f)) / (2 * eps);
    tfm_tensor_release(tp);
    tfm_tensor_release(tm);
    assert_close(grad[i], fd, 1e-7, "df/dX");
  }
  tfm_session_delete(s);
  tfm_graph_delete(g);
}
END_TEST

/* a [2,3] * b [3]: the gradient of b has b's shape and sums over the broadcast rows. */
START_TEST(broadcasting_is_undone_by_summing) {
  tfm_graph *g = tfm_graph_new(st);
  const double av[] = {1, 2, 3, 4, 5, 6}, bv[] = {0.5, -1, 2};
  int64_t ad[] = {2, 3}, bd[] = {3};
  tfm_output *a = const_f64(g, av, ad, 2, "a");
  tfm_output *b = tfm_placeholder(g, TFM_DOUBLE, bd, 1, "b", st);
  tfm_output *y = tfm_reduce_sum(g, tfm_mul(g, a, b, NULL, st), NULL, 0, 0, NULL, st);
  OK();
  tfm_output *db;
  ck_assert_int_eq(tfm_gradients(g, &y, 1, &b, 1, NULL, &db, st), TFM_OK);
  ck_assert_int_eq(tfm_output_rank(db), 1);
  tfm_session *s = tfm_session_new(g, st);
  tfm_tensor *bt = tensor_f64(bv, bd, 1);
  double got[3];
  eval(s, b, bt, db, got, 3);
  for (int j = 0; j < 3; j++) assert_close(got[j], av[j] + av[3 + j], 1e-15, "column sum");
  tfm_tensor_release(bt);
  tfm_session_delete(s);
  tfm_graph_delete(g);
}
END_TEST

/* y = x*x + 3*x uses x on two paths: dy/dx = 2x + 3. StopGradient(x*x) adds nothing. */
START_TEST(two_paths_sum_and_stop_gradient_blocks) {
  tfm_graph *g = tfm_graph_new(st);
  tfm_output *x = tfm_placeholder(g, TFM_DOUBLE, NULL, 0, "x", st);
  tfm_output *three = tfm_scalar(g, 3.0, TFM_DOUBLE, "three", st);
  tfm_output *sq = tfm_mul(g, x, x, NULL, st);
  tfm_output *y = tfm_add(g, tfm_add(g, sq, tfm_mul(g, three, x, NULL, st), NULL, st),
                          tfm_stop_gradient(g, tfm_square(g, x, NULL, st), NULL, st), "y", st);
  tfm_output *only_stopped = tfm_stop_gradient(g, sq, "stopped", st);
  OK();
  tfm_output *dx;
  ck_assert_int_eq(tfm_gradients(g, &y, 1, &x, 1, NULL, &dx, st), TFM_OK);
  tfm_output *dnone = (tfm_output *)1;
  ck_assert_int_eq(tfm_gradients(g, &only_stopped, 1, &x, 1, NULL, &dnone, st), TFM_OK);
  ck_assert_msg(dnone == NULL, "no gradient flows through StopGradient");
  tfm_session *s = tfm_session_new(g, st);
  double xv = 1.75;
  tfm_tensor *xt = tensor_f64(&xv, NULL, 0);
  assert_close(eval_scalar(s, x, xt, dx), 2 * xv + 3, 1e-15, "dy/dx");
  tfm_tensor_release(xt);
  tfm_session_delete(s);
  tfm_graph_delete(g);
}
END_TEST

/* grad_ys scales the result; several ys add up. */
START_TEST(grad_ys_and_several_ys) {
  tfm_graph *g = tfm_graph_new(st);
  tfm_output *x = tfm_placeholder(g, TFM_DOUBLE, NULL, 0, "x", st);
  tfm_output *y1 = tfm_square(g, x, NULL, st);
  tfm_output *y2 = tfm_exp(g, x, NULL, st);
  tfm_output *w = tfm_scalar(g, 0.25, TFM_DOUBLE, "w", st);
  OK();
  tfm_output *ys[] = {y1, y2}, *gys[] = {w, NULL}, *dx;
  ck_assert_int_eq(tfm_gradients(g, ys, 2, &x, 1, gys, &dx, st), TFM_OK);
  tfm_session *s = tfm_session_new(g, st);
  double xv = -0.6;
  tfm_tensor *xt = tensor_f64(&xv, NULL, 0);
  assert_close(eval_scalar(s, x, xt, dx), 0.25 * 2 * xv + exp(xv), 1e-15, "0.25 d(x^2) + d(e^x)");
  tfm_tensor_release(xt);
  tfm_session_delete(s);
  tfm_graph_delete(g);
}
END_TEST

/* The gradient w.r.t. a variable's storage equals the one w.r.t. its read snapshot;
 * a variable the loss does not use gets NULL. */
START_TEST(variables_differentiate_through_their_storage) {
  tfm_graph *g = tfm_graph_new(st);
  const double wv[] = {1.5, -2.0};
  int64_t d2[] = {2};
  tfm_variable *w = tfm_variable_new(g, const_f64(g, wv, d2, 1, "w_init"), 1, "w", st);
  tfm_variable *unused = tfm_variable_new(g, tfm_scalar(g, 1.0, TFM_DOUBLE, NULL, st), 1, "unused", st);
  tfm_output *loss = tfm_reduce_sum(g, tfm_square(g, tfm_variable_value(w), NULL, st), NULL, 0, 0, NULL, st);
  OK();
  tfm_output *xs[] = {tfm_variable_ref(w), tfm_variable_value(w), tfm_variable_ref(unused)}, *d[3];
  ck_assert_int_eq(tfm_gradients(g, &loss, 1, xs, 3, NULL, d, st), TFM_OK);
  ck_assert_ptr_nonnull(d[0]);
  ck_assert_ptr_nonnull(d[1]);
  ck_assert_ptr_null(d[2]);
  tfm_session *s = tfm_session_new(g, st);
  tfm_op *init = tfm_global_variables_initializer(g, st);
  ck_assert_int_eq(tfm_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st), TFM_OK);
  double g0[2], g1[2];
  eval(s, NULL, NULL, d[0], g0, 2);
  eval(s, NULL, NULL, d[1], g1, 2);
  for (int i = 0; i < 2; i++) {
    assert_close(g0[i], 2 * wv[i], 1e-15, "d/dref");
    assert_close(g1[i], 2 * wv[i], 1e-15, "d/dread");
  }
  tfm_session_delete(s);
  tfm_graph_delete(g);
}
END_TEST

/* Names as TensorFlow gives them: gradients/Shape, gradients/grad_ys_0,
 * gradients/Fill, gradients/<op>_grad/...; a second call uses "gradients_1". */
START_TEST(gradient_ops_are_named_as_tensorflow) {
  tfm_graph *g = tfm_graph_new(st);
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, NULL, 0, "x", st);
  tfm_output *y = tfm_square(g, x, "Square", st);
  OK();
  tfm_output *dx;
  ck_assert_int_eq(tfm_gradients(g, &y, 1, &x, 1, NULL, &dx, st), TFM_OK);
  const char *names[] = {"gradients/Shape", "gradients/grad_ys_0", "gradients/Fill"};
  for (int i = 0; i < 3; i++) {
    ck_assert_msg(tfm_graph_get_operation_by_name(g, names[i], st) != NULL, "missing %s", names[i]);
  }
  ck_assert_str_eq(tfm_op_type(tfm_graph_get_operation_by_name(g, "gradients/grad_ys_0", st)), "Const");
  ck_assert_msg(strncmp(tfm_op_name(tfm_output_op(dx)), "gradients/Square_grad/", 22) == 0, "dx is %s",
                tfm_op_name(tfm_output_op(dx)));
  ck_assert_int_eq(tfm_gradients(g, &y, 1, &x, 1, NULL, &dx, st), TFM_OK);
  ck_assert_ptr_nonnull(tfm_graph_get_operation_by_name(g, "gradients_1/Fill", st));
  ck_assert_msg(strncmp(tfm_op_name(tfm_output_op(dx)), "gradients_1/Square_grad/", 24) == 0, "dx is %s",
                tfm_op_name(tfm_output_op(dx)));
  tfm_graph_delete(g);
}
END_TEST

/* An op on the path without a gradient fails naming it; off the path it is fine. */
START_TEST(missing_gradient_names_the_op) {
  tfm_graph *g = tfm_graph_new(st);
  tfm_variable *v = tfm_variable_new(g, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), 1, "v", st);
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, NULL, 0, "x", st);
  tfm_output *lr = tfm_scalar(g, 0.1f, TFM_FLOAT, "lr", st);
  tfm_op_builder *b = tfm_op_builder_new(g, "ApplyGradientDescent", "apply", st);
  tfm_op_builder_add_input(b, tfm_variable_ref(v));
  tfm_op_builder_add_input(b, lr);
  tfm_op_builder_add_input(b, tfm_square(g, x, NULL, st));
  tfm_op_builder_set_attr_type(b, "T", TFM_FLOAT);
  tfm_op *apply = tfm_op_builder_finish(b, st);
  OK();
  tfm_output *y = tfm_mul(g, tfm_op_output(apply, 0), x, "y", st);
  OK();
  tfm_output *dx = (tfm_output *)1;
  ck_assert_int_eq(tfm_gradients(g, &y, 1, &x, 1, NULL, &dx, st), TFM_INVALID_ARGUMENT);
  ck_assert_str_eq(tfm_status_message(st), "No gradient defined for operation 'apply' (op type: ApplyGradientDescent)");
  ck_assert_ptr_null(dx);
  /* y2 depends on x only through a path without the op. */
  tfm_output *y2 = tfm_mul(g, x, lr, "y2", st);
  ck_assert_int_eq(tfm_gradients(g, &y2, 1, &x, 1, NULL, &dx, st), TFM_OK);
  ck_assert_ptr_nonnull(dx);
  tfm_graph_delete(g);
}
END_TEST

START_TEST(bad_arguments_are_reported) {
  tfm_graph *g = tfm_graph_new(st), *other = tfm_graph_new(st);
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, NULL, 0, "x", st);
  tfm_output *i = tfm_placeholder(g, TFM_INT32, NULL, 0, "i", st);
  tfm_output *z = tfm_placeholder(other, TFM_FLOAT, NULL, 0, "z", st);
  OK();
  tfm_output *d;
  ck_assert_int_eq(tfm_gradients(g, &i, 1, &x, 1, NULL, &d, st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "int32"));
  ck_assert_int_eq(tfm_gradients(g, &x, 1, &z, 1, NULL, &d, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(tfm_gradients(g, &x, 1, NULL, 0, NULL, &d, st), TFM_INVALID_ARGUMENT);
  tfm_graph_delete(other);
  tfm_graph_delete(g);
}
END_TEST

static Suite *gradients_suite(void) {
  Suite *s = suite_create("gradients");
  TCase *tc = tcase_create("gradients");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, linear_model_gradient_matches_hand_derivation);
  tcase_add_test(tc, composite_gradient_matches_finite_differences);
  tcase_add_test(tc, broadcasting_is_undone_by_summing);
  tcase_add_test(tc, two_paths_sum_and_stop_gradient_blocks);
  tcase_add_test(tc, grad_ys_and_several_ys);
  tcase_add_test(tc, variables_differentiate_through_their_storage);
  tcase_add_test(tc, gradient_ops_are_named_as_tensorflow);
  tcase_add_test(tc, missing_gradient_names_the_op);
  tcase_add_test(tc, bad_arguments_are_reported);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(gradients_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
