/* saver: tf.train.Saver. The save/ subgraph carries TensorFlow's names; saving and
 * restoring work through the C API and by running those ops; every dtype and
 * shape round-trips; TensorFlow's own checkpoints restore to the values of their
 * listings and are rewritten byte for byte; errors name the variable and leave
 * every variable untouched; max_to_keep, keep_checkpoint_every_n_hours,
 * latest_checkpoint and the timer follow TF's rules. Optimizer resumes are in
 * test_saver_resume.c. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "graph/graph.h"
#include "io/bundle.h"
#include "io/checkpoint_state.h"
#include "io/saver.h"
#include "io_testutil.h"
#include "tfmini/tfmini.h"

#define OK(st) ck_assert_msg(tfm_status_code(st) == TFM_OK, "%s", tfm_status_message(st))

static bool file_exists(const char *dir, const char *name) {
  char p[1200];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  struct stat sb;
  return stat(p, &sb) == 0;
}

static tfm_variable *var_from(tfm_graph *g, tfm_tensor *t, const char *name, tfm_status *st) {
  tfm_output *c = tfm_constant(g, t, NULL, st);
  OK(st);
  tfm_variable *v = tfm_variable_new(g, c, 1, name, st);
  OK(st);
  tfm_tensor_release(t);
  return v;
}

static tfm_variable *var_f32(tfm_graph *g, const char *name, int64_t n, float base, tfm_status *st) {
  tfm_tensor *t = tfm_tensor_new(TFM_FLOAT, &n, 1, st);
  OK(st);
  float *p = tfm_tensor_data(t);
  for (int64_t i = 0; i < n; i++) p[i] = base + (float)i;
  return var_from(g, t, name, st);
}

static void run_init(tfm_session *s, tfm_graph *g, tfm_status *st) {
  tfm_op *init = tfm_global_variables_initializer(g, st);
  OK(st);
  tfm_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st);
  OK(st);
}

static float get_f32(tfm_session *s, tfm_variable *v, int64_t i, tfm_status *st) {
  tfm_tensor *t = tfm_session_variable_value(s, v, st);
  OK(st);
  float x = ((float *)tfm_tensor_data(t))[i];
  tfm_tensor_release(t);
  return x;
}

static void set_f32(tfm_session *s, tfm_graph *g, tfm_variable *v, float x, tfm_status *st) {
  tfm_tensor *cur = tfm_session_variable_value(s, v, st);
  OK(st);
  int64_t dims[8];
  int r = tfm_tensor_rank(cur);
  for (int i = 0; i < r; i++) dims[i] = tfm_tensor_dim(cur, i);
  tfm_tensor *t = tfm_tensor_new(TFM_FLOAT, dims, r, st);
  for (int64_t i = 0; i < tfm_tensor_num_elements(t); i++) ((float *)tfm_tensor_data(t))[i] = x;
  tfm_output *a = tfm_assign(g, v, tfm_constant(g, t, NULL, st), NULL, st);
  OK(st);
  tfm_op *op = tfm_output_op(a);
  tfm_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &op, 1, st);
  OK(st);
  tfm_tensor_release(t);
  tfm_tensor_release(cur);
}

static tfm_op *op_named(tfm_graph *g, const char *name, tfm_status *st) {
  tfm_op *op = tfm_graph_get_operation_by_name(g, name, st);
  ck_assert_msg(op != NULL, "no op '%s': %s", name, tfm_status_message(st));
  return op;
}

/* ---- the subgraph ---- */

