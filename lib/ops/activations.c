/* More activation functions of tf.nn as TensorFlow 1.x graphs hold them, each with the
 * <Op>Grad op its gradient builds (TensorFlow's input order: gradients first, then the
 * features or the outputs): Relu6, Elu, Selu, LeakyRelu, Softsign. Plain float32 and
 * float64 loops; Relu, Sigmoid, Tanh and Softplus live in nn.c with SIMD kernels. */
#include <math.h>
#include <string.h>

#include "ops/build.h"

/* SELU's constants (Klambauer et al., 2017), as TensorFlow uses them. */
#define SELU_SCALE 1.0507009873554804934193349852946
#define SELU_ALPHA 1.6732632423543772848170429916717

typedef enum act { ACT_RELU6, ACT_ELU, ACT_SELU, ACT_LEAKY_RELU, ACT_SOFTSIGN } act_t;

static double act_forward(act_t a, double x, double alpha) {
  switch (a) {
  case ACT_RELU6: return x < 0 ? 0 : x > 6 ? 6 : x;
  case ACT_ELU: return x > 0 ? x : expm1(x);
  case ACT_SELU: return x > 0 ? SELU_SCALE * x : SELU_SCALE * SELU_ALPHA * expm1(x);
  case ACT_LEAKY_RELU: return x > 0 ? x : alpha * x;
  default: return x / (1 + fabs(x));
  }
}

/* dy * f'(.), from the features (Relu6, LeakyRelu, Softsign) or the outputs (Elu, Selu). */
static double act_backward(act_t a, double dy, double v, double alpha) {
  switch (a) {
  case ACT_RELU6: return v > 0 && v < 6 ? dy : 0;
  case ACT_ELU: return v > 0 ? dy : dy * (v + 1);
  case ACT_SELU: return v > 0 ? dy * SELU_SCALE : dy * (v + SELU_SCALE * SELU_ALPHA);
  case ACT_LEAKY_RELU: return v > 0 ? dy : dy * alpha;
  default: {
    double d = 1 + fabs(v);
    return dy / (d * d);
  }
  }
}

static const attr_def_t t_attrs[] = {T_ATTR_REQUIRED, {NULL}};
static const attr_def_t leaky_attrs[] = {
    T_ATTR_REQUIRED, {"alpha", ATTR_F, {.kind = ATTR_F, .u.f = 0.2f}}, {NULL}};

static double alpha_of(const node_t *n) {
  const attr_value_t *a = node_attr(n, "alpha");
  return a && a->kind == ATTR_F ? a->u.f : 0.2;
}

static tfm_code float_only(node_t *n, tfm_status *st) {
  tfm_dtype dt = n->inputs[0]->dtype;
  if (dt != TFM_FLOAT && dt != TFM_DOUBLE)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "%s is not defined for %s", n->type, dtype_name(dt));
  return TFM_OK;
}

static tfm_code act_infer(node_t *n, tfm_status *st) {
  tfm_code rc = float_only(n, st);
  return rc == TFM_OK ? infer_same_as_input0(n, st) : rc;
}

static tfm_code act_grad_infer(node_t *n, tfm_status *st) {
  tfm_code rc = float_only(n, st);
  if (rc != TFM_OK) return rc;
  const output_t *a = n->inputs[0], *b = n->inputs[1];
  char as[SHAPE_STR_MAX], bs[SHAPE_STR_MAX];
  if (a->dtype != b->dtype || !shape_compatible(&a->shape, &b->shape))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "gradients %s %s and %s %s must match", dtype_name(a->dtype),
                      shape_str(&a->shape, as), dtype_name(b->dtype), shape_str(&b->shape, bs));
  n->outputs[0].dtype = a->dtype;
  n->outputs[0].shape = a->shape.rank >= 0 ? a->shape : b->shape;
  return TFM_OK;
}

static tfm_code act_run(kctx_t *c, act_t a) {
  const tensor_t *x = c->in[0];
  tensor_t *y = kctx_alloc_output(c, 0, x->dtype, &x->shape);
  if (!y) return status_code(c->st);
  double alpha = alpha_of(c->node);
  if (x->dtype == TFM_FLOAT)
    for (int64_t i = 0; i < x->num_elements; i++) TENSOR_F32(y)[i] = (float)act_forward(a, TENSOR_F32(x)[i], alpha);
  else
    for (int64_t i = 0; i < x->num_elements; i++) TENSOR_F64(y)[i] = act_forward(a, TENSOR_F64(x)[i], alpha);
  return TFM_OK;
}

