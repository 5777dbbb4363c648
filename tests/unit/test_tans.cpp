// tANS (docs/format.md section 2): a hand-derived example, table invariants, normalisation,
// random round trips over every table log and lane count, real data and malformed streams.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "codec/chunk.hpp"
#include "codec/tans.hpp"
#include "core/bitstream.hpp"
#include "core/error.hpp"

#include "test_env.hpp"

namespace {

using wstest::seed;
using wstest::long_run;
using wstest::error_of;

using ws::tans::DecodeEntry;
using ws::tans::Layout;
using ws::tans::StreamView;
using ws::tans::Histogram;
using ws::tans::NormalizedCounts;



// The example of the hand derivations below: L = 5, symbols 3..6 with counts 18, 0, 11, 3.
NormalizedCounts hand_counts() {
  NormalizedCounts nc;
  nc.table_log = 5;
  nc.first = 3;
  nc.last = 6;
  nc.counts = {18, 0, 11, 3};
  return nc;
}

// T = 32, step = 16 + 4 + 3 = 23. Positions, (pos + 23) mod 32 from 0:
//   s3 (18): 0 23 14 5 28 19 10 1 24 15 6 29 20 11 2 25 16 7
//   s5 (11): 30 21 12 3 26 17 8 31 22 13 4
//   s6 (3):  27 18 9
// Decode table, x in order; k = next[s]++, nb = 5 - floor(log2 k), next_base = (k << nb) - 32:
//   s3: k 18..31 -> nb 1, base 2k-32 = 4..30;  k 32..35 -> nb 0, base k-32 = 0..3
//   s5: k 11..15 -> nb 2, base 4k-32 = 12..28; k 16..21 -> nb 1, base 2k-32 = 0..10
//   s6: k 3 -> nb 4, base 16;  k 4 -> nb 3, base 0;  k 5 -> nb 3, base 8
struct HandEntry {
  int symbol, nb_bits, next_base;
};
const HandEntry kHandTable[32] = {
    {3, 1, 4},  {3, 1, 6},  {3, 1, 8},  {5, 2, 12}, {5, 2, 16}, {3, 1, 10}, {3, 1, 12}, {3, 1, 14},
    {5, 2, 20}, {6, 4, 16}, {3, 1, 16}, {3, 1, 18}, {5, 2, 24}, {5, 2, 28}, {3, 1, 20}, {3, 1, 22},
    {3, 1, 24}, {5, 1, 0},  {6, 3, 0},  {3, 1, 26}, {3, 1, 28}, {5, 1, 2},  {5, 1, 4},  {3, 1, 30},
    {3, 0, 0},  {3, 0, 1},  {5, 1, 6},  {6, 3, 8},  {3, 0, 2},  {3, 0, 3},  {5, 1, 8},  {5, 1, 10},
};

TEST(Tans, HandSpreadAndDecodeTable) {
  const NormalizedCounts nc = hand_counts();
  const std::vector<uint8_t> sp = ws::tans::spread(nc);
  const std::vector<DecodeEntry> t = ws::tans::build_decode_table(nc);
  ASSERT_EQ(sp.size(), 32u);
  ASSERT_EQ(t.size(), 32u);
  for (int x = 0; x < 32; ++x) {
    SCOPED_TRACE("x = " + std::to_string(x));
    EXPECT_EQ(sp[size_t(x)], kHandTable[x].symbol);
    EXPECT_EQ(t[size_t(x)].symbol, kHandTable[x].symbol);
    EXPECT_EQ(t[size_t(x)].nb_bits, kHandTable[x].nb_bits);
    EXPECT_EQ(t[size_t(x)].next_base, kHandTable[x].next_base);
  }
  // The RTL configuration word {next_base[11:0], nb_bits[3:0], symbol[7:0]} of x = 9: 16, 4, 6.
  EXPECT_EQ(t[9].pack(), (16u << 12) | (4u << 8) | 6u);
}

TEST(Tans, HandStreamOneLane) {
  // Decoding, from the table above, with initial state 9 and fields 7 (4 bits), 1, 1, 0, 0 (3 bits):
  //   x=9  -> s6, read 4 bits = 7 -> 16 + 7 = 23
  //   x=23 -> s3, read 1 bit  = 1 -> 30 + 1 = 31
  //   x=31 -> s5, read 1 bit  = 1 -> 10 + 1 = 11
  //   x=11 -> s3, read 1 bit  = 0 -> 18
  //   x=18 -> s6, read 3 bits = 0 -> 0       (final state 0)
  // Stream bits 1,1,1,0, 1, 1, 0, 0,0,0 -> byte 0 = 0b00110111 = 0x37, then zeros to a word.
  // tANS coding is a bijection, so the encoder must produce exactly this for symbols 6 3 5 3 6.
  const NormalizedCounts nc = hand_counts();
  const uint8_t symbols[5] = {6, 3, 5, 3, 6};
  const ws::tans::EncodedSymbols enc = ws::tans::encode(symbols, 5, nc, 1, Layout::Shared);
  ASSERT_EQ(enc.streams.size(), 1u);
  EXPECT_EQ(enc.streams[0], (std::vector<uint8_t>{0x37, 0, 0, 0}));
  EXPECT_EQ(enc.bit_count, 10u);
  EXPECT_EQ(enc.initial_states[0], 9);

  const std::vector<uint8_t> stream = {0x37, 0, 0, 0};
  const StreamView view{stream.data(), stream.size()};
  const uint16_t init[1] = {9};
  uint8_t out[5] = {};
  ws::tans::decode(Layout::Shared, &view, ws::tans::build_decode_table(nc), 5, 1, init, out, 5);
  EXPECT_EQ(std::vector<uint8_t>(out, out + 5), std::vector<uint8_t>(symbols, symbols + 5));
}

TEST(Tans, HandStreamTwoLanes) {
  // K = 2, symbols 5 6 3 5 3: lane 0 decodes i = 0, 2, 4, lane 1 decodes i = 1, 3.
  //   lane 0: x=4  -> s5, 2 bits = 0 -> 16;  x=16 -> s3, 1 bit = 0 -> 24;  x=24 -> s3, 0 bits -> 0
  //   lane 1: x=9  -> s6, 4 bits = 1 -> 17;  x=17 -> s5, 1 bit = 0 -> 0
  // Fields in stream order i = 0..4: (0, 2 bits) (1, 4 bits) (0, 1) (0, 1) (none)
  // Bits 0,0, 1,0,0,0, 0, 0 -> byte 0 = 0b00000100 = 0x04; the last step is partial (lane 0 only).
  const NormalizedCounts nc = hand_counts();
  const uint8_t symbols[5] = {5, 6, 3, 5, 3};
  const ws::tans::EncodedSymbols enc = ws::tans::encode(symbols, 5, nc, 2, Layout::Shared);
  ASSERT_EQ(enc.streams.size(), 1u);
  EXPECT_EQ(enc.streams[0], (std::vector<uint8_t>{0x04, 0, 0, 0}));
  EXPECT_EQ(enc.bit_count, 8u);
  EXPECT_EQ(enc.initial_states[0], 4);
  EXPECT_EQ(enc.initial_states[1], 9);

  const std::vector<uint8_t> stream = {0x04, 0, 0, 0};
  const StreamView view{stream.data(), stream.size()};
  const uint16_t init[2] = {4, 9};
  uint8_t out[5] = {};
  ws::tans::decode(Layout::Shared, &view, ws::tans::build_decode_table(nc), 5, 2, init, out, 5);
  EXPECT_EQ(std::vector<uint8_t>(out, out + 5), std::vector<uint8_t>(symbols, symbols + 5));
}

TEST(Tans, HandStreamsPerState) {
  // Layout 2, K = 1: S = 2 states, each with its own stream. Symbols 6 3 5 3 6: state 0 decodes
  // i = 0, 2, 4 (6 5 6), state 1 decodes i = 1, 3 (3 3). Backwards from final state 0:
  //   state 0: x=18 -> s6, 3 bits = 4 -> 0 + 4 = 4;  x=4 -> s5, 2 bits = 2 -> 16 + 2 = 18;
  //            x=18 -> s6, 3 bits = 0 -> 0.   Bits 0,0,1, 0,1, 0,0,0 -> 0x14, padded to a unit.
  //   state 1: x=16 -> s3, 1 bit = 0 -> 24 + 0 = 24;  x=24 -> s3, 0 bits -> 0.   One zero bit.
  const NormalizedCounts nc = hand_counts();
  const uint8_t symbols[5] = {6, 3, 5, 3, 6};
  const ws::tans::EncodedSymbols enc = ws::tans::encode(symbols, 5, nc, 1, Layout::PerState);
  ASSERT_EQ(enc.streams.size(), 2u);
  EXPECT_EQ(enc.streams[0], (std::vector<uint8_t>{0x14, 0}));
  EXPECT_EQ(enc.streams[1], (std::vector<uint8_t>{0, 0}));
  EXPECT_EQ(enc.bit_count, 9u);
  EXPECT_EQ(enc.initial_states[0], 18);
  EXPECT_EQ(enc.initial_states[1], 16);

  const std::vector<uint8_t> s0 = {0x14, 0}, s1 = {0, 0};
  const StreamView views[2] = {{s0.data(), s0.size()}, {s1.data(), s1.size()}};
  const uint16_t init[2] = {18, 16};
  uint8_t out[5] = {};
  ws::tans::decode(Layout::PerState, views, ws::tans::build_decode_table(nc), 5, 1, init, out, 5);
  EXPECT_EQ(std::vector<uint8_t>(out, out + 5), std::vector<uint8_t>(symbols, symbols + 5));
  // State 1's stream may also be empty? No: its one field takes a bit, so it is a unit of zeros.
  const StreamView short_views[2] = {{s0.data(), s0.size()}, {s1.data(), 0}};
  EXPECT_EQ(error_of([&] {
              ws::tans::decode(Layout::PerState, short_views, ws::tans::build_decode_table(nc), 5, 1, init, out, 5);
            }),
            "stream ends early");
}

TEST(Tans, HandCounts) {
  // remaining = 32: 18 in bit_length(32) = 6 bits; remaining 14: 0 in 4 bits; 11 in 4 bits;
  // remaining 3: 3 in 2 bits. Bits LSB first: 0,1,0,0,1,0 | 0,0,0,0 | 1,1,0,1 | 1,1
  // byte 0 = 0,1,0,0,1,0,0,0 -> 0x12;  byte 1 = 0,0,1,1,0,1,1,1 -> 0xEC.
  std::vector<uint8_t> out;
  ws::tans::write_counts(hand_counts(), out);
  EXPECT_EQ(out, (std::vector<uint8_t>{3, 6, 0x12, 0xEC}));
  const uint8_t* p = out.data();
  NormalizedCounts back = ws::tans::read_counts(p, out.data() + out.size(), 5);
  EXPECT_EQ(p, out.data() + out.size());
  EXPECT_EQ(back.first, 3);
  EXPECT_EQ(back.last, 6);
  EXPECT_EQ(back.counts, hand_counts().counts);
}

// Random counts over [first, last] summing to 2^L (some zeros, every slot count >= 0).
NormalizedCounts random_counts(std::mt19937_64& rng, int L) {
  NormalizedCounts nc;
  nc.table_log = L;
  const uint32_t T = 1u << L;
  int span = 1 + int(rng() % std::min<uint32_t>(256, T));
  nc.first = uint8_t(rng() % uint32_t(257 - span));
  nc.last = uint8_t(nc.first + span - 1);
  nc.counts.assign(size_t(span), 0);
  for (uint32_t i = 0; i < T; ++i) {
    // Skewed: half the mass to a few symbols.
    size_t s = (rng() & 1) ? rng() % size_t(std::min(span, 3)) : rng() % size_t(span);
    ++nc.counts[s];
  }
  return nc;
}

TEST(Tans, SpreadAndTableInvariants) {
  std::mt19937_64 rng(seed());
  for (int L = 5; L <= 12; ++L) {
    const uint32_t T = 1u << L;
    // The step visits every slot once (it is odd, hence coprime with T).
    const uint32_t step = (T >> 1) + (T >> 3) + 3;
    std::vector<int> seen(T, 0);
    for (uint32_t i = 0, pos = 0; i < T; ++i, pos = (pos + step) & (T - 1)) ++seen[pos];
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int v) { return v == 1; })) << "L=" << L;

    for (int trial = 0; trial < 20; ++trial) {
      const NormalizedCounts nc = random_counts(rng, L);
      const std::vector<uint8_t> sp = ws::tans::spread(nc);
      const std::vector<DecodeEntry> t = ws::tans::build_decode_table(nc);
      ASSERT_EQ(sp.size(), T);
      ASSERT_EQ(t.size(), T);
      // Spread fills every slot: each symbol appears exactly n_s times.
      std::vector<uint32_t> in_table(256, 0);
      for (uint8_t s : sp) ++in_table[s];
      for (unsigned s = 0; s < 256; ++s) ASSERT_EQ(in_table[s], nc.count(s)) << "L=" << L << " s=" << s;
      // For each symbol, the ranges [next_base, next_base + 2^nb_bits) of its entries tile [0, T).
      std::vector<std::vector<int>> cover(256);
      for (uint32_t x = 0; x < T; ++x) {
        const DecodeEntry& e = t[x];
        ASSERT_EQ(e.symbol, sp[x]);
        ASSERT_LE(e.nb_bits, L);
        ASSERT_LT(e.next_base, T);
        ASSERT_LE(uint32_t(e.next_base) + (1u << e.nb_bits), T);
        auto& c = cover[e.symbol];
        if (c.empty()) c.assign(T, 0);
        for (uint32_t y = 0; y < (1u << e.nb_bits); ++y) ++c[e.next_base + y];
      }
      for (unsigned s = 0; s < 256; ++s) {
        if (nc.count(s) == 0) continue;
        ASSERT_TRUE(std::all_of(cover[s].begin(), cover[s].end(), [](int v) { return v == 1; }))
            << "L=" << L << " symbol " << s << " does not tile the state range";
      }
    }
  }
}

