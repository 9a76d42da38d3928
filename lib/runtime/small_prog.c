/* Small programs (see small_prog.h): finding the members, compiling them to
 * register-machine code, and running it. */
#include "runtime/small_prog.h"

#include <string.h>

#include "core/mem.h"
#include "kernels/kernels.h"
#include "runtime/fuse.h"

/* Floats of one program's register file (on the stack of the run: 8 KB) and of
 * one value in it: a longer run of small steps becomes several programs. */
#define SP_MAX_REGS 2048
#define SP_MAX_VALUE 256

/* The first six are the one-element ops run inline; the others call the
 * kernels' own loops (any count, operand steps 0 or 1). */
typedef enum sp_op {
  SP_ADD, SP_SUB, SP_MUL, SP_DIV, SP_NEG, SP_SQUARE, /* n == 1 */
  SP_UNARY, SP_BINARY, SP_SUM
} sp_op_t;

typedef struct sp_insn {
  uint8_t op;
  uint8_t sa, sb;       /* operand steps: 0 (one value for all) or 1 */
  uint16_t n;           /* elements of the result (SP_SUM: of the operand) */
  uint16_t dst, a, b;   /* register offsets */
  union {
    kern_unary_loop_fn unary;
    kern_binary_loop_fn binary;
    kern_sum_f32_fn sum;
  } fn;
} sp_insn_t;

/* A value read at the start of a run: a slot (src >= 0) or a variable (~src). */
typedef struct sp_load {
  int src;
  uint16_t reg, n;
  const node_t *reader; /* the member reading it, and which input: for messages */
  int input;
} sp_load_t;

/* A value written to its slot at the end of a run (a later step or a fetch reads it). */
typedef struct sp_store {
  int slot;
  uint16_t reg;
  const node_t *node;
  kprep_t out;          /* dtype, shape and count of the output, for kctx_prepared_output */
} sp_store_t;

typedef struct small_prog {
  struct small_prog *next; /* the plan's list */
  const plan_t *plan;
  node_rt_t rt;             /* the program step's kernel state: points here */
  float *consts;            /* registers [0, n_consts): the plan's constants */
  int n_consts, n_regs;
  sp_load_t *loads;
  int n_loads, cap_loads;
  sp_insn_t *code;
  int n_code, cap_code;
  sp_store_t *stores;
  int n_stores;
  int *read_slots, n_read_slots; /* the slots loaded and stored, for memory planning */
  int *write_slots;
} small_prog_t;

static void prog_free(small_prog_t *sp) {
  if (!sp) return;
  mem_free(sp->consts);
  mem_free(sp->loads);
  mem_free(sp->code);
  mem_free(sp->stores);
  mem_free(sp->read_slots);
  mem_free(sp->write_slots);
  mem_free(sp);
}

void plan_small_programs_free(plan_t *p) {
  for (small_prog_t *sp = p->small_progs, *next; sp; sp = next) {
    next = sp->next;
    prog_free(sp);
  }
  p->small_progs = NULL;
}

int plan_small_program_count(const plan_t *p) {
  int n = 0;
  for (const small_prog_t *sp = p->small_progs; sp; sp = sp->next) n++;
  return n;
}

static tfm_code small_prog_compute(kctx_t *c);

bool small_prog_slots(const plan_step_t *s, const int **reads, int *n_reads, const int **writes,
                      int *n_writes) {
  if (s->compute != small_prog_compute) return false;
  const small_prog_t *sp = s->rt->state;
  *reads = sp->read_slots;
  *n_reads = sp->n_read_slots;
  *writes = sp->write_slots;
  *n_writes = sp->n_stores;
  return true;
}

/* ---- running ---- */

