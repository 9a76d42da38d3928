/* The math op family: element-wise arithmetic and comparisons, AddN, Cast,
 * reductions (Sum, Mean, Max, Min, Prod), ArgMax/ArgMin, MatMul, BatchMatMul, Select and
 * BroadcastGradientArgs. Each op's attrs (TensorFlow's names and defaults), shape
 * function, kernel call, gradient and public builder sit together here.
 *
 * Gradients follow TensorFlow's math: a broadcasting binary op sums its gradient
 * over the broadcast axes and reshapes it back to the input's shape, statically
 * when both shapes are known at build time, otherwise with TensorFlow's dynamic
 * pattern (Shape, BroadcastGradientArgs, Sum, Reshape). */
#include <string.h>

#include "core/mem.h"
#include "kernels/kernels.h"
#include "ops/build.h"
#include "ops/grad_build.h"
#include "tfmini/ops.h"

#define T_ATTR {"T", ATTR_TYPE, {0}} /* required; taken from input 0 when absent */
#define TYPE_ATTR(nm, dflt) {nm, ATTR_TYPE, {.kind = ATTR_TYPE, .u.type = (dflt)}}
#define BOOL_ATTR(nm, dflt) {nm, ATTR_B, {.kind = ATTR_B, .u.b = (dflt)}}

static const attr_def_t t_attrs[] = {T_ATTR, {NULL}};

static const char *oname(const output_t *o, char *buf) { return output_name(o, buf, 256); }

static void set_const(node_t *n, int i, tensor_t *t) {
  tensor_unref(n->outputs[i].const_value);
  n->outputs[i].const_value = t;
}

/* The status code after a gradient helper chain: OK only if the result exists. */
static tfm_code grad_done(grad_ctx_t *g, output_t *r) {
  if (r) return TFM_OK;
  return status_code(g->st) != TFM_OK ? status_code(g->st)
                                      : status_set(g->st, TFM_INTERNAL, "%s '%s': gradient failed",
                                                   g->op->type, g->op->name);
}

/* ---- undoing broadcasting ---- */

/* Axes of `out` over which `in` was broadcast (both fully known, out the broadcast
 * shape): leading axes missing from `in`, and axes where `in` has size 1. */
static int broadcast_axes(const shape_t *in, const shape_t *out, int32_t *axes) {
  int n = 0, lead = out->rank - in->rank;
  for (int i = 0; i < out->rank; i++) {
    if (i < lead || (in->dim[i - lead] == 1 && out->dim[i] != 1)) axes[n++] = i;
  }
  return n;
}

/* Gradient `d` (of the broadcast output) reduced to the shape of input `x`, when
 * the shapes of x and d are known: Sum over constant axes + Reshape. */
static output_t *unbroadcast_static(graph_t *g, output_t *d, const output_t *x, tfm_status *st) {
  if (shape_equal(&d->shape, &x->shape)) return d;
  int32_t axes[TFM_MAX_RANK];
  int n = broadcast_axes(&x->shape, &d->shape, axes);
  output_t *s = n ? gb_reduce_axes(g, "Sum", d, axes, n, false, st) : d;
  return gb_reshape_to(g, s, &x->shape, st);
}

/* Sets dx[0] and dx[1] from the gradients gx, gy taken w.r.t. the broadcast output
 * (either may be NULL: no gradient for that input). */
static tfm_code unbroadcast_pair(grad_ctx_t *g, output_t *gx, output_t *gy) {
  output_t *x = g->op->inputs[0], *y = g->op->inputs[1];
  const output_t *d = gx ? gx : gy;
  /* A NULL here is a failed build (its error in st) unless the op defines none. */
  if (status_code(g->st) != TFM_OK || !d) return grad_done(g, NULL);
  if (shape_is_fully_defined(&x->shape) && shape_is_fully_defined(&y->shape) &&
      shape_is_fully_defined(&d->shape)) {
    if (gx && !(g->dx[0] = unbroadcast_static(g->g, gx, x, g->st))) return grad_done(g, NULL);
    if (gy && !(g->dx[1] = unbroadcast_static(g->g, gy, y, g->st))) return grad_done(g, NULL);
    return TFM_OK;
  }
  /* TensorFlow's dynamic pattern. */
  output_t *sx = gb_unary(g->g, "Shape", x, g->st);
  output_t *sy = gb_unary(g->g, "Shape", y, g->st);
  if (!sx || !sy) return grad_done(g, NULL);
  output_t *in[2] = {sx, sy};
  node_t *bga = graph_add_op(g->g, "BroadcastGradientArgs", NULL, false, in, 2, NULL, 0, NULL, 0,
                             g->st);
  if (!bga) return grad_done(g, NULL);
  if (gx) {
    output_t *s = gb_reduce(g->g, "Sum", gx, &bga->outputs[0], false, g->st);
    if (!(g->dx[0] = gb_binary(g->g, "Reshape", s, sx, g->st))) return grad_done(g, NULL);
  }
  if (gy) {
    output_t *s = gb_reduce(g->g, "Sum", gy, &bga->outputs[1], false, g->st);
    if (!(g->dx[1] = gb_binary(g->g, "Reshape", s, sy, g->st))) return grad_done(g, NULL);
  }
  return TFM_OK;
}

/* ---- element-wise binary ops ---- */

static tfm_code binary_infer(node_t *n, tfm_status *st) {
  tfm_code rc = infer_broadcast_binary(n, st);
  if (rc != TFM_OK) return rc;
  ew_binary_t op = (ew_binary_t)n->def->ew_code;
  tfm_dtype dt = n->inputs[0]->dtype;
  if (!ew_binary_supports(op, dt))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "%s is not defined for %s", n->type,
                      dtype_name(dt));
  n->outputs[0].dtype = ew_binary_out_dtype(op, dt);
  return TFM_OK;
}

static tfm_code binary_compute(kctx_t *c) {
  const tensor_t *a = c->in[0], *b = c->in[1];
  shape_t s;
  if (shape_broadcast(&a->shape, &b->shape, &s, c->node->name, NULL) != TFM_OK) {
    char as[SHAPE_STR_MAX], bs[SHAPE_STR_MAX];
    return kctx_error(c, TFM_INVALID_ARGUMENT, "incompatible shapes: %s and %s",
                      shape_str(&a->shape, as), shape_str(&b->shape, bs));
  }
  ew_binary_t op = (ew_binary_t)c->node->def->ew_code;
  tensor_t *out = kctx_alloc_output(c, 0, ew_binary_out_dtype(op, a->dtype), &s);
  if (!out) return status_code(c->st);
  return kern_binary(op, a, b, out, c->st);
}

/* Prepared: same-shape operands or a scalar one, small enough for one task of
 * kern_binary, which would run this same loop over the whole output. */
static tfm_code binary_run(kctx_t *c, const kprep_t *k) {
  const tensor_t *a = c->in[0], *b = c->in[1];
  if (a->num_elements != k->arg[0] || b->num_elements != k->arg[1]) return binary_compute(c);
  tensor_t *out = kctx_prepared_output(c, 0, k);
  if (!out) return status_code(c->st);
  ((kern_binary_loop_fn)k->loop)(a->data, b->data, out->data, k->n, (int)k->arg[2], (int)k->arg[3]);
  return TFM_OK;
}

/* float32 scalars (the serial model's ops): the arithmetic inline, the same IEEE
 * operation the loops do. */
#define SCALAR_F32_RUN(name, EXPR)                                                  \
  static tfm_code name(kctx_t *c, const kprep_t *k) {                               \
    const tensor_t *a = c->in[0], *b = c->in[1];                                    \
    if (a->num_elements != 1 || b->num_elements != 1) return binary_compute(c);     \
    tensor_t *out = kctx_prepared_output(c, 0, k);                                  \
    if (!out) return status_code(c->st);                                            \
    const float x = *(const float *)a->data, y = *(const float *)b->data;           \
    *(float *)out->data = (EXPR);                                                   \
    return TFM_OK;                                                                  \
  }
SCALAR_F32_RUN(scalar_add_f32, x + y)
SCALAR_F32_RUN(scalar_sub_f32, x - y)
SCALAR_F32_RUN(scalar_mul_f32, x * y)
SCALAR_F32_RUN(scalar_div_f32, x / y)

static int64_t static_count(const shape_t *s) {
  int64_t n;
  return shape_num_elements(s, &n, NULL) == TFM_OK ? n : -1;
}

static bool binary_prepare(const node_t *n, tensor_t *const *in_const, kprep_t *k) {
  (void)in_const;
  ew_binary_t op = (ew_binary_t)n->def->ew_code;
  tfm_dtype dt = n->inputs[0]->dtype;
  /* integer division checks its divisor on every run: left to compute() */
  if (dtype_is_integer(dt) && (op == EW_DIV || op == EW_FLOORDIV || op == EW_FLOORMOD)) return false;
  int64_t na = static_count(&n->inputs[0]->shape), nb = static_count(&n->inputs[1]->shape);
  int64_t no = static_count(&n->outputs[0].shape);
  kern_binary_loop_fn loop = kern_binary_loop(op, dt);
  if (!loop || n->inputs[1]->dtype != dt || no <= 0 || no > EW_SMALL_ELEMS) return false;
  if (na == no && nb == no) {
    k->arg[2] = k->arg[3] = 1;
  } else if (na == no && nb == 1) {
    k->arg[2] = 1, k->arg[3] = 0;
  } else if (na == 1 && nb == no) {
    k->arg[2] = 0, k->arg[3] = 1;
  } else {
    return false; /* a real broadcast: kern_binary's walk */
  }
  k->run = binary_run;
  if (no == 1 && dt == TFM_FLOAT) {
    switch (op) {
      case EW_ADD: k->run = scalar_add_f32; break;
      case EW_SUB: k->run = scalar_sub_f32; break;
      case EW_MUL: k->run = scalar_mul_f32; break;
      case EW_DIV: k->run = scalar_div_f32; break;
      default: break;
    }
  }
  k->loop = (void (*)(void))loop;
  k->dtype = n->outputs[0].dtype;
  k->shape = n->outputs[0].shape;
  k->n = no;
  k->arg[0] = na;
  k->arg[1] = nb;
  return true;
}

