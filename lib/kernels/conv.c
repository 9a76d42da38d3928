/* Conv2D (NHWC input, HWIO filter) and both of its gradients, as sums of GEMMs
 * over strided views, with no im2col buffer: for one output row (n, oh) and one
 * filter tap (kh, kw), the input pixels that tap touches are a strided matrix
 * [ow x C] (row stride stride_w*C), so
 *     out[n, oh, ow_range, :] += input_view[ow_range, :] x filter[kh, kw]   ([C x O]).
 * The input gradient swaps the roles (out_grad x filter^T into a strided view of
 * in_grad), the filter gradient is input_view^T x out_grad summed over (n, oh).
 * Tasks own disjoint outputs (an output row; an input-gradient row; a filter tap
 * and channel block) and sum in a fixed order, so results do not depend on the
 * number of threads.
 */
#include <string.h>

#include "core/threadpool.h"
#include "kernels/dense_levels.h"
#include "kernels/kernels.h"

/* Filter-gradient rows (input channels) per task. */
#define CONV_FILTER_ROWS 64
/* Multiply-adds under which a conv runs on the calling thread only. */
#define CONV_PARALLEL ((int64_t)1 << 17)

tfm_code conv_output_size(int64_t in, int64_t window, int64_t stride, padding_t pad,
                          int64_t *out, int64_t *pad_before, tfm_status *st) {
  if (in < 0 || window < 1 || stride < 1)
    return status_set(st, TFM_INVALID_ARGUMENT,
                      "conv_output_size: need input >= 0, window >= 1, stride >= 1, got %lld, %lld, %lld",
                      (long long)in, (long long)window, (long long)stride);
  int64_t o, before = 0;
  if (pad == PADDING_SAME) {
    o = (in + stride - 1) / stride;
    int64_t total = (o - 1) * stride + window - in;
    if (total < 0) total = 0;
    before = total / 2;
  } else {
    o = (in - window + stride) / stride;
    if (in - window + stride < 0) o = -1;
    if (o < 0)
      return status_set(st, TFM_INVALID_ARGUMENT,
                        "conv_output_size: window %lld is larger than the input %lld with VALID padding",
                        (long long)window, (long long)in);
  }
  *out = o;
  *pad_before = before;
  return TFM_OK;
}

static int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* The sizes every conv kernel works with. */
typedef struct conv_geom {
  int64_t n, h, w, c, kh, kw, o, oh, ow, sh, sw, pad_top, pad_left;
  bool f64;
  size_t es;
  const dense_ops_t *ops;
} conv_geom_t;

/* Output columns ow whose tap kw lands inside the input: [*lo, *hi]; false if none. */
static bool tap_cols(const conv_geom_t *g, int64_t kw, int64_t *lo, int64_t *hi) {
  int64_t l = ceil_div(g->pad_left - kw, g->sw), r = floor_div(g->w - 1 + g->pad_left - kw, g->sw);
  if (l < 0) l = 0;
  if (r > g->ow - 1) r = g->ow - 1;
  *lo = l;
  *hi = r;
  return l <= r;
}

/* Checks ranks, dtypes, channels and the output (gradient) shape of a conv with
 * this input, filter and output; fills g. */
static tfm_code conv_check(const char *kernel, const tensor_t *input, const tensor_t *filter,
                           const tensor_t *out, int sh, int sw, padding_t pad, conv_geom_t *g,
                           tfm_status *st) {
  const tensor_t *ts[3] = {input, filter, out};
  tfm_dtype dt = input->dtype;
  for (int i = 0; i < 3; i++) {
    if (ts[i]->shape.rank != 4)
      return status_set(st, TFM_INVALID_ARGUMENT, "%s: tensors must be rank 4 (NHWC, HWIO), got rank %d",
                        kernel, ts[i]->shape.rank);
    if (ts[i]->dtype != dt || (dt != TFM_FLOAT && dt != TFM_DOUBLE))
      return status_set(st, TFM_INVALID_ARGUMENT, "%s: dtypes must be one float type, got %s and %s",
                        kernel, dtype_name(dt), dtype_name(ts[i]->dtype));
  }
  if (sh < 1 || sw < 1)
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: strides must be >= 1, got (%d, %d)", kernel, sh, sw);
  const int64_t *in_dims = input->shape.dim, *f_dims = filter->shape.dim, *out_dims = out->shape.dim;
  char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX], c[SHAPE_STR_MAX];
  const shape_t si = input->shape, sf = filter->shape, so = out->shape;
  if (in_dims[3] != f_dims[2])
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: input %s has %lld channels, filter %s expects %lld",
                      kernel, shape_str(&si, a), (long long)in_dims[3], shape_str(&sf, b),
                      (long long)f_dims[2]);
  int64_t oh, ow, pt, pl;
  if (conv_output_size(in_dims[1], f_dims[0], sh, pad, &oh, &pt, st) != TFM_OK ||
      conv_output_size(in_dims[2], f_dims[1], sw, pad, &ow, &pl, st) != TFM_OK)
    return status_prefix(st, "%s: input %s, filter %s", kernel, shape_str(&si, a), shape_str(&sf, b));
  if (out_dims[0] != in_dims[0] || out_dims[1] != oh || out_dims[2] != ow || out_dims[3] != f_dims[3])
    return status_set(st, TFM_INVALID_ARGUMENT,
                      "%s: output (gradient) %s should be [%lld,%lld,%lld,%lld] for input %s, filter %s, "
                      "strides (%d,%d), %s padding",
                      kernel, shape_str(&so, c), (long long)in_dims[0], (long long)oh, (long long)ow,
                      (long long)f_dims[3], shape_str(&si, a), shape_str(&sf, b), sh, sw,
                      pad == PADDING_SAME ? "SAME" : "VALID");
  *g = (conv_geom_t){.n = in_dims[0], .h = in_dims[1], .w = in_dims[2], .c = in_dims[3],
                     .kh = f_dims[0], .kw = f_dims[1], .o = f_dims[3], .oh = oh, .ow = ow, .sh = sh,
                     .sw = sw, .pad_top = pt, .pad_left = pl, .f64 = dt == TFM_DOUBLE,
                     .es = dt == TFM_DOUBLE ? sizeof(double) : sizeof(float), .ops = dense_ops()};
  return TFM_OK;
}

