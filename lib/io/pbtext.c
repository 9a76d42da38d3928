/* Protobuf text format -> binary wire format, transcoded directly with the generated
 * schema (pbschema.h). Takes what protobuf's own parsers take: `#` comments, `:` before a
 * message optional, `{ }` or `< >`, `,` or `;` after a field, `[a, b]` lists, adjacent
 * string literals concatenated, C escapes (octal, \x, \u), enums by name or number,
 * integers in decimal/hex/octal, floats with inf/nan and an `f` suffix, and expanded
 * `[type.googleapis.com/pkg.Msg] { }` Any values. The binary is written canonically
 * (fields in number order, proto3 repeated scalars packed, proto3 zero scalars omitted,
 * map entries with both key and value), so TensorFlow's bytes come back unchanged.
 * The printer is pbtext_print.c. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "io/pbschema.h"
#include "io/pbtext.h"

#define PARSE_MAX_DEPTH 100

typedef struct parser {
  const char *p, *end;
  int line;
  const char *what;
  tfm_status *st;
} parser_t;

/* One parsed field value, its encoding kept in the message's scratch buffer until the
 * message is complete and its fields can be written in number order. */
typedef struct record {
  int field;      /* index into the message's fields */
  size_t off, len;
} record_t;

typedef struct msg_state {
  const pbs_message_t *m;
  bytebuf_t scratch;
  record_t *recs;
  size_t n, cap;
  uint32_t *seen;    /* per field: records so far */
  int *oneof_member; /* per oneof: the field index set, or -1 */
} msg_state_t;

static tfm_code perr(parser_t *ps, const pbs_message_t *m, const pbs_field_t *f, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static tfm_code perr(parser_t *ps, const pbs_message_t *m, const pbs_field_t *f, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (f)
    return status_set(ps->st, TFM_INVALID_ARGUMENT, "%s: line %d: field %s.%s: %s", ps->what, ps->line,
                      m->full_name, f->name, msg);
  return status_set(ps->st, TFM_INVALID_ARGUMENT, "%s: line %d: in %s: %s", ps->what, ps->line,
                    m->full_name, msg);
}

static tfm_code oom(parser_t *ps) {
  return status_set(ps->st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory parsing text", ps->what);
}

/* ---- tokens ---- */

static void skip_space(parser_t *ps) {
  while (ps->p < ps->end) {
    char c = *ps->p;
    if (c == '\n') {
      ps->line++;
      ps->p++;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      ps->p++;
    } else if (c == '#') {
      while (ps->p < ps->end && *ps->p != '\n') ps->p++;
    } else {
      break;
    }
  }
}

/* Consumes c (after white space) if it is next. */
static bool try_char(parser_t *ps, char c) {
  skip_space(ps);
  if (ps->p < ps->end && *ps->p == c) {
    ps->p++;
    return true;
  }
  return false;
}

static bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

static size_t read_ident(parser_t *ps, const char **s) {
  skip_space(ps);
  *s = ps->p;
  if (ps->p >= ps->end || !is_ident_start(*ps->p)) return 0;
  while (ps->p < ps->end && is_ident_char(*ps->p)) ps->p++;
  return (size_t)(ps->p - *s);
}

/* A scalar token: [-]word, where a word runs over letters, digits, '.', '_', and a sign
 * after an exponent 'e'. */
static size_t read_scalar_token(parser_t *ps, const char **s) {
  skip_space(ps);
  *s = ps->p;
  const char *q = ps->p;
  if (q < ps->end && (*q == '-' || *q == '+')) q++;
  bool hex = ps->end - q >= 2 && q[0] == '0' && (q[1] == 'x' || q[1] == 'X');
  while (q < ps->end) {
    char c = *q;
    if (is_ident_char(c) || c == '.') q++;
    else if ((c == '-' || c == '+') && !hex && q > *s && (q[-1] == 'e' || q[-1] == 'E') &&
             q - 1 > *s && ((q[-2] >= '0' && q[-2] <= '9') || q[-2] == '.'))
      q++;
    else break;
  }
  ps->p = q;
  return (size_t)(q - *s);
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void put_utf8(bytebuf_t *b, uint32_t cp) {
  uint8_t u[4];
  size_t n;
  if (cp < 0x80) u[0] = (uint8_t)cp, n = 1;
  else if (cp < 0x800) u[0] = (uint8_t)(0xC0 | cp >> 6), u[1] = (uint8_t)(0x80 | (cp & 0x3F)), n = 2;
  else if (cp < 0x10000)
    u[0] = (uint8_t)(0xE0 | cp >> 12), u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)),
    u[2] = (uint8_t)(0x80 | (cp & 0x3F)), n = 3;
  else
    u[0] = (uint8_t)(0xF0 | cp >> 18), u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F)),
    u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (uint8_t)(0x80 | (cp & 0x3F)), n = 4;
  bytebuf_append(b, u, n);
}