static tfm_code add_grad(grad_ctx_t *g) {
  output_t *d = g->dy[0];
  return d ? unbroadcast_pair(g, d, d) : TFM_OK;
}

static tfm_code sub_grad(grad_ctx_t *g) {
  output_t *d = g->dy[0];
  if (!d) return TFM_OK;
  return unbroadcast_pair(g, d, gb_unary(g->g, "Neg", d, g->st));
}

static tfm_code mul_grad(grad_ctx_t *g) {
  output_t *d = g->dy[0], *x = g->op->inputs[0], *y = g->op->inputs[1];
  if (!d) return TFM_OK;
  return unbroadcast_pair(g, gb_binary(g->g, "Mul", d, y, g->st),
                          gb_binary(g->g, "Mul", x, d, g->st));
}

/* d(x/y) = dy / y, dy * (-x / y / y) */
static tfm_code div_grad(grad_ctx_t *g) {
  output_t *d = g->dy[0], *x = g->op->inputs[0], *y = g->op->inputs[1];
  if (!d) return TFM_OK;
  graph_t *gr = g->g;
  output_t *gx = gb_binary(gr, "RealDiv", d, y, g->st);
  output_t *q = gb_binary(gr, "RealDiv", gb_binary(gr, "RealDiv", gb_unary(gr, "Neg", x, g->st), y,
                                                   g->st), y, g->st);
  return unbroadcast_pair(g, gx, gb_binary(gr, "Mul", d, q, g->st));
}

/* d(x^y) = dy * y * x^(y-1), dy * z * log(x) where x > 0 (else 0) */
static tfm_code pow_grad(grad_ctx_t *g) {
  output_t *d = g->dy[0], *x = g->op->inputs[0], *y = g->op->inputs[1];
  output_t *z = &g->op->outputs[0];
  if (!d) return TFM_OK;
  graph_t *gr = g->g;
  tfm_status *st = g->st;
  output_t *ym1 = gb_binary(gr, "Sub", y, gb_scalar_like(gr, 1, y, st), st);
  output_t *gx = gb_binary(gr, "Mul", d, gb_binary(gr, "Mul", y, gb_binary(gr, "Pow", x, ym1, st), st),
                           st);
  output_t *pos = gb_binary(gr, "Greater", x, gb_scalar_like(gr, 0, x, st), st);
  output_t *zeros = gb_unary(gr, "ZerosLike", x, st);
  output_t *logx = gb_select(gr, pos, gb_unary(gr, "Log", x, st), zeros, st);
  output_t *gy = gb_binary(gr, "Mul", d, gb_binary(gr, "Mul", z, logx, st), st);
  if (!gx || !gy) return grad_done(g, NULL);
  return unbroadcast_pair(g, gx, gy);
}

/* Maximum/Minimum: the gradient goes to the input that was selected (x on ties). */
static tfm_code minmax_grad(grad_ctx_t *g, const char *cmp) {
  output_t *d = g->dy[0], *x = g->op->inputs[0], *y = g->op->inputs[1];
  if (!d) return TFM_OK;
  graph_t *gr = g->g;
  output_t *mask = gb_binary(gr, cmp, x, y, g->st);
  output_t *zeros = gb_unary(gr, "ZerosLike", d, g->st);
  /* The mask has the broadcast shape, as d does. */
  output_t *gx = gb_select(gr, mask, d, zeros, g->st);
  output_t *gy = gb_select(gr, mask, zeros, d, g->st);
  if (!gx || !gy) return grad_done(g, NULL);
  return unbroadcast_pair(g, gx, gy);
}
static tfm_code maximum_grad(grad_ctx_t *g) { return minmax_grad(g, "GreaterEqual"); }
static tfm_code minimum_grad(grad_ctx_t *g) { return minmax_grad(g, "LessEqual"); }

/* d((x-y)^2) = 2 (x-y) dy, -2 (x-y) dy */
static tfm_code squared_difference_grad(grad_ctx_t *g) {
  output_t *d = g->dy[0], *x = g->op->inputs[0], *y = g->op->inputs[1];
  if (!d) return TFM_OK;
  graph_t *gr = g->g;
  output_t *two = gb_scalar_like(gr, 2, d, g->st);
  output_t *gx = gb_binary(gr, "Mul", gb_binary(gr, "Mul", two, d, g->st),
                           gb_binary(gr, "Sub", x, y, g->st), g->st);
  return unbroadcast_pair(g, gx, gb_unary(gr, "Neg", gx, g->st));
}

/* d(x mod y) = dy, -dy * floor(x / y) */
static tfm_code floor_mod_grad(grad_ctx_t *g) {
  output_t *d = g->dy[0], *x = g->op->inputs[0], *y = g->op->inputs[1];
  if (!d) return TFM_OK;
  graph_t *gr = g->g;
  output_t *q = gb_binary(gr, "FloorDiv", x, y, g->st);
  return unbroadcast_pair(g, d, gb_binary(gr, "Mul", gb_unary(gr, "Neg", d, g->st), q, g->st));
}

/* ---- element-wise unary ops ---- */

static tfm_code unary_infer(node_t *n, tfm_status *st) {
  tfm_code rc = infer_same_as_input0(n, st);
  if (rc != TFM_OK) return rc;
  if (!ew_unary_supports((ew_unary_t)n->def->ew_code, n->inputs[0]->dtype))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "%s is not defined for %s", n->type,
                      dtype_name(n->inputs[0]->dtype));
  return TFM_OK;
}

static tfm_code unary_compute(kctx_t *c) {
  tensor_t *y = kctx_alloc_output(c, 0, c->in[0]->dtype, &c->in[0]->shape);
  if (!y) return status_code(c->st);
  return kern_unary((ew_unary_t)c->node->def->ew_code, c->in[0], y, c->st);
}

static tfm_code unary_run(kctx_t *c, const kprep_t *k) {
  const tensor_t *x = c->in[0];
  if (x->num_elements != k->n) return unary_compute(c);
  tensor_t *y = kctx_prepared_output(c, 0, k);
  if (!y) return status_code(c->st);
  ((kern_unary_loop_fn)k->loop)(x->data, y->data, k->n);
  return TFM_OK;
}

#define SCALAR_F32_UNARY_RUN(name, EXPR)                                            \
  static tfm_code name(kctx_t *c, const kprep_t *k) {                               \
    const tensor_t *a = c->in[0];                                                   \
    if (a->num_elements != 1) return unary_compute(c);                              \
    tensor_t *out = kctx_prepared_output(c, 0, k);                                  \
    if (!out) return status_code(c->st);                                            \
    const float x = *(const float *)a->data;                                        \
    *(float *)out->data = (EXPR);                                                   \
    return TFM_OK;                                                                  \
  }
SCALAR_F32_UNARY_RUN(scalar_neg_f32, -x)
SCALAR_F32_UNARY_RUN(scalar_square_f32, x * x)

static bool unary_prepare(const node_t *n, tensor_t *const *in_const, kprep_t *k) {
  (void)in_const;
  int64_t count = static_count(&n->outputs[0].shape);
  kern_unary_loop_fn loop = kern_unary_loop((ew_unary_t)n->def->ew_code, n->inputs[0]->dtype);
  if (!loop || count <= 0 || count > EW_SMALL_ELEMS) return false;
  k->run = unary_run;
  if (count == 1 && n->inputs[0]->dtype == TFM_FLOAT) {
    if (n->def->ew_code == EW_NEG) k->run = scalar_neg_f32;
    if (n->def->ew_code == EW_SQUARE) k->run = scalar_square_f32;
  }
  k->loop = (void (*)(void))loop;
  k->dtype = n->inputs[0]->dtype;
  k->shape = n->outputs[0].shape;
  k->n = count;
  return true;
}

static tfm_code neg_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  return grad_done(g, g->dx[0] = gb_unary(g->g, "Neg", g->dy[0], g->st));
}

static tfm_code square_grad(grad_ctx_t *g) {
  output_t *d = g->dy[0], *x = g->op->inputs[0];
  if (!d) return TFM_OK;
  output_t *two_x = gb_binary(g->g, "Mul", gb_scalar_like(g->g, 2, x, g->st), x, g->st);
  return grad_done(g, g->dx[0] = gb_binary(g->g, "Mul", d, two_x, g->st));
}

/* Sqrt, Rsqrt, Reciprocal: TensorFlow's <Op>Grad(y, dy) ops. */
static tfm_code output_grad_op(grad_ctx_t *g, const char *type) {
  if (!g->dy[0]) return TFM_OK;
  return grad_done(g, g->dx[0] = gb_binary(g->g, type, &g->op->outputs[0], g->dy[0], g->st));
}
static tfm_code sqrt_grad(grad_ctx_t *g) { return output_grad_op(g, "SqrtGrad"); }
static tfm_code rsqrt_grad(grad_ctx_t *g) { return output_grad_op(g, "RsqrtGrad"); }
static tfm_code reciprocal_grad(grad_ctx_t *g) { return output_grad_op(g, "ReciprocalGrad"); }

static tfm_code exp_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  return grad_done(g, g->dx[0] = gb_binary(g->g, "Mul", g->dy[0], &g->op->outputs[0], g->st));
}

static tfm_code log_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  output_t *r = gb_unary(g->g, "Reciprocal", g->op->inputs[0], g->st);
  return grad_done(g, g->dx[0] = gb_binary(g->g, "Mul", g->dy[0], r, g->st));
}

static tfm_code abs_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  output_t *s = gb_unary(g->g, "Sign", g->op->inputs[0], g->st);
  return grad_done(g, g->dx[0] = gb_binary(g->g, "Mul", g->dy[0], s, g->st));
}

/* Sign is piecewise constant: a zero gradient (as TensorFlow). */
static tfm_code sign_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  return grad_done(g, g->dx[0] = gb_unary(g->g, "ZerosLike", g->op->inputs[0], g->st));
}