typedef struct conv_ctx {
  conv_geom_t g;
  const char *x;  /* input (forward, filter grad) or out_grad (input grad) */
  const char *y;  /* filter (forward, input grad) or out_grad (filter grad) */
  char *out;
} conv_ctx_t;

static void run_tasks(int64_t ntasks, int64_t macs, pool_task_fn fn, conv_ctx_t *c) {
  if (macs < CONV_PARALLEL) {
    for (int64_t t = 0; t < ntasks; t++) fn(c, t);
  } else {
    pool_parallel_for(ntasks, fn, c);
  }
}

/* Task: one output row (n, oh). */
static void fwd_task(void *arg, int64_t t) {
  const conv_ctx_t *c = arg;
  const conv_geom_t *g = &c->g;
  int64_t n = t / g->oh, oh = t % g->oh;
  char *row = c->out + (size_t)(t * g->ow * g->o) * g->es;
  memset(row, 0, (size_t)(g->ow * g->o) * g->es);
  for (int64_t kh = 0; kh < g->kh; kh++) {
    int64_t ih = oh * g->sh - g->pad_top + kh;
    if (ih < 0 || ih >= g->h) continue;
    for (int64_t kw = 0; kw < g->kw; kw++) {
      int64_t lo, hi;
      if (!tap_cols(g, kw, &lo, &hi)) continue;
      int64_t iw = lo * g->sw - g->pad_left + kw;
      gemm_args_t ga = {
          .m = hi - lo + 1, .n = g->o, .k = g->c,
          .a = c->x + (size_t)(((n * g->h + ih) * g->w + iw) * g->c) * g->es, .lda = g->sw * g->c,
          .b = c->y + (size_t)((kh * g->kw + kw) * g->c * g->o) * g->es, .ldb = g->o,
          .c = row + (size_t)(lo * g->o) * g->es, .ldc = g->o, .accumulate = true};
      dense_gemm(g->f64, g->ops, &ga);
    }
  }
}

/* Task: one input-gradient row (n, ih). */
static void bwd_input_task(void *arg, int64_t t) {
  const conv_ctx_t *c = arg;
  const conv_geom_t *g = &c->g;
  int64_t n = t / g->h, ih = t % g->h;
  char *row = c->out + (size_t)(t * g->w * g->c) * g->es;
  memset(row, 0, (size_t)(g->w * g->c) * g->es);
  /* output rows whose window covers ih: kh = ih + pad_top - oh*sh in [0, kh) */
  int64_t oh_lo = ceil_div(ih + g->pad_top - g->kh + 1, g->sh), oh_hi = floor_div(ih + g->pad_top, g->sh);
  if (oh_lo < 0) oh_lo = 0;
  if (oh_hi > g->oh - 1) oh_hi = g->oh - 1;
  for (int64_t oh = oh_lo; oh <= oh_hi; oh++) {
    int64_t kh = ih + g->pad_top - oh * g->sh;
    for (int64_t kw = 0; kw < g->kw; kw++) {
      int64_t lo, hi;
      if (!tap_cols(g, kw, &lo, &hi)) continue;
      int64_t iw = lo * g->sw - g->pad_left + kw;
      gemm_args_t ga = {
          .m = hi - lo + 1, .n = g->c, .k = g->o,
          .a = c->x + (size_t)(((n * g->oh + oh) * g->ow + lo) * g->o) * g->es, .lda = g->o,
          .b = c->y + (size_t)((kh * g->kw + kw) * g->c * g->o) * g->es, .ldb = g->o, .trans_b = true,
          .c = row + (size_t)(iw * g->c) * g->es, .ldc = g->sw * g->c, .accumulate = true};
      dense_gemm(g->f64, g->ops, &ga);
    }
  }
}

