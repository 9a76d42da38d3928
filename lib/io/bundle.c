/* Tensor bundle writer and reader (see bundle.h and formats.md 1.2-1.3). */
#include "io/bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "io/bytebuf.h"
#include "io/crc32c.h"
#include "io/file.h"
#include "io/pbio.h"
#include "io/table.h"

/* kTensorBundleVersion: what we write as producer and the newest we can read. */
#define BUNDLE_VERSION 1
/* Buffered writes of small tensors are flushed at this size; big ones go direct. */
#define BUNDLE_WRITE_CHUNK (1u << 20)

static char *path_printf(const char *fmt, const char *prefix, int a, int b) {
  int n = snprintf(NULL, 0, fmt, prefix, a, b);
  char *p = mem_alloc((size_t)n + 1);
  if (p) snprintf(p, (size_t)n + 1, fmt, prefix, a, b);
  return p;
}

char *bundle_index_path(const char *prefix) { return path_printf("%s.index", prefix, 0, 0); }

char *bundle_data_path(const char *prefix, int shard, int num_shards) {
  return path_printf("%s.data-%05d-of-%05d", prefix, shard, num_shards);
}

static bool all_digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

bool bundle_file_suffix(const char *rest, size_t len) {
  if (len == 6 && memcmp(rest, ".index", 6) == 0) return true;
  /* ".data-" 5 "-of-" 5: shard counts are at most 99999 (bundle_merge), so
   * %05d always prints exactly 5 digits. */
  return len == 20 && memcmp(rest, ".data-", 6) == 0 && all_digits(rest + 6, 5) &&
         memcmp(rest + 11, "-of-", 4) == 0 && all_digits(rest + 15, 5);
}

static bool prefix_owns(const char *owner, size_t len, const void *arg) {
  const char *base = arg;
  size_t bl = strlen(base);
  return len > bl && memcmp(owner, base, bl) == 0 && bundle_file_suffix(owner + bl, len - bl);
}

int bundle_sweep_stale_tmps(const char *prefix) {
  char dir[PATH_MAX];
  if (!file_dir_of(prefix, dir, sizeof dir)) return 0;
  const char *slash = strrchr(prefix, '/');
  return file_sweep_stale_tmps(dir, prefix_owns, slash ? slash + 1 : prefix);
}

/* ===================================================================== writer */

typedef struct wentry {
  char *key;
  tfm_dtype dtype;
  shape_t shape;
  uint64_t offset, size;
  uint32_t crc; /* unmasked */
} wentry_t;

struct bundle_writer {
  char *prefix;
  file_tmp_t data;
  bool data_open;
  bytebuf_t pending; /* data not yet written to the file */
  uint64_t offset;   /* bytes of data so far (written + pending) */
  wentry_t *entries;
  size_t n, cap;
  bool failed, finished;
};

static void writer_discard(bundle_writer_t *w) {
  if (w->data_open) file_tmp_discard(&w->data);
  w->data_open = false;
  w->failed = true;
}

bundle_writer_t *bundle_writer_new(const char *prefix, tfm_status *st) {
  bundle_writer_t *w = mem_calloc(1, sizeof *w);
  char *data_path = bundle_data_path(prefix, 0, 1);
  if (!w || !data_path || !(w->prefix = mem_strdup(prefix))) {
    mem_free(data_path);
    if (w) mem_free(w->prefix);
    mem_free(w);
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory starting checkpoint '%s'", prefix);
    return NULL;
  }
  tfm_code code = file_tmp_open(&w->data, data_path, st);
  mem_free(data_path);
  if (code != TFM_OK) {
    status_prefix(st, "checkpoint '%s'", prefix);
    mem_free(w->prefix);
    mem_free(w);
    return NULL;
  }
  w->data_open = true;
  return w;
}

void bundle_writer_free(bundle_writer_t *w) {
  if (!w) return;
  if (!w->finished) writer_discard(w);
  for (size_t i = 0; i < w->n; i++) mem_free(w->entries[i].key);
  mem_free(w->entries);
  bytebuf_free(&w->pending);
  mem_free(w->prefix);
  mem_free(w);
}

static tfm_code flush_pending(bundle_writer_t *w, tfm_status *st) {
  if (w->pending.len == 0) return TFM_OK;
  tfm_code code = file_tmp_write(&w->data, w->pending.data, w->pending.len, st);
  w->pending.len = 0;
  return code;
}

/* Appends bytes to the data file through the pending buffer. */
static tfm_code put_data(bundle_writer_t *w, const void *p, size_t n, tfm_status *st) {
  if (n >= BUNDLE_WRITE_CHUNK) {
    if (flush_pending(w, st) != TFM_OK) return status_code(st);
    return file_tmp_write(&w->data, p, n, st);
  }
  bytebuf_append(&w->pending, p, n);
  if (w->pending.failed) return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
  if (w->pending.len >= BUNDLE_WRITE_CHUNK) return flush_pending(w, st);
  return TFM_OK;
}

