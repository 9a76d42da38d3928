/* Array ops: constants, placeholders, identity, and ops that only move or
 * describe elements (Reshape, Shape, Size, Rank, ExpandDims, Squeeze, Transpose,
 * Fill, ZerosLike, OnesLike, Tile, Range, Pack, ConcatV2, InvertPermutation).
 * Each op's attrs, shape function, kernel, gradient and public builder sit
 * together. Shape functions also compute const_value when it is cheap and the
 * inputs are known (Shape of a fully known shape), so that Reshape(x, Shape(y))
 * is known at build time. */
#include <string.h>

#include "core/mem.h"
#include "kernels/kernels.h"
#include "ops/build.h"
#include "tfmini/ops.h"

#define T_ATTR(dflt) {"T", ATTR_TYPE, {.kind = (dflt) ? ATTR_TYPE : ATTR_NONE, .u.type = (dflt)}}
#define INDEX_ATTR(nm) {nm, ATTR_TYPE, {.kind = ATTR_TYPE, .u.type = TFM_INT32}}

static const char *oname(const output_t *o, char *buf, size_t cap) { return output_name(o, buf, cap); }

/* Sets output i to a known constant (takes the reference). */
static void set_const(node_t *n, int i, tensor_t *t) {
  tensor_unref(n->outputs[i].const_value);
  n->outputs[i].const_value = t;
}

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

/* A view of t's buffer with another shape (no allocation; for kernels). */
static tensor_t view_as(const tensor_t *t, const shape_t *s) {
  tensor_t v = *t;
  atomic_init(&v.refs, 1);
  v.shape = *s;
  v.dealloc = NULL;
  return v;
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
  set_const(n, 0, tensor_ref(v->u.tensor));
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

static const attr_def_t t_only_attrs[] = {T_ATTR(0), {NULL}};

static tfm_code identity_infer(node_t *n, tfm_status *st) {
  tfm_code rc = infer_same_as_input0(n, st);
  if (rc == TFM_OK && n->inputs[0]->const_value)
    set_const(n, 0, tensor_ref(n->inputs[0]->const_value));
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

static const attr_def_t reshape_attrs[] = {T_ATTR(0), INDEX_ATTR("Tshape"), {NULL}};

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
                    (long long)count, shape_str(in, is), oname(n->inputs[0], xn, sizeof xn),
                    shape_str(&want, ws), oname(n->inputs[1], sn, sizeof sn), (long long)known);
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
    set_const(n, 0, tensor_reshaped(x->const_value, &n->outputs[0].shape, NULL));
  return TFM_OK;
}

/* Passes x through with a new shape (same buffer). */
static tfm_code reshape_to(kctx_t *c, const shape_t *s) {
  tensor_t *r = tensor_reshaped(c->in[0], s, c->st);
  if (!r) return kctx_error(c, status_code(c->st), "%s", c->st ? c->st->msg : "reshape failed");
  kctx_set_output(c, 0, r);
  tensor_unref(r);
  return TFM_OK;
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

static const attr_def_t shape_attrs[] = {T_ATTR(0), INDEX_ATTR("out_type"), {NULL}};
static const attr_def_t rank_attrs[] = {T_ATTR(0), {NULL}};

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
  if (shape_is_fully_defined(in)) set_const(n, 0, shape_to_tensor(in, dt));
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
  if (count >= 0) set_const(n, 0, int_scalar(dt, count));
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
  if (n->inputs[0]->shape.rank >= 0) set_const(n, 0, int_scalar(TFM_INT32, n->inputs[0]->shape.rank));
  return TFM_OK;
}

static tfm_code rank_compute(kctx_t *c) { return put_int_scalar(c, c->in[0]->shape.rank); }

TFM_API tfm_output *tfm_shape(tfm_graph *g, tfm_output *x, const char *name, tfm_status *st) {
  if (!builder_inputs_ok("tfm_shape", st, 1, x)) return NULL;
  return op_build(graph_or_default(g), "Shape", name, &x, 1, NULL, 0, st);
}

/* ---- ExpandDims, Squeeze ---- */

static const attr_def_t expand_dims_attrs[] = {T_ATTR(0), INDEX_ATTR("Tdim"), {NULL}};

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
    T_ATTR(0), {"squeeze_dims", ATTR_LIST_I, {.kind = ATTR_LIST_I}}, {NULL}};

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

