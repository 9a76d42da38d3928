/* Memory planning (runtime/memplan.h): an unfused chain over N elements lives in
 * a few N-sized buffers of one arena instead of one per op, gives bit for bit the
 * results of the plan without planning (and of a float64 loop, closely), and
 * allocates nothing in the steady state; a value someone still holds is never
 * overwritten (the run allocates instead); fetched values are the caller's own
 * (they outlive the session); views through Reshape keep their base alive. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/fuse.h"
#include "runtime/memplan.h"
#include "runtime/plan.h"
#include "runtime/session.h"
#include "tfmini/debug.h"
#include "tfmini/tfmini.h"

#define N 100000
#define CHAIN 10

static tfm_status *st;
static float xs[N];

static void setup(void) {
  st = tfm_status_new();
  fuse_set_enabled(false); /* one step per op: the case planning is for */
  memplan_set_enabled(true);
  for (int i = 0; i < N; i++) xs[i] = (float)((i % 1000) - 500) / 250.0f;
}

static void teardown(void) {
  tfm_status_delete(st);
  fuse_set_enabled(true);
  memplan_set_enabled(true);
}

#define OK() ck_assert_msg(tfm_status_code(st) == TFM_OK, "%s", tfm_status_message(st))

typedef struct chain {
  tfm_graph *g;
  tfm_session *s;
  tfm_output *x, *mid, *sum, *view;
} chain_t;

/* t = x; CHAIN times t = t * 1.01 + 0.5, a Reshape to [N/2, 2] halfway; fetch the
 * sum of t^2, the value after step 3 and the view. */
static void build_chain(chain_t *c) {
  c->g = tfm_graph_new(st);
  const int64_t n = N, half[2] = {N / 2, 2};
  c->x = tfm_placeholder(c->g, TFM_FLOAT, &n, 1, "x", st);
  tfm_output *t = c->x;
  for (int k = 0; k < CHAIN; k++) {
    t = tfm_add(c->g, tfm_mul(c->g, t, tfm_scalar(c->g, 1.01, TFM_FLOAT, NULL, st), NULL, st),
                tfm_scalar(c->g, 0.5, TFM_FLOAT, NULL, st), NULL, st);
    if (k == 3) c->mid = t;
    if (k == CHAIN / 2) t = c->view = tfm_reshape(c->g, t, half, 2, "view", st);
  }
  c->sum = tfm_reduce_sum(c->g, tfm_square(c->g, t, NULL, st), NULL, 0, 0, "sum", st);
  OK();
  c->s = tfm_session_new(c->g, st);
}

static void free_chain(chain_t *c) {
  tfm_session_delete(c->s);
  tfm_graph_delete(c->g);
}

static plan_t *the_plan(const chain_t *c) {
  plan_t *best = NULL;
  for (plan_t *p = atomic_load(&c->s->plans); p; p = p->next_cached)
    if (!best || p->n_steps > best->n_steps) best = p;
  return best;
}

/* Runs the chain once with x = xs * scale; returns the sum and copies mid. */
static float run_chain(chain_t *c, tfm_callable *call, float scale, float *mid) {
  const int64_t n = N;
  tfm_tensor *fx = tfm_tensor_new(TFM_FLOAT, &n, 1, st);
  float *d = tfm_tensor_data(fx);
  for (int i = 0; i < N; i++) d[i] = xs[i] * scale;
  tfm_tensor *out[2];
  ck_assert_int_eq(tfm_callable_run(call, &fx, out, st), TFM_OK);
  float sum = *(float *)tfm_tensor_data(out[0]);
  if (mid) memcpy(mid, tfm_tensor_data(out[1]), sizeof(float) * N);
  tfm_tensor_release(out[0]);
  tfm_tensor_release(out[1]);
  tfm_tensor_release(fx);
  (void)c;
  return sum;
}

START_TEST(chain_shares_buffers_and_matches_unplanned) {
  static float mid_on[N], mid_off[N];
  float sum[2];
  for (int on = 1; on >= 0; on--) {
    memplan_set_enabled(on);
    chain_t c;
    build_chain(&c);
    tfm_output *fetches[2] = {c.sum, c.mid};
    tfm_callable *call = tfm_session_make_callable(c.s, &c.x, 1, fetches, 2, NULL, 0, st);
    OK();
    sum[on] = run_chain(&c, call, 1.0f, on ? mid_on : mid_off);
    const plan_t *p = the_plan(&c);
    if (on) {
      ck_assert_ptr_nonnull(p->memplan);
      /* 2 * CHAIN + 1 values of N floats are made; all but the fetched one are
       * planned, and a chain needs about two live at once */
      ck_assert_int_ge(p->memplan->n_planned, 2 * CHAIN - 2);
      ck_assert_msg(p->memplan->size <= 4 * sizeof(float) * N, "arena %zu bytes", p->memplan->size);
      /* the steady state allocates nothing but the caller's own fetched copies */
      run_chain(&c, call, 1.0f, NULL);
      uint64_t before = tfm_debug_alloc_count();
      for (int r = 0; r < 5; r++) run_chain(&c, call, 1.0f, NULL);
      uint64_t per_run = (tfm_debug_alloc_count() - before) / 5;
      ck_assert_msg(per_run <= 4, "%llu allocations per run (the feed and its buffer: 2)",
                    (unsigned long long)per_run);
    } else {
      ck_assert_ptr_null(p->memplan);
    }
    tfm_callable_delete(call);
    free_chain(&c);
  }
  ck_assert(memcmp(&sum[0], &sum[1], sizeof(float)) == 0);
  ck_assert(memcmp(mid_on, mid_off, sizeof mid_on) == 0);
  double want = 0;
  for (int i = 0; i < N; i++) {
    double t = xs[i];
    for (int k = 0; k < CHAIN; k++) t = t * 1.01 + 0.5;
    want += t * t;
  }
  ck_assert_msg(fabs(sum[1] - want) <= 1e-4 * want, "sum %g want %g", sum[1], want);
}
END_TEST

