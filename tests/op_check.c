/* Shared checks for the op-family suites (see op_check.h). */
#include "op_check.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

tensor_t *oc_tensor(tfm_dtype dt, const int64_t *dims, int rank, const double *vals) {
  shape_t s;
  ck_assert_int_eq(shape_make(dims, rank, false, &s, "oc_tensor", NULL), TFM_OK);
  tensor_t *t = tensor_new_zeros(dt, &s, NULL);
  ck_assert_ptr_nonnull(t);
  for (int64_t i = 0; vals && i < t->num_elements; i++) {
    switch (dt) {
      case TFM_FLOAT: TENSOR_F32(t)[i] = (float)vals[i]; break;
      case TFM_DOUBLE: TENSOR_F64(t)[i] = vals[i]; break;
      case TFM_INT32: TENSOR_I32(t)[i] = (int32_t)vals[i]; break;
      case TFM_INT64: TENSOR_I64(t)[i] = (int64_t)vals[i]; break;
      default: ck_abort_msg("oc_tensor: dtype %d", (int)dt);
    }
  }
  return t;
}

tensor_t *oc_random(const int64_t *dims, int rank, double lo, double hi, unsigned seed) {
  tensor_t *t = oc_tensor(TFM_DOUBLE, dims, rank, NULL);
  uint64_t x = 0x9E3779B97F4A7C15ull * (seed + 1);
  for (int64_t i = 0; i < t->num_elements; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    TENSOR_F64(t)[i] = lo + (hi - lo) * (double)(x >> 11) / 9007199254740992.0;
  }
  return t;
}

double oc_at(const tensor_t *t, int64_t i) { return tensor_get_f64(t, i); }

tensor_t *oc_run(graph_t *g, output_t *const *xs, tensor_t *const *vals, int n, output_t *y,
                 tfm_status *st) {
  tfm_session *s = tfm_session_new(g, st);
  ck_assert_ptr_nonnull(s);
  tfm_tensor *v = NULL;
  tfm_session_run(s, xs, vals, n, &y, &v, 1, NULL, 0, st);
  tfm_session_delete(s);
  return v;
}

node_t *oc_op(graph_t *g, const char *type, output_t *const *in, int n_in, const attr_t *attrs,
              int n_attrs, tfm_status *st) {
  node_t *n = graph_add_op(g, type, NULL, false, in, n_in, attrs, n_attrs, NULL, 0, st);
  ck_assert_msg(n != NULL, "%s: %s", type, tfm_status_message(st));
  return n;
}

output_t *oc_placeholder(graph_t *g, const int64_t *dims, int rank, const char *name, tfm_status *st) {
  output_t *p = tfm_placeholder(g, TFM_DOUBLE, dims, rank, name, st);
  ck_assert_msg(p != NULL, "%s", tfm_status_message(st));
  return p;
}

output_t *oc_placeholder_dynamic(graph_t *g, int rank, const char *name, tfm_status *st) {
  int64_t dims[TFM_MAX_RANK];
  for (int i = 0; i < rank; i++) dims[i] = -1;
  return oc_placeholder(g, dims, rank, name, st);
}

/* sum(dy * y) for the current input values. */
static double weighted_output(tfm_session *s, output_t *const *feeds, tensor_t *const *vals, int n,
                              output_t *y, const tensor_t *dy, tfm_status *st) {
  tfm_tensor *v = NULL;
  tfm_session_run(s, feeds, vals, n, &y, &v, 1, NULL, 0, st);
  ck_assert_msg(v != NULL, "%s", tfm_status_message(st));
  ck_assert_int_eq(v->num_elements, dy->num_elements);
  double acc = 0;
  for (int64_t i = 0; i < v->num_elements; i++) acc += oc_at(v, i) * TENSOR_F64(dy)[i];
  tensor_unref(v);
  return acc;
}

