/* Names: TensorFlow's unique-name rule and the name -> node index.
 *
 * TensorFlow (Graph.unique_name) counts names case-insensitively: "Add", then
 * "Add_1", "Add_2"; a later "add" continues the same count ("add_3"), skipping any
 * suffixed name already taken. Op names and name scopes draw from the same table, so a scope
 * "loss" after an op "loss" is "loss_1". Both tables here are open-addressing hash
 * tables with power-of-two capacity. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "graph/graph_impl.h"

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* TensorFlow's rules: an op name matches [A-Za-z0-9.][A-Za-z0-9_.\-/>]*, a scope
 * name [A-Za-z0-9_.\-/>]* (so a scope may start with '_' or '-'). */
static bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-' || c == '/' || c == '>';
}

bool names_valid(const char *name, bool scope) {
  if (!name) return false;
  if (!scope) {
    char c = name[0];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'))
      return false;
  }
  for (const char *p = name; *p; p++)
    if (!name_char(*p)) return false;
  return true;
}

char *graph_join_name(const char *scope, const char *base) {
  size_t ls = scope ? strlen(scope) : 0, lb = strlen(base);
  char *r = mem_alloc(ls + lb + 2);
  if (!r) return NULL;
  if (ls) {
    memcpy(r, scope, ls);
    r[ls] = '/';
    memcpy(r + ls + 1, base, lb + 1);
  } else {
    memcpy(r, base, lb + 1);
  }
  return r;
}

/* ---- the taken-names table (keys are lower-cased) ---- */

static name_count_t *names_slot(const graph_t *g, const char *key) {
  if (!g->cap_names) return NULL;
  size_t mask = (size_t)g->cap_names - 1;
  for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask) {
    name_count_t *e = &g->names[i];
    if (!e->name || strcmp(e->name, key) == 0) return e;
  }
}

static tfm_code names_grow(graph_t *g, tfm_status *st) {
  if ((g->n_names + 1) * 2 <= g->cap_names) return TFM_OK;
  int cap = g->cap_names ? g->cap_names * 2 : 64;
  name_count_t *old = g->names;
  int old_cap = g->cap_names;
  g->names = mem_calloc((size_t)cap, sizeof *g->names);
  if (!g->names) {
    g->names = old;
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory for names");
  }
  g->cap_names = cap;
  for (int i = 0; i < old_cap; i++)
    if (old[i].name) *names_slot(g, old[i].name) = old[i];
  mem_free(old);
  return TFM_OK;
}

static int names_count(const graph_t *g, const char *key) {
  name_count_t *e = names_slot(g, key);
  return e && e->name ? e->next : 0;
}

/* Sets key's count; `key` is copied. */
static tfm_code names_set(graph_t *g, const char *key, int count, tfm_status *st) {
  if (names_grow(g, st) != TFM_OK) return TFM_RESOURCE_EXHAUSTED;
  name_count_t *e = names_slot(g, key);
  if (!e->name) {
    if (!(e->name = mem_strdup(key)))
      return status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory for names");
    g->n_names++;
  }
  e->next = count;
  return TFM_OK;
}

static char *lower_dup(const char *s) {
  char *r = mem_strdup(s);
  if (r)
    for (char *p = r; *p; p++) *p = (char)tolower((unsigned char)*p);
  return r;
}

static char *with_suffix(const char *s, int i) {
  size_t n = strlen(s) + 24;
  char *r = mem_alloc(n);
  if (r) snprintf(r, n, "%s_%d", s, i);
  return r;
}

char *names_unique(graph_t *g, const char *full, bool mark, tfm_status *st) {
  char *key = lower_dup(full);
  if (!key) goto oom;
  int i = names_count(g, key);
  if (mark && names_set(g, key, i + 1, st) != TFM_OK) goto fail;
  if (i == 0) {
    mem_free(key);
    key = NULL; /* the oom path below frees it again */
    char *r = mem_strdup(full);
    if (!r) goto oom;
    return r;
  }
  /* Taken: try stem_i, stem_(i+1), ... until one is free. */
  char *cand = NULL;
  for (;; i++) {
    cand = with_suffix(key, i);
    if (!cand) goto oom;
    if (names_count(g, cand) == 0) break;
    mem_free(cand);
  }
  if (mark && names_set(g, cand, 1, st) != TFM_OK) {
    mem_free(cand);
    goto fail;
  }
  mem_free(cand);
  mem_free(key);
  key = NULL;
  char *r = with_suffix(full, i);
  if (!r) goto oom;
  return r;
oom:
  status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory naming '%s'", full);
fail:
  mem_free(key);
  return NULL;
}

