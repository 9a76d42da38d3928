/* Reductions (Sum, Mean, Max, Min, Prod over any set of axes) and ArgMax/ArgMin.
 *
 * The input shape is first simplified: size-1 dims dropped, neighbouring dims with
 * the same reduced/kept flag merged. Then, for float types:
 *   [R]          everything reduced: fixed blocks of REDUCE_BLOCK elements summed
 *                pairwise (over the pool), block results combined pairwise;
 *   [K, R]       rows reduced: each row like the above, rows spread over tasks;
 *   [K1, R, K2]  columns reduced: pairwise over rows, tasks over column strips;
 *   anything else, and every integer dtype: one odometer walk over the input.
 * Task boundaries depend only on the shape, so results do not depend on the
 * number of threads.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/threadpool.h"
#include "kernels/dense_levels.h"
#include "kernels/kernels.h"

/* Elements per task of a full reduction; also the size under which no task is
 * handed to the pool. */
#define REDUCE_BLOCK ((int64_t)1 << 16)
/* Partial results kept on the stack; larger inputs use proportionally larger blocks. */
#define REDUCE_MAX_PARTIALS 4096
/* Columns handled together by one column-reduction task. */
#define REDUCE_COLS 256
/* Rows summed one after another before pairwise combining takes over. */
#define REDUCE_COL_LEAF 64

static const char *reduce_op_name(reduce_op_t op) {
  switch (op) {
    case REDUCE_SUM: return "Sum";
    case REDUCE_MEAN: return "Mean";
    case REDUCE_MAX: return "Max";
    case REDUCE_MIN: return "Min";
    case REDUCE_PROD: return "Prod";
  }
  return "?";
}

/* The simplified problem. */
typedef struct red_plan {
  int rank;
  int64_t dim[TFM_MAX_RANK];
  bool red[TFM_MAX_RANK];
  int64_t n_in, n_out, n_red; /* n_red: elements folded into each output */
} red_plan_t;

static void plan_make(const shape_t *s, const bool *reduce_axis, red_plan_t *p) {
  p->rank = 0;
  p->n_in = 1;
  p->n_out = 1;
  p->n_red = 1;
  for (int i = 0; i < s->rank; i++) {
    int64_t d = s->dim[i];
    p->n_in *= d;
    if (reduce_axis[i]) p->n_red *= d;
    else p->n_out *= d;
    if (d == 1) continue;
    if (p->rank > 0 && p->red[p->rank - 1] == reduce_axis[i]) {
      p->dim[p->rank - 1] *= d;
    } else {
      p->dim[p->rank] = d;
      p->red[p->rank] = reduce_axis[i];
      p->rank++;
    }
  }
}

/* ---- generic walk, one instance per dtype ---------------------------------- */

/* Integer sums and products wrap around like TensorFlow's (computed unsigned to
 * keep C's overflow rules out of it); float max/min propagate NaN. */
#define RED_COMBINE(op, T, U, acc, v)                                   \
  switch (op) {                                                         \
    case REDUCE_SUM:                                                    \
    case REDUCE_MEAN: acc = (T)((U)(acc) + (U)(v)); break;              \
    case REDUCE_PROD: acc = (T)((U)(acc) * (U)(v)); break;              \
    case REDUCE_MAX:                                                    \
      if ((v) > (acc) || (v) != (v)) acc = (v);                         \
      break;                                                            \
    case REDUCE_MIN:                                                    \
      if ((v) < (acc) || (v) != (v)) acc = (v);                         \
      break;                                                            \
  }

