/* Parsing ops of TensorFlow's serving graphs. ParseExample (tf.parse_example:
 * serialized tf.train.Example protos -> dense and sparse tensors) sits in the
 * SavedModels TensorFlow Serving exports (the "tf_example" input of
 * classify/regress signatures). libtfmini imports it with its outputs' dtypes and
 * shapes, so such a graph loads and its other signatures run; it has no kernel:
 * a run that needs it fails naming the op. */
#include <string.h>

#include "ops/build.h"

static const attr_def_t parse_example_attrs[] = {
    {"Nsparse", ATTR_I, {0}},
    {"Ndense", ATTR_I, {0}},
    {"sparse_types", ATTR_LIST_TYPE, {0}},
    {"Tdense", ATTR_LIST_TYPE, {0}},
    {"dense_shapes", ATTR_LIST_SHAPE, {0}},
    {NULL}};

/* Ndense or Nsparse; -1 when absent or absurd. */
static int64_t count_attr(const node_t *n, const char *name) {
  int64_t v = node_attr_int(n, name, -1);
  return v < 0 || v > 10000 ? -1 : v;
}

static int parse_example_num_outputs(const node_t *n) {
  int64_t s = count_attr(n, "Nsparse"), d = count_attr(n, "Ndense");
  return s < 0 || d < 0 ? -1 : (int)(3 * s + d);
}

static int list_len(const node_t *n, const char *name) {
  const attr_value_t *v = node_attr(n, name);
  return !v || v->kind == ATTR_LIST_EMPTY ? 0 : v->u.list.n;
}

/* Outputs: sparse_indices[Nsparse] int64 [?,2], sparse_values[Nsparse] [?],
 * sparse_shapes[Nsparse] int64 [2], dense_values[Ndense] [batch] + dense_shapes. */
static tfm_code parse_example_infer(node_t *n, tfm_status *st) {
  int64_t ns = count_attr(n, "Nsparse"), nd = count_attr(n, "Ndense");
  if (n->n_inputs != 2 + ns + 2 * nd)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "expects %lld inputs (Nsparse %lld, Ndense %lld), got %d",
                      (long long)(2 + ns + 2 * nd), (long long)ns, (long long)nd, n->n_inputs);
  if (list_len(n, "sparse_types") != ns || list_len(n, "Tdense") != nd || list_len(n, "dense_shapes") != nd)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "sparse_types, Tdense and dense_shapes must list Nsparse / "
                      "Ndense entries");
  if (n->inputs[0]->dtype != TFM_STRING)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "serialized must be a string tensor");
  const shape_t *in = &n->inputs[0]->shape;
  int64_t batch = in->rank == 1 ? in->dim[0] : SHAPE_UNKNOWN_DIM;
  const attr_value_t *stypes = node_attr(n, "sparse_types"), *dtypes = node_attr(n, "Tdense"),
                     *dshapes = node_attr(n, "dense_shapes");
  for (int64_t i = 0; i < ns; i++) {
    int64_t idx[2] = {SHAPE_UNKNOWN_DIM, 2};
    output_t *o = &n->outputs[i];
    o->dtype = TFM_INT64;
    shape_make(idx, 2, true, &o->shape, NULL, NULL);
    o = &n->outputs[ns + i];
    o->dtype = (tfm_dtype)stypes->u.list.type[i];
    o->shape = shape_vector(SHAPE_UNKNOWN_DIM);
    o = &n->outputs[2 * ns + i];
    o->dtype = TFM_INT64;
    o->shape = shape_vector(2);
  }
  for (int64_t i = 0; i < nd; i++) {
    output_t *o = &n->outputs[3 * ns + i];
    const shape_t *s = &dshapes->u.list.shape[i];
    o->dtype = (tfm_dtype)dtypes->u.list.type[i];
    if (s->rank == SHAPE_UNKNOWN_RANK || s->rank + 1 > TFM_MAX_RANK) {
      o->shape = shape_unknown();
      continue;
    }
    o->shape.rank = s->rank + 1;
    o->shape.dim[0] = batch;
    memcpy(o->shape.dim + 1, s->dim, (size_t)s->rank * sizeof *s->dim);
  }
  return TFM_OK;
}

const op_def_t ops_parsing[] = {
    {.name = "ParseExample", .num_outputs = parse_example_num_outputs, .attrs = parse_example_attrs,
     .infer = parse_example_infer, .flags = OP_VARIADIC | OP_NO_GRADIENT},
    {NULL}};
