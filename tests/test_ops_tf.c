/* ops_tf: the helper ops that graphs written by TensorFlow 1.x's Python contain
 * (gradient plumbing, tf.cond, index shuffles), checked against values derived by hand
 * or computed here in float64, gradients against central finite differences; every op
 * type in TensorFlow's reference graphs is registered; docs/ops.md lists the registry. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "op_check.h"
#include "ops/build.h"
#include "tfmini/io.h"
#include "tfmini/train.h"

#include "op_fixture.h"

static output_t *const_f64(const int64_t *dims, int rank, const double *v) {
  tensor_t *t = oc_tensor(TFM_DOUBLE, dims, rank, v);
  output_t *o = tfm_constant(g, t, NULL, st);
  tensor_unref(t);
  OK();
  return o;
}

static output_t *const_i32(const int64_t *dims, int rank, const double *v) {
  tensor_t *t = oc_tensor(TFM_INT32, dims, rank, v);
  output_t *o = tfm_constant(g, t, NULL, st);
  tensor_unref(t);
  OK();
  return o;
}

static tensor_t *run1(output_t *y) {
  tensor_t *v = oc_run(g, NULL, NULL, 0, y, st);
  ck_assert_msg(v != NULL, "%s", tfm_status_message(st));
  return v;
}

static void expect_values(const tensor_t *t, const double *want, int64_t n) {
  ck_assert_int_eq(t->num_elements, n);
  for (int64_t i = 0; i < n; i++)
    ck_assert_msg(fabs(oc_at(t, i) - want[i]) <= 1e-12 * (1 + fabs(want[i])), "element %lld: %.17g, want %.17g",
                  (long long)i, oc_at(t, i), want[i]);
}

/* ---- shapes, placeholders with defaults, snapshots ---- */

START_TEST(shape_n_gives_every_shape) {
  int64_t d1[] = {2, 3}, d2[] = {4};
  output_t *in[2] = {oc_placeholder_dynamic(g, 2, "a", st), oc_placeholder(g, d2, 1, "b", st)};
  attr_t n2 = ATTR_I_V("N", 2);
  node_t *n = oc_op(g, "ShapeN", in, 2, &n2, 1, st);
  ck_assert_int_eq(n->n_outputs, 2);
  ck_assert_ptr_nonnull(n->outputs[1].const_value); /* [4] known at build time */
  tensor_t *va = oc_tensor(TFM_DOUBLE, d1, 2, NULL), *vb = oc_tensor(TFM_DOUBLE, d2, 1, NULL);
  tensor_t *vals[2] = {va, vb};
  tensor_t *s0 = oc_run(g, in, vals, 2, &n->outputs[0], st);
  OK();
  expect_values(s0, (double[]){2, 3}, 2);
  ck_assert_int_eq(s0->dtype, TFM_INT32);
  tensor_unref(s0);
  tensor_unref(va);
  tensor_unref(vb);
  attr_t bad = ATTR_I_V("N", 3);
  ck_assert_ptr_null(graph_add_op(g, "ShapeN", NULL, false, in, 2, &bad, 1, NULL, 0, st));
  HAS("N = 3 but 2 inputs");
}
END_TEST

START_TEST(placeholder_with_default_is_fed_or_default) {
  int64_t d[] = {2};
  output_t *def = const_f64(d, 1, (double[]){1.5, -2});
  int64_t unknown = -1;
  shape_t s;
  ck_assert_int_eq(shape_make(&unknown, 1, true, &s, "t", st), TFM_OK);
  attr_t attrs[] = {ATTR_TYPE_V("dtype", TFM_DOUBLE), ATTR_SHAPE_V("shape", s)};
  node_t *p = oc_op(g, "PlaceholderWithDefault", &def, 1, attrs, 2, st);
  ck_assert_int_eq(p->outputs[0].shape.dim[0], -1);
  ck_assert_ptr_null(p->outputs[0].const_value); /* a feed may replace it */
  output_t *y = tfm_mul(g, &p->outputs[0], &p->outputs[0], NULL, st);
  tensor_t *v = run1(y);
  expect_values(v, (double[]){2.25, 4}, 2);
  tensor_unref(v);
  int64_t d3[] = {3};
  tensor_t *feed = oc_tensor(TFM_DOUBLE, d3, 1, (double[]){1, 2, 3});
  output_t *po = &p->outputs[0];
  v = oc_run(g, &po, &feed, 1, y, st);
  OK();
  expect_values(v, (double[]){1, 4, 9}, 3);
  tensor_unref(v);
  tensor_unref(feed);
  /* Its gradient is the identity. */
  output_t *x = oc_placeholder(g, d, 1, "x", st);
  node_t *q = oc_op(g, "PlaceholderWithDefault", &x, 1, attrs, 2, st);
  tensor_t *xv = oc_random(d, 1, -1, 1, 3);
  oc_check_gradient(g, q, 0, &x, &xv, 1, 1e-9);
  tensor_unref(xv);
  attr_t wrong[] = {ATTR_TYPE_V("dtype", TFM_FLOAT), ATTR_SHAPE_V("shape", s)};
  ck_assert_ptr_null(graph_add_op(g, "PlaceholderWithDefault", NULL, false, &def, 1, wrong, 2, NULL, 0, st));
  HAS("dtype float32 but the default is float64");
}
END_TEST

START_TEST(snapshot_copies_and_prevent_gradient_refuses) {
  int64_t d[] = {3};
  output_t *x = oc_placeholder(g, d, 1, "x", st);
  node_t *sn = oc_op(g, "Snapshot", &x, 1, NULL, 0, st);
  tensor_t *xv = oc_random(d, 1, -1, 1, 4);
  tensor_t *v = oc_run(g, &x, &xv, 1, &sn->outputs[0], st);
  OK();
  ck_assert_ptr_ne(v->data, xv->data);
  ck_assert(memcmp(v->data, xv->data, 3 * sizeof(double)) == 0);
  tensor_unref(v);
  oc_check_gradient(g, sn, 0, &x, &xv, 1, 1e-9);
  attr_t msg = ATTR_S_V("message", "no second derivative here");
  node_t *pg = oc_op(g, "PreventGradient", &x, 1, &msg, 1, st);
  v = oc_run(g, &x, &xv, 1, &pg->outputs[0], st);
  OK();
  ck_assert(memcmp(v->data, xv->data, 3 * sizeof(double)) == 0);
  tensor_unref(v);
  output_t *loss = tfm_reduce_sum(g, &pg->outputs[0], NULL, 0, 0, NULL, st), *dx = NULL;
  ck_assert_int_ne(tfm_gradients(g, &loss, 1, &x, 1, NULL, &dx, st), TFM_OK);
  HAS("Gradient explicitly disabled. Reason: no second derivative here");
  HAS("PreventGradient");
  tensor_unref(xv);
}
END_TEST

/* ---- element-wise additions ---- */

typedef struct {
  const char *type;
  double (*ref)(double);
  double lo, hi;
  bool differentiable;
} unary_ref_t;

static double ref_round(double x) { return nearbyint(x); } /* half to even, as TF */
static const unary_ref_t unary_refs[] = {
    {"Floor", floor, -3, 3, false}, {"Ceil", ceil, -3, 3, false}, {"Round", ref_round, -3, 3, false},
    {"Log1p", log1p, -0.5, 2, true}, {"Expm1", expm1, -2, 2, true}, {"Sin", sin, -3, 3, true},
    {"Cos", cos, -3, 3, true}};

START_TEST(unary_helpers_match_libm_and_differentiate) {
  const unary_ref_t *c = &unary_refs[_i];
  int64_t d[] = {9};
  output_t *x = oc_placeholder(g, d, 1, "x", st);
  node_t *n = oc_op(g, c->type, &x, 1, NULL, 0, st);
  tensor_t *xv = oc_random(d, 1, c->lo, c->hi, 11);
  TENSOR_F64(xv)[0] = 2.5; /* Round: ties go to even */
  TENSOR_F64(xv)[1] = -0.5;
  tensor_t *y = oc_run(g, &x, &xv, 1, &n->outputs[0], st);
  OK();
  for (int i = 0; i < 9; i++) {
    double want = c->ref(TENSOR_F64(xv)[i]);
    ck_assert_msg(fabs(TENSOR_F64(y)[i] - want) <= 4e-16 * (1 + fabs(want)), "%s(%g) = %.17g, want %.17g",
                  c->type, TENSOR_F64(xv)[i], TENSOR_F64(y)[i], want);
  }
  tensor_unref(y);
  if (c->differentiable) {
    oc_check_gradient(g, n, 0, &x, &xv, 1, 1e-6);
  } else {
    ck_assert(n->def->flags & OP_NO_GRADIENT);
  }
  tensor_unref(xv);
}
END_TEST

