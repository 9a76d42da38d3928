/* The run-time half of fusion (see fuse.h): each run classifies the group's
 * values from the actual inputs, turns the group into a short tile program, and
 * runs it over the pool; or runs the original steps when the group does not fit.
 *
 * The tile program is a list of instructions over tile buffers: a unary or binary
 * SIMD loop (ew_loops of the level in force), the sum or dot product of a tile
 * added to an accumulator (dense_ops), or a copy of a tile to a fetched output.
 * Two rewrites keep passes few: a product (or square) read only by a full
 * reduction becomes a dot product without being stored, and a negation read only
 * by reductions becomes the sign of their accumulators (exact in IEEE arithmetic). */
#include <string.h>

#include "core/mem.h"
#include "core/threadpool.h"
#include "kernels/dense_levels.h"
#include "kernels/ew_simd.h"
#include "kernels/fuse_vm.h"
#include "runtime/fuse.h"

#define FUSE_MAX_ACC 16

enum { I_UNARY, I_BINARY, I_SUM, I_DOT, I_STORE };
enum { O_NONE, O_VAL, O_EXT, O_UNI, O_BUF };

typedef struct opnd {
  int kind; /* O_VAL (a member's tile, until buffers are assigned: O_BUF), O_EXT, O_UNI */
  int idx;
} opnd_t;

typedef struct instr {
  int op, code;
  int dst;       /* member (then buffer) for UNARY/BINARY, accumulator, or escape */
  opnd_t a, b;
  double sign;
} instr_t;

/* What a run knows about one value of the group. */
typedef struct fval {
  shape_t shape;
  int64_t n;
  bool varying;
  float u;       /* uniform: the value */
  int root;      /* varying: the member whose instruction makes it, or ~external */
  int acc;       /* full reductions: the accumulator; -1 */
} fval_t;

struct fuse_scratch {
  fval_t *val;      /* members, then externals */
  float *uval;      /* uniform values, same indexing */
  instr_t *prog;
  int n_prog, cap_prog;
  bool *dot_fold, *neg_fold;
  bool *live;       /* read by a live member or needed outside */
  int *last_use, *buf_of;
  float **out_ptr;  /* per escape: its data (varying escapes) */
  const float **ext_ptr;
  double *partial;  /* n_tasks x n_acc */
  int64_t cap_partial;
  int acc_member[FUSE_MAX_ACC];
  double acc_scale[FUSE_MAX_ACC]; /* the vector machine's: factors peeled off (vm_peel) */
  int n_acc;
  bool vm_used;
  /* the same program for the vector machine, when every op is one it has */
  vm_op_t *vm;
  int n_vm, cap_vm;
  int *uses, *saved;   /* per member: readers of its value; its temp, -1 */
  int n_tmp, depth, tos_tmp;
};

void fuse_scratch_free(fuse_scratch_t *s) {
  if (!s) return;
  mem_free(s->val);
  mem_free(s->uval);
  mem_free(s->prog);
  mem_free(s->dot_fold);
  mem_free(s->neg_fold);
  mem_free(s->live);
  mem_free(s->last_use);
  mem_free(s->buf_of);
  mem_free(s->out_ptr);
  mem_free(s->ext_ptr);
  mem_free(s->partial);
  mem_free(s->vm);
  mem_free(s->uses);
  mem_free(s->saved);
  mem_free(s);
}

static fuse_scratch_t *scratch_new(const fuse_group_t *g) {
  fuse_scratch_t *s = mem_calloc(1, sizeof *s);
  if (!s) return NULL;
  size_t nv = (size_t)g->n_members + (size_t)g->n_ext + 1;
  s->cap_prog = 2 * g->n_members + 2;
  s->val = mem_calloc(nv, sizeof *s->val);
  s->uval = mem_calloc(nv, sizeof *s->uval);
  s->prog = mem_calloc((size_t)s->cap_prog, sizeof *s->prog);
  s->dot_fold = mem_calloc(nv, sizeof *s->dot_fold);
  s->neg_fold = mem_calloc(nv, sizeof *s->neg_fold);
  s->live = mem_calloc(nv, sizeof *s->live);
  s->last_use = mem_calloc(nv, sizeof *s->last_use);
  s->buf_of = mem_calloc(nv, sizeof *s->buf_of);
  s->out_ptr = mem_calloc((size_t)g->n_escapes + 1, sizeof *s->out_ptr);
  s->ext_ptr = mem_calloc((size_t)g->n_ext + 1, sizeof *s->ext_ptr);
  s->cap_vm = 4 * g->n_members + 8;
  s->vm = mem_calloc((size_t)s->cap_vm, sizeof *s->vm);
  s->uses = mem_calloc(nv, sizeof *s->uses);
  s->saved = mem_calloc(nv, sizeof *s->saved);
  if (!s->val || !s->uval || !s->prog || !s->dot_fold || !s->neg_fold || !s->live || !s->last_use ||
      !s->buf_of || !s->out_ptr || !s->ext_ptr || !s->vm || !s->uses || !s->saved) {
    fuse_scratch_free(s);
    return NULL;
  }
  return s;
}

