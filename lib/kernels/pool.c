/* MaxPool (NHWC) and its gradient. Padded positions never win (SAME padding pads
 * with -inf, as TensorFlow). A window's maximum is the first element, in (kh, kw)
 * scan order, that no later element exceeds: the gradient goes to that element,
 * so ties route to the first maximum. Tasks own an output row (forward) or an
 * (image, channel block) of the input gradient, which keeps the order of the +=
 * into overlapping windows fixed whatever the number of threads. */
#include <string.h>

#include "core/threadpool.h"
#include "kernels/kernels.h"

/* Channels per gradient task (its argmax bookkeeping lives on the stack). */
#define POOL_CHANNELS 64
/* Window reads under which pooling runs on the calling thread only. */
#define POOL_PARALLEL ((int64_t)1 << 16)

typedef struct pool_geom {
  int64_t n, h, w, c, kh, kw, sh, sw, oh, ow, pad_top, pad_left;
} pool_geom_t;

static tfm_code pool_check(const char *kernel, const tensor_t *input, const tensor_t *out,
                           const tensor_t *extra, int kh, int kw, int sh, int sw, padding_t pad,
                           pool_geom_t *g, tfm_status *st) {
  char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
  if (!input || !out) return status_set(st, TFM_INVALID_ARGUMENT, "%s: NULL tensor", kernel);
  if (input->shape.rank != 4 || out->shape.rank != 4)
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: input %s and output %s must be rank 4 (NHWC)", kernel,
                      shape_str(&input->shape, a), shape_str(&out->shape, b));
  if ((input->dtype != TFM_FLOAT && input->dtype != TFM_DOUBLE) || out->dtype != input->dtype ||
      (extra && extra->dtype != input->dtype))
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: dtypes must be one float type, got %s and %s", kernel,
                      dtype_name(input->dtype), dtype_name(out->dtype));
  if (kh < 1 || kw < 1 || sh < 1 || sw < 1)
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: window (%d,%d) and strides (%d,%d) must be >= 1",
                      kernel, kh, kw, sh, sw);
  const int64_t *d = input->shape.dim;
  int64_t oh, ow, pt, pl;
  if (conv_output_size(d[1], kh, sh, pad, &oh, &pt, st) != TFM_OK ||
      conv_output_size(d[2], kw, sw, pad, &ow, &pl, st) != TFM_OK)
    return status_prefix(st, "%s: input %s", kernel, shape_str(&input->shape, a));
  const int64_t *od = out->shape.dim;
  if (od[0] != d[0] || od[1] != oh || od[2] != ow || od[3] != d[3])
    return status_set(st, TFM_INVALID_ARGUMENT,
                      "%s: output %s should be [%lld,%lld,%lld,%lld] for input %s, window (%d,%d), strides (%d,%d)",
                      kernel, shape_str(&out->shape, b), (long long)d[0], (long long)oh, (long long)ow,
                      (long long)d[3], shape_str(&input->shape, a), kh, kw, sh, sw);
  if (extra && !shape_equal(&extra->shape, &input->shape))
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: input gradient %s should have the input's shape %s",
                      kernel, shape_str(&extra->shape, b), shape_str(&input->shape, a));
  if (oh * ow > 0 && (d[1] == 0 || d[2] == 0))
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: empty input %s", kernel, shape_str(&input->shape, a));
  *g = (pool_geom_t){d[0], d[1], d[2], d[3], kh, kw, sh, sw, oh, ow, pt, pl};
  return TFM_OK;
}

/* First and one-past-last input row (col) of output row (col) o's window. */
static void window(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t size, int64_t *lo,
                   int64_t *hi) {
  int64_t s = o * stride - pad, e = s + k;
  *lo = s < 0 ? 0 : s;
  *hi = e > size ? size : e;
}

