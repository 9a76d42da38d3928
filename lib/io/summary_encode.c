/* Hand-written encodings of Event, Summary.Value and HistogramProto (see
 * summary_encode.h). Wire format: a key is (field << 3 | wire type); wire type 1 is
 * a little-endian 64-bit value, 2 a varint length and bytes, 5 a 32-bit value. */
#include "io/summary_encode.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "core/mem.h"

enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };

static void put_key(bytebuf_t *b, int field, int wire) { bytebuf_put_varint(b, (uint64_t)(field << 3 | wire)); }

static void put_double(bytebuf_t *b, int field, double v) {
  if (v == 0 && !signbit(v)) return; /* proto3 leaves +0 out */
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  put_key(b, field, WIRE_I64);
  bytebuf_put_u64le(b, bits);
}

static void put_bytes(bytebuf_t *b, int field, const void *data, size_t len) {
  put_key(b, field, WIRE_LEN);
  bytebuf_put_varint(b, len);
  bytebuf_append(b, data, len);
}

static size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) v >>= 7, n++;
  return n;
}

void event_encode(bytebuf_t *out, double wall_time, int64_t step, int field, const void *data,
                  size_t len) {
  put_double(out, 1, wall_time);
  if (step != 0) {
    put_key(out, 2, WIRE_VARINT);
    bytebuf_put_varint(out, (uint64_t)step); /* int64: negatives take ten bytes */
  }
  put_bytes(out, field, data, len);
}

/* ---- default bucket limits ---- */
#define MAX_LIMITS 1600
static double limits[MAX_LIMITS];
static int n_limits;
static pthread_once_t limits_once = PTHREAD_ONCE_INIT;

static void make_limits(void) {
  double pos[MAX_LIMITS / 2];
  int n = 0;
  /* Each limit 10% above the previous, from 1e-12 while below 1e20 (774 of them),
   * computed by repeated multiplication as TensorFlow does, so the doubles match. */
  for (double v = 1e-12; v < 1e20; v *= 1.1) pos[n++] = v;
  pos[n++] = DBL_MAX;
  int k = 0;
  for (int i = n - 1; i >= 0; i--) limits[k++] = -pos[i];
  limits[k++] = 0.0;
  for (int i = 0; i < n; i++) limits[k++] = pos[i];
  n_limits = k;
}

int histogram_num_buckets(void) {
  pthread_once(&limits_once, make_limits);
  return n_limits;
}

const double *histogram_limits(void) {
  pthread_once(&limits_once, make_limits);
  return limits;
}

tfm_code histogram_init(histogram_t *h, tfm_status *st) {
  int n = histogram_num_buckets();
  memset(h, 0, sizeof *h);
  h->min = DBL_MAX;
  h->max = -DBL_MAX;
  h->counts = mem_calloc((size_t)n, sizeof *h->counts);
  if (!h->counts) return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory for a histogram");
  return TFM_OK;
}

void histogram_add(histogram_t *h, double v) {
  /* The first limit above v (upper bound); DBL_MAX itself goes to the last bucket. */
  int lo = 0, hi = n_limits;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (limits[mid] > v) hi = mid;
    else lo = mid + 1;
  }
  if (lo == n_limits) lo = n_limits - 1;
  h->counts[lo] += 1;
  if (v < h->min) h->min = v;
  if (v > h->max) h->max = v;
  h->num += 1;
  h->sum += v;
  h->sum_squares += v * v;
}

void histogram_free(histogram_t *h) {
  mem_free(h->counts);
  h->counts = NULL;
}

/* ---- Summary values ---- */
void summary_append_scalar(bytebuf_t *out, const char *tag, size_t tag_len, float value) {
  /* Value{1: tag, 2: simple_value (fixed32)}; TF writes simple_value even when 0. */
  size_t inner = 1 + varint_size(tag_len) + tag_len + 5;
  put_key(out, 1, WIRE_LEN);
  bytebuf_put_varint(out, inner);
  put_bytes(out, 1, tag, tag_len);
  uint32_t bits;
  memcpy(&bits, &value, sizeof bits);
  put_key(out, 2, WIRE_I32);
  bytebuf_put_u32le(out, bits);
}

