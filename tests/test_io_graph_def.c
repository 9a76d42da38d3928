/* io_graph_def: graph -> GraphDef -> graph. Export writes every node (op, inputs
 * with ^control, device, attrs of every kind, _output_shapes on request, versions);
 * import into a fresh graph gives the same ops and attrs, and a session on it
 * computes what the original computes (both run, and a float64 loop checks them).
 * Import under a prefix renames nodes, inputs and colocations; hostile GraphDefs
 * (unknown op, missing input, wrong attr kind, cycle, garbage, truncation) fail
 * with the documented code naming the node and leave the graph as it was; graphs
 * beyond nanopb's 65535-entry arrays pass; TensorFlow's 2016 GraphDef runs. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "graph/graph.h"
#include "io/graph_def.h"
#include "io/pbio.h"
#include "io_testutil.h"
#include "ops/registry.h"
#include "tfmini/tfmini.h"

static tfm_status *st;

static void setup(void) { st = tfm_status_new(); }
static void teardown(void) { tfm_status_delete(st); }

#define OK() ck_assert_msg(tfm_status_code(st) == TFM_OK, "%s", tfm_status_message(st))
#define HAS(msg, part) ck_assert_msg(strstr((msg), (part)) != NULL, "'%s' lacks '%s'", (msg), (part))

/* ---- a graph with every attr kind, control inputs, a device and a variable ---- */

static tensor_t *tensor_of(tfm_dtype dt, int64_t d0, int64_t d1, double base) {
  int64_t dims[2] = {d0, d1};
  tensor_t *t = tfm_tensor_new(dt, dims, d1 ? 2 : 1, st);
  OK();
  for (int64_t i = 0; i < t->num_elements; i++) {
    double v = base + (double)i * 0.5 - 1.0;
    switch (dt) {
      case TFM_FLOAT: TENSOR_F32(t)[i] = (float)v; break;
      case TFM_DOUBLE: TENSOR_F64(t)[i] = v; break;
      case TFM_INT32: TENSOR_I32(t)[i] = (int32_t)(i * 7 - 3); break;
      case TFM_INT64: TENSOR_I64(t)[i] = (int64_t)i * 1000000007LL - 5; break;
      case TFM_UINT8: TENSOR_U8(t)[i] = (uint8_t)(i * 37); break;
      case TFM_BOOL: TENSOR_BOOL(t)[i] = (uint8_t)(i % 3 == 0); break;
      default: {
        char s[32];
        snprintf(s, sizeof s, "s%lld", (long long)i);
        tfm_tensor_string_set(t, i, s, strlen(s), st);
      }
    }
  }
  return t;
}

/* x[-1,3] -> MatMul(w[3,2]) -> BiasAdd(v) -> Relu "out"; Sum "total"; a NoOp
 * "marker" carrying one attr of each kind, on which "gated" depends; Consts of
 * every dtype; the variable "v" with its Assign and read. */
