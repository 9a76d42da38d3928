/* Layout ops: they rearrange elements without computing on them (Transpose,
 * InvertPermutation, Tile, Pack, Unpack, ConcatV2, Slice, Pad). Each op's attrs,
 * shape function, kernel, gradient and public builder sit together. */
#include <string.h>

#include "core/mem.h"
#include "kernels/kernels.h"
#include "ops/build.h"
#include "tfmini/ops.h"

/* A view of t's buffer with another shape (no allocation; for kernels). */
static tensor_t view_as(const tensor_t *t, const shape_t *s) {
  tensor_t v = *t;
  atomic_init(&v.refs, 1);
  v.shape = *s;
  v.dealloc = NULL;
  return v;
}

/* ---- Transpose, InvertPermutation ---- */

static const attr_def_t transpose_attrs[] = {T_ATTR_REQUIRED, INDEX_ATTR("Tperm"), {NULL}};

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

static const attr_def_t invert_perm_attrs[] = {{"T", ATTR_TYPE, {.kind = ATTR_TYPE, .u.type = TFM_INT32}},
                                               {NULL}};

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
    output_set_const(n, 0, t);
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

/* ---- Tile ---- */

static const attr_def_t tile_attrs[] = {T_ATTR_REQUIRED, INDEX_ATTR("Tmultiples"), {NULL}};

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

/* ---- Pack, ConcatV2 ---- */

static const attr_def_t pack_attrs[] = {
    {"N", ATTR_I, {0}}, T_ATTR_REQUIRED, {"axis", ATTR_I, {.kind = ATTR_I, .u.i = 0}}, {NULL}};
static const attr_def_t concat_attrs[] = {{"N", ATTR_I, {0}}, T_ATTR_REQUIRED, INDEX_ATTR("Tidx"), {NULL}};

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
                        dtype_name(v->dtype), output_name(v, an, sizeof an), dtype_name(n->inputs[0]->dtype),
                        output_name(n->inputs[0], bn, sizeof bn));
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
                        shape_str(&n->inputs[0]->shape, a), output_name(n->inputs[0], an, sizeof an),
                        shape_str(&v->shape, b), output_name(v, bn, sizeof bn));
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

/* Pack of string scalars or vectors (the sharded saver packs its shard names). */
static tfm_code pack_strings(kctx_t *c, int64_t axis) {
  const tensor_t *x0 = c->in[0];
  if (x0->shape.rank > 0 && axis != 0)
    return kctx_error(c, TFM_UNIMPLEMENTED, "string tensors are packed along axis 0 only");
  for (int i = 0; i < c->n_in; i++)
    if (c->in[i]->dtype != TFM_STRING || !shape_equal(&c->in[i]->shape, &x0->shape))
      return kctx_error(c, TFM_INVALID_ARGUMENT, "value %d differs in shape or dtype from value 0", i);
  shape_t s = {.rank = x0->shape.rank + 1};
  s.dim[0] = c->n_in;
  for (int d = 0; d < x0->shape.rank; d++) s.dim[d + 1] = x0->shape.dim[d];
  tensor_t *out = kctx_alloc_output(c, 0, TFM_STRING, &s);
  if (!out) return status_code(c->st);
  for (int i = 0; i < c->n_in; i++)
    for (int64_t e = 0; e < x0->num_elements; e++) {
      const tstring_t *v = &TENSOR_STR(c->in[i])[e];
      if (tensor_string_set(out, i * x0->num_elements + e, v->data ? v->data : "", v->len, c->st) != TFM_OK)
        return status_code(c->st);
    }
  return TFM_OK;
}

