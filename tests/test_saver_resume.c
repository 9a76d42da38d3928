/* saver_resume: a checkpoint resumes training exactly. For each optimizer: one
 * process trains N steps and saves; a fresh process (new graph, new session,
 * nothing initialised) restores and trains M more; the result is bit-identical to
 * N + M steps in one go (the reference), for the weights, the optimizer's slots
 * (<var>/Momentum, <var>/Adam, <var>/Adam_1, beta1_power, beta2_power) and
 * global_step. Also checks that those slots carry TensorFlow's names. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io_testutil.h"
#include "tfmini/tfmini.h"

#define N_STEPS 7
#define M_STEPS 5

typedef enum { GD, MOMENTUM, ADAM } opt_kind_t;

typedef struct net {
  tfm_graph *g;
  tfm_session *sess;
  tfm_saver *saver;
  tfm_op *train, *init;
  tfm_optimizer *opt;
} net_t;

static void must(tfm_status *st, const char *what) {
  if (tfm_status_code(st) != TFM_OK) {
    fprintf(stderr, "%s: %s\n", what, tfm_status_message(st));
    exit(3);
  }
}

/* A small regression: y = relu(x W1 + b1) W2 + b2, squared error. */
static void net_build(net_t *n, opt_kind_t kind, tfm_status *st) {
  static float xs[6 * 3], ys[6], w1[3 * 4], w2[4];
  for (int i = 0; i < 18; i++) xs[i] = (float)((i * 7) % 11) / 5.0f - 1.0f;
  for (int i = 0; i < 6; i++) ys[i] = (float)i * 0.5f - 1.0f;
  for (int i = 0; i < 12; i++) w1[i] = (float)((i * 5) % 7) / 10.0f - 0.3f;
  for (int i = 0; i < 4; i++) w2[i] = 0.25f * (float)(i + 1);
  n->g = tfm_graph_new(st);
  tfm_graph *g = n->g;
  const int64_t xd[2] = {6, 3}, yd[2] = {6, 1}, w1d[2] = {3, 4}, w2d[2] = {4, 1}, b1d = 4, b2d = 1;
  const float zeros[4] = {0};
  tfm_output *x = tfm_constant_f32(g, xs, xd, 2, "x", st), *y = tfm_constant_f32(g, ys, yd, 2, "y", st);
  tfm_variable *W1 = tfm_variable_new(g, tfm_constant_f32(g, w1, w1d, 2, NULL, st), 1, "W1", st);
  tfm_variable *b1 = tfm_variable_new(g, tfm_constant_f32(g, zeros, &b1d, 1, NULL, st), 1, "b1", st);
  tfm_variable *W2 = tfm_variable_new(g, tfm_constant_f32(g, w2, w2d, 2, NULL, st), 1, "W2", st);
  tfm_variable *b2 = tfm_variable_new(g, tfm_constant_f32(g, zeros, &b2d, 1, NULL, st), 1, "b2", st);
  must(st, "variables");
  tfm_output *h = tfm_relu(g, tfm_add(g, tfm_matmul(g, x, tfm_variable_value(W1), 0, 0, NULL, st),
                                      tfm_variable_value(b1), NULL, st), NULL, st);
  tfm_output *p = tfm_add(g, tfm_matmul(g, h, tfm_variable_value(W2), 0, 0, NULL, st), tfm_variable_value(b2), NULL, st);
  tfm_output *loss = tfm_reduce_sum(g, tfm_square(g, tfm_sub(g, p, y, NULL, st), NULL, st), NULL, 0, 0, "loss", st);
  tfm_variable *step = tfm_train_get_or_create_global_step(g, st);
  must(st, "model");
  n->opt = kind == GD ? tfm_optimizer_gradient_descent(0.01, st)
           : kind == MOMENTUM ? tfm_optimizer_momentum(0.01, 0.9, 0, st)
                              : tfm_optimizer_adam(0.01, 0.9, 0.999, 1e-8, st);
  n->train = tfm_optimizer_minimize(n->opt, g, loss, NULL, 0, step, "train", st);
  n->init = tfm_global_variables_initializer(g, st);
  n->saver = tfm_saver_new(g, NULL, NULL, 0, -1, 0, st);
  n->sess = tfm_session_new(g, st);
  must(st, "net");
}

static void net_free(net_t *n) {
  tfm_saver_delete(n->saver);
  tfm_session_delete(n->sess);
  tfm_optimizer_delete(n->opt);
  tfm_graph_delete(n->g);
}

static void net_train(net_t *n, int steps, tfm_status *st) {
  for (int i = 0; i < steps; i++) tfm_session_run(n->sess, NULL, NULL, 0, NULL, NULL, 0, &n->train, 1, st);
  must(st, "train");
}

/* Every variable's name and bytes, in graph order, into buf. */
static size_t net_dump(net_t *n, char *buf, size_t cap, tfm_status *st) {
  size_t at = 0;
  for (int i = 0; i < tfm_graph_num_variables(n->g); i++) {
    tfm_variable *v = tfm_graph_variable_at(n->g, i);
    tfm_tensor *t = tfm_session_variable_value(n->sess, v, st);
    must(st, tfm_variable_name(v));
    size_t len = strlen(tfm_variable_name(v)) + 1, nb = tfm_tensor_nbytes(t);
    if (at + len + nb > cap) exit(4);
    memcpy(buf + at, tfm_variable_name(v), len);
    memcpy(buf + at + len, tfm_tensor_data(t), nb);
    at += len + nb;
    tfm_tensor_release(t);
  }
  return at;
}

