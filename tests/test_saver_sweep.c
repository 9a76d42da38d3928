/* Sweeping what killed saves left (part of the saver suite): a save removes the
 * stale temporaries of the files it writes, "<file>.tmpXXXXXX" last modified
 * FILE_TMP_STALE_SECONDS or more ago and not locked by a live writer (the rules
 * are in lib/io/file.h), and leaves everything else alone. Files are aged with
 * utimensat instead of waiting; each case lists by hand what must go and stay. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"
#include "io/bundle.h"
#include "io/file.h"
#include "io/saver.h"
#include "io_testutil.h"
#include "tfmini/tfmini.h"

#define OK(st) ck_assert_msg(tfm_status_code(st) == TFM_OK, "%s", tfm_status_message(st))

/* Ages: comfortably past the rule, and comfortably inside it. */
#define STALE (FILE_TMP_STALE_SECONDS + 60)
#define FRESH (FILE_TMP_STALE_SECONDS - 60)

static void path_in(char *out, size_t cap, const char *dir, const char *name) {
  snprintf(out, cap, "%s/%s", dir, name);
}

/* Sets the access and modification times of dir/name (the link itself for a
 * symlink) to `seconds` ago. */
static void age(const char *dir, const char *name, int seconds) {
  char p[1400];
  path_in(p, sizeof p, dir, name);
  struct timespec ts[2];
  clock_gettime(CLOCK_REALTIME, &ts[0]);
  ts[0].tv_sec -= seconds;
  ts[1] = ts[0];
  ck_assert_msg(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) == 0, "utimensat '%s'", p);
}

/* A small regular file dir/name, `seconds` old. */
static void make_file(const char *dir, const char *name, int seconds) {
  char p[1400];
  path_in(p, sizeof p, dir, name);
  FILE *f = fopen(p, "wb");
  ck_assert_msg(f != NULL, "cannot create '%s'", p);
  fputs("half a checkpoint", f);
  fclose(f);
  age(dir, name, seconds);
}

static bool exists(const char *dir, const char *name) {
  char p[1400];
  path_in(p, sizeof p, dir, name);
  struct stat sb;
  return lstat(p, &sb) == 0;
}

typedef struct small {
  tfm_graph *g;
  tfm_saver *s;
  tfm_session *sess;
} small_t;

static void small_new(small_t *m, tfm_status *st) {
  m->g = tfm_graph_new(st);
  const int64_t two = 2;
  tfm_variable *v = tfm_variable_new(m->g, tfm_zeros(m->g, &two, 1, TFM_FLOAT, "v_init", st), 1, "v", st);
  m->s = v ? tfm_saver_new(m->g, NULL, NULL, 0, 3, 0, st) : NULL;
  m->sess = m->s ? tfm_session_new(m->g, st) : NULL;
  tfm_op *init = tfm_global_variables_initializer(m->g, st);
  OK(st);
  tfm_session_run(m->sess, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st);
  OK(st);
}

static void small_free(small_t *m) {
  tfm_session_delete(m->sess);
  tfm_saver_delete(m->s);
  tfm_graph_delete(m->g);
}

/* Temporaries of every file a Saver with prefix "model.ckpt" writes: the bundle
 * and .meta of any step (a killed save had another step than the next one), of
 * the step-less form, of another shard count, and the `checkpoint` file. */
static const char *const stale_owned[] = {
    "model.ckpt-1.index.tmpAbc123",
    "model.ckpt-1.data-00000-of-00001.tmpXyZ789",
    "model.ckpt-12.meta.tmp000000",
    "model.ckpt-3.data-00001-of-00002.tmpZZZZZZ",
    "model.ckpt.index.tmpaaaaaa",
    "model.ckpt.meta.tmpQ1w2E3",
    "checkpoint.tmpQwErTy",
};
#define N_STALE_OWNED (int)(sizeof stale_owned / sizeof *stale_owned)

