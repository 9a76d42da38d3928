/* Every allocation the library makes goes through here, so that tests can count
 * allocations (a steady-state session run must do none) and inject failures (the
 * Nth allocation fails; every caller must then report RESOURCE_EXHAUSTED and leak
 * nothing). */
#ifndef TFM_CORE_MEM_H
#define TFM_CORE_MEM_H

#include <stddef.h>
#include <stdint.h>

/* Tensor buffers are aligned to this many bytes (one cache line, one AVX-512 vector). */
#define MEM_ALIGN 64

void *mem_alloc(size_t size);
void *mem_calloc(size_t count, size_t size); /* overflow-checked */
void *mem_realloc(void *ptr, size_t size);
void mem_free(void *ptr);
/* MEM_ALIGN-aligned block; free with mem_free_aligned. */
void *mem_alloc_aligned(size_t size);
void mem_free_aligned(void *ptr);
/* strdup / strndup through mem_alloc. */
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t n);

/* How many allocations of the calling thread have failed so far (injected or
 * real). A builder that chains calls can compare it before and after to report
 * RESOURCE_EXHAUSTED even when a later successful call reset the status. */
uint64_t mem_thread_failures(void);

/* a*b into *out, false on size_t overflow. */
static inline int mem_mul_overflows(size_t a, size_t b, size_t *out) {
  return __builtin_mul_overflow(a, b, out);
}

#endif