/* Appends n bytes and computes their CRC. Big buffers go to the file in chunks,
 * each checksummed just before it is written, while it is in cache: one trip
 * through memory instead of two. */
#define BUNDLE_CRC_CHUNK (256u << 10)
static tfm_code put_bytes_crc(bundle_writer_t *w, const uint8_t *p, size_t n, uint32_t *crc, tfm_status *st) {
  *crc = 0;
  if (n < BUNDLE_WRITE_CHUNK) {
    *crc = crc32c(p, n);
    return put_data(w, p, n, st);
  }
  if (flush_pending(w, st) != TFM_OK) return status_code(st);
  for (size_t done = 0; done < n;) {
    size_t k = n - done < BUNDLE_CRC_CHUNK ? n - done : BUNDLE_CRC_CHUNK;
    *crc = crc32c_extend(*crc, p + done, k);
    if (file_tmp_write(&w->data, p + done, k, st) != TFM_OK) return status_code(st);
    done += k;
  }
  return TFM_OK;
}

/* String tensor layout: varint lengths, masked CRC of the lengths (as u32/u64 LE),
 * then the bytes; the entry CRC also covers the 4 stored checksum bytes. */
static tfm_code put_strings(bundle_writer_t *w, const tensor_t *t, uint64_t *size,
                            uint32_t *crc, tfm_status *st) {
  const tstring_t *s = TENSOR_STR(t);
  size_t n = (size_t)t->num_elements;
  uint32_t c = 0;
  uint64_t total = 0;
  bytebuf_t head = BYTEBUF_INIT;
  for (size_t i = 0; i < n; i++) {
    bytebuf_put_varint(&head, s[i].len);
    uint8_t le[8];
    store_u64le(le, s[i].len);
    c = crc32c_extend(c, le, s[i].len > 0xFFFFFFFFu ? 8 : 4);
    total += s[i].len;
  }
  uint8_t sum[4];
  store_u32le(sum, crc32c_mask(c));
  bytebuf_append(&head, sum, 4);
  c = crc32c_extend(c, sum, 4);
  if (head.failed) {
    bytebuf_free(&head);
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
  }
  tfm_code code = put_data(w, head.data, head.len, st);
  *size = head.len + total;
  bytebuf_free(&head);
  for (size_t i = 0; i < n && code == TFM_OK; i++) {
    if (s[i].len == 0) continue;
    c = crc32c_extend(c, s[i].data, s[i].len);
    code = put_data(w, s[i].data, s[i].len, st);
  }
  *crc = c;
  return code;
}

tfm_code bundle_writer_add(bundle_writer_t *w, const char *key, const tensor_t *t,
                           tfm_status *st) {
  if (w->failed || w->finished)
    return status_set(st, TFM_FAILED_PRECONDITION, "checkpoint '%s': writer already %s",
                      w->prefix, w->finished ? "finished" : "failed");
  if (!key || !key[0])
    return status_set(st, TFM_INVALID_ARGUMENT, "checkpoint '%s': empty tensor name", w->prefix);
  if (!dtype_is_valid(t->dtype))
    return status_set(st, TFM_INVALID_ARGUMENT, "checkpoint '%s': tensor '%s' has unsupported dtype %d",
                      w->prefix, key, (int)t->dtype);
  if (w->n == w->cap) {
    size_t cap = w->cap ? 2 * w->cap : 16;
    wentry_t *e = mem_realloc(w->entries, cap * sizeof *e);
    if (!e) goto oom;
    w->entries = e;
    w->cap = cap;
  }
  wentry_t *e = &w->entries[w->n];
  if (!(e->key = mem_strdup(key))) goto oom;
  e->dtype = t->dtype;
  e->shape = t->shape;
  e->offset = w->offset;
  tfm_code code;
  if (t->dtype == TFM_STRING) {
    code = put_strings(w, t, &e->size, &e->crc, st);
  } else {
    e->size = t->nbytes;
    code = put_bytes_crc(w, t->data, t->nbytes, &e->crc, st);
  }
  if (code != TFM_OK) {
    mem_free(e->key);
    writer_discard(w);
    return status_prefix(st, "checkpoint '%s': writing tensor '%s'", w->prefix, key);
  }
  w->offset += e->size;
  w->n++;
  return TFM_OK;
oom:
  writer_discard(w);
  return status_set(st, TFM_RESOURCE_EXHAUSTED, "checkpoint '%s': out of memory adding tensor '%s'",
                    w->prefix, key);
}

