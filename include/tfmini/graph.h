/* libtfmini: graphs, ops, outputs, scopes and collections.
 *
 * A graph holds named ops. Every builder takes a graph; NULL means the process-wide
 * default graph. Op names are made unique as in TensorFlow ("Add", "Add_1") and
 * prefixed with the current name scope ("loss/Add"); outputs are named "op:index".
 * tfm_op, tfm_output and tfm_variable handles are owned by their graph and stay
 * valid until it is deleted (ops are never removed).
 *
 * Thread safety: a graph may be built from one thread at a time; sessions may run
 * a graph (in any number of threads) while ops are being added to it. The scope
 * stacks belong to the graph, not to a thread.
 */
#ifndef TFMINI_GRAPH_H
#define TFMINI_GRAPH_H

#include "defs.h"
#include "status.h"
#include "tensor.h"

TFM_BEGIN_DECLS

typedef struct tfm_graph tfm_graph;
typedef struct tfm_op tfm_op;
typedef struct tfm_output tfm_output;
typedef struct tfm_variable tfm_variable;

/* ---- graphs ---- */
/* A new empty graph, owned by the caller (tfm_graph_delete). Errors: RESOURCE_EXHAUSTED. */
TFM_API tfm_graph *tfm_graph_new(tfm_status *status);
/* Frees a graph and everything it owns. Sessions over it must be deleted first. */
TFM_API void tfm_graph_delete(tfm_graph *graph);
/* The default graph (created on first use; owned by the library). */
TFM_API tfm_graph *tfm_default_graph(void);
/* Replaces the default graph by a new empty one. No session may use the old one.
 * Errors: RESOURCE_EXHAUSTED (the old graph is kept). */
TFM_API tfm_code tfm_reset_default_graph(tfm_status *status);
/* Sets the graph-level random seed (tf.set_random_seed). */
TFM_API void tfm_graph_set_seed(tfm_graph *graph, int64_t seed);

/* Number of ops in the graph (0 for NULL). */
TFM_API int tfm_graph_num_ops(tfm_graph *graph);
/* The i-th op in creation order, or NULL when out of range. */
TFM_API tfm_op *tfm_graph_op_at(tfm_graph *graph, int index);
/* get_operation_by_name. Errors: NOT_FOUND naming the op. */
TFM_API tfm_op *tfm_graph_get_operation_by_name(tfm_graph *graph, const char *name,
                                                tfm_status *status);
/* get_tensor_by_name: "op:index" ("op" alone means index 0).
 * Errors: NOT_FOUND, INVALID_ARGUMENT (malformed name or index out of range). */
TFM_API tfm_output *tfm_graph_get_tensor_by_name(tfm_graph *graph, const char *name,
                                                 tfm_status *status);

/* ---- scopes ---- */
/* tf.name_scope: pushes a scope; "" returns to the root; a name ending in '/'
 * re-enters that exact scope. Otherwise the name is made unique ("loss_1"). Pop
 * ends the innermost one. Errors: INVALID_ARGUMENT (a name TF would refuse, named),
 * FAILED_PRECONDITION (pop with nothing pushed), RESOURCE_EXHAUSTED. */
TFM_API tfm_code tfm_graph_push_name_scope(tfm_graph *graph, const char *name, tfm_status *status);
TFM_API tfm_code tfm_graph_pop_name_scope(tfm_graph *graph, tfm_status *status);
/* The current scope ("" at the root, else "a/b"); owned by the graph, valid until
 * the scope stack changes. */
TFM_API const char *tfm_graph_name_scope(tfm_graph *graph);
/* tf.variable_scope(name, reuse): also pushes the name scope of the same name; pop
 * ends both. Errors: as the name scope's. */
TFM_API tfm_code tfm_graph_push_variable_scope(tfm_graph *graph, const char *name, int reuse,
                                               tfm_status *status);
TFM_API tfm_code tfm_graph_pop_variable_scope(tfm_graph *graph, tfm_status *status);
/* tf.control_dependencies(ops): ops built until the matching pop run after `ops`.
 * Errors: INVALID_ARGUMENT (an op of another graph or NULL), FAILED_PRECONDITION
 * (pop with nothing pushed), RESOURCE_EXHAUSTED. */
TFM_API tfm_code tfm_graph_push_control_dependencies(tfm_graph *graph, tfm_op *const *ops, int n,
                                                     tfm_status *status);
TFM_API tfm_code tfm_graph_pop_control_dependencies(tfm_graph *graph, tfm_status *status);

