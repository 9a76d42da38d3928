/* Element-wise kernels: every op against a float64 (or exact integer) reference
 * written here independently, on sizes that hit every SIMD tail, on wrapped
 * buffers at odd addresses, with NaN/Inf, with broadcasting, at each SIMD level
 * and with 1 and 2 threads (bit-identical), plus the error paths. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/tensor.h"
#include "core/threadpool.h"
#include "kernels/kernels.h"
#include "tfmini/tfmini.h"

/* Per-element checks: Check's ck_assert records a mark (a pipe write) even on
 * success, far too slow for millions of elements; this calls into Check only on
 * failure. */
#define EXPECT(cond, ...)                      \
  do {                                         \
    if (!(cond)) ck_abort_msg(__VA_ARGS__);    \
  } while (0)
#define EXPECT1(cond) EXPECT(cond, "%s", #cond)

static const int64_t sizes[] = {0, 1, 7, 8, 9, 31, 33, 1000003};
#define NSIZES ((int)(sizeof sizes / sizeof sizes[0]))
static const cpu_level_t levels[] = {CPU_BASELINE, CPU_AVX2, CPU_AVX512};

/* ---- helpers ----------------------------------------------------------------- */

static void free_base(void *data, size_t len, void *arg) {
  (void)data;
  (void)len;
  free(arg);
}

/* A tensor one element past a 64-byte boundary, as a user's wrapped buffer may
 * be: misaligned for every vector load (tfm_tensor_wrap requires element alignment). */
static tensor_t *odd_tensor(tfm_dtype dt, const int64_t *dims, int rank) {
  size_t n = 1;
  for (int i = 0; i < rank; i++) n *= (size_t)dims[i];
  const size_t bytes = n * tfm_dtype_size(dt);
  const size_t elem = tfm_dtype_size(dt);
  char *base = aligned_alloc(64, (bytes + elem + 64) / 64 * 64);
  ck_assert_ptr_nonnull(base);
  tfm_tensor *t = tfm_tensor_wrap(dt, dims, rank, base + elem, bytes, free_base, base, NULL);
  ck_assert_ptr_nonnull(t);
  return t;
}

static tensor_t *odd_vector(tfm_dtype dt, int64_t n) { return odd_tensor(dt, &n, 1); }

static tensor_t *new_tensor(tfm_dtype dt, const int64_t *dims, int rank) {
  shape_t s;
  ck_assert_int_eq(shape_make(dims, rank, false, &s, "test", NULL), TFM_OK);
  tensor_t *t = tensor_new_zeros(dt, &s, NULL);
  ck_assert_ptr_nonnull(t);
  return t;
}

/* Element access at any alignment. */
static double get(const tensor_t *t, int64_t i) {
  const char *p = (const char *)t->data + (size_t)i * dtype_size(t->dtype);
  switch (t->dtype) {
    case TFM_FLOAT: { float v; memcpy(&v, p, 4); return v; }
    case TFM_DOUBLE: { double v; memcpy(&v, p, 8); return v; }
    case TFM_INT32: { int32_t v; memcpy(&v, p, 4); return v; }
    case TFM_INT64: { int64_t v; memcpy(&v, p, 8); return (double)v; }
    default: return (double)*(const uint8_t *)p;
  }
}

static int64_t get_i(const tensor_t *t, int64_t i) {
  const char *p = (const char *)t->data + (size_t)i * dtype_size(t->dtype);
  switch (t->dtype) {
    case TFM_INT32: { int32_t v; memcpy(&v, p, 4); return v; }
    case TFM_INT64: { int64_t v; memcpy(&v, p, 8); return v; }
    default: return *(const uint8_t *)p;
  }
}

static void set(tensor_t *t, int64_t i, double v) {
  char *p = (char *)t->data + (size_t)i * dtype_size(t->dtype);
  switch (t->dtype) {
    case TFM_FLOAT: { float f = (float)v; memcpy(p, &f, 4); break; }
    case TFM_DOUBLE: memcpy(p, &v, 8); break;
    case TFM_INT32: { int32_t k = (int32_t)v; memcpy(p, &k, 4); break; }
    case TFM_INT64: { int64_t k = (int64_t)v; memcpy(p, &k, 8); break; }
    default: *(uint8_t *)p = (uint8_t)v; break;
  }
}

static void set_i(tensor_t *t, int64_t i, int64_t v) {
  char *p = (char *)t->data + (size_t)i * dtype_size(t->dtype);
  switch (t->dtype) {
    case TFM_INT32: { int32_t k = (int32_t)v; memcpy(p, &k, 4); break; }
    case TFM_INT64: memcpy(p, &v, 8); break;
    default: *(uint8_t *)p = (uint8_t)v; break;
  }
}