static int wentry_cmp(const void *a, const void *b) {
  return strcmp(((const wentry_t *)a)->key, ((const wentry_t *)b)->key);
}

/* The serialized BundleHeaderProto TF writes: num_shards 1, version{producer 1}. */
static tfm_code encode_header(bytebuf_t *out, tfm_status *st) {
  tensorflow_BundleHeaderProto h = tensorflow_BundleHeaderProto_init_zero;
  h.num_shards = 1;
  h.endianness = tensorflow_BundleHeaderProto_Endianness_LITTLE;
  h.has_version = true;
  h.version.producer = BUNDLE_VERSION;
  return pbio_encode(tensorflow_BundleHeaderProto_fields, &h, out, "bundle header", st);
}

static tfm_code encode_entry(const wentry_t *e, bytebuf_t *out, tfm_status *st) {
  tensorflow_BundleEntryProto p = tensorflow_BundleEntryProto_init_zero;
  p.dtype = (tensorflow_DataType)e->dtype;
  p.has_shape = true; /* TF always writes the shape, even `12 00` for scalars */
  if (pbio_shape_to_proto(&e->shape, &p.shape, st) != TFM_OK) return status_code(st);
  p.offset = (int64_t)e->offset;
  p.size = (int64_t)e->size;
  p.crc32c = crc32c_mask(e->crc);
  tfm_code code = pbio_encode(tensorflow_BundleEntryProto_fields, &p, out, e->key, st);
  pbio_release(tensorflow_BundleEntryProto_fields, &p);
  return code;
}

/* Builds the index table of the sorted entries. */
static tfm_code build_index(bundle_writer_t *w, table_builder_t *tb, tfm_status *st) {
  bytebuf_t val = BYTEBUF_INIT;
  tfm_code code = encode_header(&val, st);
  if (code == TFM_OK) code = table_builder_add(tb, "", 0, val.data, val.len, st);
  for (size_t i = 0; i < w->n && code == TFM_OK; i++) {
    val.len = 0;
    code = encode_entry(&w->entries[i], &val, st);
    if (code == TFM_OK)
      code = table_builder_add(tb, w->entries[i].key, strlen(w->entries[i].key), val.data,
                               val.len, st);
  }
  bytebuf_free(&val);
  return code;
}

tfm_code bundle_writer_finish(bundle_writer_t *w, tfm_status *st) {
  if (w->failed || w->finished)
    return status_set(st, TFM_FAILED_PRECONDITION, "checkpoint '%s': writer already %s",
                      w->prefix, w->finished ? "finished" : "failed");
  qsort(w->entries, w->n, sizeof *w->entries, wentry_cmp);
  for (size_t i = 1; i < w->n; i++)
    if (strcmp(w->entries[i - 1].key, w->entries[i].key) == 0) {
      writer_discard(w);
      return status_set(st, TFM_INVALID_ARGUMENT, "checkpoint '%s': tensor '%s' added twice",
                        w->prefix, w->entries[i].key);
    }
  file_tmp_t index = FILE_TMP_INIT;
  bool index_open = false;
  char *index_path = bundle_index_path(w->prefix);
  table_builder_t *tb = table_builder_new(0, st);
  const uint8_t *bytes;
  size_t len;
  tfm_code code = !index_path || !tb
                      ? status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory")
                      : TFM_OK;
  if (code == TFM_OK) code = flush_pending(w, st);
  if (code == TFM_OK) code = build_index(w, tb, st);
  if (code == TFM_OK) code = table_builder_finish(tb, &bytes, &len, st);
  if (code == TFM_OK) code = file_tmp_open(&index, index_path, st);
  index_open = code == TFM_OK;
  if (code == TFM_OK) code = file_tmp_write(&index, bytes, len, st);
  if (code == TFM_OK) code = file_tmp_sync(&index, st);
  if (code == TFM_OK) code = file_tmp_sync(&w->data, st);
  /* Data first: an index under its final name always has its data beside it. */
  if (code == TFM_OK) code = file_tmp_rename(&w->data, st);
  if (code == TFM_OK) code = file_tmp_rename(&index, st);
  if (code == TFM_OK) code = file_sync_dir(index_path, st);
  if (index_open) file_tmp_discard(&index);
  table_builder_free(tb);
  mem_free(index_path);
  if (code != TFM_OK) {
    writer_discard(w);
    return status_prefix(st, "saving checkpoint '%s'", w->prefix);
  }
  file_tmp_discard(&w->data); /* frees the names; the file was renamed */
  w->data_open = false;
  w->finished = true;
  return TFM_OK;
}

/* ===================================================================== reader */

typedef struct shard_file {
  int fd; /* -1 until first use */
  uint64_t size;
  char *path;
} shard_file_t;

