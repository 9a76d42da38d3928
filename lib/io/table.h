/* The LevelDB-style SSTable TensorFlow uses for checkpoint .index files
 * (tensorflow::table; formats.md 1.1): sorted key/value blocks with prefix-compressed
 * keys and restart points, an index block of separator keys, an empty metaindex
 * block, a 48-byte footer, and a masked CRC-32C after every block.
 *
 * The writer reproduces TF's bytes exactly (restart interval 16 for data blocks,
 * 1 for the index block, uncompressed blocks, short separators/successor).
 * The reader loads the whole table into memory (index files hold metadata only),
 * checks every CRC, length and key order, and decodes snappy blocks (type 1). */
#ifndef TFM_IO_TABLE_H
#define TFM_IO_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/status.h"
#include "io/bytebuf.h"

#define TABLE_BLOCK_SIZE 262144
#define TABLE_FOOTER_SIZE 48
#define TABLE_MAGIC 0xDB4775248B80FB57ull

/* memcmp order of byte strings, shorter first on a common prefix (the table's key order). */
static inline int table_key_cmp(const void *a, size_t alen, const void *b, size_t blen) {
  size_t m = alen < blen ? alen : blen;
  int c = m ? memcmp(a, b, m) : 0;
  if (c) return c;
  return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* ---- writer ---- */
typedef struct table_builder table_builder_t;

/* block_size 0 = TF's 256 KiB. NULL + RESOURCE_EXHAUSTED on allocation failure. */
table_builder_t *table_builder_new(size_t block_size, tfm_status *st);
/* Appends an entry; keys must be strictly increasing (memcmp order) else
 * INVALID_ARGUMENT. */
tfm_code table_builder_add(table_builder_t *tb, const void *key, size_t klen, const void *val,
                           size_t vlen, tfm_status *st);
/* Completes the table; *out points at its bytes (owned by the builder, valid
 * until table_builder_free). No adds after this. */
tfm_code table_builder_finish(table_builder_t *tb, const uint8_t **out, size_t *len,
                              tfm_status *st);
void table_builder_free(table_builder_t *tb);

/* ---- reader ---- */
typedef struct table table_t;

/* Parses a whole table file. NOT_FOUND if absent; DATA_LOSS naming the file on a
 * bad CRC, truncation, bad magic, out-of-range handle or unsorted keys. */
table_t *table_open(const char *path, tfm_status *st);
/* Same over bytes in memory (copied as needed); `name` appears in messages. */
table_t *table_open_bytes(const uint8_t *data, size_t n, const char *name, tfm_status *st);
void table_close(table_t *t);

size_t table_num_entries(const table_t *t);
/* Entry i (0 <= i < num_entries), in key order. Pointers owned by the table. */
void table_entry(const table_t *t, size_t i, const uint8_t **key, size_t *klen,
                 const uint8_t **val, size_t *vlen);
/* Binary search; returns the entry index or -1 when the key is absent. */
long table_find(const table_t *t, const void *key, size_t klen);
/* Data blocks seen and how many were snappy-compressed (for tests). */
void table_block_stats(const table_t *t, size_t *blocks, size_t *snappy_blocks);

/* Shortest key k with a <= k < b (a < b); TF's FindShortestSeparator. */
void table_shortest_separator(bytebuf_t *a, const uint8_t *b, size_t blen);
/* Shortest key >= a: first non-0xFF byte incremented, rest dropped. */
void table_short_successor(bytebuf_t *a);

#endif
