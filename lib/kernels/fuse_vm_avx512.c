/* The fused-program machine compiled for the avx512 SIMD level (flags in meson.build). */
#define FUSE_VM_NAME fuse_vm_run_avx512
#define FUSE_VM_VEC 32
#include "kernels/fuse_vm_body.h"
const fuse_vm_fn fuse_vm_avx512 = FUSE_VM_NAME;