#define DEFINE_POOL(SUF, T)                                                                   \
  typedef struct pool_ctx_##SUF {                                                             \
    pool_geom_t g;                                                                            \
    const T *x, *dy;                                                                          \
    T *out;                                                                                   \
  } pool_ctx_##SUF;                                                                           \
                                                                                              \
  static void fwd_##SUF(void *arg, int64_t t) {                                               \
    const pool_ctx_##SUF *c = arg;                                                            \
    const pool_geom_t *g = &c->g;                                                             \
    int64_t n = t / g->oh, oh = t % g->oh, h0, h1;                                            \
    window(oh, g->sh, g->pad_top, g->kh, g->h, &h0, &h1);                                     \
    for (int64_t ow = 0; ow < g->ow; ow++) {                                                  \
      int64_t w0, w1;                                                                         \
      window(ow, g->sw, g->pad_left, g->kw, g->w, &w0, &w1);                                  \
      T *o = c->out + (t * g->ow + ow) * g->c;                                                \
      memcpy(o, c->x + ((n * g->h + h0) * g->w + w0) * g->c, sizeof(T) * (size_t)g->c);       \
      for (int64_t ih = h0; ih < h1; ih++)                                                    \
        for (int64_t iw = w0; iw < w1; iw++) {                                                \
          const T *p = c->x + ((n * g->h + ih) * g->w + iw) * g->c;                           \
          for (int64_t ch = 0; ch < g->c; ch++) o[ch] = p[ch] > o[ch] ? p[ch] : o[ch];        \
        }                                                                                     \
    }                                                                                         \
  }                                                                                           \
                                                                                              \
  static void bwd_##SUF(void *arg, int64_t t) {                                               \
    const pool_ctx_##SUF *c = arg;                                                            \
    const pool_geom_t *g = &c->g;                                                             \
    int64_t blocks = (g->c + POOL_CHANNELS - 1) / POOL_CHANNELS;                              \
    int64_t n = t / blocks, c0 = (t % blocks) * POOL_CHANNELS;                                \
    int64_t nc = g->c - c0 < POOL_CHANNELS ? g->c - c0 : POOL_CHANNELS;                       \
    T *dx = c->out + n * g->h * g->w * g->c;                                                  \
    const T *x = c->x + n * g->h * g->w * g->c;                                               \
    for (int64_t i = 0; i < g->h * g->w; i++) memset(dx + i * g->c + c0, 0, sizeof(T) * (size_t)nc); \
    T best[POOL_CHANNELS];                                                                    \
    int64_t arg_px[POOL_CHANNELS];                                                            \
    for (int64_t oh = 0; oh < g->oh; oh++) {                                                  \
      int64_t h0, h1;                                                                         \
      window(oh, g->sh, g->pad_top, g->kh, g->h, &h0, &h1);                                   \
      for (int64_t ow = 0; ow < g->ow; ow++) {                                                \
        int64_t w0, w1;                                                                       \
        window(ow, g->sw, g->pad_left, g->kw, g->w, &w0, &w1);                                \
        for (int64_t ch = 0; ch < nc; ch++) {                                                 \
          best[ch] = x[(h0 * g->w + w0) * g->c + c0 + ch];                                    \
          arg_px[ch] = h0 * g->w + w0;                                                        \
        }                                                                                     \
        for (int64_t ih = h0; ih < h1; ih++)                                                  \
          for (int64_t iw = w0; iw < w1; iw++) {                                              \
            const T *p = x + (ih * g->w + iw) * g->c + c0;                                    \
            for (int64_t ch = 0; ch < nc; ch++)                                               \
              if (p[ch] > best[ch]) {                                                         \
                best[ch] = p[ch];                                                             \
                arg_px[ch] = ih * g->w + iw;                                                  \
              }                                                                               \
          }                                                                                   \
        const T *gy = c->dy + ((n * g->oh + oh) * g->ow + ow) * g->c + c0;                    \
        for (int64_t ch = 0; ch < nc; ch++) dx[arg_px[ch] * g->c + c0 + ch] += gy[ch];        \
      }                                                                                       \
    }                                                                                         \
  }

DEFINE_POOL(f32, float)
DEFINE_POOL(f64, double)

tfm_code kern_max_pool(const tensor_t *input, int kh, int kw, int sh, int sw, padding_t pad,
                       tensor_t *out, tfm_status *st) {
  pool_geom_t g;
  tfm_code code = pool_check("kern_max_pool", input, out, NULL, kh, kw, sh, sw, pad, &g, st);
  if (code != TFM_OK) return code;
  int64_t ntasks = g.n * g.oh, work = ntasks * g.ow * g.kh * g.kw * g.c;
  pool_task_fn fn;
  pool_ctx_f32 c32 = {g, input->data, NULL, out->data};
  pool_ctx_f64 c64 = {g, input->data, NULL, out->data};
  void *ctx = input->dtype == TFM_FLOAT ? (void *)&c32 : (void *)&c64;
  fn = input->dtype == TFM_FLOAT ? fwd_f32 : fwd_f64;
  if (work < POOL_PARALLEL) {
    for (int64_t t = 0; t < ntasks; t++) fn(ctx, t);
  } else {
    pool_parallel_for(ntasks, fn, ctx);
  }
  return status_ok(st);
}

tfm_code kern_max_pool_grad(const tensor_t *input, const tensor_t *out_grad, int kh, int kw,
                            int sh, int sw, padding_t pad, tensor_t *in_grad, tfm_status *st) {
  pool_geom_t g;
  if (!in_grad) return status_set(st, TFM_INVALID_ARGUMENT, "kern_max_pool_grad: NULL tensor");
  tfm_code code = pool_check("kern_max_pool_grad", input, out_grad, in_grad, kh, kw, sh, sw, pad, &g, st);
  if (code != TFM_OK) return code;
  if (g.oh * g.ow == 0) {
    memset(in_grad->data, 0, in_grad->nbytes);
    return status_ok(st);
  }
  int64_t blocks = (g.c + POOL_CHANNELS - 1) / POOL_CHANNELS;
  int64_t ntasks = g.n * blocks, work = g.n * g.oh * g.ow * g.kh * g.kw * g.c;
  pool_ctx_f32 c32 = {g, input->data, out_grad->data, in_grad->data};
  pool_ctx_f64 c64 = {g, input->data, out_grad->data, in_grad->data};
  void *ctx = input->dtype == TFM_FLOAT ? (void *)&c32 : (void *)&c64;
  pool_task_fn fn = input->dtype == TFM_FLOAT ? bwd_f32 : bwd_f64;
  if (work < POOL_PARALLEL) {
    for (int64_t t = 0; t < ntasks; t++) fn(ctx, t);
  } else {
    pool_parallel_for(ntasks, fn, ctx);
  }
  return status_ok(st);
}