START_TEST(logical_ops_follow_truth_tables) {
  int64_t d[] = {4};
  output_t *a = tfm_cast(g, const_f64(d, 1, (double[]){0, 0, 1, 1}), TFM_BOOL, NULL, st);
  output_t *b = tfm_cast(g, const_f64(d, 1, (double[]){0, 1, 0, 1}), TFM_BOOL, NULL, st);
  output_t *ab[2] = {a, b};
  const struct {
    const char *type;
    double want[4];
  } cases[] = {{"LogicalAnd", {0, 0, 0, 1}}, {"LogicalOr", {0, 1, 1, 1}}};
  for (int k = 0; k < 2; k++) {
    node_t *n = oc_op(g, cases[k].type, ab, 2, NULL, 0, st);
    ck_assert_int_eq(n->outputs[0].dtype, TFM_BOOL);
    tensor_t *v = run1(&n->outputs[0]);
    for (int i = 0; i < 4; i++) ck_assert_int_eq(TENSOR_BOOL(v)[i], (int)cases[k].want[i]);
    tensor_unref(v);
  }
  node_t *n = oc_op(g, "LogicalNot", &a, 1, NULL, 0, st);
  tensor_t *v = run1(&n->outputs[0]);
  for (int i = 0; i < 4; i++) ck_assert_int_eq(TENSOR_BOOL(v)[i], i < 2);
  tensor_unref(v);
  output_t *f = const_f64(d, 1, NULL);
  ck_assert_ptr_null(graph_add_op(g, "LogicalNot", NULL, false, &f, 1, NULL, 0, NULL, 0, st));
  HAS("LogicalNot is not defined for float64");
}
END_TEST

START_TEST(l2_loss_is_half_the_sum_of_squares) {
  int64_t d[] = {2, 3};
  output_t *x = oc_placeholder(g, d, 2, "x", st);
  node_t *n = oc_op(g, "L2Loss", &x, 1, NULL, 0, st);
  ck_assert_int_eq(n->outputs[0].shape.rank, 0);
  tensor_t *xv = oc_random(d, 2, -2, 2, 12);
  tensor_t *y = oc_run(g, &x, &xv, 1, &n->outputs[0], st);
  OK();
  double want = 0;
  for (int i = 0; i < 6; i++) want += TENSOR_F64(xv)[i] * TENSOR_F64(xv)[i] / 2;
  ck_assert_double_eq_tol(TENSOR_F64(y)[0], want, 1e-14);
  tensor_unref(y);
  oc_check_gradient(g, n, 0, &x, &xv, 1, 1e-6);
  tensor_unref(xv);
}
END_TEST

START_TEST(prod_gradient_handles_zeros) {
  int64_t d[] = {3, 4};
  output_t *x = oc_placeholder(g, d, 2, "x", st);
  int32_t axis = 1;
  output_t *ax = op_const_i32(g, &axis, 1, NULL, st);
  output_t *in[2] = {x, ax};
  node_t *keep = oc_op(g, "Prod", in, 2, (attr_t[]){ATTR_B_V("keep_dims", true)}, 1, st);
  node_t *drop = oc_op(g, "Prod", in, 2, NULL, 0, st);
  /* Rows with no zero, one zero and two zeros. */
  tensor_t *xv = oc_tensor(TFM_DOUBLE, d, 2, (double[]){0.5, -1.5, 2, 1.25, 0.75, 0, -2, 1.5, 0, 1.5, 0, -0.5});
  oc_check_gradient(g, keep, 0, &x, &xv, 1, 1e-6);
  oc_check_gradient(g, drop, 0, &x, &xv, 1, 1e-6);
  /* Over both axes, the input's shape unknown (the dynamic tiling path). */
  output_t *xd = oc_placeholder_dynamic(g, 2, "xd", st);
  int32_t both[2] = {0, 1};
  output_t *in2[2] = {xd, op_const_i32(g, both, 2, NULL, st)};
  node_t *all = oc_op(g, "Prod", in2, 2, NULL, 0, st);
  tensor_t *small = oc_tensor(TFM_DOUBLE, (int64_t[]){2, 2}, 2, (double[]){0.5, -1.5, 2, 0});
  oc_check_gradient(g, all, 0, &xd, &small, 1, 1e-6);
  tensor_unref(small);
  tensor_unref(xv);
}
END_TEST

/* ---- more activations ---- */

static double ref_relu6(double x) { return x < 0 ? 0 : x > 6 ? 6 : x; }
static double ref_elu(double x) { return x > 0 ? x : exp(x) - 1; }
static double ref_selu(double x) {
  return 1.0507009873554804934193349852946 * (x > 0 ? x : 1.6732632423543772848170429916717 * (exp(x) - 1));
}
/* alpha is a float attr (0.2f), used as it is for float64 too, as TensorFlow does */
static double ref_leaky(double x) { return x > 0 ? x : (double)0.2f * x; }
static double ref_softsign(double x) { return x / (1 + fabs(x)); }

static const struct {
  const char *type;
  double (*ref)(double);
  bool piecewise_linear;
} activations[] = {{"Relu6", ref_relu6, true},
                   {"Elu", ref_elu, false},
                   {"Selu", ref_selu, false},
                   {"LeakyRelu", ref_leaky, true},
                   {"Softsign", ref_softsign, false}};

START_TEST(activations_match_their_formulas_and_differentiate) {
  int64_t d[] = {8};
  /* Away from the kinks at 0 and 6. */
  double xs[8] = {-3.1, -0.7, -0.05, 0.3, 1.9, 5.2, 6.8, 11};
  output_t *x = oc_placeholder(g, d, 1, "x", st);
  node_t *n = oc_op(g, activations[_i].type, &x, 1, NULL, 0, st);
  tensor_t *xv = oc_tensor(TFM_DOUBLE, d, 1, xs);
  tensor_t *y = oc_run(g, &x, &xv, 1, &n->outputs[0], st);
  OK();
  for (int i = 0; i < 8; i++) {
    double want = activations[_i].ref(xs[i]);
    ck_assert_msg(fabs(TENSOR_F64(y)[i] - want) <= 1e-15 * (1 + fabs(want)), "%s(%g) = %.17g, want %.17g",
                  activations[_i].type, xs[i], TENSOR_F64(y)[i], want);
  }
  tensor_unref(y);
  oc_check_gradient(g, n, 0, &x, &xv, 1, 1e-6);
  /* float32 gives the float64 values rounded. */
  output_t *x32 = tfm_cast(g, x, TFM_FLOAT, NULL, st);
  node_t *n32 = oc_op(g, activations[_i].type, &x32, 1, NULL, 0, st);
  y = oc_run(g, &x, &xv, 1, &n32->outputs[0], st);
  OK();
  for (int i = 0; i < 8; i++)
    ck_assert_float_eq_tol(TENSOR_F32(y)[i], (float)activations[_i].ref((float)xs[i]), 1e-6f);
  tensor_unref(y);
  if (activations[_i].piecewise_linear) {
    /* Relu6Grad/LeakyReluGrad are linear in the incoming gradient. */
    char grad_type[32];
    snprintf(grad_type, sizeof grad_type, "%sGrad", activations[_i].type);
    output_t *dy = oc_placeholder(g, d, 1, "dy", st);
    output_t *in[2] = {dy, const_f64(d, 1, xs)};
    node_t *gn = oc_op(g, grad_type, in, 2, NULL, 0, st);
    tensor_t *dyv = oc_random(d, 1, -1, 1, 41);
    oc_check_gradient(g, gn, 0, &dy, &dyv, 1, 1e-9);
    tensor_unref(dyv);
  }
  tensor_unref(xv);
}
END_TEST

START_TEST(leaky_relu_takes_its_alpha) {
  int64_t d[] = {2};
  output_t *x = oc_placeholder(g, d, 1, "x", st);
  attr_t alpha = ATTR_F_V("alpha", 0.5f);
  node_t *n = oc_op(g, "LeakyRelu", &x, 1, &alpha, 1, st);
  tensor_t *xv = oc_tensor(TFM_DOUBLE, d, 1, (double[]){-2, 3});
  tensor_t *y = oc_run(g, &x, &xv, 1, &n->outputs[0], st);
  OK();
  expect_values(y, (double[]){-1, 3}, 2);
  tensor_unref(y);
  oc_check_gradient(g, n, 0, &x, &xv, 1, 1e-9);
  tensor_unref(xv);
  int64_t i3 = 3;
  output_t *ints = const_i32(&i3, 1, (double[]){1, 2, 3});
  ck_assert_ptr_null(graph_add_op(g, "Elu", NULL, false, &ints, 1, NULL, 0, NULL, 0, st));
  HAS("Elu is not defined for int32");
}
END_TEST

