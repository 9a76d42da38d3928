/* Crash safety of saves: a child process saves checkpoints in a loop (two
 * variables set to the step number, Saver with max_to_keep 3) and the parent
 * SIGKILLs it at a random moment, many times over. After each kill,
 * tfm_latest_checkpoint must name a complete checkpoint that restores, with both
 * variables equal to the step in its name, and the next child resumes from it.
 * The child is this program re-executed (`--child DIR`), so that no library state
 * (thread pools, locks) crosses a fork.
 * Killed saves leave temporaries ("<file>.tmpXXXXXX"); saves sweep those older than
 * the library's rule (one hour, docs/reliability.md). After each kill the parent
 * ages what is there by a day (their writer is dead) instead of waiting, and after
 * a trial in which the child saved, none of them may remain: only the at most two
 * temporaries (data and index) of the save that was killed.
 * Trials: TFM_CRASH_TRIALS (default 12 here; scripts/crash-trials.sh runs 500). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io_testutil.h"
#include "tfmini/tfmini.h"

#define NV 65536 /* 256 KiB: a save takes long enough to be killed inside */
#define NW 1000

typedef struct model {
  tfm_graph *g;
  tfm_variable *v, *w;
  tfm_output *step; /* float placeholder */
  tfm_op *set;      /* v = fill(step), w = fill(-step) */
  tfm_saver *saver;
  tfm_session *s;
} model_t;

/* The model both processes build: same names, so the parent can restore. */
static int build(model_t *m, tfm_status *st) {
  memset(m, 0, sizeof *m);
  m->g = tfm_graph_new(st);
  const int64_t dv = NV, dw = NW;
  m->v = tfm_variable_new(m->g, tfm_zeros(m->g, &dv, 1, TFM_FLOAT, "v_init", st), 1, "v", st);
  m->w = tfm_variable_new(m->g, tfm_zeros(m->g, &dw, 1, TFM_FLOAT, "w_init", st), 1, "w", st);
  m->step = tfm_placeholder(m->g, TFM_FLOAT, NULL, 0, "step", st);
  if (tfm_status_code(st) != TFM_OK) return 0;
  tfm_output *nv = tfm_add(m->g, tfm_zeros(m->g, &dv, 1, TFM_FLOAT, NULL, st), m->step, NULL, st);
  tfm_output *nw = tfm_sub(m->g, tfm_zeros(m->g, &dw, 1, TFM_FLOAT, NULL, st), m->step, NULL, st);
  tfm_op *ops[2] = {NULL, NULL};
  tfm_output *a = tfm_assign(m->g, m->v, nv, NULL, st), *b = tfm_assign(m->g, m->w, nw, NULL, st);
  if (!a || !b) return 0;
  ops[0] = tfm_output_op(a), ops[1] = tfm_output_op(b);
  m->set = tfm_group(m->g, ops, 2, "set", st);
  m->saver = m->set ? tfm_saver_new(m->g, NULL, NULL, 0, 3, 0, st) : NULL;
  m->s = m->saver ? tfm_session_new(m->g, st) : NULL;
  return m->s != NULL;
}

static void release(model_t *m) {
  tfm_session_delete(m->s);
  tfm_saver_delete(m->saver);
  tfm_graph_delete(m->g);
}

/* The step of a checkpoint path ".../model.ckpt-S". */
static long step_of(const char *path) {
  const char *dash = strrchr(path, '-');
  return dash ? strtol(dash + 1, NULL, 10) : -1;
}

/* Child: resume from the latest checkpoint (if any) and save steps forever. */
static int child_main(const char *dir) {
  tfm_status *st = tfm_status_new();
  model_t m;
  if (!build(&m, st)) {
    fprintf(stderr, "child: %s\n", tfm_status_message(st));
    return 2;
  }
  char latest[4096], prefix[4096];
  long step = 0;
  if (tfm_latest_checkpoint(dir, latest, sizeof latest, st) == TFM_OK) step = step_of(latest);
  snprintf(prefix, sizeof prefix, "%s/model.ckpt", dir);
  for (long i = 0; i < 100000; i++) {
    step++;
    tfm_tensor *sv = tfm_tensor_new(TFM_FLOAT, NULL, 0, st);
    *(float *)tfm_tensor_data(sv) = (float)step;
    tfm_code c = tfm_session_run(m.s, &m.step, &sv, 1, NULL, NULL, 0, &m.set, 1, st);
    tfm_tensor_release(sv);
    if (c == TFM_OK) c = tfm_saver_save(m.saver, m.s, prefix, step, 0, NULL, 0, st);
    if (c != TFM_OK) {
      fprintf(stderr, "child: step %ld: %s\n", step, tfm_status_message(st));
      return 3;
    }
  }
  release(&m);
  tfm_status_delete(st);
  return 0;
}

