/* Element-wise inner loops: the template behind ew_simd.h's tables.
 *
 * Included by exactly one .c file per SIMD level, which defines EW_LOOPS_TABLE
 * (the table's name) and is compiled with that level's -m flags. The loops are
 * plain C that GCC vectorises for the flags in force: "GCC ivdep" tells it the
 * iterations are independent (out may equal an input exactly, which is allowed,
 * but never overlap it partly), so no run-time alias checks are emitted.
 *
 * The per-type bodies live in ew_loops_float.h (float32, float64),
 * ew_loops_int.h (int32, int64) and ew_loops_small.h (uint8, bool), each
 * included once per type with EW_T (element type) and EW_SFX (name prefix).
 */
#ifndef EW_LOOPS_TABLE
#error "define EW_LOOPS_TABLE before including ew_loops.h"
#endif

#include <math.h>
#include <stdint.h>

#include "kernels/ew_simd.h"

#define EW_CAT2(a, b) a##_##b
#define EW_CAT(a, b) EW_CAT2(a, b)
#define EW_FN(name) EW_CAT(EW_SFX, name)
#define EW_IVDEP _Pragma("GCC ivdep")

/* Defines `static void fname(x, y, n)`: y[i] = EXPR with x bound to x[i]. */
#define EW_UNARY(fname, T, EXPR)                                   \
  static void fname(const void *px, void *py, int64_t n) {         \
    typedef T elem_t EW_ANY_ALIGN;                                 \
    const elem_t *xs = px;                                         \
    elem_t *ys = py;                                               \
    EW_IVDEP for (int64_t i = 0; i < n; i++) {                     \
      const T x = xs[i];                                           \
      ys[i] = (EXPR);                                              \
    }                                                              \
  }

/* Defines a binary loop: out[i] = (R)EXPR with x = a[i*a_step], y = b[i*b_step].
 * The three stride patterns get their own loops so each vectorises with the
 * scalar operand held in a register. */
#define EW_BINARY(fname, T, R, EXPR)                                              \
  static void fname(const void *pa, const void *pb, void *po, int64_t n, int a_step, \
                    int b_step) {                                                 \
    typedef T elem_t EW_ANY_ALIGN;                                                \
    typedef R res_t EW_ANY_ALIGN;                                                 \
    const elem_t *as = pa;                                                        \
    const elem_t *bs = pb;                                                        \
    res_t *os = po;                                                               \
    if (a_step && b_step) {                                                       \
      EW_IVDEP for (int64_t i = 0; i < n; i++) {                                  \
        const T x = as[i], y = bs[i];                                             \
        os[i] = (R)(EXPR);                                                        \
      }                                                                           \
    } else if (a_step) {                                                          \
      const T y = bs[0];                                                          \
      EW_IVDEP for (int64_t i = 0; i < n; i++) {                                  \
        const T x = as[i];                                                        \
        os[i] = (R)(EXPR);                                                        \
      }                                                                           \
    } else if (b_step) {                                                          \
      const T x = as[0];                                                          \
      EW_IVDEP for (int64_t i = 0; i < n; i++) {                                  \
        const T y = bs[i];                                                        \
        os[i] = (R)(EXPR);                                                        \
      }                                                                           \
    } else {                                                                      \
      const T x = as[0], y = bs[0];                                               \
      const R v = (R)(EXPR);                                                      \
      for (int64_t i = 0; i < n; i++) os[i] = v;                                  \
    }                                                                             \
  }

/* exp inside the float loops: float32 uses the vectorisable ew_exp_f32,
 * float64 libm. */
#include "kernels/ew_exp_f32.h"
static inline float f32_exp1(float x) { return ew_exp_f32(x); }
static inline double f64_exp1(double x) { return exp(x); }
#define EW_EXP(x) EW_FN(exp1)(x)

#define EW_T float
#define EW_SFX f32
#define EW_M(fn) fn##f
#include "kernels/ew_loops_float.h"
#undef EW_T
#undef EW_SFX
#undef EW_M

#define EW_T double
#define EW_SFX f64
#define EW_M(fn) fn
#include "kernels/ew_loops_float.h"
#undef EW_T
#undef EW_SFX
#undef EW_M

#define EW_T int32_t
#define EW_U uint32_t
#define EW_SFX i32
#include "kernels/ew_loops_int.h"
#undef EW_T
#undef EW_U
#undef EW_SFX

#define EW_T int64_t
#define EW_U uint64_t
#define EW_SFX i64
#include "kernels/ew_loops_int.h"
#undef EW_T
#undef EW_U
#undef EW_SFX

