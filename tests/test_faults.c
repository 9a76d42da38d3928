/* Fault injection over the main paths: for every N, the Nth allocation fails
 * (once, then also every later one) while a whole scenario runs: building a
 * model, gradients, an optimizer's minimize, a session and training steps; a
 * bundle written and read back; the `checkpoint` file. Each call must then return
 * RESOURCE_EXHAUSTED (never crash, never another code), free everything (bytes in
 * use back to the baseline; LeakSanitizer checks malloc'ed memory in the ASan
 * build), and when a scenario still succeeds its results must be right.
 * Then write failures (ENOSPC, EIO) at every write/fsync/rename of a checkpoint
 * save: an error naming the file, and the previous checkpoint and `checkpoint`
 * file intact and readable. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/tensor.h"
#include "io/bundle.h"
#include "io/checkpoint_state.h"
#include "io/file.h"
#include "io_testutil.h"
#include "tfmini/debug.h"
#include "tfmini/tfmini.h"

/* Points tried over the whole suite (printed for docs/reliability.md). */
static unsigned long long points_tried;

/* ---- the sweep ---- */

/* Open file descriptors of this process: a failed call must close what it
 * opened and nothing else (a zeroed fd closed on an error path is fd 0). */
static int open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) n += e->d_name[0] != '.';
  if (d) closedir(d);
  return n;
}

typedef tfm_code (*scenario_fn)(tfm_status *st, void *arg);

/* Runs `fn` once without injection (it must succeed) to count its allocations,
 * then once per allocation with that one failing (sticky 0) and with it and all
 * later ones failing (sticky 1). `check_ok` (may be NULL) validates the results of
 * runs that still succeed. */
static void sweep(const char *name, scenario_fn fn, void *arg) {
  tfm_status *st = tfm_status_new();
  int64_t base = tfm_debug_bytes_in_use();
  int fds = open_fds();
  uint64_t before = tfm_debug_alloc_count();
  ck_assert_msg(fn(st, arg) == TFM_OK, "%s without injection: %s", name, tfm_status_message(st));
  uint64_t needed = tfm_debug_alloc_count() - before;
  ck_assert_int_eq(tfm_debug_bytes_in_use(), base);
  ck_assert_msg(needed > 0, "%s: no allocations to fail", name);
  for (int sticky = 0; sticky <= 1; sticky++) {
    for (uint64_t nth = 1; nth <= needed; nth++) {
      tfm_status_clear(st);
      tfm_debug_fail_alloc_after(nth, sticky);
      tfm_code code = fn(st, arg);
      tfm_debug_fail_alloc_after(0, 0);
      points_tried++;
      ck_assert_msg(code == TFM_OK || code == TFM_RESOURCE_EXHAUSTED,
                    "%s, allocation %llu of %llu failing (sticky %d): %s: %s", name,
                    (unsigned long long)nth, (unsigned long long)needed, sticky,
                    tfm_code_name(code), tfm_status_message(st));
      ck_assert_msg(tfm_debug_bytes_in_use() == base,
                    "%s, allocation %llu failing (sticky %d): %lld bytes leaked (%s)", name,
                    (unsigned long long)nth, sticky,
                    (long long)(tfm_debug_bytes_in_use() - base), tfm_status_message(st));
      if (code == TFM_RESOURCE_EXHAUSTED)
        ck_assert_msg(strlen(tfm_status_message(st)) > 0, "%s: empty message", name);
      ck_assert_msg(open_fds() == fds, "%s, allocation %llu failing (sticky %d): %d file descriptors open, "
                    "%d before", name, (unsigned long long)nth, sticky, open_fds(), fds);
    }
  }
  printf("%s: %llu allocations, %llu failure points\n", name, (unsigned long long)needed,
         (unsigned long long)(2 * needed));
  tfm_status_delete(st);
}

/* ---- scenario: a small classifier trained for two steps ---- */

/* logits = relu(x W1 + b1) W2, softmax cross entropy against one-hot labels,
 * minimized by `opt_kind` (0 gradient descent, 1 momentum, 2 Adam), also
 * tf.gradients of the loss. Returns the loss of the third run in *out_loss. */
typedef struct train_arg {
  int opt_kind;
  double loss; /* set by a successful run */
} train_arg_t;

