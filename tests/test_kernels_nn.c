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

/* ---- conv2d ------------------------------------------------------------------ */

typedef struct conv_case {
  int64_t n, h, w, c, kh, kw, o;
  int sh, sw;
  padding_t pad;
} conv_case_t;

static const conv_case_t conv_cases[] = {
    {2, 7, 9, 3, 3, 3, 4, 1, 1, PADDING_SAME},  {1, 8, 8, 2, 3, 2, 5, 2, 2, PADDING_SAME},
    {2, 10, 7, 3, 4, 3, 2, 3, 2, PADDING_VALID}, {1, 5, 5, 1, 1, 1, 1, 1, 1, PADDING_VALID},
    {1, 6, 9, 80, 2, 2, 40, 2, 1, PADDING_SAME}, {1, 4, 4, 2, 5, 5, 3, 1, 1, PADDING_SAME},
    {1, 9, 9, 2, 2, 2, 2, 4, 4, PADDING_SAME},
};

static int64_t out_dim(int64_t in, int64_t k, int s, padding_t pad) {
  return pad == PADDING_SAME ? (in + s - 1) / s : (in - k + s) / s;
}
static int64_t pad_before(int64_t in, int64_t k, int s, padding_t pad) {
  if (pad == PADDING_VALID) return 0;
  int64_t o = out_dim(in, k, s, pad), total = (o - 1) * s + k - in;
  return total > 0 ? total / 2 : 0;
}

/* Direct loops in float64 over every (output, tap) pair: forward value into out,
 * and the adjoint scatters for the two gradients given og. */
static void ref_conv(const conv_case_t *cc, const tensor_t *in, const tensor_t *f, const tensor_t *og,
                     double *out, double *din, double *df) {
  int64_t oh = out_dim(cc->h, cc->kh, cc->sh, cc->pad), ow = out_dim(cc->w, cc->kw, cc->sw, cc->pad);
  int64_t pt = pad_before(cc->h, cc->kh, cc->sh, cc->pad), pl = pad_before(cc->w, cc->kw, cc->sw, cc->pad);
  memset(out, 0, sizeof(double) * (size_t)(cc->n * oh * ow * cc->o));
  memset(din, 0, sizeof(double) * (size_t)(cc->n * cc->h * cc->w * cc->c));
  memset(df, 0, sizeof(double) * (size_t)(cc->kh * cc->kw * cc->c * cc->o));
  for (int64_t n = 0; n < cc->n; n++)
    for (int64_t y = 0; y < oh; y++)
      for (int64_t x = 0; x < ow; x++)
        for (int64_t ky = 0; ky < cc->kh; ky++)
          for (int64_t kx = 0; kx < cc->kw; kx++) {
            int64_t iy = y * cc->sh - pt + ky, ix = x * cc->sw - pl + kx;
            if (iy < 0 || iy >= cc->h || ix < 0 || ix >= cc->w) continue;
            for (int64_t c = 0; c < cc->c; c++)
              for (int64_t o = 0; o < cc->o; o++) {
                int64_t ii = ((n * cc->h + iy) * cc->w + ix) * cc->c + c;
                int64_t fi = ((ky * cc->kw + kx) * cc->c + c) * cc->o + o;
                int64_t oi = ((n * oh + y) * ow + x) * cc->o + o;
                out[oi] += kt_get(in, ii) * kt_get(f, fi);
                din[ii] += kt_get(og, oi) * kt_get(f, fi);
                df[fi] += kt_get(og, oi) * kt_get(in, ii);
              }
          }
}

static void assert_close(const tensor_t *got, const double *want, double tol, const char *what) {
  for (int64_t i = 0; i < got->num_elements; i++)
    ck_assert_msg(fabs(kt_get(got, i) - want[i]) <= tol * (1 + fabs(want[i])),
                  "%s[%lld]: got %.10g, want %.10g", what, (long long)i, kt_get(got, i), want[i]);
}