/* ---- the fallback: the original steps, one by one ---- */

static tfm_code run_unfused(const fuse_group_t *g, kctx_t *c) {
  frame_t *f = c->frame;
  const plan_t *p = g->plan;
  for (int i = 0; i < g->n_members; i++) {
    const plan_step_t *s = &g->members[i].step;
    tensor_t *in[2];
    for (int j = 0; j < s->n_in && j < 2; j++) {
      int src = s->in_src[j];
      in[j] = src >= 0 ? f->values[src] : atomic_load(&p->vars[~src]->value);
    }
    kctx_t mc = {.node = s->node, .session = c->session, .in = in, .n_in = s->n_in,
                 .out = f->values + s->out_base, .n_out = 1, .state = &s->rt->state,
                 .st = c->st, .frame = f};
    tfm_code code = s->compute(&mc);
    if (code != TFM_OK) return code;
    if (!mc.out[0])
      return status_set(c->st, TFM_INTERNAL, "%s '%s' did not set output 0", s->node->type,
                        s->node->name);
  }
  for (int e = 0; e < g->n_escapes; e++) kctx_set_output(c, e, f->values[g->escape_slot[e]]);
  return TFM_OK;
}

/* ---- classification of a run's values ---- */

static bool read_ints(const tensor_t *t, int64_t *v, int max, int *n) {
  if (!t || (t->dtype != TFM_INT32 && t->dtype != TFM_INT64) || t->shape.rank > 1 ||
      t->num_elements > max)
    return false;
  *n = (int)t->num_elements;
  for (int i = 0; i < *n; i++)
    v[i] = t->dtype == TFM_INT32 ? ((const int32_t *)t->data)[i] : ((const int64_t *)t->data)[i];
  return true;
}

static int64_t count_of(const shape_t *s) {
  int64_t n = 1;
  for (int d = 0; d < s->rank; d++) n *= s->dim[d];
  return n;
}

typedef struct run {
  const fuse_group_t *g;
  fuse_scratch_t *s;
  kctx_t *c;
  const ew_loops_t *loops;
  int64_t n; /* elements of the varying values; 0 until one is seen */
} run_t;

static fval_t *val_of(run_t *r, int ref) {
  return ref >= 0 ? &r->s->val[ref] : &r->s->val[r->g->n_members + ~ref];
}

static bool join_n(run_t *r, int64_t n) {
  if (r->n == 0) r->n = n;
  return r->n == n;
}

static bool classify_externals(run_t *r) {
  const fuse_group_t *g = r->g;
  for (int e = 0; e < g->n_ext; e++) {
    const tensor_t *t = r->c->in[e];
    fval_t *v = &r->s->val[g->n_members + e];
    r->s->ext_ptr[e] = NULL;
    if (!t) return false;
    if (t->dtype != TFM_FLOAT) continue; /* a parameter (axes, shape) */
    v->shape = t->shape;
    v->n = t->num_elements;
    v->acc = -1;
    if (v->n == 0) return false;
    v->varying = v->n > 1;
    if (v->varying) {
      v->root = ~e;
      r->s->ext_ptr[e] = t->data;
      if (!join_n(r, v->n)) return false;
    } else {
      v->u = *(const float *)t->data;
    }
  }
  return true;
}

static bool classify_reduce(run_t *r, const fuse_member_t *m, const fval_t *x, fval_t *out) {
  int64_t axes[TFM_MAX_RANK * 2];
  int n_axes;
  if (!read_ints(r->c->in[m->param], axes, TFM_MAX_RANK * 2, &n_axes)) return false;
  bool mask[TFM_MAX_RANK] = {false};
  int rank = x->shape.rank;
  for (int i = 0; i < n_axes; i++) {
    int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (a < 0 || a >= rank) return false;
    mask[a] = true;
  }
  int64_t n_red = 1;
  out->shape.rank = 0;
  for (int d = 0; d < rank; d++) {
    if (mask[d]) n_red *= x->shape.dim[d];
    if (!mask[d]) out->shape.dim[out->shape.rank++] = x->shape.dim[d];
    else if (m->keep_dims) out->shape.dim[out->shape.rank++] = 1;
  }
  out->n = count_of(&out->shape);
  if (n_red == 0) return false;
  if (!x->varying) {
    out->varying = false;
    out->u = m->code == REDUCE_MEAN ? x->u : (float)((double)x->u * (double)n_red);
    return true;
  }
  if (out->n == x->n) { /* only size-1 axes: the same values */
    out->varying = true;
    out->root = x->root;
    return true;
  }
  if (out->n != 1 || r->s->n_acc >= FUSE_MAX_ACC) return false;
  out->varying = false;
  out->acc = r->s->n_acc;
  r->s->acc_member[r->s->n_acc++] = (int)(m - r->g->members);
  return true;
}

