/* Whole-file reads and temp + fsync + rename writes (see file.h). */
#include "io/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"
#include "tfmini/debug.h"

/* Failure injection for tests (tfm_debug_fail_file_op_after): the library's
 * writes, fsyncs and renames are counted, and the chosen one fails with errno set
 * as the OS would. */
static _Atomic uint64_t file_ops;
static _Atomic uint64_t file_fail_at; /* 0 = never */
static _Atomic int file_fail_errno;

int file_debug_should_fail(void) {
  uint64_t n = atomic_fetch_add_explicit(&file_ops, 1, memory_order_relaxed) + 1;
  uint64_t at = atomic_load_explicit(&file_fail_at, memory_order_relaxed);
  if (at == 0 || n != at) return 0;
  errno = atomic_load_explicit(&file_fail_errno, memory_order_relaxed);
  return 1;
}

TFM_API uint64_t tfm_debug_file_op_count(void) {
  return atomic_load_explicit(&file_ops, memory_order_relaxed);
}

TFM_API void tfm_debug_fail_file_op_after(uint64_t nth, int err) {
  atomic_store(&file_fail_errno, err ? err : EIO);
  atomic_store(&file_fail_at, nth ? atomic_load(&file_ops) + nth : 0);
}

static tfm_code errno_status(tfm_status *st, int err, const char *what, const char *path) {
  tfm_code code = err == ENOENT ? TFM_NOT_FOUND
                  : err == EACCES || err == EPERM ? TFM_PERMISSION_DENIED
                  : err == ENOSPC || err == ENOMEM ? TFM_RESOURCE_EXHAUSTED
                                                  : TFM_UNKNOWN;
  return status_set(st, code, "%s '%s': %s", what, path, strerror(err));
}

tfm_code file_size(const char *path, uint64_t *size, tfm_status *st) {
  struct stat sb;
  if (stat(path, &sb) != 0) return errno_status(st, errno, "cannot stat", path);
  if (!S_ISREG(sb.st_mode)) return status_set(st, TFM_INVALID_ARGUMENT, "'%s' is not a regular file", path);
  *size = (uint64_t)sb.st_size;
  return TFM_OK;
}

tfm_code file_read_all(const char *path, size_t max_len, uint8_t **data, size_t *len,
                       tfm_status *st) {
  *data = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_status(st, errno, "cannot open", path);
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int e = errno;
    close(fd);
    return errno_status(st, e, "cannot stat", path);
  }
  if (!S_ISREG(sb.st_mode)) {
    close(fd);
    return status_set(st, TFM_INVALID_ARGUMENT, "'%s' is not a regular file", path);
  }
  if ((uint64_t)sb.st_size > max_len) {
    close(fd);
    return status_set(st, TFM_INVALID_ARGUMENT, "'%s' is %lld bytes, more than the %zu allowed",
                      path, (long long)sb.st_size, max_len);
  }
  size_t n = (size_t)sb.st_size;
  uint8_t *buf = mem_alloc(n + 1);
  if (!buf) {
    close(fd);
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory reading %zu bytes of '%s'", n, path);
  }
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int e = r < 0 ? errno : 0;
      close(fd);
      mem_free(buf);
      if (e) return errno_status(st, e, "cannot read", path);
      return status_set(st, TFM_DATA_LOSS, "'%s' shrank while being read", path);
    }
    got += (size_t)r;
  }
  close(fd);
  buf[n] = 0;
  *data = buf;
  *len = n;
  return TFM_OK;
}

tfm_code file_tmp_open(file_tmp_t *f, const char *final_path, tfm_status *st) {
  f->fd = f->lock_fd = -1;
  f->tmp_path = NULL;
  f->final_path = mem_strdup(final_path);
  size_t n = strlen(final_path);
  f->tmp_path = mem_alloc(n + 12);
  if (!f->final_path || !f->tmp_path) {
    /* Not file_tmp_discard: tmp_path holds no name yet, nothing may be unlinked. */
    mem_free(f->tmp_path);
    mem_free(f->final_path);
    f->tmp_path = f->final_path = NULL;
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory opening '%s'", final_path);
  }
  memcpy(f->tmp_path, final_path, n);
  memcpy(f->tmp_path + n, ".tmpXXXXXX", 11);
  f->fd = mkostemp(f->tmp_path, O_CLOEXEC);
  if (f->fd < 0) {
    int e = errno;
    mem_free(f->tmp_path);
    f->tmp_path = NULL; /* nothing to remove */
    file_tmp_discard(f);
    return errno_status(st, e, "cannot create a temporary file for", final_path);
  }
  /* The flock tells a sweep that a live writer owns this temporary. A second fd
   * holds it, so that file_tmp_sync can still close `fd` and report what close
   * says; if either step fails the sweep relies on the temporary's age alone. */
  if (flock(f->fd, LOCK_EX | LOCK_NB) == 0) f->lock_fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
  /* mkstemp uses 0600; a checkpoint should get the usual umask-based mode. */
  mode_t um = umask(0);
  umask(um);
  (void)fchmod(f->fd, 0666 & ~um);
  return TFM_OK;
}

