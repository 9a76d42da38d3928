/* Array ops: constants, placeholders, identity, and ops that reshape, describe or
 * fill tensors (Reshape, Shape, Size, Rank, ExpandDims, Squeeze, Fill, ZerosLike,
 * OnesLike, Range). Ops that rearrange elements are in layout.c, StridedSlice in
 * strided_slice.c.
 * Each op's attrs, shape function, kernel, gradient and public builder sit
 * together. Shape functions also compute const_value when it is cheap and the
 * inputs are known (Shape of a fully known shape), so that Reshape(x, Shape(y))
 * is known at build time. */
#include <math.h>
#include <string.h>

#include "core/mem.h"
#include "kernels/kernels.h"
#include "ops/build.h"
#include "tfmini/ops.h"

/* Copies the known dims of a shape into an int vector constant of dtype dt. */
static tensor_t *shape_to_tensor(const shape_t *s, tfm_dtype dt) {
  shape_t v = shape_vector(s->rank);
  tensor_t *t = tensor_new(dt, &v, NULL);
  if (!t) return NULL;
  for (int i = 0; i < s->rank; i++) {
    if (dt == TFM_INT64) TENSOR_I64(t)[i] = s->dim[i];
    else TENSOR_I32(t)[i] = (int32_t)s->dim[i];
  }
  return t;
}

static int64_t num_elements_or(const shape_t *s, int64_t fallback) {
  int64_t n;
  if (shape_num_elements(s, &n, NULL) != TFM_OK || n < 0) return fallback;
  return n;
}

/* ---- Const ---- */

static const attr_def_t const_attrs[] = {
    {"value", ATTR_TENSOR, {0}}, {"dtype", ATTR_TYPE, {0}}, {NULL}};

static tfm_code const_infer(node_t *n, tfm_status *st) {
  const attr_value_t *v = node_attr(n, "value");
  int dt = node_attr_type(n, "dtype", TFM_INVALID);
  if (!v->u.tensor) return node_error(n, st, TFM_INVALID_ARGUMENT, "attr 'value' holds no tensor");
  if (dt != (int)v->u.tensor->dtype)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "attr dtype %s differs from the value's dtype %s",
                      dtype_name((tfm_dtype)dt), dtype_name(v->u.tensor->dtype));
  n->outputs[0].dtype = v->u.tensor->dtype;
  n->outputs[0].shape = v->u.tensor->shape;
  output_set_const(n, 0, tensor_ref(v->u.tensor));
  return TFM_OK;
}

static tfm_code const_compute(kctx_t *c) {
  kctx_set_output(c, 0, node_attr(c->node, "value")->u.tensor);
  return TFM_OK;
}

TFM_API tfm_output *tfm_constant(tfm_graph *g, tfm_tensor *value, const char *name, tfm_status *st) {
  if (!value) {
    status_set(st, TFM_INVALID_ARGUMENT, "tfm_constant: value is NULL");
    return NULL;
  }
  tensor_t *copy = tensor_copy(value, st);
  if (!copy) return NULL;
  output_t *o = op_const_tensor(graph_or_default(g), copy, name, st);
  tensor_unref(copy);
  return o;
}

TFM_API tfm_output *tfm_scalar(tfm_graph *g, double value, tfm_dtype dtype, const char *name,
                               tfm_status *st) {
  return op_const_scalar(graph_or_default(g), value, dtype, name, st);
}

TFM_API tfm_output *tfm_constant_f32(tfm_graph *g, const float *values, const int64_t *dims, int rank,
                                     const char *name, tfm_status *st) {
  shape_t s;
  if (shape_make(dims, rank, false, &s, "tfm_constant_f32", st) != TFM_OK) return NULL;
  tensor_t *t = tensor_new(TFM_FLOAT, &s, st);
  if (!t) return NULL;
  if (t->nbytes && !values) {
    tensor_unref(t);
    status_set(st, TFM_INVALID_ARGUMENT, "tfm_constant_f32: values is NULL");
    return NULL;
  }
  if (t->nbytes) memcpy(t->data, values, t->nbytes);
  output_t *o = op_const_tensor(graph_or_default(g), t, name, st);
  tensor_unref(t);
  return o;
}

TFM_API tfm_output *tfm_constant_i32(tfm_graph *g, const int32_t *values, int64_t n, const char *name,
                                     tfm_status *st) {
  if (n < 0 || (n && !values)) {
    status_set(st, TFM_INVALID_ARGUMENT, "tfm_constant_i32: %lld values given as %p", (long long)n,
               (const void *)values);
    return NULL;
  }
  return op_const_i32(graph_or_default(g), values, n, name, st);
}

/* ---- Placeholder ---- */

static const attr_def_t placeholder_attrs[] = {
    {"dtype", ATTR_TYPE, {0}},
    {"shape", ATTR_SHAPE, {.kind = ATTR_SHAPE, .u.shape = {.rank = SHAPE_UNKNOWN_RANK}}},
    {NULL}};

static tfm_code placeholder_infer(node_t *n, tfm_status *st) {
  (void)st;
  n->outputs[0].dtype = (tfm_dtype)node_attr_type(n, "dtype", TFM_INVALID);
  n->outputs[0].shape = node_attr(n, "shape")->u.shape;
  return TFM_OK;
}

