/* Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
 * SC 2011): a counter-based generator, so value i of a fill is a pure function of
 * (key, counter + block of i) and any split over threads gives the same numbers.
 *
 * Layout of a fill: block b = g->counter + j is the 128-bit counter
 * {lo32(b), hi32(b), 0, 0} and yields 4 x 32 bits: four float32 or int32 values,
 * or two float64 or int64 values. Normals use Box-Muller on pairs of uniforms.
 * Truncated normals draw, for element i, attempts a = 1, 2, ... from the counter
 * {lo32(b), hi32(b), a, 0} with b = g->counter + i, and keep the first value within
 * 2 standard deviations. Each fill advances g->counter past the blocks it used.
 */
#include <math.h>

#include "core/threadpool.h"
#include "kernels/kernels.h"

#define RANDOM_TASK ((int64_t)1 << 16) /* elements per task; a multiple of 4 */
#define TWO_PI 6.283185307179586476925286766559

static void philox_block(const uint32_t key[2], const uint32_t ctr_in[4], uint32_t out[4]) {
  uint32_t k0 = key[0], k1 = key[1];
  uint32_t c0 = ctr_in[0], c1 = ctr_in[1], c2 = ctr_in[2], c3 = ctr_in[3];
  for (int round = 0; round < 10; round++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c0 = n0;
    c1 = (uint32_t)p1;
    c2 = n2;
    c3 = (uint32_t)p0;
    k0 += 0x9E3779B9u; /* the Weyl sequence of the key schedule */
    k1 += 0xBB67AE85u;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

static void block_at(const philox_t *g, uint64_t b, uint32_t attempt, uint32_t out[4]) {
  uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), attempt, 0};
  philox_block(g->key, ctr, out);
}

static uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

void philox_seed(philox_t *g, uint64_t seed, uint64_t seed2) {
  uint64_t k = seed2 ? seed ^ splitmix64(seed2) : seed; /* (seed, 0) keys with seed itself */
  g->key[0] = (uint32_t)k;
  g->key[1] = (uint32_t)(k >> 32);
  g->counter = 0;
}

/* Uniforms from the top bits: [0, 1) with 24 / 53 random bits. */
static float u24(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }
static double u53(uint32_t hi, uint32_t lo) {
  return (double)((((uint64_t)hi << 32) | lo) >> 11) * (1.0 / 9007199254740992.0);
}
/* Box-Muller: u1 in (0, 1] so the log is finite. */
static void box_muller(double u1, double u2, double *z0, double *z1) {
  double r = sqrt(-2.0 * log(u1));
  *z0 = r * cos(TWO_PI * u2);
  *z1 = r * sin(TWO_PI * u2);
}

typedef enum fill_kind { FILL_UNIFORM, FILL_NORMAL, FILL_TRUNCATED, FILL_INT } fill_kind_t;

typedef struct fill_ctx {
  const philox_t *g;
  fill_kind_t kind;
  tfm_dtype dtype;
  void *out;
  int64_t n;
  int64_t lo;
  uint64_t range;
} fill_ctx_t;

/* Values of block b, by kind and dtype; returns how many (4 or 2). */
static int block_values(const fill_ctx_t *c, uint64_t b, double v[4], int64_t iv[4]) {
  uint32_t x[4];
  block_at(c->g, b, 0, x);
  bool f32 = c->dtype == TFM_FLOAT || c->dtype == TFM_INT32;
  switch (c->kind) {
    case FILL_UNIFORM:
      if (f32) {
        for (int i = 0; i < 4; i++) v[i] = u24(x[i]);
        return 4;
      }
      v[0] = u53(x[0], x[1]);
      v[1] = u53(x[2], x[3]);
      return 2;
    case FILL_NORMAL:
      if (f32) {
        box_muller(1.0 - u24(x[0]), u24(x[1]), &v[0], &v[1]);
        box_muller(1.0 - u24(x[2]), u24(x[3]), &v[2], &v[3]);
        return 4;
      }
      box_muller(1.0 - u53(x[0], x[1]), u53(x[2], x[3]), &v[0], &v[1]);
      return 2;
    case FILL_INT:
      if (f32) {
        for (int i = 0; i < 4; i++) iv[i] = c->lo + (int64_t)(x[i] % c->range);
        return 4;
      }
      for (int i = 0; i < 2; i++) {
        uint64_t u = ((uint64_t)x[2 * i] << 32) | x[2 * i + 1];
        iv[i] = (int64_t)((uint64_t)c->lo + u % c->range);
      }
      return 2;
    default: return 0;
  }
}