TEST(Tans, CountsRoundTrip) {
  std::mt19937_64 rng(seed() + 1);
  const int trials = long_run() ? 20000 : 1000;
  int failures = 0;
  for (int i = 0; i < trials; ++i) {
    const int L = 5 + int(rng() % 8);
    const NormalizedCounts nc = random_counts(rng, L);
    std::vector<uint8_t> bytes = {0xAA};  // something before, to check appending
    ws::tans::write_counts(nc, bytes);
    bytes.push_back(0x55);  // and something after, to check the reader stops where it should
    const uint8_t* p = bytes.data() + 1;
    NormalizedCounts back = ws::tans::read_counts(p, bytes.data() + bytes.size(), L);
    failures += back.first != nc.first || back.last != nc.last || back.counts != nc.counts ||
                p != bytes.data() + bytes.size() - 1;
  }
  std::printf("%d count tables, %d failures\n", trials, failures);
  EXPECT_EQ(failures, 0);
}

TEST(Tans, CountsErrors) {
  std::vector<uint8_t> good;
  ws::tans::write_counts(hand_counts(), good);  // {3, 6, 0x12, 0xEC}
  auto read = [](std::vector<uint8_t> b, int L) {
    const uint8_t* p = b.data();
    ws::tans::read_counts(p, b.data() + b.size(), L);
  };
  EXPECT_EQ(error_of([&] { read(good, 5); }), "");
  // Last count 3 -> 2: the counts sum to 31.
  std::vector<uint8_t> b = good;
  b[3] = 0xEC & ~0x40;
  EXPECT_EQ(error_of([&] { read(b, 5); }), "table does not sum to 2^L");
  // First count 18 -> 50 (> remaining 32): bit 5 of the first field set.
  b = good;
  b[2] |= 0x20;
  EXPECT_EQ(error_of([&] { read(b, 5); }), "table does not sum to 2^L");
  // The same bytes read with L = 6 sum to 32, not 64.
  EXPECT_NE(error_of([&] { read(good, 6); }), "");
  // first > last.
  b = good;
  b[0] = 7;
  EXPECT_EQ(error_of([&] { read(b, 5); }), "first symbol is above last symbol");
  // Truncated at every length.
  for (size_t len = 0; len < good.size(); ++len)
    EXPECT_NE(error_of([&] { read(std::vector<uint8_t>(good.begin(), good.begin() + long(len)), 5); }), "")
        << "length " << len;
  // Bad table logs.
  EXPECT_EQ(error_of([&] { read(good, 4); }), "bad table log 4 (must be 5..12)");
  EXPECT_EQ(error_of([&] { read(good, 13); }), "bad table log 13 (must be 5..12)");
  // Nonzero byte padding: counts for L = 5, one symbol: 32 in 6 bits, then 2 padding bits.
  std::vector<uint8_t> one = {9, 9, 0x20};
  EXPECT_EQ(error_of([&] { read(one, 5); }), "");
  one[2] |= 0x80;
  EXPECT_EQ(error_of([&] { read(one, 5); }), "bits left over in counts");
  // validate() on tables that do not sum to 2^L or have a bad shape.
  NormalizedCounts nc = hand_counts();
  nc.counts[0] = 17;
  EXPECT_EQ(error_of([&] { ws::tans::validate(nc); }), "table does not sum to 2^L");
  EXPECT_EQ(error_of([&] { ws::tans::build_decode_table(nc); }), "table does not sum to 2^L");
  nc = hand_counts();
  nc.table_log = 13;
  EXPECT_NE(error_of([&] { ws::tans::validate(nc); }), "");
}

