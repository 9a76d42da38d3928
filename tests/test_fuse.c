/* Fusion of element-wise chains and reductions in compiled plans (runtime/fuse.h):
 * the fused plan agrees with a float64 reference loop and with the unfused plan,
 * with broadcasting of scalars, fetched intermediates, shapes known only at run
 * time, odd sizes, shapes the fused pass does not take (run unfused), integer
 * chains (never fused), any thread count (bit-identical), and allocates nothing
 * in the steady state. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/fuse.h"
#include "runtime/session.h"
#include "tfmini/debug.h"
#include "tfmini/tfmini.h"

static tfm_status *st;
static tfm_graph *g;

static void setup(void) {
  st = tfm_status_new();
  g = tfm_graph_new(st);
  fuse_set_enabled(true);
  tfm_set_num_threads(2, st);
}

static void teardown(void) {
  tfm_graph_delete(g);
  tfm_status_delete(st);
  fuse_set_enabled(true);
}

#define OK() ck_assert_msg(tfm_status_code(st) == TFM_OK, "%s", tfm_status_message(st))

static float *data_x, *data_y;

/* Deterministic data: x in [-1, 1), y = 0.5x + 0.25 + noise. */
static void make_data(int64_t n) {
  data_x = malloc(sizeof(float) * (size_t)n);
  data_y = malloc(sizeof(float) * (size_t)n);
  uint64_t s = 0x2545F4914F6CDD1Dull;
  for (int64_t i = 0; i < n; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    data_x[i] = (float)((double)(s >> 40) / (double)(1 << 24)) * 2.0f - 1.0f;
    data_y[i] = 0.5f * data_x[i] + 0.25f + 0.1f * (float)((double)(s & 0xffff) / 65536.0 - 0.5);
  }
}

static void free_data(void) {
  free(data_x);
  free(data_y);
}

/* The float64 reference: loss = mean((y - (m x + b))^2), its gradients. */
static void reference(int64_t n, double m, double b, double *loss, double *gm, double *gb) {
  double l = 0, sm = 0, sb = 0;
  for (int64_t i = 0; i < n; i++) {
    double e = (double)data_y[i] - (m * data_x[i] + b);
    l += e * e;
    sm += -2.0 * e * data_x[i];
    sb += -2.0 * e;
  }
  *loss = l / (double)n;
  *gm = sm / (double)n;
  *gb = sb / (double)n;
}

static void assert_close(double got, double want, double rel, const char *what) {
  double tol = rel * fmax(1.0, fabs(want));
  ck_assert_msg(fabs(got - want) <= tol, "%s: got %.9g, want %.9g (tolerance %.3g)", what, got,
                want, tol);
}

typedef struct model {
  tfm_output *x, *y, *loss, *grads[2], *sq;
  tfm_session *s;
} model_t;

/* rank_known: placeholders of shape [n] or [-1]. */
static void build(model_t *md, int64_t n, bool known, float m0, float b0) {
  int64_t d[1] = {known ? n : -1};
  md->x = tfm_placeholder(g, TFM_FLOAT, d, 1, "x", st);
  md->y = tfm_placeholder(g, TFM_FLOAT, d, 1, "y", st);
  tfm_variable *m = tfm_variable_new(g, tfm_scalar(g, m0, TFM_FLOAT, NULL, st), 1, "m", st);
  tfm_variable *b = tfm_variable_new(g, tfm_scalar(g, b0, TFM_FLOAT, NULL, st), 1, "b", st);
  tfm_output *pred = tfm_add(g, tfm_mul(g, tfm_variable_value(m), md->x, NULL, st),
                             tfm_variable_value(b), NULL, st);
  md->sq = tfm_square(g, tfm_sub(g, md->y, pred, NULL, st), "sq", st);
  md->loss = tfm_reduce_mean(g, md->sq, NULL, 0, 0, "loss", st);
  tfm_output *vars[2] = {tfm_variable_value(m), tfm_variable_value(b)};
  tfm_gradients(g, &md->loss, 1, vars, 2, NULL, md->grads, st);
  OK();
  md->s = tfm_session_new(g, st);
  tfm_op *init = tfm_global_variables_initializer(g, st);
  tfm_session_run(md->s, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st);
  OK();
}

