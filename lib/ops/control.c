/* Control ops: NoOp (and tf.group over it), StopGradient, and the two ops of tf.cond:
 * Assert(condition, data...) stops a run with the data when condition is false.
 * Switch(data, pred) forwards data to output 1 when pred is true, else to output 0,
 * and leaves the other output dead; Merge(inputs...) forwards its one live input.
 * Ops downstream of a dead output are skipped (the executor propagates deadness along
 * data and control edges, Merge excepted), so only the branch taken runs. */
#include <stdio.h>
#include <string.h>

#include "core/mem.h"

#include "ops/build.h"
#include "ops/grad_build.h"
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

/* ---- Assert(condition, data...): fails the run when condition is false ---- */

static const attr_def_t assert_attrs[] = {
    {"T", ATTR_LIST_TYPE, {.kind = ATTR_LIST_EMPTY}},
    {"summarize", ATTR_I, {.kind = ATTR_I, .u.i = 3}},
    {NULL}};

static tfm_code assert_infer(node_t *n, tfm_status *st) {
  char buf[SHAPE_STR_MAX];
  if (n->n_inputs < 1) return node_error(n, st, TFM_INVALID_ARGUMENT, "needs a condition");
  const output_t *c = n->inputs[0];
  if (c->dtype != TFM_BOOL || c->shape.rank > 0)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "condition must be a bool scalar, got %s %s",
                      dtype_name(c->dtype), shape_str(&c->shape, buf));
  return TFM_OK;
}

/* Appends at most `summarize` elements of t to msg, as TensorFlow's message lists them. */
static void append_summary(char *msg, size_t cap, const tensor_t *t, int64_t summarize) {
  size_t len = strlen(msg);
  int64_t n = t->num_elements < summarize ? t->num_elements : summarize;
  len += (size_t)snprintf(msg + len, len < cap ? cap - len : 0, " [");
  for (int64_t i = 0; i < n && len < cap; i++) {
    const char *sep = i ? " " : "";
    switch (t->dtype) {
    case TFM_STRING: {
      const tstring_t *s = &TENSOR_STR(t)[i];
      len += (size_t)snprintf(msg + len, cap - len, "%s%.*s", sep, (int)(s->len > 200 ? 200 : s->len),
                              s->data ? s->data : "");
      break;
    }
    case TFM_FLOAT: len += (size_t)snprintf(msg + len, cap - len, "%s%g", sep, (double)TENSOR_F32(t)[i]); break;
    case TFM_DOUBLE: len += (size_t)snprintf(msg + len, cap - len, "%s%g", sep, TENSOR_F64(t)[i]); break;
    case TFM_BOOL: len += (size_t)snprintf(msg + len, cap - len, "%s%d", sep, TENSOR_BOOL(t)[i]); break;
    default: len += (size_t)snprintf(msg + len, cap - len, "%s%lld", sep, (long long)tensor_get_i64(t, i)); break;
    }
  }
  if (len < cap) snprintf(msg + len, cap - len, "%s]", t->num_elements > n ? "..." : "");
}

static tfm_code assert_compute(kctx_t *c) {
  if (c->in[0]->num_elements != 1) return kctx_error(c, TFM_INVALID_ARGUMENT, "condition must be a scalar");
  if (TENSOR_BOOL(c->in[0])[0]) return TFM_OK;
  char msg[STATUS_MSG_MAX / 2] = "";
  int64_t summarize = node_attr_int(c->node, "summarize", 3);
  for (int i = 1; i < c->n_in; i++) append_summary(msg, sizeof msg, c->in[i], summarize < 0 ? 3 : summarize);
  return kctx_error(c, TFM_INVALID_ARGUMENT, "assertion failed:%s", msg);
}

/* ---- Switch ---- */

static tfm_code switch_infer(node_t *n, tfm_status *st) {
  const output_t *pred = n->inputs[1];
  char buf[SHAPE_STR_MAX];
  if (pred->dtype != TFM_BOOL || (pred->shape.rank > 0))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "pred must be a bool scalar, got %s %s",
                      dtype_name(pred->dtype), shape_str(&pred->shape, buf));
  for (int i = 0; i < 2; i++) {
    n->outputs[i].dtype = n->inputs[0]->dtype;
    n->outputs[i].shape = n->inputs[0]->shape;
  }
  return TFM_OK;
}

static tfm_code switch_compute(kctx_t *c) {
  const tensor_t *pred = c->in[1];
  if (pred->num_elements != 1) return kctx_error(c, TFM_INVALID_ARGUMENT, "pred must be a scalar");
  int taken = TENSOR_BOOL(pred)[0] ? 1 : 0;
  kctx_set_output(c, taken, c->in[0]);
  kctx_set_dead(c, 1 - taken);
  return TFM_OK;
}

/* The gradient flows back through the branch taken: Merge of the two outputs'
 * gradients, a zero (on the same side, so alive exactly when that side is) standing in
 * for a branch without one. The predicate gets none. */
static tfm_code switch_grad(grad_ctx_t *g) {
  if (!g->dy[0] && !g->dy[1]) return TFM_OK;
  output_t *d[2];
  for (int i = 0; i < 2; i++)
    d[i] = g->dy[i] ? g->dy[i] : gb_unary(g->g, "ZerosLike", &g->op->outputs[i], g->st);
  if (!d[0] || !d[1]) return status_code(g->st);
  attr_t n2 = ATTR_I_V("N", 2);
  g->dx[0] = op_build(g->g, "Merge", NULL, d, 2, &n2, 1, g->st);
  return g->dx[0] ? TFM_OK : status_code(g->st);
}

