/* io: checksums and compression: CRC-32C (hardware and table paths against a
 * bit-by-bit reference and published vectors), masking, the snappy decoder. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/status.h"
#include "io/crc32c.h"
#include "io/snappy.h"
#ifdef HAVE_SNAPPY_REF
#include <snappy-c.h>
#endif
#include "tfmini/tfmini.h"

/* The definition, one bit at a time: the independent reference. */
static uint32_t crc_bitwise(const void *data, size_t n) {
  const uint8_t *p = data;
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ ((c & 1) ? 0x82F63B78u : 0);
  }
  return ~c;
}

START_TEST(crc32c_matches_published_vectors) {
  ck_assert_uint_eq(crc32c("123456789", 9), 0xE3069283u);
  ck_assert_uint_eq(crc32c_extend_portable(0, "123456789", 9), 0xE3069283u);
  ck_assert_uint_eq(crc32c("", 0), 0);
  /* RFC 3720 (iSCSI) B.4: 32 bytes of zeros, of 0xFF, ascending. */
  uint8_t buf[32];
  memset(buf, 0, sizeof buf);
  ck_assert_uint_eq(crc32c(buf, 32), 0x8A9136AAu);
  memset(buf, 0xFF, sizeof buf);
  ck_assert_uint_eq(crc32c(buf, 32), 0x62A8AB43u);
  for (int i = 0; i < 32; i++) buf[i] = (uint8_t)i;
  ck_assert_uint_eq(crc32c(buf, 32), 0x46DD794Eu);
}
END_TEST

START_TEST(crc32c_paths_agree_with_bitwise_reference_at_every_alignment) {
  uint8_t buf[300];
  for (int i = 0; i < 300; i++) buf[i] = (uint8_t)(i * 131 + 7);
  for (size_t off = 0; off < 9; off++)
    for (size_t n = 0; n + off <= 300; n += 13) {
      uint32_t want = crc_bitwise(buf + off, n);
      ck_assert_uint_eq(crc32c_extend_portable(0, buf + off, n), want);
      if (crc32c_have_hw()) ck_assert_uint_eq(crc32c_extend_sse42(0, buf + off, n), want);
      ck_assert_uint_eq(crc32c(buf + off, n), want);
    }
}
END_TEST

/* Long buffers take the three-lane path of the SSE4.2 code (blocks of 6 KiB):
 * lengths around block multiples, at odd offsets, against the bitwise definition. */
START_TEST(crc32c_long_buffers_agree_with_bitwise_reference) {
  static uint8_t buf[40000];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 2654435761u >> 11);
  const size_t lens[] = {6143, 6144, 6145, 12288, 12295, 18432 + 5, 39990};
  for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++)
    for (size_t off = 0; off < 4; off += 3) {
      uint32_t want = crc_bitwise(buf + off, lens[k]);
      ck_assert_uint_eq(crc32c_extend_portable(0, buf + off, lens[k]), want);
      if (crc32c_have_hw()) ck_assert_uint_eq(crc32c_extend_sse42(0, buf + off, lens[k]), want);
      ck_assert_uint_eq(crc32c_extend(crc32c(buf + off, 100), buf + off + 100, lens[k] - 100), want);
    }
}
END_TEST

START_TEST(crc32c_extend_continues_a_crc) {
  const char *s = "hello, checkpoint world";
  size_t n = strlen(s);
  for (size_t k = 0; k <= n; k++)
    ck_assert_uint_eq(crc32c_extend(crc32c(s, k), s + k, n - k), crc32c(s, n));
}
END_TEST

START_TEST(crc32c_mask_round_trips_and_matches_formula) {
  uint32_t vals[] = {0, 1, 0xE3069283u, 0xFFFFFFFFu, 0x80000000u};
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
    uint32_t c = vals[i];
    uint64_t rot = ((uint64_t)c >> 15) | (((uint64_t)c << 17) & 0xFFFFFFFFu);
    ck_assert_uint_eq(crc32c_mask(c), (uint32_t)(rot + 0xA282EAD8u));
    ck_assert_uint_eq(crc32c_unmask(crc32c_mask(c)), c);
  }
  /* From a real file (formats.md 1.1): the empty metaindex block + type byte 0
   * has the stored trailer c0 f2 a1 b0. */
  const uint8_t block[] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
  ck_assert_uint_eq(crc32c_mask(crc32c(block, sizeof block)), 0xB0A1F2C0u);
}
END_TEST


/* Decompresses a whole stream with our decoder; returns the code. */
static tfm_code unsnap(const uint8_t *in, size_t n, uint8_t **out, size_t *out_len,
                       tfm_status *st) {
  *out = NULL;
  if (snappy_decoded_length(in, n, out_len, "test", st) != TFM_OK) return status_code(st);
  *out = mem_alloc(*out_len + 1);
  return snappy_decode(in, n, *out, *out_len, "test", st);
}

