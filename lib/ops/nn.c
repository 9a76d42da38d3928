/* The neural-network op family: activations (Relu, Sigmoid, Tanh, Softplus) and
 * their TensorFlow gradient ops, Softmax/LogSoftmax, Conv2D and its two backprop
 * ops, BiasAdd/BiasAddGrad, MaxPool/MaxPoolGrad and
 * (Sparse)SoftmaxCrossEntropyWithLogits. Layout is NHWC (filters HWIO), as TensorFlow's
 * CPU default; other data formats and dilations are reported as unimplemented. */
#include <math.h>
#include <string.h>

#include "core/mem.h"
#include "kernels/kernels.h"
#include "ops/grad_build.h"
#include "tfmini/ops.h"

#define T_ATTR {"T", ATTR_TYPE, {0}} /* required; taken from input 0 when absent */
#define BOOL_ATTR(nm, dflt) {nm, ATTR_B, {.kind = ATTR_B, .u.b = (dflt)}}
#define STRING_ATTR(nm, str) {nm, ATTR_S, {.kind = ATTR_S, .u.s = {(char *)(str), sizeof(str) - 1}}}
#define LIST_I_ATTR(nm, ...)                                                                        \
  {nm, ATTR_LIST_I,                                                                                 \
   {.kind = ATTR_LIST_I,                                                                            \
    .u.list = {.n = sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t), .i = (int64_t[]){__VA_ARGS__}}}}

static const attr_def_t t_attrs[] = {T_ATTR, {NULL}};

static const char *oname(const output_t *o, char *buf) { return output_name(o, buf, 256); }

/* Dim i of a shape; unknown when the rank is unknown or too small. */
static int64_t dim_or(const shape_t *s, int i) { return s->rank > i ? s->dim[i] : SHAPE_UNKNOWN_DIM; }

static tfm_code grad_done(grad_ctx_t *g, output_t *r) {
  if (r) return TFM_OK;
  return status_code(g->st) != TFM_OK ? status_code(g->st)
                                      : status_set(g->st, TFM_INTERNAL, "%s '%s': gradient failed",
                                                   g->op->type, g->op->name);
}

static tfm_code float_input_check(node_t *n, int i, tfm_status *st) {
  if (!dtype_is_float(n->inputs[i]->dtype))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "%s is not defined for %s", n->type,
                      dtype_name(n->inputs[i]->dtype));
  return TFM_OK;
}

/* ---- activations ---- */

static tfm_code activation_infer(node_t *n, tfm_status *st) {
  tfm_code rc = infer_same_as_input0(n, st);
  return rc != TFM_OK ? rc : float_input_check(n, 0, st);
}

static tfm_code activation_compute(kctx_t *c) {
  tensor_t *y = kctx_alloc_output(c, 0, c->in[0]->dtype, &c->in[0]->shape);
  if (!y) return status_code(c->st);
  return kern_unary((ew_unary_t)c->node->def->ew_code, c->in[0], y, c->st);
}

/* ReluGrad(gradients, features), SigmoidGrad(y, dy), TanhGrad(y, dy): two inputs
 * of one shape. */
static tfm_code act_grad_infer(node_t *n, tfm_status *st) {
  const output_t *a = n->inputs[0], *b = n->inputs[1];
  char as[SHAPE_STR_MAX], bs[SHAPE_STR_MAX], an[256], bn[256];
  if (a->dtype != b->dtype)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "inputs have different dtypes: %s ('%s') and %s ('%s')",
                      dtype_name(a->dtype), oname(a, an), dtype_name(b->dtype), oname(b, bn));
  if (!shape_compatible(&a->shape, &b->shape))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "inputs must have the same shape: %s ('%s') and %s ('%s')",
                      shape_str(&a->shape, as), oname(a, an), shape_str(&b->shape, bs), oname(b, bn));
  n->outputs[0].dtype = a->dtype;
  n->outputs[0].shape = a->shape.rank >= 0 ? a->shape : b->shape;
  return float_input_check(n, 0, st);
}

/* The kernel's helper codes take (forward value, incoming gradient). */
static tfm_code act_grad_compute(kctx_t *c) {
  bool relu = c->node->def->ew_code == EW_RELU_GRAD;
  const tensor_t *fwd = relu ? c->in[1] : c->in[0], *d = relu ? c->in[0] : c->in[1];
  if (!shape_equal(&fwd->shape, &d->shape)) {
    char as[SHAPE_STR_MAX], bs[SHAPE_STR_MAX];
    return kctx_error(c, TFM_INVALID_ARGUMENT, "inputs must have the same shape: %s and %s",
                      shape_str(&c->in[0]->shape, as), shape_str(&c->in[1]->shape, bs));
  }
  tensor_t *out = kctx_alloc_output(c, 0, d->dtype, &d->shape);
  if (!out) return status_code(c->st);
  return kern_binary((ew_binary_t)c->node->def->ew_code, fwd, d, out, c->st);
}

/* Relu's gradient from its output (same sign as its input), as TensorFlow. */
static tfm_code relu_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  return grad_done(g, g->dx[0] = gb_binary(g->g, "ReluGrad", g->dy[0], &g->op->outputs[0], g->st));
}

/* ReluGrad(d, x) = d * (x > 0): linear in d, piecewise constant in x. */
static tfm_code relu_grad_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  output_t *x = g->op->inputs[1];
  g->dx[0] = gb_binary(g->g, "ReluGrad", g->dy[0], x, g->st);
  g->dx[1] = gb_unary(g->g, "ZerosLike", x, g->st);
  return grad_done(g, g->dx[0] && g->dx[1] ? g->dx[0] : NULL);
}

static tfm_code sigmoid_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  return grad_done(g, g->dx[0] = gb_binary(g->g, "SigmoidGrad", &g->op->outputs[0], g->dy[0], g->st));
}

