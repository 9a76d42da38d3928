/* GEMM core of one SIMD level and one float type: packs blocks of A and B into
 * stack buffers (so any transpose and any stride look the same to the micro-kernel)
 * and runs a GEMM_MR x (2 vectors) register-blocked micro-kernel over them.
 * Included twice by dense_body.h with GEMM_T/GEMM_V/GEMM_W/GEMM_FN defined. */

#define GEMM_MR 6
#define GEMM_NR (2 * GEMM_W)
/* Blocks sized so that a packed A block (MC x KC) stays in L2 and a micro-panel of
 * B (KC x NR) in L1; both buffers together are about 200 KB of stack. */
#define GEMM_KC ((int64_t)(1024 / sizeof(GEMM_T)))
#define GEMM_MC ((int64_t)(12 * GEMM_MR))
#define GEMM_NC ((int64_t)128)

/* dst holds ceil(mc/MR) panels; panel q is kc rows of MR values (rows i0+q*MR...). */
static void GEMM_FN(pack_a)(GEMM_T *restrict dst, const gemm_args_t *g, int64_t i0, int64_t mc,
                            int64_t p0, int64_t kc) {
  const GEMM_T *a = g->a;
  for (int64_t ir = 0; ir < mc; ir += GEMM_MR) {
    int64_t mr = mc - ir < GEMM_MR ? mc - ir : GEMM_MR;
    GEMM_T *panel = dst + ir * kc;
    if (g->trans_a) { /* A(i, p) = a[p*lda + i]: the MR values of one p are adjacent */
      for (int64_t p = 0; p < kc; p++) {
        const GEMM_T *src = a + (p0 + p) * g->lda + i0 + ir;
        for (int64_t r = 0; r < GEMM_MR; r++) panel[p * GEMM_MR + r] = r < mr ? src[r] : 0;
      }
    } else {
      for (int64_t r = 0; r < GEMM_MR; r++) {
        if (r < mr) {
          const GEMM_T *src = a + (i0 + ir + r) * g->lda + p0;
          for (int64_t p = 0; p < kc; p++) panel[p * GEMM_MR + r] = src[p];
        } else {
          for (int64_t p = 0; p < kc; p++) panel[p * GEMM_MR + r] = 0;
        }
      }
    }
  }
}

/* dst holds ceil(nc/NR) panels; panel q is kc rows of NR values (cols j0+q*NR...). */
static void GEMM_FN(pack_b)(GEMM_T *restrict dst, const gemm_args_t *g, int64_t p0, int64_t kc,
                            int64_t j0, int64_t nc) {
  const GEMM_T *b = g->b;
  for (int64_t jr = 0; jr < nc; jr += GEMM_NR) {
    int64_t nr = nc - jr < GEMM_NR ? nc - jr : GEMM_NR;
    GEMM_T *panel = dst + jr * kc;
    if (!g->trans_b) { /* B(p, j) = b[p*ldb + j]: rows of the panel are contiguous */
      for (int64_t p = 0; p < kc; p++) {
        const GEMM_T *src = b + (p0 + p) * g->ldb + j0 + jr;
        GEMM_T *d = panel + p * GEMM_NR;
        if (nr == GEMM_NR) {
          memcpy(d, src, sizeof(GEMM_T) * GEMM_NR);
        } else {
          for (int64_t j = 0; j < GEMM_NR; j++) d[j] = j < nr ? src[j] : 0;
        }
      }
    } else {
      for (int64_t j = 0; j < GEMM_NR; j++) {
        if (j < nr) {
          const GEMM_T *src = b + (j0 + jr + j) * g->ldb + p0;
          for (int64_t p = 0; p < kc; p++) panel[p * GEMM_NR + j] = src[p];
        } else {
          for (int64_t p = 0; p < kc; p++) panel[p * GEMM_NR + j] = 0;
        }
      }
    }
  }
}

#define GEMM_ROW_FMA(r)          \
  c##r##0 += ap[r] * b0;         \
  c##r##1 += ap[r] * b1;

