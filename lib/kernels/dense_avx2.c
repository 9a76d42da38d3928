/* Dense kernels (sums, max/min, GEMM) compiled for the avx2 SIMD level. */
#define DENSE_VEC_BYTES 32
#define DENSE_SUFFIX avx2
#define DENSE_NAME_STRING "avx2"
#include "kernels/dense_body.h"
