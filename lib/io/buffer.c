/* tfm_buffer: bytes the library hands to the caller (serialized graphs...). */
#include "io/buffer.h"

#include <string.h>

#include "core/mem.h"

struct tfm_buffer {
  size_t size;
  unsigned char data[]; /* one allocation: header and bytes */
};

tfm_buffer *buffer_new_copy(const void *data, size_t size, tfm_status *st) {
  tfm_buffer *b = mem_alloc(sizeof *b + size + 1);
  if (!b) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "buffer of %zu bytes", size);
    return NULL;
  }
  b->size = size;
  if (size) memcpy(b->data, data, size);
  b->data[size] = 0; /* text formats can be read as a C string */
  return b;
}

TFM_API const void *tfm_buffer_data(const tfm_buffer *buffer) { return buffer ? buffer->data : NULL; }
TFM_API size_t tfm_buffer_size(const tfm_buffer *buffer) { return buffer ? buffer->size : 0; }
TFM_API void tfm_buffer_delete(tfm_buffer *buffer) { mem_free(buffer); }