/* ---- ops ---- */
/* An op's name, type ("MatMul"), inputs (data, then control), outputs and graph.
 * Strings and handles are owned by the graph and valid while it lives. These never
 * fail: an index out of range or a NULL op gives NULL (0 for the counts). */
TFM_API const char *tfm_op_name(const tfm_op *op);
TFM_API const char *tfm_op_type(const tfm_op *op);
TFM_API int tfm_op_num_inputs(const tfm_op *op);
TFM_API tfm_output *tfm_op_input(const tfm_op *op, int index);
TFM_API int tfm_op_num_control_inputs(const tfm_op *op);
TFM_API tfm_op *tfm_op_control_input(const tfm_op *op, int index);
TFM_API int tfm_op_num_outputs(const tfm_op *op);
TFM_API tfm_output *tfm_op_output(tfm_op *op, int index);
TFM_API tfm_graph *tfm_op_graph(const tfm_op *op);
/* Attribute getters. Errors: NOT_FOUND (no such attr), INVALID_ARGUMENT (other kind). */
TFM_API tfm_code tfm_op_attr_int(const tfm_op *op, const char *name, int64_t *value, tfm_status *status);
TFM_API tfm_code tfm_op_attr_float(const tfm_op *op, const char *name, float *value, tfm_status *status);
TFM_API tfm_code tfm_op_attr_bool(const tfm_op *op, const char *name, int *value, tfm_status *status);
TFM_API tfm_code tfm_op_attr_type(const tfm_op *op, const char *name, tfm_dtype *value, tfm_status *status);
/* String attr: pointer owned by the graph (not NUL-terminated: use len).
 * Errors: NOT_FOUND, INVALID_ARGUMENT (another kind). */
TFM_API tfm_code tfm_op_attr_string(const tfm_op *op, const char *name, const char **value,
                                    size_t *len, tfm_status *status);

/* ---- outputs (symbolic tensors) ---- */
TFM_API tfm_op *tfm_output_op(const tfm_output *output);
TFM_API int tfm_output_index(const tfm_output *output);
TFM_API tfm_dtype tfm_output_dtype(const tfm_output *output);
/* Inferred rank, -1 when unknown. */
TFM_API int tfm_output_rank(const tfm_output *output);
/* Inferred size of dim `axis`, -1 when unknown or out of range. */
TFM_API int64_t tfm_output_dim(const tfm_output *output, int axis);
/* Writes "op:index" into buf (cap bytes, NUL-terminated, truncated if short);
 * returns the full length like snprintf. */
TFM_API size_t tfm_output_name(const tfm_output *output, char *buf, size_t cap);

/* ---- generic op construction (for bindings and for ops without a typed builder) ----
 * b = tfm_op_builder_new(g, "MatMul", "dense/MatMul"); add inputs and attrs in any
 * order; tfm_op_builder_finish(b) adds the op (and frees the builder, also on error). */
typedef struct tfm_op_builder tfm_op_builder;
/* `name` NULL: the op type is the base name. Errors: UNIMPLEMENTED (unknown type). */
TFM_API tfm_op_builder *tfm_op_builder_new(tfm_graph *graph, const char *type, const char *name,
                                           tfm_status *status);
TFM_API void tfm_op_builder_add_input(tfm_op_builder *b, tfm_output *input);
/* A list input (AddN, SaveV2 tensors): its outputs are appended as inputs. */
TFM_API void tfm_op_builder_add_inputs(tfm_op_builder *b, tfm_output *const *inputs, int n);
TFM_API void tfm_op_builder_add_control_input(tfm_op_builder *b, tfm_op *op);
TFM_API void tfm_op_builder_set_attr_int(tfm_op_builder *b, const char *name, int64_t value);
TFM_API void tfm_op_builder_set_attr_float(tfm_op_builder *b, const char *name, float value);
TFM_API void tfm_op_builder_set_attr_bool(tfm_op_builder *b, const char *name, int value);
TFM_API void tfm_op_builder_set_attr_type(tfm_op_builder *b, const char *name, tfm_dtype value);
TFM_API void tfm_op_builder_set_attr_string(tfm_op_builder *b, const char *name, const char *value,
                                            size_t len);
/* dims: -1 = unknown size; rank -1 = unknown rank (dims ignored). */
TFM_API void tfm_op_builder_set_attr_shape(tfm_op_builder *b, const char *name, const int64_t *dims,
                                           int rank);
