/* GradientDescentOptimizer: var -= learning_rate * grad (ApplyGradientDescent). */
#include "core/status.h"
#include "train/optimizer.h"

static tfm_code gd_prepare(tfm_optimizer *opt, graph_t *g, tfm_status *st) {
  opt->lr_t = optimizer_learning_rate(opt, g, st);
  return opt->lr_t ? TFM_OK : st->code;
}

static node_t *gd_apply(tfm_optimizer *opt, graph_t *g, variable_t *var, output_t *grad, tfm_status *st) {
  output_t *ref = &var->var->outputs[0];
  output_t *lr = optimizer_cast(g, opt->lr_t, ref->dtype, st);
  if (!lr) return NULL;
  output_t *in[] = {ref, lr, grad};
  return optimizer_apply_op(g, "ApplyGradientDescent", in, 3, false, false, st);
}

const optimizer_kind_t optimizer_gradient_descent = {
    .name = "GradientDescent", .prepare = gd_prepare, .apply = gd_apply};

TFM_API tfm_optimizer *tfm_optimizer_gradient_descent(double learning_rate, tfm_status *status) {
  if (!optimizer_hyper_ok(&optimizer_gradient_descent, "learning_rate", learning_rate, status)) return NULL;
  tfm_optimizer *opt = optimizer_new(&optimizer_gradient_descent, status);
  if (opt) opt->learning_rate = learning_rate;
  return opt;
}
