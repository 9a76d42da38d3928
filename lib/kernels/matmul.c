/* MatMul and BatchMatMul over the GEMM core of dense_levels.h.
 *
 * Tiny products run a plain loop (packing would cost more than the arithmetic).
 * Larger ones are split into output tiles of MATMUL_TILE_M x MATMUL_TILE_N, one
 * task each; K is never split, and the GEMM core computes every element the same
 * way whatever tile it falls in, so the result does not depend on the number of
 * threads.
 */
#include <string.h>

#include "core/threadpool.h"
#include "kernels/dense_levels.h"
#include "kernels/kernels.h"

#define MATMUL_TILE_M 48
#define MATMUL_TILE_N 256
/* m*n*k under which no task is handed to the pool. */
#define MATMUL_PARALLEL ((int64_t)1 << 18)

#define DEFINE_NAIVE(SUF, T)                                                               \
  static void naive_##SUF(const gemm_args_t *g) {                                          \
    const T *a = g->a, *b = g->b;                                                          \
    T *c = g->c;                                                                           \
    for (int64_t i = 0; i < g->m; i++) {                                                   \
      for (int64_t j = 0; j < g->n; j++) {                                                 \
        T s = 0;                                                                           \
        for (int64_t p = 0; p < g->k; p++) {                                               \
          T av = g->trans_a ? a[p * g->lda + i] : a[i * g->lda + p];                       \
          T bv = g->trans_b ? b[j * g->ldb + p] : b[p * g->ldb + j];                       \
          s += av * bv;                                                                    \
        }                                                                                  \
        c[i * g->ldc + j] = g->accumulate ? c[i * g->ldc + j] + s : s;                     \
      }                                                                                    \
    }                                                                                      \
  }
DEFINE_NAIVE(f32, float)
DEFINE_NAIVE(f64, double)

void dense_gemm(bool is_f64, const dense_ops_t *ops, const gemm_args_t *g) {
  if (g->m * g->n * g->k <= DENSE_GEMM_TINY) {
    if (is_f64) naive_f64(g);
    else naive_f32(g);
  } else if (is_f64) {
    ops->gemm_f64(g);
  } else {
    ops->gemm_f32(g);
  }
}

typedef struct mm_ctx {
  gemm_args_t g; /* the first matrix of the batch */
  tfm_dtype dtype;
  int64_t a_batch_stride, b_batch_stride, c_batch_stride; /* in elements */
  int64_t tiles_m, tiles_n;
  void (*gemm)(const gemm_args_t *);
} mm_ctx_t;

static void mm_task(void *arg, int64_t t) {
  const mm_ctx_t *c = arg;
  size_t es = c->dtype == TFM_FLOAT ? sizeof(float) : sizeof(double);
  int64_t per = c->tiles_m * c->tiles_n;
  int64_t batch = t / per, tile = t % per;
  int64_t i0 = (tile / c->tiles_n) * MATMUL_TILE_M, j0 = (tile % c->tiles_n) * MATMUL_TILE_N;
  gemm_args_t g = c->g;
  g.m = g.m - i0 < MATMUL_TILE_M ? g.m - i0 : MATMUL_TILE_M;
  g.n = g.n - j0 < MATMUL_TILE_N ? g.n - j0 : MATMUL_TILE_N;
  int64_t a_off = batch * c->a_batch_stride + (g.trans_a ? i0 : i0 * g.lda);
  int64_t b_off = batch * c->b_batch_stride + (g.trans_b ? j0 * g.ldb : j0);
  int64_t c_off = batch * c->c_batch_stride + i0 * g.ldc + j0;
  g.a = (const char *)g.a + (size_t)a_off * es;
  g.b = (const char *)g.b + (size_t)b_off * es;
  g.c = (char *)g.c + (size_t)c_off * es;
  c->gemm(&g);
}

/* Runs `batch` products of the shape in g, matrices spaced by the given strides. */
static void mm_run(tfm_dtype dt, const gemm_args_t *g, int64_t batch, int64_t sa, int64_t sb,
                   int64_t sc) {
  if (g->m == 0 || g->n == 0 || batch == 0) return;
  mm_ctx_t c = {.g = *g, .dtype = dt, .a_batch_stride = sa, .b_batch_stride = sb,
                .c_batch_stride = sc};
  int64_t work = g->m * g->n * (g->k > 0 ? g->k : 1);
  if (work <= DENSE_GEMM_TINY) {
    c.gemm = dt == TFM_FLOAT ? naive_f32 : naive_f64;
    c.tiles_m = c.tiles_n = 1;
    c.g.m = c.g.n = 0; /* unused: naive runs whole matrices below */
    size_t es = dt == TFM_FLOAT ? sizeof(float) : sizeof(double);
    for (int64_t bt = 0; bt < batch; bt++) {
      gemm_args_t one = *g;
      one.a = (const char *)g->a + (size_t)(bt * sa) * es;
      one.b = (const char *)g->b + (size_t)(bt * sb) * es;
      one.c = (char *)g->c + (size_t)(bt * sc) * es;
      c.gemm(&one);
    }
    return;
  }
  const dense_ops_t *ops = dense_ops();
  c.gemm = dt == TFM_FLOAT ? ops->gemm_f32 : ops->gemm_f64;
  c.tiles_m = (g->m + MATMUL_TILE_M - 1) / MATMUL_TILE_M;
  c.tiles_n = (g->n + MATMUL_TILE_N - 1) / MATMUL_TILE_N;
  int64_t ntasks = batch * c.tiles_m * c.tiles_n;
  if (work * batch < MATMUL_PARALLEL) {
    for (int64_t t = 0; t < ntasks; t++) mm_task(&c, t);
  } else {
    pool_parallel_for(ntasks, mm_task, &c);
  }
}

