/* Internals shared by the files of lib/graph (graph.c, names.c, scopes.c,
 * collections.c, variables.c). Nothing outside lib/graph includes this. */
#ifndef TFM_GRAPH_GRAPH_IMPL_H
#define TFM_GRAPH_GRAPH_IMPL_H

#include "graph/graph.h"

/* names.c: the unique-name table and the name -> node index. */
/* Does `name` follow TensorFlow's rule for op names (scope = false) or name
 * scopes (scope = true)? */
bool names_valid(const char *name, bool scope);
/* The name TensorFlow's Graph.unique_name would give `full` (already scoped);
 * marks it (and its case-folded stem) taken when `mark`. NULL on out of memory. */
char *names_unique(graph_t *g, const char *full, bool mark, tfm_status *st);
/* Marks an exact name taken (imported ops, absolute scopes). */
tfm_code names_mark(graph_t *g, const char *full, tfm_status *st);
/* Adds a node to the by-name index. */
tfm_code names_index_node(graph_t *g, node_t *n, tfm_status *st);
void names_free(graph_t *g);
/* Rebuilds the by-name index over the first n_keep nodes only. */
void names_reindex(graph_t *g, int n_keep);

/* scopes.c */
void scopes_free(graph_t *g);
/* The control inputs the active control-dependency scopes add to a new node. */
int scopes_control_count(const graph_t *g);

/* collections.c, variables.c */
void collections_free(graph_t *g);
void variables_free(graph_t *g);

#endif
