/* Small programs: runs of steps over small float32 values as one step.
 *
 * A graph written as a loop of scalar ops (the "serial" fit: m * x_i + b - y_i
 * for each point, its square, and the gradient of each) compiles to dozens of
 * steps of one element each, and the tutorial's tensor fit to a dozen steps of 8;
 * calling a kernel, however prepared, then costs more than its arithmetic. After
 * fusion, plan_small_programs() gathers such steps into programs for a little
 * register machine: each value is a run of floats in a register file on the
 * stack, each op one instruction, constants are copied in at the start, feeds,
 * computed values and variables are loaded once, and only the values a later
 * step or a fetch reads are written to their slots at the end.
 *
 * Members: element-wise unary and binary float32 ops (an operand is one value or
 * has the output's shape), AddN, Identity (of a variable too) and the prepared
 * Sum of every element, all of fixed shapes of at most 256 elements. A program
 * runs where its first member ran; a later member joins only when moving it
 * there changes nothing: it reads nothing a skipped (non-member) step makes, has
 * no control input from one, and reads no variable when a skipped step may write
 * one. One-element add, sub, mul, div, neg and square run inline; everything else
 * calls the loops the kernels themselves run (ew loops, the sum loop), so results
 * are bit-identical to the step-by-step plan. Prepared plans only (shapes fixed);
 * TFM_FUSE=0 turns programs off with fusion. */
#ifndef TFM_RUNTIME_SMALL_PROG_H
#define TFM_RUNTIME_SMALL_PROG_H

#include "runtime/plan.h"

/* Rewrites p's steps (see above); the programs are freed by
 * plan_small_programs_free. Errors: RESOURCE_EXHAUSTED. */
tfm_code plan_small_programs(plan_t *p, tfm_status *st);
void plan_small_programs_free(plan_t *p);
/* The slots a program step loads (reads) and stores (writes); false when s is
 * not a program. For memory planning (runtime/memplan.h). */
bool small_prog_slots(const plan_step_t *s, const int **reads, int *n_reads, const int **writes,
                      int *n_writes);
/* How many programs p holds (tests). */
int plan_small_program_count(const plan_t *p);

#endif
