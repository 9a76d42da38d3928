/* Fuzz target: the raw snappy decoder (lengths, literals, back references). */
#include "fuzz_target.h"
#include "core/mem.h"
#include "io/snappy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FUZZ_BEGIN();
  tfm_status st = {0};
  size_t n;
  if (snappy_decoded_length(data, size, &n, "fuzz", &st) == TFM_OK) {
    uint8_t *out = mem_alloc(n ? n : 1);
    if (out) {
      (void)snappy_decode(data, size, out, n, "fuzz", &st);
      mem_free(out);
    }
  }
  FUZZ_END();
  return 0;
}
