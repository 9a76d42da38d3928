/* The math op family: filled by the ops helper. */
#include "ops/registry.h"

const op_def_t ops_math[] = {{0}};
