/* TF 1.x SavedModel loading (tf.saved_model.loader.load): saved_model.pb (or
 * .pbtxt) holds MetaGraphDefs told apart by their tag sets; the chosen one is
 * imported into the session's graph, its variables restored from
 * variables/variables through its SaverDef, then its main op (or legacy init op)
 * runs. The signature_defs map keys to tensor names. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/mem.h"
#include "io/file.h"
#include "io/graph_def.h"
#include "io/meta_graph.h"
#include "io/pbio.h"
#include "io/pbtext.h"
#include "runtime/session.h"

#define SAVED_MODEL_MAX_FILE ((size_t)INT32_MAX)

typedef struct signature_entry {
  char *signature, *key, *tensor;
  bool is_output;
} signature_entry_t;

struct tfm_saved_model {
  tfm_session *session;
  graph_t *graph;
  signature_entry_t *entries;
  int n_entries;
};

TFM_API void tfm_saved_model_delete(tfm_saved_model *m) {
  if (!m) return;
  for (int i = 0; i < m->n_entries; i++) {
    mem_free(m->entries[i].signature);
    mem_free(m->entries[i].key);
    mem_free(m->entries[i].tensor);
  }
  mem_free(m->entries);
  mem_free(m);
}

static char *path_join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *r = mem_alloc(a + b + 2);
  if (r) snprintf(r, a + b + 2, "%s/%s", dir, name);
  return r;
}

static bool exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

/* Reads export_dir/saved_model.pb, else saved_model.pbtxt, into *sm. */
static tfm_code read_saved_model(const char *dir, tensorflow_SavedModel *sm, uint8_t **buf, bytebuf_t *bin,
                                 tfm_status *st) {
  char *pb = path_join(dir, "saved_model.pb"), *txt = path_join(dir, "saved_model.pbtxt");
  tfm_code c;
  size_t len;
  if (!pb || !txt) {
    c = status_set(st, TFM_RESOURCE_EXHAUSTED, "SavedModel: out of memory");
  } else if (exists(pb)) {
    if ((c = file_read_all(pb, SAVED_MODEL_MAX_FILE, buf, &len, st)) == TFM_OK)
      c = PBIO_DECODE(tensorflow_SavedModel, sm, *buf, len, pb, st);
  } else if (exists(txt)) {
    if ((c = file_read_all(txt, SAVED_MODEL_MAX_FILE, buf, &len, st)) == TFM_OK &&
        (c = pbtext_to_binary("tensorflow.SavedModel", (const char *)*buf, len, bin, txt, st)) == TFM_OK)
      c = PBIO_DECODE(tensorflow_SavedModel, sm, bin->data, bin->len, txt, st);
  } else {
    c = status_set(st, TFM_NOT_FOUND, "SavedModel: no saved_model.pb or saved_model.pbtxt in '%s'", dir);
  }
  mem_free(pb);
  mem_free(txt);
  return c;
}

/* Tag sets are compared as sets (order and repeats do not matter). */
static bool tags_match(const tensorflow_MetaGraphDef *mg, const char *const *tags, int n) {
  const tensorflow_MetaGraphDef_MetaInfoDef *mi = &mg->meta_info_def;
  for (int i = 0; i < n; i++) {
    bool found = false;
    for (pb_size_t j = 0; j < mi->tags_count && !found; j++) found = strcmp(mi->tags[j], tags[i]) == 0;
    if (!found) return false;
  }
  for (pb_size_t j = 0; j < mi->tags_count; j++) {
    bool found = false;
    for (int i = 0; i < n && !found; i++) found = strcmp(mi->tags[j], tags[i]) == 0;
    if (!found) return false;
  }
  return true;
}

static tfm_code not_found_tags(const char *dir, const tensorflow_SavedModel *sm, tfm_status *st) {
  char have[512];
  size_t at = 0;
  have[0] = 0;
  for (pb_size_t m = 0; m < sm->meta_graphs_count && at < sizeof have; m++) {
    const tensorflow_MetaGraphDef_MetaInfoDef *mi = &sm->meta_graphs[m].meta_info_def;
    at += (size_t)snprintf(have + at, sizeof have - at, "%s{", m ? ", " : "");
    for (pb_size_t j = 0; j < mi->tags_count && at < sizeof have; j++)
      at += (size_t)snprintf(have + at, sizeof have - at, "%s%s", j ? "," : "", mi->tags[j]);
    if (at < sizeof have) at += (size_t)snprintf(have + at, sizeof have - at, "}");
  }
  return status_set(st, TFM_NOT_FOUND, "SavedModel '%s': no meta graph with the tags asked for (it has %s)", dir,
                    have);
}

static tfm_code add_signature(tfm_saved_model *m, const char *sig, const char *key, const tensorflow_TensorInfo *ti,
                              bool is_output, tfm_status *st) {
  if (ti->which_encoding != tensorflow_TensorInfo_name_tag || !ti->encoding.name) return TFM_OK; /* sparse: skip */
  signature_entry_t *e = mem_realloc(m->entries, (size_t)(m->n_entries + 1) * sizeof *e);
  if (!e) return status_set(st, TFM_RESOURCE_EXHAUSTED, "SavedModel: out of memory");
  m->entries = e;
  e = &m->entries[m->n_entries];
  *e = (signature_entry_t){mem_strdup(sig), mem_strdup(key ? key : ""), mem_strdup(ti->encoding.name), is_output};
  m->n_entries++;
  if (!e->signature || !e->key || !e->tensor) return status_set(st, TFM_RESOURCE_EXHAUSTED, "SavedModel: out of memory");
  return TFM_OK;
}

