/* What every fuzz target shares: the libFuzzer entry point it defines, and a
 * scratch directory for readers that only read from files (bundles, TFRecords).
 * A target must accept any bytes, free everything it allocated (the replay
 * program and the fuzzer check for leaks) and never abort. */
#ifndef TFM_FUZZ_TARGET_H
#define TFM_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tfmini/debug.h"

/* The library's own leak check: bytes in use must come back to where they were
 * (catches leaks even in builds without LeakSanitizer). */
#define FUZZ_BEGIN() int64_t fuzz_bytes_before_ = tfm_debug_bytes_in_use()
#define FUZZ_END()                                                   \
  do {                                                               \
    if (tfm_debug_bytes_in_use() != fuzz_bytes_before_) {            \
      fprintf(stderr, "leak: %lld bytes not freed\n",                \
              (long long)(tfm_debug_bytes_in_use() - fuzz_bytes_before_)); \
      abort();                                                       \
    }                                                                \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A per-process directory under /dev/shm (or /tmp), made on first use; the files
 * written there are overwritten by each input. */
static inline const char *fuzz_scratch_dir(void) {
  static char dir[256];
  if (!dir[0]) {
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/tfm-fuzz-XXXXXX", base);
    if (!mkdtemp(dir)) snprintf(dir, sizeof dir, "/tmp");
  }
  return dir;
}

/* Writes data[0..n) to path (replacing it); 0 on success. */
static inline int fuzz_write_file(const char *path, const uint8_t *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = n ? fwrite(data, 1, n, f) : 0;
  return (fclose(f) == 0 && w == n) ? 0 : -1;
}

#endif
