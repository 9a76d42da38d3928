/* Dense kernels (sums, max/min, GEMM) compiled for the avx512 SIMD level. */
#define DENSE_VEC_BYTES 64
/* Sums stream with 256-bit vectors: on the AMD EPYC (AVX-512) this was tuned on,
 * the 512-bit loop read 8M floats at 0.84 of a plain read loop's speed, the
 * 256-bit one at 1.0 or more; on CPUs with full-width 512-bit units both are
 * bound by memory. */
#define DENSE_STREAM_BYTES 32
#define DENSE_SUFFIX avx512
#define DENSE_NAME_STRING "avx512"
#include "kernels/dense_body.h"
