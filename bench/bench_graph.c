/* Graph building: ops added per second (unique-name generation, attr defaults,
 * shape inference, the name index), lookups by name, and deletion, each against
 * a baseline measured in the same run: allocating a record and formatting its
 * name, the least any named node costs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph/graph.h"
#include "tfmini/tfmini.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 200000;
  tfm_status *st = tfm_status_new();

  /* baseline: a record and its name */
  double t0 = now();
  char **names = malloc((size_t)n * sizeof *names);
  void **recs = malloc((size_t)n * sizeof *recs);
  for (int i = 0; i < n; i++) {
    char buf[32];
    snprintf(buf, sizeof buf, "id_%d", i);
    names[i] = strdup(buf);
    recs[i] = calloc(1, sizeof(node_t));
  }
  double base = (now() - t0) / n;
  for (int i = 0; i < n; i++) {
    free(names[i]);
    free(recs[i]);
  }
  free(names);
  free(recs);

  tfm_graph *g = tfm_graph_new(st);
  tfm_output *x = tfm_placeholder(g, TFM_FLOAT, (int64_t[]){-1, 128}, 2, "x", st);
  t0 = now();
  for (int i = 0; i < n; i++) tfm_identity(g, x, "id", st);
  double add = (now() - t0) / n;
  if (tfm_status_code(st) != TFM_OK) {
    fprintf(stderr, "%s\n", tfm_status_message(st));
    return 1;
  }

  t0 = now();
  int found = 0;
  for (int i = 1; i < n; i++) {
    char buf[32];
    snprintf(buf, sizeof buf, "id_%d:0", i);
    found += tfm_graph_get_tensor_by_name(g, buf, NULL) != NULL;
  }
  double lookup = (now() - t0) / n;

  t0 = now();
  tfm_graph_delete(g);
  double del = (now() - t0) / n;

  printf("graph of %d ops (Identity, all named \"id\" -> \"id_N\")\n", n);
  printf("  baseline (alloc + name)   %8.1f ns/op\n", base * 1e9);
  printf("  add op                    %8.1f ns/op  (%.1fx baseline)\n", add * 1e9, add / base);
  printf("  get_tensor_by_name        %8.1f ns/op  (%.1fx baseline, %d found)\n", lookup * 1e9,
         lookup / base, found);
  printf("  delete                    %8.1f ns/op  (%.1fx baseline)\n", del * 1e9, del / base);
  tfm_status_delete(st);
  return 0;
}
