/* SSTable writer (see table.h). Blocks are built in memory, then appended to the
 * file image with their 5-byte trailer; the index entry of a block is written when
 * the next key is known, so that its separator can be as short as possible. */
#include <string.h>

#include "core/mem.h"
#include "io/crc32c.h"
#include "io/table.h"

#define DATA_RESTART_INTERVAL 16
#define INDEX_RESTART_INTERVAL 1

typedef struct block_builder {
  bytebuf_t buf;
  bytebuf_t restarts; /* u32 offsets, little-endian */
  bytebuf_t last_key;
  int interval, counter;
  size_t entries;
} block_builder_t;

struct table_builder {
  size_t block_size;
  bytebuf_t file;
  block_builder_t data, index;
  bytebuf_t last_key;      /* last key added to the table */
  bool pending_index;      /* a data block was flushed; its index entry waits for the next key */
  uint64_t pending_off, pending_size;
  size_t num_entries;
  bool finished;
};

static void block_reset(block_builder_t *b) {
  b->buf.len = 0;
  b->restarts.len = 0;
  b->last_key.len = 0;
  b->counter = 0;
  b->entries = 0;
  bytebuf_put_u32le(&b->restarts, 0); /* offset 0 is always a restart */
}

static void block_free(block_builder_t *b) {
  bytebuf_free(&b->buf);
  bytebuf_free(&b->restarts);
  bytebuf_free(&b->last_key);
}

static void block_add(block_builder_t *b, const uint8_t *key, size_t klen, const uint8_t *val,
                      size_t vlen) {
  size_t shared = 0;
  if (b->counter < b->interval) {
    size_t m = klen < b->last_key.len ? klen : b->last_key.len;
    while (shared < m && b->last_key.data[shared] == key[shared]) shared++;
  } else {
    bytebuf_put_u32le(&b->restarts, (uint32_t)b->buf.len);
    b->counter = 0;
  }
  bytebuf_put_varint(&b->buf, shared);
  bytebuf_put_varint(&b->buf, klen - shared);
  bytebuf_put_varint(&b->buf, vlen);
  bytebuf_append(&b->buf, key + shared, klen - shared);
  bytebuf_append(&b->buf, val, vlen);
  b->last_key.len = 0;
  bytebuf_append(&b->last_key, key, klen);
  b->counter++;
  b->entries++;
}

static size_t block_estimate(const block_builder_t *b) {
  return b->buf.len + b->restarts.len + 4;
}

/* Appends the finished block + trailer (type 0, masked CRC) to the file; resets it. */
static void block_flush(table_builder_t *tb, block_builder_t *b, uint64_t *off, uint64_t *size) {
  bytebuf_append(&b->buf, b->restarts.data, b->restarts.len);
  bytebuf_put_u32le(&b->buf, (uint32_t)(b->restarts.len / 4));
  if (b->buf.failed || b->restarts.failed || b->last_key.failed) tb->file.failed = true;
  *off = tb->file.len;
  *size = b->buf.len;
  bytebuf_append(&tb->file, b->buf.data, b->buf.len);
  uint8_t type = 0;
  uint32_t crc = crc32c_extend(crc32c(b->buf.data, b->buf.len), &type, 1);
  bytebuf_append(&tb->file, &type, 1);
  bytebuf_put_u32le(&tb->file, crc32c_mask(crc));
  block_reset(b);
}

static void put_handle(bytebuf_t *out, uint64_t off, uint64_t size) {
  bytebuf_put_varint(out, off);
  bytebuf_put_varint(out, size);
}

static void add_index_entry(table_builder_t *tb, const bytebuf_t *sep) {
  bytebuf_t h = BYTEBUF_INIT;
  put_handle(&h, tb->pending_off, tb->pending_size);
  if (h.failed) tb->file.failed = true;
  block_add(&tb->index, sep->data, sep->len, h.data, h.len);
  bytebuf_free(&h);
  tb->pending_index = false;
}

void table_shortest_separator(bytebuf_t *a, const uint8_t *b, size_t blen) {
  size_t m = a->len < blen ? a->len : blen, i = 0;
  while (i < m && a->data[i] == b[i]) i++;
  if (i >= m) return; /* one is a prefix of the other */
  uint8_t c = a->data[i];
  if (c < 0xFF && c + 1 < b[i]) {
    a->data[i] = c + 1;
    a->len = i + 1;
  }
}

