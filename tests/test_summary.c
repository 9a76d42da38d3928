/* summary: TensorBoard event files (writer and reader), the summary ops and DOT.
 * References: the real TF 1.3 event file (framing, first record, op names of
 * tf.summary.scalar/histogram/merge_all), hand-computed histograms, and the wire
 * format decoded by nanopb (an independent decoder of what we encode by hand). */
#include <check.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"
#include "io/graph_def.h"
#include "io/pbio.h"
#include "io/tfrecord.h"
#include "io_testutil.h"
#include "tfmini/tfmini.h"

#define EVENTS "events_tf1.3/events.out.tfevents.1525783349.santo"

#define OK(st) ck_assert_msg(tfm_status_code(st) == TFM_OK, "%s", tfm_status_message(st))

/* The event file of a new writer on a fresh directory. */
static tfm_summary_writer *new_writer(char *dir, size_t cap, int max_queue, double flush_secs, tfm_status *st) {
  test_tmpdir(dir, cap);
  tfm_summary_writer *w = tfm_summary_writer_new(dir, max_queue, flush_secs, st);
  OK(st);
  ck_assert_ptr_nonnull(w);
  return w;
}

/* Counts the events of a file; *code receives how reading ended. */
static int count_events(const char *path, tfm_code *code, tfm_status *st) {
  tfm_event_reader *r = tfm_event_reader_new(path, st);
  ck_assert_msg(r != NULL, "%s", tfm_status_message(st));
  int n = 0;
  while ((*code = tfm_event_reader_next(r, st)) == TFM_OK) n++;
  tfm_event_reader_delete(r);
  return n;
}

START_TEST(writer_names_file_and_writes_tf_first_record) {
  tfm_status *st = tfm_status_new();
  char dir[1024];
  time_t before = time(NULL);
  tfm_summary_writer *w = new_writer(dir, sizeof dir, 0, 0, st);
  const char *path = tfm_summary_writer_path(w);
  /* <dir>/events.out.tfevents.<10-digit unix time>.<hostname> */
  char host[256] = "";
  gethostname(host, sizeof host);
  size_t dl = strlen(dir);
  ck_assert(strncmp(path, dir, dl) == 0 && path[dl] == '/');
  const char *base = path + dl + 1;
  ck_assert(strncmp(base, "events.out.tfevents.", 20) == 0);
  for (int i = 0; i < 10; i++) ck_assert(base[20 + i] >= '0' && base[20 + i] <= '9');
  long long t = atoll(base + 20);
  ck_assert(t >= (long long)before && t <= (long long)time(NULL));
  ck_assert_str_eq(base + 31, host);
  /* The first record is on disk before any close. */
  size_t n;
  uint8_t *mine = slurp(path, &n);
  ck_assert_uint_eq(n, 40);
  char ref_path[1024];
  if (tf_testdata(EVENTS, ref_path, sizeof ref_path)) {
    size_t rn;
    uint8_t *ref = slurp(ref_path, &rn);
    ck_assert_ptr_nonnull(ref);
    /* Same length field and length CRC (12 bytes), same Event layout: 09 <wall
     * time> 1a 0d "brain.Event:2"; only the time and the data CRC differ. */
    ck_assert(memcmp(mine, ref, 12) == 0);
    ck_assert_uint_eq(mine[12], ref[12]);
    ck_assert(memcmp(mine + 21, ref + 21, 15) == 0);
    free(ref);
  }
  double wall;
  memcpy(&wall, mine + 13, 8);
  ck_assert(wall == (double)t); /* whole seconds, as TF writes it */
  free(mine);
  ck_assert_int_eq(tfm_summary_writer_close(w, st), TFM_OK);
  tfm_summary_writer_delete(w);
  tfm_status_delete(st);
}
END_TEST

START_TEST(reader_lists_real_tf_file) {
  char path[1024];
  if (!tf_testdata(EVENTS, path, sizeof path)) return;
  tfm_status *st = tfm_status_new();
  tfm_event_reader *r = tfm_event_reader_new(path, st);
  OK(st);
  const tfm_event_kind kinds[] = {TFM_EVENT_FILE_VERSION, TFM_EVENT_GRAPH_DEF, TFM_EVENT_META_GRAPH_DEF};
  const uint64_t offsets[] = {0, 40, 872};
  const size_t lens[] = {13, 804, 1219}; /* from the dump */
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(tfm_event_reader_next(r, st), TFM_OK);
    ck_assert_int_eq(tfm_event_reader_kind(r), kinds[i]);
    ck_assert_uint_eq(tfm_event_reader_offset(r), offsets[i]);
    ck_assert_int_eq(tfm_event_reader_step(r), 0);
    size_t len;
    const void *data = tfm_event_reader_data(r, &len);
    ck_assert_uint_eq(len, lens[i]);
    if (i == 0) ck_assert(memcmp(data, "brain.Event:2", 13) == 0);
    ck_assert(fabs(tfm_event_reader_wall_time(r) - 1525783349.898) < (i ? 1e-3 : 1.0));
  }
  ck_assert_int_eq(tfm_event_reader_next(r, st), TFM_OUT_OF_RANGE);
  ck_assert(!tfm_event_reader_truncated(r));
  tfm_event_reader_delete(r);
  tfm_status_delete(st);
}
END_TEST