static tfm_code load_failed(kctx_t *c, const small_prog_t *sp, const sp_load_t *ld,
                            const tensor_t *t) {
  c->node = ld->reader; /* the executor names the op at fault after c->node */
  if (ld->src < 0 && !t)
    return status_set(c->st, TFM_FAILED_PRECONDITION,
                      "%s '%s': Attempting to use uninitialized value %s (input %d)",
                      ld->reader->type, ld->reader->name, sp->plan->vars[~ld->src]->node->name,
                      ld->input);
  return status_set(c->st, TFM_INTERNAL,
                    "%s '%s': input %d is not the float32 value of %d elements the plan was "
                    "compiled for", ld->reader->type, ld->reader->name, ld->input, (int)ld->n);
}

static tfm_code small_prog_compute(kctx_t *c) {
  const small_prog_t *sp = *c->state;
  frame_t *f = c->frame;
  if (!f) return kctx_error(c, TFM_INTERNAL, "a small program runs only inside a session");
  c->node = sp->rt.node; /* the first member: the step's node */
  float r[SP_MAX_REGS];
  if (sp->n_consts) memcpy(r, sp->consts, sizeof(float) * (size_t)sp->n_consts);
  for (int i = 0; i < sp->n_loads; i++) {
    const sp_load_t *ld = &sp->loads[i];
    const tensor_t *t = ld->src >= 0 ? f->values[ld->src]
                                     : atomic_load_explicit(&sp->plan->vars[~ld->src]->value,
                                                            memory_order_acquire);
    if (!t || t->dtype != TFM_FLOAT || t->num_elements != ld->n) return load_failed(c, sp, ld, t);
    if (ld->n == 1) r[ld->reg] = *(const float *)t->data;
    else memcpy(r + ld->reg, t->data, sizeof(float) * ld->n);
  }
  for (const sp_insn_t *in = sp->code, *end = sp->code + sp->n_code; in < end; in++) {
    switch ((sp_op_t)in->op) {
      case SP_ADD: r[in->dst] = r[in->a] + r[in->b]; break;
      case SP_SUB: r[in->dst] = r[in->a] - r[in->b]; break;
      case SP_MUL: r[in->dst] = r[in->a] * r[in->b]; break;
      case SP_DIV: r[in->dst] = r[in->a] / r[in->b]; break;
      case SP_NEG: r[in->dst] = -r[in->a]; break;
      case SP_SQUARE: r[in->dst] = r[in->a] * r[in->a]; break;
      case SP_UNARY: in->fn.unary(r + in->a, r + in->dst, in->n); break;
      case SP_BINARY: in->fn.binary(r + in->a, r + in->b, r + in->dst, in->n, in->sa, in->sb); break;
      case SP_SUM: r[in->dst] = in->fn.sum(r + in->a, in->n); break;
    }
  }
  for (int i = 0; i < sp->n_stores; i++) {
    const sp_store_t *so = &sp->stores[i];
    kctx_t oc = {.node = so->node, .session = c->session, .out = f->values + so->slot,
                 .n_out = 1, .st = c->st, .frame = f};
    tensor_t *t = kctx_prepared_output(&oc, 0, &so->out);
    if (!t) {
      c->node = so->node;
      return status_code(c->st);
    }
    if (so->out.n == 1) *(float *)t->data = r[so->reg];
    else memcpy(t->data, r + so->reg, sizeof(float) * (size_t)so->out.n);
  }
  return TFM_OK;
}

/* ---- which steps may be members ---- */

typedef enum member_kind { MK_NONE, MK_UNARY, MK_BINARY, MK_ADD_N, MK_IDENTITY, MK_SUM } member_kind_t;

/* Elements of a float32 value of fixed shape, small enough for a register; -1 otherwise. */
static int small_count(const output_t *o) {
  int64_t n;
  if (o->dtype != TFM_FLOAT || !shape_is_fully_defined(&o->shape) ||
      shape_num_elements(&o->shape, &n, NULL) != TFM_OK || n < 1 || n > SP_MAX_VALUE)
    return -1;
  return (int)n;
}

/* An operand of an element-wise op: one value for all elements, or exactly the
 * output's shape (no other broadcasting). */
