/* Look-ups in the generated message schema (pbschema_data.c). */
#include "io/pbschema.h"

#include <string.h>

const pbs_message_t *pbs_find_message(const char *full_name, size_t len) {
  int lo = 0, hi = pbs_n_messages - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    const char *name = pbs_messages[mid].full_name;
    int c = strncmp(name, full_name, len);
    if (c == 0 && name[len] != '\0') c = 1;
    if (c == 0) return &pbs_messages[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return NULL;
}

const pbs_field_t *pbs_field_by_number(const pbs_message_t *m, uint32_t number) {
  int lo = 0, hi = m->n_fields - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    uint32_t n = m->fields[mid].number;
    if (n == number) return &m->fields[mid];
    if (n < number) lo = mid + 1;
    else hi = mid - 1;
  }
  return NULL;
}

const pbs_field_t *pbs_field_by_name(const pbs_message_t *m, const char *name, size_t len) {
  for (int i = 0; i < m->n_fields; i++)
    if (strncmp(m->fields[i].name, name, len) == 0 && m->fields[i].name[len] == '\0')
      return &m->fields[i];
  return NULL;
}

const pbs_message_t *pbs_field_message(const pbs_field_t *f) {
  if (f->type != PBS_MESSAGE || f->ref < 0 || f->ref >= pbs_n_messages) return NULL;
  return &pbs_messages[f->ref];
}

static const pbs_enum_t *field_enum(const pbs_field_t *f) {
  if (f->type != PBS_ENUM || f->ref < 0 || f->ref >= pbs_n_enums) return NULL;
  return &pbs_enums[f->ref];
}

const char *pbs_enum_name(const pbs_field_t *f, int32_t number) {
  const pbs_enum_t *e = field_enum(f);
  if (!e) return NULL;
  for (int i = 0; i < e->n_values; i++)
    if (e->values[i].number == number) return e->values[i].name;
  return NULL;
}

bool pbs_enum_number(const pbs_field_t *f, const char *name, size_t len, int32_t *number) {
  const pbs_enum_t *e = field_enum(f);
  if (!e) return false;
  for (int i = 0; i < e->n_values; i++)
    if (strncmp(e->values[i].name, name, len) == 0 && e->values[i].name[len] == '\0') {
      *number = e->values[i].number;
      return true;
    }
  return false;
}

int pbs_wire_type(uint8_t type) {
  switch (type) {
  case PBS_DOUBLE: case PBS_FIXED64: case PBS_SFIXED64: return PBS_WIRE_FIXED64;
  case PBS_FLOAT: case PBS_FIXED32: case PBS_SFIXED32: return PBS_WIRE_FIXED32;
  case PBS_STRING: case PBS_BYTES: case PBS_MESSAGE: case PBS_GROUP: return PBS_WIRE_LEN;
  default: return PBS_WIRE_VARINT;
  }
}
