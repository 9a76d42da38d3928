/* Fusion of element-wise chains and the reductions that consume them.
 *
 * After the plan compiler has laid out its steps, plan_fuse() finds connected
 * groups of float32 element-wise ops (unary, binary with broadcasting), shape-only
 * ops (Reshape, Identity), Tile and the Sum/Mean reductions that read them, and
 * replaces each group by one step. That step runs the group as one pass over the
 * data: tiles of FUSE_TILE elements, tasks of FUSE_TASK elements over the thread
 * pool, each op a SIMD loop of the level in force over a tile that stays in L1.
 * Only the values a later step or a fetch needs are written out in full.
 *
 * Shapes are decided at run time (placeholders of unknown size are the common
 * case): each run classifies every value of the group as "uniform" (one value
 * for all elements: scalars, variables of shape [], Tile of a scalar) or
 * "varying" (N elements, the same N and layout for all). Anything else (partial
 * reductions, two differently shaped varying operands, a tiny N, an odd dtype at
 * run time, a concurrent run holding the group's scratch) runs the group's
 * original steps one by one, which also gives the usual error messages.
 *
 * fuse_exec.c holds the run-time half; this header is shared by the two files. */
#ifndef TFM_RUNTIME_FUSE_H
#define TFM_RUNTIME_FUSE_H

#include <pthread.h>

#include "runtime/plan.h"

/* Elements per tile (a float32 tile is 4 KB) and per pool task (a multiple of
 * the tile). Task boundaries depend only on N: results do not depend on the
 * thread count. */
#define FUSE_TILE 4096
#define FUSE_TASK (64 * FUSE_TILE)
/* Tile buffers one task may use at once (on its stack). */
#define FUSE_MAX_BUFS 8
/* Groups running fewer elements than this use the original steps. */
#define FUSE_MIN_ELEMENTS 4096
#define FUSE_MAX_MEMBERS 64

typedef enum fuse_kind {
  FK_UNARY,    /* ew_unary_t code */
  FK_BINARY,   /* ew_binary_t code */
  FK_REDUCE,   /* Sum / Mean: reduce_op_t code; param = the axes */
  FK_RESHAPE,  /* param = the shape */
  FK_IDENTITY, /* Identity, StopGradient, Snapshot */
  FK_TILE      /* param = the multiples; only of a uniform value */
} fuse_kind_t;

/* An operand: >= 0 a member of the group, < 0 an external input (~index). */
typedef struct fuse_member {
  plan_step_t step; /* the original step, run by the fallback */
  fuse_kind_t kind;
  int code;
  bool keep_dims;
  bool same_shape;  /* binary gradient helpers: no broadcasting */
  int n_ops;        /* data operands: 1 or 2 */
  int op[2];
  int param;        /* external index of the shape/axes/multiples input; -1 */
  int escape;       /* output of the fused step that carries this value; -1 */
} fuse_member_t;

/* Run-time scratch (fuse_exec.c). */
typedef struct fuse_scratch fuse_scratch_t;

typedef struct fuse_group {
  struct fuse_group *next;  /* the plan's list */
  plan_t *plan;
  node_rt_t rt;             /* the fused step's kernel state: points at the group */
  fuse_member_t *members;
  int n_members;
  int *ext_src;             /* sources of the external inputs (plan slot or ~var) */
  int n_ext;
  int *escape_slot;         /* the member slot each fused output copies in the fallback */
  int *escape_member;
  int n_escapes;
  pthread_mutex_t busy;     /* held by the run using the scratch */
  fuse_scratch_t *scratch;
} fuse_group_t;

/* Rewrites p's steps, replacing fusable groups by fused steps (see above). Called
 * by plan_compile after the steps are laid out, before any frame exists.
 * TFM_FUSE=0 in the environment turns fusion off (benchmarks, comparisons).
 * Errors: RESOURCE_EXHAUSTED. */
tfm_code plan_fuse(plan_t *p, tfm_status *st);
/* Whether plan_fuse fuses (TFM_FUSE, or the last fuse_set_enabled); affects
 * plans compiled afterwards. */
bool fuse_enabled(void);
void fuse_set_enabled(bool on);
/* Frees the groups of p (plan_free). */
void plan_fuse_free(plan_t *p);

/* The fused step's kernel (fuse_exec.c). */
tfm_code fuse_compute(kctx_t *c);
void fuse_scratch_free(fuse_scratch_t *s);

#endif