static tfm_code pack_compute(kctx_t *c) {
  int count = c->n_in;
  const tensor_t *x0 = c->in[0];
  int64_t axis = node_attr_int(c->node, "axis", 0);
  if (axis < 0) axis += x0->shape.rank + 1;
  if (x0->dtype == TFM_STRING) return pack_strings(c, axis);
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

/* ---- box copies (Slice, Pad, Unpack) ---- */

/* Copies the box `size` starting at `src_at` of src (dims ss) to `dst_at` of dst
 * (dims ds), row-major, one memcpy per innermost row. */
static void copy_box(const char *src, const int64_t *ss, const int64_t *src_at, char *dst,
                     const int64_t *ds, const int64_t *dst_at, const int64_t *size, int r, size_t esz) {
  if (r == 0) {
    memcpy(dst, src, esz);
    return;
  }
  int64_t sstride[TFM_MAX_RANK], dstride[TFM_MAX_RANK], idx[TFM_MAX_RANK] = {0};
  sstride[r - 1] = dstride[r - 1] = 1;
  for (int i = r - 2; i >= 0; i--) {
    sstride[i] = sstride[i + 1] * ss[i + 1];
    dstride[i] = dstride[i + 1] * ds[i + 1];
  }
  for (int i = 0; i < r; i++)
    if (size[i] == 0) return;
  size_t row = (size_t)size[r - 1] * esz;
  for (;;) {
    int64_t so = 0, doff = 0;
    for (int i = 0; i < r; i++) {
      so += (src_at[i] + (i < r - 1 ? idx[i] : 0)) * sstride[i];
      doff += (dst_at[i] + (i < r - 1 ? idx[i] : 0)) * dstride[i];
    }
    memcpy(dst + (size_t)doff * esz, src + (size_t)so * esz, row);
    int i = r - 2;
    while (i >= 0 && ++idx[i] == size[i]) idx[i--] = 0;
    if (i < 0) return;
  }
}

static tfm_code no_strings(kctx_t *c, const tensor_t *x) {
  return x->dtype == TFM_STRING ? kctx_error(c, TFM_UNIMPLEMENTED, "string tensors are not supported")
                                : TFM_OK;
}

/* ---- Unpack ---- */

static const attr_def_t unpack_attrs[] = {
    {"num", ATTR_I, {0}}, T_ATTR_REQUIRED, {"axis", ATTR_I, {.kind = ATTR_I, .u.i = 0}}, {NULL}};

static int unpack_num_outputs(const node_t *n) {
  int64_t num = node_attr_int(n, "num", -1);
  return num < 0 || num > 100000 ? -1 : (int)num;
}

static tfm_code unpack_infer(node_t *n, tfm_status *st) {
  const shape_t *in = &n->inputs[0]->shape;
  int64_t num = node_attr_int(n, "num", 0), axis = node_attr_int(n, "axis", 0);
  shape_t out = shape_unknown();
  char buf[SHAPE_STR_MAX];
  if (in->rank >= 0) {
    if (axis < -in->rank || axis >= in->rank)
      return node_error(n, st, TFM_INVALID_ARGUMENT, "axis %lld is outside [%d, %d)", (long long)axis,
                        -in->rank, in->rank);
    if (axis < 0) axis += in->rank;
    if (in->dim[axis] >= 0 && in->dim[axis] != num)
      return node_error(n, st, TFM_INVALID_ARGUMENT, "num is %lld but dim %lld of %s is %lld",
                        (long long)num, (long long)axis, shape_str(in, buf), (long long)in->dim[axis]);
    out.rank = in->rank - 1;
    for (int i = 0, j = 0; i < in->rank; i++)
      if (i != axis) out.dim[j++] = in->dim[i];
  }
  for (int i = 0; i < n->n_outputs; i++) {
    n->outputs[i].dtype = n->inputs[0]->dtype;
    n->outputs[i].shape = out;
  }
  return TFM_OK;
}

static tfm_code unpack_compute(kctx_t *c) {
  const tensor_t *x = c->in[0];
  if (no_strings(c, x) != TFM_OK) return TFM_UNIMPLEMENTED;
  int r = x->shape.rank;
  int64_t axis = node_attr_int(c->node, "axis", 0);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r || x->shape.dim[axis] != c->n_out)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "cannot unpack %d values along axis %lld", c->n_out,
                      (long long)node_attr_int(c->node, "axis", 0));
  shape_t s = {.rank = r - 1};
  int64_t at[TFM_MAX_RANK] = {0}, zero[TFM_MAX_RANK] = {0}, box[TFM_MAX_RANK], ds[TFM_MAX_RANK];
  for (int i = 0, j = 0; i < r; i++)
    if (i != axis) s.dim[j++] = x->shape.dim[i];
  for (int i = 0; i < r; i++) {
    box[i] = i == axis ? 1 : x->shape.dim[i];
    ds[i] = box[i];
  }
  for (int k = 0; k < c->n_out; k++) {
    tensor_t *out = kctx_alloc_output(c, k, x->dtype, &s);
    if (!out) return status_code(c->st);
    at[axis] = k;
    copy_box(x->data, x->shape.dim, at, out->data, ds, zero, box, r, dtype_size(x->dtype));
  }
  return TFM_OK;
}

