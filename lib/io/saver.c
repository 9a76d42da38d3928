/* tf.train.Saver: which variables are saved under which keys, the save/ subgraph
 * TensorFlow builds for it (formats.md 4.2), and the SaverDef both ways (export
 * writes it, import_meta_graph rebuilds a Saver from one). Saving and restoring
 * are in saver_save.c and saver_restore.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "io/saver_impl.h"
#include "ops/build.h"

#define DEFAULT_MAX_TO_KEEP 5
#define DEFAULT_KEEP_HOURS 10000.0

static double real_clock(void *arg) {
  (void)arg;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double saver_now(const tfm_saver *s) { return s->clock(s->clock_arg); }

void saver_set_clock(tfm_saver *saver, double (*now)(void *arg), void *arg) {
  saver->clock = now ? now : real_clock;
  saver->clock_arg = arg;
  saver->next_keep_time = saver_now(saver) + saver->keep_hours * 3600.0;
}

static tfm_saver *saver_alloc(graph_t *g, int max_to_keep, double keep_hours, tfm_status *st) {
  tfm_saver *s = mem_calloc(1, sizeof *s);
  if (!s) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory creating a Saver");
    return NULL;
  }
  s->graph = g;
  s->max_to_keep = max_to_keep < 0 ? DEFAULT_MAX_TO_KEEP : max_to_keep;
  s->keep_hours = keep_hours > 0 ? keep_hours : DEFAULT_KEEP_HOURS;
  pthread_mutex_init(&s->lock, NULL);
  saver_set_clock(s, NULL, NULL);
  return s;
}

TFM_API void tfm_saver_delete(tfm_saver *s) {
  if (!s) return;
  for (int i = 0; i < s->n; i++) mem_free(s->entries[i].key);
  mem_free(s->entries);
  for (int i = 0; i < s->n_kept; i++) mem_free(s->kept[i].path);
  mem_free(s->kept);
  mem_free(s->filename_tensor);
  mem_free(s->save_tensor);
  mem_free(s->restore_op);
  pthread_mutex_destroy(&s->lock);
  mem_free(s);
}

static int entry_cmp(const void *a, const void *b) {
  return strcmp(((const saver_entry_t *)a)->key, ((const saver_entry_t *)b)->key);
}

/* Sorts the entries by key (TF's order in tensor_names) and refuses a key or a
 * variable named twice. */
static tfm_code entries_check(tfm_saver *s, tfm_status *st) {
  qsort(s->entries, (size_t)s->n, sizeof *s->entries, entry_cmp);
  for (int i = 1; i < s->n; i++)
    if (strcmp(s->entries[i - 1].key, s->entries[i].key) == 0)
      return status_set(st, TFM_INVALID_ARGUMENT, "Saver: key '%s' is given twice ('%s' and '%s')",
                        s->entries[i].key, s->entries[i - 1].var->name, s->entries[i].var->name);
  for (int i = 0; i < s->n; i++)
    for (int j = i + 1; j < s->n; j++)
      if (s->entries[i].var == s->entries[j].var)
        return status_set(st, TFM_INVALID_ARGUMENT, "Saver: variable '%s' is saved twice (as '%s' and '%s')",
                          s->entries[i].var->name, s->entries[i].key, s->entries[j].key);
  return TFM_OK;
}

static tfm_code entries_add(tfm_saver *s, const char *key, node_t *var, tfm_status *st) {
  if (!(s->entries[s->n].key = mem_strdup(key)))
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory creating a Saver");
  s->entries[s->n++].var = var;
  return TFM_OK;
}

/* The variables of the "variables" collection (TF's global_variables()). */
static tfm_code entries_from_collection(tfm_saver *s, tfm_status *st) {
  collection_t *c = graph_collection(s->graph, "variables", false, NULL);
  int n = c ? c->n_items : 0;
  if (n == 0) return status_set(st, TFM_INVALID_ARGUMENT, "Saver: no variables to save");
  if (!(s->entries = mem_calloc((size_t)n, sizeof *s->entries)))
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory creating a Saver");
  for (int i = 0; i < n; i++) {
    if (c->items[i].kind != ITEM_VARIABLE) continue;
    node_t *var = c->items[i].u.variable->var;
    if (entries_add(s, var->name, var, st) != TFM_OK) return status_code(st);
  }
  if (s->n == 0) return status_set(st, TFM_INVALID_ARGUMENT, "Saver: no variables to save");
  return TFM_OK;
}

