/* TFRecord writer and reader (see tfrecord.h). */
#include "io/tfrecord.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "io/crc32c.h"

#define TFRECORD_FLUSH_AT (1u << 20)

void tfrecord_frame(bytebuf_t *out, const void *data, size_t len) {
  uint8_t head[TFRECORD_HEADER];
  store_u64le(head, (uint64_t)len);
  store_u32le(head + 8, crc32c_mask(crc32c(head, 8)));
  bytebuf_append(out, head, sizeof head);
  bytebuf_append(out, data, len);
  bytebuf_put_u32le(out, crc32c_mask(crc32c(data, len)));
}

struct tfrecord_writer {
  int fd;
  char *path;
  bytebuf_t buf;
};

tfrecord_writer_t *tfrecord_writer_open(const char *path, tfm_status *st) {
  tfrecord_writer_t *w = mem_calloc(1, sizeof *w);
  if (!w || !(w->path = mem_strdup(path))) {
    mem_free(w);
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory opening '%s'", path);
    return NULL;
  }
  w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (w->fd < 0) {
    status_set(st, errno == ENOENT ? TFM_NOT_FOUND : errno == EACCES ? TFM_PERMISSION_DENIED : TFM_UNKNOWN,
               "cannot create '%s': %s", path, strerror(errno));
    mem_free(w->path);
    mem_free(w);
    return NULL;
  }
  return w;
}

tfm_code tfrecord_writer_flush(tfrecord_writer_t *w, bool sync, tfm_status *st) {
  const uint8_t *p = w->buf.data;
  size_t n = w->buf.len;
  while (n > 0) {
    ssize_t k = write(w->fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      /* Keep only what is not in the file yet: a retry must not write it twice. */
      int e = errno;
      memmove(w->buf.data, p, n);
      w->buf.len = n;
      return status_set(st, e == ENOSPC ? TFM_RESOURCE_EXHAUSTED : TFM_UNKNOWN, "cannot write '%s': %s", w->path,
                        strerror(e));
    }
    p += k;
    n -= (size_t)k;
  }
  w->buf.len = 0;
  if (sync && fsync(w->fd) != 0)
    return status_set(st, TFM_UNKNOWN, "cannot fsync '%s': %s", w->path, strerror(errno));
  return TFM_OK;
}

tfm_code tfrecord_writer_write(tfrecord_writer_t *w, const void *data, size_t len,
                               tfm_status *st) {
  size_t before = w->buf.len;
  tfrecord_frame(&w->buf, data, len);
  if (w->buf.failed) {
    w->buf.failed = false;
    w->buf.len = before; /* drop the partial frame */
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory writing a record to '%s'", w->path);
  }
  if (w->buf.len >= TFRECORD_FLUSH_AT) return tfrecord_writer_flush(w, false, st);
  return TFM_OK;
}

tfm_code tfrecord_writer_close(tfrecord_writer_t *w, tfm_status *st) {
  if (!w) return TFM_OK;
  tfm_code code = tfrecord_writer_flush(w, false, st);
  if (close(w->fd) != 0 && code == TFM_OK)
    code = status_set(st, TFM_UNKNOWN, "cannot close '%s': %s", w->path, strerror(errno));
  bytebuf_free(&w->buf);
  mem_free(w->path);
  mem_free(w);
  return code;
}

struct tfrecord_reader {
  int fd;
  char *path;
  uint64_t offset;
  bool truncated;
  uint8_t *buf;
  size_t cap;
};

tfrecord_reader_t *tfrecord_reader_open(const char *path, tfm_status *st) {
  tfrecord_reader_t *r = mem_calloc(1, sizeof *r);
  if (!r || !(r->path = mem_strdup(path))) {
    mem_free(r);
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory opening '%s'", path);
    return NULL;
  }
  r->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (r->fd < 0) {
    status_set(st, errno == ENOENT ? TFM_NOT_FOUND : TFM_UNKNOWN, "cannot open '%s': %s", path,
               strerror(errno));
    mem_free(r->path);
    mem_free(r);
    return NULL;
  }
  return r;
}

void tfrecord_reader_close(tfrecord_reader_t *r) {
  if (!r) return;
  close(r->fd);
  mem_free(r->buf);
  mem_free(r->path);
  mem_free(r);
}

bool tfrecord_reader_truncated(const tfrecord_reader_t *r) { return r->truncated; }
uint64_t tfrecord_reader_offset(const tfrecord_reader_t *r) { return r->offset; }

/* Reads exactly n bytes at off; returns the count actually read (short at EOF). */
static ssize_t read_full(int fd, void *buf, size_t n, uint64_t off) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = pread(fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return -1;
    if (k == 0) break;
    got += (size_t)k;
  }
  return (ssize_t)got;
}

static tfm_code at_end(tfrecord_reader_t *r, bool truncated, tfm_status *st) {
  r->truncated = truncated;
  return status_set(st, TFM_OUT_OF_RANGE, "end of '%s'%s", r->path,
                    truncated ? " (last record incomplete)" : "");
}

tfm_code tfrecord_reader_next(tfrecord_reader_t *r, const uint8_t **data, size_t *len,
                              tfm_status *st) {
  uint8_t head[TFRECORD_HEADER];
  ssize_t k = read_full(r->fd, head, sizeof head, r->offset);
  if (k < 0) return status_set(st, TFM_UNKNOWN, "cannot read '%s': %s", r->path, strerror(errno));
  if (k == 0) return at_end(r, false, st);
  if ((size_t)k < sizeof head) return at_end(r, true, st);
  if (crc32c_unmask(load_u32le(head + 8)) != crc32c(head, 8))
    return status_set(st, TFM_DATA_LOSS, "'%s': corrupt record length at offset %llu", r->path,
                      (unsigned long long)r->offset);
  uint64_t n = load_u64le(head);
  /* Never allocate more than the file holds: a record past the end is incomplete. */
  struct stat sb;
  if (fstat(r->fd, &sb) != 0)
    return status_set(st, TFM_UNKNOWN, "cannot stat '%s': %s", r->path, strerror(errno));
  uint64_t avail = (uint64_t)sb.st_size - (r->offset + sizeof head);
  if ((uint64_t)sb.st_size < r->offset + sizeof head || n > avail || avail - n < TFRECORD_FOOTER)
    return at_end(r, true, st);
  size_t need = (size_t)n + TFRECORD_FOOTER;
  if (need > r->cap) {
    uint8_t *b = mem_realloc(r->buf, need);
    if (!b) return status_set(st, TFM_RESOURCE_EXHAUSTED, "'%s': out of memory for a %llu-byte record",
                              r->path, (unsigned long long)n);
    r->buf = b;
    r->cap = need;
  }
  k = read_full(r->fd, r->buf, need, r->offset + sizeof head);
  if (k < 0) return status_set(st, TFM_UNKNOWN, "cannot read '%s': %s", r->path, strerror(errno));
  if ((size_t)k < need) return at_end(r, true, st);
  if (crc32c_unmask(load_u32le(r->buf + n)) != crc32c(r->buf, (size_t)n))
    return status_set(st, TFM_DATA_LOSS, "'%s': corrupt record data at offset %llu", r->path,
                      (unsigned long long)r->offset);
  r->offset += sizeof head + need;
  r->truncated = false;
  *data = r->buf;
  *len = (size_t)n;
  return TFM_OK;
}
