/* Plan-time preparation (see prepare.h): constants folded, aliases resolved, ops
 * nobody reads left out, prepared kernels asked for. Runs once per compiled plan;
 * string compares are fine here and nowhere on the path of a run. */
#include "runtime/prepare.h"

#include <string.h>

#include "core/mem.h"

/* Op families whose ops, unless flagged otherwise, are functions of their inputs. */
static const op_def_t *const pure_families[] = {ops_array, ops_layout, ops_strided_slice,
                                                ops_math, ops_nn, ops_control};

static bool in_family(const op_def_t *d, const op_def_t *family) {
  for (const op_def_t *f = family; f->name; f++)
    if (f == d) return true;
  return false;
}

static bool is_pure(const node_t *n) {
  if (n->def->flags & (OP_STATEFUL | OP_VARIABLE | OP_REF_INPUT0)) return false;
  if (!n->def->compute) return false;
  for (size_t i = 0; i < sizeof pure_families / sizeof *pure_families; i++)
    if (in_family(n->def, pure_families[i])) return true;
  return false;
}

static bool is_type(const node_t *n, const char *type) { return strcmp(n->type, type) == 0; }

bool prep_allowed(node_t *const *order, int n_order) {
  for (int k = 0; k < n_order; k++) {
    /* values of a cond's branches may be dead: every step stays, as it is */
    if (order[k]->def->flags & OP_DEAD_OUTPUTS) return false;
    if (is_type(order[k], "Assign") && !node_attr_bool(order[k], "validate_shape", true))
      return false;
  }
  return true;
}

static bool output_fed(const prep_nodes_t *pn, const output_t *o) {
  if (!pn->fed[o->node->id]) return false;
  for (int i = 0; i < pn->n_feeds; i++)
    if (pn->feeds[i]->node == o->node && pn->feeds[i]->index == o->index) return true;
  return false;
}

const output_t *prep_resolve(const prep_nodes_t *pn, const output_t *o) {
  if (!pn->role || pn->role[o->node->id] != ROLE_ALIAS) return o;
  return pn->alias_of[o->node->id]; /* resolved when the alias was found: chains stay O(1) */
}

tensor_t *prep_constant(const prep_nodes_t *pn, const output_t *o) {
  if (!pn->role || pn->role[o->node->id] != ROLE_CONST || pn->fed[o->node->id]) return NULL;
  return pn->folded[pn->first_out[o->node->id] + o->index];
}

/* Ops whose outputs depend on their inputs' shapes only. */
static bool reads_only_shapes(const node_t *n) {
  return is_type(n, "Shape") || is_type(n, "Size") || is_type(n, "Rank");
}

/* A reshape-like op whose output has the shape its input already has. */
static bool is_same_shape_view(const node_t *n) {
  if (!is_type(n, "Reshape") && !is_type(n, "ExpandDims") && !is_type(n, "Squeeze")) return false;
  const shape_t *in = &n->inputs[0]->shape, *out = &n->outputs[0].shape;
  return shape_is_fully_defined(in) && shape_equal(in, out);
}

/* Runs a pure op on constant inputs now. false (status left clean) when it fails:
 * the op then runs as a step and reports at run time, as before. */
static bool fold(prep_nodes_t *pn, session_t *s, const node_t *n) {
  tensor_t *in_small[8], *out_small[8];
  tensor_t **in = n->n_inputs <= 8 ? in_small : mem_calloc((size_t)n->n_inputs, sizeof *in);
  tensor_t **out = n->n_outputs <= 8 ? out_small : mem_calloc((size_t)n->n_outputs, sizeof *out);
  bool ok = in && out;
  for (int i = 0; ok && i < n->n_inputs; i++) in[i] = prep_constant(pn, prep_resolve(pn, n->inputs[i]));
  for (int i = 0; ok && i < n->n_outputs; i++) out[i] = NULL;
  if (ok) {
    tfm_status st;
    void *state = NULL;
    status_ok(&st);
    kctx_t c = {.node = n, .session = s, .in = in, .n_in = n->n_inputs, .out = out,
                .n_out = n->n_outputs, .state = &state, .st = &st};
    ok = n->def->compute(&c) == TFM_OK;
    for (int i = 0; ok && i < n->n_outputs; i++) ok = out[i] != NULL;
    if (state && n->def->free_state) n->def->free_state(state);
  }
  for (int i = 0; i < n->n_outputs && out; i++) {
    if (ok) pn->folded[pn->first_out[n->id] + i] = out[i];
    else tensor_unref(out[i]);
  }
  if (in != in_small) mem_free(in);
  if (out != out_small) mem_free(out);
  return ok;
}

/* Folding keeps the value for the plan's lifetime: worth it for shapes, scalars and
 * small tables, not for a big computed tensor (the gradient of a mean tiled over
 * millions of points), which would cost its size in memory and, as a constant,
 * hide its single-value form from fusion. */
#define PREP_FOLD_MAX_ELEMENTS 4096

static bool small_outputs(const node_t *n) {
  for (int i = 0; i < n->n_outputs; i++) {
    int64_t count;
    const shape_t *shape = &n->outputs[i].shape;
    if (shape_is_fully_defined(shape) && shape_num_elements(shape, &count, NULL) == TFM_OK &&
        count > PREP_FOLD_MAX_ELEMENTS)
      return false;
  }
  return true;
}

