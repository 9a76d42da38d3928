/* Meta graphs (tf.train.export_meta_graph / import_meta_graph): a GraphDef with
 * _output_shapes, the SaverDef, the collections and meta_info_def. Variables
 * travel as VariableDef bytes in the "variables" and "trainable_variables"
 * collections and come back as tfm_variable records, so trainable_variables,
 * optimizers and initializers work on an imported graph. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "io/file.h"
#include "io/graph_def.h"
#include "io/meta_graph.h"
#include "io/pbio.h"
#include "io/pbtext.h"
#include "io/saver.h"
#include "ops/registry.h"
#include "tfmini/version.h"

#define META_GRAPH_MAX_FILE ((size_t)INT32_MAX)
/* The TensorFlow release whose graphs libtfmini writes (GraphDef producer 26). */
#define TF_VERSION_WRITTEN "1.10.0"

/* Collections whose bytes are VariableDefs (TensorFlow registers these keys). */
static bool variable_key(const char *key) {
  static const char *const keys[] = {"variables", "trainable_variables", "global_step", "local_variables",
                                      "model_variables", "moving_average_variables", "metric_variables"};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    if (strcmp(key, keys[i]) == 0) return true;
  return false;
}

/* ---- export ---- */

/* "op:index", malloc'ed (fields of messages freed by pbio_release). */
static char *tensor_name_dup(const output_t *o) {
  size_t len = strlen(o->node->name) + 16;
  char *r = malloc(len);
  if (r) snprintf(r, len, "%s:%d", o->node->name, o->index);
  return r;
}

static pb_bytes_array_t *variable_def_bytes(const variable_t *v, tfm_status *st) {
  tensorflow_VariableDef vd;
  memset(&vd, 0, sizeof vd);
  bytebuf_t b = BYTEBUF_INIT;
  pb_bytes_array_t *r = NULL;
  vd.variable_name = tensor_name_dup(&v->var->outputs[0]);
  vd.initializer_name = v->initializer ? pbio_strdup(v->initializer->name) : NULL;
  vd.snapshot_name = v->snapshot ? tensor_name_dup(v->snapshot) : NULL;
  vd.initial_value_name = v->initial_value ? tensor_name_dup(v->initial_value) : NULL;
  vd.trainable = v->trainable;
  if (!vd.variable_name || (v->initializer && !vd.initializer_name) || (v->snapshot && !vd.snapshot_name) ||
      (v->initial_value && !vd.initial_value_name)) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "meta graph: out of memory");
  } else if (pbio_encode(tensorflow_VariableDef_fields, &vd, &b, v->var->name, st) == TFM_OK) {
    if (!(r = pbio_bytes(b.data, b.len)))
      status_set(st, TFM_INVALID_ARGUMENT, "meta graph: VariableDef of '%s' is too long (%zu bytes)",
                 v->var->name, b.len);
  }
  pbio_release(tensorflow_VariableDef_fields, &vd);
  bytebuf_free(&b);
  return r;
}

static const char *item_kind_name(collection_item_kind_t k) {
  static const char *const names[] = {"op", "tensor", "variable", "int", "float", "bytes"};
  return names[k];
}

/* The CollectionDef kind holding items of kind k. */
static pb_size_t collection_kind(collection_item_kind_t k) {
  switch (k) {
    case ITEM_OP:
    case ITEM_OUTPUT: return tensorflow_CollectionDef_node_list_tag;
    case ITEM_INT: return tensorflow_CollectionDef_int64_list_tag;
    case ITEM_FLOAT: return tensorflow_CollectionDef_float_list_tag;
    default: return tensorflow_CollectionDef_bytes_list_tag;
  }
}