static bool elementwise_operand(const output_t *in, const output_t *out) {
  int n = small_count(in);
  return n == 1 || (n > 0 && shape_equal(&in->shape, &out->shape));
}

static member_kind_t member_kind(const plan_step_t *s) {
  const node_t *n = s->node;
  const op_def_t *d = n->def;
  const output_t *out = &n->outputs[0];
  /* a step the plan rewrote (fused groups, shapes made constant) runs as it is */
  if (s->ref_op || s->compute != d->compute || n->n_outputs != 1 || s->n_in != n->n_inputs ||
      s->n_in < 1 || out->is_ref || small_count(out) < 0)
    return MK_NONE;
  /* the prepared Sum of every element: the sum loop its prepared kernel calls */
  if (d->ew_class == EW_NOT && s->prep && s->prep->loop == (void (*)(void))kern_sum_f32_loop() &&
      s->prep->n == 1 && small_count(n->inputs[0]) == s->prep->arg[0] && strcmp(n->type, "Sum") == 0)
    return MK_SUM;
  bool same = n->n_inputs > 0;
  for (int j = 0; j < n->n_inputs; j++) {
    if (!elementwise_operand(n->inputs[j], out)) return MK_NONE;
    same &= shape_equal(&n->inputs[j]->shape, &out->shape);
  }
  if (d->ew_class == EW_IS_UNARY && n->n_inputs == 1)
    return same && kern_unary_loop((ew_unary_t)d->ew_code, TFM_FLOAT) ? MK_UNARY : MK_NONE;
  if (d->ew_class == EW_IS_BINARY && n->n_inputs == 2)
    return kern_binary_loop((ew_binary_t)d->ew_code, TFM_FLOAT) ? MK_BINARY : MK_NONE;
  if (!same) return MK_NONE;
  if (strcmp(n->type, "AddN") == 0) return MK_ADD_N;
  if (n->n_inputs == 1 && (strcmp(n->type, "Identity") == 0 || strcmp(n->type, "StopGradient") == 0 ||
                           strcmp(n->type, "Snapshot") == 0))
    return MK_IDENTITY;
  return MK_NONE;
}

/* ---- the compiler ---- */

typedef struct builder {
  plan_t *p;
  member_kind_t *kind;     /* per step */
  int *step_of_slot;       /* the step making each slot; -1 */
  int *step_of_node;       /* by node id; -1 */
  int n_nodes;
  int *const_of_slot;      /* index into p->const_value; -1 */
  int *reads;              /* per slot: step inputs and fetches reading it */
  /* the open program */
  small_prog_t *sp;
  int gen;                 /* stamps below are valid when equal to gen */
  int *skipped_gen;        /* per step: passed over while it was open */
  int *reg_gen, *reg_of;   /* per slot: its register in the open program */
  int *var_gen, *var_reg;  /* per variable index */
  int *member_reads;       /* per slot: reads by members of the open program */
  bool skipped_writer;     /* a passed-over step may write a variable */
  int *members;            /* steps of the open program, in order */
  int n_members;
  int reserved;            /* its place in the new step list */
  int cap_consts;          /* of sp->consts */
  plan_step_t *out;        /* the new step list */
  int n_out;
} builder_t;

static bool grow(void **arr, int *cap, int need, size_t size) {
  if (need <= *cap) return true;
  int c = *cap ? *cap * 2 : 32;
  while (c < need) c *= 2;
  void *a = mem_realloc(*arr, (size_t)c * size);
  if (!a) return false;
  *arr = a;
  *cap = c;
  return true;
}

static bool emit(small_prog_t *sp, sp_insn_t in) {
  if (!grow((void **)&sp->code, &sp->cap_code, sp->n_code + 1, sizeof *sp->code)) return false;
  sp->code[sp->n_code++] = in;
  return true;
}

/* Registers are numbered in two banks while a program is built: constants
 * (CONST_BANK | index) and the rest; finish() renumbers them so that constants
 * come first, set by one copy at the start of a run. */
#define CONST_BANK 0x8000

