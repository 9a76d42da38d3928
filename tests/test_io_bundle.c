/* io_bundle: checkpoint V2 tensor bundles. Real TensorFlow checkpoints are read and
 * compared with their decoded listings (*.dump.txt) and rewritten byte for byte;
 * every dtype and shape round-trips; corruption, failures and crashes mid-save
 * leave DATA_LOSS errors and untouched files, never a crash or a leak. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/status.h"
#include "io/bundle.h"
#include "io/crc32c.h"
#include "io/pbio.h"
#include "io/table.h"
#include "io_testutil.h"
#include "tfmini/debug.h"
#include "tfmini/tfmini.h"

/* Reads every tensor of a real checkpoint and compares with its dump. */
static void check_checkpoint_against_dump(const char *rel_prefix, size_t want_tensors) {
  char prefix[1024], dump[1100];
  if (!tf_testdata(rel_prefix, prefix, sizeof prefix)) return;
  snprintf(dump, sizeof dump, "%s.index.dump.txt", prefix);
  static dump_tensor_t want[64];
  size_t nw = read_dump_tensors(dump, want, 64);
  ck_assert_uint_eq(nw, want_tensors);
  tfm_status *st = tfm_status_new();
  bundle_reader_t *r = bundle_reader_open(prefix, st);
  ck_assert_msg(r != NULL, "%s", tfm_status_message(st));
  ck_assert_uint_eq(bundle_reader_num_tensors(r), nw);
  for (size_t i = 0; i < nw; i++) {
    ck_assert_str_eq(bundle_reader_key(r, i), want[i].key);
    tensor_t *t = bundle_reader_read(r, want[i].key, st);
    ck_assert_msg(t != NULL, "%s", tfm_status_message(st));
    ck_assert_str_eq(want[i].dtype, "DT_FLOAT");
    ck_assert_int_eq(t->dtype, TFM_FLOAT);
    ck_assert_int_eq(t->shape.rank, want[i].rank);
    for (int d = 0; d < want[i].rank; d++) ck_assert_int_eq(t->shape.dim[d], want[i].dims[d]);
    ck_assert_int_gt(want[i].nvalues, 0);
    for (int v = 0; v < want[i].nvalues; v++)
      ck_assert_msg(TENSOR_F32(t)[v] == (float)want[i].values[v], "%s[%d] = %.9g, want %.9g",
                    want[i].key, v, TENSOR_F32(t)[v], want[i].values[v]);
    tensor_unref(t);
  }
  bundle_reader_close(r);
  tfm_status_delete(st);
}

START_TEST(bundle_reads_real_checkpoints_like_their_dumps) {
  check_checkpoint_against_dump("regression_savedmodel_tf1.2/variables/variables", 2);
  check_checkpoint_against_dump("half_plus_three_tf1.0/variables/variables", 3);
  check_checkpoint_against_dump("half_plus_two_cpu_tf1.14/variables/variables", 5);
  check_checkpoint_against_dump("houseprices_tf1.10/model.ckpt", 34);
}
END_TEST

START_TEST(bundle_reads_the_values_the_readme_states) {
  char prefix[1024];
  if (!tf_testdata("regression_savedmodel_tf1.2/variables/variables", prefix, sizeof prefix)) return;
  tfm_status *st = tfm_status_new();
  bundle_reader_t *r = bundle_reader_open(prefix, st);
  tensor_t *w = bundle_reader_read(r, "w", st), *b = bundle_reader_read(r, "b", st);
  ck_assert(fabsf(TENSOR_F32(w)[0] - -0.8578622f) < 1e-7f);
  ck_assert(TENSOR_F32(b)[0] == 0.0f);
  bundle_entry_t e;
  ck_assert_int_eq(bundle_reader_lookup(r, "w", &e, st), TFM_OK);
  ck_assert_uint_eq(e.offset, 4);
  ck_assert_uint_eq(e.size, 4);
  ck_assert_uint_eq(crc32c_mask(e.crc32c), 0x1b530575u);
  ck_assert_ptr_null(bundle_reader_read(r, "nope", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "nope"));
  tensor_unref(w);
  tensor_unref(b);
  bundle_reader_close(r);
  ck_assert(tf_testdata("half_plus_two_cpu_tf1.14/variables/variables", prefix, sizeof prefix));
  r = bundle_reader_open(prefix, st);
  const char *keys[] = {"a", "b", "c"};
  float vals[] = {0.5f, 2.0f, 3.0f};
  for (int i = 0; i < 3; i++) {
    tensor_t *t = bundle_reader_read(r, keys[i], st);
    ck_assert_int_eq(t->shape.rank, 0);
    ck_assert(TENSOR_F32(t)[0] == vals[i]);
    tensor_unref(t);
  }
  bundle_reader_close(r);
  /* The Adam slots of houseprices: names and shapes. */
  ck_assert(tf_testdata("houseprices_tf1.10/model.ckpt", prefix, sizeof prefix));
  r = bundle_reader_open(prefix, st);
  ck_assert_int_eq(bundle_reader_lookup(r, "Variable_2/Adam_1", &e, st), TFM_OK);
  ck_assert_int_eq(e.shape.rank, 2);
  ck_assert_int_eq(e.shape.dim[0], 100);
  ck_assert_int_eq(e.shape.dim[1], 5);
  ck_assert_int_eq(bundle_reader_lookup(r, "beta2_power", &e, st), TFM_OK);
  ck_assert_int_eq(e.shape.rank, 0);
  bundle_reader_close(r);
  tfm_status_delete(st);
}
END_TEST