// Optimal counts by an independent method: start every occurring symbol at 1 and hand out the
// remaining T - D counts one at a time to the largest gain h * log2((c + 1) / c). The gains of each
// symbol shrink as its count grows, so this greedy is optimal for the ideal coded size.
double optimal_bits(const Histogram& h, int L) {
  std::vector<uint32_t> c(256, 0);
  uint32_t used = 0;
  for (int s = 0; s < 256; ++s)
    if (h[s]) c[s] = 1, ++used;
  for (; used < (1u << L); ++used) {
    int best = -1;
    double gain = -1;
    for (int s = 0; s < 256; ++s)
      if (h[s]) {
        double g = double(h[s]) * std::log2(double(c[s] + 1) / c[s]);
        if (g > gain) gain = g, best = s;
      }
    ++c[best];
  }
  double bits = 0;
  for (int s = 0; s < 256; ++s)
    if (h[s]) bits += double(h[s]) * std::log2(double(1u << L) / c[s]);
  return bits;
}

Histogram random_histogram(std::mt19937_64& rng, int kind) {
  Histogram h{};
  switch (kind) {
    case 0:  // uniform over a random range
      for (int s = int(rng() % 50), e = s + 1 + int(rng() % 60); s < e; ++s) h[s] = 1000;
      break;
    case 1:  // geometric, like exponents
      for (int s = 100, w = 1 << 20; s < 130 && w > 0; ++s, w /= 2) h[s] = uint64_t(w) + rng() % 7;
      break;
    case 2:  // extremely skewed: one dominant symbol and a few singletons
      h[7] = 1000000;
      for (int i = 0; i < 5; ++i) h[rng() % 256] += 1;
      break;
    default:  // random sparse
      for (int i = 0; i < 40; ++i) h[rng() % 256] += rng() % 10000;
      if (std::all_of(h.begin(), h.end(), [](uint64_t v) { return v == 0; })) h[0] = 1;
  }
  return h;
}