static graph_t *build_model(tfm_variable **var) {
  graph_t *g = tfm_graph_new(st);
  int64_t xd[2] = {-1, 3};
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, xd, 2, "x", st);
  tensor_t *wt = tensor_of(TFM_FLOAT, 3, 2, 0.25);
  tfm_output *w = tfm_constant(g, wt, "w", st);
  tensor_unref(wt);
  float bias0[2] = {0.5f, -2.0f};
  int64_t bd = 2;
  tfm_variable *v = tfm_variable_new(g, tfm_constant_f32(g, bias0, &bd, 1, "v_init", st), 1, "v", st);
  OK();
  tfm_output *mm = tfm_matmul(g, x, w, 0, 0, NULL, st);
  tfm_output *out = tfm_relu(g, tfm_bias_add(g, mm, tfm_variable_value(v), NULL, st), "out", st);
  tfm_reduce_sum(g, out, NULL, 0, 0, "total", st);
  OK();
  tfm_dtype dts[] = {TFM_FLOAT, TFM_DOUBLE, TFM_INT32, TFM_INT64, TFM_UINT8, TFM_BOOL, TFM_STRING};
  for (int i = 0; i < 7; i++) {
    tensor_t *t = tensor_of(dts[i], 2, 3, 1.5);
    char name[32];
    snprintf(name, sizeof name, "const_%s", tfm_dtype_name(dts[i]));
    tfm_constant(g, t, name, st);
    tensor_unref(t);
    tensor_t *one = tensor_of(dts[i], 1, 0, 4.0); /* 1 element: a typed *_val field */
    snprintf(name, sizeof name, "one_%s", tfm_dtype_name(dts[i]));
    tfm_constant(g, one, name, st);
    tensor_unref(one);
    OK();
  }
  tstring_t strs[2] = {{"alpha", 5}, {"", 0}};
  int64_t ints[3] = {1, -2, INT64_MAX};
  float floats[2] = {0.5f, -1e30f};
  bool bools[2] = {true, false};
  int types[2] = {TFM_FLOAT, 19 /* DT_HALF: a type we cannot run still round-trips */};
  shape_t shapes[3] = {shape_scalar(), shape_unknown(), shape_vector(-1)};
  int64_t pd[2] = {-1, 4};
  shape_t partial;
  ck_assert_int_eq(shape_make(pd, 2, true, &partial, "t", st), TFM_OK);
  tensor_t *tt = tensor_of(TFM_INT64, 2, 2, 0);
  attr_t attrs[] = {
      ATTR_S_V("_s", "bytes\0inside"), ATTR_I_V("_i", -123456789012LL), ATTR_F_V("_f", 3.25f),
      ATTR_B_V("_b", false), ATTR_TYPE_V("_type", TFM_INT64), ATTR_SHAPE_V("_shape", partial),
      ATTR_SHAPE_V("_shape_unknown", shape_unknown()), ATTR_TENSOR_V("_tensor", tt),
      {.name = "_list_s", .value = {.kind = ATTR_LIST_S, .u.list = {.n = 2, .s = strs}}},
      {.name = "_list_i", .value = {.kind = ATTR_LIST_I, .u.list = {.n = 3, .i = ints}}},
      {.name = "_list_f", .value = {.kind = ATTR_LIST_F, .u.list = {.n = 2, .f = floats}}},
      {.name = "_list_b", .value = {.kind = ATTR_LIST_B, .u.list = {.n = 2, .b = bools}}},
      {.name = "_list_type", .value = {.kind = ATTR_LIST_TYPE, .u.list = {.n = 2, .type = types}}},
      {.name = "_list_shape", .value = {.kind = ATTR_LIST_SHAPE, .u.list = {.n = 3, .shape = shapes}}},
      {.name = "_list_empty", .value = {.kind = ATTR_LIST_EMPTY}},
      {.name = "_func", .value = {.kind = ATTR_FUNC, .u.s = {"my_fn", 5}}},
  };
  node_t *marker = graph_add_op(g, "NoOp", "marker", true, NULL, 0, attrs, (int)(sizeof attrs / sizeof *attrs),
                                NULL, 0, st);
  OK();
  tensor_unref(tt);
  ck_assert_int_eq(tfm_graph_push_control_dependencies(g, &marker, 1, st), TFM_OK);
  tfm_output *gated = tfm_identity(g, out, "gated", st);
  tfm_graph_pop_control_dependencies(g, st);
  OK();
  mem_free(gated->node->device);
  gated->node->device = mem_strdup("/device:CPU:0");
  *var = v;
  return g;
}

static void check_same_node(const node_t *a, const node_t *b) {
  char x[256], y[256];
  ck_assert_str_eq(a->type, b->type);
  ck_assert_str_eq(a->device, b->device);
  ck_assert_int_eq(a->n_inputs, b->n_inputs);
  for (int i = 0; i < a->n_inputs; i++)
    ck_assert_str_eq(output_name(a->inputs[i], x, sizeof x), output_name(b->inputs[i], y, sizeof y));
  ck_assert_int_eq(a->n_control_inputs, b->n_control_inputs);
  for (int i = 0; i < a->n_control_inputs; i++)
    ck_assert_str_eq(a->control_inputs[i]->name, b->control_inputs[i]->name);
  ck_assert_int_eq(a->n_attrs, b->n_attrs);
  for (int i = 0; i < a->n_attrs; i++) {
    ck_assert_str_eq(a->attrs[i].name, b->attrs[i].name);
    ck_assert_msg(attr_value_equal(&a->attrs[i].value, &b->attrs[i].value), "node %s attr %s differs", a->name,
                  a->attrs[i].name);
  }
  ck_assert_int_eq(a->n_outputs, b->n_outputs);
  for (int i = 0; i < a->n_outputs; i++) {
    ck_assert_int_eq(a->outputs[i].dtype, b->outputs[i].dtype);
    ck_assert(shape_equal(&a->outputs[i].shape, &b->outputs[i].shape));
  }
}

static const float x_vals[12] = {1, -2, 0.5f, 3, 0, -1, 2, 2, 2, -0.25f, 4, 1};