static int new_reg(builder_t *b, int count) {
  int reg = b->sp->n_regs;
  b->sp->n_regs += count;
  return reg;
}

/* The register holding input j of step k, loading it if needed; -1 when out of memory. */
static int input_reg(builder_t *b, int k, int j) {
  const plan_step_t *s = &b->p->steps[k];
  small_prog_t *sp = b->sp;
  int src = s->in_src[j];
  if (src >= 0 && b->reg_gen[src] == b->gen) return b->reg_of[src];
  if (src < 0 && b->var_gen[~src] == b->gen) return b->var_reg[~src];
  int reg, count = small_count(s->node->inputs[j]);
  if (src >= 0 && b->const_of_slot[src] >= 0 &&
      b->p->const_value[b->const_of_slot[src]]->num_elements == count) {
    if (!grow((void **)&sp->consts, &b->cap_consts, sp->n_consts + count, sizeof *sp->consts))
      return -1;
    const tensor_t *t = b->p->const_value[b->const_of_slot[src]];
    memcpy(sp->consts + sp->n_consts, t->data, sizeof(float) * (size_t)count);
    reg = CONST_BANK | sp->n_consts;
    sp->n_consts += count;
  } else {
    if (!grow((void **)&sp->loads, &sp->cap_loads, sp->n_loads + 1, sizeof *sp->loads)) return -1;
    reg = new_reg(b, count);
    sp->loads[sp->n_loads++] = (sp_load_t){.src = src, .reg = (uint16_t)reg, .n = (uint16_t)count,
                                           .reader = s->node, .input = j};
  }
  if (src >= 0) {
    b->reg_gen[src] = b->gen;
    b->reg_of[src] = reg;
  } else {
    b->var_gen[~src] = b->gen;
    b->var_reg[~src] = reg;
  }
  return reg;
}

/* Register floats step k would add to the open program, at most (AddN makes
 * one value per addition). */
static int regs_needed(const builder_t *b, int k) {
  const node_t *n = b->p->steps[k].node;
  int total = small_count(&n->outputs[0]) * (n->n_inputs > 1 ? n->n_inputs : 1);
  for (int j = 0; j < n->n_inputs; j++) total += small_count(n->inputs[j]);
  return total;
}

/* May step k (a possible member) join the open program, which runs before the
 * steps passed over since it began? */
static bool may_join(const builder_t *b, int k) {
  const plan_step_t *s = &b->p->steps[k];
  if (b->sp->n_regs + b->sp->n_consts + regs_needed(b, k) > SP_MAX_REGS) return false;
  for (int j = 0; j < s->n_in; j++) {
    int src = s->in_src[j];
    if (src < 0) {
      if (b->skipped_writer) return false;
      continue;
    }
    int prod = b->step_of_slot[src];
    if (prod >= 0 && b->skipped_gen[prod] == b->gen) return false;
  }
  const node_t *n = s->node;
  for (int j = 0; j < n->n_control_inputs; j++) {
    int id = n->control_inputs[j]->id;
    int dep = id >= 0 && id < b->n_nodes ? b->step_of_node[id] : -1;
    if (dep >= 0 && b->skipped_gen[dep] == b->gen) return false;
  }
  return true;
}

static sp_insn_t insn(sp_op_t op, int n, int dst, int a, int b) {
  return (sp_insn_t){.op = (uint8_t)op, .n = (uint16_t)n, .dst = (uint16_t)dst, .a = (uint16_t)a,
                     .b = (uint16_t)b, .sa = 1, .sb = 1};
}

/* Emits out = op(in...) for member k of kind MK_UNARY / MK_BINARY; returns out's
 * register, -1 when out of memory. One-element arithmetic runs inline; the rest
 * through the kernels' loops, which give the kernels' results by construction. */
