/* Run-time switches of the executor (TFM_PREPARE, TFM_FUSE, TFM_MEMPLAN): on
 * unless the environment variable is "0", read once; tests and benchmarks may set
 * them. A switch affects plans compiled afterwards. */
#ifndef TFM_CORE_SWITCH_H
#define TFM_CORE_SWITCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef _Atomic int switch_t; /* 0 not read yet, 1 on, 2 off */

static inline bool switch_on(switch_t *s, const char *env_name) {
  int v = atomic_load(s);
  if (v == 0) {
    const char *e = getenv(env_name);
    v = e && strcmp(e, "0") == 0 ? 2 : 1;
    atomic_store(s, v);
  }
  return v == 1;
}

static inline void switch_set(switch_t *s, bool on) { atomic_store(s, on ? 1 : 2); }

#endif
