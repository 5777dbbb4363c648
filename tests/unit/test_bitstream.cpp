// LSB-first bit streams (docs/format.md section 1): directed layouts, random round trips, errors.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/bitstream.hpp"
#include "core/error.hpp"

#include "test_env.hpp"

namespace {

using wstest::seed;
using wstest::long_run;
using wstest::error_of;



TEST(BitWriter, HandLayout) {
  // Fields in order: 0b101 (3 bits), 0x1 (1 bit), 0xAB (8 bits), 0 (0 bits), 0x3 (2 bits).
  // Stream bits, the first bit read is each field's LSB:
  //   bits 0..2 = 1,0,1   bit 3 = 1   bits 4..11 = 1,1,0,1,0,1,0,1 (0xAB LSB first)   bits 12,13 = 1,1
  // byte 0 = bits 0..7  = 1,0,1,1,1,1,0,1 -> 0b10111101 = 0xBD
  // byte 1 = bits 8..15 = 0,1,0,1,1,1,0,0 -> 0b00111010 = 0x3A
  std::vector<uint8_t> out;
  ws::BitWriter w(out);
  w.write(0b101, 3);
  w.write(1, 1);
  w.write(0xAB, 8);
  w.write(0, 0);
  w.write(3, 2);
  EXPECT_EQ(w.bit_count(), 14u);
  w.pad_to_bytes();
  EXPECT_EQ(w.bit_count(), 16u);
  EXPECT_EQ(out, (std::vector<uint8_t>{0xBD, 0x3A}));

  ws::BitReader r(out.data(), out.size());
  EXPECT_EQ(r.read(3), 0b101u);
  EXPECT_EQ(r.read(1), 1u);
  EXPECT_EQ(r.read(8), 0xABu);
  EXPECT_EQ(r.read(0), 0u);
  EXPECT_EQ(r.position(), 12u);
  EXPECT_EQ(r.read(2), 3u);
  EXPECT_NO_THROW(r.expect_padding_only());
}

TEST(BitWriter, WordPaddingAndAppend) {
  // The writer appends to what the vector already holds and pads relative to its own start.
  std::vector<uint8_t> out = {0xEE};
  ws::BitWriter w(out);
  w.write(0x12345, 20);  // 20 bits -> padded to 32
  w.pad_to_words();
  EXPECT_EQ(w.bit_count(), 32u);
  EXPECT_EQ(out, (std::vector<uint8_t>{0xEE, 0x45, 0x23, 0x01, 0x00}));
  w.write(0xFFFFFFFFu, 32);
  w.write(1, 1);
  w.pad_to_words();
  EXPECT_EQ(out.size(), 1u + 12u);
  EXPECT_EQ(out[5], 0xFF);
  EXPECT_EQ(out[8], 0xFF);
  EXPECT_EQ(out[9], 0x01);
  // Padding an already aligned stream adds nothing.
  w.pad_to_words();
  EXPECT_EQ(out.size(), 13u);
}

TEST(BitWriter, RejectsValueWiderThanField) {
  std::vector<uint8_t> out;
  ws::BitWriter w(out);
  EXPECT_THROW(w.write(4, 2), std::invalid_argument);
  EXPECT_THROW(w.write(0, 33), std::invalid_argument);
}

TEST(BitReader, EndsEarly) {
  const uint8_t data[2] = {0xFF, 0x01};
  ws::BitReader r(data, 2);
  EXPECT_EQ(r.read(9), 0x1FFu);
  EXPECT_EQ(error_of([&] { r.read(8); }), "stream ends early");
  ws::BitReader empty(nullptr, 0);
  EXPECT_EQ(empty.read(0), 0u);
  EXPECT_EQ(error_of([&] { empty.read(1); }), "stream ends early");
}

TEST(BitReader, PaddingChecks) {
  // One word: 5 bits of data then zero padding.
  uint8_t word[4] = {0x15, 0, 0, 0};
  {
    ws::BitReader r(word, 4);
    r.read(5);
    EXPECT_NO_THROW(r.expect_padding_only());
  }
  {  // A set padding bit is an error.
    word[3] = 0x80;
    ws::BitReader r(word, 4);
    r.read(5);
    EXPECT_EQ(error_of([&] { r.expect_padding_only(); }), "bits left over");
    word[3] = 0;
  }
  {  // A whole unread word is an error, even if it is zero.
    uint8_t two[8] = {0x15, 0, 0, 0, 0, 0, 0, 0};
    ws::BitReader r(two, 8);
    r.read(5);
    EXPECT_EQ(error_of([&] { r.expect_padding_only(); }), "bits left over");
  }
}

TEST(BitStream, RandomRoundTrip) {
  const uint32_t s = seed();
  std::mt19937_64 rng(s);
  const int fields = long_run() ? 2000000 : 100000;
  std::vector<uint32_t> value(size_t(fields), 0);
  std::vector<int> width(size_t(fields), 0);
  std::vector<uint8_t> out;
  ws::BitWriter w(out);
  uint64_t total = 0;
  for (int i = 0; i < fields; ++i) {
    int n = int(rng() % 33);
    uint32_t v = n == 0 ? 0 : uint32_t(rng()) >> (32 - n);
    value[size_t(i)] = v;
    width[size_t(i)] = n;
    total += uint64_t(n);
    w.write(v, n);
  }
  EXPECT_EQ(w.bit_count(), total);
  w.pad_to_words();
  EXPECT_EQ(out.size() % 4, 0u);
  EXPECT_EQ(out.size(), (total + 31) / 32 * 4);

  ws::BitReader r(out.data(), out.size());
  uint64_t mismatches = 0;
  for (int i = 0; i < fields; ++i) mismatches += r.read(width[size_t(i)]) != value[size_t(i)];
  std::printf("%d fields, %llu bits, %llu mismatches\n", fields, (unsigned long long)total,
              (unsigned long long)mismatches);
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(r.position(), total);
  EXPECT_NO_THROW(r.expect_padding_only());
}

}  // namespace
