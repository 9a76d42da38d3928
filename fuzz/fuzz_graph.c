/* Fuzz target: tf.import_graph_def of hostile graphs (binary, or text when the
 * first byte is odd) followed by what a user does next: create a session and run
 * it. Cycles, missing inputs, wrong attr kinds, huge or negative dims, element
 * counts that overflow must all end as a status, never a crash or a leak. Only
 * ops whose inferred output shapes are fully known and small are fetched (a graph
 * that asks for a 1 TB tensor may legitimately try to allocate it). */
#include "fuzz_target.h"
#include "tfmini/tfmini.h"

#define MAX_FETCH_ELEMENTS (1 << 20)

static int small_known_outputs(tfm_op *op) {
  for (int k = 0; k < tfm_op_num_outputs(op); k++) {
    tfm_output *o = tfm_op_output(op, k);
    int rank = tfm_output_rank(o);
    if (rank < 0) return 0;
    int64_t n = 1;
    for (int d = 0; d < rank; d++) {
      int64_t dim = tfm_output_dim(o, d);
      if (dim < 0 || (dim > 0 && n > MAX_FETCH_ELEMENTS / dim)) return 0;
      n *= dim;
    }
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  FUZZ_BEGIN();
  tfm_status *st = tfm_status_new();
  tfm_graph *g = tfm_graph_new(st);
  if (g && tfm_import_graph_def(g, data + 1, size - 1, data[0] & 1, "imported", st) == TFM_OK) {
    tfm_session *s = tfm_session_new(g, st);
    int n = tfm_graph_num_ops(g);
    /* Initialise what can be, then fetch each op's outputs on its own (at most 64 runs). */
    tfm_op *init = s ? tfm_global_variables_initializer(g, st) : NULL;
    if (init) (void)tfm_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &init, 1, st);
    for (int i = 0; s && i < n && i < 64; i++) {
      tfm_op *op = tfm_graph_op_at(g, i);
      if (!small_known_outputs(op)) continue;
      int nout = tfm_op_num_outputs(op);
      if (nout == 0) {
        (void)tfm_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &op, 1, st);
        continue;
      }
      tfm_output *fetch = tfm_op_output(op, 0);
      tfm_tensor *value = NULL;
      if (tfm_session_run(s, NULL, NULL, 0, &fetch, &value, 1, NULL, 0, st) == TFM_OK)
        tfm_tensor_release(value);
    }
    tfm_session_delete(s);
  }
  tfm_graph_delete(g);
  tfm_status_delete(st);
  FUZZ_END();
  return 0;
}
