/* Array, layout, state and control ops end to end through a session (public API
 * only): each case builds a small graph, runs it and compares with values derived
 * by hand or by a plain loop over the inputs. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tfmini/tfmini.h"

static tfm_status *st;
static tfm_graph *g;
static tfm_session *sess;

static void setup(void) {
  st = tfm_status_new();
  g = tfm_graph_new(st);
  sess = tfm_session_new(g, st);
}

static void teardown(void) {
  tfm_session_delete(sess);
  tfm_graph_delete(g);
  tfm_status_delete(st);
}

#define OK() ck_assert_msg(tfm_status_code(st) == TFM_OK, "%s", tfm_status_message(st))
#define HAS(msg, part) ck_assert_msg(strstr((msg), (part)) != NULL, "'%s' lacks '%s'", (msg), (part))

/* Runs one fetch with up to one feed; returns the value (caller releases). */
static tfm_tensor *eval(tfm_output *fetch, tfm_output *feed, tfm_tensor *value) {
  tfm_tensor *out = NULL;
  tfm_code rc = tfm_session_run(sess, &feed, &value, feed ? 1 : 0, &fetch, &out, 1, NULL, 0, st);
  ck_assert_msg(rc == TFM_OK, "%s", tfm_status_message(st));
  return out;
}

static float *F(tfm_tensor *t) { return tfm_tensor_data(t); }
static int32_t *I(tfm_tensor *t) { return tfm_tensor_data(t); }

static tfm_tensor *iota(const int64_t *dims, int rank) {
  tfm_tensor *t = tfm_tensor_new(TFM_FLOAT, dims, rank, st);
  for (int64_t i = 0; i < tfm_tensor_num_elements(t); i++) F(t)[i] = (float)i;
  return t;
}

static tfm_output *build1(const char *type, tfm_output *const *in, int n, const char *attr, int64_t v) {
  tfm_op_builder *b = tfm_op_builder_new(g, type, NULL, st);
  tfm_op_builder_add_inputs(b, in, n);
  if (attr) tfm_op_builder_set_attr_int(b, attr, v);
  tfm_op *op = tfm_op_builder_finish(b, st);
  OK();
  return tfm_op_output(op, 0);
}

START_TEST(reshape_infers_minus_one_at_run_time) {
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, (int64_t[]){-1, 6}, 2, "x", st);
  tfm_output *r = tfm_reshape(g, x, (int64_t[]){-1, 2, 3}, 3, NULL, st);
  tfm_tensor *v = iota((int64_t[]){4, 6}, 2);
  tfm_tensor *out = eval(r, x, v);
  ck_assert_int_eq(tfm_tensor_dim(out, 0), 4);
  ck_assert_int_eq(tfm_tensor_dim(out, 2), 3);
  for (int i = 0; i < 24; i++) ck_assert_float_eq(F(out)[i], i);
  tfm_tensor_release(out);
  /* Shape of the fed value, not of the placeholder */
  out = eval(tfm_shape(g, x, NULL, st), x, v);
  ck_assert_int_eq(I(out)[0], 4);
  ck_assert_int_eq(I(out)[1], 6);
  tfm_tensor_release(out);
  /* 24 elements cannot become [5, -1] */
  tfm_output *bad = tfm_reshape(g, x, (int64_t[]){5, -1}, 2, "bad", st);
  tfm_tensor *none = NULL;
  ck_assert_int_ne(tfm_session_run(sess, &x, &v, 1, &bad, &none, 1, NULL, 0, st), TFM_OK);
  HAS(tfm_status_message(st), "bad");
  tfm_tensor_release(v);
}
END_TEST

