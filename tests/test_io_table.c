/* io_table: the SSTable (.index) format. Real TensorFlow index files are read and
 * compared with their independently decoded listings (*.dump.txt), rewritten
 * byte for byte, and corrupted one byte at a time. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/status.h"
#include "io/table.h"
#include "io_testutil.h"
#include "tfmini/debug.h"
#include "tfmini/tfmini.h"

typedef struct dump_entry {
  char key[128];
  uint8_t raw[256];
  size_t rawlen;
} dump_entry_t;

/* Parses the HEADER and ENTRY lines of a *.dump.txt listing: the header is
 * entry 0 with key "". Returns the count. */
static size_t read_dump(const char *path, dump_entry_t *out, size_t cap) {
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  char line[4096];
  size_t n = 0;
  while (fgets(line, sizeof line, f) && n < cap) {
    char *raw = strstr(line, "raw=");
    if (!raw) continue;
    if (strncmp(line, "  HEADER", 8) == 0) {
      out[n].key[0] = 0;
    } else if (strncmp(line, "  ENTRY '", 9) == 0) {
      char *q = strchr(line + 9, '\'');
      ck_assert_ptr_nonnull(q);
      memcpy(out[n].key, line + 9, (size_t)(q - line - 9));
      out[n].key[q - line - 9] = 0;
    } else {
      continue;
    }
    char *endp = raw + 4;
    while (*endp && *endp != ' ' && *endp != '\n') endp++;
    *endp = 0;
    out[n].rawlen = hex_decode(raw + 4, out[n].raw);
    n++;
  }
  fclose(f);
  return n;
}

/* Opens a real index file and checks every entry against its dump. */
static table_t *check_against_dump(const char *rel, size_t want_entries) {
  char path[1024], dump[1100];
  if (!tf_testdata(rel, path, sizeof path)) return NULL;
  snprintf(dump, sizeof dump, "%s.dump.txt", path);
  static dump_entry_t want[64];
  size_t nw = read_dump(dump, want, 64);
  ck_assert_uint_eq(nw, want_entries);
  tfm_status *st = tfm_status_new();
  table_t *t = table_open(path, st);
  ck_assert_msg(t != NULL, "%s", tfm_status_message(st));
  ck_assert_uint_eq(table_num_entries(t), nw);
  for (size_t i = 0; i < nw; i++) {
    const uint8_t *k, *v;
    size_t kl, vl;
    table_entry(t, i, &k, &kl, &v, &vl);
    ck_assert_uint_eq(kl, strlen(want[i].key));
    ck_assert(memcmp(k, want[i].key, kl) == 0);
    ck_assert_uint_eq(vl, want[i].rawlen);
    ck_assert(memcmp(v, want[i].raw, vl) == 0);
    ck_assert_int_eq(table_find(t, want[i].key, kl), (long)i);
  }
  ck_assert_int_eq(table_find(t, "zzz", 3), -1);
  tfm_status_delete(st);
  return t;
}

/* Rebuilds a table from the entries of t; returns 1 if identical to the file. */
static void check_rewrite_identical(table_t *t, const char *rel) {
  char path[1024];
  if (!tf_testdata(rel, path, sizeof path)) return;
  size_t flen;
  uint8_t *file = slurp(path, &flen);
  tfm_status *st = tfm_status_new();
  table_builder_t *tb = table_builder_new(0, st);
  for (size_t i = 0; i < table_num_entries(t); i++) {
    const uint8_t *k, *v;
    size_t kl, vl;
    table_entry(t, i, &k, &kl, &v, &vl);
    ck_assert_int_eq(table_builder_add(tb, k, kl, v, vl, st), TFM_OK);
  }
  const uint8_t *out;
  size_t len;
  ck_assert_int_eq(table_builder_finish(tb, &out, &len, st), TFM_OK);
  ck_assert_uint_eq(len, flen);
  for (size_t i = 0; i < len; i++) ck_assert_msg(out[i] == file[i], "%s differs at byte %zu", rel, i);
  table_builder_free(tb);
  free(file);
  tfm_status_delete(st);
}

