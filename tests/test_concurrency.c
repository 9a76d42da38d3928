/* Concurrency guarantees of sessions (include/tfmini/session.h, graph.h), checked
 * with real threads; scripts/tsan.sh runs this suite under ThreadSanitizer.
 *  - several threads running the same session: fetches equal the single-thread
 *    result exactly (through session_run and through one shared callable);
 *  - training steps in some threads while others read: no error, finite values,
 *    and (the updates being plain stores) the weights end as some interleaving;
 *  - ops added to the graph from one thread while other threads run it. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tfmini/tfmini.h"

#define B 8
#define NI 16
#define NO 4
#define THREADS 4
#define RUNS 150

typedef struct model {
  tfm_graph *g;
  tfm_session *s;
  tfm_output *x, *logits, *loss;
  tfm_variable *w;
  tfm_op *train;
  tfm_tensor *xv;
} model_t;

static void check_ok(const tfm_status *st, const char *what) {
  ck_assert_msg(tfm_status_code(st) == TFM_OK, "%s: %s", what, tfm_status_message(st));
}

static void build(model_t *m) {
  tfm_status *st = tfm_status_new();
  m->g = tfm_graph_new(st);
  const int64_t dx[2] = {B, NI}, dw[2] = {NI, NO};
  m->x = tfm_placeholder(m->g, TFM_FLOAT, dx, 2, "x", st);
  tfm_tensor *w0 = tfm_tensor_new(TFM_FLOAT, dw, 2, st);
  for (int i = 0; i < NI * NO; i++) ((float *)tfm_tensor_data(w0))[i] = 0.01f * (float)((i * 37) % 23) - 0.1f;
  m->w = tfm_variable_new(m->g, tfm_constant(m->g, w0, "w0", st), 1, "w", st);
  tfm_tensor_release(w0);
  m->logits = tfm_matmul(m->g, m->x, tfm_variable_value(m->w), 0, 0, "logits", st);
  m->loss = tfm_reduce_mean(m->g, tfm_square(m->g, m->logits, NULL, st), NULL, 0, 0, "loss", st);
  tfm_optimizer *opt = tfm_optimizer_gradient_descent(0.01, st);
  m->train = tfm_optimizer_minimize(opt, m->g, m->loss, NULL, 0, NULL, NULL, st);
  tfm_optimizer_delete(opt);
  tfm_op *init = tfm_global_variables_initializer(m->g, st);
  m->s = tfm_session_new(m->g, st);
  check_ok(st, "build");
  tfm_session_run(m->s, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st);
  check_ok(st, "init");
  m->xv = tfm_tensor_new(TFM_FLOAT, dx, 2, st);
  for (int i = 0; i < B * NI; i++) ((float *)tfm_tensor_data(m->xv))[i] = (float)((i * 11) % 7) - 3.0f;
  tfm_status_delete(st);
}

static void release(model_t *m) {
  tfm_tensor_release(m->xv);
  tfm_session_delete(m->s);
  tfm_graph_delete(m->g);
}

/* ---- reads only ---- */

typedef struct reader_arg {
  model_t *m;
  tfm_callable *callable; /* NULL: tfm_session_run */
  const float *want;      /* B*NO logits */
  int failures;
} reader_arg_t;

static void *reader(void *p) {
  reader_arg_t *a = p;
  tfm_status *st = tfm_status_new();
  for (int r = 0; r < RUNS; r++) {
    tfm_tensor *out = NULL;
    tfm_code c = a->callable ? tfm_callable_run(a->callable, &a->m->xv, &out, st)
                             : tfm_session_run(a->m->s, &a->m->x, &a->m->xv, 1, &a->m->logits, &out, 1, NULL, 0, st);
    if (c != TFM_OK || memcmp(tfm_tensor_data(out), a->want, B * NO * sizeof(float)) != 0) a->failures++;
    tfm_tensor_release(out);
  }
  tfm_status_delete(st);
  return NULL;
}

START_TEST(concurrent_reads_equal_the_single_thread_result) {
  model_t m;
  build(&m);
  tfm_status *st = tfm_status_new();
  /* The reference: x W in float64 from the initial weights. */
  tfm_tensor *wv = tfm_session_variable_value(m.s, m.w, st);
  check_ok(st, "w");
  const float *w = tfm_tensor_data(wv), *x = tfm_tensor_data(m.xv);
  float ref[B * NO];
  tfm_tensor *first = NULL;
  tfm_session_run(m.s, &m.x, &m.xv, 1, &m.logits, &first, 1, NULL, 0, st);
  check_ok(st, "first run");
  for (int i = 0; i < B; i++)
    for (int j = 0; j < NO; j++) {
      double acc = 0;
      for (int k = 0; k < NI; k++) acc += (double)x[i * NI + k] * w[k * NO + j];
      ck_assert(fabs(((float *)tfm_tensor_data(first))[i * NO + j] - acc) <= 1e-5 * (1 + fabs(acc)));
    }
  memcpy(ref, tfm_tensor_data(first), sizeof ref);
  tfm_tensor_release(first);
  tfm_tensor_release(wv);
  tfm_callable *callable = tfm_session_make_callable(m.s, &m.x, 1, &m.logits, 1, NULL, 0, st);
  check_ok(st, "callable");
  pthread_t th[THREADS];
  reader_arg_t args[THREADS];
  for (int t = 0; t < THREADS; t++) {
    args[t] = (reader_arg_t){&m, t % 2 ? callable : NULL, ref, 0};
    ck_assert_int_eq(pthread_create(&th[t], NULL, reader, &args[t]), 0);
  }
  for (int t = 0; t < THREADS; t++) {
    pthread_join(th[t], NULL);
    ck_assert_msg(args[t].failures == 0, "thread %d: %d runs failed or differed", t, args[t].failures);
  }
  tfm_callable_delete(callable);
  tfm_status_delete(st);
  release(&m);
}
END_TEST