/* The tensor is referenced (not copied); the caller keeps its own reference. */
TFM_API void tfm_op_builder_set_attr_tensor(tfm_op_builder *b, const char *name, tfm_tensor *value);
TFM_API void tfm_op_builder_set_attr_int_list(tfm_op_builder *b, const char *name,
                                              const int64_t *values, int n);
TFM_API void tfm_op_builder_set_attr_float_list(tfm_op_builder *b, const char *name,
                                                const float *values, int n);
TFM_API void tfm_op_builder_set_attr_type_list(tfm_op_builder *b, const char *name,
                                               const tfm_dtype *values, int n);
/* Adds the op. The builder is freed whatever the outcome. Errors: those of the op's
 * shape function (INVALID_ARGUMENT naming op and shapes), plus any error recorded
 * by the setters (RESOURCE_EXHAUSTED), ALREADY_EXISTS. */
TFM_API tfm_op *tfm_op_builder_finish(tfm_op_builder *b, tfm_status *status);

/* ---- collections (tf.add_to_collection / tf.get_collection) ---- */
typedef enum tfm_collection_kind {
  TFM_ITEM_OP = 0, TFM_ITEM_OUTPUT = 1, TFM_ITEM_VARIABLE = 2,
  TFM_ITEM_INT = 3, TFM_ITEM_FLOAT = 4, TFM_ITEM_BYTES = 5
} tfm_collection_kind;

/* Standard keys (tf.GraphKeys). */
#define TFM_GLOBAL_VARIABLES "variables"
#define TFM_TRAINABLE_VARIABLES "trainable_variables"
#define TFM_TRAIN_OP "train_op"
#define TFM_GLOBAL_STEP "global_step"

/* tf.add_to_collection(key, value) for each kind of value; the collection is made
 * on first use, items keep their order. Ops, outputs and variables must belong to g.
 * Errors: INVALID_ARGUMENT (NULL key or value, another graph's item),
 * RESOURCE_EXHAUSTED. */
TFM_API tfm_code tfm_graph_add_to_collection_op(tfm_graph *g, const char *key, tfm_op *op, tfm_status *status);
TFM_API tfm_code tfm_graph_add_to_collection_output(tfm_graph *g, const char *key, tfm_output *o, tfm_status *status);
TFM_API tfm_code tfm_graph_add_to_collection_variable(tfm_graph *g, const char *key, tfm_variable *v, tfm_status *status);
TFM_API tfm_code tfm_graph_add_to_collection_int(tfm_graph *g, const char *key, int64_t v, tfm_status *status);
TFM_API tfm_code tfm_graph_add_to_collection_float(tfm_graph *g, const char *key, double v, tfm_status *status);
TFM_API tfm_code tfm_graph_add_to_collection_bytes(tfm_graph *g, const char *key, const char *data,
                                                   size_t len, tfm_status *status);
/* Number of items under `key` (0 when the collection does not exist). */
TFM_API int tfm_graph_collection_size(tfm_graph *g, const char *key);
/* Keys in insertion order; NULL when out of range. Owned by the graph. */
TFM_API int tfm_graph_num_collections(tfm_graph *g);
TFM_API const char *tfm_graph_collection_key(tfm_graph *g, int index);
/* Item `index` of a collection: its kind, and the value through the matching getter.
 * Getters return NULL / fail with INVALID_ARGUMENT on another kind, OUT_OF_RANGE. */
TFM_API tfm_code tfm_graph_collection_item_kind(tfm_graph *g, const char *key, int index,
                                                tfm_collection_kind *kind, tfm_status *status);
TFM_API tfm_op *tfm_graph_collection_op(tfm_graph *g, const char *key, int index, tfm_status *status);
TFM_API tfm_output *tfm_graph_collection_output(tfm_graph *g, const char *key, int index, tfm_status *status);
TFM_API tfm_variable *tfm_graph_collection_variable(tfm_graph *g, const char *key, int index, tfm_status *status);
TFM_API tfm_code tfm_graph_collection_int(tfm_graph *g, const char *key, int index, int64_t *value, tfm_status *status);
TFM_API tfm_code tfm_graph_collection_float(tfm_graph *g, const char *key, int index, double *value, tfm_status *status);
/* Bytes owned by the graph. Errors: as the other getters. */
TFM_API tfm_code tfm_graph_collection_bytes(tfm_graph *g, const char *key, int index,
                                            const char **data, size_t *len, tfm_status *status);

TFM_END_DECLS

#endif
