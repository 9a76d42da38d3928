/* saver: tf.train.Saver. The save/ subgraph carries TensorFlow's names; saving and
 * restoring work through the C API and by running those ops; every dtype and
 * shape round-trips; TensorFlow's own checkpoints restore to the values of their
 * listings and are rewritten byte for byte; errors name the variable and leave
 * every variable untouched; max_to_keep, keep_checkpoint_every_n_hours,
 * latest_checkpoint and the timer follow TF's rules. Optimizer resumes are in
 * test_saver_resume.c. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/status.h"
#include "graph/graph.h"
#include "io/bundle.h"
#include "io/checkpoint_state.h"
#include "io/pbio.h"
#include "io/saver.h"
#include "io/saver_impl.h"
#include "runtime/session.h"
#include "io_testutil.h"
#include "tfmini/debug.h"
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

/* save(write_meta_graph) writes PREFIX-STEP.meta; importing it into a new graph
 * gives back a Saver (from the SaverDef) that restores the checkpoint. */
START_TEST(test_meta_graph_written_by_save_imports_and_restores) {
  tfm_status *st = tfm_status_new();
  char dir[1024], prefix[1100], path[1200], meta[1300];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/model.ckpt", dir);
  model_t a;
  model_build(&a, 7, st);
  run_init(a.sess, a.g, st);
  ck_assert_int_eq(tfm_saver_save(a.saver, a.sess, prefix, 3, 1, path, sizeof path, st), TFM_OK);
  ck_assert(file_exists(dir, "model.ckpt-3.meta"));
  snprintf(meta, sizeof meta, "%s.meta", path);
  tfm_graph *g = tfm_graph_new(st);
  tfm_saver *s = tfm_import_meta_graph(g, meta, NULL, st);
  OK(st);
  ck_assert(!s->by_ops);
  ck_assert_int_eq(s->n, N_CASES);
  tfm_session *sess = tfm_session_new(g, st);
  ck_assert_int_eq(tfm_saver_restore(s, sess, path, st), TFM_OK);
  for (int i = 0; i < N_CASES; i++) {
    char name[32];
    snprintf(name, sizeof name, "scope/v%d", i);
    tfm_variable *v = tfm_graph_variable_by_name(g, name, st);
    OK(st);
    tfm_tensor *want = case_tensor(&round_trip_cases[i], 7, st), *got = tfm_session_variable_value(sess, v, st);
    OK(st);
    ck_assert_msg(tensors_equal(want, got), "variable %d differs", i);
    tfm_tensor_release(want);
    tfm_tensor_release(got);
  }
  /* max_to_keep deletes the .meta with the rest */
  tfm_saver *one = tfm_saver_new(a.g, NULL, NULL, 0, 1, 0, st);
  ck_assert_int_eq(tfm_saver_save(one, a.sess, prefix, 4, 1, NULL, 0, st), TFM_OK);
  ck_assert_int_eq(tfm_saver_save(one, a.sess, prefix, 5, 1, NULL, 0, st), TFM_OK);
  ck_assert(!file_exists(dir, "model.ckpt-4.meta") && file_exists(dir, "model.ckpt-5.meta"));
  tfm_saver_delete(one);
  tfm_saver_delete(s);
  tfm_session_delete(sess);
  tfm_graph_delete(g);
  model_free(&a);
  tfm_status_delete(st);
}
END_TEST

/* ---- TensorFlow's own checkpoints ---- */

/* A graph with one float variable per entry of a TF index listing (names and
 * shapes from the listing, not from our reader), zero-initialised. */
static int graph_like_dump(tfm_graph *g, const dump_tensor_t *d, int n, const char *only_prefix,
                           tfm_variable **vars, tfm_status *st) {
  int k = 0;
  for (int i = 0; i < n; i++) {
    if (only_prefix && strncmp(d[i].key, only_prefix, strlen(only_prefix)) != 0) continue;
    tfm_tensor *t = tfm_tensor_new(TFM_FLOAT, d[i].dims, d[i].rank, st);
    OK(st);
    vars[k++] = var_from(g, t, d[i].key, st);
  }
  return k;
}

static void check_like_dump(tfm_session *s, tfm_variable **vars, const dump_tensor_t *d, int n, tfm_status *st) {
  for (int i = 0; i < n; i++) {
    tfm_tensor *t = tfm_session_variable_value(s, vars[i], st);
    OK(st);
    ck_assert_str_eq(tfm_variable_name(vars[i]), d[i].key);
    for (int j = 0; j < d[i].nvalues; j++)
      ck_assert_msg(((float *)tfm_tensor_data(t))[j] == (float)d[i].values[j], "%s[%d]: %.9g, listing %.9g",
                    d[i].key, j, ((float *)tfm_tensor_data(t))[j], d[i].values[j]);
    tfm_tensor_release(t);
  }
}

static bool same_file(const char *a, const char *b) {
  size_t na, nb;
  uint8_t *x = slurp(a, &na), *y = slurp(b, &nb);
  bool same = x && y && na == nb && memcmp(x, y, na) == 0;
  free(x);
  free(y);
  return same;
}

START_TEST(test_restores_tensorflow_checkpoint_and_rewrites_it_byte_for_byte) {
  char prefix[1024], dump[1100], dir[1024], out[1100], a[1200], b[1200];
  if (!tf_testdata("houseprices_tf1.10/model.ckpt", prefix, sizeof prefix)) return;
  snprintf(dump, sizeof dump, "%s.index.dump.txt", prefix);
  static dump_tensor_t d[64];
  int n = (int)read_dump_tensors(dump, d, 64);
  ck_assert_int_eq(n, 34);
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  tfm_variable *vars[64];
  ck_assert_int_eq(graph_like_dump(g, d, n, NULL, vars, st), n);
  tfm_saver *saver = tfm_saver_new(g, NULL, NULL, 0, -1, 0, st);
  OK(st);
  tfm_session *sess = tfm_session_new(g, st);
  ck_assert_int_eq(tfm_saver_restore(saver, sess, prefix, st), TFM_OK);
  check_like_dump(sess, vars, d, n, st);
  /* Saved again, the files are TensorFlow's, byte for byte. */
  test_tmpdir(dir, sizeof dir);
  snprintf(out, sizeof out, "%s/model.ckpt", dir);
  ck_assert_int_eq(tfm_saver_save(saver, sess, out, -1, 0, NULL, 0, st), TFM_OK);
  snprintf(a, sizeof a, "%s.index", prefix);
  snprintf(b, sizeof b, "%s.index", out);
  ck_assert_msg(same_file(a, b), "the index differs from TensorFlow's");
  snprintf(a, sizeof a, "%s.data-00000-of-00001", prefix);
  snprintf(b, sizeof b, "%s.data-00000-of-00001", out);
  ck_assert_msg(same_file(a, b), "the data file differs from TensorFlow's");
  tfm_saver_delete(saver);
  tfm_session_delete(sess);
  tfm_graph_delete(g);
  tfm_status_delete(st);
}
END_TEST

