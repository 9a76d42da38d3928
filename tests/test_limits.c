/* The documented limits of what readers accept (docs/reliability.md "Limits"),
 * each checked before anything is allocated for it: tensors from protobufs (2 GiB,
 * however few bytes ask for them), shapes (rank 8, no negative dims, element
 * counts that fit int64), files (per reader), and hostile graphs at import. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/checkpoint_state.h"
#include "io/pbio.h"
#include "io/table.h"
#include "io_testutil.h"
#include "tfmini/debug.h"
#include "tfmini/tfmini.h"

static tfm_status *st;
static void setup(void) { st = tfm_status_new(); }
static void teardown(void) { tfm_status_delete(st); }

/* A float TensorProto of `rank` dims with one float_val (broadcast to all). */
static void proto_of(tensorflow_TensorProto *p, tensorflow_TensorShapeProto_Dim *dims, const int64_t *d, int rank,
                     float *one) {
  memset(p, 0, sizeof *p);
  p->dtype = tensorflow_DataType_DT_FLOAT;
  p->has_tensor_shape = true;
  p->tensor_shape.dim_count = (pb_size_t)rank;
  p->tensor_shape.dim = dims;
  for (int i = 0; i < rank; i++) {
    memset(&dims[i], 0, sizeof dims[i]);
    dims[i].size = d[i];
  }
  p->float_val_count = 1;
  p->float_val = one;
}

START_TEST(a_tensor_proto_over_2_gib_is_refused_before_allocating) {
  tensorflow_TensorProto p;
  tensorflow_TensorShapeProto_Dim dims[2];
  float one = 1.0f;
  /* 65536 x 65536 floats = 16 GiB from a handful of bytes. */
  proto_of(&p, dims, (const int64_t[]){65536, 65536}, 2, &one);
  uint64_t allocs = tfm_debug_alloc_count();
  tensor_t *t = pbio_tensor_from_proto(&p, "attr 'value' of node 'big'", st);
  ck_assert_ptr_null(t);
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_uint_eq(tfm_debug_alloc_count(), allocs);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "[65536,65536]"));
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "node 'big'"));
  /* Just under the limit is a size question, not a refusal: 2^29 - 1 floats. */
  proto_of(&p, dims, (const int64_t[]){(1 << 29) - 1}, 1, &one);
  ck_assert_uint_le((uint64_t)((1 << 29) - 1) * 4, PBIO_MAX_TENSOR_BYTES);
}
END_TEST

START_TEST(shapes_that_overflow_or_are_negative_are_refused) {
  tensorflow_TensorProto p;
  tensorflow_TensorShapeProto_Dim dims[TFM_MAX_RANK + 1];
  float one = 1.0f;
  proto_of(&p, dims, (const int64_t[]){1ll << 32, 1ll << 32, 1ll << 32}, 3, &one);
  ck_assert_ptr_null(pbio_tensor_from_proto(&p, "overflow", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  proto_of(&p, dims, (const int64_t[]){4, -3}, 2, &one);
  ck_assert_ptr_null(pbio_tensor_from_proto(&p, "negative", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  proto_of(&p, dims, (const int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, TFM_MAX_RANK + 1, &one);
  ck_assert_ptr_null(pbio_tensor_from_proto(&p, "rank 9", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  /* The same through the public API. */
  const int64_t huge[3] = {1ll << 32, 1ll << 32, 1ll << 32};
  ck_assert_ptr_null(tfm_tensor_new(TFM_FLOAT, huge, 3, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
}
END_TEST

static tfm_code import_text(const char *text) {
  tfm_graph *g = tfm_graph_new(st);
  int before = tfm_graph_num_ops(g);
  tfm_code c = tfm_import_graph_def(g, text, strlen(text), 1, NULL, st);
  if (c != TFM_OK) ck_assert_int_eq(tfm_graph_num_ops(g), before); /* all or nothing */
  tfm_graph_delete(g);
  return c;
}

START_TEST(hostile_graphs_are_refused_at_import_naming_the_node) {
  /* A 16 GiB constant in 120 bytes. */
  ck_assert_int_eq(import_text("node { name: 'big' op: 'Const' attr { key: 'dtype' value { type: DT_FLOAT } }"
                               " attr { key: 'value' value { tensor { dtype: DT_FLOAT tensor_shape {"
                               " dim { size: 65536 } dim { size: 65536 } } float_val: 1 } } } }"),
                   TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "big"));
  /* A cycle. */
  ck_assert_int_eq(import_text("node { name: 'a' op: 'Identity' input: 'b' attr { key: 'T' value { type: DT_FLOAT } } }"
                               "node { name: 'b' op: 'Identity' input: 'a' attr { key: 'T' value { type: DT_FLOAT } } }"),
                   TFM_INVALID_ARGUMENT);
  /* A missing input. */
  ck_assert_int_eq(import_text("node { name: 'a' op: 'Identity' input: 'nowhere' attr { key: 'T' value { type: DT_FLOAT } } }"),
                   TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "nowhere"));
  /* An attr of the wrong kind (a string where a type belongs). */
  ck_assert_int_eq(import_text("node { name: 'p' op: 'Placeholder' attr { key: 'dtype' value { s: 'float' } } }"),
                   TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "p"));
  /* A placeholder of negative (not -1) dims. */
  ck_assert_int_ne(import_text("node { name: 'p' op: 'Placeholder' attr { key: 'dtype' value { type: DT_FLOAT } }"
                               " attr { key: 'shape' value { shape { dim { size: -7 } } } } }"),
                   TFM_OK);
}
END_TEST

/* A sparse file of `size` bytes (no disk used). */
static void sparse_file(const char *path, off_t size) {
  int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(ftruncate(fd, size), 0);
  close(fd);
}

START_TEST(files_over_a_readers_limit_are_refused_before_reading) {
  char dir[1024], path[1100];
  test_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/huge.index", dir);
  sparse_file(path, (1ll << 30) + 1); /* the .index limit: 1 GiB */
  uint64_t allocs = tfm_debug_alloc_count();
  int64_t bytes = tfm_debug_bytes_in_use();
  ck_assert_ptr_null(table_open(path, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "huge.index"));
  ck_assert_uint_le(tfm_debug_alloc_count() - allocs, 2); /* names, not the file */
  ck_assert_int_eq(tfm_debug_bytes_in_use(), bytes);
  snprintf(path, sizeof path, "%s/checkpoint", dir);
  sparse_file(path, (64ll << 20) + 1); /* the `checkpoint` limit: 64 MiB */
  checkpoint_state_t cs = CHECKPOINT_STATE_INIT;
  ck_assert_int_eq(checkpoint_state_read(dir, &cs, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(tfm_debug_bytes_in_use(), bytes);
  /* A GraphDef over 2 GiB. */
  snprintf(path, sizeof path, "%s/graph.pb", dir);
  sparse_file(path, (1ll << 31));
  tfm_graph *g = tfm_graph_new(st);
  ck_assert_int_eq(tfm_import_graph_def_file(g, path, NULL, st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "graph.pb"));
  tfm_graph_delete(g);
  unlink(path);
}
END_TEST

int main(void) {
  Suite *s = suite_create("limits");
  TCase *tc = tcase_create("limits");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, a_tensor_proto_over_2_gib_is_refused_before_allocating);
  tcase_add_test(tc, shapes_that_overflow_or_are_negative_are_refused);
  tcase_add_test(tc, hostile_graphs_are_refused_at_import_naming_the_node);
  tcase_add_test(tc, files_over_a_readers_limit_are_refused_before_reading);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