/* ---- gather, segments, stitch ---- */

START_TEST(gather_v2_picks_along_any_axis) {
  int64_t dp[] = {3, 2}, di[] = {2, 2};
  output_t *params = const_f64(dp, 2, (double[]){1, 2, 3, 4, 5, 6});
  output_t *ix = const_i32(di, 2, (double[]){2, 0, 1, 2});
  int32_t zero = 0, one = 1, minus_one = -1;
  output_t *in[3] = {params, ix, tfm_scalar(g, zero, TFM_INT32, NULL, st)};
  node_t *n = oc_op(g, "GatherV2", in, 3, NULL, 0, st);
  ck_assert_int_eq(n->outputs[0].shape.rank, 3); /* [2,2,2] */
  tensor_t *v = run1(&n->outputs[0]);
  expect_values(v, (double[]){5, 6, 1, 2, 3, 4, 5, 6}, 8);
  tensor_unref(v);
  int64_t d1[] = {2};
  output_t *cols = const_i32(d1, 1, (double[]){1, 1});
  output_t *in1[3] = {params, cols, tfm_scalar(g, one, TFM_INT32, NULL, st)};
  v = run1(&oc_op(g, "GatherV2", in1, 3, NULL, 0, st)->outputs[0]);
  expect_values(v, (double[]){2, 2, 4, 4, 6, 6}, 6);
  tensor_unref(v);
  output_t *inm[3] = {params, cols, tfm_scalar(g, minus_one, TFM_INT32, NULL, st)};
  v = run1(&oc_op(g, "GatherV2", inm, 3, NULL, 0, st)->outputs[0]);
  expect_values(v, (double[]){2, 2, 4, 4, 6, 6}, 6);
  tensor_unref(v);
  output_t *bad = const_i32(d1, 1, (double[]){0, 3});
  output_t *inb[2] = {params, bad};
  node_t *gb = oc_op(g, "Gather", inb, 2, (attr_t[]){ATTR_TYPE_V("Tparams", TFM_DOUBLE)}, 1, st);
  ck_assert_ptr_null(oc_run(g, NULL, NULL, 0, &gb->outputs[0], st));
  HAS("indices[1] = 3 is not in [0, 3)");
}
END_TEST

START_TEST(gather_and_segment_sum_gradients_match_finite_differences) {
  int64_t dp[] = {4, 3}, di[] = {5};
  output_t *params = oc_placeholder(g, dp, 2, "params", st);
  output_t *ix = const_i32(di, 1, (double[]){3, 0, 3, 1, 3}); /* repeats accumulate */
  int32_t zero = 0;
  output_t *in[3] = {params, ix, tfm_scalar(g, zero, TFM_INT32, NULL, st)};
  node_t *n = oc_op(g, "GatherV2", in, 3, NULL, 0, st);
  tensor_t *pv = oc_random(dp, 2, -1, 1, 21);
  oc_check_gradient(g, n, 0, &params, &pv, 1, 1e-6);
  /* The same with unknown shapes (the dynamic reshape path). */
  output_t *pd = oc_placeholder_dynamic(g, 2, "pd", st);
  output_t *ind[3] = {pd, ix, in[2]};
  node_t *nd = oc_op(g, "GatherV2", ind, 3, NULL, 0, st);
  oc_check_gradient(g, nd, 0, &pd, &pv, 1, 1e-6);
  tensor_unref(pv);
  /* UnsortedSegmentSum: forward against a loop, then its gradient. */
  int64_t dd[] = {5, 2};
  output_t *data = oc_placeholder(g, dd, 2, "data", st);
  output_t *ids = const_i32(di, 1, (double[]){2, 0, 2, -1, 1});
  int32_t three = 3;
  output_t *sin[3] = {data, ids, tfm_scalar(g, three, TFM_INT32, NULL, st)};
  node_t *seg = oc_op(g, "UnsortedSegmentSum", sin, 3, NULL, 0, st);
  ck_assert_int_eq(seg->outputs[0].shape.dim[0], 3);
  tensor_t *dv = oc_random(dd, 2, -1, 1, 22);
  tensor_t *sv = oc_run(g, &data, &dv, 1, &seg->outputs[0], st);
  OK();
  const double *x = TENSOR_F64(dv);
  double want[6] = {x[2], x[3], x[8], x[9], x[0] + x[4], x[1] + x[5]}; /* id -1 dropped */
  expect_values(sv, want, 6);
  tensor_unref(sv);
  /* Gradient w.r.t. data: dropped rows would make Gather fail, so use ids >= 0. */
  output_t *ids2 = const_i32(di, 1, (double[]){2, 0, 2, 1, 1});
  output_t *sin2[3] = {data, ids2, sin[2]};
  node_t *seg2 = oc_op(g, "UnsortedSegmentSum", sin2, 3, NULL, 0, st);
  oc_check_gradient(g, seg2, 0, &data, &dv, 1, 1e-6);
  tensor_unref(dv);
}
END_TEST

START_TEST(dynamic_stitch_interleaves_as_tensorflow_documents) {
  /* TensorFlow's example: indices [6], [4,1], [[5,2],[0,3]]; data [[61,62]],
   * [[41,42],[11,12]], [[[51,52],[21,22]],[[1,2],[31,32]]]. */
  int64_t i0d[] = {1}, i1d[] = {2}, i2d[] = {2, 2};
  int64_t d0d[] = {1, 2}, d1d[] = {2, 2}, d2d[] = {2, 2, 2};
  output_t *in[6] = {const_i32(i0d, 1, (double[]){6}), const_i32(i1d, 1, (double[]){4, 1}),
                     const_i32(i2d, 2, (double[]){5, 2, 0, 3}), const_f64(d0d, 2, (double[]){61, 62}),
                     const_f64(d1d, 2, (double[]){41, 42, 11, 12}),
                     const_f64(d2d, 3, (double[]){51, 52, 21, 22, 1, 2, 31, 32})};
  attr_t n3 = ATTR_I_V("N", 3);
  node_t *n = oc_op(g, "DynamicStitch", in, 6, &n3, 1, st);
  ck_assert_int_eq(n->outputs[0].shape.dim[0], 7); /* constant indices: known */
  ck_assert_int_eq(n->outputs[0].shape.dim[1], 2);
  tensor_t *v = run1(&n->outputs[0]);
  expect_values(v, (double[]){1, 2, 11, 12, 21, 22, 31, 32, 41, 42, 51, 52, 61, 62}, 14);
  tensor_unref(v);
  /* Gradient w.r.t. each data input (an index repeated: the later list wins). */
  output_t *p[2] = {oc_placeholder(g, d1d, 2, "a", st), oc_placeholder(g, d1d, 2, "b", st)};
  output_t *sin[4] = {const_i32(i1d, 1, (double[]){0, 2}), const_i32(i1d, 1, (double[]){1, 2}), p[0], p[1]};
  attr_t n2 = ATTR_I_V("N", 2);
  node_t *s = oc_op(g, "DynamicStitch", sin, 4, &n2, 1, st);
  tensor_t *vals[2] = {oc_random(d1d, 2, -1, 1, 31), oc_random(d1d, 2, -1, 1, 32)};
  /* With index 2 in both lists, b's row wins the output; TensorFlow's gradient
   * (Gather of dy) still gives a's overwritten row dy[2]: checked by hand. */
  output_t *dy = oc_placeholder(g, (int64_t[]){3, 2}, 2, "dy", st);
  output_t *dys[1] = {dy}, *dxs[4] = {0};
  grad_ctx_t gc = {.g = g, .op = s, .dy = dys, .n_dy = 1, .dx = dxs, .n_dx = 4, .st = st};
  ck_assert_int_eq(s->def->gradient(&gc), TFM_OK);
  ck_assert_ptr_null(dxs[0]);
  ck_assert_ptr_null(dxs[1]);
  tensor_t *dyv = oc_random((int64_t[]){3, 2}, 2, -1, 1, 33);
  tensor_t *da = oc_run(g, &dy, &dyv, 1, dxs[2], st);
  OK();
  const double *y = TENSOR_F64(dyv);
  expect_values(da, (double[]){y[0], y[1], y[4], y[5]}, 4);
  tensor_unref(da);
  /* Without overlaps, the finite differences of both data inputs. */
  output_t *sin2[4] = {const_i32(i1d, 1, (double[]){3, 0}), const_i32(i1d, 1, (double[]){1, 2}), p[0], p[1]};
  node_t *s2 = oc_op(g, "DynamicStitch", sin2, 4, &n2, 1, st);
  oc_check_gradient(g, s2, 0, p, vals, 2, 1e-6);
  tensor_unref(dyv);
  tensor_unref(vals[0]);
  tensor_unref(vals[1]);
  /* Mismatched pieces are refused. */
  output_t *bad[4] = {sin[0], sin[1], p[0], const_f64(i1d, 1, (double[]){1, 2})};
  ck_assert_ptr_null(graph_add_op(g, "DynamicStitch", NULL, false, bad, 4, &n2, 1, NULL, 0, st));
  HAS("DynamicStitch");
}
END_TEST

