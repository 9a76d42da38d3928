/* Shared helpers of the io test suites: locating TensorFlow's reference files
 * (../shared/testdata/tf, absent in a user's clone: tests then skip) and hex. */
#ifndef TFM_TESTS_IO_TESTUTIL_H
#define TFM_TESTS_IO_TESTUTIL_H

#include <check.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fills out with $TFM_SHARED_DIR/testdata/tf/<rel>; false (and a skip message) if
 * the reference data is absent. */
static inline bool tf_testdata(const char *rel, char *out, size_t cap) {
  const char *dir = getenv("TFM_SHARED_DIR");
  struct stat sb;
  snprintf(out, cap, "%s/testdata/tf", dir ? dir : "../shared");
  if (stat(out, &sb) != 0) {
    printf("SKIP: %s absent; not checking %s\n", out, rel);
    return false;
  }
  snprintf(out, cap, "%s/testdata/tf/%s", dir ? dir : "../shared", rel);
  return true;
}

/* Decodes a hex string ("0801 1a") into out; returns the byte count. */
static inline size_t hex_decode(const char *hex, uint8_t *out) {
  size_t n = 0;
  int hi = -1;
  for (; *hex; hex++) {
    int v;
    if (*hex >= '0' && *hex <= '9') v = *hex - '0';
    else if (*hex >= 'a' && *hex <= 'f') v = *hex - 'a' + 10;
    else continue;
    if (hi < 0) hi = v;
    else {
      out[n++] = (uint8_t)(hi << 4 | v);
      hi = -1;
    }
  }
  return n;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

/* Directories made by test_tmpdir, removed (with their files) when the process exits. */
static char test_tmpdirs[64][1024];
static int test_num_tmpdirs;
static void remove_tmpdirs(void) {
  for (int i = 0; i < test_num_tmpdirs; i++)
    nftw(test_tmpdirs[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh empty directory under the build dir (or /tmp) for files a test writes. */
static inline void test_tmpdir(char *out, size_t cap) {
  const char *b = getenv("TFM_BUILD_DIR");
  snprintf(out, cap, "%s/tfm_io_test_XXXXXX", b ? b : "/tmp");
  if (!mkdtemp(out)) {
    snprintf(out, cap, "/tmp");
    return;
  }
  if (test_num_tmpdirs == 0) atexit(remove_tmpdirs);
  if (test_num_tmpdirs < 64) snprintf(test_tmpdirs[test_num_tmpdirs++], 1024, "%s", out);
}

/* Entries of dir whose name does not start with '.' and contains `containing` ("" for
 * all): what a save left behind. -1 when dir cannot be opened. */
static inline int count_files(const char *dir, const char *containing) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    n += e->d_name[0] != '.' && strstr(e->d_name, containing) != NULL;
  closedir(d);
  return n;
}

static inline uint8_t *slurp(const char *path, size_t *n) {
  *n = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)len + 1);
  *n = fread(buf, 1, (size_t)len, f);
  fclose(f);
  return buf;
}

/* One tensor of an index listing (*.index.dump.txt): key, dtype, shape and up to
 * its first 12 values. */
typedef struct dump_tensor {
  char key[128], dtype[32];
  int rank;
  int64_t dims[8];
  double values[12];
  int nvalues;
} dump_tensor_t;

/* ENTRY / dtype= / value: lines of an index dump. */
static inline size_t read_dump_tensors(const char *path, dump_tensor_t *out, size_t cap) {
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  static char line[1 << 16];
  size_t n = 0;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "  ENTRY '", 9) == 0) {
      ck_assert_uint_lt(n, cap);
      char *q = strchr(line + 9, '\'');
      memcpy(out[n].key, line + 9, (size_t)(q - line - 9));
      out[n].key[q - line - 9] = 0;
      n++;
    } else if (n && strstr(line, " dtype=")) {
      dump_tensor_t *d = &out[n - 1];
      ck_assert_int_eq(sscanf(strstr(line, "dtype=") + 6, "%31s", d->dtype), 1);
      char *s = strstr(line, "shape=[") + 7;
      d->rank = 0;
      while (*s != ']') {
        d->dims[d->rank++] = strtoll(s, &s, 10);
        if (*s == ',') s++;
      }
    } else if (n && strncmp(line, "        value: [", 16) == 0) {
      dump_tensor_t *d = &out[n - 1];
      char *s = line + 16;
      d->nvalues = 0;
      while (*s != ']' && d->nvalues < 12) {
        d->values[d->nvalues++] = strtod(s, &s);
        if (*s == ',') s++;
      }
    }
  }
  fclose(f);
  return n;
}

/* Runs a suite; the process exit status says whether every case passed. */
static inline int run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
