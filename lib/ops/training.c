/* Training ops: the in-place variable updates optimizers build (ApplyGradientDescent,
 * ApplyMomentum, ApplyAdam), with TensorFlow's update formulas.
 *
 * Input 0 is the variable (a ref: the kernel gets c->ref); slot inputs (accum, m, v)
 * are refs too and their tensors, handed in c->in[i], are updated in place. Output 0
 * passes the updated variable through. The loops are plain element-wise loops over
 * restrict pointers so the compiler vectorises them. No gradients: these ops sit
 * after the backward pass. */
#include <math.h>
#include <string.h>

#include "core/status.h"
#include "core/threadpool.h"
#include "ops/registry.h"

static const attr_def_t apply_attrs[] = {
    {"T", ATTR_TYPE, {.kind = ATTR_NONE}},
    {"use_locking", ATTR_B, {.kind = ATTR_B, .u.b = false}},
    {NULL, ATTR_NONE, {.kind = ATTR_NONE}},
};

static const attr_def_t apply_nesterov_attrs[] = {
    {"T", ATTR_TYPE, {.kind = ATTR_NONE}},
    {"use_locking", ATTR_B, {.kind = ATTR_B, .u.b = false}},
    {"use_nesterov", ATTR_B, {.kind = ATTR_B, .u.b = false}},
    {NULL, ATTR_NONE, {.kind = ATTR_NONE}},
};

/* Which inputs are refs (updated in place), full-size tensors, or scalars. */
typedef enum { IN_REF, IN_FULL, IN_SCALAR } in_kind_t;

typedef struct apply_sig {
  const char *names[10];
  in_kind_t kinds[10];
} apply_sig_t;

static const apply_sig_t sig_gd = {{"var", "alpha", "delta"}, {IN_REF, IN_SCALAR, IN_FULL}};
static const apply_sig_t sig_momentum = {{"var", "accum", "lr", "grad", "momentum"},
                                         {IN_REF, IN_REF, IN_SCALAR, IN_FULL, IN_SCALAR}};
static const apply_sig_t sig_adam = {
    {"var", "m", "v", "beta1_power", "beta2_power", "lr", "beta1", "beta2", "epsilon", "grad"},
    {IN_REF, IN_REF, IN_REF, IN_SCALAR, IN_SCALAR, IN_SCALAR, IN_SCALAR, IN_SCALAR, IN_SCALAR,
     IN_FULL}};

static const apply_sig_t *sig_of(const node_t *n) {
  if (strcmp(n->type, "ApplyGradientDescent") == 0) return &sig_gd;
  if (strcmp(n->type, "ApplyMomentum") == 0) return &sig_momentum;
  return &sig_adam;
}

/* Shape function shared by the three ops: every input has dtype T (float), refs
 * and full inputs have the variable's shape, scalars are rank 0. */
static tfm_code apply_infer(node_t *n, tfm_status *st) {
  const apply_sig_t *sig = sig_of(n);
  const output_t *var = n->inputs[0];
  tfm_dtype t = var->dtype;
  char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
  if (!dtype_is_float(t))
    return status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': var has dtype %s; expected float32 or float64",
                      n->type, n->name, dtype_name(t));
  for (int i = 0; i < n->n_inputs; i++) {
    const output_t *in = n->inputs[i];
    if (in->dtype != t)
      return status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': input '%s' has dtype %s but var has %s", n->type,
                        n->name, sig->names[i], dtype_name(in->dtype), dtype_name(t));
    switch (sig->kinds[i]) {
    case IN_REF:
      if (!in->is_ref)
        return status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': input '%s' must be a variable reference",
                          n->type, n->name, sig->names[i]);
      __attribute__((fallthrough)); /* same shape as var */
    case IN_FULL:
      if (!shape_compatible(&in->shape, &var->shape))
        return status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': '%s' has shape %s but var has shape %s",
                          n->type, n->name, sig->names[i], shape_str(&in->shape, a), shape_str(&var->shape, b));
      break;
    case IN_SCALAR:
      if (in->shape.rank > 0)
        return status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': '%s' must be a scalar, got shape %s", n->type,
                          n->name, sig->names[i], shape_str(&in->shape, a));
      break;
    }
  }
  n->outputs[0].dtype = t;
  n->outputs[0].shape = var->shape;
  return TFM_OK;
}