static tfm_code pack_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  node_t *f = g->op;
  attr_t attrs[] = {ATTR_I_V("num", f->n_inputs), ATTR_I_V("axis", node_attr_int(f, "axis", 0))};
  output_t *dy = (output_t *)g->dy[0];
  node_t *u = graph_add_op(g->g, "Unpack", NULL, false, &dy, 1, attrs, 2, NULL, 0, g->st);
  if (!u) return status_code(g->st);
  for (int i = 0; i < f->n_inputs; i++) g->dx[i] = &u->outputs[i];
  return TFM_OK;
}

static tfm_code unpack_grad(grad_ctx_t *g) {
  node_t *f = g->op;
  output_t *parts[256];
  if (f->n_outputs > 256) return status_set(g->st, TFM_UNIMPLEMENTED, "Unpack gradient: more than 256 outputs");
  bool any = false;
  for (int i = 0; i < f->n_outputs; i++) {
    parts[i] = (output_t *)g->dy[i];
    any = any || parts[i];
  }
  if (!any) return TFM_OK;
  for (int i = 0; i < f->n_outputs; i++) {
    if (parts[i]) continue;
    output_t *o = &f->outputs[i];
    if (!(parts[i] = op_build(g->g, "ZerosLike", NULL, &o, 1, NULL, 0, g->st))) return status_code(g->st);
  }
  attr_t attrs[] = {ATTR_I_V("N", f->n_outputs), ATTR_I_V("axis", node_attr_int(f, "axis", 0))};
  g->dx[0] = op_build(g->g, "Pack", NULL, parts, f->n_outputs, attrs, 2, g->st);
  return g->dx[0] ? TFM_OK : status_code(g->st);
}

/* ---- Slice ---- */

static const attr_def_t slice_attrs[] = {T_ATTR_REQUIRED, INDEX_ATTR("Index"), {NULL}};

/* Resolves begin/size (size -1: to the end) against dims; checks the bounds. */
static tfm_code slice_box(const node_t *n, const shape_t *in, const int64_t *begin, const int64_t *size,
                          int count, int64_t *box, tfm_status *st) {
  char buf[SHAPE_STR_MAX];
  if (count != in->rank)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "begin and size have %d entries for an input of shape %s",
                      count, shape_str(in, buf));
  for (int i = 0; i < count; i++) {
    int64_t d = in->dim[i];
    box[i] = size[i] == -1 && d >= 0 ? d - begin[i] : size[i];
    if (begin[i] < 0 || box[i] < -1 || (d >= 0 && (begin[i] > d || box[i] > d - begin[i])))
      return node_error(n, st, TFM_INVALID_ARGUMENT,
                        "slice of dim %d (begin %lld, size %lld) is outside the input shape %s", i,
                        (long long)begin[i], (long long)size[i], shape_str(in, buf));
  }
  return TFM_OK;
}

static tfm_code slice_infer(node_t *n, tfm_status *st) {
  const shape_t *in = &n->inputs[0]->shape;
  int64_t begin[TFM_MAX_RANK], size[TFM_MAX_RANK];
  int nb, ns;
  n->outputs[0].dtype = n->inputs[0]->dtype;
  n->outputs[0].shape = shape_unknown();
  bool kb = input_const_ints(n, 1, begin, TFM_MAX_RANK, &nb);
  bool ks = input_const_ints(n, 2, size, TFM_MAX_RANK, &ns);
  if (!ks) {
    if (in->rank >= 0) {
      n->outputs[0].shape.rank = in->rank;
      for (int i = 0; i < in->rank; i++) n->outputs[0].shape.dim[i] = -1;
    }
    return TFM_OK;
  }
  if (kb && in->rank >= 0)
    return slice_box(n, in, begin, size, ns, n->outputs[0].shape.dim, st) == TFM_OK
               ? (n->outputs[0].shape.rank = ns, TFM_OK)
               : TFM_INVALID_ARGUMENT;
  n->outputs[0].shape.rank = ns;
  for (int i = 0; i < ns; i++) n->outputs[0].shape.dim[i] = size[i] >= 0 ? size[i] : -1;
  return TFM_OK;
}

