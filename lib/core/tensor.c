/* Tensors: allocation, wrapping, reference counting, string elements. */
#include "core/tensor.h"

#include <string.h>

#include "core/mem.h"

/* Deallocator of a tensor that views another tensor's buffer. */
static void release_base(void *data, size_t len, void *arg) {
  (void)data;
  (void)len;
  tensor_unref(arg);
}

static tensor_t *tensor_header(tfm_dtype dtype, const shape_t *shape, tfm_status *st) {
  if (!dtype_is_valid(dtype)) {
    status_set(st, TFM_INVALID_ARGUMENT, "unsupported dtype %d", (int)dtype);
    return NULL;
  }
  if (shape->rank < 0 || shape->rank > TFM_MAX_RANK || !shape_is_fully_defined(shape)) {
    char buf[SHAPE_STR_MAX];
    status_set(st, TFM_INVALID_ARGUMENT, "tensor shape %s is not a fully defined shape of rank <= %d",
               shape_str(shape, buf), TFM_MAX_RANK);
    return NULL;
  }
  int64_t n;
  if (shape_num_elements(shape, &n, st) != TFM_OK) return NULL;
  size_t nbytes;
  if ((uint64_t)n > SIZE_MAX || mem_mul_overflows((size_t)n, dtype_size(dtype), &nbytes)) {
    char buf[SHAPE_STR_MAX];
    status_set(st, TFM_INVALID_ARGUMENT, "byte size of %s tensor %s overflows", dtype_name(dtype),
               shape_str(shape, buf));
    return NULL;
  }
  tensor_t *t = mem_alloc(sizeof *t);
  if (!t) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory allocating a tensor header");
    return NULL;
  }
  memset(t, 0, sizeof *t);
  atomic_init(&t->refs, 1);
  t->dtype = dtype;
  t->shape = *shape;
  t->num_elements = n;
  t->nbytes = nbytes;
  return t;
}

tensor_t *tensor_new(tfm_dtype dtype, const shape_t *shape, tfm_status *st) {
  tensor_t *t = tensor_header(dtype, shape, st);
  if (!t) return NULL;
  /* Never hand out NULL data, even for empty tensors: kernels may take its address. */
  t->data = mem_alloc_aligned(t->nbytes ? t->nbytes : 1);
  if (!t->data) {
    char buf[SHAPE_STR_MAX];
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory allocating %zu bytes for a %s tensor %s",
               t->nbytes, dtype_name(dtype), shape_str(shape, buf));
    mem_free(t);
    return NULL;
  }
  if (dtype == TFM_STRING) memset(t->data, 0, t->nbytes);
  status_ok(st);
  return t;
}

tensor_t *tensor_over(tfm_dtype dtype, const shape_t *shape, void *data, tfm_status *st) {
  tensor_t *t = tensor_header(dtype, shape, st);
  if (!t) return NULL;
  t->data = data;
  t->borrowed = true;
  return t;
}

tensor_t *tensor_new_zeros(tfm_dtype dtype, const shape_t *shape, tfm_status *st) {
  tensor_t *t = tensor_new(dtype, shape, st);
  if (t) memset(t->data, 0, t->nbytes);
  return t;
}

#define SCALAR_CTOR(name, ctype, dt)                       \
  tensor_t *name(ctype v, tfm_status *st) {                \
    shape_t s = shape_scalar();                            \
    tensor_t *t = tensor_new(dt, &s, st);                  \
    if (t) *(ctype *)t->data = v;                          \
    return t;                                              \
  }
SCALAR_CTOR(tensor_scalar_f32, float, TFM_FLOAT)
SCALAR_CTOR(tensor_scalar_f64, double, TFM_DOUBLE)
SCALAR_CTOR(tensor_scalar_i32, int32_t, TFM_INT32)
SCALAR_CTOR(tensor_scalar_i64, int64_t, TFM_INT64)

tensor_t *tensor_copy(const tensor_t *src, tfm_status *st) {
  tensor_t *t = tensor_new(src->dtype, &src->shape, st);
  if (!t) return NULL;
  if (src->dtype != TFM_STRING) {
    if (src->nbytes) memcpy(t->data, src->data, src->nbytes);
    return t;
  }
  const tstring_t *from = TENSOR_STR(src);
  for (int64_t i = 0; i < src->num_elements; i++) {
    if (tensor_string_set(t, i, from[i].data, from[i].len, st) != TFM_OK) {
      tensor_unref(t);
      return NULL;
    }
  }
  return t;
}

