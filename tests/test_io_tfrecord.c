/* io_tfrecord: TFRecord framing. The real TF 1.3 event file is read record by record
 * (checked against its dump), decoded as Events and rewritten byte for byte;
 * corruption is DATA_LOSS, a truncated tail is a clean, resumable end. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/status.h"
#include "io/graph_def.h"
#include "io/pbio.h"
#include "io/tfrecord.h"
#include "io_testutil.h"
#include "tfmini/tfmini.h"

#define EVENTS "events_tf1.3/events.out.tfevents.1525783349.santo"

/* Counts the nodes of a GraphDef and notes which of census_ops appear. */
static const char *census_ops[] = {"Add", "Const", "HistogramSummary", "MergeSummary", "ScalarSummary"};
typedef struct op_census {
  int nodes;
  bool found[5];
} op_census_t;

static bool count_ops(void *ctx, tensorflow_NodeDef *nd, tfm_status *st) {
  (void)st;
  op_census_t *c = ctx;
  c->nodes++;
  for (int k = 0; k < 5; k++) c->found[k] |= strcmp(nd->op, census_ops[k]) == 0;
  return true;
}

START_TEST(tfrecord_reads_and_decodes_real_event_file) {
  char path[1024];
  if (!tf_testdata(EVENTS, path, sizeof path)) return;
  tfm_status *st = tfm_status_new();
  tfrecord_reader_t *r = tfrecord_reader_open(path, st);
  ck_assert_ptr_nonnull(r);
  /* Offsets and lengths from the dump: @0 len=24, @40 len=816, @872 len=1231. */
  const uint64_t offs[] = {0, 40, 872};
  const size_t lens[] = {24, 816, 1231};
  for (int i = 0; i < 3; i++) {
    ck_assert_uint_eq(tfrecord_reader_offset(r), offs[i]);
    const uint8_t *data;
    size_t len;
    ck_assert_int_eq(tfrecord_reader_next(r, &data, &len, st), TFM_OK);
    ck_assert_uint_eq(len, lens[i]);
    tensorflow_Event ev;
    ck_assert_int_eq(PBIO_DECODE(tensorflow_Event, &ev, data, len, "event", st), TFM_OK);
    ck_assert_int_eq(ev.step, 0);
    if (i == 0) {
      ck_assert(ev.wall_time == 1525783349.0);
      ck_assert_uint_eq(ev.which_what, tensorflow_Event_file_version_tag);
      ck_assert_str_eq(ev.what.file_version, "brain.Event:2");
    } else if (i == 1) {
      ck_assert_uint_eq(ev.which_what, tensorflow_Event_graph_def_tag);
      ck_assert_uint_eq(ev.what.graph_def.len, 804);
      op_census_t c = {0};
      tensorflow_VersionDef v;
      ck_assert_int_eq(graph_def_for_each_node(ev.what.graph_def.data, ev.what.graph_def.len, count_ops,
                                               &c, &v, "graph", st), TFM_OK);
      ck_assert_int_eq(c.nodes, 10);
      ck_assert_int_eq(v.producer, 24);
      for (int k = 0; k < 5; k++) ck_assert_msg(c.found[k], "op %s", census_ops[k]);
    } else {
      ck_assert_uint_eq(ev.which_what, tensorflow_Event_meta_graph_def_tag);
      ck_assert_uint_eq(ev.what.meta_graph_def.len, 1219);
      tensorflow_MetaGraphDef mg;
      ck_assert_int_eq(PBIO_DECODE(tensorflow_MetaGraphDef, &mg, ev.what.meta_graph_def.data,
                                   ev.what.meta_graph_def.len, "meta", st), TFM_OK);
      op_census_t c = {0};
      ck_assert_int_eq(graph_def_for_each_node(mg.graph_def.data, mg.graph_def.len, count_ops, &c, NULL,
                                               "graph", st), TFM_OK);
      ck_assert_int_eq(c.nodes, 10);
      pbio_release(tensorflow_MetaGraphDef_fields, &mg);
    }
    pbio_release(tensorflow_Event_fields, &ev);
  }
  const uint8_t *data;
  size_t len;
  ck_assert_int_eq(tfrecord_reader_next(r, &data, &len, st), TFM_OUT_OF_RANGE);
  ck_assert(!tfrecord_reader_truncated(r));
  tfrecord_reader_close(r);
  tfm_status_delete(st);
}
END_TEST

START_TEST(tfrecord_writer_reproduces_real_event_file) {
  char path[1024], dir[1024], out[1100];
  if (!tf_testdata(EVENTS, path, sizeof path)) return;
  test_tmpdir(dir, sizeof dir);
  snprintf(out, sizeof out, "%s/events.out", dir);
  tfm_status *st = tfm_status_new();
  tfrecord_reader_t *r = tfrecord_reader_open(path, st);
  tfrecord_writer_t *w = tfrecord_writer_open(out, st);
  const uint8_t *data;
  size_t len;
  while (tfrecord_reader_next(r, &data, &len, st) == TFM_OK)
    ck_assert_int_eq(tfrecord_writer_write(w, data, len, st), TFM_OK);
  ck_assert_int_eq(tfrecord_writer_close(w, st), TFM_OK);
  tfrecord_reader_close(r);
  size_t na, nb;
  uint8_t *a = slurp(path, &na), *b = slurp(out, &nb);
  ck_assert_uint_eq(na, nb);
  ck_assert(memcmp(a, b, na) == 0);
  /* The first record's header, as quoted in formats.md 3.9. */
  const uint8_t head[] = {0x18, 0, 0, 0, 0, 0, 0, 0, 0xa3, 0x7f, 0x4b, 0x22};
  ck_assert(memcmp(b, head, sizeof head) == 0);
  free(a);
  free(b);
  tfm_status_delete(st);
}
END_TEST