static tfm_code slice_compute(kctx_t *c) {
  const tensor_t *x = c->in[0];
  if (no_strings(c, x) != TFM_OK) return TFM_UNIMPLEMENTED;
  int r = x->shape.rank;
  if (c->in[1]->num_elements != r || c->in[2]->num_elements != r)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "begin and size must have %d entries", r);
  int64_t begin[TFM_MAX_RANK], size[TFM_MAX_RANK], zero[TFM_MAX_RANK] = {0};
  for (int i = 0; i < r; i++) {
    begin[i] = tensor_get_i64(c->in[1], i);
    size[i] = tensor_get_i64(c->in[2], i);
  }
  shape_t s = {.rank = r};
  if (slice_box(c->node, &x->shape, begin, size, r, s.dim, c->st) != TFM_OK) return TFM_INVALID_ARGUMENT;
  tensor_t *out = kctx_alloc_output(c, 0, x->dtype, &s);
  if (!out) return status_code(c->st);
  if (out->num_elements) copy_box(x->data, x->shape.dim, begin, out->data, s.dim, zero, s.dim, r, dtype_size(x->dtype));
  return TFM_OK;
}

/* An int32 [rank, 2] constant of paddings. */
static output_t *paddings_const(graph_t *g, const int64_t *before, const int64_t *after, int r, tfm_status *st) {
  shape_t s = {.rank = 2, .dim = {r, 2}};
  tensor_t *t = tensor_new(TFM_INT32, &s, st);
  if (!t) return NULL;
  for (int i = 0; i < r; i++) {
    TENSOR_I32(t)[2 * i] = (int32_t)before[i];
    TENSOR_I32(t)[2 * i + 1] = (int32_t)after[i];
  }
  output_t *o = op_const_tensor(g, t, NULL, st);
  tensor_unref(t);
  return o;
}

/* dx = Pad(dy, [begin, in - begin - size]): needs begin known and x's shape known. */
static tfm_code slice_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  node_t *f = g->op;
  const shape_t *in = &f->inputs[0]->shape, *out = &f->outputs[0].shape;
  int64_t begin[TFM_MAX_RANK], after[TFM_MAX_RANK];
  int nb;
  if (!shape_is_fully_defined(in) || !shape_is_fully_defined(out) ||
      !input_const_ints(f, 1, begin, TFM_MAX_RANK, &nb) || nb != in->rank)
    return node_error(f, g->st, TFM_UNIMPLEMENTED,
                      "gradient needs a constant begin and known input and output shapes");
  for (int i = 0; i < in->rank; i++) after[i] = in->dim[i] - begin[i] - out->dim[i];
  output_t *p = paddings_const(g->g, begin, after, in->rank, g->st);
  output_t *pin[2] = {(output_t *)g->dy[0], p};
  g->dx[0] = p ? op_build(g->g, "Pad", NULL, pin, 2, NULL, 0, g->st) : NULL;
  return g->dx[0] ? TFM_OK : status_code(g->st);
}

/* ---- Pad ---- */

static const attr_def_t pad_attrs[] = {T_ATTR_REQUIRED, INDEX_ATTR("Tpaddings"), {NULL}};

static bool pad_amounts(const node_t *n, int r, int64_t *before, int64_t *after) {
  int64_t p[2 * TFM_MAX_RANK];
  int count;
  if (!input_const_ints_flat(n, 1, p, 2 * TFM_MAX_RANK, &count) || count != 2 * r) return false;
  for (int i = 0; i < r; i++) {
    before[i] = p[2 * i];
    after[i] = p[2 * i + 1];
  }
  return true;
}