START_TEST(transpose_matches_a_loop) {
  int64_t d[] = {2, 3, 4};
  tfm_tensor *v = iota(d, 3);
  tfm_output *c = tfm_constant(g, v, NULL, st);
  tfm_tensor *out = eval(tfm_transpose(g, c, (int32_t[]){2, 0, 1}, 3, NULL, st), NULL, NULL);
  /* out[k][i][j] = v[i][j][k] */
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 4; k++) ck_assert_float_eq(F(out)[(k * 2 + i) * 3 + j], F(v)[(i * 3 + j) * 4 + k]);
  tfm_tensor_release(out);
  tfm_tensor_release(v);
}
END_TEST

START_TEST(expand_squeeze_zeros_ones_fill) {
  tfm_tensor *v = iota((int64_t[]){3}, 1);
  tfm_output *c = tfm_constant(g, v, NULL, st);
  tfm_output *e = tfm_expand_dims(g, c, 0, NULL, st);
  tfm_output *s = tfm_squeeze(g, e, NULL, 0, NULL, st);
  tfm_tensor *out = eval(e, NULL, NULL);
  ck_assert_int_eq(tfm_tensor_rank(out), 2);
  ck_assert_int_eq(tfm_tensor_dim(out, 0), 1);
  tfm_tensor_release(out);
  out = eval(s, NULL, NULL);
  ck_assert_int_eq(tfm_tensor_rank(out), 1);
  ck_assert_float_eq(F(out)[2], 2);
  tfm_tensor_release(out);
  /* large zeros/ones go through Fill */
  out = eval(tfm_ones(g, (int64_t[]){40, 30}, 2, TFM_FLOAT, NULL, st), NULL, NULL);
  for (int i = 0; i < 1200; i++) ck_assert_float_eq(F(out)[i], 1);
  tfm_tensor_release(out);
  out = eval(tfm_zeros(g, (int64_t[]){2, 2}, 2, TFM_INT32, NULL, st), NULL, NULL);
  for (int i = 0; i < 4; i++) ck_assert_int_eq(I(out)[i], 0);
  tfm_tensor_release(out);
  out = eval(tfm_fill(g, tfm_constant_i32(g, (int32_t[]){2, 3}, 2, NULL, st),
                      tfm_scalar(g, 7.5, TFM_FLOAT, NULL, st), NULL, st), NULL, NULL);
  ck_assert_int_eq(tfm_tensor_num_elements(out), 6);
  ck_assert_float_eq(F(out)[5], 7.5f);
  tfm_tensor_release(out);
  tfm_tensor_release(v);
}
END_TEST

START_TEST(tile_concat_pack_slice_pad_strided) {
  int64_t d[] = {2, 3};
  tfm_tensor *v = iota(d, 2);
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, (int64_t[]){-1, 3}, 2, "x", st);
  /* Tile by [2, 1]: rows repeat */
  tfm_tensor *out = eval(build1("Tile", (tfm_output *[]){x, tfm_constant_i32(g, (int32_t[]){2, 1}, 2, NULL, st)},
                                2, NULL, 0), x, v);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 3; j++) ck_assert_float_eq(F(out)[i * 3 + j], (i % 2) * 3 + j);
  tfm_tensor_release(out);
  /* ConcatV2 along 1 */
  tfm_output *axis1 = tfm_scalar(g, 1, TFM_INT32, NULL, st);
  out = eval(build1("ConcatV2", (tfm_output *[]){x, x, axis1}, 3, "N", 2), x, v);
  ck_assert_int_eq(tfm_tensor_dim(out, 1), 6);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 6; j++) ck_assert_float_eq(F(out)[i * 6 + j], i * 3 + j % 3);
  tfm_tensor_release(out);
  /* Pack on a new first axis: out[k][i][j] = x[i][j] for both k */
  out = eval(build1("Pack", (tfm_output *[]){x, x}, 2, "N", 2), x, v);
  ck_assert_int_eq(tfm_tensor_rank(out), 3);
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < 6; i++) ck_assert_float_eq(F(out)[k * 6 + i], i);
  tfm_tensor_release(out);
  /* Slice rows 1.., cols 1..2 */
  out = eval(build1("Slice", (tfm_output *[]){x, tfm_constant_i32(g, (int32_t[]){1, 1}, 2, NULL, st),
                                              tfm_constant_i32(g, (int32_t[]){-1, 2}, 2, NULL, st)}, 3, NULL, 0),
             x, v);
  ck_assert_int_eq(tfm_tensor_num_elements(out), 2);
  ck_assert_float_eq(F(out)[0], 4);
  ck_assert_float_eq(F(out)[1], 5);
  tfm_tensor_release(out);
  /* StridedSlice x[:, -1] */
  tfm_op_builder *b = tfm_op_builder_new(g, "StridedSlice", NULL, st);
  tfm_op_builder_add_inputs(b, (tfm_output *[]){x, tfm_constant_i32(g, (int32_t[]){0, -1}, 2, NULL, st),
                                                 tfm_constant_i32(g, (int32_t[]){0, 0}, 2, NULL, st),
                                                 tfm_constant_i32(g, (int32_t[]){1, 1}, 2, NULL, st)}, 4);
  tfm_op_builder_set_attr_int(b, "begin_mask", 1);
  tfm_op_builder_set_attr_int(b, "end_mask", 1);
  tfm_op_builder_set_attr_int(b, "shrink_axis_mask", 2);
  out = eval(tfm_op_output(tfm_op_builder_finish(b, st), 0), x, v);
  OK();
  ck_assert_int_eq(tfm_tensor_rank(out), 1);
  ck_assert_float_eq(F(out)[0], 2);
  ck_assert_float_eq(F(out)[1], 5);
  tfm_tensor_release(out);
  tfm_tensor_release(v);
}
END_TEST