/* ---- Merge ---- */

static const attr_def_t merge_attrs[] = {{"T", ATTR_TYPE, {0}}, {"N", ATTR_I, {0}}, {NULL}};

static tfm_code merge_infer(node_t *n, tfm_status *st) {
  if (n->n_inputs < 1) return node_error(n, st, TFM_INVALID_ARGUMENT, "needs at least one input");
  if (node_attr_int(n, "N", n->n_inputs) != n->n_inputs)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "N = %lld but %d inputs",
                      (long long)node_attr_int(n, "N", -1), n->n_inputs);
  shape_t s = n->inputs[0]->shape;
  for (int i = 1; i < n->n_inputs; i++) {
    const output_t *in = n->inputs[i];
    if (in->dtype != n->inputs[0]->dtype)
      return node_error(n, st, TFM_INVALID_ARGUMENT, "input %d is %s, input 0 is %s", i,
                        dtype_name(in->dtype), dtype_name(n->inputs[0]->dtype));
    if (in->shape.rank != s.rank) {
      s = shape_unknown();
    } else {
      for (int k = 0; k < s.rank; k++)
        if (in->shape.dim[k] != s.dim[k]) s.dim[k] = -1;
    }
  }
  n->outputs[0].dtype = n->inputs[0]->dtype;
  n->outputs[0].shape = s;
  n->outputs[1].dtype = TFM_INT32;
  n->outputs[1].shape = shape_scalar();
  return TFM_OK;
}

static tfm_code merge_compute(kctx_t *c) {
  for (int j = 0; j < c->n_in; j++) {
    if (kctx_is_dead(c->in[j])) continue;
    shape_t scalar = shape_scalar();
    tensor_t *index = kctx_alloc_output(c, 1, TFM_INT32, &scalar);
    if (!index) return status_code(c->st);
    TENSOR_I32(index)[0] = j;
    kctx_set_output(c, 0, c->in[j]);
    return TFM_OK;
  }
  /* Not reached in a session (all inputs dead: the executor skips the op). */
  return kctx_error(c, TFM_INVALID_ARGUMENT, "no input has a value");
}

/* The Switch that decides which input of a Merge is alive: the nearest one upstream
 * of input 0, along data and control edges (tf.cond's branches start at a Switch). */
static node_t *find_switch(graph_t *g, node_t *merge, tfm_status *st) {
  int cap = g->n_nodes + 1, head = 0, tail = 0;
  node_t **queue = mem_calloc((size_t)cap, sizeof *queue);
  bool *seen = mem_calloc((size_t)cap, sizeof *seen);
  node_t *found = NULL;
  if (!queue || !seen) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory finding the Switch of Merge '%s'", merge->name);
  } else {
    queue[tail++] = merge->inputs[0]->node;
    seen[merge->inputs[0]->node->id] = true;
    while (head < tail && !found) {
      node_t *n = queue[head++];
      if (strcmp(n->type, "Switch") == 0) {
        found = n;
        break;
      }
      for (int i = 0; i < n->n_inputs + n->n_control_inputs; i++) {
        node_t *m = i < n->n_inputs ? n->inputs[i]->node : n->control_inputs[i - n->n_inputs];
        if (m->id >= 0 && m->id < cap && !seen[m->id] && tail < cap) {
          seen[m->id] = true;
          queue[tail++] = m;
        }
      }
    }
  }
  mem_free(queue);
  mem_free(seen);
  return found;
}

/* The gradient goes to the input that was alive: Switch(dy, pred) of the cond, whose
 * output 0 (pred false) feeds back to input 0 (tf.cond's false branch) and output 1
 * to input 1. */
static tfm_code merge_grad(grad_ctx_t *g) {
  if (!g->dy[0]) return TFM_OK;
  if (g->op->n_inputs != 2)
    return node_error(g->op, g->st, TFM_UNIMPLEMENTED, "gradient only for the two-input Merge of a cond");
  node_t *sw = find_switch(g->g, g->op, g->st);
  if (!sw) {
    if (status_code(g->st) != TFM_OK) return status_code(g->st);
    return node_error(g->op, g->st, TFM_UNIMPLEMENTED, "gradient needs the Switch of its cond upstream");
  }
  output_t *in[2] = {g->dy[0], sw->inputs[1]};
  node_t *back = graph_add_op(g->g, "Switch", NULL, false, in, 2, NULL, 0, NULL, 0, g->st);
  if (!back) return status_code(g->st);
  g->dx[0] = &back->outputs[0];
  g->dx[1] = &back->outputs[1];
  return TFM_OK;
}

const op_def_t ops_control[] = {
    {.name = "NoOp", .compute = noop_compute, .flags = OP_NO_GRADIENT},
    {.name = "StopGradient", .n_inputs = 1, .n_outputs = 1, .attrs = t_attrs,
     .infer = infer_same_as_input0, .compute = pass_through, .flags = OP_NO_GRADIENT},
    {.name = "Assert", .n_outputs = 0, .attrs = assert_attrs, .infer = assert_infer,
     .compute = assert_compute, .flags = OP_STATEFUL | OP_NO_GRADIENT | OP_VARIADIC},
    {.name = "Switch", .n_inputs = 2, .n_outputs = 2, .attrs = t_attrs, .infer = switch_infer,
     .compute = switch_compute, .gradient = switch_grad, .flags = OP_DEAD_OUTPUTS},
    {.name = "Merge", .n_outputs = 2, .attrs = merge_attrs, .infer = merge_infer,
     .compute = merge_compute, .gradient = merge_grad, .flags = OP_VARIADIC | OP_TAKES_DEAD},
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