START_TEST(test_save_removes_stale_temporaries_of_its_files) {
  char dir[1024], prefix[1100];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/model.ckpt", dir);
  for (int i = 0; i < N_STALE_OWNED; i++) make_file(dir, stale_owned[i], STALE);
  ck_assert_int_eq(count_files(dir, ".tmp"), N_STALE_OWNED);
  tfm_status *st = tfm_status_new();
  small_t m;
  small_new(&m, st);
  ck_assert_int_eq(tfm_saver_save(m.s, m.sess, prefix, 2, 1, NULL, 0, st), TFM_OK);
  for (int i = 0; i < N_STALE_OWNED; i++) ck_assert_msg(!exists(dir, stale_owned[i]), "'%s' is still there", stale_owned[i]);
  /* What is left is exactly the new checkpoint. */
  ck_assert_int_eq(count_files(dir, ".tmp"), 0);
  ck_assert(exists(dir, "model.ckpt-2.index") && exists(dir, "model.ckpt-2.data-00000-of-00001") &&
            exists(dir, "model.ckpt-2.meta") && exists(dir, "checkpoint"));
  ck_assert_int_eq(count_files(dir, ""), 4);
  /* A step-less save of the same prefix sweeps too. */
  make_file(dir, "model.ckpt-2.index.tmpAAAAAA", STALE);
  ck_assert_int_eq(tfm_saver_save(m.s, m.sess, prefix, -1, 0, NULL, 0, st), TFM_OK);
  ck_assert(!exists(dir, "model.ckpt-2.index.tmpAAAAAA"));
  small_free(&m);
  tfm_status_delete(st);
}
END_TEST

/* Names a save must not touch even when old: they are not "<one of its files>"
 * + ".tmp" + 6 characters of [A-Za-z0-9]. */
static const char *const not_owned[] = {
    "other.ckpt-1.index.tmpAbc123",      /* another prefix */
    "xmodel.ckpt-1.index.tmpAbc123",     /* another prefix ending like ours */
    "model.ckpt-1.index.tmpnotes",       /* a user's notes: 5 characters */
    "model.ckpt-1.index.tmpABCDEFG",     /* 7 characters */
    "model.ckpt-1.index.tmpABC-EF",      /* '-' is not mkstemp's */
    "model.ckpt-1.index.tmp",            /* nothing after .tmp */
    "model.ckpt-1.index.TMPABCDEF",      /* case matters */
    "model.ckpt-x.index.tmpABCDEF",      /* not a step */
    "model.ckpt-.index.tmpABCDEF",       /* empty step */
    "model.ckpt-1.indexes.tmpABCDEF",    /* not a bundle file */
    "model.ckpt-1.data-0-of-1.tmpABCDEF", /* not bundle_data_path's form */
    "model.ckpt-1.index",                /* a checkpoint file itself */
    "model.ckpt-1.index.tmpABCDEF.bak",  /* something after */
    "checkpoints.tmpABCDEF",             /* not the `checkpoint` file */
    "events.out.tfevents.1.host.tmpABCDEF",
};
#define N_NOT_OWNED (int)(sizeof not_owned / sizeof *not_owned)

START_TEST(test_save_leaves_alone_what_is_not_a_stale_temporary_of_its_files) {
  char dir[1024], outside[1024], prefix[1100], p[1400], q[1400];
  test_tmpdir(dir, sizeof dir);
  test_tmpdir(outside, sizeof outside);
  snprintf(prefix, sizeof prefix, "%s/model.ckpt", dir);
  for (int i = 0; i < N_NOT_OWNED; i++) make_file(dir, not_owned[i], STALE);
  /* Matching names that are not stale: younger than the rule; a directory; a
   * symlink to a file outside the directory (old itself, its target too). */
  make_file(dir, "model.ckpt-1.index.tmpFresh1", FRESH);
  make_file(dir, "checkpoint.tmpFresh2", FRESH);
  path_in(p, sizeof p, dir, "model.ckpt-4.index.tmpDirDir");
  ck_assert_int_eq(mkdir(p, 0755), 0);
  age(dir, "model.ckpt-4.index.tmpDirDir", STALE);
  make_file(outside, "precious", STALE);
  path_in(p, sizeof p, outside, "precious");
  path_in(q, sizeof q, dir, "model.ckpt-5.index.tmpLinkAB");
  ck_assert_int_eq(symlink(p, q), 0);
  age(dir, "model.ckpt-5.index.tmpLinkAB", STALE);
  /* A live writer's temporary, synced (its data fd closed) but not yet renamed,
   * and old: a save that stalled. Its lock keeps it. */
  tfm_status *st = tfm_status_new();
  file_tmp_t live = FILE_TMP_INIT;
  path_in(p, sizeof p, dir, "model.ckpt-6.data-00000-of-00001");
  ck_assert_int_eq(file_tmp_open(&live, p, st), TFM_OK);
  ck_assert_int_eq(file_tmp_write(&live, "x", 1, st), TFM_OK);
  ck_assert_int_eq(file_tmp_sync(&live, st), TFM_OK);
  char live_name[256];
  snprintf(live_name, sizeof live_name, "%s", strrchr(live.tmp_path, '/') + 1);
  age(dir, live_name, STALE);

  int before = count_files(dir, "");
  small_t m;
  small_new(&m, st);
  ck_assert_int_eq(tfm_saver_save(m.s, m.sess, prefix, 7, 0, NULL, 0, st), TFM_OK);
  for (int i = 0; i < N_NOT_OWNED; i++) ck_assert_msg(exists(dir, not_owned[i]), "'%s' was removed", not_owned[i]);
  ck_assert(exists(dir, "model.ckpt-1.index.tmpFresh1") && exists(dir, "checkpoint.tmpFresh2"));
  ck_assert(exists(dir, "model.ckpt-4.index.tmpDirDir") && exists(dir, "model.ckpt-5.index.tmpLinkAB"));
  ck_assert(exists(outside, "precious"));
  ck_assert_msg(exists(dir, live_name), "a live writer's temporary '%s' was removed", live_name);
  /* Only the new checkpoint was added: its index, data and the `checkpoint` file. */
  ck_assert_int_eq(count_files(dir, ""), before + 3);

  /* The writer finishes: its temporary becomes the file, nothing else changes. */
  ck_assert_int_eq(file_tmp_rename(&live, st), TFM_OK);
  file_tmp_discard(&live);
  ck_assert(!exists(dir, live_name) && exists(dir, "model.ckpt-6.data-00000-of-00001"));
  small_free(&m);
  tfm_status_delete(st);
}
END_TEST

