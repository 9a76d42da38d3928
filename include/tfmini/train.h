/* libtfmini: automatic differentiation, optimizers and learning-rate schedules. */
#ifndef TFMINI_TRAIN_H
#define TFMINI_TRAIN_H

#include "graph.h"

TFM_BEGIN_DECLS

/* tf.gradients(ys, xs, grad_ys): adds gradient ops (under "gradients/") and writes
 * d(sum of ys)/d(xs[i]) to dxs[i] (NULL where no path connects them). grad_ys may be
 * NULL (ones). Broadcasting is undone by summing; StopGradient stops the flow.
 * Errors: INVALID_ARGUMENT naming an op on the path that has no gradient. */
TFM_API tfm_code tfm_gradients(tfm_graph *g, tfm_output *const *ys, int n_ys, tfm_output *const *xs, int n_xs,
                               tfm_output *const *grad_ys, tfm_output **dxs, tfm_status *status);

typedef struct tfm_optimizer tfm_optimizer;

/* Optimizers, owned by the caller (tfm_optimizer_delete); usable on any graph.
 * Errors: INVALID_ARGUMENT (a rate, momentum, beta or epsilon that is NaN or
 * infinite, named), RESOURCE_EXHAUSTED. */
TFM_API tfm_optimizer *tfm_optimizer_gradient_descent(double learning_rate, tfm_status *status);
TFM_API tfm_optimizer *tfm_optimizer_momentum(double learning_rate, double momentum, int use_nesterov,
                                              tfm_status *status);
TFM_API tfm_optimizer *tfm_optimizer_adam(double learning_rate, double beta1, double beta2, double epsilon,
                                          tfm_status *status);
/* Use a tensor (e.g. a decayed rate) instead of the constant learning rate: a float
 * scalar in the graph minimize() is called on (cast to each variable's dtype when it
 * differs). The tensor is owned by its graph. Errors: INVALID_ARGUMENT. */
TFM_API tfm_code tfm_optimizer_set_learning_rate_tensor(tfm_optimizer *opt, tfm_output *learning_rate,
                                                        tfm_status *status);
/* Frees the optimizer (NULL allowed); ops it added stay in their graph. */
TFM_API void tfm_optimizer_delete(tfm_optimizer *opt);

/* optimizer.minimize(loss, global_step, var_list, name): gradients + one update op
 * per variable (ApplyGradientDescent / ApplyMomentum / ApplyAdam), slots named as
 * TensorFlow names them ("<var>/Momentum", "<var>/Adam", "<var>/Adam_1",
 * "beta1_power", "beta2_power"). var_list NULL = the trainable variables.
 * global_step (may be NULL) is incremented by each run of the returned op, which is
 * also added to the "train_op" collection. The op is owned by the graph.
 * Errors: INVALID_ARGUMENT (no trainable variable, no gradient path from loss,
 * a non-scalar or non-float loss), RESOURCE_EXHAUSTED. */
TFM_API tfm_op *tfm_optimizer_minimize(tfm_optimizer *opt, tfm_graph *g, tfm_output *loss,
                                       tfm_variable *const *var_list, int n_vars, tfm_variable *global_step,
                                       const char *name, tfm_status *status);

/* optimizer.apply_gradients(zip(grads, vars), global_step, name): the second half of
 * minimize(), for gradients the caller computed or changed (tfm_gradients w.r.t.
 * tfm_variable_ref, then clipped...). grads[i] may be NULL (that variable is left
 * alone). Errors: INVALID_ARGUMENT (a gradient whose dtype or shape does not fit
 * its variable, naming both; no gradient at all), RESOURCE_EXHAUSTED. */
TFM_API tfm_op *tfm_optimizer_apply_gradients(tfm_optimizer *opt, tfm_graph *g, tfm_output *const *grads,
                                              tfm_variable *const *vars, int n, tfm_variable *global_step,
                                              const char *name, tfm_status *status);

/* tf.train.get_or_create_global_step: an int64 scalar variable "global_step",
 * not trainable, in the "global_step" collection. Owned by the graph.
 * Errors: INVALID_ARGUMENT (a "global_step" of another kind exists), RESOURCE_EXHAUSTED. */
TFM_API tfm_variable *tfm_train_get_or_create_global_step(tfm_graph *g, tfm_status *status);
/* lr * decay_rate ^ (global_step / decay_steps) (floor of the ratio if staircase):
 * a float scalar output for tfm_optimizer_set_learning_rate_tensor.
 * Errors: INVALID_ARGUMENT (decay_steps <= 0, a non-integer global_step). */
TFM_API tfm_output *tfm_train_exponential_decay(tfm_graph *g, double learning_rate, tfm_output *global_step,
                                                double decay_steps, double decay_rate, int staircase,
                                                const char *name, tfm_status *status);
/* lr / (1 + decay_rate * global_step / decay_steps) (floor of the ratio if staircase).
 * Errors: as tfm_train_exponential_decay. */
TFM_API tfm_output *tfm_train_inverse_time_decay(tfm_graph *g, double learning_rate, tfm_output *global_step,
                                                 double decay_steps, double decay_rate, int staircase,
                                                 const char *name, tfm_status *status);

TFM_END_DECLS

#endif
