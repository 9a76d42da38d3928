/* libtfmini: saving, restoring and moving models — TensorFlow 1.x's own files.
 *
 *  - Checkpoints: V2 tensor bundles, PREFIX.index + PREFIX.data-00000-of-00001,
 *    and the `checkpoint` bookkeeping file (CheckpointState, text format).
 *  - Meta graphs: PREFIX.meta (MetaGraphDef: graph, SaverDef, collections).
 *  - Graphs: GraphDef as binary .pb or text .pbtxt.
 *  - SavedModel directories (saved_model.pb + variables/).
 * Writes are atomic: files are written under temporary names, synced, then renamed,
 * so a failed or interrupted save leaves the previous files intact.
 */
#ifndef TFMINI_IO_H
#define TFMINI_IO_H

#include "graph.h"
#include "session.h"

TFM_BEGIN_DECLS

/* ---- byte buffers returned by the library ---- */
typedef struct tfm_buffer tfm_buffer;
/* A buffer's bytes (followed by a NUL not counted in the size, so text can be read
 * as a C string) and size; owned by the buffer. tfm_buffer_delete frees it (NULL
 * allowed). These never fail. */
TFM_API const void *tfm_buffer_data(const tfm_buffer *buffer);
TFM_API size_t tfm_buffer_size(const tfm_buffer *buffer);
TFM_API void tfm_buffer_delete(tfm_buffer *buffer);

/* ---- Saver ---- */
typedef struct tfm_saver tfm_saver;

/* tf.train.Saver(var_list, max_to_keep, keep_checkpoint_every_n_hours).
 * vars NULL / n 0: every global variable, saved under its op name. `keys` (may be
 * NULL) gives the checkpoint name of each variable (the name -> variable map form).
 * max_to_keep: -1 = 5 (TF's default), 0 = keep all. keep_every_n_hours <= 0: 10000.
 * The saver's ops (save/Const, save/SaveV2, save/RestoreV2, save/restore_all, ...)
 * are added to the graph under "save" ("save_1", ...), as TensorFlow does.
 * Caller owns the saver. Errors: INVALID_ARGUMENT (duplicate keys, NULL variable). */
TFM_API tfm_saver *tfm_saver_new(tfm_graph *g, tfm_variable *const *vars, const char *const *keys, int n,
                                 int max_to_keep, double keep_checkpoint_every_n_hours, tfm_status *status);
TFM_API void tfm_saver_delete(tfm_saver *saver);

/* saver.save(sess, prefix, global_step): writes PREFIX[-STEP].index/.data-00000-of-00001
 * (and .meta when write_meta_graph) and updates `checkpoint` in the prefix's
 * directory, deleting checkpoints beyond max_to_keep (except those kept by
 * keep_checkpoint_every_n_hours). global_step < 0: no suffix. The path written
 * (PREFIX-STEP) is copied into path_out (cap bytes) when not NULL.
 * Errors: FAILED_PRECONDITION (uninitialised variable), and I/O errors naming the file. */
TFM_API tfm_code tfm_saver_save(tfm_saver *saver, tfm_session *session, const char *prefix, int64_t global_step,
                                int write_meta_graph, char *path_out, size_t cap, tfm_status *status);
/* saver.restore(sess, prefix): restores exactly the saver's variables.
 * Errors: NOT_FOUND (file, or a variable missing from the checkpoint, named),
 * INVALID_ARGUMENT (shape or dtype differs, with both), DATA_LOSS (corrupt file). */
TFM_API tfm_code tfm_saver_restore(tfm_saver *saver, tfm_session *session, const char *prefix,
                                   tfm_status *status);
/* tf.train.latest_checkpoint(dir): the newest checkpoint prefix named by dir/checkpoint,
 * copied into buf. Errors: NOT_FOUND when there is none. */
TFM_API tfm_code tfm_latest_checkpoint(const char *dir, char *buf, size_t cap, tfm_status *status);

typedef struct tfm_checkpoint_timer tfm_checkpoint_timer;
/* A helper for training loops: saves with `saver` to `prefix` every `every_seconds`
 * (<= 0: never by time) and/or every `every_steps` global steps (<= 0: never by step).
 * Caller owns it (the saver must outlive it). Errors: INVALID_ARGUMENT (NULL saver or
 * prefix), RESOURCE_EXHAUSTED. */
