/* Core: status messages, dtypes, shapes and broadcasting, tensors (new, wrap,
 * strings, refcounts), allocation failure injection, the thread pool. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/shape.h"
#include "core/tensor.h"
#include "core/threadpool.h"
#include "tfmini/debug.h"
#include "tfmini/tfmini.h"

START_TEST(status_carries_code_and_message) {
  tfm_status *st = tfm_status_new();
  ck_assert_int_eq(tfm_status_code(st), TFM_OK);
  ck_assert_str_eq(tfm_status_message(st), "");
  status_set(st, TFM_NOT_FOUND, "variable '%s' not found", "w");
  ck_assert_int_eq(tfm_status_code(st), TFM_NOT_FOUND);
  ck_assert_str_eq(tfm_status_message(st), "variable 'w' not found");
  status_prefix(st, "restore '%s'", "model.ckpt");
  ck_assert_str_eq(tfm_status_message(st), "restore 'model.ckpt': variable 'w' not found");
  ck_assert_str_eq(tfm_code_name(TFM_DATA_LOSS), "DATA_LOSS");
  tfm_status_clear(st);
  ck_assert_int_eq(tfm_status_code(st), TFM_OK);
  tfm_status_delete(st);
}
END_TEST

START_TEST(version_matches_header) {
  ck_assert_str_eq(tfm_version(), TFM_VERSION_STRING);
  ck_assert_int_eq(TFM_VERSION_NUMBER,
                   TFM_VERSION_MAJOR * 10000 + TFM_VERSION_MINOR * 100 + TFM_VERSION_PATCH);
}
END_TEST

START_TEST(dtypes_use_tensorflow_numbers) {
  ck_assert_int_eq(TFM_FLOAT, 1);
  ck_assert_int_eq(TFM_DOUBLE, 2);
  ck_assert_int_eq(TFM_INT32, 3);
  ck_assert_int_eq(TFM_UINT8, 4);
  ck_assert_int_eq(TFM_STRING, 7);
  ck_assert_int_eq(TFM_INT64, 9);
  ck_assert_int_eq(TFM_BOOL, 10);
  ck_assert_uint_eq(tfm_dtype_size(TFM_DOUBLE), 8);
  ck_assert_str_eq(tfm_dtype_name(TFM_INT64), "int64");
  ck_assert_int_eq(dtype_from_name("DT_FLOAT"), TFM_FLOAT);
}
END_TEST

START_TEST(shapes_broadcast_like_numpy) {
  tfm_status *st = tfm_status_new();
  int64_t da[] = {8, 1, 6, 1}, db[] = {7, 1, 5};
  shape_t a, b, r;
  ck_assert_int_eq(shape_make(da, 4, false, &a, "a", st), TFM_OK);
  ck_assert_int_eq(shape_make(db, 3, false, &b, "b", st), TFM_OK);
  ck_assert_int_eq(shape_broadcast(&a, &b, &r, "Add", st), TFM_OK);
  char buf[SHAPE_STR_MAX];
  ck_assert_str_eq(shape_str(&r, buf), "[8,7,6,5]");
  int64_t dc[] = {3, 4};
  shape_t c;
  shape_make(dc, 2, false, &c, "c", st);
  ck_assert_int_eq(shape_broadcast(&a, &c, &r, "Add 'x'", st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "[8,1,6,1] and [3,4]"));
  int64_t big[] = {INT64_MAX / 2, 4};
  shape_t s;
  shape_make(big, 2, false, &s, "big", st);
  int64_t n;
  ck_assert_int_eq(shape_num_elements(&s, &n, st), TFM_INVALID_ARGUMENT);
  tfm_status_delete(st);
}
END_TEST

START_TEST(tensor_new_is_aligned_and_zeroed) {
  tfm_status *st = tfm_status_new();
  int64_t dims[] = {3, 5};
  tfm_tensor *t = tfm_tensor_new(TFM_FLOAT, dims, 2, st);
  ck_assert_ptr_nonnull(t);
  ck_assert_int_eq(tfm_tensor_rank(t), 2);
  ck_assert_int_eq(tfm_tensor_dim(t, 1), 5);
  ck_assert_int_eq(tfm_tensor_num_elements(t), 15);
  ck_assert_uint_eq(tfm_tensor_nbytes(t), 60);
  float *d = tfm_tensor_data(t);
  ck_assert_uint_eq((uintptr_t)d % 64, 0);
  for (int i = 0; i < 15; i++) ck_assert_float_eq(d[i], 0.0f);
  tfm_tensor_release(t);
  tfm_status_delete(st);
}
END_TEST

START_TEST(tensor_rejects_bad_shapes) {
  tfm_status *st = tfm_status_new();
  int64_t dims[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  ck_assert_ptr_null(tfm_tensor_new(TFM_FLOAT, dims, 9, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  int64_t neg[] = {2, -3};
  ck_assert_ptr_null(tfm_tensor_new(TFM_FLOAT, neg, 2, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  int64_t huge[] = {INT64_MAX / 4, 2};
  ck_assert_ptr_null(tfm_tensor_new(TFM_DOUBLE, huge, 2, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_null(tfm_tensor_new((tfm_dtype)42, neg, 0, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  tfm_status_delete(st);
}
END_TEST

static int dealloc_calls;
static void count_dealloc(void *data, size_t len, void *arg) {
  (void)data;
  (void)len;
  dealloc_calls += *(int *)arg;
}

START_TEST(tensor_wrap_calls_deallocator_once) {
  tfm_status *st = tfm_status_new();
  double buf[7] = {1, 2, 3, 4, 5, 6, 7};
  int64_t dims[] = {7};
  int one = 1;
  dealloc_calls = 0;
  tfm_tensor *t = tfm_tensor_wrap(TFM_DOUBLE, dims, 1, buf, sizeof buf, count_dealloc, &one, st);
  ck_assert_ptr_nonnull(t);
  ck_assert_ptr_eq(tfm_tensor_data(t), buf);
  tfm_tensor_retain(t);
  tfm_tensor_release(t);
  ck_assert_int_eq(dealloc_calls, 0);
  tfm_tensor_release(t);
  ck_assert_int_eq(dealloc_calls, 1);
  /* a wrong length fails and still hands the buffer back */
  ck_assert_ptr_null(tfm_tensor_wrap(TFM_DOUBLE, dims, 1, buf, 8, count_dealloc, &one, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(dealloc_calls, 2);
  /* an address that is not a multiple of the element size is refused (C's typed
   * loads need it), and the buffer is handed back */
  const int64_t six[] = {6};
  ck_assert_ptr_null(tfm_tensor_wrap(TFM_DOUBLE, six, 1, (char *)buf + 4, 6 * sizeof(double), count_dealloc,
                                     &one, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "aligned"));
  ck_assert_int_eq(dealloc_calls, 3);
  /* without a deallocator the caller keeps the buffer: releasing must not free it */
  tfm_tensor *borrowed = tfm_tensor_wrap(TFM_DOUBLE, dims, 1, buf, sizeof buf, NULL, NULL, st);
  ck_assert_ptr_nonnull(borrowed);
  tfm_tensor_release(borrowed);
  ck_assert_double_eq(buf[6], 7.0);
  tfm_status_delete(st);
}
END_TEST

START_TEST(string_tensors_hold_bytes) {
  tfm_status *st = tfm_status_new();
  int64_t dims[] = {2};
  tfm_tensor *t = tfm_tensor_new(TFM_STRING, dims, 1, st);
  ck_assert_int_eq(tfm_tensor_string_set(t, 1, "a\0b", 3, st), TFM_OK);
  const char *p;
  size_t len;
  ck_assert_int_eq(tfm_tensor_string_get(t, 1, &p, &len, st), TFM_OK);
  ck_assert_uint_eq(len, 3);
  ck_assert_int_eq(memcmp(p, "a\0b", 3), 0);
  ck_assert_int_eq(tfm_tensor_string_get(t, 0, &p, &len, st), TFM_OK);
  ck_assert_uint_eq(len, 0);
  ck_assert_int_eq(tfm_tensor_string_get(t, 2, &p, &len, st), TFM_OUT_OF_RANGE);
  tensor_t *c = tensor_copy(t, st);
  tfm_tensor_release(t);
  ck_assert_int_eq(tfm_tensor_string_get(c, 1, &p, &len, st), TFM_OK);
  ck_assert_int_eq(memcmp(p, "a\0b", 3), 0);
  tfm_tensor_release(c);
  tfm_status_delete(st);
}
END_TEST

START_TEST(allocation_failure_is_reported) {
  tfm_status *st = tfm_status_new();
  int64_t before = tfm_debug_bytes_in_use();
  int64_t dims[] = {4};
  tfm_debug_fail_alloc_after(2, 0); /* header succeeds, buffer fails */
  ck_assert_ptr_null(tfm_tensor_new(TFM_FLOAT, dims, 1, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_RESOURCE_EXHAUSTED);
  tfm_debug_fail_alloc_after(0, 0);
  ck_assert_int_eq(tfm_debug_bytes_in_use(), before);
  tfm_status_delete(st);
}
END_TEST

typedef struct {
  int64_t hits[1000];
} pool_ctx;
static void mark_task(void *ctx, int64_t t) { __atomic_fetch_add(&((pool_ctx *)ctx)->hits[t], 1, __ATOMIC_RELAXED); }

START_TEST(pool_runs_every_task_once) {
  static pool_ctx ctx;
  for (int threads = 1; threads <= 4; threads++) {
    ck_assert_int_eq(tfm_set_num_threads(threads, NULL), TFM_OK);
    ck_assert_int_eq(tfm_get_num_threads(), threads);
    for (int rep = 0; rep < 50; rep++) {
      memset(&ctx, 0, sizeof ctx);
      pool_parallel_for(1000, mark_task, &ctx);
      for (int i = 0; i < 1000; i++) ck_assert_int_eq(ctx.hits[i], 1);
    }
  }
  ck_assert_int_eq(tfm_set_num_threads(-1, NULL), TFM_INVALID_ARGUMENT);
  tfm_set_num_threads(0, NULL);
}
END_TEST

int main(void) {
  Suite *s = suite_create("core");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, status_carries_code_and_message);
  tcase_add_test(tc, version_matches_header);
  tcase_add_test(tc, dtypes_use_tensorflow_numbers);
  tcase_add_test(tc, shapes_broadcast_like_numpy);
  tcase_add_test(tc, tensor_new_is_aligned_and_zeroed);
  tcase_add_test(tc, tensor_rejects_bad_shapes);
  tcase_add_test(tc, tensor_wrap_calls_deallocator_once);
  tcase_add_test(tc, string_tensors_hold_bytes);
  tcase_add_test(tc, allocation_failure_is_reported);
  tcase_add_test(tc, pool_runs_every_task_once);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
