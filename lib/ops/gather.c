/* The gather family: ops that move slices by index. GatherV2/Gather (rows of params
 * picked by indices), UnsortedSegmentSum (rows summed into segments: Gather's
 * gradient) and DynamicStitch (slices interleaved by index lists: TensorFlow's
 * reduction gradients build their output shape with it). */
#include <string.h>

#include "ops/build.h"
#include "ops/grad_build.h"

static const char *oname(const output_t *o, char *buf) { return output_name(o, buf, 256); }

static tfm_code grad_done(grad_ctx_t *g, output_t *r) {
  if (r) return TFM_OK;
  return status_code(g->st) != TFM_OK ? status_code(g->st)
                                      : status_set(g->st, TFM_INTERNAL, "%s '%s': gradient failed",
                                                   g->op->type, g->op->name);
}

static bool is_index_dtype(tfm_dtype dt) { return dt == TFM_INT32 || dt == TFM_INT64; }

/* Product of dims [from, to) (all known). */
static int64_t dims_product(const shape_t *s, int from, int to) {
  int64_t p = 1;
  for (int i = from; i < to; i++) p *= s->dim[i];
  return p;
}

/* Records an input's actual dtype in a type attr whose default may say otherwise
 * (int64 indices under a Tindices that defaulted to int32), so exported graphs agree. */
static void fix_type_attr(node_t *n, const char *name, tfm_dtype dt) {
  for (int i = 0; i < n->n_attrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0 && n->attrs[i].value.kind == ATTR_TYPE)
      n->attrs[i].value.u.type = dt;
}

/* Gather(params, indices) with its type attrs, for gradients. */
static output_t *gather_rows(graph_t *g, output_t *params, output_t *indices, tfm_status *st) {
  if (!params || !indices) return NULL;
  attr_t attrs[2] = {ATTR_TYPE_V("Tparams", params->dtype), ATTR_TYPE_V("Tindices", indices->dtype)};
  output_t *in[2] = {params, indices};
  return op_build(g, "Gather", NULL, in, 2, attrs, 2, st);
}

/* ---- GatherV2(params, indices, axis) and Gather(params, indices) ---- */

/* Tparams defaults to "unset" and is taken from params by infer (as T is elsewhere). */
#define TPARAMS_ATTR {"Tparams", ATTR_TYPE, {.kind = ATTR_TYPE, .u.type = TFM_INVALID}}
static const attr_def_t gather_v2_attrs[] = {
    TPARAMS_ATTR, INDEX_ATTR("Tindices"), INDEX_ATTR("Taxis"),
    {"batch_dims", ATTR_I, {.kind = ATTR_I, .u.i = 0}}, {NULL}};
static const attr_def_t gather_attrs[] = {
    TPARAMS_ATTR, INDEX_ATTR("Tindices"),
    {"validate_indices", ATTR_B, {.kind = ATTR_B, .u.b = true}}, {NULL}};

/* The gather axis: input 2 for GatherV2 (when known), 0 for Gather. */
static bool gather_axis(const node_t *n, int rank, int64_t *axis) {
  *axis = 0;
  if (n->n_inputs < 3) return true;
  int64_t v;
  int cnt;
  if (!input_const_ints(n, 2, &v, 1, &cnt) || cnt != 1) return false;
  *axis = v < 0 && rank >= 0 ? v + rank : v;
  return true;
}

static tfm_code gather_infer(node_t *n, tfm_status *st) {
  const output_t *p = n->inputs[0], *ix = n->inputs[1];
  char buf[256];
  if (!is_index_dtype(ix->dtype))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "indices ('%s') must be int32 or int64, got %s",
                      oname(ix, buf), dtype_name(ix->dtype));
  if (p->dtype == TFM_STRING)
    return node_error(n, st, TFM_UNIMPLEMENTED, "gathering string tensors is not supported");
  if (node_attr_int(n, "batch_dims", 0) != 0)
    return node_error(n, st, TFM_UNIMPLEMENTED, "batch_dims other than 0 is not supported");
  n->outputs[0].dtype = p->dtype;
  fix_type_attr(n, "Tparams", p->dtype);
  fix_type_attr(n, "Tindices", ix->dtype);
  if (n->n_inputs > 2) fix_type_attr(n, "Taxis", n->inputs[2]->dtype);
  int64_t axis;
  if (p->shape.rank < 0 || ix->shape.rank < 0 || !gather_axis(n, p->shape.rank, &axis)) {
    n->outputs[0].shape = shape_unknown();
    return TFM_OK;
  }
  if (axis < 0 || axis >= p->shape.rank)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "axis %lld is out of range for params of rank %d",
                      (long long)axis, p->shape.rank);
  if (p->shape.rank + ix->shape.rank - 1 > TFM_MAX_RANK)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "the result would have rank over %d", TFM_MAX_RANK);
  shape_t s = {.rank = 0};
  for (int i = 0; i < axis; i++) s.dim[s.rank++] = p->shape.dim[i];
  for (int i = 0; i < ix->shape.rank; i++) s.dim[s.rank++] = ix->shape.dim[i];
  for (int i = (int)axis + 1; i < p->shape.rank; i++) s.dim[s.rank++] = p->shape.dim[i];
  n->outputs[0].shape = s;
  return TFM_OK;
}

