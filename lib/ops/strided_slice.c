/* StridedSlice (Python's tensor[...] indexing) and its gradient StridedSliceGrad.
 * Both canonicalise the sparse spec (begin/end/strides plus the five masks) into
 * one "dense" slice per input dim the way TensorFlow does: an ellipsis covers the
 * dims no other entry names, new_axis inserts a size-1 dim, shrink_axis takes a
 * single index and drops the dim, masked begins/ends take the full range, and
 * out-of-range bounds are clamped. */
#include <string.h>

#include "ops/build.h"

typedef struct dense_slice {
  int rank;                        /* input rank */
  int64_t begin[TFM_MAX_RANK], stride[TFM_MAX_RANK], size[TFM_MAX_RANK];
  shape_t final;                   /* the output shape (new axes in, shrunk dims out) */
} dense_slice_t;

static const attr_def_t strided_attrs[] = {
    T_ATTR_REQUIRED, INDEX_ATTR("Index"),
    {"begin_mask", ATTR_I, {.kind = ATTR_I}}, {"end_mask", ATTR_I, {.kind = ATTR_I}},
    {"ellipsis_mask", ATTR_I, {.kind = ATTR_I}}, {"new_axis_mask", ATTR_I, {.kind = ATTR_I}},
    {"shrink_axis_mask", ATTR_I, {.kind = ATTR_I}}, {NULL}};

/* Canonicalises the spec against input dims `in` (all known). `sb`, `se`, `ss`
 * hold the n sparse entries. */
static tfm_code dense_spec(const node_t *n, const shape_t *in, const int64_t *sb, const int64_t *se,
                           const int64_t *ss, int count, dense_slice_t *d, tfm_status *st) {
  int64_t bm = node_attr_int(n, "begin_mask", 0), em = node_attr_int(n, "end_mask", 0);
  int64_t elm = node_attr_int(n, "ellipsis_mask", 0), nam = node_attr_int(n, "new_axis_mask", 0);
  int64_t sam = node_attr_int(n, "shrink_axis_mask", 0);
  char buf[SHAPE_STR_MAX];
  if (elm & (elm - 1)) return node_error(n, st, TFM_INVALID_ARGUMENT, "more than one ellipsis");
  /* Entries that consume an input dim (not new axes, not the ellipsis). */
  int consuming = 0;
  for (int i = 0; i < count; i++)
    if (!((nam >> i) & 1) && !((elm >> i) & 1)) consuming++;
  bool has_ellipsis = elm != 0;
  if (consuming > in->rank)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "%d indices for an input of shape %s", consuming,
                      shape_str(in, buf));
  d->rank = in->rank;
  d->final.rank = 0;
  int dim = 0;
  /* One pass over the sparse entries, plus an implicit ellipsis at the end. */
  for (int i = 0; i <= count; i++) {
    bool ellipsis = i < count ? (elm >> i) & 1 : !has_ellipsis;
    if (ellipsis) {
      int covered = in->rank - consuming;
      for (int k = 0; k < covered; k++, dim++) {
        d->begin[dim] = 0;
        d->stride[dim] = 1;
        d->size[dim] = in->dim[dim];
        if (d->final.rank >= TFM_MAX_RANK) goto too_big;
        d->final.dim[d->final.rank++] = in->dim[dim];
      }
      continue;
    }
    if (i == count) break;
    if ((nam >> i) & 1) {
      if (d->final.rank >= TFM_MAX_RANK) goto too_big;
      d->final.dim[d->final.rank++] = 1;
      continue;
    }
    int64_t size = in->dim[dim], stride = ss[i], b = sb[i], e = se[i];
    if (stride == 0) return node_error(n, st, TFM_INVALID_ARGUMENT, "stride %d is 0", i);
    if ((sam >> i) & 1) {
      int64_t idx = b < 0 ? b + size : b;
      if (idx < 0 || idx >= size)
        return node_error(n, st, TFM_INVALID_ARGUMENT, "index %lld is out of bounds for dim %d of shape %s",
                          (long long)b, dim, shape_str(in, buf));
      d->begin[dim] = idx;
      d->stride[dim] = 1;
      d->size[dim] = 1;
      dim++;
      continue;
    }
    int64_t lo = stride > 0 ? 0 : -1, hi = stride > 0 ? size : size - 1;
    if ((bm >> i) & 1) {
      b = stride > 0 ? lo : hi;
    } else {
      if (b < 0) b += size;
      b = b < lo ? lo : b > hi ? hi : b;
    }
    if ((em >> i) & 1) {
      e = stride > 0 ? hi : lo;
    } else {
      if (e < 0) e += size;
      e = e < lo ? lo : e > hi ? hi : e;
    }
    int64_t span = stride > 0 ? e - b : b - e, step = stride > 0 ? stride : -stride;
    int64_t out = span <= 0 ? 0 : (span + step - 1) / step;
    d->begin[dim] = b;
    d->stride[dim] = stride;
    d->size[dim] = out;
    if (d->final.rank >= TFM_MAX_RANK) goto too_big;
    d->final.dim[d->final.rank++] = out;
    dim++;
  }
  return TFM_OK;
