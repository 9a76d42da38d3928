/* The fused-program machine of one SIMD level (see fuse_vm.h). Included by
 * fuse_vm_<level>.c after defining FUSE_VM_NAME and FUSE_VM_VEC (the level's
 * register width in bytes); compiled with the level's -m flags and without
 * contraction, so every operation rounds as the element-wise loops' do.
 *
 * The top of the stack is four registers (t0..t3): one dispatch of an op covers
 * four vectors. Binary ops have one case per (source, op, order), so the
 * dispatch is the only branch. Inputs are read without software prefetches: the
 * hardware prefetcher follows these sequential streams, and explicit prefetches
 * 2 KB ahead made the pass 30% slower on Zen 4 (bench/bench_fused). */
#include <string.h>

#include "kernels/fuse_vm.h"

typedef float vf __attribute__((vector_size(FUSE_VM_VEC)));
typedef int32_t vi __attribute__((vector_size(FUSE_VM_VEC)));
#define W ((int)(FUSE_VM_VEC / sizeof(float)))
#define BLK (4 * W)

#define LD(p) vm_ld(p)
static inline __attribute__((always_inline)) vf vm_ld(const float *p) {
  vf v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline __attribute__((always_inline)) void vm_st(float *p, vf v) { memcpy(p, &v, sizeof v); }

#define E_ADD(a, b) ((a) + (b))
#define E_SUB(a, b) ((a) - (b))
#define E_MUL(a, b) ((a) * (b))
#define E_DIV(a, b) ((a) / (b))
#define E_SQD(a, b) (((a) - (b)) * ((a) - (b)))

/* the operand b0..b3 of each source */
#define GET_UNI() vf b0 = uni[o->arg] - (vf){0}, b1 = b0, b2 = b0, b3 = b0; /* keeps a -0 */
#define GET_EXT()                                                                    \
  const float *bp = ext[o->arg] + i;                                                 \
  vf b0 = LD(bp), b1 = LD(bp + W), b2 = LD(bp + 2 * W), b3 = LD(bp + 3 * W);
#define GET_TMP() vf b0 = tmp[o->arg][0], b1 = tmp[o->arg][1], b2 = tmp[o->arg][2], b3 = tmp[o->arg][3];
#define GET_STK()                                                                    \
  sp--;                                                                              \
  vf b0 = stk[sp][0], b1 = stk[sp][1], b2 = stk[sp][2], b3 = stk[sp][3];

#define BCASE(SRC, GET, CODE, E)                                                     \
  case VM_BIN(SRC, CODE, 0): {                                                       \
    GET() t0 = E(t0, b0);                                                              \
    t1 = E(t1, b1);                                                                  \
    t2 = E(t2, b2);                                                                  \
    t3 = E(t3, b3);                                                                  \
    break;                                                                           \
  }                                                                                  \
  case VM_BIN(SRC, CODE, 1): {                                                       \
    GET() t0 = E(b0, t0);                                                              \
    t1 = E(b1, t1);                                                                  \
    t2 = E(b2, t2);                                                                  \
    t3 = E(b3, t3);                                                                  \
    break;                                                                           \
  }
#define BCASES(SRC, GET)                                                             \
  BCASE(SRC, GET, VB_ADD, E_ADD)                                                     \
  BCASE(SRC, GET, VB_SUB, E_SUB)                                                     \
  BCASE(SRC, GET, VB_MUL, E_MUL)                                                     \
  BCASE(SRC, GET, VB_DIV, E_DIV)                                                     \
  BCASE(SRC, GET, VB_SQUARED_DIFF, E_SQD)

/* acc[o->arg] += a0..a3: the first four accumulators live in registers (racc,
 * constant indices after inlining), the others in memory. */
#define ACC_ADD()                                                                    \
  do {                                                                               \
    switch (o->arg) {                                                                \
      case 0: racc[0][0] += a0; racc[0][1] += a1; racc[0][2] += a2; racc[0][3] += a3; break; \
      case 1: racc[1][0] += a0; racc[1][1] += a1; racc[1][2] += a2; racc[1][3] += a3; break; \
      case 2: racc[2][0] += a0; racc[2][1] += a1; racc[2][2] += a2; racc[2][3] += a3; break; \
      case 3: racc[3][0] += a0; racc[3][1] += a1; racc[3][2] += a2; racc[3][3] += a3; break; \
      default:                                                                       \
        vacc[o->arg][0] += a0;                                                       \
        vacc[o->arg][1] += a1;                                                       \
        vacc[o->arg][2] += a2;                                                       \
        vacc[o->arg][3] += a3;                                                       \
    }                                                                                \
  } while (0)

/* One block of BLK elements at element i of every buffer; `mask` (4 vectors)
 * keeps the lanes of a short last block out of the accumulators. */
static inline __attribute__((always_inline)) void vm_block(const vm_op_t *code, int nc,
                                                           const float *const *ext, const float *uni,
                                                           float *const *out, int64_t i,
                                                           vf (*tmp)[4], vf (*racc)[4],
                                                           vf (*vacc)[4], const vi *mask) {
  vf t0 = {0}, t1 = {0}, t2 = {0}, t3 = {0};
  vf stk[FUSE_VM_MAX_STACK][4];
  int sp = 0;
  for (int k = 0; k < nc; k++) {
    const vm_op_t *o = &code[k];
    switch (o->op) {
      case VM_LOAD_EXT: {
        const float *p = ext[o->arg] + i;
        t0 = LD(p);
        t1 = LD(p + W);
        t2 = LD(p + 2 * W);
        t3 = LD(p + 3 * W);
        break;
      }
      case VM_LOAD_TMP:
        t0 = tmp[o->arg][0];
        t1 = tmp[o->arg][1];
        t2 = tmp[o->arg][2];
        t3 = tmp[o->arg][3];
        break;
      case VM_SAVE_TMP:
        tmp[o->arg][0] = t0;
        tmp[o->arg][1] = t1;
        tmp[o->arg][2] = t2;
        tmp[o->arg][3] = t3;
        break;
      case VM_PUSH:
        stk[sp][0] = t0;
        stk[sp][1] = t1;
        stk[sp][2] = t2;
        stk[sp][3] = t3;
        sp++;
        break;
      case VM_NEG:
        t0 = -t0;
        t1 = -t1;
        t2 = -t2;
        t3 = -t3;
        break;
      case VM_SQUARE:
        t0 = t0 * t0;
        t1 = t1 * t1;
        t2 = t2 * t2;
        t3 = t3 * t3;
        break;
      case VM_ACC:
      case VM_ACC_NEG: {
        vf a0 = t0, a1 = t1, a2 = t2, a3 = t3;
        if (o->op == VM_ACC_NEG) {
          a0 = -a0;
          a1 = -a1;
          a2 = -a2;
          a3 = -a3;
        }
        if (mask) {
          a0 = (vf)((vi)a0 & mask[0]);
          a1 = (vf)((vi)a1 & mask[1]);
          a2 = (vf)((vi)a2 & mask[2]);
          a3 = (vf)((vi)a3 & mask[3]);
        }
        ACC_ADD();
        break;
      }
      case VM_ACC_SQ:
      case VM_ACC_MUL_EXT:
      case VM_ACC_MUL_TMP: {
        vf b0 = t0, b1 = t1, b2 = t2, b3 = t3;
        if (o->op == VM_ACC_MUL_EXT) {
          const float *bp = ext[o->arg2] + i;
          b0 = LD(bp);
          b1 = LD(bp + W);
          b2 = LD(bp + 2 * W);
          b3 = LD(bp + 3 * W);
        } else if (o->op == VM_ACC_MUL_TMP) {
          b0 = tmp[o->arg2][0];
          b1 = tmp[o->arg2][1];
          b2 = tmp[o->arg2][2];
          b3 = tmp[o->arg2][3];
        }
        vf a0 = t0 * b0, a1 = t1 * b1, a2 = t2 * b2, a3 = t3 * b3;
        if (mask) {
          a0 = (vf)((vi)a0 & mask[0]);
          a1 = (vf)((vi)a1 & mask[1]);
          a2 = (vf)((vi)a2 & mask[2]);
          a3 = (vf)((vi)a3 & mask[3]);
        }
        ACC_ADD();
        break;
      }
      case VM_AFFINE: {
        vf m = uni[o->arg] - (vf){0}, c = uni[o->arg2] - (vf){0};
        t0 = t0 * m + c;
        t1 = t1 * m + c;
        t2 = t2 * m + c;
        t3 = t3 * m + c;
        break;
      }
      case VM_STORE: {
        float *p = out[o->arg] + i;
        vm_st(p, t0);
        vm_st(p + W, t1);
        vm_st(p + 2 * W, t2);
        vm_st(p + 3 * W, t3);
        break;
      }
      BCASES(VM_SRC_UNI, GET_UNI)
      BCASES(VM_SRC_EXT, GET_EXT)
      BCASES(VM_SRC_TMP, GET_TMP)
      BCASES(VM_SRC_STACK, GET_STK)
      default: __builtin_unreachable(); /* the compiler made every op: no range check */
    }
  }
}

static void FUSE_VM_NAME(const vm_op_t *code, int nc, const float *const *ext, int n_ext,
                         const float *uni, float *const *out, int n_out, int64_t off,
                         int64_t len, int n_acc, double *acc) {
  vf tmp[FUSE_VM_MAX_TMP][4], vacc[FUSE_VM_MAX_ACC][4];
  vf racc[4][4];
  memset(vacc, 0, sizeof(vacc[0]) * (size_t)n_acc);
  for (int a = 0; a < 4; a++) racc[a][0] = racc[a][1] = racc[a][2] = racc[a][3] = (vf){0};
  int64_t i = off, end = off + len;
  for (; i + BLK <= end; i += BLK) vm_block(code, nc, ext, uni, out, i, tmp, racc, vacc, NULL);
  if (i < end) {
    /* the last short block: through zero-padded copies */
    int n = (int)(end - i);
    float pin[FUSE_VM_MAX_EXT][BLK], pout[FUSE_VM_MAX_OUT][BLK];
    const float *pe[FUSE_VM_MAX_EXT];
    float *po[FUSE_VM_MAX_OUT];
    for (int e = 0; e < n_ext; e++) {
      pe[e] = NULL; /* parameters and single values: not read element-wise */
      if (!ext[e]) continue;
      memset(pin[e], 0, sizeof pin[e]);
      memcpy(pin[e], ext[e] + i, sizeof(float) * (size_t)n);
      pe[e] = pin[e];
    }
    for (int e = 0; e < n_out; e++) po[e] = pout[e];
    vi mask[4];
    for (int l = 0; l < BLK; l++) mask[l / W][l % W] = l < n ? -1 : 0;
    vm_block(code, nc, pe, uni, po, 0, tmp, racc, vacc, mask);
    for (int k = 0; k < nc; k++) /* only the outputs written here are element-wise */
      if (code[k].op == VM_STORE)
        memcpy(out[code[k].arg] + i, pout[code[k].arg], sizeof(float) * (size_t)n);
  }
  for (int a = 0; a < n_acc && a < 4; a++)
    for (int j = 0; j < 4; j++) vacc[a][j] += racc[a][j];
  for (int a = 0; a < n_acc; a++) {
    vf s = (vacc[a][0] + vacc[a][1]) + (vacc[a][2] + vacc[a][3]);
    double d = 0;
    for (int l = 0; l < W; l++) d += (double)s[l];
    acc[a] += d;
  }
}