/* Runs init, then out and total with x fed; values into out8[8] and *total. */
static void run_model(graph_t *g, const char *prefix, float *out8, float *total) {
  char n1[64], n2[64], n3[64], n4[64];
  snprintf(n1, sizeof n1, "%sx", prefix);
  snprintf(n2, sizeof n2, "%sout", prefix);
  snprintf(n3, sizeof n3, "%stotal", prefix);
  snprintf(n4, sizeof n4, "%sv/Assign", prefix);
  tfm_session *s = tfm_session_new(g, st);
  tfm_op *init = tfm_graph_get_operation_by_name(g, n4, st);
  OK();
  ck_assert_int_eq(tfm_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st), TFM_OK);
  int64_t xd[2] = {4, 3};
  tfm_tensor *xt = tfm_tensor_new(TFM_FLOAT, xd, 2, st);
  memcpy(tfm_tensor_data(xt), x_vals, sizeof x_vals);
  tfm_output *feed = tfm_graph_get_tensor_by_name(g, n1, st);
  tfm_output *fetch[2] = {tfm_graph_get_tensor_by_name(g, n2, st), tfm_graph_get_tensor_by_name(g, n3, st)};
  OK();
  tfm_tensor *vals[2];
  ck_assert_int_eq(tfm_session_run(s, &feed, &xt, 1, fetch, vals, 2, NULL, 0, st), TFM_OK);
  memcpy(out8, tfm_tensor_data(vals[0]), 8 * sizeof(float));
  *total = *(float *)tfm_tensor_data(vals[1]);
  tfm_tensor_release(vals[0]);
  tfm_tensor_release(vals[1]);
  tfm_tensor_release(xt);
  tfm_session_delete(s);
}

/* relu(x . w + b) in float64, w[i][j] = 0.25 + (2i+j)*0.5 - 1 as tensor_of fills it. */
static void reference_model(double *out8, double *total) {
  const double b[2] = {0.5, -2.0};
  *total = 0;
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 2; c++) {
      double acc = b[c];
      for (int k = 0; k < 3; k++) acc += (double)x_vals[r * 3 + k] * (0.25 + (double)(k * 2 + c) * 0.5 - 1.0);
      out8[r * 2 + c] = acc > 0 ? acc : 0;
      *total += out8[r * 2 + c];
    }
}

START_TEST(export_then_import_gives_the_same_graph_and_values) {
  tfm_variable *v;
  graph_t *g1 = build_model(&v);
  tfm_buffer *def = tfm_graph_to_graph_def(g1, 0, st);
  OK();
  graph_t *g2 = tfm_graph_new(st);
  ck_assert_int_eq(tfm_import_graph_def(g2, tfm_buffer_data(def), tfm_buffer_size(def), 0, NULL, st), TFM_OK);
  ck_assert_int_eq(g2->n_nodes, g1->n_nodes);
  for (int i = 0; i < g1->n_nodes; i++) {
    node_t *b = graph_find_op(g2, g1->nodes[i]->name);
    ck_assert_msg(b != NULL, "%s missing", g1->nodes[i]->name);
    check_same_node(g1->nodes[i], b);
  }
  float o1[8], o2[8], t1, t2;
  double ref[8], tref;
  run_model(g1, "", o1, &t1);
  run_model(g2, "", o2, &t2);
  reference_model(ref, &tref);
  for (int i = 0; i < 8; i++) {
    ck_assert_msg(o1[i] == o2[i], "out[%d]: %g vs %g", i, o1[i], o2[i]);
    ck_assert_msg(fabs(o1[i] - ref[i]) < 1e-5, "out[%d]: %g vs reference %g", i, o1[i], ref[i]);
  }
  ck_assert(t1 == t2);
  ck_assert(fabs(t1 - tref) < 1e-4);
  /* Exporting the imported graph gives the same bytes: nothing lost or added. */
  tfm_buffer *def2 = tfm_graph_to_graph_def(g2, 0, st);
  ck_assert_uint_eq(tfm_buffer_size(def2), tfm_buffer_size(def));
  ck_assert(memcmp(tfm_buffer_data(def2), tfm_buffer_data(def), tfm_buffer_size(def)) == 0);
  tfm_buffer_delete(def2);
  tfm_buffer_delete(def);
  tfm_graph_delete(g2);
  tfm_graph_delete(g1);
}
END_TEST

/* ---- decoded views of an exported graph ---- */

typedef struct nodes {
  tensorflow_NodeDef *node;
  size_t n;
  tensorflow_VersionDef versions;
} nodes_t;

static bool keep(void *ctx, tensorflow_NodeDef *nd, tfm_status *s) {
  (void)s;
  nodes_t *l = ctx;
  l->node = realloc(l->node, (l->n + 1) * sizeof *l->node);
  l->node[l->n++] = *nd;
  memset(nd, 0, sizeof *nd);
  return true;
}

static nodes_t decode_nodes(const bytebuf_t *b) {
  nodes_t l = {0};
  ck_assert_int_eq(graph_def_for_each_node(b->data, b->len, keep, &l, &l.versions, "test", st), TFM_OK);
  return l;
}

static void free_nodes(nodes_t *l) {
  for (size_t i = 0; i < l->n; i++) pbio_release(tensorflow_NodeDef_fields, &l->node[i]);
  free(l->node);
}