START_TEST(test_restores_snappy_index_of_half_plus_two) {
  char prefix[1024];
  if (!tf_testdata("half_plus_two_cpu_tf1.14/variables/variables", prefix, sizeof prefix)) return;
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  const char *names[3] = {"a", "b", "c"};
  const float want[3] = {0.5f, 2.0f, 3.0f}; /* the README's values */
  tfm_variable *v[3];
  for (int i = 0; i < 3; i++) v[i] = var_from(g, tfm_tensor_new(TFM_FLOAT, NULL, 0, st), names[i], st);
  tfm_saver *saver = tfm_saver_new(g, v, NULL, 3, -1, 0, st);
  tfm_session *sess = tfm_session_new(g, st);
  ck_assert_int_eq(tfm_saver_restore(saver, sess, prefix, st), TFM_OK);
  for (int i = 0; i < 3; i++) ck_assert_float_eq(get_f32(sess, v[i], 0, st), want[i]);
  tfm_saver_delete(saver);
  tfm_session_delete(sess);
  tfm_graph_delete(g);
  tfm_status_delete(st);
}
END_TEST

/* ---- errors: named, and nothing half restored ---- */

static void save_two(const char *prefix, tfm_status *st) {
  tfm_graph *g = tfm_graph_new(st);
  var_f32(g, "a", 4, 1, st);
  var_f32(g, "z", 300000, 2, st); /* > 1 MB: read in place when the variable has a value */
  tfm_saver *s = tfm_saver_new(g, NULL, NULL, 0, -1, 0, st);
  tfm_session *sess = tfm_session_new(g, st);
  run_init(sess, g, st);
  ck_assert_int_eq(tfm_saver_save(s, sess, prefix, -1, 0, NULL, 0, st), TFM_OK);
  tfm_saver_delete(s);
  tfm_session_delete(sess);
  tfm_graph_delete(g);
}

START_TEST(test_restore_errors_name_the_variable_and_change_nothing) {
  char dir[1024], prefix[1100], path[1200];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/two", dir);
  tfm_status *st = tfm_status_new();
  save_two(prefix, st);
  tfm_graph *g = tfm_graph_new(st);
  tfm_variable *a = var_f32(g, "a", 4, 0, st), *z = var_f32(g, "z", 300000, 0, st);
  tfm_variable *a3 = var_f32(g, "a3", 3, 0, st), *missing = var_f32(g, "missing", 1, 0, st);
  tfm_variable *ai = var_from(g, tfm_tensor_new(TFM_INT32, (int64_t[]){4}, 1, st), "ai", st);
  tfm_session *sess = tfm_session_new(g, st);
  run_init(sess, g, st);
  set_f32(sess, g, a, -5, st);
  set_f32(sess, g, z, -6, st);
  /* a missing key: NOT_FOUND naming the variable */
  tfm_variable *with_missing[2] = {a, missing};
  tfm_saver *s = tfm_saver_new(g, with_missing, NULL, 2, -1, 0, st);
  ck_assert_int_eq(tfm_saver_restore(s, sess, prefix, st), TFM_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "'missing'"));
  ck_assert_float_eq(get_f32(sess, a, 0, st), -5.0f);
  tfm_saver_delete(s);
  /* a shape mismatch: INVALID_ARGUMENT with both shapes */
  const char *key_a[2] = {"z", "a"};
  tfm_variable *wrong_shape[2] = {z, a3};
  s = tfm_saver_new(g, wrong_shape, key_a, 2, -1, 0, st);
  ck_assert_int_eq(tfm_saver_restore(s, sess, prefix, st), TFM_INVALID_ARGUMENT);
  ck_assert_msg(strstr(tfm_status_message(st), "'a3'") && strstr(tfm_status_message(st), "[3]") &&
                    strstr(tfm_status_message(st), "[4]"),
                "%s", tfm_status_message(st));
  ck_assert_float_eq(get_f32(sess, z, 0, st), -6.0f);
  tfm_saver_delete(s);
  /* a dtype mismatch: both dtypes */
  tfm_variable *wrong_type[1] = {ai};
  s = tfm_saver_new(g, wrong_type, key_a + 1, 1, -1, 0, st);
  ck_assert_int_eq(tfm_saver_restore(s, sess, prefix, st), TFM_INVALID_ARGUMENT);
  ck_assert_msg(strstr(tfm_status_message(st), "int32") && strstr(tfm_status_message(st), "float32"), "%s",
                tfm_status_message(st));
  tfm_saver_delete(s);
  /* no such checkpoint */
  tfm_variable *both[2] = {a, z};
  s = tfm_saver_new(g, both, NULL, 2, -1, 0, st);
  snprintf(path, sizeof path, "%s/none", dir);
  ck_assert_int_eq(tfm_saver_restore(s, sess, path, st), TFM_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "none"));
  /* corruption of either tensor: DATA_LOSS, and neither variable changes (z is
   * verified before a is installed, a before z is read in place) */
  snprintf(path, sizeof path, "%s.data-00000-of-00001", prefix);
  size_t len;
  uint8_t *orig = slurp(path, &len);
  const size_t spots[2] = {5, len - 3}; /* inside a, inside z */
  for (int k = 0; k < 2; k++) {
    FILE *f = fopen(path, "r+b");
    fseek(f, (long)spots[k], SEEK_SET);
    fputc(orig[spots[k]] ^ 0x10, f);
    fclose(f);
    ck_assert_int_eq(tfm_saver_restore(s, sess, prefix, st), TFM_DATA_LOSS);
    ck_assert_ptr_nonnull(strstr(tfm_status_message(st), k == 0 ? "'a'" : "'z'"));
    ck_assert_float_eq(get_f32(sess, a, 3, st), -5.0f);
    ck_assert_float_eq(get_f32(sess, z, 299999, st), -6.0f);
    f = fopen(path, "wb");
    fwrite(orig, 1, len, f);
    fclose(f);
  }
  /* a truncated data file, then a truncated index */
  ck_assert_int_eq(truncate(path, (off_t)len - 100), 0);
  ck_assert_int_eq(tfm_saver_restore(s, sess, prefix, st), TFM_DATA_LOSS);
  ck_assert_float_eq(get_f32(sess, a, 0, st), -5.0f);
  FILE *f = fopen(path, "wb");
  fwrite(orig, 1, len, f);
  fclose(f);
  snprintf(path, sizeof path, "%s.index", prefix);
  uint8_t *index = slurp(path, &len);
  ck_assert_int_eq(truncate(path, (off_t)len - 7), 0);
  ck_assert_int_eq(tfm_saver_restore(s, sess, prefix, st), TFM_DATA_LOSS);
  ck_assert_float_eq(get_f32(sess, z, 0, st), -6.0f);
  f = fopen(path, "wb");
  fwrite(index, 1, len, f);
  fclose(f);
  /* intact again: both restore */
  ck_assert_int_eq(tfm_saver_restore(s, sess, prefix, st), TFM_OK);
  ck_assert_float_eq(get_f32(sess, a, 3, st), 4.0f);
  ck_assert_float_eq(get_f32(sess, z, 299999, st), 300001.0f);
  free(orig);
  free(index);
  tfm_saver_delete(s);
  tfm_session_delete(sess);
  tfm_graph_delete(g);
  tfm_status_delete(st);
}
END_TEST

