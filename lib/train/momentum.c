/* MomentumOptimizer: accum = momentum * accum + grad; var -= lr * accum (or the
 * Nesterov form), with one slot "<var>/Momentum" per variable (ApplyMomentum). */
#include "core/status.h"
#include "train/optimizer.h"

static tfm_code momentum_create_slots(tfm_optimizer *opt, graph_t *g, variable_t *const *vars, int n,
                                      tfm_status *st) {
  for (int i = 0; i < n; i++) {
    if (optimizer_find_slot(opt, g, vars[i])) continue;
    variable_t *accum = optimizer_zeros_slot(g, vars[i], "Momentum", st);
    if (!accum || optimizer_add_slot(opt, vars[i], accum, NULL, st) != TFM_OK) return st->code;
  }
  return TFM_OK;
}

static tfm_code momentum_prepare(tfm_optimizer *opt, graph_t *g, tfm_status *st) {
  opt->lr_t = optimizer_learning_rate(opt, g, st);
  opt->momentum_t = opt->lr_t ? optimizer_constant(opt, g, opt->momentum, "momentum", st) : NULL;
  return opt->momentum_t ? TFM_OK : st->code;
}

static node_t *momentum_apply(tfm_optimizer *opt, graph_t *g, variable_t *var, output_t *grad, tfm_status *st) {
  output_t *ref = &var->var->outputs[0];
  slot_t *slot = optimizer_find_slot(opt, g, var);
  if (!slot) {
    status_set(st, TFM_INTERNAL, "Momentum: no slot for '%s'", var->var->name);
    return NULL;
  }
  output_t *lr = optimizer_cast(g, opt->lr_t, ref->dtype, st);
  output_t *mom = lr ? optimizer_cast(g, opt->momentum_t, ref->dtype, st) : NULL;
  if (!mom) return NULL;
  output_t *in[] = {ref, &slot->slot[0]->var->outputs[0], lr, grad, mom};
  return optimizer_apply_op(g, "ApplyMomentum", in, 5, true, opt->use_nesterov, st);
}

const optimizer_kind_t optimizer_momentum = {.name = "Momentum",
                                             .create_slots = momentum_create_slots,
                                             .prepare = momentum_prepare,
                                             .apply = momentum_apply};

TFM_API tfm_optimizer *tfm_optimizer_momentum(double learning_rate, double momentum, int use_nesterov,
                                              tfm_status *status) {
  if (!optimizer_hyper_ok(&optimizer_momentum, "learning_rate", learning_rate, status) ||
      !optimizer_hyper_ok(&optimizer_momentum, "momentum", momentum, status))
    return NULL;
  tfm_optimizer *opt = optimizer_new(&optimizer_momentum, status);
  if (!opt) return NULL;
  opt->learning_rate = learning_rate;
  opt->momentum = momentum;
  opt->use_nesterov = use_nesterov != 0;
  return opt;
}
