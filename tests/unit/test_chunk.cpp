// Chunks (docs/format.md sections 3 and 4): a hand-built chunk, exhaustive and real-data round
// trips for every dtype, and malformed chunks, which must never decode to wrong bytes silently.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "codec/chunk.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"

#include "test_env.hpp"

namespace {

using wstest::seed;
using wstest::long_run;
using wstest::error_of;

using ws::DType;



std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// float bits -> bfloat16 bits, round to nearest even (NaNs stay NaN).
uint16_t to_bf16(uint32_t f) {
  if ((f & 0x7fffffffu) > 0x7f800000u) return uint16_t((f >> 16) | 0x40);
  return uint16_t((f + 0x7fffu + ((f >> 16) & 1)) >> 16);
}

// The 264,128 fp32 weights of stories260K.bin (after its 7 int32 header fields), as file bytes.
std::vector<uint8_t> stories_f32() {
  std::vector<uint8_t> file = read_file(std::string(WS_DATA_DIR) + "/stories260K.bin");
  if (file.size() != 28u + 264128u * 4u) throw std::runtime_error("stories260K.bin has an unexpected size");
  return std::vector<uint8_t>(file.begin() + 28, file.end());
}

// The same weights rounded to bf16, little-endian bytes.
std::vector<uint8_t> stories_bf16() {
  const std::vector<uint8_t> f32 = stories_f32();
  std::vector<uint8_t> out(f32.size() / 2);
  for (size_t i = 0; i < f32.size() / 4; ++i) {
    uint32_t f;
    std::memcpy(&f, &f32[4 * i], 4);
    const uint16_t b = to_bf16(f);
    out[2 * i] = uint8_t(b);
    out[2 * i + 1] = uint8_t(b >> 8);
  }
  return out;
}

std::vector<uint8_t> decode(const std::vector<uint8_t>& chunk, DType t, size_t values) {
  std::vector<uint8_t> out(values * ws::dtype_size(t));
  ws::decode_chunk(chunk.data(), chunk.size(), t, out.data(), out.size());
  return out;
}

TEST(Chunk, DTypes) {
  EXPECT_STREQ(ws::dtype_name(DType::BF16), "bf16");
  EXPECT_STREQ(ws::dtype_name(DType::F32), "f32");
  EXPECT_EQ(ws::dtype_size(DType::BF16), 2u);
  EXPECT_EQ(ws::dtype_size(DType::F16), 2u);
  EXPECT_EQ(ws::dtype_size(DType::F32), 4u);
  EXPECT_EQ(ws::dtype_size(DType::Raw), 1u);
  // docs/format.md section 3.
  EXPECT_EQ(ws::split_of(DType::BF16).exponent_shift, 7);
  EXPECT_EQ(ws::split_of(DType::BF16).exponent_mask, 0xffu);
  EXPECT_EQ(ws::split_of(DType::BF16).raw_bits(), 8);
  EXPECT_EQ(ws::split_of(DType::F16).exponent_shift, 10);
  EXPECT_EQ(ws::split_of(DType::F16).exponent_mask, 0x1fu);
  EXPECT_EQ(ws::split_of(DType::F16).raw_bits(), 11);
  EXPECT_EQ(ws::split_of(DType::F32).exponent_shift, 23);
  EXPECT_EQ(ws::split_of(DType::F32).exponent_mask, 0xffu);
  EXPECT_EQ(ws::split_of(DType::F32).raw_bits(), 24);
  EXPECT_THROW(ws::split_of(DType::Raw), std::invalid_argument);
}

TEST(Chunk, HandBuilt) {
  // Two bf16 values, 1.0 = 0x3F80 and -1.5 = 0xBFC0: both have exponent 0x7F, so the alphabet is
  // the single symbol 0x7F with count T = 32 (L = 5), coded in zero bits, initial state 0.
  // Raw fields: sign << 7 | mantissa = 0x00 and 0x80 | 0x40 = 0xC0, one byte each, padded to a word.
  const std::vector<uint8_t> values = {0x80, 0x3F, 0xC0, 0xBF};
  const uint32_t crc = ws::crc32_of(values.data(), 4);
  const std::vector<uint8_t> expect = {
      2, 0, 0, 0,                                                               // value count
      uint8_t(crc), uint8_t(crc >> 8), uint8_t(crc >> 16), uint8_t(crc >> 24),  // CRC-32
      1, 5, 0x7F, 0x7F,  // lanes, table log, first, last
      0x20,              // counts: 32 in bit_length(32) = 6 bits, padded to a byte
      0, 0,              // initial state of lane 0
      0, 0, 0, 0,        // symbol stream: 0 bytes
      4, 0, 0, 0,        // raw stream: 4 bytes
      0x00, 0xC0, 0, 0,  // raw stream
  };
  ws::ChunkStats st;
  const std::vector<uint8_t> chunk = ws::encode_chunk(values.data(), 2, DType::BF16, {1, 5}, &st);
  EXPECT_EQ(chunk, expect);
  EXPECT_EQ(st.histogram[0x7F], 2u);
  EXPECT_EQ(st.symbol_bits, 0u);
  EXPECT_EQ(st.raw_bits, 16u);
  EXPECT_EQ(decode(expect, DType::BF16, 2), values);

  const ws::ChunkView v = ws::parse_chunk(expect.data(), expect.size());
  EXPECT_EQ(v.value_count, 2u);
  EXPECT_EQ(v.crc, crc);
  EXPECT_EQ(v.lanes, 1);
  EXPECT_EQ(v.counts.table_log, 5);
  EXPECT_EQ(v.symbol_bytes, 0u);
  EXPECT_EQ(v.raw_bytes, 4u);
  EXPECT_EQ(v.raw_stream, expect.data() + 23);
}

TEST(Chunk, Empty) {
  for (DType t : {DType::BF16, DType::F16, DType::F32}) {
    const std::vector<uint8_t> chunk = ws::encode_chunk(nullptr, 0, t, {8, 11});
    // value count 0, CRC-32 of nothing (0), lanes 8, table log 0, stream sizes 0, 0.
    EXPECT_EQ(chunk, (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
    EXPECT_NO_THROW(ws::decode_chunk(chunk.data(), chunk.size(), t, nullptr, 0));
  }
}

// Round trip of `values` cut into chunks of `per_chunk`; returns the number of mismatching bytes.
uint64_t round_trip(const std::vector<uint8_t>& values, DType t, const ws::ChunkOptions& opt,
                    size_t per_chunk, uint64_t* coded_bytes = nullptr) {
  const size_t w = ws::dtype_size(t), count = values.size() / w;
  uint64_t bad = 0;
  for (size_t at = 0; at < count; at += per_chunk) {
    const size_t n = std::min(per_chunk, count - at);
    const std::vector<uint8_t> chunk = ws::encode_chunk(values.data() + at * w, n, t, opt);
    if (coded_bytes) *coded_bytes += chunk.size();
    const std::vector<uint8_t> out = decode(chunk, t, n);
    for (size_t i = 0; i < n * w; ++i) bad += out[i] != values[at * w + i];
  }
  return bad;
}

TEST(Chunk, EverySixteenBitPattern) {
  // All 65536 bit patterns (NaNs, infinities, subnormals, both zeros) as bf16 and as f16, in one
  // chunk and in chunks of 1000, with every lane count.
  std::vector<uint8_t> all(2 * 65536);
  for (uint32_t v = 0; v < 65536; ++v) all[2 * v] = uint8_t(v), all[2 * v + 1] = uint8_t(v >> 8);
  uint64_t bad = 0;
  for (DType t : {DType::BF16, DType::F16})
    for (int K : {1, 2, 4, 8})
      for (size_t per : {size_t(65536), size_t(1000)}) bad += round_trip(all, t, {K, 11}, per);
  std::printf("every 16-bit pattern, bf16 and f16: %llu mismatching bytes\n", (unsigned long long)bad);
  EXPECT_EQ(bad, 0u);
}

TEST(Chunk, RandomEdgeCases) {
  const uint32_t s = seed();
  std::printf("WS_DEPTH=%s\n", long_run() ? "long" : "smoke");
  std::mt19937_64 rng(s);
  uint64_t bad = 0, cases = 0;
  const int rounds = long_run() ? 20 : 2;
  for (int r = 0; r < rounds; ++r)
    for (DType t : {DType::BF16, DType::F16, DType::F32})
      for (int L = 5; L <= 12; ++L)
        for (int K : {1, 2, 4, 8})
          for (size_t n : {size_t(1), size_t(K - 1), size_t(K + 1), size_t(300)}) {
            const size_t w = ws::dtype_size(t);
            std::vector<uint8_t> v(n * w);
            for (auto& b : v) b = uint8_t(rng());
            if (r % 2)  // one exponent only: a single-symbol alphabet
              for (size_t i = 0; i < n; ++i) v[i * w + w - 1] = uint8_t((v[i * w + w - 1] & 0x80) | 0x3c);
            bad += round_trip(v, t, {K, L}, n ? n : 1);
            ++cases;
          }
  std::printf("%llu random chunks, %llu mismatching bytes\n", (unsigned long long)cases,
              (unsigned long long)bad);
  EXPECT_EQ(bad, 0u);
}

TEST(Chunk, RealWeightsRoundTrip) {
  const std::vector<uint8_t> f32 = stories_f32(), bf16 = stories_bf16();
  uint64_t bytes_f32 = 0, bytes_bf16 = 0;
  const uint64_t bad_f32 = round_trip(f32, DType::F32, {}, 65536, &bytes_f32);
  const uint64_t bad_bf16 = round_trip(bf16, DType::BF16, {}, 65536, &bytes_bf16);
  std::printf("stories260K f32: %zu -> %llu bytes (%.3f:1), %llu mismatching bytes\n", f32.size(),
              (unsigned long long)bytes_f32, double(f32.size()) / double(bytes_f32),
              (unsigned long long)bad_f32);
  std::printf("stories260K bf16: %zu -> %llu bytes (%.3f:1), %llu mismatching bytes\n", bf16.size(),
              (unsigned long long)bytes_bf16, double(bf16.size()) / double(bytes_bf16),
              (unsigned long long)bad_bf16);
  EXPECT_EQ(bad_f32, 0u);
  EXPECT_EQ(bad_bf16, 0u);
  EXPECT_LT(bytes_bf16, bf16.size());  // the exponents compress
  uint64_t bad = 0;
  for (int K : {1, 2, 8}) bad += round_trip(bf16, DType::BF16, {K, 7}, 65536);
  EXPECT_EQ(bad, 0u);
}

TEST(Chunk, Stats) {
  const std::vector<uint8_t> bf16 = stories_bf16();
  ws::ChunkStats st;
  const std::vector<uint8_t> chunk = ws::encode_chunk(bf16.data(), 4096, DType::BF16, {}, &st);
  ws::tans::Histogram h{};  // exponent = bits 14..7 of each little-endian bf16 value
  for (size_t i = 0; i < 4096; ++i) ++h[uint8_t((bf16[2 * i + 1] << 1) | (bf16[2 * i] >> 7))];
  EXPECT_EQ(st.histogram, h);
  EXPECT_EQ(st.raw_bits, 4096u * 8u);
  const ws::ChunkView v = ws::parse_chunk(chunk.data(), chunk.size());
  EXPECT_EQ(v.symbol_bytes, (st.symbol_bits + 31) / 32 * 4);
}

// --- Malformed chunks ----------------------------------------------------------------------------

// A small real chunk: the first `n` stories260K weights as bf16, K = 4, L = 11.
std::vector<uint8_t> small_chunk(size_t n, std::vector<uint8_t>* values = nullptr, int K = 4) {
  std::vector<uint8_t> bf16 = stories_bf16();
  bf16.resize(2 * n);
  if (values) *values = bf16;
  return ws::encode_chunk(bf16.data(), n, DType::BF16, {K, 11});
}

std::string chunk_error(const std::vector<uint8_t>& chunk, DType t = DType::BF16, size_t cap = 1 << 20) {
  std::vector<uint8_t> out(cap);
  return error_of([&] { ws::decode_chunk(chunk.data(), chunk.size(), t, out.data(), out.size()); });
}

// Offsets of a chunk's fields (n > 0): 0 value count, 4 CRC, 8 lanes, 9 table log, 10 first,
// 11 last, 12 counts ..., then states, symbol stream size, raw stream size, streams.
struct Layout {
  size_t states, sizes, symbols, raw;
};
Layout layout_of(const std::vector<uint8_t>& c) {
  const ws::ChunkView v = ws::parse_chunk(c.data(), c.size());
  Layout l;
  l.symbols = size_t(v.symbol_stream - c.data());
  l.raw = size_t(v.raw_stream - c.data());
  l.sizes = l.symbols - 8;
  l.states = l.sizes - 2 * size_t(v.lanes);
  return l;
}

TEST(Chunk, HeaderErrors) {
  const std::vector<uint8_t> good = small_chunk(1000);
  ASSERT_EQ(chunk_error(good), "");
  const Layout at = layout_of(good);
  std::vector<uint8_t> c;

  c = good, c[8] = 3;
  EXPECT_EQ(chunk_error(c), "bad lane count 3 (must be 1, 2, 4 or 8)");
  c = good, c[8] = 16;
  EXPECT_EQ(chunk_error(c), "bad lane count 16 (must be 1, 2, 4 or 8)");
  c = good, c[9] = 4;
  EXPECT_EQ(chunk_error(c), "bad table log 4 (must be 5..12)");
  c = good, c[9] = 13;
  EXPECT_EQ(chunk_error(c), "bad table log 13 (must be 5..12)");
  c = good, c[9] = 0;
  EXPECT_EQ(chunk_error(c), "bad table log 0 (must be 5..12)");
  c = good, c[10] = uint8_t(c[11] + 1);
  EXPECT_EQ(chunk_error(c), "first symbol is above last symbol");
  c = good, c[9] = 10;  // counts written for 2^11 do not sum to 2^10
  EXPECT_NE(chunk_error(c), "");
  c = good, c[12] ^= 0x01;  // the first count changes by one: the table no longer sums to 2^L
  EXPECT_EQ(chunk_error(c), "table does not sum to 2^L");
  c = good, c[at.states] = 0x00, c[at.states + 1] = 0x08;  // 2048 = 2^L
  EXPECT_EQ(chunk_error(c), "bad initial state 2048 in lane 0 (must be below 2^L)");
  c = good, c[at.states + 2] ^= 0x01;  // lane 1 starts elsewhere
  EXPECT_NE(chunk_error(c), "");
  c = good, c[at.sizes] ^= 0x02;  // symbol stream size not a multiple of 4
  EXPECT_EQ(chunk_error(c), "symbol stream size is not a multiple of 4");
  c = good, c[at.sizes + 4] ^= 0x01;
  EXPECT_EQ(chunk_error(c), "raw stream size is not a multiple of 4");
  c = good, c[at.sizes] += 4;  // symbol stream claims a word more than the chunk holds
  EXPECT_EQ(chunk_error(c), "chunk truncated in streams");
  c = good, c.insert(c.end(), 4, 0);
  EXPECT_EQ(chunk_error(c), "trailing bytes after chunk");
  // A word moved from the raw stream to the symbol stream: sizes still add up, raw does not.
  c = good, c[at.sizes] += 4, c[at.sizes + 4] -= 4;
  EXPECT_EQ(chunk_error(c), "raw stream size does not match the value count");
  // Too small an output buffer.
  EXPECT_EQ(chunk_error(good, DType::BF16, 1999), "chunk holds 1000 values, more than expected");
  // Exponent symbols above 31 cannot be f16 exponents (and this raw stream is too short for f16).
  EXPECT_NE(chunk_error(good, DType::F16), "");

  // Empty chunks: nothing but sizes 0 and table log 0.
  const std::vector<uint8_t> empty = ws::encode_chunk(nullptr, 0, DType::BF16, {4, 11});
  ASSERT_EQ(chunk_error(empty), "");
  c = empty, c[9] = 11;
  EXPECT_EQ(chunk_error(c), "bad table log 11 (must be 0 for an empty chunk)");
  c = empty, c[14] = 4, c.insert(c.end(), 4, 0);
  EXPECT_EQ(chunk_error(c), "empty chunk has stream bytes");
  c = empty, c[4] = 1;
  EXPECT_EQ(chunk_error(c), "checksum mismatch");
}

TEST(Chunk, EmptyLaneMustStartAtZero) {
  // Two values, eight lanes: lanes 2..7 decode nothing and must have initial state 0.
  std::vector<uint8_t> values;
  std::vector<uint8_t> c = small_chunk(2, &values, 8);
  EXPECT_EQ(decode(c, DType::BF16, 2), values);
  const Layout at = layout_of(c);
  c[at.states + 2 * 5] = 1;
  EXPECT_EQ(chunk_error(c), "bad initial state in lane 5 (it has no symbols)");
}

TEST(Chunk, StreamErrors) {
  const std::vector<uint8_t> good = small_chunk(1000);
  const Layout at = layout_of(good);
  std::vector<uint8_t> c;
  // A set padding bit: the last bit of the symbol stream is padding unless the fields fill the
  // last word exactly.
  std::vector<uint8_t> values;
  ws::ChunkStats st;
  small_chunk(1000, &values);
  ws::encode_chunk(values.data(), 1000, DType::BF16, {4, 11}, &st);
  ASSERT_NE(st.symbol_bits % 32, 0u);
  c = good, c[at.raw - 1] |= 0x80;
  EXPECT_EQ(chunk_error(c), "bits left over");
  // A symbol stream one word short (raw stream intact): fields run out.
  c = good;
  c.erase(c.begin() + long(at.raw) - 4, c.begin() + long(at.raw));
  c[at.sizes] -= 4;
  EXPECT_EQ(chunk_error(c), "stream ends early");
  // An extra word of zeros in the symbol stream.
  c = good;
  c.insert(c.begin() + long(at.raw), 4, 0);
  c[at.sizes] += 4;
  EXPECT_EQ(chunk_error(c), "bits left over");

  // 999 values: the raw stream has a byte of padding, which must be zero.
  std::vector<uint8_t> odd = small_chunk(999);
  ASSERT_EQ(chunk_error(odd), "");
  odd.back() = 1;
  EXPECT_EQ(chunk_error(odd), "bits left over in raw stream");
  // A changed raw byte decodes, but to other values: the CRC catches it.
  c = good, c[at.raw + 10] ^= 0x01;
  EXPECT_EQ(chunk_error(c), "checksum mismatch");
}

TEST(Chunk, TruncatedAtEveryLength) {
  const std::vector<uint8_t> good = small_chunk(300);
  int silent = 0;
  for (size_t len = 0; len < good.size(); ++len) {
    std::vector<uint8_t> c(good.begin(), good.begin() + long(len));
    silent += chunk_error(c) == "";
  }
  std::printf("%zu truncations, %d accepted\n", good.size(), silent);
  EXPECT_EQ(silent, 0);
}

// Flips bits and decodes: the result must be a FormatError or exactly the original values. "Intact"
// happens, e.g., when a flip raises the last symbol: the extra symbols get zero counts in zero bits
// (format.md 4, bit_length(0) = 0), which describes the same table.
struct FlipResult {
  int detected = 0, intact = 0, silent_wrong = 0;
};
FlipResult flip_and_decode(const std::vector<uint8_t>& good, const std::vector<uint8_t>& values,
                           DType t, const std::vector<std::vector<size_t>>& flips) {
  FlipResult r;
  const size_t n = values.size() / ws::dtype_size(t);
  std::vector<uint8_t> out(values.size());
  for (const auto& bits : flips) {
    std::vector<uint8_t> c = good;
    for (size_t b : bits) c[b / 8] ^= uint8_t(1u << (b % 8));
    try {
      ws::decode_chunk(c.data(), c.size(), t, out.data(), out.size());
      ws::ChunkView v = ws::parse_chunk(c.data(), c.size());
      if (v.value_count == n && out == values)
        ++r.intact;
      else
        ++r.silent_wrong;
    } catch (const ws::FormatError&) {
      ++r.detected;
    }
  }
  return r;
}

TEST(Chunk, FlippedBitsNeverDecodeSilentlyWrong) {
  std::mt19937_64 rng(seed() + 5);
  for (DType t : {DType::BF16, DType::F32}) {
    const size_t n = 700;
    std::vector<uint8_t> values = stories_f32();
    values.resize(4 * n);
    if (t == DType::BF16) {
      std::vector<uint8_t> bf(2 * n);
      for (size_t i = 0; i < n; ++i) {
        uint32_t f;
        std::memcpy(&f, &values[4 * i], 4);
        uint16_t b = to_bf16(f);
        bf[2 * i] = uint8_t(b), bf[2 * i + 1] = uint8_t(b >> 8);
      }
      values = bf;
    }
    const std::vector<uint8_t> good = ws::encode_chunk(values.data(), n, t, {4, 9});
    std::vector<std::vector<size_t>> flips;
    for (size_t b = 0; b < good.size() * 8; ++b) flips.push_back({b});  // every single bit
    const int multi = long_run() ? 200000 : 5000;
    for (int i = 0; i < multi; ++i) {  // 2 to 4 distinct random bits
      std::vector<size_t> bits;
      for (size_t m = 2 + rng() % 3; bits.size() < m;) {
        const size_t b = rng() % (good.size() * 8);
        if (std::find(bits.begin(), bits.end(), b) == bits.end()) bits.push_back(b);
      }
      flips.push_back(bits);
    }
    const FlipResult r = flip_and_decode(good, values, t, flips);
    std::printf("%s chunk of %zu bytes, %zu flip patterns: %d detected, %d decoded intact, "
                "%d decoded wrong silently\n",
                ws::dtype_name(t), good.size(), flips.size(), r.detected, r.intact, r.silent_wrong);
    EXPECT_EQ(r.silent_wrong, 0);
    EXPECT_GT(r.detected, 0);
  }
}

}  // namespace
