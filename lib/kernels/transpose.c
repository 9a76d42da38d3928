/* Transpose: out.dim[i] = x.dim[perm[i]]. Dims of size 1 are dropped and output
 * dims that stay contiguous in x are merged, so a transpose that does not really
 * move data becomes one memcpy and [N,H,W,C] -> [N,C,H,W] becomes a 3-D walk.
 * When x's contiguous dim is not the output's last one, the copy goes by square
 * tiles between those two dims, so both the reads and the writes stay within a
 * few cache lines at a time (a plain gather walks x with a large stride). */
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
  int64_t out_stride[TFM_MAX_RANK];
  int j;                        /* tiled path: the output dim that is contiguous in x */
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
  const int64_t hi = ew_chunk_end(t, job->n);
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

#define TILE 32

/* Through a small buffer: rows of x read whole, then rows of out written
 * whole. Copying directly would touch TILE lines a power-of-two stride apart at
 * once, which share a few cache sets and evict each other. */
#define TILE_COPY(T)                                                       \
  do {                                                                     \
    typedef T elem_t EW_ANY_ALIGN;                                         \
    const elem_t *src = (const elem_t *)job->x + x_base;                   \
    elem_t *dst = (elem_t *)job->out + o_base;                             \
    T *buf = (T *)tile;                                                    \
    for (int64_t q = q0; q < q1; q++)                                      \
      for (int64_t p = p0; p < p1; p++) buf[(q - q0) * TILE + (p - p0)] = src[p + q * qs]; \
    for (int64_t p = p0; p < p1; p++)                                      \
      for (int64_t q = q0; q < q1; q++) dst[p * ps + q] = buf[(q - q0) * TILE + (p - p0)]; \
  } while (0)

/* One task of the tiled path: a band of TILE values of dim j, for one index of
 * the other leading dims, across the whole last dim. */
static void tile_task(void *ctx, int64_t t) {
  const transpose_job_t *job = ctx;
  const int last = job->rank - 1, j = job->j;
  const int64_t dj = job->dim[j], dl = job->dim[last];
  const int64_t bands = (dj + TILE - 1) / TILE;
  const int64_t p0 = (t % bands) * TILE, p1 = p0 + TILE < dj ? p0 + TILE : dj;
  int64_t outer = t / bands, x_base = 0, o_base = 0;
  for (int i = last - 1; i >= 0; i--) {
    if (i == j) continue;
    const int64_t k = outer % job->dim[i];
    outer /= job->dim[i];
    x_base += k * job->stride[i];
    o_base += k * job->out_stride[i];
  }
  const int64_t ps = job->out_stride[j], qs = job->stride[last];
  _Alignas(64) char tile[TILE * TILE * 8];
  for (int64_t q0 = 0; q0 < dl; q0 += TILE) {
    const int64_t q1 = q0 + TILE < dl ? q0 + TILE : dl;
    switch (job->esize) {
      case 1: TILE_COPY(uint8_t); break;
      case 4: TILE_COPY(uint32_t); break;
      default: TILE_COPY(uint64_t); break;
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
  int64_t os = 1;
  job.j = -1;
  for (int i = m - 1; i >= 0; i--) {
    job.out_stride[i] = os;
    os *= job.dim[i];
    if (job.stride[i] == 1 && i != m - 1 && job.dim[i] >= 8 && job.dim[m - 1] >= 8) job.j = i;
  }
  if (job.j >= 0) {
    const int64_t tasks = n / (job.dim[job.j] * job.dim[m - 1]) * ((job.dim[job.j] + TILE - 1) / TILE);
    if (n <= EW_TASK_ELEMS) {
      for (int64_t t = 0; t < tasks; t++) tile_task(&job, t);
    } else {
      pool_parallel_for(tasks, tile_task, &job);
    }
    return status_ok(st);
  }
  ew_run_chunks(n, transpose_task, &job);
  return status_ok(st);
}