static tensorflow_NodeDef *node_named(nodes_t *l, const char *name) {
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->node[i].name, name) == 0) return &l->node[i];
  ck_abort_msg("no node %s", name);
  return NULL;
}

static tensorflow_AttrValue *attr_named(tensorflow_NodeDef *nd, const char *key) {
  for (pb_size_t i = 0; i < nd->attr_count; i++)
    if (strcmp(nd->attr[i].key, key) == 0) return &nd->attr[i].value;
  return NULL;
}

static bytebuf_t encode_nodes(const nodes_t *l) {
  bytebuf_t b = BYTEBUF_INIT;
  for (size_t i = 0; i < l->n; i++)
    ck_assert_int_eq(pbio_encode_submessage(1, tensorflow_NodeDef_fields, &l->node[i], &b, "t", st), TFM_OK);
  return b;
}

START_TEST(export_writes_inputs_control_inputs_devices_shapes_and_versions) {
  tfm_variable *v;
  graph_t *g = build_model(&v);
  bytebuf_t b = BYTEBUF_INIT;
  ck_assert_int_eq(graph_def_encode(g, true, &b, st), TFM_OK);
  nodes_t l = decode_nodes(&b);
  ck_assert_uint_eq(l.n, (size_t)g->n_nodes);
  ck_assert_int_eq(l.versions.producer, 26);
  ck_assert_int_eq(l.versions.min_consumer, 0);
  tensorflow_NodeDef *gated = node_named(&l, "gated");
  ck_assert_uint_eq(gated->input_count, 2);
  ck_assert_str_eq(gated->input[0], "out"); /* port 0 written without ":0", as TF does */
  ck_assert_str_eq(gated->input[1], "^marker");
  ck_assert_str_eq(gated->device, "/device:CPU:0");
  ck_assert_ptr_null(node_named(&l, "x")->device); /* empty: omitted */
  /* _output_shapes: the inferred shape of each output. */
  tensorflow_AttrValue *os = attr_named(node_named(&l, "MatMul"), "_output_shapes");
  ck_assert_ptr_nonnull(os);
  ck_assert_uint_eq(os->value.list.shape_count, 1);
  ck_assert_uint_eq(os->value.list.shape[0].dim_count, 2);
  ck_assert_int_eq(os->value.list.shape[0].dim[0].size, -1);
  ck_assert_int_eq(os->value.list.shape[0].dim[1].size, 2);
  ck_assert_ptr_null(attr_named(node_named(&l, "marker"), "_output_shapes")); /* no outputs */
  tensorflow_AttrValue *ts = attr_named(node_named(&l, "total"), "_output_shapes");
  ck_assert_uint_eq(ts->value.list.shape[0].dim_count, 0);
  ck_assert(!ts->value.list.shape[0].unknown_rank);
  /* attrs sorted by key; _class names the variable; oneof defaults still written */
  tensorflow_NodeDef *asg = node_named(&l, "v/Assign");
  for (pb_size_t i = 1; i < asg->attr_count; i++) ck_assert(strcmp(asg->attr[i - 1].key, asg->attr[i].key) < 0);
  tensorflow_AttrValue *cls = attr_named(asg, "_class");
  ck_assert_uint_eq(cls->value.list.s_count, 1);
  ck_assert(cls->value.list.s[0]->size == 6 && memcmp(cls->value.list.s[0]->bytes, "loc:@v", 6) == 0);
  tensorflow_AttrValue *mk = attr_named(node_named(&l, "marker"), "_s");
  ck_assert_uint_eq(mk->value.s.len, 12); /* an embedded NUL survives */
  ck_assert(memcmp(mk->value.s.data, "bytes\0inside", 12) == 0);
  ck_assert_int_eq(attr_named(node_named(&l, "marker"), "_i")->value.i, -123456789012LL);
  ck_assert_str_eq(attr_named(node_named(&l, "marker"), "_func")->value.func.name, "my_fn");
  free_nodes(&l);
  bytebuf_free(&b);
  /* as_graph_def (the public one) has no _output_shapes, as TF's sess.graph_def. */
  tfm_buffer *pub = tfm_graph_to_graph_def(g, 0, st);
  bytebuf_t pb = {(uint8_t *)tfm_buffer_data(pub), tfm_buffer_size(pub), 0, false};
  l = decode_nodes(&pb);
  for (size_t i = 0; i < l.n; i++) ck_assert_ptr_null(attr_named(&l.node[i], "_output_shapes"));
  free_nodes(&l);
  tfm_buffer_delete(pub);
  tfm_graph_delete(g);
}
END_TEST

