/* nanopb glue: the blob field callbacks, encode/decode with status messages, and
 * tensor/shape conversions (see pbio.h). */
#include "io/pbio.h"

#include <pb_decode.h>
#include <pb_encode.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "io/file.h"

/* Serialized graphs and meta graphs are read whole; 2 GiB is protobuf's own limit. */
#define PBIO_MAX_FILE ((size_t)INT32_MAX)

/* The reader of our decode streams: nanopb's buffer reader under our own name.
 * A length-delimited field reaches a callback as a substream that keeps this
 * reader and points into the caller's buffer; a field sent with another wire type
 * (hostile input) reaches it as nanopb's copy of the scalar in a stack buffer,
 * read by nanopb's own reader. Only the first may be kept as a pointer. */
static bool pbio_buf_read(pb_istream_t *stream, pb_byte_t *buf, size_t count) {
  const pb_byte_t *src = stream->state;
  stream->state = (pb_byte_t *)src + count;
  if (buf) memcpy(buf, src, count);
  return true;
}

/* The rest of a substream over the caller's buffer, consumed without copying. */
static void skip_in_place(pb_istream_t *is) {
  is->state = (pb_byte_t *)is->state + is->bytes_left;
  is->bytes_left = 0;
}

/* One callback for every blob field of every message. Decoding is only done
 * from memory buffers (pbio_decode), whose stream state is the read pointer, so
 * the blob can point at the bytes in place. */
static bool blob_field(pb_istream_t *is, pb_ostream_t *os, const pb_field_iter_t *field) {
  pbio_blob_t *b = field->pData;
  bool oneof = PB_HTYPE(field->type) == PB_HTYPE_ONEOF;
  if (is) {
    if (is->callback != pbio_buf_read) PB_RETURN_ERROR(is, "a bytes field with a non-length wire type");
    b->data = is->state;
    b->len = is->bytes_left;
    if (oneof) *(pb_size_t *)field->pSize = field->tag;
    skip_in_place(is);
    return true;
  }
  if (os) {
    if (oneof && *(const pb_size_t *)field->pSize != field->tag) return true;
    if (!oneof && b->len == 0) return true; /* proto3 omits defaults, except in a oneof */
    return pb_encode_tag_for_field(os, field) && pb_encode_string(os, b->data, b->len);
  }
  return true;
}

/* Streamed repeated messages (pbio_list_t): one `each` call per element when
 * decoding, the pre-encoded field bytes when encoding. */
static bool list_field(pb_istream_t *is, pb_ostream_t *os, const pb_field_iter_t *field) {
  pbio_list_t *l = field->pData;
  if (is) {
    if (!l->each) PB_RETURN_ERROR(is, "repeated field without a handler");
    if (is->callback != pbio_buf_read) PB_RETURN_ERROR(is, "a message field with a non-length wire type");
    if (!l->each(l->ctx, is->state, is->bytes_left)) PB_RETURN_ERROR(is, "element rejected");
    skip_in_place(is);
    return true;
  }
  if (os && l->encoded.len) return pb_write(os, l->encoded.data, l->encoded.len);
  return true;
}

bool tensorflow_TensorProto_callback(pb_istream_t *is, pb_ostream_t *os, const pb_field_t *f);
bool tensorflow_GraphDef_callback(pb_istream_t *is, pb_ostream_t *os, const pb_field_t *f);
bool tensorflow_MetaGraphDef_callback(pb_istream_t *is, pb_ostream_t *os, const pb_field_t *f);
bool tensorflow_AttrValue_callback(pb_istream_t *is, pb_ostream_t *os, const pb_field_t *f);
bool tensorflow_Event_callback(pb_istream_t *is, pb_ostream_t *os, const pb_field_t *f);
bool tensorflow_Summary_Image_callback(pb_istream_t *is, pb_ostream_t *os, const pb_field_t *f);
bool tensorflow_Summary_Audio_callback(pb_istream_t *is, pb_ostream_t *os, const pb_field_t *f);
bool tensorflow_TaggedRunMetadata_callback(pb_istream_t *is, pb_ostream_t *os, const pb_field_t *f);

bool tensorflow_TensorProto_callback(pb_istream_t *is, pb_ostream_t *os, const pb_field_t *f) {
  return blob_field(is, os, f);
}
bool tensorflow_AttrValue_callback(pb_istream_t *is, pb_ostream_t *os, const pb_field_t *f) {
  return blob_field(is, os, f);
}
bool tensorflow_Event_callback(pb_istream_t *is, pb_ostream_t *os, const pb_field_t *f) {
  return blob_field(is, os, f);
}
bool tensorflow_Summary_Image_callback(pb_istream_t *is, pb_ostream_t *os, const pb_field_t *f) {
  return blob_field(is, os, f);
}
bool tensorflow_Summary_Audio_callback(pb_istream_t *is, pb_ostream_t *os, const pb_field_t *f) {
  return blob_field(is, os, f);
}
bool tensorflow_TaggedRunMetadata_callback(pb_istream_t *is, pb_ostream_t *os,
                                           const pb_field_t *f) {
  return blob_field(is, os, f);
}

