/* Attribute values of graph nodes: the AttrValue of TensorFlow's NodeDef. */
#ifndef TFM_GRAPH_ATTR_H
#define TFM_GRAPH_ATTR_H

#include <stdbool.h>

#include "core/tensor.h"

typedef enum attr_kind {
  ATTR_NONE = 0,
  ATTR_S, ATTR_I, ATTR_F, ATTR_B, ATTR_TYPE, ATTR_SHAPE, ATTR_TENSOR,
  ATTR_LIST_S, ATTR_LIST_I, ATTR_LIST_F, ATTR_LIST_B, ATTR_LIST_TYPE, ATTR_LIST_SHAPE,
  ATTR_LIST_EMPTY, /* an empty list of unknown kind (`list {}` in a GraphDef) */
  ATTR_FUNC        /* kept by name only; ops with functions are not run */
} attr_kind_t;

typedef struct attr_value {
  attr_kind_t kind;
  union {
    tstring_t s;        /* ATTR_S, ATTR_FUNC (the function name) */
    int64_t i;
    float f;
    bool b;
    int type;           /* a DataType number; may be one we cannot run (DT_HALF) */
    shape_t shape;      /* may be partly unknown */
    tensor_t *tensor;   /* owned reference */
    struct {
      int n;
      tstring_t *s;
      int64_t *i;
      float *f;
      bool *b;
      int *type;
      shape_t *shape;
    } list;             /* one array set, by kind */
  } u;
} attr_value_t;

typedef struct attr {
  char *name;
  attr_value_t value;
} attr_t;

/* Deep copy (tensors are shared by reference: attr tensors are immutable). */
tfm_code attr_value_copy(const attr_value_t *src, attr_value_t *dst, tfm_status *st);
void attr_value_clear(attr_value_t *v);
bool attr_value_equal(const attr_value_t *a, const attr_value_t *b);

/* Compound-literal helpers for building attr arrays in op builders:
 *   attr_t attrs[] = {ATTR_TYPE_V("T", TFM_FLOAT), ATTR_B_V("transpose_a", false)}; */
#define ATTR_I_V(nm, v) ((attr_t){.name = (char *)(nm), .value = {.kind = ATTR_I, .u.i = (v)}})
#define ATTR_F_V(nm, v) ((attr_t){.name = (char *)(nm), .value = {.kind = ATTR_F, .u.f = (v)}})
#define ATTR_B_V(nm, v) ((attr_t){.name = (char *)(nm), .value = {.kind = ATTR_B, .u.b = (v)}})
#define ATTR_TYPE_V(nm, v) ((attr_t){.name = (char *)(nm), .value = {.kind = ATTR_TYPE, .u.type = (v)}})
#define ATTR_SHAPE_V(nm, v) ((attr_t){.name = (char *)(nm), .value = {.kind = ATTR_SHAPE, .u.shape = (v)}})
#define ATTR_TENSOR_V(nm, v) ((attr_t){.name = (char *)(nm), .value = {.kind = ATTR_TENSOR, .u.tensor = (v)}})
#define ATTR_S_V(nm, str) \
  ((attr_t){.name = (char *)(nm), .value = {.kind = ATTR_S, .u.s = {(char *)(str), sizeof(str) - 1}}})

#endif