/* Checks the run-time values against the op's signature (given, not looked up by
 * name: this runs every step): initialised refs, equal element counts. */
static tfm_code apply_check(kctx_t *c, const apply_sig_t *sig) {
  const tensor_t *var = c->in[0];
  for (int i = 0; i < c->n_in; i++) {
    const tensor_t *t = c->in[i];
    if (!t) {
      const node_t *src = c->node->inputs[i]->node;
      return kctx_error(c, TFM_FAILED_PRECONDITION, "Attempting to use uninitialized value %s", src->name);
    }
    if (t->dtype != var->dtype)
      return kctx_error(c, TFM_INVALID_ARGUMENT, "'%s' has dtype %s but var has %s", sig->names[i],
                        dtype_name(t->dtype), dtype_name(var->dtype));
    if (sig->kinds[i] == IN_SCALAR ? t->num_elements != 1 : !shape_equal(&t->shape, &var->shape)) {
      char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
      return kctx_error(c, TFM_INVALID_ARGUMENT, "'%s' has shape %s (var %s)", sig->names[i],
                        shape_str(&t->shape, a), shape_str(&var->shape, b));
    }
  }
  return TFM_OK;
}

/* ---- running an update over the thread pool ----
 * The update is element-wise, so it is cut into fixed-size chunks (the cut
 * depends only on the size) run as pool tasks: every element sees the same
 * arithmetic whatever the thread count. Only Adam (a sqrt and a division per
 * element, ~4 ns) goes to the pool: gradient descent and momentum stream memory
 * at well under 1 ns per element, where a second thread buys little and the
 * pool's wake-up can cost more than the update (bench_optimizers). */
enum { UPDATE_CHUNK = 1 << 15 };

typedef enum { UPDATE_GD, UPDATE_MOMENTUM, UPDATE_ADAM } update_kind_t;

typedef struct update_job {
  update_kind_t kind;
  bool f64, nesterov;
  void *var, *slot1, *slot2;
  const void *grad;
  double p[4]; /* GD: alpha; Momentum: lr, momentum; Adam: lr_t, beta1, beta2, epsilon */
  int64_t n;
} update_job_t;

/* ---- ApplyGradientDescent: var -= alpha * delta ---- */

#define DEFINE_GD(T, SUFFIX)                                                                   \
  static void gd_##SUFFIX(T *restrict var, const T *restrict delta, T alpha, int64_t n) {      \
    for (int64_t i = 0; i < n; i++) var[i] -= alpha * delta[i];                                 \
  }
DEFINE_GD(float, f32)
DEFINE_GD(double, f64)

/* ---- ApplyMomentum ----
 * accum = accum * momentum + grad;
 * var -= lr * accum                              (plain)
 * var -= lr * grad + lr * momentum * accum       (Nesterov) */

#define DEFINE_MOMENTUM(T, SUFFIX)                                                              \
  static void momentum_##SUFFIX(T *restrict var, T *restrict accum, const T *restrict grad, T lr, \
                                T momentum, bool nesterov, int64_t n) {                          \
    if (nesterov) {                                                                              \
      for (int64_t i = 0; i < n; i++) {                                                          \
        T a = accum[i] * momentum + grad[i];                                                     \
        accum[i] = a;                                                                            \
        var[i] -= grad[i] * lr + a * momentum * lr;                                              \
      }                                                                                          \
    } else {                                                                                     \
      for (int64_t i = 0; i < n; i++) {                                                          \
        T a = accum[i] * momentum + grad[i];                                                     \
        accum[i] = a;                                                                            \
        var[i] -= lr * a;                                                                        \
      }                                                                                          \
    }                                                                                            \
  }
DEFINE_MOMENTUM(float, f32)
DEFINE_MOMENTUM(double, f64)

/* ---- ApplyAdam ----
 * lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
 * m += (g - m) * (1 - beta1);  v += (g*g - v) * (1 - beta2)
 * var -= lr_t * m / (sqrt(v) + epsilon)                          (plain)
 * var -= lr_t * (g * (1 - beta1) + beta1 * m) / (sqrt(v) + eps)  (Nesterov) */

