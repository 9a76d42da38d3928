/* Numeric kernels over tensors: the only place that loops over elements.
 *
 * Contract for every function here:
 *  - Outputs are preallocated by the caller with the right dtype and shape (the op
 *    layer infers shapes); kernels check what they rely on and return
 *    INVALID_ARGUMENT naming the kernel and the shapes when it does not hold.
 *  - Inputs may be wrapped buffers of any alignment. An output may alias an input
 *    only where a function says so (element-wise ops allow out == a or b when
 *    shapes are equal).
 *  - Large work is split into tasks whose boundaries depend only on sizes, and run
 *    over core/threadpool: results are bit-identical for any thread count.
 *  - SIMD variants (baseline, AVX2+FMA, AVX-512) are chosen with core/cpu.h at run
 *    time; all variants agree with a float64 reference within float rounding.
 *  - Float types: float32 and float64 everywhere; integer types where TensorFlow
 *    has the op (noted per function).
 */
#ifndef TFM_KERNELS_KERNELS_H
#define TFM_KERNELS_KERNELS_H

#include <stdbool.h>

#include "core/tensor.h"

/* ---- element-wise ---------------------------------------------------------- */

typedef enum ew_unary {
  EW_IDENTITY, EW_NEG, EW_ABS, EW_SIGN, EW_SQUARE, EW_SQRT, EW_RSQRT, EW_RECIPROCAL,
  EW_EXP, EW_LOG, EW_LOG1P, EW_EXPM1, EW_RELU, EW_SIGMOID, EW_TANH, EW_SOFTPLUS,
  EW_FLOOR, EW_CEIL, EW_ROUND, EW_SIN, EW_COS,
  EW_LOGICAL_NOT, /* bool only */
  EW_UNARY_COUNT
} ew_unary_t;

typedef enum ew_binary {
  EW_ADD, EW_SUB, EW_MUL, EW_DIV, EW_POW, EW_MAXIMUM, EW_MINIMUM, EW_SQUARED_DIFF,
  EW_FLOORDIV, EW_FLOORMOD,
  /* gradient helpers: a is the forward output/input, b the incoming gradient */
  EW_RELU_GRAD,     /* b * (a > 0), a = relu's input (or output: same sign) */
  EW_SIGMOID_GRAD,  /* b * a * (1 - a), a = sigmoid's output */
  EW_TANH_GRAD,     /* b * (1 - a*a), a = tanh's output */
  EW_SQRT_GRAD,     /* b * 0.5 / a, a = sqrt's output */
  EW_RSQRT_GRAD,    /* b * -0.5 * a^3, a = rsqrt's output */
  EW_RECIPROCAL_GRAD, /* b * -a*a, a = reciprocal's output */
  /* comparisons: output dtype bool */
  EW_LESS, EW_LESS_EQUAL, EW_GREATER, EW_GREATER_EQUAL, EW_EQUAL, EW_NOT_EQUAL,
  /* bool inputs and output */
  EW_LOGICAL_AND, EW_LOGICAL_OR,
  EW_BINARY_COUNT
} ew_binary_t;

const char *ew_unary_name(ew_unary_t op);
const char *ew_binary_name(ew_binary_t op);
/* Is the op defined for this dtype? (float ops on float32/64; integer types for
 * NEG ABS SIGN SQUARE and ADD SUB MUL DIV MAXIMUM MINIMUM FLOORDIV FLOORMOD SQUARED_DIFF
 * and comparisons; bool for logical ops and EQUAL/NOT_EQUAL.) */
bool ew_unary_supports(ew_unary_t op, tfm_dtype dt);
bool ew_binary_supports(ew_binary_t op, tfm_dtype dt);
/* Output dtype of a binary op on inputs of dtype dt (bool for comparisons). */
tfm_dtype ew_binary_out_dtype(ew_binary_t op, tfm_dtype dt);

/* y = op(x); y has x's dtype and element count. y may be x. */
tfm_code kern_unary(ew_unary_t op, const tensor_t *x, tensor_t *y, tfm_status *st);
/* out = op(a, b) with NumPy broadcasting; out's shape is the broadcast shape.
 * a and b have the same dtype. As TensorFlow: Maximum/Minimum propagate NaN,
 * FloorDiv is floor(a / b), FloorMod takes b's sign, integer Div truncates and
 * integer arithmetic wraps; an integer divisor with a zero is INVALID_ARGUMENT. */