/* SigmoidGrad(y, d) = d y (1 - y): w.r.t. y: dd d (1 - 2y); w.r.t. d: SigmoidGrad(y, dd). */
static tfm_code sigmoid_grad_grad(grad_ctx_t *g) {
  output_t *dd = g->dy[0], *y = g->op->inputs[0], *d = g->op->inputs[1];
  if (!dd) return TFM_OK;
  graph_t *gr = g->g;
  tfm_status *st = g->st;
  output_t *gd = gb_binary(gr, "Mul", dd, d, st);
  output_t *two_y = gb_binary(gr, "Mul", gb_scalar_like(gr, 2, y, st), y, st);
  g->dx[0] = gb_binary(gr, "Sub", gd, gb_binary(gr, "Mul", gd, two_y, st), st);
  g->dx[1] = gb_binary(gr, "SigmoidGrad", y, dd, st);
  return grad_done(g, g->dx[0] && g->dx[1] ? g->dx[0] : NULL);
}

static tfm_code tanh_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  return grad_done(g, g->dx[0] = gb_binary(g->g, "TanhGrad", &g->op->outputs[0], g->dy[0], g->st));
}

/* TanhGrad(y, d) = d (1 - y^2): w.r.t. y: -2 dd d y; w.r.t. d: TanhGrad(y, dd). */
static tfm_code tanh_grad_grad(grad_ctx_t *g) {
  output_t *dd = g->dy[0], *y = g->op->inputs[0], *d = g->op->inputs[1];
  if (!dd) return TFM_OK;
  graph_t *gr = g->g;
  tfm_status *st = g->st;
  output_t *m2 = gb_binary(gr, "Mul", dd, gb_scalar_like(gr, -2, dd, st), st);
  g->dx[0] = gb_binary(gr, "Mul", gb_binary(gr, "Mul", m2, d, st), y, st);
  g->dx[1] = gb_binary(gr, "TanhGrad", y, dd, st);
  return grad_done(g, g->dx[0] && g->dx[1] ? g->dx[0] : NULL);
}

/* d softplus(x) = sigmoid(x) */
static tfm_code softplus_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  output_t *s = gb_unary(g->g, "Sigmoid", g->op->inputs[0], g->st);
  return grad_done(g, g->dx[0] = gb_binary(g->g, "Mul", g->dy[0], s, g->st));
}

/* ---- Softmax, LogSoftmax (over the last dim) ---- */

static tfm_code softmax_infer(node_t *n, tfm_status *st) {
  tfm_code rc = activation_infer(n, st);
  if (rc != TFM_OK) return rc;
  if (n->inputs[0]->shape.rank == 0)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "logits must have rank >= 1, got a scalar");
  return TFM_OK;
}

static tfm_code softmax_compute(kctx_t *c) {
  if (c->in[0]->shape.rank < 1) return kctx_error(c, TFM_INVALID_ARGUMENT, "logits must have rank >= 1");
  tensor_t *y = kctx_alloc_output(c, 0, c->in[0]->dtype, &c->in[0]->shape);
  if (!y) return status_code(c->st);
  return kern_softmax(c->in[0], c->node->def->ew_code != 0, y, c->st);
}

/* (dy - sum(dy * y, -1)) * y */
static tfm_code softmax_grad(grad_ctx_t *g) {
  output_t *d = g->dy[0], *y = &g->op->outputs[0];
  if (!d) return TFM_OK;
  graph_t *gr = g->g;
  int32_t last = -1;
  output_t *s = gb_reduce_axes(gr, "Sum", gb_binary(gr, "Mul", d, y, g->st), &last, 1, true, g->st);
  return grad_done(g, g->dx[0] = gb_binary(gr, "Mul", gb_binary(gr, "Sub", d, s, g->st), y, g->st));
}

/* dy - sum(dy, -1) * exp(y) */
static tfm_code log_softmax_grad(grad_ctx_t *g) {
  output_t *d = g->dy[0], *y = &g->op->outputs[0];
  if (!d) return TFM_OK;
  graph_t *gr = g->g;
  int32_t last = -1;
  output_t *s = gb_reduce_axes(gr, "Sum", d, &last, 1, true, g->st);
  output_t *p = gb_binary(gr, "Mul", s, gb_unary(gr, "Exp", y, g->st), g->st);
  return grad_done(g, g->dx[0] = gb_binary(gr, "Sub", d, p, g->st));
}

/* ---- SoftmaxCrossEntropyWithLogits(features [B,C], labels [B,C]) ->
 *      loss [B], backprop [B,C] ---- */

static tfm_code sce_infer(node_t *n, tfm_status *st) {
  const output_t *f = n->inputs[0], *l = n->inputs[1];
  char fs[SHAPE_STR_MAX], ls[SHAPE_STR_MAX], fn[256], ln[256];
  if (f->dtype != l->dtype)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "inputs have different dtypes: %s ('%s') and %s ('%s')",
                      dtype_name(f->dtype), oname(f, fn), dtype_name(l->dtype), oname(l, ln));
  if (float_input_check(n, 0, st) != TFM_OK) return status_code(st);
  if ((f->shape.rank >= 0 && f->shape.rank != 2) || (l->shape.rank >= 0 && l->shape.rank != 2) ||
      !shape_compatible(&f->shape, &l->shape))
    return node_error(n, st, TFM_INVALID_ARGUMENT,
                      "logits and labels must be matrices of one shape: %s ('%s') and %s ('%s')",
                      shape_str(&f->shape, fs), oname(f, fn), shape_str(&l->shape, ls), oname(l, ln));
  shape_t s = {.rank = 2, .dim = {-1, -1}};
  for (int i = 0; i < 2; i++) {
    if (f->shape.rank == 2 && f->shape.dim[i] >= 0) s.dim[i] = f->shape.dim[i];
    else if (l->shape.rank == 2) s.dim[i] = l->shape.dim[i];
  }
  n->outputs[0].dtype = n->outputs[1].dtype = f->dtype;
  n->outputs[0].shape = shape_vector(s.dim[0]);
  n->outputs[1].shape = s;
  return TFM_OK;
}

/* No scratch buffer: backprop holds log-softmax, then labels * log-softmax (summed
 * into the loss), then softmax - labels. */
