/* The fixture of the op suites: a status and a fresh internal graph per test
 * (checked setup/teardown), and assertions on the status. Include once, in the
 * test file itself: it defines static state. */
#ifndef TFM_TESTS_OP_FIXTURE_H
#define TFM_TESTS_OP_FIXTURE_H

#include <check.h>
#include <string.h>

#include "graph/graph.h"
#include "tfmini/status.h"

static tfm_status *st;
static graph_t *g;

static void setup(void) {
  st = tfm_status_new();
  g = graph_new(st);
  ck_assert_ptr_nonnull(g);
}

static void teardown(void) {
  graph_delete(g);
  tfm_status_delete(st);
}

#define OK() ck_assert_msg(tfm_status_code(st) == TFM_OK, "%s", tfm_status_message(st))
#define HAS(text) \
  ck_assert_msg(strstr(tfm_status_message(st), text), "'%s' not in '%s'", text, tfm_status_message(st))

#endif
