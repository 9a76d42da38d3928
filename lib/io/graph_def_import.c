/* GraphDef -> graph (tf.import_graph_def). The NodeDefs are decoded one at a time
 * from the streamed GraphDef.node field, checked as a whole (op types known,
 * inputs present, no cycle), then added in a topological order with their exact
 * names under the prefix. A failure removes what was added, so an import is all
 * or nothing. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "io/buffer.h"
#include "io/file.h"
#include "io/graph_def.h"
#include "io/pbio.h"
#include "io/pbtext.h"
#include "ops/registry.h"
#include "tfmini/io.h"

/* Serialized graphs are read whole; protobuf's own limit. */
#define GRAPH_DEF_MAX_FILE ((size_t)INT32_MAX)

char *graph_def_prefixed(const char *prefix, const char *name) {
  size_t pl = prefix ? strlen(prefix) : 0, nl = strlen(name);
  while (pl && prefix[pl - 1] == '/') pl--; /* "scope/" and "scope" mean the same */
  char *r = mem_alloc(pl + nl + 2);
  if (!r) return NULL;
  if (pl) {
    memcpy(r, prefix, pl);
    r[pl] = '/';
  }
  memcpy(r + (pl ? pl + 1 : 0), name, nl + 1);
  return r;
}

/* ---- streaming decode of GraphDef.node ---- */

typedef struct node_list {
  tensorflow_NodeDef *nodes; /* kept nodes (import) */
  int n, cap;
  graph_def_node_fn fn;      /* or: visit each node, then release it */
  void *ctx;
  const char *what;
  bool failed;
  tfm_status err;            /* the element's own error (the decoder's would hide it) */
} node_list_t;

static bool on_node(void *ctx, const uint8_t *data, size_t len) {
  node_list_t *l = ctx;
  tensorflow_NodeDef nd;
  char what[256];
  snprintf(what, sizeof what, "%s: node %d", l->what, l->n);
  if (PBIO_DECODE(tensorflow_NodeDef, &nd, data, len, what, &l->err) != TFM_OK) {
    l->failed = true;
    return false;
  }
  if (l->fn) {
    bool ok = l->fn(l->ctx, &nd, &l->err);
    pbio_release(tensorflow_NodeDef_fields, &nd);
    l->n++;
    l->failed = !ok;
    return ok;
  }
  if (l->n == l->cap) {
    int cap = l->cap ? l->cap * 2 : 64;
    tensorflow_NodeDef *p = cap > 0 ? mem_realloc(l->nodes, (size_t)cap * sizeof *p) : NULL;
    if (!p) {
      pbio_release(tensorflow_NodeDef_fields, &nd);
      status_set(&l->err, TFM_RESOURCE_EXHAUSTED, "%s: out of memory for %d nodes", l->what, l->n);
      l->failed = true;
      return false;
    }
    l->nodes = p;
    l->cap = cap;
  }
  l->nodes[l->n++] = nd;
  return true;
}

static void node_list_free(node_list_t *l) {
  for (int i = 0; i < l->n && !l->fn; i++) pbio_release(tensorflow_NodeDef_fields, &l->nodes[i]);
  mem_free(l->nodes);
  l->nodes = NULL;
  l->n = l->cap = 0;
}

static tfm_code decode_nodes(const void *data, size_t len, node_list_t *l,
                             tensorflow_VersionDef *versions, tfm_status *st) {
  tensorflow_GraphDef gd;
  memset(&gd, 0, sizeof gd);
  gd.node.each = on_node;
  gd.node.ctx = l;
  status_ok(&l->err);
  tfm_code c = pbio_decode_prepared(tensorflow_GraphDef_fields, &gd, data, len, l->what, st);
  if (l->failed) {
    *st = l->err;
    c = l->err.code;
  }
  if (c == TFM_OK && versions) {
    *versions = gd.versions;
    versions->bad_consumers = NULL;
    versions->bad_consumers_count = 0;
  }
  if (c == TFM_OK) pbio_release(tensorflow_GraphDef_fields, &gd);
  return c;
}

