/* The C type of "blob" protobuf fields (see proto/tfproto.options): bytes that
 * may be large, held as a pointer + length with no copy. After decoding, `data`
 * points into the buffer that was decoded (keep it alive while the message is
 * used); when encoding, it points at the caller's bytes. Never freed by
 * pb_release. */
#ifndef TFM_IO_PBIO_BLOB_H
#define TFM_IO_PBIO_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pbio_blob {
  const uint8_t *data;
  size_t len;
} pbio_blob_t;

/* The C type of "streamed" repeated message fields (GraphDef.node): elements are
 * never gathered into a nanopb array (whose 16-bit count would cap them).
 * Decoding calls `each` once per element with the element's encoded bytes (a
 * slice of the buffer being decoded); a NULL `each` fails the decode rather than
 * drop elements. Encoding writes `encoded` as is: the caller has put there the
 * whole field, every element with its tag and length (see pbio_encode_submessage). */
typedef struct pbio_list {
  bool (*each)(void *ctx, const uint8_t *data, size_t len);
  void *ctx;
  pbio_blob_t encoded;
} pbio_list_t;

#endif
