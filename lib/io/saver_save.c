/* Saver.save: the bundle, the .meta, the `checkpoint` file (last), then the
 * checkpoints beyond max_to_keep are deleted. Also tf.train.latest_checkpoint and
 * the checkpoint timer for training loops.
 *
 * Crash safety: every file is written under a temporary name, synced and renamed
 * (bundle.c, file.c); the `checkpoint` file is replaced only once the new
 * checkpoint is complete, and old checkpoints are deleted only after that, so at
 * any instant the `checkpoint` file names complete checkpoints. A save killed
 * before its renames leaves temporaries behind: each save first sweeps the stale
 * ones of the files this saver writes (rules in io/file.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "io/bundle.h"
#include "io/checkpoint_state.h"
#include "io/file.h"
#include "io/saver_impl.h"
#include "runtime/session.h"

/* ---- paths ---- */

static char *str_printf2(const char *fmt, const char *a, const char *b) {
  int n = snprintf(NULL, 0, fmt, a, b);
  char *p = mem_alloc((size_t)n + 1);
  if (p) snprintf(p, (size_t)n + 1, fmt, a, b);
  return p;
}

/* The directory of a path ("." when it has none); mem_alloc'ed. */
static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return mem_strdup(".");
  if (slash == path) return mem_strdup("/");
  return mem_strndup(path, (size_t)(slash - path));
}