/* One quoted literal (the opening quote is next), unescaped and appended to out. */
static tfm_code read_quoted(parser_t *ps, const pbs_message_t *m, const pbs_field_t *f, bytebuf_t *out) {
  char quote = *ps->p++;
  while (ps->p < ps->end && *ps->p != quote) {
    char c = *ps->p++;
    if (c == '\n') return perr(ps, m, f, "string not terminated before the end of the line");
    if (c != '\\') {
      bytebuf_append(out, &c, 1);
      continue;
    }
    if (ps->p >= ps->end) break;
    c = *ps->p++;
    uint8_t byte;
    switch (c) {
    case 'n': byte = '\n'; break;
    case 't': byte = '\t'; break;
    case 'r': byte = '\r'; break;
    case 'a': byte = '\a'; break;
    case 'b': byte = '\b'; break;
    case 'f': byte = '\f'; break;
    case 'v': byte = '\v'; break;
    case '\\': case '\'': case '"': case '?': byte = (uint8_t)c; break;
    case 'x': case 'X': {
      int v = 0, digits = 0;
      while (digits < 2 && ps->p < ps->end && hex_value(*ps->p) >= 0) v = v * 16 + hex_value(*ps->p++), digits++;
      if (!digits) return perr(ps, m, f, "\\x without hex digits in a string");
      byte = (uint8_t)v;
      break;
    }
    case 'u': case 'U': {
      int want = c == 'u' ? 4 : 8;
      uint32_t cp = 0;
      for (int i = 0; i < want; i++) {
        if (ps->p >= ps->end || hex_value(*ps->p) < 0)
          return perr(ps, m, f, "\\%c needs %d hex digits in a string", c, want);
        cp = cp * 16 + (uint32_t)hex_value(*ps->p++);
      }
      if (cp > 0x10FFFF) return perr(ps, m, f, "\\%c escape beyond Unicode", c);
      put_utf8(out, cp);
      continue;
    }
    default:
      if (c >= '0' && c <= '7') {
        int v = c - '0';
        for (int i = 0; i < 2 && ps->p < ps->end && *ps->p >= '0' && *ps->p <= '7'; i++)
          v = v * 8 + (*ps->p++ - '0');
        if (v > 255) return perr(ps, m, f, "octal escape \\%o beyond a byte", (unsigned)v);
        byte = (uint8_t)v;
        break;
      }
      return perr(ps, m, f, "unknown escape \\%c in a string", c);
    }
    bytebuf_append(out, &byte, 1);
  }
  if (ps->p >= ps->end) return perr(ps, m, f, "string not terminated");
  ps->p++;
  return TFM_OK;
}

