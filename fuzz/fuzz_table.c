/* Fuzz target: the SSTable reader of .index files (blocks, restarts, CRCs, snappy
 * blocks, the footer), then every entry and a lookup of each key. */
#include "fuzz_target.h"
#include "io/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FUZZ_BEGIN();
  tfm_status st = {0};
  table_t *t = table_open_bytes(data, size, "fuzz.index", &st);
  if (t) {
    size_t n = table_num_entries(t);
    for (size_t i = 0; i < n; i++) {
      const uint8_t *k, *v;
      size_t kl, vl;
      table_entry(t, i, &k, &kl, &v, &vl);
      if (table_find(t, k, kl) != (long)i) abort(); /* keys are unique and sorted */
    }
    table_close(t);
  }
  FUZZ_END();
  return 0;
}
