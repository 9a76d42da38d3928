/* Transpose: out.dim[i] = x.dim[perm[i]]. Dims of size 1 are dropped and output
 * dims that stay contiguous in x are merged, so a transpose that does not really
 * move data becomes one memcpy and [N,H,W,C] -> [N,C,H,W] becomes a 3-D walk. */
#include <stdio.h>
#include <string.h>

#include "core/threadpool.h"
#include "kernels/ew_broadcast.h"
#include "kernels/ew_simd.h"
#include "kernels/kernels.h"

typedef struct transpose_job {
  int rank;
  int64_t dim[TFM_MAX_RANK];
  int64_t stride[TFM_MAX_RANK]; /* in x, elements, for each merged output dim */
  const char *x;
  char *out;
  size_t esize;
  int64_t n;
} transpose_job_t;

#define GATHER(T)                                                          \
  do {                                                                     \
    typedef T elem_t EW_ANY_ALIGN;                                         \
    const elem_t *src = (const elem_t *)job->x + off;                      \
    elem_t *dst = (elem_t *)job->out + pos;                                \
    for (int64_t i = 0; i < len; i++) dst[i] = src[i * s];                 \
  } while (0)

static void transpose_task(void *ctx, int64_t t) {
  const transpose_job_t *job = ctx;
  const int last = job->rank - 1;
  const int64_t inner = job->dim[last], s = job->stride[last];
  const int64_t lo = t * EW_TASK_ELEMS;
  const int64_t hi = lo + EW_TASK_ELEMS < job->n ? lo + EW_TASK_ELEMS : job->n;
  int64_t idx[TFM_MAX_RANK], off = 0, rem = lo;
  for (int i = last; i >= 0; i--) {
    idx[i] = rem % job->dim[i];
    rem /= job->dim[i];
    off += idx[i] * job->stride[i];
  }
  int64_t pos = lo;
  while (pos < hi) {
    int64_t len = inner - idx[last];
    if (len > hi - pos) len = hi - pos;
    switch (job->esize) {
      case 1: GATHER(uint8_t); break;
      case 4: GATHER(uint32_t); break;
      default: GATHER(uint64_t); break;
    }
    pos += len;
    if (pos >= hi) break;
    off -= idx[last] * s; /* back to the row's start, then on to the next row */
    idx[last] = 0;
    for (int i = last - 1; i >= 0; i--) {
      off += job->stride[i];
      if (++idx[i] < job->dim[i]) break;
      off -= job->dim[i] * job->stride[i];
      idx[i] = 0;
    }
  }
}

tfm_code kern_transpose(const tensor_t *x, const int *perm, tensor_t *out, tfm_status *st) {
  char sx[SHAPE_STR_MAX], so[SHAPE_STR_MAX];
  if (!x || !perm || !out) return status_set(st, TFM_INVALID_ARGUMENT, "Transpose: NULL argument");
  if (x->dtype != out->dtype || x->dtype == TFM_STRING || !dtype_is_valid(x->dtype))
    return status_set(st, TFM_INVALID_ARGUMENT, "Transpose: dtypes %s -> %s (need one non-string dtype)",
                      dtype_name(x->dtype), dtype_name(out->dtype));
  const int r = x->shape.rank;
  bool seen[TFM_MAX_RANK] = {false};
  bool ok = out->shape.rank == r;
  for (int i = 0; ok && i < r; i++) {
    ok = perm[i] >= 0 && perm[i] < r && !seen[perm[i]] &&
         out->shape.dim[i] == x->shape.dim[perm[i]];
    if (ok) seen[perm[i]] = true;
  }
  if (!ok) {
    char sp[TFM_MAX_RANK * 12 + 3] = "[";
    for (int i = 0; i < r; i++)
      snprintf(sp + strlen(sp), sizeof sp - strlen(sp), "%s%d", i ? "," : "", perm[i]);
    strcat(sp, "]");
    return status_set(st, TFM_INVALID_ARGUMENT,
                      "Transpose: perm %s does not map input %s to output %s", sp,
                      shape_str(&x->shape, sx), shape_str(&out->shape, so));
  }
  const int64_t n = x->num_elements;
  if (n == 0) return status_ok(st);

  int64_t in_stride[TFM_MAX_RANK], s = 1;
  for (int k = r - 1; k >= 0; k--) {
    in_stride[k] = s;
    s *= x->shape.dim[k];
  }
  transpose_job_t job = {.x = x->data, .out = out->data, .esize = dtype_size(x->dtype), .n = n};
  int m = 0;
  for (int i = 0; i < r; i++) {
    const int64_t d = x->shape.dim[perm[i]], st_i = in_stride[perm[i]];
    if (d == 1) continue;
    if (m > 0 && job.stride[m - 1] == st_i * d) { /* contiguous with the previous dim */
      job.dim[m - 1] *= d;
      job.stride[m - 1] = st_i;
      continue;
    }
    job.dim[m] = d;
    job.stride[m] = st_i;
    m++;
  }
  if (m == 0 || (m == 1 && job.stride[0] == 1)) { /* no data moves */
    if (out->data != x->data) memcpy(out->data, x->data, x->nbytes);
    return status_ok(st);
  }
  job.rank = m;
  if (n <= EW_TASK_ELEMS) transpose_task(&job, 0);
  else pool_parallel_for(ew_num_tasks(n), transpose_task, &job);
  return status_ok(st);
}