/* d log1p(x) = dy / (1 + x) */
static tfm_code log1p_grad(grad_ctx_t *g) {
  output_t *x = g->op->inputs[0];
  if (!g->dy[0]) return TFM_OK;
  output_t *den = gb_binary(g->g, "AddV2", gb_scalar_like(g->g, 1, x, g->st), x, g->st);
  return grad_done(g, g->dx[0] = gb_binary(g->g, "RealDiv", g->dy[0], den, g->st));
}

/* d expm1(x) = dy * exp(x) */
static tfm_code expm1_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  output_t *e = gb_unary(g->g, "Exp", g->op->inputs[0], g->st);
  return grad_done(g, g->dx[0] = gb_binary(g->g, "Mul", g->dy[0], e, g->st));
}

static tfm_code sin_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  output_t *c = gb_unary(g->g, "Cos", g->op->inputs[0], g->st);
  return grad_done(g, g->dx[0] = gb_binary(g->g, "Mul", g->dy[0], c, g->st));
}

static tfm_code cos_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  output_t *s = gb_unary(g->g, "Neg", gb_unary(g->g, "Sin", g->op->inputs[0], g->st), g->st);
  return grad_done(g, g->dx[0] = gb_binary(g->g, "Mul", g->dy[0], s, g->st));
}

/* ---- L2Loss: sum(x^2) / 2 as a scalar ---- */

static tfm_code l2_loss_infer(node_t *n, tfm_status *st) {
  tfm_dtype dt = n->inputs[0]->dtype;
  if (dt != TFM_FLOAT && dt != TFM_DOUBLE)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "L2Loss is not defined for %s", dtype_name(dt));
  n->outputs[0].dtype = dt;
  n->outputs[0].shape = shape_scalar();
  return TFM_OK;
}

static tfm_code l2_loss_compute(kctx_t *c) {
  const tensor_t *x = c->in[0];
  shape_t s = shape_scalar();
  tensor_t *out = kctx_alloc_output(c, 0, x->dtype, &s);
  if (!out) return status_code(c->st);
  double acc = 0; /* float64 accumulation: float32 sums of many squares lose digits */
  if (x->dtype == TFM_FLOAT) {
    const float *v = TENSOR_F32(x);
    for (int64_t i = 0; i < x->num_elements; i++) acc += (double)v[i] * v[i];
    TENSOR_F32(out)[0] = (float)(acc / 2);
  } else {
    const double *v = TENSOR_F64(x);
    for (int64_t i = 0; i < x->num_elements; i++) acc += v[i] * v[i];
    TENSOR_F64(out)[0] = acc / 2;
  }
  return TFM_OK;
}

static tfm_code l2_loss_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  return grad_done(g, g->dx[0] = gb_binary(g->g, "Mul", g->op->inputs[0], g->dy[0], g->st));
}

/* ---- the <Op>Grad helpers of Sqrt, Rsqrt, Reciprocal (inputs y, dy) ---- */

static tfm_code same_shape_binary_infer(node_t *n, tfm_status *st) {
  tfm_code rc = binary_infer(n, st);
  if (rc != TFM_OK) return rc;
  const output_t *a = n->inputs[0], *b = n->inputs[1];
  if (!shape_compatible(&a->shape, &b->shape)) {
    char as[SHAPE_STR_MAX], bs[SHAPE_STR_MAX], an[256], bn[256];
    return node_error(n, st, TFM_INVALID_ARGUMENT, "inputs must have the same shape: %s ('%s') and %s ('%s')",
                      shape_str(&a->shape, as), oname(a, an), shape_str(&b->shape, bs), oname(b, bn));
  }
  return TFM_OK;
}

/* SqrtGrad(y, d) = 0.5 d / y =: out. With dd the gradient of out: w.r.t. y,
 * -dd * out / y; w.r.t. d, 0.5 dd / y. */
static tfm_code sqrt_grad_grad(grad_ctx_t *g) {
  output_t *dd = g->dy[0], *y = g->op->inputs[0], *out = &g->op->outputs[0];
  if (!dd) return TFM_OK;
  graph_t *gr = g->g;
  output_t *ga = gb_unary(gr, "Neg", gb_binary(gr, "RealDiv", gb_binary(gr, "Mul", dd, out, g->st), y,
                                               g->st), g->st);
  output_t *gb = gb_binary(gr, "RealDiv", gb_binary(gr, "Mul", dd, gb_scalar_like(gr, 0.5, dd, g->st),
                                                    g->st), y, g->st);
  g->dx[0] = ga;
  g->dx[1] = gb;
  return grad_done(g, ga && gb ? gb : NULL);
}

/* ---- AddN ---- */

static const attr_def_t add_n_attrs[] = {{"N", ATTR_I, {0}}, T_ATTR, {NULL}};

static tfm_code add_n_infer(node_t *n, tfm_status *st) {
  if (n->n_inputs < 1) return node_error(n, st, TFM_INVALID_ARGUMENT, "needs at least one input");
  if (node_attr_int(n, "N", -1) != n->n_inputs)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "attr N is %lld but %d inputs are given",
                      (long long)node_attr_int(n, "N", -1), n->n_inputs);
  shape_t s = n->inputs[0]->shape;
  for (int i = 1; i < n->n_inputs; i++) {
    const output_t *a = n->inputs[0], *b = n->inputs[i];
    char as[SHAPE_STR_MAX], bs[SHAPE_STR_MAX], an[256], bn[256];
    if (b->dtype != a->dtype)
      return node_error(n, st, TFM_INVALID_ARGUMENT, "inputs have different dtypes: %s ('%s') and %s ('%s')",
                        dtype_name(a->dtype), oname(a, an), dtype_name(b->dtype), oname(b, bn));
    if (!shape_compatible(&s, &b->shape))
      return node_error(n, st, TFM_INVALID_ARGUMENT, "inputs have different shapes: %s ('%s') and %s ('%s')",
                        shape_str(&s, as), oname(a, an), shape_str(&b->shape, bs), oname(b, bn));
    /* Merge: keep whatever each input knows. */
    if (s.rank < 0) s = b->shape;
    else if (b->shape.rank >= 0)
      for (int d = 0; d < s.rank; d++)
        if (s.dim[d] < 0) s.dim[d] = b->shape.dim[d];
  }
  n->outputs[0].dtype = n->inputs[0]->dtype;
  n->outputs[0].shape = s;
  return TFM_OK;
}

static tfm_code add_n_compute(kctx_t *c) {
  for (int i = 1; i < c->n_in; i++) {
    if (!shape_equal(&c->in[i]->shape, &c->in[0]->shape)) {
      char as[SHAPE_STR_MAX], bs[SHAPE_STR_MAX];
      return kctx_error(c, TFM_INVALID_ARGUMENT, "inputs 0 and %d have different shapes: %s and %s", i,
                        shape_str(&c->in[0]->shape, as), shape_str(&c->in[i]->shape, bs));
    }
  }
  tensor_t *out = kctx_alloc_output(c, 0, c->in[0]->dtype, &c->in[0]->shape);
  if (!out) return status_code(c->st);
  return kern_add_n((const tensor_t *const *)c->in, c->n_in, out, c->st);
}

static tfm_code add_n_grad(grad_ctx_t *g) {
  for (int i = 0; i < g->n_dx; i++) g->dx[i] = g->dy[0];
  return TFM_OK;
}

/* ---- Cast ---- */

static const attr_def_t cast_attrs[] = {
    {"SrcT", ATTR_TYPE, {0}}, {"DstT", ATTR_TYPE, {0}}, BOOL_ATTR("Truncate", false), {NULL}};

static tfm_code cast_infer(node_t *n, tfm_status *st) {
  tfm_dtype src = (tfm_dtype)node_attr_type(n, "SrcT", TFM_INVALID);
  tfm_dtype dst = (tfm_dtype)node_attr_type(n, "DstT", TFM_INVALID);
  if (src != n->inputs[0]->dtype)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "attr SrcT is %s but the input is %s",
                      dtype_name(src), dtype_name(n->inputs[0]->dtype));
  if (!dtype_is_valid(dst) || dst == TFM_STRING || src == TFM_STRING)
    return node_error(n, st, TFM_UNIMPLEMENTED, "cannot cast %s to %s", dtype_name(src),
                      dtype_name(dst));
  n->outputs[0].dtype = dst;
  n->outputs[0].shape = n->inputs[0]->shape;
  return TFM_OK;
}

static tfm_code cast_compute(kctx_t *c) {
  tensor_t *out = kctx_alloc_output(c, 0, c->node->outputs[0].dtype, &c->in[0]->shape);
  if (!out) return status_code(c->st);
  return kern_cast(c->in[0], out, c->st);
}

/* Only float -> float casts pass a gradient (cast back); to or from integers: none. */
static tfm_code cast_grad(grad_ctx_t *g) {
  tfm_dtype src = g->op->inputs[0]->dtype, dst = g->op->outputs[0].dtype;
  if (!g->dy[0] || !dtype_is_float(src) || !dtype_is_float(dst)) return TFM_OK;
  return grad_done(g, g->dx[0] = gb_cast(g->g, g->dy[0], src, g->st));
}

TFM_API tfm_output *tfm_cast(tfm_graph *g, tfm_output *x, tfm_dtype dtype, const char *name,
                             tfm_status *st) {
  if (!builder_inputs_ok("tfm_cast", st, 1, x)) return NULL;
  attr_t attrs[] = {ATTR_TYPE_V("SrcT", x->dtype), ATTR_TYPE_V("DstT", dtype)};
  return op_build(graph_or_default(g), "Cast", name, &x, 1, attrs, 2, st);
}

/* ---- reductions: Sum, Mean, Max, Min, Prod ---- */

static const attr_def_t reduce_attrs[] = {
    BOOL_ATTR("keep_dims", false), T_ATTR, TYPE_ATTR("Tidx", TFM_INT32), {NULL}};

/* Marks the reduced axes of a rank-`rank` input (negative axes count from the end). */
static tfm_code reduce_mask(const node_t *n, const int64_t *axes, int n_axes, int rank, bool *mask,
                            tfm_status *st) {
  for (int i = 0; i < rank; i++) mask[i] = false;
  for (int i = 0; i < n_axes; i++) {
    int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (a < 0 || a >= rank)
      return node_error(n, st, TFM_INVALID_ARGUMENT, "axis %lld is out of range for an input of rank %d",
                        (long long)axes[i], rank);
    mask[a] = true;
  }
  return TFM_OK;
}