bool tensorflow_GraphDef_callback(pb_istream_t *is, pb_ostream_t *os, const pb_field_t *f) {
  return list_field(is, os, f);
}
bool tensorflow_MetaGraphDef_callback(pb_istream_t *is, pb_ostream_t *os, const pb_field_t *f) {
  return blob_field(is, os, f);
}

void pbio_release(const pb_msgdesc_t *type, void *msg) {
  if (msg) pb_release(type, msg);
}

tfm_code pbio_decode(const pb_msgdesc_t *type, void *msg, size_t msg_size, const void *data,
                     size_t len, const char *what, tfm_status *st) {
  /* pb_decode sets defaults but skips callback (blob) fields; nested messages it
   * allocates or switches in a oneof are zeroed by nanopb itself. */
  memset(msg, 0, msg_size);
  return pbio_decode_prepared(type, msg, data, len, what, st);
}

tfm_code pbio_decode_prepared(const pb_msgdesc_t *type, void *msg, const void *data, size_t len,
                              const char *what, tfm_status *st) {
  pb_istream_t is = {.callback = pbio_buf_read, .state = (void *)data, .bytes_left = len};
  if (!pb_decode(&is, type, msg)) {
    const char *err = PB_GET_ERROR(&is);
    pb_release(type, msg);
    if (strstr(err, "realloc failed"))
      return status_set(st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory decoding a protobuf", what);
    return status_set(st, TFM_DATA_LOSS, "%s: not a valid protobuf message (%s)", what, err);
  }
  return TFM_OK;
}

tfm_code pbio_encode(const pb_msgdesc_t *type, const void *msg, bytebuf_t *out,
                     const char *what, tfm_status *st) {
  size_t size;
  if (!pb_get_encoded_size(&size, type, msg))
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: cannot encode the protobuf message", what);
  if (size == 0) return TFM_OK; /* an empty message; out->data may still be NULL */
  if (!bytebuf_reserve(out, size))
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory for %zu encoded bytes", what,
                      size);
  pb_ostream_t os = pb_ostream_from_buffer(out->data + out->len, size);
  if (!pb_encode(&os, type, msg))
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: cannot encode the protobuf message (%s)",
                      what, PB_GET_ERROR(&os));
  out->len += os.bytes_written;
  return TFM_OK;
}

tfm_code pbio_encode_submessage(uint32_t field_number, const pb_msgdesc_t *type, const void *msg,
                                bytebuf_t *out, const char *what, tfm_status *st) {
  size_t size;
  if (!pb_get_encoded_size(&size, type, msg))
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: cannot encode the protobuf message", what);
  bytebuf_put_varint(out, (uint64_t)field_number << 3 | PB_WT_STRING);
  bytebuf_put_varint(out, size);
  if (out->failed || !bytebuf_reserve(out, size))
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory for %zu encoded bytes", what,
                      size);
  pb_ostream_t os = pb_ostream_from_buffer(out->data + out->len, size);
  if (!pb_encode(&os, type, msg))
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: cannot encode the protobuf message (%s)",
                      what, PB_GET_ERROR(&os));
  out->len += os.bytes_written;
  return TFM_OK;
}

tfm_code pbio_decode_file(const char *path, const pb_msgdesc_t *type, void *msg,
                          size_t msg_size, uint8_t **buf, tfm_status *st) {
  size_t len;
  *buf = NULL;
  if (file_read_all(path, PBIO_MAX_FILE, buf, &len, st) != TFM_OK) return status_code(st);
  if (pbio_decode(type, msg, msg_size, *buf, len, path, st) != TFM_OK) {
    mem_free(*buf);
    *buf = NULL;
  }
  return status_code(st);
}

