/* NumPy broadcasting for the element-wise kernels: a plan that walks an output
 * in row-major order while tracking where each element comes from in one or two
 * inputs. Dims of size 1 are dropped and neighbouring dims that are contiguous in
 * every operand are merged, so [2,3,4] + [4] becomes a walk of 6 runs of 4 with
 * b's offset going back to 0 each run, and same-shape operands become one run. */
#ifndef TFM_KERNELS_EW_BROADCAST_H
#define TFM_KERNELS_EW_BROADCAST_H

#include <stdbool.h>

#include "core/shape.h"
#include "core/threadpool.h"

typedef struct ew_bcast {
  int rank;                         /* >= 1 */
  int64_t dim[TFM_MAX_RANK];        /* merged output dims */
  int64_t a_stride[TFM_MAX_RANK];   /* elements; 0 where a is broadcast */
  int64_t b_stride[TFM_MAX_RANK];
} ew_bcast_t;

/* out = broadcast shape of a and b; false when some dim pair is neither equal
 * nor has a 1 (shapes must be fully defined). */
bool ew_broadcast_shape(const shape_t *a, const shape_t *b, shape_t *out);

/* Plans the walk of `out` (a shape both a and b broadcast to). */
void ew_bcast_plan(const shape_t *a, const shape_t *b, const shape_t *out, ew_bcast_t *plan);

/* One run of the walk: len output elements from out_off on, reading a from
 * a_off with step a_step (0 or 1), b likewise. */
typedef void (*ew_bcast_visit)(void *ctx, int64_t a_off, int64_t b_off, int64_t out_off,
                               int64_t len, int a_step, int b_step);

/* Visits the output elements [lo, hi) run by run. */
void ew_bcast_walk(const ew_bcast_t *plan, int64_t lo, int64_t hi, ew_bcast_visit visit,
                   void *ctx);

/* Elements per parallel task: the split depends only on the sizes. Smaller
 * outputs run inline on the calling thread. */
#define EW_TASK_ELEMS ((int64_t)32768)

static inline int64_t ew_num_tasks(int64_t n) { return (n + EW_TASK_ELEMS - 1) / EW_TASK_ELEMS; }

/* Chunk t of n elements is [t * EW_TASK_ELEMS, ew_chunk_end(t, n)). */
static inline int64_t ew_chunk_end(int64_t t, int64_t n) {
  const int64_t hi = (t + 1) * EW_TASK_ELEMS;
  return hi < n ? hi : n;
}

/* Runs fn(ctx, t) for every chunk of n > 0 elements: inline when there is one
 * (a small tensor pays no pool overhead), over the thread pool otherwise. */
static inline void ew_run_chunks(int64_t n, pool_task_fn fn, void *ctx) {
  if (n <= EW_TASK_ELEMS) fn(ctx, 0);
  else pool_parallel_for(ew_num_tasks(n), fn, ctx);
}

#endif
