/* Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/seed-*) from
 * libtfmini's own writers: `fuzz_make_seeds OUTDIR`. The committed seeds were made
 * with it; crash reproducers found later sit beside them as regress-*. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/mem.h"
#include "core/tensor.h"
#include "io/bundle.h"
#include "io/checkpoint_state.h"
#include "io/file.h"
#include "io/pbio.h"
#include "io/tfrecord.h"
#include "tfmini/tfmini.h"

static const char *outdir;

static void die(const char *what, const tfm_status *st) {
  fprintf(stderr, "%s: %s\n", what, st ? st->msg : "failed");
  exit(1);
}

static void put(const char *target, const char *name, const void *data, size_t n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", outdir, target);
  mkdir(path, 0777);
  snprintf(path, sizeof path, "%s/%s/%s", outdir, target, name);
  FILE *f = fopen(path, "wb");
  if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) die(path, NULL);
}

static tensor_t *f32_tensor(int64_t rows, int64_t cols, tfm_status *st) {
  int64_t dims[2] = {rows, cols};
  shape_t s;
  if (shape_make(dims, 2, false, &s, "seed", st) != TFM_OK) die("shape", st);
  tensor_t *t = tensor_new(TFM_FLOAT, &s, st);
  if (!t) die("tensor", st);
  float *p = t->data;
  for (int64_t i = 0; i < rows * cols; i++) p[i] = (float)i * 0.5f - 1.0f;
  return t;
}

/* A bundle of a few tensors (float matrix, int64 scalar, strings); seeds the table
 * target with its .index and the bundle target with index + data. */
static void bundle_seeds(tfm_status *st) {
  char prefix[1024];
  snprintf(prefix, sizeof prefix, "%s/tmp-bundle", outdir);
  bundle_writer_t *w = bundle_writer_new(prefix, st);
  if (!w) die("bundle", st);
  tensor_t *a = f32_tensor(3, 4, st), *b = tensor_scalar_i64(1000, st);
  shape_t s2 = shape_vector(2);
  tensor_t *s = tensor_new(TFM_STRING, &s2, st);
  if (!s || tensor_string_set(s, 0, "hello", 5, st) != TFM_OK ||
      tensor_string_set(s, 1, "", 0, st) != TFM_OK)
    die("strings", st);
  if (bundle_writer_add(w, "dense/kernel", a, st) != TFM_OK ||
      bundle_writer_add(w, "global_step", b, st) != TFM_OK ||
      bundle_writer_add(w, "names", s, st) != TFM_OK || bundle_writer_finish(w, st) != TFM_OK)
    die("bundle write", st);
  bundle_writer_free(w);
  char *ip = bundle_index_path(prefix), *dp = bundle_data_path(prefix, 0, 1);
  uint8_t *idx, *dat;
  size_t ilen, dlen;
  if (file_read_all(ip, 1 << 20, &idx, &ilen, st) != TFM_OK ||
      file_read_all(dp, 1 << 20, &dat, &dlen, st) != TFM_OK)
    die("read back", st);
  put("table", "seed-bundle-index", idx, ilen);
  uint8_t *both = malloc(4 + ilen + dlen);
  both[0] = (uint8_t)ilen, both[1] = (uint8_t)(ilen >> 8), both[2] = (uint8_t)(ilen >> 16),
  both[3] = (uint8_t)(ilen >> 24);
  memcpy(both + 4, idx, ilen);
  memcpy(both + 4 + ilen, dat, dlen);
  put("bundle", "seed-three-tensors", both, 4 + ilen + dlen);
  free(both);
  remove(ip), remove(dp);
  mem_free(ip), mem_free(dp), mem_free(idx), mem_free(dat);
  tensor_unref(a), tensor_unref(b), tensor_unref(s);
}

