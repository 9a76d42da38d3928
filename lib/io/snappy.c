/* Raw snappy: varint uncompressed length, then elements whose tag's low two bits
 * say literal (00), copy with 11-bit offset (01), 16-bit offset (10) or 32-bit
 * offset (11). Copies may overlap their own output (run-length style), so they
 * go byte by byte when the offset is shorter than the length. */
#include "io/snappy.h"

#include <string.h>

/* The best ratio snappy reaches is a 64-byte copy from a 3-byte element; anything
 * claiming more than this cannot be a valid stream (and must not drive an allocation). */
#define SNAPPY_MAX_EXPANSION 22

tfm_code snappy_decoded_length(const uint8_t *in, size_t n, size_t *len, const char *what,
                                    tfm_status *st) {
  uint64_t v = 0;
  size_t i = 0;
  for (int shift = 0;; shift += 7) {
    if (i >= n || shift > 28)
      return status_set(st, TFM_DATA_LOSS, "%s: bad snappy length prefix", what);
    uint8_t b = in[i++];
    v |= (uint64_t)(b & 0x7F) << shift;
    if (!(b & 0x80)) break;
  }
  if (v > 0xFFFFFFFFu || v > (uint64_t)(n - i) * SNAPPY_MAX_EXPANSION)
    return status_set(st, TFM_DATA_LOSS,
                      "%s: snappy stream of %zu bytes claims %llu uncompressed bytes", what, n,
                      (unsigned long long)v);
  *len = (size_t)v;
  return TFM_OK;
}

static uint32_t load_le(const uint8_t *p, int bytes) {
  uint32_t v = 0;
  for (int k = 0; k < bytes; k++) v |= (uint32_t)p[k] << (8 * k);
  return v;
}

tfm_code snappy_decode(const uint8_t *in, size_t n, uint8_t *out, size_t out_len,
                           const char *what, tfm_status *st) {
  size_t claimed = 0;
  if (snappy_decoded_length(in, n, &claimed, what, st) != TFM_OK) return status_code(st);
  if (claimed != out_len)
    return status_set(st, TFM_DATA_LOSS, "%s: snappy length %zu, expected %zu", what, claimed,
                      out_len);
  size_t ip = 0, op = 0;
  while (ip < n && (in[ip] & 0x80)) ip++; /* skip the varint (validated above) */
  ip++;
  while (ip < n) {
    uint8_t tag = in[ip++];
    size_t len, offset;
    switch (tag & 3) {
    case 0: { /* literal */
      len = (size_t)(tag >> 2) + 1;
      if (len > 60) {
        int extra = (int)len - 60; /* 1..4 bytes of length-1 follow */
        if (n - ip < (size_t)extra) goto truncated;
        len = (size_t)load_le(in + ip, extra) + 1;
        ip += (size_t)extra;
        if (len == 0) goto bad; /* wrapped: 0xFFFFFFFF + 1 on 32-bit size_t */
      }
      if (n - ip < len) goto truncated;
      if (out_len - op < len) goto overflow;
      memcpy(out + op, in + ip, len);
      ip += len;
      op += len;
      continue;
    }
    case 1:
      if (n - ip < 1) goto truncated;
      len = 4 + ((tag >> 2) & 7);
      offset = ((size_t)(tag >> 5) << 8) | in[ip];
      ip += 1;
      break;
    case 2:
      if (n - ip < 2) goto truncated;
      len = 1 + (size_t)(tag >> 2);
      offset = load_le(in + ip, 2);
      ip += 2;
      break;
    default:
      if (n - ip < 4) goto truncated;
      len = 1 + (size_t)(tag >> 2);
      offset = load_le(in + ip, 4);
      ip += 4;
      break;
    }
    if (offset == 0 || offset > op)
      return status_set(st, TFM_DATA_LOSS,
                        "%s: snappy copy offset %zu at output byte %zu points outside the data",
                        what, offset, op);
    if (out_len - op < len) goto overflow;
    if (offset >= len) {
      memcpy(out + op, out + op - offset, len);
    } else {
      for (size_t k = 0; k < len; k++) out[op + k] = out[op - offset + k];
    }
    op += len;
  }
  if (op != out_len)
    return status_set(st, TFM_DATA_LOSS, "%s: snappy stream ends after %zu of %zu bytes", what,
                      op, out_len);
  return TFM_OK;
truncated:
  return status_set(st, TFM_DATA_LOSS, "%s: snappy stream truncated at byte %zu", what, ip);
overflow:
  return status_set(st, TFM_DATA_LOSS, "%s: snappy data exceeds its declared length %zu", what,
                    out_len);
bad:
  return status_set(st, TFM_DATA_LOSS, "%s: bad snappy literal length", what);
}
