/* Shape-function helpers shared by the op families. */
#include "ops/registry.h"

tfm_code infer_same_as_input0(node_t *n, tfm_status *st) {
  if (n->n_inputs < 1 || n->n_outputs < 1)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "expects an input and an output");
  n->outputs[0].dtype = n->inputs[0]->dtype;
  n->outputs[0].shape = n->inputs[0]->shape;
  return TFM_OK;
}

tfm_code infer_broadcast_binary(node_t *n, tfm_status *st) {
  if (n->n_inputs != 2 || n->n_outputs < 1)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "expects two inputs and an output");
  const output_t *a = n->inputs[0], *b = n->inputs[1];
  char an[256], bn[256], as[SHAPE_STR_MAX], bs[SHAPE_STR_MAX];
  if (a->dtype != b->dtype)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "inputs have different dtypes: %s ('%s') and %s ('%s')",
                      dtype_name(a->dtype), output_name(a, an, sizeof an), dtype_name(b->dtype),
                      output_name(b, bn, sizeof bn));
  if (shape_broadcast(&a->shape, &b->shape, &n->outputs[0].shape, n->name, NULL) != TFM_OK)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "incompatible shapes: %s ('%s') and %s ('%s')",
                      shape_str(&a->shape, as), output_name(a, an, sizeof an),
                      shape_str(&b->shape, bs), output_name(b, bn, sizeof bn));
  n->outputs[0].dtype = a->dtype;
  return TFM_OK;
}

bool input_const_ints(const node_t *n, int input, int64_t *vals, int max, int *count) {
  if (input < 0 || input >= n->n_inputs) return false;
  const tensor_t *t = n->inputs[input]->const_value;
  if (t && t->shape.rank > 1) return false;
  return input_const_ints_flat(n, input, vals, max, count);
}

bool input_const_ints_flat(const node_t *n, int input, int64_t *vals, int max, int *count) {
  if (input < 0 || input >= n->n_inputs) return false;
  const tensor_t *t = n->inputs[input]->const_value;
  if (!t || !dtype_is_integer(t->dtype) || t->num_elements > max) return false;
  for (int64_t i = 0; i < t->num_elements; i++) vals[i] = tensor_get_i64(t, i);
  *count = (int)t->num_elements;
  return true;
}