tfm_code kern_binary(ew_binary_t op, const tensor_t *a, const tensor_t *b, tensor_t *out,
                     tfm_status *st);
/* The inner loops kern_unary and kern_binary run, for kernels a plan prepares
 * once (ops/registry.h, kprep): y[i] = op(x[i]) and out[i] = op(a[i*a_step],
 * b[i*b_step]) with steps 0 or 1, over any alignment; out may be an input whose
 * step is 1. Called on one chunk of at most EW_SMALL_ELEMS elements, they give
 * the results of kern_unary/kern_binary (no check: integer division by zero is
 * the caller's). NULL when the op does not support the dtype. */
#define EW_SMALL_ELEMS ((int64_t)32768)
typedef void (*kern_unary_loop_fn)(const void *x, void *y, int64_t n);
typedef void (*kern_binary_loop_fn)(const void *a, const void *b, void *out, int64_t n,
                                    int a_step, int b_step);
kern_unary_loop_fn kern_unary_loop(ew_unary_t op, tfm_dtype dt);
kern_binary_loop_fn kern_binary_loop(ew_binary_t op, tfm_dtype dt);

/* out = cast of x to out->dtype (any numeric/bool pair; float->int truncates
 * toward zero like TensorFlow, x != 0 -> true for bool). Where TensorFlow leaves
 * it to the platform, float->int saturates and NaN becomes 0. */
tfm_code kern_cast(const tensor_t *x, tensor_t *out, tfm_status *st);
/* Every element of out = value (a scalar tensor of out's dtype). */
tfm_code kern_fill(const tensor_t *value, tensor_t *out, tfm_status *st);
/* out = x with dims permuted: out.dim[i] = x.dim[perm[i]]. Any dtype but string. */
tfm_code kern_transpose(const tensor_t *x, const int *perm, tensor_t *out, tfm_status *st);
/* out = x broadcast to out's shape (Tile/BroadcastTo-style; x's shape must
 * broadcast to out's). Any dtype but string. */
tfm_code kern_broadcast_to(const tensor_t *x, tensor_t *out, tfm_status *st);
/* out = alpha * x + y in one pass (float32/64, all same shape); out may be x or y.
 * Same result as Mul then Add (alpha rounded to the dtype first, no FMA). */
tfm_code kern_axpy(double alpha, const tensor_t *x, const tensor_t *y, tensor_t *out,
                   tfm_status *st);
/* out = sum of inputs (AddN), all same dtype and shape, added in input order.
 * out may be one of the inputs. Numeric dtypes. */
tfm_code kern_add_n(const tensor_t *const *xs, int n, tensor_t *out, tfm_status *st);
/* y = select(cond, a, b) elementwise, all same shape (cond bool). As TensorFlow
 * 1.x, cond may also be a scalar, or a vector choosing whole rows of a and b.
 * out may be a or b. */
tfm_code kern_select(const tensor_t *cond, const tensor_t *a, const tensor_t *b, tensor_t *out,
                     tfm_status *st);

/* ---- reductions ------------------------------------------------------------- */

typedef enum reduce_op { REDUCE_SUM, REDUCE_MEAN, REDUCE_MAX, REDUCE_MIN, REDUCE_PROD } reduce_op_t;

/* Reduces x over the axes where reduce_axis[i] is true (i < x's rank). out holds
 * the remaining dims in order (keep_dims only changes the shape, not the layout,
 * so out may have size-1 dims in the reduced places or not: only its element
 * count is checked). Sums use blocked pairwise accumulation: a sum of 8M float32
 * agrees with a float64 reference to 1e-6 relative. All numeric dtypes.
 * Reducing an empty set gives 0 (sum), NaN (mean), 1 (prod), -inf/+inf (max/min;
 * the dtype's lowest/highest for integers). */
tfm_code kern_reduce(reduce_op_t op, const tensor_t *x, const bool *reduce_axis, tensor_t *out,
                     tfm_status *st);
/* The loop kern_reduce runs for a sum over every element of a float32 (float64)
 * input of 2 to KERN_SUM_ONE_TASK elements (all dims but size-1 ones reduced),
 * for kernels a plan prepares once: same result, no checks. */
