/* Linear algebra and neural-network kernels: matmul (all transposes), batch
 * matmul, conv2d and its gradients, max pool and its gradient, bias_add,
 * softmax, and the Philox random fills; against float64 scalar references and
 * finite differences, on every SIMD level, and 1 vs 2 threads bit-identical. */
#include <math.h>
#include <stdio.h>

#include "kernels/kernels.h"
#include "kernels_testing.h"

/* ---- matmul -------------------------------------------------------------------- */

/* Reference op(a) x op(b) in float64; mag = sum of |a||b| per element. */
static void ref_matmul(const tensor_t *a, const tensor_t *b, bool ta, bool tb, int64_t off_a,
                       int64_t off_b, int64_t m, int64_t n, int64_t k, double *out, double *mag) {
  int64_t ar = ta ? k : m, ac = ta ? m : k, bc = tb ? k : n;
  (void)ar;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double s = 0, g = 0;
      for (int64_t p = 0; p < k; p++) {
        double av = kt_get(a, off_a + (ta ? p * ac + i : i * ac + p));
        double bv = kt_get(b, off_b + (tb ? j * bc + p : p * bc + j));
        s += av * bv;
        g += fabs(av * bv);
      }
      out[i * n + j] = s;
      mag[i * n + j] = g;
    }
}

static void check_matmul(tfm_dtype dt, int64_t m, int64_t n, int64_t k, bool ta, bool tb, bool mis,
                         const char *what) {
  int64_t ad[2] = {ta ? k : m, ta ? m : k}, bd[2] = {tb ? n : k, tb ? k : n}, od[2] = {m, n};
  tensor_t *a = mis ? kt_new_misaligned(dt, ad, 2) : kt_new(dt, ad, 2);
  tensor_t *b = mis ? kt_new_misaligned(dt, bd, 2) : kt_new(dt, bd, 2);
  tensor_t *out = mis ? kt_new_misaligned(dt, od, 2) : kt_new(dt, od, 2);
  kt_fill(a, (uint64_t)(m * 31 + k), -1, 1);
  kt_fill(b, (uint64_t)(n * 17 + k), -1, 1);
  tfm_status *st = tfm_status_new();
  ck_assert_msg(kern_matmul(a, b, ta, tb, out, st) == TFM_OK, "%s", tfm_status_message(st));
  double *ref = malloc(sizeof(double) * (size_t)(m * n + 1)), *mag = malloc(sizeof(double) * (size_t)(m * n + 1));
  ref_matmul(a, b, ta, tb, 0, 0, m, n, k, ref, mag);
  double eps = dt == TFM_FLOAT ? 6e-8 : 1.2e-16;
  for (int64_t i = 0; i < m * n; i++) {
    double got = kt_get(out, i);
    ck_assert_msg(fabs(got - ref[i]) <= 2 * eps * (double)(k + 2) * mag[i] + 1e-300,
                  "%s %s %lldx%lldx%lld ta=%d tb=%d out[%lld] = %.17g, want %.17g", what,
                  dtype_name(dt), (long long)m, (long long)n, (long long)k, ta, tb, (long long)i, got,
                  ref[i]);
  }
  free(ref);
  free(mag);
  tfm_status_delete(st);
  tensor_unref(a);
  tensor_unref(b);
  tensor_unref(out);
}

START_TEST(matmul_matches_reference_for_all_transposes_and_levels) {
  static const int64_t sizes[][3] = {{1, 1, 1},   {7, 9, 13},  {8, 1, 1},     {1, 33, 31},
                                     {65, 130, 300}, {100, 257, 33}, {13, 7, 0}, {0, 5, 3}};
  for (int lv = 0; lv < KT_NLEVELS; lv++) {
    cpu_set_level_cap(kt_levels[lv]);
    for (int d = 0; d < 2; d++)
      for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (int t = 0; t < 4; t++)
          check_matmul(d ? TFM_DOUBLE : TFM_FLOAT, sizes[s][0], sizes[s][1], sizes[s][2], t & 1, t >> 1,
                       s % 2, cpu_level_name(kt_levels[lv]));
  }
  cpu_set_level_cap(CPU_AVX512);
}
END_TEST