START_TEST(import_under_a_prefix_renames_nodes_inputs_and_colocations) {
  tfm_variable *v;
  graph_t *g1 = build_model(&v);
  tfm_buffer *def = tfm_graph_to_graph_def(g1, 0, st);
  graph_t *g = tfm_graph_new(st);
  ck_assert_int_eq(tfm_import_graph_def(g, tfm_buffer_data(def), tfm_buffer_size(def), 0, "a", st), TFM_OK);
  ck_assert_int_eq(tfm_import_graph_def(g, tfm_buffer_data(def), tfm_buffer_size(def), 0, "b/c/", st), TFM_OK);
  ck_assert_int_eq(g->n_nodes, 2 * g1->n_nodes);
  node_t *gated = graph_find_op(g, "b/c/gated");
  ck_assert_ptr_nonnull(gated);
  ck_assert_str_eq(gated->inputs[0]->node->name, "b/c/out");
  ck_assert_str_eq(gated->control_inputs[0]->name, "b/c/marker");
  const attr_value_t *cls = node_attr(graph_find_op(g, "a/v/read"), "_class");
  ck_assert_str_eq(cls->u.list.s[0].data, "loc:@a/v");
  ck_assert_ptr_null(graph_find_op(g, "gated"));
  /* Both copies run and agree with the original. */
  float o0[8], o1[8], o2[8], t0, t1, t2;
  run_model(g1, "", o0, &t0);
  run_model(g, "a/", o1, &t1);
  run_model(g, "b/c/", o2, &t2);
  for (int i = 0; i < 8; i++) ck_assert(o0[i] == o1[i] && o0[i] == o2[i]);
  /* Importing again under a taken prefix: ALREADY_EXISTS, graph unchanged. */
  int before = g->n_nodes;
  ck_assert_int_eq(tfm_import_graph_def(g, tfm_buffer_data(def), tfm_buffer_size(def), 0, "a", st),
                   TFM_ALREADY_EXISTS);
  HAS(tfm_status_message(st), "a/x");
  ck_assert_int_eq(g->n_nodes, before);
  tfm_buffer_delete(def);
  tfm_graph_delete(g);
  tfm_graph_delete(g1);
}
END_TEST

START_TEST(input_map_wires_inputs_to_existing_tensors) {
  tfm_variable *v;
  graph_t *g1 = build_model(&v);
  bytebuf_t b = BYTEBUF_INIT;
  ck_assert_int_eq(graph_def_encode(g1, false, &b, st), TFM_OK);
  graph_t *g = tfm_graph_new(st);
  int64_t xd[2] = {4, 3};
  tfm_output *feed_x = tfm_constant_f32(g, x_vals, xd, 2, "my_x", st);
  const char *keys[] = {"x:0"};
  output_t *vals[] = {feed_x};
  graph_def_import_options_t opt = {.prefix = "m", .map_keys = keys, .map_values = vals, .n_map = 1};
  ck_assert_int_eq(graph_def_import(g, b.data, b.len, &opt, st), TFM_OK);
  ck_assert_ptr_eq(graph_find_op(g, "m/MatMul")->inputs[0], feed_x);
  tfm_session *s = tfm_session_new(g, st);
  tfm_op *init = tfm_graph_get_operation_by_name(g, "m/v/Assign", st);
  tfm_output *out = tfm_graph_get_tensor_by_name(g, "m/out:0", st);
  tfm_tensor *val;
  ck_assert_int_eq(tfm_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st), TFM_OK);
  ck_assert_int_eq(tfm_session_run(s, NULL, NULL, 0, &out, &val, 1, NULL, 0, st), TFM_OK);
  double ref[8], t;
  reference_model(ref, &t);
  for (int i = 0; i < 8; i++) ck_assert(fabs(((float *)tfm_tensor_data(val))[i] - ref[i]) < 1e-5);
  tfm_tensor_release(val);
  tfm_session_delete(s);
  bytebuf_free(&b);
  tfm_graph_delete(g);
  tfm_graph_delete(g1);
}
END_TEST

/* ---- hostile GraphDefs ---- */

static void set_str(char **field, const char *value) {
  free(*field);
  *field = pbio_strdup(value);
}

/* Exports the model, lets `edit` change the decoded nodes, imports the result into
 * a graph holding one op; checks the code and message and that the graph kept
 * only its op. */