static bool classify_reshape(run_t *r, const fuse_member_t *m, const fval_t *x, fval_t *out) {
  int64_t dims[TFM_MAX_RANK];
  int rank, unknown = -1;
  if (!read_ints(r->c->in[m->param], dims, TFM_MAX_RANK, &rank)) return false;
  int64_t known = 1;
  for (int d = 0; d < rank; d++) {
    if (dims[d] == -1 && unknown < 0) {
      unknown = d;
    } else if (dims[d] < 0) {
      return false;
    } else {
      known *= dims[d];
    }
  }
  if (unknown >= 0) {
    if (known == 0 || x->n % known != 0) return false;
    dims[unknown] = x->n / known;
    known = x->n;
  }
  if (known != x->n) return false;
  out->shape.rank = rank;
  memcpy(out->shape.dim, dims, sizeof(int64_t) * (size_t)rank);
  out->n = x->n;
  return true;
}

static bool classify_tile(run_t *r, const fuse_member_t *m, const fval_t *x, fval_t *out) {
  int64_t mult[TFM_MAX_RANK];
  int k;
  if (x->varying || !read_ints(r->c->in[m->param], mult, TFM_MAX_RANK, &k) || k != x->shape.rank)
    return false;
  out->shape = x->shape;
  for (int d = 0; d < k; d++) {
    if (mult[d] < 0) return false;
    out->shape.dim[d] *= mult[d];
  }
  out->n = count_of(&out->shape);
  return out->n > 0;
}

static bool classify_member(run_t *r, int i) {
  const fuse_member_t *m = &r->g->members[i];
  fval_t *out = &r->s->val[i];
  const fval_t *a = val_of(r, m->op[0]);
  const fval_t *b = m->n_ops > 1 ? val_of(r, m->op[1]) : NULL;
  if (a->acc >= 0 && !b && (m->kind == FK_RESHAPE || m->kind == FK_IDENTITY)) {
    /* the reshape of a full reduction's result (a gradient given its variable's
     * shape): the same accumulator under another shape */
    *out = *a;
    return m->kind == FK_IDENTITY || classify_reshape(r, m, a, out);
  }
  /* otherwise a reduction's result is known only after the pass: a reader of it
   * in the group (possible when the axes are computed at run time) runs unfused */
  if (a->acc >= 0 || (b && b->acc >= 0)) return false;
  *out = *a;
  out->acc = -1;
  switch (m->kind) {
    case FK_UNARY:
      if (!a->varying) r->loops->unary[m->code][EW_DT_F32](&a->u, &out->u, 1);
      else out->root = i;
      return true;
    case FK_BINARY:
      if (m->same_shape && !shape_equal(&a->shape, &b->shape)) return false;
      if (shape_broadcast(&a->shape, &b->shape, &out->shape, "fused", NULL) != TFM_OK) return false;
      out->n = count_of(&out->shape);
      out->varying = a->varying || b->varying;
      if (!out->varying) {
        r->loops->binary[m->code][EW_DT_F32](&a->u, &b->u, &out->u, 1, 1, 1);
        return true;
      }
      out->root = i;
      return out->n == r->n;
    case FK_REDUCE: return classify_reduce(r, m, a, out);
    case FK_RESHAPE: return classify_reshape(r, m, a, out);
    case FK_TILE: return classify_tile(r, m, a, out);
    case FK_IDENTITY: return true;
  }
  return false;
}

/* Is member i the reduction that makes its accumulator (not a reshape sharing it)? */
static bool makes_accumulator(const fuse_scratch_t *s, int i) {
  return s->val[i].acc >= 0 && s->acc_member[s->val[i].acc] == i;
}

/* ---- the tile program ---- */

/* Members whose only use is one full reduction, and negations read only by
 * reductions (directly or through a folded product). */