static tfm_code pad_infer(node_t *n, tfm_status *st) {
  const shape_t *in = &n->inputs[0]->shape, *ps = &n->inputs[1]->shape;
  char a[SHAPE_STR_MAX];
  n->outputs[0].dtype = n->inputs[0]->dtype;
  n->outputs[0].shape = *in;
  if (ps->rank >= 0 && (ps->rank != 2 || (ps->dim[1] >= 0 && ps->dim[1] != 2) ||
                        (in->rank >= 0 && ps->dim[0] >= 0 && ps->dim[0] != in->rank)))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "paddings must be [%d, 2], got %s", in->rank,
                      shape_str(ps, a));
  int64_t before[TFM_MAX_RANK], after[TFM_MAX_RANK];
  if (in->rank < 0) return TFM_OK;
  bool known = pad_amounts(n, in->rank, before, after);
  for (int i = 0; i < in->rank; i++) {
    if (known && (before[i] < 0 || after[i] < 0))
      return node_error(n, st, TFM_INVALID_ARGUMENT, "paddings of dim %d are negative", i);
    int64_t d = in->dim[i];
    n->outputs[0].shape.dim[i] = known && d >= 0 ? d + before[i] + after[i] : -1;
  }
  return TFM_OK;
}

static tfm_code pad_compute(kctx_t *c) {
  const tensor_t *x = c->in[0], *p = c->in[1];
  if (no_strings(c, x) != TFM_OK) return TFM_UNIMPLEMENTED;
  int r = x->shape.rank;
  if (p->num_elements != 2 * r) return kctx_error(c, TFM_INVALID_ARGUMENT, "paddings must be [%d, 2]", r);
  int64_t before[TFM_MAX_RANK], zero[TFM_MAX_RANK] = {0};
  shape_t s = {.rank = r};
  for (int i = 0; i < r; i++) {
    before[i] = tensor_get_i64(p, 2 * i);
    int64_t after = tensor_get_i64(p, 2 * i + 1);
    if (before[i] < 0 || after < 0) return kctx_error(c, TFM_INVALID_ARGUMENT, "paddings of dim %d are negative", i);
    s.dim[i] = x->shape.dim[i] + before[i] + after;
  }
  tensor_t *out = kctx_alloc_output(c, 0, x->dtype, &s);
  if (!out) return status_code(c->st);
  if (out->nbytes) memset(out->data, 0, out->nbytes); /* all-zero bits are 0 for every numeric type */
  if (x->num_elements) copy_box(x->data, x->shape.dim, zero, out->data, s.dim, before, x->shape.dim, r, dtype_size(x->dtype));
  return TFM_OK;
}

/* dx = Slice(dy, before, Shape(x)). */
static tfm_code pad_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  node_t *f = g->op;
  int r = f->inputs[0]->shape.rank;
  int64_t before[TFM_MAX_RANK], after[TFM_MAX_RANK];
  if (r < 0 || !pad_amounts(f, r, before, after))
    return node_error(f, g->st, TFM_UNIMPLEMENTED, "gradient needs constant paddings and a known rank");
  int32_t b32[TFM_MAX_RANK];
  for (int i = 0; i < r; i++) b32[i] = (int32_t)before[i];
  output_t *x = f->inputs[0];
  output_t *b = op_const_i32(g->g, b32, r, NULL, g->st);
  output_t *size = b ? op_build(g->g, "Shape", NULL, &x, 1, NULL, 0, g->st) : NULL;
  output_t *in[3] = {(output_t *)g->dy[0], b, size};
  g->dx[0] = size ? op_build(g->g, "Slice", NULL, in, 3, NULL, 0, g->st) : NULL;
  return g->dx[0] ? TFM_OK : status_code(g->st);
}

/* ---- gradients of Tile and ConcatV2 ---- */