static tfm_code sce_compute(kctx_t *c) {
  const tensor_t *f = c->in[0], *l = c->in[1];
  char fs[SHAPE_STR_MAX], ls[SHAPE_STR_MAX];
  if (f->shape.rank != 2 || !shape_equal(&f->shape, &l->shape))
    return kctx_error(c, TFM_INVALID_ARGUMENT, "logits and labels must be matrices of one shape: %s and %s",
                      shape_str(&f->shape, fs), shape_str(&l->shape, ls));
  shape_t b = shape_vector(f->shape.dim[0]);
  tensor_t *loss = kctx_alloc_output(c, 0, f->dtype, &b);
  tensor_t *bp = loss ? kctx_alloc_output(c, 1, f->dtype, &f->shape) : NULL;
  if (!bp) return status_code(c->st);
  bool mask[2] = {false, true};
  if (kern_softmax(f, true, bp, c->st) || kern_binary(EW_MUL, bp, l, bp, c->st) ||
      kern_reduce(REDUCE_SUM, bp, mask, loss, c->st) || kern_unary(EW_NEG, loss, loss, c->st) ||
      kern_softmax(f, false, bp, c->st) || kern_binary(EW_SUB, bp, l, bp, c->st))
    return status_code(c->st);
  return TFM_OK;
}

/* d loss / d logits = backprop; d loss / d labels = -log_softmax(logits); each
 * scaled per row by the loss gradient. */
static tfm_code sce_grad(grad_ctx_t *g) {
  if (g->n_dy > 1 && g->dy[1])
    return node_error(g->op, g->st, TFM_UNIMPLEMENTED, "no gradient through the backprop output");
  if (!g->dy[0]) return TFM_OK;
  graph_t *gr = g->g;
  tfm_status *st = g->st;
  output_t *col = gb_binary(gr, "ExpandDims", g->dy[0], op_const_scalar(gr, -1, TFM_INT32, NULL, st), st);
  g->dx[0] = gb_binary(gr, "Mul", col, &g->op->outputs[1], st);
  output_t *nls = gb_unary(gr, "Neg", gb_unary(gr, "LogSoftmax", g->op->inputs[0], st), st);
  g->dx[1] = gb_binary(gr, "Mul", col, nls, st);
  return grad_done(g, g->dx[0] && g->dx[1] ? g->dx[0] : NULL);
}

TFM_API tfm_output *tfm_softmax_cross_entropy_with_logits(tfm_graph *g, tfm_output *labels, tfm_output *logits,
                                                          const char *name, tfm_status *st) {
  if (!builder_inputs_ok("tfm_softmax_cross_entropy_with_logits", st, 2, labels, logits)) return NULL;
  output_t *in[2] = {logits, labels};
  return op_build(graph_or_default(g), "SoftmaxCrossEntropyWithLogits", name, in, 2, NULL, 0, st);
}

/* ---- SparseSoftmaxCrossEntropyWithLogits(features [B,C], labels [B] int) ->
 *      loss [B], backprop [B,C] ---- */

static const attr_def_t sparse_sce_attrs[] = {
    T_ATTR, {"Tlabels", ATTR_TYPE, {.kind = ATTR_TYPE, .u.type = TFM_INT64}}, {NULL}};

static tfm_code sparse_sce_infer(node_t *n, tfm_status *st) {
  const output_t *f = n->inputs[0], *l = n->inputs[1];
  char fs[SHAPE_STR_MAX], ls[SHAPE_STR_MAX], fn[256], ln[256];
  if (float_input_check(n, 0, st) != TFM_OK) return status_code(st);
  if (l->dtype != TFM_INT32 && l->dtype != TFM_INT64)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "labels must be int32 or int64, got %s", dtype_name(l->dtype));
  int64_t fb = dim_or(&f->shape, 0), lb = dim_or(&l->shape, 0);
  if ((f->shape.rank >= 0 && f->shape.rank != 2) || (l->shape.rank >= 0 && l->shape.rank != 1) ||
      (fb >= 0 && lb >= 0 && fb != lb))
    return node_error(n, st, TFM_INVALID_ARGUMENT,
                      "logits must be [batch, classes] and labels [batch]: %s ('%s') and %s ('%s')",
                      shape_str(&f->shape, fs), oname(f, fn), shape_str(&l->shape, ls), oname(l, ln));
  int64_t b = fb >= 0 ? fb : lb;
  n->outputs[0].dtype = n->outputs[1].dtype = f->dtype;
  n->outputs[0].shape = shape_vector(b);
  n->outputs[1].shape = (shape_t){.rank = 2, .dim = {b, dim_or(&f->shape, 1)}};
  return TFM_OK;
}

/* The kernels run the loops over classes; the op only gathers one element per row. */
static tfm_code sparse_sce_compute(kctx_t *c) {
  const tensor_t *f = c->in[0], *l = c->in[1];
  char fs[SHAPE_STR_MAX], ls[SHAPE_STR_MAX];
  if (f->shape.rank != 2 || l->shape.rank != 1 || l->shape.dim[0] != f->shape.dim[0])
    return kctx_error(c, TFM_INVALID_ARGUMENT, "logits must be [batch, classes] and labels [batch]: %s and %s",
                      shape_str(&f->shape, fs), shape_str(&l->shape, ls));
  int64_t rows = f->shape.dim[0], classes = f->shape.dim[1];
  for (int64_t r = 0; r < rows; r++) {
    int64_t y = tensor_get_i64(l, r);
    if (y < 0 || y >= classes)
      return kctx_error(c, TFM_INVALID_ARGUMENT, "label %lld of row %lld is outside [0, %lld)", (long long)y,
                        (long long)r, (long long)classes);
  }
  shape_t b = shape_vector(rows);
  tensor_t *loss = kctx_alloc_output(c, 0, f->dtype, &b);
  tensor_t *bp = loss ? kctx_alloc_output(c, 1, f->dtype, &f->shape) : NULL;
  if (!bp) return status_code(c->st);
  bool f64 = f->dtype == TFM_DOUBLE;
  /* backprop first holds log-softmax: loss = -log_softmax[row, label]. */
  if (kern_softmax(f, true, bp, c->st)) return status_code(c->st);
  for (int64_t r = 0; r < rows; r++) {
    int64_t i = r * classes + tensor_get_i64(l, r);
    if (f64) TENSOR_F64(loss)[r] = -TENSOR_F64(bp)[i];
    else TENSOR_F32(loss)[r] = -TENSOR_F32(bp)[i];
  }
  /* then softmax - one_hot(label) */
  if (kern_softmax(f, false, bp, c->st)) return status_code(c->st);
  for (int64_t r = 0; r < rows; r++) {
    int64_t i = r * classes + tensor_get_i64(l, r);
    if (f64) TENSOR_F64(bp)[i] -= 1;
    else TENSOR_F32(bp)[i] -= 1;
  }
  return TFM_OK;
}