static tfm_code entries_from_list(tfm_saver *s, tfm_variable *const *vars, const char *const *keys, int n,
                                  tfm_status *st) {
  if (!(s->entries = mem_calloc((size_t)n, sizeof *s->entries)))
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory creating a Saver");
  for (int i = 0; i < n; i++) {
    if (!vars[i]) return status_set(st, TFM_INVALID_ARGUMENT, "tfm_saver_new: variable %d is NULL", i);
    if (vars[i]->var->graph != s->graph)
      return status_set(st, TFM_INVALID_ARGUMENT, "tfm_saver_new: variable '%s' belongs to another graph",
                        vars[i]->var->name);
    const char *key = keys ? keys[i] : vars[i]->var->name;
    if (!key || !key[0])
      return status_set(st, TFM_INVALID_ARGUMENT, "tfm_saver_new: key %d (of variable '%s') is empty", i,
                        vars[i]->var->name);
    if (entries_add(s, key, vars[i]->var, st) != TFM_OK) return status_code(st);
  }
  return TFM_OK;
}

/* ---- the save/ subgraph ---- */

static output_t *string_const(graph_t *g, const char *const *vals, int n, bool scalar, const char *name,
                              tfm_status *st) {
  shape_t shape = scalar ? shape_scalar() : shape_vector(n);
  tensor_t *t = tensor_new(TFM_STRING, &shape, st);
  if (!t) return NULL;
  for (int i = 0; i < (scalar ? 1 : n); i++)
    if (tensor_string_set(t, i, vals[i], strlen(vals[i]), st) != TFM_OK) {
      tensor_unref(t);
      return NULL;
    }
  output_t *o = op_const_tensor(g, t, name, st);
  tensor_unref(t);
  return o;
}

/* `_class = ["loc:@<op>"]`, as TF colocates the save ops with what they touch. */
typedef struct colocation {
  char text[512];
  tstring_t s;
  attr_t attr;
} colocation_t;

static const attr_t *colocate_with(colocation_t *c, const node_t *op) {
  int n = snprintf(c->text, sizeof c->text, "loc:@%s", op->name);
  c->s = (tstring_t){c->text, (size_t)n < sizeof c->text ? (size_t)n : sizeof c->text - 1};
  c->attr = (attr_t){.name = "_class", .value = {.kind = ATTR_LIST_S, .u.list = {.n = 1, .s = &c->s}}};
  return &c->attr;
}

/* "<scope>/<name>" + ":0" into s's field. */
static char *tensor_name_of(const node_t *n) {
  size_t len = strlen(n->name) + 3;
  char *p = mem_alloc(len);
  if (p) snprintf(p, len, "%s:0", n->name);
  return p;
}

typedef struct save_build {
  graph_t *g;
  tfm_saver *s;
  const char **keys;
  const char **slices;
  int *dtypes;
  output_t **vars;
  output_t *filename;
} save_build_t;

/* save/SaveV2/{tensor_names,shape_and_slices}, save/SaveV2, save/control_dependency. */
static node_t *build_save(save_build_t *b, tfm_status *st) {
  char *scope = op_scope_push(b->g, "SaveV2", "SaveV2", st);
  if (!scope) return NULL;
  int n = b->s->n;
  output_t *in[3] = {b->filename, string_const(b->g, b->keys, n, false, "tensor_names", st), NULL};
  if (in[1]) in[2] = string_const(b->g, b->slices, n, false, "shape_and_slices", st);
  graph_pop_name_scope(b->g, NULL);
  output_t **inputs = mem_calloc((size_t)n + 3, sizeof *inputs);
  node_t *save = NULL;
  if (!inputs) status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory building the Saver");
  if (inputs && in[2]) {
    memcpy(inputs, in, sizeof in);
    memcpy(inputs + 3, b->vars, (size_t)n * sizeof *inputs);
    attr_t types = {.name = "dtypes", .value = {.kind = ATTR_LIST_TYPE, .u.list = {.n = n, .type = b->dtypes}}};
    save = graph_add_op(b->g, "SaveV2", scope, true, inputs, n + 3, &types, 1, NULL, 0, st);
  }
  mem_free(inputs);
  mem_free(scope);
  if (!save) return NULL;
  colocation_t co;
  attr_t attrs[2] = {ATTR_TYPE_V("T", TFM_STRING), *colocate_with(&co, b->filename->node)};
  return graph_add_op(b->g, "Identity", "control_dependency", false, &b->filename, 1, attrs, 2, &save, 1, st);
}

