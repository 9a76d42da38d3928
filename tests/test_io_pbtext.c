/* io_pbtext: protobuf text format <-> binary (lib/io/pbtext.c, pbtext_print.c).
 * References: the files real TensorFlow wrote (../shared/testdata/tf), Google's own
 * protobuf runtime (tests/pbtext_ref.py with /usr/bin/python3 and python3-protobuf),
 * and byte sequences derived by hand from the wire format rules. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/status.h"
#include "io/bytebuf.h"
#include "io/pbtext.h"
#include "io/tfrecord.h"
#include "io_testutil.h"
#include "tfmini/tfmini.h"

/* ---- helpers ---- */

static char *to_text(const char *type, const void *data, size_t len) {
  tfm_status *st = tfm_status_new();
  bytebuf_t out = BYTEBUF_INIT;
  tfm_code code = pbtext_from_binary(type, data, len, &out, "test", st);
  ck_assert_msg(code == TFM_OK, "from_binary: %s", tfm_status_message(st));
  char *s = malloc(out.len + 1);
  if (out.len) memcpy(s, out.data, out.len);
  s[out.len] = '\0';
  bytebuf_free(&out);
  tfm_status_delete(st);
  return s;
}

static bytebuf_t to_bin(const char *type, const char *text) {
  tfm_status *st = tfm_status_new();
  bytebuf_t out = BYTEBUF_INIT;
  tfm_code code = pbtext_to_binary(type, text, strlen(text), &out, "test", st);
  ck_assert_msg(code == TFM_OK, "to_binary: %s", tfm_status_message(st));
  tfm_status_delete(st);
  return out;
}

static void expect_bytes(const bytebuf_t *b, const char *hex) {
  uint8_t want[1024];
  size_t n = hex_decode(hex, want);
  char got[3 * 1024 + 1] = "";
  for (size_t i = 0; i < b->len && i < 1024; i++) snprintf(got + 3 * i, 4, "%02x ", b->data[i]);
  ck_assert_msg(b->len == n && memcmp(b->data, want, n) == 0, "bytes %s, want %s", got, hex);
}

/* The error of parsing `text`: its code, and the message must contain `needle`. */
static void expect_parse_error(const char *type, const char *text, tfm_code want, const char *needle) {
  tfm_status *st = tfm_status_new();
  bytebuf_t out = BYTEBUF_INIT;
  tfm_code code = pbtext_to_binary(type, text, strlen(text), &out, "snippet.pbtxt", st);
  ck_assert_msg(code == want, "'%s': code %d (%s), want %d", text, code, tfm_status_message(st), want);
  ck_assert_msg(strstr(tfm_status_message(st), needle), "'%s': message '%s' lacks '%s'", text,
                tfm_status_message(st), needle);
  ck_assert_msg(strstr(tfm_status_message(st), "snippet.pbtxt"), "message names the file");
  ck_assert_uint_eq(out.len, 0);
  bytebuf_free(&out);
  tfm_status_delete(st);
}

/* ---- the Python reference ---- */

static bool python_ref_available(char *desc, size_t cap) {
  const char *b = getenv("TFM_BUILD_DIR");
  snprintf(desc, cap, "%s/lib/io/proto/tfproto.desc", b ? b : ".");
  if (access(desc, R_OK) != 0 || access("/usr/bin/python3", X_OK) != 0 ||
      system("/usr/bin/python3 -c 'import google.protobuf' 2>/dev/null") != 0) {
    printf("SKIP: /usr/bin/python3 with python3-protobuf or %s missing: no Python reference\n", desc);
    return false;
  }
  return true;
}

/* Runs pbtext_ref.py; returns its exit status; stdout into *out when out is given. */
static int python_ref(const char *desc, const char *type, const char *mode, const char *a,
                      const char *b, char **out) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' '%s' %s '%s' '%s'", PBTEXT_REF_SCRIPT, desc,
           type, mode, a, b ? b : "");
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  bytebuf_t text = BYTEBUF_INIT;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) bytebuf_append(&text, chunk, n);
  int rc = pclose(p);
  if (out) {
    *out = malloc(text.len + 1);
    if (text.len) memcpy(*out, text.data, text.len);
    (*out)[text.len] = '\0';
  }
  bytebuf_free(&text);
  return rc;
}

static void write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, n, f), n);
  fclose(f);
}

/* ---- real TensorFlow files ---- */

