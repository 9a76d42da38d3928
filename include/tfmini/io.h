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

/* ---- Saver ----
 * A Saver names a set of variables and the keys they have in checkpoints. Saving
 * and restoring go straight between the session's variable values and the files
 * (streamed: no second copy of the model in memory); the save/ ops it adds to the
 * graph do the same when run, so the graph's SaverDef also works in TensorFlow.
 * Thread safety: one saver may be used from several threads (its saves and
 * restores are serialised); a save taken while other threads train sees each
 * variable as it is when written, as in TensorFlow. docs/checkpoints.md has more. */
typedef struct tfm_saver tfm_saver;

/* tf.train.Saver(var_list, max_to_keep, keep_checkpoint_every_n_hours).
 * vars NULL / n 0: every variable of the "variables" collection (TF's
 * global_variables(): weights, optimizer slots, global_step), each saved under its op
 * name. `keys` (may be NULL) gives the checkpoint name of each of the n variables
 * (the name -> variable map form: save v2 as "v2", or under another name).
 * max_to_keep: < 0 = 5 (TF's default), 0 = keep all. keep_checkpoint_every_n_hours
 * <= 0: 10000 (TF's default). The saver's ops are added to g (NULL: the default
 * graph) under the name scope "save" ("save_1", ... for later savers), as
 * TensorFlow names them: save/Const (the filename), save/SaveV2 and its
 * tensor_names/shape_and_slices, save/control_dependency, save/RestoreV2,
 * save/Assign..., save/restore_all. Keys are sorted, as TensorFlow sorts them.
 * The caller owns the saver (tfm_saver_delete; the graph must outlive it).
 * Errors: INVALID_ARGUMENT (no variables, a NULL or foreign variable, an empty
 * key, a key or a variable given twice), RESOURCE_EXHAUSTED. */
TFM_API tfm_saver *tfm_saver_new(tfm_graph *g, tfm_variable *const *vars, const char *const *keys, int n,
                                 int max_to_keep, double keep_checkpoint_every_n_hours, tfm_status *status);
/* Frees the saver (NULL allowed); its ops stay in the graph. Never fails. */
TFM_API void tfm_saver_delete(tfm_saver *saver);

/* saver.save(sess, prefix, global_step): writes PREFIX-STEP.index and
 * PREFIX-STEP.data-00000-of-00001 (PREFIX alone when global_step < 0), then
 * PREFIX-STEP.meta when write_meta_graph (tfm_export_meta_graph), then replaces
 * the `checkpoint` file of the prefix's directory (model_checkpoint_path and
 * all_model_checkpoint_paths relative to it, timestamps), and only then deletes the
 * checkpoints beyond max_to_keep, oldest first, except one per
 * keep_checkpoint_every_n_hours. The first save of a saver with a step adopts the
 * checkpoints of the same series ("PREFIX-*") that the directory's `checkpoint`
 * file lists, so a resumed run keeps counting max_to_keep across processes.
 * Atomic: files are written under temporary names, fsync'ed and renamed; a failed
 * or interrupted save leaves the previous checkpoints and `checkpoint` file as
 * they were (a failed .meta removes the new bundle). A save first removes the
 * temporaries that killed saves left in the directory, "<file>.tmpXXXXXX" of the
 * `checkpoint` file and of PREFIX[-any step]'s files, once an hour old and not
 * locked by a live writer (docs/checkpoints.md); it never fails for them. The path written is copied
 * into path_out (cap bytes) when not NULL ("" on error).
 * Errors: INVALID_ARGUMENT (NULL argument, a session of another graph, path_out
 * too small), NOT_FOUND (the prefix's directory does not exist), FAILED_PRECONDITION
 * (an uninitialised variable, named), RESOURCE_EXHAUSTED (no space, no memory),
 * errors of tfm_export_meta_graph, other I/O errors naming the file. */
TFM_API tfm_code tfm_saver_save(tfm_saver *saver, tfm_session *session, const char *prefix, int64_t global_step,
                                int write_meta_graph, char *path_out, size_t cap, tfm_status *status);
