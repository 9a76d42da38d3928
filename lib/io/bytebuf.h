/* A growable byte buffer and the little-endian/varint codecs every TensorFlow file
 * format uses. Append operations never fail loudly: an allocation failure sets
 * `failed` and later appends do nothing, so a writer checks once at the end. */
#ifndef TFM_IO_BYTEBUF_H
#define TFM_IO_BYTEBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bytebuf {
  uint8_t *data; /* mem_alloc'ed; owned by the buffer */
  size_t len, cap;
  bool failed;   /* an allocation failed; contents are incomplete */
} bytebuf_t;

#define BYTEBUF_INIT {NULL, 0, 0, false}
/* Longest encodings. */
#define VARINT32_MAX 5
#define VARINT64_MAX 10

void bytebuf_free(bytebuf_t *b); /* releases the memory; the buffer is empty again */
bool bytebuf_reserve(bytebuf_t *b, size_t extra);
void bytebuf_append(bytebuf_t *b, const void *data, size_t n);
void bytebuf_put_u32le(bytebuf_t *b, uint32_t v);
void bytebuf_put_u64le(bytebuf_t *b, uint64_t v);
void bytebuf_put_varint(bytebuf_t *b, uint64_t v);

/* Encodes v at out (VARINT64_MAX bytes room); returns the bytes written. */
size_t varint_encode(uint8_t *out, uint64_t v);
/* Decodes a varint at *p (not reading at or past end); advances *p. False when the
 * varint is truncated or longer than 10 bytes / over 64 bits. */
bool varint_decode(const uint8_t **p, const uint8_t *end, uint64_t *v);
/* Same, but the value must fit 32 bits. */
bool varint_decode32(const uint8_t **p, const uint8_t *end, uint32_t *v);

static inline uint32_t load_u32le(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t load_u64le(const uint8_t *p) {
  return (uint64_t)load_u32le(p) | (uint64_t)load_u32le(p + 4) << 32;
}
static inline void store_u32le(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}
static inline void store_u64le(uint8_t *p, uint64_t v) {
  store_u32le(p, (uint32_t)v);
  store_u32le(p + 4, (uint32_t)(v >> 32));
}

#endif
