/* Whole-file reads and crash-safe writes. A checkpoint must never be left half
 * written under its final name: writers create a temporary file in the same
 * directory, fsync it, rename it over the final name and fsync the directory. */
#ifndef TFM_IO_FILE_H
#define TFM_IO_FILE_H

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
  int fd; /* -1 once closed */
} file_tmp_t;

/* Creates "<final_path>.tmp<random>" (mkstemp). */
tfm_code file_tmp_open(file_tmp_t *f, const char *final_path, tfm_status *st);
tfm_code file_tmp_write(file_tmp_t *f, const void *data, size_t n, tfm_status *st);
/* fsync + close (the data is durable under the temporary name). */
tfm_code file_tmp_sync(file_tmp_t *f, tfm_status *st);
/* Renames onto the final name (after file_tmp_sync). The temporary is then gone. */
tfm_code file_tmp_rename(file_tmp_t *f, tfm_status *st);
/* Closes and removes the temporary if still there; frees the names. Always safe. */
void file_tmp_discard(file_tmp_t *f);
/* fsync of the directory holding `path`, making renames in it durable. */
tfm_code file_sync_dir(const char *path, tfm_status *st);

/* For tests: true (with errno set) when the library's next write/fsync/rename is
 * the one tfm_debug_fail_file_op_after chose to fail; counts the operation.
 * Writers outside this file call it before each such system call. */
int file_debug_should_fail(void);

/* Writes data to path atomically (all of the above in one call). */
tfm_code file_write_atomic(const char *path, const void *data, size_t n, tfm_status *st);

#endif
