/* Graph -> GraphDef: each node becomes a NodeDef (encoded one at a time into the
 * streamed GraphDef.node field), attrs become AttrValues; tfm_graph_to_graph_def
 * and tfm_write_graph (binary, or text through pbtext). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "io/buffer.h"
#include "io/file.h"
#include "io/graph_def.h"
#include "io/pbio.h"
#include "io/pbtext.h"
#include "tfmini/io.h"

/* Allocations made while building one NodeDef, freed together after encoding. */
typedef struct scratch {
  void **ptrs;
  int n, cap;
} scratch_t;

static void *scratch_alloc(scratch_t *s, size_t size) {
  if (s->n == s->cap) {
    int cap = s->cap ? s->cap * 2 : 32;
    void **p = mem_realloc(s->ptrs, (size_t)cap * sizeof *p);
    if (!p) return NULL;
    s->ptrs = p;
    s->cap = cap;
  }
  void *r = mem_calloc(1, size ? size : 1);
  if (r) s->ptrs[s->n++] = r;
  return r;
}

static void scratch_reset(scratch_t *s) {
  for (int i = 0; i < s->n; i++) mem_free(s->ptrs[i]);
  s->n = 0;
}

static void scratch_free(scratch_t *s) {
  scratch_reset(s);
  mem_free(s->ptrs);
}

static char *scratch_printf_name(scratch_t *s, const char *prefix, const char *name, int index) {
  size_t len = strlen(prefix) + strlen(name) + 16;
  char *r = scratch_alloc(s, len);
  if (!r) return NULL;
  if (index > 0)
    snprintf(r, len, "%s%s:%d", prefix, name, index);
  else
    snprintf(r, len, "%s%s", prefix, name);
  return r;
}

static bool shape_to_proto(scratch_t *s, const shape_t *sh, tensorflow_TensorShapeProto *p) {
  memset(p, 0, sizeof *p);
  if (sh->rank == SHAPE_UNKNOWN_RANK) {
    p->unknown_rank = true;
    return true;
  }
  if (sh->rank == 0) return true;
  p->dim = scratch_alloc(s, (size_t)sh->rank * sizeof *p->dim);
  if (!p->dim) return false;
  p->dim_count = (pb_size_t)sh->rank;
  for (int i = 0; i < sh->rank; i++) p->dim[i].size = sh->dim[i];
  return true;
}

/* One node being converted; tensor attrs come from pbio_tensor_to_proto and are
 * released with pbio_release (release_tensors), everything else is scratch. */
typedef struct node_build {
  const node_t *node;
  scratch_t *scratch;
  tfm_status *st;
} node_build_t;

static tfm_code oom(node_build_t *b) {
  return status_set(b->st, TFM_RESOURCE_EXHAUSTED, "GraphDef: out of memory encoding node '%s'",
                    b->node->name);
}

static tfm_code too_long(node_build_t *b, const char *attr, size_t n) {
  return status_set(b->st, TFM_INVALID_ARGUMENT,
                    "GraphDef: node '%s': attr '%s' has %zu entries or bytes, more than the %u "
                    "this encoder can write", b->node->name, attr, n, (unsigned)PBIO_MAX_COUNT);
}

