/* Control ops: NoOp (and tf.group over it) and StopGradient. */
#include "ops/build.h"
#include "tfmini/ops.h"

static tfm_code noop_compute(kctx_t *c) {
  (void)c;
  return TFM_OK;
}

static tfm_code pass_through(kctx_t *c) {
  kctx_set_output(c, 0, c->in[0]);
  return TFM_OK;
}

static const attr_def_t t_attrs[] = {{"T", ATTR_TYPE, {0}}, {NULL}};

const op_def_t ops_control[] = {
    {.name = "NoOp", .compute = noop_compute, .flags = OP_NO_GRADIENT},
    {.name = "StopGradient", .n_inputs = 1, .n_outputs = 1, .attrs = t_attrs,
     .infer = infer_same_as_input0, .compute = pass_through, .flags = OP_NO_GRADIENT},
    {NULL}};

TFM_API tfm_output *tfm_stop_gradient(tfm_graph *g, tfm_output *x, const char *name, tfm_status *st) {
  if (!builder_inputs_ok("tfm_stop_gradient", st, 1, x)) return NULL;
  return op_build(graph_or_default(g), "StopGradient", name, &x, 1, NULL, 0, st);
}

TFM_API tfm_op *tfm_no_op(tfm_graph *g, const char *name, tfm_status *st) {
  return graph_add_op(graph_or_default(g), "NoOp", name, false, NULL, 0, NULL, 0, NULL, 0, st);
}

TFM_API tfm_op *tfm_group(tfm_graph *g, tfm_op *const *ops, int n, const char *name, tfm_status *st) {
  if (n < 0 || (n && !ops)) {
    status_set(st, TFM_INVALID_ARGUMENT, "tfm_group: %d ops given as NULL", n);
    return NULL;
  }
  for (int i = 0; i < n; i++)
    if (!ops[i]) {
      if (status_code(st) == TFM_OK) status_set(st, TFM_INVALID_ARGUMENT, "tfm_group: op %d is NULL", i);
      return NULL;
    }
  return graph_add_op(graph_or_default(g), "NoOp", name ? name : "group_deps", false, NULL, 0, NULL,
                      0, ops, n, st);
}