/* Writes `n` bytes of the real file to a temp file and counts readable records. */
static tfm_code read_prefix(const uint8_t *file, size_t n, int flip_at, int *records,
                            bool *truncated, tfm_status *st) {
  char dir[1024], p[1100];
  test_tmpdir(dir, sizeof dir);
  snprintf(p, sizeof p, "%s/ev", dir);
  FILE *f = fopen(p, "wb");
  fwrite(file, 1, n, f);
  if (flip_at >= 0) {
    fseek(f, flip_at, SEEK_SET);
    uint8_t c = file[flip_at] ^ 0x04;
    fwrite(&c, 1, 1, f);
  }
  fclose(f);
  tfrecord_reader_t *r = tfrecord_reader_open(p, st);
  const uint8_t *data;
  size_t len;
  tfm_code c;
  *records = 0;
  while ((c = tfrecord_reader_next(r, &data, &len, st)) == TFM_OK) (*records)++;
  *truncated = tfrecord_reader_truncated(r);
  tfrecord_reader_close(r);
  unlink(p);
  rmdir(dir);
  return c;
}

START_TEST(tfrecord_truncated_tail_is_a_clean_end_and_crcs_are_strict) {
  char path[1024];
  if (!tf_testdata(EVENTS, path, sizeof path)) return;
  size_t n;
  uint8_t *file = slurp(path, &n);
  tfm_status *st = tfm_status_new();
  const size_t ends[] = {40, 872, n}; /* record boundaries */
  for (size_t cut = 0; cut <= n; cut += 7) {
    int records;
    bool truncated;
    ck_assert_int_eq(read_prefix(file, cut, -1, &records, &truncated, st), TFM_OUT_OF_RANGE);
    int complete = 0;
    while (complete < 3 && ends[complete] <= cut) complete++;
    ck_assert_int_eq(records, complete);
    ck_assert_int_eq(truncated, cut != 0 && cut != 40 && cut != 872 && cut != n);
  }
  for (int at = 0; at < (int)n; at += 5) {
    int records;
    bool truncated;
    tfm_code c = read_prefix(file, n, at, &records, &truncated, st);
    /* A flipped length bit can only be DATA_LOSS (its CRC). */
    ck_assert_msg(c == TFM_DATA_LOSS, "flip at %d gave %s", at, tfm_code_name(c));
    ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "corrupt record"));
  }
  free(file);
  tfm_status_delete(st);
}
END_TEST

START_TEST(tfrecord_reader_resumes_when_a_record_completes) {
  char dir[1024], p[1100];
  test_tmpdir(dir, sizeof dir);
  snprintf(p, sizeof p, "%s/grow", dir);
  tfm_status *st = tfm_status_new();
  bytebuf_t frames = BYTEBUF_INIT;
  tfrecord_frame(&frames, "first", 5);
  tfrecord_frame(&frames, "second!", 7);
  FILE *f = fopen(p, "wb");
  fwrite(frames.data, 1, 21 + 10, f); /* first record + part of the second */
  fflush(f);
  tfrecord_reader_t *r = tfrecord_reader_open(p, st);
  const uint8_t *data;
  size_t len;
  ck_assert_int_eq(tfrecord_reader_next(r, &data, &len, st), TFM_OK);
  ck_assert(len == 5 && memcmp(data, "first", 5) == 0);
  ck_assert_int_eq(tfrecord_reader_next(r, &data, &len, st), TFM_OUT_OF_RANGE);
  ck_assert(tfrecord_reader_truncated(r));
  fwrite(frames.data + 31, 1, frames.len - 31, f);
  fclose(f);
  ck_assert_int_eq(tfrecord_reader_next(r, &data, &len, st), TFM_OK);
  ck_assert(len == 7 && memcmp(data, "second!", 7) == 0);
  ck_assert_int_eq(tfrecord_reader_next(r, &data, &len, st), TFM_OUT_OF_RANGE);
  ck_assert(!tfrecord_reader_truncated(r));
  tfrecord_reader_close(r);
  bytebuf_free(&frames);
  unlink(p);
  rmdir(dir);
  tfm_status_delete(st);
}
END_TEST

int main(void) {
  Suite *s = suite_create("io_tfrecord");
  TCase *tc = tcase_create("tfrecord");
  tcase_add_test(tc, tfrecord_reads_and_decodes_real_event_file);
  tcase_add_test(tc, tfrecord_writer_reproduces_real_event_file);
  tcase_add_test(tc, tfrecord_truncated_tail_is_a_clean_end_and_crcs_are_strict);
  tcase_add_test(tc, tfrecord_reader_resumes_when_a_record_completes);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