START_TEST(conv2d_and_gradients_match_direct_loops) {
  for (int lv = 0; lv < KT_NLEVELS; lv++) {
    cpu_set_level_cap(kt_levels[lv]);
    for (int d = 0; d < 2; d++) {
      tfm_dtype dt = d ? TFM_DOUBLE : TFM_FLOAT;
      double tol = d ? 1e-12 : 2e-5;
      for (size_t i = 0; i < sizeof conv_cases / sizeof *conv_cases; i++) {
        const conv_case_t *cc = &conv_cases[i];
        int64_t oh = out_dim(cc->h, cc->kh, cc->sh, cc->pad), ow = out_dim(cc->w, cc->kw, cc->sw, cc->pad);
        int64_t id[4] = {cc->n, cc->h, cc->w, cc->c}, fd[4] = {cc->kh, cc->kw, cc->c, cc->o};
        int64_t od[4] = {cc->n, oh, ow, cc->o};
        tensor_t *in = kt_new_misaligned(dt, id, 4), *f = kt_new(dt, fd, 4), *og = kt_new(dt, od, 4);
        tensor_t *out = kt_new(dt, od, 4), *din = kt_new_misaligned(dt, id, 4), *df = kt_new(dt, fd, 4);
        kt_fill(in, 1 + i, -1, 1);
        kt_fill(f, 2 + i, -1, 1);
        kt_fill(og, 3 + i, -1, 1);
        double *r_out = malloc(sizeof(double) * (size_t)out->num_elements);
        double *r_din = malloc(sizeof(double) * (size_t)in->num_elements);
        double *r_df = malloc(sizeof(double) * (size_t)f->num_elements);
        ref_conv(cc, in, f, og, r_out, r_din, r_df);
        tfm_status *st = tfm_status_new();
        ck_assert_msg(kern_conv2d(in, f, cc->sh, cc->sw, cc->pad, out, st) == TFM_OK, "%s",
                      tfm_status_message(st));
        ck_assert_msg(kern_conv2d_backprop_input(f, og, cc->sh, cc->sw, cc->pad, din, st) == TFM_OK,
                      "%s", tfm_status_message(st));
        ck_assert_msg(kern_conv2d_backprop_filter(in, og, cc->sh, cc->sw, cc->pad, df, st) == TFM_OK,
                      "%s", tfm_status_message(st));
        double scale = (double)(cc->c * cc->kh * cc->kw + cc->o * cc->n * oh * ow);
        assert_close(out, r_out, tol * scale, "conv2d");
        assert_close(din, r_din, tol * scale, "backprop_input");
        assert_close(df, r_df, tol * scale, "backprop_filter");
        tfm_status_delete(st);
        free(r_out);
        free(r_din);
        free(r_df);
        tensor_unref(in);
        tensor_unref(f);
        tensor_unref(og);
        tensor_unref(out);
        tensor_unref(din);
        tensor_unref(df);
      }
    }
  }
  cpu_set_level_cap(CPU_AVX512);
}
END_TEST

/* L = sum(conv2d(input, filter) * og); its derivative by central differences
 * must equal the kernels' gradients. */
static double conv_loss(const conv_case_t *cc, tensor_t *in, tensor_t *f, const tensor_t *og, tensor_t *out) {
  ck_assert_int_eq(kern_conv2d(in, f, cc->sh, cc->sw, cc->pad, out, NULL), TFM_OK);
  double l = 0;
  for (int64_t i = 0; i < out->num_elements; i++) l += TENSOR_F64(out)[i] * TENSOR_F64(og)[i];
  return l;
}

