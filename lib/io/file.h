/* Whole-file reads and crash-safe writes. A checkpoint must never be left half
 * written under its final name: writers create a temporary file in the same
 * directory, fsync it, rename it over the final name and fsync the directory.
 * A writer killed before the rename leaves its temporary behind; savers sweep
 * those later (file_sweep_stale_tmps). */
#ifndef TFM_IO_FILE_H
#define TFM_IO_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* Reads all of `path` into a new mem_alloc'ed buffer (*data, *len; a NUL byte is
 * appended past the end for text parsers). Refuses files over max_len bytes
 * (DATA_LOSS/INVALID_ARGUMENT guard against hostile sizes). NOT_FOUND when absent. */
tfm_code file_read_all(const char *path, size_t max_len, uint8_t **data, size_t *len,
                       tfm_status *st);
/* Size of an existing file; NOT_FOUND when absent. */
tfm_code file_size(const char *path, uint64_t *size, tfm_status *st);

/* A file being written under a temporary name next to its final path. */
typedef struct file_tmp {
  char *final_path;
  char *tmp_path;
  int fd;      /* -1 once closed */
  int lock_fd; /* holds the temporary's flock until it is renamed or removed; -1: none */
} file_tmp_t;

#define FILE_TMP_INIT {NULL, NULL, -1, -1}

/* Creates "<final_path>.tmpXXXXXX" (mkstemp: 6 characters of [A-Za-z0-9]) and
 * takes an exclusive flock on it, held until file_tmp_rename or file_tmp_discard:
 * the sign, for file_sweep_stale_tmps, that a live writer still owns it. */
tfm_code file_tmp_open(file_tmp_t *f, const char *final_path, tfm_status *st);
tfm_code file_tmp_write(file_tmp_t *f, const void *data, size_t n, tfm_status *st);
/* fsync + close (the data is durable under the temporary name). */
tfm_code file_tmp_sync(file_tmp_t *f, tfm_status *st);
/* Renames onto the final name (after file_tmp_sync). The temporary is then gone. */
tfm_code file_tmp_rename(file_tmp_t *f, tfm_status *st);
/* Closes and removes the temporary if still there; frees the names. Always safe. */
void file_tmp_discard(file_tmp_t *f);
/* The directory part of `path` ("." when it has none, "/" for "/name") into dir
 * (cap bytes, no allocation); false when it does not fit. */
bool file_dir_of(const char *path, char *dir, size_t cap);
/* fsync of the directory holding `path`, making renames in it durable. */
tfm_code file_sync_dir(const char *path, tfm_status *st);

/* For tests: true (with errno set) when the library's next write/fsync/rename is
 * the one tfm_debug_fail_file_op_after chose to fail; counts the operation.
 * Writers outside this file call it before each such system call. */
int file_debug_should_fail(void);

/* Writes data to path atomically (all of the above in one call). */
tfm_code file_write_atomic(const char *path, const void *data, size_t n, tfm_status *st);

/* ---- stale temporaries ----
 * A temporary is stale, and may be removed, when all of these hold:
 *   - its name is "<owner>.tmp" + exactly 6 characters of [A-Za-z0-9] and the
 *     caller's `owns` accepts <owner> (the name of a file the caller writes);
 *   - it is a regular file (never a symlink: nothing outside the directory is
 *     touched, and every step goes through the directory's fd);
 *   - it was last modified FILE_TMP_STALE_SECONDS or more ago (by the real clock),
 *     far longer than any save leaves a temporary untouched;
 *   - no process holds its flock (file_tmp_open takes it; it goes with the writer's
 *     last fd, so a killed writer's temporary is free and a live one, however slow
 *     or stopped, is not).
 * The age alone protects writers that take no lock (older libtfmini, file
 * systems without flock: there the sweep's own flock fails and it removes
 * nothing); the lock alone protects a save that stalls for longer than the age. */
#define FILE_TMP_STALE_SECONDS 3600

/* Whether `name` (len bytes) ends in ".tmp" + 6 characters of mkstemp's alphabet;
 * *owner_len is then the length of what comes before. */
bool file_tmp_name_split(const char *name, size_t len, size_t *owner_len);

/* Accepts the owner part of a temporary's name (owner_len bytes, not
 * NUL-terminated) when its file is one the sweeping caller writes. */
typedef bool (*file_tmp_owner_fn)(const char *owner, size_t owner_len, const void *arg);

/* Removes the stale temporaries (above) of directory `dir` whose owner `owns`
 * accepts; returns how many it removed. Never fails and never allocates: an
 * entry that cannot be examined, locked or removed is left as it is, and a
 * directory that cannot be read is not swept. */
int file_sweep_stale_tmps(const char *dir, file_tmp_owner_fn owns, const void *arg);
/* The same for the temporaries of `path` alone ("<path>.tmpXXXXXX"), as writers
 * of one file (meta graphs, graphs) do before writing it. */
int file_sweep_stale_tmps_of(const char *path);

#endif
