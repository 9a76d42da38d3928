/* Learning-rate schedules (tf.train.exponential_decay, inverse_time_decay), built
 * from math ops over a float32 cast of the global step, with TensorFlow's names:
 * the result op carries the scope's own name ("ExponentialDecay"). */
#include <string.h>

#include "core/mem.h"
#include "core/status.h"
#include "tfmini/ops.h"
#include "tfmini/train.h"
#include "graph/graph.h"
#include "ops/registry.h"

typedef enum { DECAY_EXPONENTIAL, DECAY_INVERSE_TIME } decay_kind_t;

/* global_step / decay_steps as float32, floored when staircase. TensorFlow floors
 * the quotient with Floor; while that op is not registered here, FloorDiv (floor
 * of the float quotient, the same number) stands in. */
static output_t *decay_progress(graph_t *g, output_t *global_step, double decay_steps, bool staircase,
                                tfm_status *st) {
  output_t *step = global_step->dtype == TFM_FLOAT ? global_step : tfm_cast(g, global_step, TFM_FLOAT, "Cast", st);
  output_t *steps = tfm_scalar(g, decay_steps, TFM_FLOAT, "decay_steps", st);
  if (!step || !steps) return NULL;
  attr_t t = ATTR_TYPE_V("T", TFM_FLOAT);
  if (staircase && !op_registry_find("Floor")) {
    output_t *in[] = {step, steps};
    node_t *n = graph_add_op(g, "FloorDiv", "floordiv", false, in, 2, &t, 1, NULL, 0, st);
    return n ? &n->outputs[0] : NULL;
  }
  output_t *p = tfm_div(g, step, steps, "truediv", st);
  if (!p || !staircase) return p;
  node_t *floor = graph_add_op(g, "Floor", "Floor", false, &p, 1, &t, 1, NULL, 0, st);
  return floor ? &floor->outputs[0] : NULL;
}

static output_t *decay(decay_kind_t kind, graph_t *g, double learning_rate, output_t *global_step,
                       double decay_steps, double decay_rate, int staircase, const char *name, tfm_status *st) {
  const char *what = kind == DECAY_EXPONENTIAL ? "ExponentialDecay" : "InverseTimeDecay";
  if (!global_step) {
    status_set(st, TFM_INVALID_ARGUMENT, "%s: global_step is required", what);
    return NULL;
  }
  if (global_step->node->graph != g || global_step->shape.rank > 0 || !dtype_is_numeric(global_step->dtype)) {
    status_set(st, TFM_INVALID_ARGUMENT, "%s: global_step '%s' must be a numeric scalar of this graph", what,
               global_step->node->name);
    return NULL;
  }
  if (!(decay_steps > 0)) {
    status_set(st, TFM_INVALID_ARGUMENT, "%s: decay_steps must be positive, got %g", what, decay_steps);
    return NULL;
  }
  if (graph_push_name_scope(g, name && name[0] ? name : what, st) != TFM_OK) return NULL;
  char *scope = mem_strdup(graph_current_name_scope(g));
  output_t *lr = tfm_scalar(g, learning_rate, TFM_FLOAT, "learning_rate", st);
  output_t *rate = tfm_scalar(g, decay_rate, TFM_FLOAT, "decay_rate", st);
  output_t *p = lr && rate ? decay_progress(g, global_step, decay_steps, staircase != 0, st) : NULL;
  output_t *in[2] = {lr, NULL};
  const char *type = "Mul";
  if (p && kind == DECAY_EXPONENTIAL) {
    in[1] = tfm_pow(g, rate, p, "Pow", st);
  } else if (p) {
    output_t *one = tfm_scalar(g, 1.0, TFM_FLOAT, "Const", st);
    in[1] = tfm_add(g, one, tfm_mul(g, rate, p, "mul", st), "add", st);
    type = "RealDiv";
  }
  output_t *result = NULL;
  if (!scope)
    status_set(st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", what);
  else if (in[1]) {
    attr_t t = ATTR_TYPE_V("T", TFM_FLOAT);
    node_t *n = graph_add_op(g, type, scope, true, in, 2, &t, 1, NULL, 0, st);
    result = n ? &n->outputs[0] : NULL;
  }
  graph_pop_name_scope(g, NULL);
  mem_free(scope);
  return result;
}

TFM_API tfm_output *tfm_train_exponential_decay(tfm_graph *g, double learning_rate, tfm_output *global_step,
                                                double decay_steps, double decay_rate, int staircase,
                                                const char *name, tfm_status *status) {
  tfm_status local;
  tfm_status *st = status ? status : &local;
  status_ok(st);
  return decay(DECAY_EXPONENTIAL, graph_or_default(g), learning_rate, global_step, decay_steps, decay_rate,
               staircase, name, st);
}

TFM_API tfm_output *tfm_train_inverse_time_decay(tfm_graph *g, double learning_rate, tfm_output *global_step,
                                                 double decay_steps, double decay_rate, int staircase,
                                                 const char *name, tfm_status *status) {
  tfm_status local;
  tfm_status *st = status ? status : &local;
  status_ok(st);
  return decay(DECAY_INVERSE_TIME, graph_or_default(g), learning_rate, global_step, decay_steps, decay_rate,
               staircase, name, st);
}
