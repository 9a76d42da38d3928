/* io_meta_graph: MetaGraphDef export/import and SavedModel loading.
 * A training graph saved with its .meta is imported into a fresh graph: variables
 * come back as records (trainable ones too), collections of every kind and the
 * SaverDef return, names resolve, and restore + training continues bit for bit as
 * in the original session. Import under a scope, errors that leave the graph as it
 * was, TensorFlow's own files (houseprices .meta, half_plus_two/three and
 * regression SavedModels: values from their listings, training against a float64
 * loop), and the fine-tune story (import, StopGradient an inner tensor, new conv
 * layer from get_variable, train only it, save). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "graph/graph.h"
#include "io/meta_graph.h"
#include "io/pbio.h"
#include "io/pbtext.h"
#include "io_testutil.h"
#include "tfmini/tfmini.h"

static tfm_status *st;

static void setup(void) { st = tfm_status_new(); }
static void teardown(void) { tfm_status_delete(st); }

#define OK() ck_assert_msg(tfm_status_code(st) == TFM_OK, "%s", tfm_status_message(st))
#define HAS(msg, part) ck_assert_msg(strstr((msg), (part)) != NULL, "'%s' lacks '%s'", (msg), (part))

static float scalar_f32(tfm_session *s, tfm_output *o) {
  tfm_tensor *t;
  ck_assert_int_eq(tfm_session_run(s, NULL, NULL, 0, &o, &t, 1, NULL, 0, st), TFM_OK);
  float v = *(float *)tfm_tensor_data(t);
  tfm_tensor_release(t);
  return v;
}

static void run_op(tfm_session *s, tfm_op *op, int times) {
  for (int i = 0; i < times; i++)
    ck_assert_msg(tfm_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &op, 1, st) == TFM_OK, "%s", tfm_status_message(st));
}

/* ---- our own training graph ---- */

static const float xs[8] = {0, 1, 2, 3, 4, 5, 6, 7};
static const float ys[8] = {-0.82f, -0.94f, -0.12f, 0.26f, 0.39f, 0.64f, 1.02f, 1.00f};

/* m, b; "loss/global_step"; "loss/loss" = sum((m x + b - y)^2); "loss/train_op";
 * user collections of every kind; a Saver. */
static tfm_graph *build_trainer(tfm_saver **saver) {
  tfm_graph *g = tfm_graph_new(st);
  int64_t n = 8;
  tfm_output *x = tfm_constant_f32(g, xs, &n, 1, "x", st), *y = tfm_constant_f32(g, ys, &n, 1, "y", st);
  tfm_variable *m = tfm_variable_new(g, tfm_scalar(g, -0.5, TFM_FLOAT, NULL, st), 1, "m", st);
  tfm_variable *b = tfm_variable_new(g, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), 1, "b", st);
  OK();
  ck_assert_int_eq(tfm_graph_push_name_scope(g, "loss", st), TFM_OK);
  tfm_variable *gs = tfm_variable_new(g, tfm_scalar(g, 0, TFM_INT64, NULL, st), 0, "global_step", st);
  tfm_output *err = tfm_sub(g, tfm_add(g, tfm_mul(g, tfm_variable_value(m), x, NULL, st), tfm_variable_value(b), NULL, st),
                            y, NULL, st);
  tfm_output *loss = tfm_reduce_sum(g, tfm_square(g, err, NULL, st), NULL, 0, 0, "loss", st);
  tfm_optimizer *opt = tfm_optimizer_gradient_descent(0.01, st);
  tfm_op *train = tfm_optimizer_minimize(opt, g, loss, NULL, 0, gs, "train_op", st);
  tfm_optimizer_delete(opt);
  tfm_graph_pop_name_scope(g, st);
  OK();
  tfm_graph_add_to_collection_float(g, "hyperparameters", 0.01, st);
  tfm_graph_add_to_collection_float(g, "hyperparameters", 8.0, st);
  tfm_graph_add_to_collection_int(g, "hp_int", 42, st);
  tfm_graph_add_to_collection_int(g, "hp_int", -7, st);
  tfm_graph_add_to_collection_bytes(g, "notes", "a\0b", 3, st);
  tfm_graph_add_to_collection_output(g, "outputs", loss, st);
  tfm_graph_add_to_collection_op(g, "ops", train, st);
  tfm_graph_add_to_collection_variable(g, "global_step", gs, st);
  OK();
  *saver = tfm_saver_new(g, NULL, NULL, 0, -1, 0, st);
  OK();
  return g;
}