static tfm_code mm_check(const char *kernel, const tensor_t *a, const tensor_t *b, bool ta, bool tb,
                         const tensor_t *out, int min_rank, gemm_args_t *g, int64_t *batch,
                         tfm_status *st) {
  char as[SHAPE_STR_MAX], bs[SHAPE_STR_MAX], os[SHAPE_STR_MAX];
  if (!a || !b || !out) return status_set(st, TFM_INVALID_ARGUMENT, "%s: NULL tensor", kernel);
  shape_str(&a->shape, as);
  shape_str(&b->shape, bs);
  shape_str(&out->shape, os);
  if ((a->dtype != TFM_FLOAT && a->dtype != TFM_DOUBLE) || b->dtype != a->dtype ||
      out->dtype != a->dtype)
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: dtypes must be one float type: %s %s x %s %s -> %s %s",
                      kernel, dtype_name(a->dtype), as, dtype_name(b->dtype), bs,
                      dtype_name(out->dtype), os);
  int r = a->shape.rank;
  if (r < min_rank || (min_rank == 2 && r != 2) || b->shape.rank != r || out->shape.rank != r)
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: ranks do not fit: %s x %s -> %s", kernel, as,
                      bs, os);
  *batch = 1;
  for (int i = 0; i < r - 2; i++) {
    if (a->shape.dim[i] != b->shape.dim[i] || out->shape.dim[i] != a->shape.dim[i])
      return status_set(st, TFM_INVALID_ARGUMENT, "%s: batch dims differ: %s x %s -> %s", kernel, as,
                        bs, os);
    *batch *= a->shape.dim[i];
  }
  int64_t ar = a->shape.dim[r - 2], ac = a->shape.dim[r - 1];
  int64_t br = b->shape.dim[r - 2], bc = b->shape.dim[r - 1];
  int64_t m = ta ? ac : ar, k = ta ? ar : ac, kb = tb ? bc : br, n = tb ? br : bc;
  if (k != kb)
    return status_set(st, TFM_INVALID_ARGUMENT,
                      "%s: inner dimensions differ: %s%s x %s%s", kernel, as, ta ? "^T" : "", bs,
                      tb ? "^T" : "");
  if (out->shape.dim[r - 2] != m || out->shape.dim[r - 1] != n)
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: output %s should be [..,%lld,%lld] for %s x %s",
                      kernel, os, (long long)m, (long long)n, as, bs);
  if (out->data == a->data || out->data == b->data)
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: output may not alias an input", kernel);
  *g = (gemm_args_t){.m = m, .n = n, .k = k, .a = a->data, .lda = ac, .trans_a = ta,
                     .b = b->data, .ldb = bc, .trans_b = tb, .c = out->data, .ldc = n,
                     .accumulate = false};
  return TFM_OK;
}

tfm_code kern_matmul(const tensor_t *a, const tensor_t *b, bool transpose_a, bool transpose_b,
                     tensor_t *out, tfm_status *st) {
  gemm_args_t g;
  int64_t batch;
  tfm_code code = mm_check("kern_matmul", a, b, transpose_a, transpose_b, out, 2, &g, &batch, st);
  if (code != TFM_OK) return code;
  mm_run(a->dtype, &g, 1, 0, 0, 0);
  return status_ok(st);
}

tfm_code kern_batch_matmul(const tensor_t *a, const tensor_t *b, bool adj_a, bool adj_b,
                           tensor_t *out, tfm_status *st) {
  gemm_args_t g;
  int64_t batch;
  tfm_code code = mm_check("kern_batch_matmul", a, b, adj_a, adj_b, out, 3, &g, &batch, st);
  if (code != TFM_OK) return code;
  int r = a->shape.rank;
  int64_t sa = a->shape.dim[r - 2] * a->shape.dim[r - 1];
  int64_t sb = b->shape.dim[r - 2] * b->shape.dim[r - 1];
  mm_run(a->dtype, &g, batch, sa, sb, g.m * g.n);
  return status_ok(st);
}
