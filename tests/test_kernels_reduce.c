/* Reductions: kern_reduce (Sum/Mean/Max/Min/Prod over any axis set) and
 * kern_arg_reduce against float64 scalar references, on every SIMD level, for
 * sizes that hit every vector tail, misaligned buffers, NaN/Inf, empty inputs,
 * integer dtypes, and 1 vs 2 threads (bit-identical). */
#include <math.h>
#include <stdio.h>

#include "kernels/kernels.h"
#include "kernels_testing.h"

static const reduce_op_t all_ops[] = {REDUCE_SUM, REDUCE_MEAN, REDUCE_MAX, REDUCE_MIN, REDUCE_PROD};

/* Float64 reference (integers: wrapped like the dtype). out has n_out slots. */
static int64_t ref_reduce(reduce_op_t op, const tensor_t *x, const bool *axes, double *out,
                          double *abs_sum) {
  const shape_t *s = &x->shape;
  int64_t n_out = 1, n_red = 1;
  for (int i = 0; i < s->rank; i++) {
    if (axes[i]) n_red *= s->dim[i];
    else n_out *= s->dim[i];
  }
  double id = op == REDUCE_PROD ? 1 : op == REDUCE_MAX ? -INFINITY : op == REDUCE_MIN ? INFINITY : 0;
  bool is_int = x->dtype != TFM_FLOAT && x->dtype != TFM_DOUBLE;
  if (is_int && op == REDUCE_MAX) id = x->dtype == TFM_UINT8 ? 0 : x->dtype == TFM_INT32 ? INT32_MIN : (double)INT64_MIN;
  if (is_int && op == REDUCE_MIN) id = x->dtype == TFM_UINT8 ? 255 : x->dtype == TFM_INT32 ? INT32_MAX : (double)INT64_MAX;
  uint64_t iacc[4096];
  for (int64_t o = 0; o < n_out; o++) {
    out[o] = id;
    abs_sum[o] = 0;
    iacc[o] = op == REDUCE_PROD ? 1 : 0;
  }
  for (int64_t i = 0; i < x->num_elements; i++) {
    int64_t rem = i, o = 0, ostride = 1;
    for (int d = s->rank - 1; d >= 0; d--) {
      int64_t c = rem % s->dim[d];
      rem /= s->dim[d];
      if (!axes[d]) {
        o += c * ostride;
        ostride *= s->dim[d];
      }
    }
    double v = kt_get(x, i);
    switch (op) {
      case REDUCE_SUM:
      case REDUCE_MEAN: out[o] += v; iacc[o] += (uint64_t)(int64_t)v; break;
      case REDUCE_PROD: out[o] *= v; iacc[o] *= (uint64_t)(int64_t)v; break;
      case REDUCE_MAX: if (v > out[o] || isnan(v)) out[o] = isnan(out[o]) ? out[o] : v; break;
      case REDUCE_MIN: if (v < out[o] || isnan(v)) out[o] = isnan(out[o]) ? out[o] : v; break;
    }
    abs_sum[o] += fabs(v);
  }
  for (int64_t o = 0; o < n_out; o++) {
    if (is_int && (op == REDUCE_SUM || op == REDUCE_MEAN || op == REDUCE_PROD)) {
      uint64_t w = iacc[o];
      double wrapped = x->dtype == TFM_UINT8 ? (double)(uint8_t)w
                       : x->dtype == TFM_INT32 ? (double)(int32_t)(uint32_t)w
                                               : (double)(int64_t)w;
      out[o] = wrapped;
      if (op == REDUCE_MEAN) out[o] = n_red ? (double)((int64_t)wrapped / n_red) : 0;
    } else if (op == REDUCE_MEAN) {
      out[o] /= (double)n_red;
      abs_sum[o] /= (double)n_red;
    }
  }
  return n_out;
}

static tensor_t *out_for(const tensor_t *x, const bool *axes) {
  int64_t dims[TFM_MAX_RANK];
  int r = 0;
  for (int i = 0; i < x->shape.rank; i++)
    if (!axes[i]) dims[r++] = x->shape.dim[i];
  return kt_new(x->dtype, dims, r);
}

/* Runs op on x over axes and compares with the reference; float sums and products
 * within a few units of float rounding of the sum of magnitudes. */
