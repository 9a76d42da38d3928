/* The graph: named ops (nodes) wired by their outputs, plus name scopes, variable
 * scopes, control-dependency scopes and collections. The public handles tfm_graph,
 * tfm_op, tfm_output and tfm_variable are the structs below.
 *
 * Ownership: the graph owns every node, output, variable record and collection
 * item; they live until the graph is deleted. Nodes are never removed (as in
 * TensorFlow), so pointers stay valid.
 *
 * Thread safety: building (adding nodes, scopes, collections) takes the graph's
 * lock, so a session may compile plans while another thread adds ops; scope stacks
 * are per graph, not per thread (as one Python thread builds a graph at a time).
 */
#ifndef TFM_GRAPH_GRAPH_H
#define TFM_GRAPH_GRAPH_H

#include <pthread.h>
#include <stdbool.h>

#include "core/tensor.h"
#include "graph/attr.h"

typedef struct tfm_graph graph_t;
typedef struct tfm_op node_t;
typedef struct tfm_output output_t;
typedef struct tfm_variable variable_t;
typedef struct op_def op_def_t;

/* One output of a node ("name:index"). */
struct tfm_output {
  node_t *node;
  int index;
  tfm_dtype dtype;     /* base dtype (never +100) */
  bool is_ref;         /* a variable's storage (VariableV2 output) */
  shape_t shape;       /* inferred at build time; may be partly unknown */
  tensor_t *const_value; /* the value when known at build time (Const, folded
                            shapes); owned; NULL otherwise */
};

struct tfm_op {
  graph_t *graph;
  int id;                    /* index in graph->nodes: creation order, a topological order */
  char *name;                /* full name with scopes, unique in the graph */
  char *type;                /* op type, e.g. "AddV2" */
  const op_def_t *def;       /* never NULL for a node in a graph */
  output_t **inputs;         /* data inputs (outputs of other nodes) */
  int n_inputs;
  node_t **control_inputs;
  int n_control_inputs;
  attr_t *attrs;             /* sorted by name */
  int n_attrs;
  output_t *outputs;
  int n_outputs;
  char *device;              /* kept for round trips; "" when unset */
};

/* A variable as tf.Variable: the VariableV2 node, its initializer (Assign), its
 * read snapshot (Identity "<name>/read") and the initial value; mirrors VariableDef. */
struct tfm_variable {
  node_t *var;               /* VariableV2 (or Variable) */
  node_t *initializer;       /* Assign; may be NULL for variables imported without one */
  output_t *snapshot;        /* "<var>/read:0"; may be NULL */
  output_t *initial_value;   /* may be NULL */
  bool trainable;
};

typedef enum collection_item_kind {
  ITEM_OP, ITEM_OUTPUT, ITEM_VARIABLE, ITEM_INT, ITEM_FLOAT, ITEM_BYTES
} collection_item_kind_t;

typedef struct collection_item {
  collection_item_kind_t kind;
  union {
    node_t *op;
    output_t *output;
    variable_t *variable;
    int64_t i;
    double f;
    tstring_t bytes;
  } u;
} collection_item_t;

typedef struct collection {
  char *key;
  collection_item_t *items;
  int n_items, cap;
} collection_t;

typedef struct name_count {
  char *name;
  int next; /* next suffix to try */
} name_count_t;

typedef struct variable_scope {
  char *name;  /* full scope name, e.g. "layer1" or "outer/inner" */
  bool reuse;
} variable_scope_t;

struct tfm_graph {
  pthread_mutex_t lock;
  node_t **nodes;
  int n_nodes, cap_nodes;
  /* name -> node, open addressing over node pointers */
  node_t **by_name;
  int by_name_cap;
  /* names taken by nodes and scopes, for unique names ("Add", "Add_1") */
  name_count_t *names;
  int n_names, cap_names;
  /* scope stacks */
  char **name_scopes;        /* full scope names */
  int n_name_scopes, cap_name_scopes;
  variable_scope_t *var_scopes;
  int n_var_scopes, cap_var_scopes;
  node_t ***control_scopes;  /* each entry: NULL-terminated array of ops */
  int n_control_scopes, cap_control_scopes;
  /* collections */
  collection_t *collections;
  int n_collections, cap_collections;
  /* variables by creation order */
  variable_t **variables;
  int n_variables, cap_variables;
  /* random seeds: graph-level seed (has_seed) and a counter for op seeds */
  bool has_seed;
  int64_t seed;
  int64_t op_seed_counter;
  /* bumped on every change that may invalidate a compiled plan */
  uint64_t version;
};

/* ---- lifetime ---- */
graph_t *graph_new(tfm_status *st);
void graph_delete(graph_t *g);
/* The process-wide default graph (created on first use). */
graph_t *graph_default(void);
/* Resolves the "NULL means the default graph" rule of the public API. */
static inline graph_t *graph_or_default(graph_t *g) { return g ? g : graph_default(); }
/* Replaces the default graph by a new one and frees the old (no session may use it). */
tfm_code graph_reset_default(tfm_status *st);

