/* Element-wise inner loops, one table per SIMD level.
 *
 * ew_loops.h is written once and compiled three times (ew_level_baseline.c,
 * ew_level_avx2.c, ew_level_avx512.c, each with its own -m flags); every copy
 * fills one ew_loops_t. The kernels in elementwise.c validate shapes and dtypes,
 * split the work, and call the loops of the level cpu_level() picks. Every level
 * fills the same entries (ops that call libm per element gain little from the
 * wider copies, but one template keeps the levels from drifting apart); an entry
 * is NULL exactly when the op does not support the dtype.
 */
#ifndef TFM_KERNELS_EW_SIMD_H
#define TFM_KERNELS_EW_SIMD_H

#include <stdint.h>

#include "kernels/kernels.h"

/* For element pointers into buffers of any alignment (wrapped tensors need not
 * be aligned even to their element size): `typedef float f32u EW_ANY_ALIGN;`.
 * The generated code is the same unaligned vector loads; only the promise to
 * the compiler changes. */
#define EW_ANY_ALIGN __attribute__((aligned(1)))

/* Dense index of the dtypes element-wise loops know. */
typedef enum ew_dt { EW_DT_F32, EW_DT_F64, EW_DT_I32, EW_DT_I64, EW_DT_U8, EW_DT_BOOL, EW_DT_COUNT } ew_dt_t;

static inline int ew_dt_index(tfm_dtype dt) {
  switch (dt) {
    case TFM_FLOAT: return EW_DT_F32;
    case TFM_DOUBLE: return EW_DT_F64;
    case TFM_INT32: return EW_DT_I32;
    case TFM_INT64: return EW_DT_I64;
    case TFM_UINT8: return EW_DT_U8;
    case TFM_BOOL: return EW_DT_BOOL;
    default: return -1;
  }
}

/* y[i] = op(x[i]) for i < n. y may equal x. */
typedef void (*ew_unary_loop)(const void *x, void *y, int64_t n);
/* out[i] = op(a[i * a_step], b[i * b_step]); steps are 0 (a broadcast scalar) or 1.
 * out may equal a or b where their step is 1. */
typedef void (*ew_binary_loop)(const void *a, const void *b, void *out, int64_t n, int a_step,
                               int b_step);
/* out[i] = alpha * x[i] + y[i] (alpha converted to the element type first). */
typedef void (*ew_axpy_loop)(double alpha, const void *x, const void *y, void *out, int64_t n);

typedef struct ew_loops {
  ew_unary_loop unary[EW_UNARY_COUNT][EW_DT_COUNT];
  ew_binary_loop binary[EW_BINARY_COUNT][EW_DT_COUNT];
  ew_axpy_loop axpy[EW_DT_COUNT]; /* float32 / float64 only */
} ew_loops_t;

extern const ew_loops_t ew_loops_baseline;
extern const ew_loops_t ew_loops_avx2;
extern const ew_loops_t ew_loops_avx512;

/* The table of the level in force (cpu_level()). */
const ew_loops_t *ew_loops_current(void);

#endif
