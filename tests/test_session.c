/* Sessions: pruning, feeds, fetches, targets, control dependencies, variables
 * (initialisation, updates, snapshots), error messages, plan reuse (same buffers,
 * no allocation in the steady state), callables, concurrent runs, and allocation
 * failures. References are values computed independently in the test. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/plan.h"
#include "runtime/session.h"
#include "tfmini/debug.h"
#include "tfmini/tfmini.h"

static tfm_status *st;
static tfm_graph *g;

static void setup(void) {
  st = tfm_status_new();
  g = tfm_graph_new(st);
  ck_assert_ptr_nonnull(g);
}

static void teardown(void) {
  tfm_graph_delete(g);
  tfm_status_delete(st);
}

#define OK() ck_assert_msg(tfm_status_code(st) == TFM_OK, "%s", tfm_status_message(st))
#define HAS(text) \
  ck_assert_msg(strstr(tfm_status_message(st), text), "'%s' not in '%s'", text, tfm_status_message(st))

static tfm_tensor *vec_f32(const float *v, int64_t n) {
  tfm_tensor *t = tfm_tensor_new(TFM_FLOAT, &n, 1, st);
  memcpy(tfm_tensor_data(t), v, sizeof(float) * (size_t)n);
  return t;
}

static tfm_tensor *scalar_f32(float v) {
  tfm_tensor *t = tfm_tensor_new(TFM_FLOAT, NULL, 0, st);
  *(float *)tfm_tensor_data(t) = v;
  return t;
}

static float first_f32(tfm_tensor *t) { return ((float *)tfm_tensor_data(t))[0]; }

/* One scalar fetch, no feeds; the caller owns the result. */
static tfm_tensor *fetch1(tfm_session *s, tfm_output *o) {
  tfm_tensor *v = NULL;
  tfm_session_run(s, NULL, NULL, 0, &o, &v, 1, NULL, 0, st);
  return v;
}

static tfm_code run_target(tfm_session *s, tfm_op *op) {
  return tfm_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &op, 1, st);
}

START_TEST(fed_placeholder_flows_through_an_identity_chain) {
  const int64_t two = 2;
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, &two, 1, "x", st);
  tfm_output *y = tfm_identity(g, tfm_identity(g, x, NULL, st), "y", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  const float in[2] = {1.5f, -2.0f};
  tfm_tensor *xv = vec_f32(in, 2), *yv = NULL;
  ck_assert_int_eq(tfm_session_run(s, &x, &xv, 1, &y, &yv, 1, NULL, 0, st), TFM_OK);
  ck_assert_int_eq(tfm_tensor_num_elements(yv), 2);
  ck_assert_float_eq(((float *)tfm_tensor_data(yv))[0], in[0]);
  ck_assert_float_eq(((float *)tfm_tensor_data(yv))[1], in[1]);
  tfm_tensor_release(yv);
  /* Fetching a fed output returns the fed value. */
  ck_assert_int_eq(tfm_session_run(s, &x, &xv, 1, &x, &yv, 1, NULL, 0, st), TFM_OK);
  ck_assert_float_eq(((float *)tfm_tensor_data(yv))[1], in[1]);
  tfm_tensor_release(yv);
  tfm_tensor_release(xv);
  tfm_session_delete(s);
}
END_TEST

START_TEST(unfed_placeholder_is_named) {
  const int64_t dims[2] = {-1, 3};
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, dims, 2, "inputs", st);
  tfm_output *y = tfm_identity(g, x, "y", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_tensor *v = (tfm_tensor *)1;
  ck_assert_int_eq(tfm_session_run(s, NULL, NULL, 0, &y, &v, 1, NULL, 0, st), TFM_INVALID_ARGUMENT);
  ck_assert_ptr_null(v);
  HAS("'inputs'");
  HAS("[?,3]");
  tfm_session_delete(s);
}
END_TEST

START_TEST(ops_not_needed_are_pruned) {
  /* An unfed placeholder and a variable never initialised sit on branches the
   * fetch does not need: the run must not touch them. */
  tfm_output *unfed = tfm_placeholder(g, TFM_FLOAT, NULL, 0, "unfed", st);
  tfm_identity(g, unfed, "unused", st);
  tfm_variable *v = tfm_variable_new(g, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), 1, "v", st);
  tfm_output *c = tfm_scalar(g, 4.0, TFM_FLOAT, "c", st);
  tfm_output *y = tfm_identity(g, c, "y", st);
  tfm_identity(g, tfm_variable_value(v), "unused_read", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_tensor *r = fetch1(s, y);
  OK();
  ck_assert_float_eq(first_f32(r), 4.0f);
  tfm_tensor_release(r);
  tfm_session_delete(s);
}
END_TEST

START_TEST(feed_of_wrong_dtype_or_shape_names_both) {
  const int64_t dims[2] = {-1, 2};
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, dims, 2, "x", st);
  tfm_output *y = tfm_identity(g, x, "y", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  const int64_t d3 = 3;
  tfm_tensor *wrong_type = tfm_tensor_new(TFM_INT32, &d3, 1, st);
  tfm_tensor *out = NULL;
  ck_assert_int_eq(tfm_session_run(s, &x, &wrong_type, 1, &y, &out, 1, NULL, 0, st),
                   TFM_INVALID_ARGUMENT);
  HAS("int32");
  HAS("float32");
  HAS("'x:0'");
  ck_assert_ptr_null(out);
  const float v3[3] = {1, 2, 3};
  tfm_tensor *wrong_shape = vec_f32(v3, 3);
  ck_assert_int_eq(tfm_session_run(s, &x, &wrong_shape, 1, &y, &out, 1, NULL, 0, st),
                   TFM_INVALID_ARGUMENT);
  HAS("[3]");
  HAS("[?,2]");
  ck_assert_ptr_null(out);
  /* A feed given twice is refused. */
  tfm_output *twice[2] = {x, x};
  tfm_tensor *vals[2] = {wrong_shape, wrong_shape};
  ck_assert_int_eq(tfm_session_run(s, twice, vals, 2, NULL, NULL, 0, NULL, 0, st),
                   TFM_INVALID_ARGUMENT);
  HAS("fed twice");
  tfm_tensor_release(wrong_type);
  tfm_tensor_release(wrong_shape);
  tfm_session_delete(s);
}
END_TEST

