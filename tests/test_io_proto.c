/* io_proto: TensorFlow's protobuf messages through nanopb. Real MetaGraphDef and
 * SavedModel files are decoded and compared node by node with their decoded
 * listings (*.dump.txt); tensors convert to and from TensorProto with TF's
 * conventions; re-encoding reproduces the original bytes. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/status.h"
#include "io/graph_def.h"
#include "io/pbio.h"
#include "io_testutil.h"
#include "tfmini/tfmini.h"

/* Node lines of a dump: "    <name>  <op>  in=['a', 'b'] dev='<device>'". */
typedef struct dump_node {
  char name[160], op[64], inputs[4096], device[64];
} dump_node_t;

static size_t read_dump_nodes(const char *path, dump_node_t *out, size_t cap) {
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  static char line[1 << 16];
  size_t n = 0;
  while (fgets(line, sizeof line, f)) {
    char *in = strstr(line, " in=[");
    if (strncmp(line, "    ", 4) != 0 || line[4] == ' ' || !in) continue;
    ck_assert_uint_lt(n, cap);
    ck_assert_int_eq(sscanf(line, "%159s %63s", out[n].name, out[n].op), 2);
    char *end = strstr(in, "] dev='");
    ck_assert_ptr_nonnull(end);
    size_t len = (size_t)(end - in - 5);
    ck_assert_uint_lt(len, sizeof out[n].inputs);
    memcpy(out[n].inputs, in + 5, len);
    out[n].inputs[len] = 0;
    char *dev = end + 7, *q = strchr(dev, '\'');
    memcpy(out[n].device, dev, (size_t)(q - dev));
    out[n].device[q - dev] = 0;
    n++;
  }
  fclose(f);
  return n;
}

/* Formats a NodeDef's inputs the way the dump does: 'a', 'b'. */
static void format_inputs(const tensorflow_NodeDef *nd, char *buf, size_t cap) {
  buf[0] = 0;
  size_t at = 0;
  for (pb_size_t i = 0; i < nd->input_count; i++)
    at += (size_t)snprintf(buf + at, cap - at, "%s'%s'", i ? ", " : "", nd->input[i]);
}

static const tensorflow_AttrValue *find_attr(const tensorflow_NodeDef *nd, const char *key) {
  for (pb_size_t i = 0; i < nd->attr_count; i++)
    if (strcmp(nd->attr[i].key, key) == 0) return &nd->attr[i].value;
  return NULL;
}

/* A decoded GraphDef's nodes (GraphDef.node is streamed: graph_def_for_each_node). */
typedef struct graph_nodes {
  tensorflow_NodeDef *node;
  size_t node_count;
  tensorflow_VersionDef versions;
} graph_nodes_t;

static bool keep_node(void *ctx, tensorflow_NodeDef *nd, tfm_status *st) {
  (void)st;
  graph_nodes_t *g = ctx;
  g->node = realloc(g->node, (g->node_count + 1) * sizeof *g->node);
  g->node[g->node_count++] = *nd;
  memset(nd, 0, sizeof *nd);
  return true;
}

static void decode_graph(const pbio_blob_t *bytes, graph_nodes_t *g) {
  memset(g, 0, sizeof *g);
  ck_assert_int_eq(graph_def_for_each_node(bytes->data, bytes->len, keep_node, g, &g->versions, "graph", NULL),
                   TFM_OK);
}

static void free_graph(graph_nodes_t *g) {
  for (size_t i = 0; i < g->node_count; i++) pbio_release(tensorflow_NodeDef_fields, &g->node[i]);
  free(g->node);
}

static void check_graph_against_dump(const graph_nodes_t *g, const char *dump_path,
                                     size_t want_nodes) {
  static dump_node_t want[1024];
  size_t n = read_dump_nodes(dump_path, want, 1024);
  ck_assert_uint_eq(n, want_nodes);
  ck_assert_uint_eq(g->node_count, n);
  static char inputs[1 << 16];
  for (size_t i = 0; i < n; i++) {
    const tensorflow_NodeDef *nd = &g->node[i];
    ck_assert_str_eq(nd->name, want[i].name);
    ck_assert_str_eq(nd->op, want[i].op);
    ck_assert_str_eq(nd->device ? nd->device : "", want[i].device);
    format_inputs(nd, inputs, sizeof inputs);
    ck_assert_msg(strcmp(inputs, want[i].inputs) == 0, "node %s inputs [%s] != [%s]",
                  nd->name, inputs, want[i].inputs);
  }
}

