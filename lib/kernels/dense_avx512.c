/* Dense kernels (sums, max/min, GEMM) compiled for the avx512 SIMD level. */
#define DENSE_VEC_BYTES 64
#define DENSE_SUFFIX avx512
#define DENSE_NAME_STRING "avx512"
#include "kernels/dense_body.h"