static bool same_file(const char *a, const char *b) {
  size_t na, nb;
  uint8_t *x = slurp(a, &na), *y = slurp(b, &nb);
  bool same = x && y && na == nb && memcmp(x, y, na) == 0;
  free(x);
  free(y);
  return same;
}

/* Reads a real checkpoint and writes its tensors again, in key order (the TF1
 * Saver's order): both files must come out identical. */
static void check_rewrite(const char *rel_prefix) {
  char prefix[1024], dir[1024], out[1200], a[1300], b[1300];
  if (!tf_testdata(rel_prefix, prefix, sizeof prefix)) return;
  test_tmpdir(dir, sizeof dir);
  snprintf(out, sizeof out, "%s/model.ckpt", dir);
  tfm_status *st = tfm_status_new();
  bundle_reader_t *r = bundle_reader_open(prefix, st);
  bundle_writer_t *w = bundle_writer_new(out, st);
  ck_assert_ptr_nonnull(w);
  for (size_t i = 0; i < bundle_reader_num_tensors(r); i++) {
    tensor_t *t = bundle_reader_read(r, bundle_reader_key(r, i), st);
    ck_assert_int_eq(bundle_writer_add(w, bundle_reader_key(r, i), t, st), TFM_OK);
    tensor_unref(t);
  }
  ck_assert_int_eq(bundle_writer_finish(w, st), TFM_OK);
  bundle_writer_free(w);
  bundle_reader_close(r);
  snprintf(a, sizeof a, "%s.index", prefix);
  snprintf(b, sizeof b, "%s.index", out);
  ck_assert_msg(same_file(a, b), "%s.index differs", rel_prefix);
  snprintf(a, sizeof a, "%s.data-00000-of-00001", prefix);
  snprintf(b, sizeof b, "%s.data-00000-of-00001", out);
  ck_assert_msg(same_file(a, b), "%s data differs", rel_prefix);
  tfm_status_delete(st);
}

START_TEST(bundle_writer_reproduces_real_checkpoints_byte_for_byte) {
  check_rewrite("regression_savedmodel_tf1.2/variables/variables");
  check_rewrite("half_plus_three_tf1.0/variables/variables");
  check_rewrite("houseprices_tf1.10/model.ckpt");
}
END_TEST