static const char *base_of(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* A path from the `checkpoint` file, relative ones taken from its directory. */
static char *resolve(const char *dir, const char *p) {
  return p[0] == '/' ? mem_strdup(p) : str_printf2("%s/%s", dir, p);
}

static bool index_exists(const char *prefix) {
  /* No allocation: an out-of-memory here must not read as "no such checkpoint". */
  char p[PATH_MAX];
  struct stat sb;
  return snprintf(p, sizeof p, "%s.index", prefix) < (int)sizeof p && stat(p, &sb) == 0 &&
         S_ISREG(sb.st_mode);
}

static void remove_checkpoint_files(const char *prefix) {
  char *files[3] = {bundle_index_path(prefix), bundle_data_path(prefix, 0, 1), str_printf2("%s%s", prefix, ".meta")};
  for (int i = 0; i < 3; i++) {
    if (files[i]) unlink(files[i]);
    mem_free(files[i]);
  }
}

static tfm_code copy_out(const char *path, char *buf, size_t cap, tfm_status *st) {
  if (!buf) return TFM_OK;
  size_t n = strlen(path);
  if (n >= cap) {
    if (cap) buf[0] = '\0';
    return status_set(st, TFM_INVALID_ARGUMENT, "buffer of %zu bytes is too small for '%s'", cap, path);
  }
  memcpy(buf, path, n + 1);
  return TFM_OK;
}

/* ---- stale temporaries ---- */

/* The files a save with prefix base name `arg` writes in its directory: the
 * `checkpoint` file and "<base>[-STEP]" + ".index" / ".data-SSSSS-of-NNNNN" /
 * ".meta", STEP being any global step (a killed save had another step). */
static bool saver_owns(const char *owner, size_t len, const void *arg) {
  const char *base = arg;
  size_t bl = strlen(base), ck = strlen(CHECKPOINT_STATE_FILE);
  if (len == ck && memcmp(owner, CHECKPOINT_STATE_FILE, ck) == 0) return true;
  if (len <= bl || memcmp(owner, base, bl) != 0) return false;
  size_t i = bl;
  if (owner[i] == '-') { /* "-%lld" of a step >= 0 */
    size_t digits = 0;
    while (i + 1 + digits < len && owner[i + 1 + digits] >= '0' && owner[i + 1 + digits] <= '9') digits++;
    if (digits == 0 || digits > 19) return false;
    i += 1 + digits;
  }
  return (len - i == 5 && memcmp(owner + i, ".meta", 5) == 0) || bundle_file_suffix(owner + i, len - i);
}

/* ---- the bundle ---- */

static tfm_code write_bundle(tfm_saver *s, session_t *sess, const char *path, tfm_status *st) {
  bundle_writer_t *w = bundle_writer_new(path, st);
  if (!w) return status_code(st);
  tfm_code code = TFM_OK;
  for (int i = 0; i < s->n && code == TFM_OK; i++) {
    tensor_t *t = session_variable_get(sess, s->entries[i].var);
    if (!t)
      code = status_set(st, TFM_FAILED_PRECONDITION, "saving '%s': Attempting to use uninitialized value %s",
                        path, s->entries[i].var->name);
    else code = bundle_writer_add(w, s->entries[i].key, t, st);
    tensor_unref(t);
  }
  if (code == TFM_OK) code = bundle_writer_finish(w, st);
  bundle_writer_free(w);
  return code;
}

/* An imported saver we could not map: run its save op, feeding the prefix. */
static tfm_code run_save_op(tfm_saver *s, tfm_session *sess, const char *path, tfm_status *st) {
  output_t *fname = graph_find_output(s->graph, s->filename_tensor, st);
  output_t *save = fname ? graph_find_output(s->graph, s->save_tensor, st) : NULL;
  if (!save) return status_code(st);
  int64_t none = 0;
  tfm_tensor *feed = tfm_tensor_new(TFM_STRING, &none, 0, st);
  if (!feed) return status_code(st);
  tfm_tensor *out = NULL;
  tfm_code code = tfm_tensor_string_set(feed, 0, path, strlen(path), st);
  if (code == TFM_OK) code = tfm_session_run(sess, &fname, &feed, 1, &save, &out, 1, NULL, 0, st);
  tfm_tensor_release(out);
  tfm_tensor_release(feed);
  return code;
}

/* ---- the keep policy and the `checkpoint` file ---- */

typedef struct kept_list {
  saver_kept_t *items;
  int n, cap;
} kept_list_t;

static void kept_free(kept_list_t *l) {
  for (int i = 0; i < l->n; i++) mem_free(l->items[i].path);
  mem_free(l->items);
  *l = (kept_list_t){0};
}

static tfm_code kept_push(kept_list_t *l, const char *path, double time, tfm_status *st) {
  for (int i = 0; i < l->n; i++)
    if (strcmp(l->items[i].path, path) == 0) { /* saved again: it becomes the newest */
      mem_free(l->items[i].path);
      memmove(&l->items[i], &l->items[i + 1], (size_t)(l->n - i - 1) * sizeof *l->items);
      l->n--;
      break;
    }
  if (l->n == l->cap) {
    int nc = l->cap ? 2 * l->cap : 8;
    saver_kept_t *p = mem_realloc(l->items, (size_t)nc * sizeof *p);
    if (!p) return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
    l->items = p;
    l->cap = nc;
  }
  if (!(l->items[l->n].path = mem_strdup(path))) return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
  l->items[l->n++].time = time;
  return TFM_OK;
}

/* Checkpoints of the same series (prefix "<base>-") listed by an existing
 * `checkpoint` file, so that a resumed run keeps counting max_to_keep across
 * processes (TF 1.x's Saver forgets them; tf.train.CheckpointManager does this). */
static tfm_code adopt_existing(const char *dir, const char *series, kept_list_t *l, tfm_status *st) {
  checkpoint_state_t cs = CHECKPOINT_STATE_INIT;
  tfm_status tmp;
  if (checkpoint_state_read(dir, &cs, &tmp) != TFM_OK) return TFM_OK; /* none, or unreadable: start afresh */
  size_t slen = strlen(series);
  tfm_code code = TFM_OK;
  for (size_t i = 0; i < cs.num_paths && code == TFM_OK; i++) {
    char *p = resolve(dir, cs.paths[i]);
    if (!p) code = status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
    else if (strncmp(base_of(p), series, slen) == 0 && base_of(p)[slen] == '-' && index_exists(p))
      code = kept_push(l, p, cs.num_timestamps == cs.num_paths ? cs.timestamps[i] : 0.0, st);
    mem_free(p);
  }
  checkpoint_state_free(&cs);
  return code;
}

static tfm_code write_state(const char *dir, const kept_list_t *l, double last_preserved, tfm_status *st) {
  checkpoint_state_t cs = CHECKPOINT_STATE_INIT;
  tfm_code code = TFM_OK;
  /* Paths relative to the directory (TF's save_relative_paths): the folder can move. */
  cs.paths = mem_calloc((size_t)l->n, sizeof *cs.paths);
  cs.timestamps = mem_calloc((size_t)l->n, sizeof *cs.timestamps);
  if (!cs.paths || !cs.timestamps) code = status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; i < l->n && code == TFM_OK; i++) {
    if (!(cs.paths[i] = mem_strdup(base_of(l->items[i].path))))
      code = status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
    cs.timestamps[i] = l->items[i].time;
    cs.num_paths = cs.num_timestamps = (size_t)i + 1;
  }
  if (code == TFM_OK && !(cs.model_checkpoint_path = mem_strdup(cs.paths[l->n - 1])))
    code = status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
  cs.last_preserved_timestamp = last_preserved;
  if (code == TFM_OK) code = checkpoint_state_write(dir, &cs, st);
  checkpoint_state_free(&cs);
  return code;
}

