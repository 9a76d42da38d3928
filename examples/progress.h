/* A progress line for the examples' training loops: steps, loss, steps/s and ETA,
 * redrawn in place ("\r") on a terminal at most ten times a second, and silent when
 * stderr is not a terminal (logs and pipes stay clean).
 *
 *   progress_t p;
 *   progress_start(&p, steps);
 *   for (...) { if (progress_due(&p, i + 1)) progress_draw(&p, i + 1, loss); }
 *   progress_end(&p);
 */
#ifndef TFM_EXAMPLES_PROGRESS_H
#define TFM_EXAMPLES_PROGRESS_H

#include <stdio.h>
#include <time.h>
#include <unistd.h>

typedef struct progress {
  long total;
  double start, last_draw;
  int enabled, drawn, width;
} progress_t;

static inline double progress_clock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline void progress_start(progress_t *p, long total) {
  p->total = total;
  p->start = progress_clock();
  p->last_draw = -1.0;
  p->enabled = isatty(STDERR_FILENO);
  p->drawn = p->width = 0;
}

/* Whether a redraw is due at `step` (so that the caller fetches the loss only then). */
static inline int progress_due(progress_t *p, long step) {
  if (!p->enabled) return 0;
  return step >= p->total || p->last_draw < 0 || progress_clock() - p->last_draw >= 0.1;
}

static inline void progress_draw(progress_t *p, long step, double loss) {
  double now = progress_clock(), elapsed = now - p->start;
  double rate = elapsed > 0 ? (double)step / elapsed : 0;
  long eta = rate > 0 ? (long)((double)(p->total - step) / rate + 0.5) : 0;
  char line[160];
  int n = snprintf(line, sizeof line, "step %ld/%ld  loss %.4g  %.0f steps/s  ETA %ld:%02ld", step, p->total,
                   loss, rate, eta / 60, eta % 60);
  fprintf(stderr, "\r%s%*s", line, p->width > n ? p->width - n : 0, "");
  fflush(stderr);
  p->width = n;
  p->last_draw = now;
  p->drawn = 1;
}

static inline void progress_end(progress_t *p) {
  if (p->drawn) fputc('\n', stderr);
  p->drawn = 0;
}

#endif