static const struct {
  const char *rel, *type;
} tf_files[] = {
    {"multiplication_2016/multiplication.pb", "tensorflow.GraphDef"},
    {"houseprices_tf1.10/model.ckpt.meta", "tensorflow.MetaGraphDef"},
    {"half_plus_three_tf1.0/saved_model.pb", "tensorflow.SavedModel"},
    {"half_plus_two_cpu_tf1.14/saved_model.pb", "tensorflow.SavedModel"},
    {"regression_savedmodel_tf1.2/saved_model.pb", "tensorflow.SavedModel"},
};
#define N_TF_FILES (sizeof tf_files / sizeof *tf_files)

/* Appends s at dst (NUL-terminated); returns its length. */
static size_t put_text(char *dst, const char *s) {
  size_t n = strlen(s);
  memcpy(dst, s, n + 1);
  return n;
}

START_TEST(pbtext_tf_files_round_trip_text_and_binary) {
  char path[1024], desc[1024], tmp[1024], a[1100], b[1100];
  if (!tf_testdata(tf_files[_i].rel, path, sizeof path)) return;
  bool py = python_ref_available(desc, sizeof desc);
  size_t n;
  uint8_t *bin = slurp(path, &n);
  ck_assert_ptr_nonnull(bin);
  char *text = to_text(tf_files[_i].type, bin, n);
  ck_assert_uint_gt(strlen(text), n / 4);
  bytebuf_t bin2 = to_bin(tf_files[_i].type, text);
  char *text2 = to_text(tf_files[_i].type, bin2.data, bin2.len);
  ck_assert_str_eq(text, text2);
  if (bin2.len == n && memcmp(bin2.data, bin, n) == 0) {
    printf("io_pbtext: %s: text -> binary gives TensorFlow's bytes back\n", tf_files[_i].rel);
  } else {
    /* TensorFlow writes map entries in hash order; ours follow the text (sorted keys).
     * Same length, and Google's runtime must see the same message. */
    ck_assert_uint_eq(bin2.len, n);
    if (py) {
      test_tmpdir(tmp, sizeof tmp);
      snprintf(a, sizeof a, "%s/ours.pb", tmp);
      write_file(a, bin2.data, bin2.len);
      ck_assert_msg(python_ref(desc, tf_files[_i].type, "equal", path, a, NULL) == 0,
                    "%s: text -> binary decodes to a different message", tf_files[_i].rel);
      printf("io_pbtext: %s: same message as TensorFlow's (map order differs)\n", tf_files[_i].rel);
    }
  }
  (void)b;
  free(text);
  free(text2);
  free(bin);
  bytebuf_free(&bin2);
}
END_TEST

START_TEST(pbtext_tf_files_print_as_python_text_format) {
  char path[1024], desc[1024];
  if (!tf_testdata(tf_files[_i].rel, path, sizeof path)) return;
  if (!python_ref_available(desc, sizeof desc)) return;
  size_t n;
  uint8_t *bin = slurp(path, &n);
  char *ours = to_text(tf_files[_i].type, bin, n);
  char *ref = NULL;
  ck_assert_int_eq(python_ref(desc, tf_files[_i].type, "text", path, NULL, &ref), 0);
  if (strcmp(ours, ref) != 0) {
    size_t i = 0;
    while (ours[i] && ours[i] == ref[i]) i++;
    size_t from = i > 80 ? i - 80 : 0;
    ck_abort_msg("%s differs from text_format at byte %zu:\nours: ...%.160s\nref:  ...%.160s",
                 tf_files[_i].rel, i, ours + from, ref + from);
  }
  free(ref);
  free(ours);
  free(bin);
}
END_TEST

/* ---- hand-written text, hand-derived bytes ---- */

static const char tensor_text[] =
    "# every kind of scalar, with both separators and bracket styles\n"
    "dtype: DT_INT32,\n"
    "tensor_shape < dim { size: 3 }; dim: { size: -1 name: 'n' } >\n"
    "int_val: 1 int_val: [-1, 0x10]\n"
    "string_val: \"a\\001\\x02\\303\\251\" 'b'\n";
/* dtype 08 03; tensor_shape 12 14 {dim 12 02 {08 03} dim 12 0e {08 -1 as 10 bytes, 12 01 'n'}};
 * int_val packed 3a 0c {01, -1 (10 bytes), 10}; string_val 42 06 'a' 01 02 c3 a9 'b'. */
static const char tensor_hex[] =
    "08 03 12 14 12 02 08 03 12 0e 08 ff ff ff ff ff ff ff ff ff 01 12 01 6e"
    " 3a 0c 01 ff ff ff ff ff ff ff ff ff 01 10 42 06 61 01 02 c3 a9 62";