static int emit_elementwise(builder_t *b, int k) {
  const plan_step_t *s = &b->p->steps[k];
  const node_t *node = s->node;
  int n = small_count(&node->outputs[0]);
  int a = input_reg(b, k, 0);
  if (a == -1) return -1;
  if (b->kind[k] == MK_UNARY) {
    ew_unary_t code = (ew_unary_t)node->def->ew_code;
    if (code == EW_IDENTITY) return a;
    int out = new_reg(b, n);
    sp_insn_t in = insn(SP_UNARY, n, out, a, 0);
    if (n == 1 && code == EW_NEG) in.op = SP_NEG;
    else if (n == 1 && code == EW_SQUARE) in.op = SP_SQUARE;
    else in.fn.unary = kern_unary_loop(code, TFM_FLOAT);
    return emit(b->sp, in) ? out : -1;
  }
  int c = input_reg(b, k, 1);
  if (c == -1) return -1;
  ew_binary_t code = (ew_binary_t)node->def->ew_code;
  int out = new_reg(b, n);
  sp_insn_t in = insn(SP_BINARY, n, out, a, c);
  in.sa = small_count(node->inputs[0]) == n;
  in.sb = small_count(node->inputs[1]) == n;
  in.fn.binary = kern_binary_loop(code, TFM_FLOAT);
  if (n == 1) {
    switch (code) {
      case EW_ADD: in.op = SP_ADD; break;
      case EW_SUB: in.op = SP_SUB; break;
      case EW_MUL: in.op = SP_MUL; break;
      case EW_DIV: in.op = SP_DIV; break;
      default: break;
    }
  }
  return emit(b->sp, in) ? out : -1;
}

/* Adds step k to the open program. False when out of memory. */
static bool add_member(builder_t *b, int k) {
  const plan_step_t *s = &b->p->steps[k];
  int out = -1;
  b->members[b->n_members++] = k;
  for (int j = 0; j < s->n_in; j++)
    if (s->in_src[j] >= 0) b->member_reads[s->in_src[j]]++;
  int n = small_count(&s->node->outputs[0]);
  switch (b->kind[k]) {
    case MK_IDENTITY: /* the same register */
      out = input_reg(b, k, 0);
      break;
    case MK_ADD_N: /* in input order, as kern_add_n adds */
      out = input_reg(b, k, 0);
      for (int j = 1; j < s->n_in && out != -1; j++) {
        int x = input_reg(b, k, j);
        if (x == -1) return false;
        int dst = new_reg(b, n);
        sp_insn_t in = insn(n == 1 ? SP_ADD : SP_BINARY, n, dst, out, x);
        in.fn.binary = kern_binary_loop(EW_ADD, TFM_FLOAT);
        out = emit(b->sp, in) ? dst : -1;
      }
      break;
    case MK_SUM: {
      int x = input_reg(b, k, 0);
      if (x == -1) return false;
      out = new_reg(b, 1);
      sp_insn_t in = insn(SP_SUM, small_count(s->node->inputs[0]), out, x, 0);
      in.fn.sum = kern_sum_f32_loop();
      if (!emit(b->sp, in)) return false;
      break;
    }
    case MK_UNARY:
    case MK_BINARY: out = emit_elementwise(b, k); break;
    default: return false;
  }
  if (out == -1) return false;
  b->reg_gen[s->out_base] = b->gen;
  b->reg_of[s->out_base] = out;
  return true;
}

static void program_step(small_prog_t *sp, plan_step_t *step) {
  *step = (plan_step_t){.compute = small_prog_compute, .node = sp->rt.node, .rt = &sp->rt,
                        .in_src = NULL, .n_in = 0, .n_out = 0, .direct = true};
}

static int renumber(int reg, int n_consts) {
  return reg & CONST_BANK ? reg & ~CONST_BANK : reg + n_consts;
}

/* Closes the open program: a single member stays a step of its own; otherwise
 * the values read outside become stores, registers are renumbered, and the
 * program takes its place in the new step list. False when out of memory. */