TEST(Tans, NormalizeIsOptimalAndWellFormed) {
  std::mt19937_64 rng(seed() + 2);
  const int trials = long_run() ? 400 : 40;
  int worse = 0;
  for (int i = 0; i < trials; ++i) {
    const Histogram h = random_histogram(rng, i % 4);
    const int L = 5 + i % 8;
    const NormalizedCounts nc = ws::tans::normalize(h, L);
    int distinct = 0;
    for (uint64_t v : h) distinct += v != 0;
    const int want_L = std::max(L, distinct > 128 ? 8 : distinct > 64 ? 7 : distinct > 32 ? 6 : 5);
    ASSERT_EQ(nc.table_log, want_L);
    ASSERT_NO_THROW(ws::tans::validate(nc));
    for (unsigned s = 0; s < 256; ++s) {
      if (h[s] != 0) {
        ASSERT_GE(nc.count(s), 1u) << "symbol " << s << " dropped";
      } else {
        ASSERT_EQ(nc.count(s), 0u);
      }
    }
    ASSERT_TRUE(h[nc.first] != 0 && h[nc.last] != 0) << "range is not the occurring symbols";
    const double got = ws::tans::coded_bits(h, nc);
    const double best = optimal_bits(h, nc.table_log);
    worse += got > best * (1 + 1e-9) + 1e-9;
    ASSERT_GE(got, ws::tans::entropy_bits(h) * (1 - 1e-12));
    // Deterministic.
    ASSERT_EQ(ws::tans::normalize(h, L).counts, nc.counts);
  }
  std::printf("%d histograms, %d with more coded bits than the optimum\n", trials, worse);
  EXPECT_EQ(worse, 0);
}