static tfm_code placeholder_compute(kctx_t *c) {
  char buf[SHAPE_STR_MAX];
  return kctx_error(c, TFM_INVALID_ARGUMENT,
                    "You must feed a value for placeholder tensor '%s' with dtype %s and shape %s",
                    c->node->name, dtype_name(c->node->outputs[0].dtype),
                    shape_str(&c->node->outputs[0].shape, buf));
}

TFM_API tfm_output *tfm_placeholder(tfm_graph *g, tfm_dtype dtype, const int64_t *dims, int rank,
                                    const char *name, tfm_status *st) {
  shape_t s = shape_unknown();
  if (rank >= 0 && shape_make(dims, rank, true, &s, "tfm_placeholder", st) != TFM_OK) return NULL;
  if (!dtype_is_valid(dtype)) {
    status_set(st, TFM_INVALID_ARGUMENT, "tfm_placeholder: unsupported dtype %d", (int)dtype);
    return NULL;
  }
  attr_t attrs[] = {ATTR_TYPE_V("dtype", dtype), ATTR_SHAPE_V("shape", s)};
  return op_build(graph_or_default(g), "Placeholder", name, NULL, 0, attrs, 2, st);
}

/* ---- Identity ---- */

static const attr_def_t t_only_attrs[] = {T_ATTR_REQUIRED, {NULL}};

static tfm_code identity_infer(node_t *n, tfm_status *st) {
  tfm_code rc = infer_same_as_input0(n, st);
  if (rc == TFM_OK && n->inputs[0]->const_value)
    output_set_const(n, 0, tensor_ref(n->inputs[0]->const_value));
  return rc;
}

static tfm_code identity_compute(kctx_t *c) {
  if (!c->in[0]) return kctx_error(c, TFM_FAILED_PRECONDITION, "input 0 has no value");
  kctx_set_output(c, 0, c->in[0]);
  return TFM_OK;
}

static tfm_code identity_grad(grad_ctx_t *g) {
  g->dx[0] = (output_t *)g->dy[0];
  return TFM_OK;
}

TFM_API tfm_output *tfm_identity(tfm_graph *g, tfm_output *x, const char *name, tfm_status *st) {
  if (!builder_inputs_ok("tfm_identity", st, 1, x)) return NULL;
  return op_build(graph_or_default(g), "Identity", name, &x, 1, NULL, 0, st);
}

/* ---- Reshape ---- */

static const attr_def_t reshape_attrs[] = {T_ATTR_REQUIRED, INDEX_ATTR("Tshape"), {NULL}};

/* Resolves one -1 in `want` against `count` elements. `count` < 0: unknown. */
static tfm_code reshape_resolve(const node_t *n, const shape_t *in, const int64_t *dims, int rank,
                                shape_t *out, tfm_status *st) {
  char is[SHAPE_STR_MAX], ws[SHAPE_STR_MAX], xn[256], sn[256];
  int64_t count = num_elements_or(in, -1), known = 1;
  int infer_at = -1;
  shape_t want = {.rank = rank};
  for (int i = 0; i < rank; i++) {
    want.dim[i] = dims[i];
    if (dims[i] == -1) {
      if (infer_at >= 0)
        return node_error(n, st, TFM_INVALID_ARGUMENT, "can only infer one dimension of shape %s",
                          shape_str(&want, ws));
      infer_at = i;
    } else if (dims[i] < 0) {
      return node_error(n, st, TFM_INVALID_ARGUMENT, "dimension %d of the shape is %lld", i,
                        (long long)dims[i]);
    } else {
      known *= dims[i];
    }
  }
  *out = want;
  if (count < 0) return TFM_OK;
  if (infer_at >= 0) {
    if (known == 0 || count % known != 0) goto mismatch;
    out->dim[infer_at] = count / known;
  } else if (known != count) {
    goto mismatch;
  }
  return TFM_OK;
mismatch:
  return node_error(n, st, TFM_INVALID_ARGUMENT,
                    "cannot reshape a tensor with %lld elements (shape %s, '%s') to shape %s "
                    "('%s', %lld elements)",
                    (long long)count, shape_str(in, is), output_name(n->inputs[0], xn, sizeof xn),
                    shape_str(&want, ws), output_name(n->inputs[1], sn, sizeof sn), (long long)known);
}

static tfm_code reshape_infer(node_t *n, tfm_status *st) {
  const output_t *x = n->inputs[0], *s = n->inputs[1];
  n->outputs[0].dtype = x->dtype;
  int64_t dims[TFM_MAX_RANK];
  int rank;
  if (s->shape.rank > 1)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "the shape input must be a vector, got rank %d",
                      s->shape.rank);
  if (!input_const_ints(n, 1, dims, TFM_MAX_RANK, &rank)) {
    shape_t out = shape_unknown();
    if (s->shape.rank == 1 && s->shape.dim[0] >= 0 && s->shape.dim[0] <= TFM_MAX_RANK) {
      out.rank = (int)s->shape.dim[0];
      for (int i = 0; i < out.rank; i++) out.dim[i] = -1;
    }
    n->outputs[0].shape = out;
    return TFM_OK;
  }
  if (reshape_resolve(n, &x->shape, dims, rank, &n->outputs[0].shape, st) != TFM_OK)
    return TFM_INVALID_ARGUMENT;
  if (x->const_value && shape_is_fully_defined(&n->outputs[0].shape))
    output_set_const(n, 0, tensor_reshaped(x->const_value, &n->outputs[0].shape, NULL));
  return TFM_OK;
}

