/* MetaGraphDef <-> graph: the internal side of tfm_export_meta_graph and
 * tfm_import_meta_graph, shared with SavedModel loading (saved_model.c) and event
 * files (an Event's meta_graph_def). Owned by lib/io/meta_graph.c. */
#ifndef TFM_IO_META_GRAPH_H
#define TFM_IO_META_GRAPH_H

#include "core/status.h"
#include "graph/graph.h"
#include "io/bytebuf.h"
#include "io/proto/meta_graph.pb.h"
#include "tfmini/io.h"

/* Appends g's MetaGraphDef to out: meta_info_def (tags, versions), graph_def
 * with _output_shapes, saver_def of `saver` (may be NULL) and every collection
 * (variables as VariableDef bytes, ops and tensors as node_list, ints, floats,
 * bytes). INVALID_ARGUMENT naming a collection whose items mix kinds that one
 * CollectionDef cannot hold; RESOURCE_EXHAUSTED. */
tfm_code meta_graph_encode(graph_t *g, tfm_saver *saver, const char *const *tags, int n_tags,
                           bytebuf_t *out, tfm_status *st);

/* Imports a decoded MetaGraphDef into g under `scope` (NULL or ""): the graph,
 * then its collections (variables become tfm_variable records, so optimizers and
 * initializers work), then a Saver from its SaverDef into *saver (NULL when it
 * has none). `what` names the source in errors. All or nothing: on error the
 * graph keeps no op, collection item or variable from it. */
tfm_code meta_graph_import(graph_t *g, const tensorflow_MetaGraphDef *mg, const char *scope,
                           const char *what, tfm_saver **saver, tfm_status *st);

#endif