START_TEST(outputs_of_another_graph_are_refused) {
  tfm_graph *other = tfm_graph_new(st);
  tfm_output *foreign = tfm_scalar(other, 1.0, TFM_FLOAT, "foreign", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_tensor *v = NULL;
  ck_assert_int_eq(tfm_session_run(s, NULL, NULL, 0, &foreign, &v, 1, NULL, 0, st),
                   TFM_INVALID_ARGUMENT);
  HAS("'foreign'");
  tfm_session_delete(s);
  tfm_graph_delete(other);
}
END_TEST

START_TEST(variables_initialise_update_and_read) {
  const float init = 3.0f, step = 2.0f;
  tfm_variable *v = tfm_variable_new(g, tfm_scalar(g, init, TFM_FLOAT, NULL, st), 1, "v", st);
  tfm_output *add = tfm_assign_add(g, v, tfm_scalar(g, step, TFM_FLOAT, NULL, st), "add", st);
  tfm_op *init_op = tfm_global_variables_initializer(g, st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  /* Reading before initialisation names the variable. */
  ck_assert_ptr_null(fetch1(s, tfm_variable_value(v)));
  ck_assert_int_eq(tfm_status_code(st), TFM_FAILED_PRECONDITION);
  HAS("uninitialized value v");
  ck_assert_ptr_null(tfm_session_variable_value(s, v, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_FAILED_PRECONDITION);
  /* So does an update of an uninitialised variable. */
  ck_assert_int_eq(run_target(s, tfm_output_op(add)), TFM_FAILED_PRECONDITION);
  HAS("uninitialized value v");

  ck_assert_int_eq(run_target(s, init_op), TFM_OK);
  tfm_tensor *before = fetch1(s, tfm_variable_value(v));
  ck_assert_float_eq(first_f32(before), init);
  float expect = init;
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(run_target(s, tfm_output_op(add)), TFM_OK);
    expect += step;
  }
  /* The value fetched earlier is a snapshot: later updates do not reach it. */
  ck_assert_float_eq(first_f32(before), init);
  tfm_tensor_release(before);
  tfm_tensor *now = tfm_session_variable_value(s, v, st);
  OK();
  ck_assert_float_eq(first_f32(now), expect);
  tfm_tensor_release(now);
  /* Fetching the update's output and the ref output gives the new value. */
  tfm_tensor *after_add = fetch1(s, add);
  expect += step;
  ck_assert_float_eq(first_f32(after_add), expect);
  tfm_tensor *ref = fetch1(s, tfm_variable_ref(v));
  OK();
  ck_assert_float_eq(first_f32(ref), expect);
  ck_assert_int_eq(run_target(s, tfm_output_op(add)), TFM_OK);
  ck_assert_float_eq(first_f32(after_add), expect);
  ck_assert_float_eq(first_f32(ref), expect);
  tfm_tensor_release(after_add);
  tfm_tensor_release(ref);
  /* Re-running the initializer restores the initial value. */
  ck_assert_int_eq(run_target(s, init_op), TFM_OK);
  now = tfm_session_variable_value(s, v, st);
  ck_assert_float_eq(first_f32(now), init);
  tfm_tensor_release(now);
  tfm_session_delete(s);
}
END_TEST

START_TEST(variables_belong_to_the_session) {
  tfm_variable *v = tfm_variable_new(g, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), 1, "v", st);
  tfm_output *add = tfm_assign_add(g, v, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), "add", st);
  OK();
  tfm_session *a = tfm_session_new(g, st), *b = tfm_session_new(g, st);
  ck_assert_int_eq(run_target(a, tfm_variable_initializer(v)), TFM_OK);
  ck_assert_int_eq(run_target(b, tfm_variable_initializer(v)), TFM_OK);
  ck_assert_int_eq(run_target(a, tfm_output_op(add)), TFM_OK);
  tfm_tensor *va = tfm_session_variable_value(a, v, st), *vb = tfm_session_variable_value(b, v, st);
  ck_assert_float_eq(first_f32(va), 2.0f);
  ck_assert_float_eq(first_f32(vb), 1.0f);
  tfm_tensor_release(va);
  tfm_tensor_release(vb);
  tfm_session_delete(a);
  tfm_session_delete(b);
}
END_TEST

START_TEST(session_variable_set_and_get_for_restore) {
  tfm_variable *v = tfm_variable_new(g, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), 1, "v", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  ck_assert_ptr_null(session_variable_get(s, tfm_variable_op(v)));
  tfm_tensor *restored = scalar_f32(42.0f);
  ck_assert_int_eq(session_variable_set(s, tfm_variable_op(v), restored, st), TFM_OK);
  tfm_tensor_release(restored);
  tfm_tensor *r = fetch1(s, tfm_variable_value(v));
  OK();
  ck_assert_float_eq(first_f32(r), 42.0f);
  tfm_tensor_release(r);
  tfm_tensor *got = session_variable_get(s, tfm_variable_op(v));
  ck_assert_float_eq(first_f32(got), 42.0f);
  tfm_tensor_release(got);
  /* Only variables can be set. */
  ck_assert_int_eq(session_variable_set(s, tfm_output_op(tfm_variable_value(v)), restored, st),
                   TFM_INVALID_ARGUMENT);
  ck_assert_ptr_eq(session_graph(s), g);
  tfm_session_delete(s);
}
END_TEST