#define B 4
#define NI 3
#define NH 5
#define NC 2

static tfm_output *const_f32(tfm_graph *g, const float *v, const int64_t *dims, int rank,
                             const char *name, tfm_status *st) {
  tfm_tensor *t = tfm_tensor_new(TFM_FLOAT, dims, rank, st);
  if (!t) return NULL;
  int64_t n = 1;
  for (int i = 0; i < rank; i++) n *= dims[i];
  memcpy(tfm_tensor_data(t), v, (size_t)n * sizeof(float));
  tfm_output *o = tfm_constant(g, t, name, st);
  tfm_tensor_release(t);
  return o;
}

static const float X[B * NI] = {1, 0, 2, -1, 1, 0, 0.5f, 0.5f, 0.5f, 2, -2, 1};
static const float Y[B * NC] = {1, 0, 0, 1, 1, 0, 0, 1};

static tfm_code train_scenario(tfm_status *st, void *varg) {
  train_arg_t *arg = varg;
  tfm_graph *g = tfm_graph_new(st);
  if (!g) return tfm_status_code(st);
  tfm_session *s = NULL;
  tfm_optimizer *opt = NULL;
  tfm_tensor *xv = NULL, *fetched[2] = {NULL, NULL};
  float w1[NI * NH], w2[NH * NC], b1[NH];
  for (int i = 0; i < NI * NH; i++) w1[i] = 0.1f * (float)((i * 7) % 5) - 0.2f;
  for (int i = 0; i < NH * NC; i++) w2[i] = 0.15f * (float)((i * 3) % 4) - 0.2f;
  for (int i = 0; i < NH; i++) b1[i] = 0.01f * (float)i;
  const int64_t dx[2] = {B, NI}, dw1[2] = {NI, NH}, dw2[2] = {NH, NC}, db[1] = {NH},
                dy[2] = {B, NC};
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, dx, 2, "x", st);
  tfm_output *y = x ? const_f32(g, Y, dy, 2, "y", st) : NULL;
  tfm_variable *W1 = y ? tfm_variable_new(g, const_f32(g, w1, dw1, 2, "w1_init", st), 1, "W1", st) : NULL;
  tfm_variable *B1 = W1 ? tfm_variable_new(g, const_f32(g, b1, db, 1, "b1_init", st), 1, "b1", st) : NULL;
  tfm_variable *W2 = B1 ? tfm_variable_new(g, const_f32(g, w2, dw2, 2, "w2_init", st), 1, "W2", st) : NULL;
  tfm_output *h = W2 ? tfm_relu(g, tfm_bias_add(g, tfm_matmul(g, x, tfm_variable_value(W1), 0, 0, NULL, st),
                                                tfm_variable_value(B1), NULL, st), NULL, st)
                     : NULL;
  tfm_output *logits = h ? tfm_matmul(g, h, tfm_variable_value(W2), 0, 0, "logits", st) : NULL;
  tfm_output *xent = logits ? tfm_softmax_cross_entropy_with_logits(g, y, logits, NULL, st) : NULL;
  tfm_output *loss = xent ? tfm_reduce_mean(g, xent, NULL, 0, 0, "loss", st) : NULL;
  tfm_output *xs[1], *dxs[1];
  xs[0] = W2 ? tfm_variable_ref(W2) : NULL;
  if (loss && tfm_gradients(g, &loss, 1, xs, 1, NULL, dxs, st) != TFM_OK) {
    ck_assert_msg(tfm_status_code(st) != TFM_OK, "tfm_gradients failed with an OK status");
    loss = NULL;
  }
  if (loss) {
    opt = arg->opt_kind == 0   ? tfm_optimizer_gradient_descent(0.5, st)
          : arg->opt_kind == 1 ? tfm_optimizer_momentum(0.1, 0.9, 1, st)
                               : tfm_optimizer_adam(0.01, 0.9, 0.999, 1e-8, st);
  }
  tfm_op *train = opt ? tfm_optimizer_minimize(opt, g, loss, NULL, 0, NULL, NULL, st) : NULL;
  tfm_op *init = train ? tfm_global_variables_initializer(g, st) : NULL;
  if (init) s = tfm_session_new(g, st);
  if (s && tfm_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st) == TFM_OK) {
    xv = tfm_tensor_new(TFM_FLOAT, dx, 2, st);
    if (xv) memcpy(tfm_tensor_data(xv), X, sizeof X);
    for (int step = 0; xv && step < 2; step++)
      if (tfm_session_run(s, &x, &xv, 1, NULL, NULL, 0, &train, 1, st) != TFM_OK) break;
    tfm_output *fetches[2] = {loss, dxs[0]};
    if (xv && tfm_status_code(st) == TFM_OK &&
        tfm_session_run(s, &x, &xv, 1, fetches, fetched, 2, NULL, 0, st) == TFM_OK)
      arg->loss = ((float *)tfm_tensor_data(fetched[0]))[0];
  }
  tfm_code code = tfm_status_code(st);
  tfm_tensor_release(fetched[0]);
  tfm_tensor_release(fetched[1]);
  tfm_tensor_release(xv);
  tfm_session_delete(s);
  tfm_optimizer_delete(opt);
  tfm_graph_delete(g);
  return code;
}

