/* The C type of "blob" protobuf fields (see proto/tfproto.options): bytes that
 * may be large, held as a pointer + length with no copy. After decoding, `data`
 * points into the buffer that was decoded (keep it alive while the message is
 * used); when encoding, it points at the caller's bytes. Never freed by
 * pb_release. */
#ifndef TFM_IO_PBIO_BLOB_H
#define TFM_IO_PBIO_BLOB_H

#include <stddef.h>
#include <stdint.h>

typedef struct pbio_blob {
  const uint8_t *data;
  size_t len;
} pbio_blob_t;

#endif