static void decide_folds(run_t *r) {
  const fuse_group_t *g = r->g;
  fuse_scratch_t *s = r->s;
  int M = g->n_members;
  for (int i = 0; i < M; i++) s->dot_fold[i] = s->neg_fold[i] = s->live[i] = false;
  /* members nobody reads (a gradient only a control dependency waits for) */
  for (int i = M - 1; i >= 0; i--) {
    const fuse_member_t *m = &g->members[i];
    s->live[i] = s->live[i] || m->escape >= 0;
    for (int j = 0; j < m->n_ops && s->live[i]; j++)
      if (m->op[j] >= 0) s->live[m->op[j]] = true;
  }
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < M; i++) {
      const fuse_member_t *m = &g->members[i];
      const fval_t *v = &s->val[i];
      if (!v->varying || v->root != i) continue;
      bool want = pass == 0 ? (m->kind == FK_BINARY && m->code == EW_MUL &&
                               s->val[m->op[0] >= 0 ? m->op[0] : M + ~m->op[0]].varying &&
                               s->val[m->op[1] >= 0 ? m->op[1] : M + ~m->op[1]].varying) ||
                                  (m->kind == FK_UNARY && m->code == EW_SQUARE)
                            : m->kind == FK_UNARY && m->code == EW_NEG;
      if (!want) continue;
      /* every value with this root: no escapes; every reader a full reduction
       * (pass 0: exactly one) or, for negations, a folded product */
      int readers = 0;
      bool ok = true;
      for (int k = 0; k < M && ok; k++) {
        const fuse_member_t *mk = &g->members[k];
        if (!s->live[k]) continue;
        if (s->val[k].varying && s->val[k].root == i && mk->escape >= 0) ok = false;
        for (int j = 0; j < mk->n_ops && ok; j++) {
          const fval_t *o = val_of(r, mk->op[j]);
          if (!o->varying || o->root != i) continue;
          if (s->val[k].varying && s->val[k].root == i) continue; /* an alias of it */
          readers++;
          bool red = mk->kind == FK_REDUCE && s->val[k].acc >= 0;
          ok = red || (pass == 1 && s->dot_fold[k]);
        }
      }
      if (!ok || readers == 0 || (pass == 0 && readers != 1)) continue;
      if (pass == 0) s->dot_fold[i] = true;
      else s->neg_fold[i] = true;
    }
  }
}

static opnd_t operand(run_t *r, int ref, double *sign) {
  const fval_t *v = val_of(r, ref);
  int M = r->g->n_members;
  if (!v->varying) return (opnd_t){O_UNI, ref >= 0 ? ref : M + ~ref};
  int root = v->root;
  if (root >= 0 && r->s->neg_fold[root]) {
    *sign = -*sign;
    v = val_of(r, r->g->members[root].op[0]);
    root = v->root;
  }
  return root >= 0 ? (opnd_t){O_VAL, root} : (opnd_t){O_EXT, ~root};
}

static bool emit(run_t *r, instr_t in) {
  if (r->s->n_prog >= r->s->cap_prog) return false;
  r->s->prog[r->s->n_prog++] = in;
  return true;
}

static bool build_program(run_t *r) {
  const fuse_group_t *g = r->g;
  fuse_scratch_t *s = r->s;
  s->n_prog = 0;
  decide_folds(r);
  for (int i = 0; i < g->n_members; i++) {
    const fuse_member_t *m = &g->members[i];
    const fval_t *v = &s->val[i];
    double sign = 1;
    if (!s->live[i]) continue;
    if (v->varying && v->root == i && !s->dot_fold[i] && !s->neg_fold[i]) {
      instr_t in = {.op = m->kind == FK_UNARY ? I_UNARY : I_BINARY, .code = m->code, .dst = i};
      in.a = operand(r, m->op[0], &sign);
      if (m->n_ops > 1) in.b = operand(r, m->op[1], &sign);
      if (!emit(r, in)) return false;
    } else if (makes_accumulator(s, i)) {
      const fval_t *x = val_of(r, m->op[0]);
      instr_t in = {.op = I_SUM, .dst = v->acc};
      if (x->root >= 0 && s->dot_fold[x->root]) {
        const fuse_member_t *p = &g->members[x->root];
        in.op = I_DOT;
        in.a = operand(r, p->op[0], &sign);
        in.b = operand(r, p->n_ops > 1 ? p->op[1] : p->op[0], &sign);
        if (p->n_ops == 1) sign = 1; /* a square: the two signs cancel */
      } else {
        in.a = operand(r, m->op[0], &sign);
      }
      in.sign = sign;
      if (!emit(r, in)) return false;
    }
    if (m->escape >= 0 && v->varying) {
      opnd_t src = v->root >= 0 ? (opnd_t){O_VAL, v->root} : (opnd_t){O_EXT, ~v->root};
      if (!emit(r, (instr_t){.op = I_STORE, .dst = m->escape, .a = src})) return false;
    }
  }
  /* tile buffers: a value's buffer is free after its last reader */
  int M = g->n_members;
  for (int i = 0; i < M; i++) s->last_use[i] = -1;
  for (int k = 0; k < s->n_prog; k++) {
    instr_t *in = &s->prog[k];
    if (in->a.kind == O_VAL) s->last_use[in->a.idx] = k;
    if (in->b.kind == O_VAL) s->last_use[in->b.idx] = k;
  }
  bool busy[FUSE_MAX_BUFS] = {false};
  for (int k = 0; k < s->n_prog; k++) {
    instr_t *in = &s->prog[k];
    opnd_t *ops[2] = {&in->a, &in->b};
    for (int j = 0; j < 2; j++) {
      if (ops[j]->kind != O_VAL) continue;
      int member = ops[j]->idx;
      ops[j]->kind = O_BUF;
      ops[j]->idx = s->buf_of[member];
      if (s->last_use[member] == k) busy[s->buf_of[member]] = false;
    }
    if (in->op == I_UNARY || in->op == I_BINARY) {
      int b = 0;
      while (b < FUSE_MAX_BUFS && busy[b]) b++;
      if (b == FUSE_MAX_BUFS) return false;
      s->buf_of[in->dst] = b;
      busy[b] = s->last_use[in->dst] > k;
      in->dst = b;
    }
  }
  return true;
}