/* d loss / d logits = backprop, per row scaled; the integer labels get none. */
static tfm_code sparse_sce_grad(grad_ctx_t *g) {
  if (g->n_dy > 1 && g->dy[1])
    return node_error(g->op, g->st, TFM_UNIMPLEMENTED, "no gradient through the backprop output");
  if (!g->dy[0]) return TFM_OK;
  graph_t *gr = g->g;
  output_t *col = gb_binary(gr, "ExpandDims", g->dy[0], op_const_scalar(gr, -1, TFM_INT32, NULL, g->st), g->st);
  return grad_done(g, g->dx[0] = gb_binary(gr, "Mul", col, &g->op->outputs[1], g->st));
}

TFM_API tfm_output *tfm_sparse_softmax_cross_entropy_with_logits(tfm_graph *g, tfm_output *labels,
                                                                 tfm_output *logits, const char *name,
                                                                 tfm_status *st) {
  if (!builder_inputs_ok("tfm_sparse_softmax_cross_entropy_with_logits", st, 2, labels, logits)) return NULL;
  output_t *in[2] = {logits, labels};
  attr_t attrs[] = {ATTR_TYPE_V("Tlabels", labels->dtype)};
  return op_build(graph_or_default(g), "SparseSoftmaxCrossEntropyWithLogits", name, in, 2, attrs, 1, st);
}

/* ---- windows: the strides/ksize/padding/data_format attrs of Conv2D and MaxPool ---- */

typedef struct window {
  int kh, kw; /* MaxPool's ksize (Conv2D takes it from the filter) */
  int sh, sw;
  padding_t pad;
} window_t;

/* Reads a [1, h, w, 1] list attr. */
static tfm_code read_hw(const node_t *n, const char *attr, int *h, int *w, tfm_status *st) {
  const attr_value_t *v = node_attr(n, attr);
  if (!v || v->kind != ATTR_LIST_I || v->u.list.n != 4)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "attr '%s' must be a list of 4 ints", attr);
  const int64_t *l = v->u.list.i;
  if (l[0] != 1 || l[3] != 1)
    return node_error(n, st, TFM_UNIMPLEMENTED, "attr '%s' [%lld,%lld,%lld,%lld]: only [1,h,w,1] is supported",
                      attr, (long long)l[0], (long long)l[1], (long long)l[2], (long long)l[3]);
  if (l[1] < 1 || l[2] < 1 || l[1] > INT32_MAX || l[2] > INT32_MAX)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "attr '%s' has a non-positive or huge entry", attr);
  *h = (int)l[1];
  *w = (int)l[2];
  return TFM_OK;
}

static tfm_code read_window(const node_t *n, bool has_ksize, window_t *win, tfm_status *st) {
  memset(win, 0, sizeof *win);
  if (read_hw(n, "strides", &win->sh, &win->sw, st) != TFM_OK) return status_code(st);
  if (has_ksize && read_hw(n, "ksize", &win->kh, &win->kw, st) != TFM_OK) return status_code(st);
  const attr_value_t *p = node_attr(n, "padding");
  if (!p || p->kind != ATTR_S) return node_error(n, st, TFM_INVALID_ARGUMENT, "attr 'padding' is missing");
  if (p->u.s.len == 4 && memcmp(p->u.s.data, "SAME", 4) == 0) win->pad = PADDING_SAME;
  else if (p->u.s.len == 5 && memcmp(p->u.s.data, "VALID", 5) == 0) win->pad = PADDING_VALID;
  else
    return node_error(n, st, TFM_UNIMPLEMENTED, "padding '%.*s' is not supported (SAME or VALID)",
                      (int)p->u.s.len, p->u.s.data ? p->u.s.data : "");
  const attr_value_t *f = node_attr(n, "data_format");
  if (f && f->kind == ATTR_S && !(f->u.s.len == 4 && memcmp(f->u.s.data, "NHWC", 4) == 0))
    return node_error(n, st, TFM_UNIMPLEMENTED, "data_format '%.*s' is not supported (NHWC only)",
                      (int)f->u.s.len, f->u.s.data ? f->u.s.data : "");
  const attr_value_t *d = node_attr(n, "dilations");
  if (d && d->kind == ATTR_LIST_I)
    for (int i = 0; i < d->u.list.n; i++)
      if (d->u.list.i[i] != 1)
        return node_error(n, st, TFM_UNIMPLEMENTED, "dilations other than 1 are not supported");
  return TFM_OK;
}

/* Output size of one spatial dim; -1 when the input size is unknown. */
static tfm_code window_out(const node_t *n, int64_t in, int64_t k, int64_t s, padding_t pad,
                           int64_t *out, tfm_status *st) {
  *out = SHAPE_UNKNOWN_DIM;
  if (in < 0 || k < 0) return TFM_OK;
  int64_t before;
  tfm_status tmp = {0};
  if (conv_output_size(in, k, s, pad, out, &before, &tmp) != TFM_OK)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "%s", tmp.msg);
  return TFM_OK;
}

static tfm_code rank4_check(node_t *n, int i, const char *what, tfm_status *st) {
  const output_t *o = n->inputs[i];
  char s[SHAPE_STR_MAX], on[256];
  if (o->shape.rank >= 0 && o->shape.rank != 4)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "%s must have rank 4, got %s ('%s')", what,
                      shape_str(&o->shape, s), oname(o, on));
  return TFM_OK;
}


