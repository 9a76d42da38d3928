/* Fuzz target: protobuf decoding of what model files hold (GraphDef, MetaGraphDef,
 * SavedModel), then the conversions a graph import applies to node attributes:
 * every tensor attr to a tensor (hostile dtypes, shapes, element counts, contents)
 * and every shape attr to a shape. The first byte picks the message type. */
#include "fuzz_target.h"
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

static void check_graph(const tensorflow_GraphDef *g) {
  for (pb_size_t i = 0; i < g->node_count; i++) check_attrs(&g->node[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  FUZZ_BEGIN();
  tfm_status st = {0};
  const uint8_t *body = data + 1;
  size_t len = size - 1;
  switch (data[0] % 3) {
  case 0: {
    tensorflow_GraphDef g;
    if (PBIO_DECODE(tensorflow_GraphDef, &g, body, len, "fuzz GraphDef", &st) == TFM_OK) {
      check_graph(&g);
      /* What decodes must encode again. */
      bytebuf_t out = BYTEBUF_INIT;
      (void)pbio_encode(tensorflow_GraphDef_fields, &g, &out, "fuzz GraphDef", &st);
      bytebuf_free(&out);
    }
    pbio_release(tensorflow_GraphDef_fields, &g);
    break;
  }
  case 1: {
    tensorflow_MetaGraphDef m;
    if (PBIO_DECODE(tensorflow_MetaGraphDef, &m, body, len, "fuzz MetaGraphDef", &st) == TFM_OK &&
        m.has_graph_def)
      check_graph(&m.graph_def);
    pbio_release(tensorflow_MetaGraphDef_fields, &m);
    break;
  }
  default: {
    tensorflow_SavedModel sm;
    if (PBIO_DECODE(tensorflow_SavedModel, &sm, body, len, "fuzz SavedModel", &st) == TFM_OK)
      for (pb_size_t i = 0; i < sm.meta_graphs_count; i++)
        if (sm.meta_graphs[i].has_graph_def) check_graph(&sm.meta_graphs[i].graph_def);
    pbio_release(tensorflow_SavedModel_fields, &sm);
    break;
  }
  }
  FUZZ_END();
  return 0;
}
