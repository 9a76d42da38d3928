/* Element-wise kernels: checks, the split into tasks, and the choice of loop.
 * The loops themselves are in ew_loops*.h, compiled once per SIMD level. Small
 * tensors (one task) run inline: a call costs a few dozen nanoseconds. */
#include <string.h>

#include "core/cpu.h"
#include "core/threadpool.h"
#include "kernels/ew_broadcast.h"
#include "kernels/ew_simd.h"
#include "kernels/kernels.h"

static const char *const unary_names[EW_UNARY_COUNT] = {
    [EW_IDENTITY] = "Identity", [EW_NEG] = "Neg", [EW_ABS] = "Abs", [EW_SIGN] = "Sign",
    [EW_SQUARE] = "Square", [EW_SQRT] = "Sqrt", [EW_RSQRT] = "Rsqrt",
    [EW_RECIPROCAL] = "Reciprocal", [EW_EXP] = "Exp", [EW_LOG] = "Log", [EW_LOG1P] = "Log1p",
    [EW_EXPM1] = "Expm1", [EW_RELU] = "Relu", [EW_SIGMOID] = "Sigmoid", [EW_TANH] = "Tanh",
    [EW_SOFTPLUS] = "Softplus", [EW_FLOOR] = "Floor", [EW_CEIL] = "Ceil", [EW_ROUND] = "Round",
    [EW_SIN] = "Sin", [EW_COS] = "Cos", [EW_LOGICAL_NOT] = "LogicalNot",
};

static const char *const binary_names[EW_BINARY_COUNT] = {
    [EW_ADD] = "Add", [EW_SUB] = "Sub", [EW_MUL] = "Mul", [EW_DIV] = "Div", [EW_POW] = "Pow",
    [EW_MAXIMUM] = "Maximum", [EW_MINIMUM] = "Minimum", [EW_SQUARED_DIFF] = "SquaredDifference",
    [EW_FLOORDIV] = "FloorDiv", [EW_FLOORMOD] = "FloorMod", [EW_RELU_GRAD] = "ReluGrad",
    [EW_SIGMOID_GRAD] = "SigmoidGrad", [EW_TANH_GRAD] = "TanhGrad", [EW_SQRT_GRAD] = "SqrtGrad",
    [EW_RSQRT_GRAD] = "RsqrtGrad", [EW_RECIPROCAL_GRAD] = "ReciprocalGrad", [EW_LESS] = "Less",
    [EW_LESS_EQUAL] = "LessEqual", [EW_GREATER] = "Greater", [EW_GREATER_EQUAL] = "GreaterEqual",
    [EW_EQUAL] = "Equal", [EW_NOT_EQUAL] = "NotEqual", [EW_LOGICAL_AND] = "LogicalAnd",
    [EW_LOGICAL_OR] = "LogicalOr",
};

const char *ew_unary_name(ew_unary_t op) {
  return (unsigned)op < EW_UNARY_COUNT ? unary_names[op] : "UnknownUnary";
}

const char *ew_binary_name(ew_binary_t op) {
  return (unsigned)op < EW_BINARY_COUNT ? binary_names[op] : "UnknownBinary";
}

const ew_loops_t *ew_loops_current(void) {
  switch (cpu_level()) {
    case CPU_AVX512: return &ew_loops_avx512;
    case CPU_AVX2: return &ew_loops_avx2;
    default: return &ew_loops_baseline;
  }
}

/* The baseline table is the one list of which op supports which dtype. */
bool ew_unary_supports(ew_unary_t op, tfm_dtype dt) {
  const int d = ew_dt_index(dt);
  return (unsigned)op < EW_UNARY_COUNT && d >= 0 && ew_loops_baseline.unary[op][d] != NULL;
}

bool ew_binary_supports(ew_binary_t op, tfm_dtype dt) {
  const int d = ew_dt_index(dt);
  return (unsigned)op < EW_BINARY_COUNT && d >= 0 && ew_loops_baseline.binary[op][d] != NULL;
}

tfm_dtype ew_binary_out_dtype(ew_binary_t op, tfm_dtype dt) {
  switch (op) {
    case EW_LESS: case EW_LESS_EQUAL: case EW_GREATER: case EW_GREATER_EQUAL:
    case EW_EQUAL: case EW_NOT_EQUAL: case EW_LOGICAL_AND: case EW_LOGICAL_OR:
      return TFM_BOOL;
    default:
      return dt;
  }
}

