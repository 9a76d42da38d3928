/* Graph layer: TensorFlow's unique names and scopes, lookup by name, collections,
 * variable scopes with reuse, control dependencies, build-time shape errors, the
 * op registry (unknown types, attr defaults and kinds), the generic builder, the
 * NULL-input rule of the typed builders, variables and their initializers, seeds,
 * and the kernels of the array/state ops run directly through a kernel context. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "ops/registry.h"
#include "tfmini/debug.h"
#include "tfmini/tfmini.h"

static tfm_status *st;
static tfm_graph *g;

static void setup(void) {
  st = tfm_status_new();
  g = tfm_graph_new(st);
}

static void teardown(void) {
  tfm_graph_delete(g);
  tfm_status_delete(st);
}

#define OK() ck_assert_msg(tfm_status_code(st) == TFM_OK, "%s", tfm_status_message(st))
#define HAS(msg, part) ck_assert_msg(strstr((msg), (part)) != NULL, "'%s' lacks '%s'", (msg), (part))

static const char *oname(tfm_output *o) { return tfm_op_name(tfm_output_op(o)); }

static tfm_output *ph(const char *name, int64_t d0, int64_t d1) {
  int64_t dims[] = {d0, d1};
  tfm_output *o = tfm_placeholder(g, TFM_FLOAT, dims, 2, name, st);
  OK();
  return o;
}

/* ---- names ---- */

START_TEST(op_names_are_made_unique_like_tensorflow) {
  tfm_output *x = ph("x", 2, 3);
  ck_assert_str_eq(oname(tfm_identity(g, x, NULL, st)), "Identity");
  ck_assert_str_eq(oname(tfm_identity(g, x, NULL, st)), "Identity_1");
  ck_assert_str_eq(oname(tfm_identity(g, x, NULL, st)), "Identity_2");
  /* explicit names too, and the count is case-insensitive as in TF */
  ck_assert_str_eq(oname(tfm_identity(g, x, "out", st)), "out");
  ck_assert_str_eq(oname(tfm_identity(g, x, "out", st)), "out_1");
  ck_assert_str_eq(oname(tfm_identity(g, x, "Out", st)), "Out_2");
  /* a name that looks suffixed is taken as is, then skipped by the counter */
  ck_assert_str_eq(oname(tfm_identity(g, x, "y_1", st)), "y_1");
  ck_assert_str_eq(oname(tfm_identity(g, x, "y", st)), "y");
  ck_assert_str_eq(oname(tfm_identity(g, x, "y", st)), "y_2");
  OK();
}
END_TEST

