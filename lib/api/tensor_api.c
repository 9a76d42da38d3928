/* Public tensor API: argument checks over core/tensor. */
#include <stdint.h>
#include <string.h>

#include "core/mem.h"
#include "core/tensor.h"
#include "core/threadpool.h"

TFM_API tfm_tensor *tfm_tensor_new(tfm_dtype dtype, const int64_t *dims, int rank,
                                   tfm_status *status) {
  shape_t shape;
  if (shape_make(dims, rank, false, &shape, "tfm_tensor_new", status) != TFM_OK) return NULL;
  return tensor_new_zeros(dtype, &shape, status);
}

TFM_API tfm_tensor *tfm_tensor_wrap(tfm_dtype dtype, const int64_t *dims, int rank, void *data,
                                    size_t len, tfm_deallocator deallocator, void *arg,
                                    tfm_status *status) {
  tensor_t *t = NULL;
  shape_t shape;
  if (dtype == TFM_STRING) {
    status_set(status, TFM_INVALID_ARGUMENT, "tfm_tensor_wrap: string tensors cannot wrap a buffer");
  } else if (!dtype_is_valid(dtype)) {
    status_set(status, TFM_INVALID_ARGUMENT, "tfm_tensor_wrap: unsupported dtype %d", (int)dtype);
  } else if (shape_make(dims, rank, false, &shape, "tfm_tensor_wrap", status) == TFM_OK) {
    int64_t n;
    size_t want;
    if (shape_num_elements(&shape, &n, status) == TFM_OK) {
      if (mem_mul_overflows((size_t)n, dtype_size(dtype), &want) || want != len) {
        char buf[SHAPE_STR_MAX];
        status_set(status, TFM_INVALID_ARGUMENT,
                   "tfm_tensor_wrap: len is %zu bytes but a %s tensor %s needs %zu", len,
                   dtype_name(dtype), shape_str(&shape, buf), want);
      } else if (!data && len) {
        status_set(status, TFM_INVALID_ARGUMENT, "tfm_tensor_wrap: data is NULL");
      } else if ((uintptr_t)data % dtype_size(dtype) != 0) {
        /* Kernels read elements through typed pointers: C needs element alignment. */
        status_set(status, TFM_INVALID_ARGUMENT,
                   "tfm_tensor_wrap: data %p is not aligned to the %zu-byte size of %s", data,
                   dtype_size(dtype), dtype_name(dtype));
      } else if ((t = mem_alloc(sizeof *t)) == NULL) {
        status_set(status, TFM_RESOURCE_EXHAUSTED, "tfm_tensor_wrap: out of memory");
      } else {
        memset(t, 0, sizeof *t);
        atomic_init(&t->refs, 1);
        t->dtype = dtype;
        t->shape = shape;
        t->num_elements = n;
        t->nbytes = len;
        t->data = data;
        t->borrowed = true;
        t->dealloc = deallocator;
        t->dealloc_arg = arg;
        status_ok(status);
        return t;
      }
    }
  }
  if (deallocator) deallocator(data, len, arg);
  return NULL;
}

TFM_API tfm_tensor *tfm_tensor_retain(tfm_tensor *tensor) { return tensor_ref(tensor); }
TFM_API void tfm_tensor_release(tfm_tensor *tensor) { tensor_unref(tensor); }
TFM_API tfm_dtype tfm_tensor_dtype(const tfm_tensor *t) { return t ? t->dtype : TFM_INVALID; }
TFM_API int tfm_tensor_rank(const tfm_tensor *t) { return t ? t->shape.rank : -1; }
TFM_API int64_t tfm_tensor_dim(const tfm_tensor *t, int axis) {
  return t && axis >= 0 && axis < t->shape.rank ? t->shape.dim[axis] : -1;
}
TFM_API int64_t tfm_tensor_num_elements(const tfm_tensor *t) { return t ? t->num_elements : 0; }
TFM_API size_t tfm_tensor_nbytes(const tfm_tensor *t) {
  return t && t->dtype != TFM_STRING ? t->nbytes : 0;
}
TFM_API void *tfm_tensor_data(tfm_tensor *t) {
  return t && t->dtype != TFM_STRING ? t->data : NULL;
}

TFM_API tfm_code tfm_tensor_string_get(const tfm_tensor *t, int64_t index, const char **data,
                                       size_t *len, tfm_status *status) {
  if (!t || !data || !len)
    return status_set(status, TFM_INVALID_ARGUMENT, "tfm_tensor_string_get: NULL argument");
  if (t->dtype != TFM_STRING)
    return status_set(status, TFM_INVALID_ARGUMENT,
                      "tfm_tensor_string_get: tensor of dtype %s is not a string tensor",
                      dtype_name(t->dtype));
  if (index < 0 || index >= t->num_elements)
    return status_set(status, TFM_OUT_OF_RANGE,
                      "tfm_tensor_string_get: index %lld is outside [0, %lld)", (long long)index,
                      (long long)t->num_elements);
  const tstring_t *s = &TENSOR_STR(t)[index];
  *data = s->data ? s->data : "";
  *len = s->len;
  return status_ok(status);
}

TFM_API tfm_code tfm_tensor_string_set(tfm_tensor *t, int64_t index, const char *data, size_t len,
                                       tfm_status *status) {
  if (!t || (!data && len))
    return status_set(status, TFM_INVALID_ARGUMENT, "tfm_tensor_string_set: NULL argument");
  return tensor_string_set(t, index, data, len, status);
}

TFM_API tfm_code tfm_set_num_threads(int num_threads, tfm_status *status) {
  return pool_set_num_threads(num_threads, status);
}

TFM_API int tfm_get_num_threads(void) { return pool_num_threads(); }
