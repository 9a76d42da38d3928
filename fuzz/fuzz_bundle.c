/* Fuzz target: a V2 checkpoint (tensor bundle) read end to end: the .index
 * (header, entries) and the data file (sizes, offsets, CRCs, string tensors).
 * Input: u32 little-endian length L, then L bytes of .index, then the data file. */
#include "fuzz_target.h"
#include "io/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 4) return 0;
  uint32_t ilen = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                  (uint32_t)data[3] << 24;
  if (ilen > size - 4) ilen = (uint32_t)(size - 4);
  char prefix[300], path[400];
  snprintf(prefix, sizeof prefix, "%s/b", fuzz_scratch_dir());
  snprintf(path, sizeof path, "%s.index", prefix);
  if (fuzz_write_file(path, data + 4, ilen) != 0) return 0;
  snprintf(path, sizeof path, "%s.data-00000-of-00001", prefix);
  if (fuzz_write_file(path, data + 4 + ilen, size - 4 - ilen) != 0) return 0;

  FUZZ_BEGIN();
  tfm_status st = {0};
  bundle_reader_t *r = bundle_reader_open(prefix, &st);
  if (r) {
    size_t n = bundle_reader_num_tensors(r);
    for (size_t i = 0; i < n; i++) {
      tensor_t *t = bundle_reader_read(r, bundle_reader_key(r, i), &st);
      if (t) tensor_unref(t);
    }
    bundle_reader_close(r);
  }
  FUZZ_END();
  return 0;
}