static void check_reduce(reduce_op_t op, const tensor_t *x, const bool *axes, const char *what) {
  tensor_t *out = out_for(x, axes);
  tfm_status *st = tfm_status_new();
  ck_assert_msg(kern_reduce(op, x, axes, out, st) == TFM_OK, "%s: %s", what, tfm_status_message(st));
  static double ref[4096], mag[4096];
  int64_t n_red = out->num_elements ? x->num_elements / (out->num_elements) : 0;
  ck_assert_int_le(out->num_elements, 4096);
  ref_reduce(op, x, axes, ref, mag);
  double eps = x->dtype == TFM_FLOAT ? 6e-8 : 1.2e-16;
  for (int64_t o = 0; o < out->num_elements; o++) {
    double got = kt_get(out, o), want = ref[o];
    if (isnan(want)) {
      ck_assert_msg(isnan(got), "%s op %d out[%lld]: got %g, want NaN", what, op, (long long)o, got);
      continue;
    }
    double tol = 0;
    if (x->dtype == TFM_FLOAT || x->dtype == TFM_DOUBLE) {
      if (op == REDUCE_SUM || op == REDUCE_MEAN) tol = 40 * eps * mag[o] + 1e-300;
      if (op == REDUCE_PROD) tol = 4 * eps * (double)n_red * fabs(want) + 1e-300;
    }
    if (isinf(want)) {
      ck_assert_msg(got == want, "%s op %d out[%lld]: got %g, want %g", what, op, (long long)o, got, want);
    } else {
      ck_assert_msg(fabs(got - want) <= tol, "%s op %d out[%lld]: got %.17g, want %.17g (tol %g)",
                    what, op, (long long)o, got, want, tol);
    }
  }
  tfm_status_delete(st);
  tensor_unref(out);
}

START_TEST(full_reduction_matches_reference_at_every_tail_and_level) {
  static const int64_t sizes[] = {0, 1, 7, 8, 9, 31, 33, 1000003};
  static const tfm_dtype dts[] = {TFM_FLOAT, TFM_DOUBLE};
  for (int lv = 0; lv < KT_NLEVELS; lv++) {
    cpu_set_level_cap(kt_levels[lv]);
    for (size_t d = 0; d < 2; d++) {
      for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        for (int mis = 0; mis < 2; mis++) {
          int64_t n = sizes[si];
          tensor_t *x = mis ? kt_new_misaligned(dts[d], &n, 1) : kt_new(dts[d], &n, 1);
          kt_fill(x, 7 + (uint64_t)si, -1, 1);
          bool axes[1] = {true};
          char what[128];
          snprintf(what, sizeof what, "%s n=%lld %s level %s", dtype_name(dts[d]), (long long)n,
                   mis ? "misaligned" : "aligned", cpu_level_name(kt_levels[lv]));
          for (size_t op = 0; op < 5; op++) {
            if (all_ops[op] == REDUCE_PROD) kt_fill(x, 9, 0.999, 1.001);
            check_reduce(all_ops[op], x, axes, what);
          }
          tensor_unref(x);
        }
      }
    }
  }
  cpu_set_level_cap(CPU_AVX512);
}
END_TEST

START_TEST(axis_sets_first_last_middle_several_all_none) {
  int64_t dims[4] = {3, 70, 5, 300};
  static const bool sets[][4] = {
      {true, false, false, false}, {false, false, false, true}, {false, true, false, false},
      {true, false, true, false},  {false, true, false, true},  {true, true, true, true},
      {false, false, false, false}, {true, true, false, false}, {false, false, true, true}};
  static const tfm_dtype dts[] = {TFM_FLOAT, TFM_DOUBLE};
  for (int lv = 0; lv < KT_NLEVELS; lv++) {
    cpu_set_level_cap(kt_levels[lv]);
    for (size_t d = 0; d < 2; d++) {
      tensor_t *x = kt_new_misaligned(dts[d], dims, 4);
      for (size_t a = 0; a < sizeof sets / sizeof *sets; a++) {
        int64_t n_out = 1;
        for (int i = 0; i < 4; i++)
          if (!sets[a][i]) n_out *= dims[i];
        if (n_out > 4096) { /* the reference holds 4096 outputs: use a smaller shape */
          int64_t small[4] = {3, 7, 5, 30};
          tensor_t *y = kt_new(dts[d], small, 4);
          kt_fill(y, 11, -2, 2);
          for (size_t op = 0; op < 5; op++) check_reduce(all_ops[op], y, sets[a], "small");
          tensor_unref(y);
          continue;
        }
        char what[128];
        snprintf(what, sizeof what, "%s axes set %zu level %s", dtype_name(dts[d]), a,
                 cpu_level_name(kt_levels[lv]));
        kt_fill(x, 3 + a, -2, 2);
        for (size_t op = 0; op < 4; op++) check_reduce(all_ops[op], x, sets[a], what);
        kt_fill(x, 5 + a, 0.999, 1.001);
        check_reduce(REDUCE_PROD, x, sets[a], what);
      }
      tensor_unref(x);
    }
  }
  cpu_set_level_cap(CPU_AVX512);
}
END_TEST

