/* Internal side of tfm_status: how library code reports errors.
 * status_set() formats a message naming what is at fault; a NULL status is allowed
 * everywhere so that internal helpers can be called without one. */
#ifndef TFM_CORE_STATUS_H
#define TFM_CORE_STATUS_H

#include "tfmini/status.h"

#define STATUS_MSG_MAX 1024

/* Fixed-size message so that reporting an error never allocates (an allocation
 * failure must still be reportable). */
struct tfm_status {
  tfm_code code;
  char msg[STATUS_MSG_MAX];
};

/* Sets code and printf-style message; returns `code` so callers can write
 * `return status_set(st, TFM_INVALID_ARGUMENT, "...")`. */
tfm_code status_set(tfm_status *st, tfm_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Marks success. Returns TFM_OK. */
tfm_code status_ok(tfm_status *st);
/* Prepends "context: " to the current message (used to add the op/file name
 * when an error travels up a layer). Returns the status' code. */
tfm_code status_prefix(tfm_status *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The code held by st, TFM_OK for NULL. */
static inline tfm_code status_code(const tfm_status *st) { return st ? st->code : TFM_OK; }

#endif