/* Sum dy viewed as [m0,d0,m1,d1,...] over the m axes. */
static tfm_code tile_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  node_t *f = g->op;
  const shape_t *in = &f->inputs[0]->shape;
  int64_t m[TFM_MAX_RANK];
  int count;
  if (!shape_is_fully_defined(in) || 2 * in->rank > TFM_MAX_RANK ||
      !input_const_ints(f, 1, m, TFM_MAX_RANK, &count) || count != in->rank)
    return node_error(f, g->st, TFM_UNIMPLEMENTED,
                      "gradient needs constant multiples and a known input shape of rank <= %d",
                      TFM_MAX_RANK / 2);
  int32_t split[TFM_MAX_RANK], axes[TFM_MAX_RANK];
  for (int i = 0; i < in->rank; i++) {
    split[2 * i] = (int32_t)m[i];
    split[2 * i + 1] = (int32_t)in->dim[i];
    axes[i] = 2 * i;
  }
  output_t *s = op_const_i32(g->g, split, 2 * in->rank, NULL, g->st);
  output_t *rin[2] = {(output_t *)g->dy[0], s};
  output_t *r = s ? op_build(g->g, "Reshape", NULL, rin, 2, NULL, 0, g->st) : NULL;
  output_t *a = r ? op_const_i32(g->g, axes, in->rank, NULL, g->st) : NULL;
  output_t *sin[2] = {r, a};
  g->dx[0] = a ? op_build(g->g, "Sum", NULL, sin, 2, NULL, 0, g->st) : NULL;
  return g->dx[0] ? TFM_OK : status_code(g->st);
}

/* dx_i = Slice(dy, offset_i, Shape(x_i)), offset_i along the axis = the sizes
 * of the inputs before it (which must be known). */
static tfm_code concat_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  node_t *f = g->op;
  int count = f->n_inputs - 1;
  int64_t axis;
  int k, ax = 0;
  int rank = f->outputs[0].shape.rank;
  if (rank < 0 || !input_const_ints(f, count, &axis, 1, &k) || k != 1)
    return node_error(f, g->st, TFM_UNIMPLEMENTED, "gradient needs a constant axis and a known rank");
  if (concat_axis(f, axis, rank, &ax, g->st) != TFM_OK) return TFM_INVALID_ARGUMENT;
  int32_t begin[TFM_MAX_RANK] = {0};
  for (int i = 0; i < count; i++) {
    output_t *x = f->inputs[i];
    output_t *b = op_const_i32(g->g, begin, rank, NULL, g->st);
    output_t *size = b ? op_build(g->g, "Shape", NULL, &x, 1, NULL, 0, g->st) : NULL;
    output_t *in[3] = {(output_t *)g->dy[0], b, size};
    if (!size || !(g->dx[i] = op_build(g->g, "Slice", NULL, in, 3, NULL, 0, g->st))) return status_code(g->st);
    int64_t d = x->shape.rank == rank ? x->shape.dim[ax] : -1;
    if (d < 0 && i + 1 < count)
      return node_error(f, g->st, TFM_UNIMPLEMENTED, "gradient needs the size of '%s' along axis %d",
                        x->node->name, ax);
    begin[ax] += (int32_t)d;
  }
  return TFM_OK;
}

/* ---- the table ---- */

const op_def_t ops_layout[] = {
    {.name = "Transpose", .n_inputs = 2, .n_outputs = 1, .attrs = transpose_attrs,
     .infer = transpose_infer, .compute = transpose_compute, .gradient = transpose_grad},
    {.name = "InvertPermutation", .n_inputs = 1, .n_outputs = 1, .attrs = invert_perm_attrs,
     .infer = invert_perm_infer, .compute = invert_perm_compute, .flags = OP_NO_GRADIENT},
    {.name = "Tile", .n_inputs = 2, .n_outputs = 1, .attrs = tile_attrs, .infer = tile_infer,
     .compute = tile_compute, .gradient = tile_grad},
    {.name = "Pack", .n_outputs = 1, .attrs = pack_attrs, .infer = pack_infer,
     .compute = pack_compute, .gradient = pack_grad, .flags = OP_VARIADIC},
    {.name = "Unpack", .n_inputs = 1, .num_outputs = unpack_num_outputs, .attrs = unpack_attrs,
     .infer = unpack_infer, .compute = unpack_compute, .gradient = unpack_grad},
    {.name = "ConcatV2", .n_outputs = 1, .attrs = concat_attrs, .infer = concat_infer,
     .compute = concat_compute, .gradient = concat_grad, .flags = OP_VARIADIC},
    {.name = "Slice", .n_inputs = 3, .n_outputs = 1, .attrs = slice_attrs, .infer = slice_infer,
     .compute = slice_compute, .gradient = slice_grad},
    {.name = "Pad", .n_inputs = 2, .n_outputs = 1, .attrs = pad_attrs, .infer = pad_infer,
     .compute = pad_compute, .gradient = pad_grad},
    {NULL}};