static prep_role_t classify(prep_nodes_t *pn, session_t *s, const node_t *n) {
  if (pn->fed[n->id] || !is_pure(n)) return ROLE_STEP;
  if (n->n_outputs == 0) return ROLE_SKIP; /* NoOp */
  bool inputs_known = true;
  for (int i = 0; i < n->n_inputs && inputs_known; i++)
    inputs_known = prep_constant(pn, prep_resolve(pn, n->inputs[i])) != NULL;
  /* What the graph computed at build time holds unless an input is fed (a feed
   * replaces a value, never a fixed shape: check_feed). */
  bool known = inputs_known || reads_only_shapes(n);
  for (int i = 0; i < n->n_outputs && known; i++) known = n->outputs[i].const_value != NULL;
  if (known) {
    for (int i = 0; i < n->n_outputs; i++)
      pn->folded[pn->first_out[n->id] + i] = tensor_ref(n->outputs[i].const_value);
    return ROLE_CONST;
  }
  if (inputs_known && n->n_inputs > 0 && small_outputs(n) && fold(pn, s, n)) return ROLE_CONST;
  if (is_type(n, "Identity") || is_type(n, "StopGradient") || is_same_shape_view(n)) {
    /* a variable's value is read by its own step (it names the variable when
     * uninitialised, and its shape is checked there) */
    const output_t *src = prep_resolve(pn, n->inputs[0]);
    if (!(src->node->def->flags & OP_VARIABLE)) {
      pn->alias_of[n->id] = src;
      return ROLE_ALIAS;
    }
  }
  return ROLE_STEP;
}

/* Marks the step that produces the value of `o` as needed (none when it is fed:
 * aliases are never fed, so a fed output resolves to itself). */
static void need(const prep_nodes_t *pn, bool *needed, const output_t *o) {
  o = prep_resolve(pn, o);
  if (output_fed(pn, o)) return;
  if (pn->first_out[o->node->id] >= 0 && pn->role[o->node->id] == ROLE_STEP)
    needed[o->node->id] = true;
}

/* Leaves out pure steps whose values nothing executed reads. */
static void drop_unread(prep_nodes_t *pn, bool *needed, node_t *const *order, int n_order,
                        output_t *const *fetches, int n_fetches, node_t *const *targets,
                        int n_targets) {
  for (int i = 0; i < n_fetches; i++) need(pn, needed, fetches[i]);
  for (int i = 0; i < n_targets; i++)
    if (pn->role[targets[i]->id] == ROLE_STEP) needed[targets[i]->id] = true;
  for (int k = 0; k < n_order; k++)
    if (pn->role[order[k]->id] == ROLE_STEP && !is_pure(order[k])) needed[order[k]->id] = true;
  for (int k = n_order - 1; k >= 0; k--) {
    const node_t *n = order[k];
    if (!needed[n->id]) continue;
    for (int i = 0; i < n->n_inputs; i++) need(pn, needed, n->inputs[i]);
  }
  for (int k = 0; k < n_order; k++)
    if (pn->role[order[k]->id] == ROLE_STEP && !needed[order[k]->id])
      pn->role[order[k]->id] = ROLE_SKIP;
}

tfm_code prep_classify(prep_nodes_t *pn, session_t *s, int n_nodes, node_t *const *order,
                       int n_order, output_t *const *feeds, int n_feeds,
                       output_t *const *fetches, int n_fetches, node_t *const *targets,
                       int n_targets, tfm_status *st) {
  memset(pn, 0, sizeof *pn);
  size_t nn = (size_t)n_nodes + 1;
  pn->n_nodes = n_nodes;
  pn->feeds = feeds;
  pn->n_feeds = n_feeds;
  pn->role = mem_calloc(nn, sizeof *pn->role);
  pn->fed = mem_calloc(nn, sizeof *pn->fed);
  pn->first_out = mem_alloc(nn * sizeof *pn->first_out);
  pn->alias_of = mem_calloc(nn, sizeof *pn->alias_of);
  bool *needed = mem_calloc(nn, sizeof *needed);
  int total = 0;
  for (int k = 0; k < n_order; k++) total += order[k]->n_outputs;
  pn->folded = mem_calloc((size_t)total + 1, sizeof *pn->folded);
  pn->n_folded = total;
  if (!pn->role || !pn->fed || !pn->first_out || !pn->alias_of || !needed || !pn->folded) {
    mem_free(needed);
    prep_nodes_free(pn);
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory preparing a plan");
  }
  for (size_t i = 0; i < nn; i++) pn->first_out[i] = -1;
  for (int i = 0; i < n_feeds; i++) pn->fed[feeds[i]->node->id] = true;
  int next = 0;
  for (int k = 0; k < n_order; k++) {
    pn->first_out[order[k]->id] = next;
    next += order[k]->n_outputs;
  }
  /* Inputs are classified before their readers: the order is topological. */
  for (int k = 0; k < n_order; k++) pn->role[order[k]->id] = (uint8_t)classify(pn, s, order[k]);
  drop_unread(pn, needed, order, n_order, fetches, n_fetches, targets, n_targets);
  mem_free(needed);
  return TFM_OK;
}

void prep_nodes_free(prep_nodes_t *pn) {
  if (pn->folded)
    for (int i = 0; i < pn->n_folded; i++) tensor_unref(pn->folded[i]);
  mem_free(pn->role);
  mem_free(pn->fed);
  mem_free(pn->first_out);
  mem_free(pn->alias_of);
  mem_free(pn->folded);
  memset(pn, 0, sizeof *pn);
}

bool prep_step(const node_t *n, tensor_t *const *in_const, kprep_t *k) {
  if (!n->def->prepare) return false;
  for (int i = 0; i < n->n_inputs; i++)
    if (!shape_is_fully_defined(&n->inputs[i]->shape)) return false;
  for (int i = 0; i < n->n_outputs; i++)
    if (!shape_is_fully_defined(&n->outputs[i].shape)) return false;
  memset(k, 0, sizeof *k);
  return n->def->prepare(n, in_const, k);
}