/* ---- the helper ops TensorFlow's gradient code emits, against hand-worked values ---- */

static node_t *op2(const char *type, output_t *a, output_t *b, const attr_t *attrs, int n_attrs) {
  output_t *in[2] = {a, b};
  return oc_op(g, type, in, b ? 2 : 1, attrs, n_attrs, st);
}

START_TEST(shape_size_rank_range_fill_and_broadcast_args) {
  int64_t d[] = {2, 3};
  output_t *x = const_f64(d, 2, NULL);
  attr_t i64 = ATTR_TYPE_V("out_type", TFM_INT64);
  tensor_t *v = run1(&op2("Shape", x, NULL, &i64, 1)->outputs[0]);
  ck_assert_int_eq(v->dtype, TFM_INT64);
  expect_values(v, (double[]){2, 3}, 2);
  tensor_unref(v);
  v = run1(&op2("Size", x, NULL, NULL, 0)->outputs[0]);
  expect_values(v, (double[]){6}, 1);
  tensor_unref(v);
  v = run1(&op2("Rank", x, NULL, NULL, 0)->outputs[0]);
  expect_values(v, (double[]){2}, 1);
  tensor_unref(v);
  /* Range: ints up, floats by a quarter, down by a negative delta. */
  const struct {
    tfm_dtype dt;
    double start, limit, delta, want[4];
    int n;
  } ranges[] = {{TFM_INT32, 1, 10, 3, {1, 4, 7}, 3},
                {TFM_DOUBLE, 0, 1, 0.25, {0, 0.25, 0.5, 0.75}, 4},
                {TFM_INT64, 5, 1, -2, {5, 3}, 2}};
  for (int k = 0; k < 3; k++) {
    output_t *in[3] = {tfm_scalar(g, ranges[k].start, ranges[k].dt, NULL, st),
                       tfm_scalar(g, ranges[k].limit, ranges[k].dt, NULL, st),
                       tfm_scalar(g, ranges[k].delta, ranges[k].dt, NULL, st)};
    attr_t tidx = ATTR_TYPE_V("Tidx", ranges[k].dt);
    v = run1(&oc_op(g, "Range", in, 3, &tidx, 1, st)->outputs[0]);
    ck_assert_int_eq(v->dtype, ranges[k].dt);
    expect_values(v, ranges[k].want, ranges[k].n);
    tensor_unref(v);
  }
  /* Fill, and its gradient w.r.t. the value: the sum of dy. */
  int64_t two = 2;
  output_t *dims = const_i32(&two, 1, (double[]){2, 2});
  output_t *val = oc_placeholder(g, NULL, 0, "val", st);
  node_t *fill = op2("Fill", dims, val, NULL, 0);
  tensor_t *vv = oc_tensor(TFM_DOUBLE, NULL, 0, (double[]){7});
  v = oc_run(g, &val, &vv, 1, &fill->outputs[0], st);
  OK();
  expect_values(v, (double[]){7, 7, 7, 7}, 4);
  tensor_unref(v);
  oc_check_gradient(g, fill, 0, &val, &vv, 1, 1e-6);
  tensor_unref(vv);
  /* BroadcastGradientArgs([2,1,3], [3]): reduce axis 1 for the first, 0 and 1 for the second. */
  int64_t three = 3, one = 1;
  node_t *bga = op2("BroadcastGradientArgs", const_i32(&three, 1, (double[]){2, 1, 3}),
                    const_i32(&one, 1, (double[]){3}), NULL, 0);
  v = run1(&bga->outputs[0]);
  expect_values(v, (double[]){1}, 1);
  tensor_unref(v);
  v = run1(&bga->outputs[1]);
  expect_values(v, (double[]){0, 1}, 2);
  tensor_unref(v);
}
END_TEST

START_TEST(floor_div_mod_real_div_and_comparisons) {
  int64_t d[] = {4};
  output_t *a = const_i32(d, 1, (double[]){-7, 7, -7, 6}), *b = const_i32(d, 1, (double[]){2, -2, -2, 3});
  tensor_t *v = run1(&op2("FloorDiv", a, b, NULL, 0)->outputs[0]);
  expect_values(v, (double[]){-4, -4, 3, 2}, 4); /* rounds toward -inf */
  tensor_unref(v);
  v = run1(&op2("FloorMod", a, b, NULL, 0)->outputs[0]);
  expect_values(v, (double[]){1, -1, -1, 0}, 4); /* takes the divisor's sign */
  tensor_unref(v);
  output_t *fa = const_f64(d, 1, (double[]){-7.5, 7.5, 1, 0}), *fb = const_f64(d, 1, (double[]){2, -2, 4, 3});
  v = run1(&op2("FloorDiv", fa, fb, NULL, 0)->outputs[0]);
  expect_values(v, (double[]){-4, -4, 0, 0}, 4);
  tensor_unref(v);
  v = run1(&op2("FloorMod", fa, fb, NULL, 0)->outputs[0]);
  expect_values(v, (double[]){0.5, -0.5, 1, 0}, 4);
  tensor_unref(v);
  v = run1(&op2("RealDiv", fa, fb, NULL, 0)->outputs[0]);
  expect_values(v, (double[]){-3.75, -3.75, 0.25, 0}, 4);
  tensor_unref(v);
  v = run1(&op2("Reciprocal", fb, NULL, NULL, 0)->outputs[0]);
  expect_values(v, (double[]){0.5, -0.5, 0.25, 1.0 / 3}, 4);
  tensor_unref(v);
  v = run1(&op2("Neg", fa, NULL, NULL, 0)->outputs[0]);
  expect_values(v, (double[]){7.5, -7.5, -1, 0}, 4);
  tensor_unref(v);
  const struct {
    const char *type;
    int want[4];
  } cmp[] = {{"Equal", {0, 0, 0, 0}}, {"NotEqual", {1, 1, 1, 1}}, {"Greater", {0, 1, 0, 0}},
             {"GreaterEqual", {0, 1, 0, 0}}, {"Less", {1, 0, 1, 1}}, {"LessEqual", {1, 0, 1, 1}}};
  for (int k = 0; k < 6; k++) {
    v = run1(&op2(cmp[k].type, fa, fb, NULL, 0)->outputs[0]);
    for (int i = 0; i < 4; i++) ck_assert_msg(TENSOR_BOOL(v)[i] == cmp[k].want[i], "%s [%d]", cmp[k].type, i);
    tensor_unref(v);
  }
  /* Select picks from the second input where the condition holds. */
  node_t *less = op2("Less", fa, fb, NULL, 0);
  output_t *sin[3] = {&less->outputs[0], fa, fb};
  v = run1(&oc_op(g, "Select", sin, 3, NULL, 0, st)->outputs[0]);
  expect_values(v, (double[]){-7.5, -2, 1, 0}, 4);
  tensor_unref(v);
  /* Maximum/Minimum split the gradient by which input won (no ties here). */
  output_t *p[2] = {oc_placeholder(g, d, 1, "p", st), oc_placeholder(g, d, 1, "q", st)};
  tensor_t *vals[2] = {oc_tensor(TFM_DOUBLE, d, 1, (double[]){1, -2.3, 3, 0.5}),
                       oc_tensor(TFM_DOUBLE, d, 1, (double[]){0.75, 2, 2.5, -1.25})};
  oc_check_gradient(g, op2("Maximum", p[0], p[1], NULL, 0), 0, p, vals, 2, 1e-6);
  oc_check_gradient(g, op2("Minimum", p[0], p[1], NULL, 0), 0, p, vals, 2, 1e-6);
  oc_check_gradient(g, op2("RealDiv", p[0], p[1], NULL, 0), 0, p, vals, 2, 1e-6);
  oc_check_gradient(g, op2("FloorMod", p[0], p[1], NULL, 0), 0, p, vals, 2, 1e-6);
  tensor_unref(vals[0]);
  tensor_unref(vals[1]);
}
END_TEST

