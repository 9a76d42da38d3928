/* Tensors inside the library. `tfm_tensor` (public, opaque) is this struct.
 * Data is row-major and, for tensors the library allocates, MEM_ALIGN-aligned.
 * Wrapped tensors point into a caller's buffer of any alignment. */
#ifndef TFM_CORE_TENSOR_H
#define TFM_CORE_TENSOR_H

#include <stdatomic.h>
#include <stdbool.h>

#include "core/dtype.h"
#include "core/shape.h"

struct tfm_tensor {
  _Atomic int refs;
  tfm_dtype dtype;
  shape_t shape;       /* always fully defined */
  int64_t num_elements;
  size_t nbytes;       /* num_elements * dtype_size (tstring_t array for strings) */
  void *data;
  bool borrowed;           /* data belongs to someone else (wrapped or a view) */
  tfm_deallocator dealloc; /* for borrowed data: called at the end (may be NULL) */
  void *dealloc_arg;
  /* The executor's value slot whose kctx_alloc_output made it (NULL otherwise): a
   * hint that lets a run drop other slots' references to it, so the next run
   * can reuse the buffer. Never needed for correctness (refs is). */
  void *owner;
  bool in_arena;           /* data lies in a plan frame's arena (runtime/memplan.h):
                              never handed to a caller, who gets a copy */
};

typedef struct tfm_tensor tensor_t;

/* New tensor with uninitialised data (strings: zeroed). Caller owns one reference.
 * INVALID_ARGUMENT (dtype, shape, overflow) or RESOURCE_EXHAUSTED. */
tensor_t *tensor_new(tfm_dtype dtype, const shape_t *shape, tfm_status *st);
/* A tensor over `data`, which the caller keeps alive longer than the tensor
 * (borrowed, nothing to free). Errors: those of tensor_new. */
tensor_t *tensor_over(tfm_dtype dtype, const shape_t *shape, void *data, tfm_status *st);
/* Same, zero-filled. */
tensor_t *tensor_new_zeros(tfm_dtype dtype, const shape_t *shape, tfm_status *st);
/* Scalar constructors (for ops and tests). */
tensor_t *tensor_scalar_f32(float v, tfm_status *st);
tensor_t *tensor_scalar_f64(double v, tfm_status *st);
tensor_t *tensor_scalar_i32(int32_t v, tfm_status *st);
tensor_t *tensor_scalar_i64(int64_t v, tfm_status *st);
/* A deep copy (strings copied too). */
tensor_t *tensor_copy(const tensor_t *t, tfm_status *st);
/* A tensor sharing t's buffer with another shape of the same element count
 * (Reshape without copying): the new tensor holds a reference to t (to t's own
 * base when t is itself such a view, so chains of views stay one level deep). */
tensor_t *tensor_reshaped(tensor_t *t, const shape_t *shape, tfm_status *st);
/* Is t a view made by tensor_reshaped (possibly detached, see below)? */
bool tensor_is_view(const tensor_t *t);
/* The tensor whose buffer a view shares; NULL for other tensors and detached views. */
tensor_t *tensor_view_base(const tensor_t *t);
/* Re-points a view made by tensor_reshaped that nobody else holds (refs 1) at
 * base's buffer with `shape` (same element count, checked by the caller), so a
 * view header can serve again; base NULL detaches it (releases the old base).
 * The executor uses this to run Reshape without allocating. */
void tensor_view_rebase(tensor_t *view, tensor_t *base, const shape_t *shape);

static inline tensor_t *tensor_ref(tensor_t *t) {
  if (t) atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
  return t;
}
void tensor_unref(tensor_t *t);

/* Sets string element i (copies bytes). */
tfm_code tensor_string_set(tensor_t *t, int64_t i, const char *data, size_t len,
                           tfm_status *st);

/* Reads element i of any numeric/bool tensor as double / int64 (for shape-like
 * inputs such as axes and dims). */
double tensor_get_f64(const tensor_t *t, int64_t i);
int64_t tensor_get_i64(const tensor_t *t, int64_t i);

/* Typed views; the caller knows the dtype. */
#define TENSOR_F32(t) ((float *)(t)->data)
#define TENSOR_F64(t) ((double *)(t)->data)
#define TENSOR_I32(t) ((int32_t *)(t)->data)
#define TENSOR_I64(t) ((int64_t *)(t)->data)
#define TENSOR_U8(t) ((uint8_t *)(t)->data)
#define TENSOR_BOOL(t) ((uint8_t *)(t)->data)
#define TENSOR_STR(t) ((tstring_t *)(t)->data)

#endif