static tfm_code collection_to_proto(const collection_t *c, tensorflow_CollectionDef *cd, tfm_status *st) {
  size_t n = (size_t)c->n_items;
  pb_size_t kind = collection_kind(c->items[0].kind);
  /* Ints among floats go as floats (TensorFlow extends a float_list with them). */
  bool numbers = true;
  for (size_t i = 0; i < n; i++) numbers &= c->items[i].kind == ITEM_INT || c->items[i].kind == ITEM_FLOAT;
  for (size_t i = 0; i < n && numbers; i++)
    if (c->items[i].kind == ITEM_FLOAT) kind = tensorflow_CollectionDef_float_list_tag;
  for (size_t i = 1; i < n && !numbers; i++)
    if (collection_kind(c->items[i].kind) != kind || (kind == tensorflow_CollectionDef_bytes_list_tag &&
                                                       c->items[i].kind != c->items[0].kind))
      return status_set(st, TFM_INVALID_ARGUMENT,
                        "meta graph: collection '%s' mixes %s and %s items, which one CollectionDef cannot hold",
                        c->key, item_kind_name(c->items[0].kind), item_kind_name(c->items[i].kind));
  if (n > PBIO_MAX_COUNT)
    return status_set(st, TFM_INVALID_ARGUMENT, "meta graph: collection '%s' has %zu items, more than %u",
                      c->key, n, (unsigned)PBIO_MAX_COUNT);
  cd->which_kind = kind;
  bool oom = false;
  switch (kind) {
    case tensorflow_CollectionDef_node_list_tag: {
      tensorflow_CollectionDef_NodeList *l = &cd->kind.node_list;
      if (!(l->value = pbio_array(n, sizeof *l->value))) oom = true;
      for (size_t i = 0; i < n && !oom; i++) {
        const collection_item_t *it = &c->items[i];
        l->value[i] = it->kind == ITEM_OP ? pbio_strdup(it->u.op->name) : tensor_name_dup(it->u.output);
        oom = !l->value[i];
        l->value_count = (pb_size_t)(i + 1);
      }
      break;
    }
    case tensorflow_CollectionDef_int64_list_tag:
      if (!(cd->kind.int64_list.value = pbio_array(n, sizeof(int64_t)))) oom = true;
      for (size_t i = 0; i < n && !oom; i++) cd->kind.int64_list.value[i] = c->items[i].u.i;
      cd->kind.int64_list.value_count = oom ? 0 : (pb_size_t)n;
      break;
    case tensorflow_CollectionDef_float_list_tag:
      if (!(cd->kind.float_list.value = pbio_array(n, sizeof(float)))) oom = true;
      for (size_t i = 0; i < n && !oom; i++)
        cd->kind.float_list.value[i] = c->items[i].kind == ITEM_INT ? (float)c->items[i].u.i : (float)c->items[i].u.f;
      cd->kind.float_list.value_count = oom ? 0 : (pb_size_t)n;
      break;
    default: {
      tensorflow_CollectionDef_BytesList *l = &cd->kind.bytes_list;
      if (!(l->value = pbio_array(n, sizeof *l->value))) oom = true;
      for (size_t i = 0; i < n && !oom; i++) {
        const collection_item_t *it = &c->items[i];
        if (it->kind == ITEM_VARIABLE) {
          if (!(l->value[i] = variable_def_bytes(it->u.variable, st))) return status_code(st);
        } else if (!(l->value[i] = pbio_bytes(it->u.bytes.data, it->u.bytes.len))) {
          if (it->u.bytes.len > PBIO_MAX_COUNT)
            return status_set(st, TFM_INVALID_ARGUMENT, "meta graph: collection '%s': item %zu has %zu bytes, "
                              "more than %u", c->key, i, it->u.bytes.len, (unsigned)PBIO_MAX_COUNT);
          oom = true;
        }
        l->value_count = (pb_size_t)(i + 1);
      }
      break;
    }
  }
  return oom ? status_set(st, TFM_RESOURCE_EXHAUSTED, "meta graph: out of memory") : TFM_OK;
}

static int collection_cmp(const void *a, const void *b) {
  return strcmp((*(const collection_t *const *)a)->key, (*(const collection_t *const *)b)->key);
}

