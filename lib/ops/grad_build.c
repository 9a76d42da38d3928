/* Short builders for the gradient functions of lib/ops (see grad_build.h). */
#include "ops/grad_build.h"

output_t *gb_unary(graph_t *g, const char *type, output_t *x, tfm_status *st) {
  if (!x) return NULL;
  return op_build(g, type, NULL, &x, 1, NULL, 0, st);
}

output_t *gb_binary(graph_t *g, const char *type, output_t *a, output_t *b, tfm_status *st) {
  if (!a || !b) return NULL;
  output_t *in[2] = {a, b};
  return op_build(g, type, NULL, in, 2, NULL, 0, st);
}

output_t *gb_scalar_like(graph_t *g, double v, const output_t *like, tfm_status *st) {
  if (!like) return NULL;
  return op_const_scalar(g, v, like->dtype, NULL, st);
}

output_t *gb_reduce(graph_t *g, const char *type, output_t *x, output_t *axes, bool keep_dims,
                    tfm_status *st) {
  if (!x || !axes) return NULL;
  output_t *in[2] = {x, axes};
  attr_t attrs[] = {ATTR_B_V("keep_dims", keep_dims), ATTR_TYPE_V("Tidx", axes->dtype)};
  return op_build(g, type, NULL, in, 2, attrs, 2, st);
}

output_t *gb_reduce_axes(graph_t *g, const char *type, output_t *x, const int32_t *axes, int n,
                         bool keep_dims, tfm_status *st) {
  if (!x) return NULL;
  return gb_reduce(g, type, x, op_const_i32(g, axes, n, NULL, st), keep_dims, st);
}

output_t *gb_reshape_to(graph_t *g, output_t *x, const shape_t *s, tfm_status *st) {
  if (!x) return NULL;
  int32_t dims[TFM_MAX_RANK];
  for (int i = 0; i < s->rank; i++) dims[i] = (int32_t)s->dim[i];
  return gb_binary(g, "Reshape", x, op_const_i32(g, dims, s->rank, NULL, st), st);
}

output_t *gb_cast(graph_t *g, output_t *x, tfm_dtype to, tfm_status *st) {
  if (!x) return NULL;
  if (x->dtype == to) return x;
  attr_t attrs[] = {ATTR_TYPE_V("SrcT", x->dtype), ATTR_TYPE_V("DstT", to)};
  return op_build(g, "Cast", NULL, &x, 1, attrs, 2, st);
}

output_t *gb_matmul(graph_t *g, output_t *a, output_t *b, bool ta, bool tb, tfm_status *st) {
  if (!a || !b) return NULL;
  output_t *in[2] = {a, b};
  attr_t attrs[] = {ATTR_B_V("transpose_a", ta), ATTR_B_V("transpose_b", tb)};
  return op_build(g, "MatMul", NULL, in, 2, attrs, 2, st);
}

output_t *gb_select(graph_t *g, output_t *cond, output_t *a, output_t *b, tfm_status *st) {
  if (!cond || !a || !b) return NULL;
  output_t *in[3] = {cond, a, b};
  attr_t attrs[] = {ATTR_TYPE_V("T", a->dtype)};
  return op_build(g, "Select", NULL, in, 3, attrs, 1, st);
}
