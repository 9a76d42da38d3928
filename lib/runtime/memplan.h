/* Memory planning: the buffers of a prepared plan's values come from one arena
 * per frame, sized when the plan is compiled.
 *
 * Every value a step makes whose shape the plan knows (not a fetch, not a feed or
 * constant, not a pass-through or view of another value) gets a byte range of the
 * arena. Two values share bytes only when their lifetimes in the step order are
 * disjoint: a value lives from the step that makes it to its last reader, and a
 * value read through a pass-through or view (Identity, Reshape, ...) lives as
 * long as that alias. Ranges are placed largest first at the lowest offset that
 * fits (first fit), so an unfused chain of element-wise ops over N elements needs
 * about two or three N-sized buffers instead of one per op.
 *
 * When a frame is made, the arena is allocated once and each planned value gets
 * a tensor header over its range. kctx_alloc_output hands that tensor out when
 * the kernel asks for the planned dtype and shape and no value sharing its bytes
 * is still held by anyone but its own slot (a reference taken by an alias the
 * plan did not foresee, or by a caller, shows in the reference counts): otherwise
 * it allocates as before, so planning can cost memory, never correctness. A
 * steady-state run allocates nothing. TFM_MEMPLAN=0 in the environment turns it
 * off (comparisons, tests). */
#ifndef TFM_RUNTIME_MEMPLAN_H
#define TFM_RUNTIME_MEMPLAN_H

#include "runtime/plan.h"

typedef struct memplan {
  size_t size;             /* arena bytes */
  int n_slots;             /* slots covered (the plan's slots when it was planned) */
  int64_t *offset;         /* per slot: byte offset in the arena; -1 when not planned */
  const output_t **value;  /* per slot: the graph output (dtype, shape) of a planned slot */
  int *first_conflict;     /* per slot + 1: its entries in `conflicts` */
  int *conflicts;          /* the other planned slots sharing some of its bytes */
  int n_planned;
} memplan_t;

/* Plans p's memory (see above); slot_value[s] is the graph output whose value
 * slot s holds, for s < n_values (NULL for slots that are not a node's output;
 * slots added by fusion are not planned). Leaves p->memplan NULL when nothing is
 * planned. Errors: RESOURCE_EXHAUSTED. */
tfm_code plan_memory(plan_t *p, const output_t *const *slot_value, int n_values, tfm_status *st);
void memplan_free(memplan_t *m);
bool memplan_enabled(void);
void memplan_set_enabled(bool on);

/* The frame's arena and its tensors (frame->planned); false when out of memory. */
bool memplan_frame_init(const memplan_t *m, frame_t *f);
void memplan_frame_free(const memplan_t *m, frame_t *f);

/* The planned tensor of `slot` when it may be used now for dtype and shape; NULL
 * otherwise (the caller allocates). */
tensor_t *memplan_take(const memplan_t *m, const frame_t *f, int slot, tfm_dtype dtype,
                       const shape_t *shape);

#endif