START_TEST(bundle_writes_formats_md_example_from_scratch) {
  /* formats.md 1.1: b = [0.0], w = [-0.8578622] (float[1]) -> the 142-byte index. */
  char real[1024], dir[1024], out[1200], path[1300];
  bool have = tf_testdata("regression_savedmodel_tf1.2/variables/variables", real, sizeof real);
  test_tmpdir(dir, sizeof dir);
  snprintf(out, sizeof out, "%s/variables", dir);
  tfm_status *st = tfm_status_new();
  shape_t s1 = shape_vector(1);
  tensor_t *b = tensor_new_zeros(TFM_FLOAT, &s1, st), *w = tensor_new(TFM_FLOAT, &s1, st);
  TENSOR_F32(w)[0] = (float)-0.8578622341156006; /* the dump's value */
  bundle_writer_t *bw = bundle_writer_new(out, st);
  ck_assert_int_eq(bundle_writer_add(bw, "w", w, st), TFM_OK);
  bundle_writer_free(bw); /* abandoned before finish: leaves nothing behind */
  ck_assert_int_eq(count_files(dir, ""), 0);
  bw = bundle_writer_new(out, st);
  ck_assert_int_eq(bundle_writer_add(bw, "b", b, st), TFM_OK);
  ck_assert_int_eq(bundle_writer_add(bw, "w", w, st), TFM_OK);
  ck_assert_int_eq(bundle_writer_finish(bw, st), TFM_OK);
  bundle_writer_free(bw);
  snprintf(path, sizeof path, "%s.index", out);
  size_t n;
  uint8_t *idx = slurp(path, &n);
  ck_assert_uint_eq(n, 142);
  uint8_t head[] = {0x00, 0x00, 0x06, 0x08, 0x01, 0x1a, 0x02, 0x08, 0x01};
  ck_assert(memcmp(idx, head, sizeof head) == 0);
  ck_assert(memcmp(idx + 134, "\x57\xfb\x80\x8b\x24\x75\x47\xdb", 8) == 0);
  free(idx);
  if (have) {
    char a[1100];
    snprintf(a, sizeof a, "%s.index", real);
    ck_assert(same_file(a, path));
  }
  tensor_unref(b);
  tensor_unref(w);
  tfm_status_delete(st);
}
END_TEST

static tensor_t *make_tensor(tfm_dtype dt, const int64_t *dims, int rank, int seed) {
  shape_t s;
  ck_assert_int_eq(shape_make(dims, rank, false, &s, "t", NULL), TFM_OK);
  tensor_t *t = tensor_new_zeros(dt, &s, NULL);
  for (int64_t i = 0; i < t->num_elements; i++) {
    switch (dt) {
    case TFM_FLOAT: TENSOR_F32(t)[i] = (float)(i + seed) * -1.5f; break;
    case TFM_DOUBLE: TENSOR_F64(t)[i] = (double)(i + seed) / 7.0; break;
    case TFM_INT32: TENSOR_I32(t)[i] = (int32_t)(i * 7919 - seed); break;
    case TFM_INT64: TENSOR_I64(t)[i] = ((int64_t)i << 35) - seed; break;
    case TFM_UINT8: TENSOR_U8(t)[i] = (uint8_t)(i * 13 + seed); break;
    case TFM_BOOL: TENSOR_BOOL(t)[i] = (uint8_t)((i + seed) % 3 == 0); break;
    default: {
      char buf[64];
      int len = snprintf(buf, sizeof buf, "%d_x%d", (int)i, seed);
      buf[strcspn(buf, "_")] = 0; /* an embedded NUL byte */
      tensor_string_set(t, i, buf, (size_t)(i % 4 == 3 ? 0 : len), NULL);
    }
    }
  }
  return t;
}

static void assert_tensors_equal(const tensor_t *a, const tensor_t *b) {
  ck_assert_int_eq(a->dtype, b->dtype);
  ck_assert(shape_equal(&a->shape, &b->shape));
  if (a->dtype == TFM_STRING) {
    for (int64_t i = 0; i < a->num_elements; i++) {
      ck_assert_uint_eq(TENSOR_STR(a)[i].len, TENSOR_STR(b)[i].len);
      if (TENSOR_STR(a)[i].len)
        ck_assert(memcmp(TENSOR_STR(a)[i].data, TENSOR_STR(b)[i].data, TENSOR_STR(a)[i].len) == 0);
    }
  } else if (a->nbytes) {
    ck_assert(memcmp(a->data, b->data, a->nbytes) == 0);
  }
}