static const char tensor_printed[] =
    "dtype: DT_INT32\n"
    "tensor_shape {\n  dim {\n    size: 3\n  }\n  dim {\n    size: -1\n    name: \"n\"\n  }\n}\n"
    "int_val: 1\nint_val: -1\nint_val: 16\n"
    "string_val: \"a\\001\\002\\303\\251b\"\n";

START_TEST(pbtext_scalars_strings_nesting_and_packing) {
  bytebuf_t b = to_bin("tensorflow.TensorProto", tensor_text);
  expect_bytes(&b, tensor_hex);
  char *text = to_text("tensorflow.TensorProto", b.data, b.len);
  ck_assert_str_eq(text, tensor_printed);
  free(text);
  bytebuf_free(&b);
  /* \u and \U escapes are UTF-8 (as protobuf's C++ tokenizer has them). */
  b = to_bin("tensorflow.TensorProto", "string_val: '\\u00e9\\U0001F600'");
  expect_bytes(&b, "42 06 c3 a9 f0 9f 98 80");
  bytebuf_free(&b);
}
END_TEST

START_TEST(pbtext_snippet_matches_python_parser) {
  char desc[1024], tmp[1024], a[1100], o[1100];
  if (!python_ref_available(desc, sizeof desc)) return;
  test_tmpdir(tmp, sizeof tmp);
  snprintf(a, sizeof a, "%s/t.pbtxt", tmp);
  snprintf(o, sizeof o, "%s/t.pb", tmp);
  write_file(a, tensor_text, strlen(tensor_text));
  ck_assert_int_eq(python_ref(desc, "tensorflow.TensorProto", "parse", a, o, NULL), 0);
  size_t n;
  uint8_t *ref = slurp(o, &n);
  bytebuf_t b = to_bin("tensorflow.TensorProto", tensor_text);
  ck_assert_uint_eq(b.len, n);
  ck_assert(memcmp(b.data, ref, n) == 0);
  free(ref);
  bytebuf_free(&b);
}
END_TEST

START_TEST(pbtext_unsigned_sint_fixed_and_int_limits) {
  /* VariableDef/SaveSliceInfoDef's packed int64s; version_number int32 at its limits. */
  bytebuf_t b = to_bin("tensorflow.TensorProto",
                       "version_number: -2147483648 int64_val: -9223372036854775808 "
                       "uint64_val: 18446744073709551615 uint32_val: 037 half_val: 2147483647");
  /* 18 = version_number varint -2^31 (10 bytes); 52 int64_val packed; 6a half_val; 82 01
   * uint32_val; 8a 01 uint64_val. */
  expect_bytes(&b, "18 80 80 80 80 f8 ff ff ff ff 01"
                   " 52 0a 80 80 80 80 80 80 80 80 80 01"
                   " 6a 05 ff ff ff ff 07"
                   " 82 01 01 1f"
                   " 8a 01 0a ff ff ff ff ff ff ff ff ff 01");
  char *text = to_text("tensorflow.TensorProto", b.data, b.len);
  ck_assert_str_eq(text, "version_number: -2147483648\nint64_val: -9223372036854775808\n"
                         "half_val: 2147483647\nuint32_val: 31\nuint64_val: 18446744073709551615\n");
  free(text);
  bytebuf_free(&b);
}
END_TEST

START_TEST(pbtext_floats_print_as_text_format_does) {
  /* float32 values: shortest %g from 6 digits that reads back, as Python's repr. */
  bytebuf_t b = to_bin("tensorflow.AttrValue",
                       "list { f: [1, 0.1, 1e-5, 1e20f, 3.4028234663852886e+38, -inf, nan, -0.0,"
                       " 123456789, 0.3333333432674408] }");
  char *text = to_text("tensorflow.AttrValue", b.data, b.len);
  ck_assert_str_eq(text, "list {\n  f: 1.0\n  f: 0.1\n  f: 1e-05\n  f: 1e+20\n  f: 3.4028235e+38\n"
                         "  f: -inf\n  f: nan\n  f: -0.0\n  f: 123456790.0\n  f: 0.33333334\n}\n");
  free(text);
  bytebuf_free(&b);
  /* doubles: Python's repr (fixed for exponents -4..15). */
  b = to_bin("tensorflow.TensorProto",
             "double_val: [0.1, 1e16, 1e15, 1e-4, 1e-5, 2.5e-300, 0.3333333333333333, infinity]");
  text = to_text("tensorflow.TensorProto", b.data, b.len);
  ck_assert_str_eq(text, "double_val: 0.1\ndouble_val: 1e+16\ndouble_val: 1000000000000000.0\n"
                         "double_val: 0.0001\ndouble_val: 1e-05\ndouble_val: 2.5e-300\n"
                         "double_val: 0.3333333333333333\ndouble_val: inf\n");
  free(text);
  bytebuf_free(&b);
  /* A singular float 1.0: 25 00 00 80 3f. */
  b = to_bin("tensorflow.AttrValue", "f: 1.0");
  expect_bytes(&b, "25 00 00 80 3f");
  bytebuf_free(&b);
}
END_TEST