TEST(Tans, NormalizeEdges) {
  Histogram h{};
  EXPECT_THROW(ws::tans::normalize(h, 11), ws::FormatError);
  h[42] = 5;
  NormalizedCounts one = ws::tans::normalize(h, 11);
  EXPECT_EQ(one.first, 42);
  EXPECT_EQ(one.last, 42);
  EXPECT_EQ(one.counts, std::vector<uint16_t>{2048});
  for (auto& v : h) v = 1;
  NormalizedCounts all = ws::tans::normalize(h, 5);
  EXPECT_EQ(all.table_log, 8);  // 256 symbols need 256 slots
  EXPECT_EQ(all.first, 0);
  EXPECT_EQ(all.last, 255);
  EXPECT_TRUE(std::all_of(all.counts.begin(), all.counts.end(), [](uint16_t c) { return c == 1; }));
  EXPECT_THROW(ws::tans::normalize(h, 4), std::invalid_argument);
  EXPECT_THROW(ws::tans::normalize(h, 13), std::invalid_argument);
  // coded_bits and entropy_bits: 4 symbols equally likely = 2 bits each.
  Histogram q{};
  q[0] = q[1] = q[2] = q[3] = 10;
  NormalizedCounts nq = ws::tans::normalize(q, 5);
  EXPECT_EQ(nq.counts, (std::vector<uint16_t>{8, 8, 8, 8}));
  EXPECT_DOUBLE_EQ(ws::tans::coded_bits(q, nq), 80.0);
  EXPECT_DOUBLE_EQ(ws::tans::entropy_bits(q), 80.0);
}

