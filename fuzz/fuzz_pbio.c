/* Fuzz target: protobuf decoding of what model files hold (GraphDef, MetaGraphDef,
 * SavedModel; a GraphDef's nodes streamed one by one), then the conversions a
 * graph import applies to node attributes: every tensor attr to a tensor (hostile
 * dtypes, shapes, element counts, contents) and every shape attr to a shape. The
 * first byte picks the message type. */
#include "fuzz_target.h"
#include "io/graph_def.h"
#include "io/pbio.h"

static void check_attrs(const tensorflow_NodeDef *n) {
  tfm_status st = {0};
  for (pb_size_t i = 0; i < n->attr_count; i++) {
    const tensorflow_AttrValue *v = &n->attr[i].value;
    if (!n->attr[i].has_value) continue;
    if (v->which_value == tensorflow_AttrValue_tensor_tag) {
      tensor_t *t = pbio_tensor_from_proto(&v->value.tensor, "fuzz attr", &st);
      if (t) tensor_unref(t);
    } else if (v->which_value == tensorflow_AttrValue_shape_tag) {
      shape_t s;
      (void)pbio_shape_from_proto(&v->value.shape, true, &s, "fuzz attr", &st);
      (void)pbio_shape_from_proto(&v->value.shape, false, &s, "fuzz attr", &st);
    } else if (v->which_value == tensorflow_AttrValue_list_tag) {
      for (pb_size_t j = 0; j < v->value.list.shape_count; j++) {
        shape_t s;
        (void)pbio_shape_from_proto(&v->value.list.shape[j], true, &s, "fuzz attr", &st);
      }
      for (pb_size_t j = 0; j < v->value.list.tensor_count; j++) {
        tensor_t *t = pbio_tensor_from_proto(&v->value.list.tensor[j], "fuzz attr", &st);
        if (t) tensor_unref(t);
      }
    }
  }
}

static bool visit_node(void *ctx, tensorflow_NodeDef *node, tfm_status *st) {
  (void)ctx, (void)st;
  check_attrs(node);
  return true;
}

static void check_graph(const pbio_blob_t *graph_def) {
  tfm_status st = {0};
  tensorflow_VersionDef versions;
  memset(&versions, 0, sizeof versions);
  (void)graph_def_for_each_node(graph_def->data, graph_def->len, visit_node, NULL, &versions,
                                "fuzz GraphDef", &st);
  pbio_release(tensorflow_VersionDef_fields, &versions);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  FUZZ_BEGIN();
  tfm_status st = {0};
  const uint8_t *body = data + 1;
  size_t len = size - 1;
  switch (data[0] % 3) {
  case 0: {
    pbio_blob_t g = {body, len};
    check_graph(&g);
    break;
  }
  case 1: {
    tensorflow_MetaGraphDef m;
    if (PBIO_DECODE(tensorflow_MetaGraphDef, &m, body, len, "fuzz MetaGraphDef", &st) == TFM_OK)
      check_graph(&m.graph_def);
    pbio_release(tensorflow_MetaGraphDef_fields, &m);
    break;
  }
  default: {
    tensorflow_SavedModel sm;
    if (PBIO_DECODE(tensorflow_SavedModel, &sm, body, len, "fuzz SavedModel", &st) == TFM_OK)
      for (pb_size_t i = 0; i < sm.meta_graphs_count; i++)
        check_graph(&sm.meta_graphs[i].graph_def);
    pbio_release(tensorflow_SavedModel_fields, &sm);
    break;
  }
  }
  FUZZ_END();
  return 0;
}