/* Passes x through with a new shape (same buffer). */
static tfm_code reshape_to(kctx_t *c, const shape_t *s) {
  return kctx_set_output_view(c, 0, c->in[0], s) ? TFM_OK : status_code(c->st);
}

static tfm_code reshape_compute(kctx_t *c) {
  const tensor_t *s = c->in[1];
  if (s->shape.rank > 1 || s->num_elements > TFM_MAX_RANK)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "the shape input must be a vector of at most %d dims",
                      TFM_MAX_RANK);
  int64_t dims[TFM_MAX_RANK];
  for (int64_t i = 0; i < s->num_elements; i++) dims[i] = tensor_get_i64(s, i);
  shape_t out;
  if (reshape_resolve(c->node, &c->in[0]->shape, dims, (int)s->num_elements, &out, c->st) != TFM_OK)
    return TFM_INVALID_ARGUMENT;
  return reshape_to(c, &out);
}

/* dx = reshape(dy, shape(x)): shared by Reshape, ExpandDims and Squeeze. */
static tfm_code reshape_back_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  output_t *x = g->op->inputs[0];
  output_t *shape = op_build(g->g, "Shape", NULL, &x, 1, NULL, 0, g->st);
  if (!shape) return status_code(g->st);
  output_t *in[2] = {(output_t *)g->dy[0], shape};
  g->dx[0] = op_build(g->g, "Reshape", NULL, in, 2, NULL, 0, g->st);
  return g->dx[0] ? TFM_OK : status_code(g->st);
}

static output_t *dims_const(graph_t *g, const int64_t *dims, int rank, const char *what,
                            const char *name, tfm_status *st) {
  int32_t v[TFM_MAX_RANK];
  if (rank < 0 || rank > TFM_MAX_RANK || (rank && !dims)) {
    status_set(st, TFM_INVALID_ARGUMENT, "%s: rank %d is outside 0..%d", what, rank, TFM_MAX_RANK);
    return NULL;
  }
  for (int i = 0; i < rank; i++) {
    if (dims[i] < -1 || dims[i] > INT32_MAX) {
      status_set(st, TFM_INVALID_ARGUMENT, "%s: dimension %d is %lld", what, i, (long long)dims[i]);
      return NULL;
    }
    v[i] = (int32_t)dims[i];
  }
  return op_const_i32(g, v, rank, name, st);
}

TFM_API tfm_output *tfm_reshape(tfm_graph *g, tfm_output *x, const int64_t *dims, int rank,
                                const char *name, tfm_status *st) {
  if (!builder_inputs_ok("tfm_reshape", st, 1, x)) return NULL;
  graph_t *gr = graph_or_default(g);
  /* As tf.reshape: the shape constant is "<name>/shape", the op "<name>". */
  char *scope = op_scope_push(gr, name, "Reshape", st);
  if (!scope) return NULL;
  output_t *s = dims_const(gr, dims, rank, "tfm_reshape", "shape", st);
  graph_pop_name_scope(gr, NULL);
  output_t *in[2] = {x, s};
  output_t *r = s ? op_build_exact(gr, "Reshape", scope, in, 2, NULL, 0, st) : NULL;
  mem_free(scope);
  return r;
}

/* ---- Shape, Size, Rank ---- */

static const attr_def_t shape_attrs[] = {T_ATTR_REQUIRED, INDEX_ATTR("out_type"), {NULL}};
static const attr_def_t rank_attrs[] = {T_ATTR_REQUIRED, {NULL}};

static tfm_code out_type_ok(node_t *n, tfm_dtype *dt, tfm_status *st) {
  *dt = (tfm_dtype)node_attr_type(n, "out_type", TFM_INT32);
  if (*dt != TFM_INT32 && *dt != TFM_INT64)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "out_type must be int32 or int64, got %s",
                      dtype_name(*dt));
  return TFM_OK;
}

static tfm_code shape_infer(node_t *n, tfm_status *st) {
  tfm_dtype dt;
  if (out_type_ok(n, &dt, st) != TFM_OK) return TFM_INVALID_ARGUMENT;
  const shape_t *in = &n->inputs[0]->shape;
  n->outputs[0].dtype = dt;
  n->outputs[0].shape = shape_vector(in->rank >= 0 ? in->rank : -1);
  if (shape_is_fully_defined(in)) output_set_const(n, 0, shape_to_tensor(in, dt));
  return TFM_OK;
}

static tfm_code shape_compute(kctx_t *c) {
  const shape_t *s = &c->in[0]->shape;
  shape_t v = shape_vector(s->rank);
  tensor_t *out = kctx_alloc_output(c, 0, c->node->outputs[0].dtype, &v);
  if (!out) return status_code(c->st);
  for (int i = 0; i < s->rank; i++) {
    if (out->dtype == TFM_INT64) TENSOR_I64(out)[i] = s->dim[i];
    else TENSOR_I32(out)[i] = (int32_t)s->dim[i];
  }
  return TFM_OK;
}

static tensor_t *int_scalar(tfm_dtype dt, int64_t v) {
  return dt == TFM_INT64 ? tensor_scalar_i64(v, NULL) : tensor_scalar_i32((int32_t)v, NULL);
}

