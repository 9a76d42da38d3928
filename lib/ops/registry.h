/* The op registry: each op type is defined once, in one file of lib/ops/ per
 * family, with its attributes, shape function, kernel and gradient together:
 *
 *   static tfm_code square_infer(node_t *n, tfm_status *st) { ... }
 *   static tfm_code square_compute(kctx_t *c) { ... }
 *   static tfm_code square_grad(grad_ctx_t *g) { ... }
 *   const op_def_t ops_math[] = { {.name = "Square", .n_inputs = 1, ...}, ... };
 *
 * registry.c lists the family tables; op_registry_find() looks types up. */
#ifndef TFM_OPS_REGISTRY_H
#define TFM_OPS_REGISTRY_H

#include "graph/graph.h"

typedef struct tfm_session session_t; /* lib/runtime/session.h */

/* ---- attribute schema ---- */
typedef struct attr_def {
  const char *name;
  attr_kind_t kind;
  /* default value; kind ATTR_NONE = required */
  attr_value_t fallback;
} attr_def_t;

/* ---- the kernel context: what compute() sees ---- */
typedef struct kctx {
  const node_t *node;
  session_t *session;
  tensor_t *const *in;   /* input values; for a ref input, the variable's tensor
                            (NULL when the variable is not initialised) */
  int n_in;
  tensor_t **out;        /* set through kctx_alloc_output / kctx_set_output only (never
                            assigned directly: an entry may hold last run's tensor,
                            which those calls reuse or release) */
  int n_out;
  tensor_t **ref;        /* for ops with OP_REF_INPUT0: the variable's storage slot of
                            input 0; NULL otherwise. *ref == in[0]. To update, either
                            write (*ref)->data in place, or store a NEW tensor in *ref
                            (one owned reference) WITHOUT releasing the old one: a
                            concurrent run may be reading it, and the session retires
                            it once safe. *ref is NULL for an uninitialised variable;
                            only Assign may then run (other ref ops never see NULL: the
                            session reports the uninitialised value). A stored value
                            must not alias an input (inputs may be a caller's feed):
                            copy it. */
  void **state;          /* per-node state kept by the session across runs
                            (e.g. a random generator); starts NULL; freed with
                            op_def.free_state */
  tfm_status *st;
  struct frame *frame;   /* the executor's bookkeeping for this run; NULL when a kernel
                            is called outside a session (tests, constant folding) */
} kctx_t;

/* Allocates output i (dtype and shape given). The executor may hand back a buffer
 * kept from the previous run of the same plan, so a steady-state run allocates
 * nothing. Contents are undefined. NULL on error (status set, naming the op). */
tensor_t *kctx_alloc_output(kctx_t *c, int i, tfm_dtype dtype, const shape_t *shape);
/* Sets output i to `t` (adds a reference): for ops that pass a tensor through
 * (Identity, Reshape of a contiguous buffer, VariableV2). */
void kctx_set_output(kctx_t *c, int i, tensor_t *t);
/* Sets output i to a view of `base`'s buffer with `shape` (same element count):
 * Reshape, ExpandDims, Squeeze. Reuses last run's view header, so a steady-state
 * run allocates nothing. NULL on error (status set, naming the op). */
tensor_t *kctx_set_output_view(kctx_t *c, int i, tensor_t *base, const shape_t *shape);
/* Marks output i dead (Switch's branch not taken): ops fed by it do not run. */
void kctx_set_dead(kctx_t *c, int i);
/* Whether an input value is dead (only OP_TAKES_DEAD kernels ever see one). */
bool kctx_is_dead(const tensor_t *t);
/* Reports an error prefixed with the op's type and name:
 * "MatMul 'dense/MatMul': inner dimensions differ: [8,3] x [4,2]". */