/* ---- the same program for the vector machine ---- */

/* Appends op, with two peepholes: a temp reloaded while the tos still holds it
 * is not reloaded, and a Mul by a single value followed by an Add of one becomes
 * one affine op (the same two roundings). */
static bool vm_emit(fuse_scratch_t *s, vm_op_t op) {
  if (op.op == VM_LOAD_TMP && s->tos_tmp == op.arg) return true;
  int add0 = VM_BIN(VM_SRC_UNI, VB_ADD, 0), mul0 = VM_BIN(VM_SRC_UNI, VB_MUL, 0);
  if ((op.op == add0 || op.op == add0 + 1) && s->n_vm > 0 &&
      (s->vm[s->n_vm - 1].op == mul0 || s->vm[s->n_vm - 1].op == mul0 + 1)) {
    vm_op_t *prev = &s->vm[s->n_vm - 1];
    *prev = (vm_op_t){.op = VM_AFFINE, .arg = prev->arg, .arg2 = op.arg};
    s->tos_tmp = -1;
    return true;
  }
  if (s->n_vm >= s->cap_vm) return false;
  s->vm[s->n_vm++] = op;
  if (op.op == VM_SAVE_TMP) s->tos_tmp = op.arg;
  else if (op.op != VM_PUSH && !(op.op >= VM_ACC && op.op <= VM_ACC_MUL_TMP) && op.op != VM_STORE)
    s->tos_tmp = -1;
  return true;
}

/* The machine's code for member m's op; -1 when it has none. Unary ops return
 * their opcode, binary ones a vm_code_t. */
static int vm_code_of(const fuse_member_t *m) {
  if (m->kind == FK_UNARY) {
    if (m->code == EW_NEG) return VM_NEG;
    if (m->code == EW_SQUARE) return VM_SQUARE;
    return -1;
  }
  switch (m->code) {
    case EW_ADD: return VB_ADD;
    case EW_SUB: return VB_SUB;
    case EW_MUL: return VB_MUL;
    case EW_DIV: return VB_DIV;
    case EW_SQUARED_DIFF: return VB_SQUARED_DIFF;
    default: return -1;
  }
}

static vm_op_t vm_op(int op, int arg) { return (vm_op_t){.op = (uint8_t)op, .arg = (int16_t)arg}; }

static bool vm_gen(run_t *r, int root);

/* At hand without computing: an input, or a value kept in a temp. */
static bool vm_at_hand(const fuse_scratch_t *s, int root) { return root < 0 || s->saved[root] >= 0; }

/* A value that is a uniform multiple of another (s * w, w * s, w / s, -w, and
 * chains of them), when it is not kept in a temp: returns w's root and multiplies
 * *scale by the factor. A reduction of the value then sums w and scales the sum
 * once, in double, instead of rounding a product per element: the chain rule
 * makes such chains (2 * d, / N, negations) of every loss gradient. */
static int vm_peel(run_t *r, int root, double *scale) {
  const fuse_scratch_t *s = r->s;
  while (root >= 0 && s->saved[root] < 0) {
    const fuse_member_t *m = &r->g->members[root];
    const fval_t *a = val_of(r, m->op[0]);
    if (m->kind == FK_UNARY && m->code == EW_NEG) {
      *scale = -*scale;
      root = a->root;
      continue;
    }
    if (m->kind != FK_BINARY || (m->code != EW_MUL && m->code != EW_DIV)) break;
    const fval_t *b = val_of(r, m->op[1]);
    if (a->varying && !b->varying) {
      *scale *= m->code == EW_MUL ? (double)b->u : 1.0 / (double)b->u;
      root = a->root;
    } else if (!a->varying && b->varying && m->code == EW_MUL) {
      *scale *= (double)a->u;
      root = b->root;
    } else {
      break;
    }
  }
  return root;
}