static tfm_code list_to_proto(node_build_t *b, const char *name, const attr_value_t *v,
                              tensorflow_AttrValue_ListValue *l) {
  int n = v->u.list.n;
  if ((size_t)n > PBIO_MAX_COUNT) return too_long(b, name, (size_t)n);
  scratch_t *s = b->scratch;
  switch (v->kind) {
    case ATTR_LIST_S:
      if (!(l->s = scratch_alloc(s, (size_t)n * sizeof *l->s))) return oom(b);
      for (int i = 0; i < n; i++) {
        const tstring_t *str = &v->u.list.s[i];
        if (str->len > PBIO_MAX_COUNT) return too_long(b, name, str->len);
        if (!(l->s[i] = scratch_alloc(s, PB_BYTES_ARRAY_T_ALLOCSIZE(str->len)))) return oom(b);
        l->s[i]->size = (pb_size_t)str->len;
        if (str->len) memcpy(l->s[i]->bytes, str->data, str->len);
      }
      l->s_count = (pb_size_t)n;
      break;
    case ATTR_LIST_I:
      l->i = v->u.list.i;
      l->i_count = (pb_size_t)n;
      break;
    case ATTR_LIST_F:
      l->f = v->u.list.f;
      l->f_count = (pb_size_t)n;
      break;
    case ATTR_LIST_B:
      l->b = v->u.list.b;
      l->b_count = (pb_size_t)n;
      break;
    case ATTR_LIST_TYPE:
      if (!(l->type = scratch_alloc(s, (size_t)n * sizeof *l->type))) return oom(b);
      for (int i = 0; i < n; i++) l->type[i] = (tensorflow_DataType)v->u.list.type[i];
      l->type_count = (pb_size_t)n;
      break;
    case ATTR_LIST_SHAPE:
      if (!(l->shape = scratch_alloc(s, (size_t)n * sizeof *l->shape))) return oom(b);
      for (int i = 0; i < n; i++)
        if (!shape_to_proto(s, &v->u.list.shape[i], &l->shape[i])) return oom(b);
      l->shape_count = (pb_size_t)n;
      break;
    default: /* ATTR_LIST_EMPTY */
      break;
  }
  return TFM_OK;
}

static tfm_code attr_to_proto(node_build_t *b, const char *name, const attr_value_t *v,
                              tensorflow_AttrValue *p) {
  memset(p, 0, sizeof *p);
  switch (v->kind) {
    case ATTR_S:
      p->which_value = tensorflow_AttrValue_s_tag;
      p->value.s.data = (const uint8_t *)v->u.s.data;
      p->value.s.len = v->u.s.len;
      return TFM_OK;
    case ATTR_I:
      p->which_value = tensorflow_AttrValue_i_tag;
      p->value.i = v->u.i;
      return TFM_OK;
    case ATTR_F:
      p->which_value = tensorflow_AttrValue_f_tag;
      p->value.f = v->u.f;
      return TFM_OK;
    case ATTR_B:
      p->which_value = tensorflow_AttrValue_b_tag;
      p->value.b = v->u.b;
      return TFM_OK;
    case ATTR_TYPE:
      p->which_value = tensorflow_AttrValue_type_tag;
      p->value.type = (tensorflow_DataType)v->u.type;
      return TFM_OK;
    case ATTR_SHAPE:
      p->which_value = tensorflow_AttrValue_shape_tag;
      return shape_to_proto(b->scratch, &v->u.shape, &p->value.shape) ? TFM_OK : oom(b);
    case ATTR_TENSOR: {
      p->which_value = tensorflow_AttrValue_tensor_tag;
      if (pbio_tensor_to_proto(v->u.tensor, &p->value.tensor, b->st) != TFM_OK) {
        p->which_value = 0;
        return status_prefix(b->st, "GraphDef: node '%s', attr '%s'", b->node->name, name);
      }
      return TFM_OK;
    }
    case ATTR_FUNC: {
      p->which_value = tensorflow_AttrValue_func_tag;
      char *fname = scratch_alloc(b->scratch, v->u.s.len + 1);
      if (!fname) return oom(b);
      if (v->u.s.len) memcpy(fname, v->u.s.data, v->u.s.len);
      p->value.func.name = fname;
      return TFM_OK;
    }
    case ATTR_NONE:
      return status_set(b->st, TFM_INVALID_ARGUMENT, "GraphDef: node '%s': attr '%s' has no value",
                        b->node->name, name);
    default:
      p->which_value = tensorflow_AttrValue_list_tag;
      return list_to_proto(b, name, v, &p->value.list);
  }
}