START_TEST(variables_initialise_and_update) {
  float init[] = {1, 2, 3}, delta[] = {0.5f, 0.25f, -1};
  tfm_output *iv = tfm_constant_f32(g, init, (int64_t[]){3}, 1, NULL, st);
  tfm_variable *v = tfm_variable_new(g, iv, 1, "v", st);
  tfm_output *add = tfm_assign_add(g, v, tfm_constant_f32(g, delta, (int64_t[]){3}, 1, NULL, st), NULL, st);
  tfm_op *init_op = tfm_global_variables_initializer(g, st);
  OK();
  /* reading first fails, naming the variable */
  tfm_output *read = tfm_variable_value(v);
  tfm_tensor *none = NULL;
  ck_assert_int_eq(tfm_session_run(sess, NULL, NULL, 0, &read, &none, 1, NULL, 0, st), TFM_FAILED_PRECONDITION);
  HAS(tfm_status_message(st), "v");
  ck_assert_int_eq(tfm_session_run(sess, NULL, NULL, 0, NULL, NULL, 0, &init_op, 1, st), TFM_OK);
  tfm_tensor *before = eval(read, NULL, NULL);
  tfm_tensor_release(eval(add, NULL, NULL));
  tfm_tensor *after = eval(add, NULL, NULL);
  for (int i = 0; i < 3; i++) {
    ck_assert_float_eq(F(before)[i], init[i]); /* a fetched value does not change later */
    ck_assert_float_eq(F(after)[i], init[i] + 2 * delta[i]);
  }
  tfm_tensor_release(before);
  tfm_tensor_release(after);
  /* Assign replaces; AssignSub subtracts */
  tfm_output *set = tfm_assign(g, v, tfm_constant_f32(g, delta, (int64_t[]){3}, 1, NULL, st), NULL, st);
  tfm_tensor_release(eval(set, NULL, NULL));
  tfm_tensor *sub = eval(tfm_assign_sub(g, v, iv, NULL, st), NULL, NULL);
  for (int i = 0; i < 3; i++) ck_assert_float_eq(F(sub)[i], delta[i] - init[i]);
  tfm_tensor_release(sub);
}
END_TEST

