/* Internal constructor of tfm_buffer (public accessors in tfmini/io.h). */
#ifndef TFM_IO_BUFFER_H
#define TFM_IO_BUFFER_H

#include "core/status.h"
#include "tfmini/io.h"

/* A buffer holding a copy of data[0..size) followed by a NUL (not counted in size).
 * RESOURCE_EXHAUSTED on allocation failure. */
tfm_buffer *buffer_new_copy(const void *data, size_t size, tfm_status *st);

#endif
