// Bench of ws_num_unpacker (docs/numfmt.md section 7).
//
// Every test drives the Verilated unpacker and the cycle model (ws::NumUnpackerModel) in lock step
// (runner.hpp) and checks every output beat bit for bit against the functional model
// (ws::numfmt::decode_tensor). Data: real weights (stories260K, MiniLM) as bf16, fp8 E4M3 and posit16
// (rounded), and random tables with random codes; then malformed streams, whose error cause must be
// the one the functional model names; then err_clear without reset.
//
// The same typed test bodies also run with the cycle model alone as the device (ModelDut), checked
// against the functional model only. TB_SEED (default 1) drives everything and is printed;
// WS_DEPTH=long runs every stories260K weight and 4M MiniLM weights per format; TRACE=1 writes one FST
// per test under build/waves/.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "Vnum_convert.h"
#include "Vnum_unpacker_L1.h"
#include "Vnum_unpacker_L4.h"
#include "Vnum_unpacker_L8.h"
#include "core/bf16.hpp"
#include "dut.hpp"
#include "hw/error_text.hpp"
#include "runner.hpp"
#include "stimulus.hpp"
#include "tb.hpp"
#include "verilated_dut.hpp"

namespace tbnum {
namespace {

uint64_t tb_seed() { return tb::seed(); }

// ---------------------------------------------------------------------------------------------
// Tests: typed over the lane counts

template <class R>
class NumUnpacker : public ::testing::Test {};
using Configs = ::testing::Types<Rtl<Vnum_unpacker_L4, 4>, Rtl<Vnum_unpacker_L1, 1>, Rtl<Vnum_unpacker_L8, 8>,
                                 ModelDut<4>, ModelDut<8>>;
TYPED_TEST_SUITE(NumUnpacker, Configs);

TYPED_TEST(NumUnpacker, RandomTablesAndCodes) {
  tb::Rng rng(tb_seed());
  const int jobs = int(tb::depth(6, 200));
  Stats total;
  for (int i = 0; i < jobs; ++i) total += run_all_traffic<TypeParam>(random_job(rng.engine(), TypeParam::kLanes, 24), rng);
  report("random tables", total);
}

TYPED_TEST(NumUnpacker, MalformedStreams) {
  tb::Rng rng(tb_seed());
  constexpr int K = TypeParam::kLanes;
  Stats total;
  const int rounds = int(tb::depth(2, 40));
  for (int r = 0; r < rounds; ++r) {
    const Format f = Format::builtin(r % 2 ? "e4m3" : "posit16");  // symbol 255 has no entry in either
    std::vector<float> v(1000);
    for (float& x : v) x = float(std::normal_distribution<double>(0, 0.05)(rng.engine()));
    // Four chunks of 250 values; the second is broken in one of six ways, the rest are well formed.
    for (int kind = 0; kind < 6; ++kind) {
      Job job = start_job(f);
      uint8_t cause = 0;
      if (kind == 4) {  // a table entry with 25 raw bits: refused, stored as "no entry"
        job.cfg.push_back({3, Entry{Class::Finite, Sign::Raw, true, 0, 25}.pack()});
        job.check_values = false;
        job.expect_cause = cause = ws::pkg::UNP_ERR_BAD_CFG;
      }
      for (int c = 0; c < 4; ++c) {
        const ws::numfmt::SplitTensor t = ws::numfmt::encode_tensor(f, v.data() + c * 250, 250, true);
        std::vector<uint8_t> syms = t.symbols, raw = t.raw;
        if (c == 1) {
          if (kind == 0) syms[size_t(rng.range(0, 249))] = 255, cause = ws::pkg::UNP_ERR_UNKNOWN;
          if (kind == 1) raw_word_off(raw, K, -1), cause = ws::pkg::UNP_ERR_RUNS_OUT;
          if (kind == 2 || (kind == 3 && t.raw_bit_count % 32 == 0)) raw_word_off(raw, K, +1);
          if (kind == 3 && t.raw_bit_count % 32 != 0) raw.back() |= 0x80;  // a padding bit set
          // a non-zero 32-bit word after the stream: at 64 bits the padding half of the last word
          // when the stream is an odd number of 32-bit words, else a word of its own
          if (kind == 5) raw.insert(raw.end(), {0, 0, 0, 0x01});
          if (kind == 2 || kind == 3 || kind == 5) cause = ws::pkg::UNP_ERR_LEFT_OVER;
        }
        add_chunk(job, K, f, syms, raw);
      }
      EXPECT_EQ(job.expect_cause, cause) << "kind " << kind;  // the functional model names the same
      total += run_all_traffic<TypeParam>(job, rng);
    }
  }
  report("malformed streams", total);
}

// Real weights: stories260K (and MiniLM on the 4-lane build) in bf16, fp8 E4M3 and posit16.
TYPED_TEST(NumUnpacker, RealWeights) {
  tb::Rng rng(tb_seed());
  constexpr int K = TypeParam::kLanes;
  const std::vector<float> stories = stories_weights();
  ASSERT_EQ(stories.size(), 264128u) << "stories260K.bin missing: " << tb::stories_path();
  // Smoke: 24K weights from across the file (embedding, attention, FFN); long: all of them.
  std::vector<float> sw;
  if (tb::long_run()) {
    sw = stories;
  } else {
    for (size_t at : {size_t(0), size_t(40000), size_t(120000)})
      sw.insert(sw.end(), stories.begin() + long(at), stories.begin() + long(at + 8192));
  }
  std::vector<float> mw;
  if (K == 4) {
    mw = minilm_weights(tb::long_run() ? 4000000 : 16384, tb::long_run() ? 400000 : 2048);
    ASSERT_FALSE(mw.empty()) << "MiniLM missing (scripts/minilm.sh, make deps)";
  }
  for (const char* name : {"bf16", "e4m3", "posit16"}) {
    const Format f = Format::builtin(name);
    for (const auto* data : {&sw, &mw}) {
      if (data->empty()) continue;
      Job job = start_job(f);
      add_values(job, K, f, data->data(), data->size(), 4096);
      // The functional model itself, by another route for bf16: the widened rounded pattern.
      if (std::string(name) == "bf16") {
        uint64_t bad = 0;
        for (size_t i = 0; i < data->size(); ++i)
          bad += job.expect[i / K].data[i % K] != uint32_t(ws::fp32_to_bf16((*data)[i])) << 16;
        EXPECT_EQ(bad, 0u);
      }
      const Stats s = run<TypeParam>(job, Traffic::pick(rng), rng);
      EXPECT_FALSE(s.err) << "cause " << int(s.cause);
      EXPECT_EQ(s.values, data->size());
      report((std::string(name) + (data == &sw ? " stories260K" : " MiniLM")).c_str(), s);
    }
  }
}

// ws_num_convert alone (two clocks: its input register and the one between its halves), a new
// number every cycle: random valid entries of every class (float and int tables, scales over their
// whole range, all-ones fractions) against ws::numfmt::output_word, many more corners than whole
// chunks reach.
TEST(NumConvert, MatchesFunctionalModel) {
  tb::Rng rng(tb_seed());
  tb::VerilatedDut<Vnum_convert> dut;
  Vnum_convert& d = dut.top();
  const Class float_classes[] = {Class::Zero, Class::Finite, Class::FiniteNanMax, Class::Inf, Class::NaN, Class::InfNaN};
  const uint64_t n = tb::depth(1000000, 50000000);
  struct Case {
    Entry e;
    bool int_mode = false;
    uint32_t frac = 0, want = 0;
  };
  Case in_flight[2];  // what the input register and the register between the halves hold
  uint64_t mismatches = 0, checked = 0;
  d.in_en_i = 1;
  d.mid_en_i = 1;
  for (uint64_t i = 0; i < n + 2; ++i) {
    Case c;
    const bool int_mode = c.int_mode = rng.chance(0.25);
    Entry& e = c.e;
    e.sign = rng.chance(0.6) ? Sign::Raw : rng.chance(0.5) ? Sign::Plus : Sign::Minus;
    const int rs = e.sign == Sign::Raw ? 1 : 0;
    e.cls = int_mode ? (rng.chance(0.8) ? Class::Finite : Class::Zero) : float_classes[rng.range(0, 5)];
    int fb = 0;
    if (e.cls == Class::Finite || e.cls == Class::FiniteNanMax) {
      fb = int(e.cls == Class::FiniteNanMax ? rng.range(1, 23) : rng.range(0, 23));
      e.implicit_one = rng.chance(0.5);
      if (int_mode) {
        e.scale = int(rng.range(uint64_t(fb), 30));
      } else {  // a third near the subnormal edge, the rest anywhere valid
        const int lo = fb - 149;
        e.scale = lo + int(rng.chance(0.33) ? rng.range(0, 30) : rng.range(0, uint64_t(127 - lo)));
      }
    } else if (e.cls == Class::InfNaN) {
      fb = int(rng.range(1, 23));
    }
    e.raw_bits = fb + rs;
    c.frac = rng.chance(0.1) ? (1u << fb) - 1 : uint32_t(rng.next()) & ((1u << fb) - 1);
    const bool neg = rs ? rng.chance(0.5) : e.sign == Sign::Minus;
    c.want = ws::numfmt::output_word(e, rs ? uint32_t(neg) << fb | c.frac : c.frac, int_mode ? Kind::Int : Kind::Float);
    d.int_mode_i = int_mode;
    d.cls_i = uint8_t(e.cls);
    d.neg_i = neg;
    d.implicit_i = e.implicit_one;
    d.scale_i = uint32_t(e.scale) & 0x3ff;
    d.lsb_i = uint32_t(e.scale - fb) & 0x7ff;
    d.frac_bits_i = uint8_t(fb);
    d.frac_i = c.frac;
    dut.tick();
    in_flight[1] = in_flight[0];
    in_flight[0] = c;
    if (i < 1) continue;  // word_o is the number that went in one cycle before this one
    const Case& o = in_flight[1];
    ++checked;
    if (d.word_o != o.want && mismatches++ < 5)
      ADD_FAILURE() << tb::seed_text() << " class " << int(o.e.cls) << " int " << o.int_mode << " scale "
                    << o.e.scale << " frac_bits " << o.e.frac_bits() << " implicit " << o.e.implicit_one << " frac "
                    << std::hex << o.frac << ": rtl " << d.word_o << " expected " << o.want;
  }
  std::printf("conversions: %llu, mismatches: %llu\n", (unsigned long long)checked, (unsigned long long)mismatches);
  EXPECT_GE(checked, n);
  EXPECT_EQ(mismatches, 0u);
}

// Throughput: with every source and the sink always ready, a bf16 stream (K * 8 raw bits per beat)
// runs one beat per cycle when K <= 4; the first beat appears kLatency cycles after it went in.
TYPED_TEST(NumUnpacker, FullSpeedBf16) {
  tb::Rng rng(tb_seed());
  constexpr int K = TypeParam::kLanes;
  const std::vector<float> stories = stories_weights();
  ASSERT_FALSE(stories.empty());
  const Format f = Format::builtin("bf16");
  Job job = start_job(f);
  add_values(job, K, f, stories.data(), 16384, 16384);
  const Stats s = run<TypeParam>(job, Traffic::always(), rng);
  report("bf16 full speed", s);
  // 257 config writes, latency, then one beat per cycle unless the raw words (one a cycle of
  // ws::pkg::raw_word_bits(K) bits: 32, 64 at 8 lanes) cannot keep up: K * 8 bits per beat.
  const double beats = double(job.beats.size());
  const double bound =
      257 + ws::NumUnpackerModel::kLatency + 2 + beats * std::max(1.0, K * 8 / double(ws::pkg::raw_word_bits(K)));
  std::printf("cycles %llu for %.0f beats (bound %.0f)\n", (unsigned long long)s.cycles, beats, bound);
  std::printf("WS_BENCH {\"bench\":\"num_unpacker\",\"lanes\":%d,\"values\":%llu,\"cycles\":%llu,"
              "\"config_cycles\":257,\"latency\":%d}\n",
              K, (unsigned long long)s.values, (unsigned long long)s.cycles, ws::NumUnpackerModel::kLatency);
  EXPECT_LE(double(s.cycles), bound);
}


// err_clear without a reset (docs/numfmt.md section 6): after each kind of error (three malformed
// chunks, a refused table entry) and with every input taken, one clearing cycle; then good chunks must
// decode bit for bit, the device and the cycle model in lock step. And a cause that arrives on the
// clearing cycle itself is kept.
TYPED_TEST(NumUnpacker, ErrClearThenGoodChunks) {
  tb::Rng rng(tb_seed());
  constexpr int K = TypeParam::kLanes;
  const Format f = Format::builtin("e4m3");  // symbol 255 has no entry
  const ws::CfgWrite refused{3, Entry{Class::Finite, Sign::Raw, true, 0, 25}.pack()};  // 25 raw bits
  // Two chunks of 250 real-like values; the first one malformed by `bad` (0 unknown symbol, 1 raw
  // stream a word short, 2 a word too long; -1 none).
  auto add_chunks = [&](Job& job, int bad) {
    std::vector<float> v(500);
    for (float& x : v) x = float(std::normal_distribution<double>(0, 0.05)(rng.engine()));
    for (int c = 0; c < 2; ++c) {
      const ws::numfmt::SplitTensor t = ws::numfmt::encode_tensor(f, v.data() + c * 250, 250, true);
      std::vector<uint8_t> syms = t.symbols, raw = t.raw;
      if (c == 0 && bad == 0) syms[size_t(rng.range(0, 249))] = 255;
      if (c == 0 && bad == 1) raw_word_off(raw, K, -1);
      if (c == 0 && bad == 2) raw_word_off(raw, K, +1);
      add_chunk(job, K, f, syms, raw);
    }
  };
  const uint8_t causes[] = {ws::pkg::UNP_ERR_UNKNOWN, ws::pkg::UNP_ERR_RUNS_OUT, ws::pkg::UNP_ERR_LEFT_OVER,
                            ws::pkg::UNP_ERR_BAD_CFG};
  Lockstep<TypeParam> bench;
  Stats total;
  uint64_t good_values = 0;
  auto good_job = [&](bool with_table, const std::string& what) {
    Job good = with_table ? start_job(f) : Job{};  // without: the table loaded before stays
    add_chunks(good, -1);
    const Stats s = bench.run(good, Traffic::pick(rng), rng);
    EXPECT_FALSE(s.err) << what << ": " << ws::error_text(ws::pkg::unp_err_e(s.cause)) << " " << tb::seed_text();
    EXPECT_EQ(s.values, 500u) << what;
    good_values += s.values;
    total += s;
  };
  for (int kind = 0; kind < 4; ++kind) {
    Job bad = start_job(f);
    if (kind == 3) {
      bad.cfg.push_back(refused);
      bad.check_values = false;
      bad.expect_cause = ws::pkg::UNP_ERR_BAD_CFG;
    }
    add_chunks(bad, kind == 3 ? -1 : kind);
    EXPECT_EQ(bad.expect_cause, causes[kind]) << "kind " << kind;  // as the functional model names it
    const Stats s = bench.run(bad, Traffic::pick(rng), rng);
    EXPECT_TRUE(s.err) << "kind " << kind;
    EXPECT_EQ(s.cause, causes[kind]) << "kind " << kind;
    total += s;
    EXPECT_FALSE(bench.clear_error(total).err) << "kind " << kind;
    good_job(kind == 3, "good chunks after error kind " + std::to_string(kind));  // kind 3: the entry again
  }
  const ws::NumUnpackerOutputs kept = bench.clear_error(total, &refused);
  EXPECT_TRUE(kept.err) << "a cause on the clearing cycle was lost";
  EXPECT_EQ(kept.err_cause, ws::pkg::UNP_ERR_BAD_CFG);
  EXPECT_FALSE(bench.clear_error(total).err);
  good_job(true, "good chunks after a cause on the clearing cycle");
  std::printf("err_clear: 4 errors cleared, a cause on the clearing cycle kept, %llu values decoded after\n",
              (unsigned long long)good_values);
  report("err_clear", total);
}

}  // namespace
}  // namespace tbnum
