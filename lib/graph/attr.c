/* Attribute values: deep copy, release and comparison. Tensors are shared by
 * reference because attr tensors are never written after the node is built. */
#include "graph/attr.h"

#include <string.h>

#include "core/mem.h"

static bool list_kind(attr_kind_t k) {
  return k >= ATTR_LIST_S && k <= ATTR_LIST_SHAPE;
}

static size_t list_elem_size(attr_kind_t k) {
  switch (k) {
    case ATTR_LIST_S: return sizeof(tstring_t);
    case ATTR_LIST_I: return sizeof(int64_t);
    case ATTR_LIST_F: return sizeof(float);
    case ATTR_LIST_B: return sizeof(bool);
    case ATTR_LIST_TYPE: return sizeof(int);
    case ATTR_LIST_SHAPE: return sizeof(shape_t);
    default: return 0;
  }
}

/* The one array of a list value, by kind. */
static void **list_slot(attr_value_t *v) {
  switch (v->kind) {
    case ATTR_LIST_S: return (void **)&v->u.list.s;
    case ATTR_LIST_I: return (void **)&v->u.list.i;
    case ATTR_LIST_F: return (void **)&v->u.list.f;
    case ATTR_LIST_B: return (void **)&v->u.list.b;
    case ATTR_LIST_TYPE: return (void **)&v->u.list.type;
    case ATTR_LIST_SHAPE: return (void **)&v->u.list.shape;
    default: return NULL;
  }
}

static tfm_code copy_bytes(const tstring_t *src, tstring_t *dst, tfm_status *st) {
  dst->len = src->len;
  dst->data = NULL;
  if (!src->data && src->len == 0) return TFM_OK;
  dst->data = mem_alloc(src->len + 1);
  if (!dst->data) return status_set(st, TFM_RESOURCE_EXHAUSTED, "attr: out of memory");
  if (src->len) memcpy(dst->data, src->data, src->len);
  dst->data[src->len] = '\0';
  return TFM_OK;
}

tfm_code attr_value_copy(const attr_value_t *src, attr_value_t *dst, tfm_status *st) {
  memset(dst, 0, sizeof *dst);
  dst->kind = src->kind;
  switch (src->kind) {
    case ATTR_S:
    case ATTR_FUNC:
      if (copy_bytes(&src->u.s, &dst->u.s, st) != TFM_OK) {
        dst->kind = ATTR_NONE;
        return TFM_RESOURCE_EXHAUSTED;
      }
      return TFM_OK;
    case ATTR_TENSOR:
      dst->u.tensor = tensor_ref(src->u.tensor);
      return TFM_OK;
    default:
      break;
  }
  if (!list_kind(src->kind)) {
    dst->u = src->u;
    return TFM_OK;
  }
  int n = src->u.list.n;
  dst->u.list.n = 0;
  if (n == 0) return TFM_OK;
  size_t esz = list_elem_size(src->kind);
  void *arr = mem_calloc((size_t)n, esz);
  if (!arr) {
    dst->kind = ATTR_NONE;
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "attr: out of memory");
  }
  *list_slot(dst) = arr;
  const void *from = *list_slot((attr_value_t *)src);
  if (src->kind != ATTR_LIST_S) {
    memcpy(arr, from, (size_t)n * esz);
    dst->u.list.n = n;
    return TFM_OK;
  }
  for (int i = 0; i < n; i++) {
    if (copy_bytes(&src->u.list.s[i], &dst->u.list.s[i], st) != TFM_OK) {
      attr_value_clear(dst);
      return TFM_RESOURCE_EXHAUSTED;
    }
    dst->u.list.n = i + 1;
  }
  return TFM_OK;
}

void attr_value_clear(attr_value_t *v) {
  if (!v) return;
  switch (v->kind) {
    case ATTR_S:
    case ATTR_FUNC:
      mem_free(v->u.s.data);
      break;
    case ATTR_TENSOR:
      tensor_unref(v->u.tensor);
      break;
    default:
      if (list_kind(v->kind)) {
        if (v->kind == ATTR_LIST_S)
          for (int i = 0; i < v->u.list.n; i++) mem_free(v->u.list.s[i].data);
        mem_free(*list_slot(v));
      }
      break;
  }
  memset(v, 0, sizeof *v);
}

static bool bytes_equal(const tstring_t *a, const tstring_t *b) {
  return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static bool tensor_equal(const tensor_t *a, const tensor_t *b) {
  if (a == b) return true;
  if (!a || !b || a->dtype != b->dtype || !shape_equal(&a->shape, &b->shape)) return false;
  if (a->dtype != TFM_STRING) return a->nbytes == b->nbytes && memcmp(a->data, b->data, a->nbytes) == 0;
  for (int64_t i = 0; i < a->num_elements; i++)
    if (!bytes_equal(&TENSOR_STR(a)[i], &TENSOR_STR(b)[i])) return false;
  return true;
}

bool attr_value_equal(const attr_value_t *a, const attr_value_t *b) {
  /* An empty list equals an empty list of any kind. */
  bool a_empty = a->kind == ATTR_LIST_EMPTY || (list_kind(a->kind) && a->u.list.n == 0);
  bool b_empty = b->kind == ATTR_LIST_EMPTY || (list_kind(b->kind) && b->u.list.n == 0);
  if (a_empty || b_empty) return a_empty && b_empty;
  if (a->kind != b->kind) return false;
  switch (a->kind) {
    case ATTR_NONE: return true;
    case ATTR_S:
    case ATTR_FUNC: return bytes_equal(&a->u.s, &b->u.s);
    case ATTR_I: return a->u.i == b->u.i;
    case ATTR_F: return a->u.f == b->u.f || (a->u.f != a->u.f && b->u.f != b->u.f);
    case ATTR_B: return a->u.b == b->u.b;
    case ATTR_TYPE: return a->u.type == b->u.type;
    case ATTR_SHAPE: return shape_equal(&a->u.shape, &b->u.shape);
    case ATTR_TENSOR: return tensor_equal(a->u.tensor, b->u.tensor);
    default: break;
  }
  int n = a->u.list.n;
  if (n != b->u.list.n) return false;
  for (int i = 0; i < n; i++) {
    bool same;
    switch (a->kind) {
      case ATTR_LIST_S: same = bytes_equal(&a->u.list.s[i], &b->u.list.s[i]); break;
      case ATTR_LIST_I: same = a->u.list.i[i] == b->u.list.i[i]; break;
      case ATTR_LIST_F: same = a->u.list.f[i] == b->u.list.f[i]; break;
      case ATTR_LIST_B: same = a->u.list.b[i] == b->u.list.b[i]; break;
      case ATTR_LIST_TYPE: same = a->u.list.type[i] == b->u.list.type[i]; break;
      case ATTR_LIST_SHAPE: same = shape_equal(&a->u.list.shape[i], &b->u.list.shape[i]); break;
      default: same = false; break;
    }
    if (!same) return false;
  }
  return true;
}
