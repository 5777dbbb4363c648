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
using ws::tans::Layout;



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
  // Layout 2. Two bf16 values, 1.0 = 0x3F80 and -1.5 = 0xBFC0: both have exponent 0x7F, so the
  // alphabet is the single symbol 0x7F with count T = 32 (L = 5), coded in zero bits; with one lane
  // there are two states, one symbol each, both starting (and ending) in state 0 with empty streams.
  // Raw fields: sign << 7 | mantissa = 0x00 and 0x80 | 0x40 = 0xC0, one byte each, padded to a word.
  const std::vector<uint8_t> values = {0x80, 0x3F, 0xC0, 0xBF};
  const uint32_t crc = ws::crc32_of(values.data(), 4);
  const std::vector<uint8_t> expect = {
      2, 0, 0, 0,                                                               // value count
      uint8_t(crc), uint8_t(crc >> 8), uint8_t(crc >> 16), uint8_t(crc >> 24),  // CRC-32
      0x81, 5, 0x7F, 0x7F,  // lanes 1 in layout 2, table log, first, last
      0x20,                 // counts: 32 in bit_length(32) = 6 bits, padded to a byte
      0, 0,                 // initial states: 2 x 5 bits, padded to a byte
      0,                    // stream sizes in units (LEB128) but the last: 0
      4, 0, 0, 0,           // raw stream: 4 bytes
      0x00, 0xC0, 0, 0,     // raw stream
  };
  ws::ChunkStats st;
  const std::vector<uint8_t> chunk = ws::encode_chunk(values.data(), 2, DType::BF16, {1, 5}, &st);
  EXPECT_EQ(chunk, expect);
  EXPECT_EQ(st.symbol_bits, 0u);
  EXPECT_EQ(decode(expect, DType::BF16, 2), values);

  const ws::ChunkView v = ws::parse_chunk(expect.data(), expect.size());
  EXPECT_EQ(v.layout, Layout::PerState);
  EXPECT_EQ(v.lanes, 1);
  EXPECT_EQ(v.states(), 2);
  EXPECT_EQ(v.states_bytes, 2u);
  EXPECT_EQ(v.sizes_bytes, 1u);
  EXPECT_EQ(v.symbol_bytes, 0u);
  EXPECT_EQ(v.raw_bytes, 4u);
  EXPECT_EQ(v.raw_stream, expect.data() + 20);
}

TEST(Chunk, PerStateStreamsLieBackToBack) {
  // Layout 2, K = 1: five bf16 values with exponents 6 3 5 3 6; state 0 codes values 0, 2, 4 and
  // state 1 values 1, 3, each in a stream of its own, state 0's first.
  const std::vector<uint8_t> values = {0x00, 0x03, 0x80, 0x01, 0x80, 0x02, 0x80, 0x81, 0x00, 0x83};
  const std::vector<uint8_t> chunk = ws::encode_chunk(values.data(), 5, DType::BF16, {1, 5});
  const ws::ChunkView v = ws::parse_chunk(chunk.data(), chunk.size());
  ASSERT_EQ(v.states(), 2);
  EXPECT_EQ(v.states_bytes, 2u);  // 2 x 5 bits
  EXPECT_EQ(v.sizes_bytes, 1u);   // state 0's size, one LEB128 byte; state 1's stream is the rest
  EXPECT_EQ(v.streams[0].data, v.symbol_stream);
  EXPECT_EQ(v.streams[1].data, v.symbol_stream + v.streams[0].bytes);
  EXPECT_EQ(v.streams[0].bytes + v.streams[1].bytes, v.symbol_bytes);
  EXPECT_EQ(v.raw_stream, v.symbol_stream + v.symbol_bytes);
  EXPECT_EQ(size_t(v.raw_stream - chunk.data()) + v.raw_bytes, chunk.size());
  EXPECT_EQ(decode(chunk, DType::BF16, 5), values);
}