START_TEST(cast_between_every_dtype_pair) {
  const tfm_dtype dts[] = {TFM_FLOAT, TFM_DOUBLE, TFM_INT32, TFM_INT64, TFM_UINT8, TFM_BOOL};
  const double src[4] = {0, 1, 2.75, 100};
  int64_t d = 4;
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 6; j++) {
      output_t *x = tfm_cast(g, const_f64(&d, 1, src), dts[i], NULL, st);
      output_t *y = tfm_cast(g, x, dts[j], NULL, st);
      OK();
      tensor_t *v = run1(y);
      ck_assert_int_eq(v->dtype, dts[j]);
      for (int k = 0; k < 4; k++) {
        /* The value after the first cast (floats keep 2.75, integers truncate, bool is
         * x != 0), then the second. */
        double a = src[k];
        if (dts[i] == TFM_BOOL) a = a != 0;
        else if (dts[i] != TFM_FLOAT && dts[i] != TFM_DOUBLE) a = trunc(a);
        double want = dts[j] == TFM_BOOL ? (a != 0) : (dts[j] == TFM_FLOAT || dts[j] == TFM_DOUBLE) ? a : trunc(a);
        double got = dts[j] == TFM_BOOL ? TENSOR_BOOL(v)[k] : dts[j] == TFM_UINT8 ? TENSOR_U8(v)[k] : oc_at(v, k);
        ck_assert_msg(got == want, "%s -> %s of %g: %g, want %g", dtype_name(dts[i]), dtype_name(dts[j]), src[k],
                      got, want);
      }
      tensor_unref(v);
    }
}
END_TEST

START_TEST(pack_concat_zeros_ones_like_and_their_gradients) {
  int64_t d[] = {2, 2};
  output_t *p[2] = {oc_placeholder(g, d, 2, "a", st), oc_placeholder(g, d, 2, "b", st)};
  tensor_t *vals[2] = {oc_tensor(TFM_DOUBLE, d, 2, (double[]){1, 2, 3, 4}),
                       oc_tensor(TFM_DOUBLE, d, 2, (double[]){5, 6, 7, 8})};
  attr_t pack_attrs[] = {ATTR_I_V("N", 2), ATTR_I_V("axis", 1)};
  node_t *pack = oc_op(g, "Pack", p, 2, pack_attrs, 2, st);
  tensor_t *v = oc_run(g, p, vals, 2, &pack->outputs[0], st);
  OK();
  expect_values(v, (double[]){1, 2, 5, 6, 3, 4, 7, 8}, 8); /* [2,2,2]: rows side by side */
  tensor_unref(v);
  oc_check_gradient(g, pack, 0, p, vals, 2, 1e-6);
  output_t *cin[3] = {p[0], p[1], tfm_scalar(g, 1, TFM_INT32, NULL, st)};
  node_t *cat = oc_op(g, "ConcatV2", cin, 3, (attr_t[]){ATTR_I_V("N", 2)}, 1, st);
  v = oc_run(g, p, vals, 2, &cat->outputs[0], st);
  OK();
  expect_values(v, (double[]){1, 2, 5, 6, 3, 4, 7, 8}, 8); /* [2,4] */
  tensor_unref(v);
  oc_check_gradient(g, cat, 0, p, vals, 2, 1e-6);
  int64_t n = 3;
  output_t *ints = const_i32(&n, 1, (double[]){4, -5, 6});
  v = run1(&op2("ZerosLike", ints, NULL, NULL, 0)->outputs[0]);
  ck_assert_int_eq(v->dtype, TFM_INT32);
  expect_values(v, (double[]){0, 0, 0}, 3);
  tensor_unref(v);
  v = run1(&op2("OnesLike", tfm_cast(g, ints, TFM_DOUBLE, NULL, st), NULL, NULL, 0)->outputs[0]);
  ck_assert_int_eq(v->dtype, TFM_DOUBLE);
  expect_values(v, (double[]){1, 1, 1}, 3);
  tensor_unref(v);
  tensor_unref(vals[0]);
  tensor_unref(vals[1]);
}
END_TEST

START_TEST(old_variable_op_with_assign_add_sub) {
  /* TF < 1.0 graphs name the variable op "Variable"; same attrs as VariableV2. */
  int64_t d = 2;
  shape_t s = shape_vector(2);
  attr_t vattrs[] = {ATTR_SHAPE_V("shape", s), ATTR_TYPE_V("dtype", TFM_DOUBLE)};
  node_t *var = graph_add_op(g, "Variable", "v", true, NULL, 0, vattrs, 2, NULL, 0, st);
  ck_assert_msg(var != NULL, "%s", tfm_status_message(st));
  node_t *assign = op2("Assign", &var->outputs[0], const_f64(&d, 1, (double[]){1.5, -2}), NULL, 0);
  node_t *add = op2("AssignAdd", &var->outputs[0], const_f64(&d, 1, (double[]){1, 1}), NULL, 0);
  node_t *sub = op2("AssignSub", &var->outputs[0], const_f64(&d, 1, (double[]){0.25, 4}), NULL, 0);
  tfm_session *sess = tfm_session_new(g, st);
  output_t *vo = &var->outputs[0];
  tensor_t *v = NULL;
  ck_assert_int_ne(tfm_session_run(sess, NULL, NULL, 0, &vo, &v, 1, NULL, 0, st), TFM_OK);
  HAS("uninitialized value v");
  tfm_op *steps[3] = {assign, add, sub};
  const double want[3][2] = {{1.5, -2}, {2.5, -1}, {2.25, -5}};
  for (int k = 0; k < 3; k++) {
    ck_assert_int_eq(tfm_session_run(sess, NULL, NULL, 0, NULL, NULL, 0, &steps[k], 1, st), TFM_OK);
    ck_assert_int_eq(tfm_session_run(sess, NULL, NULL, 0, &vo, &v, 1, NULL, 0, st), TFM_OK);
    expect_values(v, want[k], 2);
    tensor_unref(v);
  }
  /* NoOp with control inputs runs them. */
  tfm_op *group = graph_add_op(g, "NoOp", "group", true, NULL, 0, NULL, 0, (node_t *[]){add}, 1, st);
  ck_assert_int_eq(tfm_session_run(sess, NULL, NULL, 0, NULL, NULL, 0, &group, 1, st), TFM_OK);
  ck_assert_int_eq(tfm_session_run(sess, NULL, NULL, 0, &vo, &v, 1, NULL, 0, st), TFM_OK);
  expect_values(v, (double[]){3.25, -4}, 2);
  tensor_unref(v);
  tfm_session_delete(sess);
}
END_TEST

START_TEST(assert_and_check_numerics_stop_a_run_with_the_data) {
  output_t *x = oc_placeholder(g, NULL, 0, "x", st);
  output_t *ok = tfm_cast(g, x, TFM_BOOL, NULL, st); /* x != 0 */
  tensor_t *msg = tensor_new_zeros(TFM_STRING, &(shape_t){.rank = 0}, st);
  tensor_string_set(msg, 0, "x must be non-zero:", 19, st);
  int64_t four = 4;
  output_t *in[3] = {ok, tfm_constant(g, msg, NULL, st), const_f64(&four, 1, (double[]){1, 2, 3, 4})};
  tensor_unref(msg);
  attr_t types[] = {ATTR_I_V("summarize", 2)};
  node_t *as = oc_op(g, "Assert", in, 3, types, 1, st);
  ck_assert_int_eq(as->n_outputs, 0);
  tfm_session *sess = tfm_session_new(g, st);
  for (int k = 0; k < 2; k++) {
    tensor_t *xv = oc_tensor(TFM_DOUBLE, NULL, 0, (double[]){k ? 0.0 : 2.0});
    tfm_op *t = as;
    tfm_code rc = tfm_session_run(sess, &x, &xv, 1, NULL, NULL, 0, &t, 1, st);
    if (k == 0) {
      ck_assert_int_eq(rc, TFM_OK);
    } else {
      ck_assert_int_eq(rc, TFM_INVALID_ARGUMENT);
      HAS("Assert 'Assert'");
      HAS("assertion failed: [x must be non-zero:] [1 2...]");
    }
    tensor_unref(xv);
  }
  /* CheckNumerics passes finite values through, refuses NaN and Inf, and checks the
   * gradient on the way back. */
  attr_t m = ATTR_S_V("message", "logits");
  node_t *cn = oc_op(g, "CheckNumerics", &x, 1, &m, 1, st);
  output_t *y = &cn->outputs[0];
  const double probes[3] = {1.5, NAN, -INFINITY};
  for (int k = 0; k < 3; k++) {
    tensor_t *xv = oc_tensor(TFM_DOUBLE, NULL, 0, &probes[k]), *v = NULL;
    tfm_code rc = tfm_session_run(sess, &x, &xv, 1, &y, &v, 1, NULL, 0, st);
    if (k == 0) {
      ck_assert_int_eq(rc, TFM_OK);
      ck_assert_double_eq(TENSOR_F64(v)[0], 1.5);
      tensor_unref(v);
    } else {
      ck_assert_int_eq(rc, TFM_INVALID_ARGUMENT);
      HAS(k == 1 ? "logits : Tensor had NaN values" : "logits : Tensor had Inf values");
    }
    tensor_unref(xv);
  }
  tfm_session_delete(sess);
  tensor_t *xv = oc_tensor(TFM_DOUBLE, NULL, 0, (double[]){0.5});
  oc_check_gradient(g, cn, 0, &x, &xv, 1, 1e-9);
  tensor_unref(xv);
}
END_TEST