/* ---- training while reading ---- */

typedef struct mixed_arg {
  model_t *m;
  int train;
  int errors;
  int nonfinite;
} mixed_arg_t;

static void *mixed(void *p) {
  mixed_arg_t *a = p;
  tfm_status *st = tfm_status_new();
  for (int r = 0; r < RUNS; r++) {
    tfm_tensor *out = NULL;
    tfm_code c = a->train ? tfm_session_run(a->m->s, &a->m->x, &a->m->xv, 1, NULL, NULL, 0, &a->m->train, 1, st)
                          : tfm_session_run(a->m->s, &a->m->x, &a->m->xv, 1, &a->m->loss, &out, 1, NULL, 0, st);
    if (c != TFM_OK) a->errors++;
    if (out && !isfinite(((float *)tfm_tensor_data(out))[0])) a->nonfinite++;
    tfm_tensor_release(out);
  }
  tfm_status_delete(st);
  return NULL;
}

START_TEST(training_steps_while_other_threads_read) {
  model_t m;
  build(&m);
  tfm_status *st = tfm_status_new();
  tfm_tensor *l0 = NULL;
  tfm_session_run(m.s, &m.x, &m.xv, 1, &m.loss, &l0, 1, NULL, 0, st);
  check_ok(st, "loss");
  float loss0 = ((float *)tfm_tensor_data(l0))[0];
  tfm_tensor_release(l0);
  pthread_t th[THREADS];
  mixed_arg_t args[THREADS];
  for (int t = 0; t < THREADS; t++) {
    args[t] = (mixed_arg_t){&m, t < 2, 0, 0};
    ck_assert_int_eq(pthread_create(&th[t], NULL, mixed, &args[t]), 0);
  }
  for (int t = 0; t < THREADS; t++) {
    pthread_join(th[t], NULL);
    ck_assert_msg(args[t].errors == 0 && args[t].nonfinite == 0, "thread %d: %d errors, %d non-finite", t,
                  args[t].errors, args[t].nonfinite);
  }
  tfm_tensor *l1 = NULL;
  tfm_session_run(m.s, &m.x, &m.xv, 1, &m.loss, &l1, 1, NULL, 0, st);
  check_ok(st, "loss after");
  /* Gradient descent on a convex loss with a small step: lower after training,
   * whatever the interleaving of the updates. */
  ck_assert_msg(((float *)tfm_tensor_data(l1))[0] < loss0, "loss %g, was %g", ((float *)tfm_tensor_data(l1))[0],
                loss0);
  tfm_tensor_release(l1);
  tfm_status_delete(st);
  release(&m);
}
END_TEST

/* ---- building the graph while it runs ---- */

typedef struct runner_arg {
  model_t *m;
  int *stop;
  int errors, runs;
} runner_arg_t;

static void *runner(void *p) {
  runner_arg_t *a = p;
  tfm_status *st = tfm_status_new();
  while (!__atomic_load_n(a->stop, __ATOMIC_SEQ_CST) || a->runs < 10) {
    tfm_tensor *out = NULL;
    if (tfm_session_run(a->m->s, &a->m->x, &a->m->xv, 1, &a->m->logits, &out, 1, NULL, 0, st) != TFM_OK)
      a->errors++;
    tfm_tensor_release(out);
    a->runs++;
  }
  tfm_status_delete(st);
  return NULL;
}

START_TEST(ops_added_while_other_threads_run_the_graph) {
  model_t m;
  build(&m);
  tfm_status *st = tfm_status_new();
  int stop = 0;
  pthread_t th[2];
  runner_arg_t args[2];
  for (int t = 0; t < 2; t++) {
    args[t] = (runner_arg_t){&m, &stop, 0, 0};
    ck_assert_int_eq(pthread_create(&th[t], NULL, runner, &args[t]), 0);
  }
  /* This thread grows the graph (one builder at a time) and runs what it adds. */
  tfm_output *y = m.logits;
  for (int i = 0; i < 100; i++) {
    y = tfm_add(m.g, y, tfm_scalar(m.g, 1.0, TFM_FLOAT, NULL, st), NULL, st);
    check_ok(st, "add");
    if (i % 10 == 9) {
      tfm_tensor *out = NULL;
      tfm_session_run(m.s, &m.x, &m.xv, 1, &y, &out, 1, NULL, 0, st);
      check_ok(st, "run of the new ops");
      tfm_tensor_release(out);
    }
  }
  __atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
  for (int t = 0; t < 2; t++) {
    pthread_join(th[t], NULL);
    ck_assert_msg(args[t].errors == 0, "runner %d: %d of %d runs failed", t, args[t].errors, args[t].runs);
  }
  tfm_status_delete(st);
  release(&m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("concurrency");
  TCase *tc = tcase_create("threads");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, concurrent_reads_equal_the_single_thread_result);
  tcase_add_test(tc, training_steps_while_other_threads_read);
  tcase_add_test(tc, ops_added_while_other_threads_run_the_graph);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