static int count_op(const graph_nodes_t *g, const char *op) {
  int c = 0;
  for (size_t i = 0; i < g->node_count; i++) c += strcmp(g->node[i].op, op) == 0;
  return c;
}

static const tensorflow_NodeDef *find_node(const graph_nodes_t *g, const char *name) {
  for (size_t i = 0; i < g->node_count; i++)
    if (strcmp(g->node[i].name, name) == 0) return &g->node[i];
  return NULL;
}

START_TEST(proto_decodes_houseprices_meta_graph_like_its_dump) {
  char path[1024], dump[1100];
  if (!tf_testdata("houseprices_tf1.10/model.ckpt.meta", path, sizeof path)) return;
  snprintf(dump, sizeof dump, "%s.dump.txt", path);
  tfm_status *st = tfm_status_new();
  tensorflow_MetaGraphDef mg;
  uint8_t *buf;
  ck_assert_int_eq(pbio_decode_file(path, tensorflow_MetaGraphDef_fields, &mg, sizeof mg, &buf, st), TFM_OK);
  ck_assert(mg.has_meta_info_def);
  ck_assert_str_eq(mg.meta_info_def.tensorflow_version, "1.10.0");
  ck_assert_str_eq(mg.meta_info_def.tensorflow_git_version, "v1.10.0-0-g656e7a2b34");
  ck_assert_uint_eq(mg.meta_info_def.tags_count, 0);
  ck_assert_uint_eq(mg.meta_info_def.stripped_op_list.op_count, 34);
  /* stripped_op_list is sorted by op name; VariableV2 is stateful with a ref output. */
  const tensorflow_OpDef *last = &mg.meta_info_def.stripped_op_list.op[33];
  ck_assert_str_eq(last->name, "VariableV2");
  ck_assert(last->is_stateful);
  ck_assert_uint_eq(last->output_arg_count, 1);
  ck_assert(last->output_arg[0].is_ref);
  /* SaverDef as in the dump. */
  ck_assert(mg.has_saver_def);
  ck_assert_str_eq(mg.saver_def.filename_tensor_name, "save/Const:0");
  ck_assert_str_eq(mg.saver_def.save_tensor_name, "save/control_dependency:0");
  ck_assert_str_eq(mg.saver_def.restore_op_name, "save/restore_all");
  ck_assert_int_eq(mg.saver_def.max_to_keep, 5);
  ck_assert(mg.saver_def.keep_checkpoint_every_n_hours == 10000.0f);
  ck_assert_int_eq(mg.saver_def.version, tensorflow_SaverDef_CheckpointFormatVersion_V2);
  /* Collections: names, kinds, sizes from the dump. */
  ck_assert_uint_eq(mg.collection_def_count, 4);
  const tensorflow_CollectionDef *vars = NULL, *train = NULL, *cond = NULL;
  for (pb_size_t i = 0; i < mg.collection_def_count; i++) {
    if (!strcmp(mg.collection_def[i].key, "variables")) vars = &mg.collection_def[i].value;
    if (!strcmp(mg.collection_def[i].key, "train_op")) train = &mg.collection_def[i].value;
    if (!strcmp(mg.collection_def[i].key, "cond_context")) cond = &mg.collection_def[i].value;
  }
  ck_assert(vars && train && cond);
  ck_assert_uint_eq(train->which_kind, tensorflow_CollectionDef_node_list_tag);
  ck_assert_uint_eq(train->kind.node_list.value_count, 1);
  ck_assert_str_eq(train->kind.node_list.value[0], "Adam");
  ck_assert_uint_eq(cond->kind.bytes_list.value_count, 8);
  ck_assert_uint_eq(cond->kind.bytes_list.value[0]->size, 711);
  ck_assert_uint_eq(vars->which_kind, tensorflow_CollectionDef_bytes_list_tag);
  ck_assert_uint_eq(vars->kind.bytes_list.value_count, 34); /* the dump lists the first 20 */
  ck_assert_uint_eq(vars->kind.bytes_list.value[0]->size, 65);
  /* The first variable's VariableDef (bytes quoted in formats.md 3.1). */
  tensorflow_VariableDef vd;
  const pb_bytes_array_t *vb = vars->kind.bytes_list.value[0];
  ck_assert_int_eq(PBIO_DECODE(tensorflow_VariableDef, &vd, vb->bytes, vb->size, "var", st),
                   TFM_OK);
  ck_assert_str_eq(vd.variable_name, "Variable:0");
  ck_assert_str_eq(vd.initializer_name, "Variable/Assign");
  ck_assert_str_eq(vd.snapshot_name, "Variable/read:0");
  ck_assert_str_eq(vd.initial_value_name, "random_normal:0");
  ck_assert(vd.trainable);
  pbio_release(tensorflow_VariableDef_fields, &vd);
  /* The graph: all 602 nodes' names, ops, inputs and devices; op counts. */
  graph_nodes_t gd;
  decode_graph(&mg.graph_def, &gd);
  ck_assert_int_eq(gd.versions.producer, 26);
  check_graph_against_dump(&gd, dump, 602);
  ck_assert_int_eq(count_op(&gd, "VariableV2"), 34);
  ck_assert_int_eq(count_op(&gd, "Const"), 97);
  ck_assert_int_eq(count_op(&gd, "Switch"), 24);
  /* Attributes: Placeholder dtype=10 (bool) with unknown-rank shape; a Const value. */
  const tensorflow_NodeDef *ph = &gd.node[0];
  ck_assert_str_eq(ph->name, "Placeholder");
  const tensorflow_AttrValue *a = find_attr(ph, "dtype");
  ck_assert_ptr_nonnull(a);
  ck_assert_uint_eq(a->which_value, tensorflow_AttrValue_type_tag);
  ck_assert_int_eq(a->value.type, 10);
  a = find_attr(ph, "shape");
  ck_assert_uint_eq(a->which_value, tensorflow_AttrValue_shape_tag);
  ck_assert(a->value.shape.unknown_rank);
  const tensorflow_NodeDef *sc = find_node(&gd, "save/Const");
  a = find_attr(sc, "value");
  ck_assert_uint_eq(a->which_value, tensorflow_AttrValue_tensor_tag);
  tensor_t *t = pbio_tensor_from_proto(&a->value.tensor, "save/Const", st);
  ck_assert_ptr_nonnull(t);
  ck_assert_int_eq(t->dtype, TFM_STRING);
  ck_assert_int_eq(t->shape.rank, 0);
  ck_assert_uint_eq(TENSOR_STR(t)[0].len, 5);
  ck_assert(memcmp(TENSOR_STR(t)[0].data, "model", 5) == 0);
  tensor_unref(t);
  const tensorflow_NodeDef *ss = find_node(&gd, "strided_slice/stack_1");
  t = pbio_tensor_from_proto(&find_attr(ss, "value")->value.tensor, "stack_1", st);
  ck_assert_int_eq(t->dtype, TFM_INT32);
  ck_assert_int_eq(t->shape.rank, 1);
  ck_assert_int_eq(t->shape.dim[0], 1);
  ck_assert_int_eq(TENSOR_I32(t)[0], 1);
  tensor_unref(t);
  const tensorflow_NodeDef *asg = find_node(&gd, "Variable/Assign");
  a = find_attr(asg, "_class");
  ck_assert_uint_eq(a->which_value, tensorflow_AttrValue_list_tag);
  ck_assert_uint_eq(a->value.list.s_count, 1);
  ck_assert_uint_eq(a->value.list.s[0]->size, strlen("loc:@Variable"));
  ck_assert(memcmp(a->value.list.s[0]->bytes, "loc:@Variable", 13) == 0);
  a = find_attr(asg, "use_locking");
  ck_assert_uint_eq(a->which_value, tensorflow_AttrValue_b_tag);
  ck_assert(a->value.b);
  free_graph(&gd);
  pbio_release(tensorflow_MetaGraphDef_fields, &mg);
  mem_free(buf);
  tfm_status_delete(st);
}
END_TEST

