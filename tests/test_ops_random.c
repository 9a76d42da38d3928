/* The random op family: the builders' op names (as tf.random_normal & co. name
 * them), seeds from graph_op_seeds, reproducible sequences (same seeds: same
 * numbers in a new session or a new graph; successive runs advance), the scaling
 * of each distribution (sample moments against the requested parameters), and
 * shapes known only at run time. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "op_check.h"

static tfm_status *st;
static graph_t *g;

static void setup(void) {
  st = tfm_status_new();
  g = graph_new(st);
  ck_assert_ptr_nonnull(g);
}

static void teardown(void) {
  graph_delete(g);
  tfm_status_delete(st);
}

#define OK() ck_assert_msg(tfm_status_code(st) == TFM_OK, "%s", tfm_status_message(st))

static void expect_op(graph_t *gr, const char *name, const char *type) {
  node_t *n = graph_find_op(gr, name);
  ck_assert_msg(n != NULL, "no op '%s'", name);
  ck_assert_str_eq(n->type, type);
}

START_TEST(builders_name_ops_as_tensorflow_does) {
  int64_t d[] = {2, 3};
  tfm_output *a = tfm_random_normal(g, d, 2, TFM_FLOAT, 1, 2, -1, NULL, st);
  OK();
  ck_assert_str_eq(tfm_op_name(tfm_output_op(a)), "random_normal");
  ck_assert_str_eq(tfm_op_type(tfm_output_op(a)), "Add");
  expect_op(g, "random_normal/shape", "Const");
  expect_op(g, "random_normal/mean", "Const");
  expect_op(g, "random_normal/stddev", "Const");
  expect_op(g, "random_normal/RandomStandardNormal", "RandomStandardNormal");
  expect_op(g, "random_normal/mul", "Mul");
  tfm_output *b = tfm_random_normal(g, d, 2, TFM_FLOAT, 0, 1, -1, NULL, st);
  ck_assert_str_eq(tfm_op_name(tfm_output_op(b)), "random_normal_1");
  tfm_truncated_normal(g, d, 2, TFM_DOUBLE, 0, 1, -1, "init", st);
  expect_op(g, "init/TruncatedNormal", "TruncatedNormal");
  expect_op(g, "init", "Add");
  tfm_output *u = tfm_random_uniform(g, d, 2, TFM_FLOAT, -1, 1, -1, NULL, st);
  OK();
  ck_assert_str_eq(tfm_op_name(tfm_output_op(u)), "random_uniform");
  expect_op(g, "random_uniform/min", "Const");
  expect_op(g, "random_uniform/max", "Const");
  expect_op(g, "random_uniform/RandomUniform", "RandomUniform");
  expect_op(g, "random_uniform/sub", "Sub");
  expect_op(g, "random_uniform/mul", "Mul");
  ck_assert_int_eq(tfm_output_rank(u), 2);
  ck_assert_int_eq(tfm_output_dim(u, 1), 3);
  ck_assert_ptr_null(tfm_random_uniform(g, d, 2, TFM_INT32, 0, 1, -1, NULL, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
}
END_TEST

START_TEST(op_seeds_come_from_the_graph_rule) {
  int64_t d = 4;
  tfm_graph_set_seed(g, 42);
  tfm_output *a = tfm_random_normal(g, &d, 1, TFM_FLOAT, 0, 1, 7, NULL, st);
  OK();
  int64_t s1, s2;
  graph_t *ref = graph_new(st);
  tfm_graph_set_seed(ref, 42);
  graph_op_seeds(ref, 7, true, &s1, &s2);
  node_t *rnd = graph_find_op(g, "random_normal/RandomStandardNormal");
  ck_assert_int_eq(node_attr_int(rnd, "seed", -1), s1);
  ck_assert_int_eq(node_attr_int(rnd, "seed2", -1), s2);
  ck_assert(rnd->def->flags & OP_STATEFUL);
  (void)a;
  graph_delete(ref);
}
END_TEST

static tensor_t *run_once(tfm_session *s, tfm_output *o) {
  tfm_tensor *v = NULL;
  tfm_session_run(s, NULL, NULL, 0, &o, &v, 1, NULL, 0, st);
  ck_assert_msg(v != NULL, "%s", tfm_status_message(st));
  return v;
}

static bool same_values(const tensor_t *a, const tensor_t *b) {
  return a->nbytes == b->nbytes && memcmp(a->data, b->data, a->nbytes) == 0;
}

START_TEST(same_seeds_give_the_same_sequence) {
  int64_t d[] = {3, 5};
  graph_t *g2 = graph_new(st);
  tfm_output *a = tfm_random_uniform(g, d, 2, TFM_FLOAT, 0, 1, 123, NULL, st);
  tfm_output *b = tfm_random_uniform(g2, d, 2, TFM_FLOAT, 0, 1, 123, NULL, st);
  tfm_output *c = tfm_random_uniform(g, d, 2, TFM_FLOAT, 0, 1, 124, NULL, st);
  OK();
  tfm_session *s1 = tfm_session_new(g, st), *s2 = tfm_session_new(g2, st), *s3 = tfm_session_new(g, st);
  tensor_t *a1 = run_once(s1, a), *a2 = run_once(s1, a), *b1 = run_once(s2, b), *a1_again = run_once(s3, a);
  tensor_t *c1 = run_once(s1, c);
  ck_assert_msg(same_values(a1, b1), "another graph with the same seeds differs");
  ck_assert_msg(same_values(a1, a1_again), "a new session does not restart the sequence");
  ck_assert_msg(!same_values(a1, a2), "a second run repeats the first");
  ck_assert_msg(!same_values(a1, c1), "another op seed gives the same numbers");
  tensor_t *all[] = {a1, a2, b1, a1_again, c1};
  for (int i = 0; i < 5; i++) tensor_unref(all[i]);
  tfm_session_delete(s1);
  tfm_session_delete(s2);
  tfm_session_delete(s3);
  graph_delete(g2);
}
END_TEST

/* Sample mean and standard deviation of a float64 tensor. */
static void moments(const tensor_t *t, double *mean, double *sd, double *lo, double *hi) {
  double s = 0, s2 = 0;
  *lo = INFINITY;
  *hi = -INFINITY;
  for (int64_t i = 0; i < t->num_elements; i++) {
    double v = TENSOR_F64(t)[i];
    s += v;
    s2 += v * v;
    *lo = v < *lo ? v : *lo;
    *hi = v > *hi ? v : *hi;
  }
  *mean = s / (double)t->num_elements;
  *sd = sqrt(s2 / (double)t->num_elements - *mean * *mean);
}