START_TEST(size_one_dims_and_long_rows_and_tall_columns) {
  int64_t shapes[][3] = {{2, 1, 300000}, {300000, 1, 3}, {1, 2000, 100}, {5, 1, 1}};
  static const bool sets[][3] = {{false, true, true}, {true, true, false}, {false, false, true},
                                 {true, false, true}};
  for (size_t i = 0; i < 4; i++) {
    tensor_t *x = kt_new(TFM_FLOAT, shapes[i], 3);
    kt_fill(x, 21 + i, -1, 1);
    for (size_t op = 0; op < 4; op++) check_reduce(all_ops[op], x, sets[i], "shape");
    tensor_unref(x);
  }
}
END_TEST

START_TEST(nan_and_inf_propagate) {
  static const tfm_dtype dts[] = {TFM_FLOAT, TFM_DOUBLE};
  for (int lv = 0; lv < KT_NLEVELS; lv++) {
    cpu_set_level_cap(kt_levels[lv]);
    for (size_t d = 0; d < 2; d++) {
      int64_t n = 1000;
      tensor_t *x = kt_new(dts[d], &n, 1);
      bool axes[1] = {true};
      for (int pos = 0; pos < 1000; pos += 333) {
        kt_fill(x, 1, -1, 1);
        kt_set(x, pos, NAN);
        for (size_t op = 0; op < 5; op++) check_reduce(all_ops[op], x, axes, "nan");
        kt_fill(x, 1, -1, 1);
        kt_set(x, pos, INFINITY);
        for (size_t op = 0; op < 4; op++) check_reduce(all_ops[op], x, axes, "inf");
        kt_set(x, 999 - pos / 2, -INFINITY);
        for (size_t op = 0; op < 4; op++) check_reduce(all_ops[op], x, axes, "inf-inf");
      }
      tensor_unref(x);
    }
  }
  cpu_set_level_cap(CPU_AVX512);
}
END_TEST

START_TEST(integers_reduce_exactly_with_wraparound) {
  static const tfm_dtype dts[] = {TFM_INT32, TFM_INT64, TFM_UINT8};
  int64_t dims[3] = {4, 33, 9};
  static const bool sets[][3] = {{true, true, true}, {false, true, false}, {true, false, true},
                                 {false, false, true}};
  for (size_t d = 0; d < 3; d++) {
    tensor_t *x = kt_new_misaligned(dts[d], dims, 3);
    for (size_t a = 0; a < 4; a++) {
      kt_fill(x, 17 + a, dts[d] == TFM_UINT8 ? 0 : -100, 200);
      for (size_t op = 0; op < 4; op++) check_reduce(all_ops[op], x, sets[a], dtype_name(dts[d]));
      kt_fill(x, 17 + a, dts[d] == TFM_UINT8 ? 0 : -3, 4);
      check_reduce(REDUCE_PROD, x, sets[a], dtype_name(dts[d]));
    }
    tensor_unref(x);
  }
  /* int32 sums wrap modulo 2^32 */
  int64_t n = 4;
  tensor_t *x = kt_new(TFM_INT32, &n, 1), *out = kt_new(TFM_INT32, NULL, 0);
  for (int i = 0; i < 4; i++) TENSOR_I32(x)[i] = INT32_MAX;
  bool axes[1] = {true};
  ck_assert_int_eq(kern_reduce(REDUCE_SUM, x, axes, out, NULL), TFM_OK);
  ck_assert_int_eq(TENSOR_I32(out)[0], (int32_t)(uint32_t)(4u * (uint32_t)INT32_MAX));
  tensor_unref(x);
  tensor_unref(out);
}
END_TEST