/* ---- Transpose, InvertPermutation ---- */

static const attr_def_t transpose_attrs[] = {T_ATTR(0), INDEX_ATTR("Tperm"), {NULL}};

static tfm_code check_perm(const node_t *n, const int64_t *perm, int count, int rank, tfm_status *st) {
  bool seen[TFM_MAX_RANK] = {false};
  if (count != rank)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "perm has %d entries for an input of rank %d", count, rank);
  for (int i = 0; i < count; i++) {
    if (perm[i] < 0 || perm[i] >= rank || seen[perm[i]])
      return node_error(n, st, TFM_INVALID_ARGUMENT, "perm is not a permutation of 0..%d (entry %d is %lld)",
                        rank - 1, i, (long long)perm[i]);
    seen[perm[i]] = true;
  }
  return TFM_OK;
}

static tfm_code transpose_infer(node_t *n, tfm_status *st) {
  const shape_t *in = &n->inputs[0]->shape;
  int64_t perm[TFM_MAX_RANK];
  int count;
  n->outputs[0].dtype = n->inputs[0]->dtype;
  n->outputs[0].shape = shape_unknown();
  if (!input_const_ints(n, 1, perm, TFM_MAX_RANK, &count)) {
    if (in->rank >= 0) {
      n->outputs[0].shape.rank = in->rank;
      for (int i = 0; i < in->rank; i++) n->outputs[0].shape.dim[i] = -1;
    }
    return TFM_OK;
  }
  if (in->rank < 0) {
    n->outputs[0].shape.rank = count;
    for (int i = 0; i < count; i++) n->outputs[0].shape.dim[i] = -1;
    return TFM_OK;
  }
  if (check_perm(n, perm, count, in->rank, st) != TFM_OK) return TFM_INVALID_ARGUMENT;
  n->outputs[0].shape.rank = in->rank;
  for (int i = 0; i < count; i++) n->outputs[0].shape.dim[i] = in->dim[perm[i]];
  return TFM_OK;
}

static tfm_code transpose_compute(kctx_t *c) {
  const tensor_t *x = c->in[0];
  int64_t perm64[TFM_MAX_RANK];
  int perm[TFM_MAX_RANK];
  if (c->in[1]->num_elements != x->shape.rank)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "perm has %lld entries for an input of rank %d",
                      (long long)c->in[1]->num_elements, x->shape.rank);
  for (int i = 0; i < x->shape.rank; i++) perm64[i] = tensor_get_i64(c->in[1], i);
  if (check_perm(c->node, perm64, x->shape.rank, x->shape.rank, c->st) != TFM_OK)
    return TFM_INVALID_ARGUMENT;
  shape_t s = {.rank = x->shape.rank};
  for (int i = 0; i < s.rank; i++) {
    perm[i] = (int)perm64[i];
    s.dim[i] = x->shape.dim[perm[i]];
  }
  tensor_t *out = kctx_alloc_output(c, 0, x->dtype, &s);
  if (!out) return status_code(c->st);
  return kern_transpose(x, perm, out, c->st);
}

static tfm_code transpose_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  output_t *p = g->op->inputs[1];
  output_t *inv = op_build(g->g, "InvertPermutation", NULL, &p, 1, NULL, 0, g->st);
  if (!inv) return status_code(g->st);
  output_t *in[2] = {(output_t *)g->dy[0], inv};
  g->dx[0] = op_build(g->g, "Transpose", NULL, in, 2, NULL, 0, g->st);
  return g->dx[0] ? TFM_OK : status_code(g->st);
}

static tfm_code invert_perm_infer(node_t *n, tfm_status *st) {
  const output_t *x = n->inputs[0];
  if (x->dtype != TFM_INT32 && x->dtype != TFM_INT64)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "x must be int32 or int64, got %s", dtype_name(x->dtype));
  infer_same_as_input0(n, st);
  int64_t p[TFM_MAX_RANK];
  int count;
  if (input_const_ints(n, 0, p, TFM_MAX_RANK, &count)) {
    if (check_perm(n, p, count, count, st) != TFM_OK) return TFM_INVALID_ARGUMENT;
    int32_t inv[TFM_MAX_RANK];
    for (int i = 0; i < count; i++) inv[p[i]] = i;
    shape_t s = shape_vector(count);
    tensor_t *t = tensor_new(x->dtype, &s, NULL);
    if (t)
      for (int i = 0; i < count; i++) {
        if (t->dtype == TFM_INT64) TENSOR_I64(t)[i] = inv[i];
        else TENSOR_I32(t)[i] = inv[i];
      }
    set_const(n, 0, t);
  }
  return TFM_OK;
}

