/* Shared checks for the op-family suites (ops_math, ops_nn): tensors from double
 * arrays, one-shot session runs, and the gradient check of an op's gradient
 * function against central finite differences in float64. */
#ifndef TFM_TESTS_OP_CHECK_H
#define TFM_TESTS_OP_CHECK_H

#include <stdbool.h>

#include "ops/registry.h"
#include "tfmini/tfmini.h"

/* A float64 (or float32 when dt is TFM_FLOAT) tensor from vals (NULL: zeros). */
tensor_t *oc_tensor(tfm_dtype dt, const int64_t *dims, int rank, const double *vals);
/* A float64 tensor of uniform values in [lo, hi) from a fixed sequence `seed`. */
tensor_t *oc_random(const int64_t *dims, int rank, double lo, double hi, unsigned seed);
/* Runs `g` once: feeds xs[i] = vals[i], fetches y. Returns a new reference or NULL
 * (the error in st). */
tensor_t *oc_run(graph_t *g, output_t *const *xs, tensor_t *const *vals, int n, output_t *y,
                 tfm_status *st);
/* Element i as double (float32/float64/int tensors). */
double oc_at(const tensor_t *t, int64_t i);

/* Checks the gradient function of `op` (output `out`): builds dy as a float64
 * placeholder, calls op->def->gradient under "gradients/<op>_grad", runs the dx
 * of every placeholder xs[k] (each a direct input of op, fed vals[k], float64),
 * and compares with the central difference of sum(dy * y) w.r.t. each element.
 * Fails the test (ck_assert) naming op, input and element on a mismatch larger
 * than tol * (1 + |numeric|). */
void oc_check_gradient(graph_t *g, node_t *op, int out, output_t *const *xs, tensor_t *const *vals,
                       int n, double tol);

/* Adds an op through graph_add_op, failing the test on error. */
node_t *oc_op(graph_t *g, const char *type, output_t *const *in, int n_in, const attr_t *attrs,
              int n_attrs, tfm_status *st);
/* A float64 placeholder of the given shape (dims may hold -1). */
output_t *oc_placeholder(graph_t *g, const int64_t *dims, int rank, const char *name, tfm_status *st);
/* A placeholder with the same rank as `rank` but all dims unknown. */
output_t *oc_placeholder_dynamic(graph_t *g, int rank, const char *name, tfm_status *st);

#endif
