/* Broadcasting: the walk plan shared by the element-wise kernels, and the
 * kernels that only move data: BroadcastTo and Fill. */
#include "kernels/ew_broadcast.h"

#include <string.h>

#include "core/threadpool.h"
#include "kernels/kernels.h"

bool ew_broadcast_shape(const shape_t *a, const shape_t *b, shape_t *out) {
  const int rank = a->rank > b->rank ? a->rank : b->rank;
  out->rank = rank;
  for (int i = 0; i < rank; i++) {
    const int ia = i - (rank - a->rank), ib = i - (rank - b->rank);
    const int64_t da = ia >= 0 ? a->dim[ia] : 1, db = ib >= 0 ? b->dim[ib] : 1;
    if (da == db || db == 1) out->dim[i] = da;
    else if (da == 1) out->dim[i] = db;
    else return false;
  }
  return true;
}

/* Row-major strides of `in` aligned to the last dims of `out`; 0 where in has a
 * 1 against a larger dim. */
static void aligned_strides(const shape_t *in, const shape_t *out, int64_t *stride) {
  int64_t s = 1;
  for (int i = out->rank - 1; i >= 0; i--) {
    const int k = i - (out->rank - in->rank);
    const int64_t d = k >= 0 ? in->dim[k] : 1;
    stride[i] = (d == 1 && out->dim[i] != 1) ? 0 : s;
    s *= d;
  }
}

void ew_bcast_plan(const shape_t *a, const shape_t *b, const shape_t *out, ew_bcast_t *plan) {
  int64_t sa[TFM_MAX_RANK], sb[TFM_MAX_RANK];
  aligned_strides(a, out, sa);
  aligned_strides(b, out, sb);
  /* Build from the innermost dim outwards, merging where possible. */
  int64_t dim[TFM_MAX_RANK], ra[TFM_MAX_RANK], rb[TFM_MAX_RANK];
  int n = 0;
  for (int i = out->rank - 1; i >= 0; i--) {
    if (out->dim[i] == 1) continue;
    if (n > 0 && sa[i] == ra[n - 1] * dim[n - 1] && sb[i] == rb[n - 1] * dim[n - 1]) {
      dim[n - 1] *= out->dim[i];
      continue;
    }
    dim[n] = out->dim[i];
    ra[n] = sa[i];
    rb[n] = sb[i];
    n++;
  }
  if (n == 0) { /* a single element */
    dim[0] = 1;
    ra[0] = rb[0] = 1;
    n = 1;
  }
  plan->rank = n;
  for (int i = 0; i < n; i++) { /* back to outermost-first order */
    plan->dim[i] = dim[n - 1 - i];
    plan->a_stride[i] = ra[n - 1 - i];
    plan->b_stride[i] = rb[n - 1 - i];
  }
}

void ew_bcast_walk(const ew_bcast_t *plan, int64_t lo, int64_t hi, ew_bcast_visit visit,
                   void *ctx) {
  const int last = plan->rank - 1;
  const int64_t inner = plan->dim[last];
  int64_t idx[TFM_MAX_RANK];
  int64_t a_off = 0, b_off = 0, rem = lo;
  for (int i = last; i >= 0; i--) {
    idx[i] = rem % plan->dim[i];
    rem /= plan->dim[i];
    a_off += idx[i] * plan->a_stride[i];
    b_off += idx[i] * plan->b_stride[i];
  }
  const int a_step = plan->a_stride[last] != 0, b_step = plan->b_stride[last] != 0;
  int64_t pos = lo;
  while (pos < hi) {
    int64_t len = inner - idx[last];
    if (len > hi - pos) len = hi - pos;
    visit(ctx, a_off, b_off, pos, len, a_step, b_step);
    pos += len;
    idx[last] += len;
    a_off += len * plan->a_stride[last];
    b_off += len * plan->b_stride[last];
    if (idx[last] < inner) break; /* only the last run can stop inside a row */
    a_off -= inner * plan->a_stride[last];
    b_off -= inner * plan->b_stride[last];
    idx[last] = 0;
    for (int i = last - 1; i >= 0; i--) {
      a_off += plan->a_stride[i];
      b_off += plan->b_stride[i];
      if (++idx[i] < plan->dim[i]) break;
      a_off -= plan->dim[i] * plan->a_stride[i];
      b_off -= plan->dim[i] * plan->b_stride[i];
      idx[i] = 0;
    }
  }
}

/* ---- BroadcastTo ------------------------------------------------------------ */

