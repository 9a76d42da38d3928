/* tf.train.Saver: placeholder until the saver lands (every call is UNIMPLEMENTED). */
#include "io/saver.h"

#include <stddef.h>

#define SAVER_TODO(st) status_set((st), TFM_UNIMPLEMENTED, "%s: the Saver is not implemented yet", __func__)

TFM_API tfm_saver *tfm_saver_new(tfm_graph *g, tfm_variable *const *vars, const char *const *keys, int n,
                                 int max_to_keep, double keep_every_n_hours, tfm_status *status) {
  (void)g, (void)vars, (void)keys, (void)n, (void)max_to_keep, (void)keep_every_n_hours;
  SAVER_TODO(status);
  return NULL;
}
TFM_API void tfm_saver_delete(tfm_saver *saver) { (void)saver; }
TFM_API tfm_code tfm_saver_save(tfm_saver *saver, tfm_session *session, const char *prefix, int64_t global_step,
                                int write_meta_graph, char *path_out, size_t cap, tfm_status *status) {
  (void)saver, (void)session, (void)prefix, (void)global_step, (void)write_meta_graph, (void)path_out, (void)cap;
  return SAVER_TODO(status);
}
TFM_API tfm_code tfm_saver_restore(tfm_saver *saver, tfm_session *session, const char *prefix,
                                   tfm_status *status) {
  (void)saver, (void)session, (void)prefix;
  return SAVER_TODO(status);
}
TFM_API tfm_code tfm_latest_checkpoint(const char *dir, char *buf, size_t cap, tfm_status *status) {
  (void)dir, (void)buf, (void)cap;
  return SAVER_TODO(status);
}
TFM_API tfm_checkpoint_timer *tfm_checkpoint_timer_new(tfm_saver *saver, const char *prefix, double every_seconds,
                                                       int64_t every_steps, tfm_status *status) {
  (void)saver, (void)prefix, (void)every_seconds, (void)every_steps;
  SAVER_TODO(status);
  return NULL;
}
TFM_API tfm_code tfm_checkpoint_timer_step(tfm_checkpoint_timer *timer, tfm_session *session, int64_t global_step,
                                           int *saved, tfm_status *status) {
  (void)timer, (void)session, (void)global_step, (void)saved;
  return SAVER_TODO(status);
}
TFM_API void tfm_checkpoint_timer_delete(tfm_checkpoint_timer *timer) { (void)timer; }

void saver_get_def(const tfm_saver *saver, saver_def_t *def) {
  (void)saver;
  *def = (saver_def_t){0};
}
tfm_saver *saver_from_def(tfm_graph *g, const saver_def_t *def, tfm_status *st) {
  (void)g, (void)def;
  SAVER_TODO(st);
  return NULL;
}