void oc_check_gradient(graph_t *g, node_t *op, int out, output_t *const *xs, tensor_t *const *vals,
                       int n, double tol) {
  tfm_status *st = tfm_status_new();
  output_t *y = &op->outputs[out];
  ck_assert_ptr_nonnull(op->def->gradient);

  /* The forward value gives dy's shape. */
  tensor_t *y0 = oc_run(g, xs, vals, n, y, st);
  ck_assert_msg(y0 != NULL, "%s forward: %s", op->name, tfm_status_message(st));
  tensor_t *dy_val = oc_random(y0->shape.dim, y0->shape.rank, -1, 1, 7);
  tensor_unref(y0);
  output_t *dy = oc_placeholder(g, y->shape.dim, y->shape.rank, "dy", st);

  /* The gradient, as tfm_gradients would call it. */
  output_t *dys[8] = {0}, *dxs[8] = {0};
  ck_assert_int_le(op->n_outputs, 8);
  ck_assert_int_le(op->n_inputs, 8);
  dys[out] = dy;
  char scope[300];
  snprintf(scope, sizeof scope, "%s_grad", op->name);
  for (char *c = scope; *c; c++)
    if (*c == '/') *c = '_';
  ck_assert_int_eq(graph_push_name_scope(g, "gradients", st), TFM_OK);
  ck_assert_int_eq(graph_push_name_scope(g, scope, st), TFM_OK);
  grad_ctx_t gc = {.g = g, .op = op, .dy = dys, .n_dy = op->n_outputs, .dx = dxs,
                   .n_dx = op->n_inputs, .st = st};
  tfm_code rc = op->def->gradient(&gc);
  graph_pop_name_scope(g, NULL);
  graph_pop_name_scope(g, NULL);
  ck_assert_msg(rc == TFM_OK, "%s gradient: %s", op->name, tfm_status_message(st));

  output_t *feeds[9];
  tensor_t *fvals[9];
  for (int k = 0; k < n; k++) {
    feeds[k] = xs[k];
    fvals[k] = vals[k];
  }
  feeds[n] = dy;
  fvals[n] = dy_val;
  tfm_session *s = tfm_session_new(g, st);
  ck_assert_ptr_nonnull(s);
  for (int k = 0; k < n; k++) {
    int idx = -1;
    for (int i = 0; i < op->n_inputs; i++)
      if (op->inputs[i] == xs[k]) idx = i;
    ck_assert_msg(idx >= 0, "%s: placeholder %d is not a direct input", op->name, k);
    ck_assert_msg(dxs[idx] != NULL, "%s: no gradient for input %d", op->name, idx);
    ck_assert_msg(shape_compatible(&dxs[idx]->shape, &xs[k]->shape), "%s: dx %d has the wrong shape",
                  op->name, idx);
    tfm_tensor *dx = NULL;
    tfm_session_run(s, feeds, fvals, n + 1, &dxs[idx], &dx, 1, NULL, 0, st);
    ck_assert_msg(dx != NULL, "%s dx %d: %s", op->name, idx, tfm_status_message(st));
    ck_assert_msg(shape_equal(&dx->shape, &vals[k]->shape), "%s: dx %d has shape rank %d", op->name,
                  idx, dx->shape.rank);
    double *x = TENSOR_F64(vals[k]);
    for (int64_t j = 0; j < vals[k]->num_elements; j++) {
      double keep = x[j], h = 1e-6 * (fabs(keep) > 1 ? fabs(keep) : 1);
      x[j] = keep + h;
      double fp = weighted_output(s, feeds, fvals, n, y, dy_val, st);
      x[j] = keep - h;
      double fm = weighted_output(s, feeds, fvals, n, y, dy_val, st);
      x[j] = keep;
      double numeric = (fp - fm) / (2 * h), analytic = oc_at(dx, j);
      ck_assert_msg(fabs(numeric - analytic) <= tol * (1 + fabs(numeric)),
                    "%s '%s': d/d input %d [%lld]: gradient %.10g, finite difference %.10g", op->type,
                    op->name, idx, (long long)j, analytic, numeric);
    }
    tensor_unref(dx);
  }
  tfm_session_delete(s);
  tensor_unref(dy_val);
  tfm_status_delete(st);
}
