/* Automatic differentiation (tf.gradients): adds the backward graph of ys w.r.t. xs.
 *
 * The ops that matter are those on a data path from an x to a y. Node ids are a
 * topological order (inputs exist before their consumers), so one forward sweep
 * marks what the xs reach, one backward sweep what reaches the ys, and walking the
 * ids downwards visits every op after all its consumers: by then all gradients of
 * its outputs are known. Several gradients of one output are summed (AddN). Each
 * op's gradient function (lib/ops) builds its ops under "gradients/<op>_grad".
 *
 * A variable is differentiated through its storage: the gradient w.r.t.
 * VariableV2:0 is what flows back through "<var>/read" (an Identity). */
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "core/status.h"
#include "graph/gradients.h"
#include "ops/registry.h"
#include "tfmini/train.h"
#include "tfmini/ops.h"

/* The gradients received by one output, summed when there is more than one. */
typedef struct grad_list {
  output_t **items;
  int n, cap;
} grad_list_t;

typedef struct walk {
  graph_t *g;
  int n_nodes;        /* nodes that existed when the walk began */
  bool *between;      /* on a path from an x to a y */
  int *first_output;  /* node id -> index of its output 0 in `lists` */
  grad_list_t *lists; /* per output of the first n_nodes nodes */
  tfm_status *st;
} walk_t;

static grad_list_t *list_of(walk_t *w, const output_t *o) {
  return &w->lists[w->first_output[o->node->id] + o->index];
}

static tfm_code list_push(walk_t *w, const output_t *o, output_t *grad) {
  grad_list_t *l = list_of(w, o);
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 2;
    output_t **items = mem_realloc(l->items, (size_t)cap * sizeof *items);
    if (!items) return status_set(w->st, TFM_RESOURCE_EXHAUSTED, "gradients: out of memory");
    l->items = items;
    l->cap = cap;
  }
  l->items[l->n++] = grad;
  return TFM_OK;
}

/* Sums the gradients of output o into one (AddN under the current scope, as TF's
 * aggregation does); NULL when none flowed. */
static output_t *aggregate(walk_t *w, const output_t *o) {
  grad_list_t *l = list_of(w, o);
  if (l->n == 0) return NULL;
  if (l->n > 1) {
    output_t *sum = tfm_add_n(w->g, l->items, l->n, "AddN", w->st);
    if (!sum) return NULL;
    l->items[0] = sum;
    l->n = 1;
  }
  return l->items[0];
}

static bool belongs(const graph_t *g, const output_t *o) {
  return o && o->node && o->node->graph == g && o->node->id >= 0 && o->node->id < g->n_nodes &&
         g->nodes[o->node->id] == o->node;
}

/* Marks `between`: reached from the xs (forward) and reaching the ys (backward). */
static tfm_code mark_between(walk_t *w, output_t *const *ys, int n_ys, output_t *const *xs, int n_xs) {
  int n = w->n_nodes;
  bool *reached = mem_calloc((size_t)n, sizeof *reached);
  bool *to_y = mem_calloc((size_t)n, sizeof *to_y);
  if (!reached || !to_y) {
    mem_free(reached);
    mem_free(to_y);
    return status_set(w->st, TFM_RESOURCE_EXHAUSTED, "gradients: out of memory");
  }
  for (int i = 0; i < n_xs; i++) reached[xs[i]->node->id] = true;
  for (int id = 0; id < n; id++) {
    const node_t *node = w->g->nodes[id];
    for (int k = 0; k < node->n_inputs && !reached[id]; k++)
      if (reached[node->inputs[k]->node->id]) reached[id] = true;
  }
  for (int i = 0; i < n_ys; i++) to_y[ys[i]->node->id] = true;
  for (int id = n - 1; id >= 0; id--) {
    if (!to_y[id]) continue;
    const node_t *node = w->g->nodes[id];
    for (int k = 0; k < node->n_inputs; k++) to_y[node->inputs[k]->node->id] = true;
  }
  for (int id = 0; id < n; id++) w->between[id] = reached[id] && to_y[id];
  mem_free(reached);
  mem_free(to_y);
  return TFM_OK;
}

/* grad_ys default: Fill(Shape(y), 1) named gradients/Shape, gradients/grad_ys_<i>,
 * gradients/Fill as TensorFlow names them. */
static output_t *default_grad_y(walk_t *w, output_t *y, int i) {
  char name[32];
  snprintf(name, sizeof name, "grad_ys_%d", i);
  /* One at a time: a later success would reset the status of an earlier failure. */
  output_t *shape = tfm_shape(w->g, y, "Shape", w->st);
  if (!shape) return NULL;
  output_t *one = tfm_scalar(w->g, 1.0, y->dtype, name, w->st);
  if (!one) return NULL;
  return tfm_fill(w->g, shape, one, "Fill", w->st);
}

/* control_flow_ops.tuple: each gradient passes through an Identity that waits for
 * all of them ("tuple/group_deps", "tuple/control_dependency[_k]"), so no update
 * starts before the op's whole gradient is computed (the optimizers' GATE_OP). */