static tfm_code size_infer(node_t *n, tfm_status *st) {
  tfm_dtype dt;
  if (out_type_ok(n, &dt, st) != TFM_OK) return TFM_INVALID_ARGUMENT;
  n->outputs[0].dtype = dt;
  n->outputs[0].shape = shape_scalar();
  int64_t count = num_elements_or(&n->inputs[0]->shape, -1);
  if (count >= 0) output_set_const(n, 0, int_scalar(dt, count));
  return TFM_OK;
}

static tfm_code put_int_scalar(kctx_t *c, int64_t v) {
  shape_t s = shape_scalar();
  tensor_t *out = kctx_alloc_output(c, 0, c->node->outputs[0].dtype, &s);
  if (!out) return status_code(c->st);
  if (out->dtype == TFM_INT64) TENSOR_I64(out)[0] = v;
  else TENSOR_I32(out)[0] = (int32_t)v;
  return TFM_OK;
}

static tfm_code size_compute(kctx_t *c) { return put_int_scalar(c, c->in[0]->num_elements); }

static tfm_code rank_infer(node_t *n, tfm_status *st) {
  (void)st;
  n->outputs[0].dtype = TFM_INT32;
  n->outputs[0].shape = shape_scalar();
  if (n->inputs[0]->shape.rank >= 0) output_set_const(n, 0, int_scalar(TFM_INT32, n->inputs[0]->shape.rank));
  return TFM_OK;
}

static tfm_code rank_compute(kctx_t *c) { return put_int_scalar(c, c->in[0]->shape.rank); }

TFM_API tfm_output *tfm_shape(tfm_graph *g, tfm_output *x, const char *name, tfm_status *st) {
  if (!builder_inputs_ok("tfm_shape", st, 1, x)) return NULL;
  return op_build(graph_or_default(g), "Shape", name, &x, 1, NULL, 0, st);
}

/* ---- ExpandDims, Squeeze ---- */

static const attr_def_t expand_dims_attrs[] = {T_ATTR_REQUIRED, INDEX_ATTR("Tdim"), {NULL}};

static tfm_code expand_shape(const node_t *n, const shape_t *in, int64_t axis, shape_t *out,
                             tfm_status *st) {
  if (in->rank >= TFM_MAX_RANK)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "rank %d cannot grow past %d", in->rank, TFM_MAX_RANK);
  if (axis < -in->rank - 1 || axis > in->rank)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "axis %lld is outside [%d, %d] for rank %d",
                      (long long)axis, -in->rank - 1, in->rank, in->rank);
  if (axis < 0) axis += in->rank + 1;
  out->rank = in->rank + 1;
  for (int i = 0, j = 0; i < out->rank; i++) out->dim[i] = i == axis ? 1 : in->dim[j++];
  return TFM_OK;
}

static tfm_code expand_dims_infer(node_t *n, tfm_status *st) {
  const output_t *x = n->inputs[0];
  int64_t axis;
  int count;
  n->outputs[0].dtype = x->dtype;
  n->outputs[0].shape = shape_unknown();
  if (x->shape.rank < 0 || !input_const_ints(n, 1, &axis, 1, &count) || count != 1) return TFM_OK;
  if (expand_shape(n, &x->shape, axis, &n->outputs[0].shape, st) != TFM_OK) return TFM_INVALID_ARGUMENT;
  return TFM_OK;
}

static tfm_code expand_dims_compute(kctx_t *c) {
  shape_t out;
  if (c->in[1]->num_elements != 1)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "dim must hold one value, got %lld",
                      (long long)c->in[1]->num_elements);
  if (expand_shape(c->node, &c->in[0]->shape, tensor_get_i64(c->in[1], 0), &out, c->st) != TFM_OK)
    return TFM_INVALID_ARGUMENT;
  return reshape_to(c, &out);
}

TFM_API tfm_output *tfm_expand_dims(tfm_graph *g, tfm_output *x, int axis, const char *name,
                                    tfm_status *st) {
  if (!builder_inputs_ok("tfm_expand_dims", st, 1, x)) return NULL;
  graph_t *gr = graph_or_default(g);
  char *scope = op_scope_push(gr, name, "ExpandDims", st);
  if (!scope) return NULL;
  output_t *d = op_const_scalar(gr, axis, TFM_INT32, "dim", st);
  graph_pop_name_scope(gr, NULL);
  output_t *in[2] = {x, d};
  output_t *r = d ? op_build_exact(gr, "ExpandDims", scope, in, 2, NULL, 0, st) : NULL;
  mem_free(scope);
  return r;
}

static const attr_def_t squeeze_attrs[] = {
    T_ATTR_REQUIRED, {"squeeze_dims", ATTR_LIST_I, {.kind = ATTR_LIST_I}}, {NULL}};

static tfm_code squeeze_shape(const node_t *n, const shape_t *in, shape_t *out, tfm_status *st) {
  const attr_value_t *a = node_attr(n, "squeeze_dims");
  int na = a->kind == ATTR_LIST_I ? a->u.list.n : 0;
  bool drop[TFM_MAX_RANK] = {false};
  char buf[SHAPE_STR_MAX];
  if (in->rank < 0) {
    *out = shape_unknown();
    return TFM_OK;
  }
  for (int k = 0; k < na; k++) {
    int64_t d = a->u.list.i[k];
    if (d < -in->rank || d >= in->rank)
      return node_error(n, st, TFM_INVALID_ARGUMENT, "squeeze dim %lld is outside [%d, %d) for shape %s",
                        (long long)d, -in->rank, in->rank, shape_str(in, buf));
    if (d < 0) d += in->rank;
    if (in->dim[d] != 1 && in->dim[d] != -1)
      return node_error(n, st, TFM_INVALID_ARGUMENT,
                        "cannot squeeze dim %lld of shape %s: expected a size of 1, got %lld",
                        (long long)d, shape_str(in, buf), (long long)in->dim[d]);
    drop[d] = true;
  }
  out->rank = 0;
  for (int i = 0; i < in->rank; i++) {
    if (na == 0 && in->dim[i] == -1) {
      *out = shape_unknown(); /* cannot tell whether it will be squeezed */
      return TFM_OK;
    }
    if (na ? drop[i] : in->dim[i] == 1) continue;
    out->dim[out->rank++] = in->dim[i];
  }
  return TFM_OK;
}