/* Decoding then encoding gives back the file's bytes: nothing was dropped, and
 * field order, packing and oneof defaults follow TF's writer. */
static void check_reencode_identical(const char *rel, const pb_msgdesc_t *type, void *msg,
                                     size_t size) {
  char path[1024];
  if (!tf_testdata(rel, path, sizeof path)) return;
  tfm_status *st = tfm_status_new();
  uint8_t *buf;
  ck_assert_int_eq(pbio_decode_file(path, type, msg, size, &buf, st), TFM_OK);
  size_t n;
  uint8_t *orig = slurp(path, &n);
  bytebuf_t out = BYTEBUF_INIT;
  ck_assert_int_eq(pbio_encode(type, msg, &out, rel, st), TFM_OK);
  ck_assert_uint_eq(out.len, n);
  size_t i = 0;
  while (i < n && out.data[i] == orig[i]) i++;
  ck_assert_msg(i == n, "%s: re-encoding differs at byte %zu", rel, i);
  bytebuf_free(&out);
  free(orig);
  pbio_release(type, msg);
  mem_free(buf);
  tfm_status_delete(st);
}

/* The same for a GraphDef (alone, or the one inside a MetaGraphDef), whose nodes
 * are streamed: each NodeDef re-encoded, then the versions. */
static void check_graph_reencode_identical(const char *rel, bool in_meta_graph) {
  char path[1024];
  if (!tf_testdata(rel, path, sizeof path)) return;
  tfm_status *st = tfm_status_new();
  size_t n;
  uint8_t *file = slurp(path, &n);
  pbio_blob_t bytes = {file, n};
  tensorflow_MetaGraphDef mg;
  if (in_meta_graph) {
    ck_assert_int_eq(PBIO_DECODE(tensorflow_MetaGraphDef, &mg, file, n, rel, st), TFM_OK);
    bytes = mg.graph_def;
  }
  graph_nodes_t g;
  decode_graph(&bytes, &g);
  bytebuf_t out = BYTEBUF_INIT;
  for (size_t i = 0; i < g.node_count; i++)
    ck_assert_int_eq(pbio_encode_submessage(1, tensorflow_NodeDef_fields, &g.node[i], &out, rel, st), TFM_OK);
  tensorflow_GraphDef rest;
  memset(&rest, 0, sizeof rest);
  rest.has_versions = true;
  rest.versions = g.versions;
  ck_assert_int_eq(pbio_encode(tensorflow_GraphDef_fields, &rest, &out, rel, st), TFM_OK);
  ck_assert_uint_eq(out.len, bytes.len);
  ck_assert_msg(memcmp(out.data, bytes.data, bytes.len) == 0, "%s: re-encoded graph differs", rel);
  bytebuf_free(&out);
  free_graph(&g);
  if (in_meta_graph) pbio_release(tensorflow_MetaGraphDef_fields, &mg);
  free(file);
  tfm_status_delete(st);
}

