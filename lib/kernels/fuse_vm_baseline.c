/* The fused-program machine compiled for the baseline SIMD level (flags in meson.build). */
#define FUSE_VM_NAME fuse_vm_run_baseline
#define FUSE_VM_VEC 16
#include "kernels/fuse_vm_body.h"
const fuse_vm_fn fuse_vm_baseline = FUSE_VM_NAME;

#include "core/cpu.h"

/* Lives with the baseline variant because that one is always compiled in. */
fuse_vm_fn fuse_vm_current(void) {
  switch (cpu_level()) {
    case CPU_AVX512: return fuse_vm_avx512;
    case CPU_AVX2: return fuse_vm_avx2;
    default: return fuse_vm_baseline;
  }
}
