/* The float fast paths of reduce.c, included once per float type with FT (the
 * type) and FSUF (f32 / f64) defined. Sums go through dense_ops() (SIMD, pairwise). */

#define RF_CAT2(a, b) a##_##b
#define RF_CAT(a, b) RF_CAT2(a, b)
#define RF(x) RF_CAT(x, FSUF)
#define FOP(ops, name) ((ops)->RF_CAT(name, FSUF))

static inline FT RF(combine)(reduce_op_t op, FT a, FT b) {
  switch (op) {
    case REDUCE_PROD: return a * b;
    case REDUCE_MAX: return (b > a || b != b) ? b : a;
    case REDUCE_MIN: return (b < a || b != b) ? b : a;
    default: return a + b;
  }
}

/* Reduction of x[0..n), n >= 1, on the calling thread. */
static FT RF(contig)(const dense_ops_t *ops, reduce_op_t op, const FT *x, int64_t n) {
  switch (op) {
    case REDUCE_MAX: return FOP(ops, max)(x, n);
    case REDUCE_MIN: return FOP(ops, min)(x, n);
    case REDUCE_PROD: {
      FT p = 1;
      for (int64_t i = 0; i < n; i++) p *= x[i];
      return p;
    }
    default: return FOP(ops, sum)(x, n);
  }
}

static FT RF(combine_pairwise)(reduce_op_t op, const FT *v, int64_t n) {
  if (n == 1) return v[0];
  int64_t h = n / 2;
  return RF(combine)(op, RF(combine_pairwise)(op, v, h), RF(combine_pairwise)(op, v + h, n - h));
}

typedef struct RF(full_ctx) {
  const dense_ops_t *ops;
  reduce_op_t op;
  const FT *x;
  int64_t n, block;
  FT *partial;
} RF(full_ctx_t);

static void RF(full_task)(void *arg, int64_t t) {
  RF(full_ctx_t) *c = arg;
  int64_t b0 = t * c->block, len = c->n - b0 < c->block ? c->n - b0 : c->block;
  c->partial[t] = RF(contig)(c->ops, c->op, c->x + b0, len);
}

/* Reduction of x[0..n), n >= 1: fixed blocks over the pool, combined pairwise. */
static FT RF(full)(const dense_ops_t *ops, reduce_op_t op, const FT *x, int64_t n) {
  int64_t block = REDUCE_BLOCK;
  if (n > block * REDUCE_MAX_PARTIALS) {
    int64_t per = (n + REDUCE_MAX_PARTIALS - 1) / REDUCE_MAX_PARTIALS;
    block = (per + REDUCE_BLOCK - 1) / REDUCE_BLOCK * REDUCE_BLOCK;
  }
  int64_t nb = (n + block - 1) / block;
  if (nb == 1) return RF(contig)(ops, op, x, n);
  FT partial[REDUCE_MAX_PARTIALS];
  RF(full_ctx_t) c = {ops, op, x, n, block, partial};
  pool_parallel_for(nb, RF(full_task), &c);
  return RF(combine_pairwise)(op, partial, nb);
}

/* ---- [K, R]: each row reduced ------------------------------------------------- */

typedef struct RF(rows_ctx) {
  const dense_ops_t *ops;
  reduce_op_t op;
  const FT *x;
  FT *out;
  int64_t rows, len, rows_per_task;
} RF(rows_ctx_t);

static void RF(rows_task)(void *arg, int64_t t) {
  RF(rows_ctx_t) *c = arg;
  int64_t k0 = t * c->rows_per_task, k1 = k0 + c->rows_per_task;
  if (k1 > c->rows) k1 = c->rows;
  for (int64_t k = k0; k < k1; k++) c->out[k] = RF(contig)(c->ops, c->op, c->x + k * c->len, c->len);
}

static void RF(rows)(const dense_ops_t *ops, reduce_op_t op, const FT *x, int64_t rows, int64_t len,
                     FT *out) {
  if (len >= 2 * REDUCE_BLOCK) { /* long rows: each one split over the pool */
    for (int64_t k = 0; k < rows; k++) out[k] = RF(full)(ops, op, x + k * len, len);
    return;
  }
  int64_t per = REDUCE_BLOCK / len > 0 ? REDUCE_BLOCK / len : 1;
  RF(rows_ctx_t) c = {ops, op, x, out, rows, len, per};
  int64_t ntasks = (rows + per - 1) / per;
  if (ntasks == 1) RF(rows_task)(&c, 0);
  else pool_parallel_for(ntasks, RF(rows_task), &c);
}