void summary_append_histogram(bytebuf_t *out, const char *tag, size_t tag_len, const histogram_t *h) {
  /* Collapse runs of empty buckets first, so that the packed arrays can be sized. */
  int n = histogram_num_buckets(), kept = 0;
  double *lim = mem_alloc(2 * (size_t)n * sizeof *lim);
  if (!lim) {
    out->failed = true;
    return;
  }
  double *cnt = lim + n;
  for (int i = 0; i < n;) {
    double end = limits[i], c = h->counts[i++];
    if (c <= 0)
      while (i < n && h->counts[i] <= 0) end = limits[i], c = h->counts[i++];
    lim[kept] = end;
    cnt[kept++] = c;
  }
  bytebuf_t histo = BYTEBUF_INIT;
  put_double(&histo, 1, h->min);
  put_double(&histo, 2, h->max);
  put_double(&histo, 3, h->num);
  put_double(&histo, 4, h->sum);
  put_double(&histo, 5, h->sum_squares);
  for (int f = 6; f <= 7; f++) {
    const double *arr = f == 6 ? lim : cnt;
    put_key(&histo, f, WIRE_LEN);
    bytebuf_put_varint(&histo, (uint64_t)kept * 8);
    for (int i = 0; i < kept; i++) {
      uint64_t bits;
      memcpy(&bits, &arr[i], sizeof bits);
      bytebuf_put_u64le(&histo, bits);
    }
  }
  mem_free(lim);
  if (histo.failed) {
    out->failed = true;
    bytebuf_free(&histo);
    return;
  }
  size_t inner = 1 + varint_size(tag_len) + tag_len + 1 + varint_size(histo.len) + histo.len;
  put_key(out, 1, WIRE_LEN);
  bytebuf_put_varint(out, inner);
  put_bytes(out, 1, tag, tag_len);
  put_bytes(out, 5, histo.data, histo.len);
  bytebuf_free(&histo);
}

/* ---- reading ---- */
bool wire_next_field(const uint8_t **p, const uint8_t *end, uint32_t *field, const uint8_t **data, size_t *len) {
  uint64_t key, v;
  const uint8_t *q = *p;
  *data = NULL;
  *len = 0;
  if (!varint_decode(&q, end, &key) || (key >> 3) == 0 || (key >> 3) > UINT32_MAX) return false;
  switch (key & 7) {
    case WIRE_VARINT:
      if (!varint_decode(&q, end, &v)) return false;
      break;
    case WIRE_I64:
      if (end - q < 8) return false;
      q += 8;
      break;
    case WIRE_LEN:
      if (!varint_decode(&q, end, &v) || v > (uint64_t)(end - q)) return false;
      *data = q;
      *len = (size_t)v;
      q += v;
      break;
    case WIRE_I32:
      if (end - q < 4) return false;
      q += 4;
      break;
    default:
      return false;
  }
  *field = (uint32_t)(key >> 3);
  *p = q;
  return true;
}

bool summary_next_value(const uint8_t **p, const uint8_t *end, const uint8_t **tag, size_t *tag_len) {
  uint32_t field;
  const uint8_t *value;
  size_t n;
  *tag = NULL;
  *tag_len = 0;
  if (!wire_next_field(p, end, &field, &value, &n)) return false;
  if (field != 1) return true;
  if (!value) return false; /* `value` must be length-delimited */
  static const uint8_t no_tag[1];
  *tag = no_tag;
  const uint8_t *q = value, *vend = value + n;
  while (q < vend) {
    const uint8_t *d;
    size_t dn;
    if (!wire_next_field(&q, vend, &field, &d, &dn)) return false;
    if (field == 1 && d) *tag = d, *tag_len = dn;
  }
  return true;
}