// A reference decoder written line by line from docs/format.md 2.4 and 2.5, with the slow BitReader:
// symbol i belongs to state i mod S and reads the shared stream (layout 1) or its state's (layout 2).
std::vector<uint8_t> reference_decode(const ws::tans::EncodedSymbols& enc, const NormalizedCounts& nc, size_t n) {
  const std::vector<DecodeEntry> t = ws::tans::build_decode_table(nc);
  const int S = enc.states();
  std::vector<ws::BitReader> r;
  for (const auto& st : enc.streams) r.emplace_back(st.data(), st.size());
  std::vector<uint32_t> state(enc.initial_states.begin(), enc.initial_states.begin() + S);
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t& x = state[i % size_t(S)];
    out[i] = t[x].symbol;
    x = t[x].next_base + r[enc.layout == Layout::Shared ? 0 : i % size_t(S)].read(t[x].nb_bits);
  }
  for (int j = 0; j < S; ++j)
    if (state[size_t(j)] != 0) throw ws::FormatError("final state wrong");
  for (size_t j = 0; j < r.size(); ++j) {
    if (enc.layout == Layout::Shared) {
      r[j].expect_padding_only();
    } else {  // less than a unit, all zero
      const uint64_t left = r[j].size_bits() - r[j].position();
      if (left >= 16 || r[j].read(int(left)) != 0) throw ws::FormatError("bits left over");
    }
  }
  return out;
}

// Symbols drawn from an alphabet shape: 0 uniform, 1 extremely skewed, 2 single symbol, 3 all 256,
// 4 geometric (exponent-like).
std::vector<uint8_t> random_symbols(std::mt19937_64& rng, int shape, size_t n) {
  std::vector<uint8_t> v(n);
  const uint8_t base = uint8_t(rng() % 200);
  for (size_t i = 0; i < n; ++i) {
    switch (shape) {
      case 0: v[i] = uint8_t(base + rng() % 40); break;
      case 1: v[i] = rng() % 1000 == 0 ? uint8_t(rng()) : base; break;
      case 2: v[i] = base; break;
      case 3: v[i] = uint8_t(rng()); break;
      default: {
        int e = 0;
        while (e < 50 && (rng() & 1)) ++e;
        v[i] = uint8_t(base + e);
      }
    }
  }
  if (shape == 3 && n >= 256)  // make sure every symbol occurs
    for (int s = 0; s < 256; ++s) v[size_t(s) * (n / 256)] = uint8_t(s);
  return v;
}

TEST(Tans, RandomRoundTrips) {
  const uint32_t s = seed();
  std::printf("WS_DEPTH=%s\n", long_run() ? "long" : "smoke");
  std::mt19937_64 rng(s + 3);
  const size_t large = long_run() ? 1000000 : 20000;
  uint64_t symbols = 0, mismatches = 0, ref_mismatches = 0, cases = 0;
  for (Layout layout : {Layout::PerState, Layout::Shared})
  for (int L = 5; L <= 12; ++L)
    for (int K : {1, 2, 4, 8})
      for (int shape = 0; shape < 5; ++shape)
        for (size_t n : {size_t(0), size_t(1), size_t(K - 1), size_t(K + 1), size_t(2 * K + 1), size_t(257), large}) {
          std::vector<uint8_t> v = random_symbols(rng, shape, n);
          Histogram h{};
          for (uint8_t x : v) ++h[x];
          if (n == 0) h[0] = 1;  // any table will do for no symbols
          const NormalizedCounts nc = ws::tans::normalize(h, L);
          const ws::tans::EncodedSymbols enc = ws::tans::encode(v.data(), n, nc, K, layout);
          const int S = enc.states();
          ASSERT_EQ(S, layout == Layout::Shared ? K : 2 * K);
          ASSERT_EQ(enc.streams.size(), layout == Layout::Shared ? 1u : size_t(S));
          uint64_t stream_bits = 0;
          for (const auto& st : enc.streams) {
            ASSERT_EQ(st.size() % (layout == Layout::Shared ? 4 : 2), 0u);
            stream_bits += 8 * st.size();
          }
          if (layout == Layout::Shared) ASSERT_EQ(stream_bits, (enc.bit_count + 31) / 32 * 32);
          ASSERT_GE(stream_bits, enc.bit_count);
          ASSERT_LT(stream_bits, enc.bit_count + 16 * enc.streams.size() + 16);
          for (int j = int(std::min<size_t>(n, size_t(S))); j < S; ++j) {
            ASSERT_EQ(enc.initial_states[size_t(j)], 0) << "a state without symbols starts at 0";
            if (layout == Layout::PerState) ASSERT_TRUE(enc.streams[size_t(j)].empty());
          }
          std::vector<uint8_t> out(n + 1, 0xEE);  // one guard byte
          ws::tans::decode(enc, ws::tans::build_decode_table(nc), nc.table_log, out.data(), n);
          ASSERT_EQ(out[n], 0xEE) << "decode wrote past n";
          for (size_t i = 0; i < n; ++i) mismatches += out[i] != v[i];
          if (n <= 257) {
            std::vector<uint8_t> ref = reference_decode(enc, nc, n);
            for (size_t i = 0; i < n; ++i) ref_mismatches += ref[i] != v[i];
          }
          symbols += n;
          ++cases;
        }
  std::printf("%llu cases, %llu symbols, %llu mismatches, %llu reference-decoder mismatches\n",
              (unsigned long long)cases, (unsigned long long)symbols,
              (unsigned long long)mismatches, (unsigned long long)ref_mismatches);
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(ref_mismatches, 0u);
}

