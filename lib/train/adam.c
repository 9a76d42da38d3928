/* AdamOptimizer (Kingma & Ba) as TensorFlow builds it: slots "<var>/Adam" (m) and
 * "<var>/Adam_1" (v), non-slot variables "beta1_power" and "beta2_power" that
 * start at beta1 and beta2 and are multiplied by them after every step (_finish),
 * and one ApplyAdam per variable. */
#include "core/status.h"
#include "train/optimizer.h"
#include "tfmini/ops.h"

static bool beta_powers_usable(const tfm_optimizer *opt, const graph_t *g) {
  if (opt->beta_graph != g || !opt->beta1_power) return false;
  for (int i = 0; i < g->n_variables; i++)
    if (g->variables[i] == opt->beta1_power) return true;
  return false;
}

static variable_t *beta_power(graph_t *g, tfm_dtype dt, double value, const char *name, tfm_status *st) {
  tensor_t *init = dt == TFM_DOUBLE ? tensor_scalar_f64(value, st) : tensor_scalar_f32((float)value, st);
  if (!init) return NULL;
  variable_t *v = train_variable_new(g, name, false, init, "initial_value", st);
  tensor_unref(init);
  return v;
}

static tfm_code adam_create_slots(tfm_optimizer *opt, graph_t *g, variable_t *const *vars, int n,
                                  tfm_status *st) {
  if (!beta_powers_usable(opt, g)) {
    opt->beta1_power = beta_power(g, opt->dtype, opt->beta1, "beta1_power", st);
    opt->beta2_power = opt->beta1_power ? beta_power(g, opt->dtype, opt->beta2, "beta2_power", st) : NULL;
    if (!opt->beta2_power) return st->code;
    opt->beta_graph = g;
  }
  for (int i = 0; i < n; i++) {
    if (optimizer_find_slot(opt, g, vars[i])) continue;
    variable_t *m = optimizer_zeros_slot(g, vars[i], "Adam", st);
    variable_t *v = m ? optimizer_zeros_slot(g, vars[i], "Adam", st) : NULL;
    if (!v || optimizer_add_slot(opt, vars[i], m, v, st) != TFM_OK) return st->code;
  }
  return TFM_OK;
}

static tfm_code adam_prepare(tfm_optimizer *opt, graph_t *g, tfm_status *st) {
  opt->lr_t = optimizer_learning_rate(opt, g, st);
  opt->beta1_t = opt->lr_t ? optimizer_constant(opt, g, opt->beta1, "beta1", st) : NULL;
  opt->beta2_t = opt->beta1_t ? optimizer_constant(opt, g, opt->beta2, "beta2", st) : NULL;
  opt->epsilon_t = opt->beta2_t ? optimizer_constant(opt, g, opt->epsilon, "epsilon", st) : NULL;
  return opt->epsilon_t ? TFM_OK : st->code;
}

static node_t *adam_apply(tfm_optimizer *opt, graph_t *g, variable_t *var, output_t *grad, tfm_status *st) {
  output_t *ref = &var->var->outputs[0];
  tfm_dtype dt = ref->dtype;
  slot_t *slot = optimizer_find_slot(opt, g, var);
  if (!slot) {
    status_set(st, TFM_INTERNAL, "Adam: no slots for '%s'", var->var->name);
    return NULL;
  }
  output_t *in[10] = {ref, &slot->slot[0]->var->outputs[0], &slot->slot[1]->var->outputs[0]};
  output_t *scalars[] = {opt->beta1_power->snapshot, opt->beta2_power->snapshot, opt->lr_t,
                         opt->beta1_t, opt->beta2_t, opt->epsilon_t};
  for (int i = 0; i < 6; i++)
    if (!(in[3 + i] = optimizer_cast(g, scalars[i], dt, st))) return NULL;
  in[9] = grad;
  return optimizer_apply_op(g, "ApplyAdam", in, 10, true, false, st);
}

/* beta_power <- beta_power * beta, after every update has run. */
static tfm_code adam_finish(tfm_optimizer *opt, graph_t *g, node_t *const *updates, int n, node_t **extra,
                            int *n_extra, tfm_status *st) {
  if (graph_push_control_dependencies(g, updates, n, st) != TFM_OK) return st->code;
  /* Each step checked before the next: a later success would reset the status of
   * an earlier failure, and minimize would return an op that skips an update. */
  output_t *m1 = tfm_mul(g, opt->beta1_power->snapshot, opt->beta1_t, "mul", st);
  output_t *a1 = m1 ? tfm_assign(g, opt->beta1_power, m1, "Assign", st) : NULL;
  output_t *m2 = a1 ? tfm_mul(g, opt->beta2_power->snapshot, opt->beta2_t, "mul", st) : NULL;
  output_t *a2 = m2 ? tfm_assign(g, opt->beta2_power, m2, "Assign", st) : NULL;
  graph_pop_control_dependencies(g, NULL);
  if (!a2)
    return st->code != TFM_OK ? st->code
                              : status_set(st, TFM_INTERNAL, "Adam: cannot build the beta power updates");
  extra[0] = a1->node;
  extra[1] = a2->node;
  *n_extra = 2;
  return TFM_OK;
}

const optimizer_kind_t optimizer_adam = {.name = "Adam",
                                         .create_slots = adam_create_slots,
                                         .prepare = adam_prepare,
                                         .apply = adam_apply,
                                         .finish = adam_finish};

TFM_API tfm_optimizer *tfm_optimizer_adam(double learning_rate, double beta1, double beta2, double epsilon,
                                          tfm_status *status) {
  if (!optimizer_hyper_ok(&optimizer_adam, "learning_rate", learning_rate, status) ||
      !optimizer_hyper_ok(&optimizer_adam, "beta1", beta1, status) ||
      !optimizer_hyper_ok(&optimizer_adam, "beta2", beta2, status) ||
      !optimizer_hyper_ok(&optimizer_adam, "epsilon", epsilon, status))
    return NULL;
  tfm_optimizer *opt = optimizer_new(&optimizer_adam, status);
  if (!opt) return NULL;
  opt->learning_rate = learning_rate;
  opt->beta1 = beta1;
  opt->beta2 = beta2;
  opt->epsilon = epsilon;
  return opt;
}