START_TEST(meta_graph_round_trip_restores_collections_and_continues_training) {
  char dir[1024], prefix[1100], meta[1300], written[1200];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/model", dir);
  tfm_saver *saver;
  tfm_graph *g1 = build_trainer(&saver);
  tfm_session *s1 = tfm_session_new(g1, st);
  run_op(s1, tfm_global_variables_initializer(g1, st), 1);
  tfm_op *train1 = tfm_graph_get_operation_by_name(g1, "loss/train_op", st);
  run_op(s1, train1, 5);
  ck_assert_int_eq(tfm_saver_save(saver, s1, prefix, 5, 1, written, sizeof written, st), TFM_OK);
  run_op(s1, train1, 7);
  float m1 = scalar_f32(s1, tfm_graph_get_tensor_by_name(g1, "m/read:0", st));
  float b1 = scalar_f32(s1, tfm_graph_get_tensor_by_name(g1, "b/read:0", st));

  snprintf(meta, sizeof meta, "%s.meta", written);
  tfm_graph *g2 = tfm_graph_new(st);
  tfm_saver *saver2 = tfm_import_meta_graph(g2, meta, NULL, st);
  OK();
  ck_assert_ptr_nonnull(saver2);
  ck_assert_int_eq(tfm_graph_num_ops(g2), tfm_graph_num_ops(g1));
  /* Variables are records again, in order, trainable as before. */
  ck_assert_int_eq(tfm_graph_num_variables(g2), 3);
  ck_assert_str_eq(tfm_variable_name(tfm_graph_variable_at(g2, 0)), "m");
  ck_assert_str_eq(tfm_variable_name(tfm_graph_variable_at(g2, 2)), "loss/global_step");
  ck_assert(!tfm_variable_trainable(tfm_graph_variable_at(g2, 2)));
  ck_assert_int_eq(tfm_graph_collection_size(g2, "trainable_variables"), 2);
  ck_assert_str_eq(tfm_op_name(tfm_variable_initializer(tfm_graph_variable_at(g2, 1))), "b/Assign");
  ck_assert_str_eq(tfm_op_name(tfm_output_op(tfm_variable_value(tfm_graph_variable_at(g2, 1)))), "b/read");
  /* User collections, every kind. */
  double f;
  int64_t i;
  const char *bytes;
  size_t len;
  ck_assert_int_eq(tfm_graph_collection_size(g2, "hyperparameters"), 2);
  ck_assert_int_eq(tfm_graph_collection_float(g2, "hyperparameters", 0, &f, st), TFM_OK);
  ck_assert(f == (double)0.01f); /* FloatList holds float32 */
  tfm_graph_collection_float(g2, "hyperparameters", 1, &f, st);
  ck_assert(f == 8.0);
  tfm_graph_collection_int(g2, "hp_int", 1, &i, st);
  ck_assert_int_eq(i, -7);
  ck_assert_int_eq(tfm_graph_collection_bytes(g2, "notes", 0, &bytes, &len, st), TFM_OK);
  ck_assert(len == 3 && memcmp(bytes, "a\0b", 3) == 0);
  ck_assert_str_eq(tfm_op_name(tfm_output_op(tfm_graph_collection_output(g2, "outputs", 0, st))), "loss/loss");
  ck_assert_str_eq(tfm_op_name(tfm_graph_collection_op(g2, "ops", 0, st)), "loss/train_op");
  ck_assert_str_eq(tfm_op_name(tfm_graph_collection_op(g2, "train_op", 0, st)), "loss/train_op");
  ck_assert_ptr_eq(tfm_graph_collection_variable(g2, "global_step", 0, st), tfm_graph_variable_at(g2, 2));
  OK();
  /* Restore and go on: the same values as the original session after 5 + 7 steps. */
  tfm_output *gs = tfm_graph_get_tensor_by_name(g2, "loss/global_step:0", st);
  tfm_op *train2 = tfm_graph_get_operation_by_name(g2, "loss/train_op", st);
  OK();
  tfm_session *s2 = tfm_session_new(g2, st);
  ck_assert_int_eq(tfm_saver_restore(saver2, s2, written, st), TFM_OK);
  run_op(s2, train2, 7);
  ck_assert(scalar_f32(s2, tfm_graph_get_tensor_by_name(g2, "m/read:0", st)) == m1);
  ck_assert(scalar_f32(s2, tfm_graph_get_tensor_by_name(g2, "b/read:0", st)) == b1);
  tfm_tensor *step;
  ck_assert_int_eq(tfm_session_run(s2, NULL, NULL, 0, &gs, &step, 1, NULL, 0, st), TFM_OK);
  ck_assert_int_eq(*(int64_t *)tfm_tensor_data(step), 12);
  tfm_tensor_release(step);
  /* Initializers work on the imported records. */
  run_op(s2, tfm_global_variables_initializer(g2, st), 1);
  ck_assert(scalar_f32(s2, tfm_graph_get_tensor_by_name(g2, "m/read:0", st)) == -0.5f);
  tfm_session_delete(s2);
  tfm_saver_delete(saver2);
  tfm_graph_delete(g2);
  tfm_session_delete(s1);
  tfm_saver_delete(saver);
  tfm_graph_delete(g1);
}
END_TEST