struct bundle_reader {
  char *prefix;
  table_t *index;
  char **keys; /* NUL-terminated copies of the tensor keys, sorted */
  size_t n;
  int num_shards;
  shard_file_t *shards;
};

const char *bundle_reader_prefix(const bundle_reader_t *r) { return r->prefix; }
size_t bundle_reader_num_tensors(const bundle_reader_t *r) { return r->n; }
const char *bundle_reader_key(const bundle_reader_t *r, size_t i) { return r->keys[i]; }

void bundle_reader_close(bundle_reader_t *r) {
  if (!r) return;
  for (int i = 0; r->shards && i < r->num_shards; i++) {
    if (r->shards[i].fd >= 0) close(r->shards[i].fd);
    mem_free(r->shards[i].path);
  }
  mem_free(r->shards);
  for (size_t i = 0; r->keys && i < r->n; i++) mem_free(r->keys[i]);
  mem_free(r->keys);
  table_close(r->index);
  mem_free(r->prefix);
  mem_free(r);
}

static tfm_code check_header(bundle_reader_t *r, const char *index_path, tfm_status *st) {
  const uint8_t *k, *v;
  size_t kl, vl;
  if (table_num_entries(r->index) == 0 || (table_entry(r->index, 0, &k, &kl, &v, &vl), kl != 0))
    return status_set(st, TFM_DATA_LOSS, "'%s' has no bundle header (not a V2 checkpoint index)",
                      index_path);
  tensorflow_BundleHeaderProto h;
  if (PBIO_DECODE(tensorflow_BundleHeaderProto, &h, v, vl, index_path, st) != TFM_OK)
    return status_prefix(st, "bundle header");
  tfm_code code = TFM_OK;
  if (h.num_shards < 1 || h.num_shards > 100000)
    code = status_set(st, TFM_DATA_LOSS, "'%s': bad num_shards %d", index_path, (int)h.num_shards);
  else if (h.endianness != tensorflow_BundleHeaderProto_Endianness_LITTLE)
    code = status_set(st, TFM_UNIMPLEMENTED, "'%s': big-endian checkpoints are not supported",
                      index_path);
  else if (h.version.min_consumer > BUNDLE_VERSION)
    code = status_set(st, TFM_UNIMPLEMENTED,
                      "'%s': checkpoint needs a reader of version %d (this one is %d)",
                      index_path, (int)h.version.min_consumer, BUNDLE_VERSION);
  for (pb_size_t i = 0; code == TFM_OK && i < h.version.bad_consumers_count; i++)
    if (h.version.bad_consumers[i] == BUNDLE_VERSION)
      code = status_set(st, TFM_UNIMPLEMENTED, "'%s': checkpoint disallows reader version %d",
                        index_path, BUNDLE_VERSION);
  r->num_shards = (int)h.num_shards;
  pbio_release(tensorflow_BundleHeaderProto_fields, &h);
  return code;
}

bundle_reader_t *bundle_reader_open(const char *prefix, tfm_status *st) {
  bundle_reader_t *r = mem_calloc(1, sizeof *r);
  char *index_path = bundle_index_path(prefix);
  if (!r || !index_path || !(r->prefix = mem_strdup(prefix))) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory opening checkpoint '%s'", prefix);
    goto fail;
  }
  r->index = table_open(index_path, st);
  if (!r->index) {
    if (status_code(st) == TFM_NOT_FOUND)
      status_set(st, TFM_NOT_FOUND, "checkpoint '%s' not found: no file '%s'", prefix, index_path);
    goto fail;
  }
  if (check_header(r, index_path, st) != TFM_OK) goto fail;
  size_t total = table_num_entries(r->index);
  r->n = total - 1;
  r->keys = mem_calloc(r->n ? r->n : 1, sizeof *r->keys);
  r->shards = mem_calloc((size_t)r->num_shards, sizeof *r->shards);
  /* Before any failure: close() must not see the zeroed fds (it would close fd 0). */
  for (int i = 0; r->shards && i < r->num_shards; i++) r->shards[i].fd = -1;
  if (!r->keys || !r->shards) {
    r->n = 0;
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory opening checkpoint '%s'", prefix);
    goto fail;
  }
  for (size_t i = 0; i < r->n; i++) {
    const uint8_t *k, *v;
    size_t kl, vl;
    table_entry(r->index, i + 1, &k, &kl, &v, &vl);
    if (memchr(k, 0, kl)) {
      status_set(st, TFM_DATA_LOSS, "'%s': tensor key %zu contains a NUL byte (a V1 checkpoint?)",
                 index_path, i);
      goto fail;
    }
    if (!(r->keys[i] = mem_strndup((const char *)k, kl))) {
      status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory opening checkpoint '%s'", prefix);
      goto fail;
    }
  }
  mem_free(index_path);
  return r;
