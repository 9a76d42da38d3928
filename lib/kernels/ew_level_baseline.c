/* Element-wise loops compiled for the baseline SIMD level (flags in meson.build). */
#define EW_LOOPS_TABLE ew_loops_baseline
#include "kernels/ew_loops.h"