/* acc += the value of `root`: uniform factors peeled off (vm_peel), and a square
 * or a product with a value at hand folded into the accumulation when nothing
 * else reads it. */
static bool vm_accumulate(run_t *r, int root, int acc) {
  fuse_scratch_t *s = r->s;
  double scale = 1;
  root = vm_peel(r, root, &scale);
  s->acc_scale[acc] = scale;
  if (root >= 0 && s->saved[root] < 0 && s->uses[root] == 1) {
    const fuse_member_t *p = &r->g->members[root];
    if (p->kind == FK_UNARY && p->code == EW_SQUARE) {
      double f = 1;
      int x = vm_peel(r, val_of(r, p->op[0])->root, &f);
      s->acc_scale[acc] = scale * f * f;
      return vm_gen(r, x) && vm_emit(s, vm_op(VM_ACC_SQ, acc));
    }
    if (p->kind == FK_BINARY && p->code == EW_MUL) {
      const fval_t *va = val_of(r, p->op[0]), *vb = val_of(r, p->op[1]);
      double fa = 1, fb = 1;
      int a = va->varying ? vm_peel(r, va->root, &fa) : 0;
      int b = vb->varying ? vm_peel(r, vb->root, &fb) : 0;
      if (va->varying && vb->varying && (vm_at_hand(s, a) || vm_at_hand(s, b))) {
        if (!vm_at_hand(s, b)) {
          int t = a;
          a = b;
          b = t;
        }
        s->acc_scale[acc] = scale * fa * fb;
        if (!vm_gen(r, a)) return false;
        vm_op_t op = b < 0 ? vm_op(VM_ACC_MUL_EXT, acc) : vm_op(VM_ACC_MUL_TMP, acc);
        op.arg2 = (int16_t)(b < 0 ? ~b : s->saved[b]);
        return vm_emit(s, op);
      }
    }
  }
  return vm_gen(r, root) && vm_emit(s, vm_op(VM_ACC, acc));
}

/* Emits ops leaving the value of varying member (or ~external) `root` in tos. */
static bool vm_gen(run_t *r, int root) {
  fuse_scratch_t *s = r->s;
  if (root < 0) return vm_emit(s, vm_op(VM_LOAD_EXT, ~root));
  if (s->saved[root] >= 0) return vm_emit(s, vm_op(VM_LOAD_TMP, s->saved[root]));
  const fuse_member_t *m = &r->g->members[root];
  int code = vm_code_of(m);
  if (code < 0) return false;
  const fval_t *a = val_of(r, m->op[0]);
  if (m->kind == FK_UNARY) {
    if (!vm_gen(r, a->root) || !vm_emit(s, vm_op(code, 0))) return false;
  } else {
    const fval_t *b = val_of(r, m->op[1]);
    int M = r->g->n_members;
    if (!b->varying || !a->varying) {
      const fval_t *v = a->varying ? a : b;
      int u = a->varying ? m->op[1] : m->op[0];
      if (!vm_gen(r, v->root) ||
          !vm_emit(s, vm_op(VM_BIN(VM_SRC_UNI, code, !a->varying), u >= 0 ? u : M + ~u)))
        return false;
    } else if ((a->root < 0 || s->saved[a->root] >= 0) && b->root >= 0 && s->saved[b->root] < 0) {
      /* a is at hand, b is not: compute b, then a op tos */
      bool ext = a->root < 0;
      if (!vm_gen(r, b->root) ||
          !vm_emit(s, vm_op(VM_BIN(ext ? VM_SRC_EXT : VM_SRC_TMP, code, 1),
                            ext ? ~a->root : s->saved[a->root])))
        return false;
    } else if (!vm_gen(r, a->root)) {
      return false;
    } else if (b->root < 0) {
      if (!vm_emit(s, vm_op(VM_BIN(VM_SRC_EXT, code, 0), ~b->root))) return false;
    } else if (s->saved[b->root] >= 0) {
      if (!vm_emit(s, vm_op(VM_BIN(VM_SRC_TMP, code, 0), s->saved[b->root]))) return false;
    } else {
      if (++s->depth > FUSE_VM_MAX_STACK) return false;
      if (!vm_emit(s, vm_op(VM_PUSH, 0)) || !vm_gen(r, b->root) ||
          !vm_emit(s, vm_op(VM_BIN(VM_SRC_STACK, code, 1), 0)))
        return false;
      s->depth--;
    }
  }
  if (s->uses[root] > 1) { /* read again later: keep it */
    if (s->n_tmp >= FUSE_VM_MAX_TMP) return false;
    s->saved[root] = s->n_tmp++;
    return vm_emit(s, vm_op(VM_SAVE_TMP, s->saved[root]));
  }
  return true;
}

