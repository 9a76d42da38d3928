/* The `checkpoint` bookkeeping file beside a Saver's checkpoints: a CheckpointState
 * message in protobuf text format (formats.md 2), e.g.
 *   model_checkpoint_path: "model.ckpt-1000"
 *   all_model_checkpoint_paths: "model.ckpt-500"
 *   all_model_checkpoint_paths: "model.ckpt-1000"
 * The parser accepts any field order, interleaved repeats, comments, either quote
 * style, C escapes and concatenated strings; the writer emits what Python's
 * text_format does and replaces the file atomically. */
#ifndef TFM_IO_CHECKPOINT_STATE_H
#define TFM_IO_CHECKPOINT_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"
#include "io/bytebuf.h"

#define CHECKPOINT_STATE_FILE "checkpoint"

typedef struct checkpoint_state {
  char *model_checkpoint_path; /* NULL when absent */
  char **paths;                /* all_model_checkpoint_paths, oldest first */
  size_t num_paths;
  double *timestamps;          /* all_model_checkpoint_timestamps (unix seconds) */
  size_t num_timestamps;
  double last_preserved_timestamp; /* 0 when absent */
} checkpoint_state_t;
/* Everything owned by the struct is mem_alloc'ed; free with checkpoint_state_free. */

#define CHECKPOINT_STATE_INIT {NULL, NULL, 0, NULL, 0, 0.0}

void checkpoint_state_free(checkpoint_state_t *cs); /* leaves an empty state */

/* Parses text (len bytes); `name` appears in messages. INVALID_ARGUMENT with the
 * line number on a syntax error, an unknown field or a repeated singular field. */
tfm_code checkpoint_state_parse(const char *text, size_t len, const char *name,
                                checkpoint_state_t *cs, tfm_status *st);
/* Appends the text form to out. */
tfm_code checkpoint_state_format(const checkpoint_state_t *cs, bytebuf_t *out, tfm_status *st);

/* Reads <dir>/checkpoint. NOT_FOUND when there is none. */
tfm_code checkpoint_state_read(const char *dir, checkpoint_state_t *cs, tfm_status *st);
/* Writes <dir>/checkpoint atomically (temporary file, fsync, rename). */
tfm_code checkpoint_state_write(const char *dir, const checkpoint_state_t *cs, tfm_status *st);

/* Records a new checkpoint as the Saver does: `path` becomes
 * model_checkpoint_path and the newest of `paths` (an older equal entry is
 * removed); `timestamp` is appended to timestamps when they are kept in step with
 * paths. RESOURCE_EXHAUSTED on allocation failure (state unchanged). */
tfm_code checkpoint_state_push(checkpoint_state_t *cs, const char *path, double timestamp,
                               tfm_status *st);

#endif
