/* Small programs (runtime/small_prog.h): runs of steps over small values become
 * one step that computes exactly what the steps compute one by one (bit-identical
 * to the plan with fusion off, and close to a float64 loop), keeps the order of
 * variable reads and writes, reports an uninitialised variable naming it and the
 * op reading it, leaves a caller's fetched value alone, and allocates nothing in
 * the steady state. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/fuse.h"
#include "runtime/plan.h"
#include "runtime/small_prog.h"
#include "runtime/session.h"
#include "tfmini/debug.h"
#include "tfmini/tfmini.h"

static tfm_status *st;

static void setup(void) {
  st = tfm_status_new();
  fuse_set_enabled(true);
}

static void teardown(void) {
  tfm_status_delete(st);
  fuse_set_enabled(true);
}

#define OK() ck_assert_msg(tfm_status_code(st) == TFM_OK, "%s", tfm_status_message(st))

static const float XS[8] = {0, 1, 2, 3, 4, 5, 6, 7};
static const float YS[8] = {-0.82f, -0.94f, -0.12f, 0.26f, 0.39f, 0.64f, 1.02f, 1.00f};

/* Programs in the session's plans, and the steps of the longest plan. */
static void plan_counts(tfm_session *s, int *programs, int *steps) {
  *programs = *steps = 0;
  for (plan_t *p = atomic_load(&s->plans); p; p = p->next_cached) {
    if (p->n_steps > *steps) *steps = p->n_steps;
    *programs += plan_small_program_count(p);
  }
}

/* The fit of 8 points by gradient descent for `steps` steps, returning m and b.
 * serial: the loss as a loop of scalar ops over constants; otherwise the tensor
 * form fed 8 points a step (the SGD form: vectors of 8, scalars broadcast on
 * either side, full sums), a different batch order each step. */
static void fit(bool serial, int steps, float *m_out, float *b_out, int *programs, int *n_steps) {
  tfm_graph *g = tfm_graph_new(st);
  const int64_t n = 8;
  tfm_output *feeds[2] = {NULL, NULL};
  tfm_variable *m = tfm_variable_new(g, tfm_scalar(g, -0.5, TFM_FLOAT, NULL, st), 1, "m", st);
  tfm_variable *b = tfm_variable_new(g, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), 1, "b", st);
  tfm_output *loss;
  if (serial) {
    loss = tfm_scalar(g, 0.0, TFM_FLOAT, NULL, st);
    for (int i = 0; i < 8; i++) {
      tfm_output *xi = tfm_scalar(g, XS[i], TFM_FLOAT, NULL, st);
      tfm_output *yi = tfm_scalar(g, YS[i], TFM_FLOAT, NULL, st);
      tfm_output *e = tfm_sub(g, yi, tfm_add(g, tfm_mul(g, tfm_variable_value(m), xi, NULL, st),
                                             tfm_variable_value(b), NULL, st), NULL, st);
      loss = tfm_add(g, loss, tfm_square(g, e, NULL, st), NULL, st);
    }
  } else {
    feeds[0] = tfm_placeholder(g, TFM_FLOAT, &n, 1, "x", st);
    feeds[1] = tfm_placeholder(g, TFM_FLOAT, &n, 1, "y", st);
    /* m * x (scalar first), + b (scalar second), y - . */
    tfm_output *e = tfm_sub(g, feeds[1], tfm_add(g, tfm_mul(g, tfm_variable_value(m), feeds[0], NULL, st),
                                                 tfm_variable_value(b), NULL, st), NULL, st);
    loss = tfm_reduce_sum(g, tfm_square(g, e, NULL, st), NULL, 0, 0, "loss", st);
  }
  tfm_optimizer *opt = tfm_optimizer_gradient_descent(0.002, st);
  tfm_op *train = tfm_optimizer_minimize(opt, g, loss, NULL, 0, NULL, "train", st);
  tfm_op *init = tfm_global_variables_initializer(g, st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st);
  int n_feeds = serial ? 0 : 2;
  tfm_callable *c = tfm_session_make_callable(s, feeds, n_feeds, &loss, 1, &train, 1, st);
  OK();
  tfm_tensor *fv[2] = {tfm_tensor_new(TFM_FLOAT, &n, 1, st), tfm_tensor_new(TFM_FLOAT, &n, 1, st)};
  for (int k = 0; k < steps; k++) {
    float *xd = tfm_tensor_data(fv[0]), *yd = tfm_tensor_data(fv[1]);
    for (int i = 0; i < 8; i++) {
      xd[i] = XS[(i + k) % 8];
      yd[i] = YS[(i + k) % 8];
    }
    tfm_tensor *l;
    ck_assert_int_eq(tfm_callable_run(c, fv, &l, st), TFM_OK);
    tfm_tensor_release(l);
  }
  plan_counts(s, programs, n_steps);
  tfm_output *vals[2] = {tfm_variable_value(m), tfm_variable_value(b)};
  tfm_tensor *out[2];
  tfm_session_run(s, NULL, NULL, 0, vals, out, 2, NULL, 0, st);
  OK();
  *m_out = *(float *)tfm_tensor_data(out[0]);
  *b_out = *(float *)tfm_tensor_data(out[1]);
  for (int i = 0; i < 2; i++) {
    tfm_tensor_release(out[i]);
    tfm_tensor_release(fv[i]);
  }
  tfm_callable_delete(c);
  tfm_optimizer_delete(opt);
  tfm_session_delete(s);
  tfm_graph_delete(g);
}