tfm_code names_mark(graph_t *g, const char *full, tfm_status *st) {
  char *key = lower_dup(full);
  if (!key) return status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory");
  int i = names_count(g, key);
  tfm_code rc = i ? TFM_OK : names_set(g, key, 1, st);
  mem_free(key);
  return rc;
}

char *graph_unique_name(graph_t *g, const char *base, tfm_status *st) {
  graph_lock(g);
  char *full = graph_join_name(graph_current_name_scope(g), base);
  char *r = NULL;
  if (!full)
    status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory naming '%s'", base);
  else
    r = names_unique(g, full, true, st);
  mem_free(full);
  graph_unlock(g);
  return r;
}

/* ---- name -> node ---- */

static node_t **index_slot(node_t **tab, int cap, const char *name) {
  size_t mask = (size_t)cap - 1;
  for (size_t i = hash_str(name) & mask;; i = (i + 1) & mask)
    if (!tab[i] || strcmp(tab[i]->name, name) == 0) return &tab[i];
}

tfm_code names_index_node(graph_t *g, node_t *n, tfm_status *st) {
  if ((g->n_nodes + 1) * 2 > g->by_name_cap) {
    int cap = g->by_name_cap ? g->by_name_cap * 2 : 64;
    node_t **tab = mem_calloc((size_t)cap, sizeof *tab);
    if (!tab) return status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory indexing '%s'", n->name);
    for (int i = 0; i < g->by_name_cap; i++)
      if (g->by_name[i]) *index_slot(tab, cap, g->by_name[i]->name) = g->by_name[i];
    mem_free(g->by_name);
    g->by_name = tab;
    g->by_name_cap = cap;
  }
  *index_slot(g->by_name, g->by_name_cap, n->name) = n;
  return TFM_OK;
}

void names_reindex(graph_t *g, int n_keep) {
  if (!g->by_name_cap) return;
  memset(g->by_name, 0, (size_t)g->by_name_cap * sizeof *g->by_name);
  for (int i = 0; i < n_keep; i++) *index_slot(g->by_name, g->by_name_cap, g->nodes[i]->name) = g->nodes[i];
}

node_t *graph_find_op(const graph_t *g, const char *name) {
  if (!g || !name) return NULL;
  graph_lock(g);
  node_t *n = g->by_name_cap ? *index_slot(g->by_name, g->by_name_cap, name) : NULL;
  graph_unlock(g);
  return n;
}

void names_free(graph_t *g) {
  for (int i = 0; i < g->cap_names; i++) mem_free(g->names[i].name);
  mem_free(g->names);
  mem_free(g->by_name);
  g->names = NULL;
  g->by_name = NULL;
  g->cap_names = g->n_names = g->by_name_cap = 0;
}

/* ---- "op:index" ---- */

output_t *graph_find_output(const graph_t *g, const char *name, tfm_status *st) {
  if (!name || !*name) {
    status_set(st, TFM_INVALID_ARGUMENT, "tensor name is empty");
    return NULL;
  }
  const char *colon = strrchr(name, ':');
  size_t op_len = colon ? (size_t)(colon - name) : strlen(name);
  long long index = 0;
  if (colon) {
    const char *p = colon + 1;
    if (!*p || op_len == 0) goto malformed;
    index = 0;
    for (; *p; p++) {
      if (!isdigit((unsigned char)*p) || index > 1000000000) goto malformed;
      index = index * 10 + (*p - '0');
    }
  }
  char *op_name = mem_strndup(name, op_len);
  if (!op_name) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory looking up '%s'", name);
    return NULL;
  }
  node_t *n = graph_find_op(g, op_name);
  mem_free(op_name);
  if (!n) {
    status_set(st, TFM_NOT_FOUND, "The name '%s' refers to a tensor which does not exist: "
               "operation '%.*s' is not in the graph", name, (int)op_len, name);
    return NULL;
  }
  if (index >= n->n_outputs) {
    status_set(st, TFM_INVALID_ARGUMENT,
               "The name '%s' refers to output %lld of operation '%s', which has %d output%s",
               name, index, n->name, n->n_outputs, n->n_outputs == 1 ? "" : "s");
    return NULL;
  }
  status_ok(st);
  return &n->outputs[index];
malformed:
  status_set(st, TFM_INVALID_ARGUMENT,
             "tensor name '%s' is malformed: expected '<op_name>:<output_index>'", name);
  return NULL;
}

const char *output_name(const output_t *o, char *buf, size_t cap) {
  if (cap) snprintf(buf, cap, "%s:%d", o->node->name, o->index);
  return buf;
}
