/* The fused-program machine compiled for the avx2 SIMD level (flags in meson.build). */
#define FUSE_VM_NAME fuse_vm_run_avx2
#define FUSE_VM_VEC 32
#include "kernels/fuse_vm_body.h"
const fuse_vm_fn fuse_vm_avx2 = FUSE_VM_NAME;