static shape_t reduced_shape(const shape_t *in, const bool *mask, bool keep_dims) {
  shape_t s = {.rank = 0};
  for (int i = 0; i < in->rank; i++) {
    if (!mask[i]) s.dim[s.rank++] = in->dim[i];
    else if (keep_dims) s.dim[s.rank++] = 1;
  }
  return s;
}

static tfm_code reduce_infer(node_t *n, tfm_status *st) {
  const output_t *x = n->inputs[0], *ax = n->inputs[1];
  bool keep = node_attr_bool(n, "keep_dims", false);
  if (!dtype_is_numeric(x->dtype))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "input must be numeric, got %s", dtype_name(x->dtype));
  if (ax->dtype != TFM_INT32 && ax->dtype != TFM_INT64)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "reduction_indices must be int32 or int64, got %s",
                      dtype_name(ax->dtype));
  if (ax->shape.rank > 1)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "reduction_indices must be a scalar or vector, got rank %d",
                      ax->shape.rank);
  n->outputs[0].dtype = x->dtype;
  int64_t axes[64];
  int n_axes;
  if (x->shape.rank < 0 || !input_const_ints(n, 1, axes, 64, &n_axes)) {
    shape_t s = shape_unknown();
    if (keep && x->shape.rank >= 0) {
      s.rank = x->shape.rank;
      for (int i = 0; i < s.rank; i++) s.dim[i] = SHAPE_UNKNOWN_DIM;
    }
    n->outputs[0].shape = s;
    return TFM_OK;
  }
  bool mask[TFM_MAX_RANK];
  if (reduce_mask(n, axes, n_axes, x->shape.rank, mask, st) != TFM_OK) return TFM_INVALID_ARGUMENT;
  n->outputs[0].shape = reduced_shape(&x->shape, mask, keep);
  return TFM_OK;
}

static tfm_code reduce_compute(kctx_t *c) {
  const tensor_t *x = c->in[0], *ax = c->in[1];
  int64_t axes[64];
  if (ax->num_elements > 64) return kctx_error(c, TFM_INVALID_ARGUMENT, "too many reduction indices");
  for (int64_t i = 0; i < ax->num_elements; i++) axes[i] = tensor_get_i64(ax, i);
  bool mask[TFM_MAX_RANK];
  if (reduce_mask(c->node, axes, (int)ax->num_elements, x->shape.rank, mask, c->st) != TFM_OK)
    return TFM_INVALID_ARGUMENT;
  shape_t s = reduced_shape(&x->shape, mask, node_attr_bool(c->node, "keep_dims", false));
  tensor_t *out = kctx_alloc_output(c, 0, x->dtype, &s);
  if (!out) return status_code(c->st);
  return kern_reduce((reduce_op_t)c->node->def->ew_code, x, mask, out, c->st);
}

/* Prepared: the axes were constant, so the mask and the output shape are known. */
static tfm_code reduce_run(kctx_t *c, const kprep_t *k) {
  const tensor_t *x = c->in[0];
  if (x->num_elements != k->arg[0] || x->shape.rank != (int)k->arg[1]) return reduce_compute(c);
  tensor_t *out = kctx_prepared_output(c, 0, k);
  if (!out) return status_code(c->st);
  return kern_reduce((reduce_op_t)c->node->def->ew_code, x, k->mask, out, c->st);
}

/* Prepared sums over every element of a small float input: the loop alone. */
static tfm_code sum_all_f32_run(kctx_t *c, const kprep_t *k) {
  const tensor_t *x = c->in[0];
  if (x->num_elements != k->arg[0] || x->shape.rank != (int)k->arg[1]) return reduce_compute(c);
  tensor_t *out = kctx_prepared_output(c, 0, k);
  if (!out) return status_code(c->st);
  *(float *)out->data = ((kern_sum_f32_fn)k->loop)(x->data, k->arg[0]);
  return TFM_OK;
}

static tfm_code sum_all_f64_run(kctx_t *c, const kprep_t *k) {
  const tensor_t *x = c->in[0];
  if (x->num_elements != k->arg[0] || x->shape.rank != (int)k->arg[1]) return reduce_compute(c);
  tensor_t *out = kctx_prepared_output(c, 0, k);
  if (!out) return status_code(c->st);
  *(double *)out->data = ((kern_sum_f64_fn)k->loop)(x->data, k->arg[0]);
  return TFM_OK;
}

/* Does the mask reduce every dim but size-1 ones, over 2..KERN_SUM_ONE_TASK elements? */
static bool sums_everything(const shape_t *xs, const bool *mask, int64_t count) {
  for (int i = 0; i < xs->rank; i++)
    if (!mask[i] && xs->dim[i] != 1) return false;
  return count >= 2 && count <= KERN_SUM_ONE_TASK;
}

static bool reduce_prepare(const node_t *n, tensor_t *const *in_const, kprep_t *k) {
  const tensor_t *ax = in_const[1];
  const shape_t *xs = &n->inputs[0]->shape;
  int64_t axes[64];
  if (!ax || ax->num_elements > 64) return false;
  for (int64_t i = 0; i < ax->num_elements; i++) axes[i] = tensor_get_i64(ax, i);
  if (reduce_mask(n, axes, (int)ax->num_elements, xs->rank, k->mask, NULL) != TFM_OK) return false;
  k->shape = reduced_shape(xs, k->mask, node_attr_bool(n, "keep_dims", false));
  if (!shape_equal(&k->shape, &n->outputs[0].shape)) return false;
  k->run = reduce_run;
  k->dtype = n->outputs[0].dtype;
  k->n = static_count(&k->shape);
  k->arg[0] = static_count(xs);
  k->arg[1] = xs->rank;
  if (n->def->ew_code == REDUCE_SUM && sums_everything(xs, k->mask, k->arg[0])) {
    if (k->dtype == TFM_FLOAT) {
      k->run = sum_all_f32_run;
      k->loop = (void (*)(void))kern_sum_f32_loop();
    } else if (k->dtype == TFM_DOUBLE) {
      k->run = sum_all_f64_run;
      k->loop = (void (*)(void))kern_sum_f64_loop();
    }
  }
  return true;
}

/* The reduced axes of a reduction node, for its gradient: a constant mask when
 * the input's rank and the axes are known at build time; otherwise int32 vectors
 * computed in the graph (red[i] = 1 where axis i is reduced, keep = 1 - red). */
typedef struct reduced_axes {
  bool known;
  bool mask[TFM_MAX_RANK];
  output_t *red, *keep; /* set when !known */
} reduced_axes_t;

static tfm_code grad_reduced_axes(grad_ctx_t *g, reduced_axes_t *ra) {
  int64_t axes[64];
  int n_axes;
  node_t *op = g->op;
  memset(ra, 0, sizeof *ra);
  if (op->inputs[0]->shape.rank >= 0 && input_const_ints(op, 1, axes, 64, &n_axes)) {
    ra->known = true;
    return reduce_mask(op, axes, n_axes, op->inputs[0]->shape.rank, ra->mask, g->st);
  }
  /* red = min(1, sum_j [i == (axes[j] + rank) mod rank]) over i in range(rank) */
  graph_t *gr = g->g;
  tfm_status *st = g->st;
  int32_t col[2] = {-1, 1}, row[2] = {1, -1}, one_axis = 1;
  output_t *rank = gb_unary(gr, "Rank", op->inputs[0], st);
  output_t *ax = gb_cast(gr, op->inputs[1], TFM_INT32, st);
  output_t *axn = gb_binary(gr, "FloorMod", gb_binary(gr, "AddV2", ax, rank, st), rank, st);
  output_t *one = op_const_scalar(gr, 1, TFM_INT32, NULL, st);
  output_t *range = NULL;
  if (rank && one) {
    output_t *in[3] = {op_const_scalar(gr, 0, TFM_INT32, NULL, st), rank, one};
    range = in[0] ? op_build(gr, "Range", NULL, in, 3, NULL, 0, st) : NULL;
  }
  output_t *eq = gb_binary(gr, "Equal", gb_binary(gr, "Reshape", range, op_const_i32(gr, col, 2, NULL, st), st),
                           gb_binary(gr, "Reshape", axn, op_const_i32(gr, row, 2, NULL, st), st), st);
  output_t *hits = gb_reduce_axes(gr, "Sum", gb_cast(gr, eq, TFM_INT32, st), &one_axis, 1, false, st);
  ra->red = gb_binary(gr, "Minimum", hits, one, st);
  ra->keep = gb_binary(gr, "Sub", one, ra->red, st);
  return ra->keep ? TFM_OK : grad_done(g, NULL);
}

/* `d` (shaped like the reduction's output) broadcast back to the input's shape:
 * reshape to the kept-dims shape, then tile over the reduced axes. */
static output_t *reduce_grad_tile(grad_ctx_t *g, output_t *d, const reduced_axes_t *ra) {
  const output_t *x = g->op->inputs[0];
  graph_t *gr = g->g;
  tfm_status *st = g->st;
  int rank = x->shape.rank;
  if (ra->known && shape_is_fully_defined(&x->shape)) {
    int32_t mult[TFM_MAX_RANK];
    shape_t kept = x->shape;
    for (int i = 0; i < rank; i++) {
      mult[i] = ra->mask[i] ? (int32_t)x->shape.dim[i] : 1;
      if (ra->mask[i]) kept.dim[i] = 1;
    }
    output_t *r = gb_reshape_to(gr, d, &kept, st);
    return gb_binary(gr, "Tile", r, op_const_i32(gr, mult, rank, NULL, st), st);
  }
  /* kept = shape(x) * keep + red; multiples = shape(x) * red + keep */
  output_t *red = ra->red, *keep = ra->keep;
  if (ra->known) {
    int32_t kv[TFM_MAX_RANK], rv[TFM_MAX_RANK];
    for (int i = 0; i < rank; i++) {
      kv[i] = !ra->mask[i];
      rv[i] = ra->mask[i];
    }
    keep = op_const_i32(gr, kv, rank, NULL, st);
    red = op_const_i32(gr, rv, rank, NULL, st);
  }
  output_t *sx = gb_unary(gr, "Shape", g->op->inputs[0], st);
  output_t *kept = gb_binary(gr, "AddV2", gb_binary(gr, "Mul", sx, keep, st), red, st);
  output_t *mult = gb_binary(gr, "AddV2", gb_binary(gr, "Mul", sx, red, st), keep, st);
  return gb_binary(gr, "Tile", gb_binary(gr, "Reshape", d, kept, st), mult, st);
}

