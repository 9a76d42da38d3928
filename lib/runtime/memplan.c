/* Memory planning (see memplan.h): lifetimes, placement, and the frames' arenas. */
#include "runtime/memplan.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/switch.h"
#include "runtime/small_prog.h"

/* Plans with more planned values than this keep one buffer per value: placement
 * is quadratic in the count. */
#define MEMPLAN_MAX_VALUES 20000

static switch_t memplan_switch;

bool memplan_enabled(void) { return switch_on(&memplan_switch, "TFM_MEMPLAN"); }

void memplan_set_enabled(bool on) { switch_set(&memplan_switch, on); }

void memplan_free(memplan_t *m) {
  if (!m) return;
  mem_free(m->offset);
  mem_free(m->value);
  mem_free(m->first_conflict);
  mem_free(m->conflicts);
  mem_free(m);
}

/* Ops whose output may be their input itself or a view of its buffer: the input
 * then lives as long as the output. */
static bool passes_through(const node_t *n) {
  static const char *const types[] = {"Identity", "StopGradient", "Snapshot", "PreventGradient",
                                      "CheckNumerics", "Reshape", "ExpandDims", "Squeeze", "EnsureShape",
                                      NULL};
  for (int i = 0; types[i]; i++)
    if (strcmp(n->type, types[i]) == 0) return true;
  return false;
}

typedef struct item {
  int slot;
  int def, last;  /* lifetime: steps [def, last] */
  size_t bytes;
  int64_t offset;
} item_t;

static int by_size(const void *a, const void *b) {
  const item_t *x = a, *y = b;
  if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
  return x->def - y->def;
}