fail:
  mem_free(index_path);
  bundle_reader_close(r);
  return NULL;
}

tfm_code bundle_reader_lookup(bundle_reader_t *r, const char *key, bundle_entry_t *e,
                              tfm_status *st) {
  long at = table_find(r->index, key, strlen(key));
  if (at <= 0)
    return status_set(st, TFM_NOT_FOUND, "tensor '%s' not found in checkpoint '%s'", key,
                      r->prefix);
  const uint8_t *k, *v;
  size_t kl, vl;
  table_entry(r->index, (size_t)at, &k, &kl, &v, &vl);
  tensorflow_BundleEntryProto p;
  char what[512];
  snprintf(what, sizeof what, "checkpoint '%s': entry of tensor '%s'", r->prefix, key);
  if (PBIO_DECODE(tensorflow_BundleEntryProto, &p, v, vl, what, st) != TFM_OK)
    return status_code(st);
  tfm_code code = TFM_OK;
  e->dtype = (tfm_dtype)p.dtype;
  if (p.slices_count > 0)
    code = status_set(st, TFM_UNIMPLEMENTED, "%s: partitioned (sliced) variables are not supported",
                      what);
  else if (!dtype_is_valid(e->dtype))
    code = status_set(st, TFM_UNIMPLEMENTED, "%s: unsupported dtype %d", what, (int)p.dtype);
  else if (p.shard_id < 0 || p.shard_id >= r->num_shards || p.offset < 0 || p.size < 0)
    code = status_set(st, TFM_DATA_LOSS, "%s: bad shard %d / offset %lld / size %lld", what,
                      (int)p.shard_id, (long long)p.offset, (long long)p.size);
  else if ((code = pbio_shape_from_proto(&p.shape, false, &e->shape, what, st)) == TFM_OK) {
    int64_t elements;
    if (shape_num_elements(&e->shape, &elements, st) != TFM_OK)
      code = status_set(st, TFM_DATA_LOSS, "%s: the element count of its shape overflows", what);
  }
  if (code == TFM_INVALID_ARGUMENT) { /* a bad shape in a file is corruption */
    char msg[STATUS_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", tfm_status_message(st));
    code = status_set(st, TFM_DATA_LOSS, "%s", msg);
  }
  e->shard_id = (int)p.shard_id;
  e->offset = (uint64_t)p.offset;
  e->size = (uint64_t)p.size;
  e->crc32c = crc32c_unmask(p.crc32c);
  pbio_release(tensorflow_BundleEntryProto_fields, &p);
  return code;
}

static tfm_code open_shard(bundle_reader_t *r, int shard, shard_file_t **out, tfm_status *st) {
  shard_file_t *f = &r->shards[shard];
  *out = f;
  if (f->fd >= 0) return TFM_OK;
  if (!f->path && !(f->path = bundle_data_path(r->prefix, shard, r->num_shards)))
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
  int fd = open(f->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return status_set(st, errno == ENOENT ? TFM_NOT_FOUND : TFM_UNKNOWN,
                      "checkpoint '%s': cannot open data file '%s': %s", r->prefix, f->path,
                      strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    close(fd);
    return status_set(st, TFM_UNKNOWN, "cannot stat '%s'", f->path);
  }
  f->fd = fd;
  f->size = (uint64_t)sb.st_size;
  return TFM_OK;
}

static tfm_code read_at(shard_file_t *f, void *buf, size_t n, uint64_t off, const char *key,
                        tfm_status *st) {
  uint8_t *p = buf;
  while (n > 0) {
    ssize_t got = pread(f->fd, p, n, (off_t)off);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0)
      return status_set(st, TFM_DATA_LOSS, "data file '%s': short read of tensor '%s'%s%s",
                        f->path, key, got < 0 ? ": " : "", got < 0 ? strerror(errno) : "");
    p += got;
    n -= (size_t)got;
    off += (uint64_t)got;
  }
  return TFM_OK;
}

/* A big tensor about to be filled from the file: asks for transparent huge pages
 * over the 2 MiB-aligned part of its fresh buffer, so that filling it takes one
 * page fault per 2 MiB instead of one per 4 KiB (a third of a fresh restore's
 * time otherwise). Only a hint: nothing changes where the kernel declines. */
static void advise_huge_pages(void *data, size_t n) {
#ifdef MADV_HUGEPAGE
  const uintptr_t huge = (uintptr_t)2 << 20;
  uintptr_t start = ((uintptr_t)data + huge - 1) & ~(huge - 1), end = ((uintptr_t)data + n) & ~(huge - 1);
  if (end > start) madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
  (void)data, (void)n;
#endif
}

/* Reads n bytes at off into buf in chunks, extending *crc over each chunk right
 * after it lands, while it is still in cache: the checksum then costs no second
 * trip through memory. */
static tfm_code read_at_crc(shard_file_t *f, void *buf, size_t n, uint64_t off, const char *key, uint32_t *crc,
                            tfm_status *st) {
  uint8_t *p = buf;
  while (n > 0) {
    size_t k = n < BUNDLE_CRC_CHUNK ? n : BUNDLE_CRC_CHUNK;
    if (read_at(f, p, k, off, key, st) != TFM_OK) return status_code(st);
    *crc = crc32c_extend(*crc, p, k);
    p += k;
    off += k;
    n -= k;
  }
  return TFM_OK;
}

/* Parses the string layout in buf (see put_strings) into t, checking both CRCs. */
static tfm_code parse_strings(tensor_t *t, const uint8_t *buf, size_t size, uint32_t want_crc,
                              const char *where, tfm_status *st) {
  size_t n = (size_t)t->num_elements;
  const uint8_t *p = buf, *end = buf + size;
  uint32_t c = 0;
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t len;
    if (!varint_decode(&p, end, &len) || len > size)
      return status_set(st, TFM_DATA_LOSS, "%s: bad length of string element %zu", where, i);
    uint8_t le[8];
    store_u64le(le, len);
    c = crc32c_extend(c, le, len > 0xFFFFFFFFu ? 8 : 4);
    total += len;
  }
  if (end - p < 4 || crc32c_unmask(load_u32le(p)) != c)
    return status_set(st, TFM_DATA_LOSS, "%s: string lengths fail their checksum", where);
  c = crc32c_extend(c, p, 4);
  p += 4;
  if (total != (uint64_t)(end - p))
    return status_set(st, TFM_DATA_LOSS, "%s: string bytes (%llu) do not fill the entry size", where,
                      (unsigned long long)total);
  c = crc32c_extend(c, p, (size_t)(end - p));
  if (c != want_crc) return status_set(st, TFM_DATA_LOSS, "%s: CRC mismatch", where);
  /* Second pass over the (now verified) lengths to fill the tensor. */
  const uint8_t *q = buf;
  for (size_t i = 0; i < n; i++) {
    uint64_t len;
    varint_decode(&q, end, &len);
    if (tensor_string_set(t, (int64_t)i, (const char *)p, (size_t)len, st) != TFM_OK)
      return status_code(st);
    p += len;
  }
  return TFM_OK;
}