static const attr_def_t conv_attrs[] = {
    T_ATTR,
    {"strides", ATTR_LIST_I, {0}},
    BOOL_ATTR("use_cudnn_on_gpu", true),
    {"padding", ATTR_S, {0}},
    {"explicit_paddings", ATTR_LIST_I, {.kind = ATTR_LIST_EMPTY}},
    STRING_ATTR("data_format", "NHWC"),
    LIST_I_ATTR("dilations", 1, 1, 1, 1),
    {NULL}};

/* ---- Conv2D: input [N,H,W,C], filter [KH,KW,C,O] ---- */

static tfm_code conv_infer(node_t *n, tfm_status *st) {
  window_t w;
  if (read_window(n, false, &w, st) != TFM_OK) return status_code(st);
  if (rank4_check(n, 0, "input", st) || rank4_check(n, 1, "filter", st)) return status_code(st);
  const output_t *x = n->inputs[0], *f = n->inputs[1];
  char xs[SHAPE_STR_MAX], fs[SHAPE_STR_MAX], xn[256], fn[256];
  if (x->dtype != f->dtype)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "inputs have different dtypes: %s ('%s') and %s ('%s')",
                      dtype_name(x->dtype), oname(x, xn), dtype_name(f->dtype), oname(f, fn));
  if (float_input_check(n, 0, st) != TFM_OK) return status_code(st);
  int64_t c = dim_or(&x->shape, 3), fc = dim_or(&f->shape, 2);
  if (c >= 0 && fc >= 0 && c != fc)
    return node_error(n, st, TFM_INVALID_ARGUMENT,
                      "input depth %lld differs from the filter's in-depth %lld: %s ('%s') and %s ('%s')",
                      (long long)c, (long long)fc, shape_str(&x->shape, xs), oname(x, xn),
                      shape_str(&f->shape, fs), oname(f, fn));
  shape_t out = {.rank = 4};
  out.dim[0] = dim_or(&x->shape, 0);
  out.dim[3] = dim_or(&f->shape, 3);
  if (window_out(n, dim_or(&x->shape, 1), dim_or(&f->shape, 0), w.sh, w.pad, &out.dim[1], st) ||
      window_out(n, dim_or(&x->shape, 2), dim_or(&f->shape, 1), w.sw, w.pad, &out.dim[2], st))
    return status_code(st);
  n->outputs[0].dtype = x->dtype;
  n->outputs[0].shape = out;
  return TFM_OK;
}

static tfm_code conv_compute(kctx_t *c) {
  window_t w;
  if (read_window(c->node, false, &w, c->st) != TFM_OK) return status_code(c->st);
  const tensor_t *x = c->in[0], *f = c->in[1];
  char xs[SHAPE_STR_MAX], fs[SHAPE_STR_MAX];
  if (x->shape.rank != 4 || f->shape.rank != 4 || x->shape.dim[3] != f->shape.dim[2])
    return kctx_error(c, TFM_INVALID_ARGUMENT, "input %s does not fit filter %s",
                      shape_str(&x->shape, xs), shape_str(&f->shape, fs));
  shape_t out = {.rank = 4, .dim = {x->shape.dim[0], 0, 0, f->shape.dim[3]}};
  if (window_out(c->node, x->shape.dim[1], f->shape.dim[0], w.sh, w.pad, &out.dim[1], c->st) ||
      window_out(c->node, x->shape.dim[2], f->shape.dim[1], w.sw, w.pad, &out.dim[2], c->st))
    return status_code(c->st);
  tensor_t *y = kctx_alloc_output(c, 0, x->dtype, &out);
  if (!y) return status_code(c->st);
  return kern_conv2d(x, f, w.sh, w.sw, w.pad, y, c->st);
}

/* Copies the window attrs of `op` for its backprop ops. */
static int copy_attrs(const node_t *op, const char *const *names, int n, attr_t *out) {
  int k = 0;
  for (int i = 0; i < n; i++) {
    const attr_value_t *v = node_attr(op, names[i]);
    if (v) out[k++] = (attr_t){.name = (char *)names[i], .value = *v};
  }
  return k;
}

static const char *const conv_attr_names[] = {"strides", "padding", "data_format", "dilations",
                                              "use_cudnn_on_gpu", "explicit_paddings"};

static tfm_code conv_grad(grad_ctx_t *g) {
  output_t *d = g->dy[0], *x = g->op->inputs[0], *f = g->op->inputs[1];
  if (!d) return TFM_OK;
  graph_t *gr = g->g;
  attr_t attrs[8];
  int na = copy_attrs(g->op, conv_attr_names, 6, attrs);
  output_t *sx = gb_unary(gr, "Shape", x, g->st), *sf = gb_unary(gr, "Shape", f, g->st);
  if (!sx || !sf) return grad_done(g, NULL);
  output_t *a[3] = {sx, f, d}, *b[3] = {x, sf, d};
  g->dx[0] = op_build(gr, "Conv2DBackpropInput", NULL, a, 3, attrs, na, g->st);
  g->dx[1] = g->dx[0] ? op_build(gr, "Conv2DBackpropFilter", NULL, b, 3, attrs, na, g->st) : NULL;
  return grad_done(g, g->dx[1]);
}

TFM_API tfm_output *tfm_conv2d(tfm_graph *g, tfm_output *input, tfm_output *filter, int stride_h,
                               int stride_w, const char *padding, const char *name, tfm_status *st) {
  if (!builder_inputs_ok("tfm_conv2d", st, 2, input, filter)) return NULL;
  if (!padding) {
    status_set(st, TFM_INVALID_ARGUMENT, "tfm_conv2d: padding is NULL");
    return NULL;
  }
  int64_t strides[4] = {1, stride_h, stride_w, 1};
  output_t *in[2] = {input, filter};
  attr_t attrs[] = {
      {.name = "strides", .value = {.kind = ATTR_LIST_I, .u.list = {.n = 4, .i = strides}}},
      {.name = "padding", .value = {.kind = ATTR_S, .u.s = {(char *)padding, strlen(padding)}}}};
  return op_build(graph_or_default(g), "Conv2D", name, in, 2, attrs, 2, st);
}