typedef struct copy_job {
  const ew_bcast_t *plan;
  const char *x;
  char *out;
  size_t esize;
  int64_t n;
} copy_job_t;

static void copy_run(void *ctx, int64_t a_off, int64_t b_off, int64_t out_off, int64_t len,
                     int a_step, int b_step) {
  (void)b_off;
  (void)b_step;
  const copy_job_t *job = ctx;
  const size_t es = job->esize;
  char *dst = job->out + (size_t)out_off * es;
  const char *src = job->x + (size_t)a_off * es;
  if (a_step) {
    memcpy(dst, src, (size_t)len * es);
    return;
  }
  switch (es) { /* one value repeated */
    case 1: memset(dst, *src, (size_t)len); break;
    case 4: { uint32_t v; memcpy(&v, src, 4); for (int64_t i = 0; i < len; i++) memcpy(dst + 4 * i, &v, 4); break; }
    case 8: { uint64_t v; memcpy(&v, src, 8); for (int64_t i = 0; i < len; i++) memcpy(dst + 8 * i, &v, 8); break; }
    default: for (int64_t i = 0; i < len; i++) memcpy(dst + (size_t)i * es, src, es);
  }
}

static void copy_task(void *ctx, int64_t t) {
  const copy_job_t *job = ctx;
  const int64_t lo = t * EW_TASK_ELEMS;
  ew_bcast_walk(job->plan, lo, ew_chunk_end(t, job->n), copy_run, ctx);
}

static tfm_code run_copy(const ew_bcast_t *plan, const void *x, void *out, size_t esize,
                         int64_t n) {
  copy_job_t job = {plan, x, out, esize, n};
  ew_run_chunks(n, copy_task, &job);
  return TFM_OK;
}

tfm_code kern_broadcast_to(const tensor_t *x, tensor_t *out, tfm_status *st) {
  char sx[SHAPE_STR_MAX], so[SHAPE_STR_MAX];
  if (!x || !out) return status_set(st, TFM_INVALID_ARGUMENT, "BroadcastTo: NULL tensor");
  if (x->dtype != out->dtype)
    return status_set(st, TFM_INVALID_ARGUMENT, "BroadcastTo: input is %s but output is %s",
                      dtype_name(x->dtype), dtype_name(out->dtype));
  if (x->dtype == TFM_STRING)
    return status_set(st, TFM_INVALID_ARGUMENT, "BroadcastTo: string tensors are not supported");
  shape_t b;
  if (x->shape.rank > out->shape.rank || !ew_broadcast_shape(&x->shape, &out->shape, &b) ||
      !shape_equal(&b, &out->shape))
    return status_set(st, TFM_INVALID_ARGUMENT, "BroadcastTo: shape %s does not broadcast to %s",
                      shape_str(&x->shape, sx), shape_str(&out->shape, so));
  if (out->num_elements == 0) return status_ok(st);
  ew_bcast_t plan;
  ew_bcast_plan(&x->shape, &x->shape, &out->shape, &plan);
  run_copy(&plan, x->data, out->data, dtype_size(x->dtype), out->num_elements);
  return status_ok(st);
}

/* ---- Fill ------------------------------------------------------------------- */

tfm_code kern_fill(const tensor_t *value, tensor_t *out, tfm_status *st) {
  char sv[SHAPE_STR_MAX];
  if (!value || !out) return status_set(st, TFM_INVALID_ARGUMENT, "Fill: NULL tensor");
  if (value->dtype != out->dtype)
    return status_set(st, TFM_INVALID_ARGUMENT, "Fill: value is %s but output is %s",
                      dtype_name(value->dtype), dtype_name(out->dtype));
  if (value->num_elements != 1)
    return status_set(st, TFM_INVALID_ARGUMENT, "Fill: value must be a scalar, got shape %s",
                      shape_str(&value->shape, sv));
  if (out->dtype == TFM_STRING) { /* each element owns a copy of the bytes */
    const tstring_t *v = TENSOR_STR(value);
    for (int64_t i = 0; i < out->num_elements; i++)
      if (tensor_string_set(out, i, v->data, v->len, st) != TFM_OK)
        return status_prefix(st, "Fill");
    return status_ok(st);
  }
  if (out->num_elements == 0) return status_ok(st);
  ew_bcast_t plan = {.rank = 1, .dim = {out->num_elements}, .a_stride = {0}, .b_stride = {0}};
  run_copy(&plan, value->data, out->data, dtype_size(out->dtype), out->num_elements);
  return status_ok(st);
}
