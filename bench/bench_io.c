/* io throughput: CRC-32C (hardware SSE4.2 path, slicing-by-8 table path, and the
 * bitwise definition as the baseline, all in the same run) and a checkpoint save +
 * restore of 64 MiB of float32 variables through the tensor bundle code, beside a
 * plain write()+read() of the same bytes.
 * Usage: bench_io [MiB]   (default 64) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/tensor.h"
#include "io/bundle.h"
#include "io/crc32c.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint32_t __attribute__((noinline)) crc_bitwise(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ ((c & 1) ? 0x82F63B78u : 0);
  }
  return ~c;
}

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static double gbps(crc_fn fn, const uint8_t *buf, size_t n, uint32_t *out) {
  double best = 1e30;
  for (int r = 0; r < 5; r++) {
    double t0 = now();
    *out = fn(0, buf, n);
    double dt = now() - t0;
    if (dt < best) best = dt;
  }
  return (double)n / best / 1e9;
}

int main(int argc, char **argv) {
  size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 64;
  size_t n = mib << 20;
  uint8_t *buf = malloc(n);
  for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(i * 2654435761u >> 13);
  uint32_t c_hw = 0, c_tab, c_bit;
  double t0 = now();
  c_bit = crc_bitwise(buf, n / 16);
  double bit = (double)(n / 16) / (now() - t0) / 1e9;
  double tab = gbps(crc32c_extend_portable, buf, n, &c_tab);
  double hw = crc32c_have_hw() ? gbps(crc32c_extend_sse42, buf, n, &c_hw) : 0;
  printf("crc32c over %zu MiB: bitwise %.2f GB/s (baseline), slicing-by-8 %.2f GB/s (%.1fx), "
         "sse4.2 %.2f GB/s (%.1fx)%s\n",
         mib, bit, tab, tab / bit, hw, hw / bit, crc32c_have_hw() ? "" : " [no SSE4.2]");
  if (c_bit != crc32c_extend_portable(0, buf, n / 16) || (crc32c_have_hw() && c_hw != c_tab)) {
    fprintf(stderr, "CRC paths disagree\n");
    return 1;
  }

  /* Checkpoint: 16 variables sharing the bytes, saved then restored. */
  char dir[] = "/tmp/tfm_bench_io_XXXXXX";
  if (!mkdtemp(dir)) return 1;
  char prefix[64], raw[64];
  snprintf(prefix, sizeof prefix, "%s/model.ckpt", dir);
  snprintf(raw, sizeof raw, "%s/raw", dir);
  shape_t s = shape_vector((int64_t)(n / 16 / 4));
  tensor_t *vars[16];
  for (int i = 0; i < 16; i++) {
    vars[i] = tensor_new(TFM_FLOAT, &s, NULL);
    memcpy(vars[i]->data, buf + (size_t)i * (n / 16), n / 16);
  }
  t0 = now();
  int fd = open(raw, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  for (int i = 0; i < 16; i++)
    if (write(fd, vars[i]->data, n / 16) != (ssize_t)(n / 16)) return 1;
  fsync(fd);
  close(fd);
  double raw_w = now() - t0;
  t0 = now();
  fd = open(raw, O_RDONLY);
  for (int i = 0; i < 16; i++) { /* into fresh buffers, as a restore must */
    tensor_t *t = tensor_new(TFM_FLOAT, &s, NULL);
    if (read(fd, t->data, n / 16) != (ssize_t)(n / 16)) return 1;
    tensor_unref(t);
  }
  close(fd);
  double raw_r = now() - t0;
  tfm_status *st = tfm_status_new();
  t0 = now();
  bundle_writer_t *w = bundle_writer_new(prefix, st);
  for (int i = 0; i < 16; i++) {
    char key[32];
    snprintf(key, sizeof key, "layer_%02d/kernel", i);
    bundle_writer_add(w, key, vars[i], st);
  }
  if (bundle_writer_finish(w, st) != TFM_OK) {
    fprintf(stderr, "%s\n", tfm_status_message(st));
    return 1;
  }
  bundle_writer_free(w);
  double save = now() - t0;
  t0 = now();
  bundle_reader_t *r = bundle_reader_open(prefix, st);
  for (size_t i = 0; i < bundle_reader_num_tensors(r); i++)
    tensor_unref(bundle_reader_read(r, bundle_reader_key(r, i), st));
  bundle_reader_close(r);
  double restore = now() - t0;
  printf("checkpoint of %zu MiB: save %.3f s (raw write+fsync %.3f s, %.2fx), restore %.3f s "
         "(raw read %.3f s, %.2fx)\n",
         mib, save, raw_w, save / raw_w, restore, raw_r, restore / raw_r);
  for (int i = 0; i < 16; i++) tensor_unref(vars[i]);
  tfm_status_delete(st);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) return 1;
  free(buf);
  return 0;
}
