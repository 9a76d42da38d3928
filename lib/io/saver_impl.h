/* The Saver's record, shared by its files: saver.c (creation, the graph's save/
 * ops, SaverDef), saver_save.c (saving, the keep policy, latest_checkpoint, the
 * timer) and saver_restore.c. Not part of any contract outside lib/io/saver*.c. */
#ifndef TFM_IO_SAVER_IMPL_H
#define TFM_IO_SAVER_IMPL_H

#include <pthread.h>

#include "graph/graph.h"
#include "io/saver.h"

/* One saved variable: its checkpoint key and its VariableV2 node. */
typedef struct saver_entry {
  char *key;
  node_t *var;
} saver_entry_t;

/* A checkpoint this saver wrote (or adopted from the directory's `checkpoint`
 * file), as TF's Saver._last_checkpoints: the full prefix and when it was made. */
typedef struct saver_kept {
  char *path;
  double time;
} saver_kept_t;

struct tfm_saver {
  graph_t *graph;
  saver_entry_t *entries; /* sorted by key */
  int n;
  /* An imported saver whose restore subgraph we could not map to variables: save
   * and restore run the graph's own ops (feeding the filename tensor). */
  bool by_ops;
  char *filename_tensor, *save_tensor, *restore_op;
  int max_to_keep; /* 0 = keep all */
  double keep_hours;
  bool sharded;
  saver_kept_t *kept; /* oldest first */
  int n_kept, cap_kept;
  bool adopted;            /* the directory's `checkpoint` file was read */
  double next_keep_time;   /* keep_checkpoint_every_n_hours: next one to preserve */
  double last_preserved;   /* time of the last checkpoint preserved that way (0: none) */
  double (*clock)(void *arg);
  void *clock_arg;
  pthread_mutex_t lock;    /* one save or restore of this saver at a time */
};

/* Seconds since the epoch by the saver's clock (real time unless a test set one). */
double saver_now(const tfm_saver *s);

#endif