/* Parent's check after a kill: the latest checkpoint restores and is consistent. */
static long verify_latest(const char *dir, tfm_status *st) {
  char latest[4096];
  ck_assert_msg(tfm_latest_checkpoint(dir, latest, sizeof latest, st) == TFM_OK, "%s", tfm_status_message(st));
  long step = step_of(latest);
  ck_assert_msg(step > 0, "latest checkpoint '%s' has no step", latest);
  model_t m;
  ck_assert_msg(build(&m, st), "%s", tfm_status_message(st));
  ck_assert_msg(tfm_saver_restore(m.saver, m.s, latest, st) == TFM_OK, "restoring '%s': %s", latest,
                tfm_status_message(st));
  tfm_tensor *v = tfm_session_variable_value(m.s, m.v, st), *w = tfm_session_variable_value(m.s, m.w, st);
  ck_assert(v && w);
  const float *pv = tfm_tensor_data(v), *pw = tfm_tensor_data(w);
  for (int i = 0; i < NV; i++)
    ck_assert_msg(pv[i] == (float)step, "%s: v[%d] = %g, want %ld", latest, i, pv[i], step);
  for (int i = 0; i < NW; i++)
    ck_assert_msg(pw[i] == -(float)step, "%s: w[%d] = %g, want %ld", latest, i, pw[i], -step);
  tfm_tensor_release(v);
  tfm_tensor_release(w);
  release(&m);
  return step;
}

/* Past the library's rule for stale temporaries (FILE_TMP_STALE_SECONDS, 1 hour). */
#define AGED_SECONDS (24 * 3600)

/* Temporaries of saves in dir: how many, and (*aged) how many are older than
 * half of AGED_SECONDS, i.e. were aged by age_temporaries. */
static int count_temporaries(const char *dir, int *aged) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  int n = 0;
  *aged = 0;
  time_t now = time(NULL);
  struct stat sb;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (strstr(e->d_name, ".tmp") && fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
      n++;
      *aged += sb.st_mtime < now - AGED_SECONDS / 2;
    }
  closedir(d);
  return n;
}

/* Sets every temporary in dir a day back; returns how many there are. */
static int age_temporaries(const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  struct timespec ts[2];
  clock_gettime(CLOCK_REALTIME, &ts[0]);
  ts[0].tv_sec -= AGED_SECONDS;
  ts[1] = ts[0];
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (strstr(e->d_name, ".tmp")) n += utimensat(dirfd(d), e->d_name, ts, AT_SYMLINK_NOFOLLOW) == 0;
  closedir(d);
  return n;
}

static char self_exe[4096];

static pid_t spawn_child(const char *dir) {
  pid_t pid = fork();
  if (pid == 0) {
    execl(self_exe, self_exe, "--child", dir, (char *)NULL);
    _exit(127);
  }
  return pid;
}

static int trials_done, trials_with_progress;

START_TEST(latest_checkpoint_survives_sigkill_during_saves) {
  char dir[1024];
  test_tmpdir(dir, sizeof dir);
  const char *env = getenv("TFM_CRASH_TRIALS");
  int trials = env ? atoi(env) : 12;
  tfm_status *st = tfm_status_new();
  unsigned seed = (unsigned)time(NULL);
  printf("seed %u\n", seed);
  srand(seed);
  /* A first child runs until one checkpoint exists; how long that takes (start-up
   * and one save, fsyncs included) sets the range of the random kill times. */
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = spawn_child(dir);
  char latest[4096];
  for (int i = 0; i < 20000 && tfm_latest_checkpoint(dir, latest, sizeof latest, st) != TFM_OK; i++) usleep(1000);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  long first_us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
  printf("first checkpoint after %ld us\n", first_us);
  long last = verify_latest(dir, st);
  int stale = age_temporaries(dir), swept = 0, most_left = 0;
  for (int t = 0; t < trials; t++) {
    pid = spawn_child(dir);
    ck_assert(pid > 0);
    /* Anywhere from before the first save (start-up: exec, graph, session,
     * reading `checkpoint`) to a few saves later. */
    usleep((useconds_t)(rand() % (3 * first_us + 1)));
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "trial %d: the child ended by itself (status %d)", t, status);
    long step = verify_latest(dir, st);
    ck_assert_msg(step >= last, "trial %d: latest went back from %ld to %ld", t, last, step);
    int aged, left = count_temporaries(dir, &aged);
    if (step > last) {
      trials_with_progress++;
      ck_assert_msg(aged == 0, "trial %d: %d of %d stale temporaries survived the child's saves", t, aged, stale);
      ck_assert_msg(left <= 2, "trial %d: %d temporaries left by one killed save", t, left);
      swept += stale;
    }
    if (left > most_left) most_left = left;
    stale = age_temporaries(dir);
    last = step;
    trials_done++;
  }
  int aged, left = count_temporaries(dir, &aged);
  printf("kill trials survived: %d (%d of them after new checkpoints), last step %ld; "
         "temporaries of killed saves: %d swept by later saves, at most %d present after a trial, %d left\n",
         trials_done, trials_with_progress, last, swept, most_left, left);
  tfm_status_delete(st);
}
END_TEST

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--child") == 0) return child_main(argv[2]);
  ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
  if (n <= 0) return 1;
  self_exe[n] = '\0';
  Suite *s = suite_create("crash_safety");
  TCase *tc = tcase_create("kill");
  tcase_set_timeout(tc, 3600);
  tcase_add_test(tc, latest_checkpoint_survives_sigkill_during_saves);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