START_TEST(test_failed_save_loses_nothing) {
  char dir[1024], prefix[1100], ckpt[1200];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/model", dir);
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  tfm_variable *a = var_f32(g, "a", 3, 1, st);
  tfm_saver *s = tfm_saver_new(g, NULL, NULL, 0, 1, 0, st);
  tfm_session *sess = tfm_session_new(g, st);
  run_init(sess, g, st);
  ck_assert_int_eq(tfm_saver_save(s, sess, prefix, 1, 0, NULL, 0, st), TFM_OK);
  snprintf(ckpt, sizeof ckpt, "%s/checkpoint", dir);
  size_t n1, n2;
  uint8_t *before = slurp(ckpt, &n1);
  /* a variable added later and never initialised: the save fails ... */
  tfm_variable *late = var_f32(g, "late", 2, 0, st);
  tfm_saver *s2 = tfm_saver_new(g, NULL, NULL, 0, 1, 0, st);
  OK(st);
  ck_assert_int_eq(tfm_saver_save(s2, sess, prefix, 2, 0, NULL, 0, st), TFM_FAILED_PRECONDITION);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "late"));
  /* ... and leaves the previous checkpoint, the checkpoint file, and no temporaries */
  uint8_t *after = slurp(ckpt, &n2);
  ck_assert(n1 == n2 && memcmp(before, after, n1) == 0);
  ck_assert_int_eq(count_files(dir, ""), 3);
  ck_assert(file_exists(dir, "model-1.index"));
  /* a missing directory: NOT_FOUND naming it */
  snprintf(prefix, sizeof prefix, "%s/no/such/dir/model", dir);
  ck_assert_int_eq(tfm_saver_save(s, sess, prefix, 3, 0, NULL, 0, st), TFM_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "no/such/dir"));
  ck_assert_int_eq(count_files(dir, ""), 3);
  char latest[1200];
  ck_assert_int_eq(tfm_latest_checkpoint(dir, latest, sizeof latest, st), TFM_OK);
  ck_assert_ptr_nonnull(strstr(latest, "model-1"));
  (void)a, (void)late;
  free(before);
  free(after);
  tfm_saver_delete(s2);
  tfm_saver_delete(s);
  tfm_session_delete(sess);
  tfm_graph_delete(g);
  tfm_status_delete(st);
}
END_TEST

/* Issue 9: a write, fsync or rename that fails (ENOSPC, EIO) at any point of a save
 * gives an error, leaves no temporary file, and the `checkpoint` file still names
 * a complete checkpoint that restores (the old one unless the failure came after
 * the new `checkpoint` file was in place). */
START_TEST(test_write_failures_at_every_point_of_a_save) {
  char dir[1024], prefix[1100], latest[1200];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/f", dir);
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  tfm_variable *v = var_f32(g, "v", 1000, 0, st);
  tfm_saver *s = tfm_saver_new(g, NULL, NULL, 0, 2, 0, st);
  tfm_session *sess = tfm_session_new(g, st);
  run_init(sess, g, st);
  ck_assert_int_eq(tfm_saver_save(s, sess, prefix, 0, 0, NULL, 0, st), TFM_OK);
  uint64_t before = tfm_debug_file_op_count();
  ck_assert_int_eq(tfm_saver_save(s, sess, prefix, 1, 0, NULL, 0, st), TFM_OK);
  uint64_t ops = tfm_debug_file_op_count() - before;
  ck_assert_uint_ge(ops, 8); /* data, index, their fsyncs and renames, the checkpoint file ... */
  float named = 999.0f;
  for (uint64_t k = 1; k <= ops; k++) {
    char ckpt[1200];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint", dir);
    size_t n0, n1;
    uint8_t *old = slurp(ckpt, &n0);
    set_f32(sess, g, v, (float)k, st);
    tfm_debug_fail_file_op_after(k, k % 2 ? ENOSPC : EIO);
    tfm_code code = tfm_saver_save(s, sess, prefix, 100 + (int64_t)k, 0, NULL, 0, st);
    tfm_debug_fail_file_op_after(0, 0);
    ck_assert_msg(code != TFM_OK, "op %llu of %llu failed but the save succeeded", (unsigned long long)k,
                  (unsigned long long)ops);
    ck_assert_int_eq(count_files(dir, ".tmp"), 0);
    uint8_t *now = slurp(ckpt, &n1);
    bool unchanged = n0 == n1 && memcmp(old, now, n0) == 0;
    ck_assert_int_eq(tfm_latest_checkpoint(dir, latest, sizeof latest, st), TFM_OK);
    tfm_variable *one[1] = {v};
    tfm_saver *r = tfm_saver_new(g, one, NULL, 1, -1, 0, st);
    ck_assert_msg(tfm_saver_restore(r, sess, latest, st) == TFM_OK, "after failing op %llu: %s",
                  (unsigned long long)k, tfm_status_message(st));
    /* the checkpoint named holds the values of the last save that got its
     * `checkpoint` file in place: the first one (v[i] = i), or this one (all k) */
    if (!unchanged) named = (float)k;
    ck_assert_float_eq(get_f32(sess, v, 999, st), named);
    tfm_saver_delete(r);
    free(old);
    free(now);
  }
  tfm_saver_delete(s);
  tfm_session_delete(sess);
  tfm_graph_delete(g);
  tfm_status_delete(st);
}
END_TEST

/* ---- keep policy, latest_checkpoint, timer ---- */

static double fake_now(void *arg) { return *(double *)arg; }

typedef struct small {
  tfm_graph *g;
  tfm_saver *s;
  tfm_session *sess;
} small_t;

static void small_new(small_t *m, int max_to_keep, double hours, double *clock, tfm_status *st) {
  m->g = tfm_graph_new(st);
  var_f32(m->g, "v", 2, 0, st);
  m->s = tfm_saver_new(m->g, NULL, NULL, 0, max_to_keep, hours, st);
  OK(st);
  if (clock) saver_set_clock(m->s, fake_now, clock);
  m->sess = tfm_session_new(m->g, st);
  run_init(m->sess, m->g, st);
}

static void small_free(small_t *m) {
  tfm_saver_delete(m->s);
  tfm_session_delete(m->sess);
  tfm_graph_delete(m->g);
}

/* The steps whose index files exist, as "1,2,3". */
static void steps_on_disk(const char *dir, const char *base, int max_step, char *out, size_t cap) {
  out[0] = 0;
  for (int i = 0; i <= max_step; i++) {
    char name[256];
    snprintf(name, sizeof name, "%s-%d.index", base, i);
    if (file_exists(dir, name)) snprintf(out + strlen(out), cap - strlen(out), "%s%d", out[0] ? "," : "", i);
  }
}