START_TEST(scalars_read_back_in_order) {
  tfm_status *st = tfm_status_new();
  char dir[1024];
  tfm_summary_writer *w = new_writer(dir, sizeof dir, 0, 0, st);
  for (int i = 0; i < 100; i++)
    ck_assert_int_eq(tfm_summary_writer_add_scalar(w, "loss", 1.0 / (i + 1), 10 * i, st), TFM_OK);
  ck_assert_int_eq(tfm_summary_writer_add_scalar(w, "neg_step", -2.5, -7, st), TFM_OK);
  char path[1024];
  snprintf(path, sizeof path, "%s", tfm_summary_writer_path(w));
  ck_assert_int_eq(tfm_summary_writer_close(w, st), TFM_OK);
  /* After close, adding fails; closing again is fine. */
  ck_assert_int_eq(tfm_summary_writer_add_scalar(w, "loss", 0, 0, st), TFM_FAILED_PRECONDITION);
  ck_assert_int_eq(tfm_summary_writer_close(w, st), TFM_OK);
  tfm_summary_writer_delete(w);

  tfm_event_reader *r = tfm_event_reader_new(path, st);
  ck_assert_int_eq(tfm_event_reader_next(r, st), TFM_OK);
  ck_assert_int_eq(tfm_event_reader_kind(r), TFM_EVENT_FILE_VERSION);
  double last = tfm_event_reader_wall_time(r);
  for (int i = 0; i < 101; i++) {
    ck_assert_int_eq(tfm_event_reader_next(r, st), TFM_OK);
    ck_assert_int_eq(tfm_event_reader_kind(r), TFM_EVENT_SUMMARY);
    ck_assert_int_eq(tfm_event_reader_num_values(r), 1);
    ck_assert_int_eq(tfm_event_reader_value_kind(r, 0), TFM_VALUE_SIMPLE);
    ck_assert(tfm_event_reader_wall_time(r) >= last);
    last = tfm_event_reader_wall_time(r);
    if (i < 100) {
      ck_assert_str_eq(tfm_event_reader_value_tag(r, 0), "loss");
      ck_assert_int_eq(tfm_event_reader_step(r), 10 * i);
      ck_assert(tfm_event_reader_value_simple(r, 0) == (double)(float)(1.0 / (i + 1)));
    } else {
      ck_assert_str_eq(tfm_event_reader_value_tag(r, 0), "neg_step");
      ck_assert_int_eq(tfm_event_reader_step(r), -7);
      ck_assert(tfm_event_reader_value_simple(r, 0) == -2.5);
    }
    /* Out-of-range indices and other kinds give the documented defaults. */
    ck_assert_ptr_null(tfm_event_reader_value_tag(r, 1));
    ck_assert_int_eq(tfm_event_reader_value_histogram(r, 0, NULL, NULL, NULL), -1);
    /* The payload is the serialized Summary: nanopb agrees with our encoder. */
    size_t len;
    const void *data = tfm_event_reader_data(r, &len);
    tensorflow_Summary s;
    ck_assert_int_eq(PBIO_DECODE(tensorflow_Summary, &s, data, len, "summary", st), TFM_OK);
    ck_assert_uint_eq(s.value_count, 1);
    ck_assert_str_eq(s.value[0].tag, i < 100 ? "loss" : "neg_step");
    pbio_release(tensorflow_Summary_fields, &s);
  }
  ck_assert_int_eq(tfm_event_reader_next(r, st), TFM_OUT_OF_RANGE);
  tfm_event_reader_delete(r);
  tfm_status_delete(st);
}
END_TEST

/* A file with 1 + 5 events; returns its size. */
static size_t six_events(char *path, size_t cap, tfm_status *st) {
  char dir[1024];
  tfm_summary_writer *w = new_writer(dir, sizeof dir, 0, 0, st);
  for (int i = 0; i < 5; i++) tfm_summary_writer_add_scalar(w, "x", i, i, st);
  OK(st);
  snprintf(path, cap, "%s", tfm_summary_writer_path(w));
  tfm_summary_writer_delete(w);
  struct stat sb;
  ck_assert_int_eq(stat(path, &sb), 0);
  return (size_t)sb.st_size;
}

START_TEST(truncated_tail_is_ignored) {
  tfm_status *st = tfm_status_new();
  char path[1024];
  size_t size = six_events(path, sizeof path, st);
  tfm_code end;
  ck_assert_int_eq(count_events(path, &end, st), 6);
  ck_assert_int_eq(end, TFM_OUT_OF_RANGE);
  /* Cut the last record at every place: in its header, its data, its CRC. The
   * record is 16 bytes of framing plus the event. */
  uint64_t last = 0;
  tfm_event_reader *r = tfm_event_reader_new(path, st);
  while (tfm_event_reader_next(r, st) == TFM_OK) last = tfm_event_reader_offset(r);
  tfm_event_reader_delete(r);
  ck_assert(size - last > 16);
  for (size_t cut = 1; cut < size - last; cut++) {
    ck_assert_int_eq(truncate(path, (off_t)(size - cut)), 0);
    ck_assert_int_eq(count_events(path, &end, st), 5);
    ck_assert_int_eq(end, TFM_OUT_OF_RANGE);
  }
  r = tfm_event_reader_new(path, st);
  while (tfm_event_reader_next(r, st) == TFM_OK) continue;
  ck_assert(tfm_event_reader_truncated(r));
  tfm_event_reader_delete(r);
  tfm_status_delete(st);
}
END_TEST

