/* Element-wise loops of the byte types (part of the ew_loops.h template):
 * uint8 arithmetic wraps modulo 256 and divides like unsigned C (floor and
 * truncation agree); bool is one byte, 0 or 1, and any nonzero byte reads as true. */

EW_UNARY(u8_identity, uint8_t, x)

EW_BINARY(u8_add, uint8_t, uint8_t, x + y)
EW_BINARY(u8_sub, uint8_t, uint8_t, x - y)
EW_BINARY(u8_mul, uint8_t, uint8_t, x * y)
EW_BINARY(u8_div, uint8_t, uint8_t, x / y)
EW_BINARY(u8_maximum, uint8_t, uint8_t, x > y ? x : y)
EW_BINARY(u8_minimum, uint8_t, uint8_t, x < y ? x : y)
EW_BINARY(u8_floordiv, uint8_t, uint8_t, x / y)
EW_BINARY(u8_floormod, uint8_t, uint8_t, x % y)
EW_BINARY(u8_less, uint8_t, uint8_t, x < y)
EW_BINARY(u8_less_equal, uint8_t, uint8_t, x <= y)
EW_BINARY(u8_greater, uint8_t, uint8_t, x > y)
EW_BINARY(u8_greater_equal, uint8_t, uint8_t, x >= y)
EW_BINARY(u8_equal, uint8_t, uint8_t, x == y)
EW_BINARY(u8_not_equal, uint8_t, uint8_t, x != y)

EW_UNARY(bool_logical_not, uint8_t, (uint8_t)(x == 0))
EW_BINARY(bool_equal, uint8_t, uint8_t, (x != 0) == (y != 0))
EW_BINARY(bool_not_equal, uint8_t, uint8_t, (x != 0) != (y != 0))
EW_BINARY(bool_logical_and, uint8_t, uint8_t, (x != 0) & (y != 0))
EW_BINARY(bool_logical_or, uint8_t, uint8_t, (x != 0) | (y != 0))
