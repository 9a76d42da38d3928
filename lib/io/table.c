/* SSTable reader (see table.h). The table is small, so it is decoded completely
 * at open: footer -> index block -> every data block, each block's CRC checked
 * before its bytes are looked at, every length checked against what is left. */
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "io/crc32c.h"
#include "io/file.h"
#include "io/snappy.h"
#include "io/table.h"

/* Index files hold metadata only; 1 GiB is far beyond any real one. */
#define TABLE_MAX_FILE (1ull << 30)

typedef struct table_entry_rec {
  uint8_t *key; /* key bytes followed by value bytes, one allocation */
  size_t klen, vlen;
} table_entry_rec_t;

struct table {
  char name[256];
  table_entry_rec_t *entries;
  size_t n, cap;
  size_t blocks, snappy_blocks;
};

static tfm_code corrupt(table_t *t, tfm_status *st, const char *fmt, const char *detail,
                        unsigned long long a) {
  char msg[256];
  snprintf(msg, sizeof msg, fmt, detail, a);
  return status_set(st, TFM_DATA_LOSS, "corrupt table '%s': %s", t->name, msg);
}

void table_close(table_t *t) {
  if (!t) return;
  for (size_t i = 0; i < t->n; i++) mem_free(t->entries[i].key);
  mem_free(t->entries);
  mem_free(t);
}

size_t table_num_entries(const table_t *t) { return t->n; }

void table_entry(const table_t *t, size_t i, const uint8_t **key, size_t *klen,
                 const uint8_t **val, size_t *vlen) {
  const table_entry_rec_t *e = &t->entries[i];
  *key = e->key;
  *klen = e->klen;
  *val = e->key + e->klen;
  *vlen = e->vlen;
}

void table_block_stats(const table_t *t, size_t *blocks, size_t *snappy_blocks) {
  *blocks = t->blocks;
  *snappy_blocks = t->snappy_blocks;
}