static void flip_byte(const char *path, long at) {
  FILE *f = fopen(path, "r+b");
  ck_assert_ptr_nonnull(f);
  fseek(f, at, SEEK_SET);
  int c = fgetc(f);
  fseek(f, at, SEEK_SET);
  fputc(c ^ 0x20, f);
  fclose(f);
}

START_TEST(corrupt_crc_is_data_loss_naming_file_and_offset) {
  tfm_status *st = tfm_status_new();
  char path[1024];
  six_events(path, sizeof path, st);
  /* Record 0 is 40 bytes (24-byte event); record 1 starts at 40. A flipped data
   * byte in record 1 breaks its data CRC; a flipped length byte its length CRC. */
  for (int which = 0; which < 2; which++) {
    long at = which == 0 ? 40 + 12 + 3 : 40 + 1;
    flip_byte(path, at);
    tfm_event_reader *r = tfm_event_reader_new(path, st);
    ck_assert_int_eq(tfm_event_reader_next(r, st), TFM_OK);
    ck_assert_int_eq(tfm_event_reader_next(r, st), TFM_DATA_LOSS);
    const char *msg = tfm_status_message(st);
    ck_assert_msg(strstr(msg, path) && strstr(msg, "offset 40"), "%s", msg);
    tfm_event_reader_delete(r);
    flip_byte(path, at); /* restore */
    tfm_code end;
    ck_assert_int_eq(count_events(path, &end, st), 6);
  }
  /* A record with good CRCs that is not an Event is DATA_LOSS too. */
  FILE *f = fopen(path, "ab");
  bytebuf_t frame = BYTEBUF_INIT;
  const uint8_t junk[] = {0x0f, 0xff, 0xff};
  tfrecord_frame(&frame, junk, sizeof junk);
  fwrite(frame.data, 1, frame.len, f);
  fclose(f);
  bytebuf_free(&frame);
  tfm_code end;
  ck_assert_int_eq(count_events(path, &end, st), 6);
  ck_assert_int_eq(end, TFM_DATA_LOSS);
  ck_assert_msg(strstr(tfm_status_message(st), path), "%s", tfm_status_message(st));
  tfm_status_delete(st);
}
END_TEST

START_TEST(writes_reach_the_file_by_period_and_queue) {
  tfm_status *st = tfm_status_new();
  char dir[1024];
  /* max_queue 3: the third pending event flushes. */
  tfm_summary_writer *w = new_writer(dir, sizeof dir, 3, 1000, st);
  tfm_code end;
  tfm_summary_writer_add_scalar(w, "a", 1, 1, st);
  tfm_summary_writer_add_scalar(w, "a", 2, 2, st);
  ck_assert_int_eq(count_events(tfm_summary_writer_path(w), &end, st), 1);
  tfm_summary_writer_add_scalar(w, "a", 3, 3, st);
  ck_assert_int_eq(count_events(tfm_summary_writer_path(w), &end, st), 4);
  tfm_summary_writer_add_scalar(w, "a", 4, 4, st);
  ck_assert_int_eq(tfm_summary_writer_flush(w, st), TFM_OK);
  ck_assert_int_eq(count_events(tfm_summary_writer_path(w), &end, st), 5);
  tfm_summary_writer_delete(w);
  /* flush_secs 0.2: an event is in the file within the period, without a call. */
  w = new_writer(dir, sizeof dir, 1000, 0.2, st);
  tfm_summary_writer_add_scalar(w, "b", 1, 1, st);
  /* The period may already have passed on a loaded machine: 1 (pending) or 2. */
  int seen = count_events(tfm_summary_writer_path(w), &end, st);
  ck_assert_int_ge(seen, 1);
  ck_assert_int_le(seen, 2);
  for (int i = 0; i < 200 && seen < 2; i++) { /* up to 10 s under load */
    usleep(50000);
    seen = count_events(tfm_summary_writer_path(w), &end, st);
  }
  ck_assert_int_eq(seen, 2);
  tfm_summary_writer_delete(w);
  tfm_status_delete(st);
}
END_TEST

static void *add_many(void *arg) {
  tfm_summary_writer *w = arg;
  for (int i = 0; i < 500; i++) tfm_summary_writer_add_scalar(w, "t", i, i, NULL);
  return NULL;
}

START_TEST(writer_is_thread_safe) {
  tfm_status *st = tfm_status_new();
  char dir[1024];
  tfm_summary_writer *w = new_writer(dir, sizeof dir, 7, 0.01, st);
  pthread_t t[3];
  for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, add_many, w);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  ck_assert_int_eq(tfm_summary_writer_close(w, st), TFM_OK);
  tfm_code end;
  ck_assert_int_eq(count_events(tfm_summary_writer_path(w), &end, st), 1 + 3 * 500);
  ck_assert_int_eq(end, TFM_OUT_OF_RANGE);
  tfm_summary_writer_delete(w);
  tfm_status_delete(st);
}
END_TEST

