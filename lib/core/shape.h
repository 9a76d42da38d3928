/* Shapes: a rank and up to TFM_MAX_RANK dimensions, passed by value inside the
 * library. During graph construction a shape may be partly unknown: rank -1 means
 * unknown rank, a dim of -1 an unknown size. Tensors always have known shapes. */
#ifndef TFM_CORE_SHAPE_H
#define TFM_CORE_SHAPE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "tfmini/defs.h"

#define SHAPE_UNKNOWN_RANK (-1)
#define SHAPE_UNKNOWN_DIM (-1)
/* Room for "[d0,d1,...]" with 8 dims of up to 20 digits. */
#define SHAPE_STR_MAX 192

typedef struct shape {
  int rank;
  int64_t dim[TFM_MAX_RANK];
} shape_t;

shape_t shape_scalar(void);
shape_t shape_unknown(void);
shape_t shape_vector(int64_t n);
/* Builds a shape from dims; INVALID_ARGUMENT on rank > 8 or a dim < -1 (or < 0
 * when !allow_unknown). `what` names the argument in the message. */
tfm_code shape_make(const int64_t *dims, int rank, bool allow_unknown, shape_t *out,
                    const char *what, tfm_status *st);
bool shape_is_fully_defined(const shape_t *s);
bool shape_equal(const shape_t *a, const shape_t *b);
/* Could a and b describe the same tensor (unknowns match anything)? */
bool shape_compatible(const shape_t *a, const shape_t *b);
/* Product of dims; -1 if unknown; INVALID_ARGUMENT if it overflows int64. */
tfm_code shape_num_elements(const shape_t *s, int64_t *out, tfm_status *st);
/* Writes "[2,3]", "[?,3]", "<unknown>" into buf (SHAPE_STR_MAX bytes); returns buf. */
const char *shape_str(const shape_t *s, char *buf);
/* NumPy broadcasting of a and b (unknown dims allowed). INVALID_ARGUMENT names
 * both shapes; `what` names the op. */
tfm_code shape_broadcast(const shape_t *a, const shape_t *b, shape_t *out, const char *what,
                         tfm_status *st);

#endif