static uint64_t rng_state;
static double uniform(double lo, double hi) {
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return lo + (hi - lo) * (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Floats in [lo, hi], with NaN, +-Inf, +-0 and +-30 sprinkled at fixed places. */
static void fill_float(tensor_t *t, double lo, double hi, bool specials) {
  static const double special[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 30.0, -30.0};
  for (int64_t i = 0; i < t->num_elements; i++) {
    double v = uniform(lo, hi);
    if (specials && i % 11 == 5) v = special[(i / 11) % 7];
    set(t, i, v);
  }
}

/* The reference result rounded to the tested type. */
static double to_type(double v, tfm_dtype dt) { return dt == TFM_FLOAT ? (double)(float)v : v; }

/* got agrees with ref (both NaN, equal infinities, or within a mixed tolerance). */
static bool close_to(double got, double ref, tfm_dtype dt) {
  if (isnan(ref)) return isnan(got);
  if (isinf(ref)) return got == ref;
  const double rtol = dt == TFM_FLOAT ? 2e-5 : 1e-12;
  return fabs(got - ref) <= rtol * (fabs(ref) + 1);
}

static void set_level(cpu_level_t level) { cpu_set_level_cap(level); }
static void teardown_level(void) { cpu_set_level_cap(CPU_AVX512); }

/* ---- references ---------------------------------------------------------------- */

static const ew_unary_t float_unaries[] = {
    EW_IDENTITY, EW_NEG, EW_ABS, EW_SIGN, EW_SQUARE, EW_SQRT, EW_RSQRT, EW_RECIPROCAL,
    EW_EXP, EW_LOG, EW_LOG1P, EW_EXPM1, EW_RELU, EW_SIGMOID, EW_TANH, EW_SOFTPLUS,
    EW_FLOOR, EW_CEIL, EW_ROUND, EW_SIN, EW_COS};

static double ref_unary(ew_unary_t op, double x) {
  switch (op) {
    case EW_IDENTITY: return x;
    case EW_NEG: return -x;
    case EW_ABS: return fabs(x);
    case EW_SIGN: return isnan(x) ? x : (x > 0 ? 1 : (x < 0 ? -1 : 0));
    case EW_SQUARE: return x * x;
    case EW_SQRT: return sqrt(x);
    case EW_RSQRT: return 1 / sqrt(x);
    case EW_RECIPROCAL: return 1 / x;
    case EW_EXP: return exp(x);
    case EW_LOG: return log(x);
    case EW_LOG1P: return log1p(x);
    case EW_EXPM1: return expm1(x);
    case EW_RELU: return isnan(x) ? x : (x > 0 ? x : 0);
    case EW_SIGMOID: return 0.5 * (1 + tanh(0.5 * x)); /* another stable formula */
    case EW_TANH: return tanh(x);
    case EW_SOFTPLUS: return x > 30 ? x + exp(-x) : log(1 + exp(x));
    case EW_FLOOR: return floor(x);
    case EW_CEIL: return ceil(x);
    case EW_ROUND: { /* half to even, spelled out */
      const double f = floor(x), d = x - f;
      if (d < 0.5) return f;
      if (d > 0.5) return f + 1;
      return fmod(f, 2) == 0 ? f : f + 1;
    }
    case EW_SIN: return sin(x);
    case EW_COS: return cos(x);
    default: return NAN;
  }
}

static const ew_binary_t float_binaries[] = {
    EW_ADD, EW_SUB, EW_MUL, EW_DIV, EW_POW, EW_MAXIMUM, EW_MINIMUM, EW_SQUARED_DIFF,
    EW_FLOORDIV, EW_FLOORMOD, EW_RELU_GRAD, EW_SIGMOID_GRAD, EW_TANH_GRAD, EW_SQRT_GRAD,
    EW_RSQRT_GRAD, EW_RECIPROCAL_GRAD, EW_LESS, EW_LESS_EQUAL, EW_GREATER,
    EW_GREATER_EQUAL, EW_EQUAL, EW_NOT_EQUAL};

static bool is_comparison(ew_binary_t op) { return op >= EW_LESS && op <= EW_NOT_EQUAL; }

/* x, y are values of the tested type dt; the division of FloorDiv is rounded to
 * dt first because TensorFlow defines it as floor(x / y) in that type. */
static double ref_binary(ew_binary_t op, double x, double y, tfm_dtype dt) {
  switch (op) {
    case EW_ADD: return x + y;
    case EW_SUB: return x - y;
    case EW_MUL: return x * y;
    case EW_DIV: return x / y;
    case EW_POW: return pow(x, y);
    case EW_MAXIMUM: return isnan(x) || isnan(y) ? NAN : fmax(x, y);
    case EW_MINIMUM: return isnan(x) || isnan(y) ? NAN : fmin(x, y);
    case EW_SQUARED_DIFF: return (x - y) * (x - y);
    case EW_FLOORDIV: return floor(to_type(x / y, dt));
    case EW_FLOORMOD: { /* Python's %: the remainder takes the divisor's sign */
      const double r = fmod(x, y);
      return (r != 0 && (r < 0) != (y < 0)) ? r + y : r;
    }
    case EW_RELU_GRAD: return x > 0 ? y : 0;
    case EW_SIGMOID_GRAD: return y * x * (1 - x);
    case EW_TANH_GRAD: return y * (1 - x * x);
    case EW_SQRT_GRAD: return y / (2 * x);
    case EW_RSQRT_GRAD: return -0.5 * y * x * x * x;
    case EW_RECIPROCAL_GRAD: return -y * x * x;
    case EW_LESS: return x < y;
    case EW_LESS_EQUAL: return x <= y;
    case EW_GREATER: return x > y;
    case EW_GREATER_EQUAL: return x >= y;
    case EW_EQUAL: return x == y;
    case EW_NOT_EQUAL: return x != y;
    default: return NAN;
  }
}

/* ---- float unary and binary over sizes and levels ------------------------------ */

static void check_unary(ew_unary_t op, tfm_dtype dt, int64_t n) {
  tensor_t *x = odd_vector(dt, n), *y = odd_vector(dt, n);
  fill_float(x, -4, 4, true);
  tfm_status *st = tfm_status_new();
  ck_assert_msg(kern_unary(op, x, y, st) == TFM_OK, "%s", tfm_status_message(st));
  for (int64_t i = 0; i < n; i++) {
    const double xv = get(x, i), got = get(y, i), ref = to_type(ref_unary(op, xv), dt);
    EXPECT(close_to(got, ref, dt), "%s %s n=%lld level=%s: x[%lld]=%.9g gives %.9g, want %.9g",
                  ew_unary_name(op), dtype_name(dt), (long long)n, cpu_level_name(cpu_level()),
                  (long long)i, xv, got, ref);
  }
  tfm_status_delete(st);
  tensor_unref(x);
  tensor_unref(y);
}

START_TEST(float_unary_ops_match_float64_reference) {
  set_level(levels[_i]);
  rng_state = 1;
  for (size_t k = 0; k < sizeof float_unaries / sizeof float_unaries[0]; k++)
    for (int s = 0; s < NSIZES; s++) {
      check_unary(float_unaries[k], TFM_FLOAT, sizes[s]);
      check_unary(float_unaries[k], TFM_DOUBLE, sizes[s]);
    }
  teardown_level();
}
END_TEST

/* a_n / b_n: element counts of a and b (n or 1: scalar broadcast both ways). */
static void check_binary(ew_binary_t op, tfm_dtype dt, int64_t n, int64_t a_n, int64_t b_n) {
  tensor_t *a = a_n == 1 && n != 1 ? odd_tensor(dt, NULL, 0) : odd_vector(dt, a_n);
  tensor_t *b = b_n == 1 && n != 1 ? odd_tensor(dt, NULL, 0) : odd_vector(dt, b_n);
  const tfm_dtype out_dt = is_comparison(op) ? TFM_BOOL : dt;
  tensor_t *out = odd_vector(out_dt, n);
  /* gradient helpers take a forward output: keep a in sqrt/sigmoid-like ranges */
  const bool positive = op == EW_SQRT_GRAD || op == EW_RSQRT_GRAD;
  fill_float(a, positive ? 0.1 : -4, 4, true);
  fill_float(b, -4, 4, true);
  if (n > 20) { /* exact ties for comparisons and Maximum */
    set(b, b_n == 1 ? 0 : 13, get(a, a_n == 1 ? 0 : 13));
  }
  tfm_status *st = tfm_status_new();
  ck_assert_msg(kern_binary(op, a, b, out, st) == TFM_OK, "%s", tfm_status_message(st));
  for (int64_t i = 0; i < n; i++) {
    const double x = get(a, a_n == 1 ? 0 : i), y = get(b, b_n == 1 ? 0 : i);
    const double ref = to_type(ref_binary(op, x, y, dt), dt), got = get(out, i);
    EXPECT(close_to(got, ref, dt),
                  "%s %s n=%lld (%lld x %lld) level=%s: [%lld] %.9g, %.9g gives %.9g, want %.9g",
                  ew_binary_name(op), dtype_name(dt), (long long)n, (long long)a_n,
                  (long long)b_n, cpu_level_name(cpu_level()), (long long)i, x, y, got, ref);
  }
  tfm_status_delete(st);
  tensor_unref(a);
  tensor_unref(b);
  tensor_unref(out);
}

START_TEST(float_binary_ops_match_float64_reference) {
  set_level(levels[_i]);
  rng_state = 2;
  for (size_t k = 0; k < sizeof float_binaries / sizeof float_binaries[0]; k++)
    for (int s = 0; s < NSIZES; s++) {
      const int64_t n = sizes[s];
      for (int d = 0; d < 2; d++) {
        const tfm_dtype dt = d ? TFM_DOUBLE : TFM_FLOAT;
        check_binary(float_binaries[k], dt, n, n, n);
        if (n > 0 && n < 1000000) { /* the large size checks the split once per op */
          check_binary(float_binaries[k], dt, n, n, 1);
          check_binary(float_binaries[k], dt, n, 1, n);
        }
      }
    }
  teardown_level();
}
END_TEST

START_TEST(sigmoid_and_softplus_are_stable_for_large_inputs) {
  set_level(levels[_i]);
  const double xs[] = {-1000, -100, -20, 0, 20, 100, 1000};
  for (int d = 0; d < 2; d++) {
    const tfm_dtype dt = d ? TFM_DOUBLE : TFM_FLOAT;
    tensor_t *x = odd_vector(dt, 7), *s = odd_vector(dt, 7), *p = odd_vector(dt, 7);
    for (int i = 0; i < 7; i++) set(x, i, xs[i]);
    ck_assert_int_eq(kern_unary(EW_SIGMOID, x, s, NULL), TFM_OK);
    ck_assert_int_eq(kern_unary(EW_SOFTPLUS, x, p, NULL), TFM_OK);
    for (int i = 0; i < 7; i++) {
      const double sig = get(s, i), sp = get(p, i);
      ck_assert(!isnan(sig) && !isnan(sp));
      ck_assert(close_to(sig, to_type(1 / (1 + exp(-xs[i])), dt), dt));
      ck_assert(close_to(sp, to_type(xs[i] > 0 ? xs[i] + log1p(exp(-xs[i])) : log1p(exp(xs[i])), dt), dt));
    }
    ck_assert(get(s, 0) == 0 || get(s, 0) < 1e-300); /* sigmoid(-1000) underflows to 0 */
    ck_assert(get(s, 6) == 1);
    ck_assert(get(p, 6) == 1000);
    tensor_unref(x);
    tensor_unref(s);
    tensor_unref(p);
  }
  teardown_level();
}
END_TEST

/* Distance in float32 ulps (of the reference) between got and the exact ref. */
static double ulps_f32(float got, double ref) {
  const float r = (float)ref;
  double ulp = fabs((double)nextafterf(r, INFINITY) - (double)r);
  if (ulp < 1.4e-45) ulp = 1.4e-45;
  return fabs((double)got - ref) / ulp;
}

/* float32 Exp and Sigmoid do not call libm (they vectorise): hold them to 2 ulp
 * over the whole range where the result is neither 0 nor inf. */
START_TEST(float32_exp_and_sigmoid_are_within_2_ulp) {
  set_level(levels[_i]);
  const int64_t n = 400003;
  tensor_t *x = odd_vector(TFM_FLOAT, n), *y = odd_vector(TFM_FLOAT, n);
  for (int64_t i = 0; i < n; i++) set(x, i, -104.0 + 193.0 * (double)i / (double)(n - 1));
  ck_assert_int_eq(kern_unary(EW_EXP, x, y, NULL), TFM_OK);
  for (int64_t i = 0; i < n; i++) {
    const double xv = get(x, i), ref = exp(xv);
    const float got = (float)get(y, i);
    if (ref > 3.4028234663852886e38) EXPECT(isinf(got), "exp(%.9g) = %.9g, want inf", xv, got);
    else EXPECT(ulps_f32(got, ref) <= 2, "exp(%.9g) = %.9g, want %.9g", xv, got, ref);
  }
  ck_assert_int_eq(kern_unary(EW_SIGMOID, x, y, NULL), TFM_OK);
  for (int64_t i = 0; i < n; i++) {
    const double xv = get(x, i), ref = 1 / (1 + exp(-xv));
    const float got = (float)get(y, i);
    EXPECT(ulps_f32(got, ref) <= 3, "sigmoid(%.9g) = %.9g, want %.9g", xv, got, ref);
  }
  tensor_unref(x);
  tensor_unref(y);
  teardown_level();
}
END_TEST

/* ---- integers and bools ---------------------------------------------------------- */

static int64_t wrap(int64_t v, tfm_dtype dt) {
  switch (dt) {
    case TFM_INT32: return (int32_t)(uint32_t)(uint64_t)v;
    case TFM_UINT8: return (uint8_t)(uint64_t)v;
    default: return v;
  }
}

static const ew_binary_t int_binaries[] = {
    EW_ADD, EW_SUB, EW_MUL, EW_DIV, EW_MAXIMUM, EW_MINIMUM, EW_SQUARED_DIFF, EW_FLOORDIV,
    EW_FLOORMOD, EW_LESS, EW_LESS_EQUAL, EW_GREATER, EW_GREATER_EQUAL, EW_EQUAL, EW_NOT_EQUAL};

static int64_t ref_int_binary(ew_binary_t op, int64_t x, int64_t y, tfm_dtype dt) {
  switch (op) {
    case EW_ADD: return wrap(x + y, dt);
    case EW_SUB: return wrap(x - y, dt);
    case EW_MUL: return wrap(x * y, dt);
    case EW_DIV: return (int64_t)trunc((double)x / (double)y);
    case EW_MAXIMUM: return x > y ? x : y;
    case EW_MINIMUM: return x < y ? x : y;
    case EW_SQUARED_DIFF: return wrap((x - y) * (x - y), dt);
    case EW_FLOORDIV: return (int64_t)floor((double)x / (double)y);
    case EW_FLOORMOD: return x - y * (int64_t)floor((double)x / (double)y);
    case EW_LESS: return x < y;
    case EW_LESS_EQUAL: return x <= y;
    case EW_GREATER: return x > y;
    case EW_GREATER_EQUAL: return x >= y;
    case EW_EQUAL: return x == y;
    case EW_NOT_EQUAL: return x != y;
    default: return -999;
  }
}

START_TEST(integer_binary_ops_are_exact) {
  set_level(levels[_i]);
  rng_state = 3;
  const tfm_dtype dts[] = {TFM_INT32, TFM_INT64, TFM_UINT8};
  for (int d = 0; d < 3; d++)
    for (size_t k = 0; k < sizeof int_binaries / sizeof int_binaries[0]; k++)
      for (int s = 0; s < NSIZES; s++) {
        const tfm_dtype dt = dts[d];
        const ew_binary_t op = int_binaries[k];
        if (!ew_binary_supports(op, dt)) {
          ck_assert(dt == TFM_UINT8 && op == EW_SQUARED_DIFF);
          continue;
        }
        const int64_t n = sizes[s];
        tensor_t *a = odd_vector(dt, n), *b = odd_vector(dt, n);
        tensor_t *out = odd_vector(ew_binary_out_dtype(op, dt), n);
        const bool u8 = dt == TFM_UINT8;
        for (int64_t i = 0; i < n; i++) {
          set_i(a, i, (int64_t)uniform(u8 ? 0 : -100000, u8 ? 256 : 100000));
          int64_t v = (int64_t)uniform(u8 ? 1 : -60, u8 ? 256 : 60);
          set_i(b, i, v == 0 ? 7 : v);
        }
        ck_assert_int_eq(kern_binary(op, a, b, out, NULL), TFM_OK);
        for (int64_t i = 0; i < n; i++) {
          const int64_t x = get_i(a, i), y = get_i(b, i);
          const int64_t want = ref_int_binary(op, x, y, dt), got = get_i(out, i);
          EXPECT(got == want, "%s %s [%lld]: %lld, %lld gives %lld, want %lld",
                        ew_binary_name(op), dtype_name(dt), (long long)i, (long long)x,
                        (long long)y, (long long)got, (long long)want);
        }
        tensor_unref(a);
        tensor_unref(b);
        tensor_unref(out);
      }
  teardown_level();
}
END_TEST

START_TEST(integer_unary_ops_are_exact) {
  set_level(levels[_i]);
  rng_state = 4;
  const ew_unary_t ops[] = {EW_IDENTITY, EW_NEG, EW_ABS, EW_SIGN, EW_SQUARE};
  for (int d = 0; d < 2; d++)
    for (int k = 0; k < 5; k++)
      for (int s = 0; s < NSIZES; s++) {
        const tfm_dtype dt = d ? TFM_INT64 : TFM_INT32;
        const int64_t n = sizes[s];
        tensor_t *x = odd_vector(dt, n), *y = odd_vector(dt, n);
        for (int64_t i = 0; i < n; i++) set_i(x, i, (int64_t)uniform(-40000, 40000));
        ck_assert_int_eq(kern_unary(ops[k], x, y, NULL), TFM_OK);
        for (int64_t i = 0; i < n; i++) {
          const int64_t v = get_i(x, i);
          const int64_t want = ops[k] == EW_IDENTITY ? v
                               : ops[k] == EW_NEG    ? -v
                               : ops[k] == EW_ABS    ? llabs(v)
                               : ops[k] == EW_SIGN   ? (v > 0) - (v < 0)
                                                     : v * v;
          EXPECT1(get_i(y, i) == want);
        }
        tensor_unref(x);
        tensor_unref(y);
      }
  teardown_level();
}
END_TEST

START_TEST(integer_overflow_wraps_like_tensorflow) {
  set_level(levels[_i]);
  int64_t two = 2;
  tensor_t *a = new_tensor(TFM_INT32, &two, 1), *b = new_tensor(TFM_INT32, &two, 1);
  tensor_t *out = new_tensor(TFM_INT32, &two, 1);
  TENSOR_I32(a)[0] = INT32_MIN;
  TENSOR_I32(a)[1] = INT32_MAX;
  TENSOR_I32(b)[0] = -1;
  TENSOR_I32(b)[1] = -1;
  ck_assert_int_eq(kern_binary(EW_DIV, a, b, out, NULL), TFM_OK);
  ck_assert_int_eq(TENSOR_I32(out)[0], INT32_MIN);
  ck_assert_int_eq(TENSOR_I32(out)[1], -INT32_MAX);
  ck_assert_int_eq(kern_binary(EW_FLOORDIV, a, b, out, NULL), TFM_OK);
  ck_assert_int_eq(TENSOR_I32(out)[0], INT32_MIN);
  ck_assert_int_eq(kern_binary(EW_FLOORMOD, a, b, out, NULL), TFM_OK);
  ck_assert_int_eq(TENSOR_I32(out)[0], 0);
  ck_assert_int_eq(TENSOR_I32(out)[1], 0);
  TENSOR_I32(b)[0] = 1;
  TENSOR_I32(b)[1] = 1;
  ck_assert_int_eq(kern_binary(EW_ADD, a, b, out, NULL), TFM_OK);
  ck_assert_int_eq(TENSOR_I32(out)[1], INT32_MIN);
  ck_assert_int_eq(kern_binary(EW_SUB, a, b, out, NULL), TFM_OK);
  ck_assert_int_eq(TENSOR_I32(out)[0], INT32_MAX);
  ck_assert_int_eq(kern_unary(EW_NEG, a, out, NULL), TFM_OK);
  ck_assert_int_eq(TENSOR_I32(out)[0], INT32_MIN);
  ck_assert_int_eq(kern_unary(EW_ABS, a, out, NULL), TFM_OK);
  ck_assert_int_eq(TENSOR_I32(out)[0], INT32_MIN);
  /* floor semantics on mixed signs: -7 // 2 = -4, -7 % 2 = 1, 7 % -2 = -1 */
  TENSOR_I32(a)[0] = -7;
  TENSOR_I32(b)[0] = 2;
  TENSOR_I32(a)[1] = 7;
  TENSOR_I32(b)[1] = -2;
  ck_assert_int_eq(kern_binary(EW_FLOORDIV, a, b, out, NULL), TFM_OK);
  ck_assert_int_eq(TENSOR_I32(out)[0], -4);
  ck_assert_int_eq(TENSOR_I32(out)[1], -4);
  ck_assert_int_eq(kern_binary(EW_FLOORMOD, a, b, out, NULL), TFM_OK);
  ck_assert_int_eq(TENSOR_I32(out)[0], 1);
  ck_assert_int_eq(TENSOR_I32(out)[1], -1);
  ck_assert_int_eq(kern_binary(EW_DIV, a, b, out, NULL), TFM_OK);
  ck_assert_int_eq(TENSOR_I32(out)[0], -3);
  tensor_unref(a);
  tensor_unref(b);
  tensor_unref(out);
  teardown_level();
}
END_TEST

START_TEST(float_floor_division_follows_the_divisor_sign) {
  int64_t four = 4;
  tensor_t *a = new_tensor(TFM_FLOAT, &four, 1), *b = new_tensor(TFM_FLOAT, &four, 1);
  tensor_t *out = new_tensor(TFM_FLOAT, &four, 1);
  const float av[] = {-7, 7, -7.5f, 7.5f}, bv[] = {2, -2, 2, -2};
  memcpy(a->data, av, sizeof av);
  memcpy(b->data, bv, sizeof bv);
  ck_assert_int_eq(kern_binary(EW_FLOORDIV, a, b, out, NULL), TFM_OK);
  const float q[] = {-4, -4, -4, -4};
  for (int i = 0; i < 4; i++) ck_assert_float_eq(TENSOR_F32(out)[i], q[i]);
  ck_assert_int_eq(kern_binary(EW_FLOORMOD, a, b, out, NULL), TFM_OK);
  const float r[] = {1, -1, 0.5f, -0.5f};
  for (int i = 0; i < 4; i++) ck_assert_float_eq(TENSOR_F32(out)[i], r[i]);
  tensor_unref(a);
  tensor_unref(b);
  tensor_unref(out);
}
END_TEST

START_TEST(bool_logic_and_comparisons) {
  set_level(levels[_i]);
  for (int s = 0; s < NSIZES; s++) {
    const int64_t n = sizes[s];
    tensor_t *a = odd_vector(TFM_BOOL, n), *b = odd_vector(TFM_BOOL, n);
    tensor_t *out = odd_vector(TFM_BOOL, n);
    for (int64_t i = 0; i < n; i++) {
      TENSOR_BOOL(a)[i] = (uint8_t)(i % 3 == 0);
      TENSOR_BOOL(b)[i] = (uint8_t)(i % 2 == 0);
    }
    const ew_binary_t ops[] = {EW_LOGICAL_AND, EW_LOGICAL_OR, EW_EQUAL, EW_NOT_EQUAL};
    for (int k = 0; k < 4; k++) {
      ck_assert_int_eq(kern_binary(ops[k], a, b, out, NULL), TFM_OK);
      for (int64_t i = 0; i < n; i++) {
        const bool x = i % 3 == 0, y = i % 2 == 0;
        const bool want = k == 0 ? x && y : k == 1 ? x || y : k == 2 ? x == y : x != y;
        EXPECT1(TENSOR_BOOL(out)[i] == want);
      }
    }
    ck_assert_int_eq(kern_unary(EW_LOGICAL_NOT, a, out, NULL), TFM_OK);
    for (int64_t i = 0; i < n; i++) EXPECT1((TENSOR_BOOL(out)[i]) == (i % 3 != 0));
    tensor_unref(a);
    tensor_unref(b);
    tensor_unref(out);
  }
  teardown_level();
}
END_TEST

/* ---- broadcasting ------------------------------------------------------------------ */

typedef struct bshape {
  int rank;
  int64_t dim[8];
} bshape_t;

/* Flat index into `in` for the output multi-index, by NumPy's rules. */
static int64_t source_index(const bshape_t *in, const bshape_t *out, const int64_t *idx) {
  int64_t flat = 0;
  for (int i = 0; i < in->rank; i++) {
    const int64_t k = idx[i + out->rank - in->rank];
    flat = flat * in->dim[i] + (in->dim[i] == 1 ? 0 : k);
  }
  return flat;
}

static void check_broadcast(bshape_t as, bshape_t bs, ew_binary_t op, tfm_dtype dt) {
  bshape_t os = {as.rank > bs.rank ? as.rank : bs.rank, {0}};
  for (int i = 0; i < os.rank; i++) {
    const int ia = i - (os.rank - as.rank), ib = i - (os.rank - bs.rank);
    const int64_t da = ia >= 0 ? as.dim[ia] : 1, db = ib >= 0 ? bs.dim[ib] : 1;
    os.dim[i] = da == 1 ? db : da;
  }
  tensor_t *a = odd_tensor(dt, as.dim, as.rank), *b = odd_tensor(dt, bs.dim, bs.rank);
  tensor_t *out = odd_tensor(ew_binary_out_dtype(op, dt), os.dim, os.rank);
  fill_float(a, -3, 3, true);
  fill_float(b, -3, 3, false);
  ck_assert_int_eq(kern_binary(op, a, b, out, NULL), TFM_OK);
  int64_t idx[8] = {0};
  for (int64_t i = 0; i < out->num_elements; i++) {
    const double x = get(a, source_index(&as, &os, idx)), y = get(b, source_index(&bs, &os, idx));
    const double want = to_type(ref_binary(op, x, y, dt), dt);
    EXPECT(close_to(get(out, i), want, dt), "%s broadcast at %lld: got %g want %g",
                  ew_binary_name(op), (long long)i, get(out, i), want);
    for (int k = os.rank - 1; k >= 0; k--) {
      if (++idx[k] < os.dim[k]) break;
      idx[k] = 0;
    }
  }
  tensor_unref(a);
  tensor_unref(b);
  tensor_unref(out);
}

START_TEST(binary_ops_broadcast_like_numpy) {
  set_level(levels[_i]);
  rng_state = 5;
  const bshape_t pairs[][2] = {
      {{2, {3, 1}}, {2, {1, 4}}},
      {{3, {2, 3, 4}}, {1, {4}}},
      {{1, {4}}, {3, {2, 3, 4}}},
      {{0, {0}}, {2, {5, 2}}},
      {{2, {5, 2}}, {0, {0}}},
      {{4, {8, 1, 6, 1}}, {3, {7, 1, 5}}},
      {{3, {4, 1, 3}}, {3, {1, 5, 1}}},
      {{3, {2, 1, 33}}, {2, {9, 33}}},
      {{2, {1, 1}}, {1, {9}}},
      {{2, {0, 3}}, {2, {1, 3}}},
      {{3, {300, 1, 70}}, {3, {1, 50, 70}}},   /* 1.05M outputs: parallel, general path */
      {{2, {1000, 1}}, {1, {1100}}},          /* 1.1M outputs: outer product pattern */
      {{8, {2, 1, 2, 1, 2, 1, 2, 3}}, {7, {3, 2, 1, 2, 1, 2, 1}}},
      {{2, {40000, 3}}, {1, {3}}},            /* short rows; tasks split rows */
      {{1, {7}}, {3, {10000, 1, 7}}},         /* short rows on the left */
      {{2, {1500, 64}}, {2, {1, 64}}},        /* the longest short row */
      {{2, {700, 65}}, {1, {65}}},            /* just past it */
  };
  const ew_binary_t ops[] = {EW_ADD, EW_SUB, EW_MUL, EW_MAXIMUM, EW_LESS};
  for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++)
    for (int k = 0; k < 5; k++) {
      check_broadcast(pairs[p][0], pairs[p][1], ops[k], TFM_FLOAT);
      check_broadcast(pairs[p][0], pairs[p][1], ops[k], TFM_DOUBLE);
    }
  teardown_level();
}
END_TEST

START_TEST(broadcast_to_copies_along_size_one_dims) {
  set_level(levels[_i]);
  const bshape_t cases[][2] = {
      {{2, {3, 1}}, {3, {2, 3, 4}}},
      {{0, {0}}, {1, {5}}},
      {{1, {40000}}, {2, {3, 40000}}},
      {{3, {1, 7, 1}}, {3, {2, 7, 3}}},
  };
  const tfm_dtype dts[] = {TFM_FLOAT, TFM_DOUBLE, TFM_INT32, TFM_UINT8};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
    for (int d = 0; d < 4; d++) {
      bshape_t xs = cases[c][0], os = cases[c][1];
      tensor_t *x = odd_tensor(dts[d], xs.dim, xs.rank), *out = odd_tensor(dts[d], os.dim, os.rank);
      for (int64_t i = 0; i < x->num_elements; i++) set(x, i, (double)(i % 200));
      ck_assert_int_eq(kern_broadcast_to(x, out, NULL), TFM_OK);
      int64_t idx[8] = {0};
      for (int64_t i = 0; i < out->num_elements; i++) {
        EXPECT1(get(out, i) == get(x, source_index(&xs, &os, idx)));
        for (int k = os.rank - 1; k >= 0; k--) {
          if (++idx[k] < os.dim[k]) break;
          idx[k] = 0;
        }
      }
      tensor_unref(x);
      tensor_unref(out);
    }
  teardown_level();
}
END_TEST

/* ---- threads -------------------------------------------------------------------------- */

/* Runs a mix of large kernels and returns the concatenated outputs' checksum
 * bytes in `dst` (caller compares runs). */
static void run_large_mix(tensor_t **outs) {
  int64_t n = 1000003, d2[] = {1001, 999}, bd[] = {1001, 1};
  tensor_t *x = odd_vector(TFM_FLOAT, n), *y = odd_vector(TFM_FLOAT, n);
  tensor_t *m = odd_tensor(TFM_FLOAT, d2, 2), *c = odd_tensor(TFM_FLOAT, bd, 2);
  rng_state = 6;
  fill_float(x, -3, 3, true);
  fill_float(y, -3, 3, true);
  fill_float(m, -3, 3, false);
  fill_float(c, -3, 3, false);
  ck_assert_int_eq(kern_unary(EW_TANH, x, outs[0], NULL), TFM_OK);
  ck_assert_int_eq(kern_binary(EW_MUL, x, y, outs[1], NULL), TFM_OK);
  ck_assert_int_eq(kern_binary(EW_SUB, m, c, outs[2], NULL), TFM_OK);
  ck_assert_int_eq(kern_cast(x, outs[3], NULL), TFM_OK);
  const int perm[] = {1, 0};
  ck_assert_int_eq(kern_transpose(m, perm, outs[4], NULL), TFM_OK);
  const tensor_t *xs[] = {x, y, x};
  ck_assert_int_eq(kern_add_n(xs, 3, outs[5], NULL), TFM_OK);
  ck_assert_int_eq(kern_axpy(0.3, x, y, outs[6], NULL), TFM_OK);
  tensor_unref(x);
  tensor_unref(y);
  tensor_unref(m);
  tensor_unref(c);
}

START_TEST(results_are_bit_identical_for_1_and_2_threads) {
  int64_t n = 1000003, d2[] = {1001, 999}, dt[] = {999, 1001};
  tensor_t *runs[2][7];
  for (int r = 0; r < 2; r++) {
    ck_assert_int_eq(tfm_set_num_threads(r + 1, NULL), TFM_OK);
    runs[r][0] = odd_vector(TFM_FLOAT, n);
    runs[r][1] = odd_vector(TFM_FLOAT, n);
    runs[r][2] = odd_tensor(TFM_FLOAT, d2, 2);
    runs[r][3] = odd_vector(TFM_INT32, n);
    runs[r][4] = odd_tensor(TFM_FLOAT, dt, 2);
    runs[r][5] = odd_vector(TFM_FLOAT, n);
    runs[r][6] = odd_vector(TFM_FLOAT, n);
    run_large_mix(runs[r]);
  }
  for (int k = 0; k < 7; k++) {
    ck_assert_uint_eq(runs[0][k]->nbytes, runs[1][k]->nbytes);
    ck_assert_msg(memcmp(runs[0][k]->data, runs[1][k]->data, runs[0][k]->nbytes) == 0,
                  "output %d differs between 1 and 2 threads", k);
    tensor_unref(runs[0][k]);
    tensor_unref(runs[1][k]);
  }
  tfm_set_num_threads(0, NULL);
}
END_TEST

/* ---- cast, fill, transpose, add_n, select, axpy -------------------------------------- */

static double ref_cast(double v, tfm_dtype to) {
  switch (to) {
    case TFM_FLOAT: return (float)v;
    case TFM_DOUBLE: return v;
    case TFM_BOOL: return v != 0;
    case TFM_INT32: return isnan(v) ? 0 : v <= -2147483648.0 ? -2147483648.0 : v >= 2147483647.0 ? 2147483647.0 : trunc(v);
    case TFM_INT64: return isnan(v) ? 0 : trunc(v); /* test values stay far inside int64 */
    case TFM_UINT8: return isnan(v) || v <= 0 ? 0 : v >= 255 ? 255 : trunc(v);
    default: return NAN;
  }
}

START_TEST(cast_converts_every_pair) {
  const tfm_dtype dts[] = {TFM_FLOAT, TFM_DOUBLE, TFM_INT32, TFM_INT64, TFM_UINT8, TFM_BOOL};
  const double fvals[] = {-2.7, 2.7, 0.5, -0.0, NAN, 1e10, -1e10, 300.9, 255.5, 0, 1, 42};
  const double ivals[] = {-3, 3, 0, 1, 300, -1, 255, 256, 42, 7, 100000, 2};
  for (int s = 0; s < 6; s++)
    for (int d = 0; d < 6; d++)
      for (int sz = 0; sz < NSIZES; sz++) {
        const tfm_dtype from = dts[s], to = dts[d];
        const int64_t n = sizes[sz];
        tensor_t *x = odd_vector(from, n), *y = odd_vector(to, n);
        for (int64_t i = 0; i < n; i++) {
          double v = dtype_is_float(from) ? fvals[i % 12] : ivals[i % 12];
          if (from == TFM_BOOL) v = i % 3 == 0;
          set(x, i, from == TFM_UINT8 ? (double)(uint8_t)(int64_t)v : v);
        }
        ck_assert_int_eq(kern_cast(x, y, NULL), TFM_OK);
        for (int64_t i = 0; i < n; i++) {
          const double v = get(x, i);
          double want = ref_cast(v, to);
          if (!dtype_is_float(from) && to == TFM_UINT8) want = (double)(uint8_t)(int64_t)v;
          if (!dtype_is_float(from) && to == TFM_INT32) want = (double)(int32_t)(int64_t)v;
          EXPECT(get(y, i) == want || (isnan(want) && isnan(get(y, i))),
                        "cast %s -> %s of %g gave %g, want %g", dtype_name(from), dtype_name(to),
                        v, get(y, i), want);
        }
        tensor_unref(x);
        tensor_unref(y);
      }
}
END_TEST

START_TEST(fill_sets_every_element) {
  int64_t dims[] = {3, 33};
  tensor_t *v = tensor_scalar_f64(2.5, NULL), *out = odd_tensor(TFM_DOUBLE, dims, 2);
  ck_assert_int_eq(kern_fill(v, out, NULL), TFM_OK);
  for (int64_t i = 0; i < 99; i++) EXPECT1(get(out, i) == 2.5);
  tensor_unref(v);
  tensor_unref(out);
  int64_t big = 100001;
  tensor_t *vi = tensor_scalar_i32(-7, NULL), *oi = odd_vector(TFM_INT32, big);
  ck_assert_int_eq(kern_fill(vi, oi, NULL), TFM_OK);
  for (int64_t i = 0; i < big; i++) EXPECT1((get_i(oi, i)) == (-7));
  tensor_unref(vi);
  tensor_unref(oi);
  /* strings: every element gets its own copy */
  shape_t sc = shape_scalar(), s3 = shape_vector(3);
  tensor_t *vs = tensor_new(TFM_STRING, &sc, NULL), *os = tensor_new(TFM_STRING, &s3, NULL);
  ck_assert_int_eq(tensor_string_set(vs, 0, "ab\0c", 4, NULL), TFM_OK);
  ck_assert_int_eq(kern_fill(vs, os, NULL), TFM_OK);
  for (int i = 0; i < 3; i++) {
    ck_assert_uint_eq(TENSOR_STR(os)[i].len, 4);
    ck_assert(memcmp(TENSOR_STR(os)[i].data, "ab\0c", 4) == 0);
    ck_assert_ptr_ne(TENSOR_STR(os)[i].data, TENSOR_STR(vs)[0].data);
  }
  tensor_unref(vs);
  tensor_unref(os);
}
END_TEST

/* Checks out[j] == x[permuted index] for a transpose of x's shape dims by perm. */
static void check_transpose(const int64_t *dims, int rank, const int *perm, tfm_dtype dt) {
  int64_t odims[8];
  for (int i = 0; i < rank; i++) odims[i] = dims[perm[i]];
  tensor_t *x = odd_tensor(dt, dims, rank), *out = odd_tensor(dt, odims, rank);
  for (int64_t i = 0; i < x->num_elements; i++) set(x, i, (double)(i % 251));
  tfm_status *st = tfm_status_new();
  ck_assert_msg(kern_transpose(x, perm, out, st) == TFM_OK, "%s", tfm_status_message(st));
  int64_t idx[8] = {0};
  for (int64_t j = 0; j < out->num_elements; j++) {
    int64_t in_idx[8], flat = 0;
    for (int i = 0; i < rank; i++) in_idx[perm[i]] = idx[i];
    for (int k = 0; k < rank; k++) flat = flat * dims[k] + in_idx[k];
    EXPECT(get(out, j) == get(x, flat), "transpose rank %d at %lld", rank, (long long)j);
    for (int k = rank - 1; k >= 0; k--) {
      if (++idx[k] < odims[k]) break;
      idx[k] = 0;
    }
  }
  tfm_status_delete(st);
  tensor_unref(x);
  tensor_unref(out);
}

START_TEST(transpose_permutes_dims) {
  const tfm_dtype dts[] = {TFM_FLOAT, TFM_DOUBLE, TFM_UINT8, TFM_INT64};
  for (int d = 0; d < 4; d++) {
    check_transpose((int64_t[]){2, 3, 4}, 3, (int[]){2, 0, 1}, dts[d]);
    check_transpose((int64_t[]){2, 3, 4}, 3, (int[]){0, 1, 2}, dts[d]);
    check_transpose((int64_t[]){2, 3, 4}, 3, (int[]){1, 0, 2}, dts[d]);
    check_transpose((int64_t[]){1, 3, 1, 5}, 4, (int[]){3, 2, 1, 0}, dts[d]);
    check_transpose((int64_t[]){2, 5, 7, 3}, 4, (int[]){0, 3, 1, 2}, dts[d]);
    check_transpose((int64_t[]){7, 9}, 2, (int[]){1, 0}, dts[d]);
    check_transpose((int64_t[]){0, 9}, 2, (int[]){1, 0}, dts[d]);
    check_transpose((int64_t[]){5}, 1, (int[]){0}, dts[d]);
    check_transpose((int64_t[]){0}, 0, (int[]){0}, dts[d]);
    check_transpose((int64_t[]){2, 1, 2, 1, 2, 1, 2, 3}, 8, (int[]){7, 6, 5, 4, 3, 2, 1, 0}, dts[d]);
  }
  check_transpose((int64_t[]){1001, 1003}, 2, (int[]){1, 0}, TFM_FLOAT);
  check_transpose((int64_t[]){64, 129, 130}, 3, (int[]){2, 1, 0}, TFM_DOUBLE);
}
END_TEST

START_TEST(add_n_sums_in_order_and_may_overwrite_an_input) {
  set_level(levels[_i]);
  for (int s = 0; s < NSIZES; s++) {
    const int64_t n = sizes[s];
    tensor_t *x[3];
    for (int k = 0; k < 3; k++) {
      x[k] = odd_vector(TFM_FLOAT, n);
      fill_float(x[k], -1, 1, false);
    }
    float *want = malloc((size_t)(n + 1) * sizeof *want);
    for (int64_t i = 0; i < n; i++)
      want[i] = (float)((float)(get(x[0], i) + get(x[1], i)) + get(x[2], i));
    const tensor_t *xs[] = {x[0], x[1], x[2]};
    ck_assert_int_eq(kern_add_n(xs, 3, x[2], NULL), TFM_OK); /* out is the last input */
    for (int64_t i = 0; i < n; i++) EXPECT1(get(x[2], i) == want[i]);
    free(want);
    for (int k = 0; k < 3; k++) tensor_unref(x[k]);
  }
  int64_t four = 4;
  tensor_t *i1 = new_tensor(TFM_INT64, &four, 1), *i2 = new_tensor(TFM_INT64, &four, 1);
  for (int i = 0; i < 4; i++) TENSOR_I64(i1)[i] = (int64_t)1 << 40;
  const tensor_t *one[] = {i1, i1};
  ck_assert_int_eq(kern_add_n(one, 2, i2, NULL), TFM_OK);
  ck_assert(TENSOR_I64(i2)[3] == (int64_t)1 << 41);
  tensor_unref(i1);
  tensor_unref(i2);
  teardown_level();
}
END_TEST

START_TEST(select_picks_elementwise_by_row_or_scalar) {
  int64_t dims[] = {3, 40000};
  const int64_t n = 120000;
  tensor_t *a = odd_tensor(TFM_DOUBLE, dims, 2), *b = odd_tensor(TFM_DOUBLE, dims, 2);
  tensor_t *out = odd_tensor(TFM_DOUBLE, dims, 2), *c = odd_tensor(TFM_BOOL, dims, 2);
  for (int64_t i = 0; i < n; i++) {
    set(a, i, (double)i);
    set(b, i, (double)-i);
    TENSOR_BOOL(c)[i] = (uint8_t)(i % 7 == 0);
  }
  ck_assert_int_eq(kern_select(c, a, b, out, NULL), TFM_OK);
  for (int64_t i = 0; i < n; i++) EXPECT1(get(out, i) == (i % 7 == 0 ? i : -i));
  int64_t three = 3;
  tensor_t *rows = odd_vector(TFM_BOOL, three);
  TENSOR_BOOL(rows)[0] = 0;
  TENSOR_BOOL(rows)[1] = 1;
  TENSOR_BOOL(rows)[2] = 0;
  ck_assert_int_eq(kern_select(rows, a, b, out, NULL), TFM_OK);
  for (int64_t i = 0; i < n; i++) EXPECT1(get(out, i) == (i / 40000 == 1 ? i : -i));
  tensor_t *sc = odd_tensor(TFM_BOOL, NULL, 0);
  TENSOR_BOOL(sc)[0] = 1;
  ck_assert_int_eq(kern_select(sc, a, b, out, NULL), TFM_OK);
  for (int64_t i = 0; i < n; i++) EXPECT1(get(out, i) == i);
  tensor_unref(a);
  tensor_unref(b);
  tensor_unref(out);
  tensor_unref(c);
  tensor_unref(rows);
  tensor_unref(sc);
}
END_TEST

START_TEST(axpy_matches_mul_then_add) {
  set_level(levels[_i]);
  for (int s = 0; s < NSIZES; s++) {
    const int64_t n = sizes[s];
    tensor_t *x = odd_vector(TFM_FLOAT, n), *y = odd_vector(TFM_FLOAT, n);
    tensor_t *out = odd_vector(TFM_FLOAT, n);
    fill_float(x, -2, 2, true);
    fill_float(y, -2, 2, true);
    ck_assert_int_eq(kern_axpy(0.7, x, y, out, NULL), TFM_OK);
    for (int64_t i = 0; i < n; i++) {
      const float want = (float)((float)(0.7f * (float)get(x, i)) + (float)get(y, i));
      EXPECT1(get(out, i) == want || (isnan(want) && isnan(get(out, i))));
    }
    tensor_unref(x);
    tensor_unref(y);
    tensor_unref(out);
  }
  teardown_level();
}
END_TEST

START_TEST(in_place_output_is_allowed) {
  set_level(levels[_i]);
  const int64_t n = 100003;
  tensor_t *a = odd_vector(TFM_FLOAT, n), *b = odd_vector(TFM_FLOAT, n);
  fill_float(a, -2, 2, false);
  fill_float(b, -2, 2, false);
  float *want = malloc((size_t)n * sizeof *want);
  for (int64_t i = 0; i < n; i++) want[i] = (float)get(a, i) * (float)get(b, i);
  ck_assert_int_eq(kern_binary(EW_MUL, a, b, b, NULL), TFM_OK);
  for (int64_t i = 0; i < n; i++) EXPECT1(get(b, i) == want[i]);
  for (int64_t i = 0; i < n; i++) want[i] = -(float)get(a, i);
  ck_assert_int_eq(kern_unary(EW_NEG, a, a, NULL), TFM_OK);
  for (int64_t i = 0; i < n; i++) EXPECT1(get(a, i) == want[i]);
  free(want);
  tensor_unref(a);
  tensor_unref(b);
  teardown_level();
}
END_TEST

/* ---- errors -------------------------------------------------------------------------- */

static void expect_error(tfm_code code, tfm_status *st, const char *fragment) {
  ck_assert_int_eq(code, TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_msg(strstr(tfm_status_message(st), fragment) != NULL, "message '%s' lacks '%s'",
                tfm_status_message(st), fragment);
}

START_TEST(bad_inputs_are_invalid_argument_naming_kernel_and_shapes) {
  tfm_status *st = tfm_status_new();
  int64_t d34[] = {3, 4}, d3[] = {3}, d4[] = {4};
  tensor_t *f34 = new_tensor(TFM_FLOAT, d34, 2), *f3 = new_tensor(TFM_FLOAT, d3, 1);
  tensor_t *f4 = new_tensor(TFM_FLOAT, d4, 1), *i4 = new_tensor(TFM_INT32, d4, 1);
  tensor_t *i34 = new_tensor(TFM_INT32, d34, 2), *b34 = new_tensor(TFM_BOOL, d34, 2);
  tensor_t *d4t = new_tensor(TFM_DOUBLE, d4, 1);

  expect_error(kern_binary(EW_ADD, f34, f3, f34, st), st, "Add: shapes [3,4] and [3] do not broadcast");
  expect_error(kern_binary(EW_ADD, f34, i4, f34, st), st, "Add: dtypes differ: float32 [3,4] vs int32 [4]");
  expect_error(kern_binary(EW_MUL, f34, f4, f4, st), st, "Mul: output is float32 [4]");
  expect_error(kern_binary(EW_LESS, f34, f4, f34, st), st, "gives bool [3,4]");
  expect_error(kern_binary(EW_LOGICAL_AND, f34, f4, b34, st), st, "LogicalAnd: dtype float32 is not supported");
  expect_error(kern_binary(EW_POW, i34, i4, i34, st), st, "Pow: dtype int32");
  expect_error(kern_binary(EW_FLOORMOD, i34, i4, i34, st), st, "FloorMod: integer division by zero");
  expect_error(kern_binary(EW_ADD, NULL, f4, f4, st), st, "Add: NULL");
  expect_error(kern_binary((ew_binary_t)999, f4, f4, f4, st), st, "not supported");
  expect_error(kern_unary(EW_SQRT, i4, i4, st), st, "Sqrt: dtype int32 is not supported");
  expect_error(kern_unary(EW_EXP, f34, f4, st), st, "Exp: output float32 [4] does not match input float32 [3,4]");
  expect_error(kern_unary(EW_EXP, f4, d4t, st), st, "Exp: output float64");
  expect_error(kern_unary(EW_LOGICAL_NOT, f4, f4, st), st, "LogicalNot: dtype float32");
  expect_error(kern_cast(f34, f4, st), st, "Cast: output shape [4] does not match input [3,4]");
  expect_error(kern_fill(f4, f4, st), st, "Fill: value must be a scalar, got shape [4]");
  tensor_t *s64 = tensor_scalar_f64(1, NULL);
  expect_error(kern_fill(s64, f4, st), st, "Fill: value is float64 but output is float32");
  expect_error(kern_transpose(f34, (int[]){0, 0}, f34, st), st, "Transpose: perm [0,0] does not map input [3,4]");
  expect_error(kern_transpose(f34, (int[]){1, 0}, f34, st), st, "to output [3,4]");
  expect_error(kern_broadcast_to(f3, f34, st), st, "BroadcastTo: shape [3] does not broadcast to [3,4]");
  expect_error(kern_broadcast_to(f34, f4, st), st, "BroadcastTo: shape [3,4] does not broadcast to [4]");
  const tensor_t *xs[] = {f4, i4};
  expect_error(kern_add_n(xs, 2, f4, st), st, "AddN: input 1 is int32 [4]");
  expect_error(kern_add_n(xs, 0, f4, st), st, "AddN: needs at least one input");
  const tensor_t *bs[] = {b34, b34};
  expect_error(kern_add_n(bs, 2, b34, st), st, "AddN: dtype bool");
  expect_error(kern_select(f34, f34, f34, f34, st), st, "Select: condition is float32");
  expect_error(kern_select(b34, f34, f4, f34, st), st, "Select: shapes cond [3,4], a [3,4], b [4]");
  expect_error(kern_axpy(1, f4, d4t, f4, st), st, "Axpy: needs one float dtype");
  expect_error(kern_axpy(1, f4, f3, f4, st), st, "Axpy: shapes differ: [4], [3]");

  ck_assert(!ew_binary_supports(EW_SQUARED_DIFF, TFM_UINT8));
  ck_assert(ew_binary_supports(EW_FLOORMOD, TFM_INT64));
  ck_assert(ew_unary_supports(EW_ABS, TFM_INT32));
  ck_assert(!ew_unary_supports(EW_EXP, TFM_INT64));
  ck_assert(!ew_unary_supports(EW_NEG, TFM_STRING));
  ck_assert_int_eq(ew_binary_out_dtype(EW_GREATER, TFM_INT32), TFM_BOOL);
  ck_assert_int_eq(ew_binary_out_dtype(EW_ADD, TFM_INT32), TFM_INT32);
  ck_assert_str_eq(ew_binary_name(EW_SQUARED_DIFF), "SquaredDifference");
  ck_assert_str_eq(ew_unary_name(EW_SOFTPLUS), "Softplus");

  tensor_t *all[] = {f34, f3, f4, i4, i34, b34, d4t, s64};
  for (int i = 0; i < 8; i++) tensor_unref(all[i]);
  tfm_status_delete(st);
}
END_TEST

static Suite *kernels_ew_suite(void) {
  Suite *s = suite_create("kernels_ew");
  TCase *levels_tc = tcase_create("each_simd_level");
  tcase_set_timeout(levels_tc, 600);
  tcase_add_loop_test(levels_tc, float_unary_ops_match_float64_reference, 0, 3);
  tcase_add_loop_test(levels_tc, float_binary_ops_match_float64_reference, 0, 3);
  tcase_add_loop_test(levels_tc, sigmoid_and_softplus_are_stable_for_large_inputs, 0, 3);
  tcase_add_loop_test(levels_tc, float32_exp_and_sigmoid_are_within_2_ulp, 0, 3);
  tcase_add_loop_test(levels_tc, integer_binary_ops_are_exact, 0, 3);
  tcase_add_loop_test(levels_tc, integer_unary_ops_are_exact, 0, 3);
  tcase_add_loop_test(levels_tc, integer_overflow_wraps_like_tensorflow, 0, 3);
  tcase_add_loop_test(levels_tc, bool_logic_and_comparisons, 0, 3);
  tcase_add_loop_test(levels_tc, binary_ops_broadcast_like_numpy, 0, 3);
  tcase_add_loop_test(levels_tc, broadcast_to_copies_along_size_one_dims, 0, 3);
  tcase_add_loop_test(levels_tc, add_n_sums_in_order_and_may_overwrite_an_input, 0, 3);
  tcase_add_loop_test(levels_tc, axpy_matches_mul_then_add, 0, 3);
  tcase_add_loop_test(levels_tc, in_place_output_is_allowed, 0, 3);
  suite_add_tcase(s, levels_tc);

  TCase *tc = tcase_create("data_movement_and_errors");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, float_floor_division_follows_the_divisor_sign);
  tcase_add_test(tc, results_are_bit_identical_for_1_and_2_threads);
  tcase_add_test(tc, cast_converts_every_pair);
  tcase_add_test(tc, fill_sets_every_element);
  tcase_add_test(tc, transpose_permutes_dims);
  tcase_add_test(tc, select_picks_elementwise_by_row_or_scalar);
  tcase_add_test(tc, bad_inputs_are_invalid_argument_naming_kernel_and_shapes);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(kernels_ew_suite());
  srunner_run_all(sr, CK_NORMAL);
  const int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