START_TEST(bundle_round_trips_every_dtype_and_shape) {
  char dir[1024], prefix[1200];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/all", dir);
  tfm_status *st = tfm_status_new();
  tfm_dtype dts[] = {TFM_FLOAT, TFM_DOUBLE, TFM_INT32, TFM_INT64, TFM_UINT8, TFM_BOOL, TFM_STRING};
  const char *names[] = {"f32", "f64", "i32", "i64", "u8", "bool", "str"};
  int64_t rank8[] = {1, 2, 1, 2, 1, 1, 2, 1}, empty[] = {0}, mat[] = {3, 5}, big[] = {300000};
  tensor_t *ts[7][5];
  bundle_writer_t *w = bundle_writer_new(prefix, st);
  /* Added in reverse name order: the index must still be sorted. */
  for (int d = 6; d >= 0; d--) {
    ts[d][0] = make_tensor(dts[d], NULL, 0, d);
    ts[d][1] = make_tensor(dts[d], empty, 1, d);
    ts[d][2] = make_tensor(dts[d], rank8, 8, d);
    ts[d][3] = make_tensor(dts[d], mat, 2, d);
    ts[d][4] = make_tensor(dts[d], big, 1, d); /* > the 1 MiB write chunk for 8-byte types */
    for (int k = 4; k >= 0; k--) {
      char key[64];
      snprintf(key, sizeof key, "%s/%d", names[d], k);
      ck_assert_int_eq(bundle_writer_add(w, key, ts[d][k], st), TFM_OK);
    }
  }
  ck_assert_int_eq(bundle_writer_finish(w, st), TFM_OK);
  bundle_writer_free(w);
  bundle_reader_t *r = bundle_reader_open(prefix, st);
  ck_assert_msg(r != NULL, "%s", tfm_status_message(st));
  ck_assert_uint_eq(bundle_reader_num_tensors(r), 35);
  for (size_t i = 1; i < 35; i++)
    ck_assert_int_lt(strcmp(bundle_reader_key(r, i - 1), bundle_reader_key(r, i)), 0);
  for (int d = 0; d < 7; d++)
    for (int k = 0; k < 5; k++) {
      char key[64];
      snprintf(key, sizeof key, "%s/%d", names[d], k);
      tensor_t *t = bundle_reader_read(r, key, st);
      ck_assert_msg(t != NULL, "%s: %s", key, tfm_status_message(st));
      assert_tensors_equal(t, ts[d][k]);
      tensor_unref(t);
      tensor_unref(ts[d][k]);
    }
  bundle_reader_close(r);
  tfm_status_delete(st);
}
END_TEST

START_TEST(bundle_string_layout_matches_tf_rule) {
  /* ["ab", ""] -> 02 00 | mask(crc(u32 2, u32 0)) | "ab"; entry crc continues over
   * the 4 checksum bytes and the strings (formats.md 1.3). Reference: crc32c only. */
  char dir[1024], prefix[1200], data[1300];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/s", dir);
  tfm_status *st = tfm_status_new();
  shape_t s2 = shape_vector(2);
  tensor_t *t = tensor_new(TFM_STRING, &s2, st);
  tensor_string_set(t, 0, "ab", 2, st);
  tensor_string_set(t, 1, "", 0, st);
  bundle_writer_t *w = bundle_writer_new(prefix, st);
  ck_assert_int_eq(bundle_writer_add(w, "s", t, st), TFM_OK);
  ck_assert_int_eq(bundle_writer_finish(w, st), TFM_OK);
  bundle_writer_free(w);
  uint8_t lens[8] = {2, 0, 0, 0, 0, 0, 0, 0};
  uint32_t c = crc32c(lens, 8), m = crc32c_mask(c);
  uint8_t want[8] = {0x02, 0x00, (uint8_t)m, (uint8_t)(m >> 8), (uint8_t)(m >> 16),
                     (uint8_t)(m >> 24), 'a', 'b'};
  snprintf(data, sizeof data, "%s.data-00000-of-00001", prefix);
  size_t n;
  uint8_t *got = slurp(data, &n);
  ck_assert_uint_eq(n, 8);
  ck_assert(memcmp(got, want, 8) == 0);
  free(got);
  bundle_reader_t *r = bundle_reader_open(prefix, st);
  bundle_entry_t e;
  ck_assert_int_eq(bundle_reader_lookup(r, "s", &e, st), TFM_OK);
  ck_assert_uint_eq(e.size, 8);
  ck_assert_uint_eq(e.crc32c, crc32c_extend(c, want + 2, 6));
  bundle_reader_close(r);
  tensor_unref(t);
  tfm_status_delete(st);
}
END_TEST

/* Copies the regression checkpoint into a fresh dir, applies `mutate` to one of its
 * files, and returns the code of opening + reading both tensors. */
