/* Binary wire format -> protobuf text format, the way Python's
 * google.protobuf.text_format.MessageToString writes it (which TensorFlow's Python uses
 * for .pbtxt files): fields in number order, two-space indents, proto3 scalars only when
 * not zero, map entries sorted by key, strings C-escaped with octal escapes for bytes
 * outside printable ASCII, floats as the shortest decimal that reads back the same
 * float32 and doubles as Python's repr. Decoding follows protobuf's rules: the last value
 * of a singular scalar wins, repeated occurrences of a singular message merge, the last
 * member set of a oneof wins, unknown fields are skipped (text_format drops them too). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "io/pbschema.h"
#include "io/pbtext.h"

#define PRINT_MAX_DEPTH 100

typedef struct printer {
  bytebuf_t *out;
  const char *what;
  tfm_status *st;
} printer_t;

/* One field occurrence on the wire. */
typedef struct occ {
  const pbs_field_t *f;
  uint8_t wt;
  uint64_t v;       /* varint or fixed value */
  const uint8_t *p; /* LEN payload */
  size_t len;
} occ_t;

static tfm_code data_loss(printer_t *pr, const pbs_message_t *m, const char *msg) {
  return status_set(pr->st, TFM_DATA_LOSS, "%s: not a valid %s: %s", pr->what, m->full_name, msg);
}

static void put(printer_t *pr, const char *s) { bytebuf_append(pr->out, s, strlen(s)); }

static void indent(printer_t *pr, int depth) {
  static const char spaces[] = "                                ";
  for (int n = 2 * depth; n > 0; n -= 32) bytebuf_append(pr->out, spaces, n < 32 ? (size_t)n : 32);
}

/* ---- value formatting ---- */

/* Python's repr of a double: the shortest digits that read back the same value, in
 * fixed notation for decimal exponents -4..15 and exponent notation otherwise. */