/* Element i of a truncated-normal fill. */
static double truncated_at(const philox_t *g, uint64_t b) {
  for (uint32_t attempt = 1; attempt < 1000; attempt++) {
    uint32_t x[4];
    block_at(g, b, attempt, x);
    double z0, z1;
    box_muller(1.0 - u53(x[0], x[1]), u53(x[2], x[3]), &z0, &z1);
    if (fabs(z0) <= 2.0) return z0;
    if (fabs(z1) <= 2.0) return z1;
  }
  return 0.0; /* 1998 rejections in a row: probability below 1e-2600 */
}

static void store(const fill_ctx_t *c, int64_t i, double v, int64_t iv) {
  switch (c->dtype) {
    case TFM_FLOAT: ((float *)c->out)[i] = (float)v; break;
    case TFM_DOUBLE: ((double *)c->out)[i] = v; break;
    case TFM_INT32: ((int32_t *)c->out)[i] = (int32_t)iv; break;
    default: ((int64_t *)c->out)[i] = iv; break;
  }
}

static int per_block(const fill_ctx_t *c) {
  if (c->kind == FILL_TRUNCATED) return 1;
  return c->dtype == TFM_FLOAT || c->dtype == TFM_INT32 ? 4 : 2;
}

static void fill_task(void *arg, int64_t t) {
  const fill_ctx_t *c = arg;
  int64_t i0 = t * RANDOM_TASK, i1 = i0 + RANDOM_TASK < c->n ? i0 + RANDOM_TASK : c->n;
  int per = per_block(c);
  for (int64_t i = i0; i < i1; i += per) {
    uint64_t b = c->g->counter + (uint64_t)(i / per);
    if (c->kind == FILL_TRUNCATED) {
      store(c, i, truncated_at(c->g, b), 0);
      continue;
    }
    double v[4] = {0};
    int64_t iv[4] = {0};
    block_values(c, b, v, iv);
    for (int k = 0; k < per && i + k < i1; k++) store(c, i + k, v[k], iv[k]);
  }
}

static tfm_code fill(philox_t *g, fill_kind_t kind, const char *kernel, int64_t lo, uint64_t range,
                     tensor_t *out, tfm_status *st) {
  if (!g || !out) return status_set(st, TFM_INVALID_ARGUMENT, "%s: NULL argument", kernel);
  bool ok = kind == FILL_INT ? (out->dtype == TFM_INT32 || out->dtype == TFM_INT64)
                             : (out->dtype == TFM_FLOAT || out->dtype == TFM_DOUBLE);
  if (!ok) {
    char s[SHAPE_STR_MAX];
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: unsupported output dtype %s (shape %s)", kernel,
                      dtype_name(out->dtype), shape_str(&out->shape, s));
  }
  fill_ctx_t c = {g, kind, out->dtype, out->data, out->num_elements, lo, range};
  int64_t ntasks = (c.n + RANDOM_TASK - 1) / RANDOM_TASK;
  if (ntasks <= 1) {
    if (ntasks == 1) fill_task(&c, 0);
  } else {
    pool_parallel_for(ntasks, fill_task, &c);
  }
  int per = per_block(&c);
  g->counter += (uint64_t)((c.n + per - 1) / per);
  return status_ok(st);
}

tfm_code kern_random_uniform(philox_t *g, tensor_t *out, tfm_status *st) {
  return fill(g, FILL_UNIFORM, "kern_random_uniform", 0, 1, out, st);
}

tfm_code kern_random_normal(philox_t *g, tensor_t *out, tfm_status *st) {
  return fill(g, FILL_NORMAL, "kern_random_normal", 0, 1, out, st);
}

tfm_code kern_truncated_normal(philox_t *g, tensor_t *out, tfm_status *st) {
  return fill(g, FILL_TRUNCATED, "kern_truncated_normal", 0, 1, out, st);
}

tfm_code kern_random_uniform_int(philox_t *g, int64_t lo, int64_t hi, tensor_t *out,
                                 tfm_status *st) {
  if (lo >= hi)
    return status_set(st, TFM_INVALID_ARGUMENT, "kern_random_uniform_int: need lo < hi, got [%lld, %lld)",
                      (long long)lo, (long long)hi);
  if (out && out->dtype == TFM_INT32 && (lo < INT32_MIN || hi - 1 > INT32_MAX))
    return status_set(st, TFM_INVALID_ARGUMENT,
                      "kern_random_uniform_int: [%lld, %lld) does not fit an int32 output",
                      (long long)lo, (long long)hi);
  return fill(g, FILL_INT, "kern_random_uniform_int", lo, (uint64_t)hi - (uint64_t)lo, out, st);
}

/* Exposed for the known-answer test of the Philox block function. */
void philox4x32_10(const uint32_t key[2], const uint32_t ctr[4], uint32_t out[4]) {
  philox_block(key, ctr, out);
}