tensor_t *bundle_reader_read(bundle_reader_t *r, const char *key, tfm_status *st) {
  bundle_entry_t e;
  if (bundle_reader_lookup(r, key, &e, st) != TFM_OK) return NULL;
  shard_file_t *f;
  if (open_shard(r, e.shard_id, &f, st) != TFM_OK) return NULL;
  char where[512];
  snprintf(where, sizeof where, "checkpoint '%s': tensor '%s' in '%s'", r->prefix, key, f->path);
  if (e.offset > f->size || e.size > f->size - e.offset) {
    status_set(st, TFM_DATA_LOSS, "%s: bytes [%llu, +%llu) lie beyond the file's %llu bytes",
               where, (unsigned long long)e.offset, (unsigned long long)e.size,
               (unsigned long long)f->size);
    return NULL;
  }
  int64_t n;
  if (shape_num_elements(&e.shape, &n, st) != TFM_OK) return NULL;
  if (e.dtype != TFM_STRING) {
    size_t want;
    if (mem_mul_overflows((size_t)n, dtype_size(e.dtype), &want) || e.size != want) {
      status_set(st, TFM_DATA_LOSS, "%s: entry size %llu, but %lld %s elements need %llu", where,
                 (unsigned long long)e.size, (long long)n, dtype_name(e.dtype),
                 (unsigned long long)((uint64_t)n * dtype_size(e.dtype)));
      return NULL;
    }
  } else if ((uint64_t)n > e.size || e.size - (uint64_t)n < 4) {
    /* every element needs at least a 1-byte varint, plus the 4-byte checksum */
    status_set(st, TFM_DATA_LOSS, "%s: entry size %llu too small for %lld strings", where,
               (unsigned long long)e.size, (long long)n);
    return NULL;
  }
  tensor_t *t = tensor_new(e.dtype, &e.shape, st);
  if (!t) return NULL;
  if (e.dtype != TFM_STRING) {
    uint32_t c = 0;
    advise_huge_pages(t->data, t->nbytes);
    if (read_at_crc(f, t->data, t->nbytes, e.offset, key, &c, st) != TFM_OK) goto fail;
    if (c != e.crc32c) {
      status_set(st, TFM_DATA_LOSS, "%s: CRC mismatch (data corrupted)", where);
      goto fail;
    }
    return t;
  }
  uint8_t *buf = mem_alloc((size_t)e.size);
  if (!buf) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory for %llu bytes", where,
               (unsigned long long)e.size);
    goto fail;
  }
  tfm_code code = read_at(f, buf, (size_t)e.size, e.offset, key, st);
  if (code == TFM_OK) code = parse_strings(t, buf, (size_t)e.size, e.crc32c, where, st);
  mem_free(buf);
  if (code == TFM_OK) return t;