static void expect_import_error(void (*edit)(nodes_t *), tfm_code code, const char *part1, const char *part2) {
  tfm_variable *v;
  graph_t *g1 = build_model(&v);
  bytebuf_t b = BYTEBUF_INIT;
  ck_assert_int_eq(graph_def_encode(g1, false, &b, st), TFM_OK);
  nodes_t l = decode_nodes(&b);
  edit(&l);
  bytebuf_t bad = encode_nodes(&l);
  graph_t *g = tfm_graph_new(st);
  tfm_scalar(g, 1.0, TFM_FLOAT, "already_here", st);
  ck_assert_int_eq(tfm_import_graph_def(g, bad.data, bad.len, 0, NULL, st), code);
  HAS(tfm_status_message(st), part1);
  if (part2) HAS(tfm_status_message(st), part2);
  ck_assert_int_eq(g->n_nodes, 1);
  /* The graph still works, and the untouched GraphDef imports fine afterwards. */
  ck_assert_int_eq(tfm_import_graph_def(g, b.data, b.len, 0, NULL, st), TFM_OK);
  ck_assert_int_eq(g->n_nodes, 1 + g1->n_nodes);
  tfm_graph_delete(g);
  bytebuf_free(&bad);
  free_nodes(&l);
  bytebuf_free(&b);
  tfm_graph_delete(g1);
}

static void unknown_op(nodes_t *l) { set_str(&node_named(l, "gated")->op, "FrobnicateV7"); }
static void missing_input(nodes_t *l) { set_str(&node_named(l, "out")->input[0], "no_such_node"); }
static void bad_index(nodes_t *l) { set_str(&node_named(l, "out")->input[0], "BiasAdd:3"); }
static void malformed_input(nodes_t *l) { set_str(&node_named(l, "out")->input[0], "BiasAdd:x1"); }
static void data_after_control(nodes_t *l) {
  tensorflow_NodeDef *n = node_named(l, "gated");
  char *t = n->input[0];
  n->input[0] = n->input[1];
  n->input[1] = t;
}
static void wrong_attr_kind(nodes_t *l) {
  tensorflow_AttrValue *a = attr_named(node_named(l, "x"), "dtype");
  a->which_value = tensorflow_AttrValue_i_tag;
  a->value.i = 1;
}
static void cycle(nodes_t *l) { set_str(&node_named(l, "MatMul")->input[0], "out"); }
static void duplicate(nodes_t *l) { set_str(&node_named(l, "gated")->name, "out"); }
static void late_shape_error(nodes_t *l) { set_str(&node_named(l, "MatMul")->input[1], "const_float"); }
static void taken_name(nodes_t *l) { set_str(&node_named(l, "total")->name, "already_here"); }
static void mixed_list(nodes_t *l) {
  tensorflow_AttrValue *a = attr_named(node_named(l, "marker"), "_list_i");
  a->value.list.f = malloc(sizeof(float));
  a->value.list.f[0] = 1;
  a->value.list.f_count = 1;
}

START_TEST(import_errors_name_the_node_and_change_nothing) {
  expect_import_error(unknown_op, TFM_UNIMPLEMENTED, "'gated'", "FrobnicateV7");
  expect_import_error(missing_input, TFM_INVALID_ARGUMENT, "'out'", "no_such_node");
  expect_import_error(bad_index, TFM_INVALID_ARGUMENT, "'out'", "BiasAdd:3");
  expect_import_error(malformed_input, TFM_INVALID_ARGUMENT, "'out'", "BiasAdd:x1");
  expect_import_error(data_after_control, TFM_INVALID_ARGUMENT, "'gated'", "follows a control input");
  expect_import_error(wrong_attr_kind, TFM_INVALID_ARGUMENT, "'x'", "dtype");
  expect_import_error(cycle, TFM_INVALID_ARGUMENT, "cycle", NULL);
  expect_import_error(duplicate, TFM_INVALID_ARGUMENT, "'out'", "twice");
  expect_import_error(late_shape_error, TFM_INVALID_ARGUMENT, "MatMul", NULL);
  expect_import_error(taken_name, TFM_ALREADY_EXISTS, "already_here", NULL);
  expect_import_error(mixed_list, TFM_INVALID_ARGUMENT, "_list_i", NULL);
}
END_TEST

START_TEST(garbage_and_every_truncation_fail_cleanly) {
  tfm_variable *v;
  graph_t *g1 = build_model(&v);
  bytebuf_t b = BYTEBUF_INIT;
  ck_assert_int_eq(graph_def_encode(g1, true, &b, st), TFM_OK);
  graph_t *g = tfm_graph_new(st);
  const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
  ck_assert_int_eq(tfm_import_graph_def(g, junk, sizeof junk, 0, NULL, st), TFM_DATA_LOSS);
  HAS(tfm_status_message(st), "graph_def");
  int ok = 0;
  for (size_t cut = 0; cut < b.len; cut += 1 + cut / 64) {
    tfm_code c = tfm_import_graph_def(g, b.data, cut, 0, "t", st);
    if (c == TFM_OK) { /* cut on a node boundary: a smaller valid graph */
      ok++;
      tfm_graph_delete(g);
      g = tfm_graph_new(st);
    } else {
      ck_assert_int_eq(g->n_nodes, 0);
    }
  }
  ck_assert_int_gt(ok, 0);
  /* Flipped bytes: any outcome but a crash (UBSan/ASan watch this). */
  for (size_t i = 0; i < b.len; i += 7) {
    uint8_t save = b.data[i];
    b.data[i] ^= 0x5a;
    if (tfm_import_graph_def(g, b.data, b.len, 0, NULL, st) == TFM_OK) {
      tfm_graph_delete(g);
      g = tfm_graph_new(st);
    }
    b.data[i] = save;
  }
  tfm_graph_delete(g);
  bytebuf_free(&b);
  tfm_graph_delete(g1);
}
END_TEST

