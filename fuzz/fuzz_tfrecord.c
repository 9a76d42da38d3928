/* Fuzz target: TFRecord framing (lengths, masked CRCs, truncated tails) and the
 * Event protos of event files inside the records (summaries, tensors, graphs). */
#include "fuzz_target.h"
#include "io/pbio.h"
#include "io/tfrecord.h"

static void decode_event(const uint8_t *rec, size_t len) {
  tfm_status st = {0};
  tensorflow_Event ev;
  if (PBIO_DECODE(tensorflow_Event, &ev, rec, len, "fuzz event", &st) != TFM_OK) return;
  if (ev.which_what == tensorflow_Event_summary_tag) {
    for (pb_size_t i = 0; i < ev.what.summary.value_count; i++) {
      const tensorflow_Summary_Value *v = &ev.what.summary.value[i];
      if (v->which_value == tensorflow_Summary_Value_tensor_tag) {
        tensor_t *t = pbio_tensor_from_proto(&v->value.tensor, "fuzz summary", &st);
        if (t) tensor_unref(t);
      }
    }
  }
  pbio_release(tensorflow_Event_fields, &ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[300];
  snprintf(path, sizeof path, "%s/events", fuzz_scratch_dir());
  if (fuzz_write_file(path, data, size) != 0) return 0;
  FUZZ_BEGIN();
  tfm_status st = {0};
  tfrecord_reader_t *r = tfrecord_reader_open(path, &st);
  if (r) {
    const uint8_t *rec;
    size_t len;
    while (tfrecord_reader_next(r, &rec, &len, &st) == TFM_OK) decode_event(rec, len);
    tfrecord_reader_close(r);
  }
  FUZZ_END();
  return 0;
}