/* ---- Conv2DBackpropInput(input_sizes, filter, out_backprop) and
 *      Conv2DBackpropFilter(input, filter_sizes, out_backprop) ---- */

/* The output shape is the value of the sizes input (unknown dims when not const). */
static tfm_code sizes_shape(node_t *n, int i, shape_t *s, tfm_status *st) {
  int64_t dims[TFM_MAX_RANK];
  int cnt;
  *s = (shape_t){.rank = 4, .dim = {-1, -1, -1, -1}};
  if (!input_const_ints(n, i, dims, TFM_MAX_RANK, &cnt)) return TFM_OK;
  if (cnt != 4) return node_error(n, st, TFM_INVALID_ARGUMENT, "input %d must hold 4 sizes, got %d", i, cnt);
  for (int k = 0; k < 4; k++) s->dim[k] = dims[k];
  return TFM_OK;
}

static tfm_code backprop_infer(node_t *n, tfm_status *st) {
  bool is_input = strcmp(n->type, "Conv2DBackpropInput") == 0;
  int sizes = is_input ? 0 : 1, tensor_in = is_input ? 1 : 0;
  window_t w;
  if (read_window(n, false, &w, st) != TFM_OK) return status_code(st);
  if (rank4_check(n, tensor_in, is_input ? "filter" : "input", st) ||
      rank4_check(n, 2, "out_backprop", st))
    return status_code(st);
  if (n->inputs[tensor_in]->dtype != n->inputs[2]->dtype)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "inputs %d and 2 have different dtypes", tensor_in);
  if (float_input_check(n, 2, st) != TFM_OK) return status_code(st);
  n->outputs[0].dtype = n->inputs[2]->dtype;
  return sizes_shape(n, sizes, &n->outputs[0].shape, st);
}

static tfm_code backprop_compute(kctx_t *c) {
  bool is_input = strcmp(c->node->type, "Conv2DBackpropInput") == 0;
  window_t w;
  if (read_window(c->node, false, &w, c->st) != TFM_OK) return status_code(c->st);
  const tensor_t *sizes = c->in[is_input ? 0 : 1];
  if (sizes->num_elements != 4) return kctx_error(c, TFM_INVALID_ARGUMENT, "sizes must hold 4 values");
  shape_t s = {.rank = 4};
  for (int k = 0; k < 4; k++) s.dim[k] = tensor_get_i64(sizes, k);
  tensor_t *out = kctx_alloc_output(c, 0, c->in[2]->dtype, &s);
  if (!out) return status_code(c->st);
  if (is_input)
    return kern_conv2d_backprop_input(c->in[1], c->in[2], w.sh, w.sw, w.pad, out, c->st);
  return kern_conv2d_backprop_filter(c->in[0], c->in[2], w.sh, w.sw, w.pad, out, c->st);
}

/* ---- BiasAdd(value, bias) and BiasAddGrad(out_backprop) ---- */

static const attr_def_t bias_attrs[] = {T_ATTR, STRING_ATTR("data_format", "NHWC"), {NULL}};

static tfm_code data_format_check(node_t *n, tfm_status *st) {
  const attr_value_t *f = node_attr(n, "data_format");
  if (f && f->kind == ATTR_S && !(f->u.s.len == 4 && memcmp(f->u.s.data, "NHWC", 4) == 0))
    return node_error(n, st, TFM_UNIMPLEMENTED, "data_format '%.*s' is not supported (NHWC only)",
                      (int)f->u.s.len, f->u.s.data ? f->u.s.data : "");
  return TFM_OK;
}

static tfm_code bias_add_infer(node_t *n, tfm_status *st) {
  const output_t *x = n->inputs[0], *b = n->inputs[1];
  char xs[SHAPE_STR_MAX], bs[SHAPE_STR_MAX], xn[256], bn[256];
  if (data_format_check(n, st) != TFM_OK) return status_code(st);
  if (x->dtype != b->dtype)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "inputs have different dtypes: %s ('%s') and %s ('%s')",
                      dtype_name(x->dtype), oname(x, xn), dtype_name(b->dtype), oname(b, bn));
  if (!dtype_is_numeric(x->dtype))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "BiasAdd is not defined for %s", dtype_name(x->dtype));
  bool bad_rank = x->shape.rank == 0 || x->shape.rank == 1 || (b->shape.rank >= 0 && b->shape.rank != 1);
  int64_t c = x->shape.rank > 0 ? x->shape.dim[x->shape.rank - 1] : -1, bc = dim_or(&b->shape, 0);
  if (bad_rank || (c >= 0 && bc >= 0 && c != bc))
    return node_error(n, st, TFM_INVALID_ARGUMENT,
                      "bias must be a vector as long as the last dim of a value of rank >= 2: "
                      "%s ('%s') and %s ('%s')",
                      shape_str(&x->shape, xs), oname(x, xn), shape_str(&b->shape, bs), oname(b, bn));
  n->outputs[0].dtype = x->dtype;
  n->outputs[0].shape = x->shape;
  if (x->shape.rank > 0 && c < 0) n->outputs[0].shape.dim[x->shape.rank - 1] = bc;
  return TFM_OK;
}

static tfm_code bias_add_compute(kctx_t *c) {
  tensor_t *out = kctx_alloc_output(c, 0, c->in[0]->dtype, &c->in[0]->shape);
  if (!out) return status_code(c->st);
  return kern_bias_add(c->in[0], c->in[1], out, c->st);
}

static tfm_code bias_add_grad(grad_ctx_t *g) {
  output_t *d = g->dy[0];
  if (!d) return TFM_OK;
  attr_t attrs[1];
  int na = copy_attrs(g->op, (const char *const[]){"data_format"}, 1, attrs);
  g->dx[0] = d;
  return grad_done(g, g->dx[1] = op_build(g->g, "BiasAddGrad", NULL, &d, 1, attrs, na, g->st));
}