/* The same writer killed: the lock went with its fds, so once old its temporary
 * is swept. Closing both fds without unlinking is what a kill does. */
START_TEST(test_temporary_of_a_dead_writer_is_swept_once_old) {
  char dir[1024], prefix[1100], p[1400];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/model.ckpt", dir);
  tfm_status *st = tfm_status_new();
  file_tmp_t dead = FILE_TMP_INIT;
  path_in(p, sizeof p, dir, "model.ckpt-3.index");
  ck_assert_int_eq(file_tmp_open(&dead, p, st), TFM_OK);
  ck_assert_int_ge(dead.lock_fd, 0);
  char name[256];
  snprintf(name, sizeof name, "%s", strrchr(dead.tmp_path, '/') + 1);
  close(dead.fd);
  close(dead.lock_fd);
  dead.fd = dead.lock_fd = -1;
  /* Not yet old: kept. */
  small_t m;
  small_new(&m, st);
  ck_assert_int_eq(tfm_saver_save(m.s, m.sess, prefix, 4, 0, NULL, 0, st), TFM_OK);
  ck_assert(exists(dir, name));
  age(dir, name, STALE);
  ck_assert_int_eq(tfm_saver_save(m.s, m.sess, prefix, 5, 0, NULL, 0, st), TFM_OK);
  ck_assert(!exists(dir, name));
  ck_assert_int_eq(count_files(dir, ".tmp"), 0);
  /* The writer's record still holds the name: forget it without unlinking. */
  mem_free(dead.tmp_path);
  dead.tmp_path = NULL;
  file_tmp_discard(&dead);
  small_free(&m);
  tfm_status_delete(st);
}
END_TEST

/* The SaveV2 op (run by a graph's save/ ops or a user) sweeps its own prefix's
 * bundle files only: neither other steps nor the `checkpoint` file, which it
 * does not write. */
