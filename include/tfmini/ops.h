/* libtfmini: typed op builders and variables.
 *
 * Every builder adds one op (or a few) to `graph` (NULL = the default graph) and
 * returns its output, owned by the graph. `name` is the base name (NULL = the op
 * type, e.g. "AddV2"); it is prefixed with the name scope and made unique.
 * Shapes are inferred as ops are added: a mismatch fails here, naming both ops
 * and both shapes (INVALID_ARGUMENT). An input that is NULL (a previous builder
 * failed) makes the builder return NULL; if the status already holds an error it
 * is kept, so a chain of builders can be checked once at the end.
 * Binary element-wise builders broadcast as NumPy does.
 *
 * Errors (every builder): INVALID_ARGUMENT (an input of the wrong dtype or shape,
 * a bad attr, naming the op and the shapes), NOT_FOUND / ALREADY_EXISTS for
 * variables as stated, RESOURCE_EXHAUSTED. Thread safety: builders on one graph
 * are serialised by the graph; build from one thread while sessions run it.
 */
#ifndef TFMINI_OPS_H
#define TFMINI_OPS_H

#include "graph.h"

TFM_BEGIN_DECLS

/* ---- constants and placeholders ---- */
/* Const with a copy of `value`'s contents. */
TFM_API tfm_output *tfm_constant(tfm_graph *g, tfm_tensor *value, const char *name, tfm_status *status);
/* A scalar Const of `dtype` (numeric or bool) holding `value`. */
TFM_API tfm_output *tfm_scalar(tfm_graph *g, double value, tfm_dtype dtype, const char *name, tfm_status *status);
/* A float32 Const of shape dims[0..rank-1] from `values` (count = product of dims). */
TFM_API tfm_output *tfm_constant_f32(tfm_graph *g, const float *values, const int64_t *dims, int rank,
                                     const char *name, tfm_status *status);
/* An int32 vector Const (axes, shapes, permutations). */
TFM_API tfm_output *tfm_constant_i32(tfm_graph *g, const int32_t *values, int64_t n, const char *name,
                                     tfm_status *status);
/* Placeholder; dims may hold -1 (unknown size); rank -1 = unknown rank. */
TFM_API tfm_output *tfm_placeholder(tfm_graph *g, tfm_dtype dtype, const int64_t *dims, int rank,
                                    const char *name, tfm_status *status);

/* ---- element-wise math ---- */
/* tf.add(a, b): AddV2, a + b. */
TFM_API tfm_output *tfm_add(tfm_graph *g, tfm_output *a, tfm_output *b, const char *name, tfm_status *status);
/* tf.subtract(a, b): Sub, a - b. */
TFM_API tfm_output *tfm_sub(tfm_graph *g, tfm_output *a, tfm_output *b, const char *name, tfm_status *status);
/* tf.multiply(a, b): Mul, a * b. */
TFM_API tfm_output *tfm_mul(tfm_graph *g, tfm_output *a, tfm_output *b, const char *name, tfm_status *status);
/* tf.divide(a, b): RealDiv for floats, truncating Div for integers. */
TFM_API tfm_output *tfm_div(tfm_graph *g, tfm_output *a, tfm_output *b, const char *name, tfm_status *status);
/* tf.pow(a, b): Pow, a ** b. */
TFM_API tfm_output *tfm_pow(tfm_graph *g, tfm_output *a, tfm_output *b, const char *name, tfm_status *status);
/* tf.maximum(a, b): Maximum, element-wise larger (the gradient goes to a on ties). */
TFM_API tfm_output *tfm_maximum(tfm_graph *g, tfm_output *a, tfm_output *b, const char *name, tfm_status *status);
/* tf.minimum(a, b): Minimum, element-wise smaller. */
TFM_API tfm_output *tfm_minimum(tfm_graph *g, tfm_output *a, tfm_output *b, const char *name, tfm_status *status);
/* tf.negative(x): Neg, -x. */
TFM_API tfm_output *tfm_neg(tfm_graph *g, tfm_output *x, const char *name, tfm_status *status);
/* tf.square(x): Square, x * x. */
TFM_API tfm_output *tfm_square(tfm_graph *g, tfm_output *x, const char *name, tfm_status *status);
/* tf.sqrt(x): Sqrt. */
TFM_API tfm_output *tfm_sqrt(tfm_graph *g, tfm_output *x, const char *name, tfm_status *status);
/* tf.exp(x): Exp. */
TFM_API tfm_output *tfm_exp(tfm_graph *g, tfm_output *x, const char *name, tfm_status *status);
/* tf.log(x): Log (natural). */
TFM_API tfm_output *tfm_log(tfm_graph *g, tfm_output *x, const char *name, tfm_status *status);
/* tf.add_n(xs): AddN, the sum of n tensors of one shape and dtype. */
TFM_API tfm_output *tfm_add_n(tfm_graph *g, tfm_output *const *xs, int n, const char *name, tfm_status *status);
/* tf.cast(x, dtype): Cast (float to integer truncates toward zero; bool is 0/1). */
TFM_API tfm_output *tfm_cast(tfm_graph *g, tfm_output *x, tfm_dtype dtype, const char *name, tfm_status *status);

