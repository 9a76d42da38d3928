/* A small fork-join pool: one job at a time, tasks claimed with an atomic counter.
 * Workers spin briefly before sleeping so that back-to-back small kernels (a
 * training step is a few dozen of them) do not pay a wake-up each. */
#include "core/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "core/mem.h"

#define POOL_MAX_THREADS 256
#define SPIN_ITERATIONS 20000

typedef struct pool {
  pthread_mutex_t job_lock;  /* held by the thread that owns the current job */
  pthread_mutex_t wake_lock;
  pthread_cond_t wake;
  _Atomic uint64_t generation; /* bumped for each job; workers watch it */
  _Atomic bool stopping;
  /* the current job */
  pool_task_fn fn;
  void *ctx;
  int64_t ntasks;
  _Atomic int64_t next_task;
  _Atomic int active_workers;  /* workers still inside the current job */
  int nworkers;                /* threads besides the caller */
  uint64_t start_generation;
  pthread_t threads[POOL_MAX_THREADS];
} pool_t;

static pool_t the_pool = {
    .job_lock = PTHREAD_MUTEX_INITIALIZER,
    .wake_lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
};
static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static int configured_threads; /* 0 = not yet started */
static _Thread_local bool inside_task;

static void run_tasks(pool_t *p) {
  for (;;) {
    int64_t t = atomic_fetch_add_explicit(&p->next_task, 1, memory_order_relaxed);
    if (t >= p->ntasks) break;
    p->fn(p->ctx, t);
  }
}

static void *worker_main(void *arg) {
  pool_t *p = arg;
  /* Jobs are only issued after start_workers returns, so the generation at
   * creation is the one this worker has "seen". */
  uint64_t seen = p->start_generation;
  inside_task = true;
  for (;;) {
    uint64_t gen;
    int spins = 0;
    while ((gen = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen &&
           !atomic_load(&p->stopping)) {
      if (++spins < SPIN_ITERATIONS) {
        __builtin_ia32_pause();
        continue;
      }
      pthread_mutex_lock(&p->wake_lock);
      while (atomic_load(&p->generation) == seen && !atomic_load(&p->stopping))
        pthread_cond_wait(&p->wake, &p->wake_lock);
      pthread_mutex_unlock(&p->wake_lock);
    }
    if (atomic_load(&p->stopping)) break;
    seen = gen;
    run_tasks(p);
    atomic_fetch_sub_explicit(&p->active_workers, 1, memory_order_release);
  }
  return NULL;
}

static void stop_workers(pool_t *p) {
  pthread_mutex_lock(&p->wake_lock);
  atomic_store(&p->stopping, true);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->wake_lock);
  for (int i = 0; i < p->nworkers; i++) pthread_join(p->threads[i], NULL);
  p->nworkers = 0;
  atomic_store(&p->stopping, false);
}

static int default_threads(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  if (n > POOL_MAX_THREADS) n = POOL_MAX_THREADS;
  return (int)n;
}

/* Starts n-1 workers. Called with config_lock held and no job running. */
static tfm_code start_workers(int n, tfm_status *st) {
  pool_t *p = &the_pool;
  p->start_generation = atomic_load(&p->generation);
  for (int i = 0; i < n - 1; i++) {
    if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0) {
      configured_threads = i + 1;
      return status_set(st, TFM_RESOURCE_EXHAUSTED, "could not start thread %d of %d", i + 1, n);
    }
    p->nworkers = i + 1;
  }
  configured_threads = n;
  return status_ok(st);
}

/* After fork() only the forking thread exists in the child: forget the workers
 * (they are not there) so that the child starts its own on first use. */
static void reset_after_fork(void) {
  pthread_mutex_init(&config_lock, NULL);
  pthread_mutex_init(&the_pool.job_lock, NULL);
  pthread_mutex_init(&the_pool.wake_lock, NULL);
  pthread_cond_init(&the_pool.wake, NULL);
  the_pool.nworkers = 0;
  atomic_store(&the_pool.stopping, false);
  configured_threads = 0;
  inside_task = false;
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void install_atfork(void) { pthread_atfork(NULL, NULL, reset_after_fork); }

static void ensure_started(void) {
  if (__atomic_load_n(&configured_threads, __ATOMIC_ACQUIRE)) return;
  pthread_once(&atfork_once, install_atfork);
  pthread_mutex_lock(&config_lock);
  if (!configured_threads) start_workers(default_threads(), NULL);
  pthread_mutex_unlock(&config_lock);
}

tfm_code pool_set_num_threads(int n, tfm_status *st) {
  if (n < 0 || n > POOL_MAX_THREADS)
    return status_set(st, TFM_INVALID_ARGUMENT, "num_threads %d is outside 0..%d", n,
                      POOL_MAX_THREADS);
  if (n == 0) n = default_threads();
  pthread_once(&atfork_once, install_atfork);
  pthread_mutex_lock(&config_lock);
  pthread_mutex_lock(&the_pool.job_lock);
  stop_workers(&the_pool);
  tfm_code code = start_workers(n, st);
  pthread_mutex_unlock(&the_pool.job_lock);
  pthread_mutex_unlock(&config_lock);
  return code;
}

int pool_num_threads(void) {
  ensure_started();
  return configured_threads;
}

void pool_parallel_for(int64_t ntasks, pool_task_fn fn, void *ctx) {
  if (ntasks <= 0) return;
  if (ntasks == 1 || inside_task) {
    for (int64_t t = 0; t < ntasks; t++) fn(ctx, t);
    return;
  }
  ensure_started();
  pool_t *p = &the_pool;
  if (p->nworkers == 0 || pthread_mutex_trylock(&p->job_lock) != 0) {
    for (int64_t t = 0; t < ntasks; t++) fn(ctx, t);
    return;
  }
  p->fn = fn;
  p->ctx = ctx;
  p->ntasks = ntasks;
  atomic_store_explicit(&p->next_task, 0, memory_order_relaxed);
  atomic_store_explicit(&p->active_workers, p->nworkers, memory_order_relaxed);
  pthread_mutex_lock(&p->wake_lock);
  atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->wake_lock);
  inside_task = true;
  run_tasks(p);
  inside_task = false;
  while (atomic_load_explicit(&p->active_workers, memory_order_acquire) != 0)
    __builtin_ia32_pause();
  pthread_mutex_unlock(&p->job_lock);
}
