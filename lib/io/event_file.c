/* TensorBoard event files: the summary writer and the event reader of
 * tfmini/summary.h. The writer frames Events with tfrecord.c and keeps them in
 * memory until a flush, which a background thread does every flush_secs; the
 * reader decodes each record with pbio. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/status.h"
#include "io/graph_def.h"
#include "io/meta_graph.h"
#include "io/pbio.h"
#include "io/summary_encode.h"
#include "io/tfrecord.h"
#include "tfmini/summary.h"

#define DEFAULT_MAX_QUEUE 10
#define DEFAULT_FLUSH_SECS 120.0
#define FILE_VERSION "brain.Event:2"

struct tfm_summary_writer {
  pthread_mutex_t lock;
  pthread_cond_t wake;      /* tells the flusher to stop */
  pthread_t flusher;
  bool has_flusher, stopping;
  tfrecord_writer_t *file;  /* NULL once closed */
  char *path;
  int max_queue, pending;   /* events written since the last flush */
  bool unsynced;            /* flushed to the OS but not yet fsynced */
  double flush_secs;
  tfm_status bg;            /* the flusher's last error, reported by the next call */
};

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* mkdir -p: every missing component of dir. */
static tfm_code make_dirs(const char *dir, tfm_status *st) {
  char *p = mem_strdup(dir);
  if (!p) return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory for log directory '%s'", dir);
  tfm_code code = TFM_OK;
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0') continue;
    char c = *s;
    *s = '\0';
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      code = status_set(st, errno == EACCES ? TFM_PERMISSION_DENIED : errno == ENOENT ? TFM_NOT_FOUND : TFM_INTERNAL,
                        "cannot create log directory '%s': %s", p, strerror(errno));
      break;
    }
    *s = c;
    if (c == '\0') break;
  }
  struct stat sb;
  if (code == TFM_OK && (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)))
    code = status_set(st, TFM_NOT_FOUND, "log directory '%s' is not a directory", dir);
  mem_free(p);
  return code;
}

/* Creates a file that did not exist: events.out.tfevents.<time>.<host>[.<k>]. */
static char *create_event_file(const char *logdir, time_t t, tfm_status *st) {
  char host[256];
  if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "localhost");
  host[sizeof host - 1] = '\0';
  size_t cap = strlen(logdir) + strlen(host) + 64;
  char *path = mem_alloc(cap);
  if (!path) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory for an event file name in '%s'", logdir);
    return NULL;
  }
  for (int k = 0; k < 1000; k++) {
    int n = snprintf(path, cap, "%s/events.out.tfevents.%010lld.%s", logdir, (long long)t, host);
    if (k > 0) snprintf(path + n, cap - (size_t)n, ".%d", k);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      close(fd);
      return path;
    }
    if (errno != EEXIST) {
      status_set(st, errno == EACCES ? TFM_PERMISSION_DENIED : TFM_INTERNAL, "cannot create event file '%s': %s",
                 path, strerror(errno));
      break;
    }
  }
  if (status_code(st) == TFM_OK)
    status_set(st, TFM_ALREADY_EXISTS, "no free event file name in '%s'", logdir);
  mem_free(path);
  return NULL;
}

/* Hands pending records to the file (write(2): they survive a crash of the process)
 * and, with `sync`, to the disk (fsync: they survive a crash of the machine). Called
 * with the lock held. */
static tfm_code flush_locked(tfm_summary_writer *w, bool sync, tfm_status *st) {
  if (!w->file) return TFM_OK;
  w->pending = 0;
  w->unsynced = !sync;
  return tfrecord_writer_flush(w->file, sync, st);
}

