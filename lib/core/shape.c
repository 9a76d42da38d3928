/* Shapes and NumPy broadcasting of shapes. */
#include "core/shape.h"

#include <stdio.h>
#include <string.h>

shape_t shape_scalar(void) {
  shape_t s;
  memset(&s, 0, sizeof s);
  return s;
}

shape_t shape_unknown(void) {
  shape_t s = shape_scalar();
  s.rank = SHAPE_UNKNOWN_RANK;
  return s;
}

shape_t shape_vector(int64_t n) {
  shape_t s = shape_scalar();
  s.rank = 1;
  s.dim[0] = n;
  return s;
}

tfm_code shape_make(const int64_t *dims, int rank, bool allow_unknown, shape_t *out,
                    const char *what, tfm_status *st) {
  if (rank < 0 || rank > TFM_MAX_RANK)
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: rank %d is outside 0..%d", what, rank,
                      TFM_MAX_RANK);
  if (rank > 0 && !dims)
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: dims is NULL with rank %d", what, rank);
  shape_t s = shape_scalar();
  s.rank = rank;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < (allow_unknown ? -1 : 0))
      return status_set(st, TFM_INVALID_ARGUMENT, "%s: dimension %d is %lld", what, i,
                        (long long)dims[i]);
    s.dim[i] = dims[i];
  }
  *out = s;
  return status_ok(st);
}

bool shape_is_fully_defined(const shape_t *s) {
  if (s->rank < 0) return false;
  for (int i = 0; i < s->rank; i++)
    if (s->dim[i] < 0) return false;
  return true;
}

bool shape_equal(const shape_t *a, const shape_t *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dim[i] != b->dim[i]) return false;
  return true;
}

bool shape_compatible(const shape_t *a, const shape_t *b) {
  if (a->rank < 0 || b->rank < 0) return true;
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dim[i] >= 0 && b->dim[i] >= 0 && a->dim[i] != b->dim[i]) return false;
  return true;
}

tfm_code shape_num_elements(const shape_t *s, int64_t *out, tfm_status *st) {
  if (!shape_is_fully_defined(s)) {
    *out = -1;
    return status_ok(st);
  }
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) {
    if (__builtin_mul_overflow(n, s->dim[i], &n)) {
      char buf[SHAPE_STR_MAX];
      return status_set(st, TFM_INVALID_ARGUMENT, "element count of shape %s overflows int64",
                        shape_str(s, buf));
    }
  }
  *out = n;
  return status_ok(st);
}

const char *shape_str(const shape_t *s, char *buf) {
  if (s->rank < 0) {
    snprintf(buf, SHAPE_STR_MAX, "<unknown>");
    return buf;
  }
  size_t pos = 0;
  buf[pos++] = '[';
  for (int i = 0; i < s->rank && i < TFM_MAX_RANK; i++) {
    int n = s->dim[i] < 0 ? snprintf(buf + pos, SHAPE_STR_MAX - pos, "%s?", i ? "," : "")
                          : snprintf(buf + pos, SHAPE_STR_MAX - pos, "%s%lld", i ? "," : "",
                                     (long long)s->dim[i]);
    if (n < 0 || (size_t)n >= SHAPE_STR_MAX - pos - 2) break;
    pos += (size_t)n;
  }
  buf[pos++] = ']';
  buf[pos] = '\0';
  return buf;
}

tfm_code shape_broadcast(const shape_t *a, const shape_t *b, shape_t *out, const char *what,
                         tfm_status *st) {
  if (a->rank < 0 || b->rank < 0) {
    *out = shape_unknown();
    return status_ok(st);
  }
  shape_t r = shape_scalar();
  r.rank = a->rank > b->rank ? a->rank : b->rank;
  for (int i = 0; i < r.rank; i++) {
    int ia = a->rank - r.rank + i, ib = b->rank - r.rank + i;
    int64_t da = ia >= 0 ? a->dim[ia] : 1, db = ib >= 0 ? b->dim[ib] : 1;
    int64_t d;
    if (da == db) d = da;
    else if (da == 1) d = db;
    else if (db == 1) d = da;
    else if (da < 0) d = db;  /* unknown vs known: known wins unless the unknown is 1 */
    else if (db < 0) d = da;
    else {
      char sa[SHAPE_STR_MAX], sb[SHAPE_STR_MAX];
      return status_set(st, TFM_INVALID_ARGUMENT,
                        "%s: shapes %s and %s cannot be broadcast (dimension %d: %lld vs %lld)",
                        what, shape_str(a, sa), shape_str(b, sb), i, (long long)da,
                        (long long)db);
    }
    r.dim[i] = d;
  }
  *out = r;
  return status_ok(st);
}