START_TEST(control_dependencies_and_targets_run_first) {
  tfm_variable *v = tfm_variable_new(g, tfm_scalar(g, 0.0, TFM_FLOAT, NULL, st), 1, "counter", st);
  tfm_output *add = tfm_assign_add(g, v, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), "inc", st);
  tfm_op *inc = tfm_output_op(add);
  ck_assert_int_eq(tfm_graph_push_control_dependencies(g, &inc, 1, st), TFM_OK);
  tfm_output *y = tfm_identity(g, tfm_scalar(g, 7.0, TFM_FLOAT, NULL, st), "after_inc", st);
  ck_assert_int_eq(tfm_graph_pop_control_dependencies(g, st), TFM_OK);
  tfm_op *group = tfm_group(g, &inc, 1, "step", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  ck_assert_int_eq(run_target(s, tfm_variable_initializer(v)), TFM_OK);
  tfm_tensor *r = fetch1(s, y); /* runs inc through the control edge */
  ck_assert_float_eq(first_f32(r), 7.0f);
  tfm_tensor_release(r);
  ck_assert_int_eq(run_target(s, group), TFM_OK); /* and through the group */
  /* Fetch and target together: inc runs once per run, not once per mention. */
  tfm_tensor *val = NULL;
  ck_assert_int_eq(tfm_session_run(s, NULL, NULL, 0, &y, &val, 1, &group, 1, st), TFM_OK);
  tfm_tensor_release(val);
  tfm_tensor *now = tfm_session_variable_value(s, v, st);
  ck_assert_float_eq(first_f32(now), 3.0f);
  tfm_tensor_release(now);
  tfm_session_delete(s);
}
END_TEST

START_TEST(kernel_errors_name_the_op_and_return_nothing) {
  const int64_t any = -1, three = 3;
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, &any, 1, "x", st);
  tfm_output *r = tfm_reshape(g, x, &three, 1, "to_three", st);
  tfm_output *ok = tfm_identity(g, x, "copy", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  const float four[4] = {1, 2, 3, 4};
  tfm_tensor *xv = vec_f32(four, 4);
  tfm_output *fetches[2] = {ok, r};
  tfm_tensor *out[2] = {NULL, NULL};
  ck_assert_int_ne(tfm_session_run(s, &x, &xv, 1, fetches, out, 2, NULL, 0, st), TFM_OK);
  HAS("Reshape 'to_three'");
  ck_assert_ptr_null(out[0]);
  ck_assert_ptr_null(out[1]);
  tfm_tensor_release(xv);
  tfm_session_delete(s);
}
END_TEST

/* y = Fill(dims, x): its kernel allocates its output, so plan buffers show. */
static tfm_output *fill_graph(tfm_output **x, int64_t n) {
  const int32_t dims = (int32_t)n;
  *x = tfm_placeholder(g, TFM_FLOAT, NULL, 0, "x", st);
  return tfm_fill(g, tfm_constant_i32(g, &dims, 1, "dims", st), *x, "y", st);
}

START_TEST(plans_reuse_their_buffers_unless_the_caller_holds_them) {
  tfm_output *x;
  tfm_output *y = fill_graph(&x, 16);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_tensor *xv = scalar_f32(1.0f), *a = NULL, *b = NULL, *c = NULL;
  ck_assert_int_eq(tfm_session_run(s, &x, &xv, 1, &y, &a, 1, NULL, 0, st), TFM_OK);
  void *first = tfm_tensor_data(a);
  tfm_tensor_release(a);
  *(float *)tfm_tensor_data(xv) = 2.0f;
  ck_assert_int_eq(tfm_session_run(s, &x, &xv, 1, &y, &b, 1, NULL, 0, st), TFM_OK);
  ck_assert_ptr_eq(tfm_tensor_data(b), first); /* released: the same buffer again */
  ck_assert_float_eq(((float *)tfm_tensor_data(b))[15], 2.0f);
  /* b is still held: the next run must not write into it. */
  *(float *)tfm_tensor_data(xv) = 3.0f;
  ck_assert_int_eq(tfm_session_run(s, &x, &xv, 1, &y, &c, 1, NULL, 0, st), TFM_OK);
  ck_assert_ptr_ne(tfm_tensor_data(c), tfm_tensor_data(b));
  for (int i = 0; i < 16; i++) {
    ck_assert_float_eq(((float *)tfm_tensor_data(b))[i], 2.0f);
    ck_assert_float_eq(((float *)tfm_tensor_data(c))[i], 3.0f);
  }
  tfm_tensor_release(b);
  tfm_tensor_release(c);
  tfm_tensor_release(xv);
  tfm_session_delete(s);
}
END_TEST

