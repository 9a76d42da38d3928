/* libtfmini: watching training — TensorBoard event files, summary ops, graph pictures.
 *
 *  - A summary writer (tf.summary.FileWriter) appends Events to
 *    LOGDIR/events.out.tfevents.<10-digit unix time>.<hostname>, TensorFlow's own
 *    format (TFRecords of Event protos), so TensorBoard reads it unchanged. The first
 *    record is the "brain.Event:2" file version; graphs, meta graphs and summaries
 *    follow. Writes are buffered: they reach the file when `max_queue` events are
 *    pending, and the disk (fsync) every `flush_secs` (a background thread), on
 *    flush and on close. A crash loses at most the events of the last period, and a
 *    record cut in half by a crash is ignored by readers (ours and TensorBoard's).
 *  - An event reader lists the events of one file: tolerant of a truncated last
 *    record, strict (DATA_LOSS naming the file and offset) about corruption anywhere
 *    else.
 *  - Summary ops (tf.summary.scalar / histogram / merge / merge_all): a session run
 *    of them returns a serialized Summary as a scalar string tensor, ready for
 *    tfm_summary_writer_add_summary.
 *  - tfm_graph_to_dot draws a graph for Graphviz.
 *
 * Thread safety: a summary writer may be used from any number of threads at once
 * (every call takes the writer's lock). A reader belongs to one thread at a time.
 */
#ifndef TFMINI_SUMMARY_H
#define TFMINI_SUMMARY_H

#include "graph.h"
#include "io.h"

TFM_BEGIN_DECLS

/* tf.GraphKeys.SUMMARIES: the collection the summary builders add their outputs to. */
#define TFM_SUMMARIES "summaries"

/* ---- summary writer ---- */
typedef struct tfm_summary_writer tfm_summary_writer;

/* tf.summary.FileWriter(logdir, max_queue, flush_secs): creates `logdir` (and its
 * parents) when missing and a new event file in it, whose first record
 * (Event{wall_time: whole seconds now, file_version: "brain.Event:2"}) is written
 * at once. When a file of that name exists already (two writers in one second), a
 * suffix ".1", ".2"... is appended rather than overwriting it. max_queue <= 0 means
 * 10 and flush_secs <= 0 means 120 (TensorFlow's defaults). Caller owns the writer.
 * Errors: INVALID_ARGUMENT (NULL or empty logdir), NOT_FOUND / PERMISSION_DENIED /
 * INTERNAL naming the directory or file that cannot be made, RESOURCE_EXHAUSTED. */
TFM_API tfm_summary_writer *tfm_summary_writer_new(const char *logdir, int max_queue, double flush_secs,
                                                   tfm_status *status);
/* The event file's path, owned by the writer. Never fails (NULL for NULL). */
TFM_API const char *tfm_summary_writer_path(const tfm_summary_writer *writer);

/* add_summary(summary, global_step): `summary` holds a serialized Summary (the value
 * of a summary op, or one built by hand); it is checked to decode as one and stored
 * unchanged in an Event with the current wall time and `global_step`.
 * Errors: INVALID_ARGUMENT (NULL writer, bytes that are not a Summary),
 * FAILED_PRECONDITION (writer closed), I/O errors naming the file. */
TFM_API tfm_code tfm_summary_writer_add_summary(tfm_summary_writer *writer, const void *summary, size_t len,
                                                int64_t global_step, tfm_status *status);
/* Logs one scalar without building ops: Summary{value{tag, simple_value: value}}
 * (stored as float32, as TensorBoard's scalars are). Errors: INVALID_ARGUMENT (NULL
 * writer or tag), FAILED_PRECONDITION (closed), I/O errors naming the file. */
TFM_API tfm_code tfm_summary_writer_add_scalar(tfm_summary_writer *writer, const char *tag, double value,
                                               int64_t global_step, tfm_status *status);
/* Logs a histogram of `n` values without building ops (the HistogramSummary op's
 * bucketing). Errors: INVALID_ARGUMENT (NULL arguments, a NaN or infinite value,
 * named with its index), FAILED_PRECONDITION (closed), RESOURCE_EXHAUSTED, I/O errors. */
TFM_API tfm_code tfm_summary_writer_add_histogram(tfm_summary_writer *writer, const char *tag,
                                                  const double *values, int64_t n, int64_t global_step,
                                                  tfm_status *status);
/* add_graph(graph): an Event holding the graph's GraphDef with `_output_shapes` (as
 * FileWriter writes it). Errors: those of tfm_graph_to_graph_def, INVALID_ARGUMENT
 * (NULL), FAILED_PRECONDITION (closed), I/O errors. */
TFM_API tfm_code tfm_summary_writer_add_graph(tfm_summary_writer *writer, tfm_graph *graph,
                                              int64_t global_step, tfm_status *status);