/* Collections sorted by key (deterministic output), empty ones left out as TF does. */
static tfm_code collections_to_proto(graph_t *g, tensorflow_MetaGraphDef *mg, tfm_status *st) {
  int n = 0;
  collection_t **sorted = mem_calloc((size_t)g->n_collections + 1, sizeof *sorted);
  if (!sorted) return status_set(st, TFM_RESOURCE_EXHAUSTED, "meta graph: out of memory");
  for (int i = 0; i < g->n_collections; i++)
    if (g->collections[i].n_items) sorted[n++] = &g->collections[i];
  qsort(sorted, (size_t)n, sizeof *sorted, collection_cmp);
  tfm_code code = TFM_OK;
  if (n && !(mg->collection_def = pbio_array((size_t)n, sizeof *mg->collection_def)))
    code = status_set(st, TFM_RESOURCE_EXHAUSTED, "meta graph: out of memory");
  for (int i = 0; i < n && code == TFM_OK; i++) {
    tensorflow_MetaGraphDef_CollectionDefEntry *e = &mg->collection_def[i];
    mg->collection_def_count = (pb_size_t)(i + 1);
    e->has_value = true;
    if (!(e->key = pbio_strdup(sorted[i]->key)))
      code = status_set(st, TFM_RESOURCE_EXHAUSTED, "meta graph: out of memory");
    else
      code = collection_to_proto(sorted[i], &e->value, st);
  }
  mem_free(sorted);
  return code;
}

tfm_code meta_graph_encode(graph_t *g, tfm_saver *saver, const char *const *tags, int n_tags, bytebuf_t *out,
                           tfm_status *st) {
  tensorflow_MetaGraphDef mg;
  memset(&mg, 0, sizeof mg);
  bytebuf_t graph = BYTEBUF_INIT;
  tfm_code code = TFM_OK;
  tensorflow_MetaGraphDef_MetaInfoDef *mi = &mg.meta_info_def;
  mg.has_meta_info_def = true;
  mi->tensorflow_version = pbio_strdup(TF_VERSION_WRITTEN);
  mi->tensorflow_git_version = pbio_strdup("libtfmini " TFM_VERSION_STRING);
  if (n_tags > 0 && (mi->tags = pbio_array((size_t)n_tags, sizeof *mi->tags)))
    for (int i = 0; i < n_tags && tags[i]; i++) mi->tags[mi->tags_count++] = pbio_strdup(tags[i]);
  bool oom = !mi->tensorflow_version || !mi->tensorflow_git_version || (n_tags > 0 && !mi->tags);
  for (pb_size_t i = 0; i < mi->tags_count; i++) oom |= !mi->tags[i];
  if (saver) {
    saver_def_t sd;
    saver_get_def(saver, &sd);
    mg.has_saver_def = true;
    mg.saver_def.filename_tensor_name = pbio_strdup(sd.filename_tensor_name ? sd.filename_tensor_name : "");
    mg.saver_def.save_tensor_name = pbio_strdup(sd.save_tensor_name ? sd.save_tensor_name : "");
    mg.saver_def.restore_op_name = pbio_strdup(sd.restore_op_name ? sd.restore_op_name : "");
    mg.saver_def.max_to_keep = sd.max_to_keep;
    mg.saver_def.sharded = sd.sharded != 0;
    mg.saver_def.keep_checkpoint_every_n_hours = sd.keep_checkpoint_every_n_hours;
    mg.saver_def.version = (tensorflow_SaverDef_CheckpointFormatVersion)sd.version;
    oom |= !mg.saver_def.filename_tensor_name || !mg.saver_def.save_tensor_name || !mg.saver_def.restore_op_name;
  }
  if (oom) code = status_set(st, TFM_RESOURCE_EXHAUSTED, "meta graph: out of memory");
  graph_lock(g);
  if (code == TFM_OK) code = graph_def_encode(g, true, &graph, st);
  if (code == TFM_OK) code = collections_to_proto(g, &mg, st);
  graph_unlock(g);
  if (code == TFM_OK) {
    mg.graph_def = (pbio_blob_t){graph.data, graph.len};
    code = pbio_encode(tensorflow_MetaGraphDef_fields, &mg, out, "MetaGraphDef", st);
  }
  pbio_release(tensorflow_MetaGraphDef_fields, &mg);
  bytebuf_free(&graph);
  if (code == TFM_OK && out->failed) code = status_set(st, TFM_RESOURCE_EXHAUSTED, "meta graph: out of memory");
  return code == TFM_OK ? status_ok(st) : code;
}