START_TEST(distributions_have_the_requested_parameters) {
  int64_t n = 40000;
  tfm_output *nrm = tfm_random_normal(g, &n, 1, TFM_DOUBLE, 3, 2, 1, NULL, st);
  tfm_output *tn = tfm_truncated_normal(g, &n, 1, TFM_DOUBLE, -1, 0.5, 2, NULL, st);
  tfm_output *un = tfm_random_uniform(g, &n, 1, TFM_DOUBLE, -2, 6, 3, NULL, st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  double m, sd, lo, hi, se = 1 / sqrt((double)n);
  tensor_t *v = run_once(s, nrm);
  moments(v, &m, &sd, &lo, &hi);
  ck_assert_msg(fabs(m - 3) < 5 * 2 * se && fabs(sd - 2) < 0.05, "normal: mean %g sd %g", m, sd);
  tensor_unref(v);
  v = run_once(s, tn);
  moments(v, &m, &sd, &lo, &hi);
  /* N(0,1) cut at +-2 has sd 0.8796 */
  ck_assert_msg(lo >= -2 && hi <= 0, "truncated normal outside mean +- 2 sd: [%g, %g]", lo, hi);
  ck_assert_msg(fabs(m + 1) < 5 * 0.5 * se && fabs(sd - 0.5 * 0.8796) < 0.02, "truncated: mean %g sd %g", m, sd);
  tensor_unref(v);
  v = run_once(s, un);
  moments(v, &m, &sd, &lo, &hi);
  ck_assert_msg(lo >= -2 && hi < 6, "uniform outside [-2, 6): [%g, %g]", lo, hi);
  ck_assert_msg(fabs(m - 2) < 5 * (8 / sqrt(12)) * se && fabs(sd - 8 / sqrt(12)) < 0.05, "uniform: mean %g sd %g", m, sd);
  tensor_unref(v);
  tfm_session_delete(s);
}
END_TEST

START_TEST(uniform_int_and_run_time_shapes) {
  int64_t two = 2;
  output_t *shape = tfm_placeholder(g, TFM_INT32, &two, 1, "shape", st);
  output_t *in[3] = {shape, tfm_scalar(g, -3, TFM_INT64, "lo", st), tfm_scalar(g, 4, TFM_INT64, "hi", st)};
  attr_t at[] = {ATTR_TYPE_V("Tout", TFM_INT64), ATTR_I_V("seed", 5)};
  node_t *n = oc_op(g, "RandomUniformInt", in, 3, at, 2, st);
  ck_assert_int_eq(n->outputs[0].shape.rank, 2);
  ck_assert_int_eq(n->outputs[0].shape.dim[0], -1);
  double dims[] = {50, 20};
  tensor_t *sv = oc_tensor(TFM_INT32, &two, 1, dims);
  tensor_t *r = oc_run(g, &shape, &sv, 1, &n->outputs[0], st);
  ck_assert_msg(r != NULL, "%s", tfm_status_message(st));
  ck_assert_int_eq(r->shape.dim[0], 50);
  ck_assert_int_eq(r->shape.dim[1], 20);
  bool seen[7] = {false};
  for (int64_t i = 0; i < r->num_elements; i++) {
    int64_t v = TENSOR_I64(r)[i];
    ck_assert_msg(v >= -3 && v < 4, "value %lld outside [-3, 4)", (long long)v);
    seen[v + 3] = true;
  }
  for (int i = 0; i < 7; i++) ck_assert_msg(seen[i], "value %d never drawn in 1000", i - 3);
  tensor_unref(r);
  tensor_unref(sv);
}
END_TEST

static Suite *ops_random_suite(void) {
  Suite *s = suite_create("ops_random");
  TCase *tc = tcase_create("random");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, builders_name_ops_as_tensorflow_does);
  tcase_add_test(tc, op_seeds_come_from_the_graph_rule);
  tcase_add_test(tc, same_seeds_give_the_same_sequence);
  tcase_add_test(tc, distributions_have_the_requested_parameters);
  tcase_add_test(tc, uniform_int_and_run_time_shapes);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(ops_random_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