/* Runs loss and both gradients (plus extra fetches); out[0..2] as floats. */
static void run(model_t *md, int64_t n, tfm_output *const *extra, int n_extra, float *out,
                tfm_tensor **extra_out) {
  tfm_tensor *fx = tfm_tensor_wrap(TFM_FLOAT, &n, 1, data_x, sizeof(float) * (size_t)n, NULL, NULL, st);
  tfm_tensor *fy = tfm_tensor_wrap(TFM_FLOAT, &n, 1, data_y, sizeof(float) * (size_t)n, NULL, NULL, st);
  tfm_output *feeds[2] = {md->x, md->y};
  tfm_tensor *fv[2] = {fx, fy};
  tfm_output *fetches[8] = {md->loss, md->grads[0], md->grads[1]};
  for (int i = 0; i < n_extra; i++) fetches[3 + i] = extra[i];
  tfm_tensor *vals[8] = {NULL};
  tfm_session_run(md->s, feeds, fv, 2, fetches, vals, 3 + n_extra, NULL, 0, st);
  OK();
  for (int i = 0; i < 3; i++) {
    out[i] = *(float *)tfm_tensor_data(vals[i]);
    tfm_tensor_release(vals[i]);
  }
  for (int i = 0; i < n_extra; i++) extra_out[i] = vals[3 + i];
  tfm_tensor_release(fx);
  tfm_tensor_release(fy);
}

/* The plan the session compiled last holds a fused group. */
static bool plan_is_fused(const model_t *md) {
  for (plan_t *p = atomic_load(&md->s->plans); p; p = p->next_cached)
    if (p->fused) return true;
  return false;
}

/* Fused groups with members in the session's plans. */
static int fused_groups(const model_t *md) {
  int n = 0;
  for (plan_t *p = atomic_load(&md->s->plans); p; p = p->next_cached)
    for (fuse_group_t *gr = p->fused; gr; gr = gr->next) n += gr->n_members > 0;
  return n;
}

static void check_model(int64_t n, bool known) {
  make_data(n);
  double rl, rm, rb;
  reference(n, 0.3, -0.1, &rl, &rm, &rb);
  float fused[3], plain[3];
  model_t md;
  build(&md, n, known, 0.3f, -0.1f);
  run(&md, n, NULL, 0, fused, NULL);
  /* one pass over x and y, the size known or not (with it unknown, the gradient
   * sums over axes computed at run time, which turn out to be none or all) */
  ck_assert_int_eq(fused_groups(&md), 1);
  tfm_session_delete(md.s);
  fuse_set_enabled(false);
  md.s = tfm_session_new(g, st);
  tfm_op *init = tfm_global_variables_initializer(g, st);
  tfm_session_run(md.s, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st);
  run(&md, n, NULL, 0, plain, NULL);
  ck_assert(!plan_is_fused(&md));
  tfm_session_delete(md.s);
  const char *names[3] = {"loss", "dm", "db"};
  double ref[3] = {rl, rm, rb};
  for (int i = 0; i < 3; i++) {
    assert_close(fused[i], ref[i], 2e-6, names[i]);
    assert_close(plain[i], ref[i], 2e-5, names[i]);
    assert_close(fused[i], plain[i], 2e-5, names[i]);
  }
  free_data();
}

START_TEST(fused_loss_and_gradients_match_float64_reference_static_shape) {
  check_model(1000003, true); /* odd: a partial tile and a partial task */
}
END_TEST

START_TEST(fused_loss_and_gradients_match_float64_reference_dynamic_shape) {
  check_model(300007, false);
}
END_TEST

