/* Checkpoint throughput and memory: tfm_saver_save (with its fsyncs) and
 * tfm_saver_restore of 256 MiB of float32 variables, beside a plain write()+fsync()
 * and read() of the same bytes, all in the same run and directory. Restores are
 * timed into a fresh session (every variable allocated) and over initialised
 * variables (verified, then read in place). Peak memory is the rise of the
 * process's peak RSS (VmHWM, reset through /proc/self/clear_refs) over its RSS at
 * the start of each phase. Phases alternate, best of `reps` each. Goals (issue 4): >= 70% of the plain figure both ways;
 * peak rise <= 16 MiB on top of the variables a phase must allocate.
 * Usage: bench_checkpoint [dir] [MiB] [reps]   (defaults: ., 256, 5) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tfmini/tfmini.h"

#define N_VARS 16

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void must(tfm_status *st, const char *what) {
  if (tfm_status_code(st) != TFM_OK) {
    fprintf(stderr, "%s: %s\n", what, tfm_status_message(st));
    exit(1);
  }
}

/* VmRSS or VmHWM in MiB. */
static double proc_mib(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  double kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, field, strlen(field)) == 0) kb = atof(line + strlen(field) + 1);
  if (f) fclose(f);
  return kb / 1024.0;
}

static int reset_peak(void) {
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (!f) return 0;
  int ok = fputs("5", f) >= 0;
  return fclose(f) == 0 && ok;
}

typedef struct phase {
  double start_rss, best, peak_rise;
} phase_t;

static void phase_begin(phase_t *p) {
  reset_peak();
  p->start_rss = proc_mib("VmRSS:");
}

static void phase_end(phase_t *p, double t) {
  double rise = proc_mib("VmHWM:") - p->start_rss;
  if (t < p->best || p->best == 0) p->best = t;
  if (rise > p->peak_rise) p->peak_rise = rise;
}

static void write_all(int fd, const void *p, size_t n) {
  for (const char *c = p; n;) {
    ssize_t w = write(fd, c, n);
    if (w <= 0) exit(2);
    c += w, n -= (size_t)w;
  }
}

static void read_all(int fd, void *p, size_t n) {
  for (char *c = p; n;) {
    ssize_t r = read(fd, c, n);
    if (r <= 0) exit(2);
    c += r, n -= (size_t)r;
  }
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : ".";
  size_t mib = argc > 2 ? (size_t)atoi(argv[2]) : 256;
  int reps = argc > 3 ? atoi(argv[3]) : 5;
  size_t per = (mib << 20) / N_VARS, total = per * N_VARS;
  int64_t elems = (int64_t)(per / sizeof(float));
  char plain[4096], prefix[4096];
  snprintf(plain, sizeof plain, "%s/bench_checkpoint.plain", dir);
  snprintf(prefix, sizeof prefix, "%s/bench_checkpoint.ckpt", dir);

  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  tfm_output *init_value = tfm_placeholder(g, TFM_FLOAT, &elems, 1, "init_value", st);
  tfm_variable *vars[N_VARS];
  for (int i = 0; i < N_VARS; i++) {
    char name[32];
    snprintf(name, sizeof name, "layer%d/w", i);
    vars[i] = tfm_variable_new(g, init_value, 1, name, st);
  }
  tfm_saver *saver = tfm_saver_new(g, NULL, NULL, 0, 0, 0, st);
  must(st, "graph");

  tfm_session *sess = tfm_session_new(g, st);
  {
    tfm_tensor *v = tfm_tensor_new(TFM_FLOAT, &elems, 1, st);
    float *p = tfm_tensor_data(v);
    for (int64_t i = 0; i < elems; i++) p[i] = (float)(i % 1000) * 0.001f;
    for (int i = 0; i < N_VARS; i++) {
      tfm_op *init = tfm_variable_initializer(vars[i]);
      tfm_session_run(sess, &init_value, &v, 1, NULL, NULL, 0, &init, 1, st);
    }
    tfm_tensor_release(v);
    must(st, "init");
  }
  /* The plain baseline (the same bytes, written and read with nothing else) and
   * the saver alternate, so that both see the same machine load. */
  char *buf = malloc(total);
  for (size_t i = 0; i < total / 4; i++) ((float *)buf)[i] = (float)(i % 1000) * 0.001f;
  phase_t pw = {0}, pr = {0}, sv = {0}, rf = {0}, ri = {0};
  for (int r = 0; r < reps; r++) {
    phase_begin(&pw);
    double t0 = now();
    int fd = open(plain, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (int i = 0; i < N_VARS; i++) write_all(fd, buf + (size_t)i * per, per);
    fsync(fd);
    close(fd);
    phase_end(&pw, now() - t0);
    phase_begin(&sv);
    t0 = now();
    tfm_saver_save(saver, sess, prefix, -1, 0, NULL, 0, st);
    phase_end(&sv, now() - t0);
    must(st, "save");
    phase_begin(&pr);
    t0 = now();
    fd = open(plain, O_RDONLY);
    for (int i = 0; i < N_VARS; i++) read_all(fd, buf + (size_t)i * per, per);
    close(fd);
    phase_end(&pr, now() - t0);
    phase_begin(&ri);
    t0 = now();
    tfm_saver_restore(saver, sess, prefix, st);
    phase_end(&ri, now() - t0);
    must(st, "restore in place");
    tfm_session *fresh = tfm_session_new(g, st);
    phase_begin(&rf);
    t0 = now();
    tfm_saver_restore(saver, fresh, prefix, st);
    phase_end(&rf, now() - t0);
    must(st, "restore fresh");
    tfm_session_delete(fresh);
  }
  free(buf);
  unlink(plain);
  tfm_session_delete(sess);
  char path[4200];
  snprintf(path, sizeof path, "%s.index", prefix);
  unlink(path);
  snprintf(path, sizeof path, "%s.data-00000-of-00001", prefix);
  unlink(path);
  snprintf(path, sizeof path, "%s/checkpoint", dir);
  unlink(path);

  double mb = (double)total / (1 << 20);
  printf("checkpoint of %zu MiB in %d variables, best of %d, in %s:\n", mib, N_VARS, reps, dir);
  printf("  plain write+fsync  %7.3f s %7.0f MiB/s\n", pw.best, mb / pw.best);
  printf("  save (fsync)       %7.3f s %7.0f MiB/s  %5.0f%% of plain  peak +%.1f MiB\n", sv.best, mb / sv.best,
         100 * pw.best / sv.best, sv.peak_rise);
  printf("  plain read         %7.3f s %7.0f MiB/s\n", pr.best, mb / pr.best);
  printf("  restore, fresh     %7.3f s %7.0f MiB/s  %5.0f%% of plain  peak +%.1f MiB (variables %.0f MiB)\n",
         rf.best, mb / rf.best, 100 * pr.best / rf.best, rf.peak_rise, mb);
  printf("  restore, in place  %7.3f s %7.0f MiB/s  %5.0f%% of plain  peak +%.1f MiB\n", ri.best, mb / ri.best,
         100 * pr.best / ri.best, ri.peak_rise);
  int ok = pw.best / sv.best >= 0.7 && pr.best / rf.best >= 0.7 && sv.peak_rise <= 16 &&
           rf.peak_rise <= mb + 16 && ri.peak_rise <= 16;
  printf("  goal (>= 70%% of plain save and fresh restore; peak <= variables + 16 MiB): %s\n", ok ? "met" : "NOT met");
  tfm_saver_delete(saver);
  tfm_graph_delete(g);
  tfm_status_delete(st);
  return 0;
}
