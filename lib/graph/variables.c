/* Variable records (tf.Variable's VariableDef): which VariableV2 node, its
 * initializer, its read snapshot and initial value. */
#include <string.h>

#include "core/mem.h"
#include "graph/graph_impl.h"
#include "tfmini/graph.h"

variable_t *graph_add_variable(graph_t *g, node_t *var, node_t *initializer, output_t *snapshot,
                               output_t *initial_value, bool trainable, tfm_status *st) {
  if (!var) {
    status_set(st, TFM_INVALID_ARGUMENT, "add_variable: the variable op is NULL");
    return NULL;
  }
  graph_lock(g);
  variable_t *v = NULL;
  if (graph_find_variable(g, var->name)) {
    status_set(st, TFM_ALREADY_EXISTS, "variable '%s' is already registered", var->name);
    goto out;
  }
  if (g->n_variables == g->cap_variables) {
    int cap = g->cap_variables ? g->cap_variables * 2 : 16;
    variable_t **p = mem_realloc(g->variables, (size_t)cap * sizeof *p);
    if (!p) goto oom;
    g->variables = p;
    g->cap_variables = cap;
  }
  if (!(v = mem_alloc(sizeof *v))) goto oom;
  *v = (variable_t){var, initializer, snapshot, initial_value, trainable};
  collection_item_t item = {.kind = ITEM_VARIABLE, .u.variable = v};
  if (graph_add_to_collection(g, TFM_GLOBAL_VARIABLES, &item, st) != TFM_OK ||
      (trainable && graph_add_to_collection(g, TFM_TRAINABLE_VARIABLES, &item, st) != TFM_OK)) {
    /* Keep the record: a collection may already point at it. */
    g->variables[g->n_variables++] = v;
    v = NULL;
    goto out;
  }
  g->variables[g->n_variables++] = v;
  g->version++;
  status_ok(st);
  goto out;
oom:
  status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory registering variable '%s'", var->name);
out:
  graph_unlock(g);
  return v;
}

variable_t *graph_find_variable(const graph_t *g, const char *var_op_name) {
  if (!var_op_name) return NULL;
  graph_lock(g);
  variable_t *r = NULL;
  for (int i = 0; i < g->n_variables && !r; i++)
    if (strcmp(g->variables[i]->var->name, var_op_name) == 0) r = g->variables[i];
  graph_unlock(g);
  return r;
}

void variables_free(graph_t *g) {
  for (int i = 0; i < g->n_variables; i++) mem_free(g->variables[i]);
  mem_free(g->variables);
}