/* The graph's lock: recursive, so a builder that adds several ops
 * (tfm_variable_new) can hold it across them. */
void graph_lock(const graph_t *g);
void graph_unlock(const graph_t *g);

/* ---- adding ops ----
 * Adds a node of op `type`. `name` is the base name (NULL: the op type); it is
 * prefixed with the current name scope and made unique ("Add" -> "Add_1") unless
 * `exact` is set, in which case it is used as given and ALREADY_EXISTS is reported
 * if taken (graph import). Inputs are the data inputs; attrs are copied, missing
 * ones take the op's defaults; control inputs from the control-dependency scopes
 * are added, plus `control` (may be NULL). Then the op's shape function runs: a
 * mismatch fails here, with a message naming the op and the shapes.
 * Errors: UNIMPLEMENTED (unknown op type, naming node and type), INVALID_ARGUMENT,
 * ALREADY_EXISTS, RESOURCE_EXHAUSTED. On error nothing is added. */
node_t *graph_add_op(graph_t *g, const char *type, const char *name, bool exact,
                     output_t *const *inputs, int n_inputs, const attr_t *attrs, int n_attrs,
                     node_t *const *control, int n_control, tfm_status *st);

/* Removes the ops created last, from id `first` on (undoing a failed graph
 * import: nothing else may refer to them, no variable record, collection or
 * compiled plan). Their names stay reserved. */
void graph_remove_ops_from(graph_t *g, int first);

/* ---- names and lookup ---- */
node_t *graph_find_op(const graph_t *g, const char *name);
/* "name:index" or "name" (index 0). NOT_FOUND / INVALID_ARGUMENT naming it. */
output_t *graph_find_output(const graph_t *g, const char *name, tfm_status *st);
/* Writes "name:index" into buf (cap bytes); returns buf. */
const char *output_name(const output_t *o, char *buf, size_t cap);
/* A unique full name for `base` under the current scope (mem_alloc'ed; caller frees).
 * Also marks it taken. */
char *graph_unique_name(graph_t *g, const char *base, tfm_status *st);

/* `scope` + "/" + `base` (`base` alone when scope is NULL or ""); mem_alloc'ed. */
char *graph_join_name(const char *scope, const char *base);

/* ---- scopes ---- */
/* Pushes a name scope. `name` ending in '/' is taken as an absolute scope (as in
 * TensorFlow); "" resets to the root. Otherwise it is made unique under the
 * current scope ("loss", "loss_1"). */
tfm_code graph_push_name_scope(graph_t *g, const char *name, tfm_status *st);
tfm_code graph_pop_name_scope(graph_t *g, tfm_status *st);
const char *graph_current_name_scope(const graph_t *g); /* "" at the root */
tfm_code graph_push_variable_scope(graph_t *g, const char *name, bool reuse, tfm_status *st);
tfm_code graph_pop_variable_scope(graph_t *g, tfm_status *st);
/* The innermost variable scope, NULL at the root. */
const variable_scope_t *graph_current_variable_scope(const graph_t *g);
tfm_code graph_push_control_dependencies(graph_t *g, node_t *const *ops, int n, tfm_status *st);
tfm_code graph_pop_control_dependencies(graph_t *g, tfm_status *st);

/* ---- attrs of a node ---- */
const attr_value_t *node_attr(const node_t *n, const char *name);
/* Typed getters; return `fallback` when absent or of another kind. */
int64_t node_attr_int(const node_t *n, const char *name, int64_t fallback);
float node_attr_float(const node_t *n, const char *name, float fallback);
bool node_attr_bool(const node_t *n, const char *name, bool fallback);
int node_attr_type(const node_t *n, const char *name, int fallback);

/* ---- collections ---- */
collection_t *graph_collection(graph_t *g, const char *key, bool create, tfm_status *st);
tfm_code graph_add_to_collection(graph_t *g, const char *key, const collection_item_t *item,
                                 tfm_status *st); /* bytes are copied */

/* ---- variables ---- */
/* Registers a variable record (adds it to "variables", and to
 * "trainable_variables" when trainable). The graph owns the record. */
variable_t *graph_add_variable(graph_t *g, node_t *var, node_t *initializer, output_t *snapshot,
                               output_t *initial_value, bool trainable, tfm_status *st);
variable_t *graph_find_variable(const graph_t *g, const char *var_op_name);

/* ---- seeds ---- */
/* TensorFlow's rule: (graph seed, op seed) -> the two seeds an op uses; when
 * neither is set both are 0 (nondeterministic in TF; we use a fixed default). */
void graph_op_seeds(graph_t *g, int64_t op_seed, bool has_op_seed, int64_t *seed,
                    int64_t *seed2);

#endif