#define GEMM_ROW_STORE(r)                                                     \
  do {                                                                        \
    GEMM_T *cr = c + (r) * ldc;                                               \
    if (add) {                                                                \
      c##r##0 += GEMM_LOAD(cr);                                               \
      c##r##1 += GEMM_LOAD(cr + GEMM_W);                                      \
    }                                                                         \
    GEMM_STORE(cr, c##r##0);                                                  \
    GEMM_STORE(cr + GEMM_W, c##r##1);                                         \
  } while (0)

#define GEMM_ROW_SPILL(r)                                                     \
  GEMM_STORE(tmp + (r) * GEMM_NR, c##r##0);                                   \
  GEMM_STORE(tmp + (r) * GEMM_NR + GEMM_W, c##r##1);

/* C[mr x nr] (+)= packed A panel x packed B panel over kc. */
static void GEMM_FN(micro)(int64_t kc, const GEMM_T *restrict ap, const GEMM_T *restrict bp,
                           GEMM_T *restrict c, int64_t ldc, int64_t mr, int64_t nr, bool add) {
  GEMM_V c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};
  GEMM_V c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};
  for (int64_t p = 0; p < kc; p++) {
    GEMM_V b0 = GEMM_LOAD(bp), b1 = GEMM_LOAD(bp + GEMM_W);
    GEMM_ROW_FMA(0)
    GEMM_ROW_FMA(1)
    GEMM_ROW_FMA(2)
    GEMM_ROW_FMA(3)
    GEMM_ROW_FMA(4)
    GEMM_ROW_FMA(5)
    ap += GEMM_MR;
    bp += GEMM_NR;
  }
  if (mr == GEMM_MR && nr == GEMM_NR) {
    GEMM_ROW_STORE(0);
    GEMM_ROW_STORE(1);
    GEMM_ROW_STORE(2);
    GEMM_ROW_STORE(3);
    GEMM_ROW_STORE(4);
    GEMM_ROW_STORE(5);
    return;
  }
  GEMM_T tmp[GEMM_MR * GEMM_NR];
  GEMM_ROW_SPILL(0)
  GEMM_ROW_SPILL(1)
  GEMM_ROW_SPILL(2)
  GEMM_ROW_SPILL(3)
  GEMM_ROW_SPILL(4)
  GEMM_ROW_SPILL(5)
  for (int64_t r = 0; r < mr; r++) {
    GEMM_T *cr = c + r * ldc;
    for (int64_t j = 0; j < nr; j++) cr[j] = add ? cr[j] + tmp[r * GEMM_NR + j] : tmp[r * GEMM_NR + j];
  }
}

static void GEMM_FN(gemm)(const gemm_args_t *g) {
  if (g->m <= 0 || g->n <= 0) return;
  GEMM_T *c = g->c;
  if (g->k <= 0) {
    if (!g->accumulate)
      for (int64_t i = 0; i < g->m; i++) memset(c + i * g->ldc, 0, sizeof(GEMM_T) * g->n);
    return;
  }
  GEMM_T apack[GEMM_MC * GEMM_KC] __attribute__((aligned(64)));
  GEMM_T bpack[GEMM_KC * GEMM_NC] __attribute__((aligned(64)));
  for (int64_t j0 = 0; j0 < g->n; j0 += GEMM_NC) {
    int64_t nc = g->n - j0 < GEMM_NC ? g->n - j0 : GEMM_NC;
    for (int64_t p0 = 0; p0 < g->k; p0 += GEMM_KC) {
      int64_t kc = g->k - p0 < GEMM_KC ? g->k - p0 : GEMM_KC;
      bool add = g->accumulate || p0 > 0;
      GEMM_FN(pack_b)(bpack, g, p0, kc, j0, nc);
      for (int64_t i0 = 0; i0 < g->m; i0 += GEMM_MC) {
        int64_t mc = g->m - i0 < GEMM_MC ? g->m - i0 : GEMM_MC;
        GEMM_FN(pack_a)(apack, g, i0, mc, p0, kc);
        for (int64_t jr = 0; jr < nc; jr += GEMM_NR) {
          int64_t nr = nc - jr < GEMM_NR ? nc - jr : GEMM_NR;
          for (int64_t ir = 0; ir < mc; ir += GEMM_MR) {
            int64_t mr = mc - ir < GEMM_MR ? mc - ir : GEMM_MR;
            GEMM_FN(micro)(kc, apack + ir * kc, bpack + jr * kc, c + (i0 + ir) * g->ldc + j0 + jr,
                           g->ldc, mr, nr, add);
          }
        }
      }
    }
  }
}

#undef GEMM_MR
#undef GEMM_NR
#undef GEMM_KC
#undef GEMM_MC
#undef GEMM_NC
#undef GEMM_ROW_FMA
#undef GEMM_ROW_STORE
#undef GEMM_ROW_SPILL