START_TEST(test_save_ops_carry_tensorflow_names) {
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  var_f32(g, "w", 2, 0, st);
  var_f32(g, "b", 1, 0, st);
  tfm_saver *s = tfm_saver_new(g, NULL, NULL, 0, -1, 0, st);
  OK(st);
  /* formats.md 4.2: keys sorted, SaveV2 takes the VariableV2 outputs themselves. */
  tfm_op *save = op_named(g, "save/SaveV2", st);
  ck_assert_str_eq(tfm_op_type(save), "SaveV2");
  ck_assert_int_eq(tfm_op_num_inputs(save), 5);
  const char *want_in[5] = {"save/Const", "save/SaveV2/tensor_names", "save/SaveV2/shape_and_slices", "b", "w"};
  for (int i = 0; i < 5; i++) ck_assert_str_eq(tfm_op_name(tfm_output_op(tfm_op_input(save, i))), want_in[i]);
  tfm_op *names = op_named(g, "save/SaveV2/tensor_names", st);
  const tensor_t *nv = names->outputs[0].const_value;
  ck_assert_int_eq(nv->num_elements, 2);
  ck_assert_str_eq(TENSOR_STR(nv)[0].data, "b");
  ck_assert_str_eq(TENSOR_STR(nv)[1].data, "w");
  tfm_op *cd = op_named(g, "save/control_dependency", st);
  ck_assert_str_eq(tfm_op_type(cd), "Identity");
  ck_assert_int_eq(tfm_op_num_control_inputs(cd), 1);
  ck_assert_ptr_eq(tfm_op_control_input(cd, 0), save);
  ck_assert_str_eq(tfm_op_type(op_named(g, "save/RestoreV2", st)), "RestoreV2");
  ck_assert_int_eq(tfm_op_num_outputs(op_named(g, "save/RestoreV2", st)), 2);
  tfm_op *a0 = op_named(g, "save/Assign", st), *a1 = op_named(g, "save/Assign_1", st);
  ck_assert_str_eq(tfm_op_name(tfm_output_op(tfm_op_input(a0, 0))), "b");
  ck_assert_int_eq(tfm_output_index(tfm_op_input(a1, 1)), 1);
  tfm_op *all = op_named(g, "save/restore_all", st);
  ck_assert_int_eq(tfm_op_num_control_inputs(all), 2);
  saver_def_t def;
  saver_get_def(s, &def);
  ck_assert_str_eq(def.filename_tensor_name, "save/Const:0");
  ck_assert_str_eq(def.save_tensor_name, "save/control_dependency:0");
  ck_assert_str_eq(def.restore_op_name, "save/restore_all");
  ck_assert_int_eq(def.max_to_keep, 5);
  ck_assert_float_eq(def.keep_checkpoint_every_n_hours, 10000.0f);
  ck_assert_int_eq(def.version, 2);
  ck_assert_int_eq(def.sharded, 0);
  /* A second saver: scope save_1, as TF. */
  tfm_saver *s2 = tfm_saver_new(g, NULL, NULL, 0, 0, 0, st);
  OK(st);
  saver_get_def(s2, &def);
  ck_assert_str_eq(def.filename_tensor_name, "save_1/Const:0");
  ck_assert_str_eq(def.restore_op_name, "save_1/restore_all");
  ck_assert_int_eq(def.max_to_keep, 0);
  tfm_saver_delete(s2);
  tfm_saver_delete(s);
  tfm_graph_delete(g);
  tfm_status_delete(st);
}
END_TEST