/* One or more adjacent quoted literals. */
static tfm_code read_string(parser_t *ps, const pbs_message_t *m, const pbs_field_t *f, bytebuf_t *out) {
  skip_space(ps);
  if (ps->p >= ps->end || (*ps->p != '"' && *ps->p != '\''))
    return perr(ps, m, f, "expected a quoted string");
  do {
    tfm_code code = read_quoted(ps, m, f, out);
    if (code != TFM_OK) return code;
    skip_space(ps);
  } while (ps->p < ps->end && (*ps->p == '"' || *ps->p == '\''));
  return TFM_OK;
}

/* ---- scalars ---- */

static bool token_is(const char *s, size_t n, const char *word) {
  size_t w = strlen(word);
  if (n != w) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != word[i]) return false;
  }
  return true;
}

/* Integer literal: [-](decimal | 0x hex | 0 octal), magnitude into *mag. */
static bool parse_integer(const char *s, size_t n, bool *neg, uint64_t *mag) {
  size_t i = 0;
  *neg = false;
  if (i < n && (s[i] == '-' || s[i] == '+')) *neg = s[i++] == '-';
  if (i >= n) return false;
  unsigned base = 10;
  if (n - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) base = 16, i += 2;
  else if (n - i > 1 && s[i] == '0') base = 8, i += 1;
  uint64_t v = 0;
  for (; i < n; i++) {
    int d = hex_value(s[i]);
    if (d < 0 || (unsigned)d >= base) return false;
    if (v > (UINT64_MAX - (uint64_t)d) / base) return false;
    v = v * base + (uint64_t)d;
  }
  *mag = v;
  return true;
}

static bool parse_float(const char *s, size_t n, double *out) {
  const char *q = s;
  bool neg = false;
  if (n && (*q == '-' || *q == '+')) neg = *q == '-', q++, n--;
  if (token_is(q, n, "inf") || token_is(q, n, "infinity") || token_is(q, n, "inff") ||
      token_is(q, n, "infinityf")) {
    *out = neg ? -INFINITY : INFINITY;
    return true;
  }
  if (token_is(q, n, "nan") || token_is(q, n, "nanf")) {
    *out = NAN;
    return true;
  }
  if (n && (q[n - 1] == 'f' || q[n - 1] == 'F')) n--;
  if (n == 0 || n > 200) return false;
  char buf[208];
  for (size_t i = 0; i < n; i++) {
    char c = q[i];
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+'))
      return false;
    buf[i] = c;
  }
  buf[n] = '\0';
  char *end;
  errno = 0;
  double d = strtod(buf, &end);
  if (end != buf + n) return false;
  *out = neg ? -d : d;
  return true;
}