static int by_offset(const void *a, const void *b) {
  const item_t *x = *(item_t *const *)a, *y = *(item_t *const *)b;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static bool lifetimes_overlap(const item_t *a, const item_t *b) {
  return !(a->last < b->def || b->last < a->def);
}

static bool bytes_overlap(const item_t *a, const item_t *b) {
  return a->offset < b->offset + (int64_t)b->bytes && b->offset < a->offset + (int64_t)a->bytes;
}

/* First fit: the lowest offset where `it` overlaps no placed item alive at the
 * same time. `live` is scratch for n_placed pointers. */
static void place(item_t *it, item_t *placed, int n_placed, item_t **live) {
  int n_live = 0;
  for (int i = 0; i < n_placed; i++)
    if (lifetimes_overlap(it, &placed[i])) live[n_live++] = &placed[i];
  qsort(live, (size_t)n_live, sizeof *live, by_offset);
  int64_t at = 0;
  for (int i = 0; i < n_live; i++) {
    if (at + (int64_t)it->bytes <= live[i]->offset) break;
    int64_t end = live[i]->offset + (int64_t)live[i]->bytes;
    if (end > at) at = end;
  }
  it->offset = at;
}

/* The lifetimes of the plan's values: def[s] the step that makes slot s, last[s]
 * its last reader (n_steps for fetches: alive after the run). */
static void lifetimes(const plan_t *p, int n_values, int *def, int *last) {
  for (int s = 0; s < n_values; s++) def[s] = last[s] = -1;
  for (int k = 0; k < p->n_steps; k++) {
    const plan_step_t *st = &p->steps[k];
    const int *reads, *writes;
    int n_reads, n_writes;
    if (small_prog_slots(st, &reads, &n_reads, &writes, &n_writes)) {
      for (int j = 0; j < n_reads; j++)
        if (reads[j] < n_values && last[reads[j]] < k) last[reads[j]] = k;
      for (int j = 0; j < n_writes; j++)
        if (writes[j] < n_values) def[writes[j]] = k;
      continue;
    }
    for (int j = 0; j < st->n_in; j++) {
      int src = st->in_src[j];
      if (src >= 0 && src < n_values && last[src] < k) last[src] = k;
    }
    for (int i = 0; i < st->n_out; i++)
      if (st->out_base + i < n_values) def[st->out_base + i] = k;
  }
  for (int i = 0; i < p->n_fetches; i++) {
    int src = p->fetch_src[i];
    if (src >= 0 && src < n_values) last[src] = p->n_steps;
  }
  /* a value read through a pass-through lives as long as the pass-through */
  for (int k = p->n_steps - 1; k >= 0; k--) {
    const plan_step_t *st = &p->steps[k];
    const int *reads, *writes;
    int n_reads, n_writes;
    if (small_prog_slots(st, &reads, &n_reads, &writes, &n_writes) || !passes_through(st->node))
      continue;
    int end = -1;
    for (int i = 0; i < st->n_out; i++) {
      int o = st->out_base + i;
      if (o < n_values && last[o] > end) end = last[o];
    }
    for (int j = 0; j < st->n_in; j++) {
      int src = st->in_src[j];
      if (src >= 0 && src < n_values && last[src] < end) last[src] = end;
    }
  }
}

/* Is the value of slot s, made by step k, one to plan? */
static bool plannable(const plan_t *p, int k, const output_t *o, int last) {
  const plan_step_t *st = &p->steps[k];
  if (!o || last >= p->n_steps || st->ref_op || passes_through(st->node)) return false;
  if (o->is_ref || o->dtype == TFM_STRING || !shape_is_fully_defined(&o->shape)) return false;
  int64_t n;
  return shape_num_elements(&o->shape, &n, NULL) == TFM_OK && n > 0;
}

static size_t aligned_bytes(const output_t *o) {
  int64_t n = 0;
  shape_num_elements(&o->shape, &n, NULL);
  size_t b = (size_t)n * dtype_size(o->dtype);
  return (b + MEM_ALIGN - 1) / MEM_ALIGN * MEM_ALIGN;
}

tfm_code plan_memory(plan_t *p, const output_t *const *slot_value, int n_values, tfm_status *st) {
  if (!memplan_enabled() || !p->prepared || p->deadness || n_values <= 0) return TFM_OK;
  tfm_code code = TFM_OK;
  int *def = mem_alloc(sizeof(int) * (size_t)n_values);
  int *last = mem_alloc(sizeof(int) * (size_t)n_values);
  item_t *items = mem_alloc(sizeof(item_t) * (size_t)n_values);
  item_t **live = mem_alloc(sizeof(item_t *) * (size_t)n_values);
  memplan_t *m = mem_calloc(1, sizeof *m);
  if (!def || !last || !items || !live || !m) goto oom;
  lifetimes(p, n_values, def, last);
  int n_items = 0;
  for (int s = p->n_feeds; s < n_values; s++) {
    if (def[s] < 0 || !plannable(p, def[s], slot_value[s], last[s])) continue;
    items[n_items++] = (item_t){.slot = s, .def = def[s], .last = last[s] > def[s] ? last[s] : def[s],
                                .bytes = aligned_bytes(slot_value[s])};
  }
  if (n_items == 0 || n_items > MEMPLAN_MAX_VALUES) goto done;
  qsort(items, (size_t)n_items, sizeof *items, by_size);
  for (int i = 0; i < n_items; i++) {
    place(&items[i], items, i, live);
    size_t end = (size_t)items[i].offset + items[i].bytes;
    if (end > m->size) m->size = end;
  }
  m->n_slots = n_values;
  m->n_planned = n_items;
  m->offset = mem_alloc(sizeof(int64_t) * (size_t)n_values);
  m->value = mem_calloc((size_t)n_values, sizeof *m->value);
  m->first_conflict = mem_calloc((size_t)n_values + 1, sizeof(int));
  if (!m->offset || !m->value || !m->first_conflict) goto oom;
  for (int s = 0; s < n_values; s++) m->offset[s] = -1;
  /* conflicts: a count per slot, then the lists (CSR) */
  int total = 0;
  for (int i = 0; i < n_items; i++) {
    m->offset[items[i].slot] = items[i].offset;
    m->value[items[i].slot] = slot_value[items[i].slot];
    for (int j = 0; j < n_items; j++)
      if (j != i && bytes_overlap(&items[i], &items[j])) m->first_conflict[items[i].slot + 1]++;
  }
  for (int s = 0; s < n_values; s++) {
    total += m->first_conflict[s + 1];
    m->first_conflict[s + 1] = total;
  }
  m->conflicts = mem_alloc(sizeof(int) * ((size_t)total + 1));
  if (!m->conflicts) goto oom;
  int *fill = def; /* reused: the next free entry of each slot's list */
  for (int s = 0; s < n_values; s++) fill[s] = m->first_conflict[s];
  for (int i = 0; i < n_items; i++)
    for (int j = 0; j < n_items; j++)
      if (j != i && bytes_overlap(&items[i], &items[j]))
        m->conflicts[fill[items[i].slot]++] = items[j].slot;
  p->memplan = m;
  m = NULL;
  goto done;
oom:
  code = status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory planning a plan's memory");
done:
  memplan_free(m);
  mem_free(def);
  mem_free(last);
  mem_free(items);
  mem_free(live);
  return code;
}

/* ---- frames ---- */

bool memplan_frame_init(const memplan_t *m, frame_t *f) {
  f->planned = mem_calloc((size_t)m->n_slots + 1, sizeof *f->planned);
  f->arena = mem_alloc_aligned(m->size ? m->size : 1);
  if (!f->planned || !f->arena) return false;
  for (int s = 0; s < m->n_slots; s++) {
    if (m->offset[s] < 0) continue;
    tensor_t *t = tensor_over(m->value[s]->dtype, &m->value[s]->shape,
                              (char *)f->arena + m->offset[s], NULL);
    if (!t) return false;
    t->in_arena = true;
    t->owner = &f->values[s];
    f->planned[s] = t;
  }
  return true;
}

void memplan_frame_free(const memplan_t *m, frame_t *f) {
  if (f->planned)
    for (int s = 0; s < m->n_slots; s++) tensor_unref(f->planned[s]);
  mem_free(f->planned);
  mem_free_aligned(f->arena);
  f->planned = NULL;
  f->arena = NULL;
}

/* Holders of t besides the frame and, when it holds t, the slot it was planned for. */
static int other_holders(const tensor_t *t, tensor_t *const *slot) {
  return atomic_load_explicit(&t->refs, memory_order_acquire) - 1 - (*slot == t);
}

tensor_t *memplan_take(const memplan_t *m, const frame_t *f, int slot, tfm_dtype dtype,
                       const shape_t *shape) {
  if (slot < 0 || slot >= m->n_slots || m->offset[slot] < 0) return NULL;
  tensor_t *t = f->planned[slot];
  if (!t || t->dtype != dtype || !shape_equal(&t->shape, shape)) return NULL;
  if (other_holders(t, &f->values[slot]) > 0) return NULL; /* e.g. a caller's view of it */
  for (int i = m->first_conflict[slot]; i < m->first_conflict[slot + 1]; i++) {
    int q = m->conflicts[i];
    if (other_holders(f->planned[q], &f->values[q]) > 0) return NULL;
  }
  return t;
}