START_TEST(test_saver_new_rejects_bad_lists) {
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  ck_assert_ptr_null(tfm_saver_new(g, NULL, NULL, 0, -1, 0, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "no variables"));
  tfm_variable *v[2] = {var_f32(g, "a", 1, 0, st), var_f32(g, "b", 1, 0, st)};
  const char *keys[2] = {"same", "same"};
  ck_assert_ptr_null(tfm_saver_new(g, v, keys, 2, -1, 0, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "same"));
  tfm_variable *twice[2] = {v[0], v[0]};
  ck_assert_ptr_null(tfm_saver_new(g, twice, NULL, 2, -1, 0, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  tfm_variable *null_var[1] = {NULL};
  ck_assert_ptr_null(tfm_saver_new(g, null_var, NULL, 1, -1, 0, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  tfm_graph_delete(g);
  tfm_status_delete(st);
}
END_TEST

/* ---- round trips ---- */

/* One variable per dtype and shape, filled from a formula (the reference). */
typedef struct case_var {
  tfm_dtype dt;
  int rank;
  int64_t dims[3];
} case_var_t;

static const case_var_t round_trip_cases[] = {
    {TFM_FLOAT, 0, {0}},        {TFM_FLOAT, 2, {0, 3}},  {TFM_FLOAT, 1, {1 << 19}}, /* 2 MB: in place */
    {TFM_DOUBLE, 2, {3, 5}},    {TFM_INT32, 1, {7}},     {TFM_UINT8, 3, {2, 3, 4}},
    {TFM_INT64, 1, {300000}},   {TFM_BOOL, 1, {9}},      {TFM_STRING, 1, {4}},
    {TFM_STRING, 0, {0}},       {TFM_INT32, 1, {0}},
};
#define N_CASES (int)(sizeof round_trip_cases / sizeof round_trip_cases[0])

static void fill(tfm_tensor *t, int seed, tfm_status *st) {
  int64_t n = tfm_tensor_num_elements(t);
  void *p = tfm_tensor_data(t);
  for (int64_t i = 0; i < n; i++) {
    int64_t v = (i * 2654435761LL + seed * 97) % 1000003;
    switch (tfm_tensor_dtype(t)) {
      case TFM_FLOAT: ((float *)p)[i] = (float)v * 0.25f - 7.0f; break;
      case TFM_DOUBLE: ((double *)p)[i] = (double)v / 3.0; break;
      case TFM_INT32: ((int32_t *)p)[i] = (int32_t)(v - 500000); break;
      case TFM_UINT8: ((uint8_t *)p)[i] = (uint8_t)v; break;
      case TFM_INT64: ((int64_t *)p)[i] = v * 10000000000LL; break;
      case TFM_BOOL: ((bool *)p)[i] = v & 1; break;
      case TFM_STRING: {
        char buf[64];
        int len = snprintf(buf, sizeof buf, "s%lld", (long long)v);
        buf[1] = (char)(seed & 1 ? 0 : buf[1]); /* an embedded NUL in some */
        tfm_tensor_string_set(t, i, buf, (size_t)(i == 2 ? 0 : len), st);
        break;
      }
      default: ck_abort();
    }
  }
}

static tfm_tensor *case_tensor(const case_var_t *c, int seed, tfm_status *st) {
  tfm_tensor *t = tfm_tensor_new(c->dt, c->dims, c->rank, st);
  OK(st);
  fill(t, seed, st);
  OK(st);
  return t;
}

static bool tensors_equal(tfm_tensor *a, tfm_tensor *b) {
  if (tfm_tensor_dtype(a) != tfm_tensor_dtype(b) || tfm_tensor_rank(a) != tfm_tensor_rank(b)) return false;
  for (int i = 0; i < tfm_tensor_rank(a); i++)
    if (tfm_tensor_dim(a, i) != tfm_tensor_dim(b, i)) return false;
  if (tfm_tensor_dtype(a) != TFM_STRING)
    return memcmp(tfm_tensor_data(a), tfm_tensor_data(b), tfm_tensor_nbytes(a)) == 0;
  for (int64_t i = 0; i < tfm_tensor_num_elements(a); i++) {
    const char *x, *y;
    size_t xl, yl;
    tfm_tensor_string_get(a, i, &x, &xl, NULL);
    tfm_tensor_string_get(b, i, &y, &yl, NULL);
    if (xl != yl || (xl && memcmp(x, y, xl))) return false;
  }
  return true;
}

typedef struct model {
  tfm_graph *g;
  tfm_variable *v[N_CASES];
  tfm_saver *saver;
  tfm_session *sess;
} model_t;

static void model_build(model_t *m, int seed, tfm_status *st) {
  m->g = tfm_graph_new(st);
  for (int i = 0; i < N_CASES; i++) {
    char name[32];
    snprintf(name, sizeof name, "scope/v%d", i);
    m->v[i] = var_from(m->g, case_tensor(&round_trip_cases[i], seed, st), name, st);
  }
  m->saver = tfm_saver_new(m->g, NULL, NULL, 0, -1, 0, st);
  OK(st);
  m->sess = tfm_session_new(m->g, st);
  OK(st);
}

static void model_free(model_t *m) {
  tfm_session_delete(m->sess);
  tfm_saver_delete(m->saver);
  tfm_graph_delete(m->g);
}

static void model_check(model_t *m, int seed, tfm_status *st) {
  for (int i = 0; i < N_CASES; i++) {
    tfm_tensor *want = case_tensor(&round_trip_cases[i], seed, st);
    tfm_tensor *got = tfm_session_variable_value(m->sess, m->v[i], st);
    OK(st);
    ck_assert_msg(tensors_equal(want, got), "variable %d (%s) differs after restore", i,
                  tfm_dtype_name(round_trip_cases[i].dt));
    tfm_tensor_release(want);
    tfm_tensor_release(got);
  }
}

START_TEST(test_every_dtype_and_shape_round_trips) {
  tfm_status *st = tfm_status_new();
  char dir[1024], prefix[1100], path[1200];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/model.ckpt", dir);
  model_t a, b;
  model_build(&a, 1, st);
  run_init(a.sess, a.g, st);
  ck_assert_int_eq(tfm_saver_save(a.saver, a.sess, prefix, 42, 0, path, sizeof path, st), TFM_OK);
  snprintf(prefix, sizeof prefix, "%s/model.ckpt-42", dir);
  ck_assert_str_eq(path, prefix);
  ck_assert(file_exists(dir, "model.ckpt-42.index"));
  ck_assert(file_exists(dir, "model.ckpt-42.data-00000-of-00001"));
  ck_assert(file_exists(dir, "checkpoint"));
  /* into a fresh session (every variable staged) ... */
  model_build(&b, 2, st);
  ck_assert_int_eq(tfm_saver_restore(b.saver, b.sess, path, st), TFM_OK);
  model_check(&b, 1, st);
  /* ... and over initialised values of another content (big ones in place). */
  model_free(&b);
  model_build(&b, 3, st);
  run_init(b.sess, b.g, st);
  model_check(&b, 3, st);
  ck_assert_int_eq(tfm_saver_restore(b.saver, b.sess, path, st), TFM_OK);
  model_check(&b, 1, st);
  model_free(&b);
  model_free(&a);
  tfm_status_delete(st);
}
END_TEST

static tfm_tensor *string_scalar(const char *s, tfm_status *st) {
  tfm_tensor *t = tfm_tensor_new(TFM_STRING, NULL, 0, st);
  tfm_tensor_string_set(t, 0, s, strlen(s), st);
  OK(st);
  return t;
}

START_TEST(test_running_the_graph_ops_saves_and_restores) {
  tfm_status *st = tfm_status_new();
  char dir[1024], prefix[1100];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/by_ops", dir);
  model_t a, b;
  model_build(&a, 4, st);
  run_init(a.sess, a.g, st);
  /* As Python's saver.save: feed the filename, fetch save_tensor_name. */
  saver_def_t def;
  saver_get_def(a.saver, &def);
  tfm_output *fname = tfm_graph_get_tensor_by_name(a.g, def.filename_tensor_name, st);
  tfm_output *save = tfm_graph_get_tensor_by_name(a.g, def.save_tensor_name, st);
  OK(st);
  tfm_tensor *feed = string_scalar(prefix, st), *out = NULL;
  tfm_session_run(a.sess, &fname, &feed, 1, &save, &out, 1, NULL, 0, st);
  OK(st);
  const char *echo;
  size_t len;
  tfm_tensor_string_get(out, 0, &echo, &len, st);
  ck_assert_str_eq(echo, prefix);
  tfm_tensor_release(out);
  /* restored through the C API */
  model_build(&b, 5, st);
  ck_assert_int_eq(tfm_saver_restore(b.saver, b.sess, prefix, st), TFM_OK);
  model_check(&b, 4, st);
  /* and the other way: saved by the C API, restored by running restore_all */
  model_free(&b);
  model_build(&b, 6, st);
  run_init(b.sess, b.g, st);
  snprintf(prefix, sizeof prefix, "%s/by_api", dir);
  ck_assert_int_eq(tfm_saver_save(b.saver, b.sess, prefix, -1, 0, NULL, 0, st), TFM_OK);
  tfm_tensor_release(feed);
  feed = string_scalar(prefix, st);
  tfm_op *restore_all = op_named(a.g, def.restore_op_name, st);
  tfm_session_run(a.sess, &fname, &feed, 1, NULL, NULL, 0, &restore_all, 1, st);
  OK(st);
  for (int i = 0; i < N_CASES; i++) {
    tfm_tensor *want = case_tensor(&round_trip_cases[i], 6, st);
    tfm_tensor *got = tfm_session_variable_value(a.sess, a.v[i], st);
    ck_assert_msg(tensors_equal(want, got), "variable %d differs after restore_all", i);
    tfm_tensor_release(want);
    tfm_tensor_release(got);
  }
  tfm_tensor_release(feed);
  model_free(&b);
  model_free(&a);
  tfm_status_delete(st);
}
END_TEST

START_TEST(test_map_form_saves_under_other_names) {
  tfm_status *st = tfm_status_new();
  char dir[1024], prefix[1100];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/mapped", dir);
  tfm_graph *g = tfm_graph_new(st);
  tfm_variable *v[2] = {var_f32(g, "v1", 3, 10, st), var_f32(g, "v2", 2, 20, st)};
  const char *keys[2] = {"renamed/first", "v2"};
  tfm_saver *s = tfm_saver_new(g, v, keys, 2, -1, 0, st);
  OK(st);
  tfm_session *sess = tfm_session_new(g, st);
  run_init(sess, g, st);
  ck_assert_int_eq(tfm_saver_save(s, sess, prefix, -1, 0, NULL, 0, st), TFM_OK);
  /* Independent of the saver: the bundle's own keys and values. */
  bundle_reader_t *r = bundle_reader_open(prefix, st);
  OK(st);
  ck_assert_int_eq(bundle_reader_num_tensors(r), 2);
  ck_assert_str_eq(bundle_reader_key(r, 0), "renamed/first");
  ck_assert_str_eq(bundle_reader_key(r, 1), "v2");
  tensor_t *t = bundle_reader_read(r, "renamed/first", st);
  OK(st);
  ck_assert_float_eq(((float *)t->data)[2], 12.0f);
  tensor_unref(t);
  bundle_reader_close(r);
  /* A saver over v1 only restores v1. */
  tfm_saver *only = tfm_saver_new(g, v, keys, 1, -1, 0, st);
  OK(st);
  set_f32(sess, g, v[0], -1, st);
  set_f32(sess, g, v[1], -2, st);
  ck_assert_int_eq(tfm_saver_restore(only, sess, prefix, st), TFM_OK);
  ck_assert_float_eq(get_f32(sess, v[0], 1, st), 11.0f);
  ck_assert_float_eq(get_f32(sess, v[1], 0, st), -2.0f);
  tfm_saver_delete(only);
  tfm_saver_delete(s);
  tfm_session_delete(sess);
  tfm_graph_delete(g);
  tfm_status_delete(st);
}
END_TEST

Suite *saver_suite(void);
Suite *saver_suite(void) {
  Suite *s = suite_create("saver");
  TCase *tc = tcase_create("saver");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_save_ops_carry_tensorflow_names);
  tcase_add_test(tc, test_saver_new_rejects_bad_lists);
  tcase_add_test(tc, test_every_dtype_and_shape_round_trips);
  tcase_add_test(tc, test_running_the_graph_ops_saves_and_restores);
  tcase_add_test(tc, test_map_form_saves_under_other_names);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(saver_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