/* Reads one scalar value of f and appends its encoding (no tag) to out. */
static tfm_code read_scalar(parser_t *ps, const pbs_message_t *m, const pbs_field_t *f, bytebuf_t *out) {
  if (f->type == PBS_STRING || f->type == PBS_BYTES) return read_string(ps, m, f, out);
  const char *s;
  size_t n = read_scalar_token(ps, &s);
  if (n == 0) {
    if (ps->p < ps->end && (*ps->p == '"' || *ps->p == '\''))
      return perr(ps, m, f, "a string where a %s is expected",
                  f->type == PBS_ENUM ? "enum value" : "number");
    return perr(ps, m, f, "expected a value");
  }
  int tn = n > 60 ? 60 : (int)n;
  bool neg;
  uint64_t mag;
  switch (f->type) {
  case PBS_FLOAT: case PBS_DOUBLE: {
    double d;
    if (!parse_float(s, n, &d)) return perr(ps, m, f, "'%.*s' is not a number", tn, s);
    if (f->type == PBS_FLOAT) {
      float x = (float)d;
      uint32_t u;
      memcpy(&u, &x, 4);
      bytebuf_put_u32le(out, u);
    } else {
      uint64_t u;
      memcpy(&u, &d, 8);
      bytebuf_put_u64le(out, u);
    }
    return TFM_OK;
  }
  case PBS_BOOL:
    if (token_is(s, n, "true") || token_is(s, n, "t") || (n == 1 && *s == '1')) bytebuf_put_varint(out, 1);
    else if (token_is(s, n, "false") || token_is(s, n, "f") || (n == 1 && *s == '0')) bytebuf_put_varint(out, 0);
    else return perr(ps, m, f, "'%.*s' is not a bool (true or false)", tn, s);
    return TFM_OK;
  case PBS_ENUM: {
    int32_t v;
    if (is_ident_start(*s)) {
      if (!pbs_enum_number(f, s, n, &v)) return perr(ps, m, f, "unknown enum value '%.*s'", tn, s);
    } else {
      if (!parse_integer(s, n, &neg, &mag) || mag > (neg ? 2147483648u : 2147483647u))
        return perr(ps, m, f, "'%.*s' is not an enum value", tn, s);
      v = neg ? (int32_t)(0 - mag) : (int32_t)mag;
    }
    bytebuf_put_varint(out, (uint64_t)(int64_t)v);
    return TFM_OK;
  }
  default: break;
  }
  if (!parse_integer(s, n, &neg, &mag)) return perr(ps, m, f, "'%.*s' is not an integer", tn, s);
  bool is_signed = f->type == PBS_INT32 || f->type == PBS_INT64 || f->type == PBS_SINT32 ||
                   f->type == PBS_SINT64 || f->type == PBS_SFIXED32 || f->type == PBS_SFIXED64;
  bool is_32 = f->type == PBS_INT32 || f->type == PBS_SINT32 || f->type == PBS_SFIXED32 ||
               f->type == PBS_UINT32 || f->type == PBS_FIXED32;
  uint64_t limit = is_32 ? (is_signed ? 2147483647u : 4294967295u) : (is_signed ? INT64_MAX : UINT64_MAX);
  if ((neg && !is_signed && mag) || mag > limit + (neg && is_signed ? 1 : 0))
    return perr(ps, m, f, "%.*s is out of range", tn, s);
  int64_t sv = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
  switch (f->type) {
  case PBS_INT32: case PBS_INT64: bytebuf_put_varint(out, (uint64_t)sv); break;
  case PBS_UINT32: case PBS_UINT64: bytebuf_put_varint(out, mag); break;
  case PBS_SINT32: case PBS_SINT64:
    bytebuf_put_varint(out, ((uint64_t)sv << 1) ^ (uint64_t)(sv < 0 ? -1 : 0));
    break;
  case PBS_FIXED32: case PBS_SFIXED32: bytebuf_put_u32le(out, (uint32_t)(uint64_t)sv); break;
  case PBS_FIXED64: case PBS_SFIXED64: bytebuf_put_u64le(out, (uint64_t)sv); break;
  default: return perr(ps, m, f, "field type %d is not supported", f->type);
  }
  return TFM_OK;
}

/* ---- messages ---- */

static tfm_code parse_fields(parser_t *ps, const pbs_message_t *m, char close, int depth,
                             bytebuf_t *out);

static tfm_code add_record(parser_t *ps, msg_state_t *ms, int field, size_t off) {
  if (ms->n == ms->cap) {
    size_t ncap = ms->cap ? 2 * ms->cap : 16;
    record_t *grown = mem_realloc(ms->recs, ncap * sizeof *grown);
    if (!grown) return oom(ps);
    ms->recs = grown;
    ms->cap = ncap;
  }
  ms->recs[ms->n++] = (record_t){field, off, ms->scratch.len - off};
  return TFM_OK;
}

/* A nested message body after its opening bracket, encoded into the scratch buffer. */
static tfm_code read_nested(parser_t *ps, msg_state_t *ms, const pbs_field_t *f, int depth) {
  skip_space(ps);
  char open = ps->p < ps->end ? *ps->p : '\0';
  if (open != '{' && open != '<') return perr(ps, ms->m, f, "expected '{' or '<' to open a message");
  ps->p++;
  size_t off = ms->scratch.len;
  tfm_code code = parse_fields(ps, pbs_field_message(f), open == '{' ? '}' : '>', depth + 1, &ms->scratch);
  if (code != TFM_OK) return code;
  return add_record(ps, ms, (int)(f - ms->m->fields), off);
}