/* Placeholders of unknown size fed y of one element and x of n: the gradient's
 * sums over run-time axes are real partial reductions, which the fused group
 * does not take: it runs step by step, and the results are right. */
START_TEST(run_time_broadcast_with_unknown_shapes_is_correct) {
  int64_t n = 50001, one = 1;
  make_data(n);
  model_t md;
  build(&md, n, false, 0.4f, 0.1f);
  float y0 = 0.3f;
  tfm_tensor *fx = tfm_tensor_wrap(TFM_FLOAT, &n, 1, data_x, sizeof(float) * (size_t)n, NULL, NULL, st);
  tfm_tensor *fy = tfm_tensor_wrap(TFM_FLOAT, &one, 1, &y0, sizeof y0, NULL, NULL, st);
  tfm_output *feeds[2] = {md.x, md.y}, *fetches[3] = {md.loss, md.grads[0], md.grads[1]};
  tfm_tensor *fv[2] = {fx, fy}, *vals[3];
  for (int r = 0; r < 2; r++) {
    tfm_session_run(md.s, feeds, fv, 2, fetches, vals, 3, NULL, 0, st);
    OK();
    double l = 0, gm = 0, gb = 0;
    for (int64_t i = 0; i < n; i++) {
      double e = (double)y0 - (0.4 * data_x[i] + 0.1);
      l += e * e;
      gm += -2.0 * e * data_x[i];
      gb += -2.0 * e;
    }
    assert_close(*(float *)tfm_tensor_data(vals[0]), l / (double)n, 2e-5, "loss");
    assert_close(*(float *)tfm_tensor_data(vals[1]), gm / (double)n, 2e-5, "dm");
    assert_close(*(float *)tfm_tensor_data(vals[2]), gb / (double)n, 2e-5, "db");
    for (int i = 0; i < 3; i++) tfm_tensor_release(vals[i]);
  }
  tfm_tensor_release(fx);
  tfm_tensor_release(fy);
  tfm_session_delete(md.s);
  free_data();
}
END_TEST

START_TEST(fetched_intermediate_is_materialised_and_exact) {
  int64_t n = 70001;
  make_data(n);
  model_t md;
  build(&md, n, true, 0.7f, 0.2f);
  float out[3];
  tfm_tensor *sq = NULL;
  run(&md, n, &md.sq, 1, out, &sq);
  ck_assert(plan_is_fused(&md));
  ck_assert_int_eq(tfm_tensor_num_elements(sq), n);
  const float *v = tfm_tensor_data(sq);
  double sum = 0;
  for (int64_t i = 0; i < n; i++) {
    /* the same float32 operations in the same order as the ops */
    float e = data_y[i] - (0.7f * data_x[i] + 0.2f);
    ck_assert_msg(v[i] == e * e, "element %lld: %g vs %g", (long long)i, v[i], e * e);
    sum += (double)v[i];
  }
  assert_close(out[0], sum / (double)n, 2e-6, "loss");
  tfm_tensor_release(sq);
  tfm_session_delete(md.s);
  free_data();
}
END_TEST

START_TEST(results_do_not_depend_on_thread_count) {
  int64_t n = 500001;
  make_data(n);
  model_t md;
  build(&md, n, false, 0.1f, 0.0f);
  float one[3], two[3];
  tfm_set_num_threads(1, st);
  run(&md, n, NULL, 0, one, NULL);
  tfm_set_num_threads(2, st);
  run(&md, n, NULL, 0, two, NULL);
  for (int i = 0; i < 3; i++) ck_assert_msg(one[i] == two[i], "output %d: %g vs %g", i, one[i], two[i]);
  tfm_session_delete(md.s);
  free_data();
}
END_TEST

