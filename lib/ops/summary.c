/* The summary op family: ScalarSummary, HistogramSummary and MergeSummary, each
 * producing a serialized Summary (a scalar string) for TensorBoard, and their
 * builders tf.summary.scalar / histogram / merge / merge_all, which name ops as
 * TF 1.x does: "<scope>/tags" + ScalarSummary "<scope>", "Merge/MergeSummary". */
#include <math.h>
#include <string.h>

#include "core/mem.h"
#include "io/summary_encode.h"
#include "ops/build.h"
#include "tfmini/summary.h"

static const attr_def_t scalar_attrs[] = {T_ATTR_REQUIRED, {NULL}};
static const attr_def_t histogram_attrs[] = {{"T", ATTR_TYPE, {.kind = ATTR_TYPE, .u.type = TFM_FLOAT}}, {NULL}};
static const attr_def_t merge_attrs[] = {{"N", ATTR_I, {0}}, {NULL}};

static bool is_real(tfm_dtype dt) { return dtype_is_numeric(dt); }

/* A scalar string output; the tag/values inputs are checked as far as known. */
static tfm_code summary_infer(node_t *n, tfm_status *st) {
  bool merge = strcmp(n->type, "MergeSummary") == 0;
  if (!merge) {
    if (n->inputs[0]->dtype != TFM_STRING)
      return node_error(n, st, TFM_INVALID_ARGUMENT, "the tag must be a string, got %s",
                        dtype_name(n->inputs[0]->dtype));
    if (!is_real(n->inputs[1]->dtype))
      return node_error(n, st, TFM_INVALID_ARGUMENT, "values must be real numbers, got %s",
                        dtype_name(n->inputs[1]->dtype));
  } else {
    if (n->n_inputs < 1 || node_attr_int(n, "N", -1) != n->n_inputs)
      return node_error(n, st, TFM_INVALID_ARGUMENT, "N = %lld but %d inputs", (long long)node_attr_int(n, "N", -1),
                        n->n_inputs);
    for (int i = 0; i < n->n_inputs; i++)
      if (n->inputs[i]->dtype != TFM_STRING)
        return node_error(n, st, TFM_INVALID_ARGUMENT, "input %d must be a string, got %s", i,
                          dtype_name(n->inputs[i]->dtype));
  }
  n->outputs[0].dtype = TFM_STRING;
  n->outputs[0].shape = shape_scalar();
  return TFM_OK;
}

/* Stores the serialized Summary in out as the op's scalar string output. */
static tfm_code set_summary_output(kctx_t *c, bytebuf_t *out) {
  if (out->failed) {
    bytebuf_free(out);
    return kctx_error(c, TFM_RESOURCE_EXHAUSTED, "out of memory for the summary");
  }
  shape_t s = shape_scalar();
  tensor_t *t = kctx_alloc_output(c, 0, TFM_STRING, &s);
  tfm_code code = t ? tensor_string_set(t, 0, (const char *)out->data, out->len, c->st) : TFM_RESOURCE_EXHAUSTED;
  bytebuf_free(out);
  return code;
}

static tfm_code scalar_compute(kctx_t *c) {
  const tensor_t *tags = c->in[0], *values = c->in[1];
  if (!shape_equal(&tags->shape, &values->shape)) {
    char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
    return kctx_error(c, TFM_INVALID_ARGUMENT, "tags and values not the same shape: %s != %s",
                      shape_str(&tags->shape, a), shape_str(&values->shape, b));
  }
  bytebuf_t out = BYTEBUF_INIT;
  for (int64_t i = 0; i < tags->num_elements; i++) {
    const tstring_t *tag = &TENSOR_STR(tags)[i];
    summary_append_scalar(&out, tag->data ? tag->data : "", tag->len, (float)tensor_get_f64(values, i));
  }
  return set_summary_output(c, &out);
}

static tfm_code histogram_compute(kctx_t *c) {
  const tensor_t *tag = c->in[0], *values = c->in[1];
  if (tag->num_elements != 1 || tag->shape.rank != 0) {
    char a[SHAPE_STR_MAX];
    return kctx_error(c, TFM_INVALID_ARGUMENT, "the tag must be a scalar, got shape %s", shape_str(&tag->shape, a));
  }
  const tstring_t *name = &TENSOR_STR(tag)[0];
  const char *tag_s = name->data ? name->data : "";
  histogram_t h;
  if (histogram_init(&h, c->st) != TFM_OK) return kctx_error(c, TFM_RESOURCE_EXHAUSTED, "out of memory");
  for (int64_t i = 0; i < values->num_elements; i++) {
    double v = tensor_get_f64(values, i);
    if (!isfinite(v)) {
      histogram_free(&h);
      return kctx_error(c, TFM_INVALID_ARGUMENT, "NaN or infinity in summary histogram for '%.*s' (value %lld is %g)",
                        (int)name->len, tag_s, (long long)i, v);
    }
    histogram_add(&h, v);
  }
  bytebuf_t out = BYTEBUF_INIT;
  summary_append_histogram(&out, tag_s, name->len, &h);
  histogram_free(&h);
  return set_summary_output(c, &out);
}

