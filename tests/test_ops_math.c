/* The math op family: shape inference and its error messages, forward values
 * against float64 scalar loops written here, and every gradient against central
 * finite differences (with inputs of known shapes, which takes the static
 * un-broadcasting path, and of unknown dims, which takes TensorFlow's dynamic
 * Shape/BroadcastGradientArgs/Sum/Reshape pattern). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "op_check.h"

#include "op_fixture.h"

/* ---- shape inference ---- */

START_TEST(matmul_inner_mismatch_names_both_inputs_and_shapes) {
  int64_t da[] = {8, 3}, db[] = {4, 2};
  tfm_output *a = tfm_placeholder(g, TFM_FLOAT, da, 2, "a", st);
  tfm_output *b = tfm_placeholder(g, TFM_FLOAT, db, 2, "b", st);
  ck_assert_ptr_null(tfm_matmul(g, a, b, 0, 0, "dense", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  HAS("MatMul 'dense'");
  HAS("[8,3] ('a:0')");
  HAS("[4,2] ('b:0')");
  /* the same shapes fit once b is transposed... no: [8,3] x [2,4]^T needs 3 == 4 */
  tfm_status_clear(st);
  int64_t dc[] = {2, 3};
  tfm_output *c = tfm_placeholder(g, TFM_FLOAT, dc, 2, "c", st);
  tfm_output *m = tfm_matmul(g, a, c, 0, 1, NULL, st);
  OK();
  ck_assert_int_eq(tfm_output_rank(m), 2);
  ck_assert_int_eq(tfm_output_dim(m, 0), 8);
  ck_assert_int_eq(tfm_output_dim(m, 1), 2);
}
END_TEST

START_TEST(add_of_incompatible_shapes_names_both_inputs) {
  int64_t d3 = 3, d4 = 4;
  tfm_output *a = tfm_placeholder(g, TFM_FLOAT, &d3, 1, "a", st);
  tfm_output *b = tfm_placeholder(g, TFM_FLOAT, &d4, 1, "b", st);
  ck_assert_ptr_null(tfm_add(g, a, b, NULL, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  HAS("AddV2 'AddV2'");
  HAS("[3] ('a:0')");
  HAS("[4] ('b:0')");
  /* A failed builder's NULL output propagates, keeping the first error. */
  ck_assert_ptr_null(tfm_mul(g, NULL, a, NULL, st));
  HAS("AddV2");
}
END_TEST

START_TEST(binary_ops_broadcast_shapes_and_pick_output_dtypes) {
  int64_t da[] = {2, 1, 3}, db[] = {-1, 1};
  tfm_output *a = tfm_placeholder(g, TFM_FLOAT, da, 3, "a", st);
  tfm_output *b = tfm_placeholder(g, TFM_FLOAT, db, 2, "b", st);
  tfm_output *s = tfm_sub(g, a, b, NULL, st);
  OK();
  ck_assert_int_eq(tfm_output_rank(s), 3);
  ck_assert_int_eq(tfm_output_dim(s, 0), 2);
  ck_assert_int_eq(tfm_output_dim(s, 1), -1);
  ck_assert_int_eq(tfm_output_dim(s, 2), 3);
  output_t *in[2] = {a, b};
  node_t *less = oc_op(g, "Less", in, 2, NULL, 0, st);
  ck_assert_int_eq(less->outputs[0].dtype, TFM_BOOL);
  tfm_output *i = tfm_placeholder(g, TFM_INT32, da, 3, "i", st);
  ck_assert_ptr_null(tfm_add(g, a, i, NULL, st));
  HAS("different dtypes");
  tfm_status_clear(st);
  ck_assert_ptr_null(tfm_exp(g, i, NULL, st));
  HAS("Exp is not defined for int32");
}
END_TEST

START_TEST(reductions_infer_shapes_from_constant_axes) {
  int64_t d[] = {2, 3, 4};
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, d, 3, "x", st);
  int32_t one = 1, last = -1, both[] = {0, 2}, bad = 3;
  tfm_output *s = tfm_reduce_sum(g, x, &one, 1, 0, NULL, st);
  OK();
  ck_assert_str_eq(tfm_op_name(tfm_output_op(s)), "Sum");
  ck_assert_ptr_nonnull(graph_find_op(g, "Sum/reduction_indices"));
  ck_assert_int_eq(tfm_output_rank(s), 2);
  ck_assert_int_eq(tfm_output_dim(s, 1), 4);
  tfm_output *k = tfm_reduce_mean(g, x, &last, 1, 1, "m", st);
  ck_assert_int_eq(tfm_output_rank(k), 3);
  ck_assert_int_eq(tfm_output_dim(k, 2), 1);
  tfm_output *mx = tfm_reduce_max(g, x, both, 2, 0, NULL, st);
  ck_assert_int_eq(tfm_output_rank(mx), 1);
  ck_assert_int_eq(tfm_output_dim(mx, 0), 3);
  tfm_output *all = tfm_reduce_min(g, x, NULL, 0, 0, NULL, st);
  OK();
  ck_assert_int_eq(tfm_output_rank(all), 0);
  ck_assert_ptr_null(tfm_reduce_prod(g, x, &bad, 1, 0, "p", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  HAS("Prod 'p'");
  HAS("axis 3 is out of range for an input of rank 3");
  /* Axes only known at run time: unknown rank, or the rank when keep_dims. */
  tfm_status_clear(st);
  int64_t one_dim = 1;
  output_t *axes = tfm_placeholder(g, TFM_INT32, &one_dim, 1, "axes", st);
  output_t *in[2] = {x, axes};
  node_t *u = oc_op(g, "Sum", in, 2, NULL, 0, st);
  ck_assert_int_eq(u->outputs[0].shape.rank, -1);
  attr_t keep[] = {ATTR_B_V("keep_dims", true)};
  node_t *uk = oc_op(g, "Sum", in, 2, keep, 1, st);
  ck_assert_int_eq(uk->outputs[0].shape.rank, 3);
  ck_assert_int_eq(uk->outputs[0].shape.dim[0], -1);
}
END_TEST

START_TEST(broadcast_gradient_args_folds_known_shapes) {
  int32_t sx[] = {2, 3, 4}, sy[] = {3, 1}, s1[] = {1};
  output_t *in[2] = {tfm_constant_i32(g, sx, 3, NULL, st), tfm_constant_i32(g, sy, 2, NULL, st)};
  node_t *n = oc_op(g, "BroadcastGradientArgs", in, 2, NULL, 0, st);
  tensor_t *r0 = n->outputs[0].const_value, *r1 = n->outputs[1].const_value;
  ck_assert_ptr_nonnull(r0);
  ck_assert_ptr_nonnull(r1);
  ck_assert_int_eq(r0->num_elements, 0);
  ck_assert_int_eq(r1->num_elements, 2); /* y is broadcast over axes 0 and 2 */
  ck_assert_int_eq(TENSOR_I32(r1)[0], 0);
  ck_assert_int_eq(TENSOR_I32(r1)[1], 2);
  /* Both size 1: listed for both (a harmless sum). */
  output_t *in1[2] = {tfm_constant_i32(g, s1, 1, NULL, st), tfm_constant_i32(g, s1, 1, NULL, st)};
  node_t *m = oc_op(g, "BroadcastGradientArgs", in1, 2, NULL, 0, st);
  ck_assert_int_eq(m->outputs[0].const_value->num_elements, 1);
  ck_assert_int_eq(m->outputs[1].const_value->num_elements, 1);
  /* The kernel agrees when the shapes come at run time. */
  int64_t three = 3, two = 2;
  output_t *p[2] = {tfm_placeholder(g, TFM_INT32, &three, 1, "px", st),
                    tfm_placeholder(g, TFM_INT32, &two, 1, "py", st)};
  node_t *k = oc_op(g, "BroadcastGradientArgs", p, 2, NULL, 0, st);
  double vx[] = {2, 3, 4}, vy[] = {3, 1};
  tensor_t *vals[2] = {oc_tensor(TFM_INT32, &three, 1, vx), oc_tensor(TFM_INT32, &two, 1, vy)};
  tensor_t *r = oc_run(g, p, vals, 2, &k->outputs[1], st);
  ck_assert_msg(r != NULL, "%s", tfm_status_message(st));
  ck_assert_int_eq(r->num_elements, 2);
  ck_assert_int_eq(TENSOR_I32(r)[0], 0);
  ck_assert_int_eq(TENSOR_I32(r)[1], 2);
  tensor_unref(r);
  tensor_unref(vals[0]);
  tensor_unref(vals[1]);
  /* Shapes that do not broadcast are reported. */
  int32_t bad[] = {5};
  output_t *in2[2] = {tfm_constant_i32(g, sx, 3, NULL, st), tfm_constant_i32(g, bad, 1, NULL, st)};
  ck_assert_ptr_null(graph_add_op(g, "BroadcastGradientArgs", "bga", false, in2, 2, NULL, 0, NULL, 0, st));
  HAS("do not broadcast");
}
END_TEST

/* ---- forward values ---- */

typedef struct binary_case {
  const char *type;
  double (*ref)(double, double);
} binary_case_t;

static double r_add(double a, double b) { return a + b; }
static double r_sub(double a, double b) { return a - b; }
static double r_mul(double a, double b) { return a * b; }
static double r_div(double a, double b) { return a / b; }
static double r_max(double a, double b) { return a > b ? a : b; }
static double r_min(double a, double b) { return a < b ? a : b; }
static double r_sqd(double a, double b) { return (a - b) * (a - b); }
static double r_floordiv(double a, double b) { return floor(a / b); }
static double r_floormod(double a, double b) { return a - floor(a / b) * b; }

static const binary_case_t binary_cases[] = {
    {"AddV2", r_add}, {"Add", r_add}, {"Sub", r_sub}, {"Mul", r_mul}, {"RealDiv", r_div},
    {"Div", r_div}, {"Pow", pow}, {"Maximum", r_max}, {"Minimum", r_min},
    {"SquaredDifference", r_sqd}, {"FloorDiv", r_floordiv}, {"FloorMod", r_floormod}};

/* a [2,3] op b [3] against a scalar loop, in float64 and float32. */
START_TEST(binary_ops_compute_broadcast_values) {
  const binary_case_t *c = &binary_cases[_i];
  int64_t da[] = {2, 3}, db[] = {3};
  double va[] = {0.5, 1.5, 2.25, -0.75, 3.0, 0.25}, vb[] = {1.25, -0.5, 2.0};
  if (strcmp(c->type, "Pow") == 0) va[3] = 0.75; /* real powers of positive bases */
  for (int f32 = 0; f32 < 2; f32++) {
    tfm_dtype dt = f32 ? TFM_FLOAT : TFM_DOUBLE;
    output_t *p[2] = {tfm_placeholder(g, dt, da, 2, NULL, st), tfm_placeholder(g, dt, db, 1, NULL, st)};
    node_t *n = oc_op(g, c->type, p, 2, NULL, 0, st);
    tensor_t *vals[2] = {oc_tensor(dt, da, 2, va), oc_tensor(dt, db, 1, vb)};
    tensor_t *r = oc_run(g, p, vals, 2, &n->outputs[0], st);
    ck_assert_msg(r != NULL, "%s: %s", c->type, tfm_status_message(st));
    ck_assert_int_eq(r->num_elements, 6);
    for (int i = 0; i < 6; i++) {
      double a = f32 ? (float)va[i] : va[i], b = f32 ? (float)vb[i % 3] : vb[i % 3];
      double want = c->ref(a, b), tol = f32 ? 1e-6 * (1 + fabs(want)) : 1e-14 * (1 + fabs(want));
      ck_assert_msg(fabs(oc_at(r, i) - want) <= tol, "%s %s [%d]: %.9g, want %.9g", c->type,
                    dtype_name(dt), i, oc_at(r, i), want);
    }
    tensor_unref(r);
    tensor_unref(vals[0]);
    tensor_unref(vals[1]);
  }
}
END_TEST

typedef struct unary_case {
  const char *type;
  double (*ref)(double);
  double lo, hi;
} unary_case_t;

static double r_neg(double x) { return -x; }
static double r_square(double x) { return x * x; }
static double r_rsqrt(double x) { return 1 / sqrt(x); }
static double r_recip(double x) { return 1 / x; }
static double r_sign(double x) { return x > 0 ? 1 : x < 0 ? -1 : 0; }

static const unary_case_t unary_cases[] = {
    {"Neg", r_neg, -2, 2},      {"Square", r_square, -2, 2}, {"Sqrt", sqrt, 0.1, 4},
    {"Rsqrt", r_rsqrt, 0.1, 4}, {"Exp", exp, -2, 2},          {"Log", log, 0.1, 4},
    {"Abs", fabs, -2, 2},       {"Sign", r_sign, -2, 2},      {"Reciprocal", r_recip, 0.5, 3}};

START_TEST(unary_ops_compute_values) {
  const unary_case_t *c = &unary_cases[_i];
  int64_t d[] = {2, 4};
  tensor_t *v = oc_random(d, 2, c->lo, c->hi, 3);
  output_t *x = oc_placeholder(g, d, 2, "x", st);
  node_t *n = oc_op(g, c->type, &x, 1, NULL, 0, st);
  tensor_t *r = oc_run(g, &x, &v, 1, &n->outputs[0], st);
  ck_assert_msg(r != NULL, "%s: %s", c->type, tfm_status_message(st));
  for (int i = 0; i < 8; i++) {
    double want = c->ref(TENSOR_F64(v)[i]);
    ck_assert_msg(fabs(oc_at(r, i) - want) <= 1e-13 * (1 + fabs(want)), "%s [%d]: %.15g, want %.15g",
                  c->type, i, oc_at(r, i), want);
  }
  tensor_unref(r);
  tensor_unref(v);
}
END_TEST

START_TEST(comparisons_add_n_cast_and_select_compute_values) {
  int64_t d = 4;
  double va[] = {1, 2, 3, -2.7}, vb[] = {2, 2, 1, 0};
  output_t *a = tfm_placeholder(g, TFM_DOUBLE, &d, 1, "a", st);
  output_t *b = tfm_placeholder(g, TFM_DOUBLE, &d, 1, "b", st);
  output_t *p[2] = {a, b};
  tensor_t *vals[2] = {oc_tensor(TFM_DOUBLE, &d, 1, va), oc_tensor(TFM_DOUBLE, &d, 1, vb)};
  const char *cmp[] = {"Less", "LessEqual", "Greater", "GreaterEqual", "Equal", "NotEqual"};
  for (int k = 0; k < 6; k++) {
    node_t *n = oc_op(g, cmp[k], p, 2, NULL, 0, st);
    tensor_t *r = oc_run(g, p, vals, 2, &n->outputs[0], st);
    ck_assert_msg(r != NULL, "%s", tfm_status_message(st));
    ck_assert_int_eq(r->dtype, TFM_BOOL);
    for (int i = 0; i < 4; i++) {
      double x = va[i], y = vb[i];
      bool want = k == 0 ? x < y : k == 1 ? x <= y : k == 2 ? x > y : k == 3 ? x >= y : k == 4 ? x == y : x != y;
      ck_assert_msg(TENSOR_BOOL(r)[i] == want, "%s [%d]", cmp[k], i);
    }
    tensor_unref(r);
  }
  output_t *three[3] = {a, b, a};
  tfm_output *sum = tfm_add_n(g, three, 3, NULL, st);
  tensor_t *r = oc_run(g, p, vals, 2, sum, st);
  ck_assert_msg(r != NULL, "%s", tfm_status_message(st));
  for (int i = 0; i < 4; i++) ck_assert_double_eq_tol(oc_at(r, i), 2 * va[i] + vb[i], 1e-15);
  tensor_unref(r);
  tfm_output *ci = tfm_cast(g, a, TFM_INT32, NULL, st);
  r = oc_run(g, p, vals, 2, ci, st);
  ck_assert_int_eq(r->dtype, TFM_INT32);
  ck_assert_int_eq(TENSOR_I32(r)[3], -2); /* truncates toward zero */
  ck_assert_int_eq(TENSOR_I32(r)[2], 3);
  tensor_unref(r);
  output_t *lt[2] = {a, b};
  output_t *cond = &oc_op(g, "Less", lt, 2, NULL, 0, st)->outputs[0];
  output_t *sel_in[3] = {cond, a, b};
  attr_t t[] = {ATTR_TYPE_V("T", TFM_DOUBLE)};
  node_t *sel = oc_op(g, "Select", sel_in, 3, t, 1, st);
  r = oc_run(g, p, vals, 2, &sel->outputs[0], st);
  for (int i = 0; i < 4; i++) ck_assert_double_eq(oc_at(r, i), va[i] < vb[i] ? va[i] : vb[i]);
  tensor_unref(r);
  tensor_unref(vals[0]);
  tensor_unref(vals[1]);
}
END_TEST

/* Sum/Mean/Max/Min/Prod of x [2,3,4] over each axis set, against loops. */
START_TEST(reductions_compute_values) {
  int64_t d[] = {2, 3, 4};
  tensor_t *v = oc_random(d, 3, -1, 2, 11);
  const double *x = TENSOR_F64(v);
  output_t *p = oc_placeholder(g, d, 3, "x", st);
  const char *types[] = {"Sum", "Mean", "Max", "Min", "Prod"};
  tfm_output *(*builders[])(tfm_graph *, tfm_output *, const int32_t *, int, int, const char *,
                            tfm_status *) = {tfm_reduce_sum, tfm_reduce_mean, tfm_reduce_max,
                                             tfm_reduce_min, tfm_reduce_prod};
  int32_t axes_sets[][2] = {{1, 0}, {0, 2}, {-1, 0}};
  int n_axes[] = {1, 2, 1};
  for (int k = 0; k < 5; k++) {
    for (int a = 0; a < 3; a++) {
      tfm_output *o = builders[k](g, p, axes_sets[a], n_axes[a], a == 2, NULL, st);
      tensor_t *r = oc_run(g, &p, &v, 1, o, st);
      ck_assert_msg(r != NULL, "%s: %s", types[k], tfm_status_message(st));
      bool red[3] = {false, false, false};
      for (int j = 0; j < n_axes[a]; j++) red[(axes_sets[a][j] + 3) % 3] = true;
      /* Walk every output position; gather its inputs in row-major order. */
      int64_t out_i = 0;
      for (int i0 = 0; i0 < (red[0] ? 1 : 2); i0++)
        for (int i1 = 0; i1 < (red[1] ? 1 : 3); i1++)
          for (int i2 = 0; i2 < (red[2] ? 1 : 4); i2++) {
            double acc = k == 4 ? 1 : k == 2 ? -INFINITY : k == 3 ? INFINITY : 0;
            int cnt = 0;
            for (int j0 = 0; j0 < 2; j0++)
              for (int j1 = 0; j1 < 3; j1++)
                for (int j2 = 0; j2 < 4; j2++) {
                  if ((!red[0] && j0 != i0) || (!red[1] && j1 != i1) || (!red[2] && j2 != i2)) continue;
                  double e = x[(j0 * 3 + j1) * 4 + j2];
                  cnt++;
                  if (k <= 1) acc += e;
                  else if (k == 2) acc = e > acc ? e : acc;
                  else if (k == 3) acc = e < acc ? e : acc;
                  else acc *= e;
                }
            if (k == 1) acc /= cnt;
            ck_assert_msg(fabs(oc_at(r, out_i) - acc) <= 1e-13 * (1 + fabs(acc)), "%s axes %d [%lld]: %g want %g",
                          types[k], a, (long long)out_i, oc_at(r, out_i), acc);
            out_i++;
          }
      ck_assert_int_eq(out_i, r->num_elements);
      tensor_unref(r);
    }
  }
  tensor_unref(v);
}
END_TEST

START_TEST(matmul_computes_all_transpose_cases) {
  /* op(a) [3,4] x op(b) [4,2] */
  tensor_t *a = oc_random((int64_t[]){3, 4}, 2, -1, 1, 1), *b = oc_random((int64_t[]){4, 2}, 2, -1, 1, 2);
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      int64_t sa[2] = {ta ? 4 : 3, ta ? 3 : 4}, sb[2] = {tb ? 2 : 4, tb ? 4 : 2};
      tensor_t *av = oc_tensor(TFM_DOUBLE, sa, 2, NULL), *bv = oc_tensor(TFM_DOUBLE, sb, 2, NULL);
      for (int i = 0; i < 3; i++)
        for (int k = 0; k < 4; k++) TENSOR_F64(av)[ta ? k * 3 + i : i * 4 + k] = TENSOR_F64(a)[i * 4 + k];
      for (int k = 0; k < 4; k++)
        for (int j = 0; j < 2; j++) TENSOR_F64(bv)[tb ? j * 4 + k : k * 2 + j] = TENSOR_F64(b)[k * 2 + j];
      output_t *p[2] = {oc_placeholder(g, sa, 2, NULL, st), oc_placeholder(g, sb, 2, NULL, st)};
      tfm_output *m = tfm_matmul(g, p[0], p[1], ta, tb, NULL, st);
      OK();
      tensor_t *vals[2] = {av, bv};
      tensor_t *r = oc_run(g, p, vals, 2, m, st);
      ck_assert_msg(r != NULL, "%s", tfm_status_message(st));
      for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++) {
          double want = 0;
          for (int k = 0; k < 4; k++) want += TENSOR_F64(a)[i * 4 + k] * TENSOR_F64(b)[k * 2 + j];
          ck_assert_msg(fabs(oc_at(r, i * 2 + j) - want) < 1e-13, "ta %d tb %d [%d,%d]", ta, tb, i, j);
        }
      tensor_unref(r);
      tensor_unref(av);
      tensor_unref(bv);
    }
  tensor_unref(a);
  tensor_unref(b);
}
END_TEST

START_TEST(arg_max_and_min_return_first_extreme_indices) {
  int64_t d[] = {2, 3};
  double v[] = {1, 5, 5, -1, -3, 0};
  tensor_t *t = oc_tensor(TFM_DOUBLE, d, 2, v);
  output_t *x = oc_placeholder(g, d, 2, "x", st);
  int32_t ax = 1;
  output_t *in[2] = {x, tfm_constant_i32(g, &ax, 1, NULL, st)};
  in[1] = tfm_reshape(g, in[1], NULL, 0, NULL, st); /* a scalar axis */
  node_t *amax = oc_op(g, "ArgMax", in, 2, NULL, 0, st);
  attr_t i32[] = {ATTR_TYPE_V("output_type", TFM_INT32)};
  node_t *amin = oc_op(g, "ArgMin", in, 2, i32, 1, st);
  ck_assert_int_eq(amax->outputs[0].dtype, TFM_INT64);
  ck_assert_int_eq(amax->outputs[0].shape.rank, 1);
  tensor_t *r = oc_run(g, &x, &t, 1, &amax->outputs[0], st);
  ck_assert_msg(r != NULL, "%s", tfm_status_message(st));
  ck_assert_int_eq(TENSOR_I64(r)[0], 1);
  ck_assert_int_eq(TENSOR_I64(r)[1], 2);
  tensor_unref(r);
  r = oc_run(g, &x, &t, 1, &amin->outputs[0], st);
  ck_assert_int_eq(r->dtype, TFM_INT32);
  ck_assert_int_eq(TENSOR_I32(r)[0], 0);
  ck_assert_int_eq(TENSOR_I32(r)[1], 1);
  tensor_unref(r);
  tensor_unref(t);
  ck_assert(amax->def->flags & OP_NO_GRADIENT);
}
END_TEST

/* ---- gradients ---- */

typedef struct grad_case {
  const char *type;
  double lo_a, hi_a, lo_b, hi_b;
} grad_case_t;

static const grad_case_t binary_grad_cases[] = {
    {"AddV2", -2, 2, -2, 2},        {"Add", -2, 2, -2, 2},       {"Sub", -2, 2, -2, 2},
    {"Mul", -2, 2, -2, 2},          {"RealDiv", -2, 2, 0.5, 2},  {"Div", -2, 2, -2, -0.5},
    {"Pow", 0.5, 2, -1.5, 1.5},     {"Maximum", -2, 2, -2, 2},   {"Minimum", -2, 2, -2, 2},
    {"SquaredDifference", -2, 2, -2, 2}, {"FloorMod", 2.05, 2.15, 0.95, 1.0}};

/* Checks one binary op's gradient with a [2,3] and b [3] (static shapes), then
 * with the same values through placeholders of unknown dims (dynamic). */
START_TEST(binary_op_gradients_match_finite_differences) {
  const grad_case_t *c = &binary_grad_cases[_i];
  int64_t da[] = {2, 3}, db[] = {3};
  for (int dynamic = 0; dynamic < 2; dynamic++) {
    graph_t *gr = graph_new(st);
    output_t *p[2];
    if (dynamic) {
      p[0] = oc_placeholder_dynamic(gr, 2, "a", st);
      p[1] = oc_placeholder_dynamic(gr, 1, "b", st);
    } else {
      p[0] = oc_placeholder(gr, da, 2, "a", st);
      p[1] = oc_placeholder(gr, db, 1, "b", st);
    }
    node_t *n = oc_op(gr, c->type, p, 2, NULL, 0, st);
    tensor_t *vals[2] = {oc_random(da, 2, c->lo_a, c->hi_a, 5), oc_random(db, 1, c->lo_b, c->hi_b, 6)};
    oc_check_gradient(gr, n, 0, p, vals, 2, 1e-6);
    bool has_bga = false;
    for (int i = 0; i < gr->n_nodes; i++) has_bga |= strcmp(gr->nodes[i]->type, "BroadcastGradientArgs") == 0;
    ck_assert_msg(has_bga == (dynamic != 0), "%s: dynamic %d but BroadcastGradientArgs %d", c->type,
                  dynamic, has_bga);
    tensor_unref(vals[0]);
    tensor_unref(vals[1]);
    graph_delete(gr);
  }
}
END_TEST

static const unary_case_t unary_grad_cases[] = {
    {"Neg", NULL, -2, 2},    {"Square", NULL, -2, 2},   {"Sqrt", NULL, 0.2, 4},
    {"Rsqrt", NULL, 0.2, 4}, {"Exp", NULL, -2, 2},      {"Log", NULL, 0.2, 4},
    {"Abs", NULL, 0.2, 2},   {"Sign", NULL, 0.2, 2},    {"Reciprocal", NULL, 0.5, 3}};

START_TEST(unary_op_gradients_match_finite_differences) {
  const unary_case_t *c = &unary_grad_cases[_i];
  int64_t d[] = {2, 3};
  output_t *x = oc_placeholder(g, d, 2, "x", st);
  node_t *n = oc_op(g, c->type, &x, 1, NULL, 0, st);
  tensor_t *v = oc_random(d, 2, c->lo, c->hi, 9);
  /* Abs and Sign: both signs, away from the kink at 0. */
  if (strcmp(c->type, "Abs") == 0 || strcmp(c->type, "Sign") == 0)
    for (int i = 0; i < 6; i += 2) TENSOR_F64(v)[i] = -TENSOR_F64(v)[i];
  oc_check_gradient(g, n, 0, &x, &v, 1, 1e-6);
  tensor_unref(v);
}
END_TEST

START_TEST(sqrt_grad_op_has_a_gradient_too) {
  int64_t d[] = {5};
  output_t *p[2] = {oc_placeholder(g, d, 1, "y", st), oc_placeholder(g, d, 1, "dy", st)};
  node_t *n = oc_op(g, "SqrtGrad", p, 2, NULL, 0, st);
  tensor_t *vals[2] = {oc_random(d, 1, 0.5, 2, 1), oc_random(d, 1, -1, 1, 2)};
  oc_check_gradient(g, n, 0, p, vals, 2, 1e-6);
  tensor_unref(vals[0]);
  tensor_unref(vals[1]);
}
END_TEST

START_TEST(add_n_and_select_gradients_match_finite_differences) {
  int64_t d[] = {2, 2};
  output_t *p[3] = {oc_placeholder(g, d, 2, "a", st), oc_placeholder(g, d, 2, "b", st),
                    oc_placeholder(g, d, 2, "c", st)};
  attr_t nattr[] = {ATTR_I_V("N", 3)};
  node_t *n = oc_op(g, "AddN", p, 3, nattr, 1, st);
  tensor_t *vals[3] = {oc_random(d, 2, -1, 1, 1), oc_random(d, 2, -1, 1, 2), oc_random(d, 2, -1, 1, 3)};
  oc_check_gradient(g, n, 0, p, vals, 3, 1e-6);
  double cv[] = {1, 0, 0, 1};
  tensor_t *ct = oc_tensor(TFM_DOUBLE, d, 2, cv);
  output_t *cond = tfm_cast(g, tfm_constant(g, ct, NULL, st), TFM_BOOL, NULL, st);
  tensor_unref(ct);
  output_t *sin[3] = {cond, p[0], p[1]};
  attr_t t[] = {ATTR_TYPE_V("T", TFM_DOUBLE)};
  node_t *s = oc_op(g, "Select", sin, 3, t, 1, st);
  oc_check_gradient(g, s, 0, p, vals, 2, 1e-6);
  for (int i = 0; i < 3; i++) tensor_unref(vals[i]);
}
END_TEST

START_TEST(cast_passes_gradients_between_floats_only) {
  int64_t d[] = {3};
  output_t *x = oc_placeholder(g, d, 1, "x", st);
  tfm_output *f = tfm_cast(g, x, TFM_FLOAT, NULL, st);
  tfm_output *i = tfm_cast(g, x, TFM_INT32, NULL, st);
  OK();
  output_t *dyf = tfm_placeholder(g, TFM_FLOAT, d, 1, "dyf", st);
  output_t *dyi = tfm_placeholder(g, TFM_INT32, d, 1, "dyi", st);
  output_t *dx[1] = {NULL};
  grad_ctx_t gc = {.g = g, .op = f->node, .dy = &dyf, .n_dy = 1, .dx = dx, .n_dx = 1, .st = st};
  ck_assert_int_eq(f->node->def->gradient(&gc), TFM_OK);
  ck_assert_ptr_nonnull(dx[0]);
  ck_assert_int_eq(dx[0]->dtype, TFM_DOUBLE); /* cast back to the source type */
  double v[] = {0.5, -1.25, 3};
  tensor_t *dv = oc_tensor(TFM_FLOAT, d, 1, v);
  tensor_t *r = oc_run(g, &dyf, &dv, 1, dx[0], st);
  for (int k = 0; k < 3; k++) ck_assert_double_eq(oc_at(r, k), v[k]);
  tensor_unref(r);
  tensor_unref(dv);
  dx[0] = NULL;
  gc = (grad_ctx_t){.g = g, .op = i->node, .dy = &dyi, .n_dy = 1, .dx = dx, .n_dx = 1, .st = st};
  ck_assert_int_eq(i->node->def->gradient(&gc), TFM_OK);
  ck_assert_ptr_null(dx[0]);
}
END_TEST

typedef struct reduce_grad_case {
  const char *type;
  int32_t axes[2];
  int n_axes;
  bool keep;
} reduce_grad_case_t;

static const reduce_grad_case_t reduce_grad_cases[] = {
    {"Sum", {1}, 1, false},   {"Sum", {0, 2}, 2, true}, {"Sum", {-1}, 1, false},
    {"Mean", {1}, 1, false},  {"Mean", {0, 2}, 2, false}, {"Mean", {0, 1}, 2, true},
    {"Max", {1}, 1, false},   {"Max", {0, 2}, 2, true}, {"Min", {2}, 1, false},
    {"Min", {0, 1}, 2, false}};

/* x [2,3,4], static shape then [?,3,?] (the dynamic tiling path). */
START_TEST(reduction_gradients_match_finite_differences) {
  const reduce_grad_case_t *c = &reduce_grad_cases[_i];
  int64_t d[] = {2, 3, 4}, dd[] = {-1, 3, -1};
  for (int dynamic = 0; dynamic < 2; dynamic++) {
    graph_t *gr = graph_new(st);
    output_t *x = oc_placeholder(gr, dynamic ? dd : d, 3, "x", st);
    output_t *in[2] = {x, tfm_constant_i32(gr, c->axes, c->n_axes, NULL, st)};
    attr_t keep[] = {ATTR_B_V("keep_dims", c->keep)};
    node_t *n = oc_op(gr, c->type, in, 2, keep, 1, st);
    tensor_t *v = oc_random(d, 3, -2, 2, 13); /* distinct values: no ties for Max/Min */
    oc_check_gradient(gr, n, 0, &x, &v, 1, 1e-6);
    tensor_unref(v);
    graph_delete(gr);
  }
}
END_TEST

/* Axes known only at run time (a Cast, which is not folded) and an input of
 * unknown rank: the mask of reduced axes is computed in the graph. */
START_TEST(reduction_gradients_with_run_time_axes_and_rank) {
  const char *types[] = {"Sum", "Mean", "Max", "Min"};
  int64_t d[] = {2, 3, 4}, two = 2;
  double axes[] = {-1, 0};
  for (int k = 0; k < 4; k++)
    for (int keep = 0; keep < 2; keep++) {
      graph_t *gr = graph_new(st);
      output_t *x = oc_placeholder(gr, NULL, -1, "x", st);
      tensor_t *at = oc_tensor(TFM_INT64, &two, 1, axes);
      output_t *ax = tfm_cast(gr, tfm_constant(gr, at, "axes", st), TFM_INT32, NULL, st);
      tensor_unref(at);
      output_t *in[2] = {x, ax};
      attr_t kd[] = {ATTR_B_V("keep_dims", keep)};
      node_t *n = oc_op(gr, types[k], in, 2, kd, 1, st);
      ck_assert_int_eq(n->outputs[0].shape.rank, -1);
      tensor_t *v = oc_random(d, 3, -2, 2, 17);
      oc_check_gradient(gr, n, 0, &x, &v, 1, 1e-6);
      tensor_unref(v);
      graph_delete(gr);
    }
}
END_TEST

START_TEST(matmul_gradients_match_finite_differences) {
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      graph_t *gr = graph_new(st);
      int64_t sa[2] = {ta ? 4 : 3, ta ? 3 : 4}, sb[2] = {tb ? 2 : 4, tb ? 4 : 2};
      output_t *p[2] = {oc_placeholder(gr, sa, 2, "a", st), oc_placeholder(gr, sb, 2, "b", st)};
      attr_t attrs[] = {ATTR_B_V("transpose_a", ta), ATTR_B_V("transpose_b", tb)};
      node_t *n = oc_op(gr, "MatMul", p, 2, attrs, 2, st);
      tensor_t *vals[2] = {oc_random(sa, 2, -1, 1, 21), oc_random(sb, 2, -1, 1, 22)};
      oc_check_gradient(gr, n, 0, p, vals, 2, 1e-6);
      tensor_unref(vals[0]);
      tensor_unref(vals[1]);
      graph_delete(gr);
    }
}
END_TEST

/* x [2,3,4] (or adjoint) x y [2,4,2] (or adjoint): values against loops, gradients. */
START_TEST(batch_matmul_computes_and_differentiates_every_adjoint_case) {
  tensor_t *a = oc_random((int64_t[]){2, 3, 4}, 3, -1, 1, 31), *b = oc_random((int64_t[]){2, 4, 2}, 3, -1, 1, 32);
  for (int ax = 0; ax < 2; ax++)
    for (int ay = 0; ay < 2; ay++) {
      graph_t *gr = graph_new(st);
      int64_t sa[3] = {2, ax ? 4 : 3, ax ? 3 : 4}, sb[3] = {2, ay ? 2 : 4, ay ? 4 : 2};
      tensor_t *av = oc_tensor(TFM_DOUBLE, sa, 3, NULL), *bv = oc_tensor(TFM_DOUBLE, sb, 3, NULL);
      for (int n = 0; n < 2; n++) {
        for (int i = 0; i < 3; i++)
          for (int k = 0; k < 4; k++)
            TENSOR_F64(av)[n * 12 + (ax ? k * 3 + i : i * 4 + k)] = TENSOR_F64(a)[n * 12 + i * 4 + k];
        for (int k = 0; k < 4; k++)
          for (int j = 0; j < 2; j++)
            TENSOR_F64(bv)[n * 8 + (ay ? j * 4 + k : k * 2 + j)] = TENSOR_F64(b)[n * 8 + k * 2 + j];
      }
      output_t *p[2] = {oc_placeholder(gr, sa, 3, "a", st), oc_placeholder(gr, sb, 3, "b", st)};
      attr_t attrs[] = {ATTR_B_V("adj_x", ax), ATTR_B_V("adj_y", ay)};
      node_t *m = oc_op(gr, "BatchMatMul", p, 2, attrs, 2, st);
      ck_assert_int_eq(m->outputs[0].shape.dim[1], 3);
      ck_assert_int_eq(m->outputs[0].shape.dim[2], 2);
      tensor_t *vals[2] = {av, bv};
      tensor_t *r = oc_run(gr, p, vals, 2, &m->outputs[0], st);
      ck_assert_msg(r != NULL, "%s", tfm_status_message(st));
      for (int n = 0; n < 2; n++)
        for (int i = 0; i < 3; i++)
          for (int j = 0; j < 2; j++) {
            double want = 0;
            for (int k = 0; k < 4; k++) want += TENSOR_F64(a)[n * 12 + i * 4 + k] * TENSOR_F64(b)[n * 8 + k * 2 + j];
            ck_assert_msg(fabs(oc_at(r, n * 6 + i * 2 + j) - want) < 1e-13, "adj %d %d [%d,%d,%d]", ax, ay, n, i, j);
          }
      tensor_unref(r);
      oc_check_gradient(gr, m, 0, p, vals, 2, 1e-6);
      tensor_unref(av);
      tensor_unref(bv);
      graph_delete(gr);
    }
  tensor_unref(a);
  tensor_unref(b);
  /* Batch dims must agree. */
  output_t *p[2] = {oc_placeholder(g, (int64_t[]){2, 3, 4}, 3, "x", st), oc_placeholder(g, (int64_t[]){3, 4, 2}, 3, "y", st)};
  ck_assert_ptr_null(graph_add_op(g, "BatchMatMul", "bmm", false, p, 2, NULL, 0, NULL, 0, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "[2,3,4] ('x:0') x [3,4,2] ('y:0')"));
}
END_TEST

START_TEST(argmax_builder_names_its_dimension) {
  int64_t d[] = {2, 3};
  output_t *x = oc_placeholder(g, d, 2, "x", st);
  tfm_output *a = tfm_argmax(g, x, -1, NULL, st);
  OK();
  ck_assert_str_eq(tfm_op_name(tfm_output_op(a)), "ArgMax");
  ck_assert_ptr_nonnull(graph_find_op(g, "ArgMax/dimension"));
  ck_assert_int_eq(tfm_output_dtype(a), TFM_INT64);
  ck_assert_int_eq(tfm_output_rank(a), 1);
  ck_assert_int_eq(tfm_output_dim(a, 0), 2);
}
END_TEST

START_TEST(non_differentiable_ops_are_marked) {
  const char *none[] = {"Less", "LessEqual", "Greater", "GreaterEqual", "Equal", "NotEqual",
                        "ArgMax", "ArgMin", "FloorDiv", "BroadcastGradientArgs"};
  for (int i = 0; i < 10; i++) {
    const op_def_t *d = op_registry_find(none[i]);
    ck_assert_msg(d != NULL, "%s not registered", none[i]);
    ck_assert_msg(d->flags & OP_NO_GRADIENT, "%s should have no gradient", none[i]);
    ck_assert_ptr_null(d->gradient);
  }
}
END_TEST

static Suite *ops_math_suite(void) {
  Suite *s = suite_create("ops_math");
  TCase *shapes = tcase_create("shapes");
  tcase_add_checked_fixture(shapes, setup, teardown);
  tcase_add_test(shapes, matmul_inner_mismatch_names_both_inputs_and_shapes);
  tcase_add_test(shapes, add_of_incompatible_shapes_names_both_inputs);
  tcase_add_test(shapes, binary_ops_broadcast_shapes_and_pick_output_dtypes);
  tcase_add_test(shapes, reductions_infer_shapes_from_constant_axes);
  tcase_add_test(shapes, broadcast_gradient_args_folds_known_shapes);
  suite_add_tcase(s, shapes);
  TCase *fwd = tcase_create("forward");
  tcase_add_checked_fixture(fwd, setup, teardown);
  tcase_add_loop_test(fwd, binary_ops_compute_broadcast_values, 0,
                      (int)(sizeof binary_cases / sizeof *binary_cases));
  tcase_add_loop_test(fwd, unary_ops_compute_values, 0, (int)(sizeof unary_cases / sizeof *unary_cases));
  tcase_add_test(fwd, comparisons_add_n_cast_and_select_compute_values);
  tcase_add_test(fwd, reductions_compute_values);
  tcase_add_test(fwd, matmul_computes_all_transpose_cases);
  tcase_add_test(fwd, arg_max_and_min_return_first_extreme_indices);
  tcase_add_test(fwd, argmax_builder_names_its_dimension);
  suite_add_tcase(s, fwd);
  TCase *grad = tcase_create("gradients");
  tcase_add_checked_fixture(grad, setup, teardown);
  tcase_add_loop_test(grad, binary_op_gradients_match_finite_differences, 0,
                      (int)(sizeof binary_grad_cases / sizeof *binary_grad_cases));
  tcase_add_loop_test(grad, unary_op_gradients_match_finite_differences, 0,
                      (int)(sizeof unary_grad_cases / sizeof *unary_grad_cases));
  tcase_add_test(grad, sqrt_grad_op_has_a_gradient_too);
  tcase_add_test(grad, add_n_and_select_gradients_match_finite_differences);
  tcase_add_test(grad, cast_passes_gradients_between_floats_only);
  tcase_add_loop_test(grad, reduction_gradients_match_finite_differences, 0,
                      (int)(sizeof reduce_grad_cases / sizeof *reduce_grad_cases));
  tcase_add_test(grad, reduction_gradients_with_run_time_axes_and_rank);
  tcase_add_test(grad, matmul_gradients_match_finite_differences);
  tcase_add_test(grad, batch_matmul_computes_and_differentiates_every_adjoint_case);
  tcase_add_test(grad, non_differentiable_ops_are_marked);
  suite_add_tcase(s, grad);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(ops_math_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
