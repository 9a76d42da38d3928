/* io: checksums and compression: CRC-32C (hardware and table paths against a
 * bit-by-bit reference and published vectors), masking, the snappy decoder. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/status.h"
#include "io/crc32c.h"
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

Suite *io_checksum_suite(void);
Suite *io_checksum_suite(void) {
  Suite *s = suite_create("io");
  TCase *tc = tcase_create("crc32c");
  tcase_add_test(tc, crc32c_matches_published_vectors);
  tcase_add_test(tc, crc32c_paths_agree_with_bitwise_reference_at_every_alignment);
  tcase_add_test(tc, crc32c_extend_continues_a_crc);
  tcase_add_test(tc, crc32c_mask_round_trips_and_matches_formula);
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