START_TEST(proto_reencodes_real_files_byte_for_byte) {
  tensorflow_MetaGraphDef mg;
  check_reencode_identical("houseprices_tf1.10/model.ckpt.meta", tensorflow_MetaGraphDef_fields, &mg, sizeof mg);
  tensorflow_SavedModel sm;
  check_reencode_identical("half_plus_three_tf1.0/saved_model.pb", tensorflow_SavedModel_fields, &sm, sizeof sm);
  check_reencode_identical("regression_savedmodel_tf1.2/saved_model.pb", tensorflow_SavedModel_fields, &sm, sizeof sm);
  check_reencode_identical("half_plus_two_cpu_tf1.14/saved_model.pb", tensorflow_SavedModel_fields, &sm, sizeof sm);
  check_graph_reencode_identical("multiplication_2016/multiplication.pb", false);
  check_graph_reencode_identical("houseprices_tf1.10/model.ckpt.meta", true);
}
END_TEST

START_TEST(proto_decodes_saved_model_signatures) {
  char path[1024];
  if (!tf_testdata("half_plus_three_tf1.0/saved_model.pb", path, sizeof path)) return;
  tfm_status *st = tfm_status_new();
  tensorflow_SavedModel sm;
  uint8_t *buf;
  ck_assert_int_eq(pbio_decode_file(path, tensorflow_SavedModel_fields, &sm, sizeof sm, &buf, st), TFM_OK);
  ck_assert_int_eq(sm.saved_model_schema_version, 1);
  ck_assert_uint_eq(sm.meta_graphs_count, 1);
  const tensorflow_MetaGraphDef *mg = &sm.meta_graphs[0];
  ck_assert_uint_eq(mg->meta_info_def.tags_count, 1);
  ck_assert_str_eq(mg->meta_info_def.tags[0], "serve");
  ck_assert_str_eq(mg->meta_info_def.tensorflow_version, "1.0.0-rc2");
  ck_assert(mg->saver_def.sharded);
  ck_assert_str_eq(mg->saver_def.save_tensor_name, "save/Identity:0");
  graph_nodes_t gd;
  decode_graph(&mg->graph_def, &gd);
  ck_assert_int_eq(gd.versions.producer, 21);
  ck_assert_uint_eq(gd.node_count, 60);
  free_graph(&gd);
  const tensorflow_SignatureDef *sig = NULL;
  for (pb_size_t i = 0; i < mg->signature_def_count; i++)
    if (!strcmp(mg->signature_def[i].key, "serving_default")) sig = &mg->signature_def[i].value;
  ck_assert_ptr_nonnull(sig);
  ck_assert_str_eq(sig->method_name, "tensorflow/serving/predict");
  ck_assert_uint_eq(sig->inputs_count, 1);
  ck_assert_str_eq(sig->inputs[0].key, "x");
  ck_assert_uint_eq(sig->inputs[0].value.which_encoding, tensorflow_TensorInfo_name_tag);
  ck_assert_str_eq(sig->inputs[0].value.encoding.name, "x:0");
  ck_assert_int_eq(sig->inputs[0].value.dtype, tensorflow_DataType_DT_FLOAT);
  ck_assert_str_eq(sig->outputs[0].value.encoding.name, "y:0");
  /* An any_list collection holds an AssetFileDef. */
  const tensorflow_CollectionDef *assets = NULL;
  for (pb_size_t i = 0; i < mg->collection_def_count; i++)
    if (!strcmp(mg->collection_def[i].key, "saved_model_assets")) assets = &mg->collection_def[i].value;
  ck_assert_ptr_nonnull(assets);
  ck_assert_uint_eq(assets->which_kind, tensorflow_CollectionDef_any_list_tag);
  ck_assert_str_eq(assets->kind.any_list.value[0].type_url,
                   "type.googleapis.com/tensorflow.AssetFileDef");
  pbio_release(tensorflow_SavedModel_fields, &sm);
  mem_free(buf);
  tfm_status_delete(st);
}
END_TEST