START_TEST(exported_meta_graph_holds_what_tensorflow_writes) {
  char dir[1024], path[1100];
  test_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/m.meta", dir);
  tfm_saver *saver;
  tfm_graph *g = build_trainer(&saver);
  ck_assert_int_eq(tfm_export_meta_graph(g, saver, path, st), TFM_OK);
  tensorflow_MetaGraphDef mg;
  uint8_t *buf;
  ck_assert_int_eq(pbio_decode_file(path, tensorflow_MetaGraphDef_fields, &mg, sizeof mg, &buf, st), TFM_OK);
  ck_assert_str_eq(mg.meta_info_def.tensorflow_version, "1.10.0");
  ck_assert(mg.has_saver_def);
  ck_assert_str_eq(mg.saver_def.filename_tensor_name, "save/Const:0");
  ck_assert_str_eq(mg.saver_def.restore_op_name, "save/restore_all");
  ck_assert_int_eq(mg.saver_def.max_to_keep, 5);
  ck_assert_int_eq(mg.saver_def.version, tensorflow_SaverDef_CheckpointFormatVersion_V2);
  ck_assert_uint_gt(mg.graph_def.len, 0);
  /* Collections sorted by key; variables as VariableDef bytes (formats.md 3.1). */
  for (pb_size_t k = 1; k < mg.collection_def_count; k++)
    ck_assert(strcmp(mg.collection_def[k - 1].key, mg.collection_def[k].key) < 0);
  const tensorflow_CollectionDef *vars = NULL, *train = NULL, *hp = NULL;
  for (pb_size_t k = 0; k < mg.collection_def_count; k++) {
    if (!strcmp(mg.collection_def[k].key, "variables")) vars = &mg.collection_def[k].value;
    if (!strcmp(mg.collection_def[k].key, "train_op")) train = &mg.collection_def[k].value;
    if (!strcmp(mg.collection_def[k].key, "hyperparameters")) hp = &mg.collection_def[k].value;
  }
  ck_assert(vars && train && hp);
  ck_assert_uint_eq(vars->which_kind, tensorflow_CollectionDef_bytes_list_tag);
  ck_assert_uint_eq(vars->kind.bytes_list.value_count, 3);
  tensorflow_VariableDef vd;
  const pb_bytes_array_t *vb = vars->kind.bytes_list.value[0];
  ck_assert_int_eq(PBIO_DECODE(tensorflow_VariableDef, &vd, vb->bytes, vb->size, "vd", st), TFM_OK);
  ck_assert_str_eq(vd.variable_name, "m:0");
  ck_assert_str_eq(vd.initializer_name, "m/Assign");
  ck_assert_str_eq(vd.snapshot_name, "m/read:0");
  ck_assert_ptr_nonnull(vd.initial_value_name);
  ck_assert(vd.trainable);
  ck_assert(!vd.is_resource);
  pbio_release(tensorflow_VariableDef_fields, &vd);
  ck_assert_uint_eq(train->which_kind, tensorflow_CollectionDef_node_list_tag);
  ck_assert_str_eq(train->kind.node_list.value[0], "loss/train_op");
  ck_assert_uint_eq(hp->which_kind, tensorflow_CollectionDef_float_list_tag);
  ck_assert(hp->kind.float_list.value[0] == 0.01f);
  pbio_release(tensorflow_MetaGraphDef_fields, &mg);
  mem_free(buf);
  /* A collection mixing kinds no CollectionDef can hold is refused, named. */
  tfm_graph_add_to_collection_int(g, "mixed", 1, st);
  tfm_graph_add_to_collection_bytes(g, "mixed", "x", 1, st);
  ck_assert_int_eq(tfm_export_meta_graph(g, saver, path, st), TFM_INVALID_ARGUMENT);
  HAS(tfm_status_message(st), "'mixed'");
  tfm_saver_delete(saver);
  tfm_graph_delete(g);
}
END_TEST