/* A planned value someone else holds (as an alias the plan did not foresee
 * would) is not overwritten: the value that would share its bytes is allocated
 * instead, and every result stays right. */
START_TEST(held_value_is_not_overwritten) {
  chain_t c;
  build_chain(&c);
  tfm_output *fetches[2] = {c.sum, c.mid};
  tfm_callable *call = tfm_session_make_callable(c.s, &c.x, 1, fetches, 2, NULL, 0, st);
  OK();
  float sum1 = run_chain(&c, call, 1.0f, NULL);
  plan_t *p = the_plan(&c);
  ck_assert_ptr_nonnull(p->memplan);
  frame_t *f = atomic_load(&p->spare);
  ck_assert_ptr_nonnull(f);
  /* hold every planned value that shares bytes with another one */
  tensor_t *held[4 * CHAIN];
  float first[4 * CHAIN];
  int n_held = 0;
  for (int s = 0; s < p->memplan->n_slots && n_held < 4 * CHAIN; s++) {
    if (p->memplan->offset[s] < 0 || p->memplan->first_conflict[s] == p->memplan->first_conflict[s + 1])
      continue;
    held[n_held] = tensor_ref(f->planned[s]);
    first[n_held] = ((float *)held[n_held]->data)[7];
    n_held++;
  }
  ck_assert_int_ge(n_held, 2);
  float sum2 = run_chain(&c, call, 2.0f, NULL);
  for (int i = 0; i < n_held; i++) {
    ck_assert_msg(((float *)held[i]->data)[7] == first[i], "held value %d changed", i);
    tensor_unref(held[i]);
  }
  /* with nothing held, planning is back: the same results as a fresh session */
  float sum3 = run_chain(&c, call, 2.0f, NULL);
  ck_assert(memcmp(&sum2, &sum3, sizeof sum2) == 0);
  ck_assert(sum2 != sum1);
  memplan_set_enabled(false);
  chain_t ref;
  build_chain(&ref);
  tfm_output *rf[2] = {ref.sum, ref.mid};
  tfm_callable *rc = tfm_session_make_callable(ref.s, &ref.x, 1, rf, 2, NULL, 0, st);
  OK();
  float want = run_chain(&ref, rc, 2.0f, NULL);
  ck_assert(memcmp(&want, &sum2, sizeof want) == 0);
  tfm_callable_delete(rc);
  free_chain(&ref);
  tfm_callable_delete(call);
  free_chain(&c);
}
END_TEST

/* Fetched values, views included, are the caller's: they keep their values
 * through later runs and after the session is gone. */
START_TEST(fetched_values_outlive_runs_and_session) {
  chain_t c;
  build_chain(&c);
  tfm_output *fetches[2] = {c.view, c.mid};
  const int64_t n = N;
  tfm_tensor *fx = tfm_tensor_new(TFM_FLOAT, &n, 1, st);
  memcpy(tfm_tensor_data(fx), xs, sizeof xs);
  tfm_tensor *out[2];
  tfm_session_run(c.s, &c.x, &fx, 1, fetches, out, 2, NULL, 0, st);
  OK();
  float *d = tfm_tensor_data(fx);
  for (int i = 0; i < N; i++) d[i] = -d[i];
  tfm_tensor *again[2];
  tfm_session_run(c.s, &c.x, &fx, 1, fetches, again, 2, NULL, 0, st);
  OK();
  tfm_tensor_release(again[0]);
  tfm_tensor_release(again[1]);
  free_chain(&c);
  const float *v = tfm_tensor_data(out[0]), *m = tfm_tensor_data(out[1]);
  for (int i = 0; i < N; i += 997) {
    double t = xs[i];
    for (int k = 0; k < CHAIN / 2 + 1; k++) t = t * 1.01 + 0.5;
    double u = xs[i];
    for (int k = 0; k < 4; k++) u = u * 1.01 + 0.5;
    ck_assert_msg(fabs(v[i] - t) <= 1e-5 * fmax(1, fabs(t)), "view[%d] %g want %g", i, v[i], t);
    ck_assert_msg(fabs(m[i] - u) <= 1e-5 * fmax(1, fabs(u)), "mid[%d] %g want %g", i, m[i], u);
  }
  tfm_tensor_release(out[0]);
  tfm_tensor_release(out[1]);
  tfm_tensor_release(fx);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("memplan");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, chain_shares_buffers_and_matches_unplanned);
  tcase_add_test(tc, held_value_is_not_overwritten);
  tcase_add_test(tc, fetched_values_outlive_runs_and_session);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