static tfm_code read_mutated(const char *suffix, long at, int truncate_to, tfm_status *st) {
  char real[1024], dir[1024], prefix[1200], a[1300], b[1300];
  if (!tf_testdata("regression_savedmodel_tf1.2/variables/variables", real, sizeof real))
    return TFM_DATA_LOSS;
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/v", dir);
  const char *sfx[] = {".index", ".data-00000-of-00001"};
  for (int i = 0; i < 2; i++) {
    size_t n;
    snprintf(a, sizeof a, "%s%s", real, sfx[i]);
    snprintf(b, sizeof b, "%s%s", prefix, sfx[i]);
    uint8_t *bytes = slurp(a, &n);
    if (strcmp(sfx[i], suffix) == 0) {
      if (at >= 0) bytes[at] ^= 0x20;
      if (truncate_to >= 0) n = (size_t)truncate_to;
    }
    FILE *f = fopen(b, "wb");
    fwrite(bytes, 1, n, f);
    fclose(f);
    free(bytes);
  }
  bundle_reader_t *r = bundle_reader_open(prefix, st);
  if (!r) return tfm_status_code(st);
  tfm_code code = TFM_OK;
  const char *keys[] = {"b", "w"};
  for (int i = 0; i < 2 && code == TFM_OK; i++) {
    tensor_t *t = bundle_reader_read(r, keys[i], st);
    if (!t) code = tfm_status_code(st);
    tensor_unref(t);
  }
  bundle_reader_close(r);
  return code;
}

START_TEST(bundle_detects_corruption_and_truncation) {
  char probe[1024];
  if (!tf_testdata("regression_savedmodel_tf1.2", probe, sizeof probe)) return;
  tfm_status *st = tfm_status_new();
  int64_t before = tfm_debug_bytes_in_use();
  ck_assert_int_eq(read_mutated(".index", -1, -1, st), TFM_OK);
  for (long at = 0; at < 8; at++) {
    ck_assert_int_eq(read_mutated(".data-00000-of-00001", at, -1, st), TFM_DATA_LOSS);
    ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "data-00000-of-00001"));
  }
  ck_assert_int_eq(read_mutated(".data-00000-of-00001", -1, 6, st), TFM_DATA_LOSS);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "'w'"));
  long index_bytes[] = {5, 20, 40, 57, 70, 80, 100, 141};
  for (size_t i = 0; i < sizeof index_bytes / sizeof *index_bytes; i++) {
    ck_assert_int_eq(read_mutated(".index", index_bytes[i], -1, st), TFM_DATA_LOSS);
    ck_assert_ptr_nonnull(strstr(tfm_status_message(st), ".index"));
  }
  ck_assert_int_eq(read_mutated(".index", -1, 100, st), TFM_DATA_LOSS);
  ck_assert_int_eq(tfm_debug_bytes_in_use(), before);
  ck_assert_ptr_null(bundle_reader_open("/nonexistent/model.ckpt", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_NOT_FOUND);
  tfm_status_delete(st);
}
END_TEST

START_TEST(bundle_failed_save_leaves_old_checkpoint_untouched) {
  char dir[1024], prefix[1200], idx[1300];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/model.ckpt", dir);
  snprintf(idx, sizeof idx, "%s.index", prefix);
  tfm_status *st = tfm_status_new();
  tensor_t *one = tensor_scalar_f32(1.0f, st), *two = tensor_scalar_f32(2.0f, st);
  bundle_writer_t *w = bundle_writer_new(prefix, st);
  ck_assert_int_eq(bundle_writer_add(w, "v", one, st), TFM_OK);
  ck_assert_int_eq(bundle_writer_finish(w, st), TFM_OK);
  bundle_writer_free(w);
  size_t n0;
  uint8_t *before = slurp(idx, &n0);
  /* A duplicate key fails at finish. */
  w = bundle_writer_new(prefix, st);
  ck_assert_int_eq(bundle_writer_add(w, "v", two, st), TFM_OK);
  ck_assert_int_eq(bundle_writer_add(w, "v", two, st), TFM_OK);
  ck_assert_int_eq(bundle_writer_finish(w, st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "'v'"));
  bundle_writer_free(w);
  /* Allocation failures at every point of a save: an error, never a partial file. */
  int64_t bytes0 = tfm_debug_bytes_in_use();
  for (uint64_t k = 1; k < 200; k++) {
    tfm_debug_fail_alloc_after(k, 1);
    w = bundle_writer_new(prefix, st);
    tfm_code c = w ? bundle_writer_add(w, "v", two, st) : tfm_status_code(st);
    if (c == TFM_OK) c = bundle_writer_finish(w, st);
    bundle_writer_free(w);
    tfm_debug_fail_alloc_after(0, 0);
    ck_assert_int_eq(tfm_debug_bytes_in_use(), bytes0);
    ck_assert_int_eq(count_files(dir, "tmp"), 0);
    if (c == TFM_OK) break;
    ck_assert_int_eq(c, TFM_RESOURCE_EXHAUSTED);
    size_t n1;
    uint8_t *now = slurp(idx, &n1);
    ck_assert(n1 == n0 && memcmp(now, before, n0) == 0);
    free(now);
  }
  free(before);
  /* The last, successful save replaced the value. */
  bundle_reader_t *r = bundle_reader_open(prefix, st);
  tensor_t *t = bundle_reader_read(r, "v", st);
  ck_assert(TENSOR_F32(t)[0] == 2.0f);
  tensor_unref(t);
  bundle_reader_close(r);
  /* An unwritable directory: an error naming the file, nothing created. */
  ck_assert_ptr_null(bundle_writer_new("/nonexistent/dir/model.ckpt", st));
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "/nonexistent/dir/model.ckpt"));
  tensor_unref(one);
  tensor_unref(two);
  tfm_status_delete(st);
}
END_TEST