/* The tags seen so far while merging (duplicates are an error, as in TF). */
typedef struct tag_set {
  const char **tag;
  size_t *len;
  int n, cap;
} tag_set_t;

static bool tag_seen(tag_set_t *s, const char *tag, size_t len, bool *oom) {
  for (int i = 0; i < s->n; i++)
    if (s->len[i] == len && memcmp(s->tag[i], tag, len) == 0) return true;
  if (s->n == s->cap) {
    int cap = s->cap ? 2 * s->cap : 16;
    const char **t = mem_realloc(s->tag, (size_t)cap * sizeof *t);
    if (t) s->tag = t;
    size_t *l = t ? mem_realloc(s->len, (size_t)cap * sizeof *l) : NULL;
    if (!l) {
      *oom = true;
      return false;
    }
    s->len = l;
    s->cap = cap;
  }
  s->tag[s->n] = tag;
  s->len[s->n++] = len;
  return false;
}

static tfm_code merge_compute(kctx_t *c) {
  bytebuf_t out = BYTEBUF_INIT;
  tag_set_t seen = {0};
  tfm_code code = TFM_OK;
  for (int k = 0; k < c->n_in && code == TFM_OK; k++) {
    const tensor_t *in = c->in[k];
    for (int64_t i = 0; i < in->num_elements && code == TFM_OK; i++) {
      const tstring_t *s = &TENSOR_STR(in)[i];
      const uint8_t *p = (const uint8_t *)s->data, *end = p + s->len;
      /* Each entry is a Value; collect its tag. */
      while (p < end && code == TFM_OK) {
        const uint8_t *tag = NULL;
        size_t tag_len = 0;
        if (!summary_next_value(&p, end, &tag, &tag_len)) {
          code = kctx_error(c, TFM_INVALID_ARGUMENT, "input %d element %lld is not a serialized Summary", k,
                            (long long)i);
          break;
        }
        if (!tag) continue; /* not a value: an unknown field, kept as is */
        bool oom = false;
        if (tag_seen(&seen, (const char *)tag, tag_len, &oom))
          code = kctx_error(c, TFM_INVALID_ARGUMENT, "duplicate tag '%.*s' found in summary inputs", (int)tag_len,
                            (const char *)tag);
        else if (oom)
          code = kctx_error(c, TFM_RESOURCE_EXHAUSTED, "out of memory");
      }
      /* Serialized Summaries concatenate into one holding all their values. */
      if (code == TFM_OK) bytebuf_append(&out, s->data, s->len);
    }
  }
  mem_free(seen.tag);
  mem_free(seen.len);
  if (code != TFM_OK) {
    bytebuf_free(&out);
    return code;
  }
  return set_summary_output(c, &out);
}

const op_def_t ops_summary[] = {
    {.name = "ScalarSummary", .n_inputs = 2, .n_outputs = 1, .attrs = scalar_attrs, .infer = summary_infer,
     .compute = scalar_compute, .flags = OP_NO_GRADIENT},
    {.name = "HistogramSummary", .n_inputs = 2, .n_outputs = 1, .attrs = histogram_attrs, .infer = summary_infer,
     .compute = histogram_compute, .flags = OP_NO_GRADIENT},
    {.name = "MergeSummary", .n_outputs = 1, .attrs = merge_attrs, .infer = summary_infer, .compute = merge_compute,
     .flags = OP_NO_GRADIENT | OP_VARIADIC},
    {NULL}};

/* ---- builders ---- */

/* TF's clean_tag: characters outside [A-Za-z0-9_./-] become '_', leading '/' go. */
static char *clean_tag(const char *name) {
  while (*name == '/') name++;
  char *s = mem_strdup(name);
  if (!s) return NULL;
  for (char *p = s; *p; p++) {
    char ch = *p;
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '.' || ch == '/' || ch == '-';
    if (!ok) *p = '_';
  }
  return s;
}

/* A string scalar Const named `name` holding `text`. */
static output_t *const_string(graph_t *g, const char *text, const char *name, tfm_status *st) {
  shape_t s = shape_scalar();
  tensor_t *t = tensor_new(TFM_STRING, &s, st);
  if (!t) return NULL;
  output_t *o = NULL;
  if (tensor_string_set(t, 0, text, strlen(text), st) == TFM_OK) o = op_const_tensor(g, t, name, st);
  tensor_unref(t);
  return o;
}

/* ScalarSummary / HistogramSummary under summary_scope(name): the tag is the full
 * scope name, the tag Const "<scope>/<tag_input>", the op "<scope>". */
