/* Plan-time preparation: what the plan compiler resolves once, so that a run of a
 * small graph is a walk over a few pre-resolved kernel calls.
 *
 *  - constants: Const, outputs the graph already knows (Shape, Size, Rank of
 *    fixed shapes, ...), and pure ops whose inputs are all constant are computed
 *    when the plan is compiled; their values sit in slots filled when a frame is
 *    made, and a fetch of one gets a copy;
 *  - aliases: Identity and StopGradient of a value that is not a variable, and
 *    Reshape, ExpandDims, Squeeze to the shape their input already has, are not
 *    run: their readers read the source's slot;
 *  - not run: NoOps (the step order already honours control edges), and pure ops
 *    whose outputs no executed op and no fetch reads, as TensorFlow's graph
 *    optimiser does (an error such an op would have raised is not raised);
 *  - prepared steps: a step whose shapes are all fixed gets the op's prepared
 *    kernel (kprep in ops/registry.h).
 *
 * "Pure" ops are those of the families in prepare.c that are not OP_STATEFUL,
 * OP_VARIABLE or OP_REF_INPUT0. A prepared plan assumes that the variables it reads
 * have their declared shapes (static shapes above are derived from them): every
 * run checks that first and takes the plan's unprepared twin when one does not. A
 * plan that may change a variable's shape itself (Assign with validate_shape
 * false), or that holds a Switch (values may be dead), is never prepared. */
#ifndef TFM_RUNTIME_PREPARE_H
#define TFM_RUNTIME_PREPARE_H

#include "runtime/session.h"

typedef enum prep_role {
  ROLE_STEP = 0,   /* runs as a step */
  ROLE_CONST,      /* every output is a constant (prep_nodes.folded) */
  ROLE_ALIAS,      /* output 0 is input 0 */
  ROLE_SKIP        /* not run */
} prep_role_t;

/* What the classification found, by node id (for the nodes of one compilation). */
typedef struct prep_nodes {
  int n_nodes;
  uint8_t *role;        /* prep_role_t */
  bool *fed;            /* some output of the node is fed */
  output_t *const *feeds;
  int n_feeds;
  int *first_out;       /* index of output 0 in `folded`; -1 for nodes not classified */
  const output_t **alias_of; /* ROLE_ALIAS: the output it stands for (never an alias) */
  tensor_t **folded;    /* one owned reference per output of ROLE_CONST nodes */
  int n_folded;
} prep_nodes_t;

/* Classifies the nodes of `order` (a topological order of what the run needs).
 * Never fails a compilation for a fold that fails (the op then runs as a step).
 * Errors: RESOURCE_EXHAUSTED. */
tfm_code prep_classify(prep_nodes_t *pn, session_t *s, int n_nodes, node_t *const *order,
                       int n_order, output_t *const *feeds, int n_feeds,
                       output_t *const *fetches, int n_fetches, node_t *const *targets,
                       int n_targets, tfm_status *st);
void prep_nodes_free(prep_nodes_t *pn);

static inline prep_role_t prep_role(const prep_nodes_t *pn, const node_t *n) {
  return pn->role ? (prep_role_t)pn->role[n->id] : ROLE_STEP;
}
/* The output whose value `o` has in a run: o itself, or the source of an alias chain. */
const output_t *prep_resolve(const prep_nodes_t *pn, const output_t *o);
/* The constant value of a resolved output (borrowed), NULL when not constant. */
tensor_t *prep_constant(const prep_nodes_t *pn, const output_t *o);

/* May plans over `order` be prepared? (false when an op in it may change the shape
 * of a variable, Assign with validate_shape false, or may make values dead, Switch) */
bool prep_allowed(node_t *const *order, int n_order);

/* Asks the step's op for a prepared kernel; false when it has none for the case.
 * in_const: the plan's constant value of each input, or NULL. */
bool prep_step(const node_t *n, tensor_t *const *in_const, kprep_t *k);

#endif
