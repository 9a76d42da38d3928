/* The field schema of lib/io/proto's messages (names, numbers, types, labels), generated
 * at build time from the .proto files by proto/gen_pbschema.py into pbschema_data.c.
 * The text format (pbtext.c, pbtext_print.c) needs it: nanopb's descriptors carry no
 * field names. Owned by lib/io/pbschema.c. */
#ifndef TFM_IO_PBSCHEMA_H
#define TFM_IO_PBSCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Field types, numbered as in google.protobuf.FieldDescriptorProto.Type. */
typedef enum pbs_type {
  PBS_DOUBLE = 1, PBS_FLOAT = 2, PBS_INT64 = 3, PBS_UINT64 = 4, PBS_INT32 = 5,
  PBS_FIXED64 = 6, PBS_FIXED32 = 7, PBS_BOOL = 8, PBS_STRING = 9, PBS_GROUP = 10,
  PBS_MESSAGE = 11, PBS_BYTES = 12, PBS_UINT32 = 13, PBS_ENUM = 14, PBS_SFIXED32 = 15,
  PBS_SFIXED64 = 16, PBS_SINT32 = 17, PBS_SINT64 = 18
} pbs_type_t;

/* Wire types. */
enum { PBS_WIRE_VARINT = 0, PBS_WIRE_FIXED64 = 1, PBS_WIRE_LEN = 2, PBS_WIRE_FIXED32 = 5 };

typedef struct pbs_field {
  const char *name;
  uint32_t number;
  uint8_t type;      /* pbs_type_t */
  uint8_t repeated;
  uint8_t packed;    /* repeated scalar written packed (proto3's default) */
  int8_t oneof;      /* index of its oneof in the message; -1: none */
  int16_t ref;       /* index into pbs_messages (messages) or pbs_enums (enums); else -1 */
} pbs_field_t;

typedef struct pbs_message {
  const char *full_name;    /* "tensorflow.NodeDef" */
  const pbs_field_t *fields; /* sorted by number */
  int n_fields;
  bool map_entry;           /* the synthetic entry of a map<K, V> field: key = 1, value = 2 */
  bool proto3;              /* scalars outside oneofs have no presence: zero is not written */
} pbs_message_t;

typedef struct pbs_enum_value {
  const char *name;
  int32_t number;
} pbs_enum_value_t;

typedef struct pbs_enum {
  const char *full_name;
  const pbs_enum_value_t *values;
  int n_values;
} pbs_enum_t;

/* The generated tables (pbschema_data.c), sorted by full name. */
extern const pbs_message_t pbs_messages[];
extern const int pbs_n_messages;
extern const pbs_enum_t pbs_enums[];
extern const int pbs_n_enums;

/* NULL when unknown. */
const pbs_message_t *pbs_find_message(const char *full_name, size_t len);
const pbs_field_t *pbs_field_by_number(const pbs_message_t *m, uint32_t number);
const pbs_field_t *pbs_field_by_name(const pbs_message_t *m, const char *name, size_t len);
/* The message type of a message field (NULL for other fields). */
const pbs_message_t *pbs_field_message(const pbs_field_t *f);
/* The name of an enum value; NULL when the number has none (open enums keep it). */
const char *pbs_enum_name(const pbs_field_t *f, int32_t number);
bool pbs_enum_number(const pbs_field_t *f, const char *name, size_t len, int32_t *number);
/* The wire type of one (unpacked) value of a field of type t. */
int pbs_wire_type(uint8_t type);
/* Strings, bytes and messages: length-delimited and never packed. */
static inline bool pbs_is_len_type(uint8_t type) {
  return type == PBS_STRING || type == PBS_BYTES || type == PBS_MESSAGE || type == PBS_GROUP;
}

#endif
