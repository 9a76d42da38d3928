/* Scalar programs: runs of single-element float32 steps as one step.
 *
 * A graph written as a loop of scalar ops (the "serial" fit: m * x_i + b - y_i
 * for each point, its square, and the gradient of each) compiles to dozens of
 * steps of one element each, where calling a kernel, however prepared, costs
 * more than its arithmetic. After fusion, plan_scalar_programs() gathers such
 * steps into programs for a little register machine: each value is a float in a
 * register file on the stack, each op one instruction, inputs are loaded once at
 * the start (from slots or from the variables' storage) and only the values a
 * later step or a fetch reads are written to their slots at the end.
 *
 * Members: element-wise unary and binary float32 ops, AddN and Identity (of a
 * variable too), every input and output of which has a fixed shape of one
 * element. A program runs where its first member ran; a later member joins only
 * when moving it there changes nothing: it reads nothing a skipped (non-member)
 * step makes, has no control input from one, and reads no variable when a
 * skipped step may write one. The arithmetic is the kernels' (the same IEEE
 * operations; other ops call the kernels' own loops on one element), so results
 * are bit-identical to the step-by-step plan. Prepared plans only (shapes fixed);
 * TFM_FUSE=0 turns programs off with fusion. */
#ifndef TFM_RUNTIME_SCALAR_PROG_H
#define TFM_RUNTIME_SCALAR_PROG_H

#include "runtime/plan.h"

/* Rewrites p's steps (see above); the programs are freed by
 * plan_scalar_programs_free. Errors: RESOURCE_EXHAUSTED. */
tfm_code plan_scalar_programs(plan_t *p, tfm_status *st);
void plan_scalar_programs_free(plan_t *p);
/* How many programs p holds (tests). */
int plan_scalar_program_count(const plan_t *p);

#endif