static void *flusher_main(void *arg) {
  tfm_summary_writer *w = arg;
  pthread_mutex_lock(&w->lock);
  while (!w->stopping) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    double secs = floor(w->flush_secs);
    until.tv_sec += (time_t)secs;
    until.tv_nsec += (long)((w->flush_secs - secs) * 1e9);
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    int rc = 0;
    while (!w->stopping && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&w->wake, &w->lock, &until);
    if (w->stopping) break;
    if ((w->pending > 0 || w->unsynced) && w->bg.code == TFM_OK) flush_locked(w, true, &w->bg);
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

TFM_API tfm_summary_writer *tfm_summary_writer_new(const char *logdir, int max_queue, double flush_secs,
                                                   tfm_status *status) {
  status_ok(status);
  if (!logdir || !*logdir) {
    status_set(status, TFM_INVALID_ARGUMENT, "tfm_summary_writer_new: no log directory given");
    return NULL;
  }
  if (make_dirs(logdir, status) != TFM_OK) return NULL;
  tfm_summary_writer *w = mem_calloc(1, sizeof *w);
  if (!w) {
    status_set(status, TFM_RESOURCE_EXHAUSTED, "out of memory for a summary writer on '%s'", logdir);
    return NULL;
  }
  w->max_queue = max_queue > 0 ? max_queue : DEFAULT_MAX_QUEUE;
  w->flush_secs = flush_secs > 0 && isfinite(flush_secs) ? flush_secs : DEFAULT_FLUSH_SECS;
  if (w->flush_secs > 1e7) w->flush_secs = 1e7; /* a deadline that fits a time_t */
  double t0 = now_seconds();
  w->path = create_event_file(logdir, (time_t)t0, status);
  if (!w->path || !(w->file = tfrecord_writer_open(w->path, status))) goto fail;
  /* The file version record, flushed at once: an empty run is still a valid file. */
  bytebuf_t ev = BYTEBUF_INIT;
  event_encode(&ev, floor(t0), 0, EVENT_FILE_VERSION, FILE_VERSION, strlen(FILE_VERSION));
  tfm_code code = ev.failed ? status_set(status, TFM_RESOURCE_EXHAUSTED, "out of memory writing '%s'", w->path)
                            : tfrecord_writer_write(w->file, ev.data, ev.len, status);
  bytebuf_free(&ev);
  if (code != TFM_OK || tfrecord_writer_flush(w->file, false, status) != TFM_OK) goto fail;

  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w->wake, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&w->lock, NULL);
  if (pthread_create(&w->flusher, NULL, flusher_main, w) != 0) {
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    status_set(status, TFM_RESOURCE_EXHAUSTED, "cannot start the flush thread of '%s'", w->path);
    goto fail;
  }
  w->has_flusher = true;
  return w;
fail:
  tfrecord_writer_close(w->file, NULL);
  mem_free(w->path);
  mem_free(w);
  return NULL;
}

TFM_API const char *tfm_summary_writer_path(const tfm_summary_writer *writer) {
  return writer ? writer->path : NULL;
}

/* Appends Event{now, step, field: data}, flushing when max_queue events wait. */
static tfm_code write_event(tfm_summary_writer *w, int64_t step, int field, const void *data, size_t len,
                            tfm_status *st) {
  bytebuf_t ev = BYTEBUF_INIT;
  if (field) event_encode(&ev, now_seconds(), step, field, data, len);
  else bytebuf_append(&ev, data, len);
  if (ev.failed) {
    bytebuf_free(&ev);
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory for a %zu-byte event", len);
  }
  pthread_mutex_lock(&w->lock);
  tfm_code code;
  if (w->bg.code != TFM_OK) {
    code = status_set(st, w->bg.code, "%s", w->bg.msg);
    w->bg.code = TFM_OK; /* reported once */
  } else if (!w->file) {
    code = status_set(st, TFM_FAILED_PRECONDITION, "summary writer of '%s' is closed", w->path);
  } else {
    code = tfrecord_writer_write(w->file, ev.data, ev.len, st);
    /* A full queue goes to the OS only; the period's flush makes it durable. */
    if (code == TFM_OK && ++w->pending >= w->max_queue) code = flush_locked(w, false, st);
  }
  pthread_mutex_unlock(&w->lock);
  bytebuf_free(&ev);
  return code;
}

/* Checks the arguments of a public call (and starts its status afresh). */
static bool writer_ok(const tfm_summary_writer *w, const void *p, const char *fn, tfm_status *st) {
  if (w && p) return status_ok(st) == TFM_OK;
  status_set(st, TFM_INVALID_ARGUMENT, "%s: %s is NULL", fn, w ? "the data" : "the writer");
  return false;
}

/* Changes the code of the error in st, keeping its message. */
static tfm_code recode(tfm_status *st, tfm_code code) {
  if (!st) return code;
  char msg[STATUS_MSG_MAX];
  memcpy(msg, st->msg, sizeof msg);
  return status_set(st, code, "%s", msg);
}