START_TEST(conv2d_gradients_match_finite_differences) {
  for (size_t i = 0; i < 3; i++) {
    const conv_case_t *cc = &conv_cases[i];
    int64_t oh = out_dim(cc->h, cc->kh, cc->sh, cc->pad), ow = out_dim(cc->w, cc->kw, cc->sw, cc->pad);
    int64_t id[4] = {cc->n, cc->h, cc->w, cc->c}, fd[4] = {cc->kh, cc->kw, cc->c, cc->o};
    int64_t od[4] = {cc->n, oh, ow, cc->o};
    tensor_t *in = kt_new(TFM_DOUBLE, id, 4), *f = kt_new(TFM_DOUBLE, fd, 4), *og = kt_new(TFM_DOUBLE, od, 4);
    tensor_t *out = kt_new(TFM_DOUBLE, od, 4), *din = kt_new(TFM_DOUBLE, id, 4), *df = kt_new(TFM_DOUBLE, fd, 4);
    kt_fill(in, 11, -1, 1);
    kt_fill(f, 12, -1, 1);
    kt_fill(og, 13, -1, 1);
    ck_assert_int_eq(kern_conv2d_backprop_input(f, og, cc->sh, cc->sw, cc->pad, din, NULL), TFM_OK);
    ck_assert_int_eq(kern_conv2d_backprop_filter(in, og, cc->sh, cc->sw, cc->pad, df, NULL), TFM_OK);
    const double h = 1e-5;
    for (int64_t j = 0; j < in->num_elements; j += 5) {
      double *p = &TENSOR_F64(in)[j], keep = *p;
      *p = keep + h;
      double lp = conv_loss(cc, in, f, og, out);
      *p = keep - h;
      double lm = conv_loss(cc, in, f, og, out);
      *p = keep;
      ck_assert_msg(fabs((lp - lm) / (2 * h) - TENSOR_F64(din)[j]) < 1e-7, "d input[%lld]", (long long)j);
    }
    for (int64_t j = 0; j < f->num_elements; j += 3) {
      double *p = &TENSOR_F64(f)[j], keep = *p;
      *p = keep + h;
      double lp = conv_loss(cc, in, f, og, out);
      *p = keep - h;
      double lm = conv_loss(cc, in, f, og, out);
      *p = keep;
      ck_assert_msg(fabs((lp - lm) / (2 * h) - TENSOR_F64(df)[j]) < 1e-7, "d filter[%lld]", (long long)j);
    }
    tensor_unref(in);
    tensor_unref(f);
    tensor_unref(og);
    tensor_unref(out);
    tensor_unref(din);
    tensor_unref(df);
  }
}
END_TEST

START_TEST(conv2d_one_and_two_threads_are_bit_identical) {
  conv_case_t cc = {4, 20, 20, 16, 3, 3, 32, 1, 1, PADDING_SAME};
  int64_t id[4] = {4, 20, 20, 16}, fd[4] = {3, 3, 16, 32}, od[4] = {4, 20, 20, 32};
  (void)cc;
  tensor_t *in = kt_new(TFM_FLOAT, id, 4), *f = kt_new(TFM_FLOAT, fd, 4), *og = kt_new(TFM_FLOAT, od, 4);
  kt_fill(in, 1, -1, 1);
  kt_fill(f, 2, -1, 1);
  kt_fill(og, 3, -1, 1);
  tensor_t *r[2][3];
  for (int t = 0; t < 2; t++) {
    kt_set_threads(t + 1);
    r[t][0] = kt_new(TFM_FLOAT, od, 4);
    r[t][1] = kt_new(TFM_FLOAT, id, 4);
    r[t][2] = kt_new(TFM_FLOAT, fd, 4);
    ck_assert_int_eq(kern_conv2d(in, f, 1, 1, PADDING_SAME, r[t][0], NULL), TFM_OK);
    ck_assert_int_eq(kern_conv2d_backprop_input(f, og, 1, 1, PADDING_SAME, r[t][1], NULL), TFM_OK);
    ck_assert_int_eq(kern_conv2d_backprop_filter(in, og, 1, 1, PADDING_SAME, r[t][2], NULL), TFM_OK);
  }
  for (int k = 0; k < 3; k++) {
    ck_assert_msg(memcmp(r[0][k]->data, r[1][k]->data, r[0][k]->nbytes) == 0, "result %d differs", k);
    tensor_unref(r[0][k]);
    tensor_unref(r[1][k]);
  }
  kt_set_threads(0);
  tensor_unref(in);
  tensor_unref(f);
  tensor_unref(og);
}
END_TEST

