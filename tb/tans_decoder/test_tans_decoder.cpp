// Bench of ws_tans_decoder (rtl/ws_tans_decoder.sv, docs/tans_decoder.md) on layout-2 chunks. One
// typed test body runs against the Verilated RTL (with the cycle model ws::TansDecoderModel in lock
// step: the same inputs, every output compared on every cycle) and against the cycle model alone;
// both are checked beat by beat against the functional model ws::tans::decode. Real and random
// chunks, random gaps on every state port and random output backpressure, every error cause and
// err_clear, symbols per cycle on real chunks at full rate. TB_SEED replays a run; WS_DEPTH=long
// runs the deep version.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "Vws_tans_decoder_L1_ML11.h"
#include "Vws_tans_decoder_L2_ML11.h"
#include "Vws_tans_decoder_L4_ML11.h"
#include "Vws_tans_decoder_L4_ML8.h"
#include "Vws_tans_decoder_L8_ML12.h"
#include "codec/chunk.hpp"
#include "codec/tans.hpp"
#include "core/bf16.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "core/ws_pkg.hpp"
#include "dut.hpp"
#include "files/safetensors.hpp"
#include "hw/stream_program.hpp"
#include "tb.hpp"

namespace {
using tbdec::ModelDut;
using tbdec::RtlDut;

using ws::tans::DecodeEntry;
using ws::tans::Layout;
namespace pkg = ws::pkg;

// ------------------------------------------------------------------------------------------------
// A chunk as the decoder takes it: a table (written into `bank` first when `load`), a descriptor,
// and per state its units: the initial state, then the state's stream. What it must produce comes
// from the functional model: the symbols, or the error cause.

struct HwChunk {
  std::string name;
  int log = 0, bank = 0;
  bool load = true;
  uint32_t n = 0;
  std::vector<uint32_t> table;               // DecodeEntry::pack() of the 2^log entries
  std::vector<std::vector<uint16_t>> units;  // per state
  std::vector<uint8_t> expect;
  int err = 0;                               // pkg::tans_err_e the chunk must raise, 0 for none
};

std::vector<uint32_t> packed(const std::vector<DecodeEntry>& t) {
  std::vector<uint32_t> out;
  for (const DecodeEntry& e : t) out.push_back(e.pack());
  return out;
}

// The decoder's cause for the model's message.
int cause_of(const std::string& what) {
  if (what == "stream ends early") return pkg::TANS_ERR_ENDS_EARLY;
  if (what == "bits left over") return pkg::TANS_ERR_LEFT_OVER;
  if (what.rfind("final state wrong", 0) == 0) return pkg::TANS_ERR_FINAL_STATE;
  if (what.find("is not below 2^L") != std::string::npos) return pkg::TANS_ERR_BAD_DESC;
  ADD_FAILURE() << "no decoder cause for the model's error '" << what << "'";
  return -1;
}

// Fills c.expect or c.err from ws::tans::decode of c's units as they will be sent.
void expect_from_model(HwChunk& c, const std::vector<DecodeEntry>& table, int lanes) {
  c.expect.clear();
  c.err = 0;
  if (c.n == 0) return;
  const int S = 2 * lanes;
  std::vector<std::vector<uint8_t>> bytes(static_cast<size_t>(S));
  uint16_t init[ws::tans::kMaxStates] = {};
  ws::tans::StreamView views[ws::tans::kMaxStates];
  for (int s = 0; s < S; ++s) {
    const auto& u = c.units[size_t(s)];
    init[s] = u.empty() ? 0 : u[0];
    for (size_t k = 1; k < u.size(); ++k) {
      bytes[size_t(s)].push_back(uint8_t(u[k]));
      bytes[size_t(s)].push_back(uint8_t(u[k] >> 8));
    }
    views[s] = {bytes[size_t(s)].data(), bytes[size_t(s)].size()};
  }
  std::vector<uint8_t> out(c.n);
  try {
    ws::tans::decode(Layout::PerState, views, table, c.log, lanes, init, out.data(), out.size());
    c.expect = out;
  } catch (const ws::FormatError& e) {
    c.err = cause_of(e.what());
  }
}

// A layout-2 chunk's bytes (encode_chunk) as the decoder takes it, through the stream program.
HwChunk from_chunk(const std::vector<uint8_t>& bytes, const std::string& name, int bank) {
  const ws::ChunkView v = ws::parse_chunk(bytes.data(), bytes.size());
  EXPECT_EQ(v.layout, Layout::PerState);
  const ws::TansChunkProgram p = ws::tans_chunk_program(v, bank);
  HwChunk c;
  c.name = name;
  c.bank = bank;
  c.n = v.value_count;
  c.log = int(p.desc.table_log);
  for (const ws::CfgWrite& w : p.table) c.table.push_back(w.data);
  c.units.resize(p.units.size());
  for (size_t s = 0; s < p.units.size(); ++s)
    for (const ws::StreamUnit& u : p.units[s]) c.units[s].push_back(u.data);
  if (c.n == 0) return c;
  expect_from_model(c, ws::tans::build_decode_table(v.counts), v.lanes);
  EXPECT_EQ(c.err, 0) << name << ": the model rejects a chunk the codec wrote";
  return c;
}

// ------------------------------------------------------------------------------------------------
// The bench: queues chunks, drives every port, checks every output beat.

struct Counts {
  uint64_t chunks = 0, symbols = 0, beats = 0, mismatches = 0, cycles = 0;
  uint64_t errors_expected = 0, errors_flagged = 0;
};

template <class Dut, int K>
class Bench {
 public:
  static constexpr int S = 2 * K;
  explicit Bench(const std::string& test) : dut_(std::make_unique<Dut>(tb::waves_path(test))) {
    dut_->in.rst_n = false;
    for (int i = 0; i < 4; ++i) clock();
    dut_->in.rst_n = true;
    clock();
  }