static void sweep_training(int opt_kind, const char *name) {
  train_arg_t ref = {opt_kind, NAN};
  tfm_status *st = tfm_status_new();
  ck_assert_int_eq(train_scenario(st, &ref), TFM_OK);
  tfm_status_delete(st);
  ck_assert(isfinite(ref.loss) && ref.loss > 0);
  train_arg_t arg = {opt_kind, NAN};
  sweep(name, train_scenario, &arg);
}

START_TEST(allocation_failures_in_gradient_descent_training) { sweep_training(0, "train/gd"); }
END_TEST
START_TEST(allocation_failures_in_momentum_training) { sweep_training(1, "train/momentum"); }
END_TEST
START_TEST(allocation_failures_in_adam_training) { sweep_training(2, "train/adam"); }
END_TEST

/* Results of runs that survived an absorbed failure must equal the clean run's:
 * the sweep above checks codes and leaks; this checks values on the runs where a
 * non-sticky failure was absorbed (e.g. by a fallback). */
START_TEST(training_that_survives_a_failure_computes_the_same_loss) {
  tfm_status *st = tfm_status_new();
  for (int kind = 0; kind < 3; kind++) {
    train_arg_t ref = {kind, NAN};
    uint64_t before = tfm_debug_alloc_count();
    ck_assert_int_eq(train_scenario(st, &ref), TFM_OK);
    uint64_t needed = tfm_debug_alloc_count() - before;
    for (uint64_t nth = 1; nth <= needed; nth++) {
      train_arg_t arg = {kind, NAN};
      tfm_status_clear(st);
      tfm_debug_fail_alloc_after(nth, 0);
      tfm_code code = train_scenario(st, &arg);
      tfm_debug_fail_alloc_after(0, 0);
      points_tried++;
      if (code == TFM_OK)
        ck_assert_msg(arg.loss == ref.loss, "optimizer %d, allocation %llu: loss %.9g, want %.9g", kind,
                      (unsigned long long)nth, arg.loss, ref.loss);
    }
  }
  tfm_status_delete(st);
}
END_TEST

/* ---- scenario: a bundle written and read back ---- */

static char tmpdir[1024];

static tfm_code bundle_scenario(tfm_status *st, void *arg) {
  (void)arg;
  char prefix[1100];
  snprintf(prefix, sizeof prefix, "%s/model.ckpt", tmpdir);
  shape_t s = shape_vector(6), s2 = shape_vector(2);
  tensor_t *a = tensor_new(TFM_FLOAT, &s, st);
  tensor_t *b = a ? tensor_new(TFM_STRING, &s2, st) : NULL;
  bundle_writer_t *w = NULL;
  bundle_reader_t *r = NULL;
  tensor_t *ra = NULL, *rb = NULL;
  if (b) {
    for (int i = 0; i < 6; i++) ((float *)a->data)[i] = (float)i - 2.5f;
    if (tensor_string_set(b, 0, "alpha", 5, st) == TFM_OK && tensor_string_set(b, 1, "be", 2, st) == TFM_OK)
      w = bundle_writer_new(prefix, st);
  }
  if (w && bundle_writer_add(w, "a", a, st) == TFM_OK && bundle_writer_add(w, "b", b, st) == TFM_OK &&
      bundle_writer_finish(w, st) == TFM_OK)
    r = bundle_reader_open(prefix, st);
  if (r) ra = bundle_reader_read(r, "a", st);
  if (ra) rb = bundle_reader_read(r, "b", st);
  if (rb) {
    ck_assert_int_eq(memcmp(ra->data, a->data, 6 * sizeof(float)), 0);
    ck_assert_int_eq(bundle_reader_num_tensors(r), 2);
  }
  tfm_code code = tfm_status_code(st);
  if (ra) tensor_unref(ra);
  if (rb) tensor_unref(rb);
  bundle_reader_close(r);
  bundle_writer_free(w);
  if (a) tensor_unref(a);
  if (b) tensor_unref(b);
  return code;
}

