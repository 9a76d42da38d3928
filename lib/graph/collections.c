/* Collections (tf.add_to_collection): keyed lists of ops, outputs, variables,
 * numbers and byte strings, kept in insertion order of keys and items. */
#include <string.h>

#include "core/mem.h"
#include "graph/graph_impl.h"

collection_t *graph_collection(graph_t *g, const char *key, bool create, tfm_status *st) {
  if (!key) {
    status_set(st, TFM_INVALID_ARGUMENT, "collection key is NULL");
    return NULL;
  }
  graph_lock(g);
  collection_t *c = NULL;
  for (int i = 0; i < g->n_collections; i++)
    if (strcmp(g->collections[i].key, key) == 0) c = &g->collections[i];
  if (!c && create) {
    if (g->n_collections == g->cap_collections) {
      int cap = g->cap_collections ? g->cap_collections * 2 : 8;
      collection_t *p = mem_realloc(g->collections, (size_t)cap * sizeof *p);
      if (!p) goto oom;
      g->collections = p;
      g->cap_collections = cap;
    }
    c = &g->collections[g->n_collections];
    memset(c, 0, sizeof *c);
    if (!(c->key = mem_strdup(key))) goto oom;
    g->n_collections++;
  }
  graph_unlock(g);
  if (!c && !create)
    status_set(st, TFM_NOT_FOUND, "collection '%s' does not exist", key);
  else
    status_ok(st);
  return c;
oom:
  graph_unlock(g);
  status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory for collection '%s'", key);
  return NULL;
}

tfm_code graph_add_to_collection(graph_t *g, const char *key, const collection_item_t *item,
                                 tfm_status *st) {
  graph_lock(g);
  tfm_code rc = TFM_OK;
  collection_t *c = graph_collection(g, key, true, st);
  if (!c) {
    rc = status_code(st) ? status_code(st) : TFM_RESOURCE_EXHAUSTED;
    goto out;
  }
  collection_item_t it = *item;
  if (it.kind == ITEM_BYTES) {
    it.u.bytes.data = mem_alloc(item->u.bytes.len + 1);
    if (!it.u.bytes.data) goto oom;
    if (item->u.bytes.len) memcpy(it.u.bytes.data, item->u.bytes.data, item->u.bytes.len);
    it.u.bytes.data[item->u.bytes.len] = '\0';
  }
  if (c->n_items == c->cap) {
    int cap = c->cap ? c->cap * 2 : 8;
    collection_item_t *p = mem_realloc(c->items, (size_t)cap * sizeof *p);
    if (!p) {
      if (it.kind == ITEM_BYTES) mem_free(it.u.bytes.data);
      goto oom;
    }
    c->items = p;
    c->cap = cap;
  }
  c->items[c->n_items++] = it;
  g->version++;
  rc = status_ok(st);
  goto out;
oom:
  rc = status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory adding to collection '%s'", key);
out:
  graph_unlock(g);
  return rc;
}

void collections_free(graph_t *g) {
  for (int i = 0; i < g->n_collections; i++) {
    collection_t *c = &g->collections[i];
    for (int j = 0; j < c->n_items; j++)
      if (c->items[j].kind == ITEM_BYTES) mem_free(c->items[j].u.bytes.data);
    mem_free(c->items);
    mem_free(c->key);
  }
  mem_free(g->collections);
}