/* ---- reductions and linear algebra ---- */
/* axes NULL with n_axes 0 = all axes; negative axes count from the end. */
/* tf.reduce_sum(x, axes, keepdims): Sum over the axes (int32 reduction indices). */
TFM_API tfm_output *tfm_reduce_sum(tfm_graph *g, tfm_output *x, const int32_t *axes, int n_axes, int keep_dims, const char *name, tfm_status *status);
/* tf.reduce_mean: Mean over the axes (integer means truncate, as TF). */
TFM_API tfm_output *tfm_reduce_mean(tfm_graph *g, tfm_output *x, const int32_t *axes, int n_axes, int keep_dims, const char *name, tfm_status *status);
/* tf.reduce_max: Max over the axes (NaN propagates). */
TFM_API tfm_output *tfm_reduce_max(tfm_graph *g, tfm_output *x, const int32_t *axes, int n_axes, int keep_dims, const char *name, tfm_status *status);
/* tf.reduce_min: Min over the axes (NaN propagates). */
TFM_API tfm_output *tfm_reduce_min(tfm_graph *g, tfm_output *x, const int32_t *axes, int n_axes, int keep_dims, const char *name, tfm_status *status);
/* tf.reduce_prod: Prod over the axes. */
TFM_API tfm_output *tfm_reduce_prod(tfm_graph *g, tfm_output *x, const int32_t *axes, int n_axes, int keep_dims, const char *name, tfm_status *status);
/* tf.argmax(x, axis): int64 indices of the largest element along `axis` (first on ties). */
TFM_API tfm_output *tfm_argmax(tfm_graph *g, tfm_output *x, int axis, const char *name, tfm_status *status);
/* tf.matmul(a, b, transpose_a, transpose_b): MatMul of two rank-2 tensors. */
TFM_API tfm_output *tfm_matmul(tfm_graph *g, tfm_output *a, tfm_output *b, int transpose_a, int transpose_b, const char *name, tfm_status *status);

/* ---- array ops ---- */
/* tf.identity(x): Identity, the same value (no copy at run time). */
TFM_API tfm_output *tfm_identity(tfm_graph *g, tfm_output *x, const char *name, tfm_status *status);
/* tf.stop_gradient(x): StopGradient, x forward, no gradient flows back through it. */
TFM_API tfm_output *tfm_stop_gradient(tfm_graph *g, tfm_output *x, const char *name, tfm_status *status);
/* dims may hold one -1 (inferred). */
TFM_API tfm_output *tfm_reshape(tfm_graph *g, tfm_output *x, const int64_t *dims, int rank, const char *name, tfm_status *status);
/* perm NULL = reverse the dims. */
TFM_API tfm_output *tfm_transpose(tfm_graph *g, tfm_output *x, const int32_t *perm, int n, const char *name, tfm_status *status);
/* tf.expand_dims(x, axis): ExpandDims, a size-1 dim inserted at axis (negative counts from the end). */
TFM_API tfm_output *tfm_expand_dims(tfm_graph *g, tfm_output *x, int axis, const char *name, tfm_status *status);
/* axes NULL = every size-1 dim. */
TFM_API tfm_output *tfm_squeeze(tfm_graph *g, tfm_output *x, const int32_t *axes, int n_axes, const char *name, tfm_status *status);
/* tf.shape(x): Shape, x's dims as an int32 vector computed at run time. */
TFM_API tfm_output *tfm_shape(tfm_graph *g, tfm_output *x, const char *name, tfm_status *status);
/* Fill(dims, value): dims an int32 vector output, value a scalar output. */
TFM_API tfm_output *tfm_fill(tfm_graph *g, tfm_output *dims, tfm_output *value, const char *name, tfm_status *status);
/* tf.zeros(dims, dtype): a Fill of 0. */
TFM_API tfm_output *tfm_zeros(tfm_graph *g, const int64_t *dims, int rank, tfm_dtype dtype, const char *name, tfm_status *status);
/* tf.ones(dims, dtype): a Fill of 1. */
TFM_API tfm_output *tfm_ones(tfm_graph *g, const int64_t *dims, int rank, tfm_dtype dtype, const char *name, tfm_status *status);

