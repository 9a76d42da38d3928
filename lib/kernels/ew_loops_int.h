/* Element-wise loops of one signed integer type (part of the ew_loops.h template).
 * Needs EW_T (int32_t / int64_t), EW_U (its unsigned twin) and EW_SFX.
 * Arithmetic wraps in two's complement as TensorFlow's does: it is done on EW_U,
 * where C defines overflow, so no input is undefined behaviour. Division by zero
 * is rejected by the kernel before these loops run; MIN / -1 wraps to MIN. */

static inline EW_T EW_FN(wrap)(EW_U v) { return (EW_T)v; }

/* Truncating division (TensorFlow's Div on integers). */
static inline EW_T EW_FN(div1)(EW_T x, EW_T y) {
  return y == -1 ? EW_FN(wrap)((EW_U)0 - (EW_U)x) : x / y;
}

/* Division rounding toward negative infinity. */
static inline EW_T EW_FN(floordiv1)(EW_T x, EW_T y) {
  if (y == -1) return EW_FN(wrap)((EW_U)0 - (EW_U)x);
  const EW_T q = x / y, r = x % y;
  return (r != 0 && ((r < 0) != (y < 0))) ? q - 1 : q;
}

/* Remainder with the divisor's sign. */
static inline EW_T EW_FN(floormod1)(EW_T x, EW_T y) {
  if (y == -1) return 0;
  const EW_T r = x % y;
  return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}

static inline EW_T EW_FN(squared_diff1)(EW_T x, EW_T y) {
  const EW_U d = (EW_U)x - (EW_U)y;
  return EW_FN(wrap)(d * d);
}

EW_UNARY(EW_FN(identity), EW_T, x)
EW_UNARY(EW_FN(neg), EW_T, EW_FN(wrap)((EW_U)0 - (EW_U)x))
EW_UNARY(EW_FN(abs), EW_T, x < 0 ? EW_FN(wrap)((EW_U)0 - (EW_U)x) : x)
EW_UNARY(EW_FN(sign), EW_T, (EW_T)((x > 0) - (x < 0)))
EW_UNARY(EW_FN(square), EW_T, EW_FN(wrap)((EW_U)x * (EW_U)x))

EW_BINARY(EW_FN(add), EW_T, EW_T, EW_FN(wrap)((EW_U)x + (EW_U)y))
EW_BINARY(EW_FN(sub), EW_T, EW_T, EW_FN(wrap)((EW_U)x - (EW_U)y))
EW_BINARY(EW_FN(mul), EW_T, EW_T, EW_FN(wrap)((EW_U)x * (EW_U)y))
EW_BINARY(EW_FN(div), EW_T, EW_T, EW_FN(div1)(x, y))
EW_BINARY(EW_FN(maximum), EW_T, EW_T, x > y ? x : y)
EW_BINARY(EW_FN(minimum), EW_T, EW_T, x < y ? x : y)
EW_BINARY(EW_FN(squared_diff), EW_T, EW_T, EW_FN(squared_diff1)(x, y))
EW_BINARY(EW_FN(floordiv), EW_T, EW_T, EW_FN(floordiv1)(x, y))
EW_BINARY(EW_FN(floormod), EW_T, EW_T, EW_FN(floormod1)(x, y))
EW_BINARY(EW_FN(less), EW_T, uint8_t, x < y)
EW_BINARY(EW_FN(less_equal), EW_T, uint8_t, x <= y)
EW_BINARY(EW_FN(greater), EW_T, uint8_t, x > y)
EW_BINARY(EW_FN(greater_equal), EW_T, uint8_t, x >= y)
EW_BINARY(EW_FN(equal), EW_T, uint8_t, x == y)
EW_BINARY(EW_FN(not_equal), EW_T, uint8_t, x != y)