static tfm_code invert_perm_compute(kctx_t *c) {
  const tensor_t *x = c->in[0];
  int64_t n = x->num_elements;
  tensor_t *out = kctx_alloc_output(c, 0, x->dtype, &x->shape);
  if (!out) return status_code(c->st);
  for (int64_t i = 0; i < n; i++) {
    int64_t p = tensor_get_i64(x, i);
    if (p < 0 || p >= n) return kctx_error(c, TFM_INVALID_ARGUMENT, "entry %lld is %lld, outside [0, %lld)",
                                           (long long)i, (long long)p, (long long)n);
    if (out->dtype == TFM_INT64) TENSOR_I64(out)[p] = i;
    else TENSOR_I32(out)[p] = (int32_t)i;
  }
  return TFM_OK;
}

TFM_API tfm_output *tfm_transpose(tfm_graph *g, tfm_output *x, const int32_t *perm, int n,
                                  const char *name, tfm_status *st) {
  if (!builder_inputs_ok("tfm_transpose", st, 1, x)) return NULL;
  int32_t rev[TFM_MAX_RANK];
  if (!perm) {
    if (x->shape.rank < 0) {
      status_set(st, TFM_INVALID_ARGUMENT,
                 "tfm_transpose: perm is NULL and the rank of '%s' is unknown", x->node->name);
      return NULL;
    }
    n = x->shape.rank;
    for (int i = 0; i < n; i++) rev[i] = n - 1 - i;
    perm = rev;
  }
  if (n < 0 || n > TFM_MAX_RANK) {
    status_set(st, TFM_INVALID_ARGUMENT, "tfm_transpose: perm has %d entries", n);
    return NULL;
  }
  graph_t *gr = graph_or_default(g);
  char *scope = op_scope_push(gr, name, "transpose", st);
  if (!scope) return NULL;
  output_t *p = op_const_i32(gr, perm, n, "perm", st);
  graph_pop_name_scope(gr, NULL);
  output_t *in[2] = {x, p};
  output_t *r = p ? op_build_exact(gr, "Transpose", scope, in, 2, NULL, 0, st) : NULL;
  mem_free(scope);
  return r;
}

/* ---- Fill, ZerosLike, OnesLike ---- */

static const attr_def_t fill_attrs[] = {T_ATTR(0), INDEX_ATTR("index_type"), {NULL}};

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
                      shape_str(&v->shape, buf), oname(v, vn, sizeof vn));
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

/* Sum of dy over every axis: the gradient of a broadcast scalar. */
static output_t *sum_all(graph_t *g, output_t *dy, tfm_status *st) {
  if (dy->shape.rank < 0) {
    status_set(st, TFM_UNIMPLEMENTED, "gradient: the rank of '%s' is unknown", dy->node->name);
    return NULL;
  }
  int32_t axes[TFM_MAX_RANK];
  for (int i = 0; i < dy->shape.rank; i++) axes[i] = i;
  output_t *a = op_const_i32(g, axes, dy->shape.rank, NULL, st);
  if (!a) return NULL;
  output_t *in[2] = {dy, a};
  return op_build(g, "Sum", NULL, in, 2, NULL, 0, st);
}

static tfm_code fill_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  g->dx[1] = sum_all(g->g, (output_t *)g->dy[0], g->st);
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

/* ---- Tile ---- */

static const attr_def_t tile_attrs[] = {T_ATTR(0), INDEX_ATTR("Tmultiples"), {NULL}};

static tfm_code tile_infer(node_t *n, tfm_status *st) {
  const shape_t *in = &n->inputs[0]->shape;
  int64_t m[TFM_MAX_RANK];
  int count;
  n->outputs[0].dtype = n->inputs[0]->dtype;
  n->outputs[0].shape = *in;
  if (!input_const_ints(n, 1, m, TFM_MAX_RANK, &count)) {
    for (int i = 0; i < in->rank; i++) n->outputs[0].shape.dim[i] = -1;
    return TFM_OK;
  }
  if (in->rank >= 0 && count != in->rank)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "multiples has %d entries for an input of rank %d",
                      count, in->rank);
  n->outputs[0].shape.rank = count;
  for (int i = 0; i < count; i++) {
    if (m[i] < 0) return node_error(n, st, TFM_INVALID_ARGUMENT, "multiple %d is %lld", i, (long long)m[i]);
    int64_t d = in->rank >= 0 ? in->dim[i] : -1;
    n->outputs[0].shape.dim[i] = d < 0 ? -1 : d * m[i];
  }
  return TFM_OK;
}