/* saver.restore(sess, prefix): sets exactly the saver's variables to the values
 * stored under their keys, in a checkpoint written by libtfmini or TensorFlow
 * (snappy-compressed index blocks included). All or nothing: every key, dtype,
 * shape and checksum is checked before any variable changes. Variables need no
 * initialisation first. Restoring over initialised variables reads the bytes in
 * place (no second copy of the model); into a fresh session it allocates them.
 * Errors: INVALID_ARGUMENT (NULL argument, a session of another graph; a dtype or
 * shape that differs, naming the variable and both), NOT_FOUND (no PREFIX.index;
 * a key missing from the checkpoint, naming the variable), DATA_LOSS (a corrupt or
 * truncated file, naming it and the tensor), UNIMPLEMENTED (partitioned
 * variables), RESOURCE_EXHAUSTED. */
TFM_API tfm_code tfm_saver_restore(tfm_saver *saver, tfm_session *session, const char *prefix,
                                   tfm_status *status);
/* tf.train.latest_checkpoint(dir): the newest checkpoint prefix named by
 * dir/checkpoint (relative paths taken from dir), copied into buf (cap bytes; ""
 * on error). Errors: INVALID_ARGUMENT (NULL argument, buf too small), NOT_FOUND (no
 * `checkpoint` file, none named, or its PREFIX.index does not exist), errors
 * reading a malformed `checkpoint` file (INVALID_ARGUMENT, naming the line). */
TFM_API tfm_code tfm_latest_checkpoint(const char *dir, char *buf, size_t cap, tfm_status *status);

typedef struct tfm_checkpoint_timer tfm_checkpoint_timer;
/* A helper for training loops: saves with `saver` to `prefix` (with the global step
 * as suffix) at the first step, then every `every_seconds` (<= 0: never by time)
 * and/or every `every_steps` global steps (<= 0: never by step) since the last save,
 * as TensorFlow's CheckpointSaverHook. It writes no .meta (write one with
 * tfm_export_meta_graph). Caller owns it; the saver must outlive it. Not for
 * concurrent use. Errors: INVALID_ARGUMENT (NULL saver or prefix), RESOURCE_EXHAUSTED. */
TFM_API tfm_checkpoint_timer *tfm_checkpoint_timer_new(tfm_saver *saver, const char *prefix, double every_seconds,
                                                       int64_t every_steps, tfm_status *status);
/* Call once per step: saves when due; *saved (may be NULL) tells whether it did.
 * Errors: INVALID_ARGUMENT (NULL timer), those of tfm_saver_save (the next step
 * tries again). */
TFM_API tfm_code tfm_checkpoint_timer_step(tfm_checkpoint_timer *timer, tfm_session *session, int64_t global_step,
                                           int *saved, tfm_status *status);
/* Frees the timer (NULL allowed). Never fails. */
TFM_API void tfm_checkpoint_timer_delete(tfm_checkpoint_timer *timer);

/* ---- meta graphs ---- */
/* tf.train.export_meta_graph(filename): graph_def (with _output_shapes), saver_def
 * (of `saver`, may be NULL), collection_def, meta_info_def. Written atomically,
 * after removing the stale temporaries of the same file (as tfm_saver_save).
 * Errors: INVALID_ARGUMENT (a graph that cannot be encoded, naming the op), I/O
 * errors naming the file (NOT_FOUND for a missing directory, INTERNAL otherwise). */
TFM_API tfm_code tfm_export_meta_graph(tfm_graph *g, tfm_saver *saver, const char *path, tfm_status *status);
/* tf.train.import_meta_graph(path, import_scope): imports into `g` (NULL = default),
 * under import_scope (may be NULL), restores collections, and returns a Saver built
 * from the SaverDef (caller owns it; NULL with status OK when there is none).
 * The file may be binary or text format. Variables in the "variables" /
 * "trainable_variables" collections come back as tfm_variable records (so
 * optimizers, initializers and Savers see them); "global_step" and other
 * variable collections point at them; node_list items become ops ("name") or
 * tensors ("name:0"); int64, float and bytes lists their items; any_list
 * collections are skipped. All or nothing: on error the graph is left as it was.
 * Errors: those of tfm_import_graph_def_file, NOT_FOUND naming a collection item
 * or SaverDef name missing from the graph, UNIMPLEMENTED for resource variables. */