/* After `path` was written: the new list, the `checkpoint` file, then deletions. */
/* `series` (NULL: none) is the prefix's base name when saved with a step, whose
 * earlier checkpoints are adopted on the saver's first save. */
static tfm_code record_checkpoint(tfm_saver *s, const char *path, const char *series, double now,
                                  tfm_status *st) {
  char *dir = dir_of(path);
  kept_list_t l = {0}, drop = {0};
  double next_keep = s->next_keep_time, last_preserved = s->last_preserved;
  tfm_code code = dir ? TFM_OK : status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; i < s->n_kept && code == TFM_OK; i++) code = kept_push(&l, s->kept[i].path, s->kept[i].time, st);
  if (code == TFM_OK && !s->adopted && l.n == 0 && series) code = adopt_existing(dir, series, &l, st);
  if (code == TFM_OK) code = kept_push(&l, path, now, st);
  /* Beyond max_to_keep: the oldest go, except one every keep_hours. */
  while (code == TFM_OK && s->max_to_keep > 0 && l.n > s->max_to_keep) {
    saver_kept_t old = l.items[0];
    memmove(&l.items[0], &l.items[1], (size_t)(l.n - 1) * sizeof *l.items);
    l.n--;
    if (old.time >= next_keep) {
      next_keep += s->keep_hours * 3600.0;
      last_preserved = old.time;
      mem_free(old.path);
    } else {
      code = kept_push(&drop, old.path, old.time, st);
      mem_free(old.path);
    }
  }
  if (code == TFM_OK) code = write_state(dir, &l, last_preserved, st);
  if (code == TFM_OK) {
    for (int i = 0; i < drop.n; i++)
      if (strcmp(drop.items[i].path, path) != 0) remove_checkpoint_files(drop.items[i].path);
    for (int i = 0; i < s->n_kept; i++) mem_free(s->kept[i].path);
    mem_free(s->kept);
    s->kept = l.items;
    s->n_kept = l.n;
    s->cap_kept = l.cap;
    l = (kept_list_t){0};
    s->next_keep_time = next_keep;
    s->last_preserved = last_preserved;
    s->adopted = true;
  }
  kept_free(&l);
  kept_free(&drop);
  mem_free(dir);
  return code;
}

TFM_API tfm_code tfm_saver_save(tfm_saver *s, tfm_session *sess, const char *prefix, int64_t global_step,
                                int write_meta_graph, char *path_out, size_t cap, tfm_status *status) {
  tfm_status local;
  tfm_status *st = status ? status : &local;
  if (path_out && cap) path_out[0] = '\0';
  if (!s || !sess || !prefix || !prefix[0])
    return status_set(st, TFM_INVALID_ARGUMENT, "tfm_saver_save: NULL %s", !s ? "saver" : !sess ? "session" : "prefix");
  if (session_graph(sess) != s->graph)
    return status_set(st, TFM_INVALID_ARGUMENT, "tfm_saver_save: the session runs another graph than the saver's");
  char *path = global_step >= 0 ? mem_alloc(strlen(prefix) + 24) : mem_strdup(prefix);
  char *dir = dir_of(prefix), *meta = NULL;
  if (!path || !dir) {
    mem_free(path);
    mem_free(dir);
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
  }
  if (global_step >= 0) sprintf(path, "%s-%lld", prefix, (long long)global_step);
  struct stat sb;
  tfm_code code = TFM_OK;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    code = status_set(st, TFM_NOT_FOUND, "cannot save '%s': directory '%s' does not exist", path, dir);
  pthread_mutex_lock(&s->lock);
  /* Before writing: on a full disk, what killed saves left may be what is missing. */
  if (code == TFM_OK) file_sweep_stale_tmps(dir, saver_owns, base_of(prefix));
  if (code == TFM_OK) code = s->by_ops ? run_save_op(s, sess, path, st) : write_bundle(s, sess, path, st);
  if (code == TFM_OK && write_meta_graph) {
    if (!(meta = str_printf2("%s%s", path, ".meta"))) code = status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
    else if ((code = tfm_export_meta_graph(s->graph, s, meta, st)) != TFM_OK) {
      status_prefix(st, "saving '%s'", path);
      remove_checkpoint_files(path); /* not recorded: do not leave a checkpoint without its graph */
    }
  }
  if (code == TFM_OK) code = record_checkpoint(s, path, global_step >= 0 ? base_of(prefix) : NULL, saver_now(s), st);
  pthread_mutex_unlock(&s->lock);
  if (code == TFM_OK) code = copy_out(path, path_out, cap, st);
  mem_free(meta);
  mem_free(dir);
  mem_free(path);
  return code == TFM_OK ? status_ok(st) : code;
}