/* The same from serialized GraphDef / MetaGraphDef bytes (e.g. a .pb or .meta file's
 * contents); they are checked to decode. Errors: INVALID_ARGUMENT (NULL, bytes that
 * are not such a message), FAILED_PRECONDITION (closed), I/O errors. */
TFM_API tfm_code tfm_summary_writer_add_graph_def(tfm_summary_writer *writer, const void *graph_def,
                                                  size_t len, int64_t global_step, tfm_status *status);
TFM_API tfm_code tfm_summary_writer_add_meta_graph(tfm_summary_writer *writer, const void *meta_graph_def,
                                                   size_t len, int64_t global_step, tfm_status *status);
/* The MetaGraphDef of `graph` (graph with _output_shapes, collections, no saver),
 * which tf.summary.FileWriter(logdir, graph) writes right after the GraphDef.
 * Errors: INVALID_ARGUMENT (NULL, a collection that cannot be encoded),
 * FAILED_PRECONDITION (closed), RESOURCE_EXHAUSTED, I/O errors. */
TFM_API tfm_code tfm_summary_writer_add_meta_graph_from(tfm_summary_writer *writer, tfm_graph *graph,
                                                        int64_t global_step, tfm_status *status);
/* Appends a whole serialized Event as given (session logs, run metadata...).
 * Errors: INVALID_ARGUMENT (NULL, not an Event), FAILED_PRECONDITION, I/O errors. */
TFM_API tfm_code tfm_summary_writer_add_event(tfm_summary_writer *writer, const void *event, size_t len,
                                              tfm_status *status);
/* Writes every pending event to the file and syncs it to disk.
 * Errors: INVALID_ARGUMENT (NULL), I/O errors naming the file (OK when closed). */
TFM_API tfm_code tfm_summary_writer_flush(tfm_summary_writer *writer, tfm_status *status);
/* Flushes and closes the file; later adds fail with FAILED_PRECONDITION. Closing
 * twice is allowed. Errors: INVALID_ARGUMENT (NULL), I/O errors naming the file. */
TFM_API tfm_code tfm_summary_writer_close(tfm_summary_writer *writer, tfm_status *status);
/* Closes (errors are lost: call tfm_summary_writer_close to see them) and frees the
 * writer. NULL allowed. No other thread may be using it. */
TFM_API void tfm_summary_writer_delete(tfm_summary_writer *writer);

/* ---- event reader ---- */
typedef struct tfm_event_reader tfm_event_reader;

/* What an Event holds (its `what` field). */
typedef enum tfm_event_kind {
  TFM_EVENT_EMPTY = 0,        /* none of the fields below (wall_time/step only) */
  TFM_EVENT_FILE_VERSION = 1, /* data: the version text, e.g. "brain.Event:2" */
  TFM_EVENT_GRAPH_DEF = 2,    /* data: a serialized GraphDef */
  TFM_EVENT_SUMMARY = 3,      /* data: the serialized Summary; values listed below */
  TFM_EVENT_META_GRAPH_DEF = 4, /* data: a serialized MetaGraphDef */
  TFM_EVENT_OTHER = 5         /* log message, session log, run metadata: see the record */
} tfm_event_kind;

/* What a Summary value holds. */
typedef enum tfm_summary_value_kind {
  TFM_VALUE_SIMPLE = 1,    /* simple_value (a scalar) */
  TFM_VALUE_HISTOGRAM = 2, /* histo */
  TFM_VALUE_OTHER = 3      /* image, audio, tensor ... */
} tfm_summary_value_kind;

/* Opens an event file (or any TFRecord file of Events). Caller owns the reader.
 * Errors: INVALID_ARGUMENT (NULL path), NOT_FOUND, RESOURCE_EXHAUSTED. */
TFM_API tfm_event_reader *tfm_event_reader_new(const char *path, tfm_status *status);
/* Moves to the next event, which the accessors below then describe.
 * Errors: OUT_OF_RANGE at the end of the file — also when the last record is
 * incomplete (tfm_event_reader_truncated then says 1; a later call retries it, e.g.
 * once a writer has finished it); DATA_LOSS naming the file and the record's offset
 * when a CRC does not match or the record is not an Event. */
TFM_API tfm_code tfm_event_reader_next(tfm_event_reader *reader, tfm_status *status);
/* 1 when the last tfm_event_reader_next stopped at an incomplete record. Never fails. */
TFM_API int tfm_event_reader_truncated(const tfm_event_reader *reader);
/* The current event (after tfm_event_reader_next returned OK). Pointers are owned by
 * the reader and valid until the next call to tfm_event_reader_next. These never
 * fail: without a current event they return 0 / NULL. The offset is where the
 * event's record starts in the file. */
