/* libtfmini: dtypes and tensors.
 *
 * A tensor is a dtype, a shape (rank 0 to TFM_MAX_RANK) and one contiguous,
 * row-major, 64-byte-aligned buffer, reference-counted. A tensor may instead wrap
 * a caller's buffer without copying; the caller's deallocator runs when the last
 * reference goes. String tensors hold byte strings (which may contain NULs).
 *
 * Thread safety: retain/release may be called from any thread. Reading a tensor
 * from several threads is safe; writing its data while another thread reads it is
 * the caller's race.
 */
#ifndef TFMINI_TENSOR_H
#define TFMINI_TENSOR_H

#include "defs.h"
#include "status.h"

TFM_BEGIN_DECLS

/* Element types, numbered as TensorFlow's DataType enum. */
typedef enum tfm_dtype {
  TFM_INVALID = 0,
  TFM_FLOAT = 1,
  TFM_DOUBLE = 2,
  TFM_INT32 = 3,
  TFM_UINT8 = 4,
  TFM_STRING = 7,
  TFM_INT64 = 9,
  TFM_BOOL = 10
} tfm_dtype;

/* Bytes per element (0 for TFM_STRING and unknown dtypes). */
TFM_API size_t tfm_dtype_size(tfm_dtype dtype);
/* TensorFlow's name of a dtype ("float32", "int64", ...); "invalid" if unknown. */
TFM_API const char *tfm_dtype_name(tfm_dtype dtype);

typedef struct tfm_tensor tfm_tensor;

/* A new tensor of `dtype` and shape dims[0..rank-1], its buffer zero-filled
 * (string tensors: all empty strings). Caller owns one reference.
 * Errors: INVALID_ARGUMENT (unknown dtype, rank > TFM_MAX_RANK, negative dim,
 * element count or byte size overflows), RESOURCE_EXHAUSTED. */
TFM_API tfm_tensor *tfm_tensor_new(tfm_dtype dtype, const int64_t *dims, int rank,
                                   tfm_status *status);

/* Called when the last reference to a wrapping tensor goes. */
typedef void (*tfm_deallocator)(void *data, size_t len, void *arg);

/* A tensor over the caller's buffer `data` of `len` bytes, without copying.
 * `len` must equal the element count times the dtype size (strings cannot be
 * wrapped). `deallocator` (may be NULL) is called with (data, len, arg) once no
 * reference is left, also when this call fails. `data` must be aligned to
 * the dtype's size (any numpy array is); it need not be aligned for vector loads.
 * Caller owns one reference. Errors: INVALID_ARGUMENT. */
TFM_API tfm_tensor *tfm_tensor_wrap(tfm_dtype dtype, const int64_t *dims, int rank,
                                    void *data, size_t len, tfm_deallocator deallocator,
                                    void *arg, tfm_status *status);

/* Adds a reference; returns `tensor`. */
TFM_API tfm_tensor *tfm_tensor_retain(tfm_tensor *tensor);
/* Drops a reference; the last one frees the tensor. NULL is allowed. */
TFM_API void tfm_tensor_release(tfm_tensor *tensor);

/* The tensor's dtype (TFM_INVALID for NULL) and rank (0 for a scalar or NULL). */
TFM_API tfm_dtype tfm_tensor_dtype(const tfm_tensor *tensor);
TFM_API int tfm_tensor_rank(const tfm_tensor *tensor);
/* Size of dimension `axis` (0 <= axis < rank), or -1 if out of range. */
TFM_API int64_t tfm_tensor_dim(const tfm_tensor *tensor, int axis);
TFM_API int64_t tfm_tensor_num_elements(const tfm_tensor *tensor);
/* Bytes of the element buffer (0 for string tensors). */
TFM_API size_t tfm_tensor_nbytes(const tfm_tensor *tensor);
/* The element buffer, row-major (NULL for string tensors). Owned by the tensor. */
TFM_API void *tfm_tensor_data(tfm_tensor *tensor);

/* String element `index` of a TFM_STRING tensor: *data and *len receive a pointer
 * owned by the tensor (valid until the element is set again or the tensor freed).
 * Errors: INVALID_ARGUMENT (not a string tensor), OUT_OF_RANGE. */
TFM_API tfm_code tfm_tensor_string_get(const tfm_tensor *tensor, int64_t index,
                                       const char **data, size_t *len, tfm_status *status);
/* Copies `len` bytes into string element `index`. Errors as above, RESOURCE_EXHAUSTED. */
TFM_API tfm_code tfm_tensor_string_set(tfm_tensor *tensor, int64_t index, const char *data,
                                       size_t len, tfm_status *status);

/* Sets the number of threads the library's kernels use (1 = run on the calling
 * thread only; 0 = one per core, the default). Results are bit-identical whatever
 * the number. Call it while no session runs. Errors: INVALID_ARGUMENT (< 0). */
TFM_API tfm_code tfm_set_num_threads(int num_threads, tfm_status *status);
/* The number of threads kernels use now. */
TFM_API int tfm_get_num_threads(void);

TFM_END_DECLS

#endif