static tfm_code read_value(parser_t *ps, msg_state_t *ms, const pbs_field_t *f, int depth) {
  if (f->type == PBS_MESSAGE) return read_nested(ps, ms, f, depth);
  size_t off = ms->scratch.len;
  tfm_code code = read_scalar(ps, ms->m, f, &ms->scratch);
  if (code != TFM_OK) return code;
  return add_record(ps, ms, (int)(f - ms->m->fields), off);
}

/* `[type.googleapis.com/pkg.Msg] { ... }` inside a google.protobuf.Any: type_url and value. */
static tfm_code read_any(parser_t *ps, msg_state_t *ms, int depth) {
  const char *url = ps->p;
  while (ps->p < ps->end && *ps->p != ']' && *ps->p != '\n') ps->p++;
  if (ps->p >= ps->end || *ps->p != ']') return perr(ps, ms->m, NULL, "unterminated '[' in a field name");
  size_t url_len = (size_t)(ps->p - url);
  ps->p++;
  const pbs_field_t *type_url = pbs_field_by_number(ms->m, 1), *value = pbs_field_by_number(ms->m, 2);
  const char *slash = memchr(url, '/', url_len);
  if (strcmp(ms->m->full_name, "google.protobuf.Any") != 0 || !type_url || !value || !slash)
    return perr(ps, ms->m, NULL, "extension fields ('[%.*s]') are not supported",
                (int)(url_len > 60 ? 60 : url_len), url);
  const char *tname = url;
  for (const char *q = url; q < url + url_len; q++)
    if (*q == '/') tname = q + 1;
  const pbs_message_t *inner = pbs_find_message(tname, (size_t)(url + url_len - tname));
  if (!inner) return perr(ps, ms->m, NULL, "unknown message type in Any: '%.*s'", (int)(url_len > 80 ? 80 : url_len), url);
  size_t off = ms->scratch.len;
  bytebuf_append(&ms->scratch, url, url_len);
  tfm_code code = add_record(ps, ms, (int)(type_url - ms->m->fields), off);
  if (code != TFM_OK) return code;
  try_char(ps, ':');
  skip_space(ps);
  char open = ps->p < ps->end ? *ps->p : '\0';
  if (open != '{' && open != '<') return perr(ps, ms->m, value, "expected '{' after an Any type URL");
  ps->p++;
  off = ms->scratch.len;
  code = parse_fields(ps, inner, open == '{' ? '}' : '>', depth + 1, &ms->scratch);
  if (code != TFM_OK) return code;
  return add_record(ps, ms, (int)(value - ms->m->fields), off);
}

static tfm_code read_field(parser_t *ps, msg_state_t *ms, int depth) {
  const pbs_message_t *m = ms->m;
  if (try_char(ps, '[')) return read_any(ps, ms, depth);
  const char *name;
  size_t n = read_ident(ps, &name);
  if (n == 0) {
    if (ps->p < ps->end)
      return perr(ps, m, NULL, "expected a field name, found '%c'", *ps->p);
    return perr(ps, m, NULL, "expected a field name");
  }
  const pbs_field_t *f = pbs_field_by_name(m, name, n);
  if (!f) return perr(ps, m, NULL, "no field named '%.*s'", (int)(n > 80 ? 80 : n), name);
  if (f->type == PBS_GROUP || (f->type == PBS_MESSAGE && !pbs_field_message(f)))
    return perr(ps, m, f, "field type is not supported");
  bool colon = try_char(ps, ':');
  if (!colon && f->type != PBS_MESSAGE) return perr(ps, m, f, "expected ':' after the field name");
  tfm_code code;
  if (try_char(ps, '[')) {
    if (!f->repeated) return perr(ps, m, f, "a list '[...]' given for a field that is not repeated");
    if (try_char(ps, ']')) return TFM_OK;
    do {
      code = read_value(ps, ms, f, depth);
      if (code != TFM_OK) return code;
    } while (try_char(ps, ','));
    if (!try_char(ps, ']')) return perr(ps, m, f, "expected ',' or ']' in a list");
  } else {
    code = read_value(ps, ms, f, depth);
    if (code != TFM_OK) return code;
  }
  if (!try_char(ps, ',')) try_char(ps, ';');
  return TFM_OK;
}

