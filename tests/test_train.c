/* Training: each optimizer's updates against a float64 scalar re-implementation of
 * TensorFlow's formulas over several steps, slots and names, global_step, the
 * learning-rate schedules against their closed forms, var_list, and the tutorial's
 * line fit against an independently computed least-squares solution. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tfmini/debug.h"
#include "tfmini/tfmini.h"

static tfm_status *st;

static void setup(void) { st = tfm_status_new(); }
static void teardown(void) { tfm_status_delete(st); }

#define OK() ck_assert_msg(tfm_status_code(st) == TFM_OK, "%s", tfm_status_message(st))

static tfm_output *const_f64(tfm_graph *g, const double *vals, int64_t n, const char *name) {
  tfm_tensor *t = tfm_tensor_new(TFM_DOUBLE, &n, 1, st);
  OK();
  memcpy(tfm_tensor_data(t), vals, (size_t)n * sizeof(double));
  tfm_output *o = tfm_constant(g, t, name, st);
  tfm_tensor_release(t);
  OK();
  return o;
}

static void run_op(tfm_session *s, tfm_op *op) {
  tfm_code rc = tfm_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &op, 1, st);
  ck_assert_msg(rc == TFM_OK, "%s", tfm_status_message(st));
}

static void read_var(tfm_session *s, tfm_variable *v, double *out, int64_t n) {
  tfm_tensor *t = tfm_session_variable_value(s, v, st);
  OK();
  ck_assert_int_eq(tfm_tensor_num_elements(t), n);
  if (tfm_tensor_dtype(t) == TFM_DOUBLE)
    memcpy(out, tfm_tensor_data(t), (size_t)n * sizeof(double));
  else if (tfm_tensor_dtype(t) == TFM_FLOAT)
    for (int64_t i = 0; i < n; i++) out[i] = ((float *)tfm_tensor_data(t))[i];
  else
    for (int64_t i = 0; i < n; i++) out[i] = (double)((int64_t *)tfm_tensor_data(t))[i];
  tfm_tensor_release(t);
}

static void assert_close(double got, double want, double tol, const char *what, int step) {
  ck_assert_msg(fabs(got - want) <= tol * (1.0 + fabs(want)), "%s (step %d): got %.15g, want %.15g", what, step, got,
                want);
}

static void assert_op(tfm_graph *g, const char *name, const char *type) {
  tfm_op *op = tfm_graph_get_operation_by_name(g, name, st);
  ck_assert_msg(op != NULL, "no op named %s", name);
  ck_assert_str_eq(tfm_op_type(op), type);
}

/* The quadratic used by the optimizer cases: loss = sum(0.5 * c * w^2 + d * w),
 * so dloss/dw = c * w + d, independent of the library. */
#define NW 3
static const double W0[NW] = {1.0, -2.0, 0.5}, C[NW] = {1.0, 3.0, 0.25}, D[NW] = {0.5, -1.0, 2.0};

static tfm_output *quadratic_loss(tfm_graph *g, tfm_variable *w) {
  tfm_output *c = const_f64(g, C, NW, "c"), *d = const_f64(g, D, NW, "d");
  tfm_output *half = tfm_scalar(g, 0.5, TFM_DOUBLE, "half", st);
  tfm_output *wv = tfm_variable_value(w);
  tfm_output *quad = tfm_mul(g, tfm_mul(g, half, c, NULL, st), tfm_square(g, wv, NULL, st), NULL, st);
  tfm_output *loss = tfm_reduce_sum(g, tfm_add(g, quad, tfm_mul(g, d, wv, NULL, st), NULL, st), NULL, 0, 0, "loss", st);
  OK();
  return loss;
}

typedef struct setup_q {
  tfm_graph *g;
  tfm_variable *w;
  tfm_output *loss;
  tfm_session *s;
} setup_q_t;

static setup_q_t make_quadratic(void) {
  setup_q_t q;
  q.g = tfm_graph_new(st);
  q.w = tfm_variable_new(q.g, const_f64(q.g, W0, NW, "w_init"), 1, "w", st);
  OK();
  q.loss = quadratic_loss(q.g, q.w);
  return q;
}

static void start(setup_q_t *q) {
  tfm_op *init = tfm_global_variables_initializer(q->g, st);
  OK();
  q->s = tfm_session_new(q->g, st);
  OK();
  run_op(q->s, init);
}

static void finish(setup_q_t *q) {
  tfm_session_delete(q->s);
  tfm_graph_delete(q->g);
}