static tfm_code squeeze_infer(node_t *n, tfm_status *st) {
  n->outputs[0].dtype = n->inputs[0]->dtype;
  return squeeze_shape(n, &n->inputs[0]->shape, &n->outputs[0].shape, st);
}

static tfm_code squeeze_compute(kctx_t *c) {
  shape_t out;
  if (squeeze_shape(c->node, &c->in[0]->shape, &out, c->st) != TFM_OK) return TFM_INVALID_ARGUMENT;
  return reshape_to(c, &out);
}

TFM_API tfm_output *tfm_squeeze(tfm_graph *g, tfm_output *x, const int32_t *axes, int n_axes,
                                const char *name, tfm_status *st) {
  if (!builder_inputs_ok("tfm_squeeze", st, 1, x)) return NULL;
  if (n_axes < 0 || n_axes > TFM_MAX_RANK || (n_axes && !axes)) {
    status_set(st, TFM_INVALID_ARGUMENT, "tfm_squeeze: %d axes", n_axes);
    return NULL;
  }
  int64_t dims[TFM_MAX_RANK];
  for (int i = 0; i < n_axes; i++) dims[i] = axes[i];
  attr_t a = {.name = "squeeze_dims", .value = {.kind = ATTR_LIST_I, .u.list = {.n = n_axes, .i = dims}}};
  return op_build(graph_or_default(g), "Squeeze", name, &x, 1, &a, 1, st);
}

/* ---- Fill, ZerosLike, OnesLike ---- */

static const attr_def_t fill_attrs[] = {T_ATTR_REQUIRED, INDEX_ATTR("index_type"), {NULL}};

static tfm_code dims_from_input(const node_t *n, int input, shape_t *out, tfm_status *st) {
  int64_t dims[TFM_MAX_RANK];
  int count;
  const output_t *d = n->inputs[input];
  *out = shape_unknown();
  if (d->shape.rank > 1)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "dims must be a vector, got rank %d", d->shape.rank);
  if (input_const_ints(n, input, dims, TFM_MAX_RANK, &count)) {
    for (int i = 0; i < count; i++)
      if (dims[i] < 0)
        return node_error(n, st, TFM_INVALID_ARGUMENT, "dimension %d is %lld", i, (long long)dims[i]);
    return shape_make(dims, count, false, out, n->name, st);
  }
  if (d->shape.rank == 1 && d->shape.dim[0] >= 0 && d->shape.dim[0] <= TFM_MAX_RANK) {
    out->rank = (int)d->shape.dim[0];
    for (int i = 0; i < out->rank; i++) out->dim[i] = -1;
  }
  return TFM_OK;
}

static tfm_code fill_infer(node_t *n, tfm_status *st) {
  const output_t *v = n->inputs[1];
  char buf[SHAPE_STR_MAX], vn[256];
  if (v->shape.rank > 0)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "value must be a scalar, got shape %s ('%s')",
                      shape_str(&v->shape, buf), output_name(v, vn, sizeof vn));
  n->outputs[0].dtype = v->dtype;
  return dims_from_input(n, 0, &n->outputs[0].shape, st);
}

static tfm_code shape_from_tensor(kctx_t *c, const tensor_t *d, shape_t *s) {
  if (d->shape.rank != 1 || d->num_elements > TFM_MAX_RANK)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "dims must be a vector of at most %d entries", TFM_MAX_RANK);
  int64_t dims[TFM_MAX_RANK];
  for (int64_t i = 0; i < d->num_elements; i++) dims[i] = tensor_get_i64(d, i);
  if (shape_make(dims, (int)d->num_elements, false, s, c->node->name, c->st) != TFM_OK)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "dims hold a negative size");
  return TFM_OK;
}

static tfm_code fill_compute(kctx_t *c) {
  shape_t s;
  if (shape_from_tensor(c, c->in[0], &s) != TFM_OK) return TFM_INVALID_ARGUMENT;
  tensor_t *out = kctx_alloc_output(c, 0, c->in[1]->dtype, &s);
  if (!out) return status_code(c->st);
  return kern_fill(c->in[1], out, c->st);
}

static tfm_code fill_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  g->dx[1] = op_sum_all(g->g, (output_t *)g->dy[0], g->st);
  return g->dx[1] ? TFM_OK : status_code(g->st);
}

static tfm_code fill_scalar_like(kctx_t *c, double v) {
  const tensor_t *x = c->in[0];
  if (x->dtype == TFM_STRING) return kctx_error(c, TFM_UNIMPLEMENTED, "string tensors are not supported");
  tensor_t *out = kctx_alloc_output(c, 0, x->dtype, &x->shape);
  if (!out) return status_code(c->st);
  tensor_t one;
  unsigned char buf[8];
  scalar_view(&one, x->dtype, buf, v);
  return kern_fill(&one, out, c->st);
}