/* Whether a field's encoded value is the proto3 zero (not written outside oneofs). */
static bool record_is_zero(const pbs_field_t *f, const uint8_t *p, size_t len) {
  if (f->type == PBS_MESSAGE) return false;
  for (size_t i = 0; i < len; i++)
    if (p[i]) return false;
  if (f->type == PBS_STRING || f->type == PBS_BYTES) return len == 0;
  return true;
}

static void put_default(bytebuf_t *out, const pbs_field_t *f) {
  bytebuf_put_varint(out, (uint64_t)f->number << 3 | (uint64_t)pbs_wire_type(f->type));
  switch (pbs_wire_type(f->type)) {
  case PBS_WIRE_FIXED32: bytebuf_put_u32le(out, 0); break;
  case PBS_WIRE_FIXED64: bytebuf_put_u64le(out, 0); break;
  default: bytebuf_put_varint(out, 0); break; /* zero varint or empty LEN */
  }
}

/* Writes the message's records to out in field-number order (stable within a field). */
static tfm_code emit(parser_t *ps, msg_state_t *ms, bytebuf_t *out) {
  const pbs_message_t *m = ms->m;
  static const uint8_t no_bytes[1];
  const uint8_t *base = ms->scratch.data ? ms->scratch.data : no_bytes; /* NULL + 0 is UB */
  size_t *count = mem_calloc((size_t)m->n_fields + 1, sizeof *count);
  record_t **sorted = ms->n ? mem_calloc(ms->n, sizeof *sorted) : NULL;
  if (!count || (ms->n && !sorted)) {
    mem_free(count);
    mem_free(sorted);
    return oom(ps);
  }
  for (size_t i = 0; i < ms->n; i++) count[ms->recs[i].field + 1]++;
  for (int i = 0; i < m->n_fields; i++) count[i + 1] += count[i];
  for (size_t i = 0; i < ms->n; i++) sorted[count[ms->recs[i].field]++] = &ms->recs[i];
  /* count[i] is now the end of field i's run; runs start at count[i - 1] (or 0). */
  size_t at = 0;
  for (int fi = 0; fi < m->n_fields; fi++) {
    const pbs_field_t *f = &m->fields[fi];
    size_t begin = at, end = count[fi];
    at = end;
    if (begin == end) {
      if (m->map_entry) put_default(out, f); /* map entries always carry key and value */
      continue;
    }
    if (f->packed) {
      size_t total = 0;
      for (size_t i = begin; i < end; i++) total += sorted[i]->len;
      bytebuf_put_varint(out, (uint64_t)f->number << 3 | PBS_WIRE_LEN);
      bytebuf_put_varint(out, total);
      for (size_t i = begin; i < end; i++) bytebuf_append(out, base + sorted[i]->off, sorted[i]->len);
      continue;
    }
    for (size_t i = begin; i < end; i++) {
      const record_t *r = sorted[i];
      if (!f->repeated && m->proto3 && f->oneof < 0 && !m->map_entry &&
          record_is_zero(f, base + r->off, r->len))
        continue;
      int wt = pbs_wire_type(f->type);
      bytebuf_put_varint(out, (uint64_t)f->number << 3 | (uint64_t)wt);
      if (wt == PBS_WIRE_LEN) bytebuf_put_varint(out, r->len);
      bytebuf_append(out, base + r->off, r->len);
    }
  }
  mem_free(count);
  mem_free(sorted);
  return TFM_OK;
}