static tfm_code keep_signatures(tfm_saved_model *m, const tensorflow_MetaGraphDef *mg, tfm_status *st) {
  for (pb_size_t i = 0; i < mg->signature_def_count; i++) {
    const tensorflow_MetaGraphDef_SignatureDefEntry *s = &mg->signature_def[i];
    const char *name = s->key ? s->key : "";
    for (pb_size_t j = 0; j < s->value.inputs_count; j++)
      if (add_signature(m, name, s->value.inputs[j].key, &s->value.inputs[j].value, false, st) != TFM_OK)
        return status_code(st);
    for (pb_size_t j = 0; j < s->value.outputs_count; j++)
      if (add_signature(m, name, s->value.outputs[j].key, &s->value.outputs[j].value, true, st) != TFM_OK)
        return status_code(st);
  }
  return TFM_OK;
}

/* The op of the first of `keys` that names one (main_op, then legacy_init_op). */
static node_t *init_op(graph_t *g, const char *const *keys, int n) {
  for (int k = 0; k < n; k++) {
    collection_t *c = graph_collection(g, keys[k], false, NULL);
    if (c && c->n_items > 0 && c->items[0].kind == ITEM_OP) return c->items[0].u.op;
  }
  return NULL;
}

TFM_API tfm_saved_model *tfm_saved_model_load(tfm_session *session, const char *export_dir,
                                              const char *const *tags, int n_tags, tfm_status *status) {
  if (!session || !export_dir || (n_tags && !tags) || n_tags < 0) {
    status_set(status, TFM_INVALID_ARGUMENT, "tfm_saved_model_load: %s", !session ? "session is NULL"
               : !export_dir ? "export_dir is NULL" : "bad tags");
    return NULL;
  }
  for (int i = 0; i < n_tags; i++)
    if (!tags[i]) {
      status_set(status, TFM_INVALID_ARGUMENT, "tfm_saved_model_load: tag %d is NULL", i);
      return NULL;
    }
  tensorflow_SavedModel sm;
  memset(&sm, 0, sizeof sm);
  uint8_t *buf = NULL;
  bytebuf_t bin = BYTEBUF_INIT;
  tfm_saved_model *m = NULL;
  tfm_saver *saver = NULL;
  char *prefix = NULL;
  graph_t *g = session_graph(session);
  if (read_saved_model(export_dir, &sm, &buf, &bin, status) != TFM_OK) goto out;
  const tensorflow_MetaGraphDef *mg = NULL;
  for (pb_size_t i = 0; i < sm.meta_graphs_count && !mg; i++)
    if (tags_match(&sm.meta_graphs[i], tags, n_tags)) mg = &sm.meta_graphs[i];
  if (!mg) {
    not_found_tags(export_dir, &sm, status);
    goto out;
  }
  if (!(m = mem_calloc(1, sizeof *m)) || !(prefix = path_join(export_dir, "variables/variables"))) {
    status_set(status, TFM_RESOURCE_EXHAUSTED, "SavedModel: out of memory");
    goto out;
  }
  m->session = session;
  m->graph = g;
  if (keep_signatures(m, mg, status) != TFM_OK) goto out;
  if (meta_graph_import(g, mg, NULL, export_dir, &saver, status) != TFM_OK) goto out;
  /* A model without variables has no variables/ files and nothing to restore. */
  char *index = path_join(export_dir, "variables/variables.index");
  bool has_vars = index && exists(index);
  mem_free(index);
  if (saver && has_vars && tfm_saver_restore(saver, session, prefix, status) != TFM_OK) {
    status_prefix(status, "SavedModel '%s'", export_dir);
    goto out;
  }
  static const char *const init_keys[] = {"saved_model_main_op", "legacy_init_op"};
  node_t *init = init_op(g, init_keys, 2);
  if (init && tfm_session_run(session, NULL, NULL, 0, NULL, NULL, 0, &init, 1, status) != TFM_OK) {
    status_prefix(status, "SavedModel '%s': running its main op '%s'", export_dir, init->name);
    goto out;
  }
  status_ok(status);
out:
  if (status_code(status) != TFM_OK) {
    tfm_saved_model_delete(m);
    m = NULL;
  }
  tfm_saver_delete(saver);
  mem_free(prefix);
  pbio_release(tensorflow_SavedModel_fields, &sm);
  bytebuf_free(&bin);
  mem_free(buf);
  return m;
}

TFM_API tfm_output *tfm_saved_model_signature_tensor(tfm_saved_model *m, const char *signature, const char *key,
                                                     int is_output, tfm_status *status) {
  if (!m || !signature || !key) {
    status_set(status, TFM_INVALID_ARGUMENT, "tfm_saved_model_signature_tensor: NULL %s",
               !m ? "model" : !signature ? "signature" : "key");
    return NULL;
  }
  for (int i = 0; i < m->n_entries; i++) {
    const signature_entry_t *e = &m->entries[i];
    if (e->is_output == (is_output != 0) && strcmp(e->signature, signature) == 0 && strcmp(e->key, key) == 0) {
      output_t *o = graph_find_output(m->graph, e->tensor, status);
      if (!o) status_prefix(status, "signature '%s' %s '%s'", signature, is_output ? "output" : "input", key);
      return o;
    }
  }
  status_set(status, TFM_NOT_FOUND, "SavedModel: signature '%s' has no %s named '%s'", signature,
             is_output ? "output" : "input", key);
  return NULL;
}