static tfm_code gate_grads(walk_t *w, output_t **dx, int n_dx) {
  node_t *deps[n_dx > 0 ? n_dx : 1];
  int n_deps = 0;
  for (int i = 0; i < n_dx; i++)
    if (dx[i]) deps[n_deps++] = dx[i]->node;
  if (n_deps < 2) return TFM_OK;
  if (graph_push_name_scope(w->g, "tuple", w->st) != TFM_OK) return w->st->code;
  tfm_code rc = TFM_OK;
  node_t *group = graph_add_op(w->g, "NoOp", "group_deps", false, NULL, 0, NULL, 0, deps, n_deps, w->st);
  for (int i = 0; i < n_dx && group; i++) {
    if (!dx[i]) continue;
    /* colocated with the gradient's producer, as TF marks it */
    size_t len = strlen(dx[i]->node->name) + 6;
    char *loc = mem_alloc(len);
    if (!loc) {
      status_set(w->st, TFM_RESOURCE_EXHAUSTED, "gradients: out of memory");
      break;
    }
    snprintf(loc, len, "loc:@%s", dx[i]->node->name);
    tstring_t cls = {loc, len - 1};
    attr_t attrs[] = {ATTR_TYPE_V("T", dx[i]->dtype),
                      {.name = "_class", .value = {.kind = ATTR_LIST_S, .u.list = {.n = 1, .s = &cls}}}};
    node_t *id = graph_add_op(w->g, "Identity", "control_dependency", false, &dx[i], 1, attrs, 2, &group, 1, w->st);
    mem_free(loc);
    if (!id) break;
    dx[i] = &id->outputs[0];
  }
  if (status_code(w->st) != TFM_OK) rc = w->st->code;
  graph_pop_name_scope(w->g, NULL);
  return rc;
}

/* Runs the gradient function of `node` and hands each input its share. */
static tfm_code backprop_op(walk_t *w, node_t *node, bool gate) {
  int n_out = node->n_outputs, n_in = node->n_inputs;
  output_t *dy[n_out > 0 ? n_out : 1];
  bool any = false;
  for (int i = 0; i < n_out; i++) {
    dy[i] = aggregate(w, &node->outputs[i]);
    if (status_code(w->st) != TFM_OK) return w->st->code;
    any |= dy[i] != NULL;
  }
  if (!any) return TFM_OK;
  /* Only ops with an input on the path pass gradients on: an x's own producer
   * (VariableV2, Placeholder) is where the flow ends. */
  bool feeds_path = false;
  for (int k = 0; k < n_in; k++)
    if (w->between[node->inputs[k]->node->id] && dtype_is_float(node->inputs[k]->dtype)) feeds_path = true;
  if (!feeds_path) return TFM_OK;
  if ((node->def->flags & OP_NO_GRADIENT) || strcmp(node->type, "StopGradient") == 0) return TFM_OK;
  if (!node->def->gradient)
    return status_set(w->st, TFM_INVALID_ARGUMENT, "No gradient defined for operation '%s' (op type: %s)",
                      node->name, node->type);

  output_t *dx[n_in > 0 ? n_in : 1];
  for (int k = 0; k < n_in; k++) dx[k] = NULL;
  size_t len = strlen(node->name);
  char *scope = mem_alloc(len + 6);
  if (!scope) return status_set(w->st, TFM_RESOURCE_EXHAUSTED, "gradients: out of memory");
  memcpy(scope, node->name, len);
  memcpy(scope + len, "_grad", 6);
  tfm_code rc = graph_push_name_scope(w->g, scope, w->st);
  mem_free(scope);
  if (rc != TFM_OK) return rc;
  grad_ctx_t ctx = {.g = w->g, .op = node, .dy = dy, .n_dy = n_out, .dx = dx, .n_dx = n_in, .st = w->st};
  uint64_t failures = mem_thread_failures();
  rc = node->def->gradient(&ctx);
  if (rc == TFM_OK && gate) rc = gate_grads(w, dx, n_in);
  graph_pop_name_scope(w->g, NULL);
  /* Gradient functions chain builders; a success after a failed allocation resets
   * the status, so the failure is recognised here. */
  if (rc != TFM_OK && mem_thread_failures() != failures)
    rc = status_set(w->st, TFM_RESOURCE_EXHAUSTED, "out of memory");
  if (rc != TFM_OK) {
    if (status_code(w->st) == TFM_OK) status_set(w->st, rc, "gradient failed");
    return status_prefix(w->st, "gradient of %s '%s'", node->type, node->name);
  }
  for (int k = 0; k < n_in; k++) {
    const output_t *in = node->inputs[k];
    if (!dx[k] || !w->between[in->node->id] || !dtype_is_float(in->dtype)) continue;
    if (dx[k]->dtype != in->dtype)
      return status_set(w->st, TFM_INTERNAL, "gradient of %s '%s': input %d has dtype %s but its gradient %s",
                        node->type, node->name, k, dtype_name(in->dtype), dtype_name(dx[k]->dtype));
    if (list_push(w, in, dx[k]) != TFM_OK) return w->st->code;
  }
  return TFM_OK;
}

