/* GraphDef, MetaGraphDef and SavedModel: placeholder until they land. */
#include "core/status.h"
#include "tfmini/io.h"

#define GRAPHDEF_TODO(st) status_set((st), TFM_UNIMPLEMENTED, "%s: not implemented yet", __func__)

TFM_API tfm_code tfm_export_meta_graph(tfm_graph *g, tfm_saver *saver, const char *path, tfm_status *status) {
  (void)g, (void)saver, (void)path;
  return GRAPHDEF_TODO(status);
}
TFM_API tfm_saver *tfm_import_meta_graph(tfm_graph *g, const char *path, const char *import_scope,
                                         tfm_status *status) {
  (void)g, (void)path, (void)import_scope;
  GRAPHDEF_TODO(status);
  return NULL;
}
TFM_API tfm_saved_model *tfm_saved_model_load(tfm_session *session, const char *export_dir,
                                              const char *const *tags, int n_tags, tfm_status *status) {
  (void)session, (void)export_dir, (void)tags, (void)n_tags;
  GRAPHDEF_TODO(status);
  return NULL;
}
TFM_API tfm_output *tfm_saved_model_signature_tensor(tfm_saved_model *model, const char *signature,
                                                     const char *key, int is_output, tfm_status *status) {
  (void)model, (void)signature, (void)key, (void)is_output;
  GRAPHDEF_TODO(status);
  return NULL;
}
TFM_API void tfm_saved_model_delete(tfm_saved_model *model) { (void)model; }