START_TEST(pbtext_maps_sorted_last_key_wins_entries_complete) {
  /* Entries written with key and value even when empty, as protobuf serializes maps. */
  bytebuf_t b = to_bin("tensorflow.NodeDef",
                       "name: 'n' attr { key: 'e' value { } } attr { value { i: 1 } }");
  expect_bytes(&b, "0a 01 6e 2a 05 0a 01 65 12 00 2a 06 0a 00 12 02 18 01");
  bytebuf_free(&b);
  /* On the wire: "b" -> i 1, "a" -> f, "b" -> i 2: printed sorted, the last "b" wins. */
  b = to_bin("tensorflow.NodeDef", "attr { key: 'b' value { i: 1 } } attr { key: 'a' value { b: true } }"
                                   " attr { key: 'b' value { i: 2 } }");
  char *text = to_text("tensorflow.NodeDef", b.data, b.len);
  ck_assert_str_eq(text, "attr {\n  key: \"a\"\n  value {\n    b: true\n  }\n}\n"
                         "attr {\n  key: \"b\"\n  value {\n    i: 2\n  }\n}\n");
  free(text);
  bytebuf_free(&b);
}
END_TEST

START_TEST(pbtext_oneof_last_member_and_proto3_zeros) {
  /* s then i on the wire (hand-made): the oneof keeps i. AttrValue.i = 0 inside the
   * oneof is printed; NodeDef's empty device (proto3, no oneof) is not. */
  const uint8_t wire[] = {0x12, 0x01, 'x', 0x18, 0x00};
  char *text = to_text("tensorflow.AttrValue", wire, sizeof wire);
  ck_assert_str_eq(text, "i: 0\n");
  free(text);
  const uint8_t node[] = {0x0a, 0x01, 'n', 0x22, 0x00};
  text = to_text("tensorflow.NodeDef", node, sizeof node);
  ck_assert_str_eq(text, "name: \"n\"\n");
  free(text);
  bytebuf_t b = to_bin("tensorflow.NodeDef", "name: 'n' device: '' op: \"\"");
  expect_bytes(&b, "0a 01 6e");
  bytebuf_free(&b);
  b = to_bin("tensorflow.AttrValue", "b: false");
  expect_bytes(&b, "28 00");
  bytebuf_free(&b);
  /* Unknown fields are skipped (as text_format does); a merged singular message. */
  const uint8_t merged[] = {0xf8, 0x07, 0x05, 0x3a, 0x02, 0x18, 0x01, 0x3a, 0x02, 0x18, 0x02};
  text = to_text("tensorflow.AttrValue", merged, sizeof merged);
  ck_assert_str_eq(text, "shape {\n  unknown_rank: true\n}\n");
  free(text);
}
END_TEST

START_TEST(pbtext_any_expanded_and_checkpoint_state) {
  bytebuf_t b = to_bin("tensorflow.MetaGraphDef",
                       "meta_info_def { any_info { [type.googleapis.com/tensorflow.VersionDef] { producer: 3 } } }");
  /* 0a (meta_info_def) { 1a (any_info) { 0a type_url, 12 02 08 03 } } */
  expect_bytes(&b, "0a 31 1a 2f 0a 29 74 79 70 65 2e 67 6f 6f 67 6c 65 61 70 69 73 2e 63 6f 6d 2f"
                   " 74 65 6e 73 6f 72 66 6c 6f 77 2e 56 65 72 73 69 6f 6e 44 65 66 12 02 08 03");
  bytebuf_free(&b);
  const char ck[] = "model_checkpoint_path: \"model.ckpt-20\"\n"
                    "all_model_checkpoint_paths: \"model.ckpt-10\"\n"
                    "all_model_checkpoint_paths: \"model.ckpt-20\"\n"
                    "all_model_checkpoint_timestamps: 1525928300.25\n"
                    "last_preserved_timestamp: 1525928000.0\n";
  b = to_bin("tensorflow.CheckpointState", ck);
  char *text = to_text("tensorflow.CheckpointState", b.data, b.len);
  ck_assert_str_eq(text, ck);
  free(text);
  bytebuf_free(&b);
}
END_TEST

