/* The io op family: the ops of TensorFlow's Saver subgraph (formats.md 4.2).
 *
 *   SaveV2(prefix, tensor_names, shape_and_slices, tensors...)   writes a V2 bundle
 *   RestoreV2(prefix, tensor_names, shape_and_slices) -> tensors reads one
 *   MergeV2Checkpoints(checkpoint_prefixes, destination_prefix)  joins shards
 *   ShardedFilename(basename, shard, num_shards) -> "basename-00000-of-00001"
 *   StringJoin(inputs...) -> the inputs joined by `separator`
 *
 * The kernels call lib/io (bundle.h); the Saver's C API (lib/io/saver*.c) uses the
 * same files directly, so running these ops and calling tfm_saver_save/restore
 * write and read the same bytes. Partitioned variables (non-empty
 * shape_and_slices) are not supported: UNIMPLEMENTED naming the tensor. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/mem.h"
#include "io/bundle.h"
#include "ops/build.h"

/* ---- shared checks ---- */

static tfm_code want_string_input(const node_t *n, int i, int rank, tfm_status *st) {
  const output_t *in = n->inputs[i];
  char buf[256];
  if (in->dtype != TFM_STRING)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "input %d '%s' must be a string tensor, not %s", i,
                      output_name(in, buf, sizeof buf), dtype_name(in->dtype));
  if (rank >= 0 && in->shape.rank >= 0 && in->shape.rank != rank)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "input %d '%s' must have rank %d, not %d", i,
                      output_name(in, buf, sizeof buf), rank, in->shape.rank);
  return TFM_OK;
}

static const char *scalar_string(kctx_t *c, int i, const char *what) {
  const tensor_t *t = c->in[i];
  if (t->dtype != TFM_STRING || t->num_elements != 1) {
    kctx_error(c, TFM_INVALID_ARGUMENT, "%s must be one string, got %lld %s values", what,
               (long long)t->num_elements, dtype_name(t->dtype));
    return NULL;
  }
  const tstring_t *s = TENSOR_STR(t);
  return s->data ? s->data : "";
}

/* The names and slices of a Save/Restore: string vectors of the same length n,
 * every slice "" (whole tensors). */
static tfm_code names_and_slices(kctx_t *c, int64_t n_expected, const tstring_t **names) {
  const tensor_t *nm = c->in[1], *sl = c->in[2];
  if (nm->dtype != TFM_STRING || sl->dtype != TFM_STRING || nm->shape.rank != 1 || sl->shape.rank != 1 ||
      nm->num_elements != n_expected || sl->num_elements != n_expected)
    return kctx_error(c, TFM_INVALID_ARGUMENT,
                      "tensor_names and shape_and_slices must be string vectors of %lld entries",
                      (long long)n_expected);
  *names = TENSOR_STR(nm);
  const tstring_t *s = TENSOR_STR(sl);
  for (int64_t i = 0; i < n_expected; i++) {
    if ((*names)[i].len == 0) return kctx_error(c, TFM_INVALID_ARGUMENT, "tensor name %lld is empty", (long long)i);
    if (s[i].len != 0)
      return kctx_error(c, TFM_UNIMPLEMENTED, "tensor '%s': partitioned variables (slice '%s') are not supported",
                        (*names)[i].data, s[i].data);
  }
  return TFM_OK;
}

/* mkdir -p of the directory holding `prefix` (TF's bundle writer creates it: the
 * sharded saver writes into "<prefix>_temp_<uuid>/part-..."). */
static tfm_code make_parent_dirs(kctx_t *c, const char *prefix) {
  char *dir = mem_strdup(prefix);
  if (!dir) return kctx_error(c, TFM_RESOURCE_EXHAUSTED, "out of memory");
  char *slash = strrchr(dir, '/');
  tfm_code code = TFM_OK;
  if (slash && slash != dir) {
    *slash = '\0';
    for (char *p = dir + 1; code == TFM_OK; p++) {
      bool end = *p == '\0';
      if (*p != '/' && !end) continue;
      *p = '\0';
      if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        code = kctx_error(c, errno == ENOENT ? TFM_NOT_FOUND : TFM_PERMISSION_DENIED,
                          "cannot create directory '%s': %s", dir, strerror(errno));
      if (end) break;
      *p = '/';
    }
  }
  mem_free(dir);
  return code;
}

/* ---- SaveV2 ---- */