START_TEST(allocation_failures_in_bundle_write_and_read) {
  test_tmpdir(tmpdir, sizeof tmpdir);
  sweep("bundle", bundle_scenario, NULL);
}
END_TEST

/* ---- scenario: the `checkpoint` file ---- */

static tfm_code ckstate_scenario(tfm_status *st, void *arg) {
  (void)arg;
  checkpoint_state_t cs = CHECKPOINT_STATE_INIT, back = CHECKPOINT_STATE_INIT;
  tfm_code code = checkpoint_state_push(&cs, "m-1", 1.0, st);
  if (code == TFM_OK) code = checkpoint_state_push(&cs, "m-2", 2.0, st);
  if (code == TFM_OK) code = checkpoint_state_write(tmpdir, &cs, st);
  if (code == TFM_OK) code = checkpoint_state_read(tmpdir, &back, st);
  if (code == TFM_OK) {
    ck_assert_str_eq(back.model_checkpoint_path, "m-2");
    ck_assert_int_eq(back.num_paths, 2);
  }
  checkpoint_state_free(&cs);
  checkpoint_state_free(&back);
  return code;
}

START_TEST(allocation_failures_in_checkpoint_state) {
  test_tmpdir(tmpdir, sizeof tmpdir);
  sweep("checkpoint_state", ckstate_scenario, NULL);
}
END_TEST

/* ---- write failures ---- */

/* Saves v (a 3-vector of `fill`) as checkpoint `name` in dir and records it in the
 * `checkpoint` file: what a Saver does, directly over the writers. */
static tfm_code save_checkpoint(const char *dir, const char *name, float fill, tfm_status *st) {
  char prefix[1200];
  snprintf(prefix, sizeof prefix, "%s/%s", dir, name);
  shape_t s = shape_vector(3);
  tensor_t *t = tensor_new(TFM_FLOAT, &s, st);
  if (!t) return tfm_status_code(st);
  for (int i = 0; i < 3; i++) ((float *)t->data)[i] = fill;
  bundle_writer_t *w = bundle_writer_new(prefix, st);
  tfm_code code = w ? bundle_writer_add(w, "v", t, st) : tfm_status_code(st);
  if (code == TFM_OK) code = bundle_writer_finish(w, st);
  bundle_writer_free(w);
  tensor_unref(t);
  checkpoint_state_t cs = CHECKPOINT_STATE_INIT;
  if (code == TFM_OK) {
    code = checkpoint_state_read(dir, &cs, st);
    if (code == TFM_NOT_FOUND) code = status_ok(st);
  }
  if (code == TFM_OK) code = checkpoint_state_push(&cs, name, 0, st);
  if (code == TFM_OK) code = checkpoint_state_write(dir, &cs, st);
  checkpoint_state_free(&cs);
  return code;
}

/* The checkpoint named by dir/checkpoint must restore with every element == fill. */
static void assert_latest(const char *dir, const char *want_name, float fill) {
  tfm_status *st = tfm_status_new();
  checkpoint_state_t cs = CHECKPOINT_STATE_INIT;
  ck_assert_msg(checkpoint_state_read(dir, &cs, st) == TFM_OK, "%s", tfm_status_message(st));
  ck_assert_str_eq(cs.model_checkpoint_path, want_name);
  char prefix[1200];
  snprintf(prefix, sizeof prefix, "%s/%s", dir, cs.model_checkpoint_path);
  bundle_reader_t *r = bundle_reader_open(prefix, st);
  ck_assert_msg(r != NULL, "%s", tfm_status_message(st));
  tensor_t *t = bundle_reader_read(r, "v", st);
  ck_assert_msg(t != NULL, "%s", tfm_status_message(st));
  for (int i = 0; i < 3; i++) ck_assert(((float *)t->data)[i] == fill);
  tensor_unref(t);
  bundle_reader_close(r);
  checkpoint_state_free(&cs);
  tfm_status_delete(st);
}

