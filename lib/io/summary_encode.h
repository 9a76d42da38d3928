/* The bytes of TensorBoard's messages, written by hand (formats.md 3.9): Events
 * around a payload, Summary values for scalars and histograms, and the histogram
 * itself with TensorFlow's default bucket limits. Encoding directly keeps the
 * output byte-identical to TensorFlow's (proto3: zero scalars omitted, doubles
 * packed) and has no field-size limits. Decoding goes through pbio (nanopb). */
#ifndef TFM_IO_SUMMARY_ENCODE_H
#define TFM_IO_SUMMARY_ENCODE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "io/bytebuf.h"

/* Event field numbers of the payloads (event.proto). */
enum {
  EVENT_FILE_VERSION = 3,
  EVENT_GRAPH_DEF = 4,
  EVENT_SUMMARY = 5,
  EVENT_META_GRAPH_DEF = 9
};

/* Appends Event{wall_time, step, <field>: data[0..len)} (the payload bytes are a
 * string, bytes or an embedded message: all length-delimited). */
void event_encode(bytebuf_t *out, double wall_time, int64_t step, int field, const void *data,
                  size_t len);

/* TensorFlow's default histogram: limits -DBL_MAX, -1e20*..., -1e-12, 0, 1e-12,
 * 1e-12*1.1, ... (<1e20), DBL_MAX. Bucket i counts values v with
 * limit[i-1] <= v < limit[i] (bucket 0: v < limit[0]). */
int histogram_num_buckets(void);
const double *histogram_limits(void);

typedef struct histogram {
  double min, max, num, sum, sum_squares;
  double *counts; /* histogram_num_buckets() entries, mem_alloc'ed */
} histogram_t;

/* An empty histogram (min DBL_MAX, max -DBL_MAX). RESOURCE_EXHAUSTED. */
tfm_code histogram_init(histogram_t *h, tfm_status *st);
/* Adds one finite value (the caller rejects NaN and infinities). */
void histogram_add(histogram_t *h, double v);
void histogram_free(histogram_t *h);

/* Appends one `value` entry (field 1 of Summary) to out: a concatenation of these
 * is a serialized Summary. */
void summary_append_scalar(bytebuf_t *out, const char *tag, size_t tag_len, float value);
/* The histogram as TensorFlow encodes it: runs of empty buckets collapse into one
 * entry carrying the run's last limit. */
void summary_append_histogram(bytebuf_t *out, const char *tag, size_t tag_len, const histogram_t *h);

/* ---- reading ---- */
/* Reads the next field of a message at *p (not past end): its number, and for
 * length-delimited fields (wire type 2) the bytes in *data, *len (else NULL, 0).
 * Advances *p. False when the bytes are malformed. */
bool wire_next_field(const uint8_t **p, const uint8_t *end, uint32_t *field, const uint8_t **data, size_t *len);
/* Reads the next field of a serialized Summary: for a `value` entry, *tag and *tag_len
 * receive its tag (empty when it has none); for another field *tag is NULL.
 * False when the bytes are malformed. */
bool summary_next_value(const uint8_t **p, const uint8_t *end, const uint8_t **tag, size_t *tag_len);

#endif