static const attr_def_t save_attrs[] = {{"dtypes", ATTR_LIST_TYPE, {0}}, {NULL}};

static int attr_type_list(const node_t *n, const char *name, const int **types) {
  const attr_value_t *v = node_attr(n, name);
  if (!v || v->kind == ATTR_LIST_EMPTY) {
    *types = NULL;
    return 0;
  }
  if (v->kind != ATTR_LIST_TYPE) return -1;
  *types = v->u.list.type;
  return v->u.list.n;
}

static tfm_code save_infer(node_t *n, tfm_status *st) {
  const int *types;
  int nt = attr_type_list(n, "dtypes", &types);
  if (n->n_inputs < 3) return node_error(n, st, TFM_INVALID_ARGUMENT, "needs prefix, tensor_names, shape_and_slices");
  if (nt != n->n_inputs - 3)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "attr dtypes lists %d types but %d tensors are given", nt,
                      n->n_inputs - 3);
  for (int i = 0; i < 3; i++)
    if (want_string_input(n, i, i == 0 ? 0 : 1, st) != TFM_OK) return status_code(st);
  for (int i = 0; i < nt; i++)
    if ((int)n->inputs[3 + i]->dtype != types[i]) {
      char buf[256];
      return node_error(n, st, TFM_INVALID_ARGUMENT, "tensor %d '%s' is %s but dtypes says %s", i,
                        output_name(n->inputs[3 + i], buf, sizeof buf), dtype_name(n->inputs[3 + i]->dtype),
                        dtype_name((tfm_dtype)types[i]));
    }
  return TFM_OK;
}

static tfm_code save_compute(kctx_t *c) {
  const char *prefix = scalar_string(c, 0, "prefix");
  const tstring_t *names;
  if (!prefix || names_and_slices(c, c->n_in - 3, &names) != TFM_OK) return status_code(c->st);
  if (make_parent_dirs(c, prefix) != TFM_OK) return status_code(c->st);
  bundle_sweep_stale_tmps(prefix); /* what a killed earlier save of this prefix left */
  bundle_writer_t *w = bundle_writer_new(prefix, c->st);
  if (!w) return kctx_error(c, status_code(c->st), "%s", tfm_status_message(c->st));
  tfm_code code = TFM_OK;
  for (int i = 3; i < c->n_in && code == TFM_OK; i++) code = bundle_writer_add(w, names[i - 3].data, c->in[i], c->st);
  if (code == TFM_OK) code = bundle_writer_finish(w, c->st);
  bundle_writer_free(w);
  if (code != TFM_OK) return kctx_error(c, code, "%s", tfm_status_message(c->st));
  return TFM_OK;
}

/* ---- RestoreV2 ---- */

static int restore_num_outputs(const node_t *n) {
  const int *types;
  int nt = attr_type_list(n, "dtypes", &types);
  return nt < 0 ? 0 : nt;
}

static tfm_code restore_infer(node_t *n, tfm_status *st) {
  const int *types;
  int nt = attr_type_list(n, "dtypes", &types);
  if (nt < 0) return node_error(n, st, TFM_INVALID_ARGUMENT, "attr dtypes must be a list of types");
  for (int i = 0; i < 3; i++)
    if (want_string_input(n, i, i == 0 ? 0 : 1, st) != TFM_OK) return status_code(st);
  for (int i = 0; i < nt; i++) {
    if (!dtype_is_valid((tfm_dtype)types[i]))
      return node_error(n, st, TFM_UNIMPLEMENTED, "dtype %d of tensor %d is not supported", types[i], i);
    n->outputs[i].dtype = (tfm_dtype)types[i];
    n->outputs[i].shape = shape_unknown();
  }
  return TFM_OK;
}