START_TEST(import_meta_graph_under_scopes_gives_separate_models) {
  char dir[1024], prefix[1100], meta[1300], written[1200];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/model", dir);
  tfm_saver *saver;
  tfm_graph *g1 = build_trainer(&saver);
  tfm_session *s1 = tfm_session_new(g1, st);
  run_op(s1, tfm_global_variables_initializer(g1, st), 1);
  run_op(s1, tfm_graph_get_operation_by_name(g1, "loss/train_op", st), 3);
  ck_assert_int_eq(tfm_saver_save(saver, s1, prefix, -1, 1, written, sizeof written, st), TFM_OK);
  float m1 = scalar_f32(s1, tfm_graph_get_tensor_by_name(g1, "m/read:0", st));
  snprintf(meta, sizeof meta, "%s.meta", written);
  tfm_graph *g = tfm_graph_new(st);
  tfm_saver *sa = tfm_import_meta_graph(g, meta, "a", st), *sb = tfm_import_meta_graph(g, meta, "b", st);
  OK();
  ck_assert_int_eq(tfm_graph_num_variables(g), 6);
  ck_assert_str_eq(tfm_variable_name(tfm_graph_variable_at(g, 3)), "b/m");
  ck_assert_str_eq(tfm_op_name(tfm_graph_collection_op(g, "train_op", 1, st)), "b/loss/train_op");
  tfm_session *s = tfm_session_new(g, st);
  ck_assert_int_eq(tfm_saver_restore(sa, s, written, st), TFM_OK);
  run_op(s, tfm_variables_initializer(g, (tfm_variable *const[]){tfm_graph_variable_at(g, 3), tfm_graph_variable_at(g, 4),
                                                                  tfm_graph_variable_at(g, 5)}, 3, "init_b", st), 1);
  ck_assert(scalar_f32(s, tfm_graph_get_tensor_by_name(g, "a/m/read:0", st)) == m1);
  ck_assert(scalar_f32(s, tfm_graph_get_tensor_by_name(g, "b/m/read:0", st)) == -0.5f);
  run_op(s, tfm_graph_get_operation_by_name(g, "b/loss/train_op", st), 1); /* only b's variables move */
  ck_assert(scalar_f32(s, tfm_graph_get_tensor_by_name(g, "a/m/read:0", st)) == m1);
  ck_assert(scalar_f32(s, tfm_graph_get_tensor_by_name(g, "b/m/read:0", st)) != -0.5f);
  /* A new optimizer on the imported loss finds the trainable variables by collection. */
  tfm_optimizer *adam = tfm_optimizer_adam(0.1, 0.9, 0.999, 1e-8, st);
  tfm_variable *alist[2] = {tfm_graph_variable_at(g, 0), tfm_graph_variable_at(g, 1)};
  tfm_op *t = tfm_optimizer_minimize(adam, g, tfm_graph_get_tensor_by_name(g, "a/loss/loss:0", st), alist, 2, NULL,
                                     "adam_a", st);
  OK();
  tfm_optimizer_delete(adam);
  tfm_session_delete(s);
  s = tfm_session_new(g, st);
  run_op(s, tfm_global_variables_initializer(g, st), 1);
  float before = scalar_f32(s, tfm_graph_get_tensor_by_name(g, "a/loss/loss:0", st));
  run_op(s, t, 20);
  ck_assert(scalar_f32(s, tfm_graph_get_tensor_by_name(g, "a/loss/loss:0", st)) < before);
  tfm_session_delete(s);
  tfm_saver_delete(sa);
  tfm_saver_delete(sb);
  tfm_graph_delete(g);
  tfm_session_delete(s1);
  tfm_saver_delete(saver);
  tfm_graph_delete(g1);
}
END_TEST