/* Wire-level corner cases, printed by text_format from the same bytes: a map entry
 * without its value, duplicate map keys, oneof members in turn (the message member
 * merging only after the switch), merged singular messages, unknown fields, packed
 * and unpacked runs of one field, an enum number without a name, float specials. */
START_TEST(pbtext_wire_corner_cases_print_as_python) {
  char desc[1024], tmp[1024], path[1100];
  if (!python_ref_available(desc, sizeof desc)) return;
  static const struct {
    const char *type, *hex;
  } cases[] = {
      {"tensorflow.NodeDef", "2a 03 0a 01 6b  2a 07 0a 01 62 12 02 18 01  2a 07 0a 01 62 12 02 18 02"},
      {"tensorflow.AttrValue", "3a 02 18 01  12 01 78  3a 02 18 00 3a 04 12 02 08 03"},
      {"tensorflow.TensorProto", "f8 07 05  2a 04 00 00 c0 7f  2d 00 00 80 ff  2a 04 00 00 00 80"
                                 "  12 02 18 01  12 04 12 02 08 05  08 e7 07  3a 02 05 7f  38 03"},
      {"tensorflow.MetaGraphDef.MetaInfoDef", "42 04 0a 00 12 00  42 03 12 01 7a  42 06 0a 01 61 12 01 62"},
      {"tensorflow.TensorProto", "08 ff ff ff ff ff ff ff ff ff 01  18 ff ff ff ff 0f  31 00 00 00 00 00 00 f0 7f"},
  };
  test_tmpdir(tmp, sizeof tmp);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    uint8_t wire[256];
    size_t n = hex_decode(cases[i].hex, wire);
    snprintf(path, sizeof path, "%s/case%zu.pb", tmp, i);
    write_file(path, wire, n);
    char *ours = to_text(cases[i].type, wire, n), *ref = NULL;
    ck_assert_int_eq(python_ref(desc, cases[i].type, "text", path, NULL, &ref), 0);
    ck_assert_msg(strcmp(ours, ref) == 0, "case %zu:\nours:\n%s\ntext_format:\n%s", i, ours, ref);
    free(ours);
    free(ref);
  }
}
END_TEST

/* ---- errors ---- */

START_TEST(pbtext_syntax_errors_name_line_and_field) {
  const char *nd = "tensorflow.NodeDef";
  expect_parse_error(nd, "name: 'a'\n\nbogus: 1\n", TFM_INVALID_ARGUMENT, "line 3");
  expect_parse_error(nd, "name: 'a'\n\nbogus: 1\n", TFM_INVALID_ARGUMENT, "bogus");
  expect_parse_error(nd, "name: 'abc\n", TFM_INVALID_ARGUMENT, "NodeDef.name");
  expect_parse_error(nd, "name: 'abc", TFM_INVALID_ARGUMENT, "not terminated");
  expect_parse_error(nd, "name 'a'", TFM_INVALID_ARGUMENT, "expected ':'");
  expect_parse_error(nd, "name: 'a' name: 'b'", TFM_INVALID_ARGUMENT, "more than once");
  expect_parse_error(nd, "name: ['a']", TFM_INVALID_ARGUMENT, "not repeated");
  expect_parse_error(nd, "name: 12", TFM_INVALID_ARGUMENT, "quoted string");
  expect_parse_error(nd, "attr { key: 'T' value { type: DT_BOGUS } }", TFM_INVALID_ARGUMENT,
                     "AttrValue.type: unknown enum value 'DT_BOGUS'");
  expect_parse_error(nd, "attr { key: 'T' value { s: 'x' i: 1 } }", TFM_INVALID_ARGUMENT, "oneof");
  expect_parse_error(nd, "attr { key: 'T' ", TFM_INVALID_ARGUMENT, "missing '}'");
  expect_parse_error(nd, "attr { key: 'T' >", TFM_INVALID_ARGUMENT, "unexpected '>'");
  expect_parse_error(nd, "}", TFM_INVALID_ARGUMENT, "unexpected '}'");
  expect_parse_error(nd, "name: 'a\\q'", TFM_INVALID_ARGUMENT, "unknown escape");
  expect_parse_error(nd, "[ext.field]: 1", TFM_INVALID_ARGUMENT, "not supported");
  expect_parse_error(nd, "name: 'a' = ", TFM_INVALID_ARGUMENT, "found '='");
  const char *tp = "tensorflow.TensorProto";
  expect_parse_error(tp, "version_number: 2147483648", TFM_INVALID_ARGUMENT, "out of range");
  expect_parse_error(tp, "int64_val: 9223372036854775808", TFM_INVALID_ARGUMENT, "out of range");
  expect_parse_error(tp, "int64_val: 99999999999999999999999999999", TFM_INVALID_ARGUMENT, "not an integer");
  expect_parse_error(tp, "uint64_val: -1", TFM_INVALID_ARGUMENT, "out of range");
  expect_parse_error(tp, "int_val: 1.5", TFM_INVALID_ARGUMENT, "not an integer");
  expect_parse_error(tp, "float_val: 0x10", TFM_INVALID_ARGUMENT, "not a number");
  expect_parse_error(tp, "bool_val: yes", TFM_INVALID_ARGUMENT, "not a bool");
  expect_parse_error(tp, "dtype: 'DT_FLOAT'", TFM_INVALID_ARGUMENT, "string where");
  expect_parse_error(tp, "int_val: [1, 2", TFM_INVALID_ARGUMENT, "expected ',' or ']'");
  expect_parse_error("tensorflow.Nope", "", TFM_NOT_FOUND, "tensorflow.Nope");
}
END_TEST