/* save/RestoreV2 (one op for all tensors), save/Assign*, save/restore_all. */
static node_t *build_restore(save_build_t *b, tfm_status *st) {
  char *scope = op_scope_push(b->g, "RestoreV2", "RestoreV2", st);
  if (!scope) return NULL;
  int n = b->s->n;
  output_t *in[3] = {b->filename, string_const(b->g, b->keys, n, false, "tensor_names", st), NULL};
  if (in[1]) in[2] = string_const(b->g, b->slices, n, false, "shape_and_slices", st);
  graph_pop_name_scope(b->g, NULL);
  node_t *restore = NULL, *all = NULL;
  if (in[2]) {
    attr_t types = {.name = "dtypes", .value = {.kind = ATTR_LIST_TYPE, .u.list = {.n = n, .type = b->dtypes}}};
    restore = graph_add_op(b->g, "RestoreV2", scope, true, in, 3, &types, 1, NULL, 0, st);
  }
  mem_free(scope);
  node_t **assigns = restore ? mem_calloc((size_t)n, sizeof *assigns) : NULL;
  if (restore && !assigns) status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory building the Saver");
  int done = 0;
  for (; assigns && done < n; done++) {
    colocation_t co;
    attr_t attrs[4] = {ATTR_TYPE_V("T", b->dtypes[done]), ATTR_B_V("use_locking", true),
                       ATTR_B_V("validate_shape", true), *colocate_with(&co, b->vars[done]->node)};
    output_t *ain[2] = {b->vars[done], &restore->outputs[done]};
    if (!(assigns[done] = graph_add_op(b->g, "Assign", "Assign", false, ain, 2, attrs, 4, NULL, 0, st))) break;
  }
  if (assigns && done == n) all = graph_add_op(b->g, "NoOp", "restore_all", false, NULL, 0, NULL, 0, assigns, n, st);
  mem_free(assigns);
  return all;
}

static tfm_code build_graph(tfm_saver *s, tfm_status *st) {
  graph_t *g = s->graph;
  int n = s->n;
  save_build_t b = {.g = g, .s = s};
  b.keys = mem_calloc((size_t)n, sizeof *b.keys);
  b.slices = mem_calloc((size_t)n, sizeof *b.slices);
  b.dtypes = mem_calloc((size_t)n, sizeof *b.dtypes);
  b.vars = mem_calloc((size_t)n, sizeof *b.vars);
  if (!b.keys || !b.slices || !b.dtypes || !b.vars) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory building the Saver");
    goto done;
  }
  for (int i = 0; i < n; i++) {
    b.keys[i] = s->entries[i].key;
    b.slices[i] = "";
    b.vars[i] = &s->entries[i].var->outputs[0];
    b.dtypes[i] = b.vars[i]->dtype;
  }
  if (graph_push_name_scope(g, "save", st) != TFM_OK) goto done;
  const char *model = "model";
  node_t *save = NULL, *restore = NULL;
  b.filename = string_const(g, &model, 1, true, "Const", st);
  if (b.filename) save = build_save(&b, st);
  if (save) restore = build_restore(&b, st);
  graph_pop_name_scope(g, NULL);
  if (!restore) goto done;
  s->filename_tensor = tensor_name_of(b.filename->node);
  s->save_tensor = tensor_name_of(save);
  s->restore_op = mem_strdup(restore->name);
  if (!s->filename_tensor || !s->save_tensor || !s->restore_op)
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory building the Saver");
done:
  mem_free(b.keys);
  mem_free(b.slices);
  mem_free(b.dtypes);
  mem_free(b.vars);
  return status_code(st);
}

TFM_API tfm_saver *tfm_saver_new(tfm_graph *g, tfm_variable *const *vars, const char *const *keys, int n,
                                 int max_to_keep, double keep_every_n_hours, tfm_status *status) {
  tfm_status local;
  tfm_status *st = status ? status : &local;
  if (n < 0 || (n > 0 && !vars)) {
    status_set(st, TFM_INVALID_ARGUMENT, "tfm_saver_new: %d variables given as %p", n, (const void *)vars);
    return NULL;
  }
  g = graph_or_default(g);
  tfm_saver *s = saver_alloc(g, max_to_keep, keep_every_n_hours, st);
  if (!s) return NULL;
  status_ok(st);
  graph_lock(g);
  if (n == 0) entries_from_collection(s, st);
  else entries_from_list(s, vars, keys, n, st);
  if (status_code(st) == TFM_OK) entries_check(s, st);
  if (status_code(st) == TFM_OK) build_graph(s, st);
  graph_unlock(g);
  if (status_code(st) != TFM_OK) {
    tfm_saver_delete(s);
    return NULL;
  }
  return s;
}