START_TEST(empty_reductions_give_identities) {
  int64_t dims[2] = {3, 0};
  tensor_t *x = kt_new(TFM_FLOAT, dims, 2);
  tensor_t *out = kt_new(TFM_FLOAT, dims, 1);
  bool axes[2] = {false, true};
  ck_assert_int_eq(kern_reduce(REDUCE_SUM, x, axes, out, NULL), TFM_OK);
  ck_assert(TENSOR_F32(out)[2] == 0.0f);
  ck_assert_int_eq(kern_reduce(REDUCE_MEAN, x, axes, out, NULL), TFM_OK);
  ck_assert(isnan(TENSOR_F32(out)[0]));
  ck_assert_int_eq(kern_reduce(REDUCE_PROD, x, axes, out, NULL), TFM_OK);
  ck_assert(TENSOR_F32(out)[1] == 1.0f);
  ck_assert_int_eq(kern_reduce(REDUCE_MAX, x, axes, out, NULL), TFM_OK);
  ck_assert(TENSOR_F32(out)[0] == -INFINITY);
  ck_assert_int_eq(kern_reduce(REDUCE_MIN, x, axes, out, NULL), TFM_OK);
  ck_assert(TENSOR_F32(out)[0] == INFINITY);
  tensor_unref(x);
  tensor_unref(out);
}
END_TEST

/* The acceptance figure of the issue: 8M float32 summed agrees with float64. */
START_TEST(sum_of_8M_float32_agrees_with_float64_to_1e6) {
  int64_t n = 8 << 20;
  tensor_t *x = kt_new(TFM_FLOAT, &n, 1), *out = kt_new(TFM_FLOAT, NULL, 0);
  uint64_t s = 99;
  double ref = 0;
  for (int64_t i = 0; i < n; i++) {
    TENSOR_F32(x)[i] = (float)kt_rand(&s, 0, 1);
    ref += TENSOR_F32(x)[i];
  }
  bool axes[1] = {true};
  for (int lv = 0; lv < KT_NLEVELS; lv++) {
    cpu_set_level_cap(kt_levels[lv]);
    ck_assert_int_eq(kern_reduce(REDUCE_SUM, x, axes, out, NULL), TFM_OK);
    double rel = fabs(TENSOR_F32(out)[0] - ref) / ref;
    ck_assert_msg(rel <= 1e-6, "level %s: relative error %g", cpu_level_name(kt_levels[lv]), rel);
  }
  cpu_set_level_cap(CPU_AVX512);
  tensor_unref(x);
  tensor_unref(out);
}
END_TEST

START_TEST(one_and_two_threads_are_bit_identical) {
  int64_t shapes[][3] = {{1, 1, 3000017}, {1, 40, 100003}, {5, 20000, 70}, {1, 3, 400000}};
  static const bool sets[][3] = {{true, true, true}, {false, false, true}, {false, true, false},
                                 {true, false, true}};
  for (size_t i = 0; i < 4; i++) {
    for (int d = 0; d < 2; d++) {
      tfm_dtype dt = d ? TFM_DOUBLE : TFM_FLOAT;
      tensor_t *x = kt_new(dt, shapes[i], 3);
      kt_fill(x, 31 + i, -1, 1);
      tensor_t *o1 = out_for(x, sets[i]), *o2 = out_for(x, sets[i]);
      for (size_t op = 0; op < 4; op++) {
        kt_set_threads(1);
        ck_assert_int_eq(kern_reduce(all_ops[op], x, sets[i], o1, NULL), TFM_OK);
        kt_set_threads(2);
        ck_assert_int_eq(kern_reduce(all_ops[op], x, sets[i], o2, NULL), TFM_OK);
        ck_assert_msg(memcmp(o1->data, o2->data, o1->nbytes) == 0, "shape %zu op %zu differs", i, op);
      }
      tensor_unref(o1);
      tensor_unref(o2);
      tensor_unref(x);
    }
  }
  kt_set_threads(0);
}
END_TEST

