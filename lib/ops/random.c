/* The random op family: RandomStandardNormal, TruncatedNormal, RandomUniform and
 * RandomUniformInt. Each node keeps a Philox generator in its per-session state,
 * seeded from its seed/seed2 attrs on first run and advanced by every run, so a
 * graph with the same seeds yields the same sequence in every run of a program.
 * The builders mirror tf.random_normal & co: "<name>/shape", "<name>/mean",
 * "<name>/stddev", "<name>/RandomStandardNormal", "<name>/mul" and the Add "<name>". */
#include <string.h>

#include "core/mem.h"
#include "kernels/kernels.h"
#include "ops/build.h"
#include "tfmini/ops.h"

#define TYPE_ATTR(nm, dflt) {nm, ATTR_TYPE, {.kind = ATTR_TYPE, .u.type = (dflt)}}
#define INT_ATTR(nm, dflt) {nm, ATTR_I, {.kind = ATTR_I, .u.i = (dflt)}}

static const attr_def_t random_attrs[] = {
    INT_ATTR("seed", 0), INT_ATTR("seed2", 0), {"dtype", ATTR_TYPE, {0}}, TYPE_ATTR("T", TFM_INT32), {NULL}};

static const attr_def_t random_int_attrs[] = {
    INT_ATTR("seed", 0), INT_ATTR("seed2", 0), {"Tout", ATTR_TYPE, {0}}, TYPE_ATTR("T", TFM_INT32), {NULL}};

/* Output shape from the shape input: its value when known, else its length. */
static tfm_code shape_from_input(node_t *n, shape_t *out, tfm_status *st) {
  const output_t *s = n->inputs[0];
  if (s->dtype != TFM_INT32 && s->dtype != TFM_INT64)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "shape must be int32 or int64, got %s", dtype_name(s->dtype));
  if (s->shape.rank > 1)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "shape must be a vector, got rank %d", s->shape.rank);
  int64_t dims[TFM_MAX_RANK];
  int cnt;
  *out = shape_unknown();
  if (input_const_ints(n, 0, dims, TFM_MAX_RANK, &cnt))
    return shape_make(dims, cnt, false, out, n->name, st) == TFM_OK
               ? TFM_OK
               : node_error(n, st, TFM_INVALID_ARGUMENT, "invalid shape");
  if (s->shape.rank == 1 && s->shape.dim[0] >= 0 && s->shape.dim[0] <= TFM_MAX_RANK) {
    out->rank = (int)s->shape.dim[0];
    for (int i = 0; i < out->rank; i++) out->dim[i] = SHAPE_UNKNOWN_DIM;
  }
  return TFM_OK;
}

static tfm_code random_infer(node_t *n, tfm_status *st) {
  bool is_int = strcmp(n->type, "RandomUniformInt") == 0;
  tfm_dtype dt = (tfm_dtype)node_attr_type(n, is_int ? "Tout" : "dtype", TFM_INVALID);
  if (is_int ? (dt != TFM_INT32 && dt != TFM_INT64) : !dtype_is_float(dt))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "unsupported dtype %s", dtype_name(dt));
  if (is_int) {
    for (int i = 1; i < 3; i++)
      if (n->inputs[i]->dtype != dt || n->inputs[i]->shape.rank > 0)
        return node_error(n, st, TFM_INVALID_ARGUMENT, "minval and maxval must be %s scalars",
                          dtype_name(dt));
  }
  n->outputs[0].dtype = dt;
  return shape_from_input(n, &n->outputs[0].shape, st);
}

/* The node's generator, created on its first run in a session. */
static philox_t *generator(kctx_t *c) {
  if (!*c->state) {
    philox_t *p = mem_alloc(sizeof *p);
    if (!p) {
      kctx_error(c, TFM_RESOURCE_EXHAUSTED, "out of memory for the generator");
      return NULL;
    }
    philox_seed(p, (uint64_t)node_attr_int(c->node, "seed", 0), (uint64_t)node_attr_int(c->node, "seed2", 0));
    *c->state = p;
  }
  return *c->state;
}

static void free_generator(void *state) { mem_free(state); }

static tfm_code random_compute(kctx_t *c) {
  const tensor_t *s = c->in[0];
  if (s->shape.rank > 1 || s->num_elements > TFM_MAX_RANK)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "shape must be a vector of at most %d dims", TFM_MAX_RANK);
  int64_t dims[TFM_MAX_RANK];
  for (int64_t i = 0; i < s->num_elements; i++) dims[i] = tensor_get_i64(s, i);
  shape_t shape;
  if (shape_make(dims, (int)s->num_elements, false, &shape, c->node->name, c->st) != TFM_OK)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "invalid shape");
  tensor_t *out = kctx_alloc_output(c, 0, c->node->outputs[0].dtype, &shape);
  philox_t *p = out ? generator(c) : NULL;
  if (!p) return status_code(c->st);
  const char *t = c->node->type;
  if (strcmp(t, "RandomStandardNormal") == 0) return kern_random_normal(p, out, c->st);
  if (strcmp(t, "TruncatedNormal") == 0) return kern_truncated_normal(p, out, c->st);
  if (strcmp(t, "RandomUniform") == 0) return kern_random_uniform(p, out, c->st);
  int64_t lo = tensor_get_i64(c->in[1], 0), hi = tensor_get_i64(c->in[2], 0);
  if (lo >= hi)
    return kctx_error(c, TFM_INVALID_ARGUMENT, "need minval < maxval, got %lld >= %lld", (long long)lo,
                      (long long)hi);
  return kern_random_uniform_int(p, lo, hi, out, c->st);
}