/* ---- size and order ---- */

#define CHAIN 70000 /* beyond nanopb's 16-bit counts */

START_TEST(graphs_beyond_65535_nodes_in_any_order_pass) {
  /* A chain p -> n1 -> ... -> nCHAIN of Identity ops, written last node first. */
  bytebuf_t b = BYTEBUF_INIT;
  char name[32], in[32];
  for (int i = CHAIN; i >= 0; i--) {
    tensorflow_NodeDef nd;
    memset(&nd, 0, sizeof nd);
    tensorflow_NodeDef_AttrEntry at[2];
    memset(at, 0, sizeof at);
    char *inp = in;
    snprintf(name, sizeof name, i ? "n%d" : "p", i);
    nd.name = name;
    if (i) {
      snprintf(in, sizeof in, i > 1 ? "n%d" : "p", i - 1);
      nd.op = "Identity";
      nd.input = &inp;
      nd.input_count = 1;
      at[0] = (tensorflow_NodeDef_AttrEntry){"T", true, {.which_value = tensorflow_AttrValue_type_tag, .value.type = 1}};
      nd.attr_count = 1;
    } else {
      nd.op = "Placeholder";
      at[0] = (tensorflow_NodeDef_AttrEntry){"dtype", true, {.which_value = tensorflow_AttrValue_type_tag, .value.type = 1}};
      at[1] = (tensorflow_NodeDef_AttrEntry){"shape", true, {.which_value = tensorflow_AttrValue_shape_tag}};
      nd.attr_count = 2;
    }
    nd.attr = at;
    ck_assert_int_eq(pbio_encode_submessage(1, tensorflow_NodeDef_fields, &nd, &b, "t", st), TFM_OK);
  }
  graph_t *g = tfm_graph_new(st);
  ck_assert_int_eq(tfm_import_graph_def(g, b.data, b.len, 0, NULL, st), TFM_OK);
  ck_assert_int_eq(g->n_nodes, CHAIN + 1);
  ck_assert_str_eq(g->nodes[0]->name, "p"); /* inputs first */
  /* Export (beyond 65535 nodes too) and import again; the chain still computes. */
  tfm_buffer *def = tfm_graph_to_graph_def(g, 0, st);
  OK();
  graph_t *g2 = tfm_graph_new(st);
  ck_assert_int_eq(tfm_import_graph_def(g2, tfm_buffer_data(def), tfm_buffer_size(def), 0, NULL, st), TFM_OK);
  ck_assert_int_eq(g2->n_nodes, CHAIN + 1);
  snprintf(name, sizeof name, "n%d", CHAIN);
  tfm_output *end = tfm_graph_get_tensor_by_name(g2, name, st), *p = tfm_graph_get_tensor_by_name(g2, "p", st);
  OK();
  tfm_session *s = tfm_session_new(g2, st);
  tfm_tensor *x = tfm_tensor_new(TFM_FLOAT, NULL, 0, st), *y;
  *(float *)tfm_tensor_data(x) = 42.5f;
  ck_assert_int_eq(tfm_session_run(s, &p, &x, 1, &end, &y, 1, NULL, 0, st), TFM_OK);
  ck_assert(*(float *)tfm_tensor_data(y) == 42.5f);
  tfm_tensor_release(x);
  tfm_tensor_release(y);
  tfm_session_delete(s);
  tfm_buffer_delete(def);
  tfm_graph_delete(g2);
  tfm_graph_delete(g);
  bytebuf_free(&b);
}
END_TEST

/* ---- files ---- */

