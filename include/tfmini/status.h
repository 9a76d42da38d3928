/* libtfmini: status codes and the status object that carries error messages. */
#ifndef TFMINI_STATUS_H
#define TFMINI_STATUS_H

#include "defs.h"

TFM_BEGIN_DECLS

/* The TensorFlow / absl canonical codes, with the same numbers. */
typedef enum tfm_code {
  TFM_OK = 0,
  TFM_CANCELLED = 1,
  TFM_UNKNOWN = 2,
  TFM_INVALID_ARGUMENT = 3,
  TFM_DEADLINE_EXCEEDED = 4,
  TFM_NOT_FOUND = 5,
  TFM_ALREADY_EXISTS = 6,
  TFM_PERMISSION_DENIED = 7,
  TFM_RESOURCE_EXHAUSTED = 8,
  TFM_FAILED_PRECONDITION = 9,
  TFM_ABORTED = 10,
  TFM_OUT_OF_RANGE = 11,
  TFM_UNIMPLEMENTED = 12,
  TFM_INTERNAL = 13,
  TFM_UNAVAILABLE = 14,
  TFM_DATA_LOSS = 15
} tfm_code;

typedef struct tfm_status tfm_status;

/* A new status holding TFM_OK. Owned by the caller; free with tfm_status_delete.
 * Returns NULL only when memory is exhausted. Thread safety: a status object must
 * not be shared by calls running at the same time. */
TFM_API tfm_status *tfm_status_new(void);
/* Frees a status. NULL is allowed. */
TFM_API void tfm_status_delete(tfm_status *status);
/* The code of the last call that wrote this status. */
TFM_API tfm_code tfm_status_code(const tfm_status *status);
/* The message of the last failed call ("" when OK). The pointer is owned by the
 * status and valid until the status is next written or deleted. */
TFM_API const char *tfm_status_message(const tfm_status *status);
/* Resets the status to TFM_OK with an empty message. */
TFM_API void tfm_status_clear(tfm_status *status);
/* The name of a code, e.g. "INVALID_ARGUMENT". Static storage; never NULL. */
TFM_API const char *tfm_code_name(tfm_code code);

/* The library's version string, e.g. "0.1.0" (static storage). Compare with
 * TFM_VERSION_STRING from <tfmini/version.h> to detect a header/library mismatch. */
TFM_API const char *tfm_version(void);

TFM_END_DECLS

#endif
