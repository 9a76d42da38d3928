/* The op registry: the family tables, looked up by type name. */
#include "ops/registry.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const op_def_t *const families[] = {ops_array,    ops_layout,  ops_strided_slice, ops_math, ops_nn,
                                           ops_state,    ops_random,  ops_training,
                                           ops_control,  ops_io,      ops_gather,   ops_activations,
                                           ops_parsing,  ops_summary};
#define N_FAMILIES ((int)(sizeof families / sizeof *families))

const op_def_t *op_registry_find(const char *type) {
  if (!type) return NULL;
  for (int f = 0; f < N_FAMILIES; f++)
    for (const op_def_t *d = families[f]; d->name; d++)
      if (strcmp(d->name, type) == 0) return d;
  return NULL;
}

int op_registry_count(void) {
  int n = 0;
  for (int f = 0; f < N_FAMILIES; f++)
    for (const op_def_t *d = families[f]; d->name; d++) n++;
  return n;
}

const op_def_t *op_registry_at(int i) {
  if (i < 0) return NULL;
  for (int f = 0; f < N_FAMILIES; f++)
    for (const op_def_t *d = families[f]; d->name; d++)
      if (i-- == 0) return d;
  return NULL;
}

tfm_code node_error(const node_t *n, tfm_status *st, tfm_code code, const char *fmt, ...) {
  if (!st) return code;
  char msg[STATUS_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return status_set(st, code, "%s '%s': %s", n->type, n->name, msg);
}