START_TEST(gradient_descent_matches_formula_and_names) {
  setup_q_t q = make_quadratic();
  tfm_optimizer *opt = tfm_optimizer_gradient_descent(0.1, st);
  tfm_op *train = tfm_optimizer_minimize(opt, q.g, q.loss, NULL, 0, NULL, NULL, st);
  OK();
  ck_assert_str_eq(tfm_op_name(train), "GradientDescent");
  ck_assert_str_eq(tfm_op_type(train), "NoOp");
  assert_op(q.g, "GradientDescent/update_w/ApplyGradientDescent", "ApplyGradientDescent");
  assert_op(q.g, "GradientDescent/learning_rate", "Const");
  ck_assert_int_eq(tfm_graph_collection_size(q.g, TFM_TRAIN_OP), 1);
  ck_assert_ptr_eq(tfm_graph_collection_op(q.g, TFM_TRAIN_OP, 0, st), train);
  start(&q);
  double ref[NW], got[NW];
  memcpy(ref, W0, sizeof ref);
  for (int step = 1; step <= 5; step++) {
    run_op(q.s, train);
    for (int i = 0; i < NW; i++) ref[i] -= 0.1 * (C[i] * ref[i] + D[i]);
    read_var(q.s, q.w, got, NW);
    for (int i = 0; i < NW; i++) assert_close(got[i], ref[i], 1e-14, "w", step);
  }
  tfm_optimizer_delete(opt);
  finish(&q);
}
END_TEST

static void check_momentum(int nesterov) {
  setup_q_t q = make_quadratic();
  const double lr = 0.05, mu = 0.9;
  tfm_optimizer *opt = tfm_optimizer_momentum(lr, mu, nesterov, st);
  tfm_op *train = tfm_optimizer_minimize(opt, q.g, q.loss, NULL, 0, NULL, "train", st);
  OK();
  ck_assert_str_eq(tfm_op_name(train), "train");
  assert_op(q.g, "train/update_w/ApplyMomentum", "ApplyMomentum");
  tfm_variable *slot = tfm_graph_variable_by_name(q.g, "w/Momentum", st);
  OK();
  ck_assert_int_eq(tfm_variable_trainable(slot), 0);
  int flag = -1;
  tfm_op_attr_bool(tfm_graph_get_operation_by_name(q.g, "train/update_w/ApplyMomentum", st), "use_nesterov", &flag,
                   st);
  OK();
  ck_assert_int_eq(flag != 0, nesterov != 0);
  start(&q);
  double w[NW], acc[NW] = {0}, got[NW], got_acc[NW];
  memcpy(w, W0, sizeof w);
  for (int step = 1; step <= 6; step++) {
    run_op(q.s, train);
    for (int i = 0; i < NW; i++) {
      double gr = C[i] * w[i] + D[i];
      acc[i] = acc[i] * mu + gr;
      w[i] -= nesterov ? gr * lr + acc[i] * mu * lr : lr * acc[i];
    }
    read_var(q.s, q.w, got, NW);
    read_var(q.s, slot, got_acc, NW);
    for (int i = 0; i < NW; i++) {
      assert_close(got[i], w[i], 1e-13, "w", step);
      assert_close(got_acc[i], acc[i], 1e-13, "accum", step);
    }
  }
  tfm_optimizer_delete(opt);
  finish(&q);
}

START_TEST(momentum_matches_formula) { check_momentum(0); }
END_TEST

START_TEST(nesterov_momentum_matches_formula) { check_momentum(1); }
END_TEST

START_TEST(adam_matches_formula_with_beta_powers) {
  setup_q_t q = make_quadratic();
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  tfm_optimizer *opt = tfm_optimizer_adam(lr, b1, b2, eps, st);
  tfm_op *train = tfm_optimizer_minimize(opt, q.g, q.loss, NULL, 0, NULL, NULL, st);
  OK();
  ck_assert_str_eq(tfm_op_name(train), "Adam");
  assert_op(q.g, "Adam/update_w/ApplyAdam", "ApplyAdam");
  tfm_variable *m = tfm_graph_variable_by_name(q.g, "w/Adam", st);
  tfm_variable *v = tfm_graph_variable_by_name(q.g, "w/Adam_1", st);
  tfm_variable *p1 = tfm_graph_variable_by_name(q.g, "beta1_power", st);
  tfm_variable *p2 = tfm_graph_variable_by_name(q.g, "beta2_power", st);
  OK();
  ck_assert_int_eq(tfm_variable_trainable(m) | tfm_variable_trainable(v) | tfm_variable_trainable(p1), 0);
  ck_assert_int_eq(tfm_graph_collection_size(q.g, TFM_TRAINABLE_VARIABLES), 1);
  ck_assert_int_eq(tfm_graph_collection_size(q.g, TFM_GLOBAL_VARIABLES), 5);
  start(&q);
  double w[NW], mr[NW] = {0}, vr[NW] = {0}, pow1 = b1, pow2 = b2, got[NW], gm[NW], gv[NW], gp;
  memcpy(w, W0, sizeof w);
  for (int step = 1; step <= 8; step++) {
    run_op(q.s, train);
    double lr_t = lr * sqrt(1 - pow2) / (1 - pow1);
    for (int i = 0; i < NW; i++) {
      double gr = C[i] * w[i] + D[i];
      mr[i] += (gr - mr[i]) * (1 - b1);
      vr[i] += (gr * gr - vr[i]) * (1 - b2);
      w[i] -= lr_t * mr[i] / (sqrt(vr[i]) + eps);
    }
    pow1 *= b1;
    pow2 *= b2;
    read_var(q.s, q.w, got, NW);
    read_var(q.s, m, gm, NW);
    read_var(q.s, v, gv, NW);
    for (int i = 0; i < NW; i++) {
      assert_close(got[i], w[i], 1e-12, "w", step);
      assert_close(gm[i], mr[i], 1e-12, "m", step);
      assert_close(gv[i], vr[i], 1e-12, "v", step);
    }
    read_var(q.s, p1, &gp, 1);
    assert_close(gp, pow1, 1e-14, "beta1_power", step);
    read_var(q.s, p2, &gp, 1);
    assert_close(gp, pow2, 1e-14, "beta2_power", step);
  }
  tfm_optimizer_delete(opt);
  finish(&q);
}
END_TEST

