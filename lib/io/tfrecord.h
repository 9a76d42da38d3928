/* TFRecord framing (TensorBoard event files, tf.data record files), formats.md 3.9:
 *   u64 length | u32 masked crc32c(length bytes) | data | u32 masked crc32c(data)
 * The reader is strict about CRCs but treats an incomplete last record as the end
 * of the file (a writer may still be appending to it) and can resume there later. */
#ifndef TFM_IO_TFRECORD_H
#define TFM_IO_TFRECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "io/bytebuf.h"

#define TFRECORD_HEADER 12
#define TFRECORD_FOOTER 4

/* Appends one framed record to out. */
void tfrecord_frame(bytebuf_t *out, const void *data, size_t len);

/* ---- writer ---- */
typedef struct tfrecord_writer tfrecord_writer_t;

/* Creates (or truncates) path. Errors name the file. */
tfrecord_writer_t *tfrecord_writer_open(const char *path, tfm_status *st);
/* Buffers one record; written to the file at flush/close or when the buffer is large. */
tfm_code tfrecord_writer_write(tfrecord_writer_t *w, const void *data, size_t len,
                               tfm_status *st);
/* Hands buffered records to the OS; with `sync`, also fsyncs. */
tfm_code tfrecord_writer_flush(tfrecord_writer_t *w, bool sync, tfm_status *st);
/* Flushes and closes; frees w even on error. NULL-safe. */
tfm_code tfrecord_writer_close(tfrecord_writer_t *w, tfm_status *st);

/* ---- reader ---- */
typedef struct tfrecord_reader tfrecord_reader_t;

tfrecord_reader_t *tfrecord_reader_open(const char *path, tfm_status *st);
/* The next record: *data (owned by the reader, valid until the next call) and
 * *len. OUT_OF_RANGE at the end of the file, including an incomplete last record
 * (then tfrecord_reader_truncated() is true and a later call retries from the
 * record's start, e.g. once the writer has finished it). DATA_LOSS naming the file
 * and offset when a CRC does not match. */
tfm_code tfrecord_reader_next(tfrecord_reader_t *r, const uint8_t **data, size_t *len,
                              tfm_status *st);
bool tfrecord_reader_truncated(const tfrecord_reader_t *r);
uint64_t tfrecord_reader_offset(const tfrecord_reader_t *r); /* start of the next record */
void tfrecord_reader_close(tfrecord_reader_t *r);

#endif
