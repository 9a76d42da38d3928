/* Compiled plans: one run signature (feeds, fetches, targets) turned into a flat
 * array of steps so that running it is a tight array walk: no hashing, no name
 * lookups, no allocation in the steady state.
 *
 * Values live in "slots" (one tensor_t* each) of a frame: slots [0, n_feeds) hold
 * the feeds (borrowed from the caller for the run), then each step's outputs take
 * n_out consecutive slots. An input is read from a value slot (src >= 0) or from a
 * variable's storage (src < 0: plan->vars[~src]). Each concurrent run takes its
 * own frame from the plan's pool; frames keep their tensors between runs so that
 * kctx_alloc_output can hand the same buffers back. */
#ifndef TFM_RUNTIME_PLAN_H
#define TFM_RUNTIME_PLAN_H

#include <stdatomic.h>

#include "runtime/session.h"

typedef struct plan_step {
  tfm_code (*compute)(kctx_t *c);
  const node_t *node;
  node_rt_t *rt;           /* kernel state */
  const int *in_src;       /* n_in sources (see above) */
  int n_in, n_out;
  int in_base;             /* first entry in frame->in */
  int out_base;            /* first output slot */
  bool slow;               /* reads a variable or is a ref op: the checked path */
  bool direct;             /* inputs are consecutive value slots: the kernel reads
                              them in place, nothing to gather */
  bool ref_op;             /* OP_REF_INPUT0 */
  bool may_init;           /* Assign: input 0 may be uninitialised */
  const int *ctl_steps;    /* with deadness: the steps this one has control inputs from */
  int n_ctl;
  const kprep_t *prep;     /* the op's prepared kernel, run instead of compute; or NULL */
} plan_step_t;

typedef struct frame {
  struct frame *next;
  tensor_t **values;       /* n_slots */
  tensor_t **in;           /* n_in_total: the gathered inputs of every step */
  kctx_t *ctx;             /* one prepared context per step */
  tensor_t ***aliases;     /* slots that took on a buffer another slot allocated
                              (this run); released at its end */
  int n_aliases, cap_aliases;
  bool aliases_overflow;   /* more notes than room: walk every slot instead */
  bool *dead_steps;        /* with deadness: which steps were skipped this run */
  tfm_status st;           /* where kernels report */
  const struct memplan *memplan; /* the plan's, or NULL (runtime/memplan.h) */
  tensor_t **planned;      /* per slot: its tensor over the arena, or NULL */
  void *arena;
} frame_t;

struct plan {
  session_t *session;
  plan_t *next_cached;     /* the session's plan list */
  /* the signature, for the cache */
  uint64_t hash;
  output_t **feeds;
  output_t **fetches;
  node_t **targets;
  int n_feeds, n_fetches, n_targets;
  /* the program */
  plan_step_t *steps;
  int n_steps;
  int *srcs;               /* all inputs' sources, then the fetches' */
  const int *fetch_src;
  node_rt_t **vars;        /* variables read by the plan */
  int n_vars;
  int n_slots, n_in_total;
  struct fuse_group *fused; /* groups of steps run as one (runtime/fuse.h) */
  struct small_prog *small_progs; /* runs of small steps (runtime/small_prog.h) */
  struct memplan *memplan;  /* where values live in a frame's arena (runtime/memplan.h) */
  /* tf.cond: the plan holds a Switch, so values may be dead (see kctx_set_dead) */
  bool deadness;
  int *ctl_srcs;           /* the steps' ctl_steps */
  /* preparation (runtime/prepare.h) */
  bool prepared;           /* constants folded, aliases resolved, kernels prepared */
  kprep_t *preps;          /* n_steps; steps point into it */
  int *const_slot;         /* slots holding constants, filled when a frame is made */
  tensor_t **const_value;  /* one reference each */
  int n_consts;
  uint8_t *fetch_copy;     /* n_fetches: the fetch is a constant, handed out as a copy */
  node_rt_t **guards;      /* variables whose declared shapes the preparation assumed */
  int n_guards;
  _Atomic(plan_t *) twin;  /* the same signature unprepared, for runs where a variable
                              does not have its declared shape; made when first needed */
  /* frames not in use */
  _Atomic(frame_t *) spare;
  pthread_mutex_t frames_lock;
  frame_t *free_frames;
};

uint64_t plan_signature_hash(output_t *const *feeds, int n_feeds, output_t *const *fetches,
                             int n_fetches, node_t *const *targets, int n_targets);
bool plan_matches(const plan_t *p, output_t *const *feeds, int n_feeds,
                  output_t *const *fetches, int n_fetches, node_t *const *targets,
                  int n_targets);

/* Prunes the graph to what the fetches and targets need, orders it, checks it and
 * lays out the slots. Caller holds s->lock (node records are created).
 * Errors: INVALID_ARGUMENT (an argument from another graph, a feed given twice, a
 * placeholder needed but not fed, a cycle), UNIMPLEMENTED (an op without a kernel,
 * naming node and type), RESOURCE_EXHAUSTED. */
plan_t *plan_compile(session_t *s, output_t *const *feeds, int n_feeds,
                     output_t *const *fetches, int n_fetches, node_t *const *targets,
                     int n_targets, tfm_status *st);
void plan_free(plan_t *p);
/* The unprepared twin of a prepared plan (compiled on first use, under the
 * session's lock; owned by p). Errors: those of plan_compile. */
plan_t *plan_twin(plan_t *p, tfm_status *st);
/* Tests: compile plans with (default) or without preparation, to compare them. */
void plan_set_preparation(bool on);

/* Runs the plan: feed_values in the order of the plan's feeds; fetch_values
 * receives one new reference per fetch (or NULLs on error). */
tfm_code plan_run(plan_t *p, tensor_t *const *feed_values, tensor_t **fetch_values,
                  tfm_status *st);

#endif
