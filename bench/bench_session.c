/* Per-run overhead of the session, against a plain C loop doing the same work in
 * the same process:
 *   chain  : x fed -> 10 Identity ops -> fetched (callable; then tfm_session_run),
 *            baseline: passing the value through 10 calls of a function pointer; a
 *            prepared plan reads through the Identities, so this is the fixed cost
 *            of a run (feed check, frame, fetch);
 *   adds   : x fed -> 10 ops x + 1 -> fetched: 10 kernel calls per run (the cost of
 *            a prepared step), baseline: 10 calls of an add through a pointer;
 *   counter: AssignAdd(v, 1) on a scalar variable as the target of a callable,
 *            baseline: v += 1 in a loop.
 * Also prints allocations per run (0 expected in the steady state).
 * Usage: bench_session [runs] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <tfmini/debug.h>
#include <tfmini/tfmini.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void check(tfm_status *st, const char *what) {
  if (tfm_status_code(st) != TFM_OK) {
    fprintf(stderr, "bench_session: %s: %s\n", what, tfm_status_message(st));
    exit(EXIT_FAILURE);
  }
}

typedef struct timing {
  double ns;
  double allocs;
} timing_t;

/* ---- the baselines ---- */

static float pass(float v) { return v; }
static float (*volatile pass_fn)(float) = pass;

typedef float (*float_fn)(float);

/* Best ns per run of 10 calls through *fn (a volatile pointer: every call is real). */
static double c_calls(float_fn volatile *fn, long runs) {
  double best = 1e30;
  float x = 1.0f, sink = 0;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = now();
    for (long i = 0; i < runs; i++) {
      float v = x;
      for (int k = 0; k < 10; k++) v = (*fn)(v);
      sink += v;
    }
    double t = (now() - t0) / (double)runs;
    if (t < best) best = t;
  }
  if (sink < 0) printf("%f\n", sink);
  return best * 1e9;
}

static float add1(float v) { return v + 1.0f; }
static float (*volatile add1_fn)(float) = add1;

static double c_counter(long runs) {
  double best = 1e30;
  float v = 0;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = now();
    for (long i = 0; i < runs; i++) {
      v += 1.0f;
      __asm__ volatile("" : : "r"(&v) : "memory");
    }
    double t = (now() - t0) / (double)runs;
    if (t < best) best = t;
  }
  return best * 1e9;
}

/* ---- through the library ---- */

typedef enum { VIA_CALLABLE, VIA_SESSION_RUN } via_t;

static timing_t api_chain(long runs, via_t via, int adds) {
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, NULL, 0, "x", st);
  tfm_output *y = x;
  tfm_output *one = tfm_scalar(g, 1.0, TFM_FLOAT, "one", st);
  for (int k = 0; k < 10; k++) y = adds ? tfm_add(g, y, one, NULL, st) : tfm_identity(g, y, NULL, st);
  check(st, "building the chain");
  tfm_session *s = tfm_session_new(g, st);
  tfm_callable *c = tfm_session_make_callable(s, &x, 1, &y, 1, NULL, 0, st);
  check(st, "making the callable");
  tfm_tensor *xv = tfm_tensor_new(TFM_FLOAT, NULL, 0, st), *out = NULL;
  timing_t best = {1e30, 0};
  for (int rep = 0; rep < 3; rep++) {
    uint64_t a0 = tfm_debug_alloc_count();
    double t0 = now();
    for (long i = 0; i < runs; i++) {
      if (via == VIA_CALLABLE)
        tfm_callable_run(c, &xv, &out, st);
      else
        tfm_session_run(s, &x, &xv, 1, &y, &out, 1, NULL, 0, st);
      tfm_tensor_release(out);
    }
    double t = (now() - t0) / (double)runs;
    if (t * 1e9 < best.ns) best = (timing_t){t * 1e9, (double)(tfm_debug_alloc_count() - a0) / runs};
  }
  check(st, "running the chain");
  tfm_tensor_release(xv);
  tfm_callable_delete(c);
  tfm_session_delete(s);
  tfm_graph_delete(g);
  tfm_status_delete(st);
  return best;
}

static timing_t api_counter(long runs) {
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  tfm_variable *v = tfm_variable_new(g, tfm_scalar(g, 0.0, TFM_FLOAT, NULL, st), 1, "v", st);
  tfm_op *inc = tfm_output_op(tfm_assign_add(g, v, tfm_scalar(g, 1.0, TFM_FLOAT, NULL, st), "inc", st));
  tfm_op *init = tfm_variable_initializer(v);
  check(st, "building the counter");
  tfm_session *s = tfm_session_new(g, st);
  tfm_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st);
  tfm_callable *c = tfm_session_make_callable(s, NULL, 0, NULL, 0, &inc, 1, st);
  check(st, "making the callable");
  timing_t best = {1e30, 0};
  for (int rep = 0; rep < 3; rep++) {
    uint64_t a0 = tfm_debug_alloc_count();
    double t0 = now();
    for (long i = 0; i < runs; i++) tfm_callable_run(c, NULL, NULL, st);
    double t = (now() - t0) / (double)runs;
    if (t * 1e9 < best.ns) best = (timing_t){t * 1e9, (double)(tfm_debug_alloc_count() - a0) / runs};
  }
  check(st, "running the counter");
  tfm_tensor *val = tfm_session_variable_value(s, v, st);
  check(st, "reading the counter");
  float want = 3.0f * (float)runs; /* exact while below 2^24 */
  if (3 * runs < (1L << 24) && *(float *)tfm_tensor_data(val) != want)
    fprintf(stderr, "bench_session: counter is %g, expected %g\n", *(float *)tfm_tensor_data(val), want);
  tfm_tensor_release(val);
  tfm_callable_delete(c);
  tfm_session_delete(s);
  tfm_graph_delete(g);
  tfm_status_delete(st);
  return best;
}

int main(int argc, char **argv) {
  long runs = argc > 1 ? atol(argv[1]) : 1000000;
  printf("libtfmini %s, %ld runs per measurement (best of 3)\n", tfm_version(), runs);
  printf("%-26s %12s %12s %8s %10s\n", "case", "api ns/run", "C ns/run", "ratio", "allocs/run");
  double cc = c_calls(&pass_fn, runs);
  timing_t a = api_chain(runs, VIA_CALLABLE, 0);
  printf("%-26s %12.1f %12.1f %8.1f %10.2f\n", "chain of 10 (callable)", a.ns, cc, a.ns / cc, a.allocs);
  a = api_chain(runs, VIA_SESSION_RUN, 0);
  printf("%-26s %12.1f %12.1f %8.1f %10.2f\n", "chain of 10 (session_run)", a.ns, cc, a.ns / cc, a.allocs);
  double ca = c_calls(&add1_fn, runs);
  a = api_chain(runs, VIA_CALLABLE, 1);
  printf("%-26s %12.1f %12.1f %8.1f %10.2f\n", "10 adds x + 1 (callable)", a.ns, ca, a.ns / ca, a.allocs);
  printf("%-26s %12.1f %12s %8s %10s\n", "  per add", a.ns / 10, "", "", "");
  double cn = c_counter(runs);
  a = api_counter(runs);
  printf("%-26s %12.1f %12.1f %8.1f %10.2f\n", "AssignAdd scalar", a.ns, cn, a.ns / cn, a.allocs);
  return EXIT_SUCCESS;
}