static tfm_code gather_compute(kctx_t *c) {
  const tensor_t *p = c->in[0], *ix = c->in[1];
  int64_t axis = 0;
  if (c->n_in > 2) {
    axis = tensor_get_i64(c->in[2], 0);
    if (axis < 0) axis += p->shape.rank;
  }
  if (axis < 0 || axis >= p->shape.rank)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "axis %lld is out of range for params of rank %d",
                      (long long)axis, p->shape.rank);
  if (p->shape.rank + ix->shape.rank - 1 > TFM_MAX_RANK)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "the result would have rank over %d", TFM_MAX_RANK);
  shape_t s = {.rank = 0};
  for (int i = 0; i < axis; i++) s.dim[s.rank++] = p->shape.dim[i];
  for (int i = 0; i < ix->shape.rank; i++) s.dim[s.rank++] = ix->shape.dim[i];
  for (int i = (int)axis + 1; i < p->shape.rank; i++) s.dim[s.rank++] = p->shape.dim[i];
  tensor_t *out = kctx_alloc_output(c, 0, p->dtype, &s);
  if (!out) return status_code(c->st);
  int64_t outer = dims_product(&p->shape, 0, (int)axis), limit = p->shape.dim[axis];
  size_t inner = (size_t)dims_product(&p->shape, (int)axis + 1, p->shape.rank) * dtype_size(p->dtype);
  int64_t n_ix = ix->num_elements;
  const uint8_t *src = p->data;
  uint8_t *dst = out->data;
  for (int64_t k = 0; k < n_ix; k++) {
    int64_t v = tensor_get_i64(ix, k);
    if (v < 0 || v >= limit)
      return kctx_error(c, TFM_INVALID_ARGUMENT, "indices[%lld] = %lld is not in [0, %lld)", (long long)k,
                        (long long)v, (long long)limit);
  }
  for (int64_t o = 0; o < outer; o++)
    for (int64_t k = 0; k < n_ix; k++) {
      int64_t v = tensor_get_i64(ix, k);
      memcpy(dst + (size_t)(o * n_ix + k) * inner, src + (size_t)(o * limit + v) * inner, inner);
    }
  return TFM_OK;
}

static output_t *const_i32_vec(graph_t *g, const int32_t *v, int n, tfm_status *st) {
  return op_const_i32(g, v, n, NULL, st);
}

/* Gradient w.r.t. params (axis 0): the rows of dy summed into the rows they came from,
 * UnsortedSegmentSum(reshape(dy, [n_indices] + params.shape[1:]), flat indices,
 * params.shape[0]). The indices and axis get none. */
static tfm_code gather_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  node_t *op = g->op;
  int64_t axis;
  if (!gather_axis(op, op->inputs[0]->shape.rank, &axis) || axis != 0)
    return node_error(op, g->st, TFM_UNIMPLEMENTED, "gradient only for a constant axis 0");
  graph_t *gr = g->g;
  tfm_status *st = g->st;
  int32_t minus_one = -1, one = 1, zero = 0;
  output_t *params = op->inputs[0];
  output_t *flat = gb_binary(gr, "Reshape", op->inputs[1], const_i32_vec(gr, &minus_one, 1, st), st);
  output_t *pshape = gb_unary(gr, "Shape", params, st);
  output_t *size = gb_binary(gr, "Reshape", gb_unary(gr, "Size", op->inputs[1], st),
                             const_i32_vec(gr, &one, 1, st), st);
  output_t *rest = NULL;
  if (pshape) {
    output_t *in[3] = {pshape, const_i32_vec(gr, &one, 1, st), const_i32_vec(gr, &minus_one, 1, st)};
    rest = in[1] && in[2] ? op_build(gr, "Slice", NULL, in, 3, NULL, 0, st) : NULL;
  }
  output_t *vshape = NULL;
  if (size && rest) {
    output_t *in[3] = {size, rest, op_const_scalar(gr, 0, TFM_INT32, NULL, st)};
    attr_t n2 = ATTR_I_V("N", 2);
    vshape = in[2] ? op_build(gr, "ConcatV2", NULL, in, 3, &n2, 1, st) : NULL;
  }
  output_t *vals = gb_binary(gr, "Reshape", g->dy[0], vshape, st);
  output_t *nseg = NULL;
  if (pshape) {
    output_t *in[3] = {pshape, const_i32_vec(gr, &zero, 1, st), const_i32_vec(gr, &one, 1, st)};
    output_t *first = in[1] && in[2] ? op_build(gr, "Slice", NULL, in, 3, NULL, 0, st) : NULL;
    nseg = gb_binary(gr, "Reshape", first, const_i32_vec(gr, NULL, 0, st), st);
  }
  output_t *dx = NULL;
  if (vals && flat && nseg) {
    output_t *in[3] = {vals, flat, nseg};
    dx = op_build(gr, "UnsortedSegmentSum", NULL, in, 3, NULL, 0, st);
  }
  return grad_done(g, g->dx[0] = dx);
}