/* Tile is a broadcast: x viewed as [1,d0,1,d1,...] broadcast to [m0,d0,m1,d1,...]
 * has the layout of the tiled [m0*d0, m1*d1, ...]. */
static tfm_code tile_compute(kctx_t *c) {
  const tensor_t *x = c->in[0];
  int r = x->shape.rank;
  if (c->in[1]->num_elements != r)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "multiples has %lld entries for an input of rank %d",
                      (long long)c->in[1]->num_elements, r);
  if (2 * r > TFM_MAX_RANK)
    return kctx_error(c, TFM_UNIMPLEMENTED, "tiling rank %d is not supported (at most %d)", r, TFM_MAX_RANK / 2);
  shape_t out_s = {.rank = r}, xv = {.rank = 2 * r}, ov = {.rank = 2 * r};
  for (int i = 0; i < r; i++) {
    int64_t m = tensor_get_i64(c->in[1], i);
    if (m < 0) return kctx_error(c, TFM_INVALID_ARGUMENT, "multiple %d is %lld", i, (long long)m);
    out_s.dim[i] = x->shape.dim[i] * m;
    xv.dim[2 * i] = 1;
    xv.dim[2 * i + 1] = x->shape.dim[i];
    ov.dim[2 * i] = m;
    ov.dim[2 * i + 1] = x->shape.dim[i];
  }
  tensor_t *out = kctx_alloc_output(c, 0, x->dtype, &out_s);
  if (!out) return status_code(c->st);
  if (out->num_elements == 0) return TFM_OK;
  tensor_t xview = view_as(x, &xv), oview = view_as(out, &ov);
  return kern_broadcast_to(&xview, &oview, c->st);
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

/* ---- Pack, ConcatV2 ---- */

static const attr_def_t pack_attrs[] = {
    {"N", ATTR_I, {0}}, T_ATTR(0), {"axis", ATTR_I, {.kind = ATTR_I, .u.i = 0}}, {NULL}};
static const attr_def_t concat_attrs[] = {{"N", ATTR_I, {0}}, T_ATTR(0), INDEX_ATTR("Tidx"), {NULL}};

/* Checks the N value inputs agree in dtype and (where known) shape, except
 * along `skip_axis` (-1: none). Writes their merged shape into *merged. */
static tfm_code same_values(node_t *n, int count, int skip_axis, shape_t *merged, tfm_status *st) {
  if (node_attr_int(n, "N", -1) != count || count < 1)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "attr N is %lld but %d values are given",
                      (long long)node_attr_int(n, "N", -1), count);
  *merged = n->inputs[0]->shape;
  for (int i = 1; i < count; i++) {
    const output_t *v = n->inputs[i];
    char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX], an[256], bn[256];
    if (v->dtype != n->inputs[0]->dtype)
      return node_error(n, st, TFM_INVALID_ARGUMENT, "value %d is %s ('%s'), value 0 is %s ('%s')", i,
                        dtype_name(v->dtype), oname(v, an, sizeof an), dtype_name(n->inputs[0]->dtype),
                        oname(n->inputs[0], bn, sizeof bn));
    if (v->shape.rank < 0) continue;
    if (merged->rank < 0) {
      *merged = v->shape;
      continue;
    }
    bool ok = merged->rank == v->shape.rank;
    for (int d = 0; ok && d < merged->rank; d++) {
      if (d == skip_axis) continue;
      if (merged->dim[d] < 0) merged->dim[d] = v->shape.dim[d];
      else if (v->shape.dim[d] >= 0 && v->shape.dim[d] != merged->dim[d]) ok = false;
    }
    if (!ok)
      return node_error(n, st, TFM_INVALID_ARGUMENT, "shapes of values differ: %s ('%s') and %s ('%s')",
                        shape_str(&n->inputs[0]->shape, a), oname(n->inputs[0], an, sizeof an),
                        shape_str(&v->shape, b), oname(v, bn, sizeof bn));
  }
  n->outputs[0].dtype = n->inputs[0]->dtype;
  return TFM_OK;
}