#define DEFINE_ADAM(T, SUFFIX, SQRT)                                                            \
  static void adam_##SUFFIX(T *restrict var, T *restrict m, T *restrict v, const T *restrict g,  \
                            T lr_t, T beta1, T beta2, T eps, bool nesterov, int64_t n) {         \
    const T one_minus_b1 = (T)1 - beta1, one_minus_b2 = (T)1 - beta2;                            \
    for (int64_t i = 0; i < n; i++) {                                                            \
      T gi = g[i];                                                                               \
      T mi = m[i] + (gi - m[i]) * one_minus_b1;                                                  \
      T vi = v[i] + (gi * gi - v[i]) * one_minus_b2;                                             \
      m[i] = mi;                                                                                 \
      v[i] = vi;                                                                                 \
      T num = nesterov ? gi * one_minus_b1 + beta1 * mi : mi;                                    \
      var[i] -= (num * lr_t) / (SQRT(vi) + eps);                                                 \
    }                                                                                            \
  }
DEFINE_ADAM(float, f32, sqrtf)
DEFINE_ADAM(double, f64, sqrt)

static void update_task(void *ctx, int64_t task) {
  const update_job_t *j = ctx;
  int64_t lo = task * UPDATE_CHUNK, len = j->n - lo < UPDATE_CHUNK ? j->n - lo : UPDATE_CHUNK;
  const double *p = j->p;
#define AT(ptr, T) ((T *)(ptr) + lo)
  if (!j->f64) {
    switch (j->kind) {
    case UPDATE_GD: gd_f32(AT(j->var, float), AT(j->grad, const float), (float)p[0], len); break;
    case UPDATE_MOMENTUM:
      momentum_f32(AT(j->var, float), AT(j->slot1, float), AT(j->grad, const float), (float)p[0], (float)p[1],
                   j->nesterov, len);
      break;
    case UPDATE_ADAM:
      adam_f32(AT(j->var, float), AT(j->slot1, float), AT(j->slot2, float), AT(j->grad, const float), (float)p[0],
               (float)p[1], (float)p[2], (float)p[3], j->nesterov, len);
      break;
    }
  } else {
    switch (j->kind) {
    case UPDATE_GD: gd_f64(AT(j->var, double), AT(j->grad, const double), p[0], len); break;
    case UPDATE_MOMENTUM:
      momentum_f64(AT(j->var, double), AT(j->slot1, double), AT(j->grad, const double), p[0], p[1], j->nesterov, len);
      break;
    case UPDATE_ADAM:
      adam_f64(AT(j->var, double), AT(j->slot1, double), AT(j->slot2, double), AT(j->grad, const double), p[0], p[1],
               p[2], p[3], j->nesterov, len);
      break;
    }
  }
#undef AT
}

/* Reads scalar input i as double (float32 values convert exactly). */
static double scalar_in(const kctx_t *c, int i) { return tensor_get_f64(c->in[i], 0); }

/* Checks the inputs, runs the job over the pool and passes the variable through. */
static tfm_code run_update(kctx_t *c, update_job_t *j) {
  tensor_t *var = c->in[0];
  j->f64 = var->dtype == TFM_DOUBLE;
  j->var = var->data;
  j->n = var->num_elements;
  int64_t tasks = (j->n + UPDATE_CHUNK - 1) / UPDATE_CHUNK;
  if (tasks > 1 && j->kind == UPDATE_ADAM)
    pool_parallel_for(tasks, update_task, j);
  else
    for (int64_t t = 0; t < tasks; t++) update_task(j, t);
  kctx_set_output(c, 0, var);
  return TFM_OK;
}

static tfm_code gd_compute(kctx_t *c) {
  if (apply_check(c, &sig_gd) != TFM_OK) return c->st->code;
  update_job_t j = {.kind = UPDATE_GD, .grad = c->in[2]->data, .p = {scalar_in(c, 1)}};
  return run_update(c, &j);
}

/* Prepared (shapes fixed when the plan was compiled): a variable small enough for
 * one chunk is updated here, as run_update's single task would. */
static tfm_code gd_run(kctx_t *c, const kprep_t *k) {
  tensor_t *var = c->in[0];
  const tensor_t *alpha = c->in[1], *delta = c->in[2];
  if (!var || !alpha || !delta || var->dtype != k->dtype || alpha->dtype != k->dtype ||
      delta->dtype != k->dtype || var->num_elements != k->n || delta->num_elements != k->n ||
      alpha->num_elements != 1)
    return gd_compute(c); /* reports */
  if (k->dtype == TFM_FLOAT)
    gd_f32(var->data, delta->data, *(const float *)alpha->data, k->n);
  else
    gd_f64(var->data, delta->data, *(const double *)alpha->data, k->n);
  kctx_set_output(c, 0, var);
  return TFM_OK;
}