/* ---- UnsortedSegmentSum(data, segment_ids, num_segments) ---- */

static const attr_def_t segment_attrs[] = {
    {"T", ATTR_TYPE, {0}}, INDEX_ATTR("Tindices"), INDEX_ATTR("Tnumsegments"), {NULL}};

static tfm_code segment_sum_infer(node_t *n, tfm_status *st) {
  const output_t *d = n->inputs[0], *ids = n->inputs[1];
  char buf[256], a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
  if (!is_index_dtype(ids->dtype) || !is_index_dtype(n->inputs[2]->dtype))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "segment_ids ('%s') and num_segments must be int32 or int64",
                      oname(ids, buf));
  if (d->dtype != TFM_FLOAT && d->dtype != TFM_DOUBLE && d->dtype != TFM_INT32 && d->dtype != TFM_INT64)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "not defined for %s", dtype_name(d->dtype));
  n->outputs[0].dtype = d->dtype;
  fix_type_attr(n, "Tindices", ids->dtype);
  fix_type_attr(n, "Tnumsegments", n->inputs[2]->dtype);
  if (d->shape.rank < 0 || ids->shape.rank < 0) {
    n->outputs[0].shape = shape_unknown();
    return TFM_OK;
  }
  if (ids->shape.rank > d->shape.rank)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "segment_ids shape %s is not a prefix of data shape %s",
                      shape_str(&ids->shape, a), shape_str(&d->shape, b));
  for (int i = 0; i < ids->shape.rank; i++)
    if (ids->shape.dim[i] >= 0 && d->shape.dim[i] >= 0 && ids->shape.dim[i] != d->shape.dim[i])
      return node_error(n, st, TFM_INVALID_ARGUMENT, "segment_ids shape %s is not a prefix of data shape %s",
                        shape_str(&ids->shape, a), shape_str(&d->shape, b));
  int64_t num = -1;
  int cnt;
  if (!input_const_ints(n, 2, &num, 1, &cnt) || cnt != 1) num = -1;
  shape_t s = {.rank = 1, .dim = {num}};
  for (int i = ids->shape.rank; i < d->shape.rank; i++) s.dim[s.rank++] = d->shape.dim[i];
  n->outputs[0].shape = s;
  return TFM_OK;
}

