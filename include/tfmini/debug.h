/* libtfmini: hooks for tests of the library itself (allocation counting,
 * allocation-failure and file-operation-failure injection). Not for production use; not thread-safe with
 * respect to concurrent changes of the settings. */
#ifndef TFMINI_DEBUG_H
#define TFMINI_DEBUG_H

#include "defs.h"

TFM_BEGIN_DECLS

/* Number of allocations the library has made since the process started. */
TFM_API uint64_t tfm_debug_alloc_count(void);
/* Makes the library's allocation number `nth` from now (1 = the next one) fail,
 * and every one after it while `sticky` is non-zero. 0 disables injection. */
TFM_API void tfm_debug_fail_alloc_after(uint64_t nth, int sticky);
/* Bytes currently allocated by the library (tensor buffers and bookkeeping). */
TFM_API int64_t tfm_debug_bytes_in_use(void);

/* Number of file writes, fsyncs and renames the library's writers (checkpoints,
 * the `checkpoint` file, meta graphs) have made since the process started. */
TFM_API uint64_t tfm_debug_file_op_count(void);
/* Makes the library's file operation number `nth` from now (1 = the next write,
 * fsync or rename) fail with errno `err` (0: EIO), as a full disk (ENOSPC) or a
 * failing device (EIO) would; only that one. 0 disables injection. */
TFM_API void tfm_debug_fail_file_op_after(uint64_t nth, int err);

TFM_END_DECLS

#endif