_Static_assert(EW_SMALL_ELEMS <= EW_TASK_ELEMS, "a small chunk must run as one task");

kern_unary_loop_fn kern_unary_loop(ew_unary_t op, tfm_dtype dt) {
  if (!ew_unary_supports(op, dt)) return NULL;
  return ew_loops_current()->unary[op][ew_dt_index(dt)];
}

kern_binary_loop_fn kern_binary_loop(ew_binary_t op, tfm_dtype dt) {
  if (!ew_binary_supports(op, dt)) return NULL;
  return ew_loops_current()->binary[op][ew_dt_index(dt)];
}

/* ---- unary ------------------------------------------------------------------ */

typedef struct unary_job {
  ew_unary_loop fn;
  const char *x;
  char *y;
  size_t esize;
  int64_t n;
} unary_job_t;

static void unary_task(void *ctx, int64_t t) {
  const unary_job_t *job = ctx;
  const int64_t lo = t * EW_TASK_ELEMS;
  job->fn(job->x + (size_t)lo * job->esize, job->y + (size_t)lo * job->esize,
          ew_chunk_end(t, job->n) - lo);
}

tfm_code kern_unary(ew_unary_t op, const tensor_t *x, tensor_t *y, tfm_status *st) {
  const char *name = ew_unary_name(op);
  char sx[SHAPE_STR_MAX], sy[SHAPE_STR_MAX];
  if (!x || !y) return status_set(st, TFM_INVALID_ARGUMENT, "%s: NULL tensor", name);
  if (!ew_unary_supports(op, x->dtype))
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: dtype %s is not supported", name,
                      dtype_name(x->dtype));
  if (y->dtype != x->dtype || y->num_elements != x->num_elements)
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: output %s %s does not match input %s %s",
                      name, dtype_name(y->dtype), shape_str(&y->shape, sy),
                      dtype_name(x->dtype), shape_str(&x->shape, sx));
  const int64_t n = x->num_elements;
  if (n == 0) return status_ok(st);
  unary_job_t job = {ew_loops_current()->unary[op][ew_dt_index(x->dtype)], x->data, y->data,
                     dtype_size(x->dtype), n};
  ew_run_chunks(n, unary_task, &job);
  return status_ok(st);
}

/* ---- binary ----------------------------------------------------------------- */

typedef struct binary_job {
  ew_binary_loop fn;
  const char *a, *b;
  char *out;
  size_t in_size, out_size;
  int64_t n;
  int a_step, b_step;      /* for the flat cases */
  const ew_bcast_t *plan;  /* NULL in the flat cases */
  bool short_rows;         /* plan is [N,C] op [C] (or mirrored) with a short row */
} binary_job_t;

/* Rows of at most this many elements are repeated into a stack block of
 * ROW_BLOCK elements, so that [N,C] + [C] with C = 4 makes one call per 512
 * elements instead of one per 4. */
#define SHORT_ROW 64
#define ROW_BLOCK 512

static void binary_run(void *ctx, int64_t a_off, int64_t b_off, int64_t out_off, int64_t len,
                       int a_step, int b_step) {
  const binary_job_t *job = ctx;
  job->fn(job->a + (size_t)a_off * job->in_size, job->b + (size_t)b_off * job->in_size,
          job->out + (size_t)out_off * job->out_size, len, a_step, b_step);
}

/* Calls the loop on len elements from pos, the row operand read from row + col. */
static void short_rows_call(const binary_job_t *job, const char *row, int64_t col, int64_t pos,
                            int64_t len) {
  const size_t es = job->in_size;
  char *out = job->out + (size_t)pos * job->out_size;
  if (job->plan->a_stride[0] == 0) /* a is the row */
    job->fn(row + (size_t)col * es, job->b + (size_t)pos * es, out, len, 1, 1);
  else
    job->fn(job->a + (size_t)pos * es, row + (size_t)col * es, out, len, 1, 1);
}

static void short_rows_range(const binary_job_t *job, int64_t lo, int64_t hi) {
  const int64_t c = job->plan->dim[1];
  const size_t es = job->in_size;
  const char *row = job->plan->a_stride[0] == 0 ? job->a : job->b;
  _Alignas(64) char block[ROW_BLOCK * 8];
  const int64_t span = ROW_BLOCK / c * c;
  for (int64_t k = 0; k < span; k += c) memcpy(block + (size_t)k * es, row, (size_t)c * es);
  int64_t pos = lo;
  const int64_t col = pos % c;
  if (col) { /* finish the row the range starts in */
    const int64_t len = c - col < hi - pos ? c - col : hi - pos;
    short_rows_call(job, block, col, pos, len);
    pos += len;
  }
  while (pos < hi) {
    const int64_t len = hi - pos < span ? hi - pos : span;
    short_rows_call(job, block, 0, pos, len);
    pos += len;
  }
}