static bool gd_prepare(const node_t *n, tensor_t *const *in_const, kprep_t *k) {
  (void)in_const;
  int64_t count;
  if (shape_num_elements(&n->inputs[0]->shape, &count, NULL) != TFM_OK || count < 1 ||
      count > UPDATE_CHUNK || !dtype_is_float(n->inputs[0]->dtype))
    return false;
  k->run = gd_run;
  k->dtype = n->inputs[0]->dtype;
  k->shape = n->inputs[0]->shape;
  k->n = count;
  return true;
}

static tfm_code momentum_update(kctx_t *c, bool nesterov) {
  if (apply_check(c, &sig_momentum) != TFM_OK) return c->st->code;
  update_job_t j = {.kind = UPDATE_MOMENTUM, .slot1 = c->in[1]->data, .grad = c->in[3]->data,
                    .nesterov = nesterov, .p = {scalar_in(c, 2), scalar_in(c, 4)}};
  return run_update(c, &j);
}

static tfm_code momentum_compute(kctx_t *c) {
  return momentum_update(c, node_attr_bool(c->node, "use_nesterov", false));
}

/* The step size lr_t is formed in T, as TensorFlow does. */
static tfm_code adam_update(kctx_t *c, bool nesterov) {
  if (apply_check(c, &sig_adam) != TFM_OK) return c->st->code;
  double lr_t;
  if (c->in[0]->dtype == TFM_FLOAT) {
    float b1p = (float)scalar_in(c, 3), b2p = (float)scalar_in(c, 4), lr = (float)scalar_in(c, 5);
    lr_t = lr * sqrtf(1.0f - b2p) / (1.0f - b1p);
  } else {
    lr_t = scalar_in(c, 5) * sqrt(1.0 - scalar_in(c, 4)) / (1.0 - scalar_in(c, 3));
  }
  update_job_t j = {.kind = UPDATE_ADAM, .slot1 = c->in[1]->data, .slot2 = c->in[2]->data, .grad = c->in[9]->data,
                    .nesterov = nesterov, .p = {lr_t, scalar_in(c, 6), scalar_in(c, 7), scalar_in(c, 8)}};
  return run_update(c, &j);
}

static tfm_code adam_compute(kctx_t *c) {
  return adam_update(c, node_attr_bool(c->node, "use_nesterov", false));
}

/* Prepared: the attribute is read once, when the plan is compiled, instead of
 * looked up by name on every step. */
static tfm_code momentum_run(kctx_t *c, const kprep_t *k) { return momentum_update(c, k->arg[0] != 0); }
static tfm_code adam_run(kctx_t *c, const kprep_t *k) { return adam_update(c, k->arg[0] != 0); }

static bool nesterov_prepare(const node_t *n, tensor_t *const *in_const, kprep_t *k) {
  (void)in_const;
  k->run = strcmp(n->type, "ApplyAdam") == 0 ? adam_run : momentum_run;
  k->dtype = n->inputs[0]->dtype;
  k->shape = n->inputs[0]->shape;
  k->n = 0;
  k->arg[0] = node_attr_bool(n, "use_nesterov", false);
  return true;
}

const op_def_t ops_training[] = {
    {.name = "ApplyGradientDescent", .n_inputs = 3, .n_outputs = 1, .attrs = apply_attrs,
     .infer = apply_infer, .compute = gd_compute, .flags = OP_STATEFUL | OP_REF_INPUT0,
     .prepare = gd_prepare},
    {.name = "ApplyMomentum", .n_inputs = 5, .n_outputs = 1, .attrs = apply_nesterov_attrs,
     .infer = apply_infer, .compute = momentum_compute, .flags = OP_STATEFUL | OP_REF_INPUT0,
     .prepare = nesterov_prepare},
    {.name = "ApplyAdam", .n_inputs = 10, .n_outputs = 1, .attrs = apply_nesterov_attrs,
     .infer = apply_infer, .compute = adam_compute, .flags = OP_STATEFUL | OP_REF_INPUT0,
     .prepare = nesterov_prepare},
    {0},
};