static tfm_code act_grad_run(kctx_t *c, act_t a) {
  const tensor_t *dy = c->in[0], *v = c->in[1];
  if (dy->num_elements != v->num_elements) {
    char as[SHAPE_STR_MAX], bs[SHAPE_STR_MAX];
    return kctx_error(c, TFM_INVALID_ARGUMENT, "gradients %s and values %s differ in shape",
                      shape_str(&dy->shape, as), shape_str(&v->shape, bs));
  }
  tensor_t *out = kctx_alloc_output(c, 0, dy->dtype, &dy->shape);
  if (!out) return status_code(c->st);
  double alpha = alpha_of(c->node);
  if (dy->dtype == TFM_FLOAT)
    for (int64_t i = 0; i < dy->num_elements; i++)
      TENSOR_F32(out)[i] = (float)act_backward(a, TENSOR_F32(dy)[i], TENSOR_F32(v)[i], alpha);
  else
    for (int64_t i = 0; i < dy->num_elements; i++)
      TENSOR_F64(out)[i] = act_backward(a, TENSOR_F64(dy)[i], TENSOR_F64(v)[i], alpha);
  return TFM_OK;
}

/* The <Op>Grad op of an activation: (dy, features) or (dy, outputs), with alpha. */
static tfm_code build_grad(grad_ctx_t *g, const char *type, output_t *v) {
  if (!g->dy[0]) return TFM_OK;
  output_t *in[2] = {g->dy[0], v};
  attr_t alpha = ATTR_F_V("alpha", (float)alpha_of(g->op));
  bool leaky = strcmp(type, "LeakyReluGrad") == 0;
  g->dx[0] = op_build(g->g, type, NULL, in, 2, leaky ? &alpha : NULL, leaky ? 1 : 0, g->st);
  return g->dx[0] ? TFM_OK : status_code(g->st);
}

/* Second derivatives of the piecewise-linear ones: the same mask applied to the
 * incoming gradient; none w.r.t. the features. */
static tfm_code masked_grad_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  output_t *in[2] = {g->dy[0], g->op->inputs[1]};
  bool leaky = strcmp(g->op->type, "LeakyReluGrad") == 0;
  attr_t alpha = ATTR_F_V("alpha", (float)alpha_of(g->op));
  g->dx[0] = op_build(g->g, g->op->type, NULL, in, 2, leaky ? &alpha : NULL, leaky ? 1 : 0, g->st);
  return g->dx[0] ? TFM_OK : status_code(g->st);
}

#define ACT_FUNCS(lower, code, grad_type, from_output)                                               \
  static tfm_code lower##_compute(kctx_t *c) { return act_run(c, code); }                            \
  static tfm_code lower##_grad_compute(kctx_t *c) { return act_grad_run(c, code); }                  \
  static tfm_code lower##_grad(grad_ctx_t *g) {                                                      \
    return build_grad(g, grad_type, from_output ? &g->op->outputs[0] : g->op->inputs[0]);            \
  }
ACT_FUNCS(relu6, ACT_RELU6, "Relu6Grad", false)
ACT_FUNCS(elu, ACT_ELU, "EluGrad", true)
ACT_FUNCS(selu, ACT_SELU, "SeluGrad", true)
ACT_FUNCS(leaky_relu, ACT_LEAKY_RELU, "LeakyReluGrad", false)
ACT_FUNCS(softsign, ACT_SOFTSIGN, "SoftsignGrad", false)

#define ACT_OPS(nm, lower, schema, grad_grad)                                                          \
  {.name = nm, .n_inputs = 1, .n_outputs = 1, .attrs = schema, .infer = act_infer,                    \
   .compute = lower##_compute, .gradient = lower##_grad},                                             \
  {.name = nm "Grad", .n_inputs = 2, .n_outputs = 1, .attrs = schema, .infer = act_grad_infer,        \
   .compute = lower##_grad_compute, .gradient = grad_grad}

const op_def_t ops_activations[] = {
    ACT_OPS("Relu6", relu6, t_attrs, masked_grad_grad),
    ACT_OPS("Elu", elu, t_attrs, NULL),
    ACT_OPS("Selu", selu, t_attrs, NULL),
    ACT_OPS("LeakyRelu", leaky_relu, leaky_attrs, masked_grad_grad),
    ACT_OPS("Softsign", softsign, t_attrs, NULL),
    {NULL}};