static void binary_task(void *ctx, int64_t t) {
  const binary_job_t *job = ctx;
  const int64_t lo = t * EW_TASK_ELEMS, hi = ew_chunk_end(t, job->n);
  if (job->short_rows) short_rows_range(job, lo, hi);
  else if (job->plan) ew_bcast_walk(job->plan, lo, hi, binary_run, ctx);
  else binary_run(ctx, lo * job->a_step, lo * job->b_step, lo, hi - lo, job->a_step, job->b_step);
}

static bool is_integer_division(ew_binary_t op) {
  return op == EW_DIV || op == EW_FLOORDIV || op == EW_FLOORMOD;
}

/* Is some element of an integer tensor zero? (any alignment) */
static bool has_zero(const tensor_t *t) {
  typedef int32_t i32u EW_ANY_ALIGN;
  typedef int64_t i64u EW_ANY_ALIGN;
  const int64_t n = t->num_elements;
  const i32u *p32 = t->data;
  const i64u *p64 = t->data;
  const uint8_t *p8 = t->data;
  switch (t->dtype) {
    case TFM_INT32: for (int64_t i = 0; i < n; i++) if (p32[i] == 0) return true; break;
    case TFM_INT64: for (int64_t i = 0; i < n; i++) if (p64[i] == 0) return true; break;
    case TFM_UINT8: for (int64_t i = 0; i < n; i++) if (p8[i] == 0) return true; break;
    default: break;
  }
  return false;
}

tfm_code kern_binary(ew_binary_t op, const tensor_t *a, const tensor_t *b, tensor_t *out,
                     tfm_status *st) {
  const char *name = ew_binary_name(op);
  char sa[SHAPE_STR_MAX], sb[SHAPE_STR_MAX], so[SHAPE_STR_MAX], sw[SHAPE_STR_MAX];
  if (!a || !b || !out) return status_set(st, TFM_INVALID_ARGUMENT, "%s: NULL tensor", name);
  if (a->dtype != b->dtype)
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: dtypes differ: %s %s vs %s %s", name,
                      dtype_name(a->dtype), shape_str(&a->shape, sa), dtype_name(b->dtype),
                      shape_str(&b->shape, sb));
  if (!ew_binary_supports(op, a->dtype))
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: dtype %s is not supported", name,
                      dtype_name(a->dtype));
  const tfm_dtype out_dt = ew_binary_out_dtype(op, a->dtype);
  shape_t shape;
  if (!ew_broadcast_shape(&a->shape, &b->shape, &shape))
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: shapes %s and %s do not broadcast", name,
                      shape_str(&a->shape, sa), shape_str(&b->shape, sb));
  if (out->dtype != out_dt || !shape_equal(&shape, &out->shape))
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: output is %s %s but %s x %s gives %s %s",
                      name, dtype_name(out->dtype), shape_str(&out->shape, so),
                      shape_str(&a->shape, sa), shape_str(&b->shape, sb), dtype_name(out_dt),
                      shape_str(&shape, sw));
  const int64_t n = out->num_elements;
  if (n == 0) return status_ok(st);
  if (is_integer_division(op) && dtype_is_integer(b->dtype) && has_zero(b))
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: integer division by zero (divisor %s %s)",
                      name, dtype_name(b->dtype), shape_str(&b->shape, sb));

  const int d = ew_dt_index(a->dtype);
  binary_job_t job = {ew_loops_current()->binary[op][d], a->data, b->data, out->data,
                      dtype_size(a->dtype), dtype_size(out_dt), n, 1, 1, NULL, false};
  ew_bcast_t plan;
  if (a->num_elements == n && b->num_elements == n) {
    /* same layout: one flat run */
  } else if (a->num_elements == n && b->num_elements == 1) {
    job.b_step = 0;
  } else if (a->num_elements == 1 && b->num_elements == n) {
    job.a_step = 0;
  } else {
    ew_bcast_plan(&a->shape, &b->shape, &out->shape, &plan);
    job.plan = &plan;
    const int64_t c = plan.dim[plan.rank - 1];
    job.short_rows = plan.rank == 2 && c <= SHORT_ROW && plan.a_stride[1] == 1 &&
                     plan.b_stride[1] == 1 &&
                     ((plan.a_stride[0] == 0 && plan.b_stride[0] == c) ||
                      (plan.b_stride[0] == 0 && plan.a_stride[0] == c));
  }
  ew_run_chunks(n, binary_task, &job);
  return status_ok(st);
}