#define DEFINE_GENERIC(SUF, T, U, LOWEST, HIGHEST)                                        \
  static T identity_##SUF(reduce_op_t op) {                                               \
    switch (op) {                                                                         \
      case REDUCE_PROD: return (T)1;                                                      \
      case REDUCE_MAX: return LOWEST;                                                     \
      case REDUCE_MIN: return HIGHEST;                                                    \
      default: return (T)0;                                                               \
    }                                                                                     \
  }                                                                                       \
  static void walk_##SUF(reduce_op_t op, const red_plan_t *p, const T *x, T *out) {       \
    T id = identity_##SUF(op);                                                            \
    for (int64_t i = 0; i < p->n_out; i++) out[i] = id;                                   \
    if (p->n_in == 0) return;                                                             \
    int r = p->rank;                                                                      \
    if (r == 0) {                                                                         \
      out[0] = x[0];                                                                      \
      return;                                                                             \
    }                                                                                     \
    /* out strides of the dims (0 for reduced ones) */                                    \
    int64_t ostride[TFM_MAX_RANK], idx[TFM_MAX_RANK] = {0};                               \
    int64_t s = 1;                                                                        \
    for (int i = r - 1; i >= 0; i--) {                                                    \
      ostride[i] = p->red[i] ? 0 : s;                                                     \
      if (!p->red[i]) s *= p->dim[i];                                                     \
    }                                                                                     \
    int64_t inner = p->dim[r - 1], o = 0;                                                 \
    bool inner_red = p->red[r - 1];                                                       \
    for (int64_t base = 0; base < p->n_in; base += inner) {                               \
      const T *row = x + base;                                                            \
      if (inner_red) {                                                                    \
        T acc = out[o];                                                                   \
        for (int64_t j = 0; j < inner; j++) RED_COMBINE(op, T, U, acc, row[j])            \
        out[o] = acc;                                                                     \
      } else {                                                                            \
        T *dst = out + o;                                                                 \
        for (int64_t j = 0; j < inner; j++) RED_COMBINE(op, T, U, dst[j], row[j])         \
      }                                                                                   \
      for (int i = r - 2; i >= 0; i--) { /* odometer over the outer dims */               \
        o += ostride[i];                                                                  \
        if (++idx[i] < p->dim[i]) break;                                                  \
        o -= ostride[i] * p->dim[i];                                                      \
        idx[i] = 0;                                                                       \
      }                                                                                   \
    }                                                                                     \
  }

DEFINE_GENERIC(f32, float, float, -INFINITY, INFINITY)
DEFINE_GENERIC(f64, double, double, -INFINITY, INFINITY)
DEFINE_GENERIC(i32, int32_t, uint32_t, INT32_MIN, INT32_MAX)
DEFINE_GENERIC(i64, int64_t, uint64_t, INT64_MIN, INT64_MAX)
DEFINE_GENERIC(u8, uint8_t, uint32_t, 0, UINT8_MAX)

/* ---- float fast paths -------------------------------------------------------- */

/* Everything below is written once for float and once for double. */
#define FT float
#define FSUF f32
#include "kernels/reduce_float.h"
#undef FT
#undef FSUF
#define FT double
#define FSUF f64
#include "kernels/reduce_float.h"
#undef FT
#undef FSUF

/* ---- entry points --------------------------------------------------------------- */

static void axes_str(const bool *reduce_axis, int rank, char *buf, size_t size) {
  size_t used = (size_t)snprintf(buf, size, "{");
  for (int i = 0; i < rank && used < size; i++)
    if (reduce_axis[i]) used += (size_t)snprintf(buf + used, size - used, "%s%d", used > 1 ? "," : "", i);
  if (used < size) snprintf(buf + used, size - used, "}");
}

static bool reduce_dtype_ok(tfm_dtype dt) {
  return dt == TFM_FLOAT || dt == TFM_DOUBLE || dt == TFM_INT32 || dt == TFM_INT64 ||
         dt == TFM_UINT8;
}

#define DIVIDE_INT(T)                                                        \
  do {                                                                       \
    T *o = out->data;                                                        \
    for (int64_t i = 0; i < plan.n_out; i++) o[i] = plan.n_red ? (T)(o[i] / (T)plan.n_red) : 0; \
  } while (0)

tfm_code kern_reduce(reduce_op_t op, const tensor_t *x, const bool *reduce_axis, tensor_t *out,
                     tfm_status *st) {
  if ((unsigned)op > REDUCE_PROD)
    return status_set(st, TFM_INVALID_ARGUMENT, "kern_reduce: unknown op %d", (int)op);
  const char *name = reduce_op_name(op);
  if (!x || !out || (!reduce_axis && x->shape.rank > 0))
    return status_set(st, TFM_INVALID_ARGUMENT, "kern_reduce %s: NULL argument", name);
  char xs[SHAPE_STR_MAX], os[SHAPE_STR_MAX], axes[96];
  if (!reduce_dtype_ok(x->dtype) || out->dtype != x->dtype)
    return status_set(st, TFM_INVALID_ARGUMENT,
                      "kern_reduce %s: unsupported dtypes: input %s %s, output %s %s", name,
                      dtype_name(x->dtype), shape_str(&x->shape, xs), dtype_name(out->dtype),
                      shape_str(&out->shape, os));
  red_plan_t plan;
  plan_make(&x->shape, reduce_axis, &plan);
  if (out->num_elements != plan.n_out) {
    axes_str(reduce_axis, x->shape.rank, axes, sizeof axes);
    return status_set(st, TFM_INVALID_ARGUMENT,
                      "kern_reduce %s: output %s has %lld elements, expected %lld for input %s "
                      "reduced over axes %s",
                      name, shape_str(&out->shape, os), (long long)out->num_elements,
                      (long long)plan.n_out, shape_str(&x->shape, xs), axes);
  }
  switch (x->dtype) {
    case TFM_FLOAT: reduce_f32(op, &plan, x->data, out->data); break;
    case TFM_DOUBLE: reduce_f64(op, &plan, x->data, out->data); break;
    case TFM_INT32:
      walk_i32(op, &plan, x->data, out->data);
      if (op == REDUCE_MEAN) DIVIDE_INT(int32_t);
      break;
    case TFM_INT64:
      walk_i64(op, &plan, x->data, out->data);
      if (op == REDUCE_MEAN) DIVIDE_INT(int64_t);
      break;
    default:
      walk_u8(op, &plan, x->data, out->data);
      if (op == REDUCE_MEAN) DIVIDE_INT(uint8_t);
      break;
  }
  return status_ok(st);
}