too_big:
  return node_error(n, st, TFM_INVALID_ARGUMENT, "the result has more than %d dims", TFM_MAX_RANK);
}

/* Reads begin/end/strides (inputs first..first+2) as constants; false if unknown. */
static bool const_spec(const node_t *n, int first, int64_t *b, int64_t *e, int64_t *s, int *count) {
  int nb, ne, ns;
  if (!input_const_ints(n, first, b, TFM_MAX_RANK * 2, &nb) ||
      !input_const_ints(n, first + 1, e, TFM_MAX_RANK * 2, &ne) ||
      !input_const_ints(n, first + 2, s, TFM_MAX_RANK * 2, &ns) || nb != ne || nb != ns)
    return false;
  *count = nb;
  return true;
}

static tfm_code spec_from_tensors(kctx_t *c, int first, const shape_t *in, dense_slice_t *d) {
  int64_t b[TFM_MAX_RANK * 2], e[TFM_MAX_RANK * 2], s[TFM_MAX_RANK * 2];
  int64_t count = c->in[first]->num_elements;
  if (count > TFM_MAX_RANK * 2 || c->in[first + 1]->num_elements != count ||
      c->in[first + 2]->num_elements != count)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "begin, end and strides must have the same length (<= %d)",
                      TFM_MAX_RANK * 2);
  for (int64_t i = 0; i < count; i++) {
    b[i] = tensor_get_i64(c->in[first], i);
    e[i] = tensor_get_i64(c->in[first + 1], i);
    s[i] = tensor_get_i64(c->in[first + 2], i);
  }
  return dense_spec(c->node, in, b, e, s, (int)count, d, c->st);
}

/* Copies between the strided box of `big` and the dense `small` (element by
 * element; strided slices are small in practice). to_small: gather, else scatter. */
static void strided_copy(const dense_slice_t *d, tensor_t *big, tensor_t *small, bool to_small) {
  size_t esz = dtype_size(big->dtype);
  int r = d->rank;
  int64_t stride[TFM_MAX_RANK], idx[TFM_MAX_RANK] = {0}, total = 1;
  for (int i = 0; i < r; i++) total *= d->size[i];
  if (total == 0) return;
  if (r > 0) stride[r - 1] = 1;
  for (int i = r - 2; i >= 0; i--) stride[i] = stride[i + 1] * big->shape.dim[i + 1];
  char *bp = big->data, *sp = small->data;
  for (int64_t k = 0; k < total; k++) {
    int64_t off = 0;
    for (int i = 0; i < r; i++) off += (d->begin[i] + idx[i] * d->stride[i]) * stride[i];
    if (to_small) memcpy(sp + (size_t)k * esz, bp + (size_t)off * esz, esz);
    else memcpy(bp + (size_t)off * esz, sp + (size_t)k * esz, esz);
    for (int i = r - 1; i >= 0 && ++idx[i] == d->size[i]; i--) idx[i] = 0;
  }
}

/* ---- StridedSlice ---- */

static tfm_code strided_infer(node_t *n, tfm_status *st) {
  const shape_t *in = &n->inputs[0]->shape;
  int64_t b[TFM_MAX_RANK * 2], e[TFM_MAX_RANK * 2], s[TFM_MAX_RANK * 2];
  int count;
  n->outputs[0].dtype = n->inputs[0]->dtype;
  n->outputs[0].shape = shape_unknown();
  if (!shape_is_fully_defined(in) || !const_spec(n, 1, b, e, s, &count)) return TFM_OK;
  dense_slice_t d;
  if (dense_spec(n, in, b, e, s, count, &d, st) != TFM_OK) return TFM_INVALID_ARGUMENT;
  n->outputs[0].shape = d.final;
  return TFM_OK;
}