START_TEST(steady_state_runs_allocate_nothing) {
  tfm_output *x;
  /* Fill allocates, an Identity passes its buffer on to the fetch; a Reshape views
   * the buffer and another Identity passes the view on: the buffer and the view
   * header must both come back next run. (Fetching the view itself would cost the
   * caller's header each run.) */
  const int64_t shape[2] = {8, 8};
  tfm_output *filled = fill_graph(&x, 64);
  tfm_output *y = tfm_identity(g, filled, "z", st);
  tfm_output *viewed = tfm_identity(g, tfm_reshape(g, filled, shape, 2, "r", st), "rz", st);
  tfm_variable *v = tfm_variable_new(g, tfm_scalar(g, 0.0, TFM_FLOAT, NULL, st), 1, "v", st);
  tfm_output *add = tfm_assign_add(g, v, x, "acc", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  ck_assert_int_eq(run_target(s, tfm_variable_initializer(v)), TFM_OK);
  tfm_op *acc[2] = {tfm_output_op(add), tfm_output_op(viewed)};
  tfm_callable *step = tfm_session_make_callable(s, &x, 1, &y, 1, acc, 2, st);
  OK();
  tfm_tensor *xv = scalar_f32(0.5f), *out = NULL;
  for (int i = 0; i < 2; i++) { /* warm up: the first run builds the frame */
    ck_assert_int_eq(tfm_callable_run(step, &xv, &out, st), TFM_OK);
    tfm_tensor_release(out);
  }
  uint64_t before = tfm_debug_alloc_count();
  for (int i = 0; i < 100; i++) {
    *(float *)tfm_tensor_data(xv) = (float)(i % 2) + 0.5f;
    ck_assert_int_eq(tfm_callable_run(step, &xv, &out, st), TFM_OK);
    ck_assert_float_eq(((float *)tfm_tensor_data(out))[63], (float)(i % 2) + 0.5f);
    tfm_tensor_release(out);
  }
  *(float *)tfm_tensor_data(xv) = 0.5f;
  ck_assert_uint_eq(tfm_debug_alloc_count() - before, 0);
  /* The same through tfm_session_run (the plan comes from the cache). */
  before = tfm_debug_alloc_count();
  for (int i = 0; i < 100; i++) {
    ck_assert_int_eq(tfm_session_run(s, &x, &xv, 1, &y, &out, 1, acc, 2, st), TFM_OK);
    tfm_tensor_release(out);
  }
  ck_assert_uint_eq(tfm_debug_alloc_count() - before, 0);
  tfm_tensor *total = tfm_session_variable_value(s, v, st);
  /* 2 warm-up runs and 100 session runs add 0.5; the 100 others 0.5 and 1.5 in turn */
  ck_assert_float_eq(first_f32(total), 2 * 0.5f + 50 * 0.5f + 50 * 1.5f + 100 * 0.5f);
  tfm_tensor_release(total);
  tfm_tensor_release(xv);
  tfm_callable_delete(step);
  tfm_session_delete(s);
}
END_TEST

START_TEST(callables_take_feeds_in_their_order) {
  tfm_output *a = tfm_placeholder(g, TFM_FLOAT, NULL, 0, "a", st);
  tfm_output *b = tfm_placeholder(g, TFM_FLOAT, NULL, 0, "b", st);
  tfm_output *ia = tfm_identity(g, a, "ia", st), *ib = tfm_identity(g, b, "ib", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_output *feeds[2] = {b, a}, *fetches[2] = {ia, ib};
  tfm_callable *c = tfm_session_make_callable(s, feeds, 2, fetches, 2, NULL, 0, st);
  OK();
  tfm_tensor *vals[2] = {scalar_f32(20.0f), scalar_f32(10.0f)}, *out[2];
  ck_assert_int_eq(tfm_callable_run(c, vals, out, st), TFM_OK);
  ck_assert_float_eq(first_f32(out[0]), 10.0f); /* a was fed second */
  ck_assert_float_eq(first_f32(out[1]), 20.0f);
  tfm_tensor_release(out[0]);
  tfm_tensor_release(out[1]);
  /* Feeds are checked on every call. */
  tfm_tensor *bad = tfm_tensor_new(TFM_INT64, NULL, 0, st);
  tfm_tensor *bad_vals[2] = {vals[0], bad};
  ck_assert_int_eq(tfm_callable_run(c, bad_vals, out, st), TFM_INVALID_ARGUMENT);
  HAS("'a:0'");
  ck_assert_ptr_null(out[0]);
  /* A callable for an unfed placeholder is refused when made. */
  ck_assert_ptr_null(tfm_session_make_callable(s, NULL, 0, &ia, 1, NULL, 0, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  tfm_tensor_release(bad);
  tfm_tensor_release(vals[0]);
  tfm_tensor_release(vals[1]);
  tfm_callable_delete(c);
  tfm_session_delete(s);
}
END_TEST

typedef struct worker {
  tfm_session *s;
  tfm_callable *c;
  tfm_output *x, *y;
  int id, errors;
} worker_t;

static void *worker_main(void *arg) {
  worker_t *w = arg;
  tfm_status *wst = tfm_status_new();
  tfm_tensor *xv = tfm_tensor_new(TFM_FLOAT, NULL, 0, wst);
  for (int i = 0; i < 2000; i++) {
    float want = (float)(w->id * 10000 + i);
    *(float *)tfm_tensor_data(xv) = want;
    tfm_tensor *out = NULL;
    tfm_code code = (i & 1) ? tfm_callable_run(w->c, &xv, &out, wst)
                            : tfm_session_run(w->s, &w->x, &xv, 1, &w->y, &out, 1, NULL, 0, wst);
    if (code != TFM_OK) {
      w->errors++;
      continue;
    }
    const float *d = tfm_tensor_data(out);
    for (int k = 0; k < tfm_tensor_num_elements(out); k++)
      if (d[k] != want) {
        w->errors++;
        break;
      }
    tfm_tensor_release(out);
  }
  tfm_tensor_release(xv);
  tfm_status_delete(wst);
  return NULL;
}

START_TEST(concurrent_runs_see_their_own_values) {
  tfm_output *x;
  tfm_output *y = tfm_identity(g, fill_graph(&x, 256), "z", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_callable *c = tfm_session_make_callable(s, &x, 1, &y, 1, NULL, 0, st);
  OK();
  pthread_t threads[4];
  worker_t w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (worker_t){.s = s, .c = c, .x = x, .y = y, .id = i};
    pthread_create(&threads[i], NULL, worker_main, &w[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(threads[i], NULL);
    ck_assert_int_eq(w[i].errors, 0);
  }
  tfm_callable_delete(c);
  tfm_session_delete(s);
}
END_TEST

typedef struct updater {
  tfm_session *s;
  tfm_op *op;
  int errors;
} updater_t;

static void *updater_main(void *arg) {
  updater_t *u = arg;
  tfm_status *wst = tfm_status_new();
  for (int i = 0; i < 2000; i++)
    if (tfm_session_run(u->s, NULL, NULL, 0, NULL, NULL, 0, &u->op, 1, wst) != TFM_OK) u->errors++;
  tfm_status_delete(wst);
  return NULL;
}

START_TEST(concurrent_updates_and_reinitialisation_never_crash) {
  const int64_t n = 64;
  tfm_variable *v = tfm_variable_new(g, tfm_zeros(g, &n, 1, TFM_FLOAT, NULL, st), 1, "v", st);
  tfm_output *add = tfm_assign_add(g, v, tfm_ones(g, &n, 1, TFM_FLOAT, NULL, st), "add", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  ck_assert_int_eq(run_target(s, tfm_variable_initializer(v)), TFM_OK);
  /* Three threads add, one keeps re-initialising (replacing the value). */
  pthread_t threads[4];
  updater_t u[4];
  for (int i = 0; i < 4; i++) {
    u[i] = (updater_t){.s = s, .op = i == 3 ? tfm_variable_initializer(v) : tfm_output_op(add)};
    pthread_create(&threads[i], NULL, updater_main, &u[i]);
  }
  for (int i = 0; i < 4; i++) pthread_join(threads[i], NULL);
  for (int i = 0; i < 4; i++) ck_assert_int_eq(u[i].errors, 0);
  tfm_tensor *val = tfm_session_variable_value(s, v, st);
  OK();
  /* Lost updates are allowed; values outside [0, 6000] would mean corruption. */
  for (int k = 0; k < n; k++) {
    float e = ((float *)tfm_tensor_data(val))[k];
    ck_assert(e >= 0.0f && e <= 6000.0f && e == (float)(int)e);
  }
  tfm_tensor_release(val);
  tfm_session_delete(s);
}
END_TEST

START_TEST(allocation_failures_report_and_leak_nothing) {
  tfm_output *x;
  tfm_output *y = tfm_identity(g, fill_graph(&x, 8), "z", st);
  tfm_variable *v = tfm_variable_new(g, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), 1, "v", st);
  tfm_output *add = tfm_assign_add(g, v, x, "acc", st);
  tfm_op *targets[2] = {tfm_variable_initializer(v), NULL};
  OK();
  tfm_tensor *xv = scalar_f32(1.0f);
  int64_t baseline = tfm_debug_bytes_in_use();
  int failures = 0;
  for (uint64_t nth = 1; nth < 200; nth++) {
    tfm_session *s = tfm_session_new(g, st);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(run_target(s, targets[0]), TFM_OK);
    tfm_debug_fail_alloc_after(nth, 1);
    tfm_tensor *out = NULL;
    targets[1] = tfm_output_op(add);
    tfm_code code = tfm_session_run(s, &x, &xv, 1, &y, &out, 1, &targets[1], 1, st);
    tfm_debug_fail_alloc_after(0, 0);
    if (code != TFM_OK) {
      failures++;
      ck_assert_int_eq(code, TFM_RESOURCE_EXHAUSTED);
      ck_assert_ptr_null(out);
    } else {
      ck_assert_float_eq(first_f32(out), 1.0f);
    }
    tfm_tensor_release(out);
    tfm_session_delete(s);
    ck_assert_int_eq(tfm_debug_bytes_in_use(), baseline);
    if (code == TFM_OK) break;
  }
  ck_assert_int_gt(failures, 0);
  tfm_tensor_release(xv);
}
END_TEST

/* ---- prepared plans (runtime/prepare.h): the same results as unprepared ones ---- */

static const float FIT_X[8] = {0, 1, 2, 3, 4, 5, 6, 7};
static const float FIT_Y[8] = {-0.82f, -0.94f, -0.12f, 0.26f, 0.39f, 0.64f, 1.02f, 1.00f};

typedef enum { FIT_TENSOR, FIT_SERIAL, FIT_FED } fit_form_t;

/* The tutorial's line fit in one of its forms; returns the train op, sets m and b
 * (and x, y: the placeholders of the fed form). */
static tfm_op *line_fit(fit_form_t form, tfm_optimizer **opt, tfm_variable **m, tfm_variable **b,
                        tfm_output **x, tfm_output **y) {
  const int64_t n = 8;
  *m = tfm_variable_new(g, tfm_scalar(g, -0.5, TFM_FLOAT, NULL, st), 1, "m", st);
  *b = tfm_variable_new(g, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), 1, "b", st);
  tfm_output *loss;
  if (form == FIT_SERIAL) {
    loss = tfm_scalar(g, 0.0, TFM_FLOAT, NULL, st);
    for (int i = 0; i < 8; i++) {
      tfm_output *xi = tfm_scalar(g, FIT_X[i], TFM_FLOAT, NULL, st);
      tfm_output *yi = tfm_scalar(g, FIT_Y[i], TFM_FLOAT, NULL, st);
      tfm_output *e = tfm_sub(g, yi, tfm_add(g, tfm_mul(g, tfm_variable_value(*m), xi, NULL, st),
                                             tfm_variable_value(*b), NULL, st), NULL, st);
      loss = tfm_add(g, loss, tfm_square(g, e, NULL, st), NULL, st);
    }
  } else {
    if (form == FIT_FED) {
      *x = tfm_placeholder(g, TFM_FLOAT, &n, 1, "x", st);
      *y = tfm_placeholder(g, TFM_FLOAT, &n, 1, "y", st);
    } else {
      *x = tfm_constant_f32(g, FIT_X, &n, 1, "x", st);
      *y = tfm_constant_f32(g, FIT_Y, &n, 1, "y", st);
    }
    tfm_output *e = tfm_sub(g, *y, tfm_add(g, tfm_mul(g, tfm_variable_value(*m), *x, NULL, st),
                                           tfm_variable_value(*b), NULL, st), NULL, st);
    loss = tfm_reduce_sum(g, tfm_square(g, e, NULL, st), NULL, 0, 0, "loss", st);
  }
  *opt = tfm_optimizer_gradient_descent(0.001, st);
  return tfm_optimizer_minimize(*opt, g, loss, NULL, 0, NULL, "train", st);
}

static uint32_t f32_bits(tfm_tensor *t) {
  uint32_t u;
  memcpy(&u, tfm_tensor_data(t), sizeof u);
  return u;
}

START_TEST(prepared_training_steps_match_unprepared_bit_for_bit) {
  for (int form = FIT_TENSOR; form <= FIT_FED; form++) {
    tfm_graph_delete(g);
    g = tfm_graph_new(st);
    tfm_optimizer *opt;
    tfm_variable *m, *b;
    tfm_output *x = NULL, *y = NULL;
    tfm_op *train = line_fit((fit_form_t)form, &opt, &m, &b, &x, &y);
    tfm_op *init = tfm_global_variables_initializer(g, st);
    OK();
    tfm_session *s[2];
    tfm_callable *step[2];
    tfm_output *feeds[2] = {x, y};
    for (int k = 0; k < 2; k++) { /* k = 0 prepared, 1 not */
      plan_set_preparation(k == 0);
      s[k] = tfm_session_new(g, st);
      ck_assert_int_eq(run_target(s[k], init), TFM_OK);
      step[k] = tfm_session_make_callable(s[k], feeds, form == FIT_FED ? 2 : 0, NULL, 0, &train, 1, st);
      OK();
    }
    plan_set_preparation(true);
    const int64_t n = 8;
    tfm_tensor *xb = tfm_tensor_new(TFM_FLOAT, &n, 1, st), *yb = tfm_tensor_new(TFM_FLOAT, &n, 1, st);
    tfm_tensor *vals[2] = {xb, yb};
    for (int i = 0; i < 300; i++) {
      for (int j = 0; j < 8; j++) { /* batches drawn from the 8 points */
        ((float *)tfm_tensor_data(xb))[j] = FIT_X[(i + 3 * j) % 8];
        ((float *)tfm_tensor_data(yb))[j] = FIT_Y[(i + 3 * j) % 8];
      }
      for (int k = 0; k < 2; k++) ck_assert_int_eq(tfm_callable_run(step[k], vals, NULL, st), TFM_OK);
      tfm_tensor *mv[2], *bv[2];
      for (int k = 0; k < 2; k++) {
        mv[k] = tfm_session_variable_value(s[k], m, st);
        bv[k] = tfm_session_variable_value(s[k], b, st);
      }
      ck_assert_uint_eq(f32_bits(mv[0]), f32_bits(mv[1]));
      ck_assert_uint_eq(f32_bits(bv[0]), f32_bits(bv[1]));
      if (i == 299 && form != FIT_FED) {
        /* and the fit moves towards least squares (0.29702, -0.86083) */
        ck_assert(first_f32(mv[0]) > -0.5f && first_f32(bv[0]) < 1.0f);
      }
      for (int k = 0; k < 2; k++) {
        tfm_tensor_release(mv[k]);
        tfm_tensor_release(bv[k]);
      }
    }
    tfm_tensor_release(xb);
    tfm_tensor_release(yb);
    for (int k = 0; k < 2; k++) {
      tfm_callable_delete(step[k]);
      tfm_session_delete(s[k]);
    }
    tfm_optimizer_delete(opt);
  }
}
END_TEST

/* Broadcasts, reductions over some axes, keep_dims, float64, int32, views and
 * folded constants: every fetch of a prepared plan equals the unprepared one's. */
START_TEST(prepared_ops_match_unprepared_bit_for_bit) {
  const int64_t d23[2] = {2, 3}, d3 = 3, d6 = 6;
  const float a_v[6] = {0.5f, -1.25f, 3.0f, 7.5f, -0.1f, 2.2f}, r_v[3] = {1.5f, -2.0f, 0.3f};
  tfm_output *a = tfm_placeholder(g, TFM_FLOAT, d23, 2, "a", st);
  tfm_output *row = tfm_constant_f32(g, r_v, &d3, 1, "row", st);
  tfm_output *sum1 = tfm_reduce_sum(g, tfm_add(g, a, row, NULL, st), (const int32_t[]){1}, 1, 1, NULL, st);
  tfm_output *mean0 = tfm_reduce_mean(g, tfm_mul(g, a, a, NULL, st), (const int32_t[]){0}, 1, 0, NULL, st);
  tfm_output *mx = tfm_reduce_max(g, tfm_exp(g, tfm_neg(g, a, NULL, st), NULL, st), NULL, 0, 0, NULL, st);
  tfm_output *flat = tfm_reshape(g, tfm_square(g, a, NULL, st), &d6, 1, NULL, st);
  tfm_output *all = tfm_reduce_sum(g, tfm_div(g, flat, tfm_scalar(g, 3.0, TFM_FLOAT, NULL, st), NULL, st),
                                   NULL, 0, 0, NULL, st);
  tfm_output *a64 = tfm_cast(g, a, TFM_DOUBLE, NULL, st);
  tfm_output *s64 = tfm_reduce_sum(g, tfm_sub(g, a64, tfm_scalar(g, 0.1, TFM_DOUBLE, NULL, st), NULL, st),
                                   NULL, 0, 0, NULL, st);
  tfm_output *ints = tfm_add(g, tfm_cast(g, a, TFM_INT32, NULL, st),
                             tfm_scalar(g, 7.0, TFM_INT32, NULL, st), NULL, st);
  tfm_output *folded = tfm_mul(g, row, tfm_fill(g, tfm_shape(g, row, NULL, st),
                                                tfm_scalar(g, 2.0, TFM_FLOAT, NULL, st), NULL, st), NULL, st);
  tfm_output *ed = tfm_expand_dims(g, mx, 0, NULL, st);
  OK();
  tfm_output *fetches[] = {sum1, mean0, mx, flat, all, s64, ints, folded, ed};
  const int nf = (int)(sizeof fetches / sizeof *fetches);
  tfm_tensor *av = tfm_tensor_new(TFM_FLOAT, d23, 2, st);
  tfm_tensor *out[2][16];
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 6; i++) ((float *)tfm_tensor_data(av))[i] = a_v[i] * (float)(round + 1);
    for (int k = 0; k < 2; k++) {
      plan_set_preparation(k == 0);
      tfm_session *s = tfm_session_new(g, st);
      for (int rep = 0; rep < 2; rep++) { /* the second run reuses the buffers */
        ck_assert_int_eq(tfm_session_run(s, &a, &av, 1, fetches, out[k], nf, NULL, 0, st), TFM_OK);
        if (rep == 0)
          for (int i = 0; i < nf; i++) tfm_tensor_release(out[k][i]);
      }
      tfm_session_delete(s);
    }
    plan_set_preparation(true);
    for (int i = 0; i < nf; i++) {
      ck_assert_int_eq(tfm_tensor_dtype(out[0][i]), tfm_tensor_dtype(out[1][i]));
      ck_assert_int_eq(tfm_tensor_nbytes(out[0][i]), tfm_tensor_nbytes(out[1][i]));
      ck_assert_int_eq(tfm_tensor_rank(out[0][i]), tfm_tensor_rank(out[1][i]));
      for (int d = 0; d < tfm_tensor_rank(out[0][i]); d++)
        ck_assert_int_eq(tfm_tensor_dim(out[0][i], d), tfm_tensor_dim(out[1][i], d));
      ck_assert_msg(memcmp(tfm_tensor_data(out[0][i]), tfm_tensor_data(out[1][i]),
                           tfm_tensor_nbytes(out[0][i])) == 0, "fetch %d differs", i);
      for (int k = 0; k < 2; k++) tfm_tensor_release(out[k][i]);
    }
  }
  tfm_tensor_release(av);
}
END_TEST

START_TEST(fetched_constants_are_copies) {
  /* Fill of constants is computed when the plan is compiled; a caller writing
   * into what it fetched must not change later runs. */
  const int64_t d4 = 4;
  tfm_output *f = tfm_fill(g, tfm_shape(g, tfm_zeros(g, &d4, 1, TFM_FLOAT, NULL, st), NULL, st),
                           tfm_scalar(g, 2.5, TFM_FLOAT, NULL, st), "f", st);
  tfm_output *twice = tfm_add(g, f, f, "twice", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  for (int run = 0; run < 3; run++) {
    tfm_output *fetches[2] = {f, twice};
    tfm_tensor *v[2];
    ck_assert_int_eq(tfm_session_run(s, NULL, NULL, 0, fetches, v, 2, NULL, 0, st), TFM_OK);
    for (int i = 0; i < 4; i++) {
      ck_assert_float_eq(((float *)tfm_tensor_data(v[0]))[i], 2.5f);
      ck_assert_float_eq(((float *)tfm_tensor_data(v[1]))[i], 5.0f);
      ((float *)tfm_tensor_data(v[0]))[i] = -1.0f; /* the caller's own copy */
    }
    tfm_tensor_release(v[0]);
    tfm_tensor_release(v[1]);
  }
  tfm_session_delete(s);
}
END_TEST

START_TEST(a_fed_constant_is_not_folded) {
  /* As Python's saver feeds its filename Const: what reads the Const, directly or
   * through an Identity, sees the feed. */
  tfm_output *c = tfm_scalar(g, 1.0, TFM_FLOAT, "c", st);
  tfm_output *id = tfm_identity(g, c, "id", st);
  tfm_output *sum = tfm_add(g, c, c, "sum", st);
  tfm_output *shape = tfm_shape(g, c, "shape", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  tfm_tensor *feed = scalar_f32(4.0f), *out[4];
  tfm_output *fetches[4] = {id, sum, c, shape};
  for (int run = 0; run < 2; run++) {
    ck_assert_int_eq(tfm_session_run(s, &c, &feed, 1, fetches, out, 4, NULL, 0, st), TFM_OK);
    ck_assert_float_eq(first_f32(out[0]), 4.0f);
    ck_assert_float_eq(first_f32(out[1]), 8.0f);
    ck_assert_float_eq(first_f32(out[2]), 4.0f);
    ck_assert_int_eq(tfm_tensor_num_elements(out[3]), 0); /* a scalar's shape */
    for (int i = 0; i < 4; i++) tfm_tensor_release(out[i]);
  }
  tfm_session_run(s, NULL, NULL, 0, fetches, out, 2, NULL, 0, st); /* unfed: the Const */
  OK();
  ck_assert_float_eq(first_f32(out[0]), 1.0f);
  ck_assert_float_eq(first_f32(out[1]), 2.0f);
  tfm_tensor_release(out[0]);
  tfm_tensor_release(out[1]);
  tfm_tensor_release(feed);
  tfm_session_delete(s);
}
END_TEST

START_TEST(a_variable_of_another_shape_runs_unprepared) {
  /* A plan prepared for v of shape [2] meets v restored with shape [3]. */
  const int64_t d2 = 2;
  const float two[2] = {1, 2}, three[3] = {4, 5, 6};
  tfm_variable *v = tfm_variable_new(g, tfm_constant_f32(g, two, &d2, 1, NULL, st), 1, "v", st);
  tfm_output *y = tfm_reduce_sum(g, tfm_mul(g, tfm_variable_value(v), tfm_variable_value(v), NULL, st),
                                 NULL, 0, 0, "y", st);
  /* the graph knows this shape at build time: a prepared plan folds it */
  tfm_output *shape = tfm_shape(g, tfm_variable_value(v), "shape", st);
  OK();
  tfm_session *s = tfm_session_new(g, st);
  ck_assert_int_eq(run_target(s, tfm_variable_initializer(v)), TFM_OK);
  tfm_output *fetches[2] = {y, shape};
  tfm_tensor *r[2];
  ck_assert_int_eq(tfm_session_run(s, NULL, NULL, 0, fetches, r, 2, NULL, 0, st), TFM_OK);
  ck_assert_float_eq(first_f32(r[0]), 5.0f);
  ck_assert_int_eq(((int32_t *)tfm_tensor_data(r[1]))[0], 2);
  tfm_tensor_release(r[0]);
  tfm_tensor_release(r[1]);
  tfm_tensor *bigger = vec_f32(three, 3);
  ck_assert_int_eq(session_variable_set(s, tfm_variable_op(v), bigger, st), TFM_OK);
  ck_assert_int_eq(tfm_session_run(s, NULL, NULL, 0, fetches, r, 2, NULL, 0, st), TFM_OK);
  ck_assert_float_eq(first_f32(r[0]), 16.0f + 25.0f + 36.0f);
  ck_assert_int_eq(((int32_t *)tfm_tensor_data(r[1]))[0], 3);
  tfm_tensor_release(r[0]);
  tfm_tensor_release(r[1]);
  tfm_tensor_release(bigger);
  tfm_session_delete(s);
}
END_TEST

START_TEST(training_steps_allocate_nothing) {
  for (int form = FIT_TENSOR; form <= FIT_FED; form++) {
    tfm_graph_delete(g);
    g = tfm_graph_new(st);
    tfm_optimizer *opt;
    tfm_variable *m, *b;
    tfm_output *x = NULL, *y = NULL;
    tfm_op *train = line_fit((fit_form_t)form, &opt, &m, &b, &x, &y);
    tfm_op *init = tfm_global_variables_initializer(g, st);
    OK();
    tfm_session *s = tfm_session_new(g, st);
    ck_assert_int_eq(run_target(s, init), TFM_OK);
    tfm_output *feeds[2] = {x, y};
    tfm_callable *step = tfm_session_make_callable(s, feeds, form == FIT_FED ? 2 : 0, NULL, 0, &train, 1, st);
    tfm_tensor *vals[2] = {vec_f32(FIT_X, 8), vec_f32(FIT_Y, 8)};
    OK();
    for (int i = 0; i < 2; i++) ck_assert_int_eq(tfm_callable_run(step, vals, NULL, st), TFM_OK);
    uint64_t before = tfm_debug_alloc_count();
    for (int i = 0; i < 100; i++) ck_assert_int_eq(tfm_callable_run(step, vals, NULL, st), TFM_OK);
    ck_assert_uint_eq(tfm_debug_alloc_count() - before, 0);
    tfm_tensor_release(vals[0]);
    tfm_tensor_release(vals[1]);
    tfm_callable_delete(step);
    tfm_session_delete(s);
    tfm_optimizer_delete(opt);
  }
}
END_TEST

static Suite *session_suite(void) {
  Suite *s = suite_create("session");
  TCase *tc = tcase_create("session");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, fed_placeholder_flows_through_an_identity_chain);
  tcase_add_test(tc, unfed_placeholder_is_named);
  tcase_add_test(tc, ops_not_needed_are_pruned);
  tcase_add_test(tc, feed_of_wrong_dtype_or_shape_names_both);
  tcase_add_test(tc, outputs_of_another_graph_are_refused);
  tcase_add_test(tc, variables_initialise_update_and_read);
  tcase_add_test(tc, variables_belong_to_the_session);
  tcase_add_test(tc, session_variable_set_and_get_for_restore);
  tcase_add_test(tc, control_dependencies_and_targets_run_first);
  tcase_add_test(tc, kernel_errors_name_the_op_and_return_nothing);
  tcase_add_test(tc, plans_reuse_their_buffers_unless_the_caller_holds_them);
  tcase_add_test(tc, steady_state_runs_allocate_nothing);
  tcase_add_test(tc, callables_take_feeds_in_their_order);
  tcase_add_test(tc, concurrent_runs_see_their_own_values);
  tcase_add_test(tc, concurrent_updates_and_reinitialisation_never_crash);
  tcase_add_test(tc, allocation_failures_report_and_leak_nothing);
  tcase_add_test(tc, prepared_training_steps_match_unprepared_bit_for_bit);
  tcase_add_test(tc, prepared_ops_match_unprepared_bit_for_bit);
  tcase_add_test(tc, fetched_constants_are_copies);
  tcase_add_test(tc, a_fed_constant_is_not_folded);
  tcase_add_test(tc, a_variable_of_another_shape_runs_unprepared);
  tcase_add_test(tc, training_steps_allocate_nothing);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(session_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