static tfm_code zeros_like_compute(kctx_t *c) { return fill_scalar_like(c, 0.0); }
static tfm_code ones_like_compute(kctx_t *c) { return fill_scalar_like(c, 1.0); }

TFM_API tfm_output *tfm_fill(tfm_graph *g, tfm_output *dims, tfm_output *value, const char *name,
                             tfm_status *st) {
  if (!builder_inputs_ok("tfm_fill", st, 2, dims, value)) return NULL;
  output_t *in[2] = {dims, value};
  return op_build(graph_or_default(g), "Fill", name, in, 2, NULL, 0, st);
}

/* tf.zeros / tf.ones: a Const when it has fewer than 1000 elements, else
 * Fill("<name>/shape_as_tensor", "<name>/Const"), as TensorFlow builds them. */
static output_t *filled(graph_t *g, const int64_t *dims, int rank, tfm_dtype dtype, double v,
                        const char *name, const char *dflt, const char *fn, tfm_status *st) {
  shape_t s;
  if (shape_make(dims, rank, false, &s, fn, st) != TFM_OK) return NULL;
  if (!dtype_is_valid(dtype) || dtype == TFM_STRING) {
    status_set(st, TFM_INVALID_ARGUMENT, "%s: unsupported dtype %d", fn, (int)dtype);
    return NULL;
  }
  int64_t count;
  if (shape_num_elements(&s, &count, st) != TFM_OK) return NULL;
  char *scope = op_scope_push(g, name, dflt, st);
  if (!scope) return NULL;
  output_t *r = NULL;
  if (count < 1000) {
    graph_pop_name_scope(g, NULL);
    tensor_t *t = tensor_new(dtype, &s, st), one;
    unsigned char buf[8];
    scalar_view(&one, dtype, buf, v);
    if (t && kern_fill(&one, t, st) == TFM_OK) {
      attr_t attrs[] = {ATTR_TENSOR_V("value", t), ATTR_TYPE_V("dtype", dtype)};
      r = op_build_exact(g, "Const", scope, NULL, 0, attrs, 2, st);
    }
    tensor_unref(t);
  } else {
    output_t *d = dims_const(g, dims, rank, fn, "shape_as_tensor", st);
    output_t *c = d ? op_const_scalar(g, v, dtype, "Const", st) : NULL;
    graph_pop_name_scope(g, NULL);
    output_t *in[2] = {d, c};
    if (c) r = op_build_exact(g, "Fill", scope, in, 2, NULL, 0, st);
  }
  mem_free(scope);
  return r;
}

TFM_API tfm_output *tfm_zeros(tfm_graph *g, const int64_t *dims, int rank, tfm_dtype dtype,
                              const char *name, tfm_status *st) {
  return filled(graph_or_default(g), dims, rank, dtype, 0.0, name, "zeros", "tfm_zeros", st);
}

TFM_API tfm_output *tfm_ones(tfm_graph *g, const int64_t *dims, int rank, tfm_dtype dtype,
                             const char *name, tfm_status *st) {
  return filled(graph_or_default(g), dims, rank, dtype, 1.0, name, "ones", "tfm_ones", st);
}

/* ---- Range ---- */

static const attr_def_t range_attrs[] = {
    {"Tidx", ATTR_TYPE, {.kind = ATTR_TYPE, .u.type = TFM_INT32}}, {NULL}};

static tfm_code range_size(const node_t *n, double start, double limit, double delta, int64_t *size,
                           tfm_status *st) {
  if (delta == 0) return node_error(n, st, TFM_INVALID_ARGUMENT, "delta must not be 0");
  if ((delta > 0 && start > limit) || (delta < 0 && start < limit))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "start %g and limit %g do not agree with delta %g",
                      start, limit, delta);
  double s = (limit - start) / delta;
  int64_t k = (int64_t)s;
  *size = (double)k < s ? k + 1 : k;
  return TFM_OK;
}

static tfm_code range_infer(node_t *n, tfm_status *st) {
  tfm_dtype dt = (tfm_dtype)node_attr_type(n, "Tidx", TFM_INT32);
  n->outputs[0].dtype = dt;
  n->outputs[0].shape = shape_vector(-1);
  for (int i = 0; i < 3; i++)
    if (n->inputs[i]->dtype != dt)
      return node_error(n, st, TFM_INVALID_ARGUMENT, "input %d is %s, expected %s", i,
                        dtype_name(n->inputs[i]->dtype), dtype_name(dt));
  double v[3];
  for (int i = 0; i < 3; i++) {
    const tensor_t *t = n->inputs[i]->const_value;
    if (!t || t->num_elements != 1) return TFM_OK;
    v[i] = tensor_get_f64(t, 0);
  }
  return range_size(n, v[0], v[1], v[2], &n->outputs[0].shape.dim[0], st);
}