START_TEST(global_step_counts_training_steps) {
  setup_q_t q = make_quadratic();
  tfm_variable *gs = tfm_train_get_or_create_global_step(q.g, st);
  OK();
  ck_assert_str_eq(tfm_variable_name(gs), "global_step");
  ck_assert_ptr_eq(tfm_train_get_or_create_global_step(q.g, st), gs);
  ck_assert_int_eq(tfm_output_dtype(tfm_variable_ref(gs)), TFM_INT64);
  ck_assert_int_eq(tfm_variable_trainable(gs), 0);
  ck_assert_int_eq(tfm_graph_collection_size(q.g, TFM_GLOBAL_STEP), 1);
  tfm_optimizer *opt = tfm_optimizer_gradient_descent(0.1, st);
  tfm_op *train = tfm_optimizer_minimize(opt, q.g, q.loss, NULL, 0, gs, NULL, st);
  OK();
  ck_assert_str_eq(tfm_op_name(train), "GradientDescent");
  ck_assert_str_eq(tfm_op_type(train), "AssignAdd");
  assert_op(q.g, "GradientDescent/update", "NoOp");
  start(&q);
  double step, w[NW], ref[NW];
  memcpy(ref, W0, sizeof ref);
  for (int k = 1; k <= 4; k++) {
    run_op(q.s, train);
    for (int i = 0; i < NW; i++) ref[i] -= 0.1 * (C[i] * ref[i] + D[i]);
    read_var(q.s, gs, &step, 1);
    ck_assert_int_eq((int)step, k);
  }
  read_var(q.s, q.w, w, NW);
  for (int i = 0; i < NW; i++) assert_close(w[i], ref[i], 1e-14, "w after the step count", 4);
  tfm_optimizer_delete(opt);
  finish(&q);
}
END_TEST

static double eval_f32_at_step(tfm_session *s, tfm_output *step_ph, int64_t step, tfm_output *fetch) {
  tfm_tensor *t = tfm_tensor_new(TFM_INT64, NULL, 0, st);
  *(int64_t *)tfm_tensor_data(t) = step;
  tfm_tensor *r = NULL;
  tfm_code rc = tfm_session_run(s, &step_ph, &t, 1, &fetch, &r, 1, NULL, 0, st);
  ck_assert_msg(rc == TFM_OK, "%s", tfm_status_message(st));
  ck_assert_int_eq(tfm_tensor_dtype(r), TFM_FLOAT);
  double v = *(float *)tfm_tensor_data(r);
  tfm_tensor_release(t);
  tfm_tensor_release(r);
  return v;
}

START_TEST(decay_schedules_match_closed_form) {
  tfm_graph *g = tfm_graph_new(st);
  tfm_output *step = tfm_placeholder(g, TFM_INT64, NULL, 0, "step", st);
  const double lr = 0.5, steps = 100, rate = 0.96;
  tfm_output *exp_c = tfm_train_exponential_decay(g, lr, step, steps, rate, 0, NULL, st);
  tfm_output *exp_s = tfm_train_exponential_decay(g, lr, step, steps, rate, 1, NULL, st);
  tfm_output *inv_c = tfm_train_inverse_time_decay(g, lr, step, steps, rate, 0, NULL, st);
  tfm_output *inv_s = tfm_train_inverse_time_decay(g, lr, step, steps, rate, 1, "my_decay", st);
  OK();
  ck_assert_str_eq(tfm_op_name(tfm_output_op(exp_c)), "ExponentialDecay");
  ck_assert_str_eq(tfm_op_name(tfm_output_op(exp_s)), "ExponentialDecay_1");
  ck_assert_str_eq(tfm_op_name(tfm_output_op(inv_c)), "InverseTimeDecay");
  ck_assert_str_eq(tfm_op_name(tfm_output_op(inv_s)), "my_decay");
  tfm_session *s = tfm_session_new(g, st);
  const int64_t at[] = {0, 1, 99, 100, 150, 1234};
  for (int k = 0; k < 6; k++) {
    double t = (double)at[k], fl = floor(t / steps);
    assert_close(eval_f32_at_step(s, step, at[k], exp_c), lr * pow(rate, t / steps), 1e-6, "exponential", (int)at[k]);
    assert_close(eval_f32_at_step(s, step, at[k], exp_s), lr * pow(rate, fl), 1e-6, "exponential staircase",
                 (int)at[k]);
    assert_close(eval_f32_at_step(s, step, at[k], inv_c), lr / (1 + rate * t / steps), 1e-6, "inverse time",
                 (int)at[k]);
    assert_close(eval_f32_at_step(s, step, at[k], inv_s), lr / (1 + rate * fl), 1e-6, "inverse time staircase",
                 (int)at[k]);
  }
  tfm_session_delete(s);
  tfm_graph_delete(g);
}
END_TEST