static tfm_code restore_compute(kctx_t *c) {
  const char *prefix = scalar_string(c, 0, "prefix");
  const tstring_t *names;
  if (!prefix || names_and_slices(c, c->n_out, &names) != TFM_OK) return status_code(c->st);
  bundle_reader_t *r = bundle_reader_open(prefix, c->st);
  if (!r) return kctx_error(c, status_code(c->st), "%s", tfm_status_message(c->st));
  const int *types = NULL;
  attr_type_list(c->node, "dtypes", &types);
  /* Every tensor is read (and its CRC checked) before any output is set, so a
   * corrupt checkpoint fails the run before an Assign can see a value. */
  tensor_t **vals = mem_calloc((size_t)(c->n_out ? c->n_out : 1), sizeof *vals);
  tfm_code code = vals ? TFM_OK : kctx_error(c, TFM_RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; i < c->n_out && code == TFM_OK; i++) {
    vals[i] = bundle_reader_read(r, names[i].data, c->st);
    if (!vals[i]) code = kctx_error(c, status_code(c->st), "%s", tfm_status_message(c->st));
    else if ((int)vals[i]->dtype != types[i])
      code = kctx_error(c, TFM_INVALID_ARGUMENT, "tensor '%s' in checkpoint '%s' is %s, but %s was expected",
                        names[i].data, prefix, dtype_name(vals[i]->dtype), dtype_name((tfm_dtype)types[i]));
  }
  for (int i = 0; i < c->n_out && vals; i++) {
    if (code == TFM_OK) kctx_set_output(c, i, vals[i]);
    tensor_unref(vals[i]);
  }
  mem_free(vals);
  bundle_reader_close(r);
  return code;
}

/* ---- MergeV2Checkpoints ---- */

static const attr_def_t merge_attrs[] = {{"delete_old_dirs", ATTR_B, {.kind = ATTR_B, .u.b = true}}, {NULL}};

static tfm_code merge_infer(node_t *n, tfm_status *st) {
  if (want_string_input(n, 0, 1, st) != TFM_OK) return status_code(st);
  return want_string_input(n, 1, 0, st);
}

static tfm_code merge_compute(kctx_t *c) {
  const tensor_t *srcs = c->in[0];
  const char *dest = scalar_string(c, 1, "destination_prefix");
  if (!dest) return status_code(c->st);
  if (srcs->dtype != TFM_STRING || srcs->shape.rank != 1 || srcs->num_elements < 1)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "checkpoint_prefixes must be a non-empty string vector");
  int n = (int)srcs->num_elements;
  const char **paths = mem_calloc((size_t)n, sizeof *paths);
  if (!paths) return kctx_error(c, TFM_RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; i < n; i++) paths[i] = TENSOR_STR(srcs)[i].data ? TENSOR_STR(srcs)[i].data : "";
  tfm_code code = bundle_merge(paths, n, dest, node_attr_bool(c->node, "delete_old_dirs", true), c->st);
  mem_free(paths);
  if (code != TFM_OK) return kctx_error(c, code, "%s", tfm_status_message(c->st));
  return TFM_OK;
}

/* ---- ShardedFilename ---- */

static tfm_code sharded_filename_infer(node_t *n, tfm_status *st) {
  if (want_string_input(n, 0, 0, st) != TFM_OK) return status_code(st);
  for (int i = 1; i < 3; i++)
    if (n->inputs[i]->dtype != TFM_INT32)
      return node_error(n, st, TFM_INVALID_ARGUMENT, "input %d must be int32, not %s", i,
                        dtype_name(n->inputs[i]->dtype));
  n->outputs[0].dtype = TFM_STRING;
  n->outputs[0].shape = shape_scalar();
  return TFM_OK;
}

static tfm_code sharded_filename_compute(kctx_t *c) {
  const char *base = scalar_string(c, 0, "basename");
  if (!base) return status_code(c->st);
  if (c->in[1]->num_elements != 1 || c->in[2]->num_elements != 1)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "shard and num_shards must be scalars");
  int32_t shard = *(const int32_t *)c->in[1]->data, num = *(const int32_t *)c->in[2]->data;
  if (num < 1 || shard < 0 || shard >= num)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "shard %d is outside [0, %d)", (int)shard, (int)num);
  size_t len = strlen(base) + 32;
  char *name = mem_alloc(len);
  if (!name) return kctx_error(c, TFM_RESOURCE_EXHAUSTED, "out of memory");
  int w = snprintf(name, len, "%s-%05d-of-%05d", base, (int)shard, (int)num);
  shape_t s = shape_scalar();
  tensor_t *out = kctx_alloc_output(c, 0, TFM_STRING, &s);
  tfm_code code = out ? tensor_string_set(out, 0, name, (size_t)w, c->st) : status_code(c->st);
  mem_free(name);
  return code;
}

/* ---- StringJoin ---- */

static const attr_def_t string_join_attrs[] = {
    {"N", ATTR_I, {0}}, {"separator", ATTR_S, {.kind = ATTR_S, .u.s = {"", 0}}}, {NULL}};