/* The same fit in float64 (the batch order does not change a full-batch step). */
static void reference_fit(int steps, double *m_out, double *b_out) {
  double m = -0.5, b = 1.0;
  for (int k = 0; k < steps; k++) {
    double gm = 0, gb = 0;
    for (int i = 0; i < 8; i++) {
      double e = YS[i] - (m * XS[i] + b);
      gm += -2.0 * e * XS[i];
      gb += -2.0 * e;
    }
    m -= 0.002 * gm;
    b -= 0.002 * gb;
  }
  *m_out = m;
  *b_out = b;
}

/* Runs the fit with programs and with fusion off: one program beside the two
 * updates, bit-identical results, close to float64. */
static void check_fit(bool serial, int min_steps_off) {
  float m_prog, b_prog, m_steps, b_steps;
  int programs, steps, programs_off, steps_off;
  fit(serial, 300, &m_prog, &b_prog, &programs, &steps);
  fuse_set_enabled(false);
  fit(serial, 300, &m_steps, &b_steps, &programs_off, &steps_off);
  ck_assert_int_eq(programs, 1);
  ck_assert_int_eq(programs_off, 0);
  ck_assert_int_eq(steps, 3); /* the program and the two updates */
  ck_assert_int_ge(steps_off, min_steps_off);
  ck_assert_msg(m_prog == m_steps && b_prog == b_steps, "program m %a b %a, steps m %a b %a",
                m_prog, b_prog, m_steps, b_steps);
  double m, b;
  reference_fit(300, &m, &b);
  ck_assert_msg(fabs(m_prog - m) < 1e-4 && fabs(b_prog - b) < 1e-4, "m %g b %g, float64 m %g b %g",
                m_prog, b_prog, m, b);
}

START_TEST(serial_fit_runs_as_one_program_bit_identical_to_steps) {
  check_fit(true, 50); /* 58 scalar steps and two updates without programs */
}
END_TEST

START_TEST(tensor_fit_runs_as_one_program_bit_identical_to_steps) {
  check_fit(false, 10);
}
END_TEST

/* Ops the machine runs through the kernels' own loops (Exp, Tanh, Sigmoid,
 * Maximum, Pow, SquaredDifference), AddN, Identity and StopGradient, fed a
 * placeholder: every fetched value equals the step-by-step plan's bit for bit. */