START_TEST(test_max_to_keep_and_the_checkpoint_file) {
  char dir[1024], prefix[1100], have[256];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/m", dir);
  tfm_status *st = tfm_status_new();
  small_t m;
  double now = 1000.0;
  small_new(&m, 3, 0, &now, st);
  for (int step = 1; step <= 7; step++, now += 1) ck_assert_int_eq(tfm_saver_save(m.s, m.sess, prefix, step, 0, NULL, 0, st), TFM_OK);
  steps_on_disk(dir, "m", 10, have, sizeof have);
  ck_assert_str_eq(have, "5,6,7");
  checkpoint_state_t cs = CHECKPOINT_STATE_INIT;
  ck_assert_int_eq(checkpoint_state_read(dir, &cs, st), TFM_OK);
  ck_assert_str_eq(cs.model_checkpoint_path, "m-7");
  ck_assert_uint_eq(cs.num_paths, 3);
  ck_assert_str_eq(cs.paths[0], "m-5");
  ck_assert_uint_eq(cs.num_timestamps, 3);
  ck_assert(cs.timestamps[0] == 1004.0 && cs.timestamps[2] == 1006.0);
  checkpoint_state_free(&cs);
  char latest[1200], want[1200];
  ck_assert_int_eq(tfm_latest_checkpoint(dir, latest, sizeof latest, st), TFM_OK);
  snprintf(want, sizeof want, "%s/m-7", dir);
  ck_assert_str_eq(latest, want);
  ck_assert_int_eq(tfm_latest_checkpoint(dir, latest, 5, st), TFM_INVALID_ARGUMENT);
  /* Saving the same step again makes it the newest without a duplicate. */
  ck_assert_int_eq(tfm_saver_save(m.s, m.sess, prefix, 5, 0, NULL, 0, st), TFM_OK);
  ck_assert_int_eq(checkpoint_state_read(dir, &cs, st), TFM_OK);
  ck_assert_uint_eq(cs.num_paths, 3);
  ck_assert_str_eq(cs.paths[0], "m-6");
  ck_assert_str_eq(cs.model_checkpoint_path, "m-5");
  checkpoint_state_free(&cs);
  /* A new saver (a resumed run) over the same series keeps counting: max 3. */
  small_t r;
  small_new(&r, 3, 0, &now, st);
  ck_assert_int_eq(tfm_saver_save(r.s, r.sess, prefix, 8, 0, NULL, 0, st), TFM_OK);
  steps_on_disk(dir, "m", 10, have, sizeof have);
  ck_assert_str_eq(have, "5,7,8");
  small_free(&r);
  /* max_to_keep 0 keeps all */
  small_t all;
  snprintf(prefix, sizeof prefix, "%s/all", dir);
  small_new(&all, 0, 0, &now, st);
  for (int step = 0; step < 9; step++) ck_assert_int_eq(tfm_saver_save(all.s, all.sess, prefix, step, 0, NULL, 0, st), TFM_OK);
  steps_on_disk(dir, "all", 10, have, sizeof have);
  ck_assert_str_eq(have, "0,1,2,3,4,5,6,7,8");
  small_free(&all);
  small_free(&m);
  tfm_status_delete(st);
}
END_TEST

START_TEST(test_keep_checkpoint_every_n_hours_preserves_one_per_period) {
  char dir[1024], prefix[1100], have[256];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/k", dir);
  tfm_status *st = tfm_status_new();
  small_t m;
  double now = 0.0;
  /* max 2, keep one per hour; saves every 25 minutes at t = 0, 25, 50, ... 175 min.
   * By hand: the first preserved is the first dropped one made at or after 60 min
   * (step 3, t = 75), the next at or after 120 min (step 5, t = 125); step 2 (50),
   * 1 (25), 0, 4 (100) are deleted; 6 and 7 are the last two. */
  small_new(&m, 2, 1.0, &now, st);
  for (int step = 0; step < 8; step++, now += 25 * 60.0)
    ck_assert_int_eq(tfm_saver_save(m.s, m.sess, prefix, step, 0, NULL, 0, st), TFM_OK);
  steps_on_disk(dir, "k", 10, have, sizeof have);
  ck_assert_str_eq(have, "3,5,6,7");
  checkpoint_state_t cs = CHECKPOINT_STATE_INIT;
  ck_assert_int_eq(checkpoint_state_read(dir, &cs, st), TFM_OK);
  ck_assert_uint_eq(cs.num_paths, 2);
  ck_assert(cs.last_preserved_timestamp == 125 * 60.0);
  checkpoint_state_free(&cs);
  small_free(&m);
  tfm_status_delete(st);
}
END_TEST

START_TEST(test_latest_checkpoint_not_found_cases) {
  char dir[1024], buf[1200], path[1200];
  test_tmpdir(dir, sizeof dir);
  tfm_status *st = tfm_status_new();
  ck_assert_int_eq(tfm_latest_checkpoint(dir, buf, sizeof buf, st), TFM_NOT_FOUND);
  ck_assert_str_eq(buf, "");
  snprintf(path, sizeof path, "%s/checkpoint", dir);
  FILE *f = fopen(path, "w");
  fputs("model_checkpoint_path: \"gone-3\"\nall_model_checkpoint_paths: \"gone-3\"\n", f);
  fclose(f);
  ck_assert_int_eq(tfm_latest_checkpoint(dir, buf, sizeof buf, st), TFM_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "gone-3"));
  /* TensorFlow's own file and checkpoint, relative path */
  char tf[1024];
  if (tf_testdata("houseprices_tf1.10", tf, sizeof tf)) {
    ck_assert_int_eq(tfm_latest_checkpoint(tf, buf, sizeof buf, st), TFM_OK);
    snprintf(path, sizeof path, "%s/model.ckpt", tf);
    ck_assert_str_eq(buf, path);
  }
  tfm_status_delete(st);
}
END_TEST

