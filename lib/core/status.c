/* tfm_status: error codes and messages. */
#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "tfmini/version.h"

tfm_code status_set(tfm_status *st, tfm_code code, const char *fmt, ...) {
  if (!st) return code;
  st->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(st->msg, sizeof st->msg, fmt, ap);
  va_end(ap);
  return code;
}

tfm_code status_ok(tfm_status *st) {
  if (st) {
    st->code = TFM_OK;
    st->msg[0] = '\0';
  }
  return TFM_OK;
}

tfm_code status_prefix(tfm_status *st, const char *fmt, ...) {
  if (!st) return TFM_UNKNOWN;
  char prefix[STATUS_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  if (n < 0) return st->code;
  /* Build "prefix: old" in place; truncation keeps the message's start. */
  size_t plen = (size_t)n < sizeof prefix - 1 ? (size_t)n : sizeof prefix - 1;
  if (plen + 2 >= sizeof st->msg) plen = sizeof st->msg - 3;
  size_t olen = strnlen(st->msg, sizeof st->msg - 1);
  if (plen + 2 + olen >= sizeof st->msg) olen = sizeof st->msg - 1 - plen - 2;
  memmove(st->msg + plen + 2, st->msg, olen);
  memcpy(st->msg, prefix, plen);
  st->msg[plen] = ':';
  st->msg[plen + 1] = ' ';
  st->msg[plen + 2 + olen] = '\0';
  return st->code;
}

TFM_API tfm_status *tfm_status_new(void) {
  tfm_status *st = mem_alloc(sizeof *st);
  if (st) status_ok(st);
  return st;
}

TFM_API void tfm_status_delete(tfm_status *status) { mem_free(status); }

TFM_API tfm_code tfm_status_code(const tfm_status *status) {
  return status ? status->code : TFM_INVALID_ARGUMENT;
}

TFM_API const char *tfm_status_message(const tfm_status *status) {
  return status ? status->msg : "status is NULL";
}

TFM_API void tfm_status_clear(tfm_status *status) { status_ok(status); }

TFM_API const char *tfm_code_name(tfm_code code) {
  static const char *const names[] = {
      "OK",        "CANCELLED",          "UNKNOWN",         "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"};
  if ((unsigned)code < sizeof names / sizeof names[0]) return names[code];
  return "UNKNOWN_CODE";
}

TFM_API const char *tfm_version(void) { return TFM_VERSION_STRING; }