char *pbio_strndup(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *pbio_strdup(const char *s) { return pbio_strndup(s, strlen(s)); }

pb_bytes_array_t *pbio_bytes(const void *data, size_t len) {
  if (len > PBIO_MAX_COUNT) return NULL;
  pb_bytes_array_t *b = malloc(PB_BYTES_ARRAY_T_ALLOCSIZE(len));
  if (!b) return NULL;
  b->size = (pb_size_t)len;
  if (len) memcpy(b->bytes, data, len);
  return b;
}

void *pbio_array(size_t count, size_t elem_size) {
  return calloc(count ? count : 1, elem_size);
}

tfm_code pbio_shape_to_proto(const shape_t *s, tensorflow_TensorShapeProto *p, tfm_status *st) {
  memset(p, 0, sizeof *p);
  if (s->rank == SHAPE_UNKNOWN_RANK) {
    p->unknown_rank = true;
    return TFM_OK;
  }
  if (s->rank == 0) return TFM_OK;
  p->dim = pbio_array((size_t)s->rank, sizeof *p->dim);
  if (!p->dim) return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory for a shape");
  p->dim_count = (pb_size_t)s->rank;
  for (int i = 0; i < s->rank; i++) p->dim[i].size = s->dim[i];
  return TFM_OK;
}

tfm_code pbio_shape_from_proto(const tensorflow_TensorShapeProto *p, bool allow_unknown,
                               shape_t *s, const char *what, tfm_status *st) {
  if (p->unknown_rank) {
    if (p->dim_count)
      return status_set(st, TFM_INVALID_ARGUMENT, "%s: shape has unknown rank and dims", what);
    if (!allow_unknown)
      return status_set(st, TFM_INVALID_ARGUMENT, "%s: shape of unknown rank", what);
    *s = shape_unknown();
    return TFM_OK;
  }
  if (p->dim_count > TFM_MAX_RANK)
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: rank %u exceeds the maximum %d", what,
                      (unsigned)p->dim_count, TFM_MAX_RANK);
  int64_t dims[TFM_MAX_RANK];
  for (pb_size_t i = 0; i < p->dim_count; i++) dims[i] = p->dim[i].size;
  if (shape_make(dims, (int)p->dim_count, allow_unknown, s, what, st) != TFM_OK)
    return status_code(st);
  return TFM_OK;
}

tfm_code pbio_tensor_to_proto(const tensor_t *t, tensorflow_TensorProto *p, tfm_status *st) {
  memset(p, 0, sizeof *p);
  if (!dtype_is_valid(t->dtype))
    return status_set(st, TFM_INVALID_ARGUMENT, "cannot encode a tensor of dtype %d", t->dtype);
  p->dtype = (tensorflow_DataType)t->dtype;
  p->has_tensor_shape = true;
  if (pbio_shape_to_proto(&t->shape, &p->tensor_shape, st) != TFM_OK) return status_code(st);
  size_t n = (size_t)t->num_elements;
  if (t->dtype == TFM_STRING) {
    if (n > PBIO_MAX_COUNT) {
      pb_release(tensorflow_TensorProto_fields, p);
      return status_set(st, TFM_INVALID_ARGUMENT,
                        "string tensor of %zu elements exceeds the %u a TensorProto can hold here",
                        n, (unsigned)PBIO_MAX_COUNT);
    }
    if (n) {
      p->string_val = pbio_array(n, sizeof *p->string_val);
      if (!p->string_val) goto oom;
      p->string_val_count = (pb_size_t)n;
      for (size_t i = 0; i < n; i++) {
        const tstring_t *s = &TENSOR_STR(t)[i];
        if (s->len > PBIO_MAX_COUNT) {
          pb_release(tensorflow_TensorProto_fields, p);
          return status_set(st, TFM_INVALID_ARGUMENT,
                            "string element %zu of %zu bytes exceeds %u bytes", i, s->len,
                            (unsigned)PBIO_MAX_COUNT);
        }
        p->string_val[i] = pbio_bytes(s->data, s->len);
        if (!p->string_val[i]) goto oom;
      }
    }
    return TFM_OK;
  }
  if (n > 1) {
    p->tensor_content.data = t->data;
    p->tensor_content.len = t->nbytes;
    return TFM_OK;
  }
  if (n == 0) return TFM_OK;
  switch (t->dtype) {
  case TFM_FLOAT:
    if (!(p->float_val = pbio_array(1, sizeof(float)))) goto oom;
    p->float_val[0] = TENSOR_F32(t)[0];
    p->float_val_count = 1;
    break;
  case TFM_DOUBLE:
    if (!(p->double_val = pbio_array(1, sizeof(double)))) goto oom;
    p->double_val[0] = TENSOR_F64(t)[0];
    p->double_val_count = 1;
    break;
  case TFM_INT32:
  case TFM_UINT8:
    if (!(p->int_val = pbio_array(1, sizeof(int32_t)))) goto oom;
    p->int_val[0] = t->dtype == TFM_INT32 ? TENSOR_I32(t)[0] : TENSOR_U8(t)[0];
    p->int_val_count = 1;
    break;
  case TFM_INT64:
    if (!(p->int64_val = pbio_array(1, sizeof(int64_t)))) goto oom;
    p->int64_val[0] = TENSOR_I64(t)[0];
    p->int64_val_count = 1;
    break;
  default: /* TFM_BOOL */
    if (!(p->bool_val = pbio_array(1, sizeof(bool)))) goto oom;
    p->bool_val[0] = TENSOR_BOOL(t)[0] != 0;
    p->bool_val_count = 1;
    break;
  }
  return TFM_OK;
oom:
  pb_release(tensorflow_TensorProto_fields, p);
  return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory encoding a tensor");
}