/* Runs fn in a child process; what it writes to the pipe is returned. */
static size_t in_child(void (*fn)(opt_kind_t, const char *, int), opt_kind_t kind, const char *dir, char *buf,
                       size_t cap) {
  int fds[2];
  ck_assert_int_eq(pipe(fds), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    fn(kind, dir, fds[1]);
    _exit(0);
  }
  close(fds[1]);
  size_t got = 0;
  for (ssize_t r; got < cap && (r = read(fds[0], buf + got, cap - got)) > 0;) got += (size_t)r;
  close(fds[0]);
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (status %d)", status);
  return got;
}

static void first_process(opt_kind_t kind, const char *dir, int fd) {
  tfm_status *st = tfm_status_new();
  net_t n;
  net_build(&n, kind, st);
  tfm_session_run(n.sess, NULL, NULL, 0, NULL, NULL, 0, &n.init, 1, st);
  net_train(&n, N_STEPS, st);
  char prefix[1200];
  snprintf(prefix, sizeof prefix, "%s/model.ckpt", dir);
  tfm_saver_save(n.saver, n.sess, prefix, N_STEPS, 0, NULL, 0, st);
  must(st, "save");
  (void)fd;
  net_free(&n);
  tfm_status_delete(st);
}

static void second_process(opt_kind_t kind, const char *dir, int fd) {
  tfm_status *st = tfm_status_new();
  net_t n;
  net_build(&n, kind, st); /* nothing initialised: everything comes from the checkpoint */
  char latest[1200];
  tfm_latest_checkpoint(dir, latest, sizeof latest, st);
  must(st, "latest_checkpoint");
  tfm_saver_restore(n.saver, n.sess, latest, st);
  must(st, "restore");
  net_train(&n, M_STEPS, st);
  static char buf[1 << 16];
  size_t len = net_dump(&n, buf, sizeof buf, st);
  if (write(fd, buf, len) != (ssize_t)len) exit(5);
  net_free(&n);
  tfm_status_delete(st);
}

static void check_resume(opt_kind_t kind, const char *const *slot_names, int n_slots) {
  char dir[1024];
  test_tmpdir(dir, sizeof dir);
  static char resumed[1 << 16], straight[1 << 16];
  in_child(first_process, kind, dir, resumed, sizeof resumed);
  size_t n_resumed = in_child(second_process, kind, dir, resumed, sizeof resumed);
  /* The reference: N + M steps in one go, in this process. */
  tfm_status *st = tfm_status_new();
  net_t n;
  net_build(&n, kind, st);
  for (int i = 0; i < n_slots; i++) {
    tfm_graph_variable_by_name(n.g, slot_names[i], st);
    ck_assert_msg(tfm_status_code(st) == TFM_OK, "no slot variable '%s'", slot_names[i]);
  }
  tfm_session_run(n.sess, NULL, NULL, 0, NULL, NULL, 0, &n.init, 1, st);
  static char initial[1 << 16];
  size_t n_initial = net_dump(&n, initial, sizeof initial, st);
  net_train(&n, N_STEPS + M_STEPS, st);
  size_t n_straight = net_dump(&n, straight, sizeof straight, st);
  ck_assert_uint_eq(n_resumed, n_straight);
  ck_assert_msg(memcmp(resumed, straight, n_straight) == 0, "resumed training differs from training in one go");
  ck_assert_msg(n_initial == n_straight && memcmp(initial, straight, n_straight) != 0, "training changed nothing");
  tfm_tensor *gs = tfm_session_variable_value(n.sess, tfm_graph_variable_by_name(n.g, "global_step", st), st);
  ck_assert_int_eq(*(int64_t *)tfm_tensor_data(gs), N_STEPS + M_STEPS);
  tfm_tensor_release(gs);
  net_free(&n);
  tfm_status_delete(st);
}

START_TEST(test_gradient_descent_resumes_bit_identical) {
  const char *slots[] = {"global_step"};
  check_resume(GD, slots, 1);
}
END_TEST

START_TEST(test_momentum_resumes_bit_identical) {
  const char *slots[] = {"W1/Momentum", "b1/Momentum", "W2/Momentum", "b2/Momentum", "global_step"};
  check_resume(MOMENTUM, slots, 5);
}
END_TEST

START_TEST(test_adam_resumes_bit_identical) {
  const char *slots[] = {"W1/Adam", "W1/Adam_1", "b2/Adam", "b2/Adam_1", "beta1_power", "beta2_power", "global_step"};
  check_resume(ADAM, slots, 7);
}
END_TEST

static Suite *resume_suite(void) {
  Suite *s = suite_create("saver_resume");
  TCase *tc = tcase_create("resume");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_gradient_descent_resumes_bit_identical);
  tcase_add_test(tc, test_momentum_resumes_bit_identical);
  tcase_add_test(tc, test_adam_resumes_bit_identical);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(resume_suite()); }