static tfm_code sum_grad(grad_ctx_t *g) {
  reduced_axes_t ra;
  if (!g->dy[0]) return TFM_OK;
  if (grad_reduced_axes(g, &ra) != TFM_OK) return status_code(g->st);
  return grad_done(g, g->dx[0] = reduce_grad_tile(g, g->dy[0], &ra));
}

/* The tiled gradient divided by the number of elements averaged. */
static tfm_code mean_grad(grad_ctx_t *g) {
  reduced_axes_t ra;
  if (!g->dy[0]) return TFM_OK;
  if (grad_reduced_axes(g, &ra) != TFM_OK) return status_code(g->st);
  output_t *t = reduce_grad_tile(g, g->dy[0], &ra);
  const output_t *x = g->op->inputs[0];
  graph_t *gr = g->g;
  output_t *count;
  if (ra.known && shape_is_fully_defined(&x->shape)) {
    double n = 1;
    for (int i = 0; i < x->shape.rank; i++)
      if (ra.mask[i]) n *= (double)x->shape.dim[i];
    count = op_const_scalar(gr, n, x->dtype, NULL, g->st);
  } else {
    int32_t zero = 0;
    output_t *nx = gb_reduce_axes(gr, "Prod", gb_unary(gr, "Shape", g->op->inputs[0], g->st), &zero, 1,
                                  false, g->st);
    output_t *ny = gb_reduce_axes(gr, "Prod", gb_unary(gr, "Shape", &g->op->outputs[0], g->st), &zero, 1,
                                  false, g->st);
    output_t *one = op_const_scalar(gr, 1, TFM_INT32, NULL, g->st);
    output_t *q = gb_binary(gr, "FloorDiv", nx, gb_binary(gr, "Maximum", ny, one, g->st), g->st);
    count = gb_cast(gr, q, x->dtype, g->st);
  }
  return grad_done(g, g->dx[0] = gb_binary(gr, "RealDiv", t, count, g->st));
}

/* Max/Min: the gradient is shared equally by the elements equal to the result. */
static tfm_code min_max_grad(grad_ctx_t *g) {
  reduced_axes_t ra;
  if (!g->dy[0]) return TFM_OK;
  if (grad_reduced_axes(g, &ra) != TFM_OK) return status_code(g->st);
  graph_t *gr = g->g;
  tfm_status *st = g->st;
  output_t *x = g->op->inputs[0];
  output_t *y = reduce_grad_tile(g, &g->op->outputs[0], &ra);
  output_t *d = reduce_grad_tile(g, g->dy[0], &ra);
  output_t *ind = gb_cast(gr, gb_binary(gr, "Equal", y, x, st), x->dtype, st);
  output_t *count = gb_reduce(gr, "Sum", ind, g->op->inputs[1], true, st);
  output_t *share = gb_binary(gr, "RealDiv", ind, count, st);
  return grad_done(g, g->dx[0] = gb_binary(gr, "Mul", share, d, st));
}

/* Prod: d/dx_i = the product of the other elements of x_i's group, computed without
 * dividing by zero: with z zeros in the group and p the product of its non-zero
 * elements, it is p / x_i when z = 0, p at the zero when z = 1, else 0. */
static tfm_code prod_grad(grad_ctx_t *g) {
  reduced_axes_t ra;
  if (!g->dy[0]) return TFM_OK;
  if (grad_reduced_axes(g, &ra) != TFM_OK) return status_code(g->st);
  graph_t *gr = g->g;
  tfm_status *st = g->st;
  output_t *x = g->op->inputs[0], *axes = g->op->inputs[1];
  bool keep = node_attr_bool(g->op, "keep_dims", false);
  output_t *zero = gb_scalar_like(gr, 0, x, st), *one = gb_scalar_like(gr, 1, x, st);
  output_t *is_zero = gb_binary(gr, "Equal", x, zero, st);
  output_t *ones = gb_unary(gr, "OnesLike", x, st), *zeros = gb_unary(gr, "ZerosLike", x, st);
  output_t *x_nz = gb_select(gr, is_zero, ones, x, st);
  output_t *p = reduce_grad_tile(g, gb_reduce(gr, "Prod", x_nz, axes, keep, st), &ra);
  output_t *z = reduce_grad_tile(g, gb_reduce(gr, "Sum", gb_cast(gr, is_zero, x->dtype, st), axes, keep, st), &ra);
  output_t *no_zero = gb_binary(gr, "Equal", z, zero, st);
  output_t *one_zero = gb_binary(gr, "Equal", z, one, st);
  output_t *others = gb_select(gr, no_zero, gb_binary(gr, "RealDiv", p, x_nz, st),
                               gb_select(gr, one_zero, gb_select(gr, is_zero, p, zeros, st), zeros, st), st);
  output_t *d = reduce_grad_tile(g, g->dy[0], &ra);
  return grad_done(g, g->dx[0] = gb_binary(gr, "Mul", d, others, st));
}

/* tf.reduce_*: the axes constant is "<name>/reduction_indices", the op "<name>". */
static tfm_output *reduce_builder(const char *fn, const char *type, tfm_graph *g, tfm_output *x,
                                  const int32_t *axes, int n_axes, int keep_dims, const char *name,
                                  tfm_status *st) {
  if (!builder_inputs_ok(fn, st, 1, x)) return NULL;
  if (n_axes < 0 || (n_axes && !axes)) {
    status_set(st, TFM_INVALID_ARGUMENT, "%s: %d axes given as %p", fn, n_axes, (const void *)axes);
    return NULL;
  }
  graph_t *gr = graph_or_default(g);
  char *scope = op_scope_push(gr, name, type, st);
  if (!scope) return NULL;
  output_t *ax;
  if (n_axes > 0) {
    ax = op_const_i32(gr, axes, n_axes, "reduction_indices", st);
  } else if (x->shape.rank >= 0) {
    int32_t all[TFM_MAX_RANK];
    for (int i = 0; i < x->shape.rank; i++) all[i] = i;
    ax = op_const_i32(gr, all, x->shape.rank, "reduction_indices", st);
  } else {
    /* Unknown rank: Range(0, Rank(x), 1). */
    output_t *in[3] = {op_const_scalar(gr, 0, TFM_INT32, "start", st), gb_unary(gr, "Rank", x, st),
                       op_const_scalar(gr, 1, TFM_INT32, "delta", st)};
    ax = in[0] && in[1] && in[2] ? op_build(gr, "Range", "reduction_indices", in, 3, NULL, 0, st) : NULL;
  }
  graph_pop_name_scope(gr, NULL);
  output_t *r = NULL;
  if (ax) {
    output_t *in[2] = {x, ax};
    attr_t attrs[] = {ATTR_B_V("keep_dims", keep_dims != 0), ATTR_TYPE_V("Tidx", TFM_INT32)};
    r = op_build_exact(gr, type, scope, in, 2, attrs, 2, st);
  }
  mem_free(scope);
  return r;
}

TFM_API tfm_output *tfm_reduce_sum(tfm_graph *g, tfm_output *x, const int32_t *axes, int n_axes,
                                   int keep_dims, const char *name, tfm_status *st) {
  return reduce_builder("tfm_reduce_sum", "Sum", g, x, axes, n_axes, keep_dims, name, st);
}
TFM_API tfm_output *tfm_reduce_mean(tfm_graph *g, tfm_output *x, const int32_t *axes, int n_axes,
                                    int keep_dims, const char *name, tfm_status *st) {
  return reduce_builder("tfm_reduce_mean", "Mean", g, x, axes, n_axes, keep_dims, name, st);
}
TFM_API tfm_output *tfm_reduce_max(tfm_graph *g, tfm_output *x, const int32_t *axes, int n_axes,
                                   int keep_dims, const char *name, tfm_status *st) {
  return reduce_builder("tfm_reduce_max", "Max", g, x, axes, n_axes, keep_dims, name, st);
}
TFM_API tfm_output *tfm_reduce_min(tfm_graph *g, tfm_output *x, const int32_t *axes, int n_axes,
                                   int keep_dims, const char *name, tfm_status *st) {
  return reduce_builder("tfm_reduce_min", "Min", g, x, axes, n_axes, keep_dims, name, st);
}
TFM_API tfm_output *tfm_reduce_prod(tfm_graph *g, tfm_output *x, const int32_t *axes, int n_axes,
                                    int keep_dims, const char *name, tfm_status *st) {
  return reduce_builder("tfm_reduce_prod", "Prod", g, x, axes, n_axes, keep_dims, name, st);
}

/* ---- ArgMax / ArgMin (no gradient) ---- */

static const attr_def_t arg_attrs[] = {
    T_ATTR, TYPE_ATTR("Tidx", TFM_INT32), TYPE_ATTR("output_type", TFM_INT64), {NULL}};

static tfm_code arg_infer(node_t *n, tfm_status *st) {
  const output_t *x = n->inputs[0];
  tfm_dtype ot = (tfm_dtype)node_attr_type(n, "output_type", TFM_INT64);
  if (ot != TFM_INT32 && ot != TFM_INT64)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "output_type must be int32 or int64, got %s",
                      dtype_name(ot));
  n->outputs[0].dtype = ot;
  int64_t axis;
  int cnt;
  if (x->shape.rank < 0 || !input_const_ints(n, 1, &axis, 1, &cnt) || cnt != 1) {
    shape_t s = shape_unknown();
    if (x->shape.rank > 0) {
      s.rank = x->shape.rank - 1;
      for (int i = 0; i < s.rank; i++) s.dim[i] = SHAPE_UNKNOWN_DIM;
    }
    n->outputs[0].shape = s;
    return TFM_OK;
  }
  bool mask[TFM_MAX_RANK];
  if (reduce_mask(n, &axis, 1, x->shape.rank, mask, st) != TFM_OK) return TFM_INVALID_ARGUMENT;
  n->outputs[0].shape = reduced_shape(&x->shape, mask, false);
  return TFM_OK;
}