/* ---- fused and n-ary -------------------------------------------------------- */

typedef struct axpy_job {
  ew_axpy_loop fn;
  double alpha;
  const char *x, *y;
  char *out;
  size_t esize;
  int64_t n;
} axpy_job_t;

static void axpy_task(void *ctx, int64_t t) {
  const axpy_job_t *job = ctx;
  const size_t off = (size_t)(t * EW_TASK_ELEMS) * job->esize;
  job->fn(job->alpha, job->x + off, job->y + off, job->out + off,
          ew_chunk_end(t, job->n) - t * EW_TASK_ELEMS);
}

tfm_code kern_axpy(double alpha, const tensor_t *x, const tensor_t *y, tensor_t *out,
                   tfm_status *st) {
  char sx[SHAPE_STR_MAX], sy[SHAPE_STR_MAX], so[SHAPE_STR_MAX];
  if (!x || !y || !out) return status_set(st, TFM_INVALID_ARGUMENT, "Axpy: NULL tensor");
  if (!dtype_is_float(x->dtype) || y->dtype != x->dtype || out->dtype != x->dtype)
    return status_set(st, TFM_INVALID_ARGUMENT, "Axpy: needs one float dtype, got %s, %s -> %s",
                      dtype_name(x->dtype), dtype_name(y->dtype), dtype_name(out->dtype));
  if (!shape_equal(&x->shape, &y->shape) || !shape_equal(&x->shape, &out->shape))
    return status_set(st, TFM_INVALID_ARGUMENT, "Axpy: shapes differ: %s, %s -> %s",
                      shape_str(&x->shape, sx), shape_str(&y->shape, sy),
                      shape_str(&out->shape, so));
  const int64_t n = x->num_elements;
  axpy_job_t job = {ew_loops_current()->axpy[ew_dt_index(x->dtype)], alpha, x->data, y->data,
                    out->data, dtype_size(x->dtype), n};
  if (n > 0) ew_run_chunks(n, axpy_task, &job);
  return status_ok(st);
}

/* AddN sums in input order through a small stack block, so out may be any of
 * the inputs and every element sees the same order of additions. */
#define ADD_N_BLOCK 256

typedef struct add_n_job {
  ew_binary_loop add;
  const tensor_t *const *xs;
  int count;
  char *out;
  size_t esize;
  int64_t n;
} add_n_job_t;

static void add_n_task(void *ctx, int64_t t) {
  const add_n_job_t *job = ctx;
  _Alignas(64) char acc[ADD_N_BLOCK * 8];
  const size_t es = job->esize;
  const int64_t hi = ew_chunk_end(t, job->n);
  for (int64_t lo = t * EW_TASK_ELEMS; lo < hi; lo += ADD_N_BLOCK) {
    const int64_t len = hi - lo < ADD_N_BLOCK ? hi - lo : ADD_N_BLOCK;
    const size_t off = (size_t)lo * es;
    memcpy(acc, (const char *)job->xs[0]->data + off, (size_t)len * es);
    for (int k = 1; k < job->count; k++)
      job->add(acc, (const char *)job->xs[k]->data + off, acc, len, 1, 1);
    memcpy(job->out + off, acc, (size_t)len * es);
  }
}

tfm_code kern_add_n(const tensor_t *const *xs, int n, tensor_t *out, tfm_status *st) {
  char s0[SHAPE_STR_MAX], sk[SHAPE_STR_MAX];
  if (!xs || n < 1 || !out)
    return status_set(st, TFM_INVALID_ARGUMENT, "AddN: needs at least one input, got %d", n);
  for (int k = 0; k < n; k++) {
    if (!xs[k]) return status_set(st, TFM_INVALID_ARGUMENT, "AddN: input %d is NULL", k);
    if (xs[k]->dtype != out->dtype || !shape_equal(&xs[k]->shape, &out->shape))
      return status_set(st, TFM_INVALID_ARGUMENT, "AddN: input %d is %s %s but output is %s %s",
                        k, dtype_name(xs[k]->dtype), shape_str(&xs[k]->shape, sk),
                        dtype_name(out->dtype), shape_str(&out->shape, s0));
  }
  if (!ew_binary_supports(EW_ADD, out->dtype))
    return status_set(st, TFM_INVALID_ARGUMENT, "AddN: dtype %s is not supported",
                      dtype_name(out->dtype));
  const int64_t count = out->num_elements;
  if (count == 0) return status_ok(st);
  add_n_job_t job = {ew_loops_current()->binary[EW_ADD][ew_dt_index(out->dtype)], xs, n,
                     out->data, dtype_size(out->dtype), count};
  ew_run_chunks(count, add_n_task, &job);
  return status_ok(st);
}