static bool finish(builder_t *b) {
  small_prog_t *sp = b->sp;
  if (!sp) return true;
  b->sp = NULL;
  if (b->n_members < 2) {
    if (b->n_members == 1) b->out[b->reserved] = b->p->steps[b->members[0]];
    prog_free(sp);
    return true;
  }
  int n_stores = 0;
  for (int i = 0; i < b->n_members; i++) {
    const plan_step_t *s = &b->p->steps[b->members[i]];
    n_stores += b->reads[s->out_base] > b->member_reads[s->out_base];
  }
  sp->stores = mem_calloc((size_t)n_stores + 1, sizeof *sp->stores);
  if (!sp->stores) {
    prog_free(sp);
    return false;
  }
  for (int i = 0; i < b->n_members; i++) {
    const plan_step_t *s = &b->p->steps[b->members[i]];
    int slot = s->out_base;
    if (b->reads[slot] <= b->member_reads[slot]) continue;
    const output_t *o = &s->node->outputs[0];
    sp->stores[sp->n_stores++] = (sp_store_t){
        .slot = slot, .reg = (uint16_t)renumber(b->reg_of[slot], sp->n_consts), .node = s->node,
        .out = {.dtype = TFM_FLOAT, .shape = o->shape, .n = small_count(o)}};
  }
  for (int i = 0; i < b->n_members; i++) b->member_reads[b->p->steps[b->members[i]].out_base] = 0;
  for (int i = 0; i < b->n_members; i++) {
    const plan_step_t *s = &b->p->steps[b->members[i]];
    for (int j = 0; j < s->n_in; j++)
      if (s->in_src[j] >= 0) b->member_reads[s->in_src[j]] = 0;
  }
  sp->read_slots = mem_calloc((size_t)sp->n_loads + 1, sizeof *sp->read_slots);
  sp->write_slots = mem_calloc((size_t)sp->n_stores + 1, sizeof *sp->write_slots);
  if (!sp->read_slots || !sp->write_slots) {
    prog_free(sp);
    return false;
  }
  for (int i = 0; i < sp->n_loads; i++)
    if (sp->loads[i].src >= 0) sp->read_slots[sp->n_read_slots++] = sp->loads[i].src;
  for (int i = 0; i < sp->n_stores; i++) sp->write_slots[i] = sp->stores[i].slot;
  for (int i = 0; i < sp->n_loads; i++) sp->loads[i].reg = (uint16_t)renumber(sp->loads[i].reg, sp->n_consts);
  for (int i = 0; i < sp->n_code; i++) {
    sp_insn_t *in = &sp->code[i];
    in->dst = (uint16_t)renumber(in->dst, sp->n_consts);
    in->a = (uint16_t)renumber(in->a, sp->n_consts);
    in->b = (uint16_t)renumber(in->b, sp->n_consts);
  }
  sp->n_regs += sp->n_consts;
  sp->next = b->p->small_progs;
  b->p->small_progs = sp;
  program_step(sp, &b->out[b->reserved]);
  return true;
}

/* Opens a program at step k (a possible member). False when out of memory. */
static bool start(builder_t *b, int k) {
  small_prog_t *sp = mem_calloc(1, sizeof *sp);
  if (!sp) return false;
  sp->plan = b->p;
  sp->rt.node = b->p->steps[k].node;
  sp->rt.state = sp;
  b->sp = sp;
  b->gen++;
  b->cap_consts = 0;
  b->n_members = 0;
  b->skipped_writer = false;
  b->reserved = b->n_out++;
  return add_member(b, k);
}

static bool writes_variables(const plan_step_t *s) {
  return s->ref_op || (s->node->def->flags & OP_STATEFUL);
}

static void builder_free(builder_t *b) {
  if (b->sp) prog_free(b->sp);
  mem_free(b->kind);
  mem_free(b->step_of_slot);
  mem_free(b->step_of_node);
  mem_free(b->const_of_slot);
  mem_free(b->reads);
  mem_free(b->skipped_gen);
  mem_free(b->reg_gen);
  mem_free(b->reg_of);
  mem_free(b->var_gen);
  mem_free(b->var_reg);
  mem_free(b->member_reads);
  mem_free(b->members);
  mem_free(b->out);
}