static void ckstate_seeds(tfm_status *st) {
  checkpoint_state_t cs = CHECKPOINT_STATE_INIT;
  if (checkpoint_state_push(&cs, "model.ckpt-500", 1.5e9, st) != TFM_OK ||
      checkpoint_state_push(&cs, "/abs/dir/model.ckpt-1000", 1.5e9 + 60, st) != TFM_OK)
    die("push", st);
  bytebuf_t out = BYTEBUF_INIT;
  if (checkpoint_state_format(&cs, &out, st) != TFM_OK) die("format", st);
  put("ckstate", "seed-two-paths", out.data, out.len);
  bytebuf_free(&out);
  checkpoint_state_free(&cs);
  static const char odd[] = "# comment\nmodel_checkpoint_path: 'a\\tb\\303\\251' \"c\"\n"
                            "all_model_checkpoint_paths: \"x\"\nlast_preserved_timestamp: 1e3\n";
  put("ckstate", "seed-escapes", odd, sizeof odd - 1);
}

/* Event records: a file_version, a scalar summary and a tensor summary. */
static void tfrecord_seeds(tfm_status *st) {
  bytebuf_t file = BYTEBUF_INIT;
  tensorflow_Event ev;
  memset(&ev, 0, sizeof ev);
  ev.wall_time = 1.5e9;
  ev.which_what = tensorflow_Event_file_version_tag;
  ev.what.file_version = "brain.Event:2";
  bytebuf_t rec = BYTEBUF_INIT;
  if (pbio_encode(tensorflow_Event_fields, &ev, &rec, "seed", st) != TFM_OK) die("event", st);
  tfrecord_frame(&file, rec.data, rec.len);
  rec.len = 0;

  tensor_t *t = f32_tensor(2, 2, st);
  tensorflow_Summary_Value v[2];
  memset(v, 0, sizeof v);
  v[0].tag = "loss";
  v[0].which_value = tensorflow_Summary_Value_simple_value_tag;
  v[0].value.simple_value = 0.25f;
  v[1].tag = "w";
  v[1].which_value = tensorflow_Summary_Value_tensor_tag;
  if (pbio_tensor_to_proto(t, &v[1].value.tensor, st) != TFM_OK) die("tensor proto", st);
  memset(&ev, 0, sizeof ev);
  ev.step = 7;
  ev.which_what = tensorflow_Event_summary_tag;
  ev.what.summary.value_count = 2;
  ev.what.summary.value = v;
  if (pbio_encode(tensorflow_Event_fields, &ev, &rec, "seed", st) != TFM_OK) die("event", st);
  tfrecord_frame(&file, rec.data, rec.len);
  pbio_release(tensorflow_TensorProto_fields, &v[1].value.tensor);
  tensor_unref(t);
  put("tfrecord", "seed-events", file.data, file.len);
  put("tfrecord", "seed-truncated", file.data, file.len - 3);
  bytebuf_free(&rec);
  bytebuf_free(&file);
}

/* Raw snappy by hand: literal "abcd", copy-1 (len 4, off 4), copy-2 (len 8, off 8). */
static void snappy_seeds(void) {
  static const uint8_t s1[] = {16, 3 << 2, 'a', 'b', 'c', 'd', 0x01, 4, (7 << 2) | 2, 8, 0};
  put("snappy", "seed-literal-copies", s1, sizeof s1);
  static const uint8_t s2[] = {0};
  put("snappy", "seed-empty", s2, sizeof s2);
}

/* A model built with the public API (placeholder, dense layer, softmax loss,
 * gradient descent, a Saver): its GraphDef (binary and text) seeds pbio (type
 * byte 0), graph and pbtext; its MetaGraphDef (1) and a SavedModel around it (2). */