static tfm_code arg_compute(kctx_t *c) {
  const tensor_t *x = c->in[0];
  if (c->in[1]->num_elements != 1)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "dimension must be a scalar");
  int64_t axis = tensor_get_i64(c->in[1], 0);
  int64_t a = axis < 0 ? axis + x->shape.rank : axis;
  if (a < 0 || a >= x->shape.rank)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "axis %lld is out of range for an input of rank %d",
                      (long long)axis, x->shape.rank);
  bool mask[TFM_MAX_RANK] = {false};
  mask[a] = true;
  shape_t s = reduced_shape(&x->shape, mask, false);
  tfm_dtype ot = (tfm_dtype)node_attr_type(c->node, "output_type", TFM_INT64);
  tensor_t *idx = kctx_alloc_output(c, 0, ot, &s);
  if (!idx) return status_code(c->st);
  if (ot == TFM_INT64) return kern_arg_reduce(c->node->def->ew_code, x, (int)a, idx, c->st);
  /* int32 output: reduce into int64, then narrow. */
  tensor_t *tmp = tensor_new(TFM_INT64, &s, c->st);
  if (!tmp) return status_code(c->st);
  tfm_code rc = kern_arg_reduce(c->node->def->ew_code, x, (int)a, tmp, c->st);
  if (rc == TFM_OK) rc = kern_cast(tmp, idx, c->st);
  tensor_unref(tmp);
  return rc;
}

/* tf.argmax: the axis constant is "<name>/dimension". */
TFM_API tfm_output *tfm_argmax(tfm_graph *g, tfm_output *x, int axis, const char *name, tfm_status *st) {
  if (!builder_inputs_ok("tfm_argmax", st, 1, x)) return NULL;
  graph_t *gr = graph_or_default(g);
  char *scope = op_scope_push(gr, name, "ArgMax", st);
  if (!scope) return NULL;
  output_t *dim = op_const_scalar(gr, axis, TFM_INT32, "dimension", st);
  graph_pop_name_scope(gr, NULL);
  output_t *in[2] = {x, dim};
  output_t *r = dim ? op_build_exact(gr, "ArgMax", scope, in, 2, NULL, 0, st) : NULL;
  mem_free(scope);
  return r;
}

/* ---- MatMul ---- */

static const attr_def_t matmul_attrs[] = {
    BOOL_ATTR("transpose_a", false), BOOL_ATTR("transpose_b", false), T_ATTR, {NULL}};

static tfm_code matmul_infer(node_t *n, tfm_status *st) {
  const output_t *a = n->inputs[0], *b = n->inputs[1];
  char as[SHAPE_STR_MAX], bs[SHAPE_STR_MAX], an[256], bn[256];
  if (a->dtype != b->dtype)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "inputs have different dtypes: %s ('%s') and %s ('%s')",
                      dtype_name(a->dtype), oname(a, an), dtype_name(b->dtype), oname(b, bn));
  if (!dtype_is_float(a->dtype))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "MatMul is not defined for %s", dtype_name(a->dtype));
  if ((a->shape.rank >= 0 && a->shape.rank != 2) || (b->shape.rank >= 0 && b->shape.rank != 2))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "inputs must be matrices: %s ('%s') x %s ('%s')",
                      shape_str(&a->shape, as), oname(a, an), shape_str(&b->shape, bs), oname(b, bn));
  bool ta = node_attr_bool(n, "transpose_a", false), tb = node_attr_bool(n, "transpose_b", false);
  int64_t m = -1, ka = -1, kb = -1, nn = -1;
  if (a->shape.rank == 2) {
    m = a->shape.dim[ta ? 1 : 0];
    ka = a->shape.dim[ta ? 0 : 1];
  }
  if (b->shape.rank == 2) {
    kb = b->shape.dim[tb ? 1 : 0];
    nn = b->shape.dim[tb ? 0 : 1];
  }
  if (ka >= 0 && kb >= 0 && ka != kb)
    return node_error(n, st, TFM_INVALID_ARGUMENT,
                      "inner dimensions differ: %s ('%s'%s) x %s ('%s'%s)", shape_str(&a->shape, as),
                      oname(a, an), ta ? ", transposed" : "", shape_str(&b->shape, bs), oname(b, bn),
                      tb ? ", transposed" : "");
  n->outputs[0].dtype = a->dtype;
  n->outputs[0].shape = (shape_t){.rank = 2, .dim = {m, nn}};
  return TFM_OK;
}

static tfm_code matmul_compute(kctx_t *c) {
  const tensor_t *a = c->in[0], *b = c->in[1];
  bool ta = node_attr_bool(c->node, "transpose_a", false);
  bool tb = node_attr_bool(c->node, "transpose_b", false);
  char as[SHAPE_STR_MAX], bs[SHAPE_STR_MAX];
  if (a->shape.rank != 2 || b->shape.rank != 2 ||
      a->shape.dim[ta ? 0 : 1] != b->shape.dim[tb ? 1 : 0])
    return kctx_error(c, TFM_INVALID_ARGUMENT, "inner dimensions differ: %s%s x %s%s",
                      shape_str(&a->shape, as), ta ? "^T" : "", shape_str(&b->shape, bs),
                      tb ? "^T" : "");
  shape_t s = {.rank = 2, .dim = {a->shape.dim[ta ? 1 : 0], b->shape.dim[tb ? 0 : 1]}};
  tensor_t *out = kctx_alloc_output(c, 0, a->dtype, &s);
  if (!out) return status_code(c->st);
  return kern_matmul(a, b, ta, tb, out, c->st);
}

/* The four transpose cases of d(op(a) op(b)). */
static tfm_code matmul_grad(grad_ctx_t *g) {
  output_t *d = g->dy[0], *a = g->op->inputs[0], *b = g->op->inputs[1];
  if (!d) return TFM_OK;
  bool ta = node_attr_bool(g->op, "transpose_a", false);
  bool tb = node_attr_bool(g->op, "transpose_b", false);
  graph_t *gr = g->g;
  tfm_status *st = g->st;
  if (!ta && !tb) {
    g->dx[0] = gb_matmul(gr, d, b, false, true, st);
    g->dx[1] = gb_matmul(gr, a, d, true, false, st);
  } else if (!ta && tb) {
    g->dx[0] = gb_matmul(gr, d, b, false, false, st);
    g->dx[1] = gb_matmul(gr, d, a, true, false, st);
  } else if (ta && !tb) {
    g->dx[0] = gb_matmul(gr, b, d, false, true, st);
    g->dx[1] = gb_matmul(gr, a, d, false, false, st);
  } else {
    g->dx[0] = gb_matmul(gr, b, d, true, true, st);
    g->dx[1] = gb_matmul(gr, d, a, true, true, st);
  }
  return grad_done(g, g->dx[0] && g->dx[1] ? g->dx[1] : NULL);
}

TFM_API tfm_output *tfm_matmul(tfm_graph *g, tfm_output *a, tfm_output *b, int transpose_a,
                               int transpose_b, const char *name, tfm_status *st) {
  if (!builder_inputs_ok("tfm_matmul", st, 2, a, b)) return NULL;
  output_t *in[2] = {a, b};
  attr_t attrs[] = {ATTR_B_V("transpose_a", transpose_a != 0), ATTR_B_V("transpose_b", transpose_b != 0)};
  return op_build(graph_or_default(g), "MatMul", name, in, 2, attrs, 2, st);
}

/* ---- BatchMatMul: x [..., M, K] x y [..., K, N] with equal batch dims ---- */

static const attr_def_t batch_matmul_attrs[] = {
    T_ATTR, BOOL_ATTR("adj_x", false), BOOL_ATTR("adj_y", false), {NULL}};

static tfm_code batch_matmul_infer(node_t *n, tfm_status *st) {
  const output_t *a = n->inputs[0], *b = n->inputs[1];
  char as[SHAPE_STR_MAX], bs[SHAPE_STR_MAX], an[256], bn[256];
  if (a->dtype != b->dtype || !dtype_is_float(a->dtype))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "inputs must be float32 or float64 of one dtype: %s ('%s') and %s ('%s')",
                      dtype_name(a->dtype), oname(a, an), dtype_name(b->dtype), oname(b, bn));
  n->outputs[0].dtype = a->dtype;
  if (a->shape.rank < 0 || b->shape.rank < 0) {
    n->outputs[0].shape = shape_unknown();
    return TFM_OK;
  }
  int r = a->shape.rank;
  bool ok = r >= 3 && b->shape.rank == r;
  bool ax = node_attr_bool(n, "adj_x", false), ay = node_attr_bool(n, "adj_y", false);
  shape_t out = a->shape;
  for (int i = 0; ok && i < r - 2; i++) {
    int64_t da = a->shape.dim[i], db = b->shape.dim[i];
    if (da >= 0 && db >= 0 && da != db) ok = false;
    out.dim[i] = da >= 0 ? da : db;
  }
  if (ok) {
    int64_t ka = a->shape.dim[ax ? r - 2 : r - 1], kb = b->shape.dim[ay ? r - 1 : r - 2];
    ok = ka < 0 || kb < 0 || ka == kb;
    out.dim[r - 2] = a->shape.dim[ax ? r - 1 : r - 2];
    out.dim[r - 1] = b->shape.dim[ay ? r - 2 : r - 1];
  }
  if (!ok)
    return node_error(n, st, TFM_INVALID_ARGUMENT,
                      "inputs must be batches (rank >= 3, equal batch dims) of matrices whose inner "
                      "dimensions agree: %s ('%s'%s) x %s ('%s'%s)",
                      shape_str(&a->shape, as), oname(a, an), ax ? ", adjoint" : "",
                      shape_str(&b->shape, bs), oname(b, bn), ay ? ", adjoint" : "");
  n->outputs[0].shape = out;
  return TFM_OK;
}