START_TEST(writer_errors_name_their_cause) {
  tfm_status *st = tfm_status_new();
  char dir[1024], file[1100];
  test_tmpdir(dir, sizeof dir);
  snprintf(file, sizeof file, "%s/plain", dir);
  FILE *f = fopen(file, "w");
  fclose(f);
  ck_assert_ptr_null(tfm_summary_writer_new(file, 0, 0, st));
  ck_assert_msg(strstr(tfm_status_message(st), file), "%s", tfm_status_message(st));
  ck_assert_ptr_null(tfm_summary_writer_new("", 0, 0, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  /* Nested directories are created. */
  char nested[1200];
  snprintf(nested, sizeof nested, "%s/a/b/c", dir);
  tfm_summary_writer *w = tfm_summary_writer_new(nested, 0, 0, st);
  OK(st);
  const uint8_t junk[] = {0x0f, 0xff};
  ck_assert_int_eq(tfm_summary_writer_add_summary(w, junk, sizeof junk, 1, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(tfm_summary_writer_add_graph_def(w, junk, sizeof junk, 1, st), TFM_INVALID_ARGUMENT);
  ck_assert_int_eq(tfm_summary_writer_add_scalar(w, NULL, 1, 1, st), TFM_INVALID_ARGUMENT);
  const double bad[] = {1, NAN};
  ck_assert_int_eq(tfm_summary_writer_add_histogram(w, "h", bad, 2, 0, st), TFM_INVALID_ARGUMENT);
  ck_assert_msg(strstr(tfm_status_message(st), "value 1"), "%s", tfm_status_message(st));
  /* A second writer in the same second gets a file of its own. */
  tfm_summary_writer *w2 = tfm_summary_writer_new(nested, 0, 0, st);
  OK(st);
  ck_assert_str_ne(tfm_summary_writer_path(w), tfm_summary_writer_path(w2));
  tfm_summary_writer_delete(w2);
  tfm_summary_writer_delete(w);
  ck_assert_ptr_null(tfm_event_reader_new("/nonexistent/events", st));
  ck_assert_int_eq(tfm_status_code(st), TFM_NOT_FOUND);
  tfm_status_delete(st);
}
END_TEST

/* ---- histograms ---- */

/* Reads the single histogram value of the last summary event in path. */
typedef struct histo {
  double stats[5];
  int n;
  double lim[64], cnt[64];
} histo_t;

static void read_histogram(const char *path, const char *tag, histo_t *h, tfm_status *st) {
  tfm_event_reader *r = tfm_event_reader_new(path, st);
  OK(st);
  bool found = false;
  while (tfm_event_reader_next(r, st) == TFM_OK) {
    for (int i = 0; i < tfm_event_reader_num_values(r); i++) {
      if (strcmp(tfm_event_reader_value_tag(r, i), tag) != 0) continue;
      const double *lim, *cnt;
      h->n = tfm_event_reader_value_histogram(r, i, h->stats, &lim, &cnt);
      ck_assert(h->n > 0 && h->n <= 64);
      memcpy(h->lim, lim, (size_t)h->n * sizeof *lim);
      memcpy(h->cnt, cnt, (size_t)h->n * sizeof *cnt);
      found = true;
    }
  }
  ck_assert(found);
  tfm_event_reader_delete(r);
}

/* The hand computation: bucket limits are 0, ±1e-12 * 1.1^k (< 1e20) and ±DBL_MAX;
 * every non-empty bucket [lower, limit) holds exactly the values in it, and empty
 * runs appear as single zero entries. */
static void check_histogram(const histo_t *h, const double *v, int n) {
  double mn = DBL_MAX, mx = -DBL_MAX, sum = 0, sq = 0;
  for (int i = 0; i < n; i++) {
    mn = fmin(mn, v[i]);
    mx = fmax(mx, v[i]);
    sum += v[i];
    sq += v[i] * v[i];
  }
  ck_assert(h->stats[0] == mn && h->stats[1] == mx && h->stats[2] == n);
  ck_assert(fabs(h->stats[3] - sum) <= 1e-12 * fabs(sum) && fabs(h->stats[4] - sq) <= 1e-12 * sq);
  ck_assert(h->lim[h->n - 1] == DBL_MAX);
  double total = 0;
  for (int b = 0; b < h->n; b++) {
    double lower = b ? h->lim[b - 1] : -INFINITY, upper = h->lim[b];
    int inside = 0;
    for (int i = 0; i < n; i++) inside += v[i] >= lower && v[i] < upper;
    ck_assert_msg(h->cnt[b] == inside, "bucket [%g, %g): %g, expected %d", lower, upper, h->cnt[b], inside);
    total += h->cnt[b];
    if (h->cnt[b] > 0 && b > 0) {
      /* A single default bucket: both ends on the grid, 10% apart (or 0 / 1e-12). */
      if (lower == 0) ck_assert(upper == 1e-12);
      else if (upper == 0) ck_assert(lower == -1e-12);
      else {
        double ratio = upper > 0 ? upper / lower : lower / upper;
        ck_assert_msg(fabs(ratio - 1.1) < 1e-9, "bucket [%g, %g)", lower, upper);
        double k = log(fabs(upper > 0 ? upper : lower) / 1e-12) / log(1.1);
        ck_assert_msg(fabs(k - nearbyint(k)) < 1e-6, "limit %g is not 1e-12 * 1.1^k", upper);
      }
    }
  }
  ck_assert(total == n);
}

START_TEST(histogram_matches_hand_computation) {
  tfm_status *st = tfm_status_new();
  char dir[1024];
  tfm_summary_writer *w = new_writer(dir, sizeof dir, 0, 0, st);
  const double v[] = {-1.0, 0.0, 0.5, 2.0, 2.0, 1e-13, -3e5, 123.25};
  ck_assert_int_eq(tfm_summary_writer_add_histogram(w, "h", v, 8, 3, st), TFM_OK);
  ck_assert_int_eq(tfm_summary_writer_add_histogram(w, "empty", NULL, 0, 3, st), TFM_OK);
  tfm_summary_writer_close(w, st);
  histo_t h;
  read_histogram(tfm_summary_writer_path(w), "h", &h, st);
  check_histogram(&h, v, 8);
  /* 6 distinct non-empty buckets (0 and 1e-13 share [0, 1e-12)), none adjacent:
   * each preceded by an empty run, plus the run up to DBL_MAX: 2 * 6 + 1. */
  int nonempty = 0;
  for (int b = 0; b < h.n; b++) nonempty += h.cnt[b] > 0;
  ck_assert_int_eq(nonempty, 6);
  ck_assert_int_eq(h.n, 2 * nonempty + 1);
  /* -1.0: the bucket just above it ends at -(1e-12 * 1.1^k) with k = 289, the last
   * power with 1e-12*1.1^k < 1 (log(1e12)/log(1.1) = 289.9). */
  for (int b = 0; b < h.n; b++)
    if (h.cnt[b] == 1 && h.lim[b] < 0 && h.lim[b] > -2) {
      ck_assert(fabs(h.lim[b] + 1e-12 * pow(1.1, 289)) < 1e-9);
      ck_assert(fabs(h.lim[b - 1] + 1e-12 * pow(1.1, 290)) < 1e-9);
    }
  /* No values: min DBL_MAX, max -DBL_MAX, one empty bucket up to DBL_MAX. */
  read_histogram(tfm_summary_writer_path(w), "empty", &h, st);
  ck_assert(h.stats[0] == DBL_MAX && h.stats[1] == -DBL_MAX && h.stats[2] == 0);
  ck_assert_int_eq(h.n, 1);
  ck_assert(h.lim[0] == DBL_MAX && h.cnt[0] == 0);
  tfm_summary_writer_delete(w);
  tfm_status_delete(st);
}
END_TEST

/* ---- summary ops ---- */

static tfm_tensor *run1(tfm_graph *g, tfm_output *o, tfm_status *st) {
  tfm_session *s = tfm_session_new(g, st);
  tfm_tensor *v = NULL;
  tfm_session_run(s, NULL, NULL, 0, &o, &v, 1, NULL, 0, st);
  tfm_session_delete(s);
  return v;
}

static void decode_summary(tfm_tensor *t, tensorflow_Summary *s, tfm_status *st) {
  ck_assert_int_eq(tfm_tensor_dtype(t), TFM_STRING);
  ck_assert_int_eq(tfm_tensor_rank(t), 0);
  const char *data;
  size_t len;
  ck_assert_int_eq(tfm_tensor_string_get(t, 0, &data, &len, st), TFM_OK);
  ck_assert_int_eq(PBIO_DECODE(tensorflow_Summary, s, data, len, "summary", st), TFM_OK);
}

/* The nodes of a GraphDef, copied out by graph_def_for_each_node. */
typedef struct ref_node {
  char name[64], op[32], inputs[4][64];
  int n_inputs;
  bool has_shapes;
} ref_node_t;
typedef struct ref_graph {
  ref_node_t node[16];
  int n;
} ref_graph_t;

static bool keep_node(void *ctx, tensorflow_NodeDef *nd, tfm_status *st) {
  (void)st;
  ref_graph_t *g = ctx;
  ck_assert_int_lt(g->n, 16);
  ref_node_t *r = &g->node[g->n++];
  snprintf(r->name, sizeof r->name, "%s", nd->name);
  snprintf(r->op, sizeof r->op, "%s", nd->op);
  r->n_inputs = (int)nd->input_count;
  for (int i = 0; i < r->n_inputs && i < 4; i++) snprintf(r->inputs[i], sizeof r->inputs[i], "%s", nd->input[i]);
  r->has_shapes = false;
  for (pb_size_t a = 0; a < nd->attr_count; a++) r->has_shapes |= strcmp(nd->attr[a].key, "_output_shapes") == 0;
  return true;
}

/* Our name of a node of the real file's graph -> TF 1.3's (see below). */
static const char *tf13_name(const char *ours) {
  if (strcmp(ours, "add_1") == 0) return "add";
  if (strcmp(ours, "add_1/tag") == 0) return "add/tag";
  return ours;
}

START_TEST(summary_ops_are_named_as_tf_and_run) {
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  /* The graph of the real file: const1, const2, Add, scalar summaries named after
   * the constants, a histogram "add" of the sum, merge_all. */
  tfm_output *c1 = tfm_scalar(g, 3.0, TFM_FLOAT, "const1", st);
  tfm_output *c2 = tfm_scalar(g, 4.5, TFM_FLOAT, "const2", st);
  tfm_output *sum = tfm_add(g, c1, c2, "Add", st);
  tfm_output *s1 = tfm_summary_scalar(g, "const1", c1, st);
  tfm_output *s2 = tfm_summary_scalar(g, "const2", c2, st);
  tfm_output *h = tfm_summary_histogram(g, "add", sum, st);
  tfm_output *m = tfm_summary_merge_all(g, NULL, st);
  OK(st);
  ck_assert_int_eq(tfm_graph_collection_size(g, TFM_SUMMARIES), 3);
  /* TF 1.3 named the histogram "add" next to "Add"; later TF (and our graphs)
   * count names case-insensitively, giving "add_1". */
  const char *names[] = {"const1", "const1_1/tags", "const1_1", "const2", "const2_1/tags", "const2_1",
                         "Add", "add_1/tag", "add_1", "Merge/MergeSummary"};
  const char *types[] = {"Const", "Const", "ScalarSummary", "Const", "Const", "ScalarSummary",
                         "Add", "Const", "HistogramSummary", "MergeSummary"};
  char path[1024];
  ref_graph_t ref = {.n = 0};
  if (tf_testdata(EVENTS, path, sizeof path)) {
    /* The same names as the nodes TF 1.3 wrote (its GraphDef in record 1). */
    tfm_event_reader *r = tfm_event_reader_new(path, st);
    tfm_event_reader_next(r, st);
    tfm_event_reader_next(r, st);
    size_t len;
    const void *d = tfm_event_reader_data(r, &len);
    ck_assert_int_eq(graph_def_for_each_node(d, len, keep_node, &ref, NULL, "graph", st), TFM_OK);
    tfm_event_reader_delete(r);
    ck_assert_int_eq(ref.n, 10);
  }
  for (int i = 0; i < 10; i++) {
    tfm_op *op = tfm_graph_get_operation_by_name(g, names[i], st);
    ck_assert_msg(op != NULL, "%s: %s", names[i], tfm_status_message(st));
    const char *type = tfm_op_type(op);
    if (strcmp(names[i], "Add") != 0) ck_assert_str_eq(type, types[i]); /* our Add may be AddV2 */
    for (int k = 0; k < ref.n; k++)
      if (strcmp(ref.node[k].name, tf13_name(names[i])) == 0) {
        if (strcmp(names[i], "Add") != 0) ck_assert_str_eq(ref.node[k].op, types[i]);
        ck_assert_int_eq(ref.node[k].n_inputs, tfm_op_num_inputs(op));
        for (int j = 0; j < tfm_op_num_inputs(op); j++)
          ck_assert_str_eq(ref.node[k].inputs[j], tf13_name(tfm_op_name(tfm_output_op(tfm_op_input(op, j)))));
      }
  }

  tensorflow_Summary s;
  tfm_tensor *v = run1(g, s1, st);
  OK(st);
  decode_summary(v, &s, st);
  ck_assert_uint_eq(s.value_count, 1);
  ck_assert_str_eq(s.value[0].tag, "const1_1");
  ck_assert_uint_eq(s.value[0].which_value, tensorflow_Summary_Value_simple_value_tag);
  ck_assert(s.value[0].value.simple_value == 3.0f);
  pbio_release(tensorflow_Summary_fields, &s);
  tfm_tensor_release(v);

  v = run1(g, m, st);
  OK(st);
  decode_summary(v, &s, st);
  ck_assert_uint_eq(s.value_count, 3);
  ck_assert_str_eq(s.value[0].tag, "const1_1");
  ck_assert_str_eq(s.value[1].tag, "const2_1");
  ck_assert(s.value[1].value.simple_value == 4.5f);
  ck_assert_str_eq(s.value[2].tag, "add_1");
  ck_assert_uint_eq(s.value[2].which_value, tensorflow_Summary_Value_histo_tag);
  const tensorflow_HistogramProto *hp = &s.value[2].value.histo;
  ck_assert(hp->min == 7.5 && hp->max == 7.5 && hp->num == 1 && hp->sum == 7.5 && hp->sum_squares == 56.25);
  /* [empty run][7.5's bucket][empty run to DBL_MAX] */
  ck_assert_uint_eq(hp->bucket_count, 3);
  ck_assert(hp->bucket[1] == 1 && hp->bucket_limit[0] <= 7.5 && 7.5 < hp->bucket_limit[1]);
  pbio_release(tensorflow_Summary_fields, &s);
  tfm_tensor_release(v);
  (void)h, (void)s2;

  /* A second summary of the same name gets a unique scope and tag. */
  tfm_output *again = tfm_summary_scalar(g, "const1", c1, st);
  OK(st);
  ck_assert_str_eq(tfm_op_name(tfm_output_op(again)), "const1_2");
  /* Merging a summary with itself: a duplicate tag, named. */
  tfm_output *twice[2] = {s1, s1};
  tfm_output *dup = tfm_summary_merge(g, twice, 2, "dup", st);
  OK(st);
  ck_assert_str_eq(tfm_op_name(tfm_output_op(dup)), "dup/dup");
  v = run1(g, dup, st);
  ck_assert_ptr_null(v);
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_msg(strstr(tfm_status_message(st), "const1_1"), "%s", tfm_status_message(st));
  tfm_graph_delete(g);
  tfm_status_delete(st);
}
END_TEST

START_TEST(summary_op_errors) {
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  const int64_t dims[1] = {3};
  const float three[3] = {1, 2, 3};
  tfm_output *vec = tfm_constant_f32(g, three, dims, 1, "vec", st);
  ck_assert_ptr_null(tfm_summary_scalar(g, "s", vec, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  tfm_status_clear(st);
  ck_assert_ptr_null(tfm_summary_scalar(g, "", tfm_scalar(g, 1, TFM_FLOAT, NULL, st), st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  tfm_status_clear(st);
  ck_assert_ptr_null(tfm_summary_histogram(g, "h", NULL, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  tfm_status_clear(st);
  /* Empty collection: NULL and OK (TF's None). */
  ck_assert_ptr_null(tfm_summary_merge_all(g, NULL, st));
  OK(st);
  /* A NaN reaching a histogram fails the run, naming the tag. */
  tfm_output *zero = tfm_scalar(g, 0, TFM_FLOAT, NULL, st);
  tfm_output *nan = tfm_div(g, zero, zero, NULL, st);
  tfm_output *h = tfm_summary_histogram(g, "weights hist", nan, st);
  OK(st);
  ck_assert_str_eq(tfm_op_name(tfm_output_op(h)), "weights_hist"); /* cleaned as TF does */
  ck_assert_ptr_null(run1(g, h, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  ck_assert_msg(strstr(tfm_status_message(st), "weights_hist"), "%s", tfm_status_message(st));
  tfm_graph_delete(g);
  tfm_status_delete(st);
}
END_TEST

/* ---- graphs in event files ---- */

START_TEST(add_graph_writes_a_decodable_graph_def) {
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, (const int64_t[]){-1, 3}, 2, "x", st);
  tfm_output *y = tfm_square(g, x, "y", st);
  (void)y;
  char dir[1024];
  tfm_summary_writer *w = new_writer(dir, sizeof dir, 0, 0, st);
  tfm_code code = tfm_summary_writer_add_graph(w, g, 0, st);
  if (code == TFM_UNIMPLEMENTED) {
    printf("SKIP: add_graph: %s\n", tfm_status_message(st));
  } else {
    ck_assert_msg(code == TFM_OK, "%s", tfm_status_message(st));
    ck_assert_int_eq(tfm_summary_writer_add_meta_graph_from(w, g, 0, st), TFM_OK);
    tfm_summary_writer_close(w, st);
    tfm_event_reader *r = tfm_event_reader_new(tfm_summary_writer_path(w), st);
    tfm_event_reader_next(r, st);
    ck_assert_int_eq(tfm_event_reader_next(r, st), TFM_OK);
    ck_assert_int_eq(tfm_event_reader_kind(r), TFM_EVENT_GRAPH_DEF);
    size_t len;
    const void *data = tfm_event_reader_data(r, &len);
    ref_graph_t gd = {.n = 0};
    ck_assert_int_eq(graph_def_for_each_node(data, len, keep_node, &gd, NULL, "graph", st), TFM_OK);
    ck_assert_int_eq(gd.n, 2);
    ck_assert_str_eq(gd.node[0].name, "x");
    ck_assert_str_eq(gd.node[1].name, "y");
    ck_assert_str_eq(gd.node[1].inputs[0], "x");
    for (int i = 0; i < gd.n; i++) ck_assert_msg(gd.node[i].has_shapes, "node %s lacks _output_shapes", gd.node[i].name);
    /* Then the MetaGraphDef, whose graph_def holds the same two nodes. */
    ck_assert_int_eq(tfm_event_reader_next(r, st), TFM_OK);
    ck_assert_int_eq(tfm_event_reader_kind(r), TFM_EVENT_META_GRAPH_DEF);
    data = tfm_event_reader_data(r, &len);
    tensorflow_MetaGraphDef mg;
    ck_assert_int_eq(PBIO_DECODE(tensorflow_MetaGraphDef, &mg, data, len, "meta graph", st), TFM_OK);
    ref_graph_t mgd = {.n = 0};
    ck_assert_int_eq(graph_def_for_each_node(mg.graph_def.data, mg.graph_def.len, keep_node, &mgd, NULL, "graph", st),
                     TFM_OK);
    ck_assert_int_eq(mgd.n, 2);
    ck_assert_str_eq(mgd.node[1].name, "y");
    pbio_release(tensorflow_MetaGraphDef_fields, &mg);
    ck_assert_int_eq(tfm_event_reader_next(r, st), TFM_OUT_OF_RANGE);
    tfm_event_reader_delete(r);
  }
  tfm_summary_writer_delete(w);
  /* The bytes path: the real file's GraphDef and MetaGraphDef go in. */
  w = new_writer(dir, sizeof dir, 0, 0, st);
  char path[1024];
  if (tf_testdata(EVENTS, path, sizeof path)) {
    tfm_event_reader *r = tfm_event_reader_new(path, st);
    for (int i = 0; i < 3; i++) {
      ck_assert_int_eq(tfm_event_reader_next(r, st), TFM_OK);
      size_t len;
      const void *data = tfm_event_reader_data(r, &len);
      if (i == 1) ck_assert_int_eq(tfm_summary_writer_add_graph_def(w, data, len, 0, st), TFM_OK);
      if (i == 2) ck_assert_int_eq(tfm_summary_writer_add_meta_graph(w, data, len, 0, st), TFM_OK);
    }
    tfm_event_reader_delete(r);
  }
  tfm_summary_writer_delete(w);
  tfm_graph_delete(g);
  tfm_status_delete(st);
}
END_TEST

/* ---- DOT ---- */

START_TEST(dot_draws_scopes_variables_and_placeholders) {
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, (const int64_t[]){-1, 3}, 2, "x", st);
  tfm_graph_push_name_scope(g, "layer", st);
  tfm_variable *wv = tfm_variable_new(g, tfm_scalar(g, 0.5, TFM_FLOAT, "w0", st), 1, "w", st);
  tfm_output *y = tfm_mul(g, x, tfm_variable_value(wv), "y", st);
  tfm_graph_pop_name_scope(g, st);
  tfm_output *loss = tfm_reduce_sum(g, y, NULL, 0, 0, "loss", st);
  tfm_output *sq = tfm_square(g, x, NULL, st);
  OK(st);
  (void)loss, (void)sq;
  tfm_buffer *b = tfm_graph_to_dot(g, st);
  OK(st);
  const char *dot = tfm_buffer_data(b);
  ck_assert(strncmp(dot, "digraph", 7) == 0);
  ck_assert_msg(strstr(dot, "subgraph \"cluster_layer\"") && strstr(dot, "subgraph \"cluster_layer/w\""), "%s", dot);
  /* The variable's own op sits in its cluster, filled; the placeholder filled too. */
  const char *var = strstr(dot, "\"layer/w\" [label=\"w\\nVariableV2");
  ck_assert_msg(var && strstr(var, "fillcolor=\"#f6c667\""), "%s", dot);
  const char *ph = strstr(dot, "\"x\" [label=\"x\\nPlaceholder\\nfloat32 [?,3]\"");
  ck_assert_msg(ph && strstr(ph, "ellipse"), "%s", dot);
  ck_assert_msg(strstr(dot, "\"x\" -> \"layer/y\" [label=\"[?,3]\"]"), "%s", dot);
  /* A name made from the type is not repeated; a chosen one is shown. */
  ck_assert_msg(strstr(dot, "\"Square\" [label=\"Square\\nfloat32 [?,3]\""), "%s", dot);
  ck_assert_msg(strstr(dot, "\"loss\" [label=\"loss\\nSum\\nfloat32 []\""), "%s", dot);
  /* Graphviz accepts it (when installed). */
  char dir[1024], cmd[2400];
  test_tmpdir(dir, sizeof dir);
  if (system("command -v dot >/dev/null 2>&1") == 0) {
    snprintf(cmd, sizeof cmd, "%s/g.dot", dir);
    FILE *f = fopen(cmd, "w");
    fwrite(dot, 1, tfm_buffer_size(b), f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "dot -Tsvg %s/g.dot -o %s/g.svg", dir, dir);
    ck_assert_int_eq(system(cmd), 0);
  } else {
    printf("SKIP: graphviz's dot absent; DOT syntax not checked\n");
  }
  tfm_buffer_delete(b);
  ck_assert_ptr_null(tfm_graph_to_dot(NULL, st));
  ck_assert_int_eq(tfm_status_code(st), TFM_INVALID_ARGUMENT);
  tfm_graph_delete(g);
  tfm_status_delete(st);
}
END_TEST

int main(void) {
  Suite *s = suite_create("summary");
  TCase *tc = tcase_create("events");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, writer_names_file_and_writes_tf_first_record);
  tcase_add_test(tc, reader_lists_real_tf_file);
  tcase_add_test(tc, scalars_read_back_in_order);
  tcase_add_test(tc, truncated_tail_is_ignored);
  tcase_add_test(tc, corrupt_crc_is_data_loss_naming_file_and_offset);
  tcase_add_test(tc, writes_reach_the_file_by_period_and_queue);
  tcase_add_test(tc, writer_is_thread_safe);
  tcase_add_test(tc, writer_errors_name_their_cause);
  tcase_add_test(tc, histogram_matches_hand_computation);
  tcase_add_test(tc, add_graph_writes_a_decodable_graph_def);
  suite_add_tcase(s, tc);
  TCase *ops = tcase_create("ops");
  tcase_add_test(ops, summary_ops_are_named_as_tf_and_run);
  tcase_add_test(ops, summary_op_errors);
  tcase_add_test(ops, dot_draws_scopes_variables_and_placeholders);
  suite_add_tcase(s, ops);
  return run_suite(s);
}