static int count_tmp_files(const char *dir) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -c '\\.tmp'", dir);
  FILE *p = popen(cmd, "r");
  int n = 0;
  if (p) {
    if (fscanf(p, "%d", &n) != 1) n = -1;
    pclose(p);
  }
  return n;
}

static void write_failures(int err) {
  test_tmpdir(tmpdir, sizeof tmpdir);
  tfm_status *st = tfm_status_new();
  ck_assert_int_eq(save_checkpoint(tmpdir, "model.ckpt-1", 1.0f, st), TFM_OK);
  uint64_t before = tfm_debug_file_op_count();
  ck_assert_int_eq(save_checkpoint(tmpdir, "model.ckpt-2", 2.0f, st), TFM_OK);
  uint64_t ops = tfm_debug_file_op_count() - before;
  ck_assert(ops >= 6); /* data write+fsync+rename, index..., checkpoint file... */
  assert_latest(tmpdir, "model.ckpt-2", 2.0f);
  int64_t base = tfm_debug_bytes_in_use();
  for (uint64_t nth = 1; nth <= ops; nth++) {
    tfm_status_clear(st);
    tfm_debug_fail_file_op_after(nth, err);
    tfm_code code = save_checkpoint(tmpdir, "model.ckpt-3", 3.0f, st);
    tfm_debug_fail_file_op_after(0, 0);
    points_tried++;
    ck_assert_int_eq(tfm_debug_bytes_in_use(), base);
    ck_assert_int_eq(count_tmp_files(tmpdir), 0);
    if (code == TFM_OK) {
      /* Only a failed fsync of the directory after the last rename can leave the
       * new checkpoint in place; then it is complete. */
      assert_latest(tmpdir, "model.ckpt-3", 3.0f);
    } else {
      ck_assert_msg(strstr(tfm_status_message(st), tmpdir) != NULL, "op %llu: message names no file: %s",
                    (unsigned long long)nth, tfm_status_message(st));
      ck_assert_msg(strstr(tfm_status_message(st), strerror(err)) != NULL, "op %llu: %s",
                    (unsigned long long)nth, tfm_status_message(st));
      if (err == ENOSPC) ck_assert_int_eq(tfm_status_code(st), TFM_RESOURCE_EXHAUSTED);
      /* The checkpoint file may name ckpt-3 only if its bundle is complete. */
      checkpoint_state_t cs = CHECKPOINT_STATE_INIT;
      ck_assert_msg(checkpoint_state_read(tmpdir, &cs, st) == TFM_OK, "%s", tfm_status_message(st));
      int named3 = strcmp(cs.model_checkpoint_path, "model.ckpt-3") == 0;
      checkpoint_state_free(&cs);
      assert_latest(tmpdir, named3 ? "model.ckpt-3" : "model.ckpt-2", named3 ? 3.0f : 2.0f);
    }
    /* Back to the state before the attempt. */
    ck_assert_int_eq(save_checkpoint(tmpdir, "model.ckpt-2", 2.0f, st), TFM_OK);
  }
  printf("write failures (%s): %llu file operations failed in turn\n", strerror(err),
         (unsigned long long)ops);
  tfm_status_delete(st);
}

START_TEST(disk_full_during_a_save_keeps_the_previous_checkpoint) { write_failures(ENOSPC); }
END_TEST
START_TEST(io_error_during_a_save_keeps_the_previous_checkpoint) { write_failures(EIO); }
END_TEST

/* ---- the Saver: allocation failures in save + restore, write failures in save ---- */

typedef struct saver_model {
  tfm_graph *g;
  tfm_variable *v;
  tfm_output *val; /* float placeholder */
  tfm_op *set;
  tfm_saver *saver;
  tfm_session *s;
} saver_model_t;

static void saver_model_free(saver_model_t *m) {
  tfm_session_delete(m->s);
  tfm_saver_delete(m->saver);
  tfm_graph_delete(m->g);
  memset(m, 0, sizeof *m);
}