START_TEST(get_variable_initializers_fill_values) {
  tfm_variable *c = tfm_get_variable(g, "c", TFM_FLOAT, (int64_t[]){2, 2}, 2, TFM_INIT_CONSTANT, 0.5, 0, -1, 1, st);
  tfm_variable *o = tfm_get_variable(g, "o", TFM_DOUBLE, (int64_t[]){3}, 1, TFM_INIT_ONES, 0, 0, -1, 1, st);
  OK();
  tfm_op *init = tfm_global_variables_initializer(g, st);
  ck_assert_int_eq(tfm_session_run(sess, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st), TFM_OK);
  tfm_tensor *cv = tfm_session_variable_value(sess, c, st), *ov = tfm_session_variable_value(sess, o, st);
  OK();
  for (int i = 0; i < 4; i++) ck_assert_float_eq(F(cv)[i], 0.5f);
  for (int i = 0; i < 3; i++) ck_assert_double_eq(((double *)tfm_tensor_data(ov))[i], 1.0);
  tfm_tensor_release(cv);
  tfm_tensor_release(ov);
}
END_TEST

START_TEST(glorot_uniform_stays_within_its_limit) {
  tfm_graph_set_seed(g, 7);
  tfm_variable *k = tfm_get_variable(g, "k", TFM_FLOAT, (int64_t[]){20, 30}, 2, TFM_INIT_GLOROT_UNIFORM, 0, 0, -1, 1, st);
  OK();
  tfm_op *init = tfm_global_variables_initializer(g, st);
  ck_assert_int_eq(tfm_session_run(sess, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st), TFM_OK);
  tfm_tensor *v = tfm_session_variable_value(sess, k, st);
  double limit = sqrt(6.0 / 50.0), sum = 0, sq = 0;
  for (int i = 0; i < 600; i++) {
    ck_assert(fabsf(F(v)[i]) <= limit);
    sum += F(v)[i];
    sq += (double)F(v)[i] * F(v)[i];
  }
  /* U(-l, l) has mean 0 and variance l^2/3; 600 samples land well within 5 sd */
  ck_assert(fabs(sum / 600) < 5 * limit / sqrt(3.0 * 600));
  ck_assert(fabs(sq / 600 - limit * limit / 3) < 0.3 * limit * limit / 3);
  tfm_tensor_release(v);
}
END_TEST

START_TEST(placeholders_must_be_fed) {
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, (int64_t[]){-1, 3}, 2, "inputs", st);
  tfm_output *y = tfm_identity(g, x, NULL, st);
  tfm_tensor *none = NULL;
  ck_assert_int_eq(tfm_session_run(sess, NULL, NULL, 0, &y, &none, 1, NULL, 0, st), TFM_INVALID_ARGUMENT);
  HAS(tfm_status_message(st), "inputs");
  /* StopGradient and the no-op group run */
  tfm_tensor *v = iota((int64_t[]){1, 3}, 2);
  tfm_tensor *out = eval(tfm_stop_gradient(g, x, NULL, st), x, v);
  ck_assert_float_eq(F(out)[2], 2);
  tfm_tensor_release(out);
  tfm_op *grp = tfm_group(g, (tfm_op *[]){tfm_output_op(y)}, 1, NULL, st);
  ck_assert_int_eq(tfm_session_run(sess, &x, &v, 1, NULL, NULL, 0, &grp, 1, st), TFM_OK);
  tfm_tensor_release(v);
}
END_TEST

int main(void) {
  Suite *s = suite_create("ops_array");
  TCase *tc = tcase_create("run");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, reshape_infers_minus_one_at_run_time);
  tcase_add_test(tc, transpose_matches_a_loop);
  tcase_add_test(tc, expand_squeeze_zeros_ones_fill);
  tcase_add_test(tc, tile_concat_pack_slice_pad_strided);
  tcase_add_test(tc, variables_initialise_and_update);
  tcase_add_test(tc, get_variable_initializers_fill_values);
  tcase_add_test(tc, glorot_uniform_stays_within_its_limit);
  tcase_add_test(tc, placeholders_must_be_fed);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