START_TEST(import_meta_graph_errors_leave_the_graph_alone) {
  char dir[1024], path[1100], bad[1100];
  test_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/m.meta", dir);
  snprintf(bad, sizeof bad, "%s/bad.meta", dir);
  tfm_saver *saver;
  tfm_graph *g1 = build_trainer(&saver);
  ck_assert_int_eq(tfm_export_meta_graph(g1, saver, path, st), TFM_OK);
  tfm_graph *g = tfm_graph_new(st);
  tfm_scalar(g, 1, TFM_FLOAT, "mine", st);
  ck_assert_ptr_null(tfm_import_meta_graph(g, "/nonexistent/m.meta", NULL, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_NOT_FOUND);
  HAS(tfm_status_message(st), "/nonexistent/m.meta");
  FILE *f = fopen(bad, "wb");
  fwrite("\x12\xff\xff\xff\x0f garbage", 1, 13, f);
  fclose(f);
  ck_assert_ptr_null(tfm_import_meta_graph(g, bad, NULL, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_DATA_LOSS);
  /* A collection naming an op that is not there: NOT_FOUND, nothing added. */
  size_t n;
  uint8_t *file = slurp(path, &n);
  tensorflow_MetaGraphDef mg;
  ck_assert_int_eq(PBIO_DECODE(tensorflow_MetaGraphDef, &mg, file, n, "m", st), TFM_OK);
  for (pb_size_t k = 0; k < mg.collection_def_count; k++)
    if (!strcmp(mg.collection_def[k].key, "ops")) {
      free(mg.collection_def[k].value.kind.node_list.value[0]);
      mg.collection_def[k].value.kind.node_list.value[0] = pbio_strdup("loss/no_such_op");
    }
  bytebuf_t out = BYTEBUF_INIT;
  ck_assert_int_eq(pbio_encode(tensorflow_MetaGraphDef_fields, &mg, &out, "m", st), TFM_OK);
  f = fopen(bad, "wb");
  fwrite(out.data, 1, out.len, f);
  fclose(f);
  ck_assert_ptr_null(tfm_import_meta_graph(g, bad, "s", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_NOT_FOUND);
  HAS(tfm_status_message(st), "s/loss/no_such_op");
  ck_assert_int_eq(tfm_graph_num_ops(g), 1);
  ck_assert_int_eq(tfm_graph_num_variables(g), 0);
  ck_assert_int_eq(tfm_graph_num_collections(g), 0);
  /* A meta graph in text format (as TF's export_meta_graph(as_text=True)) imports too. */
  bytebuf_t text = BYTEBUF_INIT;
  ck_assert_int_eq(pbtext_from_binary("tensorflow.MetaGraphDef", file, n, &text, "m", st), TFM_OK);
  snprintf(bad, sizeof bad, "%s/m.meta.txt", dir);
  f = fopen(bad, "wb");
  fwrite(text.data, 1, text.len, f);
  fclose(f);
  bytebuf_free(&text);
  tfm_graph *gt = tfm_graph_new(st);
  tfm_saver *st_saver = tfm_import_meta_graph(gt, bad, NULL, st);
  OK();
  ck_assert_int_eq(tfm_graph_num_ops(gt), tfm_graph_num_ops(g1));
  ck_assert_int_eq(tfm_graph_num_variables(gt), 3);
  tfm_saver_delete(st_saver);
  tfm_graph_delete(gt);
  /* Every truncation of the file, and flipped bytes: an error (or a smaller valid
   * file) and never a crash; on error the graph keeps only its op. */
  for (size_t cut = 0; cut < n; cut += 1 + cut / 50) {
    f = fopen(bad, "wb");
    fwrite(file, 1, cut, f);
    fclose(f);
    tfm_graph *gc = tfm_graph_new(st);
    tfm_scalar(gc, 1, TFM_FLOAT, "mine", st);
    tfm_saver *sc = tfm_import_meta_graph(gc, bad, NULL, st);
    if (tfm_status_code(st) != TFM_OK) {
      ck_assert_int_eq(tfm_graph_num_ops(gc), 1);
      ck_assert_int_eq(tfm_graph_num_collections(gc), 0);
    }
    tfm_saver_delete(sc);
    tfm_graph_delete(gc);
  }
  for (size_t at = 0; at < n; at += 97) {
    file[at] ^= 0x24;
    f = fopen(bad, "wb");
    fwrite(file, 1, n, f);
    fclose(f);
    file[at] ^= 0x24;
    tfm_graph *gc = tfm_graph_new(st);
    tfm_saver_delete(tfm_import_meta_graph(gc, bad, NULL, st));
    tfm_graph_delete(gc);
  }
  /* The graph is still usable: the good file imports under the same scope. */
  tfm_saver *ok = tfm_import_meta_graph(g, path, "s", st);
  OK();
  ck_assert_int_eq(tfm_graph_num_variables(g), 3);
  tfm_saver_delete(ok);
  bytebuf_free(&out);
  pbio_release(tensorflow_MetaGraphDef_fields, &mg);
  free(file);
  tfm_graph_delete(g);
  tfm_saver_delete(saver);
  tfm_graph_delete(g1);
}
END_TEST

/* ---- TensorFlow's files ---- */

START_TEST(tensorflow_houseprices_meta_graph_imports) {
  char path[1024];
  if (!tf_testdata("houseprices_tf1.10/model.ckpt.meta", path, sizeof path)) return;
  tfm_graph *g = tfm_graph_new(st);
  tfm_saver *saver = tfm_import_meta_graph(g, path, NULL, st);
  if (tfm_status_code(st) == TFM_UNIMPLEMENTED) {
    /* The ops libtfmini lacks are named, with a node using the first. */
    HAS(tfm_status_message(st), "is not registered");
    ck_assert_int_eq(tfm_graph_num_ops(g), 0);
    printf("NOTE: houseprices meta graph needs ops libtfmini lacks: %s\n", tfm_status_message(st));
    tfm_graph_delete(g);
    return;
  }
  OK();
  /* The listing: 602 nodes, 34 variables of which the 12 weights/biases train. */
  ck_assert_int_eq(tfm_graph_num_ops(g), 602);
  ck_assert_int_eq(tfm_graph_num_variables(g), 34);
  ck_assert_int_eq(tfm_graph_collection_size(g, "trainable_variables"), 12);
  ck_assert_str_eq(tfm_op_name(tfm_graph_collection_op(g, "train_op", 0, st)), "Adam");
  ck_assert_int_eq(tfm_graph_collection_size(g, "cond_context"), 8);
  char ckpt[1024];
  tf_testdata("houseprices_tf1.10/model.ckpt", ckpt, sizeof ckpt);
  tfm_session *s = tfm_session_new(g, st);
  ck_assert_int_eq(tfm_saver_restore(saver, s, ckpt, st), TFM_OK);
  tfm_session_delete(s);
  tfm_saver_delete(saver);
  tfm_graph_delete(g);
}
END_TEST

/* Feeds x (n values, shape [n,1]) into `in` and returns y[0..n) from `out`. */
static void run_signature(tfm_session *s, tfm_output *in, tfm_output *out, const float *x, int n, float *y) {
  int64_t dims[2] = {n, 1};
  tfm_tensor *xt = tfm_tensor_new(TFM_FLOAT, dims, 2, st), *yt;
  memcpy(tfm_tensor_data(xt), x, (size_t)n * sizeof *x);
  ck_assert_msg(tfm_session_run(s, &in, &xt, 1, &out, &yt, 1, NULL, 0, st) == TFM_OK, "%s", tfm_status_message(st));
  ck_assert_int_eq(tfm_tensor_num_elements(yt), n);
  memcpy(y, tfm_tensor_data(yt), (size_t)n * sizeof *y);
  tfm_tensor_release(xt);
  tfm_tensor_release(yt);
}

/* half_plus_two / half_plus_three: y = a x + b with a = 0.5 and b from the listing. */
static void check_half_plus(const char *rel, float b) {
  char dir[1024];
  if (!tf_testdata(rel, dir, sizeof dir)) return;
  tfm_graph *g = tfm_graph_new(st);
  tfm_session *s = tfm_session_new(g, st);
  const char *tags[] = {"serve"};
  ck_assert_ptr_null(tfm_saved_model_load(s, dir, (const char *[]){"train"}, 1, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_NOT_FOUND);
  HAS(tfm_status_message(st), "{serve}");
  tfm_saved_model *m = tfm_saved_model_load(s, dir, tags, 1, st);
  if (!m && tfm_status_code(st) == TFM_UNIMPLEMENTED) {
    printf("NOTE: %s needs ops libtfmini lacks: %s\n", rel, tfm_status_message(st));
    tfm_session_delete(s);
    tfm_graph_delete(g);
    return;
  }
  OK();
  tfm_output *in = tfm_saved_model_signature_tensor(m, "serving_default", "x", 0, st);
  tfm_output *out = tfm_saved_model_signature_tensor(m, "serving_default", "y", 1, st);
  OK();
  ck_assert_str_eq(tfm_op_name(tfm_output_op(out)), "y");
  const float x[4] = {0, 1, 2, -5.5f};
  float y[4];
  run_signature(s, in, out, x, 4, y);
  for (int i = 0; i < 4; i++) ck_assert_msg(y[i] == 0.5f * x[i] + b, "y[%d] = %g", i, y[i]);
  ck_assert_ptr_null(tfm_saved_model_signature_tensor(m, "serving_default", "nope", 1, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_NOT_FOUND);
  tfm_saved_model_delete(m);
  tfm_session_delete(s);
  tfm_graph_delete(g);
}

START_TEST(tensorflow_half_plus_saved_models_compute_a_x_plus_b) {
  check_half_plus("half_plus_three_tf1.0", 3.0f);
  check_half_plus("half_plus_two_cpu_tf1.14", 2.0f);
}
END_TEST

START_TEST(tensorflow_regression_saved_model_trains_saves_and_restores) {
  char dir[1024];
  if (!tf_testdata("regression_savedmodel_tf1.2", dir, sizeof dir)) return;
  tfm_graph *g = tfm_graph_new(st);
  tfm_session *s = tfm_session_new(g, st);
  tfm_saved_model *m = tfm_saved_model_load(s, dir, (const char *[]){"serve", "train"}, 2, st);
  if (!m && tfm_status_code(st) == TFM_UNIMPLEMENTED) {
    printf("NOTE: regression SavedModel needs ops libtfmini lacks: %s\n", tfm_status_message(st));
    tfm_session_delete(s);
    tfm_graph_delete(g);
    return;
  }
  OK();
  const char *sig = "tensorflow/serving/regress";
  tfm_output *x = tfm_saved_model_signature_tensor(m, sig, "x", 0, st);
  tfm_output *y = tfm_saved_model_signature_tensor(m, sig, "y", 0, st);
  tfm_output *yhat = tfm_saved_model_signature_tensor(m, sig, "out", 1, st);
  OK();
  /* Its own initializer ("init": w ~ U[-1, 1), b = 0) runs in a session of its own. */
  tfm_session *fresh = tfm_session_new(g, st);
  run_op(fresh, tfm_graph_get_operation_by_name(g, "init", st), 1);
  float w0 = scalar_f32(fresh, tfm_graph_get_tensor_by_name(g, "w/read:0", st));
  ck_assert(w0 >= -1.0f && w0 < 1.0f);
  ck_assert(scalar_f32(fresh, tfm_graph_get_tensor_by_name(g, "b/read:0", st)) == 0.0f);
  tfm_session_delete(fresh);
  /* Restored values (variables.index listing): w = -0.8578622, b = 0. */
  double w = -0.8578622341156006, b = 0;
  const float xv[4] = {1, 2, 3, 4};
  float out[4];
  run_signature(s, x, yhat, xv, 4, out);
  for (int i = 0; i < 4; i++) ck_assert(fabs(out[i] - (w * xv[i] + b)) < 1e-6);
  /* Train as TensorFlow did: loss = mean((w x + b - y)^2), the graph's own
   * GradientDescent(0.5) (x in [0, 1] keeps that step stable), against float64. */
  const float xt[4] = {0.1f, 0.4f, 0.7f, 1.0f}, yt[4] = {1.2f, 1.8f, 2.4f, 3.0f};
  int64_t dims[1] = {4};
  tfm_tensor *ft[2] = {tfm_tensor_new(TFM_FLOAT, dims, 1, st), tfm_tensor_new(TFM_FLOAT, dims, 1, st)};
  memcpy(tfm_tensor_data(ft[0]), xt, sizeof xt);
  memcpy(tfm_tensor_data(ft[1]), yt, sizeof yt);
  tfm_output *feeds[2] = {x, y};
  tfm_op *train = tfm_graph_get_operation_by_name(g, "train", st);
  OK();
  for (int step = 0; step < 30; step++) {
    ck_assert_msg(tfm_session_run(s, feeds, ft, 2, NULL, NULL, 0, &train, 1, st) == TFM_OK, "%s",
                  tfm_status_message(st));
    double gw = 0, gb = 0;
    for (int i = 0; i < 4; i++) {
      double e = w * xt[i] + b - yt[i];
      gw += 2 * e * xt[i] / 4;
      gb += 2 * e / 4;
    }
    w -= 0.5 * gw;
    b -= 0.5 * gb;
  }
  tfm_variable *vw = tfm_graph_variable_by_name(g, "w", st), *vb = tfm_graph_variable_by_name(g, "b", st);
  OK();
  tfm_tensor *tw = tfm_session_variable_value(s, vw, st), *tb = tfm_session_variable_value(s, vb, st);
  OK();
  ck_assert_msg(fabs(((float *)tfm_tensor_data(tw))[0] - w) < 1e-4, "w %g vs %g", ((float *)tfm_tensor_data(tw))[0], w);
  ck_assert_msg(fabs(((float *)tfm_tensor_data(tb))[0] - b) < 1e-4, "b %g vs %g", ((float *)tfm_tensor_data(tb))[0], b);
  /* Save with a Saver over its variables, export the meta graph, import both into a
   * fresh graph and restore: the same values. */
  char tmp[1024], prefix[1100], meta[1100];
  test_tmpdir(tmp, sizeof tmp);
  snprintf(prefix, sizeof prefix, "%s/regression", tmp);
  snprintf(meta, sizeof meta, "%s/regression.meta", tmp);
  tfm_saver *saver = tfm_saver_new(g, NULL, NULL, 0, -1, 0, st);
  OK();
  ck_assert_int_eq(tfm_saver_save(saver, s, prefix, -1, 1, NULL, 0, st), TFM_OK);
  tfm_graph *g2 = tfm_graph_new(st);
  tfm_saver *saver2 = tfm_import_meta_graph(g2, meta, NULL, st);
  OK();
  tfm_session *s2 = tfm_session_new(g2, st);
  ck_assert_int_eq(tfm_saver_restore(saver2, s2, prefix, st), TFM_OK);
  tfm_tensor *tw2 = tfm_session_variable_value(s2, tfm_graph_variable_by_name(g2, "w", st), st);
  OK();
  ck_assert(((float *)tfm_tensor_data(tw2))[0] == ((float *)tfm_tensor_data(tw))[0]);
  tfm_tensor_release(tw2);
  tfm_session_delete(s2);
  tfm_saver_delete(saver2);
  tfm_graph_delete(g2);
  tfm_saver_delete(saver);
  tfm_tensor_release(tw);
  tfm_tensor_release(tb);
  tfm_tensor_release(ft[0]);
  tfm_tensor_release(ft[1]);
  tfm_saved_model_delete(m);
  tfm_session_delete(s);
  tfm_graph_delete(g);
}
END_TEST

/* ---- fine-tuning an imported model ---- */

START_TEST(fine_tune_an_imported_graph_trains_only_the_new_layer) {
  /* The base: x[2,4,4,1] -> conv(3x3, 1->2) + relu = "features"; saved with its meta. */
  char dir[1024], prefix[1100], meta[1200];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/base", dir);
  snprintf(meta, sizeof meta, "%s/base.meta", dir);
  tfm_graph *g1 = tfm_graph_new(st);
  float img[32];
  for (int i = 0; i < 32; i++) img[i] = (float)((i * 7) % 11) / 10.0f - 0.3f;
  int64_t xd[4] = {2, 4, 4, 1}, wd[4] = {3, 3, 1, 2};
  tfm_output *x = tfm_constant_f32(g1, img, xd, 4, "images", st);
  tfm_variable *w1 = tfm_get_variable(g1, "conv1/w", TFM_FLOAT, wd, 4, TFM_INIT_GLOROT_UNIFORM, 0, 0, 7, 1, st);
  tfm_relu(g1, tfm_conv2d(g1, x, tfm_variable_value(w1), 1, 1, "SAME", NULL, st), "features", st);
  OK();
  tfm_saver *sv1 = tfm_saver_new(g1, NULL, NULL, 0, -1, 0, st);
  tfm_session *s1 = tfm_session_new(g1, st);
  run_op(s1, tfm_global_variables_initializer(g1, st), 1);
  ck_assert_int_eq(tfm_saver_save(sv1, s1, prefix, -1, 1, NULL, 0, st), TFM_OK);
  tfm_tensor *w1v = tfm_session_variable_value(s1, w1, st);
  OK();

  /* The new model: import under "base", stop gradients at its features, add a layer. */
  tfm_graph *g = tfm_graph_new(st);
  tfm_saver *base_saver = tfm_import_meta_graph(g, meta, "base", st);
  OK();
  tfm_output *feat = tfm_graph_get_tensor_by_name(g, "base/features:0", st);
  OK();
  tfm_output *frozen = tfm_stop_gradient(g, feat, NULL, st);
  int64_t hd[4] = {3, 3, 2, 1}, bd[1] = {1};
  ck_assert_int_eq(tfm_graph_push_variable_scope(g, "head", 0, st), TFM_OK);
  tfm_variable *hw = tfm_get_variable(g, "w", TFM_FLOAT, hd, 4, TFM_INIT_GLOROT_UNIFORM, 0, 0, 3, 1, st);
  tfm_variable *hb = tfm_get_variable(g, "b", TFM_FLOAT, bd, 1, TFM_INIT_ZEROS, 0, 0, 0, 1, st);
  tfm_output *out = tfm_relu(g, tfm_bias_add(g, tfm_conv2d(g, frozen, tfm_variable_value(hw), 1, 1, "SAME", NULL, st),
                                             tfm_variable_value(hb), NULL, st), NULL, st);
  tfm_graph_pop_variable_scope(g, st);
  tfm_output *loss = tfm_reduce_sum(g, tfm_square(g, tfm_sub(g, out, tfm_scalar(g, 0.75, TFM_FLOAT, NULL, st), NULL, st),
                                                  NULL, st), NULL, 0, 0, "loss", st);
  OK();
  tfm_optimizer *opt = tfm_optimizer_gradient_descent(0.01, st);
  tfm_variable *head[2] = {hw, hb};
  tfm_op *train = tfm_optimizer_minimize(opt, g, loss, head, 2, NULL, "train", st);
  OK();
  tfm_optimizer_delete(opt);
  ck_assert_int_eq(tfm_graph_collection_size(g, "trainable_variables"), 3); /* base/conv1/w, head/w, head/b */
  tfm_session *s = tfm_session_new(g, st);
  run_op(s, tfm_global_variables_initializer(g, st), 1);
  ck_assert_int_eq(tfm_saver_restore(base_saver, s, prefix, st), TFM_OK);
  tfm_variable *bw = tfm_graph_variable_by_name(g, "base/conv1/w", st);
  OK();
  tfm_tensor *before = tfm_session_variable_value(s, bw, st);
  ck_assert(memcmp(tfm_tensor_data(before), tfm_tensor_data(w1v), tfm_tensor_nbytes(w1v)) == 0);
  float l0 = scalar_f32(s, loss);
  run_op(s, train, 40);
  float l1 = scalar_f32(s, loss);
  ck_assert_msg(l1 < l0, "loss %g -> %g", l0, l1);
  tfm_tensor *after = tfm_session_variable_value(s, bw, st);
  ck_assert(memcmp(tfm_tensor_data(after), tfm_tensor_data(w1v), tfm_tensor_nbytes(w1v)) == 0); /* frozen */
  /* Save everything: base and head variables together. */
  char all[1100];
  snprintf(all, sizeof all, "%s/tuned", dir);
  tfm_saver *sv = tfm_saver_new(g, NULL, NULL, 0, -1, 0, st);
  OK();
  ck_assert_int_eq(tfm_saver_save(sv, s, all, 40, 1, NULL, 0, st), TFM_OK);
  tfm_graph *g3 = tfm_graph_new(st);
  char meta3[1200], ck3[1200];
  snprintf(meta3, sizeof meta3, "%s/tuned-40.meta", dir);
  snprintf(ck3, sizeof ck3, "%s/tuned-40", dir);
  tfm_saver *sv3 = tfm_import_meta_graph(g3, meta3, NULL, st);
  OK();
  tfm_session *s3 = tfm_session_new(g3, st);
  ck_assert_int_eq(tfm_saver_restore(sv3, s3, ck3, st), TFM_OK);
  ck_assert(scalar_f32(s3, tfm_graph_get_tensor_by_name(g3, "loss:0", st)) == l1);
  tfm_session_delete(s3);
  tfm_saver_delete(sv3);
  tfm_graph_delete(g3);
  tfm_saver_delete(sv);
  tfm_tensor_release(before);
  tfm_tensor_release(after);
  tfm_tensor_release(w1v);
  tfm_session_delete(s);
  tfm_saver_delete(base_saver);
  tfm_graph_delete(g);
  tfm_session_delete(s1);
  tfm_saver_delete(sv1);
  tfm_graph_delete(g1);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("io_meta_graph");
  TCase *tc = tcase_create("meta_graph");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, meta_graph_round_trip_restores_collections_and_continues_training);
  tcase_add_test(tc, exported_meta_graph_holds_what_tensorflow_writes);
  tcase_add_test(tc, import_meta_graph_under_scopes_gives_separate_models);
  tcase_add_test(tc, import_meta_graph_errors_leave_the_graph_alone);
  tcase_add_test(tc, tensorflow_houseprices_meta_graph_imports);
  tcase_add_test(tc, tensorflow_half_plus_saved_models_compute_a_x_plus_b);
  tcase_add_test(tc, tensorflow_regression_saved_model_trains_saves_and_restores);
  tcase_add_test(tc, fine_tune_an_imported_graph_trains_only_the_new_layer);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(suite()); }