static tfm_code segment_sum_compute(kctx_t *c) {
  const tensor_t *d = c->in[0], *ids = c->in[1];
  int64_t num = tensor_get_i64(c->in[2], 0);
  if (num < 0) return kctx_error(c, TFM_INVALID_ARGUMENT, "num_segments = %lld is negative", (long long)num);
  if (ids->shape.rank > d->shape.rank)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "segment_ids has a higher rank than data");
  for (int i = 0; i < ids->shape.rank; i++)
    if (ids->shape.dim[i] != d->shape.dim[i]) {
      char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
      return kctx_error(c, TFM_INVALID_ARGUMENT, "segment_ids shape %s is not a prefix of data shape %s",
                        shape_str(&ids->shape, a), shape_str(&d->shape, b));
    }
  shape_t s = {.rank = 1, .dim = {num}};
  for (int i = ids->shape.rank; i < d->shape.rank; i++) s.dim[s.rank++] = d->shape.dim[i];
  tensor_t *out = kctx_alloc_output(c, 0, d->dtype, &s);
  if (!out) return status_code(c->st);
  int64_t inner = dims_product(&d->shape, ids->shape.rank, d->shape.rank);
  memset(out->data, 0, (size_t)out->num_elements * dtype_size(d->dtype));
  for (int64_t k = 0; k < ids->num_elements; k++) {
    int64_t seg = tensor_get_i64(ids, k);
    if (seg < 0) continue; /* TensorFlow drops negative ids */
    if (seg >= num)
      return kctx_error(c, TFM_INVALID_ARGUMENT, "segment_ids[%lld] = %lld is not in [0, %lld)", (long long)k,
                        (long long)seg, (long long)num);
    int64_t from = k * inner, to = seg * inner;
    switch (d->dtype) {
    case TFM_FLOAT:
      for (int64_t j = 0; j < inner; j++) TENSOR_F32(out)[to + j] += TENSOR_F32(d)[from + j];
      break;
    case TFM_DOUBLE:
      for (int64_t j = 0; j < inner; j++) TENSOR_F64(out)[to + j] += TENSOR_F64(d)[from + j];
      break;
    case TFM_INT32: /* wrapping sums, as TensorFlow's int32 */
      for (int64_t j = 0; j < inner; j++)
        TENSOR_I32(out)[to + j] = (int32_t)((uint32_t)TENSOR_I32(out)[to + j] + (uint32_t)TENSOR_I32(d)[from + j]);
      break;
    default:
      for (int64_t j = 0; j < inner; j++)
        TENSOR_I64(out)[to + j] = (int64_t)((uint64_t)TENSOR_I64(out)[to + j] + (uint64_t)TENSOR_I64(d)[from + j]);
      break;
    }
  }
  return TFM_OK;
}

/* d data = dy gathered at the segment ids. */
static tfm_code segment_sum_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  return grad_done(g, g->dx[0] = gather_rows(g->g, g->dy[0], g->op->inputs[1], g->st));
}

/* ---- DynamicStitch(indices[0..N), data[0..N)) ---- */

static const attr_def_t stitch_attrs[] = {{"N", ATTR_I, {0}}, T_ATTR_REQUIRED, {NULL}};

static tfm_code stitch_infer(node_t *n, tfm_status *st) {
  int64_t N = node_attr_int(n, "N", n->n_inputs / 2);
  char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
  if (N < 1 || n->n_inputs != 2 * N)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "needs N = %lld index lists and as many data inputs, got %d inputs",
                      (long long)N, n->n_inputs);
  const output_t *d0 = n->inputs[N], *i0 = n->inputs[0];
  for (int64_t i = 0; i < N; i++) {
    const output_t *ix = n->inputs[i], *d = n->inputs[N + i];
    if (ix->dtype != TFM_INT32)
      return node_error(n, st, TFM_INVALID_ARGUMENT, "indices[%lld] must be int32, got %s", (long long)i,
                        dtype_name(ix->dtype));
    if (d->dtype != d0->dtype)
      return node_error(n, st, TFM_INVALID_ARGUMENT, "data[%lld] is %s, data[0] is %s", (long long)i,
                        dtype_name(d->dtype), dtype_name(d0->dtype));
    if (d->dtype == TFM_STRING)
      return node_error(n, st, TFM_UNIMPLEMENTED, "stitching string tensors is not supported");
    if (ix->shape.rank >= 0 && d->shape.rank >= 0) {
      bool prefix = ix->shape.rank <= d->shape.rank;
      for (int k = 0; prefix && k < ix->shape.rank; k++)
        prefix = ix->shape.dim[k] < 0 || d->shape.dim[k] < 0 || ix->shape.dim[k] == d->shape.dim[k];
      if (!prefix)
        return node_error(n, st, TFM_INVALID_ARGUMENT, "indices[%lld] shape %s is not a prefix of data[%lld] shape %s",
                          (long long)i, shape_str(&ix->shape, a), (long long)i, shape_str(&d->shape, b));
      /* Every piece must carry slices of the same shape. */
      if (i0->shape.rank >= 0 && d0->shape.rank >= 0) {
        int inner = d->shape.rank - ix->shape.rank;
        bool same = inner == d0->shape.rank - i0->shape.rank;
        for (int k = 0; same && k < inner; k++) {
          int64_t x = d->shape.dim[ix->shape.rank + k], y = d0->shape.dim[i0->shape.rank + k];
          same = x < 0 || y < 0 || x == y;
        }
        if (!same)
          return node_error(n, st, TFM_INVALID_ARGUMENT, "data[%lld] shape %s does not hold slices like data[0] shape %s",
                            (long long)i, shape_str(&d->shape, a), shape_str(&d0->shape, b));
      }
    }
  }
  n->outputs[0].dtype = d0->dtype;
  if (i0->shape.rank < 0 || d0->shape.rank < 0) {
    n->outputs[0].shape = shape_unknown();
    return TFM_OK;
  }
  /* The first dimension is max(index) + 1: known when every index list is. */
  int64_t max_ix = -1;
  for (int64_t i = 0; i < N && max_ix >= -1; i++) {
    int64_t vals[1024];
    int cnt;
    if (!input_const_ints_flat(n, (int)i, vals, 1024, &cnt)) {
      max_ix = -2;
      break;
    }
    for (int k = 0; k < cnt; k++)
      if (vals[k] > max_ix) max_ix = vals[k];
  }
  shape_t s = {.rank = 1, .dim = {max_ix >= -1 ? max_ix + 1 : -1}};
  for (int k = i0->shape.rank; k < d0->shape.rank; k++) s.dim[s.rank++] = d0->shape.dim[k];
  n->outputs[0].shape = s;
  return TFM_OK;
}

