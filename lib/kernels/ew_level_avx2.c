/* Element-wise loops compiled for the avx2 SIMD level (flags in meson.build). */
#define EW_LOOPS_TABLE ew_loops_avx2
#include "kernels/ew_loops.h"
