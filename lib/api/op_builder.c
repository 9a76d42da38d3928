/* The generic op builder (tfm_op_builder_*): collects inputs and attrs for any
 * registered op type, then adds the op through graph_add_op. Setters cannot
 * fail visibly; the first error they meet is kept and reported by finish(). */
#include <string.h>

#include "core/mem.h"
#include "graph/graph.h"
#include "ops/registry.h"
#include "tfmini/graph.h"

struct tfm_op_builder {
  graph_t *g;
  char *type, *name;
  output_t **inputs;
  int n_inputs, cap_inputs;
  node_t **control;
  int n_control, cap_control;
  attr_t *attrs;
  int n_attrs, cap_attrs;
  tfm_code err;
  char err_msg[256];
};

static void fail(tfm_op_builder *b, tfm_code code, const char *msg, const char *what) {
  if (b->err != TFM_OK) return;
  b->err = code;
  size_t n = strlen(msg), w = strlen(what);
  if (n + w + 1 >= sizeof b->err_msg) w = sizeof b->err_msg - n - 2;
  memcpy(b->err_msg, msg, n);
  memcpy(b->err_msg + n, what, w);
  b->err_msg[n + w] = '\0';
}

static bool grow(tfm_op_builder *b, void **arr, int *cap, int need, size_t esz) {
  if (need <= *cap) return true;
  int c = *cap ? *cap * 2 : 8;
  while (c < need) c *= 2;
  void *p = mem_realloc(*arr, (size_t)c * esz);
  if (!p) {
    fail(b, TFM_RESOURCE_EXHAUSTED, "out of memory", "");
    return false;
  }
  *arr = p;
  *cap = c;
  return true;
}

TFM_API tfm_op_builder *tfm_op_builder_new(tfm_graph *graph, const char *type, const char *name,
                                           tfm_status *st) {
  if (!type) {
    status_set(st, TFM_INVALID_ARGUMENT, "tfm_op_builder_new: type is NULL");
    return NULL;
  }
  if (!op_registry_find(type)) {
    status_set(st, TFM_UNIMPLEMENTED, "node '%s': op type '%s' is not registered", name ? name : type,
               type);
    return NULL;
  }
  tfm_op_builder *b = mem_calloc(1, sizeof *b);
  if (!b || !(b->type = mem_strdup(type)) || (name && !(b->name = mem_strdup(name)))) {
    if (b) mem_free(b->type);
    mem_free(b);
    status_set(st, TFM_RESOURCE_EXHAUSTED, "tfm_op_builder_new: out of memory");
    return NULL;
  }
  b->g = graph_or_default(graph);
  status_ok(st);
  return b;
}

TFM_API void tfm_op_builder_add_input(tfm_op_builder *b, tfm_output *input) {
  if (!b) return;
  if (!input) {
    fail(b, TFM_INVALID_ARGUMENT, "an input is NULL", "");
    return;
  }
  if (grow(b, (void **)&b->inputs, &b->cap_inputs, b->n_inputs + 1, sizeof *b->inputs))
    b->inputs[b->n_inputs++] = input;
}

TFM_API void tfm_op_builder_add_inputs(tfm_op_builder *b, tfm_output *const *inputs, int n) {
  if (!b) return;
  if (n < 0 || (n && !inputs)) {
    fail(b, TFM_INVALID_ARGUMENT, "an input list is NULL", "");
    return;
  }
  for (int i = 0; i < n; i++) tfm_op_builder_add_input(b, inputs[i]);
}

TFM_API void tfm_op_builder_add_control_input(tfm_op_builder *b, tfm_op *op) {
  if (!b) return;
  if (!op) {
    fail(b, TFM_INVALID_ARGUMENT, "a control input is NULL", "");
    return;
  }
  if (grow(b, (void **)&b->control, &b->cap_control, b->n_control + 1, sizeof *b->control))
    b->control[b->n_control++] = op;
}

/* Stores a copy of `v` under `name`, replacing an earlier value. */
static void set_attr(tfm_op_builder *b, const char *name, const attr_value_t *v) {
  if (!b) return;
  if (!name) {
    fail(b, TFM_INVALID_ARGUMENT, "an attr name is NULL", "");
    return;
  }
  attr_value_t copy;
  if (attr_value_copy(v, &copy, NULL) != TFM_OK) {
    fail(b, TFM_RESOURCE_EXHAUSTED, "out of memory for attr ", name);
    return;
  }
  for (int i = 0; i < b->n_attrs; i++)
    if (strcmp(b->attrs[i].name, name) == 0) {
      attr_value_clear(&b->attrs[i].value);
      b->attrs[i].value = copy;
      return;
    }
  char *nm = mem_strdup(name);
  if (!nm || !grow(b, (void **)&b->attrs, &b->cap_attrs, b->n_attrs + 1, sizeof *b->attrs)) {
    mem_free(nm);
    attr_value_clear(&copy);
    fail(b, TFM_RESOURCE_EXHAUSTED, "out of memory for attr ", name);
    return;
  }
  b->attrs[b->n_attrs++] = (attr_t){nm, copy};
}