#include "kernels/ew_loops_small.h"

/* Table rows: which dtypes have a loop for an op. */
#define EW_FLOATS(op) [EW_DT_F32] = f32_##op, [EW_DT_F64] = f64_##op
#define EW_SIGNED(op) [EW_DT_I32] = i32_##op, [EW_DT_I64] = i64_##op
#define EW_NUMERIC(op) EW_FLOATS(op), EW_SIGNED(op), [EW_DT_U8] = u8_##op

const ew_loops_t EW_LOOPS_TABLE = {
    .unary =
        {
            [EW_IDENTITY] = {EW_NUMERIC(identity), [EW_DT_BOOL] = u8_identity},
            [EW_NEG] = {EW_FLOATS(neg), EW_SIGNED(neg)},
            [EW_ABS] = {EW_FLOATS(abs), EW_SIGNED(abs)},
            [EW_SIGN] = {EW_FLOATS(sign), EW_SIGNED(sign)},
            [EW_SQUARE] = {EW_FLOATS(square), EW_SIGNED(square)},
            [EW_SQRT] = {EW_FLOATS(sqrt)},
            [EW_RSQRT] = {EW_FLOATS(rsqrt)},
            [EW_RECIPROCAL] = {EW_FLOATS(reciprocal)},
            [EW_EXP] = {EW_FLOATS(exp)},
            [EW_LOG] = {EW_FLOATS(log)},
            [EW_LOG1P] = {EW_FLOATS(log1p)},
            [EW_EXPM1] = {EW_FLOATS(expm1)},
            [EW_RELU] = {EW_FLOATS(relu)},
            [EW_SIGMOID] = {EW_FLOATS(sigmoid)},
            [EW_TANH] = {EW_FLOATS(tanh)},
            [EW_SOFTPLUS] = {EW_FLOATS(softplus)},
            [EW_FLOOR] = {EW_FLOATS(floor)},
            [EW_CEIL] = {EW_FLOATS(ceil)},
            [EW_ROUND] = {EW_FLOATS(round)},
            [EW_SIN] = {EW_FLOATS(sin)},
            [EW_COS] = {EW_FLOATS(cos)},
            [EW_LOGICAL_NOT] = {[EW_DT_BOOL] = bool_logical_not},
        },
    .binary =
        {
            [EW_ADD] = {EW_NUMERIC(add)},
            [EW_SUB] = {EW_NUMERIC(sub)},
            [EW_MUL] = {EW_NUMERIC(mul)},
            [EW_DIV] = {EW_NUMERIC(div)},
            [EW_POW] = {EW_FLOATS(pow)},
            [EW_MAXIMUM] = {EW_NUMERIC(maximum)},
            [EW_MINIMUM] = {EW_NUMERIC(minimum)},
            [EW_SQUARED_DIFF] = {EW_FLOATS(squared_diff), EW_SIGNED(squared_diff)},
            [EW_FLOORDIV] = {EW_NUMERIC(floordiv)},
            [EW_FLOORMOD] = {EW_NUMERIC(floormod)},
            [EW_RELU_GRAD] = {EW_FLOATS(relu_grad)},
            [EW_SIGMOID_GRAD] = {EW_FLOATS(sigmoid_grad)},
            [EW_TANH_GRAD] = {EW_FLOATS(tanh_grad)},
            [EW_SQRT_GRAD] = {EW_FLOATS(sqrt_grad)},
            [EW_RSQRT_GRAD] = {EW_FLOATS(rsqrt_grad)},
            [EW_RECIPROCAL_GRAD] = {EW_FLOATS(reciprocal_grad)},
            [EW_LESS] = {EW_NUMERIC(less)},
            [EW_LESS_EQUAL] = {EW_NUMERIC(less_equal)},
            [EW_GREATER] = {EW_NUMERIC(greater)},
            [EW_GREATER_EQUAL] = {EW_NUMERIC(greater_equal)},
            [EW_EQUAL] = {EW_NUMERIC(equal), [EW_DT_BOOL] = bool_equal},
            [EW_NOT_EQUAL] = {EW_NUMERIC(not_equal), [EW_DT_BOOL] = bool_not_equal},
            [EW_LOGICAL_AND] = {[EW_DT_BOOL] = bool_logical_and},
            [EW_LOGICAL_OR] = {[EW_DT_BOOL] = bool_logical_or},
        },
    .axpy = {EW_FLOATS(axpy)},
};
