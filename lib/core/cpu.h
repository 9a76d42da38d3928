/* Which SIMD level the running CPU supports. Kernels are compiled once per level
 * (the library itself targets baseline x86-64) and picked here at run time.
 * TFM_SIMD=baseline|avx2|avx512 in the environment caps the level (for tests and
 * benchmarks of each path); it can never raise it above what the CPU has. */
#ifndef TFM_CORE_CPU_H
#define TFM_CORE_CPU_H

typedef enum cpu_level {
  CPU_BASELINE = 0, /* SSE2: every x86-64 */
  CPU_AVX2 = 1,     /* AVX2 + FMA */
  CPU_AVX512 = 2    /* AVX-512 F/BW/DQ/VL */
} cpu_level_t;

/* The level in force (detected once, then cached). */
cpu_level_t cpu_level(void);
/* What the hardware supports, ignoring TFM_SIMD. */
cpu_level_t cpu_detected_level(void);
/* Caps the level for this process (tests); returns the level now in force. */
cpu_level_t cpu_set_level_cap(cpu_level_t cap);
const char *cpu_level_name(cpu_level_t level);

#endif
