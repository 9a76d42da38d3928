/* Optimizers inside the library: the shared minimize() machinery (optimizer.c) and
 * one kind per file (gradient_descent.c, momentum.c, adam.c), shaped like
 * TensorFlow's Optimizer: _create_slots, _prepare, _apply_dense, _finish. */
#ifndef TFM_TRAIN_OPTIMIZER_H
#define TFM_TRAIN_OPTIMIZER_H

#include "graph/graph.h"
#include "tfmini/train.h"

/* A slot variable of one primary variable ("<var>/Momentum", "<var>/Adam"). */
typedef struct slot {
  variable_t *primary;
  variable_t *slot[2];
} slot_t;

typedef struct optimizer_kind {
  const char *name; /* default name scope: "GradientDescent", "Momentum", "Adam" */
  /* Creates the slots of vars (and non-slot variables) if not there yet. */
  tfm_code (*create_slots)(tfm_optimizer *opt, graph_t *g, variable_t *const *vars, int n, tfm_status *st);
  /* Builds the hyperparameter constants under the optimizer's scope. */
  tfm_code (*prepare)(tfm_optimizer *opt, graph_t *g, tfm_status *st);
  /* The update op of one variable, under "<scope>/update_<var>". */
  node_t *(*apply)(tfm_optimizer *opt, graph_t *g, variable_t *var, output_t *grad, tfm_status *st);
  /* Extra ops run after every update (Adam's beta powers), each depending on
   * `updates`; appended to extra (room for 2). */
  tfm_code (*finish)(tfm_optimizer *opt, graph_t *g, node_t *const *updates, int n, node_t **extra,
                     int *n_extra, tfm_status *st);
} optimizer_kind_t;

struct tfm_optimizer {
  const optimizer_kind_t *kind;
  double learning_rate, momentum, beta1, beta2, epsilon;
  bool use_nesterov;
  output_t *learning_rate_tensor; /* set_learning_rate_tensor; NULL = the constant */
  /* Slots, reused by later minimize() calls on the same graph. */
  slot_t *slots;
  int n_slots, cap_slots;
  /* Adam's non-slot variables and the graph they belong to. */
  graph_t *beta_graph;
  variable_t *beta1_power, *beta2_power;
  /* Tensors built by prepare() for the minimize() in progress. */
  output_t *lr_t, *momentum_t, *beta1_t, *beta2_t, *epsilon_t;
  tfm_dtype dtype; /* of the hyperparameter constants: the first variable's */
};

extern const optimizer_kind_t optimizer_gradient_descent;
extern const optimizer_kind_t optimizer_momentum;
extern const optimizer_kind_t optimizer_adam;

tfm_optimizer *optimizer_new(const optimizer_kind_t *kind, tfm_status *st);
/* False (INVALID_ARGUMENT naming the optimizer and the parameter) when a
 * hyperparameter is NaN or infinite: such a rate would silently ruin every weight. */
bool optimizer_hyper_ok(const optimizer_kind_t *kind, const char *param, double value, tfm_status *st);

/* The learning rate for prepare(): the tensor if one was set, else a Const
 * "learning_rate" of opt->dtype. */
output_t *optimizer_learning_rate(tfm_optimizer *opt, graph_t *g, tfm_status *st);
/* A scalar Const of opt->dtype named `name` under the current scope. */
output_t *optimizer_constant(tfm_optimizer *opt, graph_t *g, double value, const char *name, tfm_status *st);
/* x cast to dtype (x itself when it already has it), as math_ops.cast. */
output_t *optimizer_cast(graph_t *g, output_t *x, tfm_dtype dtype, tfm_status *st);
/* The slot record of var, or NULL. Its variables are checked to still belong to g. */
slot_t *optimizer_find_slot(tfm_optimizer *opt, graph_t *g, variable_t *var);
tfm_code optimizer_add_slot(tfm_optimizer *opt, variable_t *primary, variable_t *a, variable_t *b,
                            tfm_status *st);
/* Zero-filled slot variable named "<primary op name>/<op_name>" (made unique at the
 * root scope, as TF's slot_creator), not trainable, in "variables". */
variable_t *optimizer_zeros_slot(graph_t *g, variable_t *primary, const char *op_name, tfm_status *st);

/* An Apply* op node: inputs as given, attrs T (the var's dtype), use_locking=false,
 * _class=[loc:@<var>] and, when has_nesterov, use_nesterov. Named `type` under the
 * current scope. */
node_t *optimizer_apply_op(graph_t *g, const char *type, output_t *const *inputs, int n_inputs,
                           bool has_nesterov, bool nesterov, tfm_status *st);

/* ---- variables the training machinery creates (train_variables.c) ---- */
/* A non-trainable variable as tf.Variable / get_variable build it, with exact TF
 * names: `base` made unique under the current scope (or at the root when
 * at_root), its initializer Const "<name>/<init_suffix>" holding `initial`
 * (copied), VariableV2 "<name>", "<name>/Assign", "<name>/read". Added to
 * "variables". */
variable_t *train_variable_new(graph_t *g, const char *base, bool at_root, tensor_t *initial,
                               const char *init_suffix, tfm_status *st);

/* "loc:@<op_name>", the colocation attr TF puts on a variable's ops (mem_alloc'ed). */
char *train_colocation(const char *op_name, tfm_status *st);

#endif