/* ---- [K1, R, K2]: columns reduced ----------------------------------------------- */

/* dst[0..w) = sum over `rows` rows of x (row stride `stride`), pairwise over rows. */
static void RF(colsum)(const dense_ops_t *ops, const FT *x, int64_t stride, int64_t rows, int64_t w,
                       FT *dst) {
  if (rows <= REDUCE_COL_LEAF) {
    memcpy(dst, x, sizeof(FT) * (size_t)w);
    for (int64_t r = 1; r < rows; r++) FOP(ops, add)(dst, x + r * stride, w);
    return;
  }
  int64_t h = rows / 2;
  FT tmp[REDUCE_COLS];
  RF(colsum)(ops, x, stride, h, w, dst);
  RF(colsum)(ops, x + h * stride, stride, rows - h, w, tmp);
  FOP(ops, add)(dst, tmp, w);
}

typedef struct RF(cols_ctx) {
  const dense_ops_t *ops;
  reduce_op_t op;
  const FT *x;
  FT *out;
  int64_t r, k2, strips;
} RF(cols_ctx_t);

static void RF(cols_task)(void *arg, int64_t t) {
  RF(cols_ctx_t) *c = arg;
  int64_t k1 = t / c->strips, j0 = (t % c->strips) * REDUCE_COLS;
  int64_t w = c->k2 - j0 < REDUCE_COLS ? c->k2 - j0 : REDUCE_COLS;
  const FT *x = c->x + k1 * c->r * c->k2 + j0;
  FT *dst = c->out + k1 * c->k2 + j0;
  if (c->op == REDUCE_SUM || c->op == REDUCE_MEAN) {
    RF(colsum)(c->ops, x, c->k2, c->r, w, dst);
    return;
  }
  memcpy(dst, x, sizeof(FT) * (size_t)w);
  for (int64_t r = 1; r < c->r; r++) {
    const FT *row = x + r * c->k2;
    for (int64_t j = 0; j < w; j++) dst[j] = RF(combine)(c->op, dst[j], row[j]);
  }
}

static void RF(cols)(const dense_ops_t *ops, reduce_op_t op, const FT *x, int64_t k1, int64_t r,
                     int64_t k2, FT *out) {
  int64_t strips = (k2 + REDUCE_COLS - 1) / REDUCE_COLS;
  RF(cols_ctx_t) c = {ops, op, x, out, r, k2, strips};
  int64_t ntasks = k1 * strips;
  if (ntasks == 1 || k1 * r * k2 < 2 * REDUCE_BLOCK) {
    for (int64_t t = 0; t < ntasks; t++) RF(cols_task)(&c, t);
  } else {
    pool_parallel_for(ntasks, RF(cols_task), &c);
  }
}

static void RF(reduce)(reduce_op_t op, const red_plan_t *p, const FT *x, FT *out) {
  const dense_ops_t *ops = dense_ops();
  if (p->n_in == 0 || p->rank == 0) {
    RF(walk)(op, p, x, out);
  } else if (p->rank == 1 && p->red[0]) {
    out[0] = RF(full)(ops, op, x, p->n_in);
  } else if (p->rank == 2 && p->red[1]) {
    RF(rows)(ops, op, x, p->dim[0], p->dim[1], out);
  } else if (p->rank == 2 && p->red[0]) {
    RF(cols)(ops, op, x, 1, p->dim[0], p->dim[1], out);
  } else if (p->rank == 3 && p->red[1]) {
    RF(cols)(ops, op, x, p->dim[0], p->dim[1], p->dim[2], out);
  } else {
    RF(walk)(op, p, x, out);
  }
  if (op == REDUCE_MEAN)
    for (int64_t i = 0; i < p->n_out; i++) out[i] /= (FT)p->n_red;
}

#undef RF_CAT2
#undef RF_CAT
#undef RF
#undef FOP
