/* Element types. */
#include "core/dtype.h"

#include <string.h>

bool dtype_is_valid(tfm_dtype dt) {
  switch (dt) {
    case TFM_FLOAT: case TFM_DOUBLE: case TFM_INT32: case TFM_UINT8:
    case TFM_STRING: case TFM_INT64: case TFM_BOOL:
      return true;
    default:
      return false;
  }
}

size_t dtype_size(tfm_dtype dt) {
  switch (dt) {
    case TFM_FLOAT: return 4;
    case TFM_DOUBLE: return 8;
    case TFM_INT32: return 4;
    case TFM_UINT8: return 1;
    case TFM_INT64: return 8;
    case TFM_BOOL: return 1;
    case TFM_STRING: return sizeof(tstring_t);
    default: return 0;
  }
}

const char *dtype_name(tfm_dtype dt) {
  switch (dt) {
    case TFM_FLOAT: return "float32";
    case TFM_DOUBLE: return "float64";
    case TFM_INT32: return "int32";
    case TFM_UINT8: return "uint8";
    case TFM_INT64: return "int64";
    case TFM_BOOL: return "bool";
    case TFM_STRING: return "string";
    default: return "invalid";
  }
}

const char *dtype_enum_name(tfm_dtype dt) {
  switch (dt) {
    case TFM_FLOAT: return "DT_FLOAT";
    case TFM_DOUBLE: return "DT_DOUBLE";
    case TFM_INT32: return "DT_INT32";
    case TFM_UINT8: return "DT_UINT8";
    case TFM_INT64: return "DT_INT64";
    case TFM_BOOL: return "DT_BOOL";
    case TFM_STRING: return "DT_STRING";
    default: return "DT_INVALID";
  }
}

tfm_dtype dtype_from_name(const char *name) {
  static const struct { const char *name; tfm_dtype dt; } table[] = {
      {"DT_FLOAT", TFM_FLOAT}, {"float32", TFM_FLOAT}, {"float", TFM_FLOAT},
      {"DT_DOUBLE", TFM_DOUBLE}, {"float64", TFM_DOUBLE}, {"double", TFM_DOUBLE},
      {"DT_INT32", TFM_INT32}, {"int32", TFM_INT32},
      {"DT_UINT8", TFM_UINT8}, {"uint8", TFM_UINT8},
      {"DT_INT64", TFM_INT64}, {"int64", TFM_INT64},
      {"DT_BOOL", TFM_BOOL}, {"bool", TFM_BOOL},
      {"DT_STRING", TFM_STRING}, {"string", TFM_STRING},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(name, table[i].name) == 0) return table[i].dt;
  return TFM_INVALID;
}

bool dtype_is_float(tfm_dtype dt) { return dt == TFM_FLOAT || dt == TFM_DOUBLE; }
bool dtype_is_integer(tfm_dtype dt) {
  return dt == TFM_INT32 || dt == TFM_INT64 || dt == TFM_UINT8;
}
bool dtype_is_numeric(tfm_dtype dt) { return dtype_is_float(dt) || dtype_is_integer(dt); }

TFM_API size_t tfm_dtype_size(tfm_dtype dtype) {
  return dtype == TFM_STRING ? 0 : dtype_size(dtype);
}
TFM_API const char *tfm_dtype_name(tfm_dtype dtype) { return dtype_name(dtype); }