TFM_API tfm_saver *tfm_import_meta_graph(tfm_graph *g, const char *path, const char *import_scope,
                                         tfm_status *status);

/* ---- graphs ----
 * GraphDef is TensorFlow's graph file: each op with its inputs ("name:1", "^ctrl"
 * for control inputs), device and attrs, plus versions {producer: 26} (TF 1.10's
 * graph version, whose op semantics libtfmini follows). Nodes are streamed, so
 * graphs of any size pass both ways. */
/* graph.as_graph_def(): the serialized GraphDef (binary, or text format when
 * as_text), without `_output_shapes` (as TF's sess.graph_def). NULL g: the default
 * graph. Caller owns the buffer. Errors: INVALID_ARGUMENT naming a node that cannot
 * be encoded, RESOURCE_EXHAUSTED. */
TFM_API tfm_buffer *tfm_graph_to_graph_def(tfm_graph *g, int as_text, tfm_status *status);
/* The same with add_shapes: every node with outputs gets an `_output_shapes` attr
 * (list of the inferred shapes; -1 / unknown rank where not known), as graphs in
 * TF's .meta files and event files have. Errors: as tfm_graph_to_graph_def. */
TFM_API tfm_buffer *tfm_graph_to_graph_def_ex(tfm_graph *g, int as_text, int add_shapes, tfm_status *status);
/* tf.train.write_graph(graph, dir, name, as_text): writes dir/name atomically
 * (dir "" = name alone), after removing the stale temporaries of the same file (as
 * tfm_saver_save). Errors: those of tfm_graph_to_graph_def, I/O errors
 * naming the file. */
TFM_API tfm_code tfm_write_graph(tfm_graph *g, const char *dir, const char *name, int as_text, tfm_status *status);
/* tf.import_graph_def from a file (.pb binary or .pbtxt text, told apart by content),
 * ops named "<prefix>/<name>" (prefix may be NULL or "": the names as written).
 * Unlike TensorFlow, NULL does not mean "import": pass it to get TF's names.
 * Nodes may come in any order; they are added in a topological order with their
 * attrs checked against libtfmini's op registry; "loc:@x" colocations are
 * prefixed; `_output_shapes` attrs are dropped (shapes are inferred again); a
 * Placeholder's scalar shape in a graph older than version 22 means "any shape",
 * as TF reads it. All or nothing: on error the graph is left as it was.
 * Errors: NOT_FOUND (file); DATA_LOSS (not a GraphDef); UNIMPLEMENTED naming the
 * node and op type (and every other op type the graph uses that libtfmini lacks);
 * INVALID_ARGUMENT naming the node for a missing input, an output index out of
 * range, a data input after a control input, an attr of the wrong kind, a cycle
 * (tf.while_loop graphs), a name given twice; ALREADY_EXISTS for a name the graph
 * already has (import again under another prefix). */
TFM_API tfm_code tfm_import_graph_def_file(tfm_graph *g, const char *path, const char *prefix, tfm_status *status);
/* The same from bytes in memory (binary when !as_text; messages name "graph_def").
 * Errors: as tfm_import_graph_def_file, INVALID_ARGUMENT for NULL data. */
TFM_API tfm_code tfm_import_graph_def(tfm_graph *g, const void *data, size_t len, int as_text, const char *prefix,
                                      tfm_status *status);
/* tf.import_graph_def(graph_def, input_map): as tfm_import_graph_def, but inputs the
 * GraphDef names map_keys[i] ("x:0"; "x" means "x:0") are wired to map_values[i],
 * tensors already in g, instead of the GraphDef's own (which are still imported).
 * Errors: those above, INVALID_ARGUMENT for a NULL entry or a tensor of another graph. */
TFM_API tfm_code tfm_import_graph_def_mapped(tfm_graph *g, const void *data, size_t len, int as_text,
                                             const char *prefix, const char *const *map_keys,
                                             tfm_output *const *map_values, int n_map, tfm_status *status);

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