/* Copies `count` typed values into t, repeating the last one up to n elements. */
#define FILL_FROM(VALS, COUNT, CTYPE, CONV)                                      \
  do {                                                                           \
    CTYPE *dst = (CTYPE *)t->data;                                               \
    for (size_t i = 0; i < n; i++) dst[i] = CONV((VALS)[i < (COUNT) ? i : (COUNT) - 1]); \
  } while (0)
#define AS_IS(x) (x)
#define AS_U8(x) ((uint8_t)(x))
#define AS_BOOL(x) ((uint8_t)((x) ? 1 : 0))

tensor_t *pbio_tensor_from_proto(const tensorflow_TensorProto *p, const char *what,
                                 tfm_status *st) {
  tfm_dtype dt = (tfm_dtype)p->dtype;
  if (!dtype_is_valid(dt)) {
    status_set(st, dt == TFM_INVALID ? TFM_INVALID_ARGUMENT : TFM_UNIMPLEMENTED,
               "%s: tensor of unsupported dtype %d", what, (int)p->dtype);
    return NULL;
  }
  shape_t shape = shape_scalar();
  if (p->has_tensor_shape &&
      pbio_shape_from_proto(&p->tensor_shape, false, &shape, what, st) != TFM_OK)
    return NULL;
  int64_t n64;
  if (shape_num_elements(&shape, &n64, st) != TFM_OK) return NULL;
  /* Before allocating: elements of a string tensor cost at least their header. */
  if ((uint64_t)n64 > PBIO_MAX_TENSOR_BYTES / dtype_size(dt)) {
    char buf[SHAPE_STR_MAX];
    status_set(st, TFM_INVALID_ARGUMENT,
               "%s: a %s tensor of shape %s is larger than the %llu bytes a TensorProto may hold", what,
               dtype_name(dt), shape_str(&shape, buf), (unsigned long long)PBIO_MAX_TENSOR_BYTES);
    return NULL;
  }
  size_t n = (size_t)n64, count;
  switch (dt) {
  case TFM_FLOAT: count = p->float_val_count; break;
  case TFM_DOUBLE: count = p->double_val_count; break;
  case TFM_INT32:
  case TFM_UINT8: count = p->int_val_count; break;
  case TFM_INT64: count = p->int64_val_count; break;
  case TFM_BOOL: count = p->bool_val_count; break;
  default: count = p->string_val_count; break;
  }
  if (p->tensor_content.len > 0) {
    size_t want;
    if (dt == TFM_STRING || mem_mul_overflows(n, dtype_size(dt), &want) ||
        p->tensor_content.len != want) {
      char buf[SHAPE_STR_MAX];
      status_set(st, TFM_INVALID_ARGUMENT,
                 "%s: tensor_content has %zu bytes, a %s tensor of shape %s needs %zu", what,
                 p->tensor_content.len, dtype_name(dt), shape_str(&shape, buf),
                 dt == TFM_STRING ? (size_t)0 : n * dtype_size(dt));
      return NULL;
    }
  } else if (count > n || (dt == TFM_STRING && count != n && count > 1)) {
    status_set(st, TFM_INVALID_ARGUMENT, "%s: %zu values for a tensor of %zu elements", what,
               count, n);
    return NULL;
  }
  tensor_t *t = tensor_new(dt, &shape, st);
  if (!t) return NULL;
  if (p->tensor_content.len > 0) {
    memcpy(t->data, p->tensor_content.data, p->tensor_content.len);
    return t;
  }
  if (count == 0) {
    if (dt != TFM_STRING && t->nbytes) memset(t->data, 0, t->nbytes);
    return t;
  }
  switch (dt) {
  case TFM_FLOAT: FILL_FROM(p->float_val, count, float, AS_IS); break;
  case TFM_DOUBLE: FILL_FROM(p->double_val, count, double, AS_IS); break;
  case TFM_INT32: FILL_FROM(p->int_val, count, int32_t, AS_IS); break;
  case TFM_UINT8: FILL_FROM(p->int_val, count, uint8_t, AS_U8); break;
  case TFM_INT64: FILL_FROM(p->int64_val, count, int64_t, AS_IS); break;
  case TFM_BOOL: FILL_FROM(p->bool_val, count, uint8_t, AS_BOOL); break;
  default:
    for (size_t i = 0; i < n; i++) {
      const pb_bytes_array_t *s = p->string_val[i < count ? i : count - 1];
      if (tensor_string_set(t, (int64_t)i, s ? (const char *)s->bytes : "", s ? s->size : 0,
                            st) != TFM_OK) {
        tensor_unref(t);
        return NULL;
      }
    }
    break;
  }
  return t;
}
