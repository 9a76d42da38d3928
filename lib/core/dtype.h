/* Element types: sizes, names and the TensorFlow numbering (tfm_dtype). */
#ifndef TFM_CORE_DTYPE_H
#define TFM_CORE_DTYPE_H

#include <stdbool.h>
#include <stddef.h>

#include "tfmini/tensor.h"

/* TensorFlow marks reference (variable) outputs as base + 100. */
#define DTYPE_REF_OFFSET 100

/* One element of a TFM_STRING tensor: an owned byte string. */
typedef struct tstring {
  char *data; /* mem_alloc'ed, NUL-terminated for convenience; may be NULL when len == 0 */
  size_t len;
} tstring_t;

bool dtype_is_valid(tfm_dtype dt);           /* one of the dtypes we support */
size_t dtype_size(tfm_dtype dt);             /* bytes per element; sizeof(tstring_t) for strings */
const char *dtype_name(tfm_dtype dt);        /* "float32" ... */
bool dtype_is_float(tfm_dtype dt);           /* float32 / float64 */
bool dtype_is_integer(tfm_dtype dt);         /* int32 / int64 / uint8 */
bool dtype_is_numeric(tfm_dtype dt);         /* float or integer */
/* TF enum name, e.g. "DT_FLOAT" (for messages and text format). */
const char *dtype_enum_name(tfm_dtype dt);
/* Parses "DT_FLOAT", "float32", "float" ...; TFM_INVALID if unknown. */
tfm_dtype dtype_from_name(const char *name);

#endif