/* ---- tf.cond: Switch and Merge ---- */

/* y = cond(pred, x * x, sin(x)) built as tf.cond does: Switch per input, pivots
 * (Identity of each Switch output), branch ops, a Merge. Returns the Merge. */
static node_t *build_cond(output_t *x, output_t *pred, output_t **pivots) {
  output_t *in[2] = {x, pred};
  node_t *sw = oc_op(g, "Switch", in, 2, NULL, 0, st);
  pivots[0] = tfm_identity(g, &sw->outputs[0], "switch_f", st);
  pivots[1] = tfm_identity(g, &sw->outputs[1], "switch_t", st);
  output_t *f = &oc_op(g, "Sin", &pivots[0], 1, NULL, 0, st)->outputs[0];
  output_t *t = tfm_mul(g, pivots[1], pivots[1], NULL, st);
  OK();
  output_t *m[2] = {f, t};
  return oc_op(g, "Merge", m, 2, (attr_t[]){ATTR_I_V("N", 2)}, 1, st);
}

START_TEST(cond_runs_only_the_branch_taken) {
  int64_t d[] = {3};
  output_t *x = oc_placeholder(g, d, 1, "x", st);
  output_t *pred = tfm_placeholder(g, TFM_BOOL, NULL, 0, "pred", st);
  output_t *piv[2];
  node_t *m = build_cond(x, pred, piv);
  ck_assert_int_eq(m->outputs[1].dtype, TFM_INT32);
  /* A Gather that fails when run, on the false side only. */
  int64_t one = 1;
  output_t *bad_ix = const_i32(&one, 1, (double[]){100});
  output_t *gin[2] = {piv[0], bad_ix};
  node_t *boom = oc_op(g, "Gather", gin, 2, (attr_t[]){ATTR_TYPE_V("Tparams", TFM_DOUBLE)}, 1, st);
  tensor_t *xv = oc_tensor(TFM_DOUBLE, d, 1, (double[]){0.5, -1, 2});
  for (int taken = 0; taken < 2; taken++) {
    tfm_tensor *pv = tfm_tensor_new(TFM_BOOL, NULL, 0, st);
    *(uint8_t *)tfm_tensor_data(pv) = (uint8_t)taken;
    tfm_session *s = tfm_session_new(g, st);
    output_t *feeds[2] = {x, pred};
    tensor_t *fv[2] = {xv, pv};
    output_t *fetch[2] = {&m->outputs[0], &m->outputs[1]};
    tensor_t *out[2] = {NULL, NULL};
    for (int rep = 0; rep < 2; rep++) { /* the second run reuses the plan's frame */
      ck_assert_int_eq(tfm_session_run(s, feeds, fv, 2, fetch, out, 2, NULL, 0, st), TFM_OK);
      for (int i = 0; i < 3; i++) {
        double xi = TENSOR_F64(xv)[i];
        ck_assert_double_eq_tol(TENSOR_F64(out[0])[i], taken ? xi * xi : sin(xi), 1e-15);
      }
      ck_assert_int_eq(TENSOR_I32(out[1])[0], taken);
      tensor_unref(out[0]);
      tensor_unref(out[1]);
    }
    /* The failing op as a target: it runs (and fails) only when its branch is taken. */
    tfm_op *target = boom;
    tfm_code rc = tfm_session_run(s, feeds, fv, 2, NULL, NULL, 0, &target, 1, st);
    ck_assert_int_eq(rc, taken ? TFM_OK : TFM_INVALID_ARGUMENT);
    /* Fetching a value of the branch not taken is an error naming it. */
    output_t *other = taken ? piv[0] : piv[1];
    tensor_t *ov = NULL;
    ck_assert_int_eq(tfm_session_run(s, feeds, fv, 2, &other, &ov, 1, NULL, 0, st), TFM_INVALID_ARGUMENT);
    HAS(taken ? "switch_f:0" : "switch_t:0");
    HAS("not taken");
    tfm_session_delete(s);
    tensor_unref(pv);
  }
  tensor_unref(xv);
}
END_TEST

START_TEST(cond_deadness_follows_control_edges) {
  /* Constants inside the branches hang on the pivots by control edges only (as
   * tf.cond writes them); the Merge must see only the taken side's constant. */
  output_t *x = oc_placeholder(g, NULL, 0, "x", st);
  output_t *pred = tfm_placeholder(g, TFM_BOOL, NULL, 0, "pred", st);
  output_t *in[2] = {x, pred};
  node_t *sw = oc_op(g, "Switch", in, 2, NULL, 0, st);
  output_t *c[2];
  for (int side = 0; side < 2; side++) {
    tensor_t *t = oc_tensor(TFM_DOUBLE, NULL, 0, (double[]){side ? 7.0 : -3.0});
    node_t *pivot = graph_add_op(g, "Identity", side ? "pivot_t" : "pivot_f", false, &(output_t *){&sw->outputs[side]},
                                 1, NULL, 0, NULL, 0, st);
    attr_t attrs[] = {ATTR_TENSOR_V("value", t), ATTR_TYPE_V("dtype", TFM_DOUBLE)};
    node_t *k = graph_add_op(g, "Const", NULL, false, NULL, 0, attrs, 2, &pivot, 1, st);
    ck_assert_msg(k != NULL, "%s", tfm_status_message(st));
    c[side] = &k->outputs[0];
    tensor_unref(t);
  }
  node_t *m = oc_op(g, "Merge", c, 2, (attr_t[]){ATTR_I_V("N", 2)}, 1, st);
  tensor_t *xv = oc_tensor(TFM_DOUBLE, NULL, 0, (double[]){1});
  for (int taken = 0; taken < 2; taken++) {
    tfm_tensor *pv = tfm_tensor_new(TFM_BOOL, NULL, 0, st);
    *(uint8_t *)tfm_tensor_data(pv) = (uint8_t)taken;
    output_t *feeds[2] = {x, pred};
    tensor_t *fv[2] = {xv, pv};
    tfm_session *s = tfm_session_new(g, st);
    tensor_t *out = NULL;
    output_t *fetch = &m->outputs[0];
    ck_assert_int_eq(tfm_session_run(s, feeds, fv, 2, &fetch, &out, 1, NULL, 0, st), TFM_OK);
    ck_assert_double_eq(TENSOR_F64(out)[0], taken ? 7.0 : -3.0);
    tensor_unref(out);
    tfm_session_delete(s);
    tensor_unref(pv);
  }
  tensor_unref(xv);
}
END_TEST

START_TEST(cond_gradient_flows_through_the_branch_taken) {
  int64_t d[] = {3};
  output_t *x = oc_placeholder(g, d, 1, "x", st);
  output_t *pred = tfm_placeholder(g, TFM_BOOL, NULL, 0, "pred", st);
  output_t *piv[2];
  node_t *m = build_cond(x, pred, piv);
  output_t *loss = tfm_reduce_sum(g, &m->outputs[0], NULL, 0, 0, NULL, st), *dx = NULL;
  ck_assert_int_eq(tfm_gradients(g, &loss, 1, &x, 1, NULL, &dx, st), TFM_OK);
  ck_assert_ptr_nonnull(dx);
  tensor_t *xv = oc_tensor(TFM_DOUBLE, d, 1, (double[]){0.5, -1, 2});
  for (int taken = 0; taken < 2; taken++) {
    tfm_tensor *pv = tfm_tensor_new(TFM_BOOL, NULL, 0, st);
    *(uint8_t *)tfm_tensor_data(pv) = (uint8_t)taken;
    output_t *feeds[2] = {x, pred};
    tensor_t *fv[2] = {xv, pv};
    tfm_session *s = tfm_session_new(g, st);
    tensor_t *out = NULL;
    ck_assert_int_eq(tfm_session_run(s, feeds, fv, 2, &dx, &out, 1, NULL, 0, st), TFM_OK);
    for (int i = 0; i < 3; i++) {
      double xi = TENSOR_F64(xv)[i];
      ck_assert_double_eq_tol(TENSOR_F64(out)[i], taken ? 2 * xi : cos(xi), 1e-14);
    }
    tensor_unref(out);
    tfm_session_delete(s);
    tensor_unref(pv);
  }
  tensor_unref(xv);
}
END_TEST