static tfm_code pack_infer(node_t *n, tfm_status *st) {
  shape_t s;
  if (same_values(n, n->n_inputs, -1, &s, st) != TFM_OK) return TFM_INVALID_ARGUMENT;
  n->outputs[0].shape = shape_unknown();
  if (s.rank < 0) return TFM_OK;
  int64_t axis = node_attr_int(n, "axis", 0);
  if (axis < 0) axis += s.rank + 1;
  if (axis < 0 || axis > s.rank || s.rank >= TFM_MAX_RANK)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "axis %lld is outside [%d, %d]",
                      (long long)node_attr_int(n, "axis", 0), -s.rank - 1, s.rank);
  n->outputs[0].shape.rank = s.rank + 1;
  for (int i = 0, j = 0; i <= s.rank; i++) n->outputs[0].shape.dim[i] = i == axis ? n->n_inputs : s.dim[j++];
  return TFM_OK;
}

/* Copies `count` inputs, each [outer, chunk_i] in bytes, side by side into out. */
static void interleave(tensor_t *const *xs, int count, int64_t outer, const size_t *chunk, tensor_t *out) {
  char *dst = out->data;
  for (int64_t o = 0; o < outer; o++)
    for (int i = 0; i < count; i++) {
      if (chunk[i]) memcpy(dst, (const char *)xs[i]->data + (size_t)o * chunk[i], chunk[i]);
      dst += chunk[i];
    }
}

static tfm_code pack_compute(kctx_t *c) {
  int count = c->n_in;
  const tensor_t *x0 = c->in[0];
  if (x0->dtype == TFM_STRING) return kctx_error(c, TFM_UNIMPLEMENTED, "string tensors are not supported");
  int64_t axis = node_attr_int(c->node, "axis", 0);
  if (axis < 0) axis += x0->shape.rank + 1;
  size_t chunk[64];
  if (count > 64) return kctx_error(c, TFM_UNIMPLEMENTED, "more than 64 values");
  for (int i = 0; i < count; i++)
    if (!shape_equal(&c->in[i]->shape, &x0->shape) || c->in[i]->dtype != x0->dtype)
      return kctx_error(c, TFM_INVALID_ARGUMENT, "value %d differs in shape or dtype from value 0", i);
  shape_t s = {.rank = x0->shape.rank + 1};
  int64_t outer = 1, inner = 1;
  for (int i = 0, j = 0; i < s.rank; i++) s.dim[i] = i == axis ? count : x0->shape.dim[j++];
  for (int i = 0; i < axis; i++) outer *= x0->shape.dim[i];
  for (int i = (int)axis; i < x0->shape.rank; i++) inner *= x0->shape.dim[i];
  for (int i = 0; i < count; i++) chunk[i] = (size_t)inner * dtype_size(x0->dtype);
  tensor_t *out = kctx_alloc_output(c, 0, x0->dtype, &s);
  if (!out) return status_code(c->st);
  interleave((tensor_t *const *)c->in, count, outer, chunk, out);
  return TFM_OK;
}

static tfm_code concat_axis(const node_t *n, int64_t axis, int rank, int *out, tfm_status *st) {
  if (axis < -rank || axis >= rank)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "axis %lld is outside [%d, %d)", (long long)axis, -rank, rank);
  *out = (int)(axis < 0 ? axis + rank : axis);
  return TFM_OK;
}

static tfm_code concat_infer(node_t *n, tfm_status *st) {
  int count = n->n_inputs - 1;
  int64_t axis;
  int k, ax = -1;
  bool axis_known = input_const_ints(n, count, &axis, 1, &k) && k == 1;
  shape_t s;
  n->outputs[0].shape = shape_unknown();
  if (count < 1) return node_error(n, st, TFM_INVALID_ARGUMENT, "needs at least one value and the axis");
  int rank = -1;
  for (int i = 0; i < count; i++)
    if (n->inputs[i]->shape.rank >= 0) rank = n->inputs[i]->shape.rank;
  if (axis_known && rank >= 0 && concat_axis(n, axis, rank, &ax, st) != TFM_OK) return TFM_INVALID_ARGUMENT;
  if (same_values(n, count, axis_known ? ax : -2, &s, st) != TFM_OK) return TFM_INVALID_ARGUMENT;
  if (s.rank < 0) return TFM_OK;
  n->outputs[0].shape = s;
  if (!axis_known) {
    for (int i = 0; i < s.rank; i++) n->outputs[0].shape.dim[i] = -1;
    return TFM_OK;
  }
  int64_t total = 0;
  for (int i = 0; i < count && total >= 0; i++) {
    const shape_t *v = &n->inputs[i]->shape;
    total = v->rank < 0 || v->dim[ax] < 0 ? -1 : total + v->dim[ax];
  }
  n->outputs[0].shape.dim[ax] = total;
  return TFM_OK;
}