START_TEST(write_graph_then_import_the_file) {
  tfm_variable *v;
  graph_t *g1 = build_model(&v);
  char dir[1024], path[1100];
  test_tmpdir(dir, sizeof dir);
  ck_assert_int_eq(tfm_write_graph(g1, dir, "model.pb", 0, st), TFM_OK);
  snprintf(path, sizeof path, "%s/model.pb", dir);
  graph_t *g = tfm_graph_new(st);
  ck_assert_int_eq(tfm_import_graph_def_file(g, path, "f", st), TFM_OK);
  ck_assert_int_eq(g->n_nodes, g1->n_nodes);
  /* Text format (.pbtxt, told apart by content): the same graph again. */
  ck_assert_int_eq(tfm_write_graph(g1, dir, "model.pbtxt", 1, st), TFM_OK);
  snprintf(path, sizeof path, "%s/model.pbtxt", dir);
  size_t n;
  char *text = (char *)slurp(path, &n);
  ck_assert(n > 6 && memcmp(text, "node {", 6) == 0);
  HAS(text, "name: \"gated\"");
  HAS(text, "input: \"^marker\"");
  free(text);
  graph_t *gt = tfm_graph_new(st);
  ck_assert_int_eq(tfm_import_graph_def_file(gt, path, NULL, st), TFM_OK);
  ck_assert_int_eq(gt->n_nodes, g1->n_nodes);
  for (int i = 0; i < g1->n_nodes; i++) check_same_node(g1->nodes[i], graph_find_op(gt, g1->nodes[i]->name));
  tfm_buffer *t1 = tfm_graph_to_graph_def(g1, 1, st), *t2 = tfm_graph_to_graph_def(gt, 1, st);
  ck_assert_uint_eq(tfm_buffer_size(t1), tfm_buffer_size(t2));
  ck_assert(memcmp(tfm_buffer_data(t1), tfm_buffer_data(t2), tfm_buffer_size(t1)) == 0);
  tfm_buffer_delete(t1);
  tfm_buffer_delete(t2);
  tfm_graph_delete(gt);
  ck_assert_int_eq(tfm_import_graph_def_file(g, "/nonexistent/model.pb", NULL, st), TFM_NOT_FOUND);
  HAS(tfm_status_message(st), "/nonexistent/model.pb");
  ck_assert_int_eq(tfm_write_graph(g1, "/nonexistent/dir", "m.pb", 0, st) != TFM_OK, 1);
  tfm_graph_delete(g);
  tfm_graph_delete(g1);
}
END_TEST

START_TEST(tensorflow_2016_graph_def_imports_and_runs) {
  char path[1024];
  if (!tf_testdata("multiplication_2016/multiplication.pb", path, sizeof path)) return;
  graph_t *g = tfm_graph_new(st);
  ck_assert_int_eq(tfm_import_graph_def_file(g, path, NULL, st), TFM_OK);
  /* The dump: a, b Placeholders (float, shape {} = any shape before version 22), c = Mul(a, b). */
  ck_assert_int_eq(g->n_nodes, 3);
  node_t *c = graph_find_op(g, "c");
  ck_assert_str_eq(c->type, "Mul");
  ck_assert_str_eq(c->inputs[0]->node->name, "a");
  ck_assert_str_eq(c->inputs[1]->node->name, "b");
  ck_assert_int_eq(graph_find_op(g, "a")->outputs[0].shape.rank, SHAPE_UNKNOWN_RANK);
  tfm_session *s = tfm_session_new(g, st);
  tfm_output *feeds[2] = {tfm_graph_get_tensor_by_name(g, "a:0", st), tfm_graph_get_tensor_by_name(g, "b:0", st)};
  tfm_output *out = tfm_graph_get_tensor_by_name(g, "c:0", st);
  int64_t d = 3;
  tfm_tensor *in[2] = {tfm_tensor_new(TFM_FLOAT, &d, 1, st), tfm_tensor_new(TFM_FLOAT, &d, 1, st)}, *r;
  const float av[3] = {3, -1.5f, 1e20f}, bv[3] = {4, 2, 1e20f};
  memcpy(tfm_tensor_data(in[0]), av, sizeof av);
  memcpy(tfm_tensor_data(in[1]), bv, sizeof bv);
  ck_assert_int_eq(tfm_session_run(s, feeds, in, 2, &out, &r, 1, NULL, 0, st), TFM_OK);
  for (int i = 0; i < 3; i++) ck_assert(((float *)tfm_tensor_data(r))[i] == av[i] * bv[i]);
  tfm_tensor_release(r);
  tfm_tensor_release(in[0]);
  tfm_tensor_release(in[1]);
  tfm_session_delete(s);
  tfm_graph_delete(g);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("io_graph_def");
  TCase *tc = tcase_create("graph_def");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, export_then_import_gives_the_same_graph_and_values);
  tcase_add_test(tc, export_writes_inputs_control_inputs_devices_shapes_and_versions);
  tcase_add_test(tc, import_under_a_prefix_renames_nodes_inputs_and_colocations);
  tcase_add_test(tc, input_map_wires_inputs_to_existing_tensors);
  tcase_add_test(tc, import_errors_name_the_node_and_change_nothing);
  tcase_add_test(tc, garbage_and_every_truncation_fail_cleanly);
  tcase_add_test(tc, graphs_beyond_65535_nodes_in_any_order_pass);
  tcase_add_test(tc, write_graph_then_import_the_file);
  tcase_add_test(tc, tensorflow_2016_graph_def_imports_and_runs);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(suite()); }