static output_t *build_summary(graph_t *g, const char *fn, const char *type, const char *tag_input,
                               const char *name, output_t *x, tfm_status *st) {
  if (!builder_inputs_ok(fn, st, 1, x)) return NULL;
  if (!name || !*name) {
    status_set(st, TFM_INVALID_ARGUMENT, "%s: a summary needs a name", fn);
    return NULL;
  }
  if (!is_real(x->dtype)) {
    status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': '%s' is %s, not a real number type", fn, name, x->node->name,
               dtype_name(x->dtype));
    return NULL;
  }
  g = graph_or_default(g);
  char *clean = clean_tag(name);
  if (!clean) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", fn);
    return NULL;
  }
  graph_lock(g);
  output_t *out = NULL;
  char *scope = op_scope_push(g, *clean ? clean : type, type, st);
  if (scope) {
    output_t *tag = const_string(g, scope, tag_input, st);
    graph_pop_name_scope(g, NULL);
    output_t *in[2] = {tag, x};
    attr_t attrs[] = {ATTR_TYPE_V("T", x->dtype)};
    if (tag) out = op_build_exact(g, type, scope, in, 2, attrs, 1, st);
    collection_item_t item = {.kind = ITEM_OUTPUT, .u.output = out};
    if (out && graph_add_to_collection(g, TFM_SUMMARIES, &item, st) != TFM_OK) out = NULL;
  }
  graph_unlock(g);
  mem_free(scope);
  mem_free(clean);
  return out;
}

TFM_API tfm_output *tfm_summary_scalar(tfm_graph *g, const char *name, tfm_output *tensor, tfm_status *status) {
  if (tensor && tensor->shape.rank > 0) {
    char a[SHAPE_STR_MAX];
    status_set(status, TFM_INVALID_ARGUMENT, "tfm_summary_scalar '%s': '%s' has shape %s, not a scalar",
               name ? name : "", tensor->node->name, shape_str(&tensor->shape, a));
    return NULL;
  }
  return build_summary(g, "tfm_summary_scalar", "ScalarSummary", "tags", name, tensor, status);
}

TFM_API tfm_output *tfm_summary_histogram(tfm_graph *g, const char *name, tfm_output *values, tfm_status *status) {
  return build_summary(g, "tfm_summary_histogram", "HistogramSummary", "tag", name, values, status);
}

TFM_API tfm_output *tfm_summary_merge(tfm_graph *g, tfm_output *const *inputs, int n, const char *name,
                                      tfm_status *status) {
  if (n < 1 || !inputs) {
    status_set(status, TFM_INVALID_ARGUMENT, "tfm_summary_merge: %d inputs given", n);
    return NULL;
  }
  for (int i = 0; i < n; i++)
    if (!inputs[i]) {
      if (status_code(status) == TFM_OK)
        status_set(status, TFM_INVALID_ARGUMENT, "tfm_summary_merge: input %d is NULL", i);
      return NULL;
    }
  g = graph_or_default(g);
  graph_lock(g);
  output_t *out = NULL;
  char *scope = op_scope_push(g, name, "Merge", status);
  if (scope) {
    /* tf.summary.merge names the op `name` inside the scope, "MergeSummary" by default. */
    char *full = graph_join_name(scope, name && *name ? name : "MergeSummary");
    graph_pop_name_scope(g, NULL);
    attr_t attrs[] = {ATTR_I_V("N", n)};
    if (full) out = op_build_exact(g, "MergeSummary", full, inputs, n, attrs, 1, status);
    else status_set(status, TFM_RESOURCE_EXHAUSTED, "tfm_summary_merge: out of memory");
    mem_free(full);
  }
  graph_unlock(g);
  mem_free(scope);
  return out;
}

TFM_API tfm_output *tfm_summary_merge_all(tfm_graph *g, const char *key, tfm_status *status) {
  g = graph_or_default(g);
  graph_lock(g);
  collection_t *c = graph_collection(g, key ? key : TFM_SUMMARIES, false, NULL);
  int n = c ? c->n_items : 0;
  output_t **in = n ? mem_calloc((size_t)n, sizeof *in) : NULL;
  output_t *out = NULL;
  if (n && !in) {
    status_set(status, TFM_RESOURCE_EXHAUSTED, "tfm_summary_merge_all: out of memory");
  } else if (n) {
    int bad = -1;
    for (int i = 0; i < n && bad < 0; i++) {
      if (c->items[i].kind == ITEM_OUTPUT) in[i] = c->items[i].u.output;
      else if (c->items[i].kind == ITEM_OP && c->items[i].u.op->n_outputs > 0) in[i] = &c->items[i].u.op->outputs[0];
      else bad = i;
    }
    if (bad >= 0)
      status_set(status, TFM_INVALID_ARGUMENT, "tfm_summary_merge_all: item %d of collection '%s' is not a tensor", bad,
                 key ? key : TFM_SUMMARIES);
    else
      out = tfm_summary_merge(g, in, n, NULL, status);
  }
  graph_unlock(g);
  mem_free(in);
  return out;
}