  void set_patterns(tb::Rng& r, bool full_rate) {
    for (auto& p : in_pat_) p = full_rate ? tb::Pattern::always() : tb::Pattern::pick(r);
    out_pat_ = full_rate ? tb::Pattern::always() : tb::Pattern::pick(r);
  }

  void add(const HwChunk& c) {
    chunks_.push_back(c);
    for (int s = 0; s < S && c.n != 0; ++s)
      for (size_t k = 0; k < c.units[size_t(s)].size(); ++k)
        units_[s].push_back({c.units[size_t(s)][k], k + 1 == c.units[size_t(s)].size()});
    if (c.n != 0) expect_.push_back(chunks_.size() - 1);
    if (c.err) expected_causes_.push_back(c.err);
  }
  // A unit on state s's port beyond any chunk's (to provoke "bits left over" without `last`).
  void add_unit(int s, uint16_t u, bool last) { units_[s].push_back({u, last}); }
  void add_cfg(int bank, uint32_t addr, uint32_t data) { extra_cfg_.push_back({bank, addr, data}); }
  void expect_cause(int cause) { expected_causes_.push_back(cause); }

  // Runs until every chunk is through and the output is quiet; false on timeout.
  bool run(tb::Rng& r, uint64_t max_cycles) {
    const uint64_t start = cycles_;
    while (cycles_ - start < max_cycles) {
      if (busy() == 0 && ++quiet_ > 40) return true;
      step(r);
    }
    return false;
  }

  Counts& counts() { return counts_; }
  const std::vector<int>& causes() const { return causes_; }
  const std::vector<int>& expected_causes() const { return expected_causes_; }
  uint64_t first_desc_cycle() const { return first_desc_; }
  uint64_t last_beat_cycle() const { return last_beat_; }
  Dut& dut() { return *dut_; }
  // Leaves the sticky error alone (for the err_clear test); clear() pulses err_clear next cycle.
  void keep_errors() { auto_clear_ = false; }
  void clear() { clear_ = true; }
  void idle(tb::Rng& r, int cycles) {
    for (int i = 0; i < cycles; ++i) step(r);
  }

 private:
  struct Unit {
    uint16_t data;
    bool last;
  };
  struct Cfg {
    int bank;
    uint32_t addr, data;
  };

  size_t busy() {
    size_t b = expect_.size() + extra_cfg_.size() + (desc_next_ < chunks_.size());
    for (const auto& q : units_) b += q.size();
    if (b) quiet_ = 0;
    return b;
  }

  // The chunk whose table writes go out: after the descriptor before it was taken (a table for the
  // same bank must not overwrite the one still to be used).
  bool cfg_for(size_t& chunk, Cfg& w) {
    while (cfg_chunk_ < chunks_.size() &&
           (!chunks_[cfg_chunk_].load || cfg_entry_ >= chunks_[cfg_chunk_].table.size())) {
      ++cfg_chunk_;
      cfg_entry_ = 0;
    }
    if (cfg_chunk_ >= chunks_.size() || cfg_chunk_ > desc_next_) return false;
    const HwChunk& c = chunks_[cfg_chunk_];
    chunk = cfg_chunk_;
    w = {c.bank, uint32_t(cfg_entry_), c.table[cfg_entry_]};
    return true;
  }