/* Checks that bytes decode as a message of `type` (named `what`). */
static tfm_code check_message(const pb_msgdesc_t *type, size_t size, const void *data, size_t len,
                              const char *what, tfm_status *st) {
  union {
    tensorflow_Event ev;
    tensorflow_Summary s;
    tensorflow_MetaGraphDef mg;
  } m;
  if (pbio_decode(type, &m, size, data, len, what, st) != TFM_OK)
    return recode(st, TFM_INVALID_ARGUMENT);
  pbio_release(type, &m);
  return TFM_OK;
}
#define CHECK_MESSAGE(T, data, len, what, st) \
  check_message(T##_fields, sizeof(T), (data), (len), (what), (st))

TFM_API tfm_code tfm_summary_writer_add_summary(tfm_summary_writer *writer, const void *summary, size_t len,
                                                int64_t global_step, tfm_status *status) {
  if (!writer_ok(writer, summary || !len ? (const void *)1 : NULL, "tfm_summary_writer_add_summary", status))
    return status_code(status);
  if (CHECK_MESSAGE(tensorflow_Summary, summary, len, "add_summary: Summary", status) != TFM_OK)
    return status_code(status);
  return write_event(writer, global_step, EVENT_SUMMARY, summary, len, status);
}

TFM_API tfm_code tfm_summary_writer_add_scalar(tfm_summary_writer *writer, const char *tag, double value,
                                               int64_t global_step, tfm_status *status) {
  if (!writer_ok(writer, tag, "tfm_summary_writer_add_scalar", status)) return status_code(status);
  bytebuf_t s = BYTEBUF_INIT;
  summary_append_scalar(&s, tag, strlen(tag), (float)value);
  tfm_code code = s.failed ? status_set(status, TFM_RESOURCE_EXHAUSTED, "out of memory for scalar '%s'", tag)
                           : write_event(writer, global_step, EVENT_SUMMARY, s.data, s.len, status);
  bytebuf_free(&s);
  return code;
}

TFM_API tfm_code tfm_summary_writer_add_histogram(tfm_summary_writer *writer, const char *tag,
                                                  const double *values, int64_t n, int64_t global_step,
                                                  tfm_status *status) {
  if (!writer_ok(writer, tag, "tfm_summary_writer_add_histogram", status)) return status_code(status);
  if (n < 0 || (n > 0 && !values))
    return status_set(status, TFM_INVALID_ARGUMENT, "histogram '%s': %lld values given as %p", tag, (long long)n,
                      (const void *)values);
  histogram_t h;
  if (histogram_init(&h, status) != TFM_OK) return status_code(status);
  for (int64_t i = 0; i < n; i++) {
    if (!isfinite(values[i])) {
      histogram_free(&h);
      return status_set(status, TFM_INVALID_ARGUMENT, "histogram '%s': value %lld is %g (NaN or infinite)", tag,
                        (long long)i, values[i]);
    }
    histogram_add(&h, values[i]);
  }
  bytebuf_t s = BYTEBUF_INIT;
  summary_append_histogram(&s, tag, strlen(tag), &h);
  histogram_free(&h);
  tfm_code code = s.failed ? status_set(status, TFM_RESOURCE_EXHAUSTED, "out of memory for histogram '%s'", tag)
                           : write_event(writer, global_step, EVENT_SUMMARY, s.data, s.len, status);
  bytebuf_free(&s);
  return code;
}

static bool any_node(void *ctx, tensorflow_NodeDef *node, tfm_status *st) {
  (void)ctx, (void)node, (void)st;
  return true;
}

TFM_API tfm_code tfm_summary_writer_add_graph_def(tfm_summary_writer *writer, const void *graph_def,
                                                  size_t len, int64_t global_step, tfm_status *status) {
  if (!writer_ok(writer, graph_def, "tfm_summary_writer_add_graph_def", status)) return status_code(status);
  /* GraphDef nodes are streamed (no size cap): walk them to check the bytes. */
  if (graph_def_for_each_node(graph_def, len, any_node, NULL, NULL, "add_graph: GraphDef", status) != TFM_OK)
    return recode(status, TFM_INVALID_ARGUMENT);
  return write_event(writer, global_step, EVENT_GRAPH_DEF, graph_def, len, status);
}

TFM_API tfm_code tfm_summary_writer_add_graph(tfm_summary_writer *writer, tfm_graph *graph,
                                              int64_t global_step, tfm_status *status) {
  if (!writer_ok(writer, graph, "tfm_summary_writer_add_graph", status)) return status_code(status);
  /* With _output_shapes, as FileWriter writes it: TensorBoard labels edges with them. */
  bytebuf_t def = BYTEBUF_INIT;
  tfm_code code = graph_def_encode(graph, true, &def, status);
  if (code == TFM_OK) code = write_event(writer, global_step, EVENT_GRAPH_DEF, def.data, def.len, status);
  bytebuf_free(&def);
  return code;
}

TFM_API tfm_code tfm_summary_writer_add_meta_graph(tfm_summary_writer *writer, const void *meta_graph_def,
                                                   size_t len, int64_t global_step, tfm_status *status) {
  if (!writer_ok(writer, meta_graph_def, "tfm_summary_writer_add_meta_graph", status)) return status_code(status);
  if (CHECK_MESSAGE(tensorflow_MetaGraphDef, meta_graph_def, len, "add_meta_graph: MetaGraphDef", status) != TFM_OK)
    return status_code(status);
  return write_event(writer, global_step, EVENT_META_GRAPH_DEF, meta_graph_def, len, status);
}

TFM_API tfm_code tfm_summary_writer_add_meta_graph_from(tfm_summary_writer *writer, tfm_graph *graph,
                                                        int64_t global_step, tfm_status *status) {
  if (!writer_ok(writer, graph, "tfm_summary_writer_add_meta_graph_from", status)) return status_code(status);
  bytebuf_t def = BYTEBUF_INIT;
  tfm_code code = meta_graph_encode(graph, NULL, NULL, 0, &def, status);
  if (code == TFM_OK) code = write_event(writer, global_step, EVENT_META_GRAPH_DEF, def.data, def.len, status);
  bytebuf_free(&def);
  return code;
}

TFM_API tfm_code tfm_summary_writer_add_event(tfm_summary_writer *writer, const void *event, size_t len,
                                              tfm_status *status) {
  if (!writer_ok(writer, event, "tfm_summary_writer_add_event", status)) return status_code(status);
  if (CHECK_MESSAGE(tensorflow_Event, event, len, "add_event: Event", status) != TFM_OK) return status_code(status);
  return write_event(writer, 0, 0, event, len, status);
}

TFM_API tfm_code tfm_summary_writer_flush(tfm_summary_writer *writer, tfm_status *status) {
  if (!writer) return status_set(status, TFM_INVALID_ARGUMENT, "tfm_summary_writer_flush: the writer is NULL");
  status_ok(status);
  pthread_mutex_lock(&writer->lock);
  tfm_code code;
  if (writer->bg.code != TFM_OK) {
    code = status_set(status, writer->bg.code, "%s", writer->bg.msg);
    writer->bg.code = TFM_OK;
  } else {
    code = flush_locked(writer, true, status);
  }
  pthread_mutex_unlock(&writer->lock);
  return code;
}

TFM_API tfm_code tfm_summary_writer_close(tfm_summary_writer *writer, tfm_status *status) {
  if (!writer) return status_set(status, TFM_INVALID_ARGUMENT, "tfm_summary_writer_close: the writer is NULL");
  status_ok(status);
  pthread_mutex_lock(&writer->lock);
  writer->stopping = true;
  pthread_cond_signal(&writer->wake);
  tfm_code code = TFM_OK;
  if (writer->bg.code != TFM_OK) {
    code = status_set(status, writer->bg.code, "%s", writer->bg.msg);
    writer->bg.code = TFM_OK;
  }
  if (writer->file) {
    tfm_code c = flush_locked(writer, true, code == TFM_OK ? status : NULL);
    tfm_code c2 = tfrecord_writer_close(writer->file, code == TFM_OK && c == TFM_OK ? status : NULL);
    writer->file = NULL;
    if (code == TFM_OK) code = c != TFM_OK ? c : c2;
  }
  pthread_mutex_unlock(&writer->lock);
  if (writer->has_flusher) {
    pthread_join(writer->flusher, NULL);
    writer->has_flusher = false;
  }
  return code;
}

TFM_API void tfm_summary_writer_delete(tfm_summary_writer *writer) {
  if (!writer) return;
  tfm_summary_writer_close(writer, NULL);
  pthread_cond_destroy(&writer->wake);
  pthread_mutex_destroy(&writer->lock);
  mem_free(writer->path);
  mem_free(writer);
}

/* ---- reader ---- */
struct tfm_event_reader {
  tfrecord_reader_t *records;
  char *path;
  bool has_event;
  uint64_t offset;
  const uint8_t *record;    /* owned by `records`, valid until the next read */
  size_t record_len;
  tensorflow_Event ev;
  const uint8_t *payload;
  size_t payload_len;
};

TFM_API tfm_event_reader *tfm_event_reader_new(const char *path, tfm_status *status) {
  status_ok(status);
  if (!path) {
    status_set(status, TFM_INVALID_ARGUMENT, "tfm_event_reader_new: the path is NULL");
    return NULL;
  }
  tfm_event_reader *r = mem_calloc(1, sizeof *r);
  if (!r || !(r->path = mem_strdup(path))) {
    mem_free(r);
    status_set(status, TFM_RESOURCE_EXHAUSTED, "out of memory opening '%s'", path);
    return NULL;
  }
  if (!(r->records = tfrecord_reader_open(path, status))) {
    mem_free(r->path);
    mem_free(r);
    return NULL;
  }
  return r;
}

static void drop_event(tfm_event_reader *r) {
  if (r->has_event) pbio_release(tensorflow_Event_fields, &r->ev);
  r->has_event = false;
  r->payload = NULL;
  r->payload_len = 0;
}

/* The bytes of the last length-delimited top-level field `field` of a message. */
static void find_field(const uint8_t *p, const uint8_t *end, uint32_t field, const uint8_t **out, size_t *len) {
  uint32_t f;
  const uint8_t *d;
  size_t n;
  while (p < end && wire_next_field(&p, end, &f, &d, &n))
    if (f == field && d) *out = d, *len = n;
}

TFM_API tfm_code tfm_event_reader_next(tfm_event_reader *reader, tfm_status *status) {
  if (!reader) return status_set(status, TFM_INVALID_ARGUMENT, "tfm_event_reader_next: the reader is NULL");
  status_ok(status);
  drop_event(reader);
  reader->offset = tfrecord_reader_offset(reader->records);
  tfm_code code = tfrecord_reader_next(reader->records, &reader->record, &reader->record_len, status);
  if (code != TFM_OK) return code;
  char what[64];
  snprintf(what, sizeof what, "Event at offset %llu", (unsigned long long)reader->offset);
  if (PBIO_DECODE(tensorflow_Event, &reader->ev, reader->record, reader->record_len, what, status) != TFM_OK) {
    recode(status, TFM_DATA_LOSS);
    status_prefix(status, "'%s'", reader->path);
    return TFM_DATA_LOSS;
  }
  reader->has_event = true;
  static const uint32_t fields[] = {[tensorflow_Event_file_version_tag] = EVENT_FILE_VERSION,
                                    [tensorflow_Event_graph_def_tag] = EVENT_GRAPH_DEF,
                                    [tensorflow_Event_summary_tag] = EVENT_SUMMARY,
                                    [tensorflow_Event_meta_graph_def_tag] = EVENT_META_GRAPH_DEF};
  pb_size_t which = reader->ev.which_what;
  if (which < sizeof fields / sizeof *fields && fields[which]) {
    static const uint8_t empty[1];
    reader->payload = empty; /* a present but empty field */
    find_field(reader->record, reader->record + reader->record_len, fields[which], &reader->payload,
               &reader->payload_len);
  }
  return TFM_OK;
}

TFM_API int tfm_event_reader_truncated(const tfm_event_reader *reader) {
  return reader && tfrecord_reader_truncated(reader->records);
}

TFM_API uint64_t tfm_event_reader_offset(const tfm_event_reader *reader) {
  return reader && reader->has_event ? reader->offset : 0;
}

TFM_API double tfm_event_reader_wall_time(const tfm_event_reader *reader) {
  return reader && reader->has_event ? reader->ev.wall_time : 0;
}

TFM_API int64_t tfm_event_reader_step(const tfm_event_reader *reader) {
  return reader && reader->has_event ? reader->ev.step : 0;
}

TFM_API tfm_event_kind tfm_event_reader_kind(const tfm_event_reader *reader) {
  if (!reader || !reader->has_event) return TFM_EVENT_EMPTY;
  switch (reader->ev.which_what) {
    case 0: return TFM_EVENT_EMPTY;
    case tensorflow_Event_file_version_tag: return TFM_EVENT_FILE_VERSION;
    case tensorflow_Event_graph_def_tag: return TFM_EVENT_GRAPH_DEF;
    case tensorflow_Event_summary_tag: return TFM_EVENT_SUMMARY;
    case tensorflow_Event_meta_graph_def_tag: return TFM_EVENT_META_GRAPH_DEF;
    default: return TFM_EVENT_OTHER;
  }
}

TFM_API const void *tfm_event_reader_data(const tfm_event_reader *reader, size_t *len) {
  bool ok = reader && reader->has_event;
  if (len) *len = ok ? reader->payload_len : 0;
  return ok ? reader->payload : NULL;
}

TFM_API const void *tfm_event_reader_record(const tfm_event_reader *reader, size_t *len) {
  bool ok = reader && reader->has_event;
  if (len) *len = ok ? reader->record_len : 0;
  return ok ? reader->record : NULL;
}

static const tensorflow_Summary_Value *value_at(const tfm_event_reader *r, int i) {
  if (!r || !r->has_event || r->ev.which_what != tensorflow_Event_summary_tag) return NULL;
  if (i < 0 || i >= (int)r->ev.what.summary.value_count) return NULL;
  return &r->ev.what.summary.value[i];
}

TFM_API int tfm_event_reader_num_values(const tfm_event_reader *reader) {
  if (!reader || !reader->has_event || reader->ev.which_what != tensorflow_Event_summary_tag) return 0;
  return (int)reader->ev.what.summary.value_count;
}

TFM_API const char *tfm_event_reader_value_tag(const tfm_event_reader *reader, int index) {
  const tensorflow_Summary_Value *v = value_at(reader, index);
  return v ? (v->tag ? v->tag : "") : NULL;
}

TFM_API tfm_summary_value_kind tfm_event_reader_value_kind(const tfm_event_reader *reader, int index) {
  const tensorflow_Summary_Value *v = value_at(reader, index);
  if (!v) return (tfm_summary_value_kind)0;
  return v->which_value == tensorflow_Summary_Value_simple_value_tag ? TFM_VALUE_SIMPLE
         : v->which_value == tensorflow_Summary_Value_histo_tag      ? TFM_VALUE_HISTOGRAM
                                                                      : TFM_VALUE_OTHER;
}

TFM_API double tfm_event_reader_value_simple(const tfm_event_reader *reader, int index) {
  const tensorflow_Summary_Value *v = value_at(reader, index);
  return v && v->which_value == tensorflow_Summary_Value_simple_value_tag ? (double)v->value.simple_value : NAN;
}

TFM_API int tfm_event_reader_value_histogram(const tfm_event_reader *reader, int index, double *stats,
                                             const double **limits, const double **counts) {
  const tensorflow_Summary_Value *v = value_at(reader, index);
  if (!v || v->which_value != tensorflow_Summary_Value_histo_tag) return -1;
  const tensorflow_HistogramProto *h = &v->value.histo;
  if (stats) {
    stats[0] = h->min;
    stats[1] = h->max;
    stats[2] = h->num;
    stats[3] = h->sum;
    stats[4] = h->sum_squares;
  }
  if (limits) *limits = h->bucket_limit;
  if (counts) *counts = h->bucket;
  /* TensorBoard pairs them up; a file with arrays of different lengths is read
   * as far as both go. */
  return (int)(h->bucket_limit_count < h->bucket_count ? h->bucket_limit_count : h->bucket_count);
}

TFM_API void tfm_event_reader_delete(tfm_event_reader *reader) {
  if (!reader) return;
  drop_event(reader);
  tfrecord_reader_close(reader->records);
  mem_free(reader->path);
  mem_free(reader);
}
