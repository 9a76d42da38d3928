/* Protobuf text format (what TensorFlow writes as .pbtxt) <-> binary wire format,
 * for the messages of lib/io/proto named by their full name ("tensorflow.GraphDef",
 * "tensorflow.MetaGraphDef", ...). Owned by lib/io/pbtext.c. */
#ifndef TFM_IO_PBTEXT_H
#define TFM_IO_PBTEXT_H

#include <stddef.h>

#include "core/status.h"
#include "io/bytebuf.h"

/* Parses text[0..len) as a message of `type_name` and appends its binary encoding to
 * out. INVALID_ARGUMENT naming `what`, the line and the field on a syntax error,
 * an unknown field or a value of the wrong kind; NOT_FOUND for an unknown type. */
tfm_code pbtext_to_binary(const char *type_name, const char *text, size_t len, bytebuf_t *out,
                          const char *what, tfm_status *st);
/* Appends the text format of the binary message data[0..len) of `type_name` to out
 * (TensorFlow's layout: two-space indents, fields in tag order). DATA_LOSS naming
 * `what` if the bytes are not a valid message. */
tfm_code pbtext_from_binary(const char *type_name, const void *data, size_t len, bytebuf_t *out,
                            const char *what, tfm_status *st);

#endif