tfm_code graph_def_for_each_node(const void *data, size_t len, graph_def_node_fn fn, void *ctx,
                                 tensorflow_VersionDef *versions, const char *what, tfm_status *st) {
  node_list_t l = {.fn = fn, .ctx = ctx, .what = what ? what : "GraphDef"};
  if (decode_nodes(data, len, &l, versions, st) != TFM_OK) return status_code(st);
  return status_ok(st);
}

/* ---- the import ---- */

typedef struct dep {
  int node;         /* index of the producing NodeDef; -1 when mapped */
  int port;
  output_t *mapped; /* from the input_map */
  const char *text; /* the input as written, for messages */
} dep_t;

typedef struct pnode {
  dep_t *in;
  int n_in;
  int *ctrl;
  int n_ctrl;
  node_t *added;
  int state; /* DFS: 0 new, 1 on the stack, 2 placed */
} pnode_t;

typedef struct importer {
  graph_t *g;
  const graph_def_import_options_t *opt;
  const char *what;
  tfm_status *st;
  node_list_t list;
  pnode_t *p;
  int *slots; /* name hash: node index + 1, 0 = empty */
  size_t mask;
  int *order, n_order;
  tensorflow_VersionDef versions;
} importer_t;

static uint64_t hash_name(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

/* The index of the node named s[0..n), -1 when absent. */
static int find_node(const importer_t *im, const char *s, size_t n) {
  for (size_t i = hash_name(s, n) & im->mask;; i = (i + 1) & im->mask) {
    int k = im->slots[i] - 1;
    if (k < 0) return -1;
    const char *name = im->list.nodes[k].name;
    if (strncmp(name, s, n) == 0 && name[n] == 0) return k;
  }
}

static tfm_code index_names(importer_t *im) {
  size_t cap = 16;
  while (cap < (size_t)im->list.n * 2) cap *= 2;
  if (!(im->slots = mem_calloc(cap, sizeof *im->slots)))
    return status_set(im->st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", im->what);
  im->mask = cap - 1;
  for (int k = 0; k < im->list.n; k++) {
    const char *name = im->list.nodes[k].name;
    if (!name || !*name)
      return status_set(im->st, TFM_INVALID_ARGUMENT, "%s: node %d has no name", im->what, k);
    size_t n = strlen(name);
    if (find_node(im, name, n) >= 0)
      return status_set(im->st, TFM_INVALID_ARGUMENT, "%s: node '%s' is defined twice", im->what, name);
    size_t i = hash_name(name, n) & im->mask;
    while (im->slots[i]) i = (i + 1) & im->mask;
    im->slots[i] = k + 1;
  }
  return TFM_OK;
}

/* "^name", "name", "name:port". False when malformed. */
static bool parse_input(const char *s, bool *control, size_t *name_len, int *port) {
  *control = s[0] == '^';
  if (*control) s++;
  const char *colon = strrchr(s, ':');
  *port = 0;
  *name_len = colon ? (size_t)(colon - s) : strlen(s);
  if (*name_len == 0) return false;
  if (colon) {
    if (*control || !colon[1]) return false;
    long long v = 0;
    for (const char *q = colon + 1; *q; q++) {
      if (*q < '0' || *q > '9' || v > INT_MAX / 10) return false;
      v = v * 10 + (*q - '0');
    }
    if (v > INT_MAX) return false;
    *port = (int)v;
  }
  return true;
}

static output_t *mapped_input(const importer_t *im, const char *name, size_t len, int port) {
  for (int k = 0; k < im->opt->n_map; k++) {
    bool c;
    size_t kl;
    int kp;
    const char *key = im->opt->map_keys[k];
    if (key && parse_input(key, &c, &kl, &kp) && !c && kl == len && kp == port &&
        strncmp(key, name, len) == 0)
      return im->opt->map_values[k];
  }
  return NULL;
}

static tfm_code resolve_inputs(importer_t *im) {
  for (int k = 0; k < im->list.n; k++) {
    const tensorflow_NodeDef *nd = &im->list.nodes[k];
    pnode_t *p = &im->p[k];
    if (nd->input_count &&
        (!(p->in = mem_calloc(nd->input_count, sizeof *p->in)) ||
         !(p->ctrl = mem_calloc(nd->input_count, sizeof *p->ctrl))))
      return status_set(im->st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", im->what);
    for (pb_size_t i = 0; i < nd->input_count; i++) {
      const char *s = nd->input[i] ? nd->input[i] : "";
      bool control;
      size_t len;
      int port;
      if (!parse_input(s, &control, &len, &port))
        return status_set(im->st, TFM_INVALID_ARGUMENT, "%s: node '%s': malformed input '%s'",
                          im->what, nd->name, s);
      const char *name = control ? s + 1 : s;
      output_t *mapped = control ? NULL : mapped_input(im, name, len, port);
      int src = mapped ? -1 : find_node(im, name, len);
      if (!mapped && src < 0)
        return status_set(im->st, TFM_INVALID_ARGUMENT, "%s: node '%s': input '%s' is not in the graph",
                          im->what, nd->name, s);
      if (control) {
        p->ctrl[p->n_ctrl++] = src;
      } else {
        if (p->n_ctrl)
          return status_set(im->st, TFM_INVALID_ARGUMENT,
                            "%s: node '%s': data input '%s' follows a control input", im->what,
                            nd->name, s);
        p->in[p->n_in++] = (dep_t){src, port, mapped, s};
      }
    }
  }
  return TFM_OK;
}

/* UNIMPLEMENTED for the first node whose op type is unknown, listing every
 * unknown type (one message tells all that is missing). */
static tfm_code check_op_types(importer_t *im) {
  const char *missing[12];
  int n_missing = 0, first = -1, more = 0;
  for (int k = 0; k < im->list.n; k++) {
    const char *op = im->list.nodes[k].op ? im->list.nodes[k].op : "";
    if (op_registry_find(op)) continue;
    if (first < 0) first = k;
    bool seen = false;
    for (int i = 0; i < n_missing && !seen; i++) seen = strcmp(missing[i], op) == 0;
    if (seen) continue;
    if (n_missing < 12)
      missing[n_missing++] = op;
    else
      more++;
  }
  if (first < 0) return TFM_OK;
  char list[512];
  size_t at = 0;
  for (int i = 0; i < n_missing && at < sizeof list; i++)
    at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", i ? ", " : "", missing[i]);
  if (more && at < sizeof list) snprintf(list + at, sizeof list - at, " and %d more", more);
  return status_set(im->st, TFM_UNIMPLEMENTED,
                    "%s: node '%s': op type '%s' is not registered (op types this graph uses that "
                    "libtfmini lacks: %s)", im->what, im->list.nodes[first].name,
                    im->list.nodes[first].op ? im->list.nodes[first].op : "", list);
}

/* Dependencies of node k: data inputs (not mapped) then control inputs. */
static int dep_at(const pnode_t *p, int e) {
  return e < p->n_in ? p->in[e].node : p->ctrl[e - p->n_in];
}

/* A topological order by depth-first search (iterative: chains may be long),
 * keeping the file order where it already is one. */
static tfm_code sort_nodes(importer_t *im) {
  int n = im->list.n;
  int *stack = mem_calloc((size_t)n + 1, sizeof *stack), *next = mem_calloc((size_t)n + 1, sizeof *next);
  if (!(im->order = mem_calloc((size_t)n + 1, sizeof *im->order)) || !stack || !next) {
    mem_free(stack);
    mem_free(next);
    return status_set(im->st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", im->what);
  }
  tfm_code code = TFM_OK;
  for (int r = 0; r < n && code == TFM_OK; r++) {
    if (im->p[r].state) continue;
    int top = 0;
    stack[top++] = r;
    im->p[r].state = 1;
    next[r] = 0;
    while (top && code == TFM_OK) {
      int k = stack[top - 1];
      pnode_t *p = &im->p[k];
      if (next[k] < p->n_in + p->n_ctrl) {
        int d = dep_at(p, next[k]++);
        if (d < 0 || im->p[d].state == 2) continue;
        if (im->p[d].state == 1) {
          code = status_set(im->st, TFM_INVALID_ARGUMENT,
                            "%s: node '%s' is in a cycle (through its input '%s'); libtfmini "
                            "imports acyclic graphs only (no tf.while_loop)", im->what,
                            im->list.nodes[k].name, im->list.nodes[d].name);
          break;
        }
        im->p[d].state = 1;
        next[d] = 0;
        stack[top++] = d;
      } else {
        p->state = 2;
        im->order[im->n_order++] = k;
        top--;
      }
    }
  }
  mem_free(stack);
  mem_free(next);
  return code;
}

/* ---- attrs ---- */

static tfm_code bytes_copy(tstring_t *dst, const void *data, size_t len, tfm_status *st) {
  dst->len = len;
  if (!(dst->data = mem_alloc(len + 1))) return status_set(st, TFM_RESOURCE_EXHAUSTED, "attr: out of memory");
  if (len) memcpy(dst->data, data, len);
  dst->data[len] = 0;
  return TFM_OK;
}

/* A "loc:@name" colocation names a node of the imported graph: prefix it. */
static tfm_code class_entry(const char *prefix, const pb_bytes_array_t *b, tstring_t *dst, tfm_status *st) {
  size_t len = b ? b->size : 0;
  const char *s = b ? (const char *)b->bytes : "";
  if (!prefix || !*prefix || len < 5 || memcmp(s, "loc:@", 5) != 0) return bytes_copy(dst, s, len, st);
  size_t pl = strlen(prefix);
  while (pl && prefix[pl - 1] == '/') pl--;
  dst->len = len + pl + 1;
  if (!(dst->data = mem_alloc(dst->len + 1))) return status_set(st, TFM_RESOURCE_EXHAUSTED, "attr: out of memory");
  memcpy(dst->data, "loc:@", 5);
  memcpy(dst->data + 5, prefix, pl);
  dst->data[5 + pl] = '/';
  memcpy(dst->data + 6 + pl, s + 5, len - 5);
  dst->data[dst->len] = 0;
  return TFM_OK;
}

static tfm_code list_from_proto(const char *what, const char *name, const char *prefix,
                                const tensorflow_AttrValue_ListValue *l, attr_value_t *v, tfm_status *st) {
  if (l->tensor_count || l->func_count)
    return status_set(st, TFM_UNIMPLEMENTED, "%s: attr '%s': lists of %s are not supported", what, name,
                      l->tensor_count ? "tensors" : "functions");
  int kinds = !!l->s_count + !!l->i_count + !!l->f_count + !!l->b_count + !!l->type_count + !!l->shape_count;
  if (kinds > 1)
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: attr '%s': a list holds values of %d kinds", what,
                      name, kinds);
  v->kind = ATTR_LIST_EMPTY;
  if (!kinds) return TFM_OK;
  size_t n = l->s_count + l->i_count + l->f_count + l->b_count + l->type_count + l->shape_count;
  size_t esz = l->s_count ? sizeof(tstring_t) : l->i_count ? sizeof(int64_t) : l->f_count ? sizeof(float)
             : l->b_count ? sizeof(bool) : l->type_count ? sizeof(int) : sizeof(shape_t);
  void *arr = mem_calloc(n, esz);
  if (!arr) return status_set(st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", what);
  bool is_class = strcmp(name, "_class") == 0;
  if (l->s_count) {
    v->kind = ATTR_LIST_S;
    v->u.list.s = arr;
    for (size_t i = 0; i < n; i++) {
      tfm_code c = is_class ? class_entry(prefix, l->s[i], &v->u.list.s[i], st)
                            : bytes_copy(&v->u.list.s[i], l->s[i] ? l->s[i]->bytes : NULL,
                                         l->s[i] ? l->s[i]->size : 0, st);
      if (c != TFM_OK) return c;
      v->u.list.n = (int)i + 1;
    }
    return TFM_OK;
  }
  v->u.list.n = (int)n;
  if (l->i_count) {
    v->kind = ATTR_LIST_I;
    memcpy(v->u.list.i = arr, l->i, n * esz);
  } else if (l->f_count) {
    v->kind = ATTR_LIST_F;
    memcpy(v->u.list.f = arr, l->f, n * esz);
  } else if (l->b_count) {
    v->kind = ATTR_LIST_B;
    memcpy(v->u.list.b = arr, l->b, n * esz);
  } else if (l->type_count) {
    v->kind = ATTR_LIST_TYPE;
    v->u.list.type = arr;
    for (size_t i = 0; i < n; i++) v->u.list.type[i] = (int)l->type[i];
  } else {
    v->kind = ATTR_LIST_SHAPE;
    v->u.list.shape = arr;
    for (size_t i = 0; i < n; i++)
      if (pbio_shape_from_proto(&l->shape[i], true, &v->u.list.shape[i], what, st) != TFM_OK)
        return status_prefix(st, "attr '%s'", name);
  }
  return TFM_OK;
}

/* Converts one AttrValue; on error *v holds what it owns (clear it). */
static tfm_code attr_from_proto(const char *node, const char *name, const char *prefix,
                                const tensorflow_AttrValue *p, attr_value_t *v, tfm_status *st) {
  char what[512];
  snprintf(what, sizeof what, "node '%s', attr '%s'", node, name);
  memset(v, 0, sizeof *v);
  switch (p->which_value) {
    case tensorflow_AttrValue_s_tag:
      v->kind = ATTR_S;
      return bytes_copy(&v->u.s, p->value.s.data, p->value.s.len, st);
    case tensorflow_AttrValue_i_tag:
      *v = (attr_value_t){.kind = ATTR_I, .u.i = p->value.i};
      return TFM_OK;
    case tensorflow_AttrValue_f_tag:
      *v = (attr_value_t){.kind = ATTR_F, .u.f = p->value.f};
      return TFM_OK;
    case tensorflow_AttrValue_b_tag:
      *v = (attr_value_t){.kind = ATTR_B, .u.b = p->value.b};
      return TFM_OK;
    case tensorflow_AttrValue_type_tag:
      *v = (attr_value_t){.kind = ATTR_TYPE, .u.type = (int)p->value.type};
      return TFM_OK;
    case tensorflow_AttrValue_shape_tag:
      v->kind = ATTR_SHAPE;
      return pbio_shape_from_proto(&p->value.shape, true, &v->u.shape, what, st);
    case tensorflow_AttrValue_tensor_tag:
      if (!(v->u.tensor = pbio_tensor_from_proto(&p->value.tensor, what, st))) return status_code(st);
      v->kind = ATTR_TENSOR;
      return TFM_OK;
    case tensorflow_AttrValue_func_tag: {
      const char *f = p->value.func.name ? p->value.func.name : "";
      v->kind = ATTR_FUNC;
      return bytes_copy(&v->u.s, f, strlen(f), st);
    }
    case tensorflow_AttrValue_list_tag:
      return list_from_proto(what, name, prefix, &p->value.list, v, st);
    case tensorflow_AttrValue_placeholder_tag:
      return status_set(st, TFM_UNIMPLEMENTED, "%s: function attr placeholders are not supported", what);
    default:
      return status_set(st, TFM_INVALID_ARGUMENT, "%s: the attr has no value", what);
  }
}

/* Adds NodeDef k (its inputs are in). */
static tfm_code add_node(importer_t *im, int k) {
  const tensorflow_NodeDef *nd = &im->list.nodes[k];
  pnode_t *p = &im->p[k];
  tfm_status *st = im->st;
  const char *prefix = im->opt->prefix;
  output_t **ins = mem_calloc((size_t)p->n_in + 1, sizeof *ins);
  node_t **ctrl = mem_calloc((size_t)p->n_ctrl + 1, sizeof *ctrl);
  attr_t *attrs = mem_calloc((size_t)nd->attr_count + 1, sizeof *attrs);
  char *full = graph_def_prefixed(prefix, nd->name);
  int n_attrs = 0;
  tfm_code code = TFM_OK;
  if (!ins || !ctrl || !attrs || !full) {
    code = status_set(st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory adding '%s'", im->what, nd->name);
    goto out;
  }
  for (int i = 0; i < p->n_in; i++) {
    const dep_t *d = &p->in[i];
    if (d->mapped) {
      ins[i] = d->mapped;
      continue;
    }
    node_t *src = im->p[d->node].added;
    if (d->port >= src->n_outputs) {
      code = status_set(st, TFM_INVALID_ARGUMENT,
                        "%s: node '%s': input '%s' names output %d of '%s', which has %d output%s",
                        im->what, nd->name, d->text, d->port, im->list.nodes[d->node].name,
                        src->n_outputs, src->n_outputs == 1 ? "" : "s");
      goto out;
    }
    ins[i] = &src->outputs[d->port];
  }
  for (int i = 0; i < p->n_ctrl; i++) ctrl[i] = im->p[p->ctrl[i]].added;
  for (pb_size_t i = 0; i < nd->attr_count; i++) {
    const tensorflow_NodeDef_AttrEntry *e = &nd->attr[i];
    const char *key = e->key ? e->key : "";
    if (strcmp(key, "_output_shapes") == 0) continue; /* inferred again */
    attrs[n_attrs].name = (char *)key;
    attr_value_t *v = &attrs[n_attrs++].value;
    if (attr_from_proto(nd->name, key, prefix, &e->value, v, st) != TFM_OK) {
      code = status_prefix(st, "%s", im->what);
      goto out;
    }
    /* Before GraphDef version 22 a Placeholder's scalar shape meant "any shape". */
    if (im->versions.producer < 22 && v->kind == ATTR_SHAPE && v->u.shape.rank == 0 &&
        strcmp(key, "shape") == 0 && strncmp(nd->op ? nd->op : "", "Placeholder", 11) == 0)
      v->u.shape = shape_unknown();
  }
  node_t *n = graph_add_op(im->g, nd->op, full, true, ins, p->n_in, attrs, n_attrs, ctrl, p->n_ctrl, st);
  if (!n) {
    code = status_prefix(st, "%s", im->what);
    goto out;
  }
  p->added = n;
  if (nd->device && *nd->device) {
    char *dev = mem_strdup(nd->device);
    if (!dev) {
      code = status_set(st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", im->what);
      goto out;
    }
    mem_free(n->device);
    n->device = dev;
  }
out:
  for (int i = 0; i < n_attrs; i++) attr_value_clear(&attrs[i].value);
  mem_free(attrs);
  mem_free(ins);
  mem_free(ctrl);
  mem_free(full);
  return code;
}

tfm_code graph_def_import(graph_t *g, const void *data, size_t len,
                          const graph_def_import_options_t *opt, tfm_status *st) {
  graph_def_import_options_t none = {0};
  if (!opt) opt = &none;
  importer_t im = {.g = g, .opt = opt, .what = opt->what ? opt->what : "graph_def", .st = st};
  im.list.what = im.what;
  for (int i = 0; i < opt->n_map; i++)
    if (!opt->map_keys || !opt->map_values || !opt->map_keys[i] || !opt->map_values[i] ||
        opt->map_values[i]->node->graph != g)
      return status_set(st, TFM_INVALID_ARGUMENT, "%s: input_map entry %d is NULL or from another graph",
                        im.what, i);
  tfm_code code = decode_nodes(data, len, &im.list, &im.versions, st);
  if (code == TFM_OK && !(im.p = mem_calloc((size_t)im.list.n + 1, sizeof *im.p)))
    code = status_set(st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", im.what);
  if (code == TFM_OK) code = check_op_types(&im);
  if (code == TFM_OK) code = index_names(&im);
  if (code == TFM_OK) code = resolve_inputs(&im);
  if (code == TFM_OK) code = sort_nodes(&im);
  if (code == TFM_OK) {
    graph_lock(g);
    /* As TensorFlow's importer: imported ops take no control dependency from the
     * scopes open around the import, and keep their own names. */
    int saved_control = g->n_control_scopes;
    g->n_control_scopes = 0;
    int first = g->n_nodes;
    for (int i = 0; i < im.n_order && code == TFM_OK; i++) code = add_node(&im, im.order[i]);
    if (code != TFM_OK) graph_remove_ops_from(g, first);
    g->n_control_scopes = saved_control;
    graph_unlock(g);
  }
  for (int k = 0; im.p && k < im.list.n; k++) {
    mem_free(im.p[k].in);
    mem_free(im.p[k].ctrl);
  }
  mem_free(im.p);
  mem_free(im.slots);
  mem_free(im.order);
  node_list_free(&im.list);
  return code == TFM_OK ? status_ok(st) : code;
}

/* ---- the public entry points ---- */

/* Protobuf text (what TensorFlow writes as .pbtxt) or binary? Text is printable
 * ASCII opening with a field name or a comment; a binary GraphDef opens with a
 * field tag byte and carries length bytes below 0x09. */
bool graph_def_is_text(const uint8_t *d, size_t n) {
  size_t i = 0;
  while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r')) i++;
  if (i == n || !((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= 'A' && d[i] <= 'Z') || d[i] == '#')) return false;
  for (size_t j = 0; j < n; j++)
    if ((d[j] < 0x20 && d[j] != '\t' && d[j] != '\n' && d[j] != '\r') || d[j] >= 0x7f) return false;
  return true;
}

static tfm_code import_bytes(tfm_graph *g, const void *data, size_t len, bool as_text,
                             const graph_def_import_options_t *opt, tfm_status *st) {
  if (!as_text) return graph_def_import(graph_or_default(g), data, len, opt, st);
  bytebuf_t bin = BYTEBUF_INIT;
  tfm_code c = pbtext_to_binary("tensorflow.GraphDef", data, len, &bin, opt->what, st);
  if (c == TFM_OK) c = graph_def_import(graph_or_default(g), bin.data, bin.len, opt, st);
  bytebuf_free(&bin);
  return c;
}

TFM_API tfm_code tfm_import_graph_def(tfm_graph *g, const void *data, size_t len, int as_text,
                                      const char *prefix, tfm_status *status) {
  return tfm_import_graph_def_mapped(g, data, len, as_text, prefix, NULL, NULL, 0, status);
}

TFM_API tfm_code tfm_import_graph_def_mapped(tfm_graph *g, const void *data, size_t len, int as_text,
                                             const char *prefix, const char *const *map_keys,
                                             tfm_output *const *map_values, int n_map, tfm_status *status) {
  if ((!data && len) || n_map < 0 || (n_map && (!map_keys || !map_values)))
    return status_set(status, TFM_INVALID_ARGUMENT, "tfm_import_graph_def: %s is NULL",
                      !data && len ? "data" : "the input map");
  graph_def_import_options_t opt = {.prefix = prefix, .map_keys = map_keys, .map_values = map_values,
                                    .n_map = n_map, .what = "graph_def"};
  return import_bytes(g, data ? data : "", len, as_text != 0, &opt, status);
}

TFM_API tfm_code tfm_import_graph_def_file(tfm_graph *g, const char *path, const char *prefix,
                                           tfm_status *status) {
  if (!path) return status_set(status, TFM_INVALID_ARGUMENT, "tfm_import_graph_def_file: path is NULL");
  uint8_t *data;
  size_t len;
  if (file_read_all(path, GRAPH_DEF_MAX_FILE, &data, &len, status) != TFM_OK) return status_code(status);
  graph_def_import_options_t opt = {.prefix = prefix, .what = path};
  tfm_code c = import_bytes(g, data, len, graph_def_is_text(data, len), &opt, status);
  mem_free(data);
  return c;
}