static void format_double_repr(char *buf, size_t size, double d) {
  if (isnan(d)) {
    snprintf(buf, size, "nan");
    return;
  }
  if (isinf(d)) {
    snprintf(buf, size, d < 0 ? "-inf" : "inf");
    return;
  }
  char e[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(e, sizeof e, "%.*e", prec - 1, d);
    if (strtod(e, NULL) == d) break;
  }
  /* e = [-]D[.DDD]e[+-]XX */
  const char *s = e;
  bool neg = *s == '-';
  if (neg) s++;
  char digits[24];
  int nd = 0;
  for (; *s && *s != 'e'; s++)
    if (*s != '.' && nd < 23) digits[nd++] = *s;
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  digits[nd] = '\0';
  int exp10 = atoi(s + 1);
  char *o = buf, *end = buf + size - 1;
#define OUT(c) do { if (o < end) *o++ = (c); } while (0)
  if (neg) OUT('-');
  if (exp10 < -4 || exp10 >= 16) {
    OUT(digits[0]);
    if (nd > 1) {
      OUT('.');
      for (int i = 1; i < nd; i++) OUT(digits[i]);
    }
    char ex[16];
    snprintf(ex, sizeof ex, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    for (char *c = ex; *c; c++) OUT(*c);
  } else if (exp10 >= 0) {
    for (int i = 0; i <= exp10; i++) OUT(i < nd ? digits[i] : '0');
    OUT('.');
    if (nd > exp10 + 1)
      for (int i = exp10 + 1; i < nd; i++) OUT(digits[i]);
    else
      OUT('0');
  } else {
    OUT('0');
    OUT('.');
    for (int i = 0; i < -exp10 - 1; i++) OUT('0');
    for (int i = 0; i < nd; i++) OUT(digits[i]);
  }
#undef OUT
  *o = '\0';
}

/* text_format's float32: the shortest %g precision (from 6 up) that reads back as the
 * same float, printed as that double's repr. */
static void format_float(char *buf, size_t size, float f) {
  if (isnan(f) || isinf(f)) {
    format_double_repr(buf, size, f);
    return;
  }
  double rounded = f;
  for (int prec = 6; prec <= 9; prec++) {
    char g[40];
    snprintf(g, sizeof g, "%.*g", prec, (double)f);
    rounded = strtod(g, NULL);
    if ((float)rounded == f) break;
  }
  format_double_repr(buf, size, rounded);
}

static float bits_to_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
static double bits_to_double(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

/* A scalar's value as protobuf reads it from the raw varint/fixed bits, truncated to the
 * field's width; returns whether it is the type's zero (proto3: not present). */
static bool scalar_is_zero(uint8_t type, uint64_t v) {
  switch (type) {
  case PBS_INT32: case PBS_UINT32: case PBS_SINT32: case PBS_ENUM: case PBS_FIXED32:
  case PBS_SFIXED32: case PBS_FLOAT:
    return (uint32_t)v == 0;
  default:
    return v == 0;
  }
}

static void format_scalar(printer_t *pr, const pbs_field_t *f, uint64_t v) {
  char buf[64];
  switch (f->type) {
  case PBS_DOUBLE: format_double_repr(buf, sizeof buf, bits_to_double(v)); break;
  case PBS_FLOAT: format_float(buf, sizeof buf, bits_to_float((uint32_t)v)); break;
  case PBS_INT64: case PBS_SFIXED64: snprintf(buf, sizeof buf, "%" PRId64, (int64_t)v); break;
  case PBS_UINT64: case PBS_FIXED64: snprintf(buf, sizeof buf, "%" PRIu64, v); break;
  case PBS_INT32: case PBS_SFIXED32: snprintf(buf, sizeof buf, "%" PRId32, (int32_t)(uint32_t)v); break;
  case PBS_UINT32: case PBS_FIXED32: snprintf(buf, sizeof buf, "%" PRIu32, (uint32_t)v); break;
  case PBS_SINT32: {
    uint32_t u = (uint32_t)v;
    snprintf(buf, sizeof buf, "%" PRId32, (int32_t)(u >> 1) ^ -(int32_t)(u & 1));
    break;
  }
  case PBS_SINT64:
    snprintf(buf, sizeof buf, "%" PRId64, (int64_t)(v >> 1) ^ -(int64_t)(v & 1));
    break;
  case PBS_BOOL: snprintf(buf, sizeof buf, "%s", v ? "true" : "false"); break;
  case PBS_ENUM: {
    int32_t n = (int32_t)(uint32_t)v;
    const char *name = pbs_enum_name(f, n);
    if (name) snprintf(buf, sizeof buf, "%s", name);
    else snprintf(buf, sizeof buf, "%" PRId32, n);
    break;
  }
  default: snprintf(buf, sizeof buf, "?"); break;
  }
  put(pr, buf);
}

/* C escapes as protobuf's CEscape: \n \r \t \" \' \\, octal for the rest outside 32..126. */
static void format_string(printer_t *pr, const uint8_t *p, size_t len) {
  put(pr, "\"");
  size_t run = 0; /* printable bytes not yet appended */
  for (size_t i = 0; i < len; i++) {
    uint8_t c = p[i];
    const char *esc = NULL;
    char oct[5];
    switch (c) {
    case '\n': esc = "\\n"; break;
    case '\r': esc = "\\r"; break;
    case '\t': esc = "\\t"; break;
    case '"': esc = "\\\""; break;
    case '\'': esc = "\\'"; break;
    case '\\': esc = "\\\\"; break;
    default:
      if (c < 32 || c >= 127) {
        snprintf(oct, sizeof oct, "\\%03o", c);
        esc = oct;
      }
    }
    if (!esc) {
      run++;
      continue;
    }
    bytebuf_append(pr->out, p + i - run, run);
    run = 0;
    put(pr, esc);
  }
  bytebuf_append(pr->out, p + len - run, run);
  put(pr, "\"");
}

/* ---- reading the wire ---- */

static bool read_value(const uint8_t **p, const uint8_t *end, int wt, occ_t *o) {
  o->wt = (uint8_t)wt;
  switch (wt) {
  case PBS_WIRE_VARINT: return varint_decode(p, end, &o->v);
  case PBS_WIRE_FIXED64:
    if (end - *p < 8) return false;
    o->v = load_u64le(*p);
    *p += 8;
    return true;
  case PBS_WIRE_FIXED32:
    if (end - *p < 4) return false;
    o->v = load_u32le(*p);
    *p += 4;
    return true;
  case PBS_WIRE_LEN: {
    uint64_t n;
    if (!varint_decode(p, end, &n) || n > (uint64_t)(end - *p)) return false;
    o->p = *p;
    o->len = (size_t)n;
    *p += n;
    return true;
  }
  default: return false;
  }
}

/* Splits data into the occurrences of known fields (wire types checked; mismatching and
 * unknown fields are skipped as protobuf does). *occs is mem_alloc'ed. */
static tfm_code scan(printer_t *pr, const pbs_message_t *m, const uint8_t *data, size_t len,
                     occ_t **occs, size_t *n_occs) {
  const uint8_t *p = data, *end = data + len;
  size_t n = 0, cap = 0;
  occ_t *list = NULL;
  tfm_code code = TFM_OK;
  while (p < end) {
    uint64_t key;
    if (!varint_decode(&p, end, &key) || key >> 3 == 0 || key >> 3 > 0x1FFFFFFF) {
      code = data_loss(pr, m, "bad field key");
      break;
    }
    int wt = (int)(key & 7);
    occ_t o = {0};
    if (wt == 3 || wt == 4) {
      code = data_loss(pr, m, "groups are not supported");
      break;
    }
    if (!read_value(&p, end, wt, &o)) {
      code = data_loss(pr, m, "truncated or malformed field value");
      break;
    }
    o.f = pbs_field_by_number(m, (uint32_t)(key >> 3));
    if (!o.f) continue;
    int want = pbs_wire_type(o.f->type);
    if (wt != want && !(o.f->repeated && wt == PBS_WIRE_LEN && !pbs_is_len_type(o.f->type)))
      continue;
    if (n == cap) {
      size_t ncap = cap ? 2 * cap : 16;
      occ_t *grown = mem_realloc(list, ncap * sizeof *list);
      if (!grown) {
        code = status_set(pr->st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", pr->what);
        break;
      }
      list = grown;
      cap = ncap;
    }
    list[n++] = o;
  }
  if (code != TFM_OK) {
    mem_free(list);
    return code;
  }
  *occs = list;
  *n_occs = n;
  return TFM_OK;
}

static tfm_code print_message(printer_t *pr, const pbs_message_t *m, const uint8_t *data,
                              size_t len, int depth);

static tfm_code print_nested(printer_t *pr, const pbs_field_t *f, const uint8_t *data, size_t len,
                             int depth) {
  indent(pr, depth);
  put(pr, f->name);
  put(pr, " {\n");
  tfm_code code = print_message(pr, pbs_field_message(f), data, len, depth + 1);
  indent(pr, depth);
  put(pr, "}\n");
  return code;
}

static void print_scalar_line(printer_t *pr, const pbs_field_t *f, const occ_t *o, int depth) {
  indent(pr, depth);
  put(pr, f->name);
  put(pr, ": ");
  if (f->type == PBS_STRING || f->type == PBS_BYTES) format_string(pr, o->p, o->len);
  else format_scalar(pr, f, o->v);
  put(pr, "\n");
}

/* A packed run: every value of f in o's payload. */
static tfm_code print_packed(printer_t *pr, const pbs_message_t *m, const pbs_field_t *f,
                             const occ_t *o, int depth) {
  const uint8_t *p = o->p, *end = o->p + o->len;
  int wt = pbs_wire_type(f->type);
  while (p < end) {
    occ_t v = {0};
    if (!read_value(&p, end, wt, &v))
      return data_loss(pr, m, "truncated packed repeated field");
    print_scalar_line(pr, f, &v, depth);
  }
  return TFM_OK;
}

/* ---- maps: entries sorted by key, the last of equal keys wins ---- */

typedef struct map_entry {
  const occ_t *o;
  occ_t key;
  size_t seq;     /* wire order, to keep the last of equal keys */
  bool has_value; /* a message value missing on the wire still prints (empty) */
} map_entry_t;

static const pbs_field_t *sort_key_field; /* the key field during qsort (no qsort_r in C11) */

static int key_cmp(const map_entry_t *a, const map_entry_t *b) {
  const pbs_field_t *kf = sort_key_field;
  if (kf->type == PBS_STRING || kf->type == PBS_BYTES) {
    size_t n = a->key.len < b->key.len ? a->key.len : b->key.len;
    int c = n ? memcmp(a->key.p, b->key.p, n) : 0;
    if (c) return c;
    return a->key.len < b->key.len ? -1 : a->key.len > b->key.len;
  }
  int64_t x, y;
  switch (kf->type) {
  case PBS_INT32: case PBS_SFIXED32:
    x = (int32_t)(uint32_t)a->key.v, y = (int32_t)(uint32_t)b->key.v;
    break;
  case PBS_SINT32: case PBS_SINT64:
    x = (int64_t)(a->key.v >> 1) ^ -(int64_t)(a->key.v & 1);
    y = (int64_t)(b->key.v >> 1) ^ -(int64_t)(b->key.v & 1);
    break;
  case PBS_INT64: case PBS_SFIXED64:
    x = (int64_t)a->key.v, y = (int64_t)b->key.v;
    break;
  default: /* unsigned and bool */
    return a->key.v < b->key.v ? -1 : a->key.v > b->key.v;
  }
  return x < y ? -1 : x > y;
}

static int entry_cmp(const void *pa, const void *pb) {
  const map_entry_t *a = pa, *b = pb;
  int c = key_cmp(a, b);
  if (c) return c;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static tfm_code print_map(printer_t *pr, const pbs_field_t *f, occ_t *const *list, size_t n,
                          int depth) {
  const pbs_message_t *em = pbs_field_message(f);
  const pbs_field_t *kf = pbs_field_by_number(em, 1), *vf = pbs_field_by_number(em, 2);
  if (!kf || n == 0) {
    for (size_t i = 0; i < n; i++) {
      tfm_code code = print_nested(pr, f, list[i]->p, list[i]->len, depth);
      if (code != TFM_OK) return code;
    }
    return TFM_OK;
  }
  map_entry_t *entries = mem_calloc(n, sizeof *entries);
  if (!entries) return status_set(pr->st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", pr->what);
  tfm_code code = TFM_OK;
  for (size_t i = 0; i < n && code == TFM_OK; i++) {
    entries[i].o = list[i];
    entries[i].seq = i;
    entries[i].key.p = (const uint8_t *)"";
    occ_t *inner;
    size_t n_inner;
    code = scan(pr, em, list[i]->p, list[i]->len, &inner, &n_inner);
    if (code != TFM_OK) break;
    for (size_t j = 0; j < n_inner; j++) {
      if (inner[j].f == kf) entries[i].key = inner[j];
      if (inner[j].f == vf) entries[i].has_value = true;
    }
    mem_free(inner);
  }
  if (code == TFM_OK) {
    sort_key_field = kf;
    qsort(entries, n, sizeof *entries, entry_cmp);
    for (size_t i = 0; i < n && code == TFM_OK; i++) {
      sort_key_field = kf;
      if (i + 1 < n && key_cmp(&entries[i], &entries[i + 1]) == 0) continue;
      if (entries[i].has_value || !vf || vf->type != PBS_MESSAGE) {
        code = print_nested(pr, f, entries[i].o->p, entries[i].o->len, depth);
        continue;
      }
      /* The entry as protobuf holds it: its key, and the value's default (an empty
       * message, which text_format prints). */
      indent(pr, depth);
      put(pr, f->name);
      put(pr, " {\n");
      code = print_message(pr, em, entries[i].o->p, entries[i].o->len, depth + 1);
      indent(pr, depth + 1);
      put(pr, vf->name);
      put(pr, " {\n");
      indent(pr, depth + 1);
      put(pr, "}\n");
      indent(pr, depth);
      put(pr, "}\n");
    }
  }
  mem_free(entries);
  return code;
}

/* ---- messages ---- */

static tfm_code print_field(printer_t *pr, const pbs_message_t *m, const pbs_field_t *f,
                            occ_t *const *list, size_t n, int depth) {
  if (f->type == PBS_MESSAGE && !pbs_field_message(f))
    return data_loss(pr, m, "field of an unknown message type");
  if (f->repeated) {
    if (f->type == PBS_MESSAGE && pbs_field_message(f)->map_entry)
      return print_map(pr, f, list, n, depth);
    for (size_t i = 0; i < n; i++) {
      tfm_code code;
      if (f->type == PBS_MESSAGE) code = print_nested(pr, f, list[i]->p, list[i]->len, depth);
      else if (list[i]->wt == PBS_WIRE_LEN && !pbs_is_len_type(f->type))
        code = print_packed(pr, m, f, list[i], depth);
      else {
        print_scalar_line(pr, f, list[i], depth);
        code = TFM_OK;
      }
      if (code != TFM_OK) return code;
    }
    return TFM_OK;
  }
  if (f->type == PBS_MESSAGE) {
    if (n == 1) return print_nested(pr, f, list[0]->p, list[0]->len, depth);
    /* Occurrences of a singular message merge: parse their concatenation. */
    bytebuf_t cat = BYTEBUF_INIT;
    for (size_t i = 0; i < n; i++) bytebuf_append(&cat, list[i]->p, list[i]->len);
    tfm_code code = cat.failed
                        ? status_set(pr->st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", pr->what)
                        : print_nested(pr, f, cat.data ? cat.data : (const uint8_t *)"", cat.len, depth);
    bytebuf_free(&cat);
    return code;
  }
  const occ_t *last = list[n - 1];
  bool zero = pbs_is_len_type(f->type) ? last->len == 0 : scalar_is_zero(f->type, last->v);
  if (zero && m->proto3 && f->oneof < 0) return TFM_OK;
  print_scalar_line(pr, f, last, depth);
  return TFM_OK;
}

static tfm_code print_message(printer_t *pr, const pbs_message_t *m, const uint8_t *data,
                              size_t len, int depth) {
  if (depth > PRINT_MAX_DEPTH) return data_loss(pr, m, "messages nested too deeply");
  occ_t *occs = NULL;
  size_t n = 0;
  tfm_code code = scan(pr, m, data, len, &occs, &n);
  if (code != TFM_OK || n == 0) {
    mem_free(occs);
    return code;
  }
  /* Group occurrences by field (wire order kept within a field); for each oneof, the
   * member set last wins, and a message member merges only what followed the switch. */
  size_t *start = mem_calloc((size_t)m->n_fields + 1, sizeof *start);
  size_t *from = mem_calloc((size_t)m->n_fields, sizeof *from);
  int *oneof_cur = mem_calloc((size_t)m->n_fields, sizeof *oneof_cur);
  occ_t **sorted = mem_calloc(n, sizeof *sorted);
  if (!start || !from || !oneof_cur || !sorted) {
    code = status_set(pr->st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", pr->what);
    goto done;
  }
  for (int i = 0; i < m->n_fields; i++) oneof_cur[i] = -1;
  for (size_t i = 0; i < n; i++) {
    int fi = (int)(occs[i].f - m->fields);
    start[fi + 1]++;
    int g = occs[i].f->oneof;
    if (g >= 0 && g < m->n_fields && oneof_cur[g] != fi) {
      oneof_cur[g] = fi;
      from[fi] = start[fi + 1] - 1; /* index within the field's own list */
    }
  }
  for (int i = 0; i < m->n_fields; i++) start[i + 1] += start[i];
  {
    size_t *fill = from; /* reuse: per-field fill cursor after saving offsets */
    size_t *skip = mem_calloc((size_t)m->n_fields, sizeof *skip);
    if (!skip) {
      code = status_set(pr->st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", pr->what);
      goto done;
    }
    memcpy(skip, from, (size_t)m->n_fields * sizeof *skip);
    for (int i = 0; i < m->n_fields; i++) fill[i] = start[i];
    for (size_t i = 0; i < n; i++) {
      int fi = (int)(occs[i].f - m->fields);
      sorted[fill[fi]++] = &occs[i];
    }
    for (int i = 0; i < m->n_fields && code == TFM_OK; i++) {
      const pbs_field_t *f = &m->fields[i];
      size_t count = start[i + 1] - start[i];
      if (count == 0) continue;
      size_t first = 0;
      if (f->oneof >= 0) {
        if (f->oneof >= m->n_fields || oneof_cur[f->oneof] != i) continue;
        first = skip[i];
      }
      code = print_field(pr, m, f, sorted + start[i] + first, count - first, depth);
    }
    mem_free(skip);
  }
done:
  mem_free(start);
  mem_free(from);
  mem_free(oneof_cur);
  mem_free(sorted);
  mem_free(occs);
  return code;
}

tfm_code pbtext_from_binary(const char *type_name, const void *data, size_t len, bytebuf_t *out,
                            const char *what, tfm_status *st) {
  if (!what) what = "protobuf text";
  if (!type_name || !out || (len && !data))
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: pbtext_from_binary needs a type, data and an output", what);
  const pbs_message_t *m = pbs_find_message(type_name, strlen(type_name));
  if (!m) return status_set(st, TFM_NOT_FOUND, "%s: unknown message type '%s'", what, type_name);
  if (!data) data = ""; /* an empty message may come as NULL (NULL + 0 is UB) */
  printer_t pr = {out, what, st};
  size_t mark = out->len;
  tfm_code code = print_message(&pr, m, data, len, 0);
  if (code == TFM_OK && out->failed)
    code = status_set(st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory writing text", what);
  if (code != TFM_OK && !out->failed) out->len = mark;
  return code;
}