/* Counts the readers of each varying value, then emits one statement per
 * reduction and per value written out. False when an op is not one the machine
 * has or the temps run out: the tile program runs instead. */
static bool build_vm_program(run_t *r) {
  const fuse_group_t *g = r->g;
  fuse_scratch_t *s = r->s;
  int M = g->n_members;
  s->n_vm = s->n_tmp = s->depth = 0;
  s->tos_tmp = -1;
  if (g->n_ext > FUSE_VM_MAX_EXT || g->n_escapes > FUSE_VM_MAX_OUT || s->n_acc > FUSE_VM_MAX_ACC)
    return false;
  for (int i = 0; i < M; i++) {
    s->uses[i] = 0;
    s->saved[i] = -1;
  }
  for (int i = 0; i < M; i++) {
    const fuse_member_t *m = &g->members[i];
    const fval_t *v = &s->val[i];
    if (!s->live[i]) continue;
    bool computes = v->varying && v->root == i;
    if (computes || makes_accumulator(s, i))
      for (int j = 0; j < m->n_ops; j++) {
        const fval_t *o = val_of(r, m->op[j]);
        if (o->varying && o->root >= 0) s->uses[o->root]++;
      }
    if (m->escape >= 0 && v->varying && v->root >= 0) s->uses[v->root]++;
  }
  for (int i = 0; i < M; i++) {
    const fuse_member_t *m = &g->members[i];
    const fval_t *v = &s->val[i];
    if (!s->live[i]) continue;
    if (makes_accumulator(s, i)) {
      if (!vm_accumulate(r, val_of(r, m->op[0])->root, v->acc)) return false;
    }
    if (m->escape >= 0 && v->varying) {
      if (!vm_gen(r, v->root) || !vm_emit(s, vm_op(VM_STORE, m->escape)))
        return false;
    }
  }
  /* temps nobody reloads (the peephole kept the value in the tos) are not saved */
  int kept = 0;
  for (int k = 0; k < s->n_vm; k++) {
    vm_op_t op = s->vm[k];
    bool read = op.op != VM_SAVE_TMP;
    for (int j = k + 1; j < s->n_vm && !read; j++) {
      vm_op_t q = s->vm[j];
      bool tmp_src = q.op >= VM_BIN(VM_SRC_TMP, 0, 0) && q.op < VM_BIN(VM_SRC_STACK, 0, 0);
      read = ((q.op == VM_LOAD_TMP || tmp_src) && q.arg == op.arg) ||
             (q.op == VM_ACC_MUL_TMP && q.arg2 == op.arg);
    }
    if (read) s->vm[kept++] = op;
  }
  s->n_vm = kept;
  return true;
}

/* ---- the pass over the data ---- */

typedef struct pass {
  const fuse_scratch_t *s;
  fuse_vm_fn vm;        /* NULL: the tile program */
  int n_ext, n_out;
  const ew_loops_t *loops;
  const dense_ops_t *dense;
  int64_t n;
  int n_acc;
} pass_t;

static inline const float *resolve(const pass_t *ps, float (*bufs)[FUSE_TILE], opnd_t o,
                                   int64_t off, int *step) {
  *step = 1;
  switch (o.kind) {
    case O_BUF: return bufs[o.idx];
    case O_EXT: return ps->s->ext_ptr[o.idx] + off;
    default: *step = 0; return &ps->s->uval[o.idx];
  }
}

static void pass_task(void *arg, int64_t t) {
  const pass_t *ps = arg;
  const fuse_scratch_t *s = ps->s;
  float bufs[FUSE_MAX_BUFS][FUSE_TILE];
  double acc[FUSE_MAX_ACC] = {0};
  int64_t end = (t + 1) * FUSE_TASK < ps->n ? (t + 1) * FUSE_TASK : ps->n;
  for (int64_t off = t * FUSE_TASK; off < end; off += FUSE_TILE) {
    int64_t len = end - off < FUSE_TILE ? end - off : FUSE_TILE;
    if (ps->vm) {
      ps->vm(s->vm, s->n_vm, s->ext_ptr, ps->n_ext, s->uval, s->out_ptr, ps->n_out, off, len,
             ps->n_acc, acc);
      continue;
    }
    for (int k = 0; k < s->n_prog; k++) {
      const instr_t *in = &s->prog[k];
      int sa, sb;
      const float *a = resolve(ps, bufs, in->a, off, &sa);
      switch (in->op) {
        case I_UNARY: ps->loops->unary[in->code][EW_DT_F32](a, bufs[in->dst], len); break;
        case I_BINARY: {
          const float *b = resolve(ps, bufs, in->b, off, &sb);
          ps->loops->binary[in->code][EW_DT_F32](a, b, bufs[in->dst], len, sa, sb);
          break;
        }
        case I_SUM: acc[in->dst] += in->sign * (double)ps->dense->sum_f32(a, len); break;
        case I_DOT: {
          const float *b = resolve(ps, bufs, in->b, off, &sb);
          acc[in->dst] += in->sign * (double)ps->dense->dot_f32(a, b, len);
          break;
        }
        case I_STORE: memcpy(s->out_ptr[in->dst] + off, a, sizeof(float) * (size_t)len); break;
      }
    }
  }
  for (int i = 0; i < ps->n_acc; i++) s->partial[t * ps->n_acc + i] = acc[i];
}