static void graph_seeds(tfm_status *st) {
  tfm_graph *g = tfm_graph_new(st);
  const int64_t dx[2] = {-1, 3}, dw[2] = {3, 2};
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, dx, 2, "x", st);
  tfm_output *y = tfm_placeholder(g, TFM_FLOAT, (const int64_t[]){-1, 2}, 2, "y", st);
  tfm_tensor *w0 = tfm_tensor_new(TFM_FLOAT, dw, 2, st);
  if (!w0) die("tensor", st);
  for (int i = 0; i < 6; i++) ((float *)tfm_tensor_data(w0))[i] = 0.25f * (float)i - 0.5f;
  tfm_variable *w = tfm_variable_new(g, tfm_constant(g, w0, "w_init", st), 1, "w", st);
  tfm_tensor_release(w0);
  tfm_output *logits = tfm_matmul(g, x, tfm_variable_value(w), 0, 0, "logits", st);
  tfm_output *loss = tfm_reduce_mean(g, tfm_softmax_cross_entropy_with_logits(g, y, logits, NULL, st),
                                     NULL, 0, 0, "loss", st);
  tfm_optimizer *opt = tfm_optimizer_gradient_descent(0.1, st);
  if (!opt || !tfm_optimizer_minimize(opt, g, loss, NULL, 0, NULL, NULL, st)) die("model", st);
  tfm_optimizer_delete(opt);
  if (!tfm_global_variables_initializer(g, st)) die("init", st);
  tfm_saver *saver = tfm_saver_new(g, NULL, NULL, 0, -1, 0, st);
  if (!saver) die("saver", st);
  for (int as_text = 0; as_text <= 1; as_text++) {
    tfm_buffer *b = tfm_graph_to_graph_def(g, as_text, st);
    if (!b) die("graph_def", st);
    bytebuf_t out = BYTEBUF_INIT;
    bytebuf_append(&out, as_text ? "\1" : "\0", 1);
    bytebuf_append(&out, tfm_buffer_data(b), tfm_buffer_size(b));
    put("graph", as_text ? "seed-train-graph-text" : "seed-train-graph", out.data, out.len);
    if (!as_text) put("pbio", "seed-graphdef", out.data, out.len);
    if (as_text) put("pbtext", "seed-graphdef-text", out.data, out.len);
    bytebuf_free(&out);
    tfm_buffer_delete(b);
  }
  char path[1024];
  snprintf(path, sizeof path, "%s/tmp.meta", outdir);
  uint8_t *meta;
  if (tfm_export_meta_graph(g, saver, path, st) != TFM_OK) {
    fprintf(stderr, "no MetaGraphDef seeds: %s\n", st->msg);
    tfm_saver_delete(saver);
    tfm_graph_delete(g);
    return;
  }
  size_t mlen;
  if (file_read_all(path, 1 << 24, &meta, &mlen, st) != TFM_OK) die("read meta", st);
  remove(path);
  bytebuf_t out = BYTEBUF_INIT;
  bytebuf_append(&out, "\1", 1);
  bytebuf_append(&out, meta, mlen);
  put("pbio", "seed-metagraphdef", out.data, out.len);
  /* The same bytes as text MetaGraphDef for the pbtext target (type byte 1). */
  out.len = 0;
  tensorflow_MetaGraphDef m;
  if (PBIO_DECODE(tensorflow_MetaGraphDef, &m, meta, mlen, "meta", st) != TFM_OK) die("decode", st);
  tensorflow_SavedModel sm;
  memset(&sm, 0, sizeof sm);
  sm.saved_model_schema_version = 1;
  sm.meta_graphs_count = 1;
  sm.meta_graphs = &m;
  bytebuf_append(&out, "\2", 1);
  if (pbio_encode(tensorflow_SavedModel_fields, &sm, &out, "seed", st) != TFM_OK) die("sm", st);
  put("pbio", "seed-savedmodel", out.data, out.len);
  pbio_release(tensorflow_MetaGraphDef_fields, &m);
  bytebuf_free(&out);
  mem_free(meta);
  tfm_saver_delete(saver);
  tfm_graph_delete(g);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  outdir = argv[1];
  mkdir(outdir, 0777);
  tfm_status st = {0};
  bundle_seeds(&st);
  ckstate_seeds(&st);
  tfrecord_seeds(&st);
  snappy_seeds();
  graph_seeds(&st);
  return 0;
}