  void step(tb::Rng& r) {
    Dut& d = *dut_;
    ws::TansDecoderInputs& in = d.in;
    // Configuration: the extra writes first, then the next chunk's table.
    size_t cfg_chunk = 0;
    Cfg w{};
    const bool extra = !extra_cfg_.empty();
    const bool cfg_v = extra || cfg_for(cfg_chunk, w);
    if (extra) w = extra_cfg_.front();
    in.cfg_valid = cfg_v;
    in.cfg_bank = w.bank != 0;
    in.cfg_addr = w.addr;
    in.cfg_data = w.data;
    // The next descriptor, once its table is written.
    const bool table_done = desc_next_ < chunks_.size() && (cfg_chunk_ > desc_next_ || !chunks_[desc_next_].load ||
                                                            chunks_[desc_next_].table.empty());
    const bool desc_v = table_done && !extra;
    in.desc_valid = desc_v;
    in.desc = ws::TansDescriptor{};
    if (desc_v) {
      const HwChunk& c = chunks_[desc_next_];
      in.desc.table_log = uint32_t(c.log);
      in.desc.bank = c.bank != 0;
      in.desc.count = c.n;
    }
    // State ports: an offer holds until taken.
    for (int s = 0; s < S; ++s) {
      if (!offered_[s]) offered_[s] = !units_[s].empty() && in_pat_[s].next(r);
      in.in_valid[size_t(s)] = offered_[s];
      in.in_data[size_t(s)] = offered_[s] ? units_[s].front().data : 0;
      in.in_last[size_t(s)] = offered_[s] && units_[s].front().last;
    }
    in.out_ready = out_pat_.next(r);
    in.err_clear = clear_;
    d.eval();
    const ws::TansDecoderOutputs& out = d.out;

    if (cfg_v && out.cfg_ready) {
      if (extra) extra_cfg_.pop_front();
      else ++cfg_entry_;
    }
    if (desc_v && out.desc_ready) {
      if (first_desc_ == 0) first_desc_ = cycles_ + 1;
      ++desc_next_;
    }
    for (int s = 0; s < S; ++s) {
      if (offered_[s] && out.in_ready[size_t(s)]) {
        units_[s].pop_front();
        offered_[s] = false;
      }
    }
    if (out.out_valid && in.out_ready) beat();
    clock();
    // The sticky error: record each cause once, then clear it.
    if (!auto_clear_) {
      clear_ = false;
      return;
    }
    clear_ = false;
    if (d.out.err && !cleared_) {
      causes_.push_back(int(d.out.err_cause));
      clear_ = true;
    }
    cleared_ = clear_;
  }

  void beat() {
    const ws::TansDecoderOutputs& d = dut_->out;
    ++counts_.beats;
    last_beat_ = cycles_ + 1;
    if (expect_.empty()) {
      ADD_FAILURE() << "an output beat with no chunk running, " << tb::seed_text();
      ++counts_.mismatches;
      return;
    }
    HwChunk& c = chunks_[expect_.front()];
    const int count = d.out_count;
    if (c.err == 0) {
      const uint64_t left = c.expect.size() - pos_;
      const int want = int(std::min<uint64_t>(left, K));
      if (count != want || d.out_last != (left <= uint64_t(K))) {
        if (counts_.mismatches < 10)
          ADD_FAILURE() << c.name << ": beat of " << count << " symbols, last " << int(d.out_last)
                        << "; expected " << want << (left <= uint64_t(K) ? ", last" : "") << ", "
                        << tb::seed_text();
        ++counts_.mismatches;
      }
      for (int j = 0; j < std::min(count, want); ++j) {
        const uint8_t got = d.out_data[size_t(j)];
        if (got != c.expect[pos_ + size_t(j)]) {
          if (counts_.mismatches < 10)
            ADD_FAILURE() << c.name << ": symbol " << pos_ + size_t(j) << " is " << int(got) << ", the model says "
                          << int(c.expect[pos_ + size_t(j)]) << ", " << tb::seed_text();
          ++counts_.mismatches;
        }
      }
      pos_ += size_t(count);
      counts_.symbols += uint64_t(count);
    }
    if (d.out_last) {
      ++counts_.chunks;
      expect_.pop_front();
      pos_ = 0;
    }
  }

  void clock() {
    dut_->tick();
    ++cycles_;
    ++counts_.cycles;
  }

