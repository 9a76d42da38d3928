/* CPU feature detection for the run-time choice of kernel variants. */
#include "core/cpu.h"

#include <stdlib.h>
#include <string.h>

static int cached_level = -1;

cpu_level_t cpu_detected_level(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return CPU_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CPU_AVX2;
#endif
  return CPU_BASELINE;
}

static cpu_level_t level_from_env(cpu_level_t detected) {
  const char *env = getenv("TFM_SIMD");
  if (!env) return detected;
  cpu_level_t cap = detected;
  if (strcmp(env, "baseline") == 0) cap = CPU_BASELINE;
  else if (strcmp(env, "avx2") == 0) cap = CPU_AVX2;
  else if (strcmp(env, "avx512") == 0) cap = CPU_AVX512;
  return cap < detected ? cap : detected;
}

cpu_level_t cpu_level(void) {
  int level = __atomic_load_n(&cached_level, __ATOMIC_ACQUIRE);
  if (level < 0) {
    level = (int)level_from_env(cpu_detected_level());
    __atomic_store_n(&cached_level, level, __ATOMIC_RELEASE);
  }
  return (cpu_level_t)level;
}

cpu_level_t cpu_set_level_cap(cpu_level_t cap) {
  cpu_level_t detected = cpu_detected_level();
  cpu_level_t level = cap < detected ? cap : detected;
  __atomic_store_n(&cached_level, (int)level, __ATOMIC_RELEASE);
  return level;
}

const char *cpu_level_name(cpu_level_t level) {
  switch (level) {
    case CPU_AVX512: return "avx512";
    case CPU_AVX2: return "avx2";
    default: return "baseline";
  }
}
