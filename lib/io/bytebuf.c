/* Growable byte buffer and varints (see bytebuf.h). */
#include "io/bytebuf.h"

#include <string.h>

#include "core/mem.h"

void bytebuf_free(bytebuf_t *b) {
  mem_free(b->data);
  *b = (bytebuf_t)BYTEBUF_INIT;
}

bool bytebuf_reserve(bytebuf_t *b, size_t extra) {
  if (b->failed) return false;
  if (extra <= b->cap - b->len) return true;
  size_t need = b->len + extra;
  if (need < b->len) goto fail;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need) {
    if (cap > SIZE_MAX / 2) {
      cap = need;
      break;
    }
    cap *= 2;
  }
  uint8_t *p = mem_realloc(b->data, cap);
  if (!p) goto fail;
  b->data = p;
  b->cap = cap;
  return true;
fail:
  b->failed = true;
  return false;
}

void bytebuf_append(bytebuf_t *b, const void *data, size_t n) {
  if (n == 0 || !bytebuf_reserve(b, n)) return;
  memcpy(b->data + b->len, data, n);
  b->len += n;
}

void bytebuf_put_u32le(bytebuf_t *b, uint32_t v) {
  uint8_t t[4];
  store_u32le(t, v);
  bytebuf_append(b, t, 4);
}

void bytebuf_put_u64le(bytebuf_t *b, uint64_t v) {
  uint8_t t[8];
  store_u64le(t, v);
  bytebuf_append(b, t, 8);
}

size_t varint_encode(uint8_t *out, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  out[n++] = (uint8_t)v;
  return n;
}

void bytebuf_put_varint(bytebuf_t *b, uint64_t v) {
  uint8_t t[VARINT64_MAX];
  bytebuf_append(b, t, varint_encode(t, v));
}

bool varint_decode(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  const uint8_t *q = *p;
  uint64_t r = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (q >= end) return false;
    uint8_t byte = *q++;
    if (shift == 63 && byte > 1) return false; /* bits beyond 64 */
    r |= (uint64_t)(byte & 0x7F) << shift;
    if (!(byte & 0x80)) {
      *p = q;
      *v = r;
      return true;
    }
  }
  return false;
}

bool varint_decode32(const uint8_t **p, const uint8_t *end, uint32_t *v) {
  const uint8_t *q = *p;
  uint64_t r;
  if (!varint_decode(&q, end, &r) || r > UINT32_MAX) return false;
  *p = q;
  *v = (uint32_t)r;
  return true;
}