TFM_API tfm_checkpoint_timer *tfm_checkpoint_timer_new(tfm_saver *saver, const char *prefix, double every_seconds,
                                                       int64_t every_steps, tfm_status *status);
/* Call once per step: saves when due; *saved (may be NULL) tells whether it did.
 * Errors: those of tfm_saver_save. */
TFM_API tfm_code tfm_checkpoint_timer_step(tfm_checkpoint_timer *timer, tfm_session *session, int64_t global_step,
                                           int *saved, tfm_status *status);
TFM_API void tfm_checkpoint_timer_delete(tfm_checkpoint_timer *timer);

/* ---- meta graphs ---- */
/* tf.train.export_meta_graph(filename): graph_def (with _output_shapes), saver_def
 * (of `saver`, may be NULL), collection_def, meta_info_def. Written atomically.
 * Errors: INVALID_ARGUMENT (a graph that cannot be encoded, naming the op), I/O
 * errors naming the file (NOT_FOUND for a missing directory, INTERNAL otherwise). */
TFM_API tfm_code tfm_export_meta_graph(tfm_graph *g, tfm_saver *saver, const char *path, tfm_status *status);
/* tf.train.import_meta_graph(path, import_scope): imports into `g` (NULL = default),
 * under import_scope (may be NULL), restores collections, and returns a Saver built
 * from the SaverDef (caller owns it; NULL with status OK when there is none).
 * Errors: NOT_FOUND, DATA_LOSS, UNIMPLEMENTED (an op type we do not have, named). */
TFM_API tfm_saver *tfm_import_meta_graph(tfm_graph *g, const char *path, const char *import_scope,
                                         tfm_status *status);

/* ---- graphs ---- */
/* graph.as_graph_def(): the serialized GraphDef (binary, or text format), owned by
 * the caller. Errors: INVALID_ARGUMENT (an op that cannot be encoded), RESOURCE_EXHAUSTED. */
TFM_API tfm_buffer *tfm_graph_to_graph_def(tfm_graph *g, int as_text, tfm_status *status);
/* tf.train.write_graph(graph, dir, name, as_text): dir/name, written atomically.
 * Errors: as tfm_graph_to_graph_def, and I/O errors naming the file. */
TFM_API tfm_code tfm_write_graph(tfm_graph *g, const char *dir, const char *name, int as_text, tfm_status *status);
/* tf.import_graph_def from a file (.pb binary or .pbtxt text, told apart by content),
 * ops named "<prefix>/<name>" (prefix may be NULL or ""). Nothing is added on error.
 * Errors: NOT_FOUND (file), DATA_LOSS / INVALID_ARGUMENT (bytes or text that are not
 * a GraphDef; a node with a missing input, a cycle, a bad attr, named), UNIMPLEMENTED
 * (an op type we do not have, naming node and type), ALREADY_EXISTS (a name taken). */
TFM_API tfm_code tfm_import_graph_def_file(tfm_graph *g, const char *path, const char *prefix, tfm_status *status);
/* The same from bytes in memory (binary when !as_text). Errors: as above. */
TFM_API tfm_code tfm_import_graph_def(tfm_graph *g, const void *data, size_t len, int as_text, const char *prefix,
                                      tfm_status *status);

/* ---- SavedModel (TF 1.x) ---- */
typedef struct tfm_saved_model tfm_saved_model;
/* tf.saved_model.loader.load(sess, tags, export_dir): imports the MetaGraphDef whose
 * tags equal `tags` into the session's graph and restores its variables.
 * Caller owns the handle (it refers to the graph and session: delete it first).
 * Errors: NOT_FOUND (directory, saved_model.pb, or no MetaGraphDef with these tags),
 * DATA_LOSS, UNIMPLEMENTED (an op type we do not have), errors of restoring. */
TFM_API tfm_saved_model *tfm_saved_model_load(tfm_session *session, const char *export_dir,
                                              const char *const *tags, int n_tags, tfm_status *status);
/* The tensor bound to `key` in the inputs (is_output 0) or outputs of signature
 * `signature` (e.g. "serving_default", "regress_x_to_y"). Errors: NOT_FOUND. */
TFM_API tfm_output *tfm_saved_model_signature_tensor(tfm_saved_model *model, const char *signature,
                                                     const char *key, int is_output, tfm_status *status);
TFM_API void tfm_saved_model_delete(tfm_saved_model *model);

TFM_END_DECLS

#endif