/* ---- Const and Identity of every dtype ---- */

START_TEST(const_and_identity_carry_every_dtype) {
  const tfm_dtype dts[] = {TFM_FLOAT, TFM_DOUBLE, TFM_INT32, TFM_UINT8, TFM_STRING, TFM_INT64, TFM_BOOL};
  for (size_t k = 0; k < sizeof dts / sizeof *dts; k++) {
    shape_t s = shape_vector(3);
    tensor_t *t = tensor_new_zeros(dts[k], &s, st);
    ck_assert_ptr_nonnull(t);
    if (dts[k] == TFM_STRING) {
      const char *words[3] = {"a", "", "\0x\xff"};
      for (int i = 0; i < 3; i++) tensor_string_set(t, i, words[i], i == 2 ? 3 : strlen(words[i]), st);
    } else {
      for (size_t b = 0; b < t->nbytes; b++) ((uint8_t *)t->data)[b] = (uint8_t)(b * 37 + 1);
      if (dts[k] == TFM_BOOL)
        for (size_t b = 0; b < t->nbytes; b++) ((uint8_t *)t->data)[b] &= 1;
    }
    output_t *c = tfm_constant(g, t, NULL, st);
    output_t *id = tfm_identity(g, c, NULL, st);
    OK();
    for (int which = 0; which < 2; which++) {
      tensor_t *v = run1(which ? id : c);
      ck_assert_int_eq(v->dtype, dts[k]);
      ck_assert_int_eq(v->num_elements, 3);
      if (dts[k] == TFM_STRING) {
        for (int i = 0; i < 3; i++) {
          ck_assert_uint_eq(TENSOR_STR(v)[i].len, TENSOR_STR(t)[i].len);
          ck_assert(memcmp(TENSOR_STR(v)[i].data ? TENSOR_STR(v)[i].data : "",
                           TENSOR_STR(t)[i].data ? TENSOR_STR(t)[i].data : "", TENSOR_STR(t)[i].len) == 0);
        }
      } else {
        ck_assert(memcmp(v->data, t->data, t->nbytes) == 0);
      }
      tensor_unref(v);
    }
    tensor_unref(t);
  }
}
END_TEST

/* ---- a whole TF 1.10 graph: dropout under tf.cond, trained with Adam ---- */

static tfm_output *by_name(tfm_graph *gr, const char *name) {
  tfm_output *o = tfm_graph_get_tensor_by_name(gr, name, st);
  ck_assert_msg(o != NULL, "%s: %s", name, tfm_status_message(st));
  return o;
}

static tensor_t *fetch(tfm_session *s, tfm_output *const *feeds, tensor_t *const *vals, int n, tfm_output *y) {
  tensor_t *v = NULL;
  ck_assert_msg(tfm_session_run(s, feeds, vals, n, &y, &v, 1, NULL, 0, st) == TFM_OK, "%s", tfm_status_message(st));
  return v;
}

START_TEST(tf110_dropout_network_predicts_and_trains) {
  const char *dir = getenv("TFM_SHARED_DIR");
  char meta[1024], prefix[1024];
  snprintf(meta, sizeof meta, "%s/testdata/tf/houseprices_tf1.10/model.ckpt.meta", dir ? dir : "../shared");
  snprintf(prefix, sizeof prefix, "%s/testdata/tf/houseprices_tf1.10/model.ckpt", dir ? dir : "../shared");
  if (access(meta, R_OK) != 0) {
    printf("SKIP: %s absent\n", meta);
    return;
  }
  tfm_graph *gr = tfm_graph_new(st);
  tfm_saver *saver = tfm_import_meta_graph(gr, meta, NULL, st);
  ck_assert_msg(saver != NULL, "%s", tfm_status_message(st));
  tfm_session *s = tfm_session_new(gr, st);
  ck_assert_int_eq(tfm_saver_restore(saver, s, prefix, st), TFM_OK);
  /* Placeholder: is_training (bool); Placeholder_1: x [n, 8]; Placeholder_2: y [n]. */
  enum { N = 4, F = 8 };
  int64_t dx[2] = {N, F}, dy = N;
  tfm_tensor *x = tfm_tensor_new(TFM_FLOAT, dx, 2, st), *y = tfm_tensor_new(TFM_FLOAT, &dy, 1, st);
  tfm_tensor *train = tfm_tensor_new(TFM_BOOL, NULL, 0, st);
  for (int i = 0; i < N * F; i++) ((float *)tfm_tensor_data(x))[i] = (float)sin(0.7 * i) * 0.5f;
  for (int i = 0; i < N; i++) ((float *)tfm_tensor_data(y))[i] = 1.0f + 0.25f * (float)i;
  *(uint8_t *)tfm_tensor_data(train) = 0;
  tfm_output *feeds[3] = {by_name(gr, "Placeholder"), by_name(gr, "Placeholder_1"), by_name(gr, "Placeholder_2")};
  tensor_t *vals[3] = {train, x, y};
  /* Predictions without dropout against a float64 forward pass over the restored
   * variables: four tanh layers (Variable..Variable_7), then a linear one. */
  tensor_t *pred = fetch(s, feeds, vals, 3, by_name(gr, "Squeeze"));
  ck_assert_int_eq(pred->num_elements, N);
  double h[N][128], next[N][128];
  int width = F;
  for (int r = 0; r < N; r++)
    for (int c = 0; c < F; c++) h[r][c] = ((float *)tfm_tensor_data(x))[r * F + c];
  for (int layer = 0; layer < 5; layer++) {
    char wn[32], bn[32];
    snprintf(wn, sizeof wn, layer ? "Variable_%d:0" : "Variable:0", 2 * layer);
    snprintf(bn, sizeof bn, "Variable_%d:0", 2 * layer + 1);
    tensor_t *w = fetch(s, NULL, NULL, 0, by_name(gr, wn)), *b = fetch(s, NULL, NULL, 0, by_name(gr, bn));
    ck_assert_int_eq(w->shape.dim[0], width);
    int out = (int)w->shape.dim[1];
    ck_assert_int_le(out, 128);
    for (int r = 0; r < N; r++)
      for (int c = 0; c < out; c++) {
        double acc = TENSOR_F32(b)[c];
        for (int k = 0; k < width; k++) acc += h[r][k] * TENSOR_F32(w)[k * out + c];
        next[r][c] = layer < 4 ? tanh(acc) : acc;
      }
    memcpy(h, next, sizeof h);
    width = out;
    tensor_unref(w);
    tensor_unref(b);
  }
  ck_assert_int_eq(width, 1);
  double l2 = 0;
  for (int r = 0; r < N; r++) {
    ck_assert_msg(fabs(TENSOR_F32(pred)[r] - h[r][0]) <= 1e-4 * (1 + fabs(h[r][0])), "row %d: %g vs %g", r,
                  TENSOR_F32(pred)[r], h[r][0]);
    double e = h[r][0] - ((float *)tfm_tensor_data(y))[r];
    l2 += e * e / 2;
  }
  tensor_unref(pred);
  tfm_output *loss = by_name(gr, "L2Loss");
  tensor_t *lv = fetch(s, feeds, vals, 3, loss);
  ck_assert_msg(fabs(TENSOR_F32(lv)[0] - l2) <= 1e-4 * (1 + l2), "L2Loss %g vs %g", TENSOR_F32(lv)[0], l2);
  tensor_unref(lv);
  /* Training steps with TF's own gradient graph (through Merge and Switch): with
   * dropout on, then off; the loss without dropout goes down. */
  tfm_op *adam = tfm_graph_get_operation_by_name(gr, "Adam", st);
  ck_assert_ptr_nonnull(adam);
  *(uint8_t *)tfm_tensor_data(train) = 1;
  for (int i = 0; i < 5; i++)
    ck_assert_msg(tfm_session_run(s, feeds, vals, 3, NULL, NULL, 0, &adam, 1, st) == TFM_OK, "%s",
                  tfm_status_message(st));
  *(uint8_t *)tfm_tensor_data(train) = 0;
  for (int i = 0; i < 30; i++)
    ck_assert_int_eq(tfm_session_run(s, feeds, vals, 3, NULL, NULL, 0, &adam, 1, st), TFM_OK);
  lv = fetch(s, feeds, vals, 3, loss);
  ck_assert_msg(isfinite(TENSOR_F32(lv)[0]) && TENSOR_F32(lv)[0] < l2, "loss %g after training, %g before",
                TENSOR_F32(lv)[0], l2);
  printf("ops_tf: TF 1.10 dropout network: L2Loss %.6g restored, %.6g after 35 Adam steps\n", l2,
         TENSOR_F32(lv)[0]);
  tensor_unref(lv);
  tensor_unref(x);
  tensor_unref(y);
  tensor_unref(train);
  tfm_session_delete(s);
  tfm_saver_delete(saver);
  tfm_graph_delete(gr);
}
END_TEST