static void kernel_loop_ops(float xv, float out[6]) {
  tfm_graph *g = tfm_graph_new(st);
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, NULL, 0, "x", st);
  tfm_output *half = tfm_scalar(g, 0.5, TFM_FLOAT, NULL, st);
  tfm_output *e = tfm_exp(g, tfm_mul(g, x, half, NULL, st), "e", st);
  tfm_output *t = tfm_tanh(g, tfm_identity(g, e, NULL, st), "t", st);
  tfm_output *sg = tfm_sigmoid(g, tfm_stop_gradient(g, t, NULL, st), "sg", st);
  tfm_output *mx = tfm_maximum(g, sg, tfm_neg(g, x, NULL, st), "mx", st);
  tfm_output *pw = tfm_pow(g, tfm_add(g, mx, half, NULL, st), tfm_scalar(g, 1.5, TFM_FLOAT, NULL, st), "pw", st);
  tfm_output *parts[3] = {e, pw, tfm_square(g, tfm_sub(g, t, sg, NULL, st), NULL, st)};
  tfm_output *sum = tfm_add_n(g, parts, 3, "sum", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_tensor *fx = tfm_tensor_new(TFM_FLOAT, NULL, 0, st);
  *(float *)tfm_tensor_data(fx) = xv;
  tfm_output *fetches[6] = {e, t, sg, mx, pw, sum};
  tfm_tensor *vals[6];
  tfm_session_run(s, &x, &fx, 1, fetches, vals, 6, NULL, 0, st);
  OK();
  for (int i = 0; i < 6; i++) {
    out[i] = *(float *)tfm_tensor_data(vals[i]);
    tfm_tensor_release(vals[i]);
  }
  int programs, steps;
  plan_counts(s, &programs, &steps);
  ck_assert_int_eq(programs, fuse_enabled() ? 1 : 0);
  tfm_tensor_release(fx);
  tfm_session_delete(s);
  tfm_graph_delete(g);
}

START_TEST(kernel_loop_ops_match_steps_and_libm) {
  const float xs[4] = {-2.5f, -0.3f, 0.7f, 3.25f};
  for (int i = 0; i < 4; i++) {
    float prog[6], steps[6];
    fuse_set_enabled(true);
    kernel_loop_ops(xs[i], prog);
    fuse_set_enabled(false);
    kernel_loop_ops(xs[i], steps);
    for (int k = 0; k < 6; k++)
      ck_assert_msg(memcmp(&prog[k], &steps[k], sizeof(float)) == 0, "x %g value %d: %a vs %a",
                    xs[i], k, prog[k], steps[k]);
    double x = xs[i], e = exp(0.5 * x), t = tanh(e), sg = 1 / (1 + exp(-t));
    double mx = fmax(sg, -x), pw = pow(mx + 0.5, 1.5), sum = e + pw + (t - sg) * (t - sg);
    const double want[6] = {e, t, sg, mx, pw, sum};
    for (int k = 0; k < 6; k++)
      ck_assert_msg(fabs(prog[k] - want[k]) <= 1e-5 * fmax(1, fabs(want[k])), "x %g value %d: %g, want %g",
                    xs[i], k, prog[k], want[k]);
  }
}
END_TEST

/* Vectors of 5 (an odd count: no SIMD-width luck): a scalar on either side of
 * a binary op, ops through the kernels' loops, AddN and a full Sum; every fetched
 * value equals the step-by-step plan's bit for bit and a float64 loop closely. */
static void vector_ops(const float *xv, float *e_out, float *addn_out, float *sum_out) {
  tfm_graph *g = tfm_graph_new(st);
  const int64_t n = 5;
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, &n, 1, "x", st);
  tfm_output *e = tfm_exp(g, tfm_mul(g, x, tfm_scalar(g, 0.5, TFM_FLOAT, NULL, st), NULL, st), "e", st);
  tfm_output *mx = tfm_maximum(g, e, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), "mx", st);
  tfm_output *r = tfm_sub(g, tfm_scalar(g, 2.0, TFM_FLOAT, NULL, st), mx, "r", st);
  tfm_output *q = tfm_div(g, mx, tfm_scalar(g, 3.0, TFM_FLOAT, NULL, st), "q", st);
  tfm_output *parts[3] = {e, r, q};
  tfm_output *addn = tfm_add_n(g, parts, 3, "addn", st);
  tfm_output *sum = tfm_reduce_sum(g, tfm_neg(g, addn, NULL, st), NULL, 0, 0, "sum", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_tensor *fx = tfm_tensor_new(TFM_FLOAT, &n, 1, st);
  memcpy(tfm_tensor_data(fx), xv, sizeof(float) * 5);
  tfm_output *fetches[3] = {e, addn, sum};
  tfm_tensor *vals[3];
  tfm_session_run(s, &x, &fx, 1, fetches, vals, 3, NULL, 0, st);
  OK();
  memcpy(e_out, tfm_tensor_data(vals[0]), sizeof(float) * 5);
  memcpy(addn_out, tfm_tensor_data(vals[1]), sizeof(float) * 5);
  *sum_out = *(float *)tfm_tensor_data(vals[2]);
  for (int i = 0; i < 3; i++) tfm_tensor_release(vals[i]);
  int programs, steps;
  plan_counts(s, &programs, &steps);
  ck_assert_int_eq(programs, fuse_enabled() ? 1 : 0);
  tfm_tensor_release(fx);
  tfm_session_delete(s);
  tfm_graph_delete(g);
}

