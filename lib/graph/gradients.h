/* Automatic differentiation inside the library (tf.gradients plus the gating the
 * optimizers ask for). The public entry point is tfm_gradients (tfmini/train.h). */
#ifndef TFM_GRAPH_GRADIENTS_H
#define TFM_GRAPH_GRADIENTS_H

#include "graph/graph.h"

/* Adds the gradient ops of sum(ys) w.r.t. each x under a new "gradients" scope and
 * writes them to dxs (NULL where no path connects). grad_ys may be NULL or hold
 * NULLs (ones). With `gate`, each op's input gradients pass through
 * tuple/control_dependency Identities that wait for all of them (TF's GATE_OP).
 * Errors: INVALID_ARGUMENT (arguments; an op on the path without a gradient, named),
 * errors of the gradient functions prefixed with the op, RESOURCE_EXHAUSTED.
 * On error dxs are all NULL (ops already added stay in the graph, as in TF). */
tfm_code gradients_build(graph_t *g, output_t *const *ys, int n_ys, output_t *const *xs, int n_xs,
                         output_t *const *grad_ys, bool gate, output_t **dxs, tfm_status *st);

#endif