tfm_code kctx_error(kctx_t *c, tfm_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- the gradient context: what gradient() sees ----
 * gradient() builds ops (through the public builders, in the graph `g`, under the
 * name scope "gradients/<op name>_grad" that the caller has pushed) computing the
 * gradient of each input from the gradients of the outputs. */
typedef struct grad_ctx {
  graph_t *g;
  node_t *op;            /* the forward op */
  output_t *const *dy;   /* gradient of each output; NULL where none flows */
  int n_dy;
  output_t **dx;         /* to set: gradient of each input; leave NULL for none */
  int n_dx;
  tfm_status *st;
} grad_ctx_t;

/* ---- flags ---- */
enum {
  OP_STATEFUL = 1 << 0,     /* not a pure function of its inputs: never folded or cached */
  OP_VARIABLE = 1 << 1,     /* output 0 is a variable's storage (ref) */
  OP_REF_INPUT0 = 1 << 2,   /* input 0 must be a variable ref; kernel gets c->ref */
  OP_NO_GRADIENT = 1 << 3,  /* not differentiable: no gradient flows through (Shape,
                               comparisons, ArgMax...); distinct from a missing gradient */
  OP_VARIADIC = 1 << 4,     /* input count is checked by infer() (AddN, SaveV2 ...) */
  OP_DEAD_OUTPUTS = 1 << 5, /* may leave outputs dead (Switch): plans holding it track
                               deadness, skipping ops with a dead data or control input */
  OP_TAKES_DEAD = 1 << 6    /* runs while some inputs are dead (Merge); dead only when all
                               its data inputs or any control input is */
};
/* Note for new ops: the plan compiler computes once, when a plan is compiled, an
 * op of the pure families (array, layout, strided_slice, math, nn, control) whose
 * inputs are all constant, and does not run one whose outputs no run reads
 * (runtime/prepare.c). An op with any effect beyond its outputs (I/O, a check
 * that fails on purpose, state) must carry OP_STATEFUL. */

/* ---- plan-time preparation ----
 * When a plan is compiled most shapes are fixed: inferred at build time, or fed
 * with a fully defined placeholder shape. For such a step the compiler asks the
 * op's prepare() for a kernel specialised to them: attrs decoded, the output
 * shape and the inner loop chosen once. A run then calls k->run instead of
 * compute(), with no string compares, shape arithmetic or dispatch beyond it.
 * run() must give the same results as compute() (bit for bit) and check what
 * memory safety needs (input element counts), calling compute() when they differ. */
typedef struct kprep kprep_t;
struct kprep {
  tfm_code (*run)(kctx_t *c, const kprep_t *k);
  void (*loop)(void);         /* an inner loop the op picked (cast back by the op) */
  tfm_dtype dtype;            /* output 0 */
  shape_t shape;              /* output 0 */
  int64_t n;                  /* output 0's element count */
  int64_t arg[4];             /* op-specific: expected input counts, steps, ... */
  bool mask[TFM_MAX_RANK];    /* op-specific: reduced axes, ... */
};

/* kctx_alloc_output(c, i, k->dtype, &k->shape) for prepared kernels, with the
 * steady-state case (last run's tensor, held by the slot alone) checked inline. */
static inline tensor_t *kctx_prepared_output(kctx_t *c, int i, const kprep_t *k) {
  tensor_t *t = c->out[i];
  if (t && t->num_elements == k->n && t->dtype == k->dtype && k->dtype != TFM_STRING &&
      !t->borrowed && !t->dealloc && t->shape.rank == k->shape.rank &&
      atomic_load_explicit(&t->refs, memory_order_acquire) == 1) {
    bool same = true;
    for (int d = 0; d < k->shape.rank; d++) same &= t->shape.dim[d] == k->shape.dim[d];
    if (same) return t;
  }
  return kctx_alloc_output(c, i, k->dtype, &k->shape);
}

/* Element-wise classification, used by the plan compiler to fuse chains. */
typedef enum ew_class { EW_NOT = 0, EW_IS_UNARY, EW_IS_BINARY } ew_class_t;

struct op_def {
  const char *name;          /* TensorFlow's op type name */
  int n_inputs;              /* fixed data input count (ignored with OP_VARIADIC) */
  int n_outputs;             /* fixed output count, unless num_outputs is set */
  int (*num_outputs)(const node_t *n); /* for ops whose output count depends on attrs */
  const attr_def_t *attrs;   /* terminated by {NULL} */
  /* Sets dtype/shape (and const_value when cheap and inputs are known) of every
   * output from the inputs and attrs. Reports mismatches naming op and shapes. */
  tfm_code (*infer)(node_t *n, tfm_status *st);
  /* Runs the op. NULL: the op cannot run here (its graph may still be imported). */
  tfm_code (*compute)(kctx_t *c);
  /* Builds the gradient. NULL: no gradient defined (tf.gradients through it fails
   * with a message naming the op), unless OP_NO_GRADIENT. */
  tfm_code (*gradient)(grad_ctx_t *g);
  void (*free_state)(void *state);
  unsigned flags;
  ew_class_t ew_class;       /* for fusion: element-wise unary / binary */
  int ew_code;               /* ew_unary_t or ew_binary_t when ew_class is set */
  /* Optional (see kprep above): called when a plan is compiled with every input
   * and output shape of `n` fully defined (n->inputs[i]->shape, which the run's
   * values will have) and in_const[i] the value of input i when the plan knows it
   * (NULL otherwise: computed or fed). Fills k and returns true, or returns false
   * to leave the step to compute(). */
  bool (*prepare)(const node_t *n, tensor_t *const *in_const, kprep_t *k);
};

const op_def_t *op_registry_find(const char *type);
/* Every registered def (for docs and the op list test). */
int op_registry_count(void);
const op_def_t *op_registry_at(int i);

/* Family tables, each terminated by an entry with name == NULL. */
extern const op_def_t ops_array[];   /* Const, Placeholder, Identity, Reshape, Shape, ... */
extern const op_def_t ops_layout[];  /* Transpose, Tile, Pack, Unpack, ConcatV2, Slice, Pad */
extern const op_def_t ops_strided_slice[]; /* StridedSlice, StridedSliceGrad */
extern const op_def_t ops_math[];    /* AddV2, Sub, Mul, ..., Sum, Mean, MatMul, Cast */
extern const op_def_t ops_nn[];      /* Relu, Sigmoid, Softmax, Conv2D, BiasAdd, MaxPool ... */
extern const op_def_t ops_state[];   /* VariableV2, Assign, AssignAdd, AssignSub */
extern const op_def_t ops_random[];  /* RandomStandardNormal, TruncatedNormal, RandomUniform */
extern const op_def_t ops_training[];/* ApplyGradientDescent, ApplyMomentum, ApplyAdam */
extern const op_def_t ops_control[]; /* NoOp, StopGradient, control flow helpers */
extern const op_def_t ops_io[];      /* SaveV2, RestoreV2 (kernels call lib/io) */
extern const op_def_t ops_parsing[]; /* ParseExample (imported, not run) */
extern const op_def_t ops_gather[];  /* GatherV2, Gather, UnsortedSegmentSum, DynamicStitch */
extern const op_def_t ops_summary[]; /* ScalarSummary, HistogramSummary, MergeSummary */
extern const op_def_t ops_activations[]; /* Relu6, Elu, Selu, LeakyRelu, Softsign and their grads */

/* Reports an error about node n, prefixed with its type and name:
 * "Reshape 'r': cannot reshape 6 elements of [2,3] ('c:0') into [4]". Returns code. */
tfm_code node_error(const node_t *n, tfm_status *st, tfm_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Shape-function helpers shared by the families. */
tfm_code infer_same_as_input0(node_t *n, tfm_status *st);
tfm_code infer_broadcast_binary(node_t *n, tfm_status *st);
/* Reads a known constant int vector input (axes, dims); false when not known. */
bool input_const_ints(const node_t *n, int input, int64_t *vals, int max, int *count);
/* Same for a known constant int input of any rank, read flat in row-major order
 * (paddings [rank, 2]). */
bool input_const_ints_flat(const node_t *n, int input, int64_t *vals, int max, int *count);

#endif