/* ---- builders ---- */

/* The shared body of the three builders: <scope>/shape, <scope>/<a_name>,
 * <scope>/<b_name>, <scope>/<op>, then (min/max form) "sub", and "mul", and the
 * Add named <scope>. `uniform`: value = rnd * (b - a) + a; else rnd * b + a. */
static tfm_output *random_builder(const char *fn, const char *op, const char *dflt_name, tfm_graph *g,
                                  const int64_t *dims, int rank, tfm_dtype dtype, double a, double b,
                                  const char *a_name, const char *b_name, bool uniform, int64_t seed,
                                  const char *name, tfm_status *st) {
  if (!dtype_is_float(dtype)) {
    status_set(st, TFM_INVALID_ARGUMENT, "%s: dtype must be float32 or float64, got %s", fn, dtype_name(dtype));
    return NULL;
  }
  int32_t d32[TFM_MAX_RANK];
  if (rank < 0 || rank > TFM_MAX_RANK || (rank && !dims)) {
    status_set(st, TFM_INVALID_ARGUMENT, "%s: rank %d is outside 0..%d", fn, rank, TFM_MAX_RANK);
    return NULL;
  }
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0 || dims[i] > INT32_MAX) {
      status_set(st, TFM_INVALID_ARGUMENT, "%s: dimension %d is %lld", fn, i, (long long)dims[i]);
      return NULL;
    }
    d32[i] = (int32_t)dims[i];
  }
  graph_t *gr = graph_or_default(g);
  int64_t s1, s2;
  graph_op_seeds(gr, seed, seed >= 0, &s1, &s2);
  char *scope = op_scope_push(gr, name, dflt_name, st);
  if (!scope) return NULL;
  output_t *shape = op_const_i32(gr, d32, rank, "shape", st);
  output_t *ca = shape ? op_const_scalar(gr, a, dtype, a_name, st) : NULL;
  output_t *cb = ca ? op_const_scalar(gr, b, dtype, b_name, st) : NULL;
  output_t *rnd = NULL, *scaled = NULL, *r = NULL;
  if (cb) {
    attr_t attrs[] = {ATTR_I_V("seed", s1), ATTR_I_V("seed2", s2), ATTR_TYPE_V("dtype", dtype),
                      ATTR_TYPE_V("T", TFM_INT32)};
    rnd = op_build(gr, op, op, &shape, 1, attrs, 4, st);
  }
  if (rnd) {
    output_t *range = cb;
    if (uniform) {
      output_t *in[2] = {cb, ca};
      range = op_build(gr, "Sub", "sub", in, 2, NULL, 0, st);
    }
    output_t *in[2] = {rnd, range};
    scaled = range ? op_build(gr, "Mul", "mul", in, 2, NULL, 0, st) : NULL;
  }
  graph_pop_name_scope(gr, NULL);
  if (scaled) {
    output_t *in[2] = {scaled, ca};
    r = op_build_exact(gr, "Add", scope, in, 2, NULL, 0, st);
  }
  mem_free(scope);
  return r;
}

TFM_API tfm_output *tfm_random_normal(tfm_graph *g, const int64_t *dims, int rank, tfm_dtype dtype,
                                      double mean, double stddev, int64_t seed, const char *name,
                                      tfm_status *st) {
  return random_builder("tfm_random_normal", "RandomStandardNormal", "random_normal", g, dims, rank,
                        dtype, mean, stddev, "mean", "stddev", false, seed, name, st);
}

TFM_API tfm_output *tfm_truncated_normal(tfm_graph *g, const int64_t *dims, int rank, tfm_dtype dtype,
                                         double mean, double stddev, int64_t seed, const char *name,
                                         tfm_status *st) {
  return random_builder("tfm_truncated_normal", "TruncatedNormal", "truncated_normal", g, dims, rank,
                        dtype, mean, stddev, "mean", "stddev", false, seed, name, st);
}

TFM_API tfm_output *tfm_random_uniform(tfm_graph *g, const int64_t *dims, int rank, tfm_dtype dtype,
                                       double minval, double maxval, int64_t seed, const char *name,
                                       tfm_status *st) {
  return random_builder("tfm_random_uniform", "RandomUniform", "random_uniform", g, dims, rank, dtype,
                        minval, maxval, "min", "max", true, seed, name, st);
}

/* ---- the table ---- */

#define RANDOM(nm, n_in, at)                                                                        \
  {.name = nm, .n_inputs = n_in, .n_outputs = 1, .attrs = at, .infer = random_infer,                \
   .compute = random_compute, .free_state = free_generator, .flags = OP_STATEFUL | OP_NO_GRADIENT}

const op_def_t ops_random[] = {
    RANDOM("RandomStandardNormal", 1, random_attrs),
    RANDOM("TruncatedNormal", 1, random_attrs),
    RANDOM("RandomUniform", 1, random_attrs),
    RANDOM("RandomUniformInt", 3, random_int_attrs),
    {0}};