TFM_API tfm_code tfm_latest_checkpoint(const char *dir, char *buf, size_t cap, tfm_status *status) {
  tfm_status local;
  tfm_status *st = status ? status : &local;
  if (buf && cap) buf[0] = '\0';
  if (!dir || !buf) return status_set(st, TFM_INVALID_ARGUMENT, "tfm_latest_checkpoint: NULL %s", dir ? "buf" : "dir");
  checkpoint_state_t cs = CHECKPOINT_STATE_INIT;
  tfm_code code = checkpoint_state_read(dir, &cs, st);
  if (code == TFM_NOT_FOUND) status_set(st, TFM_NOT_FOUND, "no checkpoint in '%s': no file '%s/%s'", dir, dir, CHECKPOINT_STATE_FILE);
  if (code == TFM_OK && (!cs.model_checkpoint_path || !cs.model_checkpoint_path[0]))
    code = status_set(st, TFM_NOT_FOUND, "no checkpoint in '%s': its checkpoint file names none", dir);
  char *p = code == TFM_OK ? resolve(dir, cs.model_checkpoint_path) : NULL;
  if (code == TFM_OK && !p) code = status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
  if (code == TFM_OK && !index_exists(p))
    code = status_set(st, TFM_NOT_FOUND, "the checkpoint file in '%s' names '%s', but '%s.index' does not exist", dir,
                      cs.model_checkpoint_path, p);
  if (code == TFM_OK) code = copy_out(p, buf, cap, st);
  mem_free(p);
  checkpoint_state_free(&cs);
  return code == TFM_OK ? status_ok(st) : code;
}

/* ---- the checkpoint timer ---- */

struct tfm_checkpoint_timer {
  tfm_saver *saver;
  char *prefix;
  double every_seconds;
  int64_t every_steps;
  bool started;
  int64_t last_step;
  double last_time;
};

TFM_API tfm_checkpoint_timer *tfm_checkpoint_timer_new(tfm_saver *saver, const char *prefix, double every_seconds,
                                                       int64_t every_steps, tfm_status *status) {
  tfm_status local;
  tfm_status *st = status ? status : &local;
  if (!saver || !prefix || !prefix[0]) {
    status_set(st, TFM_INVALID_ARGUMENT, "tfm_checkpoint_timer_new: NULL or empty %s", saver ? "prefix" : "saver");
    return NULL;
  }
  tfm_checkpoint_timer *t = mem_calloc(1, sizeof *t);
  if (!t || !(t->prefix = mem_strdup(prefix))) {
    mem_free(t);
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
    return NULL;
  }
  t->saver = saver;
  t->every_seconds = every_seconds;
  t->every_steps = every_steps;
  status_ok(st);
  return t;
}

TFM_API tfm_code tfm_checkpoint_timer_step(tfm_checkpoint_timer *t, tfm_session *sess, int64_t global_step,
                                           int *saved, tfm_status *status) {
  tfm_status local;
  tfm_status *st = status ? status : &local;
  if (saved) *saved = 0;
  if (!t) return status_set(st, TFM_INVALID_ARGUMENT, "tfm_checkpoint_timer_step: NULL timer");
  double now = saver_now(t->saver);
  /* As TF's SecondOrStepTimer: the first step saves, then every N steps / S seconds. */
  bool due = !t->started || (t->every_steps > 0 && global_step >= t->last_step + t->every_steps) ||
             (t->every_seconds > 0 && now >= t->last_time + t->every_seconds);
  if (!due) return status_ok(st);
  if (tfm_saver_save(t->saver, sess, t->prefix, global_step, 0, NULL, 0, st) != TFM_OK) return status_code(st);
  t->started = true;
  t->last_step = global_step;
  t->last_time = now;
  if (saved) *saved = 1;
  return TFM_OK;
}

TFM_API void tfm_checkpoint_timer_delete(tfm_checkpoint_timer *t) {
  if (!t) return;
  mem_free(t->prefix);
  mem_free(t);
}