  std::unique_ptr<Dut> dut_;
  std::vector<HwChunk> chunks_;
  std::deque<size_t> expect_;      // chunks with symbols whose beats are still to come
  std::deque<Unit> units_[S];
  std::deque<Cfg> extra_cfg_;
  bool offered_[S] = {};
  tb::Pattern in_pat_[S], out_pat_;
  size_t cfg_chunk_ = 0, cfg_entry_ = 0, desc_next_ = 0, pos_ = 0;
  uint64_t cycles_ = 0, quiet_ = 0, first_desc_ = 0, last_beat_ = 0;
  bool clear_ = false, cleared_ = false, auto_clear_ = true;
  std::vector<int> causes_, expected_causes_;
  Counts counts_;
};

// ------------------------------------------------------------------------------------------------
// Data

// stories260K's 264,128 weights (after its 28-byte header) as bf16, little-endian.
std::vector<uint8_t> stories_bf16() {
  ws::FileSource f(tb::stories_path());
  const std::vector<uint8_t> fp32 = f.read(28, size_t(f.size() - 28));
  std::vector<uint8_t> out(fp32.size() / 2);
  ws::fp32_to_bf16_le(fp32.data(), fp32.size() / 4, out.data());
  return out;
}

// MiniLM's F32 tensors with at least 65536 values, as bf16 (scripts/minilm.sh extracts the file).
std::vector<std::vector<uint8_t>> minilm_bf16(size_t tensors) {
  const std::string path = tb::minilm_path();
  const ws::SafetensorsFile st = ws::read_safetensors(path);
  ws::FileSource f(path);
  std::vector<std::vector<uint8_t>> out;
  for (const auto& t : st.tensors) {
    if (out.size() >= tensors) break;
    if (t.dtype != "F32" || t.value_count < 65536) continue;
    const std::vector<uint8_t> fp32 = f.read(t.offset, size_t(t.size));
    out.emplace_back(fp32.size() / 2);
    ws::fp32_to_bf16_le(fp32.data(), fp32.size() / 4, out.back().data());
  }
  return out;
}

// Real chunks of `per` bf16 values, each with its own table, banks alternating.
std::vector<HwChunk> real_chunks(const std::vector<uint8_t>& bf16, size_t per, int lanes, int log,
                                 const std::string& name, size_t max_chunks) {
  std::vector<HwChunk> out;
  for (size_t at = 0; at < bf16.size() / 2 && out.size() < max_chunks; at += per) {
    const size_t n = std::min(per, bf16.size() / 2 - at);
    const std::vector<uint8_t> bytes = ws::encode_chunk(&bf16[2 * at], n, ws::DType::BF16, {lanes, log});
    out.push_back(from_chunk(bytes, name + " chunk " + std::to_string(out.size()), int(out.size() % 2)));
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// The configurations

template <class D, int K, int ML>
struct Config {
  using Dut = D;
  static constexpr int kLanes = K;
  static constexpr int kMaxLog = ML;
  static constexpr int kLog = ML < ws::tans::kDefaultTableLog ? ML : ws::tans::kDefaultTableLog;
  static std::string name() { return D::name(); }
};

template <class C>
class TansDecoder : public ::testing::Test {
 protected:
  using B = Bench<typename C::Dut, C::kLanes>;
  static constexpr int K = C::kLanes;
  std::string name() const {
    return std::string(::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name()) + "." +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
  // Prints the totals and fails on any mismatch: against ws::tans::decode, between the RTL and the
  // cycle model (lock step), an error cause other than the model's, a failed RTL assertion.
  void report(const char* what, B& b) {
    const Counts& c = b.counts();
    const auto& dut = b.dut();
    std::printf("[%s] %s: %llu chunks, %llu symbols checked against ws::tans::decode, %llu beats, %llu cycles, "
                "%llu mismatches, lock step with the cycle model %llu cycles, %llu mismatches, %zu of %zu errors "
                "flagged as the model says, %s\n",
                C::name().c_str(), what, (unsigned long long)c.chunks, (unsigned long long)c.symbols,
                (unsigned long long)c.beats, (unsigned long long)c.cycles, (unsigned long long)c.mismatches,
                (unsigned long long)dut.lockstep_cycles(), (unsigned long long)dut.lockstep_mismatches(),
                b.causes().size(), b.expected_causes().size(), tb::seed_text().c_str());
    EXPECT_EQ(c.mismatches, 0u) << tb::seed_text();
    EXPECT_EQ(dut.lockstep_mismatches(), 0u) << "RTL and cycle model differ, " << tb::seed_text();
    if (C::Dut::kRtl) EXPECT_EQ(dut.lockstep_cycles(), c.cycles) << tb::seed_text();
    EXPECT_FALSE(dut.assertion_failed()) << "an RTL assertion failed, " << tb::seed_text();
    EXPECT_EQ(b.causes(), b.expected_causes()) << tb::seed_text();
  }
};

struct ConfigNames {
  template <class T>
  static std::string GetName(int) {
    return T::name();
  }
};

using Configs = ::testing::Types<
    Config<RtlDut<Vws_tans_decoder_L1_ML11, 1, 11>, 1, 11>, Config<RtlDut<Vws_tans_decoder_L2_ML11, 2, 11>, 2, 11>,
    Config<RtlDut<Vws_tans_decoder_L4_ML11, 4, 11>, 4, 11>, Config<RtlDut<Vws_tans_decoder_L8_ML12, 8, 12>, 8, 12>,
    Config<RtlDut<Vws_tans_decoder_L4_ML8, 4, 8>, 4, 8>, Config<ModelDut<1, 11>, 1, 11>, Config<ModelDut<4, 11>, 4, 11>,
    Config<ModelDut<8, 12>, 8, 12>>;
TYPED_TEST_SUITE(TansDecoder, Configs, ConfigNames);

// Real chunks with random gaps on every port and random backpressure: stories260K (all of it, in
// chunks of 16384) and MiniLM (65536-value chunks of its first tensors).
TYPED_TEST(TansDecoder, RealChunks) {
  using C = TypeParam;
  tb::Rng rng(tb::seed());
  typename TestFixture::B b(this->name());
  b.set_patterns(rng, false);
  const std::vector<uint8_t> stories = stories_bf16();
  for (const HwChunk& c : real_chunks(stories, 16384, C::kLanes, C::kLog, "stories260K", 100)) b.add(c);
  for (const auto& t : minilm_bf16(tb::long_run() ? 20 : 2))
    for (const HwChunk& c : real_chunks(t, 65536, C::kLanes, C::kLog, "MiniLM", tb::long_run() ? 100 : 2)) b.add(c);
  ASSERT_TRUE(b.run(rng, 50'000'000)) << "timeout, " << tb::seed_text();
  this->report("real chunks", b);
}

// Random tables at every table log up to MaxTableLog and alphabets from one symbol to all 256;
// symbol counts from 1 (fewer symbols than states) up; chunks of 0 symbols; chunks that share a
// bank's table without reloading it.
TYPED_TEST(TansDecoder, RandomTables) {
  using C = TypeParam;
  tb::Rng rng(tb::seed() + 1);
  typename TestFixture::B b(this->name());
  b.set_patterns(rng, false);
  const int rounds = int(tb::depth(1, 12));
  size_t made = 0;
  for (int round = 0; round < rounds; ++round)
    for (int log = ws::tans::kMinTableLog; log <= C::kMaxLog; ++log)
      for (int shape = 0; shape < 5; ++shape) {
        // Symbols: 0 uniform over a range, 1 one dominant symbol, 2 a single symbol, 3 all 256 (log >= 8),
        // 4 geometric, like exponents.
        if (shape == 3 && log < 8) continue;
        const size_t n = std::vector<size_t>{1, size_t(C::kLanes), size_t(2 * C::kLanes + 1), 200, 3000}[rng.range(0, 4)];
        std::vector<uint8_t> v(n);
        const uint8_t base = uint8_t(rng.range(0, 200));
        for (size_t i = 0; i < n; ++i) {
          switch (shape) {
            case 0: v[i] = uint8_t(base + rng.range(0, 30)); break;
            case 1: v[i] = rng.chance(0.02) ? uint8_t(rng.next()) : base; break;
            case 2: v[i] = base; break;
            case 3: v[i] = uint8_t(i < 256 ? i : rng.next()); break;
            default: {
              int e = 0;
              while (e < 40 && rng.chance(0.5)) ++e;
              v[i] = uint8_t(base + e);
            }
          }
        }
        const std::vector<uint8_t> bytes = ws::encode_chunk(v.data(), n, ws::DType::Raw, {C::kLanes, log});
        HwChunk c = from_chunk(bytes, "random L" + std::to_string(log) + " shape " + std::to_string(shape), int(made % 2));
        b.add(c);
        ++made;
        if (rng.chance(0.3)) {  // the same table again, without reloading it, a different slice of symbols
          std::vector<uint8_t> w(v.begin(), v.begin() + long(rng.range(1, n)));
          std::reverse(w.begin(), w.end());
          const ws::ChunkView cv = ws::parse_chunk(bytes.data(), bytes.size());
          const std::vector<DecodeEntry> table = ws::tans::build_decode_table(cv.counts);
          const ws::tans::EncodedSymbols enc = ws::tans::encode(w.data(), w.size(), cv.counts, C::kLanes);
          HwChunk again = c;
          again.name += " again";
          again.load = false;
          again.n = uint32_t(w.size());
          for (int s = 0; s < enc.states(); ++s) {
            auto& u = again.units[size_t(s)];
            u.assign(1, enc.initial_states[size_t(s)]);
            const auto& st = enc.streams[size_t(s)];
            for (size_t k = 0; k + 1 < st.size(); k += 2) u.push_back(uint16_t(st[k] | st[k + 1] << 8));
          }
          expect_from_model(again, table, C::kLanes);
          b.add(again);
        }
        if (rng.chance(0.1)) {  // a chunk of no symbols: taken, nothing happens
          HwChunk none;
          none.name = "empty";
          none.load = false;
          none.log = log;
          b.add(none);
        }
      }
  ASSERT_TRUE(b.run(rng, 20'000'000)) << "timeout, " << tb::seed_text();
  this->report("random tables", b);
}

// Sustained symbols per cycle: 65536-value real chunks (stories260K and MiniLM, bf16), each with its
// own table loaded into the other bank while the chunk before decodes, every port at full rate,
// no backpressure; from the first descriptor taken to the last beat.
TYPED_TEST(TansDecoder, Throughput) {
  using C = TypeParam;
  tb::Rng rng(tb::seed() + 2);
  std::vector<std::pair<std::string, std::vector<HwChunk>>> sets;
  sets.emplace_back("stories260K", real_chunks(stories_bf16(), 65536, C::kLanes, C::kLog, "stories260K", 4));
  const auto minilm = minilm_bf16(1);
  sets.emplace_back("MiniLM", real_chunks(minilm[0], 65536, C::kLanes, C::kLog, "MiniLM", 4));
  for (const auto& [what, chunks] : sets) {
    typename TestFixture::B b(this->name() + "_" + what);
    b.set_patterns(rng, true);
    uint64_t symbols = 0;
    for (const HwChunk& c : chunks) b.add(c), symbols += c.n;
    ASSERT_TRUE(b.run(rng, 10'000'000)) << "timeout, " << tb::seed_text();
    const double cycles = double(b.last_beat_cycle() - b.first_desc_cycle() + 1);
    const double per_cycle = double(symbols) / cycles;
    std::printf("%s: %s, %zu chunks of 65536 bf16 values, L %d: %llu symbols in %.0f cycles, %.4f symbols per "
                "cycle (%d lanes), %s\n",
                this->name().c_str(), what.c_str(), chunks.size(), C::kLog, (unsigned long long)symbols, cycles,
                per_cycle, C::kLanes, tb::seed_text().c_str());
    this->report(what.c_str(), b);
    EXPECT_GE(per_cycle, 0.98 * C::kLanes) << what;
  }
}

// Every error cause, each followed by a good chunk that must decode; each cause must be the one
// the functional model gives (or, for the table and descriptor checks, the documented one).
TYPED_TEST(TansDecoder, Errors) {
  using C = TypeParam;
  tb::Rng rng(tb::seed() + 3);
  typename TestFixture::B b(this->name());
  b.set_patterns(rng, false);
  const std::vector<uint8_t> stories = stories_bf16();
  std::vector<HwChunk> good = real_chunks(stories, 3000, C::kLanes, C::kLog, "good", 12);
  size_t g = 0;
  auto next_good = [&](int bank) {
    HwChunk c = good[g++ % good.size()];
    c.bank = bank;
    return c;
  };

  // A chunk before any table write to its bank (bank 1 has never been written).
  HwChunk no_table = next_good(1);
  no_table.load = false;
  no_table.expect.clear();
  no_table.err = pkg::TANS_ERR_NO_TABLE;
  b.add(no_table);
  b.add(next_good(0));

  // Bad table entries (written as the table of a chunk of 0 symbols): nb_bits above MaxTableLog;
  // next_base not a multiple of 2^nb_bits. Then a good chunk reloads the bank.
  HwChunk bad_cfg;
  bad_cfg.name = "bad table entries";
  bad_cfg.table = {DecodeEntry{7, uint8_t(C::kMaxLog + 1), 0}.pack(), DecodeEntry{7, 2, 3}.pack()};
  b.add(bad_cfg);
  b.expect_cause(pkg::TANS_ERR_BAD_ENTRY);
  b.expect_cause(pkg::TANS_ERR_BAD_ENTRY);
  b.add(next_good(0));

  // Bad descriptors (of a loaded bank), each followed by a good chunk: table log 4 and MaxTableLog +
  // 1; counts the hardware does not take (n >= 2^ChunkBits, the RTL's default and the model's), the
  // smallest such count and the largest the descriptor's 32-bit field carries.
  auto add_bad_desc = [&](int log, uint32_t n) {
    HwChunk d = next_good(0);
    if (log != 0) d.log = log;
    if (n != 0) d.n = n;
    d.load = false;
    d.err = pkg::TANS_ERR_BAD_DESC;
    b.add(d);
    b.add(next_good(0));
  };
  for (int log : {4, C::kMaxLog + 1}) add_bad_desc(log, 0);
  const int chunk_bits = C::Dut::params().chunk_bits;
  for (uint32_t n : {uint32_t(1) << chunk_bits, ~uint32_t(0)}) add_bad_desc(0, n);

  // Corrupted streams, each judged by the functional model: a state's stream a unit short, a unit
  // too long, a padding bit set, an initial state changed, an initial state at or above 2^L, random
  // bit flips in any unit.
  int corrupted = 0;
  for (int kind = 0; kind < 6; ++kind)
    for (int rep = 0; rep < (kind == 5 ? int(tb::depth(12, 200)) : 2); ++rep) {
      HwChunk c = next_good(int(g % 2));
      const int s = int(rng.range(0, 2 * C::kLanes - 1));
      auto& u = c.units[size_t(s)];
      switch (kind) {
        case 0:  // a unit short
          if (u.size() < 2) continue;
          u.pop_back();
          break;
        case 1:  // units of zeros too many (more than the buffer holds: the rest is skipped up to `last`)
          u.insert(u.end(), rep == 0 ? 1 : 6, 0);
          break;
        case 2:  // the top bit of the last unit (padding unless the fields fill it)
          if (u.size() < 2) continue;
          u.back() = uint16_t(u.back() | 0x8000);
          break;
        case 3:  // another initial state below 2^L
          u[0] = uint16_t((u[0] + 1 + rng.range(0, (1u << c.log) - 2)) % (1u << c.log));
          break;
        case 4:  // an initial state of 2^L or more (the first time by its top bit alone,
                 // which a view of 31 bits missed at MaxTableLog <= 8)
          u[0] = uint16_t(u[0] | (1u << (rep == 0 ? 15 : c.log + rng.range(0, 15 - uint64_t(c.log)))));
          break;
        default: {  // one random bit of one random unit
          const size_t k = rng.range(0, u.size() - 1);
          u[k] = uint16_t(u[k] ^ (1u << rng.range(0, 15)));
        }
      }
      // The model's verdict on the corrupted units.
      std::vector<DecodeEntry> table(c.table.size());
      for (size_t x = 0; x < table.size(); ++x)
        table[x] = DecodeEntry{uint8_t(c.table[x]), uint8_t(c.table[x] >> 8 & 15), uint16_t(c.table[x] >> 12)};
      expect_from_model(c, table, C::kLanes);
      c.name += " corrupted (" + std::to_string(kind) + ")";
      corrupted += c.err != 0;
      b.add(c);
      b.add(next_good(int(g % 2)));
    }

  ASSERT_TRUE(b.run(rng, 20'000'000)) << "timeout, " << tb::seed_text();
  std::printf("%s: %d corrupted chunks the model rejects\n", this->name().c_str(), corrupted);
  this->report("errors", b);
  for (int cause : {1, 2, 3, 4, 5, 6})
    EXPECT_NE(std::find(b.causes().begin(), b.causes().end(), cause), b.causes().end())
        << "cause " << cause << " never raised, " << tb::seed_text();
}

// err_clear: the sticky error keeps the first cause while later ones arrive, drops on a clear, and
// takes the next cause after it; chunks after an error decode.
TYPED_TEST(TansDecoder, ErrClear) {
  using C = TypeParam;
  tb::Rng rng(tb::seed() + 4);
  typename TestFixture::B b(this->name());
  b.keep_errors();
  b.set_patterns(rng, false);
  const std::vector<HwChunk> good = real_chunks(stories_bf16(), 3000, C::kLanes, C::kLog, "good", 4);
  auto bad_desc = [&](const HwChunk& g) {
    HwChunk c = g;
    c.name += " (table log 4)";
    c.log = 4;
    c.err = pkg::TANS_ERR_BAD_DESC;
    return c;
  };
  HwChunk no_table = good[1];
  no_table.bank = 1;  // never written
  no_table.load = false;
  no_table.err = pkg::TANS_ERR_NO_TABLE;
  b.add(no_table);
  b.add(bad_desc(good[0]));  // loads bank 0, then a descriptor it cannot take
  b.add(good[2]);
  ASSERT_TRUE(b.run(rng, 2'000'000)) << "timeout, " << tb::seed_text();
  EXPECT_TRUE(b.dut().out.err);
  EXPECT_EQ(b.dut().out.err_cause, pkg::TANS_ERR_NO_TABLE) << "the first cause must stay";
  b.clear();
  b.idle(rng, 2);
  EXPECT_FALSE(b.dut().out.err) << "err_clear did not clear";
  EXPECT_EQ(b.dut().out.err_cause, pkg::TANS_ERR_NONE);
  b.add(bad_desc(good[3]));
  ASSERT_TRUE(b.run(rng, 2'000'000)) << "timeout, " << tb::seed_text();
  EXPECT_TRUE(b.dut().out.err);
  EXPECT_EQ(b.dut().out.err_cause, pkg::TANS_ERR_BAD_DESC) << "the cause after a clear";
  b.clear();
  b.idle(rng, 2);
  b.add(good[1]);
  ASSERT_TRUE(b.run(rng, 2'000'000)) << "timeout, " << tb::seed_text();
  EXPECT_FALSE(b.dut().out.err) << "a good chunk after the clear raised " << int(b.dut().out.err_cause);
  const Counts& c = b.counts();
  std::printf("[%s] err_clear: %llu chunks, %llu symbols checked, %llu mismatches, lock step %llu cycles, %llu "
              "mismatches, %s\n",
              C::name().c_str(), (unsigned long long)c.chunks, (unsigned long long)c.symbols,
              (unsigned long long)c.mismatches, (unsigned long long)b.dut().lockstep_cycles(),
              (unsigned long long)b.dut().lockstep_mismatches(), tb::seed_text().c_str());
  EXPECT_EQ(c.chunks, 5u);  // every chunk ends with a `last` beat, the failed ones with an empty one
  EXPECT_EQ(c.mismatches, 0u);
  EXPECT_EQ(b.dut().lockstep_mismatches(), 0u);
  EXPECT_FALSE(b.dut().assertion_failed());
}

// The long run (WS_DEPTH=long: at least 10^8 symbols; smoke: 10^6): MiniLM's bf16 tensors in
// 65536-value chunks, over and over, each pass with new gap and backpressure patterns, a fresh bench
// (and reset) per pass so that memory stays bounded.
TYPED_TEST(TansDecoder, LongRun) {
  using C = TypeParam;
  tb::Rng rng(tb::seed() + 5);
  const uint64_t target = tb::depth(1'000'000, 100'000'000);
  const auto tensors = minilm_bf16(tb::long_run() ? 40 : 2);
  ASSERT_FALSE(tensors.empty());
  uint64_t symbols = 0, mismatches = 0, lock_mismatches = 0, cycles = 0, passes = 0;
  for (size_t t = 0; symbols < target; t = (t + 1) % tensors.size(), ++passes) {
    typename TestFixture::B b(this->name() + "_" + std::to_string(passes));
    b.set_patterns(rng, false);
    for (const HwChunk& c : real_chunks(tensors[t], 65536, C::kLanes, C::kLog, "MiniLM", 16)) b.add(c);
    ASSERT_TRUE(b.run(rng, 50'000'000)) << "timeout, " << tb::seed_text();
    symbols += b.counts().symbols;
    mismatches += b.counts().mismatches;
    cycles += b.counts().cycles;
    lock_mismatches += b.dut().lockstep_mismatches();
    EXPECT_FALSE(b.dut().assertion_failed()) << tb::seed_text();
    if (mismatches || lock_mismatches) break;
  }
  std::printf("[%s] long run (WS_DEPTH=%s): %llu passes, %llu symbols checked against ws::tans::decode, %llu cycles, "
              "%llu mismatches, %llu lock-step mismatches, %s\n",
              C::name().c_str(), tb::long_run() ? "long" : "smoke", (unsigned long long)passes,
              (unsigned long long)symbols, (unsigned long long)cycles, (unsigned long long)mismatches,
              (unsigned long long)lock_mismatches, tb::seed_text().c_str());
  EXPECT_GE(symbols, target);
  EXPECT_EQ(mismatches, 0u) << tb::seed_text();
  EXPECT_EQ(lock_mismatches, 0u) << tb::seed_text();
}

}  // namespace