/* ---- neural networks ---- */
/* tf.nn.relu(x): Relu, max(x, 0). */
TFM_API tfm_output *tfm_relu(tfm_graph *g, tfm_output *x, const char *name, tfm_status *status);
/* tf.sigmoid(x): Sigmoid, 1 / (1 + exp(-x)). */
TFM_API tfm_output *tfm_sigmoid(tfm_graph *g, tfm_output *x, const char *name, tfm_status *status);
/* tf.tanh(x): Tanh. */
TFM_API tfm_output *tfm_tanh(tfm_graph *g, tfm_output *x, const char *name, tfm_status *status);
/* tf.nn.softmax(logits): Softmax over the last dim. */
TFM_API tfm_output *tfm_softmax(tfm_graph *g, tfm_output *logits, const char *name, tfm_status *status);
/* tf.nn.log_softmax(logits): LogSoftmax over the last dim (stable). */
TFM_API tfm_output *tfm_log_softmax(tfm_graph *g, tfm_output *logits, const char *name, tfm_status *status);
/* tf.nn.softmax_cross_entropy_with_logits: per-row loss [batch] of logits and labels
 * [batch, classes] (output 0 of SoftmaxCrossEntropyWithLogits). Differentiable in both. */
TFM_API tfm_output *tfm_softmax_cross_entropy_with_logits(tfm_graph *g, tfm_output *labels, tfm_output *logits,
                                                          const char *name, tfm_status *status);
/* tf.nn.sparse_softmax_cross_entropy_with_logits: labels are class indices [batch]
 * (int32 or int64; a label outside [0, classes) fails the run, naming the row). */
TFM_API tfm_output *tfm_sparse_softmax_cross_entropy_with_logits(tfm_graph *g, tfm_output *labels,
                                                                 tfm_output *logits, const char *name,
                                                                 tfm_status *status);
/* NHWC input, HWIO filter; padding "SAME" or "VALID". */
TFM_API tfm_output *tfm_conv2d(tfm_graph *g, tfm_output *input, tfm_output *filter, int stride_h, int stride_w,
                               const char *padding, const char *name, tfm_status *status);
/* tf.nn.bias_add(x, bias): BiasAdd, bias (a vector) added along x's last dim (NHWC). */
TFM_API tfm_output *tfm_bias_add(tfm_graph *g, tfm_output *x, tfm_output *bias, const char *name, tfm_status *status);
/* tf.nn.max_pool(input, ksize, strides, padding): MaxPool over NHWC windows. */
TFM_API tfm_output *tfm_max_pool(tfm_graph *g, tfm_output *input, int ksize_h, int ksize_w, int stride_h, int stride_w,
                                 const char *padding, const char *name, tfm_status *status);

/* ---- random (seed < 0: none given; the graph seed and op counter decide, as in TF) ---- */
/* tf.random_normal: RandomStandardNormal scaled and shifted; new values each run. */
TFM_API tfm_output *tfm_random_normal(tfm_graph *g, const int64_t *dims, int rank, tfm_dtype dtype, double mean,
                                      double stddev, int64_t seed, const char *name, tfm_status *status);
/* tf.truncated_normal: TruncatedNormal (values beyond 2 stddev redrawn), scaled and shifted. */
TFM_API tfm_output *tfm_truncated_normal(tfm_graph *g, const int64_t *dims, int rank, tfm_dtype dtype, double mean,
                                         double stddev, int64_t seed, const char *name, tfm_status *status);