tfm_code file_tmp_write(file_tmp_t *f, const void *data, size_t n, tfm_status *st) {
  const uint8_t *p = data;
  while (n > 0) {
    ssize_t w = file_debug_should_fail() ? -1 : write(f->fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno_status(st, errno, "cannot write", f->tmp_path);
    p += w;
    n -= (size_t)w;
  }
  return TFM_OK;
}

tfm_code file_tmp_sync(file_tmp_t *f, tfm_status *st) {
  if (file_debug_should_fail() || fsync(f->fd) != 0)
    return errno_status(st, errno, "cannot fsync", f->tmp_path);
  int r = close(f->fd);
  f->fd = -1;
  if (r != 0) return errno_status(st, errno, "cannot close", f->tmp_path);
  return TFM_OK;
}

tfm_code file_tmp_rename(file_tmp_t *f, tfm_status *st) {
  if (file_debug_should_fail() || rename(f->tmp_path, f->final_path) != 0)
    return errno_status(st, errno, "cannot rename a temporary file to", f->final_path);
  mem_free(f->tmp_path);
  f->tmp_path = NULL;
  /* The data was fsync'ed and its fd closed (checked) in file_tmp_sync: this
   * last close only drops the lock and has nothing left to report. */
  if (f->lock_fd >= 0) close(f->lock_fd);
  f->lock_fd = -1;
  return TFM_OK;
}

void file_tmp_discard(file_tmp_t *f) {
  if (f->fd >= 0) close(f->fd);
  f->fd = -1;
  if (f->tmp_path) unlink(f->tmp_path);
  if (f->lock_fd >= 0) close(f->lock_fd); /* after the unlink: no sweep sees it unlocked */
  f->lock_fd = -1;
  mem_free(f->tmp_path);
  mem_free(f->final_path);
  f->tmp_path = f->final_path = NULL;
}

bool file_dir_of(const char *path, char *dir, size_t cap) {
  const char *slash = strrchr(path, '/');
  size_t n = slash ? (slash == path ? 1 : (size_t)(slash - path)) : 1;
  if (n >= cap) return false;
  memcpy(dir, slash ? path : ".", n);
  dir[n] = 0;
  return true;
}

tfm_code file_sync_dir(const char *path, tfm_status *st) {
  /* No allocation here: it runs after renames, when failing must be rare. */
  char dir[PATH_MAX];
  if (!file_dir_of(path, dir, sizeof dir)) return status_set(st, TFM_INVALID_ARGUMENT, "path too long: '%s'", path);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_status(st, errno, "cannot open directory", dir);
  tfm_code code = TFM_OK;
  if ((file_debug_should_fail() || fsync(fd) != 0) && errno != EINVAL)
    code = errno_status(st, errno, "cannot fsync directory", dir);
  close(fd);
  return code;
}

tfm_code file_write_atomic(const char *path, const void *data, size_t n, tfm_status *st) {
  file_tmp_t f = FILE_TMP_INIT;
  if (file_tmp_open(&f, path, st) != TFM_OK) return status_code(st);
  if (file_tmp_write(&f, data, n, st) != TFM_OK || file_tmp_sync(&f, st) != TFM_OK ||
      file_tmp_rename(&f, st) != TFM_OK) {
    file_tmp_discard(&f);
    return status_code(st);
  }
  file_tmp_discard(&f);
  return file_sync_dir(path, st);
}

/* ---- stale temporaries (rules in file.h) ---- */

static bool is_mkstemp_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool file_tmp_name_split(const char *name, size_t len, size_t *owner_len) {
  if (len <= 10 || memcmp(name + len - 10, ".tmp", 4) != 0) return false;
  for (size_t i = len - 6; i < len; i++)
    if (!is_mkstemp_char(name[i])) return false;
  *owner_len = len - 10;
  return true;
}

static bool stale_by_age(const struct stat *sb, time_t now) {
  return sb->st_mtime <= now - FILE_TMP_STALE_SECONDS;
}

/* Removes `name` from the directory open as dfd if it is a stale temporary. The
 * entry is examined without following links, then opened (O_NOFOLLOW) and checked
 * to be the same file before its lock is tried; the lock is held while unlinking. */
static bool remove_if_stale(int dfd, const char *name, time_t now) {
  struct stat sb, fb;
  if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode) || !stale_by_age(&sb, now))
    return false;
  int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return false;
  bool removed = fstat(fd, &fb) == 0 && fb.st_dev == sb.st_dev && fb.st_ino == sb.st_ino && S_ISREG(fb.st_mode) &&
                 stale_by_age(&fb, now) && flock(fd, LOCK_EX | LOCK_NB) == 0 && unlinkat(dfd, name, 0) == 0;
  close(fd);
  return removed;
}

int file_sweep_stale_tmps(const char *dir, file_tmp_owner_fn owns, const void *arg) {
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return 0;
  DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return 0;
  }
  time_t now = time(NULL);
  int removed = 0;
  size_t owner_len;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (file_tmp_name_split(e->d_name, strlen(e->d_name), &owner_len) && owns(e->d_name, owner_len, arg))
      removed += remove_if_stale(dirfd(d), e->d_name, now);
  closedir(d); /* closes dfd */
  return removed;
}

static bool owner_is(const char *owner, size_t len, const void *arg) {
  return strlen(arg) == len && memcmp(owner, arg, len) == 0;
}

int file_sweep_stale_tmps_of(const char *path) {
  char dir[PATH_MAX];
  if (!file_dir_of(path, dir, sizeof dir)) return 0;
  const char *slash = strrchr(path, '/');
  return file_sweep_stale_tmps(dir, owner_is, slash ? slash + 1 : path);
}