START_TEST(proto_rejects_truncated_and_garbled_messages) {
  char path[1024];
  if (!tf_testdata("houseprices_tf1.10/model.ckpt.meta", path, sizeof path)) return;
  size_t n;
  uint8_t *file = slurp(path, &n);
  tfm_status *st = tfm_status_new();
  tensorflow_MetaGraphDef mg;
  for (size_t cut = 1; cut < n; cut += n / 97 + 1) {
    tfm_code c = PBIO_DECODE(tensorflow_MetaGraphDef, &mg, file, cut, "meta", st);
    if (c == TFM_OK) pbio_release(tensorflow_MetaGraphDef_fields, &mg); /* may end on a field boundary */
    else ck_assert_int_eq(c, TFM_DATA_LOSS);
  }
  const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}; /* a 4 GiB length */
  ck_assert_int_eq(PBIO_DECODE(tensorflow_MetaGraphDef, &mg, junk, sizeof junk, "junk", st),
                   TFM_DATA_LOSS);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "junk"));
  free(file);
  tfm_status_delete(st);
}
END_TEST

/* Hand-written TensorProto bytes (formats.md 3.5) and their meaning. */
START_TEST(proto_tensor_follows_tf_value_conventions) {
  tfm_status *st = tfm_status_new();
  tensorflow_TensorProto p;
  /* dtype float, scalar shape, float_val packed [0.5]. */
  uint8_t b1[] = {0x08, 0x01, 0x12, 0x00, 0x2a, 0x04, 0x00, 0x00, 0x00, 0x3f};
  ck_assert_int_eq(PBIO_DECODE(tensorflow_TensorProto, &p, b1, sizeof b1, "b1", st), TFM_OK);
  tensor_t *t = pbio_tensor_from_proto(&p, "b1", st);
  ck_assert_int_eq(t->shape.rank, 0);
  ck_assert(TENSOR_F32(t)[0] == 0.5f);
  tensor_unref(t);
  pbio_release(tensorflow_TensorProto_fields, &p);
  /* float, shape [3], one unpacked float_val 2.0 broadcast (tf.constant(2., shape=[3])). */
  uint8_t b2[] = {0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0x08, 0x03, 0x2d, 0x00, 0x00, 0x00, 0x40};
  ck_assert_int_eq(PBIO_DECODE(tensorflow_TensorProto, &p, b2, sizeof b2, "b2", st), TFM_OK);
  t = pbio_tensor_from_proto(&p, "b2", st);
  ck_assert_int_eq(t->shape.dim[0], 3);
  for (int i = 0; i < 3; i++) ck_assert(TENSOR_F32(t)[i] == 2.0f);
  tensor_unref(t);
  pbio_release(tensorflow_TensorProto_fields, &p);
  /* int32 [2] tensor_content 01 00 00 00 ff ff ff ff = [1, -1]. */
  uint8_t b3[] = {0x08, 0x03, 0x12, 0x04, 0x12, 0x02, 0x08, 0x02, 0x22, 0x08,
                  0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff};
  ck_assert_int_eq(PBIO_DECODE(tensorflow_TensorProto, &p, b3, sizeof b3, "b3", st), TFM_OK);
  t = pbio_tensor_from_proto(&p, "b3", st);
  ck_assert_int_eq(TENSOR_I32(t)[0], 1);
  ck_assert_int_eq(TENSOR_I32(t)[1], -1);
  tensor_unref(t);
  /* Same with a 7-byte content: wrong size is rejected. */
  p.tensor_content.len = 7;
  ck_assert_ptr_null(pbio_tensor_from_proto(&p, "b3", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  pbio_release(tensorflow_TensorProto_fields, &p);
  /* Encoding: a float scalar 0.0 is written explicitly as float_val (08 01 12 00 2a 04 0...). */
  t = tensor_scalar_f32(0.0f, st);
  ck_assert_int_eq(pbio_tensor_to_proto(t, &p, st), TFM_OK);
  bytebuf_t out = BYTEBUF_INIT;
  ck_assert_int_eq(pbio_encode(tensorflow_TensorProto_fields, &p, &out, "enc", st), TFM_OK);
  uint8_t want[] = {0x08, 0x01, 0x12, 0x00, 0x2a, 0x04, 0x00, 0x00, 0x00, 0x00};
  ck_assert_uint_eq(out.len, sizeof want);
  ck_assert(memcmp(out.data, want, sizeof want) == 0);
  bytebuf_free(&out);
  pbio_release(tensorflow_TensorProto_fields, &p);
  tensor_unref(t);
  tfm_status_delete(st);
}
END_TEST

START_TEST(proto_tensor_round_trips_every_dtype) {
  tfm_status *st = tfm_status_new();
  tfm_dtype dts[] = {TFM_FLOAT, TFM_DOUBLE, TFM_INT32, TFM_UINT8, TFM_INT64, TFM_BOOL, TFM_STRING};
  int64_t dims_list[][3] = {{0, 0, 0}, {1, 0, 0}, {2, 3, 0}, {4, 0, 5}};
  int ranks[] = {0, 1, 2, 3};
  for (size_t d = 0; d < sizeof dts / sizeof *dts; d++)
    for (size_t k = 0; k < 4; k++) {
      shape_t s;
      ck_assert_int_eq(shape_make(dims_list[k], ranks[k], false, &s, "s", st), TFM_OK);
      tensor_t *t = tensor_new_zeros(dts[d], &s, st);
      for (int64_t i = 0; i < t->num_elements; i++) {
        switch (dts[d]) {
        case TFM_FLOAT: TENSOR_F32(t)[i] = (float)i * 0.25f - 1; break;
        case TFM_DOUBLE: TENSOR_F64(t)[i] = (double)i / 3; break;
        case TFM_INT32: TENSOR_I32(t)[i] = (int32_t)(i * 1000 - 7); break;
        case TFM_UINT8: TENSOR_U8(t)[i] = (uint8_t)(250 + i); break;
        case TFM_INT64: TENSOR_I64(t)[i] = (int64_t)i << 40; break;
        case TFM_BOOL: TENSOR_BOOL(t)[i] = (uint8_t)(i & 1); break;
        default: {
          char str[16];
          int len = snprintf(str, sizeof str, "s%d\n", (int)i);
          tensor_string_set(t, i, str, (size_t)len, st);
        }
        }
      }
      if (t->num_elements == 1 && dts[d] != TFM_STRING) memset(t->data, 0x01, t->nbytes);
      tensorflow_TensorProto p, q;
      ck_assert_int_eq(pbio_tensor_to_proto(t, &p, st), TFM_OK);
      ck_assert_int_eq(p.tensor_content.len > 0, dts[d] != TFM_STRING && t->num_elements > 1);
      bytebuf_t out = BYTEBUF_INIT;
      ck_assert_int_eq(pbio_encode(tensorflow_TensorProto_fields, &p, &out, "rt", st), TFM_OK);
      ck_assert_int_eq(PBIO_DECODE(tensorflow_TensorProto, &q, out.data, out.len, "rt", st), TFM_OK);
      tensor_t *u = pbio_tensor_from_proto(&q, "rt", st);
      ck_assert_msg(u != NULL, "%s", tfm_status_message(st));
      ck_assert_int_eq(u->dtype, t->dtype);
      ck_assert(shape_equal(&u->shape, &t->shape));
      if (dts[d] == TFM_STRING) {
        for (int64_t i = 0; i < t->num_elements; i++) {
          ck_assert_uint_eq(TENSOR_STR(u)[i].len, TENSOR_STR(t)[i].len);
          ck_assert(memcmp(TENSOR_STR(u)[i].data, TENSOR_STR(t)[i].data, TENSOR_STR(t)[i].len) == 0);
        }
      } else if (t->nbytes) {
        ck_assert(memcmp(u->data, t->data, t->nbytes) == 0);
      }
      tensor_unref(u);
      pbio_release(tensorflow_TensorProto_fields, &q);
      pbio_release(tensorflow_TensorProto_fields, &p);
      bytebuf_free(&out);
      tensor_unref(t);
    }
  tfm_status_delete(st);
}
END_TEST

START_TEST(proto_large_tensor_content_is_not_limited_to_64k) {
  tfm_status *st = tfm_status_new();
  shape_t s = shape_vector(100000);
  tensor_t *t = tensor_new(TFM_FLOAT, &s, st);
  for (int i = 0; i < 100000; i++) TENSOR_F32(t)[i] = (float)i;
  tensorflow_TensorProto p, q;
  ck_assert_int_eq(pbio_tensor_to_proto(t, &p, st), TFM_OK);
  bytebuf_t out = BYTEBUF_INIT;
  ck_assert_int_eq(pbio_encode(tensorflow_TensorProto_fields, &p, &out, "big", st), TFM_OK);
  ck_assert_uint_gt(out.len, 400000);
  ck_assert_int_eq(PBIO_DECODE(tensorflow_TensorProto, &q, out.data, out.len, "big", st), TFM_OK);
  tensor_t *u = pbio_tensor_from_proto(&q, "big", st);
  ck_assert_ptr_nonnull(u);
  ck_assert(memcmp(u->data, t->data, t->nbytes) == 0);
  tensor_unref(u);
  pbio_release(tensorflow_TensorProto_fields, &q);
  pbio_release(tensorflow_TensorProto_fields, &p);
  bytebuf_free(&out);
  tensor_unref(t);
  tfm_status_delete(st);
}
END_TEST

int main(void) {
  Suite *s = suite_create("io_proto");
  TCase *tc = tcase_create("proto");
  tcase_add_test(tc, proto_decodes_houseprices_meta_graph_like_its_dump);
  tcase_add_test(tc, proto_reencodes_real_files_byte_for_byte);
  tcase_add_test(tc, proto_decodes_saved_model_signatures);
  tcase_add_test(tc, proto_rejects_truncated_and_garbled_messages);
  tcase_add_test(tc, proto_tensor_follows_tf_value_conventions);
  tcase_add_test(tc, proto_tensor_round_trips_every_dtype);
  tcase_add_test(tc, proto_large_tensor_content_is_not_limited_to_64k);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