typedef struct hostile {
  const char *key;
  int dtype, shard;
  int64_t dims[3];
  int rank;
  int64_t offset, size;
  bool sliced;
  tfm_code want;
} hostile_t;

/* Writes prefix.index with the given header bytes and entries, and an 8-byte data
 * file holding the strings layout of ["ab"] (02 | checksum | 'a' 'b'... padded). */
static void write_hostile(const char *prefix, const uint8_t *hdr, size_t hlen, const hostile_t *h,
                          size_t n) {
  tfm_status *st = tfm_status_new();
  table_builder_t *tb = table_builder_new(0, st);
  ck_assert_int_eq(table_builder_add(tb, "", 0, hdr, hlen, st), TFM_OK);
  for (size_t i = 0; i < n; i++) {
    tensorflow_BundleEntryProto e = tensorflow_BundleEntryProto_init_zero;
    tensorflow_TensorShapeProto_Dim dims[3];
    tensorflow_TensorSliceProto slice = tensorflow_TensorSliceProto_init_zero;
    e.dtype = (tensorflow_DataType)h[i].dtype;
    e.has_shape = true;
    e.shape.dim_count = (pb_size_t)h[i].rank;
    e.shape.dim = dims;
    for (int d = 0; d < h[i].rank; d++) dims[d] = (tensorflow_TensorShapeProto_Dim){h[i].dims[d], NULL};
    e.shard_id = h[i].shard;
    e.offset = h[i].offset;
    e.size = h[i].size;
    if (h[i].sliced) {
      e.slices_count = 1;
      e.slices = &slice;
    }
    bytebuf_t val = BYTEBUF_INIT;
    ck_assert_int_eq(pbio_encode(tensorflow_BundleEntryProto_fields, &e, &val, "e", st), TFM_OK);
    ck_assert_int_eq(table_builder_add(tb, h[i].key, strlen(h[i].key), val.data, val.len, st), TFM_OK);
    bytebuf_free(&val);
  }
  const uint8_t *bytes;
  size_t len;
  ck_assert_int_eq(table_builder_finish(tb, &bytes, &len, st), TFM_OK);
  char path[1300];
  snprintf(path, sizeof path, "%s.index", prefix);
  FILE *f = fopen(path, "wb");
  fwrite(bytes, 1, len, f);
  fclose(f);
  table_builder_free(tb);
  snprintf(path, sizeof path, "%s.data-00000-of-00001", prefix);
  f = fopen(path, "wb");
  fwrite("\x05\x00\x00\x00\x00\x00\x00\x00", 1, 8, f);
  fclose(f);
  tfm_status_delete(st);
}