TFM_API tfm_output *tfm_bias_add(tfm_graph *g, tfm_output *x, tfm_output *bias, const char *name,
                                 tfm_status *st) {
  if (!builder_inputs_ok("tfm_bias_add", st, 2, x, bias)) return NULL;
  output_t *in[2] = {x, bias};
  return op_build(graph_or_default(g), "BiasAdd", name, in, 2, NULL, 0, st);
}

static tfm_code bias_add_grad_infer(node_t *n, tfm_status *st) {
  const output_t *d = n->inputs[0];
  char ds[SHAPE_STR_MAX], dn[256];
  if (data_format_check(n, st) != TFM_OK) return status_code(st);
  if (d->shape.rank == 0 || d->shape.rank == 1)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "out_backprop must have rank >= 2, got %s ('%s')",
                      shape_str(&d->shape, ds), oname(d, dn));
  n->outputs[0].dtype = d->dtype;
  n->outputs[0].shape = shape_vector(d->shape.rank > 0 ? d->shape.dim[d->shape.rank - 1] : -1);
  return TFM_OK;
}

static tfm_code bias_add_grad_compute(kctx_t *c) {
  const tensor_t *d = c->in[0];
  if (d->shape.rank < 2) return kctx_error(c, TFM_INVALID_ARGUMENT, "out_backprop must have rank >= 2");
  bool mask[TFM_MAX_RANK];
  for (int i = 0; i < d->shape.rank; i++) mask[i] = i < d->shape.rank - 1;
  shape_t s = shape_vector(d->shape.dim[d->shape.rank - 1]);
  tensor_t *out = kctx_alloc_output(c, 0, d->dtype, &s);
  if (!out) return status_code(c->st);
  return kern_reduce(REDUCE_SUM, d, mask, out, c->st);
}

/* BiasAddGrad sums over all but the last dim: its gradient broadcasts back. */
static tfm_code bias_add_grad_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  output_t *z = gb_unary(g->g, "ZerosLike", g->op->inputs[0], g->st);
  return grad_done(g, g->dx[0] = gb_binary(g->g, "AddV2", z, g->dy[0], g->st));
}

/* ---- MaxPool(input) and MaxPoolGrad(orig_input, orig_output, grad) ---- */

static const attr_def_t pool_attrs[] = {
    T_ATTR,
    {"ksize", ATTR_LIST_I, {0}},
    {"strides", ATTR_LIST_I, {0}},
    {"padding", ATTR_S, {0}},
    STRING_ATTR("data_format", "NHWC"),
    {NULL}};

static tfm_code pool_shape(const node_t *n, const shape_t *x, const window_t *w, shape_t *out,
                           tfm_status *st) {
  *out = (shape_t){.rank = 4, .dim = {dim_or(x, 0), -1, -1, dim_or(x, 3)}};
  if (window_out(n, dim_or(x, 1), w->kh, w->sh, w->pad, &out->dim[1], st) ||
      window_out(n, dim_or(x, 2), w->kw, w->sw, w->pad, &out->dim[2], st))
    return status_code(st);
  return TFM_OK;
}

static tfm_code max_pool_infer(node_t *n, tfm_status *st) {
  window_t w;
  if (read_window(n, true, &w, st) || rank4_check(n, 0, "input", st) || float_input_check(n, 0, st))
    return status_code(st);
  n->outputs[0].dtype = n->inputs[0]->dtype;
  return pool_shape(n, &n->inputs[0]->shape, &w, &n->outputs[0].shape, st);
}

static tfm_code max_pool_compute(kctx_t *c) {
  window_t w;
  shape_t s;
  if (c->in[0]->shape.rank != 4) return kctx_error(c, TFM_INVALID_ARGUMENT, "input must have rank 4");
  if (read_window(c->node, true, &w, c->st) || pool_shape(c->node, &c->in[0]->shape, &w, &s, c->st))
    return status_code(c->st);
  tensor_t *y = kctx_alloc_output(c, 0, c->in[0]->dtype, &s);
  if (!y) return status_code(c->st);
  return kern_max_pool(c->in[0], w.kh, w.kw, w.sh, w.sw, w.pad, y, c->st);
}

static const char *const pool_attr_names[] = {"ksize", "strides", "padding", "data_format"};

static tfm_code max_pool_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  attr_t attrs[4];
  int na = copy_attrs(g->op, pool_attr_names, 4, attrs);
  output_t *in[3] = {g->op->inputs[0], &g->op->outputs[0], g->dy[0]};
  return grad_done(g, g->dx[0] = op_build(g->g, "MaxPoolGrad", NULL, in, 3, attrs, na, g->st));
}

TFM_API tfm_output *tfm_max_pool(tfm_graph *g, tfm_output *input, int ksize_h, int ksize_w, int stride_h,
                                 int stride_w, const char *padding, const char *name, tfm_status *st) {
  if (!builder_inputs_ok("tfm_max_pool", st, 1, input)) return NULL;
  if (!padding) {
    status_set(st, TFM_INVALID_ARGUMENT, "tfm_max_pool: padding is NULL");
    return NULL;
  }
  int64_t ksize[4] = {1, ksize_h, ksize_w, 1}, strides[4] = {1, stride_h, stride_w, 1};
  attr_t attrs[] = {
      {.name = "ksize", .value = {.kind = ATTR_LIST_I, .u.list = {.n = 4, .i = ksize}}},
      {.name = "strides", .value = {.kind = ATTR_LIST_I, .u.list = {.n = 4, .i = strides}}},
      {.name = "padding", .value = {.kind = ATTR_S, .u.s = {(char *)padding, strlen(padding)}}}};
  return op_build(graph_or_default(g), "MaxPool", name, &input, 1, attrs, 3, st);
}

static tfm_code max_pool_grad_infer(node_t *n, tfm_status *st) {
  window_t w;
  if (read_window(n, true, &w, st) || rank4_check(n, 0, "orig_input", st) ||
      rank4_check(n, 1, "orig_output", st) || rank4_check(n, 2, "grad", st) || float_input_check(n, 0, st))
    return status_code(st);
  n->outputs[0].dtype = n->inputs[0]->dtype;
  n->outputs[0].shape = n->inputs[0]->shape;
  return TFM_OK;
}