START_TEST(steady_state_fused_runs_allocate_nothing) {
  int64_t n = 200000;
  make_data(n);
  model_t md;
  build(&md, n, true, 0.1f, 0.0f);
  tfm_tensor *fx = tfm_tensor_wrap(TFM_FLOAT, &n, 1, data_x, sizeof(float) * (size_t)n, NULL, NULL, st);
  tfm_tensor *fy = tfm_tensor_wrap(TFM_FLOAT, &n, 1, data_y, sizeof(float) * (size_t)n, NULL, NULL, st);
  tfm_output *feeds[2] = {md.x, md.y};
  tfm_tensor *fv[2] = {fx, fy};
  /* The gradients are run as targets: a fetched Reshape is a view, whose header
   * the caller keeps, so each fetch of one allocates a new header by design. */
  tfm_output *fetches[1] = {md.loss};
  tfm_op *targets[2] = {tfm_output_op(md.grads[0]), tfm_output_op(md.grads[1])};
  tfm_callable *c = tfm_session_make_callable(md.s, feeds, 2, fetches, 1, targets, 2, st);
  OK();
  tfm_tensor *out[1];
  for (int r = 0; r < 2; r++) {
    ck_assert_int_eq(tfm_callable_run(c, fv, out, st), TFM_OK);
    tfm_tensor_release(out[0]);
  }
  ck_assert(plan_is_fused(&md));
  uint64_t before = tfm_debug_alloc_count();
  for (int r = 0; r < 20; r++) {
    ck_assert_int_eq(tfm_callable_run(c, fv, out, st), TFM_OK);
    tfm_tensor_release(out[0]);
  }
  ck_assert_uint_eq(tfm_debug_alloc_count() - before, 0);
  tfm_callable_delete(c);
  tfm_tensor_release(fx);
  tfm_tensor_release(fy);
  tfm_session_delete(md.s);
  free_data();
}
END_TEST

/* sum((a * w + c)^2) over [R, C] with w of shape [C] (a row broadcast: not one value
 * per element nor a scalar, so the group runs unfused) and c a scalar. */