START_TEST(pbtext_deep_nesting_is_refused_not_a_crash) {
  /* NameAttrList -> attr -> AttrValue -> func -> NameAttrList ...: 3 levels per step. */
  const char step[] = "attr { value { func { ";
  size_t steps = 20000;
  char *text = malloc(steps * (sizeof step - 1) + 1);
  if (!text) {
    ck_abort_msg("out of memory");
    return;
  }
  for (size_t i = 0; i < steps; i++) memcpy(text + i * (sizeof step - 1), step, sizeof step - 1);
  text[steps * (sizeof step - 1)] = '\0';
  expect_parse_error("tensorflow.NameAttrList", text, TFM_INVALID_ARGUMENT, "nested more than 100");
  free(text);
  tfm_status *st = tfm_status_new();
  /* Closed nesting: 30 steps (90 levels) parse and print back; 60 (180) are refused. */
  for (size_t nest = 30; nest <= 60; nest += 30) {
    bytebuf_t deep = BYTEBUF_INIT;
    char *t2 = malloc(nest * 64 + 64);
    if (!t2) {
      ck_abort_msg("out of memory");
      return;
    }
    size_t tl = 0;
    for (size_t i = 0; i < nest; i++) tl += put_text(t2 + tl, "attr { value { func { ");
    tl += put_text(t2 + tl, "name: 'x' ");
    for (size_t i = 0; i < nest; i++) tl += put_text(t2 + tl, "} } } ");
    tfm_code code = pbtext_to_binary("tensorflow.NameAttrList", t2, tl, &deep, "t", st);
    if (nest == 30) {
      ck_assert_msg(code == TFM_OK, "%s", tfm_status_message(st));
      char *back = to_text("tensorflow.NameAttrList", deep.data, deep.len);
      ck_assert(strstr(back, "name: \"x\""));
      free(back);
    } else {
      ck_assert_int_eq(code, TFM_INVALID_ARGUMENT);
    }
    free(t2);
    bytebuf_free(&deep);
  }
  tfm_status_delete(st);
}
END_TEST