START_TEST(conv_output_size_follows_tensorflow) {
  int64_t o, p;
  ck_assert_int_eq(conv_output_size(7, 3, 2, PADDING_SAME, &o, &p, NULL), TFM_OK);
  ck_assert_int_eq(o, 4); /* ceil(7/2) */
  ck_assert_int_eq(p, 1); /* total (4-1)*2+3-7 = 2 */
  ck_assert_int_eq(conv_output_size(8, 4, 2, PADDING_SAME, &o, &p, NULL), TFM_OK);
  ck_assert_int_eq(o, 4);
  ck_assert_int_eq(p, 1); /* total 3: the extra one goes after */
  ck_assert_int_eq(conv_output_size(9, 1, 4, PADDING_SAME, &o, &p, NULL), TFM_OK);
  ck_assert_int_eq(o, 3);
  ck_assert_int_eq(p, 0); /* total would be -ve */
  ck_assert_int_eq(conv_output_size(7, 3, 2, PADDING_VALID, &o, &p, NULL), TFM_OK);
  ck_assert_int_eq(o, 3);
  ck_assert_int_eq(p, 0);
  ck_assert_int_eq(conv_output_size(2, 3, 1, PADDING_VALID, &o, &p, NULL), TFM_OK);
  ck_assert_int_eq(o, 0); /* (2-3+1)/1: empty but not negative */
  ck_assert_int_eq(conv_output_size(1, 3, 1, PADDING_VALID, &o, &p, NULL), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(conv_output_size(5, 3, 0, PADDING_VALID, &o, &p, NULL), TFM_INVALID_ARGUMENT);
}
END_TEST

START_TEST(conv2d_rejects_bad_shapes) {
  int64_t id[4] = {1, 5, 5, 3}, fd[4] = {3, 3, 2, 4}, od[4] = {1, 5, 5, 4}, fd_ok[4] = {3, 3, 3, 4};
  int64_t od_bad[4] = {1, 4, 5, 4}, d3[3] = {5, 5, 3};
  tensor_t *in = kt_new(TFM_FLOAT, id, 4), *f = kt_new(TFM_FLOAT, fd, 4), *out = kt_new(TFM_FLOAT, od, 4);
  tensor_t *fok = kt_new(TFM_FLOAT, fd_ok, 4), *obad = kt_new(TFM_FLOAT, od_bad, 4);
  tensor_t *r3 = kt_new(TFM_FLOAT, d3, 3), *fdbl = kt_new(TFM_DOUBLE, fd_ok, 4);
  tfm_status *st = tfm_status_new();
  ck_assert_int_eq(kern_conv2d(in, f, 1, 1, PADDING_SAME, out, st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "kern_conv2d"));
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "[3,3,2,4]"));
  ck_assert_int_eq(kern_conv2d(in, fok, 1, 1, PADDING_SAME, out, st), TFM_OK);
  ck_assert_int_eq(kern_conv2d(in, fok, 1, 1, PADDING_SAME, obad, st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "[1,4,5,4]"));
  ck_assert_int_eq(kern_conv2d(r3, fok, 1, 1, PADDING_SAME, out, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(kern_conv2d(in, fdbl, 1, 1, PADDING_SAME, out, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(kern_conv2d(in, fok, 0, 1, PADDING_SAME, out, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(kern_conv2d_backprop_input(fok, obad, 1, 1, PADDING_SAME, in, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(kern_conv2d_backprop_filter(in, out, 1, 1, PADDING_SAME, f, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(kern_max_pool(r3, 2, 2, 2, 2, PADDING_SAME, out, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(kern_max_pool(in, 2, 2, 1, 1, PADDING_SAME, obad, st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "kern_max_pool"));
  tfm_status_delete(st);
  tensor_unref(in);
  tensor_unref(f);
  tensor_unref(out);
  tensor_unref(fok);
  tensor_unref(obad);
  tensor_unref(r3);
  tensor_unref(fdbl);
}
END_TEST

/* ---- max pool ------------------------------------------------------------------ */

/* Forward max and the first-max scatter of og, by direct loops. */
static void ref_pool(const tensor_t *x, int kh, int kw, int sh, int sw, padding_t pad, const tensor_t *og,
                     double *out, double *dx) {
  const int64_t *d = x->shape.dim;
  int64_t oh = out_dim(d[1], kh, sh, pad), ow = out_dim(d[2], kw, sw, pad);
  int64_t pt = pad_before(d[1], kh, sh, pad), pl = pad_before(d[2], kw, sw, pad);
  memset(dx, 0, sizeof(double) * (size_t)x->num_elements);
  for (int64_t n = 0; n < d[0]; n++)
    for (int64_t y = 0; y < oh; y++)
      for (int64_t xx = 0; xx < ow; xx++)
        for (int64_t c = 0; c < d[3]; c++) {
          double best = -INFINITY;
          int64_t at = -1;
          for (int64_t ky = 0; ky < kh; ky++)
            for (int64_t kx = 0; kx < kw; kx++) {
              int64_t iy = y * sh - pt + ky, ix = xx * sw - pl + kx;
              if (iy < 0 || iy >= d[1] || ix < 0 || ix >= d[2]) continue;
              int64_t ii = ((n * d[1] + iy) * d[2] + ix) * d[3] + c;
              if (at < 0 || kt_get(x, ii) > best) {
                best = kt_get(x, ii);
                at = ii;
              }
            }
          int64_t oi = ((n * oh + y) * ow + xx) * d[3] + c;
          out[oi] = best;
          dx[at] += kt_get(og, oi);
        }
}

START_TEST(max_pool_and_grad_match_direct_loops_with_ties) {
  struct { int64_t n, h, w, c; int kh, kw, sh, sw; padding_t pad; } cases[] = {
      {2, 7, 9, 3, 3, 3, 2, 2, PADDING_SAME}, {1, 8, 8, 70, 2, 2, 2, 2, PADDING_VALID},
      {2, 5, 6, 4, 3, 2, 1, 1, PADDING_SAME}, {1, 9, 9, 1, 2, 2, 3, 3, PADDING_VALID},
      {1, 4, 4, 2, 4, 4, 1, 1, PADDING_SAME}};
  for (int d = 0; d < 2; d++) {
    tfm_dtype dt = d ? TFM_DOUBLE : TFM_FLOAT;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
      int64_t id[4] = {cases[i].n, cases[i].h, cases[i].w, cases[i].c};
      int64_t oh = out_dim(id[1], cases[i].kh, cases[i].sh, cases[i].pad);
      int64_t ow = out_dim(id[2], cases[i].kw, cases[i].sw, cases[i].pad);
      int64_t od[4] = {id[0], oh, ow, id[3]};
      tensor_t *x = kt_new_misaligned(dt, id, 4), *out = kt_new(dt, od, 4), *og = kt_new(dt, od, 4);
      tensor_t *dx = kt_new(dt, id, 4);
      for (int ties = 0; ties < 2; ties++) {
        kt_fill(x, 5 + i, ties ? 0 : -1, ties ? 3 : 1); /* ties: integers 0..2, many equal maxima */
        if (ties) for (int64_t j = 0; j < x->num_elements; j++) kt_set(x, j, floor(kt_get(x, j)));
        kt_fill(og, 6 + i, -1, 1);
        double *r_out = malloc(sizeof(double) * (size_t)out->num_elements);
        double *r_dx = malloc(sizeof(double) * (size_t)x->num_elements);
        ref_pool(x, cases[i].kh, cases[i].kw, cases[i].sh, cases[i].sw, cases[i].pad, og, r_out, r_dx);
        ck_assert_int_eq(kern_max_pool(x, cases[i].kh, cases[i].kw, cases[i].sh, cases[i].sw, cases[i].pad,
                                       out, NULL), TFM_OK);
        ck_assert_int_eq(kern_max_pool_grad(x, og, cases[i].kh, cases[i].kw, cases[i].sh, cases[i].sw,
                                            cases[i].pad, dx, NULL), TFM_OK);
        assert_close(out, r_out, 0, "max_pool");
        assert_close(dx, r_dx, d ? 1e-14 : 1e-6, "max_pool_grad");
        free(r_out);
        free(r_dx);
      }
      tensor_unref(x);
      tensor_unref(out);
      tensor_unref(og);
      tensor_unref(dx);
    }
  }
}
END_TEST

START_TEST(max_pool_grad_matches_finite_differences) {
  int64_t id[4] = {1, 6, 6, 2}, od[4] = {1, 3, 3, 2};
  tensor_t *x = kt_new(TFM_DOUBLE, id, 4), *out = kt_new(TFM_DOUBLE, od, 4), *og = kt_new(TFM_DOUBLE, od, 4);
  tensor_t *dx = kt_new(TFM_DOUBLE, id, 4);
  kt_fill(x, 3, -1, 1); /* distinct values: the max is not at a kink */
  kt_fill(og, 4, -1, 1);
  ck_assert_int_eq(kern_max_pool_grad(x, og, 3, 3, 2, 2, PADDING_SAME, dx, NULL), TFM_OK);
  for (int64_t j = 0; j < x->num_elements; j++) {
    double l[2], h = 1e-7;
    for (int s = 0; s < 2; s++) {
      double keep = TENSOR_F64(x)[j];
      TENSOR_F64(x)[j] = keep + (s ? -h : h);
      ck_assert_int_eq(kern_max_pool(x, 3, 3, 2, 2, PADDING_SAME, out, NULL), TFM_OK);
      TENSOR_F64(x)[j] = keep;
      l[s] = 0;
      for (int64_t i = 0; i < out->num_elements; i++) l[s] += TENSOR_F64(out)[i] * TENSOR_F64(og)[i];
    }
    ck_assert_msg(fabs((l[0] - l[1]) / (2 * h) - TENSOR_F64(dx)[j]) < 1e-6, "dx[%lld]", (long long)j);
  }
  tensor_unref(x);
  tensor_unref(out);
  tensor_unref(og);
  tensor_unref(dx);
}
END_TEST

/* ---- bias_add and softmax ---------------------------------------------------------- */

START_TEST(bias_add_adds_over_last_dim_in_place_too) {
  static const tfm_dtype dts[] = {TFM_FLOAT, TFM_DOUBLE, TFM_INT32, TFM_INT64};
  for (size_t d = 0; d < 4; d++) {
    int64_t xd[3] = {3, 50, 7}, bd[1] = {7};
    tensor_t *x = kt_new_misaligned(dts[d], xd, 3), *b = kt_new(dts[d], bd, 1), *out = kt_new(dts[d], xd, 3);
    kt_fill(x, 1, -50, 50);
    kt_fill(b, 2, -50, 50);
    ck_assert_int_eq(kern_bias_add(x, b, out, NULL), TFM_OK);
    for (int64_t i = 0; i < x->num_elements; i++)
      ck_assert(kt_get(out, i) == (double)(float)(kt_get(x, i) + kt_get(b, i % 7)) ||
                fabs(kt_get(out, i) - (kt_get(x, i) + kt_get(b, i % 7))) < 1e-5);
    ck_assert_int_eq(kern_bias_add(x, b, x, NULL), TFM_OK);
    ck_assert(memcmp(x->data, out->data, x->nbytes) == 0);
    tensor_t *bad = kt_new(dts[d], xd, 1);
    tfm_status *st = tfm_status_new();
    ck_assert_int_eq(kern_bias_add(x, bad, out, st), TFM_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(tfm_status_message(st), "kern_bias_add"));
    tfm_status_delete(st);
    tensor_unref(bad);
    tensor_unref(x);
    tensor_unref(b);
    tensor_unref(out);
  }
}
END_TEST

START_TEST(softmax_is_stable_and_matches_reference) {
  for (int d = 0; d < 2; d++) {
    tfm_dtype dt = d ? TFM_DOUBLE : TFM_FLOAT;
    int64_t xd[2] = {40, 33};
    tensor_t *x = kt_new(dt, xd, 2), *out = kt_new(dt, xd, 2);
    for (int log_sm = 0; log_sm < 2; log_sm++) {
      kt_fill(x, 7, -20, 20);
      for (int64_t j = 0; j < 33; j++) kt_set(x, j, 1000 + j); /* row 0: exp would overflow */
      ck_assert_int_eq(kern_softmax(x, log_sm, out, NULL), TFM_OK);
      for (int64_t r = 0; r < 40; r++) {
        double m = -INFINITY, s = 0;
        for (int64_t j = 0; j < 33; j++) m = fmax(m, kt_get(x, r * 33 + j));
        for (int64_t j = 0; j < 33; j++) s += exp(kt_get(x, r * 33 + j) - m);
        for (int64_t j = 0; j < 33; j++) {
          double z = kt_get(x, r * 33 + j) - m;
          double want = log_sm ? z - log(s) : exp(z) / s;
          ck_assert_msg(fabs(kt_get(out, r * 33 + j) - want) <= (d ? 1e-13 : 1e-5) * (1 + fabs(want)),
                        "row %lld col %lld: %g vs %g", (long long)r, (long long)j, kt_get(out, r * 33 + j), want);
        }
      }
      tensor_t *copy = tensor_copy(x, NULL);
      ck_assert_int_eq(kern_softmax(copy, log_sm, copy, NULL), TFM_OK); /* in place */
      ck_assert(memcmp(copy->data, out->data, out->nbytes) == 0);
      tensor_unref(copy);
    }
    tensor_t *s = kt_new(dt, NULL, 0);
    ck_assert_int_eq(kern_softmax(s, false, s, NULL), TFM_INVALID_ARGUMENT);
    tensor_unref(s);
    tensor_unref(x);
    tensor_unref(out);
  }
}
END_TEST

/* ---- random ------------------------------------------------------------------------- */

/* Known-answer vectors published with Random123 (philox4x32, 10 rounds). */
START_TEST(philox_matches_published_vectors) {
  static const uint32_t v[3][10] = {
      {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
      {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e,
       0xa20bc7c6, 0x6d5451fd},
      {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb,
       0x5001e420, 0x24126ea1}};
  for (int i = 0; i < 3; i++) {
    uint32_t out[4];
    philox4x32_10(&v[i][4], &v[i][0], out);
    for (int k = 0; k < 4; k++) ck_assert_uint_eq(out[k], v[i][6 + k]);
  }
}
END_TEST

static void moments(const tensor_t *t, double *mean, double *sd, double *lo, double *hi) {
  double s = 0, s2 = 0;
  *lo = INFINITY;
  *hi = -INFINITY;
  for (int64_t i = 0; i < t->num_elements; i++) {
    double v = kt_get(t, i);
    s += v;
    s2 += v * v;
    *lo = fmin(*lo, v);
    *hi = fmax(*hi, v);
  }
  *mean = s / (double)t->num_elements;
  *sd = sqrt(s2 / (double)t->num_elements - *mean * *mean);
}

START_TEST(random_fills_have_the_right_moments) {
  int64_t n = 1000000;
  for (int d = 0; d < 2; d++) {
    tensor_t *t = kt_new(d ? TFM_DOUBLE : TFM_FLOAT, &n, 1);
    philox_t g;
    philox_seed(&g, 42, 7);
    double mean, sd, lo, hi;
    /* standard errors over 1M draws: ~3e-4 (uniform), 1e-3 (normal) */
    ck_assert_int_eq(kern_random_uniform(&g, t, NULL), TFM_OK);
    moments(t, &mean, &sd, &lo, &hi);
    ck_assert_msg(fabs(mean - 0.5) < 2e-3 && fabs(sd - sqrt(1.0 / 12)) < 2e-3, "uniform %g %g", mean, sd);
    ck_assert(lo >= 0 && hi < 1);
    ck_assert_int_eq(kern_random_normal(&g, t, NULL), TFM_OK);
    moments(t, &mean, &sd, &lo, &hi);
    ck_assert_msg(fabs(mean) < 5e-3 && fabs(sd - 1) < 5e-3, "normal %g %g", mean, sd);
    ck_assert(lo < -4 && hi > 4);
    ck_assert_int_eq(kern_truncated_normal(&g, t, NULL), TFM_OK);
    moments(t, &mean, &sd, &lo, &hi);
    /* sd of N(0,1) truncated at +-2: sqrt(1 - 4 phi(2) / (2 Phi(2) - 1)) = 0.87962 */
    ck_assert_msg(fabs(mean) < 5e-3 && fabs(sd - 0.87962) < 5e-3, "truncated %g %g", mean, sd);
    ck_assert(lo >= -2 && hi <= 2 && lo < -1.99 && hi > 1.99);
    tensor_unref(t);
  }
  for (int d = 0; d < 2; d++) {
    tensor_t *t = kt_new(d ? TFM_INT64 : TFM_INT32, &n, 1);
    philox_t g;
    philox_seed(&g, 1, 2);
    ck_assert_int_eq(kern_random_uniform_int(&g, -3, 7, t, NULL), TFM_OK);
    int64_t counts[10] = {0};
    for (int64_t i = 0; i < n; i++) {
      int64_t v = (int64_t)kt_get(t, i);
      ck_assert(v >= -3 && v < 7);
      counts[v + 3]++;
    }
    for (int k = 0; k < 10; k++) ck_assert_msg(labs(counts[k] - n / 10) < 2000, "bucket %d: %lld", k, (long long)counts[k]);
    ck_assert_int_eq(kern_random_uniform_int(&g, 5, 5, t, NULL), TFM_INVALID_ARGUMENT);
    tensor_unref(t);
  }
}
END_TEST

START_TEST(random_is_reproducible_and_thread_independent) {
  int64_t n = 300001;
  tensor_t *a = kt_new(TFM_FLOAT, &n, 1), *b = kt_new(TFM_FLOAT, &n, 1);
  tfm_code (*fills[3])(philox_t *, tensor_t *, tfm_status *) = {kern_random_uniform, kern_random_normal,
                                                                 kern_truncated_normal};
  for (int k = 0; k < 3; k++) {
    philox_t g1, g2;
    philox_seed(&g1, 123, 456);
    philox_seed(&g2, 123, 456);
    kt_set_threads(1);
    ck_assert_int_eq(fills[k](&g1, a, NULL), TFM_OK);
    kt_set_threads(2);
    ck_assert_int_eq(fills[k](&g2, b, NULL), TFM_OK);
    ck_assert(memcmp(a->data, b->data, a->nbytes) == 0);
    ck_assert(g1.counter == g2.counter && g1.counter > 0);
    ck_assert_int_eq(fills[k](&g2, b, NULL), TFM_OK); /* the counter moved on: new numbers */
    ck_assert(memcmp(a->data, b->data, a->nbytes) != 0);
    philox_seed(&g2, 123, 457);
    ck_assert_int_eq(fills[k](&g2, b, NULL), TFM_OK); /* another seed2: other numbers */
    ck_assert(memcmp(a->data, b->data, a->nbytes) != 0);
  }
  kt_set_threads(0);
  tensor_t *i32 = kt_new(TFM_INT32, &n, 1);
  philox_t g;
  philox_seed(&g, 1, 1);
  ck_assert_int_eq(kern_random_uniform(&g, i32, NULL), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(kern_random_uniform_int(&g, 0, 10, a, NULL), TFM_INVALID_ARGUMENT);
  tensor_unref(i32);
  tensor_unref(a);
  tensor_unref(b);
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
  TCase *nn = tcase_create("nn");
  tcase_set_timeout(nn, 300);
  tcase_add_test(nn, conv2d_and_gradients_match_direct_loops);
  tcase_add_test(nn, conv2d_gradients_match_finite_differences);
  tcase_add_test(nn, conv2d_one_and_two_threads_are_bit_identical);
  tcase_add_test(nn, conv_output_size_follows_tensorflow);
  tcase_add_test(nn, conv2d_rejects_bad_shapes);
  tcase_add_test(nn, max_pool_and_grad_match_direct_loops_with_ties);
  tcase_add_test(nn, max_pool_grad_matches_finite_differences);
  tcase_add_test(nn, bias_add_adds_over_last_dim_in_place_too);
  tcase_add_test(nn, softmax_is_stable_and_matches_reference);
  suite_add_tcase(s, nn);
  TCase *rnd = tcase_create("random");
  tcase_set_timeout(rnd, 300);
  tcase_add_test(rnd, philox_matches_published_vectors);
  tcase_add_test(rnd, random_fills_have_the_right_moments);
  tcase_add_test(rnd, random_is_reproducible_and_thread_independent);
  suite_add_tcase(s, rnd);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(nn_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