/* ---- Select ----------------------------------------------------------------- */

typedef struct select_job {
  const uint8_t *cond;
  const char *a, *b;
  char *out;
  size_t esize;
  int64_t n;
  int64_t row; /* elements sharing one cond value: 1, a row (rank-1 cond), or n (scalar) */
} select_job_t;

#define SELECT_LOOP(T)                                                      \
  do {                                                                      \
    typedef T elem_t EW_ANY_ALIGN;                                          \
    const elem_t *as = (const elem_t *)job->a, *bs = (const elem_t *)job->b; \
    elem_t *os = (elem_t *)job->out;                                        \
    if (job->row == 1) {                                                    \
      _Pragma("GCC ivdep") for (int64_t i = lo; i < hi; i++)                \
        os[i] = job->cond[i] ? as[i] : bs[i];                               \
    } else {                                                                \
      for (int64_t i = lo; i < hi; i++)                                     \
        os[i] = job->cond[i / job->row] ? as[i] : bs[i];                    \
    }                                                                       \
  } while (0)

static void select_task(void *ctx, int64_t t) {
  const select_job_t *job = ctx;
  const int64_t lo = t * EW_TASK_ELEMS, hi = ew_chunk_end(t, job->n);
  switch (job->esize) {
    case 1: SELECT_LOOP(uint8_t); break;
    case 4: SELECT_LOOP(uint32_t); break;
    default: SELECT_LOOP(uint64_t); break;
  }
}

tfm_code kern_select(const tensor_t *cond, const tensor_t *a, const tensor_t *b, tensor_t *out,
                     tfm_status *st) {
  char sc[SHAPE_STR_MAX], sa[SHAPE_STR_MAX], sb[SHAPE_STR_MAX], so[SHAPE_STR_MAX];
  if (!cond || !a || !b || !out) return status_set(st, TFM_INVALID_ARGUMENT, "Select: NULL tensor");
  if (cond->dtype != TFM_BOOL)
    return status_set(st, TFM_INVALID_ARGUMENT, "Select: condition is %s, not bool",
                      dtype_name(cond->dtype));
  if (a->dtype != b->dtype || out->dtype != a->dtype || a->dtype == TFM_STRING ||
      !dtype_is_valid(a->dtype))
    return status_set(st, TFM_INVALID_ARGUMENT, "Select: dtypes %s, %s -> %s (need one non-string dtype)",
                      dtype_name(a->dtype), dtype_name(b->dtype), dtype_name(out->dtype));
  const int64_t n = out->num_elements;
  /* TensorFlow 1.x Select: cond has the shape of a, or is a scalar, or a vector
   * picking whole rows of a. */
  int64_t row = 0;
  if (shape_equal(&cond->shape, &a->shape)) row = 1;
  else if (cond->shape.rank == 0) row = n > 0 ? n : 1;
  else if (cond->shape.rank == 1 && a->shape.rank >= 2 && cond->shape.dim[0] == a->shape.dim[0])
    row = a->shape.dim[0] > 0 ? n / a->shape.dim[0] : 1;
  if (!shape_equal(&a->shape, &b->shape) || !shape_equal(&a->shape, &out->shape) || row == 0)
    return status_set(st, TFM_INVALID_ARGUMENT, "Select: shapes cond %s, a %s, b %s -> %s do not match",
                      shape_str(&cond->shape, sc), shape_str(&a->shape, sa),
                      shape_str(&b->shape, sb), shape_str(&out->shape, so));
  if (n == 0) return status_ok(st);
  select_job_t job = {TENSOR_BOOL(cond), a->data, b->data, out->data, dtype_size(a->dtype), n, row};
  ew_run_chunks(n, select_task, &job);
  return status_ok(st);
}