static tfm_code batch_matmul_compute(kctx_t *c) {
  const tensor_t *a = c->in[0], *b = c->in[1];
  bool ax = node_attr_bool(c->node, "adj_x", false), ay = node_attr_bool(c->node, "adj_y", false);
  int r = a->shape.rank;
  if (r < 3 || b->shape.rank != r) {
    char as[SHAPE_STR_MAX], bs[SHAPE_STR_MAX];
    return kctx_error(c, TFM_INVALID_ARGUMENT, "inputs must be batches of matrices: %s x %s",
                      shape_str(&a->shape, as), shape_str(&b->shape, bs));
  }
  shape_t s = a->shape;
  s.dim[r - 2] = a->shape.dim[ax ? r - 1 : r - 2];
  s.dim[r - 1] = b->shape.dim[ay ? r - 2 : r - 1];
  tensor_t *out = kctx_alloc_output(c, 0, a->dtype, &s);
  if (!out) return status_code(c->st);
  return kern_batch_matmul(a, b, ax, ay, out, c->st);
}

static output_t *gb_batch_matmul(graph_t *g, output_t *a, output_t *b, bool ax, bool ay, tfm_status *st) {
  if (!a || !b) return NULL;
  output_t *in[2] = {a, b};
  attr_t attrs[] = {ATTR_B_V("adj_x", ax), ATTR_B_V("adj_y", ay)};
  return op_build(g, "BatchMatMul", NULL, in, 2, attrs, 2, st);
}

/* As MatMul's four cases, per batch. */
static tfm_code batch_matmul_grad(grad_ctx_t *g) {
  output_t *d = g->dy[0], *a = g->op->inputs[0], *b = g->op->inputs[1];
  if (!d) return TFM_OK;
  bool ax = node_attr_bool(g->op, "adj_x", false), ay = node_attr_bool(g->op, "adj_y", false);
  graph_t *gr = g->g;
  tfm_status *st = g->st;
  if (!ax && !ay) {
    g->dx[0] = gb_batch_matmul(gr, d, b, false, true, st);
    g->dx[1] = gb_batch_matmul(gr, a, d, true, false, st);
  } else if (!ax && ay) {
    g->dx[0] = gb_batch_matmul(gr, d, b, false, false, st);
    g->dx[1] = gb_batch_matmul(gr, d, a, true, false, st);
  } else if (ax && !ay) {
    g->dx[0] = gb_batch_matmul(gr, b, d, false, true, st);
    g->dx[1] = gb_batch_matmul(gr, a, d, false, false, st);
  } else {
    g->dx[0] = gb_batch_matmul(gr, b, d, true, true, st);
    g->dx[1] = gb_batch_matmul(gr, d, a, true, true, st);
  }
  return grad_done(g, g->dx[0] && g->dx[1] ? g->dx[1] : NULL);
}

/* ---- Select (condition, t, e of one shape) ---- */

static tfm_code select_infer(node_t *n, tfm_status *st) {
  const output_t *c = n->inputs[0], *a = n->inputs[1], *b = n->inputs[2];
  char as[SHAPE_STR_MAX], bs[SHAPE_STR_MAX], an[256], bn[256];
  if (c->dtype != TFM_BOOL)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "condition must be bool, got %s", dtype_name(c->dtype));
  if (a->dtype != b->dtype)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "inputs have different dtypes: %s ('%s') and %s ('%s')",
                      dtype_name(a->dtype), oname(a, an), dtype_name(b->dtype), oname(b, bn));
  if (!shape_compatible(&a->shape, &b->shape) || !shape_compatible(&c->shape, &a->shape))
    return node_error(n, st, TFM_INVALID_ARGUMENT,
                      "condition and values must have the same shape: %s ('%s') and %s ('%s')",
                      shape_str(&c->shape, as), oname(c, an), shape_str(&a->shape, bs), oname(a, bn));
  /* T is the values' dtype; the generic rule took it from the bool condition. */
  for (int i = 0; i < n->n_attrs; i++)
    if (strcmp(n->attrs[i].name, "T") == 0 && n->attrs[i].value.kind == ATTR_TYPE)
      n->attrs[i].value.u.type = a->dtype;
  n->outputs[0].dtype = a->dtype;
  n->outputs[0].shape = a->shape.rank >= 0 ? a->shape : b->shape.rank >= 0 ? b->shape : c->shape;
  return TFM_OK;
}

static tfm_code select_compute(kctx_t *c) {
  tensor_t *out = kctx_alloc_output(c, 0, c->in[1]->dtype, &c->in[1]->shape);
  if (!out) return status_code(c->st);
  return kern_select(c->in[0], c->in[1], c->in[2], out, c->st);
}

static tfm_code select_grad(grad_ctx_t *g) {
  output_t *d = g->dy[0], *cond = g->op->inputs[0];
  if (!d) return TFM_OK;
  output_t *zeros = gb_unary(g->g, "ZerosLike", d, g->st);
  g->dx[1] = gb_select(g->g, cond, d, zeros, g->st);
  g->dx[2] = gb_select(g->g, cond, zeros, d, g->st);
  return grad_done(g, g->dx[1] && g->dx[2] ? g->dx[2] : NULL);
}

/* ---- BroadcastGradientArgs ---- */

static const attr_def_t bga_attrs[] = {TYPE_ATTR("T", TFM_INT32), {NULL}};

/* For shapes sx, sy: the axes of the broadcast result each input's gradient must
 * be summed over (ascending). Axes where both are 1 are listed for both (summing
 * over a size-1 axis is harmless), as TensorFlow does. */
static bool bga_axes(const int64_t *sx, int rx, const int64_t *sy, int ry, int32_t *ax, int *nx,
                     int32_t *ay, int *ny) {
  int r = rx > ry ? rx : ry;
  *nx = *ny = 0;
  for (int i = 0; i < r; i++) {
    int64_t x = i < r - rx ? 1 : sx[i - (r - rx)];
    int64_t y = i < r - ry ? 1 : sy[i - (r - ry)];
    if (x != y && x != 1 && y != 1) return false;
    if (x == 1 && (y != 1 || x == y)) ax[(*nx)++] = i;
    if (y == 1 && (x != 1 || x == y)) ay[(*ny)++] = i;
  }
  return true;
}

static tensor_t *bga_tensor(tfm_dtype dt, const int32_t *v, int n, tfm_status *st) {
  shape_t s = shape_vector(n);
  tensor_t *t = tensor_new(dt, &s, st);
  if (!t) return NULL;
  for (int i = 0; i < n; i++) {
    if (dt == TFM_INT64) TENSOR_I64(t)[i] = v[i];
    else TENSOR_I32(t)[i] = v[i];
  }
  return t;
}

static tfm_code bga_infer(node_t *n, tfm_status *st) {
  const output_t *a = n->inputs[0], *b = n->inputs[1];
  if ((a->dtype != TFM_INT32 && a->dtype != TFM_INT64) || b->dtype != a->dtype)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "inputs must be int32 or int64 vectors of one dtype");
  for (int i = 0; i < 2; i++) {
    n->outputs[i].dtype = a->dtype;
    n->outputs[i].shape = shape_vector(SHAPE_UNKNOWN_DIM);
  }
  int64_t sx[TFM_MAX_RANK], sy[TFM_MAX_RANK];
  int rx, ry;
  if (!input_const_ints(n, 0, sx, TFM_MAX_RANK, &rx) || !input_const_ints(n, 1, sy, TFM_MAX_RANK, &ry))
    return TFM_OK;
  int32_t ax[TFM_MAX_RANK], ay[TFM_MAX_RANK];
  int nx, ny;
  if (!bga_axes(sx, rx, sy, ry, ax, &nx, ay, &ny))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "shapes of '%s' and '%s' do not broadcast",
                      a->node->name, b->node->name);
  tensor_t *tx = bga_tensor(a->dtype, ax, nx, NULL), *ty = bga_tensor(a->dtype, ay, ny, NULL);
  if (tx && ty) {
    n->outputs[0].shape = tx->shape;
    n->outputs[1].shape = ty->shape;
    set_const(n, 0, tx);
    set_const(n, 1, ty);
  } else {
    tensor_unref(tx);
    tensor_unref(ty);
  }
  return TFM_OK;
}

static tfm_code bga_compute(kctx_t *c) {
  int64_t s[2][TFM_MAX_RANK];
  for (int k = 0; k < 2; k++) {
    if (c->in[k]->shape.rank != 1 || c->in[k]->num_elements > TFM_MAX_RANK)
      return kctx_error(c, TFM_INVALID_ARGUMENT, "input %d must be a vector of at most %d dims", k,
                        TFM_MAX_RANK);
    for (int64_t i = 0; i < c->in[k]->num_elements; i++) s[k][i] = tensor_get_i64(c->in[k], i);
  }
  int32_t ax[TFM_MAX_RANK], ay[TFM_MAX_RANK];
  int nx, ny;
  if (!bga_axes(s[0], (int)c->in[0]->num_elements, s[1], (int)c->in[1]->num_elements, ax, &nx, ay, &ny))
    return kctx_error(c, TFM_INVALID_ARGUMENT, "the shapes do not broadcast");
  shape_t vx = shape_vector(nx), vy = shape_vector(ny);
  tensor_t *tx = kctx_alloc_output(c, 0, c->in[0]->dtype, &vx);
  tensor_t *ty = tx ? kctx_alloc_output(c, 1, c->in[0]->dtype, &vy) : NULL;
  if (!ty) return status_code(c->st);
  for (int i = 0; i < nx; i++) {
    if (tx->dtype == TFM_INT64) TENSOR_I64(tx)[i] = ax[i];
    else TENSOR_I32(tx)[i] = ax[i];
  }
  for (int i = 0; i < ny; i++) {
    if (ty->dtype == TFM_INT64) TENSOR_I64(ty)[i] = ay[i];
    else TENSOR_I32(ty)[i] = ay[i];
  }
  return TFM_OK;
}

/* ---- builders of the element-wise ops ---- */