TFM_API tfm_code tfm_export_meta_graph(tfm_graph *g, tfm_saver *saver, const char *path, tfm_status *status) {
  if (!path || !*path) return status_set(status, TFM_INVALID_ARGUMENT, "tfm_export_meta_graph: path is %s",
                                         path ? "empty" : "NULL");
  file_sweep_stale_tmps_of(path); /* what a killed earlier export of this file left */
  bytebuf_t b = BYTEBUF_INIT;
  if (meta_graph_encode(graph_or_default(g), saver, NULL, 0, &b, status) == TFM_OK &&
      file_write_atomic(path, b.data, b.len, status) == TFM_OK)
    status_ok(status);
  bytebuf_free(&b);
  return status_code(status);
}

/* ---- import ---- */

/* A variable record to create (or found) once everything resolved. */
typedef struct var_plan {
  node_t *var, *initializer;
  output_t *snapshot, *initial_value;
  bool trainable;
  variable_t *made;
} var_plan_t;

/* A collection item to add; variables point into the plans by index. */
typedef struct item_plan {
  const char *key;
  collection_item_t item;
  int var; /* index in plans, -1 when not a variable */
} item_plan_t;

typedef struct importer {
  graph_t *g;
  const char *scope, *what;
  tfm_status *st;
  var_plan_t *vars;
  int n_vars, cap_vars;
  item_plan_t *items;
  int n_items, cap_items;
  char **trainable; /* op names (with scope) listed in trainable_variables */
  int n_trainable;
} importer_t;

static void *grow(void *arr, int *cap, int n, size_t elem) {
  if (n < *cap) return arr;
  int nc = *cap ? *cap * 2 : 16;
  void *p = mem_realloc(arr, (size_t)nc * elem);
  if (p) *cap = nc;
  return p;
}

/* The op name of "name:0" (or "name") under the scope; mem_alloc'ed. */
static char *scoped_op_name(const importer_t *im, const char *tensor) {
  const char *colon = strrchr(tensor, ':');
  char *base = colon ? mem_strndup(tensor, (size_t)(colon - tensor)) : mem_strdup(tensor);
  if (!base) return NULL;
  char *r = graph_def_prefixed(im->scope, base);
  mem_free(base);
  return r;
}

