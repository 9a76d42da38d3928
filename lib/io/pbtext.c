/* Protobuf text format: placeholder until the converter lands. */
#include "io/pbtext.h"

tfm_code pbtext_to_binary(const char *type_name, const char *text, size_t len, bytebuf_t *out,
                          const char *what, tfm_status *st) {
  (void)type_name, (void)text, (void)len, (void)out;
  return status_set(st, TFM_UNIMPLEMENTED, "%s: text format is not implemented yet", what);
}
tfm_code pbtext_from_binary(const char *type_name, const void *data, size_t len, bytebuf_t *out,
                            const char *what, tfm_status *st) {
  (void)type_name, (void)data, (void)len, (void)out;
  return status_set(st, TFM_UNIMPLEMENTED, "%s: text format is not implemented yet", what);
}