START_TEST(bad_arguments_are_invalid_argument) {
  int64_t dims[2] = {2, 3}, three = 3, four = 4;
  tensor_t *x = kt_new(TFM_FLOAT, dims, 2);
  tensor_t *wrong_count = kt_new(TFM_FLOAT, &four, 1), *wrong_type = kt_new(TFM_DOUBLE, &three, 1);
  tensor_t *b = kt_new(TFM_BOOL, dims, 2), *bo = kt_new(TFM_BOOL, &three, 1);
  bool axes[2] = {true, false};
  tfm_status *st = tfm_status_new();
  ck_assert_int_eq(kern_reduce(REDUCE_SUM, x, axes, wrong_count, st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "kern_reduce Sum"));
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "[2,3]"));
  ck_assert_int_eq(kern_reduce(REDUCE_MAX, x, axes, wrong_type, st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "float64"));
  ck_assert_int_eq(kern_reduce(REDUCE_SUM, b, axes, bo, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(kern_reduce((reduce_op_t)42, x, axes, wrong_count, st), TFM_INVALID_ARGUMENT);
  tensor_t *idx = kt_new(TFM_INT64, &three, 1);
  ck_assert_int_eq(kern_arg_reduce(true, x, 2, idx, st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "ArgMax"));
  ck_assert_int_eq(kern_arg_reduce(true, x, 0, wrong_type, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(kern_arg_reduce(true, x, 1, idx, st), TFM_INVALID_ARGUMENT);
  tfm_status_delete(st);
  tensor_unref(x);
  tensor_unref(wrong_count);
  tensor_unref(wrong_type);
  tensor_unref(b);
  tensor_unref(bo);
  tensor_unref(idx);
}
END_TEST

START_TEST(arg_reduce_takes_first_extreme_on_any_axis) {
  int64_t dims[3] = {4, 9, 5};
  static const tfm_dtype dts[] = {TFM_FLOAT, TFM_DOUBLE, TFM_INT32, TFM_INT64, TFM_UINT8};
  for (size_t d = 0; d < 5; d++) {
    tensor_t *x = kt_new(dts[d], dims, 3);
    kt_fill(x, 5 + d, 0, 4); /* few distinct values: many ties */
    if (d < 2) kt_set(x, 7, NAN);
    for (int axis = 0; axis < 3; axis++) {
      int64_t od[2], r = 0;
      for (int i = 0; i < 3; i++)
        if (i != axis) od[r++] = dims[i];
      tensor_t *out = kt_new(TFM_INT64, od, 2);
      for (int is_max = 0; is_max < 2; is_max++) {
        ck_assert_int_eq(kern_arg_reduce(is_max, x, axis, out, NULL), TFM_OK);
        int64_t inner = 1, outer = 1;
        for (int i = axis + 1; i < 3; i++) inner *= dims[i];
        for (int i = 0; i < axis; i++) outer *= dims[i];
        for (int64_t o = 0; o < outer; o++)
          for (int64_t i = 0; i < inner; i++) {
            int64_t best = 0;
            double bv = kt_get(x, o * dims[axis] * inner + i);
            for (int64_t a = 1; a < dims[axis] && !isnan(bv); a++) {
              double v = kt_get(x, (o * dims[axis] + a) * inner + i);
              if (isnan(v) || (is_max ? v > bv : v < bv)) {
                bv = v;
                best = a;
              }
            }
            ck_assert_int_eq(TENSOR_I64(out)[o * inner + i], best);
          }
      }
      tensor_unref(out);
    }
    tensor_unref(x);
  }
}
END_TEST

static Suite *reduce_suite(void) {
  Suite *s = suite_create("kernels_reduce");
  TCase *tc = tcase_create("reduce");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, full_reduction_matches_reference_at_every_tail_and_level);
  tcase_add_test(tc, axis_sets_first_last_middle_several_all_none);
  tcase_add_test(tc, size_one_dims_and_long_rows_and_tall_columns);
  tcase_add_test(tc, nan_and_inf_propagate);
  tcase_add_test(tc, integers_reduce_exactly_with_wraparound);
  tcase_add_test(tc, empty_reductions_give_identities);
  tcase_add_test(tc, sum_of_8M_float32_agrees_with_float64_to_1e6);
  tcase_add_test(tc, one_and_two_threads_are_bit_identical);
  tcase_add_test(tc, bad_arguments_are_invalid_argument);
  tcase_add_test(tc, arg_reduce_takes_first_extreme_on_any_axis);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(reduce_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
