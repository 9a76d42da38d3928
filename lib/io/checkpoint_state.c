/* CheckpointState text format (see checkpoint_state.h). A small hand-written
 * tokenizer for the subset of protobuf text format these four fields use. */
#include "io/checkpoint_state.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "io/file.h"

/* The file is tiny; anything over this is not a checkpoint state. */
#define CHECKPOINT_STATE_MAX (64u << 20)

void checkpoint_state_free(checkpoint_state_t *cs) {
  mem_free(cs->model_checkpoint_path);
  for (size_t i = 0; i < cs->num_paths; i++) mem_free(cs->paths[i]);
  mem_free(cs->paths);
  mem_free(cs->timestamps);
  *cs = (checkpoint_state_t)CHECKPOINT_STATE_INIT;
}

typedef struct lexer {
  const char *p, *end, *name;
  int line;
  tfm_status *st;
} lexer_t;

static tfm_code syntax(lexer_t *lx, const char *what) {
  return status_set(lx->st, TFM_INVALID_ARGUMENT, "%s:%d: %s", lx->name, lx->line, what);
}

/* Skips whitespace, comments and the optional field separators , and ;. */
static void skip_space(lexer_t *lx) {
  while (lx->p < lx->end) {
    char c = *lx->p;
    if (c == '\n') {
      lx->line++;
      lx->p++;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == ',' ||
               c == ';') {
      lx->p++;
    } else if (c == '#') {
      while (lx->p < lx->end && *lx->p != '\n') lx->p++;
    } else {
      break;
    }
  }
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* One quoted string (either quote), C escapes decoded, appended to out. */
static tfm_code lex_quoted(lexer_t *lx, bytebuf_t *out) {
  char q = *lx->p++;
  while (lx->p < lx->end && *lx->p != q) {
    char c = *lx->p++;
    if (c == '\n') return syntax(lx, "newline inside a string");
    if (c != '\\') {
      bytebuf_append(out, &c, 1);
      continue;
    }
    if (lx->p >= lx->end) break;
    char e = *lx->p++;
    unsigned v;
    switch (e) {
    case 'n': v = '\n'; break;
    case 't': v = '\t'; break;
    case 'r': v = '\r'; break;
    case 'a': v = '\a'; break;
    case 'b': v = '\b'; break;
    case 'f': v = '\f'; break;
    case 'v': v = '\v'; break;
    case '\\': case '\'': case '"': case '?': v = (unsigned char)e; break;
    case 'x': case 'X': {
      int h = lx->p < lx->end ? hexval(*lx->p) : -1;
      if (h < 0) return syntax(lx, "bad \\x escape");
      v = (unsigned)h;
      lx->p++;
      if (lx->p < lx->end && (h = hexval(*lx->p)) >= 0) {
        v = v * 16 + (unsigned)h;
        lx->p++;
      }
      break;
    }
    default:
      if (e >= '0' && e <= '7') {
        v = (unsigned)(e - '0');
        for (int k = 0; k < 2 && lx->p < lx->end && *lx->p >= '0' && *lx->p <= '7'; k++)
          v = v * 8 + (unsigned)(*lx->p++ - '0');
        if (v > 255) return syntax(lx, "octal escape out of range");
        break;
      }
      return syntax(lx, "unknown escape in a string");
    }
    uint8_t byte = (uint8_t)v;
    bytebuf_append(out, &byte, 1);
  }
  if (lx->p >= lx->end) return syntax(lx, "unterminated string");
  lx->p++;
  return TFM_OK;
}

/* A string value: one or more adjacent quoted pieces; returns a new C string. */
static tfm_code lex_string(lexer_t *lx, char **out) {
  bytebuf_t b = BYTEBUF_INIT;
  tfm_code code = TFM_OK;
  if (lx->p >= lx->end || (*lx->p != '"' && *lx->p != '\'')) return syntax(lx, "expected a string");
  while (code == TFM_OK && lx->p < lx->end && (*lx->p == '"' || *lx->p == '\'')) {
    code = lex_quoted(lx, &b);
    const char *save = lx->p;
    int line = lx->line;
    while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n' || *lx->p == '\r'))
      lx->line += *lx->p++ == '\n';
    if (lx->p >= lx->end || (*lx->p != '"' && *lx->p != '\'')) {
      lx->p = save;
      lx->line = line;
      break;
    }
  }
  if (code == TFM_OK) {
    if (memchr(b.data ? (const char *)b.data : "", 0, b.len))
      code = syntax(lx, "NUL byte in a checkpoint path");
    else if (b.failed || !(*out = mem_strndup(b.data ? (const char *)b.data : "", b.len)))
      code = status_set(lx->st, TFM_RESOURCE_EXHAUSTED, "out of memory parsing '%s'", lx->name);
  }
  bytebuf_free(&b);
  return code;
}

static tfm_code lex_double(lexer_t *lx, double *out) {
  char buf[64];
  size_t n = 0;
  while (lx->p + n < lx->end && n < sizeof buf - 1 &&
         (strchr("+-.eE", lx->p[n]) || (lx->p[n] >= '0' && lx->p[n] <= '9') ||
          (lx->p[n] >= 'a' && lx->p[n] <= 'z') || (lx->p[n] >= 'A' && lx->p[n] <= 'Z')))
    n++;
  memcpy(buf, lx->p, n);
  buf[n] = 0;
  /* Text format also writes floats with an f suffix ("1.5f"). */
  if (n > 1 && (buf[n - 1] == 'f' || buf[n - 1] == 'F') && strchr("0123456789.", buf[n - 2]))
    buf[--n] = 0;
  char *end;
  errno = 0;
  double v = strtod(buf, &end);
  if (n == 0 || *end != 0) return syntax(lx, "expected a number");
  if (!strcmp(buf, "inf") || !strcmp(buf, "-inf") || !strcmp(buf, "infinity") ||
      !strcmp(buf, "-infinity") || !strcmp(buf, "nan") || isfinite(v) || errno == ERANGE) {
    lx->p += n;
    *out = v;
    return TFM_OK;
  }
  return syntax(lx, "expected a number");
}

static tfm_code push_path(checkpoint_state_t *cs, char *s, tfm_status *st) {
  char **p = mem_realloc(cs->paths, (cs->num_paths + 1) * sizeof *p);
  if (!p) {
    mem_free(s);
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory for checkpoint paths");
  }
  cs->paths = p;
  p[cs->num_paths++] = s;
  return TFM_OK;
}

static tfm_code push_timestamp(checkpoint_state_t *cs, double v, tfm_status *st) {
  double *p = mem_realloc(cs->timestamps, (cs->num_timestamps + 1) * sizeof *p);
  if (!p) return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory for timestamps");
  cs->timestamps = p;
  p[cs->num_timestamps++] = v;
  return TFM_OK;
}

tfm_code checkpoint_state_parse(const char *text, size_t len, const char *name,
                                checkpoint_state_t *cs, tfm_status *st) {
  *cs = (checkpoint_state_t)CHECKPOINT_STATE_INIT;
  if (!text) text = "", len = 0; /* an empty buffer may come as NULL */
  lexer_t lx = {text, text + len, name, 1, st};
  bool seen_model = false, seen_last = false;
  tfm_code code = TFM_OK;
  for (;;) {
    skip_space(&lx);
    if (lx.p >= lx.end) break;
    const char *id = lx.p;
    while (lx.p < lx.end && (*lx.p == '_' || (*lx.p >= 'a' && *lx.p <= 'z') ||
                             (*lx.p >= 'A' && *lx.p <= 'Z') || (*lx.p >= '0' && *lx.p <= '9')))
      lx.p++;
    size_t idlen = (size_t)(lx.p - id);
    if (idlen == 0) {
      code = syntax(&lx, "expected a field name");
      break;
    }
    skip_space(&lx);
    if (lx.p >= lx.end || *lx.p != ':') {
      code = syntax(&lx, "expected ':' after a field name");
      break;
    }
    lx.p++;
    skip_space(&lx);
#define IS(s) (idlen == sizeof(s) - 1 && memcmp(id, s, idlen) == 0)
    if (IS("model_checkpoint_path")) {
      if (seen_model) {
        code = syntax(&lx, "model_checkpoint_path given twice");
        break;
      }
      seen_model = true;
      code = lex_string(&lx, &cs->model_checkpoint_path);
    } else if (IS("all_model_checkpoint_paths")) {
      char *s = NULL;
      code = lex_string(&lx, &s);
      if (code == TFM_OK) code = push_path(cs, s, st);
    } else if (IS("all_model_checkpoint_timestamps")) {
      double v;
      code = lex_double(&lx, &v);
      if (code == TFM_OK) code = push_timestamp(cs, v, st);
    } else if (IS("last_preserved_timestamp")) {
      if (seen_last) {
        code = syntax(&lx, "last_preserved_timestamp given twice");
        break;
      }
      seen_last = true;
      code = lex_double(&lx, &cs->last_preserved_timestamp);
    } else {
      code = status_set(st, TFM_INVALID_ARGUMENT, "%s:%d: unknown field '%.*s' in CheckpointState",
                        name, lx.line, (int)(idlen > 64 ? 64 : idlen), id);
    }
#undef IS
    if (code != TFM_OK) break;
  }
  if (code != TFM_OK) checkpoint_state_free(cs);
  return code;
}

/* Python's text_format escaping (CEscape): \n \r \t \" \' \\ and octal for other
 * non-printable bytes (and for bytes >= 0x80). */
static void put_escaped(bytebuf_t *out, const char *s) {
  bytebuf_append(out, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char tmp[5];
    const char *e = NULL;
    switch (*p) {
    case '\n': e = "\\n"; break;
    case '\r': e = "\\r"; break;
    case '\t': e = "\\t"; break;
    case '"': e = "\\\""; break;
    case '\'': e = "\\'"; break;
    case '\\': e = "\\\\"; break;
    default:
      if (*p < 0x20 || *p >= 0x7F) {
        snprintf(tmp, sizeof tmp, "\\%03o", *p);
        e = tmp;
      }
    }
    if (e) bytebuf_append(out, e, strlen(e));
    else bytebuf_append(out, p, 1);
  }
  bytebuf_append(out, "\"", 1);
}

/* Shortest text that reads back as the same double, like Python's repr
 * ("1525928334.543", "1.0", "1e+16", "inf", "nan"). */
static void put_double(bytebuf_t *out, double v) {
  char buf[40];
  if (isnan(v)) snprintf(buf, sizeof buf, "nan");
  else if (isinf(v)) snprintf(buf, sizeof buf, v < 0 ? "-inf" : "inf");
  else {
    for (int prec = 1; prec <= 17; prec++) {
      snprintf(buf, sizeof buf, "%.*g", prec, v);
      if (strtod(buf, NULL) == v) break;
    }
    if (!strpbrk(buf, ".e")) strcat(buf, ".0");
  }
  bytebuf_append(out, buf, strlen(buf));
}

tfm_code checkpoint_state_format(const checkpoint_state_t *cs, bytebuf_t *out, tfm_status *st) {
  static const char k1[] = "model_checkpoint_path: ", k2[] = "all_model_checkpoint_paths: ",
                    k3[] = "all_model_checkpoint_timestamps: ", k4[] = "last_preserved_timestamp: ";
  if (cs->model_checkpoint_path && cs->model_checkpoint_path[0]) {
    bytebuf_append(out, k1, sizeof k1 - 1);
    put_escaped(out, cs->model_checkpoint_path);
    bytebuf_append(out, "\n", 1);
  }
  for (size_t i = 0; i < cs->num_paths; i++) {
    bytebuf_append(out, k2, sizeof k2 - 1);
    put_escaped(out, cs->paths[i]);
    bytebuf_append(out, "\n", 1);
  }
  for (size_t i = 0; i < cs->num_timestamps; i++) {
    bytebuf_append(out, k3, sizeof k3 - 1);
    put_double(out, cs->timestamps[i]);
    bytebuf_append(out, "\n", 1);
  }
  if (cs->last_preserved_timestamp != 0.0) {
    bytebuf_append(out, k4, sizeof k4 - 1);
    put_double(out, cs->last_preserved_timestamp);
    bytebuf_append(out, "\n", 1);
  }
  if (out->failed) return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory formatting a checkpoint state");
  return TFM_OK;
}

static char *join_path(const char *dir) {
  size_t n = strlen(dir);
  char *p = mem_alloc(n + sizeof CHECKPOINT_STATE_FILE + 1);
  if (p) {
    memcpy(p, dir, n);
    p[n] = '/';
    memcpy(p + n + 1, CHECKPOINT_STATE_FILE, sizeof CHECKPOINT_STATE_FILE);
  }
  return p;
}

tfm_code checkpoint_state_read(const char *dir, checkpoint_state_t *cs, tfm_status *st) {
  *cs = (checkpoint_state_t)CHECKPOINT_STATE_INIT;
  char *path = join_path(dir);
  if (!path) return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
  uint8_t *text;
  size_t len;
  tfm_code code = file_read_all(path, CHECKPOINT_STATE_MAX, &text, &len, st);
  if (code == TFM_OK) {
    code = checkpoint_state_parse((const char *)text, len, path, cs, st);
    mem_free(text);
  }
  mem_free(path);
  return code;
}

tfm_code checkpoint_state_write(const char *dir, const checkpoint_state_t *cs, tfm_status *st) {
  char *path = join_path(dir);
  if (!path) return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory");
  bytebuf_t text = BYTEBUF_INIT;
  tfm_code code = checkpoint_state_format(cs, &text, st);
  if (code == TFM_OK) code = file_write_atomic(path, text.data ? (const void *)text.data : "", text.len, st);
  bytebuf_free(&text);
  mem_free(path);
  return code;
}

tfm_code checkpoint_state_push(checkpoint_state_t *cs, const char *path, double timestamp,
                               tfm_status *st) {
  bool with_time = cs->num_timestamps == cs->num_paths;
  char *model = mem_strdup(path), *entry = mem_strdup(path);
  char **paths = mem_realloc(cs->paths, (cs->num_paths + 1) * sizeof *paths);
  if (paths) cs->paths = paths;
  double *times = with_time ? mem_realloc(cs->timestamps, (cs->num_timestamps + 1) * sizeof *times)
                            : cs->timestamps;
  if (times) cs->timestamps = times;
  if (!model || !entry || !paths || (with_time && !times)) {
    mem_free(model);
    mem_free(entry);
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory recording checkpoint '%s'", path);
  }
  for (size_t i = 0; i < cs->num_paths; i++) {
    if (strcmp(cs->paths[i], path) != 0) continue;
    mem_free(cs->paths[i]);
    memmove(&cs->paths[i], &cs->paths[i + 1], (cs->num_paths - i - 1) * sizeof *cs->paths);
    if (with_time)
      memmove(&cs->timestamps[i], &cs->timestamps[i + 1],
              (cs->num_timestamps - i - 1) * sizeof *cs->timestamps);
    cs->num_paths--;
    if (with_time) cs->num_timestamps--;
    break;
  }
  cs->paths[cs->num_paths++] = entry;
  if (with_time) cs->timestamps[cs->num_timestamps++] = timestamp;
  mem_free(cs->model_checkpoint_path);
  cs->model_checkpoint_path = model;
  return TFM_OK;
}