static int entry_cmp(const void *a, const void *b) {
  return strcmp(((const tensorflow_NodeDef_AttrEntry *)a)->key,
                ((const tensorflow_NodeDef_AttrEntry *)b)->key);
}

/* Fills nd from n; pointers borrow from the graph or the scratch allocations. */
static tfm_code node_to_proto(node_build_t *b, bool add_shapes, tensorflow_NodeDef *nd) {
  const node_t *n = b->node;
  scratch_t *s = b->scratch;
  memset(nd, 0, sizeof *nd);
  nd->name = n->name;
  nd->op = n->type;
  nd->device = n->device && *n->device ? n->device : NULL;
  size_t n_in = (size_t)n->n_inputs + (size_t)n->n_control_inputs;
  if (n_in > PBIO_MAX_COUNT)
    return status_set(b->st, TFM_INVALID_ARGUMENT,
                      "GraphDef: node '%s' has %zu inputs, more than the %u this encoder can write",
                      n->name, n_in, (unsigned)PBIO_MAX_COUNT);
  if (n_in && !(nd->input = scratch_alloc(s, n_in * sizeof *nd->input))) return oom(b);
  for (int i = 0; i < n->n_inputs; i++) {
    const output_t *o = n->inputs[i];
    if (!(nd->input[nd->input_count++] = scratch_printf_name(s, "", o->node->name, o->index)))
      return oom(b);
  }
  for (int i = 0; i < n->n_control_inputs; i++)
    if (!(nd->input[nd->input_count++] = scratch_printf_name(s, "^", n->control_inputs[i]->name, 0)))
      return oom(b);

  bool shapes = add_shapes && n->n_outputs > 0;
  int n_attrs = n->n_attrs + (shapes ? 1 : 0);
  if (n_attrs && !(nd->attr = scratch_alloc(s, (size_t)n_attrs * sizeof *nd->attr))) return oom(b);
  for (int i = 0; i < n->n_attrs; i++) {
    const attr_t *a = &n->attrs[i];
    if (strcmp(a->name, "_output_shapes") == 0) continue; /* written fresh below */
    tensorflow_NodeDef_AttrEntry *e = &nd->attr[nd->attr_count];
    e->key = a->name;
    e->has_value = true;
    nd->attr_count++; /* counted first: release_tensors sees a converted tensor */
    if (attr_to_proto(b, a->name, &a->value, &e->value) != TFM_OK) return status_code(b->st);
  }
  if (shapes) {
    if ((size_t)n->n_outputs > PBIO_MAX_COUNT) return too_long(b, "_output_shapes", (size_t)n->n_outputs);
    tensorflow_NodeDef_AttrEntry *e = &nd->attr[nd->attr_count++];
    e->key = "_output_shapes";
    e->has_value = true;
    e->value.which_value = tensorflow_AttrValue_list_tag;
    tensorflow_AttrValue_ListValue *l = &e->value.value.list;
    if (!(l->shape = scratch_alloc(s, (size_t)n->n_outputs * sizeof *l->shape))) return oom(b);
    for (int i = 0; i < n->n_outputs; i++)
      if (!shape_to_proto(s, &n->outputs[i].shape, &l->shape[i])) return oom(b);
    l->shape_count = (pb_size_t)n->n_outputs;
  }
  if (nd->attr_count > 1) qsort(nd->attr, nd->attr_count, sizeof *nd->attr, entry_cmp);
  return TFM_OK;
}

static void release_tensors(tensorflow_NodeDef *nd) {
  for (pb_size_t i = 0; i < nd->attr_count; i++)
    if (nd->attr[i].value.which_value == tensorflow_AttrValue_tensor_tag)
      pbio_release(tensorflow_TensorProto_fields, &nd->attr[i].value.value.tensor);
}