/* Outputs of the fused step, before the pass: buffers for varying values, the
 * uniform ones filled. */
static bool prepare_outputs(run_t *r) {
  const fuse_group_t *g = r->g;
  for (int i = 0; i < g->n_members; i++) {
    const fuse_member_t *m = &g->members[i];
    const fval_t *v = &r->s->val[i];
    if (m->escape < 0) continue;
    tensor_t *t = kctx_alloc_output(r->c, m->escape, TFM_FLOAT, &v->shape);
    if (!t) return false;
    float *d = t->data;
    r->s->out_ptr[m->escape] = d;
    if (!v->varying && v->acc < 0)
      for (int64_t k = 0; k < v->n; k++) d[k] = v->u;
  }
  return true;
}

static void finish_reductions(run_t *r, int64_t n_tasks) {
  const fuse_group_t *g = r->g;
  fuse_scratch_t *s = r->s;
  for (int a = 0; a < s->n_acc; a++) {
    double sum = 0;
    for (int64_t t = 0; t < n_tasks; t++) sum += s->partial[t * s->n_acc + a];
    const fuse_member_t *m = &g->members[s->acc_member[a]];
    if (s->vm_used) sum *= s->acc_scale[a];
    if (m->code == REDUCE_MEAN) sum /= (double)r->n;
    float result = (float)sum;
    /* the reduction and the reshapes of its result */
    for (int i = 0; i < g->n_members; i++) {
      if (s->val[i].acc != a) continue;
      s->val[i].u = result;
      if (g->members[i].escape >= 0) s->out_ptr[g->members[i].escape][0] = result;
    }
  }
}

/* Returns 1 when the group ran fused, 0 when it does not fit (nothing written),
 * -1 on an error (status set). */
static int run_fused(run_t *r) {
  const fuse_group_t *g = r->g;
  fuse_scratch_t *s = r->s;
  s->n_acc = 0;
  if (!classify_externals(r)) return 0;
  for (int i = 0; i < g->n_members; i++)
    if (!classify_member(r, i)) return 0;
  if (r->n < FUSE_MIN_ELEMENTS) return 0;
  for (int i = 0; i < g->n_members + g->n_ext; i++) s->uval[i] = s->val[i].u;
  bool tiles_ok = build_program(r); /* also decides which members are live */
  bool use_vm = build_vm_program(r);
  s->vm_used = use_vm;
  if (!tiles_ok && !use_vm) return 0;
  int64_t n_tasks = (r->n + FUSE_TASK - 1) / FUSE_TASK;
  if (n_tasks * s->n_acc > s->cap_partial) {
    double *p = mem_realloc(s->partial, sizeof(double) * (size_t)(n_tasks * s->n_acc));
    if (!p) {
      status_set(r->c->st, TFM_RESOURCE_EXHAUSTED, "out of memory for a fused pass");
      return -1;
    }
    s->partial = p;
    s->cap_partial = n_tasks * s->n_acc;
  }
  if (!prepare_outputs(r)) return -1;
  pass_t ps = {.s = s, .vm = use_vm ? fuse_vm_current() : NULL, .n_ext = g->n_ext,
               .n_out = g->n_escapes, .loops = r->loops, .dense = dense_ops(), .n = r->n, .n_acc = s->n_acc};
  pool_parallel_for(n_tasks, pass_task, &ps);
  finish_reductions(r, n_tasks);
  return 1;
}

tfm_code fuse_compute(kctx_t *c) {
  fuse_group_t *g = *c->state;
  if (!c->frame) return kctx_error(c, TFM_INTERNAL, "a fused group runs only inside a session");
  if (pthread_mutex_trylock(&g->busy) != 0) return run_unfused(g, c);
  if (!g->scratch && !(g->scratch = scratch_new(g))) {
    pthread_mutex_unlock(&g->busy);
    return status_set(c->st, TFM_RESOURCE_EXHAUSTED, "out of memory for a fused group");
  }
  run_t r = {.g = g, .s = g->scratch, .c = c, .loops = ew_loops_current()};
  int done = run_fused(&r);
  pthread_mutex_unlock(&g->busy);
  if (done < 0) return status_code(c->st);
  return done ? TFM_OK : run_unfused(g, c);
}
