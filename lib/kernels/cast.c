/* Cast between any two of float32, float64, int32, int64, uint8 and bool.
 * Float to integer truncates toward zero like TensorFlow. Where TensorFlow
 * leaves the result to the platform (NaN or a value outside the target range) we
 * saturate to the target's range and map NaN to 0, so that no input is undefined
 * behaviour in C. Anything to bool is x != 0; bool reads any nonzero byte as 1. */
#include <string.h>

#include "core/threadpool.h"
#include "kernels/ew_broadcast.h"
#include "kernels/ew_simd.h"
#include "kernels/kernels.h"

static inline int32_t sat_i32(double v) {
  if (v != v) return 0;
  if (v <= -2147483648.0) return INT32_MIN;
  if (v >= 2147483647.0) return INT32_MAX;
  return (int32_t)v;
}

static inline int64_t sat_i64(double v) {
  if (v != v) return 0;
  if (v <= -9223372036854775808.0) return INT64_MIN;
  if (v >= 9223372036854775808.0) return INT64_MAX;
  return (int64_t)v;
}

static inline uint8_t sat_u8(double v) {
  if (v != v || v <= 0) return 0;
  if (v >= 255.0) return 255;
  return (uint8_t)v;
}

typedef void (*cast_loop)(const void *x, void *y, int64_t lo, int64_t hi);

#define CAST_DEF(name, S, D, CONV)                                  \
  static void name(const void *px, void *py, int64_t lo, int64_t hi) { \
    typedef S src_t EW_ANY_ALIGN;                                   \
    typedef D dst_t EW_ANY_ALIGN;                                   \
    const src_t *xs = px;                                           \
    dst_t *ys = py;                                                 \
    for (int64_t i = lo; i < hi; i++) {                             \
      const S v = xs[i];                                            \
      ys[i] = (CONV);                                               \
    }                                                               \
  }

/* From a float type: integer targets saturate. */
#define CAST_FROM_FLOAT(sn, S)                                      \
  CAST_DEF(cast_##sn##_f32, S, float, (float)v)                     \
  CAST_DEF(cast_##sn##_f64, S, double, (double)v)                   \
  CAST_DEF(cast_##sn##_i32, S, int32_t, sat_i32((double)v))         \
  CAST_DEF(cast_##sn##_i64, S, int64_t, sat_i64((double)v))         \
  CAST_DEF(cast_##sn##_u8, S, uint8_t, sat_u8((double)v))           \
  CAST_DEF(cast_##sn##_bool, S, uint8_t, (uint8_t)(v != 0))

/* From an integer type: C conversions (integers wrap modulo 2^bits). */
#define CAST_FROM_INT(sn, S)                                        \
  CAST_DEF(cast_##sn##_f32, S, float, (float)v)                     \
  CAST_DEF(cast_##sn##_f64, S, double, (double)v)                   \
  CAST_DEF(cast_##sn##_i32, S, int32_t, (int32_t)v)                 \
  CAST_DEF(cast_##sn##_i64, S, int64_t, (int64_t)v)                 \
  CAST_DEF(cast_##sn##_u8, S, uint8_t, (uint8_t)v)                  \
  CAST_DEF(cast_##sn##_bool, S, uint8_t, (uint8_t)(v != 0))

CAST_FROM_FLOAT(f32, float)
CAST_FROM_FLOAT(f64, double)
CAST_FROM_INT(i32, int32_t)
CAST_FROM_INT(i64, int64_t)
CAST_FROM_INT(u8, uint8_t)
CAST_DEF(cast_bool_f32, uint8_t, float, (float)(v != 0))
CAST_DEF(cast_bool_f64, uint8_t, double, (double)(v != 0))
CAST_DEF(cast_bool_i32, uint8_t, int32_t, (int32_t)(v != 0))
CAST_DEF(cast_bool_i64, uint8_t, int64_t, (int64_t)(v != 0))
CAST_DEF(cast_bool_u8, uint8_t, uint8_t, (uint8_t)(v != 0))
CAST_DEF(cast_bool_bool, uint8_t, uint8_t, (uint8_t)(v != 0))

#define CAST_ROW(sn)                                                            \
  {cast_##sn##_f32, cast_##sn##_f64, cast_##sn##_i32, cast_##sn##_i64, cast_##sn##_u8, \
   cast_##sn##_bool}

/* [source][target], indexed by ew_dt_t. */
static const cast_loop cast_table[EW_DT_COUNT][EW_DT_COUNT] = {
    CAST_ROW(f32), CAST_ROW(f64), CAST_ROW(i32), CAST_ROW(i64), CAST_ROW(u8), CAST_ROW(bool),
};

typedef struct cast_job {
  cast_loop fn;
  const void *x;
  void *y;
  int64_t n;
} cast_job_t;

static void cast_task(void *ctx, int64_t t) {
  const cast_job_t *job = ctx;
  const int64_t lo = t * EW_TASK_ELEMS;
  job->fn(job->x, job->y, lo, ew_chunk_end(t, job->n));
}

tfm_code kern_cast(const tensor_t *x, tensor_t *out, tfm_status *st) {
  char sx[SHAPE_STR_MAX], so[SHAPE_STR_MAX];
  if (!x || !out) return status_set(st, TFM_INVALID_ARGUMENT, "Cast: NULL tensor");
  const int s = ew_dt_index(x->dtype), d = ew_dt_index(out->dtype);
  if (s < 0 || d < 0)
    return status_set(st, TFM_INVALID_ARGUMENT, "Cast: %s to %s is not supported",
                      dtype_name(x->dtype), dtype_name(out->dtype));
  if (x->num_elements != out->num_elements)
    return status_set(st, TFM_INVALID_ARGUMENT, "Cast: output shape %s does not match input %s",
                      shape_str(&out->shape, so), shape_str(&x->shape, sx));
  const int64_t n = x->num_elements;
  if (n == 0) return status_ok(st);
  if (s == d && x->dtype != TFM_BOOL) {
    if (out->data != x->data) memmove(out->data, x->data, x->nbytes);
    return status_ok(st);
  }
  cast_job_t job = {cast_table[s][d], x->data, out->data, n};
  ew_run_chunks(n, cast_task, &job);
  return status_ok(st);
}
