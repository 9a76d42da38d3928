/* The library's allocator: malloc with a small header that records the size, so
 * that bytes in use can be reported, plus counting and failure injection. */
#include "core/mem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tfmini/debug.h"

/* 16 bytes keeps malloc's alignment for the payload of mem_alloc. */
#define SMALL_HEADER 16

static _Atomic uint64_t alloc_count;
static _Atomic int64_t bytes_in_use;
static _Atomic uint64_t fail_at;  /* allocation number that fails; 0 = never */
static _Atomic int fail_sticky;
/* Failed allocations of this thread (injected or real), see mem_thread_failures. */
static _Thread_local uint64_t thread_failures;

/* Called when an injected failure happens: a place for a debugger's breakpoint
 * (`break mem_injected_failure`) when a sweep reports a caller that mishandles it. */
__attribute__((noinline)) static int mem_injected_failure(void) {
  __asm__ volatile("");
  return 1;
}

uint64_t mem_thread_failures(void) { return thread_failures; }

static int should_fail(void) {
  uint64_t n = atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed) + 1;
  uint64_t at = atomic_load_explicit(&fail_at, memory_order_relaxed);
  if (at == 0) return 0;
  if (n == at) return mem_injected_failure();
  return n > at && atomic_load_explicit(&fail_sticky, memory_order_relaxed) && mem_injected_failure();
}

void *mem_alloc(size_t size) {
  unsigned char *p = NULL;
  if (!should_fail() && size <= SIZE_MAX - SMALL_HEADER) p = malloc(size + SMALL_HEADER);
  if (!p) {
    thread_failures++;
    return NULL;
  }
  memcpy(p, &size, sizeof size);
  atomic_fetch_add_explicit(&bytes_in_use, (int64_t)size, memory_order_relaxed);
  return p + SMALL_HEADER;
}

void *mem_calloc(size_t count, size_t size) {
  size_t total;
  if (mem_mul_overflows(count, size, &total)) {
    thread_failures++;
    return NULL;
  }
  void *p = mem_alloc(total);
  if (p) memset(p, 0, total);
  return p;
}

void *mem_realloc(void *ptr, size_t size) {
  if (!ptr) return mem_alloc(size);
  unsigned char *base = (unsigned char *)ptr - SMALL_HEADER;
  size_t old;
  memcpy(&old, base, sizeof old);
  unsigned char *p = NULL;
  if (!should_fail() && size <= SIZE_MAX - SMALL_HEADER) p = realloc(base, size + SMALL_HEADER);
  if (!p) {
    thread_failures++;
    return NULL;
  }
  memcpy(p, &size, sizeof size);
  atomic_fetch_add_explicit(&bytes_in_use, (int64_t)size - (int64_t)old, memory_order_relaxed);
  return p + SMALL_HEADER;
}

void mem_free(void *ptr) {
  if (!ptr) return;
  unsigned char *base = (unsigned char *)ptr - SMALL_HEADER;
  size_t size;
  memcpy(&size, base, sizeof size);
  atomic_fetch_sub_explicit(&bytes_in_use, (int64_t)size, memory_order_relaxed);
  free(base);
}

/* Big buffers (tensors of millions of elements are read in streams) ask for
 * transparent huge pages: fewer TLB misses and page faults. Only whole 2 MiB
 * pages inside the buffer are advised; advice is a hint and its failure harmless. */
#define HUGE_PAGE ((uintptr_t)2 << 20)
static void advise_huge_pages(void *p, size_t size) {
  if (size < 4 * HUGE_PAGE) return;
  uintptr_t start = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
  uintptr_t end = ((uintptr_t)p + size) & ~(HUGE_PAGE - 1);
  if (end > start) (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
}

void *mem_alloc_aligned(size_t size) {
  void *base = NULL;
  /* The header takes a whole alignment unit so the payload stays aligned. */
  if (should_fail() || size > SIZE_MAX - MEM_ALIGN ||
      posix_memalign(&base, MEM_ALIGN, size + MEM_ALIGN) != 0) {
    thread_failures++;
    return NULL;
  }
  memcpy(base, &size, sizeof size);
  atomic_fetch_add_explicit(&bytes_in_use, (int64_t)size, memory_order_relaxed);
  advise_huge_pages((unsigned char *)base + MEM_ALIGN, size);
  return (unsigned char *)base + MEM_ALIGN;
}

void mem_free_aligned(void *ptr) {
  if (!ptr) return;
  unsigned char *base = (unsigned char *)ptr - MEM_ALIGN;
  size_t size;
  memcpy(&size, base, sizeof size);
  atomic_fetch_sub_explicit(&bytes_in_use, (int64_t)size, memory_order_relaxed);
  free(base);
}

char *mem_strndup(const char *s, size_t n) {
  size_t len = strnlen(s, n);
  char *p = mem_alloc(len + 1);
  if (!p) return NULL;
  memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

char *mem_strdup(const char *s) { return mem_strndup(s, SIZE_MAX - 1); }

TFM_API uint64_t tfm_debug_alloc_count(void) {
  return atomic_load_explicit(&alloc_count, memory_order_relaxed);
}

TFM_API void tfm_debug_fail_alloc_after(uint64_t nth, int sticky) {
  atomic_store(&fail_sticky, sticky != 0);
  atomic_store(&fail_at, nth ? atomic_load(&alloc_count) + nth : 0);
}

TFM_API int64_t tfm_debug_bytes_in_use(void) {
  return atomic_load_explicit(&bytes_in_use, memory_order_relaxed);
}
