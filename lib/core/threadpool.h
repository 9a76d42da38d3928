/* The intra-op thread pool. Kernels split their work into a number of tasks that
 * depends only on the data size (never on the thread count), so results are
 * bit-identical whatever the number of threads; the pool hands tasks to threads.
 * The calling thread works too. A parallel_for issued from inside a task, or while
 * another thread holds the pool, runs inline on the calling thread. */
#ifndef TFM_CORE_THREADPOOL_H
#define TFM_CORE_THREADPOOL_H

#include <stdint.h>

#include "core/status.h"

typedef void (*pool_task_fn)(void *ctx, int64_t task);

/* Runs fn(ctx, t) for t in [0, ntasks) over the pool; returns when all are done. */
void pool_parallel_for(int64_t ntasks, pool_task_fn fn, void *ctx);
/* Threads that parallel_for may use (>= 1). */
int pool_num_threads(void);
/* 0 = one per online core. Starts or stops workers. */
tfm_code pool_set_num_threads(int n, tfm_status *st);

#endif