/* ---- the registry against TensorFlow's graphs and docs/ops.md ---- */

/* Op types the saver helper (lib/ops/io_ops.c) provides, and tf.Example parsing. */
static const char *const not_here[] = {"SaveV2", "RestoreV2", "MergeV2Checkpoints", "ShardedFilename",
                                       "StringJoin", "ParseExample", NULL};

START_TEST(every_op_in_tensorflows_reference_graphs_is_registered) {
  const char *dir = getenv("TFM_SHARED_DIR");
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "cat '%s'/testdata/tf/*/*.dump.txt 2>/dev/null", dir ? dir : "../shared");
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  char line[8192];
  int seen = 0, missing = 0;
  char missing_list[2048] = "";
  while (fgets(line, sizeof line, p)) {
    char *at = strstr(line, "op types: {");
    if (!at) continue;
    for (char *q = strchr(at, '\''); q; q = strchr(q, '\'')) {
      char *end = strchr(q + 1, '\'');
      if (!end) break;
      *end = '\0';
      const char *type = q + 1;
      bool excused = false;
      for (int i = 0; not_here[i]; i++) excused |= strcmp(not_here[i], type) == 0;
      seen++;
      if (!op_registry_find(type) && !excused && !strstr(missing_list, type)) {
        missing++;
        strncat(missing_list, type, sizeof missing_list - strlen(missing_list) - 2);
        strncat(missing_list, " ", sizeof missing_list - strlen(missing_list) - 1);
      }
      q = end + 1;
    }
  }
  pclose(p);
  if (seen == 0) {
    printf("SKIP: no TensorFlow reference graphs under %s/testdata/tf\n", dir ? dir : "../shared");
    return;
  }
  ck_assert_msg(missing == 0, "op types of TensorFlow's graphs not registered: %s", missing_list);
}
END_TEST

static const struct {
  const op_def_t *table;
  const char *name;
} families[] = {{ops_array, "array"},       {ops_layout, "layout"}, {ops_strided_slice, "strided_slice"},
                {ops_math, "math"},         {ops_nn, "nn"},         {ops_state, "state"},
                {ops_random, "random"},     {ops_training, "training"}, {ops_control, "control"},
                {ops_io, "io"},             {ops_gather, "gather"}, {ops_parsing, "parsing"},
                {ops_summary, "summary"},   {ops_activations, "activations"}};

static const char *family_of(const op_def_t *d) {
  for (size_t f = 0; f < sizeof families / sizeof *families; f++) {
    const op_def_t *t = families[f].table;
    int n = 0;
    while (t[n].name) n++;
    if (d >= t && d < t + n) return families[f].name;
  }
  return "?";
}

/* docs/ops.md as the registry says it must read. */
static char *ops_md(void) {
  size_t cap = 1 << 16, len = 0;
  char *s = malloc(cap);
  len += (size_t)snprintf(s + len, cap - len,
                          "# Ops\n\n"
                          "Every op type libtfmini registers (`lib/ops`), by TensorFlow's name. A graph\n"
                          "that TensorFlow wrote imports when its op types are here; \"kernel\" says whether\n"
                          "it also runs. Gradient: **yes** (tf.gradients flows through it), **not\n"
                          "differentiable** (no gradient flows, as in TensorFlow), **none** (no gradient\n"
                          "defined: differentiating through it is an error naming the op).\n\n"
                          "Generated from the registry and checked by the `ops_tf` test suite; after adding\n"
                          "an op, regenerate it with `TFM_WRITE_OPS_MD=1 meson test -C build ops_tf`.\n\n"
                          "| op | family | kernel | gradient |\n|---|---|---|---|\n");
  int n = op_registry_count();
  const op_def_t **defs = malloc(sizeof *defs * (size_t)n);
  for (int i = 0; i < n; i++) defs[i] = op_registry_at(i);
  for (int i = 1; i < n; i++) /* sorted by name, case-sensitively as strcmp */
    for (int j = i; j > 0 && strcmp(defs[j - 1]->name, defs[j]->name) > 0; j--) {
      const op_def_t *t = defs[j];
      defs[j] = defs[j - 1];
      defs[j - 1] = t;
    }
  for (int i = 0; i < n; i++) {
    const op_def_t *d = defs[i];
    const char *grad = d->gradient ? "yes" : (d->flags & OP_NO_GRADIENT) ? "not differentiable" : "none";
    len += (size_t)snprintf(s + len, cap - len, "| %s | %s | %s | %s |\n", d->name, family_of(d),
                            d->compute ? "yes" : "no", grad);
  }
  free(defs);
  return s;
}

START_TEST(docs_ops_md_lists_the_registry) {
  char path[2048];
  snprintf(path, sizeof path, "%s/docs/ops.md", TFM_SOURCE_ROOT);
  char *want = ops_md();
  if (getenv("TFM_WRITE_OPS_MD")) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(want, f);
    fclose(f);
    printf("wrote %s\n", path);
  }
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "%s is missing: run TFM_WRITE_OPS_MD=1 meson test -C build ops_tf", path);
  char *have = calloc(1, 1 << 16);
  size_t n = fread(have, 1, (1 << 16) - 1, f);
  fclose(f);
  have[n] = '\0';
  if (strcmp(have, want) != 0) {
    size_t i = 0;
    while (have[i] && have[i] == want[i]) i++;
    ck_abort_msg("%s is out of date (first difference at byte %zu: '%.40s' vs '%.40s'); regenerate it with "
                 "TFM_WRITE_OPS_MD=1 meson test -C build ops_tf",
                 path, i, have + i, want + i);
  }
  free(have);
  free(want);
}
END_TEST

static Suite *ops_tf_suite(void) {
  Suite *s = suite_create("ops_tf");
  TCase *tc = tcase_create("ops");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, shape_n_gives_every_shape);
  tcase_add_test(tc, placeholder_with_default_is_fed_or_default);
  tcase_add_test(tc, snapshot_copies_and_prevent_gradient_refuses);
  tcase_add_loop_test(tc, unary_helpers_match_libm_and_differentiate, 0,
                      (int)(sizeof unary_refs / sizeof *unary_refs));
  tcase_add_test(tc, logical_ops_follow_truth_tables);
  tcase_add_test(tc, l2_loss_is_half_the_sum_of_squares);
  tcase_add_test(tc, prod_gradient_handles_zeros);
  tcase_add_loop_test(tc, activations_match_their_formulas_and_differentiate, 0,
                      (int)(sizeof activations / sizeof *activations));
  tcase_add_test(tc, leaky_relu_takes_its_alpha);
  tcase_add_test(tc, gather_v2_picks_along_any_axis);
  tcase_add_test(tc, gather_and_segment_sum_gradients_match_finite_differences);
  tcase_add_test(tc, dynamic_stitch_interleaves_as_tensorflow_documents);
  tcase_add_test(tc, shape_size_rank_range_fill_and_broadcast_args);
  tcase_add_test(tc, floor_div_mod_real_div_and_comparisons);
  tcase_add_test(tc, cast_between_every_dtype_pair);
  tcase_add_test(tc, pack_concat_zeros_ones_like_and_their_gradients);
  tcase_add_test(tc, old_variable_op_with_assign_add_sub);
  tcase_add_test(tc, assert_and_check_numerics_stop_a_run_with_the_data);
  tcase_add_test(tc, cond_runs_only_the_branch_taken);
  tcase_add_test(tc, cond_deadness_follows_control_edges);
  tcase_add_test(tc, cond_gradient_flows_through_the_branch_taken);
  tcase_add_test(tc, const_and_identity_carry_every_dtype);
  tcase_add_test(tc, tf110_dropout_network_predicts_and_trains);
  tcase_add_test(tc, every_op_in_tensorflows_reference_graphs_is_registered);
  tcase_add_test(tc, docs_ops_md_lists_the_registry);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(ops_tf_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