_Static_assert(KERN_SUM_ONE_TASK == REDUCE_BLOCK, "a prepared sum is one block of full()");

kern_sum_f32_fn kern_sum_f32_loop(void) { return dense_ops()->sum_f32; }
kern_sum_f64_fn kern_sum_f64_loop(void) { return dense_ops()->sum_f64; }

/* ---- ArgMax / ArgMin ----------------------------------------------------------- */

/* The first extreme wins; a NaN counts as the extreme (the first NaN wins). */
#define DEFINE_ARG(SUF, T)                                                                   \
  static void arg_##SUF(bool is_max, const T *x, int64_t outer, int64_t n, int64_t inner,    \
                        int64_t *out) {                                                      \
    for (int64_t o = 0; o < outer; o++) {                                                    \
      for (int64_t i = 0; i < inner; i++) {                                                  \
        const T *p = x + o * n * inner + i;                                                  \
        T best = p[0];                                                                       \
        int64_t bi = 0;                                                                      \
        for (int64_t a = 1; a < n && best == best; a++) {                                    \
          T v = p[a * inner];                                                                \
          if ((is_max ? v > best : v < best) || v != v) {                                    \
            best = v;                                                                        \
            bi = a;                                                                          \
          }                                                                                  \
        }                                                                                    \
        out[o * inner + i] = bi;                                                             \
      }                                                                                      \
    }                                                                                        \
  }

DEFINE_ARG(f32, float)
DEFINE_ARG(f64, double)
DEFINE_ARG(i32, int32_t)
DEFINE_ARG(i64, int64_t)
DEFINE_ARG(u8, uint8_t)

tfm_code kern_arg_reduce(bool is_max, const tensor_t *x, int axis, tensor_t *out, tfm_status *st) {
  const char *name = is_max ? "ArgMax" : "ArgMin";
  if (!x || !out) return status_set(st, TFM_INVALID_ARGUMENT, "kern_arg_reduce %s: NULL tensor", name);
  char xs[SHAPE_STR_MAX], os[SHAPE_STR_MAX];
  if (!reduce_dtype_ok(x->dtype) || out->dtype != TFM_INT64)
    return status_set(st, TFM_INVALID_ARGUMENT,
                      "kern_arg_reduce %s: needs a numeric input and an int64 output, got %s %s -> %s",
                      name, dtype_name(x->dtype), shape_str(&x->shape, xs), dtype_name(out->dtype));
  if (axis < 0 || axis >= x->shape.rank)
    return status_set(st, TFM_INVALID_ARGUMENT, "kern_arg_reduce %s: axis %d out of range for input %s",
                      name, axis, shape_str(&x->shape, xs));
  int64_t n = x->shape.dim[axis], outer = 1, inner = 1;
  for (int i = 0; i < axis; i++) outer *= x->shape.dim[i];
  for (int i = axis + 1; i < x->shape.rank; i++) inner *= x->shape.dim[i];
  if (n == 0)
    return status_set(st, TFM_INVALID_ARGUMENT, "kern_arg_reduce %s: reduction axis %d is empty in %s",
                      name, axis, shape_str(&x->shape, xs));
  if (out->num_elements != outer * inner)
    return status_set(st, TFM_INVALID_ARGUMENT,
                      "kern_arg_reduce %s: output %s should have %lld elements for input %s, axis %d",
                      name, shape_str(&out->shape, os), (long long)(outer * inner),
                      shape_str(&x->shape, xs), axis);
  int64_t *o = out->data;
  switch (x->dtype) {
    case TFM_FLOAT: arg_f32(is_max, x->data, outer, n, inner, o); break;
    case TFM_DOUBLE: arg_f64(is_max, x->data, outer, n, inner, o); break;
    case TFM_INT32: arg_i32(is_max, x->data, outer, n, inner, o); break;
    case TFM_INT64: arg_i64(is_max, x->data, outer, n, inner, o); break;
    default: arg_u8(is_max, x->data, outer, n, inner, o); break;
  }
  return status_ok(st);
}