/* v (5 floats) = val broadcast; a Saver over it. */
static tfm_code saver_model(saver_model_t *m, tfm_status *st) {
  memset(m, 0, sizeof *m);
  const int64_t dv = 5;
  m->g = tfm_graph_new(st);
  if (!m->g) return tfm_status_code(st);
  tfm_output *z = tfm_zeros(m->g, &dv, 1, TFM_FLOAT, "z", st);
  m->v = z ? tfm_variable_new(m->g, z, 1, "v", st) : NULL;
  m->val = m->v ? tfm_placeholder(m->g, TFM_FLOAT, NULL, 0, "val", st) : NULL;
  tfm_output *nv = m->val ? tfm_add(m->g, tfm_zeros(m->g, &dv, 1, TFM_FLOAT, NULL, st), m->val, NULL, st) : NULL;
  tfm_output *a = nv ? tfm_assign(m->g, m->v, nv, "set", st) : NULL;
  m->set = a ? tfm_output_op(a) : NULL;
  m->saver = m->set ? tfm_saver_new(m->g, NULL, NULL, 0, 2, 0, st) : NULL;
  m->s = m->saver ? tfm_session_new(m->g, st) : NULL;
  return tfm_status_code(st);
}

static tfm_code saver_set(saver_model_t *m, float value, tfm_status *st) {
  tfm_tensor *t = tfm_tensor_new(TFM_FLOAT, NULL, 0, st);
  if (!t) return tfm_status_code(st);
  *(float *)tfm_tensor_data(t) = value;
  tfm_code c = tfm_session_run(m->s, &m->val, &t, 1, NULL, NULL, 0, &m->set, 1, st);
  tfm_tensor_release(t);
  return c;
}

/* Restores the latest checkpoint of tmpdir into a fresh model; *value = v[0]
 * (all elements checked equal). */
static tfm_code restore_latest(float *value, char *latest, size_t cap, tfm_status *st) {
  saver_model_t m;
  tfm_code c = saver_model(&m, st);
  if (c == TFM_OK) c = tfm_latest_checkpoint(tmpdir, latest, cap, st);
  if (c == TFM_OK) c = tfm_saver_restore(m.saver, m.s, latest, st);
  tfm_tensor *t = c == TFM_OK ? tfm_session_variable_value(m.s, m.v, st) : NULL;
  if (t) {
    const float *p = tfm_tensor_data(t);
    for (int i = 1; i < 5; i++) ck_assert(p[i] == p[0]);
    *value = p[0];
    tfm_tensor_release(t);
  }
  c = tfm_status_code(st);
  saver_model_free(&m);
  return c;
}

/* Model, value, save (step 7), then restore into another model and compare. */
static tfm_code saver_scenario(tfm_status *st, void *arg) {
  (void)arg;
  saver_model_t m;
  char prefix[1200], latest[1200];
  snprintf(prefix, sizeof prefix, "%s/model.ckpt", tmpdir);
  tfm_code c = saver_model(&m, st);
  if (c == TFM_OK) c = saver_set(&m, 7.5f, st);
  if (c == TFM_OK) c = tfm_saver_save(m.saver, m.s, prefix, 7, 1, NULL, 0, st);
  saver_model_free(&m);
  float got = 0;
  if (c == TFM_OK) c = restore_latest(&got, latest, sizeof latest, st);
  if (c == TFM_OK) ck_assert(got == 7.5f);
  return c;
}

START_TEST(allocation_failures_in_saver_save_and_restore) {
  test_tmpdir(tmpdir, sizeof tmpdir);
  sweep("saver", saver_scenario, NULL);
}
END_TEST

