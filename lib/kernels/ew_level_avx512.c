/* Element-wise loops compiled for the avx512 SIMD level (flags in meson.build). */
#define EW_LOOPS_TABLE ew_loops_avx512
#include "kernels/ew_loops.h"