// --- Real data -----------------------------------------------------------------------------------

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

TEST(Tans, RealExponentsNearEntropy) {
  // stories260K.bin: 7 int32 header fields, then 264,128 fp32 weights.
  const std::vector<uint8_t> file = read_file(std::string(WS_DATA_DIR) + "/stories260K.bin");
  ASSERT_EQ(file.size(), 28u + 264128u * 4u);
  const size_t count = 264128;
  std::vector<uint8_t> exps(count);
  for (size_t i = 0; i < count; ++i) {
    uint32_t f;
    std::memcpy(&f, file.data() + 28 + 4 * i, 4);
    exps[i] = uint8_t(to_bf16(f) >> 7);  // bf16 exponent, bits 14..7 (sign dropped by the cast)
  }
  // Chunks of 65536 symbols, default table log, lanes and layout. Coded size: the symbol streams with
  // their padding, the table header (first, last, counts), the initial states and stream sizes.
  double coded = 0, entropy = 0;
  uint64_t mismatches = 0;
  for (size_t at = 0; at < count; at += 65536) {
    const size_t n = std::min<size_t>(65536, count - at);
    Histogram h{};
    for (size_t i = 0; i < n; ++i) ++h[exps[at + i]];
    const NormalizedCounts nc = ws::tans::normalize(h);
    const ws::tans::EncodedSymbols enc = ws::tans::encode(exps.data() + at, n, nc, ws::tans::kDefaultLanes);
    coded += 8.0 * double(ws::chunk_size(n, nc, enc, 0) - 14);  // without value count, CRC, lanes, log, raw size
    entropy += ws::tans::entropy_bits(h);
    std::vector<uint8_t> out(n);
    ws::tans::decode(enc, ws::tans::build_decode_table(nc), nc.table_log, out.data(), n);
    for (size_t i = 0; i < n; ++i) mismatches += out[i] != exps[at + i];
  }
  std::printf("stories260K bf16 exponents: %zu symbols, %llu mismatches, entropy %.4f bits/symbol, "
              "coded %.4f bits/symbol (+%.3f%%)\n",
              count, (unsigned long long)mismatches, entropy / double(count), coded / double(count),
              100.0 * (coded / entropy - 1));
  EXPECT_EQ(mismatches, 0u);
  EXPECT_LT(coded, entropy * 1.01) << "coded size is not within 1% of the order-0 entropy";
}

// --- Malformed streams ---------------------------------------------------------------------------

struct Coded {
  NormalizedCounts nc;
  std::vector<DecodeEntry> table;
  ws::tans::EncodedSymbols enc;
  std::vector<uint8_t> symbols;
};

Coded make_coded(size_t n, int K, uint32_t s, Layout layout) {
  std::mt19937_64 rng(s);
  Coded c;
  c.symbols = random_symbols(rng, 4, n);
  Histogram h{};
  for (uint8_t x : c.symbols) ++h[x];
  c.nc = ws::tans::normalize(h, 11);
  c.table = ws::tans::build_decode_table(c.nc);
  c.enc = ws::tans::encode(c.symbols.data(), n, c.nc, K, layout);
  return c;
}

// The error of decoding `streams` (one per stream of the layout) as c's symbols.
std::string decode_error(const Coded& c, const std::vector<std::vector<uint8_t>>& streams, int K,
                         const uint16_t* init, size_t n) {
  std::vector<uint8_t> out(n);
  std::vector<StreamView> views;
  for (const auto& st : streams) views.push_back({st.data(), st.size()});
  views.resize(ws::tans::kMaxStates);
  return error_of([&] {
    ws::tans::decode(c.enc.layout, views.data(), c.table, c.nc.table_log, K, init, out.data(), n);
  });
}

