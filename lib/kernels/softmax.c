/* Softmax / LogSoftmax over the last dim, and BiasAdd over the last dim.
 * Softmax subtracts the row maximum before exp (so exp never overflows) and sums
 * in double. Rows are spread over tasks of about SOFTMAX_TASK elements; each row is
 * computed by one task, so results do not depend on the number of threads. */
#include <math.h>

#include "core/threadpool.h"
#include "kernels/kernels.h"

#define SOFTMAX_TASK ((int64_t)1 << 14)

typedef struct rows_ctx {
  const void *x, *bias;
  void *out;
  int64_t rows, len, rows_per_task;
  bool log;
} rows_ctx_t;

static void run_rows(rows_ctx_t *c, pool_task_fn fn) {
  c->rows_per_task = c->len ? SOFTMAX_TASK / c->len : c->rows;
  if (c->rows_per_task < 1) c->rows_per_task = 1;
  int64_t ntasks = c->rows_per_task ? (c->rows + c->rows_per_task - 1) / c->rows_per_task : 0;
  if (ntasks <= 1) {
    if (ntasks == 1) fn(c, 0);
  } else {
    pool_parallel_for(ntasks, fn, c);
  }
}

/* out may be x: every pass reads element j before writing it. */
#define DEFINE_SOFTMAX(SUF, T, EXP)                                                  \
  static void softmax_##SUF(void *arg, int64_t t) {                                       \
    const rows_ctx_t *c = arg;                                                            \
    int64_t r0 = t * c->rows_per_task, r1 = r0 + c->rows_per_task;                        \
    if (r1 > c->rows) r1 = c->rows;                                                       \
    for (int64_t r = r0; r < r1; r++) {                                                   \
      const T *x = (const T *)c->x + r * c->len;                                          \
      T *y = (T *)c->out + r * c->len;                                                    \
      T m = x[0];                                                                         \
      for (int64_t j = 1; j < c->len; j++) m = x[j] > m ? x[j] : m;                       \
      if (c->log) {                                                                       \
        double s = 0;                                                                     \
        for (int64_t j = 0; j < c->len; j++) s += EXP(x[j] - m);                          \
        T ls = (T)log(s);                                                                 \
        for (int64_t j = 0; j < c->len; j++) y[j] = (x[j] - m) - ls;                      \
      } else {                                                                            \
        double s = 0;                                                                     \
        for (int64_t j = 0; j < c->len; j++) {                                            \
          T e = EXP(x[j] - m);                                                            \
          y[j] = e;                                                                       \
          s += e;                                                                         \
        }                                                                                 \
        T inv = (T)(1.0 / s);                                                             \
        for (int64_t j = 0; j < c->len; j++) y[j] *= inv;                                 \
      }                                                                                   \
    }                                                                                     \
  }
DEFINE_SOFTMAX(f32, float, expf)
DEFINE_SOFTMAX(f64, double, exp)

tfm_code kern_softmax(const tensor_t *x, bool log_softmax, tensor_t *out, tfm_status *st) {
  const char *name = log_softmax ? "kern_softmax (log)" : "kern_softmax";
  char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
  if (!x || !out) return status_set(st, TFM_INVALID_ARGUMENT, "%s: NULL tensor", name);
  if ((x->dtype != TFM_FLOAT && x->dtype != TFM_DOUBLE) || out->dtype != x->dtype ||
      x->shape.rank < 1 || !shape_equal(&x->shape, &out->shape))
    return status_set(st, TFM_INVALID_ARGUMENT,
                      "%s: needs a float input of rank >= 1 and an output of the same dtype and shape, "
                      "got %s %s -> %s %s",
                      name, dtype_name(x->dtype), shape_str(&x->shape, a), dtype_name(out->dtype),
                      shape_str(&out->shape, b));
  int64_t len = x->shape.dim[x->shape.rank - 1];
  rows_ctx_t c = {.x = x->data, .out = out->data, .len = len, .log = log_softmax,
                  .rows = len ? x->num_elements / len : 0};
  run_rows(&c, x->dtype == TFM_FLOAT ? softmax_f32 : softmax_f64);
  return status_ok(st);
}

#define DEFINE_BIAS(SUF, T, U)                                                        \
  static void bias_##SUF(void *arg, int64_t t) {                                    \
    const rows_ctx_t *c = arg;                                                      \
    int64_t r0 = t * c->rows_per_task, r1 = r0 + c->rows_per_task;                  \
    if (r1 > c->rows) r1 = c->rows;                                                 \
    const T *b = c->bias;                                                           \
    for (int64_t r = r0; r < r1; r++) {                                             \
      const T *x = (const T *)c->x + r * c->len;                                    \
      T *y = (T *)c->out + r * c->len;                                              \
      for (int64_t j = 0; j < c->len; j++) y[j] = (T)((U)x[j] + (U)b[j]);              \
    }                                                                               \
  }
/* integers wrap around (added unsigned) */
DEFINE_BIAS(f32, float, float)
DEFINE_BIAS(f64, double, double)
DEFINE_BIAS(i32, int32_t, uint32_t)
DEFINE_BIAS(i64, int64_t, uint64_t)

tfm_code kern_bias_add(const tensor_t *x, const tensor_t *bias, tensor_t *out, tfm_status *st) {
  char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX], o[SHAPE_STR_MAX];
  if (!x || !bias || !out) return status_set(st, TFM_INVALID_ARGUMENT, "kern_bias_add: NULL tensor");
  tfm_dtype dt = x->dtype;
  bool dtype_ok = dt == TFM_FLOAT || dt == TFM_DOUBLE || dt == TFM_INT32 || dt == TFM_INT64;
  if (!dtype_ok || bias->dtype != dt || out->dtype != dt || x->shape.rank < 1 ||
      bias->shape.rank != 1 || bias->shape.dim[0] != x->shape.dim[x->shape.rank - 1] ||
      !shape_equal(&x->shape, &out->shape))
    return status_set(st, TFM_INVALID_ARGUMENT,
                      "kern_bias_add: needs x [..., C], bias [C] and out like x of one dtype, got "
                      "%s %s + %s %s -> %s %s",
                      dtype_name(dt), shape_str(&x->shape, a), dtype_name(bias->dtype),
                      shape_str(&bias->shape, b), dtype_name(out->dtype), shape_str(&out->shape, o));
  int64_t len = bias->shape.dim[0];
  rows_ctx_t c = {.x = x->data, .bias = bias->data, .out = out->data, .len = len,
                  .rows = len ? x->num_elements / len : 0};
  pool_task_fn fn = dt == TFM_FLOAT ? bias_f32 : dt == TFM_DOUBLE ? bias_f64 : dt == TFM_INT32 ? bias_i32 : bias_i64;
  run_rows(&c, fn);
  return status_ok(st);
}
