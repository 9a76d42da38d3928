/* Fuzz target: the protobuf text format. The first byte picks the message type
 * (GraphDef, MetaGraphDef, SavedModel, NodeDef, TensorProto); the rest is parsed
 * as text, and what parses is printed back and parsed again to the same bytes.
 * The binary printer also gets the raw bytes (hostile wire data). */
#include "fuzz_target.h"
#include "io/pbtext.h"

static const char *const types[] = {"tensorflow.GraphDef", "tensorflow.MetaGraphDef",
                                    "tensorflow.SavedModel", "tensorflow.NodeDef",
                                    "tensorflow.TensorProto"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  FUZZ_BEGIN();
  const char *type = types[data[0] % (sizeof types / sizeof *types)];
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  tfm_status st = {0};
  bytebuf_t bin = BYTEBUF_INIT, txt = BYTEBUF_INIT, bin2 = BYTEBUF_INIT;
  if (pbtext_to_binary(type, text, len, &bin, "fuzz.pbtxt", &st) == TFM_OK &&
      pbtext_from_binary(type, bin.data, bin.len, &txt, "parsed", &st) == TFM_OK) {
    if (pbtext_to_binary(type, (const char *)txt.data, txt.len, &bin2, "printed", &st) != TFM_OK) {
      fprintf(stderr, "printed text does not parse: %s\n", st.msg);
      abort();
    }
    if (bin2.len != bin.len || (bin.len && memcmp(bin.data, bin2.data, bin.len) != 0)) {
      fprintf(stderr, "text round trip changed the message\n");
      abort();
    }
  }
  txt.len = 0;
  (void)pbtext_from_binary(type, text, len, &txt, "fuzz.pb", &st);
  bytebuf_free(&bin);
  bytebuf_free(&bin2);
  bytebuf_free(&txt);
  FUZZ_END();
  return 0;
}