START_TEST(test_save_op_sweeps_its_prefix_only) {
  char dir[1024], prefix[1100];
  test_tmpdir(dir, sizeof dir);
  snprintf(prefix, sizeof prefix, "%s/by_ops", dir);
  make_file(dir, "by_ops.index.tmpAAAAAA", STALE);
  make_file(dir, "by_ops.data-00000-of-00001.tmpBBBBBB", STALE);
  make_file(dir, "by_ops-1.index.tmpCCCCCC", STALE);
  make_file(dir, "by_ops.meta.tmpDDDDDD", STALE);
  make_file(dir, "checkpoint.tmpEEEEEE", STALE);
  make_file(dir, "by_ops.index.tmpFFFFFF", FRESH);
  tfm_status *st = tfm_status_new();
  small_t m;
  small_new(&m, st);
  saver_def_t def;
  saver_get_def(m.s, &def);
  tfm_output *fname = tfm_graph_get_tensor_by_name(m.g, def.filename_tensor_name, st);
  tfm_output *save = tfm_graph_get_tensor_by_name(m.g, def.save_tensor_name, st);
  OK(st);
  tfm_tensor *feed = tfm_tensor_new(TFM_STRING, NULL, 0, st), *out = NULL;
  tfm_tensor_string_set(feed, 0, prefix, strlen(prefix), st);
  tfm_session_run(m.sess, &fname, &feed, 1, &save, &out, 1, NULL, 0, st);
  OK(st);
  ck_assert(!exists(dir, "by_ops.index.tmpAAAAAA") && !exists(dir, "by_ops.data-00000-of-00001.tmpBBBBBB"));
  ck_assert(exists(dir, "by_ops-1.index.tmpCCCCCC") && exists(dir, "by_ops.meta.tmpDDDDDD") &&
            exists(dir, "checkpoint.tmpEEEEEE") && exists(dir, "by_ops.index.tmpFFFFFF"));
  ck_assert(exists(dir, "by_ops.index") && exists(dir, "by_ops.data-00000-of-00001"));
  /* Called directly it reports what it removed: nothing is left to remove. */
  ck_assert_int_eq(bundle_sweep_stale_tmps(prefix), 0);
  make_file(dir, "by_ops.data-00000-of-00001.tmpGGGGGG", STALE);
  ck_assert_int_eq(bundle_sweep_stale_tmps(prefix), 1);
  tfm_tensor_release(out);
  tfm_tensor_release(feed);
  small_free(&m);
  tfm_status_delete(st);
}
END_TEST

/* Writers of one file (meta graph, graph) sweep that file's temporaries only. */
START_TEST(test_graph_writers_sweep_their_own_file_only) {
  char dir[1024], p[1400];
  test_tmpdir(dir, sizeof dir);
  make_file(dir, "graph.meta.tmpAAAAAA", STALE);
  make_file(dir, "graph.meta2.tmpBBBBBB", STALE);
  make_file(dir, "graph.pbtxt.tmpCCCCCC", STALE);
  make_file(dir, "graph.pb.tmpDDDDDD", STALE);
  tfm_status *st = tfm_status_new();
  small_t m;
  small_new(&m, st);
  path_in(p, sizeof p, dir, "graph.meta");
  ck_assert_int_eq(tfm_export_meta_graph(m.g, m.s, p, st), TFM_OK);
  ck_assert(!exists(dir, "graph.meta.tmpAAAAAA") && exists(dir, "graph.meta2.tmpBBBBBB"));
  ck_assert(exists(dir, "graph.pbtxt.tmpCCCCCC") && exists(dir, "graph.pb.tmpDDDDDD"));
  ck_assert_int_eq(tfm_write_graph(m.g, dir, "graph.pbtxt", 1, st), TFM_OK);
  ck_assert(!exists(dir, "graph.pbtxt.tmpCCCCCC") && exists(dir, "graph.pb.tmpDDDDDD"));
  ck_assert_int_eq(count_files(dir, ".tmp"), 2);
  small_free(&m);
  tfm_status_delete(st);
}
END_TEST

START_TEST(test_temporary_names_split_exactly) {
  size_t n = 0;
  ck_assert(file_tmp_name_split("a.index.tmpAz09Zz", 17, &n) && n == 7);
  ck_assert(file_tmp_name_split("x.tmp000000", 11, &n) && n == 1);
  ck_assert(!file_tmp_name_split(".tmpABCDEF", 10, &n)); /* no owner */
  ck_assert(!file_tmp_name_split("a.index.tmpAz09Z", 16, &n));
  ck_assert(!file_tmp_name_split("a.index.tmpAz09Z_", 17, &n));
  ck_assert(!file_tmp_name_split("a.index.tmpAz09Z.", 17, &n));
  ck_assert(!file_tmp_name_split("a.index_tmpAz09Zz", 17, &n));
  ck_assert(!file_tmp_name_split("a.index.tmpAz0\xc3\xa9Z", 17, &n));
}
END_TEST

TCase *saver_sweep_tcase(void);
TCase *saver_sweep_tcase(void) {
  TCase *tc = tcase_create("sweep");
  tcase_add_test(tc, test_temporary_names_split_exactly);
  tcase_add_test(tc, test_save_removes_stale_temporaries_of_its_files);
  tcase_add_test(tc, test_save_leaves_alone_what_is_not_a_stale_temporary_of_its_files);
  tcase_add_test(tc, test_temporary_of_a_dead_writer_is_swept_once_old);
  tcase_add_test(tc, test_save_op_sweeps_its_prefix_only);
  tcase_add_test(tc, test_graph_writers_sweep_their_own_file_only);
  return tc;
}