static tfm_code range_compute(kctx_t *c) {
  double v[3];
  for (int i = 0; i < 3; i++) {
    if (c->in[i]->num_elements != 1) return kctx_error(c, TFM_INVALID_ARGUMENT, "input %d must be a scalar", i);
    v[i] = tensor_get_f64(c->in[i], 0);
  }
  shape_t s = shape_vector(0);
  if (range_size(c->node, v[0], v[1], v[2], &s.dim[0], c->st) != TFM_OK) return TFM_INVALID_ARGUMENT;
  tensor_t *out = kctx_alloc_output(c, 0, c->node->outputs[0].dtype, &s);
  if (!out) return status_code(c->st);
  for (int64_t i = 0; i < s.dim[0]; i++) {
    switch (out->dtype) {
      case TFM_FLOAT: TENSOR_F32(out)[i] = (float)(v[0] + (double)i * v[2]); break;
      case TFM_DOUBLE: TENSOR_F64(out)[i] = v[0] + (double)i * v[2]; break;
      case TFM_INT64: TENSOR_I64(out)[i] = tensor_get_i64(c->in[0], 0) + i * tensor_get_i64(c->in[2], 0); break;
      default: TENSOR_I32(out)[i] = (int32_t)(tensor_get_i64(c->in[0], 0) + i * tensor_get_i64(c->in[2], 0)); break;
    }
  }
  return TFM_OK;
}

/* ---- ShapeN: the shapes of N tensors (TF's gradient code for ConcatV2 uses it) ---- */

static const attr_def_t shape_n_attrs[] = {{"N", ATTR_I, {0}}, T_ATTR_REQUIRED, INDEX_ATTR("out_type"), {NULL}};

static int shape_n_num_outputs(const node_t *n) {
  int64_t num = node_attr_int(n, "N", -1);
  return num < 1 || num > 100000 ? -1 : (int)num;
}

static tfm_code shape_n_infer(node_t *n, tfm_status *st) {
  tfm_dtype dt;
  if (out_type_ok(n, &dt, st) != TFM_OK) return TFM_INVALID_ARGUMENT;
  if (n->n_inputs != n->n_outputs)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "N = %d but %d inputs", n->n_outputs, n->n_inputs);
  for (int i = 0; i < n->n_inputs; i++) {
    const shape_t *in = &n->inputs[i]->shape;
    n->outputs[i].dtype = dt;
    n->outputs[i].shape = shape_vector(in->rank >= 0 ? in->rank : -1);
    if (shape_is_fully_defined(in)) output_set_const(n, i, shape_to_tensor(in, dt));
  }
  return TFM_OK;
}

static tfm_code shape_n_compute(kctx_t *c) {
  for (int k = 0; k < c->n_in; k++) {
    const shape_t *s = &c->in[k]->shape;
    shape_t v = shape_vector(s->rank);
    tensor_t *out = kctx_alloc_output(c, k, c->node->outputs[k].dtype, &v);
    if (!out) return status_code(c->st);
    for (int i = 0; i < s->rank; i++) {
      if (out->dtype == TFM_INT64) TENSOR_I64(out)[i] = s->dim[i];
      else TENSOR_I32(out)[i] = (int32_t)s->dim[i];
    }
  }
  return TFM_OK;
}

/* ---- PlaceholderWithDefault: its input unless fed ---- */

static const attr_def_t placeholder_default_attrs[] = {
    {"dtype", ATTR_TYPE, {0}},
    {"shape", ATTR_SHAPE, {0}},
    {NULL}};

static tfm_code placeholder_default_infer(node_t *n, tfm_status *st) {
  const output_t *in = n->inputs[0];
  tfm_dtype dt = (tfm_dtype)node_attr_type(n, "dtype", in->dtype);
  const attr_value_t *shape = node_attr(n, "shape");
  char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
  if (dt != in->dtype)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "dtype %s but the default is %s", dtype_name(dt),
                      dtype_name(in->dtype));
  n->outputs[0].dtype = dt;
  n->outputs[0].shape = shape && shape->kind == ATTR_SHAPE ? shape->u.shape : in->shape;
  if (!shape_compatible(&in->shape, &n->outputs[0].shape))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "the default's shape %s is not compatible with %s",
                      shape_str(&in->shape, a), shape_str(&n->outputs[0].shape, b));
  /* No build-time value: a feed may replace the default. */
  return TFM_OK;
}

/* ---- Snapshot: a copy that later in-place updates of the input do not change ---- */

static tfm_code snapshot_compute(kctx_t *c) {
  tensor_t *t = tensor_copy(c->in[0], c->st);
  if (!t) return status_code(c->st);
  kctx_set_output(c, 0, t);
  tensor_unref(t);
  return TFM_OK;
}

/* ---- CheckNumerics: identity that fails on NaN or infinity ---- */

static const attr_def_t check_numerics_attrs[] = {
    T_ATTR_REQUIRED, {"message", ATTR_S, {.kind = ATTR_S, .u.s = {"", 0}}}, {NULL}};

static tfm_code check_numerics_infer(node_t *n, tfm_status *st) {
  tfm_dtype dt = n->inputs[0]->dtype;
  if (dt != TFM_FLOAT && dt != TFM_DOUBLE)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "CheckNumerics is not defined for %s", dtype_name(dt));
  return infer_same_as_input0(n, st);
}

static tfm_code check_numerics_compute(kctx_t *c) {
  const tensor_t *x = c->in[0];
  bool nan = false, inf = false;
  for (int64_t i = 0; i < x->num_elements; i++) {
    double v = x->dtype == TFM_FLOAT ? (double)TENSOR_F32(x)[i] : TENSOR_F64(x)[i];
    nan |= isnan(v) != 0;
    inf |= isinf(v) != 0;
  }
  if (nan || inf) {
    const attr_value_t *m = node_attr(c->node, "message");
    return kctx_error(c, TFM_INVALID_ARGUMENT, "%s : Tensor had %s values",
                      m && m->kind == ATTR_S && m->u.s.data ? m->u.s.data : "",
                      nan && inf ? "NaN and Inf" : nan ? "NaN" : "Inf");
  }
  kctx_set_output(c, 0, c->in[0]);
  return TFM_OK;
}