/* A decayed rate fed through set_learning_rate_tensor drives the updates. */
START_TEST(learning_rate_tensor_drives_updates) {
  tfm_graph *g = tfm_graph_new(st);
  tfm_variable *gs = tfm_train_get_or_create_global_step(g, st);
  float w0 = 2.0f;
  int64_t one = 1;
  tfm_variable *w = tfm_variable_new(g, tfm_constant_f32(g, &w0, &one, 1, "w_init", st), 1, "w", st);
  tfm_output *loss = tfm_reduce_sum(g, tfm_square(g, tfm_variable_value(w), NULL, st), NULL, 0, 0, NULL, st);
  tfm_output *lr = tfm_train_exponential_decay(g, 0.1, tfm_variable_value(gs), 2, 0.5, 1, NULL, st);
  OK();
  tfm_optimizer *opt = tfm_optimizer_gradient_descent(123.0, st); /* the constant must not be used */
  ck_assert_int_eq(tfm_optimizer_set_learning_rate_tensor(opt, lr, st), TFM_OK);
  tfm_op *train = tfm_optimizer_minimize(opt, g, loss, NULL, 0, gs, NULL, st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_op *init = tfm_global_variables_initializer(g, st);
  run_op(s, init);
  double ref = w0, got;
  for (int k = 0; k < 5; k++) {
    run_op(s, train);
    double rate = 0.1 * pow(0.5, floor(k / 2.0));
    ref -= rate * 2 * ref;
    read_var(s, w, &got, 1);
    assert_close(got, ref, 1e-6, "w", k);
  }
  tfm_optimizer_delete(opt);
  tfm_session_delete(s);
  tfm_graph_delete(g);
}
END_TEST

START_TEST(var_list_restricts_updates) {
  tfm_graph *g = tfm_graph_new(st);
  const double a0 = 1.0, b0 = -0.5;
  tfm_variable *a = tfm_variable_new(g, const_f64(g, &a0, 1, "a_init"), 1, "a", st);
  tfm_variable *b = tfm_variable_new(g, const_f64(g, &b0, 1, "b_init"), 1, "b", st);
  tfm_output *loss = tfm_reduce_sum(
      g, tfm_square(g, tfm_add(g, tfm_variable_value(a), tfm_variable_value(b), NULL, st), NULL, st), NULL, 0, 0, NULL,
      st);
  OK();
  tfm_optimizer *opt = tfm_optimizer_adam(0.1, 0.9, 0.999, 1e-8, st);
  tfm_variable *only_b[] = {b};
  tfm_op *train = tfm_optimizer_minimize(opt, g, loss, only_b, 1, NULL, NULL, st);
  OK();
  ck_assert_ptr_null(tfm_graph_get_operation_by_name(g, "a/Adam", st));
  ck_assert_ptr_nonnull(tfm_graph_get_operation_by_name(g, "b/Adam", st));
  tfm_session *s = tfm_session_new(g, st);
  run_op(s, tfm_global_variables_initializer(g, st));
  for (int k = 0; k < 3; k++) run_op(s, train);
  double av, bv;
  read_var(s, a, &av, 1);
  read_var(s, b, &bv, 1);
  ck_assert(av == a0);
  ck_assert_msg(bv < b0 - 0.1, "b moved downhill: %g", bv); /* 3 Adam steps of ~lr each */
  tfm_session_delete(s);
  tfm_optimizer_delete(opt);

  /* Same with gradient descent away from the optimum: only b moves. */
  tfm_optimizer *gd = tfm_optimizer_gradient_descent(0.25, st);
  tfm_output *loss2 = tfm_reduce_sum(g, tfm_square(g, tfm_variable_value(b), NULL, st), NULL, 0, 0, "loss2", st);
  tfm_output *loss3 = tfm_add(g, loss2, tfm_reduce_sum(g, tfm_variable_value(a), NULL, 0, 0, NULL, st), NULL, st);
  tfm_op *train_b = tfm_optimizer_minimize(gd, g, loss3, only_b, 1, NULL, NULL, st);
  OK();
  s = tfm_session_new(g, st);
  run_op(s, tfm_global_variables_initializer(g, st));
  run_op(s, train_b);
  read_var(s, a, &av, 1);
  read_var(s, b, &bv, 1);
  ck_assert(av == a0);
  assert_close(bv, b0 - 0.25 * 2 * b0, 1e-15, "b", 1);
  tfm_session_delete(s);
  tfm_optimizer_delete(gd);
  tfm_graph_delete(g);
}
END_TEST

START_TEST(minimize_reports_unusable_inputs) {
  tfm_graph *g = tfm_graph_new(st);
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, NULL, 0, "x", st);
  tfm_output *loss = tfm_square(g, x, "loss", st);
  OK();
  tfm_optimizer *opt = tfm_optimizer_gradient_descent(0.1, st);
  ck_assert_ptr_null(tfm_optimizer_minimize(opt, g, loss, NULL, 0, NULL, NULL, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "no variables"));
  float one = 1.0f;
  int64_t d1 = 1;
  tfm_variable *v = tfm_variable_new(g, tfm_constant_f32(g, &one, &d1, 1, NULL, st), 1, "v", st);
  OK();
  ck_assert_ptr_null(tfm_optimizer_minimize(opt, g, loss, &v, 1, NULL, NULL, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "no gradients"));
  tfm_optimizer_delete(opt);
  tfm_graph_delete(g);
  /* hyperparameters that are not finite numbers are refused, naming them */
  ck_assert_ptr_null(tfm_optimizer_gradient_descent(NAN, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "learning_rate"));
  ck_assert_ptr_null(tfm_optimizer_momentum(0.1, INFINITY, 0, st));
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "momentum"));
  ck_assert_ptr_null(tfm_optimizer_adam(0.1, 0.9, 0.999, NAN, st));
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "epsilon"));
}
END_TEST

