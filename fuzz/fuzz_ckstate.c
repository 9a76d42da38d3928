/* Fuzz target: the `checkpoint` file parser (CheckpointState in text format),
 * and a round trip of what it accepts through the writer's formatter. */
#include "fuzz_target.h"
#include "io/checkpoint_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FUZZ_BEGIN();
  tfm_status st = {0};
  checkpoint_state_t cs = CHECKPOINT_STATE_INIT;
  if (checkpoint_state_parse((const char *)data, size, "fuzz/checkpoint", &cs, &st) == TFM_OK) {
    /* What we accept we must be able to write back and read again identically. */
    bytebuf_t out = BYTEBUF_INIT;
    if (checkpoint_state_format(&cs, &out, &st) == TFM_OK) {
      checkpoint_state_t again = CHECKPOINT_STATE_INIT;
      if (checkpoint_state_parse((const char *)out.data, out.len, "formatted", &again, &st) != TFM_OK)
        abort();
      /* proto3: an empty model_checkpoint_path is the same as none (not printed). */
      const char *m1 = cs.model_checkpoint_path ? cs.model_checkpoint_path : "";
      const char *m2 = again.model_checkpoint_path ? again.model_checkpoint_path : "";
      if (again.num_paths != cs.num_paths || strcmp(m1, m2) != 0) abort();
      for (size_t i = 0; i < cs.num_paths; i++)
        if (strcmp(again.paths[i], cs.paths[i]) != 0) abort();
      checkpoint_state_free(&again);
    }
    bytebuf_free(&out);
  }
  checkpoint_state_free(&cs);
  FUZZ_END();
  return 0;
}