START_TEST(bundle_rejects_hostile_entries_before_allocating) {
  char dir[1024], prefix[1200];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/h", dir);
  const uint8_t good_hdr[] = {0x08, 0x01, 0x1a, 0x02, 0x08, 0x01};
  const int64_t huge = (int64_t)1 << 60;
  const hostile_t h[] = {
      {"bad_shard", TFM_FLOAT, 3, {1}, 1, 0, 4, false, TFM_DATA_LOSS},
      {"huge", TFM_FLOAT, 0, {huge}, 1, 0, huge * 4, false, TFM_DATA_LOSS},
      {"negative_dim", TFM_FLOAT, 0, {-5}, 1, 0, 4, false, TFM_DATA_LOSS},
      {"negative_offset", TFM_FLOAT, 0, {1}, 1, -4, 4, false, TFM_DATA_LOSS},
      {"odd_dtype", 99, 0, {1}, 1, 0, 4, false, TFM_UNIMPLEMENTED},
      {"overflowing_shape", TFM_FLOAT, 0, {huge, huge, huge}, 3, 0, 4, false, TFM_DATA_LOSS},
      {"past_end", TFM_FLOAT, 0, {1}, 1, 6, 4, false, TFM_DATA_LOSS},
      {"size_mismatch", TFM_FLOAT, 0, {2}, 1, 0, 4, false, TFM_DATA_LOSS},
      {"sliced", TFM_FLOAT, 0, {1}, 1, 0, 4, true, TFM_UNIMPLEMENTED},
      {"string_len_too_big", TFM_STRING, 0, {1}, 1, 0, 8, false, TFM_DATA_LOSS},
      {"strings_too_small", TFM_STRING, 0, {1000000}, 1, 0, 8, false, TFM_DATA_LOSS},
      {"z_fine", TFM_FLOAT, 0, {2}, 1, 0, 8, false, TFM_DATA_LOSS /* CRC 0 != data */},
  };
  size_t n = sizeof h / sizeof *h;
  write_hostile(prefix, good_hdr, sizeof good_hdr, h, n);
  tfm_status *st = tfm_status_new();
  int64_t before = tfm_debug_bytes_in_use();
  bundle_reader_t *r = bundle_reader_open(prefix, st);
  ck_assert_msg(r != NULL, "%s", tfm_status_message(st));
  for (size_t i = 0; i < n; i++) {
    tensor_t *t = bundle_reader_read(r, h[i].key, st);
    ck_assert_ptr_null(t);
    ck_assert_msg(tfm_status_code(st) == h[i].want, "%s: %s", h[i].key, tfm_status_message(st));
    ck_assert_ptr_nonnull(strstr(tfm_status_message(st), h[i].key));
  }
  bundle_reader_close(r);
  ck_assert_int_eq(tfm_debug_bytes_in_use(), before);
  /* Bad headers. */
  struct { uint8_t b[8]; size_t n; tfm_code want; } hdrs[] = {
      {{0x08, 0x00, 0x1a, 0x02, 0x08, 0x01}, 6, TFM_DATA_LOSS},            /* 0 shards */
      {{0x08, 0x01, 0x10, 0x01, 0x1a, 0x02, 0x08, 0x01}, 8, TFM_UNIMPLEMENTED}, /* big-endian */
      {{0x08, 0x01, 0x1a, 0x02, 0x10, 0x05}, 6, TFM_UNIMPLEMENTED},        /* min_consumer 5 */
      {{0x08, 0x01, 0x1a, 0x09}, 4, TFM_DATA_LOSS},                        /* not a message */
  };
  for (size_t i = 0; i < sizeof hdrs / sizeof *hdrs; i++) {
    write_hostile(prefix, hdrs[i].b, hdrs[i].n, h, 1);
    ck_assert_ptr_null(bundle_reader_open(prefix, st));
    ck_assert_msg(tfm_status_code(st) == hdrs[i].want, "header %zu: %s", i, tfm_status_message(st));
  }
  ck_assert_int_eq(tfm_debug_bytes_in_use(), before);
  tfm_status_delete(st);
}
END_TEST

int main(void) {
  Suite *s = suite_create("io_bundle");
  TCase *tc = tcase_create("bundle");
  tcase_add_test(tc, bundle_reads_real_checkpoints_like_their_dumps);
  tcase_add_test(tc, bundle_reads_the_values_the_readme_states);
  tcase_add_test(tc, bundle_writer_reproduces_real_checkpoints_byte_for_byte);
  tcase_add_test(tc, bundle_writes_formats_md_example_from_scratch);
  tcase_add_test(tc, bundle_round_trips_every_dtype_and_shape);
  tcase_add_test(tc, bundle_string_layout_matches_tf_rule);
  tcase_add_test(tc, bundle_detects_corruption_and_truncation);
  tcase_add_test(tc, bundle_failed_save_leaves_old_checkpoint_untouched);
  tcase_add_test(tc, bundle_rejects_hostile_entries_before_allocating);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
