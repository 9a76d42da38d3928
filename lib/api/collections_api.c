/* Public collections API (tf.add_to_collection / tf.get_collection). */
#include "core/mem.h"
#include "graph/graph.h"
#include "tfmini/graph.h"

static tfm_code add_item(tfm_graph *g, const char *key, collection_item_t item, bool null_ptr,
                         tfm_status *st) {
  if (null_ptr) return status_set(st, TFM_INVALID_ARGUMENT, "add_to_collection '%s': the item is NULL",
                                  key ? key : "(null)");
  return graph_add_to_collection(graph_or_default(g), key, &item, st);
}

TFM_API tfm_code tfm_graph_add_to_collection_op(tfm_graph *g, const char *key, tfm_op *op, tfm_status *st) {
  return add_item(g, key, (collection_item_t){.kind = ITEM_OP, .u.op = op}, !op, st);
}
TFM_API tfm_code tfm_graph_add_to_collection_output(tfm_graph *g, const char *key, tfm_output *o,
                                                    tfm_status *st) {
  return add_item(g, key, (collection_item_t){.kind = ITEM_OUTPUT, .u.output = o}, !o, st);
}
TFM_API tfm_code tfm_graph_add_to_collection_variable(tfm_graph *g, const char *key, tfm_variable *v,
                                                      tfm_status *st) {
  return add_item(g, key, (collection_item_t){.kind = ITEM_VARIABLE, .u.variable = v}, !v, st);
}
TFM_API tfm_code tfm_graph_add_to_collection_int(tfm_graph *g, const char *key, int64_t v, tfm_status *st) {
  return add_item(g, key, (collection_item_t){.kind = ITEM_INT, .u.i = v}, false, st);
}
TFM_API tfm_code tfm_graph_add_to_collection_float(tfm_graph *g, const char *key, double v, tfm_status *st) {
  return add_item(g, key, (collection_item_t){.kind = ITEM_FLOAT, .u.f = v}, false, st);
}
TFM_API tfm_code tfm_graph_add_to_collection_bytes(tfm_graph *g, const char *key, const char *data,
                                                   size_t len, tfm_status *st) {
  collection_item_t it = {.kind = ITEM_BYTES, .u.bytes = {(char *)data, len}};
  return add_item(g, key, it, !data && len, st);
}

TFM_API int tfm_graph_collection_size(tfm_graph *g, const char *key) {
  collection_t *c = graph_collection(graph_or_default(g), key, false, NULL);
  return c ? c->n_items : 0;
}

TFM_API int tfm_graph_num_collections(tfm_graph *g) { return graph_or_default(g)->n_collections; }

TFM_API const char *tfm_graph_collection_key(tfm_graph *g, int index) {
  graph_t *gr = graph_or_default(g);
  return index >= 0 && index < gr->n_collections ? gr->collections[index].key : NULL;
}

/* Item `index` of `key`, of kind `kind` (any kind when kind < 0). */
static tfm_code item_at(tfm_graph *g, const char *key, int index, int kind,
                        const collection_item_t **out, tfm_status *st) {
  static const char *names[] = {"op", "output", "variable", "int", "float", "bytes"};
  collection_t *c = graph_collection(graph_or_default(g), key, false, NULL);
  if (!c)
    return status_set(st, TFM_NOT_FOUND, "collection '%s' does not exist", key ? key : "(null)");
  if (index < 0 || index >= c->n_items)
    return status_set(st, TFM_OUT_OF_RANGE, "collection '%s' has %d items; index %d is out of range",
                      key, c->n_items, index);
  const collection_item_t *it = &c->items[index];
  if (kind >= 0 && (int)it->kind != kind)
    return status_set(st, TFM_INVALID_ARGUMENT, "item %d of collection '%s' is a %s, not a %s", index,
                      key, names[it->kind], names[kind]);
  *out = it;
  return status_ok(st);
}

TFM_API tfm_code tfm_graph_collection_item_kind(tfm_graph *g, const char *key, int index,
                                                tfm_collection_kind *kind, tfm_status *st) {
  const collection_item_t *it = NULL;
  tfm_code rc = item_at(g, key, index, -1, &it, st);
  if (rc == TFM_OK) *kind = (tfm_collection_kind)it->kind;
  return rc;
}

TFM_API tfm_op *tfm_graph_collection_op(tfm_graph *g, const char *key, int index, tfm_status *st) {
  const collection_item_t *it = NULL;
  return item_at(g, key, index, ITEM_OP, &it, st) == TFM_OK ? it->u.op : NULL;
}

TFM_API tfm_output *tfm_graph_collection_output(tfm_graph *g, const char *key, int index, tfm_status *st) {
  const collection_item_t *it = NULL;
  return item_at(g, key, index, ITEM_OUTPUT, &it, st) == TFM_OK ? it->u.output : NULL;
}

TFM_API tfm_variable *tfm_graph_collection_variable(tfm_graph *g, const char *key, int index,
                                                    tfm_status *st) {
  const collection_item_t *it = NULL;
  return item_at(g, key, index, ITEM_VARIABLE, &it, st) == TFM_OK ? it->u.variable : NULL;
}

TFM_API tfm_code tfm_graph_collection_int(tfm_graph *g, const char *key, int index, int64_t *value,
                                          tfm_status *st) {
  const collection_item_t *it = NULL;
  tfm_code rc = item_at(g, key, index, ITEM_INT, &it, st);
  if (rc == TFM_OK) *value = it->u.i;
  return rc;
}

TFM_API tfm_code tfm_graph_collection_float(tfm_graph *g, const char *key, int index, double *value,
                                            tfm_status *st) {
  const collection_item_t *it = NULL;
  tfm_code rc = item_at(g, key, index, ITEM_FLOAT, &it, st);
  if (rc == TFM_OK) *value = it->u.f;
  return rc;
}

TFM_API tfm_code tfm_graph_collection_bytes(tfm_graph *g, const char *key, int index, const char **data,
                                            size_t *len, tfm_status *st) {
  const collection_item_t *it = NULL;
  tfm_code rc = item_at(g, key, index, ITEM_BYTES, &it, st);
  if (rc == TFM_OK) {
    *data = it->u.bytes.data;
    *len = it->u.bytes.len;
  }
  return rc;
}
