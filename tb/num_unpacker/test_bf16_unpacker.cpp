// Bench of ws_bf16_unpacker (docs/numfmt.md section 6.1).
//
// Every test drives the Verilated unpacker and its cycle model (ws::Bf16UnpackerModel) in lock step
// (runner.hpp: every output pin every cycle) and checks every output beat against the functional
// model (ws::numfmt::decode_tensor, the bf16 format), at Lanes = 1, 2, 4 and 8. Data: all 65,536 bf16
// patterns, stories260K weights rounded to bf16, random patterns in chunks of random lengths (partial
// last beats, count-0 beats), random gaps on every input and random backpressure; then the errors
// (raw stream runs out, words or bytes left over, bad configuration writes), each followed by
// err_clear and a good chunk on the same device. The same bodies also run the cycle model alone as
// the device (against the functional model only). TB_SEED (default 1) drives everything and is
// printed; WS_DEPTH=long runs more.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "Vbf16_unpacker_L1.h"
#include "Vbf16_unpacker_L2.h"
#include "Vbf16_unpacker_L4.h"
#include "Vbf16_unpacker_L8.h"
#include "core/bf16.hpp"
#include "dut.hpp"
#include "runner.hpp"
#include "stimulus.hpp"
#include "tb.hpp"

namespace tbnum {
namespace {

using Bf16Model = ws::Bf16UnpackerModel;

const Format& bf16() {
  static const Format f = Format::builtin("bf16");
  return f;
}

// A bf16 pattern as the stream carries it: the exponent is the symbol, sign and mantissa the raw byte.
uint8_t symbol_of(uint16_t p) { return uint8_t(p >> 7); }
uint8_t raw_of(uint16_t p) { return uint8_t((p >> 15) << 7 | (p & 0x7f)); }

// The chunk's symbols and raw stream (zero-padded to whole 32-bit words, as the encoder writes it).
void split(const std::vector<uint16_t>& v, std::vector<uint8_t>& syms, std::vector<uint8_t>& raw) {
  syms.clear();
  raw.clear();
  for (uint16_t p : v) {
    syms.push_back(symbol_of(p));
    raw.push_back(raw_of(p));
  }
  raw.resize((raw.size() + 3) / 4 * 4, 0);
}

// Count-0 beats where the contract allows them: inserted between the chunk's beats (from `first` on),
// and, when the chunk's last beat is full, an empty beat after it that takes over `last`.
void add_empty_beats(Job& job, size_t first, tb::Rng& rng) {
  std::vector<Beat> beats(job.beats.begin(), job.beats.begin() + long(first));
  std::vector<OutBeat> expect(job.expect.begin(), job.expect.begin() + long(first));
  for (size_t i = first; i < job.beats.size(); ++i) {
    if (rng.chance(0.1)) {
      beats.push_back(Beat{});
      OutBeat o;
      o.check = job.expect[i].check;
      expect.push_back(o);
    }
    beats.push_back(job.beats[i]);
    expect.push_back(job.expect[i]);
  }
  if (!beats.empty() && rng.chance(0.5)) {
    beats.back().last = expect.back().last = false;
    Beat b;
    b.last = true;
    OutBeat o;
    o.last = true;
    o.check = expect.back().check;
    beats.push_back(b);
    expect.push_back(o);
  }
  job.beats = beats;
  job.expect = expect;
}

// One chunk of patterns (1 .. n), optionally with count-0 beats; the functional model's numbers must
// also be the patterns widened (a second route to the expected values).
void add_patterns(Job& job, int k, const std::vector<uint16_t>& v, tb::Rng* empties) {
  std::vector<uint8_t> syms, raw;
  split(v, syms, raw);
  const size_t first = job.beats.size();
  add_chunk(job, k, bf16(), syms, raw);
  if (job.check_values) {
    uint64_t bad = 0;
    for (size_t i = 0; i < v.size(); ++i) bad += job.expect[first + i / size_t(k)].data[i % size_t(k)] != uint32_t(v[i]) << 16;
    EXPECT_EQ(bad, 0u) << "decode_tensor differs from the widened bf16 patterns";
  }
  if (empties) add_empty_beats(job, first, *empties);
}

std::vector<uint16_t> random_patterns(tb::Rng& rng, size_t n) {
  std::vector<uint16_t> v(n);
  for (uint16_t& p : v) p = uint16_t(rng.next());
  return v;
}

template <class R>
class Bf16Unpacker : public ::testing::Test {};
using Configs = ::testing::Types<Rtl<Vbf16_unpacker_L4, 4, Bf16Model>, Rtl<Vbf16_unpacker_L1, 1, Bf16Model>,
                                 Rtl<Vbf16_unpacker_L2, 2, Bf16Model>, Rtl<Vbf16_unpacker_L8, 8, Bf16Model>,
                                 ModelDut<4, Bf16Model>, ModelDut<2, Bf16Model>>;
TYPED_TEST_SUITE(Bf16Unpacker, Configs);

void print_counts(const char* what, int k, uint64_t beats, const Stats& s) {
  std::printf("%s, %d lanes (TB_SEED %llu): beats %llu, numbers %llu, value mismatches %llu, cycle mismatches %llu\n",
              what, k, (unsigned long long)tb::seed(), (unsigned long long)beats, (unsigned long long)s.values,
              (unsigned long long)s.value_mismatches, (unsigned long long)s.cycle_mismatches);
}

// Every bf16 pattern once, in chunks of random lengths, under one random traffic mix.
TYPED_TEST(Bf16Unpacker, AllPatterns) {
  tb::Rng rng(tb::seed());
  constexpr int K = TypeParam::kLanes;
  std::vector<uint16_t> all(65536);
  for (size_t i = 0; i < all.size(); ++i) all[i] = uint16_t(i);
  std::shuffle(all.begin(), all.end(), rng.engine());
  Job job = start_job(bf16());
  for (size_t i = 0; i < all.size();) {
    const size_t n = std::min(size_t(rng.range(1, 2000)), all.size() - i);
    add_patterns(job, K, std::vector<uint16_t>(all.begin() + long(i), all.begin() + long(i + n)), &rng);
    i += n;
  }
  const Stats s = run<TypeParam>(job, Traffic::pick(rng), rng);
  EXPECT_FALSE(s.err) << "cause " << int(s.cause);
  EXPECT_EQ(s.values, 65536u);
  print_counts("all bf16 patterns", K, job.beats.size(), s);
  report("all bf16 patterns", s);
}

// stories260K's weights rounded to bf16, in chunks of random lengths.
TYPED_TEST(Bf16Unpacker, RealWeights) {
  tb::Rng rng(tb::seed());
  constexpr int K = TypeParam::kLanes;
  const std::vector<float> stories = stories_weights();
  ASSERT_EQ(stories.size(), 264128u) << "stories260K.bin missing: " << tb::stories_path();
  std::vector<float> w;
  if (tb::long_run()) {
    w = stories;
  } else {  // 24K weights from across the file (embedding, attention, FFN)
    for (size_t at : {size_t(0), size_t(40000), size_t(120000)})
      w.insert(w.end(), stories.begin() + long(at), stories.begin() + long(at + 8192));
  }
  Job job = start_job(bf16());
  for (size_t i = 0; i < w.size();) {
    const size_t n = std::min(size_t(rng.range(1, 4096)), w.size() - i);
    std::vector<uint16_t> v(n);
    for (size_t j = 0; j < n; ++j) v[j] = ws::fp32_to_bf16(w[i + j]);
    add_patterns(job, K, v, nullptr);
    i += n;
  }
  const Stats s = run<TypeParam>(job, Traffic::pick(rng), rng);
  EXPECT_FALSE(s.err) << "cause " << int(s.cause);
  EXPECT_EQ(s.values, w.size());
  print_counts("stories260K", K, job.beats.size(), s);
  report("stories260K", s);
}

// Random patterns in chunks of 1 .. 300 (partial last beats), count-0 beats, every traffic mix.
TYPED_TEST(Bf16Unpacker, RandomChunks) {
  tb::Rng rng(tb::seed());
  constexpr int K = TypeParam::kLanes;
  Stats total;
  uint64_t beats = 0;
  const int jobs = int(tb::depth(6, 100));
  for (int i = 0; i < jobs; ++i) {
    Job job = start_job(bf16());
    for (int c = 0; c < 24; ++c) add_patterns(job, K, random_patterns(rng, size_t(rng.range(1, 300))), &rng);
    beats += 4 * job.beats.size();
    total += run_all_traffic<TypeParam>(job, rng);
  }
  print_counts("random chunks", K, beats, total);
  report("random chunks", total);
}

// Each error in the second of three chunks, under random traffic, must raise its cause and hang
// nothing; then err_clear and a good job on the same device must come out right.
TYPED_TEST(Bf16Unpacker, ErrorsAndRecovery) {
  tb::Rng rng(tb::seed());
  constexpr int K = TypeParam::kLanes;
  const int rounds = int(tb::depth(3, 40));
  Stats total;
  uint64_t beats = 0;
  enum Kind { kRunsOut, kExtraWord, kExtraWordEmptyLast, kPadByte, kBadEntry, kModeInt, kUnknownAddr, kKinds };
  for (int r = 0; r < rounds; ++r) {
    for (int kind = 0; kind < kKinds; ++kind) {
      Lockstep<TypeParam> dev;
      Job job = start_job(bf16());
      uint8_t cause = 0;
      if (kind == kBadEntry) {  // entry 5 of another format's table
        job.cfg.push_back({5, Format::builtin("e4m3").entry(5).pack()});
        cause = ws::pkg::UNP_ERR_BAD_CFG;
      } else if (kind == kModeInt) {
        job.cfg.push_back({uint32_t(ws::pkg::UNP_CFG_MODE), 1});
        cause = ws::pkg::UNP_ERR_BAD_CFG;
      } else if (kind == kUnknownAddr) {
        job.cfg.push_back({uint32_t(ws::pkg::UNP_CFG_MODE) + 1 + uint32_t(rng.range(0, 254)), 0});
        cause = ws::pkg::UNP_ERR_BAD_CFG;
      }
      if (cause) job.check_values = false, job.expect_cause = cause;
      // The empty last beat after an extra word breaks the job's last chunk: a word it leaves behind
      // would then hang the run instead of shifting the next chunk's words.
      const int broken = kind == kExtraWordEmptyLast ? 2 : 1;
      for (int c = 0; c < 3; ++c) {
        // At least two words (a short stream still has one), and a partial last word for the pad byte.
        size_t n = size_t(rng.range(40, 300));
        if (kind == kPadByte && n % 4 == 0) ++n;
        if (kind == kExtraWordEmptyLast) n = (n + size_t(K) - 1) / size_t(K) * size_t(K);  // whole beats
        std::vector<uint8_t> syms, raw;
        split(random_patterns(rng, n), syms, raw);
        if (c == broken) {
          if (kind == kRunsOut) raw_word_off(raw, K, -1), cause = ws::pkg::UNP_ERR_RUNS_OUT;
          if (kind == kExtraWord || kind == kExtraWordEmptyLast) raw_word_off(raw, K, +1), cause = ws::pkg::UNP_ERR_LEFT_OVER;
          if (kind == kPadByte) raw[n + size_t(rng.range(0, 3 - n % 4))] = uint8_t(rng.range(1, 255)), cause = ws::pkg::UNP_ERR_LEFT_OVER;
        }
        add_chunk(job, K, bf16(), syms, raw);
        if (c == broken && kind == kExtraWordEmptyLast) {  // the chunk ends with an empty beat after its last word
          job.beats.back().last = job.expect.back().last = false;
          Beat b;
          b.last = true;
          OutBeat o;
          o.last = true;
          o.check = false;
          job.beats.push_back(b);
          job.expect.push_back(o);
        }
      }
      EXPECT_EQ(job.expect_cause, cause) << "kind " << kind;  // the functional model names the same
      Stats s = dev.run(job, Traffic::pick(rng), rng);
      EXPECT_TRUE(s.err) << tb::seed_text() << " kind " << kind;
      EXPECT_EQ(s.cause, cause) << tb::seed_text() << " kind " << kind;
      EXPECT_EQ(s.beats_out, job.beats.size());
      beats += job.beats.size();
      total += s;
      // Recovery: clear (with a valid bf16 table write on the clearing cycle), then a good job.
      const ws::CfgWrite write{uint32_t(rng.range(0, 255)), 0};
      ws::CfgWrite good = write;
      good.data = bf16().entry(good.addr).pack();
      const ws::NumUnpackerOutputs after = dev.clear_error(total, &good);
      EXPECT_FALSE(after.err) << tb::seed_text() << " kind " << kind << ": a valid write raised cause "
                              << int(after.err_cause);
      Job ok = start_job(bf16());
      for (int c = 0; c < 3; ++c) add_patterns(ok, K, random_patterns(rng, size_t(rng.range(1, 300))), &rng);
      s = dev.run(ok, Traffic::pick(rng), rng);
      EXPECT_FALSE(s.err) << tb::seed_text() << " kind " << kind << " recovery: cause " << int(s.cause);
      EXPECT_EQ(s.values, ok.values);
      beats += ok.beats.size();
      total += s;
    }
  }
  print_counts("errors and recovery", K, beats, total);
  report("errors and recovery", total);
}

}  // namespace
}  // namespace tbnum