TFM_API uint64_t tfm_event_reader_offset(const tfm_event_reader *reader);
TFM_API double tfm_event_reader_wall_time(const tfm_event_reader *reader);
TFM_API int64_t tfm_event_reader_step(const tfm_event_reader *reader);
TFM_API tfm_event_kind tfm_event_reader_kind(const tfm_event_reader *reader);
/* The payload of the kind (see tfm_event_kind); NULL with *len 0 for EMPTY/OTHER. */
TFM_API const void *tfm_event_reader_data(const tfm_event_reader *reader, size_t *len);
/* The whole serialized Event. */
TFM_API const void *tfm_event_reader_record(const tfm_event_reader *reader, size_t *len);
/* Summary values of a TFM_EVENT_SUMMARY event (0 for other kinds); `index` out of
 * range gives NULL / 0 / NaN / -1. */
TFM_API int tfm_event_reader_num_values(const tfm_event_reader *reader);
TFM_API const char *tfm_event_reader_value_tag(const tfm_event_reader *reader, int index);
TFM_API tfm_summary_value_kind tfm_event_reader_value_kind(const tfm_event_reader *reader, int index);
/* simple_value (NaN when the value is not a simple one). */
TFM_API double tfm_event_reader_value_simple(const tfm_event_reader *reader, int index);
/* A histogram value: stats[5] (may be NULL) receives min, max, num, sum, sum_squares;
 * *limits and *counts (may be NULL) its bucket arrays; returns the bucket count, -1
 * when the value is not a histogram. */
TFM_API int tfm_event_reader_value_histogram(const tfm_event_reader *reader, int index, double *stats,
                                             const double **limits, const double **counts);
TFM_API void tfm_event_reader_delete(tfm_event_reader *reader);

/* ---- summary ops ----
 * Each builder adds its op to `g` (NULL = the default graph) and its output to the
 * TFM_SUMMARIES collection; running it yields a scalar string tensor holding a
 * serialized Summary. Errors: INVALID_ARGUMENT (NULL or empty name, NULL input,
 * wrong dtype), and those of building ops. */

/* tf.summary.scalar(name, tensor): ops "<name>/tags" (Const) and the ScalarSummary
 * "<name>", both in a unique name scope; the tag is that scope's name (so a second
 * "loss" is tagged "loss_1", as in TensorFlow). `tensor` must be a real numeric
 * scalar. A run fails with INVALID_ARGUMENT when the value is not a scalar. */
TFM_API tfm_output *tfm_summary_scalar(tfm_graph *g, const char *name, tfm_output *tensor, tfm_status *status);
/* tf.summary.histogram(name, values): "<name>/tag" and the HistogramSummary "<name>".
 * `values`: any shape of a real numeric type. Buckets follow TensorFlow's default
 * limits (±1e-12 * 1.1^k up to 1e20, 0 and ±DBL_MAX), runs of empty buckets merged.
 * A run fails with INVALID_ARGUMENT naming the tag when a value is NaN or infinite. */
TFM_API tfm_output *tfm_summary_histogram(tfm_graph *g, const char *name, tfm_output *values, tfm_status *status);
/* tf.summary.merge(inputs, name): the MergeSummary "<name or Merge>/MergeSummary"
 * joining the values of `n` serialized Summaries (string tensors of any shape).
 * It is not added to TFM_SUMMARIES. A run fails with INVALID_ARGUMENT on a
 * duplicate tag or bytes that are not a Summary. */
TFM_API tfm_output *tfm_summary_merge(tfm_graph *g, tfm_output *const *inputs, int n, const char *name,
                                      tfm_status *status);
/* tf.summary.merge_all(key): merges every output in collection `key` (NULL =
 * TFM_SUMMARIES); NULL with status OK when the collection is empty (TF's None).
 * Errors: those of tfm_summary_merge, INVALID_ARGUMENT (an item that is not an output). */
TFM_API tfm_output *tfm_summary_merge_all(tfm_graph *g, const char *key, tfm_status *status);

/* ---- graph pictures ---- */
/* The graph in Graphviz's DOT language (render with `dot -Tsvg`): one node per op
 * labelled with its name (left out when it is just the type, "Mul_3"), type and
 * the dtype and shape of its first output; variables drawn as filled boxes,
 * placeholders as filled ellipses (inputs), constants small and grey; each name
 * scope a cluster (nested as the scopes are); data edges solid and labelled with the
 * shape, control edges dashed. Caller owns the buffer (tfm_buffer_delete).
 * Errors: INVALID_ARGUMENT (NULL graph), RESOURCE_EXHAUSTED. */
TFM_API tfm_buffer *tfm_graph_to_dot(tfm_graph *g, tfm_status *status);

TFM_END_DECLS

#endif
