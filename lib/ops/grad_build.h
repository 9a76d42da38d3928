/* Short builders for gradient functions of lib/ops: each adds one op with a
 * generated name in the current scope and returns its output. Every one returns
 * NULL when an input is NULL (an earlier step failed, its error already in `st`),
 * so a gradient can chain calls and check the final result once. */
#ifndef TFM_OPS_GRAD_BUILD_H
#define TFM_OPS_GRAD_BUILD_H

#include "ops/build.h"

output_t *gb_unary(graph_t *g, const char *type, output_t *x, tfm_status *st);
output_t *gb_binary(graph_t *g, const char *type, output_t *a, output_t *b, tfm_status *st);
/* A scalar Const of like's dtype. */
output_t *gb_scalar_like(graph_t *g, double v, const output_t *like, tfm_status *st);
/* Sum/Mean/Max/Min/Prod of x over `axes` (an int vector output). */
output_t *gb_reduce(graph_t *g, const char *type, output_t *x, output_t *axes, bool keep_dims,
                    tfm_status *st);
/* The same over constant axes. */
output_t *gb_reduce_axes(graph_t *g, const char *type, output_t *x, const int32_t *axes, int n,
                         bool keep_dims, tfm_status *st);
/* Reshape to a constant, fully known shape. */
output_t *gb_reshape_to(graph_t *g, output_t *x, const shape_t *s, tfm_status *st);
/* Cast (returns x itself when it already has dtype `to`). */
output_t *gb_cast(graph_t *g, output_t *x, tfm_dtype to, tfm_status *st);
output_t *gb_matmul(graph_t *g, output_t *a, output_t *b, bool ta, bool tb, tfm_status *st);
/* Select(cond, a, b) with T set from a (not from the bool condition). */
output_t *gb_select(graph_t *g, output_t *cond, output_t *a, output_t *b, tfm_status *st);

#endif
