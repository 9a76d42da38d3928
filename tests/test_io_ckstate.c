/* io_ckstate: the `checkpoint` text file (CheckpointState). The real TF 1.10 file is
 * parsed and reproduced byte for byte; the parser takes every text-format variant
 * Python may write and rejects malformed files with a line number. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/status.h"
#include "io/checkpoint_state.h"
#include "io_testutil.h"
#include "tfmini/debug.h"
#include "tfmini/tfmini.h"

START_TEST(ckstate_reads_and_reproduces_real_tf_file) {
  char dir[1024], path[1100];
  if (!tf_testdata("houseprices_tf1.10", dir, sizeof dir)) return;
  tfm_status *st = tfm_status_new();
  checkpoint_state_t cs;
  ck_assert_int_eq(checkpoint_state_read(dir, &cs, st), TFM_OK);
  ck_assert_str_eq(cs.model_checkpoint_path, "model.ckpt");
  ck_assert_uint_eq(cs.num_paths, 1);
  ck_assert_str_eq(cs.paths[0], "model.ckpt");
  ck_assert_uint_eq(cs.num_timestamps, 0);
  bytebuf_t out = BYTEBUF_INIT;
  ck_assert_int_eq(checkpoint_state_format(&cs, &out, st), TFM_OK);
  snprintf(path, sizeof path, "%s/checkpoint", dir);
  size_t n;
  uint8_t *file = slurp(path, &n);
  ck_assert_uint_eq(n, 77);
  ck_assert_uint_eq(out.len, n);
  ck_assert(memcmp(out.data, file, n) == 0);
  free(file);
  bytebuf_free(&out);
  checkpoint_state_free(&cs);
  tfm_status_delete(st);
}
END_TEST

static void parse_ok(const char *text, checkpoint_state_t *cs) {
  tfm_status *st = tfm_status_new();
  ck_assert_msg(checkpoint_state_parse(text, strlen(text), "t", cs, st) == TFM_OK, "%s",
                tfm_status_message(st));
  tfm_status_delete(st);
}

START_TEST(ckstate_parses_any_order_comments_and_escapes) {
  checkpoint_state_t cs;
  parse_ok("# written by hand\n"
           "all_model_checkpoint_paths: 'dir/model.ckpt-5'\n"
           "all_model_checkpoint_timestamps: 1525928300.1\n"
           "model_checkpoint_path :\"dir/model.ckpt-\" \"10\"  # concatenated\n"
           "last_preserved_timestamp: 1525928000\n"
           "all_model_checkpoint_timestamps: 1.525928334543e9, all_model_checkpoint_paths: "
           "\"a\\\"b\\\\c\\n\\t\\101\\x42\\'\";\n",
           &cs);
  ck_assert_str_eq(cs.model_checkpoint_path, "dir/model.ckpt-10");
  ck_assert_uint_eq(cs.num_paths, 2);
  ck_assert_str_eq(cs.paths[0], "dir/model.ckpt-5");
  ck_assert_str_eq(cs.paths[1], "a\"b\\c\n\tAB'");
  ck_assert_uint_eq(cs.num_timestamps, 2);
  ck_assert(cs.timestamps[0] == 1525928300.1);
  ck_assert(cs.timestamps[1] == 1525928334.543);
  ck_assert(cs.last_preserved_timestamp == 1525928000.0);
  checkpoint_state_free(&cs);
  parse_ok("", &cs); /* an empty state is valid */
  ck_assert_ptr_null(cs.model_checkpoint_path);
  checkpoint_state_free(&cs);
}
END_TEST

