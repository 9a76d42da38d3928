/* The fused-program machine compiled for the avx512 SIMD level (flags in meson.build).
 * Full 512-bit vectors: one dispatch then covers 64 floats, which halves the
 * machine's dispatch work per element. On the 2-core Zen 4 this runs on, that
 * took the bigdata-full pass from 1.75x to 1.38x of the hand-written C loop even
 * though the core splits 512-bit operations in two (bench/bench_fused). */
#define FUSE_VM_NAME fuse_vm_run_avx512
#define FUSE_VM_VEC 64
#include "kernels/fuse_vm_body.h"
const fuse_vm_fn fuse_vm_avx512 = FUSE_VM_NAME;