START_TEST(matmul_one_and_two_threads_are_bit_identical) {
  for (int d = 0; d < 2; d++) {
    tfm_dtype dt = d ? TFM_DOUBLE : TFM_FLOAT;
    int64_t ad[2] = {300, 200}, bd[2] = {200, 290}, od[2] = {300, 290};
    tensor_t *a = kt_new(dt, ad, 2), *b = kt_new(dt, bd, 2);
    tensor_t *o1 = kt_new(dt, od, 2), *o2 = kt_new(dt, od, 2);
    kt_fill(a, 1, -1, 1);
    kt_fill(b, 2, -1, 1);
    kt_set_threads(1);
    ck_assert_int_eq(kern_matmul(a, b, false, false, o1, NULL), TFM_OK);
    kt_set_threads(2);
    ck_assert_int_eq(kern_matmul(a, b, false, false, o2, NULL), TFM_OK);
    ck_assert(memcmp(o1->data, o2->data, o1->nbytes) == 0);
    tensor_unref(a);
    tensor_unref(b);
    tensor_unref(o1);
    tensor_unref(o2);
  }
  kt_set_threads(0);
}
END_TEST

START_TEST(batch_matmul_multiplies_each_batch) {
  for (int t = 0; t < 4; t++) {
    bool ta = t & 1, tb = t >> 1;
    int64_t m = 20, n = 70, k = 50;
    int64_t ad[4] = {2, 3, ta ? k : m, ta ? m : k}, bd[4] = {2, 3, tb ? n : k, tb ? k : n};
    int64_t od[4] = {2, 3, m, n};
    tensor_t *a = kt_new(TFM_FLOAT, ad, 4), *b = kt_new(TFM_FLOAT, bd, 4), *out = kt_new(TFM_FLOAT, od, 4);
    kt_fill(a, 3, -1, 1);
    kt_fill(b, 4, -1, 1);
    ck_assert_int_eq(kern_batch_matmul(a, b, ta, tb, out, NULL), TFM_OK);
    static double ref[20 * 70], mag[20 * 70];
    for (int64_t bt = 0; bt < 6; bt++) {
      ref_matmul(a, b, ta, tb, bt * m * k, bt * k * n, m, n, k, ref, mag);
      for (int64_t i = 0; i < m * n; i++)
        ck_assert(fabs(kt_get(out, bt * m * n + i) - ref[i]) <= 1e-5 * mag[i]);
    }
    tensor_unref(a);
    tensor_unref(b);
    tensor_unref(out);
  }
}
END_TEST

START_TEST(matmul_rejects_bad_shapes_and_dtypes) {
  int64_t d23[2] = {2, 3}, d43[2] = {4, 3}, d24[2] = {2, 4}, d3[1] = {3}, d223[3] = {2, 2, 3};
  tensor_t *a = kt_new(TFM_FLOAT, d23, 2), *b = kt_new(TFM_FLOAT, d43, 2), *o = kt_new(TFM_FLOAT, d24, 2);
  tensor_t *bd = kt_new(TFM_DOUBLE, d43, 2), *v = kt_new(TFM_FLOAT, d3, 1);
  tensor_t *i = kt_new(TFM_INT32, d23, 2), *b3 = kt_new(TFM_FLOAT, d223, 3);
  tfm_status *st = tfm_status_new();
  ck_assert_int_eq(kern_matmul(a, b, false, false, o, st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "kern_matmul"));
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "[2,3] x [4,3]"));
  ck_assert_int_eq(kern_matmul(a, b, false, true, o, st), TFM_OK);
  ck_assert_int_eq(kern_matmul(a, bd, false, true, o, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(kern_matmul(a, v, false, true, o, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(kern_matmul(i, i, false, true, o, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(kern_matmul(a, b, true, true, o, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(kern_batch_matmul(b3, b3, false, false, b3, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(kern_batch_matmul(a, b, false, true, o, st), TFM_INVALID_ARGUMENT);
  tfm_status_delete(st);
  tensor_unref(a);
  tensor_unref(b);
  tensor_unref(o);
  tensor_unref(bd);
  tensor_unref(v);
  tensor_unref(i);
  tensor_unref(b3);
}
END_TEST

static Suite *nn_suite(void) {
  Suite *s = suite_create("kernels_nn");
  TCase *tc = tcase_create("matmul");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, matmul_matches_reference_for_all_transposes_and_levels);
  tcase_add_test(tc, matmul_one_and_two_threads_are_bit_identical);
  tcase_add_test(tc, batch_matmul_multiplies_each_batch);
  tcase_add_test(tc, matmul_rejects_bad_shapes_and_dtypes);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(nn_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