START_TEST(snappy_decodes_hand_made_streams) {
  tfm_status *st = tfm_status_new();
  uint8_t *out;
  size_t len;
  /* One literal: length 11, tag (11-1)<<2. */
  const uint8_t lit[] = {11, 10 << 2, 'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
  ck_assert_int_eq(unsnap(lit, sizeof lit, &out, &len, st), TFM_OK);
  ck_assert_uint_eq(len, 11);
  ck_assert_mem_eq(out, "hello world", 11);
  mem_free(out);
  /* "a" then an overlapping copy-1 of length 9 at offset 1 = ten 'a'. */
  const uint8_t run[] = {10, 0x00, 'a', ((9 - 4) << 2) | 1, 1};
  ck_assert_int_eq(unsnap(run, sizeof run, &out, &len, st), TFM_OK);
  ck_assert_mem_eq(out, "aaaaaaaaaa", 10);
  mem_free(out);
  /* "abcd" + copy-2 (len 6, offset 4) + copy-4 (len 2, offset 4) = "abcdabcdab" "cd". */
  const uint8_t cp[] = {12, 3 << 2, 'a', 'b', 'c', 'd', (5 << 2) | 2, 4, 0, (1 << 2) | 3, 4, 0, 0, 0};
  ck_assert_int_eq(unsnap(cp, sizeof cp, &out, &len, st), TFM_OK);
  ck_assert_mem_eq(out, "abcdabcdabcd", 12);
  mem_free(out);
  /* A 100-byte literal: tag 60<<2 and one extra byte holding length-1 = 99; the
   * uncompressed length 100 is one varint byte. */
  uint8_t big[3 + 100];
  big[0] = 100;
  big[1] = 60 << 2;
  big[2] = 99;
  for (int i = 0; i < 100; i++) big[3 + i] = (uint8_t)(i * 7);
  ck_assert_int_eq(unsnap(big, sizeof big, &out, &len, st), TFM_OK);
  ck_assert_mem_eq(out, big + 3, 100);
  mem_free(out);
  /* An empty stream is just the length 0. */
  const uint8_t empty[] = {0};
  ck_assert_int_eq(unsnap(empty, 1, &out, &len, st), TFM_OK);
  ck_assert_uint_eq(len, 0);
  mem_free(out);
  tfm_status_delete(st);
}
END_TEST

START_TEST(snappy_rejects_hostile_streams) {
  tfm_status *st = tfm_status_new();
  uint8_t *out;
  size_t len;
  struct { const uint8_t b[8]; size_t n; } bad[] = {
      {{5, 0x00, 'a', (0 << 2) | 1, 0}, 5},          /* copy offset 0 */
      {{6, 0x00, 'a', (1 << 2) | 1, 2}, 5},          /* offset beyond what was written */
      {{4, 3 << 2, 'a', 'b'}, 4},                    /* literal runs past the input */
      {{2, 3 << 2, 'a', 'b', 'c', 'd'}, 6},          /* literal exceeds declared length */
      {{9, 0x00, 'a'}, 3},                           /* stream ends short of its length */
      {{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 6},     /* varint too long */
      {{0x80}, 1},                                   /* varint truncated */
      {{0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00, 'a'}, 7}, /* 4 GiB claimed by 2 bytes */
      {{3, 0x00, 'a', 2}, 4},                        /* copy-2 missing offset bytes */
      {{3, 0x00, 'a', (63 << 2) | 0, 0}, 5},         /* literal length bytes missing */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ck_assert_msg(unsnap(bad[i].b, bad[i].n, &out, &len, st) == TFM_DATA_LOSS, "case %zu", i);
    mem_free(out);
  }
  tfm_status_delete(st);
}
END_TEST

#ifdef HAVE_SNAPPY_REF
START_TEST(snappy_decodes_what_libsnappy_compresses) {
  tfm_status *st = tfm_status_new();
  static uint8_t src[200000];
  uint32_t x = 12345;
  for (size_t i = 0; i < sizeof src; i++) { /* text-like: repeats at many distances */
    x = x * 1103515245u + 12345u;
    src[i] = (x >> 28) < 6 ? (uint8_t)('a' + (x >> 29)) : src[i >= 70000 ? i - 70000 + (x >> 30) : i / 2];
  }
  size_t sizes[] = {0, 1, 5, 64, 65, 1000, 65536, 70001, sizeof src};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    size_t cap = snappy_max_compressed_length(sizes[k]);
    char *comp = malloc(cap);
    ck_assert_int_eq(snappy_compress((const char *)src, sizes[k], comp, &cap), SNAPPY_OK);
    uint8_t *out;
    size_t len;
    ck_assert_int_eq(unsnap((uint8_t *)comp, cap, &out, &len, st), TFM_OK);
    ck_assert_uint_eq(len, sizes[k]);
    ck_assert(memcmp(out, src, len) == 0);
    mem_free(out);
    /* Every truncation fails cleanly. */
    for (size_t cut = 0; cut < cap; cut += 1 + cap / 50) {
      ck_assert_int_ne(unsnap((uint8_t *)comp, cut, &out, &len, st), TFM_OK);
      mem_free(out);
    }
    free(comp);
  }
  tfm_status_delete(st);
}
END_TEST
#endif

Suite *io_checksum_suite(void);
Suite *io_checksum_suite(void) {
  Suite *s = suite_create("io");
  TCase *tc = tcase_create("crc32c");
  tcase_add_test(tc, crc32c_matches_published_vectors);
  tcase_add_test(tc, crc32c_paths_agree_with_bitwise_reference_at_every_alignment);
  tcase_add_test(tc, crc32c_long_buffers_agree_with_bitwise_reference);
  tcase_add_test(tc, crc32c_extend_continues_a_crc);
  tcase_add_test(tc, crc32c_mask_round_trips_and_matches_formula);
  suite_add_tcase(s, tc);
  tc = tcase_create("snappy");
  tcase_add_test(tc, snappy_decodes_hand_made_streams);
  tcase_add_test(tc, snappy_rejects_hostile_streams);
#ifdef HAVE_SNAPPY_REF
  tcase_add_test(tc, snappy_decodes_what_libsnappy_compresses);
#endif
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(io_checksum_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