/* As TensorFlow: the gradient is checked too, with a message saying so. */
static tfm_code check_numerics_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  attr_t msg = ATTR_S_V("message", "Not a number (NaN) or infinity (Inf) values detected in gradient.");
  output_t *d = (output_t *)g->dy[0];
  g->dx[0] = op_build(g->g, "CheckNumerics", NULL, &d, 1, &msg, 1, g->st);
  return g->dx[0] ? TFM_OK : status_code(g->st);
}

/* ---- PreventGradient: identity whose gradient is an error ---- */

static const attr_def_t prevent_gradient_attrs[] = {
    T_ATTR_REQUIRED, {"message", ATTR_S, {.kind = ATTR_S, .u.s = {"", 0}}}, {NULL}};

static tfm_code prevent_gradient_grad(grad_ctx_t *g) {
  const attr_value_t *m = node_attr(g->op, "message");
  const char *why = m && m->kind == ATTR_S && m->u.s.data ? m->u.s.data : "";
  return node_error(g->op, g->st, TFM_INVALID_ARGUMENT, "Gradient explicitly disabled. Reason: %s", why);
}

const op_def_t ops_array[] = {
    {.name = "Const", .n_outputs = 1, .attrs = const_attrs, .infer = const_infer,
     .compute = const_compute, .flags = OP_NO_GRADIENT},
    {.name = "Placeholder", .n_outputs = 1, .attrs = placeholder_attrs, .infer = placeholder_infer,
     .compute = placeholder_compute, .flags = OP_NO_GRADIENT},
    {.name = "Identity", .n_inputs = 1, .n_outputs = 1, .attrs = t_only_attrs,
     .infer = identity_infer, .compute = identity_compute, .gradient = identity_grad},
    {.name = "Reshape", .n_inputs = 2, .n_outputs = 1, .attrs = reshape_attrs,
     .infer = reshape_infer, .compute = reshape_compute, .gradient = reshape_back_grad},
    {.name = "Shape", .n_inputs = 1, .n_outputs = 1, .attrs = shape_attrs, .infer = shape_infer,
     .compute = shape_compute, .flags = OP_NO_GRADIENT},
    {.name = "Size", .n_inputs = 1, .n_outputs = 1, .attrs = shape_attrs, .infer = size_infer,
     .compute = size_compute, .flags = OP_NO_GRADIENT},
    {.name = "Rank", .n_inputs = 1, .n_outputs = 1, .attrs = rank_attrs, .infer = rank_infer,
     .compute = rank_compute, .flags = OP_NO_GRADIENT},
    {.name = "ExpandDims", .n_inputs = 2, .n_outputs = 1, .attrs = expand_dims_attrs,
     .infer = expand_dims_infer, .compute = expand_dims_compute, .gradient = reshape_back_grad},
    {.name = "Squeeze", .n_inputs = 1, .n_outputs = 1, .attrs = squeeze_attrs,
     .infer = squeeze_infer, .compute = squeeze_compute, .gradient = reshape_back_grad},
    {.name = "Fill", .n_inputs = 2, .n_outputs = 1, .attrs = fill_attrs, .infer = fill_infer,
     .compute = fill_compute, .gradient = fill_grad},
    {.name = "ZerosLike", .n_inputs = 1, .n_outputs = 1, .attrs = t_only_attrs,
     .infer = infer_same_as_input0, .compute = zeros_like_compute, .flags = OP_NO_GRADIENT},
    {.name = "OnesLike", .n_inputs = 1, .n_outputs = 1, .attrs = t_only_attrs,
     .infer = infer_same_as_input0, .compute = ones_like_compute, .flags = OP_NO_GRADIENT},
    {.name = "Range", .n_inputs = 3, .n_outputs = 1, .attrs = range_attrs, .infer = range_infer,
     .compute = range_compute, .flags = OP_NO_GRADIENT},
    {.name = "ShapeN", .num_outputs = shape_n_num_outputs, .attrs = shape_n_attrs,
     .infer = shape_n_infer, .compute = shape_n_compute, .flags = OP_NO_GRADIENT | OP_VARIADIC},
    {.name = "PlaceholderWithDefault", .n_inputs = 1, .n_outputs = 1, .attrs = placeholder_default_attrs,
     .infer = placeholder_default_infer, .compute = identity_compute, .gradient = identity_grad},
    {.name = "Snapshot", .n_inputs = 1, .n_outputs = 1, .attrs = t_only_attrs,
     .infer = infer_same_as_input0, .compute = snapshot_compute, .gradient = identity_grad},
    {.name = "CheckNumerics", .n_inputs = 1, .n_outputs = 1, .attrs = check_numerics_attrs,
     .infer = check_numerics_infer, .compute = check_numerics_compute, .gradient = check_numerics_grad,
     .flags = OP_STATEFUL},
    {.name = "PreventGradient", .n_inputs = 1, .n_outputs = 1, .attrs = prevent_gradient_attrs,
     .infer = infer_same_as_input0, .compute = identity_compute, .gradient = prevent_gradient_grad},
    {NULL}};