static tfm_code string_join_infer(node_t *n, tfm_status *st) {
  if (n->n_inputs < 1) return node_error(n, st, TFM_INVALID_ARGUMENT, "needs at least one input");
  shape_t s = shape_scalar();
  for (int i = 0; i < n->n_inputs; i++) {
    if (want_string_input(n, i, -1, st) != TFM_OK) return status_code(st);
    const shape_t *is = &n->inputs[i]->shape;
    if (is->rank != 0) {
      char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
      if (s.rank > 0 && !shape_compatible(&s, is))
        return node_error(n, st, TFM_INVALID_ARGUMENT, "inputs have different shapes: %s and %s",
                          shape_str(&s, a), shape_str(is, b));
      s = *is;
    }
  }
  n->outputs[0].dtype = TFM_STRING;
  n->outputs[0].shape = s;
  return TFM_OK;
}

static tfm_code string_join_compute(kctx_t *c) {
  const attr_value_t *sep_attr = node_attr(c->node, "separator");
  const char *sep = sep_attr && sep_attr->kind == ATTR_S && sep_attr->u.s.data ? sep_attr->u.s.data : "";
  size_t sep_len = sep_attr && sep_attr->kind == ATTR_S ? sep_attr->u.s.len : 0;
  int shaped = -1; /* scalars broadcast against the one non-scalar shape */
  for (int i = 0; i < c->n_in; i++) {
    const tensor_t *t = c->in[i];
    if (t->dtype != TFM_STRING) return kctx_error(c, TFM_INVALID_ARGUMENT, "input %d is not a string tensor", i);
    if (t->shape.rank == 0) continue;
    if (shaped >= 0 && !shape_equal(&c->in[shaped]->shape, &t->shape))
      return kctx_error(c, TFM_INVALID_ARGUMENT, "inputs %d and %d differ in shape", shaped, i);
    shaped = i;
  }
  shape_t s = shaped >= 0 ? c->in[shaped]->shape : shape_scalar();
  tensor_t *out = kctx_alloc_output(c, 0, TFM_STRING, &s);
  if (!out) return status_code(c->st);
  for (int64_t e = 0; e < out->num_elements; e++) {
    size_t len = 0;
    for (int i = 0; i < c->n_in; i++) len += TENSOR_STR(c->in[i])[c->in[i]->shape.rank ? e : 0].len + sep_len;
    char *buf = mem_alloc(len + 1), *p = buf;
    if (!buf) return kctx_error(c, TFM_RESOURCE_EXHAUSTED, "out of memory joining %zu bytes", len);
    for (int i = 0; i < c->n_in; i++) {
      const tstring_t *x = &TENSOR_STR(c->in[i])[c->in[i]->shape.rank ? e : 0];
      if (i > 0 && sep_len) memcpy(p, sep, sep_len), p += sep_len;
      if (x->len) memcpy(p, x->data, x->len), p += x->len;
    }
    tfm_code code = tensor_string_set(out, e, buf, (size_t)(p - buf), c->st);
    mem_free(buf);
    if (code != TFM_OK) return code;
  }
  return TFM_OK;
}

const op_def_t ops_io[] = {
    {.name = "SaveV2", .n_outputs = 0, .attrs = save_attrs, .infer = save_infer, .compute = save_compute,
     .flags = OP_STATEFUL | OP_VARIADIC | OP_NO_GRADIENT},
    {.name = "RestoreV2", .n_inputs = 3, .num_outputs = restore_num_outputs, .attrs = save_attrs,
     .infer = restore_infer, .compute = restore_compute, .flags = OP_STATEFUL | OP_NO_GRADIENT},
    {.name = "MergeV2Checkpoints", .n_inputs = 2, .n_outputs = 0, .attrs = merge_attrs, .infer = merge_infer,
     .compute = merge_compute, .flags = OP_STATEFUL | OP_NO_GRADIENT},
    {.name = "ShardedFilename", .n_inputs = 3, .n_outputs = 1, .infer = sharded_filename_infer,
     .compute = sharded_filename_compute, .flags = OP_NO_GRADIENT},
    {.name = "StringJoin", .n_outputs = 1, .attrs = string_join_attrs, .infer = string_join_infer,
     .compute = string_join_compute, .flags = OP_VARIADIC | OP_NO_GRADIENT},
    {NULL}};