void saver_get_def(const tfm_saver *s, saver_def_t *def) {
  *def = (saver_def_t){.filename_tensor_name = s->filename_tensor,
                       .save_tensor_name = s->save_tensor,
                       .restore_op_name = s->restore_op,
                       .max_to_keep = s->max_to_keep,
                       .keep_checkpoint_every_n_hours = (float)s->keep_hours,
                       .sharded = s->sharded,
                       .version = 2};
}

/* ---- a Saver from a SaverDef: map the restore subgraph back to variables ---- */

/* The value feeding an Assign, looked through Identity ops. */
static const output_t *through_identity(const output_t *o) {
  while (o && strcmp(o->node->type, "Identity") == 0 && o->node->n_inputs == 1) o = o->node->inputs[0];
  return o;
}

/* Adds the (key, variable) pair of `assign` = Assign(var, RestoreV2:i). False when
 * the op is not of that shape (the caller then runs the graph's ops instead). */
static bool map_assign(tfm_saver *s, const node_t *assign, int *cap, tfm_status *st) {
  if (strcmp(assign->type, "Assign") != 0 || assign->n_inputs != 2) return false;
  node_t *var = assign->inputs[0]->node;
  const output_t *val = through_identity(assign->inputs[1]);
  if (!(var->def->flags & OP_VARIABLE) || !val || strcmp(val->node->type, "RestoreV2") != 0) return false;
  const output_t *names = val->node->inputs[1];
  const tensor_t *t = names->const_value;
  if (!t || t->dtype != TFM_STRING || val->index >= t->num_elements) return false;
  const tstring_t *key = &TENSOR_STR(t)[val->index];
  if (!key->len) return false;
  if (s->n == *cap) {
    int nc = *cap ? 2 * *cap : 16;
    saver_entry_t *e = mem_realloc(s->entries, (size_t)nc * sizeof *e);
    if (!e) return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory"), false;
    s->entries = e;
    *cap = nc;
  }
  return entries_add(s, key->data, var, st) == TFM_OK;
}

/* Walks the control inputs of the restore op (NoOps: restore_all, restore_shard)
 * down to the Assigns. False on anything else. */
static bool map_restore(tfm_saver *s, const node_t *op, int depth, int *cap, tfm_status *st) {
  if (depth > 8) return false;
  if (strcmp(op->type, "NoOp") != 0) return map_assign(s, op, cap, st);
  if (op->n_inputs != 0) return false;
  for (int i = 0; i < op->n_control_inputs; i++)
    if (!map_restore(s, op->control_inputs[i], depth + 1, cap, st)) return false;
  return true;
}

static tfm_code want_output(graph_t *g, const char *what, const char *name, tfm_status *st) {
  if (!name || !name[0]) return status_set(st, TFM_INVALID_ARGUMENT, "SaverDef: %s is empty", what);
  if (!graph_find_output(g, name, st)) return status_prefix(st, "SaverDef %s", what);
  return TFM_OK;
}

tfm_saver *saver_from_def(tfm_graph *g, const saver_def_t *def, tfm_status *status) {
  tfm_status local;
  tfm_status *st = status ? status : &local;
  g = graph_or_default(g);
  if (want_output(g, "filename_tensor_name", def->filename_tensor_name, st) != TFM_OK ||
      want_output(g, "save_tensor_name", def->save_tensor_name, st) != TFM_OK)
    return NULL;
  node_t *restore = def->restore_op_name ? graph_find_op(g, def->restore_op_name) : NULL;
  if (!restore) {
    status_set(st, TFM_NOT_FOUND, "SaverDef restore_op_name: no op '%s' in the graph",
               def->restore_op_name ? def->restore_op_name : "");
    return NULL;
  }
  tfm_saver *s = saver_alloc(g, def->max_to_keep, def->keep_checkpoint_every_n_hours, st);
  if (!s) return NULL;
  s->sharded = def->sharded;
  s->filename_tensor = mem_strdup(def->filename_tensor_name);
  s->save_tensor = mem_strdup(def->save_tensor_name);
  s->restore_op = mem_strdup(def->restore_op_name);
  if (!s->filename_tensor || !s->save_tensor || !s->restore_op) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
    tfm_saver_delete(s);
    return NULL;
  }
  status_ok(st);
  int cap = 0;
  graph_lock(g);
  bool mapped = map_restore(s, restore, 0, &cap, st);
  graph_unlock(g);
  if (status_code(st) != TFM_OK) {
    tfm_saver_delete(s);
    return NULL;
  }
  if (mapped && s->n > 0 && entries_check(s, NULL) == TFM_OK) return s;
  /* Not the shape we know: keep the names and run the graph's own ops. */
  for (int i = 0; i < s->n; i++) mem_free(s->entries[i].key);
  s->n = 0;
  s->by_ops = true;
  return s;
}
