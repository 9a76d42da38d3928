/* Dense kernels (sums, max/min, GEMM) compiled for the baseline SIMD level. */
#define DENSE_VEC_BYTES 16
#define DENSE_SUFFIX baseline
#define DENSE_NAME_STRING "baseline"
#include "kernels/dense_body.h"

#include "core/cpu.h"

/* Lives with the baseline variant because that one is always compiled in. */
const dense_ops_t *dense_ops(void) {
  switch (cpu_level()) {
    case CPU_AVX512: return &dense_ops_avx512;
    case CPU_AVX2: return &dense_ops_avx2;
    default: return &dense_ops_baseline;
  }
}