/* Task: one filter tap (kh, kw) and a block of input channels. */
static void bwd_filter_task(void *arg, int64_t t) {
  const conv_ctx_t *c = arg;
  const conv_geom_t *g = &c->g;
  int64_t blocks = (g->c + CONV_FILTER_ROWS - 1) / CONV_FILTER_ROWS;
  int64_t tap = t / blocks, c0 = (t % blocks) * CONV_FILTER_ROWS;
  int64_t kh = tap / g->kw, kw = tap % g->kw;
  int64_t rows = g->c - c0 < CONV_FILTER_ROWS ? g->c - c0 : CONV_FILTER_ROWS;
  char *dw = c->out + (size_t)((tap * g->c + c0) * g->o) * g->es;
  memset(dw, 0, (size_t)(rows * g->o) * g->es);
  int64_t lo, hi;
  if (!tap_cols(g, kw, &lo, &hi)) return;
  int64_t iw = lo * g->sw - g->pad_left + kw;
  for (int64_t n = 0; n < g->n; n++) {
    for (int64_t oh = 0; oh < g->oh; oh++) {
      int64_t ih = oh * g->sh - g->pad_top + kh;
      if (ih < 0 || ih >= g->h) continue;
      gemm_args_t ga = {
          .m = rows, .n = g->o, .k = hi - lo + 1,
          .a = c->x + (size_t)(((n * g->h + ih) * g->w + iw) * g->c + c0) * g->es, .lda = g->sw * g->c,
          .trans_a = true,
          .b = c->y + (size_t)(((n * g->oh + oh) * g->ow + lo) * g->o) * g->es, .ldb = g->o,
          .c = dw, .ldc = g->o, .accumulate = true};
      dense_gemm(g->f64, g->ops, &ga);
    }
  }
}

typedef enum conv_kind { CONV_FORWARD, CONV_INPUT_GRAD, CONV_FILTER_GRAD } conv_kind_t;

/* Checks a conv described by tensors of the forward shapes (input, filter,
 * output), then runs kind's tasks reading x and y and writing dst. */
static tfm_code conv_run(conv_kind_t kind, const char *kernel, const tensor_t *input,
                         const tensor_t *filter, const tensor_t *output, const tensor_t *x,
                         const tensor_t *y, tensor_t *dst, int sh, int sw, padding_t pad,
                         tfm_status *st) {
  if (!input || !filter || !output) return status_set(st, TFM_INVALID_ARGUMENT, "%s: NULL tensor", kernel);
  conv_ctx_t c;
  tfm_code code = conv_check(kernel, input, filter, output, sh, sw, pad, &c.g, st);
  if (code != TFM_OK) return code;
  c.x = x->data;
  c.y = y->data;
  c.out = dst->data;
  const conv_geom_t *g = &c.g;
  int64_t macs = g->n * g->oh * g->ow * g->kh * g->kw * g->c * g->o;
  switch (kind) {
    case CONV_FORWARD: run_tasks(g->n * g->oh, macs, fwd_task, &c); break;
    case CONV_INPUT_GRAD: run_tasks(g->n * g->h, macs, bwd_input_task, &c); break;
    case CONV_FILTER_GRAD:
      run_tasks(g->kh * g->kw * ((g->c + CONV_FILTER_ROWS - 1) / CONV_FILTER_ROWS), macs,
                bwd_filter_task, &c);
      break;
  }
  return status_ok(st);
}

tfm_code kern_conv2d(const tensor_t *input, const tensor_t *filter, int stride_h, int stride_w,
                     padding_t pad, tensor_t *out, tfm_status *st) {
  return conv_run(CONV_FORWARD, "kern_conv2d", input, filter, out, input, filter, out, stride_h,
                  stride_w, pad, st);
}

tfm_code kern_conv2d_backprop_input(const tensor_t *filter, const tensor_t *out_grad,
                                    int stride_h, int stride_w, padding_t pad,
                                    tensor_t *in_grad, tfm_status *st) {
  return conv_run(CONV_INPUT_GRAD, "kern_conv2d_backprop_input", in_grad, filter, out_grad,
                  out_grad, filter, in_grad, stride_h, stride_w, pad, st);
}

tfm_code kern_conv2d_backprop_filter(const tensor_t *input, const tensor_t *out_grad,
                                     int stride_h, int stride_w, padding_t pad,
                                     tensor_t *filter_grad, tfm_status *st) {
  return conv_run(CONV_FILTER_GRAD, "kern_conv2d_backprop_filter", input, filter_grad, out_grad,
                  input, out_grad, filter_grad, stride_h, stride_w, pad, st);
}