START_TEST(table_reads_tf12_index_and_rewrites_it_byte_for_byte) {
  table_t *t = check_against_dump("regression_savedmodel_tf1.2/variables/variables.index", 3);
  if (!t) return;
  check_rewrite_identical(t, "regression_savedmodel_tf1.2/variables/variables.index");
  table_close(t);
}
END_TEST

START_TEST(table_builds_formats_md_worked_example_from_scratch) {
  /* The 142-byte file of formats.md 1.1, built from its three entries. */
  uint8_t hdr[16], b[32], w[32], want[160];
  size_t nh = hex_decode("08 01 1a 02 08 01", hdr);
  size_t nb = hex_decode("08 01 12 04 12 02 08 01 28 04 35 a6 7b 11 3a", b);
  size_t nw = hex_decode("08 01 12 04 12 02 08 01 20 04 28 04 35 75 05 53 1b", w);
  size_t n = hex_decode(
      "00 00 06 08 01 1a 02 08 01 00 01 0f 62 08 01 12 04 12 02 08 01 28 04 35 a6 7b 11 3a"
      "00 01 11 77 08 01 12 04 12 02 08 01 20 04 28 04 35 75 05 53 1b"
      "00 00 00 00 01 00 00 00 00 c0 07 b3 3c"
      "00 00 00 00 01 00 00 00 00 c0 f2 a1 b0"
      "00 01 02 78 00 39 00 00 00 00 01 00 00 00 00 53 ee 0f 5d"
      "3e 08 4b 0e 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
      "00 00 00 00 00 00 00 00 00 00 00 00 57 fb 80 8b 24 75 47 db",
      want);
  ck_assert_uint_eq(n, 142);
  tfm_status *st = tfm_status_new();
  table_builder_t *tb = table_builder_new(0, st);
  ck_assert_int_eq(table_builder_add(tb, "", 0, hdr, nh, st), TFM_OK);
  ck_assert_int_eq(table_builder_add(tb, "b", 1, b, nb, st), TFM_OK);
  ck_assert_int_eq(table_builder_add(tb, "w", 1, w, nw, st), TFM_OK);
  /* Keys must increase. */
  ck_assert_int_eq(table_builder_add(tb, "c", 1, b, nb, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(table_builder_add(tb, "w", 1, b, nb, st), TFM_INVALID_ARGUMENT);
  const uint8_t *out;
  size_t len;
  ck_assert_int_eq(table_builder_finish(tb, &out, &len, st), TFM_OK);
  ck_assert_uint_eq(len, 142);
  ck_assert(memcmp(out, want, 142) == 0);
  table_builder_free(tb);
  tfm_status_delete(st);
}
END_TEST

START_TEST(table_reads_houseprices_index_with_restarts_and_rewrites_it) {
  table_t *t = check_against_dump("houseprices_tf1.10/model.ckpt.index", 35);
  if (!t) return;
  size_t blocks, snappy;
  table_block_stats(t, &blocks, &snappy);
  ck_assert_uint_eq(blocks, 1);
  ck_assert_uint_eq(snappy, 0);
  check_rewrite_identical(t, "houseprices_tf1.10/model.ckpt.index");
  table_close(t);
}
END_TEST

START_TEST(table_reads_half_plus_three_tf10_index) {
  table_t *t = check_against_dump("half_plus_three_tf1.0/variables/variables.index", 4);
  if (!t) return;
  check_rewrite_identical(t, "half_plus_three_tf1.0/variables/variables.index");
  table_close(t);
}
END_TEST

START_TEST(table_reads_snappy_compressed_block_of_tf114) {
  table_t *t = check_against_dump("half_plus_two_cpu_tf1.14/variables/variables.index", 6);
  if (!t) return;
  size_t blocks, snappy;
  table_block_stats(t, &blocks, &snappy);
  ck_assert_uint_eq(blocks, 1);
  ck_assert_uint_eq(snappy, 1);
  table_close(t);
}
END_TEST

static void put_key(bytebuf_t *b, const char *s) {
  b->len = 0;
  bytebuf_append(b, s, strlen(s));
}

START_TEST(table_separators_follow_leveldb_rules) {
  bytebuf_t b = BYTEBUF_INIT;
  struct { const char *last, *next, *want; } seps[] = {
      {"abcd", "abzz", "abd"}, {"ab1", "ab2", "ab1"}, /* +1 is not < next: unchanged */
      {"ab", "abc", "ab"},     /* prefix: unchanged */
      {"Variable_9/Adam_1", "beta1_power", "W"},
  };
  for (size_t i = 0; i < sizeof seps / sizeof *seps; i++) {
    put_key(&b, seps[i].last);
    table_shortest_separator(&b, (const uint8_t *)seps[i].next, strlen(seps[i].next));
    ck_assert_uint_eq(b.len, strlen(seps[i].want));
    ck_assert(memcmp(b.data, seps[i].want, b.len) == 0);
  }
  struct { const char *in, *want; } succ[] = {
      {"w", "x"}, {"c2", "d"}, {"w/.ATTRIBUTES/VARIABLE_VALUE", "x"}, {"beta2_power", "c"},
      {"\xff\xff", "\xff\xff"}, {"\xff" "a", "\xff" "b"}, {"", ""}};
  for (size_t i = 0; i < sizeof succ / sizeof *succ; i++) {
    put_key(&b, succ[i].in);
    table_short_successor(&b);
    ck_assert_uint_eq(b.len, strlen(succ[i].want));
    ck_assert(memcmp(b.data, succ[i].want, b.len) == 0);
  }
  bytebuf_free(&b);
}
END_TEST

START_TEST(table_round_trips_many_blocks) {
  tfm_status *st = tfm_status_new();
  /* A 1 KiB block size forces many data blocks and index separators. */
  table_builder_t *tb = table_builder_new(1024, st);
  char key[64], val[300];
  const int n = 3000;
  for (int i = 0; i < n; i++) {
    int kl = snprintf(key, sizeof key, "layer_%05d/weights", i);
    int vl = i % 200;
    for (int j = 0; j < vl; j++) val[j] = (char)(i * 31 + j);
    ck_assert_int_eq(table_builder_add(tb, key, (size_t)kl, val, (size_t)vl, st), TFM_OK);
  }
  const uint8_t *out;
  size_t len;
  ck_assert_int_eq(table_builder_finish(tb, &out, &len, st), TFM_OK);
  table_t *t = table_open_bytes(out, len, "many", st);
  ck_assert_msg(t != NULL, "%s", tfm_status_message(st));
  size_t blocks, snappy;
  table_block_stats(t, &blocks, &snappy);
  ck_assert_uint_gt(blocks, 100);
  ck_assert_uint_eq(table_num_entries(t), (size_t)n);
  for (int i = 0; i < n; i += 7) {
    int kl = snprintf(key, sizeof key, "layer_%05d/weights", i);
    long at = table_find(t, key, (size_t)kl);
    ck_assert_int_eq(at, i);
    const uint8_t *k, *v;
    size_t klen, vlen;
    table_entry(t, (size_t)at, &k, &klen, &v, &vlen);
    ck_assert_uint_eq(vlen, (size_t)(i % 200));
    for (size_t j = 0; j < vlen; j++) ck_assert_int_eq((char)v[j], (char)(i * 31 + (int)j));
  }
  table_close(t);
  table_builder_free(tb);
  /* An empty table is valid too. */
  tb = table_builder_new(0, st);
  ck_assert_int_eq(table_builder_finish(tb, &out, &len, st), TFM_OK);
  t = table_open_bytes(out, len, "empty", st);
  ck_assert_ptr_nonnull(t);
  ck_assert_uint_eq(table_num_entries(t), 0);
  table_close(t);
  table_builder_free(tb);
  tfm_status_delete(st);
}
END_TEST

/* Every single-byte change and every truncation of a real file is detected. */
static void check_corruptions(const char *rel) {
  char path[1024];
  if (!tf_testdata(rel, path, sizeof path)) return;
  size_t n;
  uint8_t *file = slurp(path, &n);
  tfm_status *st = tfm_status_new();
  int64_t before = tfm_debug_bytes_in_use();
  for (size_t i = 0; i < n; i++) {
    for (int bit = 0; bit < 8; bit += 3) {
      file[i] ^= (uint8_t)(1 << bit);
      table_t *t = table_open_bytes(file, n, rel, st);
      ck_assert_msg(t == NULL, "flip of bit %d at byte %zu of %s not detected", bit, i, rel);
      ck_assert_int_eq(tfm_status_code(st), TFM_DATA_LOSS);
      ck_assert_ptr_nonnull(strstr(tfm_status_message(st), rel));
      file[i] ^= (uint8_t)(1 << bit);
    }
  }
  for (size_t cut = 0; cut < n; cut++) {
    ck_assert_ptr_null(table_open_bytes(file, cut, rel, st));
    ck_assert_int_eq(tfm_status_code(st), TFM_DATA_LOSS);
  }
  ck_assert_int_eq(tfm_debug_bytes_in_use(), before);
  free(file);
  tfm_status_delete(st);
}

START_TEST(table_detects_every_flipped_byte_and_truncation) {
  check_corruptions("regression_savedmodel_tf1.2/variables/variables.index");
  check_corruptions("half_plus_two_cpu_tf1.14/variables/variables.index");
  check_corruptions("houseprices_tf1.10/model.ckpt.index");
}
END_TEST

START_TEST(table_reports_allocation_failures_without_leaks) {
  char path[1024];
  if (!tf_testdata("houseprices_tf1.10/model.ckpt.index", path, sizeof path)) return;
  tfm_status *st = tfm_status_new();
  int64_t before = tfm_debug_bytes_in_use();
  for (uint64_t k = 1;; k++) {
    tfm_debug_fail_alloc_after(k, 1);
    table_t *t = table_open(path, st);
    tfm_debug_fail_alloc_after(0, 0);
    if (t) {
      table_close(t);
      break;
    }
    ck_assert_int_eq(tfm_status_code(st), TFM_RESOURCE_EXHAUSTED);
    ck_assert_int_eq(tfm_debug_bytes_in_use(), before);
  }
  ck_assert_int_eq(tfm_debug_bytes_in_use(), before);
  tfm_status_delete(st);
}
END_TEST

START_TEST(table_open_missing_file_is_not_found) {
  tfm_status *st = tfm_status_new();
  ck_assert_ptr_null(table_open("/nonexistent/x.index", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "/nonexistent/x.index"));
  tfm_status_delete(st);
}
END_TEST

int main(void) {
  Suite *s = suite_create("io_table");
  TCase *tc = tcase_create("table");
  tcase_add_test(tc, table_reads_tf12_index_and_rewrites_it_byte_for_byte);
  tcase_add_test(tc, table_builds_formats_md_worked_example_from_scratch);
  tcase_add_test(tc, table_reads_houseprices_index_with_restarts_and_rewrites_it);
  tcase_add_test(tc, table_reads_half_plus_three_tf10_index);
  tcase_add_test(tc, table_reads_snappy_compressed_block_of_tf114);
  tcase_add_test(tc, table_separators_follow_leveldb_rules);
  tcase_add_test(tc, table_round_trips_many_blocks);
  tcase_add_test(tc, table_detects_every_flipped_byte_and_truncation);
  tcase_add_test(tc, table_reports_allocation_failures_without_leaks);
  tcase_add_test(tc, table_open_missing_file_is_not_found);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