TEST(Chunk, HandBuiltLayout1) {
  // The same two values in layout 1 (container version 1): one lane, one stream, u16 state.
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
  const std::vector<uint8_t> chunk = ws::encode_chunk(values.data(), 2, DType::BF16, {1, 5, Layout::Shared}, &st);
  EXPECT_EQ(chunk, expect);
  EXPECT_EQ(st.histogram[0x7F], 2u);
  EXPECT_EQ(st.symbol_bits, 0u);
  EXPECT_EQ(st.raw_bits, 16u);
  EXPECT_EQ(decode(expect, DType::BF16, 2), values);

  const ws::ChunkView v = ws::parse_chunk(expect.data(), expect.size());
  EXPECT_EQ(v.value_count, 2u);
  EXPECT_EQ(v.crc, crc);
  EXPECT_EQ(v.layout, Layout::Shared);
  EXPECT_EQ(v.lanes, 1);
  EXPECT_EQ(v.counts.table_log, 5);
  EXPECT_EQ(v.symbol_bytes, 0u);
  EXPECT_EQ(v.raw_bytes, 4u);
  EXPECT_EQ(v.raw_stream, expect.data() + 23);
}

TEST(Chunk, Empty) {
  for (DType t : {DType::BF16, DType::F16, DType::F32}) {
    // value count 0, CRC-32 of nothing (0), lanes 8 in layout 2, table log 0, raw stream size 0.
    const std::vector<uint8_t> chunk = ws::encode_chunk(nullptr, 0, t, {8, 11});
    EXPECT_EQ(chunk, (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0, 0x88, 0, 0, 0, 0, 0}));
    EXPECT_NO_THROW(ws::decode_chunk(chunk.data(), chunk.size(), t, nullptr, 0));
    // Layout 1: lanes 8, table log 0, symbol and raw stream sizes 0, 0.
    const std::vector<uint8_t> old = ws::encode_chunk(nullptr, 0, t, {8, 11, Layout::Shared});
    EXPECT_EQ(old, (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
    EXPECT_NO_THROW(ws::decode_chunk(old.data(), old.size(), t, nullptr, 0));
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
      for (size_t per : {size_t(65536), size_t(1000)})
        for (Layout layout : {Layout::PerState, Layout::Shared}) bad += round_trip(all, t, {K, 11, layout}, per);
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
            for (Layout layout : {Layout::PerState, Layout::Shared}) {
              bad += round_trip(v, t, {K, L, layout}, n ? n : 1);
              ++cases;
            }
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
  for (int K : {1, 4}) bad += round_trip(bf16, DType::BF16, {K, 11, Layout::Shared}, 65536);
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
  // Each of the 8 state streams is padded to a 16-bit unit: less than 16 bits of padding each.
  EXPECT_GE(8 * uint64_t(v.symbol_bytes), st.symbol_bits);
  EXPECT_LT(8 * uint64_t(v.symbol_bytes), st.symbol_bits + 16 * 8);
  ws::ChunkStats old;
  const std::vector<uint8_t> c1 = ws::encode_chunk(bf16.data(), 4096, DType::BF16, {4, 11, Layout::Shared}, &old);
  EXPECT_EQ(ws::parse_chunk(c1.data(), c1.size()).symbol_bytes, (old.symbol_bits + 31) / 32 * 4);
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

// Offsets of a chunk's fields (n > 0): 0 value count, 4 CRC, 8 lanes byte, 9 table log, 10 first,
// 11 last, 12 counts ..., then the initial states, the stream sizes (layout 1: the symbol stream's
// u32), the raw stream's u32 size, the symbol streams and the raw stream.
struct Offsets {
  size_t states, sizes, raw_size, symbols, raw;
};
Offsets offsets_of(const std::vector<uint8_t>& c) {
  const ws::ChunkView v = ws::parse_chunk(c.data(), c.size());
  Offsets o;
  o.symbols = size_t(v.symbol_stream - c.data());
  o.raw = size_t(v.raw_stream - c.data());
  o.raw_size = o.symbols - 4;
  o.sizes = o.raw_size - v.sizes_bytes;
  o.states = o.sizes - v.states_bytes;
  return o;
}

// Layout 2 chunk c with state j's stream size (a one-byte LEB128 number) changed by `units` and its
// stream's end grown or cut to match (zero units appended, or units removed).
std::vector<uint8_t> resize_stream(const std::vector<uint8_t>& c, int j, int units) {
  const ws::ChunkView v = ws::parse_chunk(c.data(), c.size());
  const Offsets at = offsets_of(c);
  std::vector<uint8_t> d = c;
  const size_t end = size_t(v.streams[size_t(j)].data - c.data()) + v.streams[size_t(j)].bytes;
  EXPECT_LT(d[at.sizes + size_t(j)], 0x7f);  // one byte before and after
  d[at.sizes + size_t(j)] = uint8_t(d[at.sizes + size_t(j)] + units);
  if (units > 0) d.insert(d.begin() + long(end), size_t(2 * units), 0);
  else d.erase(d.begin() + long(end) - 2 * (-units), d.begin() + long(end));
  return d;
}

TEST(Chunk, HeaderErrors) {
  const std::vector<uint8_t> good = small_chunk(1000);
  ASSERT_EQ(chunk_error(good), "");
  const Offsets at = offsets_of(good);
  const ws::ChunkView gv = ws::parse_chunk(good.data(), good.size());
  ASSERT_EQ(gv.states_bytes, 11u);  // 8 states x 11 bits
  ASSERT_EQ(gv.sizes_bytes, 7u);    // 7 one-byte sizes (the last state's stream is the rest)
  std::vector<uint8_t> c;

  c = good, c[8] = 0x83;
  EXPECT_EQ(chunk_error(c), "bad lane count 3 (must be 1, 2, 4 or 8)");
  c = good, c[8] = 0x90;
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
  c = good, c[at.states + 2] ^= 0x01;  // a state starts elsewhere
  EXPECT_NE(chunk_error(c), "");
  // The chunk read as layout 1: the header no longer adds up.
  c = good, c[8] = 4;
  EXPECT_NE(chunk_error(c), "");
  // Stream sizes: a unit moved from the last state's stream (the rest) to state 0's and back, a unit
  // moved between two states, more units than the chunk holds, a size not in its shortest LEB128 form.
  c = good, c[at.sizes] += 1;
  EXPECT_NE(chunk_error(c), "");
  c = good, c[at.sizes] -= 1;
  EXPECT_NE(chunk_error(c), "");
  c = good, c[at.sizes] -= 1, c[at.sizes + 1] += 1;
  EXPECT_NE(chunk_error(c), "");
  c = good, c[at.sizes] |= 0x7f, c[at.sizes + 1] |= 0x7f, c[at.sizes + 2] |= 0x7f, c[at.sizes + 3] |= 0x7f;
  EXPECT_EQ(chunk_error(c), "chunk truncated in streams");
  c = good, c[at.sizes] |= 0x80, c.insert(c.begin() + long(at.sizes) + 1, 0);
  EXPECT_EQ(chunk_error(c), "bad stream size (not in its shortest form)");
  c = good, c[at.raw_size] ^= 0x01;
  EXPECT_EQ(chunk_error(c), "raw stream size is not a multiple of 4");
  // Bytes after the chunk's end land in the last state's stream: an odd one is not a unit, two are
  // a unit of zeros after its fields.
  c = good, c.insert(c.end(), 1, 0);
  EXPECT_EQ(chunk_error(c), "last state's stream is not whole units");
  c = good, c.insert(c.end(), 2, 0);
  EXPECT_EQ(chunk_error(c), "bits left over");
  // Two units moved from the raw stream to state 0's stream: sizes still add up, raw does not.
  c = good, c[at.sizes] += 2, c[at.raw_size] -= 4;
  EXPECT_EQ(chunk_error(c), "raw stream size does not match the value count");
  // Too small an output buffer.
  EXPECT_EQ(chunk_error(good, DType::BF16, 1999), "chunk holds 1000 values, more than expected");
  // Exponent symbols above 31 cannot be f16 exponents (and this raw stream is too short for f16).
  EXPECT_NE(chunk_error(good, DType::F16), "");
  // The initial states' padding bits (4 states x 11 bits = 44 bits: 4 bits of padding) must be 0.
  c = small_chunk(1000, nullptr, 2);
  ASSERT_EQ(chunk_error(c), "");
  c[offsets_of(c).states + 5] |= 0x80;
  EXPECT_EQ(chunk_error(c), "bits left over in initial states");

  // Empty chunks: nothing but table log 0 and raw stream size 0.
  const std::vector<uint8_t> empty = ws::encode_chunk(nullptr, 0, DType::BF16, {4, 11});
  ASSERT_EQ(chunk_error(empty), "");
  c = empty, c[9] = 11;
  EXPECT_EQ(chunk_error(c), "bad table log 11 (must be 0 for an empty chunk)");
  c = empty, c[10] = 4, c.insert(c.end(), 4, 0);
  EXPECT_EQ(chunk_error(c), "empty chunk has stream bytes");
  c = empty, c[4] = 1;
  EXPECT_EQ(chunk_error(c), "checksum mismatch");
}

TEST(Chunk, HeaderErrorsLayout1) {
  std::vector<uint8_t> values;
  small_chunk(1000, &values);
  const std::vector<uint8_t> good = ws::encode_chunk(values.data(), 1000, DType::BF16, {4, 11, Layout::Shared});
  ASSERT_EQ(chunk_error(good), "");
  const Offsets at = offsets_of(good);
  std::vector<uint8_t> c;
  c = good, c[8] = 3;
  EXPECT_EQ(chunk_error(c), "bad lane count 3 (must be 1, 2, 4 or 8)");
  c = good, c[at.states] = 0x00, c[at.states + 1] = 0x08;  // 2048 = 2^L
  EXPECT_EQ(chunk_error(c), "bad initial state 2048 in lane 0 (must be below 2^L)");
  c = good, c[at.states + 2] ^= 0x01;  // lane 1 starts elsewhere
  EXPECT_NE(chunk_error(c), "");
  c = good, c[at.sizes] ^= 0x02;  // symbol stream size not a multiple of 4
  EXPECT_EQ(chunk_error(c), "symbol stream size is not a multiple of 4");
  c = good, c[at.sizes] += 4;  // symbol stream claims a word more than the chunk holds
  EXPECT_EQ(chunk_error(c), "chunk truncated in streams");
  c = good, c[at.sizes] += 4, c[at.raw_size] -= 4;
  EXPECT_EQ(chunk_error(c), "raw stream size does not match the value count");
  const std::vector<uint8_t> empty = ws::encode_chunk(nullptr, 0, DType::BF16, {4, 11, Layout::Shared});
  ASSERT_EQ(chunk_error(empty), "");
  c = empty, c[14] = 4, c.insert(c.end(), 4, 0);
  EXPECT_EQ(chunk_error(c), "empty chunk has stream bytes");
}

TEST(Chunk, EmptyStateMustStartAtZero) {
  // Two values, eight lanes: states 2..15 (layout 2) or lanes 2..7 (layout 1) decode nothing and must
  // have initial state 0.
  std::vector<uint8_t> values;
  std::vector<uint8_t> c = small_chunk(2, &values, 8);
  EXPECT_EQ(decode(c, DType::BF16, 2), values);
  c[offsets_of(c).states + 6] |= 0x80;  // bit 55 of the 11-bit fields: bit 0 of state 5
  EXPECT_EQ(chunk_error(c), "bad initial state in state 5 (it has no symbols)");
  c = ws::encode_chunk(values.data(), 2, DType::BF16, {8, 11, Layout::Shared});
  EXPECT_EQ(decode(c, DType::BF16, 2), values);
  c[offsets_of(c).states + 2 * 5] = 1;
  EXPECT_EQ(chunk_error(c), "bad initial state in lane 5 (it has no symbols)");
}

TEST(Chunk, StreamErrors) {
  std::vector<uint8_t> values;
  const std::vector<uint8_t> good = small_chunk(1000, &values);
  const ws::ChunkView v = ws::parse_chunk(good.data(), good.size());
  const Offsets at = offsets_of(good);
  std::vector<uint8_t> c;
  // A set padding bit: the top bit of a state's last unit, in a state whose fields do not fill it.
  int padded = -1;
  for (int j = 0; j < v.states() && padded < 0; ++j) {
    c = good;
    c[size_t(v.streams[size_t(j)].data - good.data()) + v.streams[size_t(j)].bytes - 1] |= 0x80;
    if (chunk_error(c) == "bits left over") padded = j;
  }
  EXPECT_GE(padded, 0) << "no state stream ends in padding";
  // A state's stream one unit short (raw stream intact): its fields run out.
  EXPECT_EQ(chunk_error(resize_stream(good, 3, -1)), "stream ends early");
  // An extra unit of zeros in a state's stream.
  EXPECT_EQ(chunk_error(resize_stream(good, 3, 1)), "bits left over");
  // A unit moved from the end of state 3's stream to the start of state 4's.
  c = good;
  c[at.sizes + 3] -= 1, c[at.sizes + 4] += 1;
  EXPECT_NE(chunk_error(c), "");

  // 999 values: the raw stream has a byte of padding, which must be zero.
  std::vector<uint8_t> odd = small_chunk(999);
  ASSERT_EQ(chunk_error(odd), "");
  odd.back() = 1;
  EXPECT_EQ(chunk_error(odd), "bits left over in raw stream");
  // A changed raw byte decodes, but to other values: the CRC catches it.
  c = good, c[at.raw + 10] ^= 0x01;
  EXPECT_EQ(chunk_error(c), "checksum mismatch");

  // Layout 1: its one stream, a word short, a word too long, a padding bit set.
  const std::vector<uint8_t> old = ws::encode_chunk(values.data(), 1000, DType::BF16, {4, 11, Layout::Shared});
  const Offsets o1 = offsets_of(old);
  ws::ChunkStats st;
  ws::encode_chunk(values.data(), 1000, DType::BF16, {4, 11, Layout::Shared}, &st);
  ASSERT_NE(st.symbol_bits % 32, 0u);
  c = old, c[o1.raw - 1] |= 0x80;
  EXPECT_EQ(chunk_error(c), "bits left over");
  c = old;
  c.erase(c.begin() + long(o1.raw) - 4, c.begin() + long(o1.raw));
  c[o1.sizes] -= 4;
  EXPECT_EQ(chunk_error(c), "stream ends early");
  c = old;
  c.insert(c.begin() + long(o1.raw), 4, 0);
  c[o1.sizes] += 4;
  EXPECT_EQ(chunk_error(c), "bits left over");
}

TEST(Chunk, TruncatedAtEveryLength) {
  std::vector<uint8_t> values;
  const std::vector<uint8_t> good = small_chunk(300, &values);
  const std::vector<uint8_t> old = ws::encode_chunk(values.data(), 300, DType::BF16, {4, 11, Layout::Shared});
  int silent = 0;
  for (const auto* chunk : {&good, &old})
    for (size_t len = 0; len < chunk->size(); ++len) {
      std::vector<uint8_t> c(chunk->begin(), chunk->begin() + long(len));
      silent += chunk_error(c) == "";
    }
  std::printf("%zu truncations, %d accepted\n", good.size() + old.size(), silent);
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
    for (Layout layout : {Layout::PerState, Layout::Shared}) {
    const std::vector<uint8_t> good = ws::encode_chunk(values.data(), n, t, {4, 9, layout});
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
    std::printf("%s chunk (layout %d) of %zu bytes, %zu flip patterns: %d detected, %d decoded intact, "
                "%d decoded wrong silently\n",
                ws::dtype_name(t), int(layout), good.size(), flips.size(), r.detected, r.intact, r.silent_wrong);
    EXPECT_EQ(r.silent_wrong, 0);
    EXPECT_GT(r.detected, 0);
    }
  }
}

}  // namespace