void table_short_successor(bytebuf_t *a) {
  for (size_t i = 0; i < a->len; i++) {
    if (a->data[i] != 0xFF) {
      a->data[i]++;
      a->len = i + 1;
      return;
    }
  }
}

table_builder_t *table_builder_new(size_t block_size, tfm_status *st) {
  table_builder_t *tb = mem_calloc(1, sizeof *tb);
  if (!tb) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory for a table builder");
    return NULL;
  }
  tb->block_size = block_size ? block_size : TABLE_BLOCK_SIZE;
  tb->data.interval = DATA_RESTART_INTERVAL;
  tb->index.interval = INDEX_RESTART_INTERVAL;
  block_reset(&tb->data);
  block_reset(&tb->index);
  return tb;
}

void table_builder_free(table_builder_t *tb) {
  if (!tb) return;
  bytebuf_free(&tb->file);
  block_free(&tb->data);
  block_free(&tb->index);
  bytebuf_free(&tb->last_key);
  mem_free(tb);
}

static tfm_code oom(table_builder_t *tb, tfm_status *st) {
  tb->file.failed = true;
  return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory building a table");
}

static void flush_data(table_builder_t *tb) {
  if (tb->data.entries == 0) return;
  block_flush(tb, &tb->data, &tb->pending_off, &tb->pending_size);
  tb->pending_index = true;
}

tfm_code table_builder_add(table_builder_t *tb, const void *key, size_t klen, const void *val,
                           size_t vlen, tfm_status *st) {
  if (tb->finished) return status_set(st, TFM_FAILED_PRECONDITION, "table already finished");
  if (tb->num_entries > 0 && table_key_cmp(key, klen, tb->last_key.data, tb->last_key.len) <= 0)
    return status_set(st, TFM_INVALID_ARGUMENT,
                      "table keys must be strictly increasing: '%.*s' after '%.*s'", (int)klen,
                      (const char *)key, (int)tb->last_key.len, (const char *)tb->last_key.data);
  /* TF flushes before an entry that alone is at least two blocks. */
  if (klen + vlen >= 2 * tb->block_size) flush_data(tb);
  if (tb->pending_index) {
    table_shortest_separator(&tb->last_key, key, klen);
    add_index_entry(tb, &tb->last_key);
  }
  block_add(&tb->data, key, klen, val, vlen);
  tb->last_key.len = 0;
  bytebuf_append(&tb->last_key, key, klen);
  tb->num_entries++;
  if (block_estimate(&tb->data) >= tb->block_size) flush_data(tb);
  if (tb->file.failed || tb->data.buf.failed || tb->data.restarts.failed ||
      tb->data.last_key.failed || tb->index.buf.failed || tb->last_key.failed)
    return oom(tb, st);
  return TFM_OK;
}

tfm_code table_builder_finish(table_builder_t *tb, const uint8_t **out, size_t *len,
                              tfm_status *st) {
  if (tb->finished) return status_set(st, TFM_FAILED_PRECONDITION, "table already finished");
  tb->finished = true;
  flush_data(tb);
  if (tb->pending_index) {
    table_short_successor(&tb->last_key);
    add_index_entry(tb, &tb->last_key);
  }
  uint64_t meta_off, meta_size, index_off, index_size;
  block_builder_t meta = {BYTEBUF_INIT, BYTEBUF_INIT, BYTEBUF_INIT, DATA_RESTART_INTERVAL, 0, 0};
  block_reset(&meta);
  block_flush(tb, &meta, &meta_off, &meta_size);
  block_free(&meta);
  block_flush(tb, &tb->index, &index_off, &index_size);
  uint8_t footer[TABLE_FOOTER_SIZE] = {0};
  size_t n = 0;
  n += varint_encode(footer + n, meta_off);
  n += varint_encode(footer + n, meta_size);
  n += varint_encode(footer + n, index_off);
  n += varint_encode(footer + n, index_size);
  store_u64le(footer + 40, TABLE_MAGIC);
  bytebuf_append(&tb->file, footer, sizeof footer);
  if (tb->file.failed || tb->index.buf.failed || tb->index.restarts.failed) return oom(tb, st);
  *out = tb->file.data;
  *len = tb->file.len;
  return TFM_OK;
}