fail:
  tensor_unref(t);
  return NULL;
}

/* The shard file of e with e's bytes checked to lie inside it. */
static tfm_code entry_shard(bundle_reader_t *r, const char *key, const bundle_entry_t *e, shard_file_t **f,
                            char *where, size_t cap, tfm_status *st) {
  if (open_shard(r, e->shard_id, f, st) != TFM_OK) return status_code(st);
  snprintf(where, cap, "checkpoint '%s': tensor '%s' in '%s'", r->prefix, key, (*f)->path);
  if (e->offset > (*f)->size || e->size > (*f)->size - e->offset)
    return status_set(st, TFM_DATA_LOSS, "%s: bytes [%llu, +%llu) lie beyond the file's %llu bytes", where,
                      (unsigned long long)e->offset, (unsigned long long)e->size,
                      (unsigned long long)(*f)->size);
  return TFM_OK;
}

/* The verify pass reads through one cache-sized buffer, whatever the tensor's size. */
#define BUNDLE_VERIFY_CHUNK BUNDLE_CRC_CHUNK

tfm_code bundle_reader_verify(bundle_reader_t *r, const char *key, const bundle_entry_t *e,
                              tfm_status *st) {
  shard_file_t *f;
  char where[512];
  if (entry_shard(r, key, e, &f, where, sizeof where, st) != TFM_OK) return status_code(st);
  size_t chunk = e->size < BUNDLE_VERIFY_CHUNK ? (size_t)e->size : BUNDLE_VERIFY_CHUNK;
  uint8_t *buf = mem_alloc(chunk ? chunk : 1);
  if (!buf) return status_set(st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", where);
  uint32_t c = 0;
  tfm_code code = TFM_OK;
  for (uint64_t done = 0; done < e->size && code == TFM_OK;) {
    size_t n = e->size - done < chunk ? (size_t)(e->size - done) : chunk;
    code = read_at(f, buf, n, e->offset + done, key, st);
    if (code == TFM_OK) c = crc32c_extend(c, buf, n);
    done += n;
  }
  mem_free(buf);
  if (code == TFM_OK && c != e->crc32c) code = status_set(st, TFM_DATA_LOSS, "%s: CRC mismatch (data corrupted)", where);
  return code;
}

tfm_code bundle_reader_read_into(bundle_reader_t *r, const char *key, const bundle_entry_t *e,
                                 void *dst, tfm_status *st) {
  shard_file_t *f;
  char where[512];
  if (e->dtype == TFM_STRING)
    return status_set(st, TFM_INTERNAL, "checkpoint '%s': tensor '%s': strings need bundle_reader_read", r->prefix,
                      key);
  if (entry_shard(r, key, e, &f, where, sizeof where, st) != TFM_OK) return status_code(st);
  uint32_t c = 0;
  if (read_at_crc(f, dst, (size_t)e->size, e->offset, key, &c, st) != TFM_OK) return status_code(st);
  if (c != e->crc32c)
    return status_set(st, TFM_DATA_LOSS, "%s: CRC mismatch (data corrupted)", where);
  return TFM_OK;
}

/* ===================================================================== merge */

typedef struct merge_item {
  const uint8_t *key, *val;
  size_t klen, vlen;
  int src;
} merge_item_t;

static int merge_item_cmp(const void *a, const void *b) {
  const merge_item_t *x = a, *y = b;
  return table_key_cmp(x->key, x->klen, y->key, y->klen);
}

/* The merged index: header with n shards, then every entry with its shard id. */
static tfm_code merge_index(bundle_reader_t **rs, int n, merge_item_t *items, size_t count, table_builder_t *tb,
                            const char *dest, tfm_status *st) {
  bytebuf_t val = BYTEBUF_INIT;
  tensorflow_BundleHeaderProto h = tensorflow_BundleHeaderProto_init_zero;
  h.num_shards = n;
  h.endianness = tensorflow_BundleHeaderProto_Endianness_LITTLE;
  h.has_version = true;
  h.version.producer = BUNDLE_VERSION;
  tfm_code code = pbio_encode(tensorflow_BundleHeaderProto_fields, &h, &val, "bundle header", st);
  if (code == TFM_OK) code = table_builder_add(tb, "", 0, val.data, val.len, st);
  for (size_t i = 0; i < count && code == TFM_OK; i++) {
    if (i > 0 && table_key_cmp(items[i - 1].key, items[i - 1].klen, items[i].key, items[i].klen) == 0) {
      code = status_set(st, TFM_INVALID_ARGUMENT, "merging into '%s': tensor '%.*s' is in both '%s' and '%s'", dest,
                        (int)items[i].klen, (const char *)items[i].key, rs[items[i - 1].src]->prefix,
                        rs[items[i].src]->prefix);
      break;
    }
    const uint8_t *v = items[i].val;
    size_t vl = items[i].vlen;
    if (n > 1) { /* re-encode with the shard id of its source */
      tensorflow_BundleEntryProto p;
      if (PBIO_DECODE(tensorflow_BundleEntryProto, &p, v, vl, rs[items[i].src]->prefix, st) != TFM_OK) {
        code = status_code(st);
        break;
      }
      p.shard_id = items[i].src;
      val.len = 0;
      code = pbio_encode(tensorflow_BundleEntryProto_fields, &p, &val, "bundle entry", st);
      pbio_release(tensorflow_BundleEntryProto_fields, &p);
      v = val.data;
      vl = val.len;
    }
    if (code == TFM_OK) code = table_builder_add(tb, items[i].key, items[i].klen, v, vl, st);
  }
  bytebuf_free(&val);
  return code;
}

static void remove_dir_of(const char *path) {
  char *dir = mem_strdup(path);
  char *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash && slash != dir) {
    *slash = '\0';
    rmdir(dir); /* only succeeds when empty, as wanted */
  }
  mem_free(dir);
}

