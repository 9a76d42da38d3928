/* Element-wise loops of one float type (part of the ew_loops.h template).
 * Needs EW_T (float or double), EW_SFX (f32 / f64) and EW_M(fn) (the libm name
 * for EW_T, e.g. expf). Semantics follow TensorFlow: NaN propagates through
 * Maximum/Minimum/Relu, Round is half-to-even, FloorDiv is floor(x / y) and
 * FloorMod takes the divisor's sign. Exp and Sigmoid use EW_EXP (for float32
 * the vectorisable ew_exp_f32, within 2 ulp); other transcendentals call libm
 * per element. */

/* Stable for large |x|: only ever takes exp of -|x|. Written without branches
 * so that it vectorises. */
static inline EW_T EW_FN(sigmoid1)(EW_T x) {
  const EW_T e = EW_EXP(-EW_M(fabs)(x));
  const EW_T s = (EW_T)1 / ((EW_T)1 + e);
  return x >= 0 ? s : e * s;
}

/* log(1 + e^x) without overflow: x + log1p(e^-x) for positive x. */
static inline EW_T EW_FN(softplus1)(EW_T x) {
  if (x > 0) return x + EW_M(log1p)(EW_M(exp)(-x));
  return EW_M(log1p)(EW_M(exp)(x));
}

static inline EW_T EW_FN(floormod1)(EW_T x, EW_T y) {
  const EW_T r = EW_M(fmod)(x, y);
  return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}

EW_UNARY(EW_FN(identity), EW_T, x)
EW_UNARY(EW_FN(neg), EW_T, -x)
EW_UNARY(EW_FN(abs), EW_T, EW_M(fabs)(x))
EW_UNARY(EW_FN(sign), EW_T, x > 0 ? (EW_T)1 : (x < 0 ? (EW_T)-1 : x))
EW_UNARY(EW_FN(square), EW_T, x * x)
EW_UNARY(EW_FN(sqrt), EW_T, EW_M(sqrt)(x))
EW_UNARY(EW_FN(rsqrt), EW_T, (EW_T)1 / EW_M(sqrt)(x))
EW_UNARY(EW_FN(reciprocal), EW_T, (EW_T)1 / x)
EW_UNARY(EW_FN(exp), EW_T, EW_EXP(x))
EW_UNARY(EW_FN(log), EW_T, EW_M(log)(x))
EW_UNARY(EW_FN(log1p), EW_T, EW_M(log1p)(x))
EW_UNARY(EW_FN(expm1), EW_T, EW_M(expm1)(x))
EW_UNARY(EW_FN(relu), EW_T, x < 0 ? (EW_T)0 : x)
EW_UNARY(EW_FN(sigmoid), EW_T, EW_FN(sigmoid1)(x))
EW_UNARY(EW_FN(tanh), EW_T, EW_M(tanh)(x))
EW_UNARY(EW_FN(softplus), EW_T, EW_FN(softplus1)(x))
EW_UNARY(EW_FN(floor), EW_T, EW_M(floor)(x))
EW_UNARY(EW_FN(ceil), EW_T, EW_M(ceil)(x))
EW_UNARY(EW_FN(round), EW_T, EW_M(rint)(x))
EW_UNARY(EW_FN(sin), EW_T, EW_M(sin)(x))
EW_UNARY(EW_FN(cos), EW_T, EW_M(cos)(x))

EW_BINARY(EW_FN(add), EW_T, EW_T, x + y)
EW_BINARY(EW_FN(sub), EW_T, EW_T, x - y)
EW_BINARY(EW_FN(mul), EW_T, EW_T, x * y)
EW_BINARY(EW_FN(div), EW_T, EW_T, x / y)
EW_BINARY(EW_FN(pow), EW_T, EW_T, EW_M(pow)(x, y))
EW_BINARY(EW_FN(maximum), EW_T, EW_T, (x > y || x != x) ? x : y)
EW_BINARY(EW_FN(minimum), EW_T, EW_T, (x < y || x != x) ? x : y)
EW_BINARY(EW_FN(squared_diff), EW_T, EW_T, (x - y) * (x - y))
EW_BINARY(EW_FN(floordiv), EW_T, EW_T, EW_M(floor)(x / y))
EW_BINARY(EW_FN(floormod), EW_T, EW_T, EW_FN(floormod1)(x, y))
EW_BINARY(EW_FN(relu_grad), EW_T, EW_T, x > 0 ? y : (EW_T)0)
EW_BINARY(EW_FN(sigmoid_grad), EW_T, EW_T, y * (x * ((EW_T)1 - x)))
EW_BINARY(EW_FN(tanh_grad), EW_T, EW_T, y * ((EW_T)1 - x * x))
EW_BINARY(EW_FN(sqrt_grad), EW_T, EW_T, (y * (EW_T)0.5) / x)
EW_BINARY(EW_FN(rsqrt_grad), EW_T, EW_T, (y * (EW_T)-0.5) * (x * x * x))
EW_BINARY(EW_FN(reciprocal_grad), EW_T, EW_T, -y * (x * x))
EW_BINARY(EW_FN(less), EW_T, uint8_t, x < y)
EW_BINARY(EW_FN(less_equal), EW_T, uint8_t, x <= y)
EW_BINARY(EW_FN(greater), EW_T, uint8_t, x > y)
EW_BINARY(EW_FN(greater_equal), EW_T, uint8_t, x >= y)
EW_BINARY(EW_FN(equal), EW_T, uint8_t, x == y)
EW_BINARY(EW_FN(not_equal), EW_T, uint8_t, x != y)

static void EW_FN(axpy)(double alpha, const void *px, const void *py, void *po, int64_t n) {
  const EW_T a = (EW_T)alpha;
  typedef EW_T elem_t EW_ANY_ALIGN;
  const elem_t *xs = px;
  const elem_t *ys = py;
  elem_t *os = po;
  EW_IVDEP for (int64_t i = 0; i < n; i++) os[i] = a * xs[i] + ys[i];
}