START_TEST(vector_ops_match_steps_and_float64) {
  const float xs[5] = {-2.5f, -0.3f, 0.0f, 0.7f, 3.25f};
  float e[2][5], addn[2][5], sum[2];
  for (int on = 0; on < 2; on++) {
    fuse_set_enabled(on);
    vector_ops(xs, e[on], addn[on], &sum[on]);
  }
  ck_assert(memcmp(e[0], e[1], sizeof e[0]) == 0);
  ck_assert(memcmp(addn[0], addn[1], sizeof addn[0]) == 0);
  ck_assert(memcmp(&sum[0], &sum[1], sizeof(float)) == 0);
  double want_sum = 0;
  for (int i = 0; i < 5; i++) {
    double ev = exp(0.5 * xs[i]), mx = fmax(ev, 1.0), a = ev + (2.0 - mx) + mx / 3.0;
    want_sum -= a;
    ck_assert_msg(fabs(e[1][i] - ev) <= 1e-6 * ev, "e[%d] %g want %g", i, e[1][i], ev);
    ck_assert_msg(fabs(addn[1][i] - a) <= 1e-5 * fmax(1, fabs(a)), "addn[%d] %g want %g", i, addn[1][i], a);
  }
  ck_assert_msg(fabs(sum[1] - want_sum) <= 1e-5 * fabs(want_sum), "sum %g want %g", sum[1], want_sum);
}
END_TEST

/* A read of v after AssignAdd(v) (a control dependency) sees the new value, and
 * so does an op reading the assignment's output; the scalar ops around them stay
 * in order. */
START_TEST(variable_reads_keep_their_order_around_assignments) {
  tfm_graph *g = tfm_graph_new(st);
  tfm_variable *v = tfm_variable_new(g, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), 0, "v", st);
  tfm_output *before = tfm_mul(g, tfm_add(g, tfm_variable_value(v), tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), NULL, st),
                               tfm_scalar(g, 10.0, TFM_FLOAT, NULL, st), "before", st);
  tfm_output *bump = tfm_assign_add(g, v, tfm_scalar(g, 2.0, TFM_FLOAT, NULL, st), "bump", st);
  tfm_op *bump_op = tfm_output_op(bump);
  tfm_graph_push_control_dependencies(g, &bump_op, 1, st);
  tfm_output *read = tfm_identity(g, tfm_variable_ref(v), "read_after", st);
  tfm_graph_pop_control_dependencies(g, st);
  tfm_output *after = tfm_mul(g, tfm_add(g, read, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), NULL, st),
                              tfm_scalar(g, 10.0, TFM_FLOAT, NULL, st), "after", st);
  tfm_output *through = tfm_neg(g, tfm_sub(g, bump, tfm_scalar(g, 0.5, TFM_FLOAT, NULL, st), NULL, st), "through", st);
  tfm_op *init = tfm_global_variables_initializer(g, st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st);
  OK();
  tfm_output *fetches[3] = {before, after, through};
  tfm_tensor *out[3];
  for (int run = 0; run < 3; run++) {
    float v0 = 1.0f + 2.0f * (float)run;
    tfm_session_run(s, NULL, NULL, 0, fetches, out, 3, NULL, 0, st);
    OK();
    ck_assert_float_eq(*(float *)tfm_tensor_data(out[0]), (v0 + 1) * 10);
    ck_assert_float_eq(*(float *)tfm_tensor_data(out[1]), (v0 + 2 + 1) * 10);
    ck_assert_float_eq(*(float *)tfm_tensor_data(out[2]), -((v0 + 2) - 0.5f));
    for (int i = 0; i < 3; i++) tfm_tensor_release(out[i]);
  }
  tfm_session_delete(s);
  tfm_graph_delete(g);
}
END_TEST