static tfm_code check_args(graph_t *g, output_t *const *ys, int n_ys, output_t *const *xs, int n_xs,
                           output_t *const *grad_ys, output_t **dxs, tfm_status *st) {
  if (!ys || n_ys <= 0 || !xs || n_xs <= 0 || !dxs)
    return status_set(st, TFM_INVALID_ARGUMENT, "gradients: need at least one y, one x and room for the results");
  char name[256];
  for (int i = 0; i < n_ys; i++) {
    if (!belongs(g, ys[i])) return status_set(st, TFM_INVALID_ARGUMENT, "gradients: ys[%d] is not in the graph", i);
    if (!dtype_is_float(ys[i]->dtype))
      return status_set(st, TFM_INVALID_ARGUMENT, "gradients: y '%s' has dtype %s; only float32/float64 can be differentiated",
                        output_name(ys[i], name, sizeof name), dtype_name(ys[i]->dtype));
    if (grad_ys && grad_ys[i]) {
      if (!belongs(g, grad_ys[i]))
        return status_set(st, TFM_INVALID_ARGUMENT, "gradients: grad_ys[%d] is not in the graph", i);
      if (grad_ys[i]->dtype != ys[i]->dtype)
        return status_set(st, TFM_INVALID_ARGUMENT, "gradients: grad_ys[%d] has dtype %s but y '%s' has %s", i,
                          dtype_name(grad_ys[i]->dtype), output_name(ys[i], name, sizeof name),
                          dtype_name(ys[i]->dtype));
    }
  }
  for (int i = 0; i < n_xs; i++)
    if (!belongs(g, xs[i])) return status_set(st, TFM_INVALID_ARGUMENT, "gradients: xs[%d] is not in the graph", i);
  return TFM_OK;
}

tfm_code gradients_build(graph_t *g, output_t *const *ys, int n_ys, output_t *const *xs, int n_xs,
                         output_t *const *grad_ys, bool gate, output_t **dxs, tfm_status *st) {
  if (check_args(g, ys, n_ys, xs, n_xs, grad_ys, dxs, st) != TFM_OK) return st->code;
  for (int i = 0; i < n_xs; i++) dxs[i] = NULL;
  walk_t w = {.g = g, .n_nodes = g->n_nodes, .st = st};
  int n_outputs = 0;
  w.between = mem_calloc((size_t)w.n_nodes, sizeof *w.between);
  w.first_output = mem_calloc((size_t)w.n_nodes, sizeof *w.first_output);
  for (int id = 0; id < w.n_nodes && w.first_output; id++) {
    w.first_output[id] = n_outputs;
    n_outputs += g->nodes[id]->n_outputs;
  }
  w.lists = mem_calloc((size_t)(n_outputs > 0 ? n_outputs : 1), sizeof *w.lists);
  tfm_code rc = TFM_OK;
  if (!w.between || !w.first_output || !w.lists) {
    rc = status_set(st, TFM_RESOURCE_EXHAUSTED, "gradients: out of memory");
    goto done;
  }
  if ((rc = mark_between(&w, ys, n_ys, xs, n_xs)) != TFM_OK) goto done;
  if ((rc = graph_push_name_scope(g, "gradients", st)) != TFM_OK) goto done;

  for (int i = 0; i < n_ys && rc == TFM_OK; i++) {
    output_t *gy = grad_ys && grad_ys[i] ? grad_ys[i] : default_grad_y(&w, ys[i], i);
    rc = gy ? list_push(&w, ys[i], gy)
            : status_code(st) != TFM_OK ? st->code
                                        : status_set(st, TFM_INTERNAL, "gradients: no initial gradient");
  }
  for (int id = w.n_nodes - 1; id >= 0 && rc == TFM_OK; id--)
    if (w.between[id]) rc = backprop_op(&w, g->nodes[id], gate);
  for (int i = 0; i < n_xs && rc == TFM_OK; i++) {
    if (!w.between[xs[i]->node->id] || !dtype_is_float(xs[i]->dtype)) continue;
    dxs[i] = aggregate(&w, xs[i]);
    rc = status_code(st);
  }
  graph_pop_name_scope(g, NULL);
  if (rc == TFM_OK) status_ok(st);

done:
  if (w.lists)
    for (int i = 0; i < n_outputs; i++) mem_free(w.lists[i].items);
  mem_free(w.lists);
  mem_free(w.first_output);
  mem_free(w.between);
  if (rc != TFM_OK)
    for (int i = 0; i < n_xs; i++) dxs[i] = NULL;
  return rc;
}

TFM_API tfm_code tfm_gradients(tfm_graph *g, tfm_output *const *ys, int n_ys, tfm_output *const *xs, int n_xs,
                               tfm_output *const *grad_ys, tfm_output **dxs, tfm_status *status) {
  tfm_status local;
  tfm_status *st = status ? status : &local;
  status_ok(st);
  return gradients_build(graph_or_default(g), ys, n_ys, xs, n_xs, grad_ys, false, dxs, st);
}
