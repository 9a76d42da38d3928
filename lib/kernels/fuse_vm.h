/* A small vector machine for fused element-wise programs (runtime/fuse_exec.c).
 *
 * A fused group whose ops are all simple arithmetic is compiled to a short list
 * of stack-machine ops; fuse_vm_body.h runs that list over blocks of
 * FUSE_VM_BLOCK floats with the top of the stack in vector registers, so a chain
 * of ops costs register arithmetic instead of one pass over a buffer per op.
 * The arithmetic is the element-wise loops' (same IEEE operations in the same
 * order, no contraction), so values written out are bit-identical to the
 * unfused kernels'. Compiled once per SIMD level like ew_loops.h. */
#ifndef TFM_KERNELS_FUSE_VM_H
#define TFM_KERNELS_FUSE_VM_H

#include <stdint.h>

#define FUSE_VM_MAX_TMP 8
#define FUSE_VM_MAX_STACK 4
#define FUSE_VM_MAX_ACC 16
#define FUSE_VM_MAX_EXT 32
#define FUSE_VM_MAX_OUT 8

typedef enum vm_opcode {
  VM_LOAD_EXT, /* tos = ext[arg][i] */
  VM_LOAD_TMP, /* tos = tmp[arg] */
  VM_SAVE_TMP, /* tmp[arg] = tos */
  VM_PUSH,     /* push tos (it stays the tos) */
  VM_NEG,      /* tos = -tos */
  VM_SQUARE,   /* tos = tos * tos */
  VM_ACC,      /* acc[arg] += tos, lane-wise (summed in double at the end) */
  VM_ACC_NEG,  /* acc[arg] -= tos */
  VM_ACC_SQ,   /* acc[arg] += tos * tos */
  VM_ACC_MUL_EXT, /* acc[arg] += tos * ext[arg2][i] */
  VM_ACC_MUL_TMP, /* acc[arg] += tos * tmp[arg2] */
  VM_AFFINE,   /* tos = tos * uni[arg] + uni[arg2] (two roundings, as Mul then Add) */
  VM_STORE,    /* out[arg][i] = tos */
  VM_BIN_FIRST /* binary ops: VM_BIN(source, code, rev) */
} vm_opcode_t;

/* Where a binary op's other operand comes from. With rev the tos is the right
 * operand (b op tos), else the left (tos op b); VM_SRC_STACK pops b and is always
 * rev (the pushed value was computed first: it is the left operand). */
typedef enum vm_source { VM_SRC_UNI, VM_SRC_EXT, VM_SRC_TMP, VM_SRC_STACK } vm_source_t;
typedef enum vm_code { VB_ADD, VB_SUB, VB_MUL, VB_DIV, VB_SQUARED_DIFF, VB_COUNT } vm_code_t;
#define VM_BIN(src, code, rev) (VM_BIN_FIRST + ((src) * VB_COUNT + (code)) * 2 + (rev))

typedef struct vm_op {
  uint8_t op;
  int16_t arg, arg2;
} vm_op_t;

/* Runs code[0..n) over elements [off, off + len) (len <= a tile), adding the
 * n_acc accumulators' sums to acc[]. ext (n_ext <= FUSE_VM_MAX_EXT), out
 * (n_out <= FUSE_VM_MAX_OUT): element 0 of each buffer. */
typedef void (*fuse_vm_fn)(const vm_op_t *code, int n, const float *const *ext, int n_ext,
                           const float *uni, float *const *out, int n_out, int64_t off,
                           int64_t len, int n_acc, double *acc);

extern const fuse_vm_fn fuse_vm_baseline;
extern const fuse_vm_fn fuse_vm_avx2;
extern const fuse_vm_fn fuse_vm_avx512;
/* The variant of the level in force (core/cpu.h). */
fuse_vm_fn fuse_vm_current(void);

#endif