static void saver_write_failures(int err) {
  test_tmpdir(tmpdir, sizeof tmpdir);
  tfm_status *st = tfm_status_new();
  saver_model_t m;
  char prefix[1200], latest[1200], want[1300];
  snprintf(prefix, sizeof prefix, "%s/model.ckpt", tmpdir);
  ck_assert_int_eq(saver_model(&m, st), TFM_OK);
  ck_assert_int_eq(saver_set(&m, 1.0f, st), TFM_OK);
  ck_assert_msg(tfm_saver_save(m.saver, m.s, prefix, 1, 1, NULL, 0, st) == TFM_OK, "%s", tfm_status_message(st));
  ck_assert_int_eq(saver_set(&m, 2.0f, st), TFM_OK);
  uint64_t before = tfm_debug_file_op_count();
  ck_assert_int_eq(tfm_saver_save(m.saver, m.s, prefix, 2, 1, NULL, 0, st), TFM_OK);
  uint64_t ops = tfm_debug_file_op_count() - before;
  ck_assert(ops >= 6);
  snprintf(want, sizeof want, "%s-2", prefix);
  for (uint64_t nth = 1; nth <= ops; nth++) {
    ck_assert_int_eq(saver_set(&m, 3.0f, st), TFM_OK);
    tfm_status_clear(st);
    tfm_debug_fail_file_op_after(nth, err);
    tfm_code code = tfm_saver_save(m.saver, m.s, prefix, 3, 1, NULL, 0, st);
    tfm_debug_fail_file_op_after(0, 0);
    points_tried++;
    float got = -1;
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", tfm_status_message(st));
    ck_assert_int_eq(count_tmp_files(tmpdir), 0);
    ck_assert_msg(restore_latest(&got, latest, sizeof latest, st) == TFM_OK, "op %llu: %s",
                  (unsigned long long)nth, tfm_status_message(st));
    if (code == TFM_OK) {
      ck_assert(got == 3.0f); /* only a failed directory fsync at the very end lets it succeed */
    } else {
      ck_assert_msg(strstr(msg, tmpdir) != NULL, "op %llu: message names no file: %s",
                    (unsigned long long)nth, msg);
      ck_assert_msg(strstr(msg, strerror(err)) != NULL, "op %llu: %s", (unsigned long long)nth, msg);
      /* Either the previous checkpoint, or (if only the last step failed) the new one,
       * complete: never a mix, never a missing one. */
      ck_assert_msg((strcmp(latest, want) == 0 && got == 2.0f) || got == 3.0f,
                    "op %llu failed (%s): latest '%s' holds %g", (unsigned long long)nth, msg, latest, got);
    }
    /* Back to step 2 as the latest. */
    ck_assert_int_eq(saver_set(&m, 2.0f, st), TFM_OK);
    ck_assert_int_eq(tfm_saver_save(m.saver, m.s, prefix, 2, 1, NULL, 0, st), TFM_OK);
  }
  printf("saver write failures (%s): %llu file operations failed in turn\n", strerror(err),
         (unsigned long long)ops);
  saver_model_free(&m);
  tfm_status_delete(st);
}

START_TEST(disk_full_during_saver_save_keeps_the_previous_checkpoint) { saver_write_failures(ENOSPC); }
END_TEST
START_TEST(io_error_during_saver_save_keeps_the_previous_checkpoint) { saver_write_failures(EIO); }
END_TEST

static void print_total(void) {
  printf("fault-injection points tried: %llu\n", points_tried);
}

#define ADD(fn)                        \
  do {                                 \
    TCase *tc = tcase_create(#fn);     \
    tcase_set_timeout(tc, 900);        \
    tcase_add_test(tc, fn);            \
    suite_add_tcase(s, tc);            \
  } while (0)

/* One case per TCase so that CK_RUN_CASE=<test name> runs one sweep (e.g. under
 * gdb with `break mem_injected_failure`). */
int main(void) {
  Suite *s = suite_create("faults");
  ADD(allocation_failures_in_gradient_descent_training);
  ADD(allocation_failures_in_momentum_training);
  ADD(allocation_failures_in_adam_training);
  ADD(training_that_survives_a_failure_computes_the_same_loss);
  ADD(allocation_failures_in_bundle_write_and_read);
  ADD(allocation_failures_in_checkpoint_state);
  ADD(disk_full_during_a_save_keeps_the_previous_checkpoint);
  ADD(io_error_during_a_save_keeps_the_previous_checkpoint);
  ADD(allocation_failures_in_saver_save_and_restore);
  ADD(disk_full_during_saver_save_keeps_the_previous_checkpoint);
  ADD(io_error_during_saver_save_keeps_the_previous_checkpoint);
  SRunner *sr = srunner_create(s);
  /* No fork: the count of points tried is kept across cases. */
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, CK_NORMAL);
  print_total();
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