START_TEST(pbtext_hostile_binary_is_data_loss) {
  tfm_status *st = tfm_status_new();
  bytebuf_t out = BYTEBUF_INIT;
  const uint8_t truncated_len[] = {0x0a, 0x05, 'a'};          /* name: 5 bytes, 1 given */
  const uint8_t huge_len[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f};
  const uint8_t bad_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  const uint8_t group[] = {0x0b, 0x0c};
  const uint8_t zero_field[] = {0x00, 0x01};
  const uint8_t bad_packed[] = {0x2a, 0x03, 0x00, 0x00, 0x80};  /* float_val: 3 bytes */
  const uint8_t bad_nested[] = {0x12, 0x02, 0x12, 0x05};       /* tensor_shape { dim: 5 bytes } */
  const struct {
    const uint8_t *p;
    size_t n;
  } cases[] = {{truncated_len, sizeof truncated_len}, {huge_len, sizeof huge_len},
               {bad_varint, sizeof bad_varint},       {group, sizeof group},
               {zero_field, sizeof zero_field},       {bad_packed, sizeof bad_packed},
               {bad_nested, sizeof bad_nested}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    ck_assert_int_eq(pbtext_from_binary("tensorflow.TensorProto", cases[i].p, cases[i].n, &out,
                                        "hostile.pb", st),
                     TFM_DATA_LOSS);
    ck_assert_msg(strstr(tfm_status_message(st), "hostile.pb"), "%s", tfm_status_message(st));
    ck_assert_uint_eq(out.len, 0);
  }
  ck_assert_int_eq(pbtext_from_binary("tensorflow.Nope", "", 0, &out, "x", st), TFM_NOT_FOUND);
  bytebuf_free(&out);
  tfm_status_delete(st);
}
END_TEST

START_TEST(pbtext_binary_nesting_limit) {
  /* 150 levels of AttrValue.list? Not recursive; use NameAttrList <-> AttrValue with
   * two-byte lengths built inside out. */
  bytebuf_t cur = BYTEBUF_INIT, next = BYTEBUF_INIT;
  for (int level = 0; level < 70; level++) { /* 70 x 3 = 210 message levels */
    bytebuf_t value = BYTEBUF_INIT, entry = BYTEBUF_INIT;
    bytebuf_put_varint(&value, 0x52); /* AttrValue.func */
    bytebuf_put_varint(&value, cur.len);
    bytebuf_append(&value, cur.data, cur.len);
    bytebuf_put_varint(&entry, 0x12); /* entry.value */
    bytebuf_put_varint(&entry, value.len);
    bytebuf_append(&entry, value.data, value.len);
    next.len = 0;
    bytebuf_put_varint(&next, 0x12); /* NameAttrList.attr */
    bytebuf_put_varint(&next, entry.len);
    bytebuf_append(&next, entry.data, entry.len);
    bytebuf_t t = cur;
    cur = next;
    next = t;
    bytebuf_free(&value);
    bytebuf_free(&entry);
  }
  tfm_status *st = tfm_status_new();
  bytebuf_t out = BYTEBUF_INIT;
  ck_assert_int_eq(pbtext_from_binary("tensorflow.NameAttrList", cur.data, cur.len, &out, "deep.pb", st),
                   TFM_DATA_LOSS);
  ck_assert_msg(strstr(tfm_status_message(st), "nested too deeply"), "%s", tfm_status_message(st));
  bytebuf_free(&out);
  bytebuf_free(&cur);
  bytebuf_free(&next);
  tfm_status_delete(st);
}
END_TEST

START_TEST(pbtext_event_records_round_trip_byte_for_byte) {
  char path[1024];
  if (!tf_testdata("events_tf1.3/events.out.tfevents.1525783349.santo", path, sizeof path)) return;
  tfm_status *st = tfm_status_new();
  tfrecord_reader_t *r = tfrecord_reader_open(path, st);
  ck_assert_msg(r != NULL, "%s", tfm_status_message(st));
  const uint8_t *data;
  size_t len;
  int records = 0;
  while (tfrecord_reader_next(r, &data, &len, st) == TFM_OK) {
    char *text = to_text("tensorflow.Event", data, len);
    ck_assert(strstr(text, "wall_time: "));
    bytebuf_t back = to_bin("tensorflow.Event", text);
    ck_assert_uint_eq(back.len, len);
    ck_assert(memcmp(back.data, data, len) == 0);
    bytebuf_free(&back);
    free(text);
    records++;
  }
  ck_assert_int_eq(records, 3);
  tfrecord_reader_close(r);
  tfm_status_delete(st);
}
END_TEST

static uint64_t lcg(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return *s >> 33;
}

/* Mutated binaries decode or give DATA_LOSS; whatever decodes prints text that parses
 * back and prints the same again. Mutated text parses or gives INVALID_ARGUMENT. */
