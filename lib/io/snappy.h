/* A decompressor for raw snappy (no framing), the compression some TensorFlow
 * builds apply to SSTable blocks. Written for hostile input: every length and
 * offset is checked against the input and output bounds before use. */
#ifndef TFM_IO_SNAPPY_H
#define TFM_IO_SNAPPY_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* Reads the uncompressed length that prefixes a snappy stream. DATA_LOSS when the
 * prefix is malformed or claims more than the stream could possibly expand to.
 * `what` names the data in messages (e.g. "block at 0 of 'x.index'"). */
tfm_code snappy_decoded_length(const uint8_t *in, size_t n, size_t *len, const char *what,
                                    tfm_status *st);

/* Decompresses into out[0..out_len); out_len must be the length reported above.
 * DATA_LOSS on any malformed element, offset before the start, or a length that
 * does not add up exactly. */
tfm_code snappy_decode(const uint8_t *in, size_t n, uint8_t *out, size_t out_len,
                           const char *what, tfm_status *st);

#endif