static tfm_code concat_compute(kctx_t *c) {
  int count = c->n_in - 1;
  const tensor_t *x0 = c->in[0];
  if (x0->dtype == TFM_STRING) return kctx_error(c, TFM_UNIMPLEMENTED, "string tensors are not supported");
  if (count > 64) return kctx_error(c, TFM_UNIMPLEMENTED, "more than 64 values");
  int ax = 0;
  if (concat_axis(c->node, tensor_get_i64(c->in[count], 0), x0->shape.rank, &ax, c->st) != TFM_OK)
    return TFM_INVALID_ARGUMENT;
  shape_t s = x0->shape;
  s.dim[ax] = 0;
  size_t chunk[64];
  int64_t outer = 1;
  for (int i = 0; i < ax; i++) outer *= x0->shape.dim[i];
  for (int i = 0; i < count; i++) {
    const tensor_t *x = c->in[i];
    bool ok = x->dtype == x0->dtype && x->shape.rank == x0->shape.rank;
    for (int d = 0; ok && d < s.rank; d++) ok = d == ax || x->shape.dim[d] == x0->shape.dim[d];
    if (!ok) return kctx_error(c, TFM_INVALID_ARGUMENT, "value %d does not match value 0 outside axis %d", i, ax);
    s.dim[ax] += x->shape.dim[ax];
    int64_t inner = 1;
    for (int d = ax; d < s.rank; d++) inner *= x->shape.dim[d];
    chunk[i] = (size_t)inner * dtype_size(x0->dtype);
  }
  tensor_t *out = kctx_alloc_output(c, 0, x0->dtype, &s);
  if (!out) return status_code(c->st);
  interleave((tensor_t *const *)c->in, count, outer, chunk, out);
  return TFM_OK;
}

/* ---- the table ---- */

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
    {.name = "Transpose", .n_inputs = 2, .n_outputs = 1, .attrs = transpose_attrs,
     .infer = transpose_infer, .compute = transpose_compute, .gradient = transpose_grad},
    {.name = "InvertPermutation", .n_inputs = 1, .n_outputs = 1, .attrs = t_only_attrs,
     .infer = invert_perm_infer, .compute = invert_perm_compute, .flags = OP_NO_GRADIENT},
    {.name = "Fill", .n_inputs = 2, .n_outputs = 1, .attrs = fill_attrs, .infer = fill_infer,
     .compute = fill_compute, .gradient = fill_grad},
    {.name = "ZerosLike", .n_inputs = 1, .n_outputs = 1, .attrs = t_only_attrs,
     .infer = infer_same_as_input0, .compute = zeros_like_compute, .flags = OP_NO_GRADIENT},
    {.name = "OnesLike", .n_inputs = 1, .n_outputs = 1, .attrs = t_only_attrs,
     .infer = infer_same_as_input0, .compute = ones_like_compute, .flags = OP_NO_GRADIENT},
    {.name = "Tile", .n_inputs = 2, .n_outputs = 1, .attrs = tile_attrs, .infer = tile_infer,
     .compute = tile_compute},
    {.name = "Range", .n_inputs = 3, .n_outputs = 1, .attrs = range_attrs, .infer = range_infer,
     .compute = range_compute, .flags = OP_NO_GRADIENT},
    {.name = "Pack", .n_outputs = 1, .attrs = pack_attrs, .infer = pack_infer,
     .compute = pack_compute, .flags = OP_VARIADIC},
    {.name = "ConcatV2", .n_outputs = 1, .attrs = concat_attrs, .infer = concat_infer,
     .compute = concat_compute, .flags = OP_VARIADIC},
    {NULL}};
