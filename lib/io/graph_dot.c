/* tfm_graph_to_dot: a graph as Graphviz DOT, drawn the way TensorBoard's graph tab
 * groups it: every name scope ("loss", "gradients/loss_grad") a cluster, an op whose
 * name is also a scope ("m" of "m/read", "m/Assign") drawn inside that cluster. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "graph/graph.h"
#include "io/buffer.h"
#include "io/bytebuf.h"
#include "tfmini/summary.h"

typedef struct dot {
  bytebuf_t out;
  const graph_t *g;
  char **scopes;   /* distinct scope names, sorted */
  int n_scopes;
  int *scope_parent;      /* index of the enclosing scope, -1 at the root */
  int *first_child, *next_sibling;
  int *node_scope;        /* each node's cluster, -1 at the root */
  int *first_node, *next_node;
  bool oom;
} dot_t;

static void put(dot_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(dot_t *d, const char *fmt, ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof small) {
    bytebuf_append(&d->out, small, (size_t)n);
    return;
  }
  char *big = mem_alloc((size_t)n + 1);
  if (!big) {
    d->out.failed = true;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  bytebuf_append(&d->out, big, (size_t)n);
  mem_free(big);
}

/* A DOT string literal's contents: quotes and backslashes escaped. */
static void put_escaped(dot_t *d, const char *s) {
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') bytebuf_append(&d->out, "\\", 1);
    bytebuf_append(&d->out, s, 1);
  }
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int find_scope(const dot_t *d, const char *name) {
  char *const *hit = d->n_scopes ? bsearch(&name, d->scopes, (size_t)d->n_scopes, sizeof *d->scopes, cmp_str) : NULL;
  return hit ? (int)(hit - d->scopes) : -1;
}

/* The enclosing scope of a name: its prefix before the last '/', or -1. */
static int parent_scope(const dot_t *d, const char *name) {
  const char *slash = strrchr(name, '/');
  if (!slash) return -1;
  char *prefix = mem_strndup(name, (size_t)(slash - name));
  if (!prefix) return -1;
  int i = find_scope(d, prefix);
  mem_free(prefix);
  return i;
}

static bool collect_scopes(dot_t *d) {
  size_t cap = 0;
  for (int i = 0; i < d->g->n_nodes; i++)
    for (const char *p = d->g->nodes[i]->name; *p; p++) cap += *p == '/';
  d->scopes = mem_calloc(cap ? cap : 1, sizeof *d->scopes);
  if (!d->scopes) return false;
  for (int i = 0; i < d->g->n_nodes; i++) {
    const char *name = d->g->nodes[i]->name;
    for (const char *p = name; *p; p++)
      if (*p == '/' && !(d->scopes[d->n_scopes++] = mem_strndup(name, (size_t)(p - name)))) return false;
  }
  qsort(d->scopes, (size_t)d->n_scopes, sizeof *d->scopes, cmp_str);
  int k = 0;
  for (int i = 0; i < d->n_scopes; i++) {
    if (k > 0 && strcmp(d->scopes[k - 1], d->scopes[i]) == 0) mem_free(d->scopes[i]);
    else d->scopes[k++] = d->scopes[i];
  }
  d->n_scopes = k;
  int ns = d->n_scopes, nn = d->g->n_nodes;
  d->scope_parent = mem_calloc((size_t)ns + 1, sizeof(int));
  d->first_child = mem_calloc((size_t)ns + 1, sizeof(int));
  d->next_sibling = mem_calloc((size_t)ns + 1, sizeof(int));
  d->first_node = mem_calloc((size_t)ns + 1, sizeof(int));
  d->node_scope = mem_calloc((size_t)nn + 1, sizeof(int));
  d->next_node = mem_calloc((size_t)nn + 1, sizeof(int));
  if (!d->scope_parent || !d->first_child || !d->next_sibling || !d->first_node || !d->node_scope || !d->next_node)
    return false;
  for (int i = 0; i < ns; i++) d->first_child[i] = d->first_node[i] = -1;
  /* Backwards, so that the linked lists come out in forward order. */
  for (int i = ns - 1; i >= 0; i--) {
    int p = d->scope_parent[i] = parent_scope(d, d->scopes[i]);
    if (p >= 0) {
      d->next_sibling[i] = d->first_child[p];
      d->first_child[p] = i;
    }
  }
  for (int i = nn - 1; i >= 0; i--) {
    const char *name = d->g->nodes[i]->name;
    int s = find_scope(d, name); /* an op named like a scope sits inside it */
    if (s < 0) s = parent_scope(d, name);
    d->node_scope[i] = s;
    d->next_node[i] = -1;
    if (s >= 0) {
      d->next_node[i] = d->first_node[s];
      d->first_node[s] = i;
    }
  }
  return true;
}

static const char *short_name(const char *name) {
  const char *slash = strrchr(name, '/');
  return slash ? slash + 1 : name;
}

/* "Mul", "Mul_3": a name the op got from its type says nothing more than the type. */
static bool named_by_type(const char *name, const char *type) {
  size_t n = strlen(type);
  if (strncmp(name, type, n) != 0) return false;
  if (name[n] == '\0') return true;
  if (name[n] != '_' || !name[n + 1]) return false;
  for (const char *p = name + n + 1; *p; p++)
    if (*p < '0' || *p > '9') return false;
  return true;
}

static bool type_is(const node_t *n, const char *const *types) {
  for (; *types; types++)
    if (strcmp(n->type, *types) == 0) return true;
  return false;
}

static void put_node(dot_t *d, const node_t *n, int depth) {
  static const char *const variables[] = {"VariableV2", "Variable", "VarHandleOp", NULL};
  static const char *const placeholders[] = {"Placeholder", "PlaceholderWithDefault", "PlaceholderV2", NULL};
  static const char *const constants[] = {"Const", NULL};
  const char *style;
  if (type_is(n, variables)) style = "shape=box, style=\"filled,bold\", fillcolor=\"#f6c667\"";
  else if (type_is(n, placeholders)) style = "shape=ellipse, style=filled, fillcolor=\"#9ecae1\"";
  else if (type_is(n, constants)) style = "shape=box, style=\"rounded,filled\", fillcolor=\"#eeeeee\", color=\"#999999\", fontsize=8";
  else style = "shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\"";
  put(d, "%*s\"", 2 * depth, "");
  put_escaped(d, n->name);
  put(d, "\" [label=\"");
  if (!named_by_type(short_name(n->name), n->type)) {
    put_escaped(d, short_name(n->name));
    put(d, "\\n");
  }
  put_escaped(d, n->type);
  if (n->n_outputs > 0) {
    char s[SHAPE_STR_MAX];
    put(d, "\\n%s %s", dtype_name(n->outputs[0].dtype), shape_str(&n->outputs[0].shape, s));
  }
  put(d, "\", %s];\n", style);
}

static void put_scope(dot_t *d, int s, int depth) {
  put(d, "%*ssubgraph \"cluster_", 2 * depth, "");
  put_escaped(d, d->scopes[s]);
  put(d, "\" {\n%*slabel=\"", 2 * depth + 2, "");
  put_escaped(d, short_name(d->scopes[s]));
  put(d, "\"; style=\"rounded,dashed\"; color=\"#888888\";\n");
  for (int i = d->first_node[s]; i >= 0; i = d->next_node[i]) put_node(d, d->g->nodes[i], depth + 1);
  for (int c = d->first_child[s]; c >= 0; c = d->next_sibling[c]) put_scope(d, c, depth + 1);
  put(d, "%*s}\n", 2 * depth, "");
}

static void put_edges(dot_t *d, const node_t *n) {
  for (int i = 0; i < n->n_inputs; i++) {
    const output_t *o = n->inputs[i];
    char s[SHAPE_STR_MAX];
    put(d, "  \"");
    put_escaped(d, o->node->name);
    put(d, "\" -> \"");
    put_escaped(d, n->name);
    /* Outputs other than the first are named by their index: ":1 [2,3]". */
    char idx[16] = "";
    if (o->index) snprintf(idx, sizeof idx, ":%d ", o->index);
    put(d, "\" [label=\"%s%s\"%s];\n", idx, shape_str(&o->shape, s), o->is_ref ? ", style=bold" : "");
  }
  for (int i = 0; i < n->n_control_inputs; i++) {
    put(d, "  \"");
    put_escaped(d, n->control_inputs[i]->name);
    put(d, "\" -> \"");
    put_escaped(d, n->name);
    put(d, "\" [style=dashed, arrowhead=odot];\n");
  }
}

static void dot_free(dot_t *d) {
  for (int i = 0; i < d->n_scopes; i++) mem_free(d->scopes[i]);
  mem_free(d->scopes);
  mem_free(d->scope_parent);
  mem_free(d->first_child);
  mem_free(d->next_sibling);
  mem_free(d->first_node);
  mem_free(d->node_scope);
  mem_free(d->next_node);
  bytebuf_free(&d->out);
}

TFM_API tfm_buffer *tfm_graph_to_dot(tfm_graph *g, tfm_status *status) {
  if (!g) {
    status_set(status, TFM_INVALID_ARGUMENT, "tfm_graph_to_dot: the graph is NULL");
    return NULL;
  }
  status_ok(status);
  dot_t d = {.out = BYTEBUF_INIT, .g = g};
  graph_lock(g);
  tfm_buffer *b = NULL;
  if (collect_scopes(&d)) {
    put(&d, "digraph \"tfmini\" {\n  graph [fontname=\"Helvetica\", fontsize=11, rankdir=BT, compound=true];\n"
            "  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=8, "
            "color=\"#555555\"];\n");
    for (int i = 0; i < g->n_nodes; i++)
      if (d.node_scope[i] < 0) put_node(&d, g->nodes[i], 1);
    for (int s = 0; s < d.n_scopes; s++)
      if (d.scope_parent[s] < 0) put_scope(&d, s, 1);
    for (int i = 0; i < g->n_nodes; i++) put_edges(&d, g->nodes[i]);
    put(&d, "}\n");
    if (!d.out.failed) b = buffer_new_copy(d.out.data, d.out.len, status);
  }
  graph_unlock(g);
  if (!b && status_code(status) == TFM_OK)
    status_set(status, TFM_RESOURCE_EXHAUSTED, "tfm_graph_to_dot: out of memory for %d ops", g->n_nodes);
  dot_free(&d);
  return b;
}