// The padding bits of a stream: a field of the last unit (word) above the data, when there is one.
bool ends_in_padding(const Coded& c, size_t stream) {
  const std::vector<uint8_t> save = c.enc.streams[stream];
  Coded d = c;
  d.enc.streams[stream].back() ^= 0x80;
  return decode_error(d, d.enc.streams, c.enc.lanes, c.enc.initial_states.data(), c.symbols.size()) ==
         "bits left over";
}

TEST(Tans, DecodeErrors) {
  for (Layout layout : {Layout::PerState, Layout::Shared}) {
    SCOPED_TRACE(layout == Layout::Shared ? "layout 1" : "layout 2");
    const int K = 4;
    const bool shared = layout == Layout::Shared;
    const size_t unit = shared ? 4 : 2;  // bytes a stream is padded to
    const char* name = shared ? "lane" : "state";
    // A symbol count whose fields do not fill stream 1's last unit, so that it ends in padding.
    const uint32_t sd = seed();
    size_t n = 5000;
    Coded c = make_coded(n, K, sd, layout);
    const size_t victim = shared ? 0 : 1;
    while (!ends_in_padding(c, victim)) c = make_coded(++n, K, sd, layout);
    const uint16_t* init = c.enc.initial_states.data();
    const auto good = c.enc.streams;
    ASSERT_EQ(decode_error(c, good, K, init, n), "");

    // Truncated by a unit: the reads run past the end.
    auto s = good;
    s[victim].resize(s[victim].size() - unit);
    EXPECT_EQ(decode_error(c, s, K, init, n), "stream ends early");
    // Truncated to nothing at all.
    s = good;
    s[victim].clear();
    EXPECT_EQ(decode_error(c, s, K, init, n), "stream ends early");
    // An extra zero unit.
    s = good;
    s[victim].insert(s[victim].end(), unit, 0);
    EXPECT_EQ(decode_error(c, s, K, init, n), "bits left over");
    // A set padding bit.
    s = good;
    s[victim].back() |= 0x80;
    EXPECT_EQ(decode_error(c, s, K, init, n), "bits left over");
    // An initial state changed: the state ends elsewhere than 0, or reads a different number of bits.
    uint16_t bad[ws::tans::kMaxStates];
    std::copy(init, init + c.enc.states(), bad);
    bad[2] ^= 1;
    EXPECT_NE(decode_error(c, good, K, bad, n), "");
    bad[2] = uint16_t(c.nc.table_size());
    EXPECT_EQ(decode_error(c, good, K, bad, n), std::string("initial state 2048 of ") + name + " 2 is not below 2^L");
    // Bad lane count.
    EXPECT_EQ(decode_error(c, good, 3, init, n), "bad lane count 3 (must be 1, 2, 4 or 8)");
    // Decoding fewer symbols than were coded leaves bits and states behind.
    EXPECT_NE(decode_error(c, good, K, init, n - 4), "");
    // A state with no symbols but a nonzero initial state.
    const Coded two = make_coded(2, K, sd, layout);
    uint16_t st[ws::tans::kMaxStates];
    std::copy(two.enc.initial_states.begin(), two.enc.initial_states.begin() + two.enc.states(), st);
    st[3] = 5;
    EXPECT_EQ(decode_error(two, two.enc.streams, K, st, 2), std::string("final state wrong in ") + name + " 3");
    // Layout 2: a state with no symbols but a stream.
    if (!shared) {
      s = two.enc.streams;
      s[5] = {0, 0};
      EXPECT_EQ(decode_error(two, s, K, two.enc.initial_states.data(), 2), "bits left over");
    }

    // Flipped bits: count how often the decoder itself notices (the chunk CRC catches the rest; see
    // test_chunk). Every outcome must be a FormatError or a completed decode, never a crash.
    std::mt19937_64 rng(sd + 9);
    int detected = 0;
    const int flips = long_run() ? 20000 : 2000;
    for (int i = 0; i < flips; ++i) {
      s = good;
      const size_t j = rng() % s.size();
      if (s[j].empty()) continue;
      const size_t bit = rng() % (s[j].size() * 8);
      s[j][bit / 8] ^= uint8_t(1u << (bit % 8));
      detected += decode_error(c, s, K, init, n) != "";
    }
    std::printf("%s: single bit flips detected by the tANS decoder alone: %d of %d\n",
                shared ? "layout 1" : "layout 2", detected, flips);
    EXPECT_GT(detected, flips * 9 / 10);
  }
}

}  // namespace