/* Refuses what protobuf's text parser refuses: a singular scalar given twice, two
 * members of one oneof. */
static tfm_code note_field(parser_t *ps, msg_state_t *ms, int fi) {
  const pbs_field_t *f = &ms->m->fields[fi];
  if (!f->repeated && f->type != PBS_MESSAGE && ms->seen[fi] > 1)
    return perr(ps, ms->m, f, "given more than once");
  if (f->oneof >= 0 && f->oneof < ms->m->n_fields) {
    int cur = ms->oneof_member[f->oneof];
    if (cur >= 0 && cur != fi)
      return perr(ps, ms->m, f, "given together with '%s', another member of the same oneof",
                  ms->m->fields[cur].name);
    ms->oneof_member[f->oneof] = fi;
  }
  return TFM_OK;
}

/* Parses fields up to `close` ('\0': the end of the text) and appends the message's
 * encoding to out. */
static tfm_code parse_fields(parser_t *ps, const pbs_message_t *m, char close, int depth,
                             bytebuf_t *out) {
  if (depth > PARSE_MAX_DEPTH)
    return perr(ps, m, NULL, "messages nested more than %d deep", PARSE_MAX_DEPTH);
  msg_state_t ms = {m, BYTEBUF_INIT, NULL, 0, 0, NULL, NULL};
  size_t nf = (size_t)m->n_fields;
  ms.seen = mem_calloc(nf + 1, sizeof *ms.seen);
  ms.oneof_member = mem_calloc(nf + 1, sizeof *ms.oneof_member);
  tfm_code code = ms.seen && ms.oneof_member ? TFM_OK : oom(ps);
  for (size_t i = 0; code == TFM_OK && i < nf; i++) ms.oneof_member[i] = -1;
  while (code == TFM_OK) {
    skip_space(ps);
    if (ps->p >= ps->end) {
      if (close) code = perr(ps, m, NULL, "missing '%c' at the end of the text", close);
      break;
    }
    if (*ps->p == '}' || *ps->p == '>') {
      if (*ps->p != close) {
        code = perr(ps, m, NULL, "unexpected '%c'", *ps->p);
        break;
      }
      ps->p++;
      break;
    }
    size_t before = ms.n;
    code = read_field(ps, &ms, depth);
    for (size_t i = before; code == TFM_OK && i < ms.n; i++) {
      ms.seen[ms.recs[i].field]++;
      code = note_field(ps, &ms, ms.recs[i].field);
    }
    if (code == TFM_OK && ms.scratch.failed) code = oom(ps);
    if (code != TFM_OK) break;
  }
  if (code == TFM_OK) code = emit(ps, &ms, out);
  bytebuf_free(&ms.scratch);
  mem_free(ms.recs);
  mem_free(ms.seen);
  mem_free(ms.oneof_member);
  return code;
}

tfm_code pbtext_to_binary(const char *type_name, const char *text, size_t len, bytebuf_t *out,
                          const char *what, tfm_status *st) {
  if (!what) what = "protobuf text";
  if (!type_name || !out || (len && !text))
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: pbtext_to_binary needs a type, text and an output", what);
  const pbs_message_t *m = pbs_find_message(type_name, strlen(type_name));
  if (!m) return status_set(st, TFM_NOT_FOUND, "%s: unknown message type '%s'", what, type_name);
  if (!text) text = ""; /* empty text may come as NULL (NULL + 0 is UB) */
  parser_t ps = {text, text + len, 1, what, st};
  size_t mark = out->len;
  tfm_code code = parse_fields(&ps, m, '\0', 0, out);
  if (code == TFM_OK && out->failed)
    code = status_set(st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory writing binary", what);
  if (code != TFM_OK && !out->failed) out->len = mark;
  return code;
}