/* tf.random_uniform: RandomUniform in [minval, maxval). */
TFM_API tfm_output *tfm_random_uniform(tfm_graph *g, const int64_t *dims, int rank, tfm_dtype dtype, double minval,
                                       double maxval, int64_t seed, const char *name, tfm_status *status);

/* ---- control ---- */
/* tf.no_op(): a NoOp, a target that does nothing (control dependencies gather on it). */
TFM_API tfm_op *tfm_no_op(tfm_graph *g, const char *name, tfm_status *status);
/* tf.group: a NoOp that depends on every op. */
TFM_API tfm_op *tfm_group(tfm_graph *g, tfm_op *const *ops, int n, const char *name, tfm_status *status);

/* ---- variables ---- */
typedef enum tfm_initializer {
  TFM_INIT_ZEROS = 0,
  TFM_INIT_ONES = 1,
  TFM_INIT_CONSTANT = 2,          /* value a */
  TFM_INIT_RANDOM_NORMAL = 3,     /* mean a, stddev b */
  TFM_INIT_TRUNCATED_NORMAL = 4,  /* mean a, stddev b */
  TFM_INIT_RANDOM_UNIFORM = 5,    /* minval a, maxval b */
  TFM_INIT_GLOROT_UNIFORM = 6     /* limit sqrt(6 / (fan_in + fan_out)) */
} tfm_initializer;

/* tf.Variable(initial_value, name, trainable): VariableV2 + Assign + "<name>/read";
 * added to the "variables" (and "trainable_variables") collections. */
TFM_API tfm_variable *tfm_variable_new(tfm_graph *g, tfm_output *initial_value, int trainable,
                                       const char *name, tfm_status *status);
/* tf.get_variable(name, shape, dtype, initializer, trainable) under the current
 * variable scope. With reuse on, returns the existing variable (INVALID_ARGUMENT if
 * the shape or dtype differ; NOT_FOUND if absent); without, ALREADY_EXISTS if taken. */
TFM_API tfm_variable *tfm_get_variable(tfm_graph *g, const char *name, tfm_dtype dtype, const int64_t *dims, int rank,
                                       tfm_initializer init, double a, double b, int64_t seed, int trainable,
                                       tfm_status *status);
/* Parts of a variable, all owned by its graph and valid while it lives (never fail;
 * NULL for a NULL variable): the VariableV2 op; its op name; VariableV2:0, the
 * storage (what Assign takes); "<name>/read:0", the value to compute with; the
 * "<name>/Assign" initializer op. */
TFM_API tfm_op *tfm_variable_op(const tfm_variable *v);
TFM_API const char *tfm_variable_name(const tfm_variable *v);
TFM_API tfm_output *tfm_variable_ref(const tfm_variable *v);
TFM_API tfm_output *tfm_variable_value(const tfm_variable *v);
TFM_API tfm_op *tfm_variable_initializer(const tfm_variable *v);
/* Whether the variable is in the "trainable_variables" collection (1) or not (0). */
TFM_API int tfm_variable_trainable(const tfm_variable *v);
/* Number of variables in the graph and the i-th one (creation order). */
TFM_API int tfm_graph_num_variables(tfm_graph *g);
TFM_API tfm_variable *tfm_graph_variable_at(tfm_graph *g, int index);
/* Looks a variable up by its op name. Errors: NOT_FOUND. */
TFM_API tfm_variable *tfm_graph_variable_by_name(tfm_graph *g, const char *name, tfm_status *status);

/* Assign / AssignAdd / AssignSub to a variable; returns the new value. */
TFM_API tfm_output *tfm_assign(tfm_graph *g, tfm_variable *v, tfm_output *value, const char *name, tfm_status *status);
TFM_API tfm_output *tfm_assign_add(tfm_graph *g, tfm_variable *v, tfm_output *value, const char *name, tfm_status *status);
TFM_API tfm_output *tfm_assign_sub(tfm_graph *g, tfm_variable *v, tfm_output *value, const char *name, tfm_status *status);
/* tf.global_variables_initializer(): a NoOp "init" grouping every initializer. */
TFM_API tfm_op *tfm_global_variables_initializer(tfm_graph *g, tfm_status *status);
/* tf.variables_initializer(vars). */
TFM_API tfm_op *tfm_variables_initializer(tfm_graph *g, tfm_variable *const *vars, int n, const char *name,
                                          tfm_status *status);

TFM_END_DECLS

#endif