START_TEST(name_scopes_nest_and_are_uniquified) {
  tfm_output *x = ph("x", 2, 3);
  ck_assert_str_eq(tfm_graph_name_scope(g), "");
  ck_assert_int_eq(tfm_graph_push_name_scope(g, "loss", st), TFM_OK);
  ck_assert_str_eq(tfm_graph_name_scope(g), "loss");
  ck_assert_str_eq(oname(tfm_identity(g, x, NULL, st)), "loss/Identity");
  tfm_graph_push_name_scope(g, "inner", st);
  ck_assert_str_eq(oname(tfm_identity(g, x, NULL, st)), "loss/inner/Identity");
  tfm_graph_pop_name_scope(g, st);
  tfm_graph_pop_name_scope(g, st);
  /* the same scope again is "loss_1" */
  tfm_graph_push_name_scope(g, "loss", st);
  ck_assert_str_eq(tfm_graph_name_scope(g), "loss_1");
  ck_assert_str_eq(oname(tfm_identity(g, x, NULL, st)), "loss_1/Identity");
  /* a trailing slash re-enters the exact scope; "" goes back to the root */
  tfm_graph_push_name_scope(g, "loss/", st);
  ck_assert_str_eq(oname(tfm_identity(g, x, NULL, st)), "loss/Identity_1");
  tfm_graph_push_name_scope(g, "", st);
  ck_assert_str_eq(oname(tfm_identity(g, x, NULL, st)), "Identity");
  tfm_graph_pop_name_scope(g, st);
  tfm_graph_pop_name_scope(g, st);
  tfm_graph_pop_name_scope(g, st);
  OK();
  ck_assert_int_eq(tfm_graph_pop_name_scope(g, st), TFM_FAILED_PRECONDITION);
  /* TensorFlow's character rules: op names may not start with '_', scopes may */
  ck_assert_ptr_null(tfm_identity(g, x, "_hidden", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  HAS(tfm_status_message(st), "_hidden");
  ck_assert_ptr_null(tfm_identity(g, x, "a b", st));
  ck_assert_int_eq(tfm_graph_push_name_scope(g, "bad scope", st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(tfm_graph_push_name_scope(g, "outer", st), TFM_OK);
  ck_assert_int_eq(tfm_graph_push_name_scope(g, "_private", st), TFM_OK);
  ck_assert_str_eq(oname(tfm_identity(g, x, "v1.2-x", st)), "outer/_private/v1.2-x");
  tfm_graph_pop_name_scope(g, st);
  tfm_graph_pop_name_scope(g, st);
  tfm_graph_push_name_scope(g, "_private", st); /* a valid scope, but no op name starts with '_' */
  ck_assert_ptr_null(tfm_identity(g, x, NULL, st));
  HAS(tfm_status_message(st), "'_private/Identity'");
  tfm_graph_pop_name_scope(g, st);
}
END_TEST

START_TEST(ops_and_scopes_share_one_namespace) {
  tfm_output *x = ph("x", 2, 3);
  ck_assert_str_eq(oname(tfm_identity(g, x, "scale", st)), "scale");
  tfm_graph_push_name_scope(g, "scale", st);
  ck_assert_str_eq(tfm_graph_name_scope(g), "scale_1");
  tfm_graph_pop_name_scope(g, st);
  tfm_graph_push_name_scope(g, "block", st);
  tfm_graph_pop_name_scope(g, st);
  ck_assert_str_eq(oname(tfm_identity(g, x, "block", st)), "block_1");
  OK();
}
END_TEST

START_TEST(helper_constants_live_in_the_op_scope) {
  tfm_output *x = ph("x", 2, 3);
  int64_t dims[] = {3, 2};
  tfm_output *r = tfm_reshape(g, x, dims, 2, NULL, st);
  OK();
  ck_assert_str_eq(oname(r), "Reshape");
  ck_assert_str_eq(oname(tfm_op_input(tfm_output_op(r), 1)), "Reshape/shape");
  r = tfm_reshape(g, x, dims, 2, "r", st);
  ck_assert_str_eq(oname(r), "r");
  ck_assert_str_eq(oname(tfm_op_input(tfm_output_op(r), 1)), "r/shape");
  tfm_output *t = tfm_transpose(g, x, NULL, 0, NULL, st);
  ck_assert_str_eq(oname(t), "transpose");
  ck_assert_str_eq(oname(tfm_op_input(tfm_output_op(t), 1)), "transpose/perm");
  tfm_output *e = tfm_expand_dims(g, x, 0, NULL, st);
  ck_assert_str_eq(oname(tfm_op_input(tfm_output_op(e), 1)), "ExpandDims/dim");
  OK();
}
END_TEST

/* ---- lookup ---- */

START_TEST(tensors_and_ops_are_found_by_name) {
  tfm_output *x = ph("x", 2, 3);
  tfm_graph_push_name_scope(g, "s", st);
  tfm_output *y = tfm_identity(g, x, "y", st);
  tfm_graph_pop_name_scope(g, st);
  ck_assert_ptr_eq(tfm_graph_get_tensor_by_name(g, "x:0", st), x);
  ck_assert_ptr_eq(tfm_graph_get_tensor_by_name(g, "s/y:0", st), y);
  ck_assert_ptr_eq(tfm_graph_get_tensor_by_name(g, "s/y", st), y);
  ck_assert_ptr_eq(tfm_graph_get_operation_by_name(g, "s/y", st), tfm_output_op(y));
  OK();
  char buf[64];
  ck_assert_uint_eq(tfm_output_name(y, buf, sizeof buf), 5);
  ck_assert_str_eq(buf, "s/y:0");
  ck_assert_uint_eq(tfm_output_name(y, buf, 3), 5);
  ck_assert_str_eq(buf, "s/");
}
END_TEST

START_TEST(lookup_errors_name_what_is_wrong) {
  ph("x", 2, 3);
  ck_assert_ptr_null(tfm_graph_get_tensor_by_name(g, "nope:0", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_NOT_FOUND);
  HAS(tfm_status_message(st), "nope");
  ck_assert_ptr_null(tfm_graph_get_tensor_by_name(g, "x:a", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  HAS(tfm_status_message(st), "x:a");
  ck_assert_ptr_null(tfm_graph_get_tensor_by_name(g, "x:", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_null(tfm_graph_get_tensor_by_name(g, "x:1", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  HAS(tfm_status_message(st), "1 output");
  ck_assert_ptr_null(tfm_graph_get_operation_by_name(g, "y", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_NOT_FOUND);
  HAS(tfm_status_message(st), "'y'");
}
END_TEST

START_TEST(many_ops_stay_findable) {
  tfm_output *x = ph("x", 2, 3);
  char name[32];
  for (int i = 0; i < 3000; i++) tfm_identity(g, x, "id", st);
  OK();
  ck_assert_int_eq(tfm_graph_num_ops(g), 3001);
  for (int i = 1; i < 3000; i += 97) {
    snprintf(name, sizeof name, "id_%d", i);
    tfm_op *op = tfm_graph_get_operation_by_name(g, name, st);
    ck_assert_ptr_nonnull(op);
    ck_assert_str_eq(tfm_op_name(op), name);
    ck_assert_ptr_eq(tfm_graph_op_at(g, i + 1), op);
  }
}
END_TEST

/* ---- collections ---- */

START_TEST(collections_hold_every_kind_in_order) {
  tfm_output *x = ph("x", 2, 3);
  tfm_op *op = tfm_output_op(x);
  tfm_variable *v = tfm_variable_new(g, tfm_zeros(g, (int64_t[]){2}, 1, TFM_FLOAT, NULL, st), 1, "v", st);
  OK();
  ck_assert_int_eq(tfm_graph_add_to_collection_op(g, "mix", op, st), TFM_OK);
  ck_assert_int_eq(tfm_graph_add_to_collection_output(g, "mix", x, st), TFM_OK);
  ck_assert_int_eq(tfm_graph_add_to_collection_variable(g, "mix", v, st), TFM_OK);
  ck_assert_int_eq(tfm_graph_add_to_collection_int(g, "mix", -7, st), TFM_OK);
  ck_assert_int_eq(tfm_graph_add_to_collection_float(g, "mix", 0.25, st), TFM_OK);
  char bytes[] = {'a', 0, 'b'};
  ck_assert_int_eq(tfm_graph_add_to_collection_bytes(g, "mix", bytes, 3, st), TFM_OK);
  bytes[0] = 'z'; /* copied: later changes do not show */
  ck_assert_int_eq(tfm_graph_collection_size(g, "mix"), 6);
  ck_assert_int_eq(tfm_graph_collection_size(g, "absent"), 0);
  tfm_collection_kind kinds[6];
  for (int i = 0; i < 6; i++) {
    ck_assert_int_eq(tfm_graph_collection_item_kind(g, "mix", i, &kinds[i], st), TFM_OK);
    ck_assert_int_eq(kinds[i], i);
  }
  ck_assert_ptr_eq(tfm_graph_collection_op(g, "mix", 0, st), op);
  ck_assert_ptr_eq(tfm_graph_collection_output(g, "mix", 1, st), x);
  ck_assert_ptr_eq(tfm_graph_collection_variable(g, "mix", 2, st), v);
  int64_t i64;
  double f64;
  const char *data;
  size_t len;
  tfm_graph_collection_int(g, "mix", 3, &i64, st);
  ck_assert_int_eq(i64, -7);
  tfm_graph_collection_float(g, "mix", 4, &f64, st);
  ck_assert_double_eq(f64, 0.25);
  tfm_graph_collection_bytes(g, "mix", 5, &data, &len, st);
  ck_assert_uint_eq(len, 3);
  ck_assert_int_eq(memcmp(data, "a\0b", 3), 0);
  OK();
  /* the wrong getter and a bad index */
  ck_assert_ptr_null(tfm_graph_collection_op(g, "mix", 1, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_null(tfm_graph_collection_op(g, "mix", 6, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_OUT_OF_RANGE);
  /* keys in insertion order: the variable made "variables" and "trainable_variables" first */
  ck_assert_int_eq(tfm_graph_num_collections(g), 3);
  ck_assert_str_eq(tfm_graph_collection_key(g, 0), TFM_GLOBAL_VARIABLES);
  ck_assert_str_eq(tfm_graph_collection_key(g, 1), TFM_TRAINABLE_VARIABLES);
  ck_assert_str_eq(tfm_graph_collection_key(g, 2), "mix");
  ck_assert_ptr_null(tfm_graph_collection_key(g, 3));
}
END_TEST

/* ---- variables ---- */

START_TEST(variable_new_builds_the_ops_tensorflow_builds) {
  float vals[] = {1, 2, 3, 4, 5, 6};
  tfm_output *init = tfm_constant_f32(g, vals, (int64_t[]){2, 3}, 2, "init_value", st);
  tfm_variable *v = tfm_variable_new(g, init, 1, "w", st);
  OK();
  ck_assert_str_eq(tfm_variable_name(v), "w");
  ck_assert_str_eq(tfm_op_type(tfm_variable_op(v)), "VariableV2");
  ck_assert_str_eq(tfm_op_name(tfm_variable_initializer(v)), "w/Assign");
  ck_assert_str_eq(oname(tfm_variable_value(v)), "w/read");
  ck_assert_int_eq(tfm_output_dim(tfm_variable_ref(v), 1), 3);
  int b;
  tfm_op_attr_bool(tfm_variable_initializer(v), "use_locking", &b, st);
  ck_assert_int_eq(b, 1);
  tfm_op_attr_bool(tfm_variable_initializer(v), "validate_shape", &b, st);
  ck_assert_int_eq(b, 1);
  const attr_value_t *cls = node_attr(tfm_output_op(tfm_variable_value(v)), "_class");
  ck_assert_ptr_nonnull(cls);
  ck_assert_int_eq(cls->kind, ATTR_LIST_S);
  ck_assert_str_eq(cls->u.list.s[0].data, "loc:@w");
  ck_assert_int_eq(tfm_variable_trainable(v), 1);
  /* a second "w" gets the next free name; a non-trainable one stays out of trainables */
  tfm_variable *v2 = tfm_variable_new(g, init, 0, "w", st);
  ck_assert_str_eq(tfm_variable_name(v2), "w_1");
  ck_assert_int_eq(tfm_graph_num_variables(g), 2);
  ck_assert_ptr_eq(tfm_graph_variable_at(g, 1), v2);
  ck_assert_ptr_eq(tfm_graph_variable_by_name(g, "w_1", st), v2);
  ck_assert_int_eq(tfm_graph_collection_size(g, TFM_GLOBAL_VARIABLES), 2);
  ck_assert_int_eq(tfm_graph_collection_size(g, TFM_TRAINABLE_VARIABLES), 1);
  ck_assert_ptr_null(tfm_graph_variable_by_name(g, "w_2", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_NOT_FOUND);
  /* the initializer groups every Assign under "init" */
  tfm_op *all = tfm_global_variables_initializer(g, st);
  OK();
  ck_assert_str_eq(tfm_op_name(all), "init");
  ck_assert_str_eq(tfm_op_type(all), "NoOp");
  ck_assert_int_eq(tfm_op_num_control_inputs(all), 2);
  ck_assert_ptr_eq(tfm_op_control_input(all, 0), tfm_variable_initializer(v));
  ck_assert_ptr_eq(tfm_op_control_input(all, 1), tfm_variable_initializer(v2));
}
END_TEST

START_TEST(variable_needs_a_known_shape) {
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, (int64_t[]){-1, 3}, 2, "x", st);
  ck_assert_ptr_null(tfm_variable_new(g, x, 1, "w", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  HAS(tfm_status_message(st), "[?,3]");
}
END_TEST

START_TEST(get_variable_shares_under_reuse) {
  int64_t dims[] = {2, 3};
  tfm_graph_push_variable_scope(g, "layer1", 0, st);
  tfm_variable *w = tfm_get_variable(g, "w", TFM_FLOAT, dims, 2, TFM_INIT_ZEROS, 0, 0, -1, 1, st);
  OK();
  ck_assert_str_eq(tfm_variable_name(w), "layer1/w");
  ck_assert_str_eq(oname(tfm_op_input(tfm_variable_initializer(w), 1)), "layer1/w/Initializer/zeros");
  ck_assert_str_eq(oname(tfm_variable_value(w)), "layer1/w/read");
  /* taken without reuse */
  ck_assert_ptr_null(tfm_get_variable(g, "w", TFM_FLOAT, dims, 2, TFM_INIT_ZEROS, 0, 0, -1, 1, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_ALREADY_EXISTS);
  HAS(tfm_status_message(st), "layer1/w");
  tfm_graph_pop_variable_scope(g, st);
  /* re-entering with reuse returns the same handle; its name scope is new */
  tfm_graph_push_variable_scope(g, "layer1", 1, st);
  ck_assert_str_eq(tfm_graph_name_scope(g), "layer1_1");
  ck_assert_ptr_eq(tfm_get_variable(g, "w", TFM_FLOAT, dims, 2, TFM_INIT_ZEROS, 0, 0, -1, 1, st), w);
  OK();
  /* reuse with another shape or dtype, or an absent name */
  int64_t other[] = {3, 2};
  ck_assert_ptr_null(tfm_get_variable(g, "w", TFM_FLOAT, other, 2, TFM_INIT_ZEROS, 0, 0, -1, 1, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  HAS(tfm_status_message(st), "[3,2]");
  HAS(tfm_status_message(st), "[2,3]");
  ck_assert_ptr_null(tfm_get_variable(g, "w", TFM_DOUBLE, dims, 2, TFM_INIT_ZEROS, 0, 0, -1, 1, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_null(tfm_get_variable(g, "b", TFM_FLOAT, dims, 2, TFM_INIT_ZEROS, 0, 0, -1, 1, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_NOT_FOUND);
  /* a nested scope inherits reuse */
  tfm_graph_push_variable_scope(g, "inner", 0, st);
  ck_assert_ptr_null(tfm_get_variable(g, "w", TFM_FLOAT, dims, 2, TFM_INIT_ZEROS, 0, 0, -1, 1, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_NOT_FOUND);
  HAS(tfm_status_message(st), "layer1/inner/w");
  tfm_graph_pop_variable_scope(g, st);
  tfm_graph_pop_variable_scope(g, st);
  ck_assert_str_eq(tfm_graph_name_scope(g), "");
  ck_assert_int_eq(tfm_graph_pop_variable_scope(g, st), TFM_FAILED_PRECONDITION);
}
END_TEST

START_TEST(get_variable_ignores_the_name_scope) {
  tfm_graph_push_name_scope(g, "ns", st);
  tfm_variable *w = tfm_get_variable(g, "w", TFM_FLOAT, (int64_t[]){4}, 1, TFM_INIT_ONES, 0, 0, -1, 1, st);
  OK();
  ck_assert_str_eq(tfm_variable_name(w), "w");
  ck_assert_str_eq(oname(tfm_op_input(tfm_variable_initializer(w), 1)), "w/Initializer/ones");
  tfm_variable *c = tfm_get_variable(g, "c", TFM_FLOAT, (int64_t[]){2}, 1, TFM_INIT_CONSTANT, 2.5, 0, -1, 0, st);
  OK();
  tfm_output *cv = tfm_op_input(tfm_variable_initializer(c), 1);
  ck_assert_str_eq(oname(cv), "c/Initializer/Const");
  ck_assert_float_eq(((float *)cv->const_value->data)[1], 2.5f);
  ck_assert_str_eq(tfm_graph_name_scope(g), "ns");
}
END_TEST

START_TEST(random_initializers_are_named_as_tensorflow_names_them) {
  tfm_variable *w = tfm_get_variable(g, "k", TFM_FLOAT, (int64_t[]){3, 4}, 2, TFM_INIT_GLOROT_UNIFORM,
                                     0, 0, 1, 1, st);
  OK();
  tfm_output *iv = tfm_op_input(tfm_variable_initializer(w), 1);
  ck_assert_str_eq(oname(iv), "k/Initializer/random_uniform");
  tfm_output *mn = tfm_graph_get_tensor_by_name(g, "k/Initializer/random_uniform/min", st);
  OK();
  /* limit = sqrt(6 / (fan_in + fan_out)) = sqrt(6/7) for a [3,4] kernel */
  ck_assert_double_eq_tol(tensor_get_f64(mn->const_value, 0), -0.9258200997725514, 1e-6);
  /* a conv kernel [kh,kw,in,out]: fans are in*kh*kw and out*kh*kw: sqrt(6/(2*9+4*9)) */
  tfm_get_variable(g, "conv", TFM_FLOAT, (int64_t[]){3, 3, 2, 4}, 4, TFM_INIT_GLOROT_UNIFORM, 0, 0, -1, 1, st);
  mn = tfm_graph_get_tensor_by_name(g, "conv/Initializer/random_uniform/max", st);
  OK();
  ck_assert_double_eq_tol(tensor_get_f64(mn->const_value, 0), 0.3333333333333333, 1e-6);
  tfm_get_variable(g, "n", TFM_FLOAT, (int64_t[]){2}, 1, TFM_INIT_TRUNCATED_NORMAL, 0, 0.1, -1, 1, st);
  OK();
  ck_assert_ptr_nonnull(tfm_graph_get_operation_by_name(g, "n/Initializer/truncated_normal/TruncatedNormal", st));
}
END_TEST

START_TEST(seeds_follow_tensorflows_rule) {
  graph_t *gr = g;
  int64_t s1, s2;
  graph_op_seeds(gr, 0, false, &s1, &s2);
  ck_assert_int_eq(s1, 0);
  ck_assert_int_eq(s2, 0);
  graph_op_seeds(gr, 5, true, &s1, &s2);
  ck_assert_int_eq(s1, 87654321); /* TF's DEFAULT_GRAPH_SEED */
  ck_assert_int_eq(s2, 5);
  tfm_graph_set_seed(g, 42);
  graph_op_seeds(gr, 5, true, &s1, &s2);
  ck_assert_int_eq(s1, 42);
  ck_assert_int_eq(s2, 5);
  ph("x", 1, 1);
  ph("y", 1, 1);
  graph_op_seeds(gr, 0, false, &s1, &s2);
  ck_assert_int_eq(s1, 42);
  ck_assert_int_eq(s2, 2); /* the graph's last op id: two ops so far */
  tfm_graph_set_seed(g, 0);
  graph_op_seeds(gr, 0, true, &s1, &s2);
  ck_assert_int_eq(s1, 0);
  ck_assert_int_eq(s2, 2147483647); /* (0, 0) is avoided once a seed is set */
}
END_TEST

/* ---- control dependencies ---- */

START_TEST(control_dependencies_apply_to_new_ops) {
  tfm_output *x = ph("x", 2, 3);
  tfm_op *a = tfm_no_op(g, "a", st), *b = tfm_no_op(g, "b", st);
  tfm_op *xop = tfm_output_op(x);
  ck_assert_int_eq(tfm_graph_push_control_dependencies(g, &a, 1, st), TFM_OK);
  tfm_op *y = tfm_output_op(tfm_identity(g, x, "y", st));
  tfm_op *both[] = {b, a, xop};
  tfm_graph_push_control_dependencies(g, both, 3, st);
  tfm_op *z = tfm_output_op(tfm_identity(g, x, "z", st));
  tfm_graph_pop_control_dependencies(g, st);
  tfm_graph_pop_control_dependencies(g, st);
  tfm_op *w = tfm_output_op(tfm_identity(g, x, "w", st));
  OK();
  ck_assert_int_eq(tfm_op_num_control_inputs(y), 1);
  ck_assert_ptr_eq(tfm_op_control_input(y, 0), a);
  /* nested scopes add up; duplicates and ops feeding data inputs are dropped */
  ck_assert_int_eq(tfm_op_num_control_inputs(z), 2);
  ck_assert_ptr_eq(tfm_op_control_input(z, 0), a);
  ck_assert_ptr_eq(tfm_op_control_input(z, 1), b);
  ck_assert_int_eq(tfm_op_num_control_inputs(w), 0);
  ck_assert_int_eq(tfm_graph_pop_control_dependencies(g, st), TFM_FAILED_PRECONDITION);
  tfm_op *grp = tfm_group(g, both, 2, NULL, st);
  ck_assert_str_eq(tfm_op_name(grp), "group_deps");
  ck_assert_int_eq(tfm_op_num_control_inputs(grp), 2);
}
END_TEST

/* ---- shapes ---- */

START_TEST(shape_errors_name_both_ops_and_shapes) {
  float v[6] = {0};
  tfm_output *c = tfm_constant_f32(g, v, (int64_t[]){2, 3}, 2, "c", st);
  ck_assert_ptr_null(tfm_reshape(g, c, (int64_t[]){4}, 1, "r", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  const char *m = tfm_status_message(st);
  HAS(m, "Reshape 'r'");
  HAS(m, "'c:0'");
  HAS(m, "[2,3]");
  HAS(m, "[4]");
  HAS(m, "6 elements");
  ck_assert_ptr_null(tfm_graph_get_operation_by_name(g, "r", st)); /* nothing added */
  /* the name is still free */
  ck_assert_str_eq(oname(tfm_reshape(g, c, (int64_t[]){3, 2}, 2, "r", st)), "r_1");
}
END_TEST

START_TEST(shapes_are_inferred_at_build_time) {
  tfm_output *x = ph("x", 2, 6), *y = ph("y", 3, 4);
  tfm_output *r = tfm_reshape(g, x, (int64_t[]){-1, 3}, 2, NULL, st);
  ck_assert_int_eq(tfm_output_dim(r, 0), 4);
  /* Reshape(x, Shape(y)) is known statically */
  tfm_output *in[2] = {x, tfm_shape(g, y, NULL, st)};
  tfm_op_builder *b = tfm_op_builder_new(g, "Reshape", NULL, st);
  tfm_op_builder_add_inputs(b, in, 2);
  tfm_output *rs = tfm_op_output(tfm_op_builder_finish(b, st), 0);
  OK();
  ck_assert_int_eq(tfm_output_rank(rs), 2);
  ck_assert_int_eq(tfm_output_dim(rs, 0), 3);
  ck_assert_int_eq(tfm_output_dim(rs, 1), 4);
  tfm_output *t = tfm_transpose(g, y, (int32_t[]){1, 0}, 2, NULL, st);
  ck_assert_int_eq(tfm_output_dim(t, 0), 4);
  tfm_output *e = tfm_expand_dims(g, y, -1, NULL, st);
  ck_assert_int_eq(tfm_output_rank(e), 3);
  ck_assert_int_eq(tfm_output_dim(e, 2), 1);
  tfm_output *s = tfm_squeeze(g, e, NULL, 0, NULL, st);
  ck_assert_int_eq(tfm_output_rank(s), 2);
  OK();
  ck_assert_ptr_null(tfm_squeeze(g, e, (int32_t[]){0}, 1, NULL, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  HAS(tfm_status_message(st), "[3,4,1]");
  /* unknown dims stay unknown */
  tfm_output *u = tfm_placeholder(g, TFM_FLOAT, (int64_t[]){-1, 4}, 2, "u", st);
  tfm_output *ur = tfm_reshape(g, u, (int64_t[]){-1, 2}, 2, NULL, st);
  OK();
  ck_assert_int_eq(tfm_output_dim(ur, 0), -1);
  ck_assert_int_eq(tfm_output_dim(ur, 1), 2);
  ck_assert_int_eq(tfm_output_rank(tfm_placeholder(g, TFM_FLOAT, NULL, -1, "any", st)), -1);
  /* zeros: a Const below 1000 elements, a Fill above, as TF builds them */
  tfm_output *z = tfm_zeros(g, (int64_t[]){2, 2}, 2, TFM_FLOAT, NULL, st);
  ck_assert_str_eq(tfm_op_type(tfm_output_op(z)), "Const");
  ck_assert_str_eq(oname(z), "zeros");
  tfm_output *zb = tfm_zeros(g, (int64_t[]){100, 100}, 2, TFM_FLOAT, NULL, st);
  ck_assert_str_eq(tfm_op_type(tfm_output_op(zb)), "Fill");
  ck_assert_str_eq(oname(zb), "zeros_1");
  ck_assert_str_eq(oname(tfm_op_input(tfm_output_op(zb), 0)), "zeros_1/shape_as_tensor");
  ck_assert_int_eq(tfm_output_dim(zb, 1), 100);
  OK();
}
END_TEST

START_TEST(shape_ops_fold_known_shapes) {
  tfm_output *y = ph("y", 3, 4);
  tfm_output *s = tfm_shape(g, y, NULL, st);
  ck_assert_ptr_nonnull(s->const_value);
  ck_assert_int_eq(((int32_t *)s->const_value->data)[1], 4);
  tfm_op_builder *b = tfm_op_builder_new(g, "Size", NULL, st);
  tfm_op_builder_add_input(b, y);
  tfm_op_builder_set_attr_type(b, "out_type", TFM_INT64);
  tfm_output *n = tfm_op_output(tfm_op_builder_finish(b, st), 0);
  OK();
  ck_assert_int_eq(tfm_output_dtype(n), TFM_INT64);
  ck_assert_int_eq(((int64_t *)n->const_value->data)[0], 12);
  tfm_output *u = tfm_placeholder(g, TFM_FLOAT, (int64_t[]){-1, 4}, 2, "u", st);
  ck_assert_ptr_null(tfm_shape(g, u, NULL, st)->const_value);
}
END_TEST

/* ---- the registry ---- */

START_TEST(unknown_op_types_are_unimplemented) {
  ck_assert_ptr_null(tfm_op_builder_new(g, "Frobnicate", "f", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_UNIMPLEMENTED);
  HAS(tfm_status_message(st), "Frobnicate");
  HAS(tfm_status_message(st), "'f'");
  ck_assert_ptr_null(graph_add_op(g, "Frobnicate", "f", false, NULL, 0, NULL, 0, NULL, 0, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_UNIMPLEMENTED);
  HAS(tfm_status_message(st), "Frobnicate");
}
END_TEST

START_TEST(attr_defaults_are_filled) {
  tfm_output *y = ph("y", 3, 4);
  tfm_op *s = tfm_output_op(tfm_shape(g, y, NULL, st));
  tfm_dtype dt;
  ck_assert_int_eq(tfm_op_attr_type(s, "out_type", &dt, st), TFM_OK);
  ck_assert_int_eq(dt, TFM_INT32);
  ck_assert_int_eq(tfm_op_attr_type(s, "T", &dt, st), TFM_OK); /* taken from the input */
  ck_assert_int_eq(dt, TFM_FLOAT);
  tfm_variable *v = tfm_variable_new(g, y, 1, "v", st);
  tfm_output *add = tfm_assign_add(g, v, y, NULL, st);
  OK();
  int lock;
  tfm_op_attr_bool(tfm_output_op(add), "use_locking", &lock, st);
  ck_assert_int_eq(lock, 0); /* AssignAdd's default, unlike Assign's */
  const char *str;
  size_t len;
  ck_assert_int_eq(tfm_op_attr_string(tfm_variable_op(v), "container", &str, &len, st), TFM_OK);
  ck_assert_uint_eq(len, 0);
  ck_assert_int_eq(tfm_op_attr_int(s, "out_type", &(int64_t){0}, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(tfm_op_attr_int(s, "nope", &(int64_t){0}, st), TFM_NOT_FOUND);
}
END_TEST

START_TEST(builder_checks_attrs_against_the_schema) {
  tfm_output *y = ph("y", 3, 4);
  tfm_op_builder *b = tfm_op_builder_new(g, "Shape", "s", st);
  tfm_op_builder_add_input(b, y);
  tfm_op_builder_set_attr_int(b, "out_type", 3);
  ck_assert_ptr_null(tfm_op_builder_finish(b, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  HAS(tfm_status_message(st), "out_type");
  HAS(tfm_status_message(st), "'s'");
  b = tfm_op_builder_new(g, "Shape", "s", st);
  tfm_op_builder_add_input(b, y);
  tfm_op_builder_set_attr_int(b, "colour", 3);
  ck_assert_ptr_null(tfm_op_builder_finish(b, st));
  HAS(tfm_status_message(st), "colour");
  /* a missing required attr */
  b = tfm_op_builder_new(g, "Placeholder", "p", st);
  ck_assert_ptr_null(tfm_op_builder_finish(b, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  HAS(tfm_status_message(st), "dtype");
  /* wrong input count, NULL input */
  b = tfm_op_builder_new(g, "Identity", NULL, st);
  ck_assert_ptr_null(tfm_op_builder_finish(b, st));
  HAS(tfm_status_message(st), "expects 1 input");
  b = tfm_op_builder_new(g, "Identity", NULL, st);
  tfm_op_builder_add_input(b, NULL);
  ck_assert_ptr_null(tfm_op_builder_finish(b, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  /* Assign needs a variable */
  b = tfm_op_builder_new(g, "Assign", NULL, st);
  tfm_op_builder_add_input(b, y);
  tfm_op_builder_add_input(b, y);
  ck_assert_ptr_null(tfm_op_builder_finish(b, st));
  HAS(tfm_status_message(st), "must be a variable");
  ck_assert_int_eq(tfm_graph_num_ops(g), 1);
}
END_TEST

START_TEST(generic_builder_makes_any_registered_op) {
  tfm_output *a = ph("a", 2, 3), *b2 = ph("b", 4, 3);
  tfm_output *axis = tfm_scalar(g, 0, TFM_INT32, "axis", st);
  tfm_op_builder *b = tfm_op_builder_new(g, "ConcatV2", "cat", st);
  tfm_op_builder_add_inputs(b, (tfm_output *[]){a, b2, axis}, 3);
  tfm_op_builder_set_attr_int(b, "N", 2);
  tfm_op *cat = tfm_op_builder_finish(b, st);
  OK();
  ck_assert_str_eq(tfm_op_name(cat), "cat");
  /* private "_" attrs of any kind are kept as given */
  b = tfm_op_builder_new(g, "Identity", NULL, st);
  tfm_op_builder_add_input(b, a);
  tfm_op_builder_set_attr_type_list(b, "_types", (tfm_dtype[]){TFM_INT64, TFM_BOOL}, 2);
  tfm_op_builder_set_attr_float_list(b, "_f", (float[]){0.5f}, 1);
  tfm_op_builder_set_attr_string(b, "_note", "hi", 2);
  tfm_op_builder_set_attr_string(b, "_note", "bye", 3); /* the last value wins */
  tfm_op *id = tfm_op_builder_finish(b, st);
  OK();
  const attr_value_t *types = node_attr(id, "_types");
  ck_assert_int_eq(types->kind, ATTR_LIST_TYPE);
  ck_assert_int_eq(types->u.list.n, 2);
  ck_assert_int_eq(types->u.list.type[1], TFM_BOOL);
  ck_assert_float_eq(node_attr(id, "_f")->u.list.f[0], 0.5f);
  const char *note;
  size_t note_len;
  ck_assert_int_eq(tfm_op_attr_string(id, "_note", &note, &note_len, st), TFM_OK);
  ck_assert_uint_eq(note_len, 3);
  ck_assert_str_eq(note, "bye");
  ck_assert_int_eq(tfm_output_dim(tfm_op_output(cat, 0), 0), 6);
  ck_assert_int_eq(tfm_op_num_inputs(cat), 3);
  b = tfm_op_builder_new(g, "Pack", NULL, st);
  tfm_op_builder_add_inputs(b, (tfm_output *[]){a, a}, 2);
  tfm_op_builder_set_attr_int(b, "N", 2);
  tfm_op_builder_set_attr_int(b, "axis", 1);
  tfm_op *pk = tfm_op_builder_finish(b, st);
  OK();
  ck_assert_int_eq(tfm_output_rank(tfm_op_output(pk, 0)), 3);
  ck_assert_int_eq(tfm_output_dim(tfm_op_output(pk, 0), 1), 2);
  b = tfm_op_builder_new(g, "Pack", NULL, st);
  tfm_op_builder_add_inputs(b, (tfm_output *[]){a, b2}, 2);
  tfm_op_builder_set_attr_int(b, "N", 2);
  ck_assert_ptr_null(tfm_op_builder_finish(b, st));
  HAS(tfm_status_message(st), "[2,3]");
  HAS(tfm_status_message(st), "[4,3]");
}
END_TEST

START_TEST(null_inputs_chain_to_one_error) {
  tfm_output *x = tfm_placeholder(g, (tfm_dtype)99, NULL, 0, "x", st);
  ck_assert_ptr_null(x);
  char first[256];
  snprintf(first, sizeof first, "%s", tfm_status_message(st));
  tfm_output *y = tfm_identity(g, x, NULL, st);
  tfm_output *z = tfm_reshape(g, y, (int64_t[]){1}, 1, NULL, st);
  ck_assert_ptr_null(z);
  ck_assert_str_eq(tfm_status_message(st), first); /* the first error is kept */
  tfm_status_clear(st);
  ck_assert_ptr_null(tfm_identity(g, NULL, NULL, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  HAS(tfm_status_message(st), "tfm_identity");
  ck_assert_int_eq(tfm_graph_num_ops(g), 0);
}
END_TEST

START_TEST(default_graph_is_reset) {
  tfm_graph *d = tfm_default_graph();
  ck_assert_ptr_eq(tfm_default_graph(), d);
  tfm_output *x = tfm_placeholder(NULL, TFM_FLOAT, NULL, 0, "x", st);
  OK();
  ck_assert_ptr_eq(tfm_op_graph(tfm_output_op(x)), d);
  ck_assert_int_eq(tfm_graph_num_ops(NULL), 1);
  ck_assert_int_eq(tfm_reset_default_graph(st), TFM_OK);
  ck_assert_int_eq(tfm_graph_num_ops(NULL), 0);
  ck_assert_str_eq(oname(tfm_placeholder(NULL, TFM_FLOAT, NULL, 0, "x", st)), "x");
}
END_TEST

START_TEST(inputs_from_another_graph_are_refused) {
  tfm_graph *other = tfm_graph_new(st);
  tfm_output *x = tfm_placeholder(other, TFM_FLOAT, NULL, 0, "x", st);
  ck_assert_ptr_null(tfm_identity(g, x, NULL, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  HAS(tfm_status_message(st), "another graph");
  tfm_graph_delete(other);
}
END_TEST

/* ---- kernels, run directly through a kernel context ---- */

static tfm_code run(tfm_op *op, tensor_t **in, int n_in, tensor_t **out, tensor_t **ref) {
  kctx_t c = {.node = op, .in = in, .n_in = n_in, .out = out, .n_out = op->n_outputs,
              .ref = ref, .st = st};
  return op->def->compute(&c);
}

static tensor_t *f32(const float *v, const int64_t *dims, int rank) {
  tfm_tensor *t = tfm_tensor_new(TFM_FLOAT, dims, rank, st);
  memcpy(tfm_tensor_data(t), v, tfm_tensor_nbytes(t));
  return t;
}

START_TEST(transpose_and_tile_kernels_move_elements) {
  float v[6] = {1, 2, 3, 4, 5, 6};
  tensor_t *x = f32(v, (int64_t[]){2, 3}, 2);
  tfm_output *xp = ph("x", 2, 3);
  tfm_output *t = tfm_transpose(g, xp, NULL, 0, NULL, st);
  tensor_t *in[2] = {x, t->node->inputs[1]->const_value}, *out[1] = {NULL};
  ck_assert_int_eq(run(t->node, in, 2, out, NULL), TFM_OK);
  /* out[j][i] = x[i][j] */
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++) ck_assert_float_eq(TENSOR_F32(out[0])[j * 2 + i], v[i * 3 + j]);
  tensor_unref(out[0]);
  out[0] = NULL;
  tfm_output *mult = tfm_constant_i32(g, (int32_t[]){2, 2}, 2, NULL, st);
  tfm_op_builder *b = tfm_op_builder_new(g, "Tile", NULL, st);
  tfm_op_builder_add_inputs(b, (tfm_output *[]){xp, mult}, 2);
  tfm_op *tile = tfm_op_builder_finish(b, st);
  OK();
  ck_assert_int_eq(tfm_output_dim(tfm_op_output(tile, 0), 1), 6);
  in[1] = mult->const_value;
  ck_assert_int_eq(run(tile, in, 2, out, NULL), TFM_OK);
  ck_assert_int_eq(out[0]->num_elements, 24);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 6; j++) ck_assert_float_eq(TENSOR_F32(out[0])[i * 6 + j], v[(i % 2) * 3 + j % 3]);
  tensor_unref(out[0]);
  tensor_unref(x);
}
END_TEST

START_TEST(reshape_and_concat_kernels) {
  float v[6] = {1, 2, 3, 4, 5, 6};
  tensor_t *x = f32(v, (int64_t[]){2, 3}, 2);
  tfm_output *xp = ph("x", -1, 3);
  tfm_output *r = tfm_reshape(g, xp, (int64_t[]){3, -1}, 2, NULL, st);
  tensor_t *in[3] = {x, r->node->inputs[1]->const_value}, *out[1] = {NULL};
  ck_assert_int_eq(run(r->node, in, 2, out, NULL), TFM_OK);
  ck_assert_int_eq(out[0]->shape.dim[1], 2);
  ck_assert_ptr_eq(out[0]->data, x->data); /* same buffer */
  tensor_unref(out[0]);
  out[0] = NULL;
  in[1] = f32(v, (int64_t[]){2, 3}, 2);
  ck_assert_int_eq(run(r->node, (tensor_t *[]){x, tfm_output_op(r)->inputs[1]->const_value}, 2, out, NULL), TFM_OK);
  tensor_unref(out[0]);
  out[0] = NULL;
  /* ConcatV2 along axis 1: rows side by side */
  tfm_output *axis = tfm_scalar(g, 1, TFM_INT32, NULL, st);
  tfm_op_builder *b = tfm_op_builder_new(g, "ConcatV2", NULL, st);
  tfm_op_builder_add_inputs(b, (tfm_output *[]){xp, xp, axis}, 3);
  tfm_op_builder_set_attr_int(b, "N", 2);
  tfm_op *cat = tfm_op_builder_finish(b, st);
  OK();
  ck_assert_int_eq(tfm_output_dim(tfm_op_output(cat, 0), 1), 6);
  in[2] = axis->const_value;
  ck_assert_int_eq(run(cat, in, 3, out, NULL), TFM_OK);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 6; j++) ck_assert_float_eq(TENSOR_F32(out[0])[i * 6 + j], v[i * 3 + j % 3]);
  tensor_unref(out[0]);
  tensor_unref(in[1]);
  tensor_unref(x);
}
END_TEST

START_TEST(assign_kernels_update_the_variable_slot) {
  float v[3] = {1, 2, 3}, d[3] = {10, 20, 30};
  tensor_t *init = f32(v, (int64_t[]){3}, 1), *delta = f32(d, (int64_t[]){3}, 1);
  tfm_output *iv = tfm_constant(g, init, "iv", st);
  tfm_variable *var = tfm_variable_new(g, iv, 1, "v", st);
  tfm_output *add = tfm_assign_add(g, var, tfm_constant(g, delta, "d", st), NULL, st);
  OK();
  tensor_t *slot = NULL, *out[1] = {NULL};
  /* reading before the initializer ran fails */
  ck_assert_int_eq(run(tfm_variable_op(var), NULL, 0, out, &slot), TFM_FAILED_PRECONDITION);
  HAS(tfm_status_message(st), "uninitialized value v");
  ck_assert_int_eq(run(tfm_variable_initializer(var), (tensor_t *[]){NULL, init}, 2, out, &slot), TFM_OK);
  ck_assert_ptr_nonnull(slot);
  ck_assert_ptr_ne(slot, init); /* the variable holds its own copy */
  tensor_unref(out[0]);
  out[0] = NULL;
  /* assigning again with nobody else holding the value writes in place */
  tensor_t *first = slot;
  ck_assert_int_eq(run(tfm_variable_initializer(var), (tensor_t *[]){slot, init}, 2, out, &slot), TFM_OK);
  tensor_unref(out[0]);
  out[0] = NULL;
  ck_assert_ptr_eq(slot, first);
  ck_assert_int_eq(run(tfm_output_op(add), (tensor_t *[]){slot, delta}, 2, out, &slot), TFM_OK);
  tensor_unref(out[0]);
  out[0] = NULL;
  ck_assert_ptr_eq(slot, first);
  for (int i = 0; i < 3; i++) ck_assert_float_eq(TENSOR_F32(slot)[i], v[i] + d[i]);
  ck_assert_float_eq(TENSOR_F32(init)[0], 1); /* the initial value is untouched */
  /* updates stay in place even while the value is held elsewhere (the session
   * gives callers snapshots, so only readers inside a run can hold it) */
  tensor_ref(first);
  ck_assert_int_eq(run(tfm_output_op(add), (tensor_t *[]){slot, delta}, 2, out, &slot), TFM_OK);
  ck_assert_ptr_eq(slot, first);
  ck_assert_float_eq(TENSOR_F32(slot)[0], v[0] + 2 * d[0]);
  tensor_unref(first); /* the extra holder's reference */
  tensor_unref(out[0]);
  tensor_unref(slot);
  tensor_unref(init);
  tensor_unref(delta);
}
END_TEST

START_TEST(placeholder_kernel_asks_for_a_feed) {
  tfm_output *x = ph("x", -1, 3);
  tensor_t *out[1] = {NULL};
  ck_assert_int_eq(run(tfm_output_op(x), NULL, 0, out, NULL), TFM_INVALID_ARGUMENT);
  HAS(tfm_status_message(st), "must feed a value for placeholder tensor 'x'");
  HAS(tfm_status_message(st), "[?,3]");
}
END_TEST


static tensor_t *iota(int64_t d0, int64_t d1) {
  tfm_tensor *t = tfm_tensor_new(TFM_FLOAT, (int64_t[]){d0, d1}, 2, st);
  for (int64_t i = 0; i < d0 * d1; i++) ((float *)tfm_tensor_data(t))[i] = (float)i;
  return t;
}

static tfm_op *build(const char *type, tfm_output *const *in, int n, const char *attr, int64_t v) {
  tfm_op_builder *b = tfm_op_builder_new(g, type, NULL, st);
  tfm_op_builder_add_inputs(b, in, n);
  if (attr) tfm_op_builder_set_attr_int(b, attr, v);
  tfm_op *op = tfm_op_builder_finish(b, st);
  OK();
  return op;
}

START_TEST(slice_pad_unpack_kernels_copy_boxes) {
  tensor_t *x = iota(3, 4), *out[4] = {NULL};
  tfm_output *xp = ph("x", 3, 4);
  tfm_output *begin = tfm_constant_i32(g, (int32_t[]){1, 1}, 2, NULL, st);
  tfm_output *size = tfm_constant_i32(g, (int32_t[]){2, -1}, 2, NULL, st);
  tfm_op *sl = build("Slice", (tfm_output *[]){xp, begin, size}, 3, NULL, 0);
  ck_assert_int_eq(tfm_output_dim(tfm_op_output(sl, 0), 0), 2);
  ck_assert_int_eq(tfm_output_dim(tfm_op_output(sl, 0), 1), 3);
  ck_assert_int_eq(run(sl, (tensor_t *[]){x, begin->const_value, size->const_value}, 3, out, NULL), TFM_OK);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++) ck_assert_float_eq(TENSOR_F32(out[0])[i * 3 + j], (1 + i) * 4 + 1 + j);
  tensor_unref(out[0]);
  out[0] = NULL;
  /* out of bounds is a build-time error */
  tfm_output *big = tfm_constant_i32(g, (int32_t[]){3, 1}, 2, NULL, st);
  tfm_op_builder *b = tfm_op_builder_new(g, "Slice", "bad", st);
  tfm_op_builder_add_inputs(b, (tfm_output *[]){xp, begin, big}, 3);
  ck_assert_ptr_null(tfm_op_builder_finish(b, st));
  HAS(tfm_status_message(st), "[3,4]");
  tfm_status_clear(st);
  /* Pad [[1,0],[0,2]]: one row above, two columns right, zeros */
  shape_t ps = {.rank = 2, .dim = {2, 2}};
  tensor_t *pt = tensor_new(TFM_INT32, &ps, st);
  int32_t pv[] = {1, 0, 0, 2};
  memcpy(pt->data, pv, sizeof pv);
  tfm_output *pads = tfm_constant(g, pt, "pads", st);
  tfm_op *pad = build("Pad", (tfm_output *[]){xp, pads}, 2, NULL, 0);
  ck_assert_int_eq(tfm_output_dim(tfm_op_output(pad, 0), 0), 4);
  ck_assert_int_eq(tfm_output_dim(tfm_op_output(pad, 0), 1), 6);
  ck_assert_int_eq(run(pad, (tensor_t *[]){x, pt}, 2, out, NULL), TFM_OK);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 6; j++)
      ck_assert_float_eq(TENSOR_F32(out[0])[i * 6 + j], i >= 1 && j < 4 ? (i - 1) * 4 + j : 0);
  tensor_unref(out[0]);
  out[0] = NULL;
  /* Unpack along axis 1: four columns */
  tfm_op_builder *ub = tfm_op_builder_new(g, "Unpack", NULL, st);
  tfm_op_builder_add_input(ub, xp);
  tfm_op_builder_set_attr_int(ub, "num", 4);
  tfm_op_builder_set_attr_int(ub, "axis", 1);
  tfm_op *un = tfm_op_builder_finish(ub, st);
  OK();
  ck_assert_int_eq(tfm_op_num_outputs(un), 4);
  ck_assert_int_eq(tfm_output_dim(tfm_op_output(un, 3), 0), 3);
  ck_assert_int_eq(run(un, (tensor_t *[]){x}, 1, out, NULL), TFM_OK);
  for (int k = 0; k < 4; k++) {
    for (int i = 0; i < 3; i++) ck_assert_float_eq(TENSOR_F32(out[k])[i], i * 4 + k);
    tensor_unref(out[k]);
  }
  tensor_unref(pt);
  tensor_unref(x);
}
END_TEST

/* Runs op's gradient function with the given output gradients. */
static output_t **grad(tfm_op *op, output_t **dy, output_t **dx) {
  for (int i = 0; i < op->n_inputs; i++) dx[i] = NULL;
  grad_ctx_t c = {.g = g, .op = op, .dy = dy, .n_dy = op->n_outputs, .dx = dx, .n_dx = op->n_inputs, .st = st};
  ck_assert_ptr_nonnull(op->def->gradient);
  ck_assert_int_eq(op->def->gradient(&c), TFM_OK);
  return dx;
}

START_TEST(layout_gradients_route_dy_back) {
  tfm_output *x = ph("x", 2, 3), *x2 = ph("x2", 4, 3);
  output_t *dx[4];
  /* Reshape: dy [6] back to [2,3] */
  tfm_output *r = tfm_reshape(g, x, (int64_t[]){6}, 1, NULL, st);
  tfm_output *dy6 = tfm_placeholder(g, TFM_FLOAT, (int64_t[]){6}, 1, "dy6", st);
  grad(tfm_output_op(r), (output_t *[]){dy6}, dx);
  ck_assert_str_eq(dx[0]->node->type, "Reshape");
  ck_assert_int_eq(tfm_output_dim(dx[0], 1), 3);
  ck_assert_ptr_null(dx[1]);
  /* Transpose: dy [3,2] back through the inverse permutation */
  tfm_output *t = tfm_transpose(g, x, (int32_t[]){1, 0}, 2, NULL, st);
  tfm_output *dy32 = ph("dy32", 3, 2);
  grad(tfm_output_op(t), (output_t *[]){dy32}, dx);
  ck_assert_str_eq(dx[0]->node->type, "Transpose");
  ck_assert_int_eq(tfm_output_dim(dx[0], 0), 2);
  /* Concat along 0: slices [2,3] at 0 and [4,3] at 2 */
  tfm_output *axis = tfm_scalar(g, 0, TFM_INT32, NULL, st);
  tfm_op *cat = build("ConcatV2", (tfm_output *[]){x, x2, axis}, 3, "N", 2);
  tfm_output *dy63 = ph("dy63", 6, 3);
  grad(cat, (output_t *[]){dy63}, dx);
  ck_assert_str_eq(dx[1]->node->type, "Slice");
  ck_assert_int_eq(tfm_output_dim(dx[0], 0), 2);
  ck_assert_int_eq(tfm_output_dim(dx[1], 0), 4);
  ck_assert_int_eq(TENSOR_I32(dx[1]->node->inputs[1]->const_value)[0], 2);
  ck_assert_ptr_null(dx[2]);
  /* Pack <-> Unpack */
  tfm_op *pk = build("Pack", (tfm_output *[]){x, x}, 2, "N", 2);
  tfm_output *dy223 = tfm_placeholder(g, TFM_FLOAT, (int64_t[]){2, 2, 3}, 3, "dy223", st);
  grad(pk, (output_t *[]){dy223}, dx);
  ck_assert_str_eq(dx[0]->node->type, "Unpack");
  ck_assert_ptr_eq(dx[1], &dx[0]->node->outputs[1]);
  ck_assert_int_eq(tfm_output_dim(dx[1], 1), 3);
  /* Slice -> Pad to the input's shape, and Pad -> Slice back */
  tfm_output *begin = tfm_constant_i32(g, (int32_t[]){0, 1}, 2, NULL, st);
  tfm_output *size = tfm_constant_i32(g, (int32_t[]){2, 2}, 2, NULL, st);
  tfm_op *sl = build("Slice", (tfm_output *[]){x, begin, size}, 3, NULL, 0);
  tfm_output *dy22 = ph("dy22", 2, 2);
  grad(sl, (output_t *[]){dy22}, dx);
  ck_assert_str_eq(dx[0]->node->type, "Pad");
  ck_assert_int_eq(tfm_output_dim(dx[0], 1), 3);
  tfm_op *pad = tfm_output_op(dx[0]);
  grad(pad, (output_t *[]){x}, dx);
  ck_assert_str_eq(dx[0]->node->type, "Slice");
  ck_assert_int_eq(tfm_output_dim(dx[0], 0), 2);
  ck_assert_int_eq(tfm_output_dim(dx[0], 1), 2);
  /* Tile [2,3] by [2,2]: dy [4,6] viewed as [2,2,2,3], summed over the tiles */
  tfm_output *mult = tfm_constant_i32(g, (int32_t[]){2, 2}, 2, NULL, st);
  tfm_op *tile = build("Tile", (tfm_output *[]){x, mult}, 2, NULL, 0);
  tfm_output *dy46 = ph("dy46", 4, 6);
  grad(tile, (output_t *[]){dy46}, dx);
  ck_assert_str_eq(dx[0]->node->type, "Sum");
  ck_assert_int_eq(tfm_output_rank(dx[0]), 2);
  ck_assert_int_eq(tfm_output_dim(dx[0], 0), 2);
  ck_assert_int_eq(tfm_output_dim(dx[0], 1), 3);
  const tensor_t *split = dx[0]->node->inputs[0]->node->inputs[1]->const_value;
  ck_assert_int_eq(TENSOR_I32(split)[0], 2);
  ck_assert_int_eq(TENSOR_I32(split)[3], 3);
  /* Fill: the scalar value gets the sum of dy */
  tfm_output *fill = tfm_fill(g, tfm_constant_i32(g, (int32_t[]){2, 3}, 2, NULL, st),
                              tfm_scalar(g, 1, TFM_FLOAT, NULL, st), NULL, st);
  grad(tfm_output_op(fill), (output_t *[]){x}, dx);
  ck_assert_ptr_null(dx[0]);
  ck_assert_str_eq(dx[1]->node->type, "Sum");
  ck_assert_int_eq(tfm_output_rank(dx[1]), 0);
  /* Identity passes dy through */
  tfm_output *id = tfm_identity(g, x, NULL, st);
  grad(tfm_output_op(id), (output_t *[]){x2}, dx);
  ck_assert_ptr_eq(dx[0], x2);
  OK();
}
END_TEST


/* x[key] on the iota [3,4], spec given as TF's Python layer encodes it. */
static tfm_op *strided(tfm_output *x, const int32_t *b, const int32_t *e, const int32_t *s, int n,
                       int bm, int em, int elm, int nam, int sam) {
  tfm_op_builder *bl = tfm_op_builder_new(g, "StridedSlice", NULL, st);
  tfm_op_builder_add_input(bl, x);
  tfm_op_builder_add_input(bl, tfm_constant_i32(g, b, n, NULL, st));
  tfm_op_builder_add_input(bl, tfm_constant_i32(g, e, n, NULL, st));
  tfm_op_builder_add_input(bl, tfm_constant_i32(g, s, n, NULL, st));
  tfm_op_builder_set_attr_int(bl, "begin_mask", bm);
  tfm_op_builder_set_attr_int(bl, "end_mask", em);
  tfm_op_builder_set_attr_int(bl, "ellipsis_mask", elm);
  tfm_op_builder_set_attr_int(bl, "new_axis_mask", nam);
  tfm_op_builder_set_attr_int(bl, "shrink_axis_mask", sam);
  return tfm_op_builder_finish(bl, st);
}

static tensor_t *run_strided(tfm_op *op, tensor_t *x) {
  tensor_t *out[1] = {NULL};
  tensor_t *in[4] = {x, op->inputs[1]->const_value, op->inputs[2]->const_value, op->inputs[3]->const_value};
  ck_assert_int_eq(run(op, in, 4, out, NULL), TFM_OK);
  return out[0];
}

START_TEST(strided_slice_indexes_like_python) {
  tensor_t *x = iota(3, 4);
  tfm_output *xp = ph("x", 3, 4);
  /* x[1] */
  tfm_op *a = strided(xp, (int32_t[]){1}, (int32_t[]){2}, (int32_t[]){1}, 1, 0, 0, 0, 0, 1);
  OK();
  ck_assert_int_eq(tfm_output_rank(tfm_op_output(a, 0)), 1);
  tensor_t *r = run_strided(a, x);
  for (int j = 0; j < 4; j++) ck_assert_float_eq(TENSOR_F32(r)[j], 4 + j);
  tensor_unref(r);
  /* x[:, ::-2] -> columns 3, 1 */
  tfm_op *b = strided(xp, (int32_t[]){0, 0}, (int32_t[]){0, 0}, (int32_t[]){1, -2}, 2, 3, 3, 0, 0, 0);
  OK();
  ck_assert_int_eq(tfm_output_dim(tfm_op_output(b, 0), 1), 2);
  r = run_strided(b, x);
  for (int i = 0; i < 3; i++)
    for (int k = 0; k < 2; k++) ck_assert_float_eq(TENSOR_F32(r)[i * 2 + k], i * 4 + 3 - 2 * k);
  tensor_unref(r);
  /* x[..., None] -> [3,4,1] */
  tfm_op *c = strided(xp, (int32_t[]){0, 0}, (int32_t[]){0, 0}, (int32_t[]){1, 1}, 2, 0, 0, 1, 2, 0);
  OK();
  ck_assert_int_eq(tfm_output_rank(tfm_op_output(c, 0)), 3);
  ck_assert_int_eq(tfm_output_dim(tfm_op_output(c, 0), 2), 1);
  /* x[-1, 1:3] -> {9, 10}; an end past the dim is clamped */
  tfm_op *d = strided(xp, (int32_t[]){-1, 1}, (int32_t[]){0, 3}, (int32_t[]){1, 1}, 2, 0, 0, 0, 0, 1);
  OK();
  r = run_strided(d, x);
  ck_assert_int_eq(r->num_elements, 2);
  ck_assert_float_eq(TENSOR_F32(r)[0], 9);
  ck_assert_float_eq(TENSOR_F32(r)[1], 10);
  tensor_unref(r);
  tfm_op *e = strided(xp, (int32_t[]){1}, (int32_t[]){100}, (int32_t[]){1}, 1, 0, 0, 0, 0, 0);
  ck_assert_int_eq(tfm_output_dim(tfm_op_output(e, 0), 0), 2);
  /* x[5] is out of bounds at build time */
  ck_assert_ptr_null(strided(xp, (int32_t[]){5}, (int32_t[]){6}, (int32_t[]){1}, 1, 0, 0, 0, 0, 1));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  HAS(tfm_status_message(st), "[3,4]");
  /* the gradient scatters dy back into zeros of x's shape */
  tfm_status_clear(st);
  tfm_output *dy = ph("dy", 3, 2);
  output_t *dx[4];
  grad(b, (output_t *[]){dy}, dx);
  ck_assert_str_eq(dx[0]->node->type, "StridedSliceGrad");
  ck_assert_int_eq(dx[0]->dtype, TFM_FLOAT);
  ck_assert_int_eq(tfm_output_dim(dx[0], 1), 4);
  tensor_t *dyv = iota(3, 2), *out[1] = {NULL};
  node_t *sg = dx[0]->node;
  tensor_t *in[5] = {sg->inputs[0]->const_value, b->inputs[1]->const_value, b->inputs[2]->const_value,
                     b->inputs[3]->const_value, dyv};
  ck_assert_int_eq(run(sg, in, 5, out, NULL), TFM_OK);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++)
      ck_assert_float_eq(TENSOR_F32(out[0])[i * 4 + j], j % 2 == 1 ? i * 2 + (3 - j) / 2 : 0);
  tensor_unref(out[0]);
  tensor_unref(dyv);
  tensor_unref(x);
}
END_TEST


/* ---- allocation failures ---- */

/* Builds a bit of everything; returns the first error's code. */
static tfm_code build_sample(tfm_graph *gr, tfm_status *s) {
  tfm_output *x = tfm_placeholder(gr, TFM_FLOAT, (int64_t[]){-1, 6}, 2, "x", s);
  if (!x) return tfm_status_code(s);
  if (tfm_graph_push_name_scope(gr, "layer", s) != TFM_OK) return tfm_status_code(s);
  tfm_output *r = tfm_reshape(gr, x, (int64_t[]){-1, 2, 3}, 3, NULL, s);
  tfm_output *t = tfm_transpose(gr, r, NULL, 0, NULL, s); /* NULL r: r's error is kept */
  if (!t) return tfm_status_code(s);
  tfm_output *z = tfm_zeros(gr, (int64_t[]){2, 3}, 2, TFM_FLOAT, NULL, s);
  tfm_graph_pop_name_scope(gr, NULL);
  if (!z) return tfm_status_code(s);
  tfm_variable *v = tfm_variable_new(gr, z, 1, "v", s);
  if (!v) return tfm_status_code(s);
  if (tfm_graph_push_variable_scope(gr, "vs", 0, s) != TFM_OK) return tfm_status_code(s);
  tfm_variable *w = tfm_get_variable(gr, "w", TFM_FLOAT, (int64_t[]){3}, 1, TFM_INIT_ONES, 0, 0, -1, 1, s);
  tfm_graph_pop_variable_scope(gr, NULL);
  if (!w) return tfm_status_code(s);
  tfm_op *init = tfm_variable_initializer(v);
  if (tfm_graph_push_control_dependencies(gr, &init, 1, s) != TFM_OK) return tfm_status_code(s);
  tfm_output *a = tfm_assign_add(gr, v, z, NULL, s);
  tfm_graph_pop_control_dependencies(gr, NULL);
  if (!a) return tfm_status_code(s);
  if (tfm_graph_add_to_collection_bytes(gr, "notes", "abc", 3, s) != TFM_OK) return tfm_status_code(s);
  tfm_op_builder *b = tfm_op_builder_new(gr, "Squeeze", NULL, s);
  tfm_op_builder_add_input(b, t);
  tfm_op_builder_set_attr_int_list(b, "squeeze_dims", (int64_t[]){0}, 0);
  if (!tfm_op_builder_finish(b, s)) return tfm_status_code(s);
  if (!tfm_global_variables_initializer(gr, s)) return tfm_status_code(s);
  return tfm_status_code(s);
}

START_TEST(allocation_failures_are_reported_and_leak_nothing) {
  tfm_graph *probe = tfm_graph_new(st);
  uint64_t before = tfm_debug_alloc_count();
  ck_assert_int_eq(build_sample(probe, st), TFM_OK);
  uint64_t needed = tfm_debug_alloc_count() - before;
  int reference_ops = tfm_graph_num_ops(probe);
  tfm_graph_delete(probe);
  for (int sticky = 0; sticky <= 1; sticky++) {
    for (uint64_t nth = 1; nth <= needed; nth++) {
      tfm_graph *gr = tfm_graph_new(st);
      tfm_status_clear(st);
      tfm_debug_fail_alloc_after(nth, sticky);
      tfm_code code = build_sample(gr, st);
      tfm_debug_fail_alloc_after(0, 0);
      ck_assert_msg(code == TFM_OK || code == TFM_RESOURCE_EXHAUSTED, "alloc %llu: %s",
                    (unsigned long long)nth, tfm_status_message(st));
      /* whatever was added is consistent: every op is found under its name */
      for (int i = 0; i < tfm_graph_num_ops(gr); i++) {
        tfm_op *op = tfm_graph_op_at(gr, i);
        ck_assert_ptr_eq(tfm_graph_get_operation_by_name(gr, tfm_op_name(op), NULL), op);
      }
      if (code == TFM_OK) ck_assert_int_eq(tfm_graph_num_ops(gr), reference_ops);
      tfm_graph_delete(gr);
    }
  }
}
END_TEST


/* ---- names and attrs against a graph real TensorFlow 1.10 wrote ---- */

static char *read_dump(const char *rel) {
  const char *dir = getenv("TFM_SHARED_DIR");
  char path[1024];
  snprintf(path, sizeof path, "%s/testdata/tf/%s", dir ? dir : "../shared", rel);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  size_t got = fread(buf, 1, (size_t)n, f);
  buf[got] = '\0';
  fclose(f);
  return buf;
}

/* The dump's line for node `name`: "    <name>  <type>  in=[...] dev=''", then
 * its attrs line. Checks type and inputs of our op against it. */
static void check_against_dump(const char *dump, tfm_op *op) {
  char key[300];
  snprintf(key, sizeof key, "\n    %s ", tfm_op_name(op));
  const char *line = strstr(dump, key);
  ck_assert_msg(line != NULL, "TensorFlow's graph has no node '%s'", tfm_op_name(op));
  line += strlen(key);
  while (*line == ' ') line++;
  char type[64];
  sscanf(line, "%63s", type);
  ck_assert_str_eq(tfm_op_type(op), type);
  char want[600] = "in=[";
  for (int i = 0; i < tfm_op_num_inputs(op); i++) {
    char nm[256];
    tfm_output *in = tfm_op_input(op, i);
    if (tfm_output_index(in) == 0) snprintf(nm, sizeof nm, "%s'%s'", i ? ", " : "", oname(in));
    else snprintf(nm, sizeof nm, "%s'%s:%d'", i ? ", " : "", oname(in), tfm_output_index(in));
    strcat(want, nm);
  }
  strcat(want, "]");
  const char *in = strstr(line, "in=[");
  ck_assert_msg(in && strncmp(in, want, strlen(want)) == 0, "%s: ours %s, TensorFlow's %.80s",
                tfm_op_name(op), want, in ? in : "?");
}

START_TEST(names_match_a_graph_tensorflow_wrote) {
  char *dump = read_dump("houseprices_tf1.10/model.ckpt.meta.dump.txt");
  if (!dump) {
    fprintf(stderr, "skipped: ../shared/testdata/tf is absent\n");
    return;
  }
  /* The start of that program: three placeholders, Shape of the second, then
   * Variable = tf.Variable(tf.random_normal([8, 100])) and more of the same. */
  tfm_op *p0 = tfm_output_op(tfm_placeholder(g, TFM_BOOL, NULL, -1, NULL, st));
  tfm_op *p1 = tfm_output_op(tfm_placeholder(g, TFM_FLOAT, NULL, -1, NULL, st));
  tfm_op *p2 = tfm_output_op(tfm_placeholder(g, TFM_FLOAT, NULL, -1, NULL, st));
  tfm_op *shape = tfm_output_op(tfm_shape(g, tfm_op_output(p1, 0), NULL, st));
  OK();
  tfm_op *ops[] = {p0, p1, p2, shape};
  for (int i = 0; i < 4; i++) check_against_dump(dump, ops[i]);
  {
    for (int k = 0; k < 2; k++) {
      int64_t dims[2] = {8, 100};
      tfm_output *init = tfm_random_normal(g, k ? dims + 1 : dims, k ? 1 : 2, TFM_FLOAT, 0, 1, -1, NULL, st);
      tfm_variable *v = tfm_variable_new(g, init, 1, NULL, st);
      OK();
      tfm_op *mine[] = {tfm_output_op(init), tfm_output_op(tfm_op_input(tfm_output_op(init), 0)),
                        tfm_variable_op(v), tfm_variable_initializer(v),
                        tfm_output_op(tfm_variable_value(v))};
      for (int i = 0; i < 5; i++) check_against_dump(dump, mine[i]);
    }
    ck_assert_ptr_nonnull(tfm_graph_get_operation_by_name(g, "Variable_1/read", st));
  }
  /* attrs of the initializer as TF wrote them */
  const char *assign = strstr(dump, "\n    Variable/Assign ");
  ck_assert_ptr_nonnull(assign);
  const char *attrs = strstr(assign, "attrs:");
  HAS(attrs, "_class:list(s=[b'loc:@Variable'])");
  HAS(attrs, "use_locking:b=True; validate_shape:b=True");
  tfm_op *a = tfm_graph_get_operation_by_name(g, "Variable/Assign", st);
  int b;
  tfm_op_attr_bool(a, "use_locking", &b, st);
  ck_assert_int_eq(b, 1);
  tfm_op_attr_bool(a, "validate_shape", &b, st);
  ck_assert_int_eq(b, 1);
  ck_assert_str_eq(node_attr(a, "_class")->u.list.s[0].data, "loc:@Variable");
  free(dump);
}
END_TEST

static Suite *graph_suite(void) {
  Suite *s = suite_create("graph");
  TCase *names = tcase_create("names");
  tcase_add_checked_fixture(names, setup, teardown);
  tcase_add_test(names, op_names_are_made_unique_like_tensorflow);
  tcase_add_test(names, name_scopes_nest_and_are_uniquified);
  tcase_add_test(names, ops_and_scopes_share_one_namespace);
  tcase_add_test(names, helper_constants_live_in_the_op_scope);
  tcase_add_test(names, tensors_and_ops_are_found_by_name);
  tcase_add_test(names, lookup_errors_name_what_is_wrong);
  tcase_add_test(names, many_ops_stay_findable);
  suite_add_tcase(s, names);
  TCase *coll = tcase_create("collections_variables");
  tcase_add_checked_fixture(coll, setup, teardown);
  tcase_add_test(coll, collections_hold_every_kind_in_order);
  tcase_add_test(coll, variable_new_builds_the_ops_tensorflow_builds);
  tcase_add_test(coll, variable_needs_a_known_shape);
  tcase_add_test(coll, get_variable_shares_under_reuse);
  tcase_add_test(coll, get_variable_ignores_the_name_scope);
  tcase_add_test(coll, random_initializers_are_named_as_tensorflow_names_them);
  tcase_add_test(coll, seeds_follow_tensorflows_rule);
  tcase_add_test(coll, control_dependencies_apply_to_new_ops);
  tcase_add_test(coll, names_match_a_graph_tensorflow_wrote);
  suite_add_tcase(s, coll);
  TCase *ops = tcase_create("ops");
  tcase_add_checked_fixture(ops, setup, teardown);
  tcase_add_test(ops, shape_errors_name_both_ops_and_shapes);
  tcase_add_test(ops, shapes_are_inferred_at_build_time);
  tcase_add_test(ops, shape_ops_fold_known_shapes);
  tcase_add_test(ops, unknown_op_types_are_unimplemented);
  tcase_add_test(ops, attr_defaults_are_filled);
  tcase_add_test(ops, builder_checks_attrs_against_the_schema);
  tcase_add_test(ops, generic_builder_makes_any_registered_op);
  tcase_add_test(ops, null_inputs_chain_to_one_error);
  tcase_add_test(ops, default_graph_is_reset);
  tcase_add_test(ops, inputs_from_another_graph_are_refused);
  tcase_add_test(ops, transpose_and_tile_kernels_move_elements);
  tcase_add_test(ops, reshape_and_concat_kernels);
  tcase_add_test(ops, assign_kernels_update_the_variable_slot);
  tcase_add_test(ops, placeholder_kernel_asks_for_a_feed);
  tcase_add_test(ops, slice_pad_unpack_kernels_copy_boxes);
  tcase_add_test(ops, layout_gradients_route_dy_back);
  tcase_add_test(ops, strided_slice_indexes_like_python);
  tcase_add_test(ops, allocation_failures_are_reported_and_leak_nothing);
  suite_add_tcase(s, ops);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(graph_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