static tfm_code strided_compute(kctx_t *c) {
  const tensor_t *x = c->in[0];
  if (x->dtype == TFM_STRING) return kctx_error(c, TFM_UNIMPLEMENTED, "string tensors are not supported");
  dense_slice_t d;
  if (spec_from_tensors(c, 1, &x->shape, &d) != TFM_OK) return status_code(c->st);
  tensor_t *out = kctx_alloc_output(c, 0, x->dtype, &d.final);
  if (!out) return status_code(c->st);
  strided_copy(&d, (tensor_t *)x, out, true);
  return TFM_OK;
}

static tfm_code strided_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  node_t *f = g->op;
  output_t *x = f->inputs[0];
  output_t *shape = op_build(g->g, "Shape", NULL, &x, 1, NULL, 0, g->st);
  if (!shape) return status_code(g->st);
  output_t *in[5] = {shape, f->inputs[1], f->inputs[2], f->inputs[3], (output_t *)g->dy[0]};
  static const char *masks[] = {"begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                                "shrink_axis_mask"};
  attr_t attrs[7];
  for (int i = 0; i < 5; i++) attrs[i] = ATTR_I_V(masks[i], node_attr_int(f, masks[i], 0));
  attrs[5] = ATTR_TYPE_V("Index", node_attr_type(f, "Index", TFM_INT32));
  attrs[6] = ATTR_TYPE_V("T", g->dy[0]->dtype);
  g->dx[0] = op_build(g->g, "StridedSliceGrad", NULL, in, 5, attrs, 7, g->st);
  return g->dx[0] ? TFM_OK : status_code(g->st);
}

/* ---- StridedSliceGrad: dy scattered into zeros of the input's shape ---- */

static tfm_code strided_grad_infer(node_t *n, tfm_status *st) {
  int64_t dims[TFM_MAX_RANK];
  int rank;
  n->outputs[0].dtype = n->inputs[4]->dtype;
  n->outputs[0].shape = shape_unknown();
  if (!input_const_ints(n, 0, dims, TFM_MAX_RANK, &rank)) return TFM_OK;
  return shape_make(dims, rank, false, &n->outputs[0].shape, n->name, st);
}

static tfm_code strided_grad_compute(kctx_t *c) {
  const tensor_t *sh = c->in[0], *dy = c->in[4];
  if (dy->dtype == TFM_STRING) return kctx_error(c, TFM_UNIMPLEMENTED, "string tensors are not supported");
  if (sh->num_elements > TFM_MAX_RANK) return kctx_error(c, TFM_INVALID_ARGUMENT, "shape has too many dims");
  int64_t dims[TFM_MAX_RANK];
  for (int64_t i = 0; i < sh->num_elements; i++) dims[i] = tensor_get_i64(sh, i);
  shape_t s;
  if (shape_make(dims, (int)sh->num_elements, false, &s, c->node->name, c->st) != TFM_OK)
    return status_code(c->st);
  dense_slice_t d;
  if (spec_from_tensors(c, 1, &s, &d) != TFM_OK) return status_code(c->st);
  int64_t want = 1;
  for (int i = 0; i < d.rank; i++) want *= d.size[i];
  if (want != dy->num_elements)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "dy has %lld elements, the slice %lld",
                      (long long)dy->num_elements, (long long)want);
  tensor_t *out = kctx_alloc_output(c, 0, dy->dtype, &s);
  if (!out) return status_code(c->st);
  if (out->nbytes) memset(out->data, 0, out->nbytes);
  strided_copy(&d, out, (tensor_t *)dy, false);
  return TFM_OK;
}

const op_def_t ops_strided_slice[] = {
    {.name = "StridedSlice", .n_inputs = 4, .n_outputs = 1, .attrs = strided_attrs,
     .infer = strided_infer, .compute = strided_compute, .gradient = strided_grad},
    {.name = "StridedSliceGrad", .n_inputs = 5, .n_outputs = 1, .attrs = strided_attrs,
     .infer = strided_grad_infer, .compute = strided_grad_compute},
    {NULL}};
