/* libtfmini: sessions. A session owns the values of a graph's variables (as in
 * TensorFlow, weights live in a session) and runs the graph: feeds replace the
 * value of any output (usually placeholders), fetches are computed, targets are
 * ops run for their effects. Only the ops needed are run; the plan for a given
 * (feeds, fetches, targets) set is compiled once and reused, with its buffers.
 *
 * Thread safety: tfm_session_run and tfm_callable_run may be called from several
 * threads at once on one session. Each run sees a consistent graph. Variable updates
 * from concurrent runs are not serialised against each other (as TensorFlow's
 * use_locking=false): each element update is a plain store, so concurrent training
 * steps may lose updates but never corrupt memory or crash.
 */
#ifndef TFMINI_SESSION_H
#define TFMINI_SESSION_H

#include "graph.h"

TFM_BEGIN_DECLS

typedef struct tfm_session tfm_session;
typedef struct tfm_callable tfm_callable;

/* A session over `graph` (NULL = default graph); the graph must outlive it.
 * Caller owns it. Errors: RESOURCE_EXHAUSTED. */
TFM_API tfm_session *tfm_session_new(tfm_graph *graph, tfm_status *status);
/* Frees the session and its variables' values. NULL allowed. */
TFM_API void tfm_session_delete(tfm_session *session);

/* Runs the graph. feeds[i] gets feed_values[i] (the tensor is read, not kept; a
 * dtype or shape that does not fit the placeholder fails with INVALID_ARGUMENT
 * naming it and both shapes). fetch_values (array of n_fetches) receives one new
 * tensor reference per fetch, owned by the caller. Either list may be empty.
 * Errors: FAILED_PRECONDITION (a variable read before initialisation, named),
 * INVALID_ARGUMENT (feeds, a placeholder needed but not fed), errors of kernels
 * (naming the op). On error no fetch value is returned. */
TFM_API tfm_code tfm_session_run(tfm_session *session,
                                 tfm_output *const *feeds, tfm_tensor *const *feed_values, int n_feeds,
                                 tfm_output *const *fetches, tfm_tensor **fetch_values, int n_fetches,
                                 tfm_op *const *targets, int n_targets, tfm_status *status);

/* A pre-compiled run signature (Session.make_callable): the fastest way to run the
 * same step many times. Owned by the caller; free before the session.
 * Errors: INVALID_ARGUMENT (an output of another graph, a fetch that depends on an
 * unfed placeholder), RESOURCE_EXHAUSTED. */
TFM_API tfm_callable *tfm_session_make_callable(tfm_session *session,
                                                tfm_output *const *feeds, int n_feeds,
                                                tfm_output *const *fetches, int n_fetches,
                                                tfm_op *const *targets, int n_targets,
                                                tfm_status *status);
/* Runs it: feed_values in the order of the feeds, fetch_values as tfm_session_run.
 * Thread safety and errors: as tfm_session_run. */
TFM_API tfm_code tfm_callable_run(tfm_callable *callable, tfm_tensor *const *feed_values,
                                  tfm_tensor **fetch_values, tfm_status *status);
/* Frees a callable (NULL allowed); not while it runs. */
TFM_API void tfm_callable_delete(tfm_callable *callable);

/* A snapshot of a variable's current value (a new tensor, caller owns it; later
 * runs do not change it). Errors: FAILED_PRECONDITION when not initialised,
 * RESOURCE_EXHAUSTED. */
TFM_API tfm_tensor *tfm_session_variable_value(tfm_session *session, tfm_variable *v, tfm_status *status);

TFM_END_DECLS

#endif