tfm_code graph_def_encode(graph_t *g, bool add_shapes, bytebuf_t *out, tfm_status *st) {
  scratch_t scratch = {0};
  tfm_code code = TFM_OK;
  graph_lock(g);
  for (int i = 0; i < g->n_nodes && code == TFM_OK; i++) {
    node_build_t b = {.node = g->nodes[i], .scratch = &scratch, .st = st};
    tensorflow_NodeDef nd;
    code = node_to_proto(&b, add_shapes, &nd);
    if (code == TFM_OK)
      code = pbio_encode_submessage(tensorflow_GraphDef_node_tag, tensorflow_NodeDef_fields, &nd, out,
                                    g->nodes[i]->name, st);
    release_tensors(&nd);
    scratch_reset(&scratch);
  }
  graph_unlock(g);
  scratch_free(&scratch);
  if (code != TFM_OK) return code;
  /* The versions field after the nodes, in field-number order. */
  tensorflow_GraphDef gd;
  memset(&gd, 0, sizeof gd);
  gd.has_versions = true;
  gd.versions.producer = GRAPH_DEF_PRODUCER;
  if (pbio_encode(tensorflow_GraphDef_fields, &gd, out, "GraphDef", st) != TFM_OK) return status_code(st);
  if (out->failed) return status_set(st, TFM_RESOURCE_EXHAUSTED, "GraphDef: out of memory");
  return status_ok(st);
}

/* The GraphDef of g, as binary or text, in *out (emptied first). */
static tfm_code graph_def_bytes(graph_t *g, bool as_text, bool add_shapes, bytebuf_t *out, tfm_status *st) {
  bytebuf_t bin = BYTEBUF_INIT;
  if (graph_def_encode(g, add_shapes, &bin, st) != TFM_OK) {
    bytebuf_free(&bin);
    return status_code(st);
  }
  if (!as_text) {
    *out = bin;
    return TFM_OK;
  }
  tfm_code c = pbtext_from_binary("tensorflow.GraphDef", bin.data, bin.len, out, "GraphDef", st);
  bytebuf_free(&bin);
  if (c == TFM_OK && out->failed) c = status_set(st, TFM_RESOURCE_EXHAUSTED, "GraphDef: out of memory");
  return c;
}

TFM_API tfm_buffer *tfm_graph_to_graph_def(tfm_graph *g, int as_text, tfm_status *status) {
  return tfm_graph_to_graph_def_ex(g, as_text, 0, status);
}

TFM_API tfm_buffer *tfm_graph_to_graph_def_ex(tfm_graph *g, int as_text, int add_shapes, tfm_status *status) {
  bytebuf_t b = BYTEBUF_INIT;
  if (graph_def_bytes(graph_or_default(g), as_text != 0, add_shapes != 0, &b, status) != TFM_OK) {
    bytebuf_free(&b);
    return NULL;
  }
  tfm_buffer *r = buffer_new_copy(b.data, b.len, status);
  bytebuf_free(&b);
  if (r) status_ok(status);
  return r;
}

TFM_API tfm_code tfm_write_graph(tfm_graph *g, const char *dir, const char *name, int as_text,
                                 tfm_status *status) {
  if (!dir || !name || !*name)
    return status_set(status, TFM_INVALID_ARGUMENT, "tfm_write_graph: %s is %s",
                      !dir ? "dir" : "name", !dir || !name ? "NULL" : "empty");
  char *path = *dir ? graph_def_prefixed(dir, name) : mem_strdup(name);
  if (!path) return status_set(status, TFM_RESOURCE_EXHAUSTED, "tfm_write_graph: out of memory");
  file_sweep_stale_tmps_of(path); /* what a killed earlier write of this file left */
  bytebuf_t b = BYTEBUF_INIT;
  if (graph_def_bytes(graph_or_default(g), as_text != 0, false, &b, status) == TFM_OK &&
      file_write_atomic(path, b.data, b.len, status) == TFM_OK)
    status_ok(status);
  bytebuf_free(&b);
  mem_free(path);
  return status_code(status);
}