START_TEST(row_broadcast_runs_unfused_and_is_correct) {
  int64_t R = 300, C = 37;
  int64_t dims[2] = {R, C};
  float *a = malloc(sizeof(float) * (size_t)(R * C)), w[37];
  for (int64_t i = 0; i < R * C; i++) a[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
  for (int j = 0; j < C; j++) w[j] = (float)j / 10.0f - 1.0f;
  tfm_output *pa = tfm_placeholder(g, TFM_FLOAT, dims, 2, "a", st);
  tfm_output *pw = tfm_constant_f32(g, w, &C, 1, "w", st);
  tfm_output *t = tfm_square(g, tfm_add(g, tfm_mul(g, pa, pw, NULL, st), tfm_scalar(g, 0.5, TFM_FLOAT, NULL, st), NULL, st), NULL, st);
  tfm_output *sum = tfm_reduce_sum(g, t, NULL, 0, 0, "sum", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_tensor *av = tfm_tensor_wrap(TFM_FLOAT, dims, 2, a, sizeof(float) * (size_t)(R * C), NULL, NULL, st);
  tfm_tensor *out = NULL;
  tfm_session_run(s, &pa, &av, 1, &sum, &out, 1, NULL, 0, st);
  OK();
  double ref = 0;
  for (int64_t i = 0; i < R; i++)
    for (int64_t j = 0; j < C; j++) {
      double v = (double)a[i * C + j] * w[j] + 0.5;
      ref += v * v;
    }
  assert_close(*(float *)tfm_tensor_data(out), ref, 1e-5, "sum");
  tfm_tensor_release(out);
  tfm_tensor_release(av);
  tfm_session_delete(s);
  free(a);
}
END_TEST

/* A column of shape [N, 1] against a row [1, N]: the broadcast is [N, N], so the
 * pass cannot take it; the unfused kernels give the answer. */
START_TEST(outer_broadcast_is_correct) {
  int64_t N = 100;
  int64_t dc[2] = {N, 1}, dr[2] = {1, N};
  float col[100], row[100];
  for (int i = 0; i < N; i++) {
    col[i] = (float)i;
    row[i] = (float)(N - i);
  }
  tfm_output *c = tfm_constant_f32(g, col, dc, 2, "c", st);
  tfm_output *r = tfm_constant_f32(g, row, dr, 2, "r", st);
  tfm_output *sum = tfm_reduce_sum(g, tfm_square(g, tfm_sub(g, c, r, NULL, st), NULL, st), NULL, 0, 0, "s", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_tensor *out = NULL;
  tfm_session_run(s, NULL, NULL, 0, &sum, &out, 1, NULL, 0, st);
  OK();
  double ref = 0;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) ref += ((double)i - (N - j)) * ((double)i - (N - j));
  assert_close(*(float *)tfm_tensor_data(out), ref, 1e-6, "sum");
  tfm_tensor_release(out);
  tfm_session_delete(s);
}
END_TEST

START_TEST(integer_chain_is_not_fused_and_is_exact) {
  int64_t n = 50000;
  int32_t *a = malloc(sizeof(int32_t) * (size_t)n);
  for (int64_t i = 0; i < n; i++) a[i] = (int32_t)(i % 201) - 100;
  tfm_output *pa = tfm_placeholder(g, TFM_INT32, &n, 1, "a", st);
  tfm_output *three = tfm_scalar(g, 3, TFM_INT32, NULL, st);
  tfm_output *sum = tfm_reduce_sum(g, tfm_square(g, tfm_sub(g, pa, three, NULL, st), NULL, st), NULL, 0, 0, "s", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_tensor *av = tfm_tensor_wrap(TFM_INT32, &n, 1, a, sizeof(int32_t) * (size_t)n, NULL, NULL, st);
  tfm_tensor *out = NULL;
  tfm_session_run(s, &pa, &av, 1, &sum, &out, 1, NULL, 0, st);
  OK();
  for (plan_t *p = atomic_load(&s->plans); p; p = p->next_cached) ck_assert_ptr_null(p->fused);
  int64_t ref = 0;
  for (int64_t i = 0; i < n; i++) ref += (int64_t)(a[i] - 3) * (a[i] - 3);
  ck_assert_int_eq(*(int32_t *)tfm_tensor_data(out), (int32_t)ref);
  tfm_tensor_release(out);
  tfm_tensor_release(av);
  tfm_session_delete(s);
  free(a);
}
END_TEST

/* A group whose inputs turn out tiny at run time runs the original steps; an
 * error inside the group still names the op. */
START_TEST(small_feeds_and_errors_in_a_fused_group) {
  model_t md;
  int64_t n = 8;
  make_data(n);
  build(&md, n, false, 0.3f, -0.1f);
  float out[3];
  run(&md, n, NULL, 0, out, NULL);
  double rl, rm, rb;
  reference(n, 0.3, -0.1, &rl, &rm, &rb);
  assert_close(out[0], rl, 1e-6, "loss");
  assert_close(out[1], rm, 1e-6, "dm");
  assert_close(out[2], rb, 1e-6, "db");
  /* x and y of different lengths: Sub cannot broadcast [5] and [8] */
  int64_t n5 = 5;
  tfm_tensor *fx = tfm_tensor_wrap(TFM_FLOAT, &n, 1, data_x, sizeof(float) * 8, NULL, NULL, st);
  tfm_tensor *fy = tfm_tensor_wrap(TFM_FLOAT, &n5, 1, data_y, sizeof(float) * 5, NULL, NULL, st);
  tfm_output *feeds[2] = {md.x, md.y};
  tfm_tensor *fv[2] = {fx, fy};
  tfm_tensor *val = NULL;
  ck_assert_int_eq(tfm_session_run(md.s, feeds, fv, 2, &md.loss, &val, 1, NULL, 0, st),
                   TFM_INVALID_ARGUMENT);
  ck_assert_msg(strstr(tfm_status_message(st), "Sub"), "%s", tfm_status_message(st));
  tfm_tensor_release(fx);
  tfm_tensor_release(fy);
  tfm_session_delete(md.s);
  free_data();
}
END_TEST


/* Exp is not an op of the vector machine: the group runs the tile program (SIMD
 * loops over tiles, the product read only by the Sum folded into a dot product),
 * and a fetched intermediate is bit-identical to the unfused kernel's. */
START_TEST(tile_program_matches_unfused_and_reference) {
  int64_t n = 100003;
  make_data(n);
  float *e_unfused = malloc(sizeof(float) * (size_t)n);
  float sums[2];
  for (int fused = 0; fused < 2; fused++) {
    fuse_set_enabled(fused);
    tfm_graph *gr = tfm_graph_new(st);
    tfm_output *x = tfm_placeholder(gr, TFM_FLOAT, &n, 1, "x", st);
    tfm_output *y = tfm_placeholder(gr, TFM_FLOAT, &n, 1, "y", st);
    tfm_output *e = tfm_exp(gr, tfm_mul(gr, x, tfm_scalar(gr, 0.5, TFM_FLOAT, NULL, st), NULL, st), "e", st);
    tfm_output *sum = tfm_reduce_sum(gr, tfm_mul(gr, e, y, NULL, st), NULL, 0, 0, "s", st);
    OK();
    tfm_session *s = tfm_session_new(gr, st);
    tfm_tensor *fx = tfm_tensor_wrap(TFM_FLOAT, &n, 1, data_x, sizeof(float) * (size_t)n, NULL, NULL, st);
    tfm_tensor *fy = tfm_tensor_wrap(TFM_FLOAT, &n, 1, data_y, sizeof(float) * (size_t)n, NULL, NULL, st);
    tfm_output *feeds[2] = {x, y}, *fetches[2] = {sum, e};
    tfm_tensor *fv[2] = {fx, fy}, *out[2] = {NULL, NULL};
    tfm_session_run(s, feeds, fv, 2, fetches, out, 2, NULL, 0, st);
    OK();
    bool any = false;
    for (plan_t *p = atomic_load(&s->plans); p; p = p->next_cached) any |= p->fused != NULL;
    ck_assert(any == (fused == 1));
    sums[fused] = *(float *)tfm_tensor_data(out[0]);
    const float *ev = tfm_tensor_data(out[1]);
    if (!fused) {
      memcpy(e_unfused, ev, sizeof(float) * (size_t)n);
    } else {
      for (int64_t i = 0; i < n; i++)
        ck_assert_msg(ev[i] == e_unfused[i], "e[%lld]: %a vs %a", (long long)i, ev[i], e_unfused[i]);
    }
    tfm_tensor_release(out[0]);
    tfm_tensor_release(out[1]);
    tfm_tensor_release(fx);
    tfm_tensor_release(fy);
    tfm_session_delete(s);
    tfm_graph_delete(gr);
  }
  double ref = 0;
  for (int64_t i = 0; i < n; i++) ref += exp(0.5 * (double)data_x[i]) * (double)data_y[i];
  assert_close(sums[1], ref, 1e-5, "fused sum");
  assert_close(sums[0], ref, 1e-5, "unfused sum");
  free(e_unfused);
  free_data();
}
END_TEST

/* Reductions of uniform multiples (s * w, w / s, -w, and chains of them) sum w
 * and scale the sum once: sums of such values, of their squares and of their
 * products with an input agree with a float64 loop, and a scaled value that is
 * also fetched is written out exactly as the unfused kernels write it. */
START_TEST(scaled_reductions_match_reference) {
  int64_t n = 70001;
  make_data(n);
  int64_t d[1] = {n};
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, d, 1, "x", st);
  tfm_output *y = tfm_placeholder(g, TFM_FLOAT, d, 1, "y", st);
  tfm_output *w = tfm_sub(g, y, x, NULL, st);
  /* v = -((3 * w) / 4): read by a sum, a product sum and a fetch */
  tfm_output *v = tfm_neg(g, tfm_div(g, tfm_mul(g, tfm_scalar(g, 3.0, TFM_FLOAT, NULL, st), w, NULL, st),
                                     tfm_scalar(g, 4.0, TFM_FLOAT, NULL, st), NULL, st), "v", st);
  tfm_output *sum_v = tfm_reduce_sum(g, v, NULL, 0, 0, "sum_v", st);
  tfm_output *dot_vx = tfm_reduce_sum(g, tfm_mul(g, v, x, NULL, st), NULL, 0, 0, "dot_vx", st);
  /* u = w * 0.5: its square and its product with (2 * x) */
  tfm_output *u = tfm_mul(g, w, tfm_scalar(g, 0.5, TFM_FLOAT, NULL, st), NULL, st);
  tfm_output *sq_u = tfm_reduce_mean(g, tfm_square(g, u, NULL, st), NULL, 0, 0, "sq_u", st);
  tfm_output *x2 = tfm_mul(g, tfm_scalar(g, 2.0, TFM_FLOAT, NULL, st), x, NULL, st);
  tfm_output *dot_ux2 = tfm_reduce_sum(g, tfm_mul(g, u, x2, NULL, st), NULL, 0, 0, "dot_ux2", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_tensor *fx = tfm_tensor_wrap(TFM_FLOAT, d, 1, data_x, sizeof(float) * (size_t)n, NULL, NULL, st);
  tfm_tensor *fy = tfm_tensor_wrap(TFM_FLOAT, d, 1, data_y, sizeof(float) * (size_t)n, NULL, NULL, st);
  tfm_output *feeds[2] = {x, y}, *fetches[5] = {sum_v, dot_vx, sq_u, dot_ux2, v};
  tfm_tensor *fv[2] = {fx, fy}, *out[5] = {NULL};
  tfm_session_run(s, feeds, fv, 2, fetches, out, 5, NULL, 0, st);
  OK();
  bool any = false;
  for (plan_t *p = atomic_load(&s->plans); p; p = p->next_cached) any |= p->fused != NULL;
  ck_assert(any);
  double r_sum_v = 0, r_dot_vx = 0, r_sq_u = 0, r_dot_ux2 = 0;
  const float *vv = tfm_tensor_data(out[4]);
  for (int64_t i = 0; i < n; i++) {
    float wf = data_y[i] - data_x[i]; /* the float input of the chain, as the graph rounds it */
    double wd = wf;
    r_sum_v += -(3.0 * wd) / 4.0;
    r_dot_vx += -(3.0 * wd) / 4.0 * data_x[i];
    r_sq_u += (0.5 * wd) * (0.5 * wd);
    r_dot_ux2 += (0.5 * wd) * (2.0 * data_x[i]);
    float want_v = -((3.0f * wf) / 4.0f);
    ck_assert_msg(vv[i] == want_v, "v[%lld]: %a, want %a", (long long)i, vv[i], want_v);
  }
  assert_close(*(float *)tfm_tensor_data(out[0]), r_sum_v, 1e-5, "sum of -(3w)/4");
  assert_close(*(float *)tfm_tensor_data(out[1]), r_dot_vx, 1e-5, "sum of -(3w)/4 * x");
  assert_close(*(float *)tfm_tensor_data(out[2]), r_sq_u / (double)n, 1e-5, "mean of (w/2)^2");
  assert_close(*(float *)tfm_tensor_data(out[3]), r_dot_ux2, 1e-5, "sum of (w/2) * 2x");
  for (int i = 0; i < 5; i++) tfm_tensor_release(out[i]);
  tfm_tensor_release(fx);
  tfm_tensor_release(fy);
  tfm_session_delete(s);
  free_data();
}
END_TEST

/* A logistic fit: Sigmoid and SigmoidGrad (a same-shape gradient helper) in the
 * group with the loss; gradients against a float64 reference. */
START_TEST(sigmoid_model_gradients_match_reference) {
  int64_t n = 65537;
  make_data(n);
  int64_t d[1] = {n};
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, d, 1, "x", st);
  tfm_output *y = tfm_placeholder(g, TFM_FLOAT, d, 1, "y", st);
  tfm_output *m = tfm_scalar(g, 1.5, TFM_FLOAT, "m", st), *b = tfm_scalar(g, -0.25, TFM_FLOAT, "b", st);
  tfm_output *p = tfm_sigmoid(g, tfm_add(g, tfm_mul(g, m, x, NULL, st), b, NULL, st), NULL, st);
  tfm_output *loss = tfm_reduce_mean(g, tfm_square(g, tfm_sub(g, p, y, NULL, st), NULL, st), NULL, 0, 0, "loss", st);
  tfm_output *wrt[2] = {m, b}, *gr[2];
  tfm_gradients(g, &loss, 1, wrt, 2, NULL, gr, st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_tensor *fx = tfm_tensor_wrap(TFM_FLOAT, &n, 1, data_x, sizeof(float) * (size_t)n, NULL, NULL, st);
  tfm_tensor *fy = tfm_tensor_wrap(TFM_FLOAT, &n, 1, data_y, sizeof(float) * (size_t)n, NULL, NULL, st);
  tfm_output *feeds[2] = {x, y}, *fetches[3] = {loss, gr[0], gr[1]};
  tfm_tensor *fv[2] = {fx, fy}, *out[3];
  tfm_session_run(s, feeds, fv, 2, fetches, out, 3, NULL, 0, st);
  OK();
  bool any = false;
  for (plan_t *pl = atomic_load(&s->plans); pl; pl = pl->next_cached) any |= pl->fused != NULL;
  ck_assert(any);
  double l = 0, dm = 0, db = 0;
  for (int64_t i = 0; i < n; i++) {
    double z = 1.5 * data_x[i] - 0.25, q = 1 / (1 + exp(-z)), e = q - data_y[i];
    l += e * e;
    dm += 2 * e * q * (1 - q) * data_x[i];
    db += 2 * e * q * (1 - q);
  }
  assert_close(*(float *)tfm_tensor_data(out[0]), l / n, 1e-5, "loss");
  assert_close(*(float *)tfm_tensor_data(out[1]), dm / n, 1e-5, "dm");
  assert_close(*(float *)tfm_tensor_data(out[2]), db / n, 1e-5, "db");
  for (int i = 0; i < 3; i++) tfm_tensor_release(out[i]);
  tfm_tensor_release(fx);
  tfm_tensor_release(fy);
  tfm_session_delete(s);
  free_data();
}
END_TEST

static Suite *fuse_suite(void) {
  Suite *s = suite_create("fuse");
  TCase *tc = tcase_create("fuse");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, fused_loss_and_gradients_match_float64_reference_static_shape);
  tcase_add_test(tc, fused_loss_and_gradients_match_float64_reference_dynamic_shape);
  tcase_add_test(tc, run_time_broadcast_with_unknown_shapes_is_correct);
  tcase_add_test(tc, fetched_intermediate_is_materialised_and_exact);
  tcase_add_test(tc, results_do_not_depend_on_thread_count);
  tcase_add_test(tc, steady_state_fused_runs_allocate_nothing);
  tcase_add_test(tc, row_broadcast_runs_unfused_and_is_correct);
  tcase_add_test(tc, outer_broadcast_is_correct);
  tcase_add_test(tc, integer_chain_is_not_fused_and_is_exact);
  tcase_add_test(tc, small_feeds_and_errors_in_a_fused_group);
  tcase_add_test(tc, tile_program_matches_unfused_and_reference);
  tcase_add_test(tc, sigmoid_model_gradients_match_reference);
  tcase_add_test(tc, scaled_reductions_match_reference);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(fuse_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