static tfm_code max_pool_grad_compute(kctx_t *c) {
  window_t w;
  if (read_window(c->node, true, &w, c->st)) return status_code(c->st);
  tensor_t *out = kctx_alloc_output(c, 0, c->in[0]->dtype, &c->in[0]->shape);
  if (!out) return status_code(c->st);
  return kern_max_pool_grad(c->in[0], c->in[2], w.kh, w.kw, w.sh, w.sw, w.pad, out, c->st);
}

/* ---- builders ---- */

static tfm_output *unary_builder(const char *fn, const char *type, tfm_graph *g, tfm_output *x,
                                 const char *name, tfm_status *st) {
  if (!builder_inputs_ok(fn, st, 1, x)) return NULL;
  return op_build(graph_or_default(g), type, name, &x, 1, NULL, 0, st);
}

TFM_API tfm_output *tfm_relu(tfm_graph *g, tfm_output *x, const char *name, tfm_status *st) {
  return unary_builder("tfm_relu", "Relu", g, x, name, st);
}
TFM_API tfm_output *tfm_sigmoid(tfm_graph *g, tfm_output *x, const char *name, tfm_status *st) {
  return unary_builder("tfm_sigmoid", "Sigmoid", g, x, name, st);
}
TFM_API tfm_output *tfm_tanh(tfm_graph *g, tfm_output *x, const char *name, tfm_status *st) {
  return unary_builder("tfm_tanh", "Tanh", g, x, name, st);
}
TFM_API tfm_output *tfm_softmax(tfm_graph *g, tfm_output *logits, const char *name, tfm_status *st) {
  return unary_builder("tfm_softmax", "Softmax", g, logits, name, st);
}
TFM_API tfm_output *tfm_log_softmax(tfm_graph *g, tfm_output *logits, const char *name, tfm_status *st) {
  return unary_builder("tfm_log_softmax", "LogSoftmax", g, logits, name, st);
}

/* ---- the table ---- */

#define ACTIVATION(nm, code, grad)                                                                  \
  {.name = nm, .n_inputs = 1, .n_outputs = 1, .attrs = t_attrs, .infer = activation_infer,          \
   .compute = activation_compute, .gradient = grad, .ew_class = EW_IS_UNARY, .ew_code = code}

const op_def_t ops_nn[] = {
    ACTIVATION("Relu", EW_RELU, relu_grad),
    ACTIVATION("Sigmoid", EW_SIGMOID, sigmoid_grad),
    ACTIVATION("Tanh", EW_TANH, tanh_grad),
    ACTIVATION("Softplus", EW_SOFTPLUS, softplus_grad),
    /* ReluGrad's inputs are (gradients, features), the reverse of the kernel's
     * (forward value, gradient) order: not marked element-wise for fusion. */
    {.name = "ReluGrad", .n_inputs = 2, .n_outputs = 1, .attrs = t_attrs, .infer = act_grad_infer,
     .compute = act_grad_compute, .gradient = relu_grad_grad, .ew_code = EW_RELU_GRAD},
    {.name = "SigmoidGrad", .n_inputs = 2, .n_outputs = 1, .attrs = t_attrs, .infer = act_grad_infer,
     .compute = act_grad_compute, .gradient = sigmoid_grad_grad, .ew_class = EW_IS_BINARY,
     .ew_code = EW_SIGMOID_GRAD},
    {.name = "TanhGrad", .n_inputs = 2, .n_outputs = 1, .attrs = t_attrs, .infer = act_grad_infer,
     .compute = act_grad_compute, .gradient = tanh_grad_grad, .ew_class = EW_IS_BINARY,
     .ew_code = EW_TANH_GRAD},
    {.name = "Softmax", .n_inputs = 1, .n_outputs = 1, .attrs = t_attrs, .infer = softmax_infer,
     .compute = softmax_compute, .gradient = softmax_grad, .ew_code = 0},
    {.name = "LogSoftmax", .n_inputs = 1, .n_outputs = 1, .attrs = t_attrs, .infer = softmax_infer,
     .compute = softmax_compute, .gradient = log_softmax_grad, .ew_code = 1 /* log */},
    {.name = "SoftmaxCrossEntropyWithLogits", .n_inputs = 2, .n_outputs = 2, .attrs = t_attrs,
     .infer = sce_infer, .compute = sce_compute, .gradient = sce_grad},
    {.name = "SparseSoftmaxCrossEntropyWithLogits", .n_inputs = 2, .n_outputs = 2,
     .attrs = sparse_sce_attrs, .infer = sparse_sce_infer, .compute = sparse_sce_compute,
     .gradient = sparse_sce_grad},
    {.name = "Conv2D", .n_inputs = 2, .n_outputs = 1, .attrs = conv_attrs, .infer = conv_infer,
     .compute = conv_compute, .gradient = conv_grad},
    {.name = "Conv2DBackpropInput", .n_inputs = 3, .n_outputs = 1, .attrs = conv_attrs,
     .infer = backprop_infer, .compute = backprop_compute},
    {.name = "Conv2DBackpropFilter", .n_inputs = 3, .n_outputs = 1, .attrs = conv_attrs,
     .infer = backprop_infer, .compute = backprop_compute},
    {.name = "BiasAdd", .n_inputs = 2, .n_outputs = 1, .attrs = bias_attrs, .infer = bias_add_infer,
     .compute = bias_add_compute, .gradient = bias_add_grad},
    {.name = "BiasAddGrad", .n_inputs = 1, .n_outputs = 1, .attrs = bias_attrs,
     .infer = bias_add_grad_infer, .compute = bias_add_grad_compute, .gradient = bias_add_grad_grad},
    {.name = "MaxPool", .n_inputs = 1, .n_outputs = 1, .attrs = pool_attrs, .infer = max_pool_infer,
     .compute = max_pool_compute, .gradient = max_pool_grad},
    {.name = "MaxPoolGrad", .n_inputs = 3, .n_outputs = 1, .attrs = pool_attrs,
     .infer = max_pool_grad_infer, .compute = max_pool_grad_compute},
    {0}};