START_TEST(uninitialised_variable_names_it_and_its_reader) {
  tfm_graph *g = tfm_graph_new(st);
  tfm_variable *v = tfm_variable_new(g, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), 0, "weight", st);
  tfm_output *x = tfm_scalar(g, 3.0, TFM_FLOAT, NULL, st);
  tfm_output *y = tfm_mul(g, tfm_add(g, x, tfm_variable_value(v), NULL, st), x, "y", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_tensor *out = NULL;
  ck_assert_int_eq(tfm_session_run(s, NULL, NULL, 0, &y, &out, 1, NULL, 0, st), TFM_FAILED_PRECONDITION);
  ck_assert_ptr_null(out);
  const char *msg = tfm_status_message(st);
  ck_assert_msg(strstr(msg, "uninitialized value weight") && strstr(msg, "weight/read"), "%s", msg);
  int programs, steps;
  plan_counts(s, &programs, &steps);
  ck_assert_int_eq(programs, 1);
  tfm_session_delete(s);
  tfm_graph_delete(g);
}
END_TEST

/* A fetched value the caller still holds is not overwritten by the next run,
 * and runs whose fetches are released allocate nothing. */
START_TEST(held_fetch_is_kept_and_steady_state_allocates_nothing) {
  tfm_graph *g = tfm_graph_new(st);
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, NULL, 0, "x", st);
  tfm_output *y = tfm_add(g, tfm_mul(g, x, x, NULL, st), tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), "y", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_tensor *fx = tfm_tensor_new(TFM_FLOAT, NULL, 0, st);
  tfm_callable *c = tfm_session_make_callable(s, &x, 1, &y, 1, NULL, 0, st);
  OK();
  tfm_tensor *held, *out;
  *(float *)tfm_tensor_data(fx) = 2.0f;
  ck_assert_int_eq(tfm_callable_run(c, &fx, &held, st), TFM_OK);
  *(float *)tfm_tensor_data(fx) = 3.0f;
  ck_assert_int_eq(tfm_callable_run(c, &fx, &out, st), TFM_OK);
  ck_assert_float_eq(*(float *)tfm_tensor_data(held), 5.0f);
  ck_assert_float_eq(*(float *)tfm_tensor_data(out), 10.0f);
  tfm_tensor_release(held);
  tfm_tensor_release(out);
  int programs, steps;
  plan_counts(s, &programs, &steps);
  ck_assert_int_eq(programs, 1);
  uint64_t before = tfm_debug_alloc_count();
  for (int r = 0; r < 20; r++) {
    *(float *)tfm_tensor_data(fx) = (float)r;
    ck_assert_int_eq(tfm_callable_run(c, &fx, &out, st), TFM_OK);
    ck_assert_float_eq(*(float *)tfm_tensor_data(out), (float)r * (float)r + 1.0f);
    tfm_tensor_release(out);
  }
  ck_assert_uint_eq(tfm_debug_alloc_count() - before, 0);
  tfm_callable_delete(c);
  tfm_tensor_release(fx);
  tfm_session_delete(s);
  tfm_graph_delete(g);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("small_prog");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, serial_fit_runs_as_one_program_bit_identical_to_steps);
  tcase_add_test(tc, tensor_fit_runs_as_one_program_bit_identical_to_steps);
  tcase_add_test(tc, kernel_loop_ops_match_steps_and_libm);
  tcase_add_test(tc, vector_ops_match_steps_and_float64);
  tcase_add_test(tc, variable_reads_keep_their_order_around_assignments);
  tcase_add_test(tc, uninitialised_variable_names_it_and_its_reader);
  tcase_add_test(tc, held_fetch_is_kept_and_steady_state_allocates_nothing);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
