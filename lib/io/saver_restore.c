/* Saver.restore: exactly the saver's variables, all or nothing.
 *
 * Three passes over the checkpoint:
 *   1. every key is looked up and its dtype and shape checked against the
 *      variable (NOT_FOUND / INVALID_ARGUMENT naming both);
 *   2. every tensor's bytes are checked against their CRC: a variable that has no
 *      value of that shape yet is read into a new tensor (staged); one that has
 *      is only verified, in bounded chunks, so restoring never holds a second
 *      copy of the model;
 *   3. the staged tensors are installed and the verified ones read in place.
 * A corrupt or truncated checkpoint thus fails in pass 1 or 2 with DATA_LOSS and
 * no variable changed. Pass 3 re-checks CRCs; it can only fail if the files
 * change (or the disk fails) during the restore. */
#include <string.h>

#include "core/mem.h"
#include "io/bundle.h"
#include "io/saver_impl.h"
#include "runtime/session.h"

/* Tensors smaller than this are always staged: verifying then re-reading them
 * would cost a second read for no memory saved. */
#define STAGE_BELOW (1u << 20)

typedef struct restore_item {
  bundle_entry_t e;
  tensor_t *cur;    /* the variable's value, or NULL */
  tensor_t *staged; /* pass 2's new tensor, or NULL (read in place) */
} restore_item_t;

static tfm_code check_entry(const tfm_saver *s, const saver_entry_t *se, restore_item_t *it, const char *prefix,
                            tfm_status *st) {
  const output_t *v = &se->var->outputs[0];
  const shape_t *have = it->cur ? &it->cur->shape : &v->shape;
  char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
  (void)s;
  if (it->e.dtype != v->dtype || !shape_compatible(have, &it->e.shape) ||
      (it->cur && !shape_equal(have, &it->e.shape)))
    return status_set(st, TFM_INVALID_ARGUMENT,
                      "restoring variable '%s' from checkpoint '%s': the variable is %s %s but the checkpoint's "
                      "'%s' is %s %s",
                      se->var->name, prefix, dtype_name(v->dtype), shape_str(have, a), se->key,
                      dtype_name(it->e.dtype), shape_str(&it->e.shape, b));
  return TFM_OK;
}

static bool in_place(const restore_item_t *it) {
  const tensor_t *c = it->cur;
  return c && c->dtype != TFM_STRING && !c->borrowed && c->dtype == it->e.dtype &&
         shape_equal(&c->shape, &it->e.shape) && it->e.size >= STAGE_BELOW;
}

/* An imported saver we could not map: run its restore op, feeding the prefix. */
static tfm_code run_restore_op(tfm_saver *s, tfm_session *sess, const char *prefix, tfm_status *st) {
  output_t *fname = graph_find_output(s->graph, s->filename_tensor, st);
  node_t *op = fname ? graph_find_op(s->graph, s->restore_op) : NULL;
  if (fname && !op) return status_set(st, TFM_NOT_FOUND, "Saver: no restore op '%s' in the graph", s->restore_op);
  if (!op) return status_code(st);
  int64_t none = 0;
  tfm_tensor *feed = tfm_tensor_new(TFM_STRING, &none, 0, st);
  if (!feed) return status_code(st);
  tfm_code code = tfm_tensor_string_set(feed, 0, prefix, strlen(prefix), st);
  if (code == TFM_OK) code = tfm_session_run(sess, &fname, &feed, 1, NULL, NULL, 0, &op, 1, st);
  tfm_tensor_release(feed);
  return code;
}

static tfm_code restore_direct(tfm_saver *s, session_t *sess, const char *prefix, tfm_status *st) {
  bundle_reader_t *r = bundle_reader_open(prefix, st);
  if (!r) return status_code(st);
  restore_item_t *items = mem_calloc((size_t)s->n, sizeof *items);
  tfm_code code = items ? TFM_OK : status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory restoring '%s'", prefix);
  for (int i = 0; i < s->n && code == TFM_OK; i++) {
    const saver_entry_t *se = &s->entries[i];
    items[i].cur = session_variable_get(sess, se->var);
    if ((code = bundle_reader_lookup(r, se->key, &items[i].e, st)) != TFM_OK)
      status_prefix(st, "restoring variable '%s'", se->var->name);
    else code = check_entry(s, se, &items[i], prefix, st);
  }
  for (int i = 0; i < s->n && code == TFM_OK; i++) {
    if (in_place(&items[i])) code = bundle_reader_verify(r, s->entries[i].key, &items[i].e, st);
    else if (!(items[i].staged = bundle_reader_read(r, s->entries[i].key, st))) code = status_code(st);
  }
  for (int i = 0; i < s->n && code == TFM_OK; i++) {
    if (items[i].staged) code = session_variable_set(sess, s->entries[i].var, items[i].staged, st);
    else code = bundle_reader_read_into(r, s->entries[i].key, &items[i].e, items[i].cur->data, st);
  }
  for (int i = 0; items && i < s->n; i++) {
    tensor_unref(items[i].cur);
    tensor_unref(items[i].staged);
  }
  mem_free(items);
  bundle_reader_close(r);
  return code;
}

TFM_API tfm_code tfm_saver_restore(tfm_saver *s, tfm_session *sess, const char *prefix, tfm_status *status) {
  tfm_status local;
  tfm_status *st = status ? status : &local;
  if (!s || !sess || !prefix || !prefix[0])
    return status_set(st, TFM_INVALID_ARGUMENT, "tfm_saver_restore: NULL %s",
                      !s ? "saver" : !sess ? "session" : "prefix");
  if (session_graph(sess) != s->graph)
    return status_set(st, TFM_INVALID_ARGUMENT, "tfm_saver_restore: the session runs another graph than the saver's");
  pthread_mutex_lock(&s->lock);
  tfm_code code = s->by_ops ? run_restore_op(s, sess, prefix, st) : restore_direct(s, sess, prefix, st);
  pthread_mutex_unlock(&s->lock);
  return code == TFM_OK ? status_ok(st) : code;
}