tensor_t *tensor_reshaped(tensor_t *base, const shape_t *shape, tfm_status *st) {
  tensor_t *t = tensor_header(base->dtype, shape, st);
  if (!t) return NULL;
  if (t->num_elements != base->num_elements) {
    char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
    status_set(st, TFM_INVALID_ARGUMENT, "cannot reshape a tensor of shape %s (%lld elements) to %s",
               shape_str(&base->shape, a), (long long)base->num_elements, shape_str(shape, b));
    mem_free(t);
    return NULL;
  }
  if (tensor_view_base(base)) base = tensor_view_base(base);
  t->data = base->data;
  t->borrowed = true;
  t->dealloc = release_base;
  t->dealloc_arg = tensor_ref(base);
  return t;
}

bool tensor_is_view(const tensor_t *t) { return t->dealloc == release_base; }

tensor_t *tensor_view_base(const tensor_t *t) {
  return t->dealloc == release_base ? t->dealloc_arg : NULL;
}

void tensor_view_rebase(tensor_t *view, tensor_t *base, const shape_t *shape) {
  tensor_t *old = view->dealloc_arg;
  if (base && tensor_view_base(base)) base = tensor_view_base(base);
  if (base) {
    view->dtype = base->dtype;
    view->shape = *shape;
    view->num_elements = base->num_elements;
    view->nbytes = base->nbytes;
    view->data = base->data;
    view->dealloc_arg = tensor_ref(base);
  } else {
    view->data = NULL;
    view->dealloc_arg = NULL;
  }
  tensor_unref(old);
}

void tensor_unref(tensor_t *t) {
  if (!t) return;
  if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1) return;
  if (t->borrowed) {
    if (t->dealloc) t->dealloc(t->data, t->nbytes, t->dealloc_arg);
  } else {
    if (t->dtype == TFM_STRING) {
      tstring_t *s = TENSOR_STR(t);
      for (int64_t i = 0; i < t->num_elements; i++) mem_free(s[i].data);
    }
    mem_free_aligned(t->data);
  }
  mem_free(t);
}

tfm_code tensor_string_set(tensor_t *t, int64_t i, const char *data, size_t len,
                           tfm_status *st) {
  if (t->dtype != TFM_STRING)
    return status_set(st, TFM_INVALID_ARGUMENT, "tensor of dtype %s is not a string tensor",
                      dtype_name(t->dtype));
  if (i < 0 || i >= t->num_elements)
    return status_set(st, TFM_OUT_OF_RANGE, "string index %lld is outside [0, %lld)",
                      (long long)i, (long long)t->num_elements);
  if (len == SIZE_MAX) return status_set(st, TFM_INVALID_ARGUMENT, "string length overflows");
  char *copy = mem_alloc(len + 1);
  if (!copy) return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory for a %zu-byte string", len);
  if (len) memcpy(copy, data, len);
  copy[len] = '\0';
  tstring_t *s = &TENSOR_STR(t)[i];
  mem_free(s->data);
  s->data = copy;
  s->len = len;
  return status_ok(st);
}

double tensor_get_f64(const tensor_t *t, int64_t i) {
  switch (t->dtype) {
    case TFM_FLOAT: return TENSOR_F32(t)[i];
    case TFM_DOUBLE: return TENSOR_F64(t)[i];
    case TFM_INT32: return TENSOR_I32(t)[i];
    case TFM_INT64: return (double)TENSOR_I64(t)[i];
    case TFM_UINT8: case TFM_BOOL: return TENSOR_U8(t)[i];
    default: return 0;
  }
}

int64_t tensor_get_i64(const tensor_t *t, int64_t i) {
  switch (t->dtype) {
    case TFM_FLOAT: return (int64_t)TENSOR_F32(t)[i];
    case TFM_DOUBLE: return (int64_t)TENSOR_F64(t)[i];
    case TFM_INT32: return TENSOR_I32(t)[i];
    case TFM_INT64: return TENSOR_I64(t)[i];
    case TFM_UINT8: case TFM_BOOL: return TENSOR_U8(t)[i];
    default: return 0;
  }
}