TFM_API void tfm_op_builder_set_attr_int(tfm_op_builder *b, const char *name, int64_t value) {
  set_attr(b, name, &(attr_value_t){.kind = ATTR_I, .u.i = value});
}
TFM_API void tfm_op_builder_set_attr_float(tfm_op_builder *b, const char *name, float value) {
  set_attr(b, name, &(attr_value_t){.kind = ATTR_F, .u.f = value});
}
TFM_API void tfm_op_builder_set_attr_bool(tfm_op_builder *b, const char *name, int value) {
  set_attr(b, name, &(attr_value_t){.kind = ATTR_B, .u.b = value != 0});
}
TFM_API void tfm_op_builder_set_attr_type(tfm_op_builder *b, const char *name, tfm_dtype value) {
  set_attr(b, name, &(attr_value_t){.kind = ATTR_TYPE, .u.type = value});
}
TFM_API void tfm_op_builder_set_attr_string(tfm_op_builder *b, const char *name, const char *value,
                                            size_t len) {
  if (b && !value && len) {
    fail(b, TFM_INVALID_ARGUMENT, "NULL string for attr ", name ? name : "");
    return;
  }
  set_attr(b, name, &(attr_value_t){.kind = ATTR_S, .u.s = {(char *)value, len}});
}
TFM_API void tfm_op_builder_set_attr_shape(tfm_op_builder *b, const char *name, const int64_t *dims,
                                           int rank) {
  shape_t s = shape_unknown();
  if (b && rank >= 0 && shape_make(dims, rank, true, &s, "attr", NULL) != TFM_OK) {
    fail(b, TFM_INVALID_ARGUMENT, "invalid shape for attr ", name ? name : "");
    return;
  }
  set_attr(b, name, &(attr_value_t){.kind = ATTR_SHAPE, .u.shape = s});
}
TFM_API void tfm_op_builder_set_attr_tensor(tfm_op_builder *b, const char *name, tfm_tensor *value) {
  if (b && !value) {
    fail(b, TFM_INVALID_ARGUMENT, "NULL tensor for attr ", name ? name : "");
    return;
  }
  set_attr(b, name, &(attr_value_t){.kind = ATTR_TENSOR, .u.tensor = value});
}
TFM_API void tfm_op_builder_set_attr_int_list(tfm_op_builder *b, const char *name, const int64_t *values,
                                              int n) {
  if (b && (n < 0 || (n && !values))) {
    fail(b, TFM_INVALID_ARGUMENT, "NULL list for attr ", name ? name : "");
    return;
  }
  set_attr(b, name, &(attr_value_t){.kind = ATTR_LIST_I, .u.list = {.n = n, .i = (int64_t *)values}});
}
TFM_API void tfm_op_builder_set_attr_float_list(tfm_op_builder *b, const char *name, const float *values,
                                                int n) {
  if (b && (n < 0 || (n && !values))) {
    fail(b, TFM_INVALID_ARGUMENT, "NULL list for attr ", name ? name : "");
    return;
  }
  set_attr(b, name, &(attr_value_t){.kind = ATTR_LIST_F, .u.list = {.n = n, .f = (float *)values}});
}
TFM_API void tfm_op_builder_set_attr_type_list(tfm_op_builder *b, const char *name, const tfm_dtype *values,
                                               int n) {
  if (!b) return;
  if (n < 0 || (n && !values)) {
    fail(b, TFM_INVALID_ARGUMENT, "NULL list for attr ", name ? name : "");
    return;
  }
  /* attr lists hold DataType numbers as int; tfm_dtype need not have int's size */
  int *types = n ? mem_calloc((size_t)n, sizeof *types) : NULL;
  if (n && !types) {
    fail(b, TFM_RESOURCE_EXHAUSTED, "out of memory for attr ", name ? name : "");
    return;
  }
  for (int i = 0; i < n; i++) types[i] = values[i];
  set_attr(b, name, &(attr_value_t){.kind = ATTR_LIST_TYPE, .u.list = {.n = n, .type = types}});
  mem_free(types);
}

static void builder_free(tfm_op_builder *b) {
  for (int i = 0; i < b->n_attrs; i++) {
    mem_free(b->attrs[i].name);
    attr_value_clear(&b->attrs[i].value);
  }
  mem_free(b->attrs);
  mem_free(b->inputs);
  mem_free(b->control);
  mem_free(b->type);
  mem_free(b->name);
  mem_free(b);
}

TFM_API tfm_op *tfm_op_builder_finish(tfm_op_builder *b, tfm_status *st) {
  if (!b) {
    if (status_code(st) == TFM_OK) status_set(st, TFM_INVALID_ARGUMENT, "tfm_op_builder_finish: builder is NULL");
    return NULL;
  }
  node_t *n = NULL;
  if (b->err != TFM_OK)
    status_set(st, b->err, "%s '%s': %s", b->type, b->name ? b->name : b->type, b->err_msg);
  else
    n = graph_add_op(b->g, b->type, b->name, false, b->inputs, b->n_inputs, b->attrs, b->n_attrs,
                     b->control, b->n_control, st);
  builder_free(b);
  return n;
}