#define KERN_SUM_ONE_TASK ((int64_t)1 << 16)
typedef float (*kern_sum_f32_fn)(const float *x, int64_t n);
typedef double (*kern_sum_f64_fn)(const double *x, int64_t n);
kern_sum_f32_fn kern_sum_f32_loop(void);
kern_sum_f64_fn kern_sum_f64_loop(void);
/* For ArgMax/ArgMin over one axis: out (int64) holds indices. */
tfm_code kern_arg_reduce(bool is_max, const tensor_t *x, int axis, tensor_t *out, tfm_status *st);

/* ---- linear algebra and neural-network kernels --------------------------------- */

/* out[M,N] = op(a) x op(b), op = transpose when the flag is set. 2-D, float32/64.
 * Cache-blocked with SIMD micro-kernels. out must not alias a or b. */
tfm_code kern_matmul(const tensor_t *a, const tensor_t *b, bool transpose_a, bool transpose_b,
                     tensor_t *out, tfm_status *st);
/* Batched: a[..., M, K] x b[..., K, N] with equal batch dims (BatchMatMul). */
tfm_code kern_batch_matmul(const tensor_t *a, const tensor_t *b, bool adj_a, bool adj_b,
                           tensor_t *out, tfm_status *st);

typedef enum padding { PADDING_VALID, PADDING_SAME } padding_t;

/* Output size and leading padding of one spatial dim, as TensorFlow computes them. */
tfm_code conv_output_size(int64_t in, int64_t window, int64_t stride, padding_t pad,
                          int64_t *out, int64_t *pad_before, tfm_status *st);

/* NHWC input [N,H,W,C], filter [KH,KW,C,O] -> out [N,OH,OW,O]; strides (h, w). */
tfm_code kern_conv2d(const tensor_t *input, const tensor_t *filter, int stride_h, int stride_w,
                     padding_t pad, tensor_t *out, tfm_status *st);
/* Gradient w.r.t. the input: out has the input's shape. */
tfm_code kern_conv2d_backprop_input(const tensor_t *filter, const tensor_t *out_grad,
                                    int stride_h, int stride_w, padding_t pad,
                                    tensor_t *in_grad, tfm_status *st);
/* Gradient w.r.t. the filter: out has the filter's shape. */
tfm_code kern_conv2d_backprop_filter(const tensor_t *input, const tensor_t *out_grad,
                                     int stride_h, int stride_w, padding_t pad,
                                     tensor_t *filter_grad, tfm_status *st);
/* NHWC max pooling with window (kh, kw) and strides (sh, sw). */
tfm_code kern_max_pool(const tensor_t *input, int kh, int kw, int sh, int sw, padding_t pad,
                       tensor_t *out, tfm_status *st);
/* Routes out_grad to the argmax of each window (first max wins, as TensorFlow). */
tfm_code kern_max_pool_grad(const tensor_t *input, const tensor_t *out_grad, int kh, int kw,
                            int sh, int sw, padding_t pad, tensor_t *in_grad, tfm_status *st);
/* out = x + bias over the last dim (NHWC BiasAdd); out may be x. */
tfm_code kern_bias_add(const tensor_t *x, const tensor_t *bias, tensor_t *out, tfm_status *st);
/* Softmax / log-softmax over the last dim, numerically stable. out may be x. */
tfm_code kern_softmax(const tensor_t *x, bool log_softmax, tensor_t *out, tfm_status *st);

/* ---- random numbers ------------------------------------------------------------ */

/* Counter-based generator (Philox-4x32-10): the same (key, counter) gives the same
 * numbers on any machine and any thread count. Ops keep the counter between runs. */
typedef struct philox {
  uint32_t key[2];
  uint64_t counter; /* advanced by each fill */
} philox_t;

void philox_seed(philox_t *g, uint64_t seed, uint64_t seed2);
/* Fills out (float32/64) with U[0,1), N(0,1), or N(0,1) truncated to +-2 sd. */
tfm_code kern_random_uniform(philox_t *g, tensor_t *out, tfm_status *st);
tfm_code kern_random_normal(philox_t *g, tensor_t *out, tfm_status *st);
tfm_code kern_truncated_normal(philox_t *g, tensor_t *out, tfm_status *st);
/* int32/int64 uniform in [lo, hi). */
tfm_code kern_random_uniform_int(philox_t *g, int64_t lo, int64_t hi, tensor_t *out,
                                 tfm_status *st);
/* The raw Philox-4x32-10 block function (for known-answer tests). */
void philox4x32_10(const uint32_t key[2], const uint32_t ctr[4], uint32_t out[4]);

#endif
