/* Fallback kernel-context helpers, so ops link and can be unit-tested before the
 * runtime provides its own. They are weak: the executor's definitions (which
 * reuse buffers across runs) replace them at link time. */
#include <stdarg.h>
#include <stdio.h>

#include "ops/registry.h"

__attribute__((weak)) tensor_t *kctx_alloc_output(kctx_t *c, int i, tfm_dtype dtype,
                                                  const shape_t *shape) {
  if (i < 0 || i >= c->n_out) {
    kctx_error(c, TFM_INTERNAL, "output %d out of range", i);
    return NULL;
  }
  tensor_t *t = tensor_new(dtype, shape, c->st);
  if (!t) return NULL;
  tensor_unref(c->out[i]);
  c->out[i] = t;
  return t;
}

__attribute__((weak)) void kctx_set_output(kctx_t *c, int i, tensor_t *t) {
  if (i < 0 || i >= c->n_out) return;
  tensor_ref(t);
  tensor_unref(c->out[i]);
  c->out[i] = t;
}

__attribute__((weak)) tfm_code kctx_error(kctx_t *c, tfm_code code, const char *fmt, ...) {
  char msg[STATUS_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return status_set(c->st, code, "%s '%s': %s", c->node->type, c->node->name, msg);
}
