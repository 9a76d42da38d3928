/* The Saver's internal side, shared with meta graphs (export writes the SaverDef,
 * import_meta_graph rebuilds a Saver from one). Owned by lib/io/saver.c. */
#ifndef TFM_IO_SAVER_H
#define TFM_IO_SAVER_H

#include "core/status.h"
#include "tfmini/io.h"

/* TensorFlow's SaverDef (saver.proto), as plain fields. The strings are borrowed:
 * from the saver (valid while it lives) for saver_get_def, from the caller for the
 * duration of saver_from_def. */
typedef struct saver_def {
  const char *filename_tensor_name; /* "save/Const:0" */
  const char *save_tensor_name;     /* "save/control_dependency:0" */
  const char *restore_op_name;      /* "save/restore_all" */
  int32_t max_to_keep;
  float keep_checkpoint_every_n_hours;
  int sharded;
  int version; /* 2 = V2 */
} saver_def_t;

/* The SaverDef of `saver` (its ops in the graph, its keep policy). */
void saver_get_def(const tfm_saver *saver, saver_def_t *def);
/* A Saver over the ops named by `def` in g (as import_meta_graph does; names already
 * carry any import scope). NOT_FOUND naming the op when one is missing. */
tfm_saver *saver_from_def(tfm_graph *g, const saver_def_t *def, tfm_status *st);

/* Tests: replaces the saver's clock (seconds since the epoch) used for checkpoint
 * timestamps, keep_checkpoint_every_n_hours and the checkpoint timer. */
void saver_set_clock(tfm_saver *saver, double (*now)(void *arg), void *arg);

#endif