long table_find(const table_t *t, const void *key, size_t klen) {
  size_t lo = 0, hi = t->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = table_key_cmp(t->entries[mid].key, t->entries[mid].klen, key, klen);
    if (c == 0) return (long)mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

typedef struct handle {
  uint64_t off, size;
} handle_t;

/* Checks the handle against the file, verifies the trailer CRC, and returns the
 * block contents (decompressed into *owned when snappy). */
static tfm_code read_block(table_t *t, const uint8_t *file, size_t file_len, handle_t h,
                           const char *what, const uint8_t **data, size_t *len, uint8_t **owned,
                           tfm_status *st) {
  *owned = NULL;
  size_t limit = file_len - TABLE_FOOTER_SIZE;
  if (h.off > limit || h.size > limit - h.off || limit - h.off - h.size < 5)
    return corrupt(t, st, "%s block handle points past the end (offset %llu)", what, h.off);
  const uint8_t *b = file + h.off;
  uint8_t type = b[h.size];
  uint32_t stored = load_u32le(b + h.size + 1);
  uint32_t actual = crc32c_extend(crc32c(b, (size_t)h.size), &type, 1);
  if (crc32c_unmask(stored) != actual)
    return corrupt(t, st, "%s block at offset %llu fails its CRC check", what, h.off);
  if (type == 0) {
    *data = b;
    *len = (size_t)h.size;
    return TFM_OK;
  }
  if (type != 1) return corrupt(t, st, "%s block has unknown compression type %llu", what, type);
  char where[320];
  snprintf(where, sizeof where, "table '%s': %s block at offset %llu", t->name, what,
           (unsigned long long)h.off);
  size_t n;
  if (snappy_decoded_length(b, (size_t)h.size, &n, where, st) != TFM_OK) return status_code(st);
  uint8_t *out = mem_alloc(n ? n : 1);
  if (!out) return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory: %s", where);
  if (snappy_decode(b, (size_t)h.size, out, n, where, st) != TFM_OK) {
    mem_free(out);
    return status_code(st);
  }
  t->snappy_blocks++;
  *owned = out;
  *data = out;
  *len = n;
  return TFM_OK;
}

/* Calls fn for every entry of a block after checking its restart array and
 * prefix compression. */
typedef tfm_code (*entry_fn)(table_t *t, const uint8_t *key, size_t klen, const uint8_t *val,
                             size_t vlen, void *arg, tfm_status *st);

static tfm_code parse_block(table_t *t, const uint8_t *b, size_t len, const char *what,
                            entry_fn fn, void *arg, tfm_status *st) {
  if (len < 4) return corrupt(t, st, "%s block too short (%llu bytes)", what, len);
  uint32_t nr = load_u32le(b + len - 4);
  if (nr == 0 || nr > (len - 4) / 4)
    return corrupt(t, st, "%s block has a bad restart count %llu", what, nr);
  size_t end = len - 4 - 4 * (size_t)nr; /* entries live in [0, end) */
  const uint8_t *restarts = b + end;
  uint32_t next_restart = 0; /* index into the restart array */
  bytebuf_t key = BYTEBUF_INIT;
  const uint8_t *p = b, *lim = b + end;
  tfm_code code = TFM_OK;
  while (p < lim) {
    size_t at = (size_t)(p - b);
    uint32_t shared, unshared, vlen;
    if (!varint_decode32(&p, lim, &shared) || !varint_decode32(&p, lim, &unshared) ||
        !varint_decode32(&p, lim, &vlen)) {
      code = corrupt(t, st, "%s block: bad entry header at byte %llu", what, at);
      break;
    }
    bool is_restart = next_restart < nr && load_u32le(restarts + 4 * next_restart) == at;
    if (is_restart) next_restart++;
    if (shared > key.len || (is_restart && shared != 0) || (at == 0 && !is_restart)) {
      code = corrupt(t, st, "%s block: bad key prefix at byte %llu", what, at);
      break;
    }
    if (unshared > (size_t)(lim - p) || vlen > (size_t)(lim - p) - unshared) {
      code = corrupt(t, st, "%s block: entry at byte %llu runs past the block", what, at);
      break;
    }
    key.len = shared;
    bytebuf_append(&key, p, unshared);
    if (key.failed) {
      code = status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory reading table '%s'", t->name);
      break;
    }
    p += unshared;
    code = fn(t, key.data, key.len, p, vlen, arg, st);
    if (code != TFM_OK) break;
    p += vlen;
  }
  /* Every restart offset must have named an entry, in increasing order (an empty
   * block has the single restart 0 == end). */
  if (code == TFM_OK && next_restart != nr &&
      !(end == 0 && nr == 1 && load_u32le(restarts) == 0))
    code = corrupt(t, st, "%s block: restart array does not match its entries (%llu restarts)", what, nr);
  bytebuf_free(&key);
  return code;
}

static tfm_code add_entry(table_t *t, const uint8_t *key, size_t klen, const uint8_t *val,
                          size_t vlen, void *arg, tfm_status *st) {
  (void)arg;
  if (t->n > 0) {
    table_entry_rec_t *last = &t->entries[t->n - 1];
    if (table_key_cmp(last->key, last->klen, key, klen) >= 0)
      return corrupt(t, st, "keys out of order at entry %s%llu", "", t->n);
  }
  if (t->n == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 64;
    table_entry_rec_t *e = mem_realloc(t->entries, cap * sizeof *e);
    if (!e) return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory reading table '%s'", t->name);
    t->entries = e;
    t->cap = cap;
  }
  uint8_t *kv = mem_alloc(klen + vlen + 1);
  if (!kv) return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory reading table '%s'", t->name);
  if (klen) memcpy(kv, key, klen);
  if (vlen) memcpy(kv + klen, val, vlen);
  kv[klen + vlen] = 0;
  t->entries[t->n++] = (table_entry_rec_t){kv, klen, vlen};
  return TFM_OK;
}

typedef struct index_ctx {
  const uint8_t *file;
  size_t file_len;
  bytebuf_t prev_sep; /* previous index key, to check data keys against it */
  bool have_prev;
} index_ctx_t;

static tfm_code add_block(table_t *t, const uint8_t *key, size_t klen, const uint8_t *val,
                          size_t vlen, void *arg, tfm_status *st) {
  index_ctx_t *ctx = arg;
  handle_t h;
  const uint8_t *p = val, *end = val + vlen;
  if (!varint_decode(&p, end, &h.off) || !varint_decode(&p, end, &h.size) || p != end)
    return corrupt(t, st, "index entry %s%llu holds a bad block handle", "", t->blocks);
  const uint8_t *data;
  size_t len;
  uint8_t *owned;
  if (read_block(t, ctx->file, ctx->file_len, h, "data", &data, &len, &owned, st) != TFM_OK)
    return status_code(st);
  size_t first = t->n;
  tfm_code code = parse_block(t, data, len, "data", add_entry, NULL, st);
  mem_free(owned);
  if (code != TFM_OK) return code;
  t->blocks++;
  /* Keys of this block must lie in (previous separator, this separator]. */
  for (size_t i = first; i < t->n; i += (t->n - first > 1 ? t->n - first - 1 : 1)) {
    const table_entry_rec_t *e = &t->entries[i];
    if (table_key_cmp(e->key, e->klen, key, klen) > 0 ||
        (ctx->have_prev && table_key_cmp(e->key, e->klen, ctx->prev_sep.data, ctx->prev_sep.len) <= 0))
      return corrupt(t, st, "data block %s%llu does not match its index key", "", t->blocks - 1);
  }
  ctx->prev_sep.len = 0;
  bytebuf_append(&ctx->prev_sep, key, klen);
  if (ctx->prev_sep.failed)
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory reading table '%s'", t->name);
  ctx->have_prev = true;
  return TFM_OK;
}

table_t *table_open_bytes(const uint8_t *file, size_t n, const char *name, tfm_status *st) {
  table_t *t = mem_calloc(1, sizeof *t);
  if (!t) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory opening table '%s'", name);
    return NULL;
  }
  snprintf(t->name, sizeof t->name, "%s", name);
  if (n < TABLE_FOOTER_SIZE) {
    corrupt(t, st, "%s%llu bytes is shorter than the footer", "", n);
    goto fail;
  }
  const uint8_t *footer = file + n - TABLE_FOOTER_SIZE;
  if (load_u64le(footer + 40) != TABLE_MAGIC) {
    corrupt(t, st, "bad magic number in the footer%s", "", 0);
    goto fail;
  }
  handle_t meta, index;
  const uint8_t *p = footer, *fend = footer + 40;
  if (!varint_decode(&p, fend, &meta.off) || !varint_decode(&p, fend, &meta.size) ||
      !varint_decode(&p, fend, &index.off) || !varint_decode(&p, fend, &index.size)) {
    corrupt(t, st, "bad block handles in the footer%s", "", 0);
    goto fail;
  }
  for (; p < fend; p++)
    if (*p != 0) {
      corrupt(t, st, "non-zero footer padding at byte %s%llu", "", (unsigned long long)(p - file));
      goto fail;
    }
  /* The metaindex block is checked (CRC, layout) but TF writes no meta blocks. */
  const uint8_t *data;
  size_t len;
  uint8_t *owned;
  if (read_block(t, file, n, meta, "metaindex", &data, &len, &owned, st) != TFM_OK) goto fail;
  mem_free(owned);
  if (read_block(t, file, n, index, "index", &data, &len, &owned, st) != TFM_OK) goto fail;
  index_ctx_t ctx = {file, n, BYTEBUF_INIT, false};
  tfm_code code = parse_block(t, data, len, "index", add_block, &ctx, st);
  bytebuf_free(&ctx.prev_sep);
  mem_free(owned);
  if (code != TFM_OK) goto fail;
  return t;
fail:
  table_close(t);
  return NULL;
}

table_t *table_open(const char *path, tfm_status *st) {
  uint8_t *data;
  size_t n;
  if (file_read_all(path, TABLE_MAX_FILE, &data, &n, st) != TFM_OK) return NULL;
  table_t *t = table_open_bytes(data, n, path, st);
  mem_free(data);
  return t;
}