static node_t *find_scoped_op(importer_t *im, const char *what, const char *name) {
  char *full = graph_def_prefixed(im->scope, name);
  if (!full) {
    status_set(im->st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", im->what);
    return NULL;
  }
  node_t *n = graph_find_op(im->g, full);
  if (!n) status_set(im->st, TFM_NOT_FOUND, "%s: %s names op '%s', which is not in the graph", im->what, what, full);
  mem_free(full);
  return n;
}

static output_t *find_scoped_tensor(importer_t *im, const char *what, const char *name) {
  char *full = graph_def_prefixed(im->scope, name);
  if (!full) {
    status_set(im->st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", im->what);
    return NULL;
  }
  output_t *o = graph_find_output(im->g, full, im->st);
  if (!o) status_prefix(im->st, "%s: %s", im->what, what);
  mem_free(full);
  return o;
}

static bool is_trainable(const importer_t *im, const char *op_name) {
  for (int i = 0; i < im->n_trainable; i++)
    if (strcmp(im->trainable[i], op_name) == 0) return true;
  return false;
}

static int plan_of(const importer_t *im, const node_t *var) {
  for (int i = 0; i < im->n_vars; i++)
    if (im->vars[i].var == var) return i;
  return -1;
}

/* Resolves a VariableDef to a plan (an existing one, or a new one); its index. */
static int plan_variable(importer_t *im, const char *key, const pb_bytes_array_t *bytes, bool trainable) {
  tensorflow_VariableDef vd;
  char what[256];
  snprintf(what, sizeof what, "%s: collection '%s'", im->what, key);
  if (PBIO_DECODE(tensorflow_VariableDef, &vd, bytes ? bytes->bytes : NULL, bytes ? bytes->size : 0, what,
                  im->st) != TFM_OK)
    return -1;
  int r = -1;
  var_plan_t p = {0};
  if (vd.is_resource) {
    status_set(im->st, TFM_UNIMPLEMENTED, "%s: variable '%s' is a resource variable, which libtfmini lacks", what,
               vd.variable_name ? vd.variable_name : "");
    goto out;
  }
  if (!vd.variable_name || !*vd.variable_name) {
    status_set(im->st, TFM_INVALID_ARGUMENT, "%s: a VariableDef without variable_name", what);
    goto out;
  }
  output_t *o = find_scoped_tensor(im, what, vd.variable_name);
  if (!o) goto out;
  if (!(o->node->def->flags & OP_VARIABLE)) {
    status_set(im->st, TFM_INVALID_ARGUMENT, "%s: '%s' is a %s, not a variable", what, o->node->name, o->node->type);
    goto out;
  }
  if ((r = plan_of(im, o->node)) >= 0) goto out;
  p.var = o->node;
  p.trainable = trainable || is_trainable(im, o->node->name);
  if ((vd.initializer_name && *vd.initializer_name &&
       !(p.initializer = find_scoped_op(im, what, vd.initializer_name))) ||
      (vd.snapshot_name && *vd.snapshot_name && !(p.snapshot = find_scoped_tensor(im, what, vd.snapshot_name))) ||
      (vd.initial_value_name && *vd.initial_value_name &&
       !(p.initial_value = find_scoped_tensor(im, what, vd.initial_value_name))))
    goto out;
  var_plan_t *vars = grow(im->vars, &im->cap_vars, im->n_vars, sizeof *vars);
  if (!vars) {
    status_set(im->st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", im->what);
    goto out;
  }
  im->vars = vars;
  vars[r = im->n_vars++] = p;
out:
  pbio_release(tensorflow_VariableDef_fields, &vd);
  return r;
}

static tfm_code plan_item(importer_t *im, const char *key, collection_item_t item, int var) {
  item_plan_t *items = grow(im->items, &im->cap_items, im->n_items, sizeof *items);
  if (!items) return status_set(im->st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", im->what);
  im->items = items;
  items[im->n_items++] = (item_plan_t){key, item, var};
  return TFM_OK;
}

static const tensorflow_CollectionDef *find_collection(const tensorflow_MetaGraphDef *mg, const char *key) {
  for (pb_size_t i = 0; i < mg->collection_def_count; i++)
    if (mg->collection_def[i].key && strcmp(mg->collection_def[i].key, key) == 0) return &mg->collection_def[i].value;
  return NULL;
}

/* The names of trainable variables: "trainable_variables" VariableDefs. */
static tfm_code note_trainable(importer_t *im, const tensorflow_MetaGraphDef *mg) {
  const tensorflow_CollectionDef *c = find_collection(mg, "trainable_variables");
  if (!c || c->which_kind != tensorflow_CollectionDef_bytes_list_tag) return TFM_OK;
  const tensorflow_CollectionDef_BytesList *l = &c->kind.bytes_list;
  if (!(im->trainable = mem_calloc((size_t)l->value_count + 1, sizeof *im->trainable)))
    return status_set(im->st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", im->what);
  for (pb_size_t i = 0; i < l->value_count; i++) {
    tensorflow_VariableDef vd;
    if (PBIO_DECODE(tensorflow_VariableDef, &vd, l->value[i] ? l->value[i]->bytes : NULL,
                    l->value[i] ? l->value[i]->size : 0, "trainable_variables", im->st) != TFM_OK)
      return status_prefix(im->st, "%s", im->what);
    if (vd.variable_name && !(im->trainable[im->n_trainable++] = scoped_op_name(im, vd.variable_name))) {
      pbio_release(tensorflow_VariableDef_fields, &vd);
      return status_set(im->st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", im->what);
    }
    pbio_release(tensorflow_VariableDef_fields, &vd);
  }
  return TFM_OK;
}

static tfm_code plan_collection(importer_t *im, const char *key, const tensorflow_CollectionDef *c) {
  char what[256];
  snprintf(what, sizeof what, "collection '%s'", key);
  switch (c->which_kind) {
    case tensorflow_CollectionDef_node_list_tag:
      for (pb_size_t i = 0; i < c->kind.node_list.value_count; i++) {
        const char *name = c->kind.node_list.value[i] ? c->kind.node_list.value[i] : "";
        collection_item_t it;
        if (strchr(name, ':')) {
          it = (collection_item_t){.kind = ITEM_OUTPUT, .u.output = find_scoped_tensor(im, what, name)};
          if (!it.u.output) return status_code(im->st);
        } else {
          it = (collection_item_t){.kind = ITEM_OP, .u.op = find_scoped_op(im, what, name)};
          if (!it.u.op) return status_code(im->st);
        }
        if (plan_item(im, key, it, -1) != TFM_OK) return status_code(im->st);
      }
      return TFM_OK;
    case tensorflow_CollectionDef_bytes_list_tag:
      for (pb_size_t i = 0; i < c->kind.bytes_list.value_count; i++) {
        const pb_bytes_array_t *b = c->kind.bytes_list.value[i];
        if (variable_key(key)) {
          int v = plan_variable(im, key, b, strcmp(key, "trainable_variables") == 0);
          if (v < 0) return status_code(im->st);
          /* graph_add_variable files records under these two itself */
          if (strcmp(key, "variables") && strcmp(key, "trainable_variables") &&
              plan_item(im, key, (collection_item_t){.kind = ITEM_VARIABLE}, v) != TFM_OK)
            return status_code(im->st);
          continue;
        }
        collection_item_t it = {.kind = ITEM_BYTES};
        it.u.bytes.data = b ? (char *)b->bytes : NULL;
        it.u.bytes.len = b ? b->size : 0;
        if (plan_item(im, key, it, -1) != TFM_OK) return status_code(im->st);
      }
      return TFM_OK;
    case tensorflow_CollectionDef_int64_list_tag:
      for (pb_size_t i = 0; i < c->kind.int64_list.value_count; i++)
        if (plan_item(im, key, (collection_item_t){.kind = ITEM_INT, .u.i = c->kind.int64_list.value[i]}, -1) != TFM_OK)
          return status_code(im->st);
      return TFM_OK;
    case tensorflow_CollectionDef_float_list_tag:
      for (pb_size_t i = 0; i < c->kind.float_list.value_count; i++)
        if (plan_item(im, key, (collection_item_t){.kind = ITEM_FLOAT, .u.f = c->kind.float_list.value[i]}, -1) !=
            TFM_OK)
          return status_code(im->st);
      return TFM_OK;
    default: /* any_list (SavedModel assets) and empty ones: nothing libtfmini can hold */
      return TFM_OK;
  }
}

/* Resolves every collection before anything is added: "variables" first (its
 * order is the records' order), then "trainable_variables", then the rest. */
static tfm_code plan_collections(importer_t *im, const tensorflow_MetaGraphDef *mg) {
  if (note_trainable(im, mg) != TFM_OK) return status_code(im->st);
  static const char *const first[] = {"variables", "trainable_variables"};
  for (int k = 0; k < 2; k++) {
    const tensorflow_CollectionDef *c = find_collection(mg, first[k]);
    if (c && plan_collection(im, first[k], c) != TFM_OK) return status_code(im->st);
  }
  for (pb_size_t i = 0; i < mg->collection_def_count; i++) {
    const char *key = mg->collection_def[i].key ? mg->collection_def[i].key : "";
    if (strcmp(key, first[0]) && strcmp(key, first[1]) &&
        plan_collection(im, key, &mg->collection_def[i].value) != TFM_OK)
      return status_code(im->st);
  }
  return TFM_OK;
}

static tfm_code apply_plans(importer_t *im) {
  for (int i = 0; i < im->n_vars; i++) {
    var_plan_t *p = &im->vars[i];
    if (!(p->made = graph_add_variable(im->g, p->var, p->initializer, p->snapshot, p->initial_value, p->trainable,
                                       im->st)))
      return status_prefix(im->st, "%s", im->what);
  }
  for (int i = 0; i < im->n_items; i++) {
    item_plan_t *p = &im->items[i];
    if (p->var >= 0) p->item.u.variable = im->vars[p->var].made;
    if (graph_add_to_collection(im->g, p->key, &p->item, im->st) != TFM_OK) return status_prefix(im->st, "%s", im->what);
  }
  return TFM_OK;
}

static tfm_saver *saver_of(importer_t *im, const tensorflow_SaverDef *sd) {
  char *names[3] = {graph_def_prefixed(im->scope, sd->filename_tensor_name ? sd->filename_tensor_name : ""),
                    graph_def_prefixed(im->scope, sd->save_tensor_name ? sd->save_tensor_name : ""),
                    graph_def_prefixed(im->scope, sd->restore_op_name ? sd->restore_op_name : "")};
  tfm_saver *s = NULL;
  if (!names[0] || !names[1] || !names[2]) {
    status_set(im->st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", im->what);
  } else {
    saver_def_t def = {names[0], names[1], names[2], sd->max_to_keep, sd->keep_checkpoint_every_n_hours,
                       sd->sharded, (int)sd->version};
    if (!(s = saver_from_def(im->g, &def, im->st))) status_prefix(im->st, "%s", im->what);
  }
  for (int i = 0; i < 3; i++) mem_free(names[i]);
  return s;
}

tfm_code meta_graph_import(graph_t *g, const tensorflow_MetaGraphDef *mg, const char *scope, const char *what,
                           tfm_saver **saver, tfm_status *st) {
  importer_t im = {.g = g, .scope = scope, .what = what ? what : "meta graph", .st = st};
  *saver = NULL;
  graph_lock(g);
  int first = g->n_nodes;
  graph_def_import_options_t opt = {.prefix = scope, .what = im.what};
  tfm_code code = graph_def_import(g, mg->graph_def.data, mg->graph_def.len, &opt, st);
  if (code == TFM_OK) code = plan_collections(&im, mg);
  if (code == TFM_OK && mg->has_saver_def && !(*saver = saver_of(&im, &mg->saver_def))) code = status_code(st);
  bool applying = code == TFM_OK;
  if (applying) code = apply_plans(&im); /* fails only when out of memory */
  if (code != TFM_OK) {
    tfm_saver_delete(*saver);
    *saver = NULL;
    if (!applying) graph_remove_ops_from(g, first);
  }
  graph_unlock(g);
  for (int i = 0; i < im.n_trainable; i++) mem_free(im.trainable[i]);
  mem_free(im.trainable);
  mem_free(im.vars);
  mem_free(im.items);
  return code == TFM_OK ? status_ok(st) : code;
}

/* Reads a MetaGraphDef file, binary or text format. On success *buf holds the
 * file (the message's blobs point into it). */
static tfm_code read_meta_graph(const char *path, tensorflow_MetaGraphDef *mg, uint8_t **buf, bytebuf_t *text_bin,
                                tfm_status *st) {
  size_t len;
  if (file_read_all(path, META_GRAPH_MAX_FILE, buf, &len, st) != TFM_OK) return status_code(st);
  if (!graph_def_is_text(*buf, len)) return PBIO_DECODE(tensorflow_MetaGraphDef, mg, *buf, len, path, st);
  if (pbtext_to_binary("tensorflow.MetaGraphDef", (const char *)*buf, len, text_bin, path, st) != TFM_OK)
    return status_code(st);
  return PBIO_DECODE(tensorflow_MetaGraphDef, mg, text_bin->data, text_bin->len, path, st);
}

TFM_API tfm_saver *tfm_import_meta_graph(tfm_graph *g, const char *path, const char *import_scope,
                                         tfm_status *status) {
  if (!path) {
    status_set(status, TFM_INVALID_ARGUMENT, "tfm_import_meta_graph: path is NULL");
    return NULL;
  }
  tensorflow_MetaGraphDef mg;
  memset(&mg, 0, sizeof mg);
  uint8_t *buf = NULL;
  bytebuf_t text_bin = BYTEBUF_INIT;
  tfm_saver *saver = NULL;
  if (read_meta_graph(path, &mg, &buf, &text_bin, status) == TFM_OK)
    meta_graph_import(graph_or_default(g), &mg, import_scope, path, &saver, status);
  pbio_release(tensorflow_MetaGraphDef_fields, &mg);
  bytebuf_free(&text_bin);
  mem_free(buf);
  return saver;
}