/* The getting-started tutorial: fit y = m x + b to 8 points with plain gradient
 * descent on the float32 sum of squares. 10,000 steps at lr 0.001 converge (the
 * slowest mode shrinks by (1 - 0.0046) per step), so the result must match both
 * the closed-form least-squares line and a float64 run of the same recurrence. */
START_TEST(tutorial_line_fit_converges_to_least_squares) {
  static const float X[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  static const float Y[8] = {-0.82f, -0.94f, -0.12f, 0.26f, 0.39f, 0.64f, 1.02f, 1.00f};
  tfm_graph *g = tfm_graph_new(st);
  int64_t n8 = 8, one = 1;
  float m0 = -0.5f, b0 = 1.0f;
  tfm_variable *m = tfm_variable_new(g, tfm_constant_f32(g, &m0, &one, 1, NULL, st), 1, "m", st);
  tfm_variable *b = tfm_variable_new(g, tfm_constant_f32(g, &b0, &one, 1, NULL, st), 1, "b", st);
  tfm_output *x = tfm_constant_f32(g, X, &n8, 1, "x", st);
  tfm_output *y = tfm_constant_f32(g, Y, &n8, 1, "y", st);
  tfm_output *pred = tfm_add(g, tfm_mul(g, tfm_variable_value(m), x, NULL, st), tfm_variable_value(b), NULL, st);
  tfm_output *loss = tfm_reduce_sum(g, tfm_square(g, tfm_sub(g, y, pred, NULL, st), NULL, st), NULL, 0, 0, "loss", st);
  OK();
  tfm_optimizer *opt = tfm_optimizer_gradient_descent(0.001, st);
  tfm_op *train = tfm_optimizer_minimize(opt, g, loss, NULL, 0, NULL, NULL, st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  run_op(s, tfm_global_variables_initializer(g, st));
  tfm_callable *step = tfm_session_make_callable(s, NULL, 0, NULL, 0, &train, 1, st);
  OK();
  for (int k = 0; k < 10000; k++) ck_assert_int_eq(tfm_callable_run(step, NULL, NULL, st), TFM_OK);
  tfm_callable_delete(step);
  double mv, bv;
  read_var(s, m, &mv, 1);
  read_var(s, b, &bv, 1);

  /* Least squares in closed form. */
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (int i = 0; i < 8; i++) {
    sx += X[i];
    sy += Y[i];
    sxx += (double)X[i] * X[i];
    sxy += (double)X[i] * Y[i];
  }
  double slope = (8 * sxy - sx * sy) / (8 * sxx - sx * sx), intercept = (sy - slope * sx) / 8;
  assert_close(slope, 0.29702, 1e-4, "least-squares slope", 0);
  assert_close(intercept, -0.86083, 1e-4, "least-squares intercept", 0);
  /* The same recurrence in float64. */
  double rm = m0, rb = b0;
  for (int k = 0; k < 10000; k++) {
    double gm = 0, gb = 0;
    for (int i = 0; i < 8; i++) {
      double r = Y[i] - (rm * X[i] + rb);
      gm += -2 * r * X[i];
      gb += -2 * r;
    }
    rm -= 0.001 * gm;
    rb -= 0.001 * gb;
  }
  assert_close(rm, slope, 1e-6, "float64 recurrence vs least squares (slope)", 10000);
  assert_close(mv, rm, 1e-4, "slope", 10000);
  assert_close(bv, rb, 1e-4, "intercept", 10000);
  assert_close(mv, slope, 1e-4, "slope vs least squares", 10000);
  assert_close(bv, intercept, 1e-4, "intercept vs least squares", 10000);
  tfm_session_delete(s);
  tfm_optimizer_delete(opt);
  tfm_graph_delete(g);
}
END_TEST

/* Float32 Adam (Nesterov form, built directly) against the float64 formula: the
 * float32 loop and the Nesterov branch of the kernel. */
START_TEST(apply_adam_nesterov_float32_matches_formula) {
  tfm_graph *g = tfm_graph_new(st);
  const float w0[NW] = {1.0f, -2.0f, 0.5f}, gr[NW] = {0.3f, -1.2f, 2.5f};
  int64_t n = NW;
  tfm_variable *w = tfm_variable_new(g, tfm_constant_f32(g, w0, &n, 1, NULL, st), 1, "w", st);
  tfm_variable *m = tfm_variable_new(g, tfm_zeros(g, &n, 1, TFM_FLOAT, NULL, st), 0, "m", st);
  tfm_variable *v = tfm_variable_new(g, tfm_zeros(g, &n, 1, TFM_FLOAT, NULL, st), 0, "v", st);
  tfm_output *grad = tfm_constant_f32(g, gr, &n, 1, "grad", st);
  tfm_output *p1 = tfm_placeholder(g, TFM_FLOAT, NULL, 0, "beta1_power", st);
  tfm_output *p2 = tfm_placeholder(g, TFM_FLOAT, NULL, 0, "beta2_power", st);
  const double lr = 0.05, b1 = 0.8, b2 = 0.95, eps = 1e-3;
  tfm_op_builder *b = tfm_op_builder_new(g, "ApplyAdam", "adam", st);
  tfm_op_builder_add_input(b, tfm_variable_ref(w));
  tfm_op_builder_add_input(b, tfm_variable_ref(m));
  tfm_op_builder_add_input(b, tfm_variable_ref(v));
  tfm_op_builder_add_input(b, p1);
  tfm_op_builder_add_input(b, p2);
  tfm_op_builder_add_input(b, tfm_scalar(g, lr, TFM_FLOAT, NULL, st));
  tfm_op_builder_add_input(b, tfm_scalar(g, b1, TFM_FLOAT, NULL, st));
  tfm_op_builder_add_input(b, tfm_scalar(g, b2, TFM_FLOAT, NULL, st));
  tfm_op_builder_add_input(b, tfm_scalar(g, eps, TFM_FLOAT, NULL, st));
  tfm_op_builder_add_input(b, grad);
  tfm_op_builder_set_attr_type(b, "T", TFM_FLOAT);
  tfm_op_builder_set_attr_bool(b, "use_nesterov", 1);
  tfm_op *adam = tfm_op_builder_finish(b, st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  run_op(s, tfm_global_variables_initializer(g, st));
  double rw[NW], rm[NW] = {0}, rv[NW] = {0}, pw1 = b1, pw2 = b2, got[NW];
  for (int i = 0; i < NW; i++) rw[i] = w0[i];
  for (int step = 1; step <= 4; step++) {
    tfm_tensor *t1 = tfm_tensor_new(TFM_FLOAT, NULL, 0, st), *t2 = tfm_tensor_new(TFM_FLOAT, NULL, 0, st);
    *(float *)tfm_tensor_data(t1) = (float)pw1;
    *(float *)tfm_tensor_data(t2) = (float)pw2;
    tfm_output *feeds[] = {p1, p2};
    tfm_tensor *vals[] = {t1, t2};
    ck_assert_int_eq(tfm_session_run(s, feeds, vals, 2, NULL, NULL, 0, &adam, 1, st), TFM_OK);
    tfm_tensor_release(t1);
    tfm_tensor_release(t2);
    double lr_t = lr * sqrt(1 - pw2) / (1 - pw1);
    for (int i = 0; i < NW; i++) {
      rm[i] += (gr[i] - rm[i]) * (1 - b1);
      rv[i] += ((double)gr[i] * gr[i] - rv[i]) * (1 - b2);
      rw[i] -= lr_t * (gr[i] * (1 - b1) + b1 * rm[i]) / (sqrt(rv[i]) + eps);
    }
    pw1 *= b1;
    pw2 *= b2;
    read_var(s, w, got, NW);
    for (int i = 0; i < NW; i++) assert_close(got[i], rw[i], 2e-6, "w (float32)", step);
  }
  tfm_session_delete(s);
  tfm_graph_delete(g);
}
END_TEST

/* Shape, dtype and ref errors are caught when the op is built, naming it. */
START_TEST(apply_ops_reject_bad_inputs) {
  tfm_graph *g = tfm_graph_new(st);
  int64_t n3 = 3, n2 = 2;
  tfm_variable *w = tfm_variable_new(g, tfm_zeros(g, &n3, 1, TFM_FLOAT, NULL, st), 1, "w", st);
  tfm_output *lr = tfm_scalar(g, 0.1, TFM_FLOAT, "lr", st);
  OK();
  struct { tfm_output *var, *alpha, *delta; const char *needle; } cases[] = {
      {tfm_variable_ref(w), lr, tfm_zeros(g, &n2, 1, TFM_FLOAT, NULL, st), "shape"},
      {tfm_variable_ref(w), lr, tfm_zeros(g, &n3, 1, TFM_DOUBLE, NULL, st), "dtype"},
      {tfm_variable_ref(w), tfm_zeros(g, &n3, 1, TFM_FLOAT, NULL, st), tfm_zeros(g, &n3, 1, TFM_FLOAT, NULL, st),
       "scalar"},
      {tfm_variable_value(w), lr, tfm_zeros(g, &n3, 1, TFM_FLOAT, NULL, st), "variable"},
  };
  OK();
  for (int k = 0; k < 4; k++) {
    tfm_op_builder *b = tfm_op_builder_new(g, "ApplyGradientDescent", "bad", st);
    tfm_op_builder_add_input(b, cases[k].var);
    tfm_op_builder_add_input(b, cases[k].alpha);
    tfm_op_builder_add_input(b, cases[k].delta);
    tfm_op_builder_set_attr_type(b, "T", TFM_FLOAT);
    ck_assert_ptr_null(tfm_op_builder_finish(b, st));
    ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
    ck_assert_msg(strstr(tfm_status_message(st), "bad") && strstr(tfm_status_message(st), cases[k].needle),
                  "case %d: %s", k, tfm_status_message(st));
    tfm_status_clear(st);
  }
  tfm_graph_delete(g);
}
END_TEST

/* A second minimize() with the same optimizer reuses its slots and beta powers. */
START_TEST(second_minimize_reuses_slots) {
  setup_q_t q = make_quadratic();
  tfm_optimizer *opt = tfm_optimizer_adam(0.01, 0.9, 0.999, 1e-8, st);
  tfm_op *t1 = tfm_optimizer_minimize(opt, q.g, q.loss, NULL, 0, NULL, NULL, st);
  tfm_op *t2 = tfm_optimizer_minimize(opt, q.g, q.loss, NULL, 0, NULL, NULL, st);
  OK();
  ck_assert_str_eq(tfm_op_name(t1), "Adam");
  ck_assert_str_eq(tfm_op_name(t2), "Adam_1");
  ck_assert_int_eq(tfm_graph_collection_size(q.g, TFM_GLOBAL_VARIABLES), 5);
  ck_assert_int_eq(tfm_graph_collection_size(q.g, TFM_TRAIN_OP), 2);
  tfm_optimizer_delete(opt);
  tfm_graph_delete(q.g);
}
END_TEST

/* Every allocation failure inside minimize() (gradients, slots, updates) is
 * reported as RESOURCE_EXHAUSTED, and deleting the graph then frees everything. */
START_TEST(minimize_survives_allocation_failures) {
  int failures = 0;
  for (uint64_t nth = 1;; nth++) {
    setup_q_t q = make_quadratic();
    tfm_optimizer *opt = tfm_optimizer_adam(0.01, 0.9, 0.999, 1e-8, st);
    tfm_variable *gs = tfm_train_get_or_create_global_step(q.g, st);
    OK();
    int64_t before = tfm_debug_bytes_in_use();
    tfm_debug_fail_alloc_after(nth, 1);
    tfm_op *train = tfm_optimizer_minimize(opt, q.g, q.loss, NULL, 0, gs, NULL, st);
    tfm_debug_fail_alloc_after(0, 0);
    tfm_optimizer_delete(opt);
    tfm_graph_delete(q.g);
    ck_assert_int_le(tfm_debug_bytes_in_use(), before);
    if (train) break;
    ck_assert_msg(tfm_status_code(st) == TFM_RESOURCE_EXHAUSTED, "allocation %d: %s", (int)nth,
                  tfm_status_message(st));
    tfm_status_clear(st);
    failures++;
  }
  ck_assert_int_gt(failures, 10);
}
END_TEST

/* compute_gradients / apply_gradients: gradients changed in between (halved) drive
 * the update; a gradient of the wrong shape is refused naming both. */
START_TEST(apply_gradients_uses_the_given_gradients) {
  setup_q_t q = make_quadratic();
  tfm_output *dw;
  tfm_output *ref = tfm_variable_ref(q.w);
  ck_assert_int_eq(tfm_gradients(q.g, &q.loss, 1, &ref, 1, NULL, &dw, st), TFM_OK);
  tfm_output *half = tfm_mul(q.g, dw, tfm_scalar(q.g, 0.5, TFM_DOUBLE, NULL, st), "clipped", st);
  OK();
  tfm_optimizer *opt = tfm_optimizer_gradient_descent(0.1, st);
  int64_t two = 2;
  tfm_output *wrong_shape = tfm_zeros(q.g, &two, 1, TFM_DOUBLE, "wrong_shape", st);
  ck_assert_ptr_null(tfm_optimizer_apply_gradients(opt, q.g, &wrong_shape, &q.w, 1, NULL, NULL, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_msg(strstr(tfm_status_message(st), "wrong_shape") && strstr(tfm_status_message(st), "'w'"), "%s",
                tfm_status_message(st));
  tfm_op *train = tfm_optimizer_apply_gradients(opt, q.g, &half, &q.w, 1, NULL, "apply", st);
  OK();
  ck_assert_str_eq(tfm_op_name(train), "apply");
  assert_op(q.g, "apply/update_w/ApplyGradientDescent", "ApplyGradientDescent");
  start(&q);
  double ref_w[NW], got[NW];
  memcpy(ref_w, W0, sizeof ref_w);
  for (int step = 1; step <= 3; step++) {
    run_op(q.s, train);
    for (int i = 0; i < NW; i++) ref_w[i] -= 0.1 * 0.5 * (C[i] * ref_w[i] + D[i]);
    read_var(q.s, q.w, got, NW);
    for (int i = 0; i < NW; i++) assert_close(got[i], ref_w[i], 1e-14, "w", step);
  }
  tfm_optimizer_delete(opt);
  finish(&q);
}
END_TEST

/* The nodes minimize() builds itself (the gating tuples, the learning rate, the
 * update ops, the final NoOp), named and wired as in the training graph TF 1.2
 * wrote for y = w*x + b (../shared/testdata/tf/regression_savedmodel_tf1.2, read
 * through its decoded listing). Skipped when the shared folder is absent. */
static bool input_listed(const char *list, const char *want) {
  char quoted[320];
  snprintf(quoted, sizeof quoted, "'%s'", want);
  return strstr(list, quoted) != NULL;
}

START_TEST(gradient_descent_graph_matches_tensorflow) {
  const char *shared = getenv("TFM_SHARED_DIR");
  char path[1024];
  snprintf(path, sizeof path, "%s/testdata/tf/regression_savedmodel_tf1.2/saved_model.pb.dump.txt",
           shared ? shared : "../shared");
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "skipped: %s not found\n", path);
    return;
  }
  tfm_graph *g = tfm_graph_new(st);
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, NULL, -1, "x", st);
  tfm_output *y = tfm_placeholder(g, TFM_FLOAT, NULL, -1, "y", st);
  int64_t one = 1;
  float w0 = 0.3f; /* TF drew it from random_uniform: not part of what is compared */
  tfm_variable *w = tfm_variable_new(g, tfm_constant_f32(g, &w0, &one, 1, "w0", st), 1, "w", st);
  tfm_variable *b = tfm_variable_new(g, tfm_zeros(g, &one, 1, TFM_FLOAT, "zeros", st), 1, "b", st);
  tfm_output *y_hat = tfm_add(g, tfm_mul(g, tfm_variable_value(w), x, "mul", st), tfm_variable_value(b), "y_hat", st);
  tfm_output *loss = tfm_reduce_mean(g, tfm_square(g, tfm_sub(g, y_hat, y, "sub", st), "Square", st), NULL, 0, 0,
                                     "Mean", st);
  tfm_optimizer *opt = tfm_optimizer_gradient_descent(0.5, st);
  tfm_op *train = tfm_optimizer_minimize(opt, g, loss, NULL, 0, NULL, "train", st);
  OK();
  ck_assert_str_eq(tfm_op_name(train), "train");
  char line[2048];
  int checked = 0;
  while (fgets(line, sizeof line, f)) {
    char name[256], type[64], inputs[1024] = "";
    const char *in_list = strstr(line, " in=[");
    if (!in_list || sscanf(line, " %255s %63s", name, type) != 2) continue;
    sscanf(in_list, " in=[%1023[^]]", inputs); /* stays "" for in=[] */
    if (!strstr(name, "/tuple/") && strncmp(name, "train", 5) != 0) continue;
    tfm_op *op = tfm_graph_get_operation_by_name(g, name, st);
    ck_assert_msg(op != NULL, "TF has %s (%s), we do not", name, type);
    ck_assert_str_eq(tfm_op_type(op), type);
    int n_listed = 0;
    for (const char *p = inputs; (p = strchr(p, '\'')); p = strchr(p + 1, '\'') + 1) n_listed++;
    ck_assert_int_eq(tfm_op_num_inputs(op) + tfm_op_num_control_inputs(op), n_listed);
    for (int i = 0; i < tfm_op_num_inputs(op); i++) {
      char in[300];
      tfm_output *o = tfm_op_input(op, i);
      if (tfm_output_index(o) == 0)
        snprintf(in, sizeof in, "%s", tfm_op_name(tfm_output_op(o)));
      else
        tfm_output_name(o, in, sizeof in);
      ck_assert_msg(input_listed(inputs, in), "%s: input %d is %s; TF has [%s]", name, i, in, inputs);
    }
    for (int i = 0; i < tfm_op_num_control_inputs(op); i++) {
      char in[300];
      snprintf(in, sizeof in, "^%s", tfm_op_name(tfm_op_control_input(op, i)));
      ck_assert_msg(input_listed(inputs, in), "%s: control input %s; TF has [%s]", name, in, inputs);
    }
    checked++;
  }
  fclose(f);
  ck_assert_int_eq(checked, 4 + 3 + 3 + 3);
  tfm_optimizer_delete(opt);
  tfm_graph_delete(g);
}
END_TEST

static Suite *train_suite(void) {
  Suite *s = suite_create("train");
  TCase *tc = tcase_create("train");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, gradient_descent_matches_formula_and_names);
  tcase_add_test(tc, momentum_matches_formula);
  tcase_add_test(tc, nesterov_momentum_matches_formula);
  tcase_add_test(tc, adam_matches_formula_with_beta_powers);
  tcase_add_test(tc, global_step_counts_training_steps);
  tcase_add_test(tc, decay_schedules_match_closed_form);
  tcase_add_test(tc, learning_rate_tensor_drives_updates);
  tcase_add_test(tc, var_list_restricts_updates);
  tcase_add_test(tc, minimize_reports_unusable_inputs);
  tcase_add_test(tc, apply_adam_nesterov_float32_matches_formula);
  tcase_add_test(tc, apply_ops_reject_bad_inputs);
  tcase_add_test(tc, second_minimize_reuses_slots);
  tcase_add_test(tc, apply_gradients_uses_the_given_gradients);
  tcase_add_test(tc, gradient_descent_graph_matches_tensorflow);
  tcase_add_test(tc, minimize_survives_allocation_failures);
  tcase_add_test(tc, tutorial_line_fit_converges_to_least_squares);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(train_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