tfm_code bundle_merge(const char *const *srcs, int n, const char *dest, bool delete_old_dirs,
                      tfm_status *st) {
  if (n < 1 || n > 99999) return status_set(st, TFM_INVALID_ARGUMENT, "merging into '%s': %d sources", dest, n);
  bundle_reader_t **rs = mem_calloc((size_t)n, sizeof *rs);
  merge_item_t *items = NULL;
  table_builder_t *tb = NULL;
  char *index_path = bundle_index_path(dest);
  size_t count = 0;
  tfm_code code = rs && index_path ? TFM_OK : status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; i < n && code == TFM_OK; i++) {
    if (!(rs[i] = bundle_reader_open(srcs[i], st))) code = status_code(st);
    else if (rs[i]->num_shards != 1)
      code = status_set(st, TFM_UNIMPLEMENTED, "merging into '%s': source '%s' has %d shards", dest, srcs[i],
                        rs[i]->num_shards);
    else count += rs[i]->n;
  }
  if (code == TFM_OK && !(items = mem_calloc(count ? count : 1, sizeof *items)))
    code = status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0, at = 0; i < n && code == TFM_OK; i++)
    for (size_t j = 0; j < rs[i]->n; j++, at++) {
      table_entry(rs[i]->index, j + 1, &items[at].key, &items[at].klen, &items[at].val, &items[at].vlen);
      items[at].src = i;
    }
  if (code == TFM_OK) {
    qsort(items, count, sizeof *items, merge_item_cmp);
    if (!(tb = table_builder_new(0, st))) code = status_code(st);
  }
  const uint8_t *bytes = NULL;
  size_t len = 0;
  if (code == TFM_OK) code = merge_index(rs, n, items, count, tb, dest, st);
  if (code == TFM_OK) code = table_builder_finish(tb, &bytes, &len, st);
  /* Data files first, the index last: an index under its final name always has
   * its data beside it. */
  for (int i = 0; i < n && code == TFM_OK; i++) {
    char *from = bundle_data_path(srcs[i], 0, 1), *to = bundle_data_path(dest, i, n);
    if (!from || !to) code = status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
    else if (strcmp(from, to) != 0 && rename(from, to) != 0)
      code = status_set(st, errno == ENOENT ? TFM_NOT_FOUND : TFM_INTERNAL, "merging into '%s': cannot rename '%s' to '%s': %s",
                        dest, from, to, strerror(errno));
    mem_free(from);
    mem_free(to);
  }
  if (code == TFM_OK) code = file_write_atomic(index_path, bytes, len, st);
  for (int i = 0; i < n && code == TFM_OK; i++) {
    char *src_index = bundle_index_path(srcs[i]);
    if (src_index && strcmp(src_index, index_path) != 0) unlink(src_index);
    mem_free(src_index);
    if (delete_old_dirs) remove_dir_of(srcs[i]);
  }
  table_builder_free(tb);
  mem_free(items);
  for (int i = 0; rs && i < n; i++) bundle_reader_close(rs[i]);
  mem_free(rs);
  mem_free(index_path);
  return code;
}