static tfm_output *binary_builder(const char *fn, const char *type, tfm_graph *g, tfm_output *a,
                                  tfm_output *b, const char *name, tfm_status *st) {
  if (!builder_inputs_ok(fn, st, 2, a, b)) return NULL;
  output_t *in[2] = {a, b};
  return op_build(graph_or_default(g), type, name, in, 2, NULL, 0, st);
}

static tfm_output *unary_builder(const char *fn, const char *type, tfm_graph *g, tfm_output *x,
                                 const char *name, tfm_status *st) {
  if (!builder_inputs_ok(fn, st, 1, x)) return NULL;
  return op_build(graph_or_default(g), type, name, &x, 1, NULL, 0, st);
}

#define BINARY_BUILDER(fn, type)                                                                    \
  TFM_API tfm_output *fn(tfm_graph *g, tfm_output *a, tfm_output *b, const char *name,              \
                         tfm_status *st) {                                                          \
    return binary_builder(#fn, type, g, a, b, name, st);                                            \
  }
#define UNARY_BUILDER(fn, type)                                                                     \
  TFM_API tfm_output *fn(tfm_graph *g, tfm_output *x, const char *name, tfm_status *st) {           \
    return unary_builder(#fn, type, g, x, name, st);                                                \
  }

BINARY_BUILDER(tfm_add, "AddV2")
BINARY_BUILDER(tfm_sub, "Sub")
BINARY_BUILDER(tfm_mul, "Mul")
BINARY_BUILDER(tfm_div, "RealDiv")
BINARY_BUILDER(tfm_pow, "Pow")
BINARY_BUILDER(tfm_maximum, "Maximum")
BINARY_BUILDER(tfm_minimum, "Minimum")
UNARY_BUILDER(tfm_neg, "Neg")
UNARY_BUILDER(tfm_square, "Square")
UNARY_BUILDER(tfm_sqrt, "Sqrt")
UNARY_BUILDER(tfm_exp, "Exp")
UNARY_BUILDER(tfm_log, "Log")

TFM_API tfm_output *tfm_add_n(tfm_graph *g, tfm_output *const *xs, int n, const char *name,
                              tfm_status *st) {
  if (n < 1 || !xs) {
    status_set(st, TFM_INVALID_ARGUMENT, "tfm_add_n: needs at least one input, got %d", n);
    return NULL;
  }
  for (int i = 0; i < n; i++)
    if (!builder_inputs_ok("tfm_add_n", st, 1, xs[i])) return NULL;
  attr_t attrs[] = {ATTR_I_V("N", n)};
  return op_build(graph_or_default(g), "AddN", name, xs, n, attrs, 1, st);
}

/* ---- the table ---- */

#define BINARY(nm, code, grad)                                                                      \
  {.name = nm, .n_inputs = 2, .n_outputs = 1, .attrs = t_attrs, .infer = binary_infer,              \
   .compute = binary_compute, .gradient = grad, .ew_class = EW_IS_BINARY, .ew_code = code,       \
   .prepare = binary_prepare}
#define COMPARISON(nm, code)                                                                        \
  {.name = nm, .n_inputs = 2, .n_outputs = 1, .attrs = t_attrs, .infer = binary_infer,              \
   .compute = binary_compute, .flags = OP_NO_GRADIENT, .ew_class = EW_IS_BINARY, .ew_code = code, \
   .prepare = binary_prepare}
#define UNARY(nm, code, grad)                                                                       \
  {.name = nm, .n_inputs = 1, .n_outputs = 1, .attrs = t_attrs, .infer = unary_infer,               \
   .compute = unary_compute, .gradient = grad, .ew_class = EW_IS_UNARY, .ew_code = code,         \
   .prepare = unary_prepare}
#define GRAD_HELPER(nm, code, grad)                                                                 \
  {.name = nm, .n_inputs = 2, .n_outputs = 1, .attrs = t_attrs, .infer = same_shape_binary_infer,   \
   .compute = binary_compute, .gradient = grad, .ew_class = EW_IS_BINARY, .ew_code = code,       \
   .prepare = binary_prepare}
#define NO_GRAD_UNARY(nm, code)                                                                     \
  {.name = nm, .n_inputs = 1, .n_outputs = 1, .attrs = t_attrs, .infer = unary_infer,               \
   .compute = unary_compute, .flags = OP_NO_GRADIENT, .ew_class = EW_IS_UNARY, .ew_code = code,   \
   .prepare = unary_prepare}
#define REDUCTION(nm, code, grad)                                                                   \
  {.name = nm, .n_inputs = 2, .n_outputs = 1, .attrs = reduce_attrs, .infer = reduce_infer,         \
   .compute = reduce_compute, .gradient = grad, .ew_code = code, .prepare = reduce_prepare}

const op_def_t ops_math[] = {
    BINARY("AddV2", EW_ADD, add_grad),
    BINARY("Add", EW_ADD, add_grad),
    BINARY("Sub", EW_SUB, sub_grad),
    BINARY("Mul", EW_MUL, mul_grad),
    BINARY("RealDiv", EW_DIV, div_grad),
    BINARY("Div", EW_DIV, div_grad),
    BINARY("Pow", EW_POW, pow_grad),
    BINARY("Maximum", EW_MAXIMUM, maximum_grad),
    BINARY("Minimum", EW_MINIMUM, minimum_grad),
    BINARY("SquaredDifference", EW_SQUARED_DIFF, squared_difference_grad),
    /* TensorFlow defines FloorDiv's gradient as none. */
    {.name = "FloorDiv", .n_inputs = 2, .n_outputs = 1, .attrs = t_attrs, .infer = binary_infer,
     .compute = binary_compute, .flags = OP_NO_GRADIENT, .ew_class = EW_IS_BINARY,
     .ew_code = EW_FLOORDIV, .prepare = binary_prepare},
    BINARY("FloorMod", EW_FLOORMOD, floor_mod_grad),
    COMPARISON("Less", EW_LESS),
    COMPARISON("LessEqual", EW_LESS_EQUAL),
    COMPARISON("Greater", EW_GREATER),
    COMPARISON("GreaterEqual", EW_GREATER_EQUAL),
    COMPARISON("Equal", EW_EQUAL),
    COMPARISON("NotEqual", EW_NOT_EQUAL),
    COMPARISON("LogicalAnd", EW_LOGICAL_AND),
    COMPARISON("LogicalOr", EW_LOGICAL_OR),
    NO_GRAD_UNARY("LogicalNot", EW_LOGICAL_NOT),
    /* Piecewise constant: TensorFlow defines their gradients as none. */
    NO_GRAD_UNARY("Floor", EW_FLOOR),
    NO_GRAD_UNARY("Ceil", EW_CEIL),
    NO_GRAD_UNARY("Round", EW_ROUND),
    UNARY("Log1p", EW_LOG1P, log1p_grad),
    UNARY("Expm1", EW_EXPM1, expm1_grad),
    UNARY("Sin", EW_SIN, sin_grad),
    UNARY("Cos", EW_COS, cos_grad),
    UNARY("Neg", EW_NEG, neg_grad),
    UNARY("Square", EW_SQUARE, square_grad),
    UNARY("Sqrt", EW_SQRT, sqrt_grad),
    UNARY("Rsqrt", EW_RSQRT, rsqrt_grad),
    UNARY("Reciprocal", EW_RECIPROCAL, reciprocal_grad),
    UNARY("Exp", EW_EXP, exp_grad),
    UNARY("Log", EW_LOG, log_grad),
    UNARY("Abs", EW_ABS, abs_grad),
    UNARY("Sign", EW_SIGN, sign_grad),
    GRAD_HELPER("SqrtGrad", EW_SQRT_GRAD, sqrt_grad_grad),
    GRAD_HELPER("RsqrtGrad", EW_RSQRT_GRAD, NULL),
    GRAD_HELPER("ReciprocalGrad", EW_RECIPROCAL_GRAD, NULL),
    {.name = "AddN", .n_outputs = 1, .attrs = add_n_attrs, .infer = add_n_infer,
     .compute = add_n_compute, .gradient = add_n_grad, .flags = OP_VARIADIC},
    {.name = "Cast", .n_inputs = 1, .n_outputs = 1, .attrs = cast_attrs, .infer = cast_infer,
     .compute = cast_compute, .gradient = cast_grad},
    REDUCTION("Sum", REDUCE_SUM, sum_grad),
    REDUCTION("Mean", REDUCE_MEAN, mean_grad),
    REDUCTION("Max", REDUCE_MAX, min_max_grad),
    REDUCTION("Min", REDUCE_MIN, min_max_grad),
    REDUCTION("Prod", REDUCE_PROD, prod_grad),
    {.name = "L2Loss", .n_inputs = 1, .n_outputs = 1, .attrs = t_attrs, .infer = l2_loss_infer,
     .compute = l2_loss_compute, .gradient = l2_loss_grad},
    {.name = "ArgMax", .n_inputs = 2, .n_outputs = 1, .attrs = arg_attrs, .infer = arg_infer,
     .compute = arg_compute, .flags = OP_NO_GRADIENT, .ew_code = 1 /* is_max */},
    {.name = "ArgMin", .n_inputs = 2, .n_outputs = 1, .attrs = arg_attrs, .infer = arg_infer,
     .compute = arg_compute, .flags = OP_NO_GRADIENT, .ew_code = 0},
    {.name = "MatMul", .n_inputs = 2, .n_outputs = 1, .attrs = matmul_attrs, .infer = matmul_infer,
     .compute = matmul_compute, .gradient = matmul_grad},
    {.name = "BatchMatMul", .n_inputs = 2, .n_outputs = 1, .attrs = batch_matmul_attrs,
     .infer = batch_matmul_infer, .compute = batch_matmul_compute, .gradient = batch_matmul_grad},
    {.name = "Select", .n_inputs = 3, .n_outputs = 1, .attrs = t_attrs, .infer = select_infer,
     .compute = select_compute, .gradient = select_grad},
    {.name = "BroadcastGradientArgs", .n_inputs = 2, .n_outputs = 2, .attrs = bga_attrs,
     .infer = bga_infer, .compute = bga_compute, .flags = OP_NO_GRADIENT},
    {0}};