START_TEST(ckstate_rejects_malformed_text_with_line_numbers) {
  tfm_status *st = tfm_status_new();
  struct { const char *text, *msg; } bad[] = {
      {"model_checkpoint_path: \"a\"\nbogus_field: 1\n", "t:2: unknown field 'bogus_field'"},
      {"model_checkpoint_path \"a\"\n", "t:1: expected ':'"},
      {"model_checkpoint_path: \"a\n", "t:1: newline inside a string"},
      {"model_checkpoint_path: \"abc", "t:1: unterminated string"},
      {"model_checkpoint_path: \"a\"\nmodel_checkpoint_path: \"b\"\n", "given twice"},
      {"all_model_checkpoint_timestamps: soon\n", "expected a number"},
      {"all_model_checkpoint_paths: 12\n", "expected a string"},
      {"model_checkpoint_path: \"\\q\"", "unknown escape"},
      {": \"x\"", "expected a field name"},
  };
  checkpoint_state_t cs;
  int64_t before = tfm_debug_bytes_in_use();
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ck_assert_int_eq(checkpoint_state_parse(bad[i].text, strlen(bad[i].text), "t", &cs, st),
                     TFM_INVALID_ARGUMENT);
    ck_assert_msg(strstr(tfm_status_message(st), bad[i].msg) != NULL, "case %zu: %s", i,
                  tfm_status_message(st));
    ck_assert_ptr_null(cs.paths);
  }
  ck_assert_int_eq(tfm_debug_bytes_in_use(), before);
  tfm_status_delete(st);
}
END_TEST

START_TEST(ckstate_writes_atomically_and_round_trips) {
  char dir[1024];
  test_tmpdir(dir, sizeof dir);
  tfm_status *st = tfm_status_new();
  checkpoint_state_t cs = CHECKPOINT_STATE_INIT, back;
  ck_assert_int_eq(checkpoint_state_read(dir, &back, st), TFM_NOT_FOUND);
  const double t0 = 1525928334.543;
  for (int i = 1; i <= 3; i++) {
    char p[64];
    snprintf(p, sizeof p, "model.ckpt-%d", i * 100);
    ck_assert_int_eq(checkpoint_state_push(&cs, p, t0 + i, st), TFM_OK);
  }
  ck_assert_int_eq(checkpoint_state_push(&cs, "model.ckpt-100", t0 + 9, st), TFM_OK); /* moves to the end */
  ck_assert_uint_eq(cs.num_paths, 3);
  ck_assert_str_eq(cs.paths[0], "model.ckpt-200");
  ck_assert_str_eq(cs.paths[2], "model.ckpt-100");
  ck_assert(cs.timestamps[2] == t0 + 9);
  cs.last_preserved_timestamp = 1.0;
  ck_assert_int_eq(checkpoint_state_write(dir, &cs, st), TFM_OK);
  ck_assert_int_eq(checkpoint_state_read(dir, &back, st), TFM_OK);
  ck_assert_str_eq(back.model_checkpoint_path, "model.ckpt-100");
  ck_assert_uint_eq(back.num_paths, 3);
  for (size_t i = 0; i < 3; i++) {
    ck_assert_str_eq(back.paths[i], cs.paths[i]);
    ck_assert(back.timestamps[i] == cs.timestamps[i]); /* shortest repr round-trips exactly */
  }
  ck_assert(back.last_preserved_timestamp == 1.0);
  bytebuf_t text = BYTEBUF_INIT;
  checkpoint_state_format(&back, &text, st);
  bytebuf_append(&text, "", 1);
  ck_assert_ptr_nonnull(strstr((char *)text.data, "all_model_checkpoint_timestamps: 1525928336.543\n" /* Python: repr(1525928334.543 + 2) */));
  ck_assert_ptr_nonnull(strstr((char *)text.data, "last_preserved_timestamp: 1.0\n"));
  bytebuf_free(&text);
  checkpoint_state_free(&back);
  checkpoint_state_free(&cs);
  ck_assert_int_ne(checkpoint_state_write("/nonexistent/dir", &cs, st), TFM_OK);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "/nonexistent/dir/checkpoint"));
  tfm_status_delete(st);
}
END_TEST

int main(void) {
  Suite *s = suite_create("io_ckstate");
  TCase *tc = tcase_create("checkpoint_state");
  tcase_add_test(tc, ckstate_reads_and_reproduces_real_tf_file);
  tcase_add_test(tc, ckstate_parses_any_order_comments_and_escapes);
  tcase_add_test(tc, ckstate_rejects_malformed_text_with_line_numbers);
  tcase_add_test(tc, ckstate_writes_atomically_and_round_trips);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