static bool builder_init(builder_t *b, plan_t *p) {
  int n = p->n_steps, slots = p->n_slots + 1, vars = p->n_vars + 1;
  b->p = p;
  b->n_nodes = p->session->graph->n_nodes;
  b->kind = mem_calloc((size_t)n + 1, sizeof *b->kind);
  b->step_of_slot = mem_alloc(sizeof(int) * (size_t)slots);
  b->step_of_node = mem_alloc(sizeof(int) * ((size_t)b->n_nodes + 1));
  b->const_of_slot = mem_alloc(sizeof(int) * (size_t)slots);
  b->reads = mem_calloc((size_t)slots, sizeof(int));
  b->skipped_gen = mem_calloc((size_t)n + 1, sizeof(int));
  b->reg_gen = mem_calloc((size_t)slots, sizeof(int));
  b->reg_of = mem_calloc((size_t)slots, sizeof(int));
  b->var_gen = mem_calloc((size_t)vars, sizeof(int));
  b->var_reg = mem_calloc((size_t)vars, sizeof(int));
  b->member_reads = mem_calloc((size_t)slots, sizeof(int));
  b->members = mem_alloc(sizeof(int) * ((size_t)n + 1));
  b->out = mem_calloc((size_t)n + 1, sizeof *b->out);
  if (!b->kind || !b->step_of_slot || !b->step_of_node || !b->const_of_slot || !b->reads ||
      !b->skipped_gen || !b->reg_gen || !b->reg_of || !b->var_gen ||
      !b->var_reg || !b->member_reads || !b->members || !b->out)
    return false;
  for (int i = 0; i < slots; i++) b->step_of_slot[i] = b->const_of_slot[i] = -1;
  for (int i = 0; i <= b->n_nodes; i++) b->step_of_node[i] = -1;
  for (int i = 0; i < p->n_consts; i++) {
    const tensor_t *t = p->const_value[i];
    if (t && t->dtype == TFM_FLOAT && t->num_elements >= 1 && t->num_elements <= SP_MAX_VALUE)
      b->const_of_slot[p->const_slot[i]] = i;
  }
  for (int k = 0; k < n; k++) {
    const plan_step_t *s = &p->steps[k];
    for (int i = 0; i < s->n_out; i++) b->step_of_slot[s->out_base + i] = k;
    int id = s->node->id;
    if (id >= 0 && id < b->n_nodes) b->step_of_node[id] = k;
    for (int j = 0; j < s->n_in; j++)
      if (s->in_src[j] >= 0) b->reads[s->in_src[j]]++;
    b->kind[k] = member_kind(s);
  }
  for (int i = 0; i < p->n_fetches; i++)
    if (p->fetch_src[i] >= 0) b->reads[p->fetch_src[i]]++;
  return true;
}

tfm_code plan_small_programs(plan_t *p, tfm_status *st) {
  if (!fuse_enabled() || p->n_steps < 2 || p->deadness || !p->prepared) return TFM_OK;
  builder_t b = {0};
  bool ok = builder_init(&b, p);
  for (int k = 0; k < p->n_steps && ok; k++) {
    if (b.kind[k] != MK_NONE) {
      if (b.sp && may_join(&b, k)) {
        ok = add_member(&b, k);
        continue;
      }
      ok = finish(&b) && start(&b, k);
      continue;
    }
    b.out[b.n_out++] = p->steps[k];
    if (b.sp) {
      b.skipped_gen[k] = b.gen;
      b.skipped_writer |= writes_variables(&p->steps[k]);
    }
  }
  ok = ok && finish(&b);
  if (ok && p->small_progs) {
    mem_free(p->steps);
    p->steps = b.out;
    p->n_steps = b.n_out;
    b.out = NULL;
  }
  builder_free(&b);
  return ok ? TFM_OK : status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory compiling small programs");
}