START_TEST(pbtext_mutated_inputs_never_crash) {
  bytebuf_t seed = to_bin("tensorflow.NodeDef",
                          "name: 'a/b' op: 'Const' input: '^c' device: '/cpu:0' "
                          "attr { key: 'value' value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 2 } }"
                          " float_val: [1.5, -2] string_val: 'x\\001' } } }"
                          "attr { key: 'l' value { list { i: [1, -2] f: 0.5 type: DT_INT32 shape { unknown_rank: true } } } }");
  tfm_status *st = tfm_status_new();
  uint64_t rng = 42;
  int decoded = 0, parsed = 0;
  for (int iter = 0; iter < 3000; iter++) {
    size_t n = seed.len;
    uint8_t *m = malloc(n);
    memcpy(m, seed.data, n);
    int flips = 1 + (int)(lcg(&rng) % 4);
    for (int k = 0; k < flips; k++) m[lcg(&rng) % n] = (uint8_t)lcg(&rng);
    if (lcg(&rng) % 4 == 0) n = lcg(&rng) % n;
    bytebuf_t text = BYTEBUF_INIT;
    tfm_code code = pbtext_from_binary("tensorflow.NodeDef", m, n, &text, "fuzz", st);
    ck_assert_msg(code == TFM_OK || code == TFM_DATA_LOSS, "code %d: %s", code, tfm_status_message(st));
    if (code == TFM_OK) {
      decoded++;
      bytebuf_t back = BYTEBUF_INIT, again = BYTEBUF_INIT;
      ck_assert_msg(pbtext_to_binary("tensorflow.NodeDef", (const char *)text.data, text.len, &back, "fuzz", st) ==
                        TFM_OK, "%s\n%.*s", tfm_status_message(st), (int)text.len, (const char *)text.data);
      ck_assert_int_eq(pbtext_from_binary("tensorflow.NodeDef", back.data, back.len, &again, "fuzz", st), TFM_OK);
      ck_assert_msg(again.len == text.len && (text.len == 0 || memcmp(again.data, text.data, text.len) == 0), "printed:\n%.*s\nagain:\n%.*s",
                    (int)text.len, (const char *)text.data, (int)again.len, (const char *)again.data);
      /* The text mutated: parses or is refused, never worse. */
      static const char junk[] = "{}<>[]:;,'\"\\#-0x9e.fnZ \n";
      for (int k = 0; k < 3 && text.len; k++)
        text.data[lcg(&rng) % text.len] = (uint8_t)junk[lcg(&rng) % (sizeof junk - 1)];
      bytebuf_t out = BYTEBUF_INIT;
      code = pbtext_to_binary("tensorflow.NodeDef", (const char *)text.data, text.len, &out, "fuzz", st);
      ck_assert_msg(code == TFM_OK || code == TFM_INVALID_ARGUMENT, "code %d: %s", code, tfm_status_message(st));
      parsed += code == TFM_OK;
      bytebuf_free(&out);
      bytebuf_free(&back);
      bytebuf_free(&again);
    }
    bytebuf_free(&text);
    free(m);
  }
  printf("io_pbtext: mutations: %d of 3000 binaries decoded, %d mutated texts parsed\n", decoded, parsed);
  ck_assert_int_gt(decoded, 100);
  bytebuf_free(&seed);
  tfm_status_delete(st);
}
END_TEST

static Suite *pbtext_suite(void) {
  Suite *s = suite_create("io_pbtext");
  TCase *tc = tcase_create("pbtext");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, pbtext_tf_files_round_trip_text_and_binary, 0, (int)N_TF_FILES);
  tcase_add_loop_test(tc, pbtext_tf_files_print_as_python_text_format, 0, (int)N_TF_FILES);
  tcase_add_test(tc, pbtext_scalars_strings_nesting_and_packing);
  tcase_add_test(tc, pbtext_snippet_matches_python_parser);
  tcase_add_test(tc, pbtext_unsigned_sint_fixed_and_int_limits);
  tcase_add_test(tc, pbtext_floats_print_as_text_format_does);
  tcase_add_test(tc, pbtext_maps_sorted_last_key_wins_entries_complete);
  tcase_add_test(tc, pbtext_oneof_last_member_and_proto3_zeros);
  tcase_add_test(tc, pbtext_any_expanded_and_checkpoint_state);
  tcase_add_test(tc, pbtext_wire_corner_cases_print_as_python);
  tcase_add_test(tc, pbtext_syntax_errors_name_line_and_field);
  tcase_add_test(tc, pbtext_deep_nesting_is_refused_not_a_crash);
  tcase_add_test(tc, pbtext_hostile_binary_is_data_loss);
  tcase_add_test(tc, pbtext_binary_nesting_limit);
  tcase_add_test(tc, pbtext_event_records_round_trip_byte_for_byte);
  tcase_add_test(tc, pbtext_mutated_inputs_never_crash);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(pbtext_suite()); }