static tfm_code stitch_compute(kctx_t *c) {
  int N = c->n_in / 2;
  const tensor_t *i0 = c->in[0], *d0 = c->in[N];
  int64_t max_ix = -1;
  for (int i = 0; i < N; i++) {
    const tensor_t *ix = c->in[i], *d = c->in[N + i];
    bool prefix = ix->shape.rank <= d->shape.rank && d->dtype == d0->dtype &&
                  d->shape.rank - ix->shape.rank == d0->shape.rank - i0->shape.rank;
    for (int k = 0; prefix && k < ix->shape.rank; k++) prefix = ix->shape.dim[k] == d->shape.dim[k];
    for (int k = 0; prefix && k < d->shape.rank - ix->shape.rank; k++)
      prefix = d->shape.dim[ix->shape.rank + k] == d0->shape.dim[i0->shape.rank + k];
    if (!prefix) {
      char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
      return kctx_error(c, TFM_INVALID_ARGUMENT, "indices[%d] shape %s does not match data[%d] shape %s", i,
                        shape_str(&ix->shape, a), i, shape_str(&d->shape, b));
    }
    for (int64_t k = 0; k < ix->num_elements; k++) {
      int64_t v = tensor_get_i64(ix, k);
      if (v < 0) return kctx_error(c, TFM_INVALID_ARGUMENT, "indices[%d][%lld] = %lld is negative", i, (long long)k, (long long)v);
      if (v > max_ix) max_ix = v;
    }
  }
  shape_t s = {.rank = 1, .dim = {max_ix + 1}};
  for (int k = i0->shape.rank; k < d0->shape.rank; k++) s.dim[s.rank++] = d0->shape.dim[k];
  tensor_t *out = kctx_alloc_output(c, 0, d0->dtype, &s);
  if (!out) return status_code(c->st);
  size_t row = (size_t)dims_product(&d0->shape, i0->shape.rank, d0->shape.rank) * dtype_size(d0->dtype);
  memset(out->data, 0, row * (size_t)(max_ix + 1));
  /* Later lists overwrite earlier ones at equal indices, as in TensorFlow. */
  for (int i = 0; i < N; i++) {
    const tensor_t *ix = c->in[i];
    const uint8_t *src = c->in[N + i]->data;
    for (int64_t k = 0; k < ix->num_elements; k++)
      memcpy((uint8_t *)out->data + (size_t)tensor_get_i64(ix, k) * row, src + (size_t)k * row, row);
  }
  return TFM_OK;
}

/* d data[i] = dy gathered at indices[i]; the indices get none. */
static tfm_code stitch_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  int N = g->op->n_inputs / 2;
  for (int i = 0; i < N; i++)
    if (!(g->dx[N + i] = gather_rows(g->g, g->dy[0], g->op->inputs[i], g->st))) return grad_done(g, NULL);
  return TFM_OK;
}

const op_def_t ops_gather[] = {
    {.name = "GatherV2", .n_inputs = 3, .n_outputs = 1, .attrs = gather_v2_attrs, .infer = gather_infer,
     .compute = gather_compute, .gradient = gather_grad},
    {.name = "Gather", .n_inputs = 2, .n_outputs = 1, .attrs = gather_attrs, .infer = gather_infer,
     .compute = gather_compute, .gradient = gather_grad},
    {.name = "UnsortedSegmentSum", .n_inputs = 3, .n_outputs = 1, .attrs = segment_attrs,
     .infer = segment_sum_infer, .compute = segment_sum_compute, .gradient = segment_sum_grad},
    {.name = "DynamicStitch", .n_outputs = 1, .attrs = stitch_attrs, .infer = stitch_infer,
     .compute = stitch_compute, .gradient = stitch_grad, .flags = OP_VARIADIC},
    {NULL}};
