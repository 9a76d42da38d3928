/* GraphDef <-> graph, the internal side of tfm_graph_to_graph_def and
 * tfm_import_graph_def (include/tfmini/io.h). Export is graph_def_export.c,
 * import graph_def_import.c; meta graphs and SavedModels build on both.
 *
 * A GraphDef's nodes are streamed (GraphDef.node is a pbio_list_t): export
 * encodes one NodeDef at a time, import decodes one at a time, so graphs of any
 * node count pass (nanopb's own arrays stop at 65535). */
#ifndef TFM_IO_GRAPH_DEF_H
#define TFM_IO_GRAPH_DEF_H

#include <stdbool.h>

#include "core/status.h"
#include "graph/graph.h"
#include "io/bytebuf.h"
#include "io/proto/graph.pb.h"

/* The producer version libtfmini writes: TensorFlow 1.10's GraphDef version,
 * whose op semantics libtfmini follows. */
#define GRAPH_DEF_PRODUCER 26

/* Appends the encoded GraphDef of g to out: every node (op, inputs with "^ctrl",
 * device, attrs sorted by name), versions {producer: 26}, and with add_shapes an
 * `_output_shapes` attr (the inferred shape of each output) on every node with
 * outputs, as TensorFlow's export_meta_graph writes. INVALID_ARGUMENT naming the
 * node when something cannot be encoded, RESOURCE_EXHAUSTED. */
tfm_code graph_def_encode(graph_t *g, bool add_shapes, bytebuf_t *out, tfm_status *st);

/* Visits the nodes of the encoded GraphDef data[0..len) in file order: `fn` gets
 * each decoded NodeDef (released after the call, unless fn takes it by copying
 * the struct and zeroing *node; blobs point into data) and
 * returns false to stop with the status it has set. *versions (may be NULL)
 * receives the GraphDef's versions. DATA_LOSS naming `what` on bad bytes. */
typedef bool (*graph_def_node_fn)(void *ctx, tensorflow_NodeDef *node, tfm_status *st);
tfm_code graph_def_for_each_node(const void *data, size_t len, graph_def_node_fn fn, void *ctx,
                                 tensorflow_VersionDef *versions, const char *what, tfm_status *st);

/* How an imported GraphDef lands in the graph. */
typedef struct graph_def_import_options {
  const char *prefix;            /* names become "<prefix>/<name>"; NULL or "" for none */
  /* input_map: inputs named map_keys[i] ("x:0", "x" = "x:0") in the GraphDef are
   * wired to map_values[i] (outputs already in the graph) instead. */
  const char *const *map_keys;
  output_t *const *map_values;
  int n_map;
  const char *what;              /* the source named in errors (file name, "graph_def") */
} graph_def_import_options_t;

/* Imports the encoded GraphDef data[0..len) into g (tf.import_graph_def). Nodes
 * may come in any order; they are added in a topological order with their exact
 * (prefixed) names, attrs checked against the op registry, "loc:@" colocations
 * prefixed, `_output_shapes` dropped (shapes are inferred again). All or
 * nothing: on error the graph is left as it was (names tried stay reserved).
 * Errors: UNIMPLEMENTED naming node and op type (and the other missing types) for
 * ops libtfmini lacks; INVALID_ARGUMENT naming the node for a missing input, an
 * output index out of range, a wrong attr kind, a cycle, a data input after a
 * control input; ALREADY_EXISTS when a name is taken; DATA_LOSS for bad bytes. */
tfm_code graph_def_import(graph_t *g, const void *data, size_t len,
                          const graph_def_import_options_t *opt, tfm_status *st);

/* Whether a serialized message file is protobuf text format (printable ASCII
 * opening with a field name or '#') rather than binary. */
bool graph_def_is_text(const uint8_t *data, size_t len);

/* "<prefix>/<name>" (name alone for an empty prefix), mem_alloc'ed; NULL on OOM. */
char *graph_def_prefixed(const char *prefix, const char *name);

#endif