START_TEST(test_timer_saves_every_n_steps_and_every_s_seconds) {
  char dir[1024], prefix[1100], have[256];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/t", dir);
  tfm_status *st = tfm_status_new();
  small_t m;
  double now = 0;
  small_new(&m, 0, 0, &now, st);
  tfm_checkpoint_timer *t = tfm_checkpoint_timer_new(m.s, prefix, 0, 10, st);
  OK(st);
  int saves = 0;
  for (int step = 0; step <= 25; step++) {
    int saved;
    ck_assert_int_eq(tfm_checkpoint_timer_step(t, m.sess, step, &saved, st), TFM_OK);
    saves += saved;
  }
  ck_assert_int_eq(saves, 3);
  steps_on_disk(dir, "t", 30, have, sizeof have);
  ck_assert_str_eq(have, "0,10,20");
  tfm_checkpoint_timer_delete(t);
  /* by time: every 60 s, one step per 25 s -> steps 0 (t=0), 3 (t=75), 6 (t=150) */
  snprintf(prefix, sizeof prefix, "%s/s", dir);
  t = tfm_checkpoint_timer_new(m.s, prefix, 60, 0, st);
  for (int step = 0; step < 8; step++, now += 25)
    ck_assert_int_eq(tfm_checkpoint_timer_step(t, m.sess, step, NULL, st), TFM_OK);
  steps_on_disk(dir, "s", 30, have, sizeof have);
  ck_assert_str_eq(have, "0,3,6");
  tfm_checkpoint_timer_delete(t);
  ck_assert_ptr_null(tfm_checkpoint_timer_new(NULL, prefix, 1, 1, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  small_free(&m);
  tfm_status_delete(st);
}
END_TEST

/* ---- SaverDefs: the sharded graph TF 1.2's SavedModel builder makes ---- */

static tfm_op *build(tfm_graph *g, const char *type, const char *name, tfm_output *const *in, int n,
                     tfm_op *const *ctrl, int nc, tfm_status *st) {
  tfm_op_builder *b = tfm_op_builder_new(g, type, name, st);
  OK(st);
  for (int i = 0; i < n; i++) tfm_op_builder_add_input(b, in[i]);
  for (int i = 0; i < nc; i++) tfm_op_builder_add_control_input(b, ctrl[i]);
  if (!strcmp(type, "SaveV2") || !strcmp(type, "RestoreV2")) {
    tfm_dtype f[2] = {TFM_FLOAT, TFM_FLOAT};
    tfm_op_builder_set_attr_type_list(b, "dtypes", f, !strcmp(type, "SaveV2") ? n - 3 : 1);
  }
  if (!strcmp(type, "StringJoin") || !strcmp(type, "Pack")) tfm_op_builder_set_attr_int(b, "N", n);
  if (!strcmp(type, "Pack")) tfm_op_builder_set_attr_type(b, "T", TFM_STRING);
  tfm_op *op = tfm_op_builder_finish(b, st);
  ck_assert_msg(op != NULL, "%s: %s", name, tfm_status_message(st));
  return op;
}

static tfm_output *str_const(tfm_graph *g, const char *name, const char *const *v, int n, tfm_status *st) {
  int64_t dim = n;
  tfm_tensor *t = tfm_tensor_new(TFM_STRING, &dim, n < 0 ? 0 : 1, st);
  for (int i = 0; i < (n < 0 ? 1 : n); i++) tfm_tensor_string_set(t, i, v[i], strlen(v[i]), st);
  tfm_output *o = tfm_constant(g, t, name, st);
  OK(st);
  tfm_tensor_release(t);
  return o;
}

static tfm_output *out0(tfm_op *op) { return tfm_op_output(op, 0); }

START_TEST(test_sharded_tf_saver_graph_runs_and_maps_from_its_saver_def) {
  char dir[1024], prefix[1100];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/sharded", dir);
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  tfm_variable *w = var_f32(g, "w", 1, 7, st), *b = var_f32(g, "b", 1, 9, st);
  /* formats.md 4.2 / regression_savedmodel_tf1.2's listing, node by node */
  const char *model = "model", *temp = "_temp_0123456789abcdef/part", *keys_b = "b", *keys_w = "w", *empty = "";
  const char *names[2] = {"b", "w"}, *slices[2] = {"", ""};
  tfm_output *fname = str_const(g, "save/Const", &model, -1, st);
  tfm_output *join_in[2] = {fname, str_const(g, "save/StringJoin/inputs_1", &temp, -1, st)};
  tfm_op *join = build(g, "StringJoin", "save/StringJoin", join_in, 2, NULL, 0, st);
  tfm_tensor *one = tfm_tensor_new(TFM_INT32, NULL, 0, st), *zero = tfm_tensor_new(TFM_INT32, NULL, 0, st);
  *(int32_t *)tfm_tensor_data(one) = 1;
  tfm_output *num = tfm_constant(g, one, "save/num_shards", st);
  tfm_output *shard = tfm_constant(g, zero, "save/ShardedFilename/shard", st);
  OK(st);
  tfm_tensor_release(one);
  tfm_tensor_release(zero);
  tfm_output *sf_in[3] = {out0(join), shard, num};
  tfm_op *sharded = build(g, "ShardedFilename", "save/ShardedFilename", sf_in, 3, NULL, 0, st);
  tfm_output *save_in[5] = {out0(sharded), str_const(g, "save/SaveV2/tensor_names", names, 2, st),
                            str_const(g, "save/SaveV2/shape_and_slices", slices, 2, st), tfm_variable_ref(b),
                            tfm_variable_ref(w)};
  tfm_op *save = build(g, "SaveV2", "save/SaveV2", save_in, 5, NULL, 0, st);
  tfm_output *sharded_out = out0(sharded);
  tfm_op *cd = build(g, "Identity", "save/control_dependency", &sharded_out, 1, &save, 1, st);
  tfm_op *pack = build(g, "Pack", "save/MergeV2Checkpoints/checkpoint_prefixes", &sharded_out, 1, &cd, 1, st);
  tfm_output *merge_in[2] = {out0(pack), fname};
  tfm_op *merge = build(g, "MergeV2Checkpoints", "save/MergeV2Checkpoints", merge_in, 2, NULL, 0, st);
  tfm_op *ident_ctrl[2] = {cd, merge};
  tfm_op *ident = build(g, "Identity", "save/Identity", &fname, 1, ident_ctrl, 2, st);
  tfm_output *r0_in[3] = {fname, str_const(g, "save/RestoreV2/tensor_names", &keys_b, 1, st),
                          str_const(g, "save/RestoreV2/shape_and_slices", &empty, 1, st)};
  tfm_op *r0 = build(g, "RestoreV2", "save/RestoreV2", r0_in, 3, NULL, 0, st);
  tfm_output *r1_in[3] = {fname, str_const(g, "save/RestoreV2_1/tensor_names", &keys_w, 1, st),
                          str_const(g, "save/RestoreV2_1/shape_and_slices", &empty, 1, st)};
  tfm_op *r1 = build(g, "RestoreV2", "save/RestoreV2_1", r1_in, 3, NULL, 0, st);
  tfm_output *a0_in[2] = {tfm_variable_ref(b), out0(r0)}, *a1_in[2] = {tfm_variable_ref(w), out0(r1)};
  tfm_op *assigns[2] = {build(g, "Assign", "save/Assign", a0_in, 2, NULL, 0, st),
                        build(g, "Assign", "save/Assign_1", a1_in, 2, NULL, 0, st)};
  tfm_op *shard_op = build(g, "NoOp", "save/restore_shard", NULL, 0, assigns, 2, st);
  build(g, "NoOp", "save/restore_all", NULL, 0, &shard_op, 1, st);
  tfm_session *sess = tfm_session_new(g, st);
  run_init(sess, g, st);
  /* Running the save tensor: SaveV2 into the temporary shard, then the merge. */
  tfm_tensor *feed = string_scalar(prefix, st), *res = NULL;
  tfm_output *save_t = out0(ident);
  tfm_session_run(sess, &fname, &feed, 1, &save_t, &res, 1, NULL, 0, st);
  OK(st);
  tfm_tensor_release(res);
  ck_assert(file_exists(dir, "sharded.index"));
  ck_assert(file_exists(dir, "sharded.data-00000-of-00001"));
  ck_assert_int_eq(count_files(dir, ""), 2); /* the _temp_ directory is gone */
  /* The SaverDef maps back to (key, variable) pairs; restore through the API. */
  saver_def_t def = {"save/Const:0", "save/Identity:0", "save/restore_all", 5, 10000.0f, 1, 2};
  tfm_saver *s = saver_from_def(g, &def, st);
  OK(st);
  ck_assert_int_eq(s->n, 2);
  ck_assert(!s->by_ops);
  ck_assert_str_eq(s->entries[1].key, "w");
  set_f32(sess, g, w, 0, st);
  ck_assert_int_eq(tfm_saver_restore(s, sess, prefix, st), TFM_OK);
  ck_assert_float_eq(get_f32(sess, w, 0, st), 7.0f);
  char tf[1024];
  if (tf_testdata("regression_savedmodel_tf1.2/variables/variables", tf, sizeof tf)) {
    ck_assert_int_eq(tfm_saver_restore(s, sess, tf, st), TFM_OK);
    ck_assert(fabsf(get_f32(sess, w, 0, st) - -0.8578622f) < 1e-7f);
    ck_assert_float_eq(get_f32(sess, b, 0, st), 0.0f);
  }
  /* Missing names: NOT_FOUND naming them. */
  saver_def_t bad = def;
  bad.restore_op_name = "save/nope";
  ck_assert_ptr_null(saver_from_def(g, &bad, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "save/nope"));
  bad = def;
  bad.filename_tensor_name = "save/Nothing:0";
  ck_assert_ptr_null(saver_from_def(g, &bad, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_NOT_FOUND);
  tfm_tensor_release(feed);
  tfm_saver_delete(s);
  tfm_session_delete(sess);
  tfm_graph_delete(g);
  tfm_status_delete(st);
}
END_TEST

static tfm_tensor *run1(tfm_session *sess, tfm_output *o, tfm_status *st) {
  tfm_tensor *t = NULL;
  tfm_session_run(sess, NULL, NULL, 0, &o, &t, 1, NULL, 0, st);
  return t;
}

static const char *str_at(tfm_tensor *t, int64_t i) {
  const char *p;
  size_t n;
  ck_assert_int_eq(tfm_tensor_string_get(t, i, &p, &n, NULL), TFM_OK);
  return p;
}

/* The io ops one by one, against values worked out by hand. */
START_TEST(test_io_ops_compute_hand_worked_values) {
  char dir[1024], p0[1100], p1[1100], dest[1100];
  test_tmpdir(dir, sizeof dir);
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  tfm_session *sess = tfm_session_new(g, st);
  /* StringJoin: a vector and a scalar, separator "-" */
  const char *ab[2] = {"a", "b"}, *x = "x";
  tfm_output *join_in[2] = {str_const(g, "ab", ab, 2, st), str_const(g, "x", &x, -1, st)};
  tfm_op_builder *b = tfm_op_builder_new(g, "StringJoin", "join", st);
  tfm_op_builder_add_inputs(b, join_in, 2);
  tfm_op_builder_set_attr_int(b, "N", 2);
  tfm_op_builder_set_attr_string(b, "separator", "-", 1);
  tfm_op *join = tfm_op_builder_finish(b, st);
  OK(st);
  tfm_tensor *t = run1(sess, out0(join), st);
  OK(st);
  ck_assert_int_eq(tfm_tensor_num_elements(t), 2);
  ck_assert_str_eq(str_at(t, 0), "a-x");
  ck_assert_str_eq(str_at(t, 1), "b-x");
  tfm_tensor_release(t);
  /* ShardedFilename("p", 2, 5) = "p-00002-of-00005"; shard 5 of 5 is refused */
  int32_t two = 2, five = 5;
  const char *pname = "p";
  tfm_output *sf_in[3] = {str_const(g, "p", &pname, -1, st), tfm_constant_i32(g, &two, 1, NULL, st),
                          tfm_constant_i32(g, &five, 1, NULL, st)};
  tfm_op *sf = build(g, "ShardedFilename", "sf", sf_in, 3, NULL, 0, st);
  t = run1(sess, out0(sf), st);
  OK(st);
  ck_assert_str_eq(str_at(t, 0), "p-00002-of-00005");
  tfm_tensor_release(t);
  tfm_output *bad_in[3] = {sf_in[0], sf_in[2], sf_in[2]};
  tfm_op *bad = build(g, "ShardedFilename", "sf_bad", bad_in, 3, NULL, 0, st);
  ck_assert_ptr_null(run1(sess, out0(bad), st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  /* SaveV2 to two prefixes, MergeV2Checkpoints into one bundle of 2 shards */
  snprintf(p0, sizeof p0, "%s/tmp_a/part-0", dir);
  snprintf(p1, sizeof p1, "%s/tmp_b/part-1", dir);
  snprintf(dest, sizeof dest, "%s/merged", dir);
  tfm_variable *va = var_f32(g, "va", 2, 1, st), *vb = var_f32(g, "vb", 3, 5, st);
  tfm_op *init = tfm_global_variables_initializer(g, st);
  tfm_session_run(sess, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st);
  const char *ka = "ka", *kb = "kb", *none = "", *slice = "2 0,1";
  const char *prefixes[2] = {p0, p1};
  tfm_output *s0_in[4] = {str_const(g, "p0", &prefixes[0], -1, st), str_const(g, "n0", &ka, 1, st),
                          str_const(g, "e0", &none, 1, st), tfm_variable_ref(va)};
  tfm_output *s1_in[4] = {str_const(g, "p1", &prefixes[1], -1, st), str_const(g, "n1", &kb, 1, st), s0_in[2],
                          tfm_variable_ref(vb)};
  tfm_op *saves[2] = {build(g, "SaveV2", "s0", s0_in, 4, NULL, 0, st), build(g, "SaveV2", "s1", s1_in, 4, NULL, 0, st)};
  tfm_output *merge_in[2] = {str_const(g, "srcs", prefixes, 2, st), NULL};
  const char *dp = dest;
  merge_in[1] = str_const(g, "dest", &dp, -1, st);
  tfm_op *merge = build(g, "MergeV2Checkpoints", "merge", merge_in, 2, saves, 2, st);
  tfm_session_run(sess, NULL, NULL, 0, NULL, NULL, 0, &merge, 1, st);
  OK(st);
  ck_assert(file_exists(dir, "merged.data-00000-of-00002") && file_exists(dir, "merged.data-00001-of-00002"));
  ck_assert(!file_exists(dir, "tmp_a") && !file_exists(dir, "tmp_b"));
  bundle_reader_t *r = bundle_reader_open(dest, st);
  OK(st);
  tensor_t *kbv = bundle_reader_read(r, "kb", st);
  OK(st);
  ck_assert_float_eq(((float *)kbv->data)[2], 7.0f);
  bundle_entry_t e;
  ck_assert_int_eq(bundle_reader_lookup(r, "kb", &e, st), TFM_OK);
  ck_assert_int_eq(e.shard_id, 1);
  tensor_unref(kbv);
  bundle_reader_close(r);
  /* a partitioned slice: UNIMPLEMENTED naming the tensor */
  tfm_output *part_in[4] = {s0_in[0], s0_in[1], str_const(g, "slice", &slice, 1, st), tfm_variable_ref(va)};
  tfm_op *part = build(g, "SaveV2", "s_part", part_in, 4, NULL, 0, st);
  tfm_session_run(sess, NULL, NULL, 0, NULL, NULL, 0, &part, 1, st);
  ck_assert_int_eq(tfm_status_code(st), TFM_UNIMPLEMENTED);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "'ka'"));
  /* RestoreV2 of a float tensor as int32: INVALID_ARGUMENT with both dtypes */
  tfm_op_builder *rb = tfm_op_builder_new(g, "RestoreV2", "r_int", st);
  tfm_output *r_in[3] = {merge_in[1], s0_in[1], s0_in[2]};
  tfm_op_builder_add_inputs(rb, r_in, 3);
  tfm_dtype i32 = TFM_INT32;
  tfm_op_builder_set_attr_type_list(rb, "dtypes", &i32, 1);
  tfm_op *r_int = tfm_op_builder_finish(rb, st);
  OK(st);
  ck_assert_ptr_null(run1(sess, out0(r_int), st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_msg(strstr(tfm_status_message(st), "float32") && strstr(tfm_status_message(st), "int32"), "%s",
                tfm_status_message(st));
  tfm_session_delete(sess);
  tfm_graph_delete(g);
  tfm_status_delete(st);
}
END_TEST

/* A restore subgraph we cannot map to variables still restores: by its ops. */
START_TEST(test_unmappable_saver_def_runs_the_graph_ops) {
  char dir[1024], prefix[1100];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/odd", dir);
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  tfm_variable *v = var_f32(g, "v", 2, 3, st);
  const char *model = "model", *key = "v", *empty = "";
  tfm_output *fname = str_const(g, "save/Const", &model, -1, st);
  tfm_output *save_in[4] = {fname, str_const(g, "save/SaveV2/tensor_names", &key, 1, st),
                            str_const(g, "save/SaveV2/shape_and_slices", &empty, 1, st), tfm_variable_ref(v)};
  tfm_op *save = build(g, "SaveV2", "save/SaveV2", save_in, 4, NULL, 0, st);
  tfm_op *cd = build(g, "Identity", "save/control_dependency", &fname, 1, &save, 1, st);
  tfm_op *r = build(g, "RestoreV2", "save/RestoreV2", save_in, 3, NULL, 0, st);
  /* restored value doubled on its way: not a plain Assign(var, RestoreV2) */
  tfm_output *twice = tfm_add(g, out0(r), out0(r), "save/twice", st);
  tfm_output *a = tfm_assign(g, v, twice, "save/Assign", st);
  OK(st);
  tfm_op *aop = tfm_output_op(a);
  build(g, "NoOp", "save/restore_all", NULL, 0, &aop, 1, st);
  saver_def_t def = {"save/Const:0", "save/control_dependency:0", "save/restore_all", 5, 10000.0f, 0, 2};
  tfm_saver *s = saver_from_def(g, &def, st);
  OK(st);
  ck_assert(s->by_ops);
  (void)cd;
  tfm_session *sess = tfm_session_new(g, st);
  run_init(sess, g, st);
  ck_assert_int_eq(tfm_saver_save(s, sess, prefix, -1, 0, NULL, 0, st), TFM_OK);
  ck_assert_int_eq(tfm_saver_restore(s, sess, prefix, st), TFM_OK);
  ck_assert_float_eq(get_f32(sess, v, 1, st), 8.0f); /* (3 + 1) * 2 */
  tfm_saver_delete(s);
  tfm_session_delete(sess);
  tfm_graph_delete(g);
  tfm_status_delete(st);
}
END_TEST

/* ---- SaverDefs of graphs TensorFlow wrote ---- */

/* Element i of variable op `name` in the session (for graphs imported without
 * variable records). */
static float op_f32(tfm_session *sess, tfm_graph *g, const char *name, int64_t i) {
  node_t *n = graph_find_op(g, name);
  ck_assert_msg(n != NULL, "no op '%s'", name);
  tensor_t *t = session_variable_get(sess, n);
  ck_assert_msg(t != NULL, "'%s' has no value", name);
  float x = ((float *)t->data)[i];
  tensor_unref(t);
  return x;
}

/* Imports the GraphDef of a MetaGraphDef into g and fills def from its SaverDef
 * (the strings point into *meta, released by the caller). False, with a message,
 * when the graph holds an op we cannot import yet. */
static bool import_tf_meta(tfm_graph *g, const tensorflow_MetaGraphDef *meta, saver_def_t *def, tfm_status *st) {
  tfm_import_graph_def(g, meta->graph_def.data, meta->graph_def.len, 0, NULL, st);
  if (tfm_status_code(st) == TFM_UNIMPLEMENTED) {
    printf("SKIP: the graph cannot be imported yet: %s\n", tfm_status_message(st));
    return false;
  }
  OK(st);
  ck_assert(meta->has_saver_def);
  const tensorflow_SaverDef *sd = &meta->saver_def;
  *def = (saver_def_t){sd->filename_tensor_name, sd->save_tensor_name, sd->restore_op_name, sd->max_to_keep,
                       sd->keep_checkpoint_every_n_hours, sd->sharded, (int)sd->version};
  return true;
}

START_TEST(test_saver_def_of_houseprices_meta_restores_and_saves) {
  char path[1024], prefix[1024], dump[1100], dir[1024], out[1100], a[1200], b[1200];
  if (!tf_testdata("houseprices_tf1.10/model.ckpt.meta", path, sizeof path)) return;
  tf_testdata("houseprices_tf1.10/model.ckpt", prefix, sizeof prefix);
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  /* import_meta_graph builds the Saver from the SaverDef through saver_from_def */
  tfm_saver *s = tfm_import_meta_graph(g, path, NULL, st);
  OK(st);
  ck_assert_ptr_nonnull(s);
  ck_assert(!s->by_ops);
  ck_assert_int_eq(s->n, 34);
  ck_assert_int_eq(s->max_to_keep, 5);
  saver_def_t def;
  saver_get_def(s, &def);
  ck_assert_str_eq(def.restore_op_name, "save/restore_all");
  tfm_session *sess = tfm_session_new(g, st);
  /* through the C API ... */
  ck_assert_int_eq(tfm_saver_restore(s, sess, prefix, st), TFM_OK);
  snprintf(dump, sizeof dump, "%s.index.dump.txt", prefix);
  static dump_tensor_t d[64];
  int n = (int)read_dump_tensors(dump, d, 64);
  tfm_variable *vars[64];
  for (int i = 0; i < n; i++) {
    vars[i] = tfm_graph_variable_by_name(g, d[i].key, st);
    OK(st);
  }
  check_like_dump(sess, vars, d, n, st);
  /* ... and TensorFlow's own save op writes TensorFlow's bytes */
  test_tmpdir(dir, sizeof dir);
  snprintf(out, sizeof out, "%s/again", dir);
  tfm_output *fname = tfm_graph_get_tensor_by_name(g, def.filename_tensor_name, st);
  tfm_output *save = tfm_graph_get_tensor_by_name(g, def.save_tensor_name, st);
  tfm_tensor *feed = string_scalar(out, st), *res = NULL;
  tfm_session_run(sess, &fname, &feed, 1, &save, &res, 1, NULL, 0, st);
  OK(st);
  snprintf(a, sizeof a, "%s.data-00000-of-00001", prefix);
  snprintf(b, sizeof b, "%s.data-00000-of-00001", out);
  ck_assert(same_file(a, b));
  snprintf(a, sizeof a, "%s.index", prefix);
  snprintf(b, sizeof b, "%s.index", out);
  ck_assert(same_file(a, b));
  /* TF's restore_all, run as an op, after the variables were zeroed */
  for (int i = 0; i < n; i++) set_f32(sess, g, vars[i], 0, st);
  tfm_op *restore_all = op_named(g, def.restore_op_name, st);
  tfm_tensor_release(feed);
  feed = string_scalar(prefix, st);
  tfm_session_run(sess, &fname, &feed, 1, NULL, NULL, 0, &restore_all, 1, st);
  OK(st);
  check_like_dump(sess, vars, d, n, st);
  tfm_tensor_release(res);
  tfm_tensor_release(feed);
  tfm_session_delete(sess);
  tfm_saver_delete(s);
  tfm_graph_delete(g);
  tfm_status_delete(st);
}
END_TEST

START_TEST(test_saver_def_of_sharded_savedmodel_restores_and_saves) {
  char path[1024], prefix[1024], dir[1024], out[1100];
  if (!tf_testdata("regression_savedmodel_tf1.2/saved_model.pb", path, sizeof path)) return;
  tf_testdata("regression_savedmodel_tf1.2/variables/variables", prefix, sizeof prefix);
  tfm_status *st = tfm_status_new();
  tensorflow_SavedModel sm;
  uint8_t *bytes = NULL;
  ck_assert_int_eq(pbio_decode_file(path, tensorflow_SavedModel_fields, &sm, sizeof sm, &bytes, st), TFM_OK);
  ck_assert_int_ge(sm.meta_graphs_count, 1);
  tfm_graph *g = tfm_graph_new(st);
  saver_def_t def;
  if (import_tf_meta(g, &sm.meta_graphs[0], &def, st)) {
    ck_assert(def.sharded);
    ck_assert_str_eq(def.save_tensor_name, "save/Identity:0");
    tfm_saver *s = saver_from_def(g, &def, st);
    OK(st);
    ck_assert(!s->by_ops);
    ck_assert_int_eq(s->n, 2);
    tfm_session *sess = tfm_session_new(g, st);
    ck_assert_int_eq(tfm_saver_restore(s, sess, prefix, st), TFM_OK);
    ck_assert(fabsf(op_f32(sess, g, "w", 0) - -0.8578622f) < 1e-7f); /* the README's value */
    /* TF's sharded save subgraph: StringJoin, ShardedFilename, SaveV2, Pack, MergeV2Checkpoints */
    test_tmpdir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/variables", dir);
    tfm_output *fname = tfm_graph_get_tensor_by_name(g, def.filename_tensor_name, st);
    tfm_output *save = tfm_graph_get_tensor_by_name(g, def.save_tensor_name, st);
    tfm_tensor *feed = string_scalar(out, st), *res = NULL;
    tfm_session_run(sess, &fname, &feed, 1, &save, &res, 1, NULL, 0, st);
    OK(st);
    ck_assert(file_exists(dir, "variables.index") && file_exists(dir, "variables.data-00000-of-00001"));
    ck_assert_int_eq(count_files(dir, ""), 2);
    ck_assert_int_eq(session_variable_set(sess, graph_find_op(g, "w"), NULL, st), TFM_OK);
    tfm_op *restore_all = op_named(g, def.restore_op_name, st);
    tfm_session_run(sess, &fname, &feed, 1, NULL, NULL, 0, &restore_all, 1, st);
    OK(st);
    ck_assert(fabsf(op_f32(sess, g, "w", 0) - -0.8578622f) < 1e-7f);
    tfm_tensor_release(res);
    tfm_tensor_release(feed);
    tfm_session_delete(sess);
    tfm_saver_delete(s);
  }
  pbio_release(tensorflow_SavedModel_fields, &sm);
  mem_free(bytes);
  tfm_graph_delete(g);
  tfm_status_delete(st);
}
END_TEST

TCase *saver_sweep_tcase(void); /* test_saver_sweep.c */

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
  tcase_add_test(tc, test_meta_graph_written_by_save_imports_and_restores);
  tcase_add_test(tc, test_restores_tensorflow_checkpoint_and_rewrites_it_byte_for_byte);
  tcase_add_test(tc, test_restores_snappy_index_of_half_plus_two);
  tcase_add_test(tc, test_restore_errors_name_the_variable_and_change_nothing);
  tcase_add_test(tc, test_failed_save_loses_nothing);
  tcase_add_test(tc, test_write_failures_at_every_point_of_a_save);
  tcase_add_test(tc, test_max_to_keep_and_the_checkpoint_file);
  tcase_add_test(tc, test_keep_checkpoint_every_n_hours_preserves_one_per_period);
  tcase_add_test(tc, test_latest_checkpoint_not_found_cases);
  tcase_add_test(tc, test_timer_saves_every_n_steps_and_every_s_seconds);
  tcase_add_test(tc, test_sharded_tf_saver_graph_runs_and_maps_from_its_saver_def);
  tcase_add_test(tc, test_unmappable_saver_def_runs_the_graph_ops);
  tcase_add_test(tc, test_io_ops_compute_hand_worked_values);
  tcase_add_test(tc, test_saver_def_of_houseprices_meta_restores_and_saves);
  tcase_add_test(tc, test_saver_def_of_sharded_savedmodel_restores_and_saves);
  suite_add_tcase(s, tc);
  suite_add_tcase(s, saver_sweep_tcase());
  return s;
}

int main(void) { return run_suite(saver_suite()); }
